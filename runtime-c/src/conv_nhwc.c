/*
 * conv_nhwc.c - im2col and max pooling for one NHWC image.
 *
 * Both take the output size and the top/left padding from the caller (Keras: `valid` -> 0;
 * `same` -> pad_total = max((ceil(H/s) - 1)*s + k - H, 0), pad_top = pad_total / 2).
 *
 * im2col: for one (output pixel, kernel row kh) the KW taps that fall inside the image are
 * contiguous in NHWC memory (KW*C floats when the pixel is not at the border), so every pixel
 * costs KH copies of one run plus zero fills for the taps in the padding. The runs are short
 * (9 floats for a 3x3 kernel over RGB), so a call to memcpy per run would cost more than the copy
 * itself: the SIMD path copies a run of n floats with two overlapping vector moves of the largest
 * width that fits (n in [8, 16]: the first 8 and the last 8 floats), and longer runs with a loop of
 * 8-float moves plus one overlapping final move. There are no masks and no per-float loops.
 *
 * maxpool: each output pixel is the lane-wise max over its taps of C-wide vectors (16 floats with
 * masked tails on AVX-512; 8 floats with an overlapping last vector on AVX2; the 2x2 window over
 * 32 channels has straight-line code on both). The order of the
 * comparisons is the scalar one (acc = in > acc ? in : acc; vmaxps(in, acc) computes exactly that:
 * it returns its second operand when either is NaN), so the results are identical on every path.
 * Non-finite taps follow TensorFlow's MaxPool (measured with TF 2.21, eager and graph mode, with and
 * without oneDNN): the accumulator starts at -FLT_MAX (Eigen's NumTraits<float>::lowest()), not
 * -inf, and NaN taps are skipped. So a window of NaN and/or -inf taps only gives -FLT_MAX, a NaN
 * among finite taps is dropped, and +inf wins.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "gj_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define GJ_CONV_SIMD 1
#endif

/* ---- portable ----------------------------------------------------------------------------------- */

static inline void zero_floats(float *dst, int n)
{
    if (n > 0) memset(dst, 0, (size_t)n * sizeof(float));
}

/* columns[(oh*OW + ow), (kh*KW + kw)*C + c] = input[oh*sh - pad_top + kh, ow*sw - pad_left + kw, c]
 * or 0 outside the image. */
static void im2col_portable(const float *input, int H, int W, int C, int KH, int KW, int stride_h,
                            int stride_w, int pad_top, int pad_left, int OH, int OW, float *columns)
{
    const int row_len = KH * KW * C;
    for (int oh = 0; oh < OH; oh++) {
        for (int ow = 0; ow < OW; ow++) {
            float *col = columns + ((size_t)oh * OW + ow) * row_len;
            int iw0 = ow * stride_w - pad_left;
            /* taps [kw_lo, kw_hi) are inside the image horizontally */
            int kw_lo = iw0 < 0 ? -iw0 : 0;
            int kw_hi = W - iw0 < KW ? W - iw0 : KW;
            if (kw_hi < kw_lo) kw_hi = kw_lo;
            for (int kh = 0; kh < KH; kh++) {
                float *dst = col + (size_t)kh * KW * C;
                int ih = oh * stride_h - pad_top + kh;
                if (ih < 0 || ih >= H || kw_lo >= kw_hi) {
                    zero_floats(dst, KW * C);
                    continue;
                }
                zero_floats(dst, kw_lo * C);
                memcpy(dst + (size_t)kw_lo * C, input + ((size_t)ih * W + (iw0 + kw_lo)) * C,
                       sizeof(float) * (size_t)(kw_hi - kw_lo) * C);
                zero_floats(dst + (size_t)kw_hi * C, (KW - kw_hi) * C);
            }
        }
    }
}

/* output[oh, ow, c] = max(-FLT_MAX, the taps inside the image that are not NaN); taps in the padding
 * are ignored (an output pixel with no valid tap, impossible with Keras padding, gets -FLT_MAX). */
