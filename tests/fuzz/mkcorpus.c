/* mkcorpus.c - the seed corpora of the three harnesses, made from the engine's own encoders
 * and the fixtures of fuzz_util.h (so the seed profiles pin the right sha256).
 *
 *   fuzz_mkcorpus write DIR   writes DIR/frame_decoder, DIR/image_loader, DIR/profile_loader
 *   fuzz_mkcorpus check DIR   fails if a seed it makes is missing there or differs
 *
 * Seeds are small on purpose: libFuzzer's speed falls with input size, and the interesting
 * structure (headers, lengths, block fields) sits in the first bytes. Files a fuzzing run adds
 * next to them (copied crashes, hand-made inputs) are left alone by both modes. */
#include "fuzz_util.h"
#include <errno.h>
#include <stdbool.h>
#include <sys/stat.h>

typedef struct gen {
    const char *root;
    bool check;
    int written, differ;
} gen;

static void emit(gen *g, const char *sub, const char *name, const void *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", g->root, sub);
    if (!g->check && mkdir(path, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        exit(1);
    }
    snprintf(path, sizeof path, "%s/%s/%s", g->root, sub, name);
    if (g->check) {
        FILE *f = fopen(path, "rb");
        uint8_t *have = malloc(len + 1);
        size_t got = f && have ? fread(have, 1, len + 1, f) : 0;
        if (!f || got != len || memcmp(have, data, len) != 0) {
            fprintf(stderr, "%s: %s (run: fuzz_mkcorpus write %s)\n", path,
                    f ? "differs from what fuzz_mkcorpus makes" : "missing", g->root);
            g->differ++;
        }
        if (f)
            fclose(f);
        free(have);
        return;
    }
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "%s: cannot write\n", path);
        exit(1);
    }
    g->written++;
}

/* ------------------------------------------------------------ frame decoder seeds */
typedef struct stream {
    uint8_t b[16384];
    size_t n;
} stream;

static void s_seed(stream *s, uint16_t seed)
{
    s->b[0] = (uint8_t)seed;
    s->b[1] = (uint8_t)(seed >> 8);
    s->n = 2;
}

static void s_add(stream *s, const void *p, size_t n)
{
    memcpy(s->b + s->n, p, n);
    s->n += n;
}

typedef size_t (*enc_fn)(uint8_t *, size_t, uint8_t, const uint8_t *, size_t);

static void s_frame(stream *s, enc_fn enc, uint8_t cmd, const uint8_t *p, size_t len)
{
    size_t n = enc(s->b + s->n, sizeof s->b - s->n, cmd, p, len);
    if (n == 0) {
        fprintf(stderr, "seed frame cmd 0x%02X of %zu bytes does not encode\n", cmd, len);
        exit(1);
    }
    s->n += n;
}

