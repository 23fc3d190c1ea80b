/* profile.c - INI profile loading and checking.
 *
 * libinih does the key = value splitting; it does not tell a handler its line number (the
 * Debian build has INI_HANDLER_LINENO off), so the profile text is fed to ini_parse_stream
 * through our own line reader, which counts lines and sees section headers first-hand. That
 * also gives "missing key" errors the line of their section header, and lets the parse stop
 * at the first error: later errors after a bad line are usually its echoes. */
#include "profile.h"
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <ini.h>

#define PROFILE_TEXT_MAX (1u << 20)
#define N_SECTIONS (BK_MAX_VARIANTS)

static const uint32_t supported_bauds[] = { 115200, 230400, 460800, 921600, 1500000, 2000000 };

bool tf_profile_baud_supported(uint32_t baud)
{
    for (size_t i = 0; i < sizeof supported_bauds / sizeof supported_bauds[0]; i++)
        if (supported_bauds[i] == baud)
            return true;
    return false;
}

enum key_id {
    K_NAME, K_PRODUCT, K_CHIP, K_BAUD, K_BAUD_FALLBACK, K_IMAGE, K_OFFSET, K_SHA256, K_ERASE,
    K_ALLOW_BOOTLOADER, K_SKIP_UNCHANGED, K_LINK_TIMEOUT_MS, K_WRITE_RETRIES, K_QIO, K_COUNT
};

enum { IN_PROFILE = 1, IN_VARIANT = 2 };

