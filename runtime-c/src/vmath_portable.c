/*
 * vmath_portable.c - scalar activations and softmax (libm based; exact to float rounding).
 */
#include <math.h>

#include "gj_internal.h"

/* Keras's definitions (keras/src/activations/activations.py): gelu's default is the exact erf
 * form; gelu_tanh is gelu(x, approximate=True); silu (swish) is x * sigmoid(x). */
float gj_act_scalar(float x, int act)
{
    switch (act) {
    case GJ_ACT_RELU: return x < 0.0f ? 0.0f : x; /* NaN stays NaN */
    case GJ_ACT_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case GJ_ACT_TANH: return tanhf(x);
    case GJ_ACT_GELU: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    case GJ_ACT_GELU_TANH:
        return 0.5f * x * (1.0f + tanhf(0.79788456080286536f * (x + 0.044715f * x * x * x)));
    case GJ_ACT_SILU: return x / (1.0f + expf(-x));
    default: return x;
    }
}

int gj_act_vectorized(const gj_path_ops *ops, int act)
{
    return act >= 0 && act < GJ_ACT_COUNT && (ops->vector_activations & GJ_ACT_BIT(act)) != 0;
}

void gj_activate_rows(float *C, int M, int N, long ldc, int act)
{
    if (act == GJ_ACT_LINEAR) return;
    if (ldc == N) {
        gj_activate(C, (long)M * N, act);
        return;
    }
    for (int i = 0; i < M; i++) gj_activate(C + (long)i * ldc, N, act);
}

void gj_activate_portable(float *x, long n, int act)
{
    if (act == GJ_ACT_LINEAR) return;
    for (long i = 0; i < n; i++) x[i] = gj_act_scalar(x[i], act);
}

/* Max-subtracted softmax with TensorFlow's (oneDNN's) non-finite rules, as measured with TF 2.21:
 *   - the max skips NaN entries;
 *   - -inf entries give 0 (a whole row of -inf gives NaN: -inf - -inf);
 *   - a row with a +inf or a NaN entry gives NaN at those entries and 0 everywhere else (x - max is
 *     NaN there and -inf or finite elsewhere; TensorFlow does not normalize by the NaN sum).
 * Here: when the sum of exp(x - max) is NaN, the row becomes "NaN where exp(x - max) is NaN, 0
 * elsewhere". Every path gives exactly this result (tests/test_nonfinite.c). (oneDNN also writes NaN
 * to a few other entries of a row that holds a NaN, depending on its vector lanes; GraphJIT writes 0
 * there.) */
void gj_softmax_rows_portable(float *x, long rows, int n)
{
    for (long r = 0; r < rows; r++) {
        float *p = x + r * (long)n;
        float m = -INFINITY;
        for (int j = 0; j < n; j++) m = p[j] > m ? p[j] : m; /* NaN skipped */
        float s = 0.0f;
        for (int j = 0; j < n; j++) {
            p[j] = expf(p[j] - m);
            s += p[j];
        }
        if (s != s) { /* a NaN or +inf entry, or a row of -inf */
            for (int j = 0; j < n; j++) p[j] = p[j] != p[j] ? p[j] : 0.0f;
            continue;
        }
        float inv = 1.0f / s;
        for (int j = 0; j < n; j++) p[j] *= inv;
    }
}

void gj_vexp_portable(const float *x, float *y, long n)
{
    for (long i = 0; i < n; i++) y[i] = expf(x[i]);
}
