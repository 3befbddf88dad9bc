/* Failure reporting: ifn_fail() records a message for the calling thread and returns the
 * code, so `return ifn_fail(IFN_E_FORMAT, "gguf: ...")` reports and propagates in one step.
 * Invariant checks (bugs, not errors) use IFN_ASSERT, which aborts in every build. */
#ifndef IFN_UTIL_STATUS_H
#define IFN_UTIL_STATUS_H

#include "inferneo/status.h"
#include "util/compiler.h"

/* Stores the formatted message in a thread-local buffer (truncated to 512 bytes) and
 * returns `code`. Thread-safe. */
ifn_status ifn_fail(ifn_status code, const char *fmt, ...) IFN_PRINTF(2, 3);

/* Clears the calling thread's message. */
void ifn_clear_error(void);

void ifn_assert_fail(const char *cond, const char *file, int line);

#define IFN_ASSERT(cond)                                                                     \
    do {                                                                                     \
        if (IFN_UNLIKELY(!(cond))) ifn_assert_fail(#cond, __FILE__, __LINE__);               \
    } while (0)

#ifdef NDEBUG
#define IFN_DEBUG_ASSERT(cond) ((void)0)
#else
#define IFN_DEBUG_ASSERT(cond) IFN_ASSERT(cond)
#endif

#endif
