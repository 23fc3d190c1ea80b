/* evq.h - the station's one event queue: many producers (pool workers, the device loop),
 * a few consumers (db writer, view builder, headless printer), each seeing every event in
 * order. One mutex and one condition variable guard it. Posting never waits on a consumer:
 * each consumer's backlog grows as needed, so a slow disk never stalls a flashing thread. */
#pragma once
#include <stdbool.h>
#include "st_event.h"

typedef struct evq evq;

#define EVQ_MAX_SUBS 8

evq *evq_new(void);
/* Registers a consumer before any event is posted; returns its id (>= 0) or -1 if full. */
int evq_subscribe(evq *q);
/* Copies ev to every consumer's backlog. Returns false once the queue is closed or out of
 * memory (the event is then lost; the caller may log words about it). */
bool evq_post(evq *q, const st_event *ev);
/* Next event for consumer `sub`: 1 = *out filled, 0 = timeout (timeout_ms < 0: wait for ever),
 * -1 = the queue is closed and this consumer has seen everything. */
int evq_next(evq *q, int sub, st_event *out, int timeout_ms);
/* Like evq_next without waiting. */
int evq_try_next(evq *q, int sub, st_event *out);
/* No more posts; consumers drain what is left, then get -1. */
void evq_close(evq *q);
void evq_free(evq *q);
/* Events posted so far (for tests and the view's counters). */
unsigned long evq_posted(evq *q);

/* A consumer thread, the one life cycle of the db writer, the view builder and the headless
 * printer: subscribe, take events in batches until the queue is closed and drained, stop.
 * Every callback runs on the consumer's thread; any may be NULL but on_event. */
typedef struct evq_consumer_fns {
    /* How long to wait for the next event, ms (-1: until one comes). NULL: -1. */
    int (*next_wait_ms)(void *ctx);
    /* One event; false ends the batch (what waits is taken in the next). */
    bool (*on_event)(void *ctx, const st_event *e);
    /* After a batch (got_events) or a wait that timed out (!got_events). */
    void (*after)(void *ctx, bool got_events);
    /* The queue is closed and everything in it was taken: the last work, then the thread ends. */
    void (*on_close)(void *ctx);
} evq_consumer_fns;

typedef struct evq_consumer evq_consumer;
/* Subscribes to q (before any post) and starts the thread. NULL with err on failure. */
evq_consumer *evq_consumer_start(evq *q, const evq_consumer_fns *fns, void *ctx, const char *name,
                                 char *err, size_t errlen);
/* After evq_close: waits until the consumer has drained and on_close has run. Idempotent. */
void evq_consumer_join(evq_consumer *c);
/* Joins (if still running) and frees; NULL is fine. */
void evq_consumer_free(evq_consumer *c);
