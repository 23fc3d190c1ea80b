/* report.c - computes a yield report once; report_text.c and report_html.c only print it.
 *
 * Definitions (db/README.md repeats them; the dashboard uses report_yield_since, the same code):
 * - Period: attempts that ENDED in [since, until), optionally one profile name and one bay.
 *   Attempts still 'running' are not counted. 'interrupted' attempts and those with cause
 *   'cancelled' say nothing about the module: they are counted apart ("interrupted") and left out
 *   of every other number. Only attempts of kind 'flash' count: a restore is not a yield event,
 *   and a module 'skipped' (it already passed elsewhere, left alone on purpose) is in no figure.
 * - Module: one MAC. An attempt that failed before reading the MAC is a module of its own.
 * - attempts / pass / fail: counted per attempt.
 * - final yield = modules with at least one passing attempt / modules.
 * - first-pass yield = modules whose first attempt (by start time, within the set counted) passed
 *   / modules.
 * - Flash time of a pass = end_ts - start_ts. Mean over passes; p95 by nearest rank (the value at
 *   position ceil(0.95 n) of the sorted times).
 * - modules per hour = modules / hours from the first counted start to the last counted end.
 * - Groupings (profile version by text sha256, hour or day, bay, adapter) apply the SAME definitions
 *   to the attempts of the group alone: a module retried on another bay counts once in each bay.
 *   Time rows are hours, or days when the counted attempts span more than 48 h; an attempt belongs
 *   to the hour/day (local time) in which it ended.
 * - Pareto: failed attempts by cause, count descending; % of all failed attempts, cumulative %.
 * - Failed modules: every module with a failed attempt; its last failure (bay, cause, time, detail),
 *   attempts, re-seats = attempts - 1, and whether it passed in the end.
 * - top cause of a group: its most frequent failure cause (ties: the cause table's order). */
/* How the figures are computed (issue 19): where the data is, so memory grows with the groups and
 * not with the attempts. Every SQL text below runs unchanged on SQLite and PostgreSQL
 * (report_backend.h); C only adds up the rows the queries return, which are few.
 * - "cells": one GROUP BY over the counted attempts by (profile version, time bucket, bay, adapter,
 *   station) gives every additive figure (attempts, passes, times, duplicate flags). C rolls the
 *   cells up into each grouping and the totals.
 * - Modules are not additive (a module retried in two bays counts in both, once). An attempt whose
 *   MAC has no other attempt in the period is a module of its own in every grouping, so only the
 *   MACs with several attempts need more: for those few rows, window functions (row_number and max
 *   over PARTITION BY mac and the grouping's column) mark each module's first attempt in a group and
 *   whether it passed there; summed per cell, they correct the counts of the cells.
 * - Pareto and top causes: failed attempts by cell and cause. Failed modules: a window picks each
 *   module's last failure; the list is sorted, paged (limit) and counted (count(*) OVER ()) in SQL.
 * - p95: the exact nearest rank, read as the (n - rank)-th longest pass: the database keeps only
 *   the top 5 % while scanning, never every time.
 * - Time buckets: the hour or day (local time of the zone in TZ) is floor((end + offset) / width),
 *   with the zone's UTC offset at each end given as bound values: the offsets of the period's span
 *   and the moments they change are found here with localtime_r, so SQLite (which has no zone
 *   database) and PostgreSQL give the same hours. */
#include "report.h"
#include "report_backend.h"
#include "db_internal.h"
#include "report_fmt.h"
#include "bk_cause.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { REPORT_DAY_SPLIT_S = 48 * 3600, MAX_ZONE_CHANGES = 256, ADAPTER_BAYS_MAX = 64 };

/* ---- the SQL: ?1 since, ?2 until, ?3 profile name or NULL, ?4 bay or -1 ---- */
#define PERIOD                                                                                    \
    "a.outcome <> 'running' AND a.kind = 'flash' AND a.end_ts >= ?1 AND a.end_ts < ?2 "          \
    "AND (?3 IS NULL OR a.profile_id IN (SELECT id FROM profile WHERE name = ?3)) "             \
    "AND (?4 < 0 OR a.bay = ?4) "
#define INTERRUPTED "(a.outcome = 'interrupted' OR coalesce(a.cause, '') = 'cancelled')"
#define COUNTED PERIOD "AND NOT " INTERRUPTED " AND a.outcome <> 'skipped' "
#define PASSED "CASE WHEN a.outcome = 'pass' THEN 1 ELSE 0 END"
#define CELL_KEYS "a.profile_id, %s, a.bay, coalesce(a.adapter, ''), a.station_id"
#define CELL_KEYS_AS "a.profile_id AS k0, %s AS k1, a.bay AS k2, coalesce(a.adapter, '') AS k3, a.station_id AS k4"
#define TOTAL_KEYS "0, 0.0, 0, '', 0"
#define TOTAL_KEYS_AS "0 AS k0, 0.0 AS k1, 0 AS k2, '' AS k3, 0 AS k4"

/* The period's span and interrupted count. */
static const char span_sql[] =
    "SELECT sum(CASE WHEN " INTERRUPTED " THEN 1 ELSE 0 END), "
    "min(CASE WHEN NOT " INTERRUPTED " THEN a.start_ts END), "
    "max(CASE WHEN NOT " INTERRUPTED " THEN a.end_ts END), "
    "min(CASE WHEN NOT " INTERRUPTED " THEN a.end_ts END) "
    "FROM attempt a WHERE " PERIOD;

