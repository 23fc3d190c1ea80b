/* evq.c - per-consumer growable rings under one lock; see evq.h. */
#include "evq.h"
#include <errno.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct evq_sub {
    st_event *ring;
    size_t cap, head, count;
} evq_sub;

struct evq {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    evq_sub subs[EVQ_MAX_SUBS];
    int n_subs;
    bool closed;
    unsigned long posted;
};

evq *evq_new(void)
{
    evq *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    pthread_mutex_init(&q->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->cond, &ca);
    pthread_condattr_destroy(&ca);
    return q;
}

int evq_subscribe(evq *q)
{
    pthread_mutex_lock(&q->lock);
    int id = q->n_subs < EVQ_MAX_SUBS ? q->n_subs++ : -1;
    pthread_mutex_unlock(&q->lock);
    return id;
}

/* A consumer that stalls (a paused terminal, a blocked pipe) must not make the producers -
 * the flashing threads - copy an ever larger backlog under the lock. Past this many waiting
 * events its progress events are dropped: the next one supersedes them anyway. Starts, ends,
 * notices and timeline lines are always kept. */
#define EVQ_SOFT_CAP 4096u

static bool droppable(const st_event *ev)
{
    return ev->kind == ST_EV_JOB_EVENT && ev->ev_kind == BK_EV_PROGRESS;
}

static bool sub_push(evq_sub *s, const st_event *ev)
{
    if (s->count >= EVQ_SOFT_CAP && droppable(ev))
        return true;
    if (s->count == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 64;
        st_event *n = malloc(ncap * sizeof *n);
        if (!n)
            return false;
        for (size_t i = 0; i < s->count; i++)
            n[i] = s->ring[(s->head + i) % s->cap];
        free(s->ring);
        s->ring = n;
        s->cap = ncap;
        s->head = 0;
    }
    s->ring[(s->head + s->count) % s->cap] = *ev;
    s->count++;
    return true;
}

bool evq_post(evq *q, const st_event *ev)
{
    bool ok = true;
    pthread_mutex_lock(&q->lock);
    if (q->closed) {
        ok = false;
    } else {
        for (int i = 0; i < q->n_subs; i++)
            ok = sub_push(&q->subs[i], ev) && ok;
        q->posted++;
        pthread_cond_broadcast(&q->cond);
    }
    pthread_mutex_unlock(&q->lock);
    return ok;
}

static int take(evq *q, evq_sub *s, st_event *out)
{
    if (s->count) {
        *out = s->ring[s->head];
        s->head = (s->head + 1) % s->cap;
        s->count--;
        return 1;
    }
    return q->closed ? -1 : 0;
}

int evq_next(evq *q, int sub, st_event *out, int timeout_ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    if (timeout_ms > 0) {
        dl.tv_sec += timeout_ms / 1000;
        dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (dl.tv_nsec >= 1000000000L) {
            dl.tv_sec++;
            dl.tv_nsec -= 1000000000L;
        }
    }
    pthread_mutex_lock(&q->lock);
    evq_sub *s = &q->subs[sub];
    int rc;
    while ((rc = take(q, s, out)) == 0 && timeout_ms != 0) {
        int w = timeout_ms < 0 ? pthread_cond_wait(&q->cond, &q->lock)
                               : pthread_cond_timedwait(&q->cond, &q->lock, &dl);
        if (w == ETIMEDOUT) {
            rc = take(q, s, out);
            break;
        }
    }
    pthread_mutex_unlock(&q->lock);
    return rc;
}

int evq_try_next(evq *q, int sub, st_event *out)
{
    return evq_next(q, sub, out, 0);
}

void evq_close(evq *q)
{
    pthread_mutex_lock(&q->lock);
    q->closed = true;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->lock);
}

unsigned long evq_posted(evq *q)
{
    pthread_mutex_lock(&q->lock);
    unsigned long n = q->posted;
    pthread_mutex_unlock(&q->lock);
    return n;
}

void evq_free(evq *q)
{
    if (!q)
        return;
    for (int i = 0; i < q->n_subs; i++)
        free(q->subs[i].ring);
    pthread_cond_destroy(&q->cond);
    pthread_mutex_destroy(&q->lock);
    free(q);
}

struct evq_consumer {
    evq *q;
    int sub;
    evq_consumer_fns fns;
    void *ctx;
    pthread_t thread;
    bool started;
};

static void *consumer_main(void *arg)
{
    evq_consumer *c = arg;
    st_event e;
    for (;;) {
        int wait_ms = c->fns.next_wait_ms ? c->fns.next_wait_ms(c->ctx) : -1;
        int rc = evq_next(c->q, c->sub, &e, wait_ms);
        if (rc < 0)
            break;
        /* a batch: what is already there, before the after-work (one commit, one redraw) */
        if (rc > 0 && c->fns.on_event(c->ctx, &e))
            while (evq_try_next(c->q, c->sub, &e) > 0 && c->fns.on_event(c->ctx, &e))
                ;
        if (c->fns.after)
            c->fns.after(c->ctx, rc > 0);
    }
    if (c->fns.on_close)
        c->fns.on_close(c->ctx);
    return NULL;
}

evq_consumer *evq_consumer_start(evq *q, const evq_consumer_fns *fns, void *ctx, const char *name,
                                 char *err, size_t errlen)
{
    evq_consumer *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "%s: out of memory", name);
        return NULL;
    }
    *c = (evq_consumer){.q = q, .fns = *fns, .ctx = ctx};
    c->sub = evq_subscribe(q);
    if (c->sub < 0 || pthread_create(&c->thread, NULL, consumer_main, c)) {
        snprintf(err, errlen, "%s: cannot start", name);
        free(c);
        return NULL;
    }
    c->started = true;
    return c;
}

void evq_consumer_join(evq_consumer *c)
{
    if (c && c->started) {
        pthread_join(c->thread, NULL);
        c->started = false;
    }
}

void evq_consumer_free(evq_consumer *c)
{
    evq_consumer_join(c);
    free(c);
}
