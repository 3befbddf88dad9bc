/* Scalar reference K-quant encoders (Q2_K..Q6_K), step for step ggml's quantize_row_*_ref
 * (what llama-quantize runs without an importance matrix): a per-sub-block scale search, the
 * sub-block scales quantized against one super-block scale, then every element requantized
 * with the scales as stored. Same operation order and rounding as ggml, nothing contracted into
 * FMAs, so the same floats give the same bytes. */
#include "kernels/ref/quant_kquant_ref.h"

#include <math.h>
#include <string.h>

#include "kernels/ref/quant_blocks.h"
#include "util/half.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

static int clamp_int(int v, int lo, int hi) {
    return v < lo ? lo : v > hi ? hi : v;
}

/* ---- scale searches (ggml's make_qx_quants, make_q3_quants, make_qkx2_quants) ---- */

/* make_qx_quants' fit of levels round(iscale * x), clamped to -nmax..nmax-1, weighted by x^2. */
static void qx_sums(int n, int nmax, const float *x, float iscale, float *out_sumlx,
                    float *out_suml2) {
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        const int l = clamp_int(ifn_quant_nearest_int(iscale * x[i]), -nmax, nmax - 1);
        const float w = x[i] * x[i];
        sumlx += w * x[i] * (float)l;
        suml2 += w * (float)l * (float)l;
    }
    *out_sumlx = sumlx;
    *out_suml2 = suml2;
}

static void qx_levels(int n, int nmax, const float *x, float iscale, int8_t *L) {
    for (int i = 0; i < n; i++) {
        L[i] = (int8_t)(nmax + clamp_int(ifn_quant_nearest_int(iscale * x[i]), -nmax, nmax - 1));
    }
}

/* Symmetric levels -nmax..nmax-1 weighted by x^2 (ggml's rmse_type 1 without importance
 * weights): tries scales around -nmax / max and keeps the best least-squares fit.
 * L gets level + nmax. Returns the scale. */
