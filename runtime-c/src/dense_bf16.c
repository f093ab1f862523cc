/*
 * dense_bf16.c - Dense with bfloat16 weights: the kernel is stored as bf16 (half the bytes of
 * float32), the arithmetic is float32.
 *
 * C[M,N] = A[M,K] x W[K,N], where W is the packed bf16 kernel widened to float32 (exact: the 16 bits
 * shifted left by 16). No bias, no activation. Every output is computed in one fixed order, on every
 * path and for every tile shape: K is cut into blocks of GJ_BF16_K_BLOCK = 4096 rows; within a block,
 * one float32 FMA chain in k order from +0; the blocks' sums are added in block order:
 *     p_b = +0;  for k in block b (ascending):  p_b = fma(A[m,k], W[k,n], p_b)
 *     C[m,n] = (((p_0 + p_1) + p_2) + ...)
 * (the portable path calls fmaf). So a row's result does not depend on M, on the tile it fell into,
 * on the thread count or on the CPU path: the three paths agree bit for bit. Independent
 * accumulators come from more columns per row tile, never from splitting a chain: a single row
 * (matvec) uses tiles of 64 columns (4 zmm chains; AVX2 32 columns, 4 ymm chains).
 * The AVX512_BF16 dot products (vdpbf16ps) are not used: they round the activations to bf16 too.
 *
 * Blocked like quantized.c: register tiles specialized per shape (always_inline bodies +
 * macro-generated functions), the K blocks above keep a column panel in L2 while every row tile of
 * a task uses it, tasks numbered panel-major. The running sums between K blocks live in C itself.
 * Threads: work is split only when each thread gets ~4M multiply-adds or ~2 MB of weights, in a few
 * contiguous chunks of tasks per thread claimed dynamically (gj_pool_run_threads, as gemm_driver.c
 * does: a worker that wakes late takes fewer). A matvec (one row tile) is split over (column panel,
 * K block) tasks, the sums of K blocks 1.. kept in a 4 KB stack array and added to C by the caller
 * in block order. No memory but C and the stack (about 5 KB at most, frames included); no global
 * state; safe to call from several threads at once.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "gj_internal.h"

/* ---- Packed kernel layout (every path) ----------------------------------------------------------
 * ceil(N/16) column blocks; block b holds columns [16b, 16b+16) as ceil(K/2) steps of 64 bytes.
 * Step s is 16 little-endian 32-bit words, word c (column 16b+c) =
 *     bf16(W[2s][16b+c])  |  bf16(W[2s+1][16b+c]) << 16
 * zero past N and past K. Block b starts at word b * 16 * ceil(K/2).
 * Widening one step is then two integer operations on the whole 64 bytes: word << 16 is row 2s as
 * float32, word & 0xFFFF0000 is row 2s+1 (AVX2 reads the step as two 32-byte halves of 8 columns). */
enum { GJ_BF16_COLUMNS = 16 };

static size_t blocks_of(int N) { return ((size_t)N + GJ_BF16_COLUMNS - 1) / GJ_BF16_COLUMNS; }
static size_t steps_of(int K) { return ((size_t)K + 1) / 2; }

size_t gj_bf16_kernel_floats(int K, int N)
{
    if (K <= 0 || N <= 0) return 0;
    return blocks_of(N) * steps_of(K) * GJ_BF16_COLUMNS; /* one 32-bit word = two bf16 per float */
}

