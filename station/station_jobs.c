/* station_jobs.c - a bay's job on a pool worker: the image pin checked, the engine run, the
 * end posted once the bay is free; and poll mode's probe. See station_internal.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "bk_image.h"
#include "central.h"
#include "bk_link.h"
#include "station_internal.h"
#include "station_log.h"
#include "tf_file.h"

#define ST_PROBE_WINDOW_MS 400
#define ST_IMAGE_PIN_MAX (64u << 20) /* past any BK7231 image: such a file changed anyway */

/* The image on disk must still be what the profile pinned: a file swapped under a running
 * station must never reach a module. */
static bool image_pin_holds(const tf_profile *p, char *why, size_t whylen)
{
    for (int i = 0; i < p->n_variants; i++) {
        const tf_profile_variant *v = &p->variants[i];
        /* a FIFO or /dev/zero swapped in must be refused, not read forever (tf_file_read) */
        char *buf;
        size_t len;
        if (tf_file_read(v->image_path, ST_IMAGE_PIN_MAX, &buf, &len, why, whylen) != 0)
            return false;
        char hex[65];
        bk_sha256_hex((const uint8_t *)buf, len, hex);
        free(buf);
        if (strcmp(hex, v->sha256_pin)) {
            snprintf(why, whylen, "%s changed on disk: sha256 %.12s..., profile pins %.12s...",
                     v->image_path, hex, v->sha256_pin);
            return false;
        }
    }
    return true;
}

/* ---- jobs ----------------------------------------------------------------------------- */

typedef struct job_ctx {
    st_bay *b;
    uint64_t serial;
    st_ask ask;     /* on_already_passed = ask: the question this job put, if any */
} job_ctx;

#define ST_OWN_PORT_BACK_S 10.0 /* an adapter re-enumerates in well under this after power-on */

static void on_job_event(void *ctx, const bk_event *e)
{
    job_ctx *j = ctx;
    if (e->kind == BK_EV_SETUP) { /* the fixture, not the module: a setup notice */
        st_notice(j->b->st->q, j->b->number, ST_LOG_WARN, "bay %02d setup: %s", j->b->number,
                  e->text ? e->text : "");
        return;
    }
    st_event ev = {.kind = ST_EV_JOB_EVENT, .ts = station_now(), .bay = j->b->number,
                   .serial = j->serial, .ev_kind = e->kind, .phase = e->phase,
                   .bytes_done = e->bytes_done, .bytes_total = e->bytes_total,
                   .address = e->address, .baud = e->baud, .rate_bps = e->rate_bps, .t_s = e->t_s,
                   .ranges_done = e->ranges_done, .ranges_total = e->ranges_total};
    if (e->text)
        snprintf(ev.text, sizeof ev.text, "%s", e->text);
    memcpy(ev.mac, e->mac, sizeof ev.mac);
    evq_post(j->b->st->q, &ev);
}

/* The bay is free again; `ev` (NULL: none), the event that turns its tile, is posted under the
 * same lock after it is freed: whoever sees the end (a test, the operator's retry key) finds the
 * bay free, and no new job of the bay can start before the end is queued. */
/* TRAYFLASH_DEBUG=wire: one debug notice a frame, for the bay (the engine hides a write's data) */
static void on_job_frame(void *ctx, const bk_trace_frame *f)
{
    job_ctx *j = ctx;
    char line[200];
    bk_trace_format(f, line, sizeof line);
    st_notice(j->b->st->q, j->b->number, ST_LOG_DEBUG, "bay %02d wire: %s", j->b->number, line);
}

/* The engine's power hook (bk_job_hooks.power) for a bay with a switched hub port. When the
 * adapter hangs on that port too, its tty goes with the power: the bay is marked so the loop
 * takes that remove and the add that follows as the station's own doing, and "on" returns
 * once the tty is back (1: the engine reopens the port). */
static int job_power(void *ctx, bool on, char *err, size_t errlen)
{
    job_ctx *j = ctx;
    st_bay *b = j->b;
    station *st = b->st;
    pthread_mutex_lock(&st->lock);
    bool own = b->power_feeds_adapter;
    if (own && !on) {
        b->own_cycle = true;
        b->own_back = false;
    }
    pthread_mutex_unlock(&st->lock);
    if (hub_port_set(b->power, on, err, errlen) < 0) {
        if (own && !on) {
            pthread_mutex_lock(&st->lock);
            b->own_cycle = false;
            pthread_mutex_unlock(&st->lock);
        }
        return -1;
    }
    if (!own || !on)
        return 0;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += (time_t)ST_OWN_PORT_BACK_S;
    pthread_mutex_lock(&st->lock);
    int rc = 0;
    while (!b->own_back && rc == 0 && atomic_load(&b->cancel) == 0)
        rc = pthread_cond_timedwait(&st->power_cv, &st->lock, &until);
    bool back = b->own_back;
    b->own_cycle = false;
    pthread_mutex_unlock(&st->lock);
    if (!back) {
        snprintf(err, errlen, "the adapter did not come back within %.0f s of its port %s-port%d "
                 "being switched on", ST_OWN_PORT_BACK_S, b->power->hub, b->power->port);
        return -1;
    }
    return 1;
}

