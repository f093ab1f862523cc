/*
 * gemm_avx512.c - AVX-512 GEMM micro-kernels and the N == 1 / M == 1 paths:
 *   kernel_8x32    the main tile (with an 8x16 variant for edge panels of <= 16 columns)
 *   kernel_narrow  16 rows x 16 (zmm) or 8 (ymm) columns, for N <= 16
 *   dot_rows       N == 1: dot products, 16 rows at a time, transposing reduction
 *   matvec_packed  M == 1 with packed B: panel pairs, visiting order alternating per call
 *   matvec         M == 1 with unpacked B: up to 16 zmm accumulators per sweep
 *
 * Register tile: 8 rows x 32 columns = 16 zmm accumulators. Per k step the kernel loads one
 * 32-float row of the packed B panel (2 zmm) and broadcasts 8 A values straight from the
 * (unpacked) A rows as embedded-broadcast FMA operands, i.e. 16 FMAs for 2 vector loads + 8 scalar
 * loads. 16 independent accumulators cover the FMA latency (4 cycles on Zen 4 / Skylake-X) times
 * its throughput with room to spare, and 16 + 2 + 1 registers leave the rest of the 32 zmm free.
 *
 * The macro-kernel (gemm_driver.c) keeps the 8 x KC block of A in L1 while it sweeps the KC x NC
 * block of packed B (L2-resident) with this kernel.
 */
#include "gj_internal.h" /* first: its fp-contract pragma must precede the intrinsics */
#include <immintrin.h>

#include "vmath_avx512.h"

#define MR 8

/* Epilogue for linear / relu only: no exp constants to set up (the matvec kernels are called for
 * tiny problems, where that setup is a measurable part of the call). */
GJ_TARGET_AVX512 static inline void store_cheap(__m512 v, float *c, __mmask16 mk, int load_c, const float *bias,
                                                int act)
{
    if (load_c) v = _mm512_add_ps(v, gj512_load(mk, c));
    if (bias) v = _mm512_add_ps(v, gj512_load(mk, bias));
    if (act == GJ_ACT_RELU) v = gj512_relu(v);
    gj512_put(c, mk, v);
}

