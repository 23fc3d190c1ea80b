/* fuzz_frame_decoder.c - bk_decode_request / bk_decode_reply over arbitrary bytes.
 *
 * Input: 2 bytes of chunking seed, then the byte stream a port would deliver. Each decoder
 * is driven twice: once over the whole stream (the reference), once as the engine's reader
 * does it, fed in pseudo-random pieces through a buffer of BK_FRAME_MAX plus one piece. Both
 * must see the same frames and the same garbage: a frame split across reads must never be
 * lost, doubled or changed. Every frame must re-encode to exactly the bytes it came from.
 * Finally the input's bytes are encoded as a payload of each frame kind and decoded back. */
#include "fuzz_util.h"
#include <stdbool.h>

#define CHUNK_MAX 600u
/* A short LEN byte stops at 0xFE (0xFF is the long marker): 253 payload bytes in a request,
 * 250 in a reply. Every frame a decoder accepts must re-encode to the same bytes. */
#define SHORT_REQUEST_MAX 253u
#define SHORT_REPLY_MAX 250u

typedef bk_decode_status (*decode_fn)(const uint8_t *, size_t, bk_frame *, size_t *, size_t *);
typedef size_t (*encode_fn)(uint8_t *, size_t, uint8_t, const uint8_t *, size_t);

typedef struct side {
    const char *name;
    bool is_reply;
    decode_fn decode;
    encode_fn enc_short, enc_long;
} side;

static const side sides[2] = {
    { "request", false, bk_decode_request, bk_encode_request_short, bk_encode_request_long },
    { "reply", true, bk_decode_reply, bk_encode_reply_short, bk_encode_reply_long },
};

/* Checks one decoder call's answer against the buffer it was given. */
static void check_call(const side *sd, const uint8_t *buf, size_t len, bk_decode_status st,
                       const bk_frame *f, size_t consumed, size_t garbage)
{
    FUZZ_CHECK(consumed <= len, "%s: consumed %zu of %zu", sd->name, consumed, len);
    FUZZ_CHECK(garbage <= consumed, "%s: garbage %zu > consumed %zu", sd->name, garbage, consumed);
    if (st != BK_DECODE_FRAME) {
        FUZZ_CHECK(st == BK_DECODE_NEED_MORE, "%s: status %d", sd->name, (int)st);
        FUZZ_CHECK(garbage == consumed, "%s: NEED_MORE drops %zu but calls %zu garbage",
                   sd->name, consumed, garbage);
        /* What is kept is a partial frame: it must fit the reader's buffer. */
        FUZZ_CHECK(len - consumed < BK_FRAME_MAX, "%s: keeps %zu bytes", sd->name, len - consumed);
        return;
    }
    const uint8_t *frame = buf + garbage;
    size_t flen = consumed - garbage;
    FUZZ_CHECK(f->payload >= frame && f->payload + f->payload_len == buf + consumed,
               "%s: payload [%td, +%zu) not at the end of frame [%zu, %zu)", sd->name,
               f->payload - buf, f->payload_len, garbage, consumed);
    size_t hdr = (size_t)(f->payload - frame);
    /* The header's length field must say what payload_len says. */
    if (!sd->is_reply) {
        FUZZ_CHECK(frame[0] == 0x01 && frame[1] == 0xE0 && frame[2] == 0xFC, "request preamble");
        if (f->is_long) {
            FUZZ_CHECK(hdr == 8 && frame[3] == 0xFF && frame[4] == 0xF4, "long request header");
            FUZZ_CHECK(bk_get_le16(frame + 5) == f->payload_len + 1, "LEN16 %u vs payload %zu",
                       bk_get_le16(frame + 5), f->payload_len);
        } else {
            FUZZ_CHECK(hdr == 5 && frame[3] == f->payload_len + 1, "LEN %u vs payload %zu",
                       frame[3], f->payload_len);
        }
    } else {
        FUZZ_CHECK(frame[0] == 0x04 && frame[1] == 0x0E, "reply preamble");
        if (f->is_long) {
            FUZZ_CHECK(hdr == 10 && frame[2] == 0xFF && frame[6] == 0xF4, "long reply header");
            FUZZ_CHECK(bk_get_le16(frame + 7) == f->payload_len + 1, "LEN16 %u vs payload %zu",
                       bk_get_le16(frame + 7), f->payload_len);
        } else {
            FUZZ_CHECK(hdr == 7 && frame[2] == f->payload_len + 4, "LEN %u vs payload %zu",
                       frame[2], f->payload_len);
        }
    }
    FUZZ_CHECK(frame[hdr - 1] == f->cmd, "%s: cmd 0x%02X not the byte before the payload",
               sd->name, f->cmd);

    uint8_t out[BK_FRAME_MAX];
    encode_fn enc = f->is_long ? sd->enc_long : sd->enc_short;
    size_t n = enc(out, sizeof out, f->cmd, f->payload, f->payload_len);
    FUZZ_CHECK(n > 0, "%s: a decoded %s frame (cmd 0x%02X, %zu payload bytes) cannot be encoded",
               sd->name, f->is_long ? "long" : "short", f->cmd, f->payload_len);
    FUZZ_CHECK(n == flen && memcmp(out, frame, n) == 0,
               "%s: re-encoding gives %zu bytes differing from the %zu decoded", sd->name, n, flen);
}

