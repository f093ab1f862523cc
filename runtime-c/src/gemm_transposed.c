/*
 * gemm_transposed.c - gj_sgemm_t: sgemm with op(A) = A or Aᵀ and op(B) = B or Bᵀ, for training
 * (dW = Xᵀ·dZ is trans_a, dX = dZ·Wᵀ is trans_b). Semantics: gemm_transposed.h.
 *
 * No new micro-kernels: the operands are brought into the forms the existing path kernels read,
 * block by block, and each block runs through gj_sgemm_packed (which picks the tiled, narrow-N,
 * N == 1 or M == 1 kernel of the current path and handles every edge):
 *
 *   for jc in N by NC (512):                  columns of C (rectangle of this task)
 *     for pc in K by KC (256 * n, see below): K blocks
 *       B~ = op(B)[pc:pc+kc, jc:jc+nc]        packed into the 32-column panel layout of
 *                                             gj_internal.h, as 256-row sub-blocks that are each a
 *                                             packed block of their own; from B[K,N] a plain copy
 *                                             (gj_pack_b_block), from B[N,K] an 8x8-tiled transpose
 *                                             of 32 storage rows per panel
 *       for ic in rows by MC (trans_a; otherwise one block of all rows):
 *         A~ = op(A)[ic:ic+mc, pc:pc+kc]      trans_a: (A[pc:pc+kc, ic:ic+mc])ᵀ, 8x8-tiled, into
 *                                             a buffer; otherwise A itself, read in place
 *         for row chunks of ~512K multiply-adds, for each 256-row K sub-block:
 *           prefetch a slice of the next block's sources (see t_rect)
 *           gj_sgemm_packed(chunk rows, nc, 256, A~ + chunk, B~ sub-block, C + chunk)
 *
 * B~ (at most 128K floats = 512 KB) and A~ (at most 64K floats = 256 KB) live in per-thread
 * buffers (pthread key, allocated on a thread's first call and freed when it exits), so they are
 * written and then read again from L2. KC is as large as B~ allows (N = 32: 4096; N >= 512: 256),
 * capped at 1024 with trans_a so that A~ still holds 48 rows. The K sub-blocks are 256 rows, so
 * the K blocks end where gj_sgemm's own K blocks would. The first K block stores (or adds to C
 * if `accumulate`), later ones add, and only the last one adds the bias and applies the
 * activation: the same epilogue as gj_sgemm.
 *
 * The packing reads A and B from memory in a phase of its own, which on its own runs at DRAM
 * speed (~20 GB/s, about 0.2 ns per float). So while one block computes, the storage of the next
 * A~ and B~ blocks is prefetched into L2 in slices, one slice before each gj_sgemm_packed call,
 * as gemm_driver.c prefetches its next B block (dX = dZ·Wᵀ below: 6.4 -> 5.2 ms).
 *
 * Transposes: 8x8 tiles of unpack/shuffle/permute2f128 on the AVX2 and AVX-512 paths (one
 * tile is 8 loads, 24 shuffles, 8 stores; ~0.05-0.1 ns per float from L1/L2), plain C on the
 * portable path (~0.3 ns per float).
 *
 * Special shapes:
 *   - trans_b with N == 1: op(B) is the contiguous vector B[0:K], i.e. B[K,1] with ldb = 1;
 *     trans_a with K == 1: op(A) is A[0:M] as A[M,1] with lda = 1. Both just drop the flag.
 *   - M == 1: the row x = op(A)[0, :] (gathered in pieces of 64K floats when trans_a) times
 *     op(B): gj_sgemm's matvec for B[K,N]; for B[N,K], N dot products of the storage rows with x
 *     (gj_sgemm with M' = N, N' = 1, reading B in place), then bias and activation.
 *
 * Threading (same thresholds as gemm_driver.c: at least 4M multiply-adds per thread): C is cut
 * along M (in whole row tiles) or N (in whole 32-column panels). Every task packs the op(B)
 * blocks of its columns and transposes the A blocks of its rows, so an M split repeats the
 * packing of op(B) in every task and an N split the transposing (or reading) of op(A); the axis
 * that repeats less is split, and into 4 tasks per thread (claimed dynamically) only while the
 * repeated work stays below ~3 % of the arithmetic, else one task per thread. dX = dZ·Wᵀ thus
 * splits N (each task transposes its own rows of W), dW = Xᵀ·dZ with large M splits M. Tasks run
 * on the worker pool; the gj_sgemm_packed calls made inside a task run on that task's thread.
 * Long K with a small C (K >= 4096, K >= 4 max(M, N), M*N <= 32K; e.g. a conv dW = im2colᵀ·dZ) is split
 * instead into 8 slabs of K with partial products (malloc'ed, 8*M*N floats) that the caller adds
 * in slab order; that choice depends on the shape only, not on the thread count.
 *
 * If a buffer cannot be allocated the affected part falls back to a plain (slow, correct) loop.
 */
