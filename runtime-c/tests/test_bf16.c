/*
 * test_bf16.c - tests (and a small benchmark) of the bf16 weight-only Dense (dense_bf16.c).
 *
 *   test_bf16          tests on every CPU path this machine supports; exit status 0 = all passed
 *   test_bf16 bench    median times of dense_bf16 beside the fp32 sgemm (unpacked B) on the
 *                      tutorial CNN's and the multitask model's Dense shapes, avx512 and avx2, with
 *                      2 and 1 threads; the "(DRAM)" row cycles through copies of the weights larger
 *                      than the L3, the others reuse one copy (L3-resident at 7.9 / 15.7 MB)
 *
 * Checked:
 *   - pack rounding: every packed value (unpacked here from the documented layout) has the bits of
 *     the scalar definition below (round to nearest even on the high 16 bits; NaN -> quiet NaN with
 *     its sign; inf stays inf; values with zero low bits exact), on hand-picked ties, near-ties,
 *     NaN payloads, infinities, signed zeros, subnormals, FLT_MAX (-> inf) and random bit patterns;
 *     the padding (columns past N, the row past an odd K) is zero;
 *   - dense_bf16 against a double-precision reference of A times the bf16-rounded kernel:
 *         |C - ref| <= 1e-5 * sum_k |A[m,k] W[k,n]| + 1e-30
 *     on fixed shapes (tails of M, N, K; K = 30752, N = 128 at M = 1 and 3) and random ones, with
 *     1 or 2 threads; nothing is written past C;
 *   - batching: M rows in one call equal the rows computed one call each, bit for bit, and the
 *     thread count does not change a bit either;
 *   - paths: the three paths give the same bits (every output is the same FMA chain in k order);
 *   - non-finite values in A or in the kernel give NaN / +-inf exactly where the double reference
 *     does, and finite values elsewhere;
 *   - two application threads calling at once get the same bits as alone.
 *
 * Build (from runtime-c):
 *   $CC -std=c11 -O3 -fno-math-errno -ffp-contract=fast -Wall -Wextra -Iinclude -Isrc \
 *       -o test_bf16 tests/test_bf16.c src/\*.c -lm -lpthread
 */
#define _POSIX_C_SOURCE 200809L
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "graphjit_runtime.h"

#define TEST_RNG_SEED 0xB7E151628AED2A6Bull
#include "test_support.h"

/* The ABI entries bf16_kernel_floats, pack_bf16_kernel, dense_bf16 (gj_abi.h), called directly. */
extern size_t gj_bf16_kernel_floats(int K, int N);
extern void gj_pack_bf16_kernel(int K, int N, const float *kernel, void *packed);
extern void gj_dense_bf16(int M, int N, int K, const float *A, const void *packed, float *C);

static const char *const PATHS[] = { "avx512", "avx2", "portable" };