static const struct key_def {
    const char *name;
    unsigned where;
} keys[K_COUNT] = {
    [K_NAME] = { "name", IN_PROFILE },
    [K_PRODUCT] = { "product", IN_PROFILE },
    [K_CHIP] = { "chip", IN_PROFILE | IN_VARIANT },
    [K_BAUD] = { "baud", IN_PROFILE },
    [K_BAUD_FALLBACK] = { "baud_fallback", IN_PROFILE },
    [K_IMAGE] = { "image", IN_PROFILE | IN_VARIANT },
    [K_OFFSET] = { "offset", IN_PROFILE | IN_VARIANT },
    [K_SHA256] = { "sha256", IN_PROFILE | IN_VARIANT },
    [K_ERASE] = { "erase", IN_PROFILE },
    [K_ALLOW_BOOTLOADER] = { "allow_bootloader", IN_PROFILE },
    [K_SKIP_UNCHANGED] = { "skip_unchanged", IN_PROFILE },
    [K_LINK_TIMEOUT_MS] = { "link_timeout_ms", IN_PROFILE },
    [K_WRITE_RETRIES] = { "write_retries", IN_PROFILE },
    [K_QIO] = { "qio", IN_PROFILE | IN_VARIANT },
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
    const char *text;
    size_t len, pos;
    int line;
    bool line_indented;
    int cur;                 /* section index, -1 before the first header */
    int last_key;            /* key of the previous handler call, -1 if none */
    section sec[N_SECTIONS];
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
    int n = snprintf(c->err, c->errlen, "%s:%d: ", c->p->path, line);
    if (n < 0 || (size_t)n >= c->errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

/* Accepts decimal or 0x-hex, digits only (no sign, no spaces, no suffix). */
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

static void set_int(parse_ctx *c, const char *key, const char *v, uint32_t lo, uint32_t hi,
                    int *out)
{
    uint32_t n;
    if (!parse_u32(v, &n) || n < lo || n > hi)
        fail(c, c->line, "bad number \"%s\" for %s (expected %" PRIu32 "..%" PRIu32 ")", v, key,
             lo, hi);
    else
        *out = (int)n;
}

static void set_baud(parse_ctx *c, const char *key, const char *tok, uint32_t *out)
{
    uint32_t b;
    if (!parse_u32(tok, &b)) {
        fail(c, c->line, "bad number \"%s\" for %s", tok, key);
        return;
    }
    if (!tf_profile_baud_supported(b)) {
        fail(c, c->line, "%s %" PRIu32 " is not a supported rate (115200, 230400, 460800, "
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
        fail(c, c->line, "baud_fallback list too long");
        return;
    }
    strcpy(buf, v);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
        if (c->n_fallbacks >= BK_MAX_BAUDS - 1) {
            fail(c, c->line, "baud_fallback lists more than %d rates", BK_MAX_BAUDS - 1);
            return;
        }
        set_baud(c, "baud_fallback", tok, &c->fallbacks[c->n_fallbacks]);
        if (c->failed)
            return;
        c->n_fallbacks++;
    }
}

/* Applies one key's value to section `s` (variant `s` of the profile). */
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
            fail(c, c->line, "bad name \"%s\": use 1..%zu characters of a-z 0-9 . _ -", v,
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
            fail(c, c->line, "bad product \"%s\": 1..%zu printable characters", v,
                 sizeof p->product - 1);
        else
            memcpy(p->product, v, n + 1);
        break;
    }
    case K_CHIP: {
        const bk_family *f = bk_family_by_id(v);
        if (!f)
            fail(c, c->line, "unknown chip \"%s\" (expected %s)", v, chip_choices());
        else if (s > 0 && f->chip != var->chip)
            fail(c, c->line, "chip %s disagrees with the section [%s]", f->id, c->sec[s].title);
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
            fail(c, c->line, "empty image path");
        else if (strlen(v) >= sizeof c->sec[s].image_key)
            fail(c, c->line, "image path too long");
        else
            strcpy(c->sec[s].image_key, v);
        break;
    case K_OFFSET:
        if (!parse_u32(v, &var->offset))
            fail(c, c->line, "bad number \"%s\" for offset (expected decimal or 0x hex)", v);
        break;
    case K_SHA256: {
        bool ok = strlen(v) == 64;
        for (size_t i = 0; ok && i < 64; i++)
            ok = isxdigit((unsigned char)v[i]);
        if (!ok) {
            fail(c, c->line, "bad sha256 \"%s\": expected 64 hex digits", v);
            break;
        }
        for (size_t i = 0; i < 64; i++)
            var->sha256_pin[i] = (char)tolower((unsigned char)v[i]);
        var->sha256_pin[64] = '\0';
        break;
    }
    case K_ERASE:
        if (strcasecmp(v, "auto") == 0)
            p->erase_mode = BK_ERASE_AUTO;
        else if (strcasecmp(v, "4k") == 0)
            p->erase_mode = BK_ERASE_4K;
        else
            fail(c, c->line, "bad erase mode \"%s\" (expected auto or 4k)", v);
        break;
    case K_ALLOW_BOOTLOADER:
    case K_SKIP_UNCHANGED:
    case K_QIO:
        if (!parse_bool(v, &b)) {
            fail(c, c->line, "bad boolean \"%s\" for %s (expected yes or no)", v, keys[k].name);
            break;
        }
        if (k == K_ALLOW_BOOTLOADER)
            p->allow_bootloader = b;
        else if (k == K_SKIP_UNCHANGED)
            p->skip_unchanged = b;
        else
            var->qio = b;
        break;
    case K_LINK_TIMEOUT_MS:
        set_int(c, "link_timeout_ms", v, 100, 600000, &p->link_timeout_ms);
        break;
    case K_WRITE_RETRIES:
        set_int(c, "write_retries", v, 0, 10, &p->write_retries);
        break;
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
        fail(c, c->line, "key \"%s\" outside a section (start with [profile])", name);
        return 0;
    }
    section *s = &c->sec[c->cur];
    int k = -1;
    for (int i = 0; i < K_COUNT; i++)
        if (strcmp(keys[i].name, name) == 0)
            k = i;
    if (c->line_indented && k >= 0 && k == c->last_key) {
        fail(c, c->line, "indented line continues key \"%s\": values must fit on one line",
             name);
        return 0;
    }
    unsigned here = c->cur == 0 ? IN_PROFILE : IN_VARIANT;
    if (k < 0 || !(keys[k].where & here)) {
        fail(c, c->line, "unknown key \"%s\" in [%s]%s", name, s->title,
             k >= 0 ? " (it belongs in [profile])" : "");
        return 0;
    }
    if (s->key_line[k]) {
        fail(c, c->line, "duplicate key \"%s\" (first at line %d)", name, s->key_line[k]);
        return 0;
    }
    s->key_line[k] = c->line;
    c->last_key = k;
    apply_key(c, c->cur, (enum key_id)k, value);
    return c->failed ? 0 : 1;
}

/* A section header line (after leading blanks): [profile] or [variant <chip>]. */
static void on_section(parse_ctx *c, const char *hdr, size_t n)
{
    const char *end = memchr(hdr, ']', n);
    if (!end) {
        fail(c, c->line, "section header without ']'");
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
    } else if (strncmp(title, "variant", 7) == 0 && isspace((unsigned char)title[7])) {
        const char *id = title + 7;
        while (isspace((unsigned char)*id))
            id++;
        const bk_family *f = bk_family_by_id(id);
        if (!f) {
            fail(c, c->line, "unknown chip \"%s\" in section [%s] (expected %s)", id, title,
                 chip_choices());
            return;
        }
        chip = f->chip;
        for (int i = 1; i < N_SECTIONS; i++)
            if (c->sec[i].present && c->p->variants[i].chip == chip) {
                fail(c, c->line, "duplicate section [%s] (first at line %d)", title,
                     c->sec[i].line);
                return;
            }
        if (c->n_variant_sections + 1 >= N_SECTIONS) {
            fail(c, c->line, "too many [variant] sections (a profile holds %d chip variants)",
                 BK_MAX_VARIANTS);
            return;
        }
        idx = ++c->n_variant_sections;
    } else {
        fail(c, c->line, "unknown section [%s] (expected [profile] or [variant <chip>])", title);
        return;
    }
    section *s = &c->sec[idx];
    if (s->present) {
        fail(c, c->line, "duplicate section [%s] (first at line %d)", title, s->line);
        return;
    }
    s->present = true;
    s->line = c->line;
    memcpy(s->title, title, tn + 1);
    c->p->variants[idx].chip = chip;
    c->p->variants[idx].line = c->line;
    c->cur = idx;
}

/* fgets-like reader over the profile text: one line per call, so calls count lines. */
static char *read_line(char *str, int num, void *stream)
{
    parse_ctx *c = stream;
    if (c->failed || c->pos >= c->len)
        return NULL;
    const char *start = c->text + c->pos;
    const char *nl = memchr(start, '\n', c->len - c->pos);
    size_t n = nl ? (size_t)(nl - start) + 1 : c->len - c->pos;
    c->line++;
    c->pos += n;
    if (num < 4)
        return NULL;
    if (n > (size_t)num - 1) {
        /* libinih's line buffer is fixed (200 bytes in Debian's build). A long comment is
         * harmless and is cut; a long setting would be cut silently by inih, so refuse it. */
        const char *t = start;
        while (t < start + n && (*t == ' ' || *t == '\t'))
            t++;
        if (t < start + n && (*t == ';' || *t == '#')) {
            memcpy(str, start, (size_t)num - 2);
            str[num - 2] = '\n';
            str[num - 1] = '\0';
            c->line_indented = false;
            return str;
        }
        fail(c, c->line, "line is longer than %d characters", num - 3);
        return NULL;
    }
    memcpy(str, start, n);
    str[n] = '\0';

    const char *s = str;
    if (c->line == 1 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB &&
        (unsigned char)s[2] == 0xBF)
        s += 3;
    c->line_indented = *s == ' ' || *s == '\t';
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s == '[')
        on_section(c, s, strlen(s));
    return str;
}

