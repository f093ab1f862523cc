/*
 * test_transposed.c - correctness tests (and an optional benchmark) for gj_sgemm_t, the transposed
 * GEMM variants (src/gemm_transposed.c).
 *
 * Every case is checked element by element against a naive double-precision reference, for all
 * four (trans_a, trans_b) combinations, on every CPU path this machine supports
 * (gj_runtime_force_path: avx512, avx2, portable). Shapes: 1x1x1, odd sizes, narrow N = 1..20,
 * M = 1, K up to 70000, the training shapes (30752x128x64 dW, 64x30752x128 dX, a conv dW with long
 * K), sizes above the threading thresholds on 1 and 2 threads, random shapes; padded lda/ldb/ldc
 * (C's padding must stay untouched); bias / no bias; accumulate on / off; activations linear,
 * relu, sigmoid, tanh. Also: trans_a == trans_b == 0 is bit-identical to gj_sgemm, K == 0 only
 * applies the epilogue, and the split-K route gives the same bits on 1 and 2 threads.
 *
 * Tolerance per element: |c - ref| <= 1e-5 * (sum_k |op(A)_ik| |op(B)_kj| + |C0_ij| (accumulate)
 * + |bias_j|) + 1e-6, where ref is computed in double from the same float inputs. The activations
 * are 1-Lipschitz, so the pre-activation bound carries over; the 1e-6 covers the vectorized
 * sigmoid/tanh approximations (~1e-7 absolute).
 *
 * Usage: test_transposed           run the tests; last line "N passed, N failed"; exit 1 on failure
 *        test_transposed bench     GFLOP/s of gj_sgemm_t vs gj_sgemm per path and thread count
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "graphjit_runtime.h"
#include "gj_internal.h"
#include "gemm_transposed.h"

static int g_passed, g_failed;

static void report(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(int ok, const char *fmt, ...)
{
    if (ok) {
        g_passed++;
        return;
    }
    if (g_failed < 30) {
        va_list ap;
        va_start(ap, fmt);
        printf("FAIL ");
        vprintf(fmt, ap);
        printf("\n");
        va_end(ap);
    }
    g_failed++;
}

/* ---- deterministic RNG -------------------------------------------------------------------------- */
static unsigned long long g_rng = 0x243F6A8885A308D3ull;
static unsigned rnd_u32(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (unsigned)(g_rng >> 11);
}
static int rnd_int(int lo, int hi) { return lo + (int)(rnd_u32() % (unsigned)(hi - lo + 1)); }
static float rnd_float(float lo, float hi) { return lo + (hi - lo) * (float)(rnd_u32() & 0xFFFFFF) / 16777216.0f; }
static void fill(float *p, size_t n)
{
    for (size_t i = 0; i < n; i++) p[i] = rnd_float(-1, 1);
}

static double act_ref(double x, int act)
{
    switch (act) {
    case GJ_ACT_RELU: return x < 0 ? 0 : x;
    case GJ_ACT_SIGMOID: return 1.0 / (1.0 + exp(-x));
    case GJ_ACT_TANH: return tanh(x);
    default: return x;
    }
}

static const char *const PATHS[] = { "portable", "avx2", "avx512" };
static const char *const ACT_NAMES[] = { "linear", "relu", "sigmoid", "tanh" };

#define SENTINEL 12345.0f

/* ---- one case -----------------------------------------------------------------------------------
 * Storage: A is [M, K + pad_a] (trans_a == 0) or [K, M + pad_a]; B is [K, N + pad_b] (trans_b == 0)
 * or [N, K + pad_b]; C is [M, N + pad_c] with SENTINEL in the padding. Returns error / tolerance
 * (worst element). */
