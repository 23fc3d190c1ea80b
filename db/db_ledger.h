/* db_ledger.h - the per-device ledger (schema 5): rows a profile's modules take one each, keyed
 * by MAC, in the station's database.
 *
 * A row is free, reserved (a module's MAC holds it: it was personalised, not yet verified) or
 * used (its config sector verified). Taking a row is one BEGIN IMMEDIATE transaction keyed by
 * the MAC: the MAC's own row if it has one (a re-flash, a retry after a failure or a crash),
 * else the first free row. So two bays, threads or processes never take one row, and a module
 * never takes two. A ledger handle is used by one thread (the station puts a lock around it).
 * Errors are values: -1 and db_errmsg(d) (the db handle's words). Nothing here prints. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "db.h"

typedef struct db_ledger db_ledger;

/* Statements prepared once for `d` (a read-write handle the caller keeps open). */
db_ledger *db_ledger_new(db *d);
void db_ledger_free(db_ledger *l);

/* The central store's part (issue 14, being built): a key another station already holds is
 * refused at import, and a MAC that got a row elsewhere gets that row (by key), not a new one.
 * Either function may be NULL; the station passes NULL until the central store exists. */
typedef struct db_ledger_central {
    /* 1 if another station holds `key` of the profile's ledger (0 no, -1 cannot tell: refuse) */
    int (*holds_key)(void *ctx, const char *profile, const char *key);
    /* 1 and key filled if `mac` got a row elsewhere (0 none, -1 cannot tell: hold the module) */
    int (*row_of_mac)(void *ctx, const char *profile, const char *mac, char *key, size_t keylen);
    void *ctx;
} db_ledger_central;

typedef struct db_ledger_counts {
    int64_t total, free, reserved, used;
} db_ledger_counts;

/* One import: `n_rows` rows of `n_columns` cells each (cells[r * n_columns + c]), the first
 * column the key, lines[r] the CSV line of row r. All or nothing: a key already in the
 * profile's ledger (or twice in the file) refuses the whole import with err = "FILE:LINE: ...".
 * Returns the rows imported, or -1. */
int64_t db_ledger_import(db_ledger *l, const char *profile, const char *file, const char *os_user,
                         const char *const *columns, int n_columns, const char *const *cells,
                         const int *lines, int n_rows, double ts, const db_ledger_central *central,
                         char *err, size_t errlen);

typedef struct db_ledger_row {
    int64_t id;
    char key[256];
    char *data;          /* the row as a JSON object {"column": "value", ...} (malloc'd) */
    char state[12];      /* "reserved" or "used" after an assignment */
    bool reused;         /* the MAC already held it (a retry), not taken just now */
} db_ledger_row;
void db_ledger_row_clear(db_ledger_row *r);

typedef enum db_ledger_take {
    DB_LEDGER_TAKEN = 0, /* *row holds the MAC's row */
    DB_LEDGER_EMPTY,     /* no row for the MAC and none free */
    DB_LEDGER_FAILED,    /* the database failed: db_errmsg */
} db_ledger_take;

/* The MAC's row of the profile's ledger, taking (reserving) the first free one if it has none.
 * `central` may veto or supply the row when a central store knows this MAC (issue 14's hook:
 * NULL until then). */
db_ledger_take db_ledger_take_row(db_ledger *l, const char *profile, const char *mac, double ts,
                                  const db_ledger_central *central, db_ledger_row *row);
/* The row's config sector verified on the module holding it: state used. */
int db_ledger_mark_used(db_ledger *l, int64_t row_id, const char *mac, uint32_t config_crc,
                        double ts);
/* Frees the row a MAC reserved (or, with `key`, the row of that key) with an audit row; a used
 * row is refused (it shipped). Returns 1 if a row was freed, 0 if none matched (err says), -1. */
int db_ledger_release(db_ledger *l, const char *profile, const char *mac, const char *key,
                      const char *os_user, double ts, char *err, size_t errlen);
int db_ledger_counts_of(db_ledger *l, const char *profile, db_ledger_counts *c);
/* Every row of the profile's ledger that a module holds, by key: mac, state, used_ts (0: not
 * yet), data JSON. Stops when fn returns non-zero. */
typedef int (*db_ledger_row_fn)(void *ctx, const char *mac, const char *key, const char *state,
                                double used_ts, const char *data);
int db_ledger_each_held(db_ledger *l, const char *profile, db_ledger_row_fn fn, void *ctx);
/* The column names of the profile's imports (the first import's; later ones must match). n
 * written into cols (each malloc'd), -1 on error, 0 when nothing was imported. */
int db_ledger_columns(db_ledger *l, const char *profile, char ***cols);
