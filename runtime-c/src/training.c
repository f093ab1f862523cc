/*
 * training.c - the backward passes, losses and optimizer steps that generated train-step kernels
 * call (the training routines of GJ_ABI_FUNCTIONS in gj_abi.h).
 *
 * Each routine mirrors the reference implementation of one GraphJIT operation (Sources/GraphJITIR/
 * Ops/Backward and Ops/Training), which is the oracle the tests compare against. Products go
 * through the runtime's GEMMs (gj_sgemm, gj_sgemm_t), which split large work over the worker
 * pool; the rest are plain loops, summing in double where a sum is long. Optimizer steps follow
 * Keras 3's float32 order of operations exactly, and may write in place (outputs aliasing inputs).
 */
#include "gj_internal.h" /* first: its fp-contract pragma */

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "gemm_transposed.h"

static const double kPi = 3.14159265358979323846; /* M_PI is not C11 */

/* ---- Activations' derivatives -------------------------------------------------------------------- */

/* f'(x) given f's output (linear, relu, sigmoid, tanh) or its input (gelu, gelu_tanh, silu): the
 * same split as ElementwiseActivation.Derivative in Swift. */
static double act_derivative(int act, double operand)
{
    switch (act) {
    case GJ_ACT_LINEAR: return 1.0;
    case GJ_ACT_RELU: return operand > 0 ? 1.0 : 0.0;
    case GJ_ACT_SIGMOID: return operand * (1.0 - operand);
    case GJ_ACT_TANH: return 1.0 - operand * operand;
    case GJ_ACT_GELU:
        return 0.5 * (1.0 + erf(operand / sqrt(2.0))) + operand * exp(-0.5 * operand * operand) / sqrt(2.0 * kPi);
    case GJ_ACT_GELU_TANH: {
        const double c = sqrt(2.0 / kPi);
        const double t = tanh(c * (operand + 0.044715 * operand * operand * operand));
        return 0.5 * (1.0 + t) + 0.5 * operand * (1.0 - t * t) * c * (1.0 + 3.0 * 0.044715 * operand * operand);
    }
    case GJ_ACT_SILU: {
        const double s = 1.0 / (1.0 + exp(-operand));
        return s * (1.0 + operand * (1.0 - s));
    }
    default: return NAN;
    }
}

static int act_reads_output(int act)
{
    return act == GJ_ACT_LINEAR || act == GJ_ACT_RELU || act == GJ_ACT_SIGMOID || act == GJ_ACT_TANH;
}

typedef struct {
    float *dy;
    const float *operand;
    int activation;
} activation_grad_task;

static void activation_grad_range(void *context, long begin, long end, int worker)
{
    (void)worker;
    const activation_grad_task *t = context;
    float *restrict dy = t->dy;
    const float *restrict y = t->operand;
    /* One branch-free loop per activation (the derivative's switch outside it, so each vectorizes),
     * each rounding once. relu multiplies by the 0/1 mask, as TensorFlow's ReluGrad does, so a
     * NaN gradient stays NaN where the unit is off too. */
    switch (t->activation) {
    case GJ_ACT_LINEAR: break;
    case GJ_ACT_RELU:
        for (long i = begin; i < end; i++) dy[i] *= (float)(y[i] > 0);
        break;
    case GJ_ACT_SIGMOID:
        for (long i = begin; i < end; i++) dy[i] = (float)((double)dy[i] * ((double)y[i] * (1.0 - (double)y[i])));
        break;
    case GJ_ACT_TANH:
        for (long i = begin; i < end; i++) dy[i] = (float)((double)dy[i] * (1.0 - (double)y[i] * y[i]));
        break;
    default:
        for (long i = begin; i < end; i++) dy[i] = (float)((double)dy[i] * act_derivative(t->activation, y[i]));
    }
}

void gj_activation_grad(float *dy, const float *operand, long n, int activation)
{
    activation_grad_task task = { dy, operand, activation };
    gj_parallel_for(n, 1 << 16, activation_grad_range, &task);
}

/* ---- Reductions, copies, fills ------------------------------------------------------------------- */

