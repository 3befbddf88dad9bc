/* Linear probing, power-of-two capacity, load factor <= 0.5; stores the hash to skip most
 * key comparisons. No deletion (vocabularies and merge tables only grow). */
#include "util/hashmap.h"

#include <string.h>

#include "util/alloc.h"
#include "util/status.h"

typedef struct entry {
    const char *key; /* NULL marks an empty slot */
    size_t key_len;
    uint64_t hash;
    int32_t value;
} entry;

struct ifn_hashmap {
    entry *slots;
    size_t capacity; /* power of two */
    size_t count;
};

uint64_t ifn_hash_bytes(const void *data, size_t len) {
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

static size_t capacity_for(size_t count) {
    size_t cap = 16;
    while (cap < count * 2) cap *= 2;
    return cap;
}

ifn_status ifn_hashmap_create(size_t expected_count, ifn_hashmap **out_map) {
    ifn_hashmap *map = ifn_calloc(1, sizeof *map);
    if (!map) return ifn_fail(IFN_E_NOMEM, "hashmap: no memory");
    map->capacity = capacity_for(expected_count);
    map->slots = ifn_calloc(map->capacity, sizeof *map->slots);
    if (!map->slots) {
        size_t capacity = map->capacity;
        ifn_free(map);
        return ifn_fail(IFN_E_NOMEM, "hashmap: no memory for %zu slots", capacity);
    }
    *out_map = map;
    return IFN_OK;
}

void ifn_hashmap_destroy(ifn_hashmap *map) {
    if (!map) return;
    ifn_free(map->slots);
    ifn_free(map);
}

static entry *find_slot(entry *slots, size_t capacity, const char *key, size_t key_len,
                        uint64_t hash) {
    size_t i = (size_t)hash & (capacity - 1);
    for (;;) {
        entry *e = &slots[i];
        if (!e->key) return e;
        if (e->hash == hash && e->key_len == key_len &&
            (key_len == 0 || memcmp(e->key, key, key_len) == 0))
            return e;
        i = (i + 1) & (capacity - 1);
    }
}

static ifn_status grow(ifn_hashmap *map) {
    size_t capacity = map->capacity * 2;
    entry *slots = ifn_calloc(capacity, sizeof *slots);
    if (!slots) return ifn_fail(IFN_E_NOMEM, "hashmap: no memory to grow to %zu", capacity);
    for (size_t i = 0; i < map->capacity; i++) {
        entry *old = &map->slots[i];
        if (old->key) *find_slot(slots, capacity, old->key, old->key_len, old->hash) = *old;
    }
    ifn_free(map->slots);
    map->slots = slots;
    map->capacity = capacity;
    return IFN_OK;
}

ifn_status ifn_hashmap_put(ifn_hashmap *map, const char *key, size_t key_len, int32_t value) {
    if ((map->count + 1) * 2 > map->capacity) {
        ifn_status st = grow(map);
        if (st != IFN_OK) return st;
    }
    uint64_t hash = ifn_hash_bytes(key, key_len);
    entry *e = find_slot(map->slots, map->capacity, key, key_len, hash);
    if (!e->key) {
        e->key = key ? key : "";
        e->key_len = key_len;
        e->hash = hash;
        map->count++;
    }
    e->value = value;
    return IFN_OK;
}

int ifn_hashmap_get(const ifn_hashmap *map, const char *key, size_t key_len, int32_t *out_value) {
    uint64_t hash = ifn_hash_bytes(key, key_len);
    const entry *e = find_slot(map->slots, map->capacity, key, key_len, hash);
    if (!e->key) return 0;
    *out_value = e->value;
    return 1;
}

size_t ifn_hashmap_count(const ifn_hashmap *map) {
    return map->count;
}
