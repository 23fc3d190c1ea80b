/* db.c - the store: opening, migrating, and the writer's inserts.
 *
 * Every statement is prepared once per handle from the table below and run with bound
 * parameters; no SQL is ever built from a value. The handle keeps the last error in words so the
 * writer thread can log it without this file printing anything. */
#include "db_internal.h"
#include "bk_cause.h"
#include <nettle/sha2.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
    S_BEGIN, S_COMMIT, S_ROLLBACK,
    S_STATION_INS, S_STATION_SEL,
    S_PROFILE_INS, S_PROFILE_SEL,
    S_IMAGE_INS, S_IMAGE_SEL,
    S_ATTEMPT_BEGIN, S_ATTEMPT_END, S_ATTEMPT_ADAPTER,
    S_MODULE_UPSERT, S_MODULE_SEL,
    S_DUP_OTHERS, S_DUP_SELF,
    S_EVENT_INS, S_ASSIGN_INS, S_MARK_INTERRUPTED,
    S_OUTBOX_INS, S_OUTBOX_INTERRUPTED, S_STATION_LINE, S_SELF_UUID,
    S_LOT_NEXT_TRAY, S_LOT_TRAYS, S_MAC_PASSED, S_ATTEMPT_PERSONAL,
    S_COUNT
};

static const char *const stmt_sql[S_COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_STATION_INS] = "INSERT INTO station (name, host) VALUES (?1, ?2) "
                      "ON CONFLICT (name, host) DO NOTHING",
    [S_STATION_SEL] = "SELECT id FROM station WHERE name = ?1 AND host = ?2",
    [S_PROFILE_INS] = "INSERT INTO profile (name, sha256, text, first_seen) VALUES (?1, ?2, ?3, ?4) "
                      "ON CONFLICT (sha256) DO NOTHING",
    [S_PROFILE_SEL] = "SELECT id FROM profile WHERE sha256 = ?1",
    [S_IMAGE_INS] = "INSERT INTO image (sha256, size) VALUES (?1, ?2) ON CONFLICT (sha256) DO NOTHING",
    [S_IMAGE_SEL] = "SELECT id, size FROM image WHERE sha256 = ?1",
    [S_ATTEMPT_BEGIN] = "INSERT INTO attempt (station_id, profile_id, image_id, bay, bay_name, "
                        "port_path, adapter, product, start_ts, outcome, uuid, kind, lot, tray, "
                        "operator) "
                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'running', ?10, ?11, ?12, ?13, ?14)",
    [S_ATTEMPT_ADAPTER] = "UPDATE attempt SET adapter_model = ?2, baud_asked = ?3 WHERE id = ?1",
    [S_ATTEMPT_END] = "UPDATE attempt SET end_ts = ?2, outcome = ?3, cause = ?4, detail = ?5, "
                      "chip = ?6, chip_id = ?7, flash_id = ?8, mac = ?9, boot_version = ?10, "
                      "bytes_written = ?11, sectors_written = ?12, sectors_skipped = ?13, "
                      "retries = ?14, baud_start = ?15, baud_end = ?16, module_id = ?17, "
                      "image_id = coalesce(?18, image_id), "
                      "kind = CASE WHEN ?3 = 'skipped' THEN 'skipped' ELSE kind END "
                      "WHERE id = ?1 AND outcome = 'running'",
    [S_MODULE_UPSERT] = "INSERT INTO module (mac, chip, chip_id, flash_id, first_seen, last_seen) "
                        "VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT (mac) DO UPDATE SET "
                        "chip = coalesce(excluded.chip, chip), "
                        "chip_id = coalesce(excluded.chip_id, chip_id), "
                        "flash_id = coalesce(excluded.flash_id, flash_id), "
                        "first_seen = min(first_seen, excluded.first_seen), "
                        "last_seen = max(last_seen, excluded.last_seen)",
    [S_MODULE_SEL] = "SELECT id FROM module WHERE mac = ?1",
    /* Two attempts overlap in time on different bays: one MAC, two physical modules. A running
     * attempt has no end yet: it lasts until now. */
    [S_DUP_OTHERS] = "UPDATE attempt SET duplicate_mac = 1 WHERE mac = ?1 AND id <> ?2 AND bay <> ?3 "
                     "AND start_ts < ?5 AND coalesce(end_ts, ?5) > ?4",
    [S_DUP_SELF] = "UPDATE attempt SET duplicate_mac = 1 WHERE id = ?1",
    [S_EVENT_INS] = "INSERT INTO event_log (ts, bay, level, text) VALUES (?1, ?2, ?3, ?4)",
    [S_ASSIGN_INS] = "INSERT INTO assignment (ts, os_user, engineer, bay_from, bay_to, "
                     "old_profile_sha, new_profile_sha, allowed, uuid) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [S_MARK_INTERRUPTED] = "UPDATE attempt SET outcome = 'interrupted', cause = 'cancelled', "
                           "detail = 'station stopped', end_ts = ?1 "
                           "WHERE outcome = 'running' AND station_id IS ?2",
    [S_OUTBOX_INS] = "INSERT INTO outbox (kind, ref_id, created_ts) VALUES (?1, ?2, ?3)",
    /* Run before S_MARK_INTERRUPTED, in its transaction: the rows it is about to finish. */
    [S_OUTBOX_INTERRUPTED] = "INSERT INTO outbox (kind, ref_id, created_ts) SELECT 'attempt', id, ?1 "
                             "FROM attempt WHERE outcome = 'running' AND station_id IS ?2 ORDER BY id",
    [S_STATION_LINE] = "UPDATE station SET line = ?2 WHERE id = ?1 AND line IS NOT ?2",
    [S_SELF_UUID] = "SELECT uuid FROM station_self WHERE only = 1",
    [S_LOT_NEXT_TRAY] = "INSERT INTO lot (name, trays, first_ts, last_ts) VALUES (?1, 1, ?2, ?2) "
                        "ON CONFLICT (name) DO UPDATE SET trays = trays + 1, last_ts = excluded.last_ts",
    [S_LOT_TRAYS] = "SELECT trays FROM lot WHERE name = ?1",
    /* attempt_by_mac_end: the MAC's attempts, newest first */
    [S_MAC_PASSED] = "SELECT a.end_ts, coalesce(s.name, ''), a.bay FROM attempt a "
                     "LEFT JOIN station s ON s.id = a.station_id WHERE a.mac = ?1 "
                     "AND a.outcome = 'pass' AND a.kind = 'flash' AND a.product IS ?2 "
                     "ORDER BY a.end_ts DESC LIMIT 1",
    [S_ATTEMPT_PERSONAL] = "UPDATE attempt SET personalized = ?2, ledger_row_id = ?3, "
                           "config_crc = ?4, secrets_id = ?5 WHERE id = ?1",
};

