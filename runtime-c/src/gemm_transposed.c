/*
 * gemm_transposed.c - gj_sgemm_t: sgemm with op(A) = A or Aᵀ and op(B) = B or Bᵀ, for training
 * (dW = Xᵀ·dZ is trans_a, dX = dZ·Wᵀ is trans_b). Semantics: gemm_transposed.h.
 *
 * No new micro-kernels: the operands are brought into the forms the existing path kernels read,
 * block by block, and each block runs through gj_sgemm_packed (which picks the tiled, narrow-N,
 * N == 1 or M == 1 kernel of the current path and handles every edge):
 *
 *   for jc in N by NC (512):                      columns of C (rectangle of this task)
 *     for pc in K by KC (256 * n, see below):     K blocks
 *       B~ = op(B)[pc:pc+kc, jc:jc+nc]            packed into the 32-column panel layout of
 *                                                 gj_internal.h, from either storage: plain copy
 *                                                 (gj_pack_b_block) for B[K,N], an 8x8-tiled
 *                                                 transpose of 32 storage rows per panel for B[N,K]
 *       trans_a == 0: gj_sgemm_packed(rows, nc, kc, A + pc, B~)      (A read in place)
 *       trans_a != 0: for ic in rows by MC:
 *                       A~ = op(A)[ic:ic+mc, pc:pc+kc] = (A[pc:pc+kc, ic:ic+mc])ᵀ, 8x8-tiled
 *                       gj_sgemm_packed(mc, nc, kc, A~, B~)
 *
 * B~ (at most 128K floats = 512 KB) and A~ (at most 64K floats = 256 KB) live in per-thread
 * buffers (pthread key, allocated on a thread's first call and freed when it exits), so they are
 * written and then read again from L2. KC is as large as B~ allows (N = 32: 4096; N >= 512: 256),
 * capped at 1024 with trans_a so that A~ still holds 48 rows; it is always a multiple of 256, so
 * the K blocks end where gj_sgemm's own K blocks would. The first K block stores (or adds to C
 * if `accumulate`), later ones add, and only the last one adds the bias and applies the
 * activation: the same epilogue as gj_sgemm.
 *
 * Transposes: 8x8 tiles of unpack/shuffle/permute2f128 on the AVX2 and AVX-512 paths (one
 * tile is 8 loads, 24 shuffles, 8 stores), plain C 8x8 tiles on the portable path.
 *
 * Special shapes:
 *   - trans_b with N == 1: op(B) is the contiguous vector B[0:K], i.e. B[K,1] with ldb = 1;
 *     trans_a with K == 1: op(A) is A[0:M] as A[M,1] with lda = 1. Both just drop the flag.
 *   - M == 1: the row x = op(A)[0, :] (gathered in pieces of 64K floats when trans_a) times
 *     op(B): gj_sgemm's matvec for B[K,N]; for B[N,K], N dot products of the storage rows with x
 *     (gj_sgemm with M' = N, N' = 1, reading B in place), then bias and activation.
 *
 * Threading (same thresholds as gemm_driver.c: at least 4M multiply-adds per thread): C is cut
 * along M (in whole row tiles) or N (in whole 32-column panels), whichever dimension is larger.
 * Every task packs the op(B) blocks of its columns and transposes the A blocks of its rows, so
 * splitting the larger dimension duplicates the smaller amount of packing. Tasks run on the worker
 * pool, and the gj_sgemm_packed calls made inside a task run on that task's thread. Long K with
 * a small C (K >= 4096, K >= 4 max(M, N), M*N <= 32K; e.g. a conv dW = im2colᵀ·dZ) is split
 * instead into 8 slabs of K with partial products (malloc'ed, 8*M*N floats) that the caller adds
 * in slab order; that choice depends on the shape only, not on the thread count.
 *
 * If a buffer cannot be allocated the affected part falls back to a plain (slow, correct) loop.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define GJ_T_HAVE_AVX2 1
#endif

#include "gj_internal.h"
#include "gemm_transposed.h"

#define T_KC 256                     /* K blocks are multiples of this (gemm_driver.c's KC) */
#define T_NC 512                     /* N block */
#define T_B_FLOATS (T_KC * T_NC)     /* packed op(B) block: 512 KB */
#define T_A_FLOATS (64 * 1024)       /* transposed A block: 256 KB */
#define T_A_KC_MAX 1024              /* K block with trans_a: A~ keeps >= 48 rows */
#define T_A_ROWS 48                  /* A~ row counts are multiples of this: every path's mr, narrow_mr divide it */
#define T_MIN_MACS_PER_THREAD (4L * 1024 * 1024)
#define T_TASKS_PER_THREAD 4
#define T_KSPLIT_TASKS 8
#define T_KSPLIT_MIN_K 4096
#define T_KSPLIT_MAX_C (32L * 1024)  /* C floats: the partial sums take 8 times that */

