/* The Llama forward pass for one sequence with a contiguous float32 KV cache: a batch of prompt
 * tokens (prefill) or a single token (decode) at consecutive positions. Owned by one thread.
 * (The paged, multi-sequence cache of the scheduler builds on the same per-layer steps.) */
#ifndef IFN_ENGINE_FORWARD_H
#define IFN_ENGINE_FORWARD_H

#include <stdint.h>

#include "inferneo/status.h"
#include "model/model.h"
#include "tensor/pool.h"

typedef struct ifn_forward ifn_forward;

typedef struct ifn_forward_params {
    int32_t n_ctx;     /* positions the KV cache holds; 0 = the model's training context */
    int32_t max_batch; /* tokens per internal chunk; 0 = 64 */
    ifn_pool *pool;    /* borrowed compute threads (must outlive the context); NULL = caller only */
    int exact;         /* 1: exactly decoded weights x float32 activations (reference accuracy);
                          0: activations rounded to 8-bit blocks for integer dot products (fast) */
} ifn_forward_params;

ifn_forward_params ifn_forward_params_default(void);

/* Retains the model until destroyed. Errors: IFN_E_INVALID, IFN_E_NOMEM. */
ifn_status ifn_forward_create(ifn_model *model, const ifn_forward_params *params,
                              ifn_forward **out_forward);
void ifn_forward_destroy(ifn_forward *forward);

int32_t ifn_forward_n_ctx(const ifn_forward *forward);
/* Length of a logits row (the model's output rows). */
int32_t ifn_forward_n_vocab(const ifn_forward *forward);

/* Evaluates tokens[0..n) at positions pos0..pos0+n-1, reading the cache for positions < pos0
 * and writing it for the new ones. Logits go to `logits`: [n_vocab] for the last token, or
 * [n][n_vocab] for every token when `all_logits`. Errors: IFN_E_INVALID (token id out of
 * range, n < 1, pos0 < 0), IFN_E_FULL (past n_ctx). */
ifn_status ifn_forward_eval(ifn_forward *forward, const int32_t *tokens, int32_t n, int32_t pos0,
                            float *logits, int all_logits);

/* Final hidden state (after output_norm) of the last token of the last eval: [n_embd]. For
 * embeddings. Valid until the next eval. */
const float *ifn_forward_last_hidden(const ifn_forward *forward);

#endif
