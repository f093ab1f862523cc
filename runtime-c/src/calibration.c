/*
 * calibration.c - peak FMA throughput and read bandwidth measurements for benchmarks.
 */
#define _POSIX_C_SOURCE 200809L
#include <immintrin.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gj_internal.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- peak FLOP/s ------------------------------------------------------------------------------
 * `iters` rounds of NACC independent FMA chains. NACC must exceed latency x throughput of the FMA
 * units (4 cycles x 2 pipes on current x86 cores) for the loop to be throughput-bound. */
#define NACC 16

GJ_TARGET_AVX512 static float fma_loop_avx512(long iters)
{
    __m512 acc[NACC];
    for (int i = 0; i < NACC; i++) acc[i] = _mm512_set1_ps((float)i * 1e-3f);
    const __m512 m = _mm512_set1_ps(0.999999f), a = _mm512_set1_ps(1e-7f);
    for (long it = 0; it < iters; it++)
        for (int i = 0; i < NACC; i++) acc[i] = _mm512_fmadd_ps(acc[i], m, a);
    __m512 s = acc[0];
    for (int i = 1; i < NACC; i++) s = _mm512_add_ps(s, acc[i]);
    return _mm512_reduce_add_ps(s);
}

GJ_TARGET_AVX2 static float fma_loop_avx2(long iters)
{
    __m256 acc[NACC];
    for (int i = 0; i < NACC; i++) acc[i] = _mm256_set1_ps((float)i * 1e-3f);
    const __m256 m = _mm256_set1_ps(0.999999f), a = _mm256_set1_ps(1e-7f);
    for (long it = 0; it < iters; it++)
        for (int i = 0; i < NACC; i++) acc[i] = _mm256_fmadd_ps(acc[i], m, a);
    __m256 s = acc[0];
    for (int i = 1; i < NACC; i++) s = _mm256_add_ps(s, acc[i]);
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0] + out[1] + out[2] + out[3] + out[4] + out[5] + out[6] + out[7];
}

static float mul_add_loop_portable(long iters) /* SSE2: separate multiply and add */
{
    float acc[NACC * 4];
    for (int i = 0; i < NACC * 4; i++) acc[i] = (float)i * 1e-3f;
    for (long it = 0; it < iters; it++)
        for (int i = 0; i < NACC * 4; i++) acc[i] = acc[i] * 0.999999f + 1e-7f;
    float s = 0.0f;
    for (int i = 0; i < NACC * 4; i++) s += acc[i];
    return s;
}

volatile float gj_calibration_sink;

double gj_own_measure_peak_gflops(void)
{
    int path = GJ_PATH_PORTABLE;
    if (gj_path_supported(GJ_PATH_AVX512)) path = GJ_PATH_AVX512;
    else if (gj_path_supported(GJ_PATH_AVX2)) path = GJ_PATH_AVX2;
    const double flops_per_iter = 2.0 * NACC * (path == GJ_PATH_AVX512 ? 16 : path == GJ_PATH_AVX2 ? 8 : 4);
    const long chunk = 200000;
    double best = 0.0, start = now_s();
    /* repeat short timed chunks for ~50 ms and keep the fastest (robust against interrupts) */
    while (now_s() - start < 0.05) {
        double t0 = now_s();
        float r = path == GJ_PATH_AVX512 ? fma_loop_avx512(chunk)
                : path == GJ_PATH_AVX2  ? fma_loop_avx2(chunk)
                                        : mul_add_loop_portable(chunk);
        double dt = now_s() - t0;
        gj_calibration_sink = r;
        double g = flops_per_iter * chunk / dt * 1e-9;
        if (g > best) best = g;
    }
    return best;
}

/* ---- read bandwidth -------------------------------------------------------------------------- */

GJ_TARGET_AVX2 static float read_sum_avx2(const float *p, size_t n)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_add_ps(s0, _mm256_load_ps(p + i));
        s1 = _mm256_add_ps(s1, _mm256_load_ps(p + i + 8));
        s2 = _mm256_add_ps(s2, _mm256_load_ps(p + i + 16));
        s3 = _mm256_add_ps(s3, _mm256_load_ps(p + i + 24));
    }
    float out[8];
    _mm256_storeu_ps(out, _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    return out[0] + out[4];
}

static float read_sum_portable(const float *p, size_t n)
{
    float s[16] = {0};
    for (size_t i = 0; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++) s[j] += p[i + j];
    return s[0] + s[15];
}

typedef struct {
    const float *p;
    size_t n;
    int reps;
    pthread_barrier_t *barrier;
    double seconds;
} bw_arg;

static void *bw_thread(void *argp)
{
    bw_arg *a = argp;
    int avx2 = gj_path_supported(GJ_PATH_AVX2);
    pthread_barrier_wait(a->barrier);
    double t0 = now_s();
    float s = 0.0f;
    for (int r = 0; r < a->reps; r++) {
        /* compiler barrier: otherwise the pure read function could be evaluated once */
        __asm__ __volatile__("" ::: "memory");
        s += avx2 ? read_sum_avx2(a->p, a->n) : read_sum_portable(a->p, a->n);
    }
    a->seconds = now_s() - t0;
    gj_calibration_sink = s;
    return NULL;
}

double gj_own_measure_read_bandwidth(size_t bytes, int threads)
{
    if (threads < 1) threads = 1;
    if (threads > 2) threads = 2;
    size_t per = (bytes / threads / 128) * 128; /* bytes per thread, whole 128-byte chunks */
    if (per == 0) return 0.0;
    float *buf = aligned_alloc(64, per * threads);
    if (!buf) return 0.0;
    /* Fault the pages in with non-zero data: a zero fill could be turned into calloc by the
     * compiler, leaving every page mapped to the one shared zero page (which reads from L1). */
    float *f = buf;
    for (size_t i = 0; i < per * threads / sizeof(float); i++) f[i] = (float)(i & 1023);
    /* enough repetitions for ~20 ms at 20 GB/s, at least 3 */
    int reps = (int)(4e8 / (double)(per * threads));
    if (reps < 3) reps = 3;
    double best = 0.0;
    for (int trial = 0; trial < 3; trial++) {
        pthread_barrier_t barrier;
        pthread_barrier_init(&barrier, NULL, (unsigned)threads);
        bw_arg args[2];
        pthread_t tid[2];
        for (int t = 0; t < threads; t++) {
            args[t] = (bw_arg){ .p = (const float *)((const char *)buf + per * t), .n = per / sizeof(float),
                                .reps = reps, .barrier = &barrier };
        }
        int started = 1;
        if (threads == 2 && pthread_create(&tid[1], NULL, bw_thread, &args[1]) != 0) started = 0;
        if (!started) { /* could not start the second thread: measure one */
            pthread_barrier_destroy(&barrier);
            free(buf);
            return gj_own_measure_read_bandwidth(bytes, 1);
        }
        bw_thread(&args[0]);
        if (threads == 2) pthread_join(tid[1], NULL);
        pthread_barrier_destroy(&barrier);
        double slowest = args[0].seconds;
        if (threads == 2 && args[1].seconds > slowest) slowest = args[1].seconds;
        double gbs = (double)per * threads * reps / slowest * 1e-9;
        if (gbs > best) best = gbs;
    }
    free(buf);
    return best;
}
