/* Scalar reference decoders of the 256-element super-block types (Q2_K..Q6_K, IQ4_XS).
 * Same formulas and operation order as ggml's dequantize_row_*, nothing contracted into FMAs,
 * so the floats are bit-identical to ggml's. Each super-block is memcpy'd to a local struct
 * first, so `src` needs no alignment. Assumes a little-endian host, as GGUF does. */
#include "kernels/ref/dequant_kquant_ref.h"

#include <string.h>

#include "kernels/ref/quant_blocks.h"
#include "util/half.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

/* Q2_K and Q3_K share a layout of their 2-bit quants: each 128-element half of the
 * super-block uses 32 bytes of qs; 16-element sub-block `sub` reads bytes 16 * (sub % 2) ..
 * of its half at bit pair (sub % 8) / 2. */
static const uint8_t *two_bit_bytes(const uint8_t *qs, int sub) {
    return qs + 32 * (sub / 8) + 16 * (sub % 2);
}

static int two_bit_shift(int sub) {
    return 2 * ((sub % 8) / 2);
}

static void decode_q2_k_block(const ifn_block_q2_k *b, float *y) {
    const float d = ifn_f16_to_f32(b->d);
    const float min = ifn_f16_to_f32(b->dmin);
    for (int sub = 0; sub < IFN_QK_K / 16; sub++) {
        const uint8_t *q = two_bit_bytes(b->qs, sub);
        const int shift = two_bit_shift(sub);
        const float dl = d * (float)(b->scales[sub] & 0xF);
        const float ml = min * (float)(b->scales[sub] >> 4);
        for (int l = 0; l < 16; l++) {
            y[16 * sub + l] = dl * (float)((q[l] >> shift) & 3) - ml;
        }
    }
}

void ifn_dequant_kquant_q2_k(const void *src, float *dst, int64_t n_blocks) {
    for (int64_t i = 0; i < n_blocks; i++) {
        ifn_block_q2_k b;
        memcpy(&b, (const unsigned char *)src + i * (int64_t)sizeof b, sizeof b);
        decode_q2_k_block(&b, dst + i * IFN_QK_K);
    }
}

/* 6-bit scale of Q3_K sub-block `sub` (0..15), as stored (0..63, offset 32): low nibble in
 * bytes 0..7 (sub-blocks 8..15 in the high nibble), top two bits in bytes 8..11. */
static int q3_k_scale(const uint8_t *packed, int sub) {
    const int low = sub < 8 ? (packed[sub] & 0xF) : (packed[sub - 8] >> 4);
    const int high = (packed[8 + sub % 4] >> (2 * (sub / 4))) & 3;
    return low | (high << 4);
}

static void decode_q3_k_block(const ifn_block_q3_k *b, float *y) {
    const float d_all = ifn_f16_to_f32(b->d);
    for (int sub = 0; sub < IFN_QK_K / 16; sub++) {
        const uint8_t *q = two_bit_bytes(b->qs, sub);
        const uint8_t *hm = b->hmask + 16 * (sub % 2);
        const int shift = two_bit_shift(sub);
        const uint8_t mask = (uint8_t)(1u << (sub / 2));
        const float dl = d_all * (float)(q3_k_scale(b->scales, sub) - 32);
        for (int l = 0; l < 16; l++) {
            /* a clear high bit means the value is 4 lower */
            const int value = ((q[l] >> shift) & 3) - ((hm[l] & mask) ? 0 : 4);
            y[16 * sub + l] = dl * (float)value;
        }
    }
}

void ifn_dequant_kquant_q3_k(const void *src, float *dst, int64_t n_blocks) {
    for (int64_t i = 0; i < n_blocks; i++) {
        ifn_block_q3_k b;
        memcpy(&b, (const unsigned char *)src + i * (int64_t)sizeof b, sizeof b);
        decode_q3_k_block(&b, dst + i * IFN_QK_K);
    }
}

/* Q4_K and Q5_K: each 64-element chunk c uses 32 bytes of 4-bit quants, sub-block 2c in the
 * low nibbles and 2c + 1 in the high ones. Q5_K adds bit 2c / 2c + 1 of qh[l] as the 5th bit
 * (qh == NULL for Q4_K). */