/* Round to nearest even; NaN stays NaN, made quiet (sign and top payload bits kept). */
static uint32_t bf16_bits(float value)
{
    uint32_t u;
    memcpy(&u, &value, sizeof u);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (u >> 16) | 0x0040u;
    return (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16; /* no overflow: the largest non-NaN is 0xFF800000 */
}

void gj_pack_bf16_kernel(int K, int N, const float *kernel, void *packed)
{
    if (K <= 0 || N <= 0) return;
    uint32_t *out = packed;
    const size_t blocks = blocks_of(N), steps = steps_of(K);
    for (size_t b = 0; b < blocks; b++)
        for (size_t s = 0; s < steps; s++) {
            const size_t k = 2 * s;
            for (size_t c = 0; c < GJ_BF16_COLUMNS; c++) {
                const size_t n = b * GJ_BF16_COLUMNS + c;
                uint32_t word = 0;
                if (n < (size_t)N) {
                    word = bf16_bits(kernel[k * (size_t)N + n]);
                    if (k + 1 < (size_t)K) word |= bf16_bits(kernel[(k + 1) * (size_t)N + n]) << 16;
                }
                out[(b * steps + s) * GJ_BF16_COLUMNS + c] = word;
            }
        }
}

/* ---- Tiles --------------------------------------------------------------------------------------
 * A tile computes rows [0, mr) (A row stride lda) x columns [0, cols) of nb column blocks (`block`
 * words apart) over the steps [s0, s1) of one K block, K being the true depth (the last step of an
 * odd K has a single row): one FMA chain per output from +0, in k order. Then it stores the chains
 * to c (row stride ldc), or with `add` stores c + chain (the sum of the K blocks so far). Columns past
 * `cols` are never loaded or stored; their padded zero weights stay in registers. */
typedef void (*bf16_tile_fn)(const float *a, size_t lda, const uint32_t *w, size_t block, size_t s0, size_t s1,
                             int K, float *c, size_t ldc, int cols, int add);

static float widen(uint32_t bits)
{
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static inline __attribute__((always_inline)) void tile_portable_body(const int mr, const float *a, size_t lda,
                                                                     const uint32_t *w, size_t s0, size_t s1, int K,
                                                                     float *c, size_t ldc, int cols, int add)
{
    float acc[4][GJ_BF16_COLUMNS];
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < GJ_BF16_COLUMNS; j++) acc[i][j] = 0.0f;
    const size_t full = 2 * s1 > (size_t)K ? s1 - 1 : s1;
    for (size_t s = s0; s < full; s++) {
        const uint32_t *step = w + s * GJ_BF16_COLUMNS;
        for (int i = 0; i < mr; i++) {
            const float a0 = a[(size_t)i * lda + 2 * s], a1 = a[(size_t)i * lda + 2 * s + 1];
            for (int j = 0; j < GJ_BF16_COLUMNS; j++) {
                acc[i][j] = fmaf(a0, widen(step[j] << 16), acc[i][j]);
                acc[i][j] = fmaf(a1, widen(step[j] & 0xFFFF0000u), acc[i][j]);
            }
        }
    }
    if (full < s1) { /* odd K: row K-1 alone */
        const uint32_t *step = w + full * GJ_BF16_COLUMNS;
        for (int i = 0; i < mr; i++) {
            const float a0 = a[(size_t)i * lda + 2 * full];
            for (int j = 0; j < GJ_BF16_COLUMNS; j++) acc[i][j] = fmaf(a0, widen(step[j] << 16), acc[i][j]);
        }
    }
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < cols; j++) c[(size_t)i * ldc + j] = add ? c[(size_t)i * ldc + j] + acc[i][j] : acc[i][j];
}

#if defined(__x86_64__)
#include <immintrin.h>

