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
 * M == 1 (e.g. an LSTM step at batch 1) goes to the matvec routines, which stream B once without
 * any blocking or packing overhead.
 *
 * Threading: with at least GJ_MIN_MACS_PER_THREAD multiply-adds per thread, the problem is cut
 * into rectangles either along M (in whole MR row panels) or along N (in whole 32-column panels),
 * whichever re-reads less memory (splitting M makes every task read all of B, splitting N makes
 * every task read all of A), and the rectangles are run through the pool (thread_pool.c): one per
 * thread for big jobs, four per thread for small ones so that a worker that wakes up late costs
 * little (the caller claims its rectangles). Each rectangle runs the serial blocked code above.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "gj_internal.h"

#define GJ_KC 256          /* K block: MR x KC floats of A (8 KB) fit L1 next to the B stream */
#define GJ_NC 512          /* N block: KC x NC floats of B (512 KB) fit the 1-2 MB L2 */
#define GJ_MR_MAX 8
/* Waking a pool worker costs ~5 us (best case) to ~25 us (loaded machine), i.e. the time for
 * ~0.25-1.2M multiply-adds, so a thread only pays off with about 1M multiply-adds to do. */
#define GJ_MIN_MACS_PER_THREAD (1024L * 1024)
/* Jobs smaller than this per thread are cut into 4 tasks per thread, claimed dynamically, so a
 * late-waking worker costs less; larger jobs use one task per thread (fewer re-reads). */
#define GJ_DYNAMIC_MACS_PER_THREAD (16L * 1024 * 1024)

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
    /* threading: the rectangle of task t is units [t*units/nt, (t+1)*units/nt) along one axis
     * (nt = number of tasks) */
    int split_n, units, nt;
} gemm_job;

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

    if (m1 - m0 == 1) { /* matvec */
        const float *x = j->A + m0 * j->lda;
        float *y = j->C + m0 * j->ldc + n0;
        const float *bias = j->bias ? j->bias + n0 : NULL;
        if (j->packed)
            ops->matvec_packed(n1 - n0, K, x, j->packed + (size_t)(n0 / GJ_PANEL) * K * GJ_PANEL,
                               (long)K * GJ_PANEL, y, bias, j->act, j->accumulate);
        else
            matvec_blocked(ops, n1 - n0, 0, K, x, j->B + n0, j->ldb, y, bias, j->act, j->accumulate);
        return;
    }

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

static void gemm_task(void *arg, int t)
{
    const gemm_job *j = arg;
    int u0 = (int)((long)t * j->units / j->nt), u1 = (int)((long)(t + 1) * j->units / j->nt);
    if (u0 >= u1) return;
    if (j->split_n) {
        int n0 = u0 * GJ_PANEL, n1 = u1 * GJ_PANEL < j->N ? u1 * GJ_PANEL : j->N;
        gemm_rect(j, 0, j->M, n0, n1);
    } else {
        int mr = j->ops->mr;
        int m0 = u0 * mr, m1 = u1 * mr < j->M ? u1 * mr : j->M;
        gemm_rect(j, m0, m1, 0, j->N);
    }
}

/* Threaded matvec with an unpacked B: split K (each thread streams a contiguous slab of B,
 * which is what DRAM and the prefetchers like; splitting N would make the threads read
 * interleaved pieces of every row), partial sums into `part`, reduced by the caller. */
typedef struct {
    const gemm_job *j;
    int nt;
    float *part; /* nt x N */
} matvec_ksplit_job;

static void matvec_ksplit_task(void *arg, int t)
{
    const matvec_ksplit_job *mj = arg;
    const gemm_job *j = mj->j;
    int k0 = (int)((long)t * j->K / mj->nt), k1 = (int)((long)(t + 1) * j->K / mj->nt);
    matvec_blocked(j->ops, j->N, k0, k1, j->A, j->B, j->ldb, mj->part + (size_t)t * j->N, NULL,
                   GJ_ACT_LINEAR, 0);
}

static int matvec_ksplit(gemm_job *j, int nt)
{
    float *part = malloc(sizeof(float) * (size_t)nt * j->N);
    if (!part) return 0;
    matvec_ksplit_job mj = { j, nt, part };
    gj_pool_run_threads(matvec_ksplit_task, &mj, nt, nt);
    float *y = j->C;
    for (int n = 0; n < j->N; n++) {
        float v = j->accumulate ? y[n] : 0.0f;
        for (int t = 0; t < nt; t++) v += part[(size_t)t * j->N + n];
        if (j->bias) v += j->bias[n];
        y[n] = v;
    }
    gj_activate(y, j->N, j->act);
    free(part);
    return 1;
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
    if (nt > 1) {
        double macs = (double)M * N * j->K;
        double cap = macs / GJ_MIN_MACS_PER_THREAD;
        if (cap < nt) nt = (int)cap;
    }
    if (nt > 1 && M == 1 && !j->packed && j->K >= 64 * nt) {
        if (matvec_ksplit(j, nt)) return;
    }
    int dynamic = 0;
    if (nt > 1) {
        int mtiles = (M + j->ops->mr - 1) / j->ops->mr;
        int npanels = (N + GJ_PANEL - 1) / GJ_PANEL;
        /* Packed B: split the axis whose duplicated operand is smaller (N-split re-reads A,
         * M*K; M-split re-reads B, K*N); every task streams whole contiguous panels.
         * Unpacked B: split M. Every task packs the B blocks it needs, so N-split would have the
         * threads read interleaved pieces of each B row (measured slower), and M-split tasks
         * read B sequentially. */
        int prefer_n = j->packed ? (M < N && npanels >= nt) || mtiles < nt : mtiles < nt;
        j->split_n = prefer_n;
        j->units = prefer_n ? npanels : mtiles;
        if (j->units < nt) nt = j->units;
        /* more, dynamically claimed tasks for small jobs -- unless each extra task would re-pack
         * a big unpacked B */
        dynamic = (double)M * N * j->K / nt < GJ_DYNAMIC_MACS_PER_THREAD &&
                  (j->packed || prefer_n || (long)j->K * N <= 16L * 1024);
    }
    if (nt <= 1) {
        gemm_rect(j, 0, M, 0, N);
        return;
    }
    int ntasks = dynamic ? 4 * nt : nt;
    if (ntasks > j->units) ntasks = j->units;
    j->nt = ntasks;
    gj_pool_run_threads(gemm_task, j, ntasks, nt);
}

void gj_sgemm(int M, int N, int K, const float *A, int lda, const float *B, int ldb,
              float *C, int ldc, const float *bias, int activation, int accumulate)
{
    if (M <= 0 || N <= 0) return;
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
