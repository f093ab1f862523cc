/*
 * vmath_avx2.c - activate / softmax over arrays with the 8-lane approximations of vmath_avx2.h.
 * Tails use maskload/maskstore (rows of at most 16 avoid masked stores: slow on AMD cores).
 */
#include <math.h>

#include "gj_internal.h"
#include "vmath_avx2.h"

GJ_TARGET_AVX2 static void act_loop(float *x, long n, int act)
{
    long i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, gj256_act(_mm256_loadu_ps(x + i), act));
    if (i < n) {
        __m256i mk = gj256_mask((int)(n - i));
        _mm256_maskstore_ps(x + i, mk, gj256_act(_mm256_maskload_ps(x + i, mk), act));
    }
}

GJ_TARGET_AVX2 void gj_activate_avx2(float *x, long n, int act)
{
    switch (act) {
    case GJ_ACT_RELU: act_loop(x, n, GJ_ACT_RELU); break;
    case GJ_ACT_SIGMOID: act_loop(x, n, GJ_ACT_SIGMOID); break;
    case GJ_ACT_TANH: act_loop(x, n, GJ_ACT_TANH); break;
    case GJ_ACT_GELU_TANH: act_loop(x, n, GJ_ACT_GELU_TANH); break;
    case GJ_ACT_SILU: act_loop(x, n, GJ_ACT_SILU); break;
    default: break;
    }
}

