/* Thread-local error messages behind ifn_fail()/ifn_last_error(). */
#include "util/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local char g_last_error[512];

const char *ifn_status_str(ifn_status st) {
    switch (st) {
    case IFN_OK: return "IFN_OK";
    case IFN_E_NOMEM: return "IFN_E_NOMEM";
    case IFN_E_INVALID: return "IFN_E_INVALID";
    case IFN_E_IO: return "IFN_E_IO";
    case IFN_E_FORMAT: return "IFN_E_FORMAT";
    case IFN_E_UNSUPPORTED: return "IFN_E_UNSUPPORTED";
    case IFN_E_FULL: return "IFN_E_FULL";
    case IFN_E_AGAIN: return "IFN_E_AGAIN";
    case IFN_E_CANCELLED: return "IFN_E_CANCELLED";
    case IFN_E_TIMEOUT: return "IFN_E_TIMEOUT";
    case IFN_E_AUTH: return "IFN_E_AUTH";
    case IFN_E_INTERNAL: return "IFN_E_INTERNAL";
    }
    return "IFN_E_UNKNOWN";
}

ifn_status ifn_fail(ifn_status code, const char *fmt, ...) {
    /* Format into a local buffer first: callers often pass ifn_last_error() itself as an
     * argument to add context ("model: %s"), and it must not be overwritten while read. */
    char message[sizeof g_last_error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    memcpy(g_last_error, message, sizeof message);
    return code;
}

void ifn_clear_error(void) {
    g_last_error[0] = '\0';
}

const char *ifn_last_error(void) {
    return g_last_error;
}

void ifn_assert_fail(const char *cond, const char *file, int line) {
    fprintf(stderr, "inferneo: assertion failed: %s at %s:%d\n", cond, file, line);
    abort();
}
