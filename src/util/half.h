/* IEEE half (F16) and bfloat16 (BF16) <-> float32 conversion, exact in the widening direction.
 * Plain C so it works everywhere; kernels use F16C/AVX-512 where available. */
#ifndef IFN_UTIL_HALF_H
#define IFN_UTIL_HALF_H

#include <stdint.h>
#include <string.h>

static inline float ifn_bits_to_f32(uint32_t bits) {
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static inline uint32_t ifn_f32_to_bits(float f) {
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    return bits;
}

static inline float ifn_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exponent = (h >> 10) & 0x1f;
    uint32_t mantissa = h & 0x3ff;
    if (exponent == 0) {
        if (mantissa == 0) return ifn_bits_to_f32(sign);
        /* subnormal: value = mantissa * 2^-24, exact in float32 */
        float value = (float)mantissa * (1.0f / 16777216.0f);
        return sign ? -value : value;
    }
    if (exponent == 31) return ifn_bits_to_f32(sign | 0x7f800000u | (mantissa << 13));
    return ifn_bits_to_f32(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

/* Round to nearest even; overflow gives infinity, NaN stays NaN. */
static inline uint16_t ifn_f32_to_f16(float f) {
    uint32_t x = ifn_f32_to_bits(f);
    uint32_t sign = (x >> 16) & 0x8000;
    uint32_t abs_bits = x & 0x7fffffff;
    if (abs_bits > 0x7f800000u) return (uint16_t)(sign | 0x7e00);
    if (abs_bits >= 0x477ff000u) return (uint16_t)(sign | 0x7c00); /* rounds to >= 65520 */
    if (abs_bits < 0x38800000u) {
        /* subnormal or zero in half: scale so the integer part is the half mantissa */
        float scaled = ifn_bits_to_f32(abs_bits) * 16777216.0f;
        uint32_t m = (uint32_t)scaled;
        float rest = scaled - (float)m;
        if (rest > 0.5f || (rest == 0.5f && (m & 1))) m++;
        return (uint16_t)(sign | m);
    }
    uint32_t rounded = abs_bits + 0x0fff + ((abs_bits >> 13) & 1);
    return (uint16_t)(sign | ((rounded - (112u << 23)) >> 13));
}

static inline float ifn_bf16_to_f32(uint16_t b) {
    return ifn_bits_to_f32((uint32_t)b << 16);
}

/* Round to nearest even, NaN kept quiet. */
static inline uint16_t ifn_f32_to_bf16(float f) {
    uint32_t x = ifn_f32_to_bits(f);
    if ((x & 0x7fffffff) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40);
    return (uint16_t)((x + 0x7fff + ((x >> 16) & 1)) >> 16);
}

#endif
