/* Scalar reference IQ4_NL / IQ4_XS encoders: ggml's quantize_row_iq4_nl_impl without an
 * importance matrix (weights x^2) and with its 7-step scale search on both sides, which is what
 * llama-quantize runs for these types (quantize_iq4_nl / quantize_iq4_xs; ggml's
 * quantize_row_iq4_nl_ref skips the search). Same operation order, no FMA contraction. */
#include "kernels/ref/quant_iq4_ref.h"

#include <math.h>
#include <string.h>

#include "kernels/ref/quant_blocks.h"
#include "util/half.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#define SEARCH_STEPS 7
#define SUB_BLOCK 32

/* Index of the level nearest to x (the upper one on a tie), by bisection on the sorted table. */
static int best_index(float x) {
    if (x <= (float)ifn_iq4nl_value(0)) return 0;
    if (x >= (float)ifn_iq4nl_value(15)) return 15;
    int lo = 0, hi = 15;
    while (hi - lo > 1) {
        const int mid = (lo + hi) / 2;
        if (x < (float)ifn_iq4nl_value(mid)) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    return x - (float)ifn_iq4nl_value(lo) < (float)ifn_iq4nl_value(hi) - x ? lo : hi;
}

/* Weighted least-squares fit of x to the levels nearest id * x: sum w q x and sum w q^2. */
static void fit_levels(const float *x, float id, uint8_t *L, float *out_sumqx, float *out_sumq2) {
    float sumqx = 0, sumq2 = 0;
    for (int j = 0; j < SUB_BLOCK; j++) {
        const int l = best_index(id * x[j]);
        if (L) L[j] = (uint8_t)l;
        const float q = (float)ifn_iq4nl_value(l);
        const float w = x[j] * x[j];
        sumqx += w * q * x[j];
        sumq2 += w * q * q;
    }
    *out_sumqx = sumqx;
    *out_sumq2 = sumq2;
}

/* Best scale of one 32-element sub-block (0 for an all-zero one); L gets provisional levels. */
static float search_scale(const float *x, uint8_t *L) {
    float amax = 0, max = 0;
    for (int j = 0; j < SUB_BLOCK; j++) {
        if (fabsf(x[j]) > amax) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    }
    if (amax < IFN_QUANT_GROUP_MAX_EPS) return 0.0f;
    const float first = (float)ifn_iq4nl_value(0);
    float sumqx, sumq2;
    fit_levels(x, 1 / (-max / first), L, &sumqx, &sumq2);
    float d = sumqx / sumq2;
    float best = d * sumqx;
    for (int itry = -SEARCH_STEPS; itry <= SEARCH_STEPS; itry++) {
        const float id = (float)(itry + ifn_iq4nl_value(0)) / max;
        fit_levels(x, id, NULL, &sumqx, &sumq2);
        if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
            d = sumqx / sumq2;
            best = d * sumqx;
        }
    }
    return d;
}

static void pack_nibbles(const uint8_t *L, int n, uint8_t *qs) {
    for (int i = 0; i < n / 32; i++) {
        for (int j = 0; j < 16; j++) {
            qs[16 * i + j] = (uint8_t)(L[32 * i + j] | (L[32 * i + 16 + j] << 4));
        }
    }
}

static void encode_iq4_nl_block(const float *x, ifn_block_iq4_nl *b) {
    uint8_t L[SUB_BLOCK];
    const float scale = search_scale(x, L);
    b->d = ifn_f32_to_f16(scale);
    const float id = scale != 0.0f ? 1 / scale : 0;
    for (int j = 0; j < SUB_BLOCK; j++)
        L[j] = (uint8_t)best_index(id * x[j]);
    pack_nibbles(L, SUB_BLOCK, b->qs);
}

static void encode_iq4_xs_block(const float *x, ifn_block_iq4_xs *b) {
    uint8_t L[IFN_QK_K];
    float scales[IFN_QK_K / SUB_BLOCK];
    float max_scale = 0, amax_scale = 0;
    for (int ib = 0; ib < IFN_QK_K / SUB_BLOCK; ib++) {
        scales[ib] = search_scale(x + SUB_BLOCK * ib, L + SUB_BLOCK * ib);
        if (fabsf(scales[ib]) > amax_scale) {
            amax_scale = fabsf(scales[ib]);
            max_scale = scales[ib];
        }
    }
    /* 6-bit sub-block scales (offset 32) against one F16 super-block scale */
    const float d = -max_scale / 32;
    b->d = ifn_f32_to_f16(d);
    b->scales_h = 0;
    const float id = d != 0.0f ? 1 / d : 0.f;
    for (int ib = 0; ib < IFN_QK_K / SUB_BLOCK; ib++) {
        int l = ifn_quant_nearest_int(id * scales[ib]);
        l = l < -32 ? -32 : l > 31 ? 31 : l;
        const float dl = d * (float)l;
        const float idl = dl != 0.0f ? 1 / dl : 0.f;
        for (int j = 0; j < SUB_BLOCK; j++) {
            L[SUB_BLOCK * ib + j] = (uint8_t)best_index(idl * x[SUB_BLOCK * ib + j]);
        }
        l += 32;
        if (ib % 2 == 0) {
            b->scales_l[ib / 2] = (uint8_t)(l & 0xF);
        } else {
            b->scales_l[ib / 2] |= (uint8_t)((l & 0xF) << 4);
        }
        b->scales_h |= (uint16_t)((l >> 4) << (2 * ib));
    }
    pack_nibbles(L, IFN_QK_K, b->qs);
}

void ifn_quant_iq4_nl(const float *src, void *dst, int64_t n_blocks) {
    for (int64_t i = 0; i < n_blocks; i++) {
        ifn_block_iq4_nl b;
        memset(&b, 0, sizeof b);
        encode_iq4_nl_block(src + i * SUB_BLOCK, &b);
        memcpy((unsigned char *)dst + i * (int64_t)sizeof b, &b, sizeof b);
    }
}

void ifn_quant_iq4_xs(const float *src, void *dst, int64_t n_blocks) {
    for (int64_t i = 0; i < n_blocks; i++) {
        ifn_block_iq4_xs b;
        memset(&b, 0, sizeof b);
        encode_iq4_xs_block(src + i * IFN_QK_K, &b);
        memcpy((unsigned char *)dst + i * (int64_t)sizeof b, &b, sizeof b);
    }
}
