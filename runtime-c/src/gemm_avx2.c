/*
 * gemm_avx2.c - AVX2+FMA GEMM micro-kernel (6 rows x 16 columns) and M == 1 (matvec) paths.
 *
 * Register tile: 6 rows x 16 columns = 12 ymm accumulators, 2 ymm for the B row, 1 for the
 * broadcast A value: 15 of the 16 ymm registers. Per k step: 12 FMAs for 2 vector loads and 6
 * broadcasts. The kernel reads half of a 32-wide packed panel (row stride GJ_PANEL), so the packed
 * layout is shared with the AVX-512 path.
 */
#include "gj_internal.h" /* first: its fp-contract pragma must precede the intrinsics */
#include <immintrin.h>

#include "vmath_avx2.h"

#define MR 6

#define GJ_FMA_ROW(r)                                         \
    do {                                                      \
        __m256 x_ = _mm256_broadcast_ss(a##r + k);            \
        c##r##0 = _mm256_fmadd_ps(x_, b0, c##r##0);           \
        c##r##1 = _mm256_fmadd_ps(x_, b1, c##r##1);           \
    } while (0)

#define GJ_STORE_ROW(r)                                                                               \
    do {                                                                                              \
        gj256_store(c##r##0, c + (r) * ldc, full0, mk0, load_c, bias, act);                           \
        if (n > 8) gj256_store(c##r##1, c + (r) * ldc + 8, full1, mk1, load_c, bias ? bias + 8 : NULL, act); \
    } while (0)

GJ_TARGET_AVX2 static void kernel_6x16(int kc, const float *a, long lda, const float *b,
                                       float *c, long ldc, int m, int n,
                                       int load_c, const float *bias, int act)
{
    const float *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda;
    const float *a3 = a + 3 * lda, *a4 = a + 4 * lda, *a5 = a + 5 * lda;
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;

    for (int k = 0; k < kc; k++) {
        const float *bk = b + (size_t)k * GJ_PANEL;
        __m256 b0 = _mm256_loadu_ps(bk), b1 = _mm256_loadu_ps(bk + 8);
        GJ_FMA_ROW(0); GJ_FMA_ROW(1); GJ_FMA_ROW(2);
        GJ_FMA_ROW(3); GJ_FMA_ROW(4); GJ_FMA_ROW(5);
    }

    int full0 = n >= 8, full1 = n >= 16;
    __m256i mk0 = gj256_mask(n), mk1 = gj256_mask(n - 8);
    GJ_STORE_ROW(0);
    if (m > 1) GJ_STORE_ROW(1);
    if (m > 2) GJ_STORE_ROW(2);
    if (m > 3) GJ_STORE_ROW(3);
    if (m > 4) GJ_STORE_ROW(4);
    if (m > 5) GJ_STORE_ROW(5);
}

/* ---- narrow N (<= 8 columns): 12 rows x 8 columns -----------------------------------------------
 * 12 ymm accumulators + the B row + the broadcast = 14 of the 16 registers; the rows are addressed
 * as 3 groups of 4 (base + 0/1/2/3 * lda). */
#define NMR 12

#define GJ_NARROW_LOOP(LOADB)                                                                         \
    for (int k = 0; k < kc; k++) {                                                                    \
        const __m256 bk = LOADB(b + (size_t)k * ldb);                                                 \
        c0 = _mm256_fmadd_ps(_mm256_broadcast_ss(g0 + k), bk, c0);                                    \
        c1 = _mm256_fmadd_ps(_mm256_broadcast_ss(g0 + l1 + k), bk, c1);                               \
        c2 = _mm256_fmadd_ps(_mm256_broadcast_ss(g0 + l2 + k), bk, c2);                               \
        c3 = _mm256_fmadd_ps(_mm256_broadcast_ss(g0 + l3 + k), bk, c3);                               \
        c4 = _mm256_fmadd_ps(_mm256_broadcast_ss(g1 + k), bk, c4);                                    \
        c5 = _mm256_fmadd_ps(_mm256_broadcast_ss(g1 + l1 + k), bk, c5);                               \
        c6 = _mm256_fmadd_ps(_mm256_broadcast_ss(g1 + l2 + k), bk, c6);                               \
        c7 = _mm256_fmadd_ps(_mm256_broadcast_ss(g1 + l3 + k), bk, c7);                               \
        c8 = _mm256_fmadd_ps(_mm256_broadcast_ss(g2 + k), bk, c8);                                    \
        c9 = _mm256_fmadd_ps(_mm256_broadcast_ss(g2 + l1 + k), bk, c9);                               \
        c10 = _mm256_fmadd_ps(_mm256_broadcast_ss(g2 + l2 + k), bk, c10);                             \
        c11 = _mm256_fmadd_ps(_mm256_broadcast_ss(g2 + l3 + k), bk, c11);                             \
    }

GJ_TARGET_AVX2 static void kernel_narrow(int kc, const float *a, long lda, const float *b, long ldb,
                                         float *c, long ldc, int m, int n,
                                         int load_c, const float *bias, int act)
{
    const float *g0 = a, *g1 = a + 4 * lda, *g2 = a + 8 * lda;
    const long l1 = lda, l2 = 2 * lda, l3 = 3 * lda;
    const int full = n >= 8;
    const __m256i mk = gj256_mask(n);
    __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
    __m256 c8 = c0, c9 = c0, c10 = c0, c11 = c0;
    if (full) {
        GJ_NARROW_LOOP(_mm256_loadu_ps)
    } else {
#define LOADB_MASKED(p) _mm256_maskload_ps(p, mk)
        GJ_NARROW_LOOP(LOADB_MASKED)
#undef LOADB_MASKED
    }
#define STORE8(v, r) gj256_store(v, c + (r) * ldc, full, mk, load_c, bias, act)
    STORE8(c0, 0);
    if (m > 1) STORE8(c1, 1);
    if (m > 2) STORE8(c2, 2);
    if (m > 3) STORE8(c3, 3);
    if (m > 4) STORE8(c4, 4);
    if (m > 5) STORE8(c5, 5);
    if (m > 6) STORE8(c6, 6);
    if (m > 7) STORE8(c7, 7);
    if (m > 8) STORE8(c8, 8);
    if (m > 9) STORE8(c9, 9);
    if (m > 10) STORE8(c10, 10);
    if (m > 11) STORE8(c11, 11);
#undef STORE8
}

/* ---- N == 1: dot products, 8 rows at a time, reduced with a transposing hadd tree ---------------- */

GJ_TARGET_AVX2 static inline __m256 reduce8(const __m256 *v) /* lane r = sum of the lanes of v[r] */
{
    __m256 t0 = _mm256_hadd_ps(v[0], v[1]), t1 = _mm256_hadd_ps(v[2], v[3]);
    __m256 t2 = _mm256_hadd_ps(v[4], v[5]), t3 = _mm256_hadd_ps(v[6], v[7]);
    __m256 u0 = _mm256_hadd_ps(t0, t1), u1 = _mm256_hadd_ps(t2, t3);
    return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u0, u1, 0x31));
}

GJ_TARGET_AVX2 static void dot_rows(int M, int K, const float *A, long lda, const float *b, float *c, long ldc,
                                    const float *bias, int act, int accumulate)
{
    const int kfull = K & ~7;
    const __m256i kt = gj256_mask(K - kfull);
    for (int i0 = 0; i0 < M; i0 += 8) {
        const int m = M - i0 < 8 ? M - i0 : 8;
        __m256 acc[8];
        for (int r = 0; r < 8; r++) acc[r] = _mm256_setzero_ps();
        if (m == 8) {
            const float *g0 = A + (size_t)i0 * lda, *g1 = g0 + 4 * lda;
            const long l1 = lda, l2 = 2 * lda, l3 = 3 * lda;
            int k = 0;
            for (; k < kfull; k += 8) {
                const __m256 bk = _mm256_loadu_ps(b + k);
                acc[0] = _mm256_fmadd_ps(_mm256_loadu_ps(g0 + k), bk, acc[0]);
                acc[1] = _mm256_fmadd_ps(_mm256_loadu_ps(g0 + l1 + k), bk, acc[1]);
                acc[2] = _mm256_fmadd_ps(_mm256_loadu_ps(g0 + l2 + k), bk, acc[2]);
                acc[3] = _mm256_fmadd_ps(_mm256_loadu_ps(g0 + l3 + k), bk, acc[3]);
                acc[4] = _mm256_fmadd_ps(_mm256_loadu_ps(g1 + k), bk, acc[4]);
                acc[5] = _mm256_fmadd_ps(_mm256_loadu_ps(g1 + l1 + k), bk, acc[5]);
                acc[6] = _mm256_fmadd_ps(_mm256_loadu_ps(g1 + l2 + k), bk, acc[6]);
                acc[7] = _mm256_fmadd_ps(_mm256_loadu_ps(g1 + l3 + k), bk, acc[7]);
            }
            if (k < K) {
                const __m256 bk = _mm256_maskload_ps(b + k, kt);
                for (int r = 0; r < 8; r++)
                    acc[r] = _mm256_fmadd_ps(_mm256_maskload_ps(A + (size_t)(i0 + r) * lda + k, kt), bk, acc[r]);
            }
        } else {
            for (int r = 0; r < m; r++) {
                const float *ar = A + (size_t)(i0 + r) * lda;
                int k = 0;
                for (; k < kfull; k += 8) acc[r] = _mm256_fmadd_ps(_mm256_loadu_ps(ar + k), _mm256_loadu_ps(b + k), acc[r]);
                if (k < K) acc[r] = _mm256_fmadd_ps(_mm256_maskload_ps(ar + k, kt), _mm256_maskload_ps(b + k, kt), acc[r]);
            }
        }
        __m256 v = reduce8(acc);
        float t[8];
        _mm256_storeu_ps(t, v);
        for (int r = 0; r < m; r++) {
            float x = t[r];
            if (accumulate) x += c[(size_t)(i0 + r) * ldc];
            t[r] = bias ? x + *bias : x;
        }
        v = gj256_act(_mm256_loadu_ps(t), act);
        _mm256_storeu_ps(t, v);
        for (int r = 0; r < m; r++) c[(size_t)(i0 + r) * ldc] = t[r];
    }
}

/* y = x * Bpacked, one 32-column panel at a time, K unrolled by 2 -> 8 ymm accumulator chains. */
GJ_TARGET_AVX2 static void matvec_packed(int N, int K, const float *x, const float *packed,
                                         long panel_stride, float *y, const float *bias, int act,
                                         int accumulate)
{
    for (int j0 = 0; j0 < N; j0 += GJ_PANEL) {
        const float *p = packed + (size_t)(j0 / GJ_PANEL) * panel_stride;
        __m256 s[2][4];
        for (int u = 0; u < 2; u++)
            for (int v = 0; v < 4; v++) s[u][v] = _mm256_setzero_ps();
        int k = 0;
        for (; k + 2 <= K; k += 2) {
            const float *pk = p + (size_t)k * GJ_PANEL;
            __m256 x0 = _mm256_broadcast_ss(x + k), x1 = _mm256_broadcast_ss(x + k + 1);
            for (int v = 0; v < 4; v++) {
                s[0][v] = _mm256_fmadd_ps(x0, _mm256_loadu_ps(pk + 8 * v), s[0][v]);
                s[1][v] = _mm256_fmadd_ps(x1, _mm256_loadu_ps(pk + GJ_PANEL + 8 * v), s[1][v]);
            }
        }
        if (k < K) {
            const float *pk = p + (size_t)k * GJ_PANEL;
            __m256 x0 = _mm256_broadcast_ss(x + k);
            for (int v = 0; v < 4; v++) s[0][v] = _mm256_fmadd_ps(x0, _mm256_loadu_ps(pk + 8 * v), s[0][v]);
        }
        int w = N - j0;
        for (int v = 0; v < 4 && 8 * v < w; v++) {
            __m256 t = _mm256_add_ps(s[0][v], s[1][v]);
            gj256_store(t, y + j0 + 8 * v, w >= 8 * v + 8, gj256_mask(w - 8 * v), accumulate,
                        bias ? bias + j0 + 8 * v : NULL, act);
        }
    }
}

/* y = x * B with B unpacked: chunks of 64 columns (8 ymm accumulators), masked tail chunk. */
#define GJ_MV_COLS 64
GJ_TARGET_AVX2 static void matvec(int N, int K, const float *x, const float *B, long ldb,
                                  float *y, const float *bias, int act, int accumulate)
{
    for (int j0 = 0; j0 < N; j0 += GJ_MV_COLS) {
        int w = N - j0 < GJ_MV_COLS ? N - j0 : GJ_MV_COLS;
        __m256 s[8];
        __m256i mk[8];
        for (int v = 0; v < 8; v++) {
            s[v] = _mm256_setzero_ps();
            mk[v] = gj256_mask(w - 8 * v);
        }
        const float *bj = B + j0;
        if (w == GJ_MV_COLS) {
            for (int k = 0; k < K; k++) {
                __m256 xk = _mm256_broadcast_ss(x + k);
                const float *row = bj + (size_t)k * ldb;
                for (int v = 0; v < 8; v++) s[v] = _mm256_fmadd_ps(xk, _mm256_loadu_ps(row + 8 * v), s[v]);
            }
        } else {
            for (int k = 0; k < K; k++) {
                __m256 xk = _mm256_broadcast_ss(x + k);
                const float *row = bj + (size_t)k * ldb;
                for (int v = 0; v < 8; v++)
                    s[v] = _mm256_fmadd_ps(xk, _mm256_maskload_ps(row + 8 * v, mk[v]), s[v]);
            }
        }
        for (int v = 0; v < 8 && 8 * v < w; v++)
            gj256_store(s[v], y + j0 + 8 * v, w >= 8 * v + 8, mk[v], accumulate,
                        bias ? bias + j0 + 8 * v : NULL, act);
    }
}

void gj_activate_avx2(float *x, long n, int act);
void gj_softmax_rows_avx2(float *x, long rows, int n);
void gj_lstm_cell_avx2(int rows, int units, const float *z, int ldz, float *c, int ldc, float *h,
                       int ldh, int act, int rec);
void gj_vexp_avx2(const float *x, float *y, long n);

const gj_path_ops gj_ops_avx2 = {
    .name = "avx2",
    .vector_activations = GJ_ACT_BIT(GJ_ACT_LINEAR) | GJ_ACT_BIT(GJ_ACT_RELU) | GJ_ACT_BIT(GJ_ACT_SIGMOID) |
                          GJ_ACT_BIT(GJ_ACT_TANH) | GJ_ACT_BIT(GJ_ACT_GELU_TANH) | GJ_ACT_BIT(GJ_ACT_SILU),
    .mr = MR,
    .nr = 16,
    .kernel = kernel_6x16,
    .narrow_mr = NMR,
    .narrow_nr = 8,
    .kernel_narrow = kernel_narrow,
    .dot_rows = dot_rows,
    .matvec_packed = matvec_packed,
    .matvec = matvec,
    .activate = gj_activate_avx2,
    .softmax_rows = gj_softmax_rows_avx2,
    .lstm_cell = gj_lstm_cell_avx2,
    .vexp = gj_vexp_avx2,
};
