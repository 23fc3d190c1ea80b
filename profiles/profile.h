/* profile.h - product profiles: what a bay flashes, read from an INI file (libinih).
 *
 * A profile names the product, its chip family (or families), the pinned image for each, the
 * baud ladder and the job's knobs. Loading is strict on purpose: an unknown key, a duplicate,
 * a bad number or an image whose sha256 differs from the pin refuses the whole profile with
 * "file:line: words", because a typo must never silently change what a product gets.
 *
 * Format (profiles/wb2s-openbk.ini is the worked example):
 *   [profile]  name (required, [a-z0-9._-]), product, chip (required), image (required,
 *              relative to the profile's folder), offset (required for a raw .bin, optional
 *              for UF2 and must then match it, unused with qio), sha256 (required pin of the
 *              image file), qio, baud, baud_fallback (list, each lower than the one before),
 *              erase (auto | 4k), allow_bootloader, skip_unchanged, link_timeout_ms,
 *              write_retries, backup (none | device | full).
 *   [variant <chip>]  another chip family of the same product: chip (optional, must agree with
 *              the section name), image, offset, sha256, qio. The [profile] section's chip and
 *              image are the first variant.
 *   [personalize]  the per-device config sector each module gets (personal.h): kind
 *              (required: openbeken), base (required, a config file), base_sha256 (optional pin of
 *              the base file), secrets, ledger, crc,
 *              and field = template lines.
 * Defaults: product = name, baud 921600, fall-backs those of 921600, 460800, 115200 that are
 * below baud, erase auto, allow_bootloader no, skip_unchanged yes, link_timeout_ms 10000,
 * write_retries 2, qio no, backup none. Booleans: yes/no, true/false, on/off, 1/0. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "bk_chip.h"
#include "bk_image.h"
#include "bk_job.h"
#include "tf_keys.h"
#include "personal.h"

typedef struct tf_profile_variant {
    bk_chip chip;
    char image_path[4096];  /* resolved: the profile's folder joined with the image key */
    uint32_t offset;
    char sha256_pin[65];
    bool qio;
    bk_image image;
    int line;               /* of the section header that started this variant */
} tf_profile_variant;

typedef struct tf_profile {
    char path[4096];
    char name[64];
    char product[128];
    uint32_t bauds[BK_MAX_BAUDS];
    int n_bauds;
    bk_erase_mode erase_mode;
    bool allow_bootloader;
    bool skip_unchanged;
    int link_timeout_ms;
    int write_retries;
    bk_backup_mode backup;  /* what to keep before the first erase (engine/bk_backup.h) */
    unsigned app_reboot;    /* BK_APP_REBOOT_TEXT|_FRAME (bk_session.h); 0: none */
    uint32_t app_baud;      /* the running firmware's console rate */
    tf_profile_variant variants[BK_MAX_VARIANTS];
    int n_variants;
    char *text;             /* the file's exact text (NUL-terminated) ... */
    size_t text_len;
    char text_sha256[65];   /* ... and its sha256, for the database's record of what ran */
    tf_personal personal;   /* [personalize] (personal.h); .enabled false without one */
} tf_profile;

enum tf_profile_result {
    TF_PROFILE_OK = 0,
    TF_PROFILE_REFUSED = -1,        /* a profile with an error */
    TF_PROFILE_NOT_A_PROFILE = -2,  /* not a regular file, or no [profile] section at all */
};

/* Parses `path`, checks it, and loads and checks every variant's image against its pin.
 * Returns TF_PROFILE_OK, or a negative result with `err` = "file:line: words" (or "file:
 * words" for a file-level error; bytes from the file escaped). A FIFO or a device is refused
 * without being read. On failure *out holds nothing to free (tf_profile_free is safe). */
int tf_profile_load(const char *path, tf_profile *out, char *err, size_t errlen);
void tf_profile_free(tf_profile *p);

/* Fills `spec` from the profile. The spec points into p's images and p->product: keep p
 * loaded while the spec is in use. */
void tf_profile_to_spec(const tf_profile *p, bk_job_spec *spec);

/* Whether `baud` is a rate a profile may ask for (those seen working with BK7231 loaders). */
bool tf_profile_baud_supported(uint32_t baud);

/* The profile file's schema: every key, where it may appear, its range, default and words
 * (`trayflash profile new` writes its template from it). */
extern const tf_schema tf_profile_schema;