static void passed_when(const db_pass_seen *seen, char *when, size_t whenlen)
{
    time_t t = (time_t)seen->end_ts;
    struct tm tm;
    snprintf(when, whenlen, "?");
    if (localtime_r(&t, &tm))
        strftime(when, whenlen, "%Y-%m-%d %H:%M", &tm);
}

/* The module passed before: `skip` leaves it with words saying which module, where and when
 * it passed, which source said so; `ask` puts those words to the operator (station_ask.c). */
static bk_gate already_passed(job_ctx *j, const char *mac, const char *product,
                              const db_pass_seen *seen, const char *source, char *why,
                              size_t whylen)
{
    station *st = j->b->st;
    char when[32], bay[16] = "", words[256];
    passed_when(seen, when, sizeof when);
    if (seen->bay > 0)
        snprintf(bay, sizeof bay, " bay %02d", seen->bay);
    const char *where = seen->station[0] ? seen->station : "?";
    snprintf(words, sizeof words, "%s already passed %s on station %s%s at %s (%s)", mac, product,
             where, bay, when, source);
    if (st->o.cfg.on_already_passed != SC_AP_ASK) {
        snprintf(why, whylen, "%s; on_already_passed = skip", words);
        return BK_GATE_SKIP;
    }
    char question[160];
    snprintf(question, sizeof question, "already passed on %s %s - re-flash? y/n", where, when);
    st_ask_open(j->b, &j->ask, mac, words, question);
    return st_ask_wait(j->b, &j->ask, why, whylen);
}

#define ST_GUARD_CENTRAL_MS 300 /* the central store's answer, or the station's own records */

/* The central store's word (every station's forwarded records): 1 passed (*seen filled), 0
 * not, -1 it did not answer in time (err says why). */
static int central_passed(station *st, const char *mac, const char *product, db_pass_seen *seen,
                          char *err, size_t errlen)
{
    central_target t = central_conf_target(&st->central, "trayflash guard");
    central_guard_answer a;
    if (central_guard_lookup(&t, mac, product, ST_GUARD_CENTRAL_MS, &a, err, errlen) < 0)
        return -1;
    if (!a.passed)
        return 0;
    seen->end_ts = a.end_ts;
    snprintf(seen->station, sizeof seen->station, "%s", a.station);
    seen->bay = 0;
    return 1;
}

/* on_already_passed = skip|ask: a module whose MAC already passed this product is left as it
 * is (skip) or the operator is asked (ask: the engine calls again while the answer is
 * awaited). The central store answers first when there is one (within ST_GUARD_CENTRAL_MS);
 * then the station's own records (a read-only handle of this job's own: the writer's is its
 * thread's), which also hold passes not yet forwarded. An unreadable database flashes (and
 * says so): refusing modules because of a lookup would stop the line. */
static bk_gate already_passed_gate(void *ctx, const bk_result *so_far, char *why, size_t whylen)
{
    job_ctx *j = ctx;
    station *st = j->b->st;
    if (j->ask.open)
        return st_ask_wait(j->b, &j->ask, why, whylen);
    if (!so_far->have_mac)
        return BK_GATE_GO; /* no MAC, no history to look up */
    char mac[18];
    bk_mac_format(so_far->mac, mac, sizeof mac);
    memcpy(j->ask.mac, so_far->mac, sizeof j->ask.mac);
    const char *product = st->profiles[j->b->profile_idx].p.product;
    db_pass_seen seen;
    const char *source = "this station's records";
    if (st->central.configured) {
        char cerr[300];
        int c = central_passed(st, mac, product, &seen, cerr, sizeof cerr);
        if (c > 0)
            return already_passed(j, mac, product, &seen, "the central store", why, whylen);
        if (c < 0) {
            st_notice(st->q, j->b->number, ST_LOG_WARN, "bay %02d: already-passed check: %s; "
                      "asking this station's records", j->b->number, cerr);
            source = "this station's records; the central store did not answer";
        }
    }
    db *d;
    char err[300];
    if (db_open(st->db_path, true, &d, err, sizeof err) < 0) {
        st_notice(st->q, j->b->number, ST_LOG_WARN, "bay %02d: already-passed check skipped: %s",
                  j->b->number, err);
        return BK_GATE_GO;
    }
    int found = db_mac_passed(d, mac, product, &seen);
    if (found < 0)
        st_notice(st->q, j->b->number, ST_LOG_WARN, "bay %02d: already-passed check skipped: %s",
                  j->b->number, db_errmsg(d));
    db_close(d);
    if (found <= 0)
        return BK_GATE_GO;
    return already_passed(j, mac, product, &seen, source, why, whylen);
}

