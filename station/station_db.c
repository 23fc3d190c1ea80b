/* station_db.c - the database writer: the one thread holding the write handle. It drains the
 * queue in small transactions (what is waiting, at most 64 events), so workers never wait on
 * the disk and a crash loses at most one short batch (db_mark_interrupted closes the rest).
 *
 * With TRAYFLASH_DEBUG containing "db" in the environment it says on stderr, after each
 * commit, which attempts' ends that commit made durable: the crash test kills the station at
 * random moments and then holds the database to exactly those lines. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "profile.h"
#include "station_internal.h"

#define DBW_BATCH 64

typedef struct dbw_open {
    int bay;
    int64_t attempt_id;
    char port[128], adapter[64], bay_name[32], product[64];
    double start_ts;
    int64_t profile_id, image_id;
    const tf_profile *profile; /* loaded for the station's whole life */
} dbw_open;

struct db_writer {
    evq *q;
    int sub;
    db *d;
    int64_t station_id;
    pthread_t thread;
    bool started;
    int failures;
    char last_error[256];
    bool log_commits;
    /* attempt ends written in the open transaction: reported once it is committed */
    int64_t ended_ids[DBW_BATCH];
    int ended_bays[DBW_BATCH];
    bool ended_passed[DBW_BATCH];
    int n_ended;
    dbw_open open[SV_MAX_BAYS + 1]; /* one attempt per bay at a time */
};

/* The first failure is told through the queue, like every other notice: the dashboard owns
 * the terminal, so a line on stderr would garble it and vanish. */
static void failed(db_writer *w, const char *what)
{
    snprintf(w->last_error, sizeof w->last_error, "%s: %s", what, db_errmsg(w->d));
    if (w->failures++)
        return;
    st_event ev = {.kind = ST_EV_NOTICE, .ts = station_now(), .bay = 0};
    snprintf(ev.level, sizeof ev.level, "error");
    snprintf(ev.text, sizeof ev.text, "database: %s (attempts may be missing from the records)",
             w->last_error);
    evq_post(w->q, &ev);
}

static int64_t image_of(db_writer *w, const tf_profile *p, int variant)
{
    return db_image_upsert(w->d, p->variants[variant].sha256_pin,
                           (int64_t)p->variants[variant].image.len);
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
    db_attempt a = {.station_id = w->station_id, .profile_id = o->profile_id,
                    .image_id = o->image_id, .bay = e->bay, .bay_name = o->bay_name,
                    .port_path = o->port, .adapter = o->adapter, .product = o->product,
                    .start_ts = e->ts};
    o->attempt_id = db_attempt_begin(w->d, &a);
    if (o->attempt_id < 0) {
        failed(w, "starting an attempt");
        o->attempt_id = 0;
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
        snprintf(mac, sizeof mac, "%02x:%02x:%02x:%02x:%02x:%02x", r->mac[0], r->mac[1],
                 r->mac[2], r->mac[3], r->mac[4], r->mac[5]);
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
                    .passed = r->passed, .cause_id = r->passed ? NULL : bk_cause_id(r->cause),
                    .detail = r->detail[0] ? r->detail : NULL};
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
        if (db_event_log(w->d, e->ts, e->bay ? e->bay : -1, e->level, e->text) < 0)
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
    }
}

/* Only after db_commit returned: a line printed here is a promise the file keeps. */
static void report_committed(db_writer *w)
{
    for (int i = 0; w->log_commits && i < w->n_ended; i++)
        fprintf(stderr, "trayflash: debug: db committed end of attempt %lld bay %02d %s\n",
                (long long)w->ended_ids[i], w->ended_bays[i], w->ended_passed[i] ? "pass" : "fail");
    w->n_ended = 0;
}

static void *writer_main(void *arg)
{
    db_writer *w = arg;
    st_event e;
    while (evq_next(w->q, w->sub, &e, -1) > 0) {
        w->n_ended = 0;
        if (db_begin(w->d) < 0) {
            failed(w, "begin");
            write_event(w, &e); /* autocommit: each statement is its own transaction */
            report_committed(w);
            continue;
        }
        write_event(w, &e);
        for (int n = 1; n < DBW_BATCH && evq_try_next(w->q, w->sub, &e) > 0; n++)
            write_event(w, &e);
        if (db_commit(w->d) < 0) {
            failed(w, "commit");
            db_rollback(w->d);
            w->n_ended = 0; /* nothing of this batch is in the file */
        } else {
            report_committed(w);
        }
    }
    return NULL;
}

db_writer *db_writer_new(evq *q, db *d, const char *station_name, char *err, size_t errlen)
{
    db_writer *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    w->q = q;
    w->d = d;
    const char *dbg = getenv("TRAYFLASH_DEBUG");
    w->log_commits = dbg && strstr(dbg, "db");
    char host[128] = "";
    gethostname(host, sizeof host - 1);
    w->station_id = db_station_upsert(d, station_name, host);
    if (w->station_id < 0) {
        snprintf(err, errlen, "database: recording the station: %s", db_errmsg(d));
        free(w);
        return NULL;
    }
    w->sub = evq_subscribe(q);
    if (w->sub < 0 || pthread_create(&w->thread, NULL, writer_main, w)) {
        snprintf(err, errlen, "database writer: cannot start");
        free(w);
        return NULL;
    }
    w->started = true;
    return w;
}

void db_writer_join(db_writer *w)
{
    if (w && w->started) {
        pthread_join(w->thread, NULL);
        w->started = false;
    }
}

int db_writer_failures(db_writer *w)
{
    return w->failures;
}

const char *db_writer_last_error(db_writer *w)
{
    return w->last_error;
}

void db_writer_free(db_writer *w)
{
    if (!w)
        return;
    db_writer_join(w);
    free(w);
}
