/* bench_report.c - the yield report at scale (issue 19): builds station databases of N attempts
 * shaped like a busy station (64 bays, 10,000 attempts an hour, 2 % failures re-seated into a later
 * tray on another bay, 1 in 200 without a MAC, a profile change halfway) and times, each in a fresh
 * process so its peak memory (getrusage ru_maxrss) is its own:
 *   full   - report_build over everything, as `trayflash report --format json` does
 *   shift  - the last 8 hours
 *   today  - report_yield_since(start of the last day): the dashboard's question
 * Usage: bench_report [--keep DIR] N...     (e.g. 10000 100000 1000000)
 *        bench_report --pg URL N...          (the same on PostgreSQL: copies each file there first)
 * The database files go to $TMPDIR (or /tmp) and are removed unless --keep. */
#include "db.h"
#include "report.h"
#include "report_pg.h"
#include "report_summary.h"
#include <libpq-fe.h>
#include <sqlite3.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { BAYS = 64, PER_HOUR = 10000 };
static const double T_START = 1714550400; /* 2024-05-01 08:00 UTC */

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static uint32_t rnd(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(*s >> 33);
}

/* The summary triggers of the file, saved and dropped for a bulk load and made again after it. */
typedef struct triggers {
    char *sql[16];
    int n;
} triggers;

static int triggers_off(sqlite3 *sq, triggers *t)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(sq, "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'attempt'",
                           -1, &st, 0) != SQLITE_OK)
        return -1;
    char names[16][64];
    while (t->n < 16 && sqlite3_step(st) == SQLITE_ROW) {
        snprintf(names[t->n], sizeof names[0], "%s", (const char *)sqlite3_column_text(st, 0));
        t->sql[t->n++] = strdup((const char *)sqlite3_column_text(st, 1));
    }
    sqlite3_finalize(st);
    for (int i = 0; i < t->n; i++) {
        char drop[128];
        snprintf(drop, sizeof drop, "DROP TRIGGER \"%s\"", names[i]); /* the schema's own names */
        if (sqlite3_exec(sq, drop, 0, 0, 0) != SQLITE_OK)
            return -1;
    }
    return 0;
}

static int triggers_on(sqlite3 *sq, triggers *t)
{
    int rc = 0;
    for (int i = 0; i < t->n; i++) {
        if (rc == 0 && sqlite3_exec(sq, t->sql[i], 0, 0, 0) != SQLITE_OK)
            rc = -1;
        free(t->sql[i]);
    }
    return rc;
}

/* Rows as the station writes them, inserted directly (one prepared statement, one transaction): the
 * store's per-attempt API would time the writer, not the report. A bulk load: the summary triggers
 * are dropped for the insert, the summaries filled from the rows in one statement each (what
 * migrations 7 and 9 do for an old file), and the triggers made again, in the same transaction. UUIDs
 * are sequential (a random key's index costs the writer, not the report). */