#define GJ_ALWAYS_INLINE_AVX512 \
    static inline __attribute__((always_inline, target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")))

/* Accumulator names: cR0 = columns 0..15 of row R, cR1 = columns 16..31. */
#define GJ_FMA_ROW(r)                                         \
    do {                                                      \
        __m512 x_ = _mm512_set1_ps(a##r[k]);                  \
        c##r##0 = _mm512_fmadd_ps(x_, b0, c##r##0);           \
        c##r##1 = _mm512_fmadd_ps(x_, b1, c##r##1);           \
    } while (0)

#define GJ_STORE_ROW(r)                                                                          \
    do {                                                                                         \
        gj512_store(c##r##0, c + (r) * ldc, mk0, load_c, bias, act);                             \
        gj512_store(c##r##1, c + (r) * ldc + 16, mk1, load_c, bias ? bias + 16 : NULL, act);     \
    } while (0)

/* 8 rows x 16 columns (the first half of a panel), for edge panels of the 8x32 kernel. */
GJ_TARGET_AVX512 static void half_8x16(int kc, const float *a0, const float *a1, const float *a2, const float *a3,
                                       const float *a4, const float *a5, const float *a6, const float *a7,
                                       const float *b, float *c, long ldc, int m, int n, int load_c,
                                       const float *bias, int act)
{
    __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
    for (int k = 0; k < kc; k++) {
        const __m512 bk = _mm512_loadu_ps(b + (size_t)k * GJ_PANEL);
        c0 = _mm512_fmadd_ps(_mm512_set1_ps(a0[k]), bk, c0);
        c1 = _mm512_fmadd_ps(_mm512_set1_ps(a1[k]), bk, c1);
        c2 = _mm512_fmadd_ps(_mm512_set1_ps(a2[k]), bk, c2);
        c3 = _mm512_fmadd_ps(_mm512_set1_ps(a3[k]), bk, c3);
        c4 = _mm512_fmadd_ps(_mm512_set1_ps(a4[k]), bk, c4);
        c5 = _mm512_fmadd_ps(_mm512_set1_ps(a5[k]), bk, c5);
        c6 = _mm512_fmadd_ps(_mm512_set1_ps(a6[k]), bk, c6);
        c7 = _mm512_fmadd_ps(_mm512_set1_ps(a7[k]), bk, c7);
    }
    const __mmask16 mk = gj512_mask(n);
    gj512_store(c0, c, mk, load_c, bias, act);
    if (m > 1) gj512_store(c1, c + ldc, mk, load_c, bias, act);
    if (m > 2) gj512_store(c2, c + 2 * ldc, mk, load_c, bias, act);
    if (m > 3) gj512_store(c3, c + 3 * ldc, mk, load_c, bias, act);
    if (m > 4) gj512_store(c4, c + 4 * ldc, mk, load_c, bias, act);
    if (m > 5) gj512_store(c5, c + 5 * ldc, mk, load_c, bias, act);
    if (m > 6) gj512_store(c6, c + 6 * ldc, mk, load_c, bias, act);
    if (m > 7) gj512_store(c7, c + 7 * ldc, mk, load_c, bias, act);
}

GJ_TARGET_AVX512 static void kernel_8x32(int kc, const float *a, long lda, const float *b,
                                         float *c, long ldc, int m, int n,
                                         int load_c, const float *bias, int act)
{
    const float *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda;
    const float *a4 = a + 4 * lda, *a5 = a + 5 * lda, *a6 = a + 6 * lda, *a7 = a + 7 * lda;
    if (n <= 16) { /* edge panel with at most 16 live columns: half the FMAs */
        half_8x16(kc, a0, a1, a2, a3, a4, a5, a6, a7, b, c, ldc, m, n, load_c, bias, act);
        return;
    }
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m512 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    __m512 c60 = c00, c61 = c00, c70 = c00, c71 = c00;

    for (int k = 0; k < kc; k++) {
        const float *bk = b + (size_t)k * GJ_PANEL;
        __m512 b0 = _mm512_loadu_ps(bk), b1 = _mm512_loadu_ps(bk + 16);
        GJ_FMA_ROW(0); GJ_FMA_ROW(1); GJ_FMA_ROW(2); GJ_FMA_ROW(3);
        GJ_FMA_ROW(4); GJ_FMA_ROW(5); GJ_FMA_ROW(6); GJ_FMA_ROW(7);
    }

    if (m == 8 && n == 32 && (act == GJ_ACT_LINEAR || act == GJ_ACT_RELU)) {
        /* full tile, cheap activation: unmasked stores, bias loaded once */
        const __m512 bb0 = bias ? _mm512_loadu_ps(bias) : _mm512_setzero_ps();
        const __m512 bb1 = bias ? _mm512_loadu_ps(bias + 16) : _mm512_setzero_ps();
        const int relu = act == GJ_ACT_RELU;
#define GJ_FAST_ROW(r)                                                                                \
        do {                                                                                          \
            float *cr = c + (r) * ldc;                                                                \
            __m512 v0 = c##r##0, v1 = c##r##1;                                                        \
            if (load_c) {                                                                             \
                v0 = _mm512_add_ps(v0, _mm512_loadu_ps(cr));                                          \
                v1 = _mm512_add_ps(v1, _mm512_loadu_ps(cr + 16));                                     \
            }                                                                                         \
            if (bias) {                                                                               \
                v0 = _mm512_add_ps(v0, bb0);                                                          \
                v1 = _mm512_add_ps(v1, bb1);                                                          \
            }                                                                                         \
            if (relu) {                                                                               \
                v0 = gj512_relu(v0);                                                                  \
                v1 = gj512_relu(v1);                                                                  \
            }                                                                                         \
            _mm512_storeu_ps(cr, v0);                                                                 \
            _mm512_storeu_ps(cr + 16, v1);                                                            \
        } while (0)
        GJ_FAST_ROW(0); GJ_FAST_ROW(1); GJ_FAST_ROW(2); GJ_FAST_ROW(3);
        GJ_FAST_ROW(4); GJ_FAST_ROW(5); GJ_FAST_ROW(6); GJ_FAST_ROW(7);
#undef GJ_FAST_ROW
        return;
    }
    __mmask16 mk0 = gj512_mask(n), mk1 = gj512_mask(n - 16);
    GJ_STORE_ROW(0);
    if (m > 1) GJ_STORE_ROW(1);
    if (m > 2) GJ_STORE_ROW(2);
    if (m > 3) GJ_STORE_ROW(3);
    if (m > 4) GJ_STORE_ROW(4);
    if (m > 5) GJ_STORE_ROW(5);
    if (m > 6) GJ_STORE_ROW(6);
    if (m > 7) GJ_STORE_ROW(7);
}

/* ---- narrow N: 16 rows x 16 (or 8) columns ------------------------------------------------------
 * For N <= 16 the 8x32 tile would leave at least half of its lanes idle. This kernel keeps 16 rows
 * in flight instead: 16 accumulators of one zmm (9..16 columns) or of one ymm (1..8 columns: a ymm
 * FMA costs half a zmm one on Zen 4 / Skylake-X port 0+1). Per k: one (masked) B load and 16 FMAs
 * with broadcast A operands. The 16 A rows are addressed as 4 groups of 4 rows (base + 0/1/2/3 *
 * lda), which keeps the address registers within the 16 general-purpose registers. */
#define NMR 16

#define GJ_NARROW_LOOP(VEC, SET1, FMA, LOADB)                                                         \
    for (int k = 0; k < kc; k++) {                                                                    \
        const VEC bk = LOADB(b + (size_t)k * ldb);                                                    \
        c0 = FMA(SET1(g0[k]), bk, c0);                                                                \
        c1 = FMA(SET1(g0[l1 + k]), bk, c1);                                                           \
        c2 = FMA(SET1(g0[l2 + k]), bk, c2);                                                           \
        c3 = FMA(SET1(g0[l3 + k]), bk, c3);                                                           \
        c4 = FMA(SET1(g1[k]), bk, c4);                                                                \
        c5 = FMA(SET1(g1[l1 + k]), bk, c5);                                                           \
        c6 = FMA(SET1(g1[l2 + k]), bk, c6);                                                           \
        c7 = FMA(SET1(g1[l3 + k]), bk, c7);                                                           \
        c8 = FMA(SET1(g2[k]), bk, c8);                                                                \
        c9 = FMA(SET1(g2[l1 + k]), bk, c9);                                                           \
        c10 = FMA(SET1(g2[l2 + k]), bk, c10);                                                         \
        c11 = FMA(SET1(g2[l3 + k]), bk, c11);                                                         \
        c12 = FMA(SET1(g3[k]), bk, c12);                                                              \
        c13 = FMA(SET1(g3[l1 + k]), bk, c13);                                                         \
        c14 = FMA(SET1(g3[l2 + k]), bk, c14);                                                         \
        c15 = FMA(SET1(g3[l3 + k]), bk, c15);                                                         \
    }

#define GJ_NARROW_STORES(STORE)                                                                       \
    do {                                                                                              \
        STORE(c0, 0);                                                                                 \
        if (m > 1) STORE(c1, 1);                                                                      \
        if (m > 2) STORE(c2, 2);                                                                      \
        if (m > 3) STORE(c3, 3);                                                                      \
        if (m > 4) STORE(c4, 4);                                                                      \
        if (m > 5) STORE(c5, 5);                                                                      \
        if (m > 6) STORE(c6, 6);                                                                      \
        if (m > 7) STORE(c7, 7);                                                                      \
        if (m > 8) STORE(c8, 8);                                                                      \
        if (m > 9) STORE(c9, 9);                                                                      \
        if (m > 10) STORE(c10, 10);                                                                   \
        if (m > 11) STORE(c11, 11);                                                                   \
        if (m > 12) STORE(c12, 12);                                                                   \
        if (m > 13) STORE(c13, 13);                                                                   \
        if (m > 14) STORE(c14, 14);                                                                   \
        if (m > 15) STORE(c15, 15);                                                                   \
    } while (0)

GJ_TARGET_AVX512 static void kernel_narrow(int kc, const float *a, long lda, const float *b, long ldb,
                                           float *c, long ldc, int m, int n,
                                           int load_c, const float *bias, int act)
{
    const float *g0 = a, *g1 = a + 4 * lda, *g2 = a + 8 * lda, *g3 = a + 12 * lda;
    const long l1 = lda, l2 = 2 * lda, l3 = 3 * lda;
    if (n > 8) {
        const __mmask16 mk = gj512_mask(n);
        __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
        __m512 c8 = c0, c9 = c0, c10 = c0, c11 = c0, c12 = c0, c13 = c0, c14 = c0, c15 = c0;
#define LOADB16(p) _mm512_maskz_loadu_ps(mk, p)
        GJ_NARROW_LOOP(__m512, _mm512_set1_ps, _mm512_fmadd_ps, LOADB16)
#undef LOADB16
#define STORE16(v, r) gj512_store(v, c + (r) * ldc, mk, load_c, bias, act)
        GJ_NARROW_STORES(STORE16);
#undef STORE16
    } else {
        const __mmask8 mk8 = (__mmask8)((1u << n) - 1u);
        const __mmask16 mk = (__mmask16)mk8;
        __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
        __m256 c8 = c0, c9 = c0, c10 = c0, c11 = c0, c12 = c0, c13 = c0, c14 = c0, c15 = c0;
#define LOADB8(p) _mm256_maskz_loadu_ps(mk8, p)
        GJ_NARROW_LOOP(__m256, _mm256_set1_ps, _mm256_fmadd_ps, LOADB8)
#undef LOADB8
#define STORE8(v, r) gj512_store(_mm512_zextps256_ps512(v), c + (r) * ldc, mk, load_c, bias, act)
        GJ_NARROW_STORES(STORE8);
#undef STORE8
    }
}

/* ---- N == 1: dot products of A rows with one column ---------------------------------------------
 * 16 rows at a time: 16 accumulators of 16 partial sums each (one per row), then a transposing
 * reduction tree turns them into one vector holding the 16 row sums, so the epilogue is one
 * vector operation per 16 rows. */

/* lane r of the result = sum of the lanes of v[r] */
GJ_TARGET_AVX512 static inline __m512 reduce16(const __m512 *v)
{
    __m512 w[8], u[4];
    for (int i = 0; i < 8; i++) /* [row 2i: 8 partial sums | row 2i+1: 8 partial sums] */
        w[i] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                             _mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], _MM_SHUFFLE(3, 2, 3, 2)));
    for (int j = 0; j < 4; j++) /* quarter q: row 4j+q, 4 partial sums */
        u[j] = _mm512_add_ps(_mm512_shuffle_f32x4(w[2 * j], w[2 * j + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                             _mm512_shuffle_f32x4(w[2 * j], w[2 * j + 1], _MM_SHUFFLE(3, 1, 3, 1)));
    /* quarter q: [row q, row 4+q, row q, row 4+q] (2 partial sums each, interleaved) */
    __m512 z0 = _mm512_add_ps(_mm512_unpacklo_ps(u[0], u[1]), _mm512_unpackhi_ps(u[0], u[1]));
    __m512 z1 = _mm512_add_ps(_mm512_unpacklo_ps(u[2], u[3]), _mm512_unpackhi_ps(u[2], u[3]));
    /* quarter q: [row q, row 8+q, row 4+q, row 12+q] */
    __m512 f = _mm512_add_ps(_mm512_unpacklo_ps(z0, z1), _mm512_unpackhi_ps(z0, z1));
    const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 2, 6, 10, 14, 1, 5, 9, 13, 3, 7, 11, 15);
    return _mm512_permutexvar_ps(order, f);
}

/* Epilogue for the row sums s of rows [0, m): c[r*ldc] = act((acc ? c : 0) + s + bias). */
GJ_TARGET_AVX512 static inline void dot_store(__m512 s, float *c, long ldc, int m, const float *bias, int act,
                                              int accumulate)
{
    const __mmask16 mk = gj512_mask(m);
    __m512 v = s;
    if (ldc == 1) {
        if (accumulate) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mk, c));
        if (bias) v = _mm512_add_ps(v, _mm512_set1_ps(*bias));
        _mm512_mask_storeu_ps(c, mk, gj512_act(v, act));
        return;
    }
    float t[16];
    if (accumulate) {
        for (int r = 0; r < m; r++) t[r] = c[r * ldc];
        v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mk, t));
    }
    if (bias) v = _mm512_add_ps(v, _mm512_set1_ps(*bias));
    _mm512_storeu_ps(t, gj512_act(v, act));
    for (int r = 0; r < m; r++) c[r * ldc] = t[r];
}

