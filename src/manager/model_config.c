/* config.json parsing: one merged JSON object (the version's keys over the name's), then one
 * pass over its keys, each checked for type and range. Sizes and durations also accept text
 * ("512M", "5m"), parsed by helpers the server reuses for request fields and flags. */
#include "manager/model_config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tokenizer/chat_template.h"
#include "util/alloc.h"
#include "util/status.h"

#define MAX_CONTEXT_LENGTH (1 << 24)
#define MAX_NUM_SEQS 4096
#define MAX_VERSIONS 4096

void ifn_model_config_init(ifn_model_config *c) {
    memset(c, 0, sizeof *c);
    c->keep_alive_ms = IFN_KEEP_ALIVE_DEFAULT;
    c->version_policy = IFN_VERSION_POLICY_LATEST;
    c->n_latest = 1;
}

void ifn_model_config_deinit(ifn_model_config *c) {
    if (!c) return;
    for (int32_t i = 0; i < c->n_aliases; i++)
        ifn_free(c->aliases[i]);
    ifn_free(c->aliases);
    ifn_free(c->chat_template);
    ifn_free(c->versions);
    if (c->defaults) json_decref(c->defaults);
    ifn_model_config_init(c);
}

static char *dup_cstr(const char *s) {
    return s ? ifn_strndup(s, strlen(s)) : NULL;
}

ifn_status ifn_model_config_copy(const ifn_model_config *src, ifn_model_config *dst) {
    *dst = *src;
    dst->aliases = NULL;
    dst->n_aliases = 0;
    dst->chat_template = NULL;
    dst->versions = NULL;
    dst->defaults = src->defaults ? json_deep_copy(src->defaults) : NULL;
    int ok = !src->defaults || dst->defaults;
    if (ok && src->n_aliases > 0) {
        dst->aliases = ifn_calloc((size_t)src->n_aliases, sizeof *dst->aliases);
        ok = dst->aliases != NULL;
        for (int32_t i = 0; ok && i < src->n_aliases; i++) {
            dst->aliases[i] = dup_cstr(src->aliases[i]);
            ok = dst->aliases[i] != NULL;
            dst->n_aliases = i + 1;
        }
    }
    if (ok && src->chat_template) ok = (dst->chat_template = dup_cstr(src->chat_template)) != NULL;
    if (ok && src->n_versions > 0) {
        dst->versions = ifn_malloc(sizeof *dst->versions * (size_t)src->n_versions);
        ok = dst->versions != NULL;
        if (ok)
            memcpy(dst->versions, src->versions, sizeof *dst->versions * (size_t)src->n_versions);
    }
    if (ok) return IFN_OK;
    ifn_model_config_deinit(dst);
    return ifn_fail(IFN_E_NOMEM, "model config: no memory");
}

/* ---- text values ------------------------------------------------------------------------ */

static int parse_number(const char *text, double *out_value, const char **out_rest) {
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || errno != 0 || !isfinite(v)) return 0;
    *out_value = v;
    *out_rest = end;
    return 1;
}

ifn_status ifn_model_config_parse_bytes(const char *text, size_t *out_bytes) {
    static const char units[] = "KMGT";
    double v;
    const char *rest;
    if (!text || !parse_number(text, &v, &rest) || v < 0)
        return ifn_fail(IFN_E_INVALID, "'%s' is not a byte size (like 1073741824 or 512M)",
                        text ? text : "");
    double scale = 1;
    const char *unit = strchr(units, rest[0] >= 'a' ? rest[0] - 32 : rest[0]);
    if (rest[0] && unit) {
        for (const char *u = units; u <= unit; u++)
            scale *= 1024;
        rest++;
        if (rest[0] == 'i') rest++;
    }
    if (rest[0] == 'B' || rest[0] == 'b') rest++;
    double bytes = v * scale;
    if (rest[0] != '\0' || bytes >= 18446744073709551616.0 || bytes > (double)SIZE_MAX)
        return ifn_fail(IFN_E_INVALID, "'%s' is not a byte size (like 1073741824 or 512M)", text);
    *out_bytes = (size_t)bytes;
    return IFN_OK;
}