#include "gj_internal.h" /* first: its fp-contract pragma must precede the intrinsics */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define GJ_T_HAVE_AVX2 1
#endif

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
/* One 8x8 tile: rows s, s+lds, ..., s+7*lds (8 floats each) -> rows d, d+ldd, ..., d+7*ldd. */
GJ_TARGET_AVX2 static inline void tile8x8_avx2(const float *s, long lds, float *d, long ldd)
{
    const __m256 a0 = _mm256_loadu_ps(s), a1 = _mm256_loadu_ps(s + lds);
    const __m256 a2 = _mm256_loadu_ps(s + 2 * lds), a3 = _mm256_loadu_ps(s + 3 * lds);
    const __m256 a4 = _mm256_loadu_ps(s + 4 * lds), a5 = _mm256_loadu_ps(s + 5 * lds);
    const __m256 a6 = _mm256_loadu_ps(s + 6 * lds), a7 = _mm256_loadu_ps(s + 7 * lds);
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
    _mm256_storeu_ps(d, _mm256_permute2f128_ps(u0, u4, 0x20));
    _mm256_storeu_ps(d + ldd, _mm256_permute2f128_ps(u1, u5, 0x20));
    _mm256_storeu_ps(d + 2 * ldd, _mm256_permute2f128_ps(u2, u6, 0x20));
    _mm256_storeu_ps(d + 3 * ldd, _mm256_permute2f128_ps(u3, u7, 0x20));
    _mm256_storeu_ps(d + 4 * ldd, _mm256_permute2f128_ps(u0, u4, 0x31));
    _mm256_storeu_ps(d + 5 * ldd, _mm256_permute2f128_ps(u1, u5, 0x31));
    _mm256_storeu_ps(d + 6 * ldd, _mm256_permute2f128_ps(u2, u6, 0x31));
    _mm256_storeu_ps(d + 7 * ldd, _mm256_permute2f128_ps(u3, u7, 0x31));
}

/* Rows in steps of 8, columns in 8x8 tiles. When the destination rows (cols x ldd floats) are
 * larger than L1, the columns go in blocks of T_TR_CB, all rows of a block before the next, so
 * that a block's destination lines are completed while they are still in L1 (writing the rows of
 * a 64 x 816 A block to A~: 0.113 -> 0.096 ns per float, from L2). The columns past the last whole tile are
 * copied one by one with each group of 8 rows, while those source rows are in L1. */
