/* bk_image.c - image loading and checks. Everything here runs before a module is touched, so
 * the checks are strict: an image that is refused costs an engineer a minute, one that is
 * wrongly accepted costs a tray. Layouts: docs/bk7231-protocol.md, "File formats". */
#include "bk_image.h"
#include "tf_file.h"
#include <unistd.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <nettle/sha2.h>

/* Larger than any sane image for a BK7231 (a UF2 of a whole 16 MiB flash is ~17.2 MiB): stops a
 * mistyped path to a disk image from being read into memory. */
#define IMAGE_FILE_MAX (32u << 20)

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void bk_sha256_hex(const uint8_t *data, size_t len, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    struct sha256_ctx ctx;
    uint8_t digest[SHA256_DIGEST_SIZE];
    sha256_init(&ctx);
    sha256_update(&ctx, len, data);
    sha256_digest(&ctx, sizeof digest, digest);
    for (size_t i = 0; i < sizeof digest; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 15];
    }
    out[64] = '\0';
}

const char *bk_image_kind_name(bk_image_kind kind)
{
    switch (kind) {
    case BK_IMAGE_BIN: return "bin";
    case BK_IMAGE_UF2: return "uf2";
    case BK_IMAGE_RBL: return "rbl";
    }
    return "unknown";
}

void bk_image_free(bk_image *img)
{
    if (!img)
        return;
    free(img->data);
    free(img->covered);
    memset(img, 0, sizeof *img);
}

/* A FIFO or a device named as an image is refused, not waited on for ever (tf_file_read). */
static int read_whole_file(const char *path, uint8_t **data, size_t *len, char *err, size_t errlen)
{
    char *buf;
    if (tf_file_read(path, IMAGE_FILE_MAX, &buf, len, err, errlen) != 0) {
        *data = NULL;
        return -1;
    }
    if (*len == 0) {
        set_err(err, errlen, "%s: file is empty", path);
        free(buf);
        *data = NULL;
        return -1;
    }
    *data = (uint8_t *)buf;
    return 0;
}

static bool is_rbl(const uint8_t *d, size_t n)
{
    return n >= 3 && memcmp(d, "RBL", 3) == 0;
}

static bool is_uf2(const uint8_t *d, size_t n)
{
    return n >= 8 && le32(d) == BK_UF2_MAGIC_START0 && le32(d + 4) == BK_UF2_MAGIC_START1;
}

static int refuse_rbl(const char *path, char *err, size_t errlen)
{
    set_err(err, errlen,
            "%s: an RBL package (magic \"RBL\" at byte 0): that is an OTA update for the "
            "download area, not a UART app image; use the app .bin or .uf2",
            path);
    return -1;
}

/* The checks every placed image passes, whatever its container. */
/* No app byte may land in the module's own data (bk_chip.c's per-device table). */
static int check_per_device(const char *path, const bk_family *fam, uint32_t start, size_t len,
                            char *err, size_t errlen)
{
    const bk_region *r = bk_per_device_overlap(fam, start, len);
    if (!r)
        return 0;
    set_err(err, errlen, "%s: image writes 0x%" PRIX32 "..0x%" PRIX64 ", into the %s's %s at "
            "0x%" PRIX32 "..0x%" PRIX32 " (the module's own data, kept nowhere else): an app "
            "image must stay out of it", path, start, (uint64_t)start + len, fam->name, r->name,
            r->start, r->start + r->len);
    return -1;
}

static int check_placement(const char *path, const bk_family *fam, uint32_t offset, size_t len,
                           bool allow_bootloader, char *err, size_t errlen)
{
    if (offset % 4096u != 0) {
        set_err(err, errlen, "%s: offset 0x%" PRIX32 " is not 4 KiB aligned (flash is erased "
                "in 4 KiB sectors)", path, offset);
        return -1;
    }
    uint64_t end = (uint64_t)offset + len;
    if (end > fam->flash_size) {
        /* Addresses alias past the end of flash, so this would overwrite the bootloader. */
        set_err(err, errlen, "%s: image of %zu bytes at 0x%" PRIX32 " ends at 0x%" PRIX64
                ", past the end of the %" PRIu32 " KiB flash of a %s", path, len, offset, end,
                fam->flash_size / 1024, fam->name);
        return -1;
    }
    if (offset < fam->protected_end && !allow_bootloader) {
        set_err(err, errlen, "%s: image at 0x%" PRIX32 " writes below 0x%" PRIX32
                ", the %s bootloader area; set allow_bootloader = yes if that is meant", path,
                offset, fam->protected_end, fam->name);
        return -1;
    }
    return 0;
}

static const char *family_name_of_uf2(uint32_t family)
{
    for (int c = BK_CHIP_UNKNOWN + 1; c < BK_CHIP_COUNT; c++) {
        const bk_family *f = bk_family_get((bk_chip)c);
        if (f && f->uf2_family == family)
            return f->name;
    }
    return "not a BK7231 family";
}

