/* bk_plan.c - erase-unit planning. 64 KiB erases cost about a third of sixteen 4 KiB ones
 * (physics-failures.md), so AUTO uses them wherever a whole aligned block lies inside the
 * region; the edges use sectors. */
#include "bk_plan.h"
#include <string.h>

void bk_plan_sector_data(const uint8_t *image, size_t len, int i, uint8_t out[BK_SECTOR_SIZE])
{
    size_t off = (size_t)i * BK_SECTOR_SIZE;
    size_t n = off < len ? len - off : 0;
    if (n > BK_SECTOR_SIZE)
        n = BK_SECTOR_SIZE;
    if (n)
        memcpy(out, image + off, n);
    memset(out + n, 0xFF, BK_SECTOR_SIZE - n);
}

static bool all_ff(const uint8_t *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (d[i] != 0xFF)
            return false;
    return true;
}

bool bk_plan_build(bk_plan *p, const uint8_t *image, size_t len, uint32_t offset, bk_erase_mode mode)
{
    memset(p, 0, sizeof *p);
    if (len == 0 || offset % BK_SECTOR_SIZE)
        return false;
    size_t n_sectors = (len + BK_SECTOR_SIZE - 1) / BK_SECTOR_SIZE;
    if (n_sectors > BK_PLAN_MAX_UNITS)
        return false;
    p->start = offset;
    p->len = (uint32_t)(n_sectors * BK_SECTOR_SIZE);
    p->n_sectors = (int)n_sectors;

    uint8_t sector[BK_SECTOR_SIZE];
    uint32_t region_crc = 0xFFFFFFFFu;
    for (int i = 0; i < p->n_sectors; i++) {
        bk_plan_sector_data(image, len, i, sector);
        p->sector_crc[i] = bk_chip_crc(sector, BK_SECTOR_SIZE);
        p->sector_blank[i] = all_ff(sector, BK_SECTOR_SIZE);
        region_crc = bk_chip_crc_update(region_crc, sector, BK_SECTOR_SIZE);
    }
    p->region_crc = region_crc;

    uint32_t addr = offset, end = offset + p->len;
    while (addr < end) {
        bk_unit *u = &p->units[p->n_units++];
        bool block = mode == BK_ERASE_AUTO && addr % BK_BLOCK_SIZE == 0 && end - addr >= BK_BLOCK_SIZE;
        u->addr = addr;
        u->size = block ? BK_BLOCK_SIZE : BK_SECTOR_SIZE;
        u->erase_code = block ? BK_ERASE_SIZE_64K : BK_ERASE_SIZE_4K;
        u->first_sector = (uint16_t)((addr - offset) / BK_SECTOR_SIZE);
        u->n_sectors = (uint16_t)(u->size / BK_SECTOR_SIZE);
        u->needs_write = true;
        uint32_t crc = 0xFFFFFFFFu;
        for (int s = 0; s < u->n_sectors; s++) {
            bk_plan_sector_data(image, len, u->first_sector + s, sector);
            crc = bk_chip_crc_update(crc, sector, BK_SECTOR_SIZE);
        }
        u->chip_crc = crc;
        addr += u->size;
    }
    return true;
}
