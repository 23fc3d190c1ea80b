/* test_db_report_pg.c - the report on the same data in SQLite and in PostgreSQL gives the same
 * numbers, every one of them (issue 19). Runs against the throwaway cluster of the pg_cluster
 * fixture, whose URL is in the file named by TRAYFLASH_PG_URL_FILE.
 *
 * The data: the known set of db_fixture.c (station line-3), then a second station (line-4) with a
 * pseudo-random week across the zone's summer-time change: retries of one module across bays,
 * modules without a MAC, interrupted and cancelled attempts, MACs seen on both stations and
 * overlapping on two bays (flagged duplicate), two profile versions, unknown and missing causes.
 * Several filters (all, a period, a bay, a profile, hours instead of days, a paged failed list, a lot,
 * an operator, a line, a station). The factory report agrees with each station's own; the central
 * store's trigger keeps its summaries as a rebuild makes them; without summaries PostgreSQL reads the
 * attempts alone and still gives the same numbers. */
#include "db_fixture.h"
#include "report_compare.h"
#include "report.h"
#include "report_pg.h"
#include <libpq-fe.h>
#include <sqlite3.h>
#include <string.h>
#include <time.h>

enum { WEEK_ATTEMPTS = 4000 };
static const double T_WEEK = 1711670400; /* 2024-03-29 00:00 UTC: the change to summer time is on the 31st */
static const char ZONE[] = "CET-1CEST,M3.5.0,M10.5.0/3"; /* a POSIX zone: no tzdata needed */

