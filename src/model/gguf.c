/* GGUF v2/v3 parser. Invariant: nothing is read or allocated before its size has been checked
 * against the bytes left in the file, so allocations are bounded by the file size and a hostile
 * file can only produce an error. Little-endian hosts only (checked at compile time). */
#include "model/gguf.h"

#include <string.h>

#include "util/alloc.h"
#include "util/hashmap.h"
#include "util/mmap.h"
#include "util/status.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the GGUF reader assumes a little-endian host"
#endif

#define GGUF_MAGIC "GGUF"
#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_ARRAY_DEPTH 8
#define GGUF_MAX_DIMS 4
#define GGUF_MAX_NAME_BYTES 256

/* Every allocation made while parsing, freed together at close. */
typedef struct alloc_node {
    struct alloc_node *next;
} alloc_node;

struct ifn_gguf {
    ifn_mmap map; /* owned when opened from a path; zeroed for memory images */
    const unsigned char *data;
    size_t size;
    uint32_t version;
    size_t alignment;
    int64_t kv_count;
    ifn_gguf_kv *kvs;
    int64_t tensor_count;
    ifn_gguf_tensor *tensors;
    ifn_hashmap *kv_index;
    ifn_hashmap *tensor_index;
    alloc_node *allocs;
};

typedef struct reader {
    const unsigned char *data;
    size_t size;
    size_t pos;
    ifn_gguf *gguf;
} reader;

static const size_t g_scalar_sizes[IFN_GGUF_TYPE_COUNT] = {
    [IFN_GGUF_TYPE_UINT8] = 1,   [IFN_GGUF_TYPE_INT8] = 1,    [IFN_GGUF_TYPE_UINT16] = 2,
    [IFN_GGUF_TYPE_INT16] = 2,   [IFN_GGUF_TYPE_UINT32] = 4,  [IFN_GGUF_TYPE_INT32] = 4,
    [IFN_GGUF_TYPE_FLOAT32] = 4, [IFN_GGUF_TYPE_BOOL] = 1,    [IFN_GGUF_TYPE_STRING] = 0,
    [IFN_GGUF_TYPE_ARRAY] = 0,   [IFN_GGUF_TYPE_UINT64] = 8,  [IFN_GGUF_TYPE_INT64] = 8,
    [IFN_GGUF_TYPE_FLOAT64] = 8,
};

const char *ifn_gguf_type_name(ifn_gguf_type type) {
    static const char *names[IFN_GGUF_TYPE_COUNT] = {
        "uint8", "int8",  "uint16", "int16",  "uint32", "int32",  "float32",
        "bool",  "string", "array", "uint64", "int64",  "float64",
    };
    if ((unsigned)type >= IFN_GGUF_TYPE_COUNT) return "unknown";
    return names[type];
}

static void *gguf_alloc(ifn_gguf *g, size_t count, size_t elem_size) {
    size_t bytes;
    if (!ifn_mul_size(count, elem_size, &bytes) || bytes > SIZE_MAX - sizeof(alloc_node))
        return NULL;
    alloc_node *node = ifn_calloc(1, sizeof(alloc_node) + bytes);
    if (!node) return NULL;
    node->next = g->allocs;
    g->allocs = node;
    return node + 1;
}

static size_t remaining(const reader *r) {
    return r->size - r->pos;
}

static ifn_status read_bytes(reader *r, void *out, size_t n, const char *what) {
    if (remaining(r) < n)
        return ifn_fail(IFN_E_FORMAT, "gguf: file ends inside %s at offset %zu (size %zu)", what,
                        r->pos, r->size);
    memcpy(out, r->data + r->pos, n);
    r->pos += n;
    return IFN_OK;
}

static ifn_status read_u32(reader *r, uint32_t *out, const char *what) {
    return read_bytes(r, out, sizeof *out, what);
}

static ifn_status read_u64(reader *r, uint64_t *out, const char *what) {
    return read_bytes(r, out, sizeof *out, what);
}

static ifn_status read_string(reader *r, ifn_str *out, const char *what) {
    uint64_t len = 0;
    ifn_status st = read_u64(r, &len, what);
    if (st != IFN_OK) return st;
    if (len > remaining(r))
        return ifn_fail(IFN_E_FORMAT, "gguf: %s length %llu at offset %zu runs past the end",
                        what, (unsigned long long)len, r->pos - 8);
    out->ptr = (const char *)r->data + r->pos;
    out->len = (size_t)len;
    r->pos += (size_t)len;
    return IFN_OK;
}