static void maxpool_portable(const float *input, int H, int W, int C, int PH, int PW, int stride_h,
                             int stride_w, int pad_top, int pad_left, int OH, int OW, float *output)
{
    for (int oh = 0; oh < OH; oh++) {
        int ih0 = oh * stride_h - pad_top;
        int kh_lo = ih0 < 0 ? -ih0 : 0, kh_hi = H - ih0 < PH ? H - ih0 : PH;
        for (int ow = 0; ow < OW; ow++) {
            int iw0 = ow * stride_w - pad_left;
            int kw_lo = iw0 < 0 ? -iw0 : 0, kw_hi = W - iw0 < PW ? W - iw0 : PW;
            float *out = output + ((size_t)oh * OW + ow) * C;
            for (int c = 0; c < C; c++) out[c] = -FLT_MAX;
            for (int kh = kh_lo; kh < kh_hi; kh++) {
                for (int kw = kw_lo; kw < kw_hi; kw++) {
                    const float *in = input + ((size_t)(ih0 + kh) * W + (iw0 + kw)) * C;
                    for (int c = 0; c < C; c++) out[c] = in[c] > out[c] ? in[c] : out[c];
                }
            }
        }
    }
}

#ifdef GJ_CONV_SIMD
/* ---- AVX2 (also used by the AVX-512 path for im2col) ------------------------------------------- */

/* dst[0:n) = src[0:n) for n >= 1, with overlapping unaligned moves (no masks, no loop for n <= 16). */
GJ_TARGET_AVX2 static inline void copy_run(float *dst, const float *src, int n)
{
    if (n >= 8) {
        if (n > 16) {
            int i = 0;
            for (; i + 8 < n; i += 8) _mm256_storeu_ps(dst + i, _mm256_loadu_ps(src + i));
        } else {
            _mm256_storeu_ps(dst, _mm256_loadu_ps(src));
        }
        _mm256_storeu_ps(dst + n - 8, _mm256_loadu_ps(src + n - 8));
    } else if (n >= 4) {
        _mm_storeu_ps(dst, _mm_loadu_ps(src));
        _mm_storeu_ps(dst + n - 4, _mm_loadu_ps(src + n - 4));
    } else {
        dst[0] = src[0];
        if (n > 1) dst[1] = src[1];
        if (n > 2) dst[2] = src[2];
    }
}

GJ_TARGET_AVX2 static inline void zero_run(float *dst, int n)
{
    if (n >= 8) {
        const __m256 z = _mm256_setzero_ps();
        for (int i = 0; i + 8 < n; i += 8) _mm256_storeu_ps(dst + i, z);
        _mm256_storeu_ps(dst + n - 8, z);
    } else {
        for (int i = 0; i < n; i++) dst[i] = 0.0f;
    }
}

/* One output pixel at the image border (some taps in the padding). */
GJ_TARGET_AVX2 static void im2col_pixel(const float *input, int W, int C, int KH, int KW, int kh_lo, int kh_hi,
                                        int ih0, int iw0, float *col)
{
    const int run = KW * C;
    int kw_lo = iw0 < 0 ? -iw0 : 0;
    int kw_hi = W - iw0 < KW ? W - iw0 : KW;
    if (kw_lo > KW) kw_lo = KW;
    if (kw_hi < kw_lo) kw_hi = kw_lo;
    for (int kh = 0; kh < KH; kh++) {
        float *dst = col + kh * run;
        if (kh < kh_lo || kh >= kh_hi || kw_lo == kw_hi) {
            zero_run(dst, run);
            continue;
        }
        zero_run(dst, kw_lo * C);
        copy_run(dst + kw_lo * C, input + (((long)(ih0 + kh) * W + iw0 + kw_lo) * C), (kw_hi - kw_lo) * C);
        zero_run(dst + kw_hi * C, (KW - kw_hi) * C);
    }
}

/* Pixels whose taps are all inside the image: `count` pixels, KH runs of `run` floats each, the
 * source advancing by `step` floats per pixel and `row` floats per kernel row. The run length
 * decides the copy pattern once, outside the loops. */
