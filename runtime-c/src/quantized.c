/*
 * quantized.c - Keras 3's int8 Dense (keras/src/layers/core/dense.py `_int8_call`), exactly.
 *
 * Keras quantizes the kernel once, per output channel: s_w[n] = 127 / (max_k |W[k,n]| + 1e-7),
 * Wq = clip(round(W * s_w), -127, 127); GraphJIT's weights hold Wq (as floats) and s_w. At call
 * time every row of the input is quantized the same way (AbsMaxQuantizer, axis -1):
 *     s_x = 127 / (max |x| + 1e-7),  xq = clip(round_half_even(x * s_x), -127, 127)
 * then the int8 x int8 products are summed in int32 (as TensorFlow's int8 matmul does), converted
 * to float and divided by (s_w[n] * s_x), that product rounded to float first:
 *     C[m,n] = (float)acc / (s_w[n] * s_x[m]).
 * Every float step is one IEEE operation in that order, so the result is Keras's bit for bit up
 * to the int32 -> float conversion, which both round to nearest.
 *
 * The GEMM is blocked like the float one: the rows of A are quantized in passes of as many rows as
 * the scratch holds (ceil(K/4) * 4 bytes and a scale each), and each pass computes register tiles
 * of MR rows x NB*16 columns,
 * K in blocks that keep a column panel in L2 while every row tile of the pass uses it.
 *   AVX-512 VNNI: vpdpbusd sums four u8 x s8 products into each 32-bit lane. The activations go in
 *     as u8 = xq + 128 and the offset comes back out through the kernel's column sums:
 *     sum (xq+128) w = acc + 128 * sum w (exact in int32 arithmetic, which wraps).
 *   AVX2 (and AVX-512 without VNNI): vpmaddubsw with the sign trick (|x| as the unsigned operand,
 *     x's sign moved onto w by vpsignb), so a pair sums to at most 2 * 127 * 127 = 32258 and never
 *     saturates; vpmaddwd widens the pairs to int32.
 *   Portable: the same tiles in plain C.
 * int32 accumulation overflows past K = 133,143 (Keras's does too; the tutorial's largest K is
 * 30,752).
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "gj_internal.h"

/* ---- Packed kernel layout (every path) ----------------------------------------------------------
 * ceil(N/16) column blocks; block b holds columns [16b, 16b+16) as ceil(K/4) steps of 64 bytes,
 * step s = for each of the 16 columns, the 4 int8 weights of rows 4s..4s+3 (zero past K and past
 * N). After all blocks: one int32 per padded column, the sum of its weights (for the u8 offset). */
enum { GJ_INT8_COLUMNS = 16, GJ_INT8_DEPTH = 4 };

static size_t blocks_of(int N) { return ((size_t)N + GJ_INT8_COLUMNS - 1) / GJ_INT8_COLUMNS; }
static size_t steps_of(int K) { return ((size_t)K + GJ_INT8_DEPTH - 1) / GJ_INT8_DEPTH; }
static size_t block_bytes(int K) { return steps_of(K) * GJ_INT8_COLUMNS * GJ_INT8_DEPTH; }

size_t gj_int8_kernel_floats(int K, int N)
{
    if (K <= 0 || N <= 0) return 0;
    size_t bytes = blocks_of(N) * block_bytes(K) + blocks_of(N) * GJ_INT8_COLUMNS * sizeof(int32_t);
    return (bytes + sizeof(float) - 1) / sizeof(float);
}

void gj_pack_int8_kernel(int K, int N, const float *kernel, void *packed)
{
    int8_t *out = packed;
    const size_t blocks = blocks_of(N), steps = steps_of(K);
    int32_t *sums = (int32_t *)(void *)(out + blocks * block_bytes(K));
    for (size_t b = 0; b < blocks; b++)
        for (int c = 0; c < GJ_INT8_COLUMNS; c++) {
            const size_t n = b * GJ_INT8_COLUMNS + (size_t)c;
            int32_t sum = 0;
            for (size_t k = 0; k < steps * GJ_INT8_DEPTH; k++) {
                int8_t q = 0;
                if (n < (size_t)N && k < (size_t)K) {
                    float w = kernel[k * (size_t)N + n];
                    /* The weights are integers already; clamp anything else into the int8 range. */
                    w = w != w ? 0.0f : fminf(fmaxf(w, -127.0f), 127.0f);
                    q = (int8_t)lrintf(w);
                }
                out[b * block_bytes(K) + (k / GJ_INT8_DEPTH) * 64 + (size_t)c * GJ_INT8_DEPTH + k % GJ_INT8_DEPTH] = q;
                sum += q;
            }
            sums[n] = sum;
        }
}