static void job_done(st_bay *b, const bk_result *r, const st_event *ev)
{
    station *st = b->st;
    pthread_mutex_lock(&st->lock);
    b->busy = false;
    b->flashing = false;
    b->force = false;
    b->finished_once = true;
    st_ask_clear_locked(b);
    b->ledger_wait = r && r->held;
    if (r && r->held) {
        /* not a module result: the bay waits for ledger rows, asking again now and then */
        b->next_probe = bk_now_s() + ST_LEDGER_RECHECK_S;
        b->have_last_mac = false;
        if (ev)
            evq_post(st->q, ev);
        pthread_mutex_unlock(&st->lock);
        station_poke(st->wake_fd);
        return;
    }
    if (r && r->skipped) {
        b->have_last_mac = r->have_mac; /* poll mode leaves it be, as a passed one */
        if (r->have_mac)
            memcpy(b->last_mac, r->mac, 6);
    } else if (r) {
        b->attempts++;
        if (r->passed) {
            st->pass++;
        } else {
            st->fail++;
            if ((unsigned)r->cause < BK_CAUSE_COUNT)
                st->fail_by_cause[r->cause]++;
        }
        b->have_last_mac = r->have_mac;
        if (r->have_mac)
            memcpy(b->last_mac, r->mac, 6);
    }
    b->next_probe = bk_now_s() + st->o.cfg.poll_interval_ms / 1000.0;
    if (ev)
        evq_post(st->q, ev);
    pthread_mutex_unlock(&st->lock);
    station_poke(st->wake_fd);
}

/* A job taken from the pool while the database cannot save: it does not start. The bay asks
 * again once the writer has caught up (on_db_state pokes the loop). */
static bool hold_for_db_locked(st_bay *b)
{
    if (!b->st->db_stalled)
        return false;
    b->busy = false;
    b->want_start = true;
    b->next_probe = 0;
    return true;
}

/* The backup store, opened by the first job that needs it. NULL with words in why. */
static backup_keeper *keeper_for_job(station *st, char *why, size_t whylen)
{
    pthread_mutex_lock(&st->lock);
    if (!st->backup && backup_keeper_open(st->db_path, st->station_id, &st->backup, why,
                                          whylen) == 0) {
        backup_keeper_set_cap(st->backup, (uint64_t)st->o.cfg.backup_cap_mb << 20);
        st_notice(st->q, 0, ST_LOG_INFO, "backup store %s.blocks opened", st->db_path);
    }
    backup_keeper *k = st->backup;
    pthread_mutex_unlock(&st->lock);
    return k;
}

/* After a job that kept a backup: a warning on the dashboard once the store passes 90% of its
 * cap (again after it fell below, e.g. a prune). */
static void check_backup_cap(station *st, backup_keeper *k)
{
    uint64_t cap = (uint64_t)st->o.cfg.backup_cap_mb << 20;
    backup_usage u;
    char why[300];
    if (!cap || backup_keeper_usage(k, &u, why, sizeof why) < 0)
        return;
    bool high = u.stored * 10 >= cap * 9;
    pthread_mutex_lock(&st->lock);
    bool tell = high && !st->backup_cap_warned;
    st->backup_cap_warned = high;
    pthread_mutex_unlock(&st->lock);
    if (tell)
        st_notice(st->q, 0, ST_LOG_WARN, "backup store at %.0f%% of its cap (%.1f of %d MiB): "
                  "prune old backups (trayflash backup prune) before new ones are refused",
                  100.0 * (double)u.stored / (double)cap, (double)u.stored / 1048576,
                  st->o.cfg.backup_cap_mb);
}

/* The tray a job belongs to. A bay's first job of the current tray joins it, however late its
 * module was seated; a bay that already had a job in it starts the next tray once no other bay
 * flashes (the operator swapped the modules), unless the operator asked for a retry. */
