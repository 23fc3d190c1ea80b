/* test_db_files.c - the database as files: the station lock (one station process per file, the
 * refusal naming the holder), the checkpoint (after it the main file ALONE holds every row) and
 * db_snapshot (a live database copied into one consistent file; no overwrite unless asked; a
 * failed copy leaves nothing; the file name is a bound value, quotes and all). */
#include "db_fixture.h"
#include "db_lock.h"
#include <dirent.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Attempts in the file at `path` read with nothing beside it (no -wal): -1 when the file has no
 * attempt table at all (everything was still in the WAL). */
static int attempts_alone(const char *path)
{
    char uri[600];
    snprintf(uri, sizeof uri, "file:%s?immutable=1", path);
    sqlite3 *sq;
    sqlite3_stmt *st;
    int v = -1;
    REQUIRE(sqlite3_open_v2(uri, &sq, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, 0) == SQLITE_OK);
    if (sqlite3_prepare_v2(sq, "SELECT count(*) FROM attempt", -1, &st, 0) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(sq);
    return v;
}

/* A plain byte copy of one file, as `cp trayflash.db` would make. */
static void copy_file(const char *from, const char *to)
{
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    REQUIRE(a && b);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, a)) > 0)
        REQUIRE(fwrite(buf, 1, n, b) == n);
    fclose(a);
    REQUIRE(fclose(b) == 0);
}

static long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

static void add_attempts(db *d, int n, int bay)
{
    REQUIRE_MSG((db_begin(d)) >= 0, "%s", db_errmsg(d));
    for (int i = 0; i < n; i++) {
        db_attempt a = {.bay = bay, .start_ts = 100 + i, .end_ts = 110 + i, .passed = true};
        int64_t id = db_attempt_begin(d, &a);
        REQUIRE(id > 0);
        REQUIRE_MSG((db_attempt_end(d, id, &a)) >= 0, "%s", db_errmsg(d));
    }
    REQUIRE_MSG((db_commit(d)) >= 0, "%s", db_errmsg(d));
}

/* Files in the folder of `path` whose name contains `part`. */
static int files_named(const char *path, const char *part)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = 0;
    DIR *dp = opendir(dir);
    REQUIRE(dp != NULL);
    int n = 0;
    for (struct dirent *e; (e = readdir(dp));)
        n += strstr(e->d_name, part) != NULL;
    closedir(dp);
    return n;
}

static void test_lock(void)
{
    char path[512], err[512], pid[32];
    fixture_path(path, sizeof path, "locked.db");
    db_lock *first, *second;
    REQUIRE(db_lock_station(path, "station line-1 on host-a", &first, err, sizeof err) == 0);
    REQUIRE(first != NULL);
    REQUIRE(db_lock_station(path, "station line-2 on host-a", &second, err, sizeof err) < 0);
    REQUIRE(second == NULL);
    snprintf(pid, sizeof pid, "pid %ld", (long)getpid());
    REQUIRE(strstr(err, path) != NULL && strstr(err, "another station") != NULL);
    REQUIRE(strstr(err, pid) != NULL && strstr(err, "station line-1 on host-a") != NULL);
    /* readers do not take the lock: a report's handle opens while the station holds it */
    db *d = fixture_open(path, false);
    db_close(d);
    d = fixture_open(path, true);
    db_close(d);
    db_unlock(first);
    REQUIRE(db_lock_station(path, "station line-2 on host-a", &second, err, sizeof err) == 0);
    db_unlock(second);
    char lock[600];
    snprintf(lock, sizeof lock, "%s.lock", path);
    unlink(lock);
    fixture_cleanup(path);
}

static void test_checkpoint(void)
{
    char path[512], copy[600];
    fixture_path(path, sizeof path, "live.db");
    snprintf(copy, sizeof copy, "%s.copy", path);
    db *d = fixture_open(path, false);
    db *reader = fixture_open(path, true); /* like the dashboard's: its close cannot checkpoint */
    add_attempts(d, 5, 1);
    /* before: the rows are in the WAL only, and a copy of the main file misses them */
    copy_file(path, copy);
    REQUIRE(attempts_alone(copy) != 5);
    REQUIRE_MSG((db_checkpoint(d)) >= 0, "%s", db_errmsg(d));
    char wal[600];
    snprintf(wal, sizeof wal, "%s-wal", path);
    REQUIRE(file_size(wal) == 0);
    copy_file(path, copy);
    REQUIRE(attempts_alone(copy) == 5);
    /* a read-only handle cannot checkpoint, and says so */
    REQUIRE(db_checkpoint(reader) < 0 && strstr(db_errmsg(reader), "read-only") != NULL);
    db_close(reader);
    db_close(d);
    unlink(copy);
    fixture_cleanup(path);
}

static void test_snapshot(void)
{
    char path[512], dest[600], quoted[600], nowhere[600];
    fixture_path(path, sizeof path, "source.db");
    snprintf(dest, sizeof dest, "%s.snap", path);
    snprintf(quoted, sizeof quoted, "%s.it's \"a\" snap", path);
    snprintf(nowhere, sizeof nowhere, "%s.missing-dir/snap.db", path);
    db *d = fixture_open(path, false);
    add_attempts(d, 3, 1); /* in the WAL only: the station is still writing */
    db *ro = fixture_open(path, true);
    REQUIRE_MSG((db_snapshot(ro, dest, false)) >= 0, "%s", db_errmsg(ro));
    REQUIRE(attempts_alone(dest) == 3);
    REQUIRE_MSG((db_snapshot(ro, quoted, false)) >= 0, "%s", db_errmsg(ro));
    REQUIRE(attempts_alone(quoted) == 3);
    /* an existing file is refused and left as it was... */
    add_attempts(d, 2, 2);
    REQUIRE(db_snapshot(ro, dest, false) < 0);
    REQUIRE(strstr(db_errmsg(ro), dest) != NULL && strstr(db_errmsg(ro), "exists") != NULL);
    REQUIRE(attempts_alone(dest) == 3);
    /* ...unless overwriting is asked for; then it holds the newer rows */
    REQUIRE_MSG((db_snapshot(ro, dest, true)) >= 0, "%s", db_errmsg(ro));
    REQUIRE(attempts_alone(dest) == 5);
    /* never onto the database or its WAL, even when overwriting is asked for */
    char wal[600];
    snprintf(wal, sizeof wal, "%s-wal", path);
    REQUIRE(db_snapshot(ro, path, true) < 0 && strstr(db_errmsg(ro), "database itself") != NULL);
    REQUIRE(db_snapshot(ro, wal, true) < 0 && strstr(db_errmsg(ro), "database itself") != NULL);
    REQUIRE(attempts_alone(dest) == 5);
    add_attempts(d, 1, 3); /* the live file still takes rows */
    /* a copy that cannot be made says where and leaves no file */
    REQUIRE(db_snapshot(ro, nowhere, false) < 0 && strstr(db_errmsg(ro), nowhere) != NULL);
    REQUIRE(db_snapshot(ro, "", false) < 0);
    REQUIRE(files_named(path, ".tmp-") == 0);
    /* the read-write handle snapshots too */
    unlink(dest);
    REQUIRE_MSG((db_snapshot(d, dest, false)) >= 0, "%s", db_errmsg(d));
    REQUIRE(attempts_alone(dest) == 6);
    db_close(ro);
    db_close(d);
    unlink(dest);
    unlink(quoted);
    fixture_cleanup(path);
}

int main(void)
{
    test_lock();
    test_checkpoint();
    test_snapshot();
    printf("db_files: ok\n");
    return 0;
}
