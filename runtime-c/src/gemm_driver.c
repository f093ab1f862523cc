/*
 * gemm_driver.c - blocking, edge handling and threading around the per-path micro-kernels.
 *
 * Blocking scheme (single thread, for one rectangle of C):
 *
 *   for jc in N by NC:                       B block columns
 *     for pc in K by KC:                     B block rows (K blocking)
 *       B~ = B[pc:pc+KC, jc:jc+NC]           already packed (sgemm_packed), or packed here into a
 *                                            per-thread buffer (KC*NC*4 = 512 KB: lives in L2)
 *       for ir in M by MR:                   A micro-panel A[ir:ir+MR, pc:pc+KC] (8 KB, stays in L1)
 *         for jr in NC by NR:                kernel: C[ir:ir+MR, jc+jr:+NR] (+)= A~ * B~[:, jr:+NR]
 *
 * A is never packed: the kernels broadcast straight from the A rows (row stride lda), which are
 * contiguous over the KC range, so the MR rows form MR short sequential streams. Only for the
 * last, partial row panel (m < MR) are the rows copied into a zero-padded MR x KC buffer so the
 * kernel can always read MR rows. Partial column tiles (n < NR) are handled by the kernels with
 * masked loads/stores; B~ is zero-padded to a whole 32-column panel.
 *
 * K blocking and the epilogue: the first K block stores (or adds to C if `accumulate`), later
 * blocks add to C, and only the last block adds the bias and applies the activation.
 *
 * Narrow N: with N <= narrow_nr (16 on AVX-512, 8 on AVX2) a 32- or 16-column tile would leave
 * most lanes idle, so the path's narrow kernel runs instead: 16 (AVX2: 12) rows per tile and one
 * vector of columns, reading B rows directly (packed panel or unpacked B; nothing is packed).
 *
 * N == 1 (e.g. an attention score): dot products of the A rows with the single column, copied
 * once into a contiguous vector (ops->dot_rows).
 *
 * M == 1 (e.g. an LSTM step at batch 1) goes to the matvec routines, which stream B once without
 * any blocking or packing overhead.
 *
 * Threading: a pool job costs the caller ~10 us (the futex wake of a sleeping worker is an IPI,
 * i.e. a VM exit on this machine) and the worker starts 20-100 us later (a halted vCPU has to be
 * scheduled again), so only jobs of about 100 us and more are split (GJ_MIN_MACS_PER_THREAD, and
 * GJ_MATVEC_MIN_BYTES for the memory-bound M == 1 case). The problem is then cut into rectangles
 * along M (in whole row tiles) or along N (in whole 32-column panels), whichever re-reads less
 * memory (splitting M makes every task read all of B, splitting N makes every task read all of A),
 * or, for M == 1, along K (each task streams a contiguous slab of B into its own partial sums,
 * which the caller adds up in a fixed order). There are GJ_TASKS_PER_THREAD tasks per thread,
 * claimed dynamically (thread_pool.c), so a worker that wakes up late just does fewer of them
 * and the caller does the rest. Each rectangle runs the serial blocked code above.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "gj_internal.h"

#define GJ_KC 256          /* K block: MR x KC floats of A (8 KB) fit L1 next to the B stream */
#define GJ_NC 512          /* N block: KC x NC floats of B (512 KB) fit the 1-2 MB L2 */
#define GJ_MR_MAX 16       /* rows of the padded A copy: the largest MR of any (narrow) kernel */
/* Measured on the 2-vCPU VM (thread_pool.c, tests/bench_gemm.c): publishing a job costs the caller
 * ~10 us, the worker starts 20-100 us after that, and a caller that has to wait for the worker's
 * last task sleeps and is woken ~25 us late. 4M multiply-adds are ~40 us of work: a job is split
 * only if every thread gets at least that much. */