/* AVX-512: up to 8 rows x 2 blocks, or fewer rows x up to 4 blocks (mr * nb <= 16 zmm sums). */
static inline __attribute__((always_inline)) GJ_TARGET_AVX512 void
tile_avx512_body(const int mr, const int nb, const float *a, size_t lda, const uint32_t *w, size_t block, size_t s0,
                 size_t s1, int K, float *c, size_t ldc, int cols, int add)
{
    __mmask16 mask[4];
    for (int j = 0; j < nb; j++) {
        const int n = cols - 16 * j;
        mask[j] = n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
    }
    __m512 acc[8][4];
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nb; j++) acc[i][j] = _mm512_setzero_ps();
    const __m512i high = _mm512_set1_epi32((int)0xFFFF0000u);
    const size_t full = 2 * s1 > (size_t)K ? s1 - 1 : s1;
    for (size_t s = s0; s < full; s++) {
        __m512 lo[4], hi[4];
        for (int j = 0; j < nb; j++) {
            const __m512i words = _mm512_loadu_si512(w + (size_t)j * block + s * GJ_BF16_COLUMNS);
            lo[j] = _mm512_castsi512_ps(_mm512_slli_epi32(words, 16));
            hi[j] = _mm512_castsi512_ps(_mm512_and_si512(words, high));
        }
        for (int i = 0; i < mr; i++) {
            const __m512 x = _mm512_set1_ps(a[(size_t)i * lda + 2 * s]);
            for (int j = 0; j < nb; j++) acc[i][j] = _mm512_fmadd_ps(x, lo[j], acc[i][j]);
        }
        for (int i = 0; i < mr; i++) {
            const __m512 x = _mm512_set1_ps(a[(size_t)i * lda + 2 * s + 1]);
            for (int j = 0; j < nb; j++) acc[i][j] = _mm512_fmadd_ps(x, hi[j], acc[i][j]);
        }
    }
    if (full < s1) {
        for (int j = 0; j < nb; j++) {
            const __m512i words = _mm512_loadu_si512(w + (size_t)j * block + full * GJ_BF16_COLUMNS);
            const __m512 lo = _mm512_castsi512_ps(_mm512_slli_epi32(words, 16));
            for (int i = 0; i < mr; i++)
                acc[i][j] = _mm512_fmadd_ps(_mm512_set1_ps(a[(size_t)i * lda + 2 * full]), lo, acc[i][j]);
        }
    }
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nb; j++) {
            float *p = c + (size_t)i * ldc + 16 * j;
            if (add) acc[i][j] = _mm512_add_ps(_mm512_maskz_loadu_ps(mask[j], p), acc[i][j]);
            _mm512_mask_storeu_ps(p, mask[j], acc[i][j]);
        }
}

/* AVX2: 16 columns as two ymm halves; up to 4 rows x 1 block, or 2 x 2 and 1 x 2 (at most 8 ymm
 * sums, 4 widened weights, the broadcasts and the mask constant: the 16 ymm registers). With one
 * row every weight vector costs a widening operation per FMA; on Zen 4 a 1 x 2 tile (4 chains)
 * already runs at that limit (~1 ymm of weights per cycle), and 1 x 4 was slower (spills). */
