/* A read-only 2-D tensor view: n_rows rows of n_cols elements of one dtype, rows contiguous.
 * 1-D tensors have n_rows = 1. The view does not own its data. */
#ifndef IFN_TENSOR_TENSOR_H
#define IFN_TENSOR_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/dtype.h"

typedef struct ifn_tensor {
    ifn_dtype type;
    int64_t n_cols;
    int64_t n_rows;
    size_t row_bytes;
    const void *data; /* NULL for an absent optional tensor */
    /* The same rows repacked into eight-row groups for the kernel table's matmul_packed traits
     * (group g = rows 8g..8g+7, 8 * row_bytes bytes), or NULL. Set by the model loader, which
     * owns it; data stays valid for paths that need plain rows. */
    const void *packed;
} ifn_tensor;

/* Start of row `row` (caller guarantees 0 <= row < n_rows). */
static inline const void *ifn_tensor_row(const ifn_tensor *t, int64_t row) {
    return (const unsigned char *)t->data + (size_t)row * t->row_bytes;
}

#endif