enum { DB_BUSY_TIMEOUT_MS = 5000 };

struct db {
    sqlite3 *sq;
    bool readonly;
    sqlite3_stmt *stmt[S_COUNT];
    char path[256];
    char err[512];
    int err_code; /* SQLite's primary result code of the last failure; 0 for a refused value */
};

sqlite3 *db_sqlite(db *d) { return d->sq; }

const char *db_errmsg(const db *d) { return d ? d->err : "no database handle"; }

static void set_err(db *d, const char *fmt, ...)
{
    d->err_code = 0;
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(d->err, sizeof d->err, "%s: ", d->path);
    if (n < 0 || (size_t)n >= sizeof d->err)
        n = 0;
    vsnprintf(d->err + n, sizeof d->err - (size_t)n, fmt, ap);
    va_end(ap);
}

/* Records SQLite's own words for a failed call. */
static int sq_fail(db *d, const char *what)
{
    set_err(d, "%s: %s", what, sqlite3_errmsg(d->sq));
    d->err_code = sqlite3_errcode(d->sq) & 0xff;
    return -1;
}

bool db_failure_retryable(const db *d)
{
    switch (d ? d->err_code : 0) {
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_NOMEM:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY: /* the file or its folder lost write permission */
    case SQLITE_PROTOCOL:
        return true;
    default:
        return false;
    }
}

