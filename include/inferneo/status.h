/* Inferneo status codes: one enum for the whole code base.
 * IFN_OK is zero; every error is negative. Detail text travels separately
 * (ifn_last_error() in the failing thread). */
#ifndef IFN_INFERNEO_STATUS_H
#define IFN_INFERNEO_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ifn_status {
    IFN_OK = 0,
    IFN_E_NOMEM = -1,       /* an allocation failed */
    IFN_E_INVALID = -2,     /* a bad argument or request */
    IFN_E_IO = -3,          /* the OS refused a read, write, open or map */
    IFN_E_FORMAT = -4,      /* a file or message is malformed */
    IFN_E_UNSUPPORTED = -5, /* well-formed, but something we do not handle */
    IFN_E_FULL = -6,        /* a bounded resource is exhausted */
    IFN_E_AGAIN = -7,       /* incomplete: call again with more input */
    IFN_E_CANCELLED = -8,
    IFN_E_TIMEOUT = -9,
    IFN_E_AUTH = -10,
    IFN_E_INTERNAL = -11,
} ifn_status;

/* Short name of a status ("IFN_E_FORMAT"); never NULL. Thread-safe. */
const char *ifn_status_str(ifn_status st);

/* Message of the last failure in the calling thread ("" if none). Valid until the next
 * failure in this thread. */
const char *ifn_last_error(void);

#ifdef __cplusplus
}
#endif
#endif
