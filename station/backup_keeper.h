/* backup_keeper.h - the station's backup store: the engine's bk_backup_ops over the block files
 * (db/blockstore.h) and their index (db/db_backup.h), beside the station database.
 *
 * One keeper per process, shared by every pool worker: it owns a database handle of its own
 * (the db writer's is the writer's), one lock, and a writer thread that makes the blocks the
 * jobs read durable while their next reads go on the wire. The index row of a block is added
 * once its file is durable; the backup's rows once all its blocks are (commit waits for them).
 * A job's backup_job must outlive its blocks in flight: backup_job_done waits for them. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "bk_backup.h"
#include "blockstore.h"
#include "db.h"

typedef struct backup_keeper backup_keeper;

/* Opens the database (read-write, migrated) and the store folder "<db>.blocks" (created 0700;
 * an unsafe folder is refused). station_id 0: backups without a station (the command line). */
int backup_keeper_open(const char *db_path, int64_t station_id, backup_keeper **out, char *err,
                       size_t errlen);
void backup_keeper_close(backup_keeper *k);
/* The store's cap in bytes (0: none): a block that would take the store past it is refused
 * (the module fails with backup_store, nothing erased). Set before the first job. */
void backup_keeper_set_cap(backup_keeper *k, uint64_t cap_bytes);

/* One job's view of the keeper: the ops the engine calls, and the blocks this job placed (by
 * address), which its commit points at. Lives as long as the job. */
typedef struct backup_job {
    backup_keeper *k;
    int bay;                  /* 0: none */
    char port[128];
    int n;
    struct { uint32_t addr; char sha[65]; } placed[BK_BACKUP_MAX_RANGES];
    int64_t backup_id;        /* after a commit: the backup's row */
    /* under the keeper's lock: blocks handed to its writer and not yet durable, and the
       first failure of one */
    int in_flight;
    bool write_failed;
    char write_err[300];
} backup_job;
void backup_job_init(backup_job *bj, backup_keeper *k, int bay, const char *port,
                     bk_backup_ops *ops);
/* After the job (passed or not): waits for its blocks still being written, then the blocks it
 * had claimed to read are free for others. */
void backup_job_done(backup_job *bj);

/* What a status line needs: the store's size against the cap (0: none). */
typedef struct backup_usage {
    uint64_t stored, covered;   /* bytes kept, bytes the backups cover (dedupe: covered/stored) */
    int64_t backups, macs;
} backup_usage;
int backup_keeper_usage(backup_keeper *k, backup_usage *u, char *err, size_t errlen);

/* For the commands that read the store (backup list/export/verify, restore): the database
 * (read-only unless `rw`) and the store folder, which must exist and be private. -1 with words;
 * on success the caller closes both. */
int backup_store_open(const char *db_path, bool rw, db **d, blockstore **bs, char *err,
                      size_t errlen);

/* One backup as a flash image: `flash` (flash_size bytes) holds the stored ranges' bytes and
 * 0xFF elsewhere; `ranges` says which ranges are real (blank ones included: they are real
 * 0xFF). Every block is checked against its sha256 and its range's CRC as it is read. */
typedef struct backup_image {
    uint8_t *flash;
    uint32_t flash_size;
    struct db_backup_range *ranges;
    int n;
} backup_image;
int backup_image_load(db *d, blockstore *bs, int64_t backup_id, const char *chip,
                      backup_image *out, char *err, size_t errlen);
void backup_image_free(backup_image *im);
