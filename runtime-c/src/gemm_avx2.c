/*
 * gemm_avx2.c - AVX2+FMA GEMM micro-kernel (6 rows x 16 columns) and M == 1 (matvec) paths.
 *
 * Register tile: 6 rows x 16 columns = 12 ymm accumulators, 2 ymm for the B row, 1 for the
 * broadcast A value: 15 of the 16 ymm registers. Per k step: 12 FMAs for 2 vector loads and 6
 * broadcasts. The kernel reads half of a 32-wide packed panel (row stride GJ_PANEL), so the packed
 * layout is shared with the AVX-512 path.
 */
#include <immintrin.h>

#include "gj_internal.h"
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
    .mr = MR,
    .nr = 16,
    .kernel = kernel_6x16,
    .matvec_packed = matvec_packed,
    .matvec = matvec,
    .activate = gj_activate_avx2,
    .softmax_rows = gj_softmax_rows_avx2,
    .lstm_cell = gj_lstm_cell_avx2,
    .vexp = gj_vexp_avx2,
};
