/*
 * bench_gemm.c - GEMM micro-benchmarks for the GraphJIT C runtime.
 *
 * For every supported path (avx512 / avx2 / portable) and 1 and 2 threads, times sgemm (unpacked
 * B) and sgemm_packed on the shapes the project cares about, and prints GFLOP/s (2*M*N*K / time)
 * and time per call. Also prints the calibration numbers (peak FMA GFLOP/s, read bandwidth).
 *
 * Buffers are 64-byte aligned, as in GraphJIT. Timing: calls are grouped into batches of >= 2 ms;
 * batches repeat for >= 0.3 s; the best and the median batch (per-call average) are reported.
 * Inputs are uniform in [-1, 1].
 *
 * Usage: bench_gemm [path...]   (default: all supported paths)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "graphjit_runtime.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct {
    const gj_runtime *rt;
    int M, N, K, packed, act;
    float *A, *B, *P, *C, *bias;
} gemm_case;

static void run_once(const gemm_case *g)
{
    if (g->packed)
        g->rt->sgemm_packed(g->M, g->N, g->K, g->A, g->K, g->P, g->C, g->N, g->bias, g->act, 0);
    else
        g->rt->sgemm(g->M, g->N, g->K, g->A, g->K, g->B, g->N, g->C, g->N, g->bias, g->act, 0);
}

/* seconds per call: best and median over batches */
static void time_case(const gemm_case *g, double *best, double *median)
{
    run_once(g); /* warm up (pool threads, scratch buffers, caches) */
    int inner = 1;
    for (;;) {
        double t0 = now_s();
        for (int i = 0; i < inner; i++) run_once(g);
        if (now_s() - t0 >= 2e-3 || inner >= (1 << 20)) break;
        inner *= 2;
    }
    double samples[512];
    int ns = 0;
    double start = now_s();
    while (ns < 512 && (ns < 3 || now_s() - start < 0.3)) {
        double t0 = now_s();
        for (int i = 0; i < inner; i++) run_once(g);
        samples[ns++] = (now_s() - t0) / inner;
    }
    qsort(samples, (size_t)ns, sizeof(double), cmp_double);
    *best = samples[0];
    *median = samples[ns / 2];
}

/* 64-byte aligned, like GraphJIT's buffers (AlignedBuffer.swift): an unaligned packed B makes
 * every AVX-512 load of a panel row straddle two cache lines. */
static float *aligned_floats(size_t n)
{
    size_t bytes = (sizeof(float) * (n ? n : 1) + 63) / 64 * 64;
    return aligned_alloc(64, bytes);
}

static float *rand_buf(size_t n)
{
    float *p = aligned_floats(n);
    for (size_t i = 0; i < n; i++) p[i] = (float)rand() / (float)RAND_MAX * 2.0f - 1.0f;
    return p;
}

