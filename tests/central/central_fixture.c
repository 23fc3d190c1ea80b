/* central_fixture.c - see central_fixture.h. */
#include "central_fixture.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "central_forward.h"
#include "check.h"

const char *cf_server_url(void)
{
    const char *file = getenv("TRAYFLASH_PG_URL_FILE");
    REQUIRE_MSG(file != NULL, "TRAYFLASH_PG_URL_FILE not set (the pg_cluster fixture)");
    FILE *f = fopen(file, "r");
    REQUIRE_MSG(f != NULL, "%s: no server (did pg_cluster_start run?)", file);
    static char url[256];
    REQUIRE(fgets(url, sizeof url, f) != NULL);
    fclose(f);
    url[strcspn(url, "\n")] = 0;
    return url;
}

/* host and port out of postgresql://user@host:port/db */
static void host_port(const char *url, char *host, size_t hl, char *port, size_t pl)
{
    const char *at = strchr(url, '@');
    REQUIRE(at != NULL);
    const char *colon = strchr(at, ':'), *slash = strchr(at, '/');
    REQUIRE(colon && slash && colon < slash);
    snprintf(host, hl, "%.*s", (int)(colon - at - 1), at + 1);
    snprintf(port, pl, "%.*s", (int)(slash - colon - 1), colon + 1);
}

void cf_url_as(const char *url, const char *user, const char *dbname, char *out, size_t outlen)
{
    char host[128], port[16];
    host_port(url, host, sizeof host, port, sizeof port);
    snprintf(out, outlen, "host=%s port=%s dbname=%s user=%s", host, port, dbname, user);
}

PGconn *cf_connect(const char *url)
{
    PGconn *c = PQconnectdb(url);
    REQUIRE_MSG(PQstatus(c) == CONNECTION_OK, "%s: %s", url, PQerrorMessage(c));
    return c;
}

const char *cf_own_database(const char *server_url, const char *name)
{
    static char urls[4][300];
    static int slot;
    PGconn *c = cf_connect(server_url);
    char sql[200];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    PQclear(PQexec(c, sql));
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    PGresult *r = PQexec(c, sql);
    REQUIRE_MSG(PQresultStatus(r) == PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    char *u = urls[slot++ % 4];
    cf_url_as(server_url, "postgres", name, u, sizeof urls[0]);
    return u;
}

long long cf_int(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    REQUIRE_MSG(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1, "%s: %s", sql,
                PQresultErrorMessage(r));
    long long v = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

void cf_refusal(PGconn *c, const char *sql, char state[6], char *words, size_t wordslen)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    const char *s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    snprintf(state, 6, "%s", st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? "" : s ? s : "?");
    snprintf(words, wordslen, "%s", PQresultErrorMessage(r));
    PQclear(r);
}

void cf_make_station(const char *path, const cf_station_spec *sp)
{
    db *d;
    char err[512];
    remove(path);
    REQUIRE_MSG(db_open(path, false, &d, err, sizeof err) == 0, "%s", err);
    REQUIRE(db_begin(d) == 0);
    int64_t station = db_station_upsert(d, sp->name, "host-test");
    REQUIRE(station > 0);
    if (sp->line)
        REQUIRE(db_station_set_line(d, station, sp->line) == 0);
    int64_t profile = db_profile_upsert(d, "wb2s-test", NULL, "[profile]\nname = wb2s-test\n");
    int64_t image = db_image_upsert(d, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 1 << 20);
    REQUIRE(profile > 0 && image > 0);
    REQUIRE(db_commit(d) == 0);
    int tray = 0;
    for (int i = 0; i < sp->attempts; i++) {
        if (i % 100 == 0)
            REQUIRE(db_begin(d) == 0);
        if (i % 16 == 0)
            REQUIRE((tray = db_lot_next_tray(d, sp->lot, sp->t0 + i)) > 0);
        int m = sp->mac_base + i;
        char mac[18];
        snprintf(mac, sizeof mac, "d8:1f:12:%02x:%02x:%02x", (m >> 16) & 0xff, (m >> 8) & 0xff, m & 0xff);
        bool fail = sp->fail_every && i % sp->fail_every == sp->fail_every - 1;
        db_attempt a = {.lot = sp->lot, .tray = tray, .operator_id = sp->operator_id,
                        .station_id = station, .profile_id = profile, .image_id = image,
                        .bay = 1 + i % 16, .adapter = "1a86:7523:x", .product = "wb2s-test",
                        .start_ts = sp->t0 + i, .end_ts = sp->t0 + i + 0.5, .chip = "BK7231T",
                        .mac = mac, .passed = !fail, .cause_id = fail ? "brownout" : NULL};
        int64_t id = db_attempt_begin(d, &a);
        REQUIRE_MSG(id > 0, "%s", db_errmsg(d));
        REQUIRE_MSG(db_attempt_end(d, id, &a) == 0, "%s", db_errmsg(d));
        if (i % 100 == 99 || i == sp->attempts - 1)
            REQUIRE(db_commit(d) == 0);
    }
    db_close(d);
}

void cf_drain(const char *db_path, const central_target *t, long long *sent, long long *parked)
{
    db *d;
    char err[800];
    REQUIRE_MSG(db_open(db_path, false, &d, err, sizeof err) == 0, "%s", err);
    central_fwd *f = central_fwd_new(d, t);
    REQUIRE(f != NULL);
    long long s = 0, p = 0;
    for (central_fwd_step r = {0}; !r.empty;) {
        REQUIRE_MSG(central_fwd_run_step(f, 0, &r, err, sizeof err) == 0, "%s", db_errmsg(d));
        REQUIRE_MSG(!r.failed, "%s", err);
        s += r.sent;
        p += r.parked;
    }
    central_fwd_free(f);
    db_close(d);
    if (sent)
        *sent = s;
    if (parked)
        *parked = p;
}

static char scratch[256];

void cf_teardown(int status)
{
    if (status != 0 || !scratch[0])
        return;
    const char *rm[] = {"/bin/rm", "-rf", scratch, NULL};
    char *out = NULL;
    check_capture(rm, true, 60, &out);
    free(out);
}

const char *cf_tmpdir(void)
{
    char *dir = scratch;
    if (!dir[0]) {
        snprintf(dir, sizeof scratch, "%s/trayflash-central.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        REQUIRE(mkdtemp(dir) != NULL);
    }
    return dir;
}
