/* report_summary_pg.c - the report's summaries on PostgreSQL: the SQL a central store runs once to
 * keep them (the text the central schema appends as a migration), and the statement that fills
 * them again from its attempts. What they hold: report_summary.h.
 *
 * The central store only ever inserts attempts (station roles may not UPDATE or DELETE), so one
 * AFTER INSERT trigger keeps both tables, adding each row in its own transaction with
 * INSERT ... ON CONFLICT DO UPDATE: two stations' forwarders inserting at once meet on one row lock,
 * never on a lost count. The cell key is one unique index whose NULLs count as equal (NULLS NOT
 * DISTINCT, PostgreSQL 15). A row deleted by hand (an administrator's repair) leaves module_span a
 * little wide - the report stays exact, it reads those MACs' attempts - and the cells are made right
 * by report_summary_pg_rebuild_sql. The second version (report_summary_pg_v2_sql) adds schema 9's
 * summaries; a store holds them once its migration 4 ran. */
#include "report_pg.h"
#include "report_summary.h"

#define HIST_KEY "day, station_id, profile_id, bay, lot, operator, bin"
#define CELL_KEY "qs, station_id, profile_id, bay, adapter, lot, operator, outcome, cause, bay_name"

const char report_summary_pg_sql[] =
    "CREATE TABLE IF NOT EXISTS attempt_cell (qs double precision NOT NULL, station_id bigint, "
    "  profile_id bigint, bay bigint NOT NULL, bay_name text, adapter text NOT NULL, lot text, "
    "  operator text, outcome text NOT NULL, cause text, n bigint NOT NULL, dup bigint NOT NULL, "
    "  timed bigint NOT NULL, timed_s double precision NOT NULL, min_start double precision, "
    "  max_end double precision, min_end double precision);\n"
    "CREATE UNIQUE INDEX IF NOT EXISTS attempt_cell_key ON attempt_cell (" CELL_KEY ") NULLS NOT DISTINCT;\n"
    "CREATE TABLE IF NOT EXISTS module_span (mac text PRIMARY KEY, n bigint NOT NULL, "
    "  first_end double precision NOT NULL, last_end double precision NOT NULL);\n"
    "CREATE INDEX IF NOT EXISTS module_span_multi ON module_span (last_end, first_end) WHERE n > 1;\n"
    "CREATE TABLE IF NOT EXISTS pass_hist (day double precision NOT NULL, station_id bigint, "
    "  profile_id bigint, bay bigint NOT NULL, lot text, operator text, bin bigint NOT NULL, n bigint NOT NULL);\n"
    "CREATE UNIQUE INDEX IF NOT EXISTS pass_hist_key ON pass_hist (" HIST_KEY ") NULLS NOT DISTINCT;\n"
    "CREATE OR REPLACE FUNCTION attempt_summary_add() RETURNS trigger LANGUAGE plpgsql AS $fn$\n"
    "BEGIN\n"
    "  IF " CELL_ROW("NEW") " THEN\n"
    "    INSERT INTO attempt_cell AS c VALUES (" CELL_QS("NEW") ", NEW.station_id, NEW.profile_id, NEW.bay, "
    "      NEW.bay_name, coalesce(NEW.adapter, ''), NEW.lot, NEW.operator, NEW.outcome, NEW.cause, 1, "
    "      NEW.duplicate_mac, " CELL_TIMED("NEW") ", " CELL_TIMED_S("NEW") ", NEW.start_ts, NEW.end_ts, "
    "      NEW.end_ts)\n"
    "    ON CONFLICT (" CELL_KEY ") DO UPDATE SET n = c.n + 1, dup = c.dup + excluded.dup, "
    "      timed = c.timed + excluded.timed, timed_s = c.timed_s + excluded.timed_s, "
    "      min_start = least(c.min_start, excluded.min_start), max_end = greatest(c.max_end, excluded.max_end), "
    "      min_end = least(c.min_end, excluded.min_end);\n"
    "  END IF;\n"
    "  IF " HIST_ROW("NEW") " THEN\n"
    "    INSERT INTO pass_hist AS h VALUES (" HIST_DAY("NEW") ", NEW.station_id, NEW.profile_id, NEW.bay, "
    "      NEW.lot, NEW.operator, " HIST_BIN("NEW") ", 1)\n"
    "    ON CONFLICT (" HIST_KEY ") DO UPDATE SET n = h.n + 1;\n"
    "  END IF;\n"
    "  IF coalesce(NEW.mac, '') <> '' AND " SPAN_COUNTED("NEW") " THEN\n"
    "    INSERT INTO module_span AS s VALUES (NEW.mac, 1, NEW.end_ts, NEW.end_ts)\n"
    "    ON CONFLICT (mac) DO UPDATE SET n = s.n + 1, first_end = least(s.first_end, excluded.first_end), "
    "      last_end = greatest(s.last_end, excluded.last_end);\n"
    "  END IF;\n"
    "  RETURN NULL;\n"
    "END\n"
    "$fn$;\n"
    "DROP TRIGGER IF EXISTS attempt_summary ON attempt;\n"
    "CREATE TRIGGER attempt_summary AFTER INSERT ON attempt FOR EACH ROW EXECUTE FUNCTION attempt_summary_add();\n";

