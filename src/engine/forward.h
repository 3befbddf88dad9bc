/* The Llama forward pass over a paged KV cache. ifn_forward_batch evaluates a ragged batch:
 * several sequences, each with a run of consecutive positions, in one pass (weights read once
 * per step). ifn_forward_eval is the single-sequence convenience on a private cache.
 * Results for a sequence do not depend on what else is in the batch or how its prompt was
 * chunked: every per-token computation has a fixed reduction order. Owned by one thread. */
#ifndef IFN_ENGINE_FORWARD_H
#define IFN_ENGINE_FORWARD_H

#include <stdint.h>

#include "engine/batch.h"
#include "engine/kv_cache.h"
#include "inferneo/status.h"
#include "model/model.h"
#include "tensor/pool.h"

typedef struct ifn_forward ifn_forward;

typedef struct ifn_forward_params {
    int32_t n_ctx;     /* positions one sequence may reach; 0 = the model's training context */
    int32_t max_batch; /* tokens per step; 0 = 64 (ifn_forward_eval chunks longer inputs) */
    ifn_pool *pool;    /* borrowed compute threads (must outlive the context); NULL = caller only */
    int exact;         /* 1: exactly decoded weights x float32 activations (reference accuracy);
                          0: activations rounded to 8-bit blocks for integer dot products (fast) */
    ifn_dtype kv_type; /* KV of the private cache used by ifn_forward_eval: F32 (default) or F16 */
} ifn_forward_params;

ifn_forward_params ifn_forward_params_default(void);

/* Retains the model until destroyed. Errors: IFN_E_INVALID, IFN_E_NOMEM. */
ifn_status ifn_forward_create(ifn_model *model, const ifn_forward_params *params,
                              ifn_forward **out_forward);
void ifn_forward_destroy(ifn_forward *forward);

int32_t ifn_forward_n_ctx(const ifn_forward *forward);
int32_t ifn_forward_max_batch(const ifn_forward *forward);
/* Length of a logits row (the model's output rows). */
int32_t ifn_forward_n_vocab(const ifn_forward *forward);
/* Length of a hidden state (an ifn_batch_seq.embd_sum). */
int32_t ifn_forward_n_embd(const ifn_forward *forward);

/* KV cache parameters matching this model (kv_type and block count left for the caller). */
ifn_kv_cache_params ifn_forward_kv_params(const ifn_forward *forward, int32_t block_size);

/* Evaluates one step over `cache`: writes the K/V of every batch token at its position, fills
 * batch->logits rows, and adds the final-normed hidden state (the classifier's input) of every
 * token of a sequence with embd_sum to that sum, in token order (so the sum is bit-identical
 * however a prompt is chunked or batched). Positions must be reserved in each sequence's block
 * table; the caller commits them afterwards. Errors: IFN_E_INVALID (more than max_batch tokens,
 * a token id out of range, a position past n_ctx or beyond the reserved blocks). */
ifn_status ifn_forward_batch(ifn_forward *forward, ifn_kv_cache *cache, const ifn_batch *batch);

/* Single sequence on the private cache: evaluates tokens[0..n) at positions pos0..pos0+n-1
 * (pos0 <= positions evaluated so far; a smaller pos0 rewinds). Logits: [n_vocab] for the last
 * token, or [n][n_vocab] for every token when `all_logits`. Errors: IFN_E_INVALID (token id out
 * of range, n < 1, pos0 < 0 or past what was evaluated), IFN_E_FULL (past n_ctx). */
ifn_status ifn_forward_eval(ifn_forward *forward, const int32_t *tokens, int32_t n, int32_t pos0,
                            float *logits, int all_logits);

#endif
