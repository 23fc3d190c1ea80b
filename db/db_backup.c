/* db_backup.c - the backup store's index (db_backup.h). Every statement bound, none built. */
#include "db_backup.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "db_internal.h"

static sqlite3_stmt *prep(db *d, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db_sqlite(d), sql, -1, &st, 0) != SQLITE_OK) {
        db_set_sqlite_errmsg(d, "preparing a backup statement");
        return NULL;
    }
    return st;
}

/* Steps a statement that returns no rows and finalizes it. */
static int exec_done(db *d, sqlite3_stmt *st, const char *what)
{
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        db_set_sqlite_errmsg(d, what);
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_finalize(st);
    return 0;
}

static void copy_col(sqlite3_stmt *st, int col, char *out, size_t outlen)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(out, outlen, "%s", t ? (const char *)t : "");
}

int db_backup_block_add(db *d, const char *sha256, uint32_t size, uint32_t addr, uint32_t crc32,
                        double ts)
{
    sqlite3_stmt *st = prep(d, "INSERT INTO backup_block (sha256, size, addr, crc32, first_ts) "
                               "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (sha256) DO NOTHING");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, sha256, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, size);
    sqlite3_bind_int64(st, 3, addr);
    sqlite3_bind_int64(st, 4, crc32);
    sqlite3_bind_double(st, 5, ts);
    return exec_done(d, st, "recording a backup block");
}

int db_backup_block_find(db *d, uint32_t addr, uint32_t size, uint32_t crc32, char sha_out[65])
{
    sqlite3_stmt *st = prep(d, "SELECT sha256 FROM backup_block WHERE addr = ?1 AND size = ?2 "
                               "AND crc32 = ?3 LIMIT 1");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, addr);
    sqlite3_bind_int64(st, 2, size);
    sqlite3_bind_int64(st, 3, crc32);
    int rc = sqlite3_step(st), found = 0;
    if (rc == SQLITE_ROW) {
        copy_col(st, 0, sha_out, 65);
        found = 1;
    } else if (rc != SQLITE_DONE) {
        db_set_sqlite_errmsg(d, "looking up a backup block");
        found = -1;
    }
    sqlite3_finalize(st);
    return found;
}

