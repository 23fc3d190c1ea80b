/* test_sim_model.c - the module model with a fake clock: commands of each family, CRC end
 * semantics, protection quirks, NOR semantics, aliasing, timing charged, faults. */
#include "bksim.h"
#include "sim_client.h"

typedef struct fx {
    bksim_module *m;
    int64_t now;          /* fake clock, model ns */
    uint32_t host_baud;
    uint8_t rx[BK_FRAME_MAX + 64];
    bk_frame fr;
    int64_t due;          /* when the last reply was due */
    int64_t sent_end;     /* when the last request finished arriving */
} fx;

static void fx_init(fx *f, bk_chip chip, const char *fault, double scale)
{
    bksim_module_config mc;
    bksim_module_config_default(&mc);
    mc.chip = chip;
    char err[200];
    if (fault)
        REQUIRE(bksim_fault_parse(fault, &mc.faults, err, sizeof err));
    memset(f, 0, sizeof *f);
    f->m = bksim_module_new(&mc, NULL, 42, 0, scale, err, sizeof err);
    REQUIRE(f->m);
    f->host_baud = 115200;
    f->now = 1000000;
    bksim_module_power_up(f->m, f->now);
}

static int64_t wire(uint32_t baud, size_t n) { return (int64_t)((double)n * 1e10 / baud + 0.999999); }

/* Send a request at f->now; collect the reply if one becomes due. Returns reply frame length. */
static size_t fx_x(fx *f, bool is_long, uint8_t cmd, const uint8_t *p, size_t n)
{
    uint8_t req[BK_FRAME_MAX];
    size_t len = is_long ? bk_encode_request_long(req, sizeof req, cmd, p, n)
                         : bk_encode_request_short(req, sizeof req, cmd, p, n);
    REQUIRE(len);
    bksim_module_rx(f->m, req, len, f->host_baud, f->now);
    f->sent_end = f->now + wire(f->host_baud, len);
    int64_t due;
    if (!bksim_module_next_due(f->m, &due) || bksim_module_pending(f->m) == 0)
        return 0;
    REQUIRE(bksim_module_tx(f->m, due - 1, f->host_baud, f->rx, sizeof f->rx) == 0); /* not before due */
    size_t got = bksim_module_tx(f->m, due, f->host_baud, f->rx, sizeof f->rx);
    f->due = due;
    f->now = due;
    size_t consumed, garbage;
    if (bk_decode_reply(f->rx, got, &f->fr, &consumed, &garbage) != BK_DECODE_FRAME)
        return SIZE_MAX; /* bytes came, but no frame: garbled */
    return consumed - garbage;
}

static void fx_link(fx *f)
{
    REQUIRE(fx_x(f, false, BK_CMD_LINK_CHECK, NULL, 0) == 8);
    REQUIRE(f->fr.cmd == 0x01 && f->fr.payload_len == 1 && f->fr.payload[0] == 0);
}

static uint8_t fx_erase(fx *f, uint8_t size, uint32_t addr)
{
    uint8_t p[5] = {size};
    bk_put_le32(p + 1, addr);
    REQUIRE(fx_x(f, true, BK_LCMD_ERASE, p, 5) == 16);
    REQUIRE(f->fr.payload[1] == size && bk_get_le32(f->fr.payload + 2) == addr);
    return f->fr.payload[0];
}

static size_t fx_write4k(fx *f, uint32_t addr, uint8_t fill)
{
    static uint8_t p[4 + 4096];
    bk_put_le32(p, addr);
    memset(p + 4, fill, 4096);
    return fx_x(f, true, BK_LCMD_WRITE_4K, p, sizeof p);
}

static uint32_t fx_crc(fx *f, uint32_t start, uint32_t end)
{
    uint8_t p[8];
    bk_put_le32(p, start);
    bk_put_le32(p + 4, end);
    REQUIRE(fx_x(f, false, BK_CMD_CHECK_CRC, p, 8) == 11);
    return bk_get_le32(f->fr.payload);
}

static uint8_t flash_at(fx *f, uint32_t a)
{
    uint8_t b;
    bksim_module_read_flash(f->m, a, &b, 1);
    return b;
}

static void test_link_timing_and_window(void)
{
    fx f;
    fx_init(&f, BK_CHIP_BK7231T, NULL, 1.0);
    int64_t t0 = f.now;
    fx_link(&f);
    REQUIRE(f.due == t0 + wire(115200, 5) + wire(115200, 8)); /* wire both ways, no chip time */
    REQUIRE(bksim_module_state(f.m) == BKSIM_DOWNLOAD);
    bksim_module_free(f.m);

    /* Public clients spend ~200-250 ms in their reset sequence before the first LinkCheck:
     * 300 ms of silence still finds the loader listening (window 500 ms, sim/README.md) */
    fx_init(&f, BK_CHIP_BK7231T, NULL, 1.0);
    f.now += 300 * 1000000LL;
    fx_link(&f);
    REQUIRE(bksim_module_state(f.m) == BKSIM_DOWNLOAD);
    bksim_module_free(f.m);

    fx_init(&f, BK_CHIP_BK7231T, NULL, 1.0);
    f.now += 600 * 1000000LL; /* past the window: the app runs */
    REQUIRE(fx_x(&f, false, BK_CMD_LINK_CHECK, NULL, 0) == 0);
    REQUIRE(bksim_module_state(f.m) == BKSIM_APP);
    bksim_module_free(f.m);

    fx_init(&f, BK_CHIP_BK7231T, "no-download", 1.0);
    REQUIRE(fx_x(&f, false, BK_CMD_LINK_CHECK, NULL, 0) == 0);
    REQUIRE(bksim_module_state(f.m) != BKSIM_DOWNLOAD);
    bksim_module_free(f.m);
}