static uint64_t tray_for_job_locked(st_bay *b)
{
    station *st = b->st;
    bool others_flashing = false;
    for (int i = 0; i < st->n_bays; i++)
        if (&st->bays[i] != b && st->bays[i].flashing)
            others_flashing = true;
    bool done_here = st->tray_seq > 0 && b->tray_seq == st->tray_seq;
    if (st->tray_seq == 0 || (done_here && !others_flashing && !b->force))
        st->tray_seq++;
    b->tray_seq = st->tray_seq;
    return st->tray_seq;
}

/* The profile's spec with its baud ladder made fit for the bay's adapter (adapter_table.h):
 * the bay starts at the highest rate both allow. A profile asking more than the adapter makes
 * is a setup notice, told once per bay and (adapter model, profile), never a failed module.
 * Called with the lock (the bay's model and notice memory). */
static void fit_spec_locked(st_bay *b, const st_profile_slot *ps, bk_job_spec *spec)
{
    *spec = ps->spec;
    spec->reset = station_config_bay_reset(&b->st->o.cfg, b->number);
    if (!b->model)
        return;
    bool changed = false;
    uint32_t fit[BK_MAX_BAUDS];
    int n = adapter_fit_bauds(b->model, ps->spec.bauds, ps->spec.n_bauds, fit, &changed);
    memcpy(spec->bauds, fit, sizeof fit);
    spec->n_bauds = n;
    if (!changed || (b->rate_told_model == b->model && b->rate_told_profile == b->profile_idx))
        return;
    b->rate_told_model = b->model;
    b->rate_told_profile = b->profile_idx;
    char why[600];
    adapter_mismatch_text(b->model, ps->spec.bauds[0], fit[0], why, sizeof why);
    st_notice(b->st->q, b->number, ST_LOG_WARN, "bay %02d setup: %s", b->number, why);
}

static void run_job(st_bay *b)
{
    station *st = b->st;
    pthread_mutex_lock(&st->lock);
    if (hold_for_db_locked(b)) {
        pthread_mutex_unlock(&st->lock);
        st_event held = {.kind = ST_EV_BAY_STATE, .ts = station_now(), .bay = b->number,
                         .state = BAY_IDLE};
        snprintf(held.text, sizeof held.text, "%s", STATION_DB_WAIT_TEXT);
        evq_post(st->q, &held);
        return;
    }
    if (station_lot_missing_locked(st)) { /* cleared since the loop scheduled it */
        b->busy = false;
        b->want_start = true;
        pthread_mutex_unlock(&st->lock);
        return;
    }
    const st_profile_slot *ps = &st->profiles[b->profile_idx];
    if (b->ledger_wait && ps->p.personal.ledger_line && st->ledger &&
        !st_ledger_has_free(st->ledger, ps->p.name)) {
        /* still nothing to give: wait on, without an attempt (the module was held, not failed) */
        b->busy = false;
        b->next_probe = bk_now_s() + ST_LEDGER_RECHECK_S;
        pthread_mutex_unlock(&st->lock);
        return;
    }
    uint64_t tray_seq = tray_for_job_locked(b);
    b->flashing = true;
    char lot[64], operator_id[64];
    snprintf(lot, sizeof lot, "%s", st->lot);
    snprintf(operator_id, sizeof operator_id, "%s", st->operator_id);
    char devnode[128], adapter[64], model[32];
    snprintf(devnode, sizeof devnode, "%s", b->devnode);
    snprintf(adapter, sizeof adapter, "%s", b->adapter);
    snprintf(model, sizeof model, "%s", b->model ? b->model->model : "");
    bk_job_spec spec;
    fit_spec_locked(b, ps, &spec);
    pthread_mutex_unlock(&st->lock);

    char why[300];
    if (!image_pin_holds(&ps->p, why, sizeof why)) {
        st_notice(st->q, b->number, ST_LOG_ERROR, "bay %02d not started: %s", b->number, why);
        st_event ev = {.kind = ST_EV_BAY_STATE, .ts = station_now(), .bay = b->number,
                       .state = BAY_FAIL, .cause = BK_CAUSE_IMAGE_ERROR};
        snprintf(ev.text, sizeof ev.text, "%s", why);
        job_done(b, NULL, &ev);
        return;
    }
    job_ctx j = {.b = b, .serial = atomic_fetch_add(&st->serial, 1) + 1};
    st_event ev = {.kind = ST_EV_JOB_START, .ts = station_now(), .bay = b->number,
                   .serial = j.serial, .profile = &ps->p};
    snprintf(ev.port, sizeof ev.port, "%s", devnode);
    snprintf(ev.adapter, sizeof ev.adapter, "%s", adapter);
    snprintf(ev.adapter_model, sizeof ev.adapter_model, "%s", model);
    snprintf(ev.bay_name, sizeof ev.bay_name, "%s", b->name);
    snprintf(ev.product, sizeof ev.product, "%s", ps->p.product);
    snprintf(ev.lot, sizeof ev.lot, "%s", lot);
    snprintf(ev.operator_id, sizeof ev.operator_id, "%s", operator_id);
    ev.tray_seq = tray_seq;
    evq_post(st->q, &ev);

    bk_job_hooks hooks = {.on_event = on_job_event, .ctx = &j, .cancel = &b->cancel};
    backup_job *bj = NULL;
    bk_backup_ops ops;
    if (ps->spec.backup != BK_BACKUP_NONE) {
        backup_keeper *k = keeper_for_job(st, why, sizeof why);
        if (!k)
            st_notice(st->q, b->number, ST_LOG_ERROR, "bay %02d backup store: %s", b->number, why);
        else if ((bj = malloc(sizeof *bj))) {
            backup_job_init(bj, k, b->number, devnode, &ops);
            hooks.backup = &ops; /* without it the job fails with backup_store, nothing erased */
        }
    }
    if (b->power) {
        hooks.power = job_power;
        hooks.power_off_ms = st->o.cfg.power_off_ms;
    }
    if (st->o.cfg.on_already_passed != SC_AP_REFLASH)
        hooks.gate = already_passed_gate;
    if (st->wire_trace)
        hooks.trace = (bk_trace_hook){.fn = on_job_frame, .ctx = &j};
    st_personal_job pj = {.st = st, .b = b, .ps = ps};
    snprintf(pj.lot, sizeof pj.lot, "%s", lot);
    if (ps->p.personal.enabled) {
        hooks.personal = st_personal_make;
        hooks.personal_ctx = &pj;
    }
    st_event end = {.kind = ST_EV_JOB_END, .bay = b->number, .serial = j.serial};
    bk_flash_job(devnode, &spec, &hooks, &end.result);
    backup_job_done(bj);
    if (bj)
        check_backup_cap(st, bj->k);
    free(bj);
    st_personal_finish(&pj, &end.result);
    end.ledger_row_id = pj.row_id;
    if (ps->secrets && ps->p.personal.enabled)
        snprintf(end.secrets_id, sizeof end.secrets_id, "%s", tf_secrets_id(ps->secrets));
    end.ts = station_now();
    snprintf(end.port, sizeof end.port, "%s", devnode);
    job_done(b, &end.result, &end);
}

