/* Per-model settings of a model repository: the config.json beside a model (DIR/<name>/config.json
 * for every version, DIR/<name>/<version>/config.json overriding it key by key). Parsing is
 * strict: an unknown key or a value of the wrong type is an error naming the file and the key,
 * so a typo never silently changes how a model is served. Plain data, no threads. */
#ifndef IFN_MANAGER_MODEL_CONFIG_H
#define IFN_MANAGER_MODEL_CONFIG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "inferneo/status.h"

#define IFN_KEEP_ALIVE_DEFAULT (-2) /* the model's keep-alive, else the manager's */
#define IFN_KEEP_ALIVE_FOREVER (-1)

typedef enum ifn_version_policy {
    IFN_VERSION_POLICY_LATEST = 0,   /* the n_latest highest versions (default 1) */
    IFN_VERSION_POLICY_ALL = 1,      /* every version */
    IFN_VERSION_POLICY_SPECIFIC = 2, /* the versions listed */
} ifn_version_policy;

typedef struct ifn_model_config {
    char **aliases; /* [n_aliases] other names clients may use */
    int32_t n_aliases;
    int32_t context_length; /* positions per sequence; 0 = the manager's / the model's */
    int32_t max_num_seqs;   /* 0 = the manager's engine default */
    size_t kv_cache_bytes;  /* KV memory; 0 = the manager's default sizing */
    char *chat_template;    /* a built-in template name or a file path; NULL = the model's */
    json_t *defaults;       /* sampling defaults (a JSON object, one reference owned), or NULL */
    int is_pinned;          /* never evicted nor unloaded for idleness */
    int64_t keep_alive_ms;  /* IFN_KEEP_ALIVE_DEFAULT, IFN_KEEP_ALIVE_FOREVER or >= 0 */
    int32_t priority;       /* eviction order: lower priorities are evicted first */
    ifn_version_policy version_policy;
    int32_t n_latest;  /* IFN_VERSION_POLICY_LATEST */
    int64_t *versions; /* [n_versions] IFN_VERSION_POLICY_SPECIFIC */
    int32_t n_versions;
} ifn_model_config;

/* Defaults: nothing set, version policy latest (1). Cannot fail. */
void ifn_model_config_init(ifn_model_config *config);
/* Frees what the config owns and re-initialises it. NULL-safe. */
void ifn_model_config_deinit(ifn_model_config *config);

/* Deep copy into an uninitialised dst. Errors: IFN_E_NOMEM (dst is left initialised, empty). */
ifn_status ifn_model_config_copy(const ifn_model_config *src, ifn_model_config *dst);

/* Parses one JSON object into an uninitialised `out`. A relative chat_template file is taken
 * relative to `base_dir`; a value that is neither a built-in template name nor a readable file
 * is an error. Keys starting with '_' are comments. Errors: IFN_E_FORMAT (message names the key),
 * IFN_E_NOMEM; on error `out` is left initialised and empty. */
ifn_status ifn_model_config_parse(const json_t *object, const char *base_dir,
                                  ifn_model_config *out);

/* Reads name_dir/config.json and version_dir/config.json (either may be NULL or missing; the
 * version's keys override the name's) into an uninitialised `out`. A chat_template file is
 * relative to the folder of the config that names it. Errors: IFN_E_FORMAT (bad JSON or value,
 * message names the file), IFN_E_NOMEM. */
ifn_status ifn_model_config_load(const char *name_dir, const char *version_dir,
                                 ifn_model_config *out);

/* "1073741824", "512M", "1.5G", "64KiB", "2GB": binary multiples (K, M, G, T; an optional
 * trailing "B" or "iB"). Errors: IFN_E_INVALID (message quotes the text). */
ifn_status ifn_model_config_parse_bytes(const char *text, size_t *out_bytes);

/* Ollama-style keep-alive: "-1" (forever; any negative), "0", "300" (seconds), "30s", "5m",
 * "1h", "250ms", "1.5h". Errors: IFN_E_INVALID. */
ifn_status ifn_model_config_parse_duration(const char *text, int64_t *out_ms);

#endif