static void decode_q4_5_k_block(uint16_t d_bits, uint16_t dmin_bits, const uint8_t *scales,
                                const uint8_t *qs, const uint8_t *qh, float *y) {
    const float d = ifn_f16_to_f32(d_bits);
    const float min = ifn_f16_to_f32(dmin_bits);
    for (int c = 0; c < IFN_QK_K / 64; c++) {
        uint8_t sc, m;
        ifn_kquant_get_scale_min(2 * c, scales, &sc, &m);
        const float d1 = d * (float)sc;
        const float m1 = min * (float)m;
        ifn_kquant_get_scale_min(2 * c + 1, scales, &sc, &m);
        const float d2 = d * (float)sc;
        const float m2 = min * (float)m;
        const uint8_t *q = qs + 32 * c;
        for (int l = 0; l < 32; l++) {
            const int high1 = qh && (qh[l] & (1u << (2 * c))) ? 16 : 0;
            const int high2 = qh && (qh[l] & (1u << (2 * c + 1))) ? 16 : 0;
            y[64 * c + l] = d1 * (float)((q[l] & 0xF) + high1) - m1;
            y[64 * c + 32 + l] = d2 * (float)((q[l] >> 4) + high2) - m2;
        }
    }
}

void ifn_dequant_kquant_q4_k(const void *src, float *dst, int64_t n_blocks) {
    for (int64_t i = 0; i < n_blocks; i++) {
        ifn_block_q4_k b;
        memcpy(&b, (const unsigned char *)src + i * (int64_t)sizeof b, sizeof b);
        decode_q4_5_k_block(b.d, b.dmin, b.scales, b.qs, NULL, dst + i * IFN_QK_K);
    }
}

void ifn_dequant_kquant_q5_k(const void *src, float *dst, int64_t n_blocks) {
    for (int64_t i = 0; i < n_blocks; i++) {
        ifn_block_q5_k b;
        memcpy(&b, (const unsigned char *)src + i * (int64_t)sizeof b, sizeof b);
        decode_q4_5_k_block(b.d, b.dmin, b.scales, b.qs, b.qh, dst + i * IFN_QK_K);
    }
}

/* Q6_K: each 128-element half uses 64 bytes of ql and 32 of qh. Element l (< 32) of its four
 * 32-element quarters takes its low nibble from ql[l], ql[l + 32], ql[l] >> 4, ql[l + 32] >> 4
 * and its top two bits from bit pairs 0, 2, 4, 6 of qh[l]. */
static void decode_q6_k_block(const ifn_block_q6_k *b, float *y) {
    const float d = ifn_f16_to_f32(b->d);
    for (int half = 0; half < 2; half++) {
        const uint8_t *ql = b->ql + 64 * half;
        const uint8_t *qh = b->qh + 32 * half;
        const int8_t *sc = b->scales + 8 * half;
        float *out = y + 128 * half;
        for (int l = 0; l < 32; l++) {
            const int is = l / 16;
            const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
            const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
            const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
            const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
            out[l] = d * (float)sc[is + 0] * (float)q1;
            out[l + 32] = d * (float)sc[is + 2] * (float)q2;
            out[l + 64] = d * (float)sc[is + 4] * (float)q3;
            out[l + 96] = d * (float)sc[is + 6] * (float)q4;
        }
    }
}

void ifn_dequant_kquant_q6_k(const void *src, float *dst, int64_t n_blocks) {
    for (int64_t i = 0; i < n_blocks; i++) {
        ifn_block_q6_k b;
        memcpy(&b, (const unsigned char *)src + i * (int64_t)sizeof b, sizeof b);
        decode_q6_k_block(&b, dst + i * IFN_QK_K);
    }
}

static void decode_iq4_xs_block(const ifn_block_iq4_xs *b, float *y) {
    const float d = ifn_f16_to_f32(b->d);
    for (int ib = 0; ib < IFN_QK_K / 32; ib++) {
        const int low = (b->scales_l[ib / 2] >> (4 * (ib % 2))) & 0xF;
        const int high = (b->scales_h >> (2 * ib)) & 3;
        const float dl = d * (float)((low | (high << 4)) - 32);
        const uint8_t *qs = b->qs + 16 * ib;
        for (int j = 0; j < 16; j++) {
            y[32 * ib + j] = dl * (float)ifn_iq4nl_value(qs[j] & 0xF);
            y[32 * ib + 16 + j] = dl * (float)ifn_iq4nl_value(qs[j] >> 4);
        }
    }
}

void ifn_dequant_kquant_iq4_xs(const void *src, float *dst, int64_t n_blocks) {
    for (int64_t i = 0; i < n_blocks; i++) {
        ifn_block_iq4_xs b;
        memcpy(&b, (const unsigned char *)src + i * (int64_t)sizeof b, sizeof b);
        decode_iq4_xs_block(&b, dst + i * IFN_QK_K);
    }
}
