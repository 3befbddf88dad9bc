/* WebSocket streaming (see ws_api.h): the upgraded connection's thread reads messages; each
 * request gets a pump thread that turns its generation's chunks into messages (sends are
 * serialised by ifn_ws_conn). */
#include "server/ws_api.h"

#include <strings.h>
#include <string.h>

#include "server/openai_generation.h"
#include "server/ws.h"
#include "server/ws_conn.h"
#include "util/alloc.h"
#include "util/json.h"
#include "util/log.h"

#define MAX_REQUEST_ID 128
#define MAX_INFLIGHT 64

typedef struct ws_request {
    struct ws_session *session;
    char request_id[MAX_REQUEST_ID];
    ifn_openai_generation *gen;
    pthread_t pump;
    int is_finished;          /* guarded by session->lock */
    struct ws_request *next;
} ws_request;

typedef struct ws_session {
    ifn_server *server;
    const char *session_id;   /* the upgrade request's X-Session-Id, or NULL */
    ifn_ws_conn *conn;
    pthread_mutex_t lock;     /* guards the request list */
    ws_request *requests;
} ws_session;

static void send_json(ws_session *ws, json_t *msg) {
    size_t len = 0;
    char *text = msg ? ifn_json_dump(msg, &len) : NULL;
    json_decref(msg);
    if (text) (void)ifn_ws_conn_send_text(ws->conn, text, len);
    ifn_free(text);
}

static void send_error(ws_session *ws, const char *request_id, const ifn_openai_error *e) {
    json_t *msg = ifn_openai_reply_error_json(e);
    if (msg) json_object_set_new(msg, "request_id", json_string(request_id));
    send_json(ws, msg);
}

static void *pump(void *arg) {
    ws_request *r = arg;
    ws_session *ws = r->session;
    for (;;) {
        json_t *chunk = NULL;
        int rc = ifn_openai_generation_next_chunk(r->gen, 100, &chunk);
        if (rc < 0) break;
        if (rc == 0) {
            if (ifn_ws_conn_is_closed(ws->conn)) ifn_openai_generation_abort(r->gen);
            continue;
        }
        json_object_set_new(chunk, "request_id", json_string(r->request_id));
        send_json(ws, chunk);
    }
    send_json(ws, json_pack("{s:s,s:s}", "request_id", r->request_id, "type", "done"));
    pthread_mutex_lock(&ws->lock);
    r->is_finished = 1;
    pthread_mutex_unlock(&ws->lock);
    return NULL;
}

/* Joins and frees finished requests (all of them when `all`, aborting the rest first). */
static void reap(ws_session *ws, int all) {
    pthread_mutex_lock(&ws->lock);
    ws_request **link = &ws->requests;
    while (*link) {
        ws_request *r = *link;
        if (!r->is_finished && !all) {
            link = &r->next;
            continue;
        }
        *link = r->next;
        pthread_mutex_unlock(&ws->lock);
        if (!r->is_finished) ifn_openai_generation_abort(r->gen);
        pthread_join(r->pump, NULL);
        ifn_openai_generation_destroy(r->gen);
        ifn_free(r);
        pthread_mutex_lock(&ws->lock);
        link = &ws->requests;
    }
    pthread_mutex_unlock(&ws->lock);
}

static int count_inflight(ws_session *ws, const char *request_id, int *out_duplicate) {
    int n = 0;
    *out_duplicate = 0;
    pthread_mutex_lock(&ws->lock);
    for (ws_request *r = ws->requests; r; r = r->next) {
        n++;
        if (!r->is_finished && strcmp(r->request_id, request_id) == 0) *out_duplicate = 1;
    }
    pthread_mutex_unlock(&ws->lock);
    return n;
}

static void cancel(ws_session *ws, const char *request_id) {
    pthread_mutex_lock(&ws->lock);
    for (ws_request *r = ws->requests; r; r = r->next)
        if (strcmp(r->request_id, request_id) == 0) ifn_openai_generation_abort(r->gen);
    pthread_mutex_unlock(&ws->lock);
}

