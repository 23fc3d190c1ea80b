/* station_db.c - the database writer: the one thread holding the write handle. It drains the
 * queue in small transactions (what is waiting, at most 64 events), so workers never wait on
 * the disk and a crash loses at most one short batch (db_mark_interrupted closes the rest).
 *
 * A record is dropped only once it is in the file. Every event that writes something is first
 * kept, in order, in `pending`; a transaction writes the oldest ones and they leave `pending` only
 * when its COMMIT succeeded. When the storage fails (disk full, I/O error, file locked:
 * db_failure_retryable) the transaction is rolled back, the per-bay state it changed is put back,
 * and the writer is STALLED: it says so once (a notice: the dashboard's event list and the
 * headless lines), tells the station (new jobs wait), keeps taking events and retries every
 * DBW_RETRY_MS until a commit succeeds. A record SQLite refuses for its values is a bug, not the
 * disk: it is counted, said, and the rest of its batch is kept. At the end, what could still not
 * be saved is listed by db_writer_write_unsaved.
 *
 * With TRAYFLASH_DEBUG containing "db" in the environment it says in a debug notice (the
 * headless lines, the dashboard's event list), after each commit, which attempts' ends that commit made durable: the crash test kills the station at
 * random moments and then holds the database to exactly those lines. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "profile.h"
#include "station_internal.h"
#include "station_log.h"

#define DBW_BATCH 64
#define DBW_RETRY_MS 1000     /* while stalled: one more try a second */
#define DBW_FINAL_TRIES 3     /* after the queue closed: the last chances before giving up */
#define DBW_FINAL_GAP_MS 500

typedef struct dbw_open {
    int bay;
    int64_t attempt_id;
    char port[128], adapter[64], bay_name[32], product[64];
    double start_ts;
    int64_t profile_id, image_id;
    const tf_profile *profile; /* loaded for the station's whole life */
} dbw_open;

/* The tray being recorded: the station's (lot, tray_seq) and the number the file gave it. */
typedef struct dbw_tray {
    char lot[64];
    uint64_t seq;
    int number;
} dbw_tray;

