/* central_records.h - what each kind of outbox row sends: the station file's SELECT of the record
 * (SQLite) and the central store's INSERT of it (PostgreSQL), column for column. The one place
 * where the two stores meet; outbox.c runs the first, central_forward.c the second. */
#pragma once

enum { CENTRAL_RECORD_MAX_COLS = 32 };

typedef struct central_record_kind {
    const char *kind;        /* the outbox's kind: station, profile, image, attempt, assignment */
    const char *local_sql;   /* SQLite: ?1 the row id (outbox.ref_id), ?2 the outbox row's time;
                                the columns in the order of central_sql's parameters */
    const char *central_sql; /* PostgreSQL: $1..$ncols; idempotent (ON CONFLICT DO NOTHING) */
    /* The same for many records at once: $1..$ncols are arrays of the columns (one statement
     * for a run of records: a batch of attempts costs one statement, not a thousand); NULL:
     * one statement per record. */
    const char *central_many_sql;
    int ncols;
} central_record_kind;

/* The kinds, in the outbox's CHECK order; NULL-terminated by kind. */
extern const central_record_kind central_record_kinds[];
/* Its index, -1 for a kind this code does not know. */
int central_record_kind_index(const char *kind);
