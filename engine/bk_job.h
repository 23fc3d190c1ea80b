/* bk_job.h - the engine's face: flash one module through one port, verified.
 *
 * A job is handed a port path (or an open transport), a spec and an event callback, and
 * returns a result with a failure cause. It has no threads, no curses, no SQLite, no udev:
 * the station calls it from a pool thread and turns the events into rows and tiles.
 * The callback runs on the job's thread; it must not block for long. */
#pragma once
#include "bk_trace.h"
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdatomic.h>
#include "bk_backup.h"
#include "bk_cause.h"
#include "bk_chip.h"
#include "bk_reset.h"
#include "transport.h"

#define BK_MAX_BAUDS 8
#define BK_MAX_VARIANTS 4

/* One image for one chip family. The engine picks the variant matching the detected chip. */
typedef struct bk_variant {
    bk_chip chip;
    const uint8_t *image; /* bytes to place at `offset` (owned by the caller) */
    size_t image_len;
    uint32_t offset;      /* flash address of image[0]; 4 KiB aligned */
    const uint8_t *covered; /* per 4 KiB sector of the image: 1 = erase and write it (a UF2's
                               blocks cover it); NULL = every sector (owned by the caller) */
    char image_sha256[65];
} bk_variant;

typedef enum bk_erase_mode {
    BK_ERASE_AUTO = 0, /* 64 KiB blocks where aligned, 4 KiB sectors elsewhere */
    BK_ERASE_4K,       /* sectors only */
} bk_erase_mode;

typedef struct bk_job_spec {
    const char *product;          /* for events and results only */
    bk_variant variants[BK_MAX_VARIANTS];
    int n_variants;
    uint32_t bauds[BK_MAX_BAUDS]; /* working baud first, then the fall-backs, high to low */
    int n_bauds;
    bk_erase_mode erase_mode;
    bool allow_bootloader_write;  /* permit writes below the family's protected_end */
    bool skip_unchanged;          /* re-flash: skip sectors whose CRC already matches */
    int link_timeout_ms;          /* how long to send LinkCheck after a reset (default 10000) */
    int write_retries;            /* per sector, each after a re-erase (default 2) */
    bk_backup_mode backup;        /* keep what the module came with before the first erase
                                     (bk_backup.h); needs hooks->backup */
    /* restore (trayflash restore): the image is a module's backup */
    bool allow_per_device_write;  /* the image may cover the per-device ranges */
    bool expect_mac_set;          /* refuse (WRONG_MODULE) a module showing another MAC ... */
    uint8_t expect_mac[6];
    bool allow_no_mac;            /* ... or none, unless this is set (--force) */
    const bk_reset_seq *reset;    /* how the fixture's lines reset the module; NULL: the default
                                     (owned by the caller, alive for the job) */
    unsigned app_reboot;          /* BK_APP_REBOOT_TEXT|_FRAME: before each reset, ask firmware
                                     already running to restart into its loader (0: never) */
    uint32_t app_baud;            /* the running firmware's console rate (0: 115200) */
} bk_job_spec;

typedef enum bk_phase {
    BK_PHASE_IDLE = 0,
    BK_PHASE_LINK,     /* reset, LinkCheck */
    BK_PHASE_IDENTIFY, /* baud switch, chip, flash id, MAC, unprotect */
    BK_PHASE_BACKUP,   /* spec->backup: the module's ranges kept before the first erase (only
                          then: a job without a backup goes from IDENTIFY to ERASE) */
    BK_PHASE_ERASE,
    BK_PHASE_WRITE,
    BK_PHASE_VERIFY,
    BK_PHASE_DONE,
    BK_PHASE_COUNT
} bk_phase;
const char *bk_phase_name(bk_phase p); /* "LINK", "WRITE", ... */

typedef enum bk_event_kind {
    BK_EV_PHASE,    /* entered ev->phase */
    BK_EV_PROGRESS, /* bytes_done/bytes_total within the phase */
    BK_EV_INFO,     /* a timeline line: chip identified, baud changed, retry, ... */
    BK_EV_POWER_CYCLE_NEEDED, /* no modem lines: ask the operator to power-cycle the module */
    BK_EV_MAC,      /* the module's MAC was read: ev->mac (text is the timeline line) */
    BK_EV_SETUP,    /* the fixture is not what it should be (text says what): a setup notice,
                       not the module's fault; once per job and kind of trouble */
} bk_event_kind;

typedef struct bk_event {
    bk_event_kind kind;
    bk_phase phase;
    uint64_t bytes_done, bytes_total;
    uint32_t address;   /* where the job is in flash */
    uint32_t baud;
    double rate_bps;    /* payload bytes per second in this phase */
    uint32_t ranges_done, ranges_total; /* BACKUP: ranges of the backup's plan kept so far
                                           (blank, already in the store, or read) */
    double t_s;         /* seconds since the job started */
    const char *text;   /* INFO: the line; valid only during the callback */
    uint8_t mac[6];     /* BK_EV_MAC: the MAC as data (nobody parses the words) */
} bk_event;

typedef void (*bk_event_fn)(void *ctx, const bk_event *ev);

