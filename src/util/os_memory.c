#include "util/os_memory.h"

#include <stdint.h>
#include <sys/mman.h>

#include <stdio.h>
#include <unistd.h>

size_t ifn_os_memory_available_bytes(void) {
    FILE *fp = fopen("/proc/meminfo", "r");
    size_t kb = 0;
    char line[256];
    while (fp && fgets(line, sizeof line, fp))
        if (sscanf(line, "MemAvailable: %zu kB", &kb) == 1) break;
    if (fp) fclose(fp);
    if (kb == 0) kb = (size_t)sysconf(_SC_PHYS_PAGES) / 1024 * (size_t)sysconf(_SC_PAGESIZE);
    return kb * 1024;
}

void ifn_os_advise_huge_pages(void *addr, size_t len) {
#ifdef MADV_HUGEPAGE
    const uintptr_t huge = (uintptr_t)2 << 20, start = (uintptr_t)addr;
    const uintptr_t first = (start + huge - 1) / huge * huge, end = (start + len) / huge * huge;
    if (end > first) (void)madvise((void *)first, end - first, MADV_HUGEPAGE);
#else
    (void)addr;
    (void)len;
#endif
}