/* ---- Row quantization ---------------------------------------------------------------------------
 * One row of A into `steps * 4` bytes (zero past K), as int8, or as u8 = int8 + 128 when `offset`;
 * returns s_x. Once a NaN is seen the largest magnitude stays NaN (s_x is NaN, every xq 0), and
 * NaN products quantize to 0, as in the scalar definition below. */
static int8_t quantized_value(float v, float scale)
{
    float q = nearbyintf(v * scale); /* the default rounding mode: half to even */
    q = q != q ? 0.0f : fminf(fmaxf(q, -127.0f), 127.0f);
    return (int8_t)q;
}

static float row_scale_portable(const float *a, int K)
{
    float largest = 0.0f;
    for (int k = 0; k < K; k++) {
        float v = fabsf(a[k]);
        largest = v > largest || v != v ? v : largest;
    }
    return 127.0f / (largest + 1e-7f);
}

static void quantize_row_portable(const float *a, int K, float scale, int8_t *xq)
{
    for (int k = 0; k < K; k++) xq[k] = quantized_value(a[k], scale);
}

#if defined(__x86_64__)
#include <immintrin.h>

#define GJ_TARGET_AVX512VNNI __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx512vnni,avx2,fma")))

GJ_TARGET_AVX512 static float row_scale_avx512(const float *a, int K)
{
    __m512 largest = _mm512_setzero_ps();
    __mmask16 nan = 0;
    int k = 0;
    for (; k + 16 <= K; k += 16) {
        __m512 v = _mm512_abs_ps(_mm512_loadu_ps(a + k));
        nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
        largest = _mm512_max_ps(largest, v);
    }
    if (k < K) {
        const __mmask16 tail = (__mmask16)((1u << (K - k)) - 1);
        __m512 v = _mm512_abs_ps(_mm512_maskz_loadu_ps(tail, a + k));
        nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
        largest = _mm512_max_ps(largest, v);
    }
    const float top = nan ? NAN : _mm512_reduce_max_ps(largest);
    return 127.0f / (top + 1e-7f);
}

/* xq (or xq + 128) for 16 floats: round half to even, NaN to 0, clamp, narrow. */
GJ_TARGET_AVX512 static __m128i quantized_16(__m512 v, __m512 scale, int offset)
{
    __m512 q = _mm512_roundscale_ps(_mm512_mul_ps(v, scale), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    q = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(q, q, _CMP_ORD_Q), q);
    q = _mm512_min_ps(_mm512_max_ps(q, _mm512_set1_ps(-127.0f)), _mm512_set1_ps(127.0f));
    __m128i bytes = _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(q));
    return offset ? _mm_xor_si128(bytes, _mm_set1_epi8((char)0x80)) : bytes;
}

GJ_TARGET_AVX512 static void quantize_row_avx512(const float *a, int K, float s, uint8_t *xq, int offset)
{
    const __m512 scale = _mm512_set1_ps(s);
    int k = 0;
    for (; k + 16 <= K; k += 16) _mm_storeu_si128((__m128i *)(xq + k), quantized_16(_mm512_loadu_ps(a + k), scale, offset));
    if (k < K) {
        const __mmask16 tail = (__mmask16)((1u << (K - k)) - 1);
        _mm_mask_storeu_epi8(xq + k, tail, quantized_16(_mm512_maskz_loadu_ps(tail, a + k), scale, offset));
    }
}

GJ_TARGET_AVX2 static float row_scale_avx2(const float *a, int K)
{
    const __m256 magnitude = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 largest = _mm256_setzero_ps(), nan = _mm256_setzero_ps();
    int k = 0;
    for (; k + 8 <= K; k += 8) {
        __m256 v = _mm256_and_ps(_mm256_loadu_ps(a + k), magnitude);
        nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
        largest = _mm256_max_ps(largest, v);
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, largest);
    float top = 0.0f;
    for (int i = 0; i < 8; i++) top = lanes[i] > top ? lanes[i] : top;
    for (; k < K; k++) {
        float v = fabsf(a[k]);
        top = v > top || v != v ? v : top;
    }
    if (_mm256_movemask_ps(nan)) top = NAN;
    return 127.0f / (top + 1e-7f);
}

