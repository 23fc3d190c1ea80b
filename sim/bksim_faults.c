/* bksim_faults.c - fault specs: parse "name" / "name=value" into bksim_faults and print
 * them back. One table drives both directions so a new fault is one row. */
#include "bksim.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { ARG_NONE, ARG_DOUBLE, ARG_U32, ARG_INT } arg_kind;

typedef struct fault_row {
    const char *name;
    arg_kind arg;
    size_t off;        /* offset of the field in bksim_faults */
    double lo, hi;     /* accepted range of the value */
} fault_row;

#define F(field) offsetof(bksim_faults, field)
static const fault_row fault_rows[] = {
    {"no-download", ARG_NONE, F(no_download), 0, 0},
    {"brownout-first-write", ARG_NONE, F(brownout_first_write), 0, 0},
    {"brownout-latch", ARG_NONE, F(brownout_latch), 0, 0},
    {"brownout-p", ARG_DOUBLE, F(brownout_p), 0, 1},
    {"bit-errors-above", ARG_U32, F(bit_errors_above), 1, 100000000},
    {"bit-error-rate", ARG_DOUBLE, F(bit_error_rate), 0, 1},
    {"adapter-max-baud", ARG_U32, F(adapter_max_baud), 1, 100000000},
    {"protected", ARG_NONE, F(flash_protected), 0, 0},
    {"foreign-traffic", ARG_NONE, F(foreign_traffic), 0, 0},
    {"slow-flash", ARG_NONE, F(slow_flash), 0, 0},
    {"removed-after", ARG_INT, F(removed_after_writes), 0, 1000000},
    {"yank-after", ARG_INT, F(yank_after_writes), 0, 1000000},
    {"wrong-chip", ARG_NONE, F(wrong_chip), 0, 0},
    {"brownout-read-after", ARG_INT, F(brownout_read_after), 0, 1000000},
    {"brownout-at", ARG_U32, F(brownout_at), 1, 0xFFFFFFFF},
    {"brownout-at-count", ARG_INT, F(brownout_at_count), 0, 1000000},
};
#undef F
#define N_ROWS (sizeof fault_rows / sizeof fault_rows[0])

void bksim_faults_none(bksim_faults *f)
{
    memset(f, 0, sizeof *f);
    f->bit_error_rate = 2e-4;
    f->removed_after_writes = -1;
    f->yank_after_writes = -1;
    f->brownout_read_after = -1;
    f->brownout_at_count = -1;
}

bool bksim_fault_parse(const char *spec, bksim_faults *f, char *err, size_t errlen)
{
    if (!spec || !*spec) {
        snprintf(err, errlen, "empty fault spec");
        return false;
    }
    if (strcmp(spec, "none") == 0) {
        bksim_faults_none(f);
        return true;
    }
    const char *eq = strchr(spec, '=');
    size_t nlen = eq ? (size_t)(eq - spec) : strlen(spec);
    for (size_t i = 0; i < N_ROWS; i++) {
        const fault_row *r = &fault_rows[i];
        if (strlen(r->name) != nlen || strncmp(r->name, spec, nlen) != 0)
            continue;
        char *field = (char *)f + r->off;
        if (r->arg == ARG_NONE) {
            if (eq) {
                snprintf(err, errlen, "fault '%s' takes no value", r->name);
                return false;
            }
            *(bool *)field = true;
            return true;
        }
        if (!eq || !eq[1]) {
            snprintf(err, errlen, "fault '%s' needs a value (%s=...)", r->name, r->name);
            return false;
        }
        char *end = NULL;
        errno = 0;
        double v = strtod(eq + 1, &end);
        if (errno || *end || !isfinite(v) || v < r->lo || v > r->hi ||
            (r->arg != ARG_DOUBLE && v != floor(v))) {
            snprintf(err, errlen, "fault '%s': bad value '%s' (want %s in %g..%g)", r->name, eq + 1,
                     r->arg == ARG_DOUBLE ? "a number" : "an integer", r->lo, r->hi);
            return false;
        }
        if (r->arg == ARG_DOUBLE)
            *(double *)field = v;
        else if (r->arg == ARG_U32)
            *(uint32_t *)field = (uint32_t)v;
        else
            *(int *)field = (int)v;
        return true;
    }
    snprintf(err, errlen, "unknown fault '%.*s' (known: no-download, brownout-first-write, brownout-p=P, "
             "bit-errors-above=BAUD, bit-error-rate=P, adapter-max-baud=BAUD, protected, foreign-traffic, "
             "slow-flash, removed-after=N, yank-after=N, wrong-chip, brownout-at=ADDR, "
             "brownout-at-count=N, brownout-read-after=N, none)", (int)nlen, spec);
    return false;
}

int bksim_fault_format(const bksim_faults *f, char *buf, size_t len)
{
    bksim_faults none;
    bksim_faults_none(&none);
    size_t used = 0;
    int total = 0;
    for (size_t i = 0; i < N_ROWS; i++) {
        const fault_row *r = &fault_rows[i];
        const char *field = (const char *)f + r->off;
        char item[64];
        item[0] = 0;
        switch (r->arg) {
        case ARG_NONE:
            if (*(const bool *)field)
                snprintf(item, sizeof item, "%s", r->name);
            break;
        case ARG_DOUBLE: {
            double v = *(const double *)field;
            /* the error rate only means something together with its threshold */
            bool shown = r->off == offsetof(bksim_faults, bit_error_rate) ? f->bit_errors_above != 0 : v != 0;
            if (shown)
                snprintf(item, sizeof item, "%s=%g", r->name, v);
            break;
        }
        case ARG_U32:
            if (*(const uint32_t *)field)
                snprintf(item, sizeof item, "%s=%u", r->name, (unsigned)*(const uint32_t *)field);
            break;
        case ARG_INT:
            if (*(const int *)field >= 0)
                snprintf(item, sizeof item, "%s=%d", r->name, *(const int *)field);
            break;
        }
        if (!item[0])
            continue;
        int n = snprintf(buf + used, used < len ? len - used : 0, "%s%s", total ? "," : "", item);
        total += n;
        used = (size_t)total < len ? (size_t)total : len;
    }
    if (total == 0)
        total = snprintf(buf, len, "none");
    return total;
}
