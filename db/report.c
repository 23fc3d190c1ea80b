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
#include "report_summary.h"
#include "bk_cause.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { REPORT_DAY_SPLIT_S = 48 * 3600, MAX_ZONE_CHANGES = 256, ADAPTER_BAYS_MAX = 64 };
/* Up to this many timed passes the p95 is exact (the database keeps the top 5 % of them while it
 * scans: about 0.1 s); beyond, it comes from pass_hist to a quarter-second and the report says so. */
enum { P95_EXACT_MAX = 200000 };
/* The summary's cells are UTC quarter-hours (db_schema.c, migration 7): whole buckets of every zone. */
#define REPORT_QUARTER_S 900.0
/* report_time_ok's range, in which the bucket expression converts a time; both ends are whole
 * quarter-hours, so a summary cell is wholly inside or wholly outside it. */
#define TIME_LO (-62135596800.0 + 86400)
#define TIME_HI (253402300799.0 - 86400)

/* ---- the SQL ----
 * ?1 since, ?2 until, ?3 profile name, ?4 bay or -1, ?5 station name, ?6 line, ?7 lot, ?8 operator
 * (text filters: NULL for all), ?9 and ?10 the whole quarter-hours [S0, S1) read from the summary
 * (attempt_cell) instead of the attempts; ?11 the bucket width, or a row limit or offset. */
#define FILTERS                                                                                   \
    "(?3 IS NULL OR a.profile_id IN (SELECT id FROM profile WHERE name = ?3)) "                 \
    "AND (?4 < 0 OR a.bay = ?4) "                                                               \
    "AND (?5 IS NULL OR a.station_id IN (SELECT id FROM station WHERE name = ?5)) "             \
    "AND (?6 IS NULL OR a.station_id IN (SELECT id FROM station WHERE line = ?6)) "             \
    "AND (?7 IS NULL OR a.lot = ?7) AND (?8 IS NULL OR a.operator = ?8) "
#define PERIOD "a.outcome <> 'running' AND a.kind = 'flash' AND a.end_ts >= ?1 AND a.end_ts < ?2 AND " FILTERS
/* the period's attempts that the summary does not hold: its partial quarter-hours at either end */
#define EDGES                                                                                     \
    "a.outcome <> 'running' AND a.kind = 'flash' "                                              \
    "AND ((a.end_ts >= ?1 AND a.end_ts < ?9) OR (a.end_ts >= ?10 AND a.end_ts < ?2)) AND " FILTERS
#define SUMMED "a.qs >= ?9 AND a.qs < ?10 AND " FILTERS
#define INTERRUPTED "(a.outcome = 'interrupted' OR coalesce(a.cause, '') = 'cancelled')"
#define COUNTED_ONLY "a.outcome NOT IN ('interrupted', 'skipped') AND coalesce(a.cause, '') <> 'cancelled' "
#define COUNTED PERIOD "AND " COUNTED_ONLY
#define PASSED "CASE WHEN a.outcome = 'pass' THEN 1 ELSE 0 END"
/* A counted pass with a flash time. "a.outcome || ''": the passes are most rows, and without it a
 * planner with no statistics (a station file is never ANALYZEd) reads them through attempt_by_outcome
 * instead of the period's range of attempt_by_end. */
#define TIMED_PASS                                                                                \
    "a.outcome || '' = 'pass' AND a.end_ts - a.start_ts >= 0 AND coalesce(a.cause, '') <> 'cancelled' "
#define TIMED_IF(v) "CASE WHEN a.outcome = 'pass' AND a.end_ts - a.start_ts >= 0 THEN " v " ELSE 0 END"
/* The period as units: an attempt of the edges is a unit of one, a summary cell a unit of n; both
 * with the columns of a cell (t: the end, or the cell's quarter-hour). */
#define UNITS                                                                                     \
    "WITH u AS (SELECT a.profile_id, a.station_id, a.bay, a.bay_name, coalesce(a.adapter, '') AS adapter, " \
    "a.lot, a.operator, a.outcome, a.cause, a.end_ts AS t, 1 AS n, a.duplicate_mac AS dup, "     \
    TIMED_IF("1") " AS timed, " TIMED_IF("a.end_ts - a.start_ts") " AS timed_s, a.start_ts AS min_start, " \
    "a.end_ts AS max_end, a.end_ts AS min_end FROM attempt a WHERE " EDGES                      \
    "UNION ALL SELECT a.profile_id, a.station_id, a.bay, a.bay_name, a.adapter, a.lot, a.operator, " \
    "a.outcome, a.cause, a.qs, a.n, a.dup, a.timed, a.timed_s, a.min_start, a.max_end, a.min_end " \
    "FROM attempt_cell a WHERE " SUMMED ") "
/* The same without a summary (a central store that has none): every attempt a unit of one. */
#define UNITS_RAW                                                                                 \
    "WITH u AS (SELECT a.profile_id, a.station_id, a.bay, a.bay_name, coalesce(a.adapter, '') AS adapter, " \
    "a.lot, a.operator, a.outcome, a.cause, a.end_ts AS t, 1 AS n, a.duplicate_mac AS dup, "     \
    TIMED_IF("1") " AS timed, " TIMED_IF("a.end_ts - a.start_ts") " AS timed_s, a.start_ts AS min_start, " \
    "a.end_ts AS max_end, a.end_ts AS min_end FROM attempt a WHERE " PERIOD ") "
