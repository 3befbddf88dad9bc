/* Robustness of the GGUF reader on damaged real files: every .gguf under $IFN_SHARED_DIR
 * (models/, vectors/, recursively) is parsed from memory after (1) truncation to every length
 * up to 4 KiB and to sampled longer lengths, and (2) seeded random byte damage, biased toward
 * the header and metadata where counts and lengths live. Nothing may crash or read outside the
 * image (CI runs this under ASan+UBSan: each image sits in a block of exactly its size), and a
 * parse that succeeds must hand out views that stay inside the image (we read them all).
 * Deterministic: the seeds are fixed. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "model/gguf.h"
#include "util/rng.h"
#include "util/status.h"

#define ALL_PREFIXES_UP_TO 4096 /* every truncation length below this is tried */
#define SAMPLED_TRUNCATIONS 200
#define DAMAGED_COPIES 300
#define MAX_FILES 256

typedef struct file_list {
    char *paths[MAX_FILES];
    int count;
} file_list;

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static void find_gguf_files(const char *dir, file_list *out) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && out->count < MAX_FILES) {
        if (e->d_name[0] == '.') continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            find_gguf_files(path, out);
        } else if (S_ISREG(st.st_mode) && ends_with(e->d_name, ".gguf")) {
            out->paths[out->count] = malloc(strlen(path) + 1);
            assert_non_null(out->paths[out->count]);
            strcpy(out->paths[out->count++], path);
        }
    }
    closedir(d);
}

static int compare_paths(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static unsigned char *read_file(const char *path, size_t *out_size) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long size = ftell(f);
    assert_true(size > 0);
    rewind(f);
    unsigned char *data = malloc((size_t)size);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    *out_size = (size_t)size;
    return data;
}

/* ---- reading back everything a successful parse hands out ---- */

typedef struct image {
    const unsigned char *data;
    size_t size;
} image;

static unsigned touch(const image *img, const void *ptr, size_t len) {
    if (len == 0) return 0;
    const unsigned char *p = ptr;
    assert_true(p >= img->data && p + len <= img->data + img->size);
    unsigned sum = 0;
    for (size_t i = 0; i < len; i += 64)
        sum += p[i];
    return sum + p[len - 1];
}

static unsigned touch_value(const image *img, const ifn_gguf_value *v, int depth);