static float make_qx_quants(int n, int nmax, const float *x, int8_t *L) {
    float max = 0, amax = 0;
    for (int i = 0; i < n; i++) {
        const float ax = fabsf(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    if (amax < IFN_QUANT_GROUP_MAX_EPS) {
        memset(L, 0, (size_t)n);
        return 0.0f;
    }
    float iscale = (float)-nmax / max;
    float sumlx, suml2;
    qx_sums(n, nmax, x, iscale, &sumlx, &suml2);
    qx_levels(n, nmax, x, iscale, L);
    float scale = suml2 != 0.0f ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; is++) {
        if (is == 0) continue;
        iscale = -((float)nmax + 0.1f * (float)is) / max;
        qx_sums(n, nmax, x, iscale, &sumlx, &suml2);
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            qx_levels(n, nmax, x, iscale, L);
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

/* One pass of make_q3_quants' refinement: moves single levels while that improves the fit;
 * returns how many moved. L holds signed levels here. */
static int refine_q3_levels(int n, int nmax, const float *x, int8_t *L, float *sumlx,
                            float *suml2) {
    int n_changed = 0;
    for (int i = 0; i < n; i++) {
        const float w = x[i] * x[i];
        float slx = *sumlx - w * x[i] * (float)L[i];
        if (!(slx > 0)) continue;
        float sl2 = *suml2 - w * (float)L[i] * (float)L[i];
        const int new_l = clamp_int(ifn_quant_nearest_int(x[i] * sl2 / slx), -nmax, nmax - 1);
        if (new_l == L[i]) continue;
        slx += w * x[i] * (float)new_l;
        sl2 += w * (float)new_l * (float)new_l;
        if (sl2 > 0 && slx * slx * *suml2 > *sumlx * *sumlx * sl2) {
            L[i] = (int8_t)new_l;
            *sumlx = slx;
            *suml2 = sl2;
            n_changed++;
        }
    }
    return n_changed;
}

/* Symmetric levels -nmax..nmax-1 (Q3_K, always with the rmse refinement). */
static float make_q3_quants(int n, int nmax, const float *x, int8_t *L) {
    float max = 0, amax = 0;
    for (int i = 0; i < n; i++) {
        const float ax = fabsf(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    if (amax < IFN_QUANT_GROUP_MAX_EPS) {
        memset(L, 0, (size_t)n);
        return 0.0f;
    }
    const float iscale = (float)-nmax / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        const int l = clamp_int(ifn_quant_nearest_int(iscale * x[i]), -nmax, nmax - 1);
        L[i] = (int8_t)l;
        const float w = x[i] * x[i];
        sumlx += w * x[i] * (float)l;
        suml2 += w * (float)l * (float)l;
    }
    for (int itry = 0; itry < 5; itry++) {
        if (!refine_q3_levels(n, nmax, x, L, &sumlx, &suml2)) break;
    }
    for (int i = 0; i < n; i++)
        L[i] = (int8_t)(L[i] + nmax);
    return sumlx / suml2;
}

/* Affine levels 0..nmax: x ~ scale * L + min with min <= 0. */
typedef struct qkx2_params {
    int n, nmax;
    float rmin, rdelta; /* tried scales: (rmin + rdelta * is + nmax) / (max - min) */
    int nstep;
    int use_mad; /* error is |diff| if set, else diff^2 */
} qkx2_params;

static float weighted_error(const qkx2_params *p, const float *x, const float *weights,
                            const uint8_t *L, float scale, float min) {
    float err = 0;
    for (int i = 0; i < p->n; i++) {
        float diff = scale * (float)L[i] + min - x[i];
        diff = p->use_mad ? fabsf(diff) : diff * diff;
        err += weights[i] * diff;
    }
    return err;
}

/* Fits scale and min to the levels Laux for one trial scale; 0 if the system is singular. */
static int fit_affine(const qkx2_params *p, const float *x, const float *weights, float iscale,
                      float min, float sum_w, float sum_x, uint8_t *Laux, float *out_scale,
                      float *out_min) {
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < p->n; i++) {
        const int l = clamp_int(ifn_quant_nearest_int(iscale * (x[i] - min)), 0, p->nmax);
        Laux[i] = (uint8_t)l;
        const float w = weights[i];
        sum_l += w * (float)l;
        sum_l2 += w * (float)l * (float)l;
        sum_xl += w * (float)l * x[i];
    }
    const float D = sum_w * sum_l2 - sum_l * sum_l;
    if (!(D > 0)) return 0;
    float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
    float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
    if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
    }
    *out_scale = this_scale;
    *out_min = this_min;
    return 1;
}

static float make_qkx2_quants(const qkx2_params *p, const float *x, const float *weights,
                              uint8_t *L, float *the_min) {
    float min = x[0], max = x[0];
    float sum_w = weights[0];
    float sum_x = sum_w * x[0];
    for (int i = 1; i < p->n; i++) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        sum_w += weights[i];
        sum_x += weights[i] * x[i];
    }
    if (min > 0) min = 0;
    if (max == min) {
        memset(L, 0, (size_t)p->n);
        *the_min = -min;
        return 0.0f;
    }
    float iscale = (float)p->nmax / (max - min);
    float scale = 1 / iscale;
    for (int i = 0; i < p->n; i++) {
        L[i] = (uint8_t)clamp_int(ifn_quant_nearest_int(iscale * (x[i] - min)), 0, p->nmax);
    }
    float best_err = weighted_error(p, x, weights, L, scale, min);
    uint8_t Laux[32];
    for (int is = 0; is <= p->nstep; is++) {
        /* as in ggml, later trials start from the best min found so far */
        iscale = (p->rmin + p->rdelta * (float)is + (float)p->nmax) / (max - min);
        float this_scale, this_min;
        if (!fit_affine(p, x, weights, iscale, min, sum_w, sum_x, Laux, &this_scale, &this_min))
            continue;
        const float err = weighted_error(p, x, weights, Laux, this_scale, this_min);
        if (err < best_err) {
            memcpy(L, Laux, (size_t)p->n);
            best_err = err;
            scale = this_scale;
            min = this_min;
        }
    }
    *the_min = -min;
    return scale;
}

/* ---- shared packing ---- */

/* Q2_K/Q3_K: 2-bit levels, four 32-element groups per 128-element half share a byte. */
static void pack_two_bit(const uint8_t *L, uint8_t *qs) {
    for (int j = 0; j < IFN_QK_K; j += 128) {
        for (int l = 0; l < 32; l++) {
            qs[j / 4 + l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) |
                                      (L[j + l + 96] << 6));
        }
    }
}

