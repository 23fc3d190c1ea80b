/* db_snapshot.c - a consistent one-file copy of a live database (db_snapshot in db.h).
 *
 * VACUUM INTO reads one snapshot (WAL included) through SQLite, so it is safe while the station
 * writes, and the copy needs no -wal beside it. SQLite does not sync the new file, and it would
 * write into an existing empty one, so the copy goes to a fresh temporary name in the target's
 * folder, is synced, and only then takes its name: link() when nothing may be overwritten (it
 * fails if the name appeared meanwhile), rename() with overwrite. */
#include "db_internal.h"
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void fail_errno(db *d, const char *dest, const char *what)
{
    char msg[600];
    snprintf(msg, sizeof msg, "snapshot to %s: %s: %s", dest, what, strerror(errno));
    db_set_errmsg(d, msg);
}

/* fsync of a file or folder by name; the copy is a backup, so it must be on the disk. */
static int sync_path(const char *path, int flags)
{
    int fd = open(path, flags | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

/* A new empty file "<dest>.tmp-<pid>-<k>", created with the user's umask like any other file
 * (mkstemp would make it private). Returns its fd, -1 with errno. */
static int create_temp(const char *dest, char *tmp, size_t len)
{
    for (int k = 0; k < 100; k++) {
        snprintf(tmp, len, "%s.tmp-%ld-%d", dest, (long)getpid(), k);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1;
}

static int vacuum_into(db *d, const char *tmp)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db_sqlite(d), "VACUUM INTO ?1", -1, &st, 0) != SQLITE_OK) {
        db_set_sqlite_errmsg(d, "preparing the snapshot");
        return -1;
    }
    sqlite3_bind_text(st, 1, tmp, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        db_set_sqlite_errmsg(d, "copying the database");
        return -1;
    }
    return 0;
}

/* Whether `dest` is the database itself or one of its companion files: replacing one of those
 * (--force) would pull the file from under a running station. Compared by inode, so another
 * spelling, a hard link or a symlink of the name is caught too. */
static bool is_database_file(db *d, const char *dest)
{
    struct stat ds, ss;
    if (stat(dest, &ds) != 0)
        return false;
    static const char *const companion[] = {"", "-wal", "-shm", "-journal", ".lock"};
    char p[320];
    for (size_t i = 0; i < sizeof companion / sizeof companion[0]; i++) {
        snprintf(p, sizeof p, "%s%s", db_path_of(d), companion[i]);
        if (stat(p, &ss) == 0 && ss.st_dev == ds.st_dev && ss.st_ino == ds.st_ino)
            return true;
    }
    return false;
}

/* Gives the finished temporary file its name. */
static int place(db *d, const char *tmp, const char *dest, bool overwrite)
{
    if (overwrite) {
        if (rename(tmp, dest) < 0) {
            fail_errno(d, dest, "moving the copy into place");
            return -1;
        }
        return 0;
    }
    if (link(tmp, dest) == 0) {
        unlink(tmp);
        return 0;
    }
    if (errno == EEXIST) {
        char msg[600];
        snprintf(msg, sizeof msg, "snapshot to %s: the file exists; not overwritten", dest);
        db_set_errmsg(d, msg);
        return -1;
    }
    fail_errno(d, dest, "naming the copy");
    return -1;
}

int db_snapshot(db *d, const char *dest, bool overwrite)
{
    if (!dest || !*dest) {
        db_set_errmsg(d, "snapshot: no file name given");
        return -1;
    }
    if (is_database_file(d, dest)) {
        char msg[600];
        snprintf(msg, sizeof msg, "snapshot to %s: that is the database itself (or its WAL, shm or "
                 "lock file); choose another name", dest);
        db_set_errmsg(d, msg);
        return -1;
    }
    struct stat sb;
    if (!overwrite && lstat(dest, &sb) == 0) {
        char msg[600];
        snprintf(msg, sizeof msg, "snapshot to %s: the file exists; not overwritten", dest);
        db_set_errmsg(d, msg);
        return -1;
    }
    size_t n = strlen(dest);
    char *tmp = malloc(n + 32), *dir = malloc(n + 1);
    if (!tmp || !dir) {
        free(tmp);
        free(dir);
        db_set_errmsg(d, "snapshot: out of memory");
        return -1;
    }
    memcpy(dir, dest, n + 1);
    int rc = -1;
    int fd = create_temp(dest, tmp, n + 32);
    if (fd < 0) {
        fail_errno(d, dest, "creating a temporary file beside it");
        goto out;
    }
    close(fd);
    if (vacuum_into(d, tmp) < 0)
        goto drop;
    if (sync_path(tmp, O_RDONLY) < 0) {
        fail_errno(d, dest, "syncing the copy");
        goto drop;
    }
    if (place(d, tmp, dest, overwrite) < 0)
        goto drop;
    sync_path(dirname(dir), O_RDONLY | O_DIRECTORY); /* the new name, durable; best effort */
    rc = 0;
    goto out;
drop:
    unlink(tmp);
out:
    free(tmp);
    free(dir);
    return rc;
}
