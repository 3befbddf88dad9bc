/* GGUF v3 writer. Invariant: `meta` always holds whole, valid key/value encodings (a failed
 * setter rolls back what it appended), and after open the file position equals `pos`, so the
 * padding of every tensor can be computed without ftell. Little-endian hosts only, as the
 * reader. */
#include "model/gguf_writer.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "util/alloc.h"
#include "util/status.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the GGUF writer assumes a little-endian host"
#endif

#define GGUF_VERSION 3
#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_ALIGNMENT (1u << 20) /* what the reader accepts */
#define GGUF_MAX_ARRAY_DEPTH 8
#define GGUF_MAX_DIMS 4
#define GGUF_MAX_NAME_BYTES 63 /* ggml's GGML_MAX_NAME is 64 including the NUL */

typedef struct tensor_info {
    char name[GGUF_MAX_NAME_BYTES + 1];
    int32_t n_dims;
    int64_t ne[GGUF_MAX_DIMS];
    ifn_dtype type;
    size_t size_bytes;
} tensor_info;

typedef struct byte_buf {
    unsigned char *data;
    size_t len;
    size_t cap;
} byte_buf;

struct ifn_gguf_writer {
    byte_buf meta;      /* encoded key/value pairs, in add order */
    size_t *kv_offsets; /* [kv_count] start of each pair in meta */
    int64_t kv_count;
    size_t kv_cap;
    tensor_info *tensors; /* [tensor_count] */
    int64_t tensor_count;
    size_t tensor_cap;
    size_t alignment;

    FILE *fp; /* non-NULL between open and close */
    char *path;
    int is_regular_file;
    int is_opened;
    int is_finished;
    int has_failed;
    uint64_t pos;       /* bytes written to the file so far */
    int64_t cur_tensor; /* tensor receiving data */
    size_t cur_written; /* its bytes written so far */
};

static const size_t g_scalar_sizes[IFN_GGUF_TYPE_COUNT] = {
    [IFN_GGUF_TYPE_UINT8] = 1,   [IFN_GGUF_TYPE_INT8] = 1,    [IFN_GGUF_TYPE_UINT16] = 2,
    [IFN_GGUF_TYPE_INT16] = 2,   [IFN_GGUF_TYPE_UINT32] = 4,  [IFN_GGUF_TYPE_INT32] = 4,
    [IFN_GGUF_TYPE_FLOAT32] = 4, [IFN_GGUF_TYPE_BOOL] = 1,    [IFN_GGUF_TYPE_UINT64] = 8,
    [IFN_GGUF_TYPE_INT64] = 8,   [IFN_GGUF_TYPE_FLOAT64] = 8,
};

/* ---- in-memory encoding ---- */

static ifn_status buf_put(byte_buf *b, const void *bytes, size_t n) {
    if (n > SIZE_MAX - b->len) return ifn_fail(IFN_E_NOMEM, "gguf writer: metadata too large");
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap = cap > SIZE_MAX / 2 ? b->len + n : cap * 2;
        unsigned char *grown = ifn_realloc(b->data, cap);
        if (!grown)
            return ifn_fail(IFN_E_NOMEM, "gguf writer: no memory for %zu bytes of metadata", cap);
        b->data = grown;
        b->cap = cap;
    }
    if (n) memcpy(b->data + b->len, bytes, n);
    b->len += n;
    return IFN_OK;
}

static ifn_status buf_u32(byte_buf *b, uint32_t v) {
    return buf_put(b, &v, sizeof v);
}

static ifn_status buf_str(byte_buf *b, ifn_str s) {
    uint64_t len = s.len;
    ifn_status st = buf_put(b, &len, sizeof len);
    return st == IFN_OK ? buf_put(b, s.ptr, s.len) : st;
}

static ifn_status put_scalar(byte_buf *b, const ifn_gguf_value *v) {
    if (v->type == IFN_GGUF_TYPE_FLOAT32) {
        float x = (float)v->as.f64;
        return buf_put(b, &x, sizeof x);
    }
    if (v->type == IFN_GGUF_TYPE_BOOL) {
        if (v->as.b != 0 && v->as.b != 1)
            return ifn_fail(IFN_E_INVALID, "gguf writer: bool value %d is not 0 or 1", v->as.b);
        unsigned char x = (unsigned char)v->as.b;
        return buf_put(b, &x, 1);
    }
    if ((unsigned)v->type >= IFN_GGUF_TYPE_COUNT || g_scalar_sizes[v->type] == 0)
        return ifn_fail(IFN_E_INVALID, "gguf writer: value type %d is not a scalar", (int)v->type);
    /* integers and float64: the low bytes of the 64-bit field (little-endian host; u64, i64
     * and f64 share the storage, and two's complement truncation keeps the low bytes) */
    return buf_put(b, &v->as.u64, g_scalar_sizes[v->type]);
}

