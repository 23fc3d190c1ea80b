/* mkimage.c - tf_mkimage: makes the example firmware images the shipped profiles pin.
 *
 * The images are committed, and their sha256 is pinned in the profiles (.ini); this tool is how
 * they were made, and `tf_mkimage check DIR` (a ctest) proves the committed bytes still come
 * out of it, so the pins stay honest. Output must depend on nothing but the table below: no
 * time, no host byte order, no libc random(). The content is firmware-like so the engine's
 * optimisations have something to bite on: a header, dense pseudo-random "code", string
 * tables, blank (all-0xFF) 4 KiB sectors and one blank 64 KiB block in the middle, and a
 * length that is not a whole number of sectors. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "bk_chip.h"
#include "bk_image.h"

typedef struct mk_image {
    const char *file;
    const char *title;      /* goes into the header */
    bk_chip chip;
    uint32_t offset;        /* flash address the image is made for */
    uint32_t len;
    uint32_t seed;
    uint32_t blank_sectors[6]; /* image-relative 4 KiB sector numbers left 0xFF (0 ends) */
    uint32_t blank_block_at;   /* flash address of a blank 64 KiB block, 0 for none */
    const char *uf2_file;      /* also written as UF2 under this name, or NULL */
} mk_image;

static const mk_image images[] = {
    { "openbk-wb2s-demo.bin", "OpenBK7231T demo app for WB2S", BK_CHIP_BK7231T, 0x11000,
      1u << 20, 0x57423253u, { 37, 38, 39, 150, 151, 0 }, 0x80000, NULL },
    { "openbk-cb2s-demo.bin", "OpenBK7231N demo app for CB2S", BK_CHIP_BK7231N, 0x11000,
      (512u << 10) + 300, 0x43423253u, { 20, 21, 90, 0 }, 0x40000, NULL },
    { "demo-small.bin", "trayflash small demo app", BK_CHIP_BK7231T, 0x11000,
      (192u << 10) - 1500, 0x44454d4fu, { 13, 14, 29, 0 }, 0, "demo-small.uf2" },
};

/* xorshift32: fixed, portable, good enough to look like compiled code to a compressor. */
static uint32_t next_rand(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *s = x;
    return x;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static const char *const strings[] = {
    "WiFi: connecting to %s\n", "MQTT: publish %s/%s\n", "OTA: partition 0x%08x\n",
    "GPIO: relay %d -> %d\n", "flash: sector 0x%05x erased\n", "HTTP/1.1 200 OK\r\n",
    "power: %u.%u W\n", "button: long press\n",
};

/* Fills `buf` (len bytes) with the image for `m`. */
static void make_image(const mk_image *m, uint8_t *buf)
{
    uint32_t s = m->seed;
    const uint32_t header_len = 256;
    /* Body: mostly dense code words, with a string table every 16 KiB and some zero
     * padding, as a linker lays out real firmware. */
    for (uint32_t i = header_len; i + 4 <= m->len; i += 4) {
        uint32_t w = next_rand(&s);
        if ((w & 7u) == 0)
            w &= 0x0000FFFFu; /* small constants and halfword instructions */
        put_le32(buf + i, w);
    }
    for (uint32_t i = m->len & ~3u; i < m->len; i++)
        buf[i] = (uint8_t)next_rand(&s);
    for (uint32_t at = 0x4000; at + 1024 < m->len; at += 0x4000) {
        uint32_t p = at;
        for (size_t k = 0; p + 64 < at + 1024; k++) {
            const char *str = strings[(k + at / 0x4000) % (sizeof strings / sizeof strings[0])];
            size_t n = strlen(str) + 1;
            memcpy(buf + p, str, n);
            p += (uint32_t)n;
        }
        memset(buf + p, 0, at + 1024 - p);
    }
    for (size_t k = 0; k < sizeof m->blank_sectors / sizeof m->blank_sectors[0]; k++) {
        uint32_t sec = m->blank_sectors[k];
        if (sec == 0)
            break;
        if ((sec + 1) * 4096u <= m->len)
            memset(buf + sec * 4096u, 0xFF, 4096);
    }
    if (m->blank_block_at)
        memset(buf + (m->blank_block_at - m->offset), 0xFF, 65536);
    /* Header last: it describes the body (length and crc32 of everything after it). */
    memset(buf, 0, header_len);
    memcpy(buf, "TFAP", 4);
    put_le32(buf + 4, 1);           /* header version */
    put_le32(buf + 8, m->len);
    put_le32(buf + 12, m->offset);
    put_le32(buf + 16, (uint32_t)crc32(0, buf + header_len, m->len - header_len));
    snprintf((char *)buf + 32, 96, "%s", m->title);
    snprintf((char *)buf + 128, 64, "%s", bk_family_get(m->chip)->id);
}

static int all_ff(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0xFF)
            return 0;
    return 1;
}

