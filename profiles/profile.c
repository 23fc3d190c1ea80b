/* profile.c - INI profile loading and checking.
 *
 * libinih does the key = value splitting; it does not tell a handler its line number (the
 * Debian build has INI_HANDLER_LINENO off), so the profile text is fed to ini_parse_stream
 * through the whole-line reader of common/tf_ini.h, which counts lines and sees section
 * headers first-hand. That also gives "missing key" errors the line of their section header,
 * and lets the parse stop at the first error: later errors after a bad line are usually its
 * echoes. Messages quote the file's bytes escaped (tf_text.h). */
#include "profile.h"
#include "personal.h"
#include "bk_session.h"
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <ini.h>
#include "tf_file.h"
#include "tf_ini.h"
#include "tf_keys.h"
#include "tf_text.h"

#define PROFILE_TEXT_MAX (1u << 20)
#define N_SECTIONS (BK_MAX_VARIANTS)

static const uint32_t supported_bauds[] = { 115200, 230400, 460800, 921600, 1500000, 2000000 };
/* Without baud_fallback: those of these below baud, high to low. 921600 is the rate most
 * adapters carry, so a 2 Mbaud profile steps there first, not straight to 460800. */
static const uint32_t default_fallbacks[] = { 921600, 460800, 115200 };

bool tf_profile_baud_supported(uint32_t baud)
{
    for (size_t i = 0; i < sizeof supported_bauds / sizeof supported_bauds[0]; i++)
        if (supported_bauds[i] == baud)
            return true;
    return false;
}

enum key_id {
    K_NAME, K_PRODUCT, K_CHIP, K_BAUD, K_BAUD_FALLBACK, K_IMAGE, K_OFFSET, K_SHA256, K_ERASE,
    K_ALLOW_BOOTLOADER, K_SKIP_UNCHANGED, K_LINK_TIMEOUT_MS, K_WRITE_RETRIES, K_QIO, K_APP_REBOOT,
    K_APP_BAUD, K_BACKUP, K_P_KIND, K_P_BASE, K_P_BASE_SHA256, K_P_SECRETS, K_P_LEDGER, K_P_CRC, K_COUNT
};

enum { IN_PROFILE = 1, IN_VARIANT = 2, IN_PERSONALIZE = 4 };
/* The [personalize] section's slot in parse_ctx.sec, after the variants'. */
#define SEC_PERSONALIZE N_SECTIONS
#define PERSONAL_BASE_MAX (64u << 10)

/* The profile's schema: which keys exist where, their ranges, defaults and words. The loader
 * checks against it, starts from its defaults, and `trayflash profile new` writes its template
 * from it; the man page's PROFILES and profiles/README.md say the same (tests/profiles
 * schema_docs compares them). Order: the order of the template. */
