/* test_sim_client.c - bksim as the public flashers meet it, through a real pty: open the port,
 * ~250 ms with no byte sent (bk7231tools' RTS/DTR reset sequence, which does nothing on a pty),
 * then LinkCheck every 5 ms (bk7231tools) or every 1 ms (uartprogram, tyutool); identify the
 * chip by its bootloader's CRC as bk7231tools does; erase after a LinkCheck (the T's CRC
 * protect lock), write, read back; and see the T/N CRC-end difference: the chip's CRC of
 * [0x11000, 0x11100] equals crc32 of 256 read-back bytes on a T (end exclusive) and of 257
 * on an N (end inclusive). Written from the protocol facts, not from any client's code. */
#include "bksim.h"
#include "sim_client.h"
#include <zlib.h>

#define APP 0x11000u

/* The reset sequence's silence: nothing may come from the module meanwhile. */
static void silent_for(int fd, int ms)
{
    uint8_t b[16];
    REQUIRE(cl_read(fd, b, sizeof b, ms) == 0);
}

static bool link_every(int fd, int period_ms, int timeout_ms)
{
    uint8_t rb[64];
    bk_frame fr;
    int64_t end = check_now_ms() + timeout_ms;
    while (check_now_ms() < end) {
        if (cl_exchange(fd, false, BK_CMD_LINK_CHECK, NULL, 0, rb, sizeof rb, &fr, period_ms) &&
            fr.cmd == 0x01 && fr.payload_len == 1 && fr.payload[0] == 0) {
            while (cl_read(fd, rb, sizeof rb, 20) > 0) { /* drain the flood's other answers */
            }
            return true;
        }
    }
    return false;
}

static uint32_t chip_crc(int fd, uint32_t start, uint32_t end)
{
    uint8_t p[8], rb[64];
    bk_frame fr;
    bk_put_le32(p, start);
    bk_put_le32(p + 4, end);
    REQUIRE(cl_exchange(fd, false, BK_CMD_CHECK_CRC, p, 8, rb, sizeof rb, &fr, 3000) == 11);
    return bk_get_le32(fr.payload);
}

static void read_4k(int fd, uint32_t addr, uint8_t *out)
{
    static uint8_t rb[BK_FRAME_MAX];
    uint8_t p[4];
    bk_frame fr;
    bk_put_le32(p, addr);
    REQUIRE(cl_exchange(fd, true, BK_LCMD_READ_4K, p, 4, rb, sizeof rb, &fr, 3000) == 4111);
    REQUIRE(fr.payload[0] == 0 && bk_get_le32(fr.payload + 1) == addr);
    memcpy(out, fr.payload + 5, 4096);
}

static void one_client(bk_chip chip, int period_ms)
{
    bksim_module_config mc;
    bksim_module_config_default(&mc);
    mc.chip = chip;
    bksim_config cfg = {.count = 1, .seed = 11, .time_scale = 0.25, .modules = &mc};
    char err[256];
    bksim_server *s = bksim_start(&cfg, err, sizeof err);
    REQUIRE(s);
    int fd = cl_open(bksim_link_path(s, 0), 115200);
    REQUIRE(fd >= 0);
    silent_for(fd, 250);
    REQUIRE(link_every(fd, period_ms, 3000));

    /* identification by the bootloader's CRC, as the tools' tables know it */
    uint32_t host = ~chip_crc(fd, 0, 0x100);
    const bk_boot_print *bp = bk_boot_print_find(host, 256);
    if (!bp)
        bp = bk_boot_print_find(host, 257);
    REQUIRE(bp && bp->chip == chip);
    REQUIRE(cl_link(fd, 1000)); /* after a CRC: LinkCheck before the next erase (T lock) */

    /* the N's flash is protected from the factory: clear its status register first */
    uint8_t rb[BK_FRAME_MAX];
    bk_frame fr;
    if (chip == BK_CHIP_BK7231N)
        REQUIRE(cl_exchange(fd, true, BK_LCMD_WRITE_SR, (uint8_t[]){0x01, 0x00, 0x00}, 3, rb, sizeof rb, &fr, 1000) == 14);

    /* erase, write, read back */
    static uint8_t data[4096], back[4096];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7 + 3);
    uint8_t ep[5] = {BK_ERASE_SIZE_4K};
    bk_put_le32(ep + 1, APP);
    REQUIRE(cl_exchange(fd, true, BK_LCMD_ERASE, ep, 5, rb, sizeof rb, &fr, 2000) == 16 && fr.payload[0] == 0);
    static uint8_t wp[4 + 4096];
    bk_put_le32(wp, APP);
    memcpy(wp + 4, data, sizeof data);
    REQUIRE(cl_exchange(fd, true, BK_LCMD_WRITE_4K, wp, sizeof wp, rb, sizeof rb, &fr, 2000) == 15 && fr.payload[0] == 0);
    read_4k(fd, APP, back);
    REQUIRE(memcmp(back, data, sizeof data) == 0);

    /* the CRC end: 256 bytes asked as [APP, APP+0x100] */
    uint32_t crc = ~chip_crc(fd, APP, APP + 0x100);
    uint32_t c256 = (uint32_t)crc32(0, back, 256), c257 = (uint32_t)crc32(0, back, 257);
    if (chip == BK_CHIP_BK7231T)
        REQUIRE(crc == c256 && crc != c257);
    else
        REQUIRE(crc == c257 && crc != c256);
    close(fd);
    bksim_stop(s);
}

int main(void)
{
    one_client(BK_CHIP_BK7231T, 5);
    one_client(BK_CHIP_BK7231N, 5);
    one_client(BK_CHIP_BK7231T, 1);
    one_client(BK_CHIP_BK7231N, 1);
    printf("sim client: ok\n");
    return 0;
}
