/* cmd_report.c - `trayflash report`: db/report.h does the numbers; this parses options.
 *
 * Every option value is checked whole: a time that is not a real date or moment, a bay number that
 * does not fit, a period that ends before it starts are usage errors (exit 2) naming the option and
 * the value, never an empty or silently different report. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include "atomic_file.h"
#include "cli.h"
#include "cli_opts.h"
#include "exit_codes.h"
#include "central_conf.h"
#include "report.h"
#include "report_pg.h"

/* The outcome -> exit code table is station/exit_codes.h's. */
#define EXIT_USAGE tf_exit_code(TF_OUT_USAGE)
#define EXIT_SETUP tf_exit_code(TF_OUT_SETUP)

/* The failed modules the table and the HTML page list unless --limit says otherwise. */
enum { REPORT_PAGE_DEFAULT = 100 };

/* 9999-12-31 23:59:59 UTC: the last moment a report prints as a four-digit year. */
static const double TIME_LAST = 253402300799.0;

/* n decimal digits exactly at *s; advances *s. */
static bool digits(const char **s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*s)[i]))
            return false;
        v = v * 10 + ((*s)[i] - '0');
    }
    *s += n;
    *out = v;
    return true;
}

static int days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

/* "Z", "+HH:MM", "+HHMM" or "+HH" after a date and time: seconds east of UTC. */
static bool parse_offset(const char *s, long *east)
{
    if (!strcmp(s, "Z")) {
        *east = 0;
        return true;
    }
    if (*s != '+' && *s != '-')
        return false;
    int sign = *s++ == '-' ? -1 : 1, h, m = 0;
    if (!digits(&s, 2, &h))
        return false;
    if (*s == ':')
        s++;
    if (*s && !digits(&s, 2, &m))
        return false;
    if (*s || h > 14 || m > 59)
        return false;
    *east = sign * (h * 3600L + m * 60L);
    return true;
}

static const char time_forms[] =
    "give unix seconds, YYYY-MM-DD, or YYYY-MM-DD HH:MM[:SS] (local time; 'T' for the space and a Z "
    "or +HH:MM offset also work)";

/* Unix seconds (digits), or a local date and time, checked field by field: 2026-02-30 and 25:00
 * are refused, not rolled over by mktime into March and the next day. why gets the reason. */
static bool parse_time(const char *s, double *out, char *why, size_t n)
{
    const char *p = s;
    while (isdigit((unsigned char)*p))
        p++;
    if (p != s && (!*p || (*p == '.' && p[1]))) {
        char *end;
        double x = strtod(s, &end);
        if (*end) {
            snprintf(why, n, "is not a time: %s", time_forms);
            return false;
        }
        if (x > TIME_LAST) {
            snprintf(why, n, "is after the year 9999");
            return false;
        }
        *out = x;
        return true;
    }
    struct tm tm = {0};
    int year, mon, day, hour = 0, min = 0, sec = 0;
    p = s;
    if (!digits(&p, 4, &year) || *p++ != '-' || !digits(&p, 2, &mon) || *p++ != '-' || !digits(&p, 2, &day)) {
        snprintf(why, n, "is not a time: %s", time_forms);
        return false;
    }
    if (*p == ' ' || *p == 'T') {
        p++;
        if (!digits(&p, 2, &hour) || *p++ != ':' || !digits(&p, 2, &min) ||
            (*p == ':' && (p++, !digits(&p, 2, &sec)))) {
            snprintf(why, n, "is not a time: %s", time_forms);
            return false;
        }
    }
    long east = 0;
    bool zoned = *p != 0;
    if (zoned && !parse_offset(p, &east)) {
        snprintf(why, n, "'%s' is not a time zone offset: %s", p, time_forms);
        return false;
    }
    if (year < 1970 || mon < 1 || mon > 12) {
        snprintf(why, n, year < 1970 ? "is before 1970" : "has no month %02d", mon);
        return false;
    }
    if (day < 1 || day > days_in_month(year, mon)) {
        snprintf(why, n, "is not a date: %04d-%02d has %d days", year, mon, days_in_month(year, mon));
        return false;
    }
    if (hour > 23 || min > 59 || sec > 59) {
        snprintf(why, n, "is not a time of day (hours 00..23, minutes and seconds 00..59)");
        return false;
    }
    tm.tm_year = year - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = min;
    tm.tm_sec = sec;
    if (zoned) {
        *out = (double)timegm(&tm) - east;
        return true;
    }
    tm.tm_isdst = -1;
    time_t t = mktime(&tm);
    /* mktime moves a moment that a daylight-saving change skipped; the fields then differ */
    if (t == (time_t)-1 || tm.tm_hour != hour || tm.tm_min != min || tm.tm_mday != day) {
        snprintf(why, n, "does not exist in the local time zone (a daylight-saving change skips it)");
        return false;
    }
    *out = (double)t;
    return true;
}

