/* station_upstream.c - the forwarder thread; see station_upstream.h. Its state is its own,
 * under its own lock; others read copies (upstream_get). */
#include "station_upstream.h"
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include "central_forward.h"
#include "db.h"
#include "outbox.h"

enum { COUNT_EVERY_MS = 1000, LOCAL_RETRY_MS = 5000 };

struct upstream {
    pthread_t thread;
    db *d;
    central_fwd *fwd;
    upstream_opts o;
    upstream_note_fn note;
    void *ctx;
    int stop_fd, poke_fd;
    pthread_mutex_t lock;
    upstream_state st;         /* under lock */
    long long flush_until_ms;  /* under lock: a last drain was asked for, until then (monotonic) */
    bool running;              /* the thread is to be joined (the owner's thread only) */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void drain(int fd)
{
    uint64_t v;
    while (read(fd, &v, sizeof v) > 0) {
    }
}

static long long flush_until(upstream *u)
{
    pthread_mutex_lock(&u->lock);
    long long t = u->flush_until_ms;
    pthread_mutex_unlock(&u->lock);
    return t;
}

/* Waits ms, or until stopped (false), or until a last drain is asked for; a poke (new records)
 * ends the wait only when `pokeable` (an idle wait: a back-off runs its course). */
static bool wait_for(upstream *u, int ms, bool pokeable)
{
    long long end = mono_ms() + ms;
    for (;;) {
        struct pollfd p[2] = {{u->stop_fd, POLLIN, 0}, {u->poke_fd, POLLIN, 0}};
        long long left = end - mono_ms();
        int rc = poll(p, 2, left > 0 ? (int)left : 0);
        if (rc < 0 && errno == EINTR)
            continue;
        if (p[0].revents)
            return false;
        if (p[1].revents)
            drain(u->poke_fd);
        if (rc <= 0 || pokeable || flush_until(u))
            return true;
    }
}

static void note(upstream *u, bool warn, const char *text)
{
    if (u->note)
        u->note(u->ctx, warn, text);
}

static void count(upstream *u)
{
    int64_t q = outbox_queued(u->d);
    outbox_stats s;
    bool have = outbox_get_stats(u->d, &s) == 0;
    pthread_mutex_lock(&u->lock);
    if (q >= 0)
        u->st.queued = q;
    if (have)
        u->st.parked = s.parked;
    pthread_mutex_unlock(&u->lock);
}

/* Sent queue rows are kept a week (`sync --status`, a look at what went lately), then forgotten,
 * an hour's worth of checks apart, at most PRUNE_MAX at a time. */
#define KEEP_SENT_S (7 * 86400.0)
#define PRUNE_EVERY_MS (3600 * 1000LL)
#define PRUNE_MAX 200000

static void *upstream_main(void *arg)
{
    upstream *u = arg;
    int backoff = 0;
    long long last_count = 0, last_prune = 0;
    bool away = false;
    char err[512];
    for (;;) {
        central_fwd_step r;
        int rc = central_fwd_run_step(u->fwd, u->o.batch, &r, err, sizeof err);
        if (rc < 0)
            snprintf(err, sizeof err, "the station's database: %s", db_errmsg(u->d));
        bool failed = rc < 0 || r.failed;
        int wait_ms = 0;
        bool pokeable = false;
        if (failed) {
            backoff = backoff ? backoff * 2 : u->o.backoff_min_ms;
            if (backoff > u->o.backoff_max_ms)
                backoff = u->o.backoff_max_ms;
            wait_ms = rc < 0 && backoff < LOCAL_RETRY_MS ? LOCAL_RETRY_MS : backoff;
        } else {
            backoff = 0;
            if (r.empty) {
                wait_ms = u->o.idle_ms;
                pokeable = true;
            }
        }
        char text[700];
        if (r.parked) {
            snprintf(text, sizeof text, "central: a record was parked (the server refuses it for "
                     "good; trayflash sync --status lists it): %s", err);
            note(u, true, text);
        }
        if (!failed && r.empty && mono_ms() - last_prune >= PRUNE_EVERY_MS) {
            /* the queue is empty: forget rows sent more than a week ago (their records stay) */
            if (outbox_prune_sent(u->d, now_s() - KEEP_SENT_S, PRUNE_MAX) < 0)
                note(u, true, "central: forgetting sent queue rows failed; they are kept");
            last_prune = mono_ms();
        }
        if (mono_ms() - last_count >= COUNT_EVERY_MS || r.empty || failed) {
            count(u);
            last_count = mono_ms();
        }
        pthread_mutex_lock(&u->lock);
        u->st.tried = true;
        u->st.sent += r.sent;
        u->st.connected = !failed;
        if (!failed && (r.sent || r.parked || r.empty)) {
            u->st.last_ok_ts = r.sent ? now_s() : u->st.last_ok_ts;
            u->st.error[0] = 0;
            u->st.retry_ts = 0;
        } else if (failed) {
            snprintf(u->st.error, sizeof u->st.error, "%s", err);
            u->st.retry_ts = now_s() + wait_ms / 1000.0;
        }
        long long queued = u->st.queued;
        pthread_mutex_unlock(&u->lock);
        if (failed != away) {
            if (failed)
                snprintf(text, sizeof text, "central: away, records stay queued and are retried: "
                         "%s (%lld queued)", err, queued);
            else
                snprintf(text, sizeof text, "central: reached again, %lld queued", queued);
            note(u, failed, text);
        }
        away = failed;
        long long flush = flush_until(u);
        if (flush && (failed || r.empty || mono_ms() >= flush))
            break; /* the last drain: done, or the server is away, or its time is up */
        if (!wait_for(u, flush ? 0 : wait_ms, pokeable))
            break;
    }
    return NULL;
}

upstream *upstream_start(const char *db_path, const central_target *t, const upstream_opts *opts,
                         upstream_note_fn note_fn, void *ctx, char *err, size_t errlen)
{
    upstream *u = calloc(1, sizeof *u);
    if (!u) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (opts)
        u->o = *opts;
    if (u->o.backoff_min_ms <= 0)
        u->o.backoff_min_ms = 1000;
    if (u->o.backoff_max_ms <= 0)
        u->o.backoff_max_ms = 120000;
    if (u->o.idle_ms <= 0)
        u->o.idle_ms = 200;
    u->note = note_fn;
    u->ctx = ctx;
    u->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    u->poke_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    pthread_mutex_init(&u->lock, NULL);
    if (u->stop_fd < 0 || u->poke_fd < 0) {
        snprintf(err, errlen, "forwarder: eventfd: %s", strerror(errno));
        goto fail;
    }
    if (db_open(db_path, false, &u->d, err, errlen) < 0)
        goto fail;
    if (!(u->fwd = central_fwd_new(u->d, t))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    int rc = pthread_create(&u->thread, NULL, upstream_main, u);
    if (rc) {
        snprintf(err, errlen, "starting the forwarder: %s", strerror(rc));
        goto fail;
    }
    u->running = true;
    return u;
fail:
    central_fwd_free(u->fwd);
    db_close(u->d);
    if (u->stop_fd >= 0)
        close(u->stop_fd);
    if (u->poke_fd >= 0)
        close(u->poke_fd);
    pthread_mutex_destroy(&u->lock);
    free(u);
    return NULL;
}

void upstream_get(upstream *u, upstream_state *out)
{
    pthread_mutex_lock(&u->lock);
    *out = u->st;
    pthread_mutex_unlock(&u->lock);
}

void upstream_poke(upstream *u)
{
    uint64_t one = 1;
    if (u && write(u->poke_fd, &one, sizeof one) < 0 && errno != EAGAIN)
        return;
}

/* Joins the thread once; its state stays readable until upstream_free. */
static void join_once(upstream *u)
{
    if (!u->running)
        return;
    pthread_join(u->thread, NULL);
    u->running = false;
}

void upstream_stop(upstream *u)
{
    if (!u || !u->running)
        return;
    uint64_t one = 1;
    if (write(u->stop_fd, &one, sizeof one) < 0 && errno != EAGAIN)
        return; /* cannot happen on a fresh eventfd; the join would hang otherwise */
    join_once(u);
}

void upstream_finish(upstream *u, int max_ms)
{
    if (!u || !u->running)
        return;
    pthread_mutex_lock(&u->lock);
    bool away = u->st.tried && !u->st.connected;
    u->flush_until_ms = mono_ms() + (max_ms > 0 ? max_ms : 1);
    pthread_mutex_unlock(&u->lock);
    if (away) {
        upstream_stop(u); /* not worth a try: the next run or `trayflash sync` sends them */
        return;
    }
    upstream_poke(u);
    join_once(u);
}

void upstream_free(upstream *u)
{
    if (!u)
        return;
    upstream_stop(u);
    central_fwd_free(u->fwd);
    db_close(u->d);
    close(u->stop_fd);
    close(u->poke_fd);
    pthread_mutex_destroy(&u->lock);
    free(u);
}