static void frames(gen *g)
{
    const char *d = "frame_decoder";
    uint8_t p[4200];
    fuzz_fix_fill(p, sizeof p, 42);
    struct { const char *name; bool is_long; uint8_t cmd; size_t req_len, rep_len; } cmds[] = {
        { "link_check", false, BK_CMD_LINK_CHECK, 0, 1 },
        { "write_reg", false, BK_CMD_WRITE_REG, 8, 8 },
        { "read_reg", false, BK_CMD_READ_REG, 4, 8 },
        { "reboot", false, BK_CMD_REBOOT, 1, 0 },
        { "set_baud", false, BK_CMD_SET_BAUD, 5, 5 },
        { "check_crc", false, BK_CMD_CHECK_CRC, 8, 4 },
        { "read_boot_version", false, BK_CMD_READ_BOOT_VERSION, 0, 12 },
        { "flash_write", true, BK_LCMD_WRITE, 4 + 256, 6 },
        { "flash_write_4k", true, BK_LCMD_WRITE_4K, 4 + 4096, 5 },
        { "flash_read", true, BK_LCMD_READ, 8, 5 + 256 },
        { "flash_read_4k", true, BK_LCMD_READ_4K, 4, 5 + 4096 },
        { "flash_erase_all", true, BK_LCMD_ERASE_ALL, 0, 1 },
        { "flash_erase_4k", true, BK_LCMD_ERASE_4K, 4, 5 },
        { "flash_read_sr", true, BK_LCMD_READ_SR, 1, 3 },
        { "flash_write_sr", true, BK_LCMD_WRITE_SR, 3, 4 },
        { "flash_get_mid", true, BK_LCMD_GET_MID, 4, 5 },
        { "flash_erase", true, BK_LCMD_ERASE, 5, 6 },
    };
    stream s;
    char name[128];
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        /* Seeds 0x0101.. vary the chunking from seed to seed. */
        uint16_t seed = (uint16_t)(0x0101 + 37 * i);
        s_seed(&s, seed);
        s_frame(&s, cmds[i].is_long ? bk_encode_request_long : bk_encode_request_short,
                cmds[i].cmd, p, cmds[i].req_len);
        snprintf(name, sizeof name, "req-%s", cmds[i].name);
        emit(g, d, name, s.b, s.n);
        s_seed(&s, seed);
        s_frame(&s, cmds[i].is_long ? bk_encode_reply_long : bk_encode_reply_short,
                cmds[i].cmd == BK_CMD_LINK_CHECK ? BK_CMD_LINK_CHECK_REPLY : cmds[i].cmd, p,
                cmds[i].rep_len);
        snprintf(name, sizeof name, "rep-%s", cmds[i].name);
        emit(g, d, name, s.b, s.n);
    }

    /* A whole session's replies, fed byte by byte (seed 0), then in random pieces. */
    static const uint8_t link_ok[] = { 0x00 };
    static const uint8_t baud[] = { 0x00, 0x10, 0x0E, 0x00, 0x14 };
    for (int k = 0; k < 2; k++) {
        s_seed(&s, k == 0 ? 0 : 0x00FF);
        s_frame(&s, bk_encode_reply_short, BK_CMD_LINK_CHECK_REPLY, link_ok, 1);
        s_frame(&s, bk_encode_reply_short, BK_CMD_SET_BAUD, baud, 5);
        s_frame(&s, bk_encode_reply_long, BK_LCMD_ERASE, p, 6);
        s_frame(&s, bk_encode_reply_long, BK_LCMD_WRITE_4K, p, 5);
        s_frame(&s, bk_encode_reply_short, BK_CMD_CHECK_CRC, p, 4);
        emit(g, d, k == 0 ? "split-session-bytewise" : "split-session-pieces", s.b, s.n);
    }
    /* The host's side of the same, with a 4 KiB write split across reads. */
    s_seed(&s, 0x0200);
    s_frame(&s, bk_encode_request_short, BK_CMD_LINK_CHECK, NULL, 0);
    s_frame(&s, bk_encode_request_short, BK_CMD_SET_BAUD, baud, 5);
    s_frame(&s, bk_encode_request_long, BK_LCMD_WRITE_4K, p, 4100);
    s_frame(&s, bk_encode_request_short, BK_CMD_CHECK_CRC, p, 8);
    emit(g, d, "split-requests", s.b, s.n);

    /* Garbage: a TuyaMCU's heartbeat between replies, a boot log, half preambles. */
    static const uint8_t tuya[] = { 0x55, 0xAA, 0x00, 0x00, 0x00, 0x00, 0xFF };
    static const char boot[] = "\r\nV:BK7231N_1.0.1\r\nREG:cpsr spsr r13 r14\r\n";
    s_seed(&s, 0x0031);
    s_add(&s, tuya, sizeof tuya);
    s_frame(&s, bk_encode_reply_short, BK_CMD_LINK_CHECK_REPLY, link_ok, 1);
    s_add(&s, tuya, sizeof tuya);
    s_add(&s, tuya, sizeof tuya);
    s_frame(&s, bk_encode_reply_short, BK_CMD_CHECK_CRC, p, 4);
    emit(g, d, "garbage-tuyamcu", s.b, s.n);
    s_seed(&s, 0x0007);
    s_add(&s, boot, sizeof boot - 1);
    s_frame(&s, bk_encode_reply_short, BK_CMD_LINK_CHECK_REPLY, link_ok, 1);
    emit(g, d, "garbage-bootlog", s.b, s.n);
    static const uint8_t half[] = { 0x04, 0x0E, 0x04, 0x01, 0xE0, 0x04, 0x0E, 0xFF, 0x01,
                                    0xE0, 0xFC, 0xF4, 0x01, 0xE0, 0xFC, 0xFF, 0xF4 };
    s_seed(&s, 0x0003);
    s_add(&s, half, sizeof half);
    s_frame(&s, bk_encode_reply_long, BK_LCMD_READ_SR, p, 3);
    s_frame(&s, bk_encode_request_short, BK_CMD_READ_REG, p, 4);
    emit(g, d, "garbage-half-preambles", s.b, s.n);
    /* Headers whose lengths are impossible: LEN 0, LEN16 0, LEN16 past a 4 KiB frame. */
    static const uint8_t bad_len[] = {
        0x01, 0xE0, 0xFC, 0x00, 0x01, 0xE0, 0xFC, 0xFF, 0xF4, 0x00, 0x00,
        0x01, 0xE0, 0xFC, 0xFF, 0xF4, 0xFF, 0xFF, 0x04, 0x0E, 0x03, 0x01, 0xE0, 0xFC,
        0x04, 0x0E, 0xFF, 0x01, 0xE0, 0xFC, 0xF4, 0x0E, 0x10 };
    s_seed(&s, 0x0011);
    s_add(&s, bad_len, sizeof bad_len);
    s_frame(&s, bk_encode_reply_short, BK_CMD_LINK_CHECK_REPLY, link_ok, 1);
    emit(g, d, "garbage-bad-lengths", s.b, s.n);
    /* A long reply cut short: the reader must keep it and not invent a frame. */
    s_seed(&s, 0x0100);
    s_frame(&s, bk_encode_reply_long, BK_LCMD_READ_4K, p, 5 + 4096);
    s.n -= 100;
    emit(g, d, "truncated-read-4k", s.b, s.n);
    /* The largest short request the decoder takes by its LEN byte (0xFE): 253 bytes. */
    s_seed(&s, 0x0040);
    s_add(&s, (const uint8_t[]){ 0x01, 0xE0, 0xFC, 0xFE, 0x10 }, 5);
    s_add(&s, p, 253);
    emit(g, d, "short-request-len-fe", s.b, s.n);
}

