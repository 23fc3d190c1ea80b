/* report_text.c - the plain renderers (table, CSV, JSON) of a report built by report.c.
 * They format and never compute: every number here is a field of `report`. */
#include "report.h"
#include "report_fmt.h"
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define fmt_time report_fmt_time

/* Text from the database as the terminal gets it: a hand-edited row's control bytes (an escape
 * sequence in a detail) become '?', so the table cannot reprogram the terminal it prints on. */
static const char *clean(const char *s, char *buf, size_t n)
{
    size_t i = 0;
    for (; s[i] && i + 1 < n; i++)
        buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
    buf[i] = 0;
    return buf;
}

/* Modules per hour is defined when the counted attempts span some time. */
static bool rate_known(const report *r)
{
    return r->total.modules > 0 && r->modules_per_hour > 0;
}

/* The version of the same profile name used before row i (rows are in order of first use),
 * NULL for a name's first version: where a row has one, the profile text changed there. */
static const report_profile_row *previous_version(const report *r, int i)
{
    for (int j = i - 1; j >= 0; j--)
        if (!strcmp(r->profiles[j].name, r->profiles[i].name))
            return &r->profiles[j];
    return NULL;
}


/* ---- table ---- */

static void table_stats_head(FILE *o, const char *first_col, int width)
{
    fprintf(o, "  %-*s %7s %8s %6s %6s %7s %7s  %s\n", width, first_col, "modules", "attempts", "pass",
            "fail", "final", "1st", "top cause");
}

static void table_stats(FILE *o, const report_stats *s)
{
    char cause[32];
    fprintf(o, " %7d %8d %6d %6d %6.1f%% %6.1f%%  %s\n", s->modules, s->attempts, s->pass, s->fail,
            100 * s->final_yield, 100 * s->first_pass_yield,
            clean(report_cause_name(s->top_cause), cause, sizeof cause));
}

/* The factory's groupings are printed when they say something: stations when there are several,
 * lots and operators when some attempt carries one (a station without them prints as before). */
static bool named_present(const report_named_row *v, int n)
{
    return n > 1 || (n == 1 && !v[0].none);
}

static const char *named_label(const report_named_row *x)
{
    return x->none ? "(none)" : x->name;
}

static void table_named(FILE *o, const char *title, const char *col, const report_named_row *v, int n)
{
    char txt[128];
    if (!named_present(v, n))
        return;
    fprintf(o, "\nby %s\n", title);
    table_stats_head(o, col, 32);
    for (int i = 0; i < n; i++) {
        fprintf(o, "  %-32.32s", clean(named_label(&v[i]), txt, sizeof txt));
        table_stats(o, &v[i].s);
    }
}

/* "75.0% (6 of 8 modules)", or "no attempts" for an empty period: 0 % would read as a bad line. */
static void table_yield(FILE *o, const char *label, int num, int modules)
{
    if (modules > 0)
        fprintf(o, "%-16s %.1f%% (%d of %d modules)\n", label, 100.0 * num / modules, num, modules);
    else
        fprintf(o, "%-16s no attempts\n", label);
}

