/* test_db_report.c - report numbers against the KNOWN attempt set of db_fixture.c, and the same
 * numbers through the table, CSV and JSON renderers.
 *
 * The set (t = seconds after 08:00 UTC, d = duration; modules A..H by MAC, "-" = no MAC):
 *   #  mac bay adapter profile  t     d   outcome
 *   1  A   1   X       plug v1  0     20  pass
 *   2  B   2   Y       plug v1  0     22  brownout         (MAC given in upper case)
 *   3  B   3   X       plug v1  100   21  pass             (B re-seated to bay 3)
 *   4  C   2   Y       plug v1  100   5   brownout
 *   5  C   2   Y       plug v1  200   6   brownout         (detail holds <script>)
 *   6  -   4   Z       plug v1  200   10  no_download_mode
 *   7  D   1   X       plug v2  3600  19  pass
 *   8  E   3   X       plug v2  3610  30  verify_failed
 *   9  E   3   X       plug v2  3700  25  pass
 *  10  F   1   X       plug v2  3800  18  pass
 *  11  -   4   Z       plug v2  3900  -   running, then interrupted at 4000   (not counted)
 *  12  G   4   Z       bulb v1  4100  24  pass
 *  13  H   1   X       plug v1  4200  3   cancelled                           (not counted)
 *
 * By hand:
 *   modules A B C - D E F G = 8; attempts 11 (1-10, 12); pass 6 (1 3 7 9 10 12); fail 5; interrupted 2.
 *   final yield: A B D E F G passed = 6/8 = 0.75.
 *   first-pass: A D F G passed at their first attempt = 4/8 = 0.5.
 *   pass times 20 21 19 25 18 24 -> sorted 18 19 20 21 24 25; mean 127/6 = 21.1667;
 *     p95 nearest rank: ceil(0.95 * 6) = 6th = 25.
 *   span: first start 0, last counted end 4124 (#12) -> 8 / (4124/3600) = 6.98351 modules/h.
 *   Pareto: brownout 3 (60 %, cum 60), no_download_mode 1 (20, 80), verify_failed 1 (20, 100);
 *     the tie goes by the cause table's order (no_download_mode before verify_failed).
 *   hours (by end): 08:00 holds 1-6: modules A B C - = 4, passed A B -> 0.5, first-pass A -> 0.25,
 *     attempts 6 pass 2 fail 4; 09:00 holds 7-10, 12: D E F G = 4, all passed -> 1.0, first-pass
 *     D F G -> 0.75, attempts 5, pass 4, fail 1.
 *   bays: 1: A D F, 3 attempts, 1.0/1.0; 2: B C, 3 attempts, 0/0, top brownout x3;
 *     3: B E, 3 attempts, final 1.0, first-pass 0.5 (B's first try in bay 3 passed), top
 *     verify_failed; 4: - G, 2 attempts, 0.5/0.5, top no_download_mode.
 *   adapters: X (bays 1, 3): A B D E F, 6 attempts, pass 5, final 1.0, first-pass 4/5 = 0.8;
 *     Y (bay 2): B C, 3 attempts, 0; Z (bay 4): - G, 0.5.
 *   profiles by first end: plug v1 (1-6) 4 modules 0.5/0.25, first end 20, last end 210;
 *     plug v2 (7-10) D E F 1.0/0.6667; bulb (12) 1 module 1.0.
 *   failed modules by time of last failure: B (#2, bay 2, brownout, 2 attempts, passed later),
 *     C (#5, bay 2, brownout, 2, never), - (#6, bay 4, no_download_mode, 1, never),
 *     E (#8, bay 3, verify_failed, 2, passed later). */
#include "db_fixture.h"
#include "report.h"
#include <cjson/cJSON.h>
#include <string.h>
#include <time.h>

static const double T0 = FIXTURE_T0;

static void check_totals(const report *r)
{
    REQUIRE(r->total.modules == 8);
    REQUIRE(r->total.attempts == 11);
    REQUIRE(r->total.pass == 6);
    REQUIRE(r->total.fail == 5);
    REQUIRE(r->interrupted == 2);
    REQUIRE(r->duplicate_macs == 0);
    REQUIRE(r->total.modules_passed == 6);
    REQUIRE(r->total.modules_first_pass == 4);
    REQUIRE_NEAR(r->total.final_yield, 0.75, 1e-9);
    REQUIRE_NEAR(r->total.first_pass_yield, 0.5, 1e-9);
    REQUIRE_NEAR(r->mean_pass_s, 127.0 / 6, 1e-6);
    REQUIRE_NEAR(r->p95_pass_s, 25, 1e-6);
    REQUIRE_NEAR(r->first_ts, T0, 1e-6);
    REQUIRE_NEAR(r->last_ts, T0 + 4124, 1e-6);
    REQUIRE_NEAR(r->modules_per_hour, 8 / (4124 / 3600.0), 1e-6);
    REQUIRE(strcmp(r->total.top_cause, "brownout") == 0 && r->total.top_cause_count == 3);
    REQUIRE(strcmp(r->stations, "line-3") == 0);
}

