/* `inferneo serve`: the OpenAI-compatible HTTP server over the models of a model manager. It
 * listens at once (GET /health answers 503 until the models are set, then 200), answers
 * /v1/completions, /v1/chat/completions, /v1/embeddings, /v1/models, /tokenize, /detokenize,
 * /version, /stats, WebSocket streaming at /v1/ws and the repository API under /v2 (Triton's
 * paths), and shuts down gracefully. Each request is routed (routing file) to a model that the
 * manager loads on demand. */
#ifndef IFN_SERVER_SERVER_H
#define IFN_SERVER_SERVER_H

#include <stdint.h>

#include "manager/manager.h"
#include "manager/router_holder.h"
#include "server/http.h"

typedef struct ifn_server ifn_server;

typedef struct ifn_server_params {
    ifn_http_params http;        /* host, port, body limit, connections (handler is the server's) */
    int32_t max_queue;           /* requests waiting beyond the engine's running slots; more get
                                    503 with Retry-After */
    int32_t max_running;         /* the engine's max_num_seqs (sizes the queue bound) */
    int64_t request_timeout_ms;  /* per request, 0 = none */
    int64_t shutdown_grace_ms;   /* in-flight requests get this long to finish on shutdown */
    const char *routing_path;    /* the routing file (for reloads), NULL = none; borrowed */
} ifn_server_params;

ifn_server_params ifn_server_params_default(void);

/* Starts listening (not ready yet). Errors as ifn_http_server_start. */
ifn_status ifn_server_start(const ifn_server_params *params, ifn_server **out_server);

uint16_t ifn_server_port(const ifn_server *server);

/* Hands the model manager and the routing (NULL = none) to the server, which owns them from now
 * on, and marks it ready. default_model (copied; NULL = none) answers requests naming no
 * model. */
void ifn_server_set_models(ifn_server *server, ifn_manager *manager, ifn_router_holder *router,
                           const char *default_model);

/* Rereads the routing file (on SIGHUP); a bad file keeps the old routing and is reported. */
ifn_status ifn_server_reload_routing(ifn_server *server);

/* Graceful stop: stops accepting, lets in-flight requests finish for the grace period, cancels
 * the rest (streams end with finish_reason "abort"), closes WebSockets, and frees everything,
 * the model included. */
void ifn_server_shutdown(ifn_server *server);

#endif