/* The caller's word on a module once it is identified and its MAC read, before anything on it
 * changes (no unprotect, no erase): flash it, or leave it as it is (a module that already
 * passed this product elsewhere), or not decided yet (someone is being asked): the job then
 * sends a LinkCheck, so the bootloader does not leave download mode while it waits, and asks
 * the gate again. A gate answering WAIT should itself wait a while first, well under a
 * second (the module drops its link after ~2 s without a frame); a cancel or a port that
 * vanishes ends the wait as it ends any step. */
typedef enum bk_gate { BK_GATE_GO = 0, BK_GATE_SKIP, BK_GATE_WAIT } bk_gate;
struct bk_result;
typedef bk_gate (*bk_gate_fn)(void *ctx, const struct bk_result *so_far, char *why, size_t whylen);
/* Per-device data (the config sector a module leaves the tray with): the host's part. The job
 * asks once the chip is identified and the MAC read, before anything is erased; the host
 * builds the sector for this MAC (and ties the module to its data, e.g. a ledger row). */
typedef enum bk_personal_answer {
    BK_PERSONAL_WRITE = 0, /* *addr and sector[] filled: written after the app verified */
    BK_PERSONAL_HOLD,      /* no data for this module now (an empty ledger): the job ends at once,
                              nothing erased, held (not a failed module); `why` says so */
    BK_PERSONAL_REFUSED,   /* the data cannot be made (a value too long, secrets missing): the
                              job fails as a profile error, nothing erased; `why` says what */
} bk_personal_answer;
typedef bk_personal_answer (*bk_personal_fn)(void *ctx, bk_chip chip, const uint8_t mac[6],
                                             uint32_t *addr, uint8_t *sector /* 4096 bytes */,
                                             char *why, size_t whylen);

typedef struct bk_job_hooks {
    bk_event_fn on_event;   /* may be NULL */
    bk_gate_fn gate;        /* may be NULL: every module is flashed */
    void *ctx;
    atomic_int *cancel;     /* set non-zero by another thread: the job ends with CANCELLED
                               (or ADAPTER_REMOVED if cancel == BK_CANCEL_ADAPTER_REMOVED) */
    bk_trace_hook trace;    /* the wire, frame by frame (bk_trace.h); fn NULL: none */
    const bk_backup_ops *backup; /* where spec->backup keeps its blocks; NULL: nowhere (a spec
                                    asking for a backup then fails with BACKUP_STORE) */
    bk_personal_fn personal; /* NULL: no per-device data. Set: a module without a MAC fails
                               (no_mac) before any erase, and the sector is written last */
    void *personal_ctx;
    /* Switched supply of the module (a hub port the station controls); NULL: none. With it,
     * every reset starts with a power-cycle: off, power_off_ms, on. Returns 0, or -1 with words
     * in err. On a fixture whose adapter hangs on the switched port the callee returns 1
     * from "on" once the port is back: the job then reopens it. */
    int (*power)(void *ctx, bool on, char *err, size_t errlen);
    int power_off_ms;
} bk_job_hooks;

enum { BK_CANCEL_OPERATOR = 1, BK_CANCEL_ADAPTER_REMOVED = 2 };

typedef struct bk_result {
    bool passed;              /* true only after the whole region's CRC matched the image */
    bool skipped;             /* the gate said leave it: nothing on it changed; not a pass nor a
                                 failure (cause NONE), the gate's words in detail */
    bk_cause cause;
    bk_cause warning;         /* on a pass: trouble seen and overcome (noisy line, adapter baud,
                                 foreign traffic); BK_CAUSE_NONE if none */
    char detail[256];         /* what was seen: command, address, what came before */
    bk_chip chip;             /* detected */
    uint32_t chip_id;         /* ReadReg value where the loader has it */
    char boot_version[48];    /* bootloader name/version, or the fingerprint in hex */
    uint8_t flash_id[3];      /* JEDEC id; all zero if unknown */
    bool have_flash_id;
    uint8_t mac[6];
    bool have_mac;
    int variant;              /* index into spec->variants, -1 if none chosen */
    uint32_t offset, length;  /* the region written and verified */
    uint64_t bytes_written;   /* payload bytes sent in 4 KiB writes */
    uint32_t sectors_written, sectors_skipped, sectors_total;
    uint32_t retries;         /* sector rewrites plus re-links */
    uint32_t baud_start, baud_end;
    double seconds;
    uint32_t image_crc;       /* chip CRC of the image region (host-computed) */
    bk_backup_stats backup;   /* what the backup before the first erase did */
    bool held;                /* the personal hook held the job (BK_PERSONAL_HOLD): cause
                                 CANCELLED, nothing erased, not a module failure */
    bool personalized;        /* the config sector was written and its CRC matched the host's */
    uint32_t config_addr;     /* where the per-device sector went (0: none) */
    uint32_t config_crc;      /* its chip CRC (host-computed, = what the chip answered) */
} bk_result;

/* Opens `port_path`, runs the job, closes the port. */
void bk_flash_job(const char *port_path, const bk_job_spec *spec, const bk_job_hooks *hooks,
                  bk_result *result);
/* The same over a transport the caller opened (and keeps). */
void bk_flash_job_on(bk_transport *tp, const bk_job_spec *spec, const bk_job_hooks *hooks,
                     bk_result *result);

/* Fills defaults (bauds {921600, 460800, 115200}, link 10 s, 2 retries, AUTO erase, skip
 * unchanged) into a zeroed spec. */
void bk_job_spec_defaults(bk_job_spec *spec);
