/* station.c - the device loop, the bay table and the jobs; see station.h.
 *
 * The bay table is guarded by the station's lock and touched by the loop thread (adds,
 * removes, starts) and by a worker when its job ends. Everything observers need travels as
 * events through the queue; nothing here waits on the disk or the terminal. */
#include "station.h"
#include <errno.h>
#include <stdarg.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include "auth.h"
#include "bk_image.h"
#include "db_lock.h"
#include "devsrc.h"
#include "pool.h"
#include "bk_link.h"
#include "profile.h"
#include "station_internal.h"
#include "station_log.h"
#include "tf_file.h"

#define ST_MAX_PROFILES 16
#define ST_PROBE_WINDOW_MS 400
#define ST_ENGINEER_IDLE_S 600 /* engineer mode ends after this long without a change */

typedef struct st_profile_slot {
    tf_profile p;
    bk_job_spec spec;
} st_profile_slot;

typedef struct st_bay {
    station *st;
    int number;
    char name[32];
    char id_path[128];
    int profile_idx;
    /* under st->lock: */
    bool present, busy, want_start, force, finished_once;
    bool flashing;          /* busy with a job (not a poll-mode probe): a retry must wait */
    char devnode[128];
    char adapter[64];
    int attempts;
    bool have_last_mac;
    uint8_t last_mac[6];
    double next_probe;
    atomic_int cancel;
} st_bay;

struct station {
    station_opts o;
    char db_path[SC_PATH_MAX];
    st_profile_slot *profiles;
    int n_profiles;
    st_bay bays[SV_MAX_BAYS];
    int n_bays;
    pthread_mutex_t lock;
    bool paused;
    bool db_stalled;        /* the writer holds records it cannot save: no new job starts */
    double engineer_until;  /* monotonic s; engineer mode while now < this (UI thread + lock) */
    int all_bays_idx;       /* profile an engineer set for "all bays" (also for bays still to
                               come), -1 = the config's assignment */
    int pass, fail;
    int fail_by_cause[BK_CAUSE_COUNT]; /* the failed attempts' causes: the CLI's exit status */
    int stop_signal;        /* SIGINT/SIGTERM that stopped the loop, 0 if none (under lock) */
    evq *q;
    pool *pool;
    db *db;
    db_lock *db_lock;       /* one station process per database file, for the station's life */
    db_writer *dbw;
    sv_builder *view;
    headless *hl;
    devsrc *src;
    bksim_server *sim;
    int stop_fd, wake_fd, sig_fd;
    pthread_t loop;
    bool loop_started, waited;
    atomic_uint_fast64_t serial;
    bool wire_trace;        /* TRAYFLASH_DEBUG=wire: every job's frames as debug notices */
    char err[512];
    int result;
};

double station_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void poke(int fd)
{
    uint64_t one = 1;
    if (write(fd, &one, sizeof one) < 0 && errno != EAGAIN)
        return; /* an eventfd only fails when saturated: it is readable then anyway */
}

/* ---- profiles ------------------------------------------------------------------------- */

static int profile_slot(station *st, const char *path, char *err, size_t errlen)
{
    for (int i = 0; i < st->n_profiles; i++)
        if (!strcmp(st->profiles[i].p.path, path))
            return i;
    if (st->n_profiles == ST_MAX_PROFILES) {
        snprintf(err, errlen, "%s: more than %d different profiles", path, ST_MAX_PROFILES);
        return -1;
    }
    st_profile_slot *s = &st->profiles[st->n_profiles];
    if (tf_profile_load(path, &s->p, err, errlen) < 0)
        return -1;
    /* keep the path exactly as asked, so later lookups by the same words match */
    snprintf(s->p.path, sizeof s->p.path, "%s", path);
    tf_profile_to_spec(&s->p, &s->spec);
    if (st->o.link_timeout_ms > 0)
        s->spec.link_timeout_ms = st->o.link_timeout_ms;
    return st->n_profiles++;
}

/* The slot bay `number` flashes: an engineer's all-bays choice, else the config's assignment
 * (bay, range, station default). Every configured profile was loaded at start. */
static int bay_profile_idx(station *st, int number)
{
    if (st->all_bays_idx >= 0)
        return st->all_bays_idx;
    const char *path = station_config_bay_profile(&st->o.cfg, number, st->profiles[0].p.path);
    for (int i = 0; i < st->n_profiles; i++)
        if (!strcmp(st->profiles[i].p.path, path))
            return i;
    return 0;
}