GJ_TARGET_AVX2 static void im2col_interior(const float *src, long step, long row, int count, int KH, int run,
                                           float *col, int row_len)
{
    if (KH == 3 && run == 9) {
        /* 3x3 over 3 channels (an RGB input layer): the 27-float pixel row is assembled in four
         * vectors, each one load shifted back to where its kernel row starts plus a blend of the
         * previous row's last floats (r1 - 1 and r2 - 2 are the floats just before those runs in
         * the image: in bounds, never used), and written with four plain stores. The fourth store
         * runs 5 floats into the next pixel's row, which that pixel then overwrites; the last
         * pixel stores its tail of 3 floats alone. The fourth load is masked: it would read past
         * the image at its bottom-right corner. */
        const __m256i tail3 = _mm256_setr_epi32(-1, -1, -1, 0, 0, 0, 0, 0);
        for (int p = 0; p < count; p++, src += step, col += row_len) {
            const float *r0 = src, *r1 = src + row, *r2 = src + 2 * row;
            const __m256 v0 = _mm256_loadu_ps(r0);
            const __m256 v1 = _mm256_blend_ps(_mm256_loadu_ps(r1 - 1), _mm256_broadcast_ss(r0 + 8), 0x01);
            const __m256 v2 = _mm256_blend_ps(_mm256_loadu_ps(r2 - 2),
                                              _mm256_castps128_ps256(_mm_castpd_ps(_mm_load_sd((const double *)(r1 + 7)))),
                                              0x03);
            const __m256 v3 = _mm256_maskload_ps(r2 + 6, tail3);
            _mm256_storeu_ps(col, v0);
            _mm256_storeu_ps(col + 8, v1);
            _mm256_storeu_ps(col + 16, v2);
            if (p + 1 < count) {
                _mm256_storeu_ps(col + 24, v3);
            } else {
                const __m128 t = _mm256_castps256_ps128(v3);
                _mm_storel_pi((__m64 *)(col + 24), t);
                _mm_store_ss(col + 26, _mm_movehl_ps(t, t));
            }
        }
        return;
    }
    if (run >= 8 && run <= 16) {
        for (int p = 0; p < count; p++, src += step, col += row_len)
            for (int kh = 0; kh < KH; kh++) {
                const float *s = src + kh * row;
                float *d = col + kh * run;
                __m256 a = _mm256_loadu_ps(s), b = _mm256_loadu_ps(s + run - 8);
                _mm256_storeu_ps(d, a);
                _mm256_storeu_ps(d + run - 8, b);
            }
    } else if (run > 16 && run <= 24) {
        for (int p = 0; p < count; p++, src += step, col += row_len)
            for (int kh = 0; kh < KH; kh++) {
                const float *s = src + kh * row;
                float *d = col + kh * run;
                __m256 a = _mm256_loadu_ps(s), b = _mm256_loadu_ps(s + 8), c = _mm256_loadu_ps(s + run - 8);
                _mm256_storeu_ps(d, a);
                _mm256_storeu_ps(d + 8, b);
                _mm256_storeu_ps(d + run - 8, c);
            }
    } else {
        for (int p = 0; p < count; p++, src += step, col += row_len)
            for (int kh = 0; kh < KH; kh++) copy_run(col + kh * run, src + kh * row, run);
    }
}

GJ_TARGET_AVX512 static void im2col_interior_avx512(const float *src, long step, long row, int count, int KH,
                                                    int run, float *col, int row_len);

