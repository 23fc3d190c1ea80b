/* test_central_station.c - the station's forwarder thread in process (labels pg and threads: the
 * TSan pass runs it too):
 *   away_then_back - a station whose central server is unreachable flashes every bay all the
 *     same, its view says AWAY with the records queued and why, and a headless line says so
 *     once; started again with the server reachable, its forwarder drains the queue (the view's
 *     queued count falls to 0, last success set) and every finished attempt is in PostgreSQL.
 *     While a station runs, `trayflash sync --once` on its database refuses, saying why, and
 *     `sync --status` shows its queue. `trayflash report --central URL` prints the same CSV as
 *     `trayflash report --db FILE` of the one station. Argument: the trayflash binary. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "central.h"
#include "central_fixture.h"
#include "check.h"
#include "station.h"

typedef struct watch {
    station *st;
    station_view *v;
    int bays;
    bool want_away;
} watch;

static bool settled(void *ctx)
{
    watch *w = ctx;
    station_snapshot(w->st, w->v);
    if (w->v->pass + w->v->fail < w->bays || !w->v->upstream_configured)
        return false;
    if (w->want_away)
        return w->v->upstream_away && w->v->upstream_queued >= w->bays;
    return !w->v->upstream_away && w->v->upstream_queued == 0 && w->v->upstream_last_ok_ts > 0;
}

/* While the first station runs: sync --once refuses (the station's forwarder owns the outbox). */
static void sync_refused(const char *db_path, const char *central)
{
    const char *tf = check_arg(0);
    REQUIRE(tf != NULL);
    const char *once[] = {tf, "sync", "--once", "--db", db_path, "--central", central, NULL};
    char *out = NULL;
    CHECK_EQ_INT(check_capture(once, true, 60, &out), 3);
    CHECK_HAS(out, "a running station forwards this database's records itself");
    free(out);
    const char *status[] = {tf, "sync", "--status", "--db", db_path, NULL};
    CHECK_EQ_INT(check_capture(status, true, 60, &out), 0);
    CHECK_HAS(out, "queued ");
    CHECK_HAS(out, "parked 0");
    free(out);
}

static char *run_station(const char *db_path, const char *central, bool want_away, station_view *v)
{
    static station_opts o;
    memset(&o, 0, sizeof o);
    station_config_defaults(&o.cfg);
    snprintf(o.cfg.name, sizeof o.cfg.name, "st-inproc");
    o.cfg.pool_size = 4;
    o.profile_path = TRAYFLASH_SOURCE_DIR "/profiles/demo-small.ini";
    o.db_path = db_path;
    o.sim_count = 4;
    o.sim_time_scale = 0.02;
    o.sim_seed = 3;
    o.central_url = central;
    FILE *out = tmpfile();
    REQUIRE(out != NULL);
    o.headless_out = out;
    char err[512];
    station *st = station_start(&o, err, sizeof err);
    REQUIRE_MSG(st != NULL, "%s", err);
    watch w = {st, v, 4, want_away};
    CHECK_MSG(check_wait_until(settled, &w, 60000),
              "view: pass %d fail %d, central configured %d away %d queued %lld error \"%s\"", v->pass,
              v->fail, v->upstream_configured, v->upstream_away, v->upstream_queued, v->upstream_error);
    if (want_away)
        sync_refused(db_path, central);
    station_request_stop(st);
    CHECK(station_wait(st) == 0);
    station_free(st);
    char *text = check_read_file(out);
    fclose(out);
    return text;
}

static int case_away_then_back(void)
{
    const char *url = cf_own_database(cf_server_url(), "tf_central_station");
    char err[600];
    central_target t = {.conninfo = url, .application_name = "test", .connect_timeout_s = 5};
    REQUIRE_MSG(central_init(&t, NULL, NULL, err, sizeof err) == 0, "%s", err);
    char away[300], db_path[300];
    cf_url_as(cf_server_url(), "postgres", "x", away, sizeof away);
    char *port = strstr(away, "port=");
    REQUIRE(port != NULL);
    memcpy(port, "port=1    ", 10); /* nobody listens on port 1 */
    snprintf(db_path, sizeof db_path, "%s/inproc.db", cf_tmpdir());
    station_view *v = calloc(1, sizeof *v);
    REQUIRE(v != NULL);

    char *lines = run_station(db_path, away, true, v);
    CHECK_EQ_INT(v->pass, 4); /* flashing never waited on the server */
    CHECK(v->upstream_away);
    CHECK_HAS(v->upstream_error, "connecting to the central database");
    CHECK_HAS(lines, "central: away, records stay queued and are retried");
    free(lines);

    lines = run_station(db_path, url, false, v);
    CHECK(!v->upstream_away);
    CHECK_EQ_INT(v->upstream_queued, 0);
    CHECK_EQ_INT(v->upstream_parked, 0);
    free(lines);
    free(v);
    PGconn *c = cf_connect(url);
    CHECK_EQ_INT(cf_int(c, "SELECT count(*) FROM attempt a JOIN station s ON s.id = a.station_id "
                           "WHERE s.name = 'st-inproc' AND a.outcome = 'pass'"), 8);
    PQfinish(c);
    /* the factory report of one station is that station's report */
    const char *tf = check_arg(0);
    const char *local[] = {tf, "report", "--db", db_path, "--format", "csv", "--tz", "UTC0", NULL};
    const char *central[] = {tf, "report", "--central", url, "--format", "csv", "--tz", "UTC0", NULL};
    char *a = NULL, *b = NULL;
    CHECK_EQ_INT(check_capture(local, false, 60, &a), 0);
    CHECK_EQ_INT(check_capture(central, false, 60, &b), 0);
    CHECK_HAS(a, "# totals");
    CHECK_MSG(a && b && !strcmp(a, b), "report --db and --central differ:\n%s\n----\n%s", a ? a : "",
              b ? b : "");
    free(a);
    free(b);
    const char *both[] = {tf, "report", "--central", url, "--db", db_path, NULL};
    CHECK_EQ_INT(check_capture(both, true, 60, &a), 2);
    CHECK_HAS(a, "give one");
    free(a);
    return CHECK_DONE();
}

static const check_case cases[] = {
    {"away_then_back", case_away_then_back},
};

int main(int argc, char **argv)
{
    return check_run(argc, argv, cases, sizeof cases / sizeof cases[0], NULL, cf_teardown);
}