void gj_sum_rows(long rows, long n, const float *x, float *out)
{
    /* Row by row (the rows are contiguous), summing in double; small n fits on the stack. */
    double stack_sums[256];
    double *sums = n <= 256 ? stack_sums : malloc(sizeof(double) * (size_t)n);
    if (!sums) { /* out of memory: sum column by column instead */
        for (long j = 0; j < n; j++) {
            double sum = 0;
            for (long r = 0; r < rows; r++) sum += x[r * n + j];
            out[j] = (float)sum;
        }
        return;
    }
    for (long j = 0; j < n; j++) sums[j] = 0;
    for (long r = 0; r < rows; r++) {
        const float *row = x + r * n;
        for (long j = 0; j < n; j++) sums[j] += row[j];
    }
    for (long j = 0; j < n; j++) out[j] = (float)sums[j];
    if (sums != stack_sums) free(sums);
}

void gj_softmax_grad(const float *y, const float *dy, float *dx, long outer, long extent, long inner)
{
    for (long o = 0; o < outer; o++) {
        for (long i = 0; i < inner; i++) {
            const long base = o * extent * inner + i;
            double dot = 0;
            for (long e = 0; e < extent; e++) dot += (double)y[base + e * inner] * dy[base + e * inner];
            for (long e = 0; e < extent; e++) {
                const long at = base + e * inner;
                dx[at] = (float)((double)y[at] * ((double)dy[at] - dot));
            }
        }
    }
}

void gj_slice_rows(long outer, const float *x, long row, long offset, long count, float *out)
{
    for (long o = 0; o < outer; o++) memcpy(out + o * count, x + o * row + offset, sizeof(float) * (size_t)count);
}

void gj_fill(float *x, long n, float value)
{
    for (long i = 0; i < n; i++) x[i] = value;
}

int gj_all_finite(long n, const float *x)
{
    /* A float is NaN or infinite exactly when its exponent bits are all ones; OR-ing those tests is
     * an integer reduction, which the compiler may reorder and so vectorizes. */
    const unsigned *bits = (const unsigned *)(const void *)x;
    unsigned bad = 0;
    for (long i = 0; i < n; i++) bad |= (bits[i] & 0x7f800000u) == 0x7f800000u;
    return !bad;
}

void gj_increment(const float *x, float *out) { out[0] = x[0] + 1.0f; }

/* ---- Pooling and convolution --------------------------------------------------------------------- */

typedef struct {
    const float *dy, *x;
    float *dx;
    int H, W, C, PH, PW, stride_h, stride_w, pad_top, pad_left, OH, OW;
} maxpool_grad_task;

