/* Generation parameters -> sampler. */
#include "engine/generate.h"

#include <unistd.h>

#include "util/alloc.h"
#include "util/status.h"
#include "util/time.h"

ifn_status ifn_generate_make_sampler(const ifn_generate_params *p, uint64_t seed, int32_t n_vocab,
                                     ifn_sampler **out) {
    ifn_sampler_params sp = ifn_sampler_params_default();
    sp.temperature = p->temperature;
    sp.top_k = p->top_k;
    sp.top_p = p->top_p;
    sp.min_p = p->min_p;
    sp.repetition_penalty = p->repetition_penalty;
    sp.presence_penalty = p->presence_penalty;
    sp.frequency_penalty = p->frequency_penalty;
    sp.seed = seed;
    ifn_sampler_logit_bias *bias = NULL;
    if (p->n_logit_bias > 0) {
        bias = ifn_calloc((size_t)p->n_logit_bias, sizeof *bias);
        if (!bias) return ifn_fail(IFN_E_NOMEM, "generate: no memory for logit bias");
        for (int32_t i = 0; i < p->n_logit_bias; i++) {
            bias[i].token = p->logit_bias[i].token;
            bias[i].bias = p->logit_bias[i].bias;
        }
    }
    sp.logit_bias = bias;
    sp.n_logit_bias = p->n_logit_bias > 0 ? p->n_logit_bias : 0;
    ifn_status st = ifn_sampler_create(&sp, n_vocab, out); /* copies the bias array */
    ifn_free(bias);
    return st;
}

uint64_t ifn_generate_pick_seed(const ifn_generate_params *p) {
    return p->has_seed ? p->seed : (uint64_t)ifn_time_now_ns() ^ ((uint64_t)getpid() << 32);
}
