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

/* ---- the station's own state, shared by station.c (life cycle, loop, bays, profile
 * slots), station_jobs.c (jobs, the image pin) and station_actions.c (engineer actions, the
 * audit); the consumers (db writer, view, headless printer) leave it alone. */
#include <stdatomic.h>
#include "bksim.h"
#include "bk_job.h"
#include "backup_keeper.h"
#include "bk_session.h"  /* bk_now_s: monotonic seconds */
#include "db_lock.h"
#include "devsrc.h"
#include "pool.h"
#include "profile.h"
#include "station.h"
#include "central_conf.h"
#include "adapter_table.h"

#define ST_MAX_PROFILES 16

typedef struct st_profile_slot {
    tf_profile p;
    bk_job_spec spec;
    struct tf_secrets *secrets; /* [personalize] secrets, read when the slot is added */
    char secrets_err[512];      /* why they could not be read ("" when fine or none) */
} st_profile_slot;

typedef struct st_bay {
    station *st;
    int number;
    char name[32];
    char id_path[128];
    int profile_idx;
    /* under st->lock: */
    bool present, busy, want_start, force, finished_once;
    bool flashing;          /* busy with a job (not a poll-mode probe): a retry must wait */
    uint64_t tray_seq;      /* the station's tray of this bay's last job (0: none yet) */
    bool ledger_wait;       /* held: its profile's ledger had no row for it; tried again while
                               the ledger has a free row (next_probe paces the checks) */
    char devnode[128];
    char adapter[64];
    const adapter_model *model; /* the adapter table's row; NULL: simulated (no adapter) */
    /* the setup notice "profile asks more than the adapter makes" is told once per bay and
     * (model, profile): */
    const adapter_model *rate_told_model;
    int rate_told_profile;
    /* switched power (the station file's [bay N] power); NULL: none */
    const hub_port *power;
    bool power_feeds_adapter;   /* the adapter hangs on that port too: its tty goes with it */
    bool own_cycle;             /* a power-cycle of the adapter's own port is under way: its
                                   remove and add are the station's doing */
    bool own_back;              /* ... and its tty is back */
    /* on_already_passed = ask (station_ask.c): the job's question, waiting on st->ask_cv */
    int ask;                    /* st_ask_state */
    char ask_mac[18];
    char ask_question[160];
    char ask_by[64];            /* who answered: "the dashboard (OS user ...)", "trayflash ctl" */
    double ask_since, ask_deadline; /* monotonic s: asked; no answer by then answers no */
    int attempts;
    bool have_last_mac;
    uint8_t last_mac[6];
    double next_probe;
    atomic_int cancel;
} st_bay;

struct station {
    station_opts o;
    char db_path[SC_PATH_MAX];
    st_profile_slot *profiles;
    int n_profiles;
    st_bay bays[SV_MAX_BAYS];
    int n_bays;
    pthread_mutex_t lock;
    pthread_cond_t power_cv;  /* (with lock) an own-port power-cycle's adapter is back */
    pthread_cond_t ask_cv;    /* (with lock) a bay's question was answered, its adapter pulled
                                 (cancel) or the station stops: the asking job looks again */
    bool paused;
    bool db_stalled;        /* the writer holds records it cannot save: no new job starts */
    char lot[64];           /* the lot and operator new attempts record ("" = none given) */
    char operator_id[64];
    uint64_t tray_seq;      /* trays started this run (station_jobs.c: tray_for_job_locked) */
    bool lot_wait_said;     /* the "waiting for a lot" notice was posted (until one is given) */
    double engineer_until;  /* monotonic s; engineer mode while now < this (UI thread + lock) */
    int all_bays_idx;       /* profile an engineer set for "all bays" (also for bays still to
                               come), -1 = the config's assignment */
    int pass, fail;
    int fail_by_cause[BK_CAUSE_COUNT]; /* the failed attempts' causes: the CLI's exit status */
    int stop_signal;        /* SIGINT/SIGTERM that stopped the loop, 0 if none (under lock) */
    evq *q;
    pool *pool;
    db *db;
    db_lock *db_lock;       /* one station process per database file, for the station's life */
    db_writer *dbw;
    int64_t station_id;     /* the station's row (backups point at it) */
    backup_keeper *backup;  /* the backup store, opened by the first job whose profile asks for
                               a backup (under lock); closed after the pool */
    bool backup_cap_warned; /* the 90% warning was given (under lock); again once below it */
    struct upstream *up;    /* the forwarder to the central database; NULL: none configured */
    int central_passfile_fd; /* a private copy of an ACL'd passfile the forwarder reads, or -1 */
    central_conf central;    /* where the central store is (read-only after start): the
                                forwarder's target and the already-passed guard's first source */
    sv_builder *view;
    headless *hl;
    devsrc *src;
    bksim_server *sim;
    struct ctl_server *ctl; /* `trayflash ctl`: lot and operator over <db>.ctl; NULL if none */
    int stop_fd, wake_fd, sig_fd;
    pthread_t loop;
    bool loop_started, waited;
    atomic_uint_fast64_t serial;
    bool wire_trace;        /* TRAYFLASH_DEBUG=wire: every job's frames as debug notices */
    struct st_ledger *ledger; /* per-device ledger (station_personal.c), its own db handle */
    char err[512];
    int result;
};


