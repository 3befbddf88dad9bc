/* Tests of the GGUF writer: files with every metadata value type and several tensor types are
 * read back with the reader and compared field by field; custom alignment; a vocabulary copied
 * key by key from a real GGUF; misuse refused with IFN_E_INVALID; write failures (missing
 * folder, full disk) reported as IFN_E_IO naming the path; no half-written file left behind;
 * allocation failures at every point end cleanly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "model/gguf.h"
#include "model/gguf_writer.h"
#include "support/shared.h"
#include "util/alloc.h"
#include "util/status.h"

static const char *temp_path(int index) {
    static char buf[4][128];
    snprintf(buf[index % 4], sizeof buf[0], "/tmp/ifn_test_gguf_writer_%d_%d.gguf", (int)getpid(),
             index);
    return buf[index % 4];
}

static void expect_ok(ifn_status st) {
    if (st != IFN_OK) print_message("unexpected error: %s\n", ifn_last_error());
    assert_int_equal(st, IFN_OK);
}

static size_t scalar_size(ifn_gguf_type t) {
    static const size_t sizes[IFN_GGUF_TYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return sizes[t];
}

static void assert_values_equal(const ifn_gguf_value *a, const ifn_gguf_value *b) {
    assert_int_equal(a->type, b->type);
    switch (a->type) {
    case IFN_GGUF_TYPE_STRING:
        assert_true(ifn_str_eq(a->as.str, b->as.str));
        break;
    case IFN_GGUF_TYPE_BOOL:
        assert_int_equal(a->as.b, b->as.b);
        break;
    case IFN_GGUF_TYPE_FLOAT32:
    case IFN_GGUF_TYPE_FLOAT64:
        assert_memory_equal(&a->as.f64, &b->as.f64, sizeof(double));
        break;
    case IFN_GGUF_TYPE_ARRAY: {
        const ifn_gguf_array *x = &a->as.arr, *y = &b->as.arr;
        assert_int_equal(x->elem_type, y->elem_type);
        assert_int_equal(x->count, y->count);
        for (uint64_t i = 0; i < x->count; i++) {
            if (x->elem_type == IFN_GGUF_TYPE_STRING)
                assert_true(ifn_str_eq(x->strs[i], y->strs[i]));
            else if (x->elem_type == IFN_GGUF_TYPE_ARRAY)
                assert_values_equal(&x->items[i], &y->items[i]);
        }
        if (x->elem_type != IFN_GGUF_TYPE_STRING && x->elem_type != IFN_GGUF_TYPE_ARRAY && x->count)
            assert_memory_equal(x->raw, y->raw, x->count * scalar_size(x->elem_type));
        break;
    }
    default:
        assert_memory_equal(&a->as.u64, &b->as.u64, sizeof(uint64_t));
        break;
    }
}

/* ---- every value type ---- */

typedef struct sample_tensor {
    const char *name;
    int32_t n_dims;
    int64_t ne[4];
    ifn_dtype type;
} sample_tensor;

static const sample_tensor g_tensors[] = {
    {"vec.f32", 1, {5, 1, 1, 1}, IFN_DTYPE_F32}, /* 20 bytes: padded to 32 */
    {"mat.f16", 2, {3, 2, 1, 1}, IFN_DTYPE_F16},
    {"mat.q4_0", 2, {64, 3, 1, 1}, IFN_DTYPE_Q4_0},
    {"empty.q8_0", 2, {32, 0, 1, 1}, IFN_DTYPE_Q8_0}, /* zero bytes */
    {"cube.q8_0", 3, {32, 2, 2, 1}, IFN_DTYPE_Q8_0},
    {"mat.q4_k", 2, {256, 2, 1, 1}, IFN_DTYPE_Q4_K},
    {"four.bf16", 4, {2, 1, 3, 1}, IFN_DTYPE_BF16},
};
#define N_TENSORS (sizeof g_tensors / sizeof g_tensors[0])

static unsigned char pattern_byte(size_t tensor, size_t i) {
    return (unsigned char)(tensor * 37 + i * 11 + 1);
}

