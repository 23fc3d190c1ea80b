/* atomic_file.h - writes an output file whole or not at all: a report that cannot be written (no
 * directory, a full disk, a size limit) leaves the old file as it was and no partial file beside it.
 * The text goes to a temporary file in the same directory, is flushed and fsync'd, and is renamed
 * over the target only when every byte is on disk. */
#pragma once
#include <stddef.h>
#include <stdio.h>

/* Writes the file's content to `out`; 0 on success, -1 when writing failed (errno tells). */
typedef int (*atomic_fill_fn)(void *ctx, FILE *out);

/* 0 on success. -1 on failure, with err holding "PATH: why" (strerror, or "not a regular file" for a
 * device, FIFO or directory, which are refused rather than renamed over). A symlink is followed: the
 * file it names is replaced, the link kept. An existing file keeps its permission bits. */
int atomic_file_write(const char *path, atomic_fill_fn fill, void *ctx, char *err, size_t errlen);
