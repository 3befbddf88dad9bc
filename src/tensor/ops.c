/* Forward-pass ops over float32 activations. Matrix products read each weight row once per
 * batch, so prefill costs one pass over the weights, not one per token. */
#include "tensor/ops.h"

#include <string.h>

#include "kernels/dequant.h"
#include "kernels/kernels.h"
#include "util/half.h"
#include "util/status.h"

/* Weight bytes per row tile of the matrix product: well inside a 512 KiB-1 MiB L2. */
#define MATMUL_TILE_BYTES (128 * 1024)

/* Traits for weight types the kernel table cannot multiply directly: float activations, rows
 * decoded into scratch by ifn_ops_matmul. */
static const ifn_matmul_traits g_decode_then_dot = {.act_type = IFN_DTYPE_F32};

/* Activation bytes of one token tile of the packed product: every row group sweeps the tile,
 * so it should stay in L2 while the groups stream past. */
#define PACKED_TILE_BYTES (192 * 1024)
/* Weight bytes of one block of groups that stays in L2 while many tokens pass (half of a
 * 512 KiB L2; the other half holds the tokens' activations). */
#define PACKED_BLOCK_BYTES (256 * 1024)
/* Token tiles smaller than this switch the product to row blocks (see matmul_packed). */
#define PACKED_MIN_TILE 32

const ifn_matmul_traits *ifn_ops_traits(const ifn_tensor *w, int exact) {
    const ifn_kernels *k = ifn_kernels_get();
    if (!exact && w->packed && k->matmul_packed[w->type].gemm_x8) return &k->matmul_packed[w->type];
    const ifn_matmul_traits *tr = exact ? &k->matmul_exact[w->type] : &k->matmul[w->type];
    if (tr->vec_dot && (tr->act_type == IFN_DTYPE_F32 || tr->quantize_act)) return tr;
    return &g_decode_then_dot;
}

int ifn_ops_same_act(const ifn_matmul_traits *a, const ifn_matmul_traits *b) {
    return a->act_type == b->act_type && a->quantize_act == b->quantize_act;
}

int ifn_ops_can_pack(const ifn_tensor *w) {
    return w->data && ifn_kernels_get()->matmul_packed[w->type].pack_x8 && w->n_rows % 8 == 0 &&
           w->n_rows > 0;
}

/* Bytes of one packed group of w's rows under traits tr. */
static size_t group_bytes_of(const ifn_tensor *w, const ifn_matmul_traits *tr) {
    const ifn_dtype_info *info = ifn_dtype_get_info(w->type);
    return (size_t)(w->n_cols / info->block_elems) * (size_t)tr->group_block_bytes;
}

size_t ifn_ops_packed_bytes(const ifn_tensor *w) {
    if (!ifn_ops_can_pack(w)) return 0;
    return (size_t)(w->n_rows / 8) * group_bytes_of(w, &ifn_kernels_get()->matmul_packed[w->type]);
}

