/* Completions and chat completions through the engine (see openai_generation.h). */
#include "server/openai_generation.h"

#include <string.h>
#include <time.h>

#include "server/binding.h"
#include "server/job.h"
#include "server/openai_format.h"
#include "server/openai_prompt.h"
#include "util/alloc.h"
#include "util/json.h"
#include "util/status.h"
#include "util/time.h"

typedef struct choice_state {
    char *text;          /* collected text (echo included) */
    size_t len, cap;
    int64_t lp_offset;   /* completions logprobs: characters of the tokens so far (+ echo) */
    json_t *logprobs;    /* collected: chat content list or completions object */
    const char *finish_reason;
} choice_state;

struct ifn_openai_generation {
    ifn_server *server;
    ifn_binding binding;  /* the leased model answering */
    ifn_served_model *model; /* binding.model */
    ifn_openai_endpoint endpoint;
    ifn_openai_params params;
    ifn_openai_prompt_list prompts;
    ifn_job *job;
    char id[48];
    int64_t created;
    int32_t n_choices;
    choice_state *choices;
    int64_t prompt_tokens, completion_tokens, cached_tokens;
    int is_admitted;
    int32_t next_intro;  /* streaming: next choice whose opening chunk is due */
    int is_ended;        /* streaming: the engine side is over */
    int is_finished;     /* streaming: usage chunk (if any) sent */
};

static const char *finish_reason_name(ifn_finish_reason reason) {
    switch (reason) {
    case IFN_FINISH_STOP: return "stop";
    case IFN_FINISH_LENGTH: return "length";
    default: return "abort";
    }
}

static int append_text(choice_state *c, const char *text, size_t len) {
    if (c->len + len + 1 > c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 256;
        while (cap < c->len + len + 1) cap *= 2;
        char *grown = ifn_realloc(c->text, cap);
        if (!grown) return -1;
        c->text = grown;
        c->cap = cap;
    }
    memcpy(c->text + c->len, text, len);
    c->len += len;
    c->text[c->len] = '\0';
    return 0;
}

/* max_tokens against the context: an explicit value that cannot fit is an error (as OpenAI and
 * vLLM answer); the default runs to the end of the context. */
static int fit_max_tokens(ifn_openai_generation *g, ifn_openai_error *e) {
    int32_t longest = 0;
    for (int32_t i = 0; i < g->prompts.count; i++)
        if (g->prompts.items[i].n_ids > longest) longest = g->prompts.items[i].n_ids;
    int32_t room = g->model->n_ctx - longest;
    ifn_generate_params *s = &g->params.sampling;
    if (g->params.has_max_tokens && s->max_tokens > room) {
        ifn_openai_reply_fail(e, 400, "max_tokens", "This model's maximum context length is %d "
                              "tokens. However, you requested %d tokens (%d in the prompt, %d "
                              "for the completion). Please reduce the prompt or max_tokens.",
                              g->model->n_ctx, longest + s->max_tokens, longest, s->max_tokens);
        e->code = "context_length_exceeded";
        return -1;
    }
    if (s->max_tokens > room) s->max_tokens = room;
    return 0;
}

static void reset_prepared(ifn_openai_generation *g) {
    for (int32_t i = 0; g->choices && i < g->n_choices; i++) {
        ifn_free(g->choices[i].text);
        json_decref(g->choices[i].logprobs);
    }
    ifn_free(g->choices);
    g->choices = NULL;
    g->n_choices = 0;
    ifn_openai_prompt_list_free(&g->prompts);
    ifn_openai_params_free(&g->params);
}