#define GJ_MIN_MACS_PER_THREAD (4L * 1024 * 1024)
/* ... unless the pool is in a busy period (gj_pool_in_busy_period: the last few jobs were asked for
 * less than the workers' spin time apart, so they are awake or one wake-up serves the calls that
 * follow): a hand-off to a spinning worker costs well under a microsecond, and 128K multiply-adds
 * (~1.2 us) per thread pay for it. Measured on Zen 4, calls back to back: attention batch 1 0.0124 -> 0.0086
 * ms, multitask batch 256 0.054 -> 0.037 ms (256K: 0.042); a call after an idle pause keeps the
 * single-thread time (with a low limit always on, it doubled: 0.019 -> 0.038 ms). */
#define GJ_MIN_MACS_PER_THREAD_BUSY (128L * 1024)
/* M == 1 is memory-bound: split it when each thread streams at least 2 MB of B (>= ~40 us from L3),
 * in GJ_MATVEC_TASKS slabs of K (the same for any thread count, see matvec_ksplit). */
#define GJ_MATVEC_MIN_BYTES (2L << 20)
#define GJ_MATVEC_TASKS 8
/* M == 1 with at most this many weights skips the job setup (it is never split anyway) */
#define GJ_MATVEC_DIRECT_FLOATS (64L * 1024)
/* Tasks per thread, claimed dynamically: a late worker then delays the job by at most one task. */
#define GJ_TASKS_PER_THREAD 4

/* ---- per-thread scratch (packed B block, padded A panel) ------------------------------------- */

typedef struct {
    float *b; /* GJ_KC * GJ_NC */
    float *a; /* GJ_MR_MAX * GJ_KC */
} scratch_t;

static pthread_key_t g_scratch_key;
static pthread_once_t g_scratch_once = PTHREAD_ONCE_INIT;

static void scratch_free(void *p)
{
    scratch_t *s = p;
    free(s->b);
    free(s->a);
    free(s);
}

static void scratch_key_init(void) { pthread_key_create(&g_scratch_key, scratch_free); }

static scratch_t *scratch(void)
{
    pthread_once(&g_scratch_once, scratch_key_init);
    scratch_t *s = pthread_getspecific(g_scratch_key);
    if (s) return s;
    s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->b = aligned_alloc(64, sizeof(float) * GJ_KC * GJ_NC);
    s->a = aligned_alloc(64, sizeof(float) * GJ_MR_MAX * GJ_KC);
    if (!s->b || !s->a || pthread_setspecific(g_scratch_key, s) != 0) {
        scratch_free(s);
        return NULL;
    }
    return s;
}

/* ---- problem description ------------------------------------------------------------------- */

typedef struct {
    const gj_path_ops *ops;
    int M, N, K;
    const float *A;
    long lda;
    const float *B; /* unpacked B (row stride ldb), or NULL */
    long ldb;
    const float *packed; /* packed panels with panel stride K*32, or NULL */
    float *C;
    long ldc;
    const float *bias;
    int act, accumulate;
    /* which code runs the rectangles */
    int kind;
    /* threading: the rectangle of task t is units [t*units/nt, (t+1)*units/nt) along one axis
     * (nt = number of tasks); a unit is `unit_rows` rows, or one 32-column panel if split_n */
    int split_n, units, unit_rows, nt;
} gemm_job;

enum { GJ_KIND_TILED = 0, GJ_KIND_NARROW = 1, GJ_KIND_DOT = 2 };

/* Slow but allocation-free fallback used only if scratch memory cannot be allocated. */
static void gemm_naive(const gemm_job *j, int m0, int m1, int n0, int n1)
{
    for (int i = m0; i < m1; i++) {
        for (int n = n0; n < n1; n++) {
            float s = 0.0f;
            for (int k = 0; k < j->K; k++)
                s += j->A[i * j->lda + k] *
                     (j->packed ? j->packed[(size_t)(n / GJ_PANEL) * j->K * GJ_PANEL + (size_t)k * GJ_PANEL + n % GJ_PANEL]
                                : j->B[k * j->ldb + n]);
            float *c = &j->C[i * j->ldc + n];
            if (j->accumulate) s += *c;
            if (j->bias) s += j->bias[n];
            *c = gj_act_scalar(s, j->act);
        }
    }
}

