/* bk_proto.c - frame codec. Layouts (see docs/bk7231-protocol.md):
 *   request short  01 E0 FC | LEN | CMD | payload            LEN = 1 + n
 *   request long   01 E0 FC | FF F4 | LEN16 | CMD | payload  LEN16 = 1 + n
 *   reply short    04 0E | LEN | 01 E0 FC | CMD | payload     LEN = 4 + n
 *   reply long     04 0E | FF | 01 E0 FC | F4 | LEN16 | CMD | payload   LEN16 = 1 + n
 * A short LEN of 0xFF would read as the long marker, so LEN stops at 0xFE: short request
 * payloads at 253 bytes, short reply payloads at 250. Decoders accept exactly what encoders make. */
#include "bk_proto.h"
#include <string.h>
#include <zlib.h>

#define SHORT_REQUEST_PAYLOAD_MAX 253u
#define SHORT_REPLY_PAYLOAD_MAX 250u

size_t bk_encode_request_short(uint8_t *out, size_t cap, uint8_t cmd, const uint8_t *payload, size_t len)
{
    if (len > SHORT_REQUEST_PAYLOAD_MAX || cap < 5 + len)
        return 0;
    out[0] = 0x01; out[1] = 0xE0; out[2] = 0xFC;
    out[3] = (uint8_t)(1 + len);
    out[4] = cmd;
    if (len)
        memcpy(out + 5, payload, len);
    return 5 + len;
}

size_t bk_encode_request_long(uint8_t *out, size_t cap, uint8_t cmd, const uint8_t *payload, size_t len)
{
    if (len + 1 > 0xFFFF || cap < 8 + len)
        return 0;
    out[0] = 0x01; out[1] = 0xE0; out[2] = 0xFC; out[3] = 0xFF; out[4] = 0xF4;
    bk_put_le16(out + 5, (uint16_t)(1 + len));
    out[7] = cmd;
    if (len)
        memcpy(out + 8, payload, len);
    return 8 + len;
}

size_t bk_encode_reply_short(uint8_t *out, size_t cap, uint8_t cmd, const uint8_t *payload, size_t len)
{
    if (len > SHORT_REPLY_PAYLOAD_MAX || cap < 7 + len)
        return 0;
    out[0] = 0x04; out[1] = 0x0E;
    out[2] = (uint8_t)(4 + len);
    out[3] = 0x01; out[4] = 0xE0; out[5] = 0xFC;
    out[6] = cmd;
    if (len)
        memcpy(out + 7, payload, len);
    return 7 + len;
}

size_t bk_encode_reply_long(uint8_t *out, size_t cap, uint8_t cmd, const uint8_t *payload, size_t len)
{
    if (len + 1 > 0xFFFF || cap < 10 + len)
        return 0;
    out[0] = 0x04; out[1] = 0x0E; out[2] = 0xFF;
    out[3] = 0x01; out[4] = 0xE0; out[5] = 0xFC; out[6] = 0xF4;
    bk_put_le16(out + 7, (uint16_t)(1 + len));
    out[9] = cmd;
    if (len)
        memcpy(out + 10, payload, len);
    return 10 + len;
}

size_t bk_reply_frame_len(bool is_long, size_t payload_len)
{
    return (is_long ? 10 : 7) + payload_len;
}

/* Result of matching a frame at one candidate position. */
typedef enum { MATCH_NO, MATCH_PARTIAL, MATCH_FULL } match_result;

/* Compare `len` bytes of `buf` with `want`, treating a short buffer as a possible prefix. */
static match_result match_bytes(const uint8_t *buf, size_t len, const uint8_t *want, size_t want_len)
{
    size_t n = len < want_len ? len : want_len;
    if (memcmp(buf, want, n) != 0)
        return MATCH_NO;
    return len < want_len ? MATCH_PARTIAL : MATCH_FULL;
}

