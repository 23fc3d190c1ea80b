/* bk_classify.h - why a job failed (or what its pass overcame), decided in ONE place.
 *
 * The job gathers evidence as it goes (bk_evidence: each field says who writes it and which
 * rule reads it) and records how it ended (bk_end). bk_classify() turns both into a cause;
 * the priority order lives there and nowhere else, and docs/architecture.md's table "How the
 * cause is decided" is its reading (tests/engine/test_classify.c walks it row by row). Pure:
 * no I/O, no time. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "bk_cause.h"

/* How a failed job ended: the observation that stopped it. */
typedef enum bk_end {
    BK_END_NONE = 0,          /* not ended (a pass, or still running) */
    BK_END_CANCELLED,         /* the operator or a shutdown raised the cancel flag */
    BK_END_PORT_GONE,         /* the port hung up, or udev said the adapter left */
    BK_END_PORT_ERROR,        /* the port could not be opened or configured */
    BK_END_IMAGE_REFUSED,     /* the spec or image cannot be flashed (checked before any link) */
    BK_END_NEVER_LINKED,      /* no LinkCheck reply within the link timeout, never linked */
    BK_END_FOREIGN_CHIP,      /* the chip id / loader names another family (nothing erased) */
    BK_END_NO_VARIANT,        /* a known family the profile has no image for */
    BK_END_PROTECT_STUCK,     /* the SR keeps its protect bits, or an acknowledged erase and write
                                 left a sector as it was */
    BK_END_BAUD_UNREACHABLE,  /* the SetBaudRate echo failed at every rate of the profile */
    BK_END_RELINK_FAILED,     /* after a failed exchange no re-link ever answered */
    BK_END_STEP_RETRIES,      /* a step before the first erase (identification, MAC, unprotect)
                                 failed every try while the module still answered LinkCheck */
    BK_END_UNIT_RETRIES,      /* a unit would not erase/write in every try at every baud allowed */
    BK_END_VERIFY_EXHAUSTED,  /* every write acknowledged; the CRC still differs after the rewrites */
    BK_END_CRC_NEVER_WHOLE,   /* the final CRC's reply never came back whole */
    BK_END_BACKUP_READ,       /* the backup's reads or CRCs failed every try (before any erase) */
    BK_END_BACKUP_STORE,      /* the backup store refused a block or the index (before any erase) */
    BK_END_WRONG_MODULE,      /* restore: the MAC differs from the backup's, or is missing */
    BK_END_NO_MAC,            /* personalising, and the module has no MAC (nothing erased) */
    BK_END_CONFIG_RETRIES,    /* the config sector's CRC never matched in every try (app verified) */
} bk_end;

typedef struct bk_evidence {
    bk_end end;                    /* job: how it ended; read by every failure rule */
    /* unit failures (bk_job.c note_failure), read by the UNIT_RETRIES rule and the warnings: */
    uint32_t write_timeouts;       /* a 4 KiB write got no reply: the chip reset (supply) */
    uint32_t erase_timeouts;       /* an erase got no reply */
    uint32_t chip_errors;          /* a reply with a non-zero status (e.g. a frame that lost bytes) */
    /* the line, read by the SIGNAL_INTEGRITY rules and the warnings: */
    uint32_t garbled;              /* replies or read-backs that came back wrong (job + probes) */
    uint32_t crc_mismatches;       /* final CRCs that differed from the image (verify) */
    /* a second talker, read by the FOREIGN_TRAFFIC rules: */
    uint32_t foreign_frames;       /* whole TuyaMCU frames among the garbage (session) */
    uint32_t stray_events;         /* writes with stray bytes in front of their reply (job) */
    /* the adapter, read by the ADAPTER_BAUD_LIMIT warning: */
    uint32_t baud_switch_failures; /* SetBaudRate echoes that never came (establish_baud) */
    /* what one bad sector read back twice showed (verify), read by VERIFY_EXHAUSTED: */
    bool readback_ok;              /* both reads came back whole */
    uint32_t readback_disagree;    /* bytes the two reads disagree on: the line itself */
    uint32_t readback_cleared;     /* bits the image has at 1 found at 0: corrupted on the way */
    uint32_t readback_left_at_one; /* bits the image has at 0 found at 1: cells not programmed */
    uint32_t readback_multi_bit;   /* bytes with more than one wrong bit (cells fail in runs) */
} bk_evidence;

/* passed false: the failure's cause (BK_CAUSE_PROTOCOL when the evidence explains nothing).
 * passed true: the warning of a pass that needed help, BK_CAUSE_NONE for a clean one. */
bk_cause bk_classify(const bk_evidence *ev, bool passed);

/* The VERIFY_EXHAUSTED rule on its own: does the read-back point at the line (true) or at
 * cells that did not program (false)? The job also asks it before a rewrite, to decide
 * whether stepping the baud down can help. */
bool bk_readback_says_line(const bk_evidence *ev);
