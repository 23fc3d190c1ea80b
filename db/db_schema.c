/* db_schema.c - the schema as a list of forward migrations.
 *
 * Migration N takes a file at user_version N-1 to N. A released migration is never edited: a
 * station in the field may hold a file at any earlier version, and db_open replays the missing
 * steps in order. Add a change as a new entry at the end; db/README.md documents the result. */
#include "db.h"

/* A random (version 4) UUID in its text form, made by SQLite for rows that existed before UUIDs:
 * random bytes as hex, with the version nibble 4 and the variant bits 10. Every call is evaluated
 * per row (randomblob is not deterministic; a scalar subquery would be run once and repeat). */
#define UUID_SQL                                                                                  \
    "(lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || "                   \
    "substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || " \
    "substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))))"

#include "report_summary.h"

/* ---- the triggers of schema 7 that keep the summaries (report_summary.h says what they hold) ---- */
#define CELL_COLUMNS "station_id, profile_id, bay, bay_name, adapter, lot, operator, outcome, cause, " \
    "start_ts, end_ts, kind, duplicate_mac"
#define CELL_MATCH(r)                                                                             \
    "qs = " CELL_QS(r) " AND station_id IS " r ".station_id AND profile_id IS " r ".profile_id "   \
    "AND bay = " r ".bay AND adapter = coalesce(" r ".adapter, '') AND lot IS " r ".lot "          \
    "AND operator IS " r ".operator AND outcome = " r ".outcome AND cause IS " r ".cause "         \
    "AND bay_name IS " r ".bay_name"
#define CELL_ADD(r)                                                                               \
    "INSERT INTO attempt_cell SELECT " CELL_QS(r) ", " r ".station_id, " r ".profile_id, " r ".bay, " \
    r ".bay_name, coalesce(" r ".adapter, ''), " r ".lot, " r ".operator, " r ".outcome, " r ".cause, " \
    "0, 0, 0, 0, " r ".start_ts, " r ".end_ts, " r ".end_ts "                                     \
    "WHERE NOT EXISTS (SELECT 1 FROM attempt_cell WHERE " CELL_MATCH(r) ");\n"                   \
    "UPDATE attempt_cell SET n = n + 1, dup = dup + " r ".duplicate_mac, "                        \
    "timed = timed + " CELL_TIMED(r) ", timed_s = timed_s + " CELL_TIMED_S(r) ", " \
    "min_start = min(min_start, " r ".start_ts), max_end = max(max_end, " r ".end_ts), "           \
    "min_end = min(min_end, " r ".end_ts) WHERE " CELL_MATCH(r) ";\n"
/* the attempts of one cell, read through attempt_by_end (one quarter-hour) */
#define CELL_OF(r)                                                                                \
    "FROM attempt a WHERE a.end_ts >= " CELL_QS(r) " - 900 AND a.end_ts < " CELL_QS(r) " + 1800 "  \
    "AND " CELL_QS("a") " = " CELL_QS(r) " AND a.kind = 'flash' AND a.outcome = " r ".outcome "     \
    "AND a.station_id IS " r ".station_id AND a.profile_id IS " r ".profile_id AND a.bay = " r ".bay " \
    "AND coalesce(a.adapter, '') = coalesce(" r ".adapter, '') AND a.lot IS " r ".lot "            \
    "AND a.operator IS " r ".operator AND a.cause IS " r ".cause AND a.bay_name IS " r ".bay_name"
#define CELL_SUB(r)                                                                               \
    "UPDATE attempt_cell SET n = n - 1, dup = dup - " r ".duplicate_mac, "                        \
    "timed = timed - " CELL_TIMED(r) ", timed_s = timed_s - " CELL_TIMED_S(r) ", " \
    "(min_start, max_end, min_end) = (SELECT min(a.start_ts), max(a.end_ts), min(a.end_ts) " CELL_OF(r) ") " \
    "WHERE " CELL_MATCH(r) ";\n"                                                                 \
    "DELETE FROM attempt_cell WHERE " CELL_MATCH(r) " AND n <= 0;\n"
#define HIST_COLUMNS "station_id, profile_id, bay, lot, operator, outcome, cause, start_ts, end_ts, kind"
#define HIST_MATCH(r)                                                                             \
    "day = " HIST_DAY(r) " AND station_id IS " r ".station_id AND profile_id IS " r ".profile_id " \
    "AND bay = " r ".bay AND lot IS " r ".lot AND operator IS " r ".operator AND bin = " HIST_BIN(r)
