/* `trayflash report` as a user runs it (issue 12, items 7, 8 and 14): every option value that is
 * not a real time, bay or period is a usage error (exit 2) naming the option and the value, with
 * nothing on stdout; a good one filters as it says; --html FILE writes the file and says so on
 * stdout instead of the table, or fails with the reason and leaves nothing behind.
 * Usage: test_station_report_cli --list | CASE PATH_TO_TRAYFLASH */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "db_fixture.h"

typedef struct run_out {
    int rc;
    char out[1 << 16], err[4096];
} run_out;

static void slurp(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "r");
    REQUIRE(f != NULL);
    size_t len = fread(buf, 1, n - 1, f);
    buf[len] = 0;
    fclose(f);
}

/* Where run() captures a child's output: beside the test's database (set once in main). */
static char capture[512];

/* Runs trayflash report --db DB ARGS... with stdout and stderr in files (no pipe to deadlock). */
static run_out *run(const char *tf, const char *dbpath, const char *const *args)
{
    static run_out r;
    char out[600], err[600];
    snprintf(out, sizeof out, "%s.stdout", capture);
    snprintf(err, sizeof err, "%s.stderr", capture);
    const char *argv[32] = {(char *)tf, "report", "--db", (char *)dbpath};
    int n = 4;
    for (; *args && n < 30; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600), e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (o < 0 || e < 0)
            _exit(126);
        dup2(o, STDOUT_FILENO);
        dup2(e, STDERR_FILENO);
        execv(tf, (char *const *)argv);
        _exit(127);
    }
    int status;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
    slurp(out, r.out, sizeof r.out);
    slurp(err, r.err, sizeof r.err);
    unlink(out);
    unlink(err);
    return &r;
}

/* A usage error: exit 2, nothing on stdout, stderr naming the option, the value and `why`. */
static void refused(const char *tf, const char *dbpath, const char *opt, const char *value, const char *why,
                    const char *const *more)
{
    const char *args[16] = {opt, value};
    int n = 2;
    for (; more && *more; more++)
        args[n++] = *more;
    args[n] = NULL;
    run_out *r = run(tf, dbpath, args);
    char named[256];
    snprintf(named, sizeof named, "%s '%s'", opt, value);
    if (r->rc != 2 || r->out[0] || !strstr(r->err, named) || !strstr(r->err, why)) {
        fprintf(stderr, "%s %s: exit %d, stdout %zu bytes, stderr: %s", opt, value, r->rc, strlen(r->out),
                r->err);
        REQUIRE(!"refused with exit 2, naming the option and value and saying why");
    }
}

static void dates(const char *tf, const char *dbpath)
{
    refused(tf, dbpath, "--since", "2026-02-30", "2026-02 has 28 days", NULL);
    refused(tf, dbpath, "--since", "2023-02-29", "2023-02 has 28 days", NULL);
    refused(tf, dbpath, "--until", "2024-04-31", "2024-04 has 30 days", NULL);
    refused(tf, dbpath, "--since", "2024-13-01", "no month 13", NULL);
    refused(tf, dbpath, "--since", "2024-05-01 25:00", "not a time of day", NULL);
    refused(tf, dbpath, "--until", "2024-05-01 12:60", "not a time of day", NULL);
    refused(tf, dbpath, "--since", "2024-05-01 12:00:61", "not a time of day", NULL);
    refused(tf, dbpath, "--since", "1e999", "not a time", NULL);
    refused(tf, dbpath, "--since", "nan", "not a time", NULL);
    refused(tf, dbpath, "--since", "-5", "not a time", NULL);
    refused(tf, dbpath, "--since", "99999999999999999999", "after the year 9999", NULL);
    refused(tf, dbpath, "--since", "2024-05-01T09:00+25:00", "not a time zone offset", NULL);
    refused(tf, dbpath, "--since", "yesterday", "not a time", NULL);

    /* real moments filter as they say: from 09:00 UTC the known set holds D E F G (5 attempts) */
    static const char *const good[][3] = {
        {"--since", "2024-05-01 09:00", NULL}, {"--since", "2024-05-01T09:00:00", NULL},
        {"--since", "2024-05-01T11:00+02:00", NULL}, {"--since", "2024-05-01T09:00Z", NULL},
        {"--since", "1714554000", NULL}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        run_out *r = run(tf, dbpath, good[i]);
        if (r->rc != 0 || !strstr(r->out, "\nmodules          4\n") || !strstr(r->out, "attempts         5 ")) {
            fprintf(stderr, "%s %s: exit %d\n%s%s", good[i][0], good[i][1], r->rc, r->out, r->err);
            REQUIRE(!"a real time filters the report");
        }
    }
    static const char *const leap[] = {"--since", "2024-02-29", NULL};
    REQUIRE(run(tf, dbpath, leap)->rc == 0);
}

