/* bksim_model.c - one simulated BK7231 module: flash, bootloader state machine, wire
 * timing and line faults. No I/O and no clock: every call carries the time (model ns), so
 * the server maps it to CLOCK_MONOTONIC and the unit tests drive it with a fake clock.
 *
 * Invariants: replies leave in the order they were produced (tx serialised through
 * tx_free); the chip does one command at a time (busy_until); a frame's arrival time is
 * when its last byte has crossed the wire at the host's baud. */
#include "bksim.h"
#include "bk_proto.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FLASH_MASK (BKSIM_FLASH_SIZE - 1u)
#define GARBAGE_LIMIT 16           /* this much garbage in a row drops the chip out of download mode */
#define RX_CAP (2 * BK_FRAME_MAX)
#define HEARTBEAT_LEN 7
#define APP_START 0x11000u
#define APP_END 0x132000u
#define CRC_MAX_BYTES (64u << 20)  /* a CheckCRC longer than this is computed only this far */
#define NS_PER_S 1000000000.0

/* What differs between the two loaders beyond bk_family: the simulator's own facts. */
typedef struct sim_family {
    bk_chip chip;
    uint32_t raw_protect_end;   /* T: raw addresses below are write-protected by the loader */
    const char *boot_version;   /* ReadBootVersion reply, NULL = no such command */
} sim_family;

static const sim_family sim_families[] = {
    {BK_CHIP_BK7231T, 0x11000, "BK7231S_1.0.5"},
    {BK_CHIP_BK7231N, 0, NULL},
};

/* SPI NOR parts a module may carry (JEDEC id, status register width). */
typedef struct flash_part { uint8_t jedec[3]; bool sr_two_bytes; const char *name; } flash_part;
static const flash_part flash_parts[] = {
    {{0xC8, 0x40, 0x15}, true, "GD25Q16"},
    {{0x1C, 0x70, 0x15}, false, "EN25QH16"},
    {{0x0B, 0x40, 0x15}, true, "XT25F16B"},
};

#define SR_PROTECT_MASK 0x407Cu
#define SR_DEFAULT 0x001Cu  /* BP0..BP2 set, as shipped */

typedef struct out_item {
    int64_t due_ns;
    uint32_t baud;   /* the chip's baud when it sent these bytes */
    size_t len, sent;
    uint8_t *data;
} out_item;

struct bksim_module {
    bksim_module_config cfg;
    bksim_timing tm;
    const bk_family *fam;
    const sim_family *sfam;
    const flash_part *part;
    double time_scale;
    bool charge;                 /* time_scale > 0: wire and flash time are charged */
    uint8_t *flash;
    uint8_t mac[6];
    uint16_t sr;
    uint64_t rng_fault, rng_line, rng_hb;

    bksim_state state;
    uint32_t baud;
    int64_t window_end, last_reply;
    bool reprotected;            /* T quirk: a CheckCRC re-protects until the next LinkCheck */
    int64_t rx_free, busy_until, tx_free;
    uint8_t rx[RX_CAP];
    size_t rx_len, garbage_run;
    bool rx_discard;             /* the chip reset while decoding: drop the rest */

    out_item *q;
    size_t q_head, q_len, q_cap;

    bool host_open;
    int64_t next_hb, last_hb;
    bool hb_valid;

    int writes;
    bool yanked;
    bksim_stats st;
};

/* ---------------------------------------------------------------- helpers */
static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static double rng_unit(uint64_t *s) { return (double)(splitmix64(s) >> 11) / 9007199254740992.0; }

static int64_t s_to_ns(double s) { return (int64_t)ceil(s * NS_PER_S - 1e-6); }

static int64_t wire_ns(const bksim_module *m, uint32_t baud, size_t bytes)
{
    return m->charge ? s_to_ns(bksim_wire_s(baud, bytes)) : 0;
}
static int64_t op_ns(bksim_module *m, double s)
{
    m->st.busy_s += s;
    return m->charge ? s_to_ns(s) : 0;
}
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

static const sim_family *sim_family_get(bk_chip chip)
{
    for (size_t i = 0; i < sizeof sim_families / sizeof sim_families[0]; i++)
        if (sim_families[i].chip == chip)
            return &sim_families[i];
    return NULL;
}

