/* Repository scanning and resolution on a generated folder tree: model files are found (GGUF, or
 * a llama2.c checkpoint with its tokenizer), versions sort numerically, the version policy
 * (latest, latest N, all, specific) decides what serves, names and aliases resolve to the latest
 * served version and "name@N" to one, and every kind of bad entry is listed with its error while
 * the rest of the scan goes on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "manager/repo_fixture.h"
#include "manager/repository.h"
#include "util/alloc.h"
#include "util/status.h"

typedef struct fixture {
    char root[256];
    const char *gguf, *bin, *tok;
} fixture;

static void put_gguf(fixture *f, const char *rel) {
    fx_copy(f->gguf, f->root, rel, 0);
}

static int setup(void **state) {
    static fixture f;
    f.gguf = shared_path("models/stories260K/stories260Ktok512.gguf");
    f.bin = shared_path("models/stories260K/stories260K.bin");
    f.tok = shared_path("models/stories260K/tok512.bin");
    if (!f.gguf || !f.bin || !f.tok) {
        *state = NULL;
        return 0;
    }
    fx_mkdtemp(f.root);
    /* alpha: versions 1, 2, 10 (numeric order), default policy latest */
    fx_mkdirs(f.root, "alpha/1");
    fx_mkdirs(f.root, "alpha/2");
    fx_mkdirs(f.root, "alpha/10");
    put_gguf(&f, "alpha/1/model.gguf");
    put_gguf(&f, "alpha/2/model.gguf");
    put_gguf(&f, "alpha/10/model.gguf");
    fx_write(f.root, "alpha/config.json", "{\"aliases\": [\"a\", \"first\"]}");
    /* beta: llama2.c checkpoint, specific versions 1 and 3 of 1..3; v3 adds an alias */
    for (int v = 1; v <= 3; v++) {
        char rel[64];
        snprintf(rel, sizeof rel, "beta/%d", v);
        fx_mkdirs(f.root, rel);
        snprintf(rel, sizeof rel, "beta/%d/stories.bin", v);
        fx_copy(f.bin, f.root, rel, 0);
        snprintf(rel, sizeof rel, "beta/%d/tok512.bin", v);
        fx_copy(f.tok, f.root, rel, 0);
    }
    fx_write(f.root, "beta/config.json", "{\"version_policy\": {\"specific\": [1, 3]}}");
    fx_write(f.root, "beta/3/config.json", "{\"aliases\": [\"b3\"], \"max_num_seqs\": 2}");
    /* gamma: policy all; delta: latest 2 */
    fx_mkdirs(f.root, "gamma/1");
    fx_mkdirs(f.root, "gamma/2");
    put_gguf(&f, "gamma/1/g.gguf");
    put_gguf(&f, "gamma/2/g.gguf");
    fx_write(f.root, "gamma/config.json", "{\"version_policy\": \"all\"}");
    fx_mkdirs(f.root, "delta/1");
    fx_mkdirs(f.root, "delta/2");
    fx_mkdirs(f.root, "delta/3");
    put_gguf(&f, "delta/1/d.gguf");
    put_gguf(&f, "delta/2/d.gguf");
    put_gguf(&f, "delta/3/d.gguf");
    fx_write(f.root, "delta/config.json",
             "{\"version_policy\": {\"latest\": {\"num_versions\": 2}}}");
    /* bad entries */
    fx_mkdirs(f.root, "empty/1");                /* no model file */
    fx_mkdirs(f.root, "noversions/notaversion"); /* no version folder at all */
    fx_mkdirs(f.root, "twomodels/1");            /* two model files */
    put_gguf(&f, "twomodels/1/a.gguf");
    put_gguf(&f, "twomodels/1/b.gguf");
    fx_mkdirs(f.root, "notok/1"); /* llama2.c without tokenizer */
    fx_copy(f.bin, f.root, "notok/1/m.bin", 0);
    fx_mkdirs(f.root, "badjson/1"); /* broken config of the name */
    put_gguf(&f, "badjson/1/m.gguf");
    fx_write(f.root, "badjson/config.json", "{\"aliases\": [");
    fx_mkdirs(f.root, "badkey/1"); /* unknown key in a version config */
    fx_mkdirs(f.root, "badkey/2");
    put_gguf(&f, "badkey/1/m.gguf");
    put_gguf(&f, "badkey/2/m.gguf");
    fx_write(f.root, "badkey/2/config.json", "{\"pinnned\": true}");
    fx_mkdirs(f.root, "zeros/01"); /* leading zero / zero versions */
    fx_mkdirs(f.root, "zeros/0");
    fx_write(f.root, "README.txt", "not a model folder");
    *state = &f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    if (f) fx_rm_rf(f->root);
    return 0;
}

static const ifn_repository_entry *find_entry(const ifn_repository *r, const char *name,
                                              int64_t version) {
    for (int32_t i = 0; i < ifn_repository_count(r); i++) {
        const ifn_repository_entry *e = ifn_repository_entry_at(r, i);
        if (strcmp(e->name, name) == 0 && e->version == version) return e;
    }
    return NULL;
}

static void expect_error(const ifn_repository *r, const char *name, int64_t version,
                         const char *fragment) {
    const ifn_repository_entry *e = find_entry(r, name, version);
    if (!e) fail_msg("no entry %s@%lld", name, (long long)version);
    if (!e->error || !strstr(e->error, fragment))
        fail_msg("%s@%lld: error '%s' lacks '%s'", name, (long long)version,
                 e->error ? e->error : "(none)", fragment);
    assert_false(e->is_served);
}