ifn_status ifn_ops_pack_rows(const ifn_tensor *w, void *out, int64_t row_begin, int64_t row_end) {
    if (!ifn_ops_can_pack(w))
        return ifn_fail(IFN_E_UNSUPPORTED, "ops: no packed kernels for a %lld-row %s tensor",
                        (long long)w->n_rows, ifn_dtype_get_info(w->type)->name);
    if (row_begin % 8 || row_end % 8 || row_begin < 0 || row_end > w->n_rows)
        return ifn_fail(IFN_E_INVALID, "ops: pack range %lld..%lld is not in whole groups",
                        (long long)row_begin, (long long)row_end);
    const ifn_matmul_traits *tr = &ifn_kernels_get()->matmul_packed[w->type];
    const size_t group_bytes = group_bytes_of(w, tr);
    for (int64_t r = row_begin; r < row_end; r += 8)
        tr->pack_x8(ifn_tensor_row(w, r), w->row_bytes, w->n_cols,
                    (unsigned char *)out + (size_t)(r / 8) * group_bytes);
    return IFN_OK;
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

/* Packed groups of rows [r0, r1) against nt tokens (y: the first token's output row), two
 * groups per call where the traits have a 16-row kernel. */
static void run_groups(const ifn_matmul_traits *tr, const unsigned char *packed,
                       size_t group_bytes, int64_t r0, int64_t r1, const unsigned char *act,
                       size_t act_stride, int64_t nt, int64_t n_cols, float *y, int64_t y_stride) {
    int64_t r = r0;
    if (tr->gemm_x16)
        for (; r + 16 <= r1; r += 16)
            tr->gemm_x16(packed + (size_t)(r / 8) * group_bytes, act, act_stride, nt, n_cols,
                         y + r, y_stride);
    for (; r < r1; r += 8)
        tr->gemm_x8(packed + (size_t)(r / 8) * group_bytes, act, act_stride, nt, n_cols, y + r,
                    y_stride);
}

/* Packed groups of rows [row_begin, row_end): tokens in L2-sized tiles, each tile swept by
 * every group while the group's weights sit in L1. */
static void matmul_packed(const ifn_tensor *w, const ifn_matmul_traits *tr,
                          const unsigned char *act, size_t act_stride, int64_t n_tokens, float *y,
                          int64_t y_stride, int64_t row_begin, int64_t row_end) {
    IFN_ASSERT(row_begin % 8 == 0 && (row_end % 8 == 0 || row_end == w->n_rows));
    const size_t group_bytes = group_bytes_of(w, tr);
    /* Bytes of one activation row actually read: 4 per float, about 1.2 per 8-bit element. */
    const size_t used = tr->act_type == IFN_DTYPE_F32 ? (size_t)w->n_cols * 4
                                                      : (size_t)w->n_cols / 32 * 40;
    int64_t tile = (int64_t)(PACKED_TILE_BYTES / (used ? used : 1)) / 4 * 4;
    if (tile < 4) tile = 4;
    const unsigned char *packed = w->packed;
    if (n_tokens <= tile || tile >= PACKED_MIN_TILE) {
        /* Token tiles outermost: each group's weights stay in L1 for the whole tile, and are
         * read from memory once per tile. */
        for (int64_t t0 = 0; t0 < n_tokens; t0 += tile) {
            const int64_t nt = n_tokens - t0 < tile ? n_tokens - t0 : tile;
            run_groups(tr, packed, group_bytes, row_begin, row_end, act + (size_t)t0 * act_stride,
                       act_stride, nt, w->n_cols, y + t0 * y_stride, y_stride);
        }
        return;
    }
    /* Wide activation rows leave tiles of few tokens, and tiles outermost would stream the
     * weights from memory once per few tokens. Instead a block of groups (about
     * PACKED_BLOCK_BYTES) stays in L2 while all the tokens pass four at a time, so the weights
     * come from memory once and the activations from L3 once per block. Each (row, token)
     * output is still one kernel call's, so the results are the same bits either way. */
    int64_t block_rows = (int64_t)(PACKED_BLOCK_BYTES / group_bytes) * 8;
    if (block_rows < 8) block_rows = 8;
    for (int64_t r0 = row_begin; r0 < row_end; r0 += block_rows) {
        const int64_t r1 = row_end - r0 < block_rows ? row_end : r0 + block_rows;
        for (int64_t t0 = 0; t0 < n_tokens; t0 += 4) {
            const int64_t nt = n_tokens - t0 < 4 ? n_tokens - t0 : 4;
            run_groups(tr, packed, group_bytes, r0, r1, act + (size_t)t0 * act_stride, act_stride,
                       nt, w->n_cols, y + t0 * y_stride, y_stride);
        }
    }
}

void ifn_ops_matmul(const ifn_tensor *w, const ifn_matmul_traits *tr, const void *act,
                    size_t act_stride, int64_t n_tokens, float *y, int64_t y_stride,
                    int64_t row_begin, int64_t row_end, float *row_scratch) {
    const int64_t n_cols = w->n_cols;
    const unsigned char *act_bytes = act;
    if (tr->gemm_x8) {
        matmul_packed(w, tr, act_bytes, act_stride, n_tokens, y, y_stride, row_begin, row_end);
        return;
    }
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