static int build_db(const char *path, long n)
{
    char err[512];
    db *d;
    if (db_open(path, false, &d, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    db_begin(d);
    int64_t st = db_station_upsert(d, "line-1", "bench");
    int64_t pv[2] = {db_profile_upsert(d, "plug", NULL, "[product]\nname=plug\n"),
                     db_profile_upsert(d, "plug", NULL, "[product]\nname=plug\nbaud=921600\n")};
    db_commit(d);
    db_close(d);
    sqlite3 *sq;
    sqlite3_stmt *ins;
    triggers trig = {0};
    /* a cache that holds the indexes being filled */
    if (sqlite3_open(path, &sq) != SQLITE_OK ||
        sqlite3_exec(sq, "PRAGMA synchronous = OFF; PRAGMA cache_size = -262144; BEGIN", 0, 0, 0) != SQLITE_OK ||
        triggers_off(sq, &trig) < 0 ||
        sqlite3_prepare_v2(sq, "INSERT INTO attempt (station_id, profile_id, bay, bay_name, adapter, start_ts, "
                               "end_ts, outcome, cause, detail, mac, uuid, lot, operator) VALUES (?1, ?2, ?3, ?4, "
                               "?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)", -1, &ins, 0) != SQLITE_OK) {
        fprintf(stderr, "bench: %s\n", sqlite3_errmsg(sq));
        return -1;
    }
    uint64_t seed = 42;
    long retry_mac = -1; /* the module of the last failure, re-seated in a later attempt */
    static const char *const causes[] = {"brownout", "no_download_mode", "verify_failed", "module_lost"};
    static const char *const operators[] = {"op-anna", "op-ben", "op-chen"};
    for (long i = 0; i < n; i++) {
        int bay = (int)(i % BAYS) + 1;
        double start = T_START + (double)i * 3600.0 / PER_HOUR;
        double dur = 18 + rnd(&seed) % 600 / 100.0;
        long unit = i;
        if (retry_mac >= 0 && rnd(&seed) % 4 == 0) {
            unit = retry_mac;
            retry_mac = -1;
        }
        bool fail = rnd(&seed) % 100 < 2;
        bool macless = fail && rnd(&seed) % 4 == 0;
        char mac[24], name[16], adapter[32], uuid[64], lot[24];
        snprintf(mac, sizeof mac, "d8:1f:%02lx:%02lx:%02lx:%02lx", (unit >> 24) & 255, (unit >> 16) & 255,
                 (unit >> 8) & 255, unit & 255);
        snprintf(name, sizeof name, "bay %d", bay);
        snprintf(adapter, sizeof adapter, "0403:6001:A%02d", bay);
        snprintf(uuid, sizeof uuid, "00000000-0000-4000-8000-%012lx", (unsigned long)i);
        snprintf(lot, sizeof lot, "WO-%ld", 1000 + i / 20000); /* a work order of 20,000 modules */
        sqlite3_bind_int64(ins, 1, st);
        sqlite3_bind_int64(ins, 2, pv[i >= n / 2]);
        sqlite3_bind_int(ins, 3, bay);
        sqlite3_bind_text(ins, 4, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 5, adapter, -1, SQLITE_TRANSIENT);
        sqlite3_bind_double(ins, 6, start);
        sqlite3_bind_double(ins, 7, start + dur);
        sqlite3_bind_text(ins, 8, fail ? "fail" : "pass", -1, SQLITE_STATIC);
        if (fail) {
            sqlite3_bind_text(ins, 9, causes[rnd(&seed) % 4], -1, SQLITE_STATIC);
            sqlite3_bind_text(ins, 10, "write 0x11000: no reply", -1, SQLITE_STATIC);
            if (!macless)
                retry_mac = unit;
        } else {
            sqlite3_bind_null(ins, 9);
            sqlite3_bind_null(ins, 10);
        }
        if (macless)
            sqlite3_bind_null(ins, 11);
        else
            sqlite3_bind_text(ins, 11, mac, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 12, uuid, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 13, lot, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 14, operators[(long)((start - T_START) / (8 * 3600)) % 3], -1, SQLITE_STATIC);
        if (sqlite3_step(ins) != SQLITE_DONE) {
            fprintf(stderr, "bench: %s\n", sqlite3_errmsg(sq));
            return -1;
        }
        sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
    if (sqlite3_exec(sq, "INSERT INTO attempt_cell " CELL_REBUILD_SELECT "; INSERT INTO module_span "
                         SPAN9_REBUILD_SELECT "; INSERT INTO pass_hist " HIST_REBUILD_SELECT "; "
                         "INSERT INTO attempt_quarter " QUARTER_REBUILD_SELECT ";", 0, 0, 0) != SQLITE_OK || triggers_on(sq, &trig) < 0 ||
        sqlite3_exec(sq, "COMMIT", 0, 0, 0) != SQLITE_OK) {
        fprintf(stderr, "bench: %s\n", sqlite3_errmsg(sq));
        return -1;
    }
    sqlite3_close(sq);
    return 0;
}

/* A factory's central store made in PostgreSQL by one INSERT ... SELECT over generate_series (the
 * summary trigger off, the summaries filled after: a bulk load): N attempts from FACTORY_STATIONS
 * stations of 64 bays at 10,000 attempts an hour each, 2 % failures (one in eight without a MAC), a
 * failed module re-seated on the next station (i + 21: another station) or on the same station in
 * another bay (i + 40), lots of 20,000 attempts a station, three operators a day. */
enum { FACTORY_STATIONS = 20 };
static int build_factory(const char *url, long n)
{
    char err[512];
    if (report_pg_create_schema(url, err, sizeof err) < 0) {
        fprintf(stderr, "bench: %s\n", err);
        return -1;
    }
    PGconn *c = PQconnectdb(url);
    char count[32];
    snprintf(count, sizeof count, "%ld", n - 1);
    const char *v[1] = {count};
    static const char *const steps[] = {
        "BEGIN",
        "TRUNCATE attempt, station, profile, attempt_cell, module_span, pass_hist, attempt_quarter, multi_attempt CASCADE",
        "ALTER TABLE attempt DISABLE TRIGGER attempt_summary",
        "INSERT INTO station (id, name, host, line) SELECT s, 'station-' || lpad(s::text, 2, '0'), 'bench', "
        "'L' || (1 + s % 2) FROM generate_series(1, 20) s",
        "INSERT INTO profile (id, name, sha256) VALUES (1, 'plug', repeat('a', 64)), (2, 'plug', repeat('b', 64))",
        NULL, /* the attempts: with the count bound */
        "ALTER TABLE attempt ENABLE TRIGGER attempt_summary",
        "COMMIT",
    };
    static const char attempts_sql[] =
        "INSERT INTO attempt (id, station_id, profile_id, bay, bay_name, adapter, start_ts, end_ts, outcome, "
        "cause, detail, mac, kind, lot, operator) "
        "SELECT i + 1, i % 20 + 1, CASE WHEN i < $1::bigint / 2 THEN 1 ELSE 2 END, (i / 20) % 64 + 1, "
        "'bay ' || ((i / 20) % 64 + 1), '0403:6001:S' || (i % 20) || 'A' || ((i / 20) % 64 + 1), t, "
        "t + 18 + (i * 37 % 600) / 100.0, CASE WHEN i % 100 < 2 THEN 'fail' ELSE 'pass' END, "
        "CASE WHEN i % 100 < 2 THEN (ARRAY['brownout', 'no_download_mode', 'verify_failed', 'module_lost'])"
        "[1 + (i / 100) % 4] END, CASE WHEN i % 100 < 2 THEN 'write 0x11000: no reply' END, "
        "CASE WHEN i % 400 = 0 THEN NULL ELSE 'd8:1f:' || lpad(to_hex(CASE WHEN i % 100 = 21 AND (i - 21) % 400 <> 0 "
        "THEN i - 21 WHEN i % 100 = 41 THEN i - 40 ELSE i END), 8, '0') END, 'flash', "
        "'WO-' || (i % 20) || '-' || (i / 20 / 20000), 'op-' || (floor((t - 1714550400) / 28800)::bigint % 3) "
        "FROM (SELECT i, 1714550400 + (i / 20) * 0.36 AS t FROM generate_series(0, $1::bigint) i) g";
    bool ok = PQstatus(c) == CONNECTION_OK;
    for (size_t k = 0; ok && k < sizeof steps / sizeof steps[0]; k++) {
        PGresult *res = steps[k] ? PQexec(c, steps[k]) : PQexecParams(c, attempts_sql, 1, NULL, v, NULL, NULL, 0);
        ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        PQclear(res);
    }
    if (ok) {
        PGresult *res = PQexec(c, report_summary_pg_rebuild_sql);
        ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        PQclear(res);
        res = PQexec(c, "VACUUM ANALYZE attempt");
        ok = ok && PQresultStatus(res) == PGRES_COMMAND_OK;
        PQclear(res);
    }
    if (!ok)
        fprintf(stderr, "bench: %s", PQerrorMessage(c));
    PQfinish(c);
    return ok ? 0 : -1;
}

/* The dashboard asks from the local midnight, a whole quarter-hour in every zone in use: the
 * benchmark asks the last 24 hours from such a moment, a day's worth of attempts. */
static double today_start(double end)
{
    return ceil((end - 86400) / 900) * 900;
}

/* One measurement in this (fresh) process: prints seconds and peak MB. */
static int measure(const char *what, const char *path, const char *pg, long n, int stations)
{
    double end = T_START + (double)n / stations * 3600.0 / PER_HOUR + 30;
    report_filter f = {.bay = -1};
    if (!strcmp(what, "shift"))
        f.since = end - 8 * 3600;
    if (!strcmp(what, "station"))
        f.station = "station-07"; /* one station of the factory */
    char err[512];
    double t0 = now_s();
    int modules = 0;
    if (!strcmp(what, "today-warm") && !pg) {
        /* the dashboard's case: a handle kept open, the question asked again (the mean of ten) */
        db *d;
        int pass = 0, fail = 0;
        double fpy;
        if (db_open(path, true, &d, err, sizeof err) < 0 || report_yield_since(d, today_start(end), &pass, &fail, &fpy) < 0)
            return 1;
        t0 = now_s();
        for (int k = 0; k < 10; k++)
            if (report_yield_since(d, today_start(end), &pass, &fail, &fpy) < 0)
                return 1;
        modules = pass + fail;
        db_close(d);
        printf("| sqlite | %ld | %d | today, warm (mean of 10) | %.4f | | | %d |\n", n, stations, (now_s() - t0) / 10,
               modules);
        return 0;
    }
    if (!strcmp(what, "today") && !pg) {
        db *d;
        int pass, fail;
        double fpy;
        if (db_open(path, true, &d, err, sizeof err) < 0 || report_yield_since(d, today_start(end), &pass, &fail, &fpy) < 0)
            return 1;
        modules = pass + fail;
        db_close(d);
    } else {
        if (!strcmp(what, "today"))
            f.since = today_start(end);
        report *r;
        db *d = NULL;
        if (pg ? report_build_pg(pg, &f, NULL, &r, err, sizeof err) < 0
               : db_open(path, true, &d, err, sizeof err) < 0 || report_build(d, &f, &r, err, sizeof err) < 0) {
            fprintf(stderr, "bench: %s\n", err);
            return 1;
        }
        FILE *null = fopen("/dev/null", "w");
        report_write_json(r, null); /* the whole command's work: build and print */
        fclose(null);
        modules = r->total.modules;
        report_free(r);
        if (d)
            db_close(d);
    }
    double dt = now_s() - t0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
                 ru.ru_stime.tv_usec / 1e6;
    printf("| %s | %ld | %d | %s | %.3f | %.3f | %.1f | %d |\n", pg ? "postgresql" : "sqlite", n, stations, what,
           dt, cpu, ru.ru_maxrss / 1024.0, modules);
    fflush(stdout);
    return 0;
}

static int run_child(const char *self, const char *what, const char *path, const char *pg, long n, int stations)
{
    char num[32], st[16];
    snprintf(num, sizeof num, "%ld", n);
    snprintf(st, sizeof st, "%d", stations);
    pid_t pid = fork();
    if (pid == 0) {
        execl(self, self, "--measure", what, path, pg ? pg : "", num, st, (char *)NULL);
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc == 7 && !strcmp(argv[1], "--measure"))
        return measure(argv[2], argv[3], argv[4][0] ? argv[4] : NULL, atol(argv[5]), atoi(argv[6]));
    if (argc > 1 && !strcmp(argv[1], "--measure"))
        return 2; /* never the driver loop again: a wrong argument count must not fork on */
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: bench_report [--keep DIR] [--pg URL] N...\n"
               "       bench_report --factory URL N...   (N attempts of 20 stations made in PostgreSQL)\n");
        return 0;
    }
    setenv("TZ", "UTC", 1);
    const char *keep = NULL, *pg = NULL, *factory = NULL;
    int i = 1;
    for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
        if (!strcmp(argv[i], "--keep"))
            keep = argv[i + 1];
        else if (!strcmp(argv[i], "--pg"))
            pg = argv[i + 1];
        else if (!strcmp(argv[i], "--factory"))
            factory = argv[i + 1];
    }
    char self[512];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len < 0)
        return 1;
    self[len] = 0;
    printf("| backend | attempts | stations | report | seconds | CPU s | peak MB | modules |\n"
           "|---|---|---|---|---|---|---|---|\n");
    fflush(stdout); /* before the children write theirs */
    for (; i < argc; i++) {
        long n = atol(argv[i]);
        if (n <= 0) {
            fprintf(stderr, "bench_report: %s is not a number of attempts\n", argv[i]);
            return 2;
        }
        if (factory) {
            double t0 = now_s();
            if (build_factory(factory, n) < 0)
                return 1;
            fprintf(stderr, "made %ld attempts of %d stations in PostgreSQL in %.1f s\n", n, FACTORY_STATIONS,
                    now_s() - t0);
            const char *what[] = {"full", "shift", "today", "station"};
            for (int w = 0; w < 4; w++)
                if (run_child(self, what[w], "", factory, n, FACTORY_STATIONS) < 0)
                    return 1;
            continue;
        }
        char path[512];
        const char *tmp = getenv("TMPDIR");
        snprintf(path, sizeof path, "%s/bench-report-%ld.db", keep ? keep : tmp && *tmp ? tmp : "/tmp", n);
        if (access(path, F_OK) != 0) {
            double t0 = now_s();
            /* in a child of its own: the cache it fills must not count in the reports' peak memory
             * (a forked child inherits its parent's high-water mark) */
            pid_t pid = fork();
            if (pid == 0)
                _exit(build_db(path, n) < 0 ? 1 : 0);
            int status;
            if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return 1;
            fprintf(stderr, "built %ld attempts in %.1f s\n", n, now_s() - t0);
        } else {
            /* a file kept from an older schema: opened read-write once, as the station would, which
             * migrates it (and times what a station in the field pays once) */
            char err[512];
            db *d;
            double t0 = now_s();
            if (db_open(path, false, &d, err, sizeof err) < 0) {
                fprintf(stderr, "bench: %s\n", err);
                return 1;
            }
            db_close(d);
            fprintf(stderr, "opened %s read-write in %.1f s\n", path, now_s() - t0);
        }
        if (pg) {
            char err[512];
            db *d;
            if (report_pg_create_schema(pg, err, sizeof err) < 0 || db_open(path, true, &d, err, sizeof err) < 0 ||
                report_pg_copy_station(pg, d, err, sizeof err) < 0) {
                fprintf(stderr, "bench: %s\n", err);
                return 1;
            }
            db_close(d);
        }
        const char *what[] = {"full", "shift", "today", "today-warm"};
        for (int w = 0; w < (pg ? 3 : 4); w++)
            if (run_child(self, what[w], path, pg, n, 1) < 0)
                return 1;
        if (!keep) {
            char p[600];
            unlink(path);
            snprintf(p, sizeof p, "%s-wal", path);
            unlink(p);
            snprintf(p, sizeof p, "%s-shm", path);
            unlink(p);
        }
    }
    return 0;
}
