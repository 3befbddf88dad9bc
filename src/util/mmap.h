/* Read-only file mapping (POSIX). Model weights are used in place from the map. */
#ifndef IFN_UTIL_MMAP_H
#define IFN_UTIL_MMAP_H

#include <stddef.h>

#include "inferneo/status.h"

typedef struct ifn_mmap {
    const unsigned char *data; /* NULL when closed; size 0 files map to a valid empty view */
    size_t size;
} ifn_mmap;

/* Maps `path` read-only. On failure `map` is left zeroed and the message names the path. */
ifn_status ifn_mmap_open(const char *path, ifn_mmap *map);

/* Lets the OS drop the resident pages of [addr, addr + len) inside a read-only file mapping
 * (whole pages only; the partial pages at either end stay). The bytes stay readable: a later
 * access reads them back from the file. For data the process has copied elsewhere. */
void ifn_mmap_drop_pages(const void *addr, size_t len);

/* Unmaps; safe on a zeroed or already closed map. */
void ifn_mmap_close(ifn_mmap *map);

#endif
