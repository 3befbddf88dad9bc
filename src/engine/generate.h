/* The generation loop for one sequence: prefill, then sample -> detokenize -> stop-string check
 * -> decode, streaming final text to a callback. Used by ifn_llm_generate (and the CLI); the
 * scheduler runs the same steps for many sequences. Owned by the calling thread. */
#ifndef IFN_ENGINE_GENERATE_H
#define IFN_ENGINE_GENERATE_H

#include <stddef.h>
#include <stdint.h>

#include "engine/forward.h"
#include "engine/sampler.h"
#include "inferneo/inferneo.h"
#include "tokenizer/vocab.h"

typedef struct ifn_generate_request {
    const int32_t *prompt;
    size_t n_prompt;
    const ifn_generate_params *params;
    const int32_t *stop_token_ids; /* extra ids that end generation (besides EOG), may be NULL */
    int32_t n_stop_token_ids;
    ifn_text_callback on_text;
    void *user;
} ifn_generate_request;

/* A sampler for these generation parameters (logit bias converted and copied). Errors:
 * IFN_E_INVALID (parameters out of range), IFN_E_NOMEM. */
ifn_status ifn_generate_make_sampler(const ifn_generate_params *params, uint64_t seed,
                                     int32_t n_vocab, ifn_sampler **out_sampler);

/* The request's seed, or a fresh one from the clock when it gives none. Cannot fail. */
uint64_t ifn_generate_pick_seed(const ifn_generate_params *params);

/* Runs the loop from an empty cache. Errors: IFN_E_INVALID (empty prompt, bad parameters),
 * IFN_E_FULL (prompt longer than the context), IFN_E_NOMEM. Cancellation by the callback is not
 * an error: the result says IFN_FINISH_CANCELLED. */
ifn_status ifn_generate_run(ifn_forward *forward, const ifn_vocab *vocab,
                            const ifn_generate_request *request, ifn_generate_result *out_result);

#endif