/* UF2 block fields (byte offsets within a 512-byte block). */
enum {
    UF2_OFF_FLAGS = 8,
    UF2_OFF_ADDR = 12,
    UF2_OFF_PAYLOAD_SIZE = 16,
    UF2_OFF_BLOCK_NO = 20,
    UF2_OFF_NUM_BLOCKS = 24,
    UF2_OFF_FAMILY = 28,
    UF2_OFF_DATA = 32,
    UF2_OFF_MAGIC_END = 508,
};

/* Checks every block's framing and family, then places the main-flash payloads into one
 * 0xFF-filled span. Blocks flagged "not main flash" are skipped, as the UF2 format asks. */
static int load_uf2(const char *path, const bk_family *fam, const uint8_t *d, size_t n,
                    bool allow_bootloader, bk_image *out, char *err, size_t errlen)
{
    const size_t bs = BK_UF2_BLOCK_SIZE;
    size_t nblocks = n / bs;
    if (n % bs != 0) {
        set_err(err, errlen, "%s: truncated UF2: %zu bytes is not a multiple of 512 (block %zu "
                "at byte %zu has only %zu bytes)", path, n, nblocks, nblocks * bs, n % bs);
        return -1;
    }
    uint64_t lo = UINT64_MAX, hi = 0;
    size_t used = 0;
    for (size_t i = 0; i < nblocks; i++) {
        const uint8_t *b = d + i * bs;
        size_t at = i * bs;
        if (le32(b) != BK_UF2_MAGIC_START0 || le32(b + 4) != BK_UF2_MAGIC_START1) {
            size_t bad = at + (le32(b) != BK_UF2_MAGIC_START0 ? 0 : 4);
            set_err(err, errlen, "%s: UF2 block %zu: bad magic at byte %zu", path, i, bad);
            return -1;
        }
        if (le32(b + UF2_OFF_MAGIC_END) != BK_UF2_MAGIC_END) {
            set_err(err, errlen, "%s: UF2 block %zu: bad magic at byte %zu", path, i,
                    at + UF2_OFF_MAGIC_END);
            return -1;
        }
        uint32_t flags = le32(b + UF2_OFF_FLAGS);
        uint32_t block_no = le32(b + UF2_OFF_BLOCK_NO);
        uint32_t num_blocks = le32(b + UF2_OFF_NUM_BLOCKS);
        if (block_no != i || num_blocks != nblocks) {
            set_err(err, errlen, "%s: UF2 block %zu (byte %zu) says it is block %" PRIu32
                    " of %" PRIu32 ", but the file holds %zu blocks: truncated or spliced",
                    path, i, at, block_no, num_blocks, nblocks);
            return -1;
        }
        if (flags & BK_UF2_FLAG_NOT_MAIN_FLASH)
            continue;
        if (!(flags & BK_UF2_FLAG_FAMILY_ID)) {
            set_err(err, errlen, "%s: UF2 block %zu (byte %zu) carries no family id, so it "
                    "cannot be checked to be for a %s", path, i, at, fam->name);
            return -1;
        }
        uint32_t family = le32(b + UF2_OFF_FAMILY);
        if (family != fam->uf2_family) {
            set_err(err, errlen, "%s: UF2 block %zu (byte %zu) is for family 0x%08" PRIX32
                    " (%s), but the chip is a %s (family 0x%08" PRIX32 ")", path, i, at, family,
                    family_name_of_uf2(family), fam->name, fam->uf2_family);
            return -1;
        }
        uint32_t size = le32(b + UF2_OFF_PAYLOAD_SIZE);
        uint32_t addr = le32(b + UF2_OFF_ADDR);
        if (size == 0 || size > BK_UF2_PAYLOAD_MAX) {
            set_err(err, errlen, "%s: UF2 block %zu (byte %zu): payload size %" PRIu32
                    " (must be 1..476)", path, i, at + UF2_OFF_PAYLOAD_SIZE, size);
            return -1;
        }
        if ((uint64_t)addr + size > fam->flash_size) {
            set_err(err, errlen, "%s: UF2 block %zu (byte %zu) writes 0x%" PRIX32 "..0x%" PRIX64
                    ", past the end of the %" PRIu32 " KiB flash of a %s", path, i, at, addr,
                    (uint64_t)addr + size, fam->flash_size / 1024, fam->name);
            return -1;
        }
        if (addr < lo)
            lo = addr;
        if ((uint64_t)addr + size > hi)
            hi = (uint64_t)addr + size;
        used++;
    }
    if (used == 0) {
        set_err(err, errlen, "%s: UF2 holds no blocks for main flash", path);
        return -1;
    }
    size_t span = (size_t)(hi - lo);
    if (check_placement(path, fam, (uint32_t)lo, span, allow_bootloader, err, errlen) != 0)
        return -1;
    uint8_t *img = malloc(span);
    uint8_t *seen = calloc(span / 8 + 1, 1); /* one bit a byte: overlapping blocks are refused */
    if (!img || !seen) {
        free(img);
        free(seen);
        set_err(err, errlen, "%s: out of memory for a %zu byte image", path, span);
        return -1;
    }
    memset(img, 0xFF, span);
    for (size_t i = 0; i < nblocks; i++) {
        const uint8_t *b = d + i * bs;
        if (le32(b + UF2_OFF_FLAGS) & BK_UF2_FLAG_NOT_MAIN_FLASH)
            continue;
        size_t rel = le32(b + UF2_OFF_ADDR) - (size_t)lo;
        uint32_t size = le32(b + UF2_OFF_PAYLOAD_SIZE);
        for (size_t k = rel; k < rel + size; k++) {
            if (seen[k / 8] & (1u << (k % 8))) {
                set_err(err, errlen, "%s: UF2 block %zu (byte %zu) overwrites flash address "
                        "0x%" PRIX64 " already given by an earlier block", path, i, i * bs,
                        lo + k);
                free(img);
                free(seen);
                return -1;
            }
            seen[k / 8] |= (uint8_t)(1u << (k % 8));
        }
        memcpy(img + rel, b + UF2_OFF_DATA, size);
    }
    /* Only the sectors the blocks give bytes for are erased and written: a stray block far from
     * the rest must not drag the gap between them (or a per-device range) into the erase. */
    size_t n_sectors = (span + 4095) / 4096;
    uint8_t *covered = calloc(n_sectors, 1);
    if (!covered) {
        free(img);
        free(seen);
        set_err(err, errlen, "%s: out of memory", path);
        return -1;
    }
    for (size_t k = 0; k < span; k++)
        if (seen[k / 8] & (1u << (k % 8)))
            covered[k / 4096] = 1;
    free(seen);
    for (size_t i = 0; i < n_sectors; i++) {
        size_t j = i;
        while (j < n_sectors && covered[j])
            j++;
        if (j > i && check_per_device(path, fam, (uint32_t)(lo + i * 4096), (j - i) * 4096, err,
                                      errlen) != 0) {
            free(img);
            free(covered);
            return -1;
        }
        i = j;
    }
    out->kind = BK_IMAGE_UF2;
    out->data = img;
    out->len = span;
    out->offset = (uint32_t)lo;
    out->covered = covered;
    return 0;
}

