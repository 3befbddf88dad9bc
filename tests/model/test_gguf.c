/* Tests of the GGUF reader on images built in memory (tests/support/gguf_builder.h): every
 * metadata value type, nested arrays, v2 and v3, alignments 32 and 64, tensors of several types;
 * then one broken field at a time, each of which must be refused with IFN_E_FORMAT or
 * IFN_E_UNSUPPORTED and a message, never a crash (CI runs this under ASan+UBSan; every image
 * is parsed from a block of exactly its size). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "model/gguf.h"
#include "support/gguf_builder.h"
#include "util/status.h"

/* A parsed image and the exact-size copy it points into. */
typedef struct parsed {
    unsigned char *copy;
    ifn_gguf *g;
} parsed;

static void parse_ok(const gguf_builder *b, parsed *p) {
    p->copy = gb_exact_copy(b);
    p->g = NULL;
    ifn_status st = ifn_gguf_open_memory(p->copy, b->len, &p->g);
    if (st != IFN_OK) print_message("unexpected error: %s\n", ifn_last_error());
    assert_int_equal(st, IFN_OK);
    assert_non_null(p->g);
}

static void parsed_free(parsed *p) {
    ifn_gguf_close(p->g);
    free(p->copy);
}

/* Parses from an exact-size copy; returns the status after checking that a failure came with
 * a message and a success with a handle. */
static ifn_status try_parse(const unsigned char *image, size_t len) {
    unsigned char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len) memcpy(copy, image, len);
    ifn_clear_error();
    ifn_gguf *g = NULL;
    ifn_status st = ifn_gguf_open_memory(copy, len, &g);
    if (st == IFN_OK) {
        assert_non_null(g);
        ifn_gguf_close(g);
    } else {
        assert_true(strlen(ifn_last_error()) > 0);
    }
    free(copy);
    return st;
}

/* The image must be refused with `want` (or either refusal code when want is IFN_OK). */
static void expect_rejected(const gguf_builder *b, ifn_status want, const char *what) {
    ifn_status st = try_parse(b->data, b->len);
    if (want == IFN_OK ? (st != IFN_E_FORMAT && st != IFN_E_UNSUPPORTED) : st != want) {
        print_message("%s: got %s (%s)\n", what, ifn_status_str(st), ifn_last_error());
        fail();
    }
}

static int str_is(ifn_str s, const char *want) {
    return ifn_str_eq_cstr(s, want);
}

/* ---------------------------------------------------------------- metadata values */

#define N_SCALAR_KVS 14

static void put_scalar_kvs(gguf_builder *b) {
    gb_kv(b, "t.u8", GB_UINT8), gb_u8(b, 200);
    gb_kv(b, "t.i8", GB_INT8), gb_u8(b, (uint8_t)(int8_t)-100);
    gb_kv(b, "t.u16", GB_UINT16), gb_u16(b, 60000);
    gb_kv(b, "t.i16", GB_INT16), gb_u16(b, (uint16_t)(int16_t)-30000);
    gb_kv(b, "t.u32", GB_UINT32), gb_u32(b, 4000000000u);
    gb_kv(b, "t.i32", GB_INT32), gb_u32(b, (uint32_t)(int32_t)-2000000000);
    gb_kv(b, "t.f32", GB_FLOAT32), gb_f32(b, 1.5f);
    gb_kv(b, "t.bool_true", GB_BOOL), gb_u8(b, 1);
    gb_kv(b, "t.bool_false", GB_BOOL), gb_u8(b, 0);
    gb_kv_str(b, "t.str", "h\xc3\xa9llo");
    gb_kv_str(b, "t.empty_str", "");
    gb_kv(b, "t.u64", GB_UINT64), gb_u64(b, UINT64_MAX);
    gb_kv(b, "t.i64", GB_INT64), gb_u64(b, (uint64_t)INT64_MIN);
    gb_kv(b, "t.f64", GB_FLOAT64), gb_f64(b, -2.25e300);
}

#define N_ARRAY_KVS 15

