/* cmd_report.c - `trayflash report`: db/report.h does the numbers; this parses options. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include "cli.h"
#include "exit_codes.h"
#include "report.h"

/* unix seconds, "YYYY-MM-DD" or "YYYY-MM-DD HH:MM[:SS]" (local time). */
static bool parse_time(const char *s, double *out)
{
    char *end;
    double x = strtod(s, &end);
    if (end != s && !*end) {
        *out = x;
        return true;
    }
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *rest = strptime(s, "%Y-%m-%d", &tm);
    if (!rest)
        return false;
    if (*rest) {
        const char *r2 = strptime(rest, " %H:%M:%S", &tm);
        if (!r2)
            r2 = strptime(rest, " %H:%M", &tm);
        if (!r2 || *r2)
            return false;
    }
    tm.tm_isdst = -1;
    *out = (double)mktime(&tm);
    return true;
}

static const char report_usage[] =
    "usage: trayflash report [--db FILE] [--since TIME] [--until TIME] [--profile NAME] [--bay N]\n"
    "                        [--format table|csv|json] [--html FILE]\n"
    "\n"
    "Yield report from a station's database: yields, flash times, the causes of failures\n"
    "(Pareto), failed modules, by profile version, hour or day, bay and adapter.\n"
    "\n"
    "  --db FILE        the database (default trayflash.db; the demo writes trayflash-demo.db)\n"
    "  --since TIME     attempts that ended at or after TIME\n"
    "  --until TIME     attempts that ended before TIME\n"
    "                   TIME: unix seconds, YYYY-MM-DD or 'YYYY-MM-DD HH:MM' (local time)\n"
    "  --profile NAME   one profile only\n"
    "  --bay N          one bay only\n"
    "  --format F       table (default), csv or json on stdout\n"
    "  --html FILE      also write an HTML report with charts to FILE\n"
    "  -h, --help       this text\n"
    "\n"
    "Exit status: 0 the report was written, 2 usage error, 3 the database could not be read or\n"
    "a file not written.\n";

int cmd_report(int argc, char **argv)
{
    if (cli_help_asked(argc, argv)) {
        fputs(report_usage, stdout);
        return tf_exit_code(TF_OUT_PASS);
    }
    const char *dbpath = "trayflash.db", *format = "table", *html = NULL, *profile = NULL;
    report_filter f = {.since = 0, .until = 0, .bay = -1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--db") && strcmp(a, "--since") && strcmp(a, "--until") &&
            strcmp(a, "--profile") && strcmp(a, "--bay") && strcmp(a, "--format") &&
            strcmp(a, "--html"))
            return cli_bad_option("report", a);
        if (i + 1 >= argc)
            return cli_missing_value("report", a);
        const char *v = argv[++i];
        if (!strcmp(a, "--db"))
            dbpath = v;
        else if (!strcmp(a, "--profile"))
            profile = v;
        else if (!strcmp(a, "--html"))
            html = v;
        else if (!strcmp(a, "--format")) {
            if (strcmp(v, "table") && strcmp(v, "csv") && strcmp(v, "json")) {
                fprintf(stderr, "trayflash report: --format '%s': table, csv or json\n", v);
                return tf_exit_code(TF_OUT_USAGE);
            }
            format = v;
        } else if (!strcmp(a, "--bay")) {
            char *end;
            long b = strtol(v, &end, 10);
            if (*end || end == v || b < 1) {
                fprintf(stderr, "trayflash report: --bay '%s' is not a bay number\n", v);
                return tf_exit_code(TF_OUT_USAGE);
            }
            f.bay = (int)b;
        } else if (!parse_time(v, !strcmp(a, "--since") ? &f.since : &f.until)) {
            fprintf(stderr, "trayflash report: %s '%s': unix seconds or YYYY-MM-DD [HH:MM]\n", a,
                    v);
            return tf_exit_code(TF_OUT_USAGE);
        }
    }
    f.profile = profile;
    char err[512];
    db *d;
    if (db_open(dbpath, true, &d, err, sizeof err) < 0) {
        fprintf(stderr, "trayflash report: %s\n", err);
        if (access(dbpath, F_OK) != 0)
            fprintf(stderr, "trayflash report: %s does not exist; give the station's database with "
                    "--db FILE (the demo writes trayflash-demo.db)\n", dbpath);
        return tf_exit_code(TF_OUT_SETUP);
    }
    report *r;
    if (report_build(d, &f, &r, err, sizeof err) < 0) {
        fprintf(stderr, "trayflash report: %s\n", err);
        db_close(d);
        return tf_exit_code(TF_OUT_SETUP);
    }
    int rc = !strcmp(format, "csv") ? report_write_csv(r, stdout)
             : !strcmp(format, "json") ? report_write_json(r, stdout)
                                       : report_write_table(r, stdout);
    if (rc == 0 && html) {
        FILE *out = fopen(html, "w");
        if (!out || report_write_html(r, out) < 0 || fclose(out) != 0) {
            fprintf(stderr, "trayflash report: writing %s failed\n", html);
            rc = -1;
        }
    }
    report_free(r);
    db_close(d);
    return tf_exit_code(rc < 0 ? TF_OUT_SETUP : TF_OUT_PASS);
}