static void maxpool_grad_images(void *context, long begin, long end, int worker)
{
    (void)worker;
    const maxpool_grad_task *t = context;
    const long image_size = (long)t->H * t->W * t->C;
    const int C = t->C;
    /* Per window, the running maximum and its position for every channel at once (contiguous in
     * NHWC), so the channel loop vectorizes; windows are scanned in row-major tap order and a tap
     * wins only if strictly greater, so the first maximum wins, as in the forward pass. */
    /* Positions are ints (an image has fewer than 2^31 elements: the compiler checks every value's
     * size), as wide as the floats, so the selects vectorize. */
    float maximum_stack[256];
    int best_stack[256];
    float *maximum = C <= 256 ? maximum_stack : malloc(sizeof(float) * (size_t)C);
    int *best = C <= 256 ? best_stack : malloc(sizeof(int) * (size_t)C);
    if (!maximum || !best) { /* out of memory: no gradient rather than a wrong one */
        if (maximum != maximum_stack) free(maximum);
        if (best != best_stack) free(best);
        for (long i = begin * image_size; i < end * image_size; i++) t->dx[i] = NAN;
        return;
    }
    for (long b = begin; b < end; b++) {
        const float *image = t->x + b * image_size;
        const float *grad_out = t->dy + b * (long)t->OH * t->OW * C;
        float *grad = t->dx + b * image_size;
        memset(grad, 0, sizeof(float) * (size_t)image_size);
        for (int oy = 0; oy < t->OH; oy++)
            for (int ox = 0; ox < t->OW; ox++) {
                for (int c = 0; c < C; c++) { maximum[c] = -3.402823466e+38f; best[c] = -1; } /* -FLT_MAX */
                for (int py = 0; py < t->PH; py++) {
                    const int iy = oy * t->stride_h - t->pad_top + py;
                    if (iy < 0 || iy >= t->H) continue;
                    for (int px = 0; px < t->PW; px++) {
                        const int ix = ox * t->stride_w - t->pad_left + px;
                        if (ix < 0 || ix >= t->W) continue;
                        const int at = (iy * t->W + ix) * C;
                        const float *tap = image + at;
                        int c = 0;
#ifdef __SSE2__
                        /* 4 channels at a time with x86-64's baseline SSE2 (the compiler's cost model
                         * will not vectorize the selects without SSE4.1's blends): maxps(tap, max)
                         * keeps max when tap is NaN, exactly `tap > max ? tap : max`. */
                        const __m128i lane = _mm_setr_epi32(0, 1, 2, 3);
                        for (; c + 4 <= C; c += 4) {
                            const __m128 value = _mm_loadu_ps(tap + c), current = _mm_loadu_ps(maximum + c);
                            const __m128i wins = _mm_castps_si128(_mm_cmpgt_ps(value, current));
                            const __m128i index = _mm_add_epi32(_mm_set1_epi32(at + c), lane);
                            const __m128i previous = _mm_loadu_si128((const __m128i *)(best + c));
                            _mm_storeu_ps(maximum + c, _mm_max_ps(value, current));
                            _mm_storeu_si128((__m128i *)(best + c),
                                             _mm_or_si128(_mm_and_si128(wins, index), _mm_andnot_si128(wins, previous)));
                        }
#endif
                        for (; c < C; c++)
                            if (tap[c] > maximum[c]) { maximum[c] = tap[c]; best[c] = at + c; }
                    }
                }
                const float *g = grad_out + ((long)oy * t->OW + ox) * C;
                for (int c = 0; c < C; c++)
                    if (best[c] >= 0) grad[best[c]] += g[c];
            }
    }
    if (maximum != maximum_stack) free(maximum);
    if (best != best_stack) free(best);
}

void gj_maxpool_grad_nhwc(const float *dy, const float *x, long batch, int H, int W, int C, int PH, int PW,
                          int stride_h, int stride_w, int pad_top, int pad_left, int OH, int OW, float *dx)
{
    maxpool_grad_task task = { dy, x, dx, H, W, C, PH, PW, stride_h, stride_w, pad_top, pad_left, OH, OW };
    gj_parallel_for(batch, 1, maxpool_grad_images, &task);
}

typedef struct {
    const float *x, *dy;
    int H, W, C, KH, KW, stride_h, stride_w, pad_top, pad_left, OH, OW, F;
    float *partials; /* per worker: columns, then its dK */
    long slot;
    int *used;
} filter_grad_task;

static void filter_grad_images(void *context, long begin, long end, int worker)
{
    const filter_grad_task *t = context;
    const int patch = t->KH * t->KW * t->C;
    float *columns = t->partials + (long)worker * t->slot;
    float *dk = columns + (long)t->OH * t->OW * patch;
    for (long b = begin; b < end; b++) {
        gj_im2col_nhwc(t->x + b * t->H * t->W * t->C, t->H, t->W, t->C, t->KH, t->KW, t->stride_h, t->stride_w,
                       t->pad_top, t->pad_left, t->OH, t->OW, columns);
        /* dK_worker[PATCH, F] (+)= columnsᵀ[PATCH, OH*OW] · dy_b[OH*OW, F] */
        gj_sgemm_t(1, 0, patch, t->F, t->OH * t->OW, columns, patch, t->dy + b * t->OH * t->OW * t->F, t->F, dk, t->F,
                   NULL, GJ_ACT_LINEAR, t->used[worker]);
        t->used[worker] = 1;
    }
}