static int add_ranges(db *d, int64_t id, const db_backup_range *r, int n)
{
    for (int i = 0; i < n; i++) {
        sqlite3_stmt *st = prep(d, "INSERT INTO backup_range (backup_id, addr, len, crc32, shared, "
                                   "sha256) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
        if (!st)
            return -1;
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, r[i].addr);
        sqlite3_bind_int64(st, 3, r[i].len);
        sqlite3_bind_int64(st, 4, r[i].crc32);
        sqlite3_bind_int(st, 5, r[i].shared);
        if (r[i].sha256[0])
            sqlite3_bind_text(st, 6, r[i].sha256, -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_null(st, 6);
        if (exec_done(d, st, "recording a backup range") < 0)
            return -1;
    }
    return 0;
}

int64_t db_backup_add(db *d, const db_backup *b, const db_backup_range *r, int n)
{
    if (db_begin(d) < 0)
        return -1;
    sqlite3_stmt *st = prep(d, "INSERT INTO backup (mac, chip, mode, ts, station_id, bay, port_path) "
                               "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    int64_t id = -1;
    if (st) {
        sqlite3_bind_text(st, 1, b->mac, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, b->chip, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, b->mode, -1, SQLITE_TRANSIENT);
        sqlite3_bind_double(st, 4, b->ts);
        if (b->station_id > 0)
            sqlite3_bind_int64(st, 5, b->station_id);
        else
            sqlite3_bind_null(st, 5);
        if (b->bay > 0)
            sqlite3_bind_int(st, 6, b->bay);
        else
            sqlite3_bind_null(st, 6);
        if (b->port_path[0])
            sqlite3_bind_text(st, 7, b->port_path, -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_null(st, 7);
        if (exec_done(d, st, "recording a backup") == 0)
            id = sqlite3_last_insert_rowid(db_sqlite(d));
    }
    if (id < 0 || add_ranges(d, id, r, n) < 0 || db_commit(d) < 0) {
        char keep[512];
        snprintf(keep, sizeof keep, "%s", db_errmsg(d));
        db_rollback(d);
        db_set_errmsg(d, keep);
        return -1;
    }
    return id;
}

int db_backup_matches(db *d, const char *mac, const char *mode, const db_backup_range *device,
                      int n)
{
    sqlite3_stmt *st = prep(d, "SELECT id, mode FROM backup WHERE mac = ?1 ORDER BY ts DESC, id "
                               "DESC LIMIT 1");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, mac, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    int64_t id = 0;
    char have_mode[8] = "";
    if (rc == SQLITE_ROW) {
        id = sqlite3_column_int64(st, 0);
        copy_col(st, 1, have_mode, sizeof have_mode);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        db_set_sqlite_errmsg(d, "looking up a module's backup");
        return -1;
    }
    if (id == 0 || (!strcmp(mode, "full") && strcmp(have_mode, "full")))
        return 0;
    st = prep(d, "SELECT addr, len, crc32 FROM backup_range WHERE backup_id = ?1 AND shared = 0 "
                 "ORDER BY addr");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int i = 0, same = 1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (i >= n || (uint32_t)sqlite3_column_int64(st, 0) != device[i].addr ||
            (uint32_t)sqlite3_column_int64(st, 1) != device[i].len ||
            (uint32_t)sqlite3_column_int64(st, 2) != device[i].crc32)
            same = 0;
        i++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        db_set_sqlite_errmsg(d, "reading a module's backup");
        return -1;
    }
    return same && i == n;
}

#define BACKUP_COLS                                                                              \
    "SELECT b.id, b.mac, b.chip, b.mode, b.ts, b.station_id, coalesce(s.name, ''), "            \
    "coalesce(b.bay, 0), coalesce(b.port_path, ''), "                                           \
    "(SELECT count(*) FROM backup_range r WHERE r.backup_id = b.id), "                          \
    "(SELECT count(*) FROM backup_range r WHERE r.backup_id = b.id AND r.sha256 IS NULL), "     \
    "(SELECT coalesce(sum(len), 0) FROM backup_range r WHERE r.backup_id = b.id "              \
    "AND r.sha256 IS NOT NULL) FROM backup b LEFT JOIN station s ON s.id = b.station_id "

static void row_backup(sqlite3_stmt *st, db_backup *b)
{
    memset(b, 0, sizeof *b);
    b->id = sqlite3_column_int64(st, 0);
    copy_col(st, 1, b->mac, sizeof b->mac);
    copy_col(st, 2, b->chip, sizeof b->chip);
    copy_col(st, 3, b->mode, sizeof b->mode);
    b->ts = sqlite3_column_double(st, 4);
    b->station_id = sqlite3_column_int64(st, 5);
    copy_col(st, 6, b->station, sizeof b->station);
    b->bay = sqlite3_column_int(st, 7);
    copy_col(st, 8, b->port_path, sizeof b->port_path);
    b->n_ranges = sqlite3_column_int(st, 9);
    b->n_blank = sqlite3_column_int(st, 10);
    b->bytes = (uint64_t)sqlite3_column_int64(st, 11);
}

int db_backup_list(db *d, const char *mac, db_backup_fn fn, void *ctx)
{
    sqlite3_stmt *st = prep(d, BACKUP_COLS "WHERE ?1 IS NULL OR b.mac = ?1 ORDER BY b.ts, b.id");
    if (!st)
        return -1;
    if (mac)
        sqlite3_bind_text(st, 1, mac, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, 1);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        db_backup b;
        row_backup(st, &b);
        if (fn(ctx, &b) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        db_set_sqlite_errmsg(d, "listing backups");
        return -1;
    }
    return 0;
}

int db_backup_get(db *d, const char *mac, int64_t id, db_backup *out)
{
    sqlite3_stmt *st = prep(d, BACKUP_COLS "WHERE b.mac = ?1 AND (?2 = 0 OR b.id = ?2) "
                                           "ORDER BY b.ts, b.id LIMIT 1");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, mac, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, id);
    int rc = sqlite3_step(st), found = 0;
    if (rc == SQLITE_ROW) {
        row_backup(st, out);
        found = 1;
    } else if (rc != SQLITE_DONE) {
        db_set_sqlite_errmsg(d, "reading a backup");
        found = -1;
    }
    sqlite3_finalize(st);
    return found;
}

int db_backup_ranges(db *d, int64_t backup_id, db_backup_range **out, int *n)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = prep(d, "SELECT addr, len, crc32, shared, coalesce(sha256, '') FROM "
                               "backup_range WHERE backup_id = ?1 ORDER BY addr");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, backup_id);
    int rc, cap = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            db_backup_range *g = realloc(*out, (size_t)cap * sizeof **out);
            if (!g) {
                rc = SQLITE_NOMEM;
                break;
            }
            *out = g;
        }
        db_backup_range *r = &(*out)[(*n)++];
        r->addr = (uint32_t)sqlite3_column_int64(st, 0);
        r->len = (uint32_t)sqlite3_column_int64(st, 1);
        r->crc32 = (uint32_t)sqlite3_column_int64(st, 2);
        r->shared = sqlite3_column_int(st, 3) != 0;
        copy_col(st, 4, r->sha256, sizeof r->sha256);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        db_set_errmsg(d, "reading a backup's ranges failed");
        free(*out);
        *out = NULL;
        *n = 0;
        return -1;
    }
    return 0;
}

int db_backup_blocks(db *d, db_block_fn fn, void *ctx)
{
    sqlite3_stmt *st = prep(d, "SELECT sha256, size FROM backup_block ORDER BY sha256");
    if (!st)
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        char sha[65];
        copy_col(st, 0, sha, sizeof sha);
        if (fn(ctx, sha, (uint32_t)sqlite3_column_int64(st, 1)) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        db_set_sqlite_errmsg(d, "listing backup blocks");
        return -1;
    }
    return 0;
}

