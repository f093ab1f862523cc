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

#define GJ_RUNTIME_ABI_VERSION 6

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

/* Losses per row, as Keras 3's TensorFlow backend computes them: X(NAME, value). `loss_value` and
 * `loss_grad` take these values; the Swift table is LossFunction (GraphJITIR). */
#define GJ_ABI_LOSSES(X)                              \
    X(CATEGORICAL_CROSSENTROPY_FROM_LOGITS, 0)        \
    X(CATEGORICAL_CROSSENTROPY, 1)                    \
    X(SPARSE_CATEGORICAL_CROSSENTROPY_FROM_LOGITS, 2) \
    X(SPARSE_CATEGORICAL_CROSSENTROPY, 3)             \
    X(MEAN_SQUARED_ERROR, 4)

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
      "the bound on `worker` + 1 in parallel_for bodies")                                          \
    X(void, sum_rows, (long rows, long n, const float *x, float *out),                             \
      "out[n] = the sum of the rows of x[rows,n] (a bias gradient)")                               \
    X(void, activation_grad, (float *dy, const float *operand, long n, int activation),            \
      "dy *= f'(operand), operand being f's output (linear, relu, sigmoid, tanh) or input (others)") \
    X(void, softmax_grad, (const float *y, const float *dy, float *dx, long outer, long extent,     \
                           long inner),                                                            \
      "dx = y * (dy - sum(y * dy)) over the middle axis of [outer, extent, inner]")                \
    X(void, maxpool_grad_nhwc, (const float *dy, const float *x, long batch, int H, int W, int C,  \
                                int PH, int PW, int stride_h, int stride_w, int pad_top,           \
                                int pad_left, int OH, int OW, float *dx),                          \
      "max pooling's backward pass: dy to each window's first maximal tap of x")                   \
    X(void, conv2d_filter_grad_nhwc, (const float *x, const float *dy, long batch, int H, int W,   \
                                      int C, int KH, int KW, int stride_h, int stride_w,           \
                                      int pad_top, int pad_left, int OH, int OW, int F, float *dk, \
                                      float *columns),                                             \
      "dK[KH,KW,C,F] = sum over images of im2col(x)^T dy; columns: OH*OW*KH*KW*C floats")          \
    X(void, conv2d_input_grad_nhwc, (const float *dy, const float *kernel, long batch, int H,      \
                                     int W, int C, int KH, int KW, int stride_h, int stride_w,     \
                                     int pad_top, int pad_left, int OH, int OW, int F, float *dx,  \
                                     float *columns),                                              \
      "dx = col2im(dy K^T); columns: OH*OW*KH*KW*C floats")                                        \
    X(void, slice_rows, (long outer, const float *x, long row, long offset, long count,            \
                         float *out),                                                              \
      "out[o, 0..count) = x[o, offset..offset+count) for rows of `row` floats")                    \
    X(void, weighted_sum_grad, (long outer, long steps, long middle, long depth, const float *w,   \
                                const float *v, const float *dctx, float *dw, float *dv),          \
      "the weighted sum's backward pass: dw = sum_d dctx v, dv = w dctx")                          \
    X(void, lstm_backward, (long batch, long steps, long units, const float *z,                    \
                            const float *recurrent, const float *dh, int return_sequences,         \
                            int activation, int recurrent_activation, float *dz,                   \
                            float *drecurrent, float *scratch),                                    \
      "LSTM backpropagation through time (forward recomputed): dz[B,T,4u], dU[u,4u]")              \
    X(void, loss_value, (int loss, long rows, long classes, const float *prediction,               \
                         const float *target, float *loss_out),                                    \
      "loss_out[0] = the mean over rows of a GJ_LOSS_* loss")                                      \
    X(void, loss_grad, (int loss, long rows, long classes, const float *prediction,                \
                        const float *target, const float *seed, float *grad),                      \
      "grad = seed[0] * d(mean loss)/d(prediction)")                                               \
    X(void, fill, (float *x, long n, float value),                                                 \
      "x[0..n) = value")                                                                           \
    X(int, all_finite, (long n, const float *x),                                                   \
      "1 if no element of x is NaN or infinite, else 0")                                           \
    X(void, adam_update, (long n, const float *iterations, const float *theta, const float *grad,  \
                          const float *m, const float *v, float *theta_out, float *m_out,          \
                          float *v_out, float lr, float beta1, float beta2, float epsilon,         \
                          float one_minus_beta1, float one_minus_beta2),                           \
      "one Keras 3 Adam step; 1-beta as Keras rounds it (outputs may alias inputs)")               \
    X(void, sgd_update, (long n, const float *theta, const float *grad, const float *velocity,     \
                         float *theta_out, float *velocity_out, float lr, float momentum,          \
                         int nesterov),                                                            \
      "one Keras 3 SGD step; velocity NULL without momentum (outputs may alias inputs)")           \
    X(void, rmsprop_update, (long n, const float *theta, const float *grad, const float *velocity, \
                             const float *momentum, const float *average, float *theta_out,        \
                             float *velocity_out, float *momentum_out, float *average_out,         \
                             float lr, float rho, float momentum_rate, float epsilon,              \
                             float one_minus_rho),                                                 \
      "one Keras 3 RMSprop step; momentum/average NULL when unused (outputs may alias inputs)")     \
    X(void, increment, (const float *x, float *out),                                               \
      "out[0] = x[0] + 1 (the optimizer's iterations)")                                            \
    X(size_t, int8_kernel_floats, (int K, int N),                                                  \
      "floats an int8 kernel of K x N takes (pack_int8_kernel's layout)")                          \
    X(void, pack_int8_kernel, (int K, int N, const float *kernel, void *packed),                   \
      "kernel[K,N] of integers in [-127,127] -> int8 blocks of 16 columns x 4 rows, column sums")  \
    X(void, dense_int8, (int M, int N, int K, const float *A, const void *packed_kernel,           \
                         const float *kernel_scale, float *C, void *scratch, long scratch_floats), \
      "Keras 3 int8 Dense: rows of A quantized by 127/(max|a|+1e-7), int32 dot products, C = acc/(s_w*s_x); " \
      "rows are quantized in passes of scratch_floats / (ceil(K/4) + 1) rows (at least one)")                           \
    X(size_t, bf16_kernel_floats, (int K, int N),                                                  \
      "floats a bf16 kernel of K x N takes (pack_bf16_kernel's layout)")                           \
    X(void, pack_bf16_kernel, (int K, int N, const float *kernel, void *packed),                   \
      "kernel[K,N] -> bf16 (round to nearest even) in blocks of 16 columns x 2 rows")              \
    X(void, dense_bf16, (int M, int N, int K, const float *A, const void *packed_kernel, float *C), \
      "C = A x the bf16 kernel widened to float32: float32 FMAs in one fixed order on every path")   \
    X(void, im2col_batch_nhwc, (long batch, const float *input, int H, int W, int C, int KH, int KW, \
                                int stride_h, int stride_w, int pad_top, int pad_left, int OH,      \
                                int OW, float *columns),                                            \
      "im2col_nhwc of every image: columns [batch*OH*OW, KH*KW*C] (a quantized convolution's rows)")

#endif /* GJ_ABI_H */