static inline __attribute__((always_inline)) GJ_TARGET_AVX2 void
tile_avx2_body(const int mr, const int nb, const float *a, size_t lda, const uint32_t *w, size_t block, size_t s0,
               size_t s1, int K, float *c, size_t ldc, int cols, int add)
{
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i mask[4][2];
    int whole[4][2];
    for (int j = 0; j < nb; j++)
        for (int h = 0; h < 2; h++) {
            const int n = cols - 16 * j - 8 * h;
            whole[j][h] = n >= 8;
            mask[j][h] = _mm256_cmpgt_epi32(_mm256_set1_epi32(n), lane);
        }
    __m256 acc[4][4][2];
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nb; j++)
            for (int h = 0; h < 2; h++) acc[i][j][h] = _mm256_setzero_ps();
    const __m256i high = _mm256_set1_epi32((int)0xFFFF0000u);
    const size_t full = 2 * s1 > (size_t)K ? s1 - 1 : s1;
    for (size_t s = s0; s < full; s++) {
        for (int j = 0; j < nb; j++) {
            const uint32_t *step = w + (size_t)j * block + s * GJ_BF16_COLUMNS;
            const __m256i w0 = _mm256_loadu_si256((const __m256i *)step);
            const __m256i w1 = _mm256_loadu_si256((const __m256i *)(step + 8));
            const __m256 lo0 = _mm256_castsi256_ps(_mm256_slli_epi32(w0, 16));
            const __m256 lo1 = _mm256_castsi256_ps(_mm256_slli_epi32(w1, 16));
            const __m256 hi0 = _mm256_castsi256_ps(_mm256_and_si256(w0, high));
            const __m256 hi1 = _mm256_castsi256_ps(_mm256_and_si256(w1, high));
            for (int i = 0; i < mr; i++) {
                const __m256 x = _mm256_broadcast_ss(a + (size_t)i * lda + 2 * s);
                acc[i][j][0] = _mm256_fmadd_ps(x, lo0, acc[i][j][0]);
                acc[i][j][1] = _mm256_fmadd_ps(x, lo1, acc[i][j][1]);
            }
            for (int i = 0; i < mr; i++) {
                const __m256 x = _mm256_broadcast_ss(a + (size_t)i * lda + 2 * s + 1);
                acc[i][j][0] = _mm256_fmadd_ps(x, hi0, acc[i][j][0]);
                acc[i][j][1] = _mm256_fmadd_ps(x, hi1, acc[i][j][1]);
            }
        }
    }
    if (full < s1) {
        for (int j = 0; j < nb; j++) {
            const uint32_t *step = w + (size_t)j * block + full * GJ_BF16_COLUMNS;
            for (int h = 0; h < 2; h++) {
                const __m256 lo = _mm256_castsi256_ps(
                    _mm256_slli_epi32(_mm256_loadu_si256((const __m256i *)(step + 8 * h)), 16));
                for (int i = 0; i < mr; i++)
                    acc[i][j][h] = _mm256_fmadd_ps(_mm256_broadcast_ss(a + (size_t)i * lda + 2 * full), lo, acc[i][j][h]);
            }
        }
    }
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nb; j++)
            for (int h = 0; h < 2; h++) {
                float *p = c + (size_t)i * ldc + 16 * j + 8 * h;
                if (whole[j][h]) {
                    if (add) acc[i][j][h] = _mm256_add_ps(_mm256_loadu_ps(p), acc[i][j][h]);
                    _mm256_storeu_ps(p, acc[i][j][h]);
                } else {
                    if (add) acc[i][j][h] = _mm256_add_ps(_mm256_maskload_ps(p, mask[j][h]), acc[i][j][h]);
                    _mm256_maskstore_ps(p, mask[j][h], acc[i][j][h]);
                }
            }
}
#endif

/* One specialized function per tile shape, so every sum lives in a register. */
#define GJ_BF16_TILE_ARGS                                                                                    \
    const float *a, size_t lda, const uint32_t *w, size_t block, size_t s0, size_t s1, int K, float *c,      \
        size_t ldc, int cols, int add
#define GJ_BF16_PORTABLE_TILE(MR)                                                       \
    static void tile_portable_##MR(GJ_BF16_TILE_ARGS)                                   \
    {                                                                                   \
        (void)block;                                                                    \
        tile_portable_body(MR, a, lda, w, s0, s1, K, c, ldc, cols, add);                \
    }
GJ_BF16_PORTABLE_TILE(1) GJ_BF16_PORTABLE_TILE(2) GJ_BF16_PORTABLE_TILE(3) GJ_BF16_PORTABLE_TILE(4)
static const bf16_tile_fn portable_tiles[4][1] = { { tile_portable_1 }, { tile_portable_2 }, { tile_portable_3 },
                                                   { tile_portable_4 } };

#if defined(__x86_64__)
#define GJ_BF16_AVX512_TILE(MR, NB)                                                     \
    GJ_TARGET_AVX512 static void tile_avx512_##MR##_##NB(GJ_BF16_TILE_ARGS)             \
    {                                                                                   \
        tile_avx512_body(MR, NB, a, lda, w, block, s0, s1, K, c, ldc, cols, add);       \
    }