static void put_array_kvs(gguf_builder *b) {
    gb_kv(b, "a.u8", GB_ARRAY), gb_array(b, GB_UINT8, 3), gb_u8(b, 1), gb_u8(b, 2), gb_u8(b, 255);
    gb_kv(b, "a.i8", GB_ARRAY), gb_array(b, GB_INT8, 2), gb_u8(b, 0x80), gb_u8(b, 0x7f);
    gb_kv(b, "a.u16", GB_ARRAY), gb_array(b, GB_UINT16, 1), gb_u16(b, 65535);
    gb_kv(b, "a.i16", GB_ARRAY), gb_array(b, GB_INT16, 2), gb_u16(b, 0xffff), gb_u16(b, 7);
    gb_kv(b, "a.u32", GB_ARRAY), gb_array(b, GB_UINT32, 1), gb_u32(b, 123456789);
    gb_kv(b, "a.i32", GB_ARRAY), gb_array(b, GB_INT32, 2), gb_u32(b, (uint32_t)-5), gb_u32(b, 5);
    gb_kv(b, "a.f32", GB_ARRAY), gb_array(b, GB_FLOAT32, 2), gb_f32(b, 0.5f), gb_f32(b, -1.0f);
    gb_kv(b, "a.bool", GB_ARRAY), gb_array(b, GB_BOOL, 3), gb_u8(b, 1), gb_u8(b, 0), gb_u8(b, 1);
    gb_kv(b, "a.u64", GB_ARRAY), gb_array(b, GB_UINT64, 1), gb_u64(b, 1ull << 40);
    gb_kv(b, "a.i64", GB_ARRAY), gb_array(b, GB_INT64, 1), gb_u64(b, (uint64_t)-3);
    gb_kv(b, "a.f64", GB_ARRAY), gb_array(b, GB_FLOAT64, 1), gb_f64(b, 0.125);
    gb_kv(b, "a.str", GB_ARRAY), gb_array(b, GB_STRING, 3);
    gb_str(b, "a"), gb_str(b, ""), gb_str(b, "ccc");
    gb_kv(b, "a.empty", GB_ARRAY), gb_array(b, GB_UINT32, 0);
    /* [["x", "yy"], []] */
    gb_kv(b, "a.nested_str", GB_ARRAY), gb_array(b, GB_ARRAY, 2);
    gb_array(b, GB_STRING, 2), gb_str(b, "x"), gb_str(b, "yy");
    gb_array(b, GB_STRING, 0);
    /* [[1, 2, 3], [[7]]]: int32s, then an array holding an array of one uint16 */
    gb_kv(b, "a.nested_int", GB_ARRAY), gb_array(b, GB_ARRAY, 2);
    gb_array(b, GB_INT32, 3), gb_u32(b, 1), gb_u32(b, 2), gb_u32(b, 3);
    gb_array(b, GB_ARRAY, 1), gb_array(b, GB_UINT16, 1), gb_u16(b, 7);
}

static void build_all_values(gguf_builder *b, uint32_t version) {
    gb_init(b);
    gb_header(b, version, 0, N_SCALAR_KVS + N_ARRAY_KVS);
    put_scalar_kvs(b);
    put_array_kvs(b);
}

static const ifn_gguf_value *value_of(const ifn_gguf *g, const char *key) {
    const ifn_gguf_kv *kv = ifn_gguf_find(g, key);
    if (!kv) print_message("missing key %s\n", key);
    assert_non_null(kv);
    assert_true(str_is(kv->key, key));
    return &kv->value;
}

static void check_scalars(const ifn_gguf *g) {
    assert_int_equal(value_of(g, "t.u8")->type, IFN_GGUF_TYPE_UINT8);
    assert_int_equal(value_of(g, "t.u8")->as.u64, 200);
    assert_int_equal(value_of(g, "t.i8")->as.i64, -100);
    assert_int_equal(value_of(g, "t.u16")->as.u64, 60000);
    assert_int_equal(value_of(g, "t.i16")->as.i64, -30000);
    assert_int_equal(value_of(g, "t.u32")->as.u64, 4000000000u);
    assert_int_equal(value_of(g, "t.i32")->as.i64, -2000000000);
    assert_int_equal(value_of(g, "t.f32")->type, IFN_GGUF_TYPE_FLOAT32);
    assert_true(value_of(g, "t.f32")->as.f64 == 1.5);
    assert_int_equal(value_of(g, "t.bool_true")->as.b, 1);
    assert_int_equal(value_of(g, "t.bool_false")->as.b, 0);
    assert_true(str_is(value_of(g, "t.str")->as.str, "h\xc3\xa9llo"));
    assert_int_equal(value_of(g, "t.empty_str")->as.str.len, 0);
    assert_true(value_of(g, "t.u64")->as.u64 == UINT64_MAX);
    assert_true(value_of(g, "t.i64")->as.i64 == INT64_MIN);
    assert_true(value_of(g, "t.f64")->as.f64 == -2.25e300);
}

static void check_flat_arrays(const ifn_gguf *g) {
    const ifn_gguf_array *a = &value_of(g, "a.u8")->as.arr;
    assert_int_equal(a->elem_type, IFN_GGUF_TYPE_UINT8);
    assert_int_equal(a->count, 3);
    assert_memory_equal(a->raw, "\x01\x02\xff", 3);
    int64_t v = 0;
    double f = 0;
    assert_int_equal(ifn_gguf_array_int(&value_of(g, "a.i8")->as.arr, 0, &v), IFN_OK);
    assert_int_equal(v, -128);
    assert_int_equal(ifn_gguf_array_int(&value_of(g, "a.u16")->as.arr, 0, &v), IFN_OK);
    assert_int_equal(v, 65535);
    assert_int_equal(ifn_gguf_array_int(&value_of(g, "a.i16")->as.arr, 0, &v), IFN_OK);
    assert_int_equal(v, -1);
    assert_int_equal(ifn_gguf_array_int(&value_of(g, "a.u32")->as.arr, 0, &v), IFN_OK);
    assert_int_equal(v, 123456789);
    assert_int_equal(ifn_gguf_array_int(&value_of(g, "a.i32")->as.arr, 0, &v), IFN_OK);
    assert_int_equal(v, -5);
    assert_int_equal(ifn_gguf_array_float(&value_of(g, "a.f32")->as.arr, 1, &f), IFN_OK);
    assert_true(f == -1.0);
    assert_memory_equal(value_of(g, "a.bool")->as.arr.raw, "\x01\x00\x01", 3);
    assert_int_equal(ifn_gguf_array_int(&value_of(g, "a.u64")->as.arr, 0, &v), IFN_OK);
    assert_int_equal(v, 1ll << 40);
    assert_int_equal(ifn_gguf_array_int(&value_of(g, "a.i64")->as.arr, 0, &v), IFN_OK);
    assert_int_equal(v, -3);
    assert_int_equal(ifn_gguf_array_float(&value_of(g, "a.f64")->as.arr, 0, &f), IFN_OK);
    assert_true(f == 0.125);
    a = &value_of(g, "a.str")->as.arr;
    assert_int_equal(a->elem_type, IFN_GGUF_TYPE_STRING);
    assert_int_equal(a->count, 3);
    assert_true(str_is(a->strs[0], "a") && a->strs[1].len == 0 && str_is(a->strs[2], "ccc"));
    assert_int_equal(value_of(g, "a.empty")->as.arr.count, 0);
}

