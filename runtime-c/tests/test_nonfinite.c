/*
 * test_nonfinite.c - NaN, +-inf and huge finite inputs through every runtime routine, on every CPU
 * path this machine supports (gj_runtime_force_path).
 *
 * The expected results are the semantics Keras 3.15.1 / TensorFlow 2.21 (eager, CPU, oneDNN on)
 * computes, measured with Tests/KerasFixtures/make_keras_fixtures.py --verify (see its README):
 *   - GEMM (Dense, Conv2D via im2col, the attention's weighted sum): IEEE arithmetic; a NaN or inf
 *     operand gives NaN/inf in every output that reads it (0 * inf = NaN, inf - inf = NaN); no
 *     kernel may skip a zero operand or read padded lanes into stored outputs.
 *   - activations: relu(NaN) = NaN; sigmoid, tanh saturate at +-inf; gelu, gelu_tanh and silu of
 *     -inf are NaN (-inf * 0), of +inf are +inf, of -3e38 are -0, of 3e38 are 3e38.
 *   - softmax: the max skips NaN; -inf entries give 0; a row with a +inf or NaN entry gives NaN at
 *     those entries and 0 elsewhere; a row of -inf gives NaN.
 *   - max pooling: NaN taps are skipped, the accumulator starts at -FLT_MAX: a window of NaN/-inf
 *     only gives -FLT_MAX, +inf wins.
 *   - LSTM cell: IEEE arithmetic through the gates (the AVX-512 fused form saturates sigmoid/tanh at
 *     +-30/+-10, within float precision of 0/1, so finite results agree to 1e-6).
 * A result "agrees" when both are NaN, or both are the same infinity, or both are finite and within
 * the tolerance given at each check. Build and run: see run.sh. Exit status 0 = all passed.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graphjit_runtime.h"
#include "gj_internal.h"

#define TEST_RNG_SEED 0xD1B54A32D192ED03ull
#define TEST_MAX_REPORTS 40
#include "test_support.h"

static const float SPECIALS[] = { NAN, INFINITY, -INFINITY, 3e38f, -3e38f, FLT_MAX, -FLT_MAX };
#define NSPECIALS ((int)(sizeof SPECIALS / sizeof *SPECIALS))
static float rnd_special(void) { return SPECIALS[rnd_int(0, NSPECIALS - 1)]; }

/* Both NaN, the same infinity, or finite and |got - want| <= abs + rel * |want|. */
static int agrees(float got, double want, double abs_tol, double rel_tol)
{
    if (isnan(want)) return isnan(got);
    if (isinf(want) || fabs(want) > FLT_MAX) {
        float w = (float)want; /* rounds like a float result: beyond FLT_MAX is inf */
        if (isinf(w)) return got == w;
    }
    return isfinite(got) && fabs((double)got - want) <= abs_tol + rel_tol * fabs(want);
}

static const char *cls(float x) { return isnan(x) ? "NaN" : isinf(x) ? (x > 0 ? "+inf" : "-inf") : "finite"; }

static double act_ref(double x, int act)
{
    switch (act) {
    case GJ_ACT_RELU: return x < 0 ? 0 : x; /* NaN stays NaN */
    case GJ_ACT_SIGMOID: return 1.0 / (1.0 + exp(-x));
    case GJ_ACT_TANH: return tanh(x);
    case GJ_ACT_GELU: return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
    case GJ_ACT_GELU_TANH: return 0.5 * x * (1.0 + tanh(0.79788456080286536 * (x + 0.044715 * x * x * x)));
    case GJ_ACT_SILU: return x / (1.0 + exp(-x));
    default: return x;
    }
}

static const char *const PATHS[] = { "avx512", "avx2", "portable" };

/* ---- activations: `activate` and the GEMM store epilogues -------------------------------------- */

static const float ACT_INPUTS[] = { NAN, INFINITY, -INFINITY, 3e38f, -3e38f, FLT_MAX, -FLT_MAX, 1e13f, -1e13f,
                                    100.0f, -100.0f, 20.0f, -20.0f, 1.0f, -1.0f, 0.0f, -0.0f, 0.5f };
#define NACT_INPUTS ((int)(sizeof ACT_INPUTS / sizeof *ACT_INPUTS))

