/* bksim_scenario.c - the scenario file: per-module chips, faults and MACs from INI.
 *   [all]          defaults for every module
 *   [module 3]     module 3 (0-based), applied after [all] whatever the order in the file
 *   chip = bk7231n | fault = SPEC (repeatable) | mac = d8:1f:12:00:00:03
 * libinih reports the line of the first failing entry; our handler keeps the words. */
#include "bksim.h"
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>

#define MAX_FAULTS 16

typedef struct section_cfg {
    bool used, have_chip, have_mac, have_boot, have_open, open_keeps_state, no_mac;
    bksim_boot boot;
    bk_chip chip;
    uint8_t mac[6];
    int n_faults;
    char faults[MAX_FAULTS][64];
} section_cfg;

typedef struct scenario_ctx {
    int count;
    section_cfg all;
    section_cfg *mods;
    char msg[200];
} scenario_ctx;

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
        return 1; /* inih reports the FIRST error's line: keep its words with it */
    section_cfg *sc = section_for(c, section);
    if (!sc)
        return 0;
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
        snprintf(c->msg, sizeof c->msg, "unknown key '%s' (want chip, fault, mac, bootloader or open)", name);
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
    if (sc->have_mac) {
        mc->have_mac = true;
        memcpy(mc->mac, sc->mac, 6);
    }
    for (int i = 0; i < sc->n_faults; i++)
        bksim_fault_parse(sc->faults[i], &mc->faults, err, sizeof err); /* validated while parsing */
}

bool bksim_scenario_load(const char *path, int count, bksim_module_config *mods, char *err, size_t errlen)
{
    scenario_ctx c = {.count = count};
    c.mods = calloc(count > 0 ? (size_t)count : 1, sizeof *c.mods);
    if (!c.mods) {
        snprintf(err, errlen, "%s: out of memory", path);
        return false;
    }
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        free(c.mods);
        return false;
    }
    int line = ini_parse_file(f, on_entry, &c);
    fclose(f);
    if (line != 0) {
        if (line < 0)
            snprintf(err, errlen, "%s: cannot read", path);
        else
            snprintf(err, errlen, "%s:%d: %s", path, line, c.msg[0] ? c.msg : "syntax error");
        free(c.mods);
        return false;
    }
    for (int i = 0; i < count; i++) {
        apply(&c.all, &mods[i]);
        apply(&c.mods[i], &mods[i]);
    }
    free(c.mods);
    return true;
}