static int prepare_with(ifn_openai_generation *g, const json_t *body, ifn_openai_error *e) {
    ifn_openai_params *p = &g->params;
    if (ifn_openai_params_parse(body, g->endpoint, ifn_vocab_size(g->model->vocab), p, e) != 0)
        return -1;
    p->model = NULL; /* borrowed from the body, which the caller frees after start */
    int is_chat = g->endpoint == IFN_OPENAI_ENDPOINT_CHAT;
    int rc = is_chat ? ifn_openai_prompt_from_chat(g->model, body, &g->prompts, e)
                     : ifn_openai_prompt_from_input(g->model, body, "prompt", &g->prompts, e);
    if (rc != 0) return -1;
    if (ifn_openai_prompt_check_length(g->model, &g->prompts, is_chat ? "messages" : "prompt", e))
        return -1;
    if (fit_max_tokens(g, e) != 0) return -1;
    g->n_choices = g->prompts.count * p->n;
    g->choices = ifn_calloc((size_t)g->n_choices, sizeof *g->choices);
    if (!g->choices) return ifn_openai_reply_fail(e, 500, NULL, "out of memory");
    for (int32_t i = 0; i < g->n_choices; i++) {
        if (!p->echo) continue;
        const ifn_openai_prompt *prompt = &g->prompts.items[i / p->n];
        if (append_text(&g->choices[i], prompt->text, strlen(prompt->text)) != 0)
            return ifn_openai_reply_fail(e, 500, NULL, "out of memory");
        g->choices[i].lp_offset = ifn_openai_format_char_count(g->choices[i].text, g->choices[i].len);
    }
    return 0;
}

/* The request's fields over the model's configured sampling defaults (config.json "defaults"). */
static int prepare(ifn_openai_generation *g, const json_t *request, ifn_openai_error *e) {
    const ifn_model_config *config = ifn_manager_lease_config(g->binding.lease);
    if (!config || !json_is_object(config->defaults)) return prepare_with(g, request, e);
    json_t *body = json_copy((json_t *)request); /* shallow: members are shared, not changed */
    if (!body || json_object_update_missing(body, config->defaults) != 0) {
        json_decref(body);
        return ifn_openai_reply_fail(e, 500, NULL, "out of memory");
    }
    int rc = prepare_with(g, body, e);
    json_decref(body);
    return rc;
}

static int submit_all(ifn_openai_generation *g, ifn_openai_error *e) {
    if (ifn_job_create(g->model->engine, &g->job) != IFN_OK)
        return ifn_openai_reply_fail(e, 500, NULL, "out of memory");
    const ifn_openai_params *p = &g->params;
    for (int32_t i = 0; i < g->prompts.count; i++) {
        ifn_request req;
        ifn_request_init(&req);
        req.prompt = g->prompts.items[i].ids;
        req.n_prompt = g->prompts.items[i].n_ids;
        req.sampling = p->sampling;
        req.n = p->n;
        req.priority = p->priority;
        req.timeout_ms = g->server->params.request_timeout_ms;
        req.min_tokens = p->min_tokens;
        req.top_logprobs = p->top_logprobs;
        req.stop_token_ids = p->stop_token_ids;
        req.n_stop_token_ids = p->n_stop_token_ids;
        ifn_status st = ifn_job_submit(g->job, &req, i * p->n);
        if (st != IFN_OK) {
            ifn_job_abort(g->job);
            int status = st == IFN_E_INVALID ? 400 : st == IFN_E_CANCELLED ? 503 : 500;
            return ifn_openai_reply_fail(e, status, NULL, "%s", ifn_last_error());
        }
    }
    return 0;
}

/* The model field first: the rest is checked against the model it names. n_ctx_needed is 0
 * until the prompt is known (then context rules of the routing file can apply). */
static int bind_model(ifn_openai_generation *g, const json_t *body, const char *session_id,
                      int32_t n_ctx_needed, ifn_binding *out, ifn_openai_error *e) {
    const char *model = NULL;
    if (ifn_openai_params_get_string(body, "model", &model, e) < 0) return -1;
    const char *user = NULL;
    if (ifn_openai_params_get_string(body, "user", &user, e) < 0) return -1;
    ifn_binding_query q = {
        .model = model,
        .kind = g->endpoint == IFN_OPENAI_ENDPOINT_CHAT ? IFN_ROUTER_KIND_CHAT
                                                        : IFN_ROUTER_KIND_COMPLETION,
        .session_id = session_id,
        .body = body,
        .n_ctx_needed = n_ctx_needed};
    return ifn_binding_acquire(g->server, &q, out, e);
}