static ifn_status put_value(byte_buf *b, const ifn_gguf_value *v, int depth);

/* Element type, count, elements: the body of an ARRAY value (also of each nested array). */
static ifn_status put_array(byte_buf *b, const ifn_gguf_array *arr, int depth) {
    if (depth >= GGUF_MAX_ARRAY_DEPTH)
        return ifn_fail(IFN_E_INVALID, "gguf writer: arrays nested deeper than %d",
                        GGUF_MAX_ARRAY_DEPTH);
    if ((unsigned)arr->elem_type >= IFN_GGUF_TYPE_COUNT)
        return ifn_fail(IFN_E_INVALID, "gguf writer: array element type %d is unknown",
                        (int)arr->elem_type);
    ifn_status st = buf_u32(b, (uint32_t)arr->elem_type);
    if (st == IFN_OK) st = buf_put(b, &arr->count, sizeof arr->count);
    if (st != IFN_OK) return st;
    if (arr->count == 0) return IFN_OK;
    if (arr->elem_type == IFN_GGUF_TYPE_STRING) {
        for (uint64_t i = 0; i < arr->count && st == IFN_OK; i++)
            st = buf_str(b, arr->strs[i]);
        return st;
    }
    if (arr->elem_type == IFN_GGUF_TYPE_ARRAY) {
        for (uint64_t i = 0; i < arr->count && st == IFN_OK; i++)
            st = put_value(b, &arr->items[i], depth + 1);
        return st;
    }
    if (arr->elem_type == IFN_GGUF_TYPE_BOOL)
        for (uint64_t i = 0; i < arr->count; i++)
            if (arr->raw[i] > 1)
                return ifn_fail(IFN_E_INVALID, "gguf writer: bool array element %llu is %u",
                                (unsigned long long)i, arr->raw[i]);
    size_t bytes;
    if (arr->count > SIZE_MAX ||
        !ifn_mul_size((size_t)arr->count, g_scalar_sizes[arr->elem_type], &bytes))
        return ifn_fail(IFN_E_INVALID, "gguf writer: array of %llu elements is too large",
                        (unsigned long long)arr->count);
    return buf_put(b, arr->raw, bytes);
}

/* The value without its type tag (which the caller wrote, or which is implied for an item). */
static ifn_status put_value(byte_buf *b, const ifn_gguf_value *v, int depth) {
    if (v->type == IFN_GGUF_TYPE_STRING) return buf_str(b, v->as.str);
    if (v->type == IFN_GGUF_TYPE_ARRAY) return put_array(b, &v->as.arr, depth);
    return put_scalar(b, v);
}

/* ---- metadata ---- */

static int key_is_set(const ifn_gguf_writer *w, ifn_str key) {
    for (int64_t i = 0; i < w->kv_count; i++) {
        uint64_t len;
        memcpy(&len, w->meta.data + w->kv_offsets[i], sizeof len);
        if (len == key.len && memcmp(w->meta.data + w->kv_offsets[i] + 8, key.ptr, key.len) == 0)
            return 1;
    }
    return 0;
}

static ifn_status check_alignment(ifn_gguf_writer *w, const ifn_gguf_value *v) {
    if (v->type != IFN_GGUF_TYPE_UINT32)
        return ifn_fail(IFN_E_INVALID, "gguf writer: general.alignment must be uint32, not %s",
                        ifn_gguf_type_name(v->type));
    uint64_t a = v->as.u64;
    if (a == 0 || a > GGUF_MAX_ALIGNMENT || (a & (a - 1)) != 0)
        return ifn_fail(IFN_E_INVALID,
                        "gguf writer: general.alignment %llu is not a power of "
                        "two up to 1 MiB",
                        (unsigned long long)a);
    w->alignment = (size_t)a;
    return IFN_OK;
}

