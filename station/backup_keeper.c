/* backup_keeper.c - bk_backup_ops over the block files and their index (backup_keeper.h).
 *
 * Threads: the jobs (pool workers) call the ops; one writer thread of the keeper makes the
 * blocks durable. A block read by a job is handed to the writer (put_block copies it and
 * returns), so the job's next read goes on the wire while the block's file is written and
 * fsync'd; the job's commit waits until every block it handed over is durable and indexed.
 * One lock guards the database handle, the claims, the queue and every job's placed blocks. */
#include "backup_keeper.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>
#include "db_backup.h"

#define MAX_CLAIMS 256
#define MAX_QUEUED 64 /* blocks waiting for the writer; a job putting more waits (4 MiB at most) */

/* A shared block one job is reading now: others asking for it hear "2: being read". */
typedef struct claim {
    const backup_job *by;     /* NULL: a free slot */
    uint32_t addr, len, crc32;
} claim;

/* A block read and verified, waiting to be made durable. */
typedef struct pending {
    struct pending *next;
    backup_job *bj;
    bk_backup_range r;
    uint8_t *data;
} pending;

struct backup_keeper {
    pthread_mutex_t lock;     /* around everything below but bs, and every job's block list */
    pthread_cond_t changed;   /* the queue got a block, or a block was made durable */
    db *d;
    claim claims[MAX_CLAIMS];
    pending *head, *tail;
    int queued;
    bool stopping;
    pthread_t writer;
    bool writer_started;
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

static int db_failed(backup_keeper *k, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s", db_errmsg(k->d));
    return -1;
}

/* ---- claims (under the lock) ------------------------------------------------------------- */

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

static void claim_drop(backup_keeper *k, const backup_job *bj, const bk_backup_range *r)
{
    claim *c = claim_find(k, r);
    if (c && c->by == bj)
        c->by = NULL;
}

/* A block of this job is in the store (under the lock). */
static void remember(backup_job *bj, uint32_t addr, const char *sha)
{
    if (bj->n < BK_BACKUP_MAX_RANGES) {
        bj->placed[bj->n].addr = addr;
        snprintf(bj->placed[bj->n].sha, sizeof bj->placed[bj->n].sha, "%s", sha);
        bj->n++;
    }
}

/* ---- the writer -------------------------------------------------------------------------- */

/* One block: its file durable (outside the lock), then its row; the job hears how it went. */
static void write_one(backup_keeper *k, pending *p)
{
    char sha[65], err[300] = "";
    int rc = blockstore_put(k->bs, p->data, p->r.len, sha, err, sizeof err);
    pthread_mutex_lock(&k->lock);
    if (rc == 0 && db_backup_block_add(k->d, sha, p->r.len, p->r.addr, p->r.crc32, unix_now()) < 0)
        rc = db_failed(k, err, sizeof err);
    backup_job *bj = p->bj;
    if (rc == 0) {
        remember(bj, p->r.addr, sha);
    } else if (!bj->write_failed) {
        bj->write_failed = true;
        snprintf(bj->write_err, sizeof bj->write_err, "%s", err);
    }
    claim_drop(k, bj, &p->r); /* known now (or failed: another job may try) */
    bj->in_flight--;
    k->queued--;
    pthread_cond_broadcast(&k->changed);
    pthread_mutex_unlock(&k->lock);
}

static void *writer_main(void *arg)
{
    backup_keeper *k = arg;
    pthread_mutex_lock(&k->lock);
    for (;;) {
        while (!k->head && !k->stopping)
            pthread_cond_wait(&k->changed, &k->lock);
        pending *p = k->head;
        if (!p)
            break; /* stopping, and nothing left */
        k->head = p->next;
        if (!k->head)
            k->tail = NULL;
        pthread_mutex_unlock(&k->lock);
        write_one(k, p);
        free(p->data);
        free(p);
        pthread_mutex_lock(&k->lock);
    }
    pthread_mutex_unlock(&k->lock);
    return NULL;
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
    pthread_cond_init(&k->changed, NULL);
    k->station_id = station_id;
    int rc = pthread_create(&k->writer, NULL, writer_main, k);
    if (rc) {
        snprintf(err, errlen, "starting the backup writer: %s", strerror(rc));
        k->writer_started = false;
        backup_keeper_close(k);
        return -1;
    }
    k->writer_started = true;
    *out = k;
    return 0;
}

void backup_keeper_close(backup_keeper *k)
{
    if (!k)
        return;
    if (k->writer_started) {
        pthread_mutex_lock(&k->lock);
        k->stopping = true;
        pthread_cond_broadcast(&k->changed);
        pthread_mutex_unlock(&k->lock);
        pthread_join(k->writer, NULL); /* drains the queue first */
    }
    db_close(k->d);
    blockstore_close(k->bs);
    pthread_cond_destroy(&k->changed);
    pthread_mutex_destroy(&k->lock);
    free(k);
}

void backup_keeper_set_cap(backup_keeper *k, uint64_t cap_bytes)
{
    k->cap = cap_bytes;
}

/* ---- the ops ----------------------------------------------------------------------------- */

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

#define CLAIM_WAIT_S 60 /* longest wait for another job's block (a 64 KiB read is < 1 s) */

/* Under the lock: the block's row, or (wait) the other job's claim gone, or the deadline. */
static int find_or_claim(backup_job *bj, const bk_backup_range *r, bool wait, char *sha,
                         char *err, size_t errlen)
{
    backup_keeper *k = bj->k;
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += CLAIM_WAIT_S;
    for (;;) {
        int rc = db_backup_block_find(k->d, r->addr, r->len, r->crc32, sha);
        if (rc != 0)
            return rc < 0 ? db_failed(k, err, errlen) : 1;
        const claim *c = claim_find(k, r);
        if (!c) {
            claim_take(k, bj, r);
            return 0;
        }
        if (c->by == bj)
            return 0;
        if (!wait || pthread_cond_timedwait(&k->changed, &k->lock, &deadline) != 0)
            return wait ? 0 : 2; /* waited long enough: read it yourself */
    }
}

static int have_block(void *ctx, const bk_backup_range *r, bool wait, char *err, size_t errlen)
{
    backup_job *bj = ctx;
    char sha[65];
    pthread_mutex_lock(&bj->k->lock);
    int rc = find_or_claim(bj, r, wait, sha, err, errlen);
    if (rc == 1)
        remember(bj, r->addr, sha);
    pthread_mutex_unlock(&bj->k->lock);
    return rc;
}

/* 0 while a block of `len` bytes fits under the cap (blocks still queued count); -1 with
 * words when it does not. Under the lock. */
static int check_cap(backup_keeper *k, uint32_t len, char *err, size_t errlen)
{
    if (!k->cap)
        return 0;
    db_backup_totals t;
    if (db_backup_totals_get(k->d, &t) < 0)
        return db_failed(k, err, errlen);
    uint64_t queued = 0;
    for (const pending *p = k->head; p; p = p->next)
        queued += p->r.len;
    if (t.stored + queued + len > k->cap) {
        snprintf(err, errlen, "the backup store holds %.1f MiB, its cap (backup_cap_mb) is %.1f "
                 "MiB: prune old backups (trayflash backup prune) or raise the cap",
                 (double)(t.stored + queued) / 1048576, (double)k->cap / 1048576);
        return -1;
    }
    return 0;
}

/* Hands the block to the writer; its durability is the commit's to wait for. */
static int put_block(void *ctx, const bk_backup_range *r, const uint8_t *data, char *err,
                     size_t errlen)
{
    backup_job *bj = ctx;
    backup_keeper *k = bj->k;
    pending *p = calloc(1, sizeof *p);
    uint8_t *copy = malloc(r->len ? r->len : 1);
    if (!p || !copy) {
        free(p);
        free(copy);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(copy, data, r->len);
    *p = (pending){.bj = bj, .r = *r, .data = copy};
    pthread_mutex_lock(&k->lock);
    while (k->queued >= MAX_QUEUED && !bj->write_failed)
        pthread_cond_wait(&k->changed, &k->lock);
    int rc = 0;
    if (bj->write_failed) {
        snprintf(err, errlen, "%s", bj->write_err);
        rc = -1;
    } else if ((rc = check_cap(k, r->len, err, errlen)) == 0) {
        if (k->tail)
            k->tail->next = p;
        else
            k->head = p;
        k->tail = p;
        k->queued++;
        bj->in_flight++;
        pthread_cond_broadcast(&k->changed);
    }
    pthread_mutex_unlock(&k->lock);
    if (rc < 0) {
        free(copy);
        free(p);
    }
    return rc;
}

/* Under the lock: waits until the writer made every block of this job durable (or failed). */
static void wait_in_flight(backup_job *bj)
{
    while (bj->in_flight > 0)
        pthread_cond_wait(&bj->k->changed, &bj->k->lock);
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
    pthread_mutex_lock(&bj->k->lock);
    wait_in_flight(bj); /* every block durable and indexed before the backup's rows */
    int rc = 0;
    if (bj->write_failed) {
        snprintf(err, errlen, "%s", bj->write_err);
        rc = -1;
    }
    for (int i = 0; i < n && rc == 0; i++) {
        to_db_range(&r[i], &dr[i]);
        if (r[i].blank)
            continue;
        const char *sha = placed_sha(bj, r[i].addr);
        if (!sha) {
            snprintf(err, errlen, "range 0x%X was never placed in the store", r[i].addr);
            rc = -1;
        } else {
            snprintf(dr[i].sha256, sizeof dr[i].sha256, "%s", sha);
        }
    }
    int64_t id = rc == 0 ? db_backup_add(bj->k->d, &b, dr, n) : -1;
    if (rc == 0 && id < 0)
        rc = db_failed(bj->k, err, errlen);
    pthread_mutex_unlock(&bj->k->lock);
    free(dr);
    if (rc == 0)
        bj->backup_id = id;
    return rc;
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
    wait_in_flight(bj); /* the writer holds pointers to this job until its blocks are done */
    for (int i = 0; i < MAX_CLAIMS; i++)
        if (bj->k->claims[i].by == bj)
            bj->k->claims[i].by = NULL;
    pthread_cond_broadcast(&bj->k->changed); /* a job waiting on one of them reads it now */
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
