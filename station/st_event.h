/* st_event.h - what flows through the station's one event queue: adapter arrivals and
 * departures, job starts, the engine's progress/info events, job results and station notices.
 * Plain values (strings copied in), so a consumer never points into a worker's memory. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "bk_job.h"

typedef enum st_ev_kind {
    ST_EV_NOTICE = 0,      /* station-wide words (level in `level`), bay may be 0 */
    ST_EV_ADAPTER_ADD,     /* bay got an adapter: port, adapter */
    ST_EV_ADAPTER_REMOVE,
    ST_EV_JOB_START,       /* attempt `serial` begins on bay */
    ST_EV_JOB_EVENT,       /* an engine bk_event (kind, phase, bytes, text) */
    ST_EV_JOB_END,         /* attempt `serial` ended: result */
    ST_EV_BAY_STATE,       /* the bay went idle/empty without a job (refused start, probe) */
    ST_EV_ASK,             /* on_already_passed = ask: the bay's job waits for the operator
                              (state 1, text = the question) or no longer does (state 0); the
                              audit goes as notices, this only turns the tile */
} st_ev_kind;

struct tf_profile;

/* A notice's weight (station_log.h names them). Debug notices are off unless TRAYFLASH_DEBUG
 * asks, and never go to the database's event log. */
typedef enum st_level { ST_LOG_DEBUG, ST_LOG_INFO, ST_LOG_WARN, ST_LOG_ERROR } st_level;

typedef struct st_event {
    st_ev_kind kind;
    double ts;                 /* unix seconds */
    int bay;                   /* 1-based; 0 = station-wide */
    uint64_t serial;           /* attempt number within this run */
    st_level level;            /* NOTICE */
    char text[200];            /* NOTICE / INFO line / BAY_STATE reason */
    /* JOB_START and ADAPTER_*: */
    char port[128];
    char adapter[64];
    char adapter_model[32];    /* JOB_START: the adapter table's model ("" simulated/unknown) */
    char bay_name[32];
    char product[64];
    const struct tf_profile *profile; /* JOB_START: loaded for the station's whole life */
    char lot[64];              /* JOB_START: the lot and operator of the attempt ("" = none) */
    char operator_id[64];
    uint64_t tray_seq;         /* JOB_START: the station's tray count this run; the writer turns
                                  a new (lot, tray_seq) into the lot's next tray number */
    /* JOB_EVENT: */
    bk_event_kind ev_kind;
    bk_phase phase;
    uint64_t bytes_done, bytes_total;
    uint32_t address, baud;
    double rate_bps, t_s;
    uint32_t ranges_done, ranges_total; /* BK_PHASE_BACKUP's progress: ranges kept, planned */
    uint8_t mac[6];            /* BK_EV_MAC */
    /* JOB_END: */
    bk_result result;
    int64_t ledger_row_id;     /* per-device data: the row the module holds (0: none) */
    char secrets_id[33];       /* the random id of the secrets load used ("" : none) */
    /* BAY_STATE: */
    int state;                 /* bay_state from station_view.h; ASK: 1 asking, 0 answered */
    bk_cause cause;
} st_event;
