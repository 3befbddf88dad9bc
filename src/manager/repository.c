/* Repository scanning and name resolution. A scan lists name folders, then each name's version
 * folders, reads the configs, picks each version's model file, and finally applies the name's
 * version policy. Every problem is written into an entry's `error`; only an unreadable root
 * folder or no memory fails the scan. */
#include "manager/repository.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/alloc.h"
#include "util/status.h"

#define MAX_VERSION 1000000000000LL

struct ifn_repository {
    ifn_repository_entry *entries; /* [n_entries], by name then version */
    int32_t n_entries, capacity;
};

typedef struct name_list {
    char **names;
    size_t count, capacity;
} name_list;

static char *dup_cstr(const char *s) {
    return s ? ifn_strndup(s, strlen(s)) : NULL;
}

static char *format_path(const char *dir, const char *name) {
    size_t len = strlen(dir) + 1 + strlen(name);
    char *path = ifn_malloc(len + 1);
    if (path) snprintf(path, len + 1, "%s/%s", dir, name);
    return path;
}

void ifn_repository_entry_deinit(ifn_repository_entry *e) {
    if (!e) return;
    ifn_free(e->name);
    ifn_free(e->dir);
    ifn_free(e->model_path);
    ifn_free(e->tokenizer_path);
    ifn_free(e->error);
    ifn_model_config_deinit(&e->config);
    memset(e, 0, sizeof *e);
    ifn_model_config_init(&e->config);
}

ifn_status ifn_repository_entry_copy(const ifn_repository_entry *src, ifn_repository_entry *dst) {
    memset(dst, 0, sizeof *dst);
    ifn_model_config_init(&dst->config);
    dst->version = src->version;
    dst->is_served = src->is_served;
    dst->name = dup_cstr(src->name);
    dst->dir = dup_cstr(src->dir);
    dst->model_path = dup_cstr(src->model_path);
    dst->tokenizer_path = dup_cstr(src->tokenizer_path);
    dst->error = dup_cstr(src->error);
    int ok = (!src->name || dst->name) && (!src->dir || dst->dir) &&
             (!src->model_path || dst->model_path) &&
             (!src->tokenizer_path || dst->tokenizer_path) && (!src->error || dst->error);
    if (ok && ifn_model_config_copy(&src->config, &dst->config) == IFN_OK) return IFN_OK;
    ifn_repository_entry_deinit(dst);
    return ifn_fail(IFN_E_NOMEM, "repository: no memory");
}

/* ---- folder listing --------------------------------------------------------------------- */

static int compare_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void names_free(name_list *l) {
    for (size_t i = 0; i < l->count; i++)
        ifn_free(l->names[i]);
    ifn_free(l->names);
    memset(l, 0, sizeof *l);
}

static int names_push(name_list *l, const char *name) {
    if (l->count == l->capacity) {
        size_t cap = l->capacity ? l->capacity * 2 : 16;
        char **grown = ifn_realloc(l->names, cap * sizeof *grown);
        if (!grown) return 0;
        l->names = grown;
        l->capacity = cap;
    }
    if (!(l->names[l->count] = dup_cstr(name))) return 0;
    l->count++;
    return 1;
}

/* Sorted names of the folders (want_dirs) or files in `dir`, hidden ones skipped. */
static ifn_status list_dir(const char *dir, int want_dirs, name_list *out) {
    memset(out, 0, sizeof *out);
    DIR *d = opendir(dir);
    if (!d) return ifn_fail(IFN_E_IO, "cannot read folder %s", dir);
    ifn_status st = IFN_OK;
    struct dirent *de;
    while (st == IFN_OK && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        char *path = format_path(dir, de->d_name);
        struct stat sb;
        int is_match =
            path && stat(path, &sb) == 0 && (want_dirs ? S_ISDIR(sb.st_mode) : S_ISREG(sb.st_mode));
        if (!path || (is_match && !names_push(out, de->d_name)))
            st = ifn_fail(IFN_E_NOMEM, "repository: no memory");
        ifn_free(path);
    }
    closedir(d);
    if (st != IFN_OK)
        names_free(out);
    else if (out->count > 1)
        qsort(out->names, out->count, sizeof *out->names, compare_names);
    return st;
}

/* ---- entries ---------------------------------------------------------------------------- */