#define CELL_KEYS "a.profile_id, %s, a.bay, a.adapter, a.station_id, a.lot, a.operator"
#define RAW_KEYS "a.profile_id, %s, a.bay, coalesce(a.adapter, ''), a.station_id, a.lot, a.operator"
#define TOTAL_KEYS "0, 0.0, 0, '', 0, '', ''"
#define GROUP_KEYS "GROUP BY 1, 2, 3, 4, 5, 6, 7"

/* The period's span and interrupted count (%s: UNITS or UNITS_RAW). */
static const char span_sql[] =
    "%sSELECT sum(CASE WHEN " INTERRUPTED " THEN a.n ELSE 0 END), "
    "min(CASE WHEN NOT " INTERRUPTED " THEN a.min_start END), "
    "max(CASE WHEN NOT " INTERRUPTED " THEN a.max_end END), "
    "min(CASE WHEN NOT " INTERRUPTED " THEN a.min_end END) FROM u a";

/* Cells: the units, then the keys (CELL_KEYS with the bucket expression in, or constants for the
 * totals alone), then the GROUP BY (none for the totals: no sort at all). */
static const char cells_sql[] =
    "%sSELECT %s, sum(a.n), sum(CASE WHEN a.outcome = 'pass' THEN a.n ELSE 0 END), min(a.min_start), "
    "max(a.max_end), min(a.min_end), sum(a.dup), sum(a.timed), sum(a.timed_s), min(nullif(a.bay_name, '')) "
    "FROM u a WHERE " COUNTED_ONLY "%s";

/* Modules with several attempts: the rows of the MACs with several counted attempts, by MAC (C
 * marks each module's first attempt and any pass per grouping: on_multi). The MACs come from
 * module_span (kept by the writer's triggers), or with no summary from the attempts. */
#define MULTI_FROM_SPAN "SELECT mac FROM module_span WHERE n > 1 AND last_end >= ?1 AND first_end < ?2"
#define MULTI_FROM_ATTEMPTS                                                                       \
    "SELECT mac FROM attempt WHERE mac <> '' AND end_ts >= ?1 AND end_ts < ?2 GROUP BY mac HAVING count(*) > 1"
static const char multi_sql[] =
    "SELECT a.mac, a.id, a.start_ts, " PASSED ", %s, a.duplicate_mac FROM %s a WHERE " COUNTED
    "AND a.mac IN (%s) ORDER BY a.mac";
/* where multi_sql reads the rows: the narrow copy of the returning MACs' attempts (schema 9), or all */
#define MULTI_TABLE(bd) ((bd)->summary >= REPORT_SUMMARY_MODULES ? "multi_attempt" : "attempt")

/* The dashboard's question (a period's modules, passes and first passes; no filter, no grouping) on
 * a file of schema 9: the counted attempts of the whole quarter-hours [?9, ?10) from attempt_quarter
 * and those of the edges one by one; then the MACs with several attempts, from module_span: those
 * whose every counted attempt ends in the period summed as they are (span_inside_sql), and only those
 * with attempts on both sides of an end of the period read whole (MULTI_CROSSING, through multi_sql). */
static const char quarter_totals_sql[] =
    "SELECT sum(u.n), sum(u.p) FROM (SELECT 1 AS n, " PASSED " AS p FROM attempt a WHERE " EDGES "AND " COUNTED_ONLY
    "UNION ALL SELECT q.n, q.passes FROM attempt_quarter q WHERE q.qs >= ?9 AND q.qs < ?10) u";
static const char span_inside_sql[] =
    "SELECT count(*), sum(s.n), sum(s.passes), sum(s.first_ok), sum(CASE WHEN s.passes > 0 THEN 1 ELSE 0 END) "
    "FROM module_span s WHERE s.n > 1 AND s.last_end >= ?1 AND s.last_end < ?2 AND s.first_end >= ?1";
#define MULTI_CROSSING                                                                            \
    "SELECT mac FROM module_span WHERE n > 1 AND last_end >= ?1 AND first_end < ?2 AND (first_end < ?1 OR last_end >= ?2)"

static const char causes_sql[] =
    "%sSELECT %s, coalesce(a.cause, ''), sum(a.n) FROM u a WHERE " COUNTED_ONLY
    "AND a.outcome <> 'pass' GROUP BY 1, 2, 3, 4, 5, 6, 7, 8";

/* Failed modules, ordered by their last failure, ?11 rows at most (negative: all). A module without a
 * MAC is its attempt alone. Its attempts, whether it passed and its duplicate flag are those of its
 * MAC's rows in the period: a MAC with several attempts was read whole by multi_sql (on_multi keeps
 * those figures for the MACs that failed: failed_macs), any other has this one failed attempt. */
