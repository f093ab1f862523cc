/*
 * vmath_avx2.h - 8-lane float approximations (exp, sigmoid, tanh) and the GEMM store epilogue
 * for the AVX2+FMA path. Same algorithms and coefficients as vmath_avx512.h (see there and
 * vmath_consts.h); the only difference is how 2^n is applied: without vscalefps we build
 * 2^n as 2^(n/2) * 2^(n - n/2) from exponent bits, which stays representable for the whole
 * clamped range n in [-152, 129] and so still gives +inf on overflow and gradual underflow.
 */
#ifndef GJ_VMATH_AVX2_H
#define GJ_VMATH_AVX2_H

#include <immintrin.h>

#include "gj_internal.h"
#include "vmath_consts.h"

GJ_TARGET_AVX2 static inline __m256 gj256_pow2i(__m256i n) /* 2^n for n in [-126, 127] */
{
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n, _mm256_set1_epi32(127)), 23));
}

GJ_TARGET_AVX2 static inline __m256 gj256_exp(__m256 x)
{
    x = _mm256_max_ps(_mm256_set1_ps(GJ_EXP_LO), x); /* NaN passes through */
    x = _mm256_min_ps(_mm256_set1_ps(GJ_EXP_HI), x);
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(GJ_LOG2E)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(GJ_LN2_HI), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(GJ_LN2_LO), r);
    __m256 q = _mm256_set1_ps(GJ_EXP_C4);
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(GJ_EXP_C3));
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(GJ_EXP_C2));
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(GJ_EXP_C1));
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(GJ_EXP_C0));
    __m256 one = _mm256_set1_ps(1.0f);
    __m256 p = _mm256_fmadd_ps(_mm256_fmadd_ps(q, r, one), r, one);
    __m256i ni = _mm256_cvtps_epi32(n);          /* NaN -> INT_MIN; p is NaN then anyway */
    __m256i n1 = _mm256_srai_epi32(ni, 1);
    __m256i n2 = _mm256_sub_epi32(ni, n1);
    return _mm256_mul_ps(_mm256_mul_ps(p, gj256_pow2i(n1)), gj256_pow2i(n2));
}

GJ_TARGET_AVX2 static inline __m256 gj256_sigmoid(__m256 x)
{
    __m256 one = _mm256_set1_ps(1.0f);
    __m256 e = gj256_exp(_mm256_sub_ps(_mm256_setzero_ps(), x));
    return _mm256_div_ps(one, _mm256_add_ps(one, e));
}

GJ_TARGET_AVX2 static inline __m256 gj256_tanh(__m256 x)
{
    /* gj512_tanh's branch-free form: tanh|x| = m / (m + 2) with m = expm1(2|x|), 2|x| clamped to
     * 20, sign restored at the end. n is in [0, 29] here, so 2^n is one exponent-bit shift. */
    const __m256 sign_mask = _mm256_set1_ps(-0.0f), one = _mm256_set1_ps(1.0f);
    __m256 ax = _mm256_andnot_ps(sign_mask, x);
    __m256 y = _mm256_min_ps(_mm256_set1_ps(20.0f), _mm256_add_ps(ax, ax)); /* NaN passes */
    __m256 n = _mm256_round_ps(_mm256_mul_ps(y, _mm256_set1_ps(GJ_LOG2E)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(GJ_LN2), y);
    __m256 q = _mm256_set1_ps(GJ_EXP_C4);
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(GJ_EXP_C3));
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(GJ_EXP_C2));
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(GJ_EXP_C1));
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(GJ_EXP_C0));
    __m256 em1r = _mm256_fmadd_ps(q, _mm256_mul_ps(r, r), r); /* e^r - 1 */
    __m256 s = gj256_pow2i(_mm256_cvtps_epi32(n));             /* 2^n; NaN lanes stay NaN via r */
    __m256 m = _mm256_fmadd_ps(s, em1r, _mm256_sub_ps(s, one));
    __m256 t = _mm256_div_ps(m, _mm256_add_ps(m, _mm256_set1_ps(2.0f)));
    return _mm256_or_ps(t, _mm256_and_ps(sign_mask, x));
}

/* Activations beyond the classic four, kept out of line: inlined into every GEMM store epilogue
 * they would make gj256_act (and so the store) too large for the inliner, which slowed the
 * linear/relu/sigmoid/tanh epilogues of the micro-kernels measurably. */
GJ_TARGET_AVX2 __attribute__((noinline)) static __m256 gj256_act_extra(__m256 x, int act)
{
    if (act == GJ_ACT_SILU) return _mm256_mul_ps(x, gj256_sigmoid(x));
    if (act == GJ_ACT_GELU_TANH) {
        __m256 x3 = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
        __m256 u = _mm256_mul_ps(_mm256_set1_ps(0.79788456080286536f), _mm256_fmadd_ps(_mm256_set1_ps(0.044715f), x3, x));
        __m256 half_x = _mm256_mul_ps(_mm256_set1_ps(0.5f), x);
        return _mm256_fmadd_ps(half_x, gj256_tanh(u), half_x);
    }
    return x;
}

GJ_TARGET_AVX2 static inline __m256 gj256_act(__m256 x, int act)
{
    switch (act) {
    case GJ_ACT_RELU: return _mm256_max_ps(_mm256_setzero_ps(), x); /* NaN stays NaN */
    case GJ_ACT_SIGMOID: return gj256_sigmoid(x);
    case GJ_ACT_TANH: return gj256_tanh(x);
    case GJ_ACT_SILU:
    case GJ_ACT_GELU_TANH: return gj256_act_extra(x, act);
    default: return x;
    }
}

/* Lane mask (all-ones in the low n of 8 lanes), for maskload/maskstore. */
GJ_TARGET_AVX2 static inline __m256i gj256_mask(int n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* GEMM store epilogue for 8 columns; `full` selects plain loads/stores (no mask). */
GJ_TARGET_AVX2 static inline void gj256_store(__m256 v, float *c, int full, __m256i mk, int load_c,
                                              const float *bias, int act)
{
    if (full) {
        if (load_c) v = _mm256_add_ps(v, _mm256_loadu_ps(c));
        if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias));
        _mm256_storeu_ps(c, gj256_act(v, act));
    } else {
        if (load_c) v = _mm256_add_ps(v, _mm256_maskload_ps(c, mk));
        if (bias) v = _mm256_add_ps(v, _mm256_maskload_ps(bias, mk));
        _mm256_maskstore_ps(c, mk, gj256_act(v, act));
    }
}

#endif /* GJ_VMATH_AVX2_H */