/* Cells: the first %s is the keys (CELL_KEYS with the bucket expression in, or constants for the
 * totals alone), the second the GROUP BY (none for the totals: no sort at all). */
static const char cells_sql[] =
    "SELECT %s, count(*), sum(" PASSED "), min(a.start_ts), max(a.end_ts), min(a.end_ts), "
    "sum(a.duplicate_mac), "
    "sum(CASE WHEN a.outcome = 'pass' AND a.end_ts - a.start_ts >= 0 THEN 1 ELSE 0 END), "
    "sum(CASE WHEN a.outcome = 'pass' AND a.end_ts - a.start_ts >= 0 THEN a.end_ts - a.start_ts ELSE 0 END), "
    "min(nullif(a.bay_name, '')) "
    "FROM attempt a WHERE " COUNTED "%s";

/* Modules with several attempts: first attempt and any pass per grouping, summed per cell. */
#define FIRST(part) "CASE WHEN row_number() OVER (PARTITION BY mac" part " ORDER BY start_ts, id) = 1 THEN 1 ELSE 0 END"
#define ANY(part) "max(ok) OVER (PARTITION BY mac" part ")"
#define FLAGS(n, part) FIRST(part) " AS f" n ", " ANY(part) " AS y" n
#define SUMS(n) ", sum(f" n "), sum(f" n " * ok), sum(f" n " * y" n ")"
static const char multi_sql[] =
    "WITH m AS (SELECT a.mac AS mac, a.id AS id, a.start_ts AS start_ts, %s, " PASSED " AS ok "
    "FROM attempt a WHERE " COUNTED "AND a.mac IN (SELECT mac FROM attempt "
    "WHERE mac <> '' AND end_ts >= ?1 AND end_ts < ?2 GROUP BY mac HAVING count(*) > 1)), "
    "w AS (SELECT k0, k1, k2, k3, k4, ok, " FLAGS("0", ", k0") ", " FLAGS("1", ", k1") ", "
    FLAGS("2", ", k2") ", " FLAGS("3", ", k3") ", " FLAGS("4", ", k4") ", " FLAGS("5", "") " FROM m) "
    "SELECT k0, k1, k2, k3, k4, count(*), sum(ok)" SUMS("0") SUMS("1") SUMS("2") SUMS("3") SUMS("4")
    SUMS("5") " FROM w GROUP BY 1, 2, 3, 4, 5";

static const char causes_sql[] =
    "SELECT " CELL_KEYS ", coalesce(a.cause, ''), count(*) FROM attempt a WHERE " COUNTED
    "AND a.outcome <> 'pass' GROUP BY 1, 2, 3, 4, 5, 6";

/* Failed modules, ordered by their last failure, ?5 rows at most (negative: all). A module without a
 * MAC is its attempt alone. */
static const char failed_sql[] =
    "WITH f AS (SELECT a.id, coalesce(a.mac, '') AS mac, a.bay, coalesce(a.cause, '') AS cause, a.end_ts, "
    "coalesce(a.detail, '') AS detail, a.duplicate_mac AS dup, row_number() OVER (PARTITION BY "
    "coalesce(a.mac, ''), CASE WHEN coalesce(a.mac, '') = '' THEN a.id ELSE 0 END "
    "ORDER BY a.start_ts DESC, a.id DESC) AS rn FROM attempt a WHERE " COUNTED "AND a.outcome <> 'pass'), "
    "l AS (SELECT * FROM f WHERE rn = 1), "
    "u AS (SELECT a.mac AS mac, count(*) AS n, max(" PASSED ") AS p, max(a.duplicate_mac) AS d "
    "FROM attempt a WHERE " COUNTED "AND a.mac IN (SELECT mac FROM l WHERE mac <> '') GROUP BY a.mac) "
    "SELECT l.mac, l.id, l.bay, l.cause, l.end_ts, l.detail, coalesce(u.n, 1), coalesce(u.p, 0), "
    "coalesce(u.d, l.dup), count(*) OVER () FROM l LEFT JOIN u ON u.mac = l.mac AND l.mac <> '' "
    "ORDER BY l.end_ts, l.id LIMIT ?5";

/* The ?5-th longest timed pass (0 = the longest). */
static const char rank_sql[] =
    "SELECT a.end_ts - a.start_ts FROM attempt a WHERE " COUNTED "AND a.outcome = 'pass' "
    "AND a.end_ts - a.start_ts >= 0 ORDER BY 1 DESC LIMIT 1 OFFSET ?5";

static const char names_sql[] = "SELECT id, coalesce(name, ''), coalesce(sha256, '') FROM profile";
static const char stations_sql[] = "SELECT id, coalesce(name, ''), '' FROM station ORDER BY id";

/* ---- time buckets in the zone ---- */

/* The zone's offset east of UTC at ts (glibc's tm_gmtoff). */
static long zone_offset(double ts)
{
    time_t t = (time_t)floor(ts);
    struct tm tm;
    return localtime_r(&t, &tm) ? tm.tm_gmtoff : 0;
}

