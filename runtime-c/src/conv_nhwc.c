/*
 * conv_nhwc.c - im2col and max pooling for one NHWC image.
 *
 * Both take the output size and the top/left padding from the caller (Keras: `valid` -> 0;
 * `same` -> pad_total = max((ceil(H/s) - 1)*s + k - H, 0), pad_top = pad_total / 2).
 */
#include <math.h>
#include <string.h>

#include "gj_internal.h"

/* One memcpy per contiguous run (KW*C floats); measured faster than an open-coded loop for the
 * short runs typical here. */
static inline void copy_floats(float *dst, const float *src, int n)
{
    memcpy(dst, src, (size_t)n * sizeof(float));
}

static inline void zero_floats(float *dst, int n)
{
    if (n > 0) memset(dst, 0, (size_t)n * sizeof(float));
}

/* columns[(oh*OW + ow), (kh*KW + kw)*C + c] = input[oh*sh - pad_top + kh, ow*sw - pad_left + kw, c]
 * or 0 outside the image. Within one (output pixel, kh) the KW taps that fall inside the image
 * are contiguous in NHWC memory, so each such run is one copy. */
void gj_im2col_nhwc(const float *input, int H, int W, int C, int KH, int KW, int stride_h, int stride_w,
                    int pad_top, int pad_left, int OH, int OW, float *columns)
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
                copy_floats(dst + (size_t)kw_lo * C, input + ((size_t)ih * W + (iw0 + kw_lo)) * C,
                            (kw_hi - kw_lo) * C);
                zero_floats(dst + (size_t)kw_hi * C, (KW - kw_hi) * C);
            }
        }
    }
}

/* output[oh, ow, c] = max over the taps inside the image; taps in the padding are ignored
 * (an output pixel with no valid tap, impossible with Keras padding, gets -inf). */
void gj_maxpool_nhwc(const float *input, int H, int W, int C, int PH, int PW, int stride_h, int stride_w,
                     int pad_top, int pad_left, int OH, int OW, float *output)
{
    for (int oh = 0; oh < OH; oh++) {
        int ih0 = oh * stride_h - pad_top;
        int kh_lo = ih0 < 0 ? -ih0 : 0, kh_hi = H - ih0 < PH ? H - ih0 : PH;
        for (int ow = 0; ow < OW; ow++) {
            int iw0 = ow * stride_w - pad_left;
            int kw_lo = iw0 < 0 ? -iw0 : 0, kw_hi = W - iw0 < PW ? W - iw0 : PW;
            float *out = output + ((size_t)oh * OW + ow) * C;
            for (int c = 0; c < C; c++) out[c] = -INFINITY;
            for (int kh = kh_lo; kh < kh_hi; kh++) {
                for (int kw = kw_lo; kw < kw_hi; kw++) {
                    const float *in = input + ((size_t)(ih0 + kh) * W + (iw0 + kw)) * C;
                    for (int c = 0; c < C; c++) out[c] = in[c] > out[c] ? in[c] : out[c];
                }
            }
        }
    }
}