/* `wide`: the AVX-512 path is active and a pixel row fits two 16-float vectors. */
GJ_TARGET_AVX2 static void im2col_simd(const float *input, int H, int W, int C, int KH, int KW, int stride_h,
                                       int stride_w, int pad_top, int pad_left, int OH, int OW, float *columns,
                                       int wide)
{
    const int run = KW * C, row_len = KH * run;
    /* output columns [ow_lo, ow_hi) have every tap inside the image horizontally */
    int ow_lo = (pad_left + stride_w - 1) / stride_w;
    int ow_hi = W - KW + pad_left < 0 ? 0 : (W - KW + pad_left) / stride_w + 1;
    if (ow_hi > OW) ow_hi = OW;
    if (ow_lo > ow_hi) ow_lo = ow_hi;
    for (int oh = 0; oh < OH; oh++) {
        const int ih0 = oh * stride_h - pad_top;
        /* kernel rows [kh_lo, kh_hi) are inside the image vertically */
        const int kh_lo = ih0 < 0 ? (-ih0 < KH ? -ih0 : KH) : 0;
        int kh_hi = H - ih0 < KH ? H - ih0 : KH;
        if (kh_hi < kh_lo) kh_hi = kh_lo;
        float *col = columns + (size_t)oh * OW * row_len;
        int ow = 0;
        if (kh_lo == 0 && kh_hi == KH && ow_lo < ow_hi) {
            for (; ow < ow_lo; ow++)
                im2col_pixel(input, W, C, KH, KW, kh_lo, kh_hi, ih0, ow * stride_w - pad_left, col + (size_t)ow * row_len);
            const float *src = input + ((long)ih0 * W + (long)ow_lo * stride_w - pad_left) * C;
            if (wide)
                im2col_interior_avx512(src, (long)stride_w * C, (long)W * C, ow_hi - ow_lo, KH, run,
                                       col + (size_t)ow_lo * row_len, row_len);
            else
                im2col_interior(src, (long)stride_w * C, (long)W * C, ow_hi - ow_lo, KH, run,
                                col + (size_t)ow_lo * row_len, row_len);
            ow = ow_hi;
        }
        for (; ow < OW; ow++)
            im2col_pixel(input, W, C, KH, KW, kh_lo, kh_hi, ih0, ow * stride_w - pad_left, col + (size_t)ow * row_len);
    }
}

/* ---- AVX-512 ------------------------------------------------------------------------------------- */

/* Interior pixels when a whole pixel row fits two vectors (row_len = KH*run <= 32, run <= 16; e.g. a
 * 3x3 kernel over 3 channels: 27 floats). Each kernel row's run is loaded once (masked), the two
 * output vectors are assembled with masked permutes, and the pixel row is written with two stores
 * instead of KH short, overlapping ones (the stores are what limits im2col). */
GJ_TARGET_AVX512 static void im2col_interior_avx512(const float *src, long step, long row, int count, int KH,
                                                    int run, float *col, int row_len)
{
    __m512i idx0[32], idx1[32];
    __mmask16 m0[32], m1[32];
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (int k = 0; k < KH; k++) {
        /* output lanes [k*run, (k+1)*run) take lanes [0, run) of kernel row k */
        const int lo = k * run, hi = lo + run;
        unsigned b0 = 0, b1 = 0;
        for (int j = 0; j < 16; j++) {
            if (j >= lo && j < hi) b0 |= 1u << j;
            if (16 + j >= lo && 16 + j < hi) b1 |= 1u << j;
        }
        m0[k] = (__mmask16)b0;
        m1[k] = (__mmask16)b1;
        idx0[k] = _mm512_sub_epi32(lane, _mm512_set1_epi32(lo));
        idx1[k] = _mm512_sub_epi32(lane, _mm512_set1_epi32(lo - 16));
    }
    const __mmask16 load_mask = (__mmask16)((1u << run) - 1u);
    const __mmask16 store0 = row_len >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << row_len) - 1u);
    const __mmask16 store1 = row_len > 16 ? (__mmask16)((1u << (row_len - 16)) - 1u) : 0;
    if (KH == 3 && 2 * run >= 16) {
        /* 3x3 over 3 channels (run = 9) and the like: each output vector spans two kernel rows, so
         * one two-source permute per output vector */
        int t0[16], t1[16];
        for (int j = 0; j < 16; j++) {
            t0[j] = j < run ? j : 16 + (j - run);
            t1[j] = 16 + j < 2 * run ? 16 + j - run : 16 + (16 + j - 2 * run < 16 ? 16 + j - 2 * run : 0);
        }
        const __m512i p0 = _mm512_loadu_si512(t0), p1 = _mm512_loadu_si512(t1);
        for (int p = 0; p < count; p++, src += step, col += row_len) {
            __m512 r0 = _mm512_maskz_loadu_ps(load_mask, src);
            __m512 r1 = _mm512_maskz_loadu_ps(load_mask, src + row);
            __m512 r2 = _mm512_maskz_loadu_ps(load_mask, src + 2 * row);
            _mm512_mask_storeu_ps(col, store0, _mm512_permutex2var_ps(r0, p0, r1));
            _mm512_mask_storeu_ps(col + 16, store1, _mm512_permutex2var_ps(r1, p1, r2));
        }
        return;
    }
    if (KH == 3) { /* the common 3-row kernel: everything in registers */
        const __m512i i00 = idx0[0], i01 = idx0[1], i02 = idx0[2], i10 = idx1[0], i11 = idx1[1], i12 = idx1[2];
        const __mmask16 k00 = m0[0], k01 = m0[1], k02 = m0[2], k10 = m1[0], k11 = m1[1], k12 = m1[2];
        for (int p = 0; p < count; p++, src += step, col += row_len) {
            __m512 r0 = _mm512_maskz_loadu_ps(load_mask, src);
            __m512 r1 = _mm512_maskz_loadu_ps(load_mask, src + row);
            __m512 r2 = _mm512_maskz_loadu_ps(load_mask, src + 2 * row);
            __m512 o0 = _mm512_maskz_permutexvar_ps(k00, i00, r0);
            __m512 o1 = _mm512_maskz_permutexvar_ps(k10, i10, r0);
            o0 = _mm512_mask_permutexvar_ps(o0, k01, i01, r1);
            o1 = _mm512_mask_permutexvar_ps(o1, k11, i11, r1);
            o0 = _mm512_mask_permutexvar_ps(o0, k02, i02, r2);
            o1 = _mm512_mask_permutexvar_ps(o1, k12, i12, r2);
            _mm512_mask_storeu_ps(col, store0, o0);
            _mm512_mask_storeu_ps(col + 16, store1, o1);
        }
        return;
    }
    for (int p = 0; p < count; p++, src += step, col += row_len) {
        __m512 o0 = _mm512_setzero_ps(), o1 = _mm512_setzero_ps();
        for (int k = 0; k < KH; k++) {
            __m512 r = _mm512_maskz_loadu_ps(load_mask, src + k * row);
            o0 = _mm512_mask_permutexvar_ps(o0, m0[k], idx0[k], r);
            o1 = _mm512_mask_permutexvar_ps(o1, m1[k], idx1[k], r);
        }
        _mm512_mask_storeu_ps(col, store0, o0);
        _mm512_mask_storeu_ps(col + 16, store1, o1);
    }
}