typedef struct zone_span {
    int n;                                   /* changes */
    double at[MAX_ZONE_CHANGES];             /* the offset is off[i] before at[i] */
    double off[MAX_ZONE_CHANGES + 1];        /* off[n] after the last change */
} zone_span;

/* The offsets over [lo, hi], stepping by days and pinning each change to the second. Beyond
 * MAX_ZONE_CHANGES changes (a century of hand-edited times) the last offset holds. */
static void zone_changes(double lo, double hi, zone_span *z)
{
    z->n = 0;
    if (!report_time_ok(lo) || !report_time_ok(hi) || hi < lo) {
        z->off[0] = zone_offset(report_time_ok(lo) ? lo : hi);
        return;
    }
    long cur = zone_offset(lo);
    double step = 86400;
    if ((hi - lo) / step > 200000)
        step = (hi - lo) / 200000;
    for (double t = lo; t < hi && z->n < MAX_ZONE_CHANGES;) {
        double next = fmin(t + step, hi);
        long o = zone_offset(next);
        if (o != cur) {
            double a = t, b = next; /* offset cur at a, o at b */
            while (b - a > 1) {
                double mid = floor((a + b) / 2);
                if (zone_offset(mid) == cur)
                    a = mid;
                else
                    b = mid;
            }
            z->at[z->n] = b;
            z->off[z->n++] = (double)cur;
            cur = o;
        }
        t = next;
    }
    z->off[z->n] = (double)cur;
}

/* The bucket expression over a.end_ts with its parameters from ?5: width, lo, hi, last offset, then
 * (change, offset before it) pairs. */
static int bucket_expr(const zone_span *z, char *buf, size_t n)
{
    int len = snprintf(buf, n, "CASE WHEN a.end_ts >= ?6 AND a.end_ts <= ?7 THEN floor((a.end_ts + %s",
                       z->n ? "CASE" : "?8");
    for (int i = 0; i < z->n; i++)
        len += snprintf(buf + len, n - (size_t)len, " WHEN a.end_ts < ?%d THEN ?%d", 9 + 2 * i, 10 + 2 * i);
    len += snprintf(buf + len, n - (size_t)len, "%s) / ?5) END", z->n ? " ELSE ?8 END" : "");
    return len < (int)n ? 0 : -1;
}

/* A hand-edited time the C library cannot convert goes to one bucket of its own, last. */
static double bucket_start(double ts, bool by_day)
{
    if (!report_time_ok(ts))
        return HUGE_VAL;
    time_t t = (time_t)floor(ts);
    struct tm tm;
    localtime_r(&t, &tm);
    tm.tm_sec = 0;
    tm.tm_min = 0;
    if (by_day)
        tm.tm_hour = 0;
    tm.tm_isdst = -1;
    return (double)mktime(&tm);
}

/* ---- rolling cells up into groups ---- */

enum { DIM_PROFILE, DIM_TIME, DIM_BAY, DIM_ADAPTER, DIM_STATION, DIM_COUNT, DIM_TOTAL = DIM_COUNT };

typedef struct gkey {
    bool null;
    int64_t i;   /* profile id, bay, station id */
    double d;    /* time bucket */
    char s[96];  /* adapter */
} gkey;

typedef struct acc {   /* additive parts of report_stats; m_ = rows of MACs with several attempts */
    int64_t attempts, pass, m_rows, m_pass, m_first, m_first_ok, m_any_ok;
    int64_t causes[BK_CAUSE_COUNT + 1];
} acc;

typedef struct group {
    gkey key;
    acc a;
    double min_end, max_end;
    char bay_name[32];
    int64_t bays[ADAPTER_BAYS_MAX];
    int n_bays;
} group;

typedef struct dim {
    group *v;
    int n, cap, last;
} dim;

typedef struct build {
    const report_backend *b;
    report *r;
    dim dims[DIM_COUNT];
    acc total;
    double sum_pass_s;
    int64_t timed;
    report_cause_row *causes;
    int n_causes, cap_causes;
    report_failed_row *failed;
    int n_failed, cap_failed;
    int64_t failed_total;
    bool by_day;
} build;

static bool key_eq(int d, const gkey *a, const gkey *b)
{
    if (a->null != b->null)
        return false;
    if (a->null)
        return true;
    switch (d) {
    case DIM_TIME: return a->d == b->d;
    case DIM_ADAPTER: return strcmp(a->s, b->s) == 0;
    default: return a->i == b->i;
    }
}

static group *find_group(dim *g, int d, const gkey *k)
{
    if (g->last < g->n && key_eq(d, &g->v[g->last].key, k))
        return &g->v[g->last];
    for (int i = 0; i < g->n; i++)
        if (key_eq(d, &g->v[i].key, k))
            return &g->v[g->last = i];
    if (g->n == g->cap) {
        int cap = g->cap ? 2 * g->cap : 64;
        group *v = realloc(g->v, (size_t)cap * sizeof *v);
        if (!v)
            return NULL;
        g->v = v;
        g->cap = cap;
    }
    group *n = &g->v[g->n];
    memset(n, 0, sizeof *n);
    n->key = *k;
    n->min_end = HUGE_VAL;
    n->max_end = -HUGE_VAL;
    return &g->v[g->last = g->n++];
}

