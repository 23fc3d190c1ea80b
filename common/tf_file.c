/* tf_file.c - opening and reading the files users name; see tf_file.h. */
#include "tf_file.h"
#include "tf_text.h"
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct {
    unsigned type;
    const char *words;
} file_types[] = {
    {S_IFREG, "a regular file"},     {S_IFDIR, "a directory"},
    {S_IFIFO, "a FIFO (named pipe)"}, {S_IFCHR, "a character device"},
    {S_IFBLK, "a block device"},     {S_IFSOCK, "a socket"},
    {S_IFLNK, "a symbolic link"},
};

const char *tf_file_type_words(unsigned mode)
{
    for (size_t i = 0; i < sizeof file_types / sizeof file_types[0]; i++)
        if ((mode & S_IFMT) == file_types[i].type)
            return file_types[i].words;
    return "not a regular file";
}

/* "PATH: " with the path escaped, into err; returns the length written. */
static size_t put_path(const char *path, char *err, size_t errlen)
{
    if (!errlen)
        return 0;
    tf_text_escape(path, err, errlen);
    size_t n = strlen(err);
    snprintf(err + n, errlen - n, ": ");
    return strlen(err);
}

int tf_file_open_regular(const char *path, int *errno_out, char *err, size_t errlen)
{
    if (errno_out)
        *errno_out = 0;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        if (errno_out)
            *errno_out = e;
        size_t n = put_path(path, err, errlen);
        if (n < errlen)
            snprintf(err + n, errlen - n, "cannot open: %s", strerror(e));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        size_t n = put_path(path, err, errlen);
        if (n < errlen)
            snprintf(err + n, errlen - n, "cannot stat: %s", strerror(e));
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        size_t n = put_path(path, err, errlen);
        if (n < errlen)
            snprintf(err + n, errlen - n, "is %s, not a regular file",
                     tf_file_type_words(st.st_mode));
        close(fd);
        return -1;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    return fd;
}

/* 1-based line of byte `at` in text. */
static int line_of(const char *text, size_t at)
{
    int line = 1;
    for (size_t i = 0; i < at; i++)
        line += text[i] == '\n';
    return line;
}

int tf_file_read(const char *path, size_t max_bytes, char **data, size_t *len, char *err,
                 size_t errlen)
{
    *data = NULL;
    *len = 0;
    int fd = tf_file_open_regular(path, NULL, err, errlen);
    if (fd < 0)
        return -1;
    struct stat st;
    size_t pn;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        pn = put_path(path, err, errlen);
        snprintf(err + pn, errlen - pn, "cannot stat: %s", strerror(e));
        close(fd);
        return -1;
    }
    if ((uint64_t)st.st_size > max_bytes) {
        pn = put_path(path, err, errlen);
        snprintf(err + pn, errlen - pn, "%" PRIu64 " bytes is more than the %zu this file may "
                 "hold", (uint64_t)st.st_size, max_bytes);
        close(fd);
        return -1;
    }
    /* Read to the end, not to st_size: the file may change under us, and it must not grow
     * past the limit either. */
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *buf = malloc(cap + 1);
    if (!buf) {
        pn = put_path(path, err, errlen);
        snprintf(err + pn, errlen - pn, "out of memory");
        close(fd);
        return -1;
    }
    for (;;) {
        if (n == cap) {
            if (cap > max_bytes) {
                pn = put_path(path, err, errlen);
                snprintf(err + pn, errlen - pn, "grew past %zu bytes while being read",
                         max_bytes);
                free(buf);
                close(fd);
                return -1;
            }
            char *nb = realloc(buf, cap * 2 + 1);
            if (!nb) {
                free(buf);
                close(fd);
                pn = put_path(path, err, errlen);
                snprintf(err + pn, errlen - pn, "out of memory");
                return -1;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            pn = put_path(path, err, errlen);
            snprintf(err + pn, errlen - pn, "read error after %zu bytes: %s", n, strerror(e));
            free(buf);
            close(fd);
            return -1;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (n > max_bytes) {
        pn = put_path(path, err, errlen);
        snprintf(err + pn, errlen - pn, "grew past %zu bytes while being read", max_bytes);
        free(buf);
        return -1;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return 0;
}

int tf_file_read_text(const char *path, size_t max_bytes, char **text, size_t *len, char *err,
                      size_t errlen)
{
    char *buf;
    size_t n, pn;
    *text = NULL;
    *len = 0;
    if (tf_file_read(path, max_bytes, &buf, &n, err, errlen) != 0)
        return -1;
    const char *nul = memchr(buf, '\0', n);
    if (nul) {
        size_t at = (size_t)(nul - buf);
        pn = put_path(path, err, errlen);
        if (pn >= 2)
            pn -= 2; /* "PATH:LINE: " */
        snprintf(err + pn, errlen - pn, ":%d: NUL byte at byte %zu: not a text file",
                 line_of(buf, at), at);
        free(buf);
        return -1;
    }
    *text = buf;
    *len = n;
    return 0;
}