/* The image on disk must still be what the profile pinned: a file swapped under a running
 * station must never reach a module. */
static bool image_pin_holds(const tf_profile *p, char *why, size_t whylen)
{
    for (int i = 0; i < p->n_variants; i++) {
        const tf_profile_variant *v = &p->variants[i];
        /* a FIFO or /dev/zero swapped in must be refused, not read forever */
        int fd = tf_file_open_regular(v->image_path, NULL, why, whylen);
        FILE *f = fd < 0 ? NULL : fdopen(fd, "rb");
        if (!f) {
            if (fd >= 0) {
                snprintf(why, whylen, "%s: %s", v->image_path, strerror(errno));
                close(fd);
            }
            return false;
        }
        size_t cap = 1 << 20, len = 0;
        uint8_t *buf = malloc(cap);
        size_t n;
        while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
            len += n;
            if (len == cap) {
                uint8_t *nb = realloc(buf, cap * 2);
                if (!nb) {
                    free(buf);
                    buf = NULL;
                    break;
                }
                buf = nb;
                cap *= 2;
            }
        }
        int read_errno = ferror(f) ? errno : 0;
        fclose(f);
        if (buf && read_errno) {
            snprintf(why, whylen, "%s: read error after %zu bytes: %s", v->image_path, len,
                     strerror(read_errno));
            free(buf);
            return false;
        }
        if (!buf) {
            snprintf(why, whylen, "%s: out of memory reading the image", v->image_path);
            return false;
        }
        char hex[65];
        bk_sha256_hex(buf, len, hex);
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
} job_ctx;

