/* bksim.h - the BK7231 bootloader simulator: the face of sim/.
 *
 * Three layers, all behind this header:
 *   - the module model (bksim_module_*): a state machine fed (bytes, arrival time) that
 *     answers frames with (reply bytes, due time). No I/O, no clock of its own: the caller
 *     passes the time, so tests drive it with a fake clock.
 *   - the pty server (bksim_start ...): one thread, one epoll loop, one timerfd per module,
 *     serving N modules each on its own pseudo-terminal (DIR/simI -> /dev/pts/K).
 *   - the cost model (bksim_wire_s, bksim_op_s, bksim_lower_bound_s): the numbers the model
 *     charges, shared with the benchmark target so both agree by construction.
 *
 * Time on the model clock is int64 nanoseconds. The server maps it to CLOCK_MONOTONIC:
 * real = start + model * time_scale (time_scale 0: model = real, nothing charged). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "bk_chip.h"

/* ------------------------------------------------------------------ faults */
typedef struct bksim_faults {
    bool no_download;            /* never enters download mode */
    bool brownout_first_write;   /* first FlashWrite4K at 0x11000: chip resets, no reply, every time */
    bool brownout_latch;         /* the first FlashWrite4K at 0x11000 after a cold power-up sags the
                                    supply into a latched state: silent, and a CEN reset does not
                                    clear it; only a power-cycle does (then writes succeed) */
    double brownout_p;           /* probability per 4 KiB write of a brown-out reset (no reply) */
    uint32_t bit_errors_above;   /* baud above which bytes get bit errors (0 = never) */
    double bit_error_rate;       /* per byte, both directions, when above (default 2e-4) */
    uint32_t adapter_max_baud;   /* the adapter cannot carry more: above it every byte is garbage */
    bool flash_protected;        /* N: status register cannot be cleared; T: app area erase/program are no-ops */
    bool foreign_traffic;        /* a TuyaMCU chatters on the line: 55 AA 00 00 00 00 FF every 150-300 ms */
    bool slow_flash;             /* worst-case datasheet timings */
    int removed_after_writes;    /* module pulled out after this many 4 KiB writes (-1 = never) */
    int yank_after_writes;       /* the ADAPTER vanishes (master closed, link removed) after N writes (-1 never) */
    bool wrong_chip;             /* the module carries the other family than configured */
    int brownout_read_after;     /* every FlashRead4K after this many resets the chip, no reply
                                    (a supply that sags while reading; -1 = never) */
    uint32_t brownout_at;        /* a FlashWrite4K at this address browns out (0 = none): no reply,
                                    the chip resets (a supply that sags on one sector's write, e.g.
                                    the config sector written last) */
    int brownout_at_count;       /* ... only the first N times (-1 = every time) */
} bksim_faults;

void bksim_faults_none(bksim_faults *f);
/* One spec: "brownout-first-write", "brownout-p=0.05", "bit-errors-above=460800",
   "bit-error-rate=1e-4", "adapter-max-baud=460800", "protected", "foreign-traffic",
   "slow-flash", "removed-after=N", "yank-after=N", "no-download", "wrong-chip",
   "brownout-at=ADDR", "brownout-at-count=N", "brownout-latch", "brownout-read-after=N",
   "none".
   Applies it on top of *f; returns false with words in err. */
bool bksim_fault_parse(const char *spec, bksim_faults *f, char *err, size_t errlen);
/* "brownout-first-write,slow-flash" or "none"; returns the length written (snprintf rules). */
int bksim_fault_format(const bksim_faults *f, char *buf, size_t len);

/* ------------------------------------------------------------------ configuration */
/* The flash bootloader a module carries (its first bytes' CRC is what clients fingerprint;
 * reference §4). BKSIM_BOOT_DEFAULT: Tuya BK7231S 1.0.5 on a T, bl_bk7231n_1.0.1 on an N. */
typedef enum bksim_boot {
    BKSIM_BOOT_DEFAULT = 0,
    BKSIM_BOOT_BK7231S_1_0_1,
    BKSIM_BOOT_BK7231S_1_0_3,
    BKSIM_BOOT_BK7231S_1_0_5,
    BKSIM_BOOT_BK7231S_1_0_6,
    BKSIM_BOOT_BK7231N_1_0_1,
    BKSIM_BOOT_UNKNOWN,       /* bytes no table knows: clients must identify by probing */
} bksim_boot;
/* "bk7231s_1.0.5", "bk7231n_1.0.1", "unknown" -> value; false if no such name. */
bool bksim_boot_parse(const char *name, bksim_boot *out);
const char *bksim_boot_name(bksim_boot b);

