/* Scalar fast-path dot products for float and 32-element block weights, the definition the
 * SIMD versions follow: each weight block is unpacked to its integer levels, multiplied with
 * the 8-bit activation quants in exact integer arithmetic, and the block total is scaled once,
 * as ggml's ggml_vec_dot_*_q8_* do. Float sums run block by block in row order. */
#include "kernels/ref/vec_dot_ref.h"

#include <string.h>

#include "kernels/kernels.h"
#include "kernels/ref/act_blocks.h"
#include "util/half.h"

float ifn_vec_dot_f32_ref(const void *w_row, const void *act_row, int64_t n) {
    return ifn_dot_f32_ref(w_row, act_row, n);
}

float ifn_vec_dot_f16_ref(const void *w_row, const void *act_row, int64_t n) {
    const unsigned char *w = w_row;
    const float *x = act_row;
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, w + 2 * i, sizeof h);
        sum += ifn_f16_to_f32(h) * x[i];
    }
    return sum;
}

float ifn_vec_dot_f16_f16_ref(const void *w_row, const void *act_row, int64_t n) {
    const unsigned char *w = w_row, *a = act_row;
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        uint16_t hw, ha;
        memcpy(&hw, w + 2 * i, sizeof hw);
        memcpy(&ha, a + 2 * i, sizeof ha);
        sum += ifn_f16_to_f32(hw) * ifn_f16_to_f32(ha);
    }
    return sum;
}

float ifn_vec_dot_bf16_ref(const void *w_row, const void *act_row, int64_t n) {
    const unsigned char *w = w_row;
    const float *x = act_row;
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        uint16_t b;
        memcpy(&b, w + 2 * i, sizeof b);
        sum += ifn_bf16_to_f32(b) * x[i];
    }
    return sum;
}

/* Integer levels of one 32-element block: element j in the low nibble of qs[j], j + 16 in the
 * high one, plus the 5th bit from qh when it is given, minus `offset`. */
static void unpack_nibbles(const uint8_t *qs, const uint8_t *qh, int offset, int *q) {
    uint32_t high = 0;
    if (qh) memcpy(&high, qh, sizeof high);
    for (int j = 0; j < IFN_QK_SMALL / 2; j++) {
        const int bit_lo = (int)((high >> j) & 1) << 4;
        const int bit_hi = (int)((high >> (j + 16)) & 1) << 4;
        q[j] = ((qs[j] & 0x0F) | bit_lo) - offset;
        q[j + 16] = ((qs[j] >> 4) | bit_hi) - offset;
    }
}

static int dot_block_i32(const int *q, const int8_t *a) {
    int sum = 0;
    for (int j = 0; j < IFN_QK_SMALL; j++)
        sum += q[j] * a[j];
    return sum;
}

/* Decodes the integer levels of one weight block into q and returns its scale d. */
typedef float (*unpack_fn)(const unsigned char *block, int *q);

/* Weights x = d * q over Q8_0 activations: the sum of d_w * d_a * dot(q_w, q_a). */
static float dot_symmetric(const void *w_row, size_t block_bytes, unpack_fn unpack,
                           const void *act_row, int64_t n) {
    const ifn_block_q8_0 *a = act_row;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / IFN_QK_SMALL; b++) {
        int q[IFN_QK_SMALL];
        const float d_w = unpack((const unsigned char *)w_row + b * (int64_t)block_bytes, q);
        const int sumi = dot_block_i32(q, a[b].qs);
        sum += (float)sumi * (d_w * ifn_f16_to_f32(a[b].d));
    }
    return sum;
}

/* As unpack_fn, also returning the block's min m. */
typedef float (*unpack_min_fn)(const unsigned char *block, int *q, float *out_min);

