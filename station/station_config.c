/* station_config.c - parse the station INI; see station_config.h.
 *
 * The text is read whole (tf_file_read_text: a FIFO, a device or a folder is refused before
 * any read) and fed to libinih one whole line at a time (tf_ini.h), so a long line is never
 * cut into a second "line" and every error names the file's own line. Strict as profiles
 * are: a key given twice in a section, a section given twice, a value continued on an
 * indented line are errors, since the first or the last winning would depend on the order. */
#include "station_config.h"
#include "auth.h"
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tf_file.h"
#include "tf_ini.h"
#include "tf_keys.h"
#include "tf_text.h"

enum { SEC_STATION = 1, SEC_ADAPTERS = 2, SEC_BAY = 4, SEC_BAYS = 8 };

enum station_key {
    SK_NAME, SK_DB, SK_PROFILE, SK_PIN_HASH, SK_POOL_SIZE, SK_POLL_INTERVAL_MS, SK_START_MODE,
    SK_BACKUP_CAP_MB,
    SK_LINE, SK_REQUIRE_LOT, SK_ON_ALREADY_PASSED, SK_ASK_TIMEOUT_S,
    SK_ALLOW, SK_BAY_PATH, SK_BAY_NAME, SK_BAY_PROFILE, SK_RANGE_PROFILE, SK_RESET, SK_BAY_RESET,
    SK_POWER_OFF_MS, SK_BAY_POWER, SK_CENTRAL, SK_CENTRAL_PASSFILE, SK_COUNT
};

/* The station file's schema: one row per key and section kind. on_key looks keys up here
 * (unknown, duplicate, range), station_config_defaults starts from its defaults, and tests
 * compare it with the man page and example-station.ini. */
