/*
 * gemm_avx512.c - AVX-512 GEMM micro-kernel (8 rows x 32 columns) and M == 1 (matvec) paths.
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
#include <immintrin.h>

#include "gj_internal.h"
#include "vmath_avx512.h"

#define MR 8

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

GJ_TARGET_AVX512 static void kernel_8x32(int kc, const float *a, long lda, const float *b,
                                         float *c, long ldc, int m, int n,
                                         int load_c, const float *bias, int act)
{
    const float *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda;
    const float *a4 = a + 4 * lda, *a5 = a + 5 * lda, *a6 = a + 6 * lda, *a7 = a + 7 * lda;
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m512 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    __m512 c60 = c00, c61 = c00, c70 = c00, c71 = c00;

    for (int k = 0; k < kc; k++) {
        const float *bk = b + (size_t)k * GJ_PANEL;
        __m512 b0 = _mm512_loadu_ps(bk), b1 = _mm512_loadu_ps(bk + 16);
        GJ_FMA_ROW(0); GJ_FMA_ROW(1); GJ_FMA_ROW(2); GJ_FMA_ROW(3);
        GJ_FMA_ROW(4); GJ_FMA_ROW(5); GJ_FMA_ROW(6); GJ_FMA_ROW(7);
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

/* y = x * Bpacked. One panel (32 columns) at a time; the K loop is unrolled by 4 with separate
 * accumulators so 8 FMA chains are in flight, and the panel is streamed contiguously. */
GJ_TARGET_AVX512 static void matvec_packed(int N, int K, const float *x, const float *packed,
                                           long panel_stride, float *y, const float *bias, int act,
                                           int accumulate)
{
    for (int j0 = 0; j0 < N; j0 += GJ_PANEL) {
        const float *p = packed + (size_t)(j0 / GJ_PANEL) * panel_stride;
        __m512 s00 = _mm512_setzero_ps(), s01 = s00, s10 = s00, s11 = s00;
        __m512 s20 = s00, s21 = s00, s30 = s00, s31 = s00;
        int k = 0;
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
        int w = N - j0;
        const float *bj = bias ? bias + j0 : NULL;
        gj512_store(v0, y + j0, gj512_mask(w), accumulate, bj, act);
        gj512_store(v1, y + j0 + 16, gj512_mask(w - 16), accumulate, bj ? bj + 16 : NULL, act);
    }
}

/* y = x * B with B unpacked (row stride ldb): chunks of 256 columns (16 zmm accumulators), each
 * streaming the chunk's slice of every B row, so B up to 256 columns wide is read strictly
 * sequentially. The last chunk uses masked loads/stores. */
#define GJ_MV_COLS 256
#define GJ_MV_VECS (GJ_MV_COLS / 16)
GJ_TARGET_AVX512 static void matvec(int N, int K, const float *x, const float *B, long ldb,
                                    float *y, const float *bias, int act, int accumulate)
{
    for (int j0 = 0; j0 < N; j0 += GJ_MV_COLS) {
        int w = N - j0 < GJ_MV_COLS ? N - j0 : GJ_MV_COLS;
        __m512 s[GJ_MV_VECS];
        for (int v = 0; v < GJ_MV_VECS; v++) s[v] = _mm512_setzero_ps();
        const float *bj = B + j0;
        if (w == GJ_MV_COLS) {
            for (int k = 0; k < K; k++) {
                __m512 xk = _mm512_set1_ps(x[k]);
                const float *row = bj + (size_t)k * ldb;
                for (int v = 0; v < GJ_MV_VECS; v++) s[v] = _mm512_fmadd_ps(xk, _mm512_loadu_ps(row + 16 * v), s[v]);
            }
        } else if (w <= 128) { /* 8 accumulators are enough */
            __mmask16 mk[8];
            for (int v = 0; v < 8; v++) mk[v] = gj512_mask(w - 16 * v);
            for (int k = 0; k < K; k++) {
                __m512 xk = _mm512_set1_ps(x[k]);
                const float *row = bj + (size_t)k * ldb;
                for (int v = 0; v < 8; v++)
                    s[v] = _mm512_fmadd_ps(xk, _mm512_maskz_loadu_ps(mk[v], row + 16 * v), s[v]);
            }
        } else {
            /* 129..255 columns: the first 128 unmasked, the rest masked */
            __mmask16 mk[8];
            for (int v = 0; v < 8; v++) mk[v] = gj512_mask(w - 128 - 16 * v);
            for (int k = 0; k < K; k++) {
                __m512 xk = _mm512_set1_ps(x[k]);
                const float *row = bj + (size_t)k * ldb;
                for (int v = 0; v < 8; v++) s[v] = _mm512_fmadd_ps(xk, _mm512_loadu_ps(row + 16 * v), s[v]);
                for (int v = 0; v < 8; v++)
                    s[8 + v] = _mm512_fmadd_ps(xk, _mm512_maskz_loadu_ps(mk[v], row + 128 + 16 * v), s[8 + v]);
            }
        }
        for (int v = 0; v < GJ_MV_VECS && 16 * v < w; v++)
            gj512_store(s[v], y + j0 + 16 * v, gj512_mask(w - 16 * v), accumulate,
                        bias ? bias + j0 + 16 * v : NULL, act);
    }
}

/* Vector math entry points of this path live in vmath_avx512.c / lstm_cell.c. */
void gj_activate_avx512(float *x, long n, int act);
void gj_softmax_rows_avx512(float *x, long rows, int n);
void gj_lstm_cell_avx512(int rows, int units, const float *z, int ldz, float *c, int ldc, float *h,
                         int ldh, int act, int rec);
void gj_vexp_avx512(const float *x, float *y, long n);

const gj_path_ops gj_ops_avx512 = {
    .name = "avx512",
    .mr = MR,
    .nr = 32,
    .kernel = kernel_8x32,
    .matvec_packed = matvec_packed,
    .matvec = matvec,
    .activate = gj_activate_avx512,
    .softmax_rows = gj_softmax_rows_avx512,
    .lstm_cell = gj_lstm_cell_avx512,
    .vexp = gj_vexp_avx512,
};
