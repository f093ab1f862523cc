/*
 * pack.c - packing B (weights) into 32-column panels.
 *
 * Layout (see gj_internal.h): panel p = columns [32p, 32p+32), stored as K rows x 32 floats,
 * zero-padded past N; panel p starts at p*K*32. A micro-kernel therefore streams one contiguous
 * buffer per panel, and the zero padding lets it compute full-width tiles on the last panel
 * (the padded columns are never stored).
 *
 * The runtime's own block packing (for sgemm with an unpacked B) uses the same layout for a
 * KC x NC block, i.e. with panel stride kc*32.
 */
#include <string.h>

#include "gj_internal.h"

size_t gj_packed_b_floats(int K, int N)
{
    if (K <= 0 || N <= 0) return 0;
    size_t panels = ((size_t)N + GJ_PANEL - 1) / GJ_PANEL;
    return panels * GJ_PANEL * (size_t)K;
}

/* Packs kc rows x nc columns of B (B already points at the block's first element) into panels
 * with panel stride `panel_stride` floats. */
static void pack_panels(int kc, int nc, const float *B, long ldb, float *dst, size_t panel_stride)
{
    for (int j0 = 0; j0 < nc; j0 += GJ_PANEL) {
        float *p = dst + (size_t)(j0 / GJ_PANEL) * panel_stride;
        int w = nc - j0 < GJ_PANEL ? nc - j0 : GJ_PANEL;
        const float *src = B + j0;
        if (w == GJ_PANEL) {
            for (int k = 0; k < kc; k++) {
                /* fixed-size copy: compiles to a few vector moves */
                memcpy(p + (size_t)k * GJ_PANEL, src + (size_t)k * ldb, GJ_PANEL * sizeof(float));
            }
        } else {
            for (int k = 0; k < kc; k++) {
                float *row = p + (size_t)k * GJ_PANEL;
                const float *s = src + (size_t)k * ldb;
                for (int j = 0; j < w; j++) row[j] = s[j];
                for (int j = w; j < GJ_PANEL; j++) row[j] = 0.0f;
            }
        }
    }
}

void gj_pack_b(int K, int N, const float *B, int ldb, float *packed)
{
    if (K <= 0 || N <= 0) return;
    pack_panels(K, N, B, ldb, packed, (size_t)K * GJ_PANEL);
}

void gj_pack_b_block(int kc, int nc, const float *B, int ldb, float *dst)
{
    pack_panels(kc, nc, B, ldb, dst, (size_t)kc * GJ_PANEL);
}
