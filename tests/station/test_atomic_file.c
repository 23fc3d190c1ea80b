/* test_atomic_file.c - atomic_file_write: a write that fails part-way (a full disk, the file size
 * limit, a missing directory) returns the reason and leaves the old file as it was and no partial
 * or temporary file beside it; a good write replaces the file whole, keeps its permission bits,
 * and writes through a symlink without replacing the link. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include "atomic_file.h"
#include "check.h"

typedef struct fill_plan {
    size_t bytes;     /* written before the end (or the failure) */
    int fail_errno;   /* 0: succeed; else fail with this errno after writing `bytes` */
} fill_plan;

static int fill(void *ctx, FILE *out)
{
    const fill_plan *p = ctx;
    for (size_t i = 0; i < p->bytes; i++)
        fputc('a' + (int)(i % 26), out);
    if (p->fail_errno) {
        errno = p->fail_errno;
        return -1;
    }
    fflush(out);
    return ferror(out) ? -1 : 0;
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END); /* check_read_file reads up to the position */
    char *s = check_read_file(f);
    fclose(f);
    return s;
}

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* Entries in dir besides . and .. */
static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d)
        closedir(d);
    return n;
}

/* A failed write: -1, err names the path and says `why`, the old text stays, nothing else appears. */
static void fails_cleanly(const char *dir, const char *path, fill_plan plan, const char *why)
{
    char err[512] = "";
    CHECK_EQ_INT(atomic_file_write(path, fill, &plan, err, sizeof err), -1);
    if (!strstr(err, path) || !strstr(err, why))
        fprintf(stderr, "error text: '%s', expected the path and '%s'\n", err, why);
    CHECK(strstr(err, path) != NULL && strstr(err, why) != NULL);
    char *text = read_all(path);
    CHECK(text && strcmp(text, "old report\n") == 0);
    free(text);
    CHECK_EQ_INT(entries(dir), 1);
}

int main(void)
{
    char dir[] = "/tmp/trayflash-atomic-XXXXXX", path[256], link[256], err[512];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/report.html", dir);
    snprintf(link, sizeof link, "%s/latest.html", dir);

    /* a good write replaces the file whole and keeps its mode */
    put(path, "old report\n");
    chmod(path, 0640);
    fill_plan ok = {100000, 0};
    CHECK_EQ_INT(atomic_file_write(path, fill, &ok, err, sizeof err), 0);
    struct stat st;
    CHECK(stat(path, &st) == 0 && st.st_size == 100000 && (st.st_mode & 0777) == 0640);
    CHECK_EQ_INT(entries(dir), 1);

    /* a full disk part-way through */
    put(path, "old report\n");
    fails_cleanly(dir, path, (fill_plan){50000, ENOSPC}, strerror(ENOSPC));

    /* the process's file size limit: the kernel refuses the write itself (EFBIG) */
    struct rlimit old_lim, lim;
    CHECK(getrlimit(RLIMIT_FSIZE, &old_lim) == 0);
    lim = old_lim;
    lim.rlim_cur = 8192;
    signal(SIGXFSZ, SIG_IGN);
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    fails_cleanly(dir, path, (fill_plan){100000, 0}, strerror(EFBIG));
    CHECK(setrlimit(RLIMIT_FSIZE, &old_lim) == 0);

    /* no such directory */
    char missing[300];
    snprintf(missing, sizeof missing, "%s/no-such-dir/report.html", dir);
    CHECK_EQ_INT(atomic_file_write(missing, fill, &ok, err, sizeof err), -1);
    CHECK(strstr(err, missing) && strstr(err, strerror(ENOENT)));
    CHECK_EQ_INT(entries(dir), 1);

    /* through a symlink: the file it names is replaced, the link stays a link */
    CHECK(symlink("report.html", link) == 0);
    fill_plan small = {10, 0};
    CHECK_EQ_INT(atomic_file_write(link, fill, &small, err, sizeof err), 0);
    struct stat lst;
    CHECK(lstat(link, &lst) == 0 && S_ISLNK(lst.st_mode));
    char *text = read_all(path);
    CHECK(text && strcmp(text, "abcdefghij") == 0);
    free(text);
    CHECK_EQ_INT(entries(dir), 2);

    unlink(link);
    unlink(path);
    rmdir(dir);
    return CHECK_DONE();
}