static void check_groups(const report *r)
{
    /* Pareto */
    REQUIRE(r->n_causes == 3);
    REQUIRE(strcmp(r->causes[0].cause, "brownout") == 0 && r->causes[0].count == 3);
    REQUIRE(strcmp(r->causes[1].cause, "no_download_mode") == 0 && r->causes[1].count == 1);
    REQUIRE(strcmp(r->causes[2].cause, "verify_failed") == 0 && r->causes[2].count == 1);
    REQUIRE_NEAR(r->causes[0].pct, 60, 1e-9);
    REQUIRE_NEAR(r->causes[1].cum_pct, 80, 1e-9);
    REQUIRE_NEAR(r->causes[2].cum_pct, 100, 1e-9);
    REQUIRE(strstr(r->causes[0].remedy, "regulator") != NULL);

    /* hours */
    REQUIRE(!r->by_day);
    REQUIRE(r->n_times == 2);
    REQUIRE_NEAR(r->times[0].start_ts, T0, 1e-9);
    REQUIRE_NEAR(r->times[1].start_ts, T0 + 3600, 1e-9);
    REQUIRE(r->times[0].s.modules == 4 && r->times[0].s.attempts == 6 && r->times[0].s.fail == 4);
    REQUIRE_NEAR(r->times[0].s.final_yield, 0.5, 1e-9);
    REQUIRE_NEAR(r->times[0].s.first_pass_yield, 0.25, 1e-9);
    REQUIRE(r->times[1].s.modules == 4 && r->times[1].s.attempts == 5 && r->times[1].s.pass == 4);
    REQUIRE_NEAR(r->times[1].s.final_yield, 1.0, 1e-9);
    REQUIRE_NEAR(r->times[1].s.first_pass_yield, 0.75, 1e-9);

    /* bays */
    REQUIRE(r->n_bays == 4);
    static const struct { int bay, modules, attempts; double fy, fpy; const char *top; } bays[] = {
        {1, 3, 3, 1.0, 1.0, ""}, {2, 2, 3, 0, 0, "brownout"}, {3, 2, 3, 1.0, 0.5, "verify_failed"},
        {4, 2, 2, 0.5, 0.5, "no_download_mode"}};
    for (int i = 0; i < 4; i++) {
        REQUIRE(r->bays[i].bay == bays[i].bay);
        REQUIRE(r->bays[i].s.modules == bays[i].modules);
        REQUIRE(r->bays[i].s.attempts == bays[i].attempts);
        REQUIRE_NEAR(r->bays[i].s.final_yield, bays[i].fy, 1e-9);
        REQUIRE_NEAR(r->bays[i].s.first_pass_yield, bays[i].fpy, 1e-9);
        REQUIRE(strcmp(r->bays[i].s.top_cause, bays[i].top) == 0);
    }
    REQUIRE(r->bays[1].s.top_cause_count == 3);

    /* adapters */
    REQUIRE(r->n_adapters == 3);
    REQUIRE(strcmp(r->adapters[0].adapter, "0403:6001:A1") == 0);
    REQUIRE(r->adapters[0].bays_seen == 2 && r->adapters[0].s.modules == 5 && r->adapters[0].s.attempts == 6);
    REQUIRE(r->adapters[0].s.pass == 5);
    REQUIRE_NEAR(r->adapters[0].s.final_yield, 1.0, 1e-9);
    REQUIRE_NEAR(r->adapters[0].s.first_pass_yield, 0.8, 1e-9);
    REQUIRE(strcmp(r->adapters[1].adapter, "10c4:ea60:B2") == 0 && r->adapters[1].bays_seen == 1);
    REQUIRE_NEAR(r->adapters[1].s.final_yield, 0, 1e-9);
    REQUIRE_NEAR(r->adapters[2].s.final_yield, 0.5, 1e-9);

    /* profile versions */
    REQUIRE(r->n_profiles == 3);
    REQUIRE(strcmp(r->profiles[0].name, "plug") == 0 && strcmp(r->profiles[1].name, "plug") == 0);
    REQUIRE(strcmp(r->profiles[0].sha256, r->profiles[1].sha256) != 0);
    REQUIRE(strcmp(r->profiles[2].name, "bulb") == 0);
    REQUIRE(r->profiles[0].s.modules == 4);
    REQUIRE_NEAR(r->profiles[0].s.first_pass_yield, 0.25, 1e-9);
    REQUIRE_NEAR(r->profiles[0].first_ts, T0 + 20, 1e-9);
    REQUIRE_NEAR(r->profiles[0].last_ts, T0 + 210, 1e-9);
    REQUIRE(r->profiles[1].s.modules == 3);
    REQUIRE_NEAR(r->profiles[1].s.first_pass_yield, 2.0 / 3, 1e-9);
    REQUIRE(r->profiles[2].s.modules == 1 && r->profiles[2].s.modules_passed == 1);

    /* failed modules */
    REQUIRE(r->n_failed == 4);
    static const struct { const char *mac; int bay; const char *cause; int attempts; bool passed; } f[] = {
        {"d8:1f:12:00:00:0b", 2, "brownout", 2, true}, {"d8:1f:12:00:00:0c", 2, "brownout", 2, false},
        {"", 4, "no_download_mode", 1, false}, {"d8:1f:12:00:00:0e", 3, "verify_failed", 2, true}};
    for (int i = 0; i < 4; i++) {
        REQUIRE(strcmp(r->failed[i].mac, f[i].mac) == 0);
        REQUIRE(r->failed[i].bay == f[i].bay);
        REQUIRE(strcmp(r->failed[i].cause, f[i].cause) == 0);
        REQUIRE(r->failed[i].attempts == f[i].attempts);
        REQUIRE(r->failed[i].reseats == f[i].attempts - 1);
        REQUIRE(r->failed[i].passed == f[i].passed);
    }
    REQUIRE_NEAR(r->failed[1].ts, T0 + 206, 1e-9);
}

