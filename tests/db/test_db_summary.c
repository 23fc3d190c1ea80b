/* test_db_summary.c - the report's summaries (schema 7, issue 19): the triggers keep attempt_cell,
 * pass_hist and module_span equal to what the attempts make of them after every kind of change (the writer's
 * begin/end, the duplicate flag, a finished row inserted directly, hand edits of times, outcomes,
 * causes, bays and MACs, deleted rows); and a report read through the summaries is, number for
 * number, the report read from the attempts alone - for whole and partial quarter-hours, filters by
 * lot, operator, station, line, bay and profile, and zones whose hours the quarter-hours fit (summer
 * time, +05:45) or do not (+00:07, where the report reads the attempts). */
#include "db_fixture.h"
#include "report_compare.h"
#include "report.h"
#include "report_backend.h"
#include "report_summary.h"
#include <math.h>
#include <sqlite3.h>
#include <string.h>
#include <time.h>

static const double T0 = FIXTURE_T0;

static uint32_t rnd(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

/* A station with lots, operators, retries across bays, duplicates and skipped and restore attempts,
 * written through the store as the station's writer does. */
static void fill_lots(db *d)
{
    static const char *const lots[] = {"WO-1001", "WO-1002", NULL};
    static const char *const ops[] = {"op-anna", "op-ben", NULL, "op-chen"};
    static const char *const causes[] = {"brownout", "verify_failed", "no_download_mode", "cancelled"};
    REQUIRE_MSG(db_begin(d) >= 0, "%s", db_errmsg(d));
    int64_t st = db_station_upsert(d, "line-9", "host-z");
    REQUIRE_MSG(db_station_set_line(d, st, "L2") >= 0, "%s", db_errmsg(d));
    int64_t pv = db_profile_upsert(d, "plug", NULL, "[product]\nname=plug\n");
    REQUIRE(st > 0 && pv > 0);
    uint32_t seed = 7;
    double t = T0 + 7 * 3600 + 13; /* after the known set, not on a quarter-hour */
    for (int i = 0; i < 1500; i++) {
        char mac[32];
        int unit = (int)(rnd(&seed) % 1000);
        snprintf(mac, sizeof mac, "d8:1f:12:09:%02x:%02x", unit >> 8, unit & 255);
        t += 7 + rnd(&seed) % 60;
        int bay = 1 + (int)(rnd(&seed) % 8);
        uint32_t roll = rnd(&seed) % 100;
        db_attempt a = {.station_id = st, .profile_id = pv, .bay = bay, .adapter = "0403:6001:L9",
                        .start_ts = t, .end_ts = t + 15 + roll % 9, .lot = lots[i / 200 % 3],
                        .operator_id = ops[i / 170 % 4], .kind = roll == 99 ? "restore" : NULL};
        int64_t id = db_attempt_begin(d, &a);
        REQUIRE(id > 0);
        a.mac = roll < 4 ? NULL : mac;
        a.skipped = roll == 98;
        a.passed = !a.skipped && roll >= 20;
        a.cause_id = a.passed || a.skipped ? NULL : causes[roll % 4];
        REQUIRE_MSG(db_attempt_end(d, id, &a) >= 0, "%s", db_errmsg(d));
    }
    REQUIRE_MSG(db_commit(d) >= 0, "%s", db_errmsg(d));
}

static void exec(sqlite3 *sq, const char *sql)
{
    char *msg = 0;
    if (sqlite3_exec(sq, sql, 0, 0, &msg) != SQLITE_OK)
        check_report_msg(true, __FILE__, __LINE__, sql, "%s", msg ? msg : "?");
}

static int scalar(sqlite3 *sq, const char *sql)
{
    sqlite3_stmt *st;
    REQUIRE_MSG(sqlite3_prepare_v2(sq, sql, -1, &st, 0) == SQLITE_OK, "%s: %s", sql, sqlite3_errmsg(sq));
    REQUIRE(sqlite3_step(st) == SQLITE_ROW);
    int v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* The summaries equal what the attempts make of them now (flash time sums to a microsecond: the
 * triggers add and take away in another order than one sum does). */
static void summaries_match(sqlite3 *sq, const char *when)
{
    exec(sq, "DROP TABLE IF EXISTS temp.cell_now; DROP TABLE IF EXISTS temp.span_now;"
             "CREATE TEMP TABLE cell_now AS SELECT * FROM attempt_cell WHERE 0;"
             "INSERT INTO cell_now " CELL_REBUILD_SELECT ";"
             "CREATE TEMP TABLE span_now AS " SPAN9_REBUILD_SELECT ";"
             "DROP TABLE IF EXISTS temp.quarter_now; CREATE TEMP TABLE quarter_now AS " QUARTER_REBUILD_SELECT ";"
             "DROP TABLE IF EXISTS temp.multi_now; CREATE TEMP TABLE multi_now AS " MULTI_REBUILD_SELECT ";"
             "DROP TABLE IF EXISTS temp.hist_now; CREATE TEMP TABLE hist_now AS " HIST_REBUILD_SELECT ";");
    static const char same_cell[] =
        "r.qs = c.qs AND r.station_id IS c.station_id AND r.profile_id IS c.profile_id AND r.bay = c.bay "
        "AND r.bay_name IS c.bay_name AND r.adapter = c.adapter AND r.lot IS c.lot AND r.operator IS c.operator "
        "AND r.outcome = c.outcome AND r.cause IS c.cause AND r.n = c.n AND r.dup = c.dup AND r.timed = c.timed "
        "AND abs(r.timed_s - c.timed_s) < 1e-6 AND r.min_start = c.min_start AND r.max_end = c.max_end "
        "AND r.min_end = c.min_end";
    char sql[1024];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM attempt_cell c WHERE NOT EXISTS (SELECT 1 FROM cell_now r WHERE %s)",
             same_cell);
    CHECK_MSG(scalar(sq, sql) == 0, "%s: cells the attempts do not make", when);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM cell_now c WHERE NOT EXISTS (SELECT 1 FROM attempt_cell r WHERE %s)",
             same_cell);
    CHECK_MSG(scalar(sq, sql) == 0, "%s: cells missing from the summary", when);
    CHECK_MSG(scalar(sq, "SELECT count(*) FROM (SELECT * FROM module_span EXCEPT SELECT * FROM span_now)") == 0 &&
                  scalar(sq, "SELECT count(*) FROM (SELECT * FROM span_now EXCEPT SELECT * FROM module_span)") == 0,
              "%s: module_span differs from the attempts", when);
    CHECK_MSG(scalar(sq, "SELECT count(*) FROM (SELECT * FROM multi_attempt EXCEPT SELECT * FROM multi_now)") == 0 &&
                  scalar(sq, "SELECT count(*) FROM (SELECT * FROM multi_now EXCEPT SELECT * FROM multi_attempt)") == 0,
              "%s: multi_attempt differs from the attempts", when);
    CHECK_MSG(scalar(sq, "SELECT count(*) FROM (SELECT * FROM attempt_quarter EXCEPT SELECT * FROM quarter_now)") == 0 &&
                  scalar(sq, "SELECT count(*) FROM (SELECT * FROM quarter_now EXCEPT SELECT * FROM attempt_quarter)") == 0,
              "%s: attempt_quarter differs from the attempts", when);
    CHECK_MSG(scalar(sq, "SELECT count(*) FROM (SELECT * FROM pass_hist EXCEPT SELECT * FROM hist_now)") == 0 &&
                  scalar(sq, "SELECT count(*) FROM (SELECT * FROM hist_now EXCEPT SELECT * FROM pass_hist)") == 0,
              "%s: pass_hist differs from the attempts", when);
    CHECK_MSG(scalar(sq, "SELECT count(*) FROM cell_now") > 0 && scalar(sq, "SELECT count(*) FROM hist_now") > 0,
              "%s: no cells at all", when);
}