static int32_t context_needed(const ifn_openai_generation *g) {
    int32_t longest = 0;
    for (int32_t i = 0; i < g->prompts.count; i++)
        if (g->prompts.items[i].n_ids > longest) longest = g->prompts.items[i].n_ids;
    int64_t need = (int64_t)longest + (g->params.has_max_tokens ? g->params.sampling.max_tokens : 1);
    return need > INT32_MAX ? INT32_MAX : (int32_t)need;
}

/* Binds, prepares, and with a routing file asks once more when the request turns out not to fit
 * the chosen model's context: when a context rule or fallback picks another model, it moves. */
static int bind_and_prepare(ifn_openai_generation *g, const json_t *body, const char *session_id,
                            ifn_openai_error *e) {
    if (bind_model(g, body, session_id, 0, &g->binding, e) != 0) return -1;
    g->model = g->binding.model;
    int rc = prepare(g, body, e);
    if (!ifn_binding_has_routing(g->server)) return rc;
    /* Asked again only when the request does not fit the model first chosen (so each request
     * counts once in the routing counters otherwise). */
    int32_t need = g->prompts.count > 0 ? context_needed(g) : 0;
    if (need == 0 || need <= g->model->n_ctx) return rc;
    ifn_binding other;
    ifn_openai_error ignored;
    if (bind_model(g, body, session_id, need, &other, &ignored) != 0) return rc;
    if (other.model == g->model) {
        ifn_binding_release(&other);
        return rc;
    }
    reset_prepared(g);
    ifn_binding_release(&g->binding);
    g->binding = other;
    g->model = other.model;
    return prepare(g, body, e);
}

int ifn_openai_generation_start(ifn_server *s, const json_t *body, ifn_openai_endpoint endpoint,
                                const char *session_id, ifn_openai_generation **out,
                                ifn_openai_error *e) {
    *out = NULL;
    if (ifn_server_check_ready(s, e) != 0) return -1;
    ifn_openai_generation *g = ifn_calloc(1, sizeof *g);
    if (!g) return ifn_openai_reply_fail(e, 500, NULL, "out of memory");
    g->server = s;
    g->endpoint = endpoint;
    g->created = (int64_t)time(NULL);
    ifn_server_new_id(s, endpoint == IFN_OPENAI_ENDPOINT_CHAT ? "chatcmpl" : "cmpl", g->id,
                      sizeof g->id);
    int rc = bind_and_prepare(g, body, session_id, e);
    if (rc == 0) rc = ifn_server_admit(s, e);
    if (rc == 0) g->is_admitted = 1;
    if (rc == 0) rc = submit_all(g, e);
    if (rc != 0) {
        ifn_openai_generation_destroy(g);
        return -1;
    }
    *out = g;
    return 0;
}

int ifn_openai_generation_is_stream(const ifn_openai_generation *g) { return g->params.stream; }
const char *ifn_openai_generation_model(const ifn_openai_generation *g) { return g->binding.name; }
const char *ifn_openai_generation_id(const ifn_openai_generation *g) { return g->id; }

/* Usage counts: prompt tokens once per prompt (its first sample), completions per choice. */
static void count_usage(ifn_openai_generation *g, const ifn_job_event *ev) {
    g->completion_tokens += ev->usage.completion_tokens;
    if (ev->choice % g->params.n == 0) {
        g->prompt_tokens += ev->usage.prompt_tokens;
        g->cached_tokens += ev->usage.cached_prompt_tokens;
    }
}