const char *bksim_state_name(bksim_state s)
{
    static const char *names[] = {"off", "window", "app", "download", "removed"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

void bksim_module_config_default(bksim_module_config *mc)
{
    memset(mc, 0, sizeof *mc);
    mc->chip = BK_CHIP_BK7231T;
    bksim_faults_none(&mc->faults);
}

/* ---------------------------------------------------------------- initial flash */
static void fill_random(uint8_t *p, size_t n, uint64_t *s)
{
    for (size_t i = 0; i < n; i += 8) {
        uint64_t v = splitmix64(s);
        for (size_t k = 0; k < 8 && i + k < n; k++)
            p[i + k] = (uint8_t)(v >> (8 * k));
    }
}

static void init_flash(bksim_module *m, uint64_t seed, int index)
{
    uint64_t s = seed * 0x100000001B3ull ^ ((uint64_t)index << 32) ^ 0xB7231;
    memset(m->flash, 0xFF, BKSIM_FLASH_SIZE);
    fill_random(m->flash, APP_START, &s);
    fill_random(m->flash + APP_START, APP_END - APP_START, &s);
    memcpy(m->flash + BKSIM_MAC_ADDR, "BMAC", 4);
    memcpy(m->flash + BKSIM_MAC_ADDR + 4, m->mac, 6);
}

bksim_module *bksim_module_new(const bksim_module_config *mc, const bksim_timing *t, uint64_t seed,
                               int index, double time_scale, char *err, size_t errlen)
{
    bk_chip chip = mc->chip;
    if (chip != BK_CHIP_BK7231T && chip != BK_CHIP_BK7231N) {
        snprintf(err, errlen, "module %d: chip must be bk7231t or bk7231n", index);
        return NULL;
    }
    if (!(time_scale >= 0) || !isfinite(time_scale)) {
        snprintf(err, errlen, "time scale %g: must be >= 0", time_scale);
        return NULL;
    }
    if (mc->faults.wrong_chip)
        chip = chip == BK_CHIP_BK7231T ? BK_CHIP_BK7231N : BK_CHIP_BK7231T;
    bksim_module *m = calloc(1, sizeof *m);
    if (!m || !(m->flash = malloc(BKSIM_FLASH_SIZE))) {
        free(m);
        snprintf(err, errlen, "module %d: out of memory for its flash", index);
        return NULL;
    }
    m->cfg = *mc;
    m->fam = bk_family_get(chip);
    m->sfam = sim_family_get(chip);
    if (mc->faults.slow_flash)
        bksim_timing_worst(&m->tm);
    else if (t)
        m->tm = *t;
    else
        bksim_timing_typical(&m->tm);
    if (mc->faults.slow_flash && t) { /* worst flash, but the caller's windows */
        m->tm.download_window_ms = t->download_window_ms;
        m->tm.link_lost_ms = t->link_lost_ms;
    }
    m->time_scale = time_scale;
    m->charge = time_scale > 0;
    uint64_t s = seed ^ 0x5157ull;
    uint64_t h = splitmix64(&s);
    if (mc->have_mac) {
        memcpy(m->mac, mc->mac, 6);
    } else {
        uint32_t low = (uint32_t)((h & 0xFFFFFF) + (uint64_t)index) & 0xFFFFFF;
        uint8_t mac[6] = {0xD8, 0x1F, 0x12, (uint8_t)(low >> 16), (uint8_t)(low >> 8), (uint8_t)low};
        memcpy(m->mac, mac, 6);
    }
    uint64_t ps = seed ^ ((uint64_t)index * 0x9E3779B97F4A7C15ull);
    m->part = &flash_parts[splitmix64(&ps) % (sizeof flash_parts / sizeof flash_parts[0])];
    m->rng_fault = splitmix64(&ps);
    m->rng_line = splitmix64(&ps);
    m->rng_hb = splitmix64(&ps);
    m->sr = SR_DEFAULT;
    init_flash(m, seed, index);
    m->state = BKSIM_OFF;
    m->baud = BKSIM_BAUD_BOOT;
    return m;
}

static void queue_clear(bksim_module *m)
{
    for (size_t i = 0; i < m->q_len; i++)
        free(m->q[(m->q_head + i) % m->q_cap].data);
    m->q_head = m->q_len = 0;
}

void bksim_module_free(bksim_module *m)
{
    if (!m)
        return;
    queue_clear(m);
    free(m->q);
    free(m->flash);
    free(m);
}

/* ---------------------------------------------------------------- power */
/* The chip restarts: loader window opens at 115200. Status register bits are non-volatile. */
static void chip_reset(bksim_module *m, int64_t now)
{
    m->st.resets++;
    bool removed = m->state == BKSIM_REMOVED || m->cfg.faults.removed_after_writes == 0;
    m->state = removed ? BKSIM_REMOVED : BKSIM_WINDOW;
    m->baud = BKSIM_BAUD_BOOT;
    m->window_end = now + (int64_t)m->tm.download_window_ms * 1000000;
    m->reprotected = false;
    m->rx_free = m->busy_until = now;
    m->tx_free = max64(m->tx_free, now);
    m->garbage_run = 0;
    m->rx_discard = true;
    if (m->cfg.faults.yank_after_writes == 0)
        m->yanked = true;
}

void bksim_module_power_up(bksim_module *m, int64_t now_ns)
{
    queue_clear(m);
    m->tx_free = now_ns;
    chip_reset(m, now_ns);
    m->rx_len = 0;
    m->rx_discard = false;
}

void bksim_module_hold_reset(bksim_module *m, int64_t now_ns)
{
    (void)now_ns;
    queue_clear(m);
    if (m->state != BKSIM_REMOVED)
        m->state = BKSIM_OFF;
    m->rx_len = 0;
}

static int64_t heartbeat_gap_ns(bksim_module *m)
{
    return 150000000 + (int64_t)(splitmix64(&m->rng_hb) % 150000001ull);
}

void bksim_module_set_host(bksim_module *m, bool open, int64_t now_ns)
{
    if (open && !m->host_open)
        m->next_hb = now_ns + heartbeat_gap_ns(m);
    m->host_open = open;
}

/* ---------------------------------------------------------------- line faults */
/* What the receiving side makes of bytes crossing the line while the chip's UART is at
 * chip_baud and the host's at host_baud (same in both directions). */
static void line_transform(bksim_module *m, uint8_t *p, size_t n, uint32_t chip_baud, uint32_t host_baud)
{
    const bksim_faults *f = &m->cfg.faults;
    bool garbled = chip_baud != host_baud || (f->adapter_max_baud && host_baud > f->adapter_max_baud);
    if (garbled) {
        fill_random(p, n, &m->rng_line);
        return;
    }
    if (f->bit_errors_above && host_baud > f->bit_errors_above && f->bit_error_rate > 0) {
        for (size_t i = 0; i < n; i++)
            if (rng_unit(&m->rng_line) < f->bit_error_rate)
                p[i] ^= (uint8_t)(1u << (splitmix64(&m->rng_line) & 7));
    }
}

/* ---------------------------------------------------------------- output queue */
static void enqueue(bksim_module *m, int64_t due, uint32_t baud, const uint8_t *data, size_t len)
{
    if (m->q_len == m->q_cap) {
        size_t ncap = m->q_cap ? m->q_cap * 2 : 8;
        out_item *nq = malloc(ncap * sizeof *nq);
        if (!nq)
            return; /* out of memory: the reply is lost, as on a glitching line */
        for (size_t i = 0; i < m->q_len; i++)
            nq[i] = m->q[(m->q_head + i) % m->q_cap];
        free(m->q);
        m->q = nq;
        m->q_cap = ncap;
        m->q_head = 0;
    }
    uint8_t *copy = malloc(len);
    if (!copy)
        return;
    memcpy(copy, data, len);
    m->q[(m->q_head + m->q_len) % m->q_cap] = (out_item){due, baud, len, 0, copy};
    m->q_len++;
}

/* ---------------------------------------------------------------- flash */
static bool flash_writable(const bksim_module *m, uint32_t raw_addr)
{
    if (m->fam->has_flash_sr)
        return (m->sr & SR_PROTECT_MASK) == 0;
    if (raw_addr < m->sfam->raw_protect_end || m->reprotected || m->cfg.faults.flash_protected)
        return false;
    return true;
}

static void flash_program(bksim_module *m, uint32_t raw, const uint8_t *data, size_t n)
{
    if (!flash_writable(m, raw))
        return;
    for (size_t i = 0; i < n; i++)
        m->flash[(raw + i) & FLASH_MASK] &= data[i];
}

static void flash_erase(bksim_module *m, uint32_t raw_start, uint32_t size)
{
    if (!flash_writable(m, raw_start))
        return;
    uint32_t a = raw_start & FLASH_MASK;
    memset(m->flash + a, 0xFF, size); /* sizes divide the flash size and starts are aligned */
}

void bksim_module_read_flash(const bksim_module *m, uint32_t addr, uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = m->flash[(addr + i) & FLASH_MASK];
}

static uint32_t flash_crc(const bksim_module *m, uint32_t start, uint64_t len)
{
    uint32_t crc = 0xFFFFFFFFu;
    if (len > CRC_MAX_BYTES)
        len = CRC_MAX_BYTES;
    uint32_t a = start & FLASH_MASK;
    while (len > 0) {
        uint64_t n = BKSIM_FLASH_SIZE - a;
        if (n > len)
            n = len;
        crc = bk_chip_crc_update(crc, m->flash + a, (size_t)n);
        len -= n;
        a = 0;
    }
    return crc;
}

/* ---------------------------------------------------------------- commands */
/* A handler fills the reply payload and says what it cost. */
typedef struct cmd_result {
    size_t reply_len;      /* payload bytes */
    bool no_reply;
    bool reset;            /* the chip restarts (Reboot, brown-out) */
    double op_s;           /* flash time */
    int64_t delay_ns;      /* extra delay before the reply (SetBaudRate) */
    uint8_t reply_cmd;
} cmd_result;

typedef void (*cmd_fn)(bksim_module *m, const uint8_t *p, size_t n, uint8_t *r, cmd_result *res);

static void reply_status_addr(uint8_t *r, uint8_t status, uint32_t addr)
{
    r[0] = status;
    bk_put_le32(r + 1, addr);
}

static void cmd_link_check(bksim_module *m, const uint8_t *p, size_t n, uint8_t *r, cmd_result *res)
{
    m->reprotected = false;
    res->reply_cmd = BK_CMD_LINK_CHECK_REPLY;
    r[0] = 0x00;
    res->reply_len = 1;
}

static void cmd_write_reg(bksim_module *m, const uint8_t *p, size_t n, uint8_t *r, cmd_result *res)
{
    if (n < 8) { res->no_reply = true; return; }
    memcpy(r, p, 8);
    res->reply_len = 8;
}

static void cmd_read_reg(bksim_module *m, const uint8_t *p, size_t n, uint8_t *r, cmd_result *res)
{
    if (n < 4) { res->no_reply = true; return; }
    uint32_t addr = bk_get_le32(p);
    memcpy(r, p, 4);
    bk_put_le32(r + 4, addr == 0x800000 ? m->fam->chip_id : 0);
    res->reply_len = 8;
}

static void cmd_reboot(bksim_module *m, const uint8_t *p, size_t n, uint8_t *r, cmd_result *res)
{
    res->no_reply = true;
    res->reset = n >= 1 && p[0] == 0xA5;
}

static void cmd_set_baud(bksim_module *m, const uint8_t *p, size_t n, uint8_t *r, cmd_result *res)
{
    uint32_t baud = n >= 5 ? bk_get_le32(p) : 0;
    if (baud < 1200 || baud > 12000000) { res->no_reply = true; return; }
    m->baud = baud;
    memcpy(r, p, 5);
    res->reply_len = 5;
    /* The echo is a handshake in real time: a host sleeps about delay/2 before switching, so
     * the echo never leaves sooner than delay_ms of real time, whatever the time scale. */
    double real_s = p[4] / 1000.0;
    double model_s = m->time_scale > 0 ? real_s * (m->time_scale < 1 ? 1.0 / m->time_scale : 1.0) : real_s;
    res->delay_ns = s_to_ns(model_s);
}

static void cmd_check_crc(bksim_module *m, const uint8_t *p, size_t n, uint8_t *r, cmd_result *res)
{
    if (n < 8) { res->no_reply = true; return; }
    uint32_t start = bk_get_le32(p), end = bk_get_le32(p + 4);
    uint64_t len = m->fam->crc_end_inclusive ? (end >= start ? (uint64_t)end - start + 1 : 0)
                                            : (end > start ? (uint64_t)end - start : 0);
    bk_put_le32(r, flash_crc(m, start, len));
    res->reply_len = 4;
    res->op_s = bksim_crc_s(&m->tm, len);
    m->st.crcs++;
    if (m->fam->reprotects_after_crc)
        m->reprotected = true;
}

static void cmd_boot_version(bksim_module *m, const uint8_t *p, size_t n, uint8_t *r, cmd_result *res)
{
    size_t len = strlen(m->sfam->boot_version);
    memcpy(r, m->sfam->boot_version, len);
    res->reply_len = len;
}

static void cmd_flash_write(bksim_module *m, const uint8_t *p, size_t n, uint8_t *r, cmd_result *res)
{
    if (n < 4) { res->no_reply = true; return; }
    uint32_t addr = bk_get_le32(p);
    size_t len = n - 4;
    uint8_t status = len <= 256 ? 0 : 1;
    if (status == 0 && len) {
        flash_program(m, addr, p + 4, len);
        res->op_s = (double)(((addr & 255) + len + 255) / 256) * bksim_op_s(&m->tm, BKSIM_OP_PAGE_PROGRAM);
    }
    reply_status_addr(r, status, addr);
    r[5] = (uint8_t)len;
    res->reply_len = 6;
}

static bool brownout_now(bksim_module *m, uint32_t addr)
{
    const bksim_faults *f = &m->cfg.faults;
    if (f->brownout_first_write && (addr & FLASH_MASK) == APP_START)
        return true;
    return f->brownout_p > 0 && rng_unit(&m->rng_fault) < f->brownout_p;
}

static void cmd_write_4k(bksim_module *m, const uint8_t *p, size_t n, uint8_t *r, cmd_result *res)
{
    if (n < 4) { res->no_reply = true; return; }
    uint32_t addr = bk_get_le32(p);
    if (brownout_now(m, addr)) {
        res->no_reply = true;
        res->reset = true;
        return;
    }
    uint8_t status = n == 4 + BK_SECTOR_SIZE ? 0 : 1;
    if (status == 0) {
        flash_program(m, addr, p + 4, BK_SECTOR_SIZE);
        res->op_s = (BK_SECTOR_SIZE / 256) * bksim_op_s(&m->tm, BKSIM_OP_PAGE_PROGRAM);
        m->st.writes_4k++;
        m->writes++;
    }
    reply_status_addr(r, status, addr);
    res->reply_len = 5;
}

static void cmd_read_4k(bksim_module *m, const uint8_t *p, size_t n, uint8_t *r, cmd_result *res)
{
    if (n < 4) { res->no_reply = true; return; }
    uint32_t addr = bk_get_le32(p);
    reply_status_addr(r, 0, addr);
    bksim_module_read_flash(m, addr, r + 5, BK_SECTOR_SIZE);
    res->reply_len = 5 + BK_SECTOR_SIZE;
    res->op_s = bksim_op_s(&m->tm, BKSIM_OP_READ_4K);
    m->st.reads_4k++;
}

/* FlashRead (BootROM): addr u32 [, count u16, default 256, at most 4096]. The byte layout of
 * this command is not in the protocol notes; this is the simulator's reading of it. */
static void cmd_read(bksim_module *m, const uint8_t *p, size_t n, uint8_t *r, cmd_result *res)
{
    if (n < 4) { res->no_reply = true; return; }
    uint32_t addr = bk_get_le32(p);
    size_t count = n >= 6 ? bk_get_le16(p + 4) : 256;
    if (count > BK_SECTOR_SIZE)
        count = BK_SECTOR_SIZE;
    reply_status_addr(r, 0, addr);
    bksim_module_read_flash(m, addr, r + 5, count);
    res->reply_len = 5 + count;
    res->op_s = bksim_op_s(&m->tm, BKSIM_OP_READ_4K) * (double)count / BK_SECTOR_SIZE;
}

static void cmd_erase_all(bksim_module *m, const uint8_t *p, size_t n, uint8_t *r, cmd_result *res)
{
    if (flash_writable(m, 0))
        memset(m->flash, 0xFF, BKSIM_FLASH_SIZE);
    r[0] = 0;
    res->reply_len = 1;
    res->op_s = bksim_op_s(&m->tm, BKSIM_OP_ERASE_ALL);
    m->st.erases++;
}

static void cmd_erase_4k(bksim_module *m, const uint8_t *p, size_t n, uint8_t *r, cmd_result *res)
{
    if (n < 4) { res->no_reply = true; return; }
    uint32_t addr = bk_get_le32(p);
    flash_erase(m, addr & ~(BK_SECTOR_SIZE - 1), BK_SECTOR_SIZE);
    reply_status_addr(r, 0, addr);
    res->reply_len = 5;
    res->op_s = bksim_op_s(&m->tm, BKSIM_OP_ERASE_4K);
    m->st.erases++;
}

static void cmd_erase(bksim_module *m, const uint8_t *p, size_t n, uint8_t *r, cmd_result *res)
{
    if (n < 5) { res->no_reply = true; return; }
    uint8_t size = p[0];
    uint32_t addr = bk_get_le32(p + 1);
    r[0] = 0;
    r[1] = size;
    bk_put_le32(r + 2, addr);
    res->reply_len = 6;
    /* SPI NOR erases the sector/block containing the address */
    if (size == BK_ERASE_SIZE_4K) {
        flash_erase(m, addr & ~(BK_SECTOR_SIZE - 1), BK_SECTOR_SIZE);
        res->op_s = bksim_op_s(&m->tm, BKSIM_OP_ERASE_4K);
    } else if (size == BK_ERASE_SIZE_64K) {
        flash_erase(m, addr & ~(BK_BLOCK_SIZE - 1), BK_BLOCK_SIZE);
        res->op_s = bksim_op_s(&m->tm, BKSIM_OP_ERASE_64K);
    } else {
        r[0] = 1;
        return;
    }
    m->st.erases++;
}

static void cmd_read_sr(bksim_module *m, const uint8_t *p, size_t n, uint8_t *r, cmd_result *res)
{
    if (n < 1) { res->no_reply = true; return; }
    r[0] = 0;
    r[1] = p[0];
    if (p[0] == 0x05)
        r[2] = (uint8_t)m->sr;
    else if (p[0] == 0x35)
        r[2] = m->part->sr_two_bytes ? (uint8_t)(m->sr >> 8) : 0;
    else
        r[0] = 1, r[2] = 0;
    res->reply_len = 3;
}

static void cmd_write_sr(bksim_module *m, const uint8_t *p, size_t n, uint8_t *r, cmd_result *res)
{
    if (n < 2 || n > 3) { res->no_reply = true; return; }
    memcpy(r + 1, p, n);
    r[0] = p[0] == 0x01 ? 0 : 1;
    res->reply_len = 1 + n;
    if (r[0] != 0)
        return;
    res->op_s = bksim_op_s(&m->tm, BKSIM_OP_SR_WRITE);
    if (m->cfg.faults.flash_protected)
        return; /* the part ignores the write: SR stays protected */
    uint16_t v = (uint16_t)((m->sr & 0xFF00) | p[1]);
    if (n == 3 && m->part->sr_two_bytes)
        v = (uint16_t)(p[1] | p[2] << 8);
    m->sr = v;
}

static void cmd_get_mid(bksim_module *m, const uint8_t *p, size_t n, uint8_t *r, cmd_result *res)
{
    r[0] = 0;
    r[1] = 0;
    memcpy(r + 2, m->part->jedec, 3);
    res->reply_len = 5;
}

/* The command tables: which loader answers what. Anything not listed gets no reply. */
typedef struct cmd_row { bool is_long; uint8_t cmd; cmd_fn fn; bool on_t, on_n; } cmd_row;
static const cmd_row cmd_rows[] = {
    {false, BK_CMD_LINK_CHECK, cmd_link_check, true, true},
    {false, BK_CMD_WRITE_REG, cmd_write_reg, false, true},
    {false, BK_CMD_READ_REG, cmd_read_reg, false, true},
    {false, BK_CMD_REBOOT, cmd_reboot, true, true},
    {false, BK_CMD_SET_BAUD, cmd_set_baud, true, true},
    {false, BK_CMD_CHECK_CRC, cmd_check_crc, true, true},
    {false, BK_CMD_READ_BOOT_VERSION, cmd_boot_version, true, false},
    {true, BK_LCMD_WRITE, cmd_flash_write, true, true},
    {true, BK_LCMD_WRITE_4K, cmd_write_4k, true, true},
    {true, BK_LCMD_READ, cmd_read, false, true},
    {true, BK_LCMD_READ_4K, cmd_read_4k, true, true},
    {true, BK_LCMD_ERASE_ALL, cmd_erase_all, false, true},
    {true, BK_LCMD_ERASE_4K, cmd_erase_4k, false, true},
    {true, BK_LCMD_READ_SR, cmd_read_sr, false, true},
    {true, BK_LCMD_WRITE_SR, cmd_write_sr, false, true},
    {true, BK_LCMD_GET_MID, cmd_get_mid, false, true},
    {true, BK_LCMD_ERASE, cmd_erase, true, true},
};

static const cmd_row *find_cmd(const bksim_module *m, const bk_frame *fr)
{
    bool is_t = m->fam->chip == BK_CHIP_BK7231T;
    for (size_t i = 0; i < sizeof cmd_rows / sizeof cmd_rows[0]; i++) {
        const cmd_row *c = &cmd_rows[i];
        if (c->is_long == fr->is_long && c->cmd == fr->cmd && (is_t ? c->on_t : c->on_n))
            return c;
    }
    return NULL;
}

/* ---------------------------------------------------------------- frames */
static bool overlaps_heartbeat(const bksim_module *m, int64_t fs, int64_t fe)
{
    if (!m->cfg.faults.foreign_traffic || !m->host_open)
        return false;
    int64_t hb_len = wire_ns(m, m->baud, HEARTBEAT_LEN);
    if (m->hb_valid && m->last_hb <= fe && m->last_hb + hb_len >= fs)
        return true;
    return m->next_hb <= fe && m->next_hb + hb_len >= fs;
}

static void note_garbage(bksim_module *m, size_t n)
{
    if (!n)
        return;
    m->st.garbage_bytes += n;
    m->garbage_run += n;
    if (m->state == BKSIM_DOWNLOAD && m->garbage_run >= GARBAGE_LIMIT) {
        m->state = BKSIM_APP; /* a wrong baud looks like this: the loader gives up */
        m->rx_discard = true;
    }
}

static void handle_frame(bksim_module *m, const bk_frame *fr, int64_t t_arr)
{
    m->garbage_run = 0;
    m->st.frames++;
    bool is_link = !fr->is_long && fr->cmd == BK_CMD_LINK_CHECK;
    switch (m->state) {
    case BKSIM_OFF:
    case BKSIM_APP:
    case BKSIM_REMOVED:
        return;
    case BKSIM_WINDOW:
        if (t_arr > m->window_end) {
            m->state = BKSIM_APP;
            return;
        }
        if (!is_link)
            return;
        m->window_end = t_arr + (int64_t)m->tm.download_window_ms * 1000000;
        if (m->cfg.faults.no_download)
            return;
        m->state = BKSIM_DOWNLOAD;
        m->st.links++;
        m->last_reply = t_arr;
        break;
    case BKSIM_DOWNLOAD:
        if (t_arr > m->last_reply + (int64_t)m->tm.link_lost_ms * 1000000) {
            m->state = BKSIM_APP;
            return;
        }
        break;
    }
    const cmd_row *c = find_cmd(m, fr);
    if (!c)
        return; /* unsupported: silence, the host times out */
    uint8_t payload[BK_LONG_PAYLOAD_MAX];
    cmd_result res = {.reply_cmd = fr->cmd};
    int64_t start = max64(t_arr, m->busy_until);
    c->fn(m, fr->payload, fr->payload_len, payload, &res);
    int64_t done = start + op_ns(m, res.op_s);
    m->busy_until = done;
    if (res.reset) {
        chip_reset(m, done);
        return;
    }
    if (res.no_reply)
        return;
    uint8_t frame[BK_FRAME_MAX];
    size_t flen = fr->is_long ? bk_encode_reply_long(frame, sizeof frame, res.reply_cmd, payload, res.reply_len)
                              : bk_encode_reply_short(frame, sizeof frame, res.reply_cmd, payload, res.reply_len);
    if (!flen)
        return;
    int64_t tx_start = max64(done + res.delay_ns, m->tx_free);
    int64_t due = tx_start + wire_ns(m, m->baud, flen);
    m->tx_free = m->busy_until = m->last_reply = due;
    enqueue(m, due, m->baud, frame, flen);
    const bksim_faults *f = &m->cfg.faults;
    if (f->removed_after_writes >= 0 && m->writes >= f->removed_after_writes)
        m->state = BKSIM_REMOVED;
    if (f->yank_after_writes >= 0 && m->writes >= f->yank_after_writes)
        m->yanked = true;
}

static void rx_piece(bksim_module *m, const uint8_t *buf, size_t n, uint32_t host_baud, int64_t now)
{
    int64_t start = max64(now, m->rx_free);
    m->rx_free = start + wire_ns(m, host_baud, n);
    size_t base = m->rx_len; /* buffer index of buf[0] */
    memcpy(m->rx + m->rx_len, buf, n);
    line_transform(m, m->rx + m->rx_len, n, m->baud, host_baud);
    m->rx_len += n;
    size_t pos = 0;
    m->rx_discard = false;
    while (pos < m->rx_len) {
        bk_frame fr;
        size_t consumed = 0, garbage = 0;
        bk_decode_status ds = bk_decode_request(m->rx + pos, m->rx_len - pos, &fr, &consumed, &garbage);
        note_garbage(m, garbage);
        if (m->rx_discard)
            break;
        if (ds == BK_DECODE_NEED_MORE) {
            pos += consumed;
            break;
        }
        size_t end_idx = pos + consumed;          /* one past the frame's last byte */
        size_t flen = consumed - garbage;
        int64_t t_end = start + wire_ns(m, host_baud, end_idx - base);
        int64_t t_begin = t_end - wire_ns(m, host_baud, flen);
        pos = end_idx;
        if (overlaps_heartbeat(m, t_begin, t_end)) {
            note_garbage(m, flen); /* the MCU's bytes collided with the frame */
            if (m->rx_discard)
                break;
            continue;
        }
        handle_frame(m, &fr, t_end);
        if (m->rx_discard)
            break;
    }
    if (m->rx_discard) {
        m->rx_len = 0;
        m->rx_discard = false;
        return;
    }
    memmove(m->rx, m->rx + pos, m->rx_len - pos);
    m->rx_len -= pos;
}

void bksim_module_rx(bksim_module *m, const uint8_t *buf, size_t n, uint32_t host_baud, int64_t now_ns)
{
    m->st.bytes_in += n;
    if (m->state == BKSIM_OFF || m->state == BKSIM_REMOVED || m->state == BKSIM_APP) {
        m->rx_len = 0;
        return; /* nobody is listening on the UART */
    }
    while (n > 0) {
        size_t piece = n < BK_FRAME_MAX ? n : BK_FRAME_MAX;
        if (m->rx_len + piece > RX_CAP) { /* cannot happen: decode leaves < one frame */
            note_garbage(m, m->rx_len);
            m->rx_len = 0;
        }
        rx_piece(m, buf, piece, host_baud, now_ns);
        buf += piece;
        n -= piece;
        if (m->state == BKSIM_APP || m->state == BKSIM_REMOVED || m->state == BKSIM_OFF) {
            m->rx_len = 0;
            return;
        }
    }
}

/* ---------------------------------------------------------------- output */
static bool heartbeat_on(const bksim_module *m)
{
    return m->cfg.faults.foreign_traffic && m->host_open && m->state != BKSIM_REMOVED;
}

bool bksim_module_next_due(const bksim_module *m, int64_t *due_ns)
{
    bool any = false;
    int64_t due = INT64_MAX;
    if (m->q_len) {
        due = m->q[m->q_head].due_ns;
        any = true;
    }
    if (heartbeat_on(m) && m->next_hb < due) {
        due = m->next_hb;
        any = true;
    }
    *due_ns = due;
    return any;
}

size_t bksim_module_tx(bksim_module *m, int64_t now_ns, uint32_t host_baud, uint8_t *out, size_t cap)
{
    size_t used = 0;
    while (used < cap) {
        out_item *head = m->q_len ? &m->q[m->q_head] : NULL;
        bool hb = heartbeat_on(m) && m->next_hb <= now_ns;
        if (head && head->due_ns <= now_ns && (!hb || head->sent > 0 || head->due_ns <= m->next_hb)) {
            size_t n = head->len - head->sent;
            if (n > cap - used)
                n = cap - used;
            memcpy(out + used, head->data + head->sent, n);
            line_transform(m, out + used, n, head->baud, host_baud);
            used += n;
            head->sent += n;
            if (head->sent == head->len) {
                free(head->data);
                m->q_head = (m->q_head + 1) % m->q_cap;
                m->q_len--;
            }
        } else if (hb) {
            static const uint8_t beat[HEARTBEAT_LEN] = {0x55, 0xAA, 0x00, 0x00, 0x00, 0x00, 0xFF};
            if (cap - used < HEARTBEAT_LEN)
                break;
            memcpy(out + used, beat, HEARTBEAT_LEN);
            line_transform(m, out + used, HEARTBEAT_LEN, m->baud, host_baud);
            used += HEARTBEAT_LEN;
            m->last_hb = m->next_hb;
            m->hb_valid = true;
            m->next_hb += heartbeat_gap_ns(m);
            if (m->next_hb < now_ns) /* the host was away: do not replay a backlog */
                m->next_hb = now_ns + heartbeat_gap_ns(m);
        } else {
            break;
        }
    }
    m->st.bytes_out += used;
    return used;
}

/* ---------------------------------------------------------------- accessors */
bool bksim_module_yanked(const bksim_module *m) { return m->yanked; }
size_t bksim_module_pending(const bksim_module *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->q_len; i++) {
        const out_item *it = &m->q[(m->q_head + i) % m->q_cap];
        n += it->len - it->sent;
    }
    return n;
}
bksim_state bksim_module_state(const bksim_module *m) { return m->state; }
uint32_t bksim_module_baud(const bksim_module *m) { return m->baud; }
bk_chip bksim_module_chip(const bksim_module *m) { return m->fam->chip; }
const bksim_module_config *bksim_module_cfg(const bksim_module *m) { return &m->cfg; }
void bksim_module_mac(const bksim_module *m, uint8_t mac[6]) { memcpy(mac, m->mac, 6); }
void bksim_module_stats(const bksim_module *m, bksim_stats *st) { *st = m->st; }
uint16_t bksim_module_sr(const bksim_module *m) { return m->sr; }
const uint8_t *bksim_module_jedec(const bksim_module *m) { return m->part->jedec; }