static ifn_status read_value(reader *r, ifn_gguf_type type, int depth, ifn_gguf_value *out);

static ifn_status read_scalar(reader *r, ifn_gguf_type type, ifn_gguf_value *out) {
    unsigned char buf[8] = {0};
    ifn_status st = read_bytes(r, buf, g_scalar_sizes[type], "a metadata value");
    if (st != IFN_OK) return st;
    out->type = type;
    switch (type) {
    case IFN_GGUF_TYPE_UINT8: out->as.u64 = buf[0]; break;
    case IFN_GGUF_TYPE_INT8: out->as.i64 = (int8_t)buf[0]; break;
    case IFN_GGUF_TYPE_UINT16: { uint16_t v; memcpy(&v, buf, 2); out->as.u64 = v; break; }
    case IFN_GGUF_TYPE_INT16: { int16_t v; memcpy(&v, buf, 2); out->as.i64 = v; break; }
    case IFN_GGUF_TYPE_UINT32: { uint32_t v; memcpy(&v, buf, 4); out->as.u64 = v; break; }
    case IFN_GGUF_TYPE_INT32: { int32_t v; memcpy(&v, buf, 4); out->as.i64 = v; break; }
    case IFN_GGUF_TYPE_FLOAT32: { float v; memcpy(&v, buf, 4); out->as.f64 = v; break; }
    case IFN_GGUF_TYPE_BOOL:
        if (buf[0] > 1)
            return ifn_fail(IFN_E_FORMAT, "gguf: bool value %u at offset %zu is not 0 or 1",
                            buf[0], r->pos - 1);
        out->as.b = buf[0];
        break;
    case IFN_GGUF_TYPE_UINT64: memcpy(&out->as.u64, buf, 8); break;
    case IFN_GGUF_TYPE_INT64: memcpy(&out->as.i64, buf, 8); break;
    case IFN_GGUF_TYPE_FLOAT64: memcpy(&out->as.f64, buf, 8); break;
    default: return ifn_fail(IFN_E_INTERNAL, "gguf: read_scalar on %d", (int)type);
    }
    return IFN_OK;
}

static ifn_status read_type(reader *r, ifn_gguf_type *out, const char *what) {
    uint32_t raw = 0;
    ifn_status st = read_u32(r, &raw, what);
    if (st != IFN_OK) return st;
    if (raw >= IFN_GGUF_TYPE_COUNT)
        return ifn_fail(IFN_E_FORMAT, "gguf: unknown value type %u at offset %zu", raw,
                        r->pos - 4);
    *out = (ifn_gguf_type)raw;
    return IFN_OK;
}

static ifn_status read_array(reader *r, int depth, ifn_gguf_array *arr) {
    if (depth >= GGUF_MAX_ARRAY_DEPTH)
        return ifn_fail(IFN_E_FORMAT, "gguf: arrays nested deeper than %d at offset %zu",
                        GGUF_MAX_ARRAY_DEPTH, r->pos);
    ifn_status st = read_type(r, &arr->elem_type, "an array element type");
    if (st == IFN_OK) st = read_u64(r, &arr->count, "an array length");
    if (st != IFN_OK) return st;
    /* Smallest encoding of one element bounds the count before anything is allocated. */
    size_t min_elem = g_scalar_sizes[arr->elem_type];
    if (arr->elem_type == IFN_GGUF_TYPE_STRING) min_elem = 8;
    if (arr->elem_type == IFN_GGUF_TYPE_ARRAY) min_elem = 12;
    if (arr->count > remaining(r) / min_elem)
        return ifn_fail(IFN_E_FORMAT, "gguf: array of %llu %s at offset %zu runs past the end",
                        (unsigned long long)arr->count, ifn_gguf_type_name(arr->elem_type), r->pos);
    if (arr->elem_type == IFN_GGUF_TYPE_STRING) {
        ifn_str *strs = gguf_alloc(r->gguf, (size_t)arr->count, sizeof *strs);
        if (!strs && arr->count) return ifn_fail(IFN_E_NOMEM, "gguf: no memory for string array");
        for (uint64_t i = 0; i < arr->count; i++) {
            st = read_string(r, &strs[i], "an array string");
            if (st != IFN_OK) return st;
        }
        arr->strs = strs;
    } else if (arr->elem_type == IFN_GGUF_TYPE_ARRAY) {
        ifn_gguf_value *items = gguf_alloc(r->gguf, (size_t)arr->count, sizeof *items);
        if (!items && arr->count) return ifn_fail(IFN_E_NOMEM, "gguf: no memory for nested array");
        for (uint64_t i = 0; i < arr->count; i++) {
            st = read_value(r, IFN_GGUF_TYPE_ARRAY, depth + 1, &items[i]);
            if (st != IFN_OK) return st;
        }
        arr->items = items;
    } else {
        arr->raw = r->data + r->pos;
        r->pos += (size_t)arr->count * min_elem;
        if (arr->elem_type == IFN_GGUF_TYPE_BOOL) {
            for (uint64_t i = 0; i < arr->count; i++)
                if (arr->raw[i] > 1)
                    return ifn_fail(IFN_E_FORMAT, "gguf: bool array element %llu is not 0 or 1",
                                    (unsigned long long)i);
        }
    }
    return IFN_OK;
}

