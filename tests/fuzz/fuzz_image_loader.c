/* fuzz_image_loader.c - bk_image_load / bk_image_load_qio over arbitrary files.
 *
 * bk_image.h loads from a path only, so the input goes into a memfd and is opened as
 * /proc/self/fd/N: a regular file with no disk traffic and nothing left behind on a crash.
 * Each input is loaded as it is (a raw .bin unless it carries the UF2 or RBL magic), and a
 * second time "UF2-ified": padded to whole 512-byte blocks whose magics and block numbers are
 * set, so the fuzzer spends its effort on the fields a UF2 writer can get wrong (flags,
 * address, size, family) instead of on rediscovering the magics.
 *
 * Outcome rules, for both chips, with and without allow_bootloader:
 *   failure: a non-empty error naming the file, and an empty image;
 *   success: the image lies inside flash, 4 KiB aligned, above the bootloader unless allowed,
 *            its sha256 is the file's, and its bytes are the file's (raw) or every main-flash
 *            block's payload sits at the block's address (UF2). */
#include "fuzz_util.h"
#include <stdbool.h>
#include <sys/mman.h>
#include <unistd.h>

typedef struct file {
    int fd;
    char path[64];
    const uint8_t *data;
    size_t len;
    char sha256[65];
} file;

static void file_make(file *f, const uint8_t *data, size_t len)
{
    f->fd = memfd_create("fuzz-image", MFD_CLOEXEC);
    FUZZ_CHECK(f->fd >= 0, "memfd_create failed");
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(f->fd, data + done, len - done);
        FUZZ_CHECK(w > 0, "write to memfd failed");
        done += (size_t)w;
    }
    snprintf(f->path, sizeof f->path, "/proc/self/fd/%d", f->fd);
    f->data = data;
    f->len = len;
    bk_sha256_hex(data, len, f->sha256);
}

static void check_uf2_placed(const file *f, const bk_image *img)
{
    for (size_t at = 0; at + BK_UF2_BLOCK_SIZE <= f->len; at += BK_UF2_BLOCK_SIZE) {
        const uint8_t *b = f->data + at;
        if (bk_get_le32(b + 8) & BK_UF2_FLAG_NOT_MAIN_FLASH)
            continue;
        uint32_t addr = bk_get_le32(b + 12), size = bk_get_le32(b + 16);
        FUZZ_CHECK(addr >= img->offset && (uint64_t)addr + size <= (uint64_t)img->offset + img->len,
                   "%s: block at byte %zu (0x%X+%u) outside the image [0x%X, +%zu)", f->path, at,
                   addr, size, img->offset, img->len);
        FUZZ_CHECK(memcmp(img->data + (addr - img->offset), b + 32, size) == 0,
                   "%s: block at byte %zu not placed at 0x%X", f->path, at, addr);
    }
}

static void load(const file *f, bk_chip chip, uint32_t offset, bool allow_bl, bool qio)
{
    const bk_family *fam = bk_family_get(chip);
    bk_image img;
    char err[1024];
    err[0] = '\0';
    int rc = qio ? bk_image_load_qio(f->path, chip, allow_bl, &img, err, sizeof err)
                 : bk_image_load(f->path, chip, offset, allow_bl, &img, err, sizeof err);
    if (rc != 0) {
        FUZZ_CHECK(rc == -1, "return %d", rc);
        FUZZ_CHECK(strncmp(err, f->path, strlen(f->path)) == 0 && err[strlen(f->path)] == ':',
                   "error does not start with the file: \"%s\"", err);
        FUZZ_CHECK(strlen(err) > strlen(f->path) + 2, "error has no words: \"%s\"", err);
        FUZZ_CHECK(img.data == NULL && img.len == 0, "failed load left %zu bytes", img.len);
        bk_image_free(&img);
        return;
    }
    FUZZ_CHECK(img.data != NULL && img.len > 0, "%s: success with an empty image", f->path);
    FUZZ_CHECK((uint64_t)img.offset + img.len <= fam->flash_size,
               "%s: image 0x%X+%zu past the %s flash", f->path, img.offset, img.len, fam->name);
    FUZZ_CHECK(img.offset % BK_SECTOR_SIZE == 0, "%s: offset 0x%X unaligned", f->path, img.offset);
    FUZZ_CHECK(allow_bl || img.offset >= fam->protected_end,
               "%s: image at 0x%X over the bootloader without permission", f->path, img.offset);
    FUZZ_CHECK(strcmp(img.sha256, f->sha256) == 0, "%s: sha256 %s is not the file's %s", f->path,
               img.sha256, f->sha256);
    if (qio) {
        size_t skip = allow_bl ? 0 : fam->protected_end;
        FUZZ_CHECK(img.kind == BK_IMAGE_BIN && img.offset == skip && img.len == f->len - skip &&
                       memcmp(img.data, f->data + skip, img.len) == 0,
                   "%s: QIO image is not the file from 0x%zX", f->path, skip);
    } else if (img.kind == BK_IMAGE_BIN) {
        FUZZ_CHECK(img.offset == offset && img.len == f->len &&
                       memcmp(img.data, f->data, f->len) == 0,
                   "%s: raw image is not the file at 0x%X", f->path, offset);
    } else {
        FUZZ_CHECK(img.kind == BK_IMAGE_UF2, "%s: kind %d accepted", f->path, (int)img.kind);
        check_uf2_placed(f, &img);
    }
    bk_image_free(&img);
}

static void load_all(const file *f, uint32_t any_offset)
{
    for (bk_chip chip = BK_CHIP_BK7231T; chip <= BK_CHIP_BK7231N; chip++) {
        load(f, chip, 0x11000, false, false);
        load(f, chip, any_offset, false, false);
        load(f, chip, 0, true, false);
        load(f, chip, 0, chip == BK_CHIP_BK7231N, true);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An offset the input chooses, within 4 MiB so that both in- and out-of-flash occur. */
    uint32_t any_offset = size >= 4 ? bk_get_le32(data + size - 4) & 0x3FFFFFu : 0x11000;
    file raw;
    file_make(&raw, data, size);
    load_all(&raw, any_offset);
    close(raw.fd);

    size_t nblocks = size / BK_UF2_BLOCK_SIZE + (size % BK_UF2_BLOCK_SIZE != 0);
    if (nblocks == 0 || nblocks > 256)
        return 0;
    size_t len = nblocks * BK_UF2_BLOCK_SIZE;
    uint8_t *u = malloc(len);
    FUZZ_CHECK(u != NULL, "out of memory");
    memset(u, 0, len);
    memcpy(u, data, size);
    for (size_t i = 0; i < nblocks; i++) {
        uint8_t *b = u + i * BK_UF2_BLOCK_SIZE;
        bk_put_le32(b + 0, BK_UF2_MAGIC_START0);
        bk_put_le32(b + 4, BK_UF2_MAGIC_START1);
        bk_put_le32(b + 20, (uint32_t)i);
        bk_put_le32(b + 24, (uint32_t)nblocks);
        bk_put_le32(b + 508, BK_UF2_MAGIC_END);
    }
    file uf2;
    file_make(&uf2, u, len);
    load_all(&uf2, any_offset);
    close(uf2.fd);
    free(u);
    return 0;
}
