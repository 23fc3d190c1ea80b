/* The view builder (station/station_view.c) fed events through the station's queue, as the
 * station feeds it; each case drains the queue (evq_close + join) and reads the view:
 *   replug     a module whose adapter was pulled mid-flash and that passes after re-plugging
 *              counts once; an operator's retry of the same MAC too; a new MAC is a new module
 *   address    progress's flash address never goes back to 0x00000 on a phase or a message
 *   timeline   a long attempt keeps its first steps (and its latest), and says what it left out
 *   tray_done  only when every bay with an adapter has a result and none works
 *   backup     the engine's BACKUP phase is its own tile state (not IDENTIFY) with the ranges
 *              kept of the plan's; a bay backing up is running; ERASE follows; a new job
 *              starts its count again
 * Usage: test_station_view --list | CASE */
#include <string.h>
#include "check.h"
#include "station_internal.h"

static evq *q;
static sv_builder *b;
static station_view view; /* large: off the stack */

static void start(void)
{
    static station_view v0;
    memset(&v0, 0, sizeof v0);
    v0.yield_session = v0.yield_today = v0.first_pass_today = -1;
    v0.today_modules = -1;
    char err[200];
    q = evq_new();
    b = q ? sv_builder_new(q, &v0, NULL, err, sizeof err) : NULL;
    if (!b) {
        fprintf(stderr, "sv_builder_new: %s\n", q ? err : "evq_new failed");
        exit(2);
    }
}

/* Every posted event applied: the queue closed, the builder joined, the view copied. */
static void finish(void)
{
    evq_close(q);
    sv_builder_join(b);
    sv_builder_snapshot(b, &view);
    sv_builder_free(b);
    evq_free(q);
}

static void post(st_ev_kind kind, int bay)
{
    st_event e = {.kind = kind, .ts = 1000, .bay = bay};
    snprintf(e.port, sizeof e.port, "/dev/pts/%d", bay);
    evq_post(q, &e);
}

static void job_event(int bay, bk_event_kind kind, uint32_t address, const char *text)
{
    st_event e = {.kind = ST_EV_JOB_EVENT, .ts = 1000, .bay = bay, .ev_kind = kind,
                  .phase = BK_PHASE_WRITE, .address = address, .bytes_done = 1,
                  .bytes_total = 2};
    snprintf(e.text, sizeof e.text, "%s", text ? text : "");
    evq_post(q, &e);
}

/* A job's end: passed, or failed with cause; mac_last 0 = no MAC read. */
static void job_end(int bay, bool passed, bk_cause cause, int mac_last)
{
    st_event e = {.kind = ST_EV_JOB_END, .ts = 1001, .bay = bay};
    e.result.passed = passed;
    e.result.cause = passed ? BK_CAUSE_NONE : cause;
    if (mac_last) {
        e.result.have_mac = true;
        memcpy(e.result.mac, (uint8_t[6]){0xd8, 0x1f, 0x12, 0, 0, (uint8_t)mac_last}, 6);
    }
    evq_post(q, &e);
}

static const bay_view *bay(int n)
{
    for (int i = 0; i < view.n_bays; i++)
        if (view.bays[i].bay == n)
            return &view.bays[i];
    return NULL;
}

