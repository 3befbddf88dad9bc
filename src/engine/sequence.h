/* One sample being generated: its tokens (prompt then generated), its KV block table, sampler,
 * streaming detokenizer and stop-string matcher. Sequences of one request (n > 1) share the
 * prompt's KV blocks. An embedding sequence only evaluates its prompt, summing the final hidden
 * states into embd_sum. Owned by the engine thread. */
#ifndef IFN_ENGINE_SEQUENCE_H
#define IFN_ENGINE_SEQUENCE_H

#include <stdint.h>

#include "engine/block_table.h"
#include "engine/sampler.h"
#include "engine/stop.h"
#include "inferneo/inferneo.h"
#include "tokenizer/vocab.h"

typedef enum ifn_seq_state {
    IFN_SEQ_WAITING = 0,  /* queued (new, or preempted and to be recomputed) */
    IFN_SEQ_RUNNING = 1,  /* holds KV blocks, scheduled every step */
    IFN_SEQ_FORKING = 2,  /* sample i > 0 waiting for sample 0's prompt to be computed */
    IFN_SEQ_FINISHED = 3,
} ifn_seq_state;

typedef struct ifn_sequence {
    void *request;            /* the engine's request state (opaque here) */
    int32_t index;            /* sample index within the request */
    int32_t priority;
    uint64_t arrival;         /* submission order, for FCFS among equal priorities */
    ifn_seq_state state;
    ifn_token_vec tokens;     /* prompt followed by generated tokens */
    int32_t n_prompt;
    int32_t n_generated;
    int32_t n_cached_prompt;  /* prompt positions the prefix cache supplied at first admission */
    int is_admitted_once;
    int hit_stop_string;      /* finished by a stop string: nothing withheld is emitted */
    ifn_block_table table;    /* table.n_tokens = positions whose K/V are computed */
    ifn_sampler *sampler;
    ifn_detok_stream detok;
    ifn_stop_matcher *stops;  /* NULL when the request has no stop strings */
    int64_t first_scheduled_ns;
    int64_t first_token_ns;
    int32_t step_tokens;      /* tokens scheduled in the current step (0 = not scheduled) */
    int32_t logits_row;       /* logits row in the current step, -1 = none */
    float *embd_sum;          /* [n_embd] sum of the final-normed hidden states of the positions
                                 computed so far; NULL for a generating sequence */
    int32_t n_embd;
} ifn_sequence;

/* Positions still to compute before the next token can be sampled. */
static inline int32_t ifn_sequence_pending(const ifn_sequence *seq) {
    return (int32_t)seq->tokens.count - seq->table.n_tokens;
}

/* Sets up a sequence over a copy of the prompt; n_vocab is the length of a logits row.
 * The detokenizer strips SentencePiece's leading space when the prompt ends with BOS.
 * Errors: IFN_E_NOMEM, IFN_E_INVALID (sampler parameters, empty stop string). On failure the
 * sequence is left deinitialised. */
ifn_status ifn_sequence_init(ifn_sequence *seq, const int32_t *prompt, int32_t n_prompt,
                             const ifn_generate_params *sampling, uint64_t seed, int32_t n_vocab,
                             const ifn_str *stops, int32_t n_stops, const ifn_vocab *vocab);

/* Makes seq an embedding sequence: allocates a zeroed embd_sum of n_embd floats (owned by the
 * sequence, freed by ifn_sequence_deinit). The scheduler then asks no logits for it and does not
 * reuse cached prefix blocks for it. Errors: IFN_E_NOMEM. */
ifn_status ifn_sequence_enable_embedding(ifn_sequence *seq, int32_t n_embd);

/* Releases blocks (into `cache`, may be NULL if none are held) and frees everything. */
void ifn_sequence_deinit(ifn_sequence *seq, ifn_kv_cache *cache);

/* Gives back all KV blocks so the sequence recomputes its tokens from scratch later
 * (preemption by recomputation); an embedding sum restarts from zero with them. */
void ifn_sequence_drop_kv(ifn_sequence *seq, ifn_kv_cache *cache);

#endif