/* Valid tap range of one output coordinate: taps [lo, hi) of a window starting at i0. */
static inline void tap_range(int i0, int size, int window, int *lo, int *hi)
{
    *lo = i0 < 0 ? -i0 : 0;
    *hi = size - i0 < window ? size - i0 : window;
    if (*hi < *lo) *hi = *lo;
}

/* Outputs of at least this many bytes per call are written with non-temporal stores (when C is a
 * multiple of 16 and the output 64-byte aligned on AVX-512; a multiple of 8 and 32-byte aligned on
 * AVX2). In a conv -> pool loop over a batch, one image
 * keeps about 1 MB live in L2 (the im2col columns, the GEMM result that is being pooled) and the
 * pooled output is not read again until a later kernel: written through the cache it costs a
 * read-for-ownership of each line from L3 and pushes the columns of the next image out of L2.
 * Measured on the CNN's 62x62x32 -> 31x31x32 pool: 12 -> 7 us per image. */
#define GJ_POOL_STREAM_BYTES (64L * 1024)

GJ_TARGET_AVX2 static void maxpool_avx2(const float *input, int H, int W, int C, int PH, int PW, int stride_h,
                                        int stride_w, int pad_top, int pad_left, int OH, int OW, float *output)
{
    if (C < 8) {
        maxpool_portable(input, H, W, C, PH, PW, stride_h, stride_w, pad_top, pad_left, OH, OW, output);
        return;
    }
    const __m256 lowest = _mm256_set1_ps(-FLT_MAX); /* TensorFlow's initial value */
    const int stream = C % 8 == 0 && ((uintptr_t)output & 31) == 0 &&
                       (long)OH * OW * C * (long)sizeof(float) >= GJ_POOL_STREAM_BYTES;
    for (int oh = 0; oh < OH; oh++) {
        const int ih0 = oh * stride_h - pad_top;
        int kh_lo, kh_hi;
        tap_range(ih0, H, PH, &kh_lo, &kh_hi);
        for (int ow = 0; ow < OW; ow++) {
            const int iw0 = ow * stride_w - pad_left;
            int kw_lo, kw_hi;
            tap_range(iw0, W, PW, &kw_lo, &kw_hi);
            float *out = output + ((size_t)oh * OW + ow) * C;
            if (C == 32 && kh_hi - kh_lo == 2 && kw_hi - kw_lo == 2) {
                /* the common 2x2 window over 32 channels, as on AVX-512: four independent chains of
                 * four taps, no loops (the generic loop below was 5x slower on it) */
                const float *in = input + ((size_t)(ih0 + kh_lo) * W + (size_t)(iw0 + kw_lo)) * C;
                const float *in2 = in + (size_t)W * C;
                __m256 m[4];
                for (int v = 0; v < 4; v++) {
                    m[v] = _mm256_max_ps(_mm256_loadu_ps(in + 8 * v), lowest);
                    m[v] = _mm256_max_ps(_mm256_loadu_ps(in + 32 + 8 * v), m[v]);
                    m[v] = _mm256_max_ps(_mm256_loadu_ps(in2 + 8 * v), m[v]);
                    m[v] = _mm256_max_ps(_mm256_loadu_ps(in2 + 32 + 8 * v), m[v]);
                }
                for (int v = 0; v < 4; v++) {
                    if (stream) _mm256_stream_ps(out + 8 * v, m[v]);
                    else _mm256_storeu_ps(out + 8 * v, m[v]);
                }
                continue;
            }
            /* vectors of 8 channels; the last one overlaps the previous when 8 does not divide C
             * (recomputing a few outputs from the same inputs gives the same values) */
            for (int c0 = 0; c0 < C; c0 += 8) {
                const int c = c0 + 8 <= C ? c0 : C - 8;
                __m256 m = lowest;
                for (int kh = kh_lo; kh < kh_hi; kh++) {
                    const float *in = input + ((size_t)(ih0 + kh) * W + (size_t)(iw0 + kw_lo)) * C + c;
                    for (int kw = 0; kw < kw_hi - kw_lo; kw++) m = _mm256_max_ps(_mm256_loadu_ps(in + (size_t)kw * C), m);
                }
                if (stream) _mm256_stream_ps(out + c, m); /* C % 8 == 0: whole, aligned vectors */
                else _mm256_storeu_ps(out + c, m);
            }
        }
    }
    if (stream) _mm_sfence(); /* order the streaming stores before whatever the caller does next */
}