#define GJ_BF16_AVX512_TILES2(MR) GJ_BF16_AVX512_TILE(MR, 1) GJ_BF16_AVX512_TILE(MR, 2)
#define GJ_BF16_AVX512_TILES4(MR) GJ_BF16_AVX512_TILES2(MR) GJ_BF16_AVX512_TILE(MR, 3) GJ_BF16_AVX512_TILE(MR, 4)
GJ_BF16_AVX512_TILES4(1) GJ_BF16_AVX512_TILES4(2) GJ_BF16_AVX512_TILES4(3) GJ_BF16_AVX512_TILES4(4)
GJ_BF16_AVX512_TILES2(5) GJ_BF16_AVX512_TILE(5, 3) GJ_BF16_AVX512_TILES2(6) GJ_BF16_AVX512_TILES2(7)
GJ_BF16_AVX512_TILES2(8)
/* [mr-1][nb-1]; NULL where mr * nb > 16 (never chosen). */
static const bf16_tile_fn avx512_tiles[8][4] = {
    { tile_avx512_1_1, tile_avx512_1_2, tile_avx512_1_3, tile_avx512_1_4 },
    { tile_avx512_2_1, tile_avx512_2_2, tile_avx512_2_3, tile_avx512_2_4 },
    { tile_avx512_3_1, tile_avx512_3_2, tile_avx512_3_3, tile_avx512_3_4 },
    { tile_avx512_4_1, tile_avx512_4_2, tile_avx512_4_3, tile_avx512_4_4 },
    { tile_avx512_5_1, tile_avx512_5_2, tile_avx512_5_3, NULL },
    { tile_avx512_6_1, tile_avx512_6_2, NULL, NULL },
    { tile_avx512_7_1, tile_avx512_7_2, NULL, NULL },
    { tile_avx512_8_1, tile_avx512_8_2, NULL, NULL },
};

#define GJ_BF16_AVX2_TILE(MR, NB)                                                       \
    GJ_TARGET_AVX2 static void tile_avx2_##MR##_##NB(GJ_BF16_TILE_ARGS)                 \
    {                                                                                   \
        tile_avx2_body(MR, NB, a, lda, w, block, s0, s1, K, c, ldc, cols, add);         \
    }
GJ_BF16_AVX2_TILE(1, 1) GJ_BF16_AVX2_TILE(2, 1) GJ_BF16_AVX2_TILE(3, 1) GJ_BF16_AVX2_TILE(4, 1)
GJ_BF16_AVX2_TILE(1, 2) GJ_BF16_AVX2_TILE(2, 2)
static const bf16_tile_fn avx2_tiles[4][2] = {
    { tile_avx2_1_1, tile_avx2_1_2 },
    { tile_avx2_2_1, tile_avx2_2_2 },
    { tile_avx2_3_1, NULL },
    { tile_avx2_4_1, NULL },
};
#endif

/* ---- The GEMM -----------------------------------------------------------------------------------*/
/* A path: its tallest tile, its register budget (largest mr * nb), its widest tile, and its tiles. */
typedef struct {
    int rows, budget, blocks;
    const bf16_tile_fn *tiles; /* [rows][blocks], tile (mr, nb) at (mr-1)*blocks + nb-1 */
} bf16_path;

/* The K block (4096 rows of the kernel), which is part of the result's definition (see the top):
 * a panel of 2 column blocks is 256 KB of bf16 per K block, 8 rows of A 128 KB, so the panel stays
 * in L2 while the row tiles of a task use it. */
enum { GJ_BF16_K_BLOCK = 4096, GJ_BF16_STEPS_PER_BLOCK = GJ_BF16_K_BLOCK / 2 };

/* Splitting: a pool job costs ~10 us and a sleeping worker starts 20-100 us late on the VM this was
 * measured on (gemm_driver.c, thread_pool.c), so work is split only when every thread gets ~4M
 * multiply-adds or, memory-bound with few rows, ~2 MB of weights; into a few chunks per thread,
 * claimed dynamically, so a late worker just takes fewer of them. */
#define GJ_BF16_MIN_MACS_PER_THREAD (4.0 * 1024 * 1024)
#define GJ_BF16_MIN_BYTES_PER_THREAD (2.0 * 1024 * 1024)
enum { GJ_BF16_CHUNKS_PER_THREAD = 4 };
/* Few rows, split over K blocks too (the partial sums of K blocks 1.. are kept on the stack, and
 * added to block 0's in block order, as the serial tiles do): at most this many floats (4 KB). */
enum { GJ_BF16_PARTIAL_FLOATS = 1024 };

