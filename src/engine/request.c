/* Request validation, deep copy and sequence set-up (see request.h). Everything a request points
 * at is copied here, so nothing the engine thread reads belongs to the submitter. */
#include "engine/request.h"

#include <string.h>

#include "engine/block_table.h"
#include "engine/generate.h"
#include "util/alloc.h"
#include "util/status.h"
#include "util/str.h"
#include "util/time.h"

#define MAX_STOPS 64

void ifn_request_init(ifn_request *r) {
    memset(r, 0, sizeof *r);
    r->sampling = ifn_generate_params_default();
    r->n = 1;
    r->top_logprobs = -1;
}

void ifn_request_destroy(ifn_request_state *r, ifn_kv_cache *cache) {
    if (!r) return;
    for (int32_t i = 0; r->seqs && i < r->req.n; i++)
        ifn_sequence_deinit(&r->seqs[i], cache);
    ifn_free(r->seqs);
    for (int32_t i = 0; r->stop_copies && i < r->req.sampling.n_stop; i++)
        ifn_free(r->stop_copies[i]);
    ifn_free(r->stop_copies);
    ifn_free(r->prompt_copy);
    ifn_free(r->bias_copy);
    ifn_free(r->stop_ids_copy);
    ifn_free(r);
}

ifn_status ifn_request_check(const ifn_request *req, const ifn_request_limits *lim) {
    const ifn_kv_cache_params *kp = ifn_kv_cache_get_params(lim->cache);
    /* A generating sequence needs a position beyond its prompt; an embedding does not. */
    int32_t positions = req->n_prompt + (req->embedding ? 0 : 1);
    if (!req->prompt || req->n_prompt < 1) return ifn_fail(IFN_E_INVALID, "the prompt is empty");
    if (req->n_prompt >= lim->n_ctx)
        return ifn_fail(IFN_E_INVALID, "the prompt has %d tokens; the context holds %d",
                        req->n_prompt, lim->n_ctx);
    if (ifn_block_table_blocks_for(lim->cache, positions) > kp->n_blocks)
        return ifn_fail(IFN_E_INVALID, "the prompt needs more KV memory than the cache has");
    if (req->n < 1 || req->n > 128) return ifn_fail(IFN_E_INVALID, "n must be in 1..128");
    if (req->embedding && req->n != 1)
        return ifn_fail(IFN_E_INVALID, "an embedding request must have n = 1");
    if (req->sampling.max_tokens < 0) return ifn_fail(IFN_E_INVALID, "max_tokens is negative");
    if (req->top_logprobs > IFN_SAMPLER_MAX_TOP_LOGPROBS)
        return ifn_fail(IFN_E_INVALID, "top_logprobs must be at most 20");
    for (int32_t i = 0; i < req->n_prompt; i++)
        if (req->prompt[i] < 0 || req->prompt[i] >= lim->n_vocab)
            return ifn_fail(IFN_E_INVALID, "token id %d is outside the vocabulary", req->prompt[i]);
    for (int32_t i = 0; i < req->sampling.n_stop; i++)
        if (!req->sampling.stop[i] || !req->sampling.stop[i][0])
            return ifn_fail(IFN_E_INVALID, "stop strings must not be empty");
    return IFN_OK;
}

/* Copies everything the request points at, so the caller's buffers may go away. */
static ifn_status copy_request(ifn_request_state *r, const ifn_request *req) {
    r->req = *req;
    size_t np = (size_t)req->n_prompt, nb = (size_t)req->sampling.n_logit_bias;
    size_t ns = (size_t)req->sampling.n_stop, ni = (size_t)req->n_stop_token_ids;
    r->prompt_copy = ifn_malloc(sizeof(int32_t) * np);
    r->bias_copy = nb ? ifn_malloc(sizeof(ifn_logit_bias) * nb) : NULL;
    r->stop_copies = ns ? ifn_calloc(ns, sizeof(char *)) : NULL;
    r->stop_ids_copy = ni ? ifn_malloc(sizeof(int32_t) * ni) : NULL;
    r->seqs = ifn_calloc((size_t)req->n, sizeof *r->seqs);
    if (!r->prompt_copy || (nb && !r->bias_copy) || (ns && !r->stop_copies) ||
        (ni && !r->stop_ids_copy) || !r->seqs)
        return ifn_fail(IFN_E_NOMEM, "engine: no memory for a request");
    memcpy(r->prompt_copy, req->prompt, sizeof(int32_t) * np);
    if (nb) memcpy(r->bias_copy, req->sampling.logit_bias, sizeof(ifn_logit_bias) * nb);
    if (ni) memcpy(r->stop_ids_copy, req->stop_token_ids, sizeof(int32_t) * ni);
    for (size_t i = 0; i < ns; i++) {
        r->stop_copies[i] = ifn_strndup(req->sampling.stop[i], strlen(req->sampling.stop[i]));
        if (!r->stop_copies[i]) return ifn_fail(IFN_E_NOMEM, "engine: no memory for a request");
    }
    r->req.prompt = r->prompt_copy;
    r->req.sampling.logit_bias = r->bias_copy;
    r->req.sampling.stop = (const char *const *)r->stop_copies;
    r->req.stop_token_ids = r->stop_ids_copy;
    return IFN_OK;
}

/* One sequence per sample, sample i seeded with seed + i. */
static ifn_status init_sequences(ifn_request_state *r, const ifn_request_limits *lim) {
    uint64_t seed = ifn_generate_pick_seed(&r->req.sampling);
    ifn_str stops[MAX_STOPS];
    int32_t n_stops = r->req.sampling.n_stop < MAX_STOPS ? r->req.sampling.n_stop : MAX_STOPS;
    for (int32_t i = 0; i < n_stops; i++)
        stops[i] = ifn_str_from_cstr(r->req.sampling.stop[i]);
    ifn_status st = IFN_OK;
    int32_t n = r->req.n;
    for (int32_t i = 0; st == IFN_OK && i < n; i++) {
        st = ifn_sequence_init(&r->seqs[i], r->req.prompt, r->req.n_prompt, &r->req.sampling,
                               seed + (uint64_t)i, lim->n_vocab, stops, n_stops, lim->vocab);
        if (st != IFN_OK) r->req.n = i; /* only initialised sequences are torn down */
        else if (r->req.embedding) st = ifn_sequence_enable_embedding(&r->seqs[i], lim->n_embd);
    }
    return st;
}

ifn_status ifn_request_create(const ifn_request *req, const ifn_request_limits *lim,
                              ifn_request_state **out_state) {
    ifn_request_state *r = ifn_calloc(1, sizeof *r);
    if (!r) return ifn_fail(IFN_E_NOMEM, "engine: no memory for a request");
    ifn_status st = copy_request(r, req);
    if (st == IFN_OK) st = init_sequences(r, lim);
    if (st != IFN_OK) {
        ifn_request_destroy(r, NULL);
        return st;
    }
    r->submit_ns = ifn_time_now_ns();
    if (req->timeout_ms > 0) r->deadline_ns = r->submit_ns + req->timeout_ms * 1000000;
    *out_state = r;
    return IFN_OK;
}