/* The five keys of a cell row (columns 0..4). */
static void cell_keys(const rb_row *row, gkey k[DIM_COUNT])
{
    const report_backend_ops *o = row->ops;
    memset(k, 0, DIM_COUNT * sizeof *k);
    for (int d = 0; d < DIM_COUNT; d++)
        k[d].null = o->is_null(row, d);
    k[DIM_PROFILE].i = o->i64(row, 0);
    k[DIM_TIME].d = o->dbl(row, 1);
    k[DIM_BAY].i = o->i64(row, 2);
    snprintf(k[DIM_ADAPTER].s, sizeof k[DIM_ADAPTER].s, "%s", o->text(row, 3));
    k[DIM_ADAPTER].null = false; /* coalesced: "" is the unknown adapter */
    k[DIM_STATION].i = o->i64(row, 4);
}

static void note_bay(group *g, int64_t bay)
{
    for (int i = 0; i < g->n_bays; i++)
        if (g->bays[i] == bay)
            return;
    if (g->n_bays < ADAPTER_BAYS_MAX)
        g->bays[g->n_bays++] = bay;
}

static int on_cell(void *ctx, const rb_row *row)
{
    build *bd = ctx;
    const report_backend_ops *o = row->ops;
    gkey k[DIM_COUNT];
    cell_keys(row, k);
    int64_t n = o->i64(row, 5), pass = o->i64(row, 6);
    double min_start = o->dbl(row, 7), max_end = o->dbl(row, 8), min_end = o->dbl(row, 9);
    report *r = bd->r;
    r->first_ts = fmin(r->first_ts, min_start);
    r->last_ts = fmax(r->last_ts, max_end);
    r->duplicate_macs += (int)o->i64(row, 10);
    bd->timed += o->i64(row, 11);
    bd->sum_pass_s += o->dbl(row, 12);
    bd->total.attempts += n;
    bd->total.pass += pass;
    for (int d = 0; d < DIM_COUNT; d++) {
        group *g = find_group(&bd->dims[d], d, &k[d]);
        if (!g)
            return -1;
        g->a.attempts += n;
        g->a.pass += pass;
        g->min_end = fmin(g->min_end, min_end);
        g->max_end = fmax(g->max_end, max_end);
        /* a bay's name: the least of the names its attempts carry (any order of cells gives it) */
        if (d == DIM_BAY && !o->is_null(row, 13) && (!g->bay_name[0] || strcmp(o->text(row, 13), g->bay_name) < 0))
            snprintf(g->bay_name, sizeof g->bay_name, "%s", o->text(row, 13));
        if (d == DIM_ADAPTER)
            note_bay(g, k[DIM_BAY].i);
    }
    return 0;
}

static void add_multi(acc *a, const rb_row *row, int col, int64_t rows, int64_t pass)
{
    const report_backend_ops *o = row->ops;
    a->m_rows += rows;
    a->m_pass += pass;
    a->m_first += o->i64(row, col);
    a->m_first_ok += o->i64(row, col + 1);
    a->m_any_ok += o->i64(row, col + 2);
}

static int on_multi(void *ctx, const rb_row *row)
{
    build *bd = ctx;
    gkey k[DIM_COUNT];
    cell_keys(row, k);
    int64_t rows = row->ops->i64(row, 5), pass = row->ops->i64(row, 6);
    for (int d = 0; d < DIM_COUNT; d++) {
        group *g = find_group(&bd->dims[d], d, &k[d]);
        if (!g)
            return -1;
        add_multi(&g->a, row, 7 + 3 * d, rows, pass);
    }
    add_multi(&bd->total, row, 7 + 3 * DIM_TOTAL, rows, pass);
    return 0;
}

/* A stored cause word: its index in the cause table (BK_CAUSE_COUNT when unknown, also for a
 * failure stored with no cause or as "pass"), and the word the Pareto lists it under. */
static int cause_index(const char *stored, const char **word, bool *none)
{
    int c = (int)bk_cause_from_id(stored);
    if (c == BK_CAUSE_NONE)
        c = BK_CAUSE_COUNT, stored = "";
    *none = c == BK_CAUSE_COUNT && !stored[0];
    *word = c < BK_CAUSE_COUNT ? bk_cause_id((bk_cause)c) : stored[0] ? stored : "unknown";
    return c;
}

static int add_pareto(build *bd, const char *stored, int64_t count)
{
    const char *word;
    bool none;
    int c = cause_index(stored, &word, &none);
    int k = 0;
    while (k < bd->n_causes && strcmp(bd->causes[k].cause, word) != 0)
        k++;
    if (k == bd->n_causes) {
        if (bd->n_causes == bd->cap_causes) {
            int cap = bd->cap_causes ? 2 * bd->cap_causes : 32;
            report_cause_row *v = realloc(bd->causes, ((size_t)cap + 1) * sizeof *v);
            if (!v)
                return -1;
            bd->causes = v;
            bd->cap_causes = cap;
        }
        report_cause_row *n = &bd->causes[bd->n_causes++];
        memset(n, 0, sizeof *n);
        snprintf(n->cause, sizeof n->cause, "%s", word);
        n->name = c < BK_CAUSE_COUNT ? bk_cause_name((bk_cause)c) : none ? "no cause stored" : "unknown cause";
        n->remedy = c < BK_CAUSE_COUNT ? bk_cause_remedy((bk_cause)c)
                    : none ? "the row holds no cause: it was written by hand or by another tool"
                           : "update trayflash: this cause is newer than it";
    }
    bd->causes[k].count += (int)count;
    return 0;
}