int db_backup_totals_get(db *d, db_backup_totals *t)
{
    memset(t, 0, sizeof *t);
    sqlite3_stmt *st = prep(d, "SELECT (SELECT coalesce(sum(len), 0) FROM backup_range WHERE "
                               "sha256 IS NOT NULL), (SELECT coalesce(sum(size), 0) FROM "
                               "backup_block), (SELECT count(*) FROM backup), (SELECT count("
                               "DISTINCT mac) FROM backup), (SELECT count(*) FROM backup_block)");
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        t->covered = (uint64_t)sqlite3_column_int64(st, 0);
        t->stored = (uint64_t)sqlite3_column_int64(st, 1);
        t->backups = sqlite3_column_int64(st, 2);
        t->macs = sqlite3_column_int64(st, 3);
        t->blocks = sqlite3_column_int64(st, 4);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW) {
        db_set_sqlite_errmsg(d, "adding up the backup store");
        return -1;
    }
    return 0;
}

/* Collects the unreferenced old blocks' names before they are deleted. */
typedef struct name_list {
    char (*sha)[65];
    uint32_t *size;
    int n, cap;
} name_list;

static int collect_orphans(db *d, double before, name_list *l)
{
    sqlite3_stmt *st = prep(d, "SELECT sha256, size FROM backup_block k WHERE first_ts < ?1 AND "
                               "NOT EXISTS (SELECT 1 FROM backup_range r WHERE r.sha256 = k.sha256)");
    if (!st)
        return -1;
    sqlite3_bind_double(st, 1, before);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (l->n == l->cap) {
            int cap = l->cap ? 2 * l->cap : 64;
            void *a = realloc(l->sha, (size_t)cap * sizeof *l->sha);
            if (a)
                l->sha = a;
            void *b = realloc(l->size, (size_t)cap * sizeof *l->size);
            if (b)
                l->size = b;
            if (!a || !b) {
                rc = SQLITE_NOMEM;
                break;
            }
            l->cap = cap;
        }
        copy_col(st, 0, l->sha[l->n], 65);
        l->size[l->n++] = (uint32_t)sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        db_set_errmsg(d, "finding unreferenced backup blocks failed");
        return -1;
    }
    return 0;
}

/* Blocks first written after `before` are left alone: a running station may be about to point
 * a backup at them (its rows commit after its blocks). */
int db_backup_prune(db *d, double before, bool force, db_block_fn removed, void *ctx,
                    int *kept_only_copy)
{
    *kept_only_copy = 0;
    if (db_begin(d) < 0)
        return -1;
    int deleted = -1;
    name_list l = {0};
    sqlite3_stmt *st = prep(d, "SELECT count(DISTINCT mac) FROM backup b WHERE b.ts < ?1 AND "
                               "NOT EXISTS (SELECT 1 FROM backup o WHERE o.mac = b.mac AND "
                               "o.ts >= ?1)");
    if (st) {
        sqlite3_bind_double(st, 1, before);
        if (sqlite3_step(st) == SQLITE_ROW)
            *kept_only_copy = force ? 0 : sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    /* without force, a MAC whose every backup is old keeps its newest one */
    st = prep(d, "DELETE FROM backup WHERE ts < ?1 AND (?2 OR EXISTS (SELECT 1 FROM backup o "
                 "WHERE o.mac = backup.mac AND o.ts >= ?1) OR id <> (SELECT o.id FROM backup o "
                 "WHERE o.mac = backup.mac ORDER BY o.ts DESC, o.id DESC LIMIT 1))");
    if (st) {
        sqlite3_bind_double(st, 1, before);
        sqlite3_bind_int(st, 2, force);
        if (exec_done(d, st, "pruning backups") == 0)
            deleted = sqlite3_changes(db_sqlite(d));
    }
    if (deleted >= 0 && collect_orphans(d, before, &l) == 0) {
        for (int i = 0; i < l.n && deleted >= 0; i++) {
            st = prep(d, "DELETE FROM backup_block WHERE sha256 = ?1");
            if (!st) {
                deleted = -1;
                break;
            }
            sqlite3_bind_text(st, 1, l.sha[i], -1, SQLITE_TRANSIENT);
            if (exec_done(d, st, "pruning backup blocks") < 0)
                deleted = -1;
        }
    } else {
        deleted = -1;
    }
    if (deleted < 0 || db_commit(d) < 0) {
        db_rollback(d);
        free(l.sha);
        free(l.size);
        return -1;
    }
    /* the rows are gone for good: now their files may go */
    for (int i = 0; i < l.n; i++)
        if (removed && removed(ctx, l.sha[i], l.size[i]) != 0)
            break;
    free(l.sha);
    free(l.size);
    return deleted;
}

