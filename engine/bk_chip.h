/* bk_chip.h - chip families: what differs between the BK7231T Tuya bootloader and the
 * BK7231N BootROM is data in one table (command set, CRC end, protected range, UF2 family)
 * plus a few functions, not `if (chip == N)` through the code. */
#pragma once
#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum bk_chip {
    BK_CHIP_UNKNOWN = 0,
    BK_CHIP_BK7231T,
    BK_CHIP_BK7231N,
    BK_CHIP_COUNT
} bk_chip;

/* A flash range holding data that belongs to one module and exists nowhere else. */
typedef struct bk_region {
    const char *name;      /* "RF calibration (MAC, radio calibration)" */
    uint32_t start, len;
} bk_region;

typedef struct bk_family {
    bk_chip chip;
    const char *name;          /* "BK7231T" */
    const char *id;            /* "bk7231t" (profiles, database) */
    const char *loader;        /* "Tuya bootloader" / "BootROM" */
    uint32_t chip_id;          /* ReadReg 0x800000 value (0 = the loader has no ReadReg) */
    uint32_t uf2_family;       /* LibreTiny UF2 family id */
    uint32_t flash_size;       /* bytes (2 MiB on WB2S / CB2S) */
    uint32_t protected_end;    /* writes below this need the profile's explicit permission */
    bool crc_end_inclusive;    /* CheckCRC end: N inclusive, T exclusive */
    bool has_read_reg;         /* ReadReg / WriteReg (BootROM only) */
    bool has_flash_sr;         /* FlashReadSR / WriteSR / GetMID (BootROM only) */
    bool reprotects_after_crc; /* T quirk: a CheckCRC re-protects until the next LinkCheck */
    uint32_t rf_cal_addr;      /* RF calibration sector: holds the MAC TLV (reference §7.1) */
    const bk_region *per_device; /* the module's own data: never touched by an app write or */
    int n_per_device;            /* erase; only per-device features write there, by this table */
} bk_family;

/* The first per-device range of `f` that [start, start+len) touches, or NULL. The ONE table
 * every check uses: profile check, the image loader and the job before any erase. */
const bk_region *bk_per_device_overlap(const bk_family *f, uint32_t start, uint64_t len);

const bk_family *bk_family_get(bk_chip chip);          /* NULL for UNKNOWN */
const bk_family *bk_family_by_id(const char *id);      /* "bk7231t", case-insensitive; NULL if none */
const bk_family *bk_family_by_chip_id(uint32_t chip_id);
const char *bk_chip_name(bk_chip chip);                /* "BK7231T", "unknown" */

/* Known flash bootloaders by the CRC of their first bytes (zlib crc32 as the host computes
 * it), asked as CheckCRC(0, 0x100): 256 bytes where the loader's end is exclusive (the Tuya T
 * loaders, Beken's Q/U/7252 ones), 257 where it is inclusive (N, BK7238). Loaders of chips
 * this station does not flash are listed too (chip UNKNOWN): a module carrying one is named,
 * not guessed at. Reference §4. */
typedef struct bk_boot_print {
    uint32_t crc32;
    uint32_t nbytes;
    bk_chip chip;             /* BK_CHIP_UNKNOWN: a chip outside the family table */
    const char *chip_name;    /* "BK7231T", "BK7231Q", ... */
    const char *name;         /* "Tuya BK7231S 1.0.5" */
} bk_boot_print;
const bk_boot_print *bk_boot_print_find(uint32_t crc32, uint32_t nbytes);

/* The MAC in the first bytes of an RF calibration sector: the TLV tag 02 11 11 11 06 00 00 00
 * at +0x1C, the six MAC bytes at +0x24 (reference §7.1). False (mac untouched) when the tag
 * is absent or `len` too short: the module has no MAC there, and none is invented. */
#define BK_RF_MAC_TLV_OFF 0x1Cu
#define BK_RF_MAC_OFF 0x24u
bool bk_mac_from_rf_cal(const uint8_t *rf, size_t len, uint8_t mac[6]);
/* "d8:1f:12:0a:3c:7e" (lower case); the one MAC formatter. */
void bk_mac_format(const uint8_t mac[6], char *out, size_t outlen);

/* SPI NOR parts found on these modules: the status register's size decides how protection
 * is lifted (BK7231N). */
typedef struct bk_flash_part {
    uint8_t id[3];
    const char *name;
    int sr_bytes; /* 1 or 2 */
} bk_flash_part;
const bk_flash_part *bk_flash_part_find(const uint8_t id[3]);
/* Block-protect bits (BP0..BP4 in SR1, CMP in SR2) cleared to unprotect. */
#define BK_SR_PROTECT_MASK 0x407Cu
