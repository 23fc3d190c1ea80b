/* atomic_file.c - see atomic_file.h. */
#include "atomic_file.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The file to replace: the path itself, or what its symlink names; *exists and *st say whether it is
 * there and what it is. -1 with errno when the path cannot be looked at. */
static int resolve(const char *path, char *real, size_t n, struct stat *st, int *exists)
{
    struct stat lst;
    *exists = 0;
    if (lstat(path, &lst) < 0) {
        if (errno != ENOENT)
            return -1;
        snprintf(real, n, "%s", path);
        return 0;
    }
    if (S_ISLNK(lst.st_mode)) {
        char buf[PATH_MAX];
        if (!realpath(path, buf)) {
            if (errno != ENOENT)
                return -1;
            /* a dangling link: write where it points */
            ssize_t len = readlink(path, buf, sizeof buf - 1);
            if (len < 0)
                return -1;
            buf[len] = 0;
            if (buf[0] != '/') {
                char dir[PATH_MAX];
                snprintf(dir, sizeof dir, "%s", path);
                char *slash = strrchr(dir, '/');
                if (slash) {
                    slash[1] = 0;
                    snprintf(real, n, "%s%s", dir, buf);
                    return 0;
                }
            }
        }
        snprintf(real, n, "%s", buf);
    } else {
        snprintf(real, n, "%s", path);
    }
    if (stat(real, st) == 0)
        *exists = 1;
    return 0;
}

/* A new file in the target's directory that nobody else is writing: O_EXCL on a name of our own.
 * Mode 0666 lets the umask decide, as a plain fopen would. */
static int open_temp(const char *real, char *tmp, size_t n)
{
    const char *slash = strrchr(real, '/');
    int dir_len = slash ? (int)(slash - real + 1) : 0;
    const char *base = slash ? slash + 1 : real;
    for (int i = 0; i < 1000; i++) {
        snprintf(tmp, n, "%.*s.%s.%ld.%d.tmp", dir_len, real, base, (long)getpid(), i);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    errno = EEXIST;
    return -1;
}

/* Makes the rename itself durable; a failure here cannot un-write the file, so it is not reported. */
static void sync_dir(const char *real)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", real);
    char *slash = strrchr(dir, '/');
    if (slash)
        slash[slash == dir] = 0; /* "/x" -> "/" */
    int fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

int atomic_file_write(const char *path, atomic_fill_fn fill, void *ctx, char *err, size_t errlen)
{
    char real[PATH_MAX], tmp[PATH_MAX + 64];
    struct stat st;
    int exists;
    if (resolve(path, real, sizeof real, &st, &exists) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (exists && !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file (a %s); give a file name", path,
                 S_ISDIR(st.st_mode) ? "directory" : "device, FIFO or socket");
        return -1;
    }
    int fd = open_temp(real, tmp, sizeof tmp);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (exists)
        (void)fchmod(fd, st.st_mode & 07777); /* best effort: the old report's readers keep reading */
    FILE *out = fdopen(fd, "w");
    if (!out) {
        int e = errno;
        close(fd);
        unlink(tmp);
        snprintf(err, errlen, "%s: %s", path, strerror(e));
        return -1;
    }
    errno = 0;
    int e = 0;
    if (fill(ctx, out) < 0 || fflush(out) != 0 || ferror(out))
        e = errno ? errno : EIO;
    else if (fsync(fd) != 0)
        e = errno;
    if (fclose(out) != 0 && !e)
        e = errno;
    if (!e && rename(tmp, real) != 0)
        e = errno;
    if (e) {
        unlink(tmp);
        snprintf(err, errlen, "%s: %s (nothing written)", path, strerror(e));
        return -1;
    }
    sync_dir(real);
    return 0;
}
