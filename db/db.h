/* db.h - the results database: one SQLite file per station holding every flash attempt.
 *
 * The store knows SQLite and nothing of threads, curses or udev. The station's writer thread owns
 * one read-write handle and calls these functions from that thread only, grouping a few rows per
 * db_begin()/db_commit(); readers (reports, the dashboard's yield) open their own handle. WAL mode
 * lets readers see a consistent snapshot while the writer goes on.
 *
 * A handle is not thread-safe; two handles on one file are (that is SQLite's contract).
 * Errors: functions returning int give 0 (or a count) on success and -1 on failure; those returning
 * an id give a positive row id or -1. db_errmsg() then says what went wrong, in words. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct db db;

/* Opens (and creates) the file. Read-write: sets WAL, foreign keys, a busy timeout, and migrates the
 * schema forward (PRAGMA user_version; each step in its own transaction). Read-only: the file must
 * exist at the current schema version. A file written by a NEWER trayflash is refused. On failure
 * *out is NULL and err holds a sentence naming the file. */
int db_open(const char *path, bool readonly, db **out, char *err, size_t errlen);
void db_close(db *d);
const char *db_errmsg(const db *d);  /* the last error on this handle; "" if none */
int db_schema_version(db *d);        /* PRAGMA user_version of the open file, -1 on error */
int db_schema_latest(void);          /* the version this code writes */
/* The SQL that migrates version-1 to `version` (1 creates the first schema); NULL if out of range.
 * Public so tests and tools can build an old file exactly as an old station did. */
const char *db_migration_sql(int version);

/* Writer transactions: BEGIN IMMEDIATE so a busy reader never turns a commit into SQLITE_BUSY. */
int db_begin(db *d);
int db_commit(db *d);
int db_rollback(db *d);

/* A UUID's text form: 8-4-4-4-12 lower-case hex digits. */
enum { DB_UUID_LEN = 36 };
/* A random (version 4) UUID. Attempts and audit rows are keyed by one, never by a counter: a
 * restored or cloned file reuses row ids, and the central store would drop its new records. */
void db_new_uuid(char out[DB_UUID_LEN + 1]);
/* The station's identity: a UUID made once, when the file was created (or migrated to v4); it
 * survives renames of the station. */
int db_station_uuid(db *d, char out[DB_UUID_LEN + 1]);

/* Dimension rows, found or created. Return the row id, -1 on error. A row that is new is queued
 * in the outbox for the central store, in the same transaction. */
int64_t db_station_upsert(db *d, const char *name, const char *host);
/* The production line the station stands on (station.ini's `line`); a change is queued. */
int db_station_set_line(db *d, int64_t station_id, const char *line);
/* The next tray number of a lot (1 for its first tray), counted in the file: call it in the
 * transaction that starts the tray's first attempt. -1 on error. */
int db_lot_next_tray(db *d, const char *lot, double ts);
/* A profile version is its text: the key is sha256 (64 hex digits) of `text`. Pass sha256 NULL to have
 * the store compute it. `name` of an existing version is kept. */
int64_t db_profile_upsert(db *d, const char *name, const char *sha256, const char *text);
int64_t db_image_upsert(db *d, const char *sha256, int64_t size);

/* One flash attempt. Strings may be NULL (stored as NULL); ids of 0 mean "unknown" (NULL). */
typedef struct db_attempt {
    const char *uuid;         /* NULL: db_attempt_begin makes one (db_new_uuid) */
    const char *kind;         /* "flash" (NULL), "restore", "skipped" */
    const char *lot;          /* work order or reel; NULL when the station runs without */
    int tray;                 /* the tray's number within the lot; 0: none */
    const char *operator_id;  /* who ran the tray; NULL: unknown */
    int64_t station_id, profile_id, image_id;
    int bay;                  /* 1-based bay number */
    const char *bay_name;
    const char *port_path;
    const char *adapter;      /* "vid:pid:serial" */
    const char *product;
    double start_ts, end_ts;  /* unix seconds */
    /* filled at the end: */
    const char *chip;         /* "BK7231T" */
    uint32_t chip_id;
    const char *flash_id;     /* JEDEC id in hex, "c84015" */
    const char *mac;          /* "d8:1f:12:0a:3c:7e"; NULL or "" when the job never read it */
    const char *boot_version;
    int64_t bytes_written;
    int sectors_written, sectors_skipped, retries;
    int baud_start, baud_end;
    bool passed;
    bool skipped;             /* left alone on purpose (already passed elsewhere): outcome
                                 'skipped', neither passed nor a cause */
    const char *cause_id;     /* bk_cause_id(); NULL means "pass" when passed */
    const char *detail;
    /* per-device data (schema 5): */
    bool personalized;        /* its config sector was written and verified */
    int64_t ledger_row_id;    /* the ledger row the module holds; 0: none */
    uint32_t config_crc;      /* the sector's CRC (with personalized) */
    const char *secrets_id;   /* random id of the secrets file version used; NULL: none */
} db_attempt;