/* ---- software prefetch ------------------------------------------------------------------------
 * A prefetch plan covers `count` regions of `bytes` bytes, `stride` bytes apart. Part `i` of
 * `parts` touches the i-th slice of its cache lines (prefetcht1: into L2). */
typedef struct {
    const char *base;
    long stride;
    int count;
    int bytes;
} prefetch_plan;

static void prefetch_part(const prefetch_plan *p, int i, int parts)
{
    const long lines_per = (p->bytes + 63) / 64, total = lines_per * p->count;
    long l0 = total * i / parts, l1 = total * (i + 1) / parts;
    for (long l = l0; l < l1; l++)
        __builtin_prefetch(p->base + (l / lines_per) * p->stride + (l % lines_per) * 64, 0, 2);
}

static void prefetch_rows(const float *a, long lda, int rows, int cols)
{
    for (int r = 0; r < rows; r++)
        for (int k = 0; k < cols; k += 16) __builtin_prefetch(a + (size_t)r * lda + k, 0, 2);
}

/* y = x[k0:k1] * B[k0:k1, 0:N] for an unpacked B. The path's matvec sweeps B in column chunks
 * as wide as its accumulator registers allow (256 columns for AVX-512); for wider B that would
 * fetch every row from memory once per chunk, in a strided pattern. So large problems are cut
 * into K blocks of about 128 KB of B: the first chunk brings a block into L2 and the other chunks
 * read it from there. (Software prefetch of the next block was tried and lost: the hardware
 * prefetchers already follow these sequential rows, and a burst of prefetches stalls.) The
 * epilogue (bias, activation) goes with the last block only. */
#define GJ_MATVEC_BLOCK_BYTES (128L * 1024)
static void matvec_blocked(const gj_path_ops *ops, int N, int k0, int k1, const float *x, const float *B,
                           long ldb, float *y, const float *bias, int act, int accumulate)
{
    long kb = GJ_MATVEC_BLOCK_BYTES / ((long)N * 4);
    if (kb < 16) kb = 16;
    for (long k = k0; k < k1; k += kb) {
        long kn = k1 - k < kb ? k1 - k : kb;
        int last = k + kn >= k1;
        ops->matvec(N, (int)kn, x + k, B + (size_t)k * ldb, ldb, y, last ? bias : NULL,
                    last ? act : GJ_ACT_LINEAR, accumulate || k > k0);
    }
}

