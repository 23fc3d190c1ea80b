/* test_central.c - the central store on a real PostgreSQL (label pg; the pg_cluster fixture):
 *   schema        - central init makes every migration once, again is nothing, newer refused
 *   four_stations - 10,000 attempts from 4 station files arrive exactly once with their lot,
 *                   tray, operator, station and line; sent again, nothing doubles; the report
 *                   code, unchanged, gives the four stations' own figures on the central copy
 *   offline_50k   - 50,000 attempts seeded into an outbox stay queued while the server is away
 *                   (a try counted, nothing lost) and drain when it is reachable
 *   parked        - a row breaking a central constraint (a MAC that is no MAC) and one the
 *                   server cannot read (a uuid that is no UUID) are parked with the server's
 *                   words; every row around them arrives
 *   roles         - a station role cannot UPDATE or DELETE, read attempts, or INSERT a row of
 *                   another station (each refusal asserted); a forwarder given another station's
 *                   file is refused and keeps its rows queued; the guard function answers it
 *                   with the other station's pass; a reader reads and cannot write
 *   server_hangs  - a server that takes a batch and then waits on a lock: the statement timeout
 *                   ends the batch, nothing is parked or marked, and it goes once the lock is gone
 *   guard_timeout - a server that accepts and never answers: the guard gives up within its
 *                   deadline with words (the station then asks its own records) */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "central.h"
#include "central_fixture.h"
#include "central_forward.h"
#include "check.h"
#include "outbox.h"
#include "report.h"
#include "report_pg.h"

static central_target target(const char *url)
{
    return (central_target){.conninfo = url, .application_name = "trayflash test", .connect_timeout_s = 5};
}

static void init_schema(const char *url)
{
    char err[600];
    central_target t = target(url);
    REQUIRE_MSG(central_init(&t, NULL, NULL, err, sizeof err) == 0, "%s", err);
}

static void sqlite_exec(const char *path, const char *sql)
{
    sqlite3 *s;
    REQUIRE(sqlite3_open(path, &s) == SQLITE_OK);
    sqlite3_busy_timeout(s, 5000);
    char *e = NULL;
    REQUIRE_MSG(sqlite3_exec(s, sql, NULL, NULL, &e) == SQLITE_OK, "%s: %s", sql, e ? e : "");
    sqlite3_close(s);
}