static inline int imin(int a, int b) { return a < b ? a : b; }

/* ---- transposes: dst[c*ldd + r] = src[r*lds + c] for r < rows, c < cols ------------------------- */

static void transpose_portable(int rows, int cols, const float *src, long lds, float *dst, long ldd)
{
    for (int r0 = 0; r0 < rows; r0 += 8) {
        const int rn = imin(8, rows - r0);
        for (int c0 = 0; c0 < cols; c0 += 8) {
            const int cn = imin(8, cols - c0);
            for (int c = 0; c < cn; c++)
                for (int r = 0; r < rn; r++)
                    dst[(size_t)(c0 + c) * ldd + r0 + r] = src[(size_t)(r0 + r) * lds + c0 + c];
        }
    }
}

#ifdef GJ_T_HAVE_AVX2
GJ_TARGET_AVX2 static void transpose_avx2(int rows, int cols, const float *src, long lds, float *dst, long ldd)
{
    const int rows8 = rows & ~7, cols8 = cols & ~7;
    for (int r0 = 0; r0 < rows8; r0 += 8) {
        const float *s = src + (size_t)r0 * lds;
        for (int c0 = 0; c0 < cols8; c0 += 8) {
            const __m256 a0 = _mm256_loadu_ps(s + c0), a1 = _mm256_loadu_ps(s + lds + c0);
            const __m256 a2 = _mm256_loadu_ps(s + 2 * lds + c0), a3 = _mm256_loadu_ps(s + 3 * lds + c0);
            const __m256 a4 = _mm256_loadu_ps(s + 4 * lds + c0), a5 = _mm256_loadu_ps(s + 5 * lds + c0);
            const __m256 a6 = _mm256_loadu_ps(s + 6 * lds + c0), a7 = _mm256_loadu_ps(s + 7 * lds + c0);
            /* per 128-bit lane: t0 = a0[0] a1[0] a0[1] a1[1], t1 = a0[2] a1[2] a0[3] a1[3], ... */
            const __m256 t0 = _mm256_unpacklo_ps(a0, a1), t1 = _mm256_unpackhi_ps(a0, a1);
            const __m256 t2 = _mm256_unpacklo_ps(a2, a3), t3 = _mm256_unpackhi_ps(a2, a3);
            const __m256 t4 = _mm256_unpacklo_ps(a4, a5), t5 = _mm256_unpackhi_ps(a4, a5);
            const __m256 t6 = _mm256_unpacklo_ps(a6, a7), t7 = _mm256_unpackhi_ps(a6, a7);
            /* u0 = column 0 | column 4 of rows 0-3, u1 = 1 | 5, u2 = 2 | 6, u3 = 3 | 7; u4-u7: rows 4-7 */
            const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
            const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
            const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
            const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
            float *d = dst + (size_t)c0 * ldd + r0;
            _mm256_storeu_ps(d, _mm256_permute2f128_ps(u0, u4, 0x20));
            _mm256_storeu_ps(d + ldd, _mm256_permute2f128_ps(u1, u5, 0x20));
            _mm256_storeu_ps(d + 2 * ldd, _mm256_permute2f128_ps(u2, u6, 0x20));
            _mm256_storeu_ps(d + 3 * ldd, _mm256_permute2f128_ps(u3, u7, 0x20));
            _mm256_storeu_ps(d + 4 * ldd, _mm256_permute2f128_ps(u0, u4, 0x31));
            _mm256_storeu_ps(d + 5 * ldd, _mm256_permute2f128_ps(u1, u5, 0x31));
            _mm256_storeu_ps(d + 6 * ldd, _mm256_permute2f128_ps(u2, u6, 0x31));
            _mm256_storeu_ps(d + 7 * ldd, _mm256_permute2f128_ps(u3, u7, 0x31));
        }
        for (int c = cols8; c < cols; c++)
            for (int r = 0; r < 8; r++) dst[(size_t)c * ldd + r0 + r] = s[(size_t)r * lds + c];
    }
    for (int r = rows8; r < rows; r++)
        for (int c = 0; c < cols; c++) dst[(size_t)c * ldd + r] = src[(size_t)r * lds + c];
}
#endif