static int on_cause(void *ctx, const rb_row *row)
{
    build *bd = ctx;
    gkey k[DIM_COUNT];
    cell_keys(row, k);
    const char *stored = row->ops->text(row, 5), *word;
    int64_t count = row->ops->i64(row, 6);
    bool none;
    int c = cause_index(stored, &word, &none);
    for (int d = 0; d < DIM_COUNT; d++) {
        group *g = find_group(&bd->dims[d], d, &k[d]);
        if (!g)
            return -1;
        g->a.causes[c] += count;
    }
    bd->total.causes[c] += count;
    return add_pareto(bd, stored, count);
}

static int on_failed(void *ctx, const rb_row *row)
{
    build *bd = ctx;
    const report_backend_ops *o = row->ops;
    if (bd->n_failed == bd->cap_failed) {
        int cap = bd->cap_failed ? 2 * bd->cap_failed : 64;
        report_failed_row *v = realloc(bd->failed, ((size_t)cap + 1) * sizeof *v);
        if (!v)
            return -1;
        bd->failed = v;
        bd->cap_failed = cap;
    }
    report_failed_row *f = &bd->failed[bd->n_failed++];
    memset(f, 0, sizeof *f);
    snprintf(f->mac, sizeof f->mac, "%s", o->text(row, 0));
    f->attempt_id = o->i64(row, 1);
    f->bay = o->i64(row, 2);
    const char *word;
    bool none;
    cause_index(o->text(row, 3), &word, &none);
    snprintf(f->cause, sizeof f->cause, "%s", word);
    f->ts = o->dbl(row, 4);
    snprintf(f->detail, sizeof f->detail, "%s", o->text(row, 5));
    f->attempts = (int)o->i64(row, 6);
    f->reseats = f->attempts - 1;
    f->passed = o->i64(row, 7) != 0;
    f->duplicate_mac = o->i64(row, 8) != 0;
    bd->failed_total = o->i64(row, 9);
    return 0;
}

/* The shared definitions over an accumulator: a row of a MAC seen once is a module alone. */
static report_stats stats_of(const acc *a)
{
    report_stats s = {0};
    int64_t single = a->attempts - a->m_rows, single_pass = a->pass - a->m_pass;
    s.attempts = (int)a->attempts;
    s.pass = (int)a->pass;
    s.fail = (int)(a->attempts - a->pass);
    s.modules = (int)(single + a->m_first);
    s.modules_passed = (int)(single_pass + a->m_any_ok);
    s.modules_first_pass = (int)(single_pass + a->m_first_ok);
    if (s.modules) {
        s.final_yield = (double)s.modules_passed / s.modules;
        s.first_pass_yield = (double)s.modules_first_pass / s.modules;
    }
    for (int c = 0; c <= BK_CAUSE_COUNT; c++) {
        if (a->causes[c] > s.top_cause_count) {
            s.top_cause_count = (int)a->causes[c];
            snprintf(s.top_cause, sizeof s.top_cause, "%s",
                     c < BK_CAUSE_COUNT ? bk_cause_id((bk_cause)c) : "unknown");
            /* (several unknown stored words count together here; the Pareto keeps them apart) */
        }
    }
    return s;
}

/* ---- from groups to the report's rows ---- */

typedef struct names {
    int64_t *id;
    char (*name)[64];
    char (*sha)[65];
    int n, cap;
} names;

static int on_name(void *ctx, const rb_row *row)
{
    names *nm = ctx;
    if (nm->n == nm->cap) {
        int cap = nm->cap ? 2 * nm->cap : 16;
        int64_t *id = realloc(nm->id, (size_t)cap * sizeof *id);
        if (id)
            nm->id = id;
        char(*name)[64] = realloc(nm->name, (size_t)cap * sizeof *name);
        if (name)
            nm->name = name;
        char(*sha)[65] = realloc(nm->sha, (size_t)cap * sizeof *sha);
        if (sha)
            nm->sha = sha;
        if (!id || !name || !sha)
            return -1;
        nm->cap = cap;
    }
    nm->id[nm->n] = row->ops->i64(row, 0);
    snprintf(nm->name[nm->n], sizeof nm->name[0], "%s", row->ops->text(row, 1));
    snprintf(nm->sha[nm->n], sizeof nm->sha[0], "%s", row->ops->text(row, 2));
    nm->n++;
    return 0;
}

static void names_free(names *nm)
{
    free(nm->id);
    free(nm->name);
    free(nm->sha);
}

static int find_name(const names *nm, const gkey *k)
{
    for (int i = 0; !k->null && i < nm->n; i++)
        if (nm->id[i] == k->i)
            return i;
    return -1;
}

static int cmp_profile_first(const void *pa, const void *pb)
{
    const report_profile_row *a = pa, *b = pb;
    if (a->first_ts != b->first_ts)
        return (a->first_ts > b->first_ts) - (a->first_ts < b->first_ts);
    return strcmp(a->sha256, b->sha256); /* a total order: the cells' order must not show */
}

static int cmp_time(const void *pa, const void *pb)
{
    const report_time_row *a = pa, *b = pb;
    return (a->start_ts > b->start_ts) - (a->start_ts < b->start_ts);
}

