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

GJ_TARGET_AVX2 void gj_lstm_cell_avx2(int rows, int units, const float *z, int ldz, float *c, int ldc,
                                      float *h, int ldh, int act, int rec)
{
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

GJ_TARGET_AVX512 void gj_lstm_cell_avx512(int rows, int units, const float *z, int ldz, float *c,
                                          int ldc, float *h, int ldh, int act, int rec)
{
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
