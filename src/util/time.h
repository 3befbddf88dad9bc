/* Monotonic clock. */
#ifndef IFN_UTIL_TIME_H
#define IFN_UTIL_TIME_H

#include <stdint.h>
#include <time.h>

/* Nanoseconds from an arbitrary fixed point (CLOCK_MONOTONIC). Cannot fail. */
int64_t ifn_time_now_ns(void);

/* The CLOCK_REALTIME instant timeout_ms from now, as pthread_cond_timedwait takes it. */
struct timespec ifn_time_deadline_after_ms(int64_t timeout_ms);

#endif
