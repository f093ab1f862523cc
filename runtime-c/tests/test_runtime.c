/*
 * test_runtime.c - correctness tests for the GraphJIT C runtime.
 *
 * Every routine is checked against a naive double-precision reference, on every CPU path this
 * machine supports (gj_runtime_force_path). Also measures and prints the error bounds of the
 * vectorized exp / sigmoid / tanh approximations over a dense input sweep.
 *
 * Build and run: see run.sh in this directory. Exit status 0 = all passed.
 */
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graphjit_runtime.h"
#include "gj_internal.h" /* internal: per-path raw exp for the accuracy sweep */

#define TEST_RNG_SEED 0x9E3779B97F4A7C15ull
#include "test_support.h"
static void fill(float *p, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++) p[i] = rnd_float(lo, hi);
}

static double act_ref(double x, int act)
{
    switch (act) {
    case GJ_ACT_RELU: return x < 0 ? 0 : x;
    case GJ_ACT_SIGMOID: return 1.0 / (1.0 + exp(-x));
    case GJ_ACT_TANH: return tanh(x);
    case GJ_ACT_GELU: return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
    case GJ_ACT_GELU_TANH: return 0.5 * x * (1.0 + tanh(0.79788456080286536 * (x + 0.044715 * x * x * x)));
    case GJ_ACT_SILU: return x / (1.0 + exp(-x));
    default: return x;
    }
}

static const char *const PATHS[] = { "avx512", "avx2", "portable" };

/* ---- GEMM ------------------------------------------------------------------------------------- */

#define SENTINEL 12345.0f

/* Runs one GEMM case through sgemm (packed = 0) or pack_b + sgemm_packed (packed = 1) and checks
 * every output element against the double reference, plus that padding in C is untouched. */
static double gemm_case(const gj_runtime *rt, int M, int N, int K, int pad_a, int pad_b, int pad_c,
                        int packed, int use_bias, int act, int accumulate, const char *tag)
{
    int lda = K + pad_a, ldb = N + pad_b, ldc = N + pad_c;
    float *A = malloc(sizeof(float) * (size_t)M * lda);
    float *B = malloc(sizeof(float) * (size_t)K * ldb);
    float *C = malloc(sizeof(float) * (size_t)M * ldc);
    float *C0 = malloc(sizeof(float) * (size_t)M * ldc);
    float *bias = malloc(sizeof(float) * (size_t)N);
    float *P = packed ? malloc(sizeof(float) * rt->packed_b_floats(K, N)) : NULL;
    fill(A, (size_t)M * lda, -1, 1);
    fill(B, (size_t)K * ldb, -1, 1);
    fill(bias, (size_t)N, -1, 1);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < ldc; j++) C0[(size_t)i * ldc + j] = j < N ? rnd_float(-1, 1) : SENTINEL;
    memcpy(C, C0, sizeof(float) * (size_t)M * ldc);
    if (packed) {
        rt->pack_b(K, N, B, ldb, P);
        rt->sgemm_packed(M, N, K, A, lda, P, C, ldc, use_bias ? bias : NULL, act, accumulate);
    } else {
        rt->sgemm(M, N, K, A, lda, B, ldb, C, ldc, use_bias ? bias : NULL, act, accumulate);
    }
    double worst = 0; /* error / tolerance */
    int reported = 0;
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < ldc; j++) {
            float got = C[(size_t)i * ldc + j];
            if (j >= N) {
                if (got != SENTINEL && !reported++)
                    CHECK(0, "%s: padding of C overwritten at (%d,%d), M=%d N=%d K=%d", tag, i, j, M, N, K);
                continue;
            }
            double s = 0, sq = 0;
            for (int k = 0; k < K; k++) {
                double t = (double)A[(size_t)i * lda + k] * B[(size_t)k * ldb + j];
                s += t;
                sq += t * t;
            }
            double mag = sqrt(sq); /* typical magnitude of the dot product */
            if (accumulate) { s += C0[(size_t)i * ldc + j]; mag += fabs(C0[(size_t)i * ldc + j]); }
            if (use_bias) { s += bias[j]; mag += fabs(bias[j]); }
            double ref = act_ref(s, act);
            /* 1e-5 * sqrt(K) relative to the magnitude of the terms; activations are 1-Lipschitz,
             * so the pre-activation bound carries over, and 3e-7 covers the sigmoid/tanh
             * approximations themselves */
            double tol = 1e-5 * sqrt((double)K) * (mag + 1e-3) + 3e-7;
            double err = fabs(got - ref);
            if (!(err <= tol) && !reported++)
                CHECK(0, "%s: M=%d N=%d K=%d lda=%d ldb=%d ldc=%d packed=%d bias=%d act=%d acc=%d: C[%d,%d]=%.8g ref=%.8g",
                      tag, M, N, K, lda, ldb, ldc, packed, use_bias, act, accumulate, i, j, got, ref);
            if (err / tol > worst) worst = err / tol;
        }
    }
    g_checks++;
    free(A); free(B); free(C); free(C0); free(bias); free(P);
    return worst;
}

