/* station.c - the station's life cycle, the device loop, the bay table and the profile
 * slots; see station.h. Jobs are in station_jobs.c, the dashboard's actions in
 * station_actions.c.
 *
 * The bay table is guarded by the station's lock and touched by the loop thread (adds,
 * removes, starts), by a worker when its job ends and by the UI thread's actions. Everything observers need travels as
 * events through the queue; nothing here waits on the disk or the terminal. */
#include "station.h"
#include <errno.h>
#include <poll.h>
#include "ctl.h"
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include "central_conf.h"
#include "station_internal.h"
#include "station_log.h"
#include "station_upstream.h"

enum { STATION_UPSTREAM_FLUSH_MS = 3000 };

double station_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void station_poke(int fd)
{
    uint64_t one = 1;
    if (write(fd, &one, sizeof one) < 0 && errno != EAGAIN)
        return; /* an eventfd only fails when saturated: it is readable then anyway */
}

/* ---- profiles ------------------------------------------------------------------------- */

int station_slot_add(station *st, tf_profile *p)
{
    if (st->n_profiles == ST_MAX_PROFILES)
        return -1;
    st_profile_slot *s = &st->profiles[st->n_profiles];
    s->p = *p; /* the slot takes over the images and text */
    memset(p, 0, sizeof *p);
    if (s->p.personal.enabled && s->p.personal.secrets[0]) {
        char why[400];
        s->secrets = tf_secrets_load(s->p.personal.secrets, why, sizeof why);
        if (!s->secrets)
            snprintf(s->secrets_err, sizeof s->secrets_err, "%s:%d: secrets: %s", s->p.path,
                     s->p.personal.secrets_line, why);
    }
    tf_profile_to_spec(&s->p, &s->spec);
    if (st->o.link_timeout_ms > 0)
        s->spec.link_timeout_ms = st->o.link_timeout_ms;
    return st->n_profiles++;
}