static void add_all_scalars(ifn_gguf_writer *w) {
    expect_ok(ifn_gguf_writer_set_u8(w, "s.u8", 200));
    expect_ok(ifn_gguf_writer_set_i8(w, "s.i8", -100));
    expect_ok(ifn_gguf_writer_set_u16(w, "s.u16", 60000));
    expect_ok(ifn_gguf_writer_set_i16(w, "s.i16", -30000));
    expect_ok(ifn_gguf_writer_set_u32(w, "s.u32", 4000000000u));
    expect_ok(ifn_gguf_writer_set_i32(w, "s.i32", -2000000000));
    expect_ok(ifn_gguf_writer_set_u64(w, "s.u64", UINT64_MAX - 5));
    expect_ok(ifn_gguf_writer_set_i64(w, "s.i64", INT64_MIN + 7));
    expect_ok(ifn_gguf_writer_set_f32(w, "s.f32", 0.1f));
    expect_ok(ifn_gguf_writer_set_f64(w, "s.f64", -1e300));
    expect_ok(ifn_gguf_writer_set_bool(w, "s.bool", 1));
    expect_ok(ifn_gguf_writer_set_string(w, "s.str", ifn_str_from_cstr("h\xC3\xA9llo")));
    expect_ok(ifn_gguf_writer_set_string(w, "s.empty", ifn_str_from_cstr("")));
}

static void add_all_arrays(ifn_gguf_writer *w) {
    const uint8_t u8s[] = {1, 2, 255};
    const int16_t i16s[] = {-1, 2, -3, 4};
    const uint32_t u32s[] = {7};
    const int64_t i64s[] = {INT64_MAX, -1};
    const float f32s[] = {1.5f, -0.25f};
    const double f64s[] = {3.0, 1e-300};
    const uint8_t bools[] = {1, 0, 1};
    expect_ok(ifn_gguf_writer_set_array(w, "a.u8", IFN_GGUF_TYPE_UINT8, u8s, 3));
    expect_ok(ifn_gguf_writer_set_array(w, "a.i16", IFN_GGUF_TYPE_INT16, i16s, 4));
    expect_ok(ifn_gguf_writer_set_array(w, "a.u32", IFN_GGUF_TYPE_UINT32, u32s, 1));
    expect_ok(ifn_gguf_writer_set_array(w, "a.i64", IFN_GGUF_TYPE_INT64, i64s, 2));
    expect_ok(ifn_gguf_writer_set_array(w, "a.f32", IFN_GGUF_TYPE_FLOAT32, f32s, 2));
    expect_ok(ifn_gguf_writer_set_array(w, "a.f64", IFN_GGUF_TYPE_FLOAT64, f64s, 2));
    expect_ok(ifn_gguf_writer_set_array(w, "a.bool", IFN_GGUF_TYPE_BOOL, bools, 3));
    expect_ok(ifn_gguf_writer_set_array(w, "a.empty", IFN_GGUF_TYPE_INT32, NULL, 0));
    const ifn_str strs[] = {ifn_str_from_cstr("<s>"), ifn_str_from_cstr(""),
                            ifn_str_from_cstr("\xE2\x96\x81the")};
    expect_ok(ifn_gguf_writer_set_string_array(w, "a.str", strs, 3));
    /* [[1, 2], ["x"]] */
    const int32_t ints[] = {1, 2};
    const ifn_str x = ifn_str_from_cstr("x");
    ifn_gguf_value items[2] = {{.type = IFN_GGUF_TYPE_ARRAY}, {.type = IFN_GGUF_TYPE_ARRAY}};
    items[0].as.arr = (ifn_gguf_array){
        .elem_type = IFN_GGUF_TYPE_INT32, .count = 2, .raw = (const unsigned char *)ints};
    items[1].as.arr = (ifn_gguf_array){.elem_type = IFN_GGUF_TYPE_STRING, .count = 1, .strs = &x};
    ifn_gguf_value nested = {.type = IFN_GGUF_TYPE_ARRAY};
    nested.as.arr = (ifn_gguf_array){.elem_type = IFN_GGUF_TYPE_ARRAY, .count = 2, .items = items};
    expect_ok(ifn_gguf_writer_set_value(w, "a.nested", &nested));
}

