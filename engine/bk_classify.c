/* bk_classify.c - see bk_classify.h. The order of the rules is the priority: the observation
 * that ended the job first, then what the counters say. */
#include "bk_classify.h"

static bool foreign_seen(const bk_evidence *e)
{
    return e->foreign_frames > 0 || e->stray_events >= 2;
}

bool bk_readback_says_line(const bk_evidence *e)
{
    if (!e->readback_ok)
        return true; /* a sector that cannot be read back twice whole: the line */
    return e->readback_disagree > 0 || e->readback_cleared > 0 ||
           (e->readback_left_at_one > 0 && e->readback_multi_bit == 0) ||
           (e->readback_left_at_one == 0 && e->garbled > 0);
}

/* Units that would not flash: a second talker, else the line when it garbled more often than
 * the chip fell silent, else a chip that resets while programming (brown-out). */
static bk_cause unit_failure_cause(const bk_evidence *e)
{
    uint32_t silent = e->write_timeouts + e->erase_timeouts;
    if (foreign_seen(e))
        return BK_CAUSE_FOREIGN_TRAFFIC;
    if (e->garbled + e->crc_mismatches > silent)
        return BK_CAUSE_SIGNAL_INTEGRITY;
    if (silent > 0)
        return BK_CAUSE_BROWNOUT;
    return BK_CAUSE_PROTOCOL;
}

static bk_cause pass_warning(const bk_evidence *e)
{
    if (foreign_seen(e))
        return BK_CAUSE_FOREIGN_TRAFFIC;
    if (e->garbled + e->crc_mismatches > 0)
        return BK_CAUSE_SIGNAL_INTEGRITY;
    if (e->baud_switch_failures > 0)
        return BK_CAUSE_ADAPTER_BAUD_LIMIT;
    if (e->write_timeouts + e->erase_timeouts > 0)
        return BK_CAUSE_BROWNOUT;
    return BK_CAUSE_NONE;
}

bk_cause bk_classify(const bk_evidence *e, bool passed)
{
    if (passed)
        return pass_warning(e);
    switch (e->end) {
    case BK_END_CANCELLED: return BK_CAUSE_CANCELLED;
    case BK_END_PORT_GONE: return BK_CAUSE_ADAPTER_REMOVED;
    case BK_END_PORT_ERROR: return BK_CAUSE_PORT_ERROR;
    case BK_END_IMAGE_REFUSED: return BK_CAUSE_IMAGE_ERROR;
    case BK_END_NEVER_LINKED: return BK_CAUSE_NO_DOWNLOAD_MODE;
    case BK_END_FOREIGN_CHIP: return BK_CAUSE_WRONG_CHIP;
    case BK_END_NO_VARIANT: return BK_CAUSE_NO_VARIANT;
    case BK_END_PROTECT_STUCK: return BK_CAUSE_FLASH_PROTECTED;
    case BK_END_BAUD_UNREACHABLE: return BK_CAUSE_ADAPTER_BAUD_LIMIT;
    case BK_END_RELINK_FAILED: return BK_CAUSE_MODULE_LOST;
    case BK_END_STEP_RETRIES: return e->garbled > 0 ? BK_CAUSE_SIGNAL_INTEGRITY : BK_CAUSE_PROTOCOL;
    case BK_END_UNIT_RETRIES: return unit_failure_cause(e);
    case BK_END_VERIFY_EXHAUSTED:
        return bk_readback_says_line(e) ? BK_CAUSE_SIGNAL_INTEGRITY : BK_CAUSE_VERIFY_FAILED;
    case BK_END_CRC_NEVER_WHOLE: return e->garbled > 0 ? BK_CAUSE_SIGNAL_INTEGRITY : BK_CAUSE_MODULE_LOST;
    case BK_END_BACKUP_READ: return BK_CAUSE_BACKUP_FAILED;
    case BK_END_BACKUP_STORE: return BK_CAUSE_BACKUP_STORE;
    case BK_END_WRONG_MODULE: return BK_CAUSE_WRONG_MODULE;
    case BK_END_NO_MAC: return BK_CAUSE_NO_MAC;
    case BK_END_CONFIG_RETRIES: return BK_CAUSE_CONFIG_NOT_WRITTEN;
    case BK_END_NONE: break;
    }
    return BK_CAUSE_PROTOCOL;
}
