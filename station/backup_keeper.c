/* backup_keeper.c - bk_backup_ops over the block files and their index (backup_keeper.h). */
#include "backup_keeper.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>
#include "db_backup.h"

#define MAX_CLAIMS 256

/* A shared block one job is reading now: others asking for it hear "2: being read". */
typedef struct claim {
    const backup_job *by;     /* NULL: a free slot */
    uint32_t addr, len, crc32;
} claim;

struct backup_keeper {
    pthread_mutex_t lock;     /* around `d` and `claims` */
    db *d;
    claim claims[MAX_CLAIMS];
    blockstore *bs;           /* read-only after open: used without the lock */
    int64_t station_id;
    uint64_t cap;             /* bytes; 0: none (set before the first job) */
};

static double unix_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int backup_keeper_open(const char *db_path, int64_t station_id, backup_keeper **out, char *err,
                       size_t errlen)
{
    *out = NULL;
    backup_keeper *k = calloc(1, sizeof *k);
    if (!k) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    char dir[4096];
    blockstore_dir_for_db(db_path, dir, sizeof dir);
    if (db_open(db_path, false, &k->d, err, errlen) < 0 ||
        blockstore_open(dir, true, &k->bs, err, errlen) < 0) {
        if (k->d)
            db_close(k->d);
        free(k);
        return -1;
    }
    pthread_mutex_init(&k->lock, NULL);
    k->station_id = station_id;
    *out = k;
    return 0;
}

void backup_keeper_close(backup_keeper *k)
{
    if (!k)
        return;
    db_close(k->d);
    blockstore_close(k->bs);
    pthread_mutex_destroy(&k->lock);
    free(k);
}

static int db_failed(backup_keeper *k, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s", db_errmsg(k->d));
    return -1;
}

static void to_db_range(const bk_backup_range *r, db_backup_range *o)
{
    memset(o, 0, sizeof *o);
    o->addr = r->addr;
    o->len = r->len;
    o->crc32 = r->crc32;
    o->shared = r->shared;
}

static int have_backup(void *ctx, const uint8_t mac[6], bk_backup_mode mode,
                       const bk_backup_range *device, int n, char *err, size_t errlen)
{
    backup_job *bj = ctx;
    db_backup_range *dr = calloc(n > 0 ? (size_t)n : 1, sizeof *dr);
    if (!dr) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int i = 0; i < n; i++)
        to_db_range(&device[i], &dr[i]);
    char m[20];
    bk_mac_format(mac, m, sizeof m);
    pthread_mutex_lock(&bj->k->lock);
    int rc = db_backup_matches(bj->k->d, m, bk_backup_mode_name(mode), dr, n);
    if (rc < 0)
        db_failed(bj->k, err, errlen);
    pthread_mutex_unlock(&bj->k->lock);
    free(dr);
    return rc;
}

static void remember(backup_job *bj, uint32_t addr, const char *sha)
{
    if (bj->n < BK_BACKUP_MAX_RANGES) {
        bj->placed[bj->n].addr = addr;
        snprintf(bj->placed[bj->n].sha, sizeof bj->placed[bj->n].sha, "%s", sha);
        bj->n++;
    }
}

/* Under k->lock: the claim on (addr, len, crc32), or NULL. */
static claim *claim_find(backup_keeper *k, const bk_backup_range *r)
{
    for (int i = 0; i < MAX_CLAIMS; i++) {
        claim *c = &k->claims[i];
        if (c->by && c->addr == r->addr && c->len == r->len && c->crc32 == r->crc32)
            return c;
    }
    return NULL;
}

static void claim_take(backup_keeper *k, const backup_job *bj, const bk_backup_range *r)
{
    for (int i = 0; i < MAX_CLAIMS; i++)
        if (!k->claims[i].by) {
            k->claims[i] = (claim){bj, r->addr, r->len, r->crc32};
            return;
        }
    /* every slot busy: the block goes unclaimed, and another job may read it too */
}

