/* Model repository: a folder tree DIR/<name>/<version>/ (version a positive integer) with one
 * model file per version folder (*.gguf, or a llama2.c *.bin with tokenizer.bin or tok*.bin
 * beside it) and optional config.json files (model_config.h). A scan is a snapshot: entries sorted
 * by name then version, bad ones kept with an error instead of failing the scan. Resolution maps
 * what a client asks for ("name", "name@3", an alias) to one entry under the version policy.
 * Scanning reads the disk; it loads no model. A repository is immutable after the scan. */
#ifndef IFN_MANAGER_REPOSITORY_H
#define IFN_MANAGER_REPOSITORY_H

#include <stdint.h>

#include "inferneo/status.h"
#include "manager/model_config.h"
#include "util/str.h"

typedef struct ifn_repository_entry {
    char *name;
    int64_t version;         /* >= 1; 0 for a name folder without any usable version folder */
    char *dir;               /* the version folder (the name folder when version is 0) */
    char *model_path;        /* NULL when the entry is bad */
    char *tokenizer_path;    /* llama2.c tokenizer; NULL for GGUF */
    ifn_model_config config; /* name config.json overridden by the version's */
    int is_served;           /* the name's version policy serves this version */
    char *error;             /* why the entry cannot be served; NULL when it can */
} ifn_repository_entry;

/* Deep copy into an uninitialised dst. Errors: IFN_E_NOMEM (dst left empty, deinit-safe). */
ifn_status ifn_repository_entry_copy(const ifn_repository_entry *src, ifn_repository_entry *dst);
/* Frees what the entry owns and zeroes it. NULL-safe. */
void ifn_repository_entry_deinit(ifn_repository_entry *entry);

typedef struct ifn_repository ifn_repository;

/* Scans `dir`. Errors: IFN_E_IO (dir cannot be read), IFN_E_NOMEM. Problems with a model folder
 * are not errors of the scan: they become entries with `error` set. */
ifn_status ifn_repository_scan(const char *dir, ifn_repository **out_repository);
void ifn_repository_destroy(ifn_repository *repository);

int32_t ifn_repository_count(const ifn_repository *repository);
/* Borrowed; valid while the repository lives. index in [0, count). */
const ifn_repository_entry *ifn_repository_entry_at(const ifn_repository *repository,
                                                    int32_t index);

/* Splits a model reference: "name@3" -> ("name", 3); "name" -> ("name", 0). The view points into
 * `ref`. Errors: IFN_E_INVALID (empty name, or '@' followed by anything but a positive integer). */
ifn_status ifn_repository_parse_ref(const char *ref, ifn_str *out_name, int64_t *out_version);

/* Finds the entry `ref` names among entries[0..n): a name or alias, without a version the highest
 * version the policy serves, with "@N" exactly version N (which the policy must serve). Names
 * win over aliases; an alias shared by two names is ambiguous. Errors (with a message for the
 * client): IFN_E_INVALID (no such model or version, not served, ambiguous), IFN_E_FORMAT (the
 * model exists but its entry is bad: the message carries the entry's error). Thread-safe for
 * read-only entries. */
ifn_status ifn_repository_resolve(const ifn_repository_entry *const *entries, int32_t n,
                                  const char *ref, int32_t *out_index);

#endif