#define GJ_DOT_ROW4(g, i)                                                                             \
    acc[i] = _mm512_fmadd_ps(LOADA(g + k), bk, acc[i]);                                               \
    acc[i + 1] = _mm512_fmadd_ps(LOADA(g + l1 + k), bk, acc[i + 1]);                                  \
    acc[i + 2] = _mm512_fmadd_ps(LOADA(g + l2 + k), bk, acc[i + 2]);                                  \
    acc[i + 3] = _mm512_fmadd_ps(LOADA(g + l3 + k), bk, acc[i + 3]);

GJ_TARGET_AVX512 static void dot_rows(int M, int K, const float *A, long lda, const float *b, float *c, long ldc,
                                      const float *bias, int act, int accumulate)
{
    const int kfull = K & ~15;
    const __mmask16 kt = gj512_mask(K - kfull);
    const long l1 = lda, l2 = 2 * lda, l3 = 3 * lda;
    int i0 = 0;
    for (; i0 + 16 <= M; i0 += 16) {
        const float *g0 = A + (size_t)i0 * lda, *g1 = g0 + 4 * lda, *g2 = g0 + 8 * lda, *g3 = g0 + 12 * lda;
        __m512 acc[16];
        for (int r = 0; r < 16; r++) acc[r] = _mm512_setzero_ps();
        int k = 0;
        for (; k < kfull; k += 16) {
            const __m512 bk = _mm512_loadu_ps(b + k);
#define LOADA(p) _mm512_loadu_ps(p)
            GJ_DOT_ROW4(g0, 0) GJ_DOT_ROW4(g1, 4) GJ_DOT_ROW4(g2, 8) GJ_DOT_ROW4(g3, 12)
#undef LOADA
        }
        if (k < K) {
            const __m512 bk = _mm512_maskz_loadu_ps(kt, b + k);
#define LOADA(p) _mm512_maskz_loadu_ps(kt, p)
            GJ_DOT_ROW4(g0, 0) GJ_DOT_ROW4(g1, 4) GJ_DOT_ROW4(g2, 8) GJ_DOT_ROW4(g3, 12)
#undef LOADA
        }
        dot_store(reduce16(acc), c + (size_t)i0 * ldc, ldc, 16, bias, act, accumulate);
    }
    if (i0 < M) { /* last rows: one at a time */
        const int m = M - i0;
        __m512 acc[16];
        for (int r = 0; r < 16; r++) acc[r] = _mm512_setzero_ps();
        for (int r = 0; r < m; r++) {
            const float *ar = A + (size_t)(i0 + r) * lda;
            __m512 s0 = _mm512_setzero_ps(), s1 = s0;
            int k = 0;
            for (; k + 32 <= kfull; k += 32) {
                s0 = _mm512_fmadd_ps(_mm512_loadu_ps(ar + k), _mm512_loadu_ps(b + k), s0);
                s1 = _mm512_fmadd_ps(_mm512_loadu_ps(ar + k + 16), _mm512_loadu_ps(b + k + 16), s1);
            }
            for (; k < kfull; k += 16) s0 = _mm512_fmadd_ps(_mm512_loadu_ps(ar + k), _mm512_loadu_ps(b + k), s0);
            if (k < K) s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(kt, ar + k), _mm512_maskz_loadu_ps(kt, b + k), s1);
            acc[r] = _mm512_add_ps(s0, s1);
        }
        dot_store(reduce16(acc), c + (size_t)i0 * ldc, ldc, m, bias, act, accumulate);
    }
}