static void on_job_event(void *ctx, const bk_event *e)
{
    job_ctx *j = ctx;
    st_event ev = {.kind = ST_EV_JOB_EVENT, .ts = station_now(), .bay = j->b->number,
                   .serial = j->serial, .ev_kind = e->kind, .phase = e->phase,
                   .bytes_done = e->bytes_done, .bytes_total = e->bytes_total,
                   .address = e->address, .baud = e->baud, .rate_bps = e->rate_bps, .t_s = e->t_s};
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

static void job_done(st_bay *b, const bk_result *r, const st_event *ev)
{
    station *st = b->st;
    pthread_mutex_lock(&st->lock);
    b->busy = false;
    b->flashing = false;
    b->force = false;
    b->finished_once = true;
    if (r) {
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
    b->next_probe = mono_s() + st->o.cfg.poll_interval_ms / 1000.0;
    if (ev)
        evq_post(st->q, ev);
    pthread_mutex_unlock(&st->lock);
    poke(st->wake_fd);
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
    b->flashing = true;
    const st_profile_slot *ps = &st->profiles[b->profile_idx];
    char devnode[128], adapter[64];
    snprintf(devnode, sizeof devnode, "%s", b->devnode);
    snprintf(adapter, sizeof adapter, "%s", b->adapter);
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
    snprintf(ev.bay_name, sizeof ev.bay_name, "%s", b->name);
    snprintf(ev.product, sizeof ev.product, "%s", ps->p.product);
    evq_post(st->q, &ev);

    bk_job_hooks hooks = {.on_event = on_job_event, .ctx = &j, .cancel = &b->cancel};
    if (st->wire_trace)
        hooks.trace = (bk_trace_hook){.fn = on_job_frame, .ctx = &j};
    st_event end = {.kind = ST_EV_JOB_END, .bay = b->number, .serial = j.serial};
    bk_flash_job(devnode, &ps->spec, &hooks, &end.result);
    end.ts = station_now();
    snprintf(end.port, sizeof end.port, "%s", devnode);
    job_done(b, &end.result, &end);
}

static void job_task(void *arg)
{
    run_job(arg);
}

/* Poll mode: ask first, flash only a module that answers and is not the one already done. */
static void probe_task(void *arg)
{
    st_bay *b = arg;
    station *st = b->st;
    pthread_mutex_lock(&st->lock);
    char devnode[128];
    snprintf(devnode, sizeof devnode, "%s", b->devnode);
    bk_chip chip = st->profiles[b->profile_idx].p.variants[0].chip;
    bool force = b->force;
    pthread_mutex_unlock(&st->lock);
    uint8_t mac[6];
    bool have_mac;
    char err[200] = "";
    bk_probe_outcome out = bk_probe(devnode, chip, ST_PROBE_WINDOW_MS, &b->cancel, mac, &have_mac,
                                    err, sizeof err);
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
    b->next_probe = mono_s() + st->o.cfg.poll_interval_ms / 1000.0;
    pthread_mutex_unlock(&st->lock);
}

/* ---- bays ----------------------------------------------------------------------------- */

static st_bay *bay_by_number(station *st, int n)
{
    for (int i = 0; i < st->n_bays; i++)
        if (st->bays[i].number == n)
            return &st->bays[i];
    return NULL;
}

static st_bay *bay_by_path(station *st, const char *id_path)
{
    for (int i = 0; i < st->n_bays; i++)
        if (!strcmp(st->bays[i].id_path, id_path))
            return &st->bays[i];
    return NULL;
}

static st_bay *bay_add(station *st, int number, const char *name, const char *id_path,
                       int profile_idx)
{
    if (st->n_bays == SV_MAX_BAYS)
        return NULL;
    st_bay *b = &st->bays[st->n_bays++];
    memset(b, 0, sizeof *b);
    b->st = st;
    b->number = number;
    if (name && name[0])
        snprintf(b->name, sizeof b->name, "%s", name);
    else
        snprintf(b->name, sizeof b->name, "%02d", number);
    snprintf(b->id_path, sizeof b->id_path, "%s", id_path);
    b->profile_idx = profile_idx;
    atomic_init(&b->cancel, 0);
    return b;
}

static void handle_add(station *st, const devsrc_event *d, bool simulated)
{
    if (!simulated && !station_config_allows(&st->o.cfg, d->vid, d->pid)) {
        st_notice(st->q, 0, ST_LOG_INFO, "ignored %s: adapter %04x:%04x is not in the allow list",
               d->devnode, d->vid, d->pid);
        return;
    }
    pthread_mutex_lock(&st->lock);
    st_bay *b = bay_by_path(st, d->id_path);
    bool fresh = false;
    if (!b) {
        int next = 1;
        while (bay_by_number(st, next))
            next++;
        const sc_bay *cb = station_config_bay_by_number(&st->o.cfg, next);
        b = bay_add(st, next, cb ? cb->name : NULL, d->id_path, bay_profile_idx(st, next));
        fresh = true;
    }
    if (!b) {
        pthread_mutex_unlock(&st->lock);
        st_notice(st->q, 0, ST_LOG_ERROR, "no free bay for %s (%s): %d bays in use", d->devnode, d->id_path,
               SV_MAX_BAYS);
        return;
    }
    b->present = true;
    b->want_start = true;
    b->next_probe = 0;
    snprintf(b->devnode, sizeof b->devnode, "%s", d->devnode);
    if (simulated)
        snprintf(b->adapter, sizeof b->adapter, "sim");
    else
        snprintf(b->adapter, sizeof b->adapter, "%04x:%04x:%s", d->vid, d->pid, d->serial);
    st_event ev = {.kind = ST_EV_ADAPTER_ADD, .ts = station_now(), .bay = b->number};
    snprintf(ev.port, sizeof ev.port, "%s", b->devnode);
    snprintf(ev.adapter, sizeof ev.adapter, "%s", b->adapter);
    snprintf(ev.bay_name, sizeof ev.bay_name, "%s", b->name);
    snprintf(ev.product, sizeof ev.product, "%s", st->profiles[b->profile_idx].p.product);
    int number = b->number;
    pthread_mutex_unlock(&st->lock);
    evq_post(st->q, &ev);
    if (fresh && st->o.cfg.n_bays > 0)
        st_notice(st->q, number, ST_LOG_WARN, "unknown port %s (%s) became bay %02d: add it to %s",
               d->id_path, d->devnode, number, st->o.cfg.path);
}

static void handle_remove(station *st, const devsrc_event *d)
{
    pthread_mutex_lock(&st->lock);
    st_bay *b = bay_by_path(st, d->id_path);
    if (!b || !b->present || strcmp(b->devnode, d->devnode)) {
        pthread_mutex_unlock(&st->lock);
        return;
    }
    b->present = false;
    b->want_start = false;
    if (b->busy)
        atomic_store(&b->cancel, BK_CANCEL_ADAPTER_REMOVED); /* the worker closes its own port */
    st_event ev = {.kind = ST_EV_ADAPTER_REMOVE, .ts = station_now(), .bay = b->number};
    snprintf(ev.port, sizeof ev.port, "%s", d->devnode);
    pthread_mutex_unlock(&st->lock);
    evq_post(st->q, &ev);
}

/* Starts what may start; returns true when once-mode is satisfied. Called with the lock. */
static bool schedule_locked(station *st)
{
    double now = mono_s();
    bool all_done = true;
    int present = 0;
    for (int i = 0; i < st->n_bays; i++) {
        st_bay *b = &st->bays[i];
        if (!b->present)
            continue;
        present++;
        if (!b->finished_once || b->busy)
            all_done = false;
        if (b->busy || st->paused || st->db_stalled)
            continue;
        pool_fn fn = NULL;
        if (st->o.cfg.start_mode == SC_START_ON_PLUG && b->want_start)
            fn = job_task;
        else if (st->o.cfg.start_mode == SC_START_POLL && (b->force || now >= b->next_probe))
            fn = probe_task;
        if (!fn)
            continue;
        b->want_start = false;
        b->busy = true;
        atomic_store(&b->cancel, 0);
        if (pool_submit(st->pool, fn, b) < 0) {
            b->busy = false;
            b->want_start = fn == job_task; /* try again on the next pass, and say so */
            st_notice(st->q, b->number, ST_LOG_ERROR, "bay %02d: the thread pool refused a job; retrying", b->number);
        }
    }
    return st->o.once && present > 0 && all_done;
}

static void *loop_main(void *arg)
{
    station *st = arg;
    devsrc_event evs[SV_MAX_BAYS];
    char err[256];
    bool simulated = st->o.sim_count > 0;
    int n = st->src->ops->enumerate(st->src, evs, SV_MAX_BAYS, err, sizeof err);
    if (n < 0)
        st_notice(st->q, 0, ST_LOG_ERROR, "%s", err);
    for (int i = 0; i < n; i++)
        handle_add(st, &evs[i], simulated);
    for (;;) {
        pthread_mutex_lock(&st->lock);
        bool done = schedule_locked(st);
        pthread_mutex_unlock(&st->lock);
        if (done)
            break;
        struct pollfd p[4] = {{st->stop_fd, POLLIN, 0}, {st->wake_fd, POLLIN, 0},
                              {st->src->ops->fd(st->src), POLLIN, 0}, {st->sig_fd, POLLIN, 0}};
        int timeout = st->o.cfg.start_mode == SC_START_POLL ? 100 : -1;
        if (poll(p, 4, timeout) < 0 && errno != EINTR)
            break;
        if (p[0].revents)
            break;
        if (p[3].revents) {
            struct signalfd_siginfo si;
            if (read(st->sig_fd, &si, sizeof si) == (ssize_t)sizeof si) {
                st_notice(st->q, 0, ST_LOG_INFO, "signal %d: stopping, running jobs are cancelled",
                       (int)si.ssi_signo);
                pthread_mutex_lock(&st->lock);
                st->stop_signal = (int)si.ssi_signo;
                pthread_mutex_unlock(&st->lock);
            }
            break;
        }
        if (p[1].revents) {
            uint64_t v;
            if (read(st->wake_fd, &v, sizeof v) < 0 && errno != EAGAIN)
                break;
        }
        if (p[2].revents) {
            devsrc_event ev;
            while (st->src->ops->next(st->src, &ev) > 0) {
                if (ev.action == DEVSRC_ADD)
                    handle_add(st, &ev, simulated);
                else
                    handle_remove(st, &ev);
            }
        }
    }
    /* Shutdown: no new jobs; running ones end with cause cancelled. */
    pthread_mutex_lock(&st->lock);
    st->paused = true;
    for (int i = 0; i < st->n_bays; i++)
        if (st->bays[i].busy)
            atomic_store(&st->bays[i].cancel, BK_CANCEL_OPERATOR);
    pthread_mutex_unlock(&st->lock);
    sv_builder_set_flags(st->view, true, true);
    return NULL;
}

/* ---- actions (called on the UI thread) ------------------------------------------------ */

static int act_retry(void *ctx, int bay, char *msg, size_t msglen)
{
    station *st = ctx;
    pthread_mutex_lock(&st->lock);
    st_bay *b = bay_by_number(st, bay);
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
    poke(st->wake_fd);
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
    poke(st->wake_fd);
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
    st->engineer_until = mono_s() + ST_ENGINEER_IDLE_S;
    pthread_mutex_unlock(&st->lock);
    st_notice(st->q, 0, ST_LOG_INFO, "engineer mode on for OS user %s", user);
    snprintf(msg, msglen, "engineer mode on");
    poke(st->wake_fd);
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
    bool engineer = mono_s() < st->engineer_until;
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
    if (idx < 0 && st->n_profiles < ST_MAX_PROFILES) {
        st_profile_slot *s = &st->profiles[st->n_profiles];
        s->p = *np; /* the slot takes over the images and text */
        memset(np, 0, sizeof *np);
        tf_profile_to_spec(&s->p, &s->spec);
        if (st->o.link_timeout_ms > 0)
            s->spec.link_timeout_ms = st->o.link_timeout_ms;
        idx = st->n_profiles++;
    }
    if (idx >= 0) {
        for (int i = 0; i < st->n_bays; i++)
            if (bay == 0 || st->bays[i].number == bay)
                st->bays[i].profile_idx = idx; /* a running job keeps its own spec */
        if (bay == 0)
            st->all_bays_idx = idx;
        for (int i = 0; i < n; i++)
            changes[i].new_p = &st->profiles[idx].p;
        st->engineer_until = mono_s() + ST_ENGINEER_IDLE_S;
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
    poke(st->wake_fd);
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

static void act_snapshot(void *ctx, station_view *out)
{
    station_snapshot(ctx, out);
}

station_actions station_get_actions(station *st)
{
    return (station_actions){.ctx = st, .retry_bay = act_retry, .set_paused = act_pause,
                             .engineer_login = act_login, .switch_profile = act_switch,
                             .request_quit = act_quit, .snapshot = act_snapshot,
                             .change_fd = sv_builder_fd(st->view)};
}

/* ---- life cycle ----------------------------------------------------------------------- */

/* The writer's word on whether it can save (its thread): new jobs wait while it cannot. */
static void on_db_state(void *ctx, bool stalled)
{
    station *st = ctx;
    pthread_mutex_lock(&st->lock);
    st->db_stalled = stalled;
    pthread_mutex_unlock(&st->lock);
    poke(st->wake_fd);
}

static int start_sim(station *st, char *err, size_t errlen)
{
    bksim_config cfg = {.count = st->o.sim_count, .link_dir = NULL, .seed = st->o.sim_seed,
                        .time_scale = st->o.sim_time_scale > 0 ? st->o.sim_time_scale : 1.0,
                        .modules = (bksim_module_config *)st->o.sim_modules};
    st->sim = bksim_start(&cfg, err, errlen);
    if (!st->sim)
        return -1;
    const char **paths = calloc((size_t)st->o.sim_count, sizeof *paths);
    if (!paths) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int i = 0; i < st->o.sim_count; i++)
        paths[i] = bksim_link_path(st->sim, i);
    st->src = devsrc_sim_open(paths, st->o.sim_count, err, errlen);
    free(paths);
    return st->src ? 0 : -1;
}

station *station_start(const station_opts *o, char *err, size_t errlen)
{
    return station_start_why(o, NULL, err, errlen);
}

station *station_start_why(const station_opts *o, station_failure *why, char *err, size_t errlen)
{
    station_failure dummy;
    if (!why)
        why = &dummy;
    *why = STATION_FAIL_SETUP; /* out of memory; from the profiles on, what failed says */
    station *st = calloc(1, sizeof *st);
    if (!st || !(st->profiles = calloc(ST_MAX_PROFILES, sizeof *st->profiles))) {
        free(st);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    st->o = *o;
    st->wire_trace = st_debug_wanted("wire");
    *why = STATION_FAIL_CONFIG; /* the profiles and the bays' assignment */
    st->stop_fd = st->wake_fd = st->sig_fd = -1;
    pthread_mutex_init(&st->lock, NULL);
    atomic_init(&st->serial, 0);
    *why = STATION_FAIL_CONFIG; /* until the profiles are loaded */
    const char *prof = o->profile_path ? o->profile_path : o->cfg.profile;
    if (!prof || !prof[0]) {
        snprintf(err, errlen, "no profile: give --profile FILE or [station] profile");
        goto fail;
    }
    if (profile_slot(st, prof, err, errlen) < 0)
        goto fail;
    st->all_bays_idx = -1;
    /* Every assigned profile is loaded (and refused, file:line) before anything starts. */
    for (int i = 0; i < o->cfg.n_bays; i++)
        if (o->cfg.bays[i].profile[0] && profile_slot(st, o->cfg.bays[i].profile, err, errlen) < 0)
            goto fail;
    for (int i = 0; i < o->cfg.n_ranges; i++)
        if (profile_slot(st, o->cfg.ranges[i].profile, err, errlen) < 0)
            goto fail;
    for (int i = 0; i < o->cfg.n_bays; i++) {
        const sc_bay *cb = &o->cfg.bays[i];
        if (cb->id_path[0]) /* a bay known by number only is made when its adapter comes */
            bay_add(st, cb->bay, cb->name, cb->id_path, bay_profile_idx(st, cb->bay));
    }
    *why = STATION_FAIL_SETUP; /* from here on: the database, the devices, the threads */
    snprintf(st->db_path, sizeof st->db_path, "%s",
             o->db_path ? o->db_path : o->cfg.db[0] ? o->cfg.db : "trayflash.db");
    char host[128] = "", holder[256];
    gethostname(host, sizeof host - 1);
    snprintf(holder, sizeof holder, "station %s on %s", o->cfg.name, host[0] ? host : "?");
    if (db_lock_station(st->db_path, holder, &st->db_lock, err, errlen) < 0)
        goto fail;
    if (db_open(st->db_path, false, &st->db, err, errlen) < 0)
        goto fail;
    int64_t station_id = db_station_upsert(st->db, o->cfg.name, host);
    if (station_id < 0) {
        snprintf(err, errlen, "database: recording the station: %s", db_errmsg(st->db));
        goto fail;
    }
    /* Only this station's leftovers: the lock says no other process of it is running. */
    if (db_mark_interrupted(st->db, station_id, station_now()) < 0) {
        snprintf(err, errlen, "%s: closing a previous run's attempts: %s", st->db_path,
                 db_errmsg(st->db));
        goto fail;
    }
    st->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    st->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (o->watch_signals) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        st->sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    }
    if (st->stop_fd < 0 || st->wake_fd < 0 || (o->watch_signals && st->sig_fd < 0)) {
        snprintf(err, errlen, "eventfd/signalfd: %s", strerror(errno));
        goto fail;
    }
    if (o->sim_count > 0 ? start_sim(st, err, errlen) < 0
                         : !(st->src = devsrc_udev_open(err, errlen)))
        goto fail;

    /* the first view (large: on the heap, ours until the builder has copied it) */
    station_view *v0 = calloc(1, sizeof *v0);
    if (!v0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    snprintf(v0->station_name, sizeof v0->station_name, "%s", o->cfg.name);
    const tf_profile *p0 = &st->profiles[0].p;
    snprintf(v0->profile_name, sizeof v0->profile_name, "%s", p0->name);
    snprintf(v0->image_sha_prefix, sizeof v0->image_sha_prefix, "%.8s", p0->variants[0].sha256_pin);
    snprintf(v0->chip, sizeof v0->chip, "%s", bk_chip_name(p0->variants[0].chip));
    v0->baud = p0->n_bauds ? p0->bauds[0] : 0;
    v0->session_start_ts = station_now();
    v0->yield_session = v0->yield_today = v0->first_pass_today = -1;
    v0->today_modules = -1;
    for (int i = 0; i < st->n_bays; i++) {
        bay_view *bv = &v0->bays[v0->n_bays++];
        bv->bay = st->bays[i].number;
        snprintf(bv->name, sizeof bv->name, "%s", st->bays[i].name);
        snprintf(bv->product, sizeof bv->product, "%s",
                 st->profiles[st->bays[i].profile_idx].p.product);
    }
    if (!(st->q = evq_new()))
        snprintf(err, errlen, "out of memory");
    else if ((st->dbw = db_writer_new(st->q, st->db, station_id, on_db_state, st, err, errlen)))
        st->view = sv_builder_new(st->q, v0, st->db_path, err, errlen);
    free(v0);
    if (!st->q || !st->dbw || !st->view ||
        ((o->headless_out || o->use_syslog) &&
         !(st->hl = headless_new(st->q, o->headless_out, o->use_syslog, err, errlen))))
        goto fail;
    if (!(st->pool = pool_new(o->cfg.pool_size, err, errlen)))
        goto fail;
    st_notice(st->q, 0, ST_LOG_INFO, "station %s started: profile %s, %s source, pool %d", o->cfg.name,
           p0->name, st->src->ops->name, o->cfg.pool_size);
    int rc = pthread_create(&st->loop, NULL, loop_main, st);
    if (rc) {
        snprintf(err, errlen, "starting the device loop: %s", strerror(rc));
        goto fail;
    }
    st->loop_started = true;
    return st;
fail:
    station_free(st);
    return NULL;
}

void station_request_stop(station *st)
{
    poke(st->stop_fd);
}

int station_wait(station *st)
{
    if (st->waited)
        return st->result;
    st->waited = true;
    if (st->loop_started)
        pthread_join(st->loop, NULL);
    st->loop_started = false;
    pool_free(st->pool); /* every job has ended and posted its end */
    st->pool = NULL;
    if (st->q)
        evq_close(st->q);
    if (st->dbw) {
        db_writer_join(st->dbw);
        if (db_writer_failures(st->dbw)) {
            char last[256];
            db_writer_last_error(st->dbw, last, sizeof last);
            snprintf(st->err, sizeof st->err, "%s: %d database records failed, last: %s",
                     st->db_path, db_writer_failures(st->dbw), last);
            st->result = -1;
        }
    }
    if (st->view)
        sv_builder_join(st->view);
    if (st->hl)
        headless_join(st->hl);
    /* Every reader of ours is done: the main file alone holds the records from here on, so a
     * plain copy of it is the whole database. A failure leaves them in the WAL, still safe. */
    if (st->db && db_checkpoint(st->db) < 0 && !st->err[0])
        snprintf(st->err, sizeof st->err, "note: %s (the rows are safe in the -wal file beside it; "
                 "copy the database with `trayflash db snapshot`)", db_errmsg(st->db));
    if (st->db)
        db_close(st->db);
    st->db = NULL;
    db_unlock(st->db_lock);
    st->db_lock = NULL;
    /* the simulator lives on until station_free: tests read the modules' flash */
    return st->result;
}

const char *station_error(station *st)
{
    return st->err;
}

int station_write_unsaved(station *st, FILE *out)
{
    return st->dbw ? db_writer_write_unsaved(st->dbw, out) : 0;
}

void station_snapshot(station *st, station_view *out)
{
    sv_builder_snapshot(st->view, out);
    out->db_pending = st->dbw ? db_writer_pending(st->dbw, out->db_stall, sizeof out->db_stall) : 0;
    /* Assignment and engineer mode are the station's own state, not events: laid over. */
    pthread_mutex_lock(&st->lock);
    out->engineer_mode = mono_s() < st->engineer_until;
    for (int i = 0; i < out->n_bays; i++) {
        st_bay *b = bay_by_number(st, out->bays[i].bay);
        if (b)
            snprintf(out->bays[i].product, sizeof out->bays[i].product, "%s",
                     st->profiles[b->profile_idx].p.product);
    }
    pthread_mutex_unlock(&st->lock);
}

bksim_server *station_sim(station *st)
{
    return st->sim;
}

void station_counts(station *st, int *pass, int *fail)
{
    pthread_mutex_lock(&st->lock);
    *pass = st->pass;
    *fail = st->fail;
    pthread_mutex_unlock(&st->lock);
}

void station_fail_causes(station *st, int out[BK_CAUSE_COUNT])
{
    pthread_mutex_lock(&st->lock);
    memcpy(out, st->fail_by_cause, sizeof st->fail_by_cause);
    pthread_mutex_unlock(&st->lock);
}

const char *station_db_path(station *st)
{
    return st->db_path;
}

int station_stop_signal(station *st)
{
    pthread_mutex_lock(&st->lock);
    int signo = st->stop_signal;
    pthread_mutex_unlock(&st->lock);
    return signo;
}

void station_free(station *st)
{
    if (!st)
        return;
    if (st->loop_started)
        station_request_stop(st);
    station_wait(st);
    db_writer_free(st->dbw);
    sv_builder_free(st->view);
    headless_free(st->hl);
    evq_free(st->q);
    if (st->src)
        st->src->ops->close(st->src);
    if (st->sim)
        bksim_stop(st->sim);
    if (st->db)
        db_close(st->db);
    db_unlock(st->db_lock);
    for (int i = 0; i < st->n_profiles; i++)
        tf_profile_free(&st->profiles[i].p);
    free(st->profiles);
    if (st->stop_fd >= 0)
        close(st->stop_fd);
    if (st->wake_fd >= 0)
        close(st->wake_fd);
    if (st->sig_fd >= 0)
        close(st->sig_fd);
    pthread_mutex_destroy(&st->lock);
    free(st);
}