int report_write_table(const report *r, FILE *o)
{
    char a[32], b[32], g[32], zone[16], txt[256];
    fmt_time(r->first_ts, "%Y-%m-%d %H:%M", a, sizeof a);
    fmt_time(r->last_ts, "%Y-%m-%d %H:%M", b, sizeof b);
    fmt_time(r->generated_ts, "%Y-%m-%d %H:%M", g, sizeof g);
    report_fmt_offset(r->generated_ts, zone, sizeof zone);
    fprintf(o, "trayflash yield report\n");
    fprintf(o, "station      %s\n", clean(r->stations[0] ? r->stations : "-", txt, sizeof txt));
    char bay[16] = "all";
    if (r->filter.bay >= 0)
        snprintf(bay, sizeof bay, "%d", r->filter.bay);
    if (r->total.attempts)
        fprintf(o, "period       %s .. %s  (profile %s, bay %s)\n", a, b,
                clean(r->profile_name[0] ? r->profile_name : "all", txt, sizeof txt), bay);
    else
        fprintf(o, "period       no attempts  (profile %s, bay %s)\n",
                clean(r->profile_name[0] ? r->profile_name : "all", txt, sizeof txt), bay);
    fprintf(o, "generated    %s (times are local, UTC%s)\n\n", g, zone);

    const report_stats *t = &r->total;
    fprintf(o, "modules          %d\n", t->modules);
    fprintf(o, "attempts         %d (pass %d, fail %d; %d interrupted, not counted)\n", t->attempts,
            t->pass, t->fail, r->interrupted);
    table_yield(o, "final yield", t->modules_passed, t->modules);
    table_yield(o, "first-pass yield", t->modules_first_pass, t->modules);
    if (r->timed_passes > 0) {
        report_fmt_seconds(r->mean_pass_s, a, sizeof a);
        report_fmt_seconds(r->p95_pass_s, b, sizeof b);
        if (r->p95_approx)
            fprintf(o, "flash time       mean %s, p95 ~%s (passes; p95 to %.2f s, from a histogram)\n", a, b,
                    REPORT_P95_STEP_S / 2);
        else
            fprintf(o, "flash time       mean %s, p95 %s (passes)\n", a, b);
    } else {
        fprintf(o, "flash time       - (no passes)\n");
    }
    if (rate_known(r))
        fprintf(o, "modules per hour %.1f\n", r->modules_per_hour);
    else
        fprintf(o, "modules per hour -\n");
    fprintf(o, "duplicate MACs   %d attempts\n", r->duplicate_macs);

    fprintf(o, "\nfailure causes (Pareto)\n  %-20s %5s %6s %6s  %s\n", "cause", "count", "%", "cum%",
            "remedy");
    for (int i = 0; i < r->n_causes; i++) {
        const report_cause_row *c = &r->causes[i];
        fprintf(o, "  %-20s %5d %5.1f%% %5.1f%%  %s\n", clean(report_cause_name(c->cause), txt, sizeof txt),
                c->count, c->pct, c->cum_pct, c->remedy);
    }
    if (r->n_causes == 0)
        fprintf(o, "  %s\n", t->attempts ? "no failures" : "no attempts");

    fprintf(o, "\nby profile version\n");
    table_stats_head(o, "profile @sha256 (first .. last)", 54);
    for (int i = 0; i < r->n_profiles; i++) {
        const report_profile_row *p = &r->profiles[i];
        char label[192];
        fmt_time(p->first_ts, "%m-%d %H:%M", a, sizeof a);
        fmt_time(p->last_ts, "%m-%d %H:%M", b, sizeof b);
        char name[sizeof p->name];
        snprintf(label, sizeof label, "%s @%.8s (%s .. %s)", clean(p->name[0] ? p->name : "-", name, sizeof name),
                 p->sha256, a, b);
        fprintf(o, "  %-54.54s", label);
        table_stats(o, &p->s);
    }

    for (int i = 0; i < r->n_profiles; i++) {
        const report_profile_row *p = &r->profiles[i], *prev = previous_version(r, i);
        if (!prev)
            continue;
        fmt_time(p->first_ts, "%Y-%m-%d %H:%M:%S", a, sizeof a);
        fprintf(o, "  version change: %s @%.8s -> @%.8s, first attempt with the new text ended %s\n",
                clean(p->name, txt, sizeof txt), prev->sha256, p->sha256, a);
    }

    fprintf(o, "\nby %s\n", r->by_day ? "day" : "hour");
    table_stats_head(o, r->by_day ? "day" : "hour", 16);
    for (int i = 0; i < r->n_times; i++) {
        fmt_time(r->times[i].start_ts, r->by_day ? "%Y-%m-%d" : "%Y-%m-%d %H:00", a, sizeof a);
        fprintf(o, "  %-16s", a);
        table_stats(o, &r->times[i].s);
    }

    fprintf(o, "\nby bay\n");
    table_stats_head(o, "bay", 16);
    for (int i = 0; i < r->n_bays; i++) {
        char label[64];
        char name[sizeof r->bays[i].bay_name];
        snprintf(label, sizeof label, "%02" PRId64 " %s", r->bays[i].bay,
                 clean(r->bays[i].bay_name, name, sizeof name));
        fprintf(o, "  %-16s", label);
        table_stats(o, &r->bays[i].s);
    }

    fprintf(o, "\nby adapter\n");
    table_stats_head(o, "adapter (bays)", 32);
    for (int i = 0; i < r->n_adapters; i++) {
        char label[128], name[sizeof r->adapters[i].adapter];
        snprintf(label, sizeof label, "%s (%d)",
                 clean(r->adapters[i].adapter[0] ? r->adapters[i].adapter : "-", name, sizeof name),
                 r->adapters[i].bays_seen);
        fprintf(o, "  %-32s", label);
        table_stats(o, &r->adapters[i].s);
    }

    if (r->n_by_station > 1) {
        fprintf(o, "\nby station\n");
        table_stats_head(o, "station", 32);
        for (int i = 0; i < r->n_by_station; i++) {
            char name[sizeof r->by_station[i].name];
            fprintf(o, "  %-32.32s", clean(r->by_station[i].name[0] ? r->by_station[i].name : "-", name, sizeof name));
            table_stats(o, &r->by_station[i].s);
        }
        fprintf(o, "  modules on several stations %d, of which failed on one and passed on another %d "
                "(each counted once above)\n", r->modules_multi_station, r->modules_failed_passed_elsewhere);
    }
    table_named(o, "lot", "lot", r->lots, r->n_lots);
    table_named(o, "operator", "operator", r->operators, r->n_operators);

    fprintf(o, "\nfailed modules\n  %-17s %3s %-18s %-16s %8s %7s %-6s %s\n", "mac", "bay", "cause",
            "time", "attempts", "reseats", "passed", "detail");
    for (int i = 0; i < r->n_failed; i++) {
        const report_failed_row *f = &r->failed[i];
        char mac[40], cause[32];
        fmt_time(f->ts, "%Y-%m-%d %H:%M", a, sizeof a);
        fprintf(o, "  %-17s %3" PRId64 " %-18s %-16s %8d %7d %-6s %s%s\n",
                clean(f->mac[0] ? f->mac : "(no mac)", mac, sizeof mac), f->bay,
                clean(report_cause_name(f->cause), cause, sizeof cause), a, f->attempts, f->reseats,
                f->passed ? "yes" : "no", f->duplicate_mac ? "[DUPLICATE MAC] " : "",
                clean(f->detail, txt, sizeof txt));
    }
    if (r->failed_total > r->n_failed)
        fprintf(o, "  (the first %d of %d failed modules: --limit N for more, --format csv or json for all)\n",
                r->n_failed, r->failed_total);
    fflush(o);
    return ferror(o) ? -1 : 0;
}