/* ---- Scalar definitions ------------------------------------------------------------------------ */
static uint32_t bits_of(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}
static float float_of(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* bf16 of a float32, written as the rounding rule rather than as the add-and-shift trick. */
static uint16_t bf16_ref(float f)
{
    const uint32_t u = bits_of(f);
    if ((u & 0x7F800000u) == 0x7F800000u && (u & 0x007FFFFFu) != 0) return (uint16_t)((u >> 16) | 0x0040u); /* NaN */
    uint32_t kept = u >> 16;
    const uint32_t rest = u & 0xFFFFu;
    if (rest > 0x8000u || (rest == 0x8000u && (kept & 1u))) kept++; /* carries into the exponent: up to inf */
    return (uint16_t)kept;
}
static float bf16_value(uint16_t h) { return float_of((uint32_t)h << 16); }

/* Packed value W[k][n], read from the layout that dense_bf16.c documents: blocks of 16 columns,
 * steps of two rows, word c of step s = row 2s (low half) | row 2s+1 (high half). */
static uint16_t packed_at(const uint32_t *packed, int K, int k, int n)
{
    const size_t steps = ((size_t)K + 1) / 2;
    const uint32_t word = packed[((size_t)(n / 16) * steps + (size_t)k / 2) * 16 + (size_t)(n % 16)];
    return (uint16_t)(k % 2 ? word >> 16 : word & 0xFFFFu);
}

static float *alloc_floats(size_t n) { return malloc(sizeof(float) * (n ? n : 1)); }

/* ---- Pack rounding ----------------------------------------------------------------------------- */
static void test_pack_rounding(void)
{
    /* input bits -> expected bf16 bits, worked out by hand */
    static const uint32_t cases[][2] = {
        { 0x3F800000u, 0x3F80u }, /* 1.0, exact */
        { 0x3F808000u, 0x3F80u }, /* tie, even lsb: down */
        { 0x3F818000u, 0x3F82u }, /* tie, odd lsb: up */
        { 0x3F807FFFu, 0x3F80u }, /* just below the tie */
        { 0x3F808001u, 0x3F81u }, /* just above the tie */
        { 0x3F817FFFu, 0x3F81u },
        { 0x3F818001u, 0x3F82u },
        { 0x3F81FFFFu, 0x3F82u },
        { 0xBF808000u, 0xBF80u }, /* negative ties */
        { 0xBF818000u, 0xBF82u },
        { 0xBF808001u, 0xBF81u },
        { 0x3FFF8000u, 0x4000u }, /* tie up across the exponent */
        { 0x7F800000u, 0x7F80u }, /* +inf */
        { 0xFF800000u, 0xFF80u }, /* -inf */
        { 0x7F7FFFFFu, 0x7F80u }, /* FLT_MAX rounds to +inf */
        { 0xFF7FFFFFu, 0xFF80u }, /* -FLT_MAX to -inf */
        { 0x7F7F8000u, 0x7F80u }, /* tie at the top, odd lsb: inf */
        { 0x7F7E8000u, 0x7F7Eu }, /* tie, even lsb: stays finite */
        { 0x7F7F7FFFu, 0x7F7Fu }, /* largest finite bf16 */
        { 0x00000000u, 0x0000u }, /* +0 */
        { 0x80000000u, 0x8000u }, /* -0 */
        { 0x00000001u, 0x0000u }, /* smallest subnormal: to +0 */
        { 0x80000001u, 0x8000u }, /* to -0 */
        { 0x00008000u, 0x0000u }, /* subnormal tie, even */
        { 0x00018000u, 0x0002u }, /* subnormal tie, odd */
        { 0x00008001u, 0x0001u },
        { 0x007FFFFFu, 0x0080u }, /* largest subnormal: up to the smallest normal */
        { 0x00010000u, 0x0001u }, /* exact subnormal bf16 */
        { 0x7FC00000u, 0x7FC0u }, /* quiet NaN, exact */
        { 0xFFC00000u, 0xFFC0u }, /* negative quiet NaN */
        { 0x7FC12345u, 0x7FC1u }, /* quiet NaN with low payload: truncated, never rounded */
        { 0x7F800001u, 0x7FC0u }, /* signalling NaN, payload only in the low bits: quiet, still NaN */
        { 0xFF800001u, 0xFFC0u },
        { 0x7FA00000u, 0x7FE0u }, /* signalling NaN: quieted */
        { 0x7F80FFFFu, 0x7FC0u }, /* would round to a signalling NaN */
        { 0x7FFFFFFFu, 0x7FFFu }, /* would carry into the sign (-0) under add-and-shift without the NaN rule */
        { 0xFFFFFFFFu, 0xFFFFu },
        { 0x40490FDBu, 0x4049u }, /* pi */
        { 0xC0490FDBu, 0xC049u },
    };
    const int ncases = (int)(sizeof cases / sizeof cases[0]);
    for (int i = 0; i < ncases; i++)
        CHECK(bf16_ref(float_of(cases[i][0])) == cases[i][1], "scalar definition of %08x: %04x, expected %04x", cases[i][0],
              bf16_ref(float_of(cases[i][0])), cases[i][1]);

    /* Pack the hand cases, then random bit patterns (every class), into kernels of odd shapes. */
    static const int shapes[][2] = { { 7, 13 }, { 1, 1 }, { 2, 16 }, { 33, 17 }, { 301, 45 }, { 64, 128 } };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int K = shapes[s][0], N = shapes[s][1];
        float *W = alloc_floats((size_t)K * N);
        for (size_t i = 0; i < (size_t)K * N; i++) {
            uint32_t u = rnd_u32() ^ (rnd_u32() << 21);
            switch (rnd_u32() % 6) {
            case 0: u = cases[rnd_u32() % (unsigned)ncases][0]; break;
            case 1: u = (u & 0xFFFF0000u) | 0x8000u; break;          /* exact ties */
            case 2: u = (u & 0xFFFF0000u) | (0x8000u + (rnd_u32() % 3) - 1u); break; /* near ties */
            case 3: u = (u & 0x807FFFFFu) | 0x7F800000u; break;      /* inf / NaN */
            case 4: u &= 0xFFFF0000u; break;                        /* exact in bf16 */
            default: break;
            }
            W[i] = float_of(u);
        }
        const size_t floats = gj_bf16_kernel_floats(K, N);
        const size_t steps = ((size_t)K + 1) / 2, blocks = ((size_t)N + 15) / 16;
        CHECK(floats == blocks * steps * 16, "bf16_kernel_floats(%d, %d) = %zu", K, N, floats);
        uint32_t *P = malloc(sizeof(float) * floats);
        memset(P, 0xA5, sizeof(float) * floats);
        gj_pack_bf16_kernel(K, N, W, P);
        int bad = 0, bad_pad = 0;
        for (int k = 0; k < (int)(2 * steps); k++)
            for (int n = 0; n < (int)(16 * blocks); n++) {
                const uint16_t got = packed_at(P, K, k, n);
                if (k >= K || n >= N) {
                    bad_pad += got != 0;
                    continue;
                }
                const float w = W[(size_t)k * N + n];
                const uint16_t want = bf16_ref(w);
                if (got != want && bad++ < 5)
                    printf("  pack %dx%d [%d,%d]: %08x -> %04x, expected %04x\n", K, N, k, n, bits_of(w), got, want);
                /* the representation rules, independently of the bits above */
                if (isnan(w)) bad += !isnan(bf16_value(got)) || signbit(bf16_value(got)) != signbit(w) || !(got & 0x40);
                else if ((bits_of(w) & 0xFFFFu) == 0) bad += bf16_value(got) != w || signbit(bf16_value(got)) != signbit(w);
            }
        CHECK(bad == 0, "pack %dx%d: %d values differ from the scalar rounding", K, N, bad);
        CHECK(bad_pad == 0, "pack %dx%d: %d padded values are not zero", K, N, bad_pad);
        free(W);
        free(P);
    }
    CHECK(gj_bf16_kernel_floats(0, 5) == 0 && gj_bf16_kernel_floats(5, 0) == 0 && gj_bf16_kernel_floats(-1, 3) == 0,
          "bf16_kernel_floats of an empty kernel must be 0");
}

