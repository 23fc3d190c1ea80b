/* report_pg.c - the report backend on PostgreSQL (libpq), and the central copy's schema. */
#include "report_pg.h"
#include "report_backend.h"
#include "db_internal.h"
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { OID_INT8 = 20, OID_TEXT = 25, OID_FLOAT8 = 701, PG_NUM_LEN = 32 };

static const report_backend_ops report_pg_ops;

typedef struct pg_be {
    PGconn *c;
} pg_be;

static void pg_error(char *err, size_t errlen, const char *what, PGconn *c)
{
    const char *m = PQerrorMessage(c);
    size_t n = strlen(m);
    while (n && m[n - 1] == '\n')
        n--;
    snprintf(err, errlen, "report (postgresql): %s: %.*s", what, (int)n, m);
}

/* A command without rows; 0 when the server said yes. */
static int exec_ok(PGconn *c, const char *sql, char *err, size_t errlen)
{
    PGresult *res = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(res);
    PQclear(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        pg_error(err, errlen, sql, c);
        return -1;
    }
    return 0;
}

static int pg_begin(void *be, const char *tz, char *err, size_t errlen)
{
    PGconn *c = ((pg_be *)be)->c;
    if (exec_ok(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err, errlen) < 0)
        return -1;
    /* JIT compiling these few scans costs more than it saves (measured: 10^5 attempts 1.0-1.2 s
     * with it, 0.8 s without) */
    if (exec_ok(c, "SET LOCAL jit = off", err, errlen) < 0)
        return -1;
    /* the report's sorts (returning MACs, failed list) in memory: at 10^7 attempts they are 20-30 MB
     * each and spilled to disk with the default 4 MB (an external merge of 0.3 s each) */
    if (exec_ok(c, "SET LOCAL work_mem = '64MB'", err, errlen) < 0)
        return -1;
    if (!tz || !*tz)
        return 0;
    const char *v[1] = {tz};
    PGresult *res = PQexecParams(c, "SELECT set_config('TimeZone', $1, true)", 1, 0, v, 0, 0, 0);
    bool ok = PQresultStatus(res) == PGRES_TUPLES_OK;
    PQclear(res);
    if (!ok) {
        pg_error(err, errlen, "setting the time zone", c);
        exec_ok(c, "ROLLBACK", err + strlen(err), 0);
        return -1;
    }
    return 0;
}

static void pg_end(void *be)
{
    char err[8];
    exec_ok(((pg_be *)be)->c, "COMMIT", err, sizeof err);
}

static int pg_summary(void *be)
{
    PGresult *res = PQexec(((pg_be *)be)->c,
                           "SELECT to_regclass('attempt_cell') IS NOT NULL AND to_regclass('module_span') IS NOT NULL, "
                           "to_regclass('attempt_quarter') IS NOT NULL AND to_regclass('multi_attempt') IS NOT NULL AND EXISTS (SELECT 1 FROM "
                           "information_schema.columns WHERE table_name = 'module_span' AND column_name = 'first_ok' "
                           "AND table_schema = current_schema())");
    int level = REPORT_SUMMARY_NONE;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't')
        level = PQgetvalue(res, 0, 1)[0] == 't' ? REPORT_SUMMARY_MODULES : REPORT_SUMMARY_CELLS;
    PQclear(res);
    return level;
}

/* The dialect: PostgreSQL numbers its placeholders $N where SQLite takes ?N. */
static char *pg_sql(const char *sql)
{
    char *s = strdup(sql);
    for (char *p = s; p && *p; p++)
        if (*p == '?')
            *p = '$';
    return s;
}

static const unsigned pg_oid[] = {
    [RB_DOUBLE] = OID_FLOAT8, [RB_INT64] = OID_INT8, [RB_TEXT] = OID_TEXT, [RB_NULL_TEXT] = OID_TEXT,
    [RB_LIMIT] = OID_INT8,
};