/* Weights x = d * q + m over Q8_1 activations: d_w * d_a * dot(q_w, q_a) + m * s_a. */
static float dot_with_min(const void *w_row, size_t block_bytes, unpack_min_fn unpack,
                          const void *act_row, int64_t n) {
    const ifn_block_q8_1 *a = act_row;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / IFN_QK_SMALL; b++) {
        int q[IFN_QK_SMALL];
        float m_w;
        const float d_w = unpack((const unsigned char *)w_row + b * (int64_t)block_bytes, q, &m_w);
        const int sumi = dot_block_i32(q, a[b].qs);
        sum += (float)sumi * (d_w * ifn_f16_to_f32(a[b].d)) + m_w * ifn_f16_to_f32(a[b].s);
    }
    return sum;
}

static float unpack_q4_0(const unsigned char *block, int *q) {
    ifn_block_q4_0 b;
    memcpy(&b, block, sizeof b);
    unpack_nibbles(b.qs, NULL, 8, q);
    return ifn_f16_to_f32(b.d);
}

static float unpack_q5_0(const unsigned char *block, int *q) {
    ifn_block_q5_0 b;
    memcpy(&b, block, sizeof b);
    unpack_nibbles(b.qs, b.qh, 16, q);
    return ifn_f16_to_f32(b.d);
}

static float unpack_q8_0(const unsigned char *block, int *q) {
    ifn_block_q8_0 b;
    memcpy(&b, block, sizeof b);
    for (int j = 0; j < IFN_QK_SMALL; j++)
        q[j] = b.qs[j];
    return ifn_f16_to_f32(b.d);
}

static float unpack_iq4_nl(const unsigned char *block, int *q) {
    ifn_block_iq4_nl b;
    memcpy(&b, block, sizeof b);
    unpack_nibbles(b.qs, NULL, 0, q);
    for (int j = 0; j < IFN_QK_SMALL; j++)
        q[j] = ifn_iq4nl_value(q[j]);
    return ifn_f16_to_f32(b.d);
}

static float unpack_q4_1(const unsigned char *block, int *q, float *out_min) {
    ifn_block_q4_1 b;
    memcpy(&b, block, sizeof b);
    unpack_nibbles(b.qs, NULL, 0, q);
    *out_min = ifn_f16_to_f32(b.m);
    return ifn_f16_to_f32(b.d);
}

static float unpack_q5_1(const unsigned char *block, int *q, float *out_min) {
    ifn_block_q5_1 b;
    memcpy(&b, block, sizeof b);
    unpack_nibbles(b.qs, b.qh, 0, q);
    *out_min = ifn_f16_to_f32(b.m);
    return ifn_f16_to_f32(b.d);
}

float ifn_vec_dot_q4_0_ref(const void *w_row, const void *act_row, int64_t n) {
    return dot_symmetric(w_row, sizeof(ifn_block_q4_0), unpack_q4_0, act_row, n);
}

float ifn_vec_dot_q5_0_ref(const void *w_row, const void *act_row, int64_t n) {
    return dot_symmetric(w_row, sizeof(ifn_block_q5_0), unpack_q5_0, act_row, n);
}

float ifn_vec_dot_q8_0_ref(const void *w_row, const void *act_row, int64_t n) {
    return dot_symmetric(w_row, sizeof(ifn_block_q8_0), unpack_q8_0, act_row, n);
}

float ifn_vec_dot_iq4_nl_ref(const void *w_row, const void *act_row, int64_t n) {
    return dot_symmetric(w_row, sizeof(ifn_block_iq4_nl), unpack_iq4_nl, act_row, n);
}

float ifn_vec_dot_q4_1_ref(const void *w_row, const void *act_row, int64_t n) {
    return dot_with_min(w_row, sizeof(ifn_block_q4_1), unpack_q4_1, act_row, n);
}

float ifn_vec_dot_q5_1_ref(const void *w_row, const void *act_row, int64_t n) {
    return dot_with_min(w_row, sizeof(ifn_block_q5_1), unpack_q5_1, act_row, n);
}
