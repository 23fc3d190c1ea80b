/* report_pg.h - the yield report on a PostgreSQL server (the factory's central database), by the
 * same report code and definitions as the station's SQLite (report.h), through libpq.
 *
 * The central copy: tables station, profile and attempt with the columns the report reads, keyed
 * as in the station's file plus the station each attempt came from. This is the foundation the
 * factory store (issue 14) grows from; report_pg_copy_station() fills it from a station file for
 * tests and benchmarks (one COPY per table, inside one transaction). */
#pragma once
#include <stddef.h>
#include "report.h"

/* conninfo: a libpq connection string or URL. The report reads one snapshot (REPEATABLE READ,
 * READ ONLY); o->tz, when given, is set as the session's TimeZone. */
int report_build_pg(const char *conninfo, const report_filter *f, const report_options *o, report **out,
                    char *err, size_t errlen);
/* Creates the central copy's tables and indexes if they are not there, with the summaries. */
int report_pg_create_schema(const char *conninfo, char *err, size_t errlen);
/* Copies every station, profile and finished or running attempt of the station file into the
 * central copy (ids kept: one file's ids, or files whose ids do not overlap), with the summary
 * trigger off during the COPY and the summaries filled again from every attempt after it. */
int report_pg_copy_station(const char *conninfo, db *d, char *err, size_t errlen);

/* The report's summaries on a central store (report_summary_pg.c): the tables and the trigger that
 * keeps them as attempts arrive - the text a central migration appends - and the statements that
 * fill them again from the attempts (after a bulk load with the trigger off, or a repair). */
extern const char report_summary_pg_sql[];
extern const char report_summary_pg_rebuild_sql[];
/* The second version (the station's schema 9: attempt_quarter, multi_attempt, module_span's passes
 * and first attempt), applied after the first; and the statements that fill its parts from the
 * attempts already there (a store migrated with rows in it). */
extern const char report_summary_pg_v2_sql[];
extern const char report_summary_pg_v2_fill_sql[];
