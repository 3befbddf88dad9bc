/* Token sampler: turns one step's logits into a token id. Order of operations (llama.cpp/vLLM):
 * penalties, logit bias and bans -> greedy argmax (temperature 0) or top-k -> temperature ->
 * softmax -> top-p -> min-p -> a draw from a seeded RNG (same seed, same tokens).
 * Per-token work allocates nothing: scratch is sized to the vocabulary at creation.
 * It does not decide when to stop or enforce min_tokens itself (the caller bans EOG ids).
 * Ownership: one sampler per sequence, used only by the engine thread; not thread-safe. */
#ifndef IFN_ENGINE_SAMPLER_H
#define IFN_ENGINE_SAMPLER_H

#include <stdbool.h>
#include <stdint.h>

#include "inferneo/status.h"

/* Most alternatives ifn_sampler_compute_logprobs returns (OpenAI caps top_logprobs at 20). */
#define IFN_SAMPLER_MAX_TOP_LOGPROBS 20

typedef struct ifn_sampler ifn_sampler;

/* One OpenAI-style logit_bias entry: `bias` is added to the token's logit; -100 (or -INFINITY)
 * effectively bans it, +100 effectively forces it. */
typedef struct ifn_sampler_logit_bias {
    int32_t token;
    float bias;
} ifn_sampler_logit_bias;

typedef struct ifn_sampler_params {
    float temperature; /* 0 = greedy (argmax, ties to the lowest id); must be >= 0 */
    int32_t top_k;     /* keep the k most likely tokens; <= 0 = off */
    float top_p;       /* nucleus mass in (0, 1]; 1 = off */
    float min_p;       /* drop tokens below min_p * p(most likely), in [0, 1]; 0 = off */
    /* CTRL/llama.cpp repetition penalty (> 0; 1 = off): a logit l of a token seen in the window
     * becomes l / penalty if l > 0, else l * penalty, once however often it occurs. The window
     * is the last `penalty_last_n` tokens fed to ifn_sampler_accept, prompt AND generated
     * tokens alike; -1 = the whole history (vLLM's behaviour, the default), 0 = off. */
    float repetition_penalty;
    int32_t penalty_last_n;
    /* OpenAI penalties over GENERATED tokens only (accept(..., is_prompt=false)), whole
     * history: l -= frequency_penalty * count + presence_penalty * (count > 0). 0 = off. */
    float presence_penalty;
    float frequency_penalty;
    /* Added to the logits after the penalties. Copied by ifn_sampler_create; entries for the
     * same token add up. Tokens must be in [0, n_vocab); a bias must not be NaN. */
    const ifn_sampler_logit_bias *logit_bias;
    int32_t n_logit_bias;
    uint64_t seed; /* the caller picks a random one when the request gives none */
} ifn_sampler_params;

/* One (token, log-probability) pair. */
typedef struct ifn_sampler_token_logprob {
    int32_t token;
    float logprob; /* natural log; -INFINITY for a token with a -inf/NaN logit */
} ifn_sampler_token_logprob;

/* Result of ifn_sampler_compute_logprobs for one step. */
typedef struct ifn_sampler_logprobs {
    int32_t token; /* the token asked about (normally the sampled one) */
    float logprob; /* its log-probability */
    int32_t rank;  /* 1 + number of tokens with a strictly larger logit (vLLM's rank) */
    int32_t n_top; /* entries filled in top[] */
    ifn_sampler_token_logprob top[IFN_SAMPLER_MAX_TOP_LOGPROBS]; /* most likely first; ties
                                                                    to the lowest id */
} ifn_sampler_logprobs;

/* One candidate of the final distribution (see ifn_sampler_last_candidates). */
typedef struct ifn_sampler_token_prob {
    int32_t token;
    float prob;
} ifn_sampler_token_prob;

/* Defaults: temperature 1, every filter and penalty off, penalty_last_n -1, no bias, seed 0.
 * Cannot fail. */
ifn_sampler_params ifn_sampler_params_default(void);