static double tcase(int ta, int tb, int M, int N, int K, int pad_a, int pad_b, int pad_c, int use_bias, int act,
                    int accumulate, const char *tag)
{
    const int lda = (ta ? M : K) + pad_a, ldb = (tb ? K : N) + pad_b, ldc = N + pad_c;
    const size_t a_rows = ta ? K : M, b_rows = tb ? N : K;
    float *A = malloc(sizeof(float) * (a_rows * lda + 1));
    float *B = malloc(sizeof(float) * (b_rows * ldb + 1));
    float *C = malloc(sizeof(float) * ((size_t)M * ldc + 1));
    float *C0 = malloc(sizeof(float) * ((size_t)M * ldc + 1));
    float *bias = malloc(sizeof(float) * N);
    /* op(A) as [M,K] and op(B) transposed as [N,K], both k-contiguous, for a fast reference */
    double *ra = malloc(sizeof(double) * (size_t)M * (K ? K : 1));
    double *rb = malloc(sizeof(double) * (size_t)N * (K ? K : 1));
    if (!A || !B || !C || !C0 || !bias || !ra || !rb) {
        report(0, "%s: out of memory", tag);
        return 0;
    }
    fill(A, a_rows * lda);
    fill(B, b_rows * ldb);
    fill(bias, (size_t)N);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < ldc; j++) C0[(size_t)i * ldc + j] = j < N ? rnd_float(-1, 1) : SENTINEL;
    memcpy(C, C0, sizeof(float) * (size_t)M * ldc);
    for (int i = 0; i < M; i++)
        for (int k = 0; k < K; k++)
            ra[(size_t)i * K + k] = ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
    for (int j = 0; j < N; j++)
        for (int k = 0; k < K; k++)
            rb[(size_t)j * K + k] = tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];

    gj_sgemm_t(ta, tb, M, N, K, A, lda, B, ldb, C, ldc, use_bias ? bias : NULL, act, accumulate);

    double worst = 0;
    int bad = 0;
    for (int i = 0; i < M && !bad; i++) {
        for (int j = 0; j < ldc; j++) {
            const float got = C[(size_t)i * ldc + j];
            if (j >= N) {
                if (got != SENTINEL) {
                    bad = 1;
                    report(0, "%s: ta=%d tb=%d M=%d N=%d K=%d: padding of C overwritten at (%d,%d)", tag, ta, tb, M,
                           N, K, i, j);
                    break;
                }
                continue;
            }
            const double *x = ra + (size_t)i * K, *y = rb + (size_t)j * K;
            double s = 0, mag = 0;
            for (int k = 0; k < K; k++) {
                s += x[k] * y[k];
                mag += fabs(x[k] * y[k]);
            }
            if (accumulate) { s += C0[(size_t)i * ldc + j]; mag += fabs(C0[(size_t)i * ldc + j]); }
            if (use_bias) { s += bias[j]; mag += fabs(bias[j]); }
            const double ref = act_ref(s, act);
            const double tol = 1e-5 * mag + 1e-6;
            const double err = fabs(got - ref);
            if (!(err <= tol)) { /* also catches NaN */
                bad = 1;
                report(0, "%s: ta=%d tb=%d M=%d N=%d K=%d lda=%d ldb=%d ldc=%d bias=%d act=%s acc=%d: C[%d,%d]=%.8g ref=%.8g tol=%.3g",
                       tag, ta, tb, M, N, K, lda, ldb, ldc, use_bias, ACT_NAMES[act], accumulate, i, j, got, ref, tol);
                break;
            }
            if (err / tol > worst) worst = err / tol;
        }
    }
    if (!bad) report(1, "%s", tag);
    free(A); free(B); free(C); free(C0); free(bias); free(ra); free(rb);
    return worst;
}

static double g_worst;
static int g_cases;

static void run(int ta, int tb, int M, int N, int K, int pad_a, int pad_b, int pad_c, int use_bias, int act,
                int accumulate, const char *tag)
{
    double w = tcase(ta, tb, M, N, K, pad_a, pad_b, pad_c, use_bias, act, accumulate, tag);
    if (w > g_worst) g_worst = w;
    g_cases++;
}

