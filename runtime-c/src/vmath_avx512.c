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
    case GJ_ACT_GELU_TANH: act_loop(x, n, GJ_ACT_GELU_TANH); break;
    case GJ_ACT_SILU: act_loop(x, n, GJ_ACT_SILU); break;
    default: break;
    }
}

/* A long row of exp(x - max) (max skipping NaN) whose sum is NaN (a NaN or +inf entry, or only -inf;
 * see gj_softmax_rows_portable for the rules): NaN entries stay NaN, every other entry becomes 0.
 * Rare, so out of line; the last jt..n entries are still in register `et`. */
GJ_TARGET_AVX512 __attribute__((noinline, cold)) static void softmax_special_long_row(float *p, int n, int jt, __m512 et)
{
    for (int j = 0; j < jt; j += 16) {
        __m512 e = _mm512_loadu_ps(p + j);
        _mm512_storeu_ps(p + j, _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(e, e, _CMP_UNORD_Q), e));
    }
    if (jt < n)
        _mm512_mask_storeu_ps(p + jt, gj512_mask(n - jt), _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(et, et, _CMP_UNORD_Q), et));
}

/* vfpclassps categories: QNaN (0x01), +inf (0x08), SNaN (0x80) */
#define GJ_FPCLASS_NAN_OR_POSINF 0x89

/* A short row with a NaN or +inf entry (lanes past the row hold -inf): NaN at those entries, 0 at
 * every other (see gj_softmax_rows_portable). Out of line: it is rare. */
GJ_TARGET_AVX512 __attribute__((noinline, cold)) static __m512 softmax_special_row(__m512 x)
{
    /* max(x, -inf) turns NaN lanes into -inf (vmaxps returns its second operand when either is NaN):
     * the max skips NaN, whatever the reduction's own NaN order */
    const __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(_mm512_max_ps(x, _mm512_set1_ps(-INFINITY))));
    const __m512 e = gj512_exp(_mm512_sub_ps(x, m));
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(e, e, _CMP_UNORD_Q), e);
}

/* Rows of at most 16 entries (class scores): one masked load and one masked store per row, the
 * row stays in a register in between. Rows are handled in blocks of 8: all loads of a block come
 * before its stores. (On Zen 4 a load that overlaps a recent masked store waits until the store
 * has left the store buffer -- masked stores are not forwarded -- and consecutive short rows share
 * cache lines: row by row, every row waited ~30 cycles for the previous one.) */
#define GJ_SOFTMAX_BLOCK 8
GJ_TARGET_AVX512 static void softmax_short_rows(float *x, long rows, int n)
{
    const __m512 neg_inf = _mm512_set1_ps(-INFINITY);
    const __mmask16 mk = gj512_mask(n);
    for (long r0 = 0; r0 < rows; r0 += GJ_SOFTMAX_BLOCK) {
        const int nb = rows - r0 < GJ_SOFTMAX_BLOCK ? (int)(rows - r0) : GJ_SOFTMAX_BLOCK;
        float *p = x + r0 * (long)n;
        __m512 v[GJ_SOFTMAX_BLOCK];
        /* special: the lanes that hold NaN or +inf, in any row of the block (one vfpclassps per row,
         * off the latency-bound path below) */
        __mmask16 special = 0;
        for (int i = 0; i < nb; i++) {
            v[i] = _mm512_mask_loadu_ps(neg_inf, mk, p + (long)i * n);
            special |= _mm512_mask_fpclass_ps_mask(mk, v[i], GJ_FPCLASS_NAN_OR_POSINF);
        }
        for (int i = 0; i < nb; i++) {
            const __m512 e = gj512_exp(_mm512_sub_ps(v[i], _mm512_set1_ps(_mm512_reduce_max_ps(v[i]))));
            v[i] = _mm512_mul_ps(e, _mm512_set1_ps(1.0f / _mm512_mask_reduce_add_ps(mk, e)));
        }
        if (special) /* rare: those rows again (a row of only -inf needs nothing: it is NaN already) */
            for (int i = 0; i < nb; i++) {
                const __m512 xi = _mm512_mask_loadu_ps(neg_inf, mk, p + (long)i * n);
                if (_mm512_mask_fpclass_ps_mask(mk, xi, GJ_FPCLASS_NAN_OR_POSINF)) v[i] = softmax_special_row(xi);
            }
        for (int i = 0; i < nb; i++) _mm512_mask_storeu_ps(p + (long)i * n, mk, v[i]);
    }
}

GJ_TARGET_AVX512 void gj_softmax_rows_avx512(float *x, long rows, int n)
{
    if (n <= 16) {
        softmax_short_rows(x, rows, n);
        return;
    }
    const __m512 neg_inf = _mm512_set1_ps(-INFINITY);
    for (long r = 0; r < rows; r++) {
        float *p = x + r * (long)n;
        /* 1. row max, NaN entries skipped (the running max is vmaxps's second operand) */
        __m512 vm = neg_inf;
        int j = 0;
        for (; j + 16 <= n; j += 16) vm = _mm512_max_ps(_mm512_loadu_ps(p + j), vm);
        const int jt = j; /* start of the masked tail (if any) */
        __mmask16 tail = gj512_mask(n - j);
        __m512 vt = _mm512_mask_loadu_ps(neg_inf, tail, p + jt);
        if (jt < n) vm = _mm512_max_ps(vt, vm);
        __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(vm));
        /* 2. e = exp(x - max), sum; the tail stays in a register */
        __m512 vs = _mm512_setzero_ps();
        for (j = 0; j < jt; j += 16) {
            __m512 e = gj512_exp(_mm512_sub_ps(_mm512_loadu_ps(p + j), m));
            _mm512_storeu_ps(p + j, e);
            vs = _mm512_add_ps(vs, e);
        }
        __m512 et = _mm512_setzero_ps();
        if (jt < n) {
            et = gj512_exp(_mm512_sub_ps(vt, m));
            vs = _mm512_mask_add_ps(vs, tail, vs, et);
        }
        const float s = _mm512_reduce_add_ps(vs);
        if (s != s) { /* a NaN or +inf entry, or a row of -inf */
            softmax_special_long_row(p, n, jt, et);
            continue;
        }
        /* 3. normalize */
        __m512 inv = _mm512_set1_ps(1.0f / s);
        for (j = 0; j < jt; j += 16) _mm512_storeu_ps(p + j, _mm512_mul_ps(_mm512_loadu_ps(p + j), inv));
        if (jt < n) _mm512_mask_storeu_ps(p + jt, tail, _mm512_mul_ps(et, inv));
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