static const tf_key keys[SK_COUNT] = {
    [SK_NAME] = { "name", SEC_STATION, TF_KEY_TEXT, 0, 0, NULL, "station", NULL,
                  "The station's name, on the dashboard and in every record.", 0, NULL },
    [SK_DB] = { "db", SEC_STATION, TF_KEY_PATH, 0, 0, NULL, NULL, "trayflash.db",
                "The SQLite database (--db overrides it).", 0, NULL },
    [SK_PROFILE] = { "profile", SEC_STATION, TF_KEY_PATH, 0, 0, NULL, NULL, NULL,
                     "The default profile of every bay (--profile overrides it).", 0, NULL },
    [SK_PIN_HASH] = { "engineer_pin_hash", SEC_STATION, TF_KEY_TEXT, 0, 0, NULL, NULL,
                      "engineer mode off", "crypt(3) hash of the engineer PIN (trayflash "
                      "pin-hash prints one).", 0, NULL },
    [SK_POOL_SIZE] = { "pool_size", SEC_STATION, TF_KEY_INT, 1, 256, NULL, "32", NULL,
                       "Worker threads: modules flashed at once.", 0, NULL },
    [SK_POLL_INTERVAL_MS] = { "poll_interval_ms", SEC_STATION, TF_KEY_INT, 100, 600000, NULL,
                              "2000", NULL, "poll mode: how often an idle bay is probed.", 0,
                              NULL },
    [SK_START_MODE] = { "start_mode", SEC_STATION, TF_KEY_CHOICE, 0, 0, "on_plug|poll",
                        "on_plug", NULL, "on_plug: flash when an adapter appears; poll: fixed "
                        "adapters, modules swapped in the sockets.", 0, NULL },
    [SK_BACKUP_CAP_MB] = { "backup_cap_mb", SEC_STATION, TF_KEY_INT, 0, 10000000, NULL, "0",
                           NULL, "the backup store's size cap in MiB (0: none): a warning at 90%, "
                           "backups refused at the cap.", 0, NULL },
    [SK_LINE] = { "line", SEC_STATION, TF_KEY_TEXT, 0, 0, NULL, NULL, "none",
                  "The production line the station stands on, in every record.", 0, NULL },
    [SK_REQUIRE_LOT] = { "require_lot", SEC_STATION, TF_KEY_CHOICE, 0, 0, "no|yes", "no", NULL,
                         "yes: no module is flashed until a lot and an operator are given.", 0,
                         NULL },
    [SK_ON_ALREADY_PASSED] = { "on_already_passed", SEC_STATION, TF_KEY_CHOICE, 0, 0,
                               "reflash|skip|ask", "reflash", NULL,
                               "A module whose MAC already passed this product: flash it again, "
                               "leave it (recorded as skipped), or ask the operator (the "
                               "dashboard's y/n, trayflash ctl --answer).", 0, NULL },
    [SK_ASK_TIMEOUT_S] = { "ask_timeout_s", SEC_STATION, TF_KEY_INT, 1, 86400, NULL, "120", NULL,
                           "on_already_passed = ask: seconds a bay waits for an answer before "
                           "it skips the module.", 0, NULL },
    [SK_ALLOW] = { "allow", SEC_ADAPTERS, TF_KEY_LIST, 0, 0, NULL,
                   "1a86:7523, 10c4:ea60, 0403:6001, 0403:6015, 067b:2303", NULL,
                   "The adapters accepted, vid:pid, comma separated; lines add up.",
                   TF_KEY_REPEATS, NULL },
    [SK_BAY_PATH] = { "path", SEC_BAY, TF_KEY_TEXT, 0, 0, NULL, NULL, "by number only",
                      "The adapter's USB port (udev ID_PATH).", 0, NULL },
    [SK_BAY_NAME] = { "name", SEC_BAY, TF_KEY_TEXT, 0, 0, NULL, NULL, "the bay number, 2 digits",
                      "The bay's name on the dashboard.", 0, NULL },
    [SK_BAY_PROFILE] = { "profile", SEC_BAY, TF_KEY_PATH, 0, 0, NULL, NULL, "the station's",
                         "This bay's profile.", 0, NULL },
    [SK_RANGE_PROFILE] = { "profile", SEC_BAYS, TF_KEY_PATH, 0, 0, NULL, NULL, NULL,
                           "The profile of the bays A to B (unless a [bay N] names its own).",
                           TF_KEY_REQUIRED, NULL },
    [SK_RESET] = { "reset", SEC_STATION, TF_KEY_TEXT, 0, 0, NULL, "default", NULL,
                   "How the fixture's DTR/RTS reset a module into download mode: a preset "
                   "(default, rts-cen, dtr-cen, bk7231tools, tuya, none) or steps such as "
                   "dtr+rts-on:50ms,dtr-off:50ms,rts-off.", 0, NULL },
    [SK_BAY_RESET] = { "reset", SEC_BAY, TF_KEY_TEXT, 0, 0, NULL, NULL, "the station's",
                       "This bay's reset sequence (a fixture wired apart).", 0, NULL },
    [SK_POWER_OFF_MS] = { "power_off_ms", SEC_STATION, TF_KEY_INT, 50, 10000, NULL, "300", NULL,
                          "How long a bay's switched hub port stays off in a power-cycle.", 0,
                          NULL },
    [SK_BAY_POWER] = { "power", SEC_BAY, TF_KEY_TEXT, 0, 0, NULL, NULL, "none",
                       "The USB hub port feeding this bay's module (1-1-port3, or its sysfs "
                       "path): power-cycled to reset, off while the bay is empty.", 0, NULL },
    [SK_CENTRAL] = { "central", SEC_STATION, TF_KEY_TEXT, 0, 0, NULL, NULL, "libpq's environment",
                     "The central PostgreSQL the records are forwarded to (a URL without a "
                     "password; --central overrides it).", 0, NULL },
    [SK_CENTRAL_PASSFILE] = { "central_passfile", SEC_STATION, TF_KEY_PATH, 0, 0, NULL, NULL,
                              "the credential pgpass, else libpq's",
                              "The central database's password file (mode 0600), when no "
                              "systemd credential pgpass is given.", 0, NULL },
};

static const char *const section_names[] = { "station", "adapters", "bay N", "bays A-B" };

const tf_schema station_config_schema = {
    .what = "station file",
    .section_names = section_names,
    .n_section_kinds = 4,
    .keys = keys,
    .n_keys = SK_COUNT,
};

static const sc_usb_id default_allow[] = {
    {0x1a86, 0x7523}, {0x10c4, 0xea60}, {0x0403, 0x6001}, {0x0403, 0x6015}, {0x067b, 0x2303},
};

static int int_default(enum station_key k)
{
    return (int)strtol(keys[k].def, NULL, 10);
}