#define T_TR_CB 32
GJ_TARGET_AVX2 static void transpose_avx2(int rows, int cols, const float *src, long lds, float *dst, long ldd)
{
    const int rows8 = rows & ~7, cols8 = cols & ~7;
    const int cblock = (long)cols * ldd <= 4096 ? cols : T_TR_CB;
    for (int cb = 0; cb < cols; cb += cblock) {
        const int ce = imin(cb + cblock, cols8), cend = cb + cblock >= cols8 ? cols : ce;
        for (int r0 = 0; r0 < rows8; r0 += 8) {
            for (int c0 = cb; c0 < ce; c0 += 8)
                tile8x8_avx2(src + (size_t)r0 * lds + c0, lds, dst + (size_t)c0 * ldd + r0, ldd);
            for (int c = ce; c < cend; c++)
                for (int r = r0; r < r0 + 8; r++) dst[(size_t)c * ldd + r] = src[(size_t)r * lds + c];
        }
        for (int c = cb; c < cend; c++)
            for (int r = rows8; r < rows; r++) dst[(size_t)c * ldd + r] = src[(size_t)r * lds + c];
        if (cend == cols) break;
    }
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

/* ---- software prefetch of the next block's sources ----------------------------------------------
 * `count` regions of `bytes` bytes, `stride` bytes apart; part i of `parts` touches the i-th slice
 * of their cache lines (prefetcht1: into L2), as in gemm_driver.c. Rows that (nearly) touch each
 * other are treated as one contiguous region. */
typedef struct {
    const char *base;
    long stride, count, bytes;
} tprefetch;

static tprefetch tpf_rows(const float *base, long ld, long rows, long cols)
{
    tprefetch p = { (const char *)base, ld * 4, rows, cols * 4 };
    if (rows > 1 && p.bytes + 64 >= p.stride) {
        p.bytes += (rows - 1) * p.stride;
        p.count = 1;
    }
    return p;
}

static void tpf_part(const tprefetch *p, long i, long parts)
{
    if (p->count <= 0) return;
    const long lines_per = (p->bytes + 63) / 64, total = lines_per * p->count;
    long l = total * i / parts, n = total * (i + 1) / parts - l;
    long row = l / lines_per, col = (l % lines_per) * 64;
    for (; n > 0; n--) {
        __builtin_prefetch(p->base + row * p->stride + col, 0, 2);
        if ((col += 64) >= lines_per * 64) {
            col = 0;
            row++;
        }
    }
}

/* storage read for op(A)[ic:ic+m, pc:pc+kc] (trans_a) and op(B)[pc:pc+kc, jc:jc+nc] */
static tprefetch tpf_a(const tjob *j, int pc, int kc, int ic, int m)
{
    return tpf_rows(j->A + (size_t)pc * j->lda + ic, j->lda, kc, m);
}

static tprefetch tpf_b(const tjob *j, int pc, int kc, int jc, int nc)
{
    return j->tb ? tpf_rows(j->B + (size_t)jc * j->ldb + pc, j->ldb, nc, kc)
                 : tpf_rows(j->B + (size_t)pc * j->ldb + jc, j->ldb, kc, nc);
}

/* ---- one rectangle on the calling thread ------------------------------------------------------------
 * Rows [m0,m1) x columns [n0,n1) of C (C, ldc: the output, indexed by absolute row and column)
 * over the K range [k0,k1), with the given epilogue.
 *
 * While a block computes, the storage of the next op(B) block and of the next A~ block is
 * prefetched into L2: the block runs as several gj_sgemm_packed calls (row chunks of about
 * T_CHUNK_MACS multiply-adds, times the 256-row K sub-blocks), and one slice of the prefetches
 * goes before each call. The sub-block calls matter for few rows (conv dW, M = 27: one row
 * chunk), where the whole prefetch would otherwise be one burst that stalls. */
#define T_CHUNK_MACS (512L * 1024)
static void t_rect(const tjob *j, int m0, int m1, int n0, int n1, int k0, int k1, float *C, long ldc,
                   const float *bias, int act, int accumulate)
{
    tscratch_t *s = tscratch();
    if (!s) {
        t_naive(j, m0, m1, n0, n1, k0, k1, C, ldc, bias, act, accumulate);
        return;
    }
    const int kcmax = j->kcmax;
    for (int jc = n0; jc < n1; jc += T_NC) {
        const int nc = imin(T_NC, n1 - jc);
        for (int pc = k0; pc < k1; pc += kcmax) {
            const int kc = imin(kcmax, k1 - pc);
            const int last = pc + kc >= k1;
            const int load_c = accumulate || pc > k0;
            const float *bb = last && bias ? bias + jc : NULL;
            const int a_act = last ? act : GJ_ACT_LINEAR;
            /* B~ as 256-row K sub-blocks, each a packed block of its own (panel stride ksub*32), so
             * that a call can cover one sub-block: small-M blocks then still make several calls
             * to spread the prefetches over */
            const int ncp = (nc + GJ_PANEL - 1) / GJ_PANEL * GJ_PANEL, nsub = (kc + T_KC - 1) / T_KC;
            for (int kk = 0; kk < kc; kk += T_KC) pack_opb(j, pc + kk, imin(T_KC, kc - kk), jc, nc, s->b + (size_t)kk * ncp);

            /* the next (pc, jc) block, if any */
            const int pn = last ? k0 : pc + kc, jn = last ? jc + T_NC : jc;
            const int kn = imin(kcmax, k1 - pn), nn = imin(T_NC, n1 - jn);
            tprefetch pfb = { 0 };
            if (jn < n1) pfb = tpf_b(j, pn, kn, jn, nn);

            /* A~: rows 16 floats longer than kc, rounded to 16 (with kc a multiple of 256, a row
             * stride of kc floats would put every row in the same L1 set); mc rows, a multiple of
             * 48 (>= 48 as kc <= T_A_KC_MAX) */
            const int lda_t = (kc + 15) / 16 * 16 + 16;
            const int mc = j->ta ? T_A_FLOATS / lda_t / T_A_ROWS * T_A_ROWS : m1 - m0;
            long rc = (T_CHUNK_MACS / ((long)nc * kc) + T_A_ROWS - 1) / T_A_ROWS * T_A_ROWS;
            if (rc < T_A_ROWS) rc = T_A_ROWS;
            long parts = 0, part = 0;
            for (int ic = m0; ic < m1; ic += mc) parts += (imin(mc, m1 - ic) + rc - 1) / rc * nsub;

            for (int ic = m0; ic < m1; ic += mc) {
                const int m = imin(mc, m1 - ic);
                const float *a = j->A + (size_t)ic * j->lda + pc;
                long lda = j->lda;
                tprefetch pfa = { 0 };
                if (j->ta) {
                    transpose(kc, m, j->A + (size_t)pc * j->lda + ic, j->lda, s->a, lda_t);
                    a = s->a;
                    lda = lda_t;
                    if (ic + mc < m1) pfa = tpf_a(j, pc, kc, ic + mc, imin(mc, m1 - ic - mc));
                    else if (jn < n1) pfa = tpf_a(j, pn, kn, m0, imin(mc, m1 - m0));
                }
                const long ncall = (m + rc - 1) / rc * nsub;
                long q = 0;
                for (long r = 0; r < m; r += rc) {
                    const int mr = (int)(m - r < rc ? m - r : rc);
                    for (int kk = 0; kk < kc; kk += T_KC, q++, part++) {
                        const int ks = imin(T_KC, kc - kk), lastk = kk + ks >= kc;
                        tpf_part(&pfa, q, ncall);
                        tpf_part(&pfb, part, parts);
                        gj_sgemm_packed(mr, nc, ks, a + (size_t)r * lda + kk, (int)lda, s->b + (size_t)kk * ncp,
                                        C + (size_t)(ic + r) * ldc + jc, (int)ldc, lastk ? bb : NULL,
                                        lastk ? a_act : GJ_ACT_LINEAR, load_c || kk > 0);
                    }
                }
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

    /* What every task repeats, in float copies (a transpose counted as two, re-reading A from
     * memory as half): splitting M, each task packs all of op(B); splitting N, each task
     * transposes (trans_a) or re-reads all of op(A). */
    const double dup_m = (double)K * N * (j->tb ? 2.0 : 1.0), dup_n = (double)M * K * (j->ta ? 2.0 : 0.5);
    int nt = gj_pool_threads();
    if (nt > 1) {
        const double cap = macs / T_MIN_MACS_PER_THREAD;
        if (cap < nt) nt = (int)cap;
    }
    if (nt > 1) {
        j->unit_rows = N == 1 ? 16 : N <= ops->narrow_nr ? ops->narrow_mr : ops->mr;
        const int mtiles = (M + j->unit_rows - 1) / j->unit_rows, npanels = (N + GJ_PANEL - 1) / GJ_PANEL;
        /* split the axis that repeats less (dup_m, dup_n) */
        j->split_n = dup_n < dup_m ? npanels >= nt : mtiles < nt;
        j->units = j->split_n ? npanels : mtiles;
        if (j->units < nt) nt = j->units;
    }
    if (nt <= 1) {
        t_rect(j, 0, M, 0, N, 0, K, j->C, j->ldc, j->bias, j->act, j->accumulate);
        return;
    }
    /* several dynamically claimed tasks per thread, unless the work every task repeats would then
     * exceed ~3 % of the arithmetic (a float copy costs about as much as 8 multiply-adds at peak) */
    int ntasks = nt * T_TASKS_PER_THREAD;
    const double dup = j->split_n ? dup_n : dup_m;
    if (dup * 256.0 * ntasks > macs) ntasks = nt;
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