static ifn_status read_value(reader *r, ifn_gguf_type type, int depth, ifn_gguf_value *out) {
    out->type = type;
    if (type == IFN_GGUF_TYPE_STRING) return read_string(r, &out->as.str, "a string value");
    if (type == IFN_GGUF_TYPE_ARRAY) return read_array(r, depth, &out->as.arr);
    return read_scalar(r, type, out);
}

static ifn_status read_kvs(reader *r, ifn_gguf *g) {
    ifn_status st = ifn_hashmap_create((size_t)g->kv_count, &g->kv_index);
    if (st != IFN_OK) return st;
    for (int64_t i = 0; i < g->kv_count; i++) {
        ifn_gguf_kv *kv = &g->kvs[i];
        ifn_gguf_type type = IFN_GGUF_TYPE_UINT8;
        st = read_string(r, &kv->key, "a metadata key");
        if (st == IFN_OK) st = read_type(r, &type, "a metadata value type");
        if (st == IFN_OK) st = read_value(r, type, 0, &kv->value);
        if (st != IFN_OK) return st;
        int32_t existing;
        if (ifn_hashmap_get(g->kv_index, kv->key.ptr, kv->key.len, &existing))
            return ifn_fail(IFN_E_FORMAT, "gguf: duplicate metadata key '%.*s'", (int)kv->key.len,
                            kv->key.ptr);
        st = ifn_hashmap_put(g->kv_index, kv->key.ptr, kv->key.len, (int32_t)i);
        if (st != IFN_OK) return st;
    }
    return IFN_OK;
}

static ifn_status read_alignment(ifn_gguf *g) {
    g->alignment = GGUF_DEFAULT_ALIGNMENT;
    const ifn_gguf_kv *kv = ifn_gguf_find(g, "general.alignment");
    if (!kv) return IFN_OK;
    int64_t alignment;
    if (kv->value.type == IFN_GGUF_TYPE_BOOL)
        return ifn_fail(IFN_E_FORMAT, "gguf: general.alignment is a bool, not an integer");
    ifn_status st = ifn_gguf_value_int(&kv->value, &alignment);
    if (st != IFN_OK) return ifn_fail(st, "gguf: general.alignment: %s", ifn_last_error());
    if (alignment <= 0 || alignment > (1 << 20) || (alignment & (alignment - 1)) != 0)
        return ifn_fail(IFN_E_FORMAT, "gguf: general.alignment %lld is not a power of two up to 1 MiB",
                        (long long)alignment);
    g->alignment = (size_t)alignment;
    return IFN_OK;
}

