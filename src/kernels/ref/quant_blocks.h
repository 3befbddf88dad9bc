/* Byte layouts of the quantized blocks that kernels/ref decodes and encodes, as GGUF stores them
 * (little-endian, no padding; sizes checked below), plus the small helpers the decoders and
 * encoders share. Half-precision fields are raw uint16 F16 bits (util/half.h converts them).
 * Internal to src/kernels, not a public API. Code copies blocks in and out with memcpy rather
 * than casting pointers, so data in a file needs no alignment. */
#ifndef IFN_KERNELS_REF_QUANT_BLOCKS_H
#define IFN_KERNELS_REF_QUANT_BLOCKS_H

#include <stdint.h>
#include <string.h>

#define IFN_QK_SMALL 32 /* elements per block of the Q4_0..Q8_0 and IQ4_NL types */
#define IFN_QK_K 256    /* elements per K-quant super-block (Q2_K..Q6_K, IQ4_XS) */
#define IFN_K_SCALE_BYTES 12

/* x = d * (q - 8), q in 0..15; element j in the low nibble of qs[j], j + 16 in the high one. */
typedef struct ifn_block_q4_0 {
    uint16_t d;
    uint8_t qs[IFN_QK_SMALL / 2];
} ifn_block_q4_0;

/* x = d * q + m, q in 0..15, nibbles as Q4_0. */
typedef struct ifn_block_q4_1 {
    uint16_t d;
    uint16_t m;
    uint8_t qs[IFN_QK_SMALL / 2];
} ifn_block_q4_1;

/* x = d * (q - 16), q in 0..31: low 4 bits as Q4_0, bit 4 of element j is bit j of qh. */
typedef struct ifn_block_q5_0 {
    uint16_t d;
    uint8_t qh[4];
    uint8_t qs[IFN_QK_SMALL / 2];
} ifn_block_q5_0;

/* x = d * q + m, q in 0..31, bits as Q5_0. */
typedef struct ifn_block_q5_1 {
    uint16_t d;
    uint16_t m;
    uint8_t qh[4];
    uint8_t qs[IFN_QK_SMALL / 2];
} ifn_block_q5_1;

/* x = d * q, q in -128..127. */
typedef struct ifn_block_q8_0 {
    uint16_t d;
    int8_t qs[IFN_QK_SMALL];
} ifn_block_q8_0;

/* x = d * kvalues_iq4nl[q], q in 0..15, nibbles as Q4_0. */
typedef struct ifn_block_iq4_nl {
    uint16_t d;
    uint8_t qs[IFN_QK_SMALL / 2];
} ifn_block_iq4_nl;

/* 16 sub-blocks of 16: x = d * (scale & 15) * q - dmin * (scale >> 4), q in 0..3. */
typedef struct ifn_block_q2_k {
    uint8_t scales[IFN_QK_K / 16];
    uint8_t qs[IFN_QK_K / 4];
    uint16_t d;
    uint16_t dmin;
} ifn_block_q2_k;

/* 16 sub-blocks of 16: x = d * (scale - 32) * (q - 4), q in 0..7 (2 low bits in qs, the high
 * bit in hmask, set meaning "no -4"); 6-bit scales packed in 12 bytes. */
typedef struct ifn_block_q3_k {
    uint8_t hmask[IFN_QK_K / 8];
    uint8_t qs[IFN_QK_K / 4];
    uint8_t scales[12];
    uint16_t d;
} ifn_block_q3_k;

/* 8 sub-blocks of 32: x = d * scale * q - dmin * min, q in 0..15; 6-bit scale/min pairs
 * packed in 12 bytes (see get_scale_min). */
typedef struct ifn_block_q4_k {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[IFN_K_SCALE_BYTES];
    uint8_t qs[IFN_QK_K / 2];
} ifn_block_q4_k;

/* As Q4_K with a fifth bit per element in qh. */
typedef struct ifn_block_q5_k {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[IFN_K_SCALE_BYTES];
    uint8_t qh[IFN_QK_K / 8];
    uint8_t qs[IFN_QK_K / 2];
} ifn_block_q5_k;

