/* Small helpers for command-line parsing: option matching and checked number parsing.
 * Errors print nothing; they return IFN_E_INVALID with a message naming the option. */
#ifndef IFN_CLI_ARGS_H
#define IFN_CLI_ARGS_H

#include <stdint.h>

#include "inferneo/status.h"

/* 1 if arg equals short_name or long_name (either may be NULL). */
int ifn_args_is(const char *arg, const char *short_name, const char *long_name);

/* Takes the value after argv[*i] (advancing *i); IFN_E_INVALID if there is none. */
ifn_status ifn_args_value(int argc, char **argv, int *i, const char **out_value);

ifn_status ifn_args_int(const char *option, const char *text, int64_t min, int64_t max,
                        int64_t *out);
ifn_status ifn_args_float(const char *option, const char *text, double min, double max,
                          double *out);

/* 1 if argv holds -h or --help. */
int ifn_args_wants_help(int argc, char **argv);

#endif
