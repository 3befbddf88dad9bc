/* Scalar reference encoders: float32 rows to F32, F16, BF16 and the 32-element block types
 * (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0); the K-quants are in quant_kquant_ref.c, the IQ4 types in
 * quant_iq4_ref.c. Each follows ggml's quantize_row_*_ref step by step (round to nearest, no
 * search), with float-to-integer casts clamped first so odd inputs (subnormal block maxima)
 * stay defined behaviour; finite normal inputs give ggml's bytes exactly. */
#include "kernels/quant.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "kernels/ref/quant_blocks.h"
#include "kernels/ref/quant_iq4_ref.h"
#include "kernels/ref/quant_kquant_ref.h"
#include "util/half.h"
#include "util/status.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

typedef void (*encode_fn)(const float *src, void *dst, int64_t n_blocks);

/* C's float-to-integer truncation, saturated to [lo, hi] and 0 for NaN, so that a value
 * outside the target range is not undefined behaviour. In range it is a plain cast. */
static int trunc_clamped(float v, int lo, int hi) {
    if (!(v == v)) return 0;
    if (v <= (float)lo) return lo;
    if (v >= (float)hi) return hi;
    return (int)v;
}

static void encode_f32(const float *src, void *dst, int64_t n_blocks) {
    memcpy(dst, src, (size_t)n_blocks * sizeof(float));
}

static void encode_f16(const float *src, void *dst, int64_t n_blocks) {
    for (int64_t i = 0; i < n_blocks; i++) {
        const uint16_t h = ifn_f32_to_f16(src[i]);
        memcpy((unsigned char *)dst + 2 * i, &h, sizeof h);
    }
}

static void encode_bf16(const float *src, void *dst, int64_t n_blocks) {
    for (int64_t i = 0; i < n_blocks; i++) {
        const uint16_t b = ifn_f32_to_bf16(src[i]);
        memcpy((unsigned char *)dst + 2 * i, &b, sizeof b);
    }
}

/* The value of largest magnitude, sign kept (the first one on ties). */
static float signed_absmax(const float *x, int n) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < n; j++) {
        if (amax < fabsf(x[j])) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    }
    return max;
}

static void min_max(const float *x, int n, float *out_min, float *out_max) {
    float min = FLT_MAX, max = -FLT_MAX;
    for (int j = 0; j < n; j++) {
        if (x[j] < min) min = x[j];
        if (x[j] > max) max = x[j];
    }
    *out_min = min;
    *out_max = max;
}

/* Symmetric 4-bit: d = max / -8 so the largest magnitude maps to level 0 (or 16, clamped). */
static void encode_q4_0_block(const float *x, ifn_block_q4_0 *b) {
    const int half = IFN_QK_SMALL / 2;
    const float d = signed_absmax(x, IFN_QK_SMALL) / -8;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b->d = ifn_f32_to_f16(d);
    for (int j = 0; j < half; j++) {
        const float x0 = x[j] * id;
        const float x1 = x[j + half] * id;
        const int q0 = trunc_clamped(x0 + 8.5f, 0, 15);
        const int q1 = trunc_clamped(x1 + 8.5f, 0, 15);
        b->qs[j] = (uint8_t)(q0 | (q1 << 4));
    }
}

/* Affine 4-bit: levels 0..15 span [min, max]. */
static void encode_q4_1_block(const float *x, ifn_block_q4_1 *b) {
    const int half = IFN_QK_SMALL / 2;
    float min, max;
    min_max(x, IFN_QK_SMALL, &min, &max);
    const float d = (max - min) / ((1 << 4) - 1);
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b->d = ifn_f32_to_f16(d);
    b->m = ifn_f32_to_f16(min);
    for (int j = 0; j < half; j++) {
        const float x0 = (x[j] - min) * id;
        const float x1 = (x[j + half] - min) * id;
        const int q0 = trunc_clamped(x0 + 0.5f, 0, 15);
        const int q1 = trunc_clamped(x1 + 0.5f, 0, 15);
        b->qs[j] = (uint8_t)(q0 | (q1 << 4));
    }
}

/* Packs 32 5-bit levels: low nibbles as Q4_0, bit 4 of level j into bit j of *out_qh. */
static void pack_q5(const int *levels, uint8_t *qs, uint8_t *out_qh) {
    const int half = IFN_QK_SMALL / 2;
    uint32_t qh = 0;
    for (int j = 0; j < half; j++) {
        qs[j] = (uint8_t)((levels[j] & 0x0F) | ((levels[j + half] & 0x0F) << 4));
        qh |= (uint32_t)((levels[j] & 0x10) >> 4) << j;
        qh |= (uint32_t)((levels[j + half] & 0x10) >> 4) << (j + half);
    }
    memcpy(out_qh, &qh, sizeof qh);
}

static void encode_q5_0_block(const float *x, ifn_block_q5_0 *b) {
    const float d = signed_absmax(x, IFN_QK_SMALL) / -16;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    int levels[IFN_QK_SMALL];
    b->d = ifn_f32_to_f16(d);
    for (int j = 0; j < IFN_QK_SMALL; j++) {
        levels[j] = trunc_clamped(x[j] * id + 16.5f, 0, 31);
    }
    pack_q5(levels, b->qs, b->qh);
}