/* ---- Dense ------------------------------------------------------------------------------------- */
#define GUARD 16
#define SENTINEL 12345.0f

typedef struct {
    int M, N, K;
    float *A, *W;
    uint32_t *P;
} dense_case;

/* Inputs drawn from a seed of their own, so every path sees the same case. */
static dense_case make_case(int M, int N, int K, unsigned long long seed)
{
    const unsigned long long saved = g_rng;
    g_rng = seed;
    dense_case d = { M, N, K, alloc_floats((size_t)M * K), alloc_floats((size_t)K * N), NULL };
    for (size_t i = 0; i < (size_t)M * K; i++) d.A[i] = rnd_float(-1, 1);
    for (size_t i = 0; i < (size_t)K * N; i++) d.W[i] = rnd_float(-1, 1) * (1.0f + 0x1p-20f * (float)(rnd_u32() & 0xFFFF));
    g_rng = saved;
    d.P = malloc(sizeof(float) * gj_bf16_kernel_floats(K, N)); /* exactly: ASan sees an over-read */
    gj_pack_bf16_kernel(K, N, d.W, d.P);
    return d;
}
static void free_case(dense_case *d)
{
    free(d->A);
    free(d->W);
    free(d->P);
}

/* C with GUARD sentinels after it. */
static float *run_dense(const dense_case *d, int threads)
{
    float *C = alloc_floats((size_t)d->M * d->N + GUARD);
    for (size_t i = 0; i < (size_t)d->M * d->N + GUARD; i++) C[i] = SENTINEL;
    gj_runtime_set_threads(threads);
    gj_dense_bf16(d->M, d->N, d->K, d->A, d->P, C);
    return C;
}