static sqlite3_stmt *stmt_get(db *d, int which)
{
    sqlite3_stmt *st = d->stmt[which];
    if (!st) {
        if (sqlite3_prepare_v3(d->sq, stmt_sql[which], -1, SQLITE_PREPARE_PERSISTENT, &st, 0) != SQLITE_OK) {
            sq_fail(d, "preparing a statement");
            return 0;
        }
        d->stmt[which] = st;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

/* Text or NULL: an empty string is "unknown" too, so reports need one test, not two. */
static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s && *s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

static void bind_id(sqlite3_stmt *st, int i, int64_t id)
{
    if (id > 0)
        sqlite3_bind_int64(st, i, id);
    else
        sqlite3_bind_null(st, i);
}

/* Runs a statement that returns no rows. */
static int run(db *d, sqlite3_stmt *st, const char *what)
{
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return sq_fail(d, what);
    return 0;
}

/* Runs a single-row SELECT of an id; 0 when no row. */
static int64_t select_id(db *d, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    int64_t id = 0;
    if (rc == SQLITE_ROW)
        id = sqlite3_column_int64(st, 0);
    else if (rc != SQLITE_DONE)
        id = sq_fail(d, what);
    sqlite3_reset(st);
    return id;
}

static double now_unix_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int pragma_int(db *d, const char *sql, int *out)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(d->sq, sql, -1, &st, 0) != SQLITE_OK)
        return sq_fail(d, "reading the schema version");
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return sq_fail(d, "reading the schema version");
    return 0;
}

int db_schema_version(db *d)
{
    int v;
    return pragma_int(d, "PRAGMA user_version", &v) < 0 ? -1 : v;
}

static int check_not_newer(db *d, int version)
{
    if (version > db_schema_latest()) {
        set_err(d, "the file has schema version %d, newer than this trayflash knows (%d): it was "
                   "written by a newer station; use that version or a copy, this one will not touch it",
                version, db_schema_latest());
        return -1;
    }
    return 0;
}

/* One step per transaction: a crash mid-migration leaves the file at a whole version. The version is
 * re-read inside the write lock so two processes opening an old file do not both migrate it. */
static int migrate(db *d)
{
    for (;;) {
        if (sqlite3_exec(d->sq, "BEGIN IMMEDIATE", 0, 0, 0) != SQLITE_OK)
            return sq_fail(d, "locking the file to migrate it");
        int v = db_schema_version(d);
        if (v < 0 || check_not_newer(d, v) < 0) {
            sqlite3_exec(d->sq, "ROLLBACK", 0, 0, 0);
            return -1;
        }
        if (v == db_schema_latest())
            return sqlite3_exec(d->sq, "COMMIT", 0, 0, 0) == SQLITE_OK ? 0 : sq_fail(d, "committing");
        char *msg = 0;
        if (sqlite3_exec(d->sq, db_migration_sql(v + 1), 0, 0, &msg) != SQLITE_OK) {
            set_err(d, "migration to schema version %d failed: %s", v + 1, msg ? msg : "?");
            sqlite3_free(msg);
            sqlite3_exec(d->sq, "ROLLBACK", 0, 0, 0);
            return -1;
        }
        /* PRAGMA takes no parameters; the number is this program's own constant, not input. */
        char sql[48];
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
        if (sqlite3_exec(d->sq, sql, 0, 0, 0) != SQLITE_OK ||
            sqlite3_exec(d->sq, "COMMIT", 0, 0, 0) != SQLITE_OK) {
            sq_fail(d, "recording the schema version");
            sqlite3_exec(d->sq, "ROLLBACK", 0, 0, 0);
            return -1;
        }
    }
}

static int setup_rw(db *d)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(d->sq, "PRAGMA journal_mode = WAL", -1, &st, 0) != SQLITE_OK)
        return sq_fail(d, "setting WAL mode");
    int rc = sqlite3_step(st);
    bool wal = rc == SQLITE_ROW && sqlite3_stricmp((const char *)sqlite3_column_text(st, 0), "wal") == 0;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return sq_fail(d, "setting WAL mode");
    if (!wal) {
        set_err(d, "the file cannot use WAL mode (a network file system?); readers would block the "
                   "writer");
        return -1;
    }
    if (sqlite3_exec(d->sq, "PRAGMA foreign_keys = ON", 0, 0, 0) != SQLITE_OK)
        return sq_fail(d, "enabling foreign keys");
    return migrate(d);
}