static int cmp_bay(const void *pa, const void *pb)
{
    const report_bay_row *a = pa, *b = pb;
    return (a->bay > b->bay) - (a->bay < b->bay);
}

static int cmp_adapter(const void *pa, const void *pb)
{
    const report_adapter_row *a = pa, *b = pb;
    return strcmp(a->adapter, b->adapter);
}

static int cmp_station(const void *pa, const void *pb)
{
    const report_station_row *a = pa, *b = pb;
    return (a->station_id > b->station_id) - (a->station_id < b->station_id);
}

static int emit_profiles(build *bd, const names *nm)
{
    report *r = bd->r;
    const dim *g = &bd->dims[DIM_PROFILE];
    if (!(r->profiles = calloc((size_t)g->n + 1, sizeof *r->profiles)))
        return -1;
    for (int i = 0; i < g->n; i++) {
        report_profile_row *p = &r->profiles[i];
        int k = find_name(nm, &g->v[i].key);
        snprintf(p->name, sizeof p->name, "%s", k >= 0 ? nm->name[k] : "");
        snprintf(p->sha256, sizeof p->sha256, "%s", k >= 0 ? nm->sha[k] : "");
        p->first_ts = g->v[i].min_end;
        p->last_ts = g->v[i].max_end;
        p->s = stats_of(&g->v[i].a);
    }
    r->n_profiles = g->n;
    qsort(r->profiles, (size_t)g->n, sizeof *r->profiles, cmp_profile_first);
    return 0;
}

static int emit_groups(build *bd, const names *stations)
{
    report *r = bd->r;
    const dim *t = &bd->dims[DIM_TIME], *b = &bd->dims[DIM_BAY], *a = &bd->dims[DIM_ADAPTER],
              *s = &bd->dims[DIM_STATION];
    r->times = calloc((size_t)t->n + 1, sizeof *r->times);
    r->bays = calloc((size_t)b->n + 1, sizeof *r->bays);
    r->adapters = calloc((size_t)a->n + 1, sizeof *r->adapters);
    r->by_station = calloc((size_t)s->n + 1, sizeof *r->by_station);
    if (!r->times || !r->bays || !r->adapters || !r->by_station)
        return -1;
    for (int i = 0; i < t->n; i++) {
        r->times[i].start_ts = t->v[i].key.null ? HUGE_VAL : bucket_start(t->v[i].min_end, bd->by_day);
        r->times[i].s = stats_of(&t->v[i].a);
    }
    for (int i = 0; i < b->n; i++) {
        r->bays[i].bay = b->v[i].key.i;
        snprintf(r->bays[i].bay_name, sizeof r->bays[i].bay_name, "%s", b->v[i].bay_name);
        r->bays[i].s = stats_of(&b->v[i].a);
    }
    for (int i = 0; i < a->n; i++) {
        snprintf(r->adapters[i].adapter, sizeof r->adapters[i].adapter, "%s", a->v[i].key.s);
        r->adapters[i].bays_seen = a->v[i].n_bays;
        r->adapters[i].s = stats_of(&a->v[i].a);
    }
    for (int i = 0; i < s->n; i++) {
        report_station_row *row = &r->by_station[i];
        row->station_id = s->v[i].key.null ? 0 : s->v[i].key.i;
        int k = find_name(stations, &s->v[i].key);
        snprintf(row->name, sizeof row->name, "%s", k >= 0 ? stations->name[k] : "");
        row->s = stats_of(&s->v[i].a);
    }
    r->n_times = t->n;
    r->n_bays = b->n;
    r->n_adapters = a->n;
    r->n_by_station = s->n;
    qsort(r->times, (size_t)t->n, sizeof *r->times, cmp_time);
    qsort(r->bays, (size_t)b->n, sizeof *r->bays, cmp_bay);
    qsort(r->adapters, (size_t)a->n, sizeof *r->adapters, cmp_adapter);
    qsort(r->by_station, (size_t)s->n, sizeof *r->by_station, cmp_station);
    /* Station names in id order, each once, as long as they fit. */
    for (int k = 0; k < stations->n; k++) {
        gkey key = {.i = stations->id[k]};
        const char *nm = stations->name[k];
        bool seen = false;
        for (int i = 0; i < s->n && !seen; i++)
            seen = key_eq(DIM_STATION, &s->v[i].key, &key);
        if (seen && nm[0] && !strstr(r->stations, nm)) {
            size_t len = strlen(r->stations);
            snprintf(r->stations + len, sizeof r->stations - len, "%s%s", len ? ", " : "", nm);
        }
    }
    return 0;
}

static int cmp_cause_row(const void *pa, const void *pb)
{
    const report_cause_row *a = pa, *b = pb;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    int ca = (int)bk_cause_from_id(a->cause), cb = (int)bk_cause_from_id(b->cause);
    return ca != cb ? (ca < cb ? -1 : 1) : strcmp(a->cause, b->cause);
}

static void emit_pareto(build *bd)
{
    report *r = bd->r;
    r->causes = bd->causes;
    r->n_causes = bd->n_causes;
    bd->causes = 0;
    if (!r->causes)
        r->causes = calloc(1, sizeof *r->causes);
    qsort(r->causes, (size_t)r->n_causes, sizeof *r->causes, cmp_cause_row);
    int cum = 0;
    for (int k = 0; k < r->n_causes; k++) {
        cum += r->causes[k].count;
        r->causes[k].pct = 100.0 * r->causes[k].count / r->total.fail;
        r->causes[k].cum_pct = 100.0 * cum / r->total.fail;
    }
}