/* Returns the worst error / tolerance. Non-finite references must be matched in kind. */
static long g_nan_refs, g_inf_refs; /* how many references were NaN / infinite */
static double check_reference(const dense_case *d, const float *C, const char *tag)
{
    const int M = d->M, N = d->N, K = d->K;
    double *Wb = malloc(sizeof(double) * (size_t)K * N);
    for (size_t i = 0; i < (size_t)K * N; i++) Wb[i] = bf16_value(bf16_ref(d->W[i]));
    double worst = 0;
    int bad = 0;
    for (int m = 0; m < M; m++) {
        double *sum = calloc((size_t)N, sizeof(double)), *mag = calloc((size_t)N, sizeof(double));
        for (int k = 0; k < K; k++) {
            const double a = d->A[(size_t)m * K + k];
            for (int n = 0; n < N; n++) {
                const double t = a * Wb[(size_t)k * N + n];
                sum[n] += t;
                mag[n] += fabs(t);
            }
        }
        for (int n = 0; n < N; n++) {
            const float got = C[(size_t)m * N + n];
            const double ref = sum[n];
            int ok;
            if (isnan(ref)) ok = isnan(got), g_nan_refs++;
            else if (isinf(ref)) ok = got == ref, g_inf_refs++;
            else {
                const double tol = 1e-5 * mag[n] + 1e-30, err = fabs((double)got - ref);
                ok = err <= tol;
                if (ok && err / tol > worst) worst = err / tol;
            }
            if (!ok && bad++ < 3)
                printf("  %s: M=%d N=%d K=%d C[%d,%d] = %.9g, reference %.9g (sum |AW| %.3g)\n", tag, M, N, K, m, n, got, ref,
                       mag[n]);
        }
        free(sum);
        free(mag);
    }
    int guard = 0;
    for (int i = 0; i < GUARD; i++) guard += C[(size_t)M * N + i] != SENTINEL;
    CHECK(bad == 0, "%s: dense_bf16 %dx%dx%d: %d outputs outside the tolerance", tag, M, N, K, bad);
    CHECK(guard == 0, "%s: dense_bf16 %dx%dx%d wrote past C", tag, M, N, K);
    free(Wb);
    return worst;
}

/* The fixed shapes: every tile and tail of every path, K blocks (4096 rows), the target layers. */
static const int FIXED[][3] = {
    { 1, 128, 30752 }, { 3, 128, 30752 }, { 1, 1, 1 }, { 1, 5, 128 }, { 1, 10, 128 }, { 1, 128, 64 }, { 2, 17, 3 },
    { 3, 33, 2 }, { 4, 48, 5 }, { 5, 49, 7 }, { 6, 64, 31 }, { 7, 80, 64 }, { 8, 96, 33 }, { 9, 40, 4099 },
    { 11, 7, 8193 }, { 16, 130, 77 }, { 17, 31, 128 }, { 64, 128, 64 }, { 256, 10, 128 }, { 256, 5, 128 },
    { 200, 129, 65 }, { 199, 16, 1 }, { 2, 200, 4097 }, { 1, 300, 999 }, { 1, 33, 12289 }, { 2, 50, 40000 },
};
#define NFIXED ((int)(sizeof FIXED / sizeof FIXED[0]))
static float *g_first_path[NFIXED]; /* outputs of the first path tested, for the cross-path check */
static const char *g_first_name;

static void test_dense(const char *path)
{
    char tag[96];
    double worst = 0;
    for (int s = 0; s < NFIXED; s++) {
        dense_case d = make_case(FIXED[s][0], FIXED[s][1], FIXED[s][2], 1000003ull * (unsigned long long)(s + 1));
        float *C = run_dense(&d, rnd_int(1, 2));
        snprintf(tag, sizeof tag, "%s/fixed", path);
        const double w = check_reference(&d, C, tag);
        worst = w > worst ? w : worst;
        const size_t bytes = sizeof(float) * (size_t)d.M * d.N;
        if (g_first_path[s] == NULL) {
            g_first_path[s] = C;
            C = NULL;
        } else {
            CHECK(memcmp(g_first_path[s], C, bytes) == 0, "%s and %s differ on %dx%dx%d", path, g_first_name, d.M, d.N, d.K);
        }
        free(C);
        free_case(&d);
    }
    for (int r = 0; r < 30; r++) {
        const int M = rnd_int(1, 200), N = rnd_int(1, 150), K = r % 5 == 4 ? rnd_int(1, 5000) : rnd_int(1, 400);
        dense_case d = make_case(M, N, K, rnd_u32() | 1ull);
        float *C = run_dense(&d, rnd_int(1, 2));
        snprintf(tag, sizeof tag, "%s/random", path);
        const double w = check_reference(&d, C, tag);
        worst = w > worst ? w : worst;
        free(C);
        free_case(&d);
    }
    printf("  dense: worst error %.3g of the tolerance\n", worst);
}