static const char failed_sql[] =
    "WITH f AS (SELECT a.id, coalesce(a.mac, '') AS mac, a.bay, coalesce(a.cause, '') AS cause, a.end_ts, "
    "coalesce(a.detail, '') AS detail, a.duplicate_mac AS dup, row_number() OVER (PARTITION BY "
    "coalesce(a.mac, ''), CASE WHEN coalesce(a.mac, '') = '' THEN a.id ELSE 0 END "
    "ORDER BY a.start_ts DESC, a.id DESC) AS rn FROM attempt a WHERE " COUNTED "AND a.outcome <> 'pass'), "
    "l AS (SELECT * FROM f WHERE rn = 1) "
    "SELECT l.mac, l.id, l.bay, l.cause, l.end_ts, l.detail, 1, 0, l.dup, count(*) OVER () FROM l "
    "ORDER BY l.end_ts, l.id LIMIT ?11";

/* The ?11-th longest timed pass (0 = the longest). */
static const char rank_sql[] =
    "SELECT a.end_ts - a.start_ts FROM attempt a WHERE " COUNTED "AND " TIMED_PASS
    "ORDER BY 1 DESC LIMIT 1 OFFSET ?11";

/* The p95 of a long period, from pass_hist: passes per quarter-second of flash time, whole UTC days
 * [?9, ?10) from the summary and the attempts of the partial days at either end. */
static const char hist_sql[] =
    "WITH h AS (SELECT a.bin AS bin, a.n AS n FROM pass_hist a WHERE a.day >= ?9 AND a.day < ?10 AND " FILTERS
    "UNION ALL SELECT " HIST_BIN("a") ", 1 FROM attempt a WHERE " EDGES "AND " TIMED_PASS ") "
    "SELECT bin, sum(n) FROM h GROUP BY bin ORDER BY bin";

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

/* The bucket expression over the time column col (a.end_ts, or a unit's t) with its parameters from
 * ?11: width, lo, hi, last offset, then (change, offset before it) pairs. */
static int bucket_expr(const zone_span *z, const char *col, char *buf, size_t n)
{
    int len = snprintf(buf, n, "CASE WHEN %s >= ?12 AND %s <= ?13 THEN floor((%s + %s", col, col, col,
                       z->n ? "CASE" : "?14");
    for (int i = 0; i < z->n && len < (int)n; i++)
        len += snprintf(buf + len, n - (size_t)len, " WHEN %s < ?%d THEN ?%d", col, 15 + 2 * i, 16 + 2 * i);
    if (len < (int)n)
        len += snprintf(buf + len, n - (size_t)len, "%s) / ?11) END", z->n ? " ELSE ?14 END" : "");
    return len < (int)n ? 0 : -1;
}

/* Whether a summary cell (one UTC quarter-hour) falls in one bucket whole: the zone's offsets and
 * the moments they change are whole quarter-hours (true of every zone in use; a hand-made POSIX
 * zone may be otherwise, and then the report reads the attempts alone). */
static bool zone_fits_quarters(const zone_span *z)
{
    for (int i = 0; i <= z->n; i++)
        if (fmod(z->off[i], REPORT_QUARTER_S) != 0 || (i < z->n && fmod(z->at[i], REPORT_QUARTER_S) != 0))
            return false;
    return true;
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

enum { DIM_PROFILE, DIM_TIME, DIM_BAY, DIM_ADAPTER, DIM_STATION, DIM_LOT, DIM_OPERATOR, DIM_COUNT,
       DIM_TOTAL = DIM_COUNT };

typedef struct gkey {
    bool null;
    int64_t i;   /* profile id, bay, station id */
    double d;    /* time bucket */
    char s[96];  /* adapter, lot, operator */
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
    int *slot;      /* open addressing over v: index + 1, 0 empty; nslot a power of two > 2 n */
    int nslot;
} dim;

/* ---- the failed list's figures of the MACs with several attempts ---- */

typedef struct mac_fig {
    char *mac;
    int attempts;
    bool passed, dup;
} mac_fig;

typedef struct mac_map {   /* open addressing; cap a power of two, at most half full */
    mac_fig *v;
    size_t n, cap;
} mac_map;

static size_t mac_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (size_t)(h ^ (h >> 31));
}

static mac_fig *mac_slot(mac_map *m, const char *mac)
{
    size_t i = mac_hash(mac) & (m->cap - 1);
    while (m->v[i].mac && strcmp(m->v[i].mac, mac) != 0)
        i = (i + 1) & (m->cap - 1);
    return &m->v[i];
}

static const mac_fig *mac_find(const mac_map *m, const char *mac)
{
    if (!m->cap || !*mac)
        return NULL;
    mac_fig *f = mac_slot((mac_map *)m, mac);
    return f->mac ? f : NULL;
}

static int mac_put(mac_map *m, const char *mac, int attempts, bool passed, bool dup)
{
    if (2 * (m->n + 1) > m->cap) {
        mac_map g = {calloc(m->cap ? 2 * m->cap : 1024, sizeof *g.v), 0, m->cap ? 2 * m->cap : 1024};
        if (!g.v)
            return -1;
        for (size_t i = 0; i < m->cap; i++)
            if (m->v[i].mac)
                *mac_slot(&g, m->v[i].mac) = m->v[i];
        g.n = m->n;
        free(m->v);
        *m = g;
    }
    mac_fig *f = mac_slot(m, mac);
    if (!f->mac) {
        if (!(f->mac = strdup(mac)))
            return -1;
        m->n++;
    }
    f->attempts = attempts;
    f->passed = passed;
    f->dup = dup;
    return 0;
}