static void test_t_command_set(void)
{
    fx f;
    fx_init(&f, BK_CHIP_BK7231T, NULL, 1.0);
    fx_link(&f);
    uint8_t reg[4];
    bk_put_le32(reg, 0x800000);
    REQUIRE(fx_x(&f, false, BK_CMD_READ_REG, reg, 4) == 0);           /* no ReadReg on T */
    REQUIRE(fx_x(&f, true, BK_LCMD_GET_MID, (uint8_t[]){0x9F, 0, 0, 0}, 4) == 0);
    REQUIRE(fx_x(&f, true, BK_LCMD_READ_SR, (uint8_t[]){0x05}, 1) == 0);
    REQUIRE(fx_x(&f, false, BK_CMD_READ_BOOT_VERSION, NULL, 0) > 0);
    REQUIRE(f.fr.payload_len == 13 && memcmp(f.fr.payload, "BK7231S_1.0.5", 13) == 0);
    /* FlashRead4K returns the flash */
    uint8_t a[4], want[4096];
    bk_put_le32(a, 0x11000);
    REQUIRE(fx_x(&f, true, BK_LCMD_READ_4K, a, 4) == 10 + 5 + 4096);
    bksim_module_read_flash(f.m, 0x11000, want, sizeof want);
    REQUIRE(f.fr.payload[0] == 0 && memcmp(f.fr.payload + 5, want, 4096) == 0);
    /* FlashWrite (<= 256 B) programs */
    uint8_t w[4 + 16];
    bk_put_le32(w, 0x1F0000);
    memset(w + 4, 0x5A, 16);
    REQUIRE(fx_x(&f, true, BK_LCMD_WRITE, w, sizeof w) == 16);
    REQUIRE(f.fr.payload[0] == 0 && f.fr.payload[5] == 16 && flash_at(&f, 0x1F000F) == 0x5A);
    /* the loader refuses to read its own region: status 6, LEN 6, no data (§7.3, §10.5) ... */
    for (uint32_t at = 0; at < 0x11000; at += 0x10000) {
        bk_put_le32(a, at);
        REQUIRE(fx_x(&f, true, BK_LCMD_READ_4K, a, 4) == 15);
        REQUIRE(f.fr.payload_len == 5 && f.fr.payload[0] == 6 && bk_get_le32(f.fr.payload + 1) == at);
    }
    bk_put_le32(a, 0x10000);
    REQUIRE(fx_x(&f, true, BK_LCMD_READ_4K, a, 4) == 15 && f.fr.payload[0] == 6);
    /* ... but the alias above 2 MiB reaches it */
    bk_put_le32(a, 0x200000);
    REQUIRE(fx_x(&f, true, BK_LCMD_READ_4K, a, 4) == 10 + 5 + 4096 && f.fr.payload[0] == 0);
    bksim_module_read_flash(f.m, 0, want, sizeof want);
    REQUIRE(memcmp(f.fr.payload + 5, want, 4096) == 0);
    /* the BootROM-only commands get no reply at all from the T loader (§3.1, §12.2) */
    REQUIRE(fx_x(&f, true, BK_LCMD_READ, (uint8_t[]){0, 0x10, 1, 0, 16}, 5) == 0);
    REQUIRE(fx_x(&f, true, BK_LCMD_ERASE_ALL, (uint8_t[]){4}, 1) == 0);
    REQUIRE(fx_x(&f, true, BK_LCMD_ERASE_4K, (uint8_t[]){0, 0x10, 1, 0}, 4) == 0);
    REQUIRE(fx_x(&f, true, BK_LCMD_WRITE_SR, (uint8_t[]){1, 0}, 2) == 0);
    REQUIRE(fx_x(&f, false, BK_CMD_WRITE_REG, (uint8_t[]){0x74, 0, 0x80, 0, 1, 0, 0, 0}, 8) == 0);
    REQUIRE(fx_x(&f, false, BK_CMD_STAY_ROM, (uint8_t[]){0x55}, 1) == 0);
    REQUIRE(fx_x(&f, false, 0x55, NULL, 0) == 0);
    REQUIRE(bksim_module_state(f.m) == BKSIM_DOWNLOAD);
    bksim_module_free(f.m);
}