void gj_conv2d_filter_grad_nhwc(const float *x, const float *dy, long batch, int H, int W, int C, int KH, int KW,
                                int stride_h, int stride_w, int pad_top, int pad_left, int OH, int OW, int F,
                                float *dk, float *columns)
{
    const int patch = KH * KW * C;
    const long dk_floats = (long)patch * F;
    memset(dk, 0, sizeof(float) * (size_t)dk_floats);
    /* The reduction over images is long (the tutorial CNN: 32 images x 3844 pixels): split it over
     * the workers, each into its own partial dK, then add the partials. */
    const int workers = gj_max_workers();
    const long slot = (long)OH * OW * patch + dk_floats;
    float *partials = workers > 1 && batch > 1 ? malloc(sizeof(float) * (size_t)(slot * workers)) : NULL;
    int used_stack[64];
    int *used = workers <= 64 ? used_stack : calloc((size_t)workers, sizeof(int));
    if (!partials || !used) { /* one worker (or out of memory): the given scratch, in order */
        free(partials);
        if (used && used != used_stack) free(used);
        for (long b = 0; b < batch; b++) {
            gj_im2col_nhwc(x + b * H * W * C, H, W, C, KH, KW, stride_h, stride_w, pad_top, pad_left, OH, OW, columns);
            gj_sgemm_t(1, 0, patch, F, OH * OW, columns, patch, dy + b * OH * OW * F, F, dk, F, NULL, GJ_ACT_LINEAR, 1);
        }
        return;
    }
    for (int w = 0; w < workers; w++) used[w] = 0;
    filter_grad_task task = { x, dy, H, W, C, KH, KW, stride_h, stride_w, pad_top, pad_left, OH, OW, F, partials, slot, used };
    gj_parallel_for(batch, 1, filter_grad_images, &task);
    for (int w = 0; w < workers; w++) {
        if (!used[w]) continue;
        const float *partial = partials + (long)w * slot + (long)OH * OW * patch;
        for (long i = 0; i < dk_floats; i++) dk[i] += partial[i];
    }
    free(partials);
    if (used != used_stack) free(used);
}

void gj_conv2d_input_grad_nhwc(const float *dy, const float *kernel, long batch, int H, int W, int C, int KH, int KW,
                               int stride_h, int stride_w, int pad_top, int pad_left, int OH, int OW, int F,
                               float *dx, float *columns)
{
    const int patch = KH * KW * C;
    memset(dx, 0, sizeof(float) * (size_t)(batch * H * W * C));
    for (long b = 0; b < batch; b++) {
        /* columns[OH*OW, PATCH] = dy_b[OH*OW, F] · Kᵀ, K stored [PATCH, F] */
        gj_sgemm_t(0, 1, OH * OW, patch, F, dy + b * OH * OW * F, F, kernel, F, columns, patch, NULL, GJ_ACT_LINEAR, 0);
        float *image = dx + b * H * W * C;
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                const float *column = columns + ((long)oy * OW + ox) * patch;
                for (int ky = 0; ky < KH; ky++) {
                    const int iy = oy * stride_h - pad_top + ky;
                    if (iy < 0 || iy >= H) continue;
                    for (int kx = 0; kx < KW; kx++) {
                        const int ix = ox * stride_w - pad_left + kx;
                        if (ix < 0 || ix >= W) continue;
                        float *pixel = image + ((long)iy * W + ix) * C;
                        const float *taps = column + (ky * KW + kx) * C;
                        for (int c = 0; c < C; c++) pixel[c] += taps[c];
                    }
                }
            }
    }
}

/* ---- Attention ----------------------------------------------------------------------------------- */

void gj_weighted_sum_grad(long outer, long steps, long middle, long depth, const float *w, const float *v,
                          const float *dctx, float *dw, float *dv)
{
    for (long o = 0; o < outer; o++)
        for (long t = 0; t < steps; t++)
            for (long m = 0; m < middle; m++) {
                const long row = (o * steps + t) * middle + m;
                const float *context = dctx + (o * middle + m) * depth;
                double sum = 0;
                for (long d = 0; d < depth; d++) {
                    sum += (double)context[d] * v[row * depth + d];
                    dv[row * depth + d] = w[row] * context[d];
                }
                dw[row] = (float)sum;
            }
}

/* ---- LSTM ---------------------------------------------------------------------------------------- */

