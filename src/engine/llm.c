/* Public API (include/inferneo/inferneo.h): a model, its tokenizer, and a serving engine that
 * generation goes through (started on the first ifn_llm_generate). The tokenizer comes from the
 * GGUF metadata, or from a llama2.c tokenizer.bin (given, or found beside the checkpoint as
 * tokenizer.bin / tok<vocab>.bin). */
#include "inferneo/inferneo.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine.h"
#include "engine/llm.h"
#include "engine/vocab_gguf.h"
#include "model/model.h"
#include "tokenizer/llama2c_tokenizer.h"
#include "tokenizer/vocab.h"
#include "util/alloc.h"
#include "util/status.h"

struct ifn_llm {
    ifn_model *model;
    ifn_vocab *vocab;
    ifn_llm_params params;
    ifn_engine *engine;        /* created by the first ifn_llm_generate */
};

ifn_llm_params ifn_llm_params_default(void) {
    ifn_llm_params p = {NULL, NULL, 0, 0, 0};
    return p;
}

ifn_generate_params ifn_generate_params_default(void) {
    ifn_generate_params p;
    memset(&p, 0, sizeof p);
    p.max_tokens = 256;
    p.temperature = 1.0f;
    p.top_p = 1.0f;
    p.repetition_penalty = 1.0f;
    return p;
}

/* llama2.c convention: the tokenizer sits next to the checkpoint. */
static ifn_status find_llama2c_tokenizer(const char *model_path, int32_t n_vocab, char *out,
                                         size_t cap) {
    const char *slash = strrchr(model_path, '/');
    int dir_len = slash ? (int)(slash - model_path) : 1;
    const char *dir = slash ? model_path : ".";
    const char *names[2] = {"tokenizer.bin", NULL};
    char tok_name[32];
    snprintf(tok_name, sizeof tok_name, "tok%d.bin", n_vocab);
    names[1] = tok_name;
    for (int i = 0; i < 2; i++) {
        snprintf(out, cap, "%.*s/%s", dir_len, dir, names[i]);
        if (access(out, R_OK) == 0) return IFN_OK;
    }
    return ifn_fail(IFN_E_INVALID,
                    "%s is a llama2.c checkpoint: give its tokenizer with -z (no tokenizer.bin or "
                    "%s beside it)", model_path, tok_name);
}

static ifn_status load_vocab(ifn_llm *llm, const ifn_llm_params *p) {
    const ifn_hparams *hp = ifn_model_hparams(llm->model);
    if (p->tokenizer_path)
        return ifn_llama2c_tokenizer_load(p->tokenizer_path, hp->n_vocab, &llm->vocab);
    if (ifn_model_format_of(llm->model) == IFN_MODEL_FORMAT_GGUF)
        return ifn_vocab_gguf_load(ifn_model_gguf(llm->model), &llm->vocab);
    char path[4096];
    ifn_status st = find_llama2c_tokenizer(p->model_path, hp->n_vocab, path, sizeof path);
    if (st != IFN_OK) return st;
    return ifn_llama2c_tokenizer_load(path, hp->n_vocab, &llm->vocab);
}

ifn_status ifn_llm_load(const ifn_llm_params *p, ifn_llm **out_llm) {
    if (!p || !p->model_path) return ifn_fail(IFN_E_INVALID, "no model path given");
    ifn_llm *llm = ifn_calloc(1, sizeof *llm);
    if (!llm) return ifn_fail(IFN_E_NOMEM, "no memory");
    ifn_status st = ifn_model_load(p->model_path, &llm->model);
    if (st == IFN_OK) st = load_vocab(llm, p);
    if (st == IFN_OK && ifn_vocab_size(llm->vocab) > ifn_model_hparams(llm->model)->n_vocab)
        st = ifn_fail(IFN_E_FORMAT, "the tokenizer has %d tokens but the model only %d",
                      ifn_vocab_size(llm->vocab), ifn_model_hparams(llm->model)->n_vocab);
    llm->params = *p;
    if (st != IFN_OK) {
        ifn_llm_destroy(llm);
        return st;
    }
    *out_llm = llm;
    return IFN_OK;
}

void ifn_llm_destroy(ifn_llm *llm) {
    if (!llm) return;
    ifn_engine_destroy(llm->engine);
    ifn_vocab_destroy(llm->vocab);
    ifn_model_release(llm->model);
    ifn_free(llm);
}

void ifn_llm_free(void *ptr) {
    ifn_free(ptr);
}