static void test_gemm(const gj_runtime *rt, const char *path)
{
    char tag[64];
    double worst = 0;
    int cases = 0;
    /* systematic edge sizes around every tile and block boundary */
    static const int Ms[] = { 1, 2, 3, 5, 6, 7, 8, 9, 12, 13, 16, 17, 24, 25 };
    static const int Ns[] = { 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 48, 63, 64, 65, 100 };
    static const int Ks[] = { 1, 2, 3, 17, 255, 256, 257, 513 };
    for (size_t a = 0; a < sizeof Ms / sizeof *Ms; a++)
        for (size_t b = 0; b < sizeof Ns / sizeof *Ns; b++)
            for (size_t c = 0; c < sizeof Ks / sizeof *Ks; c++) {
                int packed = rnd_int(0, 1);
                gj_runtime_set_threads(rnd_int(1, 2));
                snprintf(tag, sizeof tag, "%s/edge", path);
                double w = gemm_case(rt, Ms[a], Ns[b], Ks[c], rnd_int(0, 3), rnd_int(0, 3), rnd_int(0, 3),
                                     packed, rnd_int(0, 1), rnd_int(0, 3), rnd_int(0, 1), tag);
                if (w > worst) worst = w;
                cases++;
            }
    /* random shapes 1..70 with every flag combination */
    for (int it = 0; it < 600; it++) {
        gj_runtime_set_threads(rnd_int(1, 2));
        snprintf(tag, sizeof tag, "%s/random", path);
        double w = gemm_case(rt, rnd_int(1, 70), rnd_int(1, 70), rnd_int(1, 70), rnd_int(0, 5), rnd_int(0, 5),
                             rnd_int(0, 5), it & 1, (it >> 1) & 1, (it >> 2) & 3, (it >> 4) & 1, tag);
        if (w > worst) worst = w;
        cases++;
    }
    /* N beyond one NC block, K beyond several KC blocks, threaded sizes */
    static const int big[][3] = {
        { 3, 1100, 40 }, { 40, 600, 300 }, { 70, 130, 1000 }, { 1, 1030, 700 }, { 1, 4100, 300 },
        { 2, 300, 2000 }, { 129, 97, 129 }, { 300, 64, 64 }, { 1, 300, 8000 }, { 1, 700, 5000 },
        { 1, 200, 3000 }, { 1, 255, 40 }, { 1, 129, 33 }, { 200, 300, 600 },
    };
    for (size_t s = 0; s < sizeof big / sizeof *big; s++)
        for (int threads = 1; threads <= 2; threads++)
            for (int packed = 0; packed <= 1; packed++) {
                gj_runtime_set_threads(threads);
                snprintf(tag, sizeof tag, "%s/big", path);
                double w = gemm_case(rt, big[s][0], big[s][1], big[s][2], 1, 2, 3, packed, 1,
                                     (int)(s % 4), (int)(s & 1), tag);
                if (w > worst) worst = w;
                cases++;
            }
    /* narrow N (the 16- and 8-wide kernels) and N == 1 (dot products): row counts around the
     * 16/12-row tiles, K around the K block, every flag */
    static const int nMs[] = { 1, 2, 11, 12, 13, 15, 16, 17, 24, 31, 32, 33, 47, 49 };
    static const int nNs[] = { 1, 2, 3, 4, 5, 6, 8, 10, 11, 12, 13, 14, 16 };
    static const int nKs[] = { 1, 5, 16, 31, 64, 255, 256, 257, 600 };
    for (size_t a = 0; a < sizeof nMs / sizeof *nMs; a++)
        for (size_t b = 0; b < sizeof nNs / sizeof *nNs; b++)
            for (size_t c = 0; c < sizeof nKs / sizeof *nKs; c++) {
                gj_runtime_set_threads(rnd_int(1, 2));
                snprintf(tag, sizeof tag, "%s/narrow", path);
                double w = gemm_case(rt, nMs[a], nNs[b], nKs[c], rnd_int(0, 3), rnd_int(0, 3), rnd_int(0, 3),
                                     rnd_int(0, 1), rnd_int(0, 1), rnd_int(0, 3), rnd_int(0, 1), tag);
                if (w > worst) worst = w;
                cases++;
            }
    /* M == 1 across the panel pairs / column chunks of the matvec kernels */
    static const int mvNs[] = { 1, 8, 9, 16, 17, 31, 32, 33, 63, 64, 65, 96, 100, 128, 200, 255, 256, 257, 300, 520 };
    static const int mvKs[] = { 1, 3, 4, 5, 50, 64, 129 };
    for (size_t b = 0; b < sizeof mvNs / sizeof *mvNs; b++)
        for (size_t c = 0; c < sizeof mvKs / sizeof *mvKs; c++)
            for (int packed = 0; packed <= 1; packed++) {
                snprintf(tag, sizeof tag, "%s/matvec", path);
                double w = gemm_case(rt, 1, mvNs[b], mvKs[c], rnd_int(0, 3), rnd_int(0, 3), rnd_int(0, 3), packed,
                                     rnd_int(0, 1), rnd_int(0, 3), rnd_int(0, 1), tag);
                if (w > worst) worst = w;
                cases++;
            }
    /* sizes above the threading thresholds for the narrow, N == 1 and split-K matvec paths */
    static const int thr[][3] = {
        { 8192, 16, 128 }, { 6000, 5, 300 }, { 70001, 1, 240 }, { 20000, 1, 2100 }, { 1, 128, 8200 },
        { 1, 10, 120000 }, { 1, 300, 4000 }, { 8192, 64, 64 }, { 6400, 200, 32 },
    };
    for (size_t s = 0; s < sizeof thr / sizeof *thr; s++)
        for (int threads = 1; threads <= 2; threads++) {
            gj_runtime_set_threads(threads);
            snprintf(tag, sizeof tag, "%s/threaded", path);
            double w = gemm_case(rt, thr[s][0], thr[s][1], thr[s][2], (int)(s % 3), 1, (int)(s % 2), (int)(s & 1) ^ 1,
                                 1, (int)(s % 4), (int)(s / 2) & 1, tag);
            if (w > worst) worst = w;
            cases++;
        }
    /* the benchmark shapes */
    static const int bench[][3] = { { 64, 128, 30752 }, { 3844, 32, 27 }, { 64, 128, 64 }, { 1, 200, 50 }, { 1, 128, 64 },
                                    { 1, 128, 30752 }, { 8192, 1, 64 }, { 256, 10, 128 }, { 256, 5, 128 } };
    for (size_t s = 0; s < sizeof bench / sizeof *bench; s++)
        for (int threads = 1; threads <= 2; threads++) {
            gj_runtime_set_threads(threads);
            snprintf(tag, sizeof tag, "%s/bench-shape", path);
            double w = gemm_case(rt, bench[s][0], bench[s][1], bench[s][2], 0, 0, 0, threads == 2, 1,
                                 s == 1 ? GJ_ACT_RELU : GJ_ACT_LINEAR, 0, tag);
            if (w > worst) worst = w;
            cases++;
        }
    gj_runtime_set_threads(2);
    printf("  gemm: %d cases, worst error = %.3f x tolerance\n", cases, worst);
}

/* Repeated M == 1 calls must give bit-identical results (the packed matvec alternates the order in
 * which it visits the panels, see gemm_avx512.c), and so must 1 and 2 threads for the split-K
 * matvec (partial sums are added in task order). */