ifn_status ifn_model_config_parse_duration(const char *text, int64_t *out_ms) {
    double v;
    const char *rest;
    if (!text || !parse_number(text, &v, &rest))
        return ifn_fail(IFN_E_INVALID, "'%s' is not a duration (like 300, 30s, 5m, 1h or -1)",
                        text ? text : "");
    double scale = 1000; /* a bare number is seconds */
    if (strcmp(rest, "ms") == 0)
        scale = 1;
    else if (strcmp(rest, "s") == 0 || rest[0] == '\0')
        scale = 1000;
    else if (strcmp(rest, "m") == 0)
        scale = 60e3;
    else if (strcmp(rest, "h") == 0)
        scale = 3600e3;
    else
        return ifn_fail(IFN_E_INVALID, "'%s' is not a duration (like 300, 30s, 5m, 1h or -1)",
                        text);
    double ms = v * scale;
    if (ms > 9.2e18) ms = 9.2e18;
    *out_ms = v < 0 ? IFN_KEEP_ALIVE_FOREVER : (int64_t)ms;
    return IFN_OK;
}

/* ---- keys ------------------------------------------------------------------------------- */

static ifn_status get_int(const json_t *v, const char *key, int64_t lo, int64_t hi, int64_t *out) {
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return ifn_fail(IFN_E_FORMAT, "\"%s\" must be an integer in [%lld, %lld]", key,
                        (long long)lo, (long long)hi);
    *out = json_integer_value(v);
    return IFN_OK;
}

static ifn_status parse_aliases(const json_t *v, ifn_model_config *c) {
    if (!json_is_array(v)) return ifn_fail(IFN_E_FORMAT, "\"aliases\" must be a list of strings");
    size_t n = json_array_size(v);
    if (n == 0) return IFN_OK;
    c->aliases = ifn_calloc(n, sizeof *c->aliases);
    if (!c->aliases) return ifn_fail(IFN_E_NOMEM, "model config: no memory");
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(v, i));
        if (!s || !s[0] || strchr(s, '@') || strchr(s, '/'))
            return ifn_fail(IFN_E_FORMAT,
                            "\"aliases\"[%zu] must be a non-empty string without "
                            "'@' or '/'",
                            i);
        if (!(c->aliases[i] = dup_cstr(s))) return ifn_fail(IFN_E_NOMEM, "model config: no memory");
        c->n_aliases = (int32_t)i + 1;
    }
    return IFN_OK;
}

static ifn_status parse_kv_memory(const json_t *v, ifn_model_config *c) {
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        c->kv_cache_bytes = (size_t)json_integer_value(v);
        return IFN_OK;
    }
    if (!json_is_string(v))
        return ifn_fail(IFN_E_FORMAT, "\"kv_cache_memory\" must be bytes (a number or \"512M\")");
    if (ifn_model_config_parse_bytes(json_string_value(v), &c->kv_cache_bytes) != IFN_OK)
        return ifn_fail(IFN_E_FORMAT, "\"kv_cache_memory\": %s", ifn_last_error());
    return IFN_OK;
}

static ifn_status parse_keep_alive(const json_t *v, ifn_model_config *c) {
    if (json_is_number(v)) {
        double s = json_number_value(v);
        c->keep_alive_ms =
            s < 0 ? IFN_KEEP_ALIVE_FOREVER : (int64_t)(s * 1000 > 9.2e18 ? 9.2e18 : s * 1000);
        return IFN_OK;
    }
    if (json_is_string(v) &&
        ifn_model_config_parse_duration(json_string_value(v), &c->keep_alive_ms) == IFN_OK)
        return IFN_OK;
    return ifn_fail(IFN_E_FORMAT, "\"keep_alive\" must be seconds (-1 = forever) or a duration "
                                  "like \"5m\"");
}