static int have_block(void *ctx, const bk_backup_range *r, char *err, size_t errlen)
{
    backup_job *bj = ctx;
    char sha[65];
    pthread_mutex_lock(&bj->k->lock);
    int rc = db_backup_block_find(bj->k->d, r->addr, r->len, r->crc32, sha);
    if (rc < 0) {
        db_failed(bj->k, err, errlen);
    } else if (rc == 0) {
        const claim *c = claim_find(bj->k, r);
        if (c && c->by != bj)
            rc = 2; /* another job is reading it */
        else if (!c)
            claim_take(bj->k, bj, r);
    }
    pthread_mutex_unlock(&bj->k->lock);
    if (rc == 1)
        remember(bj, r->addr, sha);
    return rc;
}

void backup_keeper_set_cap(backup_keeper *k, uint64_t cap_bytes)
{
    k->cap = cap_bytes;
}

/* 0 while a block of `len` bytes fits under the cap; -1 with words when it does not. */
static int check_cap(backup_keeper *k, uint32_t len, char *err, size_t errlen)
{
    if (!k->cap)
        return 0;
    db_backup_totals t;
    pthread_mutex_lock(&k->lock);
    int rc = db_backup_totals_get(k->d, &t);
    if (rc < 0)
        db_failed(k, err, errlen);
    pthread_mutex_unlock(&k->lock);
    if (rc == 0 && t.stored + len > k->cap) {
        snprintf(err, errlen, "the backup store holds %.1f MiB, its cap (backup_cap_mb) is %.1f "
                 "MiB: prune old backups (trayflash backup prune) or raise the cap",
                 (double)t.stored / 1048576, (double)k->cap / 1048576);
        rc = -1;
    }
    return rc;
}

static int put_block(void *ctx, const bk_backup_range *r, const uint8_t *data, char *err,
                     size_t errlen)
{
    backup_job *bj = ctx;
    char sha[65];
    if (check_cap(bj->k, r->len, err, errlen) < 0)
        return -1;
    if (blockstore_put(bj->k->bs, data, r->len, sha, err, errlen) < 0)
        return -1;
    /* the file is durable: now its row may exist */
    pthread_mutex_lock(&bj->k->lock);
    int rc = db_backup_block_add(bj->k->d, sha, r->len, r->addr, r->crc32, unix_now());
    if (rc < 0)
        db_failed(bj->k, err, errlen);
    claim *c = claim_find(bj->k, r);
    if (c && c->by == bj)
        c->by = NULL; /* the block is known now */
    pthread_mutex_unlock(&bj->k->lock);
    if (rc == 0)
        remember(bj, r->addr, sha);
    return rc;
}

static const char *placed_sha(const backup_job *bj, uint32_t addr)
{
    for (int i = bj->n - 1; i >= 0; i--)
        if (bj->placed[i].addr == addr)
            return bj->placed[i].sha;
    return NULL;
}

static int commit(void *ctx, const uint8_t mac[6], bk_chip chip, bk_backup_mode mode,
                  const bk_backup_range *r, int n, char *err, size_t errlen)
{
    backup_job *bj = ctx;
    db_backup b = {.ts = unix_now(), .station_id = bj->k->station_id, .bay = bj->bay};
    bk_mac_format(mac, b.mac, sizeof b.mac);
    snprintf(b.chip, sizeof b.chip, "%s", bk_chip_name(chip));
    snprintf(b.mode, sizeof b.mode, "%s", bk_backup_mode_name(mode));
    snprintf(b.port_path, sizeof b.port_path, "%s", bj->port);
    db_backup_range *dr = calloc(n > 0 ? (size_t)n : 1, sizeof *dr);
    if (!dr) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        to_db_range(&r[i], &dr[i]);
        if (r[i].blank)
            continue;
        const char *sha = placed_sha(bj, r[i].addr);
        if (!sha) {
            snprintf(err, errlen, "range 0x%X was never placed in the store", r[i].addr);
            free(dr);
            return -1;
        }
        snprintf(dr[i].sha256, sizeof dr[i].sha256, "%s", sha);
    }
    pthread_mutex_lock(&bj->k->lock);
    int64_t id = db_backup_add(bj->k->d, &b, dr, n);
    if (id < 0)
        db_failed(bj->k, err, errlen);
    pthread_mutex_unlock(&bj->k->lock);
    free(dr);
    if (id < 0)
        return -1;
    bj->backup_id = id;
    return 0;
}