GJ_TARGET_AVX2 static void quantize_row_avx2(const float *a, int K, float s, int8_t *xq)
{
    const __m256 scale = _mm256_set1_ps(s), low = _mm256_set1_ps(-127.0f), high = _mm256_set1_ps(127.0f);
    int k = 0;
    for (; k + 8 <= K; k += 8) {
        __m256 q = _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(a + k), scale), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        q = _mm256_and_ps(q, _mm256_cmp_ps(q, q, _CMP_ORD_Q));
        q = _mm256_min_ps(_mm256_max_ps(q, low), high);
        __m256i i = _mm256_cvtps_epi32(q);
        __m128i words = _mm_packs_epi32(_mm256_castsi256_si128(i), _mm256_extracti128_si256(i, 1));
        _mm_storel_epi64((__m128i *)(xq + k), _mm_packs_epi16(words, words));
    }
    for (; k < K; k++) xq[k] = quantized_value(a[k], s);
}
#endif

/* ---- Tiles --------------------------------------------------------------------------------------
 * A tile adds the products of `mr` rows of quantized A (row stride `xstride` bytes, starting at step
 * `s0`) and `nb` column blocks (`block` bytes apart) over steps [s0, s1) to acc[mr][nb*16] (int32,
 * row stride GJ_INT8_TILE_STRIDE), zeroing it first when `fresh`. */
enum { GJ_INT8_TILE_STRIDE = 32 };

typedef void (*int8_tile_fn)(const uint8_t *x, size_t xstride, const int8_t *w, size_t block, size_t s0, size_t s1,
                             int32_t *acc, int fresh);

static inline __attribute__((always_inline)) void tile_portable_body(int mr, int nb, const uint8_t *x, size_t xstride,
                                                                     const int8_t *w, size_t block, size_t s0, size_t s1,
                                                                     int32_t *acc, int fresh)
{
    for (int i = 0; i < mr; i++)
        for (int c = 0; c < nb * GJ_INT8_COLUMNS; c++) {
            int32_t sum = fresh ? 0 : acc[i * GJ_INT8_TILE_STRIDE + c];
            const int8_t *row = (const int8_t *)(x + (size_t)i * xstride);
            const int8_t *col = w + (size_t)(c / GJ_INT8_COLUMNS) * block + (size_t)(c % GJ_INT8_COLUMNS) * GJ_INT8_DEPTH;
            for (size_t s = s0; s < s1; s++)
                for (int j = 0; j < GJ_INT8_DEPTH; j++)
                    sum += (int32_t)row[s * GJ_INT8_DEPTH + j] * (int32_t)col[s * 64 + j];
            acc[i * GJ_INT8_TILE_STRIDE + c] = sum;
        }
}

#if defined(__x86_64__)
/* AVX-512 VNNI: up to 8 rows x 2 blocks (16 zmm accumulators). A tile with at most two
 * accumulators alternates two sets over the steps, so the dependency chains stay four deep. */
static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vnni"))) void
tile_vnni_body(const int mr, const int nb, const uint8_t *x, size_t xstride, const int8_t *w, size_t block, size_t s0,
               size_t s1, int32_t *acc, int fresh)
{
    const int sets = mr * nb <= 2 ? 2 : 1;
    __m512i c[2][8][2];
    for (int h = 0; h < sets; h++)
        for (int i = 0; i < mr; i++)
            for (int j = 0; j < nb; j++)
                c[h][i][j] = h == 0 && !fresh ? _mm512_loadu_si512(acc + i * GJ_INT8_TILE_STRIDE + j * 16)
                                              : _mm512_setzero_si512();
    size_t s = s0;
    for (; s + (size_t)sets <= s1; s += (size_t)sets)
        for (int h = 0; h < sets; h++) {
            __m512i b[2];
            for (int j = 0; j < nb; j++) b[j] = _mm512_loadu_si512(w + (size_t)j * block + (s + (size_t)h) * 64);
            for (int i = 0; i < mr; i++) {
                int32_t four;
                memcpy(&four, x + (size_t)i * xstride + (s + (size_t)h) * GJ_INT8_DEPTH, sizeof four);
                const __m512i a = _mm512_set1_epi32(four);
                for (int j = 0; j < nb; j++) c[h][i][j] = _mm512_dpbusd_epi32(c[h][i][j], a, b[j]);
            }
        }
    for (; s < s1; s++) {
        __m512i b[2];
        for (int j = 0; j < nb; j++) b[j] = _mm512_loadu_si512(w + (size_t)j * block + s * 64);
        for (int i = 0; i < mr; i++) {
            int32_t four;
            memcpy(&four, x + (size_t)i * xstride + s * GJ_INT8_DEPTH, sizeof four);
            const __m512i a = _mm512_set1_epi32(four);
            for (int j = 0; j < nb; j++) c[0][i][j] = _mm512_dpbusd_epi32(c[0][i][j], a, b[j]);
        }
    }
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nb; j++) {
            __m512i sum = sets == 2 ? _mm512_add_epi32(c[0][i][j], c[1][i][j]) : c[0][i][j];
            _mm512_storeu_si512(acc + i * GJ_INT8_TILE_STRIDE + j * 16, sum);
        }
}

