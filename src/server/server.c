/* The server: lifecycle, admission, the middleware chain and routing (see server.h). */
#include "server/server.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "server/admin_api.h"
#include "server/openai_embeddings.h"
#include "server/openai_http.h"
#include "server/openai_info.h"
#include "server/server_internal.h"
#include "server/ws_api.h"
#include "util/alloc.h"
#include "util/log.h"
#include "util/status.h"
#include "util/time.h"

ifn_server_params ifn_server_params_default(void) {
    ifn_server_params p;
    memset(&p, 0, sizeof p);
    p.http = ifn_http_params_default();
    p.max_queue = 256;
    p.max_running = 64;
    p.shutdown_grace_ms = 10000;
    return p;
}

/* ---- shared state ------------------------------------------------------------------------- */

int ifn_server_check_ready(ifn_server *s, ifn_openai_error *e) {
    pthread_mutex_lock(&s->lock);
    int ready = s->is_ready;
    pthread_mutex_unlock(&s->lock);
    return ready ? 0 : ifn_openai_reply_fail(e, 503, NULL, "the server is still loading");
}

int ifn_server_admit(ifn_server *s, ifn_openai_error *e) {
    pthread_mutex_lock(&s->lock);
    int32_t limit = s->params.max_running + s->params.max_queue;
    int ok = !s->is_draining && s->n_active < limit;
    if (ok) s->n_active++;
    int is_draining = s->is_draining;
    pthread_mutex_unlock(&s->lock);
    if (ok) return 0;
    return ifn_openai_reply_fail(e, 503, NULL, is_draining ? "the server is shutting down"
                                                           : "the server is overloaded: too many "
                                                             "requests queued, retry later");
}

void ifn_server_leave(ifn_server *s) {
    pthread_mutex_lock(&s->lock);
    s->n_active--;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
}

void ifn_server_new_id(ifn_server *s, const char *prefix, char *out, size_t cap) {
    pthread_mutex_lock(&s->lock);
    uint64_t a = ifn_rng_next_u64(&s->rng), b = ifn_rng_next_u64(&s->rng);
    pthread_mutex_unlock(&s->lock);
    snprintf(out, cap, "%s-%016llx%08llx", prefix, (unsigned long long)a,
             (unsigned long long)(b >> 32));
}

int ifn_server_is_draining(ifn_server *s) {
    pthread_mutex_lock(&s->lock);
    int draining = s->is_draining;
    pthread_mutex_unlock(&s->lock);
    return draining;
}

/* ---- plain endpoints ---------------------------------------------------------------------- */

static void handle_health(ifn_server *s, ifn_http_request *r) {
    pthread_mutex_lock(&s->lock);
    int ready = s->is_ready && !s->is_draining;
    const char *status = s->is_draining ? "shutting_down" : s->is_ready ? "ok" : "loading";
    pthread_mutex_unlock(&s->lock);
    ifn_openai_reply_json(r, ready ? 200 : 503, json_pack("{s:s}", "status", status), NULL);
}

static void handle_version(ifn_server *s, ifn_http_request *r) {
    (void)s;
    ifn_openai_reply_json(r, 200, json_pack("{s:s}", "version", IFN_VERSION_STRING), NULL);
}

/* Engine counters of one loaded model (or zeros), summed into the top level too. */
static json_t *engine_stats_json(const ifn_engine_stats *st) {
    return json_pack("{s:i,s:i,s:{s:i,s:i,s:i,s:i,s:I},s:{s:I,s:I},s:I,s:I,s:I,s:I}", "running",
                     st->n_running, "waiting", st->n_waiting, "kv_blocks", "total",
                     st->kv_blocks_total, "used", st->kv_blocks_used, "free", st->kv_blocks_free,
                     "cached", st->kv_blocks_cached, "tokens", (json_int_t)st->kv_tokens,
                     "prefix_cache", "queries", (json_int_t)st->prefix_queries, "hits",
                     (json_int_t)st->prefix_hits, "preemptions", (json_int_t)st->preemptions,
                     "steps", (json_int_t)st->steps, "generated_tokens",
                     (json_int_t)st->generated_tokens, "finished_requests",
                     (json_int_t)st->finished_requests);
}

static void add_stats(ifn_engine_stats *sum, const ifn_engine_stats *st) {
    sum->n_running += st->n_running;
    sum->n_waiting += st->n_waiting;
    sum->kv_blocks_total += st->kv_blocks_total;
    sum->kv_blocks_used += st->kv_blocks_used;
    sum->kv_blocks_free += st->kv_blocks_free;
    sum->kv_blocks_cached += st->kv_blocks_cached;
    sum->kv_tokens += st->kv_tokens;
    sum->prefix_queries += st->prefix_queries;
    sum->prefix_hits += st->prefix_hits;
    sum->preemptions += st->preemptions;
    sum->steps += st->steps;
    sum->generated_tokens += st->generated_tokens;
    sum->finished_requests += st->finished_requests;
}