/* Wakes the loop (or whoever polls the eventfd). */
void station_poke(int fd);

/* Profile slots (station.c): a slot never moves or changes once added. Adds one for `p`,
 * taking it over (*p is zeroed), with the spec jobs use (the --link-timeout-ms override
 * applied here, once); -1 when all ST_MAX_PROFILES are used (*p untouched). Called with the
 * lock, or before the loop starts. */
int station_slot_add(station *st, tf_profile *p);
st_bay *station_bay_by_number(station *st, int n); /* with the lock; NULL if none */

/* require_lot = yes and no lot or operator yet: no job may start (with the lock). */
bool station_lot_missing_locked(const station *st);
/* The lot and operator of --lot/--operator, checked (before the threads start). */
int station_lot_init(station *st, char *err, size_t errlen);
/* Per-device data (station_personal.c). The ledger: one database handle of its own under one
 * lock, for the pool's workers. */
#include "db_ledger.h"
#include "secrets.h"
typedef struct st_ledger st_ledger;
st_ledger *st_ledger_open(const char *db_path, char *err, size_t errlen);
void st_ledger_close(st_ledger *sl);
/* Whether the profile's ledger has a free row (true also when it cannot tell). */
bool st_ledger_has_free(st_ledger *sl, const char *profile);
#define ST_LEDGER_EMPTY_TEXT "waiting: ledger empty"
#define ST_LEDGER_RECHECK_S 1.0 /* a held bay asks the ledger again this often */
/* One job's per-device state: the engine's hook context. */
typedef struct st_personal_job {
    station *st;
    st_bay *b;
    const st_profile_slot *ps;
    char mac[18];
    char lot[64];             /* the station's lot when the job started ({lot}); "" none */
    int64_t row_id;           /* the ledger row the MAC holds; 0: none */
    char row_key[256];
    char *cells[TF_PERSONAL_MAX_COLUMNS];
} st_personal_job;
/* bk_personal_fn: takes the MAC's row (HOLD when the ledger is empty), builds the sector. */
bk_personal_answer st_personal_make(void *ctx, bk_chip chip, const uint8_t mac[6], uint32_t *addr,
                                    uint8_t *sector, char *why, size_t whylen);
/* After the job: marks the row used if the sector verified; frees the job's cells. */
void st_personal_finish(st_personal_job *pj, const bk_result *r);

/* on_already_passed = ask (station_ask.c). A job whose module already passed opens a
 * question (the tile shows it, a notice records it), then asks st_ask_wait until the operator
 * (dashboard, ctl) answers, the bay is cancelled, or ask_timeout_s runs out. */
typedef enum st_ask_state { ST_ASK_NONE = 0, ST_ASK_WAITING, ST_ASK_YES, ST_ASK_NO } st_ask_state;
typedef struct st_ask {
    bool open;                 /* the question was put: the gate only waits from now on */
    uint8_t mac[6];            /* the module's, as the engine read it */
    char words[256];           /* "MAC already passed PRODUCT on station ... (source)" */
} st_ask;
/* Puts the question: `words` say what passed where, `question` is the tile's line. */
void st_ask_open(st_bay *b, st_ask *a, const char *mac, const char *words, const char *question);
/* Waits a slice (well under the module's link-lost time) for the answer: GO on yes, SKIP on
 * no or the timeout (why says which), WAIT while undecided or cancelled (the engine's next
 * LinkCheck ends a cancelled job). */
bk_gate st_ask_wait(st_bay *b, st_ask *a, char *why, size_t whylen);
/* The job's end: no question remains (with the lock). */
void st_ask_clear_locked(st_bay *b);

/* Jobs (station_jobs.c): pool tasks for a bay the loop marked busy. */
void station_job_task(void *bay);
void station_probe_task(void *bay);