GJ_TARGET_AVX512 static inline void pool_store(float *p, __m512 v, int stream)
{
    if (stream) _mm512_stream_ps(p, v);
    else _mm512_storeu_ps(p, v);
}

GJ_TARGET_AVX512 static void maxpool_avx512(const float *input, int H, int W, int C, int PH, int PW,
                                            int stride_h, int stride_w, int pad_top, int pad_left, int OH,
                                            int OW, float *output)
{
    const __m512 lowest = _mm512_set1_ps(-FLT_MAX); /* TensorFlow's initial value */
    const int stream = C % 16 == 0 && ((uintptr_t)output & 63) == 0 &&
                       (long)OH * OW * C * (long)sizeof(float) >= GJ_POOL_STREAM_BYTES;
    for (int oh = 0; oh < OH; oh++) {
        const int ih0 = oh * stride_h - pad_top;
        int kh_lo, kh_hi;
        tap_range(ih0, H, PH, &kh_lo, &kh_hi);
        for (int ow = 0; ow < OW; ow++) {
            const int iw0 = ow * stride_w - pad_left;
            int kw_lo, kw_hi;
            tap_range(iw0, W, PW, &kw_lo, &kw_hi);
            float *out = output + ((size_t)oh * OW + ow) * C;
            if (C == 32 && kh_hi - kh_lo == 2 && kw_hi - kw_lo == 2) { /* the common 2x2 window, 32 channels */
                const float *in = input + ((size_t)(ih0 + kh_lo) * W + (size_t)(iw0 + kw_lo)) * C;
                const float *in2 = in + (size_t)W * C;
                __m512 m0 = _mm512_max_ps(_mm512_loadu_ps(in), lowest);
                __m512 m1 = _mm512_max_ps(_mm512_loadu_ps(in + 16), lowest);
                m0 = _mm512_max_ps(_mm512_loadu_ps(in + 32), m0);
                m1 = _mm512_max_ps(_mm512_loadu_ps(in + 48), m1);
                m0 = _mm512_max_ps(_mm512_loadu_ps(in2), m0);
                m1 = _mm512_max_ps(_mm512_loadu_ps(in2 + 16), m1);
                m0 = _mm512_max_ps(_mm512_loadu_ps(in2 + 32), m0);
                m1 = _mm512_max_ps(_mm512_loadu_ps(in2 + 48), m1);
                pool_store(out, m0, stream);
                pool_store(out + 16, m1, stream);
                continue;
            }
            for (int c = 0; c < C; c += 16) {
                const __mmask16 mk = C - c >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (C - c)) - 1u);
                __m512 m = lowest;
                for (int kh = kh_lo; kh < kh_hi; kh++) {
                    const float *in = input + ((size_t)(ih0 + kh) * W + (size_t)(iw0 + kw_lo)) * C + c;
                    for (int kw = 0; kw < kw_hi - kw_lo; kw++)
                        m = _mm512_max_ps(_mm512_maskz_loadu_ps(mk, in + (size_t)kw * C), m);
                }
                if (stream) _mm512_stream_ps(out + c, m); /* C % 16 == 0: whole vectors */
                else _mm512_mask_storeu_ps(out + c, mk, m);
            }
        }
    }
    if (stream) _mm_sfence(); /* order the streaming stores before whatever the caller does next */
}
#endif /* GJ_CONV_SIMD */