static void test_n_command_set(void)
{
    fx f;
    fx_init(&f, BK_CHIP_BK7231N, NULL, 1.0);
    fx_link(&f);
    uint8_t reg[4];
    bk_put_le32(reg, 0x800000);
    REQUIRE(fx_x(&f, false, BK_CMD_READ_REG, reg, 4) == 15);
    REQUIRE(bk_get_le32(f.fr.payload) == 0x800000 && bk_get_le32(f.fr.payload + 4) == 0x7231C);
    bk_put_le32(reg, 0x800004);
    REQUIRE(fx_x(&f, false, BK_CMD_READ_REG, reg, 4) == 15 && bk_get_le32(f.fr.payload + 4) == 0);
    /* ReadBootVersion is no BootROM command: it answers one byte 07, UNKNOW_CMD (§3.7) */
    REQUIRE(fx_x(&f, false, BK_CMD_READ_BOOT_VERSION, NULL, 0) == 8);
    REQUIRE(f.fr.cmd == BK_CMD_READ_BOOT_VERSION && f.fr.payload_len == 1 && f.fr.payload[0] == 0x07);
    /* as does any command it lacks, short or long (§2.3) */
    REQUIRE(fx_x(&f, false, 0x55, NULL, 0) == 8 && f.fr.payload[0] == 0x07);
    REQUIRE(fx_x(&f, true, 0x30, NULL, 0) == 11 && f.fr.payload_len == 1 && f.fr.payload[0] == 0x07);
    /* StayRom echoes 55 */
    REQUIRE(fx_x(&f, false, BK_CMD_STAY_ROM, (uint8_t[]){0x55}, 1) == 8 && f.fr.payload[0] == 0x55);
    /* WriteReg echoes address and value (15 bytes) */
    REQUIRE(fx_x(&f, false, BK_CMD_WRITE_REG, (uint8_t[]){0x74, 0, 0x80, 0, 1, 0, 0, 0}, 8) == 15);
    REQUIRE(bk_get_le32(f.fr.payload) == 0x800074 && bk_get_le32(f.fr.payload + 4) == 1);
    /* Reboot with another argument than A5 is echoed, not obeyed (§3.8) */
    REQUIRE(fx_x(&f, false, BK_CMD_REBOOT, (uint8_t[]){0x11}, 1) == 8 && f.fr.payload[0] == 0x11);
    REQUIRE(bksim_module_state(f.m) == BKSIM_DOWNLOAD);
    REQUIRE(fx_x(&f, true, BK_LCMD_GET_MID, (uint8_t[]){0x9F, 0, 0, 0}, 4) == 15);
    REQUIRE(f.fr.payload[0] == 0 && memcmp(f.fr.payload + 2, bksim_module_jedec(f.m), 3) == 0);
    REQUIRE(f.fr.payload[4] == 0x15); /* 2 MiB part */
    REQUIRE(fx_x(&f, true, BK_LCMD_READ_SR, (uint8_t[]){0x05}, 1) == 13);
    REQUIRE(f.fr.payload[0] == 0 && f.fr.payload[1] == 0x05 && f.fr.payload[2] == 0x1C);
    /* protected: erase acks and changes nothing */
    uint8_t before = flash_at(&f, 0x11000);
    REQUIRE(before != 0xFF || flash_at(&f, 0x11001) != 0xFF);
    REQUIRE(fx_erase(&f, BK_ERASE_SIZE_4K, 0x11000) == 0);
    REQUIRE(flash_at(&f, 0x11000) == before);
    /* clear SR (charged 10 ms), then erase works */
    int64_t t = f.now;
    REQUIRE(fx_x(&f, true, BK_LCMD_WRITE_SR, (uint8_t[]){0x01, 0x00, 0x00}, 3) == 14);
    REQUIRE(f.due == t + wire(115200, 11) + 10000000 + wire(115200, 14));
    REQUIRE((bksim_module_sr(f.m) & 0x407C) == 0);
    REQUIRE(fx_erase(&f, BK_ERASE_SIZE_4K, 0x11000) == 0);
    REQUIRE(flash_at(&f, 0x11000) == 0xFF && flash_at(&f, 0x11FFF) == 0xFF);
    /* Erase4K and EraseAll exist on the BootROM */
    uint8_t a[4];
    bk_put_le32(a, 0x12000);
    REQUIRE(fx_x(&f, true, BK_LCMD_ERASE_4K, a, 4) > 0 && f.fr.payload[0] == 0 && flash_at(&f, 0x12000) == 0xFF);
    /* FlashRead: address + a ONE-byte count; reply LEN 6 + count (§3.17) */
    uint8_t rd[5] = {0};
    bk_put_le32(rd, 0x1D0000 + 0x1C);
    rd[4] = 14;
    REQUIRE(fx_x(&f, true, BK_LCMD_READ, rd, 5) == 11 + 4 + 14);
    REQUIRE(f.fr.payload[0] == 0 && bk_get_le32(f.fr.payload + 1) == 0x1D001C);
    REQUIRE(memcmp(f.fr.payload + 5, "\x02\x11\x11\x11\x06\x00\x00\x00", 8) == 0); /* the MAC TLV */
    uint8_t mac[6];
    bksim_module_mac(f.m, mac);
    REQUIRE(memcmp(f.fr.payload + 13, mac, 6) == 0);
    /* FlashEraseAll: one timeout byte, reply status + its echo (12 bytes, §3.1) */
    REQUIRE(fx_x(&f, true, BK_LCMD_ERASE_ALL, (uint8_t[]){0x04}, 1) == 12);
    REQUIRE(f.fr.payload_len == 2 && f.fr.payload[0] == 0 && f.fr.payload[1] == 0x04 && flash_at(&f, 0) == 0xFF);
    /* a FlashWrite4K with the wrong length: PACK_LEN_ERROR (4) */
    uint8_t shortw[4 + 100];
    memset(shortw, 0, sizeof shortw);
    bk_put_le32(shortw, 0x11000);
    REQUIRE(fx_x(&f, true, BK_LCMD_WRITE_4K, shortw, sizeof shortw) == 15 && f.fr.payload[0] == 4);
    /* RESET "SEAN": a watchdog reset, no reply */
    REQUIRE(fx_x(&f, false, BK_CMD_RESET_SEAN, (const uint8_t *)"SEAN", 4) == 0);
    REQUIRE(bksim_module_state(f.m) == BKSIM_WINDOW);
    bksim_module_free(f.m);

    /* flash_protected on N: the SR write is ignored */
    fx_init(&f, BK_CHIP_BK7231N, "protected", 1.0);
    fx_link(&f);
    REQUIRE(fx_x(&f, true, BK_LCMD_WRITE_SR, (uint8_t[]){0x01, 0x00}, 2) == 13 && f.fr.payload[0] == 0);
    REQUIRE((bksim_module_sr(f.m) & 0x407C) != 0);
    bksim_module_free(f.m);
}

