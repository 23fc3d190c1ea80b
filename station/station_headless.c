/* station_headless.c - one line per event for a log or a pipe, the same words as the
 * dashboard: "14:02:09 bay 02 FAIL 42% FAIL brownout first write at 0x11000 ... mac d8:..".
 * Columns: time, bay, state, progress %, result (- / PASS / FAIL), cause id (- if none),
 * then free words; a job's lines end with "mac xx:xx:xx:xx:xx:xx" once it has read the
 * module's MAC (its end line included), so `grep MAC` follows one module through the log. Station-wide lines use
 * "bay --". With syslog the same line (without the time: the journal stamps it) goes to
 * syslog, priority by what it says: a failure is an error, progress is debug. */
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include "station_internal.h"
#include "station_log.h"

static const int notice_prio[] = {[ST_LOG_DEBUG] = LOG_DEBUG, [ST_LOG_INFO] = LOG_INFO,
                                  [ST_LOG_WARN] = LOG_WARNING, [ST_LOG_ERROR] = LOG_ERR};

struct headless {
    evq_consumer *consumer;
    FILE *out;
    bool use_syslog;
    headless_bay bays[SV_MAX_BAYS + 1]; /* [0]: station-wide lines */
};

static const char *phase_word(bk_phase p)
{
    return bk_phase_name(p);
}

int headless_format(const st_event *e, headless_bay *hb, char *line, size_t len)
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
    int prio = LOG_INFO;
    bool says_mac = false; /* the line's own words already are the MAC */
    line[0] = 0;
    switch (e->kind) {
    case ST_EV_NOTICE:
        snprintf(line, len, "%s bay %s %s - - - %s", when, bay,
                 e->level == ST_LOG_INFO ? "note" : st_level_name(e->level), e->text);
        prio = notice_prio[e->level <= ST_LOG_ERROR ? e->level : ST_LOG_ERROR];
        break;
    case ST_EV_ADAPTER_ADD:
        snprintf(line, len, "%s bay %s idle 0%% - - adapter %s on %s (%s)", when, bay, e->adapter,
                 e->port, e->bay_name);
        break;
    case ST_EV_ADAPTER_REMOVE:
        snprintf(line, len, "%s bay %s empty 0%% - - adapter removed from %s", when, bay, e->port);
        break;
    case ST_EV_JOB_START:
        hb->last_pct = -1;
        hb->last_phase = hb->max_phase = BK_PHASE_LINK;
        hb->mac[0] = 0; /* a new attempt may hold another module */
        hb->in_job = true;
        snprintf(line, len, "%s bay %s LINK 0%% - - start #%llu %s on %s", when, bay,
                 (unsigned long long)e->serial, e->product, e->port);
        break;
    case ST_EV_JOB_EVENT: {
        int pct = e->bytes_total ? (int)(100 * e->bytes_done / e->bytes_total) : 0;
        if (e->ev_kind == BK_EV_PROGRESS || e->ev_kind == BK_EV_PHASE)
            hb->last_phase = e->phase;
        if (e->ev_kind == BK_EV_PROGRESS) {
            if (pct / 25 == hb->last_pct / 25 && pct != 100)
                break; /* progress every 25 %: a log, not a film */
            hb->last_pct = pct;
            prio = LOG_DEBUG;
            if (e->phase == BK_PHASE_BACKUP) /* ranges, not a rate: most are CRCs, not reads */
                snprintf(line, len, "%s bay %s %s %d%% - - ranges %u/%u at 0x%X", when, bay,
                         phase_word(e->phase), pct, e->ranges_done, e->ranges_total, e->address);
            else
                snprintf(line, len, "%s bay %s %s %d%% - - %.0f B/s at 0x%X", when, bay,
                         phase_word(e->phase), pct, e->rate_bps, e->address);
        } else if (e->ev_kind == BK_EV_PHASE) {
            /* erase and write alternate block by block: name each phase once per attempt */
            if ((int)e->phase <= hb->max_phase && e->phase != BK_PHASE_LINK)
                break;
            hb->max_phase = (int)e->phase; /* a re-link starts the count again */
            hb->last_pct = -1;
            snprintf(line, len, "%s bay %s %s 0%% - - phase", when, bay, phase_word(e->phase));
        } else {
            if (e->ev_kind == BK_EV_MAC) {
                bk_mac_format(e->mac, hb->mac, sizeof hb->mac);
                says_mac = true;
            }
            pct = hb->last_pct < 0 ? 0 : hb->last_pct;
            if (e->ev_kind == BK_EV_POWER_CYCLE_NEEDED)
                prio = LOG_WARNING;
            snprintf(line, len, "%s bay %s %s %d%% - - %s%s", when, bay,
                     phase_word((bk_phase)hb->last_phase), pct,
                     e->ev_kind == BK_EV_POWER_CYCLE_NEEDED ? "[!] " : "", e->text);
        }
        break;
    }
    case ST_EV_JOB_END: {
        const bk_result *r = &e->result;
        hb->in_job = true; /* its end line names the module; nothing after it does */
        if (r->have_mac)
            bk_mac_format(r->mac, hb->mac, sizeof hb->mac);
        if (r->held) {
            snprintf(line, len, "%s bay %s WAIT 0%% - - %s", when, bay, r->detail);
        } else if (r->skipped) {
            snprintf(line, len, "%s bay %s SKIP 0%% SKIP - %s", when, bay, r->detail);
        } else if (r->passed) {
            snprintf(line, len, "%s bay %s PASS 100%% PASS - %.1fs chip %s retries %u baud %u",
                     when, bay, r->seconds, bk_chip_name(r->chip), r->retries, r->baud_end);
        } else {
            prio = LOG_ERR;
            snprintf(line, len, "%s bay %s FAIL %d%% FAIL %s %s: %s -> %s", when, bay,
                     hb->last_pct < 0 ? 0 : hb->last_pct, bk_cause_id(r->cause),
                     bk_cause_name(r->cause), r->detail, bk_cause_remedy(r->cause));
        }
        break;
    }
    case ST_EV_ASK: /* its notices carry the words (and the ctl command to answer) */
        break;
    case ST_EV_BAY_STATE:
        if (e->state == BAY_FAIL)
            prio = LOG_ERR;
        snprintf(line, len, "%s bay %s %s 0%% %s %s %s", when, bay,
                 bay_state_name((bay_state)e->state), e->state == BAY_FAIL ? "FAIL" : "-",
                 e->cause ? bk_cause_id(e->cause) : "-", e->text);
        break;
    }
    if (line[0] && e->bay > 0 && hb->in_job && hb->mac[0] && !says_mac) {
        size_t n = strlen(line);
        if (n < len)
            snprintf(line + n, len - n, " mac %s", hb->mac);
    }
    if (e->kind == ST_EV_JOB_END)
        hb->in_job = false;
    return prio;
}