static void test_matvec_repeatable(const gj_runtime *rt, const char *path)
{
    static const int shapes[][2] = { { 200, 50 }, { 128, 64 }, { 10, 128 }, { 100, 7 }, { 128, 8200 } };
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int N = shapes[s][0], K = shapes[s][1];
        float *x = malloc(sizeof(float) * K), *B = malloc(sizeof(float) * (size_t)K * N);
        float *P = malloc(sizeof(float) * rt->packed_b_floats(K, N));
        float *y[3];
        fill(x, (size_t)K, -1, 1);
        fill(B, (size_t)K * N, -1, 1);
        rt->pack_b(K, N, B, N, P);
        for (int r = 0; r < 3; r++) {
            y[r] = malloc(sizeof(float) * N);
            gj_runtime_set_threads(r == 2 ? 2 : 1);
            rt->sgemm_packed(1, N, K, x, K, P, y[r], N, NULL, GJ_ACT_LINEAR, 0);
        }
        CHECK(memcmp(y[0], y[1], sizeof(float) * N) == 0 && memcmp(y[0], y[2], sizeof(float) * N) == 0,
              "%s: matvec 1x%dx%d not repeatable", path, N, K);
        for (int r = 0; r < 3; r++) free(y[r]);
        free(x); free(B); free(P);
    }
    gj_runtime_set_threads(2);
}

/* A buffer packed under one path must work under every other (the layout is path-independent). */
static void test_pack_portability(const gj_runtime *rt)
{
    int M = 13, N = 70, K = 45;
    float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N);
    float *P = malloc(sizeof(float) * rt->packed_b_floats(K, N));
    float *C1 = malloc(sizeof(float) * M * N), *C2 = malloc(sizeof(float) * M * N);
    fill(A, (size_t)M * K, -1, 1);
    fill(B, (size_t)K * N, -1, 1);
    gj_runtime_force_path("portable");
    rt->pack_b(K, N, B, N, P);
    rt->sgemm(M, N, K, A, K, B, N, C1, N, NULL, 0, 0);
    for (int p = 0; p < 3; p++) {
        if (!gj_runtime_force_path(PATHS[p])) continue;
        rt->sgemm_packed(M, N, K, A, K, P, C2, N, NULL, 0, 0);
        double e = 0;
        for (int i = 0; i < M * N; i++) e = fmax(e, fabs(C1[i] - C2[i]));
        CHECK(e < 1e-4, "packed buffer not portable to %s (err %g)", PATHS[p], e);
    }
    free(A); free(B); free(P); free(C1); free(C2);
}

/* ---- concurrency: several application threads sharing the pool ------------------------------ */

typedef struct { const gj_runtime *rt; int ok; } conc_arg;

static void *conc_thread(void *p)
{
    conc_arg *a = p;
    int M = 192, N = 160, K = 300; /* 9.2M multiply-adds: above the threading threshold */
    float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N), *C = malloc(sizeof(float) * M * N);
    for (int i = 0; i < M * K; i++) A[i] = (float)((i % 7) - 3) * 0.25f;
    for (int i = 0; i < K * N; i++) B[i] = (float)((i % 5) - 2) * 0.5f;
    a->ok = 1;
    for (int rep = 0; rep < 30 && a->ok; rep++) {
        a->rt->sgemm(M, N, K, A, K, B, N, C, N, NULL, 0, 0);
        for (int i = 0; i < M && a->ok; i += 17)
            for (int j = 0; j < N; j += 13) {
                double s = 0;
                for (int k = 0; k < K; k++) s += (double)A[i * K + k] * B[k * N + j];
                if (fabs(s - C[i * N + j]) > 1e-3) { a->ok = 0; break; }
            }
    }
    free(A); free(B); free(C);
    return NULL;
}

