/* station_ask.c - on_already_passed = ask: a bay whose module already passed this product
 * asks the operator before anything on the module changes. The bay's worker waits on
 * st->ask_cv under st->lock, a slice at a time (the engine keeps the module's link between
 * slices); the dashboard and `trayflash ctl` answer through station_answer; a pulled adapter
 * or the station's stop wake it (cancel); ask_timeout_s answers no. Each question and answer
 * is a notice: the event log keeps who chose to re-flash which module. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "station_internal.h"
#include "station_log.h"

/* A LinkCheck every slice keeps the bootloader in download mode (~2 s without a frame ends
 * it): the slice is well under that. */
#define ST_ASK_SLICE_S 0.4

static void post_ask(st_bay *b, const st_ask *a, bool asking, const char *text)
{
    st_event ev = {.kind = ST_EV_ASK, .ts = station_now(), .bay = b->number, .state = asking};
    memcpy(ev.mac, a->mac, sizeof ev.mac);
    snprintf(ev.text, sizeof ev.text, "%s", text);
    evq_post(b->st->q, &ev);
}

void st_ask_open(st_bay *b, st_ask *a, const char *mac, const char *words, const char *question)
{
    station *st = b->st;
    a->open = true;
    snprintf(a->words, sizeof a->words, "%s", words);
    int timeout_s = st->o.cfg.ask_timeout_s > 0 ? st->o.cfg.ask_timeout_s : 120;
    pthread_mutex_lock(&st->lock);
    b->ask = ST_ASK_WAITING;
    b->ask_since = bk_now_s();
    b->ask_deadline = b->ask_since + timeout_s;
    b->ask_by[0] = 0;
    snprintf(b->ask_mac, sizeof b->ask_mac, "%s", mac);
    snprintf(b->ask_question, sizeof b->ask_question, "%s", question);
    pthread_mutex_unlock(&st->lock);
    post_ask(b, a, true, question);
    /* the words last: a notice holds 200 bytes, and they are in the attempt's detail too */
    st_notice(st->q, b->number, ST_LOG_WARN, "bay %02d asks re-flash? (y/n, ctl --answer %d "
              "yes|no; skip in %d s): %s", b->number, b->number, timeout_s, words);
}

static void abs_time(double mono_s, struct timespec *ts)
{
    ts->tv_sec = (time_t)mono_s;
    ts->tv_nsec = (long)((mono_s - (double)ts->tv_sec) * 1e9);
}

bk_gate st_ask_wait(st_bay *b, st_ask *a, char *why, size_t whylen)
{
    station *st = b->st;
    pthread_mutex_lock(&st->lock);
    double now = bk_now_s();
    double until = now + ST_ASK_SLICE_S < b->ask_deadline ? now + ST_ASK_SLICE_S : b->ask_deadline;
    struct timespec ts;
    abs_time(until, &ts);
    int rc = 0;
    while (b->ask == ST_ASK_WAITING && atomic_load(&b->cancel) == 0 && rc == 0)
        rc = pthread_cond_timedwait(&st->ask_cv, &st->lock, &ts);
    int state = b->ask;
    bool timed_out = state == ST_ASK_WAITING && atomic_load(&b->cancel) == 0 &&
                     bk_now_s() >= b->ask_deadline;
    if (state != ST_ASK_WAITING || timed_out)
        b->ask = ST_ASK_NONE;
    char by[64];
    snprintf(by, sizeof by, "%s", b->ask_by);
    int waited = (int)(bk_now_s() - b->ask_since + 0.5);
    pthread_mutex_unlock(&st->lock);
    if (state == ST_ASK_WAITING && !timed_out)
        return BK_GATE_WAIT; /* undecided, or cancelled: the engine's LinkCheck ends the job */
    int timeout_s = st->o.cfg.ask_timeout_s;
    if (state == ST_ASK_YES) {
        post_ask(b, a, false, "re-flash: the operator answered yes");
        st_notice(st->q, b->number, ST_LOG_WARN, "bay %02d: operator chose re-flash (%s, after "
                  "%d s): %s", b->number, by, waited, a->words);
        return BK_GATE_GO;
    }
    if (timed_out)
        snprintf(why, whylen, "%s; on_already_passed = ask: no answer within %d s, skipped",
                 a->words, timeout_s);
    else
        snprintf(why, whylen, "%s; on_already_passed = ask: the operator answered no (%s)",
                 a->words, by);
    post_ask(b, a, false, timed_out ? "no answer: skip" : "skip: the operator answered no");
    st_notice(st->q, b->number, timed_out ? ST_LOG_WARN : ST_LOG_INFO, "bay %02d skips: %s",
              b->number, why);
    return BK_GATE_SKIP;
}

void st_ask_clear_locked(st_bay *b)
{
    b->ask = ST_ASK_NONE;
    b->ask_question[0] = 0;
}

int station_answer(station *st, int bay, bool reflash, const char *by, char *msg, size_t msglen)
{
    pthread_mutex_lock(&st->lock);
    st_bay *b = station_bay_by_number(st, bay);
    int rc = 0;
    if (!b) {
        snprintf(msg, msglen, "there is no bay %02d", bay);
        rc = -1;
    } else if (b->ask != ST_ASK_WAITING) {
        snprintf(msg, msglen, "bay %02d is not waiting for an answer", bay);
        rc = -1;
    } else {
        b->ask = reflash ? ST_ASK_YES : ST_ASK_NO;
        snprintf(b->ask_by, sizeof b->ask_by, "%s", by && by[0] ? by : "?");
        snprintf(msg, msglen, "bay %02d: %s %s", bay, reflash ? "re-flashing" : "skipping",
                 b->ask_mac);
        pthread_cond_broadcast(&st->ask_cv);
    }
    pthread_mutex_unlock(&st->lock);
    return rc;
}

/* Bays come in the order their adapters appeared; questions are listed by bay number. */
static int by_bay_number(const void *a, const void *b)
{
    const st_bay *x = *(const st_bay *const *)a, *y = *(const st_bay *const *)b;
    return (x->number > y->number) - (x->number < y->number);
}

int station_questions(station *st, station_question *out, int max)
{
    const st_bay *asking[SV_MAX_BAYS];
    int n = 0;
    pthread_mutex_lock(&st->lock);
    double now = bk_now_s();
    for (int i = 0; i < st->n_bays; i++)
        if (st->bays[i].ask == ST_ASK_WAITING)
            asking[n++] = &st->bays[i];
    qsort(asking, (size_t)n, sizeof asking[0], by_bay_number);
    for (int i = 0; i < n && i < max; i++) {
        const st_bay *b = asking[i];
        station_question *q = &out[i];
        q->bay = b->number;
        snprintf(q->mac, sizeof q->mac, "%s", b->ask_mac);
        snprintf(q->text, sizeof q->text, "%s", b->ask_question);
        q->waited_s = now - b->ask_since;
        q->left_s = b->ask_deadline > now ? b->ask_deadline - now : 0;
    }
    pthread_mutex_unlock(&st->lock);
    return n;
}
