/* bk_reset.h - how a fixture's modem lines put a module into its download window, as data.
 *
 * A sequence is a list of steps, each setting DTR and/or RTS and holding for a while:
 *
 *     dtr+rts-on:50ms, dtr-off:50ms, rts-off          (the default: trayflash's own pulse)
 *
 * A step is LINES-LEVEL[:DURATION]. LINES is dtr, rts or dtr+rts; LEVEL is on (asserted) or
 * off (released) - `low` and `high` are accepted for on and off, since an asserted line drives
 * the adapter's pin low. DURATION is how long to hold before the next step: 50ms, 0.2s, or a
 * plain number of milliseconds (default 0). `wait:DURATION` holds without changing a line.
 * Lines no step has touched yet are released. The whole text may instead be one preset name
 * (bk_reset_presets) or `none` (no reset line: the module is reset by an application reboot
 * or by switched power; see docs/fixtures.md for what each preset expects to be wired). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BK_RESET_MAX_STEPS 16
#define BK_RESET_MAX_HOLD_MS 10000 /* past any chip's reset timing: a typo, not a fixture */

typedef struct bk_reset_step {
    bool set_dtr, set_rts;     /* which lines this step changes (neither: a wait) */
    bool on;                   /* asserted */
    uint16_t hold_ms;          /* hold before the next step */
} bk_reset_step;

typedef struct bk_reset_seq {
    char name[24];             /* the preset's name, or "custom" */
    int n;                     /* 0: no reset by the lines */
    bk_reset_step steps[BK_RESET_MAX_STEPS];
} bk_reset_seq;

typedef struct bk_reset_preset {
    const char *name;
    const char *steps;         /* in the syntax above ("" for none) */
    const char *fixture;       /* what it is for, in words */
} bk_reset_preset;

/* The presets, default first. */
const bk_reset_preset *bk_reset_presets(size_t *n);
/* The default sequence (the preset "default"). */
const bk_reset_seq *bk_reset_default(void);
/* Parses a preset name or a list of steps. Returns 0, or -1 with err naming the step
 * ("step 2 'rts-of': the level must be on, off, low or high"). */
int bk_reset_parse(const char *text, bk_reset_seq *out, char *err, size_t errlen);
/* The sequence in the syntax above (a preset by its steps). */
void bk_reset_format(const bk_reset_seq *seq, char *out, size_t len);
