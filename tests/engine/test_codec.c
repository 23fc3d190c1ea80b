/* Frame codec against byte vectors written out from the protocol document. */
#include <stdint.h>
#include "bk_cause.h"
#include "bk_chip.h"
#include "bk_plan.h"
#include "bk_proto.h"
#include "check.h"

static void test_encode_requests(void)
{
    uint8_t out[64];
    size_t n = bk_encode_request_short(out, sizeof out, BK_CMD_LINK_CHECK, NULL, 0);
    const uint8_t link[] = {0x01, 0xE0, 0xFC, 0x01, 0x00};
    CHECK_EQ_U(n, sizeof link);
    CHECK(memcmp(out, link, sizeof link) == 0);

    uint8_t p[8];
    bk_put_le32(p, 0x11000);
    bk_put_le32(p + 4, 0x12000);
    n = bk_encode_request_short(out, sizeof out, BK_CMD_CHECK_CRC, p, 8);
    const uint8_t crc[] = {0x01, 0xE0, 0xFC, 0x09, 0x10, 0x00, 0x10, 0x01, 0x00, 0x00, 0x20, 0x01, 0x00};
    CHECK_EQ_U(n, sizeof crc);
    CHECK(memcmp(out, crc, sizeof crc) == 0);

    uint8_t e[5] = {BK_ERASE_SIZE_64K};
    bk_put_le32(e + 1, 0x20000);
    n = bk_encode_request_long(out, sizeof out, BK_LCMD_ERASE, e, 5);
    const uint8_t erase[] = {0x01, 0xE0, 0xFC, 0xFF, 0xF4, 0x06, 0x00, 0x0F, 0xD8, 0x00, 0x00, 0x02, 0x00};
    CHECK_EQ_U(n, sizeof erase);
    CHECK(memcmp(out, erase, sizeof erase) == 0);

    CHECK_EQ_U(bk_encode_request_short(out, 4, BK_CMD_LINK_CHECK, NULL, 0), 0); /* too small */
    static uint8_t big[300];
    static uint8_t frame[300];
    CHECK_EQ_U(bk_encode_request_short(frame, sizeof frame, 0x10, big, 254), 0); /* LEN would be 0xFF */
    CHECK_EQ_U(bk_encode_request_short(frame, sizeof frame, 0x10, big, 253), 258); /* LEN 0xFE */
    CHECK_EQ_U(bk_encode_reply_short(frame, sizeof frame, 0x10, big, 251), 0);    /* LEN 4+251 */
    CHECK_EQ_U(bk_encode_reply_short(frame, sizeof frame, 0x10, big, 250), 257);
}

static void test_write_reply_is_15_bytes(void)
{
    uint8_t payload[5] = {0};
    bk_put_le32(payload + 1, 0x11000);
    uint8_t out[32];
    size_t n = bk_encode_reply_long(out, sizeof out, BK_LCMD_WRITE_4K, payload, 5);
    CHECK_EQ_U(n, 15); /* "BytesToRead 0 (expected 15)" */
    CHECK_EQ_U(bk_reply_frame_len(true, 5), 15);
    const uint8_t want[] = {0x04, 0x0E, 0xFF, 0x01, 0xE0, 0xFC, 0xF4, 0x06, 0x00, 0x07, 0x00, 0x00, 0x10, 0x01, 0x00};
    CHECK(memcmp(out, want, sizeof want) == 0);
}

static void test_decode_reply_with_garbage(void)
{
    /* boot log noise, then a LinkCheck reply, then half of another frame */
    uint8_t buf[64];
    size_t len = 0;
    const char noise[] = "\x55\xAA\x00\x04\x0E garbage";
    memcpy(buf, noise, sizeof noise - 1);
    len += sizeof noise - 1;
    len += bk_encode_reply_short(buf + len, sizeof buf - len, BK_CMD_LINK_CHECK_REPLY, (const uint8_t *)"\0", 1);
    buf[len++] = 0x04;
    buf[len++] = 0x0E;
    bk_frame f;
    size_t used = 0, garbage = 0;
    CHECK(bk_decode_reply(buf, len, &f, &used, &garbage) == BK_DECODE_FRAME);
    CHECK_EQ_U(garbage, sizeof noise - 1);
    CHECK(!f.is_long);
    CHECK_EQ_U(f.cmd, 0x01);
    CHECK_EQ_U(f.payload_len, 1);
    CHECK_EQ_U(f.payload[0], 0);
    CHECK_EQ_U(used, len - 2);
    /* the trailing 04 0E is a possible frame start: kept, not dropped */
    CHECK(bk_decode_reply(buf + used, len - used, &f, &used, &garbage) == BK_DECODE_NEED_MORE);
    CHECK_EQ_U(used, 0);
}