static void encode_q5_1_block(const float *x, ifn_block_q5_1 *b) {
    float min, max;
    min_max(x, IFN_QK_SMALL, &min, &max);
    const float d = (max - min) / ((1 << 5) - 1);
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    int levels[IFN_QK_SMALL];
    b->d = ifn_f32_to_f16(d);
    b->m = ifn_f32_to_f16(min);
    for (int j = 0; j < IFN_QK_SMALL; j++) {
        /* ggml keeps the low 5 bits of a plain uint8 cast here, with no clamp to 31 */
        levels[j] = trunc_clamped((x[j] - min) * id + 0.5f, 0, 255) & 0x1F;
    }
    pack_q5(levels, b->qs, b->qh);
}

static void encode_q8_0_block(const float *x, ifn_block_q8_0 *b) {
    float amax = 0.0f;
    for (int j = 0; j < IFN_QK_SMALL; j++) {
        if (fabsf(x[j]) > amax) amax = fabsf(x[j]);
    }
    const float d = amax / ((1 << 7) - 1);
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b->d = ifn_f32_to_f16(d);
    for (int j = 0; j < IFN_QK_SMALL; j++) {
        b->qs[j] = (int8_t)trunc_clamped(roundf(x[j] * id), -128, 127);
    }
}

/* Runs a one-block encoder over n_blocks blocks, writing each through a local copy so `dst`
 * needs no alignment. */
#define DEFINE_BLOCK_ENCODER(name, block_type, encode_block)                                       \
    static void name(const float *src, void *dst, int64_t n_blocks) {                              \
        for (int64_t i = 0; i < n_blocks; i++) {                                                   \
            block_type b;                                                                          \
            memset(&b, 0, sizeof b);                                                               \
            encode_block(src + i * IFN_QK_SMALL, &b);                                              \
            memcpy((unsigned char *)dst + i * (int64_t)sizeof b, &b, sizeof b);                    \
        }                                                                                          \
    }

DEFINE_BLOCK_ENCODER(encode_q4_0, ifn_block_q4_0, encode_q4_0_block)
DEFINE_BLOCK_ENCODER(encode_q4_1, ifn_block_q4_1, encode_q4_1_block)
DEFINE_BLOCK_ENCODER(encode_q5_0, ifn_block_q5_0, encode_q5_0_block)
DEFINE_BLOCK_ENCODER(encode_q5_1, ifn_block_q5_1, encode_q5_1_block)
DEFINE_BLOCK_ENCODER(encode_q8_0, ifn_block_q8_0, encode_q8_0_block)

static encode_fn find_encoder(ifn_dtype type) {
    switch (type) {
    case IFN_DTYPE_F32:
        return encode_f32;
    case IFN_DTYPE_F16:
        return encode_f16;
    case IFN_DTYPE_BF16:
        return encode_bf16;
    case IFN_DTYPE_Q4_0:
        return encode_q4_0;
    case IFN_DTYPE_Q4_1:
        return encode_q4_1;
    case IFN_DTYPE_Q5_0:
        return encode_q5_0;
    case IFN_DTYPE_Q5_1:
        return encode_q5_1;
    case IFN_DTYPE_Q8_0:
        return encode_q8_0;
    case IFN_DTYPE_Q2_K:
        return ifn_quant_kquant_q2_k;
    case IFN_DTYPE_Q3_K:
        return ifn_quant_kquant_q3_k;
    case IFN_DTYPE_Q4_K:
        return ifn_quant_kquant_q4_k;
    case IFN_DTYPE_Q5_K:
        return ifn_quant_kquant_q5_k;
    case IFN_DTYPE_Q6_K:
        return ifn_quant_kquant_q6_k;
    case IFN_DTYPE_IQ4_NL:
        return ifn_quant_iq4_nl;
    case IFN_DTYPE_IQ4_XS:
        return ifn_quant_iq4_xs;
    default:
        return NULL;
    }
}

int ifn_quant_can_encode(ifn_dtype type) {
    return find_encoder(type) != NULL;
}

ifn_status ifn_quant_row(ifn_dtype type, const float *src, void *dst, int64_t n) {
    const ifn_dtype_info *info = ifn_dtype_get_info((uint32_t)type);
    encode_fn encode = find_encoder(type);
    if (!info || !encode) {
        return ifn_fail(IFN_E_UNSUPPORTED, "quant: no encoder for type %s (id %d)",
                        info ? info->name : "unknown", (int)type);
    }
    if (n < 0 || n % info->block_elems != 0) {
        return ifn_fail(IFN_E_INVALID,
                        "quant: %lld elements is not a whole number of %s blocks of %d",
                        (long long)n, info->name, (int)info->block_elems);
    }
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(src[i])) {
            return ifn_fail(IFN_E_INVALID, "quant: element %lld is not finite", (long long)i);
        }
    }
    if (n > 0) encode(src, dst, n / info->block_elems);
    return IFN_OK;
}
