/* Accounting allocator. Each block carries a 16-byte header holding its size, so frees can be
 * accounted without a side table; aligned blocks store the header just below the user pointer. */
#include "util/alloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_BYTES 16

static atomic_size_t g_live_bytes;
static atomic_llong g_fail_countdown;

static int should_fail(void) {
    long long n = atomic_load(&g_fail_countdown);
    if (n <= 0) return 0;
    return atomic_fetch_sub(&g_fail_countdown, 1) == 1;
}

void ifn_alloc_fail_after(int64_t nth) {
    atomic_store(&g_fail_countdown, (long long)nth);
}

size_t ifn_alloc_live_bytes(void) {
    return atomic_load(&g_live_bytes);
}

void *ifn_malloc(size_t size) {
    if (size > SIZE_MAX - HEADER_BYTES || should_fail()) return NULL;
    unsigned char *raw = malloc(size + HEADER_BYTES);
    if (!raw) return NULL;
    memcpy(raw, &size, sizeof size);
    atomic_fetch_add(&g_live_bytes, size);
    return raw + HEADER_BYTES;
}

void *ifn_calloc(size_t count, size_t size) {
    size_t total;
    if (!ifn_mul_size(count, size, &total)) return NULL;
    void *p = ifn_malloc(total);
    if (p) memset(p, 0, total);
    return p;
}

void *ifn_realloc(void *ptr, size_t size) {
    if (!ptr) return ifn_malloc(size);
    if (size > SIZE_MAX - HEADER_BYTES || should_fail()) return NULL;
    unsigned char *raw = (unsigned char *)ptr - HEADER_BYTES;
    size_t old_size;
    memcpy(&old_size, raw, sizeof old_size);
    unsigned char *grown = realloc(raw, size + HEADER_BYTES);
    if (!grown) return NULL;
    memcpy(grown, &size, sizeof size);
    atomic_fetch_sub(&g_live_bytes, old_size);
    atomic_fetch_add(&g_live_bytes, size);
    return grown + HEADER_BYTES;
}

void ifn_free(void *ptr) {
    if (!ptr) return;
    unsigned char *raw = (unsigned char *)ptr - HEADER_BYTES;
    size_t size;
    memcpy(&size, raw, sizeof size);
    atomic_fetch_sub(&g_live_bytes, size);
    free(raw);
}

void *ifn_alloc_aligned(size_t alignment, size_t size) {
    if (alignment < HEADER_BYTES) alignment = HEADER_BYTES;
    if (size > SIZE_MAX - alignment || should_fail()) return NULL;
    void *raw = NULL;
    if (posix_memalign(&raw, alignment, size + alignment) != 0) return NULL;
    unsigned char *user = (unsigned char *)raw + alignment;
    memcpy(user - HEADER_BYTES, &size, sizeof size);
    memcpy(user - HEADER_BYTES + sizeof size, &alignment, sizeof alignment);
    atomic_fetch_add(&g_live_bytes, size);
    return user;
}

void ifn_free_aligned(void *ptr) {
    if (!ptr) return;
    unsigned char *user = ptr;
    size_t size, alignment;
    memcpy(&size, user - HEADER_BYTES, sizeof size);
    memcpy(&alignment, user - HEADER_BYTES + sizeof size, sizeof alignment);
    atomic_fetch_sub(&g_live_bytes, size);
    free(user - alignment);
}

char *ifn_strndup(const char *s, size_t len) {
    char *copy = ifn_malloc(len + 1);
    if (!copy) return NULL;
    if (len) memcpy(copy, s, len);
    copy[len] = '\0';
    return copy;
}
