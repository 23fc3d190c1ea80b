/* station.h - the station: adapters become bays, a fixed thread pool flashes them in parallel,
 * every event goes through one queue to the database writer, the view (station_view.h) and
 * the headless printer. The folder's face for the CLI, the tests and the benchmark.
 *
 * Threads: the device loop (udev or simulator source, signals, poll-mode timer), the pool
 * workers (one job per bay at a time), the db writer, the view builder, the headless printer,
 * and, with --sim, the in-process bksim server. */
#pragma once
#include <stdbool.h>
#include <stdio.h>
#include "bksim.h"
#include "station_config.h"
#include "station_view.h"

typedef struct station_opts {
    station_config cfg;              /* defaults + the station file */
    const char *profile_path;        /* overrides cfg.profile when non-NULL */
    const char *db_path;             /* overrides cfg.db; both empty: "trayflash.db" */
    FILE *headless_out;              /* NULL: no headless lines */
    bool use_syslog;                 /* the headless lines also go to syslog (journald) */
    /* Simulator source instead of udev (sim_count > 0): */
    int sim_count;
    const bksim_module_config *sim_modules; /* sim_count entries, or NULL: all default */
    double sim_time_scale;           /* 0 => 1.0 */
    uint64_t sim_seed;
    bool once;                       /* stop when every present bay has finished one attempt */
    bool watch_signals;              /* SIGINT/SIGTERM via signalfd; the caller has blocked them
                                        in every thread (pthread_sigmask before station_start) */
    int link_timeout_ms;             /* 0: the profile's */
    const char *lot;                 /* the lot (work order, reel) and the operator from the */
    const char *operator_id;         /*   command line; NULL: none until the dashboard or ctl */
    const char *central_url;         /* --central: overrides cfg.central (central_conf.h) */
} station_opts;

typedef struct station station;

/* Loads profiles, locks the database file for this process (a second station on the same file
 * is refused with words naming the first), opens it (db_mark_interrupted for this station's own
 * leftovers), starts every thread. NULL with err = words (profile errors are "file:line: ...")
 * on failure. */
station *station_start(const station_opts *o, char *err, size_t errlen);
/* What kept a station from starting: its input (a profile, the station file) or the bench (the
 * database, udev, the simulator, threads). */
typedef enum station_failure { STATION_FAIL_CONFIG, STATION_FAIL_SETUP } station_failure;
/* station_start(), also saying which kind of failure it was. */
station *station_start_why(const station_opts *o, station_failure *why, char *err, size_t errlen);
/* Blocks until the station has stopped (once-mode done, signal, request_stop, fatal error):
 * jobs finished or cancelled, every attempt's end written, the WAL checkpointed into the main
 * file, the db closed and unlocked. Returns 0, or -1 if something failed on the way
 * (station_error says what; station_write_unsaved lists records the database never took). */
int station_wait(station *st);
/* A bay whose job is held back because the database cannot save records says this (its detail
 * on the dashboard, its headless line). */
#define STATION_DB_WAIT_TEXT "waiting: the database cannot save records; starts once they are saved"
/* require_lot = yes and no lot or operator given: what the station says while jobs wait. */
#define STATION_LOT_WAIT_TEXT "waiting: scan a lot and an operator (require_lot = yes); nothing is flashed until both are given"
/* After station_wait: one line per record that could not be saved (the disk stayed full),
 * to `out`; returns how many. */
int station_write_unsaved(station *st, FILE *out);
void station_request_stop(station *st);
/* The lot and operator the next attempts record (a barcode scan on the dashboard, `trayflash
 * ctl`). NULL keeps the current value, "" clears it. A new lot starts a new tray. Values must be
 * printable text of at most 63 bytes: -1 with words in msg otherwise. */
int station_set_lot(station *st, const char *lot, const char *operator_id, char *msg,
                    size_t msglen);
/* The current lot, operator ("" = none) and whether require_lot holds jobs back for them. */
void station_get_lot(station *st, char lot[64], char operator_id[64], bool *waiting);
const char *station_error(station *st);
/* on_already_passed = ask: the operator's answer for `bay` (reflash: flash it; else leave it,
 * skipped); `by` names who answered, for the audit ("trayflash ctl", "the dashboard"). -1
 * with words in msg when the bay does not wait for one. */
int station_answer(station *st, int bay, bool reflash, const char *by, char *msg, size_t msglen);
/* The bays that wait for an answer, by bay number: up to max into out; returns how many wait. */
typedef struct station_question {
    int bay;
    char mac[18];
    char text[160];        /* "already passed on <station> <when> - re-flash? y/n" */
    double waited_s, left_s; /* since it was asked; until it answers no by itself */
} station_question;
int station_questions(station *st, station_question *out, int max);
/* The dashboard's handle (valid until station_free). */
station_actions station_get_actions(station *st);
void station_snapshot(station *st, station_view *out);
/* The in-process simulator with --sim (tests read module flash through it); else NULL. */
bksim_server *station_sim(station *st);
void station_counts(station *st, int *pass, int *fail);
/* Failed attempts so far by cause (BK_CAUSE_COUNT entries). */
void station_fail_causes(station *st, int out[BK_CAUSE_COUNT]);
/* The signal (SIGINT/SIGTERM) that stopped the station, 0 if none did. */
int station_stop_signal(station *st);
/* The database file the station writes (--db, the station file's db, or trayflash.db). */
const char *station_db_path(station *st);
/* request_stop + wait if needed, then frees everything. */
void station_free(station *st);