static void test_activations(const gj_runtime *rt, const char *path)
{
    /* known values (Keras 3.15.1): the classes that matter */
    static const struct { int act; float x; float want; } known[] = {
        { GJ_ACT_RELU, NAN, NAN }, { GJ_ACT_RELU, INFINITY, INFINITY }, { GJ_ACT_RELU, -INFINITY, 0.0f },
        { GJ_ACT_SIGMOID, INFINITY, 1.0f }, { GJ_ACT_SIGMOID, -INFINITY, 0.0f }, { GJ_ACT_SIGMOID, NAN, NAN },
        { GJ_ACT_TANH, INFINITY, 1.0f }, { GJ_ACT_TANH, -INFINITY, -1.0f }, { GJ_ACT_TANH, NAN, NAN },
        { GJ_ACT_GELU, INFINITY, INFINITY }, { GJ_ACT_GELU, -INFINITY, NAN }, { GJ_ACT_GELU, -3e38f, 0.0f },
        { GJ_ACT_GELU, 3e38f, 3e38f }, { GJ_ACT_GELU_TANH, INFINITY, INFINITY }, { GJ_ACT_GELU_TANH, -INFINITY, NAN },
        { GJ_ACT_GELU_TANH, -3e38f, 0.0f }, { GJ_ACT_GELU_TANH, 3e38f, 3e38f }, { GJ_ACT_SILU, INFINITY, INFINITY },
        { GJ_ACT_SILU, -INFINITY, NAN }, { GJ_ACT_SILU, -3e38f, 0.0f }, { GJ_ACT_SILU, 3e38f, 3e38f },
    };
    for (size_t k = 0; k < sizeof known / sizeof *known; k++) {
        float v = known[k].x;
        rt->activate(&v, 1, known[k].act);
        CHECK(isnan(known[k].want) ? isnan(v) : v == known[k].want, "%s: act %d of %g = %g, Keras gives %g", path,
              known[k].act, known[k].x, v, known[k].want);
    }
    /* every input at every lane position (full vectors and masked tails) */
    float buf[64], ones[32], col[64 * 32];
    for (int j = 0; j < 32; j++) ones[j] = 1.0f;
    for (int act = 0; act < GJ_ACT_COUNT; act++) {
        for (int len = 1; len <= 40; len += (len < 18 ? 1 : 7)) {
            for (int i = 0; i < len; i++) buf[i] = ACT_INPUTS[(i * 7 + len) % NACT_INPUTS];
            float in[64];
            memcpy(in, buf, sizeof(float) * (size_t)len);
            rt->activate(buf, len, act);
            for (int i = 0; i < len; i++) {
                double want = act_ref((double)in[i], act);
                CHECK(agrees(buf[i], want, 1e-6, 2e-6), "%s: activate act %d n=%d [%d] of %g = %g (%s), want %g", path,
                      act, len, i, in[i], buf[i], cls(buf[i]), want);
            }
            /* as a GEMM epilogue: C[len x n] = in[len x 1] * ones[1 x n], act (n = 1: dot rows,
             * 8..17: narrow kernels and edge tiles, 32: full tiles) */
            static const int widths[] = { 1, 8, 16, 17, 32 };
            for (size_t w = 0; w < sizeof widths / sizeof *widths; w++) {
                int n = widths[w];
                rt->sgemm(len, n, 1, in, 1, ones, n, col, n, NULL, act, 0);
                for (int i = 0; i < len; i++)
                    for (int j = 0; j < n; j++) {
                        double want = act_ref((double)in[i], act);
                        CHECK(agrees(col[i * n + j], want, 1e-6, 2e-6), "%s: sgemm epilogue act %d M=%d N=%d [%d,%d] of %g = %g, want %g",
                              path, act, len, n, i, j, in[i], col[i * n + j], want);
                    }
            }
        }
    }
}

/* ---- GEMM: non-finite operands in A (inputs) and B (the attention's values), edge tiles, K blocks -- */

