/* config.json settings: every key parsed with its type and range checked, byte sizes and
 * durations in text, the version's file overriding the name's key by key, chat templates found
 * relative to the file that names them, and strictness (unknown keys, wrong types, bad JSON are
 * errors naming the file and key). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "manager/model_config.h"
#include "manager/repo_fixture.h"
#include "util/alloc.h"
#include "util/status.h"

static void test_model_config_parses_sizes_and_durations(void **state) {
    (void)state;
    size_t bytes = 0;
    assert_int_equal(ifn_model_config_parse_bytes("1073741824", &bytes), IFN_OK);
    assert_int_equal(bytes, 1073741824u);
    assert_int_equal(ifn_model_config_parse_bytes("512M", &bytes), IFN_OK);
    assert_int_equal(bytes, 512u << 20);
    assert_int_equal(ifn_model_config_parse_bytes("1.5G", &bytes), IFN_OK);
    assert_int_equal(bytes, 3u << 29);
    assert_int_equal(ifn_model_config_parse_bytes("64KiB", &bytes), IFN_OK);
    assert_int_equal(bytes, 65536);
    assert_int_equal(ifn_model_config_parse_bytes("2gb", &bytes), IFN_OK);
    assert_int_equal(bytes, (size_t)2 << 30);
    assert_int_equal(ifn_model_config_parse_bytes("12X", &bytes), IFN_E_INVALID);
    assert_int_equal(ifn_model_config_parse_bytes("-1", &bytes), IFN_E_INVALID);
    assert_int_equal(ifn_model_config_parse_bytes("", &bytes), IFN_E_INVALID);
    assert_int_equal(ifn_model_config_parse_bytes("1e30", &bytes), IFN_E_INVALID);

    int64_t ms = 0;
    assert_int_equal(ifn_model_config_parse_duration("300", &ms), IFN_OK);
    assert_int_equal(ms, 300000);
    assert_int_equal(ifn_model_config_parse_duration("5m", &ms), IFN_OK);
    assert_int_equal(ms, 300000);
    assert_int_equal(ifn_model_config_parse_duration("1.5h", &ms), IFN_OK);
    assert_int_equal(ms, 5400000);
    assert_int_equal(ifn_model_config_parse_duration("250ms", &ms), IFN_OK);
    assert_int_equal(ms, 250);
    assert_int_equal(ifn_model_config_parse_duration("0", &ms), IFN_OK);
    assert_int_equal(ms, 0);
    assert_int_equal(ifn_model_config_parse_duration("-1", &ms), IFN_OK);
    assert_int_equal(ms, IFN_KEEP_ALIVE_FOREVER);
    assert_int_equal(ifn_model_config_parse_duration("5 minutes", &ms), IFN_E_INVALID);
}

static ifn_status parse_text(const char *text, ifn_model_config *out) {
    json_error_t err;
    json_t *obj = json_loads(text, 0, &err);
    assert_non_null(obj);
    ifn_status st = ifn_model_config_parse(obj, NULL, out);
    json_decref(obj);
    return st;
}

static void test_model_config_reads_every_key(void **state) {
    (void)state;
    ifn_model_config c;
    assert_int_equal(
        parse_text("{\"aliases\": [\"chat\", \"default\"], \"context_length\": 256, "
                   "\"max_num_seqs\": 8, \"kv_cache_memory\": \"2M\", "
                   "\"chat_template\": \"chatml\", \"defaults\": {\"temperature\": 0.5},"
                   " \"pinned\": true, \"keep_alive\": 1.5, \"priority\": -3, "
                   "\"version_policy\": {\"specific\": [1, 3]}, \"_note\": 1}",
                   &c),
        IFN_OK);
    assert_int_equal(c.n_aliases, 2);
    assert_string_equal(c.aliases[1], "default");
    assert_int_equal(c.context_length, 256);
    assert_int_equal(c.max_num_seqs, 8);
    assert_int_equal(c.kv_cache_bytes, 2u << 20);
    assert_string_equal(c.chat_template, "chatml");
    assert_true(json_real_value(json_object_get(c.defaults, "temperature")) == 0.5);
    assert_true(c.is_pinned);
    assert_int_equal(c.keep_alive_ms, 1500);
    assert_int_equal(c.priority, -3);
    assert_int_equal(c.version_policy, IFN_VERSION_POLICY_SPECIFIC);
    assert_int_equal(c.n_versions, 2);
    assert_int_equal(c.versions[1], 3);
    ifn_model_config copy;
    assert_int_equal(ifn_model_config_copy(&c, &copy), IFN_OK);
    ifn_model_config_deinit(&c);
    assert_string_equal(copy.aliases[0], "chat");
    assert_int_equal(copy.versions[0], 1);
    ifn_model_config_deinit(&copy);

    assert_int_equal(parse_text("{\"keep_alive\": \"10m\", \"version_policy\": \"all\", "
                                "\"kv_cache_memory\": 4096}",
                                &c),
                     IFN_OK);
    assert_int_equal(c.keep_alive_ms, 600000);
    assert_int_equal(c.version_policy, IFN_VERSION_POLICY_ALL);
    assert_int_equal(c.kv_cache_bytes, 4096);
    ifn_model_config_deinit(&c);
    assert_int_equal(parse_text("{\"version_policy\": {\"latest\": {\"num_versions\": 2}}, "
                                "\"keep_alive\": -1}",
                                &c),
                     IFN_OK);
    assert_int_equal(c.n_latest, 2);
    assert_int_equal(c.keep_alive_ms, IFN_KEEP_ALIVE_FOREVER);
    ifn_model_config_deinit(&c);
}

static void test_model_config_rejects_bad_values(void **state) {
    (void)state;
    const char *bad[] = {
        "{\"context_lenght\": 10}",
        "{\"context_length\": 0}",
        "{\"context_length\": \"1k\"}",
        "{\"max_num_seqs\": 100000}",
        "{\"aliases\": \"chat\"}",
        "{\"aliases\": [\"a@1\"]}",
        "{\"aliases\": [\"\"]}",
        "{\"pinned\": 1}",
        "{\"defaults\": []}",
        "{\"kv_cache_memory\": \"lots\"}",
        "{\"keep_alive\": \"soon\"}",
        "{\"chat_template\": \"no-such-template-or-file\"}",
        "{\"version_policy\": \"newest\"}",
        "{\"version_policy\": {\"specific\": [0]}}",
        "{\"version_policy\": {\"specific\": []}}",
        "[1, 2]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ifn_model_config c;
        ifn_status st = parse_text(bad[i], &c);
        if (st != IFN_E_FORMAT) fail_msg("%s was accepted (%d)", bad[i], st);
        assert_int_equal(c.n_aliases, 0); /* left empty */
        ifn_model_config_deinit(&c);
    }
}