void station_config_defaults(station_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", keys[SK_NAME].def);
    c->pool_size = int_default(SK_POOL_SIZE);
    c->start_mode = SC_START_ON_PLUG;
    c->poll_interval_ms = int_default(SK_POLL_INTERVAL_MS);
    c->ask_timeout_s = int_default(SK_ASK_TIMEOUT_S);
    c->n_allow = (int)(sizeof default_allow / sizeof default_allow[0]);
    memcpy(c->allow, default_allow, sizeof default_allow);
    c->reset = *bk_reset_default();
    c->power_off_ms = int_default(SK_POWER_OFF_MS);
}


#define SC_TEXT_MAX (1u << 20)
#define SC_MAX_SECTIONS (2 + SC_MAX_BAYS + SC_MAX_RANGES)
#define SC_SECTION_NAME_MAX 49 /* libinih cuts section names past this */
typedef struct parse_ctx {
    station_config *c;
    char dir[SC_PATH_MAX];
    char err[1400];
    bool allow_seen;
    tf_ini_reader rd; /* libinih (Debian) gives handlers no line number: the reader counts */
    int section_line; /* of the last [section] header: where a bad header is reported */
    char sections[SC_MAX_SECTIONS][SC_SECTION_NAME_MAX + 16]; /* canonical, for duplicates */
    int section_lines[SC_MAX_SECTIONS];
    int n_sections;
    int key_line[SK_COUNT]; /* of the current section, by schema row: 0 = not given */
    char last_key[32];    /* of the previous handler call: an indented line continues it */
} parse_ctx;

static void resolve(const parse_ctx *p, const char *v, char *out, size_t outlen)
{
    if (v[0] == '/' || !p->dir[0])
        snprintf(out, outlen, "%s", v);
    else
        snprintf(out, outlen, "%s/%s", p->dir, v);
}

static bool parse_int(const char *v, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10); /* base 10: "010" is ten, not octal eight */
    if (errno || end == v || *end || x < lo || x > hi)
        return false;
    *out = x;
    return true;
}

/* "[bay 03]" and "[bay 3]" are one bay, "[bays 1-4]" and "[bays 01-04]" one range. */
static void canonical_section(const char *title, char *out, size_t outlen)
{
    long a, b;
    char *end;
    if (!strncmp(title, "bay ", 4) && parse_int(title + 4, 1, SC_MAX_BAYS, &a)) {
        snprintf(out, outlen, "bay %ld", a);
        return;
    }
    if (!strncmp(title, "bays ", 5)) {
        errno = 0;
        a = strtol(title + 5, &end, 10);
        if (!errno && end != title + 5 && *end == '-') {
            const char *s2 = end + 1;
            b = strtol(s2, &end, 10);
            if (!errno && end != s2 && !*end) {
                snprintf(out, outlen, "bays %ld-%ld", a, b);
                return;
            }
        }
    }
    snprintf(out, outlen, "%s", title);
}

/* Every [section] line, before inih reads it: its line, and no section twice. */
static bool on_header(void *user, const char *hdr, int line)
{
    parse_ctx *p = user;
    p->section_line = line;
    memset(p->key_line, 0, sizeof p->key_line);
    p->last_key[0] = '\0';
    const char *close = strchr(hdr, ']');
    if (!close)
        return true; /* inih refuses it as not an INI line, at this line */
    size_t n = (size_t)(close - hdr - 1);
    if (n > SC_SECTION_NAME_MAX) {
        snprintf(p->err, sizeof p->err, "%s:%d: section name longer than %d characters",
                 p->c->path, line, SC_SECTION_NAME_MAX);
        return false;
    }
    char title[SC_SECTION_NAME_MAX + 1], canon[sizeof p->sections[0]];
    memcpy(title, hdr + 1, n);
    title[n] = '\0';
    canonical_section(title, canon, sizeof canon);
    for (int i = 0; i < p->n_sections; i++)
        if (!strcmp(p->sections[i], canon)) {
            snprintf(p->err, sizeof p->err, "%s:%d: duplicate section [%s] (first at line %d)",
                     p->c->path, line, title, p->section_lines[i]);
            return false;
        }
    if (p->n_sections == SC_MAX_SECTIONS) {
        snprintf(p->err, sizeof p->err, "%s:%d: more than %d sections", p->c->path, line,
                 SC_MAX_SECTIONS);
        return false;
    }
    snprintf(p->sections[p->n_sections], sizeof p->sections[0], "%s", canon);
    p->section_lines[p->n_sections++] = line;
    return true;
}