void backup_job_init(backup_job *bj, backup_keeper *k, int bay, const char *port,
                     bk_backup_ops *ops)
{
    memset(bj, 0, sizeof *bj);
    bj->k = k;
    bj->bay = bay;
    snprintf(bj->port, sizeof bj->port, "%s", port ? port : "");
    *ops = (bk_backup_ops){.ctx = bj, .have_backup = have_backup, .have_block = have_block,
                           .put_block = put_block, .commit = commit};
}

void backup_job_done(backup_job *bj)
{
    if (!bj || !bj->k)
        return;
    pthread_mutex_lock(&bj->k->lock);
    for (int i = 0; i < MAX_CLAIMS; i++)
        if (bj->k->claims[i].by == bj)
            bj->k->claims[i].by = NULL;
    pthread_mutex_unlock(&bj->k->lock);
}

int backup_keeper_usage(backup_keeper *k, backup_usage *u, char *err, size_t errlen)
{
    db_backup_totals t;
    pthread_mutex_lock(&k->lock);
    int rc = db_backup_totals_get(k->d, &t);
    if (rc < 0)
        db_failed(k, err, errlen);
    pthread_mutex_unlock(&k->lock);
    if (rc < 0)
        return -1;
    *u = (backup_usage){.stored = t.stored, .covered = t.covered, .backups = t.backups,
                        .macs = t.macs};
    return 0;
}

int backup_store_open(const char *db_path, bool rw, db **d, blockstore **bs, char *err,
                      size_t errlen)
{
    *d = NULL;
    *bs = NULL;
    char dir[4096];
    blockstore_dir_for_db(db_path, dir, sizeof dir);
    if (db_open(db_path, !rw, d, err, errlen) < 0)
        return -1;
    if (blockstore_open(dir, false, bs, err, errlen) < 0) {
        db_close(*d);
        *d = NULL;
        return -1;
    }
    return 0;
}

void backup_image_free(backup_image *im)
{
    free(im->flash);
    free(im->ranges);
    memset(im, 0, sizeof *im);
}

int backup_image_load(db *d, blockstore *bs, int64_t backup_id, const char *chip,
                      backup_image *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const bk_family *f = bk_family_by_id(chip);
    if (!f) {
        for (int c = 1; c < BK_CHIP_COUNT && !f; c++)
            if (!strcmp(bk_chip_name((bk_chip)c), chip))
                f = bk_family_get((bk_chip)c);
    }
    if (!f) {
        snprintf(err, errlen, "backup %lld: chip '%s' is no family this station knows",
                 (long long)backup_id, chip);
        return -1;
    }
    out->flash_size = f->flash_size;
    out->flash = malloc(f->flash_size);
    if (!out->flash || db_backup_ranges(d, backup_id, &out->ranges, &out->n) < 0) {
        snprintf(err, errlen, "backup %lld: %s", (long long)backup_id,
                 out->flash ? db_errmsg(d) : "out of memory");
        backup_image_free(out);
        return -1;
    }
    memset(out->flash, 0xFF, f->flash_size);
    for (int i = 0; i < out->n; i++) {
        const db_backup_range *r = &out->ranges[i];
        if ((uint64_t)r->addr + r->len > f->flash_size) {
            snprintf(err, errlen, "backup %lld: range 0x%X+0x%X runs past the %s's flash",
                     (long long)backup_id, r->addr, r->len, f->name);
            backup_image_free(out);
            return -1;
        }
        if (!r->sha256[0])
            continue; /* blank: 0xFF, as the buffer already is */
        if (blockstore_get(bs, r->sha256, out->flash + r->addr, r->len, err, errlen) < 0) {
            backup_image_free(out);
            return -1;
        }
        if ((uint32_t)crc32(0L, out->flash + r->addr, r->len) != r->crc32) {
            snprintf(err, errlen, "backup %lld: the block at 0x%X does not match the CRC the "
                     "module gave for it", (long long)backup_id, r->addr);
            backup_image_free(out);
            return -1;
        }
    }
    return 0;
}
