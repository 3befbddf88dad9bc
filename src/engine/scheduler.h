/* Iteration-level scheduler: keeps the running and waiting sequences (each ordered by priority,
 * then arrival) and builds each step's batch: one decode token for every running sequence,
 * prefill chunks for running sequences still computing their prompt, then newly admitted
 * waiting sequences, all within max_num_seqs and a token budget (long prompts are chunked so
 * running streams keep producing tokens). When the KV cache runs out of blocks it preempts the
 * lowest-priority, newest running sequence (frees its blocks; it is recomputed later).
 * Embedding sequences are prefilled the same way but never take cached prefix blocks (every
 * position must be evaluated) and ask for no logits. Owned by the engine thread. */
#ifndef IFN_ENGINE_SCHEDULER_H
#define IFN_ENGINE_SCHEDULER_H

#include <stdint.h>

#include "engine/batch.h"
#include "engine/kv_cache.h"
#include "engine/sequence.h"

typedef struct ifn_scheduler {
    int32_t max_num_seqs;
    int32_t max_batched_tokens;
    int enable_prefix_cache;
    ifn_kv_cache *cache;          /* borrowed */
    ifn_sequence **running;
    int32_t n_running;
    ifn_sequence **waiting;
    int32_t n_waiting;
    int32_t list_capacity;
    int64_t preemptions;
    /* the batch of the current step */
    int32_t *tokens;              /* [max_batched_tokens] */
    ifn_batch_seq *seqs;          /* [seq_capacity] */
    ifn_sequence **owners;        /* [seq_capacity] sequence of each batch entry */
    int32_t seq_capacity;
    int32_t n_seqs;
    int32_t n_tokens;
    int32_t n_rows;
} ifn_scheduler;

ifn_status ifn_scheduler_init(ifn_scheduler *s, ifn_kv_cache *cache, int32_t max_num_seqs,
                              int32_t max_batched_tokens, int enable_prefix_cache);
void ifn_scheduler_deinit(ifn_scheduler *s);

/* Queues a sequence (state WAITING) in priority/arrival order. IFN_E_NOMEM. */
ifn_status ifn_scheduler_add_waiting(ifn_scheduler *s, ifn_sequence *seq);
/* Puts a sequence straight into the running list (forked samples that already share KV). */
ifn_status ifn_scheduler_add_running(ifn_scheduler *s, ifn_sequence *seq);
/* Takes a sequence out of whichever list holds it (no effect if none). */
void ifn_scheduler_remove(ifn_scheduler *s, ifn_sequence *seq);

/* Builds the next batch into `out` (n_tokens 0 when there is nothing to run; `logits` is left
 * for the caller to set). A sequence that cannot fit even in an otherwise idle cache is taken
 * out of the lists and returned in *out_unfit (NULL if none) for the caller to finish.
 * Errors: IFN_E_NOMEM. */
ifn_status ifn_scheduler_schedule(ifn_scheduler *s, ifn_batch *out, ifn_sequence **out_unfit);

#endif
