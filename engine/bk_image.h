/* bk_image.h - firmware images as the engine writes them: bytes placed at a flash address.
 *
 * A loader refuses, before anything touches a module, every image that cannot be what the
 * profile means: wrong container (an RBL OTA package), wrong family (a UF2 for another chip),
 * outside flash, unaligned, or over the bootloader without explicit permission. Errors are
 * returned as words naming the file and, where one exists, the byte offset. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "bk_chip.h"

typedef enum bk_image_kind { BK_IMAGE_BIN, BK_IMAGE_UF2, BK_IMAGE_RBL } bk_image_kind;

typedef struct bk_image {
    bk_image_kind kind;
    uint8_t *data;      /* bytes to place at `offset`, gaps filled with 0xFF */
    size_t len;
    uint32_t offset;    /* flash address of data[0] */
    uint8_t *covered;   /* UF2: per 4 KiB sector of data, 1 where a block gives bytes (only
                           those sectors are erased and written); NULL: every sector */
    char sha256[65];    /* of the FILE as on disk (hex), what profiles pin */
} bk_image;

/* UF2 container constants (the public UF2 format; LibreTiny family ids live in bk_chip.h). */
enum {
    BK_UF2_BLOCK_SIZE = 512,
    BK_UF2_PAYLOAD_MAX = 476,
};
#define BK_UF2_MAGIC_START0 0x0A324655u
#define BK_UF2_MAGIC_START1 0x9E5D5157u
#define BK_UF2_MAGIC_END 0x0AB16F30u
#define BK_UF2_FLAG_NOT_MAIN_FLASH 0x00000001u
#define BK_UF2_FLAG_FAMILY_ID 0x00002000u

/* Loads `path`; `offset` is used for raw .bin (UF2 blocks carry their own addresses, and a UF2
 * is recognised by its first block's magic, not by its name). Returns 0, or -1 with `err` set.
 * Refuses: unreadable or empty file; a truncated UF2 (size not a multiple of 512, block N bad
 * magic at byte X, missing blocks); a UF2 whose family id differs from `chip`'s; an RBL package;
 * an image past the end of flash; an offset not 4 KiB aligned; a write below the family's
 * protected_end unless allow_bootloader; any byte written into the family's per-device ranges
 * (bk_per_device_overlap: the RF calibration with the MAC, KV and Tuya storage, ...). A UF2 is
 * checked by the sectors its blocks cover, not by the span from its first to its last block. On failure *out is left empty (safe to free). */
int bk_image_load(const char *path, bk_chip chip, uint32_t offset, bool allow_bootloader,
                  bk_image *out, char *err, size_t errlen);

/* Loads a QIO whole-flash image (a raw file whose byte 0 is flash address 0, bootloader
 * included). BK7231 flashers write such an image from protected_end on: the part below it is
 * dropped and the rest placed at protected_end. With allow_bootloader the whole image is kept
 * at 0. The sha256 is still that of the whole file. */
int bk_image_load_qio(const char *path, bk_chip chip, bool allow_bootloader, bk_image *out,
                      char *err, size_t errlen);

void bk_image_free(bk_image *img);

/* sha256 hex (lower case) of a buffer (nettle) - profiles use it for the profile text too. */
void bk_sha256_hex(const uint8_t *data, size_t len, char out[65]);

const char *bk_image_kind_name(bk_image_kind kind); /* "bin", "uf2", "rbl" */