/* Writes every tensor's pattern in pieces of `piece` bytes that run across tensor ends. */
static void write_patterns(ifn_gguf_writer *w, size_t piece) {
    size_t total = 0;
    for (size_t t = 0; t < N_TENSORS; t++)
        total += ifn_gguf_writer_tensor_bytes(w, (int64_t)t);
    unsigned char *all = malloc(total + 1);
    assert_non_null(all);
    size_t pos = 0;
    for (size_t t = 0; t < N_TENSORS; t++)
        for (size_t i = 0; i < ifn_gguf_writer_tensor_bytes(w, (int64_t)t); i++)
            all[pos++] = pattern_byte(t, i);
    for (size_t off = 0; off < total; off += piece)
        expect_ok(ifn_gguf_writer_write(w, all + off, total - off < piece ? total - off : piece));
    free(all);
}

static void write_sample_file(const char *path, uint32_t alignment, size_t piece) {
    ifn_gguf_writer *w = NULL;
    expect_ok(ifn_gguf_writer_create(&w));
    add_all_scalars(w);
    if (alignment) expect_ok(ifn_gguf_writer_set_u32(w, "general.alignment", alignment));
    add_all_arrays(w);
    for (size_t t = 0; t < N_TENSORS; t++)
        expect_ok(ifn_gguf_writer_add_tensor(w, g_tensors[t].name, g_tensors[t].n_dims,
                                             g_tensors[t].ne, g_tensors[t].type));
    assert_int_equal(ifn_gguf_writer_tensor_count(w), N_TENSORS);
    assert_int_equal(ifn_gguf_writer_tensor_bytes(w, 2), 3 * 2 * 18); /* Q4_0: 18 B / 32 */
    expect_ok(ifn_gguf_writer_open(w, path));
    write_patterns(w, piece);
    expect_ok(ifn_gguf_writer_close(w));
    ifn_gguf_writer_destroy(w);
}

static void check_scalars(const ifn_gguf *g) {
    int64_t i;
    double f;
    ifn_str s;
    expect_ok(ifn_gguf_get_int(g, "s.u8", 0, &i));
    assert_int_equal(i, 200);
    expect_ok(ifn_gguf_get_int(g, "s.i8", 0, &i));
    assert_int_equal(i, -100);
    expect_ok(ifn_gguf_get_int(g, "s.u16", 0, &i));
    assert_int_equal(i, 60000);
    expect_ok(ifn_gguf_get_int(g, "s.i16", 0, &i));
    assert_int_equal(i, -30000);
    expect_ok(ifn_gguf_get_int(g, "s.u32", 0, &i));
    assert_int_equal(i, 4000000000);
    expect_ok(ifn_gguf_get_int(g, "s.i32", 0, &i));
    assert_int_equal(i, -2000000000);
    expect_ok(ifn_gguf_get_int(g, "s.i64", 0, &i));
    assert_true(i == INT64_MIN + 7);
    assert_true(ifn_gguf_find(g, "s.u64")->value.as.u64 == UINT64_MAX - 5);
    expect_ok(ifn_gguf_get_float(g, "s.f32", 0, &f));
    assert_true(f == (double)0.1f);
    expect_ok(ifn_gguf_get_float(g, "s.f64", 0, &f));
    assert_true(f == -1e300);
    int b = 0;
    expect_ok(ifn_gguf_get_bool(g, "s.bool", 0, &b));
    assert_int_equal(b, 1);
    expect_ok(ifn_gguf_get_string(g, "s.str", &s));
    assert_true(ifn_str_eq_cstr(s, "h\xC3\xA9llo"));
    expect_ok(ifn_gguf_get_string(g, "s.empty", &s));
    assert_int_equal(s.len, 0);
}

