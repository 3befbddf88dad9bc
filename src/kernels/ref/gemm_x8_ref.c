/* Packing into eight-row groups and the scalar reference of the packed kernels. The reference
 * defines the arithmetic every variant repeats exactly: per row and token, each block's integer
 * dot product (exact), converted to float, times the float product d_w * d_a, fused-added into
 * one float accumulator, blocks in order from 0. */
#include "kernels/ref/gemm_x8_ref.h"

#include <math.h>
#include <string.h>

#include "kernels/ref/packed_blocks.h"
#include "kernels/ref/quant_act_ref.h"
#include "util/half.h"

void ifn_pack_x8_q8_0(const void *rows, size_t row_bytes, int64_t n_cols, void *out) {
    const unsigned char *src = rows;
    ifn_block_q8_0x8 *dst = out;
    for (int64_t b = 0; b < n_cols / IFN_QK_SMALL; b++) {
        ifn_block_q8_0x8 g;
        for (int r = 0; r < IFN_PACK_ROWS; r++) {
            ifn_block_q8_0 blk;
            memcpy(&blk, src + (size_t)r * row_bytes + (size_t)b * sizeof blk, sizeof blk);
            g.d[r] = blk.d;
            for (int k = 0; k < 8; k++) memcpy(g.qs + 32 * k + 4 * r, blk.qs + 4 * k, 4);
        }
        memcpy(dst + b, &g, sizeof g);
    }
}

void ifn_pack_x8_q4_0(const void *rows, size_t row_bytes, int64_t n_cols, void *out) {
    const unsigned char *src = rows;
    ifn_block_q4_0x8 *dst = out;
    for (int64_t b = 0; b < n_cols / IFN_QK_SMALL; b++) {
        ifn_block_q4_0x8 g;
        for (int r = 0; r < IFN_PACK_ROWS; r++) {
            ifn_block_q4_0 blk;
            memcpy(&blk, src + (size_t)r * row_bytes + (size_t)b * sizeof blk, sizeof blk);
            g.d[r] = blk.d;
            for (int j = 0; j < 4; j++) memcpy(g.qs + 32 * j + 4 * r, blk.qs + 4 * j, 4);
        }
        memcpy(dst + b, &g, sizeof g);
    }
}

void ifn_pack_x8_16bit(const void *rows, size_t row_bytes, int64_t n_cols, void *out) {
    const unsigned char *src = rows;
    unsigned char *dst = out;
    for (int64_t e = 0; e < n_cols; e++)
        for (int r = 0; r < IFN_PACK_ROWS; r++)
            memcpy(dst + 2 * ((size_t)e * IFN_PACK_ROWS + (size_t)r),
                   src + (size_t)r * row_bytes + 2 * (size_t)e, 2);
}

void ifn_quant_act_q8s_ref(const float *x, void *out, int64_t n) {
    unsigned char *dst = out;
    for (int64_t b = 0; b < n / IFN_QK_SMALL; b++) {
        ifn_block_q8_0 q;
        ifn_quant_act_q8_0_ref(x + b * IFN_QK_SMALL, &q, IFN_QK_SMALL);
        ifn_block_q8s s;
        s.d = ifn_f16_to_f32(q.d);
        s.sum = 0;
        for (int i = 0; i < IFN_QK_SMALL; i++) s.sum += q.qs[i];
        memcpy(s.qs, q.qs, sizeof s.qs);
        memcpy(dst + (size_t)b * sizeof s, &s, sizeof s);
    }
}

/* Element e of row r in a packed block. */
static int q8_0x8_level(const ifn_block_q8_0x8 *g, int r, int e) {
    return g->qs[32 * (e / 4) + 4 * r + e % 4];
}

static int q4_0x8_level(const ifn_block_q4_0x8 *g, int r, int e) {
    const int j = (e % 16) / 4, i = e % 4;
    const uint8_t byte = g->qs[32 * j + 4 * r + i];
    return (e < 16 ? byte & 15 : byte >> 4) - 8;
}

typedef enum packed_kind { PACKED_Q8_0, PACKED_Q4_0 } packed_kind;

