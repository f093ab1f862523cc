/*
 * graphjit_runtime.h - the C support library that GraphJIT's generated kernels call.
 *
 * Generated kernels (compiled by libtcc or clang at run time) never link against this library.
 * They receive a pointer to one `gj_runtime` table as their second argument and call through it:
 *
 *     void kernel_name(float *const *buffers, const gj_runtime *rt);
 *
 * This keeps the generated code hermetic (tcc needs no symbol lookup for these routines, and a
 * clang-compiled shared object needs no exported symbols from the host process). The table and
 * the activation values are defined once, in gj_abi.h; the generated source starts with the text
 * `gj_runtime_prelude()` returns, expanded from the same definition.
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

#include "gj_abi.h"

/* Elementwise activations that GEMM epilogues, `activate` and `lstm_cell` apply (gj_abi.h). */
enum {
#define GJ_ABI_ENUM_ENTRY(name, value) GJ_ACT_##name = value,
    GJ_ABI_ACTIVATIONS(GJ_ABI_ENUM_ENTRY)
#undef GJ_ABI_ENUM_ENTRY
    GJ_ACT_COUNT
};

/* Losses that `loss_value` and `loss_grad` compute (gj_abi.h). */
enum {
#define GJ_ABI_LOSS_ENTRY(name, value) GJ_LOSS_##name = value,
    GJ_ABI_LOSSES(GJ_ABI_LOSS_ENTRY)
#undef GJ_ABI_LOSS_ENTRY
    GJ_LOSS_COUNT
};

/*
 * The routines generated kernels call, in the order of GJ_ABI_FUNCTIONS (gj_abi.h), where each
 * entry carries a one-line contract. In more detail:
 *
 * GEMM: C[M,N] (row stride ldc) = A[M,K] (row stride lda) x B[K,N] (+ bias[N] if bias != NULL),
 * then `activation` elementwise; with `accumulate` the product is added to the existing C before
 * bias and activation. Work above a threshold is split over the worker pool. `sgemm_t` takes
 * BLAS-style transpose flags: op(A)[i][k] = A[k*lda + i] when trans_a (A stored [K,M]), and
 * op(B)[k][j] = B[j*ldb + k] when trans_b (B stored [N,K]). Pre-packed B (weights) is
 * packed_b_floats(K,N) floats filled once by pack_b; the packed layout is the same on every
 * CPU path.
 *
 * Convolution helpers (NHWC): pad_top/pad_left as Keras computes them for `same`.
 *
 * LSTM cell for `rows` independent rows (Keras gate order i, f, c, o): z[rows, 4u] holds the
 * pre-activations (x W + h U + b); c and h are [rows, u] with row strides ldc/ldh (h may point
 * into a return-sequences output).
 *
 * parallel_for runs body(context, begin, end, worker) over [0, count) in contiguous chunks of at
 * least `grain` items, on up to gj_runtime_threads() threads (the caller included). `worker` is
 * unique among the chunks of one call and lies in [0, max_workers()), so a kernel can give each
 * chunk its own scratch slot. It runs inline when the work is too small, when called from inside
 * another parallel region, or when the pool is busy with another caller.
 */
typedef struct gj_runtime {
    int abi_version;
#define GJ_ABI_STRUCT_ENTRY(result, name, parameters, doc) result(*name) parameters;
    GJ_ABI_FUNCTIONS(GJ_ABI_STRUCT_ENTRY)
#undef GJ_ABI_STRUCT_ENTRY
} gj_runtime;

/* The C text every generated module starts with: the same table and enum as above, expanded from
 * gj_abi.h by the preprocessor (abi_prelude.c), plus the kernel conventions. Static storage. */
const char *gj_runtime_prelude(void);

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

/* --- Routing to an optimized copy (debug builds) -----------------------------------------------------
 * A debug build compiles this library at -O0, where GEMM and vector math run 40-100x slower. The
 * host (GraphJIT's Swift side, OptimizedRuntime) can then compile the same sources optimized into a
 * shared object, load it, and install that copy here: from then on every host entry point above
 * (so also the table gj_runtime_get returns) is served by the installed copy. gj_runtime_prelude
 * stays local (it is text). Inside the installed copy nothing is installed, so it serves itself.
 *
 * The host entry points, in struct order: X(return type, name, (parameters), doc). Each is the
 * routed public function gj_<name>; this copy's implementation of it is gj_own_<name>. */
#define GJ_HOST_FUNCTIONS(X)                                                                       \
    X(const gj_runtime *, runtime_get, (void), "the kernel-facing function table")                 \
    X(void, runtime_set_threads, (int threads), "worker threads for large GEMMs")                  \
    X(int, runtime_threads, (void), "the current thread setting")                                  \
    X(const char *, runtime_cpu_path, (void), "the current GEMM path's name")                      \
    X(int, runtime_force_path, (const char *name), "forces a GEMM path; 0 if unsupported")         \
    X(int, runtime_is_optimized, (void), "whether the copy was compiled optimized")                \
    X(double, measure_peak_gflops, (void), "one core's FMA peak")                                  \
    X(double, measure_read_bandwidth, (size_t bytes, int threads), "streaming read bandwidth")

/* One copy's host entry points: its own implementations, never routed. `abi_version` and `size`
 * let the installer reject a copy built from other sources. */
typedef struct gj_runtime_entry_points {
    int abi_version; /* GJ_RUNTIME_ABI_VERSION of the copy */
    int size;        /* sizeof(gj_runtime_entry_points) in the copy */
#define GJ_HOST_STRUCT_ENTRY(result, name, parameters, doc) result(*name) parameters;
    GJ_HOST_FUNCTIONS(GJ_HOST_STRUCT_ENTRY)
#undef GJ_HOST_STRUCT_ENTRY
} gj_runtime_entry_points;

/* Whether the copy serving calls (the installed one, else this one) was compiled with optimization
 * (__OPTIMIZE__: -O1 and above). */
int gj_runtime_is_optimized(void);

/* This copy's own entry points (static storage; not routed, so `runtime_get` is always this copy's
 * table and `runtime_is_optimized` this copy's answer). The one symbol the optimized shared object
 * (built with -fvisibility=hidden) exports: the host resolves it with dlsym, checks it, and passes
 * it to gj_runtime_install. */
__attribute__((visibility("default"))) const gj_runtime_entry_points *gj_runtime_own_entry_points(void);

/* Results of gj_runtime_install. */
enum {
    GJ_INSTALL_DONE = 0,     /* installed: calls are routed to `copy` from now on */
    GJ_INSTALL_INVALID = 1,  /* NULL, or another ABI version or struct layout */
    GJ_INSTALL_SELF = 2,     /* `copy` is this copy's own entry points (would recurse) */
    GJ_INSTALL_ALREADY = 3,  /* another copy is installed already; it stays */
};

/* Routes every entry point above to `copy` (which must stay loaded for the rest of the process).
 * Happens at most once per process (an atomic compare-and-swap); the thread and path settings of
 * this copy are handed to `copy` first. Install before any kernel runs: a table obtained earlier
 * keeps working, but on this copy's code and worker pool. */
int gj_runtime_install(const gj_runtime_entry_points *copy);

/* The installed copy's entry points, or NULL while calls run on this copy. */
const gj_runtime_entry_points *gj_runtime_installed(void);

#ifdef __cplusplus
}
#endif

#endif /* GRAPHJIT_RUNTIME_H */
