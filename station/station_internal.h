/* station_internal.h - shared between the station's own files, not a public face. */
#pragma once
#include <pthread.h>
#include <stdio.h>
#include "db.h"
#include "evq.h"
#include "station_view.h"

/* View builder (station_view.c): applies events to a station_view under its own lock and
 * signals an eventfd. */
typedef struct sv_builder sv_builder;
/* db_path (NULL: none) is opened read-only by the builder for yield_today/first_pass_today. */
sv_builder *sv_builder_new(evq *q, const station_view *initial, const char *db_path, char *err,
                           size_t errlen);
void sv_builder_snapshot(sv_builder *b, station_view *out);
int sv_builder_fd(sv_builder *b);
void sv_builder_set_flags(sv_builder *b, bool paused, bool shutting_down);
/* after evq_close: drains, then stops; call after db_writer_join so the last refresh of
 * today's yield sees every attempt */
void sv_builder_join(sv_builder *b);
void sv_builder_free(sv_builder *b);

/* Database writer (station_db.c): the only thread touching the write handle. Records the
 * storage cannot take are kept in order and retried; `on_state(ctx, true)` when that starts
 * (new jobs should wait), `(ctx, false)` once they are saved. Called on the writer's thread. */
typedef struct db_writer db_writer;
typedef void (*dbw_state_fn)(void *ctx, bool stalled);
db_writer *db_writer_new(evq *q, db *d, int64_t station_id, dbw_state_fn on_state, void *ctx,
                         char *err, size_t errlen);
void db_writer_join(db_writer *w);     /* after evq_close: writes the rest (a few last tries), stops */
/* Records refused for their values, plus (after join) records never saved. */
int db_writer_failures(db_writer *w);
void db_writer_last_error(db_writer *w, char *out, size_t outlen);
/* While stalled: how many records wait, and the storage's words; 0 and "" otherwise. */
int db_writer_pending(db_writer *w, char *why, size_t whylen);
/* After join: one line per record never saved, to `out`; returns how many. */
int db_writer_write_unsaved(db_writer *w, FILE *out);
void db_writer_free(db_writer *w);

/* Headless printer (station_headless.c): one line per event to `out` (NULL: none) and, with
 * use_syslog, to syslog. */
typedef struct headless headless;
headless *headless_new(evq *q, FILE *out, bool use_syslog, char *err, size_t errlen);
void headless_join(headless *h);
void headless_free(headless *h);
/* The printer's memory of one bay: `last_pct` throttles progress lines to every 25 %,
 * `last_phase` names the state of INFO lines, `max_phase` prints each phase once per attempt,
 * `mac` is the module's once read, `in_job` from a job's start to its end line (the MAC is
 * only claimed on the lines of that job). All zero before the first event. */
typedef struct headless_bay {
    int last_pct, last_phase, max_phase;
    char mac[18];
    bool in_job;
} headless_bay;
/* The line for one event, "" if the event prints nothing; returns its syslog priority
 * (LOG_ERR for a failure, LOG_DEBUG for progress, ...). */
int headless_format(const st_event *ev, headless_bay *bay, char *line, size_t len);

double station_now(void);   /* unix seconds */
