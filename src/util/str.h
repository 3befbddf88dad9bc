/* String views: pointer + length, never assumed NUL-terminated. */
#ifndef IFN_UTIL_STR_H
#define IFN_UTIL_STR_H

#include <stddef.h>
#include <string.h>

typedef struct ifn_str {
    const char *ptr;
    size_t len;
} ifn_str;

static inline ifn_str ifn_str_from_cstr(const char *s) {
    ifn_str v = {s, s ? strlen(s) : 0};
    return v;
}

static inline int ifn_str_eq_cstr(ifn_str a, const char *b) {
    size_t n = strlen(b);
    return a.len == n && (n == 0 || memcmp(a.ptr, b, n) == 0);
}

static inline int ifn_str_eq(ifn_str a, ifn_str b) {
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

#endif
