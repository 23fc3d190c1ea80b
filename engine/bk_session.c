/* bk_session.c - request/reply exchanges with deadlines derived from the wire and the flash.
 *
 * Timeouts are computed, not guessed: the frame's bytes both ways at the current baud, plus
 * the operation's worst-case datasheet time, plus a margin for USB latency and a loaded
 * host. A reply is hunted for in whatever arrives (the decoder skips foreign bytes); stale
 * replies to earlier commands (e.g. a LinkCheck flood) are skipped, not mistaken. */
#include "bk_session.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Worst-case flash operation times (docs/physics-failures.md), seconds. */
#define WORST_ERASE_4K_S 0.300
#define WORST_ERASE_64K_S 2.000
#define WORST_PROGRAM_4K_S 0.045
#define WORST_SR_WRITE_S 0.020
#define CHIP_CRC_BYTES_PER_S 400000.0
/* Host scheduling, USB turn-around and a busy simulator: generous, because a false
 * timeout would be reported as a brown-out. */
#define MARGIN_MS 250
#define POLL_SLICE_MS 100

static const char *const status_names[] = {
    [BK_ST_OK] = "ok", [BK_ST_TIMEOUT] = "no reply", [BK_ST_GARBLED] = "garbled reply",
    [BK_ST_CHIP_ERROR] = "error status", [BK_ST_GONE] = "port gone",
    [BK_ST_CANCELLED] = "cancelled", [BK_ST_IO] = "I/O error",
};

const char *bk_status_name(bk_status st)
{
    return (unsigned)st < sizeof status_names / sizeof status_names[0] ? status_names[st] : "?";
}

double bk_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void bk_session_init(bk_session *s, bk_transport *tp, atomic_int *cancel)
{
    memset(s, 0, sizeof *s);
    s->tp = tp;
    s->baud = tp ? tp->baud : 115200;
    s->cancel = cancel;
}

static bk_status io_status(int rc)
{
    return rc == BK_IO_GONE ? BK_ST_GONE : BK_ST_IO;
}

static bool cancelled(bk_session *s)
{
    int v = s->cancel ? atomic_load(s->cancel) : 0;
    if (v)
        s->cancel_reason = v;
    return v != 0;
}

/* Remove the first n bytes of the receive buffer. */
static void rx_consume(bk_session *s, size_t n)
{
    if (n >= s->rx_len) {
        s->rx_len = 0;
        return;
    }
    memmove(s->rx, s->rx + n, s->rx_len - n);
    s->rx_len -= n;
}

/* A TuyaMCU (the MCU many Tuya products put beside the WB2S on UART1) speaks frames
 * 55 AA ver cmd len16(BE) data checksum, the checksum being the byte sum of everything before
 * it. One of those among the garbage names the second talker for certain. */
static void scan_foreign(bk_session *s, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i + 7 <= n; i++) {
        if (b[i] != 0x55 || b[i + 1] != 0xAA)
            continue;
        size_t len = (size_t)b[i + 4] << 8 | b[i + 5];
        if (i + 7 + len > n)
            continue;
        uint8_t sum = 0;
        for (size_t k = 0; k < 6 + len; k++)
            sum = (uint8_t)(sum + b[i + k]);
        if (sum == b[i + 6 + len]) {
            s->foreign_frames++;
            i += 6 + len;
        }
    }
}

void bk_session_drain_idle(bk_session *s)
{
    s->rx_len = 0;
    for (;;) {
        int n = s->tp->ops->read(s->tp, s->rx, sizeof s->rx, 0);
        if (n <= 0)
            break;
        size_t len = (size_t)n, off = 0, junk = 0;
        while (off < len) {
            bk_frame f;
            size_t used = 0, garbage = 0;
            bk_decode_status ds = bk_decode_reply(s->rx + off, len - off, &f, &used, &garbage);
            junk += garbage;
            scan_foreign(s, s->rx + off, ds == BK_DECODE_FRAME ? garbage : len - off);
            if (ds != BK_DECODE_FRAME) {
                if (used == 0)
                    junk += len - off; /* a partial frame left over: nobody will finish it */
                break;
            }
            off += used;
        }
        if (junk) {
            s->idle_garbage_bytes += (uint32_t)junk;
            s->idle_garbage_events++;
        }
    }
    s->rx_len = 0;
}