static ifn_status read_tensor_shape(reader *r, ifn_gguf_tensor *t) {
    uint32_t n_dims = 0;
    ifn_status st = read_u32(r, &n_dims, "a tensor's dimension count");
    if (st != IFN_OK) return st;
    if (n_dims == 0 || n_dims > GGUF_MAX_DIMS)
        return ifn_fail(IFN_E_FORMAT, "gguf: tensor '%.*s' has %u dimensions (1..%d allowed)",
                        (int)t->name.len, t->name.ptr, n_dims, GGUF_MAX_DIMS);
    t->n_dims = (int32_t)n_dims;
    for (int d = 0; d < GGUF_MAX_DIMS; d++) t->ne[d] = 1;
    for (uint32_t d = 0; d < n_dims; d++) {
        uint64_t ne = 0;
        st = read_u64(r, &ne, "a tensor dimension");
        if (st != IFN_OK) return st;
        if (ne > (uint64_t)INT64_MAX)
            return ifn_fail(IFN_E_FORMAT, "gguf: tensor '%.*s' dimension %u is negative",
                            (int)t->name.len, t->name.ptr, d);
        t->ne[d] = (int64_t)ne;
    }
    return IFN_OK;
}

/* Checks the type and computes the byte size, guarding every multiplication. */
static ifn_status size_tensor(ifn_gguf_tensor *t, uint32_t type_id) {
    const ifn_dtype_info *info = ifn_dtype_get_info(type_id);
    if (!info)
        return ifn_fail(IFN_E_UNSUPPORTED, "gguf: tensor '%.*s' has unknown type id %u",
                        (int)t->name.len, t->name.ptr, type_id);
    t->type = (ifn_dtype)type_id;
    /* The element count must fit in int64 even when a zero dimension makes the size 0, since
     * code that counts rows multiplies the other dimensions. */
    int64_t n_elems = 1;
    for (int d = 0; d < GGUF_MAX_DIMS; d++) {
        int64_t ne = t->ne[d] > 0 ? t->ne[d] : 1;
        if (n_elems > INT64_MAX / ne) goto overflow;
        n_elems *= ne;
    }
    if (t->ne[0] % info->block_elems != 0)
        return ifn_fail(IFN_E_FORMAT,
                        "gguf: tensor '%.*s' row of %lld elements is not a whole number of %s "
                        "blocks (%d)",
                        (int)t->name.len, t->name.ptr, (long long)t->ne[0], info->name,
                        info->block_elems);
    size_t size = (size_t)(t->ne[0] / info->block_elems);
    if (!ifn_mul_size(size, (size_t)info->block_bytes, &size)) goto overflow;
    for (int d = 1; d < GGUF_MAX_DIMS; d++)
        if (!ifn_mul_size(size, (size_t)t->ne[d], &size)) goto overflow;
    t->size_bytes = size;
    return IFN_OK;
overflow:
    return ifn_fail(IFN_E_FORMAT, "gguf: tensor '%.*s' size overflows", (int)t->name.len,
                    t->name.ptr);
}

static ifn_status read_tensor_info(reader *r, ifn_gguf_tensor *t) {
    ifn_status st = read_string(r, &t->name, "a tensor name");
    if (st != IFN_OK) return st;
    if (t->name.len == 0 || t->name.len > GGUF_MAX_NAME_BYTES)
        return ifn_fail(IFN_E_FORMAT, "gguf: tensor name of %zu bytes at offset %zu", t->name.len,
                        r->pos);
    st = read_tensor_shape(r, t);
    uint32_t type_id = 0;
    if (st == IFN_OK) st = read_u32(r, &type_id, "a tensor type");
    if (st == IFN_OK) st = read_u64(r, &t->offset, "a tensor offset");
    if (st == IFN_OK) st = size_tensor(t, type_id);
    return st;
}

static ifn_status place_tensors(ifn_gguf *g, size_t header_end) {
    size_t data_start = (header_end + g->alignment - 1) / g->alignment * g->alignment;
    if (data_start > g->size && g->tensor_count > 0)
        return ifn_fail(IFN_E_FORMAT, "gguf: data section starts past the end of the file");
    size_t data_size = g->size > data_start ? g->size - data_start : 0;
    for (int64_t i = 0; i < g->tensor_count; i++) {
        ifn_gguf_tensor *t = &g->tensors[i];
        if (t->offset % g->alignment != 0)
            return ifn_fail(IFN_E_FORMAT, "gguf: tensor '%.*s' offset %llu is not aligned to %zu",
                            (int)t->name.len, t->name.ptr, (unsigned long long)t->offset,
                            g->alignment);
        if (t->offset > data_size || t->size_bytes > data_size - t->offset)
            return ifn_fail(IFN_E_FORMAT,
                            "gguf: tensor '%.*s' (%zu bytes at offset %llu) runs past the end of "
                            "the file (%zu data bytes)",
                            (int)t->name.len, t->name.ptr, t->size_bytes,
                            (unsigned long long)t->offset, data_size);
        t->data = g->data + data_start + t->offset;
    }
    return IFN_OK;
}

