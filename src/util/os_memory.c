#include "util/os_memory.h"

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