static void test_path(const char *path)
{
    char tag[96];
    g_worst = 0;
    g_cases = 0;

    /* every flag combination on a few shapes */
    static const int full[][3] = { { 1, 1, 1 }, { 17, 33, 65 }, { 8, 16, 256 }, { 49, 47, 513 }, { 1, 40, 30 }, { 30, 1, 30 } };
    for (size_t s = 0; s < sizeof full / sizeof *full; s++)
        for (int t = 0; t < 4; t++)
            for (int flags = 0; flags < 16; flags++) {
                gj_runtime_set_threads(1 + (flags & 1));
                snprintf(tag, sizeof tag, "%s/flags", path);
                run(t & 1, t >> 1, full[s][0], full[s][1], full[s][2], flags & 1, (flags >> 1) & 1, 3,
                    (flags >> 2) & 1, flags & 3, (flags >> 3) & 1, tag);
            }

    /* edge sizes around the tiles (8/6/4 rows, 16/32 columns, 16/12-row narrow tiles), the
     * 48-row A~ blocks and the K blocks */
    static const int Ms[] = { 1, 2, 7, 8, 9, 13, 16, 17, 47, 48, 49, 97 };
    static const int Ns[] = { 1, 2, 15, 16, 17, 31, 32, 33, 64, 65 };
    static const int Ks[] = { 1, 2, 9, 255, 256, 257, 1025 };
    for (size_t a = 0; a < sizeof Ms / sizeof *Ms; a++)
        for (size_t b = 0; b < sizeof Ns / sizeof *Ns; b++)
            for (size_t c = 0; c < sizeof Ks / sizeof *Ks; c++) {
                const int t = rnd_int(1, 3);
                gj_runtime_set_threads(rnd_int(1, 2));
                snprintf(tag, sizeof tag, "%s/edge", path);
                run(t & 1, t >> 1, Ms[a], Ns[b], Ks[c], rnd_int(0, 3), rnd_int(0, 3), rnd_int(0, 3), rnd_int(0, 1),
                    rnd_int(0, 3), rnd_int(0, 1), tag);
            }

    /* narrow N = 1..20 */
    static const int nMs[] = { 1, 5, 16, 17, 50 };
    static const int nKs[] = { 1, 7, 64, 300 };
    for (int n = 1; n <= 20; n++)
        for (size_t a = 0; a < sizeof nMs / sizeof *nMs; a++)
            for (size_t c = 0; c < sizeof nKs / sizeof *nKs; c++)
                for (int t = 0; t < 4; t++) {
                    snprintf(tag, sizeof tag, "%s/narrow", path);
                    run(t & 1, t >> 1, nMs[a], n, nKs[c], rnd_int(0, 2), rnd_int(0, 2), rnd_int(0, 2), rnd_int(0, 1),
                        rnd_int(0, 3), rnd_int(0, 1), tag);
                }

    /* M == 1 (matvec and dot-product routes; 70000 > the 64K-float gather chunk of trans_a) */
    static const int mvNs[] = { 1, 3, 16, 33, 200, 520 };
    static const int mvKs[] = { 1, 2, 50, 129, 4096 };
    for (size_t b = 0; b < sizeof mvNs / sizeof *mvNs; b++)
        for (size_t c = 0; c < sizeof mvKs / sizeof *mvKs; c++)
            for (int t = 0; t < 4; t++) {
                snprintf(tag, sizeof tag, "%s/m1", path);
                run(t & 1, t >> 1, 1, mvNs[b], mvKs[c], rnd_int(0, 3), rnd_int(0, 3), rnd_int(0, 3), rnd_int(0, 1),
                    rnd_int(0, 3), rnd_int(0, 1), tag);
            }
    for (int t = 0; t < 4; t++) {
        snprintf(tag, sizeof tag, "%s/m1-longk", path);
        run(t & 1, t >> 1, 1, 5, 70000, 1, 2, 0, 1, GJ_ACT_TANH, 1, tag);
        run(t & 1, t >> 1, 1, 300, 9000, 0, 0, 0, 1, GJ_ACT_SIGMOID, 0, tag);
    }

    /* random shapes 1..70 */
    for (int it = 0; it < 400; it++) {
        gj_runtime_set_threads(rnd_int(1, 2));
        snprintf(tag, sizeof tag, "%s/random", path);
        run(rnd_int(0, 1), rnd_int(0, 1), rnd_int(1, 70), rnd_int(1, 70), rnd_int(1, 70), rnd_int(0, 5), rnd_int(0, 5),
            rnd_int(0, 5), it & 1, (it >> 1) & 3, (it >> 3) & 1, tag);
    }

    /* long K, multiple N blocks, threaded sizes (1 and 2 threads), split-K shapes */
    static const int big[][3] = {
        { 33, 40, 4096 }, { 8, 17, 4096 }, { 3, 1100, 40 }, { 70, 600, 300 }, { 129, 97, 700 },
        { 300, 64, 64 }, { 200, 300, 600 }, { 27, 32, 8000 }, { 100, 90, 6000 }, { 5, 7, 20000 },
        { 1000, 20, 300 }, { 20, 1000, 300 },
    };
    for (size_t s = 0; s < sizeof big / sizeof *big; s++)
        for (int t = 0; t < 4; t++)
            for (int threads = 1; threads <= 2; threads++) {
                gj_runtime_set_threads(threads);
                snprintf(tag, sizeof tag, "%s/big", path);
                run(t & 1, t >> 1, big[s][0], big[s][1], big[s][2], (int)(s % 3), 1, 2, 1, (int)((s + t) % 4),
                    (int)((s + threads) & 1), tag);
            }

    /* the training shapes and a square, on 2 threads */
    gj_runtime_set_threads(2);
    snprintf(tag, sizeof tag, "%s/training", path);
    run(1, 0, 30752, 128, 64, 0, 0, 0, 0, GJ_ACT_LINEAR, 0, tag); /* dW = Xᵀ dZ of the CNN's Dense */
    run(0, 1, 64, 30752, 128, 0, 0, 0, 0, GJ_ACT_LINEAR, 0, tag); /* dX = dZ Wᵀ */
    run(1, 0, 27, 32, 3844 * 4, 0, 0, 0, 0, GJ_ACT_LINEAR, 1, tag); /* conv dW = im2colᵀ dZ, 4 images */
    for (int t = 0; t < 4; t++) run(t & 1, t >> 1, 512, 512, 512, 0, 0, 0, 1, GJ_ACT_RELU, 0, tag);

    printf("  gj_sgemm_t: %d cases, worst error = %.3f x tolerance\n", g_cases, g_worst);
}

