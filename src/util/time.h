/* Monotonic clock. */
#ifndef IFN_UTIL_TIME_H
#define IFN_UTIL_TIME_H

#include <stdint.h>

/* Nanoseconds from an arbitrary fixed point (CLOCK_MONOTONIC). Cannot fail. */
int64_t ifn_time_now_ns(void);

#endif
