/* station_log.h - the station's one way to log: a notice is an event (ST_EV_NOTICE) on the
 * queue, so the dashboard's event list, the headless lines, syslog and the database's event
 * log all see the same words and nothing writes to a terminal the dashboard owns.
 * TRAYFLASH_DEBUG (a comma list: db, wire) turns on debug notices of those kinds. */
#pragma once
#include <stdbool.h>
#include "evq.h"

/* st_level (st_event.h): ST_LOG_DEBUG, ST_LOG_INFO, ST_LOG_WARN, ST_LOG_ERROR. */
const char *st_level_name(st_level level); /* "debug", "info", "warn", "error" */

/* Posts a notice for `bay` (0: station-wide); false once the queue is closed (evq_post). */
bool st_notice(evq *q, int bay, st_level level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* libserialport's debug lines (bk_transport_set_debug) on stderr, "trayflash: libserialport: "
 * first: for `flash -v` and a headless station, never under the dashboard. */
void st_serialport_debug_to_stderr(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* TRAYFLASH_DEBUG names `what` ("db", "wire") among its comma-separated words. */
bool st_debug_wanted(const char *what);