/* Text values of the parameters; a negative limit is NULL (LIMIT NULL: no limit). */
static void pg_values(const rb_param *p, int np, char (*buf)[PG_NUM_LEN], const char **v, Oid *t)
{
    for (int i = 0; i < np; i++) {
        t[i] = pg_oid[p[i].type];
        v[i] = buf[i];
        switch (p[i].type) {
        case RB_DOUBLE:
            if (isinf(p[i].d))
                snprintf(buf[i], PG_NUM_LEN, "%sInfinity", p[i].d < 0 ? "-" : "");
            else
                snprintf(buf[i], PG_NUM_LEN, "%.17g", p[i].d);
            break;
        case RB_INT64: snprintf(buf[i], PG_NUM_LEN, "%lld", (long long)p[i].i); break;
        case RB_LIMIT:
            if (p[i].i < 0)
                v[i] = NULL;
            else
                snprintf(buf[i], PG_NUM_LEN, "%lld", (long long)p[i].i);
            break;
        case RB_TEXT: v[i] = p[i].s; break;
        case RB_NULL_TEXT: v[i] = NULL; break;
        }
    }
}

typedef struct pg_row {
    PGresult *res;
} pg_row;

/* Rows arrive one at a time (single-row mode): the client holds one row, never the result. */
static int pg_query(void *be, const char *sql, const rb_param *p, int np,
                    int (*on_row)(void *ctx, const rb_row *row), void *ctx, char *err, size_t errlen)
{
    PGconn *c = ((pg_be *)be)->c;
    char *text = pg_sql(sql);
    char(*buf)[PG_NUM_LEN] = calloc((size_t)np + 1, sizeof *buf);
    const char **v = calloc((size_t)np + 1, sizeof *v);
    Oid *t = calloc((size_t)np + 1, sizeof *t);
    int rc = -1;
    if (!text || !buf || !v || !t) {
        snprintf(err, errlen, "report: out of memory");
        goto done;
    }
    pg_values(p, np, buf, v, t);
    if (!PQsendQueryParams(c, text, np, t, v, 0, 0, 0) || !PQsetSingleRowMode(c)) {
        pg_error(err, errlen, "sending a query", c);
        goto done;
    }
    int stop = 0;
    bool failed = false;
    PGresult *res;
    while ((res = PQgetResult(c))) {
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_SINGLE_TUPLE && !stop && !failed) {
            pg_row pr = {res};
            rb_row row = {&report_pg_ops, &pr};
            stop = on_row(ctx, &row);
        } else if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK && !failed) {
            const char *m = PQresultErrorMessage(res);
            snprintf(err, errlen, "report (postgresql): %.*s", (int)strcspn(m, "\n"), m);
            failed = true;
        }
        PQclear(res);
    }
    if (stop < 0)
        snprintf(err, errlen, "report: out of memory");
    rc = failed || stop < 0 ? -1 : 0;
done:
    free(text);
    free(buf);
    free(v);
    free(t);
    return rc;
}

static bool pg_is_null(const rb_row *r, int col) { return PQgetisnull(((pg_row *)r->impl)->res, 0, col); }
static const char *pg_text(const rb_row *r, int col) { return PQgetvalue(((pg_row *)r->impl)->res, 0, col); }
static double pg_dbl(const rb_row *r, int col) { return pg_is_null(r, col) ? 0 : strtod(pg_text(r, col), 0); }
static int64_t pg_i64(const rb_row *r, int col)
{
    return pg_is_null(r, col) ? 0 : strtoll(pg_text(r, col), 0, 10); /* sum() is numeric: digits only */
}

static const report_backend_ops report_pg_ops = {
    "postgresql", pg_begin, pg_end, pg_summary, pg_query, pg_is_null, pg_dbl, pg_i64, pg_text,
};