/* The reference: the whole stream at once. */
typedef struct oneshot {
    const uint8_t *s;
    size_t n, pos, garbage;
    bool done;
} oneshot;

static bool oneshot_next(const side *sd, oneshot *o, bk_frame *f)
{
    while (!o->done) {
        size_t consumed = 0, garbage = 0;
        bk_decode_status st = sd->decode(o->s + o->pos, o->n - o->pos, f, &consumed, &garbage);
        check_call(sd, o->s + o->pos, o->n - o->pos, st, f, consumed, garbage);
        o->pos += consumed;
        o->garbage += garbage;
        if (st == BK_DECODE_FRAME)
            return true;
        o->done = true;
    }
    return false;
}

static uint32_t xorshift(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

static void run_side(const side *sd, uint16_t seed, const uint8_t *s, size_t n)
{
    oneshot ref = { s, n, 0, 0, false };
    /* seed 0 feeds byte by byte; larger seeds allow larger pieces. */
    uint32_t chunk_max = 1u + seed % CHUNK_MAX;
    uint32_t rng = 0xA5A5u ^ ((uint32_t)seed << 8) ^ seed;
    uint8_t *buf = malloc(BK_FRAME_MAX + CHUNK_MAX);
    FUZZ_CHECK(buf != NULL, "out of memory");
    size_t have = 0, fed = 0, garbage = 0, frame_bytes = 0, frames = 0;
    while (fed < n) {
        size_t piece = 1 + xorshift(&rng) % chunk_max;
        if (piece > n - fed)
            piece = n - fed;
        FUZZ_CHECK(have + piece <= BK_FRAME_MAX + CHUNK_MAX, "reader buffer overflow: %zu + %zu",
                   have, piece);
        memcpy(buf + have, s + fed, piece);
        have += piece;
        fed += piece;
        for (;;) {
            bk_frame f;
            size_t consumed = 0, g = 0;
            bk_decode_status st = sd->decode(buf, have, &f, &consumed, &g);
            check_call(sd, buf, have, st, &f, consumed, g);
            garbage += g;
            if (st == BK_DECODE_FRAME) {
                bk_frame want;
                FUZZ_CHECK(oneshot_next(sd, &ref, &want),
                           "%s: chunked reader found frame %zu the whole-stream decode lacks",
                           sd->name, frames);
                FUZZ_CHECK(f.is_long == want.is_long && f.cmd == want.cmd &&
                               f.payload_len == want.payload_len &&
                               memcmp(f.payload, want.payload, f.payload_len) == 0,
                           "%s: frame %zu differs when the stream is chunked", sd->name, frames);
                frames++;
                frame_bytes += consumed - g;
            }
            memmove(buf, buf + consumed, have - consumed);
            have -= consumed;
            if (st != BK_DECODE_FRAME)
                break;
        }
    }
    bk_frame extra;
    FUZZ_CHECK(!oneshot_next(sd, &ref, &extra), "%s: chunked reader lost frame %zu", sd->name,
               frames);
    FUZZ_CHECK(garbage == ref.garbage, "%s: garbage %zu chunked vs %zu whole", sd->name, garbage,
               ref.garbage);
    FUZZ_CHECK(have == n - ref.pos, "%s: %zu bytes left chunked vs %zu whole", sd->name, have,
               n - ref.pos);
    FUZZ_CHECK(garbage + frame_bytes + have == n, "%s: %zu garbage + %zu frame + %zu kept != %zu",
               sd->name, garbage, frame_bytes, have, n);
    free(buf);
}

/* encode(cmd, payload) then decode must give back cmd and payload, consuming all of it. */
static void roundtrip(const side *sd, bool is_long, uint8_t cmd, const uint8_t *p, size_t len)
{
    size_t max = is_long ? BK_LONG_PAYLOAD_MAX : sd->is_reply ? SHORT_REPLY_MAX : SHORT_REQUEST_MAX;
    if (len > max)
        len = max;
    uint8_t out[BK_FRAME_MAX];
    size_t n = (is_long ? sd->enc_long : sd->enc_short)(out, sizeof out, cmd, p, len);
    FUZZ_CHECK(n > 0, "%s: encoder refused %zu payload bytes", sd->name, len);
    bk_frame f;
    size_t consumed = 0, garbage = 0;
    bk_decode_status st = sd->decode(out, n, &f, &consumed, &garbage);
    FUZZ_CHECK(st == BK_DECODE_FRAME && garbage == 0 && consumed == n,
               "%s: own %s frame of %zu bytes not decoded whole (status %d, consumed %zu)",
               sd->name, is_long ? "long" : "short", n, (int)st, consumed);
    FUZZ_CHECK(f.is_long == is_long && f.cmd == cmd && f.payload_len == len &&
                   (len == 0 || memcmp(f.payload, p, len) == 0),
               "%s: frame changed through encode/decode", sd->name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint16_t seed = (uint16_t)(data[0] | data[1] << 8);
    const uint8_t *s = data + 2;
    size_t n = size - 2;
    for (int i = 0; i < 2; i++) {
        run_side(&sides[i], seed, s, n);
        roundtrip(&sides[i], false, data[0], s, n);
        roundtrip(&sides[i], true, data[1], s, n);
    }
    return 0;
}
