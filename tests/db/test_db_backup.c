/* test_db_backup.c - the backup store's bytes (db/blockstore.c) and index (db/db_backup.c):
 *   blocks     - one file per content, read back checked by sha256, a damaged or missing block
 *                refused with words, temporary leftovers swept, the folder private (0700, ours).
 *   index      - dedupe lookup by (address, length, CRC), a backup's ranges, "kept already",
 *                no range may point at a block without its row.
 *   prune      - old backups go, a MAC's only one stays without force, unreferenced old blocks
 *                are handed back for removal, new ones are left for a running station. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "blockstore.h"
#include "check.h"
#include "db.h"
#include "db_backup.h"

static char dir[64];

static void scratch(void)
{
    snprintf(dir, sizeof dir, "/tmp/tf-backup-XXXXXX");
    REQUIRE(mkdtemp(dir) != NULL);
}

static void cleanup(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

static int count_files(const char *d, const char *suffix_or_null)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "find '%s' -type f %s%s%s | wc -l", d, suffix_or_null ? "-name '" : "",
             suffix_or_null ? suffix_or_null : "", suffix_or_null ? "'" : "");
    FILE *p = popen(cmd, "r");
    int n = -1;
    if (p && fscanf(p, "%d", &n) != 1)
        n = -1;
    if (p)
        pclose(p);
    return n;
}

static int case_blocks(void)
{
    scratch();
    char store[128], err[600], sha[65], sha2[65];
    snprintf(store, sizeof store, "%s/s.blocks", dir);
    blockstore *bs;
    REQUIRE(blockstore_open(store, false, &bs, err, sizeof err) < 0); /* missing, not created */
    CHECK_HAS(err, "s.blocks");
    REQUIRE(blockstore_open(store, true, &bs, err, sizeof err) == 0);
    struct stat st;
    REQUIRE(stat(store, &st) == 0);
    CHECK_EQ_INT(st.st_mode & 0777, 0700);
    static uint8_t a[8192], b[8192];
    memset(a, 0x5A, sizeof a);
    REQUIRE(blockstore_put(bs, a, sizeof a, sha, err, sizeof err) == 0);
    REQUIRE(blockstore_put(bs, a, sizeof a, sha2, err, sizeof err) == 0);
    CHECK_STR(sha, sha2);
    CHECK_EQ_INT(count_files(store, NULL), 1); /* the same bytes: one file */
    char path[256];
    snprintf(path, sizeof path, "%s/%.2s/%s", store, sha, sha);
    REQUIRE(stat(path, &st) == 0);
    CHECK_EQ_INT(st.st_mode & 0777, 0600);
    REQUIRE(blockstore_get(bs, sha, b, sizeof b, err, sizeof err) == 0);
    CHECK(memcmp(a, b, sizeof a) == 0);
    /* one flipped byte: the name no longer matches the bytes */
    int fd = open(path, O_WRONLY);
    REQUIRE(fd >= 0);
    REQUIRE(pwrite(fd, "\x00", 1, 100) == 1);
    close(fd);
    CHECK(blockstore_get(bs, sha, b, sizeof b, err, sizeof err) < 0);
    CHECK_HAS(err, "damaged");
    CHECK(blockstore_get(bs, sha, b, 4096, err, sizeof err) < 0); /* another size */
    REQUIRE(blockstore_remove(bs, sha, err, sizeof err) == 0);
    CHECK(blockstore_get(bs, sha, b, sizeof b, err, sizeof err) < 0);
    CHECK_HAS(err, "No such file");
    /* a killed writer's temporary file is swept, blocks are not */
    REQUIRE(blockstore_put(bs, a, 4096, sha, err, sizeof err) == 0);
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s/%.2s/.tmp-left-over", store, sha);
    FILE *f = fopen(tmp, "w");
    REQUIRE(f != NULL);
    fclose(f);
    CHECK_EQ_INT(blockstore_sweep(bs, err, sizeof err), 1);
    CHECK_EQ_INT(count_files(store, NULL), 1);
    uint64_t bytes = 0, files = 0;
    REQUIRE(blockstore_usage(bs, &bytes, &files, err, sizeof err) == 0);
    CHECK_EQ_INT(bytes, 4096);
    CHECK_EQ_INT(files, 1);
    blockstore_close(bs);
    /* others may read: refused, with the remedy */
    REQUIRE(chmod(store, 0755) == 0);
    CHECK(blockstore_open(store, false, &bs, err, sizeof err) < 0);
    CHECK_HAS(err, "chmod 700");
    cleanup();
    return CHECK_DONE();
}