void gj_lstm_backward(long batch, long steps, long units, const float *z, const float *recurrent, const float *dh,
                      int return_sequences, int activation, int recurrent_activation, float *dz, float *drecurrent,
                      float *scratch)
{
    const long u = units, g = 4 * units, bt = batch * steps;
    /* scratch: pre-activations and activated gates [B,T,4u]; cells, act(cells), hidden states and
     * the hidden states shifted by one step [B,T,u]; then dh_next, dc_next [B,u]. */
    float *pre = scratch, *gates = pre + bt * g, *cells = gates + bt * g, *active_cells = cells + bt * u;
    float *hidden = active_cells + bt * u;
    float *previous = hidden + bt * u, *dh_next = previous + bt * u, *dc_next = dh_next + batch * u;
    const int units_i = (int)u, gates_i = (int)g, lda_h = (int)(steps * u), ldz = (int)(steps * g);

    /* Forward, every step kept. */
    for (long b = 0; b < batch; b++) memcpy(pre + b * steps * g, z + b * steps * g, sizeof(float) * (size_t)(steps * g));
    for (long t = 0; t < steps; t++) {
        if (t > 0)
            gj_sgemm((int)batch, gates_i, units_i, hidden + (t - 1) * u, lda_h, recurrent, gates_i, pre + t * g, ldz,
                     NULL, GJ_ACT_LINEAR, 1);
        for (long b = 0; b < batch; b++) {
            const long row = b * steps + t;
            float *a = gates + row * g;
            float *c = cells + row * u, *active_c = active_cells + row * u, *h = hidden + row * u;
            const float *c_before = t > 0 ? c - u : NULL;
            /* the gates with the path's vector activations: i, f and o recurrent, c the cell's */
            memcpy(a, pre + row * g, sizeof(float) * (size_t)g);
            gj_activate(a, 2 * u, recurrent_activation);
            gj_activate(a + 2 * u, u, activation);
            gj_activate(a + 3 * u, u, recurrent_activation);
            for (long j = 0; j < u; j++)
                c[j] = (float)((double)a[u + j] * (c_before ? c_before[j] : 0.0f) + (double)a[j] * a[2 * u + j]);
            memcpy(active_c, c, sizeof(float) * (size_t)u);
            gj_activate(active_c, u, activation);
            for (long j = 0; j < u; j++) h[j] = a[3 * u + j] * active_c[j];
        }
    }
    /* Backward over time. */
    memset(dh_next, 0, sizeof(float) * (size_t)(batch * u));
    memset(dc_next, 0, sizeof(float) * (size_t)(batch * u));
    const int act_out = act_reads_output(activation), rec_out = act_reads_output(recurrent_activation);
    for (long t = steps - 1; t >= 0; t--) {
        for (long b = 0; b < batch; b++) {
            const long row = b * steps + t;
            const float *p = pre + row * g, *a = gates + row * g, *c = cells + row * u, *active_c = active_cells + row * u;
            float *d = dz + row * g;
            if (activation == GJ_ACT_TANH && recurrent_activation == GJ_ACT_SIGMOID) {
                /* Keras's default cell, the derivatives from the outputs written out (tanh' = 1 - y²,
                 * σ' = y(1 - y)): the same values as the general loop below, in a loop that
                 * vectorizes. */
                const float *h_in = return_sequences ? dh + row * u : (t == steps - 1 ? dh + b * u : NULL);
                float *restrict next_h = dh_next + b * u, *restrict next_c = dc_next + b * u;
                float *restrict out = d;
                const float *restrict ga = a, *restrict ac = active_c, *restrict cb = t > 0 ? c - u : NULL;
                for (long j = 0; j < u; j++) {
                    const double dht = (double)next_h[j] + (h_in ? (double)h_in[j] : 0.0);
                    const double i = ga[j], f = ga[u + j], gg = ga[2 * u + j], o = ga[3 * u + j], act_c = ac[j];
                    const double c_before = cb ? cb[j] : 0.0;
                    const double dc = next_c[j] + dht * o * (1.0 - act_c * act_c);
                    out[3 * u + j] = (float)(dht * act_c * (o * (1.0 - o)));
                    out[j] = (float)(dc * gg * (i * (1.0 - i)));
                    out[u + j] = (float)(dc * c_before * (f * (1.0 - f)));
                    out[2 * u + j] = (float)(dc * i * (1.0 - gg * gg));
                    next_c[j] = (float)(dc * f);
                }
                continue;
            }
            for (long j = 0; j < u; j++) {
                double dht = dh_next[b * u + j];
                if (return_sequences) dht += dh[row * u + j];
                else if (t == steps - 1) dht += dh[b * u + j];
                const double i = a[j], f = a[u + j], gg = a[2 * u + j], o = a[3 * u + j];
                const float act_c = active_c[j];
                const double c_before = t > 0 ? c[j - u] : 0.0;
                const double dc = dc_next[b * u + j] + dht * o * act_derivative(activation, act_out ? act_c : c[j]);
                d[3 * u + j] = (float)(dht * act_c * act_derivative(recurrent_activation, rec_out ? a[3 * u + j] : p[3 * u + j]));
                d[j] = (float)(dc * gg * act_derivative(recurrent_activation, rec_out ? a[j] : p[j]));
                d[u + j] = (float)(dc * c_before * act_derivative(recurrent_activation, rec_out ? a[u + j] : p[u + j]));
                d[2 * u + j] = (float)(dc * i * act_derivative(activation, act_out ? a[2 * u + j] : p[2 * u + j]));
                dc_next[b * u + j] = (float)(dc * f);
            }
        }
        /* dh_next[B, u] = dz_t[B, 4u] · Uᵀ, U stored [u, 4u] */
        gj_sgemm_t(0, 1, (int)batch, units_i, gates_i, dz + t * g, ldz, recurrent, gates_i, dh_next, units_i, NULL,
                   GJ_ACT_LINEAR, 0);
    }
    /* dU[u, 4u] = Σ_t h_{t-1}ᵀ · dz_t, as one GEMM over every (b, t) with h_{-1} = 0. */
    for (long b = 0; b < batch; b++) {
        memset(previous + b * steps * u, 0, sizeof(float) * (size_t)u);
        if (steps > 1)
            memcpy(previous + b * steps * u + u, hidden + b * steps * u, sizeof(float) * (size_t)((steps - 1) * u));
    }
    gj_sgemm_t(1, 0, units_i, gates_i, (int)bt, previous, units_i, dz, gates_i, drecurrent, gates_i, NULL,
               GJ_ACT_LINEAR, 0);
}

