/* report_fmt.h - how the report renderers print values (internal to db/): times that a hand-edited
 * row may have made absurd, ISO 8601 with a colon in the offset, durations of any size, cause names.
 * One place, so the table, CSV, JSON and HTML print a value the same way. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

/* A time the C library can print: finite and within the years 1..9999. */
bool report_time_ok(double ts);
/* strftime of the local time; "?" when the time is not printable. */
void report_fmt_time(double ts, const char *fmt, char *buf, size_t n)
    __attribute__((format(strftime, 2, 0)));
/* "2024-05-02T06:00:00+00:00" (local time, ISO 8601 offset with a colon); "" when not printable. */
void report_fmt_iso(double ts, char *buf, size_t n);
/* The local zone's offset at ts, "+00:00" / "-05:30"; "" when the time is not printable. */
void report_fmt_offset(double ts, char *buf, size_t n);
/* "19.5 s" for ordinary durations; "1.2e+07 s" for absurd ones, never a 300-digit number; "?" for
 * one that is not finite. */
void report_fmt_seconds(double s, char *buf, size_t n);
/* The cause's short name from bk_cause ("brown-out"); a word the cause table does not know is shown
 * as stored; no cause at all is "-". */
const char *report_cause_name(const char *id);
