/* tf_file.h - opening a file the user named (a profile, an image, a station file, a scenario).
 *
 * open(2) for reading blocks on a FIFO until a writer comes, and reading /dev/zero or a tty
 * never ends: a loader that opens first and checks later hangs on them. Here the file is
 * opened with O_NONBLOCK (which does not block on a FIFO), its type checked with fstat, and
 * anything but a regular file refused with words naming the path and what it is. Every loader
 * of user files goes through this. Messages escape the path (names found in a folder are
 * bytes from the disk). */
#pragma once
#include <stddef.h>

/* A descriptor for reading a regular file (blocking mode restored, close-on-exec), or -1
 * with err = "PATH: cannot open: <strerror>" or "PATH: is a FIFO (named pipe), not a regular
 * file". `errno_out` (may be NULL) gets the open's errno, or 0 when the type was refused. */
int tf_file_open_regular(const char *path, int *errno_out, char *err, size_t errlen);

/* The whole of a regular file (any bytes), malloc'd into *data (length *len, a NUL after the
 * last byte). Refuses files over max_bytes (also one that grows past it while read) and read
 * errors, with "PATH: words" ("read error after N bytes: ..."). Returns 0 or -1 (*data NULL). */
int tf_file_read(const char *path, size_t max_bytes, char **data, size_t *len, char *err,
                 size_t errlen);

/* The whole of a regular text file, NUL-terminated, malloc'd into *text (length *len).
 * Refuses files over max_bytes, read errors and NUL bytes (naming the line and byte), each
 * with "PATH[:LINE]: words". Returns 0 or -1 (*text NULL). */
int tf_file_read_text(const char *path, size_t max_bytes, char **text, size_t *len, char *err,
                      size_t errlen);

/* What a file of mode `mode` (st_mode) is, in words: "a directory", "a FIFO (named pipe)",
 * "a character device", ... ("a regular file" for one). */
const char *tf_file_type_words(unsigned mode);