static void gemm_x8(packed_kind kind, const void *group, const void *act, size_t act_stride,
                    int64_t n_tokens, int64_t n_cols, float *y, int64_t y_stride) {
    const size_t gbytes = kind == PACKED_Q8_0 ? sizeof(ifn_block_q8_0x8) : sizeof(ifn_block_q4_0x8);
    for (int64_t t = 0; t < n_tokens; t++) {
        const unsigned char *a = (const unsigned char *)act + (size_t)t * act_stride;
        float acc[IFN_PACK_ROWS] = {0};
        for (int64_t b = 0; b < n_cols / IFN_QK_SMALL; b++) {
            ifn_block_q8s ab;
            memcpy(&ab, a + (size_t)b * sizeof ab, sizeof ab);
            const unsigned char *gb = (const unsigned char *)group + (size_t)b * gbytes;
            ifn_block_q8_0x8 g8;
            ifn_block_q4_0x8 g4;
            const uint16_t *d;
            if (kind == PACKED_Q8_0) {
                memcpy(&g8, gb, sizeof g8);
                d = g8.d;
            } else {
                memcpy(&g4, gb, sizeof g4);
                d = g4.d;
            }
            for (int r = 0; r < IFN_PACK_ROWS; r++) {
                int32_t isum = 0;
                for (int e = 0; e < IFN_QK_SMALL; e++) {
                    int w = kind == PACKED_Q8_0 ? q8_0x8_level(&g8, r, e) : q4_0x8_level(&g4, r, e);
                    isum += w * ab.qs[e];
                }
                const float scale = ifn_f16_to_f32(d[r]) * ab.d;
                acc[r] = fmaf((float)isum, scale, acc[r]);
            }
        }
        for (int r = 0; r < IFN_PACK_ROWS; r++) y[t * y_stride + r] = acc[r];
    }
}

void ifn_gemm_x8_q8_0_ref(const void *group, const void *act, size_t act_stride, int64_t n_tokens,
                          int64_t n_cols, float *y, int64_t y_stride) {
    gemm_x8(PACKED_Q8_0, group, act, act_stride, n_tokens, n_cols, y, y_stride);
}

void ifn_gemm_x8_q4_0_ref(const void *group, const void *act, size_t act_stride, int64_t n_tokens,
                          int64_t n_cols, float *y, int64_t y_stride) {
    gemm_x8(PACKED_Q4_0, group, act, act_stride, n_tokens, n_cols, y, y_stride);
}

/* 16-bit float weights: F16, or BF16 (the high half of a float32). */
static float half_value(int is_bf16, const unsigned char *p) {
    uint16_t h;
    memcpy(&h, p, sizeof h);
    return is_bf16 ? ifn_bf16_to_f32(h) : ifn_f16_to_f32(h);
}

static void gemm_x8_16bit(int is_bf16, const void *group, const void *act, size_t act_stride,
                          int64_t n_tokens, int64_t n_cols, float *y, int64_t y_stride) {
    const unsigned char *g = group;
    for (int64_t t = 0; t < n_tokens; t++) {
        const float *a = (const float *)(const void *)((const unsigned char *)act + (size_t)t * act_stride);
        for (int r = 0; r < IFN_PACK_ROWS; r++) {
            float acc = 0.0f;
            for (int64_t e = 0; e < n_cols; e++)
                acc = fmaf(half_value(is_bf16, g + 2 * ((size_t)e * IFN_PACK_ROWS + (size_t)r)), a[e],
                           acc);
            y[t * y_stride + r] = acc;
        }
    }
}

void ifn_gemm_x8_f16_ref(const void *group, const void *act, size_t act_stride, int64_t n_tokens,
                         int64_t n_cols, float *y, int64_t y_stride) {
    gemm_x8_16bit(0, group, act, act_stride, n_tokens, n_cols, y, y_stride);
}

void ifn_gemm_x8_bf16_ref(const void *group, const void *act, size_t act_stride,
                          int64_t n_tokens, int64_t n_cols, float *y, int64_t y_stride) {
    gemm_x8_16bit(1, group, act, act_stride, n_tokens, n_cols, y, y_stride);
}