/* ---- CSV ---- */

static void csv_text(FILE *o, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, o);
        return;
    }
    fputc('"', o);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', o);
        fputc(*s, o);
    }
    fputc('"', o);
}

/* A number, or an empty field (CSV's null) when it means nothing: a yield of no modules, the flash
 * time of no passes. */
static void csv_num(FILE *o, bool known, int decimals, double x)
{
    if (known)
        fprintf(o, "%.*f", decimals, x);
}

static const char csv_stats_cols[] = "modules,modules_passed,modules_first_pass,attempts,pass,fail,"
                                     "final_yield,first_pass_yield,top_cause,top_cause_name";

static void csv_stats(FILE *o, const report_stats *s)
{
    fprintf(o, "%d,%d,%d,%d,%d,%d,", s->modules, s->modules_passed, s->modules_first_pass, s->attempts,
            s->pass, s->fail);
    csv_num(o, s->modules > 0, 6, s->final_yield);
    fputc(',', o);
    csv_num(o, s->modules > 0, 6, s->first_pass_yield);
    fputc(',', o);
    csv_text(o, s->top_cause);
    fputc(',', o);
    csv_text(o, s->top_cause[0] ? report_cause_name(s->top_cause) : "");
}

/* A lot or operator section (an empty name field: attempts that carry none). */
static void csv_named(FILE *o, const char *section, const char *col, const report_named_row *v, int n)
{
    if (!named_present(v, n))
        return;
    fprintf(o, "\n# %s\n%s,%s\n", section, col, csv_stats_cols);
    for (int i = 0; i < n; i++) {
        csv_text(o, v[i].none ? "" : v[i].name);
        fputc(',', o);
        csv_stats(o, &v[i].s);
        fputc('\n', o);
    }
}