static int case_replug(void)
{
    start();
    /* bay 1: adapter pulled before the MAC was read, re-plugged, the module passes */
    post(ST_EV_ADAPTER_ADD, 1);
    post(ST_EV_JOB_START, 1);
    job_end(1, false, BK_CAUSE_ADAPTER_REMOVED, 0);
    post(ST_EV_ADAPTER_REMOVE, 1);
    post(ST_EV_ADAPTER_ADD, 1);
    post(ST_EV_JOB_START, 1);
    job_end(1, true, BK_CAUSE_NONE, 1);
    /* bay 2: pulled after the MAC was read, re-plugged: fails again (brown-out), same MAC */
    post(ST_EV_ADAPTER_ADD, 2);
    post(ST_EV_JOB_START, 2);
    job_end(2, false, BK_CAUSE_ADAPTER_REMOVED, 2);
    post(ST_EV_ADAPTER_REMOVE, 2);
    post(ST_EV_ADAPTER_ADD, 2);
    post(ST_EV_JOB_START, 2);
    job_end(2, false, BK_CAUSE_BROWNOUT, 2);
    /* bay 3: a failure, then another module (a new MAC) in the socket: two modules */
    post(ST_EV_ADAPTER_ADD, 3);
    post(ST_EV_JOB_START, 3);
    job_end(3, false, BK_CAUSE_BROWNOUT, 3);
    post(ST_EV_JOB_START, 3);
    job_end(3, true, BK_CAUSE_NONE, 4);
    finish();
    CHECK_EQ_INT(view.pass, 2);     /* bay 1, bay 3's second module */
    CHECK_EQ_INT(view.fail, 2);     /* bay 2's module (once), bay 3's first module */
    CHECK_EQ_INT(view.retried, 2);  /* bay 1 and bay 2 re-did their module */
    CHECK(bay(1) && bay(1)->pass_count == 1 && bay(1)->fail_count == 0);
    CHECK(bay(2) && bay(2)->pass_count == 0 && bay(2)->fail_count == 1);
    CHECK(bay(3) && bay(3)->pass_count == 1 && bay(3)->fail_count == 1);
    CHECK(bay(1) && bay(1)->n_history == 2); /* every attempt is still in the bay's history */
    return CHECK_DONE();
}

static int case_address(void)
{
    start();
    post(ST_EV_ADAPTER_ADD, 1);
    post(ST_EV_JOB_START, 1);
    job_event(1, BK_EV_PROGRESS, 0x11000, NULL);
    job_event(1, BK_EV_PROGRESS, 0x24000, NULL);
    job_event(1, BK_EV_PHASE, 0, "phase");
    job_event(1, BK_EV_INFO, 0, "write at 0x25000: no reply");
    finish();
    CHECK(bay(1) != NULL);
    if (bay(1))
        CHECK_EQ_INT(bay(1)->address, 0x24000);
    return CHECK_DONE();
}

static int case_timeline(void)
{
    enum { STEPS = SV_LOG_LINES * 3 };
    start();
    post(ST_EV_ADAPTER_ADD, 1);
    post(ST_EV_JOB_START, 1);
    char text[32];
    for (int i = 0; i < STEPS; i++) {
        snprintf(text, sizeof text, "step %d", i);
        job_event(1, BK_EV_INFO, 0, text);
    }
    finish();
    const bay_view *v = bay(1);
    CHECK(v != NULL);
    if (!v)
        return CHECK_DONE();
    CHECK_EQ_INT(v->n_log, SV_LOG_LINES);
    CHECK_EQ_INT(v->log_omitted, STEPS - SV_LOG_LINES);
    CHECK(!strcmp(v->log[0], "step 0")); /* the attempt from its first step */
    snprintf(text, sizeof text, "step %d", SV_LOG_HEAD - 1);
    CHECK(!strcmp(v->log[SV_LOG_HEAD - 1], text));
    snprintf(text, sizeof text, "step %d", STEPS - 1);
    CHECK(!strcmp(v->log[SV_LOG_LINES - 1], text)); /* ...and its latest */
    return CHECK_DONE();
}

