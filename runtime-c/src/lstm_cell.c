/*
 * lstm_cell.c - the elementwise part of one LSTM step (Keras gate order i, f, c, o).
 *
 * For each row r and unit j (z row = [z_i | z_f | z_c | z_o], each `units` wide):
 *   i = rec(z_i); f = rec(z_f); g = act(z_c); o = rec(z_o)
 *   c = f*c + i*g;  h = o*act(c)
 * The matrix products that produce z are separate sgemm calls made by the generated code.
 */
#include "gj_internal.h"
#include "vmath_avx2.h"
#include "vmath_avx512.h"

void gj_lstm_cell_portable(int rows, int units, const float *z, int ldz, float *c, int ldc, float *h,
                           int ldh, int act, int rec)
{
    for (int r = 0; r < rows; r++) {
        const float *zr = z + (long)r * ldz;
        float *cr = c + (long)r * ldc, *hr = h + (long)r * ldh;
        for (int j = 0; j < units; j++) {
            float i = gj_act_scalar(zr[j], rec);
            float f = gj_act_scalar(zr[units + j], rec);
            float g = gj_act_scalar(zr[2 * units + j], act);
            float o = gj_act_scalar(zr[3 * units + j], rec);
            float cn = f * cr[j] + i * g;
            cr[j] = cn;
            hr[j] = o * gj_act_scalar(cn, act);
        }
    }
}

/* Keras' default activations (tanh, sigmoid) in one pass with two divisions per vector instead of
 * five. With ex = e^-x (sigmoid inputs clamped to [-30, 30], where sigmoid is 0/1 to float
 * precision anyway) and e2x = e^-2x (tanh inputs clamped to [-10, 10], same reason):
 *   sigmoid(x) = 1 / (1 + ex),   tanh(x) = (1 - e2x) / (1 + e2x)
 *   c' = f c + i g = (c (1+ei)(1+eg) + (1-eg)(1+ef)) / ((1+ef)(1+ei)(1+eg))
 *   h  = o tanh(c') = (1 - ec) / ((1+eo)(1+ec))
 * The clamps bound every product below 1e35 (no overflow). Errors stay at a few float ulps of the
 * terms (the tanh of a tiny argument loses relative, not absolute, accuracy). NaN inputs
 * propagate (the clamps keep NaN; see vmath_avx512.h).
 *
 * The exponential needs no range handling here (|x| <= 30 after the clamps): 2^t with t = x log2(e)
 * split into n = round(t) and f = t - n (one FMA, so f carries only the rounding of log2(e)), then
 * a degree-6 polynomial for 2^f on [-1/2, 1/2] (fitted near-minimax like vmath_consts.h: relative
 * error 1.6e-8 with float coefficients) and vscalefps.
 * Up to 4 vectors of 16 units are processed in lockstep: one vector alone is a chain of ~40
 * dependent operations, and interleaving 4 of them keeps the FP pipes busy. */
/* 2^f on [-1/2, 1/2], degree 6 (see lstm_exp), shared by both vector paths' cell exponentials */
#define GJ_LSTM_P6 1.5345807500116268e-4f
#define GJ_LSTM_P5 1.3399931182875885e-3f
#define GJ_LSTM_P4 9.6184889738522156e-3f
#define GJ_LSTM_P3 5.5503287770782159e-2f
#define GJ_LSTM_P2 2.4022646890479554e-1f
#define GJ_LSTM_P1 6.9314720573719679e-1f
#define GJ_LSTM_P0 1.0000000005541874f

GJ_TARGET_AVX512 static inline __m512 clamp512(__m512 x, float lo, float hi)
{
    return _mm512_min_ps(_mm512_set1_ps(hi), _mm512_max_ps(_mm512_set1_ps(lo), x));
}

GJ_TARGET_AVX512 static inline __m512 lstm_exp(__m512 x) /* |x| <= 60 */
{
    const __m512 log2e = _mm512_set1_ps(1.44269504088896341f);
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 f = _mm512_fmsub_ps(x, log2e, n);
    __m512 p = _mm512_set1_ps(GJ_LSTM_P6);
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(GJ_LSTM_P5));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(GJ_LSTM_P4));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(GJ_LSTM_P3));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(GJ_LSTM_P2));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(GJ_LSTM_P1));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(GJ_LSTM_P0));
    return _mm512_scalef_ps(p, n);
}

