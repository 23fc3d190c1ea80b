/* db_backup.h - the backup store's index in the station database (schema 4, db/README.md).
 *
 * The bytes are files (blockstore.h); these rows say which block sits at which address of which
 * module (MAC), when, on which station and bay. Order of writing, kept by the callers: the block
 * file is durable, then db_backup_block_add, then (all blocks of one backup placed)
 * db_backup_add in one transaction. Same handle rules as db.h: one thread at a time. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "db.h"

typedef struct db_backup_range {
    uint32_t addr, len, crc32;
    bool shared;          /* vendor app / OTA (full mode) */
    char sha256[65];      /* "" for a blank range (all 0xFF, never read) */
} db_backup_range;

typedef struct db_backup {
    int64_t id;
    char mac[18];
    char chip[16];
    char mode[8];         /* "device" | "full" */
    double ts;            /* unix seconds */
    int64_t station_id;
    char station[64];     /* the station's name (list) */
    int bay;              /* 0: none (the command line) */
    char port_path[128];
    int n_ranges, n_blank;
    uint64_t bytes;       /* bytes the backup covers that are not blank */
} db_backup;

/* A block is durable in the store: its row (ignored if it is there). */
int db_backup_block_add(db *d, const char *sha256, uint32_t size, uint32_t addr, uint32_t crc32,
                        double ts);
/* The block read at (addr, size, crc32) before, if any: 1 with sha_out, 0 none, -1 error. */
int db_backup_block_find(db *d, uint32_t addr, uint32_t size, uint32_t crc32, char sha_out[65]);
/* One backup and its ranges, in one transaction (the caller must not be inside one). The id,
 * or -1. Every non-blank range's block must have its row (a foreign key says so). */
int64_t db_backup_add(db *d, const db_backup *b, const db_backup_range *r, int n);
/* 1 when the newest backup of `mac` holds exactly these per-device ranges (addr, len, crc32)
 * and, for mode "full", is a full one; 0 if not (or none); -1 error. */
int db_backup_matches(db *d, const char *mac, const char *mode, const db_backup_range *device,
                      int n);
/* Backups, oldest first, of one MAC (mac NULL: all); fn returns non-zero to stop. */
typedef int (*db_backup_fn)(void *ctx, const db_backup *b);
int db_backup_list(db *d, const char *mac, db_backup_fn fn, void *ctx);
/* The backup to export or restore for `mac`: `id` > 0 that one (it must be that MAC's), else the
 * oldest (what the module came with). 1 found, 0 none, -1 error. */
int db_backup_get(db *d, const char *mac, int64_t id, db_backup *out);
/* Its ranges in address order (*out malloc'd, free it). -1 on error. */
int db_backup_ranges(db *d, int64_t backup_id, db_backup_range **out, int *n);
/* Every block row: fn(ctx, sha256, size); non-zero from fn stops. */
typedef int (*db_block_fn)(void *ctx, const char *sha256, uint32_t size);
int db_backup_blocks(db *d, db_block_fn fn, void *ctx);
/* The store in numbers: bytes the backups cover (not blank), bytes of distinct blocks, backups
 * and MACs. */
typedef struct db_backup_totals {
    uint64_t covered, stored;
    int64_t backups, macs, blocks;
} db_backup_totals;
int db_backup_totals_get(db *d, db_backup_totals *t);
/* Prune: deletes backups older than `before` (unix s), never the only backup of a MAC unless
 * `force`, then the block rows no backup points at; fn is called for each such block (remove its
 * file) after the transaction committed. Returns backups deleted, -1 on error;
 * *kept_only_copy: the MACs that keep an old backup because it is their newest. */
int db_backup_prune(db *d, double before, bool force, db_block_fn removed, void *ctx,
                    int *kept_only_copy);

