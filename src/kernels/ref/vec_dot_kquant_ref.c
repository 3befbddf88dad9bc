/* Scalar fast-path dot products of K-quant and IQ4_XS super-blocks with Q8_K activations.
 * Every type is first unpacked to one common form: integer levels q, an integer scale and min
 * per sub-block, and the float factors d and dmin, so that the weights are
 * x = d * scale * q - dmin * min. The dot product is then
 *   d_a * d * sum_sub(scale * dot(q, q_a)) - d_a * dmin * sum_sub(min * sum(q_a)),
 * all integer but the last two products; sum(q_a) comes from the activation's bsums. */
#include "kernels/ref/vec_dot_kquant_ref.h"

#include <string.h>

#include "kernels/ref/act_blocks.h"
#include "util/half.h"

typedef struct kquant_levels {
    int q[IFN_QK_K];
    int scale[IFN_QK_K / 16]; /* per sub-block */
    int min[IFN_QK_K / 16];   /* per sub-block; 0 for types without mins */
    int sub_len;              /* 16 or 32 elements per sub-block */
    float d;
    float dmin;
} kquant_levels;

typedef void (*unpack_fn)(const unsigned char *block, kquant_levels *out);

/* Q2_K and Q3_K keep 2-bit quants in 32-byte groups: 128-element half h uses qs[32h..], and
 * its elements 32j..32j+31 sit at bit pair j of those 32 bytes. */
static int two_bit_level(const uint8_t *qs, int i) {
    const int half = i / 128, j = (i % 128) / 32, l = i % 32;
    return (qs[32 * half + l] >> (2 * j)) & 3;
}

static void unpack_q2_k(const unsigned char *block, kquant_levels *out) {
    ifn_block_q2_k b;
    memcpy(&b, block, sizeof b);
    for (int i = 0; i < IFN_QK_K; i++)
        out->q[i] = two_bit_level(b.qs, i);
    for (int s = 0; s < 16; s++) {
        out->scale[s] = b.scales[s] & 0xF;
        out->min[s] = b.scales[s] >> 4;
    }
    out->sub_len = 16;
    out->d = ifn_f16_to_f32(b.d);
    out->dmin = ifn_f16_to_f32(b.dmin);
}

/* Q3_K: element i's high bit is bit (i / 32) of hmask[i % 32]; clear means 4 lower. The 6-bit
 * scales keep their low nibbles in bytes 0..7 (sub-blocks 8..15 in the high nibbles) and top
 * two bits in bytes 8..11, offset by 32. */
static void unpack_q3_k(const unsigned char *block, kquant_levels *out) {
    ifn_block_q3_k b;
    memcpy(&b, block, sizeof b);
    for (int i = 0; i < IFN_QK_K; i++) {
        const int high = (b.hmask[i % 32] >> (i / 32)) & 1;
        out->q[i] = two_bit_level(b.qs, i) - (high ? 0 : 4);
    }
    for (int s = 0; s < 16; s++) {
        const int low = s < 8 ? (b.scales[s] & 0xF) : (b.scales[s - 8] >> 4);
        const int top = (b.scales[8 + s % 4] >> (2 * (s / 4))) & 3;
        out->scale[s] = (low | (top << 4)) - 32;
        out->min[s] = 0;
    }
    out->sub_len = 16;
    out->d = ifn_f16_to_f32(b.d);
    out->dmin = 0.0f;
}

/* Q4_K / Q5_K: 64-element chunk c takes sub-block 2c from the low nibbles of qs[32c..] and
 * 2c + 1 from the high ones; Q5_K's 5th bit of chunk element l is bit 2c (2c + 1) of qh[l]. */
static void unpack_q4_5_k(uint16_t d, uint16_t dmin, const uint8_t *scales, const uint8_t *qs,
                          const uint8_t *qh, kquant_levels *out) {
    for (int c = 0; c < 4; c++) {
        for (int l = 0; l < 32; l++) {
            const int high_lo = qh ? ((qh[l] >> (2 * c)) & 1) << 4 : 0;
            const int high_hi = qh ? ((qh[l] >> (2 * c + 1)) & 1) << 4 : 0;
            out->q[64 * c + l] = (qs[32 * c + l] & 0xF) | high_lo;
            out->q[64 * c + 32 + l] = (qs[32 * c + l] >> 4) | high_hi;
        }
    }
    for (int s = 0; s < 8; s++) {
        uint8_t sc, m;
        ifn_kquant_get_scale_min(s, scales, &sc, &m);
        out->scale[s] = sc;
        out->min[s] = m;
    }
    out->sub_len = 32;
    out->d = ifn_f16_to_f32(d);
    out->dmin = ifn_f16_to_f32(dmin);
}

static void unpack_q4_k(const unsigned char *block, kquant_levels *out) {
    ifn_block_q4_k b;
    memcpy(&b, block, sizeof b);
    unpack_q4_5_k(b.d, b.dmin, b.scales, b.qs, NULL, out);
}