static void mac_map_free(mac_map *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->v[i].mac);
    free(m->v);
}

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
    int summary;    /* what the backend keeps: REPORT_SUMMARY_* (report_backend.h) */
    bool totals_only;
    mac_map failed_macs; /* the MACs with several attempts and a failure: their list figures */
    const report_options *stream;  /* on_failed given: failed rows go there, not into failed */
} build;

static bool key_eq(int d, const gkey *a, const gkey *b)
{
    if (a->null != b->null)
        return false;
    if (a->null)
        return true;
    switch (d) {
    case DIM_TIME: return a->d == b->d;
    case DIM_ADAPTER: case DIM_LOT: case DIM_OPERATOR: return strcmp(a->s, b->s) == 0;
    default: return a->i == b->i;
    }
}

static uint64_t key_hash(int d, const gkey *k)
{
    uint64_t h = 1469598103934665603ull;
    if (k->null)
        return h;
    switch (d) {
    case DIM_TIME: {
        double v = k->d == 0 ? 0 : k->d; /* -0 and 0 are one bucket */
        uint64_t bits;
        memcpy(&bits, &v, sizeof bits);
        h ^= bits;
        break;
    }
    case DIM_ADAPTER: case DIM_LOT: case DIM_OPERATOR:
        for (const char *c = k->s; *c; c++)
            h = (h ^ (unsigned char)*c) * 1099511628211ull;
        break;
    default: h ^= (uint64_t)k->i; break;
    }
    return (h ^ (h >> 29)) * 0xbf58476d1ce4e5b9ull;
}

/* The slot of key k: its group's, or the empty one where it goes. */
static int *group_slot(dim *g, int d, const gkey *k)
{
    size_t mask = (size_t)g->nslot - 1, i = (size_t)key_hash(d, k) & mask;
    while (g->slot[i] && !key_eq(d, &g->v[g->slot[i] - 1].key, k))
        i = (i + 1) & mask;
    return &g->slot[i];
}

static int grow_slots(dim *g, int d)
{
    int n = g->nslot ? 2 * g->nslot : 256;
    int *slot = calloc((size_t)n, sizeof *slot);
    if (!slot)
        return -1;
    free(g->slot);
    g->slot = slot;
    g->nslot = n;
    for (int i = 0; i < g->n; i++)
        *group_slot(g, d, &g->v[i].key) = i + 1;
    return 0;
}

static group *find_group(dim *g, int d, const gkey *k)
{
    if (g->last < g->n && key_eq(d, &g->v[g->last].key, k))
        return &g->v[g->last];
    if (2 * (g->n + 1) > g->nslot && grow_slots(g, d) < 0)
        return NULL;
    int *slot = group_slot(g, d, k);
    if (*slot)
        return &g->v[g->last = *slot - 1];
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
    *slot = g->n + 1;
    return &g->v[g->last = g->n++];
}

/* The seven keys of a row from column c on. */
static void row_keys(const rb_row *row, int c, gkey k[DIM_COUNT])
{
    const report_backend_ops *o = row->ops;
    memset(k, 0, DIM_COUNT * sizeof *k);
    for (int d = 0; d < DIM_COUNT; d++)
        k[d].null = o->is_null(row, c + d);
    k[DIM_PROFILE].i = o->i64(row, c);
    k[DIM_TIME].d = o->dbl(row, c + 1);
    k[DIM_BAY].i = o->i64(row, c + 2);
    snprintf(k[DIM_ADAPTER].s, sizeof k[DIM_ADAPTER].s, "%s", o->text(row, c + 3));
    k[DIM_ADAPTER].null = false; /* coalesced: "" is the unknown adapter */
    k[DIM_STATION].i = o->i64(row, c + 4);
    snprintf(k[DIM_LOT].s, sizeof k[DIM_LOT].s, "%s", o->text(row, c + 5));
    snprintf(k[DIM_OPERATOR].s, sizeof k[DIM_OPERATOR].s, "%s", o->text(row, c + 6));
}

/* The seven keys of a cell row (columns 0..6). */
static void cell_keys(const rb_row *row, gkey k[DIM_COUNT])
{
    row_keys(row, 0, k);
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
    int64_t n = o->i64(row, 7), pass = o->i64(row, 8);
    double min_start = o->dbl(row, 9), max_end = o->dbl(row, 10), min_end = o->dbl(row, 11);
    report *r = bd->r;
    r->first_ts = fmin(r->first_ts, min_start);
    r->last_ts = fmax(r->last_ts, max_end);
    r->duplicate_macs += (int)o->i64(row, 12);
    bd->timed += o->i64(row, 13);
    bd->sum_pass_s += o->dbl(row, 14);
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
        if (d == DIM_BAY && !o->is_null(row, 15) && (!g->bay_name[0] || strcmp(o->text(row, 15), g->bay_name) < 0))
            snprintf(g->bay_name, sizeof g->bay_name, "%s", o->text(row, 15));
        if (d == DIM_ADAPTER)
            note_bay(g, k[DIM_BAY].i);
    }
    return 0;
}

