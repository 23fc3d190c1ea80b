/* station_view.c - the view builder: one consumer of the event queue that keeps a
 * station_view current under its own lock and signals an eventfd, so the dashboard redraws
 * from a copy and never waits on a flashing thread. Also bay_state_name().
 *
 * Today's yield comes from the database (report_yield_since, the reports' own definitions)
 * on a read-only handle only this builder uses. A query costs a read of the day's attempts,
 * so it runs at most every SV_YIELD_REFRESH_S, only after attempts ended, on the builder's
 * thread (never a flashing one) and outside the view's lock. The db writer commits a moment
 * after the view sees a job end, so one more refresh follows the last end; station_wait()
 * does a final one after the writer has finished. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include "report.h"
#include "station_internal.h"

#define SV_YIELD_REFRESH_S 3.0

const char *bay_state_name(bay_state s)
{
    static const char *const names[BAY_STATE_COUNT] = {
        "empty", "idle", "LINK", "IDENTIFY", "BACKUP", "ERASE", "WRITE", "VERIFY", "PASS", "FAIL", "SKIP"};
    return s >= 0 && s < BAY_STATE_COUNT ? names[s] : "?";
}

struct sv_builder {
    evq_consumer *consumer; /* NULL once joined */
    int fd;
    pthread_mutex_t lock;
    station_view v;
    /* builder thread only (then the joining thread): */
    bool batch_ended;       /* the batch held a job's end */
    db *ro;
    int yield_stale;        /* refreshes still owed since the last job end */
    double yield_due_mono;  /* not before this */
};

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Local midnight of the day `now` falls in. */
static double day_start(double now)
{
    time_t t = (time_t)now;
    struct tm tm;
    localtime_r(&t, &tm);
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    tm.tm_isdst = -1;
    return (double)mktime(&tm);
}

static void refresh_yield(sv_builder *b)
{
    if (!b->ro)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int pass = 0, fail = 0;
    double fpy = 0;
    int rc = report_yield_since(b->ro, day_start((double)ts.tv_sec), &pass, &fail, &fpy);
    b->yield_due_mono = mono_now() + SV_YIELD_REFRESH_S;
    if (b->yield_stale > 0)
        b->yield_stale--;
    if (rc < 0)
        return; /* keep the last figures; a busy moment is retried at the next refresh */
    pthread_mutex_lock(&b->lock);
    b->v.yield_today = pass + fail ? (double)pass / (pass + fail) : -1;
    b->v.today_modules = pass + fail;
    b->v.first_pass_today = pass + fail ? fpy : -1;
    pthread_mutex_unlock(&b->lock);
}

static bay_view *find_bay(station_view *v, int bay)
{
    for (int i = 0; i < v->n_bays; i++)
        if (v->bays[i].bay == bay)
            return &v->bays[i];
    if (bay <= 0 || v->n_bays == SV_MAX_BAYS)
        return NULL;
    bay_view *b = &v->bays[v->n_bays++];
    memset(b, 0, sizeof *b);
    b->bay = bay;
    snprintf(b->name, sizeof b->name, "%02d", bay);
    return b;
}

/* The timeline keeps how the attempt began (the head) and how it goes on (the tail); what falls
 * between is counted, so the detail can say so. */