ifn_status ifn_gguf_writer_set_value(ifn_gguf_writer *w, const char *key,
                                     const ifn_gguf_value *value) {
    ifn_str k = ifn_str_from_cstr(key);
    if (w->is_opened)
        return ifn_fail(IFN_E_INVALID, "gguf writer: metadata '%s' set after open", key);
    if (k.len == 0) return ifn_fail(IFN_E_INVALID, "gguf writer: empty metadata key");
    if ((unsigned)value->type >= IFN_GGUF_TYPE_COUNT)
        return ifn_fail(IFN_E_INVALID, "gguf writer: '%s' has unknown type %d", key,
                        (int)value->type);
    if (key_is_set(w, k))
        return ifn_fail(IFN_E_INVALID, "gguf writer: metadata key '%s' is already set", key);
    if ((size_t)w->kv_count == w->kv_cap) {
        size_t cap = w->kv_cap ? w->kv_cap * 2 : 32;
        size_t *grown = ifn_realloc(w->kv_offsets, cap * sizeof *grown);
        if (!grown) return ifn_fail(IFN_E_NOMEM, "gguf writer: no memory for metadata keys");
        w->kv_offsets = grown;
        w->kv_cap = cap;
    }
    size_t start = w->meta.len;
    size_t old_alignment = w->alignment;
    ifn_status st = IFN_OK;
    if (strcmp(key, "general.alignment") == 0) st = check_alignment(w, value);
    if (st == IFN_OK) st = buf_str(&w->meta, k);
    if (st == IFN_OK) st = buf_u32(&w->meta, (uint32_t)value->type);
    if (st == IFN_OK) st = put_value(&w->meta, value, 0);
    if (st != IFN_OK) {
        w->meta.len = start; /* drop the partial pair */
        w->alignment = old_alignment;
        return st;
    }
    w->kv_offsets[w->kv_count++] = start;
    return IFN_OK;
}

static ifn_status set_uint(ifn_gguf_writer *w, const char *key, ifn_gguf_type type, uint64_t v) {
    ifn_gguf_value value = {.type = type, .as.u64 = v};
    return ifn_gguf_writer_set_value(w, key, &value);
}

static ifn_status set_int(ifn_gguf_writer *w, const char *key, ifn_gguf_type type, int64_t v) {
    ifn_gguf_value value = {.type = type, .as.i64 = v};
    return ifn_gguf_writer_set_value(w, key, &value);
}

ifn_status ifn_gguf_writer_set_u8(ifn_gguf_writer *w, const char *key, uint8_t value) {
    return set_uint(w, key, IFN_GGUF_TYPE_UINT8, value);
}
ifn_status ifn_gguf_writer_set_i8(ifn_gguf_writer *w, const char *key, int8_t value) {
    return set_int(w, key, IFN_GGUF_TYPE_INT8, value);
}
ifn_status ifn_gguf_writer_set_u16(ifn_gguf_writer *w, const char *key, uint16_t value) {
    return set_uint(w, key, IFN_GGUF_TYPE_UINT16, value);
}
ifn_status ifn_gguf_writer_set_i16(ifn_gguf_writer *w, const char *key, int16_t value) {
    return set_int(w, key, IFN_GGUF_TYPE_INT16, value);
}
ifn_status ifn_gguf_writer_set_u32(ifn_gguf_writer *w, const char *key, uint32_t value) {
    return set_uint(w, key, IFN_GGUF_TYPE_UINT32, value);
}
ifn_status ifn_gguf_writer_set_i32(ifn_gguf_writer *w, const char *key, int32_t value) {
    return set_int(w, key, IFN_GGUF_TYPE_INT32, value);
}
ifn_status ifn_gguf_writer_set_u64(ifn_gguf_writer *w, const char *key, uint64_t value) {
    return set_uint(w, key, IFN_GGUF_TYPE_UINT64, value);
}
ifn_status ifn_gguf_writer_set_i64(ifn_gguf_writer *w, const char *key, int64_t value) {
    return set_int(w, key, IFN_GGUF_TYPE_INT64, value);
}

ifn_status ifn_gguf_writer_set_f32(ifn_gguf_writer *w, const char *key, float value) {
    ifn_gguf_value v = {.type = IFN_GGUF_TYPE_FLOAT32, .as.f64 = value};
    return ifn_gguf_writer_set_value(w, key, &v);
}

ifn_status ifn_gguf_writer_set_f64(ifn_gguf_writer *w, const char *key, double value) {
    ifn_gguf_value v = {.type = IFN_GGUF_TYPE_FLOAT64, .as.f64 = value};
    return ifn_gguf_writer_set_value(w, key, &v);
}

