/* bk_backup.c - the backup's plan: which ranges a mode keeps (bk_backup.h). Pure. */
#include "bk_backup.h"
#include <string.h>
#include <strings.h>
#include <zlib.h>
#include "bk_proto.h"

static const char *const mode_names[BK_BACKUP_MODE_COUNT] = {
    [BK_BACKUP_NONE] = "none", [BK_BACKUP_DEVICE] = "device", [BK_BACKUP_FULL] = "full",
};

const char *bk_backup_mode_name(bk_backup_mode m)
{
    return (unsigned)m < BK_BACKUP_MODE_COUNT ? mode_names[m] : "?";
}

bool bk_backup_mode_parse(const char *s, bk_backup_mode *out)
{
    for (int i = 0; s && i < BK_BACKUP_MODE_COUNT; i++)
        if (strcasecmp(s, mode_names[i]) == 0) {
            *out = (bk_backup_mode)i;
            return true;
        }
    return false;
}

uint32_t bk_backup_blank_crc32(uint32_t len)
{
    static const uint8_t ff[BK_SECTOR_SIZE] = {[0 ... BK_SECTOR_SIZE - 1] = 0xFF};
    uLong crc = crc32(0L, Z_NULL, 0);
    for (uint32_t done = 0; done < len;) {
        uint32_t n = len - done < BK_SECTOR_SIZE ? len - done : BK_SECTOR_SIZE;
        crc = crc32(crc, ff, n);
        done += n;
    }
    return (uint32_t)crc;
}

/* The lowest address of the family's per-device data: where the shared regions end. */
static uint32_t per_device_start(const bk_family *f)
{
    uint32_t lo = f->flash_size;
    for (int i = 0; i < f->n_per_device; i++)
        if (f->per_device[i].start < lo)
            lo = f->per_device[i].start;
    return lo;
}

static bool add(bk_backup_range *out, int cap, int *n, uint32_t addr, uint32_t len, bool shared)
{
    if (*n >= cap)
        return false;
    out[(*n)++] = (bk_backup_range){.addr = addr, .len = len, .shared = shared};
    return true;
}

int bk_backup_plan(const bk_family *f, bk_backup_mode mode, bk_backup_range *out, int cap)
{
    int n = 0;
    if (!f || mode == BK_BACKUP_NONE)
        return 0;
    /* the per-device sectors: their union in address order (the table's regions overlap) */
    uint32_t lo = per_device_start(f);
    for (uint32_t a = lo; a < f->flash_size; a += BK_SECTOR_SIZE)
        if (bk_per_device_overlap(f, a, BK_SECTOR_SIZE) && !add(out, cap, &n, a, BK_SECTOR_SIZE, false))
            return -1;
    if (mode != BK_BACKUP_FULL)
        return n;
    /* the shared regions (vendor app, OTA) in blocks that never cross a 64 KiB boundary */
    for (uint32_t a = f->protected_end; a < lo;) {
        uint32_t end = (a / BK_BACKUP_BLOCK + 1) * BK_BACKUP_BLOCK;
        if (end > lo)
            end = lo;
        if (!add(out, cap, &n, a, end - a, true))
            return -1;
        a = end;
    }
    return n;
}