/* ---- M == 1 (matrix-vector) ----------------------------------------------------------------------
 * Unpacked B: one sweep over K accumulates up to 16 zmm (256 columns) at once, so every B row is
 * read once per 256-column chunk, sequentially. The number of vectors NV is a compile-time constant
 * in each instance (mv_chunk is force-inlined into a switch), so the accumulators live in
 * registers. Below 4 vectors the K loop is split into 2 or 4 interleaved partial sums to cover the
 * FMA latency; they are added in a fixed order. */
#define GJ_MV_MAXV 16

/* Row k of the chunk starts at p + k*ldb; the last vector is loaded with `last` as mask. */
static inline __attribute__((always_inline, target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma"))) void
mv_chunk(const int NV, int K, const float *x, const float *p, long ldb, __mmask16 last, __m512 *out)
{
    const int U = NV >= 4 ? 1 : NV == 1 ? 4 : 2;
    __m512 acc[4][GJ_MV_MAXV];
    for (int u = 0; u < U; u++)
        for (int v = 0; v < NV; v++) acc[u][v] = _mm512_setzero_ps();
    int k = 0;
    for (; k + U <= K; k += U) {
        for (int u = 0; u < U; u++) {
            const __m512 xk = _mm512_set1_ps(x[k + u]);
            const float *row = p + (size_t)(k + u) * ldb;
            for (int v = 0; v < NV; v++) {
                const __m512 bv = v == NV - 1 ? _mm512_maskz_loadu_ps(last, row + 16 * v) : _mm512_loadu_ps(row + 16 * v);
                acc[u][v] = _mm512_fmadd_ps(xk, bv, acc[u][v]);
            }
        }
    }
    for (; k < K; k++) {
        const __m512 xk = _mm512_set1_ps(x[k]);
        const float *row = p + (size_t)k * ldb;
        for (int v = 0; v < NV; v++) {
            const __m512 bv = v == NV - 1 ? _mm512_maskz_loadu_ps(last, row + 16 * v) : _mm512_loadu_ps(row + 16 * v);
            acc[0][v] = _mm512_fmadd_ps(xk, bv, acc[0][v]);
        }
    }
    for (int v = 0; v < NV; v++) {
        __m512 t = acc[0][v];
        if (U > 1) t = _mm512_add_ps(t, acc[1][v]);
        if (U > 2) t = _mm512_add_ps(_mm512_add_ps(t, acc[2][v]), acc[3][v]);
        out[v] = t;
    }
}

#define GJ_MV_CASES(X)                                                                                \
    X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15) X(16)

/* y = x * B with B unpacked (row stride ldb). Rows wider than 256 columns are swept once per
 * 256-column chunk; the driver blocks K so that such a sweep finds B in L2 (gemm_driver.c). */
GJ_TARGET_AVX512 static void matvec(int N, int K, const float *x, const float *B, long ldb,
                                    float *y, const float *bias, int act, int accumulate)
{
    for (int j0 = 0; j0 < N; j0 += 16 * GJ_MV_MAXV) {
        const int w = N - j0 < 16 * GJ_MV_MAXV ? N - j0 : 16 * GJ_MV_MAXV;
        const int nv = (w + 15) / 16;
        const __mmask16 last = gj512_mask(w - 16 * (nv - 1));
        __m512 s[GJ_MV_MAXV];
        switch (nv) {
#define GJ_MV_CASE(n)                                                                                 \
    case n: mv_chunk(n, K, x, B + j0, ldb, last, s); break;
            GJ_MV_CASES(GJ_MV_CASE)
#undef GJ_MV_CASE
        default: break;
        }
        /* linear / relu: the epilogue without the exp / tanh constants (see store_cheap) */
        const int cheap = act == GJ_ACT_LINEAR || act == GJ_ACT_RELU;
        for (int v = 0; v < nv; v++) {
            if (cheap)
                store_cheap(s[v], y + j0 + 16 * v, gj512_mask(w - 16 * v), accumulate,
                            bias ? bias + j0 + 16 * v : NULL, act);
            else
                gj512_store(s[v], y + j0 + 16 * v, gj512_mask(w - 16 * v), accumulate,
                            bias ? bias + j0 + 16 * v : NULL, act);
        }
    }
}

/* y = x * Bpacked (panel stride panel_stride floats), in groups of two full panels (64 columns: 4
 * vectors per k, K unrolled by 2, 8 FMA chains, one broadcast per 4 FMAs; two contiguous streams,
 * which the L1 prefetcher follows) and then the remaining panel, whose live width decides the
 * code: more than 16 columns (K unrolled by 4), 9..16 columns (one zmm per k), 1..8 columns (one
 * ymm per k). A panel with at most 16 live columns reads only the first cache line of each row.
 * The matvec is bound by the L1 load bandwidth: every FMA needs 64 fresh bytes of B.
 *
 * The weights of a small recurrent matvec (LSTM step: 50 x 224 floats, 44 KB) are a bit larger than
 * the 32 KB L1, so a sweep in the same order every call would miss L1 on every line (LRU evicts
 * each line just before it is needed again) and run at the L2 bandwidth (32 B/cycle). Instead the
 * panels are visited forwards and backwards on alternate calls of the thread: the panels used last
 * are used first next time, while they are still in L1. Each panel's sums are formed the same way
 * in either order, so the results are identical. */
static _Thread_local unsigned gj_mv_flip;

/* Two full panels (64 columns) starting at p and p + panel_stride: 4 vectors per k, K unrolled by 2
 * (8 FMA chains), one broadcast of x[k] per 4 FMAs. */
#define MV_STORE(...) (cheap ? store_cheap(__VA_ARGS__) : gj512_store(__VA_ARGS__))
GJ_ALWAYS_INLINE_AVX512 void mv_panel_pair(int K, const float *x, const float *p, long panel_stride, float *y,
                                           const float *bias, int act, int accumulate, const int cheap)
{
    const float *q = p + panel_stride;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    int k = 0;
    for (; k + 2 <= K; k += 2) {
        const size_t o = (size_t)k * GJ_PANEL;
        const __m512 x0 = _mm512_set1_ps(x[k]), x1 = _mm512_set1_ps(x[k + 1]);
        a0 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(p + o), a0);
        a1 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(p + o + 16), a1);
        a2 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(q + o), a2);
        a3 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(q + o + 16), a3);
        b0 = _mm512_fmadd_ps(x1, _mm512_loadu_ps(p + o + 32), b0);
        b1 = _mm512_fmadd_ps(x1, _mm512_loadu_ps(p + o + 48), b1);
        b2 = _mm512_fmadd_ps(x1, _mm512_loadu_ps(q + o + 32), b2);
        b3 = _mm512_fmadd_ps(x1, _mm512_loadu_ps(q + o + 48), b3);
    }
    if (k < K) {
        const size_t o = (size_t)k * GJ_PANEL;
        const __m512 x0 = _mm512_set1_ps(x[k]);
        a0 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(p + o), a0);
        a1 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(p + o + 16), a1);
        a2 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(q + o), a2);
        a3 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(q + o + 16), a3);
    }
    MV_STORE(_mm512_add_ps(a0, b0), y, 0xFFFF, accumulate, bias, act);
    MV_STORE(_mm512_add_ps(a1, b1), y + 16, 0xFFFF, accumulate, bias ? bias + 16 : NULL, act);
    MV_STORE(_mm512_add_ps(a2, b2), y + 32, 0xFFFF, accumulate, bias ? bias + 32 : NULL, act);
    MV_STORE(_mm512_add_ps(a3, b3), y + 48, 0xFFFF, accumulate, bias ? bias + 48 : NULL, act);
}