static void test_crc_ends(void)
{
    uint8_t data[257];
    fx f;
    fx_init(&f, BK_CHIP_BK7231T, NULL, 1.0);
    fx_link(&f);
    bksim_module_read_flash(f.m, 0x11000, data, sizeof data);
    REQUIRE(fx_crc(&f, 0x11000, 0x11100) == bk_chip_crc(data, 256)); /* T: end exclusive */
    bksim_module_free(f.m);
    fx_init(&f, BK_CHIP_BK7231N, NULL, 1.0);
    fx_link(&f);
    bksim_module_read_flash(f.m, 0x11000, data, sizeof data);
    REQUIRE(fx_crc(&f, 0x11000, 0x11100) == bk_chip_crc(data, 257)); /* N: end inclusive */
    REQUIRE(fx_crc(&f, 0x11000, 0x110FF) == bk_chip_crc(data, 256));
    /* CRC time charged: 64 KiB at 400 kB/s */
    int64_t t = f.now;
    fx_crc(&f, 0x20000, 0x2FFFF);
    REQUIRE(f.due == t + wire(115200, 13) + (int64_t)(65536 / 400000.0 * 1e9 + 0.999999) + wire(115200, 11));
    bksim_module_free(f.m);
}

static bool sector_is(fx *f, uint32_t addr, uint8_t v)
{
    static uint8_t buf[4096];
    bksim_module_read_flash(f->m, addr, buf, sizeof buf);
    for (size_t i = 0; i < sizeof buf; i++)
        if (buf[i] != v)
            return false;
    return true;
}

/* The CRC protect lock, one row of the protocol doc's table each (reference §6.4). */
static void test_t_crc_lock_table(void)
{
    fx f;
    bksim_stats st;
    /* row 1: CRC, LinkCheck, FlashErase, FlashWrite4K -> both take effect */
    fx_init(&f, BK_CHIP_BK7231T, NULL, 1.0);
    fx_link(&f);
    fx_crc(&f, 0x11000, 0x12000);
    fx_link(&f);
    REQUIRE(fx_erase(&f, BK_ERASE_SIZE_4K, 0x11000) == 0 && sector_is(&f, 0x11000, 0xFF));
    REQUIRE(fx_write4k(&f, 0x11000, 0x5A) == 15 && f.fr.payload[0] == 0 && sector_is(&f, 0x11000, 0x5A));
    /* the lock stays lifted: a later unit's erase and write need no new LinkCheck */
    REQUIRE(fx_erase(&f, BK_ERASE_SIZE_4K, 0x12000) == 0 && fx_write4k(&f, 0x12000, 0x33) == 15);
    REQUIRE(sector_is(&f, 0x12000, 0x33));
    bksim_module_stats(f.m, &st);
    REQUIRE(st.writes_dropped == 0 && st.erases_dropped == 0);
    bksim_module_free(f.m);

    /* row 2: CRC, FlashErase with no LinkCheck, FlashWrite4K -> both ACKed, nothing changes */
    fx_init(&f, BK_CHIP_BK7231T, NULL, 1.0);
    fx_link(&f);
    uint8_t before[4096], now[4096];
    bksim_module_read_flash(f.m, 0x11000, before, sizeof before);
    fx_crc(&f, 0x11000, 0x12000);
    REQUIRE(fx_erase(&f, BK_ERASE_SIZE_4K, 0x11000) == 0);
    REQUIRE(fx_write4k(&f, 0x11000, 0x00) == 15 && f.fr.payload[0] == 0);
    bksim_module_read_flash(f.m, 0x11000, now, sizeof now);
    REQUIRE(memcmp(before, now, sizeof now) == 0);
    bksim_module_stats(f.m, &st);
    REQUIRE(st.writes_dropped == 1 && st.erases_dropped == 1);
    bksim_module_free(f.m);

    /* row 3: CRC, LinkCheck, FlashWrite4K with no erase after the CRC -> nothing programmed */
    fx_init(&f, BK_CHIP_BK7231T, NULL, 1.0);
    fx_link(&f);
    REQUIRE(fx_erase(&f, BK_ERASE_SIZE_4K, 0x11000) == 0 && sector_is(&f, 0x11000, 0xFF));
    fx_crc(&f, 0x11000, 0x12000);
    fx_link(&f);
    REQUIRE(fx_write4k(&f, 0x11000, 0x00) == 15 && f.fr.payload[0] == 0);
    REQUIRE(sector_is(&f, 0x11000, 0xFF));
    bksim_module_free(f.m);

    /* row 4: FlashErase, CheckCRC (a blank check), LinkCheck, FlashWrite4K -> the write is lost */
    fx_init(&f, BK_CHIP_BK7231T, NULL, 1.0);
    fx_link(&f);
    fx_crc(&f, 0x0, 0x100); /* identification: the lock is on */
    fx_link(&f);
    REQUIRE(fx_erase(&f, BK_ERASE_SIZE_4K, 0x11000) == 0 && sector_is(&f, 0x11000, 0xFF));
    REQUIRE(fx_crc(&f, 0x11000, 0x12000) == 0x0EAB98F5u); /* blank: the reference's test vector */
    fx_link(&f);
    REQUIRE(fx_write4k(&f, 0x11000, 0x00) == 15 && f.fr.payload[0] == 0);
    REQUIRE(sector_is(&f, 0x11000, 0xFF));
    bksim_module_stats(f.m, &st);
    REQUIRE(st.writes_dropped == 1);
    bksim_module_free(f.m);

    /* the N BootROM has no such lock */
    fx_init(&f, BK_CHIP_BK7231N, NULL, 1.0);
    fx_link(&f);
    REQUIRE(fx_x(&f, true, BK_LCMD_WRITE_SR, (uint8_t[]){0x01, 0x00, 0x00}, 3) == 14);
    REQUIRE(fx_erase(&f, BK_ERASE_SIZE_4K, 0x11000) == 0);
    fx_crc(&f, 0x11000, 0x11FFF);
    REQUIRE(fx_write4k(&f, 0x11000, 0x5A) == 15 && sector_is(&f, 0x11000, 0x5A));
    bksim_module_free(f.m);
}

