/* GGUF v2/v3 reader. The whole file is mapped read-only; metadata strings, arrays and tensor
 * data are views into the map (valid until ifn_gguf_close). Every count, length, offset and size
 * is validated against the file size before use, so a hostile file yields IFN_E_FORMAT with a
 * message naming the problem, never an out-of-bounds read or a huge allocation.
 * An ifn_gguf is immutable after open: concurrent readers are safe. */
#ifndef IFN_MODEL_GGUF_H
#define IFN_MODEL_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "inferneo/status.h"
#include "kernels/dtype.h"
#include "util/str.h"

typedef enum ifn_gguf_type {
    IFN_GGUF_TYPE_UINT8 = 0,
    IFN_GGUF_TYPE_INT8 = 1,
    IFN_GGUF_TYPE_UINT16 = 2,
    IFN_GGUF_TYPE_INT16 = 3,
    IFN_GGUF_TYPE_UINT32 = 4,
    IFN_GGUF_TYPE_INT32 = 5,
    IFN_GGUF_TYPE_FLOAT32 = 6,
    IFN_GGUF_TYPE_BOOL = 7,
    IFN_GGUF_TYPE_STRING = 8,
    IFN_GGUF_TYPE_ARRAY = 9,
    IFN_GGUF_TYPE_UINT64 = 10,
    IFN_GGUF_TYPE_INT64 = 11,
    IFN_GGUF_TYPE_FLOAT64 = 12,
    IFN_GGUF_TYPE_COUNT = 13,
} ifn_gguf_type;

typedef struct ifn_gguf_value ifn_gguf_value;

/* An array value. Exactly one of the element views is used, by elem_type:
 * scalars -> `raw` (count * element size little-endian bytes in the file, maybe unaligned),
 * STRING -> `strs` (count views), ARRAY -> `items` (count nested values). */
typedef struct ifn_gguf_array {
    ifn_gguf_type elem_type;
    uint64_t count;
    const unsigned char *raw;
    const ifn_str *strs;
    const ifn_gguf_value *items;
} ifn_gguf_array;

struct ifn_gguf_value {
    ifn_gguf_type type;
    union {
        uint64_t u64; /* UINT8..UINT64 */
        int64_t i64;  /* INT8..INT64 */
        double f64;   /* FLOAT32, FLOAT64 */
        int b;        /* BOOL (0 or 1) */
        ifn_str str;  /* STRING */
        ifn_gguf_array arr;
    } as;
};

typedef struct ifn_gguf_kv {
    ifn_str key;
    ifn_gguf_value value;
} ifn_gguf_kv;

typedef struct ifn_gguf_tensor {
    ifn_str name;
    int32_t n_dims;      /* 1..4 */
    int64_t ne[4];       /* ne[0] = elements per row (fastest); unused dims are 1 */
    ifn_dtype type;
    uint64_t offset;     /* from the start of the data section */
    size_t size_bytes;
    const void *data;    /* into the map, aligned to the file's alignment */
} ifn_gguf_tensor;

typedef struct ifn_gguf ifn_gguf;

/* Maps and parses `path`. Errors: IFN_E_IO (open/map), IFN_E_FORMAT (malformed, message names
 * the field), IFN_E_UNSUPPORTED (version 1, unknown tensor type id), IFN_E_NOMEM. */
ifn_status ifn_gguf_open(const char *path, ifn_gguf **out_gguf);

/* Parses a GGUF image already in memory; `data` is borrowed and must outlive the result. */
ifn_status ifn_gguf_open_memory(const void *data, size_t size, ifn_gguf **out_gguf);

void ifn_gguf_close(ifn_gguf *gguf);

uint32_t ifn_gguf_version(const ifn_gguf *gguf);
size_t ifn_gguf_alignment(const ifn_gguf *gguf);
size_t ifn_gguf_file_size(const ifn_gguf *gguf);

int64_t ifn_gguf_kv_count(const ifn_gguf *gguf);
const ifn_gguf_kv *ifn_gguf_kv_at(const ifn_gguf *gguf, int64_t index);
/* NULL if absent. */
const ifn_gguf_kv *ifn_gguf_find(const ifn_gguf *gguf, const char *key);

int64_t ifn_gguf_tensor_count(const ifn_gguf *gguf);
const ifn_gguf_tensor *ifn_gguf_tensor_at(const ifn_gguf *gguf, int64_t index);
/* NULL if absent. */
const ifn_gguf_tensor *ifn_gguf_find_tensor(const ifn_gguf *gguf, const char *name);

/* Typed reads of a value. Integers of any width/sign convert when the value fits (else
 * IFN_E_FORMAT); floats accept FLOAT32/FLOAT64 and integers. A wrong type is IFN_E_FORMAT with a
 * message naming the type found. */
ifn_status ifn_gguf_value_int(const ifn_gguf_value *value, int64_t *out);
ifn_status ifn_gguf_value_float(const ifn_gguf_value *value, double *out);
ifn_status ifn_gguf_value_bool(const ifn_gguf_value *value, int *out);
ifn_status ifn_gguf_value_string(const ifn_gguf_value *value, ifn_str *out);
ifn_status ifn_gguf_value_array(const ifn_gguf_value *value, ifn_gguf_array *out);

/* Element `index` of a scalar array as int64/double (IFN_E_FORMAT on a type mismatch, out of
 * range index is a caller bug). */
ifn_status ifn_gguf_array_int(const ifn_gguf_array *arr, uint64_t index, int64_t *out);
ifn_status ifn_gguf_array_float(const ifn_gguf_array *arr, uint64_t index, double *out);

/* Convenience lookups: IFN_OK and *out when present and well-typed, IFN_E_FORMAT when the type
 * is wrong, and `fallback` copied to *out with IFN_OK when the key is absent. */
ifn_status ifn_gguf_get_int(const ifn_gguf *gguf, const char *key, int64_t fallback, int64_t *out);
ifn_status ifn_gguf_get_float(const ifn_gguf *gguf, const char *key, double fallback, double *out);
ifn_status ifn_gguf_get_bool(const ifn_gguf *gguf, const char *key, int fallback, int *out);
/* Absent keys give an empty view with ptr NULL. */
ifn_status ifn_gguf_get_string(const ifn_gguf *gguf, const char *key, ifn_str *out);

const char *ifn_gguf_type_name(ifn_gguf_type type);

#endif