/* AVX2: up to 4 rows x 1 block (two ymm halves of 8 columns each: 8 accumulators). */
static inline __attribute__((always_inline, target("avx2,fma"))) void
tile_avx2_body(const int mr, const uint8_t *x, size_t xstride, const int8_t *w, size_t s0, size_t s1, int32_t *acc,
               int fresh)
{
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i c[4][2];
    for (int i = 0; i < mr; i++)
        for (int h = 0; h < 2; h++)
            c[i][h] = fresh ? _mm256_setzero_si256()
                            : _mm256_loadu_si256((const __m256i *)(acc + i * GJ_INT8_TILE_STRIDE + h * 8));
    for (size_t s = s0; s < s1; s++) {
        const __m256i b0 = _mm256_loadu_si256((const __m256i *)(w + s * 64));
        const __m256i b1 = _mm256_loadu_si256((const __m256i *)(w + s * 64 + 32));
        for (int i = 0; i < mr; i++) {
            int32_t four;
            memcpy(&four, x + (size_t)i * xstride + s * GJ_INT8_DEPTH, sizeof four);
            const __m256i a = _mm256_set1_epi32(four), magnitude = _mm256_sign_epi8(a, a);
            c[i][0] = _mm256_add_epi32(c[i][0], _mm256_madd_epi16(_mm256_maddubs_epi16(magnitude, _mm256_sign_epi8(b0, a)), ones));
            c[i][1] = _mm256_add_epi32(c[i][1], _mm256_madd_epi16(_mm256_maddubs_epi16(magnitude, _mm256_sign_epi8(b1, a)), ones));
        }
    }
    for (int i = 0; i < mr; i++)
        for (int h = 0; h < 2; h++) _mm256_storeu_si256((__m256i *)(acc + i * GJ_INT8_TILE_STRIDE + h * 8), c[i][h]);
}
#endif

/* One specialized function per tile shape, so every accumulator lives in a register. */
#define GJ_INT8_TILE_ARGS                                                                               \
    const uint8_t *x, size_t xstride, const int8_t *w, size_t block, size_t s0, size_t s1, int32_t *acc, \
        int fresh
#define GJ_PORTABLE_TILE(MR) \
    static void tile_portable_##MR(GJ_INT8_TILE_ARGS) { tile_portable_body(MR, 1, x, xstride, w, block, s0, s1, acc, fresh); }
GJ_PORTABLE_TILE(1) GJ_PORTABLE_TILE(2) GJ_PORTABLE_TILE(3) GJ_PORTABLE_TILE(4)
static const int8_tile_fn portable_tiles[4][1] = { { tile_portable_1 }, { tile_portable_2 }, { tile_portable_3 },
                                                   { tile_portable_4 } };

#if defined(__x86_64__)
#define GJ_AVX2_TILE(MR)                                                                \
    GJ_TARGET_AVX2 static void tile_avx2_##MR(GJ_INT8_TILE_ARGS)                        \
    {                                                                                   \
        (void)block;                                                                    \
        tile_avx2_body(MR, x, xstride, w, s0, s1, acc, fresh);                          \
    }
GJ_AVX2_TILE(1) GJ_AVX2_TILE(2) GJ_AVX2_TILE(3) GJ_AVX2_TILE(4)
static const int8_tile_fn avx2_tiles[4][1] = { { tile_avx2_1 }, { tile_avx2_2 }, { tile_avx2_3 }, { tile_avx2_4 } };