/* One panel with w (1..32) live columns. */
GJ_ALWAYS_INLINE_AVX512 void mv_panel(int K, const float *x, const float *p, int w, float *y, const float *bias,
                                      int act, int accumulate, const int cheap)
{
    int k = 0;
    if (w > 16) {
        __m512 s00 = _mm512_setzero_ps(), s01 = s00, s10 = s00, s11 = s00;
        __m512 s20 = s00, s21 = s00, s30 = s00, s31 = s00;
        for (; k + 4 <= K; k += 4) {
            const float *pk = p + (size_t)k * GJ_PANEL;
            __m512 x0 = _mm512_set1_ps(x[k]), x1 = _mm512_set1_ps(x[k + 1]);
            __m512 x2 = _mm512_set1_ps(x[k + 2]), x3 = _mm512_set1_ps(x[k + 3]);
            s00 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(pk), s00);
            s01 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(pk + 16), s01);
            s10 = _mm512_fmadd_ps(x1, _mm512_loadu_ps(pk + 32), s10);
            s11 = _mm512_fmadd_ps(x1, _mm512_loadu_ps(pk + 48), s11);
            s20 = _mm512_fmadd_ps(x2, _mm512_loadu_ps(pk + 64), s20);
            s21 = _mm512_fmadd_ps(x2, _mm512_loadu_ps(pk + 80), s21);
            s30 = _mm512_fmadd_ps(x3, _mm512_loadu_ps(pk + 96), s30);
            s31 = _mm512_fmadd_ps(x3, _mm512_loadu_ps(pk + 112), s31);
        }
        for (; k < K; k++) {
            const float *pk = p + (size_t)k * GJ_PANEL;
            __m512 x0 = _mm512_set1_ps(x[k]);
            s00 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(pk), s00);
            s01 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(pk + 16), s01);
        }
        __m512 v0 = _mm512_add_ps(_mm512_add_ps(s00, s10), _mm512_add_ps(s20, s30));
        __m512 v1 = _mm512_add_ps(_mm512_add_ps(s01, s11), _mm512_add_ps(s21, s31));
        MV_STORE(v0, y, 0xFFFF, accumulate, bias, act);
        MV_STORE(v1, y + 16, gj512_mask(w - 16), accumulate, bias ? bias + 16 : NULL, act);
    } else if (w > 8) {
        __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
        for (; k + 4 <= K; k += 4) {
            const float *pk = p + (size_t)k * GJ_PANEL;
            s0 = _mm512_fmadd_ps(_mm512_set1_ps(x[k]), _mm512_loadu_ps(pk), s0);
            s1 = _mm512_fmadd_ps(_mm512_set1_ps(x[k + 1]), _mm512_loadu_ps(pk + 32), s1);
            s2 = _mm512_fmadd_ps(_mm512_set1_ps(x[k + 2]), _mm512_loadu_ps(pk + 64), s2);
            s3 = _mm512_fmadd_ps(_mm512_set1_ps(x[k + 3]), _mm512_loadu_ps(pk + 96), s3);
        }
        for (; k < K; k++) s0 = _mm512_fmadd_ps(_mm512_set1_ps(x[k]), _mm512_loadu_ps(p + (size_t)k * GJ_PANEL), s0);
        MV_STORE(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)), y, gj512_mask(w),
                    accumulate, bias, act);
    } else {
        __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
        for (; k + 4 <= K; k += 4) {
            const float *pk = p + (size_t)k * GJ_PANEL;
            s0 = _mm256_fmadd_ps(_mm256_set1_ps(x[k]), _mm256_loadu_ps(pk), s0);
            s1 = _mm256_fmadd_ps(_mm256_set1_ps(x[k + 1]), _mm256_loadu_ps(pk + 32), s1);
            s2 = _mm256_fmadd_ps(_mm256_set1_ps(x[k + 2]), _mm256_loadu_ps(pk + 64), s2);
            s3 = _mm256_fmadd_ps(_mm256_set1_ps(x[k + 3]), _mm256_loadu_ps(pk + 96), s3);
        }
        for (; k < K; k++) s0 = _mm256_fmadd_ps(_mm256_set1_ps(x[k]), _mm256_loadu_ps(p + (size_t)k * GJ_PANEL), s0);
        __m256 v = _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3));
        MV_STORE(_mm512_zextps256_ps512(v), y, gj512_mask(w), accumulate, bias, act);
    }
}