ifn_status ifn_gguf_writer_set_bool(ifn_gguf_writer *w, const char *key, int value) {
    ifn_gguf_value v = {.type = IFN_GGUF_TYPE_BOOL, .as.b = value != 0};
    return ifn_gguf_writer_set_value(w, key, &v);
}

ifn_status ifn_gguf_writer_set_string(ifn_gguf_writer *w, const char *key, ifn_str value) {
    ifn_gguf_value v = {.type = IFN_GGUF_TYPE_STRING, .as.str = value};
    return ifn_gguf_writer_set_value(w, key, &v);
}

ifn_status ifn_gguf_writer_set_array(ifn_gguf_writer *w, const char *key, ifn_gguf_type elem_type,
                                     const void *elems, uint64_t count) {
    if ((unsigned)elem_type >= IFN_GGUF_TYPE_COUNT || elem_type == IFN_GGUF_TYPE_STRING ||
        elem_type == IFN_GGUF_TYPE_ARRAY)
        return ifn_fail(IFN_E_INVALID, "gguf writer: '%s': set_array takes scalar elements", key);
    ifn_gguf_value v = {.type = IFN_GGUF_TYPE_ARRAY};
    v.as.arr.elem_type = elem_type;
    v.as.arr.count = count;
    v.as.arr.raw = elems;
    return ifn_gguf_writer_set_value(w, key, &v);
}

ifn_status ifn_gguf_writer_set_string_array(ifn_gguf_writer *w, const char *key,
                                            const ifn_str *strs, uint64_t count) {
    ifn_gguf_value v = {.type = IFN_GGUF_TYPE_ARRAY};
    v.as.arr.elem_type = IFN_GGUF_TYPE_STRING;
    v.as.arr.count = count;
    v.as.arr.strs = strs;
    return ifn_gguf_writer_set_value(w, key, &v);
}

ifn_status ifn_gguf_writer_copy_kv(ifn_gguf_writer *w, const ifn_gguf *src, const char *key) {
    const ifn_gguf_kv *kv = ifn_gguf_find(src, key);
    if (!kv) return ifn_fail(IFN_E_INVALID, "gguf writer: source has no metadata key '%s'", key);
    return ifn_gguf_writer_set_value(w, key, &kv->value);
}

/* ---- tensors ---- */

static ifn_status check_shape(const char *name, int32_t n_dims, const int64_t *ne, ifn_dtype type,
                              size_t *out_size) {
    const ifn_dtype_info *info = ifn_dtype_get_info((uint32_t)type);
    if (!info || !info->name)
        return ifn_fail(IFN_E_INVALID, "gguf writer: tensor '%s' has unknown type %d", name,
                        (int)type);
    if (n_dims < 1 || n_dims > GGUF_MAX_DIMS)
        return ifn_fail(IFN_E_INVALID, "gguf writer: tensor '%s' has %d dimensions", name,
                        (int)n_dims);
    size_t rows = 1;
    for (int32_t d = 0; d < n_dims; d++) {
        if (ne[d] < 0 || (d > 0 && !ifn_mul_size(rows, (size_t)ne[d], &rows)))
            return ifn_fail(IFN_E_INVALID, "gguf writer: tensor '%s' has a bad dimension %d", name,
                            (int)d);
    }
    if (ne[0] % info->block_elems != 0)
        return ifn_fail(IFN_E_INVALID,
                        "gguf writer: tensor '%s' rows of %lld are not whole %s "
                        "blocks of %d",
                        name, (long long)ne[0], info->name, info->block_elems);
    size_t row_bytes = (size_t)(ne[0] / info->block_elems) * (size_t)info->block_bytes;
    if (!ifn_mul_size(row_bytes, rows, out_size) || *out_size > SIZE_MAX / 2)
        return ifn_fail(IFN_E_INVALID, "gguf writer: tensor '%s' is too large", name);
    return IFN_OK;
}

