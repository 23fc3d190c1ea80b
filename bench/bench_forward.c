/* bench_forward - forwarding into the central PostgreSQL (issue 14):
 *   throughput: N attempts seeded into a station file's outbox (directly, as an offline station
 *               would hold them), drained by the forwarder's steps (db/central_forward.c):
 *               attempts per second, and the time split (read the outbox / push / mark sent);
 *   lag:        64 busy bays finishing attempts through the store's API (db.h) while the station's
 *               forwarder thread (station/station_upstream.c) runs; the lag from each attempt's
 *               end to its central row (received_ts - end_ts), p50 / p99 / max.
 * Usage: bench_forward --pg URL [--attempts N] [--bays N] [--seconds S] [--per-bay-s S]
 * URL: a server URL (postgresql://user@host:port/db); the bench makes database tf_bench_forward. */
#include <libpq-fe.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "central.h"
#include "central_forward.h"
#include "db.h"
#include "outbox.h"
#include "station_upstream.h"

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *why)
{
    fprintf(stderr, "bench_forward: %s: %s\n", what, why);
    exit(1);
}

static PGconn *pg(const char *url)
{
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK)
        die(url, PQerrorMessage(c));
    return c;
}

static void pg_exec(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        die(sql, PQresultErrorMessage(r));
    PQclear(r);
}

/* A fresh database on the server, its schema made. */
static void fresh_central(const char *server, char *url, size_t urllen)
{
    PGconn *c = pg(server);
    PQclear(PQexec(c, "DROP DATABASE IF EXISTS tf_bench_forward WITH (FORCE)"));
    pg_exec(c, "CREATE DATABASE tf_bench_forward");
    PQfinish(c);
    const char *slash = strrchr(server, '/');
    snprintf(url, urllen, "%.*s/tf_bench_forward", (int)(slash - server), server);
    central_target t = {.conninfo = url, .application_name = "bench", .connect_timeout_s = 10};
    char err[600];
    if (central_init(&t, NULL, NULL, err, sizeof err) < 0)
        die("central init", err);
}