/* Rows in one call == rows one at a time, and one thread == two threads, bit for bit. */
static void test_batching(const char *path)
{
    /* (1, 128, 30752) and (2, 50, 40000) are split over (panel, K block) tasks with 2 threads */
    static const int shapes[][3] = { { 37, 70, 301 }, { 64, 128, 64 }, { 17, 128, 5000 }, { 200, 33, 31 },
                                     { 9, 128, 30752 }, { 5, 5, 128 }, { 1, 128, 30752 }, { 2, 50, 40000 } };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        dense_case d = make_case(shapes[s][0], shapes[s][1], shapes[s][2], 77ull + s);
        float *all = run_dense(&d, 2), *serial = run_dense(&d, 1);
        float *row = alloc_floats((size_t)d.N);
        int differ = 0;
        for (int m = 0; m < d.M; m++) {
            gj_runtime_set_threads((m & 1) + 1);
            gj_dense_bf16(1, d.N, d.K, d.A + (size_t)m * d.K, d.P, row);
            differ += memcmp(row, all + (size_t)m * d.N, sizeof(float) * (size_t)d.N) != 0;
        }
        CHECK(differ == 0, "%s: %dx%dx%d: %d rows differ between one call and one call per row", path, d.M, d.N, d.K,
              differ);
        CHECK(memcmp(all, serial, sizeof(float) * (size_t)d.M * d.N) == 0, "%s: %dx%dx%d: 1 and 2 threads differ", path,
              d.M, d.N, d.K);
        free(all);
        free(serial);
        free(row);
        free_case(&d);
    }
}

/* NaN and inf in A and in the kernel propagate as float arithmetic does; padded columns never leak. */
static void test_nonfinite(const char *path)
{
    static const int shapes[][3] = { { 1, 20, 9 }, { 5, 37, 50 }, { 13, 100, 257 }, { 3, 5, 4100 }, { 64, 128, 64 } };
    g_nan_refs = g_inf_refs = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        dense_case d = make_case(shapes[s][0], shapes[s][1], shapes[s][2], 991ull + s);
        const int M = d.M, N = d.N, K = d.K;
        /* A: a NaN in row 0, +inf in the last row (meets zero weights: NaN there), -inf elsewhere */
        d.A[(size_t)rnd_int(0, K - 1)] = NAN;
        if (M > 1) d.A[(size_t)(M - 1) * K + rnd_int(0, K - 1)] = INFINITY;
        if (M > 2) d.A[(size_t)(M / 2) * K + (size_t)(K - 1)] = -INFINITY;
        /* kernel: a zero row under the +inf, an inf column, a NaN, and an inf meeting a zero of A */
        for (int n = 0; n < N; n += 3) d.W[(size_t)(K / 2) * N + n] = 0.0f;
        d.W[(size_t)rnd_int(0, K - 1) * N + (N - 1)] = INFINITY;
        d.W[(size_t)rnd_int(0, K - 1) * N + N / 2] = NAN;
        if (M > 1) d.A[(size_t)1 * K + 0] = 0.0f, d.W[(size_t)0 * N + 0] = -INFINITY;
        gj_pack_bf16_kernel(K, N, d.W, d.P);
        float *C = run_dense(&d, rnd_int(1, 2));
        char tag[64];
        snprintf(tag, sizeof tag, "%s/nonfinite", path);
        check_reference(&d, C, tag);
        free(C);
        free_case(&d);
    }
    CHECK(g_nan_refs > 0 && g_inf_refs > 0, "%s: the non-finite cases produced %ld NaN and %ld infinite references", path,
          g_nan_refs, g_inf_refs);
    printf("  non-finite: %ld NaN and %ld infinite outputs matched\n", g_nan_refs, g_inf_refs);
}

/* Two application threads calling at once (one gets the pool, the other runs inline): same bits. */
typedef struct {
    const dense_case *d;
    const float *expected;
    int mismatches;
} concurrent_job;

