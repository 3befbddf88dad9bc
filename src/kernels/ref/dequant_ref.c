/* Scalar reference decoders: stored rows (F32, F16, BF16, the 32-element block types and IQ4
 * types here, the K-quants in dequant_kquant_ref.c) to float32. Each formula keeps ggml's
 * operation order and nothing is contracted into fused multiply-adds, so the output is
 * bit-identical to ggml's to_float, signs of zero included. Blocks are copied out with memcpy,
 * so `src` needs no alignment. Not fast: SIMD decoders live in kernels/<isa>/. */
#include "kernels/dequant.h"

#include <string.h>

#include "kernels/ref/dequant_kquant_ref.h"
#include "kernels/ref/quant_blocks.h"
#include "util/half.h"
#include "util/status.h"

/* Bit-exactness needs `a * b + c` rounded twice. GCC in -std=c11 mode never contracts; clang
 * does unless told not to. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

typedef void (*decode_fn)(const void *src, float *dst, int64_t n_blocks);

static void decode_f32(const void *src, float *dst, int64_t n_blocks) {
    memcpy(dst, src, (size_t)n_blocks * sizeof(float));
}

static void decode_f16(const void *src, float *dst, int64_t n_blocks) {
    const unsigned char *p = src;
    for (int64_t i = 0; i < n_blocks; i++) {
        uint16_t h;
        memcpy(&h, p + 2 * i, sizeof h);
        dst[i] = ifn_f16_to_f32(h);
    }
}

static void decode_bf16(const void *src, float *dst, int64_t n_blocks) {
    const unsigned char *p = src;
    for (int64_t i = 0; i < n_blocks; i++) {
        uint16_t b;
        memcpy(&b, p + 2 * i, sizeof b);
        dst[i] = ifn_bf16_to_f32(b);
    }
}

static void decode_q4_0(const void *src, float *dst, int64_t n_blocks) {
    const int half = IFN_QK_SMALL / 2;
    for (int64_t i = 0; i < n_blocks; i++) {
        ifn_block_q4_0 b;
        memcpy(&b, (const unsigned char *)src + i * (int64_t)sizeof b, sizeof b);
        const float d = ifn_f16_to_f32(b.d);
        float *y = dst + i * IFN_QK_SMALL;
        for (int j = 0; j < half; j++) {
            const int x0 = (b.qs[j] & 0x0F) - 8;
            const int x1 = (b.qs[j] >> 4) - 8;
            y[j] = (float)x0 * d;
            y[j + half] = (float)x1 * d;
        }
    }
}

static void decode_q4_1(const void *src, float *dst, int64_t n_blocks) {
    const int half = IFN_QK_SMALL / 2;
    for (int64_t i = 0; i < n_blocks; i++) {
        ifn_block_q4_1 b;
        memcpy(&b, (const unsigned char *)src + i * (int64_t)sizeof b, sizeof b);
        const float d = ifn_f16_to_f32(b.d);
        const float m = ifn_f16_to_f32(b.m);
        float *y = dst + i * IFN_QK_SMALL;
        for (int j = 0; j < half; j++) {
            const int x0 = b.qs[j] & 0x0F;
            const int x1 = b.qs[j] >> 4;
            y[j] = (float)x0 * d + m;
            y[j + half] = (float)x1 * d + m;
        }
    }
}

/* The 5th bit of element j (low half) and j + 16 (high half) as 0 or 0x10. */
static int q5_high_bit(uint32_t qh, int j) {
    return (int)((qh >> j) << 4) & 0x10;
}

static void decode_q5_0(const void *src, float *dst, int64_t n_blocks) {
    const int half = IFN_QK_SMALL / 2;
    for (int64_t i = 0; i < n_blocks; i++) {
        ifn_block_q5_0 b;
        memcpy(&b, (const unsigned char *)src + i * (int64_t)sizeof b, sizeof b);
        const float d = ifn_f16_to_f32(b.d);
        uint32_t qh;
        memcpy(&qh, b.qh, sizeof qh);
        float *y = dst + i * IFN_QK_SMALL;
        for (int j = 0; j < half; j++) {
            const int x0 = ((b.qs[j] & 0x0F) | q5_high_bit(qh, j)) - 16;
            const int x1 = ((b.qs[j] >> 4) | q5_high_bit(qh, j + half)) - 16;
            y[j] = (float)x0 * d;
            y[j + half] = (float)x1 * d;
        }
    }
}