#define HIST_ADD(r)                                                                               \
    "INSERT INTO pass_hist SELECT " HIST_DAY(r) ", " r ".station_id, " r ".profile_id, " r ".bay, " \
    r ".lot, " r ".operator, " HIST_BIN(r) ", 0 WHERE NOT EXISTS (SELECT 1 FROM pass_hist WHERE "   \
    HIST_MATCH(r) ");\n"                                                                         \
    "UPDATE pass_hist SET n = n + 1 WHERE " HIST_MATCH(r) ";\n"
#define HIST_SUB(r)                                                                               \
    "UPDATE pass_hist SET n = n - 1 WHERE " HIST_MATCH(r) ";\n"                                  \
    "DELETE FROM pass_hist WHERE " HIST_MATCH(r) " AND n <= 0;\n"
/* A MAC's counted attempts (the report's definition: not interrupted, cancelled or skipped): how
 * many and the first and last end. Recomputed from attempt_by_mac_end at every change of the MAC's
 * rows (a few rows). The report takes the MACs with several attempts from here. */
#define SPAN_REDO(r)                                                                              \
    "DELETE FROM module_span WHERE mac = " r ".mac;\n"                                            \
    "INSERT INTO module_span SELECT a.mac, count(*), min(a.end_ts), max(a.end_ts) FROM attempt a " \
    "WHERE a.mac = " r ".mac AND " SPAN_COUNTED("a") " GROUP BY a.mac;\n"

/* ---- schema 9: the dashboard's summaries (report_summary.h) ----
 * attempt_quarter: a counted attempt added to or taken from its quarter-hour; a quarter emptied goes.
 * module_span: SPAN9_REDO recomputes a MAC's row from attempt_by_mac_end as SPAN_REDO did, with its
 * passes and whether its first attempt (by start, then id) passed. */
#define QUARTER_MATCH(r) "qs = " QUARTER_QS(r) " AND station_id = coalesce(" r ".station_id, 0)"
#define QUARTER_ADD(r)                                                                            \
    "INSERT INTO attempt_quarter (qs, station_id, n, passes) VALUES (" QUARTER_QS(r) ", "          \
    "coalesce(" r ".station_id, 0), 1, CASE WHEN " r ".outcome = 'pass' THEN 1 ELSE 0 END) "       \
    "ON CONFLICT (qs, station_id) DO UPDATE SET n = n + 1, passes = passes + excluded.passes;\n"
#define QUARTER_SUB(r)                                                                            \
    "UPDATE attempt_quarter SET n = n - 1, passes = passes - CASE WHEN " r ".outcome = 'pass' THEN 1 ELSE 0 END " \
    "WHERE " QUARTER_MATCH(r) ";\n"                                                               \
    "DELETE FROM attempt_quarter WHERE " QUARTER_MATCH(r) " AND n <= 0;\n"
#define QUARTER_COLUMNS "station_id, end_ts, outcome, cause, kind"
/* multi_attempt: a MAC's rows made again from attempt_by_mac_end at every change of them (a few). */
#define MULTI_REDO(r)                                                                             \
    "DELETE FROM multi_attempt WHERE mac = " r ".mac;\n"                                          \
    "INSERT INTO multi_attempt SELECT " MULTI_COLUMNS("a") " FROM attempt a WHERE a.mac = " r ".mac AND " \
    SPAN_COUNTED("a") " AND (SELECT count(*) FROM attempt b WHERE b.mac = " r ".mac AND " SPAN_COUNTED("b") ") > 1;\n"
#define MULTI_UPDATED "mac, id, start_ts, end_ts, outcome, cause, kind, profile_id, station_id, bay, adapter, lot, " \
    "operator, duplicate_mac"
#define SPAN9_REDO(r)                                                                             \
    "DELETE FROM module_span WHERE mac = " r ".mac;\n"                                            \
    "INSERT INTO module_span (mac, n, first_end, last_end, passes, first_ok) SELECT a.mac, count(*), " \
    "min(a.end_ts), max(a.end_ts), sum(CASE WHEN a.outcome = 'pass' THEN 1 ELSE 0 END), "          \
    "(SELECT CASE WHEN b.outcome = 'pass' THEN 1 ELSE 0 END FROM attempt b WHERE b.mac = " r ".mac AND " \
    SPAN_COUNTED("b") " ORDER BY b.start_ts, b.id LIMIT 1) FROM attempt a "                        \
    "WHERE a.mac = " r ".mac AND " SPAN_COUNTED("a") " GROUP BY a.mac;\n"

