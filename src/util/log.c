/* Logging sink and level filter. The level is read from IFN_LOG once; the sink is set before
 * threads start, so only the level needs an atomic. */
#include "util/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_int g_log_level = -1;
static ifn_log_sink g_log_sink;
static void *g_log_user;

static const char *level_name(ifn_log_level level) {
    static const char *names[] = {"error", "warn", "info", "debug"};
    return names[level];
}

static int level_from_env(void) {
    const char *env = getenv("IFN_LOG");
    if (!env) return IFN_LOG_LEVEL_INFO;
    for (int i = IFN_LOG_LEVEL_ERROR; i <= IFN_LOG_LEVEL_DEBUG; i++) {
        if (strcmp(env, level_name((ifn_log_level)i)) == 0) return i;
    }
    return IFN_LOG_LEVEL_INFO;
}

void ifn_log_set_level(ifn_log_level level) {
    atomic_store(&g_log_level, (int)level);
}

ifn_log_level ifn_log_get_level(void) {
    int level = atomic_load(&g_log_level);
    if (level < 0) {
        level = level_from_env();
        atomic_store(&g_log_level, level);
    }
    return (ifn_log_level)level;
}

void ifn_log_set_sink(ifn_log_sink sink, void *user) {
    g_log_sink = sink;
    g_log_user = user;
}

void ifn_log_write(ifn_log_level level, const char *module, const char *fmt, ...) {
    if (level > ifn_log_get_level()) return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (g_log_sink) {
        g_log_sink(level, module, line, g_log_user);
        return;
    }
    fprintf(stderr, "[%s] %s: %s\n", level_name(level), module, line);
}
