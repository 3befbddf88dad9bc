/* Chunked bump allocator. Chunks double in size up to 1 MiB; a request larger than the
 * chunk size gets a chunk of its own. */
#include "tokenizer/jinja_arena.h"

#include <stdint.h>
#include <string.h>

#include "util/alloc.h"

#define FIRST_CHUNK_BYTES 4096
#define MAX_CHUNK_BYTES (1u << 20)
#define ALIGN_BYTES 16

typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t size;
    size_t used;
    unsigned char data[];
} arena_chunk;

struct ifn_jinja_arena {
    arena_chunk *head;
    size_t next_chunk_bytes;
    size_t used_bytes;
    size_t limit_bytes;
    int over_limit;
};

ifn_status ifn_jinja_arena_create(size_t limit_bytes, ifn_jinja_arena **out_arena) {
    ifn_jinja_arena *arena = ifn_calloc(1, sizeof *arena);
    if (!arena) return IFN_E_NOMEM;
    arena->next_chunk_bytes = FIRST_CHUNK_BYTES;
    arena->limit_bytes = limit_bytes;
    *out_arena = arena;
    return IFN_OK;
}

void ifn_jinja_arena_destroy(ifn_jinja_arena *arena) {
    if (!arena) return;
    arena_chunk *c = arena->head;
    while (c) {
        arena_chunk *next = c->next;
        ifn_free(c);
        c = next;
    }
    ifn_free(arena);
}

/* A chunk of at least `min_bytes`. A big block gets a chunk of its own linked behind the
 * head, so the head's free space stays in use for later small blocks. */
static arena_chunk *add_chunk(ifn_jinja_arena *arena, size_t min_bytes) {
    int dedicated = arena->head && min_bytes > arena->next_chunk_bytes / 4;
    size_t size = dedicated ? min_bytes : arena->next_chunk_bytes;
    if (size < min_bytes) size = min_bytes;
    if (size > SIZE_MAX - sizeof(arena_chunk)) return NULL;
    arena_chunk *c = ifn_calloc(1, sizeof *c + size);
    if (!c) return NULL;
    c->size = size;
    if (dedicated) {
        c->next = arena->head->next;
        arena->head->next = c;
        return c;
    }
    c->next = arena->head;
    arena->head = c;
    if (arena->next_chunk_bytes < MAX_CHUNK_BYTES) arena->next_chunk_bytes *= 2;
    return c;
}

void *ifn_jinja_arena_alloc(ifn_jinja_arena *arena, size_t size) {
    if (size == 0) size = 1;
    if (size > SIZE_MAX - ALIGN_BYTES) return NULL;
    size_t padded = (size + ALIGN_BYTES - 1) & ~(size_t)(ALIGN_BYTES - 1);
    if (arena->limit_bytes && padded > arena->limit_bytes - arena->used_bytes) {
        arena->over_limit = 1;
        return NULL;
    }
    arena_chunk *c = arena->head;
    if (!c || c->size - c->used < padded) {
        c = add_chunk(arena, padded);
        if (!c) return NULL;
    }
    void *p = c->data + c->used;
    c->used += padded;
    arena->used_bytes += padded;
    return p;
}

void *ifn_jinja_arena_array(ifn_jinja_arena *arena, size_t count, size_t size) {
    size_t total;
    if (!ifn_mul_size(count, size, &total)) return NULL;
    return ifn_jinja_arena_alloc(arena, total);
}

char *ifn_jinja_arena_strdup(ifn_jinja_arena *arena, const char *s, size_t len) {
    if (len == SIZE_MAX) return NULL;
    char *p = ifn_jinja_arena_alloc(arena, len + 1);
    if (!p) return NULL;
    if (len) memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

int ifn_jinja_arena_over_limit(const ifn_jinja_arena *arena) {
    return arena->over_limit;
}

size_t ifn_jinja_arena_used_bytes(const ifn_jinja_arena *arena) {
    return arena->used_bytes;
}