static void sqlite_text(const char *path, const char *sql, char *out, size_t outlen)
{
    sqlite3 *s;
    sqlite3_stmt *st;
    REQUIRE(sqlite3_open(path, &s) == SQLITE_OK);
    REQUIRE(sqlite3_prepare_v2(s, sql, -1, &st, NULL) == SQLITE_OK);
    REQUIRE(sqlite3_step(st) == SQLITE_ROW);
    snprintf(out, outlen, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(s);
}

static int case_schema(void)
{
    const char *url = cf_own_database(cf_server_url(), "tf_central_schema");
    central_target t = target(url);
    char err[600];
    int from = -1, to = -1;
    CHECK_EQ_INT(central_schema_version(&t, err, sizeof err), 0);
    REQUIRE_MSG(central_init(&t, &from, &to, err, sizeof err) == 0, "%s", err);
    CHECK_EQ_INT(from, 0);
    CHECK_EQ_INT(to, central_schema_latest());
    REQUIRE_MSG(central_init(&t, &from, &to, err, sizeof err) == 0, "%s", err);
    CHECK_EQ_INT(from, central_schema_latest());
    CHECK_EQ_INT(to, central_schema_latest());
    CHECK(central_migration_sql(0) == NULL);
    CHECK(central_migration_sql(central_schema_latest() + 1) == NULL);
    PGconn *c = cf_connect(url);
    CHECK_EQ_INT(cf_int(c, "SELECT count(*) FROM central_schema_version"), central_schema_latest());
    /* the tables the report reads, with its columns */
    CHECK_EQ_INT(cf_int(c, "SELECT count(*) FROM information_schema.columns WHERE table_name = "
                           "'attempt' AND column_name IN ('id', 'station_id', 'profile_id', 'bay', "
                           "'bay_name', 'adapter', 'start_ts', 'end_ts', 'outcome', 'cause', "
                           "'detail', 'mac', 'duplicate_mac', 'kind', 'lot', 'tray', 'operator')"),
                 17);
    char sql[128];
    snprintf(sql, sizeof sql, "INSERT INTO central_schema_version (version) VALUES (%d)",
             central_schema_latest() + 1);
    PQclear(PQexec(c, sql));
    PQfinish(c);
    CHECK(central_init(&t, NULL, NULL, err, sizeof err) < 0);
    CHECK_HAS(err, "newer than this trayflash knows");
    return CHECK_DONE();
}

enum { STATIONS = 4, PER_STATION = 2500 };

static int case_four_stations(void)
{
    const char *url = cf_own_database(cf_server_url(), "tf_central_four");
    init_schema(url);
    central_target t = target(url);
    char path[STATIONS][300];
    for (int s = 0; s < STATIONS; s++) {
        char name[16], lot[16], op[16];
        snprintf(name, sizeof name, "st-%d", s + 1);
        snprintf(lot, sizeof lot, "LOT-%d", s + 1);
        snprintf(op, sizeof op, "op-%d", s + 1);
        snprintf(path[s], sizeof path[s], "%s/station-%d.db", cf_tmpdir(), s + 1);
        cf_station_spec spec = {name, s < 2 ? "L1" : "L2", lot, op, PER_STATION, s * 100000, 10,
                                1.8e9 + s * 10};
        cf_make_station(path[s], &spec);
        long long sent = 0, parked = 0;
        cf_drain(path[s], &t, &sent, &parked);
        CHECK_EQ_INT(parked, 0);
        CHECK(sent >= PER_STATION); /* and the station, profile, image rows */
    }
    PGconn *c = cf_connect(url);
    CHECK_EQ_INT(cf_int(c, "SELECT count(*) FROM attempt"), STATIONS * PER_STATION);
    CHECK_EQ_INT(cf_int(c, "SELECT count(DISTINCT uuid) FROM attempt"), STATIONS * PER_STATION);
    CHECK_EQ_INT(cf_int(c, "SELECT count(*) FROM station"), STATIONS);
    CHECK_EQ_INT(cf_int(c, "SELECT count(*) FROM profile"), 1); /* one version, four stations */
    for (int s = 0; s < STATIONS; s++) {
        char sql[400];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM attempt a JOIN station s ON s.id = a.station_id "
                 "WHERE s.name = 'st-%d' AND s.line = '%s' AND a.lot = 'LOT-%d' AND a.operator = 'op-%d' "
                 "AND a.tray BETWEEN 1 AND %d AND a.profile_id IS NOT NULL", s + 1, s < 2 ? "L1" : "L2",
                 s + 1, s + 1, (PER_STATION + 15) / 16);
        CHECK_EQ_INT(cf_int(c, sql), PER_STATION);
        snprintf(sql, sizeof sql, "SELECT max(tray) FROM attempt WHERE lot = 'LOT-%d'", s + 1);
        CHECK_EQ_INT(cf_int(c, sql), (PER_STATION + 15) / 16);
    }
    /* original times: the station's start and end, not the server's */
    CHECK_EQ_INT(cf_int(c, "SELECT count(*) FROM attempt WHERE end_ts - start_ts <> 0.5 OR start_ts < 1.8e9"), 0);
    /* a crash after COMMIT, before the rows were marked: everything is sent again */
    sqlite_exec(path[0], "UPDATE outbox SET sent_ts = NULL");
    long long again = 0;
    cf_drain(path[0], &t, &again, NULL);
    CHECK(again >= PER_STATION);
    CHECK_EQ_INT(cf_int(c, "SELECT count(*) FROM attempt"), STATIONS * PER_STATION);
    PQfinish(c);

    /* the report code on the central copy: the four stations' own figures, added up */
    report_filter all = {0, 0, NULL, -1};
    report *central = NULL;
    char err[600];
    REQUIRE_MSG(report_build_pg(url, &all, NULL, &central, err, sizeof err) == 0, "%s", err);
    int attempts = 0, pass = 0, modules = 0, passed = 0;
    for (int s = 0; s < STATIONS; s++) {
        db *d;
        report *r = NULL;
        REQUIRE(db_open(path[s], true, &d, err, sizeof err) == 0);
        REQUIRE_MSG(report_build(d, &all, &r, err, sizeof err) == 0, "%s", err);
        attempts += r->total.attempts;
        pass += r->total.pass;
        modules += r->total.modules;
        passed += r->total.modules_passed;
        bool found = false;
        for (int i = 0; i < central->n_by_station; i++)
            if (!strcmp(central->by_station[i].name, r->by_station[0].name)) {
                found = true;
                CHECK_EQ_INT(central->by_station[i].s.attempts, r->total.attempts);
                CHECK_EQ_INT(central->by_station[i].s.pass, r->total.pass);
                CHECK_NEAR(central->by_station[i].s.first_pass_yield, r->total.first_pass_yield, 1e-12);
            }
        CHECK_MSG(found, "station %s missing from the central report", r->by_station[0].name);
        report_free(r);
        db_close(d);
    }
    CHECK_EQ_INT(central->total.attempts, attempts);
    CHECK_EQ_INT(central->total.pass, pass);
    CHECK_EQ_INT(central->total.modules, modules);
    CHECK_EQ_INT(central->total.modules_passed, passed);
    CHECK_EQ_INT(attempts, STATIONS * PER_STATION);
    CHECK_EQ_INT(pass, STATIONS * PER_STATION * 9 / 10);
    report_free(central);
    return CHECK_DONE();
}

