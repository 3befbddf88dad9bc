/* GGUF v3 writer. Metadata and tensor descriptions are collected in memory first (they are
 * small); ifn_gguf_writer_open then writes the header and streams tensor data straight to the
 * file in the order the tensors were added, so a multi-gigabyte model never sits in memory.
 * Layout matches llama.cpp's gguf writer: data section and every tensor padded to the alignment
 * (general.alignment, default 32). It does not reorder, deduplicate or convert anything.
 * One owner at a time (not thread-safe). */
#ifndef IFN_MODEL_GGUF_WRITER_H
#define IFN_MODEL_GGUF_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "inferneo/status.h"
#include "kernels/dtype.h"
#include "model/gguf.h"
#include "util/str.h"

typedef struct ifn_gguf_writer ifn_gguf_writer;

/* An empty writer. Errors: IFN_E_NOMEM. */
ifn_status ifn_gguf_writer_create(ifn_gguf_writer **out_writer);

/* Frees the writer. If a file was opened and ifn_gguf_writer_close did not succeed, the file
 * is closed and, when it is a regular file, removed, so no truncated GGUF is left behind.
 * NULL does nothing. */
void ifn_gguf_writer_destroy(ifn_gguf_writer *writer);

/* Metadata setters, all called before ifn_gguf_writer_open; keys are NUL-terminated and copied,
 * in the order added. Errors: IFN_E_INVALID (empty key, key already set, called after open,
 * general.alignment not a UINT32 power of two), IFN_E_NOMEM. */
ifn_status ifn_gguf_writer_set_u8(ifn_gguf_writer *w, const char *key, uint8_t value);
ifn_status ifn_gguf_writer_set_i8(ifn_gguf_writer *w, const char *key, int8_t value);
ifn_status ifn_gguf_writer_set_u16(ifn_gguf_writer *w, const char *key, uint16_t value);
ifn_status ifn_gguf_writer_set_i16(ifn_gguf_writer *w, const char *key, int16_t value);
ifn_status ifn_gguf_writer_set_u32(ifn_gguf_writer *w, const char *key, uint32_t value);
ifn_status ifn_gguf_writer_set_i32(ifn_gguf_writer *w, const char *key, int32_t value);
ifn_status ifn_gguf_writer_set_u64(ifn_gguf_writer *w, const char *key, uint64_t value);
ifn_status ifn_gguf_writer_set_i64(ifn_gguf_writer *w, const char *key, int64_t value);
ifn_status ifn_gguf_writer_set_f32(ifn_gguf_writer *w, const char *key, float value);
ifn_status ifn_gguf_writer_set_f64(ifn_gguf_writer *w, const char *key, double value);
ifn_status ifn_gguf_writer_set_bool(ifn_gguf_writer *w, const char *key, int value);
ifn_status ifn_gguf_writer_set_string(ifn_gguf_writer *w, const char *key, ifn_str value);

/* An array of `count` scalars of `elem_type` (any type but STRING and ARRAY; BOOL elements
 * are bytes 0/1), packed in host (little-endian) order at `elems`. Also IFN_E_INVALID for a
 * STRING/ARRAY element type or a bool byte other than 0/1. */
ifn_status ifn_gguf_writer_set_array(ifn_gguf_writer *w, const char *key, ifn_gguf_type elem_type,
                                     const void *elems, uint64_t count);
ifn_status ifn_gguf_writer_set_string_array(ifn_gguf_writer *w, const char *key,
                                            const ifn_str *strs, uint64_t count);

/* Any value as the reader returns it (nested arrays included), copied. */
ifn_status ifn_gguf_writer_set_value(ifn_gguf_writer *w, const char *key,
                                     const ifn_gguf_value *value);

/* Copies the key/value `key` of an open GGUF (e.g. a vocabulary) into the writer. Also
 * IFN_E_INVALID when `src` has no such key. */
ifn_status ifn_gguf_writer_copy_kv(ifn_gguf_writer *w, const ifn_gguf *src, const char *key);

/* Declares the next tensor: name (< 64 bytes, unique), 1..4 dims with ne[0] the fastest
 * (elements per row, a whole number of `type` blocks). Data for it is written later, in the
 * order tensors were added. Errors: IFN_E_INVALID (bad name, shape or type, called after open),
 * IFN_E_NOMEM. */
ifn_status ifn_gguf_writer_add_tensor(ifn_gguf_writer *w, const char *name, int32_t n_dims,
                                      const int64_t *ne, ifn_dtype type);

/* Bytes of tensor data the tensor at `index` (in add order) takes, before padding. */
size_t ifn_gguf_writer_tensor_bytes(const ifn_gguf_writer *w, int64_t index);
int64_t ifn_gguf_writer_tensor_count(const ifn_gguf_writer *w);

/* Creates/truncates `path` and writes header, metadata, tensor infos and the padding before the
 * data section. After this only ifn_gguf_writer_write and _close are allowed.
 * Errors: IFN_E_IO (open or write failed; the message names the path), IFN_E_INVALID (called
 * twice). */
ifn_status ifn_gguf_writer_open(ifn_gguf_writer *w, const char *path);

/* Appends `size` bytes of tensor data: the bytes continue the current tensor and spill into the
 * next ones, padding inserted between tensors, so a caller may write a tensor row by row or
 * several tensors at once. Errors: IFN_E_IO (write failed), IFN_E_INVALID (not open, more
 * bytes than the declared tensors hold, or an earlier error). */
ifn_status ifn_gguf_writer_write(ifn_gguf_writer *w, const void *data, size_t size);

/* Checks that every tensor got all its bytes, pads the last one, flushes and closes the file.
 * Errors: IFN_E_INVALID (missing data; the message names the tensor), IFN_E_IO (flush/close
 * failed, e.g. disk full). */
ifn_status ifn_gguf_writer_close(ifn_gguf_writer *w);

#endif
