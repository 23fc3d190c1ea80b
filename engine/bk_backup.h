/* bk_backup.h - what a module came with, kept before the first erase (issue 16).
 *
 * The engine decides WHAT to back up and reads it; WHERE it is kept is the caller's, behind
 * bk_backup_ops (the station wires a content-addressed file store and its index in the
 * database; the engine knows neither files nor SQLite).
 *
 * Two modes, by the profile's `backup` key:
 *   device: the per-device ranges of the family table (bk_chip.c: RF calibration, key-value
 *           storage, OpenBeken config, user data, Tuya data), sector by sector: the chip's CRC
 *           of each first; an all-0xFF sector (by its CRC) is recorded as blank and not read;
 *           the others are read and each read is verified against its CRC.
 *   full:   also the vendor application and OTA regions (from the family's protected_end to
 *           the first per-device range), in 64 KiB blocks: a block whose (address, length,
 *           CRC) the store already holds is not read. A tray from one reel costs one full read.
 * A module whose backup the store already keeps (same MAC, same per-device CRCs) is not read
 * again. Pure planning here; the job (bk_job.c) runs the exchanges. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "bk_chip.h"

typedef enum bk_backup_mode {
    BK_BACKUP_NONE = 0,
    BK_BACKUP_DEVICE,
    BK_BACKUP_FULL,
    BK_BACKUP_MODE_COUNT
} bk_backup_mode;
const char *bk_backup_mode_name(bk_backup_mode m);  /* "none", "device", "full" */
/* "device" -> mode; false if no such name (case-insensitive). */
bool bk_backup_mode_parse(const char *s, bk_backup_mode *out);

/* One range of flash a backup holds: a 4 KiB sector of per-device data, or a block (at most
 * 64 KiB, never across a 64 KiB boundary) of the shared regions. */
typedef struct bk_backup_range {
    uint32_t addr, len;
    uint32_t crc32;     /* zlib CRC-32 of the range's bytes (the chip's CheckCRC, inverted) */
    bool crc_known;     /* the chip has answered for this range */
    bool blank;         /* all 0xFF by its CRC: recorded, never read */
    bool shared;        /* vendor app / OTA (full): deduplicated by (addr, len, crc32) */
    bool done;          /* kept (read and put, known to the store, or blank) */
    bool deferred;      /* another job was reading it when asked: asked again at the end */
} bk_backup_range;

/* Device: at most 0x40000 / 4 KiB sectors; full adds about 30 blocks. */
#define BK_BACKUP_MAX_RANGES 160
#define BK_BACKUP_BLOCK 0x10000u

/* The ranges of `mode` for family `f`, in address order: the per-device sectors first (their
 * union, each sector once), then the shared blocks. Returns how many, 0 for NONE, -1 if `cap`
 * is too small. Pure. */
int bk_backup_plan(const bk_family *f, bk_backup_mode mode, bk_backup_range *out, int cap);
/* The CRC-32 of `len` bytes of 0xFF (what a blank range's CRC is). */
uint32_t bk_backup_blank_crc32(uint32_t len);

/* Where backups are kept. Every function returns 0 (or 1 for "yes") on success and -1 with
 * words in err on a failure of the store (the disk, the database): the module is then failed
 * before any erase with BK_CAUSE_BACKUP_STORE. Called on the job's thread. */
typedef struct bk_backup_ops {
    void *ctx;
    /* 1: the store keeps a backup of `mac` whose per-device ranges are exactly these
     * (address, length, CRC), and a full one when `mode` is full: nothing is read, nothing
     * recorded. 0: no such backup. */
    int (*have_backup)(void *ctx, const uint8_t mac[6], bk_backup_mode mode,
                       const bk_backup_range *device, int n, char *err, size_t errlen);
    /* 1: the store holds the bytes of a range with this (addr, len, crc32). 2: not yet, but
     * another job is reading those bytes now: the job goes on with its other ranges and asks
     * again at the end with `wait` set, when the store waits for that other job (a bounded
     * time) instead of answering 2. 0: not held; the caller is expected to read it now. A
     * tray of one reel read in parallel thus reads each shared block about once. */
    int (*have_block)(void *ctx, const bk_backup_range *r, bool wait, char *err, size_t errlen);
    /* Keeps `r->len` bytes read and verified from the module (copied: `data` is the caller's
     * again on return). They may be made durable in the background; commit returns only once
     * every block put is durable, and fails if one could not be kept. */
    int (*put_block)(void *ctx, const bk_backup_range *r, const uint8_t *data, char *err,
                     size_t errlen);
    /* Records the module's backup: every range (blank ones too), after their bytes are
     * durable. The job's own facts go with it (chip, mode). */
    int (*commit)(void *ctx, const uint8_t mac[6], bk_chip chip, bk_backup_mode mode,
                  const bk_backup_range *r, int n, char *err, size_t errlen);
} bk_backup_ops;

/* What the backup step did, for the result and the benchmark. */
typedef struct bk_backup_stats {
    bk_backup_mode mode;
    bool already_kept;        /* the store had this module's backup: nothing read */
    uint32_t ranges, blank, known, read; /* ranges planned; blank; already in the store; read */
    uint64_t bytes_read;      /* payload read from the module for the backup */
    uint32_t crcs;            /* CheckCRCs asked for the backup */
    double seconds;
} bk_backup_stats;