static void bays(const char *tf, const char *dbpath)
{
    refused(tf, dbpath, "--bay", "4294967297", "not a bay number", NULL); /* 2^32 + 1 is not bay 1 */
    refused(tf, dbpath, "--bay", "2147483648", "not a bay number", NULL);
    refused(tf, dbpath, "--bay", "99999999999999999999999", "not a bay number", NULL);
    refused(tf, dbpath, "--bay", "0", "not a bay number", NULL);
    refused(tf, dbpath, "--bay", "-1", "not a bay number", NULL);
    refused(tf, dbpath, "--bay", "2x", "not a bay number", NULL);
    refused(tf, dbpath, "--bay", "", "not a bay number", NULL);
    static const char *const bay2[] = {"--bay", "2", NULL};
    run_out *r = run(tf, dbpath, bay2);
    REQUIRE(r->rc == 0 && strstr(r->out, "attempts         3 ") != NULL);
}

static void period(const char *tf, const char *dbpath)
{
    /* "no end" is leaving --until out, never a value of it */
    refused(tf, dbpath, "--until", "0", "leave --until out", NULL);
    static const char *const since[] = {"--since", "2024-05-02", NULL};
    refused(tf, dbpath, "--until", "2024-05-01", "not after --since", since);
    static const char *const same[] = {"--since", "2024-05-01 09:00", NULL};
    refused(tf, dbpath, "--until", "2024-05-01 09:00", "not after --since", same);
    refused(tf, dbpath, "--since", "2024-05-01", "given twice", (const char *const[]){"--since", "2024-05-02", NULL});
    refused(tf, dbpath, "--profile", "", "is empty", NULL);
    /* a database that is not there is a setup error */
    static const char *const none[] = {NULL};
    run_out *r = run(tf, "/nonexistent-dir/trayflash.db", none);
    REQUIRE(r->rc == 3 && r->out[0] == 0 && strstr(r->err, "/nonexistent-dir/trayflash.db") != NULL);
    /* an empty period says so */
    static const char *const empty[] = {"--since", "2030-01-01", NULL};
    r = run(tf, dbpath, empty);
    REQUIRE(r->rc == 0 && strstr(r->out, "final yield      no attempts") != NULL && !strstr(r->out, "0.0%"));
}

static bool exists(const char *path) { return access(path, F_OK) == 0; }

/* Files in dir other than the database's own: a failed write must leave none. */
static int stray_files(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | grep -v '^known.db' | wc -l", dir);
    FILE *p = popen(cmd, "r");
    int n = -1;
    REQUIRE(p && fscanf(p, "%d", &n) == 1);
    pclose(p);
    return n;
}

static void html(const char *tf, const char *dbpath)
{
    char dir[512], page[600], expect[700];
    snprintf(dir, sizeof dir, "%s", dbpath);
    *strrchr(dir, '/') = 0;
    snprintf(page, sizeof page, "%s/report.html", dir);

    const char *args[] = {"--html", page, NULL};
    run_out *r = run(tf, dbpath, args);
    snprintf(expect, sizeof expect, "wrote %s\n", page);
    REQUIRE(r->rc == 0);
    REQUIRE(strcmp(r->out, expect) == 0); /* the page, not the table too */
    char head[16];
    slurp(page, head, sizeof head);
    REQUIRE(strncmp(head, "<!DOCTYPE html>", 15) == 0);
    REQUIRE(stray_files(dir) == 1);

    /* with --format as well: stdout is that format alone (JSON that parses), the note on stderr */
    const char *json[] = {"--html", page, "--format", "json", NULL};
    r = run(tf, dbpath, json);
    REQUIRE(r->rc == 0 && strstr(r->err, expect) != NULL);
    cJSON *j = cJSON_Parse(r->out);
    REQUIRE(j != NULL);
    cJSON_Delete(j);

    /* a directory that is not there: exit 3, the reason, no file, no "wrote" */
    const char *missing[] = {"--html", "/nonexistent-dir/report.html", NULL};
    r = run(tf, dbpath, missing);
    REQUIRE(r->rc == 3 && r->out[0] == 0);
    REQUIRE(strstr(r->err, "/nonexistent-dir/report.html") && strstr(r->err, "No such file or directory"));
    /* a device is refused, not renamed over */
    const char *dev[] = {"--html", "/dev/null", NULL};
    r = run(tf, dbpath, dev);
    REQUIRE(r->rc == 3 && strstr(r->err, "not a regular file") != NULL);
    REQUIRE(exists("/dev/null"));
    /* a directory given as the file: refused, the directory untouched, nothing left beside it */
    const char *isdir[] = {"--html", dir, NULL};
    r = run(tf, dbpath, isdir);
    REQUIRE(r->rc == 3 && strstr(r->err, "not a regular file") != NULL);
    REQUIRE(stray_files(dir) == 1);
    unlink(page);
}