static ifn_status read_tensors(reader *r, ifn_gguf *g) {
    ifn_status st = ifn_hashmap_create((size_t)g->tensor_count, &g->tensor_index);
    if (st != IFN_OK) return st;
    for (int64_t i = 0; i < g->tensor_count; i++) {
        ifn_gguf_tensor *t = &g->tensors[i];
        st = read_tensor_info(r, t);
        if (st != IFN_OK) return st;
        int32_t existing;
        if (ifn_hashmap_get(g->tensor_index, t->name.ptr, t->name.len, &existing))
            return ifn_fail(IFN_E_FORMAT, "gguf: duplicate tensor name '%.*s'", (int)t->name.len,
                            t->name.ptr);
        st = ifn_hashmap_put(g->tensor_index, t->name.ptr, t->name.len, (int32_t)i);
        if (st != IFN_OK) return st;
    }
    return place_tensors(g, r->pos);
}

static ifn_status read_header(reader *r, ifn_gguf *g, uint64_t *n_tensors, uint64_t *n_kv) {
    char magic[4];
    ifn_status st = read_bytes(r, magic, 4, "the magic");
    if (st != IFN_OK) return st;
    if (memcmp(magic, GGUF_MAGIC, 4) != 0)
        return ifn_fail(IFN_E_FORMAT, "gguf: bad magic (not a GGUF file)");
    st = read_u32(r, &g->version, "the version");
    if (st != IFN_OK) return st;
    if (g->version == 1)
        return ifn_fail(IFN_E_UNSUPPORTED, "gguf: version 1 files are not supported (convert "
                                           "to v3)");
    if (g->version != 2 && g->version != 3)
        return ifn_fail(IFN_E_UNSUPPORTED, "gguf: unknown version %u (big-endian file?)",
                        g->version);
    st = read_u64(r, n_tensors, "the tensor count");
    if (st == IFN_OK) st = read_u64(r, n_kv, "the metadata count");
    if (st != IFN_OK) return st;
    /* A key/value takes at least 12 bytes and a tensor info at least 32. */
    if (*n_kv > remaining(r) / 12)
        return ifn_fail(IFN_E_FORMAT, "gguf: metadata count %llu exceeds what the file can hold",
                        (unsigned long long)*n_kv);
    if (*n_tensors > remaining(r) / 32)
        return ifn_fail(IFN_E_FORMAT, "gguf: tensor count %llu exceeds what the file can hold",
                        (unsigned long long)*n_tensors);
    return IFN_OK;
}

static ifn_status parse(ifn_gguf *g) {
    reader r = {g->data, g->size, 0, g};
    uint64_t n_tensors = 0, n_kv = 0;
    ifn_status st = read_header(&r, g, &n_tensors, &n_kv);
    if (st != IFN_OK) return st;
    g->kv_count = (int64_t)n_kv;
    g->tensor_count = (int64_t)n_tensors;
    g->kvs = gguf_alloc(g, (size_t)n_kv + 1, sizeof *g->kvs);
    g->tensors = gguf_alloc(g, (size_t)n_tensors + 1, sizeof *g->tensors);
    if (!g->kvs || !g->tensors) return ifn_fail(IFN_E_NOMEM, "gguf: no memory for the index");
    st = read_kvs(&r, g);
    if (st == IFN_OK) st = read_alignment(g);
    if (st == IFN_OK) st = read_tensors(&r, g);
    return st;
}

ifn_status ifn_gguf_open_memory(const void *data, size_t size, ifn_gguf **out_gguf) {
    ifn_gguf *g = ifn_calloc(1, sizeof *g);
    if (!g) return ifn_fail(IFN_E_NOMEM, "gguf: no memory");
    g->data = data;
    g->size = size;
    ifn_status st = parse(g);
    if (st != IFN_OK) {
        ifn_gguf_close(g);
        return st;
    }
    *out_gguf = g;
    return IFN_OK;
}

