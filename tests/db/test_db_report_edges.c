/* test_db_report_edges.c - a hand-edited database and impossible periods (issue 12, item 7):
 * report_build refuses a period that ends before it starts; rows with bay 2147483647 or 2^32 + 1,
 * negative and huge durations, times beyond the year 9999, NULL causes, control bytes and dozens of
 * unknown cause words build a report whose every renderer finishes, prints no nan/inf, and whose
 * HTML stays small: the page is written into a sink that fails the test past HTML_CAP bytes, so a
 * chart sized by a value (a bay grid of 2^31 cells) stops the test at once instead of filling memory. */
#include "db_fixture.h"
#include "report.h"
#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { HTML_CAP = 256 * 1024, UNKNOWN_CAUSES = 30 };

static const double T0 = FIXTURE_T0;

/* ---- a capped sink: fails the test when a renderer writes more than HTML_CAP bytes ---- */
typedef struct sink {
    char *buf;
    size_t len;
} sink;

static ssize_t sink_write(void *c, const char *data, size_t n)
{
    sink *s = c;
    if (s->len + n > HTML_CAP) {
        fprintf(stderr, "check failed: the report page passed %d bytes: sized by a value, not by the rows\n",
                HTML_CAP);
        _exit(1); /* not exit(): its flush of this very stream would come back here */
    }
    memcpy(s->buf + s->len, data, n);
    s->len += n;
    return (ssize_t)n;
}

static char *render_capped(const report *r, int (*fn)(const report *, FILE *))
{
    static char buf[HTML_CAP + 1];
    sink s = {buf, 0};
    FILE *f = fopencookie(&s, "w", (cookie_io_functions_t){.write = sink_write});
    REQUIRE(f != NULL);
    REQUIRE(fn(r, f) == 0);
    fclose(f);
    buf[s.len] = 0;
    return buf;
}

/* ---- hand-edited rows, inserted as a person with the sqlite3 shell would (bound, not built) ---- */
typedef struct edited {
    int64_t bay;
    double start, end;          /* NAN: NULL */
    const char *outcome, *cause, *mac, *detail;
} edited;