static void check_filters(db *d)
{
    char err[256];
    report *r;
    report_filter by_bay = {.since = 0, .until = 0, .profile = 0, .bay = 2};
    REQUIRE(report_build(d, &by_bay, &r, err, sizeof err) == 0);
    REQUIRE(r->total.attempts == 3 && r->total.modules == 2 && r->total.modules_passed == 0);
    REQUIRE(r->n_bays == 1 && r->bays[0].bay == 2);
    report_free(r);

    report_filter bulb = {.since = 0, .until = 0, .profile = "bulb", .bay = -1};
    REQUIRE(report_build(d, &bulb, &r, err, sizeof err) == 0);
    REQUIRE(r->total.attempts == 1 && r->n_profiles == 1 && strcmp(r->profile_name, "bulb") == 0);
    report_free(r);

    report_filter first_hour = {.since = T0, .until = T0 + 3600, .profile = 0, .bay = -1};
    REQUIRE(report_build(d, &first_hour, &r, err, sizeof err) == 0);
    REQUIRE(r->total.modules == 4 && r->total.attempts == 6);
    REQUIRE_NEAR(r->total.final_yield, 0.5, 1e-9);
    report_free(r);

    /* the dashboard's question, same definitions: since 09:00 -> D E F G, all passed, 3 first time */
    int pass = -1, fail = -1;
    double fpy = -1;
    REQUIRE_MSG((report_yield_since(d, T0 + 3600, &pass, &fail, &fpy)) >= 0, "%s", db_errmsg(d));
    REQUIRE(pass == 4 && fail == 0);
    REQUIRE_NEAR(fpy, 0.75, 1e-9);
    REQUIRE_MSG((report_yield_since(d, 0, &pass, &fail, &fpy)) >= 0, "%s", db_errmsg(d));
    REQUIRE(pass == 6 && fail == 2);
    REQUIRE_NEAR(fpy, 0.5, 1e-9);
}

/* Reads a renderer's whole output into a malloc'd string. */
static char *render(const report *r, int (*fn)(const report *, FILE *))
{
    char *buf = 0;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    REQUIRE(f != NULL);
    REQUIRE(fn(r, f) == 0);
    fclose(f);
    return buf;
}

static double num(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    REQUIRE(cJSON_IsNumber(v));
    return v->valuedouble;
}