/* ---- Losses -------------------------------------------------------------------------------------- */

/* One row's loss and, if grad != NULL, its gradient (unscaled), in double: LossFunction.evaluate. */
static double loss_row(int loss, long classes, const float *p, const float *target, double *grad)
{
    const int sparse = loss == GJ_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY ||
                       loss == GJ_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY_FROM_LOGITS;
    long label = -1;
    if (sparse) {
        const float value = target[0];
        if (!(value >= 0 && value < (float)classes && value == floorf(value))) {
            if (grad) for (long c = 0; c < classes; c++) grad[c] = NAN;
            return NAN;
        }
        label = (long)value;
    }
#define TARGET(c) (sparse ? ((c) == label ? 1.0 : 0.0) : (double)target[c])
    switch (loss) {
    case GJ_LOSS_CATEGORICAL_CROSSENTROPY_FROM_LOGITS:
    case GJ_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY_FROM_LOGITS: {
        double maximum = p[0];
        for (long c = 1; c < classes; c++) if (p[c] > maximum) maximum = p[c];
        double sum = 0, target_sum = 0, value = 0;
        for (long c = 0; c < classes; c++) sum += exp(p[c] - maximum);
        const double lse = maximum + log(sum);
        for (long c = 0; c < classes; c++) {
            target_sum += TARGET(c);
            value += TARGET(c) * (lse - p[c]);
        }
        if (grad) for (long c = 0; c < classes; c++) grad[c] = exp(p[c] - lse) * target_sum - TARGET(c);
        return value;
    }
    case GJ_LOSS_CATEGORICAL_CROSSENTROPY:
    case GJ_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY: {
        const double epsilon = 1e-7f, upper = 1.0f - 1e-7f;
        double sum = 0, value = 0, passing = 0;
        for (long c = 0; c < classes; c++) sum += p[c];
        for (long c = 0; c < classes; c++) {
            const double q = p[c] / sum;
            const double clipped = q < epsilon ? epsilon : (q > upper ? upper : q);
            value -= TARGET(c) * log(clipped);
            if (q >= epsilon && q <= upper) passing += TARGET(c);
        }
        if (grad)
            for (long c = 0; c < classes; c++) {
                const double q = p[c] / sum;
                grad[c] = (((q >= epsilon && q <= upper) ? -TARGET(c) / q : 0.0) + passing) / sum;
            }
        return value;
    }
    case GJ_LOSS_MEAN_SQUARED_ERROR: {
        double value = 0;
        for (long c = 0; c < classes; c++) {
            const double d = (double)p[c] - TARGET(c);
            value += d * d;
            if (grad) grad[c] = 2 * d / (double)classes;
        }
        return value / (double)classes;
    }
    default: return NAN;
    }
#undef TARGET
}