static void bay_log(bay_view *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bay_log(bay_view *b, const char *fmt, ...)
{
    if (b->n_log == SV_LOG_LINES) {
        memmove(b->log[SV_LOG_HEAD], b->log[SV_LOG_HEAD + 1],
                sizeof b->log[0] * (SV_LOG_LINES - SV_LOG_HEAD - 1));
        b->n_log--;
        b->log_omitted++;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->log[b->n_log++], sizeof b->log[0], fmt, ap);
    va_end(ap);
}

/* One line of the station's event list, stamped with the event's time. */
static void view_log(station_view *v, double ts, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void view_log(station_view *v, double ts, const char *fmt, ...)
{
    if (v->n_events == SV_EVENT_LINES) {
        memmove(v->events[0], v->events[1], sizeof v->events[0] * (SV_EVENT_LINES - 1));
        v->n_events--;
    }
    time_t t = (time_t)ts;
    struct tm tm;
    localtime_r(&t, &tm);
    char when[16];
    strftime(when, sizeof when, "%H:%M:%S", &tm);
    char body[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    snprintf(v->events[v->n_events++], sizeof v->events[0], "%s %s", when, body);
}

static bay_state phase_state(bk_phase p)
{
    switch (p) {
    case BK_PHASE_LINK: return BAY_LINK;
    case BK_PHASE_IDENTIFY: return BAY_IDENTIFY;
    case BK_PHASE_BACKUP: return BAY_BACKUP;
    case BK_PHASE_ERASE: return BAY_ERASE;
    case BK_PHASE_WRITE: return BAY_WRITE;
    case BK_PHASE_VERIFY: return BAY_VERIFY;
    default: return BAY_LINK;
    }
}

static void recount(station_view *v)
{
    v->running = v->idle = 0;
    int finished = 0;
    for (int i = 0; i < v->n_bays; i++) {
        bay_state s = v->bays[i].state;
        if (s >= BAY_LINK && s <= BAY_VERIFY)
            v->running++;
        else if (s != BAY_EMPTY)
            v->idle++;
        finished += s == BAY_PASS || s == BAY_FAIL || s == BAY_SKIP;
    }
    /* done: results on every bay that has an adapter, nothing working, nothing waiting */
    v->tray_done = finished > 0 && v->running == 0 && finished == v->idle;
    int done = v->pass + v->fail;
    v->yield_session = done ? (double)v->pass / done : -1;
    double hours = (v->now_ts - v->session_start_ts) / 3600.0;
    v->modules_per_hour = hours > 0 ? v->pass / hours : 0;
}

static void apply(station_view *v, const st_event *e)
{
    v->now_ts = e->ts;
    bay_view *b = e->bay > 0 ? find_bay(v, e->bay) : NULL;
    switch (e->kind) {
    case ST_EV_NOTICE:
        view_log(v, e->ts, "%s", e->text);
        break;
    case ST_EV_ADAPTER_ADD:
        if (!b)
            break;
        snprintf(b->port, sizeof b->port, "%s", e->port);
        snprintf(b->adapter, sizeof b->adapter, "%s", e->adapter);
        if (e->bay_name[0])
            snprintf(b->name, sizeof b->name, "%s", e->bay_name);
        if (e->product[0])
            snprintf(b->product, sizeof b->product, "%s", e->product);
        if (b->state == BAY_EMPTY)
            b->state = BAY_IDLE;
        break;
    case ST_EV_ADAPTER_REMOVE:
        if (!b)
            break;
        b->asking = false;
        if (!(b->state >= BAY_LINK && b->state <= BAY_VERIFY))
            b->state = BAY_EMPTY;
        view_log(v, e->ts, "bay %02d adapter removed (%s)", e->bay, e->port);
        break;
    case ST_EV_JOB_START:
        if (!b)
            break;
        b->state = BAY_LINK;
        b->progress = b->rate_bps = 0;
        b->address = b->baud = 0;
        b->backup_done = b->backup_total = 0;
        b->started_ts = e->ts;
        b->elapsed_s = 0;
        b->power_cycle_needed = false;
        b->chip[0] = b->mac[0] = b->detail[0] = 0;
        b->cause = b->warning = BK_CAUSE_NONE;
        b->retries = 0;
        b->n_log = 0;
        b->log_omitted = 0;
        if (e->product[0])
            snprintf(b->product, sizeof b->product, "%s", e->profile ? e->product : e->product);
        break;
    case ST_EV_JOB_EVENT:
        if (!b)
            break;
        b->elapsed_s = e->ts - b->started_ts;
        if (e->baud)
            b->baud = e->baud;
        /* only progress carries a flash address; a phase or a message (address 0) must not
           send the display back to 0x00000 */
        if (e->ev_kind == BK_EV_PROGRESS)
            b->address = e->address;
        if (e->ev_kind == BK_EV_PHASE) {
            b->state = phase_state(e->phase);
            b->progress = 0;
        } else if (e->ev_kind == BK_EV_PROGRESS) {
            b->state = phase_state(e->phase);
            b->progress = e->bytes_total ? (double)e->bytes_done / (double)e->bytes_total : 0;
            b->rate_bps = e->rate_bps;
            if (e->phase == BK_PHASE_BACKUP) {
                b->backup_done = e->ranges_done;
                b->backup_total = e->ranges_total;
            }
        } else if (e->ev_kind == BK_EV_POWER_CYCLE_NEEDED) {
            b->power_cycle_needed = true;
        }
        if (e->text[0])
            bay_log(b, "%s", e->text);
        break;
    case ST_EV_JOB_END: {
        if (!b)
            break;
        b->asking = false;
        const bk_result *r = &e->result;
        if (r->held) { /* waiting for ledger rows: no result, the bay says why */
            b->state = BAY_IDLE;
            b->cause = BK_CAUSE_NONE;
            b->power_cycle_needed = false;
            snprintf(b->detail, sizeof b->detail, "%s", r->detail);
            view_log(v, e->ts, "bay %02d %s", e->bay, r->detail);
            break;
        }
        if (r->skipped) { /* neither a pass nor a failure: no count, no history */
            b->state = BAY_SKIP;
            b->elapsed_s = r->seconds;
            b->cause = BK_CAUSE_NONE;
            snprintf(b->detail, sizeof b->detail, "%s", r->detail);
            if (r->have_mac)
                bk_mac_format(r->mac, b->mac, sizeof b->mac);
            view_log(v, e->ts, "bay %02d SKIP %s", e->bay, r->detail);
            break;
        }
        b->state = r->passed ? BAY_PASS : BAY_FAIL;
        b->progress = r->passed ? 1 : b->progress;
        b->elapsed_s = r->seconds;
        b->cause = r->cause;
        b->warning = r->warning;
        b->retries = (int)r->retries;
        b->power_cycle_needed = false;
        snprintf(b->detail, sizeof b->detail, "%s", r->detail);
        snprintf(b->chip, sizeof b->chip, "%s", bk_chip_name(r->chip));
        if (r->have_mac)
            bk_mac_format(r->mac, b->mac, sizeof b->mac);
        /* A retry is the same module again, not a new one: after the adapter was pulled (the
           module never left its socket) unless its MAC says otherwise, or whenever it reads
           the MAC the failed attempt before read. Its earlier failure gives way to this result, so it counts once. */
        bool prev_failed = b->n_history > 0 && !b->history[0].passed;
        bool macs_known = r->have_mac && b->history[0].mac[0];
        bool same = prev_failed && (macs_known ? !strcmp(b->history[0].mac, b->mac)
                                               : b->retry_pending);
        if (same && b->fail_count > 0 && v->fail > 0) {
            b->fail_count--;
            v->fail--;
            v->retried++;
        }
        b->retry_pending = !r->passed && r->cause == BK_CAUSE_ADAPTER_REMOVED;
        if (r->passed) {
            b->pass_count++;
            v->pass++;
        } else {
            b->fail_count++;
            v->fail++;
        }
        memmove(&b->history[1], &b->history[0], sizeof b->history[0] * (SV_HISTORY - 1));
        b->history[0] = (bay_attempt_summary){.passed = r->passed, .cause = r->cause,
                                              .seconds = r->seconds, .end_ts = e->ts};
        snprintf(b->history[0].mac, sizeof b->history[0].mac, "%s", b->mac);
        if (b->n_history < SV_HISTORY)
            b->n_history++;
        char words[200];
        if (r->passed)
            snprintf(words, sizeof words, "PASS %.1fs %s", r->seconds, b->mac);
        else
            snprintf(words, sizeof words, "FAIL %s: %s", bk_cause_name(r->cause), r->detail);
        view_log(v, e->ts, "bay %02d %s", e->bay, words);
        break;
    }
    case ST_EV_ASK:
        if (!b)
            break;
        b->asking = e->state == 1;
        snprintf(b->question, sizeof b->question, "%s", b->asking ? e->text : "");
        bk_mac_format(e->mac, b->mac, sizeof b->mac); /* the module the question is about */
        if (e->text[0])
            bay_log(b, "%s", e->text);
        break;
    case ST_EV_BAY_STATE:
        if (!b)
            break;
        b->state = (bay_state)e->state;
        b->cause = e->cause;
        snprintf(b->detail, sizeof b->detail, "%s", e->text);
        break;
    }
    recount(v);
}

/* The consumer's wait: until today's yield is due for a refresh, else until an event. */
static int builder_wait_ms(void *ctx)
{
    sv_builder *b = ctx;
    if (b->yield_stale <= 0)
        return -1;
    double wait_s = b->yield_due_mono - mono_now();
    return wait_s > 0 ? (int)(wait_s * 1000) + 1 : 0;
}

static bool builder_event(void *ctx, const st_event *e)
{
    sv_builder *b = ctx;
    b->batch_ended |= e->kind == ST_EV_JOB_END;
    pthread_mutex_lock(&b->lock);
    apply(&b->v, e);
    pthread_mutex_unlock(&b->lock);
    return true;
}

/* After a burst (drained before waking the UI: one redraw per burst) or a due refresh. */
static void builder_after(void *ctx, bool got_events)
{
    sv_builder *b = ctx;
    if (b->batch_ended)
        b->yield_stale = 2; /* this refresh, and one after the writer's commit */
    b->batch_ended = false;
    bool refreshed = b->yield_stale > 0 && mono_now() >= b->yield_due_mono;
    if (refreshed)
        refresh_yield(b);
    if (!got_events && !refreshed)
        return;
    uint64_t one = 1;
    if (write(b->fd, &one, sizeof one) < 0)
        return; /* saturated eventfd: already readable */
}

sv_builder *sv_builder_new(evq *q, const station_view *initial, const char *db_path, char *err,
                           size_t errlen)
{
    sv_builder *b = calloc(1, sizeof *b);
    if (!b) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    b->v = *initial;
    pthread_mutex_init(&b->lock, NULL);
    b->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (db_path && db_open(db_path, true, &b->ro, err, errlen) < 0) {
        sv_builder_free(b);
        return NULL;
    }
    refresh_yield(b); /* the day so far, before the first job of this session */
    static const evq_consumer_fns fns = {.next_wait_ms = builder_wait_ms,
                                         .on_event = builder_event, .after = builder_after};
    if (b->fd < 0) {
        snprintf(err, errlen, "view builder: eventfd: %s", strerror(errno));
        sv_builder_free(b);
        return NULL;
    }
    if (!(b->consumer = evq_consumer_start(q, &fns, b, "view builder", err, errlen))) {
        sv_builder_free(b);
        return NULL;
    }
    return b;
}

void sv_builder_snapshot(sv_builder *b, station_view *out)
{
    pthread_mutex_lock(&b->lock);
    *out = b->v;
    pthread_mutex_unlock(&b->lock);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    out->now_ts = (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int sv_builder_fd(sv_builder *b)
{
    return b ? b->fd : -1;
}

void sv_builder_set_flags(sv_builder *b, bool paused, bool shutting_down)
{
    pthread_mutex_lock(&b->lock);
    b->v.paused = paused;
    if (shutting_down)
        b->v.shutting_down = true;
    pthread_mutex_unlock(&b->lock);
    uint64_t one = 1;
    if (write(b->fd, &one, sizeof one) < 0)
        return; /* saturated eventfd: already readable */
}

void sv_builder_join(sv_builder *b)
{
    if (b && b->consumer) {
        evq_consumer_free(b->consumer);
        b->consumer = NULL;
        /* the builder thread is gone: the handle is ours; the writer has committed all */
        refresh_yield(b);
    }
}

void sv_builder_free(sv_builder *b)
{
    if (!b)
        return;
    sv_builder_join(b);
    if (b->ro)
        db_close(b->ro);
    if (b->fd >= 0)
        close(b->fd);
    pthread_mutex_destroy(&b->lock);
    free(b);
}
