/* Tests of ifn_dequant_row: every tensor of every quantfix-<TYPE>.gguf decodes to exactly the
 * floats of quantfix-<TYPE>.expected.gguf (ggml's own decoding), plus argument checks and a few
 * hand-built blocks that pin the bit layouts. The shared-vector tests skip when
 * $IFN_SHARED_DIR/vectors/quant is missing. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernels/dequant.h"
#include "kernels/ref/quant_blocks.h"
#include "model/gguf.h"
#include "util/alloc.h"
#include "util/half.h"
#include "util/status.h"

typedef struct quant_case {
    const char *name; /* TYPE in quantfix-<TYPE>.gguf */
    ifn_dtype type;
} quant_case;

static const quant_case g_cases[] = {
    {"F16", IFN_DTYPE_F16},       {"BF16", IFN_DTYPE_BF16},     {"Q4_0", IFN_DTYPE_Q4_0},
    {"Q4_1", IFN_DTYPE_Q4_1},     {"Q5_0", IFN_DTYPE_Q5_0},     {"Q5_1", IFN_DTYPE_Q5_1},
    {"Q8_0", IFN_DTYPE_Q8_0},     {"Q2_K", IFN_DTYPE_Q2_K},     {"Q3_K", IFN_DTYPE_Q3_K},
    {"Q4_K", IFN_DTYPE_Q4_K},     {"Q5_K", IFN_DTYPE_Q5_K},     {"Q6_K", IFN_DTYPE_Q6_K},
    {"IQ4_NL", IFN_DTYPE_IQ4_NL}, {"IQ4_XS", IFN_DTYPE_IQ4_XS},
};

static int quant_dir(char *out, size_t out_size) {
    const char *shared = getenv("IFN_SHARED_DIR");
    if (!shared) return 0;
    snprintf(out, out_size, "%s/vectors/quant", shared);
    return 1;
}

static ifn_gguf *open_or_skip(const char *dir, const char *file) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    ifn_gguf *g = NULL;
    ifn_status st = ifn_gguf_open(path, &g);
    if (st != IFN_OK) {
        print_message("cannot open %s: %s\n", path, ifn_last_error());
        return NULL;
    }
    return g;
}

static int64_t tensor_elems(const ifn_gguf_tensor *t) {
    return t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
}

/* Decodes tensor `q` row by row and compares with F32 tensor `want`; returns mismatches. */
static int64_t compare_tensor(const ifn_gguf_tensor *q, const ifn_gguf_tensor *want) {
    const int64_t row_elems = q->ne[0];
    const int64_t n_rows = tensor_elems(q) / row_elems;
    const size_t row_bytes = ifn_dtype_row_bytes(q->type, row_elems);
    float *row = malloc((size_t)row_elems * sizeof *row);
    assert_non_null(row);
    int64_t mismatches = 0;
    for (int64_t r = 0; r < n_rows; r++) {
        const unsigned char *src = (const unsigned char *)q->data + (size_t)r * row_bytes;
        assert_int_equal(ifn_dequant_row(q->type, src, row, row_elems), IFN_OK);
        for (int64_t i = 0; i < row_elems; i++) {
            float expected;
            memcpy(&expected, (const unsigned char *)want->data + 4 * (size_t)(r * row_elems + i),
                   sizeof expected);
            /* Same bits, not just equal floats: the decoder keeps ggml's operation order, so
             * even the signs of zero (e.g. 0 * negative scale) must match. */
            if (!isnan(row[i]) && ifn_f32_to_bits(row[i]) == ifn_f32_to_bits(expected)) continue;
            if (mismatches++ < 5) {
                print_message("%.*s row %lld col %lld: got %.9g want %.9g\n", (int)q->name.len,
                              q->name.ptr, (long long)r, (long long)i, row[i], expected);
            }
        }
    }
    free(row);
    return mismatches;
}

