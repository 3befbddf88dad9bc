/* One forward step over a ragged batch: several sequences, each contributing a run of
 * consecutive positions (a prefill chunk, or one decode token), all evaluated in one pass so
 * every weight matrix is read once per step. A sequence asks for logits of its last token
 * (generation) and/or a running sum of its final hidden states (embeddings). Built by the
 * scheduler, read by the forward pass; owned by the engine thread. */
#ifndef IFN_ENGINE_BATCH_H
#define IFN_ENGINE_BATCH_H

#include <stdint.h>

#include "engine/block_table.h"

typedef struct ifn_batch_seq {
    const ifn_block_table *table; /* positions [pos0, pos0 + n_tokens) already reserved */
    int32_t pos0;                 /* position of the sequence's first token in this step */
    int32_t n_tokens;
    int32_t first_token;          /* index of that token in ifn_batch.tokens */
    int32_t logits_row;           /* row of ifn_batch.logits for its last token, -1 = none */
    float *embd_sum;              /* [n_embd] or NULL: the final-normed hidden state of each of
                                     its tokens is added here, in token order */
} ifn_batch_seq;

typedef struct ifn_batch {
    const int32_t *tokens; /* [n_tokens], sequences' runs back to back */
    int32_t n_tokens;
    const ifn_batch_seq *seqs;
    int32_t n_seqs;
    float *logits;         /* [rows][n_vocab] for sequences with logits_row >= 0 */
} ifn_batch;

#endif