static json_t *manager_stats_json(ifn_manager *m) {
    ifn_manager_stats ms;
    ifn_manager_get_stats(m, &ms);
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:i,s:I,s:I}", "loads", (json_int_t)ms.loads,
                     "load_failures", (json_int_t)ms.load_failures, "unloads",
                     (json_int_t)ms.unloads, "evictions", (json_int_t)ms.evictions,
                     "rejected_full", (json_int_t)ms.rejected_full, "models_loaded", ms.n_loaded,
                     "reserved_bytes", (json_int_t)ms.reserved_bytes, "peak_reserved_bytes",
                     (json_int_t)ms.peak_reserved_bytes);
}

/* Server, manager and engine counters as JSON: the totals over loaded models at the top level
 * (a single-model server reads like one engine), each loaded model under "models", and the
 * routing counters (Prometheus metrics come with the observability issue). */
static void handle_stats(ifn_server *s, ifn_http_request *r) {
    ifn_openai_error e;
    if (ifn_server_check_ready(s, &e) != 0) {
        ifn_openai_reply_error(r, &e, NULL);
        return;
    }
    ifn_manager_model_info *infos = NULL;
    int32_t n_infos = 0;
    ifn_engine_stats total;
    memset(&total, 0, sizeof total);
    json_t *models = json_object();
    if (ifn_manager_list(s->manager, &infos, &n_infos) == IFN_OK) {
        for (int32_t i = 0; i < n_infos; i++) {
            ifn_engine_stats st;
            char key[192];
            snprintf(key, sizeof key, "%s@%lld", infos[i].name, (long long)infos[i].version);
            if (ifn_manager_engine_stats(s->manager, key, &st) != IFN_OK) continue;
            add_stats(&total, &st);
            json_object_set_new(models, key, engine_stats_json(&st));
        }
        ifn_manager_list_free(infos, n_infos);
    }
    pthread_mutex_lock(&s->lock);
    int active = s->n_active, websockets = s->n_websockets;
    pthread_mutex_unlock(&s->lock);
    json_t *body = engine_stats_json(&total);
    json_object_set_new(body, "model", s->default_model ? json_string(s->default_model) : json_null());
    json_object_set_new(body, "active_requests", json_integer(active));
    json_object_set_new(body, "websockets", json_integer(websockets));
    json_object_set_new(body, "models", models);
    json_object_set_new(body, "manager", manager_stats_json(s->manager));
    json_object_set_new(body, "routing", ifn_admin_api_routing_json(s));
    ifn_openai_reply_json(r, 200, body, NULL);
}

/* ---- middleware chain and routes ---------------------------------------------------------- */

/* A middleware looks at a request before its route; returning 1 means it answered. Later
 * concerns (API keys, rate limits, metrics) join this chain. */
typedef int (*middleware_fn)(ifn_server *s, ifn_http_request *r);

static int refuse_oversized(ifn_server *s, ifn_http_request *r) {
    if (!ifn_http_request_body_too_large(r)) return 0;
    ifn_openai_error e;
    ifn_openai_reply_fail(&e, 413, NULL, "the request body is larger than %zu bytes",
                          s->params.http.max_body_bytes);
    ifn_openai_reply_error(r, &e, NULL);
    return 1;
}

static int log_request(ifn_server *s, ifn_http_request *r) {
    (void)s;
    IFN_LOG_DEBUG("server", "%s %s", ifn_http_request_method(r), ifn_http_request_path(r));
    return 0;
}

static const middleware_fn middleware[] = {log_request, refuse_oversized};

typedef struct route {
    const char *method;
    const char *path;
    void (*handle)(ifn_server *s, ifn_http_request *r);
} route;

static void handle_completions(ifn_server *s, ifn_http_request *r) {
    ifn_openai_http_generate(s, r, IFN_OPENAI_ENDPOINT_COMPLETIONS);
}

static void handle_chat(ifn_server *s, ifn_http_request *r) {
    ifn_openai_http_generate(s, r, IFN_OPENAI_ENDPOINT_CHAT);
}

static const route routes[] = {
    {"POST", "/v1/completions", handle_completions},
    {"POST", "/v1/chat/completions", handle_chat},
    {"POST", "/v1/embeddings", ifn_openai_embeddings_handle},
    {"GET", "/v1/models", ifn_openai_info_models},
    {"POST", "/tokenize", ifn_openai_info_tokenize},
    {"POST", "/detokenize", ifn_openai_info_detokenize},
    {"GET", "/health", handle_health},
    {"GET", "/version", handle_version},
    {"GET", "/stats", handle_stats},
    {"GET", "/v1/ws", ifn_ws_api_handle},
};

