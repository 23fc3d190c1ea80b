/* ui.h - the station's ncurses dashboard: the face of station/ui/.
 *
 * The dashboard is a view of state: it copies snapshots through actions->snapshot and sends the
 * operator's wishes back through the other actions. It never blocks on flashing or the database:
 * it waits in poll() on the terminal and actions->change_fd, and redraws at most ~5 times a
 * second. Call it from the thread that owns the terminal (main). */
#pragma once
#include "station_view.h"

/* Takes over the terminal until the operator quits (q, confirmed while jobs run; then
 * actions->request_quit is called) or a snapshot reports shutting_down. Calls setlocale(LC_ALL, "")
 * first, so UTF-8 block characters are used when the locale allows (ASCII otherwise).
 * Returns 0 on a normal end; -EINVAL when `a` lacks a snapshot function; -ENOTTY when stdin or
 * stdout is not a terminal; -EIO when the terminal could not be set up or went away. */
int ui_run(const station_actions *a);
