/* Bump allocator for the chat-template interpreter: a parsed template keeps its AST in one
 * arena, and every render allocates its values in a fresh arena freed when the render ends.
 * Memory comes back zeroed; nothing is freed individually. A byte cap turns runaway templates
 * into an error instead of exhausting the process. Not thread-safe: one owner at a time. */
#ifndef IFN_TOKENIZER_JINJA_ARENA_H
#define IFN_TOKENIZER_JINJA_ARENA_H

#include <stddef.h>

#include "inferneo/status.h"

typedef struct ifn_jinja_arena ifn_jinja_arena;

/* Creates an arena that refuses to hold more than `limit_bytes` in total (0: no cap).
 * IFN_E_NOMEM on failure. */
ifn_status ifn_jinja_arena_create(size_t limit_bytes, ifn_jinja_arena **out_arena);

/* Frees every block; NULL does nothing. */
void ifn_jinja_arena_destroy(ifn_jinja_arena *arena);

/* Zeroed, 16-byte aligned memory valid until the arena is destroyed; NULL when out of memory
 * or over the cap (ifn_jinja_arena_over_limit tells which). */
void *ifn_jinja_arena_alloc(ifn_jinja_arena *arena, size_t size);

/* Overflow-checked array allocation: count * size bytes. */
void *ifn_jinja_arena_array(ifn_jinja_arena *arena, size_t count, size_t size);

/* Copies `len` bytes and appends a NUL. */
char *ifn_jinja_arena_strdup(ifn_jinja_arena *arena, const char *s, size_t len);

/* 1 if an allocation failed because of the byte cap. */
int ifn_jinja_arena_over_limit(const ifn_jinja_arena *arena);

/* Bytes handed out so far (including alignment padding). */
size_t ifn_jinja_arena_used_bytes(const ifn_jinja_arena *arena);

#endif