static ifn_repository_entry *add_entry(ifn_repository *r, const char *name, int64_t version,
                                       const char *dir) {
    if (r->n_entries == r->capacity) {
        int32_t cap = r->capacity ? r->capacity * 2 : 16;
        ifn_repository_entry *grown = ifn_realloc(r->entries, sizeof *grown * (size_t)cap);
        if (!grown) return NULL;
        r->entries = grown;
        r->capacity = cap;
    }
    ifn_repository_entry *e = &r->entries[r->n_entries];
    memset(e, 0, sizeof *e);
    ifn_model_config_init(&e->config);
    e->version = version;
    e->name = dup_cstr(name);
    e->dir = dup_cstr(dir);
    if (!e->name || !e->dir) {
        ifn_repository_entry_deinit(e);
        return NULL;
    }
    r->n_entries++;
    return e;
}

/* Records why an entry cannot be served (the thread's last error unless `message` is given). */
static ifn_status set_error(ifn_repository_entry *e, const char *message) {
    ifn_free(e->error);
    e->error = dup_cstr(message ? message : ifn_last_error());
    return e->error ? IFN_OK : ifn_fail(IFN_E_NOMEM, "repository: no memory");
}

static int is_tokenizer_name(const char *f) {
    return strcmp(f, "tokenizer.bin") == 0 || (strncmp(f, "tok", 3) == 0 && strstr(f, ".bin"));
}

static int has_suffix(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && strcmp(s + n - m, suffix) == 0;
}

/* Picks the version folder's model file (and a llama2.c checkpoint's tokenizer). */
static ifn_status pick_model_file(ifn_repository_entry *e) {
    name_list files;
    ifn_status st = list_dir(e->dir, 0, &files);
    if (st != IFN_OK) return set_error(e, NULL);
    const char *model = NULL, *second = NULL, *tokenizer = NULL;
    for (size_t i = 0; i < files.count; i++) {
        const char *f = files.names[i];
        if (is_tokenizer_name(f)) {
            if (!tokenizer || strcmp(f, "tokenizer.bin") == 0) tokenizer = f;
        } else if (has_suffix(f, ".gguf") || has_suffix(f, ".bin")) {
            if (model && !second) second = f;
            if (!model) model = f;
        }
    }
    char message[512];
    if (!model)
        snprintf(message, sizeof message,
                 "%s has no model file (*.gguf, or a llama2.c *.bin "
                 "with tokenizer.bin beside it)",
                 e->dir);
    else if (second)
        snprintf(message, sizeof message,
                 "%s has several model files (%s, %s): keep one per "
                 "version folder",
                 e->dir, model, second);
    else if (has_suffix(model, ".bin") && !tokenizer)
        snprintf(message, sizeof message,
                 "%s: the llama2.c checkpoint %s needs its tokenizer "
                 "(tokenizer.bin or tok<vocab>.bin) beside it",
                 e->dir, model);
    if (!model || second || (has_suffix(model, ".bin") && !tokenizer))
        st = set_error(e, message);
    else {
        e->model_path = format_path(e->dir, model);
        if (has_suffix(model, ".bin")) e->tokenizer_path = format_path(e->dir, tokenizer);
        if (!e->model_path || (has_suffix(model, ".bin") && !e->tokenizer_path))
            st = ifn_fail(IFN_E_NOMEM, "repository: no memory");
    }
    names_free(&files);
    return st;
}

/* "3" -> 3; 0 for names that are not version folders (ignored); -1 for bad numbers. */
static int64_t parse_version_folder(const char *f) {
    if (f[0] < '0' || f[0] > '9') return 0;
    int64_t v = 0;
    for (const char *p = f; *p; p++) {
        if (*p < '0' || *p > '9') return 0;
        v = v * 10 + (*p - '0');
        if (v > MAX_VERSION) return -1;
    }
    return v == 0 || f[0] == '0' ? -1 : v;
}

static ifn_status scan_version(ifn_repository *r, const char *name, const char *name_dir,
                               const char *folder, int64_t version, const char *name_error) {
    char *dir = format_path(name_dir, folder);
    ifn_repository_entry *e = dir ? add_entry(r, name, version > 0 ? version : 0, dir) : NULL;
    ifn_free(dir);
    if (!e) return ifn_fail(IFN_E_NOMEM, "repository: no memory");
    char message[512];
    if (version < 0) {
        snprintf(message, sizeof message,
                 "%s: a version folder must be a positive integer "
                 "without leading zeros",
                 e->dir);
        return set_error(e, message);
    }
    if (name_error) return set_error(e, name_error);
    ifn_model_config_deinit(&e->config);
    if (ifn_model_config_load(name_dir, e->dir, &e->config) != IFN_OK) return set_error(e, NULL);
    return pick_model_file(e);
}