static void check_nested_arrays(const ifn_gguf *g) {
    const ifn_gguf_array *outer = &value_of(g, "a.nested_str")->as.arr;
    assert_int_equal(outer->elem_type, IFN_GGUF_TYPE_ARRAY);
    assert_int_equal(outer->count, 2);
    assert_int_equal(outer->items[0].type, IFN_GGUF_TYPE_ARRAY);
    const ifn_gguf_array *inner = &outer->items[0].as.arr;
    assert_int_equal(inner->elem_type, IFN_GGUF_TYPE_STRING);
    assert_int_equal(inner->count, 2);
    assert_true(str_is(inner->strs[0], "x") && str_is(inner->strs[1], "yy"));
    assert_int_equal(outer->items[1].as.arr.count, 0);

    outer = &value_of(g, "a.nested_int")->as.arr;
    assert_int_equal(outer->count, 2);
    inner = &outer->items[0].as.arr;
    assert_int_equal(inner->elem_type, IFN_GGUF_TYPE_INT32);
    int64_t v = 0;
    assert_int_equal(ifn_gguf_array_int(inner, 2, &v), IFN_OK);
    assert_int_equal(v, 3);
    inner = &outer->items[1].as.arr;
    assert_int_equal(inner->elem_type, IFN_GGUF_TYPE_ARRAY);
    assert_int_equal(inner->count, 1);
    const ifn_gguf_array *deepest = &inner->items[0].as.arr;
    assert_int_equal(deepest->elem_type, IFN_GGUF_TYPE_UINT16);
    assert_int_equal(ifn_gguf_array_int(deepest, 0, &v), IFN_OK);
    assert_int_equal(v, 7);
}

static void test_gguf_reads_every_value_type_v2_and_v3(void **state) {
    (void)state;
    for (uint32_t version = 2; version <= 3; version++) {
        gguf_builder b;
        parsed p;
        build_all_values(&b, version);
        parse_ok(&b, &p);
        assert_int_equal(ifn_gguf_version(p.g), version);
        assert_int_equal(ifn_gguf_kv_count(p.g), N_SCALAR_KVS + N_ARRAY_KVS);
        assert_int_equal(ifn_gguf_tensor_count(p.g), 0);
        assert_int_equal(ifn_gguf_alignment(p.g), 32);
        assert_int_equal(ifn_gguf_file_size(p.g), b.len);
        /* file order is kept */
        assert_true(str_is(ifn_gguf_kv_at(p.g, 0)->key, "t.u8"));
        assert_true(str_is(ifn_gguf_kv_at(p.g, N_SCALAR_KVS)->key, "a.u8"));
        assert_null(ifn_gguf_find(p.g, "t.missing"));
        check_scalars(p.g);
        check_flat_arrays(p.g);
        check_nested_arrays(p.g);
        parsed_free(&p);
        gb_free(&b);
    }
}

static void test_gguf_typed_reads_convert_or_refuse(void **state) {
    (void)state;
    gguf_builder b;
    parsed p;
    build_all_values(&b, 3);
    parse_ok(&b, &p);
    int64_t i = 0;
    double f = 0;
    int flag = 0;
    ifn_str s;
    assert_int_equal(ifn_gguf_get_int(p.g, "t.u32", 0, &i), IFN_OK);
    assert_int_equal(i, 4000000000ll);
    assert_int_equal(ifn_gguf_get_int(p.g, "t.i8", 0, &i), IFN_OK);
    assert_int_equal(i, -100);
    assert_int_equal(ifn_gguf_get_int(p.g, "t.missing", 77, &i), IFN_OK);
    assert_int_equal(i, 77);
    assert_int_equal(ifn_gguf_get_float(p.g, "t.f32", 0, &f), IFN_OK);
    assert_true(f == 1.5);
    assert_int_equal(ifn_gguf_get_float(p.g, "t.i32", 0, &f), IFN_OK);
    assert_true(f == -2000000000.0);
    assert_int_equal(ifn_gguf_get_bool(p.g, "t.bool_true", 0, &flag), IFN_OK);
    assert_int_equal(flag, 1);
    assert_int_equal(ifn_gguf_get_string(p.g, "t.str", &s), IFN_OK);
    assert_true(str_is(s, "h\xc3\xa9llo"));
    assert_int_equal(ifn_gguf_get_string(p.g, "t.missing", &s), IFN_OK);
    assert_null(s.ptr);

    /* UINT64_MAX does not fit an int64 */
    ifn_clear_error();
    assert_int_equal(ifn_gguf_get_int(p.g, "t.u64", 0, &i), IFN_E_FORMAT);
    assert_true(strlen(ifn_last_error()) > 0);
    /* a wrong type names the key and the type found */
    ifn_clear_error();
    assert_int_equal(ifn_gguf_get_int(p.g, "t.str", 0, &i), IFN_E_FORMAT);
    print_message("wrong-type message: %s\n", ifn_last_error());
    assert_non_null(strstr(ifn_last_error(), "t.str"));
    assert_non_null(strstr(ifn_last_error(), "expected an integer, found string"));
    assert_int_equal(ifn_gguf_get_string(p.g, "t.u8", &s), IFN_E_FORMAT);
    assert_int_equal(ifn_gguf_get_float(p.g, "a.f32", 0, &f), IFN_E_FORMAT);
    ifn_gguf_array arr;
    assert_int_equal(ifn_gguf_value_array(value_of(p.g, "t.f64"), &arr), IFN_E_FORMAT);
    assert_int_equal(ifn_gguf_value_array(value_of(p.g, "a.str"), &arr), IFN_OK);
    assert_int_equal(ifn_gguf_array_int(&arr, 0, &i), IFN_E_FORMAT); /* strings, not numbers */
    assert_string_equal(ifn_gguf_type_name(IFN_GGUF_TYPE_FLOAT64), "float64");
    parsed_free(&p);
    gb_free(&b);
}