static void transpose(int rows, int cols, const float *src, long lds, float *dst, long ldd)
{
#ifdef GJ_T_HAVE_AVX2
    /* the AVX2 and AVX-512 paths both imply AVX2 (cpu_dispatch.c) */
    if (gj_current_path() != GJ_PATH_PORTABLE) {
        transpose_avx2(rows, cols, src, lds, dst, ldd);
        return;
    }
#endif
    transpose_portable(rows, cols, src, lds, dst, ldd);
}

/* ---- problem description ---------------------------------------------------------------------- */

typedef struct {
    int ta, tb, M, N, K;
    const float *A;
    long lda;
    const float *B;
    long ldb;
    float *C;
    long ldc;
    const float *bias;
    int act, accumulate;
    int kcmax; /* K block (multiple of T_KC) */
    /* threading: task t covers units [t*units/ntasks, (t+1)*units/ntasks) along M (unit_rows rows)
     * or N (32-column panels); with `part`, K slab t of T_KSPLIT_TASKS into part + t*M*N */
    int split_n, units, unit_rows, ntasks;
    float *part;
} tjob;

static inline float op_a(const tjob *j, int i, int k)
{
    return j->ta ? j->A[(size_t)k * j->lda + i] : j->A[(size_t)i * j->lda + k];
}

static inline float op_b(const tjob *j, int k, int n)
{
    return j->tb ? j->B[(size_t)n * j->ldb + k] : j->B[(size_t)k * j->ldb + n];
}

/* Allocation-free fallback: rows [m0,m1) x columns [n0,n1) of C over K range [k0,k1). */
static void t_naive(const tjob *j, int m0, int m1, int n0, int n1, int k0, int k1, float *C, long ldc,
                    const float *bias, int act, int accumulate)
{
    for (int i = m0; i < m1; i++)
        for (int n = n0; n < n1; n++) {
            float s = 0.0f;
            for (int k = k0; k < k1; k++) s += op_a(j, i, k) * op_b(j, k, n);
            float *c = &C[(size_t)i * ldc + n];
            if (accumulate) s += *c;
            if (bias) s += bias[n];
            *c = gj_act_scalar(s, act);
        }
}

/* ---- per-thread scratch ------------------------------------------------------------------------- */

typedef struct {
    float *b; /* T_B_FLOATS: packed op(B) block */
    float *a; /* T_A_FLOATS: transposed A block, or the gathered row for M == 1 */
} tscratch_t;

static pthread_key_t g_tscratch_key;
static pthread_once_t g_tscratch_once = PTHREAD_ONCE_INIT;

static void tscratch_free(void *p)
{
    tscratch_t *s = p;
    free(s->b);
    free(s->a);
    free(s);
}

static void tscratch_key_init(void) { pthread_key_create(&g_tscratch_key, tscratch_free); }