/* ---- the report with and without the summaries ---- */

static const report_backend_ops *sqlite_ops;
static report_backend_ops raw_ops;
static int no_summary(void *be)
{
    (void)be;
    return REPORT_SUMMARY_NONE;
}

static int cells_only(void *be)
{
    (void)be;
    return REPORT_SUMMARY_CELLS;
}

/* The report with every summary (level REPORT_SUMMARY_MODULES), with schema 7's alone (a central
 * store before its migration 4), or from the attempts alone (NONE). */
static report *build_at(db *d, const report_filter *f, int level)
{
    report_backend b = report_backend_sqlite(d);
    if (level < REPORT_SUMMARY_MODULES) {
        sqlite_ops = b.ops;
        raw_ops = *b.ops;
        raw_ops.summary = level == REPORT_SUMMARY_CELLS ? cells_only : no_summary;
        b.ops = &raw_ops;
    }
    report *r;
    char err[512];
    report_options o = {0};
    REQUIRE_MSG(report_build_on(&b, f, &o, false, &r, err, sizeof err) == 0, "%s", err);
    return r;
}

static report *build(db *d, const report_filter *f, bool summary)
{
    return build_at(d, f, summary ? REPORT_SUMMARY_MODULES : REPORT_SUMMARY_NONE);
}