static int setup_ro(db *d)
{
    int v = db_schema_version(d);
    if (v < 0 || check_not_newer(d, v) < 0)
        return -1;
    if (v == 0) {
        set_err(d, "not a trayflash results database (no schema)");
        return -1;
    }
    if (v < db_schema_latest()) {
        set_err(d, "the file has schema version %d, this trayflash reads %d: let the station open it "
                   "once (read-write) to migrate it", v, db_schema_latest());
        return -1;
    }
    return 0;
}

int db_open(const char *path, bool readonly, db **out, char *err, size_t errlen)
{
    *out = 0;
    db *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    snprintf(d->path, sizeof d->path, "%s", path);
    d->readonly = readonly;
    int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    int rc = sqlite3_open_v2(path, &d->sq, flags, 0);
    if (rc != SQLITE_OK) {
        if (d->sq)
            sq_fail(d, "cannot open");
        else
            set_err(d, "cannot open: %s", sqlite3_errstr(rc));
    } else {
        sqlite3_extended_result_codes(d->sq, 1);
        sqlite3_busy_timeout(d->sq, DB_BUSY_TIMEOUT_MS);
        rc = readonly ? setup_ro(d) : setup_rw(d);
    }
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "%s", d->err);
        db_close(d);
        return -1;
    }
    *out = d;
    return 0;
}

void db_close(db *d)
{
    if (!d)
        return;
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize(d->stmt[i]);
    sqlite3_close(d->sq);
    free(d);
}

static int writable(db *d)
{
    if (d->readonly) {
        set_err(d, "opened read-only; cannot write");
        return -1;
    }
    return 0;
}

int db_begin(db *d)
{
    return writable(d) < 0 ? -1 : run(d, stmt_get(d, S_BEGIN), "beginning a transaction");
}

int db_commit(db *d) { return run(d, stmt_get(d, S_COMMIT), "committing"); }

int db_rollback(db *d) { return run(d, stmt_get(d, S_ROLLBACK), "rolling back"); }

/* The second half of insert-or-ignore then select: the id comes back whether the row is new or not. */
static int64_t select_required(db *d, sqlite3_stmt *sel, const char *what)
{
    int64_t id = select_id(d, sel, what);
    if (id < 0)
        return -1;
    if (id == 0) {
        set_err(d, "%s: the row vanished after insertion", what);
        return -1;
    }
    return id;
}

/* Queues a record for the central store, in the caller's transaction. */
static int outbox_add(db *d, const char *kind, int64_t ref_id, double ts)
{
    sqlite3_stmt *st = stmt_get(d, S_OUTBOX_INS);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, ref_id);
    sqlite3_bind_double(st, 3, ts);
    return run(d, st, "queueing a record for the central store");
}

/* After an insert-or-ignore: a new row is queued once, an existing one was queued when it was new. */
static int64_t queue_if_new(db *d, const char *kind, int64_t id, bool inserted)
{
    if (id > 0 && inserted && outbox_add(d, kind, id, now_unix_s()) < 0)
        return -1;
    return id;
}

void db_new_uuid(char out[DB_UUID_LEN + 1])
{
    uint8_t b[16];
    sqlite3_randomness(sizeof b, b); /* SQLite's generator, seeded from the OS at first use */
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    snprintf(out, DB_UUID_LEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
             b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

int db_station_uuid(db *d, char out[DB_UUID_LEN + 1])
{
    out[0] = 0;
    sqlite3_stmt *st = stmt_get(d, S_SELF_UUID);
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        snprintf(out, DB_UUID_LEN + 1, "%s", (const char *)sqlite3_column_text(st, 0));
    else if (rc == SQLITE_DONE)
        set_err(d, "the file has no station identity (station_self is empty)");
    else
        sq_fail(d, "reading the station identity");
    sqlite3_reset(st);
    return out[0] ? 0 : -1;
}

int db_station_set_line(db *d, int64_t station_id, const char *line)
{
    if (writable(d) < 0)
        return -1;
    sqlite3_stmt *st = stmt_get(d, S_STATION_LINE);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, station_id);
    bind_text(st, 2, line);
    if (run(d, st, "storing the station's line") < 0)
        return -1;
    return queue_if_new(d, "station", station_id, sqlite3_changes(d->sq) > 0) < 0 ? -1 : 0;
}

int db_lot_next_tray(db *d, const char *lot, double ts)
{
    if (writable(d) < 0)
        return -1;
    if (!lot || !*lot) {
        set_err(d, "a tray number needs a lot");
        return -1;
    }
    sqlite3_stmt *st = stmt_get(d, S_LOT_NEXT_TRAY);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, lot, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(st, 2, ts);
    if (run(d, st, "numbering the lot's next tray") < 0)
        return -1;
    st = stmt_get(d, S_LOT_TRAYS);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, lot, -1, SQLITE_TRANSIENT);
    int64_t n = select_required(d, st, "numbering the lot's next tray");
    return n < 0 ? -1 : (int)n;
}