static void check_quant_file(const char *dir, const quant_case *c) {
    char file[256];
    snprintf(file, sizeof file, "quantfix-%s.gguf", c->name);
    ifn_gguf *quant = open_or_skip(dir, file);
    snprintf(file, sizeof file, "quantfix-%s.expected.gguf", c->name);
    ifn_gguf *expected = open_or_skip(dir, file);
    assert_non_null(quant);
    assert_non_null(expected);
    assert_int_equal(ifn_gguf_tensor_count(quant), 11);
    int n_of_type = 0;
    for (int64_t i = 0; i < ifn_gguf_tensor_count(quant); i++) {
        const ifn_gguf_tensor *t = ifn_gguf_tensor_at(quant, i);
        char name[300];
        snprintf(name, sizeof name, "%.*s", (int)t->name.len, t->name.ptr);
        const ifn_gguf_tensor *want = ifn_gguf_find_tensor(expected, name);
        assert_non_null(want);
        assert_int_equal(want->type, IFN_DTYPE_F32);
        assert_memory_equal(want->ne, t->ne, sizeof t->ne);
        n_of_type += t->type == c->type;
        int64_t bad = compare_tensor(t, want);
        if (bad) print_message("%s: %s has %lld mismatches\n", c->name, name, (long long)bad);
        assert_int_equal(bad, 0);
    }
    assert_int_equal(n_of_type, 8); /* the 8 matrices; the 3 norms stay F32 */
    ifn_gguf_close(quant);
    ifn_gguf_close(expected);
}

static void test_dequant_matches_expected_files(void **state) {
    (void)state;
    char dir[900];
    if (!quant_dir(dir, sizeof dir)) skip();
    char probe[1024];
    snprintf(probe, sizeof probe, "%s/quantfix-F32.gguf", dir);
    FILE *f = fopen(probe, "rb");
    if (!f) skip();
    fclose(f);
    for (size_t i = 0; i < sizeof g_cases / sizeof g_cases[0]; i++) {
        check_quant_file(dir, &g_cases[i]);
    }
}

static void test_dequant_rejects_partial_blocks(void **state) {
    (void)state;
    unsigned char src[4096] = {0};
    float dst[1024];
    ifn_clear_error();
    assert_int_equal(ifn_dequant_row(IFN_DTYPE_Q4_0, src, dst, 31), IFN_E_INVALID);
    assert_true(ifn_last_error()[0] != '\0');
    assert_int_equal(ifn_dequant_row(IFN_DTYPE_Q4_K, src, dst, 32), IFN_E_INVALID);
    assert_int_equal(ifn_dequant_row(IFN_DTYPE_IQ4_XS, src, dst, 255), IFN_E_INVALID);
    assert_int_equal(ifn_dequant_row(IFN_DTYPE_Q8_0, src, dst, -32), IFN_E_INVALID);
    assert_int_equal(ifn_dequant_row(IFN_DTYPE_F32, src, dst, -1), IFN_E_INVALID);
    assert_int_equal(ifn_dequant_row(IFN_DTYPE_Q6_K, src, dst, 0), IFN_OK);
}

static void test_dequant_rejects_types_without_decoder(void **state) {
    (void)state;
    unsigned char src[4096] = {0};
    float dst[1024];
    const uint32_t ids[] = {IFN_DTYPE_Q8_1,
                            IFN_DTYPE_Q8_K,
                            IFN_DTYPE_IQ2_XXS,
                            IFN_DTYPE_IQ1_S,
                            IFN_DTYPE_I32,
                            IFN_DTYPE_F64,
                            IFN_DTYPE_TQ2_0,
                            4,
                            5,
                            IFN_DTYPE_COUNT,
                            1000};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        assert_int_equal(ifn_dequant_row((ifn_dtype)ids[i], src, dst, 256), IFN_E_UNSUPPORTED);
        assert_true(ifn_last_error()[0] != '\0');
    }
}

