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
