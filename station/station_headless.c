/* station_headless.c - one line per event for a log or a pipe, the same words as the
 * dashboard: "14:02:09 bay 02 FAIL 42% FAIL brownout first write at 0x11000 ...".
 * Columns: time, bay, state, progress %, result (- / PASS / FAIL), cause id (- if none),
 * then free words. Station-wide lines use "bay --". */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "station_internal.h"

struct headless {
    evq *q;
    int sub;
    FILE *out;
    pthread_t thread;
    bool started;
    int last_pct[SV_MAX_BAYS + 1];
    int phase[SV_MAX_BAYS + 1];
};

static const char *phase_word(bk_phase p)
{
    return bk_phase_name(p);
}

void headless_format(const st_event *e, int *last_pct, int *last_phase, char *line, size_t len)
{
    time_t t = (time_t)e->ts;
    struct tm tm;
    localtime_r(&t, &tm);
    char when[16];
    strftime(when, sizeof when, "%H:%M:%S", &tm);
    char bay[8];
    if (e->bay > 0)
        snprintf(bay, sizeof bay, "%02d", e->bay);
    else
        snprintf(bay, sizeof bay, "--");
    line[0] = 0;
    switch (e->kind) {
    case ST_EV_NOTICE:
        snprintf(line, len, "%s bay %s %s - - - %s", when, bay,
                 !strcmp(e->level, "info") ? "note" : e->level, e->text);
        break;
    case ST_EV_ADAPTER_ADD:
        snprintf(line, len, "%s bay %s idle 0%% - - adapter %s on %s (%s)", when, bay, e->adapter,
                 e->port, e->bay_name);
        break;
    case ST_EV_ADAPTER_REMOVE:
        snprintf(line, len, "%s bay %s empty 0%% - - adapter removed from %s", when, bay, e->port);
        break;
    case ST_EV_JOB_START:
        *last_pct = -1;
        *last_phase = BK_PHASE_LINK;
        snprintf(line, len, "%s bay %s LINK 0%% - - start #%llu %s on %s", when, bay,
                 (unsigned long long)e->serial, e->product, e->port);
        break;
    case ST_EV_JOB_EVENT: {
        int pct = e->bytes_total ? (int)(100 * e->bytes_done / e->bytes_total) : 0;
        if (e->ev_kind == BK_EV_PROGRESS || e->ev_kind == BK_EV_PHASE)
            *last_phase = e->phase;
        if (e->ev_kind == BK_EV_PROGRESS) {
            if (pct / 25 == *last_pct / 25 && pct != 100)
                break; /* progress every 25 %: a log, not a film */
            *last_pct = pct;
            snprintf(line, len, "%s bay %s %s %d%% - - %.0f B/s at 0x%X", when, bay,
                     phase_word(e->phase), pct, e->rate_bps, e->address);
        } else if (e->ev_kind == BK_EV_PHASE) {
            *last_pct = -1;
            snprintf(line, len, "%s bay %s %s 0%% - - phase", when, bay, phase_word(e->phase));
        } else {
            pct = *last_pct < 0 ? 0 : *last_pct;
            snprintf(line, len, "%s bay %s %s %d%% - - %s%s", when, bay,
                     phase_word((bk_phase)*last_phase), pct,
                     e->ev_kind == BK_EV_POWER_CYCLE_NEEDED ? "[!] " : "", e->text);
        }
        break;
    }
    case ST_EV_JOB_END: {
        const bk_result *r = &e->result;
        if (r->passed)
            snprintf(line, len,
                     "%s bay %s PASS 100%% PASS - %.1fs chip %s mac %02x:%02x:%02x:%02x:%02x:%02x "
                     "retries %u baud %u",
                     when, bay, r->seconds, bk_chip_name(r->chip), r->mac[0], r->mac[1], r->mac[2],
                     r->mac[3], r->mac[4], r->mac[5], r->retries, r->baud_end);
        else
            snprintf(line, len, "%s bay %s FAIL %d%% FAIL %s %s: %s -> %s", when, bay,
                     *last_pct < 0 ? 0 : *last_pct, bk_cause_id(r->cause),
                     bk_cause_name(r->cause), r->detail, bk_cause_remedy(r->cause));
        break;
    }
    case ST_EV_BAY_STATE:
        snprintf(line, len, "%s bay %s %s 0%% %s %s %s", when, bay,
                 bay_state_name((bay_state)e->state), e->state == BAY_FAIL ? "FAIL" : "-",
                 e->cause ? bk_cause_id(e->cause) : "-", e->text);
        break;
    }
}

static void *headless_main(void *arg)
{
    headless *h = arg;
    st_event e;
    char line[600];
    while (evq_next(h->q, h->sub, &e, -1) > 0) {
        int slot = e.bay > 0 && e.bay <= SV_MAX_BAYS ? e.bay : 0;
        headless_format(&e, &h->last_pct[slot], &h->phase[slot], line, sizeof line);
        if (line[0]) {
            fputs(line, h->out);
            fputc('\n', h->out);
            fflush(h->out);
        }
    }
    return NULL;
}

headless *headless_new(evq *q, FILE *out, char *err, size_t errlen)
{
    headless *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    h->q = q;
    h->out = out;
    h->sub = evq_subscribe(q);
    if (h->sub < 0 || pthread_create(&h->thread, NULL, headless_main, h)) {
        snprintf(err, errlen, "headless printer: cannot start");
        free(h);
        return NULL;
    }
    h->started = true;
    return h;
}

void headless_join(headless *h)
{
    if (h && h->started) {
        pthread_join(h->thread, NULL);
        h->started = false;
    }
}

void headless_free(headless *h)
{
    if (!h)
        return;
    headless_join(h);
    free(h);
}
