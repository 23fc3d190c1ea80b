/* bk_cause.h - why a module failed, in words an operator can act on.
 *
 * One table holds each cause's stable id (stored in the database), its short name (dashboard
 * tile), a one-line explanation and the remedy, so the dashboard, the database, the reports
 * and the CLI all print the same words. */
#pragma once

typedef enum bk_cause {
    BK_CAUSE_NONE = 0,            /* passed: flashed and verified by CRC */
    BK_CAUSE_NO_DOWNLOAD_MODE,    /* no LinkCheck reply within the window after reset */
    BK_CAUSE_BROWNOUT,            /* link/read/erase fine, a 4 KiB write never acknowledged */
    BK_CAUSE_SIGNAL_INTEGRITY,    /* garbled replies or data, failures that move with baud */
    BK_CAUSE_ADAPTER_BAUD_LIMIT,  /* no reply after SetBaudRate to a high rate, fine at 115200 */
    BK_CAUSE_WRONG_CHIP,          /* chip family differs from the profile's */
    BK_CAUSE_NO_VARIANT,          /* the product has no image for the detected chip */
    BK_CAUSE_FLASH_PROTECTED,     /* erase/writes do not take, protection could not be lifted */
    BK_CAUSE_FOREIGN_TRAFFIC,     /* bytes on the line that are no reply (a second talker) */
    BK_CAUSE_IMAGE_ERROR,         /* image or profile unusable; nothing was written */
    BK_CAUSE_VERIFY_FAILED,       /* every write acknowledged but the final CRC differs */
    BK_CAUSE_ADAPTER_REMOVED,     /* the serial port vanished */
    BK_CAUSE_MODULE_LOST,         /* replies stopped mid-job and the link never returned */
    BK_CAUSE_PORT_ERROR,          /* the port could not be opened or configured */
    BK_CAUSE_PROTOCOL,            /* the chip answered with an error status we cannot explain */
    BK_CAUSE_CANCELLED,           /* stopped by the operator or a station shutdown */
    BK_CAUSE_BACKUP_FAILED,       /* the backup before the first erase could not be read and
                                     verified by CRC (nothing erased) */
    BK_CAUSE_BACKUP_STORE,        /* the station's backup store refused a block or the index
                                     (disk, permissions, database; nothing erased) */
    BK_CAUSE_WRONG_MODULE,        /* restore: the module shows another MAC than the backup's,
                                     or none without --force (nothing erased) */
    BK_CAUSE_NO_MAC,              /* personalising, and the RF calibration sector holds no MAC:
                                     failed before anything was erased */
    BK_CAUSE_CONFIG_NOT_WRITTEN,  /* the app verified, but the per-device config sector never
                                     read back with the host's CRC */
    BK_CAUSE_COUNT
} bk_cause;

typedef struct bk_cause_info {
    const char *id;      /* stable token: "brownout" (database, JSON) */
    const char *name;    /* short words for a tile: "brown-out" */
    const char *explain; /* one line: what the station saw and what it means */
    const char *remedy;  /* what the operator should do */
} bk_cause_info;

const bk_cause_info *bk_cause_get(bk_cause c);
static inline const char *bk_cause_id(bk_cause c) { return bk_cause_get(c)->id; }
static inline const char *bk_cause_name(bk_cause c) { return bk_cause_get(c)->name; }
static inline const char *bk_cause_explain(bk_cause c) { return bk_cause_get(c)->explain; }
static inline const char *bk_cause_remedy(bk_cause c) { return bk_cause_get(c)->remedy; }
/* Inverse of bk_cause_id(); BK_CAUSE_COUNT when unknown. */
bk_cause bk_cause_from_id(const char *id);
