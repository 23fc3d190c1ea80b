/* test_db_store.c - the writer's API: upserts, MAC history linking, the duplicate-MAC flag,
 * db_mark_interrupted, the audit and event tables, and refusals of bad input with words. */
#include "db_fixture.h"
#include "outbox.h"
#include <sqlite3.h>
#include <string.h>

/* The first column of the first row of sql (-1 for NULL), with ints[0..nints) bound to
 * ?1..?nints. */
static int64_t scalar_ints(const char *path, const char *sql, int nints, const int64_t *ints)
{
    sqlite3 *sq;
    sqlite3_stmt *st;
    REQUIRE(sqlite3_open_v2(path, &sq, SQLITE_OPEN_READONLY, 0) == SQLITE_OK);
    REQUIRE(sqlite3_prepare_v2(sq, sql, -1, &st, 0) == SQLITE_OK);
    for (int i = 0; i < nints; i++)
        REQUIRE(sqlite3_bind_int64(st, i + 1, (sqlite3_int64)ints[i]) == SQLITE_OK);
    REQUIRE(sqlite3_step(st) == SQLITE_ROW);
    int64_t v = sqlite3_column_type(st, 0) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(sq);
    return v;
}

static int64_t scalar(const char *path, const char *sql, const char *arg)
{
    sqlite3 *sq;
    sqlite3_stmt *st;
    REQUIRE(sqlite3_open_v2(path, &sq, SQLITE_OPEN_READONLY, 0) == SQLITE_OK);
    REQUIRE(sqlite3_prepare_v2(sq, sql, -1, &st, 0) == SQLITE_OK);
    if (arg)
        sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
    REQUIRE(sqlite3_step(st) == SQLITE_ROW);
    int64_t v = sqlite3_column_type(st, 0) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(sq);
    return v;
}

static int64_t attempt(db *d, int bay, double start, double end, const char *mac, const char *cause)
{
    db_attempt a = {.bay = bay, .start_ts = start, .end_ts = end, .mac = mac, .chip = "BK7231N",
                    .chip_id = 0x7231c, .passed = strcmp(cause, "pass") == 0, .cause_id = cause};
    int64_t id = db_attempt_begin(d, &a);
    REQUIRE(id > 0);
    REQUIRE_MSG((db_attempt_end(d, id, &a)) >= 0, "%s", db_errmsg(d));
    return id;
}

/* The outbox: each record is queued once, in the transaction that writes it, and a rolled-back
 * record leaves no queue row behind. Attempts carry a UUID made at creation, lot/tray/operator. */
