/* One-sequence generation loop. Text flows token -> streaming detokenizer (complete UTF-8 only)
 * -> stop matcher (holds back possible stop-string prefixes) -> callback. */
#include "engine/generate.h"

#include <unistd.h>

#include "engine/sampler.h"
#include "engine/stop.h"
#include "util/alloc.h"
#include "util/status.h"
#include "util/time.h"

typedef struct loop_state {
    const ifn_generate_request *req;
    const ifn_vocab *vocab;
    ifn_sampler *sampler;
    ifn_stop_matcher *stops;
    ifn_detok_stream detok;
    char text[512];
    int is_cancelled;
    int is_stopped;
} loop_state;

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

static ifn_status make_stops(const ifn_generate_params *p, ifn_stop_matcher **out) {
    *out = NULL;
    if (p->n_stop <= 0) return IFN_OK;
    ifn_str *views = ifn_calloc((size_t)p->n_stop, sizeof *views);
    if (!views) return ifn_fail(IFN_E_NOMEM, "generate: no memory for stop strings");
    for (int32_t i = 0; i < p->n_stop; i++) views[i] = ifn_str_from_cstr(p->stop[i]);
    ifn_status st = ifn_stop_matcher_create(views, p->n_stop, out);
    ifn_free(views);
    return st;
}

/* Passes final text to the callback, through the stop matcher when there is one. */
static ifn_status emit(loop_state *s, const char *text, size_t len, int is_final) {
    if (s->stops) {
        ifn_stop_result r;
        if (is_final) {
            ifn_stop_matcher_flush(s->stops, &r);
        } else {
            ifn_status st = ifn_stop_matcher_push(s->stops, text, len, &r);
            if (st != IFN_OK) return st;
        }
        text = r.emit;
        len = r.emit_len;
        if (r.is_stopped) s->is_stopped = 1;
    }
    if (len > 0 && s->req->on_text && s->req->on_text(text, len, s->req->user)) s->is_cancelled = 1;
    return IFN_OK;
}

static int is_stop_token(const loop_state *s, int32_t token) {
    if (!s->req->params->ignore_eos && ifn_vocab_is_eog(s->vocab, token)) return 1;
    for (int32_t i = 0; i < s->req->n_stop_token_ids; i++)
        if (s->req->stop_token_ids[i] == token) return 1;
    return 0;
}

/* Samples, streams and evaluates until a stop condition; fills the result's counters. */
static ifn_status decode_loop(loop_state *s, ifn_forward *fwd, float *logits,
                              ifn_generate_result *res) {
    int32_t pos = (int32_t)s->req->n_prompt;
    const int32_t max_tokens = s->req->params->max_tokens;
    res->finish_reason = IFN_FINISH_LENGTH;
    while (res->n_generated_tokens < max_tokens) {
        int32_t token;
        ifn_status st = ifn_sampler_sample(s->sampler, logits, &token);
        if (st != IFN_OK) return st;
        res->n_generated_tokens++;
        if (is_stop_token(s, token)) {
            res->finish_reason = IFN_FINISH_STOP;
            break;
        }
        ifn_sampler_accept(s->sampler, token, 0);
        size_t len = 0;
        st = ifn_detok_stream_push(&s->detok, token, s->text, sizeof s->text, &len);
        if (st != IFN_OK) return st;
        st = emit(s, s->text, len, 0);
        if (st != IFN_OK) return st;
        if (s->is_stopped || s->is_cancelled) {
            res->finish_reason = s->is_stopped ? IFN_FINISH_STOP : IFN_FINISH_CANCELLED;
            return IFN_OK;
        }
        if (res->n_generated_tokens >= max_tokens || pos >= ifn_forward_n_ctx(fwd)) break;
        st = ifn_forward_eval(fwd, &token, 1, pos++, logits, 0);
        if (st != IFN_OK) return st;
    }
    size_t len = ifn_detok_stream_flush(&s->detok, s->text, sizeof s->text);
    ifn_status st = len > 0 ? emit(s, s->text, len, 0) : IFN_OK;
    if (st == IFN_OK && !s->is_stopped && !s->is_cancelled) st = emit(s, NULL, 0, 1);
    if (st != IFN_OK) return st;
    if (s->is_stopped) res->finish_reason = IFN_FINISH_STOP;
    if (s->is_cancelled) res->finish_reason = IFN_FINISH_CANCELLED;
    return IFN_OK;
}

static ifn_status check_request(const ifn_forward *fwd, const ifn_generate_request *req) {
    if (req->n_prompt == 0) return ifn_fail(IFN_E_INVALID, "generate: the prompt is empty");
    if (req->params->max_tokens < 0)
        return ifn_fail(IFN_E_INVALID, "generate: max_tokens %d is negative", req->params->max_tokens);
    if (req->n_prompt > (size_t)ifn_forward_n_ctx(fwd))
        return ifn_fail(IFN_E_FULL, "generate: the prompt has %zu tokens but the context holds %d",
                        req->n_prompt, ifn_forward_n_ctx(fwd));
    return IFN_OK;
}

ifn_status ifn_generate_run(ifn_forward *fwd, const ifn_vocab *vocab,
                            const ifn_generate_request *req, ifn_generate_result *out_result) {
    ifn_generate_result res = {(int32_t)req->n_prompt, 0, IFN_FINISH_LENGTH, 0.0, 0.0};
    loop_state s = {.req = req, .vocab = vocab};
    const int32_t n_vocab = ifn_forward_n_vocab(fwd);
    float *logits = ifn_malloc(sizeof(float) * (size_t)n_vocab);
    ifn_status st = logits ? check_request(fwd, req)
                           : ifn_fail(IFN_E_NOMEM, "generate: no memory for logits");
    if (st == IFN_OK)
        st = ifn_generate_make_sampler(req->params, ifn_generate_pick_seed(req->params), n_vocab,
                                       &s.sampler);
    if (st == IFN_OK) st = make_stops(req->params, &s.stops);
    for (size_t i = 0; st == IFN_OK && i < req->n_prompt; i++)
        st = ifn_sampler_accept(s.sampler, req->prompt[i], 1);
    if (st != IFN_OK) goto out;
    /* After a lone BOS, SentencePiece drops the first piece's leading space (as llama2.c does). */
    int strips = req->prompt[req->n_prompt - 1] == ifn_vocab_bos(vocab);
    ifn_detok_stream_init(&s.detok, vocab, strips ? IFN_DETOKENIZE_STRIP_LEADING : 0);
    int64_t t0 = ifn_time_now_ns();
    st = ifn_forward_eval(fwd, req->prompt, (int32_t)req->n_prompt, 0, logits, 0);
    int64_t t1 = ifn_time_now_ns();
    if (st == IFN_OK) st = decode_loop(&s, fwd, logits, &res);
    res.prompt_seconds = (double)(t1 - t0) / 1e9;
    res.generate_seconds = (double)(ifn_time_now_ns() - t1) / 1e9;
out:
    ifn_free(logits);
    ifn_stop_matcher_destroy(s.stops);
    ifn_sampler_destroy(s.sampler);
    if (st == IFN_OK) *out_result = res;
    return st;
}
