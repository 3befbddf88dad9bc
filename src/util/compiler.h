/* Compiler-specific features, in one place so the rest of the code stays C11. */
#ifndef IFN_UTIL_COMPILER_H
#define IFN_UTIL_COMPILER_H

#if defined(__GNUC__) || defined(__clang__)
#define IFN_LIKELY(x) __builtin_expect(!!(x), 1)
#define IFN_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define IFN_ALIGNED(n) __attribute__((aligned(n)))
#define IFN_RESTRICT __restrict__
#define IFN_API __attribute__((visibility("default")))
#define IFN_PRINTF(fmt_idx, arg_idx) __attribute__((format(printf, fmt_idx, arg_idx)))
#define IFN_UNUSED __attribute__((unused))
#else
#define IFN_LIKELY(x) (x)
#define IFN_UNLIKELY(x) (x)
#define IFN_ALIGNED(n)
#define IFN_RESTRICT
#define IFN_API
#define IFN_PRINTF(fmt_idx, arg_idx)
#define IFN_UNUSED
#endif

#define IFN_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