static void test_decode_split_long_frame(void)
{
    static uint8_t payload[5 + 4096], frame[BK_FRAME_MAX];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(i * 7);
    payload[0] = 0;
    size_t n = bk_encode_reply_long(frame, sizeof frame, BK_LCMD_READ_4K, payload, sizeof payload);
    CHECK_EQ_U(n, 10 + sizeof payload);
    bk_frame f;
    size_t used = 0, garbage = 0;
    /* every prefix is incomplete, none is garbage */
    for (size_t cut = 1; cut < n; cut += 97) {
        CHECK(bk_decode_reply(frame, cut, &f, &used, &garbage) == BK_DECODE_NEED_MORE);
        CHECK_EQ_U(used, 0);
    }
    CHECK(bk_decode_reply(frame, n, &f, &used, &garbage) == BK_DECODE_FRAME);
    CHECK(f.is_long);
    CHECK_EQ_U(f.cmd, BK_LCMD_READ_4K);
    CHECK_EQ_U(f.payload_len, sizeof payload);
    CHECK(memcmp(f.payload, payload, sizeof payload) == 0);
}

static void test_decode_request_roundtrip(void)
{
    static uint8_t data[4 + 4096], frame[BK_FRAME_MAX];
    bk_put_le32(data, 0x11000);
    for (size_t i = 4; i < sizeof data; i++)
        data[i] = (uint8_t)(0x11 + (i & 1) * 2); /* XON/XOFF bytes must survive the codec */
    size_t n = bk_encode_request_long(frame, sizeof frame, BK_LCMD_WRITE_4K, data, sizeof data);
    CHECK_EQ_U(n, 4108);
    bk_frame f;
    size_t used = 0, garbage = 0;
    CHECK(bk_decode_request(frame, n, &f, &used, &garbage) == BK_DECODE_FRAME);
    CHECK(f.is_long && f.cmd == BK_LCMD_WRITE_4K && f.payload_len == sizeof data);
    CHECK(memcmp(f.payload, data, sizeof data) == 0);
    /* a lone 01 that is not a preamble is garbage */
    const uint8_t junk[] = {0x01, 0x02, 0x01, 0xE0};
    CHECK(bk_decode_request(junk, sizeof junk, &f, &used, &garbage) == BK_DECODE_NEED_MORE);
    CHECK_EQ_U(garbage, 2);
    CHECK_EQ_U(used, 2);
}

static void test_chip_crc(void)
{
    uint8_t ff[4096];
    memset(ff, 0xFF, sizeof ff);
    /* protocol doc: crc32 of 4096 x 0xFF is 0xF154670A; the chip's value is its inverse */
    CHECK_EQ_U(~bk_chip_crc(ff, sizeof ff), 0xF154670Au);
    uint32_t a = bk_chip_crc_update(0xFFFFFFFFu, ff, 1000);
    CHECK_EQ_U(bk_chip_crc_update(a, ff + 1000, 3096), bk_chip_crc(ff, 4096));
    const uint8_t abc[] = "123456789";
    CHECK_EQ_U(~bk_chip_crc(abc, 9), 0xCBF43926u); /* the CRC-32 check value */
}

static void test_plan(void)
{
    /* 1 MiB at 0x11000: 15 sectors to 0x20000, 15 blocks, 1 sector (docs/physics-failures.md) */
    static uint8_t img[1 << 20];
    memset(img, 0x5A, sizeof img);
    memset(img + 0x30000, 0xFF, 0x2000); /* two blank sectors */
    static bk_plan p;
    CHECK(bk_plan_build(&p, img, sizeof img, 0x11000, BK_ERASE_AUTO));
    int sectors = 0, blocks = 0;
    for (int i = 0; i < p.n_units; i++) {
        if (p.units[i].size == BK_BLOCK_SIZE) {
            blocks++;
            CHECK_EQ_U(p.units[i].addr % BK_BLOCK_SIZE, 0);
        } else {
            sectors++;
        }
    }
    CHECK_EQ_U(sectors, 16);
    CHECK_EQ_U(blocks, 15);
    CHECK_EQ_U(p.n_sectors, 256);
    CHECK_EQ_U(p.region_crc, bk_chip_crc(img, sizeof img));
    int blank = 0;
    for (int i = 0; i < p.n_sectors; i++)
        blank += p.sector_blank[i];
    CHECK_EQ_U(blank, 2);
    CHECK(bk_plan_build(&p, img, sizeof img, 0x11000, BK_ERASE_4K));
    CHECK_EQ_U(p.n_units, 256);
    CHECK(!bk_plan_build(&p, img, 100, 0x11001, BK_ERASE_AUTO));
    /* a short image is padded with 0xFF to a whole sector */
    CHECK(bk_plan_build(&p, img, 100, 0x11000, BK_ERASE_AUTO));
    uint8_t s[BK_SECTOR_SIZE];
    bk_plan_sector_data(img, 100, 0, s);
    CHECK_EQ_U(s[99], 0x5A);
    CHECK_EQ_U(s[100], 0xFF);
    CHECK_EQ_U(p.units[0].chip_crc, bk_chip_crc(s, sizeof s));
}

