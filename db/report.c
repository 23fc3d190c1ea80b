/* report.c - computes a yield report once; report_text.c and report_html.c only print it.
 *
 * Definitions (db/README.md repeats them; the dashboard uses report_yield_since, the same code):
 * - Period: attempts that ENDED in [since, until), optionally one profile name and one bay.
 *   Attempts still 'running' are not counted. 'interrupted' attempts and those with cause
 *   'cancelled' say nothing about the module: they are counted apart ("interrupted") and left out
 *   of every other number.
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
#include "report.h"
#include "db_internal.h"
#include "report_fmt.h"
#include "bk_cause.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { REPORT_DAY_SPLIT_S = 48 * 3600 };

/* One attempt as the report needs it. */
typedef struct row {
    int64_t id;
    int64_t bay;
    char bay_name[32];
    char adapter[96];
    double start_ts, end_ts, bucket_ts;
    bool passed, duplicate_mac;
    int cause;  /* bk_cause, BK_CAUSE_COUNT when the stored word is unknown */
    char cause_word[24];
    char detail[256];
    char mac[32];
    char profile_name[64];
    char profile_sha[65];
    char station[48];
    int unit;   /* module index: rows are kept sorted by (unit, start_ts) */
} row;

typedef struct rows {
    row *v;
    int n, cap;
} rows;

static const char load_sql[] =
    "SELECT a.id, a.bay, coalesce(a.bay_name, ''), coalesce(a.adapter, ''), a.start_ts, a.end_ts, "
    "a.outcome, coalesce(a.cause, ''), coalesce(a.detail, ''), coalesce(a.mac, ''), "
    "a.duplicate_mac, coalesce(p.name, ''), coalesce(p.sha256, ''), coalesce(s.name, '') "
    "FROM attempt a LEFT JOIN profile p ON p.id = a.profile_id "
    "LEFT JOIN station s ON s.id = a.station_id "
    "WHERE a.outcome <> 'running' AND a.end_ts >= ?1 AND a.end_ts < ?2 "
    "AND (?3 IS NULL OR p.name = ?3) AND (?4 < 0 OR a.bay = ?4) "
    "ORDER BY a.start_ts, a.id";

static void copy_col(char *dst, size_t n, sqlite3_stmt *st, int col)
{
    const unsigned char *s = sqlite3_column_text(st, col);
    snprintf(dst, n, "%s", s ? (const char *)s : "");
}

/* The word a failure is counted under: the cause table's id, or the stored word it does not know
 * ("unknown" when the row has none). */
static const char *cause_word(int cause, const char *stored)
{
    if (cause < BK_CAUSE_COUNT)
        return bk_cause_id((bk_cause)cause);
    return stored[0] ? stored : "unknown";
}

/* Reads the period's attempts in one statement: one statement is one snapshot, so a writer
 * committing meanwhile never makes the numbers disagree with each other. */
static int load_rows(db *d, const report_filter *f, rows *out, int *interrupted, char *err, size_t errlen)
{
    sqlite3 *sq = db_sqlite(d);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(sq, load_sql, -1, &st, 0) != SQLITE_OK) {
        snprintf(err, errlen, "report: preparing the query: %s", sqlite3_errmsg(sq));
        return -1;
    }
    sqlite3_bind_double(st, 1, f->since);
    sqlite3_bind_double(st, 2, f->until > 0 ? f->until : HUGE_VAL);
    if (f->profile && *f->profile)
        sqlite3_bind_text(st, 3, f->profile, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 4, f->bay);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *outcome = (const char *)sqlite3_column_text(st, 6);
        const char *cause = (const char *)sqlite3_column_text(st, 7);
        if (!outcome)
            outcome = "";
        if (!cause)
            cause = ""; /* a hand-edited or foreign file: no cause is not a crash */
        if (strcmp(outcome, "interrupted") == 0 || strcmp(cause, "cancelled") == 0) {
            (*interrupted)++;
            continue;
        }
        if (out->n == out->cap) {
            int cap = out->cap ? out->cap * 2 : 256;
            row *v = realloc(out->v, (size_t)cap * sizeof *v);
            if (!v) {
                sqlite3_finalize(st);
                snprintf(err, errlen, "report: out of memory at %d attempts", out->n);
                return -1;
            }
            out->v = v;
            out->cap = cap;
        }
        row *r = &out->v[out->n++];
        memset(r, 0, sizeof *r);
        r->id = sqlite3_column_int64(st, 0);
        r->bay = sqlite3_column_int64(st, 1); /* column_int would keep the low 32 bits of 2^32 + 1 */
        copy_col(r->bay_name, sizeof r->bay_name, st, 2);
        copy_col(r->adapter, sizeof r->adapter, st, 3);
        r->start_ts = sqlite3_column_double(st, 4);
        r->end_ts = sqlite3_column_double(st, 5);
        r->passed = strcmp(outcome, "pass") == 0;
        r->cause = r->passed ? BK_CAUSE_NONE : (int)bk_cause_from_id(cause);
        copy_col(r->cause_word, sizeof r->cause_word, st, 7);
        if (!r->passed && r->cause == BK_CAUSE_NONE) {
            r->cause = BK_CAUSE_COUNT; /* a failure stored as "pass": it holds no cause */
            r->cause_word[0] = 0;
        }
        copy_col(r->detail, sizeof r->detail, st, 8);
        copy_col(r->mac, sizeof r->mac, st, 9);
        r->duplicate_mac = sqlite3_column_int(st, 10) != 0;
        copy_col(r->profile_name, sizeof r->profile_name, st, 11);
        copy_col(r->profile_sha, sizeof r->profile_sha, st, 12);
        copy_col(r->station, sizeof r->station, st, 13);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        snprintf(err, errlen, "report: reading attempts: %s", sqlite3_errmsg(sq));
        return -1;
    }
    return 0;
}