/* ---- modules with several attempts, one MAC at a time ----
 * Rows of the MACs that have several counted attempts arrive ordered by MAC. For each grouping, the
 * MAC's rows with one key form one module there: its first attempt (by start, then id) and whether
 * any of them passed correct the group's counts (stats_of). */

typedef struct mrow {
    int64_t id;
    double start;
    int ok;
    bool dup;
    gkey k[DIM_COUNT];
} mrow;

typedef struct mac_rows {
    char *mac;        /* the MAC of the rows held, whole (a hand-edited one may be long) */
    size_t mac_cap;
    mrow *v;
    int n, cap;
    int *order;
} mac_rows;

typedef struct mrow_sort {
    const mrow *v;
    int dim;          /* DIM_TOTAL: no key */
} mrow_sort;

static int cmp_mrow(const void *pa, const void *pb, void *ctx)
{
    const mrow_sort *c = ctx;
    const mrow *a = &c->v[*(const int *)pa], *b = &c->v[*(const int *)pb];
    if (c->dim < DIM_COUNT) {
        const gkey *ka = &a->k[c->dim], *kb = &b->k[c->dim];
        if (ka->null != kb->null)
            return ka->null ? -1 : 1;
        if (!ka->null) {
            int r = 0;
            switch (c->dim) {
            case DIM_TIME: r = (ka->d > kb->d) - (ka->d < kb->d); break;
            case DIM_ADAPTER: case DIM_LOT: case DIM_OPERATOR: r = strcmp(ka->s, kb->s); break;
            default: r = (ka->i > kb->i) - (ka->i < kb->i); break;
            }
            if (r)
                return r;
        }
    }
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

/* One module in one group: its rows, passes, whether its first attempt passed and whether any did. */
static void add_module(acc *a, int rows, int passes, int first_ok, int any_ok)
{
    a->m_rows += rows;
    a->m_pass += passes;
    a->m_first += 1;
    a->m_first_ok += first_ok;
    a->m_any_ok += any_ok;
}

/* The factory's questions of one MAC: on several stations; failed on one and passed on another
 * (some failure's station differs from some pass's: not when the fails and passes are all on one). */
static void cross_station(report *r, const mac_rows *m)
{
    const gkey *first = NULL, *fail = NULL, *pass = NULL;
    bool several = false, fails_several = false, passes_several = false;
    for (int i = 0; i < m->n; i++) {
        const gkey *k = &m->v[i].k[DIM_STATION];
        const gkey **seen = m->v[i].ok ? &pass : &fail;
        bool *spread = m->v[i].ok ? &passes_several : &fails_several;
        if (!first)
            first = k;
        several |= !key_eq(DIM_STATION, first, k);
        if (!*seen)
            *seen = k;
        *spread |= !key_eq(DIM_STATION, *seen, k);
    }
    r->modules_multi_station += several;
    r->modules_failed_passed_elsewhere +=
        fail && pass && (fails_several || passes_several || !key_eq(DIM_STATION, fail, pass));
}

/* A MAC with a failed attempt among its rows: what the failed list says of it. */
static int note_failed_mac(build *bd, const mac_rows *m)
{
    bool failed = false, passed = false, dup = false;
    for (int i = 0; i < m->n; i++) {
        failed |= !m->v[i].ok;
        passed |= m->v[i].ok;
        dup |= m->v[i].dup;
    }
    return failed ? mac_put(&bd->failed_macs, m->mac, m->n, passed, dup) : 0;
}

static int flush_mac(build *bd, mac_rows *m)
{
    if (m->n)
        cross_station(bd->r, m);
    if (m->n && !bd->totals_only && note_failed_mac(bd, m) < 0)
        return -1;
    for (int d = bd->totals_only ? DIM_TOTAL : 0; d <= DIM_TOTAL && m->n; d++) {
        mrow_sort c = {m->v, d};
        for (int i = 0; i < m->n; i++)
            m->order[i] = i;
        qsort_r(m->order, (size_t)m->n, sizeof *m->order, cmp_mrow, &c);
        for (int i = 0; i < m->n;) {
            int j = i, passes = 0;
            while (j < m->n && (d == DIM_TOTAL || key_eq(d, &m->v[m->order[j]].k[d], &m->v[m->order[i]].k[d])))
                passes += m->v[m->order[j++]].ok;
            const mrow *first = &m->v[m->order[i]];
            acc *a = &bd->total;
            if (d < DIM_COUNT) {
                group *g = find_group(&bd->dims[d], d, &first->k[d]);
                if (!g)
                    return -1;
                a = &g->a;
            }
            add_module(a, j - i, passes, first->ok, passes > 0);
            i = j;
        }
    }
    m->n = 0;
    return 0;
}

typedef struct multi_ctx {
    build *bd;
    mac_rows m;
} multi_ctx;

/* A row: MAC, id, start, passed, then the seven keys. */
static int on_multi(void *ctx, const rb_row *row)
{
    multi_ctx *mc = ctx;
    mac_rows *m = &mc->m;
    const char *mac = row->ops->text(row, 0);
    if (m->n && strcmp(mac, m->mac) != 0 && flush_mac(mc->bd, m) < 0)
        return -1;
    if (m->n == m->cap) {
        int cap = m->cap ? 2 * m->cap : 16;
        mrow *v = realloc(m->v, (size_t)cap * sizeof *v);
        if (v)
            m->v = v;
        int *order = realloc(m->order, (size_t)cap * sizeof *order);
        if (order)
            m->order = order;
        if (!v || !order)
            return -1;
        m->cap = cap;
    }
    size_t len = strlen(mac) + 1;
    if (len > m->mac_cap) {
        char *c = realloc(m->mac, len);
        if (!c)
            return -1;
        m->mac = c;
        m->mac_cap = len;
    }
    memcpy(m->mac, mac, len);
    mrow *r = &m->v[m->n++];
    r->id = row->ops->i64(row, 1);
    r->start = row->ops->dbl(row, 2);
    r->ok = row->ops->i64(row, 3) != 0;
    r->dup = row->ops->i64(row, 4 + DIM_COUNT) != 0;
    gkey k[DIM_COUNT];
    row_keys(row, 4, k);
    memcpy(r->k, k, sizeof k);
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
    const char *stored = row->ops->text(row, 7), *word;
    int64_t count = row->ops->i64(row, 8);
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
    report_failed_row streamed;
    if (bd->stream) {
        bd->n_failed = 0;
    } else if (bd->n_failed == bd->cap_failed) {
        int cap = bd->cap_failed ? 2 * bd->cap_failed : 64;
        report_failed_row *v = realloc(bd->failed, ((size_t)cap + 1) * sizeof *v);
        if (!v)
            return -1;
        bd->failed = v;
        bd->cap_failed = cap;
    }
    report_failed_row *f = bd->stream ? &streamed : &bd->failed[bd->n_failed++];
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
    f->passed = o->i64(row, 7) != 0;
    f->duplicate_mac = o->i64(row, 8) != 0;
    const mac_fig *m = mac_find(&bd->failed_macs, o->text(row, 0));
    if (m) {
        f->attempts = m->attempts;
        f->passed = m->passed;
        f->duplicate_mac = m->dup;
    }
    f->reseats = f->attempts - 1;
    bd->failed_total = o->i64(row, 9);
    if (bd->stream) {
        bd->r->failed_total = (int)bd->failed_total;
        return bd->stream->on_failed(bd->stream->on_failed_ctx, bd->r, f) ? -1 : 0;
    }
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

static int cmp_named(const void *pa, const void *pb)
{
    const report_named_row *a = pa, *b = pb;
    if (a->none != b->none)
        return a->none ? 1 : -1; /* "none" last */
    return strcmp(a->name, b->name);
}

/* A grouping by a text key (lot, operator): NULL is "none", listed last. */
static int emit_named(const dim *g, report_named_row **out, int *n)
{
    if (!(*out = calloc((size_t)g->n + 1, sizeof **out)))
        return -1;
    for (int i = 0; i < g->n; i++) {
        (*out)[i].none = g->v[i].key.null;
        snprintf((*out)[i].name, sizeof (*out)[i].name, "%s", g->v[i].key.s);
        (*out)[i].s = stats_of(&g->v[i].a);
    }
    *n = g->n;
    qsort(*out, (size_t)g->n, sizeof **out, cmp_named);
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
    if (emit_named(&bd->dims[DIM_LOT], &r->lots, &r->n_lots) < 0 ||
        emit_named(&bd->dims[DIM_OPERATOR], &r->operators, &r->n_operators) < 0)
        return -1;
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

enum { P_FILTER = 10, P_BUCKET_FIXED = 4, P_MAX = P_FILTER + P_BUCKET_FIXED + 2 * MAX_ZONE_CHANGES + 1 };

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

static int run(build *bd, const char *sql, const rb_param *p, int np, int (*cb)(void *, const rb_row *),
               void *ctx, char *err, size_t errlen);
static void totals(report *r, build *bd);

typedef struct hist_walk {
    int64_t rank, seen;   /* the nearest rank sought; passes counted so far */
    int64_t total;
    double bin;           /* the bin where the rank fell; NAN until then */
} hist_walk;

static int on_bin(void *ctx, const rb_row *row)
{
    hist_walk *h = ctx;
    h->seen += row->ops->i64(row, 1);
    if (isnan(h->bin) && h->seen >= h->rank)
        h->bin = row->ops->dbl(row, 0);
    return 0;
}

/* p95 of many passes from the histogram: the middle of the quarter-second that holds the nearest
 * rank, within REPORT_P95_STEP_S / 2 of the exact value. */
static int p95_from_hist(build *bd, rb_param *p, const report_filter *f, char *err, size_t errlen)
{
    double until = f->until > 0 ? f->until : HUGE_VAL;
    double d0 = fmax(ceil(f->since / 86400) * 86400, TIME_LO), d1 = fmin(floor(until / 86400) * 86400, TIME_HI + 1);
    if (!(d1 > d0))
        d0 = d1 = f->since;
    rb_param saved[2] = {p[8], p[9]};
    p[8] = (rb_param){.type = RB_DOUBLE, .d = d0};
    p[9] = (rb_param){.type = RB_DOUBLE, .d = d1};
    hist_walk h = {.rank = (int64_t)ceil(0.95 * (double)bd->timed), .bin = NAN};
    int rc = run(bd, hist_sql, p, P_FILTER, on_bin, &h, err, errlen);
    p[8] = saved[0];
    p[9] = saved[1];
    if (rc == 0 && !isnan(h.bin)) {
        bd->r->p95_pass_s = (h.bin + 0.5) * REPORT_P95_STEP_S;
        bd->r->p95_approx = true;
    }
    return rc;
}

/* The parameters after the filter's: bucket width, the convertible range, the zone's offsets. */
static int bucket_params(rb_param *p, const zone_span *z, bool by_day)
{
    int n = P_FILTER;
    p[n++] = (rb_param){.type = RB_DOUBLE, .d = by_day ? 86400.0 : 3600.0};
    p[n++] = (rb_param){.type = RB_DOUBLE, .d = TIME_LO};
    p[n++] = (rb_param){.type = RB_DOUBLE, .d = TIME_HI};
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

static int on_quarter_totals(void *ctx, const rb_row *row)
{
    build *bd = ctx;
    bd->total.attempts += row->ops->i64(row, 0);
    bd->total.pass += row->ops->i64(row, 1);
    return 0;
}

/* The MACs whose counted attempts all fall in the period: each one module, as its span row says. */
static int on_span_inside(void *ctx, const rb_row *row)
{
    acc *a = &((build *)ctx)->total;
    a->m_first += row->ops->i64(row, 0);
    a->m_rows += row->ops->i64(row, 1);
    a->m_pass += row->ops->i64(row, 2);
    a->m_first_ok += row->ops->i64(row, 3);
    a->m_any_ok += row->ops->i64(row, 4);
    return 0;
}

static bool unfiltered(const report_filter *f)
{
    return !f->profile && f->bay < 0 && !f->station && !f->line && !f->lot && !f->operator_id;
}

/* The totals alone from schema 9's summaries (quarter_totals_sql); a few rows whatever the history. */
static int run_quarter_totals(build *bd, const rb_param *p, int np, char *err, size_t errlen)
{
    char sql[sizeof multi_sql + sizeof MULTI_CROSSING + 96];
    snprintf(sql, sizeof sql, multi_sql, TOTAL_KEYS, MULTI_TABLE(bd), MULTI_CROSSING);
    multi_ctx mc = {.bd = bd};
    int rc = run(bd, quarter_totals_sql, p, np, on_quarter_totals, bd, err, errlen);
    rc = rc ? rc : run(bd, span_inside_sql, p, np, on_span_inside, bd, err, errlen);
    rc = rc ? rc : run(bd, sql, p, np, on_multi, &mc, err, errlen);
    rc = rc ? rc : flush_mac(bd, &mc.m);
    free(mc.m.v);
    free(mc.m.order);
    free(mc.m.mac);
    return rc;
}

/* cells_sql, multi_sql and causes_sql with the units and the bucket expression in. */
static int run_cells(build *bd, const rb_param *p, int np, const zone_span *z, bool totals_only, char *err,
                     size_t errlen)
{
    char bucket_t[64 + 48 * MAX_ZONE_CHANGES], bucket_end[64 + 48 * MAX_ZONE_CHANGES];
    if (bucket_expr(z, "a.t", bucket_t, sizeof bucket_t) < 0 ||
        bucket_expr(z, "a.end_ts", bucket_end, sizeof bucket_end) < 0) {
        snprintf(err, errlen, "report: too many zone changes in the period");
        return -1;
    }
    const char *units = bd->summary ? UNITS : UNITS_RAW;
    size_t cap = sizeof multi_sql + sizeof UNITS + sizeof bucket_t + 512;
    char *sql = malloc(cap), *keys = malloc(cap);
    if (!sql || !keys) {
        free(sql);
        free(keys);
        snprintf(err, errlen, "report: out of memory");
        return -1;
    }
    int rc = 0;
    snprintf(keys, cap, totals_only ? TOTAL_KEYS : CELL_KEYS, bucket_t);
    snprintf(sql, cap, cells_sql, units, keys, totals_only ? "" : GROUP_KEYS);
    rc = rc ? rc : run(bd, sql, p, np, on_cell, bd, err, errlen);
    snprintf(keys, cap, totals_only ? TOTAL_KEYS : RAW_KEYS, bucket_end);
    snprintf(sql, cap, multi_sql, keys, MULTI_TABLE(bd), bd->summary ? MULTI_FROM_SPAN : MULTI_FROM_ATTEMPTS);
    multi_ctx mc = {.bd = bd};
    rc = rc ? rc : run(bd, sql, p, np, on_multi, &mc, err, errlen);
    rc = rc ? rc : flush_mac(bd, &mc.m);
    free(mc.m.v);
    free(mc.m.order);
    free(mc.m.mac);
    snprintf(keys, cap, CELL_KEYS, bucket_t);
    snprintf(sql, cap, causes_sql, units, keys);
    rc = rc || totals_only ? rc : run(bd, sql, p, np, on_cause, bd, err, errlen);
    free(keys);
    free(sql);
    return rc;
}

static rb_param text_param(const char *s)
{
    return s && *s ? (rb_param){.type = RB_TEXT, .s = s} : (rb_param){.type = RB_NULL_TEXT};
}

/* The whole quarter-hours of the period, [S0, S1), inside the range the buckets convert (an empty
 * range at `since` when the summary is not to be read). */
static void summed_range(rb_param *p, const report_filter *f, bool use)
{
    double until = f->until > 0 ? f->until : HUGE_VAL;
    double s0 = fmax(ceil(f->since / REPORT_QUARTER_S) * REPORT_QUARTER_S, TIME_LO);
    double s1 = fmin(floor(until / REPORT_QUARTER_S) * REPORT_QUARTER_S, TIME_HI + 1);
    if (!use || !(s1 > s0))
        s0 = s1 = f->since;
    p[8] = (rb_param){.type = RB_DOUBLE, .d = s0};
    p[9] = (rb_param){.type = RB_DOUBLE, .d = s1};
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
    p[2] = text_param(f->profile);
    p[3] = (rb_param){.type = RB_INT64, .i = f->bay};
    p[4] = text_param(f->station);
    p[5] = text_param(f->line);
    p[6] = text_param(f->lot);
    p[7] = text_param(f->operator_id);
    summed_range(p, f, bd->summary);
    span sp = {0};
    char *sql = malloc(sizeof span_sql + sizeof UNITS);
    if (!sql) {
        snprintf(err, errlen, "report: out of memory");
        goto done;
    }
    snprintf(sql, sizeof span_sql + sizeof UNITS, span_sql, bd->summary ? UNITS : UNITS_RAW);
    int src = totals_only ? 0 : run(bd, sql, p, P_FILTER, on_span, &sp, err, errlen);
    free(sql);
    if (src < 0)
        goto done;
    r->interrupted = (int)sp.interrupted;
    bd->by_day = sp.any && sp.last_end - sp.first_start > REPORT_DAY_SPLIT_S;
    r->by_day = bd->by_day;
    double now = r->generated_ts;
    zone_changes(sp.any ? fmax(sp.first_end, TIME_LO) : now, sp.any ? fmin(sp.last_end, TIME_HI) : now, z);
    /* the totals have no buckets: the summary serves them in any zone */
    summed_range(p, f, bd->summary && (totals_only || zone_fits_quarters(z)));
    int np = bucket_params(p, z, bd->by_day);
    if (totals_only && bd->summary >= REPORT_SUMMARY_MODULES && unfiltered(f)
            ? run_quarter_totals(bd, p, P_FILTER, err, errlen) < 0
            : run_cells(bd, p, np, z, totals_only, err, errlen) < 0)
        goto done;
    if (!totals_only) {
        if (bd->timed > P95_EXACT_MAX && bd->summary) {
            if (p95_from_hist(bd, p, f, err, errlen) < 0)
                goto done;
        } else if (bd->timed > 0) {
            int64_t rank = (int64_t)ceil(0.95 * (double)bd->timed);
            p[P_FILTER] = (rb_param){.type = RB_INT64, .i = bd->timed - rank};
            if (run(bd, rank_sql, p, P_FILTER + 1, on_double, &r->p95_pass_s, err, errlen) < 0)
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
    /* the failed modules last: when they stream, every other figure is ready for the caller */
    totals(r, bd);
    emit_pareto(bd);
    if (!r->causes || !r->failed) {
        snprintf(err, errlen, "report: out of memory");
        goto done;
    }
    if (!totals_only) {
        p[P_FILTER] = (rb_param){.type = RB_LIMIT, .i = o->failed_limit > 0 ? o->failed_limit : -1};
        if (run(bd, failed_sql, p, P_FILTER + 1, on_failed, bd, err, errlen) < 0) {
            if (bd->stream && strstr(err, "out of memory"))
                snprintf(err, errlen, "report: writing a failed module stopped the report");
            goto done;
        }
        if (bd->failed) {
            free(r->failed);
            r->failed = bd->failed;
            bd->failed = 0;
        }
        r->n_failed = bd->stream ? 0 : bd->n_failed;
        r->failed_total = (int)bd->failed_total;
    }
    rc = 0;
done:
    names_free(&profiles);
    names_free(&stations);
    free(z);
    free(p);
    return rc;
}

static void totals(report *r, build *bd)
{
    if (r->total.attempts == 0)
        r->first_ts = r->last_ts = 0;
    r->timed_passes = (int)bd->timed;
    if (bd->timed)
        r->mean_pass_s = bd->sum_pass_s / (double)bd->timed;
    double span_h = (r->last_ts - r->first_ts) / 3600.0;
    r->modules_per_hour = span_h > 0 && isfinite(span_h) ? r->total.modules / span_h : 0;
    r->failed = calloc(1, sizeof *r->failed);
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
    free(r->lots);
    free(r->operators);
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
    build bd = {.b = b, .r = r, .stream = o->on_failed ? o : NULL, .totals_only = totals_only};
    int rc = b->ops->begin(b->be, o->tz, err, errlen);
    if (rc == 0) {
        bd.summary = b->ops->summary(b->be);
        rc = run_queries(&bd, f, o, totals_only, err, errlen);
        b->ops->end(b->be);
    }

    for (int d = 0; d < DIM_COUNT; d++)
        free(bd.dims[d].v), free(bd.dims[d].slot);
    mac_map_free(&bd.failed_macs);
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