static int normalise_mac(db *d, const char *in, char out[32]);

int db_mac_passed(db *d, const char *mac, const char *product, db_pass_seen *seen)
{
    char low[32];
    if (!mac || normalise_mac(d, mac, low) < 0)
        return -1;
    sqlite3_stmt *st = stmt_get(d, S_MAC_PASSED);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, low, -1, SQLITE_TRANSIENT);
    bind_text(st, 2, product);
    int rc = sqlite3_step(st), found = 0;
    if (rc == SQLITE_ROW) {
        seen->end_ts = sqlite3_column_double(st, 0);
        snprintf(seen->station, sizeof seen->station, "%s", (const char *)sqlite3_column_text(st, 1));
        seen->bay = sqlite3_column_int(st, 2);
        found = 1;
    } else if (rc != SQLITE_DONE) {
        found = sq_fail(d, "looking up the module's passes");
    }
    sqlite3_reset(st);
    return found;
}

int64_t db_station_upsert(db *d, const char *name, const char *host)
{
    if (writable(d) < 0)
        return -1;
    if (!name || !*name) {
        set_err(d, "station name is empty");
        return -1;
    }
    sqlite3_stmt *ins = stmt_get(d, S_STATION_INS);
    if (!ins)
        return -1;
    sqlite3_bind_text(ins, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 2, host ? host : "", -1, SQLITE_TRANSIENT);
    if (run(d, ins, "storing the station") < 0)
        return -1;
    bool inserted = sqlite3_changes(d->sq) > 0;
    sqlite3_stmt *sel = stmt_get(d, S_STATION_SEL);
    if (!sel)
        return -1;
    sqlite3_bind_text(sel, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(sel, 2, host ? host : "", -1, SQLITE_TRANSIENT);
    return queue_if_new(d, "station", select_required(d, sel, "storing the station"), inserted);
}

/* Checks and lower-cases a sha256 given in hex. */
static int normalise_sha256(db *d, const char *in, char out[65], const char *what)
{
    if (!in || strlen(in) != 64) {
        set_err(d, "%s sha256 must be 64 hex digits, got \"%.80s\"", what, in ? in : "(null)");
        return -1;
    }
    for (int i = 0; i < 64; i++) {
        if (!isxdigit((unsigned char)in[i])) {
            set_err(d, "%s sha256 has a non-hex character at position %d: \"%.80s\"", what, i + 1, in);
            return -1;
        }
        out[i] = (char)tolower((unsigned char)in[i]);
    }
    out[64] = 0;
    return 0;
}

static void sha256_hex(const char *text, char out[65])
{
    struct sha256_ctx ctx;
    uint8_t digest[SHA256_DIGEST_SIZE];
    sha256_init(&ctx);
    sha256_update(&ctx, strlen(text), (const uint8_t *)text);
    sha256_digest(&ctx, sizeof digest, digest);
    for (int i = 0; i < SHA256_DIGEST_SIZE; i++)
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

int64_t db_profile_upsert(db *d, const char *name, const char *sha256, const char *text)
{
    if (writable(d) < 0)
        return -1;
    if (!name || !*name || !text) {
        set_err(d, "a profile needs a name and its text");
        return -1;
    }
    char hex[65];
    if (sha256)
        if (normalise_sha256(d, sha256, hex, "profile") < 0)
            return -1;
    if (!sha256)
        sha256_hex(text, hex);
    sqlite3_stmt *ins = stmt_get(d, S_PROFILE_INS);
    if (!ins)
        return -1;
    sqlite3_bind_text(ins, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 2, hex, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 3, text, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(ins, 4, now_unix_s());
    if (run(d, ins, "storing the profile") < 0)
        return -1;
    bool inserted = sqlite3_changes(d->sq) > 0;
    sqlite3_stmt *sel = stmt_get(d, S_PROFILE_SEL);
    if (!sel)
        return -1;
    sqlite3_bind_text(sel, 1, hex, -1, SQLITE_TRANSIENT);
    return queue_if_new(d, "profile", select_required(d, sel, "storing the profile"), inserted);
}

int64_t db_image_upsert(db *d, const char *sha256, int64_t size)
{
    if (writable(d) < 0)
        return -1;
    char hex[65];
    if (normalise_sha256(d, sha256, hex, "image") < 0)
        return -1;
    if (size < 0) {
        set_err(d, "image %.12s has a negative size %lld", hex, (long long)size);
        return -1;
    }
    sqlite3_stmt *ins = stmt_get(d, S_IMAGE_INS);
    if (!ins)
        return -1;
    sqlite3_bind_text(ins, 1, hex, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(ins, 2, size);
    if (run(d, ins, "storing the image") < 0)
        return -1;
    bool inserted = sqlite3_changes(d->sq) > 0;
    sqlite3_stmt *sel = stmt_get(d, S_IMAGE_SEL);
    if (!sel)
        return -1;
    sqlite3_bind_text(sel, 1, hex, -1, SQLITE_TRANSIENT);
    int64_t id = -1, stored = -1;
    int rc = sqlite3_step(sel);
    if (rc == SQLITE_ROW) {
        id = sqlite3_column_int64(sel, 0);
        stored = sqlite3_column_int64(sel, 1);
    } else {
        sq_fail(d, "storing the image");
    }
    sqlite3_reset(sel);
    if (id > 0 && stored != size) {
        set_err(d, "image %.12s is stored with size %lld but was given as %lld: one sha256, two "
                   "contents?", hex, (long long)stored, (long long)size);
        return -1;
    }
    return queue_if_new(d, "image", id, inserted);
}

int64_t db_attempt_begin(db *d, const db_attempt *a)
{
    if (writable(d) < 0)
        return -1;
    sqlite3_stmt *st = stmt_get(d, S_ATTEMPT_BEGIN);
    if (!st)
        return -1;
    bind_id(st, 1, a->station_id);
    bind_id(st, 2, a->profile_id);
    bind_id(st, 3, a->image_id);
    sqlite3_bind_int(st, 4, a->bay);
    bind_text(st, 5, a->bay_name);
    bind_text(st, 6, a->port_path);
    bind_text(st, 7, a->adapter);
    bind_text(st, 8, a->product);
    sqlite3_bind_double(st, 9, a->start_ts);
    char uuid[DB_UUID_LEN + 1];
    if (!a->uuid || !*a->uuid)
        db_new_uuid(uuid);
    else if (strlen(a->uuid) != DB_UUID_LEN) {
        set_err(d, "attempt uuid \"%.60s\" is not a UUID in its 36-character text form", a->uuid);
        return -1;
    }
    sqlite3_bind_text(st, 10, a->uuid && *a->uuid ? a->uuid : uuid, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 11, a->kind && *a->kind ? a->kind : "flash", -1, SQLITE_TRANSIENT);
    bind_text(st, 12, a->lot);
    if (a->tray > 0)
        sqlite3_bind_int(st, 13, a->tray);
    bind_text(st, 14, a->operator_id);
    if (run(d, st, "storing the start of an attempt") < 0)
        return -1;
    return sqlite3_last_insert_rowid(d->sq);
}

int db_attempt_set_adapter(db *d, int64_t attempt_id, const char *model, int baud_asked)
{
    if (writable(d) < 0)
        return -1;
    sqlite3_stmt *st = stmt_get(d, S_ATTEMPT_ADAPTER);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, attempt_id);
    bind_text(st, 2, model);
    if (baud_asked > 0)
        sqlite3_bind_int(st, 3, baud_asked);
    else
        sqlite3_bind_null(st, 3);
    return run(d, st, "storing an attempt's adapter model") < 0 ? -1 : 0;
}

/* A MAC as the reports show it: lower case, so "D8:1F:.." and "d8:1f:.." are one module. */
static int normalise_mac(db *d, const char *in, char out[32])
{
    size_t n = strlen(in);
    if (n >= 32) {
        set_err(d, "MAC \"%.40s...\" is too long", in);
        return -1;
    }
    for (size_t i = 0; i <= n; i++)
        out[i] = (char)tolower((unsigned char)in[i]);
    return 0;
}

static int64_t module_link(db *d, const char *mac, const db_attempt *a)
{
    sqlite3_stmt *st = stmt_get(d, S_MODULE_UPSERT);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, mac, -1, SQLITE_TRANSIENT);
    bind_text(st, 2, a->chip);
    if (a->chip_id)
        sqlite3_bind_int64(st, 3, a->chip_id);
    else
        sqlite3_bind_null(st, 3);
    bind_text(st, 4, a->flash_id);
    sqlite3_bind_double(st, 5, a->end_ts);
    if (run(d, st, "storing the module") < 0)
        return -1;
    sqlite3_stmt *sel = stmt_get(d, S_MODULE_SEL);
    if (!sel)
        return -1;
    sqlite3_bind_text(sel, 1, mac, -1, SQLITE_TRANSIENT);
    return select_required(d, sel, "storing the module");
}

static int flag_duplicates(db *d, int64_t attempt_id, const char *mac, const db_attempt *a)
{
    sqlite3_stmt *st = stmt_get(d, S_DUP_OTHERS);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, mac, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, attempt_id);
    sqlite3_bind_int(st, 3, a->bay);
    sqlite3_bind_double(st, 4, a->start_ts);
    sqlite3_bind_double(st, 5, a->end_ts);
    if (run(d, st, "checking for a duplicate MAC") < 0)
        return -1;
    if (sqlite3_changes(d->sq) == 0)
        return 0;
    st = stmt_get(d, S_DUP_SELF);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, attempt_id);
    return run(d, st, "flagging a duplicate MAC");
}