ifn_status ifn_gguf_open(const char *path, ifn_gguf **out_gguf) {
    ifn_mmap map;
    ifn_status st = ifn_mmap_open(path, &map);
    if (st != IFN_OK) return st;
    ifn_gguf *g = NULL;
    st = ifn_gguf_open_memory(map.data, map.size, &g);
    if (st != IFN_OK) {
        ifn_mmap_close(&map);
        return ifn_fail(st, "%s: %s", path, ifn_last_error());
    }
    g->map = map;
    *out_gguf = g;
    return IFN_OK;
}

void ifn_gguf_close(ifn_gguf *g) {
    if (!g) return;
    ifn_hashmap_destroy(g->kv_index);
    ifn_hashmap_destroy(g->tensor_index);
    while (g->allocs) {
        alloc_node *next = g->allocs->next;
        ifn_free(g->allocs);
        g->allocs = next;
    }
    ifn_mmap_close(&g->map);
    ifn_free(g);
}

uint32_t ifn_gguf_version(const ifn_gguf *g) { return g->version; }
size_t ifn_gguf_alignment(const ifn_gguf *g) { return g->alignment; }
size_t ifn_gguf_file_size(const ifn_gguf *g) { return g->size; }
int64_t ifn_gguf_kv_count(const ifn_gguf *g) { return g->kv_count; }
int64_t ifn_gguf_tensor_count(const ifn_gguf *g) { return g->tensor_count; }

const ifn_gguf_kv *ifn_gguf_kv_at(const ifn_gguf *g, int64_t index) {
    IFN_ASSERT(index >= 0 && index < g->kv_count);
    return &g->kvs[index];
}

const ifn_gguf_tensor *ifn_gguf_tensor_at(const ifn_gguf *g, int64_t index) {
    IFN_ASSERT(index >= 0 && index < g->tensor_count);
    return &g->tensors[index];
}

const ifn_gguf_kv *ifn_gguf_find(const ifn_gguf *g, const char *key) {
    int32_t index;
    if (!g->kv_index || !ifn_hashmap_get(g->kv_index, key, strlen(key), &index)) return NULL;
    return &g->kvs[index];
}

const ifn_gguf_tensor *ifn_gguf_find_tensor(const ifn_gguf *g, const char *name) {
    int32_t index;
    if (!g->tensor_index || !ifn_hashmap_get(g->tensor_index, name, strlen(name), &index))
        return NULL;
    return &g->tensors[index];
}

static int is_unsigned_type(ifn_gguf_type t) {
    return t == IFN_GGUF_TYPE_UINT8 || t == IFN_GGUF_TYPE_UINT16 || t == IFN_GGUF_TYPE_UINT32 ||
           t == IFN_GGUF_TYPE_UINT64;
}

static int is_signed_type(ifn_gguf_type t) {
    return t == IFN_GGUF_TYPE_INT8 || t == IFN_GGUF_TYPE_INT16 || t == IFN_GGUF_TYPE_INT32 ||
           t == IFN_GGUF_TYPE_INT64;
}

ifn_status ifn_gguf_value_int(const ifn_gguf_value *v, int64_t *out) {
    if (is_signed_type(v->type)) {
        *out = v->as.i64;
        return IFN_OK;
    }
    if (is_unsigned_type(v->type)) {
        if (v->as.u64 > (uint64_t)INT64_MAX)
            return ifn_fail(IFN_E_FORMAT, "integer %llu is too large",
                            (unsigned long long)v->as.u64);
        *out = (int64_t)v->as.u64;
        return IFN_OK;
    }
    if (v->type == IFN_GGUF_TYPE_BOOL) {
        *out = v->as.b;
        return IFN_OK;
    }
    return ifn_fail(IFN_E_FORMAT, "expected an integer, found %s", ifn_gguf_type_name(v->type));
}

ifn_status ifn_gguf_value_float(const ifn_gguf_value *v, double *out) {
    if (v->type == IFN_GGUF_TYPE_FLOAT32 || v->type == IFN_GGUF_TYPE_FLOAT64) {
        *out = v->as.f64;
        return IFN_OK;
    }
    if (is_signed_type(v->type)) {
        *out = (double)v->as.i64;
        return IFN_OK;
    }
    if (is_unsigned_type(v->type)) {
        *out = (double)v->as.u64;
        return IFN_OK;
    }
    return ifn_fail(IFN_E_FORMAT, "expected a number, found %s", ifn_gguf_type_name(v->type));
}