static ifn_status parse_chat_template(const json_t *v, const char *base_dir, ifn_model_config *c) {
    const char *name = json_string_value(v);
    if (!name || !name[0]) return ifn_fail(IFN_E_FORMAT, "\"chat_template\" must be a string");
    char path[4096];
    if (ifn_chat_template_builtin(name) || name[0] == '/' || !base_dir)
        snprintf(path, sizeof path, "%s", name);
    else
        snprintf(path, sizeof path, "%s/%s", base_dir, name);
    if (!ifn_chat_template_builtin(name) && access(path, R_OK) != 0)
        return ifn_fail(IFN_E_FORMAT,
                        "\"chat_template\": '%s' is neither a built-in template nor "
                        "a readable file",
                        path);
    c->chat_template = dup_cstr(path);
    return c->chat_template ? IFN_OK : ifn_fail(IFN_E_NOMEM, "model config: no memory");
}

static ifn_status parse_specific(const json_t *list, ifn_model_config *c) {
    size_t n = json_array_size(list);
    if (!json_is_array(list) || n == 0 || n > MAX_VERSIONS)
        return ifn_fail(IFN_E_FORMAT, "\"version_policy\": \"specific\" needs a list of versions");
    c->versions = ifn_malloc(sizeof *c->versions * n);
    if (!c->versions) return ifn_fail(IFN_E_NOMEM, "model config: no memory");
    for (size_t i = 0; i < n; i++) {
        int64_t version = 0;
        if (get_int(json_array_get(list, i), "version_policy.specific", 1, INT64_MAX, &version) !=
            IFN_OK)
            return IFN_E_FORMAT;
        c->versions[c->n_versions++] = version;
    }
    c->version_policy = IFN_VERSION_POLICY_SPECIFIC;
    return IFN_OK;
}

/* "latest" | "all" | {"specific": [1, 3]} | {"latest": {"num_versions": 2}} | {"all": {}} */
static ifn_status parse_version_policy(const json_t *v, ifn_model_config *c) {
    const char *s = json_string_value(v);
    if (s && strcmp(s, "latest") == 0) return IFN_OK;
    if (s && strcmp(s, "all") == 0) {
        c->version_policy = IFN_VERSION_POLICY_ALL;
        return IFN_OK;
    }
    if (json_is_object(v) && json_object_size(v) == 1) {
        if (json_object_get(v, "specific"))
            return parse_specific(json_object_get(v, "specific"), c);
        if (json_object_get(v, "all")) {
            c->version_policy = IFN_VERSION_POLICY_ALL;
            return IFN_OK;
        }
        const json_t *latest = json_object_get(v, "latest");
        const json_t *num = json_is_object(latest) ? json_object_get(latest, "num_versions") : NULL;
        int64_t n = 1;
        if (latest && (!num || get_int(num, "version_policy.latest.num_versions", 1, MAX_VERSIONS,
                                       &n) == IFN_OK)) {
            c->n_latest = (int32_t)n;
            return IFN_OK;
        }
    }
    return ifn_fail(IFN_E_FORMAT, "\"version_policy\" must be \"latest\", \"all\" or "
                                  "{\"specific\": [versions]}");
}