/* Rows [m0, m1) x columns [n0, n1) of C on the calling thread; n0 is a multiple of 32. */
static void gemm_rect(const gemm_job *j, int m0, int m1, int n0, int n1)
{
    const gj_path_ops *ops = j->ops;
    const int MR = ops->mr, NR = ops->nr, K = j->K;

    scratch_t *s = NULL;
    if (!j->packed || (m1 - m0) % MR != 0) {
        s = scratch();
        if (!s) {
            gemm_naive(j, m0, m1, n0, n1);
            return;
        }
    }

    for (int jc = n0; jc < n1; jc += GJ_NC) {
        const int nc = n1 - jc < GJ_NC ? n1 - jc : GJ_NC;
        for (int pc = 0; pc < K; pc += GJ_KC) {
            const int kc = K - pc < GJ_KC ? K - pc : GJ_KC;
            const float *bb;
            long panel_stride;
            if (j->packed) {
                bb = j->packed + (size_t)(jc / GJ_PANEL) * K * GJ_PANEL + (size_t)pc * GJ_PANEL;
                panel_stride = (long)K * GJ_PANEL;
            } else {
                gj_pack_b_block(kc, nc, j->B + (size_t)pc * j->ldb + jc, (int)j->ldb, s->b);
                bb = s->b;
                panel_stride = (long)kc * GJ_PANEL;
            }
            const int last = pc + kc >= K;
            const int load_c = j->accumulate || pc > 0;
            const float *bias = last && j->bias ? j->bias + jc : NULL;
            const int act = last ? j->act : GJ_ACT_LINEAR;

            /* Software prefetch of the next K block of B into L2, spread evenly over this block's
             * row panels: without it the first row panel of every K block waits on memory (the
             * kernel needs ~8 bytes/cycle of B there, more than DRAM delivers), with it the
             * loads overlap the previous block's arithmetic. Matters when K is large. */
            prefetch_plan pf = { 0 };
            if (!last) {
                const int kn = K - (pc + kc) < GJ_KC ? K - (pc + kc) : GJ_KC;
                if (j->packed) /* each panel's next block directly follows the current one */
                    pf = (prefetch_plan){ (const char *)(bb + (size_t)kc * GJ_PANEL), panel_stride * 4,
                                          (nc + GJ_PANEL - 1) / GJ_PANEL, kn * GJ_PANEL * 4 };
                else
                    pf = (prefetch_plan){ (const char *)(j->B + (size_t)(pc + kc) * j->ldb + jc), j->ldb * 4,
                                          kn, nc * 4 };
            }
            const int npanels_m = (m1 - m0 + MR - 1) / MR;

            for (int ir = m0, ip = 0; ir < m1; ir += MR, ip++) {
                const int m = m1 - ir < MR ? m1 - ir : MR;
                const float *a = j->A + (size_t)ir * j->lda + pc;
                long lda = j->lda;
                if (m < MR) { /* zero-padded copy of the partial row panel */
                    for (int r = 0; r < MR; r++) {
                        if (r < m) memcpy(s->a + (size_t)r * kc, a + (size_t)r * lda, sizeof(float) * kc);
                        else memset(s->a + (size_t)r * kc, 0, sizeof(float) * kc);
                    }
                    a = s->a;
                    lda = kc;
                }
                if (pf.count) prefetch_part(&pf, ip, npanels_m);
                /* next A micro-panel (rows far apart when lda is large: too many streams for
                 * the hardware prefetcher) */
                if (kc >= 64) {
                    if (ir + MR < m1) prefetch_rows(a + (size_t)MR * lda, lda, m1 - ir - MR < MR ? m1 - ir - MR : MR, kc);
                    else if (!last) prefetch_rows(j->A + (size_t)m0 * j->lda + pc + kc, j->lda,
                                                  m1 - m0 < MR ? m1 - m0 : MR, K - pc - kc < GJ_KC ? K - pc - kc : GJ_KC);
                }
                float *c = j->C + (size_t)ir * j->ldc + jc;
                for (int jr = 0; jr < nc; jr += NR) {
                    const int n = nc - jr < NR ? nc - jr : NR;
                    ops->kernel(kc, a, lda, bb + (size_t)(jr / GJ_PANEL) * panel_stride + jr % GJ_PANEL,
                                c + jr, j->ldc, m, n, load_c, bias ? bias + jr : NULL, act);
                }
            }
        }
    }
}

/* ---- narrow N (N <= ops->narrow_nr) ------------------------------------------------------------ */