static void check_arrays(const ifn_gguf *g) {
    ifn_gguf_array arr;
    int64_t i;
    double f;
    expect_ok(ifn_gguf_value_array(&ifn_gguf_find(g, "a.i16")->value, &arr));
    assert_int_equal(arr.count, 4);
    expect_ok(ifn_gguf_array_int(&arr, 2, &i));
    assert_int_equal(i, -3);
    expect_ok(ifn_gguf_value_array(&ifn_gguf_find(g, "a.f64")->value, &arr));
    expect_ok(ifn_gguf_array_float(&arr, 1, &f));
    assert_true(f == 1e-300);
    expect_ok(ifn_gguf_value_array(&ifn_gguf_find(g, "a.bool")->value, &arr));
    assert_int_equal(arr.elem_type, IFN_GGUF_TYPE_BOOL);
    assert_memory_equal(arr.raw, "\1\0\1", 3);
    expect_ok(ifn_gguf_value_array(&ifn_gguf_find(g, "a.empty")->value, &arr));
    assert_int_equal(arr.count, 0);
    expect_ok(ifn_gguf_value_array(&ifn_gguf_find(g, "a.str")->value, &arr));
    assert_int_equal(arr.count, 3);
    assert_true(ifn_str_eq_cstr(arr.strs[2], "\xE2\x96\x81the"));
    assert_int_equal(arr.strs[1].len, 0);
    expect_ok(ifn_gguf_value_array(&ifn_gguf_find(g, "a.nested")->value, &arr));
    assert_int_equal(arr.elem_type, IFN_GGUF_TYPE_ARRAY);
    assert_int_equal(arr.items[0].as.arr.count, 2);
    expect_ok(ifn_gguf_array_int(&arr.items[0].as.arr, 1, &i));
    assert_int_equal(i, 2);
    assert_true(ifn_str_eq_cstr(arr.items[1].as.arr.strs[0], "x"));
}

static void check_tensors(const ifn_gguf *g, size_t alignment) {
    assert_int_equal(ifn_gguf_tensor_count(g), N_TENSORS);
    for (size_t t = 0; t < N_TENSORS; t++) {
        const ifn_gguf_tensor *x = ifn_gguf_tensor_at(g, (int64_t)t);
        assert_true(ifn_str_eq_cstr(x->name, g_tensors[t].name));
        assert_int_equal(x->n_dims, g_tensors[t].n_dims);
        assert_memory_equal(x->ne, g_tensors[t].ne, sizeof x->ne);
        assert_int_equal(x->type, g_tensors[t].type);
        assert_int_equal(x->offset % alignment, 0);
        const unsigned char *data = x->data;
        for (size_t i = 0; i < x->size_bytes; i++)
            assert_int_equal(data[i], pattern_byte(t, i));
    }
}

static void test_gguf_writer_round_trips_every_value_type(void **state) {
    (void)state;
    const char *path = temp_path(0);
    write_sample_file(path, 0, 7);
    ifn_gguf *g = NULL;
    expect_ok(ifn_gguf_open(path, &g));
    assert_int_equal(ifn_gguf_version(g), 3);
    assert_int_equal(ifn_gguf_alignment(g), 32);
    assert_int_equal(ifn_gguf_kv_count(g), 13 + 10);
    assert_true(ifn_str_eq_cstr(ifn_gguf_kv_at(g, 0)->key, "s.u8")); /* order kept */
    check_scalars(g);
    check_arrays(g);
    check_tensors(g, 32);
    /* the last tensor is padded too, as llama.cpp writes it */
    assert_int_equal(ifn_gguf_file_size(g) % 32, 0);
    ifn_gguf_close(g);
    unlink(path);
}

static void test_gguf_writer_honours_custom_alignment(void **state) {
    (void)state;
    const char *path = temp_path(1);
    write_sample_file(path, 64, 1000);
    ifn_gguf *g = NULL;
    expect_ok(ifn_gguf_open(path, &g));
    assert_int_equal(ifn_gguf_alignment(g), 64);
    check_tensors(g, 64);
    for (int64_t t = 0; t < ifn_gguf_tensor_count(g); t++)
        assert_int_equal((uintptr_t)ifn_gguf_tensor_at(g, t)->data % 64, 0);
    ifn_gguf_close(g);
    unlink(path);
}

