/* Forward-pass ops over float32 activations. Matrix products read each weight row once per
 * batch, so prefill costs one pass over the weights, not one per token. */
#include "tensor/ops.h"

#include <string.h>

#include "kernels/dequant.h"
#include "kernels/kernels.h"
#include "util/half.h"

/* Weight bytes per row tile of the matrix product: well inside a 512 KiB-1 MiB L2. */
#define MATMUL_TILE_BYTES (128 * 1024)

/* Traits for weight types the kernel table cannot multiply directly: float activations, rows
 * decoded into scratch by ifn_ops_matmul. */
static const ifn_matmul_traits g_decode_then_dot = {.act_type = IFN_DTYPE_F32};

const ifn_matmul_traits *ifn_ops_traits(ifn_dtype weight_type, int exact) {
    const ifn_kernels *k = ifn_kernels_get();
    const ifn_matmul_traits *tr = exact ? &k->matmul_exact[weight_type] : &k->matmul[weight_type];
    if (tr->vec_dot && (tr->act_type == IFN_DTYPE_F32 || tr->quantize_act)) return tr;
    return &g_decode_then_dot;
}

size_t ifn_ops_act_row_bytes(ifn_dtype act_type, int64_t n_cols) {
    if (act_type == IFN_DTYPE_F32) return (size_t)n_cols * sizeof(float);
    return ifn_dtype_row_bytes(act_type, n_cols);
}

void ifn_ops_convert_act(const ifn_matmul_traits *tr, const float *x, int64_t n_cols, void *act,
                         size_t act_stride, int64_t tok_begin, int64_t tok_end) {
    for (int64_t t = tok_begin; t < tok_end; t++) {
        unsigned char *dst = (unsigned char *)act + (size_t)t * act_stride;
        if (tr->act_type == IFN_DTYPE_F32)
            memcpy(dst, x + t * n_cols, (size_t)n_cols * sizeof(float));
        else
            tr->quantize_act(x + t * n_cols, dst, n_cols);
    }
}

/* Rows r0..r1 of w against four tokens' activations (y: the first token's output row). With
 * Q8_0 activations the block scales of the four are converted to float once, here, into
 * `scratch` (n_cols / 8 floats), instead of once per row inside the kernel. */
static void matmul_group4(const ifn_tensor *w, const ifn_matmul_traits *tr,
                          const unsigned char *a, size_t act_stride, float *y, int64_t y_stride,
                          int64_t r0, int64_t r1, float *scratch) {
    const int64_t n_cols = w->n_cols;
    float out[4];
    if (tr->vec_dot_x4_scaled && scratch) {
        const int64_t block = 32; /* Q8_0: an F16 scale, then 32 quants */
        const size_t block_bytes = ifn_dtype_row_bytes(IFN_DTYPE_Q8_0, block);
        for (int64_t b = 0; b < n_cols / block; b++)
            for (int j = 0; j < 4; j++) {
                uint16_t h;
                memcpy(&h, a + (size_t)j * act_stride + (size_t)b * block_bytes, sizeof h);
                scratch[4 * b + j] = ifn_f16_to_f32(h);
            }
        for (int64_t r = r0; r < r1; r++) {
            tr->vec_dot_x4_scaled(ifn_tensor_row(w, r), a, act_stride, scratch, n_cols, out);
            for (int j = 0; j < 4; j++) y[j * y_stride + r] = out[j];
        }
        return;
    }
    for (int64_t r = r0; r < r1; r++) {
        tr->vec_dot_x4(ifn_tensor_row(w, r), a, act_stride, n_cols, out);
        for (int j = 0; j < 4; j++) y[j * y_stride + r] = out[j];
    }
}

void ifn_ops_matmul(const ifn_tensor *w, const ifn_matmul_traits *tr, const void *act,
                    size_t act_stride, int64_t n_tokens, float *y, int64_t y_stride,
                    int64_t row_begin, int64_t row_end, float *row_scratch) {
    const int64_t n_cols = w->n_cols;
    const unsigned char *act_bytes = act;
    if (tr->vec_dot) {
        /* Rows are taken in tiles that stay in L2 while each group of four tokens sweeps them,
         * and the four-token kernel unpacks each weight block once per group. The x4 kernels
         * give bit-identical results to vec_dot, so outputs do not depend on the grouping. */
        int64_t tile = (int64_t)(MATMUL_TILE_BYTES / (w->row_bytes ? w->row_bytes : 1));
        if (tile < 1) tile = 1;
        for (int64_t r0 = row_begin; r0 < row_end; r0 += tile) {
            int64_t r1 = r0 + tile < row_end ? r0 + tile : row_end;
            int64_t t = 0;
            for (; tr->vec_dot_x4 && t + 4 <= n_tokens; t += 4)
                matmul_group4(w, tr, act_bytes + (size_t)t * act_stride, act_stride, y + t * y_stride,
                              y_stride, r0, r1, row_scratch);
            for (; t < n_tokens; t++)
                for (int64_t r = r0; r < r1; r++)
                    y[t * y_stride + r] = tr->vec_dot(ifn_tensor_row(w, r),
                                                      act_bytes + (size_t)t * act_stride, n_cols);
        }
        return;
    }
    const ifn_kernels *k = ifn_kernels_get();
    for (int64_t r = row_begin; r < row_end; r++) {
        const float *row = ifn_tensor_row(w, r);
        if (w->type != IFN_DTYPE_F32) {
            /* Types reach here only after the loader checked ifn_dtype_info.can_dequantize. */
            (void)ifn_dequant_row(w->type, row, row_scratch, n_cols);
            row = row_scratch;
        }
        for (int64_t t = 0; t < n_tokens; t++)
            y[t * y_stride + r] =
                k->dot_f32(row, (const float *)(act_bytes + (size_t)t * act_stride), n_cols);
    }
}

ifn_status ifn_ops_get_row(const ifn_tensor *table, int64_t token, float *out) {
    const void *row = ifn_tensor_row(table, token);
    if (table->type == IFN_DTYPE_F32) {
        memcpy(out, row, (size_t)table->n_cols * sizeof(float));
        return IFN_OK;
    }
    return ifn_dequant_row(table->type, row, out, table->n_cols);
}