static void narrow_rect(const gemm_job *j, int m0, int m1)
{
    const gj_path_ops *ops = j->ops;
    const int MR = ops->narrow_mr, K = j->K;
    scratch_t *s = NULL;
    if ((m1 - m0) % MR != 0 && !(s = scratch())) {
        gemm_naive(j, m0, m1, 0, j->N);
        return;
    }
    for (int pc = 0; pc < K; pc += GJ_KC) {
        const int kc = K - pc < GJ_KC ? K - pc : GJ_KC;
        const int last = pc + kc >= K;
        const int load_c = j->accumulate || pc > 0;
        const float *bias = last ? j->bias : NULL;
        const int act = last ? j->act : GJ_ACT_LINEAR;
        const float *b = j->packed ? j->packed + (size_t)pc * GJ_PANEL : j->B + (size_t)pc * j->ldb;
        const long ldb = j->packed ? GJ_PANEL : j->ldb;
        for (int ir = m0; ir < m1; ir += MR) {
            const int m = m1 - ir < MR ? m1 - ir : MR;
            const float *a = j->A + (size_t)ir * j->lda + pc;
            long lda = j->lda;
            if (m < MR) { /* zero-padded copy of the partial row tile */
                for (int r = 0; r < MR; r++) {
                    if (r < m) memcpy(s->a + (size_t)r * kc, a + (size_t)r * lda, sizeof(float) * kc);
                    else memset(s->a + (size_t)r * kc, 0, sizeof(float) * kc);
                }
                a = s->a;
                lda = kc;
            }
            ops->kernel_narrow(kc, a, lda, b, ldb, j->C + (size_t)ir * j->ldc, j->ldc, m, j->N, load_c, bias, act);
        }
    }
}

/* ---- N == 1 -------------------------------------------------------------------------------------- */

#define GJ_DOT_KB 2048 /* the column is copied in pieces of this many floats (8 KB on the stack) */

static void dot_rect(const gemm_job *j, int m0, int m1)
{
    float col[GJ_DOT_KB];
    const int K = j->K;
    for (int k0 = 0; k0 < K; k0 += GJ_DOT_KB) {
        const int kn = K - k0 < GJ_DOT_KB ? K - k0 : GJ_DOT_KB;
        const int last = k0 + kn >= K;
        if (j->packed)
            for (int k = 0; k < kn; k++) col[k] = j->packed[(size_t)(k0 + k) * GJ_PANEL];
        else
            for (int k = 0; k < kn; k++) col[k] = j->B[(size_t)(k0 + k) * j->ldb];
        j->ops->dot_rows(m1 - m0, kn, j->A + (size_t)m0 * j->lda + k0, j->lda, col, j->C + (size_t)m0 * j->ldc,
                         j->ldc, last ? j->bias : NULL, last ? j->act : GJ_ACT_LINEAR, j->accumulate || k0 > 0);
    }
}

/* ---- M == 1 -------------------------------------------------------------------------------------- */

/* y = x[k0:k1] * B[k0:k1, :] with the given epilogue, on the calling thread. */
static void matvec_range(const gemm_job *j, int k0, int k1, float *y, const float *bias, int act, int accumulate)
{
    if (j->packed)
        j->ops->matvec_packed(j->N, k1 - k0, j->A + k0, j->packed + (size_t)k0 * GJ_PANEL, (long)j->K * GJ_PANEL, y,
                              bias, act, accumulate);
    else
        matvec_blocked(j->ops, j->N, k0, k1, j->A, j->B, j->ldb, y, bias, act, accumulate);
}

/* Large matvec: split K into GJ_MATVEC_TASKS slabs (each task streams a contiguous slab of B, which
 * is what DRAM and the prefetchers like) with partial sums, which the caller adds up in task order.
 * The split depends only on the shape, not on the number of threads or on which thread ran which
 * task, so the result is the same with 1 or 2 threads. */
typedef struct {
    const gemm_job *j;
    int ntasks;
    float *part; /* ntasks x N */
} matvec_ksplit_job;

static void matvec_ksplit_task(void *arg, int t)
{
    const matvec_ksplit_job *mj = arg;
    const gemm_job *j = mj->j;
    int k0 = (int)((long)t * j->K / mj->ntasks), k1 = (int)((long)(t + 1) * j->K / mj->ntasks);
    matvec_range(j, k0, k1, mj->part + (size_t)t * j->N, NULL, GJ_ACT_LINEAR, 0);
}

