/* test_image.c - the image loader: formats it accepts, and each refusal with its words.
 * Usage: test_image --list | CASE <scratch base> <profiles source dir> */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "bk_image.h"
#include "bk_plan.h"
#include "check.h"
#include "test_util.h"

static const char *scratch;
static const char *profiles_dir;

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static bool all_ff(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0xFF)
            return false;
    return true;
}

/* The test's own UF2 writer (independent of tf_mkimage's): `payload` bytes a block, blank
 * chunks left out. Returns the block count. */
static size_t write_uf2(const char *path, const uint8_t *bin, size_t len, uint32_t addr,
                        uint32_t family, size_t payload)
{
    size_t nchunks = (len + payload - 1) / payload, nblocks = 0;
    for (size_t c = 0; c < nchunks; c++) {
        size_t n = len - c * payload < payload ? len - c * payload : payload;
        nblocks += !all_ff(bin + c * payload, n);
    }
    uint8_t *out = calloc(nblocks, 512);
    size_t b = 0;
    for (size_t c = 0; c < nchunks; c++) {
        size_t n = len - c * payload < payload ? len - c * payload : payload;
        if (all_ff(bin + c * payload, n))
            continue;
        uint8_t *blk = out + b * 512;
        put32(blk, 0x0A324655);
        put32(blk + 4, 0x9E5D5157);
        put32(blk + 8, 0x2000);
        put32(blk + 12, addr + (uint32_t)(c * payload));
        put32(blk + 16, (uint32_t)n);
        put32(blk + 20, (uint32_t)b);
        put32(blk + 24, (uint32_t)nblocks);
        put32(blk + 28, family);
        memcpy(blk + 32, bin + c * payload, n);
        put32(blk + 508, 0x0AB16F30);
        b++;
    }
    tu_write(path, out, nblocks * 512);
    free(out);
    return nblocks;
}

static void path_in(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", scratch, name);
}

/* A firmware-like buffer with a blank stretch in the middle (a gap in its UF2). */
static uint8_t *make_bin(size_t len, uint32_t seed)
{
    uint8_t *b = malloc(len);
    tu_fill(b, len, seed);
    if (len > 20000)
        memset(b + 8192, 0xFF, 8192);
    return b;
}