ifn_status ifn_gguf_value_bool(const ifn_gguf_value *v, int *out) {
    if (v->type != IFN_GGUF_TYPE_BOOL)
        return ifn_fail(IFN_E_FORMAT, "expected a bool, found %s", ifn_gguf_type_name(v->type));
    *out = v->as.b;
    return IFN_OK;
}

ifn_status ifn_gguf_value_string(const ifn_gguf_value *v, ifn_str *out) {
    if (v->type != IFN_GGUF_TYPE_STRING)
        return ifn_fail(IFN_E_FORMAT, "expected a string, found %s", ifn_gguf_type_name(v->type));
    *out = v->as.str;
    return IFN_OK;
}

ifn_status ifn_gguf_value_array(const ifn_gguf_value *v, ifn_gguf_array *out) {
    if (v->type != IFN_GGUF_TYPE_ARRAY)
        return ifn_fail(IFN_E_FORMAT, "expected an array, found %s", ifn_gguf_type_name(v->type));
    *out = v->as.arr;
    return IFN_OK;
}

static ifn_status array_element(const ifn_gguf_array *arr, uint64_t index, ifn_gguf_value *out) {
    IFN_ASSERT(index < arr->count);
    if (arr->elem_type == IFN_GGUF_TYPE_STRING || arr->elem_type == IFN_GGUF_TYPE_ARRAY)
        return ifn_fail(IFN_E_FORMAT, "expected a numeric array, found an array of %s",
                        ifn_gguf_type_name(arr->elem_type));
    size_t elem_size = g_scalar_sizes[arr->elem_type];
    reader r = {arr->raw + index * elem_size, elem_size, 0, NULL};
    return read_scalar(&r, arr->elem_type, out);
}

ifn_status ifn_gguf_array_int(const ifn_gguf_array *arr, uint64_t index, int64_t *out) {
    ifn_gguf_value v = {0};
    ifn_status st = array_element(arr, index, &v);
    return st != IFN_OK ? st : ifn_gguf_value_int(&v, out);
}

ifn_status ifn_gguf_array_float(const ifn_gguf_array *arr, uint64_t index, double *out) {
    ifn_gguf_value v = {0};
    ifn_status st = array_element(arr, index, &v);
    return st != IFN_OK ? st : ifn_gguf_value_float(&v, out);
}

/* Prefixes the key to a typed-read error so messages say which key was wrong. */
static ifn_status name_key(ifn_status st, const char *key) {
    if (st == IFN_OK) return st;
    return ifn_fail(st, "gguf: %s: %s", key, ifn_last_error());
}

ifn_status ifn_gguf_get_int(const ifn_gguf *g, const char *key, int64_t fallback, int64_t *out) {
    const ifn_gguf_kv *kv = ifn_gguf_find(g, key);
    if (!kv) {
        *out = fallback;
        return IFN_OK;
    }
    return name_key(ifn_gguf_value_int(&kv->value, out), key);
}

ifn_status ifn_gguf_get_float(const ifn_gguf *g, const char *key, double fallback, double *out) {
    const ifn_gguf_kv *kv = ifn_gguf_find(g, key);
    if (!kv) {
        *out = fallback;
        return IFN_OK;
    }
    return name_key(ifn_gguf_value_float(&kv->value, out), key);
}

ifn_status ifn_gguf_get_bool(const ifn_gguf *g, const char *key, int fallback, int *out) {
    const ifn_gguf_kv *kv = ifn_gguf_find(g, key);
    if (!kv) {
        *out = fallback;
        return IFN_OK;
    }
    /* Some converters wrote flags as integers; accept 0/1 there too. */
    int64_t as_int;
    if (kv->value.type != IFN_GGUF_TYPE_BOOL && ifn_gguf_value_int(&kv->value, &as_int) == IFN_OK &&
        (as_int == 0 || as_int == 1)) {
        *out = (int)as_int;
        return IFN_OK;
    }
    return name_key(ifn_gguf_value_bool(&kv->value, out), key);
}

ifn_status ifn_gguf_get_string(const ifn_gguf *g, const char *key, ifn_str *out) {
    const ifn_gguf_kv *kv = ifn_gguf_find(g, key);
    if (!kv) {
        out->ptr = NULL;
        out->len = 0;
        return IFN_OK;
    }
    return name_key(ifn_gguf_value_string(&kv->value, out), key);
}
