/*
 * gemm_portable.c - plain C GEMM micro-kernel (4 rows x 16 columns) and matvec paths.
 *
 * Used on CPUs without AVX2+FMA and as the reference-structured fallback. Written so that the
 * compiler's baseline (SSE2) auto-vectorizer can turn the 16-wide inner loops into 4 xmm
 * operations per row; the accumulator tile (16 xmm) is the whole SSE register file, which is as
 * far as a portable tile sensibly goes.
 */
#include "gj_internal.h"

#define MR 4
#define NR 16

static void kernel_4x16(int kc, const float *a, long lda, const float *b, float *c, long ldc,
                        int m, int n, int load_c, const float *bias, int act)
{
    float acc[MR][NR];
    for (int r = 0; r < MR; r++)
        for (int j = 0; j < NR; j++) acc[r][j] = 0.0f;

    for (int k = 0; k < kc; k++) {
        const float *bk = b + (size_t)k * GJ_PANEL;
        for (int r = 0; r < MR; r++) {
            float ar = a[r * lda + k];
            for (int j = 0; j < NR; j++) acc[r][j] += ar * bk[j];
        }
    }

    for (int r = 0; r < m; r++) {
        float *cr = c + r * ldc;
        for (int j = 0; j < n; j++) {
            float v = acc[r][j];
            if (load_c) v += cr[j];
            if (bias) v += bias[j];
            cr[j] = gj_act_scalar(v, act);
        }
    }
}

/* N == 1: plain dot products, 8 partial sums per row (vectorizable, summed in a fixed order). */
static void dot_rows(int M, int K, const float *A, long lda, const float *b, float *c, long ldc,
                     const float *bias, int act, int accumulate)
{
    for (int i = 0; i < M; i++) {
        const float *a = A + (size_t)i * lda;
        float s[8] = { 0 };
        int k = 0;
        for (; k + 8 <= K; k += 8)
            for (int u = 0; u < 8; u++) s[u] += a[k + u] * b[k + u];
        float t = 0.0f;
        for (; k < K; k++) t += a[k] * b[k];
        float v = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])) + t;
        if (accumulate) v += c[(size_t)i * ldc];
        if (bias) v += *bias;
        c[(size_t)i * ldc] = gj_act_scalar(v, act);
    }
}

static void store_row(const float *v, float *y, int n, const float *bias, int act, int accumulate)
{
    for (int j = 0; j < n; j++) {
        float t = v[j];
        if (accumulate) t += y[j];
        if (bias) t += bias[j];
        y[j] = gj_act_scalar(t, act);
    }
}

static void matvec_packed(int N, int K, const float *x, const float *packed, long panel_stride,
                          float *y, const float *bias, int act, int accumulate)
{
    for (int j0 = 0; j0 < N; j0 += GJ_PANEL) {
        const float *p = packed + (size_t)(j0 / GJ_PANEL) * panel_stride;
        float s[GJ_PANEL] = {0};
        for (int k = 0; k < K; k++) {
            float xk = x[k];
            const float *pk = p + (size_t)k * GJ_PANEL;
            for (int j = 0; j < GJ_PANEL; j++) s[j] += xk * pk[j];
        }
        int w = N - j0 < GJ_PANEL ? N - j0 : GJ_PANEL;
        store_row(s, y + j0, w, bias ? bias + j0 : NULL, act, accumulate);
    }
}

#define MV_COLS 64
static void matvec(int N, int K, const float *x, const float *B, long ldb, float *y,
                   const float *bias, int act, int accumulate)
{
    for (int j0 = 0; j0 < N; j0 += MV_COLS) {
        int w = N - j0 < MV_COLS ? N - j0 : MV_COLS;
        float s[MV_COLS] = {0};
        const float *bj = B + j0;
        if (w == MV_COLS) {
            for (int k = 0; k < K; k++) {
                float xk = x[k];
                const float *row = bj + (size_t)k * ldb;
                for (int j = 0; j < MV_COLS; j++) s[j] += xk * row[j];
            }
        } else {
            for (int k = 0; k < K; k++) {
                float xk = x[k];
                const float *row = bj + (size_t)k * ldb;
                for (int j = 0; j < w; j++) s[j] += xk * row[j];
            }
        }
        store_row(s, y + j0, w, bias ? bias + j0 : NULL, act, accumulate);
    }
}

void gj_activate_portable(float *x, long n, int act);
void gj_softmax_rows_portable(float *x, long rows, int n);
void gj_lstm_cell_portable(int rows, int units, const float *z, int ldz, float *c, int ldc, float *h,
                           int ldh, int act, int rec);
void gj_vexp_portable(const float *x, float *y, long n);

const gj_path_ops gj_ops_portable = {
    .name = "portable",
    .vector_activations = ~0u, /* scalar code: every activation through gj_act_scalar */
    .mr = MR,
    .nr = NR,
    .kernel = kernel_4x16,
    .narrow_mr = 0,
    .narrow_nr = 0, /* the 4x16 tile is already narrow */
    .kernel_narrow = NULL,
    .dot_rows = dot_rows,
    .matvec_packed = matvec_packed,
    .matvec = matvec,
    .activate = gj_activate_portable,
    .softmax_rows = gj_softmax_rows_portable,
    .lstm_cell = gj_lstm_cell_portable,
    .vexp = gj_vexp_portable,
};
