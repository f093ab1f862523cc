/*
 * vmath_avx512.h - 16-lane float approximations (exp, sigmoid, tanh) and the GEMM store epilogue
 * for the AVX-512 path. Header-only so the GEMM kernels can inline them into their epilogues;
 * every function carries GJ_TARGET_AVX512 and must only run after dispatch chose that path.
 *
 * Accuracy (measured by tests/test_runtime.c against double-precision libm, see README):
 *   exp:     argument reduction x = n*ln2 + r with a two-constant (Cody-Waite) ln2, |r| <= ln2/2,
 *            e^r ~ 1 + r + r^2*q(r) with q a degree-4 polynomial fitted (weighted least squares,
 *            Lawson iteration, ~minimax) to 1.05e-8 relative error; 2^n applied with vscalefps,
 *            which gives correct overflow to +inf and gradual underflow to 0.
 *   sigmoid: 1 / (1 + exp(-x)) with a true division.
 *   tanh:    sign(x) * m/(m + 2) with m = expm1(2|x|) (same reduction and polynomial as exp,
 *            2^n (e^r - 1) + (2^n - 1)): one branch-free formula, ~40% fewer operations than
 *            the former two-branch form (polynomial for |x| < 0.625, 1 - 2/(e^2|x| + 1) above).
 * NaN inputs propagate: the clamps use max/min with x as the *second* operand, which x86 returns
 * when either operand is NaN.
 */
#ifndef GJ_VMATH_AVX512_H
#define GJ_VMATH_AVX512_H

#include <immintrin.h>

#include "gj_internal.h"
#include "vmath_consts.h"

GJ_TARGET_AVX512 static inline __m512 gj512_exp(__m512 x)
{
    /* Clamp to [-105, 89]: beyond it the result is 0 / +inf anyway, and the clamp keeps the
     * reduction finite for +-inf. NaN passes through (second operand of max/min). */
    x = _mm512_max_ps(_mm512_set1_ps(GJ_EXP_LO), x);
    x = _mm512_min_ps(_mm512_set1_ps(GJ_EXP_HI), x);
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(GJ_LOG2E)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(GJ_LN2_HI), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(GJ_LN2_LO), r);
    __m512 q = _mm512_set1_ps(GJ_EXP_C4);
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(GJ_EXP_C3));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(GJ_EXP_C2));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(GJ_EXP_C1));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(GJ_EXP_C0));
    __m512 one = _mm512_set1_ps(1.0f);
    __m512 p = _mm512_fmadd_ps(_mm512_fmadd_ps(q, r, one), r, one); /* 1 + r + r^2 q */
    return _mm512_scalef_ps(p, n);
}

GJ_TARGET_AVX512 static inline __m512 gj512_sigmoid(__m512 x)
{
    __m512 one = _mm512_set1_ps(1.0f);
    __m512 e = gj512_exp(_mm512_sub_ps(_mm512_setzero_ps(), x));
    return _mm512_div_ps(one, _mm512_add_ps(one, e));
}

GJ_TARGET_AVX512 static inline __m512 gj512_tanh(__m512 x)
{
    /* tanh|x| = m / (m + 2) with m = expm1(2|x|), sign restored at the end. 2|x| is clamped to 20
     * (tanh(10) rounds to 1; keeps inf out). expm1(y) = 2^n (e^r - 1) + (2^n - 1) with
     * y = n ln2 + r: for n = 0 this is the polynomial r + r^2 q(r) itself, so small arguments keep
     * their relative accuracy without a separate branch. One-constant ln2 suffices: n <= 29 and
     * the result's sensitivity to m falls like e^-2|x|. */
    const __m512 sign_mask = _mm512_set1_ps(-0.0f), one = _mm512_set1_ps(1.0f);
    __m512 ax = _mm512_andnot_ps(sign_mask, x);
    __m512 y = _mm512_min_ps(_mm512_set1_ps(20.0f), _mm512_add_ps(ax, ax)); /* NaN passes */
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(y, _mm512_set1_ps(GJ_LOG2E)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(GJ_LN2), y);
    __m512 q = _mm512_set1_ps(GJ_EXP_C4);
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(GJ_EXP_C3));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(GJ_EXP_C2));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(GJ_EXP_C1));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(GJ_EXP_C0));
    __m512 em1r = _mm512_fmadd_ps(q, _mm512_mul_ps(r, r), r); /* e^r - 1 */
    __m512 s = _mm512_scalef_ps(one, n);                       /* 2^n */
    __m512 m = _mm512_fmadd_ps(s, em1r, _mm512_sub_ps(s, one));
    __m512 t = _mm512_div_ps(m, _mm512_add_ps(m, _mm512_set1_ps(2.0f)));
    return _mm512_or_ps(t, _mm512_and_ps(sign_mask, x));
}