static void test_t_protection(void)
{
    fx f;
    fx_init(&f, BK_CHIP_BK7231T, NULL, 1.0);
    fx_link(&f);
    uint8_t boot0 = flash_at(&f, 0x100);
    REQUIRE(fx_erase(&f, BK_ERASE_SIZE_4K, 0x0) == 0);     /* acked ... */
    REQUIRE(flash_at(&f, 0x100) == boot0);                  /* ... but protected */
    REQUIRE(fx_write4k(&f, 0x1000, 0x00) == 15 && f.fr.payload[0] == 0);
    REQUIRE(flash_at(&f, 0x1000) != 0x00 || flash_at(&f, 0x1001) != 0x00);
    /* aliasing past the flash end reaches the bootloader: protection looks at the raw address */
    REQUIRE(fx_erase(&f, BK_ERASE_SIZE_4K, 0x200000) == 0);
    REQUIRE(flash_at(&f, 0x0) == 0xFF && flash_at(&f, 0xFFF) == 0xFF);
    bksim_module_free(f.m);

    fx_init(&f, BK_CHIP_BK7231T, "protected", 1.0);
    fx_link(&f);
    uint8_t app = flash_at(&f, 0x11000);
    REQUIRE(fx_erase(&f, BK_ERASE_SIZE_4K, 0x11000) == 0 && flash_at(&f, 0x11000) == app);
    bksim_module_free(f.m);
}

/* Clients fingerprint the flash bootloader by the CRC of its first bytes (reference §4). */
static void test_bootloader_fingerprint(void)
{
    static const struct { bk_chip chip; bksim_boot boot; uint32_t raw; } rows[] = {
        {BK_CHIP_BK7231T, BKSIM_BOOT_DEFAULT, 0x45AB3E47u},       /* BK7231S 1.0.5 */
        {BK_CHIP_BK7231T, BKSIM_BOOT_BK7231S_1_0_1, 0x3E13578Eu},
        {BK_CHIP_BK7231T, BKSIM_BOOT_BK7231S_1_0_3, 0xB4CE1BB2u},
        {BK_CHIP_BK7231T, BKSIM_BOOT_BK7231S_1_0_6, 0x1A3436ACu},
        {BK_CHIP_BK7231N, BKSIM_BOOT_DEFAULT, 0x1EBE6E45u},       /* bl_bk7231n_1.0.1, inclusive */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        bksim_module_config mc;
        bksim_module_config_default(&mc);
        mc.chip = rows[i].chip;
        mc.boot = rows[i].boot;
        char err[160];
        fx f;
        memset(&f, 0, sizeof f);
        f.m = bksim_module_new(&mc, NULL, 9, (int)i, 1.0, err, sizeof err);
        REQUIRE(f.m);
        f.host_baud = 115200;
        f.now = 1000000;
        bksim_module_power_up(f.m, f.now);
        fx_link(&f);
        REQUIRE(fx_crc(&f, 0, 0x100) == rows[i].raw);
        if (rows[i].chip == BK_CHIP_BK7231N)
            REQUIRE(fx_crc(&f, 0, 0xFF) == 0xBF9C2D66u); /* the exclusive variant of the same bytes */
        bksim_module_free(f.m);
    }
    /* a T loader does not run on an N */
    bksim_module_config mc;
    bksim_module_config_default(&mc);
    mc.chip = BK_CHIP_BK7231N;
    mc.boot = BKSIM_BOOT_BK7231S_1_0_5;
    char err[160];
    REQUIRE(!bksim_module_new(&mc, NULL, 9, 0, 1.0, err, sizeof err) && strstr(err, "bootloader"));
}