static PGconn *pg_connect(const char *conninfo, char *err, size_t errlen)
{
    PGconn *c = PQconnectdb(conninfo ? conninfo : "");
    if (PQstatus(c) != CONNECTION_OK) {
        pg_error(err, errlen, "connecting", c);
        PQfinish(c);
        return NULL;
    }
    return c;
}

int report_build_pg(const char *conninfo, const report_filter *f, const report_options *o, report **out,
                    char *err, size_t errlen)
{
    *out = 0;
    pg_be be = {pg_connect(conninfo, err, errlen)};
    if (!be.c)
        return -1;
    report_backend b = {&report_pg_ops, &be};
    int rc = report_build_on(&b, f, o, false, out, err, errlen);
    PQfinish(be.c);
    return rc;
}

/* ---- the central copy ---- */

static const char central_schema_sql[] =
    "SET client_min_messages = warning;\n" /* not the notices of IF NOT EXISTS */
    "CREATE TABLE IF NOT EXISTS station (id bigint PRIMARY KEY, name text NOT NULL, "
    "  host text NOT NULL DEFAULT '', line text);\n"
    "CREATE TABLE IF NOT EXISTS profile (id bigint PRIMARY KEY, name text NOT NULL, "
    "  sha256 text NOT NULL UNIQUE);\n"
    "CREATE TABLE IF NOT EXISTS attempt (id bigint PRIMARY KEY, station_id bigint REFERENCES station(id), "
    "  profile_id bigint REFERENCES profile(id), bay bigint NOT NULL, bay_name text, adapter text, "
    "  start_ts double precision NOT NULL, end_ts double precision, outcome text NOT NULL, cause text, "
    "  detail text, mac text, duplicate_mac integer NOT NULL DEFAULT 0, kind text NOT NULL DEFAULT 'flash', "
    "  lot text, tray bigint, operator text);\n"
    "CREATE INDEX IF NOT EXISTS attempt_by_end ON attempt (end_ts);\n"
    "CREATE INDEX IF NOT EXISTS attempt_by_mac_end ON attempt (mac, end_ts);\n"
    "CREATE INDEX IF NOT EXISTS attempt_by_station_end ON attempt (station_id, end_ts);\n"
    "CREATE INDEX IF NOT EXISTS attempt_failed_by_end ON attempt (end_ts) WHERE outcome <> 'pass';\n";

int report_pg_create_schema(const char *conninfo, char *err, size_t errlen)
{
    PGconn *c = pg_connect(conninfo, err, errlen);
    if (!c)
        return -1;
    int rc = exec_ok(c, central_schema_sql, err, errlen);
    rc = rc ? rc : exec_ok(c, report_summary_pg_sql, err, errlen);
    rc = rc ? rc : exec_ok(c, report_summary_pg_v2_sql, err, errlen);
    PQfinish(c);
    return rc;
}

/* COPY's text format: backslash, tab, newline and carriage return escaped; NULL is \N. */
static void copy_field(char **buf, size_t *len, size_t *cap, sqlite3_stmt *st, int col, bool last)
{
    const char *s = sqlite3_column_type(st, col) == SQLITE_NULL ? NULL : (const char *)sqlite3_column_text(st, col);
    char tmp[PG_NUM_LEN];
    if (s && sqlite3_column_type(st, col) == SQLITE_FLOAT) {
        snprintf(tmp, sizeof tmp, "%.17g", sqlite3_column_double(st, col));
        s = tmp;
    }
    size_t need = (s ? 2 * strlen(s) : 2) + 2;
    if (*len + need > *cap) {
        size_t ncap = 2 * (*cap + need);
        char *n = realloc(*buf, ncap);
        if (!n)
            return; /* the caller checks *buf's room through the COPY's own error */
        *buf = n;
        *cap = ncap;
    }
    char *o = *buf + *len;
    if (!s) {
        *o++ = '\\';
        *o++ = 'N';
    }
    for (; s && *s; s++) {
        char e = *s == '\\' ? '\\' : *s == '\t' ? 't' : *s == '\n' ? 'n' : *s == '\r' ? 'r' : 0;
        if (e) {
            *o++ = '\\';
            *o++ = e;
        } else
            *o++ = *s;
    }
    *o++ = last ? '\n' : '\t';
    *len = (size_t)(o - *buf);
}

