/* A loaded model: hyper-parameters plus read-only weight views. Weights point into the mapped
 * file when used as stored (GGUF), or into buffers the model owns (converted llama2.c data, norms
 * widened to F32). Shared across threads by reference count (ifn_model_retain/release); a model
 * is immutable once loaded. The tokenizer is not part of it (model and tokenizer are peers). */
#ifndef IFN_MODEL_MODEL_H
#define IFN_MODEL_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "inferneo/status.h"
#include "kernels/dtype.h"
#include "tensor/tensor.h"

typedef struct ifn_gguf ifn_gguf;

typedef enum ifn_rope_kind {
    IFN_ROPE_NORM = 0, /* adjacent pairs (x[2i], x[2i+1]): llama, llama2.c */
    IFN_ROPE_NEOX = 1, /* halves (x[i], x[i + n_rot/2]): qwen2 and GPT-NeoX style */
} ifn_rope_kind;

typedef struct ifn_hparams {
    char arch[32];         /* general.architecture, e.g. "llama" */
    int32_t n_vocab;
    int32_t n_ctx_train;   /* context length the model was trained with */
    int32_t n_embd;
    int32_t n_layer;
    int32_t n_ff;
    int32_t n_head;
    int32_t n_head_kv;
    int32_t head_dim;      /* n_embd / n_head unless the file says otherwise */
    int32_t n_rot;         /* rotated dimensions per head (<= head_dim) */
    ifn_rope_kind rope_kind;
    float rope_freq_base;
    float rope_freq_scale; /* 1 / linear scaling factor */
    float rms_eps;
} ifn_hparams;

/* Weights are tensor views (tensor/tensor.h); absent optional tensors have data NULL. */
typedef ifn_tensor ifn_weight;

typedef struct ifn_layer_weights {
    ifn_weight attn_norm; /* [n_embd] F32 */
    ifn_weight wq;        /* [n_head * head_dim][n_embd] */
    ifn_weight wk;        /* [n_head_kv * head_dim][n_embd] */
    ifn_weight wv;        /* [n_head_kv * head_dim][n_embd] */
    ifn_weight wo;        /* [n_embd][n_head * head_dim] */
    ifn_weight bq, bk, bv; /* optional F32 biases (qwen2) */
    ifn_weight ffn_norm;  /* [n_embd] F32 */
    ifn_weight w_gate;    /* [n_ff][n_embd] */
    ifn_weight w_up;      /* [n_ff][n_embd] */
    ifn_weight w_down;    /* [n_embd][n_ff] */
} ifn_layer_weights;

typedef enum ifn_model_format {
    IFN_MODEL_FORMAT_GGUF = 0,
    IFN_MODEL_FORMAT_LLAMA2C = 1,
} ifn_model_format;

typedef struct ifn_model ifn_model;

/* Loads a model file, detecting its format from the first bytes (GGUF magic, otherwise a
 * llama2.c checkpoint). Errors: IFN_E_IO, IFN_E_FORMAT (malformed, message names what),
 * IFN_E_UNSUPPORTED (unknown architecture or a tensor type we cannot run), IFN_E_NOMEM.
 * The result has one reference. */
ifn_status ifn_model_load(const char *path, ifn_model **out_model);

void ifn_model_retain(ifn_model *model);
/* Drops a reference; frees the model with the last one. NULL-safe. */
void ifn_model_release(ifn_model *model);

const ifn_hparams *ifn_model_hparams(const ifn_model *model);
ifn_model_format ifn_model_format_of(const ifn_model *model);
const ifn_weight *ifn_model_tok_embd(const ifn_model *model);
const ifn_weight *ifn_model_output_norm(const ifn_model *model);
/* The classifier; the token embedding itself when the model ties them. */
const ifn_weight *ifn_model_output(const ifn_model *model);
const ifn_layer_weights *ifn_model_layer(const ifn_model *model, int32_t layer);
/* Per-dimension RoPE frequency factors [n_rot / 2] (Llama 3.1 rope_freqs), or NULL. */
const float *ifn_model_rope_factors(const ifn_model *model);

/* The GGUF the model came from (borrowed, lives as long as the model), NULL for llama2.c. */
const ifn_gguf *ifn_model_gguf(const ifn_model *model);

/* Bytes of weights (as stored) and of memory the model itself allocated. */
size_t ifn_model_weight_bytes(const ifn_model *model);
int ifn_model_tied_output(const ifn_model *model);

#endif
