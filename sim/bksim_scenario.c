/* bksim_scenario.c - the scenario file: per-module chips, faults and MACs from INI.
 *   [all]          defaults for every module
 *   [module 3]     module 3 (0-based), applied after [all] whatever the order in the file
 *   chip = bk7231n | fault = SPEC (repeatable) | mac = d8:1f:12:00:00:03
 * The text is read whole (tf_file_read_text: a FIFO or a device is refused, never read) and fed
 * to libinih one whole line at a time (tf_ini.h), so errors name the file's own line and a
 * long line is refused, not cut. A section twice, or chip or mac twice in a section, is an
 * error (fault repeats by design); so is a value continued on an indented line. */
#include "bksim.h"
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include "tf_file.h"
#include "tf_ini.h"
#include "tf_text.h"

#define MAX_FAULTS 16

typedef struct section_cfg {
    bool used, have_chip, have_mac, have_boot, have_open, open_keeps_state, no_mac;
    int reel;                 /* 0: not given */
    bksim_boot boot;
    bk_chip chip;
    uint8_t mac[6];
    int n_faults;
    char faults[MAX_FAULTS][64];
} section_cfg;

#define SCENARIO_TEXT_MAX (1u << 20)

typedef struct scenario_ctx {
    int count;
    section_cfg all;
    section_cfg *mods;
    char msg[200];
    int msg_line;             /* where msg belongs */
    tf_ini_reader rd;
    int chip_line, mac_line;  /* in the current section, 0 = not given */
    char last_key[16];        /* of the previous entry: an indented line continues it */
    int all_line;             /* of [all], 0 = not seen */
    int *module_lines;        /* of each [module N], 0 = not seen */
} scenario_ctx;

/* Sets the first error's words and line and stops the parse. */
static void scenario_fail(scenario_ctx *c, int line, const char *words)
{
    if (c->msg[0])
        return;
    snprintf(c->msg, sizeof c->msg, "%s", words);
    c->msg_line = line;
    c->rd.stop = true;
}

/* Every [section] line before inih reads it: no section twice. */
static bool on_header(void *user, const char *hdr, int line)
{
    scenario_ctx *c = user;
    c->chip_line = c->mac_line = 0;
    c->last_key[0] = '\0';
    int idx, *seen = NULL;
    char tail;
    if (!strncmp(hdr, "[all]", 5))
        seen = &c->all_line;
    else if (sscanf(hdr, "[module %d%c", &idx, &tail) == 2 && tail == ']' && idx >= 0 &&
             idx < c->count)
        seen = &c->module_lines[idx];
    if (!seen)
        return true; /* the handler names what is wrong with it */
    if (*seen) {
        char words[120];
        snprintf(words, sizeof words, "duplicate section %.*s (first at line %d)",
                 (int)(strchr(hdr, ']') - hdr + 1), hdr, *seen);
        scenario_fail(c, line, words);
        return false;
    }
    *seen = line;
    return true;
}

bool bksim_mac_parse(const char *s, uint8_t mac[6])
{
    unsigned v[6];
    char tail;
    if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
        return false;
    for (int i = 0; i < 6; i++)
        mac[i] = (uint8_t)v[i];
    return true;
}

static section_cfg *section_for(scenario_ctx *c, const char *section)
{
    if (strcmp(section, "all") == 0)
        return &c->all;
    int idx;
    char tail;
    if (sscanf(section, "module %d%c", &idx, &tail) != 1) {
        snprintf(c->msg, sizeof c->msg, "unknown section [%s] (want [all] or [module N])", section);
        return NULL;
    }
    if (idx < 0 || idx >= c->count) {
        snprintf(c->msg, sizeof c->msg, "[module %d]: only modules 0..%d exist (--count %d)", idx,
                 c->count - 1, c->count);
        return NULL;
    }
    return &c->mods[idx];
}