static void unpack_q5_k(const unsigned char *block, kquant_levels *out) {
    ifn_block_q5_k b;
    memcpy(&b, block, sizeof b);
    unpack_q4_5_k(b.d, b.dmin, b.scales, b.qs, b.qh, out);
}

/* Q6_K: 128-element half h, 32-element quarter j, element l: low nibble from ql[64h + l]
 * (j = 0), ql[64h + 32 + l] (j = 1), or their high nibbles (j = 2, 3); top two bits from bit
 * pair j of qh[32h + l]; offset 32. */
static void unpack_q6_k(const unsigned char *block, kquant_levels *out) {
    ifn_block_q6_k b;
    memcpy(&b, block, sizeof b);
    for (int i = 0; i < IFN_QK_K; i++) {
        const int half = i / 128, j = (i % 128) / 32, l = i % 32;
        const uint8_t low_byte = b.ql[64 * half + 32 * (j % 2) + l];
        const int low = j < 2 ? (low_byte & 0xF) : (low_byte >> 4);
        const int top = (b.qh[32 * half + l] >> (2 * j)) & 3;
        out->q[i] = (low | (top << 4)) - 32;
    }
    for (int s = 0; s < 16; s++) {
        out->scale[s] = b.scales[s];
        out->min[s] = 0;
    }
    out->sub_len = 16;
    out->d = ifn_f16_to_f32(b.d);
    out->dmin = 0.0f;
}

static void unpack_iq4_xs(const unsigned char *block, kquant_levels *out) {
    ifn_block_iq4_xs b;
    memcpy(&b, block, sizeof b);
    for (int s = 0; s < 8; s++) {
        for (int j = 0; j < 16; j++) {
            out->q[32 * s + j] = ifn_iq4nl_value(b.qs[16 * s + j] & 0xF);
            out->q[32 * s + 16 + j] = ifn_iq4nl_value(b.qs[16 * s + j] >> 4);
        }
        const int low = (b.scales_l[s / 2] >> (4 * (s % 2))) & 0xF;
        const int top = (b.scales_h >> (2 * s)) & 3;
        out->scale[s] = (low | (top << 4)) - 32;
        out->min[s] = 0;
    }
    out->sub_len = 32;
    out->d = ifn_f16_to_f32(b.d);
    out->dmin = 0.0f;
}

static float dot_kquant(const void *w_row, size_t block_bytes, unpack_fn unpack,
                        const void *act_row, int64_t n) {
    const ifn_block_q8_k *a = act_row;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / IFN_QK_K; b++) {
        kquant_levels w;
        unpack((const unsigned char *)w_row + b * (int64_t)block_bytes, &w);
        int isum = 0, summs = 0;
        for (int s = 0; s < IFN_QK_K / w.sub_len; s++) {
            int dot = 0;
            for (int j = s * w.sub_len; j < (s + 1) * w.sub_len; j++)
                dot += w.q[j] * a[b].qs[j];
            int a_sum = 0;
            for (int g = s * w.sub_len / 16; g < (s + 1) * w.sub_len / 16; g++)
                a_sum += a[b].bsums[g];
            isum += w.scale[s] * dot;
            summs += w.min[s] * a_sum;
        }
        sum += (a[b].d * w.d) * (float)isum - (a[b].d * w.dmin) * (float)summs;
    }
    return sum;
}

float ifn_vec_dot_kquant_q2_k_ref(const void *w_row, const void *act_row, int64_t n) {
    return dot_kquant(w_row, sizeof(ifn_block_q2_k), unpack_q2_k, act_row, n);
}

float ifn_vec_dot_kquant_q3_k_ref(const void *w_row, const void *act_row, int64_t n) {
    return dot_kquant(w_row, sizeof(ifn_block_q3_k), unpack_q3_k, act_row, n);
}

float ifn_vec_dot_kquant_q4_k_ref(const void *w_row, const void *act_row, int64_t n) {
    return dot_kquant(w_row, sizeof(ifn_block_q4_k), unpack_q4_k, act_row, n);
}

float ifn_vec_dot_kquant_q5_k_ref(const void *w_row, const void *act_row, int64_t n) {
    return dot_kquant(w_row, sizeof(ifn_block_q5_k), unpack_q5_k, act_row, n);
}

float ifn_vec_dot_kquant_q6_k_ref(const void *w_row, const void *act_row, int64_t n) {
    return dot_kquant(w_row, sizeof(ifn_block_q6_k), unpack_q6_k, act_row, n);
}

float ifn_vec_dot_kquant_iq4_xs_ref(const void *w_row, const void *act_row, int64_t n) {
    return dot_kquant(w_row, sizeof(ifn_block_iq4_xs), unpack_iq4_xs, act_row, n);
}