typedef struct {
    const bf16_path *path;
    const float *A;
    const uint32_t *w;
    float *C, *partial;
    int M, N, K, mr, panel_blocks, row_tiles;
    size_t blocks, steps, kblocks;
} bf16_gemm;

/* Rows [r0, r1) x one panel x K blocks [kb0, kb1), into `out` (row stride N); the first block is
 * stored, unless `add`, the others added. */
static void run_block(const bf16_gemm *g, int panel, int r0, int r1, size_t kb0, size_t kb1, float *out, int add)
{
    const size_t first_block = (size_t)panel * (size_t)g->panel_blocks;
    const int nb = g->blocks - first_block < (size_t)g->panel_blocks ? (int)(g->blocks - first_block) : g->panel_blocks;
    const uint32_t *w = g->w + first_block * g->steps * GJ_BF16_COLUMNS;
    const int c0 = (int)first_block * GJ_BF16_COLUMNS;
    const int cols = g->N - c0 < nb * GJ_BF16_COLUMNS ? g->N - c0 : nb * GJ_BF16_COLUMNS;
    const size_t block = g->steps * GJ_BF16_COLUMNS;
    for (size_t kb = kb0; kb < kb1; kb++) {
        const size_t s0 = kb * GJ_BF16_STEPS_PER_BLOCK;
        const size_t s1 = s0 + GJ_BF16_STEPS_PER_BLOCK < g->steps ? s0 + GJ_BF16_STEPS_PER_BLOCK : g->steps;
        for (int r = r0; r < r1; r += g->mr) {
            const int mr = r1 - r < g->mr ? r1 - r : g->mr;
            const bf16_tile_fn tile = g->path->tiles[(mr - 1) * g->path->blocks + nb - 1];
            tile(g->A + (size_t)r * (size_t)g->K, (size_t)g->K, w, block, s0, s1, g->K,
                 out + (size_t)r * (size_t)g->N + c0, (size_t)g->N, cols, add || kb > kb0);
        }
    }
}

/* Tasks (panel, row tile), numbered panel-major, so a chunk covers few panels, each with a run of
 * row tiles that share the panel while it is in cache. */
static void run_tasks(void *context, long begin, long end, int worker)
{
    (void)worker;
    const bf16_gemm *g = context;
    for (long t = begin; t < end;) {
        const int panel = (int)(t / g->row_tiles);
        const long last = (long)(panel + 1) * g->row_tiles < end ? (long)(panel + 1) * g->row_tiles : end;
        const int r0 = (int)(t % g->row_tiles) * g->mr;
        const int r1 = (int)((last - 1) % g->row_tiles + 1) * g->mr;
        run_block(g, panel, r0, r1 < g->M ? r1 : g->M, 0, g->kblocks, g->C, 0);
        t = last;
    }
}

/* Tasks (panel, K block) of a single row tile, numbered panel-major: K block 0 goes to C, block
 * kb > 0 to partial + (kb-1)*M*N. */
static void run_split_tasks(void *context, long begin, long end, int worker)
{
    (void)worker;
    const bf16_gemm *g = context;
    for (long t = begin; t < end; t++) {
        const int panel = (int)(t / (long)g->kblocks);
        const size_t kb = (size_t)(t % (long)g->kblocks);
        float *out = kb == 0 ? g->C : g->partial + (kb - 1) * (size_t)g->M * (size_t)g->N;
        run_block(g, panel, 0, g->M, kb, kb + 1, out, 0);
    }
}

/* count tasks in `chunks` contiguous ranges, claimed dynamically by up to `threads` threads. */
typedef void (*bf16_range_fn)(void *context, long begin, long end, int worker);
typedef struct {
    bf16_range_fn body;
    void *context;
    long count;
    int chunks;
} bf16_chunks;

static void run_chunk(void *arg, int chunk)
{
    const bf16_chunks *job = arg;
    const long begin = job->count * chunk / job->chunks, end = job->count * (chunk + 1) / job->chunks;
    if (begin < end) job->body(job->context, begin, end, chunk);
}