static void decode_q5_1(const void *src, float *dst, int64_t n_blocks) {
    const int half = IFN_QK_SMALL / 2;
    for (int64_t i = 0; i < n_blocks; i++) {
        ifn_block_q5_1 b;
        memcpy(&b, (const unsigned char *)src + i * (int64_t)sizeof b, sizeof b);
        const float d = ifn_f16_to_f32(b.d);
        const float m = ifn_f16_to_f32(b.m);
        uint32_t qh;
        memcpy(&qh, b.qh, sizeof qh);
        float *y = dst + i * IFN_QK_SMALL;
        for (int j = 0; j < half; j++) {
            const int x0 = (b.qs[j] & 0x0F) | q5_high_bit(qh, j);
            const int x1 = (b.qs[j] >> 4) | q5_high_bit(qh, j + half);
            y[j] = (float)x0 * d + m;
            y[j + half] = (float)x1 * d + m;
        }
    }
}

static void decode_q8_0(const void *src, float *dst, int64_t n_blocks) {
    for (int64_t i = 0; i < n_blocks; i++) {
        ifn_block_q8_0 b;
        memcpy(&b, (const unsigned char *)src + i * (int64_t)sizeof b, sizeof b);
        const float d = ifn_f16_to_f32(b.d);
        float *y = dst + i * IFN_QK_SMALL;
        for (int j = 0; j < IFN_QK_SMALL; j++)
            y[j] = (float)b.qs[j] * d;
    }
}

static void decode_iq4_nl(const void *src, float *dst, int64_t n_blocks) {
    const int half = IFN_QK_SMALL / 2;
    for (int64_t i = 0; i < n_blocks; i++) {
        ifn_block_iq4_nl b;
        memcpy(&b, (const unsigned char *)src + i * (int64_t)sizeof b, sizeof b);
        const float d = ifn_f16_to_f32(b.d);
        float *y = dst + i * IFN_QK_SMALL;
        for (int j = 0; j < half; j++) {
            y[j] = d * (float)ifn_iq4nl_value(b.qs[j] & 0x0F);
            y[j + half] = d * (float)ifn_iq4nl_value(b.qs[j] >> 4);
        }
    }
}

static decode_fn find_decoder(ifn_dtype type) {
    switch (type) {
    case IFN_DTYPE_F32:
        return decode_f32;
    case IFN_DTYPE_F16:
        return decode_f16;
    case IFN_DTYPE_BF16:
        return decode_bf16;
    case IFN_DTYPE_Q4_0:
        return decode_q4_0;
    case IFN_DTYPE_Q4_1:
        return decode_q4_1;
    case IFN_DTYPE_Q5_0:
        return decode_q5_0;
    case IFN_DTYPE_Q5_1:
        return decode_q5_1;
    case IFN_DTYPE_Q8_0:
        return decode_q8_0;
    case IFN_DTYPE_IQ4_NL:
        return decode_iq4_nl;
    case IFN_DTYPE_Q2_K:
        return ifn_dequant_kquant_q2_k;
    case IFN_DTYPE_Q3_K:
        return ifn_dequant_kquant_q3_k;
    case IFN_DTYPE_Q4_K:
        return ifn_dequant_kquant_q4_k;
    case IFN_DTYPE_Q5_K:
        return ifn_dequant_kquant_q5_k;
    case IFN_DTYPE_Q6_K:
        return ifn_dequant_kquant_q6_k;
    case IFN_DTYPE_IQ4_XS:
        return ifn_dequant_kquant_iq4_xs;
    default:
        return NULL;
    }
}

ifn_status ifn_dequant_row(ifn_dtype type, const void *src, float *dst, int64_t n) {
    const ifn_dtype_info *info = ifn_dtype_get_info((uint32_t)type);
    decode_fn decode = find_decoder(type);
    if (!info || !decode) {
        return ifn_fail(IFN_E_UNSUPPORTED, "dequant: no decoder for type %s (id %d)",
                        info ? info->name : "unknown", (int)type);
    }
    if (n < 0 || n % info->block_elems != 0) {
        return ifn_fail(IFN_E_INVALID,
                        "dequant: %lld elements is not a whole number of %s blocks of %d",
                        (long long)n, info->name, (int)info->block_elems);
    }
    if (n > 0) decode(src, dst, n / info->block_elems);
    return IFN_OK;
}