/* ---- copying from a reader ---- */

static void test_gguf_writer_copies_every_key_of_a_vocabulary(void **state) {
    (void)state;
    const char *vocab_path = shared_path("vectors/tokenizer/ggml-vocab-llama-spm.gguf");
    if (!vocab_path) skip();
    const char *path = temp_path(2);
    ifn_gguf *src = NULL, *copy = NULL;
    ifn_gguf_writer *w = NULL;
    expect_ok(ifn_gguf_open(vocab_path, &src));
    expect_ok(ifn_gguf_writer_create(&w));
    for (int64_t i = 0; i < ifn_gguf_kv_count(src); i++) {
        const ifn_gguf_kv *kv = ifn_gguf_kv_at(src, i);
        char key[256];
        snprintf(key, sizeof key, "%.*s", (int)kv->key.len, kv->key.ptr);
        expect_ok(ifn_gguf_writer_copy_kv(w, src, key));
    }
    assert_int_equal(ifn_gguf_writer_copy_kv(w, src, "no.such.key"), IFN_E_INVALID);
    expect_ok(ifn_gguf_writer_open(w, path));
    expect_ok(ifn_gguf_writer_close(w));
    ifn_gguf_writer_destroy(w);
    expect_ok(ifn_gguf_open(path, &copy));
    assert_int_equal(ifn_gguf_kv_count(copy), ifn_gguf_kv_count(src));
    for (int64_t i = 0; i < ifn_gguf_kv_count(src); i++) {
        const ifn_gguf_kv *a = ifn_gguf_kv_at(src, i), *b = ifn_gguf_kv_at(copy, i);
        assert_true(ifn_str_eq(a->key, b->key));
        assert_values_equal(&a->value, &b->value);
    }
    assert_int_equal(ifn_gguf_tensor_count(copy), 0);
    ifn_gguf_close(copy);
    ifn_gguf_close(src);
    unlink(path);
}

/* ---- misuse ---- */

static void test_gguf_writer_rejects_bad_metadata(void **state) {
    (void)state;
    ifn_gguf_writer *w = NULL;
    expect_ok(ifn_gguf_writer_create(&w));
    expect_ok(ifn_gguf_writer_set_u32(w, "k", 1));
    assert_int_equal(ifn_gguf_writer_set_string(w, "k", ifn_str_from_cstr("again")), IFN_E_INVALID);
    assert_int_equal(ifn_gguf_writer_set_u32(w, "", 1), IFN_E_INVALID);
    assert_int_equal(ifn_gguf_writer_set_f32(w, "general.alignment", 32), IFN_E_INVALID);
    assert_int_equal(ifn_gguf_writer_set_u32(w, "general.alignment", 48), IFN_E_INVALID);
    assert_int_equal(ifn_gguf_writer_set_u32(w, "general.alignment", 0), IFN_E_INVALID);
    expect_ok(ifn_gguf_writer_set_u32(w, "general.alignment", 16)); /* failures left no trace */
    const uint8_t bad_bools[] = {0, 2};
    assert_int_equal(ifn_gguf_writer_set_array(w, "b", IFN_GGUF_TYPE_BOOL, bad_bools, 2),
                     IFN_E_INVALID);
    assert_int_equal(ifn_gguf_writer_set_array(w, "b", IFN_GGUF_TYPE_STRING, bad_bools, 2),
                     IFN_E_INVALID);
    expect_ok(ifn_gguf_writer_set_array(w, "b", IFN_GGUF_TYPE_BOOL, bad_bools, 1));
    ifn_gguf_writer_destroy(w);
}