#define GJ_VNNI_TILE(MR, NB)                                                                \
    GJ_TARGET_AVX512VNNI static void tile_vnni_##MR##_##NB(GJ_INT8_TILE_ARGS)               \
    {                                                                                       \
        tile_vnni_body(MR, NB, x, xstride, w, block, s0, s1, acc, fresh);                  \
    }
#define GJ_VNNI_TILES(MR) GJ_VNNI_TILE(MR, 1) GJ_VNNI_TILE(MR, 2)
GJ_VNNI_TILES(1) GJ_VNNI_TILES(2) GJ_VNNI_TILES(3) GJ_VNNI_TILES(4)
GJ_VNNI_TILES(5) GJ_VNNI_TILES(6) GJ_VNNI_TILES(7) GJ_VNNI_TILES(8)
static const int8_tile_fn vnni_tiles[8][2] = {
    { tile_vnni_1_1, tile_vnni_1_2 }, { tile_vnni_2_1, tile_vnni_2_2 }, { tile_vnni_3_1, tile_vnni_3_2 },
    { tile_vnni_4_1, tile_vnni_4_2 }, { tile_vnni_5_1, tile_vnni_5_2 }, { tile_vnni_6_1, tile_vnni_6_2 },
    { tile_vnni_7_1, tile_vnni_7_2 }, { tile_vnni_8_1, tile_vnni_8_2 },
};
#endif

/* ---- Rescaling -----------------------------------------------------------------------------------
 * One row of a tile back to float: c[j] = (float)(acc[j] - 128 * sums[j]) / (s_w[j] * s_x), the
 * offset term only when `sums` is given. The vector forms round every step as the scalar one does. */
typedef void (*int8_rescale_fn)(const int32_t *acc, int columns, const int32_t *sums, const float *kernel_scale,
                                float input_scale, float *c);

static void rescale_portable(const int32_t *acc, int columns, const int32_t *sums, const float *kernel_scale,
                             float input_scale, float *c)
{
    for (int j = 0; j < columns; j++) {
        const int32_t sum = sums ? (int32_t)((uint32_t)acc[j] - 128u * (uint32_t)sums[j]) : acc[j];
        c[j] = (float)sum / (kernel_scale[j] * input_scale);
    }
}

#if defined(__x86_64__)
GJ_TARGET_AVX2 static void rescale_avx2(const int32_t *acc, int columns, const int32_t *sums,
                                        const float *kernel_scale, float input_scale, float *c)
{
    const __m256 sx = _mm256_set1_ps(input_scale);
    int j = 0;
    for (; j + 8 <= columns; j += 8) {
        __m256i sum = _mm256_loadu_si256((const __m256i *)(acc + j));
        if (sums) sum = _mm256_sub_epi32(sum, _mm256_slli_epi32(_mm256_loadu_si256((const __m256i *)(sums + j)), 7));
        const __m256 scale = _mm256_mul_ps(_mm256_loadu_ps(kernel_scale + j), sx);
        _mm256_storeu_ps(c + j, _mm256_div_ps(_mm256_cvtepi32_ps(sum), scale));
    }
    rescale_portable(acc + j, columns - j, sums ? sums + j : NULL, kernel_scale + j, input_scale, c + j);
}

GJ_TARGET_AVX512 static void rescale_avx512(const int32_t *acc, int columns, const int32_t *sums,
                                            const float *kernel_scale, float input_scale, float *c)
{
    const __m512 sx = _mm512_set1_ps(input_scale);
    for (int j = 0; j < columns; j += 16) {
        const __mmask16 lanes = columns - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (columns - j)) - 1);
        __m512i sum = _mm512_maskz_loadu_epi32(lanes, acc + j);
        if (sums) sum = _mm512_sub_epi32(sum, _mm512_slli_epi32(_mm512_maskz_loadu_epi32(lanes, sums + j), 7));
        const __m512 scale = _mm512_mul_ps(_mm512_mask_loadu_ps(_mm512_set1_ps(1.0f), lanes, kernel_scale + j), sx);
        _mm512_mask_storeu_ps(c + j, lanes, _mm512_div_ps(_mm512_cvtepi32_ps(sum), scale));
    }
}
#endif

