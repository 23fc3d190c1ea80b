/* outbox.h - the station file's side of forwarding: reading the queued records (outbox rows not
 * sent and not parked, oldest first) with their contents, and marking them sent or parked. The
 * outbox rows themselves are written by db.c in the transaction of each record.
 *
 * Called on a handle of db.h that is not the station writer's (the forwarder opens its own: WAL
 * lets both write, each in short transactions). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "central_records.h"
#include "db.h"

typedef struct outbox_record {
    int64_t id;                             /* the outbox row */
    int kind;                               /* index into central_record_kinds */
    int64_t ref_id;
    int tries;
    double created_ts;
    char *val[CENTRAL_RECORD_MAX_COLS];     /* the record as text; NULL = SQL NULL */
} outbox_record;

typedef struct outbox_batch {
    outbox_record *rec;
    int n, cap;
} outbox_batch;

/* The next `max` queued records, oldest first, into b (emptied first). A queued row whose kind
 * is unknown or whose record is gone from the file is parked on the spot, with words, and not
 * returned. Returns b->n, -1 on error (db_errmsg). */
int outbox_read(db *d, int max, outbox_batch *b);
void outbox_batch_clear(outbox_batch *b);
void outbox_batch_free(outbox_batch *b);

/* The rows the server committed: sent_ts = ts, tries + 1. One transaction. */
int outbox_mark_sent(db *d, const int64_t *ids, int n, double ts);
/* Rows the server did not take this time: tries + 1 (they stay queued). */
int outbox_mark_tried(db *d, const int64_t *ids, int n);
/* Forgets rows sent before `before_ts` (at most `max` of them, oldest first): the records
 * themselves stay, and a queue that kept every sent row would grow by a row per attempt for
 * ever. Returns how many went, -1 on error. */
int outbox_prune_sent(db *d, double before_ts, int max);
/* A row the server refuses for good: parked with the reason, out of the queue. */
int outbox_park(db *d, int64_t id, const char *reason, double ts);

typedef struct outbox_stats {
    int64_t queued, parked, sent;
    double oldest_queued_ts;  /* created_ts of the oldest queued row; 0 if none */
    double last_sent_ts;      /* 0 if never */
} outbox_stats;

int outbox_get_stats(db *d, outbox_stats *s);
/* Only the queued count (the dashboard's figure, often). */
int64_t outbox_queued(db *d);
/* Every parked row, oldest first: fn returns non-zero to stop. Returns how many were given. */
int outbox_each_parked(db *d, int (*fn)(void *ctx, int64_t id, const char *kind, int64_t ref_id,
                                        double parked_ts, const char *reason),
                       void *ctx);
