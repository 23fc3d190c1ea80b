/* test_db_schema.c - schema creation, migration from every earlier version (a file made with that
 * version's own SQL), refusal of a newer file, read-only rules, and errors that name the file. */
#include "db_fixture.h"
#include <sqlite3.h>
#include <string.h>

static int scalar(const char *path, const char *sql)
{
    sqlite3 *sq;
    sqlite3_stmt *st;
    REQUIRE(sqlite3_open_v2(path, &sq, SQLITE_OPEN_READONLY, 0) == SQLITE_OK);
    REQUIRE(sqlite3_prepare_v2(sq, sql, -1, &st, 0) == SQLITE_OK);
    REQUIRE(sqlite3_step(st) == SQLITE_ROW);
    int v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(sq);
    return v;
}

/* Builds a file exactly as a station of schema `version` left it, with one finished attempt. */
static void make_old_file(const char *path, int version)
{
    sqlite3 *sq;
    REQUIRE(sqlite3_open(path, &sq) == SQLITE_OK);
    for (int v = 1; v <= version; v++)
        REQUIRE(sqlite3_exec(sq, db_migration_sql(v), 0, 0, 0) == SQLITE_OK);
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", version);
    REQUIRE(sqlite3_exec(sq, sql, 0, 0, 0) == SQLITE_OK);
    REQUIRE(sqlite3_exec(sq,
                       "INSERT INTO module (mac, first_seen, last_seen) VALUES ('aa:bb:cc:dd:ee:ff', 1, 1);"
                       "INSERT INTO attempt (bay, start_ts, end_ts, outcome, cause, mac, module_id) "
                       "VALUES (5, 100, 120, 'pass', 'pass', 'aa:bb:cc:dd:ee:ff', 1);",
                       0, 0, 0) == SQLITE_OK);
    sqlite3_close(sq);
}

static void test_create(void)
{
    char path[512];
    fixture_path(path, sizeof path, "new.db");
    db *d = fixture_open(path, false);
    REQUIRE(db_schema_version(d) == db_schema_latest());
    REQUIRE(db_schema_latest() >= 2);
    db_close(d);
    REQUIRE(scalar(path, "PRAGMA user_version") == db_schema_latest());
    REQUIRE(scalar(path, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                       "('station','profile','image','module','attempt','event_log','assignment')") == 7);
    REQUIRE(scalar(path, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN "
                       "('attempt_by_end','attempt_by_bay','attempt_by_profile')") == 3);
    REQUIRE(scalar(path, "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'") == 1);
    /* opening again is a no-op migration */
    d = fixture_open(path, false);
    REQUIRE(db_schema_version(d) == db_schema_latest());
    db_close(d);
    fixture_cleanup(path);
}

static void test_migrate_from(int version)
{
    char path[512];
    fixture_path(path, sizeof path, "old.db");
    make_old_file(path, version);
    REQUIRE(scalar(path, "PRAGMA user_version") == version);

    /* a reader must not migrate: it refuses with words */
    db *d;
    char err[512];
    REQUIRE(db_open(path, true, &d, err, sizeof err) < 0 && d == NULL);
    REQUIRE(strstr(err, path) != NULL && strstr(err, "migrate") != NULL);

    d = fixture_open(path, false);
    REQUIRE(db_schema_version(d) == db_schema_latest());
    /* the old row survived and the new column has its default */
    db_close(d);
    REQUIRE(scalar(path, "SELECT count(*) FROM attempt WHERE bay = 5 AND outcome = 'pass'") == 1);
    REQUIRE(scalar(path, "SELECT duplicate_mac FROM attempt WHERE bay = 5") == 0);
    /* and the store writes through the new parts of the schema */
    d = fixture_open(path, false);
    REQUIRE_MSG((db_assignment_log(d, 200, "op", false, 1, 2, 0, 0, false)) >= 0, "%s", db_errmsg(d));
    db_attempt a = {.bay = 6, .start_ts = 130, .end_ts = 140, .mac = "AA:BB:CC:DD:EE:FF", .passed = true};
    int64_t id = db_attempt_begin(d, &a);
    REQUIRE(id > 0);
    REQUIRE_MSG((db_attempt_end(d, id, &a)) >= 0, "%s", db_errmsg(d));
    db_close(d);
    REQUIRE(scalar(path, "SELECT count(*) FROM assignment") == 1);
    REQUIRE(scalar(path, "SELECT count(DISTINCT module_id) FROM attempt") == 1);
    fixture_cleanup(path);
}

/* Version 4 rebuilt the attempt table: every old row keeps its id and gets a UUID of its own, the
 * file gets one identity, and the history is queued once for the central store. */