static ifn_openai_endpoint endpoint_of(const json_t *msg, ifn_openai_error *e) {
    const char *name = json_string_value(json_object_get(msg, "endpoint"));
    if (!name) return json_object_get(msg, "messages") ? IFN_OPENAI_ENDPOINT_CHAT
                                                       : IFN_OPENAI_ENDPOINT_COMPLETIONS;
    if (strcmp(name, "chat.completions") == 0 || strcmp(name, "/v1/chat/completions") == 0)
        return IFN_OPENAI_ENDPOINT_CHAT;
    if (strcmp(name, "completions") == 0 || strcmp(name, "/v1/completions") == 0)
        return IFN_OPENAI_ENDPOINT_COMPLETIONS;
    ifn_openai_reply_fail(e, 400, "endpoint", "'endpoint' must be 'completions' or "
                                              "'chat.completions'");
    return (ifn_openai_endpoint)-1;
}

static void start_request(ws_session *ws, json_t *msg, const char *request_id) {
    ifn_openai_error e;
    int duplicate = 0;
    if (count_inflight(ws, request_id, &duplicate) >= MAX_INFLIGHT) {
        ifn_openai_reply_fail(&e, 429, NULL, "at most %d requests in flight per socket",
                              MAX_INFLIGHT);
        send_error(ws, request_id, &e);
        return;
    }
    if (duplicate) {
        ifn_openai_reply_fail(&e, 400, "request_id", "request_id '%s' is already running",
                              request_id);
        send_error(ws, request_id, &e);
        return;
    }
    e.status = 0;
    ifn_openai_endpoint ep = endpoint_of(msg, &e);
    ws_request *r = e.status ? NULL : ifn_calloc(1, sizeof *r);
    json_object_set_new(msg, "stream", json_true());
    if (r && ifn_openai_generation_start(ws->server, msg, ep, ws->session_id, &r->gen, &e) == 0) {
        r->session = ws;
        snprintf(r->request_id, sizeof r->request_id, "%s", request_id);
        pthread_mutex_lock(&ws->lock);
        int started = pthread_create(&r->pump, NULL, pump, r) == 0;
        if (started) {
            r->next = ws->requests;
            ws->requests = r;
        }
        pthread_mutex_unlock(&ws->lock);
        if (started) return;
        ifn_openai_generation_destroy(r->gen);
        ifn_openai_reply_fail(&e, 500, NULL, "cannot start a thread");
    } else if (!r && e.status == 0) {
        ifn_openai_reply_fail(&e, 500, NULL, "out of memory");
    }
    ifn_free(r);
    send_error(ws, request_id, &e);
}

static void handle_message(ws_session *ws, const char *text, size_t len) {
    ifn_openai_error e;
    json_error_t err;
    json_t *msg = json_loadb(text, len, 0, &err);
    const json_t *id = msg ? json_object_get(msg, "request_id") : NULL;
    const char *request_id = json_is_string(id) ? json_string_value(id) : "";
    if (!json_is_object(msg)) {
        ifn_openai_reply_fail(&e, 400, NULL, "messages must be JSON objects");
    } else if (!json_is_string(id) || json_string_length(id) == 0 ||
               json_string_length(id) >= MAX_REQUEST_ID) {
        ifn_openai_reply_fail(&e, 400, "request_id", "every message needs a 'request_id' string "
                                                     "(1 to %d bytes)", MAX_REQUEST_ID - 1);
    } else {
        const char *type = json_string_value(json_object_get(msg, "type"));
        if (type && strcmp(type, "cancel") == 0) cancel(ws, request_id);
        else start_request(ws, msg, request_id);
        json_decref(msg);
        return;
    }
    send_error(ws, request_id, &e);
    json_decref(msg);
}

/* What the upgraded connection's thread starts from (freed by it). */
typedef struct ws_start {
    ifn_server *server;
    char session_id[MAX_REQUEST_ID]; /* "" = none */
} ws_start;

