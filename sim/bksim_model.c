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
#include <zlib.h>

#define FLASH_MASK (BKSIM_FLASH_SIZE - 1u)
#define RX_CAP (2 * BK_FRAME_MAX)
#define HEARTBEAT_LEN 7
#define APP_START 0x11000u
#define CRC_MAX_BYTES (64u << 20)  /* a CheckCRC longer than this is computed only this far */
#define NS_PER_S 1000000000.0

/* Status bytes of long replies (reference §2.3). */
enum {
    ST_OK = 0,
    ST_PACK_LEN_ERROR = 4,
    ST_PARAM_ERROR = 6,
    ST_UNKNOWN_CMD = 7,
};

/* What differs between the two loaders beyond bk_family: the simulator's own facts. */
typedef struct sim_family {
    bk_chip chip;
    uint32_t raw_protect_end;   /* T: raw addresses below are write-protected by the loader, and
                                   FlashRead4K below it is refused with status 6 (§7.3, §10.5) */
    uint32_t vendor_app_end;    /* end of the vendor app partition filled at power-on (§7.1) */
    uint32_t rf_cal_addr;       /* RF calibration sector: the MAC TLV (§7.1) */
    bool answers_unknown;       /* unsupported commands get an UNKNOW_CMD (07) reply: the N
                                   BootROM (§2.3, §3.7); the T loader stays silent (§12.2, chosen) */
    bksim_boot default_boot;
} sim_family;

static const sim_family sim_families[] = {
    {BK_CHIP_BK7231T, 0x11000, 0x132000, BKSIM_RF_CAL_T, false, BKSIM_BOOT_BK7231S_1_0_5},
    {BK_CHIP_BK7231N, 0, 0x12A000, BKSIM_RF_CAL_N, true, BKSIM_BOOT_BK7231N_1_0_1},
};

/* Flash bootloaders by the CRC-32 of their first bytes (reference §4): 256 bytes, end
 * exclusive, on the T loaders; 257 bytes, end inclusive, for the N one (its 256-byte CRC is
 * the "exclusive variant" of the table, and both hold for the same bytes). */
typedef struct boot_row {
    bksim_boot boot;
    const char *name;
    bk_chip chip;
    uint32_t crc256;          /* zlib crc32 of bytes 0..255 */
    bool has_crc257; uint32_t crc257; /* and of bytes 0..256 */
    const char *version;      /* ReadBootVersion reply (T loaders) */
} boot_row;

static const boot_row boot_rows[] = {
    {BKSIM_BOOT_BK7231S_1_0_1, "bk7231s_1.0.1", BK_CHIP_BK7231T, 0xC1ECA871u, false, 0, "BK7231S_1.0.1"},
    {BKSIM_BOOT_BK7231S_1_0_3, "bk7231s_1.0.3", BK_CHIP_BK7231T, 0x4B31E44Du, false, 0, "BK7231S_1.0.3"},
    {BKSIM_BOOT_BK7231S_1_0_5, "bk7231s_1.0.5", BK_CHIP_BK7231T, 0xBA54C1B8u, false, 0, "BK7231S_1.0.5"},
    {BKSIM_BOOT_BK7231S_1_0_6, "bk7231s_1.0.6", BK_CHIP_BK7231T, 0xE5CBC953u, false, 0, "BK7231S_1.0.6"},
    {BKSIM_BOOT_BK7231N_1_0_1, "bk7231n_1.0.1", BK_CHIP_BK7231N, 0x4063D299u, true, 0xE14191BAu, NULL},
    {BKSIM_BOOT_UNKNOWN, "unknown", BK_CHIP_UNKNOWN, 0, false, 0, "BK7231S_9.9.9"},
};

static const boot_row *boot_row_get(bksim_boot b)
{
    for (size_t i = 0; i < sizeof boot_rows / sizeof boot_rows[0]; i++)
        if (boot_rows[i].boot == b)
            return &boot_rows[i];
    return NULL;
}