static void same_both_ways(db *d, const report_filter *f)
{
    report *a = build(d, f, true), *b = build(d, f, false), *c = build_at(d, f, REPORT_SUMMARY_CELLS);
    same_report(a, b, "summaries", "attempts");
    same_report(c, b, "schema 7's summaries", "attempts");
    report_free(a);
    report_free(b);
    report_free(c);
}

/* The dashboard's totals (schema 9: attempt_quarter and module_span's passes and first_ok) are the
 * whole report's, from the attempts alone, for a period whose ends cut through quarter-hours and
 * through MACs' attempts. */
static void totals_match(db *d, double since, double until)
{
    report_filter f = {.since = since, .until = until, .bay = -1};
    report_backend b = report_backend_sqlite(d);
    report *t, *whole = build(d, &f, false);
    char err[512];
    REQUIRE_MSG(report_build_on(&b, &f, NULL, true, &t, err, sizeof err) == 0, "%s", err);
    CHECK_MSG(t->total.attempts == whole->total.attempts && t->total.modules == whole->total.modules &&
                  t->total.modules_passed == whole->total.modules_passed &&
                  t->total.modules_first_pass == whole->total.modules_first_pass,
              "totals of [%.1f, %.1f): attempts %d/%d modules %d/%d passed %d/%d first %d/%d", since, until,
              t->total.attempts, whole->total.attempts, t->total.modules, whole->total.modules,
              t->total.modules_passed, whole->total.modules_passed, t->total.modules_first_pass,
              whole->total.modules_first_pass);
    report_free(t);
    report_free(whole);
    if (until > 0)
        return;
    int pass, fail;
    double fpy;
    REQUIRE_MSG(report_yield_since(d, since, &pass, &fail, &fpy) == 0, "%s", db_errmsg(d));
    report *again = build(d, &f, false);
    CHECK_EQ_INT(pass, again->total.modules_passed);
    CHECK_EQ_INT(pass + fail, again->total.modules);
    CHECK(fabs(fpy - again->total.first_pass_yield) < 1e-12);
    report_free(again);
}

static void totals_match_everywhere(db *d, sqlite3 *sq)
{
    double lo = 0, hi = 0;
    sqlite3_stmt *st;
    REQUIRE(sqlite3_prepare_v2(sq, "SELECT min(end_ts), max(end_ts) FROM attempt", -1, &st, 0) == SQLITE_OK);
    REQUIRE(sqlite3_step(st) == SQLITE_ROW);
    lo = sqlite3_column_double(st, 0);
    hi = sqlite3_column_double(st, 1);
    sqlite3_finalize(st);
    totals_match(d, 0, 0);
    for (int i = 1; i < 12; i++) {
        double t = lo + (hi - lo) * i / 12;
        totals_match(d, t, 0);                          /* cuts a quarter-hour */
        totals_match(d, floor(t / 900) * 900, 0);       /* on one */
        totals_match(d, t, t + 3 * 3600 + 17);          /* both ends inside the history */
        totals_match(d, floor(t / 900) * 900, floor(t / 900) * 900 + 1800);
    }
}

/* ---- the failed list streamed: the same text as the whole report's ---- */

typedef struct streamed {
    FILE *out;
    bool json, head;
    int rows;
    double generated_ts;
} streamed;

static int stream_row(void *ctx, const report *r, const report_failed_row *f)
{
    streamed *s = ctx;
    if (!s->head)
        REQUIRE((s->json ? report_write_json_head(r, s->out) : report_write_csv_head(r, s->out)) == 0);
    s->head = true;
    s->generated_ts = r->generated_ts;
    REQUIRE(r->n_failed == 0 && r->failed_total > s->rows);
    REQUIRE((s->json ? report_write_json_failed(f, s->rows == 0, s->out) : report_write_csv_failed(f, s->out)) == 0);
    s->rows++;
    return 0;
}

static int stop_at_three(void *ctx, const report *r, const report_failed_row *f)
{
    (void)r, (void)f;
    return ++*(int *)ctx == 3 ? -1 : 0;
}