static long target_width(int loss, long classes)
{
    return loss == GJ_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY || loss == GJ_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY_FROM_LOGITS
               ? 1 : classes;
}

void gj_loss_value(int loss, long rows, long classes, const float *prediction, const float *target, float *loss_out)
{
    const long width = target_width(loss, classes);
    double sum = 0;
    for (long r = 0; r < rows; r++) sum += loss_row(loss, classes, prediction + r * classes, target + r * width, NULL);
    loss_out[0] = (float)(sum / (double)rows);
}

void gj_loss_grad(int loss, long rows, long classes, const float *prediction, const float *target, const float *seed,
                  float *grad)
{
    const long width = target_width(loss, classes);
    const double scale = (double)seed[0] / (double)rows;
    double *row_grad = malloc(sizeof(double) * (size_t)(classes > 0 ? classes : 1));
    if (!row_grad) { /* out of memory: no gradient is better than a wrong one */
        for (long i = 0; i < rows * classes; i++) grad[i] = NAN;
        return;
    }
    for (long r = 0; r < rows; r++) {
        loss_row(loss, classes, prediction + r * classes, target + r * width, row_grad);
        for (long c = 0; c < classes; c++) grad[r * classes + c] = (float)(row_grad[c] * scale);
    }
    free(row_grad);
}

/* ---- Optimizers (float32, Keras 3's order of operations) ---------------------------------------- */

/* The optimizers are memory-bound elementwise passes: large parameters are split over the workers. */
enum { OPTIMIZER_GRAIN = 1 << 16 };

typedef struct {
    const float *theta, *grad, *s0, *s1, *s2;
    float *theta_out, *s0_out, *s1_out, *s2_out;
    float a, b, c, d, e; /* the rule's scalars */
    int flag;
} optimizer_task;

static void adam_range(void *context, long begin, long end, int worker)
{
    (void)worker;
    const optimizer_task *t = context;
    const float alpha = t->a, one_minus_b1 = t->b, one_minus_b2 = t->c, epsilon = t->d;
    long i = begin;
#ifdef __SSE2__
    /* 4 at a time with baseline SSE2: the same float operations in the same order as the scalar
     * loop below (which libm's sqrtf keeps the compiler from vectorizing). */
    const __m128 a = _mm_set1_ps(alpha), b1 = _mm_set1_ps(one_minus_b1), b2 = _mm_set1_ps(one_minus_b2),
                 eps = _mm_set1_ps(epsilon);
    for (; i + 4 <= end; i += 4) {
        const __m128 g = _mm_loadu_ps(t->grad + i), m = _mm_loadu_ps(t->s0 + i), v = _mm_loadu_ps(t->s1 + i);
        const __m128 mi = _mm_add_ps(m, _mm_mul_ps(_mm_sub_ps(g, m), b1));
        const __m128 vi = _mm_add_ps(v, _mm_mul_ps(_mm_sub_ps(_mm_mul_ps(g, g), v), b2));
        const __m128 theta = _mm_loadu_ps(t->theta + i);
        _mm_storeu_ps(t->s0_out + i, mi);
        _mm_storeu_ps(t->s1_out + i, vi);
        _mm_storeu_ps(t->theta_out + i,
                      _mm_sub_ps(theta, _mm_div_ps(_mm_mul_ps(mi, a), _mm_add_ps(_mm_sqrt_ps(vi), eps))));
    }
#endif
    for (; i < end; i++) {
        const float g = t->grad[i];
        const float mi = t->s0[i] + (g - t->s0[i]) * one_minus_b1;
        const float vi = t->s1[i] + (g * g - t->s1[i]) * one_minus_b2;
        t->s0_out[i] = mi;
        t->s1_out[i] = vi;
        t->theta_out[i] = t->theta[i] - (mi * alpha) / (sqrtf(vi) + epsilon);
    }
}