/* A value continued on an indented line is refused: it would be read as a key of its own. */
static bool not_continued(parse_ctx *p, const char *key, int line)
{
    bool continued = p->rd.indented && !strcmp(key, p->last_key);
    snprintf(p->last_key, sizeof p->last_key, "%s", key);
    if (continued)
        snprintf(p->err, sizeof p->err, "%s:%d: indented line continues key '%s': values must "
                 "fit on one line", p->c->path, line, key);
    return !continued;
}

/* A key twice in one section is an error, except allow (TF_KEY_REPEATS: a long list may be
 * split over lines). */
static bool key_is_new(parse_ctx *p, int k, int line)
{
    int first = tf_schema_note_key(&station_config_schema, p->key_line, k, line);
    if (first)
        snprintf(p->err, sizeof p->err, "%s:%d: duplicate key '%s' (first at line %d)",
                 p->c->path, line, keys[k].name, first);
    return !first;
}

static unsigned section_kind(const char *section)
{
    if (!strcmp(section, "station"))
        return SEC_STATION;
    if (!strcmp(section, "adapters"))
        return SEC_ADAPTERS;
    if (!strncmp(section, "bays ", 5))
        return SEC_BAYS;
    if (!strncmp(section, "bay ", 4))
        return SEC_BAY;
    return 0;
}

static bool parse_allow(parse_ctx *p, const char *v, int line)
{
    station_config *c = p->c;
    if (!p->allow_seen)
        c->n_allow = 0; /* the file's list replaces the defaults */
    p->allow_seen = true;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", v);
    int n_here = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ", \t", &save); tok;
         tok = strtok_r(NULL, ", \t", &save), n_here++) {
        unsigned vid, pid;
        char extra;
        if (strlen(tok) != 9 || tok[4] != ':' ||
            sscanf(tok, "%4x:%4x%c", &vid, &pid, &extra) != 2) {
            snprintf(p->err, sizeof p->err, "%s:%d: allow: '%s' is not vid:pid (4 hex digits each)",
                     c->path, line, tok);
            return false;
        }
        if (c->n_allow == SC_MAX_ALLOW) {
            snprintf(p->err, sizeof p->err, "%s:%d: allow: more than %d adapter ids", c->path,
                     line, SC_MAX_ALLOW);
            return false;
        }
        c->allow[c->n_allow++] = (sc_usb_id){(uint16_t)vid, (uint16_t)pid};
    }
    if (!n_here) { /* an empty list would silently accept no adapter at all */
        snprintf(p->err, sizeof p->err, "%s:%d: allow: no adapter ids (vid:pid, comma separated)",
                 c->path, line);
        return false;
    }
    return true;
}

/* [bays A-B]: a range of bay numbers sharing one profile; ranges may not overlap, since
 * then which profile wins would depend on the order of the file. */
static sc_bay_range *range_for_section(parse_ctx *p, const char *section, int line)
{
    station_config *c = p->c;
    const char *spec = section + 5;
    char *end;
    errno = 0;
    long a = strtol(spec, &end, 10), b = a;
    if (end != spec && *end == '-') {
        const char *s2 = end + 1;
        b = strtol(s2, &end, 10);
        if (end == s2)
            b = -1;
    }
    if (errno || end == spec || *end || a < 1 || b < a || b > SC_MAX_BAYS) {
        snprintf(p->err, sizeof p->err, "%s:%d: [%s]: expected [bays FIRST-LAST] with "
                 "1 <= FIRST <= LAST <= %d", c->path, line, section, SC_MAX_BAYS);
        return NULL;
    }
    for (int i = 0; i < c->n_ranges; i++) {
        sc_bay_range *r = &c->ranges[i];
        if (r->first == a && r->last == b)
            return r;
        if (a <= r->last && r->first <= b) {
            snprintf(p->err, sizeof p->err, "%s:%d: [%s] overlaps [bays %d-%d] of line %d",
                     c->path, line, section, r->first, r->last, r->line);
            return NULL;
        }
    }
    if (c->n_ranges == SC_MAX_RANGES) {
        snprintf(p->err, sizeof p->err, "%s:%d: more than %d [bays] ranges", c->path, line,
                 SC_MAX_RANGES);
        return NULL;
    }
    sc_bay_range *r = &c->ranges[c->n_ranges++];
    memset(r, 0, sizeof *r);
    r->first = (int)a;
    r->last = (int)b;
    r->line = line;
    return r;
}

