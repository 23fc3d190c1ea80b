/* obk_config.h - OpenBeken's configuration sector as data: where it lives, its layout (version
 * 5), its checksum, and the fields a station may fill. Pure: no I/O.
 *
 * Facts from OpenBeken's src/new_pins.h (mainConfig_t, the BK7231 / default pin group),
 * src/new_cfg.c (magic "CFG", version 5, CFG_CalcChecksum) and src/tiny_crc8.c, read at commit
 * e1a80975 (2026-07-24); docs/per-device-data.md has the table. The image is 3584 bytes: the
 * magic 'C' 'F' 'G', one checksum byte, then the version (int32 LE) and the rest. The checksum
 * is OpenBeken's Tiny_CRC8 (reflected polynomial 0x8C, initial 0) over every byte from the
 * version to the end; the C source uses plain `char`, so its value depends on the compiler's
 * char signedness: a signed char shifts the CRC and each data byte arithmetically. OpenBeken's
 * BK7231 builds use the signed form (BK7231GUIFlashTool computes the same), the default here;
 * both are implemented and tested against a config made by OpenBeken's own code
 * (tests/engine/fixtures/README.md). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "bk_chip.h"

#define OBK_CFG_SIZE 0xE00u      /* versions 4 and 5 */
#define OBK_CFG_SIZE_V3 2016u
#define OBK_CFG_VERSION 5
#define OBK_CFG_CRC_OFFSET 3u
#define OBK_CFG_VERSION_OFFSET 4u

typedef enum obk_crc_variant {
    OBK_CRC_SIGNED_CHAR = 0,     /* OpenBeken's BK7231 builds */
    OBK_CRC_UNSIGNED_CHAR,
} obk_crc_variant;

/* Tiny_CRC8 of n bytes in the given char flavour. */
uint8_t obk_crc8(const uint8_t *p, size_t n, obk_crc_variant v);
/* The checksum byte a config of `size` bytes should carry (over bytes 4..size-1). */
uint8_t obk_config_checksum(const uint8_t *cfg, size_t size, obk_crc_variant v);

/* The config sector's flash address on the chip the engine identified; 0 if unknown. */
uint32_t obk_config_addr(bk_chip chip);

typedef enum obk_field_type {
    OBK_FIELD_TEXT,   /* NUL-terminated ASCII, at most size - 1 characters */
    OBK_FIELD_INT,    /* int32, little-endian */
    OBK_FIELD_MAC,    /* 6 bytes */
} obk_field_type;

typedef struct obk_field {
    const char *name;      /* the profile's key: "short_name" */
    const char *obk_name;  /* OpenBeken's member: "shortDeviceName" */
    uint16_t offset, size;
    obk_field_type type;
    bool secret;           /* a password: only from the station's secrets file, masked when shown */
    long lo, hi;           /* OBK_FIELD_INT: accepted range */
} obk_field;

/* The fields a profile may set, in layout order; NULL at the end. */
extern const obk_field obk_fields[];
const obk_field *obk_field_find(const char *name);

/* Checks an image as OpenBeken's loader would: at least OBK_CFG_SIZE bytes, magic "CFG",
 * version 5 (a base must come from a current OpenBeken) and the checksum in `v`. Returns true,
 * or false with err = what is wrong (the offset and the byte values). */
bool obk_config_check(const uint8_t *cfg, size_t len, obk_crc_variant v, char *err, size_t errlen);

/* Writes a field: a text is zero-filled to its size then copied (false and err if it does not
 * fit with its NUL); an int is parsed from decimal text within [lo, hi]. */
bool obk_config_set(uint8_t *cfg, const obk_field *f, const char *value, char *err, size_t errlen);
void obk_config_set_mac(uint8_t *cfg, const uint8_t mac[6]);
void obk_config_get_mac(const uint8_t *cfg, uint8_t mac[6]);
/* A field's value as text (an int in decimal, a MAC as aa:bb:..); out is always terminated.
 * A text field without a NUL in its size is returned cut at its size. */
void obk_config_get(const uint8_t *cfg, const obk_field *f, char *out, size_t outlen);
/* Stamps magic, version 5 and the checksum (after the fields are set). */
void obk_config_seal(uint8_t *cfg, obk_crc_variant v);