/* Q4_K/Q5_K: the 6-bit scale and min of sub-block j into the 12 packed bytes. */
static void pack_scale_min(int j, uint8_t ls, uint8_t lm, uint8_t *packed) {
    if (j < 4) {
        packed[j] = ls;
        packed[j + 4] = lm;
    } else {
        packed[j + 4] = (uint8_t)((ls & 0xF) | ((lm & 0xF) << 4));
        packed[j - 4] |= (uint8_t)((ls >> 4) << 6);
        packed[j - 0] |= (uint8_t)((lm >> 4) << 6);
    }
}

/* ---- Q2_K ---- */

static void encode_q2_k_block(const float *x, ifn_block_q2_k *b) {
    const qkx2_params p = {16, 3, -0.5f, 0.1f, 15, 1};
    const float q4scale = 15.f;
    uint8_t L[IFN_QK_K];
    float mins[IFN_QK_K / 16], scales[IFN_QK_K / 16], weights[16];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < IFN_QK_K / 16; j++) {
        for (int l = 0; l < 16; l++)
            weights[l] = fabsf(x[16 * j + l]);
        scales[j] = make_qkx2_quants(&p, x + 16 * j, weights, L + 16 * j, &mins[j]);
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    if (max_scale > 0) {
        const float iscale = q4scale / max_scale;
        for (int j = 0; j < 16; j++)
            b->scales[j] = (uint8_t)ifn_quant_nearest_int(iscale * scales[j]);
        b->d = ifn_f32_to_f16(max_scale / q4scale);
    } else {
        memset(b->scales, 0, sizeof b->scales);
        b->d = ifn_f32_to_f16(0.f);
    }
    if (max_min > 0) {
        const float iscale = q4scale / max_min;
        for (int j = 0; j < 16; j++) {
            /* unsigned shift: a degenerate block (subnormal inputs) can round to a negative */
            b->scales[j] |= (uint8_t)((unsigned)ifn_quant_nearest_int(iscale * mins[j]) << 4);
        }
        b->dmin = ifn_f32_to_f16(max_min / q4scale);
    } else {
        b->dmin = ifn_f32_to_f16(0.f);
    }
    for (int j = 0; j < IFN_QK_K / 16; j++) {
        const float d = ifn_f16_to_f32(b->d) * (float)(b->scales[j] & 0xF);
        if (d == 0.0f) continue;
        const float dm = ifn_f16_to_f32(b->dmin) * (float)(b->scales[j] >> 4);
        for (int ii = 0; ii < 16; ii++) {
            L[16 * j + ii] =
                (uint8_t)clamp_int(ifn_quant_nearest_int((x[16 * j + ii] + dm) / d), 0, 3);
        }
    }
    pack_two_bit(L, b->qs);
}

/* ---- Q3_K ---- */

/* Stores 6-bit scale `l` (0..63) of sub-block j: low nibble in bytes 0..7, top bits in 8..11. */
static void pack_q3_scale(int j, int l, uint8_t *packed) {
    if (j < 8) {
        packed[j] = (uint8_t)(l & 0xF);
    } else {
        packed[j - 8] |= (uint8_t)((l & 0xF) << 4);
    }
    packed[j % 4 + 8] |= (uint8_t)((l >> 4) << (2 * (j / 4)));
}

