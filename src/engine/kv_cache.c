/* Paged KV cache: block storage, reference counts, the free list, the LRU list of cached blocks
 * and the hash index that finds them. Invariant: every block is in exactly one state: used
 * (ref > 0, on no list), free (on the free list, unhashed) or cached (on the LRU list, hashed).
 * It does not decide which sequence owns which block: block_table.c and the scheduler do. */
#include "engine/kv_cache.h"

#include <string.h>

#include "util/alloc.h"
#include "util/status.h"

#define NO_BLOCK (-1)
#define STORAGE_ALIGN 64
#define MIN_SLOTS 16
#define HASH_KEY_TAG 0x696e6665726e656full /* "inferneo": second SipHash key word */

typedef enum block_state { BLOCK_FREE = 0, BLOCK_CACHED = 1, BLOCK_USED = 2 } block_state;

/* Intrusive doubly linked list over block ids; the links live in the cache's prev/next arrays
 * (a block is on at most one list at a time). */
typedef struct block_list {
    int32_t head; /* the free list pops here; the cached list evicts here (least recent) */
    int32_t tail; /* the cached list appends here (most recent) */
    int32_t count;
} block_list;

/* Hash index slot: open addressing, linear probing, backward-shift deletion (no tombstones). */
typedef struct hash_slot {
    uint64_t hash;
    int32_t block; /* NO_BLOCK marks an empty slot */
} hash_slot;

typedef struct storage_layout {
    size_t row_bytes;   /* kv_dim * element size */
    size_t block_bytes; /* block_size * row_bytes */
    size_t array_bytes; /* one layer's K (or V) array, rounded up to STORAGE_ALIGN */
    size_t total_bytes; /* n_layer * 2 * array_bytes */
} storage_layout;

struct ifn_kv_cache {
    ifn_kv_cache_params params;
    storage_layout layout;
    unsigned char
        *storage; /* [n_layer][2: K, V][array_bytes], each array [n_blocks][block_size][kv_dim] */

    int32_t *ref_counts; /* [n_blocks] */
    uint8_t *states;     /* [n_blocks] block_state */
    uint8_t *is_hashed;  /* [n_blocks] 1 while the hash index points at the block */
    uint64_t *hashes;    /* [n_blocks] valid where is_hashed */
    int32_t *tokens;     /* [n_blocks][block_size] valid where is_hashed; lookups compare them */
    int32_t *prev;       /* [n_blocks] list links, NO_BLOCK at the ends */
    int32_t *next;       /* [n_blocks] */
    block_list free_list;
    block_list cached_list; /* LRU order */

    hash_slot *slots; /* [slot_mask + 1], at most half full (one hash per block at most) */
    size_t slot_mask;
    int slot_shift; /* 64 - log2(slot count), for Fibonacci hashing */

    int32_t n_used;
    int64_t prefix_queries;
    int64_t prefix_hits;
    int64_t evictions;
};

/* ---- sizes ---- */

static size_t elem_bytes(ifn_dtype type) {
    if (type == IFN_DTYPE_F16) return 2;
    if (type == IFN_DTYPE_F32) return 4;
    return 0;
}

/* Shapes other than n_blocks are valid. */
static int shapes_valid(const ifn_kv_cache_params *p) {
    return p->n_layer > 0 && p->kv_dim > 0 && p->block_size > 0 && elem_bytes(p->kv_type) > 0;
}

/* Storage layout for n_blocks blocks; 0 on size_t overflow. */
static int compute_layout(const ifn_kv_cache_params *p, int64_t n_blocks, storage_layout *out) {
    storage_layout l;
    size_t layer_bytes, arrays;
    if (!ifn_mul_size((size_t)p->kv_dim, elem_bytes(p->kv_type), &l.row_bytes)) return 0;
    if (!ifn_mul_size((size_t)p->block_size, l.row_bytes, &l.block_bytes)) return 0;
    if (!ifn_mul_size((size_t)n_blocks, l.block_bytes, &layer_bytes)) return 0;
    if (layer_bytes > SIZE_MAX - (STORAGE_ALIGN - 1)) return 0;
    l.array_bytes = (layer_bytes + STORAGE_ALIGN - 1) & ~(size_t)(STORAGE_ALIGN - 1);
    if (!ifn_mul_size((size_t)p->n_layer, 2, &arrays)) return 0;
    if (!ifn_mul_size(arrays, l.array_bytes, &l.total_bytes)) return 0;
    *out = l;
    return 1;
}