static int read_text(const char *path, tf_profile *p, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        fclose(f);
        return -1;
    }
    if ((uint64_t)st.st_size > PROFILE_TEXT_MAX) {
        snprintf(err, errlen, "%s: %" PRIu64 " bytes is too large for a profile", path,
                 (uint64_t)st.st_size);
        fclose(f);
        return -1;
    }
    size_t n = (size_t)st.st_size;
    p->text = malloc(n + 1);
    if (!p->text) {
        snprintf(err, errlen, "%s: out of memory", path);
        fclose(f);
        return -1;
    }
    size_t got = fread(p->text, 1, n, f);
    fclose(f);
    if (got != n) {
        snprintf(err, errlen, "%s: read %zu of %zu bytes", path, got, n);
        return -1;
    }
    p->text[n] = '\0';
    p->text_len = n;
    const char *nul = memchr(p->text, '\0', n);
    if (nul) {
        int line = 1;
        for (const char *q = p->text; q < nul; q++)
            line += *q == '\n';
        snprintf(err, errlen, "%s:%d: NUL byte at byte %zu: not a text file", path, line,
                 (size_t)(nul - p->text));
        return -1;
    }
    bk_sha256_hex((const uint8_t *)p->text, n, p->text_sha256);
    return 0;
}

static const enum key_id required_profile_ids[] = { K_NAME, K_CHIP, K_IMAGE, K_SHA256 };
static const enum key_id required_variant_ids[] = { K_IMAGE, K_SHA256 };

