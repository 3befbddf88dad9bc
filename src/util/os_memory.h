/* Memory facts from the operating system (Linux /proc, with a POSIX fallback). */
#ifndef IFN_UTIL_OS_MEMORY_H
#define IFN_UTIL_OS_MEMORY_H

#include <stddef.h>

/* Bytes of memory available to new allocations now (MemAvailable), or the physical memory when
 * that cannot be read. */
size_t ifn_os_memory_available_bytes(void);

#endif
