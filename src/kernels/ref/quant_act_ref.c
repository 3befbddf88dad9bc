/* Scalar activation quantizers: the readable definition the AVX2 versions must reproduce byte
 * for byte. Formulas and operation order follow ggml's quantize_row_q8_{0,1,K}_ref so the fast
 * path rounds activations exactly as llama.cpp's does. Not tuned: activations are quantized
 * once per row per token, while each weight row is read once per token. */
#include "kernels/ref/quant_act_ref.h"

#include <math.h>
#include <string.h>

#include "kernels/ref/act_blocks.h"
#include "util/half.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

/* Quantizes one block of 32 like Q8_0 and returns the unrounded scale; q = roundf(x * (1/d)),
 * halves away from zero. */
static float quantize_block_32(const float *x, int8_t *qs) {
    float amax = 0.0f;
    for (int j = 0; j < IFN_QK_SMALL; j++) {
        const float v = fabsf(x[j]);
        amax = amax > v ? amax : v;
    }
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    for (int j = 0; j < IFN_QK_SMALL; j++)
        qs[j] = (int8_t)roundf(x[j] * id);
    return d;
}

void ifn_quant_act_q8_0_ref(const float *x, void *out, int64_t n) {
    ifn_block_q8_0 *y = out;
    for (int64_t i = 0; i < n / IFN_QK_SMALL; i++) {
        const float d = quantize_block_32(x + i * IFN_QK_SMALL, y[i].qs);
        y[i].d = ifn_f32_to_f16(d);
    }
}

void ifn_quant_act_q8_1_ref(const float *x, void *out, int64_t n) {
    ifn_block_q8_1 *y = out;
    for (int64_t i = 0; i < n / IFN_QK_SMALL; i++) {
        const float d = quantize_block_32(x + i * IFN_QK_SMALL, y[i].qs);
        int sum = 0;
        for (int j = 0; j < IFN_QK_SMALL; j++)
            sum += y[i].qs[j];
        y[i].d = ifn_f32_to_f16(d);
        y[i].s = ifn_f32_to_f16((float)sum * d);
    }
}

static void quantize_block_k(const float *x, ifn_block_q8_k *y) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < IFN_QK_K; j++) {
        const float ax = fabsf(x[j]);
        if (ax > amax) {
            amax = ax;
            max = x[j];
        }
    }
    if (amax == 0.0f) {
        memset(y, 0, sizeof *y);
        return;
    }
    const float iscale = -127.0f / max;
    for (int j = 0; j < IFN_QK_K; j++) {
        const int v = ifn_quant_nearest_int(iscale * x[j]);
        y->qs[j] = (int8_t)(v < 127 ? v : 127);
    }
    for (int g = 0; g < IFN_QK_K / 16; g++) {
        int sum = 0;
        for (int j = 0; j < 16; j++)
            sum += y->qs[16 * g + j];
        y->bsums[g] = (int16_t)sum;
    }
    y->d = 1.0f / iscale;
}

void ifn_quant_act_q8_k_ref(const float *x, void *out, int64_t n) {
    ifn_block_q8_k *y = out;
    for (int64_t i = 0; i < n / IFN_QK_K; i++)
        quantize_block_k(x + i * IFN_QK_K, &y[i]);
}

void ifn_quant_act_f16_ref(const float *x, void *out, int64_t n) {
    uint16_t *y = out;
    for (int64_t i = 0; i < n; i++)
        y[i] = ifn_f32_to_f16(x[i]);
}