static const tf_key keys[K_COUNT] = {
    [K_NAME] = { "name", IN_PROFILE, TF_KEY_TEXT, 0, 0, NULL, NULL, NULL,
                 "Id of this profile: 1..63 of a-z 0-9 . _ - (the database and reports key on "
                 "it).", TF_KEY_REQUIRED | TF_KEY_SET_IN_TEMPLATE,
                 NULL },
    [K_PRODUCT] = { "product", IN_PROFILE, TF_KEY_TEXT, 0, 0, NULL, NULL, "the name",
                    "What the operators see (default: the name).", TF_KEY_SET_IN_TEMPLATE, NULL },
    [K_CHIP] = { "chip", IN_PROFILE | IN_VARIANT, TF_KEY_CHOICE, 0, 0, "bk7231t|bk7231n", NULL,
                 NULL, "Chip family: bk7231t (WB2S, WB3S, ...) or bk7231n (CB2S, CB3S, ...). In "
                 "a [variant] it may be left out and must agree with the section's name.",
                 TF_KEY_REQUIRED_MAIN | TF_KEY_FILL_IN | TF_KEY_SET_IN_TEMPLATE, "bk7231n" },
    [K_BAUD] = { "baud", IN_PROFILE, TF_KEY_CHOICE, 0, 0,
                 "115200|230400|460800|921600|1500000|2000000", "921600", NULL,
                 "Working baud: 115200, 230400, 460800, 921600, 1500000 or 2000000.", 0, NULL },
    [K_BAUD_FALLBACK] = { "baud_fallback", IN_PROFILE, TF_KEY_LIST, 0, 0, NULL, NULL,
                          "those of 921600, 460800, 115200 below baud",
                          "Where to step down after failures at the working rate: rates high to "
                          "low, each below the one before (none: no fall-back). Default: those "
                          "of 921600, 460800, 115200 that are below baud.", 0, "460800, 115200" },
    [K_IMAGE] = { "image", IN_PROFILE | IN_VARIANT, TF_KEY_PATH, 0, 0, NULL, NULL, NULL,
                  "The image, relative to this file's folder: a raw .bin (then offset is "
                  "needed) or a UF2 (its blocks carry their addresses). An RBL OTA package is "
                  "refused.", TF_KEY_REQUIRED | TF_KEY_FILL_IN | TF_KEY_SET_IN_TEMPLATE, "firmware.bin" },
    [K_OFFSET] = { "offset", IN_PROFILE | IN_VARIANT, TF_KEY_INT, 0, 0xFFFFFFFFL, NULL, NULL,
                   "for a raw .bin: required", "Flash address of a raw .bin: 4 KiB aligned; "
                   "0x11000 is the app partition right above the bootloader (below it only with "
                   "allow_bootloader = yes).", TF_KEY_SET_IN_TEMPLATE,
                   "0x11000" },
    [K_SHA256] = { "sha256", IN_PROFILE | IN_VARIANT, TF_KEY_TEXT, 0, 0, NULL, NULL, NULL,
                   "sha256 of the image file (sha256sum firmware.bin): the station refuses any "
                   "other bytes. When it differs, profile check prints the file's own sha256; "
                   "pin that only once you know the file is the released image.",
                   TF_KEY_REQUIRED | TF_KEY_FILL_IN | TF_KEY_SET_IN_TEMPLATE,
                   "0000000000000000000000000000000000000000000000000000000000000000" },
    [K_ERASE] = { "erase", IN_PROFILE, TF_KEY_CHOICE, 0, 0, "auto|4k", "auto", NULL,
                  "Erase units: auto (64 KiB blocks where aligned, 4 KiB sectors elsewhere) or "
                  "4k.", 0, NULL },
    [K_ALLOW_BOOTLOADER] = { "allow_bootloader", IN_PROFILE, TF_KEY_BOOL, 0, 0, NULL, "no", NULL,
                             "yes lets the image write below 0x11000, over the bootloader: "
                             "almost never right.", 0, NULL },
    [K_SKIP_UNCHANGED] = { "skip_unchanged", IN_PROFILE, TF_KEY_BOOL, 0, 0, NULL, "yes", NULL,
                           "Re-flash: skip sectors whose CRC already matches the image.", 0,
                           NULL },
    [K_LINK_TIMEOUT_MS] = { "link_timeout_ms", IN_PROFILE, TF_KEY_INT, 100, 600000, NULL, "10000",
                            NULL, "How long to call the bootloader (LinkCheck) before giving a "
                            "module up, 100..600000.", 0, NULL },
    [K_WRITE_RETRIES] = { "write_retries", IN_PROFILE, TF_KEY_INT, 0, 10, NULL, "2", NULL,
                          "Retries of a failed 4 KiB write (each after a re-erase) before "
                          "stepping down, 0..10.", 0, NULL },
    [K_QIO] = { "qio", IN_PROFILE | IN_VARIANT, TF_KEY_BOOL, 0, 0, NULL, "no", NULL,
                "yes: image is a whole-flash QIO dump from address 0; the part above the "
                "bootloader is written, and offset is not used.", 0, NULL },
    [K_BACKUP] = { "backup", IN_PROFILE, TF_KEY_CHOICE, 0, 0, "none|device|full", "none", NULL,
                   "Before the first erase keep what the module came with: none, device (its "
                   "per-device ranges: RF calibration, key-value storage, config, Tuya data) or "
                   "full (also the vendor app and OTA regions, deduplicated across a reel).",
                   0, NULL },
    [K_P_KIND] = { "kind", IN_PERSONALIZE, TF_KEY_CHOICE, 0, 0, "openbeken", NULL, NULL,
                   "What the per-device sector is: openbeken (OpenBeken's config sector, version "
                   "5, at 0x1E1000 on a BK7231T and 0x1D1000 on a BK7231N).", TF_KEY_REQUIRED,
                   "openbeken" },
    [K_P_BASE] = { "base", IN_PERSONALIZE, TF_KEY_PATH, 0, 0, NULL, NULL, NULL,
                   "A config exported from a configured module of this product (pins, channels, "
                   "flags): every field the section does not set comes from it.", TF_KEY_REQUIRED,
                   "plug-base.bin" },
    [K_P_BASE_SHA256] = { "base_sha256", IN_PERSONALIZE, TF_KEY_TEXT, 0, 0, NULL, NULL,
                          "not pinned",
                          "sha256 of the base file (sha256sum plug-base.bin): a changed base, "
                          "which would change every module's config, is refused before any "
                          "module is touched. profile check prints the line to paste.", 0,
                          "0000000000000000000000000000000000000000000000000000000000000000" },
    [K_P_SECRETS] = { "secrets", IN_PERSONALIZE, TF_KEY_TEXT, 0, 0, NULL, NULL, "none",
                      "The station-local secrets file ({secret.NAME} values): a path, or "
                      "credential:NAME from $CREDENTIALS_DIRECTORY; refused when a group or others "
                      "can read it.", 0, "credential:line2-secrets" },
    [K_P_LEDGER] = { "ledger", IN_PERSONALIZE, TF_KEY_LIST, 0, 0, NULL, NULL, "no ledger",
                     "The ledger columns the templates use (trayflash ledger import); each "
                     "module then takes one row, keyed by its MAC.", 0, "serial" },
    [K_P_CRC] = { "crc", IN_PERSONALIZE, TF_KEY_CHOICE, 0, 0, "signed|unsigned", "signed", NULL,
                  "The checksum's char flavour: signed as OpenBeken's BK7231 builds compute it.",
                  0, NULL },
    [K_APP_REBOOT] = { "app_reboot", IN_PROFILE, TF_KEY_CHOICE, 0, 0, "none|text|frame|both",
                       "none", NULL, "Modules that may already run firmware (rework, re-flash): "
                       "before each reset ask it to restart into its loader - text: the console "
                       "command reboot, frame: the register-write reboot frame, both, or none.",
                       0, NULL },
    [K_APP_BAUD] = { "app_baud", IN_PROFILE, TF_KEY_INT, 9600, 3000000, NULL, "115200", NULL,
                     "The running firmware's console rate, for app_reboot, 9600..3000000.", 0,
                     NULL },
};