int32_t ifn_kv_cache_blocks_for_bytes(const ifn_kv_cache_params *params, size_t bytes) {
    storage_layout one;
    if (!params || !shapes_valid(params) || !compute_layout(params, 1, &one)) return 0;
    size_t per_block; /* K and V of every layer, without the per-array alignment padding */
    if (!ifn_mul_size((size_t)params->n_layer * 2, one.block_bytes, &per_block)) return 0;
    size_t n = bytes / per_block;
    if (n > INT32_MAX) n = INT32_MAX;
    /* Padding adds at most STORAGE_ALIGN - 1 bytes per array: a few steps down at most. */
    storage_layout l;
    while (n > 0 && (!compute_layout(params, (int64_t)n, &l) || l.total_bytes > bytes))
        n--;
    return (int32_t)n;
}

/* ---- block lists ---- */

static void list_init(block_list *l) {
    l->head = NO_BLOCK;
    l->tail = NO_BLOCK;
    l->count = 0;
}

static void list_push_head(ifn_kv_cache *c, block_list *l, int32_t b) {
    c->prev[b] = NO_BLOCK;
    c->next[b] = l->head;
    if (l->head != NO_BLOCK)
        c->prev[l->head] = b;
    else
        l->tail = b;
    l->head = b;
    l->count++;
}

static void list_push_tail(ifn_kv_cache *c, block_list *l, int32_t b) {
    c->next[b] = NO_BLOCK;
    c->prev[b] = l->tail;
    if (l->tail != NO_BLOCK)
        c->next[l->tail] = b;
    else
        l->head = b;
    l->tail = b;
    l->count++;
}

static void list_remove(ifn_kv_cache *c, block_list *l, int32_t b) {
    if (c->prev[b] != NO_BLOCK)
        c->next[c->prev[b]] = c->next[b];
    else
        l->head = c->next[b];
    if (c->next[b] != NO_BLOCK)
        c->prev[c->next[b]] = c->prev[b];
    else
        l->tail = c->prev[b];
    c->prev[b] = NO_BLOCK;
    c->next[b] = NO_BLOCK;
    l->count--;
}

/* ---- hash index ---- */

/* Fibonacci hashing: the high bits of hash * 2^64/phi, so even hand-picked hashes (tests,
 * small integers) spread over the table. */
static size_t slot_home(const ifn_kv_cache *c, uint64_t hash) {
    return (size_t)((hash * 0x9e3779b97f4a7c15ull) >> c->slot_shift);
}

/* Slot holding `hash`, or SIZE_MAX. Terminates: the table is never more than half full. */
static size_t index_find(const ifn_kv_cache *c, uint64_t hash) {
    for (size_t i = slot_home(c, hash);; i = (i + 1) & c->slot_mask) {
        if (c->slots[i].block == NO_BLOCK) return SIZE_MAX;
        if (c->slots[i].hash == hash) return i;
    }
}

/* `hash` must not be present. */
static void index_insert(ifn_kv_cache *c, uint64_t hash, int32_t block) {
    size_t i = slot_home(c, hash);
    while (c->slots[i].block != NO_BLOCK)
        i = (i + 1) & c->slot_mask;
    c->slots[i].hash = hash;
    c->slots[i].block = block;
}

/* Empties slot `gap` and shifts later entries of the probe run back, so every entry stays
 * reachable from its home slot without tombstones. */
static void index_remove_at(ifn_kv_cache *c, size_t gap) {
    size_t j = gap;
    for (;;) {
        j = (j + 1) & c->slot_mask;
        if (c->slots[j].block == NO_BLOCK) break;
        size_t home = slot_home(c, c->slots[j].hash);
        /* Entry j may fill the gap if the gap lies between its home and j (cyclically). */
        if (((j - home) & c->slot_mask) >= ((j - gap) & c->slot_mask)) {
            c->slots[gap] = c->slots[j];
            gap = j;
        }
    }
    c->slots[gap].block = NO_BLOCK;
}

/* Forgets block b's hash (it is about to be overwritten). */
static void unhash_block(ifn_kv_cache *c, int32_t b) {
    size_t i = index_find(c, c->hashes[b]);
    IFN_ASSERT(i != SIZE_MAX && c->slots[i].block == b);
    index_remove_at(c, i);
    c->is_hashed[b] = 0;
}

/* ---- create / destroy ---- */

