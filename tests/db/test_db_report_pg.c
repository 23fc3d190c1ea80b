/* test_db_report_pg.c - the report on the same data in SQLite and in PostgreSQL gives the same
 * numbers, every one of them (issue 19). Runs against the throwaway cluster of the pg_cluster
 * fixture, whose URL is in the file named by TRAYFLASH_PG_URL_FILE.
 *
 * The data: the known set of db_fixture.c (station line-3), then a second station (line-4) with a
 * pseudo-random week across the zone's summer-time change: retries of one module across bays,
 * modules without a MAC, interrupted and cancelled attempts, MACs seen on both stations and
 * overlapping on two bays (flagged duplicate), two profile versions, unknown and missing causes.
 * Several filters (all, a period, a bay, a profile, hours instead of days, a paged failed list). */
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
        db_attempt a = {.station_id = st, .profile_id = pv[i > WEEK_ATTEMPTS / 3], .bay = bay,
                        .bay_name = bay_name, .adapter = adapter, .start_ts = t};
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