/* Creates a sampler for a vocabulary of n_vocab tokens. Copies what it needs from `params`
 * (the logit_bias array included). Memory: 12 bytes per vocabulary entry of scratch, plus
 * 8 per entry for each enabled penalty history (repetition; presence/frequency).
 * Errors: IFN_E_INVALID (a parameter out of range, named in ifn_last_error), IFN_E_NOMEM. */
ifn_status ifn_sampler_create(const ifn_sampler_params *params, int32_t n_vocab,
                              ifn_sampler **out_sampler);

/* Frees the sampler; NULL does nothing. */
void ifn_sampler_destroy(ifn_sampler *s);

/* Returns the sampler to its state right after create: empty history, no banned tokens, RNG
 * re-seeded from params.seed. Cannot fail. */
void ifn_sampler_reset(ifn_sampler *s);

/* Feeds one token into the penalty history: every prompt token (is_prompt = true) and every
 * token generated afterwards (is_prompt = false, normally the one ifn_sampler_sample just
 * returned; sampling does not record it by itself). Prompt tokens count only for the
 * repetition penalty window; generated ones for all penalties.
 * Errors: IFN_E_INVALID if token is outside [0, n_vocab). */
ifn_status ifn_sampler_accept(ifn_sampler *s, int32_t token, bool is_prompt);

/* Bans / un-bans a token: a banned token gets logit -inf until un-banned or reset (use it to
 * hold back EOG ids until min_tokens are generated). Banning twice is the same as once;
 * un-banning a token that is not banned does nothing. Bans survive ifn_sampler_accept.
 * Errors: IFN_E_INVALID (token out of range), IFN_E_NOMEM (ban only). */
ifn_status ifn_sampler_ban_token(ifn_sampler *s, int32_t token);
ifn_status ifn_sampler_unban_token(ifn_sampler *s, int32_t token);

/* Applies, in place on logits[n_vocab], exactly the adjustments sample() makes before any
 * filtering: repetition penalty, presence/frequency penalties, logit bias, bans (in that
 * order). Lets a caller compute "processed" logprobs or inspect the effect. Cannot fail. */
void ifn_sampler_process_logits(const ifn_sampler *s, float *logits);

/* Samples one token from logits[n_vocab] (read only; the sampler works on its own copy).
 * NaN logits count as -inf, +inf as the largest float. Greedy when temperature is 0.
 * Does not add the token to the history: call ifn_sampler_accept with it.
 * Errors: IFN_E_INVALID when every token is -inf/NaN after penalties, bias and bans (nothing
 * can be sampled; the caller ends the sequence). *out_token is written only on success. */
ifn_status ifn_sampler_sample(ifn_sampler *s, const float *logits, int32_t *out_token);

/* Copies up to `cap` candidates of the distribution the last ifn_sampler_sample call drew
 * from (after every filter, probabilities normalized to sum 1) into out[] and returns how
 * many there were in total, in no particular order. A greedy step reports its one token with
 * prob 1; before any sample, or after a failed one, it returns 0. For tests and debugging.
 * Cannot fail. */
int32_t ifn_sampler_last_candidates(const ifn_sampler *s, ifn_sampler_token_prob *out, int32_t cap);

/* Log-softmax of logits[n_vocab] for the OpenAI logprobs / top_logprobs fields: the logprob
 * and rank of `token` plus the n_top (0..20) most likely tokens. Pass the RAW model logits
 * (before penalties, bias and temperature): that is what vLLM returns by default
 * ("raw_logprobs"), and it is independent of sampling settings; for processed logprobs run
 * ifn_sampler_process_logits on a copy first. NaN logits count as -inf. Two passes over the
 * vocabulary, no allocation. Thread-safe (touches only its arguments).
 * Errors: IFN_E_INVALID (token out of range, n_top outside 0..20, every logit -inf/NaN). */
ifn_status ifn_sampler_compute_logprobs(const float *logits, int32_t n_vocab, int32_t token,
                                        int32_t n_top, ifn_sampler_logprobs *out);

#endif