typedef struct bksim_module_config {
    bk_chip chip;           /* BK_CHIP_BK7231T or BK_CHIP_BK7231N */
    bksim_faults faults;
    bool have_mac; uint8_t mac[6];  /* else derived from seed and index, prefix d8:1f:12 */
    bksim_boot boot;        /* the flash bootloader's identity (and T version string) */
    bool open_keeps_state;  /* a client's open of the port is NOT a power-cycle (a fixture whose
                               adapter has no modem lines and nobody power-cycles): only the
                               first open powers the module up */
    bool no_mac;            /* the RF calibration sector carries no MAC TLV */
    int reel;               /* 0: vendor firmware of its own (seed and index); N > 0: the module
                               comes from reel N: bootloader and vendor app are the reel's (the
                               same bytes on every module of it) and its per-device regions hold
                               data of its own (key-value storage, Tuya data; sim/README.md) */
    bool device_data_full;  /* every per-device sector carries data of its own (the worst case
                               of a device backup; bench/bench_backup) */
    /* "Running firmware" (rework, re-flash): the module's first power-up finds its application
     * running (the loader window passed long ago), opens of the port never reset it, and the
     * application's console (at app_baud, 0: 115200) restarts the chip into its loader window
     * on the public tools' reboot requests: the line "reboot" (CR LF or LF) and the
     * register-write reboot frame 01 E0 FC 05 FE 95 27 95 27 (reference §3.10, §5.2). */
    bool running_app;
    uint32_t app_baud;
} bksim_module_config;
void bksim_module_config_default(bksim_module_config *mc); /* BK7231T, no faults, derived MAC */
/* The console rate of a running_app module: app_baud, or 115200. */
uint32_t bksim_app_baud(const bksim_module_config *mc);

typedef struct bksim_timing {            /* seconds; defaults = typical, slow_flash = worst */
    double erase_4k_s, erase_64k_s, page_program_s, crc_bytes_per_s, sr_write_s, read_4k_s;
    int download_window_ms;   /* after reset, how long a LinkCheck is accepted (default 500:
                                 "a few hundred milliseconds", an assumption, sim/README.md) */
    int link_lost_ms;         /* in download mode: no valid frame this long after the last reply
                                 -> leaves (default 2000, an assumption) */
} bksim_timing;
void bksim_timing_typical(bksim_timing *t);
void bksim_timing_worst(bksim_timing *t);

/* Scenario file (INI): [all] for every module, [module N] for one; keys
 * chip = bk7231t|bk7231n, fault = SPEC (repeatable), mac = d8:1f:12:00:00:01, reel = N.
 * `mods` (count entries) holds the defaults on entry ([all] then [module N] apply on top).
 * Errors name path:line. */
bool bksim_scenario_load(const char *path, int count, bksim_module_config *mods, char *err, size_t errlen);
/* "d8:1f:12:aa:bb:cc" -> mac; false if malformed. */
bool bksim_mac_parse(const char *s, uint8_t mac[6]);

/* ------------------------------------------------------------------ cost model */
/* Wire time of `bytes` bytes at `baud` (10 bit-times a byte, 8N1). */
double bksim_wire_s(uint32_t baud, size_t bytes);
typedef enum bksim_op {
    BKSIM_OP_NONE = 0,     /* register access, link check: no flash time */
    BKSIM_OP_ERASE_4K,
    BKSIM_OP_ERASE_64K,
    BKSIM_OP_ERASE_ALL,    /* charged as 32 block erases (2 MiB) */
    BKSIM_OP_PAGE_PROGRAM, /* one 256-byte page; a 4 KiB write is 16 */
    BKSIM_OP_READ_4K,
    BKSIM_OP_SR_WRITE,
} bksim_op;
double bksim_op_s(const bksim_timing *t, bksim_op op);
double bksim_crc_s(const bksim_timing *t, uint64_t bytes);
/* Frame sizes the bound counts (request and reply, with headers). */
#define BKSIM_BAUD_BOOT 115200u
#define BKSIM_SET_BAUD_DELAY_MS 20u /* what the bound assumes a host asks for */