static ifn_status validate_params(const ifn_kv_cache_params *p) {
    if (!p) return ifn_fail(IFN_E_INVALID, "kv_cache: no params");
    if (!shapes_valid(p) || p->n_blocks <= 0)
        return ifn_fail(IFN_E_INVALID,
                        "kv_cache: bad shape n_layer=%d kv_dim=%d block_size=%d n_blocks=%d "
                        "kv_type=%d (need positive sizes and F16 or F32)",
                        (int)p->n_layer, (int)p->kv_dim, (int)p->block_size, (int)p->n_blocks,
                        (int)p->kv_type);
    return IFN_OK;
}

/* Index slots: a power of two at least twice n_blocks. */
static int slot_count_for(int32_t n_blocks, size_t *out_count, int *out_shift) {
    size_t count = MIN_SLOTS;
    int log2 = 4;
    while (count < (size_t)n_blocks * 2) {
        if (count > SIZE_MAX / 2 || log2 >= 63) return 0;
        count *= 2;
        log2++;
    }
    *out_count = count;
    *out_shift = 64 - log2;
    return 1;
}

static ifn_status alloc_arrays(ifn_kv_cache *c) {
    size_t n = (size_t)c->params.n_blocks, n_tokens, n_slots;
    if (!ifn_mul_size(n, (size_t)c->params.block_size, &n_tokens) ||
        !slot_count_for(c->params.n_blocks, &n_slots, &c->slot_shift))
        return ifn_fail(IFN_E_INVALID, "kv_cache: %zu blocks overflow the index", n);
    c->storage = ifn_alloc_aligned(STORAGE_ALIGN, c->layout.total_bytes);
    c->ref_counts = ifn_calloc(n, sizeof *c->ref_counts);
    c->states = ifn_calloc(n, sizeof *c->states);
    c->is_hashed = ifn_calloc(n, sizeof *c->is_hashed);
    c->hashes = ifn_calloc(n, sizeof *c->hashes);
    c->tokens = ifn_calloc(n_tokens, sizeof *c->tokens);
    c->prev = ifn_calloc(n, sizeof *c->prev);
    c->next = ifn_calloc(n, sizeof *c->next);
    c->slots = ifn_calloc(n_slots, sizeof *c->slots);
    if (!c->storage || !c->ref_counts || !c->states || !c->is_hashed || !c->hashes || !c->tokens ||
        !c->prev || !c->next || !c->slots)
        return ifn_fail(IFN_E_NOMEM, "kv_cache: no memory for %zu blocks (%zu bytes of KV)", n,
                        c->layout.total_bytes);
    c->slot_mask = n_slots - 1;
    for (size_t i = 0; i < n_slots; i++)
        c->slots[i].block = NO_BLOCK;
    return IFN_OK;
}

ifn_status ifn_kv_cache_create(const ifn_kv_cache_params *params, ifn_kv_cache **out_cache) {
    ifn_kv_cache *c = NULL;
    ifn_status st = validate_params(params);
    if (st != IFN_OK) goto out;
    c = ifn_calloc(1, sizeof *c);
    if (!c) {
        st = ifn_fail(IFN_E_NOMEM, "kv_cache: no memory");
        goto out;
    }
    c->params = *params;
    if (!compute_layout(params, params->n_blocks, &c->layout)) {
        st = ifn_fail(IFN_E_INVALID, "kv_cache: %d blocks overflow size_t", (int)params->n_blocks);
        goto out;
    }
    st = alloc_arrays(c);
    if (st != IFN_OK) goto out;
    /* Storage is left uninitialised: a position is always written before attention reads it. */
    list_init(&c->free_list);
    list_init(&c->cached_list);
    for (int32_t b = 0; b < params->n_blocks; b++)
        list_push_tail(c, &c->free_list, b);
    *out_cache = c;
    c = NULL;
out:
    ifn_kv_cache_destroy(c);
    return st;
}

void ifn_kv_cache_destroy(ifn_kv_cache *cache) {
    if (!cache) return;
    ifn_free_aligned(cache->storage);
    ifn_free(cache->ref_counts);
    ifn_free(cache->states);
    ifn_free(cache->is_hashed);
    ifn_free(cache->hashes);
    ifn_free(cache->tokens);
    ifn_free(cache->prev);
    ifn_free(cache->next);
    ifn_free(cache->slots);
    ifn_free(cache);
}

/* ---- storage access ---- */

const ifn_kv_cache_params *ifn_kv_cache_get_params(const ifn_kv_cache *cache) {
    return &cache->params;
}