static const char *const section_names[] = { "profile", "variant", "personalize" };

const tf_schema tf_profile_schema = {
    .what = "profile",
    .section_names = section_names,
    .n_section_kinds = 3,
    .keys = keys,
    .n_keys = K_COUNT,
};

/* One section seen in the file. Section i fills variant i: [profile] is always section 0
 * (variant 0), [variant x] sections follow in file order. */
typedef struct section {
    bool present;
    int line;
    char title[80];          /* as written, for messages */
    int key_line[K_COUNT];   /* 0 = key not given */
    char image_key[4096];    /* the image value as written */
} section;

typedef struct parse_ctx {
    tf_profile *p;
    tf_ini_reader rd;        /* the line it is on, whether indented; stop ends the parse */
    int cur;                 /* section index, -1 before the first header */
    int last_key;            /* key of the previous handler call, -1 if none */
    section sec[N_SECTIONS + 1]; /* the variants, then [personalize] */
    int n_variant_sections;  /* [variant] sections so far */
    uint32_t baud;
    uint32_t fallbacks[BK_MAX_BAUDS];
    int n_fallbacks;
    bool failed;
    char *err;
    size_t errlen;
} parse_ctx;

static void fail(parse_ctx *c, int line, const char *fmt, ...)
{
    if (c->failed)
        return;
    c->failed = true;
    c->rd.stop = true;
    int n = snprintf(c->err, c->errlen, "%s:%d: ", c->p->path, line);
    if (n >= 0 && (size_t)n < c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    tf_text_escape_inplace(c->err, c->errlen); /* values from the file may hold ESC etc. */
}

/* Accepts decimal or 0x-hex, digits only (no sign, no spaces, no suffix). */
/* 64 hex digits (either case) -> out, lower case; false (out untouched) otherwise. */
static bool sha256_hex_parse(const char *v, char out[65])
{
    bool ok = strlen(v) == 64;
    for (size_t i = 0; ok && i < 64; i++)
        ok = isxdigit((unsigned char)v[i]);
    if (!ok)
        return false;
    for (size_t i = 0; i < 64; i++)
        out[i] = (char)tolower((unsigned char)v[i]);
    out[64] = '\0';
    return true;
}

static bool parse_u32(const char *s, uint32_t *out)
{
    int base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (!*s)
        return false;
    uint64_t v = 0;
    for (; *s; s++) {
        int d;
        if (isdigit((unsigned char)*s))
            d = *s - '0';
        else if (base == 16 && isxdigit((unsigned char)*s))
            d = tolower((unsigned char)*s) - 'a' + 10;
        else
            return false;
        v = v * (uint64_t)base + (uint64_t)d;
        if (v > UINT32_MAX)
            return false;
    }
    *out = (uint32_t)v;
    return true;
}

static bool parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = { "yes", "true", "on", "1" };
    static const char *const no[] = { "no", "false", "off", "0" };
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

static const char *chip_choices(void)
{
    return "bk7231t or bk7231n";
}

/* A number in its key's range (the schema's lo..hi). */
static void set_int(parse_ctx *c, enum key_id k, const char *v, int *out)
{
    uint32_t n;
    const tf_key *key = &keys[k];
    if (!parse_u32(v, &n) || n < (uint32_t)key->lo || n > (uint32_t)key->hi)
        fail(c, c->rd.line, "bad number \"%s\" for %s (expected %ld..%ld)", v, key->name,
             key->lo, key->hi);
    else
        *out = (int)n;
}

static void set_baud(parse_ctx *c, const char *key, const char *tok, uint32_t *out)
{
    uint32_t b;
    if (!parse_u32(tok, &b)) {
        fail(c, c->rd.line, "bad number \"%s\" for %s", tok, key);
        return;
    }
    if (!tf_profile_baud_supported(b)) {
        fail(c, c->rd.line, "%s %" PRIu32 " is not a supported rate (115200, 230400, 460800, "
             "921600, 1500000, 2000000)", key, b);
        return;
    }
    *out = b;
}

static void set_fallbacks(parse_ctx *c, const char *v)
{
    c->n_fallbacks = 0;
    if (!*v || strcasecmp(v, "none") == 0)
        return;
    char buf[256];
    if (strlen(v) >= sizeof buf) {
        fail(c, c->rd.line, "baud_fallback list too long");
        return;
    }
    strcpy(buf, v);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
        if (c->n_fallbacks >= BK_MAX_BAUDS - 1) {
            fail(c, c->rd.line, "baud_fallback lists more than %d rates", BK_MAX_BAUDS - 1);
            return;
        }
        set_baud(c, "baud_fallback", tok, &c->fallbacks[c->n_fallbacks]);
        if (c->failed)
            return;
        c->n_fallbacks++;
    }
}