static void test_nor_and_alias(void)
{
    fx f;
    fx_init(&f, BK_CHIP_BK7231T, NULL, 1.0);
    fx_link(&f);
    int64_t t = f.now;
    REQUIRE(fx_erase(&f, BK_ERASE_SIZE_64K, 0x20000) == 0);
    REQUIRE(f.due == t + wire(115200, 13) + 200000000 + wire(115200, 16)); /* 64K erase charged */
    t = f.now;
    REQUIRE(fx_write4k(&f, 0x20000, 0xF0) == 15);
    REQUIRE(f.due == t + wire(115200, 4108) + 16 * 650000 + wire(115200, 15)); /* 16 pages */
    REQUIRE(fx_write4k(&f, 0x20000, 0x3C) == 15);
    REQUIRE(flash_at(&f, 0x20000) == (0xF0 & 0x3C));  /* bits only go 1 -> 0 */
    REQUIRE(fx_erase(&f, BK_ERASE_SIZE_4K, 0x20000) == 0 && flash_at(&f, 0x20000) == 0xFF);
    /* aliasing: 0x221000 is 0x021000 */
    REQUIRE(fx_write4k(&f, 0x221000, 0x12) == 15 && bk_get_le32(f.fr.payload + 1) == 0x221000);
    REQUIRE(flash_at(&f, 0x21000) == 0x12 && flash_at(&f, 0x21FFF) == 0x12);
    bksim_module_free(f.m);

    fx_init(&f, BK_CHIP_BK7231T, "slow-flash", 1.0);
    fx_link(&f);
    t = f.now;
    fx_erase(&f, BK_ERASE_SIZE_4K, 0x20000);
    REQUIRE(f.due == t + wire(115200, 13) + 300000000 + wire(115200, 16));
    bksim_module_free(f.m);
}

static void test_baud_switch_and_garbage(void)
{
    fx f;
    fx_init(&f, BK_CHIP_BK7231T, NULL, 1.0);
    fx_link(&f);
    uint8_t p[5];
    bk_put_le32(p, 921600);
    p[4] = 20;
    uint8_t req[16];
    size_t n = bk_encode_request_short(req, sizeof req, BK_CMD_SET_BAUD, p, 5);
    bksim_module_rx(f.m, req, n, 115200, f.now);
    int64_t due;
    REQUIRE(bksim_module_next_due(f.m, &due));
    REQUIRE(due == f.now + wire(115200, 10) + 20000000 + wire(921600, 12));
    /* a host still at 115200 reads garbage; at 921600 the echo */
    uint8_t out[64];
    size_t got = bksim_module_tx(f.m, due, 921600, out, sizeof out);
    bk_frame fr;
    size_t c, g;
    REQUIRE(got == 12 && bk_decode_reply(out, got, &fr, &c, &g) == BK_DECODE_FRAME && memcmp(fr.payload, p, 5) == 0);
    f.now = due;
    f.host_baud = 921600;
    fx_link(&f);
    /* the host falls back to 115200 without telling the chip: garbage, dropped silently; the
     * loader stays in download mode at its baud (§2.4: nothing says garbage ends it) */
    f.host_baud = 115200;
    for (int i = 0; i < 4; i++)
        REQUIRE(fx_x(&f, false, BK_CMD_LINK_CHECK, NULL, 0) == 0);
    REQUIRE(bksim_module_state(f.m) == BKSIM_DOWNLOAD);
    bksim_stats st;
    bksim_module_stats(f.m, &st);
    REQUIRE(st.garbage_bytes >= 16);
    f.host_baud = 921600;
    fx_link(&f);
    bksim_module_free(f.m);

    /* the reply reaching a host at the wrong baud is garbled */
    fx_init(&f, BK_CHIP_BK7231T, NULL, 1.0);
    fx_link(&f);
    bksim_module_rx(f.m, req, n, 115200, f.now);
    REQUIRE(bksim_module_next_due(f.m, &due));
    got = bksim_module_tx(f.m, due, 115200, out, sizeof out);
    REQUIRE(got == 12 && bk_decode_reply(out, got, &fr, &c, &g) != BK_DECODE_FRAME);
    bksim_module_free(f.m);

    /* the adapter cannot carry 921600: even a matching host gets garbage */
    fx_init(&f, BK_CHIP_BK7231T, "adapter-max-baud=460800", 1.0);
    fx_link(&f);
    bksim_module_rx(f.m, req, n, 115200, f.now);
    REQUIRE(bksim_module_next_due(f.m, &due));
    got = bksim_module_tx(f.m, due, 921600, out, sizeof out);
    REQUIRE(got == 12 && bk_decode_reply(out, got, &fr, &c, &g) != BK_DECODE_FRAME);
    bksim_module_free(f.m);
}

