/* report_fmt.c - see report_fmt.h. */
#include "report_fmt.h"
#include "bk_cause.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z: every zone's local time stays a 4-digit year. */
static const double TIME_MIN = -62135596800.0 + 86400, TIME_MAX = 253402300799.0 - 86400;

bool report_time_ok(double ts)
{
    return isfinite(ts) && ts >= TIME_MIN && ts <= TIME_MAX;
}

static bool local_tm(double ts, struct tm *tm)
{
    if (!report_time_ok(ts))
        return false;
    time_t t = (time_t)floor(ts);
    return localtime_r(&t, tm) != NULL;
}

void report_fmt_time(double ts, const char *fmt, char *buf, size_t n)
{
    struct tm tm;
    /* The format(strftime) attribute in report_fmt.h checks fmt at every caller instead. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    if (!local_tm(ts, &tm) || !strftime(buf, n, fmt, &tm))
        snprintf(buf, n, "?");
#pragma GCC diagnostic pop
}

static void offset_of(const struct tm *tm, char *buf, size_t n)
{
    int off = (int)(labs(tm->tm_gmtoff) % 86400); /* zones stay within +-14 h */
    snprintf(buf, n, "%c%02d:%02d", tm->tm_gmtoff < 0 ? '-' : '+', off / 3600, off / 60 % 60);
}

void report_fmt_iso(double ts, char *buf, size_t n)
{
    struct tm tm;
    char date[32], off[16];
    if (!local_tm(ts, &tm) || !strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm)) {
        snprintf(buf, n, "%s", "");
        return;
    }
    offset_of(&tm, off, sizeof off);
    snprintf(buf, n, "%s%s", date, off);
}

void report_fmt_offset(double ts, char *buf, size_t n)
{
    struct tm tm;
    if (!local_tm(ts, &tm)) {
        snprintf(buf, n, "%s", "");
        return;
    }
    offset_of(&tm, buf, n);
}

void report_fmt_seconds(double s, char *buf, size_t n)
{
    if (!isfinite(s))
        snprintf(buf, n, "?"); /* a sum of absurd durations that overflowed */
    else if (fabs(s) < 1e6)
        snprintf(buf, n, "%.1f s", s);
    else
        snprintf(buf, n, "%.3g s", s);
}

const char *report_cause_name(const char *id)
{
    if (!id || !*id)
        return "-";
    bk_cause c = bk_cause_from_id(id);
    return c < BK_CAUSE_COUNT ? bk_cause_name(c) : id;
}