/* 16 sub-blocks of 16: x = d * scale * (q - 32), q in 0..63 (4 low bits in ql, 2 high in qh),
 * signed 8-bit scales. */
typedef struct ifn_block_q6_k {
    uint8_t ql[IFN_QK_K / 2];
    uint8_t qh[IFN_QK_K / 4];
    int8_t scales[IFN_QK_K / 16];
    uint16_t d;
} ifn_block_q6_k;

/* 8 sub-blocks of 32: x = d * (scale - 32) * kvalues_iq4nl[q]; 6-bit scales, low 4 bits in
 * scales_l (two per byte), high 2 bits in scales_h. */
typedef struct ifn_block_iq4_xs {
    uint16_t d;
    uint16_t scales_h;
    uint8_t scales_l[IFN_QK_K / 64];
    uint8_t qs[IFN_QK_K / 2];
} ifn_block_iq4_xs;

_Static_assert(sizeof(ifn_block_q4_0) == 18, "Q4_0 block is 18 bytes");
_Static_assert(sizeof(ifn_block_q4_1) == 20, "Q4_1 block is 20 bytes");
_Static_assert(sizeof(ifn_block_q5_0) == 22, "Q5_0 block is 22 bytes");
_Static_assert(sizeof(ifn_block_q5_1) == 24, "Q5_1 block is 24 bytes");
_Static_assert(sizeof(ifn_block_q8_0) == 34, "Q8_0 block is 34 bytes");
_Static_assert(sizeof(ifn_block_iq4_nl) == 18, "IQ4_NL block is 18 bytes");
_Static_assert(sizeof(ifn_block_q2_k) == 84, "Q2_K block is 84 bytes");
_Static_assert(sizeof(ifn_block_q3_k) == 110, "Q3_K block is 110 bytes");
_Static_assert(sizeof(ifn_block_q4_k) == 144, "Q4_K block is 144 bytes");
_Static_assert(sizeof(ifn_block_q5_k) == 176, "Q5_K block is 176 bytes");
_Static_assert(sizeof(ifn_block_q6_k) == 210, "Q6_K block is 210 bytes");
_Static_assert(sizeof(ifn_block_iq4_xs) == 136, "IQ4_XS block is 136 bytes");

/* Level q (0..15) of IQ4_NL / IQ4_XS (ggml's kvalues_iq4nl). */
static inline int8_t ifn_iq4nl_value(int q) {
    static const int8_t values[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                      1,    13,   25,  38,  53,  69,  89,  113};
    return values[q & 15];
}

/* Unpacks the 6-bit scale and min of sub-block j (0..7) from the 12 packed bytes of Q4_K/Q5_K:
 * j < 4 keeps them in the low 6 bits of bytes j and j + 4; j >= 4 splits them into a nibble of
 * byte j + 4 and the top two bits of bytes j - 4 (scale) and j (min). */
static inline void ifn_kquant_get_scale_min(int j, const uint8_t *packed, uint8_t *out_scale,
                                            uint8_t *out_min) {
    if (j < 4) {
        *out_scale = packed[j] & 63;
        *out_min = packed[j + 4] & 63;
    } else {
        *out_scale = (uint8_t)((packed[j + 4] & 0xF) | ((packed[j - 4] >> 6) << 4));
        *out_min = (uint8_t)((packed[j + 4] >> 4) | ((packed[j] >> 6) << 4));
    }
}

/* Blocks whose largest magnitude is below this encode as all zero (ggml's GROUP_MAX_EPS). */
#define IFN_QUANT_GROUP_MAX_EPS 1e-15f

/* Round to nearest, ties to even, by adding 1.5 * 2^23 and reading the low mantissa bits (ggml's
 * nearest_int, so encoders pick the same levels). Meaningful for |fval| < 2^22; any other input,
 * NaN included, gives some int without undefined behaviour, and callers clamp the result. */
static inline int ifn_quant_nearest_int(float fval) {
    const float val = fval + 12582912.0f;
    int32_t bits;
    memcpy(&bits, &val, sizeof bits);
    return (bits & 0x007fffff) - 0x00400000;
}

#endif