size_t ifn_kv_cache_row_bytes(const ifn_kv_cache *cache) {
    return cache->layout.row_bytes;
}

static void *block_data(ifn_kv_cache *c, int32_t layer, int which, int32_t block) {
    IFN_ASSERT(layer >= 0 && layer < c->params.n_layer);
    IFN_ASSERT(block >= 0 && block < c->params.n_blocks);
    size_t array = (size_t)layer * 2 + (size_t)which;
    return c->storage + array * c->layout.array_bytes + (size_t)block * c->layout.block_bytes;
}

void *ifn_kv_cache_k(ifn_kv_cache *cache, int32_t layer, int32_t block) {
    return block_data(cache, layer, 0, block);
}

void *ifn_kv_cache_v(ifn_kv_cache *cache, int32_t layer, int32_t block) {
    return block_data(cache, layer, 1, block);
}

void ifn_kv_cache_copy_block(ifn_kv_cache *cache, int32_t dst, int32_t src) {
    IFN_ASSERT(dst != src);
    IFN_ASSERT(dst >= 0 && dst < cache->params.n_blocks && src >= 0 &&
               src < cache->params.n_blocks);
    /* Writing into a published block would corrupt every sequence that finds it later. */
    IFN_ASSERT(cache->ref_counts[dst] > 0 && !cache->is_hashed[dst]);
    for (int32_t layer = 0; layer < cache->params.n_layer; layer++) {
        memcpy(block_data(cache, layer, 0, dst), block_data(cache, layer, 0, src),
               cache->layout.block_bytes);
        memcpy(block_data(cache, layer, 1, dst), block_data(cache, layer, 1, src),
               cache->layout.block_bytes);
    }
}

/* ---- allocation and reference counts ---- */

static void mark_used(ifn_kv_cache *c, int32_t b) {
    c->states[b] = BLOCK_USED;
    c->ref_counts[b] = 1;
    c->n_used++;
}

ifn_status ifn_kv_cache_alloc(ifn_kv_cache *cache, int32_t *out_block) {
    int32_t b;
    if (cache->free_list.count > 0) {
        b = cache->free_list.head;
        list_remove(cache, &cache->free_list, b);
    } else if (cache->cached_list.count > 0) {
        b = cache->cached_list.head;
        list_remove(cache, &cache->cached_list, b);
        unhash_block(cache, b);
        cache->evictions++;
    } else {
        return ifn_fail(IFN_E_FULL, "kv_cache: all %d blocks are in use",
                        (int)cache->params.n_blocks);
    }
    mark_used(cache, b);
    *out_block = b;
    return IFN_OK;
}

void ifn_kv_cache_retain(ifn_kv_cache *cache, int32_t block) {
    IFN_ASSERT(block >= 0 && block < cache->params.n_blocks);
    /* Free or cached blocks gain their first reference only through alloc or lookup. */
    IFN_ASSERT(cache->ref_counts[block] > 0 && cache->ref_counts[block] < INT32_MAX);
    cache->ref_counts[block]++;
}

void ifn_kv_cache_release(ifn_kv_cache *cache, int32_t block) {
    IFN_ASSERT(block >= 0 && block < cache->params.n_blocks);
    IFN_ASSERT(cache->ref_counts[block] > 0);
    if (--cache->ref_counts[block] > 0) return;
    cache->n_used--;
    if (cache->is_hashed[block]) {
        cache->states[block] = BLOCK_CACHED;
        list_push_tail(cache, &cache->cached_list, block);
    } else {
        /* Most recently freed first: its memory is the likeliest to still be in CPU caches. */
        cache->states[block] = BLOCK_FREE;
        list_push_head(cache, &cache->free_list, block);
    }
}

int32_t ifn_kv_cache_ref_count(const ifn_kv_cache *cache, int32_t block) {
    IFN_ASSERT(block >= 0 && block < cache->params.n_blocks);
    return cache->ref_counts[block];
}

/* ---- block hashes: SipHash-2-4 (Aumasson and Bernstein) over parent hash and token ids ---- */

typedef struct sip_state {
    uint64_t v0, v1, v2, v3;
} sip_state;

static uint64_t rotl64(uint64_t x, int r) {
    return (x << r) | (x >> (64 - r));
}