/* A station file with its station, profile and image (queued), and nothing else. */
static db *fresh_station(const char *path, int64_t *station, int64_t *profile, int64_t *image)
{
    char err[600];
    char wal[512];
    remove(path);
    snprintf(wal, sizeof wal, "%s-wal", path);
    remove(wal);
    db *d;
    if (db_open(path, false, &d, err, sizeof err) < 0)
        die(path, err);
    db_begin(d);
    *station = db_station_upsert(d, "bench", "host");
    *profile = db_profile_upsert(d, "wb2s-bench", NULL, "[profile]\nname = wb2s-bench\n");
    *image = db_image_upsert(d, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", 1 << 20);
    if (db_commit(d) < 0)
        die(path, db_errmsg(d));
    return d;
}

static void throughput(const char *url, int n)
{
    const char *path = "bench_forward.db";
    int64_t st, pr, im;
    db *d = fresh_station(path, &st, &pr, &im);
    sqlite3 *s;
    sqlite3_open(path, &s);
    char sql[2048];
    snprintf(sql, sizeof sql,
             "BEGIN;"
             "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d) "
             "INSERT INTO attempt (uuid, station_id, profile_id, image_id, bay, bay_name, adapter, "
             "start_ts, end_ts, outcome, cause, mac, kind, lot, tray, operator, product, chip) "
             "SELECT lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || "
             "substr(lower(hex(randomblob(2))), 2) || '-a' || substr(lower(hex(randomblob(2))), 2) "
             "|| '-' || lower(hex(randomblob(6))), %lld, %lld, %lld, 1 + i %% 64, printf('%%02d', 1 + i %% 64), "
             "'1a86:7523:x', 1.7e9 + i, 1.7e9 + i + 19.7, CASE WHEN i %% 9 = 0 THEN 'fail' ELSE 'pass' END, "
             "CASE WHEN i %% 9 = 0 THEN 'brownout' ELSE 'pass' END, "
             "printf('d8:1f:12:%%02x:%%02x:%%02x', (i >> 16) & 255, (i >> 8) & 255, i & 255), 'flash', "
             "'LOT-1', 1 + i / 64, 'op-1', 'wb2s', 'BK7231T' FROM n;"
             "INSERT INTO outbox (kind, ref_id, created_ts) SELECT 'attempt', id, end_ts FROM attempt ORDER BY id;"
             "COMMIT;", n, (long long)st, (long long)pr, (long long)im);
    char *e = NULL;
    if (sqlite3_exec(s, sql, NULL, NULL, &e) != SQLITE_OK)
        die("seeding", e);
    sqlite3_close(s);
    central_target t = {.conninfo = url, .application_name = "bench", .connect_timeout_s = 10};
    central_fwd *f = central_fwd_new(d, &t);
    char err[600];
    double t0 = mono();
    long long sent = 0;
    int batches = 0;
    for (central_fwd_step r = {0}; !r.empty; batches++) {
        if (central_fwd_run_step(f, CENTRAL_FWD_BATCH, &r, err, sizeof err) < 0 || r.failed)
            die("forwarding", r.failed ? err : db_errmsg(d));
        sent += r.sent;
    }
    double dt = mono() - t0, tr, tp, tm;
    central_fwd_times(f, &tr, &tp, &tm);
    central_fwd_free(f);
    db_close(d);
    printf("throughput: %lld records (%d attempts) in %.2f s = %.0f attempts/s (%d batches of %d); "
           "reading the outbox %.2f s, the server %.2f s, marking sent %.2f s\n",
           sent, n, dt, n / dt, batches - 1, CENTRAL_FWD_BATCH, tr, tp, tm);
}

typedef struct lag_run {
    const char *path;
    int64_t station, profile, image;
    int bays;
    double seconds, per_bay_s;
    atomic_int stop;
    long long attempts;
} lag_run;

/* The station's writer: every bay ends an attempt each per_bay_s (spread over the bays), written
 * as the station writes one (begin + end, its outbox row in the same transaction). */
static void *bays_main(void *arg)
{
    lag_run *L = arg;
    int64_t st = L->station, pr = L->profile, im = L->image;
    db *d;
    char err[600];
    if (db_open(L->path, false, &d, err, sizeof err) < 0)
        die(L->path, err);
    double step = L->per_bay_s / L->bays, next = mono(), end = mono() + L->seconds;
    for (long long i = 0; mono() < end; i++) {
        double now = mono();
        if (now < next)
            usleep((useconds_t)((next - now) * 1e6));
        next += step;
        char mac[18];
        snprintf(mac, sizeof mac, "d8:1f:14:%02x:%02x:%02x", (int)(i >> 16) & 255, (int)(i >> 8) & 255, (int)i & 255);
        double w = wall();
        db_attempt a = {.station_id = st, .profile_id = pr, .image_id = im, .bay = 1 + (int)(i % L->bays),
                        .start_ts = w - L->per_bay_s, .end_ts = w, .mac = mac, .passed = true,
                        .product = "wb2s", .lot = "LOT-LAG", .tray = 1, .operator_id = "op"};
        db_begin(d);
        int64_t id = db_attempt_begin(d, &a);
        if (id < 0 || db_attempt_end(d, id, &a) < 0 || db_commit(d) < 0)
            die("writing", db_errmsg(d));
        L->attempts++;
    }
    db_close(d);
    return NULL;
}

static void lag(const char *url, int bays, double seconds, double per_bay_s)
{
    lag_run L = {.path = "bench_lag.db", .bays = bays, .seconds = seconds, .per_bay_s = per_bay_s};
    /* the file exists before the forwarder opens it */
    db_close(fresh_station(L.path, &L.station, &L.profile, &L.image));
    central_target t = {.conninfo = url, .application_name = "bench", .connect_timeout_s = 10};
    char err[600];
    upstream *u = upstream_start(L.path, &t, NULL, NULL, NULL, err, sizeof err);
    if (!u)
        die("forwarder", err);
    pthread_t th;
    pthread_create(&th, NULL, bays_main, &L);
    pthread_join(th, NULL);
    upstream_finish(u, 10000); /* the last ones, as a station's clean stop sends them */
    upstream_free(u);
    PGconn *pc = pg(url);
    PGresult *r = PQexec(pc, "SELECT count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY received_ts - end_ts), "
                             "percentile_cont(0.99) WITHIN GROUP (ORDER BY received_ts - end_ts), "
                             "max(received_ts - end_ts) FROM attempt WHERE lot = 'LOT-LAG'");
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        die("lag query", PQresultErrorMessage(r));
    printf("lag: %d busy bays, an attempt per bay every %.1f s (%.0f attempts/s) for %.0f s: %s of %lld "
           "attempts arrived; end -> central row p50 %.3f s, p99 %.3f s, max %.3f s\n",
           bays, per_bay_s, bays / per_bay_s, seconds, PQgetvalue(r, 0, 0), L.attempts,
           atof(PQgetvalue(r, 0, 1)), atof(PQgetvalue(r, 0, 2)), atof(PQgetvalue(r, 0, 3)));
    PQclear(r);
    PQfinish(pc);
}

int main(int argc, char **argv)
{
    const char *server = NULL;
    int n = 50000, bays = 64;
    double seconds = 30, per_bay = 1.0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--pg"))
            server = argv[i + 1];
        else if (!strcmp(argv[i], "--attempts"))
            n = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--bays"))
            bays = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--seconds"))
            seconds = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--per-bay-s"))
            per_bay = atof(argv[i + 1]);
        else
            die(argv[i], "unknown option");
    }
    if (!server)
        die("usage", "bench_forward --pg URL [--attempts N] [--bays N] [--seconds S] [--per-bay-s S]");
    char url[512];
    fresh_central(server, url, sizeof url);
    if (n > 0)
        throughput(url, n);
    if (seconds > 0)
        lag(url, bays, seconds, per_bay);
    return 0;
}