#define UUID_SQL                                                                                  \
    "(lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || "                   \
    "substr(lower(hex(randomblob(2))), 2) || '-a' || substr(lower(hex(randomblob(2))), 2) || '-' " \
    "|| lower(hex(randomblob(6))))"

enum { OFFLINE = 50000 };

static int case_offline_50k(void)
{
    const char *url = cf_own_database(cf_server_url(), "tf_central_offline");
    init_schema(url);
    char path[300];
    snprintf(path, sizeof path, "%s/offline.db", cf_tmpdir());
    cf_station_spec spec = {"st-offline", "L9", "LOT-0", "op-0", 1, 0, 0, 1.7e9};
    cf_make_station(path, &spec);
    char seed[2048];
    snprintf(seed, sizeof seed,
             "BEGIN;"
             "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d) "
             "INSERT INTO attempt (uuid, station_id, profile_id, image_id, bay, start_ts, end_ts, "
             "outcome, cause, mac, kind, lot, tray, operator, product) "
             "SELECT " UUID_SQL ", 1, 1, 1, 1 + i %% 64, 1.71e9 + i, 1.71e9 + i + 0.25, "
             "CASE WHEN i %% 7 = 0 THEN 'fail' ELSE 'pass' END, "
             "CASE WHEN i %% 7 = 0 THEN 'brownout' ELSE 'pass' END, "
             "printf('d8:1f:13:%%02x:%%02x:%%02x', (i >> 16) & 255, (i >> 8) & 255, i & 255), "
             "'flash', 'LOT-OFF', 1 + i / 64, 'op-9', 'wb2s-test' FROM n;"
             "INSERT INTO outbox (kind, ref_id, created_ts) SELECT 'attempt', id, end_ts FROM attempt "
             "WHERE lot = 'LOT-OFF' ORDER BY id;"
             "COMMIT;", OFFLINE);
    sqlite_exec(path, seed);
    /* the server away: nothing moves, nothing is lost, a try is counted */
    char away[200], err[600];
    cf_url_as(cf_server_url(), "postgres", "x", away, sizeof away);
    char *port = strstr(away, "port=");
    REQUIRE(port != NULL);
    memcpy(port, "port=1    ", 10); /* nobody listens on port 1 */
    central_target gone = target(away);
    db *d;
    REQUIRE(db_open(path, false, &d, err, sizeof err) == 0);
    central_fwd *f = central_fwd_new(d, &gone);
    central_fwd_step r;
    for (int i = 0; i < 3; i++) {
        REQUIRE(central_fwd_run_step(f, 0, &r, err, sizeof err) == 0);
        CHECK(r.failed);
        CHECK_EQ_INT(r.sent, 0);
        CHECK_HAS(err, "connecting to the central database");
    }
    central_fwd_free(f);
    CHECK_EQ_INT(outbox_queued(d), OFFLINE + 5); /* + station twice, profile, image, the spec's one */
    outbox_stats s;
    REQUIRE(outbox_get_stats(d, &s) == 0);
    CHECK_EQ_INT(s.sent, 0);
    CHECK_EQ_INT(s.parked, 0);
    db_close(d);
    /* the server back */
    central_target t = target(url);
    long long sent = 0, parked = 0;
    cf_drain(path, &t, &sent, &parked);
    CHECK_EQ_INT(sent, OFFLINE + 5);
    CHECK_EQ_INT(parked, 0);
    PGconn *c = cf_connect(url);
    CHECK_EQ_INT(cf_int(c, "SELECT count(*) FROM attempt WHERE lot = 'LOT-OFF' AND operator = 'op-9'"), OFFLINE);
    CHECK_EQ_INT(cf_int(c, "SELECT count(*) FROM attempt WHERE outcome = 'fail'"), OFFLINE / 7);
    PQfinish(c);
    REQUIRE(db_open(path, true, &d, err, sizeof err) == 0);
    REQUIRE(outbox_get_stats(d, &s) == 0);
    CHECK_EQ_INT(s.queued, 0);
    CHECK_EQ_INT(s.sent, OFFLINE + 5);
    db_close(d);
    return CHECK_DONE();
}

