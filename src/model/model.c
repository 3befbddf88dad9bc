/* Model lifetime and accessors; format detection dispatches to the GGUF or llama2.c loader. */
#include "model/model.h"

#include <string.h>

#include "model/gguf.h"
#include "model/model_impl.h"
#include "util/alloc.h"
#include "util/log.h"
#include "util/os_memory.h"
#include "util/status.h"

/* Buffers from this size up are aligned for huge pages and advised to use them. */
#define HUGE_BUFFER_BYTES ((size_t)4 << 20)

void *ifn_model_alloc_buffer(ifn_model *model, size_t count, size_t elem_size) {
    size_t bytes;
    if (!ifn_mul_size(count, elem_size, &bytes) || bytes > SIZE_MAX - 64) return NULL;
    /* 64 bytes of header keep the payload 64-byte aligned for vector loads. */
    const int huge = bytes >= HUGE_BUFFER_BYTES;
    owned_buffer *buf = ifn_alloc_aligned(huge ? (size_t)2 << 20 : 64, bytes + 64);
    if (!buf) return NULL;
    if (huge) ifn_os_advise_huge_pages(buf, bytes + 64);
    memset(buf, 0, bytes + 64);
    buf->next = model->buffers;
    model->buffers = buf;
    model->owned_bytes += bytes;
    return (unsigned char *)buf + 64;
}

static int is_gguf_file(const char *path) {
    ifn_mmap map;
    if (ifn_mmap_open(path, &map) != IFN_OK) return 0;
    int is_gguf = map.size >= 4 && memcmp(map.data, "GGUF", 4) == 0;
    ifn_mmap_close(&map);
    return is_gguf;
}

ifn_status ifn_model_load(const char *path, ifn_model **out_model) {
    ifn_model *model = ifn_calloc(1, sizeof *model);
    if (!model) return ifn_fail(IFN_E_NOMEM, "model: no memory");
    atomic_init(&model->ref_count, 1);
    ifn_status st;
    if (is_gguf_file(path)) {
        model->format = IFN_MODEL_FORMAT_GGUF;
        st = ifn_gguf_open(path, &model->gguf);
        if (st == IFN_OK) st = ifn_arch_llama_load(model);
    } else {
        model->format = IFN_MODEL_FORMAT_LLAMA2C;
        st = ifn_mmap_open(path, &model->map);
        if (st == IFN_OK) st = ifn_llama2c_load(model);
    }
    if (st == IFN_OK) st = ifn_model_repack(model);
    if (st != IFN_OK) {
        if (!strstr(ifn_last_error(), path)) st = ifn_fail(st, "%s: %s", path, ifn_last_error());
        ifn_model_release(model);
        return st;
    }
    IFN_LOG_INFO("model", "loaded path=%s arch=%s layers=%d embd=%d vocab=%d weights_mb=%.1f", path,
                 model->hp.arch, model->hp.n_layer, model->hp.n_embd, model->hp.n_vocab,
                 (double)model->weight_bytes / 1e6);
    *out_model = model;
    return IFN_OK;
}

void ifn_model_retain(ifn_model *model) {
    atomic_fetch_add(&model->ref_count, 1);
}

void ifn_model_release(ifn_model *model) {
    if (!model || atomic_fetch_sub(&model->ref_count, 1) != 1) return;
    while (model->buffers) {
        owned_buffer *next = model->buffers->next;
        ifn_free_aligned(model->buffers);
        model->buffers = next;
    }
    ifn_gguf_close(model->gguf);
    ifn_mmap_close(&model->map);
    ifn_free(model);
}

const ifn_hparams *ifn_model_hparams(const ifn_model *m) { return &m->hp; }
ifn_model_format ifn_model_format_of(const ifn_model *m) { return m->format; }
const ifn_weight *ifn_model_tok_embd(const ifn_model *m) { return &m->tok_embd; }
const ifn_weight *ifn_model_output_norm(const ifn_model *m) { return &m->output_norm; }
const ifn_weight *ifn_model_output(const ifn_model *m) { return &m->output; }
const float *ifn_model_rope_factors(const ifn_model *m) { return m->rope_factors; }
const ifn_gguf *ifn_model_gguf(const ifn_model *m) { return m->gguf; }
size_t ifn_model_weight_bytes(const ifn_model *m) { return m->weight_bytes; }
int ifn_model_tied_output(const ifn_model *m) { return m->is_output_tied; }

const ifn_layer_weights *ifn_model_layer(const ifn_model *m, int32_t layer) {
    IFN_ASSERT(layer >= 0 && layer < m->hp.n_layer);
    return &m->layers[layer];
}
