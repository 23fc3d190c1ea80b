/* report.h - yield reports: "what was our yield yesterday on product X, which bay is failing, and
 * why", computed once from the database and printed by every renderer with the same numbers.
 *
 * report_build() reads one consistent snapshot (one read transaction) on a handle of its own, and
 * computes in SQL (memory grows with the groups, not the attempts; report.c says how); the
 * renderers only format. Definitions of every number are at the top of report.c and in
 * db/README.md. Times print in the local time zone (set TZ for another). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "db.h"

#define REPORT_P95_STEP_S 0.25  /* the histogram's step when the p95 is approximate */

typedef struct report_filter {
    /* unix seconds, attempts that ENDED in [since, until); until <= 0: no end. report_build refuses
     * a period that ends before it starts, and times that are not finite. */
    double since, until;
    const char *profile;  /* profile name, NULL or "" for all */
    int bay;              /* -1 for all */
    /* The factory's filters (NULL or "" for all): a station's name, a line (station.ini's), a lot
     * (work order or reel), an operator id. */
    const char *station, *line, *lot, *operator_id;
} report_filter;

struct report;
struct report_failed_row;

/* How a report is built, apart from what it counts. */
typedef struct report_options {
    /* The failed-modules list: at most this many rows, the earliest last failures first; 0 for all
     * (report->failed_total always counts them all). */
    int failed_limit;
    /* A zone name set on a PostgreSQL session (its TimeZone). Buckets and printed times follow the
     * process's zone (TZ), whichever the backend: set TZ to the same zone. NULL: the default. */
    const char *tz;
    /* Streaming the failed modules (CSV and JSON of a long period: a list of any length, never held):
     * when set, the report computes every other figure first, then reads the failed modules last in
     * the same snapshot and hands each one, in order, to on_failed with the report as computed so far
     * (complete but its failed list, which stays empty; failed_total set). A non-zero return stops
     * the report with an error. The rows obey failed_limit as the kept list does. */
    int (*on_failed)(void *ctx, const struct report *r, const struct report_failed_row *row);
    void *on_failed_ctx;
} report_options;

/* The counts every grouping shares. A "module" is a MAC; an attempt without a MAC is a module of
 * its own. Yields are fractions 0..1; with no modules they are 0 and mean nothing: renderers say
 * "no attempts" (table, HTML) or null (JSON, CSV), never 0 %. */
typedef struct report_stats {
    int modules, modules_passed, modules_first_pass;
    int attempts, pass, fail;
    double final_yield, first_pass_yield;
    char top_cause[24];     /* cause id of the most frequent failure, "" if none */
    int top_cause_count;
} report_stats;

typedef struct report_profile_row {  /* one version of a profile = one sha256 of its text */
    char name[64];
    char sha256[65];
    double first_ts, last_ts;        /* first and last attempt end with this version */
    report_stats s;
} report_profile_row;

typedef struct report_time_row {     /* one hour or one day */
    double start_ts;                 /* bucket start, local time */
    report_stats s;
} report_time_row;

typedef struct report_bay_row {
    int64_t bay;                     /* as stored: a hand-edited file may hold any integer */
    char bay_name[32];
    report_stats s;
} report_bay_row;

typedef struct report_adapter_row {
    char adapter[96];                /* "vid:pid:serial", "" when unknown */
    int bays_seen;                   /* how many bays it served: a tired adapter follows its serial */
    report_stats s;
} report_adapter_row;

typedef struct report_cause_row {    /* one line of the Pareto, by count descending */
    char cause[24];                  /* bk_cause id */
    const char *name, *remedy;       /* words from bk_cause (static strings) */
    int count;
    double pct, cum_pct;             /* of all failed attempts, 0..100 */
} report_cause_row;