/* Inserts the attempt with outcome 'running' (uuid, kind, lot, tray, operator, station, profile,
 * image, bay, port, adapter, product, start_ts are used). Returns its id. */
int64_t db_attempt_begin(db *d, const db_attempt *a);
/* The adapter behind a started attempt: its model in the adapter table ("CP2102"; NULL/"" =
 * simulated or unknown) and the working baud the profile asked for (0: none), so a bay that
 * ran slower than asked (baud_start < baud_asked) is told apart from a module that failed a
 * rate. Returns 0 or -1. */
int db_attempt_set_adapter(db *d, int64_t attempt_id, const char *model, int baud_asked);
/* Finishes the attempt: outcome pass|fail, cause, detail, end_ts and the module facts. With a MAC it
 * links the attempt to the module row (created on first sight, last_seen updated), so a module seen
 * again joins its history; if the same MAC is on another bay in an attempt whose time overlaps this
 * one (one module cannot sit in two sockets at once), both attempts get duplicate_mac = 1.
 * The finished attempt is queued in the outbox in the same transaction. An unknown cause_id is
 * refused with words, and so is a second end of one attempt. */
int db_attempt_end(db *d, int64_t attempt_id, const db_attempt *a);

/* The cross-station guard's local half: the newest passing flash attempt of `product` by the
 * module `mac` in this file. 1 and *seen filled when there is one, 0 when none, -1 on error. */
typedef struct db_pass_seen {
    double end_ts;
    char station[64];
    int bay;
} db_pass_seen;
int db_mac_passed(db *d, const char *mac, const char *product, db_pass_seen *seen);

/* Operator-visible event lines (level "info", "warn", "error"). bay -1: station-wide. */
int db_event_log(db *d, double ts, int bay, const char *level, const char *text);
/* Audit of profile assignment changes (who, which bays, which profile versions, allowed or not).
 * bay -1 in bay_from/bay_to: none. */
int db_assignment_log(db *d, double ts, const char *os_user, bool engineer, int bay_from, int bay_to,
                      const char *old_profile_sha, const char *new_profile_sha, bool allowed);
/* At station start: attempts THIS station (station_id from db_station_upsert; 0 = attempts with no
 * station) left 'running' become 'interrupted' (cause 'cancelled', detail 'station stopped', end_ts
 * = ts). Another station's running attempts are not touched: they may still be running. Returns
 * how many rows changed, -1 on error. */
int db_mark_interrupted(db *d, int64_t station_id, double ts);

/* True when the last failure on this handle was the storage, not the record: the disk is full, an
 * I/O error, the file busy or locked, out of memory. The same write may succeed later, so the
 * caller keeps the record and retries. False for a refused record (bad value, constraint). */
bool db_failure_retryable(const db *d);
/* Writes the WAL into the main file and truncates the WAL to zero bytes, so the main file alone
 * holds every committed row (a clean stop calls it). -1 with words if it could not complete (a
 * reader held an old snapshot past the busy timeout, or the disk failed); the rows are safe in
 * the WAL either way. */
int db_checkpoint(db *d);
/* A consistent copy of the open database (read-only handles too) in ONE self-contained file at
 * `dest` (VACUUM INTO, so it is also compact). Written to a temporary name beside `dest` and moved
 * into place whole: a failed copy leaves no partial file. An existing `dest` is refused unless
 * `overwrite`. -1 with words naming the file on failure. */
int db_snapshot(db *d, const char *dest, bool overwrite);
