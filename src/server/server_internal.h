/* State the server's endpoint modules share (server.c owns it). */
#ifndef IFN_SERVER_SERVER_INTERNAL_H
#define IFN_SERVER_SERVER_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "manager/manager.h"
#include "manager/router_holder.h"
#include "server/openai_reply.h"
#include "server/server.h"
#include "util/rng.h"

struct ifn_server {
    ifn_server_params params;
    ifn_http_server *http;
    ifn_manager *manager;       /* NULL until ready; owned */
    ifn_router_holder *router;  /* NULL without a routing file; owned */
    char *default_model;        /* answers requests that name no model; NULL = none */
    int64_t started_unix;
    pthread_mutex_t lock;       /* guards everything below */
    pthread_cond_t changed;
    int is_ready;
    int is_draining;            /* shutting down: new requests get 503 */
    int32_t n_active;           /* admitted jobs not yet released */
    int32_t n_websockets;       /* open /v1/ws connections */
    ifn_rng rng;                /* request ids */
};

/* 0 when the server is ready for requests, else -1 with a 503 in `error` (still loading). */
int ifn_server_check_ready(ifn_server *server, ifn_openai_error *error);

/* Admission: counts one more job in flight, or fails with 503 when the queue bound is reached
 * or the server is draining. Every successful admit is paired with ifn_server_leave. */
int ifn_server_admit(ifn_server *server, ifn_openai_error *error);
void ifn_server_leave(ifn_server *server);

/* "<prefix>-<24 hex digits>", unique per process. */
void ifn_server_new_id(ifn_server *server, const char *prefix, char *out, size_t cap);

/* 1 while shutting down (WebSocket loops poll it). */
int ifn_server_is_draining(ifn_server *server);

#endif