/* The caller's trace, if any: one frame described (flash contents hidden). */
static void trace(bk_session *s, bk_trace_dir dir, const uint8_t *payload, size_t len,
                  const char *missing)
{
    if (!s->trace.fn)
        return;
    bk_trace_frame f;
    bk_trace_describe(&f, dir, s->trace_long, s->trace_cmd, payload, len, s->baud);
    f.missing = missing;
    s->trace.fn(s->trace.ctx, &f);
}

typedef struct expect {
    bool is_long;
    uint8_t cmd;
    size_t min_payload;
    int timeout_ms;
} expect;

/* Waits for the reply described by `e`; *reply's payload points into s->rx and stays valid
 * until the next call on the session. */
static bk_status await_reply(bk_session *s, const expect *e, bk_frame *reply)
{
    double deadline = bk_now_s() + e->timeout_ms / 1000.0;
    size_t junk = 0;
    s->rx_len = 0;
    for (;;) {
        if (cancelled(s))
            return BK_ST_CANCELLED;
        double left_s = deadline - bk_now_s();
        if (left_s <= 0)
            break;
        int wait_ms = (int)(left_s * 1000.0) + 1;
        if (wait_ms > POLL_SLICE_MS)
            wait_ms = POLL_SLICE_MS;
        if (s->rx_len == sizeof s->rx) /* full of junk: keep the tail, a frame may start there */
            rx_consume(s, sizeof s->rx / 2);
        int n = s->tp->ops->read(s->tp, s->rx + s->rx_len, sizeof s->rx - s->rx_len, wait_ms);
        if (n < 0)
            return io_status(n);
        s->rx_len += (size_t)n;
        for (;;) {
            bk_frame f;
            size_t used = 0, garbage = 0;
            bk_decode_status ds = bk_decode_reply(s->rx, s->rx_len, &f, &used, &garbage);
            junk += garbage;
            scan_foreign(s, s->rx, garbage);
            if (ds != BK_DECODE_FRAME) {
                rx_consume(s, used);
                break;
            }
            if (f.is_long == e->is_long && f.cmd == e->cmd && f.payload_len >= e->min_payload) {
                if (junk) { /* a valid reply behind stray bytes: a second talker? */
                    s->idle_garbage_bytes += (uint32_t)junk;
                    s->idle_garbage_events++;
                }
                *reply = f;
                trace(s, BK_TRACE_IN, f.payload, f.payload_len, NULL);
                return BK_ST_OK;
            }
            rx_consume(s, used); /* a stale reply to an earlier command */
        }
    }
    if (junk > 0 || s->rx_len > 0) {
        s->garbled_replies++;
        trace(s, BK_TRACE_MISSING, NULL, 0, "garbled reply");
        return BK_ST_GARBLED;
    }
    s->timeouts++;
    trace(s, BK_TRACE_MISSING, NULL, 0, "no reply");
    return BK_ST_TIMEOUT;
}

static int timeout_for(const bk_session *s, size_t req_len, size_t reply_len, double op_worst_s)
{
    double wire_s = (double)(req_len + reply_len) * bk_byte_time_s(s->baud);
    return (int)((wire_s * 1.5 + op_worst_s) * 1000.0) + MARGIN_MS;
}