static void test_v4_identity_and_history(void)
{
    char path[512];
    fixture_path(path, sizeof path, "v3.db");
    make_old_file(path, 3);
    sqlite3 *sq;
    REQUIRE(sqlite3_open(path, &sq) == SQLITE_OK);
    REQUIRE(sqlite3_exec(sq, "INSERT INTO attempt (bay, start_ts, end_ts, outcome, cause) "
                             "VALUES (6, 130, 140, 'fail', 'brownout'), (7, 150, NULL, 'running', NULL);"
                             "INSERT INTO profile (name, sha256, text, first_seen) VALUES ('p', 'x', 't', 5);",
                         0, 0, 0) == SQLITE_OK);
    sqlite3_close(sq);
    db *d = fixture_open(path, false);
    char self[DB_UUID_LEN + 1];
    REQUIRE(db_station_uuid(d, self) == 0 && strlen(self) == DB_UUID_LEN && self[14] == '4');
    db_close(d);
    REQUIRE(scalar(path, "SELECT count(*) FROM attempt") == 3);
    REQUIRE(scalar(path, "SELECT count(DISTINCT uuid) FROM attempt WHERE length(uuid) = 36 "
                         "AND substr(uuid, 15, 1) = '4' AND substr(uuid, 20, 1) IN ('8','9','a','b')") == 3);
    REQUIRE(scalar(path, "SELECT min(id) FROM attempt WHERE bay = 5") == 1);
    REQUIRE(scalar(path, "SELECT count(*) FROM attempt WHERE kind = 'flash'") == 3);
    /* finished attempts and the profile are queued; the running one is not (it is not finished) */
    REQUIRE(scalar(path, "SELECT count(*) FROM outbox WHERE kind = 'attempt'") == 2);
    REQUIRE(scalar(path, "SELECT count(*) FROM outbox WHERE kind = 'profile'") == 1);
    /* a hand-inserted row still gets a UUID (the column's default) */
    REQUIRE(sqlite3_open(path, &sq) == SQLITE_OK);
    REQUIRE(sqlite3_exec(sq, "INSERT INTO attempt (bay, start_ts) VALUES (9, 1)", 0, 0, 0) == SQLITE_OK);
    sqlite3_close(sq);
    REQUIRE(scalar(path, "SELECT count(DISTINCT uuid) FROM attempt") == 4);
    /* the identity is made once: opening again keeps it */
    d = fixture_open(path, false);
    char again[DB_UUID_LEN + 1];
    REQUIRE(db_station_uuid(d, again) == 0 && strcmp(self, again) == 0);
    db_close(d);
    fixture_cleanup(path);
}

static void test_refuse_newer(void)
{
    char path[512];
    fixture_path(path, sizeof path, "newer.db");
    make_old_file(path, db_schema_latest());
    sqlite3 *sq;
    REQUIRE(sqlite3_open(path, &sq) == SQLITE_OK);
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", db_schema_latest() + 1);
    REQUIRE(sqlite3_exec(sq, sql, 0, 0, 0) == SQLITE_OK);
    sqlite3_close(sq);
    for (int ro = 0; ro < 2; ro++) {
        db *d = (db *)1;
        char err[512] = "";
        REQUIRE(db_open(path, ro, &d, err, sizeof err) < 0);
        REQUIRE(d == NULL);
        REQUIRE(strstr(err, "newer") != NULL && strstr(err, path) != NULL);
    }
    /* untouched */
    REQUIRE(scalar(path, "PRAGMA user_version") == db_schema_latest() + 1);
    fixture_cleanup(path);
}

static void test_bad_files(void)
{
    char path[512];
    fixture_path(path, sizeof path, "junk.db");
    FILE *f = fopen(path, "w");
    REQUIRE(f != NULL);
    fputs("this is a text file, not a database, and it is long enough to have a header ...........", f);
    fclose(f);
    db *d;
    char err[512];
    REQUIRE(db_open(path, false, &d, err, sizeof err) < 0);
    REQUIRE(strstr(err, path) != NULL && strstr(err, "not a database") != NULL);
    fixture_cleanup(path);

    fixture_path(path, sizeof path, "missing.db");
    REQUIRE(db_open(path, true, &d, err, sizeof err) < 0);
    REQUIRE(strstr(err, path) != NULL);
    fixture_cleanup(path);

    /* a read-only handle refuses writes with words */
    fixture_path(path, sizeof path, "ro.db");
    d = fixture_open(path, false);
    db_close(d);
    d = fixture_open(path, true);
    REQUIRE(db_station_upsert(d, "x", "y") < 0);
    REQUIRE(strstr(db_errmsg(d), "read-only") != NULL);
    db_close(d);
    fixture_cleanup(path);
}

int main(void)
{
    REQUIRE(db_migration_sql(0) == NULL && db_migration_sql(db_schema_latest() + 1) == NULL);
    test_create();
    for (int v = 1; v < db_schema_latest(); v++)
        test_migrate_from(v);
    test_v4_identity_and_history();
    test_refuse_newer();
    test_bad_files();
    printf("db_schema: ok (latest version %d)\n", db_schema_latest());
    return 0;
}