struct db_writer {
    evq *q;
    evq_consumer *consumer;
    db *d;
    int64_t station_id;
    bool log_commits;
    dbw_state_fn on_state;
    void *state_ctx;
    /* writer thread only (then the joining thread): */
    st_event *pending;        /* events not yet in the file: [head, head + n_pending), oldest first */
    size_t head, n_pending, cap_pending;
    bool stalled;
    double stalled_since, next_try; /* monotonic s */
    size_t batch_n;           /* events taken in the running batch */
    bool try_transient;       /* the running try hit a storage failure: roll it back */
    int try_refused;          /* records SQLite refused in the running try */
    char try_error[256];
    /* attempt ends written in the open transaction: reported once it is committed */
    int64_t ended_ids[DBW_BATCH];
    int ended_bays[DBW_BATCH];
    bool ended_passed[DBW_BATCH];
    int n_ended;
    dbw_open open[SV_MAX_BAYS + 1]; /* one attempt per bay at a time */
    dbw_open open_saved[SV_MAX_BAYS + 1]; /* `open` before the running try */
    dbw_tray tray, tray_saved;
    /* under `lock`: what other threads may read */
    pthread_mutex_t lock;
    int failures;             /* refused records, then (after join) records never saved */
    char last_error[256];
    int shown_pending;        /* n_pending while stalled, else 0 */
    char stall_why[160];
};

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Returns false once the queue is closed (the station is stopping). */
static bool post_notice(db_writer *w, st_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool post_notice(db_writer *w, st_level level, const char *fmt, ...)
{
    char text[sizeof ((st_event *)0)->text];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (st_notice(w->q, 0, level, "%s", text))
        return true;
    /* stopping (the dashboard is gone): a debug line still goes out, to stderr; the file
     * still learns how a stall ended */
    if (level == ST_LOG_DEBUG)
        fprintf(stderr, "trayflash: debug: %s\n", text);
    else if (!w->stalled)
        db_event_log(w->d, station_now(), -1, st_level_name(level), text);
    return false;
}

/* A failed statement: the storage (roll the try back, keep everything, retry) or the record
 * (count it once its batch is committed, go on with the rest). */
static void failed(db_writer *w, const char *what)
{
    snprintf(w->try_error, sizeof w->try_error, "%s: %s", what, db_errmsg(w->d));
    if (db_failure_retryable(w->d))
        w->try_transient = true;
    else
        w->try_refused++;
}

static int64_t image_of(db_writer *w, const tf_profile *p, int variant)
{
    return db_image_upsert(w->d, p->variants[variant].sha256_pin,
                           (int64_t)p->variants[variant].image.len);
}

/* The tray number of a job's (lot, tray_seq): the lot's next number the first time the pair is
 * seen, in the transaction that writes the tray's first attempt. */
static int tray_of(db_writer *w, const st_event *e)
{
    if (!e->lot[0])
        return 0;
    dbw_tray *t = &w->tray;
    if (t->number > 0 && t->seq == e->tray_seq && !strcmp(t->lot, e->lot))
        return t->number;
    int n = db_lot_next_tray(w->d, e->lot, e->ts);
    if (n < 0) {
        failed(w, "numbering the tray");
        return 0;
    }
    snprintf(t->lot, sizeof t->lot, "%s", e->lot);
    t->seq = e->tray_seq;
    t->number = n;
    return n;
}

static void job_start(db_writer *w, const st_event *e)
{
    dbw_open *o = &w->open[e->bay];
    memset(o, 0, sizeof *o);
    o->bay = e->bay;
    snprintf(o->port, sizeof o->port, "%s", e->port);
    snprintf(o->adapter, sizeof o->adapter, "%s", e->adapter);
    snprintf(o->bay_name, sizeof o->bay_name, "%s", e->bay_name);
    snprintf(o->product, sizeof o->product, "%s", e->product);
    o->start_ts = e->ts;
    const tf_profile *p = e->profile;
    o->profile = p;
    if (p) {
        /* With several variants the image is known once the chip is: at the job's end. */
        o->profile_id = db_profile_upsert(w->d, p->name, p->text_sha256, p->text);
        o->image_id = p->n_variants == 1 ? image_of(w, p, 0) : 0;
        if (o->profile_id < 0 || o->image_id < 0) {
            failed(w, "recording the profile");
            o->profile_id = o->image_id = 0;
        }
    }
    int tray = tray_of(w, e);
    db_attempt a = {.station_id = w->station_id, .profile_id = o->profile_id,
                    .image_id = o->image_id, .bay = e->bay, .bay_name = o->bay_name,
                    .port_path = o->port, .adapter = o->adapter, .product = o->product,
                    .start_ts = e->ts, .lot = e->lot, .tray = tray, .operator_id = e->operator_id};
    o->attempt_id = db_attempt_begin(w->d, &a);
    if (o->attempt_id < 0) {
        failed(w, "starting an attempt");
        o->attempt_id = 0;
    } else if (db_attempt_set_adapter(w->d, o->attempt_id, e->adapter_model,
                                      p && p->n_bauds ? (int)p->bauds[0] : 0) < 0) {
        failed(w, "recording the attempt's adapter");
    }
}

static void job_end(db_writer *w, const st_event *e)
{
    dbw_open *o = &w->open[e->bay];
    if (!o->attempt_id)
        return;
    const bk_result *r = &e->result;
    if (o->profile && r->variant >= 0 && r->variant < o->profile->n_variants) {
        int64_t id = image_of(w, o->profile, r->variant);
        if (id < 0)
            failed(w, "recording the image");
        else
            o->image_id = id;
    }
    char mac[18] = "", fid[8] = "";
    if (r->have_mac)
        bk_mac_format(r->mac, mac, sizeof mac);
    if (r->have_flash_id)
        snprintf(fid, sizeof fid, "%02x%02x%02x", r->flash_id[0], r->flash_id[1], r->flash_id[2]);
    db_attempt a = {.station_id = w->station_id, .profile_id = o->profile_id,
                    .image_id = o->image_id, .bay = e->bay, .bay_name = o->bay_name,
                    .port_path = o->port, .adapter = o->adapter, .product = o->product,
                    .start_ts = o->start_ts, .end_ts = e->ts,
                    .chip = r->chip ? bk_chip_name(r->chip) : NULL, .chip_id = r->chip_id,
                    .flash_id = fid[0] ? fid : NULL, .mac = mac[0] ? mac : NULL,
                    .boot_version = r->boot_version[0] ? r->boot_version : NULL,
                    .bytes_written = (int64_t)r->bytes_written,
                    .sectors_written = (int)r->sectors_written,
                    .sectors_skipped = (int)r->sectors_skipped, .retries = (int)r->retries,
                    .baud_start = (int)r->baud_start, .baud_end = (int)r->baud_end,
                    .passed = r->passed,
                    .skipped = r->skipped || r->held, /* held for ledger rows: no result either */
                    .cause_id = r->passed || r->skipped || r->held ? NULL : bk_cause_id(r->cause),
                    .detail = r->detail[0] ? r->detail : NULL,
                    .personalized = r->personalized, .config_crc = r->config_crc,
                    .ledger_row_id = e->ledger_row_id,
                    .secrets_id = e->secrets_id[0] ? e->secrets_id : NULL};
    if (db_attempt_end(w->d, o->attempt_id, &a) < 0)
        failed(w, "ending an attempt");
    else if (w->n_ended < DBW_BATCH) {
        w->ended_ids[w->n_ended] = o->attempt_id;
        w->ended_bays[w->n_ended] = e->bay;
        w->ended_passed[w->n_ended] = r->passed;
        w->n_ended++;
    }
    o->attempt_id = 0;
}

static void write_event(db_writer *w, const st_event *e)
{
    if (e->bay < 0 || e->bay > SV_MAX_BAYS)
        return;
    switch (e->kind) {
    case ST_EV_JOB_START:
        job_start(w, e);
        break;
    case ST_EV_JOB_END:
        job_end(w, e);
        break;
    case ST_EV_NOTICE:
        if (db_event_log(w->d, e->ts, e->bay ? e->bay : -1, st_level_name(e->level), e->text) < 0)
            failed(w, "logging an event");
        break;
    case ST_EV_ADAPTER_ADD:
    case ST_EV_ADAPTER_REMOVE: {
        char text[300];
        snprintf(text, sizeof text, "adapter %s %s %s", e->adapter,
                 e->kind == ST_EV_ADAPTER_ADD ? "plugged on" : "removed from", e->port);
        if (db_event_log(w->d, e->ts, e->bay, "info", text) < 0)
            failed(w, "logging an event");
        break;
    }
    case ST_EV_BAY_STATE:
        if (e->state == BAY_FAIL && db_event_log(w->d, e->ts, e->bay, "error", e->text) < 0)
            failed(w, "logging an event");
        break;
    case ST_EV_JOB_EVENT:
        if (e->ev_kind == BK_EV_POWER_CYCLE_NEEDED &&
            db_event_log(w->d, e->ts, e->bay, "warn", e->text) < 0)
            failed(w, "logging an event");
        break;
    case ST_EV_ASK: /* the question and its answer are recorded as notices */
        break;
    }
}

/* Whether write_event writes anything for e: only those events are kept until committed
 * (progress lines are many and write nothing). */
static bool is_record(const st_event *e)
{
    if (e->bay < 0 || e->bay > SV_MAX_BAYS)
        return false;
    switch (e->kind) {
    case ST_EV_JOB_START:
    case ST_EV_JOB_END:
    case ST_EV_ADAPTER_ADD:
    case ST_EV_ADAPTER_REMOVE:
        return true;
    case ST_EV_NOTICE: /* a debug notice is for the screen or the journal, not the record */
        return e->level != ST_LOG_DEBUG;
    case ST_EV_BAY_STATE:
        return e->state == BAY_FAIL;
    case ST_EV_JOB_EVENT:
        return e->ev_kind == BK_EV_POWER_CYCLE_NEEDED;
    case ST_EV_ASK:
        return false;
    }
    return false;
}

/* Only after db_commit returned: a line printed here is a promise the file keeps. */
static void report_committed(db_writer *w)
{
    for (int i = 0; w->log_commits && i < w->n_ended; i++)
        post_notice(w, ST_LOG_DEBUG, "db committed end of attempt %lld bay %02d %s",
                    (long long)w->ended_ids[i], w->ended_bays[i],
                    w->ended_passed[i] ? "pass" : "fail");
    w->n_ended = 0;
}

/* Appends e to `pending`. Memory is the one thing that can refuse: then the record is said
 * (counted and logged) rather than silently gone. */
static void keep(db_writer *w, const st_event *e)
{
    if (!is_record(e))
        return;
    if (w->head > 0 && w->head + w->n_pending == w->cap_pending) {
        memmove(w->pending, w->pending + w->head, w->n_pending * sizeof *w->pending);
        w->head = 0;
    }
    if (w->n_pending == w->cap_pending) {
        size_t cap = w->cap_pending ? w->cap_pending * 2 : 256;
        st_event *p = realloc(w->pending, cap * sizeof *p);
        if (!p) {
            pthread_mutex_lock(&w->lock);
            w->failures++;
            snprintf(w->last_error, sizeof w->last_error,
                     "out of memory keeping a record (bay %d, kind %d)", e->bay, (int)e->kind);
            pthread_mutex_unlock(&w->lock);
            return;
        }
        w->pending = p;
        w->cap_pending = cap;
    }
    w->pending[w->head + w->n_pending++] = *e;
}

/* Writes the oldest n pending events in one transaction. 0: committed; -1: rolled back, the
 * bays' state as before, the storage's words in try_error. */
static int try_batch(db_writer *w, size_t n)
{
    memcpy(w->open_saved, w->open, sizeof w->open);
    w->tray_saved = w->tray;
    w->n_ended = 0;
    w->try_transient = false;
    w->try_refused = 0;
    if (db_begin(w->d) < 0) {
        snprintf(w->try_error, sizeof w->try_error, "begin: %s", db_errmsg(w->d));
        return -1;
    }
    for (size_t i = 0; i < n && !w->try_transient; i++)
        write_event(w, &w->pending[w->head + i]);
    if (!w->try_transient && db_commit(w->d) == 0)
        return 0;
    if (!w->try_transient)
        snprintf(w->try_error, sizeof w->try_error, "commit: %s", db_errmsg(w->d));
    db_rollback(w->d); /* SQLite may have rolled back already; then this one just says so */
    memcpy(w->open, w->open_saved, sizeof w->open);
    w->tray = w->tray_saved; /* a tray numbered in the rolled-back try is numbered again */
    w->n_ended = 0;
    return -1;
}

static void publish(db_writer *w)
{
    pthread_mutex_lock(&w->lock);
    w->shown_pending = w->stalled ? (int)w->n_pending : 0;
    pthread_mutex_unlock(&w->lock);
}

static void enter_stall(db_writer *w)
{
    w->next_try = mono_s() + DBW_RETRY_MS / 1000.0;
    if (w->stalled) {
        publish(w);
        return;
    }
    w->stalled = true;
    w->stalled_since = mono_s();
    pthread_mutex_lock(&w->lock);
    snprintf(w->stall_why, sizeof w->stall_why, "%s", w->try_error);
    w->shown_pending = (int)w->n_pending;
    pthread_mutex_unlock(&w->lock);
    post_notice(w, ST_LOG_ERROR,
                "database cannot save records (%s): %zu kept in memory and retried every %d s; "
                "new jobs wait until they are saved", w->try_error, w->n_pending,
                DBW_RETRY_MS / 1000);
    if (w->on_state)
        w->on_state(w->state_ctx, true);
}

static void leave_stall(db_writer *w, size_t saved)
{
    w->stalled = false;
    publish(w);
    post_notice(w, ST_LOG_INFO, "database saves again: %zu records written after %.0f s; jobs resume",
                saved, mono_s() - w->stalled_since);
    if (w->on_state)
        w->on_state(w->state_ctx, false);
}

/* Records refused for their values in a committed batch: counted and said once. */
static void count_refused(db_writer *w)
{
    if (!w->try_refused)
        return;
    pthread_mutex_lock(&w->lock);
    bool first = w->failures == 0;
    w->failures += w->try_refused;
    snprintf(w->last_error, sizeof w->last_error, "%s", w->try_error);
    pthread_mutex_unlock(&w->lock);
    if (first)
        post_notice(w, ST_LOG_ERROR, "database: %s (attempts may be missing from the records)",
                    w->try_error);
}

/* Writes what is pending, oldest first, batch by batch; stops at the first storage failure. */
static void flush(db_writer *w)
{
    size_t saved = 0;
    while (w->n_pending > 0) {
        size_t n = w->n_pending < DBW_BATCH ? w->n_pending : DBW_BATCH;
        if (try_batch(w, n) < 0) {
            enter_stall(w);
            return;
        }
        report_committed(w);
        count_refused(w);
        w->head = w->n_pending > n ? w->head + n : 0;
        w->n_pending -= n;
        saved += n;
    }
    if (w->stalled)
        leave_stall(w, saved);
}

static int ms_until(double t)
{
    double left = t - mono_s();
    return left <= 0 ? 0 : (int)(left * 1000) + 1;
}

/* The consumer's wait: while stalled, until the next try; else until an event. */
static int writer_wait_ms(void *ctx)
{
    db_writer *w = ctx;
    return w->stalled ? ms_until(w->next_try) : -1;
}

/* A batch is at most DBW_BATCH events; while stalled everything waiting is taken: the
 * queue's backlog is not the place. */
static bool writer_event(void *ctx, const st_event *e)
{
    db_writer *w = ctx;
    keep(w, e);
    return w->stalled || ++w->batch_n < DBW_BATCH;
}

static void writer_after(void *ctx, bool got_events)
{
    db_writer *w = ctx;
    (void)got_events;
    w->batch_n = 0;
    if (!w->stalled || mono_s() >= w->next_try)
        flush(w);
    else
        publish(w);
}

static void writer_close(void *ctx)
{
    db_writer *w = ctx;
    /* The queue is closed and drained: a few last chances for what is still pending. */
    for (int i = 0; w->n_pending > 0 && i < DBW_FINAL_TRIES; i++) {
        if (i) {
            struct timespec gap = {0, DBW_FINAL_GAP_MS * 1000000L};
            nanosleep(&gap, NULL);
        }
        flush(w);
    }
    pthread_mutex_lock(&w->lock);
    if (w->n_pending) {
        w->failures += (int)w->n_pending;
        snprintf(w->last_error, sizeof w->last_error, "%zu records could not be saved: %s",
                 w->n_pending, w->try_error);
    }
    pthread_mutex_unlock(&w->lock);
}

db_writer *db_writer_new(evq *q, db *d, int64_t station_id, dbw_state_fn on_state, void *ctx,
                         char *err, size_t errlen)
{
    db_writer *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    w->q = q;
    w->d = d;
    w->station_id = station_id;
    w->on_state = on_state;
    w->state_ctx = ctx;
    pthread_mutex_init(&w->lock, NULL);
    w->log_commits = st_debug_wanted("db");
    static const evq_consumer_fns fns = {.next_wait_ms = writer_wait_ms,
                                         .on_event = writer_event, .after = writer_after,
                                         .on_close = writer_close};
    if (!(w->consumer = evq_consumer_start(q, &fns, w, "database writer", err, errlen))) {
        pthread_mutex_destroy(&w->lock);
        free(w);
        return NULL;
    }
    return w;
}

void db_writer_join(db_writer *w)
{
    if (w)
        evq_consumer_join(w->consumer);
}

int db_writer_failures(db_writer *w)
{
    pthread_mutex_lock(&w->lock);
    int n = w->failures;
    pthread_mutex_unlock(&w->lock);
    return n;
}

void db_writer_last_error(db_writer *w, char *out, size_t outlen)
{
    pthread_mutex_lock(&w->lock);
    snprintf(out, outlen, "%s", w->last_error);
    pthread_mutex_unlock(&w->lock);
}

int db_writer_pending(db_writer *w, char *why, size_t whylen)
{
    pthread_mutex_lock(&w->lock);
    int n = w->shown_pending;
    if (why)
        snprintf(why, whylen, "%s", n ? w->stall_why : "");
    pthread_mutex_unlock(&w->lock);
    return n;
}

static void hhmmss(double ts, char out[16])
{
    time_t t = (time_t)ts;
    struct tm tm;
    if (!localtime_r(&t, &tm) || !strftime(out, 16, "%H:%M:%S", &tm))
        snprintf(out, 16, "%.0f", ts);
}

/* One unsaved record in words: enough to write it down by hand. */
static void describe(const st_event *e, char *line, size_t len)
{
    char when[16];
    hhmmss(e->ts, when);
    switch (e->kind) {
    case ST_EV_JOB_START:
        snprintf(line, len, "%s bay %02d attempt start: port %s, adapter %s, product %s", when,
                 e->bay, e->port, e->adapter, e->product);
        break;
    case ST_EV_JOB_END: {
        const bk_result *r = &e->result;
        char mac[18] = "no MAC";
        if (r->have_mac)
            bk_mac_format(r->mac, mac, sizeof mac);
        snprintf(line, len, "%s bay %02d attempt end: %s%s%s, %s%s%s", when, e->bay,
                 r->passed ? "PASS" : "FAIL", r->passed ? "" : " ",
                 r->passed ? "" : bk_cause_id(r->cause), mac, r->detail[0] ? ": " : "", r->detail);
        break;
    }
    case ST_EV_ADAPTER_ADD:
    case ST_EV_ADAPTER_REMOVE:
        snprintf(line, len, "%s bay %02d adapter %s %s %s", when, e->bay, e->adapter,
                 e->kind == ST_EV_ADAPTER_ADD ? "plugged on" : "removed from", e->port);
        break;
    default:
        if (e->bay > 0)
            snprintf(line, len, "%s bay %02d %s: %s", when, e->bay,
                     e->kind == ST_EV_NOTICE ? st_level_name(e->level) : "event", e->text);
        else
            snprintf(line, len, "%s station %s: %s", when, st_level_name(e->level), e->text);
        break;
    }
}

int db_writer_write_unsaved(db_writer *w, FILE *out)
{
    char line[600];
    for (size_t i = 0; i < w->n_pending; i++) {
        describe(&w->pending[w->head + i], line, sizeof line);
        fprintf(out, "  not saved: %s\n", line);
    }
    return (int)w->n_pending;
}

void db_writer_free(db_writer *w)
{
    if (!w)
        return;
    evq_consumer_free(w->consumer);
    free(w->pending);
    pthread_mutex_destroy(&w->lock);
    free(w);
}