static json_t *stream_logprobs(ifn_openai_generation *g, const ifn_job_event *ev) {
    if (!ev->has_logprobs) return NULL;
    if (g->endpoint == IFN_OPENAI_ENDPOINT_CHAT) {
        json_t *list = json_array();
        json_array_append_new(list, ifn_openai_format_chat_logprob(g->model->vocab, &ev->logprobs));
        return list;
    }
    json_t *obj = ifn_openai_format_completion_logprobs();
    choice_state *c = &g->choices[ev->choice];
    int64_t next = obj ? ifn_openai_format_completion_logprobs_add(obj, g->model->vocab,
                                                                   &ev->logprobs, c->lp_offset)
                       : -1;
    if (next >= 0) c->lp_offset = next;
    return obj;
}

static json_t *intro_chunk(ifn_openai_generation *g, int32_t index) {
    int is_chat = g->endpoint == IFN_OPENAI_ENDPOINT_CHAT;
    const choice_state *c = &g->choices[index];
    if (!is_chat && c->len == 0) return NULL; /* completions open with echo only */
    return ifn_openai_format_chunk(g->endpoint, g->id, g->created, g->binding.name, index, c->text,
                                   c->len, is_chat, NULL, NULL);
}

static json_t *event_chunk(ifn_openai_generation *g, const ifn_job_event *ev) {
    if (ev->kind == IFN_JOB_EVENT_FINISH) {
        count_usage(g, ev);
        return ifn_openai_format_chunk(g->endpoint, g->id, g->created, g->binding.name, ev->choice,
                                       ev->text, ev->len, 0, NULL, finish_reason_name(ev->reason));
    }
    if (ev->kind != IFN_JOB_EVENT_TOKEN || (ev->len == 0 && !ev->has_logprobs)) return NULL;
    json_t *logprobs = stream_logprobs(g, ev);
    return ifn_openai_format_chunk(g->endpoint, g->id, g->created, g->binding.name, ev->choice,
                                   ev->text, ev->len, 0, logprobs, NULL);
}

static int next_chunk(ifn_openai_generation *g, int timeout_ms, json_t **out);

int ifn_openai_generation_next_chunk(ifn_openai_generation *g, int timeout_ms, json_t **out) {
    int rc = next_chunk(g, timeout_ms, out);
    /* With include_usage, OpenAI's other chunks carry "usage": null. */
    if (rc > 0 && g->params.include_usage && !json_object_get(*out, "usage"))
        json_object_set_new(*out, "usage", json_null());
    return rc;
}

static int next_chunk(ifn_openai_generation *g, int timeout_ms, json_t **out) {
    *out = NULL;
    while (g->next_intro < g->n_choices) {
        *out = intro_chunk(g, g->next_intro++);
        if (*out) return 1;
    }
    while (!g->is_ended) {
        ifn_job_event ev;
        int rc = ifn_job_next(g->job, timeout_ms, &ev);
        if (rc == 0) return 0;
        if (rc < 0) {
            g->is_ended = 1;
            const char *message = NULL;
            ifn_openai_error e;
            if (ifn_openai_reply_fail_status(&e, ifn_job_status(g->job, &message), message) != 0) {
                *out = ifn_openai_reply_error_json(&e);
                return 1;
            }
            break;
        }
        *out = event_chunk(g, &ev);
        if (*out) return 1;
    }
    if (g->is_finished) return -1;
    g->is_finished = 1;
    if (!g->params.include_usage) return -1;
    json_t *usage = ifn_openai_format_usage(g->prompt_tokens, g->completion_tokens, g->cached_tokens);
    *out = ifn_openai_format_usage_chunk(g->endpoint, g->id, g->created, g->binding.name, usage);
    return *out ? 1 : -1;
}