static int matvec_ksplit(const gemm_job *j, int ntasks, int nt)
{
    float *part = malloc(sizeof(float) * (size_t)ntasks * j->N);
    if (!part) return 0;
    matvec_ksplit_job mj = { j, ntasks, part };
    gj_pool_run_threads(matvec_ksplit_task, &mj, ntasks, nt);
    float *y = j->C;
    for (int n = 0; n < j->N; n++) {
        float v = j->accumulate ? y[n] : 0.0f;
        for (int t = 0; t < ntasks; t++) v += part[(size_t)t * j->N + n];
        if (j->bias) v += j->bias[n];
        y[n] = v;
    }
    gj_activate(y, j->N, j->act);
    free(part);
    return 1;
}

/* ---- threading ------------------------------------------------------------------------------------ */

static void run_rect(const gemm_job *j, int m0, int m1, int n0, int n1)
{
    switch (j->kind) {
    case GJ_KIND_DOT: dot_rect(j, m0, m1); break;
    case GJ_KIND_NARROW: narrow_rect(j, m0, m1); break;
    default: gemm_rect(j, m0, m1, n0, n1); break;
    }
}

static void gemm_task(void *arg, int t)
{
    const gemm_job *j = arg;
    int u0 = (int)((long)t * j->units / j->nt), u1 = (int)((long)(t + 1) * j->units / j->nt);
    if (u0 >= u1) return;
    if (j->split_n) {
        int n0 = u0 * GJ_PANEL, n1 = u1 * GJ_PANEL < j->N ? u1 * GJ_PANEL : j->N;
        run_rect(j, 0, j->M, n0, n1);
    } else {
        int m0 = u0 * j->unit_rows, m1 = u1 * j->unit_rows < j->M ? u1 * j->unit_rows : j->M;
        run_rect(j, m0, m1, 0, j->N);
    }
}

/* K == 0: C = (accumulate ? C : 0) + bias, then the activation. */
static void gemm_k0(int M, int N, float *C, long ldc, const float *bias, int act, int accumulate)
{
    for (int i = 0; i < M; i++)
        for (int n = 0; n < N; n++) {
            float v = accumulate ? C[i * ldc + n] : 0.0f;
            if (bias) v += bias[n];
            C[i * ldc + n] = gj_act_scalar(v, act);
        }
}

static void gemm_run(gemm_job *j)
{
    const int M = j->M, N = j->N;
    int nt = gj_pool_threads();

    if (M == 1) {
        const double bytes = 4.0 * N * j->K;
        if (bytes >= 2.0 * GJ_MATVEC_MIN_BYTES && j->K >= GJ_MATVEC_TASKS * 64) {
            if (bytes < (double)GJ_MATVEC_MIN_BYTES * nt) nt = (int)(bytes / GJ_MATVEC_MIN_BYTES);
            if (matvec_ksplit(j, GJ_MATVEC_TASKS, nt)) return;
        }
        matvec_range(j, 0, j->K, j->C, j->bias, j->act, j->accumulate);
        return;
    }

    if (N == 1) {
        j->kind = GJ_KIND_DOT;
        j->unit_rows = 16;
    } else if (N <= j->ops->narrow_nr) {
        j->kind = GJ_KIND_NARROW;
        j->unit_rows = j->ops->narrow_mr;
    } else {
        j->kind = GJ_KIND_TILED;
        j->unit_rows = j->ops->mr;
    }
    if (nt > 1) {
        const double macs = (double)M * N * j->K;
        /* the clock is read only for jobs the busy-period rule could split */
        const int busy = macs >= 2.0 * GJ_MIN_MACS_PER_THREAD_BUSY && gj_pool_in_busy_period();
        const double cap = macs / (busy ? GJ_MIN_MACS_PER_THREAD_BUSY : GJ_MIN_MACS_PER_THREAD);
        if (cap < nt) nt = (int)cap;
    }
    if (nt <= 1) {
        run_rect(j, 0, M, 0, N);
        return;
    }
    int mtiles = (M + j->unit_rows - 1) / j->unit_rows;
    int npanels = (N + GJ_PANEL - 1) / GJ_PANEL;
    /* Packed B: split the axis whose duplicated operand is smaller (N-split re-reads A, M*K;
     * M-split re-reads B, K*N); every task streams whole contiguous panels.
     * Unpacked B: split M. Every task packs the B blocks it needs, so N-split would have the
     * threads read interleaved pieces of each B row (measured slower), and M-split tasks
     * read B sequentially. The narrow and N == 1 kernels always split M. */
    int prefer_n = j->kind == GJ_KIND_TILED &&
                   (j->packed ? (M < N && npanels >= nt) || mtiles < nt : mtiles < nt);
    j->split_n = prefer_n;
    j->units = prefer_n ? npanels : mtiles;
    if (j->units < nt) nt = j->units;
    if (nt <= 1) {
        run_rect(j, 0, M, 0, N);
        return;
    }
    /* Dynamically claimed tasks, several per thread -- unless every task would re-pack a big
     * unpacked B (one task per thread then). */
    int ntasks = nt * GJ_TASKS_PER_THREAD;
    if (j->kind == GJ_KIND_TILED && !j->packed && !prefer_n && (long)j->K * N > 16L * 1024) ntasks = nt;
    if (ntasks > j->units) ntasks = j->units;
    j->nt = ntasks;
    gj_pool_run_threads(gemm_task, j, ntasks, nt);
}