static ifn_status parse_key(const char *key, const json_t *v, const char *base_dir,
                            ifn_model_config *c) {
    int64_t n = 0;
    ifn_status st = IFN_OK;
    if (key[0] == '_') return IFN_OK;
    if (strcmp(key, "aliases") == 0) return parse_aliases(v, c);
    if (strcmp(key, "context_length") == 0) {
        st = get_int(v, key, 1, MAX_CONTEXT_LENGTH, &n);
        c->context_length = (int32_t)n;
    } else if (strcmp(key, "max_num_seqs") == 0) {
        st = get_int(v, key, 1, MAX_NUM_SEQS, &n);
        c->max_num_seqs = (int32_t)n;
    } else if (strcmp(key, "priority") == 0) {
        st = get_int(v, key, INT32_MIN, INT32_MAX, &n);
        c->priority = (int32_t)n;
    } else if (strcmp(key, "pinned") == 0) {
        if (!json_is_boolean(v)) return ifn_fail(IFN_E_FORMAT, "\"pinned\" must be true or false");
        c->is_pinned = json_is_true(v);
    } else if (strcmp(key, "defaults") == 0) {
        if (!json_is_object(v)) return ifn_fail(IFN_E_FORMAT, "\"defaults\" must be an object");
        c->defaults = json_deep_copy(v);
        if (!c->defaults) return ifn_fail(IFN_E_NOMEM, "model config: no memory");
    } else if (strcmp(key, "kv_cache_memory") == 0)
        return parse_kv_memory(v, c);
    else if (strcmp(key, "keep_alive") == 0)
        return parse_keep_alive(v, c);
    else if (strcmp(key, "chat_template") == 0)
        return parse_chat_template(v, base_dir, c);
    else if (strcmp(key, "version_policy") == 0)
        return parse_version_policy(v, c);
    else
        return ifn_fail(IFN_E_FORMAT, "unknown key \"%s\"", key);
    return st;
}

ifn_status ifn_model_config_parse(const json_t *object, const char *base_dir,
                                  ifn_model_config *out) {
    ifn_model_config_init(out);
    if (!json_is_object(object)) return ifn_fail(IFN_E_FORMAT, "the config is not a JSON object");
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)object, key, value) {
        ifn_status st = parse_key(key, value, base_dir, out);
        if (st != IFN_OK) {
            ifn_model_config_deinit(out);
            return st;
        }
    }
    return IFN_OK;
}

/* ---- files ------------------------------------------------------------------------------ */

/* Reads dir/config.json into *out (NULL when the file does not exist). */
static ifn_status read_config_file(const char *dir, char *path, size_t cap, json_t **out) {
    *out = NULL;
    if (!dir) return IFN_OK;
    snprintf(path, cap, "%s/config.json", dir);
    if (access(path, F_OK) != 0) return IFN_OK;
    json_error_t err;
    *out = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (!*out) return ifn_fail(IFN_E_FORMAT, "%s:%d:%d: %s", path, err.line, err.column, err.text);
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return ifn_fail(IFN_E_FORMAT, "%s: not a JSON object", path);
    }
    return IFN_OK;
}

ifn_status ifn_model_config_load(const char *name_dir, const char *version_dir,
                                 ifn_model_config *out) {
    char name_path[4096], version_path[4096];
    json_t *base = NULL, *over = NULL;
    ifn_model_config_init(out);
    ifn_status st = read_config_file(name_dir, name_path, sizeof name_path, &base);
    if (st == IFN_OK) st = read_config_file(version_dir, version_path, sizeof version_path, &over);
    if (st != IFN_OK) goto out;
    if (!base) base = json_object();
    if (!base || (over && json_object_update(base, over) != 0)) {
        st = ifn_fail(IFN_E_NOMEM, "model config: no memory");
        goto out;
    }
    /* chat_template is relative to the folder of the config that names it */
    int from_version = over && json_object_get(over, "chat_template");
    st = ifn_model_config_parse(base, from_version ? version_dir : name_dir, out);
    if (st != IFN_OK && over && json_object_size(base) > json_object_size(over))
        st = ifn_fail(st, "%s over %s: %s", version_path, name_path, ifn_last_error());
    else if (st != IFN_OK)
        st = ifn_fail(st, "%s: %s", over ? version_path : name_path, ifn_last_error());
out:
    if (base) json_decref(base);
    if (over) json_decref(over);
    return st;
}
