/* bk_trace.h - a frame-by-frame trace of a session's wire, for bringing up a new adapter.
 *
 * The engine only describes frames; where a trace line goes (stderr, the station's log) is the
 * caller's business, through the hook in bk_session. A frame that carries flash contents (a
 * write's data, a read's reply) is described by its length, address and CRC, never its bytes:
 * a sector may carry per-device secrets (keys, certificates), and traces get pasted. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum bk_trace_dir {
    BK_TRACE_OUT,     /* host -> chip: a request */
    BK_TRACE_IN,      /* chip -> host: the reply awaited */
    BK_TRACE_MISSING, /* the reply awaited did not come (no reply, or garbled bytes) */
} bk_trace_dir;

typedef struct bk_trace_frame {
    bk_trace_dir dir;
    bool is_long;          /* long ("flash") frame kind */
    uint8_t cmd;           /* the request's command (a reply is named by its request) */
    size_t payload_len;    /* the frame's payload after CMD */
    bool has_addr;
    uint32_t addr;         /* flash address the frame names */
    bool data_hidden;      /* flash contents in it: described below, never shown */
    size_t data_len;
    uint32_t data_crc;     /* the chip's CRC (CheckCRC's) of the hidden data */
    const uint8_t *shown;  /* payload bytes safe to show (NULL when data_hidden) */
    size_t shown_len;
    uint32_t baud;         /* the host's rate when it went or came */
    const char *missing;   /* BK_TRACE_MISSING: "no reply" / "garbled reply" */
} bk_trace_frame;

typedef void (*bk_trace_fn)(void *ctx, const bk_trace_frame *f);
typedef struct bk_trace_hook {
    bk_trace_fn fn;        /* NULL: no trace (the default) */
    void *ctx;
} bk_trace_hook;

/* The command's protocol name ("LinkCheck", "SetBaudRate", "Erase", "Write4K", ...). */
const char *bk_trace_cmd_name(bool is_long, uint8_t cmd);
/* Describes a frame from its payload, hiding flash contents. `payload` is the bytes after CMD. */
void bk_trace_describe(bk_trace_frame *f, bk_trace_dir dir, bool is_long, uint8_t cmd,
                       const uint8_t *payload, size_t len, uint32_t baud);
/* One line: "> Write4K long 4100 B @0x011000 data 4096 B crc 0x1a2b3c4d (921600 Bd)". */
void bk_trace_format(const bk_trace_frame *f, char *out, size_t outlen);