static void test_faults_brownout_removed(void)
{
    fx f;
    fx_init(&f, BK_CHIP_BK7231T, "brownout-first-write", 1.0);
    fx_link(&f);
    REQUIRE(fx_write4k(&f, 0x12000, 0x00) == 15);
    REQUIRE(fx_write4k(&f, 0x11000, 0x00) == 0);         /* resets, no reply */
    REQUIRE(bksim_module_state(f.m) == BKSIM_WINDOW);
    f.now += 1000000;
    fx_link(&f);                                       /* re-link ok */
    REQUIRE(fx_write4k(&f, 0x11000, 0x00) == 0);         /* every time */
    bksim_module_free(f.m);

    fx_init(&f, BK_CHIP_BK7231T, "removed-after=1", 1.0);
    fx_link(&f);
    REQUIRE(fx_write4k(&f, 0x12000, 0x00) == 15);
    REQUIRE(fx_x(&f, false, BK_CMD_LINK_CHECK, NULL, 0) == 0);
    bksim_module_power_up(f.m, f.now);
    REQUIRE(fx_x(&f, false, BK_CMD_LINK_CHECK, NULL, 0) == 0); /* even after a reset */
    REQUIRE(bksim_module_state(f.m) == BKSIM_REMOVED);
    bksim_module_free(f.m);

    fx_init(&f, BK_CHIP_BK7231T, "yank-after=2", 1.0);
    fx_link(&f);
    REQUIRE(fx_write4k(&f, 0x12000, 0x00) == 15 && !bksim_module_yanked(f.m));
    REQUIRE(fx_write4k(&f, 0x13000, 0x00) == 15 && bksim_module_yanked(f.m));
    bksim_module_free(f.m);

    /* link lost: silence longer than 2 s after the last reply */
    fx_init(&f, BK_CHIP_BK7231T, NULL, 1.0);
    fx_link(&f);
    f.now += 2100 * 1000000LL;
    REQUIRE(fx_x(&f, false, BK_CMD_LINK_CHECK, NULL, 0) == 0 && bksim_module_state(f.m) == BKSIM_APP);
    bksim_module_free(f.m);

    /* Reboot restarts the loader: a LinkCheck inside the new window links again */
    fx_init(&f, BK_CHIP_BK7231N, NULL, 1.0);
    fx_link(&f);
    REQUIRE(fx_x(&f, false, BK_CMD_REBOOT, (uint8_t[]){0xA5}, 1) == 0 && bksim_module_state(f.m) == BKSIM_WINDOW);
    fx_link(&f);
    bksim_module_free(f.m);

    /* wrong chip: configured T, carries N */
    fx_init(&f, BK_CHIP_BK7231T, "wrong-chip", 1.0);
    fx_link(&f);
    uint8_t reg[4];
    bk_put_le32(reg, 0x800000);
    REQUIRE(fx_x(&f, false, BK_CMD_READ_REG, reg, 4) == 15 && bk_get_le32(f.fr.payload + 4) == 0x7231C);
    bksim_module_free(f.m);

    /* bit errors on every byte above 100000 baud: nothing decodes */
    bksim_module_config mc;
    bksim_module_config_default(&mc);
    char err[128];
    REQUIRE(bksim_fault_parse("bit-errors-above=100000", &mc.faults, err, sizeof err));
    REQUIRE(bksim_fault_parse("bit-error-rate=1", &mc.faults, err, sizeof err));
    f.m = bksim_module_new(&mc, NULL, 1, 0, 1.0, err, sizeof err);
    bksim_module_power_up(f.m, f.now);
    REQUIRE(fx_x(&f, false, BK_CMD_LINK_CHECK, NULL, 0) == 0);
    bksim_module_free(f.m);
}

static void test_foreign_traffic(void)
{
    fx f;
    fx_init(&f, BK_CHIP_BK7231T, "foreign-traffic", 1.0);
    bksim_module_set_host(f.m, true, f.now);
    int64_t due;
    REQUIRE(bksim_module_next_due(f.m, &due));
    REQUIRE(due >= f.now + 150000000 && due <= f.now + 300000000);
    uint8_t out[64];
    REQUIRE(bksim_module_tx(f.m, due, 115200, out, sizeof out) == 7);
    REQUIRE(memcmp(out, (uint8_t[]){0x55, 0xAA, 0, 0, 0, 0, 0xFF}, 7) == 0);
    /* a LinkCheck arriving across the next heartbeat is corrupted */
    bksim_module_power_up(f.m, due);
    REQUIRE(bksim_module_next_due(f.m, &due));
    f.now = due - wire(115200, 2);
    REQUIRE(fx_x(&f, false, BK_CMD_LINK_CHECK, NULL, 0) == 0 || f.fr.cmd != 0x01);
    bksim_stats st;
    bksim_module_stats(f.m, &st);
    REQUIRE(st.garbage_bytes >= 5);
    bksim_module_free(f.m);
}