void gj_adam_update(long n, const float *iterations, const float *theta, const float *grad, const float *m,
                    const float *v, float *theta_out, float *m_out, float *v_out, float lr, float beta1, float beta2,
                    float epsilon, float one_minus_beta1, float one_minus_beta2)
{
    /* The powers are float32 (Keras casts beta to the variable's dtype); 1 - beta comes rounded
     * from double, as Keras's Python float does. */
    const float t = iterations[0] + 1.0f;
    const float alpha = lr * sqrtf(1.0f - powf(beta2, t)) / (1.0f - powf(beta1, t));
    optimizer_task task = { theta, grad, m, v, NULL, theta_out, m_out, v_out, NULL,
                            alpha, one_minus_beta1, one_minus_beta2, epsilon, 0.0f, 0 };
    gj_parallel_for(n, OPTIMIZER_GRAIN, adam_range, &task);
}

static void sgd_range(void *context, long begin, long end, int worker)
{
    (void)worker;
    const optimizer_task *t = context;
    const float lr = t->a, momentum = t->b;
    for (long i = begin; i < end; i++) {
        const float g = t->grad[i];
        if (t->s0) {
            const float m = t->s0[i] * momentum - g * lr;
            t->s0_out[i] = m;
            t->theta_out[i] = t->theta[i] + (t->flag ? m * momentum - g * lr : m);
        } else {
            t->theta_out[i] = t->theta[i] - g * lr;
        }
    }
}

void gj_sgd_update(long n, const float *theta, const float *grad, const float *velocity, float *theta_out,
                   float *velocity_out, float lr, float momentum, int nesterov)
{
    optimizer_task task = { theta, grad, velocity, NULL, NULL, theta_out, velocity_out, NULL, NULL,
                            lr, momentum, 0.0f, 0.0f, 0.0f, nesterov };
    gj_parallel_for(n, OPTIMIZER_GRAIN, sgd_range, &task);
}

static void rmsprop_range(void *context, long begin, long end, int worker)
{
    (void)worker;
    const optimizer_task *t = context;
    const float lr = t->a, rho = t->b, momentum_rate = t->c, epsilon = t->d, one_minus_rho = t->e;
    for (long i = begin; i < end; i++) {
        const float g = t->grad[i];
        const float vi = rho * t->s0[i] + one_minus_rho * (g * g);
        t->s0_out[i] = vi;
        float denominator = vi + epsilon;
        if (t->s2) {
            const float ai = rho * t->s2[i] + one_minus_rho * g;
            t->s2_out[i] = ai;
            denominator = vi - ai * ai + epsilon;
        }
        const float increment = (lr * g) / sqrtf(denominator);
        if (t->s1) {
            const float mi = momentum_rate * t->s1[i] + increment;
            t->s1_out[i] = mi;
            t->theta_out[i] = t->theta[i] - mi;
        } else {
            t->theta_out[i] = t->theta[i] - increment;
        }
    }
}

void gj_rmsprop_update(long n, const float *theta, const float *grad, const float *velocity, const float *momentum,
                       const float *average, float *theta_out, float *velocity_out, float *momentum_out,
                       float *average_out, float lr, float rho, float momentum_rate, float epsilon,
                       float one_minus_rho)
{
    optimizer_task task = { theta, grad, velocity, momentum, average, theta_out, velocity_out, momentum_out, average_out,
                            lr, rho, momentum_rate, epsilon, one_minus_rho, 0 };
    gj_parallel_for(n, OPTIMIZER_GRAIN, rmsprop_range, &task);
}