static int copy_table(PGconn *c, sqlite3 *sq, const char *select, const char *copy, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(sq, select, -1, &st, 0) != SQLITE_OK) {
        snprintf(err, errlen, "copy: %s", sqlite3_errmsg(sq));
        return -1;
    }
    PGresult *res = PQexec(c, copy);
    bool ok = PQresultStatus(res) == PGRES_COPY_IN;
    PQclear(res);
    if (!ok) {
        sqlite3_finalize(st);
        pg_error(err, errlen, copy, c);
        return -1;
    }
    char *buf = 0;
    size_t len = 0, cap = 0;
    int cols = sqlite3_column_count(st);
    while (ok && sqlite3_step(st) == SQLITE_ROW) {
        for (int i = 0; i < cols; i++)
            copy_field(&buf, &len, &cap, st, i, i == cols - 1);
        if (len > 1 << 20) {
            ok = PQputCopyData(c, buf, (int)len) == 1;
            len = 0;
        }
    }
    sqlite3_finalize(st);
    if (ok && len)
        ok = PQputCopyData(c, buf, (int)len) == 1;
    free(buf);
    ok = PQputCopyEnd(c, ok ? NULL : "copy: writing failed") == 1 && ok;
    while ((res = PQgetResult(c))) {
        ok = ok && PQresultStatus(res) == PGRES_COMMAND_OK;
        PQclear(res);
    }
    if (!ok)
        pg_error(err, errlen, copy, c);
    return ok ? 0 : -1;
}

int report_pg_copy_station(const char *conninfo, db *d, char *err, size_t errlen)
{
    PGconn *c = pg_connect(conninfo, err, errlen);
    if (!c)
        return -1;
    sqlite3 *sq = db_sqlite(d);
    int rc = exec_ok(c, "BEGIN", err, errlen);
    rc = rc ? rc : exec_ok(c, "ALTER TABLE attempt DISABLE TRIGGER attempt_summary", err, errlen);
    rc = rc ? rc : copy_table(c, sq, "SELECT id, name, host, line FROM station",
                              "COPY station (id, name, host, line) FROM STDIN", err, errlen);
    rc = rc ? rc : copy_table(c, sq, "SELECT id, name, sha256 FROM profile", "COPY profile (id, name, sha256) FROM STDIN",
                              err, errlen);
    rc = rc ? rc : copy_table(c, sq, "SELECT id, station_id, profile_id, bay, bay_name, adapter, start_ts, end_ts, "
                              "outcome, cause, detail, mac, duplicate_mac, kind, lot, tray, operator FROM attempt",
                              "COPY attempt (id, station_id, profile_id, bay, bay_name, adapter, start_ts, end_ts, "
                              "outcome, cause, detail, mac, duplicate_mac, kind, lot, tray, operator) FROM STDIN",
                              err, errlen);
    rc = rc ? rc : exec_ok(c, "ALTER TABLE attempt ENABLE TRIGGER attempt_summary", err, errlen);
    rc = rc ? rc : exec_ok(c, report_summary_pg_rebuild_sql, err, errlen);
    char ignore[8];
    rc = rc ? (exec_ok(c, "ROLLBACK", ignore, sizeof ignore), rc) : exec_ok(c, "COMMIT", err, errlen);
    /* Statistics now, not when autovacuum gets round to it: without them the planner takes a
     * bulk-loaded table for a few hundred rows and reads every range through the index. */
    rc = rc ? rc : exec_ok(c, "ANALYZE station, profile, attempt", err, errlen);
    PQfinish(c);
    return rc;
}
