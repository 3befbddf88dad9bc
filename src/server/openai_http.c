/* Completions and chat over HTTP: collected JSON, or server-sent events. */
#include "server/openai_http.h"

#include <stdio.h>
#include <string.h>

#include "server/openai_generation.h"
#include "util/alloc.h"
#include "util/json.h"
#include "util/time.h"

/* The producer side of an SSE response: bytes already formatted but not yet taken by the
 * HTTP library are kept in `pending`. */
typedef struct sse_stream {
    ifn_openai_generation *gen;
    ifn_http_request *request;
    char *pending;
    size_t pending_len, pending_off;
    int is_done_sent;
    int64_t next_check_ns; /* when to look for a vanished client next */
} sse_stream;

json_t *ifn_openai_http_parse_body(ifn_http_request *request, ifn_openai_error *e) {
    size_t len = 0;
    const char *body = ifn_http_request_body(request, &len);
    json_error_t err;
    json_t *root = json_loadb(body, len, 0, &err);
    if (!root) {
        ifn_openai_reply_fail(e, 400, NULL, "invalid JSON body: %s (line %d, column %d)",
                              err.text, err.line, err.column);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        ifn_openai_reply_fail(e, 400, NULL, "the request body must be a JSON object");
        return NULL;
    }
    return root;
}

/* "data: <json>\n\n" into pending. */
static int set_event(sse_stream *s, const char *data, size_t len) {
    char *buf = ifn_malloc(len + 9);
    if (!buf) return -1;
    memcpy(buf, "data: ", 6);
    memcpy(buf + 6, data, len);
    memcpy(buf + 6 + len, "\n\n", 3);
    ifn_free(s->pending);
    s->pending = buf;
    s->pending_len = len + 8;
    s->pending_off = 0;
    return 0;
}

/* 1 when the client went away (then the generation is aborted); looked at every 50 ms whether
 * or not tokens flow. */
static int client_left(sse_stream *s) {
    int64_t now = ifn_time_now_ns();
    if (now < s->next_check_ns) return 0;
    s->next_check_ns = now + 50 * 1000000LL;
    if (!ifn_http_request_client_gone(s->request)) return 0;
    ifn_openai_generation_abort(s->gen);
    return 1;
}

static int next_event(sse_stream *s) {
    for (;;) {
        json_t *chunk = NULL;
        int rc = ifn_openai_generation_next_chunk(s->gen, 50, &chunk);
        if (client_left(s)) {
            json_decref(chunk);
            return -1;
        }
        if (rc < 0) {
            if (s->is_done_sent) return 1;
            s->is_done_sent = 1;
            return set_event(s, "[DONE]", 6);
        }
        if (rc == 0) continue;
        size_t len = 0;
        char *text = ifn_json_dump(chunk, &len);
        json_decref(chunk);
        int st = text ? set_event(s, text, len) : -1;
        ifn_free(text);
        return st;
    }
}

static long produce_sse(void *user, char *buf, size_t cap) {
    sse_stream *s = user;
    if (s->pending_off == s->pending_len) {
        int rc = next_event(s);
        if (rc != 0) return rc > 0 ? 0 : -1;
    }
    size_t n = s->pending_len - s->pending_off;
    if (n > cap) n = cap;
    memcpy(buf, s->pending + s->pending_off, n);
    s->pending_off += n;
    return (long)n;
}

static void end_sse(void *user) {
    sse_stream *s = user;
    ifn_openai_generation_destroy(s->gen); /* aborts whatever a vanished client left running */
    ifn_free(s->pending);
    ifn_free(s);
}

static int client_gone(void *user) { return ifn_http_request_client_gone(user); }

static void respond_stream(ifn_http_request *request, ifn_openai_generation *gen) {
    sse_stream *s = ifn_calloc(1, sizeof *s);
    if (!s) {
        ifn_openai_generation_destroy(gen);
        ifn_openai_error e;
        ifn_openai_reply_fail(&e, 500, NULL, "out of memory");
        ifn_openai_reply_error(request, &e, NULL);
        return;
    }
    s->gen = gen;
    s->request = request;
    const ifn_http_header headers[] = {{"Cache-Control", "no-cache"},
                                       {"X-Accel-Buffering", "no"},
                                       {"X-Inferneo-Model", ifn_openai_generation_model(gen)},
                                       {NULL, NULL}};
    (void)ifn_http_respond_stream(request, 200, "text/event-stream", headers, produce_sse, end_sse,
                                  s); /* on failure end_sse has run and the connection drops */
}

void ifn_openai_http_generate(ifn_server *server, ifn_http_request *request,
                              ifn_openai_endpoint endpoint) {
    ifn_openai_error e;
    json_t *body = ifn_openai_http_parse_body(request, &e);
    ifn_openai_generation *gen = NULL;
    const char *session_id = ifn_http_request_header(request, "X-Session-Id");
    if (!body || ifn_openai_generation_start(server, body, endpoint, session_id, &gen, &e) != 0) {
        json_decref(body);
        ifn_openai_reply_error(request, &e, e.status == 503 ? ifn_openai_reply_retry_after : NULL);
        return;
    }
    json_decref(body);
    if (ifn_openai_generation_is_stream(gen)) {
        respond_stream(request, gen);
        return;
    }
    json_t *response = ifn_openai_generation_collect(gen, client_gone, request, &e);
    char model[192];
    snprintf(model, sizeof model, "%s", ifn_openai_generation_model(gen));
    ifn_openai_generation_destroy(gen);
    const ifn_http_header headers[] = {{"X-Inferneo-Model", model}, {NULL, NULL}};
    if (response) ifn_openai_reply_json(request, 200, response, headers);
    else ifn_openai_reply_error(request, &e, headers);
}