static void test_gguf_writer_rejects_bad_tensors(void **state) {
    (void)state;
    ifn_gguf_writer *w = NULL;
    const int64_t ne[4] = {32, 2, 1, 1}, odd[2] = {33, 2}, neg[2] = {32, -1};
    char long_name[80];
    memset(long_name, 'a', 64);
    long_name[64] = '\0';
    expect_ok(ifn_gguf_writer_create(&w));
    expect_ok(ifn_gguf_writer_add_tensor(w, "t", 2, ne, IFN_DTYPE_Q8_0));
    assert_int_equal(ifn_gguf_writer_add_tensor(w, "t", 2, ne, IFN_DTYPE_F32), IFN_E_INVALID);
    assert_int_equal(ifn_gguf_writer_add_tensor(w, "", 2, ne, IFN_DTYPE_F32), IFN_E_INVALID);
    assert_int_equal(ifn_gguf_writer_add_tensor(w, long_name, 2, ne, IFN_DTYPE_F32), IFN_E_INVALID);
    long_name[63] = '\0'; /* 63 bytes is the longest ggml accepts */
    expect_ok(ifn_gguf_writer_add_tensor(w, long_name, 2, ne, IFN_DTYPE_F32));
    assert_int_equal(ifn_gguf_writer_add_tensor(w, "u", 0, ne, IFN_DTYPE_F32), IFN_E_INVALID);
    assert_int_equal(ifn_gguf_writer_add_tensor(w, "u", 5, ne, IFN_DTYPE_F32), IFN_E_INVALID);
    assert_int_equal(ifn_gguf_writer_add_tensor(w, "u", 2, odd, IFN_DTYPE_Q4_0), IFN_E_INVALID);
    assert_int_equal(ifn_gguf_writer_add_tensor(w, "u", 2, neg, IFN_DTYPE_F32), IFN_E_INVALID);
    assert_int_equal(ifn_gguf_writer_add_tensor(w, "u", 2, ne, (ifn_dtype)5), IFN_E_INVALID);
    ifn_gguf_writer_destroy(w);
}

static void test_gguf_writer_enforces_the_write_sequence(void **state) {
    (void)state;
    const char *path = temp_path(3);
    const int64_t ne[1] = {4};
    const float data[8] = {0};
    ifn_gguf_writer *w = NULL;
    expect_ok(ifn_gguf_writer_create(&w));
    assert_int_equal(ifn_gguf_writer_write(w, data, 4), IFN_E_INVALID); /* not open */
    expect_ok(ifn_gguf_writer_add_tensor(w, "a", 1, ne, IFN_DTYPE_F32));
    expect_ok(ifn_gguf_writer_add_tensor(w, "b", 1, ne, IFN_DTYPE_F32));
    expect_ok(ifn_gguf_writer_open(w, path));
    assert_int_equal(ifn_gguf_writer_open(w, path), IFN_E_INVALID);
    assert_int_equal(ifn_gguf_writer_set_u32(w, "late", 1), IFN_E_INVALID);
    assert_int_equal(ifn_gguf_writer_add_tensor(w, "c", 1, ne, IFN_DTYPE_F32), IFN_E_INVALID);
    expect_ok(ifn_gguf_writer_write(w, data, 20));
    assert_int_equal(ifn_gguf_writer_close(w), IFN_E_INVALID);
    assert_non_null(strstr(ifn_last_error(), "'b' got 4 of its 16 bytes"));
    assert_int_equal(ifn_gguf_writer_write(w, data, 13), IFN_E_INVALID); /* past the end */
    ifn_gguf_writer_destroy(w);
    assert_int_equal(access(path, F_OK), -1); /* unfinished: removed */
}

/* ---- I/O errors ---- */

static void test_gguf_writer_reports_an_unwritable_path(void **state) {
    (void)state;
    const char *path = "/nonexistent-ifn-dir/model.gguf";
    ifn_gguf_writer *w = NULL;
    expect_ok(ifn_gguf_writer_create(&w));
    expect_ok(ifn_gguf_writer_set_u32(w, "k", 1));
    assert_int_equal(ifn_gguf_writer_open(w, path), IFN_E_IO);
    assert_non_null(strstr(ifn_last_error(), path));
    assert_int_equal(ifn_gguf_writer_write(w, "x", 1), IFN_E_INVALID);
    ifn_gguf_writer_destroy(w);
}