static void check_json(const report *r)
{
    char *text = render(r, report_write_json);
    cJSON *j = cJSON_Parse(text);
    REQUIRE(j != NULL);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "totals");
    REQUIRE(num(t, "modules") == r->total.modules);
    REQUIRE(num(t, "attempts") == r->total.attempts);
    REQUIRE(num(t, "pass") == r->total.pass && num(t, "fail") == r->total.fail);
    REQUIRE_NEAR(num(t, "final_yield"), r->total.final_yield, 1e-9);
    REQUIRE_NEAR(num(t, "first_pass_yield"), r->total.first_pass_yield, 1e-9);
    REQUIRE_NEAR(num(t, "p95_pass_s"), r->p95_pass_s, 1e-9);
    REQUIRE_NEAR(num(t, "mean_pass_s"), r->mean_pass_s, 1e-9);
    REQUIRE_NEAR(num(t, "modules_per_hour"), r->modules_per_hour, 1e-9);
    REQUIRE(num(t, "interrupted") == r->interrupted);
    const cJSON *causes = cJSON_GetObjectItemCaseSensitive(j, "causes");
    REQUIRE(cJSON_GetArraySize(causes) == r->n_causes);
    for (int i = 0; i < r->n_causes; i++) {
        const cJSON *c = cJSON_GetArrayItem(causes, i);
        REQUIRE(strcmp(cJSON_GetObjectItemCaseSensitive(c, "cause")->valuestring, r->causes[i].cause) == 0);
        REQUIRE(num(c, "count") == r->causes[i].count);
        REQUIRE_NEAR(num(c, "cum_pct"), r->causes[i].cum_pct, 1e-9);
    }
    const cJSON *bays = cJSON_GetObjectItemCaseSensitive(j, "bays");
    REQUIRE(cJSON_GetArraySize(bays) == r->n_bays);
    for (int i = 0; i < r->n_bays; i++) {
        REQUIRE(num(cJSON_GetArrayItem(bays, i), "bay") == r->bays[i].bay);
        REQUIRE_NEAR(num(cJSON_GetArrayItem(bays, i), "final_yield"), r->bays[i].s.final_yield, 1e-9);
    }
    const cJSON *failed = cJSON_GetObjectItemCaseSensitive(j, "failed");
    REQUIRE(cJSON_GetArraySize(failed) == r->n_failed);
    REQUIRE(strstr(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(failed, 1), "detail")->valuestring,
                 "<script>") != NULL);
    REQUIRE(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "times")) == r->n_times);
    REQUIRE(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "profiles")) == r->n_profiles);
    cJSON_Delete(j);
    free(text);
}

/* The CSV's totals row and cause section carry the same numbers as the struct. */
static void check_csv(const report *r)
{
    char *text = render(r, report_write_csv);
    REQUIRE(strncmp(text, "# totals\n", 9) == 0);
    char *line2 = strchr(text + 9, '\n') + 1;
    int modules, passed, first, attempts, pass, fail, interrupted, dups;
    double fy, fpy, mean, p95, mph;
    /* stations,first_ts,last_ts, then the stats columns */
    char *p = line2;
    for (int commas = 0; commas < 3; p++)
        commas += *p == ',';
    REQUIRE(sscanf(p, "%d,%d,%d,%d,%d,%d,%lf,%lf,brownout,brown-out,%d,%d,%lf,%lf,%lf", &modules, &passed, &first,
                 &attempts, &pass, &fail, &fy, &fpy, &interrupted, &dups, &mean, &p95, &mph) == 13);
    REQUIRE(modules == r->total.modules && passed == r->total.modules_passed);
    REQUIRE(first == r->total.modules_first_pass && attempts == r->total.attempts);
    REQUIRE(pass == r->total.pass && fail == r->total.fail && interrupted == r->interrupted);
    REQUIRE_NEAR(fy, r->total.final_yield, 1e-6);
    REQUIRE_NEAR(fpy, r->total.first_pass_yield, 1e-6);
    REQUIRE_NEAR(p95, r->p95_pass_s, 1e-3);
    REQUIRE_NEAR(mph, r->modules_per_hour, 1e-3);
    REQUIRE(strstr(text, "\n# causes\ncause,name,count,pct,cum_pct,remedy\nbrownout,brown-out,3,60.000,60.000,")
          != NULL);
    /* the detail with a quote-free comma-free text stays bare; one with '&' and '<' too */
    REQUIRE(strstr(text, "<script>alert(1)</script> & more") != NULL);
    REQUIRE(strstr(text, "\n# bays\n") && strstr(text, "\n# adapters\n") && strstr(text, "\n# failed\n"));
    REQUIRE(strstr(text, "\n2,,2,0,0,3,0,3,0.000000,0.000000,brownout,brown-out\n") != NULL);
    free(text);
}