/* ISO 8601 local time with the offset's colon: 2024-05-02T06:00:00+00:00; empty when unknown. */
static void csv_time(FILE *o, bool known, double ts)
{
    char buf[48];
    report_fmt_iso(ts, buf, sizeof buf);
    if (known)
        fputs(buf, o);
}

int report_write_csv_head(const report *r, FILE *o)
{
    bool any = r->total.attempts > 0, timed = r->timed_passes > 0;
    fprintf(o, "# totals\nstations,first_ts,last_ts,%s,interrupted,duplicate_macs,mean_pass_s,p95_pass_s,"
               "modules_per_hour\n", csv_stats_cols);
    csv_text(o, r->stations);
    fputc(',', o);
    csv_time(o, any, r->first_ts);
    fputc(',', o);
    csv_time(o, any, r->last_ts);
    fputc(',', o);
    csv_stats(o, &r->total);
    fprintf(o, ",%d,%d,", r->interrupted, r->duplicate_macs);
    csv_num(o, timed, 3, r->mean_pass_s);
    fputc(',', o);
    csv_num(o, timed, 3, r->p95_pass_s);
    fputc(',', o);
    csv_num(o, rate_known(r), 3, r->modules_per_hour);
    fputc('\n', o);
    if (r->p95_approx) /* only then: the section is the flag */
        fprintf(o, "\n# p95_approx\nstep_s,within_s\n%.2f,%.3f\n", REPORT_P95_STEP_S, REPORT_P95_STEP_S / 2);

    fprintf(o, "\n# causes\ncause,name,count,pct,cum_pct,remedy\n");
    for (int i = 0; i < r->n_causes; i++) {
        const report_cause_row *c = &r->causes[i];
        csv_text(o, c->cause);
        fputc(',', o);
        csv_text(o, c->name);
        fprintf(o, ",%d,%.3f,%.3f,", c->count, c->pct, c->cum_pct);
        csv_text(o, c->remedy);
        fputc('\n', o);
    }

    fprintf(o, "\n# profiles\nname,sha256,first_ts,last_ts,%s\n", csv_stats_cols);
    for (int i = 0; i < r->n_profiles; i++) {
        const report_profile_row *p = &r->profiles[i];
        csv_text(o, p->name);
        fprintf(o, ",%s,", p->sha256);
        csv_time(o, true, p->first_ts);
        fputc(',', o);
        csv_time(o, true, p->last_ts);
        fputc(',', o);
        csv_stats(o, &p->s);
        fputc('\n', o);
    }

    fprintf(o, "\n# %s\nstart,%s\n", r->by_day ? "days" : "hours", csv_stats_cols);
    for (int i = 0; i < r->n_times; i++) {
        csv_time(o, true, r->times[i].start_ts);
        fputc(',', o);
        csv_stats(o, &r->times[i].s);
        fputc('\n', o);
    }

    fprintf(o, "\n# bays\nbay,bay_name,%s\n", csv_stats_cols);
    for (int i = 0; i < r->n_bays; i++) {
        fprintf(o, "%" PRId64 ",", r->bays[i].bay);
        csv_text(o, r->bays[i].bay_name);
        fputc(',', o);
        csv_stats(o, &r->bays[i].s);
        fputc('\n', o);
    }

    fprintf(o, "\n# adapters\nadapter,bays_seen,%s\n", csv_stats_cols);
    for (int i = 0; i < r->n_adapters; i++) {
        csv_text(o, r->adapters[i].adapter);
        fprintf(o, ",%d,", r->adapters[i].bays_seen);
        csv_stats(o, &r->adapters[i].s);
        fputc('\n', o);
    }

    if (r->n_by_station > 1) {
        fprintf(o, "\n# stations\nstation,%s\n", csv_stats_cols);
        for (int i = 0; i < r->n_by_station; i++) {
            csv_text(o, r->by_station[i].name);
            fputc(',', o);
            csv_stats(o, &r->by_station[i].s);
            fputc('\n', o);
        }
        fprintf(o, "\n# across_stations\nmodules_multi_station,modules_failed_passed_elsewhere\n%d,%d\n",
                r->modules_multi_station, r->modules_failed_passed_elsewhere);
    }
    csv_named(o, "lots", "lot", r->lots, r->n_lots);
    csv_named(o, "operators", "operator", r->operators, r->n_operators);

    fprintf(o, "\n# failed\nmac,attempt_id,bay,cause,cause_name,time,attempts,reseats,passed,duplicate_mac,"
               "detail\n");
    return ferror(o) ? -1 : 0;
}