static db *open_db(const char *name)
{
    char path[128], err[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    db *d;
    if (db_open(path, false, &d, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        exit(2);
    }
    return d;
}

static const char SHA_A[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char SHA_B[] = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

static int64_t add_backup(db *d, const char *mac, double ts, uint32_t dev_crc, const char *mode)
{
    db_backup b = {.ts = ts, .bay = 3};
    snprintf(b.mac, sizeof b.mac, "%s", mac);
    snprintf(b.chip, sizeof b.chip, "BK7231T");
    snprintf(b.mode, sizeof b.mode, "%s", mode);
    db_backup_range r[3] = {
        {.addr = 0x1D8000, .len = 0x1000, .crc32 = dev_crc},
        {.addr = 0x1D9000, .len = 0x1000, .crc32 = 0x1234},
        {.addr = 0x20000, .len = 0x10000, .crc32 = 0x5555, .shared = true},
    };
    snprintf(r[0].sha256, sizeof r[0].sha256, "%s", SHA_A);
    snprintf(r[2].sha256, sizeof r[2].sha256, "%s", SHA_B);
    return db_backup_add(d, &b, r, 3);
}

static int case_index(void)
{
    scratch();
    db *d = open_db("t.db");
    char sha[65];
    CHECK_EQ_INT(db_backup_block_find(d, 0x20000, 0x10000, 0x5555, sha), 0);
    /* a range pointing at a block without its row is refused, and leaves nothing behind */
    CHECK(add_backup(d, "d8:1f:12:00:00:01", 100, 0x77, "full") < 0);
    CHECK_EQ_INT(db_backup_block_add(d, SHA_A, 0x1000, 0x1D8000, 0x77, 90), 0);
    CHECK_EQ_INT(db_backup_block_add(d, SHA_B, 0x10000, 0x20000, 0x5555, 90), 0);
    CHECK_EQ_INT(db_backup_block_add(d, SHA_B, 0x10000, 0x20000, 0x5555, 95), 0); /* again: one row */
    CHECK_EQ_INT(db_backup_block_find(d, 0x20000, 0x10000, 0x5555, sha), 1);
    CHECK_STR(sha, SHA_B);
    CHECK_EQ_INT(db_backup_block_find(d, 0x20000, 0x10000, 0x5556, sha), 0); /* another CRC */
    CHECK_EQ_INT(db_backup_block_find(d, 0x30000, 0x10000, 0x5555, sha), 0); /* another address */
    int64_t id = add_backup(d, "d8:1f:12:00:00:01", 100, 0x77, "device");
    REQUIRE(id > 0);
    db_backup_range dev[2] = {{.addr = 0x1D8000, .len = 0x1000, .crc32 = 0x77},
                              {.addr = 0x1D9000, .len = 0x1000, .crc32 = 0x1234}};
    CHECK_EQ_INT(db_backup_matches(d, "d8:1f:12:00:00:01", "device", dev, 2), 1);
    CHECK_EQ_INT(db_backup_matches(d, "d8:1f:12:00:00:01", "full", dev, 2), 0); /* not a full one */
    CHECK_EQ_INT(db_backup_matches(d, "d8:1f:12:00:00:02", "device", dev, 2), 0);
    dev[0].crc32 = 0x78;
    CHECK_EQ_INT(db_backup_matches(d, "d8:1f:12:00:00:01", "device", dev, 2), 0);
    CHECK_EQ_INT(db_backup_matches(d, "d8:1f:12:00:00:01", "device", dev, 1), 0);
    db_backup b;
    CHECK_EQ_INT(db_backup_get(d, "d8:1f:12:00:00:01", 0, &b), 1);
    CHECK_EQ_INT(b.id, id);
    CHECK_EQ_INT(b.n_ranges, 3);
    CHECK_EQ_INT(b.n_blank, 1);
    CHECK_EQ_INT(b.bytes, 0x11000);
    CHECK_EQ_INT(db_backup_get(d, "d8:1f:12:00:00:02", id, &b), 0); /* that id is another MAC's */
    db_backup_range *r;
    int n;
    REQUIRE(db_backup_ranges(d, id, &r, &n) == 0);
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_INT(r[0].addr, 0x20000); /* address order */
    CHECK(r[0].shared);
    CHECK_STR(r[2].sha256, "");      /* the blank one */
    free(r);
    db_backup_totals t;
    REQUIRE(db_backup_totals_get(d, &t) == 0);
    CHECK_EQ_INT(t.covered, 0x11000);
    CHECK_EQ_INT(t.stored, 0x11000);
    CHECK_EQ_INT(t.macs, 1);
    db_close(d);
    cleanup();
    return CHECK_DONE();
}

static int removed_count;
static int on_removed(void *ctx, const char *sha, uint32_t size)
{
    (void)ctx;
    (void)size;
    removed_count += !strcmp(sha, SHA_A) ? 1 : 100;
    return 0;
}

static int case_prune(void)
{
    scratch();
    db *d = open_db("t.db");
    REQUIRE(db_backup_block_add(d, SHA_A, 0x1000, 0x1D8000, 0x77, 90) == 0);
    REQUIRE(db_backup_block_add(d, SHA_B, 0x10000, 0x20000, 0x5555, 90) == 0);
    REQUIRE(add_backup(d, "d8:1f:12:00:00:01", 100, 0x77, "full") > 0);
    REQUIRE(add_backup(d, "d8:1f:12:00:00:01", 200, 0x77, "full") > 0);
    REQUIRE(add_backup(d, "d8:1f:12:00:00:02", 150, 0x77, "full") > 0);
    REQUIRE(add_backup(d, "d8:1f:12:00:00:03", 110, 0x77, "full") > 0);
    REQUIRE(add_backup(d, "d8:1f:12:00:00:03", 120, 0x77, "full") > 0);
    int kept = 0;
    /* cut at 180: MAC 1's first goes (a newer one stays), MAC 2's only one is kept, MAC 3 keeps
       the newer of its two old ones */
    CHECK_EQ_INT(db_backup_prune(d, 180, false, on_removed, NULL, &kept), 2);
    CHECK_EQ_INT(kept, 2);
    CHECK_EQ_INT(removed_count, 0); /* the blocks are still pointed at */
    /* cut at 300 without force: each MAC keeps its newest */
    CHECK_EQ_INT(db_backup_prune(d, 300, false, on_removed, NULL, &kept), 0);
    CHECK_EQ_INT(kept, 3);
    /* a block nobody points at but written after the cut stays (a station may be about to use it) */
    REQUIRE(db_backup_block_add(d, "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc",
                                0x1000, 0x1D9000, 9, 400) == 0);
    CHECK_EQ_INT(db_backup_prune(d, 300, true, on_removed, NULL, &kept), 3);
    CHECK_EQ_INT(removed_count, 101); /* A and B, after the commit; not C */
    db_backup_totals t;
    REQUIRE(db_backup_totals_get(d, &t) == 0);
    CHECK_EQ_INT(t.backups, 0);
    CHECK_EQ_INT(t.blocks, 1);
    db_close(d);
    cleanup();
    return CHECK_DONE();
}

static const check_case cases[] = {
    {"blocks", case_blocks},
    {"index", case_index},
    {"prune", case_prune},
};

int main(int argc, char **argv)
{
    return CHECK_RUN(argc, argv, cases);
}