void gj_sgemm(int M, int N, int K, const float *A, int lda, const float *B, int ldb,
              float *C, int ldc, const float *bias, int activation, int accumulate)
{
    if (M <= 0 || N <= 0) return;
    if (!gj_act_vectorized(gj_ops(), activation)) {
        /* an activation this path's epilogues lack: a linear GEMM, then the activation pass */
        gj_sgemm(M, N, K, A, lda, B, ldb, C, ldc, bias, GJ_ACT_LINEAR, accumulate);
        gj_activate_rows(C, M, N, ldc, activation);
        return;
    }
    if (K <= 0) {
        gemm_k0(M, N, C, ldc, bias, activation, accumulate);
        return;
    }
    gemm_job j = {
        .ops = gj_ops(), .M = M, .N = N, .K = K, .A = A, .lda = lda, .B = B, .ldb = ldb,
        .packed = NULL, .C = C, .ldc = ldc, .bias = bias, .act = activation, .accumulate = accumulate,
    };
    gemm_run(&j);
}

void gj_sgemm_packed(int M, int N, int K, const float *A, int lda, const float *packed_b,
                     float *C, int ldc, const float *bias, int activation, int accumulate)
{
    if (M > 0 && N > 0 && !gj_act_vectorized(gj_ops(), activation)) {
        gj_sgemm_packed(M, N, K, A, lda, packed_b, C, ldc, bias, GJ_ACT_LINEAR, accumulate);
        gj_activate_rows(C, M, N, ldc, activation);
        return;
    }
    if (M == 1 && N > 0 && K > 0 && (long)N * K <= GJ_MATVEC_DIRECT_FLOATS) {
        /* small matvec (an LSTM step at batch 1): straight to the kernel, it takes ~100-300 ns */
        gj_ops()->matvec_packed(N, K, A, packed_b, (long)K * GJ_PANEL, C, bias, activation, accumulate);
        return;
    }
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        gemm_k0(M, N, C, ldc, bias, activation, accumulate);
        return;
    }
    gemm_job j = {
        .ops = gj_ops(), .M = M, .N = N, .K = K, .A = A, .lda = lda, .B = NULL, .ldb = 0,
        .packed = packed_b, .C = C, .ldc = ldc, .bias = bias, .act = activation, .accumulate = accumulate,
    };
    gemm_run(&j);
}
