/* Sequence set-up and teardown. */
#include "engine/sequence.h"

#include <string.h>

#include "engine/generate.h"
#include "util/alloc.h"
#include "util/status.h"

ifn_status ifn_sequence_init(ifn_sequence *seq, const int32_t *prompt, int32_t n_prompt,
                             const ifn_generate_params *sampling, uint64_t seed, int32_t n_vocab,
                             const ifn_str *stops, int32_t n_stops, const ifn_vocab *vocab) {
    memset(seq, 0, sizeof *seq);
    ifn_block_table_init(&seq->table);
    seq->n_prompt = n_prompt;
    seq->logits_row = -1;
    ifn_status st = IFN_OK;
    for (int32_t i = 0; i < n_prompt && st == IFN_OK; i++)
        st = ifn_token_vec_push(&seq->tokens, prompt[i]);
    if (st == IFN_OK) st = ifn_generate_make_sampler(sampling, seed, n_vocab, &seq->sampler);
    for (int32_t i = 0; i < n_prompt && st == IFN_OK; i++)
        st = ifn_sampler_accept(seq->sampler, prompt[i], 1);
    if (st == IFN_OK && n_stops > 0) st = ifn_stop_matcher_create(stops, n_stops, &seq->stops);
    if (st != IFN_OK) {
        ifn_sequence_deinit(seq, NULL);
        return st;
    }
    int strips = n_prompt > 0 && prompt[n_prompt - 1] == ifn_vocab_bos(vocab);
    ifn_detok_stream_init(&seq->detok, vocab, strips ? IFN_DETOKENIZE_STRIP_LEADING : 0);
    return IFN_OK;
}

ifn_status ifn_sequence_enable_embedding(ifn_sequence *seq, int32_t n_embd) {
    seq->embd_sum = ifn_calloc((size_t)n_embd, sizeof *seq->embd_sum);
    if (!seq->embd_sum) return ifn_fail(IFN_E_NOMEM, "sequence: no memory for an embedding");
    seq->n_embd = n_embd;
    return IFN_OK;
}

void ifn_sequence_drop_kv(ifn_sequence *seq, ifn_kv_cache *cache) {
    if (cache) ifn_block_table_clear(&seq->table, cache);
    if (seq->embd_sum) memset(seq->embd_sum, 0, sizeof *seq->embd_sum * (size_t)seq->n_embd);
}

void ifn_sequence_deinit(ifn_sequence *seq, ifn_kv_cache *cache) {
    ifn_sequence_drop_kv(seq, cache);
    ifn_block_table_deinit(&seq->table);
    ifn_token_vec_free(&seq->tokens);
    ifn_sampler_destroy(seq->sampler);
    ifn_stop_matcher_destroy(seq->stops);
    ifn_free(seq->embd_sum);
    seq->sampler = NULL;
    seq->stops = NULL;
    seq->embd_sum = NULL;
}