typedef struct parked_seen {
    int n;
    char reasons[4][400];
    char kinds[4][16];
} parked_seen;

static int on_parked(void *ctx, int64_t id, const char *kind, int64_t ref_id, double ts, const char *reason)
{
    (void)id;
    (void)ref_id;
    (void)ts;
    parked_seen *p = ctx;
    if (p->n < 4) {
        snprintf(p->reasons[p->n], sizeof p->reasons[0], "%s", reason);
        snprintf(p->kinds[p->n], sizeof p->kinds[0], "%s", kind);
    }
    p->n++;
    return 0;
}

static int case_parked(void)
{
    const char *url = cf_own_database(cf_server_url(), "tf_central_parked");
    init_schema(url);
    char path[300];
    snprintf(path, sizeof path, "%s/parked.db", cf_tmpdir());
    cf_station_spec spec = {"st-parked", "L3", "LOT-P", "op-p", 100, 0x500, 0, 1.75e9};
    cf_make_station(path, &spec);
    /* hand-edited rows: a MAC that is no MAC (a CHECK, class 23), a uuid that is no UUID
     * (class 22; the station only checks its length) */
    sqlite_exec(path, "UPDATE attempt SET mac = 'zz:1f:12:00:05:1d' WHERE id = 30;"
                      "UPDATE attempt SET uuid = 'not-a-uuid-but-thirty-six-chars-xxx' WHERE id = 60;"
                      /* and text that array literals must carry as it is */
                      "UPDATE attempt SET detail = 'a \"quoted\" \\ {brace}, comma' || char(10) || 'é', "
                      "operator = 'NULL', lot = '' WHERE id = 10;");
    char last_uuid[40];
    sqlite_text(path, "SELECT uuid FROM attempt WHERE id = 100", last_uuid, sizeof last_uuid);
    central_target t = target(url);
    long long sent = 0, parked = 0;
    cf_drain(path, &t, &sent, &parked);
    CHECK_EQ_INT(parked, 2);
    CHECK_EQ_INT(sent, 100 - 2 + 4); /* and station (twice: made, then its line), profile, image */
    PGconn *c = cf_connect(url);
    CHECK_EQ_INT(cf_int(c, "SELECT count(*) FROM attempt"), 98);
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM attempt WHERE uuid = '%s'", last_uuid);
    CHECK_EQ_INT(cf_int(c, sql), 1); /* the rows behind the parked ones flowed */
    PGresult *res = PQexec(c, "SELECT detail, operator, lot IS NULL, lot FROM attempt WHERE operator = 'NULL'");
    REQUIRE(PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1);
    CHECK_STR(PQgetvalue(res, 0, 0), "a \"quoted\" \\ {brace}, comma\n\xc3\xa9");
    CHECK_STR(PQgetvalue(res, 0, 3), ""); /* an empty string stays one, not NULL */
    CHECK_STR(PQgetvalue(res, 0, 2), "f");
    PQclear(res);
    PQfinish(c);
    db *d;
    char err[600];
    REQUIRE(db_open(path, true, &d, err, sizeof err) == 0);
    parked_seen p = {0};
    CHECK_EQ_INT(outbox_each_parked(d, on_parked, &p), 2);
    CHECK_EQ_INT(outbox_queued(d), 0);
    db_close(d);
    CHECK_STR(p.kinds[0], "attempt");
    CHECK_HAS(p.reasons[0], "attempt_mac_check");
    CHECK_HAS(p.reasons[0], "[23514]");
    CHECK_HAS(p.reasons[1], "invalid input syntax for type uuid");
    CHECK_HAS(p.reasons[1], "[22P02]");
    return CHECK_DONE();
}

