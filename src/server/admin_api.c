/* Repository and routing control (see admin_api.h). */
#include "server/admin_api.h"

#include <stdio.h>
#include <string.h>

#include "manager/router.h"
#include "util/alloc.h"
#include "util/status.h"

#define LOAD_TIMEOUT_MS (10 * 60 * 1000)
#define UNLOAD_GRACE_MS 10000

static void triton_error(ifn_http_request *r, int status, const char *message) {
    ifn_openai_reply_json(r, status, json_pack("{s:s}", "error", message), NULL);
}

static json_t *version_json(const ifn_manager_model_info *info) {
    json_t *v = json_pack("{s:s,s:s,s:s,s:I}", "name", info->name, "version", "", "state",
                          ifn_manager_state_str(info->state), "estimated_bytes",
                          (json_int_t)info->estimated_bytes);
    char version[32];
    snprintf(version, sizeof version, "%lld", (long long)info->version);
    json_object_set_new(v, "version", json_string(version)); /* Triton writes versions as text */
    json_object_set_new(v, "reason", json_string(info->error ? info->error : ""));
    return v;
}

/* Versions of `name` (every model when NULL) as a Triton index. */
static json_t *index_json(ifn_server *s, const char *name) {
    ifn_manager_model_info *infos = NULL;
    int32_t n = 0;
    if (ifn_manager_list(s->manager, &infos, &n) != IFN_OK) return NULL;
    json_t *list = json_array();
    for (int32_t i = 0; list && i < n; i++)
        if (!name || strcmp(infos[i].name, name) == 0)
            json_array_append_new(list, version_json(&infos[i]));
    ifn_manager_list_free(infos, n);
    return list;
}

static void handle_load(ifn_server *s, ifn_http_request *r, const char *name, int is_load) {
    ifn_status st = is_load ? ifn_manager_load(s->manager, name, IFN_KEEP_ALIVE_DEFAULT,
                                               LOAD_TIMEOUT_MS)
                            : ifn_manager_unload(s->manager, name, UNLOAD_GRACE_MS);
    if (st == IFN_OK) {
        ifn_openai_reply_json(r, 200, json_object(), NULL);
        return;
    }
    char message[512];
    snprintf(message, sizeof message, "failed to %s '%s': %s", is_load ? "load" : "unload", name,
             ifn_last_error());
    triton_error(r, st == IFN_E_INVALID ? 404 : st == IFN_E_FULL ? 503 : 400, message);
}

static void handle_model(ifn_server *s, ifn_http_request *r, const char *name, int is_ready) {
    json_t *versions = index_json(s, name);
    if (!versions || json_array_size(versions) == 0) {
        json_decref(versions);
        triton_error(r, 404, "unknown model");
        return;
    }
    int ready = 0;
    size_t i;
    json_t *v;
    json_array_foreach(versions, i, v) ready |=
        strcmp(json_string_value(json_object_get(v, "state")), "ready") == 0;
    if (is_ready) {
        json_decref(versions);
        ifn_http_respond(r, ready ? 200 : 400, "text/plain", "", 0, NULL);
        return;
    }
    ifn_openai_reply_json(r, 200, json_pack("{s:s,s:s,s:b,s:o}", "name", name, "platform",
                                            "inferneo", "ready", ready, "versions", versions),
                          NULL);
}

ifn_status ifn_admin_api_reload_routing(ifn_server *s) {
    if (!s->router || !s->params.routing_path)
        return ifn_fail(IFN_E_INVALID, "the server has no routing file");
    return ifn_router_holder_reload(s->router, s->params.routing_path);
}

json_t *ifn_admin_api_routing_json(ifn_server *s) {
    ifn_router *router = s->router ? ifn_router_holder_acquire(s->router) : NULL;
    if (!router) return json_null();
    size_t n = ifn_router_get_counts(router, NULL, 0);
    ifn_router_count *counts = ifn_calloc(n ? n : 1, sizeof *counts);
    json_t *list = json_array();
    if (counts) n = ifn_router_get_counts(router, counts, n);
    static const char *const kinds[] = {"variant", "rule", "fallback"};
    for (size_t i = 0; counts && i < n; i++)
        json_array_append_new(list, json_pack("{s:s,s:s?,s:s,s:i,s:I}", "kind",
                                              kinds[counts[i].kind], "from", counts[i].from,
                                              "target", counts[i].target, "index",
                                              (int)counts[i].index, "chosen",
                                              (json_int_t)counts[i].n_chosen));
    ifn_free(counts);
    ifn_router_release(router);
    return json_pack("{s:s,s:o}", "file", s->params.routing_path, "counts", list);
}

/* "/v2/repository/models/NAME/ACTION" -> NAME into buf and ACTION; 0 if it is not that shape. */
static int split_model_path(const char *path, const char *prefix, char *name, size_t cap,
                            const char **action) {
    size_t n = strlen(prefix);
    if (strncmp(path, prefix, n) != 0) return 0;
    const char *start = path + n, *slash = strchr(start, '/');
    size_t len = slash ? (size_t)(slash - start) : strlen(start);
    if (len == 0 || len >= cap) return 0;
    memcpy(name, start, len);
    name[len] = '\0';
    *action = slash ? slash + 1 : "";
    return 1;
}

int ifn_admin_api_handle(ifn_server *s, ifn_http_request *r, const char *path) {
    const char *method = ifn_http_request_method(r), *action = NULL;
    int is_post = strcmp(method, "POST") == 0, is_get = strcmp(method, "GET") == 0;
    char name[256];
    if (strcmp(path, "/v2/repository/index") == 0 && is_post) {
        ifn_manager_rescan(s->manager); /* a folder that cannot be read keeps the old list */
        json_t *list = index_json(s, NULL);
        if (list) ifn_openai_reply_json(r, 200, list, NULL);
        else triton_error(r, 500, "out of memory");
        return 1;
    }
    if (strcmp(path, "/v2/routing/reload") == 0 && is_post) {
        ifn_status st = ifn_admin_api_reload_routing(s);
        if (st == IFN_OK) ifn_openai_reply_json(r, 200, ifn_admin_api_routing_json(s), NULL);
        else triton_error(r, 400, ifn_last_error());
        return 1;
    }
    if (is_post && split_model_path(path, "/v2/repository/models/", name, sizeof name, &action) &&
        (strcmp(action, "load") == 0 || strcmp(action, "unload") == 0)) {
        handle_load(s, r, name, strcmp(action, "load") == 0);
        return 1;
    }
    if (is_get && split_model_path(path, "/v2/models/", name, sizeof name, &action) &&
        (!*action || strcmp(action, "ready") == 0)) {
        handle_model(s, r, name, *action != '\0');
        return 1;
    }
    return 0;
}
