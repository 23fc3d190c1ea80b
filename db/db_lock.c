/* db_lock.c - the station's lock on its database file; see db_lock.h. */
#include "db_lock.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

struct db_lock {
    int fd;
};

/* The holder's words from the lock file, one line, control bytes dropped. */
static void read_holder(int fd, char *out, size_t outlen)
{
    char buf[256];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    size_t k = 0;
    for (ssize_t i = 0; i < n && buf[i] != '\n' && k + 1 < outlen; i++)
        if ((unsigned char)buf[i] >= 0x20 && buf[i] != 0x7f)
            out[k++] = buf[i];
    out[k] = 0;
}

static void write_holder(int fd, const char *holder)
{
    char since[32] = "";
    time_t now = time(NULL);
    struct tm tm;
    if (localtime_r(&now, &tm))
        strftime(since, sizeof since, "%Y-%m-%d %H:%M:%S", &tm);
    char line[320];
    int n = snprintf(line, sizeof line, "pid %ld, %s, since %s\n", (long)getpid(),
                     holder && *holder ? holder : "trayflash", since);
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    /* the words only help a refused station explain itself: failing to write them is harmless */
    if (ftruncate(fd, 0) == 0 && pwrite(fd, line, len, 0) < 0)
        return;
}

int db_lock_station(const char *db_path, const char *holder, db_lock **out, char *err, size_t errlen)
{
    *out = NULL;
    char path[4200];
    if ((size_t)snprintf(path, sizeof path, "%s.lock", db_path) >= sizeof path) {
        snprintf(err, errlen, "%.200s...: database path too long", db_path);
        return -1;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot open the station lock file: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        if (e == EWOULDBLOCK) {
            char who[200];
            read_holder(fd, who, sizeof who);
            snprintf(err, errlen, "%s is in use by another station (%s): one station process per "
                     "database file; stop that station first, or give this one its own --db",
                     db_path, who[0] ? who : "its pid is not recorded in the lock file");
        } else {
            snprintf(err, errlen, "%s: cannot lock: %s", path, strerror(e));
        }
        close(fd);
        return -1;
    }
    db_lock *l = malloc(sizeof *l);
    if (!l) {
        close(fd);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    l->fd = fd;
    write_holder(fd, holder);
    *out = l;
    return 0;
}

void db_unlock(db_lock *l)
{
    if (!l)
        return;
    close(l->fd); /* closing the only descriptor releases the flock */
    free(l);
}