static bk_status send_frame(bk_session *s, bool is_long, uint8_t cmd, const uint8_t *payload,
                            size_t len, size_t *frame_len)
{
    if (cancelled(s))
        return BK_ST_CANCELLED;
    bk_session_drain_idle(s);
    size_t n = is_long ? bk_encode_request_long(s->tx, sizeof s->tx, cmd, payload, len)
                       : bk_encode_request_short(s->tx, sizeof s->tx, cmd, payload, len);
    if (n == 0)
        return BK_ST_IO;
    int rc = s->tp->ops->write(s->tp, s->tx, n);
    if (rc < 0)
        return io_status(rc);
    s->trace_long = is_long;
    s->trace_cmd = cmd;
    trace(s, BK_TRACE_OUT, payload, len, NULL);
    *frame_len = n;
    return BK_ST_OK;
}

/* One request, one reply of the same frame kind and command. */
static bk_status exchange(bk_session *s, bool is_long, uint8_t cmd, const uint8_t *payload, size_t len,
                          size_t reply_payload, double op_worst_s, bk_frame *reply)
{
    size_t sent = 0;
    bk_status st = send_frame(s, is_long, cmd, payload, len, &sent);
    if (st != BK_ST_OK)
        return st;
    expect e = {is_long, cmd, reply_payload,
                timeout_for(s, sent, bk_reply_frame_len(is_long, reply_payload), op_worst_s)};
    st = await_reply(s, &e, reply);
    if (st == BK_ST_OK && is_long && reply->payload[0] != 0)
        return BK_ST_CHIP_ERROR;
    return st;
}

bk_status bk_link_check(bk_session *s, int timeout_ms)
{
    size_t sent = 0;
    bk_status st = send_frame(s, false, BK_CMD_LINK_CHECK, NULL, 0, &sent);
    if (st != BK_ST_OK)
        return st;
    expect e = {false, BK_CMD_LINK_CHECK_REPLY, 1, timeout_ms};
    bk_frame f;
    st = await_reply(s, &e, &f);
    if (st == BK_ST_OK && f.payload[0] != 0)
        return BK_ST_CHIP_ERROR;
    if (st == BK_ST_OK)
        s->crc_since_link = 0;
    return st;
}

void bk_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

bk_status bk_set_baud(bk_session *s, uint32_t baud, uint8_t delay_ms)
{
    uint8_t p[5];
    bk_put_le32(p, baud);
    p[4] = delay_ms;
    size_t sent = 0;
    bk_status st = send_frame(s, false, BK_CMD_SET_BAUD, p, sizeof p, &sent);
    if (st != BK_ST_OK)
        return st;
    s->tp->ops->drain(s->tp);
    /* The chip switches delay_ms after the request ends; the host switches halfway, once the
     * request has surely crossed the wire, so the echo finds both ends at the new rate. */
    double wire_ms = (double)sent * bk_byte_time_s(s->baud) * 1000.0;
    bk_sleep_ms((int)wire_ms + delay_ms / 2);
    int rc = s->tp->ops->set_baud(s->tp, baud);
    if (rc < 0)
        return io_status(rc);
    s->baud = baud;
    expect e = {false, BK_CMD_SET_BAUD, 5, delay_ms + timeout_for(s, 0, 12, 0)};
    bk_frame f;
    st = await_reply(s, &e, &f);
    if (st == BK_ST_OK && memcmp(f.payload, p, 5) != 0) {
        s->garbled_replies++;
        st = BK_ST_GARBLED;
    }
    return st;
}

bk_status bk_check_crc_raw(bk_session *s, uint32_t start, uint32_t end, uint32_t *crc)
{
    uint8_t p[8];
    bk_put_le32(p, start);
    bk_put_le32(p + 4, end);
    bk_frame f;
    double op_s = (double)(end - start + 1) / CHIP_CRC_BYTES_PER_S * 1.25;
    bk_status st = exchange(s, false, BK_CMD_CHECK_CRC, p, sizeof p, 4, op_s, &f);
    if (st == BK_ST_OK)
        *crc = bk_get_le32(f.payload);
    if (st == BK_ST_OK || st == BK_ST_GARBLED)
        s->crc_since_link++;
    /* T quirk: a CRC re-protects the flash until the next LinkCheck. Unknown family: assume it. */
    if (st == BK_ST_OK && !s->reads_only && (!s->fam || s->fam->reprotects_after_crc)) {
        bk_status ls = bk_link_check(s, timeout_for(s, 5, 8, 0));
        if (ls != BK_ST_OK)
            return ls;
    }
    return st;
}

