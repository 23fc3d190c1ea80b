/* outbox.c - reading and marking the station file's outbox (see outbox.h). */
#include "outbox.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "db_internal.h"

static const char pending_sql[] =
    "SELECT id, kind, ref_id, tries, created_ts FROM outbox "
    "WHERE sent_ts IS NULL AND parked_ts IS NULL ORDER BY id LIMIT ?1";

static sqlite3_stmt *prepare(db *d, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db_sqlite(d), sql, -1, &st, NULL) != SQLITE_OK) {
        db_set_sqlite_errmsg(d, "outbox: preparing a statement");
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}

void outbox_batch_clear(outbox_batch *b)
{
    for (int i = 0; i < b->n; i++)
        for (int c = 0; c < CENTRAL_RECORD_MAX_COLS; c++)
            free(b->rec[i].val[c]);
    b->n = 0;
}

void outbox_batch_free(outbox_batch *b)
{
    outbox_batch_clear(b);
    free(b->rec);
    memset(b, 0, sizeof *b);
}

/* A column as the text PostgreSQL parses: a REAL with all its digits (SQLite's own text form
 * keeps 15, a microsecond of a unix time). */
static char *column_text(sqlite3_stmt *st, int col)
{
    char num[40];
    switch (sqlite3_column_type(st, col)) {
    case SQLITE_NULL: return NULL;
    case SQLITE_FLOAT:
        snprintf(num, sizeof num, "%.17g", sqlite3_column_double(st, col));
        return strdup(num);
    default: {
        const char *s = (const char *)sqlite3_column_text(st, col);
        return strdup(s ? s : "");
    }
    }
}

/* The record's columns; 1 read, 0 the row is gone, -1 error. */
static int read_record(db *d, sqlite3_stmt *sel, outbox_record *r, int ncols)
{
    sqlite3_bind_int64(sel, 1, r->ref_id);
    sqlite3_bind_double(sel, 2, r->created_ts);
    int rc = sqlite3_step(sel), got = 0;
    if (rc == SQLITE_ROW) {
        got = 1;
        for (int c = 0; c < ncols; c++) {
            r->val[c] = column_text(sel, c);
            if (sqlite3_column_type(sel, c) != SQLITE_NULL && !r->val[c]) {
                db_set_errmsg(d, "outbox: out of memory");
                got = -1;
            }
        }
    } else if (rc != SQLITE_DONE) {
        db_set_sqlite_errmsg(d, "outbox: reading a queued record");
        got = -1;
    }
    sqlite3_reset(sel);
    for (int c = 0; got < 0 && c < ncols; c++) { /* not counted in the batch: freed here */
        free(r->val[c]);
        r->val[c] = NULL;
    }
    return got;
}

static int grow(db *d, outbox_batch *b)
{
    if (b->n < b->cap)
        return 0;
    int cap = b->cap ? 2 * b->cap : 64;
    outbox_record *n = realloc(b->rec, (size_t)cap * sizeof *n);
    if (!n) {
        db_set_errmsg(d, "outbox: out of memory");
        return -1;
    }
    b->rec = n;
    b->cap = cap;
    return 0;
}

typedef struct orphan {
    int64_t id;
    char why[160];
} orphan;

int outbox_read(db *d, int max, outbox_batch *b)
{
    outbox_batch_clear(b);
    enum { N_KINDS = 8, MAX_ORPHANS = 64 };
    sqlite3_stmt *sel[N_KINDS] = {0};
    orphan orphans[MAX_ORPHANS];
    int n_orphans = 0, rc = -1;
    sqlite3_stmt *pend = prepare(d, pending_sql);
    if (!pend)
        return -1;
    /* One read transaction: the queue and the records from one snapshot. */
    if (sqlite3_exec(db_sqlite(d), "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        db_set_sqlite_errmsg(d, "outbox: beginning a read");
        sqlite3_finalize(pend);
        return -1;
    }
    sqlite3_bind_int(pend, 1, max);
    int step;
    while ((step = sqlite3_step(pend)) == SQLITE_ROW) {
        if (grow(d, b) < 0)
            goto done;
        outbox_record *r = &b->rec[b->n];
        memset(r, 0, sizeof *r);
        r->id = sqlite3_column_int64(pend, 0);
        const char *kind = (const char *)sqlite3_column_text(pend, 1);
        r->kind = central_record_kind_index(kind);
        r->ref_id = sqlite3_column_int64(pend, 2);
        r->tries = sqlite3_column_int(pend, 3);
        r->created_ts = sqlite3_column_double(pend, 4);
        int got = 0;
        if (r->kind >= 0 && r->kind < N_KINDS) {
            const central_record_kind *k = &central_record_kinds[r->kind];
            if (!sel[r->kind] && !(sel[r->kind] = prepare(d, k->local_sql)))
                goto done;
            got = read_record(d, sel[r->kind], r, k->ncols);
            if (got < 0)
                goto done;
        }
        if (got) {
            b->n++;
        } else if (n_orphans < MAX_ORPHANS) {
            orphan *o = &orphans[n_orphans++];
            o->id = r->id;
            if (r->kind < 0)
                snprintf(o->why, sizeof o->why, "unknown record kind \"%.40s\"", kind ? kind : "");
            else
                snprintf(o->why, sizeof o->why, "%s row %lld is no longer in the station's file",
                         central_record_kinds[r->kind].kind, (long long)r->ref_id);
        }
    }
    if (step != SQLITE_DONE) {
        db_set_sqlite_errmsg(d, "outbox: reading the queue");
        goto done;
    }
    rc = b->n;
done:
    sqlite3_exec(db_sqlite(d), "COMMIT", NULL, NULL, NULL);
    sqlite3_finalize(pend);
    for (int i = 0; i < N_KINDS; i++)
        sqlite3_finalize(sel[i]);
    if (rc < 0)
        outbox_batch_clear(b);
    double now = 0;
    for (int i = 0; rc >= 0 && i < n_orphans; i++) {
        if (!now) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            now = (double)ts.tv_sec + ts.tv_nsec / 1e9;
        }
        if (outbox_park(d, orphans[i].id, orphans[i].why, now) < 0)
            rc = -1;
    }
    return rc;
}