static sc_bay *bay_for_section(parse_ctx *p, const char *section, int line)
{
    station_config *c = p->c;
    long n;
    if (!parse_int(section + 4, 1, SC_MAX_BAYS, &n)) {
        snprintf(p->err, sizeof p->err, "%s:%d: [%s]: bay number must be 1..%d", c->path, line,
                 section, SC_MAX_BAYS);
        return NULL;
    }
    for (int i = 0; i < c->n_bays; i++)
        if (c->bays[i].bay == n)
            return &c->bays[i];
    if (c->n_bays == SC_MAX_BAYS) {
        snprintf(p->err, sizeof p->err, "%s:%d: too many bays", c->path, line);
        return NULL;
    }
    sc_bay *b = &c->bays[c->n_bays++];
    memset(b, 0, sizeof *b);
    b->bay = (int)n;
    b->line = line;
    snprintf(b->name, sizeof b->name, "%02ld", n);
    return b;
}

/* A number in its key's range (the schema's lo..hi). */
static bool set_int(parse_ctx *p, enum station_key k, const char *value, int line, int *out)
{
    long n;
    if (!parse_int(value, keys[k].lo, keys[k].hi, &n)) {
        snprintf(p->err, sizeof p->err, "%s:%d: %s '%s' must be %ld..%ld", p->c->path, line,
                 keys[k].name, value, keys[k].lo, keys[k].hi);
        return false;
    }
    *out = (int)n;
    return true;
}

/* A choice key: *out is the value's index in the key's "a|b|c" list. */
static bool set_choice(parse_ctx *p, enum station_key k, const char *value, int line, int *out)
{
    const char *list = keys[k].choices;
    size_t n = strlen(value);
    int i = 0;
    for (const char *s = list; *s; i++) {
        const char *bar = strchr(s, '|');
        size_t len = bar ? (size_t)(bar - s) : strlen(s);
        if (n && len == n && !strncmp(s, value, n)) {
            *out = i;
            return true;
        }
        s += len + (bar ? 1 : 0);
    }
    snprintf(p->err, sizeof p->err, "%s:%d: %s '%s': expected one of %s", p->c->path, line,
             keys[k].name, value, list);
    return false;
}

static bool set_pin_hash(parse_ctx *p, const char *value, int line)
{
    station_config *c = p->c;
    char why[160];
    if (!auth_hash_usable(value, why, sizeof why)) {
        snprintf(p->err, sizeof p->err, "%s:%d: engineer_pin_hash: %s", c->path, line, why);
        return false;
    }
    if (strlen(value) >= sizeof c->engineer_pin_hash) {
        snprintf(p->err, sizeof p->err, "%s:%d: engineer_pin_hash is too long", c->path, line);
        return false;
    }
    snprintf(c->engineer_pin_hash, sizeof c->engineer_pin_hash, "%s", value);
    return true;
}

/* A reset sequence (bk_reset.h), its words prefixed with file:line. */
static bool set_reset(parse_ctx *p, const char *value, int line, bk_reset_seq *out)
{
    char why[200];
    if (bk_reset_parse(value, out, why, sizeof why) < 0) {
        snprintf(p->err, sizeof p->err, "%s:%d: reset '%s': %s", p->c->path, line, value, why);
        return false;
    }
    return true;
}