static void expect_refused(PGconn *c, const char *sql, const char *state, const char *words)
{
    char got[6], msg[400];
    cf_refusal(c, sql, got, msg, sizeof msg);
    CHECK_MSG(!strcmp(got, state), "%s: SQLSTATE \"%s\", expected %s (%s)", sql, got, state, msg);
    if (words)
        CHECK_HAS(msg, words);
}

static int case_roles(void)
{
    const char *url = cf_own_database(cf_server_url(), "tf_central_roles");
    init_schema(url);
    central_target admin = target(url);
    central_role a, b, rd;
    char err[600];
    REQUIRE_MSG(central_add_role(&admin, CENTRAL_ROLE_STATION, "St-A", true, &a, err, sizeof err) == 0, "%s", err);
    REQUIRE_MSG(central_add_role(&admin, CENTRAL_ROLE_STATION, "st-b", true, &b, err, sizeof err) == 0, "%s", err);
    REQUIRE_MSG(central_add_role(&admin, CENTRAL_ROLE_READER, "grafana", true, &rd, err, sizeof err) == 0, "%s", err);
    CHECK_STR(a.role, "tf_station_st_a");
    CHECK_EQ_INT(strlen(a.password), 48);
    central_role again;
    CHECK(central_add_role(&admin, CENTRAL_ROLE_STATION, "st-a", false, &again, err, sizeof err) < 0);
    CHECK_HAS(err, "already exists");
    CHECK(central_add_role(&admin, CENTRAL_ROLE_STATION, "a b; DROP", true, &again, err, sizeof err) < 0);
    CHECK_HAS(err, "letters, digits");

    char ua[300], ub[300], ur[300], pa[300], pb[300];
    cf_url_as(cf_server_url(), a.role, "tf_central_roles", ua, sizeof ua);
    cf_url_as(cf_server_url(), b.role, "tf_central_roles", ub, sizeof ub);
    cf_url_as(cf_server_url(), rd.role, "tf_central_roles", ur, sizeof ur);
    snprintf(pa, sizeof pa, "%s/a.db", cf_tmpdir());
    snprintf(pb, sizeof pb, "%s/b.db", cf_tmpdir());
    cf_station_spec sa = {"st-a", "L1", "LOT-A", "op-a", 20, 0x100, 0, 1.76e9};
    cf_station_spec sb = {"st-b", "L2", "LOT-B", "op-b", 20, 0x200, 0, 1.76e9};
    cf_make_station(pa, &sa);
    cf_make_station(pb, &sb);
    central_target ta = target(ua), tb = target(ub);
    cf_drain(pa, &ta, NULL, NULL);
    cf_drain(pb, &tb, NULL, NULL);

    /* station A's file sent with A's role... into B's identity: refused, nothing parked, all kept */
    char pb2[300];
    snprintf(pb2, sizeof pb2, "%s/b2.db", cf_tmpdir());
    cf_station_spec sb2 = {"st-b", "L2", "LOT-B2", "op-b", 5, 0x300, 0, 1.77e9};
    cf_make_station(pb2, &sb2);
    char buuid[40];
    sqlite_text(pb, "SELECT uuid FROM station_self", buuid, sizeof buuid);
    char sql[600];
    snprintf(sql, sizeof sql, "UPDATE station_self SET uuid = '%s'", buuid); /* a clone of B's file */
    sqlite_exec(pb2, sql);
    db *d;
    REQUIRE(db_open(pb2, false, &d, err, sizeof err) == 0);
    central_fwd *f = central_fwd_new(d, &ta);
    central_fwd_step r;
    REQUIRE(central_fwd_run_step(f, 0, &r, err, sizeof err) == 0);
    CHECK(r.failed);
    CHECK_EQ_INT(r.parked, 0);
    CHECK_HAS(err, "row-level security");
    central_fwd_free(f);
    CHECK_EQ_INT(outbox_queued(d), 5 + 4);
    db_close(d);

    PGconn *c = cf_connect(ua);
    expect_refused(c, "UPDATE attempt SET outcome = 'fail'", "42501", "permission denied");
    expect_refused(c, "DELETE FROM attempt", "42501", "permission denied");
    expect_refused(c, "UPDATE station SET name = 'x'", "42501", "permission denied");
    expect_refused(c, "DELETE FROM station", "42501", "permission denied");
    expect_refused(c, "DELETE FROM profile", "42501", "permission denied");
    expect_refused(c, "SELECT count(*) FROM attempt", "42501", "permission denied");
    expect_refused(c, "TRUNCATE attempt", "42501", "permission denied");
    snprintf(sql, sizeof sql,
             "INSERT INTO attempt (uuid, station_uuid, kind, bay, start_ts, end_ts, outcome) "
             "VALUES ('00000000-0000-4000-8000-000000000001', '%s', 'flash', 1, 1, 2, 'pass')", buuid);
    expect_refused(c, sql, "42501", "row-level security");
    snprintf(sql, sizeof sql, "INSERT INTO station (uuid, name, seen_ts, first_ts, role_name) "
             "VALUES ('%s', 'hijack', 9e9, 9e9, '%s')", buuid, b.role);
    expect_refused(c, sql, "42501", "row-level security");
    /* its own station is there, and only its own is visible */
    CHECK_EQ_INT(cf_int(c, "SELECT count(*) FROM station"), 1);
    PQfinish(c);
    PGconn *admin_c = cf_connect(url);
    CHECK_EQ_INT(cf_int(admin_c, "SELECT count(*) FROM attempt"), 40);
    CHECK_EQ_INT(cf_int(admin_c, "SELECT count(*) FROM station WHERE name = 'st-b'"), 1);
    PQfinish(admin_c);

    /* the guard, through the function only: B passed d8:1f:12:00:02:05 */
    central_guard_answer g;
    REQUIRE_MSG(central_guard_lookup(&ta, "D8:1F:12:00:02:05", "wb2s-test", 2000, &g, err, sizeof err) == 0,
                "%s", err);
    CHECK(g.passed);
    CHECK_STR(g.station, "st-b");
    CHECK_STR(g.line, "L2");
    CHECK_STR(g.station_uuid, buuid);
    CHECK_EQ_INT(g.passes, 1);
    CHECK_NEAR(g.end_ts, 1.76e9 + 5 + 0.5, 1e-3);
    REQUIRE(central_guard_lookup(&ta, "d8:1f:12:00:09:99", "wb2s-test", 2000, &g, err, sizeof err) == 0);
    CHECK(!g.passed);
    REQUIRE(central_guard_lookup(&ta, "d8:1f:12:00:02:05", "other-product", 2000, &g, err, sizeof err) == 0);
    CHECK(!g.passed);

    /* the reader: reads everything, writes nothing; the report runs as it */
    c = cf_connect(ur);
    CHECK_EQ_INT(cf_int(c, "SELECT count(*) FROM attempt"), 40);
    CHECK_EQ_INT(cf_int(c, "SELECT count(*) FROM station"), 2);
    expect_refused(c, "DELETE FROM attempt", "42501", "permission denied");
    expect_refused(c, "INSERT INTO profile (sha256, name) VALUES (repeat('a', 64), 'x')", "42501", NULL);
    PQfinish(c);
    report_filter all = {0, 0, NULL, -1};
    report *rep = NULL;
    REQUIRE_MSG(report_build_pg(ur, &all, NULL, &rep, err, sizeof err) == 0, "%s", err);
    CHECK_EQ_INT(rep->total.attempts, 40);
    CHECK_EQ_INT(rep->n_by_station, 2);
    report_free(rep);
    return CHECK_DONE();
}