static void test_concurrency(const gj_runtime *rt)
{
    gj_runtime_set_threads(2);
    pthread_t t[4];
    conc_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (conc_arg){ rt, 0 };
        pthread_create(&t[i], NULL, conc_thread, &args[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK(args[i].ok, "concurrent sgemm from application thread %d gave a wrong result", i);
    }
}

/* ---- vector math accuracy --------------------------------------------------------------------- */

typedef struct { double max_abs, max_rel; float at_abs, at_rel; } errstat;

static void err_update(errstat *e, float x, double got, double ref)
{
    double a = fabs(got - ref);
    /* relative error only where the result is a normal float (below that, precision is gone) */
    double r = fabs(ref) >= FLT_MIN ? a / fabs(ref) : 0.0;
    if (a > e->max_abs) { e->max_abs = a; e->at_abs = x; }
    if (r > e->max_rel) { e->max_rel = r; e->at_rel = x; }
}

/* dense sweep: all floats in [-lim, lim] on a fine grid plus every 97th float bit pattern in range */
static size_t make_sweep(float *xs, size_t cap, float lim)
{
    size_t n = 0;
    for (double x = -lim; x <= lim && n < cap; x += lim / 400000.0) xs[n++] = (float)x;
    for (unsigned u = 0; u < 0x7F800000u && n + 2 <= cap; u += 9973u) {
        float f;
        memcpy(&f, &u, sizeof f);
        if (f <= lim) { xs[n++] = f; xs[n++] = -f; }
    }
    return n;
}

static void test_vmath_accuracy(const gj_runtime *rt, const char *path, int path_id)
{
    enum { CAP = 2000000 };
    float *xs = malloc(sizeof(float) * CAP), *ys = malloc(sizeof(float) * CAP);

    /* exp in the normal range (relative error) */
    size_t n = make_sweep(xs, CAP, 88.7f);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) if (xs[i] >= -87.3f) xs[m++] = xs[i]; /* result stays normal */
    gj_ops_for(path_id)->vexp(xs, ys, (long)m);
    errstat ee = {0};
    for (size_t i = 0; i < m; i++) err_update(&ee, xs[i], ys[i], exp((double)xs[i]));
    /* sigmoid / tanh over the dense sweep (absolute error; relative reported too) */
    n = make_sweep(xs, CAP, 120.0f);
    memcpy(ys, xs, sizeof(float) * n);
    rt->activate(ys, (long)n, GJ_ACT_SIGMOID);
    errstat es = {0};
    int nan_found = 0;
    for (size_t i = 0; i < n; i++) {
        err_update(&es, xs[i], ys[i], 1.0 / (1.0 + exp(-(double)xs[i])));
        if (isnan(ys[i])) nan_found++;
    }
    memcpy(ys, xs, sizeof(float) * n);
    rt->activate(ys, (long)n, GJ_ACT_TANH);
    errstat et = {0};
    for (size_t i = 0; i < n; i++) {
        err_update(&et, xs[i], ys[i], tanh((double)xs[i]));
        if (isnan(ys[i])) nan_found++;
    }
    printf("  exp:     max rel err %.3g (at %.7g), over %zu points in [-87.3, 88.7]\n",
           ee.max_rel, ee.at_rel, m);
    printf("  sigmoid: max abs err %.3g (at %.7g), max rel err %.3g (at %.7g), %zu points in [-120, 120]\n",
           es.max_abs, es.at_abs, es.max_rel, es.at_rel, n);
    printf("  tanh:    max abs err %.3g (at %.7g), max rel err %.3g (at %.7g)\n", et.max_abs, et.at_abs,
           et.max_rel, et.at_rel);
    int exact = strcmp(path, "portable") == 0;
    CHECK(ee.max_rel <= (exact ? 1.2e-7 : 3e-7), "%s: exp rel error %g", path, ee.max_rel);
    CHECK(es.max_abs <= 2e-7, "%s: sigmoid abs error %g", path, es.max_abs);
    CHECK(et.max_abs <= 2e-7, "%s: tanh abs error %g", path, et.max_abs);
    CHECK(nan_found == 0, "%s: sigmoid/tanh produced %d NaNs for finite input", path, nan_found);

    /* special values */
    static const float sp[] = { 1e4f, -1e4f, INFINITY, -INFINITY, 88.8f, -88.8f, 89.5f, -89.5f, 104.0f,
                                -104.0f, 200.0f, -200.0f, FLT_MAX, -FLT_MAX, 0.0f, -0.0f, 1e-30f, -1e-30f,
                                1e-40f, -1e-40f, 9.0f, -9.0f, 0.625f, -0.625f, 0.62499f, -0.62501f };
    int ns = (int)(sizeof sp / sizeof *sp);
    for (int act = GJ_ACT_RELU; act <= GJ_ACT_TANH; act++) {
        float y[32];
        memcpy(y, sp, sizeof sp);
        rt->activate(y, ns, act);
        for (int i = 0; i < ns; i++) {
            double ref = act_ref((double)sp[i], act);
            if (act == GJ_ACT_TANH && fabs(sp[i]) < 1e-20) ref = sp[i]; /* tiny: tanh(x) = x */
            CHECK(!isnan(y[i]) && (y[i] == ref || fabs(y[i] - ref) <= 2e-7 + 2e-7 * fabs(ref)),
                  "%s: act %d of %g = %.9g, want %.9g", path, act, sp[i], y[i], ref);
        }
    }
    /* the activations added after the classic four (vector code or the scalar fallback, as the path
     * has it), through activate and as a GEMM epilogue, over the range where they bend */
    for (int act = GJ_ACT_GELU; act < GJ_ACT_COUNT; act++) {
        float x[1601], y[1601], one = 1.0f;
        for (int i = 0; i < 1601; i++) x[i] = -8.0f + 0.01f * (float)i;
        memcpy(y, x, sizeof x);
        rt->activate(y, 1601, act);
        float e[1601];
        rt->sgemm(1601, 1, 1, x, 1, &one, 1, e, 1, NULL, act, 0);
        double worst = 0;
        for (int i = 0; i < 1601; i++) {
            double ref = act_ref((double)x[i], act), tol = 2e-6 + 2e-6 * fabs(ref);
            worst = fmax(worst, fmax(fabs(y[i] - ref), fabs(e[i] - ref)) / tol);
        }
        CHECK(worst <= 1.0, "%s: act %d off by %.2f x tolerance", path, act, worst);
    }
    /* saturation is exact */
    float sat[4] = { 30.0f, -120.0f, INFINITY, -INFINITY };
    rt->activate(sat, 4, GJ_ACT_SIGMOID);
    CHECK(sat[0] == 1.0f && sat[1] >= 0.0f && sat[1] < 1e-45f && sat[2] == 1.0f && sat[3] == 0.0f,
          "%s: sigmoid saturation %g %g %g %g", path, sat[0], sat[1], sat[2], sat[3]);
    float tsat[4] = { 10.0f, -10.0f, INFINITY, -INFINITY };
    rt->activate(tsat, 4, GJ_ACT_TANH);
    CHECK(tsat[0] == 1.0f && tsat[1] == -1.0f && tsat[2] == 1.0f && tsat[3] == -1.0f, "%s: tanh saturation", path);
    /* NaN propagates */
    for (int act = GJ_ACT_RELU; act <= GJ_ACT_TANH; act++) {
        float v[19];
        for (int i = 0; i < 19; i++) v[i] = (i == 3 || i == 17) ? NAN : 0.5f;
        rt->activate(v, 19, act);
        CHECK(isnan(v[3]) && isnan(v[17]) && !isnan(v[4]), "%s: NaN not propagated by act %d", path, act);
    }
    /* odd lengths: tail handling leaves neighbours alone */
    for (int len = 0; len < 40; len++) {
        float v[48];
        for (int i = 0; i < 48; i++) v[i] = -2.0f;
        rt->activate(v + 1, len, GJ_ACT_RELU);
        int ok = v[0] == -2.0f;
        for (int i = 1; i <= len; i++) ok &= v[i] == 0.0f;
        for (int i = len + 1; i < 48; i++) ok &= v[i] == -2.0f;
        CHECK(ok, "%s: activate tail handling wrong for n=%d", path, len);
    }
    free(xs);
    free(ys);
}

/* ---- softmax ---------------------------------------------------------------------------------- */

static void softmax_ref(const float *x, double *y, int n)
{
    double m = -INFINITY;
    for (int j = 0; j < n; j++) m = x[j] > m ? x[j] : m;
    double s = 0;
    int has_nan = 0;
    for (int j = 0; j < n; j++) {
        if (isnan(x[j])) has_nan = 1;
        y[j] = exp((double)x[j] - m);
        s += y[j];
    }
    for (int j = 0; j < n; j++) y[j] = has_nan ? NAN : y[j] / s;
}