/* can_dequantize in the dtype table and the decoders must agree. */
static void test_dequant_matches_dtype_table(void **state) {
    (void)state;
    unsigned char src[4096] = {0};
    float dst[1024];
    for (uint32_t id = 0; id < IFN_DTYPE_COUNT; id++) {
        const ifn_dtype_info *info = ifn_dtype_get_info(id);
        ifn_status st = ifn_dequant_row((ifn_dtype)id, src, dst, 256);
        if (info && info->can_dequantize) {
            assert_int_equal(st, IFN_OK);
            for (int i = 0; i < 256; i++)
                assert_true(dst[i] == 0.0f);
        } else {
            assert_int_equal(st, IFN_E_UNSUPPORTED);
        }
    }
}

/* The block structs and the dtype table agree on geometry. */
static void test_dequant_block_layouts_match_dtype_table(void **state) {
    (void)state;
    const struct {
        ifn_dtype type;
        size_t bytes, elems;
    } blocks[] = {
        {IFN_DTYPE_Q4_0, sizeof(ifn_block_q4_0), IFN_QK_SMALL},
        {IFN_DTYPE_Q4_1, sizeof(ifn_block_q4_1), IFN_QK_SMALL},
        {IFN_DTYPE_Q5_0, sizeof(ifn_block_q5_0), IFN_QK_SMALL},
        {IFN_DTYPE_Q5_1, sizeof(ifn_block_q5_1), IFN_QK_SMALL},
        {IFN_DTYPE_Q8_0, sizeof(ifn_block_q8_0), IFN_QK_SMALL},
        {IFN_DTYPE_IQ4_NL, sizeof(ifn_block_iq4_nl), IFN_QK_SMALL},
        {IFN_DTYPE_Q2_K, sizeof(ifn_block_q2_k), IFN_QK_K},
        {IFN_DTYPE_Q3_K, sizeof(ifn_block_q3_k), IFN_QK_K},
        {IFN_DTYPE_Q4_K, sizeof(ifn_block_q4_k), IFN_QK_K},
        {IFN_DTYPE_Q5_K, sizeof(ifn_block_q5_k), IFN_QK_K},
        {IFN_DTYPE_Q6_K, sizeof(ifn_block_q6_k), IFN_QK_K},
        {IFN_DTYPE_IQ4_XS, sizeof(ifn_block_iq4_xs), IFN_QK_K},
    };
    for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++) {
        const ifn_dtype_info *info = ifn_dtype_get_info((uint32_t)blocks[i].type);
        assert_non_null(info);
        assert_int_equal(info->block_bytes, blocks[i].bytes);
        assert_int_equal(info->block_elems, blocks[i].elems);
    }
}

/* Decoding from an odd address gives the same floats (blocks are memcpy'd, not cast). */
static void test_dequant_accepts_unaligned_source(void **state) {
    (void)state;
    const ifn_dtype types[] = {IFN_DTYPE_F16,  IFN_DTYPE_Q4_1, IFN_DTYPE_Q5_0,  IFN_DTYPE_Q3_K,
                               IFN_DTYPE_Q5_K, IFN_DTYPE_Q6_K, IFN_DTYPE_IQ4_XS};
    unsigned char buf[512 + 1]; /* 256 elements of the largest type here (F16) */
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(i * 37 + 11);
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        /* compared as bytes, so a scale pattern that happens to be NaN is fine too */
        float aligned[256], unaligned[256];
        uint16_t copy[256]; /* 2-byte aligned, as the F16 fields would want */
        memcpy(copy, buf + 1, sizeof copy);
        assert_int_equal(ifn_dequant_row(types[t], copy, aligned, 256), IFN_OK);
        assert_int_equal(ifn_dequant_row(types[t], buf + 1, unaligned, 256), IFN_OK);
        assert_memory_equal(aligned, unaligned, 256 * sizeof(float));
    }
}

static void put_f16(unsigned char *p, float value) {
    uint16_t h = ifn_f32_to_f16(value);
    memcpy(p, &h, 2);
}