static int case_guard_timeout(void)
{
    /* a listener whose queue completes the handshake and then nobody ever speaks */
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(s >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    REQUIRE(bind(s, (struct sockaddr *)&a, sizeof a) == 0 && listen(s, 4) == 0);
    REQUIRE(getsockname(s, (struct sockaddr *)&a, &len) == 0);
    char url[200], err[600];
    snprintf(url, sizeof url, "host=127.0.0.1 port=%d dbname=x user=x", ntohs(a.sin_port));
    central_target t = target(url);
    central_guard_answer g;
    CHECK(central_guard_lookup(&t, "d8:1f:12:00:00:01", "p", 300, &g, err, sizeof err) < 0);
    CHECK_HAS(err, "did not answer in time");
    CHECK(!g.passed);
    close(s);
    return CHECK_DONE();
}

static int case_server_hangs(void)
{
    const char *url = cf_own_database(cf_server_url(), "tf_central_hangs");
    init_schema(url);
    char path[300], err[600];
    snprintf(path, sizeof path, "%s/hangs.db", cf_tmpdir());
    cf_station_spec spec = {"st-hangs", "L4", "LOT-H", "op-h", 30, 0x900, 0, 1.78e9};
    cf_make_station(path, &spec);
    PGconn *locker = cf_connect(url);
    PQclear(PQexec(locker, "BEGIN"));
    PGresult *r = PQexec(locker, "LOCK TABLE attempt IN ACCESS EXCLUSIVE MODE");
    REQUIRE(PQresultStatus(r) == PGRES_COMMAND_OK);
    PQclear(r);
    central_target t = {.conninfo = url, .application_name = "test", .connect_timeout_s = 5,
                        .statement_timeout_ms = 300};
    db *d;
    REQUIRE(db_open(path, false, &d, err, sizeof err) == 0);
    central_fwd *f = central_fwd_new(d, &t);
    central_fwd_step st;
    REQUIRE(central_fwd_run_step(f, 0, &st, err, sizeof err) == 0);
    CHECK(st.failed);
    CHECK_EQ_INT(st.sent + st.parked, 0);
    CHECK_HAS(err, "[57014]"); /* query_canceled: the moment's, not the record's */
    CHECK_EQ_INT(outbox_queued(d), 30 + 4);
    PQclear(PQexec(locker, "ROLLBACK"));
    PQfinish(locker);
    long long sent = 0;
    for (st.empty = false; !st.empty;) {
        REQUIRE_MSG(central_fwd_run_step(f, 0, &st, err, sizeof err) == 0 && !st.failed, "%s", err);
        sent += st.sent;
    }
    CHECK_EQ_INT(sent, 30 + 4);
    central_fwd_free(f);
    db_close(d);
    PGconn *c = cf_connect(url);
    CHECK_EQ_INT(cf_int(c, "SELECT count(*) FROM attempt"), 30);
    PQfinish(c);
    return CHECK_DONE();
}

static const check_case cases[] = {
    {"schema", case_schema},
    {"four_stations", case_four_stations},
    {"offline_50k", case_offline_50k},
    {"parked", case_parked},
    {"roles", case_roles},
    {"server_hangs", case_server_hangs},
    {"guard_timeout", case_guard_timeout},
};

int main(int argc, char **argv)
{
    setenv("TZ", "UTC", 1);
    return check_run(argc, argv, cases, sizeof cases / sizeof cases[0], NULL, cf_teardown);
}