/* Applies one key's value to section `s` (variant `s` of the profile). */
static bool resolve_image(const char *profile_path, const char *key, char *out, size_t outlen);

static void apply_key(parse_ctx *c, int s, enum key_id k, const char *v)
{
    tf_profile *p = c->p;
    tf_profile_variant *var = &p->variants[s];
    bool b;
    switch (k) {
    case K_NAME: {
        size_t n = strlen(v);
        bool ok = n > 0 && n < sizeof p->name;
        for (size_t i = 0; ok && i < n; i++)
            ok = islower((unsigned char)v[i]) || isdigit((unsigned char)v[i]) || v[i] == '.' ||
                 v[i] == '_' || v[i] == '-';
        if (!ok)
            fail(c, c->rd.line, "bad name \"%s\": use 1..%zu characters of a-z 0-9 . _ -", v,
                 sizeof p->name - 1);
        else
            memcpy(p->name, v, n + 1);
        break;
    }
    case K_PRODUCT: {
        size_t n = strlen(v);
        bool ok = n > 0 && n < sizeof p->product;
        for (size_t i = 0; ok && i < n; i++)
            ok = !iscntrl((unsigned char)v[i]);
        if (!ok)
            fail(c, c->rd.line, "bad product \"%s\": 1..%zu printable characters", v,
                 sizeof p->product - 1);
        else
            memcpy(p->product, v, n + 1);
        break;
    }
    case K_CHIP: {
        const bk_family *f = bk_family_by_id(v);
        if (!f)
            fail(c, c->rd.line, "unknown chip \"%s\" (expected %s)", v, chip_choices());
        else if (s > 0 && f->chip != var->chip)
            fail(c, c->rd.line, "chip %s disagrees with the section [%s]", f->id, c->sec[s].title);
        else
            var->chip = f->chip;
        break;
    }
    case K_BAUD:
        set_baud(c, "baud", v, &c->baud);
        break;
    case K_BAUD_FALLBACK:
        set_fallbacks(c, v);
        break;
    case K_IMAGE:
        if (!*v)
            fail(c, c->rd.line, "empty image path");
        else if (strlen(v) >= sizeof c->sec[s].image_key)
            fail(c, c->rd.line, "image path too long");
        else
            strcpy(c->sec[s].image_key, v);
        break;
    case K_OFFSET:
        if (!parse_u32(v, &var->offset))
            fail(c, c->rd.line, "bad number \"%s\" for offset (expected decimal or 0x hex)", v);
        break;
    case K_SHA256:
        if (!sha256_hex_parse(v, var->sha256_pin))
            fail(c, c->rd.line, "bad sha256 \"%s\": expected 64 hex digits", v);
        break;
    case K_ERASE:
        if (strcasecmp(v, "auto") == 0)
            p->erase_mode = BK_ERASE_AUTO;
        else if (strcasecmp(v, "4k") == 0)
            p->erase_mode = BK_ERASE_4K;
        else
            fail(c, c->rd.line, "bad erase mode \"%s\" (expected auto or 4k)", v);
        break;
    case K_ALLOW_BOOTLOADER:
    case K_SKIP_UNCHANGED:
    case K_QIO:
        if (!parse_bool(v, &b)) {
            fail(c, c->rd.line, "bad boolean \"%s\" for %s (expected yes or no)", v, keys[k].name);
            break;
        }
        if (k == K_ALLOW_BOOTLOADER)
            p->allow_bootloader = b;
        else if (k == K_SKIP_UNCHANGED)
            p->skip_unchanged = b;
        else
            var->qio = b;
        break;
    case K_BACKUP:
        if (!bk_backup_mode_parse(v, &p->backup))
            fail(c, c->rd.line, "bad backup mode \"%s\" (expected none, device or full)", v);
        break;
    case K_LINK_TIMEOUT_MS:
        set_int(c, k, v, &p->link_timeout_ms);
        break;
    case K_WRITE_RETRIES:
        set_int(c, k, v, &p->write_retries);
        break;
    case K_P_KIND:
        if (strcmp(v, "openbeken"))
            fail(c, c->rd.line, "kind \"%s\": the one kind is openbeken", v);
        break;
    case K_P_BASE:
        if (!v[0] || !resolve_image(p->path, v, p->personal.base_path, sizeof p->personal.base_path))
            fail(c, c->rd.line, "base \"%s\": empty or too long a path", v);
        p->personal.base_line = c->rd.line;
        break;
    case K_P_BASE_SHA256:
        if (!sha256_hex_parse(v, p->personal.base_sha256_pin))
            fail(c, c->rd.line, "bad base_sha256 \"%s\": expected 64 hex digits", v);
        p->personal.base_sha256_line = c->rd.line;
        break;
    case K_P_SECRETS: {
        const char *cred = "credential:";
        bool ok = v[0] != '\0';
        if (!strncmp(v, cred, strlen(cred))) {
            const char *nm = v + strlen(cred);
            ok = nm[0] && nm[0] != '.' && !strchr(nm, '/') && strlen(nm) < 256;
            if (ok)
                snprintf(p->personal.secrets, sizeof p->personal.secrets, "%s", v);
        } else if (ok) {
            ok = resolve_image(p->path, v, p->personal.secrets, sizeof p->personal.secrets);
        }
        if (!ok)
            fail(c, c->rd.line, "secrets \"%s\": a path, or credential:NAME (a plain file name)", v);
        p->personal.secrets_line = c->rd.line;
        break;
    }
    case K_P_LEDGER: {
        char why[300];
        if (!tf_personal_set_columns(&p->personal, v, why, sizeof why))
            fail(c, c->rd.line, "%s", why);
        p->personal.ledger_line = c->rd.line;
        break;
    }
    case K_P_CRC:
        if (!strcmp(v, "signed"))
            p->personal.crc = OBK_CRC_SIGNED_CHAR;
        else if (!strcmp(v, "unsigned"))
            p->personal.crc = OBK_CRC_UNSIGNED_CHAR;
        else
            fail(c, c->rd.line, "crc \"%s\": expected signed or unsigned", v);
        break;
    case K_APP_REBOOT:
        if (!strcasecmp(v, "none"))
            p->app_reboot = 0;
        else if (!strcasecmp(v, "text"))
            p->app_reboot = BK_APP_REBOOT_TEXT;
        else if (!strcasecmp(v, "frame"))
            p->app_reboot = BK_APP_REBOOT_FRAME;
        else if (!strcasecmp(v, "both"))
            p->app_reboot = BK_APP_REBOOT_TEXT | BK_APP_REBOOT_FRAME;
        else
            fail(c, c->rd.line, "bad app_reboot \"%s\" (expected none, text, frame or both)", v);
        break;
    case K_APP_BAUD: {
        int baud = 0;
        set_int(c, k, v, &baud);
        p->app_baud = (uint32_t)baud;
        break;
    }
    case K_COUNT:
        break;
    }
}

