/* cmd_report.c - `trayflash report`: db/report.h does the numbers; this parses options. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include "cli.h"
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

int cmd_report(int argc, char **argv)
{
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
                return 2;
            }
            format = v;
        } else if (!strcmp(a, "--bay")) {
            char *end;
            long b = strtol(v, &end, 10);
            if (*end || end == v || b < 1) {
                fprintf(stderr, "trayflash report: --bay '%s' is not a bay number\n", v);
                return 2;
            }
            f.bay = (int)b;
        } else if (!parse_time(v, !strcmp(a, "--since") ? &f.since : &f.until)) {
            fprintf(stderr, "trayflash report: %s '%s': unix seconds or YYYY-MM-DD [HH:MM]\n", a,
                    v);
            return 2;
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
        return 2;
    }
    report *r;
    if (report_build(d, &f, &r, err, sizeof err) < 0) {
        fprintf(stderr, "trayflash report: %s\n", err);
        db_close(d);
        return 1;
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
    return rc < 0 ? 1 : 0;
}
