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
 * The kernel is packed once ([N][K] int8, each output channel's K bytes contiguous) and the dot
 * products use AVX-512 VNNI's vpdpbusd (or AVX-512BW's vpmaddubsw) on the AVX-512 path, AVX2's
 * vpmaddubsw with the sign trick on the AVX2 path, plain C on the portable one; a large row's
 * output channels are spread over the workers. int32 accumulation overflows past K = 133,143; Keras's
 * does too (the tutorial's largest K is 30,752).
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "gj_internal.h"

size_t gj_int8_kernel_floats(int K, int N)
{
    if (K <= 0 || N <= 0) return 0;
    size_t bytes = (size_t)K * (size_t)N;
    return (bytes + sizeof(float) - 1) / sizeof(float);
}

void gj_pack_int8_kernel(int K, int N, const float *kernel, void *packed)
{
    int8_t *out = packed;
    for (int n = 0; n < N; n++)
        for (int k = 0; k < K; k++) {
            float w = kernel[(size_t)k * N + n];
            /* The weights are integers already; clamp anything else into the int8 range. */
            w = w != w ? 0.0f : fminf(fmaxf(w, -127.0f), 127.0f);
            out[(size_t)n * K + k] = (int8_t)lrintf(w);
        }
}

/* One row of A quantized into xq (K bytes); returns s_x. */
static float quantize_row(const float *a, int K, int8_t *xq)
{
    float largest = 0.0f;
    for (int k = 0; k < K; k++) {
        float v = fabsf(a[k]);
        largest = v > largest || v != v ? v : largest;
    }
    const float scale = 127.0f / (largest + 1e-7f);
    for (int k = 0; k < K; k++) {
        float q = nearbyintf(a[k] * scale); /* the default rounding mode: half to even */
        q = q != q ? 0.0f : fminf(fmaxf(q, -127.0f), 127.0f);
        xq[k] = (int8_t)q;
    }
    return scale;
}

static int32_t dot_int8_portable(const int8_t *x, const int8_t *w, int K)
{
    int32_t acc = 0;
    for (int k = 0; k < K; k++) acc += (int32_t)x[k] * (int32_t)w[k];
    return acc;
}

#if defined(__x86_64__)
#include <immintrin.h>

/* 32 products per step with the sign trick (llama.cpp's mul_sum_i8_pairs): vpmaddubsw multiplies
 * unsigned by signed bytes, so |x| goes in as the unsigned operand and x's sign moves onto w
 * (vpsignb). A pair of products is at most 2 * 127 * 127 = 32258, so the 16-bit sums never
 * saturate (xq and wq are never -128); vpmaddwd with ones widens them to 32 bits. */
GJ_TARGET_AVX2 static int32_t dot_int8_avx2(const int8_t *x, const int8_t *w, int K)
{
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
    int k = 0;
    for (; k + 64 <= K; k += 64) {
        __m256i x0 = _mm256_loadu_si256((const __m256i *)(x + k));
        __m256i w0 = _mm256_loadu_si256((const __m256i *)(w + k));
        __m256i x1 = _mm256_loadu_si256((const __m256i *)(x + k + 32));
        __m256i w1 = _mm256_loadu_si256((const __m256i *)(w + k + 32));
        __m256i p0 = _mm256_maddubs_epi16(_mm256_sign_epi8(x0, x0), _mm256_sign_epi8(w0, x0));
        __m256i p1 = _mm256_maddubs_epi16(_mm256_sign_epi8(x1, x1), _mm256_sign_epi8(w1, x1));
        acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(p0, ones));
        acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(p1, ones));
    }
    for (; k + 32 <= K; k += 32) {
        __m256i x0 = _mm256_loadu_si256((const __m256i *)(x + k));
        __m256i w0 = _mm256_loadu_si256((const __m256i *)(w + k));
        __m256i p0 = _mm256_maddubs_epi16(_mm256_sign_epi8(x0, x0), _mm256_sign_epi8(w0, x0));
        acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(p0, ones));
    }
    __m256i acc = _mm256_add_epi32(acc0, acc1);
    __m128i sum = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    sum = _mm_add_epi32(sum, _mm_shuffle_epi32(sum, _MM_SHUFFLE(1, 0, 3, 2)));
    sum = _mm_add_epi32(sum, _mm_shuffle_epi32(sum, _MM_SHUFFLE(2, 3, 0, 1)));
    int32_t total = _mm_cvtsi128_si32(sum);
    for (; k < K; k++) total += (int32_t)x[k] * (int32_t)w[k];
    return total;
}