static void test_gemm(const gj_runtime *rt, const char *path)
{
    static const int shapes[][3] = { /* M, N, K */
        { 1, 1, 1 }, { 1, 16, 16 }, { 1, 33, 7 }, { 1, 64, 300 }, { 1, 8, 16 }, { 2, 10, 128 }, { 3, 128, 800 },
        { 7, 1, 40 }, { 17, 1, 257 }, { 9, 17, 27 }, { 13, 32, 27 }, { 16, 5, 64 }, { 25, 48, 513 }, { 40, 100, 33 },
    };
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        for (int variant = 0; variant < 8; variant++) {
            const int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
            const int packed = variant & 1, in_b = (variant >> 1) & 1, accumulate = (variant >> 2) & 1;
            float *A = malloc(sizeof(float) * (size_t)M * K), *B = malloc(sizeof(float) * (size_t)K * N);
            float *C = malloc(sizeof(float) * (size_t)M * N), *C0 = malloc(sizeof(float) * (size_t)M * N);
            float *bias = malloc(sizeof(float) * (size_t)N);
            float *P = malloc(sizeof(float) * rt->packed_b_floats(K, N));
            for (int i = 0; i < M * K; i++) A[i] = rnd_float(-1, 1);
            for (int i = 0; i < K * N; i++) B[i] = rnd_float(-1, 1);
            for (int j = 0; j < N; j++) bias[j] = rnd_float(-0.5f, 0.5f);
            for (int i = 0; i < M * N; i++) C0[i] = accumulate && rnd_int(0, 9) == 0 ? rnd_special() : rnd_float(-1, 1);
            /* a few special entries, one exact zero next to an inf (0 * inf = NaN must not be skipped) */
            float *target = in_b ? B : A;
            int count = in_b ? K * N : M * K;
            for (int t = 0; t < 1 + count / 97; t++) target[rnd_int(0, count - 1)] = rnd_special();
            if (in_b && K > 1) { A[0] = 0.0f; B[0] = INFINITY; }
            memcpy(C, C0, sizeof(float) * (size_t)M * N);
            int act = rnd_int(0, 3);
            if (packed) {
                rt->pack_b(K, N, B, N, P);
                rt->sgemm_packed(M, N, K, A, K, P, C, N, bias, act, accumulate);
            } else {
                rt->sgemm(M, N, K, A, K, B, N, C, N, bias, act, accumulate);
            }
            int bad = 0;
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++) {
                    double sum = 0, mag = 0; /* mag: the finite terms' magnitude */
                    for (int k = 0; k < K; k++) {
                        double t = (double)A[i * K + k] * B[k * N + j];
                        sum += t;
                        if (isfinite(t)) mag += fabs(t);
                    }
                    if (accumulate) sum += C0[i * N + j];
                    if (accumulate && isfinite(C0[i * N + j])) mag += fabs(C0[i * N + j]);
                    sum += bias[j];
                    /* when the finite terms alone can overflow a float partial sum, the result depends
                     * on the summation order (so does TensorFlow's): not a semantics, skip it */
                    if (mag > 1e38) continue;
                    double want = act_ref(sum, act);
                    float got = C[i * N + j];
                    if (!agrees(got, want, 1e-5 * (1 + mag), 1e-5) && bad++ == 0)
                        CHECK(0, "%s: gemm M=%d N=%d K=%d packed=%d specials in %s acc=%d act=%d: C[%d,%d] = %g (%s), want %g",
                              path, M, N, K, packed, in_b ? "B" : "A", accumulate, act, i, j, got, cls(got), want);
                }
            g_checks++;
            free(A); free(B); free(C); free(C0); free(bias); free(P);
        }
    }
}

/* ---- softmax ------------------------------------------------------------------------------------ */

/* The Keras rule, written independently of the runtime's formulation. */
static void softmax_rule(const float *x, double *y, int n)
{
    double m = -INFINITY;
    int has_nan = 0;
    for (int j = 0; j < n; j++) {
        if (isnan(x[j])) has_nan = 1;
        else if (x[j] > m) m = x[j];
    }
    if (m == -INFINITY) { /* only -inf and NaN entries */
        for (int j = 0; j < n; j++) y[j] = NAN;
        return;
    }
    if (has_nan || m == INFINITY) {
        for (int j = 0; j < n; j++) y[j] = isnan(x[j]) || x[j] == INFINITY ? NAN : 0.0;
        return;
    }
    double s = 0;
    for (int j = 0; j < n; j++) s += y[j] = exp((double)x[j] - m);
    for (int j = 0; j < n; j++) y[j] /= s;
}

