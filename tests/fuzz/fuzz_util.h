/* fuzz_util.h - what the three harnesses, the replay runner and the corpus generator share.
 *
 * A broken invariant must crash the process: libFuzzer keeps the input that crashed, and the
 * replay runner (a ctest test) fails. So checks print their words and abort(), never return.
 *
 * The profile harness writes the same small image files next to every profile it loads; the
 * corpus generator pins their sha256 in the seed profiles. Both take the bytes from here, so
 * a change to a fixture changes the pins with it (fuzz_corpus_current checks the seeds). */
#pragma once
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bk_chip.h"
#include "bk_image.h"
#include "bk_proto.h"

#define FUZZ_CHECK(cond, ...)                                                          \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "%s:%d: invariant broken: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                              \
            fputc('\n', stderr);                                                       \
            abort();                                                                   \
        }                                                                              \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ------------------------------------------------------------ profile fixture images */
/* Names the seed profiles use for their image key. */
#define FUZZ_FIX_BIN "app.bin"      /* raw app, 1000 bytes, for 0x11000 */
#define FUZZ_FIX_UF2_T "app-t.uf2"  /* 3 UF2 blocks at 0x11000, BK7231T family */
#define FUZZ_FIX_UF2_N "app-n.uf2"  /* the same for BK7231N */
#define FUZZ_FIX_RBL "app.rbl"      /* an RBL OTA header */
#define FUZZ_FIX_BIN_LEN 1000u
#define FUZZ_FIX_UF2_BLOCKS 3u
#define FUZZ_FIX_UF2_LEN (FUZZ_FIX_UF2_BLOCKS * BK_UF2_BLOCK_SIZE)
#define FUZZ_FIX_RBL_LEN 96u
#define FUZZ_FIX_ADDR 0x11000u

/* Deterministic firmware-ish bytes: a small xorshift stream, not a constant, so a UF2 block
 * that lands at the wrong address is visible in the loaded image. */
static inline void fuzz_fix_fill(uint8_t *out, size_t n, uint32_t seed)
{
    uint32_t x = seed ? seed : 0x9E3779B9u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out[i] = (uint8_t)x;
    }
}

static inline void fuzz_fix_bin(uint8_t out[FUZZ_FIX_BIN_LEN])
{
    fuzz_fix_fill(out, FUZZ_FIX_BIN_LEN, 0x7231A);
}

/* One UF2 block per 256 bytes of the app, as UF2 writers lay them out. */
static inline void fuzz_uf2_block(uint8_t *b, uint32_t flags, uint32_t addr, uint32_t size,
                                  uint32_t block_no, uint32_t num_blocks, uint32_t family,
                                  const uint8_t *payload)
{
    memset(b, 0, BK_UF2_BLOCK_SIZE);
    bk_put_le32(b + 0, BK_UF2_MAGIC_START0);
    bk_put_le32(b + 4, BK_UF2_MAGIC_START1);
    bk_put_le32(b + 8, flags);
    bk_put_le32(b + 12, addr);
    bk_put_le32(b + 16, size);
    bk_put_le32(b + 20, block_no);
    bk_put_le32(b + 24, num_blocks);
    bk_put_le32(b + 28, family);
    if (payload && size <= BK_UF2_PAYLOAD_MAX)
        memcpy(b + 32, payload, size);
    bk_put_le32(b + 508, BK_UF2_MAGIC_END);
}

static inline void fuzz_fix_uf2(uint8_t out[FUZZ_FIX_UF2_LEN], bk_chip chip)
{
    uint8_t app[FUZZ_FIX_UF2_BLOCKS * 256];
    fuzz_fix_fill(app, sizeof app, 0x7231C);
    const bk_family *f = bk_family_get(chip);
    for (uint32_t i = 0; i < FUZZ_FIX_UF2_BLOCKS; i++)
        fuzz_uf2_block(out + i * BK_UF2_BLOCK_SIZE, BK_UF2_FLAG_FAMILY_ID,
                       FUZZ_FIX_ADDR + i * 256, 256, i, FUZZ_FIX_UF2_BLOCKS,
                       f ? f->uf2_family : 0, app + i * 256);
}

static inline void fuzz_fix_rbl(uint8_t out[FUZZ_FIX_RBL_LEN])
{
    memset(out, 0, FUZZ_FIX_RBL_LEN);
    memcpy(out, "RBL", 4);
    memcpy(out + 16, "app", 4);
    memcpy(out + 32, "1.0.0", 6);
    fuzz_fix_fill(out + 64, 32, 0x5EED);
}