/* ---- The GEMM -----------------------------------------------------------------------------------*/
/* How one path computes: its largest tile, its tiles and whether activations carry the +128. */
typedef struct {
    int rows, blocks, offset;
    const int8_tile_fn *tiles; /* [rows][blocks], tile (mr, nb) at (mr-1)*blocks + nb-1 */
    int8_rescale_fn rescale;
} int8_path;

/* K in blocks of this many steps (4 KB of a row): a panel of 2 column blocks is then 128 KB. */
enum { GJ_INT8_STEPS_PER_BLOCK = 1024 };
/* A task's rows are computed in runs of at most this many (their int32 sums live on the stack). */
enum { GJ_INT8_PANEL_ROWS = 64 };

/* One pass: `rows` quantized rows against every column, as tasks of (column panel, row tile). */
typedef struct {
    const int8_path *path;
    const uint8_t *xq;
    const float *input_scale, *kernel_scale;
    const int8_t *wq;
    const int32_t *column_sums;
    float *C;
    int rows, N, row_tiles;
    size_t steps, block, xstride;
} int8_pass;

static void run_panel(const int8_pass *p, int panel, int r0, int r1)
{
    const int nb_max = p->path->blocks;
    const int first_block = panel * nb_max;
    const int nb = (int)blocks_of(p->N) - first_block < nb_max ? (int)blocks_of(p->N) - first_block : nb_max;
    const int8_t *w = p->wq + (size_t)first_block * p->block;
    int32_t acc[GJ_INT8_PANEL_ROWS][GJ_INT8_TILE_STRIDE];
    for (size_t s0 = 0; s0 < p->steps; s0 += GJ_INT8_STEPS_PER_BLOCK) {
        const size_t s1 = s0 + GJ_INT8_STEPS_PER_BLOCK < p->steps ? s0 + GJ_INT8_STEPS_PER_BLOCK : p->steps;
        for (int r = r0; r < r1; r += p->path->rows) {
            const int mr = r1 - r < p->path->rows ? r1 - r : p->path->rows;
            const int8_tile_fn tile = p->path->tiles[(mr - 1) * nb_max + nb - 1];
            tile(p->xq + (size_t)r * p->xstride, p->xstride, w, p->block, s0, s1, acc[r - r0], s0 == 0);
        }
    }
    /* C = (float)acc / (s_w * s_x), the +128 taken back out first. */
    const int c0 = first_block * GJ_INT8_COLUMNS;
    const int columns = p->N - c0 < nb * GJ_INT8_COLUMNS ? p->N - c0 : nb * GJ_INT8_COLUMNS;
    for (int r = r0; r < r1; r++)
        p->path->rescale(acc[r - r0], columns, p->path->offset ? p->column_sums + c0 : NULL, p->kernel_scale + c0,
                         p->input_scale[r], p->C + (size_t)r * p->N + c0);
}

/* Tasks are numbered panel-major, so a worker's contiguous range covers few panels, each with a
 * run of row tiles that share the panel while it is in cache. */
static void run_tasks(void *context, long begin, long end, int worker)
{
    (void)worker;
    const int8_pass *p = context;
    for (long t = begin; t < end;) {
        const int panel = (int)(t / p->row_tiles);
        const long last = (long)(panel + 1) * p->row_tiles < end ? (long)(panel + 1) * p->row_tiles : end;
        const int r0 = (int)(t % p->row_tiles) * p->path->rows;
        int r1 = (int)((last - 1) % p->row_tiles + 1) * p->path->rows;
        if (r1 > p->rows) r1 = p->rows;
        /* GJ_INT8_PANEL_ROWS is a multiple of every path's tile rows (4 or 8). */
        for (int r = r0; r < r1; r += GJ_INT8_PANEL_ROWS)
            run_panel(p, panel, r, r1 - r < GJ_INT8_PANEL_ROWS ? r1 : r + GJ_INT8_PANEL_ROWS);
        t = last;
    }
}

typedef struct {
    const float *A;
    uint8_t *xq;
    float *input_scale;
    int K, offset;
    size_t xstride;
} int8_quantize_job;