static const char *const migrations[] = {
    /* 1: the first schema. */
    "CREATE TABLE station (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  name TEXT NOT NULL,\n"
    "  host TEXT NOT NULL DEFAULT '',\n"
    "  UNIQUE (name, host)\n"
    ");\n"
    "CREATE TABLE profile (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  name TEXT NOT NULL,\n"
    "  sha256 TEXT NOT NULL UNIQUE,\n"
    "  text TEXT NOT NULL,\n"
    "  first_seen REAL NOT NULL\n"
    ");\n"
    "CREATE TABLE image (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  sha256 TEXT NOT NULL UNIQUE,\n"
    "  size INTEGER NOT NULL\n"
    ");\n"
    "CREATE TABLE module (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  mac TEXT NOT NULL UNIQUE,\n"
    "  chip TEXT,\n"
    "  chip_id INTEGER,\n"
    "  flash_id TEXT,\n"
    "  first_seen REAL NOT NULL,\n"
    "  last_seen REAL NOT NULL\n"
    ");\n"
    "CREATE TABLE attempt (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  station_id INTEGER REFERENCES station(id),\n"
    "  profile_id INTEGER REFERENCES profile(id),\n"
    "  image_id INTEGER REFERENCES image(id),\n"
    "  module_id INTEGER REFERENCES module(id),\n"
    "  bay INTEGER NOT NULL,\n"
    "  bay_name TEXT,\n"
    "  port_path TEXT,\n"
    "  adapter TEXT,\n"
    "  product TEXT,\n"
    "  start_ts REAL NOT NULL,\n"
    "  end_ts REAL,\n"
    "  outcome TEXT NOT NULL DEFAULT 'running'\n"
    "    CHECK (outcome IN ('running', 'pass', 'fail', 'interrupted')),\n"
    "  cause TEXT,\n"
    "  detail TEXT,\n"
    "  chip TEXT,\n"
    "  chip_id INTEGER,\n"
    "  flash_id TEXT,\n"
    "  mac TEXT,\n"
    "  boot_version TEXT,\n"
    "  bytes_written INTEGER,\n"
    "  sectors_written INTEGER,\n"
    "  sectors_skipped INTEGER,\n"
    "  retries INTEGER,\n"
    "  baud_start INTEGER,\n"
    "  baud_end INTEGER\n"
    ");\n"
    "CREATE INDEX attempt_by_end ON attempt (end_ts);\n"
    "CREATE INDEX attempt_by_module ON attempt (module_id);\n"
    "CREATE TABLE event_log (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  ts REAL NOT NULL,\n"
    "  bay INTEGER,\n"
    "  level TEXT NOT NULL,\n"
    "  text TEXT NOT NULL\n"
    ");\n",

    /* 2: duplicate-MAC flag, the assignment audit, and indexes for the per-bay/profile reports and
     * for the running-attempt sweep at start. */
    "ALTER TABLE attempt ADD COLUMN duplicate_mac INTEGER NOT NULL DEFAULT 0;\n"
    "CREATE TABLE assignment (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  ts REAL NOT NULL,\n"
    "  os_user TEXT NOT NULL,\n"
    "  engineer INTEGER NOT NULL,\n"
    "  bay_from INTEGER,\n"
    "  bay_to INTEGER,\n"
    "  old_profile_sha TEXT,\n"
    "  new_profile_sha TEXT,\n"
    "  allowed INTEGER NOT NULL\n"
    ");\n"
    "CREATE INDEX attempt_by_bay ON attempt (bay, end_ts);\n"
    "CREATE INDEX attempt_by_profile ON attempt (profile_id, end_ts);\n"
    "CREATE INDEX attempt_by_outcome ON attempt (outcome);\n"
    "CREATE INDEX attempt_by_mac ON attempt (mac);\n"
    "CREATE INDEX event_log_by_ts ON event_log (ts);\n",

    /* 3: the report computed in SQL (issue 19). One MAC's history, and the report's "which MACs
     * came back in this period", read from the index alone: (mac, end_ts) replaces (mac). Failed
     * attempts of a period (Pareto, failed modules) without reading the passes: a partial index.
     * A shift, a week and the dashboard's today are end_ts ranges (attempt_by_end). */
    "CREATE INDEX attempt_by_mac_end ON attempt (mac, end_ts);\n"
    "DROP INDEX attempt_by_mac;\n"
    "CREATE INDEX attempt_failed_by_end ON attempt (end_ts) WHERE outcome <> 'pass';\n",

    /* 4: the factory store (issue 14). A station identity made once per file; every attempt and
     * audit row gets a random UUID made when it is created (a restored or cloned file would reuse
     * row ids, and the central server would drop new records as duplicates); lot, tray and
     * operator on each attempt; an attempt kind (flash, restore, skipped) and the outcome
     * 'skipped' (a module that already passed elsewhere, left alone on purpose); the outbox the
     * forwarder drains. The CHECK on attempt.outcome can only change by rebuilding the table:
     * its rows are copied with their ids, and old rows get UUIDs of their own here (as does a row
 * inserted by hand: the column's default). */
    "CREATE TABLE station_self (\n"
    "  only INTEGER PRIMARY KEY CHECK (only = 1),\n"
    "  uuid TEXT NOT NULL,\n"
    "  created_ts REAL NOT NULL\n"
    ");\n"
    "INSERT INTO station_self (only, uuid, created_ts) SELECT 1, " UUID_SQL ", "
    "  (julianday('now') - 2440587.5) * 86400.0;\n"
    "ALTER TABLE station ADD COLUMN line TEXT;\n"
    "CREATE TABLE attempt_v4 (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  uuid TEXT NOT NULL UNIQUE DEFAULT " UUID_SQL ",\n"
    "  kind TEXT NOT NULL DEFAULT 'flash' CHECK (kind IN ('flash', 'restore', 'skipped')),\n"
    "  station_id INTEGER REFERENCES station(id),\n"
    "  profile_id INTEGER REFERENCES profile(id),\n"
    "  image_id INTEGER REFERENCES image(id),\n"
    "  module_id INTEGER REFERENCES module(id),\n"
    "  bay INTEGER NOT NULL,\n"
    "  bay_name TEXT,\n"
    "  port_path TEXT,\n"
    "  adapter TEXT,\n"
    "  product TEXT,\n"
    "  lot TEXT,\n"
    "  tray INTEGER,\n"
    "  operator TEXT,\n"
    "  start_ts REAL NOT NULL,\n"
    "  end_ts REAL,\n"
    "  outcome TEXT NOT NULL DEFAULT 'running'\n"
    "    CHECK (outcome IN ('running', 'pass', 'fail', 'interrupted', 'skipped')),\n"
    "  cause TEXT,\n"
    "  detail TEXT,\n"
    "  chip TEXT,\n"
    "  chip_id INTEGER,\n"
    "  flash_id TEXT,\n"
    "  mac TEXT,\n"
    "  boot_version TEXT,\n"
    "  bytes_written INTEGER,\n"
    "  sectors_written INTEGER,\n"
    "  sectors_skipped INTEGER,\n"
    "  retries INTEGER,\n"
    "  baud_start INTEGER,\n"
    "  baud_end INTEGER,\n"
    "  duplicate_mac INTEGER NOT NULL DEFAULT 0\n"
    ");\n"
    "INSERT INTO attempt_v4 (id, uuid, station_id, profile_id, image_id, module_id, bay, bay_name, "
    "  port_path, adapter, product, start_ts, end_ts, outcome, cause, detail, chip, chip_id, flash_id, "
    "  mac, boot_version, bytes_written, sectors_written, sectors_skipped, retries, baud_start, "
    "  baud_end, duplicate_mac)\n"
    "  SELECT id, " UUID_SQL ", station_id, profile_id, image_id, module_id, bay, bay_name, port_path, "
    "  adapter, product, start_ts, end_ts, outcome, cause, detail, chip, chip_id, flash_id, mac, "
    "  boot_version, bytes_written, sectors_written, sectors_skipped, retries, baud_start, baud_end, "
    "  duplicate_mac FROM attempt;\n"
    "DROP TABLE attempt;\n"
    "ALTER TABLE attempt_v4 RENAME TO attempt;\n"
    "CREATE INDEX attempt_by_end ON attempt (end_ts);\n"
    "CREATE INDEX attempt_by_module ON attempt (module_id);\n"
    "CREATE INDEX attempt_by_bay ON attempt (bay, end_ts);\n"
    "CREATE INDEX attempt_by_profile ON attempt (profile_id, end_ts);\n"
    "CREATE INDEX attempt_by_outcome ON attempt (outcome);\n"
    "CREATE INDEX attempt_by_mac_end ON attempt (mac, end_ts);\n"
    "CREATE INDEX attempt_failed_by_end ON attempt (end_ts) WHERE outcome <> 'pass';\n"
    "CREATE INDEX attempt_by_lot ON attempt (lot, end_ts) WHERE lot IS NOT NULL;\n"
    "ALTER TABLE assignment ADD COLUMN uuid TEXT;\n"
    "UPDATE assignment SET uuid = " UUID_SQL ";\n"
    "CREATE UNIQUE INDEX assignment_by_uuid ON assignment (uuid);\n"
    /* Trays are numbered within a lot: the next number is taken in the transaction that starts the
     * tray's first attempt. */
    "CREATE TABLE lot (\n"
    "  name TEXT PRIMARY KEY,\n"
    "  trays INTEGER NOT NULL DEFAULT 0,\n"
    "  first_ts REAL NOT NULL,\n"
    "  last_ts REAL NOT NULL\n"
    ");\n"
    /* One row per record to ship: what it is (the table) and its row id there. Written in the
     * transaction that finishes the record; sent_ts set only after the server committed it;
     * parked rows (refused for good) keep the server's words and leave the queue. */
    "CREATE TABLE outbox (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  kind TEXT NOT NULL CHECK (kind IN ('station', 'profile', 'image', 'attempt', 'assignment')),\n"
    "  ref_id INTEGER NOT NULL,\n"
    "  created_ts REAL NOT NULL,\n"
    "  sent_ts REAL,\n"
    "  tries INTEGER NOT NULL DEFAULT 0,\n"
    "  parked_ts REAL,\n"
    "  parked_reason TEXT\n"
    ");\n"
    "CREATE INDEX outbox_pending ON outbox (id) WHERE sent_ts IS NULL AND parked_ts IS NULL;\n"
    /* Every record already in the file is queued once: a station that gains a central store ships
     * its history too (the server drops what it already holds). */
    "INSERT INTO outbox (kind, ref_id, created_ts) SELECT 'station', id, "
    "  (julianday('now') - 2440587.5) * 86400.0 FROM station;\n"
    "INSERT INTO outbox (kind, ref_id, created_ts) SELECT 'profile', id, first_seen FROM profile;\n"
    "INSERT INTO outbox (kind, ref_id, created_ts) SELECT 'image', id, "
    "  (julianday('now') - 2440587.5) * 86400.0 FROM image;\n"
    "INSERT INTO outbox (kind, ref_id, created_ts) SELECT 'assignment', id, ts FROM assignment;\n"
    "INSERT INTO outbox (kind, ref_id, created_ts) SELECT 'attempt', id, end_ts FROM attempt "
    "  WHERE outcome <> 'running' ORDER BY end_ts, id;\n",

    /* 5: per-device data (issue 15). The ledger: rows imported per profile (one transaction an
     * import, keyed by the CSV's first column), each free, reserved for one MAC (the first time
     * that module is personalised) or used (its config sector verified); at most one row per MAC
     * and profile. The imports and the releases are audited. Each attempt says whether it was
     * personalised, with which row, the sector's CRC and the random id of the secrets file
     * version it used (never anything derived from the secrets). */
    "CREATE TABLE ledger_import (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  ts REAL NOT NULL,\n"
    "  os_user TEXT NOT NULL,\n"
    "  profile TEXT NOT NULL,\n"
    "  file TEXT NOT NULL,\n"
    "  columns TEXT NOT NULL,\n"
    "  rows INTEGER NOT NULL\n"
    ");\n"
    "CREATE TABLE ledger_row (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  profile TEXT NOT NULL,\n"
    "  row_key TEXT NOT NULL,\n"
    "  data TEXT NOT NULL,\n"
    "  import_id INTEGER NOT NULL REFERENCES ledger_import (id),\n"
    "  line INTEGER NOT NULL,\n"
    "  state TEXT NOT NULL DEFAULT 'free' CHECK (state IN ('free', 'reserved', 'used')),\n"
    "  mac TEXT,\n"
    "  reserved_ts REAL,\n"
    "  used_ts REAL,\n"
    "  config_crc INTEGER,\n"
    "  UNIQUE (profile, row_key),\n"
    "  CHECK ((state = 'free') = (mac IS NULL))\n"
    ");\n"
    "CREATE UNIQUE INDEX ledger_by_mac ON ledger_row (profile, mac) WHERE mac IS NOT NULL;\n"
    "CREATE INDEX ledger_free ON ledger_row (profile, state, id);\n"
    "CREATE TABLE ledger_audit (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  ts REAL NOT NULL,\n"
    "  os_user TEXT NOT NULL,\n"
    "  action TEXT NOT NULL CHECK (action IN ('release')),\n"
    "  profile TEXT NOT NULL,\n"
    "  row_id INTEGER NOT NULL REFERENCES ledger_row (id),\n"
    "  mac TEXT,\n"
    "  state_before TEXT NOT NULL\n"
    ");\n"
    "ALTER TABLE attempt ADD COLUMN personalized INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE attempt ADD COLUMN ledger_row_id INTEGER REFERENCES ledger_row (id);\n"
    "ALTER TABLE attempt ADD COLUMN config_crc INTEGER;\n"
    "ALTER TABLE attempt ADD COLUMN secrets_id TEXT;\n",
    /* 6: the adapter behind an attempt (issue 17): its model in the station's adapter table,
     * and the working baud the profile asked for; baud_start is the rate really used, lower
     * when the adapter cannot make what the profile asks (a setup notice, not a failure). */
    "ALTER TABLE attempt ADD COLUMN adapter_model TEXT;\n"
    "ALTER TABLE attempt ADD COLUMN baud_asked INTEGER;\n",


    /* 7: the report's summaries (issue 19), kept by triggers in the transaction of every change to
     * an attempt, whoever makes it (the writer, a hand edit, a bulk insert), and filled here from
     * the rows already in the file. report.c reads them for whole quarter-hours of a period and the
     * attempts themselves for the rest. */
    "CREATE TABLE attempt_cell (\n"
    "  qs REAL NOT NULL,\n"
    "  station_id INTEGER,\n"
    "  profile_id INTEGER,\n"
    "  bay INTEGER NOT NULL,\n"
    "  bay_name TEXT,\n"
    "  adapter TEXT NOT NULL,\n"
    "  lot TEXT,\n"
    "  operator TEXT,\n"
    "  outcome TEXT NOT NULL,\n"
    "  cause TEXT,\n"
    "  n INTEGER NOT NULL,\n"
    "  dup INTEGER NOT NULL,\n"
    "  timed INTEGER NOT NULL,\n"
    "  timed_s REAL NOT NULL,\n"
    "  min_start REAL,\n"
    "  max_end REAL,\n"
    "  min_end REAL\n"
    ");\n"
    "CREATE INDEX attempt_cell_key ON attempt_cell (qs, station_id, profile_id, bay, adapter, lot, operator, "
    "  outcome, cause, bay_name);\n"
    "CREATE TABLE module_span (\n"
    "  mac TEXT PRIMARY KEY,\n"
    "  n INTEGER NOT NULL,\n"
    "  first_end REAL NOT NULL,\n"
    "  last_end REAL NOT NULL\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX module_span_multi ON module_span (last_end, first_end) WHERE n > 1;\n"
    /* the cells: one row added, or taken away (its minimum and maximum times read again from the
     * attempts of its quarter-hour, which hold the row's new state) */
    "CREATE TRIGGER attempt_cell_ins AFTER INSERT ON attempt WHEN " CELL_ROW("NEW") " BEGIN\n"
    CELL_ADD("NEW") "END;\n"
    "CREATE TRIGGER attempt_cell_del AFTER DELETE ON attempt WHEN " CELL_ROW("OLD") " BEGIN\n"
    CELL_SUB("OLD") "END;\n"
    "CREATE TRIGGER attempt_cell_upd_old AFTER UPDATE OF " CELL_COLUMNS " ON attempt WHEN "
    CELL_ROW("OLD") " BEGIN\n" CELL_SUB("OLD") "END;\n"
    "CREATE TRIGGER attempt_cell_upd_new AFTER UPDATE OF " CELL_COLUMNS " ON attempt WHEN "
    CELL_ROW("NEW") " BEGIN\n" CELL_ADD("NEW") "END;\n"
    "CREATE TRIGGER module_span_ins AFTER INSERT ON attempt WHEN coalesce(NEW.mac, '') <> '' BEGIN\n"
    SPAN_REDO("NEW") "END;\n"
    "CREATE TRIGGER module_span_del AFTER DELETE ON attempt WHEN coalesce(OLD.mac, '') <> '' BEGIN\n"
    SPAN_REDO("OLD") "END;\n"
    "CREATE TRIGGER module_span_upd AFTER UPDATE OF mac, end_ts, outcome, cause, kind ON attempt "
    "  WHEN coalesce(OLD.mac, '') <> '' OR coalesce(NEW.mac, '') <> '' BEGIN\n"
    SPAN_REDO("OLD") SPAN_REDO("NEW") "END;\n"
    "CREATE TABLE pass_hist (\n"
    "  day REAL NOT NULL,\n"
    "  station_id INTEGER,\n"
    "  profile_id INTEGER,\n"
    "  bay INTEGER NOT NULL,\n"
    "  lot TEXT,\n"
    "  operator TEXT,\n"
    "  bin INTEGER NOT NULL,\n"
    "  n INTEGER NOT NULL\n"
    ");\n"
    "CREATE INDEX pass_hist_key ON pass_hist (day, station_id, profile_id, bay, lot, operator, bin);\n"
    "CREATE TRIGGER pass_hist_ins AFTER INSERT ON attempt WHEN " HIST_ROW("NEW") " BEGIN\n"
    HIST_ADD("NEW") "END;\n"
    "CREATE TRIGGER pass_hist_del AFTER DELETE ON attempt WHEN " HIST_ROW("OLD") " BEGIN\n"
    HIST_SUB("OLD") "END;\n"
    "CREATE TRIGGER pass_hist_upd_old AFTER UPDATE OF " HIST_COLUMNS " ON attempt WHEN " HIST_ROW("OLD")
    " BEGIN\n" HIST_SUB("OLD") "END;\n"
    "CREATE TRIGGER pass_hist_upd_new AFTER UPDATE OF " HIST_COLUMNS " ON attempt WHEN " HIST_ROW("NEW")
    " BEGIN\n" HIST_ADD("NEW") "END;\n"
    "INSERT INTO attempt_cell " CELL_REBUILD_SELECT ";\n"
    "INSERT INTO pass_hist " HIST_REBUILD_SELECT ";\n"
    "INSERT INTO module_span " SPAN_REBUILD_SELECT ";\n",
    /* 8: the backup store's index (issue 16). A block is a file of the store folder named by its
     * sha256 (db/blockstore.h); its row is inserted only after the file is durable, with where it
     * was first read, so "do we hold (address, length, CRC) already?" is one index lookup. A
     * backup is one module's (MAC) at one time; its ranges point at blocks (NULL: blank, all
     * 0xFF, never read). Rows are committed after their blocks: no row points at a missing file. */
    "CREATE TABLE backup_block (\n"
    "  sha256 TEXT PRIMARY KEY,\n"
    "  size INTEGER NOT NULL,\n"
    "  addr INTEGER NOT NULL,\n"
    "  crc32 INTEGER NOT NULL,\n"
    "  first_ts REAL NOT NULL\n"
    ");\n"
    "CREATE INDEX backup_block_by_content ON backup_block (addr, size, crc32);\n"
    "CREATE TABLE backup (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  mac TEXT NOT NULL,\n"
    "  chip TEXT NOT NULL,\n"
    "  mode TEXT NOT NULL CHECK (mode IN ('device', 'full')),\n"
    "  ts REAL NOT NULL,\n"
    "  station_id INTEGER REFERENCES station(id),\n"
    "  bay INTEGER,\n"
    "  port_path TEXT\n"
    ");\n"
    "CREATE INDEX backup_by_mac ON backup (mac, ts);\n"
    "CREATE TABLE backup_range (\n"
    "  backup_id INTEGER NOT NULL REFERENCES backup(id) ON DELETE CASCADE,\n"
    "  addr INTEGER NOT NULL,\n"
    "  len INTEGER NOT NULL,\n"
    "  crc32 INTEGER NOT NULL,\n"
    "  shared INTEGER NOT NULL,\n"
    "  sha256 TEXT REFERENCES backup_block(sha256),\n"
    "  PRIMARY KEY (backup_id, addr)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX backup_range_by_block ON backup_range (sha256);\n",
    /* 9: reports at any size (issue 19): the counted attempts per quarter-hour, and per MAC its
     * passes and first attempt's result, so that the dashboard's "today" reads one row per
     * quarter-hour and one per returning MAC (report.c, quarter_totals_sql); and the returning
     * MACs' attempts in a narrow table of their own (multi_attempt) for the report's ordered read.
     * module_span is made again with the new columns (its triggers with it); module_span_multi
     * gives way to an index that holds every column the dashboard reads of a span. */
    "CREATE TABLE attempt_quarter (\n"
    "  qs REAL NOT NULL,\n"
    "  station_id INTEGER NOT NULL,\n"
    "  n INTEGER NOT NULL,\n"
    "  passes INTEGER NOT NULL,\n"
    "  PRIMARY KEY (qs, station_id)\n"
    ") WITHOUT ROWID;\n"
    "CREATE TRIGGER attempt_quarter_ins AFTER INSERT ON attempt WHEN " SPAN_COUNTED("NEW") " BEGIN\n"
    QUARTER_ADD("NEW") "END;\n"
    "CREATE TRIGGER attempt_quarter_del AFTER DELETE ON attempt WHEN " SPAN_COUNTED("OLD") " BEGIN\n"
    QUARTER_SUB("OLD") "END;\n"
    "CREATE TRIGGER attempt_quarter_upd_old AFTER UPDATE OF " QUARTER_COLUMNS " ON attempt WHEN "
    SPAN_COUNTED("OLD") " BEGIN\n" QUARTER_SUB("OLD") "END;\n"
    "CREATE TRIGGER attempt_quarter_upd_new AFTER UPDATE OF " QUARTER_COLUMNS " ON attempt WHEN "
    SPAN_COUNTED("NEW") " BEGIN\n" QUARTER_ADD("NEW") "END;\n"
    "INSERT INTO attempt_quarter " QUARTER_REBUILD_SELECT ";\n"
    "DROP TRIGGER module_span_ins;\n"
    "DROP TRIGGER module_span_del;\n"
    "DROP TRIGGER module_span_upd;\n"
    "DROP TABLE module_span;\n"
    "CREATE TABLE module_span (\n"
    "  mac TEXT PRIMARY KEY,\n"
    "  n INTEGER NOT NULL,\n"
    "  first_end REAL NOT NULL,\n"
    "  last_end REAL NOT NULL,\n"
    "  passes INTEGER NOT NULL,\n"
    "  first_ok INTEGER NOT NULL\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX module_span_recent ON module_span (last_end, first_end, n, passes, first_ok) WHERE n > 1;\n"
    "CREATE TRIGGER module_span_ins AFTER INSERT ON attempt WHEN coalesce(NEW.mac, '') <> '' BEGIN\n"
    SPAN9_REDO("NEW") "END;\n"
    "CREATE TRIGGER module_span_del AFTER DELETE ON attempt WHEN coalesce(OLD.mac, '') <> '' BEGIN\n"
    SPAN9_REDO("OLD") "END;\n"
    "CREATE TRIGGER module_span_upd AFTER UPDATE OF mac, start_ts, end_ts, outcome, cause, kind ON attempt "
    "  WHEN coalesce(OLD.mac, '') <> '' OR coalesce(NEW.mac, '') <> '' BEGIN\n"
    SPAN9_REDO("OLD") SPAN9_REDO("NEW") "END;\n"
    "INSERT INTO module_span " SPAN9_REBUILD_SELECT ";\n"
    "CREATE TABLE multi_attempt (\n"
    "  mac TEXT NOT NULL,\n"
    "  id INTEGER NOT NULL,\n"
    "  start_ts REAL NOT NULL,\n"
    "  end_ts REAL NOT NULL,\n"
    "  outcome TEXT NOT NULL,\n"
    "  cause TEXT,\n"
    "  kind TEXT NOT NULL,\n"
    "  profile_id INTEGER,\n"
    "  station_id INTEGER,\n"
    "  bay INTEGER NOT NULL,\n"
    "  adapter TEXT,\n"
    "  lot TEXT,\n"
    "  operator TEXT,\n"
    "  duplicate_mac INTEGER NOT NULL,\n"
    "  PRIMARY KEY (mac, id)\n"
    ") WITHOUT ROWID;\n"
    "CREATE TRIGGER multi_attempt_ins AFTER INSERT ON attempt WHEN coalesce(NEW.mac, '') <> '' BEGIN\n"
    MULTI_REDO("NEW") "END;\n"
    "CREATE TRIGGER multi_attempt_del AFTER DELETE ON attempt WHEN coalesce(OLD.mac, '') <> '' BEGIN\n"
    MULTI_REDO("OLD") "END;\n"
    "CREATE TRIGGER multi_attempt_upd AFTER UPDATE OF " MULTI_UPDATED " ON attempt "
    "  WHEN coalesce(OLD.mac, '') <> '' OR coalesce(NEW.mac, '') <> '' BEGIN\n"
    MULTI_REDO("OLD") MULTI_REDO("NEW") "END;\n"
    "INSERT INTO multi_attempt " MULTI_REBUILD_SELECT ";\n",
};

int db_schema_latest(void)
{
    return (int)(sizeof migrations / sizeof migrations[0]);
}

const char *db_migration_sql(int version)
{
    if (version < 1 || version > db_schema_latest())
        return 0;
    return migrations[version - 1];
}