/* The consumer's one event: its line, if any, to `out` and syslog. */
static bool print_event(void *ctx, const st_event *e)
{
    headless *h = ctx;
    char line[700];
    int slot = e->bay > 0 && e->bay <= SV_MAX_BAYS ? e->bay : 0;
    int prio = headless_format(e, &h->bays[slot], line, sizeof line);
    if (!line[0])
        return true;
    if (h->out) {
        /* one call: other writers cannot split the line */
        if (fprintf(h->out, "%s\n", line) < 0 || fflush(h->out) != 0)
            h->out = NULL; /* the reader went away: keep draining, stop printing */
    }
    if (h->use_syslog) {
        const char *sp = strchr(line, ' ');
        syslog(prio, "%s", sp ? sp + 1 : line);
    }
    return true;
}

headless *headless_new(evq *q, FILE *out, bool use_syslog, char *err, size_t errlen)
{
    headless *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    h->out = out;
    h->use_syslog = use_syslog;
    if (use_syslog)
        openlog("trayflash", LOG_PID | LOG_NDELAY, LOG_DAEMON);
    h->consumer = evq_consumer_start(q, &(evq_consumer_fns){.on_event = print_event}, h,
                                     "headless printer", err, errlen);
    if (!h->consumer) {
        if (use_syslog)
            closelog();
        free(h);
        return NULL;
    }
    return h;
}

void headless_join(headless *h)
{
    if (h)
        evq_consumer_join(h->consumer);
}

void headless_free(headless *h)
{
    if (!h)
        return;
    evq_consumer_free(h->consumer);
    if (h->use_syslog)
        closelog();
    free(h);
}