/* The wire+flash lower bound the simulator charges for flashing `len` bytes of `image` at
 * `offset` on a fresh module at `baud`:
 *   LinkCheck at 115200 (5 B request + 8 B reply)
 * + SetBaudRate (10 B request at 115200 + 20 ms delay + 12 B echo at `baud`)
 * + erases per the AUTO plan over [offset, offset + len rounded up to 4 KiB): 4 KiB sectors
 *   up to a 64 KiB boundary, 64 KiB blocks while a whole block fits, 4 KiB for the rest;
 *   each 13 B request + 16 B reply + the erase time
 * + one FlashWrite4K per sector of the image that is not all 0xFF (4108 B request + 15 B
 *   reply + 16 page programs)
 * + one CheckCRC over [offset, offset+len) (13 B request + 11 B reply + len / crc rate).
 * identical = the module already holds the image: LinkCheck + SetBaudRate + the CheckCRC.
 * All wire after the baud switch is at `baud`. No host latency, no retries: a real flash of
 * a fresh module through bksim at time_scale 1 can not be faster than this. */
double bksim_lower_bound_s(const bksim_timing *t, bk_chip chip, const uint8_t *image, size_t len,
                           uint32_t offset, uint32_t baud, bool identical);

/* ------------------------------------------------------------------ stats */
typedef struct bksim_stats { uint64_t app_reboots, frames, writes_4k, erases, reads_4k, crcs, resets, links,
    garbage_bytes, bytes_in, bytes_out; double busy_s;
    uint64_t writes_dropped;  /* writes ACKed with status 0 that changed nothing (protected/locked) */
    uint64_t erases_dropped;  /* erases ACKed with status 0 that changed nothing */
    uint64_t pages_reprogrammed; /* a 256-byte page programmed again with no erase since */
} bksim_stats;

/* ------------------------------------------------------------------ module model */
#define BKSIM_FLASH_SIZE (2u << 20)
#define BKSIM_SECTORS (BKSIM_FLASH_SIZE / 4096u)
/* The RF calibration sector (reference §7.1) holds the MAC as a TLV: tag 02 11 11 11 06 00 00 00
 * at +0x1C, the six MAC bytes at +0x24. */
#define BKSIM_RF_CAL_T 0x1E0000u
#define BKSIM_RF_CAL_N 0x1D0000u
#define BKSIM_MAC_TLV_OFF 0x1Cu
#define BKSIM_MAC_OFF 0x24u

typedef enum bksim_state {
    BKSIM_OFF = 0,   /* held in reset (RTS) or never powered */
    BKSIM_WINDOW,    /* just reset: listening for LinkCheck */
    BKSIM_APP,       /* the application runs: silent until the next reset */
    BKSIM_DOWNLOAD,  /* linked: answers commands */
    BKSIM_REMOVED,   /* pulled out of the socket: silent for ever */
} bksim_state;
const char *bksim_state_name(bksim_state s);

typedef struct bksim_module bksim_module;
/* seed and index make the flash content, MAC, flash part and PRNG streams deterministic.
 * time_scale only matters for the SetBaudRate echo (see README: never sooner than delay_ms
 * of real time); time_scale 0 charges no time at all. NULL on bad config (err says why). */
bksim_module *bksim_module_new(const bksim_module_config *mc, const bksim_timing *t, uint64_t seed,
                               int index, double time_scale, char *err, size_t errlen);
void bksim_module_free(bksim_module *m);
/* Power-up / reset at now_ns (CEN released, port opened, brown-out): window opens. */
void bksim_module_power_up(bksim_module *m, int64_t now_ns);
/* RTS asserted: CEN low, the chip is held in reset; pending output is dropped. */
void bksim_module_hold_reset(bksim_module *m, int64_t now_ns);
/* The supply goes away (a switched hub port): silent, and a latched brown-out is cleared. */
void bksim_module_power_off(bksim_module *m, int64_t now_ns);
/* Whether a host has the port open (foreign traffic only flows to an open port). */
void bksim_module_set_host(bksim_module *m, bool open, int64_t now_ns);
/* Bytes from the host read at now_ns while the host's port was at host_baud. */
void bksim_module_rx(bksim_module *m, const uint8_t *buf, size_t n, uint32_t host_baud, int64_t now_ns);
/* Earliest time something is due to the host (reply or foreign traffic); false if none. */
bool bksim_module_next_due(const bksim_module *m, int64_t *due_ns);
/* Bytes due at or before now_ns, as the host receives them at host_baud (garbled if the
 * bauds differ); returns the count (0: nothing due). Call again while it returns cap. */
