/* bk_reset.c - see bk_reset.h. */
#include "bk_reset.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Timings from docs/bk7231-reference.md §5.2 (each tool's reset assist). */
static const bk_reset_preset presets[] = {
    {"default", "dtr+rts-on:50ms,dtr-off:50ms,rts-off",
     "trayflash's pulse: DTR and RTS both on CEN (through a diode-AND or two transistors), "
     "held 50 ms, then released one after the other"},
    {"rts-cen", "dtr-off,rts-on:100ms,rts-off",
     "RTS alone on CEN (pulls CEN low while asserted); DTR left released"},
    {"dtr-cen", "rts-off,dtr-on:100ms,dtr-off",
     "DTR alone on CEN; RTS left released"},
    {"bk7231tools", "dtr+rts-on:100ms,dtr-off:100ms,rts-off",
     "bk7231tools' hardware reset: both asserted 100 ms, DTR released, 100 ms, RTS released"},
    {"tuya", "dtr-off,rts-on:200ms,rts-off",
     "Beken/Tuya uploaders: DTR released, RTS asserted 200 ms (the USB-TTL boards with RTS on CEN)"},
    {"none", "", "no reset line wired: the module restarts by an application reboot or by a "
                 "switched hub port (docs/fixtures.md)"},
};

const bk_reset_preset *bk_reset_presets(size_t *n)
{
    *n = sizeof presets / sizeof presets[0];
    return presets;
}

/* The preset "default" as data, so the engine needs no parsing to reset; a unit test checks
 * that it equals what the preset's text parses to. */
static const bk_reset_seq default_seq = {
    .name = "default",
    .n = 3,
    .steps = {{.set_dtr = true, .set_rts = true, .on = true, .hold_ms = 50},
              {.set_dtr = true, .on = false, .hold_ms = 50},
              {.set_rts = true, .on = false}},
};

const bk_reset_seq *bk_reset_default(void)
{
    return &default_seq;
}

/* "50ms", "0.2s", "50": milliseconds; -1 if not a duration. */
static long parse_ms(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || v < 0)
        return -1;
    double ms = !strcmp(end, "ms") || !*end ? v : !strcmp(end, "s") ? v * 1000.0 : -1;
    if (ms < 0 || ms > BK_RESET_MAX_HOLD_MS)
        return -1;
    return (long)(ms + 0.5);
}

static int step_error(char *err, size_t errlen, int i, const char *tok, const char *why)
{
    snprintf(err, errlen, "step %d '%s': %s", i, tok, why);
    return -1;
}

static int parse_step(const char *tok, int i, bk_reset_step *st, char *err, size_t errlen)
{
    char word[64];
    memset(st, 0, sizeof *st);
    const char *colon = strchr(tok, ':');
    size_t wl = colon ? (size_t)(colon - tok) : strlen(tok);
    if (wl >= sizeof word)
        return step_error(err, errlen, i, tok, "too long");
    memcpy(word, tok, wl);
    word[wl] = 0;
    if (colon) {
        long ms = parse_ms(colon + 1);
        if (ms < 0)
            return step_error(err, errlen, i, tok, "the duration must be like 50ms or 0.2s "
                                                   "(at most 10 s)");
        st->hold_ms = (uint16_t)ms;
    }
    if (!strcmp(word, "wait")) {
        if (!colon)
            return step_error(err, errlen, i, tok, "a wait needs a duration (wait:50ms)");
        return 0;
    }
    char *dash = strrchr(word, '-');
    if (!dash)
        return step_error(err, errlen, i, tok, "expected LINE-LEVEL (rts-on, dtr-off, "
                                               "dtr+rts-on), wait:DURATION or a preset name");
    *dash = 0;
    const char *lines = word, *level = dash + 1;
    if (!strcmp(lines, "dtr"))
        st->set_dtr = true;
    else if (!strcmp(lines, "rts"))
        st->set_rts = true;
    else if (!strcmp(lines, "dtr+rts") || !strcmp(lines, "rts+dtr"))
        st->set_dtr = st->set_rts = true;
    else
        return step_error(err, errlen, i, tok, "the line must be dtr, rts or dtr+rts");
    if (!strcmp(level, "on") || !strcmp(level, "low"))
        st->on = true;
    else if (!strcmp(level, "off") || !strcmp(level, "high"))
        st->on = false;
    else
        return step_error(err, errlen, i, tok, "the level must be on, off, low or high");
    return 0;
}

static int parse_steps(const char *text, bk_reset_seq *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "custom");
    char buf[512];
    if (strlen(text) >= sizeof buf) {
        snprintf(err, errlen, "longer than %zu characters", sizeof buf - 1);
        return -1;
    }
    /* lower case, blanks dropped: "DTR+RTS-on : 50 ms" reads as "dtr+rts-on:50ms" */
    size_t k = 0;
    for (const char *p = text; *p; p++)
        if (!isspace((unsigned char)*p))
            buf[k++] = (char)tolower((unsigned char)*p);
    buf[k] = 0;
    if (!k)
        return 0;
    if (strstr(buf, ",,") || buf[k - 1] == ',' || buf[0] == ',') {
        snprintf(err, errlen, "an empty step (two commas, or one at an end)");
        return -1;
    }
    int i = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (i == BK_RESET_MAX_STEPS) {
            snprintf(err, errlen, "more than %d steps", BK_RESET_MAX_STEPS);
            return -1;
        }
        if (parse_step(tok, i + 1, &out->steps[i], err, errlen) < 0)
            return -1;
        i++;
    }
    out->n = i;
    return 0;
}

int bk_reset_parse(const char *text, bk_reset_seq *out, char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        if (!strcmp(text, presets[i].name)) {
            if (parse_steps(presets[i].steps, out, err, errlen) < 0)
                return -1;
            snprintf(out->name, sizeof out->name, "%s", presets[i].name);
            return 0;
        }
    if (!text[0]) {
        snprintf(err, errlen, "empty: give a preset name (default, rts-cen, ..., none) or steps");
        return -1;
    }
    return parse_steps(text, out, err, errlen);
}

void bk_reset_format(const bk_reset_seq *seq, char *out, size_t len)
{
    size_t used = 0;
    out[0] = 0;
    for (int i = 0; i < seq->n && used < len; i++) {
        const bk_reset_step *s = &seq->steps[i];
        const char *lines = s->set_dtr && s->set_rts ? "dtr+rts" : s->set_dtr ? "dtr" : s->set_rts ? "rts" : NULL;
        char hold[16] = "";
        if (s->hold_ms)
            snprintf(hold, sizeof hold, ":%ums", (unsigned)s->hold_ms);
        int w = lines ? snprintf(out + used, len - used, "%s%s-%s%s", i ? "," : "", lines,
                                 s->on ? "on" : "off", hold)
                      : snprintf(out + used, len - used, "%swait%s", i ? "," : "", hold);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    if (!seq->n)
        snprintf(out, len, "none");
}
