/* Lot, tray and operator (issue 14), through the public station API and `trayflash ctl`:
 *   held    - require_lot = yes and none given: no module is flashed; the station says why;
 *             `trayflash ctl --lot --operator` (the real binary, over the station's socket,
 *             mode 0600) lets the tray go; every attempt records lot, tray 1 and operator.
 *             A value with a control character is refused with words and exit 2.
 *   trays   - the tray number of a lot counts up across runs of the station (kept in the
 *             file); another lot starts at 1; a run without a lot records none.
 *   cli     - ctl without a running station: exit 3 naming the socket; nothing to do: exit 2.
 *   skip    - on_already_passed = skip: modules whose MACs passed this product in the file are
 *             left as they are (nothing erased or written, says bksim), recorded
 *             as skipped (outcome and kind), counted neither pass nor fail, SKIP on the bay;
 *             with reflash (the default) the same modules are flashed again.
 * Waiting is on the view's eventfd (no sleeps). */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"
#include "station.h"

#define PROFILE TRAYFLASH_SOURCE_DIR "/profiles/demo-small.ini"

typedef struct run {
    char dir[64], db_path[128];
} run;

static void setup(run *r)
{
    memset(r, 0, sizeof *r);
    snprintf(r->dir, sizeof r->dir, "/tmp/tf-lot-XXXXXX");
    REQUIRE(mkdtemp(r->dir) != NULL);
    snprintf(r->db_path, sizeof r->db_path, "%s/t.db", r->dir);
}

static void cleanup(run *r)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", r->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", r->dir);
}

static int already_passed = SC_AP_REFLASH;

static station *start(run *r, int n, const char *lot, const char *op, bool require)
{
    static station_opts o;
    memset(&o, 0, sizeof o);
    station_config_defaults(&o.cfg);
    o.cfg.pool_size = 4;
    o.cfg.require_lot = require ? SC_REQUIRE_LOT_YES : SC_REQUIRE_LOT_NO;
    o.cfg.on_already_passed = already_passed;
    o.profile_path = PROFILE;
    o.db_path = r->db_path;
    o.sim_count = n;
    o.sim_time_scale = 0.1;
    o.sim_seed = 11;
    o.once = true;
    o.link_timeout_ms = 1500;
    o.lot = lot;
    o.operator_id = op;
    char err[512];
    station *st = station_start(&o, err, sizeof err);
    REQUIRE_MSG(st != NULL, "station_start: %s", err);
    return st;
}

typedef struct view_wait {
    station *st;
    const char *text;
    station_view *v;
} view_wait;

static bool event_seen(void *ctx)
{
    view_wait *w = ctx;
    station_snapshot(w->st, w->v);
    for (int i = 0; i < w->v->n_events; i++)
        if (strstr(w->v->events[i], w->text))
            return true;
    return false;
}

static int case_held(void)
{
    run r;
    setup(&r);
    station *st = start(&r, 3, NULL, "early-op", true);
    station_actions a = station_get_actions(st);
    station_view *v = calloc(1, sizeof *v);
    view_wait w = {st, "scan a lot and an operator", v};
    REQUIRE(check_wait_until_fd(event_seen, &w, a.change_fd, 20000));
    char lot[64], op[64];
    bool waiting;
    station_get_lot(st, lot, op, &waiting);
    CHECK(waiting);
    CHECK_STR(op, "early-op");
    CHECK_EQ_INT(check_db_int(r.db_path, "select count(*) from attempt"), 0);

    char sock[160];
    snprintf(sock, sizeof sock, "%s.ctl", r.db_path);
    char *real = realpath(sock, NULL);
    REQUIRE_MSG(real != NULL, "no control socket at %s", sock);
    struct stat sb;
    REQUIRE(stat(real, &sb) == 0);
    CHECK(S_ISSOCK(sb.st_mode));
    CHECK_EQ_INT(sb.st_mode & 0777, 0600);
    free(real);

    char *out = NULL;
    const char *bad[] = {check_arg(0), "ctl", "--db", r.db_path, "--lot", "WO\x1b[2J", NULL};
    CHECK_EQ_INT(check_capture(bad, true, 20, &out), 2);
    CHECK_HAS(out, "control characters");
    free(out);
    station_get_lot(st, lot, op, &waiting);
    CHECK(waiting && !lot[0]);

    const char *good[] = {check_arg(0), "ctl", "--db", r.db_path, "--lot", "WO 4711/reel 2",
                          "--operator", "op-7", "--status", NULL};
    CHECK_EQ_INT(check_capture(good, true, 20, &out), 0);
    CHECK_HAS(out, "lot=WO 4711/reel 2 operator=op-7 waiting=no");
    free(out);
    CHECK_EQ_INT(station_wait(st), 0);
    station_free(st);
    const char *q = "select count(*) from attempt where lot = 'WO 4711/reel 2' and tray = 1 "
                    "and operator = 'op-7' and outcome <> 'running'";
    CHECK_EQ_INT(check_db_int(r.db_path, q), 3);
    CHECK_EQ_INT(check_db_int(r.db_path, "select count(*) from attempt"), 3);
    CHECK(access(sock, F_OK) != 0); /* the socket goes with the station */
    free(v);
    cleanup(&r);
    return CHECK_DONE();
}