/* Module order: rows with a MAC grouped by MAC, each MAC's attempts by start time; a row without a
 * MAC is alone. */
static int cmp_unit(const void *pa, const void *pb)
{
    const row *a = pa, *b = pb;
    bool ma = a->mac[0], mb = b->mac[0];
    if (ma != mb)
        return ma ? -1 : 1;
    int c = ma ? strcmp(a->mac, b->mac) : 0;
    if (c)
        return c;
    if (a->start_ts != b->start_ts)
        return a->start_ts < b->start_ts ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

static void assign_units(rows *rs)
{
    if (rs->n == 0)
        return; /* rs->v may be NULL, and qsort wants a pointer */
    qsort(rs->v, (size_t)rs->n, sizeof *rs->v, cmp_unit);
    int unit = -1;
    for (int i = 0; i < rs->n; i++) {
        row *r = &rs->v[i];
        if (i == 0 || !r->mac[0] || strcmp(r->mac, rs->v[i - 1].mac) != 0)
            unit++;
        r->unit = unit;
    }
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

/* The shared definitions, over rows idx[0..n) given in unit order. */
static report_stats stats_of(const rows *rs, const int *idx, int n)
{
    report_stats s = {0};
    int cause_count[BK_CAUSE_COUNT + 1] = {0};
    for (int i = 0; i < n;) {
        int unit = rs->v[idx[i]].unit;
        bool first_passed = rs->v[idx[i]].passed, any_pass = false;
        for (; i < n && rs->v[idx[i]].unit == unit; i++) {
            const row *r = &rs->v[idx[i]];
            s.attempts++;
            if (r->passed) {
                s.pass++;
                any_pass = true;
            } else {
                s.fail++;
                cause_count[r->cause]++;
            }
        }
        s.modules++;
        s.modules_passed += any_pass;
        s.modules_first_pass += first_passed;
    }
    if (s.modules) {
        s.final_yield = (double)s.modules_passed / s.modules;
        s.first_pass_yield = (double)s.modules_first_pass / s.modules;
    }
    for (int c = 0; c <= BK_CAUSE_COUNT; c++) {
        if (cause_count[c] > s.top_cause_count) {
            s.top_cause_count = cause_count[c];
            snprintf(s.top_cause, sizeof s.top_cause, "%s",
                     c < BK_CAUSE_COUNT ? bk_cause_id((bk_cause)c) : "unknown");
            /* (several unknown stored words count together here; the Pareto keeps them apart) */
        }
    }
    return s;
}

/* Grouping: indices sorted by a key, stable on unit order (the index breaks ties), then cut into
 * runs of equal key. */
typedef int (*key_cmp)(const row *a, const row *b);

static int cmp_key_profile(const row *a, const row *b) { return strcmp(a->profile_sha, b->profile_sha); }
static int cmp_key_adapter(const row *a, const row *b) { return strcmp(a->adapter, b->adapter); }
static int cmp_key_bay(const row *a, const row *b) { return (a->bay > b->bay) - (a->bay < b->bay); }
static int cmp_key_time(const row *a, const row *b)
{
    return (a->bucket_ts > b->bucket_ts) - (a->bucket_ts < b->bucket_ts);
}

typedef struct sort_ctx {
    const rows *rs;
    key_cmp cmp;
} sort_ctx;

static int cmp_idx(const void *pa, const void *pb, void *pctx)
{
    const sort_ctx *ctx = pctx;
    int a = *(const int *)pa, b = *(const int *)pb;
    int c = ctx->cmp(&ctx->rs->v[a], &ctx->rs->v[b]);
    return c ? c : (a > b) - (a < b);
}

typedef struct run { int start, len; } run;

/* Sorts idx by key; returns the runs (caller frees) and their count, -1 on no memory. */
static int group(const rows *rs, key_cmp cmp, int *idx, run **out)
{
    for (int i = 0; i < rs->n; i++)
        idx[i] = i;
    sort_ctx ctx = {rs, cmp};
    qsort_r(idx, (size_t)rs->n, sizeof *idx, cmp_idx, &ctx);
    run *runs = malloc(((size_t)rs->n + 1) * sizeof *runs);
    if (!runs)
        return -1;
    int n = 0;
    for (int i = 0; i < rs->n; i++) {
        if (i == 0 || cmp(&rs->v[idx[i]], &rs->v[idx[i - 1]]) != 0)
            runs[n++] = (run){i, 0};
        runs[n - 1].len++;
    }
    *out = runs;
    return n;
}

static int by_profile(report *r, const rows *rs, int *idx)
{
    run *runs;
    int n = group(rs, cmp_key_profile, idx, &runs);
    if (n < 0 || !(r->profiles = calloc((size_t)n + 1, sizeof *r->profiles))) {
        if (n >= 0)
            free(runs);
        return -1;
    }
    for (int g = 0; g < n; g++) {
        report_profile_row *p = &r->profiles[g];
        const int *ix = idx + runs[g].start;
        const row *first = &rs->v[ix[0]];
        snprintf(p->name, sizeof p->name, "%s", first->profile_name);
        snprintf(p->sha256, sizeof p->sha256, "%s", first->profile_sha);
        p->first_ts = HUGE_VAL;
        p->last_ts = -HUGE_VAL;
        for (int i = 0; i < runs[g].len; i++) {
            p->first_ts = fmin(p->first_ts, rs->v[ix[i]].end_ts);
            p->last_ts = fmax(p->last_ts, rs->v[ix[i]].end_ts);
        }
        p->s = stats_of(rs, ix, runs[g].len);
    }
    r->n_profiles = n;
    free(runs);
    return 0;
}

static int cmp_profile_first(const void *pa, const void *pb)
{
    const report_profile_row *a = pa, *b = pb;
    return (a->first_ts > b->first_ts) - (a->first_ts < b->first_ts);
}

static int by_time(report *r, const rows *rs, int *idx)
{
    run *runs;
    int n = group(rs, cmp_key_time, idx, &runs);
    if (n < 0 || !(r->times = calloc((size_t)n + 1, sizeof *r->times))) {
        if (n >= 0)
            free(runs);
        return -1;
    }
    for (int g = 0; g < n; g++) {
        r->times[g].start_ts = rs->v[idx[runs[g].start]].bucket_ts;
        r->times[g].s = stats_of(rs, idx + runs[g].start, runs[g].len);
    }
    r->n_times = n;
    free(runs);
    return 0;
}

static int by_bay(report *r, const rows *rs, int *idx)
{
    run *runs;
    int n = group(rs, cmp_key_bay, idx, &runs);
    if (n < 0 || !(r->bays = calloc((size_t)n + 1, sizeof *r->bays))) {
        if (n >= 0)
            free(runs);
        return -1;
    }
    for (int g = 0; g < n; g++) {
        const row *first = &rs->v[idx[runs[g].start]];
        r->bays[g].bay = first->bay;
        snprintf(r->bays[g].bay_name, sizeof r->bays[g].bay_name, "%s", first->bay_name);
        r->bays[g].s = stats_of(rs, idx + runs[g].start, runs[g].len);
    }
    r->n_bays = n;
    free(runs);
    return 0;
}

static int by_adapter(report *r, const rows *rs, int *idx)
{
    run *runs;
    int n = group(rs, cmp_key_adapter, idx, &runs);
    if (n < 0 || !(r->adapters = calloc((size_t)n + 1, sizeof *r->adapters))) {
        if (n >= 0)
            free(runs);
        return -1;
    }
    for (int g = 0; g < n; g++) {
        report_adapter_row *a = &r->adapters[g];
        const int *ix = idx + runs[g].start;
        snprintf(a->adapter, sizeof a->adapter, "%s", rs->v[ix[0]].adapter);
        a->s = stats_of(rs, ix, runs[g].len);
        /* Distinct bays: few per adapter, so a scan of the ones seen so far is enough. */
        int64_t seen[64];
        int n_seen = 0;
        for (int i = 0; i < runs[g].len && n_seen < 64; i++) {
            int64_t bay = rs->v[ix[i]].bay;
            int k = 0;
            while (k < n_seen && seen[k] != bay)
                k++;
            if (k == n_seen)
                seen[n_seen++] = bay;
        }
        a->bays_seen = n_seen;
    }
    r->n_adapters = n;
    free(runs);
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

static int pareto(report *r, const rows *rs)
{
    /* Unknown stored words each get a line of their own, so nothing is hidden. */
    r->causes = calloc((size_t)BK_CAUSE_COUNT + (size_t)rs->n + 1, sizeof *r->causes);
    if (!r->causes)
        return -1;
    int n = 0;
    for (int i = 0; i < rs->n; i++) {
        const row *w = &rs->v[i];
        if (w->passed)
            continue;
        const char *word = cause_word(w->cause, w->cause_word);
        int k = 0;
        while (k < n && strcmp(r->causes[k].cause, word) != 0)
            k++;
        if (k == n) {
            snprintf(r->causes[n].cause, sizeof r->causes[n].cause, "%s", word);
            bk_cause c = w->cause < BK_CAUSE_COUNT ? (bk_cause)w->cause : BK_CAUSE_COUNT;
            bool none = c == BK_CAUSE_COUNT && !w->cause_word[0];
            r->causes[n].name = c < BK_CAUSE_COUNT ? bk_cause_name(c) : none ? "no cause stored" : "unknown cause";
            r->causes[n].remedy = c < BK_CAUSE_COUNT ? bk_cause_remedy(c)
                                  : none ? "the row holds no cause: it was written by hand or by another tool"
                                         : "update trayflash: this cause is newer than it";
            n++;
        }
        r->causes[k].count++;
    }
    qsort(r->causes, (size_t)n, sizeof *r->causes, cmp_cause_row);
    int cum = 0;
    for (int k = 0; k < n; k++) {
        cum += r->causes[k].count;
        r->causes[k].pct = 100.0 * r->causes[k].count / r->total.fail;
        r->causes[k].cum_pct = 100.0 * cum / r->total.fail;
    }
    r->n_causes = n;
    return 0;
}

static int cmp_failed_ts(const void *pa, const void *pb)
{
    const report_failed_row *a = pa, *b = pb;
    if (a->ts != b->ts)
        return a->ts < b->ts ? -1 : 1;
    return (a->attempt_id > b->attempt_id) - (a->attempt_id < b->attempt_id);
}

static int failed_modules(report *r, const rows *rs)
{
    r->failed = calloc((size_t)rs->n + 1, sizeof *r->failed);
    if (!r->failed)
        return -1;
    int n = 0;
    for (int i = 0; i < rs->n;) {
        int unit = rs->v[i].unit, attempts = 0;
        const row *last_fail = 0;
        bool passed = false, dup = false;
        for (; i < rs->n && rs->v[i].unit == unit; i++) {
            const row *w = &rs->v[i];
            attempts++;
            passed |= w->passed;
            dup |= w->duplicate_mac;
            if (!w->passed)
                last_fail = w;
        }
        if (!last_fail)
            continue;
        report_failed_row *f = &r->failed[n++];
        snprintf(f->mac, sizeof f->mac, "%s", last_fail->mac);
        f->attempt_id = last_fail->id;
        f->bay = last_fail->bay;
        snprintf(f->cause, sizeof f->cause, "%s", cause_word(last_fail->cause, last_fail->cause_word));
        f->ts = last_fail->end_ts;
        snprintf(f->detail, sizeof f->detail, "%s", last_fail->detail);
        f->attempts = attempts;
        f->reseats = attempts - 1;
        f->passed = passed;
        f->duplicate_mac = dup;
    }
    qsort(r->failed, (size_t)n, sizeof *r->failed, cmp_failed_ts);
    r->n_failed = n;
    return 0;
}

static int cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

static int totals(report *r, const rows *rs, const int *idx)
{
    r->total = stats_of(rs, idx, rs->n);
    double *t = malloc(((size_t)rs->n + 1) * sizeof *t);
    if (!t)
        return -1;
    int n = 0;
    double sum = 0;
    r->first_ts = HUGE_VAL;
    r->last_ts = -HUGE_VAL;
    for (int i = 0; i < rs->n; i++) {
        const row *w = &rs->v[i];
        r->first_ts = fmin(r->first_ts, w->start_ts);
        r->last_ts = fmax(r->last_ts, w->end_ts);
        r->duplicate_macs += w->duplicate_mac;
        double dur = w->end_ts - w->start_ts;
        if (w->passed && isfinite(dur) && dur >= 0) {
            t[n++] = dur;
            sum += dur;
        }
        /* Station names, each once, as long as they fit. */
        if (w->station[0] && !strstr(r->stations, w->station)) {
            size_t len = strlen(r->stations);
            snprintf(r->stations + len, sizeof r->stations - len, "%s%s", len ? ", " : "", w->station);
        }
    }
    if (rs->n == 0)
        r->first_ts = r->last_ts = 0;
    r->timed_passes = n;
    if (n) {
        qsort(t, (size_t)n, sizeof *t, cmp_double);
        r->mean_pass_s = sum / n;
        r->p95_pass_s = t[(int)ceil(0.95 * n) - 1];
    }
    free(t);
    double span_h = (r->last_ts - r->first_ts) / 3600.0;
    r->modules_per_hour = span_h > 0 && isfinite(span_h) ? r->total.modules / span_h : 0;
    return 0;
}

void report_free(report *r)
{
    if (!r)
        return;
    free(r->profiles);
    free(r->times);
    free(r->bays);
    free(r->adapters);
    free(r->causes);
    free(r->failed);
    free(r);
}

int report_build(db *d, const report_filter *f, report **out, char *err, size_t errlen)
{
    *out = 0;
    report_filter all = {0, 0, 0, -1};
    if (!f)
        f = &all;
    if (!isfinite(f->since) || !isfinite(f->until)) {
        snprintf(err, errlen, "report: the period's start and end must be finite times");
        return -1;
    }
    if (f->until > 0 && f->until <= f->since) {
        snprintf(err, errlen, "report: the period ends (%.0f) before or when it starts (%.0f)", f->until,
                 f->since);
        return -1;
    }
    report *r = calloc(1, sizeof *r);
    rows rs = {0};
    int *idx = 0;
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
    if (load_rows(d, f, &rs, &r->interrupted, err, errlen) < 0)
        goto fail;
    assign_units(&rs);
    idx = malloc(((size_t)rs.n + 1) * sizeof *idx);
    if (!idx)
        goto oom;
    for (int i = 0; i < rs.n; i++)
        idx[i] = i;
    if (totals(r, &rs, idx) < 0)
        goto oom;
    r->by_day = r->last_ts - r->first_ts > REPORT_DAY_SPLIT_S;
    for (int i = 0; i < rs.n; i++)
        rs.v[i].bucket_ts = bucket_start(rs.v[i].end_ts, r->by_day);
    if (by_profile(r, &rs, idx) < 0 || by_time(r, &rs, idx) < 0 || by_bay(r, &rs, idx) < 0 ||
        by_adapter(r, &rs, idx) < 0 || pareto(r, &rs) < 0 || failed_modules(r, &rs) < 0)
        goto oom;
    qsort(r->profiles, (size_t)r->n_profiles, sizeof *r->profiles, cmp_profile_first);
    free(idx);
    free(rs.v);
    *out = r;
    return 0;
oom:
    snprintf(err, errlen, "report: out of memory for %d attempts", rs.n);
fail:
    free(idx);
    free(rs.v);
    report_free(r);
    return -1;
}

int report_yield_since(db *d, double since, int *pass, int *fail, double *first_pass_yield)
{
    report_filter f = {since, 0, 0, -1};
    report *r;
    char err[256];
    if (report_build(d, &f, &r, err, sizeof err) < 0) {
        db_set_errmsg(d, err);
        return -1;
    }
    *pass = r->total.modules_passed;
    *fail = r->total.modules - r->total.modules_passed;
    *first_pass_yield = r->total.first_pass_yield;
    report_free(r);
    return 0;
}
