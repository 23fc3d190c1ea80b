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
sv_builder *sv_builder_new(evq *q, const station_view *initial, char *err, size_t errlen);
void sv_builder_snapshot(sv_builder *b, station_view *out);
int sv_builder_fd(sv_builder *b);
void sv_builder_set_flags(sv_builder *b, bool paused, bool shutting_down);
void sv_builder_join(sv_builder *b); /* after evq_close: drains, then stops */
void sv_builder_free(sv_builder *b);

/* Database writer (station_db.c): the only thread touching the write handle. */
typedef struct db_writer db_writer;
db_writer *db_writer_new(evq *q, db *d, const char *station_name, char *err, size_t errlen);
void db_writer_join(db_writer *w);     /* after evq_close: writes the rest, then stops */
int db_writer_failures(db_writer *w);  /* statements that failed (logged to stderr once) */
const char *db_writer_last_error(db_writer *w);
void db_writer_free(db_writer *w);

/* Headless printer (station_headless.c): one line per event. */
typedef struct headless headless;
headless *headless_new(evq *q, FILE *out, char *err, size_t errlen);
void headless_join(headless *h);
void headless_free(headless *h);
/* The line for one event, "" if the event prints nothing. Per bay, `last_pct` throttles
 * progress lines to every 25 % and `last_phase` names the state of INFO lines. */
void headless_format(const st_event *ev, int *last_pct, int *last_phase, char *line, size_t len);

double station_now(void);   /* unix seconds */
