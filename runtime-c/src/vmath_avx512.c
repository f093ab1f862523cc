/*
 * vmath_avx512.c - activate / softmax over arrays with the 16-lane approximations of
 * vmath_avx512.h. Tails use masked loads and stores (no scalar remainder loop).
 */
#include <math.h>

#include "gj_internal.h"
#include "vmath_avx512.h"

GJ_TARGET_AVX512 static void act_loop(float *x, long n, int act)
{
    long i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(x + i, gj512_act(_mm512_loadu_ps(x + i), act));
    if (i < n) {
        __mmask16 mk = gj512_mask((int)(n - i));
        _mm512_mask_storeu_ps(x + i, mk, gj512_act(_mm512_maskz_loadu_ps(mk, x + i), act));
    }
}

GJ_TARGET_AVX512 void gj_activate_avx512(float *x, long n, int act)
{
    /* one loop per activation so the switch is not evaluated per vector */
    switch (act) {
    case GJ_ACT_RELU: act_loop(x, n, GJ_ACT_RELU); break;
    case GJ_ACT_SIGMOID: act_loop(x, n, GJ_ACT_SIGMOID); break;
    case GJ_ACT_TANH: act_loop(x, n, GJ_ACT_TANH); break;
    default: break;
    }
}

GJ_TARGET_AVX512 void gj_softmax_rows_avx512(float *x, long rows, int n)
{
    const __m512 neg_inf = _mm512_set1_ps(-INFINITY);
    for (long r = 0; r < rows; r++) {
        float *p = x + r * (long)n;
        /* 1. row max (NaNs may be skipped here; they still poison the sum below) */
        __m512 vm = neg_inf;
        int j = 0;
        for (; j + 16 <= n; j += 16) vm = _mm512_max_ps(vm, _mm512_loadu_ps(p + j));
        __mmask16 tail = gj512_mask(n - j);
        if (j < n) vm = _mm512_max_ps(vm, _mm512_mask_loadu_ps(neg_inf, tail, p + j));
        __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(vm));
        /* 2. e = exp(x - max), sum */
        __m512 vs = _mm512_setzero_ps();
        for (j = 0; j + 16 <= n; j += 16) {
            __m512 e = gj512_exp(_mm512_sub_ps(_mm512_loadu_ps(p + j), m));
            _mm512_storeu_ps(p + j, e);
            vs = _mm512_add_ps(vs, e);
        }
        if (j < n) {
            __m512 e = gj512_exp(_mm512_sub_ps(_mm512_maskz_loadu_ps(tail, p + j), m));
            _mm512_mask_storeu_ps(p + j, tail, e);
            vs = _mm512_mask_add_ps(vs, tail, vs, e);
        }
        /* 3. normalize */
        __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(vs));
        for (j = 0; j + 16 <= n; j += 16) _mm512_storeu_ps(p + j, _mm512_mul_ps(_mm512_loadu_ps(p + j), inv));
        if (j < n) _mm512_mask_storeu_ps(p + j, tail, _mm512_mul_ps(_mm512_maskz_loadu_ps(tail, p + j), inv));
    }
}

GJ_TARGET_AVX512 void gj_vexp_avx512(const float *x, float *y, long n)
{
    long i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, gj512_exp(_mm512_loadu_ps(x + i)));
    if (i < n) {
        __mmask16 mk = gj512_mask((int)(n - i));
        _mm512_mask_storeu_ps(y + i, mk, gj512_exp(_mm512_maskz_loadu_ps(mk, x + i)));
    }
}
