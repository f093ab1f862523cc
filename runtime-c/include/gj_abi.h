/*
 * gj_abi.h - the one definition of the runtime ABI that generated kernels see.
 *
 * Everything a kernel can call or name is listed here once, as X-macro tables:
 *   - graphjit_runtime.h expands them into the public `gj_runtime` struct and the GJ_ACT_* enum;
 *   - abi_prelude.c expands the same tables into the C text that every generated module starts
 *     with (`gj_runtime_prelude()`), because kernels are compiled hermetically, without headers.
 * So the header and the prelude cannot drift apart: there is nothing to keep in sync by hand.
 * Changing a signature, reordering fields or renumbering an activation changes the ABI: bump
 * GJ_RUNTIME_ABI_VERSION (the Swift test RuntimeABITests pins every entry and value).
 */
#ifndef GJ_ABI_H
#define GJ_ABI_H

#define GJ_RUNTIME_ABI_VERSION 3

/* Elementwise activations: X(NAME, value). GEMM epilogues, `activate` and `lstm_cell` take these
 * values. Every path computes every activation: a path without a vector routine for one falls
 * back to the scalar definition in vmath_portable.c (see gj_path_ops.vector_activations). */
#define GJ_ABI_ACTIVATIONS(X) \
    X(LINEAR, 0)              \
    X(RELU, 1)                \
    X(SIGMOID, 2)             \
    X(TANH, 3)                \
    X(GELU, 4)                \
    X(GELU_TANH, 5)           \
    X(SILU, 6)

/* The table of runtime routines, in struct order: X(return type, name, (parameters), doc). */
#define GJ_ABI_FUNCTIONS(X)                                                                        \
    X(void, sgemm, (int M, int N, int K, const float *A, int lda, const float *B, int ldb,         \
                    float *C, int ldc, const float *bias, int activation, int accumulate),         \
      "C[M,N] (+)= A[M,K] x B[K,N] (+ bias[N]), then the activation")                              \
    X(size_t, packed_b_floats, (int K, int N),                                                     \
      "floats a packed copy of B[K,N] takes")                                                      \
    X(void, pack_b, (int K, int N, const float *B, int ldb, float *packed),                        \
      "packs B[K,N] for sgemm_packed (layout private to the runtime)")                             \
    X(void, sgemm_packed, (int M, int N, int K, const float *A, int lda, const float *packed_b,    \
                           float *C, int ldc, const float *bias, int activation, int accumulate),  \
      "sgemm with a pre-packed B")                                                                 \
    X(void, sgemm_t, (int trans_a, int trans_b, int M, int N, int K, const float *A, int lda,      \
                      const float *B, int ldb, float *C, int ldc, const float *bias,               \
                      int activation, int accumulate),                                             \
      "sgemm with op(A) = A or A^T (stored [K,M]) and op(B) = B or B^T (stored [N,K])")            \
    X(void, im2col_nhwc, (const float *input, int H, int W, int C, int KH, int KW,                 \
                          int stride_h, int stride_w, int pad_top, int pad_left, int OH, int OW,   \
                          float *columns),                                                         \
      "one image [H,W,C] -> columns [OH*OW, KH*KW*C], zero for padded taps")                       \
    X(void, maxpool_nhwc, (const float *input, int H, int W, int C, int PH, int PW,                \
                           int stride_h, int stride_w, int pad_top, int pad_left, int OH, int OW,  \
                           float *output),                                                         \
      "max pooling of one image [H,W,C] -> [OH,OW,C]; padded taps ignored")                        \
    X(void, activate, (float *x, long n, int activation),                                          \
      "an elementwise activation in place")                                                        \
    X(void, softmax_rows, (float *x, long rows, int n),                                            \
      "max-subtracted softmax of each row, in place")                                              \
    X(void, lstm_cell, (int rows, int units, const float *z, int ldz, float *c, int ldc,           \
                        float *h, int ldh, int activation, int recurrent_activation),              \
      "LSTM gates (i, f, c, o) from pre-activations z: c = f*c + i*g; h = o*act(c)")               \
    X(float, expf, (float x),                                                                      \
      "libm expf, for generated scalar code")                                                      \
    X(void, parallel_for, (long count, long grain,                                                 \
                           void (*body)(void *context, long begin, long end, int worker),          \
                           void *context),                                                         \
      "runs body over [0, count) in chunks of at least grain items on the worker pool")            \
    X(int, max_workers, (void),                                                                    \
      "the bound on `worker` + 1 in parallel_for bodies")

#endif /* GJ_ABI_H */