static uint32_t rnd(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

static void fill_second_station(db *d)
{
    static const char *const causes[] = {"brownout", "verify_failed", "no_download_mode", "module_lost",
                                         "future_cause", "cancelled"};
    REQUIRE_MSG((db_begin(d)) >= 0, "%s", db_errmsg(d));
    int64_t st = db_station_upsert(d, "line-4", "host-b");
    int64_t pv[2] = {db_profile_upsert(d, "plug", NULL, "[product]\nname=plug\nline=4\n"),
                     db_profile_upsert(d, "lamp", NULL, "[product]\nname=lamp\n")};
    REQUIRE(st > 0 && pv[0] > 0 && pv[1] > 0);
    uint32_t seed = 19;
    double t = T_WEEK;
    for (int i = 0; i < WEEK_ATTEMPTS; i++) {
        char mac[32], adapter[32], bay_name[16];
        int unit = (int)(rnd(&seed) % 3000); /* about a quarter of the modules come back */
        int bay = 1 + (int)(rnd(&seed) % 16);
        snprintf(mac, sizeof mac, "d8:1f:12:01:%02x:%02x", unit >> 8, unit & 255);
        snprintf(adapter, sizeof adapter, "0403:6001:S%02d", bay % 12); /* some adapters on two bays */
        snprintf(bay_name, sizeof bay_name, "bay %d", bay);
        t += 30 + rnd(&seed) % 200;
        double dur = 15 + (rnd(&seed) % 1500) / 100.0;
        static const char *const lots[] = {"WO-7", "WO-8", NULL}, *const ops[] = {"op-a", NULL, "op-b"};
        db_attempt a = {.station_id = st, .profile_id = pv[i > WEEK_ATTEMPTS / 3], .bay = bay,
                        .bay_name = bay_name, .adapter = adapter, .start_ts = t, .lot = lots[i / 700 % 3],
                        .operator_id = ops[i / 500 % 3]};
        int64_t id = db_attempt_begin(d, &a);
        REQUIRE(id > 0);
        uint32_t roll = rnd(&seed) % 100;
        if (roll < 2)
            continue; /* still running when the station stopped: interrupted below */
        a.end_ts = t + dur;
        a.mac = roll < 7 ? NULL : mac;                 /* failed before the MAC was read */
        a.passed = roll >= 25;
        a.cause_id = a.passed ? NULL : causes[roll % 6];
        if (a.cause_id && !strcmp(a.cause_id, "future_cause"))
            a.cause_id = "brownout"; /* the store refuses unknown words; the edit below plants them */
        a.detail = a.passed ? NULL : "no reply\tat 0x11000";
        REQUIRE_MSG((db_attempt_end(d, id, &a)) >= 0, "%s", db_errmsg(d));
        if (i % 500 == 7) { /* the same module in a second socket at the same moment */
            a.bay = bay % 16 + 1;
            int64_t dup = db_attempt_begin(d, &a);
            REQUIRE(dup > 0);
            REQUIRE_MSG((db_attempt_end(d, dup, &a)) >= 0, "%s", db_errmsg(d));
        }
    }
    /* a MAC of the known set passes again on this station */
    db_attempt a = {.station_id = st, .profile_id = pv[0], .bay = 3, .adapter = "0403:6001:S03",
                    .start_ts = FIXTURE_T0 + 5000, .end_ts = FIXTURE_T0 + 5020, .mac = "d8:1f:12:00:00:0c",
                    .passed = true};
    int64_t id = db_attempt_begin(d, &a);
    REQUIRE_MSG((db_attempt_end(d, id, &a)) >= 0, "%s", db_errmsg(d));
    REQUIRE(db_mark_interrupted(d, st, T_WEEK + 9 * 86400) > 0);
    REQUIRE(db_station_set_line(d, st, "L4") >= 0);
    REQUIRE_MSG((db_commit(d)) >= 0, "%s", db_errmsg(d));
}

/* Words the store would refuse, as a hand edit or another tool leaves them. */
static void hand_edit(const char *path)
{
    sqlite3 *sq;
    REQUIRE(sqlite3_open(path, &sq) == SQLITE_OK);
    REQUIRE(sqlite3_exec(sq, "UPDATE attempt SET cause = 'future_cause' WHERE id % 97 = 0 AND outcome = 'fail';"
                             "UPDATE attempt SET cause = NULL WHERE id % 89 = 0 AND outcome = 'fail';",
                         0, 0, 0) == SQLITE_OK);
    sqlite3_close(sq);
}

static char *read_url(void)
{
    const char *file = getenv("TRAYFLASH_PG_URL_FILE");
    REQUIRE(file != NULL);
    FILE *f = fopen(file, "r");
    REQUIRE(f != NULL);
    static char url[256];
    REQUIRE(fgets(url, sizeof url, f) != NULL);
    fclose(f);
    url[strcspn(url, "\n")] = 0;
    return url;
}

/* A database of the test's own on the cluster, created afresh (the cluster may have served
 * others): the URL with its database name replaced. */
static const char *own_database(const char *url)
{
    PGconn *c = PQconnectdb(url);
    REQUIRE(PQstatus(c) == CONNECTION_OK);
    PQclear(PQexec(c, "DROP DATABASE IF EXISTS trayflash_report_pg"));
    PGresult *res = PQexec(c, "CREATE DATABASE trayflash_report_pg");
    REQUIRE(PQresultStatus(res) == PGRES_COMMAND_OK);
    PQclear(res);
    PQfinish(c);
    static char own[300];
    const char *slash = strrchr(url, '/');
    REQUIRE(slash != NULL && slash > url + 13);
    snprintf(own, sizeof own, "%.*s/trayflash_report_pg", (int)(slash - url), url);
    return own;
}

static void same_stats_of(const report_stats *a, const report_stats *b)
{
    CHECK_EQ_INT(a->modules, b->modules);
    CHECK_EQ_INT(a->modules_passed, b->modules_passed);
    CHECK_EQ_INT(a->modules_first_pass, b->modules_first_pass);
    CHECK_EQ_INT(a->attempts, b->attempts);
    CHECK_EQ_INT(a->fail, b->fail);
    CHECK(!strcmp(a->top_cause, b->top_cause));
}

static void pg_exec(const char *url, const char *sql)
{
    PGconn *c = PQconnectdb(url);
    REQUIRE(PQstatus(c) == CONNECTION_OK);
    PGresult *res = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        check_report_msg(true, __FILE__, __LINE__, sql, "%s", PQerrorMessage(c));
    PQclear(res);
    PQfinish(c);
}

static long pg_scalar(const char *url, const char *sql)
{
    PGconn *c = PQconnectdb(url);
    REQUIRE(PQstatus(c) == CONNECTION_OK);
    PGresult *res = PQexec(c, sql);
    REQUIRE_MSG(PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1, "%s: %s", sql, PQerrorMessage(c));
    long v = atol(PQgetvalue(res, 0, 0));
    PQclear(res);
    PQfinish(c);
    return v;
}

static void compare(db *d, const char *url, const report_filter *f, int limit, report **keep)
{
    char err[512];
    report *a, *b;
    report_options o = {.failed_limit = limit, .tz = ZONE};
    REQUIRE_MSG(report_build_opts(d, f, &o, &a, err, sizeof err) == 0, "sqlite: %s", err);
    REQUIRE_MSG(report_build_pg(url, f, &o, &b, err, sizeof err) >= 0, "postgresql: %s", err);
    same_report(a, b, "sqlite", "postgresql");
    report_free(b);
    if (keep)
        *keep = a;
    else
        report_free(a);
}

/* The factory report over both stations agrees with each station's own report (line-3's file holds
 * the known set alone; line-4's report is the two-station file's for that station: the same rows),
 * and counts a module seen on both stations once. */
static void factory_equals_stations(const char *url)
{
    char own[512], err[512];
    fixture_path(own, sizeof own, "line-3.db");
    db *d3 = fixture_open(own, false);
    fixture_fill_known(d3);
    report *station3, *factory3, *factory, *f4;
    report_options o = {.tz = ZONE};
    REQUIRE_MSG(report_build_opts(d3, NULL, &o, &station3, err, sizeof err) == 0, "%s", err);
    report_filter only3 = {.bay = -1, .station = "line-3"}, only4 = {.bay = -1, .station = "line-4"};
    REQUIRE_MSG(report_build_pg(url, &only3, &o, &factory3, err, sizeof err) == 0, "%s", err);
    same_report(station3, factory3, "station line-3's file", "factory, --station line-3");
    REQUIRE_MSG(report_build_pg(url, NULL, &o, &factory, err, sizeof err) == 0, "%s", err);
    REQUIRE_MSG(report_build_pg(url, &only4, &o, &f4, err, sizeof err) == 0, "%s", err);
    /* a module on both stations is one module of the factory: the known set's d8:..:0c failed on
     * line-3 and passed on line-4 */
    CHECK(factory->modules_multi_station >= 1 && factory->modules_failed_passed_elsewhere >= 1);
    CHECK_EQ_INT(factory->total.modules,
                 station3->total.modules + f4->total.modules - factory->modules_multi_station);
    CHECK_EQ_INT(factory->total.attempts, station3->total.attempts + f4->total.attempts);
    CHECK_EQ_INT(factory->total.fail, station3->total.fail + f4->total.fail);
    CHECK(factory->n_by_station == 2);
    same_stats_of(&factory->by_station[0].s, &station3->total);
    same_stats_of(&factory->by_station[1].s, &f4->total);
    /* the Pareto of the factory is the sum of the stations' */
    for (int i = 0; i < factory->n_causes; i++) {
        int sum = 0;
        for (int k = 0; k < station3->n_causes; k++)
            sum += !strcmp(station3->causes[k].cause, factory->causes[i].cause) ? station3->causes[k].count : 0;
        for (int k = 0; k < f4->n_causes; k++)
            sum += !strcmp(f4->causes[k].cause, factory->causes[i].cause) ? f4->causes[k].count : 0;
        CHECK_EQ_INT(factory->causes[i].count, sum);
    }
    CHECK(station3->modules_multi_station == 0 && f4->modules_multi_station == 0);
    report_free(station3);
    report_free(factory3);
    report_free(factory);
    report_free(f4);
    db_close(d3);
    fixture_cleanup(own);
}

/* The central store's trigger keeps the summaries as attempts arrive one by one (the forwarder's
 * way): the attempts inserted again with it on give the summaries a full rebuild gives. */
static void summary_trigger_on_pg(const char *url)
{
    pg_exec(url, "CREATE TABLE attempt_again AS SELECT * FROM attempt;"
                 "CREATE TABLE cell_rebuilt AS SELECT * FROM attempt_cell;"
                 "CREATE TABLE hist_rebuilt AS SELECT * FROM pass_hist;"
                 "CREATE TABLE span_rebuilt AS SELECT * FROM module_span;"
                 "CREATE TABLE quarter_rebuilt AS SELECT * FROM attempt_quarter;"
                 "CREATE TABLE multi_rebuilt AS SELECT * FROM multi_attempt;"
                 "TRUNCATE attempt_cell, pass_hist, module_span, attempt_quarter, multi_attempt; DELETE FROM attempt;"
                 "INSERT INTO attempt SELECT * FROM attempt_again ORDER BY id;");
    REQUIRE(pg_scalar(url, "SELECT count(*) FROM attempt_cell") > 100);
    CHECK_EQ_INT(pg_scalar(url, "SELECT count(*) FROM (SELECT qs, station_id, profile_id, bay, bay_name, adapter, "
                                "lot, operator, outcome, cause, n, dup, timed, min_start, max_end, min_end FROM "
                                "attempt_cell EXCEPT SELECT qs, station_id, profile_id, bay, bay_name, adapter, "
                                "lot, operator, outcome, cause, n, dup, timed, min_start, max_end, min_end FROM "
                                "cell_rebuilt) x"), 0);
    CHECK_EQ_INT(pg_scalar(url, "SELECT count(*) FROM cell_rebuilt"), pg_scalar(url, "SELECT count(*) FROM attempt_cell"));
    CHECK_EQ_INT(pg_scalar(url, "SELECT count(*) FROM (SELECT * FROM pass_hist EXCEPT SELECT * FROM hist_rebuilt) x"), 0);
    CHECK_EQ_INT(pg_scalar(url, "SELECT count(*) FROM pass_hist"), pg_scalar(url, "SELECT count(*) FROM hist_rebuilt"));
    CHECK_EQ_INT(pg_scalar(url, "SELECT count(*) FROM (SELECT * FROM module_span EXCEPT SELECT * FROM span_rebuilt) x"), 0);
    CHECK_EQ_INT(pg_scalar(url, "SELECT count(*) FROM module_span"), pg_scalar(url, "SELECT count(*) FROM span_rebuilt"));
    static const char *const pairs[][2] = {{"attempt_quarter", "quarter_rebuilt"}, {"multi_attempt", "multi_rebuilt"}};
    for (int i = 0; i < 2; i++) {
        char sql[256];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM (SELECT * FROM %s EXCEPT SELECT * FROM %s) x", pairs[i][0],
                 pairs[i][1]);
        CHECK_EQ_INT(pg_scalar(url, sql), 0);
        snprintf(sql, sizeof sql, "SELECT (SELECT count(*) FROM %s) - (SELECT count(*) FROM %s)", pairs[i][0],
                 pairs[i][1]);
        CHECK_EQ_INT(pg_scalar(url, sql), 0);
    }
    REQUIRE(pg_scalar(url, "SELECT count(*) FROM multi_attempt") > 50);
    REQUIRE(pg_scalar(url, "SELECT count(*) FROM module_span WHERE n > 1 AND first_ok = 0 AND passes > 0") > 5);
    pg_exec(url, "DROP TABLE attempt_again, cell_rebuilt, hist_rebuilt, span_rebuilt, quarter_rebuilt, multi_rebuilt");
}

