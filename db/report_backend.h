/* report_backend.h - the database a report runs on, behind one small ops struct (internal to db/).
 *
 * report.c holds the SQL of every figure once, written with ?N placeholders and only what SQLite
 * and PostgreSQL both understand; a backend runs it (report_sqlite.c on the station's file,
 * report_pg.c on the factory's server through libpq). The few dialect differences live in the
 * backend: the placeholder character and what "no LIMIT" is bound as. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum rb_type { RB_DOUBLE, RB_INT64, RB_TEXT, RB_NULL_TEXT, RB_LIMIT } rb_type;

/* A bound value. RB_LIMIT is an int64 row limit where a negative value means "no limit". */
typedef struct rb_param {
    rb_type type;
    double d;
    int64_t i;
    const char *s;
} rb_param;

/* REPORT_SUMMARY_CELLS: attempt_cell, module_span and pass_hist (station schema 7, central 2);
 * REPORT_SUMMARY_MODULES: also attempt_quarter, multi_attempt and module_span's passes and first_ok
 * (station schema 9, central 4). */
enum { REPORT_SUMMARY_NONE, REPORT_SUMMARY_CELLS, REPORT_SUMMARY_MODULES };

typedef struct rb_row rb_row;     /* one result row, valid during the callback only */

typedef struct report_backend_ops {
    const char *name;             /* "sqlite", "postgresql" */
    /* One consistent snapshot for every query until end(). tz: the zone name set on the session
     * where the server has one (PostgreSQL's TimeZone); NULL for the default. */
    int (*begin)(void *be, const char *tz, char *err, size_t errlen);
    void (*end)(void *be);
    /* Which of the report's summaries the database keeps (REPORT_SUMMARY_*), asked within the
     * snapshot: a station file keeps them all (it is opened only at the current schema); a central
     * store what its migrations made. */
    int (*summary)(void *be);
    /* Runs sql with the params, calling on_row for each row (a non-zero return stops with it). */
    int (*query)(void *be, const char *sql, const rb_param *p, int np,
                 int (*on_row)(void *ctx, const rb_row *row), void *ctx, char *err, size_t errlen);
    bool (*is_null)(const rb_row *row, int col);
    double (*dbl)(const rb_row *row, int col);
    int64_t (*i64)(const rb_row *row, int col);
    const char *(*text)(const rb_row *row, int col);  /* never NULL: "" for NULL */
} report_backend_ops;

typedef struct report_backend {
    const report_backend_ops *ops;
    void *be;
} report_backend;

struct rb_row {
    const report_backend_ops *ops;
    void *impl;
};

/* The report over any backend (report.c). totals_only: the dashboard's question, no groupings. */
struct report;
struct report_filter;
struct report_options;
int report_build_on(const report_backend *b, const struct report_filter *f, const struct report_options *o,
                    bool totals_only, struct report **out, char *err, size_t errlen);

/* SQLite on a handle of db.h (report_sqlite.c). */
struct db;
report_backend report_backend_sqlite(struct db *d);