static int case_tray_done(void)
{
    start();
    post(ST_EV_ADAPTER_ADD, 1);
    post(ST_EV_ADAPTER_ADD, 2);
    post(ST_EV_JOB_START, 1);
    post(ST_EV_JOB_START, 2);
    job_end(1, true, BK_CAUSE_NONE, 1);
    evq_close(q); /* a snapshot with bay 2 still working */
    sv_builder_join(b);
    sv_builder_snapshot(b, &view);
    CHECK(!view.tray_done);
    sv_builder_free(b);
    evq_free(q);

    start();
    post(ST_EV_ADAPTER_ADD, 1);
    post(ST_EV_ADAPTER_ADD, 2);
    post(ST_EV_ADAPTER_ADD, 3); /* bay 3: an adapter, no result yet */
    post(ST_EV_JOB_START, 1);
    post(ST_EV_JOB_START, 2);
    job_end(1, true, BK_CAUSE_NONE, 1);
    job_end(2, false, BK_CAUSE_BROWNOUT, 2);
    finish();
    CHECK(!view.tray_done);

    start();
    post(ST_EV_ADAPTER_ADD, 1);
    post(ST_EV_ADAPTER_ADD, 2);
    post(ST_EV_ADAPTER_ADD, 3);
    post(ST_EV_ADAPTER_REMOVE, 3); /* an empty bay does not hold the tray up */
    post(ST_EV_JOB_START, 1);
    post(ST_EV_JOB_START, 2);
    job_end(1, true, BK_CAUSE_NONE, 1);
    job_end(2, false, BK_CAUSE_BROWNOUT, 2);
    finish();
    CHECK(view.tray_done);
    return CHECK_DONE();
}

static void phase_event(int bay, bk_event_kind kind, bk_phase phase, uint32_t done, uint32_t total)
{
    st_event e = {.kind = ST_EV_JOB_EVENT, .ts = 1000, .bay = bay, .ev_kind = kind, .phase = phase,
                  .address = 0x1E0000, .bytes_done = done * 4096u, .bytes_total = total * 4096u,
                  .ranges_done = done, .ranges_total = total};
    evq_post(q, &e);
}

static int case_backup(void)
{
    start();
    post(ST_EV_ADAPTER_ADD, 1);
    post(ST_EV_JOB_START, 1);
    phase_event(1, BK_EV_PHASE, BK_PHASE_IDENTIFY, 0, 0);
    phase_event(1, BK_EV_PHASE, BK_PHASE_BACKUP, 0, 0);
    phase_event(1, BK_EV_PROGRESS, BK_PHASE_BACKUP, 12, 39);
    finish();
    const bay_view *b1 = bay(1);
    REQUIRE(b1 != NULL);
    CHECK_EQ_INT(b1->state, BAY_BACKUP);
    CHECK_STR(bay_state_name(b1->state), "BACKUP");
    CHECK_EQ_U(b1->backup_done, 12);
    CHECK_EQ_U(b1->backup_total, 39);
    CHECK_NEAR(b1->progress, 12.0 / 39.0, 1e-9);
    CHECK_EQ_INT(view.running, 1);
    CHECK(!view.tray_done);

    /* the first erase ends it; the next job counts from nothing */
    start();
    post(ST_EV_ADAPTER_ADD, 1);
    post(ST_EV_JOB_START, 1);
    phase_event(1, BK_EV_PROGRESS, BK_PHASE_BACKUP, 39, 39);
    phase_event(1, BK_EV_PHASE, BK_PHASE_ERASE, 0, 0);
    finish();
    CHECK(bay(1) && bay(1)->state == BAY_ERASE);
    CHECK(bay(1) && bay(1)->backup_done == 39);
    start();
    post(ST_EV_ADAPTER_ADD, 1);
    post(ST_EV_JOB_START, 1);
    phase_event(1, BK_EV_PROGRESS, BK_PHASE_BACKUP, 39, 39);
    post(ST_EV_JOB_START, 1);
    finish();
    CHECK(bay(1) && bay(1)->state == BAY_LINK && bay(1)->backup_done == 0 &&
          bay(1)->backup_total == 0);
    return CHECK_DONE();
}

int main(int argc, char **argv)
{
    static const check_case cases[] = {{"replug", case_replug}, {"address", case_address},
                                       {"timeline", case_timeline}, {"tray_done", case_tray_done},
                                       {"backup", case_backup}};
    return CHECK_RUN(argc, argv, cases);
}
