/* Levelled logging: one line per event, message first, then key=value pairs.
 * The sink is a replaceable callback (default: stderr). Never log prompts or completions
 * at INFO or above, and never log from kernels or per-token loops. */
#ifndef IFN_UTIL_LOG_H
#define IFN_UTIL_LOG_H

#include "util/compiler.h"

typedef enum ifn_log_level {
    IFN_LOG_LEVEL_ERROR = 0,
    IFN_LOG_LEVEL_WARN = 1,
    IFN_LOG_LEVEL_INFO = 2,
    IFN_LOG_LEVEL_DEBUG = 3,
} ifn_log_level;

typedef void (*ifn_log_sink)(ifn_log_level level, const char *module, const char *line,
                             void *user);

/* Sets the most verbose level that is emitted (default INFO, or IFN_LOG=error|warn|info|debug
 * read once at first use). Thread-safe. */
void ifn_log_set_level(ifn_log_level level);
ifn_log_level ifn_log_get_level(void);

/* Replaces the sink; NULL restores stderr. Call before starting threads. */
void ifn_log_set_sink(ifn_log_sink sink, void *user);

void ifn_log_write(ifn_log_level level, const char *module, const char *fmt, ...)
    IFN_PRINTF(3, 4);

#define IFN_LOG_ERROR(module, ...) ifn_log_write(IFN_LOG_LEVEL_ERROR, module, __VA_ARGS__)
#define IFN_LOG_WARN(module, ...) ifn_log_write(IFN_LOG_LEVEL_WARN, module, __VA_ARGS__)
#define IFN_LOG_INFO(module, ...) ifn_log_write(IFN_LOG_LEVEL_INFO, module, __VA_ARGS__)
#define IFN_LOG_DEBUG(module, ...) ifn_log_write(IFN_LOG_LEVEL_DEBUG, module, __VA_ARGS__)

#endif
