/* test_backup_plan.c - the backup's plan (engine/bk_backup.c) from the family table: which
 * ranges `device` and `full` keep, each once, none across a 64 KiB boundary, none below the
 * bootloader's end; the blank CRC; the mode names. Milliseconds. */
#include <string.h>
#include <zlib.h>
#include "bk_backup.h"
#include "bk_proto.h"
#include "check.h"

/* Every per-device sector of f is in the plan once; nothing else is among the device ranges. */
static void check_device_part(const bk_family *f, const bk_backup_range *r, int n)
{
    int dev = 0;
    for (int i = 0; i < n; i++) {
        if (r[i].shared)
            continue;
        dev++;
        CHECK_EQ_INT(r[i].len, BK_SECTOR_SIZE);
        CHECK(bk_per_device_overlap(f, r[i].addr, r[i].len) != NULL);
        if (i > 0 && !r[i - 1].shared)
            CHECK(r[i].addr > r[i - 1].addr); /* address order, no sector twice */
    }
    int want = 0;
    for (uint32_t a = 0; a < f->flash_size; a += BK_SECTOR_SIZE)
        want += bk_per_device_overlap(f, a, BK_SECTOR_SIZE) != NULL;
    CHECK_EQ_INT(dev, want);
}

static int case_device(void)
{
    bk_backup_range r[BK_BACKUP_MAX_RANGES];
    for (int c = BK_CHIP_BK7231T; c <= BK_CHIP_BK7231N; c++) {
        const bk_family *f = bk_family_get((bk_chip)c);
        int n = bk_backup_plan(f, BK_BACKUP_DEVICE, r, BK_BACKUP_MAX_RANGES);
        REQUIRE(n > 0);
        check_device_part(f, r, n);
        for (int i = 0; i < n; i++)
            CHECK(!r[i].shared);
    }
    /* T: 0x1D8000..0x200000 but the sector at 0x1E2000, which no table row names */
    int n = bk_backup_plan(bk_family_get(BK_CHIP_BK7231T), BK_BACKUP_DEVICE, r, BK_BACKUP_MAX_RANGES);
    CHECK_EQ_INT(n, (0x200000 - 0x1D8000) / 0x1000 - 1);
    for (int i = 0; i < n; i++)
        CHECK(r[i].addr != 0x1E2000);
    CHECK_EQ_INT(r[0].addr, 0x1D8000);
    CHECK_EQ_INT(bk_backup_plan(bk_family_get(BK_CHIP_BK7231T), BK_BACKUP_NONE, r, 8), 0);
    CHECK_EQ_INT(bk_backup_plan(bk_family_get(BK_CHIP_BK7231T), BK_BACKUP_DEVICE, r, 8), -1);
    return CHECK_DONE();
}

static int case_full(void)
{
    bk_backup_range r[BK_BACKUP_MAX_RANGES];
    for (int c = BK_CHIP_BK7231T; c <= BK_CHIP_BK7231N; c++) {
        const bk_family *f = bk_family_get((bk_chip)c);
        int n = bk_backup_plan(f, BK_BACKUP_FULL, r, BK_BACKUP_MAX_RANGES);
        REQUIRE(n > 0);
        check_device_part(f, r, n);
        uint32_t next = f->protected_end, dev_lo = f->flash_size;
        for (int i = 0; i < n; i++)
            if (!r[i].shared && r[i].addr < dev_lo)
                dev_lo = r[i].addr;
        for (int i = 0; i < n; i++) {
            if (!r[i].shared)
                continue;
            CHECK_EQ_INT(r[i].addr, next); /* contiguous from the bootloader's end */
            CHECK(r[i].len > 0 && r[i].len <= BK_BACKUP_BLOCK);
            CHECK_EQ_INT(r[i].addr / BK_BACKUP_BLOCK, (r[i].addr + r[i].len - 1) / BK_BACKUP_BLOCK);
            next = r[i].addr + r[i].len;
        }
        CHECK_EQ_INT(next, dev_lo); /* up to the first per-device range, not into it */
    }
    return CHECK_DONE();
}

static int case_blank_and_names(void)
{
    static uint8_t ff[3 * BK_SECTOR_SIZE];
    memset(ff, 0xFF, sizeof ff);
    CHECK_EQ_U(bk_backup_blank_crc32(sizeof ff), (uint32_t)crc32(0L, ff, sizeof ff));
    CHECK_EQ_U(bk_backup_blank_crc32(BK_SECTOR_SIZE), ~bk_chip_crc(ff, BK_SECTOR_SIZE));
    bk_backup_mode m = BK_BACKUP_NONE;
    CHECK(bk_backup_mode_parse("Full", &m) && m == BK_BACKUP_FULL);
    CHECK(bk_backup_mode_parse("device", &m) && m == BK_BACKUP_DEVICE);
    CHECK(!bk_backup_mode_parse("all", &m));
    CHECK_STR(bk_backup_mode_name(BK_BACKUP_DEVICE), "device");
    return CHECK_DONE();
}

static const check_case cases[] = {
    {"device", case_device},
    {"full", case_full},
    {"blank_and_names", case_blank_and_names},
};

int main(int argc, char **argv)
{
    return CHECK_RUN(argc, argv, cases);
}