#define GJ_LSTM_Q 4
/* nq (<= GJ_LSTM_Q, a compile-time constant after inlining) vectors of units starting at unit j */
static inline __attribute__((always_inline, target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma"))) void
lstm_fused(const int nq, const float *zr, int units, float *cr, float *hr, int j)
{
    const __m512 one = _mm512_set1_ps(1.0f), zero = _mm512_setzero_ps(), m2 = _mm512_set1_ps(-2.0f);
    __mmask16 mk[GJ_LSTM_Q];
    __m512 ei[GJ_LSTM_Q], ef[GJ_LSTM_Q], eg[GJ_LSTM_Q], eo[GJ_LSTM_Q], cn[GJ_LSTM_Q];
    for (int q = 0; q < nq; q++) {
        const int o = j + 16 * q;
        mk[q] = gj512_mask(units - o);
        ei[q] = lstm_exp(_mm512_sub_ps(zero, clamp512(gj512_load(mk[q], zr + o), -30.0f, 30.0f)));
        ef[q] = lstm_exp(_mm512_sub_ps(zero, clamp512(gj512_load(mk[q], zr + units + o), -30.0f, 30.0f)));
        eg[q] = lstm_exp(_mm512_mul_ps(m2, clamp512(gj512_load(mk[q], zr + 2 * units + o), -10.0f, 10.0f)));
        eo[q] = lstm_exp(_mm512_sub_ps(zero, clamp512(gj512_load(mk[q], zr + 3 * units + o), -30.0f, 30.0f)));
    }
    for (int q = 0; q < nq; q++) {
        const __m512 c = gj512_load(mk[q], cr + j + 16 * q);
        const __m512 pf = _mm512_add_ps(one, ef[q]);
        const __m512 ig = _mm512_mul_ps(_mm512_add_ps(one, ei[q]), _mm512_add_ps(one, eg[q])); /* (1+ei)(1+eg) */
        const __m512 num = _mm512_fmadd_ps(c, ig, _mm512_mul_ps(_mm512_sub_ps(one, eg[q]), pf));
        cn[q] = _mm512_div_ps(num, _mm512_mul_ps(pf, ig));
        gj512_put(cr + j + 16 * q, mk[q], cn[q]);
    }
    for (int q = 0; q < nq; q++) {
        const __m512 ec = lstm_exp(_mm512_mul_ps(m2, clamp512(cn[q], -10.0f, 10.0f)));
        const __m512 h = _mm512_div_ps(_mm512_sub_ps(one, ec), _mm512_mul_ps(_mm512_add_ps(one, eo[q]), _mm512_add_ps(one, ec)));
        gj512_put(hr + j + 16 * q, mk[q], h);
    }
}

GJ_TARGET_AVX512 void gj_lstm_cell_avx512(int rows, int units, const float *z, int ldz, float *c, int ldc,
                                          float *h, int ldh, int act, int rec)
{
    if (act == GJ_ACT_TANH && rec == GJ_ACT_SIGMOID) {
        for (int r = 0; r < rows; r++) {
            const float *zr = z + (long)r * ldz;
            float *cr = c + (long)r * ldc, *hr = h + (long)r * ldh;
            for (int j = 0; j < units; j += 16 * GJ_LSTM_Q) {
                switch ((units - j + 15) / 16) {
                case 1: lstm_fused(1, zr, units, cr, hr, j); break;
                case 2: lstm_fused(2, zr, units, cr, hr, j); break;
                case 3: lstm_fused(3, zr, units, cr, hr, j); break;
                default: lstm_fused(4, zr, units, cr, hr, j); break;
                }
            }
        }
        return;
    }
    for (int r = 0; r < rows; r++) {
        const float *zr = z + (long)r * ldz;
        float *cr = c + (long)r * ldc, *hr = h + (long)r * ldh;
        for (int j = 0; j < units; j += 16) {
            __mmask16 mk = gj512_mask(units - j);
            __m512 i = gj512_act(_mm512_maskz_loadu_ps(mk, zr + j), rec);
            __m512 f = gj512_act(_mm512_maskz_loadu_ps(mk, zr + units + j), rec);
            __m512 g = gj512_act(_mm512_maskz_loadu_ps(mk, zr + 2 * units + j), act);
            __m512 o = gj512_act(_mm512_maskz_loadu_ps(mk, zr + 3 * units + j), rec);
            __m512 cn = _mm512_fmadd_ps(f, _mm512_maskz_loadu_ps(mk, cr + j), _mm512_mul_ps(i, g));
            _mm512_mask_storeu_ps(cr + j, mk, cn);
            _mm512_mask_storeu_ps(hr + j, mk, _mm512_mul_ps(o, gj512_act(cn, act)));
        }
    }
}

/* The same fused pass on AVX2: 8 units a vector, up to GJ_LSTM_Q2 vectors in lockstep (16 ymm
 * registers hold fewer live values than 32 zmm), and 2^n built in the exponent bits (n is in
 * [-87, 87] after the clamps, so the result is a normal float and equals vscalefps's). */
GJ_TARGET_AVX2 static inline __m256 clamp256(__m256 x, float lo, float hi)
{
    return _mm256_min_ps(_mm256_set1_ps(hi), _mm256_max_ps(_mm256_set1_ps(lo), x));
}

GJ_TARGET_AVX2 static inline __m256 lstm_exp256(__m256 x) /* |x| <= 60 */
{
    const __m256 log2e = _mm256_set1_ps(1.44269504088896341f);
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 f = _mm256_fmsub_ps(x, log2e, n);
    __m256 p = _mm256_set1_ps(GJ_LSTM_P6);
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(GJ_LSTM_P5));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(GJ_LSTM_P4));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(GJ_LSTM_P3));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(GJ_LSTM_P2));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(GJ_LSTM_P1));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(GJ_LSTM_P0));
    const __m256i scale = _mm256_slli_epi32(_mm256_cvtps_epi32(n), 23);
    return _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(p), scale));
}

