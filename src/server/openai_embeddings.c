#include "server/openai_embeddings.h"

#include <nettle/base64.h>
#include <string.h>

#include "server/binding.h"
#include "server/job.h"
#include "server/openai_http.h"
#include "server/openai_params.h"
#include "server/openai_prompt.h"
#include "util/alloc.h"
#include "util/status.h"

typedef struct embed_request {
    ifn_binding binding;
    ifn_served_model *model; /* binding.model */
    ifn_openai_prompt_list inputs;
    int is_base64;
    json_t **vectors;   /* [inputs.count] */
    int64_t prompt_tokens;
} embed_request;

static int parse(ifn_server *s, const json_t *body, const char *session_id, embed_request *r,
                 ifn_openai_error *e) {
    const char *model = NULL, *format = NULL;
    if (ifn_openai_params_get_string(body, "model", &model, e) < 0) return -1;
    ifn_binding_query q = {.model = model, .kind = IFN_ROUTER_KIND_EMBEDDING,
                           .session_id = session_id, .body = body};
    if (ifn_binding_acquire(s, &q, &r->binding, e) != 0) return -1;
    r->model = r->binding.model;
    if (ifn_openai_params_get_string(body, "encoding_format", &format, e) < 0) return -1;
    if (format && strcmp(format, "float") != 0 && strcmp(format, "base64") != 0)
        return ifn_openai_reply_fail(e, 400, "encoding_format",
                                     "'encoding_format' must be 'float' or 'base64'");
    r->is_base64 = format && strcmp(format, "base64") == 0;
    int64_t dims = r->model->n_embd;
    if (ifn_openai_params_get_int(body, "dimensions", 1, INT32_MAX, &dims, e) < 0) return -1;
    if (dims != r->model->n_embd)
        return ifn_openai_reply_fail(e, 400, "dimensions", "this model's embeddings have %d "
                                                           "dimensions", r->model->n_embd);
    if (ifn_openai_prompt_from_input(r->model, body, "input", &r->inputs, e) != 0) return -1;
    if (ifn_openai_prompt_check_length(r->model, &r->inputs, "input", e) != 0) return -1;
    r->vectors = ifn_calloc((size_t)r->inputs.count, sizeof *r->vectors);
    return r->vectors ? 0 : ifn_openai_reply_fail(e, 500, NULL, "out of memory");
}

static json_t *vector_json(const embed_request *r, const float *values, int32_t n) {
    if (!r->is_base64) {
        json_t *list = json_array();
        for (int32_t i = 0; list && i < n; i++) json_array_append_new(list, json_real(values[i]));
        return list;
    }
    /* Little-endian float32 bytes, as OpenAI's SDKs decode them. */
    size_t n_bytes = (size_t)n * sizeof(float);
    char *text = ifn_malloc(BASE64_ENCODE_RAW_LENGTH(n_bytes) + 1);
    if (!text) return NULL;
    base64_encode_raw(text, n_bytes, (const uint8_t *)values);
    json_t *value = json_stringn(text, BASE64_ENCODE_RAW_LENGTH(n_bytes));
    ifn_free(text);
    return value;
}

static int run(ifn_server *s, embed_request *r, ifn_http_request *request, ifn_openai_error *e) {
    ifn_job *job = NULL;
    if (ifn_job_create(r->model->engine, &job) != IFN_OK)
        return ifn_openai_reply_fail(e, 500, NULL, "out of memory");
    int rc = 0;
    for (int32_t i = 0; rc == 0 && i < r->inputs.count; i++) {
        ifn_request req;
        ifn_request_init(&req);
        req.prompt = r->inputs.items[i].ids;
        req.n_prompt = r->inputs.items[i].n_ids;
        req.embedding = 1;
        req.timeout_ms = s->params.request_timeout_ms;
        if (ifn_job_submit(job, &req, i) != IFN_OK)
            rc = ifn_openai_reply_fail(e, 500, NULL, "%s", ifn_last_error());
    }
    int is_aborted = rc != 0;
    if (is_aborted) ifn_job_abort(job); /* what was submitted before the failure */
    for (;;) {
        ifn_job_event ev;
        int got = ifn_job_next(job, 50, &ev);
        if (got < 0) break;
        if (got == 0 && !is_aborted && ifn_http_request_client_gone(request)) {
            ifn_job_abort(job);
            is_aborted = 1;
        }
        if (got <= 0 || ev.kind != IFN_JOB_EVENT_EMBEDDING) continue;
        r->vectors[ev.choice] = vector_json(r, ev.values, ev.n_values);
        r->prompt_tokens += ev.usage.prompt_tokens;
    }
    const char *message = NULL;
    ifn_status st = ifn_job_status(job, &message);
    ifn_job_release(job);
    if (rc != 0) return rc;
    if (ifn_openai_reply_fail_status(e, st, message) != 0) return -1;
    for (int32_t i = 0; i < r->inputs.count; i++)
        if (!r->vectors[i]) return ifn_openai_reply_fail(e, 500, NULL, "embedding %d missing", i);
    return 0;
}

static json_t *response_json(const embed_request *r) {
    json_t *data = json_array();
    for (int32_t i = 0; data && i < r->inputs.count; i++)
        json_array_append_new(data, json_pack("{s:s,s:i,s:O}", "object", "embedding", "index",
                                              (int)i, "embedding", r->vectors[i]));
    return json_pack("{s:s,s:o,s:s,s:{s:I,s:I}}", "object", "list", "data", data, "model",
                     r->binding.name, "usage", "prompt_tokens", (json_int_t)r->prompt_tokens,
                     "total_tokens", (json_int_t)r->prompt_tokens);
}

void ifn_openai_embeddings_handle(ifn_server *s, ifn_http_request *request) {
    ifn_openai_error e;
    embed_request r = {0};
    json_t *body = ifn_server_check_ready(s, &e) == 0 ? ifn_openai_http_parse_body(request, &e)
                                                      : NULL;
    int ok = body && parse(s, body, ifn_http_request_header(request, "X-Session-Id"), &r, &e) == 0;
    json_decref(body);
    int is_admitted = ok && ifn_server_admit(s, &e) == 0;
    ok = is_admitted && run(s, &r, request, &e) == 0;
    if (is_admitted) ifn_server_leave(s);
    const ifn_http_header model_header[] = {{"X-Inferneo-Model", r.binding.name}, {NULL, NULL}};
    if (ok) ifn_openai_reply_json(request, 200, response_json(&r), model_header);
    else ifn_openai_reply_error(request, &e, e.status == 503 ? ifn_openai_reply_retry_after : NULL);
    for (int32_t i = 0; r.vectors && i < r.inputs.count; i++) json_decref(r.vectors[i]);
    ifn_free(r.vectors);
    ifn_openai_prompt_list_free(&r.inputs);
    ifn_binding_release(&r.binding);
}