static void sip_round(sip_state *s) {
    s->v0 += s->v1;
    s->v1 = rotl64(s->v1, 13);
    s->v1 ^= s->v0;
    s->v0 = rotl64(s->v0, 32);
    s->v2 += s->v3;
    s->v3 = rotl64(s->v3, 16);
    s->v3 ^= s->v2;
    s->v0 += s->v3;
    s->v3 = rotl64(s->v3, 21);
    s->v3 ^= s->v0;
    s->v2 += s->v1;
    s->v1 = rotl64(s->v1, 17);
    s->v1 ^= s->v2;
    s->v2 = rotl64(s->v2, 32);
}

static void sip_init(sip_state *s, uint64_t k0, uint64_t k1) {
    s->v0 = k0 ^ 0x736f6d6570736575ull;
    s->v1 = k1 ^ 0x646f72616e646f6dull;
    s->v2 = k0 ^ 0x6c7967656e657261ull;
    s->v3 = k1 ^ 0x7465646279746573ull;
}

/* One 8-byte little-endian message word. */
static void sip_absorb(sip_state *s, uint64_t m) {
    s->v3 ^= m;
    sip_round(s);
    sip_round(s);
    s->v0 ^= m;
}

/* `tail` holds the last (message length % 8) bytes as a little-endian word. */
static uint64_t sip_finish(sip_state *s, uint64_t tail, size_t message_bytes) {
    sip_absorb(s, tail | ((uint64_t)(message_bytes & 0xff) << 56));
    s->v2 ^= 0xff;
    for (int i = 0; i < 4; i++)
        sip_round(s);
    return s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
}

/* Keyed by the model id; the message is the parent hash then the token ids, all little-endian,
 * so the hash names the whole prefix, not just this block. A keyed PRF rather than a plain mixer:
 * finding a second prefix with the same chain hash takes about 2^64 work. */
uint64_t ifn_kv_cache_block_hash(const ifn_kv_cache *cache, uint64_t parent_hash,
                                 const int32_t *tokens) {
    int32_t n = cache->params.block_size;
    sip_state s;
    sip_init(&s, cache->params.model_id, HASH_KEY_TAG);
    sip_absorb(&s, parent_hash);
    int32_t i = 0;
    for (; i + 1 < n; i += 2)
        sip_absorb(&s, (uint64_t)(uint32_t)tokens[i] | ((uint64_t)(uint32_t)tokens[i + 1] << 32));
    uint64_t tail = i < n ? (uint64_t)(uint32_t)tokens[i] : 0;
    uint64_t h = sip_finish(&s, tail, 8 + (size_t)n * 4);
    return h ? h : 1; /* 0 means "block not full" in block tables */
}

/* ---- prefix cache ---- */

static int32_t *block_tokens(const ifn_kv_cache *c, int32_t b) {
    return c->tokens + (size_t)b * (size_t)c->params.block_size;
}

int ifn_kv_cache_lookup(ifn_kv_cache *cache, uint64_t hash, const int32_t *tokens,
                        int32_t *out_block) {
    cache->prefix_queries++;
    size_t i = index_find(cache, hash);
    if (i == SIZE_MAX) return 0;
    int32_t b = cache->slots[i].block;
    size_t n_bytes = (size_t)cache->params.block_size * sizeof *tokens;
    if (memcmp(block_tokens(cache, b), tokens, n_bytes) != 0) return 0; /* hash collision */
    if (cache->states[b] == BLOCK_CACHED) {
        list_remove(cache, &cache->cached_list, b);
        mark_used(cache, b);
    } else {
        ifn_kv_cache_retain(cache, b);
    }
    cache->prefix_hits++;
    *out_block = b;
    return 1;
}

int ifn_kv_cache_publish(ifn_kv_cache *cache, int32_t block, uint64_t hash, const int32_t *tokens) {
    IFN_ASSERT(block >= 0 && block < cache->params.n_blocks);
    IFN_ASSERT(cache->ref_counts[block] > 0);
    if (cache->is_hashed[block]) {
        /* Published blocks are immutable, so they can only be registered again as themselves. */
        IFN_ASSERT(cache->hashes[block] == hash);
        return 1;
    }
    if (index_find(cache, hash) != SIZE_MAX) return 0;
    index_insert(cache, hash, block);
    cache->hashes[block] = hash;
    cache->is_hashed[block] = 1;
    memcpy(block_tokens(cache, block), tokens, (size_t)cache->params.block_size * sizeof *tokens);
    return 1;
}

