/* report_text.c - the plain renderers (table, CSV, JSON) of a report built by report.c.
 * They format and never compute: every number here is a field of `report`. */
#include "report.h"
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void fmt_time(double ts, const char *fmt, char *buf, size_t n)
{
    time_t t = (time_t)ts;
    struct tm tm;
    localtime_r(&t, &tm);
    if (!strftime(buf, n, fmt, &tm))
        snprintf(buf, n, "?");
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

static const char *bucket_fmt(const report *r) { return r->by_day ? "%Y-%m-%d" : "%Y-%m-%d %H:00"; }

/* ---- table ---- */

static void table_stats_head(FILE *o, const char *first_col, int width)
{
    fprintf(o, "  %-*s %7s %8s %6s %6s %7s %7s  %s\n", width, first_col, "modules", "attempts", "pass",
            "fail", "final", "1st", "top cause");
}

static void table_stats(FILE *o, const report_stats *s)
{
    fprintf(o, " %7d %8d %6d %6d %6.1f%% %6.1f%%  %s\n", s->modules, s->attempts, s->pass, s->fail,
            100 * s->final_yield, 100 * s->first_pass_yield, s->top_cause[0] ? s->top_cause : "-");
}

int report_write_table(const report *r, FILE *o)
{
    char a[32], b[32], g[32];
    fmt_time(r->first_ts, "%Y-%m-%d %H:%M", a, sizeof a);
    fmt_time(r->last_ts, "%Y-%m-%d %H:%M", b, sizeof b);
    fmt_time(r->generated_ts, "%Y-%m-%d %H:%M", g, sizeof g);
    fprintf(o, "trayflash yield report\n");
    fprintf(o, "station      %s\n", r->stations[0] ? r->stations : "-");
    char bay[16] = "all";
    if (r->filter.bay >= 0)
        snprintf(bay, sizeof bay, "%d", r->filter.bay);
    fprintf(o, "period       %s .. %s  (profile %s, bay %s)\n", r->total.attempts ? a : "-",
            r->total.attempts ? b : "-", r->profile_name[0] ? r->profile_name : "all", bay);
    fprintf(o, "generated    %s\n\n", g);

    const report_stats *t = &r->total;
    fprintf(o, "modules          %d\n", t->modules);
    fprintf(o, "attempts         %d (pass %d, fail %d; %d interrupted, not counted)\n", t->attempts,
            t->pass, t->fail, r->interrupted);
    fprintf(o, "final yield      %.1f%% (%d of %d modules)\n", 100 * t->final_yield, t->modules_passed,
            t->modules);
    fprintf(o, "first-pass yield %.1f%% (%d of %d modules)\n", 100 * t->first_pass_yield,
            t->modules_first_pass, t->modules);
    if (r->mean_pass_s > 0)
        fprintf(o, "flash time       mean %.1f s, p95 %.1f s (passes)\n", r->mean_pass_s, r->p95_pass_s);
    else
        fprintf(o, "flash time       - (no passes)\n");
    fprintf(o, "modules per hour %.1f\n", r->modules_per_hour);
    fprintf(o, "duplicate MACs   %d attempts\n", r->duplicate_macs);

    fprintf(o, "\nfailure causes (Pareto)\n  %-20s %5s %6s %6s  %s\n", "cause", "count", "%", "cum%",
            "remedy");
    for (int i = 0; i < r->n_causes; i++) {
        const report_cause_row *c = &r->causes[i];
        fprintf(o, "  %-20s %5d %5.1f%% %5.1f%%  %s\n", c->cause, c->count, c->pct, c->cum_pct, c->remedy);
    }

    fprintf(o, "\nby profile version\n");
    table_stats_head(o, "profile @sha256 (first .. last)", 54);
    for (int i = 0; i < r->n_profiles; i++) {
        const report_profile_row *p = &r->profiles[i];
        char label[192];
        fmt_time(p->first_ts, "%m-%d %H:%M", a, sizeof a);
        fmt_time(p->last_ts, "%m-%d %H:%M", b, sizeof b);
        snprintf(label, sizeof label, "%s @%.8s (%s .. %s)", p->name[0] ? p->name : "-", p->sha256, a, b);
        fprintf(o, "  %-54.54s", label);
        table_stats(o, &p->s);
    }

    for (int i = 0; i < r->n_profiles; i++) {
        const report_profile_row *p = &r->profiles[i], *prev = previous_version(r, i);
        if (!prev)
            continue;
        fmt_time(p->first_ts, "%Y-%m-%d %H:%M:%S", a, sizeof a);
        fprintf(o, "  version change: %s @%.8s -> @%.8s, first attempt with the new text ended %s\n",
                p->name, prev->sha256, p->sha256, a);
    }

    fprintf(o, "\nby %s\n", r->by_day ? "day" : "hour");
    table_stats_head(o, r->by_day ? "day" : "hour", 16);
    for (int i = 0; i < r->n_times; i++) {
        fmt_time(r->times[i].start_ts, bucket_fmt(r), a, sizeof a);
        fprintf(o, "  %-16s", a);
        table_stats(o, &r->times[i].s);
    }

    fprintf(o, "\nby bay\n");
    table_stats_head(o, "bay", 16);
    for (int i = 0; i < r->n_bays; i++) {
        char label[64];
        snprintf(label, sizeof label, "%02d %s", r->bays[i].bay, r->bays[i].bay_name);
        fprintf(o, "  %-16s", label);
        table_stats(o, &r->bays[i].s);
    }

    fprintf(o, "\nby adapter\n");
    table_stats_head(o, "adapter (bays)", 32);
    for (int i = 0; i < r->n_adapters; i++) {
        char label[128];
        snprintf(label, sizeof label, "%s (%d)", r->adapters[i].adapter[0] ? r->adapters[i].adapter : "-",
                 r->adapters[i].bays_seen);
        fprintf(o, "  %-32s", label);
        table_stats(o, &r->adapters[i].s);
    }

    fprintf(o, "\nfailed modules\n  %-17s %3s %-18s %-16s %8s %7s %-6s %s\n", "mac", "bay", "cause",
            "time", "attempts", "reseats", "passed", "detail");
    for (int i = 0; i < r->n_failed; i++) {
        const report_failed_row *f = &r->failed[i];
        fmt_time(f->ts, "%Y-%m-%d %H:%M", a, sizeof a);
        fprintf(o, "  %-17s %3d %-18s %-16s %8d %7d %-6s %s%s\n", f->mac[0] ? f->mac : "(no mac)", f->bay,
                f->cause, a, f->attempts, f->reseats, f->passed ? "yes" : "no",
                f->duplicate_mac ? "[DUPLICATE MAC] " : "", f->detail);
    }
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

static const char csv_stats_cols[] = "modules,modules_passed,modules_first_pass,attempts,pass,fail,"
                                     "final_yield,first_pass_yield,top_cause";

static void csv_stats(FILE *o, const report_stats *s)
{
    fprintf(o, "%d,%d,%d,%d,%d,%d,%.6f,%.6f,", s->modules, s->modules_passed, s->modules_first_pass,
            s->attempts, s->pass, s->fail, s->final_yield, s->first_pass_yield);
    csv_text(o, s->top_cause);
    fputc('\n', o);
}

static void csv_time(FILE *o, double ts)
{
    char buf[40];
    fmt_time(ts, "%Y-%m-%dT%H:%M:%S%z", buf, sizeof buf);
    fputs(buf, o);
}

int report_write_csv(const report *r, FILE *o)
{
    fprintf(o, "# totals\nstations,first_ts,last_ts,%s,interrupted,duplicate_macs,mean_pass_s,p95_pass_s,"
               "modules_per_hour\n", csv_stats_cols);
    csv_text(o, r->stations);
    fputc(',', o);
    csv_time(o, r->first_ts);
    fputc(',', o);
    csv_time(o, r->last_ts);
    fputc(',', o);
    const report_stats *t = &r->total;
    fprintf(o, "%d,%d,%d,%d,%d,%d,%.6f,%.6f,", t->modules, t->modules_passed, t->modules_first_pass,
            t->attempts, t->pass, t->fail, t->final_yield, t->first_pass_yield);
    csv_text(o, t->top_cause);
    fprintf(o, ",%d,%d,%.3f,%.3f,%.3f\n", r->interrupted, r->duplicate_macs, r->mean_pass_s, r->p95_pass_s,
            r->modules_per_hour);

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
        csv_time(o, p->first_ts);
        fputc(',', o);
        csv_time(o, p->last_ts);
        fputc(',', o);
        csv_stats(o, &p->s);
    }

    fprintf(o, "\n# %s\nstart,%s\n", r->by_day ? "days" : "hours", csv_stats_cols);
    for (int i = 0; i < r->n_times; i++) {
        csv_time(o, r->times[i].start_ts);
        fputc(',', o);
        csv_stats(o, &r->times[i].s);
    }

    fprintf(o, "\n# bays\nbay,bay_name,%s\n", csv_stats_cols);
    for (int i = 0; i < r->n_bays; i++) {
        fprintf(o, "%d,", r->bays[i].bay);
        csv_text(o, r->bays[i].bay_name);
        fputc(',', o);
        csv_stats(o, &r->bays[i].s);
    }

    fprintf(o, "\n# adapters\nadapter,bays_seen,%s\n", csv_stats_cols);
    for (int i = 0; i < r->n_adapters; i++) {
        csv_text(o, r->adapters[i].adapter);
        fprintf(o, ",%d,", r->adapters[i].bays_seen);
        csv_stats(o, &r->adapters[i].s);
    }

    fprintf(o, "\n# failed\nmac,attempt_id,bay,cause,time,attempts,reseats,passed,duplicate_mac,detail\n");
    for (int i = 0; i < r->n_failed; i++) {
        const report_failed_row *f = &r->failed[i];
        csv_text(o, f->mac);
        fprintf(o, ",%lld,%d,", (long long)f->attempt_id, f->bay);
        csv_text(o, f->cause);
        fputc(',', o);
        csv_time(o, f->ts);
        fprintf(o, ",%d,%d,%d,%d,", f->attempts, f->reseats, f->passed, f->duplicate_mac);
        csv_text(o, f->detail);
        fputc('\n', o);
    }
    fflush(o);
    return ferror(o) ? -1 : 0;
}

/* ---- JSON ---- */

static cJSON *json_stats(const report_stats *s)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "modules", s->modules);
    cJSON_AddNumberToObject(j, "modules_passed", s->modules_passed);
    cJSON_AddNumberToObject(j, "modules_first_pass", s->modules_first_pass);
    cJSON_AddNumberToObject(j, "attempts", s->attempts);
    cJSON_AddNumberToObject(j, "pass", s->pass);
    cJSON_AddNumberToObject(j, "fail", s->fail);
    cJSON_AddNumberToObject(j, "final_yield", s->final_yield);
    cJSON_AddNumberToObject(j, "first_pass_yield", s->first_pass_yield);
    if (s->top_cause[0])
        cJSON_AddStringToObject(j, "top_cause", s->top_cause);
    else
        cJSON_AddNullToObject(j, "top_cause");
    return j;
}