bool bksim_boot_parse(const char *name, bksim_boot *out)
{
    for (size_t i = 0; i < sizeof boot_rows / sizeof boot_rows[0]; i++)
        if (strcmp(boot_rows[i].name, name) == 0) {
            *out = boot_rows[i].boot;
            return true;
        }
    return false;
}

const char *bksim_boot_name(bksim_boot b)
{
    const boot_row *r = boot_row_get(b);
    return r ? r->name : "default";
}

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
    const boot_row *boot;
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
    /* The T loader's "CRC protect lock" (protocol doc, reference §6.4): a CheckCRC re-protects
     * the flash (crc_locked) without arming the loader's flag; a LinkCheck arms it
     * (unlock_armed); only a FlashErase while armed lifts the lock (then erases). */
    bool crc_locked, unlock_armed;
    int64_t rx_free, busy_until, tx_free;
    uint8_t rx[RX_CAP];
    size_t rx_len;
    bool rx_discard;             /* the chip reset while decoding: drop the rest */
    /* running_app: the application's console (bksim_module_config) */
    bool app_booted;             /* the first power-up has happened (it found the app running) */
    uint8_t app_rx[64];          /* the console's last bytes, for a reboot request */
    size_t app_rx_len;
    /* brownout_latch: latched until the supply goes away; latch_spent once it has happened
     * (the fault strikes the first write after a cold start only) */
    bool latched, latch_spent;

    out_item *q;
    size_t q_head, q_len, q_cap;

    bool host_open;
    int64_t next_hb, last_hb;
    bool hb_valid;

    int writes;
    int reads;                  /* FlashRead4K answered since power-on of the model (the
                                   brownout-read-after fault counts them) */
    int brownouts_at;       /* brown-outs the brownout-at fault has caused so far */
    bool yanked;
    bksim_stats st;
    uint16_t erase_count[BKSIM_SECTORS], program_count[BKSIM_SECTORS];
    bool page_programmed[BKSIM_FLASH_SIZE / 256]; /* since its sector's last erase */
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

/* The download window and the link-lost timeout wait on a host, whose pauses are real time:
 * at any time scale they last their milliseconds of REAL time (model = real / scale). */
static int64_t host_ms_to_model_ns(const bksim_module *m, int ms)
{
    double ns = (double)ms * 1e6;
    return (int64_t)(m->time_scale > 0 ? ns / m->time_scale : ns);
}

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

