/* Test helpers: locating ../shared fixtures and reading small files. Header-only (static). */
#ifndef IFN_TESTS_SUPPORT_SHARED_H
#define IFN_TESTS_SUPPORT_SHARED_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Path of a file under the shared folder ($IFN_SHARED_DIR, default ../shared), in a static
 * rotating buffer; NULL if the file does not exist (tests then skip). */
static inline const char *shared_path(const char *relative) {
    static char buffers[8][1024];
    static int next;
    const char *root = getenv("IFN_SHARED_DIR");
    if (!root) root = "../shared";
    char *buf = buffers[next++ % 8];
    snprintf(buf, sizeof buffers[0], "%s/%s", root, relative);
    return access(buf, R_OK) == 0 ? buf : NULL;
}

/* Reads a whole file into a malloc'd NUL-terminated buffer; NULL on failure. */
static inline char *read_whole_file(const char *path, size_t *out_len) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    long size = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *data = malloc((size_t)size + 1);
    if (data && fread(data, 1, (size_t)size, fp) != (size_t)size) {
        free(data);
        data = NULL;
    }
    fclose(fp);
    if (data) {
        data[size] = '\0';
        if (out_len) *out_len = (size_t)size;
    }
    return data;
}

/* Parses whitespace/'|'-separated integers; returns the count (at most cap). */
static inline size_t parse_ints(const char *text, int *out, size_t cap) {
    size_t n = 0;
    const char *p = text;
    while (*p && n < cap) {
        while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r' || *p == '|') p++;
        if (!*p) break;
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p) break;
        out[n++] = (int)v;
        p = end;
    }
    return n;
}

#endif