/* Full vectors use plain loads and stores: vmaskmovps stores are slow on AMD cores. */
GJ_TARGET_AVX2 static inline __m256 load8(const float *p, int n, __m256i mk)
{
    return n >= 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, mk);
}

GJ_TARGET_AVX2 static inline void store8(float *p, int n, __m256i mk, __m256 v)
{
    if (n >= 8) _mm256_storeu_ps(p, v);
    else _mm256_maskstore_ps(p, mk, v);
}

#define GJ_LSTM_Q2 4
static inline __attribute__((always_inline, target("avx2,fma"))) void
lstm_fused256(const int nq, const float *zr, int units, float *cr, float *hr, int j)
{
    const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps(), m2 = _mm256_set1_ps(-2.0f);
    __m256i mk[GJ_LSTM_Q2];
    int n[GJ_LSTM_Q2];
    __m256 ei[GJ_LSTM_Q2], ef[GJ_LSTM_Q2], eg[GJ_LSTM_Q2], eo[GJ_LSTM_Q2], cn[GJ_LSTM_Q2];
    for (int q = 0; q < nq; q++) {
        const int o = j + 8 * q;
        n[q] = units - o;
        mk[q] = gj256_mask(n[q]);
        ei[q] = lstm_exp256(_mm256_sub_ps(zero, clamp256(load8(zr + o, n[q], mk[q]), -30.0f, 30.0f)));
        ef[q] = lstm_exp256(_mm256_sub_ps(zero, clamp256(load8(zr + units + o, n[q], mk[q]), -30.0f, 30.0f)));
        eg[q] = lstm_exp256(_mm256_mul_ps(m2, clamp256(load8(zr + 2 * units + o, n[q], mk[q]), -10.0f, 10.0f)));
        eo[q] = lstm_exp256(_mm256_sub_ps(zero, clamp256(load8(zr + 3 * units + o, n[q], mk[q]), -30.0f, 30.0f)));
    }
    for (int q = 0; q < nq; q++) {
        const __m256 c = load8(cr + j + 8 * q, n[q], mk[q]);
        const __m256 pf = _mm256_add_ps(one, ef[q]);
        const __m256 ig = _mm256_mul_ps(_mm256_add_ps(one, ei[q]), _mm256_add_ps(one, eg[q])); /* (1+ei)(1+eg) */
        const __m256 num = _mm256_fmadd_ps(c, ig, _mm256_mul_ps(_mm256_sub_ps(one, eg[q]), pf));
        cn[q] = _mm256_div_ps(num, _mm256_mul_ps(pf, ig));
        store8(cr + j + 8 * q, n[q], mk[q], cn[q]);
    }
    for (int q = 0; q < nq; q++) {
        const __m256 ec = lstm_exp256(_mm256_mul_ps(m2, clamp256(cn[q], -10.0f, 10.0f)));
        const __m256 h = _mm256_div_ps(_mm256_sub_ps(one, ec), _mm256_mul_ps(_mm256_add_ps(one, eo[q]), _mm256_add_ps(one, ec)));
        store8(hr + j + 8 * q, n[q], mk[q], h);
    }
}

GJ_TARGET_AVX2 void gj_lstm_cell_avx2(int rows, int units, const float *z, int ldz, float *c, int ldc,
                                      float *h, int ldh, int act, int rec)
{
    if (act == GJ_ACT_TANH && rec == GJ_ACT_SIGMOID) {
        for (int r = 0; r < rows; r++) {
            const float *zr = z + (long)r * ldz;
            float *cr = c + (long)r * ldc, *hr = h + (long)r * ldh;
            for (int j = 0; j < units; j += 8 * GJ_LSTM_Q2) {
                switch ((units - j + 7) / 8) {
                case 1: lstm_fused256(1, zr, units, cr, hr, j); break;
                case 2: lstm_fused256(2, zr, units, cr, hr, j); break;
                case 3: lstm_fused256(3, zr, units, cr, hr, j); break;
                default: lstm_fused256(4, zr, units, cr, hr, j); break;
                }
            }
        }
        return;
    }
    for (int r = 0; r < rows; r++) {
        const float *zr = z + (long)r * ldz;
        float *cr = c + (long)r * ldc, *hr = h + (long)r * ldh;
        for (int j = 0; j < units; j += 8) {
            __m256i mk = gj256_mask(units - j);
            __m256 i = gj256_act(_mm256_maskload_ps(zr + j, mk), rec);
            __m256 f = gj256_act(_mm256_maskload_ps(zr + units + j, mk), rec);
            __m256 g = gj256_act(_mm256_maskload_ps(zr + 2 * units + j, mk), act);
            __m256 o = gj256_act(_mm256_maskload_ps(zr + 3 * units + j, mk), rec);
            __m256 cn = _mm256_fmadd_ps(f, _mm256_maskload_ps(cr + j, mk), _mm256_mul_ps(i, g));
            _mm256_maskstore_ps(cr + j, mk, cn);
            _mm256_maskstore_ps(hr + j, mk, _mm256_mul_ps(o, gj256_act(cn, act)));
        }
    }
}