/* The second version (station schema 9's summaries; central migration 4): attempt_quarter,
 * multi_attempt and module_span's passes and first_ok. The trigger function is replaced whole. Here a
 * span also keeps its first attempt's start and id (first_start, first_id): attempts only arrive, so
 * the first is kept as they come - an earlier one (by start, then id) takes its place. The MAC's
 * second attempt copies both rows into multi_attempt, any later one itself: the copy runs after the
 * span's row lock is taken, so two stations sending one MAC's attempts at once copy each once. */
#define MULTI_NEW                                                                                 \
    "NEW.mac, NEW.id, NEW.start_ts, NEW.end_ts, NEW.outcome, NEW.cause, NEW.kind, NEW.profile_id, " \
    "NEW.station_id, NEW.bay, NEW.adapter, NEW.lot, NEW.operator, NEW.duplicate_mac"
#define EARLIER "(excluded.first_start, excluded.first_id) < (s.first_start, s.first_id)"
#define OK_NEW "(CASE WHEN NEW.outcome = 'pass' THEN 1 ELSE 0 END)"
const char report_summary_pg_v2_sql[] =
    "ALTER TABLE module_span ADD COLUMN IF NOT EXISTS passes bigint NOT NULL DEFAULT 0, "
    "  ADD COLUMN IF NOT EXISTS first_ok bigint NOT NULL DEFAULT 0, "
    "  ADD COLUMN IF NOT EXISTS first_start double precision, ADD COLUMN IF NOT EXISTS first_id bigint;\n"
    "DROP INDEX IF EXISTS module_span_multi;\n"
    /* with the MAC in: the report's list of returning MACs is an index-only scan, not a read of the
     * span rows (a row per module ever made: 1.2 GB at 10^7 attempts) */
    "CREATE INDEX IF NOT EXISTS module_span_recent ON module_span (last_end, first_end, n, passes, first_ok) "
    "  INCLUDE (mac) WHERE n > 1;\n"
    /* the failed list's columns beside its key: an index-only scan of the failed attempts (2 % of
     * them), not a heap page read for each (1.1 s of 1.8 s at 10^7 attempts) */
    "DROP INDEX IF EXISTS attempt_failed_by_end;\n"
    "CREATE INDEX IF NOT EXISTS attempt_failed_cover ON attempt (end_ts) INCLUDE (id, mac, bay, cause, detail, "
    "  duplicate_mac, start_ts, outcome, kind, profile_id, station_id, lot, operator) WHERE outcome <> 'pass';\n"
    "CREATE TABLE IF NOT EXISTS attempt_quarter (qs double precision NOT NULL, station_id bigint NOT NULL, "
    "  n bigint NOT NULL, passes bigint NOT NULL, PRIMARY KEY (qs, station_id));\n"
    "CREATE TABLE IF NOT EXISTS multi_attempt (mac text NOT NULL, id bigint NOT NULL, "
    "  start_ts double precision NOT NULL, end_ts double precision NOT NULL, outcome text NOT NULL, cause text, "
    "  kind text NOT NULL, profile_id bigint, station_id bigint, bay bigint NOT NULL, adapter text, lot text, "
    "  operator text, duplicate_mac integer NOT NULL, PRIMARY KEY (mac, id));\n"
    "CREATE OR REPLACE FUNCTION attempt_summary_add() RETURNS trigger LANGUAGE plpgsql AS $fn$\n"
    "DECLARE span_n bigint;\n"
    "BEGIN\n"
    "  IF " CELL_ROW("NEW") " THEN\n"
    "    INSERT INTO attempt_cell AS c VALUES (" CELL_QS("NEW") ", NEW.station_id, NEW.profile_id, NEW.bay, "
    "      NEW.bay_name, coalesce(NEW.adapter, ''), NEW.lot, NEW.operator, NEW.outcome, NEW.cause, 1, "
    "      NEW.duplicate_mac, " CELL_TIMED("NEW") ", " CELL_TIMED_S("NEW") ", NEW.start_ts, NEW.end_ts, "
    "      NEW.end_ts)\n"
    "    ON CONFLICT (" CELL_KEY ") DO UPDATE SET n = c.n + 1, dup = c.dup + excluded.dup, "
    "      timed = c.timed + excluded.timed, timed_s = c.timed_s + excluded.timed_s, "
    "      min_start = least(c.min_start, excluded.min_start), max_end = greatest(c.max_end, excluded.max_end), "
    "      min_end = least(c.min_end, excluded.min_end);\n"
    "  END IF;\n"
    "  IF " HIST_ROW("NEW") " THEN\n"
    "    INSERT INTO pass_hist AS h VALUES (" HIST_DAY("NEW") ", NEW.station_id, NEW.profile_id, NEW.bay, "
    "      NEW.lot, NEW.operator, " HIST_BIN("NEW") ", 1)\n"
    "    ON CONFLICT (" HIST_KEY ") DO UPDATE SET n = h.n + 1;\n"
    "  END IF;\n"
    "  IF " SPAN_COUNTED("NEW") " THEN\n"
    "    INSERT INTO attempt_quarter AS q VALUES (" QUARTER_QS("NEW") ", coalesce(NEW.station_id, 0), 1, " OK_NEW ")\n"
    "    ON CONFLICT (qs, station_id) DO UPDATE SET n = q.n + 1, passes = q.passes + excluded.passes;\n"
    "  END IF;\n"
    "  IF coalesce(NEW.mac, '') <> '' AND " SPAN_COUNTED("NEW") " THEN\n"
    "    INSERT INTO module_span AS s (mac, n, first_end, last_end, passes, first_ok, first_start, first_id) "
    "      VALUES (NEW.mac, 1, NEW.end_ts, NEW.end_ts, " OK_NEW ", " OK_NEW ", NEW.start_ts, NEW.id)\n"
    "    ON CONFLICT (mac) DO UPDATE SET n = s.n + 1, first_end = least(s.first_end, excluded.first_end), "
    "      last_end = greatest(s.last_end, excluded.last_end), passes = s.passes + excluded.passes, "
    "      first_ok = CASE WHEN " EARLIER " THEN excluded.first_ok ELSE s.first_ok END, "
    "      first_start = CASE WHEN " EARLIER " THEN excluded.first_start ELSE s.first_start END, "
    "      first_id = CASE WHEN " EARLIER " THEN excluded.first_id ELSE s.first_id END\n"
    "    RETURNING s.n INTO span_n;\n"
    "    IF span_n = 2 THEN\n"
    "      INSERT INTO multi_attempt SELECT " MULTI_COLUMNS("a") " FROM attempt a WHERE a.mac = NEW.mac AND "
    SPAN_COUNTED("a") " ON CONFLICT DO NOTHING;\n"
    "    ELSIF span_n > 2 THEN\n"
    "      INSERT INTO multi_attempt VALUES (" MULTI_NEW ") ON CONFLICT DO NOTHING;\n"
    "    END IF;\n"
    "  END IF;\n"
    "  RETURN NULL;\n"
    "END\n"
    "$fn$;\n";

const char report_summary_pg_v2_fill_sql[] = SUMMARY_PG_V2_FILL;

const char report_summary_pg_rebuild_sql[] =
    "LOCK TABLE attempt IN SHARE MODE;\n"
    "TRUNCATE attempt_cell, module_span, pass_hist, attempt_quarter, multi_attempt;\n"
    "INSERT INTO attempt_cell " CELL_REBUILD_SELECT ";\n"
    "INSERT INTO pass_hist " HIST_REBUILD_SELECT ";\n"
    SPAN_PG_REBUILD ";\n"
    "INSERT INTO attempt_quarter " QUARTER_REBUILD_SELECT ";\n"
    "INSERT INTO multi_attempt " MULTI_REBUILD_SELECT ";\n"
    "ANALYZE attempt_cell, module_span, pass_hist, attempt_quarter, multi_attempt;\n";