/* ---------------------------------------------------------------- tensors */

typedef struct tensor_spec {
    const char *name;
    uint32_t n_dims;
    uint64_t ne[4];
    ifn_dtype type;
} tensor_spec;

static const tensor_spec g_tensors[] = {
    {"a.f32", 2, {4, 3}, IFN_DTYPE_F32},       {"b.f16", 1, {7}, IFN_DTYPE_F16},
    {"c.q8_0", 2, {64, 2}, IFN_DTYPE_Q8_0},    {"d.q4_k", 3, {256, 1, 2}, IFN_DTYPE_Q4_K},
    {"e.i32", 4, {1, 2, 3, 4}, IFN_DTYPE_I32}, {"f.q4_0", 1, {32}, IFN_DTYPE_Q4_0},
};

#define N_TENSORS (sizeof g_tensors / sizeof g_tensors[0])

static size_t spec_bytes(const tensor_spec *t) {
    size_t rows = 1;
    for (uint32_t d = 1; d < t->n_dims; d++)
        rows *= (size_t)t->ne[d];
    return ifn_dtype_row_bytes(t->type, (int64_t)t->ne[0]) * rows;
}

/* A v3 image with the tensors above; alignment 0 means no general.alignment key (default 32).
 * Tensor i's bytes are all i + 1; offsets are packed at the given alignment. */
static void build_tensors(gguf_builder *b, size_t alignment, uint64_t *offsets) {
    const size_t align = alignment ? alignment : 32;
    gb_init(b);
    gb_header(b, 3, N_TENSORS, alignment ? 2 : 1);
    gb_kv_str(b, "general.architecture", "test");
    if (alignment) gb_kv_u32(b, "general.alignment", (uint32_t)alignment);
    uint64_t offset = 0;
    for (size_t i = 0; i < N_TENSORS; i++) {
        offsets[i] = offset;
        gb_tensor_info(b, g_tensors[i].name, g_tensors[i].n_dims, g_tensors[i].ne,
                       (uint32_t)g_tensors[i].type, offset);
        offset += (spec_bytes(&g_tensors[i]) + align - 1) / align * align;
    }
    gb_align(b, align);
    const size_t data_start = b->len;
    for (size_t i = 0; i < N_TENSORS; i++) {
        while (b->len < data_start + offsets[i])
            gb_u8(b, 0);
        gb_fill(b, (unsigned char)(i + 1), spec_bytes(&g_tensors[i]));
    }
}

static void check_tensor(const parsed *p, size_t i, size_t alignment, uint64_t offset) {
    const tensor_spec *want = &g_tensors[i];
    const ifn_gguf_tensor *t = ifn_gguf_tensor_at(p->g, (int64_t)i);
    assert_ptr_equal(ifn_gguf_find_tensor(p->g, want->name), t);
    assert_true(str_is(t->name, want->name));
    assert_int_equal(t->n_dims, want->n_dims);
    for (int d = 0; d < 4; d++) {
        assert_int_equal(t->ne[d], d < (int)want->n_dims ? (int64_t)want->ne[d] : 1);
    }
    assert_int_equal(t->type, want->type);
    assert_int_equal(t->offset, offset);
    assert_int_equal(t->size_bytes, spec_bytes(want));
    const size_t pos = (size_t)((const unsigned char *)t->data - p->copy);
    assert_int_equal(pos % alignment, 0);
    assert_true(pos + t->size_bytes <= ifn_gguf_file_size(p->g));
    for (size_t k = 0; k < t->size_bytes; k++) {
        assert_int_equal(((const unsigned char *)t->data)[k], i + 1);
    }
}