int db_attempt_end(db *d, int64_t attempt_id, const db_attempt *a)
{
    if (writable(d) < 0)
        return -1;
    const char *cause = a->cause_id ? a->cause_id : (a->passed ? "pass" : 0);
    if (a->skipped) {
        if (a->passed || a->cause_id) {
            set_err(d, "attempt %lld: a skipped module has neither a pass nor a failure cause",
                    (long long)attempt_id);
            return -1;
        }
    } else if (!cause || bk_cause_from_id(cause) == BK_CAUSE_COUNT) {
        set_err(d, "attempt %lld: unknown failure cause \"%s\"", (long long)attempt_id,
                cause ? cause : "(none given for a failure)");
        return -1;
    }
    if (!a->skipped && a->passed != (strcmp(cause, "pass") == 0)) {
        set_err(d, "attempt %lld: %s with cause \"%s\" contradicts itself", (long long)attempt_id,
                a->passed ? "a pass" : "a failure", cause);
        return -1;
    }
    if (a->end_ts < a->start_ts) {
        set_err(d, "attempt %lld ends (%.3f) before it starts (%.3f)", (long long)attempt_id,
                a->end_ts, a->start_ts);
        return -1;
    }
    char mac[32] = "";
    int64_t module_id = 0;
    if (a->mac && *a->mac) {
        if (normalise_mac(d, a->mac, mac) < 0)
            return -1;
        module_id = module_link(d, mac, a);
        if (module_id < 0)
            return -1;
    }
    sqlite3_stmt *st = stmt_get(d, S_ATTEMPT_END);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, attempt_id);
    sqlite3_bind_double(st, 2, a->end_ts);
    sqlite3_bind_text(st, 3, a->skipped ? "skipped" : a->passed ? "pass" : "fail", -1, SQLITE_STATIC);
    bind_text(st, 4, cause);
    bind_text(st, 5, a->detail);
    bind_text(st, 6, a->chip);
    if (a->chip_id)
        sqlite3_bind_int64(st, 7, a->chip_id);
    bind_text(st, 8, a->flash_id);
    bind_text(st, 9, mac);
    bind_text(st, 10, a->boot_version);
    sqlite3_bind_int64(st, 11, a->bytes_written);
    sqlite3_bind_int(st, 12, a->sectors_written);
    sqlite3_bind_int(st, 13, a->sectors_skipped);
    sqlite3_bind_int(st, 14, a->retries);
    sqlite3_bind_int(st, 15, a->baud_start);
    sqlite3_bind_int(st, 16, a->baud_end);
    bind_id(st, 17, module_id);
    bind_id(st, 18, a->image_id); /* a multi-variant product knows its image only at the end */
    if (run(d, st, "storing the end of an attempt") < 0)
        return -1;
    if (sqlite3_changes(d->sq) != 1) {
        set_err(d, "attempt %lld does not exist or has already ended (db_attempt_begin first, "
                   "db_attempt_end once)", (long long)attempt_id);
        return -1;
    }
    if (a->personalized || a->ledger_row_id > 0 || (a->secrets_id && *a->secrets_id)) {
        st = stmt_get(d, S_ATTEMPT_PERSONAL);
        if (!st)
            return -1;
        sqlite3_bind_int64(st, 1, attempt_id);
        sqlite3_bind_int(st, 2, a->personalized);
        bind_id(st, 3, a->ledger_row_id);
        if (a->personalized)
            sqlite3_bind_int64(st, 4, a->config_crc);
        bind_text(st, 5, a->secrets_id);
        if (run(d, st, "storing the attempt's per-device data") < 0)
            return -1;
    }
    if (outbox_add(d, "attempt", attempt_id, a->end_ts) < 0)
        return -1;
    return *mac ? flag_duplicates(d, attempt_id, mac, a) : 0;
}

