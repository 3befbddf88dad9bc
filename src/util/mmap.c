/* POSIX mmap wrapper. Empty files get a static empty view because mmap(0) fails. */
#include "util/mmap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/status.h"

static const unsigned char g_empty_file[1];

void ifn_mmap_drop_pages(const void *addr, size_t len) {
    const long page_size = sysconf(_SC_PAGESIZE);
    if (page_size <= 0 || !addr || len == 0) return;
    const uintptr_t page = (uintptr_t)page_size, start = (uintptr_t)addr;
    const uintptr_t first = (start + page - 1) / page * page, end = (start + len) / page * page;
    /* Advice only: on failure the pages simply stay resident. */
    if (end > first) (void)madvise((void *)first, end - first, MADV_DONTNEED);
}

ifn_status ifn_mmap_open(const char *path, ifn_mmap *map) {
    map->data = NULL;
    map->size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ifn_fail(IFN_E_IO, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return ifn_fail(IFN_E_IO, "%s is not a regular file", path);
    }
    if (st.st_size == 0) {
        close(fd);
        map->data = g_empty_file;
        return IFN_OK;
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int saved_errno = errno;
    close(fd);
    if (p == MAP_FAILED) return ifn_fail(IFN_E_IO, "cannot map %s: %s", path, strerror(saved_errno));
    map->data = p;
    map->size = (size_t)st.st_size;
    return IFN_OK;
}

void ifn_mmap_close(ifn_mmap *map) {
    if (map->data && map->data != g_empty_file) munmap((void *)map->data, map->size);
    map->data = NULL;
    map->size = 0;
}
