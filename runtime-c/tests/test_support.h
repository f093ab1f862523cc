/*
 * test_support.h - what every C test of the runtime shares: the CHECK counter and a seeded
 * xorshift generator. Define TEST_RNG_SEED (and optionally TEST_MAX_REPORTS) before including.
 */
#ifndef GJ_TEST_SUPPORT_H
#define GJ_TEST_SUPPORT_H

#include <stdio.h>

#ifndef TEST_MAX_REPORTS
#define TEST_MAX_REPORTS 30
#endif

static int g_failures;
static int g_checks;

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        g_checks++;                                                             \
        if (!(cond)) {                                                          \
            if (g_failures < TEST_MAX_REPORTS) {                                \
                printf("FAIL %s:%d: ", __FILE__, __LINE__);                     \
                printf(__VA_ARGS__);                                            \
                printf("\n");                                                   \
            }                                                                   \
            g_failures++;                                                       \
        }                                                                       \
    } while (0)

static unsigned long long g_rng = TEST_RNG_SEED;
static unsigned rnd_u32(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (unsigned)(g_rng >> 11);
}
static int rnd_int(int lo, int hi) { return lo + (int)(rnd_u32() % (unsigned)(hi - lo + 1)); }
static float rnd_float(float lo, float hi) { return lo + (hi - lo) * (float)(rnd_u32() & 0xFFFFFF) / 16777216.0f; }

#endif