static void test_outbox(const char *path, db *d)
{
    const char *q = "SELECT count(*) FROM outbox WHERE kind = ?1";
    int64_t before = scalar(path, q, "attempt");
    int64_t profiles = scalar(path, q, "profile");
    REQUIRE(db_profile_upsert(d, "outbox-p", NULL, "outbox text") > 0);
    REQUIRE(db_profile_upsert(d, "outbox-p", NULL, "outbox text") > 0);
    REQUIRE(scalar(path, q, "profile") == profiles + 1);

    REQUIRE(db_begin(d) == 0);
    REQUIRE(db_lot_next_tray(d, "WO-77", 1000) == 1);
    REQUIRE(db_lot_next_tray(d, "WO-77", 1001) == 2);
    REQUIRE(db_lot_next_tray(d, "", 1001) < 0 && strstr(db_errmsg(d), "lot") != NULL);
    char uuid[DB_UUID_LEN + 1];
    db_new_uuid(uuid);
    db_attempt a = {.uuid = uuid, .lot = "WO-77", .tray = 2, .operator_id = "op-9", .bay = 3,
                    .start_ts = 1000, .end_ts = 1010, .mac = "aa:00:00:00:00:77", .passed = true};
    int64_t id = db_attempt_begin(d, &a);
    REQUIRE(id > 0);
    REQUIRE(db_attempt_end(d, id, &a) == 0);
    /* a second end of the same attempt is refused: it would queue the record twice */
    REQUIRE(db_attempt_end(d, id, &a) < 0 && strstr(db_errmsg(d), "already ended") != NULL);
    REQUIRE(db_commit(d) == 0);
    REQUIRE(scalar(path, q, "attempt") == before + 1);
    REQUIRE(scalar_ints(path, "SELECT count(*) FROM attempt WHERE id = ?1 AND lot = 'WO-77' AND tray = 2 "
                              "AND operator = 'op-9' AND kind = 'flash'", 1, &id) == 1);
    REQUIRE(scalar(path, "SELECT count(*) FROM attempt WHERE uuid = ?1", uuid) == 1);
    REQUIRE(scalar(path, "SELECT trays FROM lot WHERE name = ?1", "WO-77") == 2);

    /* rolled back: neither the attempt's end nor its queue row */
    db_attempt b = {.bay = 4, .start_ts = 1100, .end_ts = 1110, .passed = false, .cause_id = "brownout"};
    int64_t id2 = db_attempt_begin(d, &b);
    REQUIRE(id2 > 0);
    REQUIRE(db_begin(d) == 0);
    REQUIRE(db_attempt_end(d, id2, &b) == 0);
    REQUIRE(db_rollback(d) == 0);
    REQUIRE(scalar(path, q, "attempt") == before + 1);
    REQUIRE(scalar_ints(path, "SELECT length(uuid) FROM attempt WHERE id = ?1", 1, &id2) == DB_UUID_LEN);
    REQUIRE(db_attempt_end(d, id2, &b) == 0);
    REQUIRE(scalar(path, q, "attempt") == before + 2);

    /* a skipped module: its own outcome, no cause; a skip that claims a pass is refused */
    db_attempt sk = {.kind = "skipped", .bay = 5, .start_ts = 1200, .end_ts = 1201, .skipped = true,
                     .mac = "aa:00:00:00:00:77", .detail = "already passed on line-2"};
    int64_t id3 = db_attempt_begin(d, &sk);
    REQUIRE(id3 > 0);
    sk.passed = true;
    REQUIRE(db_attempt_end(d, id3, &sk) < 0 && strstr(db_errmsg(d), "skipped") != NULL);
    sk.passed = false;
    REQUIRE_MSG(db_attempt_end(d, id3, &sk) == 0, "%s", db_errmsg(d));
    REQUIRE(scalar_ints(path, "SELECT count(*) FROM attempt WHERE id = ?1 AND outcome = 'skipped' "
                              "AND kind = 'skipped' AND cause IS NULL", 1, &id3) == 1);
    /* rows sent long ago are forgotten (the records stay), queued and recent ones are kept */
    outbox_batch ob = {0};
    REQUIRE(outbox_read(d, 1000, &ob) >= 3);
    int64_t old_ids[2] = {ob.rec[0].id, ob.rec[1].id}, new_id = ob.rec[2].id;
    REQUIRE(outbox_mark_sent(d, old_ids, 2, 100.0) == 0);
    REQUIRE(outbox_mark_sent(d, &new_id, 1, 5000.0) == 0);
    int64_t total = scalar(path, "SELECT count(*) FROM outbox", NULL);
    int64_t attempts = scalar(path, "SELECT count(*) FROM attempt", NULL);
    REQUIRE(outbox_prune_sent(d, 1000.0, 1) == 1); /* at most max a call */
    REQUIRE(outbox_prune_sent(d, 1000.0, 100) == 1);
    REQUIRE(outbox_prune_sent(d, 1000.0, 100) == 0);
    REQUIRE(scalar(path, "SELECT count(*) FROM outbox", NULL) == total - 2);
    REQUIRE(scalar_ints(path, "SELECT count(*) FROM outbox WHERE id = ?1", 1, &new_id) == 1);
    REQUIRE(scalar(path, "SELECT count(*) FROM attempt", NULL) == attempts);
    outbox_batch_free(&ob);
    /* a UUID that is not one is refused with words */
    db_attempt bad = {.uuid = "42", .bay = 1, .start_ts = 1};
    REQUIRE(db_attempt_begin(d, &bad) < 0 && strstr(db_errmsg(d), "UUID") != NULL);
}