typedef struct report_failed_row {   /* a module with at least one failed attempt */
    char mac[32];                    /* "" for an attempt that never read the MAC */
    int64_t attempt_id;              /* the last failed attempt */
    int64_t bay;
    char cause[24];                  /* of the last failure */
    double ts;                       /* end of the last failure */
    char detail[256]; /* as long as the engine's bk_result.detail */
    int attempts, reseats;           /* reseats = attempts - 1 within the period */
    bool passed;                     /* the module passed at some attempt in the period */
    bool duplicate_mac;
} report_failed_row;

typedef struct report_station_row {
    int64_t station_id;              /* 0 when the attempts name none */
    char name[48];
    report_stats s;
} report_station_row;

typedef struct report_named_row {    /* one lot or one operator */
    char name[96];
    bool none;                       /* attempts that carry none (listed last) */
    report_stats s;
} report_named_row;

typedef struct report {
    report_filter filter;            /* as given; profile copied into profile_name */
    char profile_name[64];
    double generated_ts;
    double first_ts, last_ts;        /* first start, last end among the attempts counted */
    char stations[128];              /* station names, comma separated */
    report_stats total;
    int interrupted;                 /* interrupted or cancelled attempts, not counted in yield */
    int duplicate_macs;              /* attempts flagged duplicate_mac */
    /* Flash time (end - start) of passing attempts whose time is a duration (finite, >= 0; a
     * hand-edited end before its start is left out): timed_passes of them; 0 and 0 s when none. */
    int timed_passes;
    double mean_pass_s, p95_pass_s;
    /* p95 exact (nearest rank) up to 200,000 timed passes; beyond, from a histogram of flash times
     * in quarter-seconds: the middle of the step that holds the rank, within REPORT_P95_STEP_S / 2. */
    bool p95_approx;
    double modules_per_hour;         /* modules / (last_ts - first_ts); 0 when that span is not > 0 */
    bool by_day;                     /* time rows are days (period over 48 h), else hours */
    report_profile_row *profiles; int n_profiles;
    report_time_row *times; int n_times;
    report_bay_row *bays; int n_bays;
    report_adapter_row *adapters; int n_adapters;
    report_cause_row *causes; int n_causes;
    report_failed_row *failed; int n_failed;
    int failed_total;                /* failed modules in the period; n_failed of them listed */
    /* Across stations (the factory report; 0 on one station): modules (MACs) with counted attempts
     * on two or more stations, and those among them that failed on one station and passed on
     * another - each counted once in every figure above, as any module. */
    int modules_multi_station, modules_failed_passed_elsewhere;
    report_station_row *by_station; int n_by_station;
    report_named_row *lots; int n_lots;
    report_named_row *operators; int n_operators;
} report;

int report_build(db *d, const report_filter *f, report **out, char *err, size_t errlen);
/* The same with options (NULL: every failed module, the default zone). */
int report_build_opts(db *d, const report_filter *f, const report_options *o, report **out, char *err,
                      size_t errlen);
void report_free(report *r);

/* Renderers: 0 on success, -1 when writing failed (errno tells). */
int report_write_table(const report *r, FILE *out);
/* CSV: sections separated by a blank line; each starts with a row "# section" then a header row.
 * Columns are documented in db/README.md. Text fields are quoted when needed (RFC 4180). */
int report_write_csv(const report *r, FILE *out);
int report_write_json(const report *r, FILE *out);
/* The same in parts, for a streamed failed list (report_options.on_failed): the head (everything
 * but the failed rows, ending with the failed section's header or the JSON array's opening), one
 * row at a time, then (JSON) the tail. The whole-report writers above are these parts. */
int report_write_csv_head(const report *r, FILE *out);
int report_write_csv_failed(const report_failed_row *f, FILE *out);
int report_write_json_head(const report *r, FILE *out);
int report_write_json_failed(const report_failed_row *f, bool first, FILE *out);
int report_write_json_tail(FILE *out);
int report_write_html(const report *r, FILE *out);  /* one self-contained page, printable on A4 */

/* For the dashboard header: modules that passed and that never passed among attempts that ended
 * since `since`, and the first-pass yield (0..1) - the same definitions as report_build. */
int report_yield_since(db *d, double since, int *pass, int *fail, double *first_pass_yield);