static void collect_event(ifn_openai_generation *g, const ifn_job_event *ev) {
    choice_state *c = &g->choices[ev->choice];
    if (ev->has_logprobs) {
        int is_chat = g->endpoint == IFN_OPENAI_ENDPOINT_CHAT;
        if (!c->logprobs)
            c->logprobs = is_chat ? json_array() : ifn_openai_format_completion_logprobs();
        if (is_chat)
            json_array_append_new(c->logprobs,
                                  ifn_openai_format_chat_logprob(g->model->vocab, &ev->logprobs));
        else if (c->logprobs) {
            int64_t next = ifn_openai_format_completion_logprobs_add(c->logprobs, g->model->vocab,
                                                                     &ev->logprobs, c->lp_offset);
            if (next >= 0) c->lp_offset = next;
        }
    }
    (void)append_text(c, ev->text, ev->len);
    if (ev->kind == IFN_JOB_EVENT_FINISH) {
        c->finish_reason = finish_reason_name(ev->reason);
        count_usage(g, ev);
    }
}

static json_t *choice_json(ifn_openai_generation *g, int32_t i) {
    choice_state *c = &g->choices[i];
    json_t *text = ifn_json_string(c->text ? c->text : "", c->len);
    json_t *logprobs = c->logprobs ? json_incref(c->logprobs) : json_null();
    const char *reason = c->finish_reason ? c->finish_reason : "abort";
    if (g->endpoint == IFN_OPENAI_ENDPOINT_CHAT) {
        if (c->logprobs) logprobs = json_pack("{s:o}", "content", logprobs);
        return json_pack("{s:i,s:{s:s,s:o},s:o,s:s}", "index", (int)i, "message", "role",
                         "assistant", "content", text, "logprobs", logprobs, "finish_reason",
                         reason);
    }
    return json_pack("{s:i,s:o,s:o,s:s}", "index", (int)i, "text", text, "logprobs", logprobs,
                     "finish_reason", reason);
}

static json_t *response_json(ifn_openai_generation *g) {
    json_t *choices = json_array();
    for (int32_t i = 0; choices && i < g->n_choices; i++)
        json_array_append_new(choices, choice_json(g, i));
    int is_chat = g->endpoint == IFN_OPENAI_ENDPOINT_CHAT;
    return json_pack("{s:s,s:s,s:I,s:s,s:o,s:o}", "id", g->id, "object",
                     is_chat ? "chat.completion" : "text_completion", "created",
                     (json_int_t)g->created, "model", g->binding.name, "choices", choices, "usage",
                     ifn_openai_format_usage(g->prompt_tokens, g->completion_tokens,
                                             g->cached_tokens));
}

json_t *ifn_openai_generation_collect(ifn_openai_generation *g, int (*is_gone)(void *user),
                                      void *user, ifn_openai_error *e) {
    int is_aborted = 0;
    int64_t next_check_ns = 0;
    for (;;) {
        ifn_job_event ev;
        int rc = ifn_job_next(g->job, 50, &ev);
        if (rc < 0) break;
        if (rc > 0) collect_event(g, &ev);
        /* Checked every 50 ms whether or not tokens flow. */
        int64_t now = ifn_time_now_ns();
        if (is_aborted || !is_gone || now < next_check_ns) continue;
        next_check_ns = now + 50 * 1000000LL;
        if (is_gone(user)) {
            ifn_job_abort(g->job);
            is_aborted = 1;
        }
    }
    const char *message = NULL;
    if (ifn_openai_reply_fail_status(e, ifn_job_status(g->job, &message), message) != 0)
        return NULL;
    json_t *response = response_json(g);
    if (!response) ifn_openai_reply_fail(e, 500, NULL, "out of memory");
    return response;
}

void ifn_openai_generation_abort(ifn_openai_generation *g) {
    if (g->job) ifn_job_abort(g->job);
}

void ifn_openai_generation_destroy(ifn_openai_generation *g) {
    if (!g) return;
    if (g->job) {
        ifn_job_abort(g->job);
        ifn_job_release(g->job);
    }
    if (g->is_admitted) ifn_server_leave(g->server);
    reset_prepared(g);
    ifn_binding_release(&g->binding); /* after the job: its requests ran on this model */
    ifn_free(g);
}