/* AVX-512: 64 bytes a step. There is no vpsignb for zmm, so |x| is vpabsb and w takes x's sign
 * by a masked negation (where x is 0 its product is 0 either way). With VNNI, vpdpbusd sums four
 * u8 x s8 products straight into each 32-bit lane; without it, vpmaddubsw + vpmaddwd as above. */
#define GJ_DOT_INT8_AVX512(name, target, step)                                                \
    target static int32_t name(const int8_t *x, const int8_t *w, int K)                       \
    {                                                                                          \
        __m512i acc = _mm512_setzero_si512();                                                 \
        const __m512i zero = _mm512_setzero_si512();                                          \
        int k = 0;                                                                             \
        for (; k + 64 <= K; k += 64) {                                                         \
            __m512i xv = _mm512_loadu_si512((const void *)(x + k));                            \
            __m512i wv = _mm512_loadu_si512((const void *)(w + k));                            \
            __m512i ax = _mm512_abs_epi8(xv);                                                  \
            __m512i sw = _mm512_mask_sub_epi8(wv, _mm512_movepi8_mask(xv), zero, wv);          \
            acc = step;                                                                        \
        }                                                                                      \
        int32_t total = _mm512_reduce_add_epi32(acc);                                          \
        for (; k < K; k++) total += (int32_t)x[k] * (int32_t)w[k];                             \
        return total;                                                                          \
    }

#define GJ_TARGET_AVX512BW __attribute__((target("avx512f,avx512bw")))
#define GJ_TARGET_AVX512VNNI __attribute__((target("avx512f,avx512bw,avx512vnni")))
GJ_DOT_INT8_AVX512(dot_int8_avx512bw, GJ_TARGET_AVX512BW,
                   _mm512_add_epi32(acc, _mm512_madd_epi16(_mm512_maddubs_epi16(ax, sw), _mm512_set1_epi16(1))))
GJ_DOT_INT8_AVX512(dot_int8_avx512vnni, GJ_TARGET_AVX512VNNI, _mm512_dpbusd_epi32(acc, ax, sw))
#endif

typedef int32_t (*dot_int8_fn)(const int8_t *, const int8_t *, int);

/* The output channels of one row, split over the worker pool when the row is large. */
typedef struct {
    const int8_t *xq, *wq;
    const float *kernel_scale;
    float input_scale, *c;
    int K;
    dot_int8_fn dot;
} dense_int8_row;

static void dense_int8_columns(void *context, long begin, long end, int worker)
{
    (void)worker;
    const dense_int8_row *row = context;
    for (long n = begin; n < end; n++) {
        const int32_t acc = row->dot(row->xq, row->wq + (size_t)n * row->K, row->K);
        row->c[n] = (float)acc / (row->kernel_scale[n] * row->input_scale);
    }
}

void gj_dense_int8(int M, int N, int K, const float *A, const void *packed_kernel, const float *kernel_scale,
                   float *C, void *scratch)
{
    if (M <= 0 || N <= 0 || K <= 0) return;
    const int8_t *wq = packed_kernel;
    int8_t *xq = scratch;
    dot_int8_fn dot = dot_int8_portable;
#if defined(__x86_64__)
    if (gj_current_path() == GJ_PATH_AVX512)
        dot = __builtin_cpu_supports("avx512vnni") ? dot_int8_avx512vnni : dot_int8_avx512bw;
    else if (gj_current_path() == GJ_PATH_AVX2)
        dot = dot_int8_avx2;
#endif
    /* Columns in chunks of ~64K products: a large row (the CNN's 30752 x 128 Dense at batch 1)
     * spreads over the workers, a small one stays on the caller's thread. */
    const long grain = K >= 65536 ? 1 : 65536 / K;
    for (int m = 0; m < M; m++) {
        dense_int8_row row = {
            .xq = xq, .wq = wq, .kernel_scale = kernel_scale, .c = C + (size_t)m * N, .K = K, .dot = dot,
            .input_scale = quantize_row(A + (size_t)m * K, K, xq),
        };
        if ((long)N > grain) gj_parallel_for(N, grain, dense_int8_columns, &row);
        else dense_int8_columns(&row, 0, N, 0);
    }
}