static int unpack_q3_scale(int j, const uint8_t *packed) {
    const int low = j < 8 ? packed[j] & 0xF : packed[j - 8] >> 4;
    return (low | (((packed[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32;
}

/* Moves the high bit of each 3-bit level into hmask (bit k of byte m for element 32 * k + m). */
static void pack_q3_high_bits(uint8_t *L, uint8_t *hmask) {
    memset(hmask, 0, IFN_QK_K / 8);
    for (int j = 0; j < IFN_QK_K; j++) {
        if (L[j] > 3) {
            hmask[j % 32] |= (uint8_t)(1u << (j / 32));
            L[j] -= 4;
        }
    }
}

static void encode_q3_k_block(const float *x, ifn_block_q3_k *b) {
    int8_t L[IFN_QK_K];
    float scales[IFN_QK_K / 16];
    float max_scale = 0, amax = 0;
    for (int j = 0; j < IFN_QK_K / 16; j++) {
        scales[j] = make_q3_quants(16, 4, x + 16 * j, L + 16 * j);
        if (fabsf(scales[j]) > amax) {
            amax = fabsf(scales[j]);
            max_scale = scales[j];
        }
    }
    memset(b->scales, 0, sizeof b->scales);
    if (max_scale != 0.0f) {
        const float iscale = -32.f / max_scale;
        for (int j = 0; j < IFN_QK_K / 16; j++) {
            const int8_t l = (int8_t)ifn_quant_nearest_int(iscale * scales[j]);
            pack_q3_scale(j, clamp_int(l, -32, 31) + 32, b->scales);
        }
        b->d = ifn_f32_to_f16(1 / iscale);
    } else {
        b->d = ifn_f32_to_f16(0.f);
    }
    for (int j = 0; j < IFN_QK_K / 16; j++) {
        const float d = ifn_f16_to_f32(b->d) * (float)unpack_q3_scale(j, b->scales);
        if (d == 0.0f) continue;
        for (int ii = 0; ii < 16; ii++) {
            const int l = clamp_int(ifn_quant_nearest_int(x[16 * j + ii] / d), -4, 3);
            L[16 * j + ii] = (int8_t)(l + 4);
        }
    }
    uint8_t levels[IFN_QK_K];
    for (int j = 0; j < IFN_QK_K; j++)
        levels[j] = (uint8_t)L[j];
    pack_q3_high_bits(levels, b->hmask);
    pack_two_bit(levels, b->qs);
}

/* ---- Q4_K and Q5_K ---- */

/* Scale search, scale quantization and requantization shared by Q4_K (nmax 15) and Q5_K
 * (nmax 31). Writes d, dmin and the packed scales; L gets one level per element. */
static void quantize_q4_5_k(const float *x, const qkx2_params *p, uint16_t *out_d,
                            uint16_t *out_dmin, uint8_t *packed, uint8_t *L) {
    float mins[IFN_QK_K / 32], scales[IFN_QK_K / 32], weights[32];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < IFN_QK_K / 32; j++) {
        float sum_x2 = 0;
        for (int l = 0; l < 32; l++)
            sum_x2 += x[32 * j + l] * x[32 * j + l];
        const float av_x = sqrtf(sum_x2 / 32);
        for (int l = 0; l < 32; l++)
            weights[l] = av_x + fabsf(x[32 * j + l]);
        scales[j] = make_qkx2_quants(p, x + 32 * j, weights, L + 32 * j, &mins[j]);
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    for (int j = 0; j < IFN_QK_K / 32; j++) {
        uint8_t ls = (uint8_t)ifn_quant_nearest_int(inv_scale * scales[j]);
        uint8_t lm = (uint8_t)ifn_quant_nearest_int(inv_min * mins[j]);
        pack_scale_min(j, ls < 63 ? ls : 63, lm < 63 ? lm : 63, packed);
    }
    *out_d = ifn_f32_to_f16(max_scale / 63.f);
    *out_dmin = ifn_f32_to_f16(max_min / 63.f);
    for (int j = 0; j < IFN_QK_K / 32; j++) {
        uint8_t sc, m;
        ifn_kquant_get_scale_min(j, packed, &sc, &m);
        const float d = ifn_f16_to_f32(*out_d) * (float)sc;
        if (d == 0.0f) continue;
        const float dm = ifn_f16_to_f32(*out_dmin) * (float)m;
        for (int ii = 0; ii < 32; ii++) {
            const int l = ifn_quant_nearest_int((x[32 * j + ii] + dm) / d);
            L[32 * j + ii] = (uint8_t)clamp_int(l, 0, p->nmax);
        }
    }
}

static void encode_q4_k_block(const float *x, ifn_block_q4_k *b) {
    const qkx2_params p = {32, 15, -1.f, 0.1f, 20, 0};
    uint8_t L[IFN_QK_K];
    quantize_q4_5_k(x, &p, &b->d, &b->dmin, b->scales, L);
    for (int j = 0; j < IFN_QK_K; j += 64) {
        for (int l = 0; l < 32; l++)
            b->qs[j / 2 + l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 4));
    }
}

static void encode_q5_k_block(const float *x, ifn_block_q5_k *b) {
    const qkx2_params p = {32, 31, -0.5f, 0.1f, 15, 0};
    uint8_t L[IFN_QK_K];
    quantize_q4_5_k(x, &p, &b->d, &b->dmin, b->scales, L);
    memset(b->qh, 0, sizeof b->qh);
    for (int c = 0; c < IFN_QK_K / 64; c++) {
        for (int j = 0; j < 32; j++) {
            int l1 = L[64 * c + j], l2 = L[64 * c + j + 32];
            if (l1 > 15) {
                l1 -= 16;
                b->qh[j] |= (uint8_t)(1u << (2 * c));
            }
            if (l2 > 15) {
                l2 -= 16;
                b->qh[j] |= (uint8_t)(2u << (2 * c));
            }
            b->qs[32 * c + j] = (uint8_t)(l1 | (l2 << 4));
        }
    }
}

/* ---- Q6_K ---- */

static void pack_q6_k(const int8_t *L, ifn_block_q6_k *b) {
    for (int half = 0; half < 2; half++) {
        const int8_t *Lh = L + 128 * half;
        uint8_t *ql = b->ql + 64 * half;
        uint8_t *qh = b->qh + 32 * half;
        for (int l = 0; l < 32; l++) {
            ql[l] = (uint8_t)((Lh[l] & 0xF) | ((Lh[l + 64] & 0xF) << 4));
            ql[l + 32] = (uint8_t)((Lh[l + 32] & 0xF) | ((Lh[l + 96] & 0xF) << 4));
            qh[l] = (uint8_t)((Lh[l] >> 4) | ((Lh[l + 32] >> 4) << 2) | ((Lh[l + 64] >> 4) << 4) |
                              ((Lh[l + 96] >> 4) << 6));
        }
    }
}

static void encode_q6_k_block(const float *x, ifn_block_q6_k *b) {
    int8_t L[IFN_QK_K];
    float scales[IFN_QK_K / 16];
    float max_scale = 0, max_abs_scale = 0;
    for (int ib = 0; ib < IFN_QK_K / 16; ib++) {
        scales[ib] = make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib);
        if (fabsf(scales[ib]) > max_abs_scale) {
            max_abs_scale = fabsf(scales[ib]);
            max_scale = scales[ib];
        }
    }
    if (max_abs_scale < IFN_QUANT_GROUP_MAX_EPS) {
        memset(b, 0, sizeof *b);
        return;
    }
    const float iscale = -128.f / max_scale;
    b->d = ifn_f32_to_f16(1 / iscale);
    for (int ib = 0; ib < IFN_QK_K / 16; ib++) {
        const int l = ifn_quant_nearest_int(iscale * scales[ib]);
        b->scales[ib] = (int8_t)(l < 127 ? l : 127);
    }
    for (int j = 0; j < IFN_QK_K / 16; j++) {
        const float d = ifn_f16_to_f32(b->d) * (float)b->scales[j];
        if (d == 0.0f) continue;
        for (int ii = 0; ii < 16; ii++) {
            const int l = clamp_int(ifn_quant_nearest_int(x[16 * j + ii] / d), -32, 31);
            L[16 * j + ii] = (int8_t)(l + 32);
        }
    }
    pack_q6_k(L, b);
}

/* ---- row entry points ---- */

#define DEFINE_ROW_ENCODER(name, block_type, encode_block)                                         \
    void name(const float *src, void *dst, int64_t n_blocks) {                                     \
        for (int64_t i = 0; i < n_blocks; i++) {                                                   \
            block_type b;                                                                          \
            memset(&b, 0, sizeof b);                                                               \
            encode_block(src + i * IFN_QK_K, &b);                                                  \
            memcpy((unsigned char *)dst + i * (int64_t)sizeof b, &b, sizeof b);                    \
        }                                                                                          \
    }

DEFINE_ROW_ENCODER(ifn_quant_kquant_q2_k, ifn_block_q2_k, encode_q2_k_block)
DEFINE_ROW_ENCODER(ifn_quant_kquant_q3_k, ifn_block_q3_k, encode_q3_k_block)
DEFINE_ROW_ENCODER(ifn_quant_kquant_q4_k, ifn_block_q4_k, encode_q4_k_block)
DEFINE_ROW_ENCODER(ifn_quant_kquant_q5_k, ifn_block_q5_k, encode_q5_k_block)
DEFINE_ROW_ENCODER(ifn_quant_kquant_q6_k, ifn_block_q6_k, encode_q6_k_block)