static void test_softmax(const gj_runtime *rt, const char *path)
{
    enum { MAXN = 70, MAXROWS = 11 };
    float x[MAXROWS * MAXN], x0[MAXROWS * MAXN];
    double want[MAXN];
    int rows_checked = 0;
    for (int n = 1; n <= MAXN; n++) {
        /* pattern kinds: one NaN / +inf / -inf / 3e38 at each position; then rows mixing them */
        for (int kind = 0; kind < 9; kind++) {
            const int positions = kind < 4 ? n : 4;
            for (int pos = 0; pos < positions; pos++) {
                const int rows = 1 + (n + pos + kind) % MAXROWS;
                for (int r = 0; r < rows; r++) {
                    float *p = x + r * n;
                    for (int j = 0; j < n; j++) p[j] = rnd_float(-3, 3);
                    if (r % 3 == 2) continue; /* some finite rows between the special ones */
                    switch (kind) {
                    case 0: p[pos] = NAN; break;
                    case 1: p[pos] = INFINITY; break;
                    case 2: p[pos] = -INFINITY; break;
                    case 3: p[pos] = 3e38f; p[(pos + 1) % n] = -3e38f; break;
                    case 4: for (int j = 0; j < n; j++) p[j] = -INFINITY; break;
                    case 5: for (int j = 0; j < n; j++) p[j] = NAN; break;
                    case 6: for (int j = 0; j < n; j++) if (rnd_int(0, 2) == 0) p[j] = rnd_special(); break;
                    case 7: p[rnd_int(0, n - 1)] = INFINITY; p[rnd_int(0, n - 1)] = INFINITY; p[rnd_int(0, n - 1)] = -INFINITY; break;
                    default: p[rnd_int(0, n - 1)] = INFINITY; p[rnd_int(0, n - 1)] = NAN; break;
                    }
                }
                memcpy(x0, x, sizeof(float) * (size_t)rows * n);
                rt->softmax_rows(x, rows, n);
                for (int r = 0; r < rows; r++) {
                    softmax_rule(x0 + r * n, want, n);
                    int bad = -1;
                    for (int j = 0; j < n && bad < 0; j++)
                        if (!agrees(x[r * n + j], want[j], 1e-6, 1e-6)) bad = j;
                    CHECK(bad < 0, "%s: softmax n=%d rows=%d kind=%d row %d [%d]: in %g, got %g (%s), want %g", path, n,
                          rows, kind, r, bad, bad < 0 ? 0.0 : x0[r * n + bad], bad < 0 ? 0.0 : x[r * n + bad],
                          bad < 0 ? "" : cls(x[r * n + bad]), bad < 0 ? 0.0 : want[bad]);
                    rows_checked++;
                }
            }
        }
    }
    /* the measured Keras rows (keras.activations.softmax, TF 2.21) */
    float a[4] = { INFINITY, 1, INFINITY, 2 }, b[4] = { 3e38f, -3e38f, 1, 2 }, c[4] = { -INFINITY, 1, 2, -INFINITY };
    float d[4] = { -INFINITY, 1, 2, NAN };
    rt->softmax_rows(a, 1, 4);
    rt->softmax_rows(b, 1, 4);
    rt->softmax_rows(c, 1, 4);
    rt->softmax_rows(d, 1, 4);
    CHECK(isnan(a[0]) && a[1] == 0 && isnan(a[2]) && a[3] == 0, "%s: softmax [inf 1 inf 2] = %g %g %g %g", path, a[0],
          a[1], a[2], a[3]);
    CHECK(b[0] == 1 && b[1] == 0 && b[2] == 0 && b[3] == 0, "%s: softmax [3e38 -3e38 1 2] = %g %g %g %g", path, b[0],
          b[1], b[2], b[3]);
    CHECK(c[0] == 0 && fabsf(c[1] - 0.26894143f) < 1e-7f && fabsf(c[2] - 0.73105854f) < 1e-7f && c[3] == 0,
          "%s: softmax [-inf 1 2 -inf]", path);
    CHECK(d[0] == 0 && d[1] == 0 && d[2] == 0 && isnan(d[3]), "%s: softmax [-inf 1 2 NaN] = %g %g %g %g", path, d[0],
          d[1], d[2], d[3]);
    printf("  softmax: %d rows with NaN / +-inf / huge entries\n", rows_checked);
}

