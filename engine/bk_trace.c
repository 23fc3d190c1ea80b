/* bk_trace.c - naming and describing traced frames; see bk_trace.h. */
#include "bk_trace.h"
#include <stdio.h>
#include "bk_proto.h"

#define SHOWN_MAX 32 /* bytes of a non-data payload a line shows */

typedef struct cmd_layout {
    const char *name;
    int addr_out, addr_in; /* offset of the address in the request's / reply's payload, -1: none */
    int data_out, data_in; /* offset where flash contents start, -1: none */
} cmd_layout;

/* Long replies start with a status byte, then echo the request's fields. */
static const cmd_layout long_cmds[256] = {
    [BK_LCMD_WRITE] = {"Write", 0, 1, 4, -1},
    [BK_LCMD_WRITE_4K] = {"Write4K", 0, 1, 4, -1},
    [BK_LCMD_READ] = {"Read", 0, 1, -1, 5},
    [BK_LCMD_READ_4K] = {"Read4K", 0, 1, -1, 5},
    [BK_LCMD_ERASE_ALL] = {"EraseAll", -1, -1, -1, -1},
    [BK_LCMD_ERASE_4K] = {"Erase4K", 0, 1, -1, -1},
    [BK_LCMD_READ_SR] = {"ReadSR", -1, -1, -1, -1},
    [BK_LCMD_WRITE_SR] = {"WriteSR", -1, -1, -1, -1},
    [BK_LCMD_GET_MID] = {"GetFlashMID", -1, -1, -1, -1},
    [BK_LCMD_ERASE] = {"Erase", 1, 2, -1, -1},
};
static const cmd_layout short_cmds[256] = {
    [BK_CMD_LINK_CHECK] = {"LinkCheck", -1, -1, -1, -1},
    [BK_CMD_WRITE_REG] = {"WriteReg", 0, 0, -1, -1},
    [BK_CMD_READ_REG] = {"ReadReg", 0, 0, -1, -1},
    [BK_CMD_REBOOT] = {"Reboot", -1, -1, -1, -1},
    [BK_CMD_SET_BAUD] = {"SetBaudRate", -1, -1, -1, -1},
    [BK_CMD_CHECK_CRC] = {"CheckCRC", 0, -1, -1, -1}, /* the reply is the CRC */
    [BK_CMD_READ_BOOT_VERSION] = {"ReadBootVersion", -1, -1, -1, -1},
    [BK_CMD_RESET_SEAN] = {"Reset", -1, -1, -1, -1},
    [BK_CMD_STAY_ROM] = {"StayRom", -1, -1, -1, -1},
};

static const cmd_layout *layout(bool is_long, uint8_t cmd)
{
    static const cmd_layout unknown = {NULL, -1, -1, -1, -1};
    const cmd_layout *l = is_long ? &long_cmds[cmd] : &short_cmds[cmd];
    return l->name ? l : &unknown;
}

const char *bk_trace_cmd_name(bool is_long, uint8_t cmd)
{
    const char *n = layout(is_long, cmd)->name;
    return n ? n : "?";
}

void bk_trace_describe(bk_trace_frame *f, bk_trace_dir dir, bool is_long, uint8_t cmd,
                       const uint8_t *payload, size_t len, uint32_t baud)
{
    const cmd_layout *l = layout(is_long, cmd);
    bool in = dir == BK_TRACE_IN;
    int addr_at = in ? l->addr_in : l->addr_out, data_at = in ? l->data_in : l->data_out;
    *f = (bk_trace_frame){.dir = dir, .is_long = is_long, .cmd = cmd, .payload_len = len,
                          .baud = baud};
    if (addr_at >= 0 && len >= (size_t)addr_at + 4) {
        f->has_addr = true;
        f->addr = bk_get_le32(payload + addr_at);
    }
    if (data_at >= 0) { /* never shown, even when too short to hold a sector */
        f->data_hidden = true;
        f->data_len = len > (size_t)data_at ? len - (size_t)data_at : 0;
        f->data_crc = bk_chip_crc(payload + (len > (size_t)data_at ? data_at : 0), f->data_len);
        return;
    }
    f->shown = payload;
    f->shown_len = len;
}

void bk_trace_format(const bk_trace_frame *f, char *out, size_t outlen)
{
    static const char *const arrows[] = {[BK_TRACE_OUT] = ">", [BK_TRACE_IN] = "<",
                                         [BK_TRACE_MISSING] = "<"};
    size_t n = (size_t)snprintf(out, outlen, "%s %s", arrows[f->dir],
                                bk_trace_cmd_name(f->is_long, f->cmd));
    if (f->dir == BK_TRACE_MISSING) {
        snprintf(out + (n < outlen ? n : outlen), n < outlen ? outlen - n : 0, ": %s (%u Bd)",
                 f->missing ? f->missing : "no reply", (unsigned)f->baud);
        return;
    }
    char more[160] = "";
    size_t m = 0;
    if (f->has_addr)
        m += (size_t)snprintf(more + m, sizeof more - m, " @0x%06X", (unsigned)f->addr);
    if (f->data_hidden)
        m += (size_t)snprintf(more + m, sizeof more - m, " data %zu B crc 0x%08X", f->data_len,
                              (unsigned)f->data_crc);
    for (size_t i = 0; f->shown && i < f->shown_len && i < SHOWN_MAX && m < sizeof more - 8; i++)
        m += (size_t)snprintf(more + m, sizeof more - m, "%s%02x", i ? " " : " : ", f->shown[i]);
    if (f->shown && f->shown_len > SHOWN_MAX && m < sizeof more - 4)
        snprintf(more + m, sizeof more - m, " ...");
    if (n < outlen)
        snprintf(out + n, outlen - n, " %s %zu B%s (%u Bd)", f->is_long ? "long" : "short",
                 f->payload_len, more, (unsigned)f->baud);
}