/* trans_a == trans_b == 0 must be gj_sgemm itself (bit-identical), K == 0 only the epilogue, and
 * the split-K route must not depend on the thread count. */
static void test_misc(const char *path)
{
    static const int shapes[][3] = { { 1, 1, 1 }, { 17, 33, 65 }, { 1, 200, 50 }, { 300, 5, 70 }, { 200, 300, 600 } };
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        const int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N), *bias = malloc(sizeof(float) * N);
        float *C1 = malloc(sizeof(float) * M * N), *C2 = malloc(sizeof(float) * M * N);
        fill(A, (size_t)M * K);
        fill(B, (size_t)K * N);
        fill(bias, (size_t)N);
        fill(C1, (size_t)M * N);
        memcpy(C2, C1, sizeof(float) * M * N);
        gj_sgemm(M, N, K, A, K, B, N, C1, N, bias, GJ_ACT_TANH, 1);
        gj_sgemm_t(0, 0, M, N, K, A, K, B, N, C2, N, bias, GJ_ACT_TANH, 1);
        report(memcmp(C1, C2, sizeof(float) * M * N) == 0, "%s: trans 0,0 differs from gj_sgemm at %dx%dx%d", path, M,
               N, K);
        free(A); free(B); free(bias); free(C1); free(C2);
    }
    for (int t = 0; t < 4; t++) {
        float C[6] = { 1, -2, 3, -4, 5, -6 }, bias[3] = { 1, 1, 1 };
        gj_sgemm_t(t & 1, t >> 1, 2, 3, 0, NULL, 1, NULL, 1, C, 3, bias, GJ_ACT_RELU, 1);
        report(C[0] == 2 && C[1] == 0 && C[2] == 4 && C[3] == 0 && C[4] == 6 && C[5] == 0, "%s: K=0 epilogue (t=%d)",
               path, t);
    }
    static const int ks[][3] = { { 27, 32, 8000 }, { 100, 90, 6000 } };
    for (size_t s = 0; s < sizeof ks / sizeof *ks; s++)
        for (int t = 1; t < 4; t++) {
            const int M = ks[s][0], N = ks[s][1], K = ks[s][2];
            float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N);
            float *C1 = malloc(sizeof(float) * M * N), *C2 = malloc(sizeof(float) * M * N);
            fill(A, (size_t)M * K);
            fill(B, (size_t)K * N);
            gj_runtime_set_threads(1);
            gj_sgemm_t(t & 1, t >> 1, M, N, K, A, t & 1 ? M : K, B, t >> 1 ? K : N, C1, N, NULL, GJ_ACT_LINEAR, 0);
            gj_runtime_set_threads(2);
            gj_sgemm_t(t & 1, t >> 1, M, N, K, A, t & 1 ? M : K, B, t >> 1 ? K : N, C2, N, NULL, GJ_ACT_LINEAR, 0);
            report(memcmp(C1, C2, sizeof(float) * M * N) == 0, "%s: split-K %dx%dx%d t=%d differs between 1 and 2 threads",
                   path, M, N, K, t);
            free(A); free(B); free(C1); free(C2);
        }
}