static void *concurrent_main(void *arg)
{
    concurrent_job *job = arg;
    float *C = alloc_floats((size_t)job->d->M * job->d->N);
    for (int r = 0; r < 6; r++) {
        gj_dense_bf16(job->d->M, job->d->N, job->d->K, job->d->A, job->d->P, C);
        job->mismatches += memcmp(C, job->expected, sizeof(float) * (size_t)job->d->M * job->d->N) != 0;
    }
    free(C);
    return NULL;
}

static void test_concurrency(const char *path)
{
    dense_case d[2] = { make_case(1, 128, 30752, 5ull), make_case(64, 128, 4100, 6ull) };
    float *expected[2];
    concurrent_job jobs[2];
    pthread_t threads[2];
    for (int i = 0; i < 2; i++) {
        expected[i] = run_dense(&d[i], 1);
        jobs[i] = (concurrent_job){ &d[i], expected[i], 0 };
    }
    gj_runtime_set_threads(2);
    for (int i = 0; i < 2; i++) pthread_create(&threads[i], NULL, concurrent_main, &jobs[i]);
    for (int i = 0; i < 2; i++) pthread_join(threads[i], NULL);
    for (int i = 0; i < 2; i++) {
        CHECK(jobs[i].mismatches == 0, "%s: concurrent calls %dx%dx%d: %d results differ", path, d[i].M, d[i].N, d[i].K,
              jobs[i].mismatches);
        free(expected[i]);
        free_case(&d[i]);
    }
}

/* ---- Benchmark ----------------------------------------------------------------------------------*/
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
static float *aligned_floats(size_t n) { return aligned_alloc(64, (sizeof(float) * (n ? n : 1) + 63) / 64 * 64); }

/* One benchmark case; with copies > 1, consecutive calls cycle through that many copies of the
 * weights (more bytes than the L3 holds: the weights then come from DRAM, as in a real model). */
typedef struct {
    const gj_runtime *rt;
    int M, N, K, fp32, copies;
    const float *A;
    float *const *B;
    void *const *P;
    float *C;
    int next;
} bench_case;

static void bench_once(bench_case *b)
{
    const int i = b->next;
    b->next = b->next + 1 < b->copies ? b->next + 1 : 0;
    if (b->fp32) b->rt->sgemm(b->M, b->N, b->K, b->A, b->K, b->B[i], b->N, b->C, b->N, NULL, GJ_ACT_LINEAR, 0);
    else gj_dense_bf16(b->M, b->N, b->K, b->A, b->P[i], b->C);
}

/* Median seconds per call over batches of >= 1 ms, for ~0.15 s. */
static double bench_median(bench_case *b)
{
    bench_once(b);
    int inner = 1;
    for (;;) {
        const double t0 = now_s();
        for (int i = 0; i < inner; i++) bench_once(b);
        if (now_s() - t0 >= 1e-3 || inner >= (1 << 20)) break;
        inner *= 2;
    }
    double samples[256];
    int ns = 0;
    const double start = now_s();
    while (ns < 256 && (ns < 5 || now_s() - start < 0.15)) {
        const double t0 = now_s();
        for (int i = 0; i < inner; i++) bench_once(b);
        samples[ns++] = (now_s() - t0) / inner;
    }
    qsort(samples, (size_t)ns, sizeof(double), cmp_double);
    return samples[ns / 2];
}

static void format_time(char *out, size_t size, double t)
{
    if (t < 1e-5) snprintf(out, size, "%.0f ns", t * 1e9);
    else if (t < 1e-2) snprintf(out, size, "%.1f us", t * 1e6);
    else snprintf(out, size, "%.2f ms", t * 1e3);
}