static void quantize_rows(void *context, long begin, long end, int worker)
{
    (void)worker;
    const int8_quantize_job *job = context;
    for (long r = begin; r < end; r++) {
        const float *a = job->A + (size_t)r * job->K;
        uint8_t *xq = job->xq + (size_t)r * job->xstride;
        float scale;
#if defined(__x86_64__)
        if (gj_current_path() == GJ_PATH_AVX512) { /* the only path whose tiles take the offset */
            scale = row_scale_avx512(a, job->K);
            quantize_row_avx512(a, job->K, scale, xq, job->offset);
        } else if (gj_current_path() == GJ_PATH_AVX2) {
            scale = row_scale_avx2(a, job->K);
            quantize_row_avx2(a, job->K, scale, (int8_t *)xq);
        } else
#endif
        {
            scale = row_scale_portable(a, job->K);
            quantize_row_portable(a, job->K, scale, (int8_t *)xq);
        }
        /* Past K: the value 0 (u8 128 with the offset); its kernel rows are zero anyway. */
        memset(xq + job->K, job->offset ? 0x80 : 0, job->xstride - (size_t)job->K);
        job->input_scale[r] = scale;
    }
}

static const int8_path *current_int8_path(void)
{
    static const int8_path portable = { 4, 1, 0, &portable_tiles[0][0], rescale_portable };
#if defined(__x86_64__)
    static const int8_path avx2 = { 4, 1, 0, &avx2_tiles[0][0], rescale_avx2 };
    static const int8_path avx512 = { 4, 1, 0, &avx2_tiles[0][0], rescale_avx512 };
    static const int8_path vnni = { 8, 2, 1, &vnni_tiles[0][0], rescale_avx512 };
    if (gj_current_path() == GJ_PATH_AVX512) return __builtin_cpu_supports("avx512vnni") ? &vnni : &avx512;
    if (gj_current_path() == GJ_PATH_AVX2) return &avx2;
#endif
    return &portable;
}

void gj_dense_int8(int M, int N, int K, const float *A, const void *packed_kernel, const float *kernel_scale,
                   float *C, void *scratch, long scratch_floats)
{
    if (M <= 0 || N <= 0 || K <= 0) return;
    const int8_path *path = current_int8_path();
    const size_t steps = steps_of(K), xstride = steps * GJ_INT8_DEPTH;
    /* The scratch: a pass of quantized rows (`xstride` bytes each), then their scales. A scratch
     * too small for one row is a caller's bug: the outputs say so (NaN) rather than overflow it. */
    const long fit = scratch_floats / (long)(steps + 1);
    if (fit < 1) {
        for (size_t i = 0; i < (size_t)M * (size_t)N; i++) C[i] = NAN;
        return;
    }
    const int pass_rows = fit < M ? (int)fit : M;
    uint8_t *xq = scratch;
    float *input_scale = (float *)(void *)(xq + (size_t)pass_rows * xstride);
    const int8_t *wq = packed_kernel;
    const int32_t *sums = (const int32_t *)(const void *)(wq + blocks_of(N) * block_bytes(K));
    const int panels = (int)((blocks_of(N) + (size_t)path->blocks - 1) / (size_t)path->blocks);
    for (int m0 = 0; m0 < M; m0 += pass_rows) {
        const int rows = M - m0 < pass_rows ? M - m0 : pass_rows;
        /* Rows of ~64K values or more are quantized in parallel. */
        int8_quantize_job job = { A + (size_t)m0 * K, xq, input_scale, K, path->offset, xstride };
        gj_parallel_for(rows, K >= 65536 ? 1 : 65536 / K, quantize_rows, &job);
        int8_pass pass = {
            .path = path, .xq = xq, .input_scale = input_scale, .kernel_scale = kernel_scale, .wq = wq,
            .column_sums = sums, .C = C + (size_t)m0 * N, .rows = rows, .N = N,
            .row_tiles = (rows + path->rows - 1) / path->rows, .steps = steps, .block = block_bytes(K),
            .xstride = xstride,
        };
        /* Waking a worker costs ~25 us, the work of ~8M int8 multiply-adds: a pass is split when it
         * has that much work per worker, or when it streams a kernel of 1 MB or more (memory-bound,
         * so two cores read it faster); the split is by tasks, each at least 1/8 of a worker's share. */
        const long tasks = (long)panels * pass.row_tiles;
        const double work = (double)rows * N * K;
        const int split = work >= 8388608.0 * 2 || (double)N * K >= 1048576.0;
        gj_parallel_for(tasks, split ? 1 : tasks, run_tasks, &pass);
    }
}