static unsigned touch_array(const image *img, const ifn_gguf_array *a, int depth) {
    static const size_t scalar_sizes[IFN_GGUF_TYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    unsigned sum = 0;
    assert_true(depth < 64);
    assert_true((unsigned)a->elem_type < IFN_GGUF_TYPE_COUNT);
    if (a->elem_type == IFN_GGUF_TYPE_STRING) {
        for (uint64_t i = 0; i < a->count; i++)
            sum += touch(img, a->strs[i].ptr, a->strs[i].len);
    } else if (a->elem_type == IFN_GGUF_TYPE_ARRAY) {
        for (uint64_t i = 0; i < a->count; i++)
            sum += touch_value(img, &a->items[i], depth + 1);
    } else {
        sum += touch(img, a->raw, (size_t)a->count * scalar_sizes[a->elem_type]);
        if (a->count) {
            int64_t iv;
            double fv;
            (void)ifn_gguf_array_int(a, a->count - 1, &iv);
            (void)ifn_gguf_array_float(a, 0, &fv);
        }
    }
    return sum;
}

static unsigned touch_value(const image *img, const ifn_gguf_value *v, int depth) {
    int64_t iv;
    double fv;
    int bv;
    (void)ifn_gguf_value_int(v, &iv);
    (void)ifn_gguf_value_float(v, &fv);
    (void)ifn_gguf_value_bool(v, &bv);
    if (v->type == IFN_GGUF_TYPE_STRING) return touch(img, v->as.str.ptr, v->as.str.len);
    if (v->type == IFN_GGUF_TYPE_ARRAY) return touch_array(img, &v->as.arr, depth);
    return 0;
}

static unsigned touch_all(const image *img, const ifn_gguf *g) {
    unsigned sum = 0;
    for (int64_t i = 0; i < ifn_gguf_kv_count(g); i++) {
        const ifn_gguf_kv *kv = ifn_gguf_kv_at(g, i);
        sum += touch(img, kv->key.ptr, kv->key.len);
        sum += touch_value(img, &kv->value, 0);
    }
    for (int64_t i = 0; i < ifn_gguf_tensor_count(g); i++) {
        const ifn_gguf_tensor *t = ifn_gguf_tensor_at(g, i);
        assert_true(t->n_dims >= 1 && t->n_dims <= 4);
        assert_non_null(ifn_dtype_get_info((uint32_t)t->type));
        sum += touch(img, t->name.ptr, t->name.len);
        sum += touch(img, t->data, t->size_bytes);
    }
    return sum;
}

/* Parses img; a success must be fully readable, a failure must come with a message. */
static int parse_and_check(const image *img) {
    ifn_gguf *g = NULL;
    ifn_clear_error();
    ifn_status st = ifn_gguf_open_memory(img->data, img->size, &g);
    if (st != IFN_OK) {
        assert_true(st == IFN_E_FORMAT || st == IFN_E_UNSUPPORTED || st == IFN_E_NOMEM);
        assert_true(strlen(ifn_last_error()) > 0);
        return 0;
    }
    volatile unsigned sink = touch_all(img, g);
    (void)sink;
    (void)ifn_gguf_find(g, "general.architecture");
    (void)ifn_gguf_find_tensor(g, "token_embd.weight");
    ifn_gguf_close(g);
    return 1;
}

/* ---- the two damage schedules ---- */

/* Where the metadata and tensor infos end: the first tensor's data, or the file's end. */
static size_t header_region(const unsigned char *data, size_t size) {
    ifn_gguf *g = NULL;
    assert_int_equal(ifn_gguf_open_memory(data, size, &g), IFN_OK);
    size_t end = size;
    for (int64_t i = 0; i < ifn_gguf_tensor_count(g); i++) {
        size_t pos = (size_t)((const unsigned char *)ifn_gguf_tensor_at(g, i)->data - data);
        if (pos < end) end = pos;
    }
    ifn_gguf_close(g);
    return end;
}

/* Parses the first `len` bytes of `data`, copied to the end of `scratch` (a block of `size`
 * bytes) so that the image ends exactly where the allocation does: ASan flags any read past it.
 * One scratch block per file avoids a large allocation per truncation. */
static void parse_prefix(const unsigned char *data, size_t len, unsigned char *scratch,
                         size_t size) {
    unsigned char *start = scratch + (size - len);
    memcpy(start, data, len);
    image img = {start, len};
    (void)parse_and_check(&img);
}

static void truncate_all_ways(const unsigned char *data, size_t size, size_t header_end,
                              uint64_t seed) {
    unsigned char *scratch = malloc(size);
    assert_non_null(scratch);
    const size_t all_up_to = size < ALL_PREFIXES_UP_TO ? size : ALL_PREFIXES_UP_TO;
    for (size_t len = 0; len < all_up_to; len++)
        parse_prefix(data, len, scratch, size);
    if (size > ALL_PREFIXES_UP_TO) {
        ifn_rng rng;
        ifn_rng_seed(&rng, seed);
        for (int i = 0; i < SAMPLED_TRUNCATIONS; i++) {
            /* half inside the metadata, half anywhere (tensor data included) */
            const size_t limit =
                (i % 2 == 0 && header_end > ALL_PREFIXES_UP_TO) ? header_end : size;
            const size_t len = ALL_PREFIXES_UP_TO +
                               (size_t)(ifn_rng_next_u64(&rng) % (limit - ALL_PREFIXES_UP_TO));
            parse_prefix(data, len, scratch, size);
        }
        parse_prefix(data, size - 1, scratch, size);
    }
    free(scratch);
}

/* Values that make counts, lengths, types and offsets interesting. */
static uint64_t interesting_u64(ifn_rng *rng, size_t size) {
    const uint64_t values[] = {0,
                               1,
                               2,
                               3,
                               4,
                               5,
                               8,
                               12,
                               13,
                               31,
                               32,
                               33,
                               255,
                               256,
                               65535,
                               0x7fffffffu,
                               0x80000000u,
                               0xffffffffu,
                               1ull << 32,
                               1ull << 62,
                               (uint64_t)INT64_MAX,
                               1ull << 63,
                               UINT64_MAX,
                               UINT64_MAX - 31,
                               (uint64_t)size,
                               (uint64_t)size + 1,
                               (uint64_t)size / 2};
    return values[ifn_rng_next_u64(rng) % (sizeof values / sizeof values[0])];
}

/* One random edit at a position biased to the file's start and its metadata. */
static size_t pick_position(ifn_rng *rng, size_t size, size_t header_end) {
    const uint64_t r = ifn_rng_next_u64(rng);
    size_t span;
    switch (r % 8) {
    case 0:
    case 1:
    case 2:
        span = 64;
        break; /* magic, version, counts, first key */
    case 3:
    case 4:
        span = 1024;
        break;
    case 5:
    case 6:
        span = header_end;
        break;
    default:
        span = size;
        break;
    }
    if (span > size) span = size;
    return (size_t)((r >> 8) % span);
}

/* The bytes an edit replaced, to undo it after the parse. */
typedef struct edit {
    size_t pos;
    size_t len;
    unsigned char old[8];
} edit;

#define MAX_EDITS 4

/* Applies 1..4 random edits (bit flip, random byte, or an interesting u32/u64); returns how many
 * were logged in `undo`. */
static int damage(unsigned char *data, size_t size, size_t header_end, ifn_rng *rng, edit *undo) {
    const int n_edits = 1 + (int)(ifn_rng_next_u64(rng) % MAX_EDITS);
    for (int e = 0; e < n_edits; e++) {
        const size_t pos = pick_position(rng, size, header_end);
        const uint64_t mode = ifn_rng_next_u64(rng) % 4;
        size_t n = mode < 2 ? 1 : mode == 2 ? 8 : 4;
        if (pos + n > size) n = size - pos;
        undo[e].pos = pos;
        undo[e].len = n;
        memcpy(undo[e].old, data + pos, n);
        if (mode == 0) {
            data[pos] ^= (unsigned char)(1u << (ifn_rng_next_u64(rng) % 8));
        } else if (mode == 1) {
            data[pos] = (unsigned char)ifn_rng_next_u64(rng);
        } else {
            const uint64_t v = interesting_u64(rng, size);
            memcpy(data + pos, &v, n);
        }
    }
    return n_edits;
}

static int damage_all_ways(const unsigned char *data, size_t size, size_t header_end,
                           uint64_t seed) {
    unsigned char *copy = malloc(size);
    assert_non_null(copy);
    memcpy(copy, data, size);
    ifn_rng rng;
    ifn_rng_seed(&rng, seed);
    int n_ok = 0;
    for (int i = 0; i < DAMAGED_COPIES; i++) {
        edit undo[MAX_EDITS];
        const int n_edits = damage(copy, size, header_end, &rng, undo);
        image img = {copy, size};
        n_ok += parse_and_check(&img);
        for (int e = n_edits - 1; e >= 0; e--)
            memcpy(copy + undo[e].pos, undo[e].old, undo[e].len);
    }
    assert_memory_equal(copy, data, size);
    free(copy);
    return n_ok;
}

static void test_gguf_survives_damaged_shared_files(void **state) {
    (void)state;
    const char *shared = getenv("IFN_SHARED_DIR");
    if (!shared) skip();
    file_list files = {{0}, 0};
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/models", shared);
    find_gguf_files(dir, &files);
    snprintf(dir, sizeof dir, "%s/vectors", shared);
    find_gguf_files(dir, &files);
    if (files.count == 0) skip();
    qsort(files.paths, (size_t)files.count, sizeof files.paths[0], compare_paths);
    for (int f = 0; f < files.count; f++) {
        size_t size = 0;
        unsigned char *data = read_file(files.paths[f], &size);
        const size_t header_end = header_region(data, size);
        truncate_all_ways(data, size, header_end, 1000 + (uint64_t)f);
        const int n_ok = damage_all_ways(data, size, header_end, 2000 + (uint64_t)f);
        print_message("%s: %zu bytes, metadata %zu, %d of %d damaged copies still parse\n",
                      files.paths[f], size, header_end, n_ok, DAMAGED_COPIES);
        free(data);
        free(files.paths[f]);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gguf_survives_damaged_shared_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