/* ---- max pooling -------------------------------------------------------------------------------- */

static void same_pad(int in, int k, int s, int *out, int *before)
{
    *out = (in + s - 1) / s;
    int total = (*out - 1) * s + k - in;
    *before = total > 0 ? total / 2 : 0;
}

static void test_maxpool(const gj_runtime *rt, const char *path)
{
    /* H, W, C, PH, PW, sh, sw, same: the CNN's 2x2 over 32 channels (AVX-512's fast path), masked
     * channel tails (17, 33), the AVX2 overlapping vector (12), C < 8 (AVX2's scalar fallback) */
    static const int geo[][8] = {
        { 6, 6, 32, 2, 2, 2, 2, 0 }, { 7, 7, 32, 2, 2, 2, 2, 1 }, { 7, 7, 17, 3, 3, 2, 2, 0 }, { 5, 5, 33, 2, 2, 1, 1, 1 },
        { 6, 6, 12, 2, 2, 2, 2, 0 }, { 6, 5, 8, 3, 2, 1, 2, 1 }, { 4, 4, 3, 2, 2, 2, 2, 0 }, { 5, 5, 1, 3, 3, 1, 1, 1 },
        { 8, 8, 16, 4, 4, 4, 4, 0 }, { 9, 9, 64, 3, 3, 2, 2, 1 },
    };
    for (size_t g = 0; g < sizeof geo / sizeof *geo; g++) {
        for (int fill_kind = 0; fill_kind < 4; fill_kind++) {
            const int H = geo[g][0], W = geo[g][1], C = geo[g][2], PH = geo[g][3], PW = geo[g][4];
            const int sh = geo[g][5], sw = geo[g][6], same = geo[g][7];
            int OH, OW, pt = 0, pl = 0;
            if (same) {
                same_pad(H, PH, sh, &OH, &pt);
                same_pad(W, PW, sw, &OW, &pl);
            } else {
                OH = (H - PH) / sh + 1;
                OW = (W - PW) / sw + 1;
            }
            float *in = malloc(sizeof(float) * (size_t)H * W * C), *out = malloc(sizeof(float) * (size_t)OH * OW * C);
            for (int i = 0; i < H * W * C; i++) {
                float v = rnd_float(-2, 2);
                if (fill_kind == 0 && rnd_int(0, 3) == 0) v = rnd_special();
                if (fill_kind == 1 && rnd_int(0, 2) == 0) v = NAN;
                if (fill_kind == 2 && rnd_int(0, 2) == 0) v = rnd_int(0, 1) ? -INFINITY : NAN;
                if (fill_kind == 3) v = rnd_int(0, 1) ? -INFINITY : NAN; /* nothing but NaN and -inf */
                in[i] = v;
            }
            /* the first window: all NaN in channel 0, all -inf in channel 1, NaN among finite taps in
             * the last channel, +inf among NaN in channel 2 */
            for (int y = 0; y < PH && y < H; y++)
                for (int xw = 0; xw < PW && xw < W; xw++) {
                    float *p = in + ((size_t)y * W + xw) * C;
                    p[0] = NAN;
                    if (C > 1) p[1] = -INFINITY;
                    if (C > 2) p[2] = y == 0 && xw == 0 ? INFINITY : NAN;
                    if (C > 3) p[C - 1] = y == 0 && xw == 0 ? NAN : -1.5f;
                }
            rt->maxpool_nhwc(in, H, W, C, PH, PW, sh, sw, pt, pl, OH, OW, out);
            int bad = 0;
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++)
                    for (int c = 0; c < C; c++) {
                        float m = -FLT_MAX;
                        for (int kh = 0; kh < PH; kh++)
                            for (int kw = 0; kw < PW; kw++) {
                                int ih = oh * sh - pt + kh, iw = ow * sw - pl + kw;
                                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                                float v = in[((size_t)ih * W + iw) * C + c];
                                if (v > m) m = v; /* NaN skipped */
                            }
                        float got = out[((size_t)oh * OW + ow) * C + c];
                        if (!(got == m) && bad++ == 0)
                            CHECK(0, "%s: maxpool %dx%dx%d pool %dx%d s %dx%d same=%d fill %d: out[%d,%d,%d] = %g, want %g",
                                  path, H, W, C, PH, PW, sh, sw, same, fill_kind, oh, ow, c, got, m);
                    }
            g_checks++;
            CHECK(isnan(in[0]) && out[0] == -FLT_MAX, "%s: maxpool all-NaN window gives %g, Keras -FLT_MAX", path, out[0]);
            if (C > 1) CHECK(out[1] == -FLT_MAX, "%s: maxpool all -inf window gives %g, Keras -FLT_MAX", path, out[1]);
            if (C > 2) CHECK(out[2] == INFINITY, "%s: maxpool +inf among NaN gives %g", path, out[2]);
            free(in);
            free(out);
        }
    }
}