static void test_tables(void)
{
    for (int c = 0; c < BK_CAUSE_COUNT; c++) {
        const bk_cause_info *ci = bk_cause_get((bk_cause)c);
        CHECK(ci->id && ci->name && ci->explain && ci->remedy);
        CHECK(bk_cause_from_id(ci->id) == (bk_cause)c);
    }
    CHECK(bk_cause_from_id("nonsense") == BK_CAUSE_COUNT);
    CHECK(strstr(bk_cause_remedy(BK_CAUSE_BROWNOUT), "3.3 V") != NULL);
    CHECK(bk_family_by_id("BK7231N")->crc_end_inclusive);
    CHECK(!bk_family_by_id("bk7231t")->crc_end_inclusive);
    CHECK(bk_family_by_chip_id(0x7231C)->chip == BK_CHIP_BK7231N);
    const uint8_t gd[3] = {0xC8, 0x40, 0x15}, en[3] = {0x1C, 0x70, 0x15};
    CHECK_EQ_U(bk_flash_part_find(gd)->sr_bytes, 2);
    CHECK_EQ_U(bk_flash_part_find(en)->sr_bytes, 1);
    /* the per-device table: T and N keep the RF calibration (the MAC) in different places */
    const bk_family *t = bk_family_get(BK_CHIP_BK7231T), *n = bk_family_get(BK_CHIP_BK7231N);
    CHECK(strstr(bk_per_device_overlap(n, 0x1D0000, 1)->name, "RF calibration") != NULL);
    CHECK(bk_per_device_overlap(t, 0x1D0000, 0x8000) == NULL);   /* OTA end on a T */
    CHECK(strstr(bk_per_device_overlap(t, 0x1D0000, 0x8001)->name, "key-value") != NULL);
    CHECK(strstr(bk_per_device_overlap(t, 0x1E0000, 0x1000)->name, "RF calibration") != NULL);
    CHECK(bk_per_device_overlap(t, 0x11000, 0x121000) == NULL);  /* the whole app partition */
    CHECK(bk_per_device_overlap(n, 0x11000, 0x1BF000) == NULL);  /* up to the N's RF sector */
    CHECK(bk_per_device_overlap(n, 0x11000, 0x1BF001) != NULL);
    CHECK(bk_per_device_overlap(t, 0x1FF000, 0x1000) != NULL);
    CHECK(t->rf_cal_addr == 0x1E0000 && n->rf_cal_addr == 0x1D0000);
    /* the MAC TLV */
    uint8_t rf[64];
    memset(rf, 0xFF, sizeof rf);
    uint8_t mac[6] = {0};
    CHECK(!bk_mac_from_rf_cal(rf, sizeof rf, mac));
    memcpy(rf + 0x1C, "\x02\x11\x11\x11\x06\x00\x00\x00\xd8\x1f\x12\x01\x02\x03", 14);
    CHECK(bk_mac_from_rf_cal(rf, sizeof rf, mac) && mac[0] == 0xD8 && mac[5] == 0x03);
    CHECK(!bk_mac_from_rf_cal(rf, 0x29, mac)); /* too short to hold it */
    /* the bootloader fingerprints: a T's 256 bytes, the N's 257 */
    CHECK(bk_boot_print_find(0xBA54C1B8u, 256)->chip == BK_CHIP_BK7231T);
    CHECK(bk_boot_print_find(0xE14191BAu, 257)->chip == BK_CHIP_BK7231N);
    CHECK(bk_boot_print_find(0xE14191BAu, 256) == NULL);
    CHECK(bk_boot_print_find(0x2739019Fu, 256)->chip == BK_CHIP_UNKNOWN);
}

int main(void)
{
    test_encode_requests();
    test_write_reply_is_15_bytes();
    test_decode_reply_with_garbage();
    test_decode_split_long_frame();
    test_decode_request_roundtrip();
    test_chip_crc();
    test_plan();
    test_tables();
    return CHECK_DONE();
}