static void test_softmax(const gj_runtime *rt, const char *path)
{
    double worst = 0;
    for (int it = 0; it < 300; it++) {
        int n = rnd_int(1, 70), rows = rnd_int(1, 5);
        float scale = it % 3 == 0 ? 1e4f : it % 3 == 1 ? 30.0f : 1.0f;
        float *x = malloc(sizeof(float) * n * rows), *x0 = malloc(sizeof(float) * n * rows);
        double *ref = malloc(sizeof(double) * n);
        fill(x, (size_t)n * rows, -scale, scale);
        memcpy(x0, x, sizeof(float) * n * rows);
        rt->softmax_rows(x, rows, n);
        for (int r = 0; r < rows; r++) {
            softmax_ref(x0 + r * n, ref, n);
            for (int j = 0; j < n; j++) {
                double e = fabs(x[r * n + j] - ref[j]);
                if (e > worst) worst = e;
                CHECK(e <= 1e-6 + 1e-6 * ref[j], "%s: softmax n=%d rows=%d [%d,%d] = %g want %g", path, n, rows, r,
                      j, x[r * n + j], ref[j]);
            }
        }
        free(x); free(x0); free(ref);
    }
    /* special rows: -inf entries get 0; a NaN entry -> NaN there, 0 elsewhere (as TensorFlow; the
     * whole table of non-finite cases is in test_nonfinite.c) */
    {
        float x[20];
        for (int j = 0; j < 20; j++) x[j] = (float)j;
        x[3] = -INFINITY;
        x[19] = -1e4f;
        rt->softmax_rows(x, 1, 20);
        double s = 0;
        for (int j = 0; j < 20; j++) s += x[j];
        CHECK(x[3] == 0.0f && x[19] == 0.0f && fabs(s - 1) < 1e-6, "%s: softmax with -inf", path);
        float y[17];
        for (int j = 0; j < 17; j++) y[j] = 1.0f;
        y[16] = NAN;
        rt->softmax_rows(y, 1, 17);
        int nan_only_there = isnan(y[16]);
        for (int j = 0; j < 16; j++) nan_only_there &= y[j] == 0.0f;
        CHECK(nan_only_there, "%s: softmax of a row with a NaN entry", path);
        float z[3] = { 1e4f, -1e4f, 1e4f };
        rt->softmax_rows(z, 1, 3);
        CHECK(z[0] == 0.5f && z[1] == 0.0f && z[2] == 0.5f, "%s: softmax huge inputs %g %g %g", path, z[0], z[1], z[2]);
    }
    printf("  softmax: max abs err %.3g\n", worst);
}

/* ---- LSTM cell -------------------------------------------------------------------------------- */

static void test_lstm(const gj_runtime *rt, const char *path)
{
    double worst = 0;
    for (int it = 0; it < 200; it++) {
        int rows = rnd_int(1, 4), u = rnd_int(1, 70);
        int ldz = 4 * u + rnd_int(0, 3), ldc = u + rnd_int(0, 3), ldh = u + rnd_int(0, 3);
        int act = it < 150 ? GJ_ACT_TANH : rnd_int(0, 3), rec = it < 150 ? GJ_ACT_SIGMOID : rnd_int(0, 3);
        float *z = malloc(sizeof(float) * rows * ldz), *c = malloc(sizeof(float) * rows * ldc);
        float *h = malloc(sizeof(float) * rows * ldh), *c0 = malloc(sizeof(float) * rows * ldc);
        fill(z, (size_t)rows * ldz, -8, 8);
        fill(c, (size_t)rows * ldc, -3, 3);
        for (int i = 0; i < rows * ldh; i++) h[i] = SENTINEL;
        memcpy(c0, c, sizeof(float) * rows * ldc);
        rt->lstm_cell(rows, u, z, ldz, c, ldc, h, ldh, act, rec);
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < u; j++) {
                const float *zr = z + r * ldz;
                double i = act_ref(zr[j], rec), f = act_ref(zr[u + j], rec);
                double g = act_ref(zr[2 * u + j], act), o = act_ref(zr[3 * u + j], rec);
                double cn = f * c0[r * ldc + j] + i * g;
                double hn = o * act_ref(cn, act);
                double ec = fabs(c[r * ldc + j] - cn), eh = fabs(h[r * ldh + j] - hn);
                double tol = 1e-6 * (1 + fabs(cn) + fabs(hn) + (act == 0 || rec == 0 ? 64 : 0));
                if (ec > worst) worst = ec;
                if (eh > worst) worst = eh;
                CHECK(ec <= tol && eh <= tol, "%s: lstm u=%d act=%d rec=%d c=%g/%g h=%g/%g", path, u, act, rec,
                      c[r * ldc + j], cn, h[r * ldh + j], hn);
            }
            for (int j = u; j < ldh; j++) CHECK(h[r * ldh + j] == SENTINEL, "%s: lstm wrote past units", path);
        }
        free(z); free(c); free(h); free(c0);
    }
    /* the fused default (tanh, sigmoid) path: unit counts around its 16/64-unit blocks, extreme and
     * non-finite pre-activations */
    static const int units[] = { 1, 15, 16, 17, 50, 63, 64, 65, 100, 128, 200 };
    for (size_t ui = 0; ui < sizeof units / sizeof *units; ui++) {
        int u = units[ui], rows = 1 + (int)(ui % 3), ldz = 4 * u + 1, ld = u + 2;
        float *z = malloc(sizeof(float) * rows * ldz), *c = malloc(sizeof(float) * rows * ld);
        float *h = malloc(sizeof(float) * rows * ld), *c0 = malloc(sizeof(float) * rows * ld);
        fill(z, (size_t)rows * ldz, -12, 12);
        fill(c, (size_t)rows * ld, -20, 20);
        if (u >= 17) {
            z[3] = 200.0f;               /* i saturated */
            z[u + 4] = -1e30f;           /* f saturated */
            z[2 * u + 5] = INFINITY;     /* g = 1 */
            z[3 * u + 6] = -INFINITY;    /* o = 0 */
            c[7] = 1e6f;                 /* tanh(c) = 1 */
        }
        memcpy(c0, c, sizeof(float) * rows * ld);
        rt->lstm_cell(rows, u, z, ldz, c, ld, h, ld, GJ_ACT_TANH, GJ_ACT_SIGMOID);
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < u; j++) {
                const float *zr = z + r * ldz;
                double i = act_ref(zr[j], GJ_ACT_SIGMOID), f = act_ref(zr[u + j], GJ_ACT_SIGMOID);
                double g = act_ref(zr[2 * u + j], GJ_ACT_TANH), o = act_ref(zr[3 * u + j], GJ_ACT_SIGMOID);
                double cn = f * c0[r * ld + j] + i * g, hn = o * act_ref(cn, GJ_ACT_TANH);
                double ec = fabs(c[r * ld + j] - cn), eh = fabs(h[r * ld + j] - hn);
                double tol = 4e-7 * (1 + fabs(f * c0[r * ld + j]) + fabs(i * g));
                if (eh > worst) worst = eh;
                CHECK(ec <= tol * (1 + fabs(cn)) && eh <= 4e-7, "%s: lstm default u=%d r=%d j=%d c=%g/%g h=%g/%g", path,
                      u, r, j, c[r * ld + j], cn, h[r * ld + j], hn);
            }
        float nanz[4 * 17], nc[17], nh[17];
        for (int j = 0; j < 4 * 17; j++) nanz[j] = 0.5f;
        for (int j = 0; j < 17; j++) nc[j] = 0.25f;
        nanz[2] = NAN;       /* i of unit 2 */
        nc[16] = NAN;        /* c of unit 16 */
        rt->lstm_cell(1, 17, nanz, 4 * 17, nc, 17, nh, 17, GJ_ACT_TANH, GJ_ACT_SIGMOID);
        CHECK(isnan(nc[2]) && isnan(nh[2]) && isnan(nc[16]) && isnan(nh[16]) && !isnan(nh[3]),
              "%s: lstm NaN not propagated", path);
        free(z); free(c); free(h); free(c0);
    }
    printf("  lstm_cell: max abs err %.3g\n", worst);
}

