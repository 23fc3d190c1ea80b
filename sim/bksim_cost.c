/* bksim_cost.c - what the simulated chip charges: timing tables, wire time, and the
 * benchmark lower bound built from the very same functions the model calls, so the bound
 * and the simulator cannot drift apart. */
#include "bksim.h"
#include "bk_proto.h"
#include <string.h>

void bksim_timing_typical(bksim_timing *t)
{
    *t = (bksim_timing){
        .erase_4k_s = 0.045, .erase_64k_s = 0.200, .page_program_s = 0.00065,
        .crc_bytes_per_s = 400000.0, .sr_write_s = 0.010, .read_4k_s = 0.0001,
        .download_window_ms = 500, .link_lost_ms = 2000,
    };
}

void bksim_timing_worst(bksim_timing *t)
{
    bksim_timing_typical(t);
    t->erase_4k_s = 0.300;
    t->erase_64k_s = 1.5;
    t->page_program_s = 0.0025;
    t->sr_write_s = 0.015;
}

double bksim_wire_s(uint32_t baud, size_t bytes)
{
    return baud ? (double)bytes * 10.0 / (double)baud : 0.0;
}

double bksim_op_s(const bksim_timing *t, bksim_op op)
{
    switch (op) {
    case BKSIM_OP_NONE: return 0.0;
    case BKSIM_OP_ERASE_4K: return t->erase_4k_s;
    case BKSIM_OP_ERASE_64K: return t->erase_64k_s;
    case BKSIM_OP_ERASE_ALL: return t->erase_64k_s * (BKSIM_FLASH_SIZE / BK_BLOCK_SIZE);
    case BKSIM_OP_PAGE_PROGRAM: return t->page_program_s;
    case BKSIM_OP_READ_4K: return t->read_4k_s;
    case BKSIM_OP_SR_WRITE: return t->sr_write_s;
    }
    return 0.0;
}

double bksim_crc_s(const bksim_timing *t, uint64_t bytes)
{
    return t->crc_bytes_per_s > 0 ? (double)bytes / t->crc_bytes_per_s : 0.0;
}

/* Frame lengths of the exchanges the bound counts, from the codec's own layout. */
static size_t req_short(size_t payload) { return 5 + payload; }
static size_t req_long(size_t payload) { return 8 + payload; }

static double exchange_s(uint32_t baud, size_t req, size_t reply)
{
    return bksim_wire_s(baud, req) + bksim_wire_s(baud, reply);
}

static bool all_ff(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0xFF)
            return false;
    return true;
}

double bksim_lower_bound_s(const bksim_timing *t, bk_chip chip, const uint8_t *image, size_t len,
                           uint32_t offset, uint32_t baud, bool identical)
{
    (void)chip; /* both families charge the same; the parameter keeps the bound honest if not */
    double s = exchange_s(BKSIM_BAUD_BOOT, req_short(0), bk_reply_frame_len(false, 1));
    s += bksim_wire_s(BKSIM_BAUD_BOOT, req_short(5)) + BKSIM_SET_BAUD_DELAY_MS / 1000.0 +
         bksim_wire_s(baud, bk_reply_frame_len(false, 5));
    double crc = exchange_s(baud, req_short(8), bk_reply_frame_len(false, 4)) + bksim_crc_s(t, len);
    if (identical || len == 0)
        return s + crc;

    uint64_t start = offset, end = (uint64_t)offset + ((len + BK_SECTOR_SIZE - 1) / BK_SECTOR_SIZE) * BK_SECTOR_SIZE;
    double erase_x = exchange_s(baud, req_long(5), bk_reply_frame_len(true, 6));
    for (uint64_t a = start; a < end;) {
        if (a % BK_BLOCK_SIZE == 0 && a + BK_BLOCK_SIZE <= end) {
            s += erase_x + bksim_op_s(t, BKSIM_OP_ERASE_64K);
            a += BK_BLOCK_SIZE;
        } else {
            s += erase_x + bksim_op_s(t, BKSIM_OP_ERASE_4K);
            a += BK_SECTOR_SIZE;
        }
    }
    double write_x = exchange_s(baud, req_long(4 + BK_SECTOR_SIZE), bk_reply_frame_len(true, 5)) +
                     (BK_SECTOR_SIZE / 256) * bksim_op_s(t, BKSIM_OP_PAGE_PROGRAM);
    for (size_t o = 0; o < len; o += BK_SECTOR_SIZE) {
        size_t n = len - o < BK_SECTOR_SIZE ? len - o : BK_SECTOR_SIZE;
        if (!all_ff(image + o, n))
            s += write_x;
    }
    return s + crc;
}
