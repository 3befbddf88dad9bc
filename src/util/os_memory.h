/* Memory facts from the operating system (Linux /proc, with a POSIX fallback). */
#ifndef IFN_UTIL_OS_MEMORY_H
#define IFN_UTIL_OS_MEMORY_H

#include <stddef.h>

/* Bytes of memory available to new allocations now (MemAvailable), or the physical memory when
 * that cannot be read. */
size_t ifn_os_memory_available_bytes(void);

/* Asks the OS to back [addr, addr + len) with huge pages where it can (Linux transparent huge
 * pages in "madvise" mode; the 2 MiB-aligned part of the range). Call before first touching the
 * memory. Advice only: nothing happens where unsupported. Streaming hundreds of megabytes of
 * weights through 4 KiB pages stops the hardware prefetchers at every page boundary. */
void ifn_os_advise_huge_pages(void *addr, size_t len);

#endif
