/* bk_plan.h - which flash units a job erases and writes, decided before the first erase.
 * Pure: no I/O, unit-tested on its own. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "bk_job.h"
#include "bk_proto.h"

#define BK_PLAN_MAX_UNITS 512

/* One erase unit (a 4 KiB sector or a 64 KiB block) and the image sectors inside it. */
typedef struct bk_unit {
    uint32_t addr;
    uint32_t size;       /* BK_SECTOR_SIZE or BK_BLOCK_SIZE */
    uint8_t erase_code;  /* BK_ERASE_SIZE_4K / BK_ERASE_SIZE_64K */
    uint16_t first_sector, n_sectors; /* indexes into the region's sectors */
    uint32_t chip_crc;   /* expected CheckCRC of the unit */
    bool needs_write;    /* false once the module is known to hold it already */
} bk_unit;

/* A run of sectors the image covers, checked by one CheckCRC. */
typedef struct bk_span {
    uint32_t addr, len;
    uint32_t chip_crc;
} bk_span;

typedef struct bk_plan {
    uint32_t start, len;          /* region: image offset, image length rounded up to 4 KiB */
    uint32_t region_crc;          /* the CheckCRC the region would give holding the image as
                                     placed (0xFF in a UF2's gaps) */
    uint32_t covered_len;         /* bytes in the covered sectors: what is erased and written */
    int n_units;
    int n_sectors;
    int n_covered;                /* sectors covered (all of them for a raw image) */
    int n_spans;
    bk_span spans[BK_PLAN_MAX_UNITS];  /* the covered runs; one for a raw image */
    bk_unit units[BK_PLAN_MAX_UNITS];
    uint32_t sector_crc[BK_PLAN_MAX_UNITS];
    bool sector_blank[BK_PLAN_MAX_UNITS]; /* all 0xFF in the image: nothing to write after erase */
    bool sector_covered[BK_PLAN_MAX_UNITS]; /* false: a UF2 gap, neither erased nor written */
} bk_plan;

/* Builds the plan for `len` image bytes at `offset` (4 KiB aligned). Returns false if the region
 * is empty, unaligned or larger than BK_PLAN_MAX_UNITS sectors. */
bool bk_plan_build(bk_plan *p, const uint8_t *image, size_t len, uint32_t offset, bk_erase_mode mode);
/* The same where only the sectors with covered[i] != 0 are erased, written and checked
 * (covered NULL: all). Units and spans never reach into an uncovered sector. */
bool bk_plan_build_covered(bk_plan *p, const uint8_t *image, size_t len, uint32_t offset,
                           bk_erase_mode mode, const uint8_t *covered);
/* The image bytes of region sector `i`, padded with 0xFF past the image's end, into out. */
void bk_plan_sector_data(const uint8_t *image, size_t len, int i, uint8_t out[BK_SECTOR_SIZE]);