static void test_repository_scan_lists_good_and_bad_entries(void **state) {
    fixture *f = *state;
    if (!f) skip();
    size_t live = ifn_alloc_live_bytes();
    ifn_repository *r = NULL;
    assert_int_equal(ifn_repository_scan(f->root, &r), IFN_OK);
    /* sorted by name, then numerically by version */
    const ifn_repository_entry *first = ifn_repository_entry_at(r, 0);
    assert_string_equal(first->name, "alpha");
    assert_int_equal(first->version, 1);
    assert_int_equal(ifn_repository_entry_at(r, 2)->version, 10);
    const ifn_repository_entry *a10 = find_entry(r, "alpha", 10);
    assert_null(a10->error);
    assert_true(a10->is_served);
    assert_false(find_entry(r, "alpha", 2)->is_served);
    assert_non_null(strstr(a10->model_path, "alpha/10/model.gguf"));
    assert_null(a10->tokenizer_path);
    assert_int_equal(a10->config.n_aliases, 2);
    const ifn_repository_entry *b3 = find_entry(r, "beta", 3);
    assert_non_null(strstr(b3->tokenizer_path, "beta/3/tok512.bin"));
    assert_int_equal(b3->config.max_num_seqs, 2);
    assert_true(b3->is_served && find_entry(r, "beta", 1)->is_served);
    assert_false(find_entry(r, "beta", 2)->is_served);
    assert_true(find_entry(r, "gamma", 1)->is_served && find_entry(r, "gamma", 2)->is_served);
    assert_false(find_entry(r, "delta", 1)->is_served);
    assert_true(find_entry(r, "delta", 2)->is_served && find_entry(r, "delta", 3)->is_served);

    expect_error(r, "empty", 1, "no model file");
    expect_error(r, "noversions", 0, "no version folder");
    expect_error(r, "twomodels", 1, "several model files");
    expect_error(r, "notok", 1, "tokenizer");
    expect_error(r, "badjson", 1, "badjson/config.json:1:");
    expect_error(r, "badkey", 2, "unknown key \"pinnned\"");
    expect_error(r, "zeros", 0, "positive integer");
    assert_null(find_entry(r, "badkey", 1)->error); /* its sibling version is fine */
    assert_true(find_entry(r, "badkey", 1)->is_served);
    ifn_repository_destroy(r);
    assert_int_equal(ifn_alloc_live_bytes(), live);
    assert_int_equal(ifn_repository_scan("/nonexistent/folder", &r), IFN_E_IO);
}

static int32_t resolve(const ifn_repository *r, const char *ref, ifn_status want) {
    const ifn_repository_entry *entries[64];
    int32_t n = ifn_repository_count(r), index = -1;
    for (int32_t i = 0; i < n; i++)
        entries[i] = ifn_repository_entry_at(r, i);
    ifn_status st = ifn_repository_resolve(entries, n, ref, &index);
    if (st != want) fail_msg("%s: status %d, want %d (%s)", ref, st, want, ifn_last_error());
    return index;
}

static void expect_resolves(const ifn_repository *r, const char *ref, const char *name,
                            int64_t version) {
    const ifn_repository_entry *e = ifn_repository_entry_at(r, resolve(r, ref, IFN_OK));
    if (strcmp(e->name, name) != 0 || e->version != version)
        fail_msg("%s -> %s@%lld, want %s@%lld", ref, e->name, (long long)e->version, name,
                 (long long)version);
}

static void test_repository_resolves_names_versions_and_aliases(void **state) {
    fixture *f = *state;
    if (!f) skip();
    ifn_repository *r = NULL;
    assert_int_equal(ifn_repository_scan(f->root, &r), IFN_OK);
    expect_resolves(r, "alpha", "alpha", 10);
    expect_resolves(r, "a", "alpha", 10);
    expect_resolves(r, "first@10", "alpha", 10);
    expect_resolves(r, "beta", "beta", 3);
    expect_resolves(r, "beta@1", "beta", 1);
    expect_resolves(r, "b3", "beta", 3);
    expect_resolves(r, "gamma@1", "gamma", 1);
    expect_resolves(r, "gamma", "gamma", 2);
    expect_resolves(r, "delta@2", "delta", 2);
    expect_resolves(r, "badkey", "badkey", 1); /* the bad newer version does not hide it */
    resolve(r, "alpha@2", IFN_E_INVALID);      /* exists but the policy serves only the latest */
    assert_non_null(strstr(ifn_last_error(), "not served"));
    resolve(r, "beta@2", IFN_E_INVALID);
    resolve(r, "alpha@7", IFN_E_INVALID);
    assert_non_null(strstr(ifn_last_error(), "no version 7"));
    resolve(r, "nosuch", IFN_E_INVALID);
    assert_non_null(strstr(ifn_last_error(), "does not exist"));
    resolve(r, "alpha@x", IFN_E_INVALID);
    resolve(r, "alpha@0", IFN_E_INVALID);
    resolve(r, "", IFN_E_INVALID);
    resolve(r, "empty", IFN_E_FORMAT);
    assert_non_null(strstr(ifn_last_error(), "no model file"));
    resolve(r, "badkey@2", IFN_E_FORMAT);
    ifn_repository_destroy(r);

    /* an alias two names share is ambiguous; a name beats an alias */
    fx_write(f->root, "gamma/config.json",
             "{\"version_policy\": \"all\", \"aliases\": [\"a\", "
             "\"delta\"]}");
    assert_int_equal(ifn_repository_scan(f->root, &r), IFN_OK);
    resolve(r, "a", IFN_E_INVALID);
    assert_non_null(strstr(ifn_last_error(), "ambiguous"));
    expect_resolves(r, "delta", "delta", 3);
    ifn_repository_destroy(r);
    fx_write(f->root, "gamma/config.json", "{\"version_policy\": \"all\"}");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_repository_scan_lists_good_and_bad_entries),
        cmocka_unit_test(test_repository_resolves_names_versions_and_aliases),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