static int case_trays(void)
{
    run r;
    setup(&r);
    const char *lots[] = {"WO-5", "WO-5", "WO-6", NULL, "WO-5"};
    for (int i = 0; i < 5; i++) {
        station *st = start(&r, 2, lots[i], "ann", false);
        CHECK_EQ_INT(station_wait(st), 0);
        station_free(st);
    }
    CHECK_EQ_INT(check_db_int(r.db_path, "select count(*) from attempt"), 10);
    char *trays = check_db_text(r.db_path, "select group_concat(t, ',') from (select distinct "
                                           "lot || ':' || tray as t from attempt where lot is not null "
                                           "order by min(id) over (partition by lot, tray))");
    CHECK_STR(trays, "WO-5:1,WO-5:2,WO-6:1,WO-5:3");
    free(trays);
    CHECK_EQ_INT(check_db_int(r.db_path, "select count(*) from attempt where lot is null and tray is null"), 2);
    CHECK_EQ_INT(check_db_int(r.db_path, "select trays from lot where name = 'WO-5'"), 3);
    cleanup(&r);
    return CHECK_DONE();
}

static int case_cli(void)
{
    run r;
    setup(&r);
    char *out = NULL;
    const char *none[] = {check_arg(0), "ctl", "--db", r.db_path, NULL};
    CHECK_EQ_INT(check_capture(none, true, 20, &out), 2);
    CHECK_HAS(out, "nothing to do");
    free(out);
    FILE *f = fopen(r.db_path, "w");
    REQUIRE(f != NULL);
    fclose(f);
    const char *status[] = {check_arg(0), "ctl", "--db", r.db_path, "--status", NULL};
    CHECK_EQ_INT(check_capture(status, true, 20, &out), 3);
    CHECK_HAS(out, "no station is running on this database");
    CHECK_HAS(out, ".ctl");
    free(out);
    cleanup(&r);
    return CHECK_DONE();
}

static int case_skip(void)
{
    run r;
    setup(&r);
    station *st = start(&r, 3, NULL, NULL, false);
    CHECK_EQ_INT(station_wait(st), 0);
    station_free(st);
    CHECK_EQ_INT(check_db_int(r.db_path, "select count(*) from attempt where outcome = 'pass'"), 3);

    already_passed = SC_AP_SKIP;
    st = start(&r, 4, NULL, NULL, false); /* the same seed: the same three MACs, and one new */
    CHECK_EQ_INT(station_wait(st), 0);
    int pass, fail;
    station_counts(st, &pass, &fail);
    CHECK_EQ_INT(pass, 1);
    CHECK_EQ_INT(fail, 0);
    station_view *v = calloc(1, sizeof *v);
    station_snapshot(st, v);
    int skips = 0;
    for (int i = 0; i < v->n_bays; i++)
        if (v->bays[i].state == BAY_SKIP) {
            skips++;
            CHECK_HAS(v->bays[i].detail, "already passed");
            CHECK_HAS(v->bays[i].detail, "this station's records");
        }
    CHECK_EQ_INT(skips, 3);
    /* nothing was erased or written on a skipped module; the new one was flashed */
    for (int i = 0; i < 4; i++) {
        bksim_stats ss;
        bksim_get_stats(station_sim(st), i, &ss);
        CHECK_MSG((ss.erases == 0 && ss.writes_4k == 0) == (i < 3), "module %d: %llu erases, "
                  "%llu writes", i, (unsigned long long)ss.erases, (unsigned long long)ss.writes_4k);
    }
    station_free(st);
    free(v);
    CHECK_EQ_INT(check_db_int(r.db_path, "select count(*) from attempt where outcome = 'skipped' "
                                         "and kind = 'skipped' and cause is null and mac is not null"), 3);
    CHECK_EQ_INT(check_db_int(r.db_path, "select count(*) from attempt where outcome = 'pass'"), 4);

    already_passed = SC_AP_REFLASH;
    st = start(&r, 3, NULL, NULL, false);
    CHECK_EQ_INT(station_wait(st), 0);
    station_counts(st, &pass, &fail);
    CHECK_EQ_INT(pass, 3);
    station_free(st);
    cleanup(&r);
    return CHECK_DONE();
}

static const check_case cases[] = {
    {"skip", case_skip},
    {"held", case_held},
    {"trays", case_trays},
    {"cli", case_cli},
};

int main(int argc, char **argv)
{
    return CHECK_RUN(argc, argv, cases);
}
