#include "cli/args.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/status.h"

int ifn_args_is(const char *arg, const char *short_name, const char *long_name) {
    return (short_name && strcmp(arg, short_name) == 0) || (long_name && strcmp(arg, long_name) == 0);
}

ifn_status ifn_args_value(int argc, char **argv, int *i, const char **out_value) {
    if (*i + 1 >= argc) return ifn_fail(IFN_E_INVALID, "option %s needs a value", argv[*i]);
    *i += 1;
    *out_value = argv[*i];
    return IFN_OK;
}

ifn_status ifn_args_int(const char *option, const char *text, int64_t min, int64_t max,
                        int64_t *out) {
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < min || v > max)
        return ifn_fail(IFN_E_INVALID, "option %s: '%s' is not an integer in [%lld, %lld]", option,
                        text, (long long)min, (long long)max);
    *out = v;
    return IFN_OK;
}

ifn_status ifn_args_float(const char *option, const char *text, double min, double max,
                          double *out) {
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || isnan(v) || v < min || v > max)
        return ifn_fail(IFN_E_INVALID, "option %s: '%s' is not a number in [%g, %g]", option, text,
                        min, max);
    *out = v;
    return IFN_OK;
}

int ifn_args_wants_help(int argc, char **argv) {
    for (int i = 0; i < argc; i++)
        if (ifn_args_is(argv[i], "-h", "--help")) return 1;
    return 0;
}
