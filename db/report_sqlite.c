/* report_sqlite.c - the report backend on the station's SQLite file: one read transaction (WAL gives
 * it one snapshot), statements prepared and bound, rows handed over as they are stepped. */
#include "report_backend.h"
#include "db_internal.h"
#include <stdio.h>

static const report_backend_ops sqlite_ops;

static int sq_begin(void *be, const char *tz, char *err, size_t errlen)
{
    (void)tz; /* SQLite has no zones: report.c passes the zone's UTC offsets as values */
    sqlite3 *sq = db_sqlite(be);
    if (sqlite3_exec(sq, "BEGIN", 0, 0, 0) != SQLITE_OK) {
        snprintf(err, errlen, "report: starting a read: %s", sqlite3_errmsg(sq));
        return -1;
    }
    return 0;
}

static void sq_end(void *be)
{
    sqlite3_exec(db_sqlite(be), "COMMIT", 0, 0, 0);
}

static int sq_summary(void *be)
{
    (void)be; /* schemas 7 and 9 made them; a file is opened only at the current version */
    return REPORT_SUMMARY_MODULES;
}

static void bind(sqlite3_stmt *st, int i, const rb_param *p)
{
    switch (p->type) {
    case RB_DOUBLE: sqlite3_bind_double(st, i, p->d); break;
    case RB_INT64: case RB_LIMIT: sqlite3_bind_int64(st, i, p->i < 0 && p->type == RB_LIMIT ? -1 : p->i); break;
    case RB_TEXT: sqlite3_bind_text(st, i, p->s, -1, SQLITE_STATIC); break;
    case RB_NULL_TEXT: sqlite3_bind_null(st, i); break;
    }
}

static int sq_query(void *be, const char *sql, const rb_param *p, int np,
                    int (*on_row)(void *ctx, const rb_row *row), void *ctx, char *err, size_t errlen)
{
    sqlite3 *sq = db_sqlite(be);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(sq, sql, -1, &st, 0) != SQLITE_OK) {
        snprintf(err, errlen, "report: preparing a query: %s", sqlite3_errmsg(sq));
        return -1;
    }
    for (int i = 0; i < np; i++)
        bind(st, i + 1, &p[i]);
    rb_row row = {&sqlite_ops, st};
    int rc, stop = 0;
    while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW)
        stop = on_row(ctx, &row);
    if (!stop && rc != SQLITE_DONE) {
        snprintf(err, errlen, "report: reading attempts: %s", sqlite3_errmsg(sq));
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_finalize(st);
    if (stop < 0)
        snprintf(err, errlen, "report: out of memory");
    return stop < 0 ? -1 : 0;
}

static bool sq_is_null(const rb_row *r, int col) { return sqlite3_column_type(r->impl, col) == SQLITE_NULL; }
static double sq_dbl(const rb_row *r, int col) { return sqlite3_column_double(r->impl, col); }
static int64_t sq_i64(const rb_row *r, int col) { return sqlite3_column_int64(r->impl, col); }
static const char *sq_text(const rb_row *r, int col)
{
    const unsigned char *s = sqlite3_column_text(r->impl, col);
    return s ? (const char *)s : "";
}

static const report_backend_ops sqlite_ops = {
    "sqlite", sq_begin, sq_end, sq_summary, sq_query, sq_is_null, sq_dbl, sq_i64, sq_text,
};

report_backend report_backend_sqlite(struct db *d)
{
    return (report_backend){&sqlite_ops, d};
}