int main(void)
{
    setenv("TZ", ZONE, 1);
    tzset();
    char path[512], err[512];
    fixture_path(path, sizeof path, "two-stations.db");
    db *d = fixture_open(path, false);
    fixture_fill_known(d);
    fill_second_station(d);
    db_close(d);
    hand_edit(path);
    const char *url = own_database(read_url());
    REQUIRE_MSG(report_pg_create_schema(url, err, sizeof err) >= 0, "%s", err);
    d = fixture_open(path, true);
    REQUIRE_MSG(report_pg_copy_station(url, d, err, sizeof err) >= 0, "%s", err);

    report *all;
    compare(d, url, NULL, 0, &all);
    /* the data holds what the test is about (else an equal report of nothing would pass) */
    REQUIRE(all->n_by_station == 2);
    REQUIRE(all->by_day && all->n_times >= 6);
    REQUIRE(all->duplicate_macs >= 2 && all->interrupted > 10);
    REQUIRE(all->failed_total == all->n_failed && all->n_failed > 100);
    int macless = 0, moved = 0;
    for (int i = 0; i < all->n_failed; i++) {
        macless += !all->failed[i].mac[0];
        moved += all->failed[i].attempts > 1 && all->failed[i].passed;
    }
    REQUIRE(macless > 20 && moved > 20);
    bool unknown = false;
    for (int i = 0; i < all->n_causes; i++)
        unknown |= !strcmp(all->causes[i].cause, "future_cause");
    REQUIRE(unknown);
    /* the bucket of the day the clocks went forward is 23 h long in this zone */
    bool short_day = false;
    for (int i = 0; i + 1 < all->n_times; i++)
        short_day |= all->times[i + 1].start_ts - all->times[i].start_ts == 23 * 3600;
    REQUIRE(short_day);
    report_free(all);

    report_filter day = {.since = T_WEEK + 2 * 86400, .until = T_WEEK + 3 * 86400, .profile = 0, .bay = -1}; /* hours, across the change */
    compare(d, url, &day, 0, NULL);
    report_filter known = {.since = FIXTURE_T0, .until = FIXTURE_T0 + 86400, .profile = 0, .bay = -1};
    compare(d, url, &known, 0, NULL);
    report_filter bay = {.since = 0, .until = 0, .profile = 0, .bay = 3};
    compare(d, url, &bay, 0, NULL);
    report_filter plug = {.since = 0, .until = 0, .profile = "plug", .bay = -1};
    compare(d, url, &plug, 25, NULL);
    report_filter none = {.since = T_WEEK + 400 * 86400, .until = 0, .profile = 0, .bay = -1};
    compare(d, url, &none, 0, NULL);

    /* the factory's filters and groupings */
    report_filter lot = {.bay = -1, .lot = "WO-8"}, op = {.bay = -1, .operator_id = "op-b"};
    report_filter line = {.bay = -1, .line = "L4"}, st3 = {.bay = -1, .station = "line-3"};
    compare(d, url, &lot, 0, NULL);
    compare(d, url, &op, 0, NULL);
    compare(d, url, &line, 0, NULL);
    compare(d, url, &st3, 0, NULL);

    factory_equals_stations(url);
    summary_trigger_on_pg(url);
    /* and PostgreSQL without the summaries (a central store whose schema has none) reads the
     * attempts alone: the same numbers again */
    pg_exec(url, "DROP TABLE attempt_cell, module_span, pass_hist");
    compare(d, url, NULL, 0, NULL);
    compare(d, url, &day, 0, NULL);
    compare(d, url, &lot, 0, NULL);

    /* a bad zone name is refused by the server, with words */
    report *r;
    report_options bad = {.tz = "Mars/Olympus_Mons"};
    REQUIRE(report_build_pg(url, NULL, &bad, &r, err, sizeof err) < 0 && strstr(err, "time zone") != NULL);
    db_close(d);
    fixture_cleanup(path);
    if (check_failures() == 0)
        printf("db_report_pg: ok\n");
    return CHECK_DONE();
}