static const bk_family *family_or_err(const char *path, bk_chip chip, char *err, size_t errlen)
{
    const bk_family *fam = bk_family_get(chip);
    if (!fam)
        set_err(err, errlen, "%s: no chip family given to check the image against", path);
    return fam;
}

int bk_image_load(const char *path, bk_chip chip, uint32_t offset, bool allow_bootloader,
                  bk_image *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const bk_family *fam = family_or_err(path, chip, err, errlen);
    if (!fam)
        return -1;
    uint8_t *d;
    size_t n;
    if (read_whole_file(path, &d, &n, err, errlen) != 0)
        return -1;
    char sha[65];
    bk_sha256_hex(d, n, sha);
    int rc;
    if (is_rbl(d, n)) {
        rc = refuse_rbl(path, err, errlen);
    } else if (is_uf2(d, n)) {
        rc = load_uf2(path, fam, d, n, allow_bootloader, out, err, errlen);
    } else {
        rc = check_placement(path, fam, offset, n, allow_bootloader, err, errlen);
        if (rc == 0)
            rc = check_per_device(path, fam, offset, n, err, errlen);
        if (rc == 0) {
            out->kind = BK_IMAGE_BIN;
            out->data = d; /* the file is the image: hand the buffer over */
            out->len = n;
            out->offset = offset;
            d = NULL;
        }
    }
    free(d);
    if (rc != 0) {
        bk_image_free(out);
        return -1;
    }
    memcpy(out->sha256, sha, sizeof sha);
    return 0;
}

int bk_image_load_qio(const char *path, bk_chip chip, bool allow_bootloader, bk_image *out,
                      char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const bk_family *fam = family_or_err(path, chip, err, errlen);
    if (!fam)
        return -1;
    uint8_t *d;
    size_t n;
    if (read_whole_file(path, &d, &n, err, errlen) != 0)
        return -1;
    int rc = 0;
    if (is_rbl(d, n)) {
        rc = refuse_rbl(path, err, errlen);
    } else if (is_uf2(d, n)) {
        set_err(err, errlen, "%s: a UF2 file, but qio = yes expects a raw whole-flash image "
                "(UF2 blocks carry their own addresses: set qio = no)", path);
        rc = -1;
    } else if (n > fam->flash_size) {
        set_err(err, errlen, "%s: QIO image of %zu bytes is larger than the %" PRIu32
                " KiB flash of a %s", path, n, fam->flash_size / 1024, fam->name);
        rc = -1;
    } else if (!allow_bootloader && n <= fam->protected_end) {
        set_err(err, errlen, "%s: QIO image of %zu bytes ends before 0x%" PRIX32
                ": nothing past the bootloader to write (is it a QIO image?)", path, n,
                fam->protected_end);
        rc = -1;
    }
    uint32_t skip = allow_bootloader ? 0 : fam->protected_end;
    if (rc == 0)
        rc = check_per_device(path, fam, skip, n - skip, err, errlen);
    if (rc != 0) {
        free(d);
        return -1;
    }
    bk_sha256_hex(d, n, out->sha256);
    memmove(d, d + skip, n - skip);
    out->kind = BK_IMAGE_BIN;
    out->data = d;
    out->len = n - skip;
    out->offset = skip;
    return 0;
}