/* One statement over ids, in one write transaction. */
static int each_id(db *d, const char *sql, const int64_t *ids, int n, const double *ts, const char *what)
{
    if (n <= 0)
        return 0;
    sqlite3_stmt *st = prepare(d, sql);
    if (!st)
        return -1;
    if (db_begin(d) < 0) {
        sqlite3_finalize(st);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        sqlite3_bind_int64(st, 1, ids[i]);
        if (ts)
            sqlite3_bind_double(st, 2, *ts);
        if (sqlite3_step(st) != SQLITE_DONE) {
            db_set_sqlite_errmsg(d, what);
            sqlite3_finalize(st);
            db_rollback(d);
            return -1;
        }
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return db_commit(d);
}

int outbox_mark_sent(db *d, const int64_t *ids, int n, double ts)
{
    return each_id(d, "UPDATE outbox SET sent_ts = ?2, tries = tries + 1 WHERE id = ?1", ids, n, &ts,
                   "outbox: marking records sent");
}

int outbox_prune_sent(db *d, double before_ts, int max)
{
    /* oldest ids first: sent rows are the old ones, so the scan stops early */
    sqlite3_stmt *st = prepare(d, "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox "
                                  "WHERE sent_ts IS NOT NULL AND sent_ts < ?1 ORDER BY id LIMIT ?2)");
    if (!st)
        return -1;
    sqlite3_bind_double(st, 1, before_ts);
    sqlite3_bind_int(st, 2, max);
    int rc = sqlite3_step(st) == SQLITE_DONE ? sqlite3_changes(db_sqlite(d)) : -1;
    if (rc < 0)
        db_set_sqlite_errmsg(d, "outbox: forgetting rows sent long ago");
    sqlite3_finalize(st);
    return rc;
}

int outbox_mark_tried(db *d, const int64_t *ids, int n)
{
    return each_id(d, "UPDATE outbox SET tries = tries + 1 WHERE id = ?1", ids, n, NULL,
                   "outbox: counting a try");
}

int outbox_park(db *d, int64_t id, const char *reason, double ts)
{
    sqlite3_stmt *st = prepare(d, "UPDATE outbox SET parked_ts = ?2, parked_reason = ?3, "
                                  "tries = tries + 1 WHERE id = ?1");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_double(st, 2, ts);
    sqlite3_bind_text(st, 3, reason ? reason : "refused", -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    if (rc < 0)
        db_set_sqlite_errmsg(d, "outbox: parking a record");
    sqlite3_finalize(st);
    return rc;
}

int outbox_get_stats(db *d, outbox_stats *s)
{
    memset(s, 0, sizeof *s);
    sqlite3_stmt *st = prepare(d, "SELECT "
        "(SELECT count(*) FROM outbox WHERE sent_ts IS NULL AND parked_ts IS NULL), "
        "(SELECT count(*) FROM outbox WHERE parked_ts IS NOT NULL), "
        "(SELECT count(*) FROM outbox WHERE sent_ts IS NOT NULL), "
        "(SELECT min(created_ts) FROM outbox WHERE sent_ts IS NULL AND parked_ts IS NULL), "
        "(SELECT max(sent_ts) FROM outbox WHERE sent_ts IS NOT NULL)");
    if (!st)
        return -1;
    int rc = -1;
    if (sqlite3_step(st) == SQLITE_ROW) {
        s->queued = sqlite3_column_int64(st, 0);
        s->parked = sqlite3_column_int64(st, 1);
        s->sent = sqlite3_column_int64(st, 2);
        s->oldest_queued_ts = sqlite3_column_double(st, 3);
        s->last_sent_ts = sqlite3_column_double(st, 4);
        rc = 0;
    } else {
        db_set_sqlite_errmsg(d, "outbox: counting");
    }
    sqlite3_finalize(st);
    return rc;
}

int64_t outbox_queued(db *d)
{
    sqlite3_stmt *st = prepare(d, "SELECT count(*) FROM outbox WHERE sent_ts IS NULL AND parked_ts IS NULL");
    if (!st)
        return -1;
    int64_t n = -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    else
        db_set_sqlite_errmsg(d, "outbox: counting the queue");
    sqlite3_finalize(st);
    return n;
}

int outbox_each_parked(db *d, int (*fn)(void *ctx, int64_t id, const char *kind, int64_t ref_id,
                                        double parked_ts, const char *reason),
                       void *ctx)
{
    sqlite3_stmt *st = prepare(d, "SELECT id, kind, ref_id, parked_ts, coalesce(parked_reason, '') "
                                  "FROM outbox WHERE parked_ts IS NOT NULL ORDER BY id");
    if (!st)
        return -1;
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        n++;
        if (fn(ctx, sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
               sqlite3_column_int64(st, 2), sqlite3_column_double(st, 3),
               (const char *)sqlite3_column_text(st, 4)))
            break;
    }
    sqlite3_finalize(st);
    return n;
}