static int on_entry(void *user, const char *section, const char *name, const char *value)
{
    scenario_ctx *c = user;
    if (c->msg[0])
        return 0;
    int line = c->rd.line;
    bool continued = c->rd.indented && !strcmp(name, c->last_key);
    snprintf(c->last_key, sizeof c->last_key, "%s", name);
    char words[200];
    if (continued) {
        snprintf(words, sizeof words, "indented line continues key '%s': values must fit on "
                 "one line", name);
        scenario_fail(c, line, words);
        return 0;
    }
    section_cfg *sc = section_for(c, section);
    if (!sc) {
        c->msg_line = line;
        c->rd.stop = true;
        return 0;
    }
    int *given = !strcmp(name, "chip") ? &c->chip_line : !strcmp(name, "mac") ? &c->mac_line
                                                                                : NULL;
    if (given && *given) {
        snprintf(words, sizeof words, "duplicate key '%s' (first at line %d)", name, *given);
        scenario_fail(c, line, words);
        return 0;
    }
    if (given)
        *given = line;
    c->msg_line = line; /* for the words the checks below set */
    sc->used = true;
    if (strcmp(name, "chip") == 0) {
        const bk_family *f = bk_family_by_id(value);
        if (!f) {
            snprintf(c->msg, sizeof c->msg, "chip '%s': want bk7231t or bk7231n", value);
            return 0;
        }
        sc->chip = f->chip;
        sc->have_chip = true;
    } else if (strcmp(name, "bootloader") == 0) {
        if (!bksim_boot_parse(value, &sc->boot)) {
            snprintf(c->msg, sizeof c->msg, "bootloader '%s': want bk7231s_1.0.1, bk7231s_1.0.3, "
                     "bk7231s_1.0.5, bk7231s_1.0.6, bk7231n_1.0.1 or unknown", value);
            return 0;
        }
        sc->have_boot = true;
    } else if (strcmp(name, "open") == 0) {
        if (strcmp(value, "keeps-state") != 0 && strcmp(value, "power-cycles") != 0) {
            snprintf(c->msg, sizeof c->msg, "open '%s': want power-cycles or keeps-state", value);
            return 0;
        }
        sc->open_keeps_state = strcmp(value, "keeps-state") == 0;
        sc->have_open = true;
    } else if (strcmp(name, "mac") == 0 && strcmp(value, "none") == 0) {
        sc->no_mac = true;
    } else if (strcmp(name, "mac") == 0) {
        if (!bksim_mac_parse(value, sc->mac)) {
            snprintf(c->msg, sizeof c->msg, "mac '%s': want six hex bytes like d8:1f:12:00:00:01", value);
            return 0;
        }
        sc->have_mac = true;
    } else if (strcmp(name, "reel") == 0) {
        char *end = NULL;
        long v = strtol(value, &end, 10);
        if (!*value || *end || v < 1 || v > 1000000) {
            snprintf(c->msg, sizeof c->msg, "reel '%s': want a number 1..1000000", value);
            return 0;
        }
        sc->reel = (int)v;
    } else if (strcmp(name, "fault") == 0) {
        bksim_faults probe;
        bksim_faults_none(&probe);
        char err[160];
        if (!bksim_fault_parse(value, &probe, err, sizeof err)) {
            snprintf(c->msg, sizeof c->msg, "%s", err);
            return 0;
        }
        if (sc->n_faults == MAX_FAULTS || strlen(value) >= sizeof sc->faults[0]) {
            snprintf(c->msg, sizeof c->msg, "too many or too long fault entries");
            return 0;
        }
        snprintf(sc->faults[sc->n_faults++], sizeof sc->faults[0], "%s", value);
    } else {
        snprintf(c->msg, sizeof c->msg, "unknown key '%s' (want chip, fault, mac, reel, bootloader or open)", name);
        return 0;
    }
    return 1;
}

static void apply(const section_cfg *sc, bksim_module_config *mc)
{
    char err[160];
    if (sc->have_chip)
        mc->chip = sc->chip;
    if (sc->have_boot)
        mc->boot = sc->boot;
    if (sc->have_open)
        mc->open_keeps_state = sc->open_keeps_state;
    if (sc->no_mac)
        mc->no_mac = true;
    if (sc->reel)
        mc->reel = sc->reel;
    if (sc->have_mac) {
        mc->have_mac = true;
        memcpy(mc->mac, sc->mac, 6);
    }
    for (int i = 0; i < sc->n_faults; i++)
        bksim_fault_parse(sc->faults[i], &mc->faults, err, sizeof err); /* validated while parsing */
}

/* The parse proper; the caller escapes err (it quotes the file's bytes). */
static bool load_text(scenario_ctx *c, const char *path, char *err, size_t errlen)
{
    char *text;
    size_t len;
    if (tf_file_read_text(path, SCENARIO_TEXT_MAX, &text, &len, err, errlen) != 0)
        return false;
    tf_ini_reader_init(&c->rd, text, len, on_header, c);
    int line = ini_parse_stream(tf_ini_read_line, &c->rd, on_entry, c);
    free(text);
    if (c->msg[0]) {
        snprintf(err, errlen, "%s:%d: %s", path, c->msg_line, c->msg);
        return false;
    }
    if (c->rd.too_long_line) {
        snprintf(err, errlen, "%s:%d: line is longer than %d characters", path,
                 c->rd.too_long_line, c->rd.max_len);
        return false;
    }
    if (line > 0) {
        snprintf(err, errlen, "%s:%d: syntax error: expected \"key = value\", a [section] or a "
                 "; comment", path, line);
        return false;
    }
    if (line < 0) {
        snprintf(err, errlen, "%s: the INI parser failed (%d)", path, line);
        return false;
    }
    return true;
}

bool bksim_scenario_load(const char *path, int count, bksim_module_config *mods, char *err, size_t errlen)
{
    scenario_ctx c = {.count = count};
    c.mods = calloc(count > 0 ? (size_t)count : 1, sizeof *c.mods);
    c.module_lines = calloc(count > 0 ? (size_t)count : 1, sizeof *c.module_lines);
    if (!c.mods || !c.module_lines) {
        snprintf(err, errlen, "%s: out of memory", path);
        free(c.mods);
        free(c.module_lines);
        return false;
    }
    bool ok = load_text(&c, path, err, errlen);
    if (!ok)
        tf_text_escape_inplace(err, errlen);
    for (int i = 0; ok && i < count; i++) {
        apply(&c.all, &mods[i]);
        apply(&c.mods[i], &mods[i]);
    }
    free(c.mods);
    free(c.module_lines);
    return ok;
}