static void test_dequant_q4_0_layout(void **state) {
    (void)state;
    unsigned char block[18];
    put_f16(block, -0.5f);
    for (int j = 0; j < 16; j++)
        block[2 + j] = (unsigned char)(j | ((15 - j) << 4));
    float y[32];
    assert_int_equal(ifn_dequant_row(IFN_DTYPE_Q4_0, block, y, 32), IFN_OK);
    for (int j = 0; j < 16; j++) {
        assert_true(y[j] == (float)(j - 8) * -0.5f);
        assert_true(y[j + 16] == (float)(7 - j) * -0.5f);
    }
    /* (8 - 8) * negative scale is -0.0, as in ggml */
    assert_true(signbit(y[8]));
}

static void test_dequant_q8_0_and_q5_0_layout(void **state) {
    (void)state;
    unsigned char q8[34];
    put_f16(q8, 0.25f);
    for (int j = 0; j < 32; j++)
        q8[2 + j] = (unsigned char)(int8_t)(j * 8 - 128);
    float y[32];
    assert_int_equal(ifn_dequant_row(IFN_DTYPE_Q8_0, q8, y, 32), IFN_OK);
    for (int j = 0; j < 32; j++)
        assert_true(y[j] == (float)(j * 8 - 128) * 0.25f);

    unsigned char q5[22] = {0};
    put_f16(q5, 1.0f);
    const uint32_t qh = 0x80000001u; /* 5th bit of element 0 and element 31 */
    memcpy(q5 + 2, &qh, 4);
    for (int j = 0; j < 16; j++)
        q5[6 + j] = 0xFF;
    assert_int_equal(ifn_dequant_row(IFN_DTYPE_Q5_0, q5, y, 32), IFN_OK);
    assert_true(y[0] == 15.0f); /* 31 - 16 */
    assert_true(y[1] == -1.0f); /* 15 - 16 */
    assert_true(y[30] == -1.0f);
    assert_true(y[31] == 15.0f);
}

static void test_dequant_f16_bf16_exact(void **state) {
    (void)state;
    const uint16_t halves[] = {0x0000, 0x8000, 0x0001, 0x03ff, 0x0400,
                               0x3c00, 0xc000, 0x7bff, 0x7c00, 0xfc00};
    const float want[] = {0.0f,
                          -0.0f,
                          5.9604644775390625e-08f,
                          6.09755516052246094e-05f,
                          6.103515625e-05f,
                          1.0f,
                          -2.0f,
                          65504.0f,
                          INFINITY,
                          -INFINITY};
    float y[10];
    assert_int_equal(ifn_dequant_row(IFN_DTYPE_F16, halves, y, 10), IFN_OK);
    for (int i = 0; i < 10; i++) {
        assert_true(y[i] == want[i]);
        assert_int_equal(signbit(y[i]) != 0, signbit(want[i]) != 0);
    }
    const uint16_t bf[] = {0x3f80, 0xbf80, 0x4049, 0x0001};
    assert_int_equal(ifn_dequant_row(IFN_DTYPE_BF16, bf, y, 4), IFN_OK);
    assert_true(y[0] == 1.0f);
    assert_true(y[1] == -1.0f);
    assert_true(y[2] == 3.140625f);
    assert_true(y[3] == ifn_bits_to_f32(0x00010000u));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dequant_rejects_partial_blocks),
        cmocka_unit_test(test_dequant_rejects_types_without_decoder),
        cmocka_unit_test(test_dequant_matches_dtype_table),
        cmocka_unit_test(test_dequant_block_layouts_match_dtype_table),
        cmocka_unit_test(test_dequant_accepts_unaligned_source),
        cmocka_unit_test(test_dequant_q4_0_layout),
        cmocka_unit_test(test_dequant_q8_0_and_q5_0_layout),
        cmocka_unit_test(test_dequant_f16_bf16_exact),
        cmocka_unit_test(test_dequant_matches_expected_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