/* ---- im2col / maxpool ------------------------------------------------------------------------- */

static void keras_same(int in, int k, int s, int *out, int *pad_before)
{
    *out = (in + s - 1) / s;
    int total = (*out - 1) * s + k - in;
    if (total < 0) total = 0;
    *pad_before = total / 2;
}

static void test_conv_helpers(const gj_runtime *rt)
{
    /* fixed shapes first: the benchmark's conv (3x3 over RGB: 27-float rows, the AVX-512 permute
     * path), longer runs (C = 8: 24 floats, C = 16: 48), 1x1 kernels, 32-channel pooling (the 2x2
     * fast path and its border cases); then random small shapes */
    static const int fixed[][8] = { /* H, W, C, KH, KW, sh, sw, same */
        { 64, 64, 3, 3, 3, 1, 1, 0 }, { 64, 64, 3, 3, 3, 1, 1, 1 }, { 20, 17, 8, 3, 3, 1, 1, 1 },
        { 13, 15, 16, 3, 3, 2, 2, 1 }, { 9, 9, 1, 5, 5, 1, 1, 1 }, { 10, 12, 16, 1, 1, 1, 1, 0 },
        { 62, 62, 32, 2, 2, 2, 2, 0 }, { 7, 9, 32, 2, 2, 2, 2, 1 }, { 11, 11, 20, 3, 3, 2, 2, 1 },
        { 16, 16, 5, 3, 3, 1, 1, 0 }, { 6, 40, 2, 3, 4, 1, 3, 1 }, { 30, 30, 3, 3, 3, 2, 2, 1 },
    };
    const int nfixed = (int)(sizeof fixed / sizeof *fixed);
    for (int it = 0; it < 400 + nfixed; it++) {
        int H = rnd_int(1, 12), W = rnd_int(1, 12), C = rnd_int(1, 9);
        int KH = rnd_int(1, 5), KW = rnd_int(1, 5), sh = rnd_int(1, 3), sw = rnd_int(1, 3);
        int same = it & 1;
        if (it < nfixed) {
            H = fixed[it][0], W = fixed[it][1], C = fixed[it][2], KH = fixed[it][3], KW = fixed[it][4];
            sh = fixed[it][5], sw = fixed[it][6], same = fixed[it][7];
        }
        int OH, OW, pt, pl;
        if (same) {
            keras_same(H, KH, sh, &OH, &pt);
            keras_same(W, KW, sw, &OW, &pl);
        } else {
            if (KH > H || KW > W) continue;
            OH = (H - KH) / sh + 1;
            OW = (W - KW) / sw + 1;
            pt = pl = 0;
        }
        float *in = malloc(sizeof(float) * H * W * C);
        fill(in, (size_t)H * W * C, -5, 5);
        size_t cols_n = (size_t)OH * OW * KH * KW * C;
        float *cols = malloc(sizeof(float) * (cols_n + 1));
        cols[cols_n] = SENTINEL;
        rt->im2col_nhwc(in, H, W, C, KH, KW, sh, sw, pt, pl, OH, OW, cols);
        int bad = 0;
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++)
                for (int kh = 0; kh < KH; kh++)
                    for (int kw = 0; kw < KW; kw++)
                        for (int c = 0; c < C; c++) {
                            int ih = oh * sh - pt + kh, iw = ow * sw - pl + kw;
                            float want = (ih >= 0 && ih < H && iw >= 0 && iw < W) ? in[(ih * W + iw) * C + c] : 0.0f;
                            float got = cols[((size_t)(oh * OW + ow) * KH * KW + kh * KW + kw) * C + c];
                            if (got != want) bad++;
                        }
        CHECK(bad == 0 && cols[cols_n] == SENTINEL, "im2col H=%d W=%d C=%d K=%dx%d s=%dx%d same=%d: %d wrong", H,
              W, C, KH, KW, sh, sw, same, bad);
        free(cols);

        float *out = malloc(sizeof(float) * (OH * OW * C + 1));
        out[OH * OW * C] = SENTINEL;
        rt->maxpool_nhwc(in, H, W, C, KH, KW, sh, sw, pt, pl, OH, OW, out);
        bad = 0;
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++)
                for (int c = 0; c < C; c++) {
                    float m = -FLT_MAX; /* TensorFlow's initial value (see test_nonfinite.c) */
                    for (int kh = 0; kh < KH; kh++)
                        for (int kw = 0; kw < KW; kw++) {
                            int ih = oh * sh - pt + kh, iw = ow * sw - pl + kw;
                            if (ih >= 0 && ih < H && iw >= 0 && iw < W && in[(ih * W + iw) * C + c] > m)
                                m = in[(ih * W + iw) * C + c];
                        }
                    if (out[(oh * OW + ow) * C + c] != m) bad++;
                }
        CHECK(bad == 0 && out[OH * OW * C] == SENTINEL, "maxpool H=%d W=%d C=%d P=%dx%d s=%dx%d same=%d: %d wrong",
              H, W, C, KH, KW, sh, sw, same, bad);
        free(out);
        free(in);
    }
}

/* ---- parallel_for ----------------------------------------------------------------------------- */

typedef struct {
    const gj_runtime *rt;
    int *hits;        /* per item */
    int *worker_busy; /* per worker slot: >0 while a chunk holds it */
    int bad;
    int nested;
} pf_ctx;