static int on_key(void *user, const char *section_name, const char *name, const char *value)
{
    (void)section_name; /* the reader tracks sections itself, with their lines */
    parse_ctx *c = user;
    if (c->failed)
        return 1;
    if (c->cur < 0) {
        fail(c, c->rd.line, "key \"%s\" outside a section (start with [profile])", name);
        return 0;
    }
    section *s = &c->sec[c->cur];
    unsigned here = c->cur == 0 ? IN_PROFILE : c->cur == SEC_PERSONALIZE ? IN_PERSONALIZE : IN_VARIANT;
    int k = tf_schema_find(&tf_profile_schema, here, name);
    if (k < 0)
        k = tf_schema_find(&tf_profile_schema, 0, name);
    if (c->rd.indented && k >= 0 && k == c->last_key) {
        fail(c, c->rd.line, "indented line continues key \"%s\": values must fit on one line",
             name);
        return 0;
    }
    if (here == IN_PERSONALIZE && (k < 0 || !(keys[k].sections & here))) {
        /* a field of the per-device sector: a literal or a template (personal.h) */
        char why[600];
        c->last_key = -1;
        if (!tf_text_is_printable(value))
            fail(c, c->rd.line, "%s \"%s\" holds a control character or bytes that are not "
                 "UTF-8", name, value);
        else if (!tf_personal_add_field(&c->p->personal, name, value, c->rd.line, why, sizeof why))
            fail(c, c->rd.line, "%s", why);
        return c->failed ? 0 : 1;
    }
    if (k < 0 || !(keys[k].sections & here)) {
        fail(c, c->rd.line, "unknown key \"%s\" in [%s]%s", name, s->title,
             k >= 0 ? " (it belongs in [profile])" : "");
        return 0;
    }
    int first = tf_schema_note_key(&tf_profile_schema, s->key_line, k, c->rd.line);
    if (first) {
        fail(c, c->rd.line, "duplicate key \"%s\" (first at line %d)", name, first);
        return 0;
    }
    c->last_key = k;
    if (!tf_text_is_printable(value)) { /* it would reach terminals and the database as is */
        fail(c, c->rd.line, "%s \"%s\" holds a control character or bytes that are not UTF-8",
             name, value);
        return 0;
    }
    apply_key(c, c->cur, (enum key_id)k, value);
    return c->failed ? 0 : 1;
}

