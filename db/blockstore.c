/* blockstore.c - content-addressed backup blocks in a private folder (blockstore.h). */
#include "blockstore.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "bk_image.h" /* bk_sha256_hex: the one sha256 (nettle) */

#define TMP_PREFIX ".tmp-"

struct blockstore {
    char dir[4096];
};

void blockstore_dir_for_db(const char *db_path, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s.blocks", db_path);
}

const char *blockstore_path(const blockstore *bs)
{
    return bs->dir;
}

static int errno_fail(char *err, size_t errlen, const char *path, const char *what)
{
    snprintf(err, errlen, "%s: %s: %s", path, what, strerror(errno));
    return -1;
}

/* The folder must be ours alone: a customer's Wi-Fi password may sit in a block. */
static int check_private(const char *dir, char *err, size_t errlen)
{
    struct stat st;
    if (stat(dir, &st) != 0)
        return errno_fail(err, errlen, dir, "backup store");
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: backup store is not a folder", dir);
        return -1;
    }
    if (st.st_uid != geteuid()) {
        snprintf(err, errlen, "%s: backup store is owned by uid %u, not this user (uid %u): it "
                 "must be the station user's alone", dir, (unsigned)st.st_uid, (unsigned)geteuid());
        return -1;
    }
    if (st.st_mode & 077) {
        snprintf(err, errlen, "%s: backup store has mode %04o: others may read the modules' data "
                 "(Wi-Fi credentials); chmod 700 it", dir, (unsigned)(st.st_mode & 07777));
        return -1;
    }
    return 0;
}

int blockstore_open(const char *dir, bool create, blockstore **out, char *err, size_t errlen)
{
    *out = NULL;
    if (strlen(dir) >= sizeof((blockstore *)0)->dir - 80) {
        snprintf(err, errlen, "%s: backup store path too long", dir);
        return -1;
    }
    if (create && mkdir(dir, 0700) != 0 && errno != EEXIST)
        return errno_fail(err, errlen, dir, "creating the backup store");
    if (check_private(dir, err, errlen) < 0)
        return -1;
    blockstore *bs = calloc(1, sizeof *bs);
    if (!bs) {
        snprintf(err, errlen, "%s: out of memory", dir);
        return -1;
    }
    snprintf(bs->dir, sizeof bs->dir, "%s", dir);
    *out = bs;
    return 0;
}

void blockstore_close(blockstore *bs)
{
    free(bs);
}

static bool valid_sha(const char *sha)
{
    if (!sha || strlen(sha) != 64)
        return false;
    for (int i = 0; i < 64; i++)
        if (!((sha[i] >= '0' && sha[i] <= '9') || (sha[i] >= 'a' && sha[i] <= 'f')))
            return false;
    return true;
}