static void test_upserts(db *d)
{
    int64_t s1 = db_station_upsert(d, "line-1", "host");
    REQUIRE(s1 > 0 && db_station_upsert(d, "line-1", "host") == s1);
    REQUIRE(db_station_upsert(d, "line-2", "host") != s1);
    /* sha256("abc"), the FIPS 180-2 example: the store computes it when not given */
    int64_t p1 = db_profile_upsert(d, "p", NULL, "abc");
    REQUIRE(p1 > 0);
    REQUIRE(db_profile_upsert(d, "renamed", "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
                            "abc") == p1);
    REQUIRE(db_profile_upsert(d, "p", NULL, "abd") != p1);
    REQUIRE(db_profile_upsert(d, "p", "xyz", "abc") < 0 && strstr(db_errmsg(d), "64 hex") != NULL);
    int64_t i1 = db_image_upsert(d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", 3);
    REQUIRE(i1 > 0);
    REQUIRE(db_image_upsert(d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", 3) == i1);
    REQUIRE(db_image_upsert(d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", 4) < 0);
    REQUIRE(strstr(db_errmsg(d), "size") != NULL);
}

static void test_refusals(db *d)
{
    db_attempt a = {.bay = 1, .start_ts = 10, .end_ts = 20, .passed = false, .cause_id = "gremlins"};
    int64_t id = db_attempt_begin(d, &a);
    REQUIRE(id > 0);
    REQUIRE(db_attempt_end(d, id, &a) < 0 && strstr(db_errmsg(d), "gremlins") != NULL);
    a.cause_id = NULL;
    REQUIRE(db_attempt_end(d, id, &a) < 0);
    a.cause_id = "brownout";
    a.passed = true;
    REQUIRE(db_attempt_end(d, id, &a) < 0 && strstr(db_errmsg(d), "contradicts") != NULL);
    a.passed = false;
    a.end_ts = 5;
    REQUIRE(db_attempt_end(d, id, &a) < 0 && strstr(db_errmsg(d), "before it starts") != NULL);
    a.end_ts = 20;
    REQUIRE(db_attempt_end(d, id + 1000, &a) < 0 && strstr(db_errmsg(d), "does not exist") != NULL);
    REQUIRE_MSG((db_attempt_end(d, id, &a)) >= 0, "%s", db_errmsg(d));
    /* a foreign key to nothing is refused by SQLite itself */
    db_attempt bad = {.bay = 1, .station_id = 999, .start_ts = 1};
    REQUIRE(db_attempt_begin(d, &bad) < 0 && strstr(db_errmsg(d), "FOREIGN KEY") != NULL);
}

/* Two stations on one file: a station's start sweeps its own running attempts only; the other
 * station's are still running and stay so. */
static void test_interrupted_scoped(void)
{
    char path[512];
    fixture_path(path, sizeof path, "two-stations.db");
    db *d = fixture_open(path, false);
    int64_t s1 = db_station_upsert(d, "line-1", "host-a");
    int64_t s2 = db_station_upsert(d, "line-2", "host-a");
    int64_t s3 = db_station_upsert(d, "line-1", "host-b"); /* same name, another machine */
    REQUIRE(s1 > 0 && s2 > 0 && s3 > 0 && s1 != s2 && s1 != s3);
    int64_t ids[3];
    const int64_t stations[3] = {s1, s2, s3};
    for (int i = 0; i < 3; i++) {
        db_attempt a = {.station_id = stations[i], .bay = 1, .start_ts = 100 + i};
        ids[i] = db_attempt_begin(d, &a);
        REQUIRE(ids[i] > 0);
    }
    int64_t queued = scalar(path, "SELECT count(*) FROM outbox WHERE kind = ?1", "attempt");
    REQUIRE(db_mark_interrupted(d, s1, 200) == 1);
    /* the swept attempt is finished now: queued once, with the sweep */
    REQUIRE(scalar(path, "SELECT count(*) FROM outbox WHERE kind = ?1", "attempt") == queued + 1);
    REQUIRE(db_mark_interrupted(d, s1, 201) == 0);
    db_close(d);
    REQUIRE(scalar_ints(path, "SELECT count(*) FROM attempt WHERE outcome = 'interrupted' AND id = ?1",
                      1, &ids[0]) == 1);
    REQUIRE(scalar_ints(path, "SELECT count(*) FROM attempt WHERE outcome = 'running' AND id IN (?1, ?2)",
                      2, (const int64_t[]){ids[1], ids[2]}) == 2);
    fixture_cleanup(path);
}

/* A refused value is not worth retrying; SQLite's own storage failures are tested with a failing
 * file system in tests/station (test_dbsafe.c). */
static void test_retryable(db *d)
{
    db_attempt a = {.bay = 1, .start_ts = 10, .end_ts = 20, .passed = false, .cause_id = "gremlins"};
    int64_t id = db_attempt_begin(d, &a);
    REQUIRE(id > 0);
    REQUIRE(db_attempt_end(d, id, &a) < 0 && !db_failure_retryable(d));
    a.cause_id = "brownout";
    REQUIRE_MSG((db_attempt_end(d, id, &a)) >= 0, "%s", db_errmsg(d));
    db_attempt bad = {.bay = 1, .station_id = 999, .start_ts = 1};
    REQUIRE(db_attempt_begin(d, &bad) < 0 && !db_failure_retryable(d));
}

int main(void)
{
    test_interrupted_scoped();
    char path[512];
    fixture_path(path, sizeof path, "store.db");
    db *d = fixture_open(path, false);
    test_upserts(d);
    test_refusals(d);
    test_retryable(d);
    {
        char opath[512];
        fixture_path(opath, sizeof opath, "outbox.db");
        db *od = fixture_open(opath, false);
        test_outbox(opath, od);
        db_close(od);
        fixture_cleanup(opath);
    }

    /* MAC history: module A fails on bay 1, passes on bay 2 later (a re-seat, not a duplicate) */
    const char *A = "d8:1f:12:aa:00:01", *B = "d8:1f:12:aa:00:02";
    int64_t a1 = attempt(d, 1, 1000, 1020, "D8:1F:12:AA:00:01", "brownout");
    int64_t a2 = attempt(d, 2, 1100, 1120, A, "pass");
    int64_t a3 = attempt(d, 2, 5000, 5020, A, "pass"); /* seen again hours later: same history */
    /* module B: two physical modules with one MAC in one tray, flashed at the same time */
    int64_t b1 = attempt(d, 3, 1000, 1020, B, "pass");
    int64_t b2 = attempt(d, 4, 1010, 1030, B, "pass");
    /* no MAC: no module row */
    int64_t n1 = attempt(d, 5, 1000, 1002, NULL, "no_download_mode");
    db_close(d);

    REQUIRE(scalar(path, "SELECT count(*) FROM module WHERE mac = ?1", A) == 1);
    REQUIRE(scalar_ints(path, "SELECT count(DISTINCT module_id) FROM attempt WHERE id IN (?1, ?2, ?3)",
                      3, (const int64_t[]){a1, a2, a3}) == 1);
    REQUIRE(scalar(path, "SELECT first_seen FROM module WHERE mac = ?1", A) == 1020);
    REQUIRE(scalar(path, "SELECT last_seen FROM module WHERE mac = ?1", A) == 5020);
    REQUIRE(scalar(path, "SELECT chip_id FROM module WHERE mac = ?1", A) == 0x7231c);
    REQUIRE(scalar(path, "SELECT count(*) FROM attempt WHERE mac = ?1 AND duplicate_mac = 1", A) == 0);
    REQUIRE(scalar(path, "SELECT count(*) FROM attempt WHERE mac = ?1 AND duplicate_mac = 1", B) == 2);
    REQUIRE(scalar_ints(path, "SELECT module_id FROM attempt WHERE id = ?1", 1, (const int64_t[]){n1}) == -1);
    (void)b1;
    (void)b2;

    /* crash sweep: two attempts left running become interrupted, finished ones stay */
    d = fixture_open(path, false);
    db_attempt r = {.bay = 6, .start_ts = 6000};
    REQUIRE(db_attempt_begin(d, &r) > 0);
    r.bay = 7;
    REQUIRE(db_attempt_begin(d, &r) > 0);
    REQUIRE(db_mark_interrupted(d, 0, 6100) == 2);
    REQUIRE(db_mark_interrupted(d, 0, 6200) == 0);
    REQUIRE_MSG((db_event_log(d, 6100, -1, "warn", "station restarted after a crash")) >= 0, "%s", db_errmsg(d));
    REQUIRE_MSG((db_assignment_log(d, 6150, "alice", true, 1, 8, "aa", "bb", true)) >= 0, "%s", db_errmsg(d));
    db_close(d);
    REQUIRE(scalar(path, "SELECT count(*) FROM attempt WHERE outcome = 'interrupted' AND cause = 'cancelled' "
                       "AND detail = 'station stopped' AND end_ts = 6100", NULL) == 2);
    REQUIRE(scalar(path, "SELECT count(*) FROM attempt WHERE outcome = 'running'", NULL) == 0);
    REQUIRE(scalar(path, "SELECT count(*) FROM attempt WHERE outcome = 'pass'", NULL) == 4);
    REQUIRE(scalar(path, "SELECT bay IS NULL FROM event_log", NULL) == 1);
    REQUIRE(scalar(path, "SELECT bay_to FROM assignment WHERE os_user = ?1", "alice") == 8);
    fixture_cleanup(path);
    printf("db_store: ok\n");
    return 0;
}
