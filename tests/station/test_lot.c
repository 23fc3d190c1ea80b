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
 *   ask     - on_already_passed = ask: three modules that passed wait, each on its bay, while
 *             a new one on a fourth bay is flashed; `trayflash ctl --status` lists the three;
 *             --answer yes flashes one (a pass, its audit line in event_log naming ctl),
 *             --answer no skips one (nothing erased, the detail says the operator said no),
 *             a module pulled while asked ends its wait (nothing erased); answering a bay that
 *             does not ask is refused with exit 2. The yes comes after the module's link-lost
 *             time: the bay's keep-alive LinkChecks held it in download mode.
 *   ask_timeout - nobody answers: ask_timeout_s answers no, the attempts say so.
 *   ask_stop - the station stops while a bay asks: the wait ends at once (no timeout to sit
 *             out), the attempt ends cancelled, nothing on the module changed.
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
static int ask_timeout_s = 120;

static station *start(run *r, int n, const char *lot, const char *op, bool require)
{
    static station_opts o;
    memset(&o, 0, sizeof o);
    station_config_defaults(&o.cfg);
    o.cfg.pool_size = 4;
    o.cfg.require_lot = require ? SC_REQUIRE_LOT_YES : SC_REQUIRE_LOT_NO;
    o.cfg.on_already_passed = already_passed;
    o.cfg.ask_timeout_s = ask_timeout_s;
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

/* The MAC a bay shows (the question's module). */
static const char *bay_mac(const station_view *v, int bay)
{
    for (int i = 0; i < v->n_bays; i++)
        if (v->bays[i].bay == bay)
            return v->bays[i].mac;
    return "";
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

/* Three bays ask and the fourth (the new module) has its result. */
typedef struct ask_wait {
    station *st;
    station_view *v;
    int asking, passed;
} ask_wait;

static bool three_ask_one_passed(void *ctx)
{
    ask_wait *w = ctx;
    station_snapshot(w->st, w->v);
    w->asking = w->passed = 0;
    for (int i = 0; i < w->v->n_bays; i++) {
        w->asking += w->v->bays[i].asking;
        w->passed += w->v->bays[i].state == BAY_PASS;
    }
    return w->asking == 3 && w->passed == 1;
}

/* The simulator's module index of the bay showing `mac`; -1 if none. */
static int module_of(station *st, const char *mac)
{
    for (int i = 0; i < bksim_count(station_sim(st)); i++) {
        uint8_t m[6];
        char s[18];
        bksim_get_mac(station_sim(st), i, m);
        bk_mac_format(m, s, sizeof s);
        if (!strcmp(s, mac))
            return i;
    }
    return -1;
}

/* A module's frames reached `until`: the keep-alive LinkChecks a bay sends while it asks. */
typedef struct frames_wait {
    bksim_server *sim;
    int module;
    uint64_t until;
} frames_wait;

static bool frames_reached(void *ctx)
{
    frames_wait *w = ctx;
    bksim_stats ss;
    bksim_get_stats(w->sim, w->module, &ss);
    return ss.frames >= w->until;
}

static int ctl_answer(run *r, int bay, const char *word, char **out)
{
    char n[8];
    snprintf(n, sizeof n, "%d", bay);
    const char *argv[] = {check_arg(0), "ctl", "--db", r->db_path, "--answer", n, word, NULL};
    return check_capture(argv, true, 20, out);
}

static int case_ask(void)
{
    run r;
    setup(&r);
    station *st = start(&r, 3, NULL, NULL, false);
    CHECK_EQ_INT(station_wait(st), 0);
    station_free(st);
    CHECK_EQ_INT(check_db_int(r.db_path, "select count(*) from attempt where outcome = 'pass'"), 3);

    already_passed = SC_AP_ASK;
    ask_timeout_s = 3600; /* nobody in this case waits for the clock */
    st = start(&r, 4, NULL, NULL, false); /* the same seed: the same three MACs, and one new */
    station_actions a = station_get_actions(st);
    station_view *v = calloc(1, sizeof *v);
    ask_wait w = {st, v, 0, 0};
    REQUIRE_MSG(check_wait_until_fd(three_ask_one_passed, &w, a.change_fd, 60000),
                "%d bays ask, %d passed", w.asking, w.passed);
    int ask_bays[3], n = 0, passed_bay = 0;
    for (int i = 0; i < v->n_bays; i++) {
        if (v->bays[i].asking && n < 3) {
            ask_bays[n++] = v->bays[i].bay;
            CHECK_HAS(v->bays[i].question, "already passed on station");
            CHECK_HAS(v->bays[i].question, "re-flash? y/n");
        } else if (v->bays[i].state == BAY_PASS) {
            passed_bay = v->bays[i].bay;
        }
    }
    REQUIRE(n == 3 && passed_bay > 0);
    int modules[3];
    for (int i = 0; i < 3; i++) {
        modules[i] = module_of(st, bay_mac(v, ask_bays[i]));
        REQUIRE_MSG(modules[i] >= 0, "bay %d: no module with MAC %s", ask_bays[i],
                    bay_mac(v, ask_bays[i]));
    }

    /* The question outlives the module's link-lost time (2 s without a frame): 8 keep-alive
     * LinkChecks (one per 0.4 s slice) later it still answers in download mode. */
    bksim_stats ss0;
    bksim_get_stats(station_sim(st), modules[0], &ss0);
    frames_wait fw = {station_sim(st), modules[0], ss0.frames + 8};
    REQUIRE_MSG(check_wait_until(frames_reached, &fw, 30000), "no keep-alive frames while asking");
    CHECK_EQ_INT(bksim_get_state(station_sim(st), modules[0]), BKSIM_DOWNLOAD);

    char *out = NULL, want[64];
    const char *status[] = {check_arg(0), "ctl", "--db", r.db_path, "--status", NULL};
    CHECK_EQ_INT(check_capture(status, true, 20, &out), 0);
    int sorted[3] = {ask_bays[0], ask_bays[1], ask_bays[2]}; /* status lists them by number */
    for (int i = 1; i < 3; i++)
        for (int k = i; k > 0 && sorted[k - 1] > sorted[k]; k--) {
            int t = sorted[k];
            sorted[k] = sorted[k - 1];
            sorted[k - 1] = t;
        }
    snprintf(want, sizeof want, "asking=%d,%d,%d", sorted[0], sorted[1], sorted[2]);
    CHECK_HAS(out, want);
    for (int i = 0; i < 3; i++) {
        snprintf(want, sizeof want, "bay %02d asks: %s", ask_bays[i],
                 bay_mac(v, ask_bays[i]));
        CHECK_HAS(out, want);
    }
    free(out);

    CHECK_EQ_INT(ctl_answer(&r, passed_bay, "yes", &out), 2); /* it asks nothing */
    CHECK_HAS(out, "is not waiting for an answer");
    free(out);
    CHECK_EQ_INT(ctl_answer(&r, ask_bays[0], "maybe", &out), 2);
    CHECK_HAS(out, "yes or no");
    free(out);
    CHECK_EQ_INT(ctl_answer(&r, ask_bays[0], "yes", &out), 0);
    CHECK_HAS(out, "re-flashing");
    free(out);
    CHECK_EQ_INT(ctl_answer(&r, ask_bays[1], "no", &out), 0);
    CHECK_HAS(out, "skipping");
    free(out);
    bksim_set_power(station_sim(st), modules[2], false); /* pulled out while it asks */

    CHECK_EQ_INT(station_wait(st), 0);
    int pass, fail;
    station_counts(st, &pass, &fail);
    CHECK_EQ_INT(pass, 2); /* the new module and the one answered yes */
    CHECK_EQ_INT(fail, 1); /* the pulled one: lost, nothing on it changed */
    for (int i = 0; i < 3; i++) {
        bksim_stats ss;
        bksim_get_stats(station_sim(st), modules[i], &ss);
        CHECK_MSG((ss.erases > 0) == (i == 0), "bay %d (module %d): %llu erases", ask_bays[i],
                  modules[i], (unsigned long long)ss.erases);
    }
    station_free(st);
    char q[256];
    snprintf(q, sizeof q, "select outcome from attempt where bay = %d order by id desc limit 1",
             ask_bays[0]);
    char *t = check_db_text(r.db_path, q);
    CHECK_STR(t, "pass");
    free(t);
    snprintf(q, sizeof q, "select outcome || ': ' || detail from attempt where bay = %d "
             "order by id desc limit 1", ask_bays[1]);
    t = check_db_text(r.db_path, q);
    CHECK_HAS(t, "skipped: ");
    CHECK_HAS(t, "already passed");
    CHECK_HAS(t, "the operator answered no (trayflash ctl)");
    free(t);
    snprintf(q, sizeof q, "select outcome || ' ' || cause || ': ' || detail from attempt where "
             "bay = %d order by id desc limit 1", ask_bays[2]);
    t = check_db_text(r.db_path, q);
    CHECK_HAS(t, "fail ");
    CHECK_HAS(t, "while the station waited");
    free(t);
    snprintf(q, sizeof q, "select count(*) from event_log where bay = %d and text like "
             "'%%operator chose re-flash (trayflash ctl, after%%already passed%%'", ask_bays[0]);
    CHECK_EQ_INT(check_db_int(r.db_path, q), 1);
    CHECK_EQ_INT(check_db_int(r.db_path, "select count(*) from event_log where text like "
                                         "'%asks re-flash? %already passed%'"), 3);
    free(v);
    already_passed = SC_AP_REFLASH;
    ask_timeout_s = 120;
    cleanup(&r);
    return CHECK_DONE();
}

static int case_ask_timeout(void)
{
    run r;
    setup(&r);
    station *st = start(&r, 2, NULL, NULL, false);
    CHECK_EQ_INT(station_wait(st), 0);
    station_free(st);
    already_passed = SC_AP_ASK;
    ask_timeout_s = 1;
    st = start(&r, 2, NULL, NULL, false);
    CHECK_EQ_INT(station_wait(st), 0); /* once-mode ends: the timeout answered for everyone */
    int pass, fail;
    station_counts(st, &pass, &fail);
    CHECK_EQ_INT(pass + fail, 0);
    for (int i = 0; i < 2; i++) {
        bksim_stats ss;
        bksim_get_stats(station_sim(st), i, &ss);
        CHECK_EQ_INT((int)ss.erases, 0);
    }
    station_free(st);
    CHECK_EQ_INT(check_db_int(r.db_path, "select count(*) from attempt where outcome = 'skipped' "
                                         "and detail like '%ask: no answer within 1 s, skipped'"), 2);
    already_passed = SC_AP_REFLASH;
    ask_timeout_s = 120;
    cleanup(&r);
    return CHECK_DONE();
}

static bool one_asks(void *ctx)
{
    ask_wait *w = ctx;
    station_snapshot(w->st, w->v);
    w->asking = 0;
    for (int i = 0; i < w->v->n_bays; i++)
        w->asking += w->v->bays[i].asking;
    return w->asking == 1;
}

static int case_ask_stop(void)
{
    run r;
    setup(&r);
    station *st = start(&r, 1, NULL, NULL, false);
    CHECK_EQ_INT(station_wait(st), 0);
    station_free(st);
    already_passed = SC_AP_ASK;
    ask_timeout_s = 86400; /* a wait that did not end with the station would hang the case */
    st = start(&r, 1, NULL, NULL, false);
    station_actions a = station_get_actions(st);
    station_view *v = calloc(1, sizeof *v);
    ask_wait w = {st, v, 0, 0};
    REQUIRE(check_wait_until_fd(one_asks, &w, a.change_fd, 60000));
    station_question q[4];
    CHECK_EQ_INT(station_questions(st, q, 4), 1);
    CHECK_EQ_INT(q[0].bay, v->bays[0].bay);
    CHECK(q[0].left_s > 86000);
    station_request_stop(st);
    CHECK_EQ_INT(station_wait(st), 0);
    CHECK_EQ_INT(station_questions(st, q, 4), 0);
    bksim_stats ss;
    bksim_get_stats(station_sim(st), 0, &ss);
    CHECK_EQ_INT((int)ss.erases, 0);
    station_free(st);
    char *t = check_db_text(r.db_path, "select outcome || ' ' || cause || ': ' || detail from "
                                       "attempt order by id desc limit 1");
    CHECK_HAS(t, "fail cancelled: ");
    CHECK_HAS(t, "during the wait for the station's decision");
    free(t);
    free(v);
    already_passed = SC_AP_REFLASH;
    ask_timeout_s = 120;
    cleanup(&r);
    return CHECK_DONE();
}

static const check_case cases[] = {
    {"skip", case_skip},
    {"ask", case_ask},
    {"ask_timeout", case_ask_timeout},
    {"ask_stop", case_ask_stop},
    {"held", case_held},
    {"trays", case_trays},
    {"cli", case_cli},
};

int main(int argc, char **argv)
{
    return CHECK_RUN(argc, argv, cases);
}