static void test_model_config_version_file_overrides_name_file(void **state) {
    (void)state;
    size_t live = ifn_alloc_live_bytes();
    char root[256], name_dir[512], version_dir[512];
    fx_mkdtemp(root);
    fx_mkdirs(root, "m/2");
    fx_write(root, "m/config.json",
             "{\"aliases\": [\"x\"], \"max_num_seqs\": 4, "
             "\"chat_template\": \"t.jinja\", \"pinned\": true}");
    fx_write(root, "m/t.jinja", "{{ messages[0].content }}");
    fx_write(root, "m/2/config.json", "{\"max_num_seqs\": 2, \"pinned\": false}");
    snprintf(name_dir, sizeof name_dir, "%s/m", root);
    snprintf(version_dir, sizeof version_dir, "%s/m/2", root);
    ifn_model_config c;
    assert_int_equal(ifn_model_config_load(name_dir, version_dir, &c), IFN_OK);
    assert_int_equal(c.max_num_seqs, 2);
    assert_false(c.is_pinned);
    assert_string_equal(c.aliases[0], "x");
    char want[600];
    snprintf(want, sizeof want, "%s/t.jinja", name_dir);
    assert_string_equal(c.chat_template, want);
    ifn_model_config_deinit(&c);

    /* a template named by the version's file is relative to the version folder */
    fx_write(root, "m/2/config.json", "{\"chat_template\": \"t.jinja\"}");
    assert_int_equal(ifn_model_config_load(name_dir, version_dir, &c), IFN_E_FORMAT);
    assert_non_null(strstr(ifn_last_error(), "m/2/t.jinja"));
    fx_write(root, "m/2/t.jinja", "{{ messages[0].content }}");
    assert_int_equal(ifn_model_config_load(name_dir, version_dir, &c), IFN_OK);
    snprintf(want, sizeof want, "%s/t.jinja", version_dir);
    assert_string_equal(c.chat_template, want);
    ifn_model_config_deinit(&c);

    /* bad JSON names the file and line; a missing file is no config at all */
    fx_write(root, "m/2/config.json", "{\"max_num_seqs\": 2,\n \"pinned\": }");
    assert_int_equal(ifn_model_config_load(name_dir, version_dir, &c), IFN_E_FORMAT);
    assert_non_null(strstr(ifn_last_error(), "m/2/config.json:2:"));
    assert_int_equal(ifn_model_config_load(NULL, version_dir, &c), IFN_E_FORMAT);
    snprintf(version_dir, sizeof version_dir, "%s/m/3", root);
    assert_int_equal(ifn_model_config_load(NULL, version_dir, &c), IFN_OK);
    assert_int_equal(c.max_num_seqs, 0);
    assert_int_equal(c.keep_alive_ms, IFN_KEEP_ALIVE_DEFAULT);
    ifn_model_config_deinit(&c);
    fx_rm_rf(root);
    assert_int_equal(ifn_alloc_live_bytes(), live);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_config_parses_sizes_and_durations),
        cmocka_unit_test(test_model_config_reads_every_key),
        cmocka_unit_test(test_model_config_rejects_bad_values),
        cmocka_unit_test(test_model_config_version_file_overrides_name_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