static void block_path(const blockstore *bs, const char *sha, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/%.2s/%s", bs->dir, sha, sha);
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* DIR/ab: created 0700 on first use (and DIR fsync'd so the new folder's name is durable). */
static int ensure_subdir(blockstore *bs, const char *sha, char *sub, size_t sublen, char *err,
                         size_t errlen)
{
    snprintf(sub, sublen, "%s/%.2s", bs->dir, sha);
    if (mkdir(sub, 0700) == 0) {
        if (fsync_dir(bs->dir) != 0)
            return errno_fail(err, errlen, bs->dir, "syncing the backup store");
    } else if (errno != EEXIST) {
        return errno_fail(err, errlen, sub, "creating a block folder");
    }
    return 0;
}

int blockstore_put(blockstore *bs, const uint8_t *data, size_t len, char sha_hex[65], char *err,
                   size_t errlen)
{
    bk_sha256_hex(data, len, sha_hex);
    char sub[4200], final[4300], tmp[4300];
    block_path(bs, sha_hex, final, sizeof final);
    struct stat st;
    if (stat(final, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size == len)
        return 0; /* content-addressed: these bytes are kept already */
    if (ensure_subdir(bs, sha_hex, sub, sizeof sub, err, errlen) < 0)
        return -1;
    snprintf(tmp, sizeof tmp, "%s/" TMP_PREFIX "%.16s-XXXXXX", sub, sha_hex);
    int fd = mkstemp(tmp); /* 0600 */
    if (fd < 0)
        return errno_fail(err, errlen, sub, "creating a block");
    if (write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        errno = e;
        return errno_fail(err, errlen, tmp, "writing a block");
    }
    if (close(fd) != 0 || rename(tmp, final) != 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
        return errno_fail(err, errlen, final, "placing a block");
    }
    if (fsync_dir(sub) != 0)
        return errno_fail(err, errlen, sub, "syncing a block folder");
    return 0;
}

int blockstore_get(blockstore *bs, const char *sha_hex, uint8_t *buf, size_t len, char *err,
                   size_t errlen)
{
    if (!valid_sha(sha_hex)) {
        snprintf(err, errlen, "%s: '%.70s' is no block name", bs->dir, sha_hex ? sha_hex : "");
        return -1;
    }
    char path[4300];
    block_path(bs, sha_hex, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno_fail(err, errlen, path, "block");
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size != len) {
        close(fd);
        snprintf(err, errlen, "%s: block is %lld bytes, the index says %zu", path,
                 (long long)st.st_size, len);
        return -1;
    }
    size_t got = 0;
    while (got < len) {
        ssize_t r = read(fd, buf + got, len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (got != len) {
        snprintf(err, errlen, "%s: block could not be read whole", path);
        return -1;
    }
    char hex[65];
    bk_sha256_hex(buf, len, hex);
    if (strcmp(hex, sha_hex) != 0) {
        snprintf(err, errlen, "%s: block's bytes hash to %.16s..., not its name: damaged", path, hex);
        return -1;
    }
    return 0;
}

int blockstore_remove(blockstore *bs, const char *sha_hex, char *err, size_t errlen)
{
    if (!valid_sha(sha_hex)) {
        snprintf(err, errlen, "%s: '%.70s' is no block name", bs->dir, sha_hex ? sha_hex : "");
        return -1;
    }
    char path[4300];
    block_path(bs, sha_hex, path, sizeof path);
    if (unlink(path) != 0 && errno != ENOENT)
        return errno_fail(err, errlen, path, "removing a block");
    return 0;
}

/* Calls fn on every regular file one folder down (DIR/ab/name); stops at the first -1. */
typedef int (*file_fn)(void *ctx, const char *sub, const char *name, const struct stat *st);

static int walk(blockstore *bs, file_fn fn, void *ctx, char *err, size_t errlen)
{
    DIR *top = opendir(bs->dir);
    if (!top)
        return errno_fail(err, errlen, bs->dir, "reading the backup store");
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(top))) {
        if (strlen(de->d_name) != 2 || de->d_name[0] == '.')
            continue;
        char sub[4400];
        snprintf(sub, sizeof sub, "%s/%s", bs->dir, de->d_name);
        DIR *d = opendir(sub);
        if (!d)
            continue;
        struct dirent *fe;
        while (rc == 0 && (fe = readdir(d))) {
            char path[4700];
            struct stat st;
            snprintf(path, sizeof path, "%s/%s", sub, fe->d_name);
            if (fe->d_name[0] == '.' && (!fe->d_name[1] || !strcmp(fe->d_name, "..")))
                continue;
            if (lstat(path, &st) == 0 && S_ISREG(st.st_mode))
                rc = fn(ctx, sub, fe->d_name, &st);
        }
        closedir(d);
    }
    closedir(top);
    return rc;
}

typedef struct usage_ctx { uint64_t bytes, files; } usage_ctx;

static int add_usage(void *ctx, const char *sub, const char *name, const struct stat *st)
{
    (void)sub;
    usage_ctx *u = ctx;
    if (valid_sha(name)) {
        u->bytes += (uint64_t)st->st_size;
        u->files++;
    }
    return 0;
}

int blockstore_usage(blockstore *bs, uint64_t *bytes, uint64_t *files, char *err, size_t errlen)
{
    usage_ctx u = {0, 0};
    if (walk(bs, add_usage, &u, err, errlen) < 0)
        return -1;
    *bytes = u.bytes;
    *files = u.files;
    return 0;
}

typedef struct sweep_ctx { int removed; } sweep_ctx;

static int sweep_one(void *ctx, const char *sub, const char *name, const struct stat *st)
{
    (void)st;
    sweep_ctx *s = ctx;
    if (strncmp(name, TMP_PREFIX, strlen(TMP_PREFIX)) != 0)
        return 0;
    char path[4700];
    snprintf(path, sizeof path, "%s/%s", sub, name);
    if (unlink(path) == 0)
        s->removed++;
    return 0;
}

int blockstore_sweep(blockstore *bs, char *err, size_t errlen)
{
    sweep_ctx s = {0};
    if (walk(bs, sweep_one, &s, err, errlen) < 0)
        return -1;
    return s.removed;
}

typedef struct copy_ctx {
    blockstore *src, *dest;
    char *err;
    size_t errlen;
} copy_ctx;

/* The source is checked as it is read: a damaged block is not copied as if it were good. */
static int copy_one(void *ctx, const char *sub, const char *name, const struct stat *st)
{
    (void)sub;
    copy_ctx *c = ctx;
    if (!valid_sha(name))
        return 0;
    size_t len = (size_t)st->st_size;
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) {
        snprintf(c->err, c->errlen, "out of memory copying a block");
        return -1;
    }
    char sha[65];
    int rc = blockstore_get(c->src, name, buf, len, c->err, c->errlen);
    if (rc == 0)
        rc = blockstore_put(c->dest, buf, len, sha, c->err, c->errlen);
    free(buf);
    return rc;
}

int blockstore_copy_to(blockstore *bs, const char *dest_dir, char *err, size_t errlen)
{
    blockstore *dest;
    if (blockstore_open(dest_dir, true, &dest, err, errlen) < 0)
        return -1;
    copy_ctx c = {bs, dest, err, errlen};
    int rc = walk(bs, copy_one, &c, err, errlen);
    blockstore_close(dest);
    return rc;
}