void ifn_kv_cache_get_stats(const ifn_kv_cache *cache, ifn_kv_cache_stats *out_stats) {
    out_stats->n_blocks = cache->params.n_blocks;
    out_stats->n_used = cache->n_used;
    out_stats->n_free = cache->free_list.count;
    out_stats->n_cached = cache->cached_list.count;
    out_stats->prefix_queries = cache->prefix_queries;
    out_stats->prefix_hits = cache->prefix_hits;
    out_stats->evictions = cache->evictions;
}

/* ---- invariant checks (tests and debugging) ---- */

/* Walks a list from head to tail: links agree both ways, members have the expected state and
 * hash flag, and the length matches the count. Bounded, so a cycle is reported, not followed. */
static ifn_status check_list(const ifn_kv_cache *c, const block_list *l, block_state state,
                             const char *name) {
    int32_t seen = 0, prev = NO_BLOCK;
    for (int32_t b = l->head; b != NO_BLOCK; prev = b, b = c->next[b]) {
        if (b < 0 || b >= c->params.n_blocks || seen >= c->params.n_blocks)
            return ifn_fail(IFN_E_INTERNAL, "kv_cache: %s list broken at %d", name, (int)b);
        if (c->prev[b] != prev)
            return ifn_fail(IFN_E_INTERNAL, "kv_cache: %s list back link of %d", name, (int)b);
        if (c->states[b] != state || c->ref_counts[b] != 0 ||
            c->is_hashed[b] != (state == BLOCK_CACHED))
            return ifn_fail(IFN_E_INTERNAL,
                            "kv_cache: block %d on the %s list has state %d "
                            "ref %d hashed %d",
                            (int)b, name, c->states[b], (int)c->ref_counts[b], c->is_hashed[b]);
        seen++;
    }
    if (l->tail != prev || seen != l->count)
        return ifn_fail(IFN_E_INTERNAL, "kv_cache: %s list has %d blocks, count says %d", name,
                        (int)seen, (int)l->count);
    return IFN_OK;
}

/* Every block's state agrees with its reference count; the three counts add up. */
static ifn_status check_states(const ifn_kv_cache *c) {
    int32_t used = 0;
    for (int32_t b = 0; b < c->params.n_blocks; b++) {
        int is_used = c->states[b] == BLOCK_USED;
        if (is_used != (c->ref_counts[b] > 0) || c->ref_counts[b] < 0 || c->states[b] > BLOCK_USED)
            return ifn_fail(IFN_E_INTERNAL, "kv_cache: block %d has state %d and ref count %d",
                            (int)b, c->states[b], (int)c->ref_counts[b]);
        used += is_used;
    }
    if (used != c->n_used ||
        c->n_used + c->free_list.count + c->cached_list.count != c->params.n_blocks)
        return ifn_fail(IFN_E_INTERNAL,
                        "kv_cache: %d used (counted %d) + %d free + %d cached "
                        "!= %d blocks",
                        (int)c->n_used, (int)used, (int)c->free_list.count,
                        (int)c->cached_list.count, (int)c->params.n_blocks);
    return IFN_OK;
}

/* The index holds exactly the hashed blocks, each reachable from its home slot. */
static ifn_status check_index(const ifn_kv_cache *c) {
    int32_t n_entries = 0, n_hashed = 0;
    for (size_t i = 0; i <= c->slot_mask; i++) {
        int32_t b = c->slots[i].block;
        if (b == NO_BLOCK) continue;
        if (b < 0 || b >= c->params.n_blocks || !c->is_hashed[b] ||
            c->hashes[b] != c->slots[i].hash || index_find(c, c->slots[i].hash) != i)
            return ifn_fail(IFN_E_INTERNAL, "kv_cache: index slot %zu (block %d) is stale", i,
                            (int)b);
        n_entries++;
    }
    for (int32_t b = 0; b < c->params.n_blocks; b++)
        n_hashed += c->is_hashed[b];
    if (n_entries != n_hashed)
        return ifn_fail(IFN_E_INTERNAL, "kv_cache: %d index entries for %d hashed blocks",
                        (int)n_entries, (int)n_hashed);
    return IFN_OK;
}

ifn_status ifn_kv_cache_validate(const ifn_kv_cache *cache) {
    ifn_status st = check_states(cache);
    if (st == IFN_OK) st = check_list(cache, &cache->free_list, BLOCK_FREE, "free");
    if (st == IFN_OK) st = check_list(cache, &cache->cached_list, BLOCK_CACHED, "cached");
    if (st == IFN_OK) st = check_index(cache);
    return st;
}