GJ_TARGET_AVX512 static inline __m512 gj512_relu(__m512 x)
{
    return _mm512_max_ps(_mm512_setzero_ps(), x); /* NaN stays NaN */
}

/* Activations beyond the classic four, kept out of line: inlined into every GEMM store epilogue
 * they would make gj512_act (and so the store) too large for the inliner, which slowed the
 * linear/relu/sigmoid/tanh epilogues of the micro-kernels measurably. */
GJ_TARGET_AVX512 __attribute__((noinline)) static __m512 gj512_act_extra(__m512 x, int act)
{
    if (act == GJ_ACT_SILU) return _mm512_mul_ps(x, gj512_sigmoid(x));
    if (act == GJ_ACT_GELU_TANH) {
        __m512 x3 = _mm512_mul_ps(_mm512_mul_ps(x, x), x);
        __m512 u = _mm512_mul_ps(_mm512_set1_ps(0.79788456080286536f), _mm512_fmadd_ps(_mm512_set1_ps(0.044715f), x3, x));
        __m512 half_x = _mm512_mul_ps(_mm512_set1_ps(0.5f), x);
        return _mm512_fmadd_ps(half_x, gj512_tanh(u), half_x);
    }
    return x;
}

GJ_TARGET_AVX512 static inline __m512 gj512_act(__m512 x, int act)
{
    switch (act) {
    case GJ_ACT_RELU: return gj512_relu(x);
    case GJ_ACT_SIGMOID: return gj512_sigmoid(x);
    case GJ_ACT_TANH: return gj512_tanh(x);
    case GJ_ACT_SILU:
    case GJ_ACT_GELU_TANH: return gj512_act_extra(x, act);
    default: return x;
    }
}

/* Mask with the low n (0..16) lanes set. */
GJ_TARGET_AVX512 static inline __mmask16 gj512_mask(int n)
{
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1u);
}

/* Masked load / store that use the plain instructions for a full mask. On Zen 4 a load that
 * overlaps a recent *masked* store cannot take its data from the store buffer and waits until the
 * store has been written to L1 (tens of cycles); plain stores forward. Results that are read back
 * soon (accumulate, an LSTM's gates and state, softmax rows) should therefore not be written with
 * masked stores unless they have to be. */
GJ_TARGET_AVX512 static inline __m512 gj512_load(__mmask16 mk, const float *p)
{
    return mk == (__mmask16)0xFFFF ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(mk, p);
}

GJ_TARGET_AVX512 static inline void gj512_put(float *p, __mmask16 mk, __m512 v)
{
    if (mk == (__mmask16)0xFFFF) _mm512_storeu_ps(p, v);
    else _mm512_mask_storeu_ps(p, mk, v);
}

/* GEMM store epilogue for 16 columns: v (+ C) (+ bias), activation, masked store.
 * `bias` points at the bias of these 16 columns (or is NULL). */
GJ_TARGET_AVX512 static inline void gj512_store(__m512 v, float *c, __mmask16 mk, int load_c,
                                                const float *bias, int act)
{
    if (load_c) v = _mm512_add_ps(v, gj512_load(mk, c));
    if (bias) v = _mm512_add_ps(v, gj512_load(mk, bias));
    v = gj512_act(v, act);
    gj512_put(c, mk, v);
}

#endif /* GJ_VMATH_AVX512_H */