/* ---- running the queries ---- */

enum { P_FILTER = 4, P_BUCKET_FIXED = 4, P_MAX = P_FILTER + P_BUCKET_FIXED + 2 * MAX_ZONE_CHANGES + 1 };

typedef struct span {
    int64_t interrupted;
    double first_start, last_end, first_end;
    bool any;
} span;

static int on_span(void *ctx, const rb_row *row)
{
    span *sp = ctx;
    sp->interrupted = row->ops->i64(row, 0);
    sp->any = !row->ops->is_null(row, 1);
    sp->first_start = row->ops->dbl(row, 1);
    sp->last_end = row->ops->dbl(row, 2);
    sp->first_end = row->ops->dbl(row, 3);
    return 0;
}

static int on_double(void *ctx, const rb_row *row)
{
    *(double *)ctx = row->ops->dbl(row, 0);
    return 0;
}

/* The parameters after the filter's: bucket width, the convertible range, the zone's offsets. */
static int bucket_params(rb_param *p, const zone_span *z, bool by_day)
{
    int n = P_FILTER;
    p[n++] = (rb_param){.type = RB_DOUBLE, .d = by_day ? 86400.0 : 3600.0};
    p[n++] = (rb_param){.type = RB_DOUBLE, .d = -62135596800.0 + 86400};  /* report_time_ok's range */
    p[n++] = (rb_param){.type = RB_DOUBLE, .d = 253402300799.0 - 86400};
    p[n++] = (rb_param){.type = RB_DOUBLE, .d = z->off[z->n]};
    for (int i = 0; i < z->n; i++) {
        p[n++] = (rb_param){.type = RB_DOUBLE, .d = z->at[i]};
        p[n++] = (rb_param){.type = RB_DOUBLE, .d = z->off[i]};
    }
    return n;
}

static int run(build *bd, const char *sql, const rb_param *p, int np, int (*cb)(void *, const rb_row *),
               void *ctx, char *err, size_t errlen)
{
    const report_backend *b = bd->b;
    return b->ops->query(b->be, sql, p, np, cb, ctx, err, errlen);
}

/* cells_sql, multi_sql and causes_sql with the bucket expression in. */
static int run_cells(build *bd, const rb_param *p, int np, const zone_span *z, bool totals_only, char *err,
                     size_t errlen)
{
    char bucket[64 + 48 * MAX_ZONE_CHANGES];
    if (bucket_expr(z, bucket, sizeof bucket) < 0) {
        snprintf(err, errlen, "report: too many zone changes in the period");
        return -1;
    }
    size_t cap = sizeof multi_sql + 2 * sizeof bucket + 256;
    char *sql = malloc(cap), *keys = malloc(cap);
    if (!sql || !keys) {
        free(sql);
        free(keys);
        snprintf(err, errlen, "report: out of memory");
        return -1;
    }
    int rc = 0;
    snprintf(keys, cap, totals_only ? TOTAL_KEYS : CELL_KEYS, bucket);
    snprintf(sql, cap, cells_sql, keys, totals_only ? "" : "GROUP BY 1, 2, 3, 4, 5");
    rc = rc ? rc : run(bd, sql, p, np, on_cell, bd, err, errlen);
    snprintf(keys, cap, totals_only ? TOTAL_KEYS_AS : CELL_KEYS_AS, bucket);
    snprintf(sql, cap, multi_sql, keys);
    rc = rc ? rc : run(bd, sql, p, np, on_multi, bd, err, errlen);
    free(keys);
    snprintf(sql, cap, causes_sql, bucket);
    rc = rc || totals_only ? rc : run(bd, sql, p, np, on_cause, bd, err, errlen);
    free(sql);
    return rc;
}