ifn_status ifn_llm_tokenize(const ifn_llm *llm, const char *text, size_t len, int add_special,
                            int parse_special, int32_t **out_ids, size_t *out_count) {
    ifn_token_vec vec = {0};
    int flags = (add_special ? IFN_TOKENIZE_ADD_SPECIAL : 0) |
                (parse_special ? IFN_TOKENIZE_PARSE_SPECIAL : 0);
    ifn_status st = ifn_vocab_tokenize(llm->vocab, text, len, flags, &vec);
    if (st != IFN_OK) {
        ifn_token_vec_free(&vec);
        return st;
    }
    *out_ids = vec.ids;
    *out_count = vec.count;
    return IFN_OK;
}

ifn_status ifn_llm_detokenize(const ifn_llm *llm, const int32_t *ids, size_t n_ids,
                              char **out_text, size_t *out_len) {
    return ifn_vocab_detokenize(llm->vocab, ids, n_ids, 0, out_text, out_len);
}

/* Hands engine callbacks (engine thread) over to the caller waiting in ifn_llm_generate. */
typedef struct generation {
    pthread_mutex_t lock; /* guards: is_done, status, result */
    pthread_cond_t done;
    int is_done;
    ifn_status status;
    ifn_generate_result result;
    ifn_text_callback on_text;
    void *user;
} generation;

static int gen_on_token(void *user, int32_t index, int32_t token, const char *text, size_t len,
                        const ifn_sampler_logprobs *logprobs) {
    (void)index, (void)token, (void)logprobs;
    generation *g = user;
    return len > 0 && g->on_text ? g->on_text(text, len, g->user) : 0;
}

static void gen_on_finish(void *user, int32_t index, ifn_finish_reason reason, const char *text,
                          size_t len, const ifn_request_usage *usage) {
    (void)index;
    generation *g = user;
    if (len > 0 && g->on_text) g->on_text(text, len, g->user);
    g->result.finish_reason = reason;
    g->result.n_prompt_tokens = usage->prompt_tokens;
    g->result.n_generated_tokens = usage->completion_tokens;
    g->result.prompt_seconds = usage->ttft_seconds;
    g->result.generate_seconds = usage->total_seconds - usage->ttft_seconds;
}

static void gen_on_done(void *user, ifn_status status, const char *message) {
    generation *g = user;
    pthread_mutex_lock(&g->lock);
    g->status = status == IFN_E_CANCELLED ? IFN_OK : status; /* a cancel is a finish reason */
    if (status != IFN_OK && status != IFN_E_CANCELLED) ifn_fail(status, "generate: %s", message);
    g->is_done = 1;
    pthread_cond_signal(&g->done);
    pthread_mutex_unlock(&g->lock);
}

/* One sequence at a time with an F32 KV cache, so results equal the float32 reference
 * implementations (llama2.c's run.c) token for token. */
static ifn_status start_engine(ifn_llm *llm) {
    if (llm->engine) return IFN_OK;
    ifn_engine_params ep = ifn_engine_params_default();
    ep.n_threads = llm->params.n_threads;
    ep.n_ctx = llm->params.n_ctx;
    ep.exact = llm->params.exact;
    ep.max_num_seqs = 1;
    ep.kv_type = IFN_DTYPE_F32;
    return ifn_engine_create(llm->model, llm->vocab, &ep, &llm->engine);
}

ifn_status ifn_llm_generate(ifn_llm *llm, const int32_t *prompt, size_t n_prompt,
                            const ifn_generate_params *params, ifn_text_callback on_text,
                            void *user, ifn_generate_result *out_result) {
    if (n_prompt == 0 || n_prompt > INT32_MAX) return ifn_fail(IFN_E_INVALID, "the prompt is empty");
    ifn_status st = start_engine(llm);
    if (st != IFN_OK) return st;
    generation g = {.status = IFN_OK, .on_text = on_text, .user = user};
    pthread_mutex_init(&g.lock, NULL);
    pthread_cond_init(&g.done, NULL);
    ifn_request req;
    ifn_request_init(&req);
    req.prompt = prompt;
    req.n_prompt = (int32_t)n_prompt;
    req.sampling = *params;
    req.callbacks = (ifn_request_callbacks){gen_on_token, gen_on_finish, gen_on_done, &g, NULL};
    st = ifn_engine_submit(llm->engine, &req, NULL);
    if (st == IFN_OK) {
        pthread_mutex_lock(&g.lock);
        while (!g.is_done) pthread_cond_wait(&g.done, &g.lock);
        st = g.status;
        pthread_mutex_unlock(&g.lock);
    }
    pthread_cond_destroy(&g.done);
    pthread_mutex_destroy(&g.lock);
    if (st == IFN_OK) *out_result = g.result;
    return st;
}

const ifn_model *ifn_llm_model(const ifn_llm *llm) {
    return llm->model;
}

const ifn_vocab *ifn_llm_vocab(const ifn_llm *llm) {
    return llm->vocab;
}

ifn_model *ifn_llm_model_shared(ifn_llm *llm) {
    return llm->model;
}
