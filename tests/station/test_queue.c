/* Event queue and pool: many producers and one consumer see every event exactly once and in
 * each producer's order; a second consumer sees the same stream; the pool runs every task
 * and a task sees the cancel flag another thread raised. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include "check.h"
#include "evq.h"
#include "pool.h"

#define PRODUCERS 8
#define PER_PRODUCER 5000

typedef struct producer {
    evq *q;
    int id;
} producer;

static void *produce(void *arg)
{
    producer *p = arg;
    st_event ev = {.kind = ST_EV_JOB_EVENT, .bay = p->id};
    for (int i = 0; i < PER_PRODUCER; i++) {
        ev.serial = (uint64_t)i;
        if (!evq_post(p->q, &ev))
            return (void *)1;
    }
    return NULL;
}

static int drain(evq *q, int sub, long *count, int *bad_order)
{
    long next[PRODUCERS + 1] = {0};
    st_event ev;
    int rc;
    while ((rc = evq_next(q, sub, &ev, 5000)) > 0) {
        if (ev.bay < 1 || ev.bay > PRODUCERS || (long)ev.serial != next[ev.bay])
            (*bad_order)++;
        else
            next[ev.bay]++;
        (*count)++;
    }
    return rc;
}

typedef struct consumer {
    evq *q;
    int sub;
    long count;
    int bad;
    int rc;
} consumer;

static void *consume(void *arg)
{
    consumer *c = arg;
    c->rc = drain(c->q, c->sub, &c->count, &c->bad);
    return NULL;
}

static void test_queue(void)
{
    evq *q = evq_new();
    CHECK(q != NULL);
    consumer c1 = {.q = q, .sub = evq_subscribe(q)}, c2 = {.q = q, .sub = evq_subscribe(q)};
    CHECK(c1.sub >= 0 && c2.sub >= 0 && c1.sub != c2.sub);
    pthread_t ct1, ct2, pt[PRODUCERS];
    pthread_create(&ct1, NULL, consume, &c1);
    pthread_create(&ct2, NULL, consume, &c2);
    producer ps[PRODUCERS];
    for (int i = 0; i < PRODUCERS; i++) {
        ps[i] = (producer){q, i + 1};
        pthread_create(&pt[i], NULL, produce, &ps[i]);
    }
    for (int i = 0; i < PRODUCERS; i++) {
        void *r;
        pthread_join(pt[i], &r);
        CHECK(r == NULL);
    }
    evq_close(q);
    pthread_join(ct1, NULL);
    pthread_join(ct2, NULL);
    CHECK_EQ_INT(c1.count, (long)PRODUCERS * PER_PRODUCER);
    CHECK_EQ_INT(c2.count, (long)PRODUCERS * PER_PRODUCER);
    CHECK_EQ_INT(c1.bad, 0);
    CHECK_EQ_INT(c2.bad, 0);
    CHECK_EQ_INT(c1.rc, -1); /* closed and drained */
    CHECK_EQ_INT((long)evq_posted(q), (long)PRODUCERS * PER_PRODUCER);
    st_event ev = {0};
    CHECK(!evq_post(q, &ev)); /* closed: refused */
    evq_free(q);
}

static void test_timeout(void)
{
    evq *q = evq_new();
    int sub = evq_subscribe(q);
    st_event ev;
    CHECK_EQ_INT(evq_next(q, sub, &ev, 20), 0); /* nothing posted: a timeout, not an event */
    CHECK_EQ_INT(evq_try_next(q, sub, &ev), 0);
    evq_free(q);
}

/* ---- pool ------------------------------------------------------------------------------- */

typedef struct shared {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int started, done;
    atomic_int cancel;
    atomic_int seen_cancel;
    atomic_long sum;
} shared;

typedef struct task {
    shared *s;
    int value;
} task;

static void add_task(void *arg)
{
    task *t = arg;
    atomic_fetch_add(&t->s->sum, t->value);
}

/* Waits (condvar) for the flag another thread raises, as a flash job polls its cancel flag. */
static void cancellable_task(void *arg)
{
    shared *s = arg;
    pthread_mutex_lock(&s->lock);
    s->started++;
    pthread_cond_broadcast(&s->cond);
    while (atomic_load(&s->cancel) == 0)
        pthread_cond_wait(&s->cond, &s->lock);
    atomic_store(&s->seen_cancel, atomic_load(&s->cancel));
    s->done++;
    pthread_mutex_unlock(&s->lock);
}

static void test_pool(void)
{
    char err[128];
    CHECK(pool_new(0, err, sizeof err) == NULL);
    CHECK(strstr(err, "at least one") != NULL);
    pool *p = pool_new(4, err, sizeof err);
    CHECK(p != NULL);
    shared s = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    atomic_init(&s.cancel, 0);
    atomic_init(&s.seen_cancel, 0);
    atomic_init(&s.sum, 0);
    enum { N = 1000 };
    static task ts[N];
    long want = 0;
    for (int i = 0; i < N; i++) {
        ts[i] = (task){&s, i};
        want += i;
        CHECK_EQ_INT(pool_submit(p, add_task, &ts[i]), 0);
    }
    CHECK_EQ_INT(pool_submit(p, cancellable_task, &s), 0);
    pthread_mutex_lock(&s.lock);
    while (s.started == 0)
        pthread_cond_wait(&s.cond, &s.lock);
    CHECK_EQ_INT(s.done, 0); /* running, not finished, until cancelled */
    atomic_store(&s.cancel, 2);
    pthread_cond_broadcast(&s.cond);
    pthread_mutex_unlock(&s.lock);
    pool_free(p); /* runs everything queued, joins */
    CHECK_EQ_INT(atomic_load(&s.sum), want);
    CHECK_EQ_INT(s.done, 1);
    CHECK_EQ_INT(atomic_load(&s.seen_cancel), 2);
}

int main(void)
{
    test_queue();
    test_timeout();
    test_pool();
    return CHECK_DONE();
}