ifn_status ifn_gguf_writer_add_tensor(ifn_gguf_writer *w, const char *name, int32_t n_dims,
                                      const int64_t *ne, ifn_dtype type) {
    size_t name_len = strlen(name);
    if (w->is_opened)
        return ifn_fail(IFN_E_INVALID, "gguf writer: tensor '%s' added after open", name);
    if (name_len == 0 || name_len > GGUF_MAX_NAME_BYTES)
        return ifn_fail(IFN_E_INVALID, "gguf writer: tensor name '%s' must be 1..%d bytes", name,
                        GGUF_MAX_NAME_BYTES);
    for (int64_t i = 0; i < w->tensor_count; i++)
        if (strcmp(w->tensors[i].name, name) == 0)
            return ifn_fail(IFN_E_INVALID, "gguf writer: tensor '%s' added twice", name);
    size_t size = 0;
    ifn_status st = check_shape(name, n_dims, ne, type, &size);
    if (st != IFN_OK) return st;
    if ((size_t)w->tensor_count == w->tensor_cap) {
        size_t cap = w->tensor_cap ? w->tensor_cap * 2 : 64;
        tensor_info *grown = ifn_realloc(w->tensors, cap * sizeof *grown);
        if (!grown) return ifn_fail(IFN_E_NOMEM, "gguf writer: no memory for tensor infos");
        w->tensors = grown;
        w->tensor_cap = cap;
    }
    tensor_info *t = &w->tensors[w->tensor_count++];
    memset(t, 0, sizeof *t);
    memcpy(t->name, name, name_len);
    t->n_dims = n_dims;
    for (int d = 0; d < GGUF_MAX_DIMS; d++)
        t->ne[d] = d < n_dims ? ne[d] : 1;
    t->type = type;
    t->size_bytes = size;
    return IFN_OK;
}

int64_t ifn_gguf_writer_tensor_count(const ifn_gguf_writer *w) {
    return w->tensor_count;
}

size_t ifn_gguf_writer_tensor_bytes(const ifn_gguf_writer *w, int64_t index) {
    IFN_ASSERT(index >= 0 && index < w->tensor_count);
    return w->tensors[index].size_bytes;
}

/* ---- file output ---- */

static ifn_status write_bytes(ifn_gguf_writer *w, const void *data, size_t n) {
    if (n && fwrite(data, 1, n, w->fp) != n) {
        w->has_failed = 1;
        return ifn_fail(IFN_E_IO, "gguf writer: writing %s failed: %s", w->path, strerror(errno));
    }
    w->pos += n;
    return IFN_OK;
}

static ifn_status write_padding(ifn_gguf_writer *w) {
    static const unsigned char zeros[4096];
    ifn_status st = IFN_OK;
    size_t pad = (size_t)((w->alignment - w->pos % w->alignment) % w->alignment);
    while (pad > 0 && st == IFN_OK) {
        size_t n = pad < sizeof zeros ? pad : sizeof zeros;
        st = write_bytes(w, zeros, n);
        pad -= n;
    }
    return st;
}

static size_t padded(const ifn_gguf_writer *w, size_t n) {
    return n + (w->alignment - n % w->alignment) % w->alignment;
}

static ifn_status write_tensor_infos(ifn_gguf_writer *w) {
    uint64_t offset = 0;
    ifn_status st = IFN_OK;
    for (int64_t i = 0; i < w->tensor_count && st == IFN_OK; i++) {
        const tensor_info *t = &w->tensors[i];
        uint64_t name_len = strlen(t->name);
        uint32_t n_dims = (uint32_t)t->n_dims, type = (uint32_t)t->type;
        st = write_bytes(w, &name_len, 8);
        if (st == IFN_OK) st = write_bytes(w, t->name, (size_t)name_len);
        if (st == IFN_OK) st = write_bytes(w, &n_dims, 4);
        for (uint32_t d = 0; d < n_dims && st == IFN_OK; d++)
            st = write_bytes(w, &t->ne[d], 8);
        if (st == IFN_OK) st = write_bytes(w, &type, 4);
        if (st == IFN_OK) st = write_bytes(w, &offset, 8);
        if (offset > UINT64_MAX / 2 - padded(w, t->size_bytes))
            return ifn_fail(IFN_E_INVALID, "gguf writer: tensor data exceeds 2^63 bytes");
        offset += padded(w, t->size_bytes);
    }
    return st;
}

static ifn_status write_header(ifn_gguf_writer *w) {
    uint32_t version = GGUF_VERSION;
    uint64_t n_tensors = (uint64_t)w->tensor_count, n_kv = (uint64_t)w->kv_count;
    ifn_status st = write_bytes(w, "GGUF", 4);
    if (st == IFN_OK) st = write_bytes(w, &version, 4);
    if (st == IFN_OK) st = write_bytes(w, &n_tensors, 8);
    if (st == IFN_OK) st = write_bytes(w, &n_kv, 8);
    if (st == IFN_OK) st = write_bytes(w, w->meta.data, w->meta.len);
    if (st == IFN_OK) st = write_tensor_infos(w);
    if (st == IFN_OK) st = write_padding(w);
    return st;
}

