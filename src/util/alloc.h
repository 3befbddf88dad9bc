/* All heap memory goes through here: byte accounting (for metrics and budget checks) and
 * failure injection (for tests). Thread-safe: counters are atomics. */
#ifndef IFN_UTIL_ALLOC_H
#define IFN_UTIL_ALLOC_H

#include <stddef.h>
#include <stdint.h>

void *ifn_malloc(size_t size);
void *ifn_calloc(size_t count, size_t size);
/* Like realloc; on failure the old block is untouched and NULL is returned. */
void *ifn_realloc(void *ptr, size_t size);
void ifn_free(void *ptr);

/* Aligned block for tensor buffers; free with ifn_free_aligned. `alignment` is a power of two. */
void *ifn_alloc_aligned(size_t alignment, size_t size);
void ifn_free_aligned(void *ptr);

/* Duplicates `len` bytes and appends a NUL. */
char *ifn_strndup(const char *s, size_t len);

/* Bytes currently allocated through these functions. */
size_t ifn_alloc_live_bytes(void);

/* Test hook: make the allocation number `nth` from now (1 = the next) fail; 0 disables. */
void ifn_alloc_fail_after(int64_t nth);

/* Overflow-checked a*b; returns 0 and leaves *out untouched on overflow. */
static inline int ifn_mul_size(size_t a, size_t b, size_t *out) {
    if (a != 0 && b > SIZE_MAX / a) return 0;
    *out = a * b;
    return 1;
}

#endif