static void insert(sqlite3 *sq, const edited *e)
{
    sqlite3_stmt *st;
    REQUIRE(sqlite3_prepare_v2(sq, "INSERT INTO attempt (bay, start_ts, end_ts, outcome, cause, mac, detail) "
                                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", -1, &st, 0) == SQLITE_OK);
    sqlite3_bind_int64(st, 1, e->bay);
    sqlite3_bind_double(st, 2, e->start);
    if (isnan(e->end))
        sqlite3_bind_null(st, 3);
    else
        sqlite3_bind_double(st, 3, e->end);
    sqlite3_bind_text(st, 4, e->outcome, -1, SQLITE_STATIC);
    if (e->cause)
        sqlite3_bind_text(st, 5, e->cause, -1, SQLITE_STATIC);
    if (e->mac)
        sqlite3_bind_text(st, 6, e->mac, -1, SQLITE_STATIC);
    if (e->detail)
        sqlite3_bind_text(st, 7, e->detail, -1, SQLITE_STATIC);
    REQUIRE(sqlite3_step(st) == SQLITE_DONE);
    sqlite3_finalize(st);
}

static void hand_edit(const char *path)
{
    static const edited rows[] = {
        {2147483647, T0 + 10, T0 + 30, "pass", NULL, "aa:00:00:00:00:01", NULL},
        {4294967297LL, T0 + 10, T0 + 31, "fail", "brownout", "aa:00:00:00:00:02", "bay 2^32 + 1"},
        {-3, T0 + 10, T0 + 32, "fail", NULL, NULL, "no cause stored"},
        {0, T0 + 10, T0 + 33, "fail", "pass", NULL, "a failure stored with cause 'pass'"},
        {1, T0 + 500, T0 + 400, "pass", NULL, "aa:00:00:00:00:03", NULL},           /* ends before start */
        {1, -1e300, T0 + 600, "pass", NULL, "aa:00:00:00:00:04", NULL},            /* began at -1e300 */
        {1, T0 + 700, 1e300, "pass", NULL, "aa:00:00:00:00:05", NULL},             /* ends in 10^300 */
        {1, T0 + 800, T0 + 800 + 9e15, "fail", "verify_failed", "aa:00:00:00:00:06", "\x1b[2J\x1b]0;pwned\x07"},
        {2, T0 + 900, NAN, "pass", NULL, "aa:00:00:00:00:07", NULL},               /* no end: not counted */
    };
    sqlite3 *sq;
    REQUIRE(sqlite3_open(path, &sq) == SQLITE_OK);
    REQUIRE(sqlite3_exec(sq, "BEGIN", 0, 0, 0) == SQLITE_OK);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        insert(sq, &rows[i]);
    for (int i = 0; i < UNKNOWN_CAUSES; i++) {
        char word[24];
        snprintf(word, sizeof word, "future_cause_%02d", i);
        edited e = {3, T0 + 1000 + i, T0 + 1001 + i, "fail", word, NULL, NULL};
        insert(sq, &e);
    }
    REQUIRE(sqlite3_exec(sq, "COMMIT", 0, 0, 0) == SQLITE_OK);
    sqlite3_close(sq);
}

static void check_refusals(db *d)
{
    char err[256] = "";
    report *r = (report *)1;
    report_filter backwards = {.since = T0 + 3600, .until = T0, .profile = 0, .bay = -1};
    REQUIRE(report_build(d, &backwards, &r, err, sizeof err) < 0 && r == NULL);
    REQUIRE(strstr(err, "ends") != NULL);
    report_filter empty = {.since = T0, .until = T0, .profile = 0, .bay = -1};
    REQUIRE(report_build(d, &empty, &r, err, sizeof err) < 0);
    report_filter endless = {.since = T0, .until = INFINITY, .profile = 0, .bay = -1};
    REQUIRE(report_build(d, &endless, &r, err, sizeof err) < 0);
    report_filter open = {.since = T0, .until = 0, .profile = 0, .bay = -1}; /* no end, as documented */
    REQUIRE(report_build(d, &open, &r, err, sizeof err) == 0);
    report_free(r);
}

static const report_bay_row *bay(const report *r, int64_t n)
{
    for (int i = 0; i < r->n_bays; i++)
        if (r->bays[i].bay == n)
            return &r->bays[i];
    return NULL;
}

static void check_edited(const report *r)
{
    /* 11 known + 8 edited with an end + 30 unknown causes */
    REQUIRE(r->total.attempts == 11 + 8 + UNKNOWN_CAUSES);
    /* 2^32 + 1 is its own bay, not bay 1 (sqlite3_column_int keeps the low 32 bits) */
    REQUIRE(bay(r, 4294967297LL) != NULL && bay(r, 4294967297LL)->s.attempts == 1);
    REQUIRE(bay(r, 2147483647) != NULL && bay(r, -3) != NULL && bay(r, 0) != NULL);
    REQUIRE(bay(r, 1)->s.attempts == 3 + 4);
    /* a failure with no cause, or with "pass" as its cause, is an unknown cause, never a pass */
    REQUIRE(bay(r, -3)->s.fail == 1 && strcmp(bay(r, -3)->s.top_cause, "unknown") == 0);
    REQUIRE(bay(r, 0)->s.fail == 1 && strcmp(bay(r, 0)->s.top_cause, "unknown") == 0);
    /* flash time: the 6 known passes and the three edited ones that are durations (not the one
     * that ends before it starts); the mean stays finite */
    REQUIRE(r->timed_passes == 6 + 3);
    REQUIRE(isfinite(r->mean_pass_s) && r->mean_pass_s > 0);
    /* every unknown word its own Pareto line */
    REQUIRE(r->n_causes >= UNKNOWN_CAUSES + 3);
}

static void no_nan(const char *text)
{
    REQUIRE(strstr(text, "nan") == NULL && strstr(text, "inf") == NULL);
}

static void check_renderers(const report *r)
{
    char *html = render_capped(r, report_write_html);
    REQUIRE(strstr(html, "</body></html>") != NULL);
    no_nan(html);
    REQUIRE(strstr(html, "4294967297") != NULL && strstr(html, "2147483647") != NULL);
    REQUIRE(strstr(html, "bay numbers outside 1..64") != NULL);
    /* the Pareto chart: 8 bars and one for the rest; the table below it keeps every cause */
    REQUIRE(strstr(html, "other causes</text>") != NULL);
    REQUIRE(strstr(html, "future_cause_29</td>") != NULL);
    REQUIRE(strchr(html, '\x1b') == NULL && strchr(html, '\x07') == NULL);

    char *table = 0, *csv = 0, *json = 0;
    size_t len;
    FILE *f = open_memstream(&table, &len);
    REQUIRE(report_write_table(r, f) == 0);
    fclose(f);
    REQUIRE(strchr(table, '\x1b') == NULL && strchr(table, '\x07') == NULL); /* no terminal escapes */
    REQUIRE(strstr(table, "?[2J?]0;pwned?") != NULL);
    REQUIRE(strstr(table, "4294967297") != NULL);
    no_nan(table);
    f = open_memstream(&csv, &len);
    REQUIRE(report_write_csv(r, f) == 0);
    fclose(f);
    no_nan(csv);
    REQUIRE(strstr(csv, "\n4294967297,,1,") != NULL);
    f = open_memstream(&json, &len);
    REQUIRE(report_write_json(r, f) == 0);
    fclose(f);
    cJSON *j = cJSON_Parse(json);
    REQUIRE(j != NULL);
    cJSON_Delete(j);
    free(table);
    free(csv);
    free(json);
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    char path[512];
    fixture_path(path, sizeof path, "edited.db");
    db *d = fixture_open(path, false);
    fixture_fill_known(d);
    db_close(d);
    hand_edit(path);

    d = fixture_open(path, true);
    check_refusals(d);
    report *r;
    char err[256];
    REQUIRE(report_build(d, NULL, &r, err, sizeof err) == 0);
    check_edited(r);
    check_renderers(r);
    report_free(r);
    db_close(d);
    fixture_cleanup(path);
    printf("db_report_edges: ok\n");
    return 0;
}
