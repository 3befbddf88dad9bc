/* Open-addressing hash map from byte strings to int32 values (vocab lookup, merge ranks).
 * Keys are borrowed: the caller keeps them alive and unchanged for the map's lifetime.
 * Single-threaded while building; read-only use afterwards is thread-safe. */
#ifndef IFN_UTIL_HASHMAP_H
#define IFN_UTIL_HASHMAP_H

#include <stddef.h>
#include <stdint.h>

#include "inferneo/status.h"

typedef struct ifn_hashmap ifn_hashmap;

ifn_status ifn_hashmap_create(size_t expected_count, ifn_hashmap **out_map);
void ifn_hashmap_destroy(ifn_hashmap *map);

/* Inserts or overwrites. IFN_E_NOMEM if growing fails (the map stays valid). */
ifn_status ifn_hashmap_put(ifn_hashmap *map, const char *key, size_t key_len, int32_t value);

/* 1 and *out_value if found, else 0. */
int ifn_hashmap_get(const ifn_hashmap *map, const char *key, size_t key_len, int32_t *out_value);

size_t ifn_hashmap_count(const ifn_hashmap *map);

/* 64-bit FNV-1a mixed with a final avalanche; exposed for other hash tables. */
uint64_t ifn_hash_bytes(const void *data, size_t len);

#endif