static void run_session(void *user, int fd, const char *extra, size_t n_extra,
                        ifn_http_upgrade *upgrade) {
    ws_start *start = user;
    ws_session ws = {.server = start->server,
                     .session_id = start->session_id[0] ? start->session_id : NULL};
    pthread_mutex_init(&ws.lock, NULL);
    ifn_ws_conn_params params = ifn_ws_conn_params_default();
    params.max_message_bytes = ws.server->params.http.max_body_bytes;
    if (ifn_ws_conn_create(fd, extra, n_extra, &params, &ws.conn) == IFN_OK) {
        for (;;) {
            int duplicate;
            /* Shutting down: requests in flight get the server's grace period, as over HTTP. */
            if (ifn_server_is_draining(ws.server) && count_inflight(&ws, "", &duplicate) == 0) break;
            char *text = NULL;
            size_t len = 0;
            ifn_status st = ifn_ws_conn_read_message(ws.conn, 100, &text, &len);
            if (st == IFN_OK) handle_message(&ws, text, len);
            ifn_free(text);
            if (st != IFN_OK && st != IFN_E_AGAIN) break;
            reap(&ws, 0);
        }
        reap(&ws, 1);
        if (!ifn_ws_conn_is_closed(ws.conn)) (void)ifn_ws_conn_close(ws.conn, 1001, "going away");
        ifn_ws_conn_destroy(ws.conn);
    }
    pthread_mutex_lock(&ws.server->lock);
    ws.server->n_websockets--;
    pthread_mutex_unlock(&ws.server->lock);
    pthread_mutex_destroy(&ws.lock);
    ifn_free(start);
    ifn_http_upgrade_close(upgrade);
}

static int header_has(ifn_http_request *r, const char *name, const char *token) {
    const char *value = ifn_http_request_header(r, name);
    if (!value) return 0;
    size_t n = strlen(token);
    for (const char *p = value; *p; p++)
        if (strncasecmp(p, token, n) == 0) return 1;
    return 0;
}

void ifn_ws_api_handle(ifn_server *s, ifn_http_request *request) {
    ifn_openai_error e = {0};
    const char *key = ifn_http_request_header(request, "Sec-WebSocket-Key");
    const char *version = ifn_http_request_header(request, "Sec-WebSocket-Version");
    char accept[29];
    if (!header_has(request, "Upgrade", "websocket") || !header_has(request, "Connection", "upgrade") ||
        !version || strcmp(version, "13") != 0 || !key || ifn_ws_accept_key(key, accept) != IFN_OK) {
        ifn_openai_reply_fail(&e, 400, NULL, "/v1/ws needs a WebSocket (version 13) upgrade");
        ifn_openai_reply_error(request, &e, NULL);
        return;
    }
    if (ifn_server_check_ready(s, &e) != 0 || ifn_server_is_draining(s)) {
        if (e.status == 0) ifn_openai_reply_fail(&e, 503, NULL, "the server is shutting down");
        ifn_openai_reply_error(request, &e, NULL);
        return;
    }
    ws_start *start = ifn_calloc(1, sizeof *start);
    if (!start) {
        ifn_openai_reply_fail(&e, 500, NULL, "out of memory");
        ifn_openai_reply_error(request, &e, NULL);
        return;
    }
    start->server = s;
    const char *session_id = ifn_http_request_header(request, "X-Session-Id");
    snprintf(start->session_id, sizeof start->session_id, "%s", session_id ? session_id : "");
    pthread_mutex_lock(&s->lock);
    s->n_websockets++;
    pthread_mutex_unlock(&s->lock);
    const ifn_http_header headers[] = {{"Upgrade", "websocket"}, {"Sec-WebSocket-Accept", accept},
                                       {NULL, NULL}};
    if (ifn_http_respond_upgrade(request, headers, run_session, start) != IFN_OK) {
        pthread_mutex_lock(&s->lock);
        s->n_websockets--;
        pthread_mutex_unlock(&s->lock);
        ifn_free(start);
    }
}