/* A bay number: decimal digits, 1..INT_MAX; 4294967297 is an error, not bay 1. */
static bool parse_bay(const char *s, int *out)
{
    if (!*s)
        return false;
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p))
            return false;
    errno = 0;
    char *end;
    long long b = strtoll(s, &end, 10);
    if (errno == ERANGE || b < 1 || b > INT_MAX)
        return false;
    *out = (int)b;
    return true;
}

static int usage_error(const char *opt, const char *value, const char *why)
{
    fprintf(stderr, "trayflash report: %s '%s' %s\n", opt, value, why);
    return EXIT_USAGE;
}

typedef struct report_opts {
    const char *dbpath, *format, *html;
    const char *since_text, *until_text;
    bool format_given;
    int limit;  /* --limit: failed modules listed; 0 when not given */
    const char *tz;
    const char *central;  /* --central URL: the central PostgreSQL instead of --db */
    report_filter f;
} report_opts;

enum { OPT_DB, OPT_SINCE, OPT_UNTIL, OPT_PROFILE, OPT_BAY, OPT_FORMAT, OPT_HTML, OPT_LIMIT, OPT_TZ,
       OPT_CENTRAL, OPT_COUNT };
static const cli_opt report_opts_table[] = {
    [OPT_DB] = {"db", "FILE", "the database (default trayflash.db; the demo writes trayflash-demo.db)"},
    [OPT_SINCE] = {"since", "TIME", "attempts that ended at or after TIME"},
    [OPT_UNTIL] = {"until", "TIME", "attempts that ended before TIME (after --since)\n"
                                    "TIME: unix seconds, YYYY-MM-DD or YYYY-MM-DD HH:MM[:SS] (local time;\n"
                                    "'T' for the space and a Z or +HH:MM offset also work)"},
    [OPT_PROFILE] = {"profile", "NAME", "one profile only"},
    [OPT_BAY] = {"bay", "N", "one bay only (1..2147483647)"},
    [OPT_FORMAT] = {"format", "F", "table (default), csv or json on stdout"},
    [OPT_HTML] = {"html", "FILE", "write an HTML report with charts to FILE (then stdout says only\n"
                                  "'wrote FILE', unless --format is given too)"},
    [OPT_LIMIT] = {"limit", "N", "list at most N failed modules (default: 100 in the table and HTML,\n"
                                 "every one in csv and json); the total is always given"},
    [OPT_TZ] = {"tz", "ZONE", "hours, days, --since/--until and printed times in ZONE (default: the\n"
                              "station's zone, TZ): Europe/Berlin, or a POSIX rule such as UTC0"},
    [OPT_CENTRAL] = {"central", "URL", "the factory report: every station's records in the central\n"
                                       "PostgreSQL (no password in the URL; docs/factory.md)"},
    [OPT_COUNT] = {NULL, NULL, NULL},
};

static const cli_command report_cmd = {
    .name = "report",
    .synopsis = "report [--db FILE] [--since TIME] [--until TIME] [--profile NAME] [--bay N]\n"
                "       [--format table|csv|json] [--html FILE] [--limit N] [--tz ZONE]\n"
                "       [--central URL]",
    .about = "Yield report from a station's database: yields, flash times, the causes of failures\n"
             "(Pareto), failed modules, by profile version, hour or day, bay and adapter.",
    .opts = report_opts_table,
    .footer = "Exit status: 0 the report was written, 2 usage error, 3 the database could not be read or\n"
              "a file not written.\n",
};