/* Everything that needs the whole file: required keys, the baud ladder, duplicate chips. */
static void check_whole(parse_ctx *c)
{
    tf_profile *p = c->p;
    if (!c->sec[0].present) {
        fail(c, 1, "no [profile] section");
        return;
    }
    for (size_t i = 0; i < sizeof required_profile_ids / sizeof required_profile_ids[0]; i++)
        if (!c->sec[0].key_line[required_profile_ids[i]]) {
            fail(c, c->sec[0].line, "missing required key \"%s\" in [profile]",
                 keys[required_profile_ids[i]].name);
            return;
        }
    for (int s = 1; s <= c->n_variant_sections; s++)
        for (size_t i = 0; i < sizeof required_variant_ids / sizeof required_variant_ids[0]; i++)
            if (!c->sec[s].key_line[required_variant_ids[i]]) {
                fail(c, c->sec[s].line, "missing required key \"%s\" in [%s]",
                     keys[required_variant_ids[i]].name, c->sec[s].title);
                return;
            }
    for (int s = 1; s <= c->n_variant_sections; s++)
        if (p->variants[s].chip == p->variants[0].chip) {
            fail(c, c->sec[s].line, "section [%s] repeats the chip of [profile]",
                 c->sec[s].title);
            return;
        }
    p->n_variants = 1 + c->n_variant_sections;
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
        static const uint32_t def[] = { 460800, 115200 };
        for (size_t i = 0; i < 2; i++)
            if (def[i] < c->baud)
                p->bauds[p->n_bauds++] = def[i];
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
    struct stat st;
    if (stat(v->image_path, &st) != 0) {
        fail(c, image_line, "image \"%s\" not found (looked for %s): %s", sec->image_key,
             v->image_path, strerror(errno));
        return;
    }
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

int tf_profile_load(const char *path, tf_profile *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (snprintf(out->path, sizeof out->path, "%s", path) >= (int)sizeof out->path) {
        snprintf(err, errlen, "%.200s...: path too long", path);
        return -1;
    }
    if (read_text(path, out, err, errlen) != 0) {
        tf_profile_free(out);
        return -1;
    }
    out->erase_mode = BK_ERASE_AUTO;
    out->skip_unchanged = true;
    out->link_timeout_ms = 10000;
    out->write_retries = 2;

    parse_ctx *c = calloc(1, sizeof *c); /* ~20 KiB of section state: keep it off the stack */
    if (!c) {
        snprintf(err, errlen, "%s: out of memory", path);
        tf_profile_free(out);
        return -1;
    }
    c->p = out;
    c->text = out->text;
    c->len = out->text_len;
    c->cur = -1;
    c->last_key = -1;
    c->baud = 921600;
    c->err = err;
    c->errlen = errlen;

    int rc = ini_parse_stream(read_line, c, on_key, c);
    if (!c->failed && rc > 0)
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
        tf_profile_free(out);
        return -1;
    }
    return 0;
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
}