/* 404 for an unknown path; 405 with the Allow header (RFC 9110) when `allowed` is set. */
static void not_found(ifn_http_request *r, const char *allowed) {
    ifn_openai_error e;
    ifn_openai_reply_fail(&e, allowed ? 405 : 404, NULL, "%s %s: %s", ifn_http_request_method(r),
                          ifn_http_request_path(r),
                          allowed ? "method not allowed" : "no such endpoint");
    e.type = "invalid_request_error";
    const ifn_http_header allow[] = {{"Allow", allowed}, {NULL, NULL}};
    ifn_openai_reply_error(r, &e, allowed ? allow : NULL);
}

static void dispatch(void *user, ifn_http_request *r) {
    ifn_server *s = user;
    for (size_t i = 0; i < sizeof middleware / sizeof middleware[0]; i++)
        if (middleware[i](s, r)) return;
    const char *method = ifn_http_request_method(r), *path = ifn_http_request_path(r);
    if (strncmp(path, "/v2/", 4) == 0) {
        ifn_openai_error e;
        if (ifn_server_check_ready(s, &e) != 0) {
            ifn_openai_reply_error(r, &e, NULL);
            return;
        }
        if (ifn_admin_api_handle(s, r, path)) return;
    }
    static const char models_prefix[] = "/v1/models/";
    if (strncmp(path, models_prefix, sizeof models_prefix - 1) == 0 && strcmp(method, "GET") == 0) {
        ifn_openai_info_model(s, r, path + sizeof models_prefix - 1);
        return;
    }
    const char *allowed = NULL; /* every path has one method */
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (strcmp(path, routes[i].path) != 0) continue;
        allowed = routes[i].method;
        if (strcmp(method, routes[i].method) != 0) continue;
        routes[i].handle(s, r);
        return;
    }
    not_found(r, allowed);
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

ifn_status ifn_server_start(const ifn_server_params *p, ifn_server **out_server) {
    ifn_server *s = ifn_calloc(1, sizeof *s);
    if (!s) return ifn_fail(IFN_E_NOMEM, "no memory");
    s->params = *p;
    s->params.http.handler = dispatch;
    s->params.http.user = s;
    s->started_unix = (int64_t)time(NULL);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->changed, NULL);
    ifn_rng_seed(&s->rng, (uint64_t)ifn_time_now_ns() ^ (uint64_t)time(NULL) << 20);
    ifn_status st = ifn_http_server_start(&s->params.http, &s->http);
    if (st != IFN_OK) {
        pthread_cond_destroy(&s->changed);
        pthread_mutex_destroy(&s->lock);
        ifn_free(s);
        return st;
    }
    *out_server = s;
    return IFN_OK;
}

uint16_t ifn_server_port(const ifn_server *s) { return ifn_http_server_port(s->http); }

void ifn_server_set_models(ifn_server *s, ifn_manager *manager, ifn_router_holder *router,
                           const char *default_model) {
    pthread_mutex_lock(&s->lock);
    s->manager = manager;
    s->router = router;
    s->default_model = default_model ? ifn_strndup(default_model, strlen(default_model)) : NULL;
    s->is_ready = 1;
    pthread_mutex_unlock(&s->lock);
}

ifn_status ifn_server_reload_routing(ifn_server *s) {
    return ifn_admin_api_reload_routing(s);
}

/* Waits until no job is in flight (ifn_server_leave signals `changed`) or timeout_ms passes;
 * returns 1 when idle. */
static int wait_idle(ifn_server *s, int64_t timeout_ms) {
    struct timespec deadline = ifn_time_deadline_after_ms(timeout_ms);
    pthread_mutex_lock(&s->lock);
    int rc = 0;
    while (s->n_active > 0 && rc == 0) rc = pthread_cond_timedwait(&s->changed, &s->lock, &deadline);
    int idle = s->n_active == 0;
    pthread_mutex_unlock(&s->lock);
    return idle;
}

void ifn_server_shutdown(ifn_server *s) {
    if (!s) return;
    ifn_http_server_quiesce(s->http);
    pthread_mutex_lock(&s->lock);
    s->is_draining = 1;
    pthread_mutex_unlock(&s->lock);
    int idle = wait_idle(s, s->params.shutdown_grace_ms);
    if (!idle && s->manager) {
        IFN_LOG_WARN("server", "cancelling requests still running after the grace period");
        ifn_manager_abort_all(s->manager); /* streams end with finish_reason "abort" */
        wait_idle(s, 5000);
    }
    ifn_http_server_stop(s->http); /* WebSocket loops see is_draining and close */
    ifn_manager_destroy(s->manager);
    ifn_router_holder_destroy(s->router);
    ifn_free(s->default_model);
    pthread_cond_destroy(&s->changed);
    pthread_mutex_destroy(&s->lock);
    ifn_free(s);
}
