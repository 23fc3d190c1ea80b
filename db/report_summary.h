/* report_summary.h - the report's summaries, in SQL that SQLite and PostgreSQL both run (internal to
 * db/). Migration 7 of the station's file (db_schema.c) is built from these texts and the central
 * copy (report_pg.c) too: a released migration never changes, so neither do they - a change is a
 * new migration with texts of its own.
 *
 * attempt_cell: per UTC quarter-hour of the end (qs) and every key the report groups or filters by
 * (station, profile version, bay and its name, adapter, lot, operator, outcome, cause), the
 * additive figures of the attempts of kind 'flash' that have ended: how many (n), flagged duplicate
 * (dup), timed passes and their flash time (timed, timed_s), and the first start and the first and
 * last end. A quarter-hour is whole in every zone's hours and days (offsets are whole quarters).
 * pass_hist: per UTC day of the end (day), station, profile version, bay, lot and operator, how many
 * counted passes took each quarter-second of flash time (bin = floor(4 (end - start))): the p95 of
 * a long period, to a quarter-second, without reading every pass.
 * module_span: per MAC, its counted attempts (not interrupted, cancelled or skipped): how many and
 * the first and last end; the report takes the MACs with several attempts in a period from it. */
#pragma once

#define CELL_ROW(r) r ".end_ts IS NOT NULL AND " r ".kind = 'flash' AND " r ".outcome <> 'running'"
#define CELL_QS(r) "floor(" r ".end_ts / 900) * 900"
#define CELL_TIMED(r) "(CASE WHEN " r ".outcome = 'pass' AND " r ".end_ts - " r ".start_ts >= 0 THEN 1 ELSE 0 END)"
#define CELL_TIMED_S(r)                                                                           \
    "(CASE WHEN " r ".outcome = 'pass' AND " r ".end_ts - " r ".start_ts >= 0 THEN " r ".end_ts - " r ".start_ts " \
    "ELSE 0 END)"
#define CELL_REBUILD_SELECT                                                                       \
    "SELECT " CELL_QS("a") ", a.station_id, a.profile_id, a.bay, a.bay_name, coalesce(a.adapter, ''), " \
    "a.lot, a.operator, a.outcome, a.cause, count(*), sum(a.duplicate_mac), sum(" CELL_TIMED("a") "), " \
    "sum(" CELL_TIMED_S("a") "), min(a.start_ts), max(a.end_ts), min(a.end_ts) "                 \
    "FROM attempt a WHERE " CELL_ROW("a") " GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10"
#define SPAN_COUNTED(r)                                                                           \
    r ".end_ts IS NOT NULL AND " r ".kind = 'flash' AND " r ".outcome NOT IN ('running', "       \
    "'interrupted', 'skipped') AND coalesce(" r ".cause, '') <> 'cancelled'"
#define SPAN_REBUILD_SELECT                                                                       \
    "SELECT a.mac, count(*), min(a.end_ts), max(a.end_ts) FROM attempt a WHERE coalesce(a.mac, '') <> '' " \
    "AND " SPAN_COUNTED("a") " GROUP BY a.mac"
#define HIST_ROW(r)                                                                               \
    r ".end_ts IS NOT NULL AND " r ".kind = 'flash' AND " r ".outcome = 'pass' AND " r ".end_ts - " r ".start_ts >= 0 " \
    "AND coalesce(" r ".cause, '') <> 'cancelled'"
#define HIST_DAY(r) "floor(" r ".end_ts / 86400) * 86400"
#define HIST_BIN(r) "CAST(floor((" r ".end_ts - " r ".start_ts) * 4) AS BIGINT)"
#define HIST_REBUILD_SELECT                                                                       \
    "SELECT " HIST_DAY("a") ", a.station_id, a.profile_id, a.bay, a.lot, a.operator, " HIST_BIN("a") ", count(*) " \
    "FROM attempt a WHERE " HIST_ROW("a") " GROUP BY 1, 2, 3, 4, 5, 6, 7"