/* The slot of the profile at `path`, loaded on first use (at start, before the loop). */
static int profile_slot(station *st, const char *path, char *err, size_t errlen)
{
    for (int i = 0; i < st->n_profiles; i++)
        if (!strcmp(st->profiles[i].p.path, path))
            return i;
    if (st->n_profiles == ST_MAX_PROFILES) {
        snprintf(err, errlen, "%s: more than %d different profiles", path, ST_MAX_PROFILES);
        return -1;
    }
    tf_profile *p = calloc(1, sizeof *p); /* large: not on the stack */
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int idx = -1;
    if (tf_profile_load(path, p, err, errlen) == 0) {
        /* keep the path exactly as asked, so later lookups by the same words match */
        snprintf(p->path, sizeof p->path, "%s", path);
        idx = station_slot_add(st, p);
    }
    free(p);
    return idx;
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

/* ---- bays ----------------------------------------------------------------------------- */

st_bay *station_bay_by_number(station *st, int n)
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
    b->rate_told_profile = -1;
    const sc_bay *cb = station_config_bay_by_number(&st->o.cfg, number);
    b->power = cb && cb->has_power ? &cb->power : NULL;
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
        while (station_bay_by_number(st, next))
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
    if (b->own_cycle && b->busy) {
        /* the adapter's own port was switched on again by this bay's job: the same bay, the
         * same job; the job reopens the port */
        b->present = true;
        b->own_back = true;
        snprintf(b->devnode, sizeof b->devnode, "%s", d->devnode);
        pthread_mutex_unlock(&st->lock);
        pthread_cond_broadcast(&st->power_cv);
        st_notice(st->q, b->number, ST_LOG_INFO, "bay %02d: adapter back on %s after the "
                  "station's power-cycle of its port", b->number, d->devnode);
        return;
    }
    b->present = true;
    b->want_start = true;
    b->ledger_wait = false; /* a new adapter: whatever waited there is gone */
    b->next_probe = 0;
    snprintf(b->devnode, sizeof b->devnode, "%s", d->devnode);
    b->power_feeds_adapter = b->power && !simulated && hub_port_feeds(b->power, d->usb_name);
    if (simulated) {
        snprintf(b->adapter, sizeof b->adapter, "sim");
        b->model = NULL;
    } else {
        snprintf(b->adapter, sizeof b->adapter, "%04x:%04x:%s", d->vid, d->pid, d->serial);
        adapter_ident id = {.vid = d->vid, .pid = d->pid, .driver = d->driver,
                            .product = d->product, .bcd_device = d->bcd_device};
        b->model = adapter_lookup(&id);
    }
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

/* A bay without its adapter has no module to feed: its switched port goes off. */
static void power_off_empty(station *st, int number, const hub_port *power)
{
    char err[400];
    if (power && hub_port_set(power, false, err, sizeof err) < 0)
        st_notice(st->q, number, ST_LOG_WARN, "bay %02d setup: switching its empty port off: %s",
                  number, err);
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
    if (b->own_cycle && b->busy) { /* the job switched the adapter's own port off */
        pthread_mutex_unlock(&st->lock);
        return;
    }
    b->want_start = false;
    if (b->busy) {
        atomic_store(&b->cancel, BK_CANCEL_ADAPTER_REMOVED); /* the worker closes its own port */
        pthread_cond_broadcast(&st->ask_cv); /* a question it waits on ends with the module */
    }
    st_event ev = {.kind = ST_EV_ADAPTER_REMOVE, .ts = station_now(), .bay = b->number};
    snprintf(ev.port, sizeof ev.port, "%s", d->devnode);
    int number = b->number;
    const hub_port *power = b->power_feeds_adapter ? NULL : b->power;
    pthread_mutex_unlock(&st->lock);
    evq_post(st->q, &ev);
    power_off_empty(st, number, power);
}

/* Starts what may start; returns true when once-mode is satisfied. Called with the lock. */
static bool schedule_locked(station *st)
{
    double now = bk_now_s();
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
        if (station_lot_missing_locked(st)) {
            if (!st->lot_wait_said && (b->want_start || st->o.cfg.start_mode == SC_START_POLL))
                st_notice(st->q, 0, ST_LOG_WARN, "%s", STATION_LOT_WAIT_TEXT);
            st->lot_wait_said = true;
            continue;
        }
        pool_fn fn = NULL;
        if (b->ledger_wait) /* held for ledger rows: asked again now and then (poll: probed) */
            fn = now < b->next_probe ? NULL
                 : st->o.cfg.start_mode == SC_START_POLL ? station_probe_task : station_job_task;
        else if (st->o.cfg.start_mode == SC_START_ON_PLUG && b->want_start)
            fn = station_job_task;
        else if (st->o.cfg.start_mode == SC_START_POLL && (b->force || now >= b->next_probe))
            fn = station_probe_task;
        if (!fn)
            continue;
        b->want_start = false;
        b->busy = true;
        atomic_store(&b->cancel, 0);
        if (pool_submit(st->pool, fn, b) < 0) {
            b->busy = false;
            b->want_start = fn == station_job_task; /* try again on the next pass, and say so */
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
    /* configured bays whose adapter is not there: nothing to feed */
    for (int i = 0; i < st->o.cfg.n_bays; i++) {
        const sc_bay *cb = &st->o.cfg.bays[i];
        pthread_mutex_lock(&st->lock);
        st_bay *b = station_bay_by_number(st, cb->bay);
        bool empty = cb->has_power && (!b || !b->present);
        pthread_mutex_unlock(&st->lock);
        if (empty)
            power_off_empty(st, cb->bay, &cb->power);
    }
    for (;;) {
        pthread_mutex_lock(&st->lock);
        bool done = schedule_locked(st);
        pthread_mutex_unlock(&st->lock);
        if (done)
            break;
        struct pollfd p[4] = {{st->stop_fd, POLLIN, 0}, {st->wake_fd, POLLIN, 0},
                              {st->src->ops->fd(st->src), POLLIN, 0}, {st->sig_fd, POLLIN, 0}};
        int timeout = st->o.cfg.start_mode == SC_START_POLL ? 100 : -1;
        pthread_mutex_lock(&st->lock);
        for (int i = 0; i < st->n_bays && timeout < 0; i++)
            if (st->bays[i].present && st->bays[i].ledger_wait)
                timeout = (int)(ST_LEDGER_RECHECK_S * 1000);
        pthread_mutex_unlock(&st->lock);
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
    pthread_cond_broadcast(&st->ask_cv);
    pthread_mutex_unlock(&st->lock);
    sv_builder_set_flags(st->view, true, true);
    return NULL;
}

/* ---- life cycle ----------------------------------------------------------------------- */

/* The writer's word on whether it can save (its thread): new jobs wait while it cannot. */
static void on_db_state(void *ctx, bool stalled)
{
    station *st = ctx;
    pthread_mutex_lock(&st->lock);
    st->db_stalled = stalled;
    pthread_mutex_unlock(&st->lock);
    station_poke(st->wake_fd);
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

/* The forwarder's changes of state as the station's notices (headless lines, event list). */
static void on_upstream_note(void *ctx, bool warn, const char *text)
{
    station *st = ctx;
    st_notice(st->q, 0, warn ? ST_LOG_WARN : ST_LOG_INFO, "%s", text);
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
    st->stop_fd = st->wake_fd = st->sig_fd = st->central_passfile_fd = -1;
    pthread_mutex_init(&st->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&st->power_cv, &ca);
    pthread_cond_init(&st->ask_cv, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&st->serial, 0);
    *why = STATION_FAIL_CONFIG; /* until the profiles are loaded */
    if (station_lot_init(st, err, errlen) < 0)
        goto fail;
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
    central_conf central; /* the forwarder's target: a URL with a password is the config's fault */
    if (central_conf_resolve(o->central_url, &o->cfg, &central, err, errlen) < 0)
        goto fail;
    st->central_passfile_fd = central.passfile_fd; /* the station's, for its life */
    st->central = central;
    *why = STATION_FAIL_SETUP; /* from here on: the secrets, the database, the devices, threads */
    for (int i = 0; i < st->n_profiles; i++)
        if (st->profiles[i].secrets_err[0]) {
            snprintf(err, errlen, "%s", st->profiles[i].secrets_err);
            goto fail;
        }
    snprintf(st->db_path, sizeof st->db_path, "%s",
             o->db_path ? o->db_path : o->cfg.db[0] ? o->cfg.db : "trayflash.db");
    char host[128] = "", holder[256];
    gethostname(host, sizeof host - 1);
    snprintf(holder, sizeof holder, "station %s on %s", o->cfg.name, host[0] ? host : "?");
    if (db_lock_station(st->db_path, holder, &st->db_lock, err, errlen) < 0)
        goto fail;
    if (db_open(st->db_path, false, &st->db, err, errlen) < 0)
        goto fail;
    if (!(st->ledger = st_ledger_open(st->db_path, err, errlen)))
        goto fail;
    int64_t station_id = db_station_upsert(st->db, o->cfg.name, host);
    if (station_id > 0 && db_station_set_line(st->db, station_id, o->cfg.line) < 0)
        station_id = -1;
    st->station_id = station_id;
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
    if (central.configured) {
        central_target t = central_conf_target(&central, "trayflash station");
        if (!(st->up = upstream_start(st->db_path, &t, NULL, on_upstream_note, st, err, errlen)))
            goto fail;
    }
    st_notice(st->q, 0, ST_LOG_INFO, "station %s started: profile %s, %s source, pool %d", o->cfg.name,
           p0->name, st->src->ops->name, o->cfg.pool_size);
    int rc = pthread_create(&st->loop, NULL, loop_main, st);
    if (rc) {
        snprintf(err, errlen, "starting the device loop: %s", strerror(rc));
        goto fail;
    }
    st->loop_started = true;
    char ctl_path[SC_PATH_MAX + 8], ctl_err[SC_PATH_MAX + 128];
    char *db_abs = realpath(st->db_path, NULL); /* ctl finds it from any folder */
    int ctl_rc = ctl_socket_path(db_abs ? db_abs : st->db_path, ctl_path, sizeof ctl_path, ctl_err,
                                 sizeof ctl_err);
    free(db_abs);
    if (ctl_rc < 0 ||
        !(st->ctl = ctl_server_start(st, ctl_path, ctl_err, sizeof ctl_err)))
        st_notice(st->q, 0, ST_LOG_WARN, "no `trayflash ctl` for this station: %s", ctl_err);
    return st;
fail:
    station_free(st);
    return NULL;
}

void station_request_stop(station *st)
{
    station_poke(st->stop_fd);
}

int station_wait(station *st)
{
    if (st->waited)
        return st->result;
    st->waited = true;
    if (st->loop_started)
        pthread_join(st->loop, NULL);
    st->loop_started = false;
    ctl_server_stop(st->ctl);
    st->ctl = NULL;
    pool_free(st->pool); /* every job has ended and posted its end */
    st->pool = NULL;
    backup_keeper_close(st->backup);
    st->backup = NULL;
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
    /* Every record is written: the forwarder sends what it can in a few seconds (at once
     * nothing while the server is away; the rest waits for the next run or `trayflash sync`),
     * and its handle is closed before the checkpoint. Its notices from here on are dropped. */
    upstream_finish(st->up, STATION_UPSTREAM_FLUSH_MS);
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
    out->upstream_configured = st->up != NULL;
    if (st->up) {
        upstream_state u;
        upstream_get(st->up, &u);
        out->upstream_away = u.tried && !u.connected;
        out->upstream_queued = u.queued;
        out->upstream_parked = u.parked;
        out->upstream_last_ok_ts = u.last_ok_ts;
        snprintf(out->upstream_error, sizeof out->upstream_error, "%s", u.error);
    }
    /* Assignment and engineer mode are the station's own state, not events: laid over. */
    pthread_mutex_lock(&st->lock);
    out->engineer_mode = bk_now_s() < st->engineer_until;
    snprintf(out->lot, sizeof out->lot, "%s", st->lot);
    snprintf(out->operator_id, sizeof out->operator_id, "%s", st->operator_id);
    out->lot_waiting = station_lot_missing_locked(st);
    for (int i = 0; i < out->n_bays; i++) {
        st_bay *b = station_bay_by_number(st, out->bays[i].bay);
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
    upstream_free(st->up);
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
    st_ledger_close(st->ledger);
    for (int i = 0; i < st->n_profiles; i++) {
        tf_profile_free(&st->profiles[i].p);
        tf_secrets_free(st->profiles[i].secrets);
    }
    free(st->profiles);
    if (st->stop_fd >= 0)
        close(st->stop_fd);
    if (st->wake_fd >= 0)
        close(st->wake_fd);
    if (st->sig_fd >= 0)
        close(st->sig_fd);
    if (st->central_passfile_fd >= 0)
        close(st->central_passfile_fd);
    pthread_cond_destroy(&st->power_cv);
    pthread_cond_destroy(&st->ask_cv);
    pthread_mutex_destroy(&st->lock);
    free(st);
}