static void run_parallel(bf16_range_fn body, void *context, long count, int threads)
{
    long chunks = threads <= 1 ? 1 : (long)threads * GJ_BF16_CHUNKS_PER_THREAD;
    if (chunks > count) chunks = count;
    if (chunks <= 1) {
        body(context, 0, count, 0);
        return;
    }
    bf16_chunks job = { body, context, count, (int)chunks };
    gj_pool_run_threads(run_chunk, &job, (int)chunks, threads < chunks ? threads : (int)chunks);
}

static const bf16_path *current_bf16_path(void)
{
    static const bf16_path portable = { 4, 4, 1, &portable_tiles[0][0] };
#if defined(__x86_64__)
    static const bf16_path avx2 = { 4, 4, 2, &avx2_tiles[0][0] };
    static const bf16_path avx512 = { 8, 16, 4, &avx512_tiles[0][0] };
    if (gj_current_path() == GJ_PATH_AVX512) return &avx512;
    if (gj_current_path() == GJ_PATH_AVX2) return &avx2;
#endif
    return &portable;
}

void gj_dense_bf16(int M, int N, int K, const float *A, const void *packed, float *C)
{
    if (M <= 0 || N <= 0 || K <= 0) return;
    const bf16_path *path = current_bf16_path();
    const size_t blocks = blocks_of(N), steps = steps_of(K);
    const size_t kblocks = (steps + GJ_BF16_STEPS_PER_BLOCK - 1) / GJ_BF16_STEPS_PER_BLOCK;
    /* Row tile: all rows up to the tallest tile; then as many column blocks as the registers hold,
     * so a single row runs 4 independent zmm chains (AVX2: 4 ymm chains). */
    const int mr = M < path->rows ? M : path->rows;
    int panel_blocks = path->budget / mr < path->blocks ? path->budget / mr : path->blocks;
    if ((size_t)panel_blocks > blocks) panel_blocks = (int)blocks;
    const int row_tiles = (M + mr - 1) / mr;
    /* Threads: only as many as get enough work each. */
    int threads = gj_pool_threads() < gj_max_workers() ? gj_pool_threads() : gj_max_workers();
    const double macs = (double)M * (double)N * (double)K;
    const double bytes = (double)gj_bf16_kernel_floats(K, N) * sizeof(float) + (double)M * K * sizeof(float);
    while (threads > 1 && macs < GJ_BF16_MIN_MACS_PER_THREAD * threads && bytes < GJ_BF16_MIN_BYTES_PER_THREAD * threads)
        threads--;
    float partial[GJ_BF16_PARTIAL_FLOATS];
    bf16_gemm g = {
        .path = path, .A = A, .w = packed, .C = C, .partial = partial, .M = M, .N = N, .K = K, .mr = mr,
        .panel_blocks = panel_blocks, .row_tiles = row_tiles, .blocks = blocks, .steps = steps, .kblocks = kblocks,
    };
    long panels = (long)((blocks + (size_t)panel_blocks - 1) / (size_t)panel_blocks);
    if (threads > 1 && row_tiles == 1 && kblocks > 1 &&
        (kblocks - 1) * (size_t)M * (size_t)N <= GJ_BF16_PARTIAL_FLOATS) {
        /* A few rows (a matvec): the tasks are (panel, K block); the caller adds the blocks up. */
        run_parallel(run_split_tasks, &g, panels * (long)kblocks, threads);
        for (size_t kb = 1; kb < kblocks; kb++) {
            const float *p = partial + (kb - 1) * (size_t)M * (size_t)N;
            for (size_t i = 0; i < (size_t)M * (size_t)N; i++) C[i] += p[i];
        }
        return;
    }
    /* Fewer panels x row tiles than threads: narrower panels, as even as the blocks allow. */
    if (threads > 1 && panels * row_tiles < threads) {
        const size_t want = (size_t)threads < blocks ? (size_t)threads : blocks;
        g.panel_blocks = (int)((blocks + want - 1) / want);
        panels = (long)((blocks + (size_t)g.panel_blocks - 1) / (size_t)g.panel_blocks);
    }
    run_parallel(run_tasks, &g, panels * row_tiles, threads);
}
