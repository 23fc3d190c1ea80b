/* bk_proto.h - BK7231 UART download protocol: frame codec and command codes.
 *
 * Pure functions, no I/O: the engine encodes requests and decodes replies with them, the
 * simulator decodes requests and encodes replies. Byte layouts are in
 * docs/bk7231-protocol.md; everything is little-endian. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* Short-frame command codes. */
enum {
    BK_CMD_LINK_CHECK = 0x00,
    BK_CMD_LINK_CHECK_REPLY = 0x01, /* a LinkCheck is answered with CMD 0x01 */
    BK_CMD_WRITE_REG = 0x01,
    BK_CMD_READ_REG = 0x03,
    BK_CMD_REBOOT = 0x0E,
    BK_CMD_SET_BAUD = 0x0F,
    BK_CMD_CHECK_CRC = 0x10,
    BK_CMD_READ_BOOT_VERSION = 0x11,
    BK_CMD_RESET_SEAN = 0x70,  /* BootROM: "SEAN" -> watchdog reset, no reply */
    BK_CMD_STAY_ROM = 0xAA,    /* BootROM: 55 -> echo 55 */
    BK_CMD_BKREG_REBOOT = 0xFE, /* "BKReg DoReboot" 95 27 95 27: a running Beken/Tuya
                                   application restarts into its loader window (no reply) */
};

/* Long-frame ("flash") command codes; they overlap the short ones, the frame kind tells. */
enum {
    BK_LCMD_WRITE = 0x06,
    BK_LCMD_WRITE_4K = 0x07,
    BK_LCMD_READ = 0x08,
    BK_LCMD_READ_4K = 0x09,
    BK_LCMD_ERASE_ALL = 0x0A,
    BK_LCMD_ERASE_4K = 0x0B,
    BK_LCMD_READ_SR = 0x0C,
    BK_LCMD_WRITE_SR = 0x0D,
    BK_LCMD_GET_MID = 0x0E,
    BK_LCMD_ERASE = 0x0F,
};

enum {
    BK_ERASE_SIZE_4K = 0x20,  /* FlashErase size code: 4 KiB sector */
    BK_ERASE_SIZE_64K = 0xD8, /* FlashErase size code: 64 KiB block (64 KiB aligned) */
};

#define BK_SECTOR_SIZE 4096u
#define BK_BLOCK_SIZE 65536u
#define BK_LONG_PAYLOAD_MAX (4 + BK_SECTOR_SIZE + 8)
/* Largest frame either side sends: long header (7) + cmd + addr + 4 KiB data. */
#define BK_FRAME_MAX (16 + BK_LONG_PAYLOAD_MAX)

/* One decoded frame. `payload` points into the buffer given to the decoder. */
typedef struct bk_frame {
    bool is_long;
    uint8_t cmd;
    const uint8_t *payload;
    size_t payload_len;
} bk_frame;

typedef enum bk_decode_status {
    BK_DECODE_NEED_MORE = 0, /* no complete frame yet; *consumed says how much garbage to drop */
    BK_DECODE_FRAME = 1,     /* *out holds a frame; *consumed covers garbage before it and the frame */
} bk_decode_status;

/* Host -> chip encoders. Return the frame length, or 0 if `cap` is too small or the
 * payload too long for the frame kind. */
size_t bk_encode_request_short(uint8_t *out, size_t cap, uint8_t cmd, const uint8_t *payload, size_t len);
size_t bk_encode_request_long(uint8_t *out, size_t cap, uint8_t cmd, const uint8_t *payload, size_t len);

/* Chip -> host encoders. */
size_t bk_encode_reply_short(uint8_t *out, size_t cap, uint8_t cmd, const uint8_t *payload, size_t len);
size_t bk_encode_reply_long(uint8_t *out, size_t cap, uint8_t cmd, const uint8_t *payload, size_t len);

/* Decoders: hunt for the preamble (01 E0 FC for requests, 04 0E for replies), skipping and
 * counting anything before it in *garbage. On BK_DECODE_NEED_MORE, *consumed bytes (garbage
 * only) may be dropped by the caller; the rest must be kept and more appended. */
bk_decode_status bk_decode_request(const uint8_t *buf, size_t len, bk_frame *out, size_t *consumed,
                                   size_t *garbage);
bk_decode_status bk_decode_reply(const uint8_t *buf, size_t len, bk_frame *out, size_t *consumed,
                                 size_t *garbage);

/* Length of the reply frame to a command, for timeouts and wire-time estimates. */
size_t bk_reply_frame_len(bool is_long, size_t payload_len);

static inline void bk_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline uint32_t bk_get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline void bk_put_le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline uint16_t bk_get_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

/* The chip's CheckCRC value for `len` bytes (its CRC-32 without the final inversion), computed
 * host-side with zlib. A chip reply equals this when its flash holds `data`. */
uint32_t bk_chip_crc(const uint8_t *data, size_t len);
/* The same, continuing a running chip CRC (start with 0xFFFFFFFF). */
uint32_t bk_chip_crc_update(uint32_t chip_crc, const uint8_t *data, size_t len);
