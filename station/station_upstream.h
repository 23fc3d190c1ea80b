/* station_upstream.h - the forwarder thread: drains the station file's outbox into the central
 * database (db/central_forward.h) on its own SQLite handle and its own connection, so neither a
 * flashing thread nor the dashboard ever waits on the network. While the server is away it backs
 * off (1 s doubling to 2 min) and keeps every record queued; a record the server refuses for good
 * is parked with the server's words (`trayflash sync --status` lists them).
 *
 * Used by the station (one per station, for its life) and by `trayflash sync` without --once. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "central.h"

typedef struct upstream upstream;

typedef struct upstream_state {
    bool connected;            /* the last batch went through (or nothing needed sending) */
    bool tried;                /* at least one look at the queue was made */
    int64_t queued, parked;    /* outbox rows waiting / parked (counted about once a second) */
    int64_t sent;              /* records sent by this thread */
    double last_ok_ts;         /* unix s of the last batch the server committed; 0: none yet */
    double retry_ts;           /* while away: when the next try is (unix s) */
    char error[200];           /* while away: the last failure's words */
} upstream_state;

/* Told of the changes worth a line (reached, away, parked, back): from the thread. */
typedef void (*upstream_note_fn)(void *ctx, bool warn, const char *text);

typedef struct upstream_opts {
    int backoff_min_ms, backoff_max_ms; /* 0: 1000 and 120000 */
    int idle_ms;                        /* looking at an empty queue; 0: 200 */
    int batch;                          /* records per server transaction; 0: CENTRAL_FWD_BATCH */
} upstream_opts;

/* Starts the thread on `db_path` (opened read-write here, apart from the station's writer).
 * NULL with err on failure. opts may be NULL. */
upstream *upstream_start(const char *db_path, const central_target *t, const upstream_opts *opts,
                         upstream_note_fn note, void *ctx, char *err, size_t errlen);
void upstream_get(upstream *u, upstream_state *out);
/* New records: look at the queue now (does not cut a back-off short). */
void upstream_poke(upstream *u);
/* Stops the thread (a batch under way finishes or fails first). Its last state stays readable
 * (upstream_get) until upstream_free. NULL or an already stopped one is fine. */
void upstream_stop(upstream *u);
/* A clean stop: sends what is queued now (batches until the queue is empty, a batch fails, or
 * max_ms have passed), then stops. While the server is away it stops at once: what is queued
 * waits for the next run or `trayflash sync`. NULL is fine. */
void upstream_finish(upstream *u, int max_ms);
/* Stops if needed and frees. NULL is fine. */
void upstream_free(upstream *u);
