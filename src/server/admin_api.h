/* The operator's API (Triton's repository paths where they exist; answers and errors in
 * Triton's shape, {"error": "message"}):
 *   POST /v2/repository/index                   every model and version with its state
 *   POST /v2/repository/models/{name}/load      load and wait (body {"keep_alive": ...} optional)
 *   POST /v2/repository/models/{name}/unload    unload once idle (grace, then cancel)
 *   GET  /v2/models/{name}                      metadata and state of its versions
 *   GET  /v2/models/{name}/ready                200 when a version is ready, else 400
 *   POST /v2/routing/reload                     reread the routing file (also on SIGHUP) */
#ifndef IFN_SERVER_ADMIN_API_H
#define IFN_SERVER_ADMIN_API_H

#include <jansson.h>

#include "server/server_internal.h"

/* Handles `path` when it is one of the paths above (returns 1), else returns 0. */
int ifn_admin_api_handle(ifn_server *server, ifn_http_request *request, const char *path);

/* Rereads the routing file (SIGHUP, the endpoint); a bad file keeps the old routing.
 * Errors: IFN_E_INVALID (no routing file), IFN_E_IO / IFN_E_FORMAT with a message. */
ifn_status ifn_admin_api_reload_routing(ifn_server *server);

/* {"file", "counts": [{"kind", "from", "target", "index", "chosen"}]} or null without routing. */
json_t *ifn_admin_api_routing_json(ifn_server *server);

#endif