static void test_gguf_writer_reports_a_full_disk(void **state) {
    (void)state;
    if (access("/dev/full", W_OK) != 0) skip();
    const int64_t ne[1] = {1 << 20};
    float *zeros = calloc(1 << 20, sizeof(float));
    assert_non_null(zeros);
    ifn_gguf_writer *w = NULL;
    expect_ok(ifn_gguf_writer_create(&w));
    expect_ok(ifn_gguf_writer_add_tensor(w, "big", 1, ne, IFN_DTYPE_F32));
    ifn_status st = ifn_gguf_writer_open(w, "/dev/full");
    if (st == IFN_OK) st = ifn_gguf_writer_write(w, zeros, (size_t)4 << 20);
    if (st == IFN_OK) st = ifn_gguf_writer_close(w);
    assert_int_equal(st, IFN_E_IO);
    assert_non_null(strstr(ifn_last_error(), "/dev/full"));
    ifn_gguf_writer_destroy(w);
    struct stat sb;
    assert_int_equal(stat("/dev/full", &sb), 0); /* not a regular file: never removed */
    free(zeros);
}

static void build_small_file(const char *path, ifn_status *out_st) {
    const int64_t ne[2] = {32, 2};
    const ifn_str strs[2] = {ifn_str_from_cstr("a"), ifn_str_from_cstr("bc")};
    unsigned char data[68] = {0};
    ifn_gguf_writer *w = NULL;
    ifn_status st = ifn_gguf_writer_create(&w);
    for (int k = 0; k < 40 && st == IFN_OK; k++) { /* enough keys to grow the buffers */
        char key[32];
        snprintf(key, sizeof key, "key.%d", k);
        st = ifn_gguf_writer_set_string_array(w, key, strs, 2);
    }
    for (int t = 0; t < 70 && st == IFN_OK; t++) {
        char name[32];
        snprintf(name, sizeof name, "t.%d", t);
        st = ifn_gguf_writer_add_tensor(w, name, 2, ne, IFN_DTYPE_Q8_0);
    }
    if (st == IFN_OK) st = ifn_gguf_writer_open(w, path);
    for (int t = 0; t < 70 && st == IFN_OK; t++)
        st = ifn_gguf_writer_write(w, data, sizeof data);
    if (st == IFN_OK) st = ifn_gguf_writer_close(w);
    ifn_gguf_writer_destroy(w);
    *out_st = st;
}

static void test_gguf_writer_survives_allocation_failures(void **state) {
    (void)state;
    const char *path = temp_path(3);
    size_t live = ifn_alloc_live_bytes();
    int n_failed = 0;
    for (int64_t nth = 1; nth < 40; nth++) {
        ifn_status st;
        ifn_alloc_fail_after(nth);
        build_small_file(path, &st);
        ifn_alloc_fail_after(0);
        assert_true(st == IFN_OK || st == IFN_E_NOMEM);
        n_failed += st == IFN_E_NOMEM;
        assert_int_equal(ifn_alloc_live_bytes(), live);
        if (st == IFN_E_NOMEM) assert_int_equal(access(path, F_OK), -1);
    }
    assert_true(n_failed > 3);
    unlink(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gguf_writer_round_trips_every_value_type),
        cmocka_unit_test(test_gguf_writer_honours_custom_alignment),
        cmocka_unit_test(test_gguf_writer_copies_every_key_of_a_vocabulary),
        cmocka_unit_test(test_gguf_writer_rejects_bad_metadata),
        cmocka_unit_test(test_gguf_writer_rejects_bad_tensors),
        cmocka_unit_test(test_gguf_writer_enforces_the_write_sequence),
        cmocka_unit_test(test_gguf_writer_reports_an_unwritable_path),
        cmocka_unit_test(test_gguf_writer_reports_a_full_disk),
        cmocka_unit_test(test_gguf_writer_survives_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