int db_event_log(db *d, double ts, int bay, const char *level, const char *text)
{
    if (writable(d) < 0)
        return -1;
    sqlite3_stmt *st = stmt_get(d, S_EVENT_INS);
    if (!st)
        return -1;
    sqlite3_bind_double(st, 1, ts);
    if (bay >= 0)
        sqlite3_bind_int(st, 2, bay);
    sqlite3_bind_text(st, 3, level && *level ? level : "info", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, text ? text : "", -1, SQLITE_TRANSIENT);
    return run(d, st, "storing an event line");
}

int db_assignment_log(db *d, double ts, const char *os_user, bool engineer, int bay_from, int bay_to,
                      const char *old_profile_sha, const char *new_profile_sha, bool allowed)
{
    if (writable(d) < 0)
        return -1;
    sqlite3_stmt *st = stmt_get(d, S_ASSIGN_INS);
    if (!st)
        return -1;
    sqlite3_bind_double(st, 1, ts);
    sqlite3_bind_text(st, 2, os_user && *os_user ? os_user : "?", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 3, engineer);
    if (bay_from >= 0)
        sqlite3_bind_int(st, 4, bay_from);
    if (bay_to >= 0)
        sqlite3_bind_int(st, 5, bay_to);
    bind_text(st, 6, old_profile_sha);
    bind_text(st, 7, new_profile_sha);
    sqlite3_bind_int(st, 8, allowed);
    char uuid[DB_UUID_LEN + 1];
    db_new_uuid(uuid);
    sqlite3_bind_text(st, 9, uuid, -1, SQLITE_TRANSIENT);
    if (run(d, st, "storing an assignment change") < 0)
        return -1;
    return outbox_add(d, "assignment", sqlite3_last_insert_rowid(d->sq), ts);
}

