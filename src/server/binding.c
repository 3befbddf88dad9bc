/* Request -> routing -> leased model (see binding.h). */
#include "server/binding.h"

#include <stdio.h>
#include <string.h>

#include "manager/model_config.h"
#include "manager/router_holder.h"
#include "server/openai_params.h"
#include "util/status.h"

/* How long a request waits for its model to load before 503. */
#define LOAD_TIMEOUT_MS (10 * 60 * 1000)

static int is_overloaded(void *user, const char *model, int32_t queue_threshold) {
    ifn_server *s = user;
    return ifn_manager_queue_depth(s->manager, model) > queue_threshold;
}

/* Whether `model` ("name" or "name@version") has the context the request needs, for fallbacks:
 * unknown models are left to the manager to refuse. */
static int can_serve(void *user, const char *model, ifn_router_kind kind, int32_t n_ctx_needed) {
    (void)kind; /* every Llama-family model serves completions, chat and embeddings */
    ifn_server *s = user;
    if (n_ctx_needed <= 0) return 1;
    ifn_manager_model_info *infos = NULL;
    int32_t n = 0;
    if (ifn_manager_list(s->manager, &infos, &n) != IFN_OK) return 1;
    int32_t best = -1; /* the context of the version the name means: the highest served one */
    for (int32_t i = 0; i < n; i++) {
        char full[192];
        snprintf(full, sizeof full, "%s@%lld", infos[i].name, (long long)infos[i].version);
        int named = strcmp(full, model) == 0 || (strcmp(infos[i].name, model) == 0 && infos[i].is_served);
        if (named && infos[i].n_ctx > best) best = infos[i].n_ctx;
    }
    ifn_manager_list_free(infos, n);
    return best < 0 || n_ctx_needed <= best;
}

/* Ollama's keep_alive: seconds as a number, or a duration string ("5m", "-1"). */
static int parse_keep_alive(const json_t *body, int64_t *out_ms, ifn_openai_error *e) {
    *out_ms = IFN_KEEP_ALIVE_DEFAULT;
    const json_t *v = body ? json_object_get(body, "keep_alive") : NULL;
    if (!v || json_is_null(v)) return 0;
    if (json_is_number(v)) {
        double seconds = json_number_value(v);
        *out_ms = seconds < 0 ? IFN_KEEP_ALIVE_FOREVER : (int64_t)(seconds * 1000.0);
        return 0;
    }
    if (json_is_string(v) && ifn_model_config_parse_duration(json_string_value(v), out_ms) == IFN_OK) {
        if (*out_ms < 0) *out_ms = IFN_KEEP_ALIVE_FOREVER;
        return 0;
    }
    return ifn_openai_reply_fail(e, 400, "keep_alive", "'keep_alive' must be seconds or a "
                                                       "duration such as \"5m\" (-1 = forever)");
}

/* The routing file's choice for the request, or the name itself without one. */
static int route(ifn_server *s, const ifn_binding_query *q, const char *model, char *target,
                 size_t cap, ifn_openai_error *e) {
    ifn_router *router = s->router ? ifn_router_holder_acquire(s->router) : NULL;
    if (!router) {
        snprintf(target, cap, "%s", model ? model : "");
        return 0;
    }
    const char *user = q->body ? json_string_value(json_object_get(q->body, "user")) : NULL;
    ifn_router_query rq = {.model = model, .kind = q->kind, .n_ctx_needed = q->n_ctx_needed,
                           .sticky_key = user ? user : q->session_id, .user = s,
                           .is_overloaded = is_overloaded, .can_serve = can_serve};
    pthread_mutex_lock(&s->lock);
    rq.draw = ifn_rng_next_f64(&s->rng);
    pthread_mutex_unlock(&s->lock);
    ifn_router_choice choice;
    ifn_status st = ifn_router_resolve(router, &rq, &choice);
    ifn_router_release(router);
    if (st != IFN_OK && !model) { /* no rule picks a model: the default one, if any */
        *target = '\0';
        return 0;
    }
    if (st != IFN_OK)
        return ifn_openai_reply_fail(e, 400, "model", "%s", ifn_last_error());
    snprintf(target, cap, "%s", choice.target);
    return 0;
}

static int acquire_error(ifn_status st, const char *name, ifn_openai_error *e) {
    switch (st) {
    case IFN_E_INVALID:
        ifn_openai_reply_fail(e, 404, "model", "The model '%s' does not exist (%s)", name,
                              ifn_last_error());
        e->code = "model_not_found";
        return -1;
    case IFN_E_FULL:
    case IFN_E_TIMEOUT:
    case IFN_E_CANCELLED:
        return ifn_openai_reply_fail(e, 503, "model", "model '%s' is not available now: %s", name,
                                     ifn_last_error());
    default:
        return ifn_openai_reply_fail(e, 500, "model", "model '%s' failed to load: %s", name,
                                     ifn_last_error());
    }
}

int ifn_binding_acquire(ifn_server *s, const ifn_binding_query *q, ifn_binding *out,
                        ifn_openai_error *e) {
    memset(out, 0, sizeof *out);
    int64_t keep_alive_ms;
    if (parse_keep_alive(q->body, &keep_alive_ms, e) != 0) return -1;
    const char *model = q->model && *q->model ? q->model : NULL;
    char target[IFN_ROUTER_NAME_CAP];
    if (route(s, q, model, target, sizeof target, e) != 0) return -1;
    if (!*target && s->default_model) snprintf(target, sizeof target, "%s", s->default_model);
    if (!*target)
        return ifn_openai_reply_fail(e, 400, "model", "'model' is required (this server has no "
                                                      "default model)");
    ifn_status st = ifn_manager_acquire(s->manager, target, keep_alive_ms, LOAD_TIMEOUT_MS,
                                        &out->lease);
    if (st != IFN_OK) return acquire_error(st, target, e);
    out->model = ifn_manager_lease_model(out->lease);
    const char *name = ifn_manager_lease_name(out->lease);
    if (s->default_model && strcmp(name, s->default_model) == 0)
        snprintf(out->name, sizeof out->name, "%s", name); /* the -m model keeps its plain name */
    else
        snprintf(out->name, sizeof out->name, "%s@%lld", name,
                 (long long)ifn_manager_lease_version(out->lease));
    return 0;
}

int ifn_binding_has_routing(const ifn_server *s) {
    return s->router != NULL;
}

void ifn_binding_release(ifn_binding *b) {
    if (b->lease) ifn_manager_release(b->lease);
    memset(b, 0, sizeof *b);
}
