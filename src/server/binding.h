/* Which model answers a request: the routing file (aliases, weighted A/B splits with sticky
 * sessions, rules by request kind, fallback when overloaded) picks a target, and the model
 * manager leases it (loading it first when needed). A binding holds that lease for the request's
 * lifetime, so the model cannot be unloaded under it. */
#ifndef IFN_SERVER_BINDING_H
#define IFN_SERVER_BINDING_H

#include <jansson.h>

#include "manager/manager.h"
#include "manager/router.h"
#include "server/server_internal.h"

typedef struct ifn_binding_query {
    const char *model;          /* the request's "model"; NULL = the default model */
    ifn_router_kind kind;
    const char *session_id;     /* X-Session-Id header: the sticky key when the body has no "user" */
    const json_t *body;         /* for "user" and "keep_alive"; may be NULL */
    int32_t n_ctx_needed;       /* prompt + max_tokens when known (context rules), else 0 */
} ifn_binding_query;

typedef struct ifn_binding {
    ifn_manager_lease *lease;
    ifn_served_model *model;    /* borrowed from the lease */
    char name[192];             /* what responses report: "name" or "name@version" */
} ifn_binding;

/* Resolves and leases. Errors fill `error`: 400 (bad keep_alive, no model given and no default),
 * 404 model_not_found, 503 (over the memory budget, loading timed out, shutting down; with
 * Retry-After), 500 (the model failed to load). */
int ifn_binding_acquire(ifn_server *server, const ifn_binding_query *query, ifn_binding *out,
                        ifn_openai_error *error);

/* 1 when the server has a routing file (a request may then be rerouted once its context need
 * is known). */
int ifn_binding_has_routing(const ifn_server *server);

/* Ends the lease (safe on a zeroed binding). */
void ifn_binding_release(ifn_binding *binding);

#endif