/* Applies key k's value; `range` and `bay` are the section's, when it is one of those. */
static bool apply_key(parse_ctx *p, enum station_key k, const char *value, int line,
                      const char *section, sc_bay_range *range, sc_bay *bay)
{
    station_config *c = p->c;
    switch (k) {
    case SK_NAME:
        snprintf(c->name, sizeof c->name, "%s", value);
        return true;
    case SK_DB:
        resolve(p, value, c->db, sizeof c->db);
        return true;
    case SK_PROFILE:
        resolve(p, value, c->profile, sizeof c->profile);
        return true;
    case SK_PIN_HASH:
        return set_pin_hash(p, value, line);
    case SK_POOL_SIZE:
        return set_int(p, k, value, line, &c->pool_size);
    case SK_POLL_INTERVAL_MS:
        return set_int(p, k, value, line, &c->poll_interval_ms);
    case SK_BACKUP_CAP_MB:
        return set_int(p, k, value, line, &c->backup_cap_mb);
    case SK_START_MODE:
        if (!strcmp(value, "on_plug"))
            c->start_mode = SC_START_ON_PLUG;
        else if (!strcmp(value, "poll"))
            c->start_mode = SC_START_POLL;
        else {
            snprintf(p->err, sizeof p->err, "%s:%d: start_mode '%s': expected on_plug or poll",
                     c->path, line, value);
            return false;
        }
        return true;
    case SK_LINE:
        snprintf(c->line, sizeof c->line, "%s", value);
        return true;
    case SK_REQUIRE_LOT:
        return set_choice(p, k, value, line, &c->require_lot);
    case SK_ON_ALREADY_PASSED:
        return set_choice(p, k, value, line, &c->on_already_passed);
    case SK_ASK_TIMEOUT_S:
        return set_int(p, k, value, line, &c->ask_timeout_s);
    case SK_ALLOW:
        return parse_allow(p, value, line);
    case SK_RANGE_PROFILE:
        if (!value[0]) {
            snprintf(p->err, sizeof p->err, "%s:%d: [%s]: empty profile", c->path, line,
                     section);
            return false;
        }
        resolve(p, value, range->profile, sizeof range->profile);
        return true;
    case SK_BAY_PATH:
        if (station_config_bay_by_path(c, value)) {
            snprintf(p->err, sizeof p->err, "%s:%d: path '%s' is already another bay's",
                     c->path, line, value);
            return false;
        }
        snprintf(bay->id_path, sizeof bay->id_path, "%s", value);
        return true;
    case SK_BAY_NAME:
        snprintf(bay->name, sizeof bay->name, "%s", value);
        return true;
    case SK_BAY_PROFILE:
        resolve(p, value, bay->profile, sizeof bay->profile);
        return true;
    case SK_RESET:
        return set_reset(p, value, line, &c->reset);
    case SK_BAY_RESET:
        bay->has_reset = true;
        return set_reset(p, value, line, &bay->reset);
    case SK_POWER_OFF_MS:
        return set_int(p, k, value, line, &c->power_off_ms);
    case SK_BAY_POWER: {
        char why[300];
        if (hub_port_parse(value, &bay->power, why, sizeof why) < 0) {
            snprintf(p->err, sizeof p->err, "%s:%d: %s", c->path, line, why);
            return false;
        }
        for (int i = 0; i < c->n_bays; i++)
            if (&c->bays[i] != bay && c->bays[i].has_power &&
                !strcmp(c->bays[i].power.attr, bay->power.attr)) {
                snprintf(p->err, sizeof p->err, "%s:%d: power '%s' already feeds bay %d",
                         c->path, line, value, c->bays[i].bay);
                return false;
            }
        bay->has_power = true;
        return true;
    }
    case SK_CENTRAL:
        snprintf(c->central, sizeof c->central, "%s", value);
        return true;
    case SK_CENTRAL_PASSFILE:
        resolve(p, value, c->central_passfile, sizeof c->central_passfile);
        return true;
    case SK_COUNT:
        break;
    }
    return false;
}

static void unknown_key(parse_ctx *p, unsigned kind, const char *section, const char *key,
                        int line)
{
    const char *path = p->c->path;
    if (kind == SEC_BAYS)
        snprintf(p->err, sizeof p->err, "%s:%d: [%s]: unknown key '%s' (a range takes only "
                 "profile)", path, line, section, key);
    else
        snprintf(p->err, sizeof p->err, "%s:%d: [%s]: unknown key '%s'", path, line, section,
                 key);
}

