/* db_lock.h - one station process per database file.
 *
 * Two stations writing one file would each take the other's running attempts for leftovers of a
 * crash, and their bays would mix in one history. A station therefore holds an exclusive flock on
 * "<database>.lock" for its whole life; the kernel drops it when the process ends, however it
 * ends, so a crash never leaves a stale lock. The lock file holds the holder's words (pid, station,
 * host, since when) so a refused second station can say who has the file. Readers (report, profile
 * list, db snapshot) never take it: they go through SQLite's own transactions. */
#pragma once
#include <stddef.h>

typedef struct db_lock db_lock;

/* Takes the lock for `db_path` without waiting. `holder` describes this process for a refused
 * one ("station line-3 on host-a"); the pid and the time are added. On refusal or error *out is
 * NULL, -1 is returned and err names the lock file and, when known, the process holding it. */
int db_lock_station(const char *db_path, const char *holder, db_lock **out, char *err, size_t errlen);
/* Releases the lock (the file stays: removing it would race a station taking it). NULL is fine. */
void db_unlock(db_lock *l);
