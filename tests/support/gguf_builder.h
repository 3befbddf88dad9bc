/* In-memory GGUF image builder for tests (header-only: every test is its own executable).
 * Writes the raw little-endian fields one by one, so a test can build valid files and also
 * break any field on purpose: wrong counts, lengths, types, offsets. It checks nothing.
 * Usage: gb_init, gb_header, gb_kv_* / gb_tensor_info, gb_align, gb_bytes (data), then parse
 * b.data / b.len, then gb_free. Out of memory aborts (tests only). */
#ifndef IFN_TESTS_SUPPORT_GGUF_BUILDER_H
#define IFN_TESTS_SUPPORT_GGUF_BUILDER_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* GGUF metadata value type ids (same numbers as ifn_gguf_type). */
enum {
    GB_UINT8 = 0,
    GB_INT8 = 1,
    GB_UINT16 = 2,
    GB_INT16 = 3,
    GB_UINT32 = 4,
    GB_INT32 = 5,
    GB_FLOAT32 = 6,
    GB_BOOL = 7,
    GB_STRING = 8,
    GB_ARRAY = 9,
    GB_UINT64 = 10,
    GB_INT64 = 11,
    GB_FLOAT64 = 12,
};

typedef struct gguf_builder {
    unsigned char *data;
    size_t len;
    size_t cap;
} gguf_builder;

static inline void gb_init(gguf_builder *b) {
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

static inline void gb_free(gguf_builder *b) {
    free(b->data);
    gb_init(b);
}

static inline void gb_bytes(gguf_builder *b, const void *bytes, size_t n) {
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        unsigned char *grown = realloc(b->data, cap);
        if (!grown) {
            fprintf(stderr, "gguf_builder: out of memory\n");
            abort();
        }
        b->data = grown;
        b->cap = cap;
    }
    if (n) memcpy(b->data + b->len, bytes, n);
    b->len += n;
}

/* The host is little-endian, as GGUF (checked by the reader too), so raw copies suffice. */
static inline void gb_u8(gguf_builder *b, uint8_t v) {
    gb_bytes(b, &v, 1);
}
static inline void gb_u16(gguf_builder *b, uint16_t v) {
    gb_bytes(b, &v, 2);
}
static inline void gb_u32(gguf_builder *b, uint32_t v) {
    gb_bytes(b, &v, 4);
}
static inline void gb_u64(gguf_builder *b, uint64_t v) {
    gb_bytes(b, &v, 8);
}
static inline void gb_f32(gguf_builder *b, float v) {
    gb_bytes(b, &v, 4);
}
static inline void gb_f64(gguf_builder *b, double v) {
    gb_bytes(b, &v, 8);
}

/* A GGUF string: u64 length, then the bytes (no NUL). */
static inline void gb_str_n(gguf_builder *b, const char *s, size_t n) {
    gb_u64(b, n);
    gb_bytes(b, s, n);
}

static inline void gb_str(gguf_builder *b, const char *s) {
    gb_str_n(b, s, strlen(s));
}

/* Magic, version, tensor count, metadata count. */
static inline void gb_header(gguf_builder *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    gb_bytes(b, "GGUF", 4);
    gb_u32(b, version);
    gb_u64(b, n_tensors);
    gb_u64(b, n_kv);
}

/* Rewrites the two counts of a header written at offset 0 (for callers that count as they go). */
static inline void gb_set_counts(gguf_builder *b, uint64_t n_tensors, uint64_t n_kv) {
    memcpy(b->data + 8, &n_tensors, 8);
    memcpy(b->data + 16, &n_kv, 8);
}

/* Key and value type; the caller writes the value. */
static inline void gb_kv(gguf_builder *b, const char *key, uint32_t type) {
    gb_str(b, key);
    gb_u32(b, type);
}

static inline void gb_kv_u32(gguf_builder *b, const char *key, uint32_t v) {
    gb_kv(b, key, GB_UINT32);
    gb_u32(b, v);
}

static inline void gb_kv_u64(gguf_builder *b, const char *key, uint64_t v) {
    gb_kv(b, key, GB_UINT64);
    gb_u64(b, v);
}

static inline void gb_kv_str(gguf_builder *b, const char *key, const char *v) {
    gb_kv(b, key, GB_STRING);
    gb_str(b, v);
}

/* Array value header (after gb_kv(.., GB_ARRAY) or as a nested element's body). */
static inline void gb_array(gguf_builder *b, uint32_t elem_type, uint64_t count) {
    gb_u32(b, elem_type);
    gb_u64(b, count);
}

/* A tensor info: name, n_dims, ne[0..n_dims-1], type id, offset in the data section. */
static inline void gb_tensor_info(gguf_builder *b, const char *name, uint32_t n_dims,
                                  const uint64_t *ne, uint32_t type, uint64_t offset) {
    gb_str(b, name);
    gb_u32(b, n_dims);
    for (uint32_t d = 0; d < n_dims; d++)
        gb_u64(b, ne[d]);
    gb_u32(b, type);
    gb_u64(b, offset);
}

/* Zero padding up to a multiple of `alignment` (the start of the data section). */
static inline void gb_align(gguf_builder *b, size_t alignment) {
    static const unsigned char zeros[64] = {0};
    while (b->len % alignment != 0) {
        size_t n = alignment - b->len % alignment;
        gb_bytes(b, zeros, n < sizeof zeros ? n : sizeof zeros);
    }
}

/* n bytes of value `fill` (tensor data). */
static inline void gb_fill(gguf_builder *b, unsigned char fill, size_t n) {
    unsigned char chunk[256];
    memset(chunk, fill, sizeof chunk);
    while (n) {
        size_t k = n < sizeof chunk ? n : sizeof chunk;
        gb_bytes(b, chunk, k);
        n -= k;
    }
}

/* Copy of the image in a block of exactly its size, so ASan flags any read past the end. */
static inline unsigned char *gb_exact_copy(const gguf_builder *b) {
    unsigned char *copy = malloc(b->len ? b->len : 1);
    if (!copy) abort();
    if (b->len) memcpy(copy, b->data, b->len);
    return copy;
}

#endif