static void test_gguf_places_tensors_at_each_alignment(void **state) {
    (void)state;
    const size_t alignments[] = {0, 32, 64, 1, 256};
    for (size_t a = 0; a < sizeof alignments / sizeof alignments[0]; a++) {
        gguf_builder b;
        parsed p;
        uint64_t offsets[N_TENSORS];
        build_tensors(&b, alignments[a], offsets);
        parse_ok(&b, &p);
        const size_t align = alignments[a] ? alignments[a] : 32;
        assert_int_equal(ifn_gguf_alignment(p.g), align);
        assert_int_equal(ifn_gguf_tensor_count(p.g), N_TENSORS);
        for (size_t i = 0; i < N_TENSORS; i++)
            check_tensor(&p, i, align, offsets[i]);
        assert_null(ifn_gguf_find_tensor(p.g, "a.f3"));
        assert_null(ifn_gguf_find_tensor(p.g, "a.f32x"));
        parsed_free(&p);
        gb_free(&b);
    }
}

static void test_gguf_accepts_empty_file(void **state) {
    (void)state;
    gguf_builder b;
    parsed p;
    gb_init(&b);
    gb_header(&b, 3, 0, 0);
    parse_ok(&b, &p);
    assert_int_equal(ifn_gguf_kv_count(p.g), 0);
    assert_int_equal(ifn_gguf_tensor_count(p.g), 0);
    assert_null(ifn_gguf_find(p.g, "general.architecture"));
    assert_null(ifn_gguf_find_tensor(p.g, "x"));
    parsed_free(&p);
    gb_free(&b);
}

static void test_gguf_opens_files_by_path(void **state) {
    (void)state;
    gguf_builder b;
    uint64_t offsets[N_TENSORS];
    build_tensors(&b, 64, offsets);
    char path[] = "/tmp/ifn_test_gguf_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, b.data, b.len), (ssize_t)b.len);
    close(fd);
    ifn_gguf *g = NULL;
    assert_int_equal(ifn_gguf_open(path, &g), IFN_OK);
    assert_int_equal(ifn_gguf_tensor_count(g), N_TENSORS);
    const ifn_gguf_tensor *t = ifn_gguf_find_tensor(g, "d.q4_k");
    assert_non_null(t);
    assert_int_equal(((const unsigned char *)t->data)[0], 4);
    assert_int_equal((uintptr_t)t->data % 64, 0); /* the map is page-aligned */
    ifn_gguf_close(g);
    unlink(path);
    ifn_clear_error();
    assert_int_equal(ifn_gguf_open("/nonexistent/dir/model.gguf", &g), IFN_E_IO);
    assert_true(strlen(ifn_last_error()) > 0);
    gb_free(&b);
}

/* ---------------------------------------------------------------- broken headers */

static void test_gguf_rejects_bad_magic_and_versions(void **state) {
    (void)state;
    gguf_builder b;
    gb_init(&b);
    expect_rejected(&b, IFN_E_FORMAT, "empty image");
    gb_bytes(&b, "GGU", 3);
    expect_rejected(&b, IFN_E_FORMAT, "3 bytes");
    gb_free(&b);
    gb_bytes(&b, "GGUG", 4), gb_u32(&b, 3), gb_u64(&b, 0), gb_u64(&b, 0);
    expect_rejected(&b, IFN_E_FORMAT, "wrong magic");
    gb_free(&b);
    gb_bytes(&b, "FUGG", 4), gb_u32(&b, 3), gb_u64(&b, 0), gb_u64(&b, 0);
    expect_rejected(&b, IFN_E_FORMAT, "byte-swapped magic");
    gb_free(&b);
    /* v1 stored 32-bit counts: the header is refused by version alone */
    gb_bytes(&b, "GGUF", 4), gb_u32(&b, 1), gb_u32(&b, 0), gb_u32(&b, 0);
    expect_rejected(&b, IFN_E_UNSUPPORTED, "version 1");
    gb_free(&b);
    const uint32_t versions[] = {0, 4, 0x03000000u, UINT32_MAX};
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
        gb_header(&b, versions[i], 0, 0);
        expect_rejected(&b, IFN_OK, "unknown version");
        gb_free(&b);
    }
    gb_header(&b, 3, 0, 0);
    b.len = 20; /* counts cut short */
    expect_rejected(&b, IFN_E_FORMAT, "truncated header");
    gb_free(&b);
}

static void test_gguf_rejects_counts_larger_than_file(void **state) {
    (void)state;
    const uint64_t counts[] = {2, 1000, 1ull << 32, 1ull << 60, UINT64_MAX};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        gguf_builder b;
        gb_init(&b);
        gb_header(&b, 3, 0, counts[i]);
        gb_kv_u32(&b, "only.one", 1);
        expect_rejected(&b, IFN_E_FORMAT, "n_kv too large");
        gb_free(&b);
        gb_header(&b, 3, counts[i], 0);
        const uint64_t ne[1] = {32};
        gb_tensor_info(&b, "only.one", 1, ne, IFN_DTYPE_F32, 0);
        gb_align(&b, 32);
        gb_fill(&b, 0, 128);
        expect_rejected(&b, IFN_E_FORMAT, "n_tensors too large");
        gb_free(&b);
    }
}