static int run_queries(build *bd, const report_filter *f, const report_options *o, bool totals_only, char *err,
                       size_t errlen)
{
    report *r = bd->r;
    rb_param *p = calloc(P_MAX + 1, sizeof *p);
    names profiles = {0}, stations = {0};
    zone_span *z = calloc(1, sizeof *z);
    int rc = -1;
    if (!p || !z) {
        snprintf(err, errlen, "report: out of memory");
        goto done;
    }
    p[0] = (rb_param){.type = RB_DOUBLE, .d = f->since};
    p[1] = (rb_param){.type = RB_DOUBLE, .d = f->until > 0 ? f->until : HUGE_VAL};
    p[2] = f->profile && *f->profile ? (rb_param){.type = RB_TEXT, .s = f->profile} : (rb_param){.type = RB_NULL_TEXT};
    p[3] = (rb_param){.type = RB_INT64, .i = f->bay};
    span sp = {0};
    if (!totals_only && run(bd, span_sql, p, P_FILTER, on_span, &sp, err, errlen) < 0)
        goto done;
    r->interrupted = (int)sp.interrupted;
    bd->by_day = sp.any && sp.last_end - sp.first_start > REPORT_DAY_SPLIT_S;
    r->by_day = bd->by_day;
    double now = r->generated_ts;
    zone_changes(sp.any ? fmax(sp.first_end, -62135596800.0 + 86400) : now,
                 sp.any ? fmin(sp.last_end, 253402300799.0 - 86400) : now, z);
    int np = bucket_params(p, z, bd->by_day);
    if (run_cells(bd, p, np, z, totals_only, err, errlen) < 0)
        goto done;
    if (!totals_only) {
        p[4] = (rb_param){.type = RB_LIMIT, .i = o->failed_limit > 0 ? o->failed_limit : -1};
        if (run(bd, failed_sql, p, 5, on_failed, bd, err, errlen) < 0)
            goto done;
        if (bd->timed > 0) {
            int64_t rank = (int64_t)ceil(0.95 * (double)bd->timed);
            p[4] = (rb_param){.type = RB_INT64, .i = bd->timed - rank};
            if (run(bd, rank_sql, p, 5, on_double, &r->p95_pass_s, err, errlen) < 0)
                goto done;
        }
        if (run(bd, names_sql, 0, 0, on_name, &profiles, err, errlen) < 0 ||
            run(bd, stations_sql, 0, 0, on_name, &stations, err, errlen) < 0)
            goto done;
    }
    r->total = stats_of(&bd->total);
    if (emit_profiles(bd, &profiles) < 0 || emit_groups(bd, &stations) < 0) {
        snprintf(err, errlen, "report: out of memory");
        goto done;
    }
    rc = 0;
done:
    names_free(&profiles);
    names_free(&stations);
    free(z);
    free(p);
    return rc;
}

static void totals(report *r, const build *bd)
{
    if (r->total.attempts == 0)
        r->first_ts = r->last_ts = 0;
    r->timed_passes = (int)bd->timed;
    if (bd->timed)
        r->mean_pass_s = bd->sum_pass_s / (double)bd->timed;
    double span_h = (r->last_ts - r->first_ts) / 3600.0;
    r->modules_per_hour = span_h > 0 && isfinite(span_h) ? r->total.modules / span_h : 0;
    r->failed = bd->failed ? bd->failed : calloc(1, sizeof *r->failed);
    r->n_failed = bd->n_failed;
    r->failed_total = (int)bd->failed_total;
}

void report_free(report *r)
{
    if (!r)
        return;
    free(r->profiles);
    free(r->times);
    free(r->bays);
    free(r->adapters);
    free(r->by_station);
    free(r->causes);
    free(r->failed);
    free(r);
}

static int check_filter(const report_filter *f, char *err, size_t errlen)
{
    if (!isfinite(f->since) || !isfinite(f->until)) {
        snprintf(err, errlen, "report: the period's start and end must be finite times");
        return -1;
    }
    if (f->until > 0 && f->until <= f->since) {
        snprintf(err, errlen, "report: the period ends (%.0f) before or when it starts (%.0f)", f->until,
                 f->since);
        return -1;
    }
    return 0;
}

int report_build_on(const report_backend *b, const report_filter *f, const report_options *o, bool totals_only,
                    report **out, char *err, size_t errlen)
{
    *out = 0;
    report_filter all = {.bay = -1};
    report_options none = {0};
    if (!f)
        f = &all;
    if (!o)
        o = &none;
    if (check_filter(f, err, errlen) < 0)
        return -1;
    report *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "report: out of memory");
        return -1;
    }
    r->filter = *f;
    snprintf(r->profile_name, sizeof r->profile_name, "%s", f->profile ? f->profile : "");
    r->filter.profile = 0;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    r->generated_ts = (double)now.tv_sec;
    r->first_ts = HUGE_VAL;
    r->last_ts = -HUGE_VAL;
    build bd = {.b = b, .r = r};
    int rc = b->ops->begin(b->be, o->tz, err, errlen);
    if (rc == 0) {
        rc = run_queries(&bd, f, o, totals_only, err, errlen);
        b->ops->end(b->be);
    }
    if (rc == 0) {
        totals(r, &bd);
        bd.failed = 0;
        emit_pareto(&bd);
    }
    for (int d = 0; d < DIM_COUNT; d++)
        free(bd.dims[d].v);
    free(bd.causes);
    free(bd.failed);
    if (rc < 0 || !r->causes) {
        if (rc == 0)
            snprintf(err, errlen, "report: out of memory");
        report_free(r);
        return -1;
    }
    *out = r;
    return 0;
}

int report_build_opts(db *d, const report_filter *f, const report_options *o, report **out, char *err,
                      size_t errlen)
{
    report_backend b = report_backend_sqlite(d);
    return report_build_on(&b, f, o, false, out, err, errlen);
}

int report_build(db *d, const report_filter *f, report **out, char *err, size_t errlen)
{
    return report_build_opts(d, f, NULL, out, err, errlen);
}

int report_yield_since(db *d, double since, int *pass, int *fail, double *first_pass_yield)
{
    report_filter f = {.since = since, .bay = -1};
    report *r;
    char err[256];
    report_backend b = report_backend_sqlite(d);
    if (report_build_on(&b, &f, NULL, true, &r, err, sizeof err) < 0) {
        db_set_errmsg(d, err);
        return -1;
    }
    *pass = r->total.modules_passed;
    *fail = r->total.modules - r->total.modules_passed;
    *first_pass_yield = r->total.first_pass_yield;
    report_free(r);
    return 0;
}