static match_result match_request(const uint8_t *b, size_t len, bk_frame *out, size_t *frame_len)
{
    static const uint8_t pre[] = {0x01, 0xE0, 0xFC};
    match_result m = match_bytes(b, len, pre, 3);
    if (m != MATCH_FULL)
        return m;
    if (len < 4)
        return MATCH_PARTIAL;
    if (b[3] != 0xFF) { /* short */
        if (b[3] == 0)
            return MATCH_NO;
        size_t total = 4 + (size_t)b[3];
        if (len < total)
            return MATCH_PARTIAL;
        *out = (bk_frame){false, b[4], b + 5, (size_t)b[3] - 1};
        *frame_len = total;
        return MATCH_FULL;
    }
    if (len < 5)
        return MATCH_PARTIAL;
    if (b[4] != 0xF4)
        return MATCH_NO;
    if (len < 7)
        return MATCH_PARTIAL;
    size_t l16 = bk_get_le16(b + 5);
    if (l16 == 0 || l16 > BK_LONG_PAYLOAD_MAX + 1)
        return MATCH_NO;
    size_t total = 7 + l16;
    if (len < total)
        return MATCH_PARTIAL;
    *out = (bk_frame){true, b[7], b + 8, l16 - 1};
    *frame_len = total;
    return MATCH_FULL;
}

static match_result match_reply(const uint8_t *b, size_t len, bk_frame *out, size_t *frame_len)
{
    static const uint8_t pre[] = {0x04, 0x0E};
    static const uint8_t hdr[] = {0x01, 0xE0, 0xFC};
    match_result m = match_bytes(b, len, pre, 2);
    if (m != MATCH_FULL)
        return m;
    if (len < 3)
        return MATCH_PARTIAL;
    if (b[2] != 0xFF) { /* short */
        if (b[2] < 4)
            return MATCH_NO;
        m = match_bytes(b + 3, len - 3, hdr, 3);
        if (m != MATCH_FULL)
            return m;
        size_t total = 3 + (size_t)b[2];
        if (len < total)
            return MATCH_PARTIAL;
        *out = (bk_frame){false, b[6], b + 7, (size_t)b[2] - 4};
        *frame_len = total;
        return MATCH_FULL;
    }
    m = match_bytes(b + 3, len - 3, hdr, 3);
    if (m != MATCH_FULL)
        return m;
    if (len < 7)
        return MATCH_PARTIAL;
    if (b[6] != 0xF4)
        return MATCH_NO;
    if (len < 9)
        return MATCH_PARTIAL;
    size_t l16 = bk_get_le16(b + 7);
    if (l16 == 0 || l16 > BK_LONG_PAYLOAD_MAX + 1)
        return MATCH_NO;
    size_t total = 9 + l16;
    if (len < total)
        return MATCH_PARTIAL;
    *out = (bk_frame){true, b[9], b + 10, l16 - 1};
    *frame_len = total;
    return MATCH_FULL;
}

typedef match_result (*matcher_fn)(const uint8_t *, size_t, bk_frame *, size_t *);

/* Slide over the buffer: the first position that is a full frame wins; the first partial
 * match stops the hunt (more bytes may complete it); everything before it is garbage. */
static bk_decode_status decode(matcher_fn match, const uint8_t *buf, size_t len, bk_frame *out,
                               size_t *consumed, size_t *garbage)
{
    for (size_t i = 0; i < len; i++) {
        size_t flen = 0;
        match_result m = match(buf + i, len - i, out, &flen);
        if (m == MATCH_NO)
            continue;
        *garbage = i;
        if (m == MATCH_PARTIAL) {
            *consumed = i;
            return BK_DECODE_NEED_MORE;
        }
        *consumed = i + flen;
        return BK_DECODE_FRAME;
    }
    *garbage = len;
    *consumed = len;
    return BK_DECODE_NEED_MORE;
}

bk_decode_status bk_decode_request(const uint8_t *buf, size_t len, bk_frame *out, size_t *consumed,
                                   size_t *garbage)
{
    return decode(match_request, buf, len, out, consumed, garbage);
}

bk_decode_status bk_decode_reply(const uint8_t *buf, size_t len, bk_frame *out, size_t *consumed,
                                 size_t *garbage)
{
    return decode(match_reply, buf, len, out, consumed, garbage);
}

uint32_t bk_chip_crc_update(uint32_t chip_crc, const uint8_t *data, size_t len)
{
    /* zlib's crc32() inverts on entry and exit; the chip does neither at the end. */
    uLong z = ~chip_crc & 0xFFFFFFFFu;
    while (len > 0) {
        uInt n = len > 0x40000000u ? 0x40000000u : (uInt)len;
        z = crc32(z, data, n);
        data += n;
        len -= n;
    }
    return (uint32_t)~z;
}

uint32_t bk_chip_crc(const uint8_t *data, size_t len)
{
    return bk_chip_crc_update(0xFFFFFFFFu, data, len);
}