static void check_table(const report *r)
{
    char *text = render(r, report_write_table);
    REQUIRE(strstr(text, "final yield      75.0% (6 of 8 modules)") != NULL);
    REQUIRE(strstr(text, "first-pass yield 50.0% (4 of 8 modules)") != NULL);
    REQUIRE(strstr(text, "mean 21.2 s, p95 25.0 s") != NULL);
    REQUIRE(strstr(text, "brown-out                3  60.0%  60.0%") != NULL);
    REQUIRE(strstr(text, "2024-05-01 09:00") != NULL);
    free(text);
}

/* Issue 12 item 14: the table and CSV name causes in words, CSV times are ISO 8601 with a colon in
 * the offset (also for a zone half an hour off), and an empty period says "no attempts" (table) or
 * null / an empty field (JSON, CSV) instead of a 0 % yield. */
static void check_words(db *d, const report *r)
{
    char *table = render(r, report_write_table);
    REQUIRE(strstr(table, "\n  brown-out                3") != NULL);   /* Pareto */
    REQUIRE(strstr(table, "\n  no link ") != NULL);
    REQUIRE(strstr(table, "  verify failed ") != NULL);                    /* failed modules, top cause */
    REQUIRE(strstr(table, "no_download_mode") == NULL && strstr(table, "verify_failed") == NULL);
    REQUIRE(strstr(table, "UTC+00:00") != NULL);
    free(table);

    char *csv = render(r, report_write_csv);
    /* #5, C's last failure, ended at 08:03:26 UTC */
    REQUIRE(strstr(csv, "\nd8:1f:12:00:00:0c,5,2,brownout,brown-out,2024-05-01T08:03:26+00:00,2,1,0,0,") != NULL);
    REQUIRE(strstr(csv, "+0000") == NULL);
    free(csv);

    setenv("TZ", "IST-5:30", 1); /* a POSIX zone: no tzdata needed */
    tzset();
    csv = render(r, report_write_csv);
    REQUIRE(strstr(csv, "2024-05-01T13:33:26+05:30") != NULL && strstr(csv, "+0530") == NULL);
    free(csv);
    setenv("TZ", "UTC", 1);
    tzset();

    report *e;
    char err[256];
    report_filter none = {.since = T0 + 86400, .until = T0 + 2 * 86400, .profile = 0, .bay = -1};
    REQUIRE(report_build(d, &none, &e, err, sizeof err) == 0);
    REQUIRE(e->total.attempts == 0);
    table = render(e, report_write_table);
    REQUIRE(strstr(table, "final yield      no attempts\n") != NULL);
    REQUIRE(strstr(table, "first-pass yield no attempts\n") != NULL);
    REQUIRE(strstr(table, "0.0%") == NULL);
    free(table);
    char *json = render(e, report_write_json);
    cJSON *j = cJSON_Parse(json);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "totals");
    REQUIRE(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(t, "final_yield")));
    REQUIRE(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(t, "first_pass_yield")));
    REQUIRE(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(t, "mean_pass_s")));
    REQUIRE(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(t, "modules_per_hour")));
    REQUIRE(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(t, "modules")));
    REQUIRE(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "first_ts")));
    cJSON_Delete(j);
    free(json);
    csv = render(e, report_write_csv);
    /* stations, first_ts, last_ts empty; counts 0; both yields and top cause (id, name) empty */
    REQUIRE(strstr(csv, "\n,,,0,0,0,0,0,0,,,,,0,0,,,\n") != NULL);
    free(csv);
    report_free(e);

    /* a filter without an end says null, not 0 */
    json = render(r, report_write_json);
    j = cJSON_Parse(json);
    REQUIRE(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "filter"), "until")));
    cJSON_Delete(j);
    free(json);
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    char path[512];
    fixture_path(path, sizeof path, "known.db");
    db *d = fixture_open(path, false);
    fixture_fill_known(d);
    db_close(d);

    d = fixture_open(path, true);
    report *r;
    char err[256];
    REQUIRE(report_build(d, NULL, &r, err, sizeof err) == 0);
    check_totals(r);
    check_groups(r);
    check_json(r);
    check_csv(r);
    check_table(r);
    check_words(d, r);
    report_free(r);
    check_filters(d);
    db_close(d);
    fixture_cleanup(path);
    printf("db_report: ok\n");
    return 0;
}