/* ------------------------------------------------------------ image seeds */
static void images(gen *g)
{
    const char *d = "image_loader";
    static uint8_t buf[0x11000 + 1024];
    uint8_t app[FUZZ_FIX_BIN_LEN];
    fuzz_fix_bin(app);
    emit(g, d, "bin-app", app, sizeof app);
    memset(buf, 0xFF, 4096);
    emit(g, d, "bin-blank-sector", buf, 4096);
    emit(g, d, "bin-one-byte", app, 1);

    uint8_t u[FUZZ_FIX_UF2_LEN];
    fuzz_fix_uf2(u, BK_CHIP_BK7231T);
    emit(g, d, "uf2-t", u, sizeof u);
    emit(g, d, "uf2-t-truncated", u, sizeof u - 300);
    emit(g, d, "uf2-t-one-block-of-three", u, BK_UF2_BLOCK_SIZE);
    fuzz_fix_uf2(u, BK_CHIP_BK7231N);
    emit(g, d, "uf2-n", u, sizeof u);

    const uint32_t fam_t = bk_family_get(BK_CHIP_BK7231T)->uf2_family;
    uint8_t b[4 * BK_UF2_BLOCK_SIZE];
    struct { const char *name; uint32_t flags, addr, size, no, num, family; } one[] = {
        { "uf2-no-family-flag", 0, 0x11000, 256, 0, 1, fam_t },
        { "uf2-other-family", BK_UF2_FLAG_FAMILY_ID, 0x11000, 256, 0, 1, 0xE48BFF56 },
        { "uf2-not-main-flash-only", BK_UF2_FLAG_NOT_MAIN_FLASH, 0x11000, 256, 0, 1, fam_t },
        { "uf2-size-zero", BK_UF2_FLAG_FAMILY_ID, 0x11000, 0, 0, 1, fam_t },
        { "uf2-size-477", BK_UF2_FLAG_FAMILY_ID, 0x11000, 477, 0, 1, fam_t },
        { "uf2-past-end", BK_UF2_FLAG_FAMILY_ID, 0x1FFF80, 256, 0, 1, fam_t },
        { "uf2-unaligned", BK_UF2_FLAG_FAMILY_ID, 0x11100, 256, 0, 1, fam_t },
        { "uf2-bootloader", BK_UF2_FLAG_FAMILY_ID, 0x0, 256, 0, 1, fam_t },
        { "uf2-wrong-block-count", BK_UF2_FLAG_FAMILY_ID, 0x11000, 256, 0, 7, fam_t },
    };
    for (size_t i = 0; i < sizeof one / sizeof one[0]; i++) {
        fuzz_uf2_block(b, one[i].flags, one[i].addr, one[i].size, one[i].no, one[i].num,
                       one[i].family, app);
        emit(g, d, one[i].name, b, BK_UF2_BLOCK_SIZE);
    }
    /* Two blocks writing the same bytes; a "not main flash" block amid good ones; a gap. */
    fuzz_uf2_block(b, BK_UF2_FLAG_FAMILY_ID, 0x11000, 256, 0, 2, fam_t, app);
    fuzz_uf2_block(b + 512, BK_UF2_FLAG_FAMILY_ID, 0x11080, 256, 1, 2, fam_t, app + 256);
    emit(g, d, "uf2-overlap", b, 2 * BK_UF2_BLOCK_SIZE);
    fuzz_uf2_block(b, BK_UF2_FLAG_FAMILY_ID, 0x11000, 256, 0, 3, fam_t, app);
    fuzz_uf2_block(b + 512, BK_UF2_FLAG_NOT_MAIN_FLASH, 0, 16, 1, 3, 0, app);
    fuzz_uf2_block(b + 1024, BK_UF2_FLAG_FAMILY_ID, 0x13000, 476, 2, 3, fam_t, app + 300);
    emit(g, d, "uf2-mixed-gap", b, 3 * BK_UF2_BLOCK_SIZE);
    fuzz_uf2_block(b, BK_UF2_FLAG_FAMILY_ID, 0x11000, 256, 0, 2, fam_t, app);
    fuzz_uf2_block(b + 512, BK_UF2_FLAG_FAMILY_ID, 0x11100, 256, 0, 2, fam_t, app);
    emit(g, d, "uf2-spliced", b, 2 * BK_UF2_BLOCK_SIZE);
    fuzz_uf2_block(b, BK_UF2_FLAG_FAMILY_ID, 0x11000, 256, 0, 2, fam_t, app);
    memcpy(b + 512, app, 512);
    emit(g, d, "uf2-bad-second-magic", b, 2 * BK_UF2_BLOCK_SIZE);

    uint8_t rbl[FUZZ_FIX_RBL_LEN];
    fuzz_fix_rbl(rbl);
    emit(g, d, "rbl-header", rbl, sizeof rbl);
    /* A whole-flash (QIO) image just past the bootloader. */
    fuzz_fix_fill(buf, sizeof buf, 0xB007);
    emit(g, d, "qio-small", buf, sizeof buf);
}