int main(int argc, char **argv)
{
    const gj_runtime *rt = gj_runtime_get();
    static const char *const all_paths[] = { "avx512", "avx2", "portable" };
    const char *const *paths = all_paths;
    int npaths = 3;
    if (argc > 1) {
        paths = (const char *const *)(argv + 1);
        npaths = argc - 1;
    }
    const char *detected = gj_runtime_cpu_path();
    int cpus = gj_runtime_threads();

    printf("calibration: peak %.1f GFLOP/s (1 core, FMA loop); read bandwidth 64 MiB: %.1f GB/s (1 thr), "
           "%.1f GB/s (2 thr); 16 MiB: %.1f GB/s (1 thr)\n",
           gj_measure_peak_gflops(), gj_measure_read_bandwidth(64u << 20, 1), gj_measure_read_bandwidth(64u << 20, 2),
           gj_measure_read_bandwidth(16u << 20, 1));
    printf("detected path %s, %d online CPUs\n\n", detected, cpus);

    static const struct { int M, N, K, act; const char *what; } shapes[] = {
        { 64, 128, 30752, GJ_ACT_RELU, "dense, 15.7 MB weights" },
        { 3844, 32, 27, GJ_ACT_RELU, "conv 3x3x3->32 on 62x62 as GEMM" },
        { 64, 128, 64, GJ_ACT_LINEAR, "small dense" },
        { 256, 256, 256, GJ_ACT_LINEAR, "square" },
        { 1, 200, 50, GJ_ACT_LINEAR, "LSTM step, batch 1 (x W)" },
        { 1, 128, 64, GJ_ACT_LINEAR, "matvec" },
        { 1, 128, 30752, GJ_ACT_LINEAR, "dense batch 1, 15.7 MB weights" },
        { 8192, 64, 64, GJ_ACT_TANH, "attention projection, tanh" },
        { 6400, 200, 32, GJ_ACT_LINEAR, "LSTM input projection, batch 64" },
        { 8192, 1, 64, GJ_ACT_LINEAR, "attention score (N = 1)" },
        { 256, 15, 128, GJ_ACT_LINEAR, "narrow N (two heads)" },
        { 256, 10, 128, GJ_ACT_LINEAR, "narrow N" },
        { 256, 5, 128, GJ_ACT_LINEAR, "narrow N" },
        { 1, 64, 128, GJ_ACT_LINEAR, "attention weighted sum (M = 1)" },
        { 1, 10, 128, GJ_ACT_LINEAR, "matvec, narrow" },
        { 1, 5, 128, GJ_ACT_LINEAR, "matvec, narrow" },
    };
    const int nshapes = (int)(sizeof shapes / sizeof *shapes);

    printf("%-8s %-18s %-7s %3s %12s %12s %10s  %s\n", "path", "M x N x K", "B", "thr", "GFLOP/s best",
           "GFLOP/s med", "time best", "note");
    for (int p = 0; p < npaths; p++) {
        if (!gj_runtime_force_path(paths[p])) {
            printf("%-8s not supported on this CPU\n", paths[p]);
            continue;
        }
        for (int s = 0; s < nshapes; s++) {
            int M = shapes[s].M, N = shapes[s].N, K = shapes[s].K;
            gemm_case g = { rt, M, N, K, 0, shapes[s].act, NULL, NULL, NULL, NULL, NULL };
            g.A = rand_buf((size_t)M * K);
            g.B = rand_buf((size_t)K * N);
            g.C = rand_buf((size_t)M * N);
            g.bias = rand_buf((size_t)N);
            g.P = aligned_floats(rt->packed_b_floats(K, N));
            rt->pack_b(K, N, g.B, N, g.P);
            for (int packed = 1; packed >= 0; packed--) {
                for (int threads = 1; threads <= 2; threads++) {
                    gj_runtime_set_threads(threads);
                    g.packed = packed;
                    double best, med;
                    time_case(&g, &best, &med);
                    double flops = 2.0 * M * N * K;
                    char dims[32], t[32];
                    snprintf(dims, sizeof dims, "%dx%dx%d", M, N, K);
                    if (best < 1e-5) snprintf(t, sizeof t, "%.0f ns", best * 1e9);
                    else if (best < 1e-2) snprintf(t, sizeof t, "%.1f us", best * 1e6);
                    else snprintf(t, sizeof t, "%.2f ms", best * 1e3);
                    printf("%-8s %-18s %-7s %3d %12.1f %12.1f %10s  %s\n", paths[p], dims,
                           packed ? "packed" : "plain", threads, flops / best * 1e-9, flops / med * 1e-9, t,
                           shapes[s].what);
                    fflush(stdout);
                }
            }
            free(g.A); free(g.B); free(g.C); free(g.bias); free(g.P);
        }
        printf("\n");
    }
    /* helpers: im2col for the conv shape above, and vector activations */
    gj_runtime_force_path(detected);
    {
        float *in = rand_buf(64 * 64 * 3), *cols = rand_buf(62 * 62 * 27);
        double t0 = now_s();
        int reps = 0;
        do {
            rt->im2col_nhwc(in, 64, 64, 3, 3, 3, 1, 1, 0, 0, 62, 62, cols);
            reps++;
        } while (now_s() - t0 < 0.2);
        printf("im2col 64x64x3, 3x3 valid -> 3844x27: %.1f us\n", (now_s() - t0) / reps * 1e6);
        float *conv = rand_buf(3844 * 32), *pooled = rand_buf(961 * 32);
        t0 = now_s();
        reps = 0;
        do {
            rt->maxpool_nhwc(conv, 62, 62, 32, 2, 2, 2, 2, 0, 0, 31, 31, pooled);
            reps++;
        } while (now_s() - t0 < 0.2);
        printf("maxpool 62x62x32, 2x2 stride 2: %.1f us\n", (now_s() - t0) / reps * 1e6);
        free(in);
        free(cols);
        free(conv);
        free(pooled);
        /* LSTM cell (Keras activations) and softmax on the benchmark models' shapes */
        float *z = rand_buf(64 * 200), *c = rand_buf(64 * 50), *h = rand_buf(64 * 50);
        static const int cell_rows[] = { 1, 64 };
        for (int i = 0; i < 2; i++) {
            t0 = now_s();
            reps = 0;
            do {
                for (int r = 0; r < 100; r++) rt->lstm_cell(cell_rows[i], 50, z, 200, c, 50, h, 50, GJ_ACT_TANH, GJ_ACT_SIGMOID);
                reps += 100;
            } while (now_s() - t0 < 0.1);
            printf("lstm_cell %d x 50 units: %.0f ns\n", cell_rows[i], (now_s() - t0) / reps * 1e9);
        }
        free(z);
        free(c);
        free(h);
        static const int sm[][2] = { { 256, 10 }, { 256, 5 }, { 64, 128 } };
        float *sx = rand_buf(256 * 128);
        for (int i = 0; i < 3; i++) {
            t0 = now_s();
            reps = 0;
            do {
                for (int r = 0; r < 10; r++) rt->softmax_rows(sx, sm[i][0], sm[i][1]);
                reps += 10;
            } while (now_s() - t0 < 0.1);
            printf("softmax_rows %d x %d: %.2f us\n", sm[i][0], sm[i][1], (now_s() - t0) / reps * 1e6);
        }
        free(sx);
        const long n = 1 << 16;
        float *x = rand_buf((size_t)n);
        static const char *const names[] = { "linear", "relu", "sigmoid", "tanh" };
        for (int act = GJ_ACT_RELU; act <= GJ_ACT_TANH; act++) {
            t0 = now_s();
            reps = 0;
            do {
                rt->activate(x, n, act);
                if (act == GJ_ACT_SIGMOID) for (long i = 0; i < n; i += 4096) x[i] = 1.0f; /* keep it busy */
                reps++;
            } while (now_s() - t0 < 0.1);
            printf("activate %-7s (%s): %.2f ns/element\n", names[act], detected, (now_s() - t0) / reps / n * 1e9);
        }
        free(x);
    }
    gj_runtime_set_threads(cpus);
    return 0;
}
