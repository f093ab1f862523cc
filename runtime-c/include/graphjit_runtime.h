/*
 * graphjit_runtime.h - the C support library that GraphJIT's generated kernels call.
 *
 * Generated kernels (compiled by libtcc or clang at run time) never link against this library.
 * They receive a pointer to one `gj_runtime` table as their second argument and call through it:
 *
 *     void kernel_name(float *const *buffers, const gj_runtime *rt);
 *
 * This keeps the generated code hermetic (tcc needs no symbol lookup for these routines, and a
 * clang-compiled shared object needs no exported symbols from the host process). The generated
 * source declares an identical copy of this struct (see GJ_RUNTIME_STRUCT_SOURCE in the Swift code
 * generator); `abi_version` guards against the two drifting apart.
 *
 * Everything here is row-major float32. All routines are thread-safe (no global mutable state
 * except the worker pool, which serializes its own use).
 */
#ifndef GRAPHJIT_RUNTIME_H
#define GRAPHJIT_RUNTIME_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GJ_RUNTIME_ABI_VERSION 2

/* Elementwise activations that GEMM epilogues and `activate` apply. Values are part of the ABI. */
enum {
    GJ_ACT_LINEAR = 0,
    GJ_ACT_RELU = 1,
    GJ_ACT_SIGMOID = 2,
    GJ_ACT_TANH = 3,
};

typedef struct gj_runtime {
    int abi_version;

    /* --- GEMM ---------------------------------------------------------------------------------
     * C[M,N] (row stride ldc) = A[M,K] (row stride lda) x B[K,N]  (+ bias[N] if bias != NULL),
     * then `activation` applied elementwise. If `accumulate` is non-zero the product is added to
     * the existing C before bias/activation.
     * Work above a threshold is split over the worker pool (see gj_runtime_set_threads). */
    void (*sgemm)(int M, int N, int K,
                  const float *A, int lda,
                  const float *B, int ldb,
                  float *C, int ldc,
                  const float *bias, int activation, int accumulate);

    /* Pre-packed B (weights): packed_b_floats(K,N) floats, filled once by pack_b. The packed layout
     * is private to the runtime and may depend on the CPU path chosen at run time. */
    size_t (*packed_b_floats)(int K, int N);
    void (*pack_b)(int K, int N, const float *B, int ldb, float *packed);
    void (*sgemm_packed)(int M, int N, int K,
                         const float *A, int lda,
                         const float *packed_b,
                         float *C, int ldc,
                         const float *bias, int activation, int accumulate);

    /* --- Convolution helpers (NHWC) -------------------------------------------------------------
     * im2col for one image: input [H,W,C] -> columns [OH*OW, KH*KW*C] (row-major, row stride
     * KH*KW*C), zero for padded taps. pad_top/pad_left as Keras computes them for `same`. */
    void (*im2col_nhwc)(const float *input, int H, int W, int C,
                        int KH, int KW, int stride_h, int stride_w,
                        int pad_top, int pad_left, int OH, int OW,
                        float *columns);
    /* Max pooling of one image [H,W,C] -> [OH,OW,C]; padded taps are ignored (Keras `same`). */
    void (*maxpool_nhwc)(const float *input, int H, int W, int C,
                         int PH, int PW, int stride_h, int stride_w,
                         int pad_top, int pad_left, int OH, int OW,
                         float *output);

    /* --- Vector math ---------------------------------------------------------------------------- */
    void (*activate)(float *x, long n, int activation);   /* in place */
    void (*softmax_rows)(float *x, long rows, int n);      /* in place, numerically stable */

    /* LSTM cell for `rows` independent rows (Keras gate order i, f, c, o):
     * z[rows, 4u] holds the pre-activations (x W + h U + b). For each row:
     *   i = rec(z_i), f = rec(z_f), g = act(z_c), o = rec(z_o)
     *   c = f * c + i * g;   h = o * act(c)
     * c and h are [rows, u] with row strides ldc/ldh (h may point into a return-sequences output).
     * rec/act are GJ_ACT_* values (Keras defaults: rec = sigmoid, act = tanh). */
    void (*lstm_cell)(int rows, int units, const float *z, int ldz,
                      float *c, int ldc, float *h, int ldh,
                      int activation, int recurrent_activation);

    /* Scalar libm-equivalents (accurate to float rounding), for generated scalar code. */
    float (*expf)(float);
    float (*tanhf)(float);

    /* --- Parallel loops (ABI version 2) ---------------------------------------------------------
     * Runs body(context, begin, end, worker) over [0, count) in contiguous chunks of at least
     * `grain` items, on up to gj_runtime_threads() threads (the caller included), and returns when
     * every chunk is done. `worker` is unique among the chunks of one call and lies in
     * [0, max_workers()), so a kernel can give each chunk its own scratch slot. Runs inline (one
     * chunk per worker index, in order) when the work is too small, when called from inside
     * another parallel region, or when the worker pool is busy with another caller. Runtime calls
     * made from inside a body (e.g. sgemm) run on the calling thread. */
    void (*parallel_for)(long count, long grain,
                         void (*body)(void *context, long begin, long end, int worker),
                         void *context);
    /* The bound on `worker` + 1: the number of online CPUs at start-up (at most 64). */
    int (*max_workers)(void);
} gj_runtime;

/* The process-wide runtime table (static storage; never freed). */
const gj_runtime *gj_runtime_get(void);

/* Worker threads used by large GEMMs (1 = caller thread only). Default: number of online CPUs.
 * Workers sleep on a condition variable between jobs; there is no spin-waiting. */
void gj_runtime_set_threads(int threads);
int gj_runtime_threads(void);

/* Name of the GEMM path chosen at start-up for this CPU: "avx512", "avx2" or "portable". */
const char *gj_runtime_cpu_path(void);

/* Force a path for testing ("avx512", "avx2", "portable"); returns 0 if unsupported on this CPU.
 * Packed buffers must be re-packed after switching. */
int gj_runtime_force_path(const char *name);

/* --- Calibration (for benchmarks) ---------------------------------------------------------------- */
/* Peak FP32 FMA throughput of one core in GFLOP/s, measured by an unrolled FMA loop (~50 ms). */
double gj_measure_peak_gflops(void);
/* Read bandwidth in GB/s streaming `bytes` bytes with `threads` threads (1 or 2). */
double gj_measure_read_bandwidth(size_t bytes, int threads);

#ifdef __cplusplus
}
#endif

#endif /* GRAPHJIT_RUNTIME_H */
