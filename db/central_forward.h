/* central_forward.h - one step of forwarding: the next batch of the station file's outbox
 * (outbox.h) into the central store (central.h), in ONE server transaction; the rows are marked
 * sent only after the server's COMMIT said yes. Every INSERT is idempotent (ON CONFLICT DO
 * NOTHING on the record's key), so a batch sent again after a crash or a lost reply is harmless.
 *
 * A record the server refuses for what it holds (a broken constraint, SQLSTATE class 23, or a
 * value it cannot take, class 22) is parked with the server's words, and the rest of the batch
 * is sent again without it at once: it never holds up the rows behind it. Any other failure (the
 * server away, the connection lost, a privilege missing) leaves every row queued, counts a try,
 * and is the caller's to retry later (station/station_upstream.c backs off; `trayflash sync`).
 *
 * Not thread-safe: one forwarder per thread, on its own db handle. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "central.h"
#include "db.h"

typedef struct central_fwd central_fwd;

typedef struct central_fwd_step {
    int sent;          /* records the server committed in this step */
    int parked;        /* records parked in this step */
    bool empty;        /* nothing was queued */
    bool failed;       /* the batch did not go through this time (err says why) */
} central_fwd_step;

/* d: a read-write handle on the station file, the caller's (not the station writer's). The
 * target's strings are copied. */
central_fwd *central_fwd_new(db *d, const central_target *t);
/* Sends up to `max` queued records. 0, with *out saying what happened (a failed batch is 0 too,
 * out->failed with err); -1 only when the station file itself failed (db_errmsg on d). */
int central_fwd_run_step(central_fwd *f, int max, central_fwd_step *out, char *err, size_t errlen);
/* Drops the connection (the next step connects again). */
void central_fwd_disconnect(central_fwd *f);
void central_fwd_free(central_fwd *f);
/* Seconds spent so far reading the outbox, in the server's round trips, marking rows sent. */
void central_fwd_times(const central_fwd *f, double *read_s, double *push_s, double *mark_s);

enum { CENTRAL_FWD_BATCH = 1000 };
