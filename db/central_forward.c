/* central_forward.c - a batch of the outbox into PostgreSQL (see central_forward.h).
 *
 * The batch goes in libpq's pipeline mode: BEGIN, the INSERTs, COMMIT and one sync, so a batch
 * costs one round trip. A run of attempts is ONE statement over arrays of its columns (a
 * statement per record cost three times the server's work for the row itself); the others, a
 * statement each. When a statement of many is refused for good, the batch is sent again a
 * statement per record: the first that fails names the record to park (the rest read
 * "aborted"). */
#include "central_forward.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "central_internal.h"
#include "central_records.h"
#include "outbox.h"

struct central_fwd {
    db *d;
    char *conninfo, *passfile, *appname;
    central_target t;
    PGconn *c;
    outbox_batch batch;
    int64_t *ids;
    int ids_cap;
    double t_read, t_push, t_mark;  /* seconds spent so far, for the benchmark's breakdown */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void central_fwd_times(const central_fwd *f, double *read_s, double *push_s, double *mark_s)
{
    *read_s = f->t_read;
    *push_s = f->t_push;
    *mark_s = f->t_mark;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

central_fwd *central_fwd_new(db *d, const central_target *t)
{
    central_fwd *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->d = d;
    f->conninfo = dup_or_null(t->conninfo);
    f->passfile = dup_or_null(t->passfile);
    f->appname = dup_or_null(t->application_name ? t->application_name : "trayflash forwarder");
    f->t = (central_target){f->conninfo, f->passfile, f->appname,
                            t->connect_timeout_s > 0 ? t->connect_timeout_s : 10,
                            t->statement_timeout_ms > 0 ? t->statement_timeout_ms : 60000};
    return f;
}

void central_fwd_disconnect(central_fwd *f)
{
    PQfinish(f->c);
    f->c = NULL;
}

void central_fwd_free(central_fwd *f)
{
    if (!f)
        return;
    central_fwd_disconnect(f);
    outbox_batch_free(&f->batch);
    free(f->ids);
    free(f->conninfo);
    free(f->passfile);
    free(f->appname);
    free(f);
}

/* Connects and prepares one INSERT per record kind (named by the kind). */
static int ensure_connected(central_fwd *f, char *err, size_t errlen)
{
    if (f->c && PQstatus(f->c) == CONNECTION_OK)
        return 0;
    central_fwd_disconnect(f);
    f->c = central_connect(&f->t, "connecting to the central database", err, errlen);
    if (!f->c)
        return -1;
    for (int k = 0; central_record_kinds[k].kind; k++) {
        const central_record_kind *rk = &central_record_kinds[k];
        char many[48];
        snprintf(many, sizeof many, "%s_many", rk->kind);
        PGresult *r = PQprepare(f->c, rk->kind, rk->central_sql, rk->ncols, NULL);
        bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (ok && rk->central_many_sql) {
            PQclear(r);
            r = PQprepare(f->c, many, rk->central_many_sql, rk->ncols, NULL);
            ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        }
        if (!ok) {
            char what[96];
            snprintf(what, sizeof what, "preparing the %s insert (is the central schema made? "
                     "trayflash central init)", rk->kind);
            central_result_error(err, errlen, what, r);
        }
        PQclear(r);
        if (!ok) {
            central_fwd_disconnect(f);
            return -1;
        }
    }
    return 0;
}

typedef struct push_result {
    bool committed;
    int bad;                  /* the record the server refused (index), -1 if none named */
    bool bad_run;             /* it was a statement of many records: which one is not known */
    char state[6];            /* its SQLSTATE */
} push_result;

/* Reads one statement's result; the first error is kept in pr/err with its first record. */
static void take_result(central_fwd *f, int idx, bool run, push_result *pr, bool *failed, char *err,
                        size_t errlen, const char *what)
{
    PGresult *r = PQgetResult(f->c);
    ExecStatusType st = PQresultStatus(r);
    if (!*failed && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        *failed = true;
        if (st == PGRES_PIPELINE_ABORTED)
            snprintf(err, errlen, "%s: aborted", what);
        else
            central_result_error(err, errlen, what, r);
        const char *s = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
        snprintf(pr->state, sizeof pr->state, "%s", s ? s : "");
        pr->bad = idx;
        pr->bad_run = run;
    }
    PQclear(r);
    if (r) /* each statement's results end with a NULL */
        PQclear(PQgetResult(f->c));
}

/* A growing text buffer for one column's array literal. */
typedef struct strbuf {
    char *s;
    size_t len, cap;
} strbuf;

static bool put(strbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = 2 * (b->cap + n + 64);
        char *g = realloc(b->s, cap);
        if (!g)
            return false;
        b->s = g;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
    return true;
}

/* {"v1","v2",NULL,...}: every element quoted, '"' and '\\' escaped (PostgreSQL's array input). */
static bool array_literal(strbuf *b, const outbox_batch *batch, int from, int to, int col)
{
    b->len = 0;
    bool ok = put(b, "{", 1);
    for (int i = from; ok && i < to; i++) {
        const char *v = batch->rec[i].val[col];
        if (i > from)
            ok = put(b, ",", 1);
        if (!v) {
            ok = ok && put(b, "NULL", 4);
            continue;
        }
        ok = ok && put(b, "\"", 1);
        for (const char *p = v; ok && *p; p++) {
            if (*p == '"' || *p == '\\')
                ok = put(b, "\\", 1);
            ok = ok && put(b, p, 1);
        }
        ok = ok && put(b, "\"", 1);
    }
    return ok && put(b, "}", 1);
}

/* Sends records [from, to) of one kind as one statement of arrays. */
static bool send_run(central_fwd *f, int from, int to)
{
    const central_record_kind *k = &central_record_kinds[f->batch.rec[from].kind];
    strbuf cols[CENTRAL_RECORD_MAX_COLS] = {{0}};
    const char *vals[CENTRAL_RECORD_MAX_COLS];
    bool ok = true;
    for (int c = 0; ok && c < k->ncols; c++) {
        ok = array_literal(&cols[c], &f->batch, from, to, c);
        vals[c] = cols[c].s;
    }
    char many[48];
    snprintf(many, sizeof many, "%s_many", k->kind);
    ok = ok && PQsendQueryPrepared(f->c, many, k->ncols, vals, NULL, NULL, 0);
    for (int c = 0; c < k->ncols; c++)
        free(cols[c].s);
    return ok;
}

/* The end of the run starting at i: records of one kind that has a many-records statement. */
static int run_end(const outbox_batch *b, int i, bool grouped)
{
    int j = i + 1;
    if (grouped && central_record_kinds[b->rec[i].kind].central_many_sql)
        while (j < b->n && b->rec[j].kind == b->rec[i].kind)
            j++;
    return j;
}

/* BEGIN, the records, COMMIT in one pipeline. grouped: a run of records of one kind goes as
 * one statement where the kind has one; else one statement per record (which names the
 * record a refusal is about). */
static void push(central_fwd *f, bool grouped, push_result *pr, char *err, size_t errlen)
{
    outbox_batch *b = &f->batch;
    memset(pr, 0, sizeof *pr);
    pr->bad = -1;
    if (!PQenterPipelineMode(f->c)) {
        central_pg_error(err, errlen, "central: pipeline mode", f->c);
        return;
    }
    bool sent = PQsendQueryParams(f->c, "BEGIN", 0, NULL, NULL, NULL, NULL, 0);
    for (int i = 0; sent && i < b->n;) {
        int j = run_end(b, i, grouped);
        if (j - i > 1) {
            sent = send_run(f, i, j);
        } else {
            const outbox_record *r = &b->rec[i];
            const central_record_kind *k = &central_record_kinds[r->kind];
            sent = PQsendQueryPrepared(f->c, k->kind, k->ncols, (const char *const *)r->val, NULL,
                                       NULL, 0);
        }
        i = j;
    }
    sent = sent && PQsendQueryParams(f->c, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) && PQpipelineSync(f->c);
    if (!sent) {
        central_pg_error(err, errlen, "central: sending a batch", f->c);
        PQexitPipelineMode(f->c);
        central_fwd_disconnect(f);
        return;
    }
    bool failed = false;
    take_result(f, -1, false, pr, &failed, err, errlen, "central: BEGIN");
    char what[96];
    for (int i = 0; i < b->n;) {
        int j = run_end(b, i, grouped);
        if (j - i > 1)
            snprintf(what, sizeof what, "%d %s records (outbox rows %lld-%lld)", j - i,
                     central_record_kinds[b->rec[i].kind].kind, (long long)b->rec[i].id,
                     (long long)b->rec[j - 1].id);
        else
            snprintf(what, sizeof what, "%s record (outbox row %lld)",
                     central_record_kinds[b->rec[i].kind].kind, (long long)b->rec[i].id);
        take_result(f, i, j - i > 1, pr, &failed, err, errlen, what);
        i = j;
    }
    take_result(f, -1, false, pr, &failed, err, errlen, "central: COMMIT");
    /* then the sync's own result */
    PGresult *r = PQgetResult(f->c);
    bool synced = PQresultStatus(r) == PGRES_PIPELINE_SYNC;
    PQclear(r);
    if (!synced || !PQexitPipelineMode(f->c) || PQstatus(f->c) != CONNECTION_OK) {
        if (!failed)
            central_pg_error(err, errlen, "central: the batch's reply", f->c);
        pr->committed = false;
        central_fwd_disconnect(f); /* the connection's state is unknown: start afresh */
        return;
    }
    pr->committed = !failed && PQtransactionStatus(f->c) == PQTRANS_IDLE;
    if (PQtransactionStatus(f->c) != PQTRANS_IDLE) {
        char ignore[8];
        central_exec(f->c, "ROLLBACK", ignore, sizeof ignore);
    }
}

static int collect_ids(central_fwd *f, int skip)
{
    if (f->ids_cap < f->batch.n) {
        int64_t *n = realloc(f->ids, (size_t)f->batch.n * sizeof *n);
        if (!n)
            return -1;
        f->ids = n;
        f->ids_cap = f->batch.n;
    }
    int k = 0;
    for (int i = 0; i < f->batch.n; i++)
        if (i != skip)
            f->ids[k++] = f->batch.rec[i].id;
    return k;
}

int central_fwd_run_step(central_fwd *f, int max, central_fwd_step *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    err[0] = 0;
    double t0 = mono_s();
    int n = outbox_read(f->d, max > 0 ? max : CENTRAL_FWD_BATCH, &f->batch);
    double t1 = mono_s();
    f->t_read += t1 - t0;
    if (n < 0)
        return -1;
    if (n == 0) {
        out->empty = true;
        return 0;
    }
    if (ensure_connected(f, err, errlen) < 0) {
        out->failed = true;
        return collect_ids(f, -1) < 0 || outbox_mark_tried(f->d, f->ids, n) < 0 ? -1 : 0;
    }
    push_result pr;
    push(f, true, &pr, err, errlen);
    if (!pr.committed && pr.bad_run && central_sqlstate_permanent(pr.state) && f->c)
        push(f, false, &pr, err, errlen); /* one of many refused: again, a statement each, to
                                             name it */
    double t2 = mono_s();
    f->t_push += t2 - t1;
    if (pr.committed) {
        int k = collect_ids(f, -1);
        int rc = k < 0 ? -1 : outbox_mark_sent(f->d, f->ids, k, now_s());
        f->t_mark += mono_s() - t2;
        if (rc < 0)
            return -1; /* sent but not marked: sent again later, and the server drops them */
        out->sent = k;
        return 0;
    }
    if (pr.bad >= 0 && central_sqlstate_permanent(pr.state)) {
        /* this record can never go: park it, and the caller sends the rest again at once */
        if (outbox_park(f->d, f->batch.rec[pr.bad].id, err, now_s()) < 0)
            return -1;
        out->parked = 1;
        return 0;
    }
    out->failed = true;
    int k = collect_ids(f, -1);
    return k < 0 || outbox_mark_tried(f->d, f->ids, k) < 0 ? -1 : 0;
}
