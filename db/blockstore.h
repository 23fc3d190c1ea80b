/* blockstore.h - the backup store's bytes: content-addressed files in one private folder.
 *
 * A block is kept under its sha256 (DIR/ab/abcdef...), so the same bytes from a hundred modules
 * of one reel are one file. Writing is atomic and durable: a temporary file in the block's
 * folder, written, fsync'd, renamed into place, the folder fsync'd; only then does put return,
 * and only then may the index (db_backup.h) point at the block. A crash leaves at worst a
 * temporary file (removed by blockstore_sweep) or a block nobody points at, never a name
 * holding partial bytes.
 *
 * Privacy: a per-device region may hold a customer's Wi-Fi credentials. The folder is created
 * 0700, blocks 0600; opening a folder that others may read, or that another user owns, is
 * refused with words. No SQLite, no threads here: a handle is used by one thread at a time
 * (the station's backup keeper holds a lock around it). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct blockstore blockstore;

/* The store's folder for a database file: "<db>.blocks". */
void blockstore_dir_for_db(const char *db_path, char *out, size_t outlen);
/* Opens DIR (creating it 0700 when `create`). Refused: not a folder, group/other bits set, not
 * owned by this user, or (without create) missing. -1 with words naming DIR. */
int blockstore_open(const char *dir, bool create, blockstore **out, char *err, size_t errlen);
void blockstore_close(blockstore *bs);
const char *blockstore_path(const blockstore *bs);
/* Keeps `len` bytes; sha_hex gets their sha256. Already there (same name): nothing written.
 * 0, or -1 with words (the disk, the folder). */
int blockstore_put(blockstore *bs, const uint8_t *data, size_t len, char sha_hex[65], char *err,
                   size_t errlen);
/* Reads block `sha_hex` of `len` bytes into buf and checks its sha256. 0; -1 with words when it
 * is missing, of another size, or its bytes no longer hash to its name. */
int blockstore_get(blockstore *bs, const char *sha_hex, uint8_t *buf, size_t len, char *err,
                   size_t errlen);
/* Removes block `sha_hex` (prune); a missing block is no error. */
int blockstore_remove(blockstore *bs, const char *sha_hex, char *err, size_t errlen);
/* Bytes and files the folder holds (blocks only). */
int blockstore_usage(blockstore *bs, uint64_t *bytes, uint64_t *files, char *err, size_t errlen);
/* Removes temporary files a killed writer left; returns how many, -1 on error. */
int blockstore_sweep(blockstore *bs, char *err, size_t errlen);
/* Copies every block to the store folder `dest_dir` (created 0700; blocks already there are
 * kept): db snapshot's companion. 0, or -1 with words. */
int blockstore_copy_to(blockstore *bs, const char *dest_dir, char *err, size_t errlen);
