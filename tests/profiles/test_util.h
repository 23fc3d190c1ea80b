/* test_util.h - files for the profiles tests: a private scratch folder, whole-file I/O. */
#pragma once
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline int tu_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    return remove(path);
}

/* A fresh folder under `base` (the build tree, so parallel ctest runs never collide). */
static inline char *tu_scratch(const char *base, char *buf, size_t len)
{
    snprintf(buf, len, "%s/scratch-XXXXXX", base);
    if (!mkdtemp(buf)) {
        perror(buf);
        exit(2);
    }
    return buf;
}

static inline void tu_scratch_remove(const char *dir)
{
    nftw(dir, tu_rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static inline void tu_write(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        exit(2);
    }
}

/* Whole file, NUL-terminated (for text); exits the test if unreadable. */
static inline uint8_t *tu_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        perror(path);
        exit(2);
    }
    fclose(f);
    buf[n] = 0;
    *len = (size_t)n;
    return buf;
}

/* Deterministic filler so failures reproduce. */
static inline void tu_fill(uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (uint8_t)(seed >> 16);
    }
}
