/* station_actions.c - what the dashboard may ask (retry, pause, engineer login, profile
 * switch, an answer to a bay's question, quit), called on the UI thread; every assignment change, allowed or refused, goes
 * to the audit. See station.h's station_get_actions. */
#include <stdlib.h>
#include <string.h>
#include "auth.h"
#include "station_internal.h"
#include "station_log.h"

#define ST_ENGINEER_IDLE_S 600 /* engineer mode ends after this long without a change */

static int act_retry(void *ctx, int bay, char *msg, size_t msglen)
{
    station *st = ctx;
    pthread_mutex_lock(&st->lock);
    st_bay *b = station_bay_by_number(st, bay);
    int rc = 0;
    if (!b || !b->present) {
        snprintf(msg, msglen, "bay %02d has no adapter", bay);
        rc = -1;
    } else if (b->flashing) {
        snprintf(msg, msglen, "bay %02d is busy", bay);
        rc = -1;
    } else { /* free, or a poll-mode probe: the probe's end sees `force` */
        b->want_start = true;
        b->force = true;
        snprintf(msg, msglen, "bay %02d: retrying", bay);
    }
    pthread_mutex_unlock(&st->lock);
    station_poke(st->wake_fd);
    return rc;
}

static int act_pause(void *ctx, bool paused, char *msg, size_t msglen)
{
    station *st = ctx;
    pthread_mutex_lock(&st->lock);
    st->paused = paused;
    pthread_mutex_unlock(&st->lock);
    sv_builder_set_flags(st->view, paused, false);
    snprintf(msg, msglen, paused ? "paused: no new jobs start" : "running");
    station_poke(st->wake_fd);
    return 0;
}

/* One changed (or refused) assignment, for the audit. */
typedef struct st_assign {
    int bay;
    const tf_profile *old_p, *new_p;
} st_assign;

/* The audit goes through a handle of its own: these actions run on the UI thread, and the
 * writer thread owns the station's handle (two handles on one file are SQLite's contract).
 * Both profile texts are kept, so every sha256 in the audit resolves to its text. */
static int audit_assignments(station *st, bool engineer, bool allowed, const st_assign *a, int n,
                             char *err, size_t errlen)
{
    char user[64];
    auth_os_user(user, sizeof user);
    db *d;
    if (db_open(st->db_path, false, &d, err, errlen) < 0)
        return -1;
    double ts = station_now();
    int rc = db_begin(d);
    for (int i = 0; rc >= 0 && i < n; i++) {
        const tf_profile *ps[2] = {a[i].old_p, a[i].new_p};
        for (int k = 0; k < 2 && rc >= 0; k++)
            if (ps[k] && db_profile_upsert(d, ps[k]->name, ps[k]->text_sha256, ps[k]->text) < 0)
                rc = -1;
        if (rc >= 0 && db_assignment_log(d, ts, user, engineer, a[i].bay, a[i].bay,
                                         a[i].old_p ? a[i].old_p->text_sha256 : NULL,
                                         a[i].new_p ? a[i].new_p->text_sha256 : NULL,
                                         allowed) < 0)
            rc = -1;
    }
    if (rc >= 0)
        rc = db_commit(d);
    if (rc < 0) {
        snprintf(err, errlen, "%s: recording the assignment: %s", st->db_path, db_errmsg(d));
        db_rollback(d);
    }
    db_close(d);
    return rc < 0 ? -1 : 0;
}

static int act_login(void *ctx, const char *pin, char *msg, size_t msglen)
{
    station *st = ctx;
    if (!st->o.cfg.engineer_pin_hash[0]) {
        snprintf(msg, msglen, "engineer mode is not configured on this station "
                 "([station] engineer_pin_hash)");
        return -1;
    }
    bool match = false;
    char why[200];
    if (auth_pin_check(st->o.cfg.engineer_pin_hash, pin, &match, why, sizeof why) < 0) {
        snprintf(msg, msglen, "engineer login: %s", why);
        return -1;
    }
    char user[64];
    auth_os_user(user, sizeof user);
    if (!match) {
        /* a refused login is an attempted change: it goes to the audit, with no bay */
        st_assign none = {.bay = -1};
        if (audit_assignments(st, false, false, &none, 1, why, sizeof why) < 0)
            st_notice(st->q, 0, ST_LOG_ERROR, "%s", why);
        st_notice(st->q, 0, ST_LOG_WARN, "engineer login refused (wrong PIN) for OS user %s", user);
        snprintf(msg, msglen, "wrong PIN: engineer mode stays off (recorded)");
        return -1;
    }
    pthread_mutex_lock(&st->lock);
    st->engineer_until = bk_now_s() + ST_ENGINEER_IDLE_S;
    pthread_mutex_unlock(&st->lock);
    st_notice(st->q, 0, ST_LOG_INFO, "engineer mode on for OS user %s", user);
    snprintf(msg, msglen, "engineer mode on");
    station_poke(st->wake_fd);
    return 0;
}