#undef MV_STORE

GJ_ALWAYS_INLINE_AVX512 void matvec_packed_impl(int N, int K, const float *x, const float *packed,
                                                long panel_stride, float *y, const float *bias, int act,
                                                int accumulate, const int cheap)
{
    /* groups: pairs of full panels, then the rest one panel at a time */
    const int npanels = (N + GJ_PANEL - 1) / GJ_PANEL;
    const int npairs = (N / GJ_PANEL) / 2, ngroups = npairs + (npanels - 2 * npairs);
    const int backwards = (int)(gj_mv_flip++ & 1u);
    for (int i = 0; i < ngroups; i++) {
        const int g = backwards ? ngroups - 1 - i : i;
        const int pi = g < npairs ? 2 * g : npairs + g; /* first panel of the group */
        const int j0 = pi * GJ_PANEL;
        const float *p = packed + (size_t)pi * panel_stride;
        const float *bj = bias ? bias + j0 : NULL;
        if (g < npairs)
            mv_panel_pair(K, x, p, panel_stride, y + j0, bj, act, accumulate, cheap);
        else
            mv_panel(K, x, p, N - j0 < GJ_PANEL ? N - j0 : GJ_PANEL, y + j0, bj, act, accumulate, cheap);
    }
}

GJ_TARGET_AVX512 static void matvec_packed(int N, int K, const float *x, const float *packed,
                                           long panel_stride, float *y, const float *bias, int act,
                                           int accumulate)
{
    if (act == GJ_ACT_LINEAR || act == GJ_ACT_RELU)
        matvec_packed_impl(N, K, x, packed, panel_stride, y, bias, act, accumulate, 1);
    else
        matvec_packed_impl(N, K, x, packed, panel_stride, y, bias, act, accumulate, 0);
}