static void test_gguf_rejects_strings_past_end(void **state) {
    (void)state;
    const uint64_t lengths[] = {100, 1ull << 32, (1ull << 63) + 5, UINT64_MAX};
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        gguf_builder b;
        gb_init(&b);
        gb_header(&b, 3, 0, 1);
        gb_u64(&b, lengths[i]), gb_bytes(&b, "general.name", 12);
        expect_rejected(&b, IFN_E_FORMAT, "key length past end");
        gb_free(&b);
        gb_header(&b, 3, 0, 1);
        gb_kv(&b, "general.name", GB_STRING), gb_u64(&b, lengths[i]), gb_bytes(&b, "abc", 3);
        expect_rejected(&b, IFN_E_FORMAT, "string value past end");
        gb_free(&b);
        gb_header(&b, 3, 0, 1);
        gb_kv(&b, "tokens", GB_ARRAY), gb_array(&b, GB_STRING, 2), gb_str(&b, "ok");
        gb_u64(&b, lengths[i]), gb_bytes(&b, "abc", 3);
        expect_rejected(&b, IFN_E_FORMAT, "array string past end");
        gb_free(&b);
        gb_header(&b, 3, 1, 0);
        gb_u64(&b, lengths[i]), gb_bytes(&b, "w", 1);
        expect_rejected(&b, IFN_E_FORMAT, "tensor name past end");
        gb_free(&b);
    }
}

static void test_gguf_rejects_array_counts_past_end(void **state) {
    (void)state;
    const uint32_t elem_types[] = {GB_UINT8, GB_BOOL, GB_UINT64, GB_FLOAT64, GB_STRING, GB_ARRAY};
    const uint64_t counts[] = {100, 1ull << 40, (1ull << 61) + 1, UINT64_MAX / 8 + 1, UINT64_MAX};
    for (size_t t = 0; t < sizeof elem_types / sizeof elem_types[0]; t++) {
        for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
            gguf_builder b;
            gb_init(&b);
            gb_header(&b, 3, 0, 1);
            gb_kv(&b, "big", GB_ARRAY), gb_array(&b, elem_types[t], counts[c]);
            gb_fill(&b, 0, 64);
            expect_rejected(&b, IFN_E_FORMAT, "array count past end");
            gb_free(&b);
        }
    }
    /* a nested array whose inner count runs past the end */
    gguf_builder b;
    gb_init(&b);
    gb_header(&b, 3, 0, 1);
    gb_kv(&b, "nested", GB_ARRAY), gb_array(&b, GB_ARRAY, 1), gb_array(&b, GB_INT32, 1000);
    gb_u32(&b, 1);
    expect_rejected(&b, IFN_E_FORMAT, "inner array count past end");
    gb_free(&b);
}

static void test_gguf_rejects_nesting_bombs(void **state) {
    (void)state;
    const int depths[] = {64, 1000, 100000};
    for (size_t i = 0; i < sizeof depths / sizeof depths[0]; i++) {
        gguf_builder b;
        gb_init(&b);
        gb_header(&b, 3, 0, 1);
        gb_kv(&b, "bomb", GB_ARRAY);
        for (int d = 0; d < depths[i]; d++)
            gb_array(&b, GB_ARRAY, 1);
        gb_array(&b, GB_UINT8, 1), gb_u8(&b, 0);
        expect_rejected(&b, IFN_E_FORMAT, "deep nesting");
        gb_free(&b);
    }
}

static void test_gguf_rejects_unknown_value_types(void **state) {
    (void)state;
    const uint32_t types[] = {13, 14, 255, 0x80000000u, UINT32_MAX};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        gguf_builder b;
        gb_init(&b);
        gb_header(&b, 3, 0, 1);
        gb_kv(&b, "general.x", types[i]), gb_u64(&b, 0);
        expect_rejected(&b, IFN_E_FORMAT, "unknown value type");
        gb_free(&b);
        gb_header(&b, 3, 0, 1);
        gb_kv(&b, "general.x", GB_ARRAY), gb_array(&b, types[i], 1), gb_u64(&b, 0);
        expect_rejected(&b, IFN_E_FORMAT, "unknown array element type");
        gb_free(&b);
        gb_header(&b, 3, 0, 1);
        gb_kv(&b, "general.x", GB_ARRAY), gb_array(&b, GB_ARRAY, 1), gb_array(&b, types[i], 1);
        gb_u64(&b, 0);
        expect_rejected(&b, IFN_E_FORMAT, "unknown nested element type");
        gb_free(&b);
    }
}

static void test_gguf_rejects_duplicate_keys_and_tensor_names(void **state) {
    (void)state;
    gguf_builder b;
    gb_init(&b);
    gb_header(&b, 3, 0, 3);
    gb_kv_str(&b, "general.name", "a");
    gb_kv_u32(&b, "general.other", 1);
    gb_kv_u32(&b, "general.name", 2);
    expect_rejected(&b, IFN_E_FORMAT, "duplicate key");
    gb_free(&b);
    const uint64_t ne[1] = {8};
    gb_header(&b, 3, 2, 0);
    gb_tensor_info(&b, "w", 1, ne, IFN_DTYPE_F32, 0);
    gb_tensor_info(&b, "w", 1, ne, IFN_DTYPE_F32, 32);
    gb_align(&b, 32);
    gb_fill(&b, 0, 64);
    expect_rejected(&b, IFN_E_FORMAT, "duplicate tensor name");
    gb_free(&b);
}

/* ---------------------------------------------------------------- broken tensor infos */

/* One-tensor v3 image; `data_bytes` of data follow the aligned header. */
static void build_one_tensor(gguf_builder *b, uint32_t n_dims, const uint64_t *ne, uint32_t type,
                             uint64_t offset, size_t data_bytes) {
    gb_init(b);
    gb_header(b, 3, 1, 1);
    gb_kv_str(b, "general.architecture", "test");
    gb_tensor_info(b, "w", n_dims, ne, type, offset);
    gb_align(b, 32);
    gb_fill(b, 0x11, data_bytes);
}