static void pf_inner(void *c, long b, long e, int w)
{
    (void)w;
    pf_ctx *x = c;
    for (long i = b; i < e; i++) __atomic_fetch_add(&x->nested, 1, __ATOMIC_RELAXED);
}

static void pf_body(void *c, long b, long e, int w)
{
    pf_ctx *x = c;
    if (w < 0 || w >= x->rt->max_workers() || __atomic_fetch_add(&x->worker_busy[w], 1, __ATOMIC_RELAXED) != 0)
        __atomic_fetch_add(&x->bad, 1, __ATOMIC_RELAXED);
    for (long i = b; i < e; i++) x->hits[i]++;
    x->rt->parallel_for(10, 1, pf_inner, x); /* nested: runs inline */
    if (w >= 0 && w < x->rt->max_workers()) __atomic_fetch_sub(&x->worker_busy[w], 1, __ATOMIC_RELAXED);
}

static void test_parallel_for(const gj_runtime *rt)
{
    static const long counts[] = { 1, 2, 7, 100, 1000, 100000 };
    for (int threads = 1; threads <= 3; threads++) {
        gj_runtime_set_threads(threads);
        for (size_t ci = 0; ci < sizeof counts / sizeof *counts; ci++) {
            long n = counts[ci];
            int busy[64] = {0};
            pf_ctx x = { rt, calloc((size_t)n, sizeof(int)), busy, 0, 0 };
            rt->parallel_for(n, 3, pf_body, &x);
            int ok = x.bad == 0;
            for (long i = 0; i < n; i++) ok &= x.hits[i] == 1;
            CHECK(ok, "parallel_for count=%ld threads=%d: items not covered exactly once or worker slot shared", n,
                  threads);
            free(x.hits);
        }
    }
    gj_runtime_set_threads(2);
}

/* ---- misc ------------------------------------------------------------------------------------- */

static void test_misc(const gj_runtime *rt)
{
    CHECK(rt->abi_version == GJ_RUNTIME_ABI_VERSION, "abi_version");
    CHECK(gj_runtime_force_path("bogus") == 0, "force_path accepted an unknown name");
    CHECK(gj_runtime_force_path("portable") == 1, "portable must always be supported");
    CHECK(strcmp(gj_runtime_cpu_path(), "portable") == 0, "cpu_path after force");
    double e1 = 0;
    for (float x = -87.0f; x < 88.5f; x += 0.0137f)
        e1 = fmax(e1, fabs(rt->expf(x) - exp((double)x)) / exp((double)x));
    CHECK(e1 < 1.2e-7, "scalar expf error %g", e1);
    CHECK(rt->packed_b_floats(10, 33) == 10 * 64, "packed_b_floats(10,33)");
    /* K == 0: only bias/activation/accumulate */
    float C[6] = { 1, -2, 3, -4, 5, -6 }, bias[3] = { 1, 1, 1 };
    rt->sgemm(2, 3, 0, NULL, 0, NULL, 3, C, 3, bias, GJ_ACT_RELU, 1);
    CHECK(C[0] == 2 && C[1] == 0 && C[2] == 4 && C[3] == 0 && C[4] == 6 && C[5] == 0, "K=0 epilogue");
    gj_runtime_set_threads(3);
    CHECK(gj_runtime_threads() == 3, "set_threads");
    gj_runtime_set_threads(2);
}

/* ---- routing to an installed copy (entry_points.c) -------------------------------------------- */

/* A stand-in for an optimized copy: records what the host forwards to it. */
static gj_runtime g_fake_table;
static int g_fake_threads_set = -1;
static char g_fake_forced[16];
static const gj_runtime *fake_get(void) { return &g_fake_table; }
static void fake_set_threads(int threads) { g_fake_threads_set = threads; }
static int fake_threads(void) { return 7; }
static const char *fake_cpu_path(void) { return "fake"; }
static int fake_force_path(const char *name)
{
    snprintf(g_fake_forced, sizeof g_fake_forced, "%s", name);
    return 1;
}
static int fake_is_optimized(void) { return 1; }
static double fake_peak(void) { return 42.0; }
static double fake_bandwidth(size_t bytes, int threads) { return (double)bytes + threads; }

/* Must run last: an installation lasts for the rest of the process. */
static void test_routing(const gj_runtime *rt)
{
#ifdef __OPTIMIZE__
    CHECK(gj_runtime_is_optimized() == 1, "is_optimized in an optimized build");
#else
    CHECK(gj_runtime_is_optimized() == 0, "is_optimized in an -O0 build");
#endif
    CHECK(gj_runtime_installed() == NULL, "nothing installed at start");
    const gj_runtime_entry_points *own = gj_runtime_own_entry_points();
    CHECK(own->abi_version == GJ_RUNTIME_ABI_VERSION && own->size == (int)sizeof *own, "own entry points header");
    CHECK(own->runtime_get() == rt && own->runtime_threads() == gj_runtime_threads(),
          "own entry points are this copy's");
    CHECK(gj_runtime_install(NULL) == GJ_INSTALL_INVALID, "install(NULL)");
    CHECK(gj_runtime_install(own) == GJ_INSTALL_SELF, "installing this copy into itself");
    gj_runtime_entry_points fake = {
        .abi_version = GJ_RUNTIME_ABI_VERSION + 1, .size = (int)sizeof fake,
        .runtime_get = fake_get, .runtime_set_threads = fake_set_threads, .runtime_threads = fake_threads,
        .runtime_cpu_path = fake_cpu_path, .runtime_force_path = fake_force_path,
        .runtime_is_optimized = fake_is_optimized, .measure_peak_gflops = fake_peak,
        .measure_read_bandwidth = fake_bandwidth,
    };
    CHECK(gj_runtime_install(&fake) == GJ_INSTALL_INVALID, "install of another ABI version");
    fake.abi_version = GJ_RUNTIME_ABI_VERSION;
    fake.size = (int)sizeof fake - 8;
    CHECK(gj_runtime_install(&fake) == GJ_INSTALL_INVALID, "install of another layout");
    fake.size = (int)sizeof fake;
    CHECK(gj_runtime_installed() == NULL, "rejected installs leave nothing installed");

    g_fake_table = *rt;
    gj_runtime_set_threads(2);
    gj_runtime_force_path("portable");
    CHECK(gj_runtime_install(&fake) == GJ_INSTALL_DONE, "install");
    CHECK(g_fake_threads_set == 2 && strcmp(g_fake_forced, "portable") == 0,
          "settings handed over: threads %d, path '%s'", g_fake_threads_set, g_fake_forced);
    CHECK(gj_runtime_installed() == &fake, "installed()");
    CHECK(gj_runtime_get() == &g_fake_table, "runtime_get routed");
    CHECK(gj_runtime_threads() == 7, "runtime_threads routed");
    gj_runtime_set_threads(5);
    CHECK(g_fake_threads_set == 5, "set_threads routed");
    CHECK(strcmp(gj_runtime_cpu_path(), "fake") == 0, "cpu_path routed");
    CHECK(gj_runtime_force_path("avx2") == 1 && strcmp(g_fake_forced, "avx2") == 0, "force_path routed");
    CHECK(gj_runtime_is_optimized() == 1, "is_optimized routed");
    CHECK(gj_measure_peak_gflops() == 42.0 && gj_measure_read_bandwidth(100, 2) == 102.0, "measurements routed");
    CHECK(own->runtime_get() == rt && own->runtime_threads() == 2, "own entry points are not routed");
    CHECK(gj_runtime_install(own) == GJ_INSTALL_SELF, "install(own) after install");
    gj_runtime_entry_points other = fake;
    CHECK(gj_runtime_install(&other) == GJ_INSTALL_ALREADY && gj_runtime_installed() == &fake,
          "a second install is refused");

    /* A table obtained before the install keeps working, on this copy's code and pool. */
    float A[4] = { 1, 2, 3, 4 }, B[4] = { 5, 6, 7, 8 }, C[4];
    rt->sgemm(2, 2, 2, A, 2, B, 2, C, 2, NULL, GJ_ACT_LINEAR, 0);
    CHECK(C[0] == 19 && C[1] == 22 && C[2] == 43 && C[3] == 50, "old table after install");
}