/* ---- version policy --------------------------------------------------------------------- */

static int is_listed(const ifn_model_config *c, int64_t version) {
    for (int32_t i = 0; i < c->n_versions; i++)
        if (c->versions[i] == version) return 1;
    return 0;
}

/* Marks which of entries[first..end) (one name, ascending versions) the policy serves. */
static void apply_policy(ifn_repository *r, int32_t first, const ifn_model_config *policy) {
    int32_t n_latest = 0;
    for (int32_t i = r->n_entries - 1; i >= first; i--) {
        ifn_repository_entry *e = &r->entries[i];
        if (e->error) continue;
        if (policy->version_policy == IFN_VERSION_POLICY_ALL)
            e->is_served = 1;
        else if (policy->version_policy == IFN_VERSION_POLICY_SPECIFIC)
            e->is_served = is_listed(policy, e->version);
        else
            e->is_served = n_latest++ < policy->n_latest;
    }
}

static int compare_entries(const void *a, const void *b) {
    const ifn_repository_entry *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->version > y->version) - (x->version < y->version);
}

static ifn_status scan_name(ifn_repository *r, const char *root, const char *name) {
    char *name_dir = format_path(root, name);
    if (!name_dir) return ifn_fail(IFN_E_NOMEM, "repository: no memory");
    ifn_model_config policy;
    char name_error[512] = "";
    if (strchr(name, '@'))
        snprintf(name_error, sizeof name_error, "%s: a model name may not contain '@'", name_dir);
    else if (ifn_model_config_load(name_dir, NULL, &policy) != IFN_OK)
        snprintf(name_error, sizeof name_error, "%s", ifn_last_error());
    if (name_error[0]) ifn_model_config_init(&policy);
    name_list folders;
    ifn_status st = list_dir(name_dir, 1, &folders);
    int32_t first = r->n_entries;
    for (size_t i = 0; st == IFN_OK && i < folders.count; i++) {
        int64_t version = parse_version_folder(folders.names[i]);
        if (version != 0)
            st = scan_version(r, name, name_dir, folders.names[i], version,
                              name_error[0] ? name_error : NULL);
    }
    if (st == IFN_OK && r->n_entries == first) { /* nothing servable: say so in the listing */
        ifn_repository_entry *e = add_entry(r, name, 0, name_dir);
        if (!e)
            st = ifn_fail(IFN_E_NOMEM, "repository: no memory");
        else if (!name_error[0])
            snprintf(name_error, sizeof name_error,
                     "%s has no version folder (%s/1/ holding the "
                     "model file)",
                     name_dir, name_dir);
        if (e) st = set_error(e, name_error);
    }
    if (st == IFN_OK) { /* folders list in text order ("10" < "9") */
        qsort(r->entries + first, (size_t)(r->n_entries - first), sizeof *r->entries,
              compare_entries);
        apply_policy(r, first, &policy);
    }
    names_free(&folders);
    ifn_model_config_deinit(&policy);
    ifn_free(name_dir);
    return st;
}

ifn_status ifn_repository_scan(const char *dir, ifn_repository **out) {
    ifn_repository *r = ifn_calloc(1, sizeof *r);
    if (!r) return ifn_fail(IFN_E_NOMEM, "repository: no memory");
    name_list names;
    ifn_status st = list_dir(dir, 1, &names);
    for (size_t i = 0; st == IFN_OK && i < names.count; i++)
        st = scan_name(r, dir, names.names[i]);
    names_free(&names);
    if (st != IFN_OK) {
        ifn_repository_destroy(r);
        return st;
    }
    *out = r;
    return IFN_OK;
}

void ifn_repository_destroy(ifn_repository *r) {
    if (!r) return;
    for (int32_t i = 0; i < r->n_entries; i++)
        ifn_repository_entry_deinit(&r->entries[i]);
    ifn_free(r->entries);
    ifn_free(r);
}

int32_t ifn_repository_count(const ifn_repository *r) {
    return r->n_entries;
}

