/* Internal layout of ifn_model, shared by the loaders (model.c, arch_llama.c, llama2c.c).
 * Not for use outside src/model/. */
#ifndef IFN_MODEL_MODEL_IMPL_H
#define IFN_MODEL_MODEL_IMPL_H

#include <stdatomic.h>

#include "model/model.h"
#include "util/mmap.h"

typedef struct owned_buffer {
    struct owned_buffer *next;
} owned_buffer;

struct ifn_model {
    atomic_int ref_count;
    ifn_model_format format;
    ifn_hparams hp;
    ifn_weight tok_embd;
    ifn_weight output_norm;
    ifn_weight output;
    int is_output_tied;
    ifn_layer_weights *layers; /* [hp.n_layer] */
    const float *rope_factors;
    ifn_gguf *gguf;            /* owned, GGUF models */
    ifn_mmap map;              /* owned, llama2.c models */
    owned_buffer *buffers;     /* converted data, freed with the model */
    size_t weight_bytes;
    size_t owned_bytes;
};

/* Allocates a zeroed buffer owned by the model (freed with it). NULL on overflow/no memory. */
void *ifn_model_alloc_buffer(ifn_model *model, size_t count, size_t elem_size);

/* Fills model->hp, weights and layers from a parsed GGUF (llama-family architectures). */
ifn_status ifn_arch_llama_load(ifn_model *model);

/* Gives the matrices the kernel table has packed kernels for a packed copy (model/repack.c);
 * IFN_REPACK=0 in the environment skips it. */
ifn_status ifn_model_repack(ifn_model *model);

/* Fills the model from a llama2.c checkpoint already mapped in model->map. */
ifn_status ifn_llama2c_load(ifn_model *model);

#endif