int report_write_csv_failed(const report_failed_row *f, FILE *o)
{
    {
        csv_text(o, f->mac);
        fprintf(o, ",%lld,%" PRId64 ",", (long long)f->attempt_id, f->bay);
        csv_text(o, f->cause);
        fputc(',', o);
        csv_text(o, report_cause_name(f->cause));
        fputc(',', o);
        csv_time(o, true, f->ts);
        fprintf(o, ",%d,%d,%d,%d,", f->attempts, f->reseats, f->passed, f->duplicate_mac);
        csv_text(o, f->detail);
        fputc('\n', o);
    }
    return ferror(o) ? -1 : 0;
}

int report_write_csv(const report *r, FILE *o)
{
    int rc = report_write_csv_head(r, o);
    for (int i = 0; rc == 0 && i < r->n_failed; i++)
        rc = report_write_csv_failed(&r->failed[i], o);
    fflush(o);
    return rc < 0 || ferror(o) ? -1 : 0;
}

/* ---- JSON ---- */

/* A number, or null when it means nothing (the yield of no modules): the shape stays the same. */
static void json_num(cJSON *j, const char *key, bool known, double x)
{
    if (known)
        cJSON_AddNumberToObject(j, key, x);
    else
        cJSON_AddNullToObject(j, key);
}

static cJSON *json_stats(const report_stats *s)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "modules", s->modules);
    cJSON_AddNumberToObject(j, "modules_passed", s->modules_passed);
    cJSON_AddNumberToObject(j, "modules_first_pass", s->modules_first_pass);
    cJSON_AddNumberToObject(j, "attempts", s->attempts);
    cJSON_AddNumberToObject(j, "pass", s->pass);
    cJSON_AddNumberToObject(j, "fail", s->fail);
    json_num(j, "final_yield", s->modules > 0, s->final_yield);
    json_num(j, "first_pass_yield", s->modules > 0, s->first_pass_yield);
    if (s->top_cause[0]) {
        cJSON_AddStringToObject(j, "top_cause", s->top_cause);
        cJSON_AddStringToObject(j, "top_cause_name", report_cause_name(s->top_cause));
    } else {
        cJSON_AddNullToObject(j, "top_cause");
        cJSON_AddNullToObject(j, "top_cause_name");
    }
    return j;
}

/* A lot or operator array; null for the attempts that carry none. */
static void json_named(cJSON *j, const char *key, const char *col, const report_named_row *v, int n)
{
    if (!named_present(v, n))
        return;
    cJSON *a = cJSON_AddArrayToObject(j, key);
    for (int i = 0; i < n; i++) {
        cJSON *x = json_stats(&v[i].s);
        if (v[i].none)
            cJSON_AddNullToObject(x, col);
        else
            cJSON_AddStringToObject(x, col, v[i].name);
        cJSON_AddItemToArray(a, x);
    }
}