/* UF2 of `bin` placed at `offset`: 256-byte payloads (the common choice), all-0xFF payloads
 * left out (the loader fills gaps with 0xFF), family id set on every block. */
static uint8_t *make_uf2(const uint8_t *bin, size_t len, uint32_t offset, uint32_t family,
                         size_t *out_len)
{
    const size_t chunk = 256;
    size_t nchunks = (len + chunk - 1) / chunk, nblocks = 0;
    for (size_t c = 0; c < nchunks; c++) {
        size_t n = len - c * chunk < chunk ? len - c * chunk : chunk;
        if (!all_ff(bin + c * chunk, n))
            nblocks++;
    }
    uint8_t *out = calloc(nblocks, BK_UF2_BLOCK_SIZE);
    if (!out)
        return NULL;
    size_t b = 0;
    for (size_t c = 0; c < nchunks; c++) {
        size_t n = len - c * chunk < chunk ? len - c * chunk : chunk;
        if (all_ff(bin + c * chunk, n))
            continue;
        uint8_t *blk = out + b * BK_UF2_BLOCK_SIZE;
        put_le32(blk, BK_UF2_MAGIC_START0);
        put_le32(blk + 4, BK_UF2_MAGIC_START1);
        put_le32(blk + 8, BK_UF2_FLAG_FAMILY_ID);
        put_le32(blk + 12, offset + (uint32_t)(c * chunk));
        put_le32(blk + 16, (uint32_t)n);
        put_le32(blk + 20, (uint32_t)b);
        put_le32(blk + 24, (uint32_t)nblocks);
        put_le32(blk + 28, family);
        memcpy(blk + 32, bin + c * chunk, n);
        put_le32(blk + 508, BK_UF2_MAGIC_END);
        b++;
    }
    *out_len = nblocks * BK_UF2_BLOCK_SIZE;
    return out;
}

/* Writes `data` to dir/name, or (check) compares it with the file there. Returns 0 if fine. */
static int emit(const char *dir, const char *name, const uint8_t *data, size_t len, int check)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (!check) {
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
            fprintf(stderr, "tf_mkimage: %s: cannot write: %s\n", path, strerror(errno));
            return 1;
        }
        printf("wrote %s (%zu bytes)\n", path, len);
        return 0;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "tf_mkimage: %s: cannot open: %s\n", path, strerror(errno));
        return 1;
    }
    int rc = 0;
    size_t at = 0;
    int c;
    while ((c = fgetc(f)) != EOF) {
        if (at >= len) {
            fprintf(stderr, "%s: longer than generated (%zu bytes)\n", path, len);
            rc = 1;
            break;
        }
        if ((uint8_t)c != data[at]) {
            fprintf(stderr, "%s: differs from generated at byte %zu (0x%02X, expected 0x%02X)\n",
                    path, at, (unsigned)c, data[at]);
            rc = 1;
            break;
        }
        at++;
    }
    if (rc == 0 && at != len) {
        fprintf(stderr, "%s: %zu bytes, generated %zu\n", path, at, len);
        rc = 1;
    }
    fclose(f);
    if (rc == 0)
        printf("%s: identical (%zu bytes)\n", path, len);
    return rc;
}

static int usage(void)
{
    fprintf(stderr, "usage: tf_mkimage write DIR   make the example images into DIR\n"
                    "       tf_mkimage check DIR   exit 1 unless DIR holds exactly them\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return usage();
    int check;
    if (strcmp(argv[1], "write") == 0)
        check = 0;
    else if (strcmp(argv[1], "check") == 0)
        check = 1;
    else
        return usage();
    int failures = 0;
    for (size_t i = 0; i < sizeof images / sizeof images[0]; i++) {
        const mk_image *m = &images[i];
        uint8_t *buf = malloc(m->len);
        if (!buf) {
            fprintf(stderr, "tf_mkimage: out of memory\n");
            return 1;
        }
        make_image(m, buf);
        failures += emit(argv[2], m->file, buf, m->len, check);
        if (m->uf2_file) {
            size_t ulen;
            uint8_t *uf2 = make_uf2(buf, m->len, m->offset, bk_family_get(m->chip)->uf2_family,
                                    &ulen);
            if (!uf2) {
                fprintf(stderr, "tf_mkimage: out of memory\n");
                free(buf);
                return 1;
            }
            failures += emit(argv[2], m->uf2_file, uf2, ulen, check);
            free(uf2);
        }
        free(buf);
    }
    return failures ? 1 : 0;
}
