/* bk_plan.c - erase-unit planning. 64 KiB erases cost about a third of sixteen 4 KiB ones
 * (docs/physics-failures.md), so AUTO uses them wherever a whole aligned block lies inside the
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

static uint32_t crc_of_sectors(const uint8_t *image, size_t len, int first, int n)
{
    uint8_t sector[BK_SECTOR_SIZE];
    uint32_t crc = 0xFFFFFFFFu;
    for (int s = 0; s < n; s++) {
        bk_plan_sector_data(image, len, first + s, sector);
        crc = bk_chip_crc_update(crc, sector, BK_SECTOR_SIZE);
    }
    return crc;
}

bool bk_plan_build_covered(bk_plan *p, const uint8_t *image, size_t len, uint32_t offset,
                           bk_erase_mode mode, const uint8_t *covered)
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
        p->sector_covered[i] = !covered || covered[i];
        p->n_covered += p->sector_covered[i];
        region_crc = bk_chip_crc_update(region_crc, sector, BK_SECTOR_SIZE);
    }
    p->region_crc = region_crc;
    p->covered_len = (uint32_t)p->n_covered * BK_SECTOR_SIZE;
    if (p->n_covered == 0)
        return false;

    /* Each covered run: one span, and erase units inside it (64 KiB where a whole aligned
     * block lies in the run and AUTO allows it, 4 KiB elsewhere). */
    for (int i = 0; i < p->n_sectors;) {
        if (!p->sector_covered[i]) {
            i++;
            continue;
        }
        int j = i;
        while (j < p->n_sectors && p->sector_covered[j])
            j++;
        bk_span *sp = &p->spans[p->n_spans++];
        sp->addr = offset + (uint32_t)i * BK_SECTOR_SIZE;
        sp->len = (uint32_t)(j - i) * BK_SECTOR_SIZE;
        sp->chip_crc = crc_of_sectors(image, len, i, j - i);
        uint32_t addr = sp->addr, end = sp->addr + sp->len;
        while (addr < end) {
            bk_unit *u = &p->units[p->n_units++];
            bool block = mode == BK_ERASE_AUTO && addr % BK_BLOCK_SIZE == 0 && end - addr >= BK_BLOCK_SIZE;
            u->addr = addr;
            u->size = block ? BK_BLOCK_SIZE : BK_SECTOR_SIZE;
            u->erase_code = block ? BK_ERASE_SIZE_64K : BK_ERASE_SIZE_4K;
            u->first_sector = (uint16_t)((addr - offset) / BK_SECTOR_SIZE);
            u->n_sectors = (uint16_t)(u->size / BK_SECTOR_SIZE);
            u->needs_write = true;
            u->chip_crc = crc_of_sectors(image, len, u->first_sector, u->n_sectors);
            addr += u->size;
        }
        i = j;
    }
    return true;
}

bool bk_plan_build(bk_plan *p, const uint8_t *image, size_t len, uint32_t offset, bk_erase_mode mode)
{
    return bk_plan_build_covered(p, image, len, offset, mode, NULL);
}