/* A section header line (after leading blanks): [profile] or [variant <chip>]. */
static void on_section(parse_ctx *c, const char *hdr, size_t n)
{
    const char *end = memchr(hdr, ']', n);
    if (!end) {
        fail(c, c->rd.line, "section header without ']'");
        return;
    }
    const char *a = hdr + 1, *b = end;
    while (a < b && isspace((unsigned char)*a))
        a++;
    while (b > a && isspace((unsigned char)b[-1]))
        b--;
    char title[80];
    size_t tn = (size_t)(b - a);
    if (tn >= sizeof title)
        tn = sizeof title - 1;
    memcpy(title, a, tn);
    title[tn] = '\0';
    c->last_key = -1;

    int idx;
    bk_chip chip = BK_CHIP_UNKNOWN;
    if (strcmp(title, "profile") == 0) {
        idx = 0;
    } else if (strcmp(title, "personalize") == 0) {
        idx = SEC_PERSONALIZE;
        c->p->personal.enabled = true;
        c->p->personal.line = c->rd.line;
    } else if (strncmp(title, "variant", 7) == 0 && isspace((unsigned char)title[7])) {
        const char *id = title + 7;
        while (isspace((unsigned char)*id))
            id++;
        const bk_family *f = bk_family_by_id(id);
        if (!f) {
            fail(c, c->rd.line, "unknown chip \"%s\" in section [%s] (expected %s)", id, title,
                 chip_choices());
            return;
        }
        chip = f->chip;
        for (int i = 1; i < N_SECTIONS; i++)
            if (c->sec[i].present && c->p->variants[i].chip == chip) {
                fail(c, c->rd.line, "duplicate section [%s] (first at line %d)", title,
                     c->sec[i].line);
                return;
            }
        if (c->n_variant_sections + 1 >= N_SECTIONS) {
            fail(c, c->rd.line, "too many [variant] sections (a profile holds %d chip variants)",
                 BK_MAX_VARIANTS);
            return;
        }
        idx = ++c->n_variant_sections;
    } else {
        fail(c, c->rd.line, "unknown section [%s] (expected [profile], [variant <chip>] or "
             "[personalize])", title);
        return;
    }
    section *s = &c->sec[idx];
    if (s->present) {
        fail(c, c->rd.line, "duplicate section [%s] (first at line %d)", title, s->line);
        return;
    }
    s->present = true;
    s->line = c->rd.line;
    memcpy(s->title, title, tn + 1);
    if (idx < N_SECTIONS) {
        c->p->variants[idx].chip = chip;
        c->p->variants[idx].line = c->rd.line;
    }
    c->cur = idx;
}

static bool on_header(void *user, const char *hdr, int line)
{
    (void)line; /* the reader's line, c->rd.line, is this one */
    parse_ctx *c = user;
    on_section(c, hdr, strlen(hdr));
    return !c->failed;
}

static int read_text(const char *path, tf_profile *p, char *err, size_t errlen)
{
    if (tf_file_read_text(path, PROFILE_TEXT_MAX, &p->text, &p->text_len, err, errlen) != 0)
        return -1;
    bk_sha256_hex((const uint8_t *)p->text, p->text_len, p->text_sha256);
    return 0;
}

/* The first required key (schema flags) section `sec` of kind `kind` lacks, or -1. */
static int missing_key(const section *sec, unsigned kind);

/* [personalize]: its required keys, the base (read, and checked as OpenBeken's loader would),
 * then the templates (personal.c: every error names its line). */
static void check_personalize(parse_ctx *c)
{
    tf_personal *pp = &c->p->personal;
    const section *sec = &c->sec[SEC_PERSONALIZE];
    int k = missing_key(sec, IN_PERSONALIZE);
    if (k >= 0) {
        fail(c, sec->line, "missing required key \"%s\" in [personalize]", keys[k].name);
        return;
    }
    snprintf(pp->profile_path, sizeof pp->profile_path, "%s", c->p->path);
    char *buf = NULL, why[600];
    size_t len = 0;
    if (tf_file_read(pp->base_path, PERSONAL_BASE_MAX, &buf, &len, why, sizeof why) != 0) {
        fail(c, pp->base_line, "base: %s", why);
        return;
    }
    bk_sha256_hex((const uint8_t *)buf, len, pp->base_sha256);
    /* A pinned base that changed would change every module's config: refused here, at load,
     * before any module is touched (the station loads a profile before its first job). */
    if (pp->base_sha256_line && strcmp(pp->base_sha256, pp->base_sha256_pin) != 0) {
        free(buf);
        fail(c, pp->base_sha256_line, "base_sha256 mismatch for base \"%s\": the file has %s, the "
             "profile pins %s", pp->base_path, pp->base_sha256, pp->base_sha256_pin);
        return;
    }
    bool ok = obk_config_check((const uint8_t *)buf, len, pp->crc, why, sizeof why);
    if (ok)
        memcpy(pp->base, buf, OBK_CFG_SIZE);
    free(buf);
    if (!ok) {
        fail(c, pp->base_line, "base \"%s\": %s", pp->base_path, why);
        return;
    }
    int line = sec->line;
    if (!tf_personal_check(pp, &line, why, sizeof why))
        fail(c, line, "%s", why);
}

static int missing_key(const section *sec, unsigned kind)
{
    unsigned need = TF_KEY_REQUIRED | (kind == IN_PROFILE ? TF_KEY_REQUIRED_MAIN : 0);
    for (int k = 0; k < K_COUNT; k++)
        if ((keys[k].sections & kind) && (keys[k].flags & need) && !sec->key_line[k])
            return k;
    return -1;
}

