/* bk_chip.c - the family table, the bootloader fingerprints, the flash parts and the MAC's
 * place: facts from docs/bk7231-reference.md (§3.5, §4, §6.1, §7.1) as data. */
#include "bk_chip.h"
#include <stddef.h>
#include <string.h>
#include <stdio.h>
#include <strings.h>

/* Per-device data (reference §7.1, docs/per-device-data.md): the RF calibration (the MAC
 * and the radio's calibration), the key-value storage, the OpenBeken config sector, LibreTiny's
 * user-data area and Tuya's data (the licence). T and N place them differently. */
static const bk_region per_device_t[] = {
    {"key-value storage", 0x1D8000, 0x8000},
    {"RF calibration (MAC, radio calibration)", 0x1E0000, 0x1000},
    {"OpenBeken config", 0x1E1000, 0x1000},
    {"user data (LibreTiny)", 0x1E3000, 0x1D000},
    {"Tuya data (licence)", 0x1ED000, 0x13000},
};
static const bk_region per_device_n[] = {
    {"RF calibration (MAC, radio calibration)", 0x1D0000, 0x1000},
    {"OpenBeken config", 0x1D1000, 0x1000},
    {"key-value storage", 0x1D3000, 0x8000},
    {"user data (LibreTiny)", 0x1DB000, 0x25000},
    {"Tuya data (licence)", 0x1ED000, 0x13000},
};
#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const bk_family families[] = {
    {
        .chip = BK_CHIP_BK7231T, .name = "BK7231T", .id = "bk7231t", .loader = "Tuya bootloader",
        .chip_id = 0x7231A, .uf2_family = 0x675A40B0, .flash_size = 2u << 20,
        .protected_end = 0x11000, .crc_end_inclusive = false, .has_read_reg = false,
        .has_flash_sr = false, .reprotects_after_crc = true, .rf_cal_addr = 0x1E0000,
        .per_device = per_device_t, .n_per_device = N_OF(per_device_t),
    },
    {
        .chip = BK_CHIP_BK7231N, .name = "BK7231N", .id = "bk7231n", .loader = "BootROM",
        .chip_id = 0x7231C, .uf2_family = 0x7B3EF230, .flash_size = 2u << 20,
        .protected_end = 0x11000, .crc_end_inclusive = true, .has_read_reg = true,
        .has_flash_sr = true, .reprotects_after_crc = false, .rf_cal_addr = 0x1D0000,
        .per_device = per_device_n, .n_per_device = N_OF(per_device_n),
    },
};

const bk_family *bk_family_get(bk_chip chip)
{
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
        if (families[i].chip == chip)
            return &families[i];
    return NULL;
}

const bk_family *bk_family_by_id(const char *id)
{
    for (size_t i = 0; id && i < sizeof families / sizeof families[0]; i++)
        if (strcasecmp(families[i].id, id) == 0)
            return &families[i];
    return NULL;
}

const bk_family *bk_family_by_chip_id(uint32_t chip_id)
{
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
        if (families[i].chip_id == chip_id)
            return &families[i];
    return NULL;
}

const char *bk_chip_name(bk_chip chip)
{
    const bk_family *f = bk_family_get(chip);
    return f ? f->name : "unknown";
}

static const bk_boot_print boot_prints[] = {
    {0xC1ECA871u, 256, BK_CHIP_BK7231T, "BK7231T", "Tuya BK7231S 1.0.1"},
    {0x4B31E44Du, 256, BK_CHIP_BK7231T, "BK7231T", "Tuya BK7231S 1.0.3"},
    {0xBA54C1B8u, 256, BK_CHIP_BK7231T, "BK7231T", "Tuya BK7231S 1.0.5"},
    {0xE5CBC953u, 256, BK_CHIP_BK7231T, "BK7231T", "Tuya BK7231S 1.0.6"},
    {0xE14191BAu, 257, BK_CHIP_BK7231N, "BK7231N", "bl_bk7231n 1.0.1"},
    {0xF0231EF6u, 256, BK_CHIP_UNKNOWN, "BK7231Q", "Beken BK7231Q loader"},
    {0xFF5A3EACu, 256, BK_CHIP_UNKNOWN, "BK7231Q", "Beken BK7231Q loader"},
    {0x2739019Fu, 256, BK_CHIP_UNKNOWN, "BK7231U", "Beken BK7231U 1.0.6"},
    {0x39F9B50Cu, 256, BK_CHIP_UNKNOWN, "BK7252", "Beken BK7252 0.1.3"},
    {0xE3A27C26u, 256, BK_CHIP_UNKNOWN, "BK7252", "Beken BK7252 (SDK 2019)"},
    {0x6BEB0924u, 257, BK_CHIP_UNKNOWN, "BK7238", "Beken BK7238 1.0.14"},
    {0xF42F8C32u, 257, BK_CHIP_UNKNOWN, "BK7238", "Tuya T1 2.0.0 (BK7238)"},
};

const bk_boot_print *bk_boot_print_find(uint32_t crc32, uint32_t nbytes)
{
    for (size_t i = 0; i < sizeof boot_prints / sizeof boot_prints[0]; i++)
        if (boot_prints[i].crc32 == crc32 && boot_prints[i].nbytes == nbytes)
            return &boot_prints[i];
    return NULL;
}

static const bk_flash_part flash_parts[] = {
    {{0xC8, 0x40, 0x15}, "GD25Q16", 2},
    {{0x1C, 0x70, 0x15}, "EN25QH16", 1},
    {{0x0B, 0x40, 0x15}, "XT25F16", 2},
    {{0x85, 0x60, 0x15}, "P25Q16", 2},
    {{0xEF, 0x40, 0x15}, "W25Q16", 2},
};

const bk_flash_part *bk_flash_part_find(const uint8_t id[3])
{
    for (size_t i = 0; i < sizeof flash_parts / sizeof flash_parts[0]; i++)
        if (flash_parts[i].id[0] == id[0] && flash_parts[i].id[1] == id[1] && flash_parts[i].id[2] == id[2])
            return &flash_parts[i];
    return NULL;
}

bool bk_mac_from_rf_cal(const uint8_t *rf, size_t len, uint8_t mac[6])
{
    static const uint8_t tag[8] = {0x02, 0x11, 0x11, 0x11, 0x06, 0x00, 0x00, 0x00};
    if (len < BK_RF_MAC_OFF + 6 || memcmp(rf + BK_RF_MAC_TLV_OFF, tag, sizeof tag) != 0)
        return false;
    memcpy(mac, rf + BK_RF_MAC_OFF, 6);
    return true;
}

const bk_region *bk_per_device_overlap(const bk_family *f, uint32_t start, uint64_t len)
{
    uint64_t end = (uint64_t)start + len;
    for (int i = 0; f && len && i < f->n_per_device; i++) {
        const bk_region *r = &f->per_device[i];
        if (start < (uint64_t)r->start + r->len && end > r->start)
            return r;
    }
    return NULL;
}

void bk_mac_format(const uint8_t mac[6], char *out, size_t outlen)
{
    snprintf(out, outlen, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
             mac[5]);
}