bk_status bk_relink_after_crcs(bk_session *s, int timeout_ms)
{
    s->reads_only = false;
    if (s->crc_since_link == 0 || (s->fam && !s->fam->reprotects_after_crc))
        return BK_ST_OK;
    return bk_link_check(s, timeout_ms);
}

bk_status bk_check_crc(bk_session *s, uint32_t start, uint32_t len, uint32_t *crc)
{
    bool inclusive = s->fam && s->fam->crc_end_inclusive;
    return bk_check_crc_raw(s, start, inclusive ? start + len - 1 : start + len, crc);
}

bk_status bk_read_reg(bk_session *s, uint32_t addr, uint32_t *value, int timeout_ms)
{
    uint8_t p[4];
    bk_put_le32(p, addr);
    size_t sent = 0;
    bk_status st = send_frame(s, false, BK_CMD_READ_REG, p, sizeof p, &sent);
    if (st != BK_ST_OK)
        return st;
    expect e = {false, BK_CMD_READ_REG, 8, timeout_ms};
    bk_frame f;
    st = await_reply(s, &e, &f);
    if (st == BK_ST_OK) {
        if (bk_get_le32(f.payload) != addr)
            return BK_ST_GARBLED;
        *value = bk_get_le32(f.payload + 4);
    }
    return st;
}

bk_status bk_read_boot_version(bk_session *s, char *out, size_t outlen, bool *not_implemented,
                               int timeout_ms)
{
    *not_implemented = false;
    if (outlen)
        out[0] = 0;
    size_t sent = 0;
    bk_status st = send_frame(s, false, BK_CMD_READ_BOOT_VERSION, NULL, 0, &sent);
    if (st != BK_ST_OK)
        return st;
    expect e = {false, BK_CMD_READ_BOOT_VERSION, 1, timeout_ms};
    bk_frame f;
    st = await_reply(s, &e, &f);
    if (st != BK_ST_OK)
        return st;
    if (f.payload_len == 1 && f.payload[0] == 0x07) {
        *not_implemented = true;
        return BK_ST_OK;
    }
    size_t n = 0;
    for (size_t i = 0; i < f.payload_len && n + 1 < outlen; i++) {
        uint8_t c = f.payload[i];
        if (c == 0)
            break;
        out[n++] = (c >= 0x20 && c < 0x7F) ? (char)c : '?';
    }
    out[n] = 0;
    return BK_ST_OK;
}

bk_status bk_get_flash_mid(bk_session *s, uint8_t id[3])
{
    uint8_t p[4];
    bk_put_le32(p, 0x9F);
    bk_frame f;
    bk_status st = exchange(s, true, BK_LCMD_GET_MID, p, sizeof p, 5, 0, &f);
    if (st == BK_ST_OK)
        memcpy(id, f.payload + 2, 3);
    return st;
}

bk_status bk_read_sr(bk_session *s, uint8_t reg_cmd, uint8_t *value)
{
    bk_frame f;
    bk_status st = exchange(s, true, BK_LCMD_READ_SR, &reg_cmd, 1, 3, 0, &f);
    if (st == BK_ST_OK)
        *value = f.payload[2];
    return st;
}

bk_status bk_write_sr(bk_session *s, uint16_t value, int nbytes)
{
    uint8_t p[3] = {0x01, (uint8_t)value, (uint8_t)(value >> 8)};
    bk_frame f;
    return exchange(s, true, BK_LCMD_WRITE_SR, p, nbytes == 2 ? 3 : 2, 3, WORST_SR_WRITE_S, &f);
}