size_t bksim_module_tx(bksim_module *m, int64_t now_ns, uint32_t host_baud, uint8_t *out, size_t cap);
/* The yank-after fault fired: the adapter is to vanish now. */
bool bksim_module_yanked(const bksim_module *m);
size_t bksim_module_pending(const bksim_module *m); /* reply bytes queued, not yet taken */
bksim_state bksim_module_state(const bksim_module *m);
uint32_t bksim_module_baud(const bksim_module *m);  /* the chip's current UART baud */
bk_chip bksim_module_chip(const bksim_module *m);   /* the family it really carries */
const bksim_module_config *bksim_module_cfg(const bksim_module *m);
void bksim_module_read_flash(const bksim_module *m, uint32_t addr, uint8_t *buf, size_t len); /* aliases */
void bksim_module_mac(const bksim_module *m, uint8_t mac[6]);
void bksim_module_stats(const bksim_module *m, bksim_stats *st);
uint16_t bksim_module_sr(const bksim_module *m);    /* flash status register (SR2 << 8 | SR1) */
/* How often each 4 KiB sector was erased / programmed since the counters were last cleared
 * (tests: "one erase per unit, no sector written twice"). `n` entries, n <= BKSIM_SECTORS. */
void bksim_module_sector_counts(const bksim_module *m, uint16_t *erases, uint16_t *programs, size_t n);
void bksim_module_clear_counts(bksim_module *m); /* sector counters and the stats above */
const uint8_t *bksim_module_jedec(const bksim_module *m); /* 3 bytes */

/* ------------------------------------------------------------------ pty server */
typedef struct bksim_config {
    int count;
    const char *link_dir;   /* NULL: no links */
    uint64_t seed;
    double time_scale;      /* 1.0 = real time; 0.1 = ten times faster; 0 = no pacing at all */
    bksim_module_config *modules; /* count entries, or NULL for all-default BK7231T */
    const bksim_timing *timing;   /* NULL: typical (slow_flash modules use worst) */
    bool stop_on_signals;   /* watch SIGINT/SIGTERM with a signalfd in the loop; the caller must
                               have blocked them (pthread_sigmask) before bksim_start */
} bksim_config;

typedef struct bksim_server bksim_server;
bksim_server *bksim_start(const bksim_config *cfg, char *err, size_t errlen); /* starts its thread */
/* Blocks until the loop ends by itself (a signal with stop_on_signals); returns the signal
 * number, or 0. Call bksim_stop afterwards. */
int bksim_wait(bksim_server *s);
void bksim_stop(bksim_server *s);                       /* joins, closes ptys, removes links */
int bksim_count(const bksim_server *s);
const char *bksim_link_path(const bksim_server *s, int i); /* DIR/simI, or the pty path without links */
const char *bksim_pty_path(const bksim_server *s, int i);
/* Attach a module to a pty master someone else owns (a umockdev harness); returns its index
 * or -1. The server does not close that fd. The module is powered up at attach. */
int bksim_attach_master(bksim_server *s, int master_fd, const bksim_module_config *mc);
/* Forget module i's pty: the loop never touches its fd again, so the owner of an attached
 * master may close it (an unplug). Its flash stays readable. Thread-safe. */
void bksim_detach(bksim_server *s, int i);
/* Modem lines seen by module i (umockdev ioctl handler calls this): RTS asserted holds CEN low
   (reset); the chip boots when RTS is released. Thread-safe. */
void bksim_set_lines(bksim_server *s, int i, bool dtr, bool rts);
/* Module i's 3.3 V supply (a switched hub port): off silences it whatever CEN does; on powers
 * it up (into the loader window) unless CEN (RTS) holds it in reset. Modules start powered. */
void bksim_set_power(bksim_server *s, int i, bool on);
/* Inspect a module's flash (thread-safe, for tests): returns 0, or -1 for a bad index. */
int bksim_read_flash(bksim_server *s, int i, uint32_t addr, uint8_t *buf, size_t len);
void bksim_get_mac(bksim_server *s, int i, uint8_t mac[6]);
void bksim_get_stats(bksim_server *s, int i, bksim_stats *st);
void bksim_get_sector_counts(bksim_server *s, int i, uint16_t *erases, uint16_t *programs, size_t n);
void bksim_clear_counts(bksim_server *s, int i);
bksim_state bksim_get_state(bksim_server *s, int i);
/* Whether a client holds module i's port open, as the loop last saw it (tests wait on this
 * after closing a port, so a quick reopen is seen as the power-cycle it stands for). */
bool bksim_port_open(bksim_server *s, int i);
