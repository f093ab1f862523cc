/*
 * gj_internal.h - private declarations shared by the runtime's source files.
 *
 * Nothing here is part of the ABI that generated kernels see; only graphjit_runtime.h is.
 */
#ifndef GJ_INTERNAL_H
#define GJ_INTERNAL_H

#include <stddef.h>
#include "graphjit_runtime.h"

/* Floating-point contraction (a*b+c -> fma) everywhere in the runtime, as the Package.swift flag
 * -ffp-contract=fast used to ask: a package that others depend on by version may not set compiler
 * flags, so the setting lives in the source: every runtime file includes this header before anything
 * else, and in particular before <immintrin.h>, whose intrinsic wrappers are plain C arithmetic. */
#ifdef __clang__
#pragma clang fp contract(fast)
#endif

/* ---- CPU paths ---------------------------------------------------------------------------------
 * The numbering is internal. GJ_PATH_* index the per-path operation tables below. */
enum { GJ_PATH_PORTABLE = 0, GJ_PATH_AVX2 = 1, GJ_PATH_AVX512 = 2, GJ_PATH_COUNT = 3 };

/* Current path (detected lazily on first use, or set by gj_runtime_force_path). */
int gj_current_path(void);
/* Whether `path` can run on this CPU. */
int gj_path_supported(int path);

/* Function attributes for the SIMD paths. The library is compiled without -march, so every
 * function that uses AVX2/AVX-512 instructions carries one of these and is only reached through
 * run-time dispatch after __builtin_cpu_supports said yes. */
#define GJ_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define GJ_TARGET_AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")))

/* ---- Packed B layout (shared by all paths) ------------------------------------------------------
 * B[K,N] is stored as ceil(N/32) column panels of GJ_PANEL = 32 columns. Panel p holds
 * columns [32p, 32p+32) as K rows of 32 floats (k-major, row stride 32 floats), zero-padded
 * past column N. Panel p starts at packed + p*K*32.
 *
 * The layout is deliberately the same for every path (the AVX2 and portable kernels are 16
 * columns wide and simply read half a panel row with stride 32), so a buffer packed while one
 * path was active stays valid after gj_runtime_force_path switches to another. */
#define GJ_PANEL 32

size_t gj_packed_b_floats(int K, int N);
void gj_pack_b(int K, int N, const float *B, int ldb, float *packed);
/* Packs a kc x nc block of B (B points at the block's first element) into `dst` using the panel
 * layout with panel stride kc*32, i.e. a packed KC x NC block. */
void gj_pack_b_block(int kc, int nc, const float *B, int ldb, float *dst);

/* ---- Micro-kernels ------------------------------------------------------------------------------
 * One register tile: C[m x n] (m <= MR, n <= NR) = A[m x kc] * Bpanel[kc x NR] with epilogue.
 *   a, lda   : first A row of the tile, already offset to the current K block. All MR rows must be
 *              readable: the macro-kernel passes a zero-padded copy when m < MR.
 *   b        : B panel, kc rows of row stride GJ_PANEL floats, already offset to the kernel's
 *              first column inside the 32-column panel. Columns past n are zero (or never stored).
 *   c, ldc   : output tile.
 *   load_c   : add the existing C (accumulate, or a K block after the first one).
 *   bias     : NULL or bias for the tile's first column (only passed with the last K block).
 *   act      : GJ_ACT_* (only non-linear with the last K block).
 */
typedef void (*gj_kernel_fn)(int kc, const float *a, long lda, const float *b,
                             float *c, long ldc, int m, int n,
                             int load_c, const float *bias, int act);

/* Narrow-N micro-kernel (N <= narrow_nr, where the 32-column panel would waste most lanes):
 * C[m x n] = A[m x kc] * B[kc x n] with the epilogue of gj_kernel_fn. B rows are `ldb` floats apart:
 * a packed panel (ldb = GJ_PANEL) or the unpacked B itself; only the first n floats of a B row are
 * read. All narrow_mr rows of A must be readable (the driver passes a zero-padded copy when
 * m < narrow_mr). */
typedef void (*gj_kernel_narrow_fn)(int kc, const float *a, long lda, const float *b, long ldb,
                                    float *c, long ldc, int m, int n,
                                    int load_c, const float *bias, int act);

/* N == 1: c[i*ldc] = A[i, 0:K] . b for i < M, with b contiguous (K floats), then the epilogue
 * (accumulate adds the old c, bias points at the single bias value or is NULL, then act). */
typedef void (*gj_dot_rows_fn)(int M, int K, const float *A, long lda, const float *b, float *c, long ldc,
                               const float *bias, int act, int accumulate);

/* M == 1 paths (matrix-vector). y[N] = x[K] * B (+bias, act, accumulate like sgemm). */
typedef void (*gj_matvec_packed_fn)(int N, int K, const float *x, const float *packed, long panel_stride,
                                    float *y, const float *bias, int act, int accumulate);
