/* Load-time repacking: every matrix the kernel table has packed kernels for (Q8_0, Q4_0, Q4_K,
 * Q6_K, F16, BF16; a multiple of 8 rows) gets a copy in eight-row groups, which the forward pass
 * then multiplies with the packed kernels. The copy is exactly as large as the original. The
 * original's pages in the file mapping are dropped afterwards; they
 * stay readable, re-read from the file by the paths that want plain rows (the exact kernels,
 * embedding lookups), so resident memory stays about one copy of the weights.
 * IFN_REPACK=0 in the environment turns it off. */
#include <stdlib.h>
#include <string.h>

#include "model/model_impl.h"
#include "tensor/ops.h"
#include "util/alloc.h"
#include "util/log.h"
#include "util/status.h"

/* Sets w->packed to a model-owned packed copy of w, when w can be packed. `keep_pages`: the
 * plain rows are also read elsewhere (a tied embedding), so their pages stay resident. */
static ifn_status pack_weight(ifn_model *model, ifn_weight *w, int keep_pages, size_t *packed) {
    if (!ifn_ops_can_pack(w)) return IFN_OK;
    const size_t bytes = ifn_ops_packed_bytes(w);
    void *copy = ifn_model_alloc_buffer(model, bytes, 1);
    if (!copy) return ifn_fail(IFN_E_NOMEM, "model: no memory to repack a %zu-byte matrix", bytes);
    ifn_status st = ifn_ops_pack_rows(w, copy, 0, w->n_rows);
    if (st != IFN_OK) return st;
    w->packed = copy;
    if (!keep_pages) ifn_mmap_drop_pages(w->data, (size_t)w->n_rows * w->row_bytes);
    *packed += bytes;
    return IFN_OK;
}

ifn_status ifn_model_repack(ifn_model *model) {
    const char *env = getenv("IFN_REPACK");
    if (env && strcmp(env, "0") == 0) return IFN_OK;
    size_t packed = 0;
    ifn_status st = IFN_OK;
    for (int32_t il = 0; il < model->hp.n_layer && st == IFN_OK; il++) {
        ifn_layer_weights *l = &model->layers[il];
        ifn_weight *mats[] = {&l->wq, &l->wk, &l->wv, &l->wo, &l->w_gate, &l->w_up, &l->w_down};
        for (size_t i = 0; i < sizeof mats / sizeof mats[0] && st == IFN_OK; i++)
            st = pack_weight(model, mats[i], 0, &packed);
    }
    if (st == IFN_OK) st = pack_weight(model, &model->output, model->is_output_tied, &packed);
    if (st != IFN_OK) return st;
    if (packed)
        IFN_LOG_INFO("model", "repacked %.1f MB of weights into eight-row groups",
                     (double)packed / 1e6);
    return IFN_OK;
}