static cJSON *json_report(const report *r)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "generated_ts", r->generated_ts);
    cJSON *f = cJSON_AddObjectToObject(j, "filter");
    cJSON_AddNumberToObject(f, "since", r->filter.since);
    json_num(f, "until", r->filter.until > 0, r->filter.until); /* null: no end */
    if (r->profile_name[0])
        cJSON_AddStringToObject(f, "profile", r->profile_name);
    else
        cJSON_AddNullToObject(f, "profile");
    cJSON_AddNumberToObject(f, "bay", r->filter.bay);
    cJSON_AddStringToObject(j, "stations", r->stations);
    json_num(j, "first_ts", r->total.attempts > 0, r->first_ts);
    json_num(j, "last_ts", r->total.attempts > 0, r->last_ts);

    cJSON *t = json_stats(&r->total);
    cJSON_AddNumberToObject(t, "interrupted", r->interrupted);
    cJSON_AddNumberToObject(t, "duplicate_macs", r->duplicate_macs);
    json_num(t, "mean_pass_s", r->timed_passes > 0, r->mean_pass_s);
    json_num(t, "p95_pass_s", r->timed_passes > 0, r->p95_pass_s);
    cJSON_AddBoolToObject(t, "p95_approx", r->p95_approx); /* to REPORT_P95_STEP_S / 2 when true */
    json_num(t, "modules_per_hour", rate_known(r), r->modules_per_hour);
    cJSON_AddItemToObject(j, "totals", t);

    cJSON *a = cJSON_AddArrayToObject(j, "causes");
    for (int i = 0; i < r->n_causes; i++) {
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "cause", r->causes[i].cause);
        cJSON_AddStringToObject(c, "name", r->causes[i].name);
        cJSON_AddNumberToObject(c, "count", r->causes[i].count);
        cJSON_AddNumberToObject(c, "pct", r->causes[i].pct);
        cJSON_AddNumberToObject(c, "cum_pct", r->causes[i].cum_pct);
        cJSON_AddStringToObject(c, "remedy", r->causes[i].remedy);
        cJSON_AddItemToArray(a, c);
    }
    a = cJSON_AddArrayToObject(j, "profiles");
    for (int i = 0; i < r->n_profiles; i++) {
        cJSON *p = json_stats(&r->profiles[i].s);
        cJSON_AddStringToObject(p, "name", r->profiles[i].name);
        cJSON_AddStringToObject(p, "sha256", r->profiles[i].sha256);
        cJSON_AddNumberToObject(p, "first_ts", r->profiles[i].first_ts);
        cJSON_AddNumberToObject(p, "last_ts", r->profiles[i].last_ts);
        const report_profile_row *prev = previous_version(r, i);
        if (prev)
            cJSON_AddStringToObject(p, "previous_sha256", prev->sha256);
        else
            cJSON_AddNullToObject(p, "previous_sha256");
        cJSON_AddItemToArray(a, p);
    }
    cJSON_AddStringToObject(j, "time_unit", r->by_day ? "day" : "hour");
    a = cJSON_AddArrayToObject(j, "times");
    for (int i = 0; i < r->n_times; i++) {
        cJSON *x = json_stats(&r->times[i].s);
        cJSON_AddNumberToObject(x, "start_ts", r->times[i].start_ts);
        cJSON_AddItemToArray(a, x);
    }
    a = cJSON_AddArrayToObject(j, "bays");
    for (int i = 0; i < r->n_bays; i++) {
        cJSON *x = json_stats(&r->bays[i].s);
        cJSON_AddNumberToObject(x, "bay", r->bays[i].bay);
        cJSON_AddStringToObject(x, "bay_name", r->bays[i].bay_name);
        cJSON_AddItemToArray(a, x);
    }
    a = cJSON_AddArrayToObject(j, "adapters");
    for (int i = 0; i < r->n_adapters; i++) {
        cJSON *x = json_stats(&r->adapters[i].s);
        cJSON_AddStringToObject(x, "adapter", r->adapters[i].adapter);
        cJSON_AddNumberToObject(x, "bays_seen", r->adapters[i].bays_seen);
        cJSON_AddItemToArray(a, x);
    }
    if (r->n_by_station > 1) {
        a = cJSON_AddArrayToObject(j, "stations");
        for (int i = 0; i < r->n_by_station; i++) {
            cJSON *x = json_stats(&r->by_station[i].s);
            cJSON_AddStringToObject(x, "station", r->by_station[i].name);
            cJSON_AddItemToArray(a, x);
        }
        cJSON *x = cJSON_AddObjectToObject(j, "across_stations");
        cJSON_AddNumberToObject(x, "modules_multi_station", r->modules_multi_station);
        cJSON_AddNumberToObject(x, "modules_failed_passed_elsewhere", r->modules_failed_passed_elsewhere);
    }
    json_named(j, "lots", "lot", r->lots, r->n_lots);
    json_named(j, "operators", "operator", r->operators, r->n_operators);
    cJSON_AddNumberToObject(j, "failed_total", r->failed_total); /* "failed" may be a first page */
    return j;
}