uint32_t bksim_app_baud(const bksim_module_config *mc)
{
    return mc->app_baud ? mc->app_baud : 115200u;
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

/* Makes the 4 bytes at p[n-4..n-1] such that zlib's crc32 of p[0..n-1] is `target` (CRC-32
 * is affine: run the register backwards from the wanted value through four table steps). */
static void crc_forge_tail(uint8_t *p, size_t n, uint32_t target)
{
    const z_crc_t *tab = get_crc_table();
    uint8_t top_to_index[256];
    for (int i = 0; i < 256; i++)
        top_to_index[tab[i] >> 24] = (uint8_t)i;
    uint32_t before = bk_chip_crc(p, n - 4); /* register after n-4 bytes */
    uint32_t x = ~target;
    for (int k = 0; k < 4; k++) {
        uint8_t j = top_to_index[x >> 24];
        x = ((x ^ (uint32_t)tab[j]) << 8) | j;
    }
    bk_put_le32(p + n - 4, x ^ before);
}

/* The byte b for which crc32(p[0..n-1] + b) == target, or -1 if none. */
static int crc_byte_for(const uint8_t *p, size_t n, uint32_t target)
{
    uint32_t base = (uint32_t)crc32(0L, p, (uInt)n);
    for (int b = 0; b < 256; b++) {
        uint8_t c = (uint8_t)b;
        if ((uint32_t)crc32(base, &c, 1) == target)
            return b;
    }
    return -1;
}

/* The bootloader region: bytes whose CRC is the real loader's (the loader's code itself is
 * vendor property and not needed: clients only ever see its CRC), the rest opaque. */
static void init_bootloader(bksim_module *m, uint64_t *s)
{
    fill_random(m->flash, APP_START, s);
    if (m->boot->boot == BKSIM_BOOT_UNKNOWN)
        return;
    crc_forge_tail(m->flash, 256, m->boot->crc256);
    if (m->boot->has_crc257) {
        int b = crc_byte_for(m->flash, 256, m->boot->crc257);
        if (b >= 0)
            m->flash[256] = (uint8_t)b;
    }
}

/* The RF calibration sector: nothing of its calibration layout is public beyond the MAC TLV,
 * so the rest stays erased (sim/README.md, assumptions). */
static void init_rf_calibration(bksim_module *m)
{
    static const uint8_t tag[8] = {0x02, 0x11, 0x11, 0x11, 0x06, 0x00, 0x00, 0x00};
    if (m->cfg.no_mac)
        return;
    uint8_t *rf = m->flash + m->sfam->rf_cal_addr;
    memcpy(rf + BKSIM_MAC_TLV_OFF, tag, sizeof tag);
    memcpy(rf + BKSIM_MAC_OFF, m->mac, 6);
}

/* A module from a reel carries data of its own where the firmware keeps it: two sectors of
 * key-value storage and three of Tuya data (the licence) from 0x1EE000, where
 * BK7231GUIFlashTool looks first (docs/per-device-data.md). Their contents are random per
 * module: only that they differ from module to module matters (sim/README.md, assumptions). */
static void init_device_data(bksim_module *m, uint64_t seed, int index)
{
    uint64_t s = seed * 0x9E3779B97F4A7C15ull ^ ((uint64_t)index << 20) ^ 0xDA7A;
    for (int i = 0; i < m->fam->n_per_device; i++) {
        const bk_region *r = &m->fam->per_device[i];
        if (!strncmp(r->name, "key-value", 9))
            fill_random(m->flash + r->start, 2 * BK_SECTOR_SIZE, &s);
    }
    fill_random(m->flash + 0x1EE000, 3 * BK_SECTOR_SIZE, &s);
}

static void init_flash(bksim_module *m, uint64_t seed, int index)
{
    /* a reel's modules share their vendor firmware: its stream depends on the reel, not the
       module */
    uint64_t who = m->cfg.reel > 0 ? ((uint64_t)m->cfg.reel << 40 | 0xEE1) : (uint64_t)index << 32;
    uint64_t s = seed * 0x100000001B3ull ^ who ^ 0xB7231;
    memset(m->flash, 0xFF, BKSIM_FLASH_SIZE);
    init_bootloader(m, &s);
    fill_random(m->flash + APP_START, m->sfam->vendor_app_end - APP_START, &s);
    if (m->cfg.reel > 0)
        init_device_data(m, seed, index);
    if (m->cfg.device_data_full) {
        uint64_t d = seed ^ ((uint64_t)index << 24) ^ 0xF011;
        for (int i = 0; i < m->fam->n_per_device; i++)
            fill_random(m->flash + m->fam->per_device[i].start, m->fam->per_device[i].len, &d);
    }
    init_rf_calibration(m);
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
    bksim_boot boot = mc->boot != BKSIM_BOOT_DEFAULT ? mc->boot : m->sfam->default_boot;
    if (mc->faults.wrong_chip && mc->boot != BKSIM_BOOT_UNKNOWN)
        boot = m->sfam->default_boot; /* the other family carries its own loader */
    m->boot = boot_row_get(boot);
    if (!m->boot || (m->boot->chip != BK_CHIP_UNKNOWN && m->boot->chip != chip)) {
        snprintf(err, errlen, "module %d: bootloader %s does not run on a %s", index,
                 bksim_boot_name(boot), bk_chip_name(chip));
        free(m->flash);
        free(m);
        return NULL;
    }
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
    m->state = removed ? BKSIM_REMOVED : m->latched ? BKSIM_OFF : BKSIM_WINDOW;
    m->baud = BKSIM_BAUD_BOOT;
    m->window_end = now + host_ms_to_model_ns(m, m->tm.download_window_ms);
    /* Assumption (sim/README.md): a fresh loader has no CRC lock; only a CheckCRC makes one. */
    m->crc_locked = false;
    m->unlock_armed = false;
    m->rx_free = m->busy_until = now;
    m->tx_free = max64(m->tx_free, now);
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
    m->app_rx_len = 0;
    if (m->cfg.running_app && !m->app_booted && m->state == BKSIM_WINDOW)
        m->state = BKSIM_APP; /* found running: its loader window passed long ago */
    m->app_booted = true;
}

void bksim_module_power_off(bksim_module *m, int64_t now_ns)
{
    bksim_module_hold_reset(m, now_ns);
    m->latched = false;
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
    if (raw_addr < m->sfam->raw_protect_end || m->cfg.faults.flash_protected)
        return false;
    return !(m->fam->reprotects_after_crc && m->crc_locked);
}

/* Programs n bytes (NOR: bits only clear). Returns false if the array ignored it. */
static bool flash_program(bksim_module *m, uint32_t raw, const uint8_t *data, size_t n)
{
    if (!flash_writable(m, raw))
        return false;
    uint32_t last_sector = UINT32_MAX, last_page = UINT32_MAX;
    for (size_t i = 0; i < n; i++) {
        uint32_t a = (raw + (uint32_t)i) & FLASH_MASK;
        m->flash[a] &= data[i];
        if (a / 256 != last_page) {
            last_page = a / 256;
            if (m->page_programmed[last_page])
                m->st.pages_reprogrammed++;
            m->page_programmed[last_page] = true;
        }
        if (a / BK_SECTOR_SIZE != last_sector) {
            last_sector = a / BK_SECTOR_SIZE;
            if (m->program_count[last_sector] < UINT16_MAX)
                m->program_count[last_sector]++;
        }
    }
    return true;
}

/* Erases [raw_start, +size) (aligned; sizes divide the flash). False if the array ignored it. */
static bool flash_erase(bksim_module *m, uint32_t raw_start, uint32_t size)
{
    if (!flash_writable(m, raw_start))
        return false;
    uint32_t a = raw_start & FLASH_MASK;
    memset(m->flash + a, 0xFF, size);
    memset(m->page_programmed + a / 256, 0, size / 256);
    for (uint32_t sct = a / BK_SECTOR_SIZE; sct < (a + size) / BK_SECTOR_SIZE; sct++)
        if (m->erase_count[sct] < UINT16_MAX)
            m->erase_count[sct]++;
    return true;
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
    m->unlock_armed = true; /* T: the next FlashErase lifts a CRC's re-protection */
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

/* Registers: only the chip id is modelled (§3.5); every other address reads 0 (assumption). */
static void cmd_read_reg(bksim_module *m, const uint8_t *p, size_t n, uint8_t *r, cmd_result *res)
{
    if (n < 4) { res->no_reply = true; return; }
    uint32_t addr = bk_get_le32(p);
    memcpy(r, p, 4);
    bk_put_le32(r + 4, addr == 0x800000 ? m->fam->chip_id : 0);
    res->reply_len = 8;
}

/* Reboot: only the argument A5 reboots, with no reply; any other argument is echoed (§3.8). */
static void cmd_reboot(bksim_module *m, const uint8_t *p, size_t n, uint8_t *r, cmd_result *res)
{
    if (n >= 1 && p[0] == 0xA5) {
        res->no_reply = true;
        res->reset = true;
        return;
    }
    if (n < 1) { res->no_reply = true; return; }
    r[0] = p[0];
    res->reply_len = 1;
}

/* RESET "SEAN" (N): a watchdog reset, no reply (§3.9). */
static void cmd_reset_sean(bksim_module *m, const uint8_t *p, size_t n, uint8_t *r, cmd_result *res)
{
    res->no_reply = true;
    res->reset = n >= 4 && memcmp(p, "SEAN", 4) == 0;
}

/* StayRom (N): echoes 55 (§3.9). */
static void cmd_stay_rom(bksim_module *m, const uint8_t *p, size_t n, uint8_t *r, cmd_result *res)
{
    if (n < 1 || p[0] != 0x55) { res->no_reply = true; return; }
    r[0] = 0x55;
    res->reply_len = 1;
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
    if (m->fam->reprotects_after_crc) {
        m->crc_locked = true;   /* re-protected ... */
        m->unlock_armed = false; /* ... without the flag a FlashErase looks at */
    }
}

static void cmd_boot_version(bksim_module *m, const uint8_t *p, size_t n, uint8_t *r, cmd_result *res)
{
    size_t len = strlen(m->boot->version);
    memcpy(r, m->boot->version, len);
    res->reply_len = len;
}

static void count_write(bksim_module *m, bool applied)
{
    if (!applied)
        m->st.writes_dropped++;
}

/* FlashWrite (0x06): up to 256 bytes; reply status, address, count as one byte (§3.12; 256
 * bytes report 0x00, §12.9). */
static void cmd_flash_write(bksim_module *m, const uint8_t *p, size_t n, uint8_t *r, cmd_result *res)
{
    if (n < 4) { res->no_reply = true; return; }
    uint32_t addr = bk_get_le32(p);
    size_t len = n - 4;
    uint8_t status = len <= 256 ? ST_OK : ST_PACK_LEN_ERROR;
    if (status == ST_OK && len) {
        count_write(m, flash_program(m, addr, p + 4, len));
        res->op_s = (double)(((addr & 255) + len + 255) / 256) * bksim_op_s(&m->tm, BKSIM_OP_PAGE_PROGRAM);
    }
    reply_status_addr(r, status, addr);
    r[5] = (uint8_t)len;
    res->reply_len = 6;
}

static bool brownout_now(bksim_module *m, uint32_t addr)
{
    const bksim_faults *f = &m->cfg.faults;
    if (f->brownout_latch && !m->latch_spent && (addr & FLASH_MASK) == APP_START) {
        m->latched = m->latch_spent = true;
        return true;
    }
    if (f->brownout_first_write && (addr & FLASH_MASK) == APP_START)
        return true;
    if (f->brownout_at && (addr & FLASH_MASK) == (f->brownout_at & FLASH_MASK) &&
        (f->brownout_at_count < 0 || m->brownouts_at < f->brownout_at_count)) {
        m->brownouts_at++;
        return true;
    }
    return f->brownout_p > 0 && rng_unit(&m->rng_fault) < f->brownout_p;
}

/* FlashWrite4K: exactly address + 4096 bytes; any other LEN is PACK_LEN_ERROR (§3.11). */
static void cmd_write_4k(bksim_module *m, const uint8_t *p, size_t n, uint8_t *r, cmd_result *res)
{
    if (n < 4) { res->no_reply = true; return; }
    uint32_t addr = bk_get_le32(p);
    if (brownout_now(m, addr)) {
        res->no_reply = true;
        res->reset = true;
        return;
    }
    uint8_t status = n == 4 + BK_SECTOR_SIZE ? ST_OK : ST_PACK_LEN_ERROR;
    if (status == ST_OK) {
        count_write(m, flash_program(m, addr, p + 4, BK_SECTOR_SIZE));
        res->op_s = (BK_SECTOR_SIZE / 256) * bksim_op_s(&m->tm, BKSIM_OP_PAGE_PROGRAM);
        m->st.writes_4k++;
        m->writes++;
    }
    reply_status_addr(r, status, addr);
    res->reply_len = 5;
}

/* FlashRead4K: status, address, 4096 bytes. The T loader refuses its own region (raw address
 * below 0x11000) with status 6 and no data (LEN 6, §2.3, §3.13, §7.3); the alias above the
 * flash size reaches it. */
static void cmd_read_4k(bksim_module *m, const uint8_t *p, size_t n, uint8_t *r, cmd_result *res)
{
    if (n < 4) { res->no_reply = true; return; }
    uint32_t addr = bk_get_le32(p);
    if (addr < m->sfam->raw_protect_end) {
        reply_status_addr(r, ST_PARAM_ERROR, addr);
        res->reply_len = 5;
        return;
    }
    int after = m->cfg.faults.brownout_read_after;
    if (after >= 0 && m->reads >= after) {
        res->no_reply = true;
        res->reset = true;
        return;
    }
    m->reads++;
    reply_status_addr(r, ST_OK, addr);
    bksim_module_read_flash(m, addr, r + 5, BK_SECTOR_SIZE);
    res->reply_len = 5 + BK_SECTOR_SIZE;
    res->op_s = bksim_op_s(&m->tm, BKSIM_OP_READ_4K);
    m->st.reads_4k++;
}

/* FlashRead (BootROM): address u32 + a one-byte count; reply status, address, count bytes
 * (§3.17: LEN = 6 + size). */
static void cmd_read(bksim_module *m, const uint8_t *p, size_t n, uint8_t *r, cmd_result *res)
{
    if (n != 5) {
        reply_status_addr(r, ST_PACK_LEN_ERROR, n >= 4 ? bk_get_le32(p) : 0);
        res->reply_len = 5;
        return;
    }
    uint32_t addr = bk_get_le32(p);
    size_t count = p[4];
    reply_status_addr(r, ST_OK, addr);
    bksim_module_read_flash(m, addr, r + 5, count);
    res->reply_len = 5 + count;
    res->op_s = bksim_op_s(&m->tm, BKSIM_OP_READ_4K) * (double)count / BK_SECTOR_SIZE;
}

static void count_erase(bksim_module *m, bool applied)
{
    m->st.erases++;
    if (!applied)
        m->st.erases_dropped++;
}

/* FlashEraseAll (BootROM): one timeout byte; reply status + its echo (§3.1, §3.17). */
static void cmd_erase_all(bksim_module *m, const uint8_t *p, size_t n, uint8_t *r, cmd_result *res)
{
    if (n != 1) {
        r[0] = ST_PACK_LEN_ERROR;
        r[1] = n ? p[0] : 0;
        res->reply_len = 2;
        return;
    }
    count_erase(m, flash_erase(m, 0, BKSIM_FLASH_SIZE));
    r[0] = ST_OK;
    r[1] = p[0];
    res->reply_len = 2;
    res->op_s = bksim_op_s(&m->tm, BKSIM_OP_ERASE_ALL);
}

/* FlashErase4K (0x0B, BootROM): address; reply status + address (§3.14). */
static void cmd_erase_4k(bksim_module *m, const uint8_t *p, size_t n, uint8_t *r, cmd_result *res)
{
    if (n < 4) { res->no_reply = true; return; }
    uint32_t addr = bk_get_le32(p);
    count_erase(m, flash_erase(m, addr & ~(BK_SECTOR_SIZE - 1), BK_SECTOR_SIZE));
    reply_status_addr(r, ST_OK, addr);
    res->reply_len = 5;
    res->op_s = bksim_op_s(&m->tm, BKSIM_OP_ERASE_4K);
}

/* FlashErase (0x0F): size code 0x20 (4 KiB) or 0xD8 (64 KiB) + address; reply status, size,
 * address (§3.14). Other size codes: PARAM_ERROR (0x52 is only known from newer chips). On
 * the T loader an erase issued while its flag is armed lifts a CRC's re-protection first. */
static void cmd_erase(bksim_module *m, const uint8_t *p, size_t n, uint8_t *r, cmd_result *res)
{
    if (n < 5) { res->no_reply = true; return; }
    uint8_t size = p[0];
    uint32_t addr = bk_get_le32(p + 1);
    r[0] = ST_OK;
    r[1] = size;
    bk_put_le32(r + 2, addr);
    res->reply_len = 6;
    uint32_t bytes = size == BK_ERASE_SIZE_4K ? BK_SECTOR_SIZE : size == BK_ERASE_SIZE_64K ? BK_BLOCK_SIZE : 0;
    if (!bytes) {
        r[0] = ST_PARAM_ERROR;
        return;
    }
    if (m->fam->reprotects_after_crc && m->crc_locked && m->unlock_armed)
        m->crc_locked = false;
    count_erase(m, flash_erase(m, addr & ~(bytes - 1), bytes)); /* SPI NOR erases the unit holding addr */
    res->op_s = bksim_op_s(&m->tm, bytes == BK_SECTOR_SIZE ? BKSIM_OP_ERASE_4K : BKSIM_OP_ERASE_64K);
}

static void cmd_read_sr(bksim_module *m, const uint8_t *p, size_t n, uint8_t *r, cmd_result *res)
{
    if (n < 1) { res->no_reply = true; return; }
    r[0] = ST_OK;
    r[1] = p[0];
    if (p[0] == 0x05)
        r[2] = (uint8_t)m->sr;
    else if (p[0] == 0x35)
        r[2] = m->part->sr_two_bytes ? (uint8_t)(m->sr >> 8) : 0;
    else
        r[0] = ST_PARAM_ERROR, r[2] = 0;
    res->reply_len = 3;
}

static void cmd_write_sr(bksim_module *m, const uint8_t *p, size_t n, uint8_t *r, cmd_result *res)
{
    if (n < 2 || n > 3) { res->no_reply = true; return; }
    memcpy(r + 1, p, n);
    r[0] = p[0] == 0x01 ? ST_OK : ST_PARAM_ERROR;
    res->reply_len = 1 + n;
    if (r[0] != ST_OK)
        return;
    res->op_s = bksim_op_s(&m->tm, BKSIM_OP_SR_WRITE);
    if (m->cfg.faults.flash_protected)
        return; /* the part ignores the write: SR stays protected */
    uint16_t v = (uint16_t)((m->sr & 0xFF00) | p[1]);
    if (n == 3 && m->part->sr_two_bytes)
        v = (uint16_t)(p[1] | p[2] << 8);
    m->sr = v;
}

/* FlashGetMID: a 4-byte SPI transfer; reply status, one junk byte, the JEDEC id (LEN 6, §3.16). */
static void cmd_get_mid(bksim_module *m, const uint8_t *p, size_t n, uint8_t *r, cmd_result *res)
{
    r[0] = ST_OK;
    r[1] = 0x00;
    memcpy(r + 2, m->part->jedec, 3);
    res->reply_len = 5;
}

/* The command tables: which loader answers what (§3.1). Anything not listed is unsupported:
 * silence from the T loader, UNKNOW_CMD from the N BootROM (sim_family.answers_unknown). */
typedef struct cmd_row { bool is_long; uint8_t cmd; cmd_fn fn; bool on_t, on_n; } cmd_row;
static const cmd_row cmd_rows[] = {
    {false, BK_CMD_LINK_CHECK, cmd_link_check, true, true},
    {false, BK_CMD_WRITE_REG, cmd_write_reg, false, true},
    {false, BK_CMD_READ_REG, cmd_read_reg, false, true},
    {false, BK_CMD_REBOOT, cmd_reboot, true, true},
    {false, BK_CMD_SET_BAUD, cmd_set_baud, true, true},
    {false, BK_CMD_CHECK_CRC, cmd_check_crc, true, true},
    {false, BK_CMD_READ_BOOT_VERSION, cmd_boot_version, true, false},
    {false, BK_CMD_RESET_SEAN, cmd_reset_sean, false, true},
    {false, BK_CMD_STAY_ROM, cmd_stay_rom, false, true},
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

/* An unsupported command on a loader that says so: short reply payload 07, long reply status
 * 07 and nothing after it (§2.3). */
static void cmd_unknown(bksim_module *m, const uint8_t *p, size_t n, uint8_t *r, cmd_result *res)
{
    r[0] = ST_UNKNOWN_CMD;
    res->reply_len = 1;
}

static cmd_fn find_cmd(const bksim_module *m, const bk_frame *fr)
{
    bool is_t = m->fam->chip == BK_CHIP_BK7231T;
    for (size_t i = 0; i < sizeof cmd_rows / sizeof cmd_rows[0]; i++) {
        const cmd_row *c = &cmd_rows[i];
        if (c->is_long == fr->is_long && c->cmd == fr->cmd && (is_t ? c->on_t : c->on_n))
            return c->fn;
    }
    return m->sfam->answers_unknown ? cmd_unknown : NULL;
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

/* Garbage is dropped silently (§2.4, §10.2): the loader stays where it is. */
static void note_garbage(bksim_module *m, size_t n)
{
    m->st.garbage_bytes += n;
}

static void handle_frame(bksim_module *m, const bk_frame *fr, int64_t t_arr)
{
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
        m->window_end = t_arr + host_ms_to_model_ns(m, m->tm.download_window_ms);
        if (m->cfg.faults.no_download)
            return;
        m->state = BKSIM_DOWNLOAD;
        m->st.links++;
        m->last_reply = t_arr;
        break;
    case BKSIM_DOWNLOAD:
        if (t_arr > m->last_reply + host_ms_to_model_ns(m, m->tm.link_lost_ms)) {
            m->state = BKSIM_APP;
            return;
        }
        break;
    }
    cmd_fn fn = find_cmd(m, fr);
    if (!fn)
        return; /* unsupported: silence, the host times out */
    uint8_t payload[BK_LONG_PAYLOAD_MAX];
    cmd_result res = {.reply_cmd = fr->cmd};
    int64_t start = max64(t_arr, m->busy_until);
    fn(m, fr->payload, fr->payload_len, payload, &res);
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

/* The running application's console (running_app): the line "reboot" or the register-write
 * reboot frame restarts the chip into its loader window (reference §3.10, §5.2). Bytes sent at
 * another rate than the console's are noise to it. Assumption (sim/README.md): the restart
 * is at once; a real application takes some milliseconds to go down. */
static void app_console_rx(bksim_module *m, const uint8_t *buf, size_t n, uint32_t host_baud,
                           int64_t now)
{
    static const uint8_t frame[] = {0x01, 0xE0, 0xFC, 0x05, 0xFE, 0x95, 0x27, 0x95, 0x27};
    if (host_baud != bksim_app_baud(&m->cfg)) {
        note_garbage(m, n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (m->app_rx_len == sizeof m->app_rx) { /* keep the newest half */
            memmove(m->app_rx, m->app_rx + sizeof m->app_rx / 2, sizeof m->app_rx / 2);
            m->app_rx_len = sizeof m->app_rx / 2;
        }
        m->app_rx[m->app_rx_len++] = buf[i];
        const uint8_t *end = m->app_rx + m->app_rx_len;
        bool text = buf[i] == '\n' &&
                    ((m->app_rx_len >= 7 && !memcmp(end - 7, "reboot\n", 7)) ||
                     (m->app_rx_len >= 8 && !memcmp(end - 8, "reboot\r\n", 8)));
        bool regw = m->app_rx_len >= sizeof frame && !memcmp(end - sizeof frame, frame, sizeof frame);
        if (text || regw) {
            m->st.app_reboots++;
            m->app_rx_len = 0;
            chip_reset(m, now);
            return; /* the rest of the bytes met a chip that was restarting */
        }
    }
}

void bksim_module_rx(bksim_module *m, const uint8_t *buf, size_t n, uint32_t host_baud, int64_t now_ns)
{
    m->st.bytes_in += n;
    if (m->state == BKSIM_APP && m->cfg.running_app) {
        app_console_rx(m, buf, n, host_baud, now_ns);
        return;
    }
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

void bksim_module_sector_counts(const bksim_module *m, uint16_t *erases, uint16_t *programs, size_t n)
{
    if (n > BKSIM_SECTORS)
        n = BKSIM_SECTORS;
    memcpy(erases, m->erase_count, n * sizeof *erases);
    memcpy(programs, m->program_count, n * sizeof *programs);
}

void bksim_module_clear_counts(bksim_module *m)
{
    memset(m->erase_count, 0, sizeof m->erase_count);
    memset(m->program_count, 0, sizeof m->program_count);
    memset(&m->st, 0, sizeof m->st);
}