ifn_status ifn_gguf_writer_open(ifn_gguf_writer *w, const char *path) {
    if (w->is_opened) return ifn_fail(IFN_E_INVALID, "gguf writer: opened twice");
    w->path = ifn_strndup(path, strlen(path));
    if (!w->path) return ifn_fail(IFN_E_NOMEM, "gguf writer: no memory for the path");
    w->is_opened = 1;
    w->fp = fopen(path, "wb");
    if (!w->fp) {
        w->has_failed = 1;
        return ifn_fail(IFN_E_IO, "gguf writer: cannot create %s: %s", path, strerror(errno));
    }
    struct stat sb;
    w->is_regular_file = fstat(fileno(w->fp), &sb) == 0 && S_ISREG(sb.st_mode);
    setvbuf(w->fp, NULL, _IOFBF, 1 << 20);
    return write_header(w);
}

/* Moves past the finished tensor (and zero-size ones), padding after each. */
static ifn_status advance_tensors(ifn_gguf_writer *w) {
    ifn_status st = IFN_OK;
    while (st == IFN_OK && w->cur_tensor < w->tensor_count &&
           w->cur_written == w->tensors[w->cur_tensor].size_bytes) {
        st = write_padding(w);
        w->cur_tensor++;
        w->cur_written = 0;
    }
    return st;
}

static ifn_status check_writable(const ifn_gguf_writer *w) {
    if (!w->is_opened || w->is_finished) return ifn_fail(IFN_E_INVALID, "gguf writer: not open");
    if (w->has_failed || !w->fp)
        return ifn_fail(IFN_E_INVALID, "gguf writer: %s failed earlier", w->path);
    return IFN_OK;
}

ifn_status ifn_gguf_writer_write(ifn_gguf_writer *w, const void *data, size_t size) {
    ifn_status st = check_writable(w);
    const unsigned char *bytes = data;
    if (st == IFN_OK) st = advance_tensors(w);
    while (st == IFN_OK && size > 0) {
        if (w->cur_tensor >= w->tensor_count) {
            w->has_failed = 1;
            return ifn_fail(IFN_E_INVALID,
                            "gguf writer: %zu bytes written past the last tensor "
                            "of %s",
                            size, w->path);
        }
        size_t left = w->tensors[w->cur_tensor].size_bytes - w->cur_written;
        size_t n = size < left ? size : left;
        st = write_bytes(w, bytes, n);
        bytes += n;
        size -= n;
        w->cur_written += n;
        if (st == IFN_OK) st = advance_tensors(w);
    }
    return st;
}

ifn_status ifn_gguf_writer_close(ifn_gguf_writer *w) {
    ifn_status st = check_writable(w);
    if (st == IFN_OK) st = advance_tensors(w);
    if (st != IFN_OK) return st;
    if (w->cur_tensor < w->tensor_count) {
        const tensor_info *t = &w->tensors[w->cur_tensor];
        return ifn_fail(IFN_E_INVALID, "gguf writer: tensor '%s' got %zu of its %zu bytes", t->name,
                        w->cur_written, t->size_bytes);
    }
    int flush_failed = fflush(w->fp) != 0;
    int flush_errno = errno;
    int close_failed = fclose(w->fp) != 0;
    w->fp = NULL;
    if (flush_failed || close_failed) {
        w->has_failed = 1;
        return ifn_fail(IFN_E_IO, "gguf writer: writing %s failed: %s", w->path,
                        strerror(flush_failed ? flush_errno : errno));
    }
    w->is_finished = 1;
    return IFN_OK;
}

ifn_status ifn_gguf_writer_create(ifn_gguf_writer **out_writer) {
    ifn_gguf_writer *w = ifn_calloc(1, sizeof *w);
    if (!w) return ifn_fail(IFN_E_NOMEM, "gguf writer: no memory");
    w->alignment = GGUF_DEFAULT_ALIGNMENT;
    *out_writer = w;
    return IFN_OK;
}

void ifn_gguf_writer_destroy(ifn_gguf_writer *w) {
    if (!w) return;
    if (w->fp) fclose(w->fp);
    if (w->is_opened && !w->is_finished && w->is_regular_file) remove(w->path);
    ifn_free(w->path);
    ifn_free(w->meta.data);
    ifn_free(w->kv_offsets);
    ifn_free(w->tensors);
    ifn_free(w);
}