static tscratch_t *tscratch(void)
{
    pthread_once(&g_tscratch_once, tscratch_key_init);
    tscratch_t *s = pthread_getspecific(g_tscratch_key);
    if (s) return s;
    s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->b = aligned_alloc(64, sizeof(float) * T_B_FLOATS);
    s->a = aligned_alloc(64, sizeof(float) * T_A_FLOATS);
    if (!s->b || !s->a || pthread_setspecific(g_tscratch_key, s) != 0) {
        tscratch_free(s);
        return NULL;
    }
    return s;
}

/* ---- packing ------------------------------------------------------------------------------------- */

/* op(B)[pc:pc+kc, jc:jc+nc] into 32-column panels with panel stride kc*32 (a packed kc x nc block). */
static void pack_opb(const tjob *j, int pc, int kc, int jc, int nc, float *dst)
{
    if (!j->tb) {
        gj_pack_b_block(kc, nc, j->B + (size_t)pc * j->ldb + jc, (int)j->ldb, dst);
        return;
    }
    /* B stored [N,K]: storage row n is column n of op(B), so panel p is the transpose of the 32
     * storage rows jc+32p .. jc+32p+31 (columns pc .. pc+kc-1), zero-padded past nc */
    for (int j0 = 0; j0 < nc; j0 += GJ_PANEL) {
        float *p = dst + (size_t)(j0 / GJ_PANEL) * kc * GJ_PANEL;
        const int w = imin(GJ_PANEL, nc - j0);
        transpose(w, kc, j->B + (size_t)(jc + j0) * j->ldb + pc, j->ldb, p, GJ_PANEL);
        if (w < GJ_PANEL)
            for (int k = 0; k < kc; k++) memset(p + (size_t)k * GJ_PANEL + w, 0, sizeof(float) * (GJ_PANEL - w));
    }
}

/* ---- one rectangle on the calling thread ------------------------------------------------------------
 * Rows [m0,m1) x columns [n0,n1) of C (C, ldc: the output, indexed by absolute row and column)
 * over the K range [k0,k1), with the given epilogue. */
static void t_rect(const tjob *j, int m0, int m1, int n0, int n1, int k0, int k1, float *C, long ldc,
                   const float *bias, int act, int accumulate)
{
    tscratch_t *s = tscratch();
    if (!s) {
        t_naive(j, m0, m1, n0, n1, k0, k1, C, ldc, bias, act, accumulate);
        return;
    }
    for (int jc = n0; jc < n1; jc += T_NC) {
        const int nc = imin(T_NC, n1 - jc);
        for (int pc = k0; pc < k1; pc += j->kcmax) {
            const int kc = imin(j->kcmax, k1 - pc);
            const int last = pc + kc >= k1;
            const int load_c = accumulate || pc > k0;
            const float *bb = last && bias ? bias + jc : NULL;
            const int a = last ? act : GJ_ACT_LINEAR;
            pack_opb(j, pc, kc, jc, nc, s->b);
            if (!j->ta) {
                gj_sgemm_packed(m1 - m0, nc, kc, j->A + (size_t)m0 * j->lda + pc, (int)j->lda, s->b,
                                C + (size_t)m0 * ldc + jc, (int)ldc, bb, a, load_c);
                continue;
            }
            const int mc = T_A_FLOATS / kc / T_A_ROWS * T_A_ROWS; /* >= 48: kc <= T_A_KC_MAX */
            for (int ic = m0; ic < m1; ic += mc) {
                const int m = imin(mc, m1 - ic);
                transpose(kc, m, j->A + (size_t)pc * j->lda + ic, j->lda, s->a, kc);
                gj_sgemm_packed(m, nc, kc, s->a, kc, s->b, C + (size_t)ic * ldc + jc, (int)ldc, bb, a, load_c);
            }
        }
    }
}

/* ---- M == 1 ---------------------------------------------------------------------------------------- */