/* ---- LSTM cell ---------------------------------------------------------------------------------- */

static void test_lstm(const gj_runtime *rt, const char *path)
{
    static const int acts[][2] = { { GJ_ACT_TANH, GJ_ACT_SIGMOID }, { GJ_ACT_RELU, GJ_ACT_SIGMOID }, { GJ_ACT_TANH, GJ_ACT_TANH } };
    static const int units[] = { 1, 7, 16, 17, 50, 64, 65 };
    for (size_t a = 0; a < sizeof acts / sizeof *acts; a++)
        for (size_t ui = 0; ui < sizeof units / sizeof *units; ui++) {
            const int act = acts[a][0], rec = acts[a][1], u = units[ui], rows = 3, ldz = 4 * u, ld = u;
            float *z = malloc(sizeof(float) * rows * ldz), *c = malloc(sizeof(float) * rows * ld);
            float *h = malloc(sizeof(float) * rows * ld), *c0 = malloc(sizeof(float) * rows * ld);
            for (int i = 0; i < rows * ldz; i++) z[i] = rnd_int(0, 4) == 0 ? rnd_special() : rnd_float(-8, 8);
            for (int i = 0; i < rows * ld; i++) {
                c[i] = rnd_float(-3, 3);
                /* a tanh LSTM's cell state is finite or NaN; a relu LSTM's can be +-inf */
                if (rnd_int(0, 6) == 0) c[i] = act == GJ_ACT_RELU ? rnd_special() : NAN;
            }
            memcpy(c0, c, sizeof(float) * rows * ld);
            rt->lstm_cell(rows, u, z, ldz, c, ld, h, ld, act, rec);
            int bad = 0;
            for (int r = 0; r < rows; r++)
                for (int j = 0; j < u; j++) {
                    const float *zr = z + r * ldz;
                    double i = act_ref(zr[j], rec), f = act_ref(zr[u + j], rec);
                    double gg = act_ref(zr[2 * u + j], act), o = act_ref(zr[3 * u + j], rec);
                    double cn = (double)(float)(f * c0[r * ld + j] + i * gg);
                    double hn = o * act_ref(cn, act);
                    float gc = c[r * ld + j], gh = h[r * ld + j];
                    if (!(agrees(gc, cn, 1e-6, 1e-6) && agrees(gh, hn, 1e-6, 1e-6)) && bad++ == 0)
                        CHECK(0, "%s: lstm act=%d rec=%d u=%d row %d unit %d: z = %g %g %g %g, c0 = %g: c = %g (want %g), h = %g (want %g)",
                              path, act, rec, u, r, j, zr[j], zr[u + j], zr[2 * u + j], zr[3 * u + j], c0[r * ld + j], gc, cn, gh, hn);
                }
            g_checks++;
            free(z); free(c); free(h); free(c0);
        }
}

int main(void)
{
    const gj_runtime *rt = gj_runtime_get();
    const char *detected = gj_runtime_cpu_path();
    printf("non-finite semantics; detected path: %s\n", detected);
    for (int p = 0; p < 3; p++) {
        if (!gj_runtime_force_path(PATHS[p])) {
            printf("[%s] not supported on this CPU, skipped\n", PATHS[p]);
            continue;
        }
        printf("[%s]\n", PATHS[p]);
        test_activations(rt, PATHS[p]);
        test_gemm(rt, PATHS[p]);
        test_softmax(rt, PATHS[p]);
        test_maxpool(rt, PATHS[p]);
        test_lstm(rt, PATHS[p]);
    }
    gj_runtime_force_path(detected);
    printf("%d checks, %d failures\n", g_checks, g_failures);
    return g_failures ? 1 : 0;
}