static int on_key(void *user, const char *section, const char *key, const char *value)
{
    parse_ctx *p = user;
    int line = p->rd.line;
    station_config *c = p->c;
    if (p->err[0] || !not_continued(p, key, line))
        return 0;
    unsigned kind = section_kind(section);
    if (!kind) {
        snprintf(p->err, sizeof p->err, "%s:%d: unknown section [%s]", c->path, line, section);
        return 0;
    }
    sc_bay_range *range = NULL;
    sc_bay *bay = NULL;
    if (kind == SEC_BAYS && !(range = range_for_section(p, section, p->section_line)))
        return 0;
    if (kind == SEC_BAY && !(bay = bay_for_section(p, section, p->section_line)))
        return 0;
    int k = tf_schema_find(&station_config_schema, kind, key);
    if (k < 0) {
        unknown_key(p, kind, section, key, line);
        return 0;
    }
    if (!key_is_new(p, k, line))
        return 0;
    if (!tf_text_is_printable(value)) { /* names and paths reach the terminal and the db */
        snprintf(p->err, sizeof p->err, "%s:%d: %s '%s' holds a control character or bytes "
                 "that are not UTF-8", c->path, line, key, value);
        return 0;
    }
    return apply_key(p, (enum station_key)k, value, line, section, range, bay) ? 1 : 0;
}

/* The parse proper; err is left for the caller to escape (it quotes the file's bytes). */
static int load_text(parse_ctx *p, const char *path, char *err, size_t errlen)
{
    station_config *c = p->c;
    char *text;
    size_t len;
    if (tf_file_read_text(path, SC_TEXT_MAX, &text, &len, err, errlen) != 0)
        return -1;
    tf_ini_reader_init(&p->rd, text, len, on_header, p);
    int rc = ini_parse_stream(tf_ini_read_line, &p->rd, on_key, p);
    free(text);
    if (p->err[0]) {
        snprintf(err, errlen, "%s", p->err);
        return -1;
    }
    if (p->rd.too_long_line) {
        snprintf(err, errlen, "%s:%d: line is longer than %d characters (relative paths are "
                 "taken from the file's folder)", path, p->rd.too_long_line, p->rd.max_len);
        return -1;
    }
    if (rc > 0) {
        snprintf(err, errlen, "%s:%d: not an INI line", path, rc);
        return -1;
    }
    if (rc < 0) {
        snprintf(err, errlen, "%s: the INI parser failed (%d)", path, rc);
        return -1;
    }
    for (int i = 0; i < c->n_ranges; i++)
        if (!c->ranges[i].profile[0]) {
            snprintf(err, errlen, "%s:%d: [bays %d-%d] has no profile", path, c->ranges[i].line,
                     c->ranges[i].first, c->ranges[i].last);
            return -1;
        }
    return 0;
}

int station_config_load(const char *path, station_config *c, char *err, size_t errlen)
{
    parse_ctx *p = calloc(1, sizeof *p); /* ~20 KiB of section names: off the stack */
    if (!p) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    p->c = c;
    snprintf(c->path, sizeof c->path, "%s", path);
    const char *slash = strrchr(path, '/');
    if (slash)
        snprintf(p->dir, sizeof p->dir, "%.*s", (int)(slash - path), path);
    int rc = load_text(p, path, err, errlen);
    free(p);
    if (rc < 0)
        tf_text_escape_inplace(err, errlen);
    return rc;
}

bool station_config_allows(const station_config *c, uint16_t vid, uint16_t pid)
{
    for (int i = 0; i < c->n_allow; i++)
        if (c->allow[i].vid == vid && c->allow[i].pid == pid)
            return true;
    return false;
}

const sc_bay *station_config_bay_by_path(const station_config *c, const char *id_path)
{
    if (!id_path[0])
        return NULL; /* "" is "no path", never a match */
    for (int i = 0; i < c->n_bays; i++)
        if (!strcmp(c->bays[i].id_path, id_path))
            return &c->bays[i];
    return NULL;
}

const sc_bay *station_config_bay_by_number(const station_config *c, int bay)
{
    for (int i = 0; i < c->n_bays; i++)
        if (c->bays[i].bay == bay)
            return &c->bays[i];
    return NULL;
}

const char *station_config_bay_profile(const station_config *c, int bay,
                                       const char *default_profile)
{
    const sc_bay *b = station_config_bay_by_number(c, bay);
    if (b && b->profile[0])
        return b->profile;
    for (int i = 0; i < c->n_ranges; i++)
        if (bay >= c->ranges[i].first && bay <= c->ranges[i].last)
            return c->ranges[i].profile;
    return default_profile;
}

const bk_reset_seq *station_config_bay_reset(const station_config *c, int bay)
{
    const sc_bay *b = station_config_bay_by_number(c, bay);
    return b && b->has_reset ? &b->reset : &c->reset;
}