static void test_gguf_one_tensor_baseline_is_valid(void **state) {
    (void)state;
    gguf_builder b;
    const uint64_t ne[2] = {64, 2};
    build_one_tensor(&b, 2, ne, IFN_DTYPE_Q4_0, 0, 72);
    assert_int_equal(try_parse(b.data, b.len), IFN_OK);
    b.len -= 1; /* one byte short of the tensor */
    expect_rejected(&b, IFN_E_FORMAT, "data one byte short");
    gb_free(&b);
}

static void test_gguf_rejects_unknown_tensor_types(void **state) {
    (void)state;
    const uint32_t types[] = {4, 5, 31, 32, 33, IFN_DTYPE_COUNT, 1000, UINT32_MAX};
    const uint64_t ne[1] = {256};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        gguf_builder b;
        build_one_tensor(&b, 1, ne, types[i], 0, 4096);
        expect_rejected(&b, IFN_E_UNSUPPORTED, "unknown tensor type");
        gb_free(&b);
    }
}

static void test_gguf_rejects_bad_dimension_counts(void **state) {
    (void)state;
    const uint32_t n_dims[] = {0, 5, 64, UINT32_MAX};
    const uint64_t ne[8] = {8, 1, 1, 1, 1, 1, 1, 1};
    for (size_t i = 0; i < sizeof n_dims / sizeof n_dims[0]; i++) {
        gguf_builder b;
        gb_init(&b);
        gb_header(&b, 3, 1, 0);
        gb_str(&b, "w"), gb_u32(&b, n_dims[i]);
        for (int d = 0; d < 8; d++)
            gb_u64(&b, ne[d]);
        gb_u32(&b, IFN_DTYPE_F32), gb_u64(&b, 0);
        gb_align(&b, 32);
        gb_fill(&b, 0, 64);
        expect_rejected(&b, IFN_E_FORMAT, "bad n_dims");
        gb_free(&b);
    }
}

static void test_gguf_rejects_partial_blocks(void **state) {
    (void)state;
    struct {
        uint64_t ne0;
        uint32_t type;
    } cases[] = {{33, IFN_DTYPE_Q4_0},
                 {16, IFN_DTYPE_Q8_0},
                 {128, IFN_DTYPE_Q4_K},
                 {257, IFN_DTYPE_Q6_K},
                 {1, IFN_DTYPE_IQ4_XS}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gguf_builder b;
        const uint64_t ne[2] = {cases[i].ne0, 2};
        build_one_tensor(&b, 2, ne, cases[i].type, 0, 4096);
        expect_rejected(&b, IFN_E_FORMAT, "row not whole blocks");
        gb_free(&b);
    }
}

/* Shapes whose element count or byte size does not fit 64 bits. */
static void test_gguf_rejects_size_overflow(void **state) {
    (void)state;
    const uint64_t shapes[][4] = {
        {1ull << 32, 1ull << 32, 1ull << 32, 1ull << 32}, /* F32: 2^128 elements */
        {1ull << 62, 4, 1, 1},                            /* F32: bytes 2^66 */
        {1ull << 63, 1, 1, 1},                            /* negative as int64 */
        {UINT64_MAX, 1, 1, 1},
        {4, 1ull << 63, 1, 1},
        {1ull << 31, 1ull << 31, 1ull << 31, 1ull << 31},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        gguf_builder b;
        build_one_tensor(&b, 4, shapes[i], IFN_DTYPE_F32, 0, 256);
        expect_rejected(&b, IFN_E_FORMAT, "size overflow");
        gb_free(&b);
    }
    /* Q2_K: 2^64 elements but "only" 84 * 2^56 bytes */
    gguf_builder b;
    const uint64_t q2k[2] = {1ull << 32, 1ull << 32};
    build_one_tensor(&b, 2, q2k, IFN_DTYPE_Q2_K, 0, 256);
    expect_rejected(&b, IFN_E_FORMAT, "element count overflow");
    gb_free(&b);
}

/* A zero dimension makes the size 0, but the other dimensions' product still overflows int64:
 * code that counts rows as ne[1] * ne[2] * ne[3] would overflow, so the reader must refuse. */
static void test_gguf_rejects_overflowing_dims_beside_a_zero(void **state) {
    (void)state;
    const uint64_t shapes[][4] = {
        {0, 1ull << 40, 1ull << 40, 1ull << 40},
        {256, 0, 1ull << 62, 1ull << 62},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        gguf_builder b;
        build_one_tensor(&b, 4, shapes[i], IFN_DTYPE_F32, 0, 64);
        expect_rejected(&b, IFN_E_FORMAT, "overflowing dims beside a zero");
        gb_free(&b);
    }
}