/* Everything that needs the whole file: required keys, the baud ladder, duplicate chips. */
static void check_whole(parse_ctx *c)
{
    tf_profile *p = c->p;
    if (!c->sec[0].present) {
        fail(c, 1, "no [profile] section");
        return;
    }
    int k = missing_key(&c->sec[0], IN_PROFILE);
    if (k >= 0) {
        fail(c, c->sec[0].line, "missing required key \"%s\" in [profile]", keys[k].name);
        return;
    }
    for (int s = 1; s <= c->n_variant_sections; s++)
        if ((k = missing_key(&c->sec[s], IN_VARIANT)) >= 0) {
            fail(c, c->sec[s].line, "missing required key \"%s\" in [%s]", keys[k].name,
                 c->sec[s].title);
            return;
        }
    for (int s = 1; s <= c->n_variant_sections; s++)
        if (p->variants[s].chip == p->variants[0].chip) {
            fail(c, c->sec[s].line, "section [%s] repeats the chip of [profile]",
                 c->sec[s].title);
            return;
        }
    p->n_variants = 1 + c->n_variant_sections;
    if (c->sec[SEC_PERSONALIZE].present) {
        check_personalize(c);
        if (c->failed)
            return;
    }
    if (!p->product[0])
        memcpy(p->product, p->name, sizeof p->name); /* name is shorter than product */

    /* Baud ladder: the working rate, then strictly lower fall-backs. */
    p->n_bauds = 0;
    p->bauds[p->n_bauds++] = c->baud;
    if (c->sec[0].key_line[K_BAUD_FALLBACK]) {
        for (int i = 0; i < c->n_fallbacks; i++) {
            if (c->fallbacks[i] >= p->bauds[p->n_bauds - 1]) {
                fail(c, c->sec[0].key_line[K_BAUD_FALLBACK], "baud_fallback %" PRIu32
                     " is not below %" PRIu32 ": list rates from high to low, under baud",
                     c->fallbacks[i], p->bauds[p->n_bauds - 1]);
                return;
            }
            p->bauds[p->n_bauds++] = c->fallbacks[i];
        }
    } else {
        for (size_t i = 0; i < sizeof default_fallbacks / sizeof default_fallbacks[0]; i++)
            if (default_fallbacks[i] < c->baud)
                p->bauds[p->n_bauds++] = default_fallbacks[i];
    }
}

/* Joins the profile's folder and the image key (absolute keys are kept). */
static bool resolve_image(const char *profile_path, const char *key, char *out, size_t outlen)
{
    const char *slash = strrchr(profile_path, '/');
    size_t dir_len = key[0] == '/' || !slash ? 0 : (size_t)(slash - profile_path) + 1;
    size_t key_len = strlen(key);
    if (dir_len + key_len >= outlen)
        return false;
    memcpy(out, profile_path, dir_len);
    memcpy(out + dir_len, key, key_len + 1);
    return true;
}

static void load_variant_image(parse_ctx *c, int s)
{
    tf_profile *p = c->p;
    tf_profile_variant *v = &p->variants[s];
    const section *sec = &c->sec[s];
    int image_line = sec->key_line[K_IMAGE];
    if (!resolve_image(p->path, sec->image_key, v->image_path, sizeof v->image_path)) {
        fail(c, image_line, "image path \"%s\" too long", sec->image_key);
        return;
    }
    /* The engine's loader opens first: a FIFO or a device here would block it forever. */
    char ferr[1024];
    int open_errno;
    int fd = tf_file_open_regular(v->image_path, &open_errno, ferr, sizeof ferr);
    if (fd < 0 && open_errno == ENOENT) {
        fail(c, image_line, "image \"%s\" not found (looked for %s): %s", sec->image_key,
             v->image_path, strerror(open_errno));
        return;
    }
    if (fd < 0) {
        fail(c, image_line, "image refused: %s", ferr);
        return;
    }
    close(fd);
    const bk_family *fam = bk_family_get(v->chip);
    bool offset_given = sec->key_line[K_OFFSET] != 0;
    /* Placement mistakes of the offset key are reported at its own line. */
    if (offset_given && !v->qio && v->offset % 4096u != 0) {
        fail(c, sec->key_line[K_OFFSET], "offset 0x%" PRIX32 " is not 4 KiB aligned",
             v->offset);
        return;
    }
    if (offset_given && !v->qio && v->offset < fam->protected_end && !p->allow_bootloader) {
        fail(c, sec->key_line[K_OFFSET], "offset 0x%" PRIX32 " is inside the %s bootloader "
             "area (below 0x%" PRIX32 "); set allow_bootloader = yes if that is meant",
             v->offset, fam->name, fam->protected_end);
        return;
    }
    char lerr[512];
    int rc;
    if (v->qio)
        rc = bk_image_load_qio(v->image_path, v->chip, p->allow_bootloader, &v->image, lerr,
                               sizeof lerr);
    else
        rc = bk_image_load(v->image_path, v->chip, offset_given ? v->offset : fam->protected_end,
                           p->allow_bootloader, &v->image, lerr, sizeof lerr);
    if (rc != 0) {
        fail(c, image_line, "image refused: %s", lerr);
        return;
    }
    if (strcmp(v->image.sha256, v->sha256_pin) != 0) {
        fail(c, sec->key_line[K_SHA256], "sha256 mismatch for image \"%s\": the file has %s, "
             "the profile pins %s", sec->image_key, v->image.sha256, v->sha256_pin);
        return;
    }
    if (!offset_given && !v->qio && v->image.kind == BK_IMAGE_BIN) {
        fail(c, sec->line, "missing required key \"offset\" in [%s] (a raw .bin has no "
             "address of its own)", sec->title);
        return;
    }
    if (offset_given && v->offset != v->image.offset) {
        fail(c, sec->key_line[K_OFFSET], "offset 0x%" PRIX32 " differs from where the image "
             "goes, 0x%" PRIX32 " (%s)", v->offset, v->image.offset,
             v->qio ? "a QIO image is placed after the bootloader" : "the UF2's own address");
        return;
    }
    v->offset = v->image.offset;
}