/* The json report's failed_total, or -1 when it is missing or not a number. */
static long long failed_total(const cJSON *report)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(report, "failed_total");
    return cJSON_IsNumber(t) ? (long long)t->valuedouble : -1;
}

/* Issue 19: --limit pages the failed modules in the table (and says how many there are), csv and
 * json give them all unless --limit is given; --tz moves the hours (and refuses a zone it cannot
 * know). The known set has 4 failed modules. */
static void paging(const char *tf, const char *dbpath)
{
    static const char *const two[] = {"--limit", "2", NULL};
    run_out *r = run(tf, dbpath, two);
    CHECK_EQ_INT(r->rc, 0);
    CHECK_HAS(r->out, "the first 2 of 4 failed modules");
    CHECK_HAS(r->out, "d8:1f:12:00:00:0b");
    CHECK(strstr(r->out, "d8:1f:12:00:00:0e") == NULL);
    static const char *const json[] = {"--format", "json", NULL};
    r = run(tf, dbpath, json);
    cJSON *j = cJSON_Parse(r->out);
    REQUIRE(r->rc == 0 && j != NULL);
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "failed")), 4);
    CHECK_EQ_INT(failed_total(j), 4);
    cJSON_Delete(j);
    static const char *const json1[] = {"--format", "json", "--limit", "1", NULL};
    r = run(tf, dbpath, json1);
    j = cJSON_Parse(r->out);
    REQUIRE(r->rc == 0 && j != NULL);
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "failed")), 1);
    CHECK_EQ_INT(failed_total(j), 4);
    cJSON_Delete(j);
    refused(tf, dbpath, "--limit", "0", "is not a number of rows", NULL);
    refused(tf, dbpath, "--limit", "ten", "is not a number of rows", NULL);
    /* 08:00 UTC is 13:30 in a zone 5:30 east: the hours print as 13:00 and 14:00 */
    static const char *const ist[] = {"--tz", "IST-5:30", NULL};
    r = run(tf, dbpath, ist);
    CHECK_EQ_INT(r->rc, 0);
    CHECK_HAS(r->out, "2024-05-01 13:00");
    CHECK_HAS(r->out, "UTC+05:30");
    refused(tf, dbpath, "--tz", "Mars/Olympus", "is not a time zone", NULL);
}

static char known_db[512]; /* the db tests' known set, made afresh for each case */

static void setup(void)
{
    if (!check_arg(0)) {
        fprintf(stderr, "usage: test_station_report_cli CASE PATH_TO_TRAYFLASH\n");
        exit(2);
    }
    setenv("TZ", "UTC", 1);
    fixture_path(known_db, sizeof known_db, "known.db");
    db *d = fixture_open(known_db, false);
    fixture_fill_known(d);
    db_close(d);
    snprintf(capture, sizeof capture, "%s", known_db);
}

static void teardown(int status)
{
    fixture_cleanup(known_db);
}

static int case_dates(void) { dates(check_arg(0), known_db); return 0; }
static int case_bays(void) { bays(check_arg(0), known_db); return 0; }
static int case_period(void) { period(check_arg(0), known_db); return 0; }
static int case_html(void) { html(check_arg(0), known_db); return 0; }
static int case_paging(void) { paging(check_arg(0), known_db); return 0; }

int main(int argc, char **argv)
{
    static const check_case cases[] = {
        {"dates", case_dates}, {"bays", case_bays},     {"period", case_period},
        {"html", case_html},   {"paging", case_paging},
    };
    return check_run(argc, argv, cases, sizeof cases / sizeof cases[0], setup, teardown);
}