static void test_content_and_mac(void)
{
    bksim_module_config mc;
    bksim_module_config_default(&mc);
    char err[128];
    bksim_module *a = bksim_module_new(&mc, NULL, 7, 0, 1.0, err, sizeof err);
    bksim_module *b = bksim_module_new(&mc, NULL, 7, 1, 1.0, err, sizeof err);
    bksim_module *a2 = bksim_module_new(&mc, NULL, 7, 0, 1.0, err, sizeof err);
    REQUIRE(a && b && a2);
    static uint8_t x[0x121000], y[0x121000];
    bksim_module_read_flash(a, 0x11000, x, sizeof x);
    bksim_module_read_flash(a2, 0x11000, y, sizeof y);
    REQUIRE(memcmp(x, y, sizeof x) == 0);               /* deterministic */
    bksim_module_read_flash(b, 0x11000, y, sizeof y);
    REQUIRE(memcmp(x, y, sizeof x) != 0);               /* per module */
    uint8_t blank[4096];
    memset(blank, 0xFF, sizeof blank);
    for (size_t o = 0; o < sizeof x; o += 4096)
        REQUIRE(memcmp(x + o, blank, 4096) != 0);       /* vendor firmware: no sector blank */
    uint8_t m1[6], m2[6], rec[14];
    bksim_module_mac(a, m1);
    bksim_module_mac(b, m2);
    REQUIRE(m1[0] == 0xD8 && m1[1] == 0x1F && m1[2] == 0x12 && memcmp(m1, m2, 6) != 0);
    bksim_module_read_flash(a, BKSIM_RF_CAL_T + BKSIM_MAC_TLV_OFF, rec, 14);
    REQUIRE(memcmp(rec, "\x02\x11\x11\x11\x06\x00\x00\x00", 8) == 0 && memcmp(rec + 8, m1, 6) == 0);
    bksim_module_read_flash(a, 0x140000, y, 4096);
    REQUIRE(memcmp(y, blank, 4096) == 0);
    /* the N keeps its RF calibration (and the MAC TLV) at 0x1D0000 */
    mc.chip = BK_CHIP_BK7231N;
    bksim_module *n = bksim_module_new(&mc, NULL, 7, 0, 1.0, err, sizeof err);
    REQUIRE(n);
    bksim_module_mac(n, m2);
    bksim_module_read_flash(n, BKSIM_RF_CAL_N + BKSIM_MAC_TLV_OFF, rec, 14);
    REQUIRE(memcmp(rec, "\x02\x11\x11\x11\x06\x00\x00\x00", 8) == 0 && memcmp(rec + 8, m2, 6) == 0);
    bksim_module_read_flash(n, BKSIM_RF_CAL_T, y, 4096);
    REQUIRE(memcmp(y, blank, 4096) == 0);
    bksim_module_free(n);
    /* a module configured without a MAC has no tag */
    mc.no_mac = true;
    n = bksim_module_new(&mc, NULL, 7, 0, 1.0, err, sizeof err);
    bksim_module_read_flash(n, BKSIM_RF_CAL_N + BKSIM_MAC_TLV_OFF, rec, 8);
    REQUIRE(memcmp(rec, "\x02\x11\x11\x11", 4) != 0);
    bksim_module_free(n);
    mc.no_mac = false;
    mc.chip = BK_CHIP_BK7231T;
    bksim_module_free(a);
    bksim_module_free(b);
    bksim_module_free(a2);
    mc.chip = BK_CHIP_UNKNOWN;
    REQUIRE(!bksim_module_new(&mc, NULL, 7, 0, 1.0, err, sizeof err) && strstr(err, "chip"));
}

static void test_scale_zero_charges_nothing(void)
{
    fx f;
    fx_init(&f, BK_CHIP_BK7231T, NULL, 0.0);
    fx_link(&f);
    int64_t t = f.now;
    REQUIRE(fx_erase(&f, BK_ERASE_SIZE_64K, 0x20000) == 0);
    REQUIRE(f.due == t);
    bksim_module_free(f.m);
}

/* "Running firmware" (running_app): found in the application, deaf to LinkCheck and to bytes
 * at another rate; the console's "reboot" line or the register-write reboot frame at its rate
 * restarts it into the loader window, where LinkCheck links. */
static void test_running_app(void)
{
    static const uint8_t regw[] = {0x01, 0xE0, 0xFC, 0x05, 0xFE, 0x95, 0x27, 0x95, 0x27};
    for (int how = 0; how < 2; how++) {
        bksim_module_config mc;
        bksim_module_config_default(&mc);
        mc.running_app = true;
        mc.app_baud = 921600;
        char err[200];
        fx f;
        memset(&f, 0, sizeof f);
        f.m = bksim_module_new(&mc, NULL, 42, 0, 0.0, err, sizeof err);
        REQUIRE(f.m);
        f.now = 1000000;
        f.host_baud = 115200;
        bksim_module_power_up(f.m, f.now);
        REQUIRE(bksim_module_state(f.m) == BKSIM_APP);
        REQUIRE(fx_x(&f, false, BK_CMD_LINK_CHECK, NULL, 0) == 0); /* the app does not answer */
        /* the request at the loader's rate is noise to a console at 921600 */
        bksim_module_rx(f.m, how ? regw : (const uint8_t *)"reboot\r\n", how ? sizeof regw : 8,
                        115200, f.now);
        REQUIRE(bksim_module_state(f.m) == BKSIM_APP);
        /* at its rate, split over two reads, it restarts the chip */
        const uint8_t *req = how ? regw : (const uint8_t *)"xx\nreboot\n";
        size_t n = how ? sizeof regw : 10;
        bksim_module_rx(f.m, req, 4, 921600, f.now);
        REQUIRE(bksim_module_state(f.m) == BKSIM_APP);
        bksim_module_rx(f.m, req + 4, n - 4, 921600, f.now);
        REQUIRE(bksim_module_state(f.m) == BKSIM_WINDOW);
        bksim_stats st;
        bksim_module_stats(f.m, &st);
        REQUIRE(st.app_reboots == 1);
        fx_link(&f);
        /* a later power-up (CEN, a brown-out) is a plain reset into the loader window */
        bksim_module_hold_reset(f.m, f.now);
        bksim_module_power_up(f.m, f.now + 1000);
        REQUIRE(bksim_module_state(f.m) == BKSIM_WINDOW);
        bksim_module_free(f.m);
    }
}

int main(void)
{
    test_link_timing_and_window();
    test_t_command_set();
    test_n_command_set();
    test_crc_ends();
    test_t_crc_lock_table();
    test_t_protection();
    test_bootloader_fingerprint();
    test_nor_and_alias();
    test_baud_switch_and_garbage();
    test_faults_brownout_removed();
    test_foreign_traffic();
    test_content_and_mac();
    test_scale_zero_charges_nothing();
    test_running_app();
    printf("sim model: ok\n");
    return 0;
}