typedef void (*gj_matvec_fn)(int N, int K, const float *x, const float *B, long ldb,
                             float *y, const float *bias, int act, int accumulate);

/* Bit of an activation in gj_path_ops.vector_activations. */
#define GJ_ACT_BIT(act) (1u << (unsigned)(act))

typedef struct gj_path_ops {
    const char *name;
    /* Activations (GJ_ACT_BIT set) that this path's kernels, epilogues and vector routines compute
     * themselves. Any other activation is applied by the entry points with the scalar definition
     * (gj_act_scalar) after a linear GEMM, so a new activation needs one scalar line to work on
     * every path and a vector routine only where it is hot. */
    unsigned vector_activations;
    int mr, nr;                          /* register tile of `kernel`; nr divides GJ_PANEL */
    gj_kernel_fn kernel;
    int narrow_mr, narrow_nr;            /* tile of kernel_narrow; narrow_nr = 0: no narrow kernel */
    gj_kernel_narrow_fn kernel_narrow;
    gj_dot_rows_fn dot_rows;
    gj_matvec_packed_fn matvec_packed;
    gj_matvec_fn matvec;
    /* vector math */
    void (*activate)(float *x, long n, int act);
    void (*softmax_rows)(float *x, long rows, int n);
    void (*lstm_cell)(int rows, int units, const float *z, int ldz, float *c, int ldc,
                      float *h, int ldh, int act, int rec);
    /* raw approximations, exposed for the accuracy tests (n elements, out-of-place allowed) */
    void (*vexp)(const float *x, float *y, long n);
} gj_path_ops;

extern const gj_path_ops gj_ops_portable;
extern const gj_path_ops gj_ops_avx2;
extern const gj_path_ops gj_ops_avx512;
const gj_path_ops *gj_ops(void);            /* ops of the current path */
const gj_path_ops *gj_ops_for(int path);

/* ---- Entry points (the table in runtime_table.c points at these) -------------------------------- */
/* Every routine of the ABI table is gj_<name>, declared from the table itself. */
#define GJ_ENTRY_DECLARATION(result, name, parameters, doc) result gj_##name parameters;
GJ_ABI_FUNCTIONS(GJ_ENTRY_DECLARATION)
#undef GJ_ENTRY_DECLARATION

/* ---- Scalar helpers (portable path, edge handling) ---------------------------------------------- */
/* The definition of every GJ_ACT_* activation (vmath_portable.c); vector routines must agree. */
float gj_act_scalar(float x, int act);
/* Whether the current path computes `act` itself (see gj_path_ops.vector_activations). */
int gj_act_vectorized(const gj_path_ops *ops, int act);
/* act applied to rows [0, M) x columns [0, N) of C (row stride ldc), in place, with the path's
 * vector routine where it has one and the scalar definition otherwise. */
void gj_activate_rows(float *C, int M, int N, long ldc, int act);
void gj_activate_portable(float *x, long n, int act);
void gj_lstm_cell_portable(int rows, int units, const float *z, int ldz, float *c, int ldc,
                           float *h, int ldh, int act, int rec);

/* ---- Thread pool ---------------------------------------------------------------------------------
 * Runs fn(arg, t) for every t in [0, ntasks), on the caller plus up to nthreads-1 pool workers
 * that claim tasks dynamically. If the pool is in use by another application thread (or the
 * caller is itself a task), everything runs inline on the caller. Returns when all tasks are
 * done. gj_pool_run uses one thread per task. */
typedef void (*gj_task_fn)(void *arg, int task);
void gj_pool_run_threads(gj_task_fn fn, void *arg, int ntasks, int nthreads);
void gj_pool_run(gj_task_fn fn, void *arg, int ntasks);
/* The thread setting of this copy (gj_runtime_threads without routing). */
int gj_pool_threads(void);
/* 1 if the last few requests for parallel work came less than the workers' spin time apart (they
 * are awake, or the caller is calling in a loop); records this request. */
int gj_pool_in_busy_period(void);

/* Parallel loops for generated kernels: gj_parallel_for and gj_max_workers (parallel_for.c), declared
 * with the ABI table above. */

/* ---- Host entry points (entry_points.c) --------------------------------------------------------
 * The public gj_<name> functions of GJ_HOST_FUNCTIONS only route: to the installed copy's entry
 * point if one is installed, else to this copy's implementation gj_own_<name>, defined next to the
 * code it belongs to. gj_runtime_own_entry_points() lists the gj_own_ functions. */
#define GJ_OWN_DECLARATION(result, name, parameters, doc) result gj_own_##name parameters;
GJ_HOST_FUNCTIONS(GJ_OWN_DECLARATION)
#undef GJ_OWN_DECLARATION

#endif /* GJ_INTERNAL_H */