/* Vector math entry points of this path live in vmath_avx512.c / lstm_cell.c. */
void gj_activate_avx512(float *x, long n, int act);
void gj_softmax_rows_avx512(float *x, long rows, int n);
void gj_lstm_cell_avx512(int rows, int units, const float *z, int ldz, float *c, int ldc, float *h,
                         int ldh, int act, int rec);
void gj_vexp_avx512(const float *x, float *y, long n);

const gj_path_ops gj_ops_avx512 = {
    .name = "avx512",
    .vector_activations = GJ_ACT_BIT(GJ_ACT_LINEAR) | GJ_ACT_BIT(GJ_ACT_RELU) | GJ_ACT_BIT(GJ_ACT_SIGMOID) |
                          GJ_ACT_BIT(GJ_ACT_TANH) | GJ_ACT_BIT(GJ_ACT_GELU_TANH) | GJ_ACT_BIT(GJ_ACT_SILU),
    .mr = MR,
    .nr = 32,
    .kernel = kernel_8x32,
    .narrow_mr = NMR,
    .narrow_nr = 16,
    .kernel_narrow = kernel_narrow,
    .dot_rows = dot_rows,
    .matvec_packed = matvec_packed,
    .matvec = matvec,
    .activate = gj_activate_avx512,
    .softmax_rows = gj_softmax_rows_avx512,
    .lstm_cell = gj_lstm_cell_avx512,
    .vexp = gj_vexp_avx512,
};