static int parse_value(report_opts *o, int opt, const char *v)
{
    char why[256];
    char a[32];
    snprintf(a, sizeof a, "--%s", report_opts_table[opt].name);
    switch (opt) {
    case OPT_DB:
        o->dbpath = v;
        break;
    case OPT_PROFILE:
        if (!*v)
            return usage_error(a, v, "is empty: give a profile name, or leave --profile out for all");
        o->f.profile = v;
        break;
    case OPT_HTML:
        if (!*v)
            return usage_error(a, v, "is empty: give the file to write");
        o->html = v;
        break;
    case OPT_FORMAT:
        if (strcmp(v, "table") && strcmp(v, "csv") && strcmp(v, "json"))
            return usage_error(a, v, "is not a format: table, csv or json");
        o->format = v;
        o->format_given = true;
        break;
    case OPT_BAY:
        if (!parse_bay(v, &o->f.bay))
            return usage_error(a, v, "is not a bay number (1..2147483647)");
        break;
    case OPT_LIMIT:
        if (!parse_bay(v, &o->limit))
            return usage_error(a, v, "is not a number of rows (1..2147483647)");
        break;
    case OPT_TZ:
        break; /* applied by apply_tz() before any time is parsed */
    case OPT_CENTRAL:
        o->central = v;
        break;
    case OPT_SINCE:
        if (!parse_time(v, &o->f.since, why, sizeof why))
            return usage_error(a, v, why);
        o->since_text = v;
        break;
    default:
        if (!parse_time(v, &o->f.until, why, sizeof why))
            return usage_error(a, v, why);
        o->until_text = v;
    }
    return 0;
}

/* --tz ZONE (issue 19): the zone of the hours and days, of --since/--until and of printed times,
 * so it is set (TZ) before any other option is read: a first pass over the options finds it. A
 * name must be in the zone database; a POSIX rule ("CET-1CEST,M3.5.0,M10.5.0/3", "UTC0") carries
 * its own offsets. Malformed options are left to the second pass to report. */
static int apply_tz(int argc, char **argv, const char **tz)
{
    const char *v;
    char msg[512];
    cli_parser cp;
    cli_parser_init(&cp, &report_cmd, argc, argv);
    for (int opt; (opt = cli_next(&cp, &v, msg, sizeof msg)) != CLI_END;) {
        if (opt != OPT_TZ)
            continue;
        char file[PATH_MAX];
        snprintf(file, sizeof file, "/usr/share/zoneinfo/%s", v);
        bool rule = strpbrk(v, "0123456789") != NULL;
        if (!*v || strstr(v, "..") || (!rule && strcmp(v, "UTC") && access(file, R_OK) != 0))
            return usage_error("--tz", v, "is not a time zone: a name such as Europe/Berlin (the zone "
                               "database, package tzdata) or a POSIX rule such as UTC0");
        setenv("TZ", v, 1);
        tzset();
        *tz = v;
    }
    return 0;
}

static int parse_args(int argc, char **argv, report_opts *o)
{
    const char *given[OPT_COUNT] = {0}, *v;
    char msg[512];
    cli_parser cp;
    cli_parser_init(&cp, &report_cmd, argc, argv);
    for (int opt; (opt = cli_next(&cp, &v, msg, sizeof msg)) != CLI_END;) {
        if (opt == CLI_ERROR) {
            fprintf(stderr, "trayflash report: %s\n", msg);
            return EXIT_USAGE;
        }
        if (given[opt]) {
            fprintf(stderr, "trayflash report: --%s '%s' given twice (then '%s'); give it once\n",
                    report_opts_table[opt].name, given[opt], v);
            return EXIT_USAGE;
        }
        given[opt] = v;
        int rc = parse_value(o, opt, v);
        if (rc)
            return rc;
    }
    if (cp.first_operand < argc) {
        fprintf(stderr, "trayflash report: unexpected argument '%s' (see trayflash report "
                "--help)\n", argv[cp.first_operand]);
        return EXIT_USAGE;
    }
    if (given[OPT_DB] && given[OPT_CENTRAL]) {
        fprintf(stderr, "trayflash report: --db and --central name two sources; give one\n");
        return EXIT_USAGE;
    }
    /* until <= 0 means "no end" to report_build: a given --until must never reach it as that */
    if (o->until_text && o->f.until <= o->f.since) {
        if (o->since_text)
            fprintf(stderr, "trayflash report: --until '%s' is not after --since '%s': the period would be "
                    "empty\n", o->until_text, o->since_text);
        else
            fprintf(stderr, "trayflash report: --until '%s' is not after the start of time (1970-01-01 UTC); "
                    "leave --until out to report up to now\n", o->until_text);
        return EXIT_USAGE;
    }
    return 0;
}