static void t_row(const tjob *j)
{
    const int N = j->N, K = j->K;
    tscratch_t *s = NULL;
    if (j->ta && !(s = tscratch())) {
        t_naive(j, 0, 1, 0, N, 0, K, j->C, j->ldc, j->bias, j->act, j->accumulate);
        return;
    }
    const int chunk = j->ta ? T_A_FLOATS : K;
    for (int pc = 0; pc < K; pc += chunk) {
        const int kc = imin(chunk, K - pc);
        const int last = pc + kc >= K;
        const int load_c = j->accumulate || pc > 0;
        const float *x = j->A + pc;
        if (j->ta) { /* op(A)[0][k] = A[k*lda]: gather the row */
            for (int k = 0; k < kc; k++) s->a[k] = j->A[(size_t)(pc + k) * j->lda];
            x = s->a;
        }
        if (!j->tb)
            gj_sgemm(1, N, kc, x, kc, j->B + (size_t)pc * j->ldb, (int)j->ldb, j->C, (int)j->ldc,
                     last ? j->bias : NULL, last ? j->act : GJ_ACT_LINEAR, load_c);
        else /* y[n] = B[n, pc:pc+kc] . x: N dot products, B read in place (M' = N, N' = 1) */
            gj_sgemm(N, 1, kc, j->B + pc, (int)j->ldb, x, 1, j->C, 1, NULL, GJ_ACT_LINEAR, load_c);
    }
    if (j->tb && (j->bias || j->act != GJ_ACT_LINEAR)) {
        if (j->bias)
            for (int n = 0; n < N; n++) j->C[n] += j->bias[n];
        gj_activate(j->C, N, j->act);
    }
}

/* ---- general case, threading ------------------------------------------------------------------------ */

static void t_task(void *arg, int t)
{
    const tjob *j = arg;
    if (j->part) {
        const int k0 = (int)((long)t * j->K / j->ntasks), k1 = (int)((long)(t + 1) * j->K / j->ntasks);
        t_rect(j, 0, j->M, 0, j->N, k0, k1, j->part + (size_t)t * j->M * j->N, j->N, NULL, GJ_ACT_LINEAR, 0);
        return;
    }
    const int u0 = (int)((long)t * j->units / j->ntasks), u1 = (int)((long)(t + 1) * j->units / j->ntasks);
    if (u0 >= u1) return;
    if (j->split_n)
        t_rect(j, 0, j->M, u0 * GJ_PANEL, imin(u1 * GJ_PANEL, j->N), 0, j->K, j->C, j->ldc, j->bias, j->act,
               j->accumulate);
    else
        t_rect(j, u0 * j->unit_rows, imin(u1 * j->unit_rows, j->M), 0, j->N, 0, j->K, j->C, j->ldc, j->bias, j->act,
               j->accumulate);
}

/* Long K, small C: 8 slabs of K into partial products, added in slab order. Returns 0 if the
 * partial buffer cannot be allocated. */
static int t_ksplit(tjob *j)
{
    const int M = j->M, N = j->N;
    float *part = malloc(sizeof(float) * T_KSPLIT_TASKS * (size_t)M * N);
    if (!part) return 0;
    j->part = part;
    j->ntasks = T_KSPLIT_TASKS;
    int nt = gj_pool_threads();
    const double cap = (double)M * N * j->K / T_MIN_MACS_PER_THREAD;
    if (cap < nt) nt = (int)cap;
    gj_pool_run_threads(t_task, j, T_KSPLIT_TASKS, nt < 1 ? 1 : nt);
    const size_t mn = (size_t)M * N;
    for (int i = 0; i < M; i++) {
        float *c = j->C + (size_t)i * j->ldc;
        const float *p = part + (size_t)i * N;
        for (int n = 0; n < N; n++) {
            float v = j->accumulate ? c[n] : 0.0f;
            for (int t = 0; t < T_KSPLIT_TASKS; t++) v += p[t * mn + n];
            if (j->bias) v += j->bias[n];
            c[n] = v;
        }
        gj_activate(c, N, j->act);
    }
    free(part);
    j->part = NULL;
    return 1;
}