bk_status bk_erase(bk_session *s, uint32_t addr, uint8_t size_code)
{
    uint8_t p[5];
    p[0] = size_code;
    bk_put_le32(p + 1, addr);
    bk_frame f;
    double op_s = size_code == BK_ERASE_SIZE_64K ? WORST_ERASE_64K_S : WORST_ERASE_4K_S;
    bk_status st = exchange(s, true, BK_LCMD_ERASE, p, sizeof p, 6, op_s, &f);
    if (st == BK_ST_OK && (f.payload[1] != size_code || bk_get_le32(f.payload + 2) != addr)) {
        s->garbled_replies++;
        return BK_ST_GARBLED;
    }
    return st;
}

bk_status bk_write_4k(bk_session *s, uint32_t addr, const uint8_t data[BK_SECTOR_SIZE])
{
    bk_put_le32(s->scratch, addr);
    memcpy(s->scratch + 4, data, BK_SECTOR_SIZE);
    bk_frame f;
    bk_status st = exchange(s, true, BK_LCMD_WRITE_4K, s->scratch, 4 + BK_SECTOR_SIZE, 5,
                            WORST_PROGRAM_4K_S, &f);
    if (st == BK_ST_OK && bk_get_le32(f.payload + 1) != addr) {
        s->garbled_replies++;
        return BK_ST_GARBLED;
    }
    return st;
}

bk_status bk_read_4k(bk_session *s, uint32_t addr, uint8_t data[BK_SECTOR_SIZE])
{
    uint8_t p[4];
    bk_put_le32(p, addr);
    bk_frame f;
    bk_status st = exchange(s, true, BK_LCMD_READ_4K, p, sizeof p, 5 + BK_SECTOR_SIZE, 0.005, &f);
    if (st != BK_ST_OK)
        return st;
    if (bk_get_le32(f.payload + 1) != addr) {
        s->garbled_replies++;
        return BK_ST_GARBLED;
    }
    memcpy(data, f.payload + 5, BK_SECTOR_SIZE);
    return BK_ST_OK;
}

bk_status bk_read_mac(bk_session *s, uint8_t mac[6], bool *found)
{
    *found = false;
    if (!s->fam)
        return BK_ST_IO;
    uint8_t *sector = malloc(BK_SECTOR_SIZE);
    if (!sector)
        return BK_ST_IO;
    bk_status st = bk_read_4k(s, s->fam->rf_cal_addr, sector);
    if (st == BK_ST_OK)
        *found = bk_mac_from_rf_cal(sector, BK_SECTOR_SIZE, mac);
    free(sector);
    return st;
}

bk_status bk_app_reboot_request(bk_session *s, unsigned what)
{
    static const uint8_t text[] = "reboot\r\n";
    static const uint8_t magic[] = {0x95, 0x27, 0x95, 0x27};
    if (what & BK_APP_REBOOT_TEXT) {
        if (cancelled(s))
            return BK_ST_CANCELLED;
        int rc = s->tp->ops->write(s->tp, text, sizeof text - 1);
        if (rc < 0)
            return io_status(rc);
    }
    if (what & BK_APP_REBOOT_FRAME) {
        size_t sent = 0;
        bk_status st = send_frame(s, false, BK_CMD_BKREG_REBOOT, magic, sizeof magic, &sent);
        if (st != BK_ST_OK)
            return st;
    }
    s->tp->ops->drain(s->tp);
    return BK_ST_OK;
}

bk_status bk_reboot(bk_session *s)
{
    uint8_t p = 0xA5;
    size_t sent = 0;
    bk_status st = send_frame(s, false, BK_CMD_REBOOT, &p, 1, &sent);
    if (st == BK_ST_OK)
        s->tp->ops->drain(s->tp);
    return st;
}