/* Reassigns one bay (or all, bay 0) to the profile at `path`, in engineer mode only. The
 * profile is loaded and checked outside the lock (it hashes its images); a profile whose
 * text changed on disk since it was last loaded becomes a new slot: a new version. */
static int act_switch(void *ctx, int bay, const char *path, char *msg, size_t msglen)
{
    station *st = ctx;
    st_assign *changes = calloc(SV_MAX_BAYS, sizeof *changes);
    tf_profile *np = calloc(1, sizeof *np);
    int n = 0, rc = -1;
    if (!changes || !np) {
        snprintf(msg, msglen, "out of memory");
        goto out;
    }
    pthread_mutex_lock(&st->lock);
    bool engineer = bk_now_s() < st->engineer_until;
    for (int i = 0; i < st->n_bays; i++)
        if (bay == 0 || st->bays[i].number == bay)
            changes[n++] = (st_assign){.bay = st->bays[i].number,
                                       .old_p = &st->profiles[st->bays[i].profile_idx].p};
    if (bay == 0 && n == 0) /* no adapter yet: the audit still names the change */
        changes[n++] = (st_assign){.bay = -1, .old_p = &st->profiles[st->all_bays_idx >= 0 ?
                                                                     st->all_bays_idx : 0].p};
    pthread_mutex_unlock(&st->lock);
    if (bay != 0 && n == 0) {
        snprintf(msg, msglen, "there is no bay %02d", bay);
        goto out;
    }
    char why[600];
    if (!engineer) {
        if (audit_assignments(st, false, false, changes, n, why, sizeof why) < 0)
            st_notice(st->q, 0, ST_LOG_ERROR, "%s", why);
        snprintf(msg, msglen, "switching profile needs engineer mode (refused, recorded)");
        goto out;
    }
    if (tf_profile_load(path, np, msg, msglen) < 0)
        goto out;
    pthread_mutex_lock(&st->lock);
    int idx = -1;
    for (int i = 0; i < st->n_profiles && idx < 0; i++)
        if (!strcmp(st->profiles[i].p.path, path) &&
            !strcmp(st->profiles[i].p.text_sha256, np->text_sha256))
            idx = i;
    if (idx < 0)
        idx = station_slot_add(st, np); /* a new version; -1 when every slot is used */
    if (idx >= 0) {
        for (int i = 0; i < st->n_bays; i++)
            if (bay == 0 || st->bays[i].number == bay)
                st->bays[i].profile_idx = idx; /* a running job keeps its own spec */
        if (bay == 0)
            st->all_bays_idx = idx;
        for (int i = 0; i < n; i++)
            changes[i].new_p = &st->profiles[idx].p;
        st->engineer_until = bk_now_s() + ST_ENGINEER_IDLE_S;
    }
    pthread_mutex_unlock(&st->lock);
    if (idx < 0) {
        snprintf(msg, msglen, "%s: more than %d different profiles", path, ST_MAX_PROFILES);
        goto out;
    }
    const tf_profile *p = &st->profiles[idx].p; /* slots never move or change */
    if (audit_assignments(st, true, true, changes, n, why, sizeof why) < 0)
        st_notice(st->q, 0, ST_LOG_ERROR, "%s", why);
    char user[64];
    auth_os_user(user, sizeof user);
    if (bay)
        st_notice(st->q, bay, ST_LOG_INFO, "bay %02d now flashes %s (%s @%.8s), was %s @%.8s; by %s", bay,
               p->product, p->name, p->text_sha256, changes[0].old_p->name,
               changes[0].old_p->text_sha256, user);
    else
        st_notice(st->q, 0, ST_LOG_INFO, "all bays now flash %s (%s @%.8s); by %s", p->product, p->name,
               p->text_sha256, user);
    snprintf(msg, msglen, "%s now on %s", p->name, bay ? "one bay" : "all bays");
    rc = 0;
    station_poke(st->wake_fd);
out:
    if (np)
        tf_profile_free(np);
    free(np);
    free(changes);
    return rc;
}

static void act_quit(void *ctx)
{
    station_request_stop(ctx);
}

static int act_set_lot(void *ctx, const char *lot, const char *operator_id, char *msg, size_t msglen)
{
    return station_set_lot(ctx, lot, operator_id, msg, msglen);
}

/* The dashboard's y/n for a bay that asks; the audit names the OS user at the dashboard. */
static int act_answer(void *ctx, int bay, bool reflash, char *msg, size_t msglen)
{
    char user[48], by[64];
    auth_os_user(user, sizeof user);
    snprintf(by, sizeof by, "the dashboard, OS user %s", user);
    return station_answer(ctx, bay, reflash, by, msg, msglen);
}

static void act_snapshot(void *ctx, station_view *out)
{
    station_snapshot(ctx, out);
}

station_actions station_get_actions(station *st)
{
    return (station_actions){.ctx = st, .retry_bay = act_retry, .set_paused = act_pause,
                             .engineer_login = act_login, .switch_profile = act_switch,
                             .request_quit = act_quit, .snapshot = act_snapshot,
                             .set_lot = act_set_lot, .answer_bay = act_answer,
                             .change_fd = sv_builder_fd(st->view)};
}

