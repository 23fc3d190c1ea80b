/* db_internal.h - what the report code of this folder needs from the store; not installed, not
 * included outside db/. */
#pragma once
#include <sqlite3.h>
#include "db.h"

sqlite3 *db_sqlite(db *d);
/* Lets the report code leave its error on the handle, for calls without an err buffer. */
void db_set_errmsg(db *d, const char *msg);
/* Leaves "what: <SQLite's words>" on the handle, with SQLite's result code for
 * db_failure_retryable. */
void db_set_sqlite_errmsg(db *d, const char *what);
const char *db_path_of(const db *d);