static int bench(void)
{
    const gj_runtime *rt = gj_runtime_get();
    /* M, N, K, and whether the weights are cycled through copies larger than the 32 MB L3 */
    static const int shapes[][4] = { { 1, 128, 30752, 0 }, { 1, 128, 30752, 1 }, { 64, 128, 30752, 0 },
                                     { 1, 128, 64, 0 }, { 64, 128, 64, 0 }, { 256, 128, 64, 0 } };
    enum { MAX_COPIES = 10 };
    const int cpus = gj_runtime_threads();
    printf("read bandwidth (calibration): 8 MiB %.1f GB/s (1 thr), %.1f GB/s (2 thr); 64 MiB %.1f GB/s (1 thr), "
           "%.1f GB/s (2 thr)\n",
           gj_measure_read_bandwidth(8u << 20, 1), gj_measure_read_bandwidth(8u << 20, 2),
           gj_measure_read_bandwidth(64u << 20, 1), gj_measure_read_bandwidth(64u << 20, 2));
    printf("median time per call; fp32 = sgemm with unpacked B; GB/s = weight bytes streamed per second\n");
    printf("%-7s %-22s %3s %11s %11s %7s %11s %11s\n", "path", "M x N x K", "thr", "bf16", "fp32", "fp32/bf16",
           "bf16 GB/s", "fp32 GB/s");
    for (int p = 0; p < 2; p++) {
        if (!gj_runtime_force_path(PATHS[p])) {
            printf("%-7s not supported on this CPU\n", PATHS[p]);
            continue;
        }
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            const int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2], cold = shapes[s][3];
            const double bytes16 = (double)gj_bf16_kernel_floats(K, N) * 4, bytes32 = (double)K * N * 4;
            int copies16 = cold ? (int)(64e6 / bytes16) + 1 : 1, copies32 = cold ? (int)(64e6 / bytes32) + 1 : 1;
            copies16 = copies16 > MAX_COPIES ? MAX_COPIES : copies16;
            copies32 = copies32 > MAX_COPIES ? MAX_COPIES : copies32;
            float *A = aligned_floats((size_t)M * K), *C = aligned_floats((size_t)M * N);
            float *B[MAX_COPIES];
            void *P[MAX_COPIES];
            for (size_t i = 0; i < (size_t)M * K; i++) A[i] = rnd_float(-1, 1);
            for (int c = 0; c < copies32; c++) {
                B[c] = aligned_floats((size_t)K * N);
                for (size_t i = 0; i < (size_t)K * N; i++) B[c][i] = rnd_float(-1, 1);
            }
            for (int c = 0; c < copies16; c++) {
                P[c] = aligned_floats(gj_bf16_kernel_floats(K, N));
                gj_pack_bf16_kernel(K, N, B[c % copies32], P[c]);
            }
            for (int threads = cpus; threads >= 1; threads = threads > 1 ? 1 : 0) {
                gj_runtime_set_threads(threads);
                bench_case b = { rt, M, N, K, 0, copies16, A, B, P, C, 0 };
                const double t16 = bench_median(&b);
                b.fp32 = 1;
                b.copies = copies32;
                b.next = 0;
                const double t32 = bench_median(&b);
                char dims[48], s16[24], s32[24], g16[24] = "", g32[24] = "";
                snprintf(dims, sizeof dims, "%dx%dx%d%s", M, N, K, cold ? " (DRAM)" : "");
                format_time(s16, sizeof s16, t16);
                format_time(s32, sizeof s32, t32);
                if (M == 1) {
                    snprintf(g16, sizeof g16, "%.1f", bytes16 / t16 * 1e-9);
                    snprintf(g32, sizeof g32, "%.1f", bytes32 / t32 * 1e-9);
                }
                printf("%-7s %-22s %3d %11s %11s %9.2f %11s %11s\n", PATHS[p], dims, threads, s16, s32, t32 / t16, g16, g32);
                fflush(stdout);
            }
            for (int c = 0; c < copies32; c++) free(B[c]);
            for (int c = 0; c < copies16; c++) free(P[c]);
            free(A);
            free(C);
        }
    }
    gj_runtime_set_threads(cpus);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "bench") == 0) return bench();
    const char *detected = gj_runtime_cpu_path();
    const int cpus = gj_runtime_threads();
    printf("detected path: %s, threads: %d\n", detected, cpus);
    test_pack_rounding();
    for (int p = 0; p < 3; p++) {
        if (!gj_runtime_force_path(PATHS[p])) {
            printf("[%s] not supported on this CPU, skipped\n", PATHS[p]);
            continue;
        }
        printf("[%s]\n", PATHS[p]);
        if (g_first_name == NULL) g_first_name = PATHS[p];
        test_dense(PATHS[p]);
        test_batching(PATHS[p]);
        test_nonfinite(PATHS[p]);
        test_concurrency(PATHS[p]);
    }
    for (int s = 0; s < NFIXED; s++) free(g_first_path[s]);
    gj_runtime_force_path(detected);
    gj_runtime_set_threads(cpus);
    printf("%d checks, %d failures\n", g_checks, g_failures);
    return g_failures ? 1 : 0;
}