GJ_TARGET_AVX2 static float hsum256(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

GJ_TARGET_AVX2 static float hmax256(__m256 v)
{
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* A row of exp(x - max) (max skipping NaN) whose sum is NaN: NaN entries stay NaN, every other entry
 * becomes 0 (see gj_softmax_rows_portable). Rare, so out of line. */
GJ_TARGET_AVX2 __attribute__((noinline, cold)) static void softmax_special_row(float *p, int n)
{
    int j = 0;
    for (; j + 8 <= n; j += 8) {
        __m256 e = _mm256_loadu_ps(p + j);
        _mm256_storeu_ps(p + j, _mm256_and_ps(e, _mm256_cmp_ps(e, e, _CMP_UNORD_Q)));
    }
    for (; j < n; j++) p[j] = p[j] != p[j] ? p[j] : 0.0f;
}

/* Rows of at most 16 (the softmax heads of classifiers), 4 rows in lockstep: one row alone is a
 * latency chain (max, exp, sum, scale) far shorter than the pipeline. All 4 rows are loaded before
 * any is stored and the rows are stored in order, so a full 8-float store that runs past its row
 * only touches rows stored after it; stores that would run past the group use the (slow on AMD)
 * masked form. Lanes past the row enter exp as 0, never as -inf: exp's 2^n would underflow to a
 * denormal there, and denormal results cost a microcode assist each. Same rules and the same
 * arithmetic as the long-row loop below. */
#define GJ_SOFTMAX_GROUP 4
GJ_TARGET_AVX2 static void softmax_short_rows(float *x, long rows, int n)
{
    const __m256 neg_inf = _mm256_set1_ps(-INFINITY);
    const __m256i m0 = gj256_mask(n), m1 = gj256_mask(n - 8);
    const __m256 f0 = _mm256_castsi256_ps(m0), f1 = _mm256_castsi256_ps(m1);
    for (long r = 0; r < rows; r += GJ_SOFTMAX_GROUP) {
        const int g = rows - r < GJ_SOFTMAX_GROUP ? (int)(rows - r) : GJ_SOFTMAX_GROUP;
        float *const base = x + r * (long)n, *const end = base + (long)g * n;
        __m256 a[GJ_SOFTMAX_GROUP], b[GJ_SOFTMAX_GROUP];
        float sum[GJ_SOFTMAX_GROUP];
        for (int q = 0; q < g; q++) { /* lanes past n load as 0 (exp(0 - max) stays normal) */
            const float *p = base + (long)q * n;
            a[q] = _mm256_maskload_ps(p, m0);
            b[q] = n > 8 ? _mm256_maskload_ps(p + 8, m1) : _mm256_setzero_ps();
        }
        for (int q = 0; q < g; q++) {
            __m256 vm = _mm256_max_ps(_mm256_blendv_ps(neg_inf, a[q], f0), neg_inf);
            if (n > 8) vm = _mm256_max_ps(_mm256_blendv_ps(neg_inf, b[q], f1), vm);
            const __m256 m = _mm256_set1_ps(hmax256(vm));
            a[q] = _mm256_and_ps(gj256_exp(_mm256_sub_ps(a[q], m)), f0);
            b[q] = n > 8 ? _mm256_and_ps(gj256_exp(_mm256_sub_ps(b[q], m)), f1) : _mm256_setzero_ps();
            sum[q] = hsum256(_mm256_add_ps(a[q], b[q]));
        }
        for (int q = 0; q < g; q++) {
            float *p = base + (long)q * n;
            __m256 inv = _mm256_set1_ps(1.0f / sum[q]);
            const int special = sum[q] != sum[q]; /* a NaN or +inf entry, or a row of -inf */
            if (special) inv = _mm256_set1_ps(1.0f);
            const __m256 va = _mm256_mul_ps(a[q], inv), vb = _mm256_mul_ps(b[q], inv);
            if (p + 8 <= end) _mm256_storeu_ps(p, va);
            else _mm256_maskstore_ps(p, m0, va);
            if (n > 8) {
                if (p + 16 <= end) _mm256_storeu_ps(p + 8, vb);
                else _mm256_maskstore_ps(p + 8, m1, vb);
            }
            if (special) softmax_special_row(p, n);
        }
    }
}

/* The rules of gj_softmax_rows_portable: the max skips NaN (vmaxps returns its second operand, the
 * running max, when the entry is NaN), and a NaN sum leaves NaN only where exp(x - max) is NaN. */
GJ_TARGET_AVX2 void gj_softmax_rows_avx2(float *x, long rows, int n)
{
    if (n <= 16) {
        softmax_short_rows(x, rows, n);
        return;
    }
    const __m256 neg_inf = _mm256_set1_ps(-INFINITY);
    for (long r = 0; r < rows; r++) {
        float *p = x + r * (long)n;
        __m256 vm = neg_inf;
        int j = 0;
        for (; j + 8 <= n; j += 8) vm = _mm256_max_ps(_mm256_loadu_ps(p + j), vm);
        __m256i tail = gj256_mask(n - j);
        if (j < n) vm = _mm256_max_ps(_mm256_blendv_ps(neg_inf, _mm256_maskload_ps(p + j, tail),
                                                       _mm256_castsi256_ps(tail)), vm);
        __m256 m = _mm256_set1_ps(hmax256(vm));
        __m256 vs = _mm256_setzero_ps();
        for (j = 0; j + 8 <= n; j += 8) {
            __m256 e = gj256_exp(_mm256_sub_ps(_mm256_loadu_ps(p + j), m));
            _mm256_storeu_ps(p + j, e);
            vs = _mm256_add_ps(vs, e);
        }
        if (j < n) {
            __m256 e = gj256_exp(_mm256_sub_ps(_mm256_maskload_ps(p + j, tail), m));
            _mm256_maskstore_ps(p + j, tail, e);
            vs = _mm256_add_ps(vs, _mm256_and_ps(e, _mm256_castsi256_ps(tail)));
        }
        const float s = hsum256(vs);
        if (s != s) { /* a NaN or +inf entry, or a row of -inf */
            softmax_special_row(p, n);
            continue;
        }
        __m256 inv = _mm256_set1_ps(1.0f / s);
        for (j = 0; j + 8 <= n; j += 8) _mm256_storeu_ps(p + j, _mm256_mul_ps(_mm256_loadu_ps(p + j), inv));
        if (j < n) _mm256_maskstore_ps(p + j, tail, _mm256_mul_ps(_mm256_maskload_ps(p + j, tail), inv));
    }
}

GJ_TARGET_AVX2 void gj_vexp_avx2(const float *x, float *y, long n)
{
    long i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, gj256_exp(_mm256_loadu_ps(x + i)));
    if (i < n) {
        __m256i mk = gj256_mask((int)(n - i));
        _mm256_maskstore_ps(y + i, mk, gj256_exp(_mm256_maskload_ps(x + i, mk)));
    }
}