void station_job_task(void *arg)
{
    run_job(arg);
}

/* Poll mode: ask first, flash only a module that answers and is not the one already done. */
void station_probe_task(void *arg)
{
    st_bay *b = arg;
    station *st = b->st;
    pthread_mutex_lock(&st->lock);
    char devnode[128];
    snprintf(devnode, sizeof devnode, "%s", b->devnode);
    bk_chip chip = st->profiles[b->profile_idx].p.variants[0].chip;
    const bk_reset_seq *reset = station_config_bay_reset(&st->o.cfg, b->number);
    bool force = b->force;
    pthread_mutex_unlock(&st->lock);
    uint8_t mac[6];
    bool have_mac;
    char err[200] = "";
    bk_probe_outcome out = bk_probe(devnode, chip, reset, ST_PROBE_WINDOW_MS, &b->cancel, mac,
                                    &have_mac, err, sizeof err);
    if (out == BK_PROBE_MODULE && !force && atomic_load(&b->cancel) == 0) {
        pthread_mutex_lock(&st->lock);
        /* a retry pressed during the probe (force now set) flashes it all the same */
        bool same = have_mac && b->have_last_mac && !memcmp(mac, b->last_mac, 6) && !b->force;
        pthread_mutex_unlock(&st->lock);
        if (same) {
            job_done(b, NULL, NULL); /* still the module of the last attempt: leave it be */
            return;
        }
    }
    if (out == BK_PROBE_MODULE && atomic_load(&b->cancel) == 0) {
        run_job(b);
        return;
    }
    if (out == BK_PROBE_PORT_ERROR)
        st_notice(st->q, b->number, ST_LOG_WARN, "bay %02d probe: %s", b->number, err);
    pthread_mutex_lock(&st->lock);
    if (out == BK_PROBE_NO_MODULE)
        b->have_last_mac = false; /* the socket was empty: whatever sits there next is new */
    b->busy = false;
    b->next_probe = bk_now_s() + st->o.cfg.poll_interval_ms / 1000.0;
    pthread_mutex_unlock(&st->lock);
}