static void stream_equals_whole(db *d, bool json, int limit)
{
    char *text = NULL, *whole = NULL;
    size_t n = 0, wn = 0;
    streamed s = {.out = open_memstream(&text, &n), .json = json};
    report_options o = {.failed_limit = limit, .on_failed = stream_row, .on_failed_ctx = &s};
    report *r, *w;
    char err[256];
    REQUIRE(report_build_opts(d, NULL, &o, &r, err, sizeof err) == 0);
    REQUIRE(s.head && s.rows == (limit ? limit : r->failed_total) && s.rows > 10);
    if (json)
        REQUIRE(report_write_json_tail(s.out) == 0);
    fclose(s.out);
    report_options keep = {.failed_limit = limit};
    REQUIRE(report_build_opts(d, NULL, &keep, &w, err, sizeof err) == 0);
    w->generated_ts = s.generated_ts;
    FILE *f = open_memstream(&whole, &wn);
    REQUIRE((json ? report_write_json(w, f) : report_write_csv(w, f)) == 0);
    fclose(f);
    CHECK_MSG(n == wn && !memcmp(text, whole, n), "%s%s: the streamed text differs from the whole report's",
              json ? "json" : "csv", limit ? " with a limit" : "");
    CHECK_EQ_INT(r->failed_total, w->failed_total);
    report_free(r);
    report_free(w);
    free(text);
    free(whole);
}

static void set_zone(const char *tz)
{
    setenv("TZ", tz, 1);
    tzset();
}