/* ---- int8 Dense ---------------------------------------------------------------------------------- */

/* dense_int8 against Keras's scheme written out here in scalar C (int64 sums, the same float
 * steps): the results must be equal bit for bit on every path, for K below, at and past the
 * vector widths and large enough to be split over the workers. */
static void test_int8(const gj_runtime *rt, const char *path)
{
    static const int shapes[][3] = { { 1, 3, 1 }, { 3, 5, 31 }, { 2, 7, 32 }, { 2, 9, 33 }, { 4, 10, 64 },
                                     { 3, 16, 100 }, { 2, 130, 257 }, { 1, 128, 4099 },
                                     /* tile edges (9 rows, 40 columns), K past one 4096 block,
                                      * rows past one pass of 64 */
                                     { 9, 40, 4500 }, { 70, 33, 50 }, { 65, 130, 300 }, { 8, 32, 8200 } };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        float *A = malloc(sizeof(float) * (size_t)M * K), *W = malloc(sizeof(float) * (size_t)K * N);
        float *scale = malloc(sizeof(float) * (size_t)N), *C = malloc(sizeof(float) * (size_t)M * N);
        void *packed = malloc(sizeof(float) * rt->int8_kernel_floats(K, N));
        /* A pass of 64 rows at most, so that the larger cases take several. */
        const long pass_rows = M < 64 ? M : 64, scratch_floats = pass_rows * ((K + 3) / 4 + 1);
        float *scratch = malloc(sizeof(float) * (size_t)scratch_floats);
        fill(A, (size_t)M * K, -3, 3);
        for (size_t i = 0; i < (size_t)K * N; i++) W[i] = (float)(int)rnd_float(-127.9f, 127.9f);
        W[0] = 127; W[(size_t)K * N - 1] = -127;
        fill(scale, (size_t)N, 0.5f, 200);
        rt->pack_int8_kernel(K, N, W, packed);
        rt->dense_int8(M, N, K, A, packed, scale, C, scratch, scratch_floats);
        int mismatches = 0;
        for (int m = 0; m < M; m++) {
            float largest = 0;
            for (int k = 0; k < K; k++) largest = fabsf(A[(size_t)m * K + k]) > largest ? fabsf(A[(size_t)m * K + k]) : largest;
            const float sx = 127.0f / (largest + 1e-7f);
            for (int n = 0; n < N; n++) {
                long long acc = 0;
                for (int k = 0; k < K; k++) {
                    float q = nearbyintf(A[(size_t)m * K + k] * sx);
                    q = q > 127 ? 127 : q < -127 ? -127 : q;
                    acc += (long long)q * (long long)W[(size_t)k * N + n];
                }
                const float expected = (float)(int)acc / (scale[n] * sx);
                if (C[(size_t)m * N + n] != expected) mismatches++;
            }
        }
        CHECK(mismatches == 0, "%s: dense_int8 %dx%dx%d: %d outputs differ from the scalar scheme", path, M, N, K,
              mismatches);
        free(A); free(W); free(scale); free(C); free(packed); free(scratch);
    }
}

int main(void)
{
    const gj_runtime *rt = gj_runtime_get();
    const char *detected = gj_runtime_cpu_path();
    printf("detected path: %s, threads: %d\n", detected, gj_runtime_threads());
    for (int p = 0; p < 3; p++) {
        if (!gj_runtime_force_path(PATHS[p])) {
            printf("[%s] not supported on this CPU, skipped\n", PATHS[p]);
            continue;
        }
        int path_id = p == 0 ? GJ_PATH_AVX512 : p == 1 ? GJ_PATH_AVX2 : GJ_PATH_PORTABLE;
        printf("[%s]\n", PATHS[p]);
        test_gemm(rt, PATHS[p]);
        test_vmath_accuracy(rt, PATHS[p], path_id);
        test_softmax(rt, PATHS[p]);
        test_lstm(rt, PATHS[p]);
        test_conv_helpers(rt);
        test_concurrency(rt);
        test_matvec_repeatable(rt, PATHS[p]);
    }
    test_pack_portability(rt);
    test_parallel_for(rt);
    test_misc(rt);
    /* After the others, so that their random inputs stay what they were. */
    for (int p = 0; p < 3; p++)
        if (gj_runtime_force_path(PATHS[p])) test_int8(rt, PATHS[p]);
    gj_runtime_force_path(detected);
    test_routing(rt);
    printf("%d checks, %d failures\n", g_checks, g_failures);
    return g_failures ? 1 : 0;
}
