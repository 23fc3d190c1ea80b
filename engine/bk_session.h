/* bk_session.h - one conversation with one module's bootloader: the protocol's commands as
 * functions over a transport. No policy here (retries, baud fall-back and cause-finding belong
 * to bk_job.c); each call reports exactly what the wire showed. One thread owns a session. */
#pragma once
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "bk_chip.h"
#include "bk_proto.h"
#include "bk_trace.h"
#include "transport.h"

typedef enum bk_status {
    BK_ST_OK = 0,
    BK_ST_TIMEOUT,    /* nothing that looked like the reply arrived in time */
    BK_ST_GARBLED,    /* bytes arrived, but no valid reply among them (or a reply that does not fit) */
    BK_ST_CHIP_ERROR, /* a valid reply with a non-zero status byte */
    BK_ST_GONE,       /* the port vanished */
    BK_ST_CANCELLED,  /* the cancel flag was raised */
    BK_ST_IO,         /* another transport error */
} bk_status;
const char *bk_status_name(bk_status st);

typedef struct bk_session {
    bk_transport *tp;
    uint32_t baud;            /* the rate both ends use now */
    const bk_family *fam;     /* NULL until identified */
    atomic_int *cancel;       /* may be NULL */
    int cancel_reason;        /* value seen when BK_ST_CANCELLED was returned */
    /* What the wire showed, for the cause classifier: */
    uint32_t idle_garbage_bytes; /* bytes found on the line while no reply was due */
    uint32_t idle_garbage_events;
    uint32_t foreign_frames;     /* whole TuyaMCU frames among the garbage: a second talker */
    uint32_t garbled_replies;    /* exchanges that got bytes but no valid reply */
    uint32_t timeouts;
    uint32_t crc_since_link;     /* T quirk bookkeeping: CRCs not yet followed by a LinkCheck */
    bool reads_only;             /* the caller only reads and CRCs until it clears this (the
                                    backup): the T's LinkCheck after each CRC is left out, and
                                    bk_relink_after_crcs sends the one the next erase needs */
    bk_trace_hook trace;         /* frames out/in to the caller's trace (fn NULL: none) */
    bool trace_long;             /* the last request's kind and command: names its reply */
    uint8_t trace_cmd;
    size_t rx_len;
    uint8_t rx[2 * BK_FRAME_MAX];
    uint8_t tx[BK_FRAME_MAX];
    uint8_t scratch[4 + BK_SECTOR_SIZE]; /* a write's payload: address + data */
} bk_session;

void bk_session_init(bk_session *s, bk_transport *tp, atomic_int *cancel);

/* Monotonic seconds. */
double bk_now_s(void);
/* Sleeps ms milliseconds, resuming after signals: the chip's own timings (reset pulses, the
 * baud switch's delay), never synchronisation. */
void bk_sleep_ms(int ms);
/* Seconds one byte takes on the wire (10 bit-times) at `baud`. */
static inline double bk_byte_time_s(uint32_t baud) { return 10.0 / (double)baud; }

/* Sends LinkCheck and waits up to timeout_ms for its reply; no reset. */
bk_status bk_link_check(bk_session *s, int timeout_ms);
/* SetBaudRate handshake: request at the current rate, switch the host after delay_ms/2,
 * expect the echo at the new rate. On failure the host stays at the new rate (the chip may
 * be there too, or not): the caller must reset and link again. */
bk_status bk_set_baud(bk_session *s, uint32_t baud, uint8_t delay_ms);
/* CheckCRC over [start, start+len) whatever the family's end convention (fam must be set, or
 * `inclusive_end` guessed by the caller via bk_check_crc_raw). On a family that re-protects
 * after a CRC, a LinkCheck follows automatically. */
bk_status bk_check_crc(bk_session *s, uint32_t start, uint32_t len, uint32_t *crc);
bk_status bk_check_crc_raw(bk_session *s, uint32_t start, uint32_t end, uint32_t *crc);
/* Ends a reads_only stretch: the LinkCheck a T needs after CRCs before it erases or writes
 * again (none if no CRC is pending, or on a family that does not re-protect). */
bk_status bk_relink_after_crcs(bk_session *s, int timeout_ms);
bk_status bk_read_reg(bk_session *s, uint32_t addr, uint32_t *value, int timeout_ms);
/* ReadBootVersion: a T loader answers its version as ASCII (into out, NUL-terminated); the N
 * BootROM answers the single byte 07, UNKNOW_CMD (*not_implemented set, out empty). */
bk_status bk_read_boot_version(bk_session *s, char *out, size_t outlen, bool *not_implemented,
                               int timeout_ms);
bk_status bk_get_flash_mid(bk_session *s, uint8_t id[3]);
bk_status bk_read_sr(bk_session *s, uint8_t reg_cmd, uint8_t *value);
bk_status bk_write_sr(bk_session *s, uint16_t value, int nbytes);
/* size_code BK_ERASE_SIZE_4K or BK_ERASE_SIZE_64K; worst-case timing is allowed for. */
bk_status bk_erase(bk_session *s, uint32_t addr, uint8_t size_code);
bk_status bk_write_4k(bk_session *s, uint32_t addr, const uint8_t data[BK_SECTOR_SIZE]);
bk_status bk_read_4k(bk_session *s, uint32_t addr, uint8_t data[BK_SECTOR_SIZE]);
/* Reads the RF calibration sector of the identified family (s->fam) and takes the MAC from
 * its TLV: *found false when the sector carries none. The one MAC reader for every caller. */
bk_status bk_read_mac(bk_session *s, uint8_t mac[6], bool *found);
/* Reboot into the application (no reply is expected). */
bk_status bk_reboot(bk_session *s);
/* The public tools' requests to firmware that is already running (reference §3.10, §5.2), at
 * the current baud, no reply expected: BK_APP_REBOOT_TEXT writes the console command
 * "reboot\r\n", BK_APP_REBOOT_FRAME the register-write reboot frame 01 E0 FC 05 FE 95 27 95 27. */
enum { BK_APP_REBOOT_TEXT = 1, BK_APP_REBOOT_FRAME = 2 };
bk_status bk_app_reboot_request(bk_session *s, unsigned what);

/* Reads and discards what is waiting on the line; counts non-frame bytes as idle garbage. */
void bk_session_drain_idle(bk_session *s);
