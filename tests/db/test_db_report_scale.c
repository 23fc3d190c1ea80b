/* test_db_report_scale.c - what issue 19 added around the report's numbers (which test_db_report.c
 * keeps asserting): a schema-2 file migrates to the report's indexes and reports the same numbers;
 * the failed-modules list is paged with its total; hour buckets follow the zone, also one half an
 * hour off UTC; the dashboard's totals-only path agrees with the full report. */
#include "db_fixture.h"
#include "report.h"
#include <sqlite3.h>
#include <string.h>
#include <time.h>

static const double T0 = FIXTURE_T0;

static int count(const char *path, const char *sql)
{
    sqlite3 *sq;
    sqlite3_stmt *st;
    REQUIRE(sqlite3_open(path, &sq) == SQLITE_OK);
    REQUIRE(sqlite3_prepare_v2(sq, sql, -1, &st, 0) == SQLITE_OK);
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW)
        n++;
    sqlite3_finalize(st);
    sqlite3_close(sq);
    return n;
}

/* A file as a station at schema 2 left it, then opened by this code. */
static void check_migration(const char *path)
{
    sqlite3 *sq;
    REQUIRE(sqlite3_open(path, &sq) == SQLITE_OK);
    for (int v = 1; v <= 2; v++)
        REQUIRE(sqlite3_exec(sq, db_migration_sql(v), 0, 0, 0) == SQLITE_OK);
    REQUIRE(sqlite3_exec(sq, "PRAGMA user_version = 2", 0, 0, 0) == SQLITE_OK);
    sqlite3_close(sq);
    db *d = fixture_open(path, false);
    REQUIRE(db_schema_version(d) == db_schema_latest() && db_schema_latest() >= 3);
    fixture_fill_known(d);
    db_close(d);
    REQUIRE(count(path, "SELECT 1 FROM sqlite_master WHERE name = 'attempt_by_mac_end'") == 1);
    REQUIRE(count(path, "SELECT 1 FROM sqlite_master WHERE name = 'attempt_by_mac'") == 0);
    REQUIRE(count(path, "SELECT 1 FROM sqlite_master WHERE name = 'attempt_failed_by_end'") == 1);
}

static void check_plan_uses(const char *path, const char *sql, const char *index)
{
    sqlite3 *sq;
    sqlite3_stmt *st;
    REQUIRE(sqlite3_open(path, &sq) == SQLITE_OK);
    char q[1024];
    snprintf(q, sizeof q, "EXPLAIN QUERY PLAN %s", sql);
    REQUIRE(sqlite3_prepare_v2(sq, q, -1, &st, 0) == SQLITE_OK);
    bool used = false;
    while (sqlite3_step(st) == SQLITE_ROW)
        used |= strstr((const char *)sqlite3_column_text(st, 3), index) != NULL;
    sqlite3_finalize(st);
    sqlite3_close(sq);
    REQUIRE_MSG(used, "%s: not through %s", sql, index);
}

static void check_paging(db *d)
{
    char err[256];
    report *all, *page;
    REQUIRE(report_build(d, NULL, &all, err, sizeof err) == 0);
    REQUIRE(all->n_failed == 4 && all->failed_total == 4);
    report_options two = {.failed_limit = 2};
    REQUIRE(report_build_opts(d, NULL, &two, &page, err, sizeof err) == 0);
    REQUIRE(page->n_failed == 2 && page->failed_total == 4);
    for (int i = 0; i < 2; i++) {
        REQUIRE(strcmp(page->failed[i].mac, all->failed[i].mac) == 0);
        REQUIRE(page->failed[i].attempt_id == all->failed[i].attempt_id);
        REQUIRE(page->failed[i].attempts == all->failed[i].attempts);
    }
    /* the page changes the list only */
    REQUIRE(page->total.modules == all->total.modules && page->n_causes == all->n_causes);
    report_free(page);
    report_free(all);
}

static void check_zone(db *d)
{
    setenv("TZ", "IST-5:30", 1); /* a POSIX zone half an hour off: no tzdata needed */
    tzset();
    char err[256];
    report *r;
    REQUIRE(report_build(d, NULL, &r, err, sizeof err) == 0);
    /* 08:00-08:04 UTC is 13:30-13:34 IST: the 13:00 IST hour began at 07:30 UTC */
    REQUIRE(r->n_times == 2);
    REQUIRE_NEAR(r->times[0].start_ts, T0 - 1800, 1e-9);
    REQUIRE_NEAR(r->times[1].start_ts, T0 + 1800, 1e-9);
    REQUIRE(r->times[0].s.attempts == 6 && r->times[1].s.attempts == 5);
    report_free(r);
    setenv("TZ", "UTC", 1);
    tzset();
}

static void check_today(db *d)
{
    int pass, fail;
    double fpy;
    char err[256];
    report *r;
    report_filter since = {.since = T0 + 60, .until = 0, .profile = 0, .bay = -1};
    REQUIRE(report_build(d, &since, &r, err, sizeof err) == 0);
    REQUIRE_MSG((report_yield_since(d, T0 + 60, &pass, &fail, &fpy)) >= 0, "%s", db_errmsg(d));
    REQUIRE(pass == r->total.modules_passed && pass + fail == r->total.modules && r->total.modules > 0);
    REQUIRE_NEAR(fpy, r->total.first_pass_yield, 1e-12);
    report_free(r);
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    char path[512];
    fixture_path(path, sizeof path, "v2.db");
    check_migration(path);
    /* one MAC's history is read through the index, not by a scan of the attempts */
    check_plan_uses(path, "SELECT * FROM attempt WHERE mac = 'x' AND end_ts >= 0", "attempt_by_mac_end");
    check_plan_uses(path, "SELECT * FROM attempt WHERE end_ts >= 5 AND outcome <> 'pass'", "attempt_failed_by_end");
    db *d = fixture_open(path, true);
    report *r;
    char err[256];
    REQUIRE(report_build(d, NULL, &r, err, sizeof err) == 0);
    REQUIRE(r->total.modules == 8 && r->total.modules_first_pass == 4 && r->interrupted == 2);
    report_free(r);
    check_paging(d);
    check_zone(d);
    check_today(d);
    db_close(d);
    fixture_cleanup(path);
    printf("db_report_scale: ok\n");
    return 0;
}