/* Whether some line of the text is a [profile] header: a file without one is some other
 * INI file (a station file beside the profiles), not a broken profile. */
static bool has_profile_header(const char *text, size_t len)
{
    for (size_t i = 0; i < len;) {
        while (i < len && (text[i] == ' ' || text[i] == '\t'))
            i++;
        if (i < len && text[i] == '[') {
            size_t a = i + 1;
            while (a < len && (text[a] == ' ' || text[a] == '\t'))
                a++;
            if (len - a >= 7 && !memcmp(text + a, "profile", 7)) {
                size_t b = a + 7;
                while (b < len && (text[b] == ' ' || text[b] == '\t'))
                    b++;
                if (b < len && text[b] == ']')
                    return true;
            }
        }
        const char *nl = memchr(text + i, '\n', len - i);
        i = nl ? (size_t)(nl - text) + 1 : len;
    }
    return false;
}

/* After a refusal: is the file no profile at all (not a regular file, no [profile])? */
static bool not_a_profile(const char *path, const tf_profile *p)
{
    struct stat st;
    if (!p->text)
        return stat(path, &st) == 0 && !S_ISREG(st.st_mode); /* stat does not open: no block */
    return !has_profile_header(p->text, p->text_len);
}

int tf_profile_load(const char *path, tf_profile *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (snprintf(out->path, sizeof out->path, "%s", path) >= (int)sizeof out->path) {
        snprintf(err, errlen, "%.200s...: path too long", path);
        return -1;
    }
    if (read_text(path, out, err, errlen) != 0) {
        int rc = not_a_profile(path, out) ? TF_PROFILE_NOT_A_PROFILE : TF_PROFILE_REFUSED;
        tf_profile_free(out);
        return rc;
    }
    parse_ctx *c = calloc(1, sizeof *c); /* ~20 KiB of section state: keep it off the stack */
    if (!c) {
        snprintf(err, errlen, "%s: out of memory", path);
        tf_profile_free(out);
        return -1;
    }
    c->p = out;
    tf_ini_reader_init(&c->rd, out->text, out->text_len, on_header, c);
    c->cur = -1;
    c->last_key = -1;
    c->err = err;
    c->errlen = errlen;
    for (int k = 0; k < K_COUNT; k++) /* the schema's defaults, through the key's own parser */
        if (keys[k].def && (keys[k].sections & IN_PROFILE))
            apply_key(c, 0, (enum key_id)k, keys[k].def);

    int rc = ini_parse_stream(tf_ini_read_line, &c->rd, on_key, c);
    if (c->rd.too_long_line)
        fail(c, c->rd.too_long_line, "line is longer than %d characters", c->rd.max_len);
    else if (!c->failed && rc > 0)
        fail(c, rc, "syntax error: expected \"key = value\", a [section] or a ; comment");
    else if (!c->failed && rc < 0)
        fail(c, 1, "the INI parser failed (%d)", rc);
    if (!c->failed)
        check_whole(c);
    for (int s = 0; !c->failed && s < out->n_variants; s++)
        load_variant_image(c, s);
    bool failed = c->failed;
    free(c);
    if (failed) {
        int result = not_a_profile(path, out) ? TF_PROFILE_NOT_A_PROFILE : TF_PROFILE_REFUSED;
        tf_profile_free(out);
        return result;
    }
    return TF_PROFILE_OK;
}

void tf_profile_free(tf_profile *p)
{
    if (!p)
        return;
    for (int i = 0; i < BK_MAX_VARIANTS; i++)
        bk_image_free(&p->variants[i].image);
    free(p->text);
    p->text = NULL;
    p->text_len = 0;
    p->n_variants = 0;
}

void tf_profile_to_spec(const tf_profile *p, bk_job_spec *spec)
{
    memset(spec, 0, sizeof *spec);
    spec->product = p->product;
    for (int i = 0; i < p->n_variants && i < BK_MAX_VARIANTS; i++) {
        const tf_profile_variant *v = &p->variants[i];
        bk_variant *o = &spec->variants[i];
        o->chip = v->chip;
        o->image = v->image.data;
        o->image_len = v->image.len;
        o->offset = v->image.offset;
        o->covered = v->image.covered;
        memcpy(o->image_sha256, v->image.sha256, sizeof o->image_sha256);
    }
    spec->n_variants = p->n_variants;
    for (int i = 0; i < p->n_bauds && i < BK_MAX_BAUDS; i++)
        spec->bauds[i] = p->bauds[i];
    spec->n_bauds = p->n_bauds;
    spec->erase_mode = p->erase_mode;
    spec->allow_bootloader_write = p->allow_bootloader;
    spec->skip_unchanged = p->skip_unchanged;
    spec->link_timeout_ms = p->link_timeout_ms;
    spec->write_retries = p->write_retries;
    spec->backup = p->backup;
    spec->app_reboot = p->app_reboot;
    spec->app_baud = p->app_baud;
}