/* ---- benchmark ------------------------------------------------------------------------------------ */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float *aligned_floats(size_t n)
{
    float *p = aligned_alloc(64, (sizeof(float) * (n ? n : 1) + 63) / 64 * 64);
    if (p) fill(p, n);
    return p;
}

/* best seconds per call over batches of >= 2 ms, for >= 0.3 s */
static double time_call(int ta, int tb, int M, int N, int K, const float *A, const float *B, float *C)
{
    const int lda = ta ? M : K, ldb = tb ? K : N;
    gj_sgemm_t(ta, tb, M, N, K, A, lda, B, ldb, C, N, NULL, GJ_ACT_LINEAR, 0);
    int inner = 1;
    for (;;) {
        double t0 = now_s();
        for (int i = 0; i < inner; i++) gj_sgemm_t(ta, tb, M, N, K, A, lda, B, ldb, C, N, NULL, GJ_ACT_LINEAR, 0);
        if (now_s() - t0 >= 2e-3) break;
        inner *= 2;
    }
    double best = 1e30, start = now_s();
    for (int n = 0; n < 3 || now_s() - start < 0.3; n++) {
        double t0 = now_s();
        for (int i = 0; i < inner; i++) gj_sgemm_t(ta, tb, M, N, K, A, lda, B, ldb, C, N, NULL, GJ_ACT_LINEAR, 0);
        double t = (now_s() - t0) / inner;
        if (t < best) best = t;
    }
    return best;
}

static int bench(int argc, char **argv)
{
    /* `combos`: bit t set = run trans_a = t & 1, trans_b = t >> 1 (t = 0 is plain gj_sgemm) */
    static const struct { int M, N, K, combos; const char *what; } shapes[] = {
        { 512, 512, 512, 0xF, "square" },
        { 30752, 128, 64, 0x3, "CNN Dense dW = Xt dZ (trans_a)" },
        { 64, 30752, 128, 0x5, "CNN Dense dX = dZ Wt (trans_b)" },
        { 27, 32, 3844 * 16, 0x3, "conv dW = im2colt dZ, 16 images (trans_a)" },
    };
    const char *detected = gj_runtime_cpu_path();
    for (int p = 2; p >= 0; p--) {
        if (argc > 2 && strcmp(argv[2], PATHS[p]) != 0) continue;
        if (!gj_runtime_force_path(PATHS[p])) continue;
        printf("[%s]\n", PATHS[p]);
        for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
            const int M = shapes[s].M, N = shapes[s].N, K = shapes[s].K;
            float *A = aligned_floats((size_t)M * K), *B = aligned_floats((size_t)K * N);
            float *C = aligned_floats((size_t)M * N);
            printf("  %dx%dx%d  %s\n", M, N, K, shapes[s].what);
            for (int t = 0; t < 4; t++) {
                if (!(shapes[s].combos >> t & 1)) continue;
                printf("    trans_a=%d trans_b=%d%s:", t & 1, t >> 1, t == 0 ? " (gj_sgemm)" : "");
                for (int threads = 1; threads <= 2; threads++) {
                    gj_runtime_set_threads(threads);
                    double sec = time_call(t & 1, t >> 1, M, N, K, A, B, C);
                    printf("  %d thr %8.1f us %6.1f GFLOP/s", threads, sec * 1e6, 2.0 * M * N * K / sec * 1e-9);
                }
                printf("\n");
            }
            free(A); free(B); free(C);
        }
    }
    gj_runtime_force_path(detected);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "bench") == 0) return bench(argc, argv);
    const char *detected = gj_runtime_cpu_path();
    printf("detected path: %s, threads: %d\n", detected, gj_runtime_threads());
    char ran[64] = "";
    for (int p = 0; p < 3; p++) {
        if (!gj_runtime_force_path(PATHS[p])) {
            printf("[%s] not supported on this CPU, skipped\n", PATHS[p]);
            continue;
        }
        printf("[%s]\n", PATHS[p]);
        test_path(PATHS[p]);
        test_misc(PATHS[p]);
        strcat(ran, ran[0] ? ", " : "");
        strcat(ran, PATHS[p]);
    }
    gj_runtime_force_path(detected);
    gj_runtime_set_threads(2);
    printf("paths tested: %s\n", ran);
    printf("%d passed, %d failed\n", g_passed, g_failed);
    return g_failed ? 1 : 0;
}
