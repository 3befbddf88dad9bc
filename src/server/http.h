/* HTTP serving over libmicrohttpd: one thread per connection (so a handler may block while the
 * engine works, and a streaming response is written as events arrive), keep-alive and chunked
 * transfer from the library, request bodies collected up to a size limit (413 beyond), and the
 * upgrade hand-off for WebSocket. The rest of the server sees only this interface, never MHD.
 *
 * A handler is called once per request on its connection's thread, after the whole body has
 * arrived, and must answer exactly once with one of the ifn_http_respond_* calls. */
#ifndef IFN_SERVER_HTTP_H
#define IFN_SERVER_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "inferneo/status.h"

typedef struct ifn_http_server ifn_http_server;
typedef struct ifn_http_request ifn_http_request;
typedef struct ifn_http_upgrade ifn_http_upgrade;

typedef void (*ifn_http_handler)(void *user, ifn_http_request *request);

typedef struct ifn_http_params {
    const char *host;            /* numeric IPv4/IPv6 address; default "127.0.0.1" */
    uint16_t port;               /* 0 = any free port (see ifn_http_server_port) */
    size_t max_body_bytes;       /* larger request bodies get 413 */
    int32_t max_connections;
    int32_t idle_timeout_s;      /* keep-alive connections idle this long are closed; 0 = never */
    ifn_http_handler handler;
    void *user;
} ifn_http_params;

ifn_http_params ifn_http_params_default(void);

/* Listens and starts serving. Errors: IFN_E_INVALID (bad host), IFN_E_IO (cannot bind). */
ifn_status ifn_http_server_start(const ifn_http_params *params, ifn_http_server **out_server);

uint16_t ifn_http_server_port(const ifn_http_server *server);

/* Stops accepting new connections; open ones keep being served. */
void ifn_http_server_quiesce(ifn_http_server *server);

/* Closes every connection (waiting for their handlers to return) and frees the server. */
void ifn_http_server_stop(ifn_http_server *server);

/* ---- the request ------------------------------------------------------------------------- */

const char *ifn_http_request_method(const ifn_http_request *request);
const char *ifn_http_request_path(const ifn_http_request *request);
/* The body (NUL-terminated for convenience; may contain NULs). */
const char *ifn_http_request_body(const ifn_http_request *request, size_t *out_len);
/* A request header (case-insensitive name), or NULL. */
const char *ifn_http_request_header(const ifn_http_request *request, const char *name);
/* 1 once the client has closed or reset its connection (checked without blocking). */
int ifn_http_request_client_gone(const ifn_http_request *request);
/* 1 when the body was over max_body_bytes (it was dropped: answer 413). */
int ifn_http_request_body_too_large(const ifn_http_request *request);

/* ---- answering ---------------------------------------------------------------------------- */

/* Extra response headers: name/value pairs, terminated by a NULL name; may be NULL. */
typedef struct ifn_http_header {
    const char *name;
    const char *value;
} ifn_http_header;

ifn_status ifn_http_respond(ifn_http_request *request, int status, const char *content_type,
                            const char *body, size_t len, const ifn_http_header *headers);

/* Produces the next piece of a streamed body: appends up to `cap` bytes to buf and returns how
 * many (it may block until it has some); 0 ends the body; -1 aborts the connection. */
typedef long (*ifn_http_stream_fn)(void *user, char *buf, size_t cap);

/* Answers with a body produced piece by piece (chunked transfer). `done` (may be NULL) is called
 * exactly once when the library no longer needs the producer: after the end, an error, a client
 * that went away, or a failure of this call itself; it releases `user`. */
ifn_status ifn_http_respond_stream(ifn_http_request *request, int status, const char *content_type,
                                   const ifn_http_header *headers, ifn_http_stream_fn produce,
                                   void (*done)(void *user), void *user);

/* Takes over the connection after a 101 answer (WebSocket): `run` is called on a thread of its
 * own with the socket and any bytes already read past the request; it must finish with
 * ifn_http_upgrade_close. */
typedef void (*ifn_http_upgrade_fn)(void *user, int fd, const char *extra, size_t n_extra,
                                    ifn_http_upgrade *upgrade);

ifn_status ifn_http_respond_upgrade(ifn_http_request *request, const ifn_http_header *headers,
                                    ifn_http_upgrade_fn run, void *user);

/* Closes an upgraded connection; the socket must not be used afterwards. */
void ifn_http_upgrade_close(ifn_http_upgrade *upgrade);

#endif