/* Schema 9's summaries (issue 19: "today" and the factory's report at 10^7 attempts):
 * attempt_quarter: per UTC quarter-hour of the end (qs) and station (0: none), the counted attempts
 * (SPAN_COUNTED, with a MAC or without) and how many passed - the dashboard's question (a period's
 * modules, passes and first passes, no filter, no grouping) in 96 rows a day.
 * module_span gains, per MAC, its counted passes (passes) and whether its first counted attempt (by
 * start, then id: the report's order) passed (first_ok). A MAC whose counted attempts all end inside
 * a period is, in that period, exactly what its span row says: one module of n attempts, passed when
 * passes > 0, passed first when first_ok - no attempt of it need be read.
 * multi_attempt: the counted attempts of the MACs with several (module_span.n > 1), the columns the
 * report's ordered read of returning modules needs (multi_sql), clustered by MAC: about 3 % of the
 * attempts, read without touching the wide attempt rows. */
#define QUARTER_QS(r) CELL_QS(r)
#define QUARTER_REBUILD_SELECT                                                                    \
    "SELECT " QUARTER_QS("a") ", coalesce(a.station_id, 0), count(*), "                          \
    "sum(CASE WHEN a.outcome = 'pass' THEN 1 ELSE 0 END) FROM attempt a WHERE " SPAN_COUNTED("a") " GROUP BY 1, 2"
#define SPAN9_REBUILD_SELECT                                                                      \
    "SELECT a.mac, count(*), min(a.end_ts), max(a.end_ts), sum(a.ok), max(CASE WHEN a.rn = 1 THEN a.ok END) " \
    "FROM (SELECT a.mac, a.end_ts, CASE WHEN a.outcome = 'pass' THEN 1 ELSE 0 END AS ok, "          \
    "row_number() OVER (PARTITION BY a.mac ORDER BY a.start_ts, a.id) AS rn FROM attempt a "       \
    "WHERE coalesce(a.mac, '') <> '' AND " SPAN_COUNTED("a") ") a GROUP BY a.mac"
#define MULTI_COLUMNS(r)                                                                          \
    r ".mac, " r ".id, " r ".start_ts, " r ".end_ts, " r ".outcome, " r ".cause, " r ".kind, " r ".profile_id, " \
    r ".station_id, " r ".bay, " r ".adapter, " r ".lot, " r ".operator, " r ".duplicate_mac"
#define MULTI_REBUILD_SELECT                                                                      \
    "SELECT " MULTI_COLUMNS("a") " FROM attempt a WHERE coalesce(a.mac, '') <> '' AND " SPAN_COUNTED("a") \
    " AND a.mac IN (SELECT b.mac FROM attempt b WHERE coalesce(b.mac, '') <> '' AND " SPAN_COUNTED("b") \
    " GROUP BY b.mac HAVING count(*) > 1)"

/* On PostgreSQL (report_summary_pg.c; central migrations 4 and 5) module_span also keeps its first
 * attempt's start and id, so the first is kept as attempts arrive (a store only ever inserts). */
#define SPAN_PG_REBUILD                                                                           \
    "INSERT INTO module_span (mac, n, first_end, last_end, passes, first_ok, first_start, first_id) "      \
    "SELECT a.mac, count(*), min(a.end_ts), max(a.end_ts), sum(a.ok), max(CASE WHEN a.rn = 1 THEN a.ok END), " \
    "max(CASE WHEN a.rn = 1 THEN a.start_ts END), max(CASE WHEN a.rn = 1 THEN a.id END) "            \
    "FROM (SELECT a.mac, a.id, a.start_ts, a.end_ts, CASE WHEN a.outcome = 'pass' THEN 1 ELSE 0 END AS ok, " \
    "row_number() OVER (PARTITION BY a.mac ORDER BY a.start_ts, a.id) AS rn FROM attempt a "       \
    "WHERE coalesce(a.mac, '') <> '' AND " SPAN_COUNTED("a") ") a GROUP BY a.mac"
#define SUMMARY_PG_V2_FILL                                                                        \
    "TRUNCATE module_span, attempt_quarter, multi_attempt;\n" SPAN_PG_REBUILD ";\n"               \
    "INSERT INTO attempt_quarter " QUARTER_REBUILD_SELECT ";\n"                                   \
    "INSERT INTO multi_attempt " MULTI_REBUILD_SELECT ";\n"
