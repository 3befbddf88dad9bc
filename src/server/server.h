/* `inferneo serve`: the OpenAI-compatible HTTP server over one served model. It listens at once
 * (GET /health answers 503 until the model is set, then 200), answers /v1/completions,
 * /v1/chat/completions, /v1/embeddings, /v1/models, /tokenize, /detokenize, /version, /stats and
 * WebSocket streaming at /v1/ws, and shuts down gracefully. */
#ifndef IFN_SERVER_SERVER_H
#define IFN_SERVER_SERVER_H

#include <stdint.h>

#include "manager/served_model.h"
#include "server/http.h"

typedef struct ifn_server ifn_server;

typedef struct ifn_server_params {
    ifn_http_params http;        /* host, port, body limit, connections (handler is the server's) */
    int32_t max_queue;           /* requests waiting beyond the engine's running slots; more get
                                    503 with Retry-After */
    int32_t max_running;         /* the engine's max_num_seqs (sizes the queue bound) */
    int64_t request_timeout_ms;  /* per request, 0 = none */
    int64_t shutdown_grace_ms;   /* in-flight requests get this long to finish on shutdown */
} ifn_server_params;

ifn_server_params ifn_server_params_default(void);

/* Starts listening (not ready yet). Errors as ifn_http_server_start. */
ifn_status ifn_server_start(const ifn_server_params *params, ifn_server **out_server);

uint16_t ifn_server_port(const ifn_server *server);

/* Hands the loaded model to the server (which now owns it) and marks it ready. */
void ifn_server_set_model(ifn_server *server, ifn_served_model *model);

/* Graceful stop: stops accepting, lets in-flight requests finish for the grace period, cancels
 * the rest (streams end with finish_reason "abort"), closes WebSockets, and frees everything,
 * the model included. */
void ifn_server_shutdown(ifn_server *server);

#endif