static cJSON *json_report(const report *r)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "generated_ts", r->generated_ts);
    cJSON *f = cJSON_AddObjectToObject(j, "filter");
    cJSON_AddNumberToObject(f, "since", r->filter.since);
    cJSON_AddNumberToObject(f, "until", r->filter.until);
    if (r->profile_name[0])
        cJSON_AddStringToObject(f, "profile", r->profile_name);
    else
        cJSON_AddNullToObject(f, "profile");
    cJSON_AddNumberToObject(f, "bay", r->filter.bay);
    cJSON_AddStringToObject(j, "stations", r->stations);
    cJSON_AddNumberToObject(j, "first_ts", r->first_ts);
    cJSON_AddNumberToObject(j, "last_ts", r->last_ts);

    cJSON *t = json_stats(&r->total);
    cJSON_AddNumberToObject(t, "interrupted", r->interrupted);
    cJSON_AddNumberToObject(t, "duplicate_macs", r->duplicate_macs);
    cJSON_AddNumberToObject(t, "mean_pass_s", r->mean_pass_s);
    cJSON_AddNumberToObject(t, "p95_pass_s", r->p95_pass_s);
    cJSON_AddNumberToObject(t, "modules_per_hour", r->modules_per_hour);
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
    a = cJSON_AddArrayToObject(j, "failed");
    for (int i = 0; i < r->n_failed; i++) {
        const report_failed_row *fr = &r->failed[i];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "mac", fr->mac);
        cJSON_AddNumberToObject(x, "attempt_id", (double)fr->attempt_id);
        cJSON_AddNumberToObject(x, "bay", fr->bay);
        cJSON_AddStringToObject(x, "cause", fr->cause);
        cJSON_AddNumberToObject(x, "ts", fr->ts);
        cJSON_AddNumberToObject(x, "attempts", fr->attempts);
        cJSON_AddNumberToObject(x, "reseats", fr->reseats);
        cJSON_AddBoolToObject(x, "passed", fr->passed);
        cJSON_AddBoolToObject(x, "duplicate_mac", fr->duplicate_mac);
        cJSON_AddStringToObject(x, "detail", fr->detail);
        cJSON_AddItemToArray(a, x);
    }
    return j;
}

int report_write_json(const report *r, FILE *o)
{
    cJSON *j = json_report(r);
    char *text = j ? cJSON_Print(j) : 0;
    cJSON_Delete(j);
    if (!text)
        return -1;
    fputs(text, o);
    fputc('\n', o);
    cJSON_free(text);
    fflush(o);
    return ferror(o) ? -1 : 0;
}