/* ---- entry points --------------------------------------------------------------------------------- */

void gj_im2col_nhwc(const float *input, int H, int W, int C, int KH, int KW, int stride_h, int stride_w,
                    int pad_top, int pad_left, int OH, int OW, float *columns)
{
    if (OH <= 0 || OW <= 0 || KH <= 0 || KW <= 0 || C <= 0) return;
#ifdef GJ_CONV_SIMD
    const int path = gj_current_path();
    if (path != GJ_PATH_PORTABLE) {
        const int wide = path == GJ_PATH_AVX512 && KH * KW * C <= 32 && KW * C <= 16;
        im2col_simd(input, H, W, C, KH, KW, stride_h, stride_w, pad_top, pad_left, OH, OW, columns, wide);
        return;
    }
#endif
    im2col_portable(input, H, W, C, KH, KW, stride_h, stride_w, pad_top, pad_left, OH, OW, columns);
}

void gj_im2col_batch_nhwc(long batch, const float *input, int H, int W, int C, int KH, int KW, int stride_h,
                          int stride_w, int pad_top, int pad_left, int OH, int OW, float *columns)
{
    const size_t image = (size_t)H * W * C, rows = (size_t)OH * OW * KH * KW * C;
    for (long b = 0; b < batch; b++)
        gj_im2col_nhwc(input + (size_t)b * image, H, W, C, KH, KW, stride_h, stride_w, pad_top, pad_left, OH, OW,
                       columns + (size_t)b * rows);
}

void gj_maxpool_nhwc(const float *input, int H, int W, int C, int PH, int PW, int stride_h, int stride_w,
                     int pad_top, int pad_left, int OH, int OW, float *output)
{
    if (OH <= 0 || OW <= 0 || C <= 0) return;
#ifdef GJ_CONV_SIMD
    switch (gj_current_path()) {
    case GJ_PATH_AVX512:
        maxpool_avx512(input, H, W, C, PH, PW, stride_h, stride_w, pad_top, pad_left, OH, OW, output);
        return;
    case GJ_PATH_AVX2:
        maxpool_avx2(input, H, W, C, PH, PW, stride_h, stride_w, pad_top, pad_left, OH, OW, output);
        return;
    default: break;
    }
#endif
    maxpool_portable(input, H, W, C, PH, PW, stride_h, stride_w, pad_top, pad_left, OH, OW, output);
}