/* The object of one failed module. */
static cJSON *json_failed(const report_failed_row *fr)
{
    cJSON *x = cJSON_CreateObject();
    if (!x)
        return NULL;
    cJSON_AddStringToObject(x, "mac", fr->mac);
    cJSON_AddNumberToObject(x, "attempt_id", (double)fr->attempt_id);
    cJSON_AddNumberToObject(x, "bay", fr->bay);
    cJSON_AddStringToObject(x, "cause", fr->cause);
    cJSON_AddStringToObject(x, "cause_name", report_cause_name(fr->cause));
    cJSON_AddNumberToObject(x, "ts", fr->ts);
    cJSON_AddNumberToObject(x, "attempts", fr->attempts);
    cJSON_AddNumberToObject(x, "reseats", fr->reseats);
    cJSON_AddBoolToObject(x, "passed", fr->passed);
    cJSON_AddBoolToObject(x, "duplicate_mac", fr->duplicate_mac);
    cJSON_AddStringToObject(x, "detail", fr->detail);
    return x;
}

/* The object, printed by cJSON without its closing brace, then "failed": [ - its rows follow one at
 * a time (report_write_json_failed), so a list of any length is never one tree in memory. */
int report_write_json_head(const report *r, FILE *o)
{
    cJSON *j = json_report(r);
    char *text = j ? cJSON_Print(j) : 0;
    cJSON_Delete(j);
    if (!text)
        return -1;
    size_t n = strlen(text);
    while (n && text[n - 1] != '}')
        n--;
    fprintf(o, "%.*s,\n\t\"failed\":\t[", (int)(n ? n - 2 : 0), text); /* up to the last "\n}" */
    cJSON_free(text);
    return ferror(o) ? -1 : 0;
}

int report_write_json_failed(const report_failed_row *f, bool first, FILE *o)
{
    cJSON *x = json_failed(f);
    char *text = x ? cJSON_PrintUnformatted(x) : 0;
    cJSON_Delete(x);
    if (!text)
        return -1;
    fprintf(o, "%s\n\t\t%s", first ? "" : ",", text);
    cJSON_free(text);
    return ferror(o) ? -1 : 0;
}

int report_write_json_tail(FILE *o)
{
    fputs("]\n}\n", o);
    fflush(o);
    return ferror(o) ? -1 : 0;
}

int report_write_json(const report *r, FILE *o)
{
    int rc = report_write_json_head(r, o);
    for (int i = 0; rc == 0 && i < r->n_failed; i++)
        rc = report_write_json_failed(&r->failed[i], i == 0, o);
    return rc < 0 ? -1 : report_write_json_tail(o);
}
