/* station_view.h - what the station shows: a plain snapshot of every bay and the shift, built
 * by the station from its event stream and copied out under the station's lock. The dashboard
 * (station/ui/) and the headless printer only READ snapshots; they send the operator's wishes
 * back through station_actions. No flashing thread ever touches a view or curses. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "bk_cause.h"
#include "bk_job.h"

#define SV_MAX_BAYS 128
#define SV_LOG_LINES 32     /* per bay: the current/last attempt's timeline */
#define SV_LOG_HEAD 12      /* ...whose first lines are always kept: the attempt from its start */
#define SV_EVENT_LINES 64   /* station-wide: the last events, newest last */
#define SV_HISTORY 8        /* per bay: last attempts */

typedef enum bay_state {
    BAY_EMPTY = 0,   /* no adapter on this bay */
    BAY_IDLE,        /* adapter present, waiting for a module / for the operator */
    BAY_LINK,        /* resetting and linking (may be asking for a power-cycle) */
    BAY_IDENTIFY,
    BAY_BACKUP,      /* keeping what the module came with, before the first erase */
    BAY_ERASE,
    BAY_WRITE,
    BAY_VERIFY,
    BAY_PASS,
    BAY_FAIL,
    BAY_SKIP,        /* left as it is on purpose: it already passed this product */
    BAY_STATE_COUNT
} bay_state;

typedef struct bay_attempt_summary {
    bool passed;
    bk_cause cause;
    double seconds;
    double end_ts;        /* unix seconds */
    char mac[18];
} bay_attempt_summary;

typedef struct bay_view {
    int bay;                  /* 1-based bay number, as printed on the fixture */
    char name[32];            /* from the station config, e.g. "A01" */
    char product[64];         /* profile assigned to this bay */
    char port[128];           /* /dev/ttyUSB3 or the simulator link */
    char adapter[64];         /* "1a86:7523:serial" or "sim" */
    bay_state state;
    double progress;          /* 0..1 of the current phase's bytes */
    double rate_bps;          /* payload bytes/s while writing */
    uint32_t address;         /* flash address being worked on */
    uint32_t backup_done, backup_total; /* BACKUP: ranges kept of the backup's plan */
    uint32_t baud;
    double started_ts;        /* unix seconds; 0 if no job */
    double elapsed_s;         /* running: so far; PASS/FAIL: the attempt's time */
    bool power_cycle_needed;  /* no modem lines: the operator must power-cycle the module */
    char chip[16];            /* "BK7231T" once identified */
    char mac[18];             /* "d8:1f:12:0a:3c:7e" once read */
    bk_cause cause;           /* FAIL: why */
    bk_cause warning;         /* PASS: trouble overcome */
    char detail[256];         /* FAIL: what was seen */
    int retries;
    int pass_count, fail_count;           /* this session, by module (retries replace) */
    bool retry_pending;       /* the last attempt ended with the adapter pulled: the next
                                 attempt here is the same module again, not a new one */
    bool asking;              /* on_already_passed = ask: the job waits for the operator's
                                 y/n (answer_bay) before it changes anything on the module */
    char question[160];       /* ... "already passed on <station> <when> - re-flash? y/n" */
    char log[SV_LOG_LINES][128];          /* timeline of the current/last attempt, oldest first:
                                             its first SV_LOG_HEAD steps, then the latest */
    int n_log;
    int log_omitted;          /* steps dropped between the head and the latest lines */
    bay_attempt_summary history[SV_HISTORY]; /* newest first */
    int n_history;
} bay_view;

typedef struct station_view {
    char station_name[64];
    char profile_name[64];    /* the default profile (bays may differ: bay_view.product) */
    char image_sha_prefix[12];
    char chip[16];
    uint32_t baud;
    bool paused;              /* no new jobs start */
    int db_pending;           /* records the database cannot save yet (kept in memory, retried);
                                 while > 0 no new job starts */
    char db_stall[160];       /* why, in SQLite's words, while db_pending > 0 */
    /* The central database (station_upstream.h): */
    bool upstream_configured; /* a central database is named: the rest means something */
    bool upstream_away;       /* the last batch failed; records stay queued, retried later */
    long long upstream_queued, upstream_parked;
    double upstream_last_ok_ts; /* unix s of the last batch the server committed; 0 none */
    char upstream_error[160]; /* while away: why */
    bool engineer_mode;
    bool shutting_down;
    char lot[64];             /* the lot and operator new attempts record; "" = none */
    char operator_id[64];
    bool lot_waiting;         /* require_lot = yes and one of them is missing: nothing starts */
    double now_ts;
    double session_start_ts;
    int pass, fail, running, idle;       /* this session: modules by their latest result */
    int retried;              /* attempts that re-did a module (adapter pulled) this session */
    bool tray_done;           /* every bay with an adapter has a result and none is working */
    int today_modules;        /* from the database, today's modules so far; <0 if unknown */
    double yield_session;     /* pass / (pass + fail) of finished attempts, 0..1; <0 if none */
    double yield_today;       /* from the database; <0 if unknown */
    double first_pass_today;  /* <0 if unknown */
    double modules_per_hour;
    int n_bays;
    bay_view bays[SV_MAX_BAYS];
    char events[SV_EVENT_LINES][160];    /* "14:02:09 bay 02 FAIL brown-out: ..." oldest first */
    int n_events;
} station_view;

/* What the dashboard may ask of the station; each returns 0 or a negative error, and fills
 * `msg` with words for the status line. Implemented by the station, called on the UI thread. */
typedef struct station_actions {
    void *ctx;
    int (*retry_bay)(void *ctx, int bay, char *msg, size_t msglen);
    int (*set_paused)(void *ctx, bool paused, char *msg, size_t msglen);
    int (*engineer_login)(void *ctx, const char *pin, char *msg, size_t msglen);
    int (*switch_profile)(void *ctx, int bay /* 0 = all */, const char *profile_path, char *msg,
                          size_t msglen);
    void (*request_quit)(void *ctx);
    /* The lot and/or operator (a barcode scan): NULL keeps the value, "" clears it. */
    int (*set_lot)(void *ctx, const char *lot, const char *operator_id, char *msg, size_t msglen);
    /* on_already_passed = ask: the operator's answer for a bay that asks (bay_view.asking):
     * reflash true flashes the module, false leaves it (skipped). */
    int (*answer_bay)(void *ctx, int bay, bool reflash, char *msg, size_t msglen);
    /* Copies the current view into *out (under the station's lock). */
    void (*snapshot)(void *ctx, station_view *out);
    /* An fd that becomes readable when the view changed (eventfd); -1 to poll by time. */
    int change_fd;
} station_actions;

const char *bay_state_name(bay_state s); /* "LINK", "PASS", "idle" ... */