static int case_sha(void)
{
    char h[65];
    bk_sha256_hex((const uint8_t *)"abc", 3, h);
    CHECK(strcmp(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
    bk_sha256_hex((const uint8_t *)"", 0, h);
    CHECK(strcmp(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
    return 0;
}

static int case_bin(void)
{
    char p[4096], err[512], sha[65];
    bk_image img;
    path_in(p, sizeof p, "app.bin");
    uint8_t *bin = make_bin(10000, 7);
    tu_write(p, bin, 10000);
    bk_sha256_hex(bin, 10000, sha);
    CHECK(bk_image_load(p, BK_CHIP_BK7231T, 0x11000, false, &img, err, sizeof err) == 0);
    CHECK(img.kind == BK_IMAGE_BIN && img.len == 10000 && img.offset == 0x11000);
    CHECK(img.data && memcmp(img.data, bin, 10000) == 0);
    CHECK(strcmp(img.sha256, sha) == 0);
    bk_image_free(&img);
    CHECK(img.data == NULL && img.len == 0);

    path_in(p, sizeof p, "empty.bin");
    tu_write(p, "", 0);
    CHECK(bk_image_load(p, BK_CHIP_BK7231T, 0x11000, false, &img, err, sizeof err) != 0);
    CHECK_HAS(err, p);
    CHECK_HAS(err, "empty");
    CHECK(img.data == NULL);

    path_in(p, sizeof p, "absent.bin");
    CHECK(bk_image_load(p, BK_CHIP_BK7231T, 0x11000, false, &img, err, sizeof err) != 0);
    CHECK_HAS(err, p);
    CHECK_HAS(err, "No such file");
    free(bin);
    return 0;
}

static int case_uf2_roundtrip(void)
{
    char p[4096], err[512];
    bk_image img;
    const size_t len = 50001;
    uint8_t *bin = make_bin(len, 11);
    path_in(p, sizeof p, "rt.uf2");
    size_t nblocks = write_uf2(p, bin, len, 0x20000, 0x7B3EF230, 476);
    CHECK(nblocks < (len + 475) / 476); /* the blank stretch really is a gap */
    CHECK(bk_image_load(p, BK_CHIP_BK7231N, 0 /* ignored */, false, &img, err, sizeof err) == 0);
    CHECK(img.kind == BK_IMAGE_UF2 && img.offset == 0x20000 && img.len == len);
    CHECK(img.data && memcmp(img.data, bin, len) == 0);
    size_t flen;
    uint8_t *file = tu_read(p, &flen);
    char sha[65];
    bk_sha256_hex(file, flen, sha);
    CHECK(strcmp(img.sha256, sha) == 0); /* the pin is of the file, not of the placed bytes */
    bk_image_free(&img);
    free(file);

    /* The shipped UF2 is the shipped bin, placed where the demo profile puts it. */
    char ub[4096], bb[4096];
    snprintf(ub, sizeof ub, "%s/images/demo-small.uf2", profiles_dir);
    snprintf(bb, sizeof bb, "%s/images/demo-small.bin", profiles_dir);
    size_t blen;
    uint8_t *shipped = tu_read(bb, &blen);
    CHECK(bk_image_load(ub, BK_CHIP_BK7231T, 0, false, &img, err, sizeof err) == 0);
    CHECK(img.offset == 0x11000 && img.len == blen);
    CHECK(img.data && img.len == blen && memcmp(img.data, shipped, blen) == 0);
    bk_image_free(&img);
    free(shipped);
    free(bin);
    return 0;
}

static int case_uf2_truncated(void)
{
    char p[4096], err[512], want[256];
    bk_image img;
    uint8_t *bin = make_bin(4000, 3);
    path_in(p, sizeof p, "t.uf2");
    size_t nblocks = write_uf2(p, bin, 4000, 0x11000, 0x675A40B0, 256);
    CHECK(nblocks == 16);
    size_t flen;
    uint8_t *file = tu_read(p, &flen);

    /* cut mid-block */
    tu_write(p, file, flen - 100);
    CHECK(bk_image_load(p, BK_CHIP_BK7231T, 0, false, &img, err, sizeof err) != 0);
    CHECK_HAS(err, p);
    CHECK_HAS(err, "not a multiple of 512");
    snprintf(want, sizeof want, "block %zu at byte %zu", nblocks - 1, (nblocks - 1) * 512);
    CHECK_HAS(err, want);
    CHECK(img.data == NULL);

    /* a whole block missing at the end */
    tu_write(p, file, flen - 512);
    CHECK(bk_image_load(p, BK_CHIP_BK7231T, 0, false, &img, err, sizeof err) != 0);
    snprintf(want, sizeof want, "says it is block 0 of %zu, but the file holds %zu blocks",
             nblocks, nblocks - 1);
    CHECK_HAS(err, want);

    /* bad start magic in block 3: the second magic word sits at byte 3 * 512 + 4 */
    uint8_t *bad = malloc(flen);
    memcpy(bad, file, flen);
    bad[3 * 512 + 5] ^= 0x40;
    tu_write(p, bad, flen);
    CHECK(bk_image_load(p, BK_CHIP_BK7231T, 0, false, &img, err, sizeof err) != 0);
    CHECK_HAS(err, "UF2 block 3: bad magic at byte 1540");

    /* bad end magic in block 9 */
    memcpy(bad, file, flen);
    bad[9 * 512 + 510] = 0;
    tu_write(p, bad, flen);
    CHECK(bk_image_load(p, BK_CHIP_BK7231T, 0, false, &img, err, sizeof err) != 0);
    snprintf(want, sizeof want, "UF2 block 9: bad magic at byte %d", 9 * 512 + 508);
    CHECK_HAS(err, want);
    free(bad);
    free(file);
    free(bin);
    return 0;
}

static int case_uf2_family(void)
{
    char p[4096], err[512];
    bk_image img;
    uint8_t *bin = make_bin(3000, 5);
    path_in(p, sizeof p, "n.uf2");
    write_uf2(p, bin, 3000, 0x11000, 0x7B3EF230, 256);
    CHECK(bk_image_load(p, BK_CHIP_BK7231T, 0, false, &img, err, sizeof err) != 0);
    CHECK_HAS(err, p);
    CHECK_HAS(err, "family 0x7B3EF230 (BK7231N)");
    CHECK_HAS(err, "BK7231T");
    CHECK(bk_image_load(p, BK_CHIP_BK7231N, 0, false, &img, err, sizeof err) == 0);
    bk_image_free(&img);

    write_uf2(p, bin, 3000, 0x11000, 0xE48BFF56 /* RP2040 */, 256);
    CHECK(bk_image_load(p, BK_CHIP_BK7231N, 0, false, &img, err, sizeof err) != 0);
    CHECK_HAS(err, "not a BK7231 family");
    free(bin);
    return 0;
}

static int case_rbl(void)
{
    char p[4096], err[512];
    bk_image img;
    uint8_t buf[4096];
    tu_fill(buf, sizeof buf, 9);
    memcpy(buf, "RBL\0", 4);
    path_in(p, sizeof p, "ota.rbl");
    tu_write(p, buf, sizeof buf);
    CHECK(bk_image_load(p, BK_CHIP_BK7231T, 0x11000, false, &img, err, sizeof err) != 0);
    CHECK_HAS(err, p);
    CHECK_HAS(err, "RBL package");
    CHECK(bk_image_load_qio(p, BK_CHIP_BK7231T, false, &img, err, sizeof err) != 0);
    CHECK_HAS(err, "RBL package");
    return 0;
}

static int case_past_end(void)
{
    char p[4096], err[512];
    bk_image img;
    uint8_t *bin = make_bin(0x10000, 1);
    path_in(p, sizeof p, "64k.bin");
    tu_write(p, bin, 0x10000);
    CHECK(bk_image_load(p, BK_CHIP_BK7231T, 0x1C0000, false, &img, err, sizeof err) == 0);
    bk_image_free(&img);
    CHECK(bk_image_load(p, BK_CHIP_BK7231T, 0x1F1000, false, &img, err, sizeof err) != 0);
    CHECK_HAS(err, p);
    CHECK_HAS(err, "ends at 0x201000, past the end of the 2048 KiB flash");

    /* a UF2 block addressed past the end */
    path_in(p, sizeof p, "far.uf2");
    write_uf2(p, bin, 0x1000, 0x1FFF00, 0x675A40B0, 256);
    CHECK(bk_image_load(p, BK_CHIP_BK7231T, 0, false, &img, err, sizeof err) != 0);
    CHECK_HAS(err, "past the end");
    free(bin);
    return 0;
}

static int case_unaligned(void)
{
    char p[4096], err[512];
    bk_image img;
    uint8_t *bin = make_bin(5000, 2);
    path_in(p, sizeof p, "a.bin");
    tu_write(p, bin, 5000);
    CHECK(bk_image_load(p, BK_CHIP_BK7231T, 0x11100, false, &img, err, sizeof err) != 0);
    CHECK_HAS(err, "offset 0x11100 is not 4 KiB aligned");
    path_in(p, sizeof p, "a.uf2");
    write_uf2(p, bin, 5000, 0x11080, 0x675A40B0, 256);
    CHECK(bk_image_load(p, BK_CHIP_BK7231T, 0x11000, false, &img, err, sizeof err) != 0);
    CHECK_HAS(err, "offset 0x11080 is not 4 KiB aligned");
    free(bin);
    return 0;
}

static int case_bootloader(void)
{
    char p[4096], err[512];
    bk_image img;
    uint8_t *bin = make_bin(0x2000, 4);
    path_in(p, sizeof p, "b.bin");
    tu_write(p, bin, 0x2000);
    CHECK(bk_image_load(p, BK_CHIP_BK7231N, 0x10000, false, &img, err, sizeof err) != 0);
    CHECK_HAS(err, "writes below 0x11000");
    CHECK_HAS(err, "allow_bootloader");
    CHECK(bk_image_load(p, BK_CHIP_BK7231N, 0x10000, true, &img, err, sizeof err) == 0);
    CHECK(img.offset == 0x10000);
    bk_image_free(&img);
    path_in(p, sizeof p, "b.uf2");
    write_uf2(p, bin, 0x2000, 0, 0x7B3EF230, 256);
    CHECK(bk_image_load(p, BK_CHIP_BK7231N, 0x11000, false, &img, err, sizeof err) != 0);
    CHECK_HAS(err, "writes below 0x11000");
    free(bin);
    return 0;
}

static int case_qio(void)
{
    char p[4096], err[512], sha[65];
    bk_image img;
    const size_t len = 0x30000;
    uint8_t *whole = make_bin(len, 8);
    path_in(p, sizeof p, "qio.bin");
    tu_write(p, whole, len);
    bk_sha256_hex(whole, len, sha);
    CHECK(bk_image_load_qio(p, BK_CHIP_BK7231T, false, &img, err, sizeof err) == 0);
    CHECK(img.offset == 0x11000 && img.len == len - 0x11000);
    CHECK(img.data && memcmp(img.data, whole + 0x11000, len - 0x11000) == 0);
    CHECK(strcmp(img.sha256, sha) == 0);
    bk_image_free(&img);
    CHECK(bk_image_load_qio(p, BK_CHIP_BK7231T, true, &img, err, sizeof err) == 0);
    CHECK(img.offset == 0 && img.len == len && memcmp(img.data, whole, len) == 0);
    bk_image_free(&img);

    tu_write(p, whole, 0x11000); /* only a bootloader */
    CHECK(bk_image_load_qio(p, BK_CHIP_BK7231T, false, &img, err, sizeof err) != 0);
    CHECK_HAS(err, "nothing past the bootloader");
    free(whole);
    return 0;
}

/* The module's own data (RF calibration with the MAC, KV and Tuya storage, the OpenBeken config,
 * LibreTiny's user data) is out of reach of every app image, per chip (reference §7.1). */
static int case_per_device(void)
{
    char p[4096], err[512];
    bk_image img;
    uint8_t *bin = make_bin(0x9000, 9);
    path_in(p, sizeof p, "pd.bin");
    tu_write(p, bin, 0x9000);
    /* 0x1D0000 is the N's RF calibration sector, and only the OTA area's end on a T */
    CHECK(bk_image_load(p, BK_CHIP_BK7231N, 0x1D0000, false, &img, err, sizeof err) != 0);
    CHECK_HAS(err, p);
    CHECK_HAS(err, "RF calibration");
    CHECK_HAS(err, "0x1D0000..0x1D1000");
    tu_write(p, bin, 0x8000);
    CHECK(bk_image_load(p, BK_CHIP_BK7231T, 0x1D0000, false, &img, err, sizeof err) == 0);
    bk_image_free(&img);
    tu_write(p, bin, 0x9000); /* one sector more reaches the T's key-value storage */
    CHECK(bk_image_load(p, BK_CHIP_BK7231T, 0x1D0000, false, &img, err, sizeof err) != 0);
    CHECK_HAS(err, "key-value storage");
    CHECK(bk_image_load(p, BK_CHIP_BK7231T, 0x1E1000, true, &img, err, sizeof err) != 0);
    CHECK_HAS(err, "OpenBeken config"); /* allow_bootloader does not open it */
    /* a whole-flash dump written as QIO would carry another module's calibration */
    uint8_t *whole = make_bin(0x200000, 10);
    path_in(p, sizeof p, "dump.bin");
    tu_write(p, whole, 0x200000);
    CHECK(bk_image_load_qio(p, BK_CHIP_BK7231T, false, &img, err, sizeof err) != 0);
    CHECK_HAS(err, "key-value storage");
    free(whole);
    free(bin);
    return 0;
}

/* A UF2 is erased and written by the sectors its blocks cover, not as one span: a stray block
 * far away adds one sector, not the gap; one in per-device data is refused. */
static int case_uf2_sparse(void)
{
    char p[4096], err[512];
    bk_image img;
    const size_t len = 0x140000;
    uint8_t *bin = malloc(len);
    memset(bin, 0xFF, len);
    memset(bin, 0x11, 0x2000);             /* 0x11000, 0x12000 */
    memset(bin + len - 0x400, 0x22, 0x400); /* a stray block at 0x150C00 */
    path_in(p, sizeof p, "sparse.uf2");
    write_uf2(p, bin, len, 0x11000, 0x675A40B0, 256);
    CHECK(bk_image_load(p, BK_CHIP_BK7231T, 0, false, &img, err, sizeof err) == 0);
    CHECK(img.covered != NULL && img.offset == 0x11000 && img.len == len);
    int covered = 0;
    for (size_t i = 0; i < len / 4096; i++)
        covered += img.covered[i];
    CHECK(covered == 3 && img.covered[0] && img.covered[1] && img.covered[len / 4096 - 1]);
    static bk_plan plan;
    CHECK(bk_plan_build_covered(&plan, img.data, img.len, img.offset, BK_ERASE_AUTO, img.covered));
    CHECK(plan.n_spans == 2 && plan.n_units == 3 && plan.n_covered == 3);
    CHECK(plan.spans[0].addr == 0x11000 && plan.spans[0].len == 0x2000);
    CHECK(plan.spans[1].addr == 0x150000 && plan.spans[1].len == 0x1000);
    for (int u = 0; u < plan.n_units; u++)
        CHECK(plan.units[u].size == 4096); /* no 64 KiB erase reaches into the gap */
    bk_image_free(&img);
    /* the same stray block near the end of flash, inside the per-device ranges */
    const size_t far = 0x1E0000;
    uint8_t *bin2 = malloc(far);
    memset(bin2, 0xFF, far);
    memset(bin2, 0x11, 0x1000);
    memset(bin2 + far - 0x100, 0x33, 0x100); /* 0x1F0F00 */
    write_uf2(p, bin2, far, 0x11000, 0x675A40B0, 256);
    CHECK(bk_image_load(p, BK_CHIP_BK7231T, 0, false, &img, err, sizeof err) != 0);
    CHECK_HAS(err, "user data (LibreTiny)"); /* which encloses the Tuya data */
    free(bin2);
    free(bin);
    return 0;
}

static const check_case cases[] = {
    { "per_device", case_per_device }, { "uf2_sparse", case_uf2_sparse },
    { "sha", case_sha }, { "bin", case_bin }, { "uf2_roundtrip", case_uf2_roundtrip },
    { "uf2_truncated", case_uf2_truncated }, { "uf2_family", case_uf2_family },
    { "rbl", case_rbl }, { "past_end", case_past_end }, { "unaligned", case_unaligned },
    { "bootloader", case_bootloader }, { "qio", case_qio },
};

static char scratch_dir[4096];

static void setup(void)
{
    if (!check_arg(0) || !check_arg(1)) {
        fprintf(stderr, "usage: test_image CASE <scratch base> <profiles dir>\n");
        exit(2);
    }
    scratch = tu_scratch(check_arg(0), scratch_dir, sizeof scratch_dir);
    profiles_dir = check_arg(1);
}

static void teardown(int status)
{
    tu_scratch_remove(scratch_dir);
}

int main(int argc, char **argv)
{
    return check_run(argc, argv, cases, sizeof cases / sizeof cases[0], setup, teardown);
}