int main(void)
{
    char path[512];
    fixture_path(path, sizeof path, "summary.db");
    db *d = fixture_open(path, false);
    fixture_fill_known(d);
    fixture_fill_shift(d);
    fill_lots(d);
    sqlite3 *sq;
    REQUIRE(sqlite3_open(path, &sq) == SQLITE_OK);
    exec(sq, "PRAGMA synchronous = OFF"); /* the edits' commits need no disk flush */
    summaries_match(sq, "after the writer");
    REQUIRE(scalar(sq, "SELECT count(*) FROM attempt WHERE duplicate_mac = 1") == 0);

    /* the same module in two bays at once: the writer flags both rows afterwards */
    db_attempt a = {.bay = 1, .start_ts = T0 + 20000, .end_ts = T0 + 20020, .mac = "d8:1f:12:09:aa:aa",
                    .passed = true};
    REQUIRE(db_begin(d) >= 0);
    int64_t id = db_attempt_begin(d, &a);
    REQUIRE(id > 0 && db_attempt_end(d, id, &a) >= 0);
    a.bay = 2;
    id = db_attempt_begin(d, &a);
    REQUIRE(id > 0 && db_attempt_end(d, id, &a) >= 0);
    REQUIRE(db_commit(d) >= 0);
    REQUIRE(scalar(sq, "SELECT count(*) FROM attempt WHERE duplicate_mac = 1") == 2);
    summaries_match(sq, "after the duplicate flags");

    /* hand edits: finished rows inserted, then times, outcomes, causes, bays and MACs changed, rows
     * moved to another quarter-hour and out of the counted set, rows deleted */
    exec(sq, "INSERT INTO attempt (bay, start_ts, end_ts, outcome, cause, mac, lot) VALUES "
             "(3, 1714560000, 1714560030, 'pass', 'pass', 'd8:1f:12:00:00:0e', 'WO-1001'), "
             "(3, 1714560100, 1714560099, 'pass', 'pass', 'd8:1f:12:00:00:0e', NULL), "
             "(4, 1714560200, NULL, 'running', NULL, 'd8:1f:12:00:00:0f', NULL);");
    summaries_match(sq, "after inserting finished rows");
    exec(sq, "UPDATE attempt SET end_ts = end_ts + 1000 WHERE id % 37 = 0 AND end_ts IS NOT NULL;"
             "UPDATE attempt SET outcome = 'fail', cause = 'brownout' WHERE id % 41 = 0 AND outcome = 'pass';"
             "UPDATE attempt SET cause = NULL WHERE id % 43 = 0 AND outcome = 'fail';"
             "UPDATE attempt SET bay = bay + 1, bay_name = 'moved' WHERE id % 47 = 0;"
             "UPDATE attempt SET mac = 'd8:1f:12:00:00:0b' WHERE id % 53 = 0;"
             "UPDATE attempt SET outcome = 'interrupted', cause = 'cancelled' WHERE id % 59 = 0;"
             "UPDATE attempt SET kind = 'restore' WHERE id % 61 = 0;"
             "UPDATE attempt SET duplicate_mac = 1 - duplicate_mac WHERE id % 67 = 0;"
             "UPDATE attempt SET operator = 'op-dan', lot = NULL WHERE id % 71 = 0;"
             "UPDATE attempt SET end_ts = 1714563000, outcome = 'pass', cause = 'pass' WHERE outcome = 'running';");
    summaries_match(sq, "after hand edits");
    exec(sq, "DELETE FROM attempt WHERE id % 31 = 0;");
    summaries_match(sq, "after deleting rows");
    REQUIRE(scalar(sq, "SELECT count(*) FROM module_span WHERE n > 1") > 50);
    REQUIRE(scalar(sq, "SELECT count(*) FROM module_span WHERE n > 1 AND passes > 0 AND first_ok = 0") > 10);
    totals_match_everywhere(d, sq);

    /* the report both ways: whole and partial quarter-hours, every filter, three kinds of zone */
    static const char *const zones[] = {"UTC0", "CET-1CEST,M3.5.0,M10.5.0/3", "NPT-5:45", "ODD-0:07"};
    for (size_t z = 0; z < sizeof zones / sizeof zones[0]; z++) {
        set_zone(zones[z]);
        same_both_ways(d, NULL);
        report_filter part = {.since = T0 + 3600 + 77, .until = T0 + 9 * 3600 + 5, .bay = -1};
        same_both_ways(d, &part);
        report_filter shift = {.since = FIXTURE_SHIFT_T0 + 1234.5, .until = FIXTURE_SHIFT_T0 + 5 * 3600, .bay = -1};
        same_both_ways(d, &shift);
    }
    set_zone("UTC0");
    report_filter lot = {.bay = -1, .lot = "WO-1001"};
    same_both_ways(d, &lot);
    report_filter op = {.bay = -1, .operator_id = "op-ben", .since = T0 + 7 * 3600 + 900};
    same_both_ways(d, &op);
    report_filter line = {.bay = -1, .line = "L2"};
    same_both_ways(d, &line);
    report_filter station = {.bay = -1, .station = "line-2", .profile = "smartplug-wb2s"};
    same_both_ways(d, &station);
    report_filter bay = {.bay = 5};
    same_both_ways(d, &bay);

    /* the filters and groupings select what they say */
    report *all = build(d, NULL, true), *l = build(d, &lot, true), *ln = build(d, &line, true);
    REQUIRE(all->n_lots == 3 && all->lots[2].none && !strcmp(all->lots[0].name, "WO-1001"));
    REQUIRE(all->n_operators == 5 && all->operators[4].none);
    CHECK_EQ_INT(l->total.attempts, all->lots[0].s.attempts);
    CHECK_EQ_INT(l->total.modules, all->lots[0].s.modules);
    CHECK(ln->n_by_station == 1 && !strcmp(ln->by_station[0].name, "line-9"));
    CHECK(l->n_lots == 1 && l->total.attempts > 100);
    /* every format prints the factory's groupings the data has */
    static int (*const writers[])(const report *, FILE *) = {report_write_table, report_write_csv,
                                                             report_write_json, report_write_html};
    static const char *const want[][3] = {{"by lot", "by operator", "by station"},
                                          {"# lots", "# operators", "# stations"},
                                          {"\"lots\"", "\"operators\"", "\"stations\""},
                                          {"<h2>Lots</h2>", "<h2>Operators</h2>", "<h2>Stations</h2>"}};
    for (int w = 0; w < 4; w++) {
        char *text = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&text, &n);
        REQUIRE(writers[w](all, f) == 0);
        fclose(f);
        for (int k = 0; k < 3; k++)
            CHECK_MSG(strstr(text, want[w][k]) != NULL, "format %d lacks %s", w, want[w][k]);
        CHECK(strstr(text, "WO-1002") != NULL && strstr(text, "op-chen") != NULL);
        free(text);
    }
    report_free(l);
    report_free(ln);

    /* the failed list streamed gives the whole report's text, and a writer's failure stops it */
    stream_equals_whole(d, false, 0);
    stream_equals_whole(d, true, 0);
    stream_equals_whole(d, true, 25);
    int calls = 0;
    report_options stop = {.on_failed = stop_at_three, .on_failed_ctx = &calls};
    report *none;
    char err[256];
    CHECK(report_build_opts(d, NULL, &stop, &none, err, sizeof err) < 0 && none == NULL && calls == 3);

    /* and the report does read the summaries: a summary emptied behind the triggers' back shows */
    exec(sq, "DELETE FROM attempt_cell WHERE rowid % 2 = 0");
    report *broken = build(d, NULL, true);
    CHECK(broken->total.attempts < all->total.attempts);
    /* and the returning modules' rows come from multi_attempt */
    exec(sq, "DELETE FROM multi_attempt WHERE id % 2 = 0");
    report *broken2 = build(d, NULL, true);
    CHECK(broken2->total.attempts == broken->total.attempts && broken2->total.modules != broken->total.modules);
    report_free(broken2);
    report_free(broken);
    report_free(all);
    sqlite3_close(sq);
    db_close(d);
    fixture_cleanup(path);
    if (check_failures() == 0)
        printf("db_summary: ok\n");
    return CHECK_DONE();
}
