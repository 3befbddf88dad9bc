/* Q4_K and Q6_K eight-row groups: packing and the scalar reference products. */
#include "kernels/ref/gemm_x8_kquant_ref.h"

#include <math.h>
#include <string.h>

#include "kernels/ref/act_blocks.h"
#include "kernels/ref/packed_blocks.h"
#include "util/half.h"

void ifn_pack_x8_q4_k(const void *rows, size_t row_bytes, int64_t n_cols, void *out) {
    const unsigned char *src = rows;
    unsigned char *dst = out;
    for (int64_t b = 0; b < n_cols / IFN_QK_K; b++) {
        ifn_block_q4_kx8 g;
        for (int r = 0; r < IFN_PACK_ROWS; r++) {
            ifn_block_q4_k blk;
            memcpy(&blk, src + (size_t)r * row_bytes + (size_t)b * sizeof blk, sizeof blk);
            g.d[r] = blk.d;
            g.dmin[r] = blk.dmin;
            for (int w = 0; w < 3; w++) memcpy(&g.scale_words[w][r], blk.scales + 4 * w, 4);
            for (int i = 0; i < 4; i++)
                for (int k = 0; k < 8; k++) memcpy(&g.qs[i][k][4 * r], blk.qs + 32 * i + 4 * k, 4);
        }
        memcpy(dst + (size_t)b * sizeof g, &g, sizeof g);
    }
}

/* Level (0..15) of element e (0..255) of row r in a packed super-block. */
static int level(const ifn_block_q4_kx8 *g, int r, int e) {
    const int s = e / 32, l = e % 32;
    const uint8_t byte = g->qs[s / 2][l / 4][4 * r + l % 4];
    return s % 2 == 0 ? byte & 15 : byte >> 4;
}

void ifn_gemm_x8_q4_k_ref(const void *group, const void *act, size_t act_stride,
                          int64_t n_tokens, int64_t n_cols, float *y, int64_t y_stride) {
    const unsigned char *gbytes = group;
    for (int64_t t = 0; t < n_tokens; t++) {
        const unsigned char *a = (const unsigned char *)act + (size_t)t * act_stride;
        float acc[IFN_PACK_ROWS] = {0};
        for (int64_t b = 0; b < n_cols / IFN_QK_K; b++) {
            ifn_block_q4_kx8 g;
            ifn_block_q8_k ab;
            memcpy(&g, gbytes + (size_t)b * sizeof g, sizeof g);
            memcpy(&ab, a + (size_t)b * sizeof ab, sizeof ab);
            for (int r = 0; r < IFN_PACK_ROWS; r++) {
                uint8_t packed_scales[IFN_K_SCALE_BYTES];
                for (int w = 0; w < 3; w++) memcpy(packed_scales + 4 * w, &g.scale_words[w][r], 4);
                int32_t sum_scaled = 0, sum_mins = 0;
                for (int s = 0; s < 8; s++) {
                    int32_t dot = 0;
                    for (int l = 0; l < 32; l++) dot += level(&g, r, 32 * s + l) * ab.qs[32 * s + l];
                    uint8_t scale, min;
                    ifn_kquant_get_scale_min(s, packed_scales, &scale, &min);
                    sum_scaled += scale * dot;
                    const int32_t act_sum = ab.bsums[2 * s] + ab.bsums[2 * s + 1];
                    sum_mins += min * act_sum;
                }
                acc[r] = fmaf((float)sum_scaled, ifn_f16_to_f32(g.d[r]) * ab.d, acc[r]);
                acc[r] = fmaf(-(float)sum_mins, ifn_f16_to_f32(g.dmin[r]) * ab.d, acc[r]);
            }
        }
        for (int r = 0; r < IFN_PACK_ROWS; r++) y[t * y_stride + r] = acc[r];
    }
}

/* Level (0..63) of element i of an original Q6_K block: 128-element half h, 32-element quarter
 * j, element l: low nibble of ql[64h + 32(j % 2) + l] (the high nibble for j >= 2), top two
 * bits from bit pair j of qh[32h + l]. */
static int q6_k_level(const ifn_block_q6_k *blk, int i) {
    const int half = i / 128, j = (i % 128) / 32, l = i % 32;
    const uint8_t low_byte = blk->ql[64 * half + 32 * (j % 2) + l];
    const int low = j < 2 ? low_byte & 15 : low_byte >> 4;
    return low | ((blk->qh[32 * half + l] >> (2 * j)) & 3) << 4;
}

void ifn_pack_x8_q6_k(const void *rows, size_t row_bytes, int64_t n_cols, void *out) {
    const unsigned char *src = rows;
    unsigned char *dst = out;
    for (int64_t b = 0; b < n_cols / IFN_QK_K; b++) {
        ifn_block_q6_kx8 g;
        for (int r = 0; r < IFN_PACK_ROWS; r++) {
            ifn_block_q6_k blk;
            memcpy(&blk, src + (size_t)r * row_bytes + (size_t)b * sizeof blk, sizeof blk);
            g.d[r] = blk.d;
            for (int s = 0; s < 16; s++)
                g.scales[s / 2][2 * r + s % 2] = blk.scales[s];
            for (int s = 0; s < 16; s++)
                for (int j = 0; j < 4; j++) {
                    const int e = 16 * s + j, chunk3 = q6_k_level(&blk, e + 12);
                    for (int c = 0; c < 3; c++)
                        g.qs[s][c][4 * r + j] =
                            (uint8_t)(q6_k_level(&blk, e + 4 * c) | ((chunk3 >> (2 * c)) & 3) << 6);
                }
        }
        memcpy(dst + (size_t)b * sizeof g, &g, sizeof g);
    }
}

/* Level (0..63) of element e (0..255) of row r in a packed Q6_K super-block. */
static int level_q6(const ifn_block_q6_kx8 *g, int r, int e) {
    const int s = e / 16, c = (e % 16) / 4, j = e % 4;
    if (c < 3) return g->qs[s][c][4 * r + j] & 63;
    return g->qs[s][0][4 * r + j] >> 6 | (g->qs[s][1][4 * r + j] >> 6) << 2 |
           (g->qs[s][2][4 * r + j] >> 6) << 4;
}

void ifn_gemm_x8_q6_k_ref(const void *group, const void *act, size_t act_stride, int64_t n_tokens,
                          int64_t n_cols, float *y, int64_t y_stride) {
    const unsigned char *gbytes = group;
    for (int64_t t = 0; t < n_tokens; t++) {
        const unsigned char *a = (const unsigned char *)act + (size_t)t * act_stride;
        float acc[IFN_PACK_ROWS] = {0};
        for (int64_t b = 0; b < n_cols / IFN_QK_K; b++) {
            ifn_block_q6_kx8 g;
            ifn_block_q8_k ab;
            memcpy(&g, gbytes + (size_t)b * sizeof g, sizeof g);
            memcpy(&ab, a + (size_t)b * sizeof ab, sizeof ab);
            for (int r = 0; r < IFN_PACK_ROWS; r++) {
                int32_t total = 0;
                for (int s = 0; s < 16; s++) {
                    int32_t dot = 0;
                    for (int l = 0; l < 16; l++)
                        dot += (level_q6(&g, r, 16 * s + l) - 32) * ab.qs[16 * s + l];
                    total += g.scales[s / 2][2 * r + s % 2] * dot;
                }
                acc[r] = fmaf((float)total, ifn_f16_to_f32(g.d[r]) * ab.d, acc[r]);
            }
        }
        for (int r = 0; r < IFN_PACK_ROWS; r++)
            y[t * y_stride + r] = acc[r];
    }
}
