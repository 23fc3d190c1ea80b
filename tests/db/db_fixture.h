/* db_fixture.h - helpers shared by the db_ tests (checks: tests/support/check.h; REQUIRE stops
 * at the first failure): a private temporary database file, and the KNOWN attempt set whose
 * report numbers test_db_report.c works out by hand. */
#pragma once
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "check.h"
#include "db.h"

/* A fresh directory under $TMPDIR (or /tmp); path gets "<dir>/<name>". */
void fixture_path(char *path, size_t n, const char *name);
/* Removes the file with its -wal and -shm, then the directory. */
void fixture_cleanup(const char *path);
/* Opens read-write or exits with the error. */
db *fixture_open(const char *path, bool readonly);

/* The known set (see test_db_report.c for the hand-worked numbers). t0 is 08:00 of a UTC day. */
enum { FIXTURE_T0 = 1714550400 }; /* 2024-05-01 08:00:00 UTC */
void fixture_fill_known(db *d);

/* A realistic shift for the HTML report and docs/report.png: 8 bays, 06:00-12:00 UTC of
 * FIXTURE_SHIFT_T0's day with a break 09:00-09:40, a tray every 6 min, a profile change at 08:00,
 * bay 5's adapter browning out, a few of every other common cause, re-seats of failed modules in the
 * next tray. Deterministic (a fixed-seed generator), so the page it renders is always the same. */
enum { FIXTURE_SHIFT_T0 = 1714629600 }; /* 2024-05-02 06:00:00 UTC */
void fixture_fill_shift(db *d);