static void t_general(tjob *j)
{
    const gj_path_ops *ops = gj_ops();
    const int M = j->M, N = j->N, K = j->K;

    /* K block: as much as the B~ buffer holds for this N (at most 1024 with trans_a), a multiple of
     * T_KC; it depends on the shape only, so every task uses the same K blocks */
    int kcmax = T_B_FLOATS / ((imin(N, T_NC) + GJ_PANEL - 1) / GJ_PANEL * GJ_PANEL);
    if (j->ta && kcmax > T_A_KC_MAX) kcmax = T_A_KC_MAX;
    j->kcmax = kcmax / T_KC * T_KC;

    const double macs = (double)M * N * K;
    const int maxmn = M > N ? M : N;
    if (K >= T_KSPLIT_MIN_K && (long)K >= 4L * maxmn && (long)M * N <= T_KSPLIT_MAX_C &&
        macs >= 2.0 * T_MIN_MACS_PER_THREAD && t_ksplit(j))
        return;

    int nt = gj_pool_threads();
    if (nt > 1) {
        const double cap = macs / T_MIN_MACS_PER_THREAD;
        if (cap < nt) nt = (int)cap;
    }
    if (nt > 1) {
        j->unit_rows = N == 1 ? 16 : N <= ops->narrow_nr ? ops->narrow_mr : ops->mr;
        const int mtiles = (M + j->unit_rows - 1) / j->unit_rows, npanels = (N + GJ_PANEL - 1) / GJ_PANEL;
        /* split the larger dimension: the other one's packing is what every task repeats */
        j->split_n = N >= M ? npanels >= nt : mtiles < nt;
        j->units = j->split_n ? npanels : mtiles;
        if (j->units < nt) nt = j->units;
    }
    if (nt <= 1) {
        t_rect(j, 0, M, 0, N, 0, K, j->C, j->ldc, j->bias, j->act, j->accumulate);
        return;
    }
    /* several dynamically claimed tasks per thread, unless the packing every task repeats (all of
     * op(B) when splitting M; all of op(A) when splitting N with trans_a) would then cost more than
     * ~1/64 of a task's arithmetic */
    int ntasks = nt * T_TASKS_PER_THREAD;
    const double dup = j->split_n ? (j->ta ? (double)M * K : 0.0) : (double)K * N;
    if (dup * 64.0 * ntasks > macs) ntasks = nt;
    if (ntasks > j->units) ntasks = j->units;
    j->ntasks = ntasks;
    gj_pool_run_threads(t_task, j, ntasks, nt);
}

/* ---- entry point ----------------------------------------------------------------------------------- */

void gj_sgemm_t(int trans_a, int trans_b, int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                float *C, int ldc, const float *bias, int activation, int accumulate)
{
    if (M <= 0 || N <= 0) return;
    if (K <= 0) { /* only the epilogue; A and B are not read */
        gj_sgemm(M, N, K, A, lda, B, ldb, C, ldc, bias, activation, accumulate);
        return;
    }
    trans_a = trans_a != 0;
    trans_b = trans_b != 0;
    if (trans_b && N == 1) { /* op(B)[k][0] = B[k]: B[K,1] with row stride 1 */
        trans_b = 0;
        ldb = 1;
    }
    if (trans_a && K == 1) { /* op(A)[i][0] = A[i]: A[M,1] with row stride 1 */
        trans_a = 0;
        lda = 1;
    }
    if (!trans_a && !trans_b) {
        gj_sgemm(M, N, K, A, lda, B, ldb, C, ldc, bias, activation, accumulate);
        return;
    }
    tjob j = {
        .ta = trans_a, .tb = trans_b, .M = M, .N = N, .K = K, .A = A, .lda = lda, .B = B, .ldb = ldb,
        .C = C, .ldc = ldc, .bias = bias, .act = activation, .accumulate = accumulate,
    };
    if (M == 1) t_row(&j);
    else t_general(&j);
}