static void test_gguf_rejects_data_past_end(void **state) {
    (void)state;
    const uint64_t ne[2] = {256, 4}; /* 4 KiB of F32 */
    const uint64_t offsets[] = {32, 1ull << 20, 1ull << 40, UINT64_MAX - 31, UINT64_MAX - 4095};
    gguf_builder b;
    build_one_tensor(&b, 2, ne, IFN_DTYPE_F32, 0, 4095);
    expect_rejected(&b, IFN_E_FORMAT, "data short by one byte");
    gb_free(&b);
    for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++) {
        build_one_tensor(&b, 2, ne, IFN_DTYPE_F32, offsets[i], 4096);
        expect_rejected(&b, IFN_E_FORMAT, "offset past end");
        gb_free(&b);
    }
    /* no data section at all */
    build_one_tensor(&b, 2, ne, IFN_DTYPE_F32, 0, 0);
    expect_rejected(&b, IFN_E_FORMAT, "no data section");
    gb_free(&b);
}

static void test_gguf_rejects_misaligned_offsets(void **state) {
    (void)state;
    const uint64_t ne[1] = {32};
    const uint64_t offsets[] = {1, 16, 31, 33};
    for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++) {
        gguf_builder b;
        build_one_tensor(&b, 1, ne, IFN_DTYPE_F32, offsets[i], 512);
        expect_rejected(&b, IFN_E_FORMAT, "misaligned offset");
        gb_free(&b);
    }
}

static void build_with_alignment_kv(gguf_builder *b, uint32_t type, uint64_t raw_value) {
    const uint64_t ne[1] = {32};
    gb_init(b);
    gb_header(b, 3, 1, 1);
    gb_kv(b, "general.alignment", type);
    if (type == GB_STRING) {
        gb_str(b, "32");
    } else if (type == GB_UINT64 || type == GB_INT64) {
        gb_u64(b, raw_value);
    } else {
        gb_u32(b, (uint32_t)raw_value);
    }
    gb_tensor_info(b, "w", 1, ne, IFN_DTYPE_F32, 0);
    gb_align(b, 64);
    gb_fill(b, 0, 256);
}

static void test_gguf_rejects_bad_alignment(void **state) {
    (void)state;
    const uint64_t values[] = {0, 3, 48, 100, 0xFFFFFFFFu};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        gguf_builder b;
        build_with_alignment_kv(&b, GB_UINT32, values[i]);
        expect_rejected(&b, IFN_E_FORMAT, "alignment not a power of two");
        gb_free(&b);
    }
    gguf_builder b;
    build_with_alignment_kv(&b, GB_INT32, (uint32_t)-32);
    expect_rejected(&b, IFN_E_FORMAT, "negative alignment");
    gb_free(&b);
    build_with_alignment_kv(&b, GB_UINT64, 1ull << 63);
    expect_rejected(&b, IFN_E_FORMAT, "alignment 2^63");
    gb_free(&b);
    build_with_alignment_kv(&b, GB_STRING, 0);
    expect_rejected(&b, IFN_E_FORMAT, "alignment as a string");
    print_message("alignment-as-string message: %s\n", ifn_last_error());
    assert_non_null(strstr(ifn_last_error(), "general.alignment"));
    assert_non_null(strstr(ifn_last_error(), "expected an integer"));
    gb_free(&b);
    build_with_alignment_kv(&b, GB_UINT32, 64); /* and the baseline is fine */
    assert_int_equal(try_parse(b.data, b.len), IFN_OK);
    gb_free(&b);
}

/* Every proper prefix of a valid image with tensors is refused (and never read past). */
static void test_gguf_rejects_every_truncation(void **state) {
    (void)state;
    gguf_builder b;
    uint64_t offsets[N_TENSORS];
    build_tensors(&b, 32, offsets);
    for (size_t len = 0; len < b.len; len++) {
        ifn_status st = try_parse(b.data, len);
        if (st != IFN_E_FORMAT) {
            print_message("prefix of %zu bytes: %s\n", len, ifn_status_str(st));
            fail();
        }
    }
    assert_int_equal(try_parse(b.data, b.len), IFN_OK);
    gb_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gguf_reads_every_value_type_v2_and_v3),
        cmocka_unit_test(test_gguf_typed_reads_convert_or_refuse),
        cmocka_unit_test(test_gguf_places_tensors_at_each_alignment),
        cmocka_unit_test(test_gguf_accepts_empty_file),
        cmocka_unit_test(test_gguf_opens_files_by_path),
        cmocka_unit_test(test_gguf_rejects_bad_magic_and_versions),
        cmocka_unit_test(test_gguf_rejects_counts_larger_than_file),
        cmocka_unit_test(test_gguf_rejects_strings_past_end),
        cmocka_unit_test(test_gguf_rejects_array_counts_past_end),
        cmocka_unit_test(test_gguf_rejects_nesting_bombs),
        cmocka_unit_test(test_gguf_rejects_unknown_value_types),
        cmocka_unit_test(test_gguf_rejects_duplicate_keys_and_tensor_names),
        cmocka_unit_test(test_gguf_one_tensor_baseline_is_valid),
        cmocka_unit_test(test_gguf_rejects_unknown_tensor_types),
        cmocka_unit_test(test_gguf_rejects_bad_dimension_counts),
        cmocka_unit_test(test_gguf_rejects_partial_blocks),
        cmocka_unit_test(test_gguf_rejects_size_overflow),
        cmocka_unit_test(test_gguf_rejects_overflowing_dims_beside_a_zero),
        cmocka_unit_test(test_gguf_rejects_data_past_end),
        cmocka_unit_test(test_gguf_rejects_misaligned_offsets),
        cmocka_unit_test(test_gguf_rejects_bad_alignment),
        cmocka_unit_test(test_gguf_rejects_every_truncation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