static int fill_html(void *r, FILE *out) { return report_write_html(r, out); }

static int write_report(const report_opts *o, report *r);

/* --central URL: the same report on the central PostgreSQL (report_pg.h). The password comes
 * from a passfile (central_conf.h): given to libpq as PGPASSFILE for this one process. */
static int build_central(const report_opts *o, const report_options *ro, report **r)
{
    central_conf conf;
    char err[1024];
    if (central_conf_resolve(o->central, NULL, &conf, err, sizeof err) < 0) {
        fprintf(stderr, "trayflash report: %s\n", err);
        return -1;
    }
    if (conf.passfile[0])
        setenv("PGPASSFILE", conf.passfile, 1);
    int rc = report_build_pg(conf.conninfo, &o->f, ro, r, err, sizeof err);
    if (rc < 0)
        fprintf(stderr, "trayflash report: %s\n", err);
    central_conf_close(&conf);
    return rc;
}

int cmd_report(int argc, char **argv)
{
    if (cli_help_asked(argc, argv)) {
        cli_print_help(&report_cmd, stdout);
        return tf_exit_code(TF_OUT_PASS);
    }
    report_opts o = {.dbpath = "trayflash.db", .format = "table", .f = {.since = 0, .until = 0, .bay = -1}};
    int rc = apply_tz(argc, argv, &o.tz);
    if (rc == 0)
        rc = parse_args(argc, argv, &o);
    if (rc)
        return rc;
    /* The table and HTML page list the first 100 failed modules; csv and json (RMA work) all. */
    bool machine = o.format_given && strcmp(o.format, "table");
    report_options ro = {.failed_limit = o.limit ? o.limit : machine ? 0 : REPORT_PAGE_DEFAULT, .tz = o.tz};
    char err[PATH_MAX + 512];
    report *r;
    if (o.central) {
        if (build_central(&o, &ro, &r) < 0)
            return EXIT_SETUP;
        return write_report(&o, r);
    }
    db *d;
    if (db_open(o.dbpath, true, &d, err, sizeof err) < 0) {
        fprintf(stderr, "trayflash report: %s\n", err);
        if (access(o.dbpath, F_OK) != 0)
            fprintf(stderr, "trayflash report: %s does not exist; give the station's database with "
                    "--db FILE (the demo writes trayflash-demo.db)\n", o.dbpath);
        return EXIT_SETUP;
    }
    if (report_build_opts(d, &o.f, &ro, &r, err, sizeof err) < 0) {
        fprintf(stderr, "trayflash report: %s\n", err);
        db_close(d);
        return EXIT_SETUP;
    }
    db_close(d);
    return write_report(&o, r);
}

/* The report in the formats asked for; frees r. */
static int write_report(const report_opts *o, report *r)
{
    char err[PATH_MAX + 512];
    int rc = 0;
    if (o->html) {
        if (atomic_file_write(o->html, fill_html, r, err, sizeof err) < 0) {
            fprintf(stderr, "trayflash report: cannot write the HTML report %s\n", err);
            report_free(r);
            return EXIT_SETUP;
        }
        /* --html alone: the page is the output, stdout says where it went; with --format as well,
         * stdout carries that format alone and the note goes to stderr */
        fprintf(o->format_given ? stderr : stdout, "wrote %s\n", o->html);
    }
    if (!o->html || o->format_given) {
        rc = !strcmp(o->format, "csv") ? report_write_csv(r, stdout)
             : !strcmp(o->format, "json") ? report_write_json(r, stdout)
                                         : report_write_table(r, stdout);
        if (rc < 0)
            perror("trayflash report: writing the report to stdout");
    }
    report_free(r);
    return rc < 0 ? EXIT_SETUP : 0;
}