/* ------------------------------------------------------------ profile seeds */
static void profiles(gen *g)
{
    const char *d = "profile_loader";
    char sha_bin[65], sha_t[65], sha_n[65], sha_rbl[65];
    uint8_t bin[FUZZ_FIX_BIN_LEN], u[FUZZ_FIX_UF2_LEN], rbl[FUZZ_FIX_RBL_LEN];
    fuzz_fix_bin(bin);
    bk_sha256_hex(bin, sizeof bin, sha_bin);
    fuzz_fix_uf2(u, BK_CHIP_BK7231T);
    bk_sha256_hex(u, sizeof u, sha_t);
    fuzz_fix_uf2(u, BK_CHIP_BK7231N);
    bk_sha256_hex(u, sizeof u, sha_n);
    fuzz_fix_rbl(rbl);
    bk_sha256_hex(rbl, sizeof rbl, sha_rbl);

    char t[4096];
    struct { const char *name, *fmt; const char *a, *b; } seeds[] = {
        { "good-bin-every-key",
          "; every key of [profile]\n[profile]\nname = fuzz-plug\nproduct = Fuzz Plug P1\n"
          "chip = bk7231t\nbaud = 921600\nbaud_fallback = 460800, 115200\nimage = app.bin\n"
          "offset = 0x11000\nsha256 = %s\nerase = 4k\nallow_bootloader = no\n"
          "skip_unchanged = yes\nlink_timeout_ms = 10000\nwrite_retries = 2\nqio = no\n",
          sha_bin, NULL },
        { "good-uf2",
          "[profile]\nname = fuzz-uf2\nchip = bk7231t\nimage = app-t.uf2\nsha256 = %s\n",
          sha_t, NULL },
        { "good-variants",
          "[profile]\nname = fuzz-multi\nchip = BK7231T\nimage = app-t.uf2\nsha256 = %s\n"
          "baud = 2000000\n\n[variant bk7231n]\nchip = bk7231n\nimage = app-n.uf2\n"
          "offset = 0x11000\nsha256 = %s\n",
          sha_t, sha_n },
        { "good-qio-bootloader",
          "[profile]\nname = fuzz-qio\nchip = bk7231n\nimage = app.bin\nqio = on\n"
          "allow_bootloader = true\nsha256 = %s\nbaud = 115200\n",
          sha_bin, NULL },
        { "good-crlf-bom",
          "\xEF\xBB\xBF[profile]\r\nname = fuzz-crlf\r\nchip = bk7231t\r\nimage = app.bin\r\n"
          "offset = 69632\r\nsha256 = %s\r\n",
          sha_bin, NULL },
        { "bad-sha-mismatch",
          "[profile]\nname = fuzz\nchip = bk7231t\nimage = app.bin\noffset = 0x11000\n"
          "sha256 = %s\n",
          sha_t, NULL },
        { "bad-uf2-offset-differs",
          "[profile]\nname = fuzz\nchip = bk7231t\nimage = app-t.uf2\noffset = 0x12000\n"
          "sha256 = %s\n",
          sha_t, NULL },
        { "bad-uf2-wrong-family",
          "[profile]\nname = fuzz\nchip = bk7231n\nimage = app-t.uf2\nsha256 = %s\n",
          sha_t, NULL },
        { "bad-bin-no-offset",
          "[profile]\nname = fuzz\nchip = bk7231t\nimage = app.bin\nsha256 = %s\n",
          sha_bin, NULL },
        { "bad-bootloader-offset",
          "[profile]\nname = fuzz\nchip = bk7231t\nimage = app.bin\noffset = 0\nsha256 = %s\n",
          sha_bin, NULL },
        { "bad-rbl",
          "[profile]\nname = fuzz\nchip = bk7231t\nimage = app.rbl\noffset = 0x11000\n"
          "sha256 = %s\n",
          sha_rbl, NULL },
        { "bad-qio-too-small",
          "[profile]\nname = fuzz\nchip = bk7231t\nimage = app.bin\nqio = yes\nsha256 = %s\n",
          sha_bin, NULL },
        { "bad-variant-repeats-chip",
          "[profile]\nname = fuzz\nchip = bk7231t\nimage = app-t.uf2\nsha256 = %s\n"
          "[variant bk7231t]\nimage = app-t.uf2\nsha256 = %s\n",
          sha_t, sha_t },
        { "bad-fallback-order",
          "[profile]\nname = fuzz\nchip = bk7231t\nimage = app-t.uf2\nsha256 = %s\n"
          "baud = 460800\nbaud_fallback = 115200, 230400\n",
          sha_t, NULL },
        { "bad-image-is-folder",
          "[profile]\nname = fuzz\nchip = bk7231t\nimage = .\noffset = 0x11000\nsha256 = %s\n",
          sha_bin, NULL },
    };
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        /* fmt comes from seeds[] above: at most two %s, the a and b hashes */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        int n = snprintf(t, sizeof t, seeds[i].fmt, seeds[i].a, seeds[i].b);
#pragma GCC diagnostic pop
        emit(g, d, seeds[i].name, t, (size_t)n);
    }
    static const char nul[] = "[profile]\nname = fuzz\n\0chip = bk7231t\n";
    emit(g, d, "bad-nul-byte", nul, sizeof nul - 1);
    emit(g, d, "bad-empty", "", 0);
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "write") != 0 && strcmp(argv[1], "check") != 0)) {
        fprintf(stderr, "usage: %s write|check CORPUS_DIR\n", argv[0]);
        return 2;
    }
    gen g = { argv[2], strcmp(argv[1], "check") == 0, 0, 0 };
    frames(&g);
    images(&g);
    profiles(&g);
    if (g.check) {
        if (g.differ) {
            fprintf(stderr, "%d seed(s) missing or stale under %s\n", g.differ, g.root);
            return 1;
        }
        printf("every generated seed under %s is current\n", g.root);
    } else {
        printf("%d seeds written under %s\n", g.written, g.root);
    }
    return 0;
}