const ifn_repository_entry *ifn_repository_entry_at(const ifn_repository *r, int32_t index) {
    return &r->entries[index];
}

/* ---- resolution ------------------------------------------------------------------------- */

ifn_status ifn_repository_parse_ref(const char *ref, ifn_str *out_name, int64_t *out_version) {
    const char *at = ref ? strrchr(ref, '@') : NULL;
    size_t len = ref ? (at ? (size_t)(at - ref) : strlen(ref)) : 0;
    if (len == 0) return ifn_fail(IFN_E_INVALID, "a model name is required");
    int64_t version = 0;
    if (at) {
        version = parse_version_folder(at + 1);
        if (version <= 0)
            return ifn_fail(IFN_E_INVALID, "'%s': a version after '@' must be a positive integer",
                            ref);
    }
    out_name->ptr = ref;
    out_name->len = len;
    *out_version = version;
    return IFN_OK;
}

static int names_entry(const ifn_repository_entry *e, ifn_str name) {
    return ifn_str_eq_cstr(name, e->name);
}

static int aliases_entry(const ifn_repository_entry *e, ifn_str name) {
    for (int32_t i = 0; i < e->config.n_aliases; i++)
        if (ifn_str_eq_cstr(name, e->config.aliases[i])) return 1;
    return 0;
}

/* The best entry among those `match` accepts: version `version` (0 = highest served); a served
 * valid entry beats a bad one, which is only returned so its error can be reported. */
static int32_t best_match(const ifn_repository_entry *const *entries, int32_t n, ifn_str name,
                          int64_t version, int (*match)(const ifn_repository_entry *, ifn_str)) {
    int32_t best = -1;
    for (int32_t i = 0; i < n; i++) {
        const ifn_repository_entry *e = entries[i];
        if (!match(e, name) || (version > 0 && e->version != version)) continue;
        if (version == 0 && !e->is_served && !e->error) continue;
        if (best < 0) {
            best = i;
            continue;
        }
        const ifn_repository_entry *b = entries[best];
        int e_good = !e->error, b_good = !b->error;
        if (e_good > b_good || (e_good == b_good && e->version > b->version)) best = i;
    }
    return best;
}

static ifn_status check_found(const ifn_repository_entry *e, const char *ref, int64_t version) {
    if (e->error) return ifn_fail(IFN_E_FORMAT, "model '%s' cannot be served: %s", ref, e->error);
    if (version > 0 && !e->is_served)
        return ifn_fail(IFN_E_INVALID,
                        "version %lld of model '%s' is not served (its "
                        "version_policy leaves it out)",
                        (long long)version, e->name);
    return IFN_OK;
}

/* An alias must lead to one name: two different names sharing it is ambiguous. */
static ifn_status check_alias_unique(const ifn_repository_entry *const *entries, int32_t n,
                                     ifn_str alias, const char *name, const char *ref) {
    for (int32_t i = 0; i < n; i++)
        if (strcmp(entries[i]->name, name) != 0 && aliases_entry(entries[i], alias))
            return ifn_fail(IFN_E_INVALID, "alias '%s' is ambiguous: both '%s' and '%s' use it",
                            ref, name, entries[i]->name);
    return IFN_OK;
}

ifn_status ifn_repository_resolve(const ifn_repository_entry *const *entries, int32_t n,
                                  const char *ref, int32_t *out_index) {
    ifn_str name;
    int64_t version;
    ifn_status st = ifn_repository_parse_ref(ref, &name, &version);
    if (st != IFN_OK) return st;
    int32_t found = best_match(entries, n, name, version, names_entry);
    if (found < 0) {
        found = best_match(entries, n, name, version, aliases_entry);
        if (found >= 0) st = check_alias_unique(entries, n, name, entries[found]->name, ref);
    }
    if (st != IFN_OK) return st;
    if (found < 0 && version > 0 &&
        best_match(entries, n, name, 0, names_entry) +
                best_match(entries, n, name, 0, aliases_entry) >
            -2)
        return ifn_fail(IFN_E_INVALID, "model '%.*s' has no version %lld", (int)name.len, name.ptr,
                        (long long)version);
    if (found < 0) return ifn_fail(IFN_E_INVALID, "model '%s' does not exist", ref);
    st = check_found(entries[found], ref, version);
    if (st == IFN_OK) *out_index = found;
    return st;
}
