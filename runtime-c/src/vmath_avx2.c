/*
 * vmath_avx2.c - activate / softmax over arrays with the 8-lane approximations of vmath_avx2.h.
 * Tails use maskload/maskstore.
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

/* The rules of gj_softmax_rows_portable: the max skips NaN (vmaxps returns its second operand, the
 * running max, when the entry is NaN), and a NaN sum leaves NaN only where exp(x - max) is NaN. */
GJ_TARGET_AVX2 void gj_softmax_rows_avx2(float *x, long rows, int n)
{
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
