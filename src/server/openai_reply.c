#include "server/openai_reply.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"
#include "util/json.h"
#include "util/log.h"

const ifn_http_header ifn_openai_reply_retry_after[] = {{"Retry-After", "1"}, {NULL, NULL}};

static const char *type_of(int status) {
    switch (status) {
    case 400:
    case 413: return "invalid_request_error";
    case 401: return "authentication_error";
    case 404: return "not_found_error";
    case 429: return "rate_limit_error";
    case 503: return "service_unavailable_error";
    default: return "server_error";
    }
}

int ifn_openai_reply_fail(ifn_openai_error *e, int status, const char *param, const char *fmt,
                          ...) {
    e->status = status;
    e->type = type_of(status);
    e->code = NULL;
    snprintf(e->param, sizeof e->param, "%s", param ? param : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return -1;
}

int ifn_openai_reply_fail_status(ifn_openai_error *e, ifn_status status, const char *message) {
    if (status == IFN_OK || status == IFN_E_CANCELLED) return 0;
    if (status == IFN_E_TIMEOUT) return ifn_openai_reply_fail(e, 504, NULL, "the request timed out");
    return ifn_openai_reply_fail(e, status == IFN_E_INVALID ? 400 : 500, NULL, "%s",
                                 message && *message ? message : ifn_status_str(status));
}

json_t *ifn_openai_reply_error_json(const ifn_openai_error *e) {
    json_t *inner = json_object();
    if (!inner) return NULL;
    json_object_set_new(inner, "message", ifn_json_string(e->message, strlen(e->message)));
    json_object_set_new(inner, "type", json_string(e->type ? e->type : type_of(e->status)));
    json_object_set_new(inner, "param", e->param[0] ? json_string(e->param) : json_null());
    json_object_set_new(inner, "code", e->code ? json_string(e->code) : json_null());
    json_t *outer = json_object();
    if (outer) json_object_set_new(outer, "error", inner);
    else json_decref(inner);
    return outer;
}

void ifn_openai_reply_error(ifn_http_request *request, const ifn_openai_error *e,
                            const ifn_http_header *headers) {
    if (e->status >= 500)
        IFN_LOG_WARN("server", "%s %s: %d %s", ifn_http_request_method(request),
                     ifn_http_request_path(request), e->status, e->message);
    ifn_openai_reply_json(request, e->status, ifn_openai_reply_error_json(e), headers);
}

void ifn_openai_reply_json(ifn_http_request *request, int status, json_t *body,
                           const ifn_http_header *headers) {
    size_t len = 0;
    char *text = body ? ifn_json_dump(body, &len) : NULL;
    json_decref(body);
    if (!text) {
        static const char oom[] = "{\"error\":{\"message\":\"out of memory\",\"type\":"
                                  "\"server_error\",\"param\":null,\"code\":null}}";
        (void)ifn_http_respond(request, 500, "application/json", oom, sizeof oom - 1, NULL);
        return;
    }
    (void)ifn_http_respond(request, status, "application/json", text, len, headers);
    ifn_free(text);
}