int db_mark_interrupted(db *d, int64_t station_id, double ts)
{
    if (writable(d) < 0)
        return -1;
    sqlite3_stmt *st = stmt_get(d, S_OUTBOX_INTERRUPTED);
    if (!st)
        return -1;
    sqlite3_bind_double(st, 1, ts);
    bind_id(st, 2, station_id);
    if (run(d, st, "queueing interrupted attempts for the central store") < 0)
        return -1;
    st = stmt_get(d, S_MARK_INTERRUPTED);
    if (!st)
        return -1;
    sqlite3_bind_double(st, 1, ts);
    bind_id(st, 2, station_id);
    if (run(d, st, "marking interrupted attempts") < 0)
        return -1;
    return sqlite3_changes(d->sq);
}

int db_checkpoint(db *d)
{
    if (writable(d) < 0)
        return -1;
    int log_frames = 0, done_frames = 0;
    int rc = sqlite3_wal_checkpoint_v2(d->sq, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log_frames,
                                       &done_frames);
    if (rc != SQLITE_OK)
        return sq_fail(d, "checkpointing the WAL into the main file");
    return 0;
}

void db_set_errmsg(db *d, const char *msg) { set_err(d, "%s", msg); }
void db_set_sqlite_errmsg(db *d, const char *what) { sq_fail(d, what); }
const char *db_path_of(const db *d) { return d->path; }
