/* central_internal.h - what the central store's files share (db/ only): connecting with a
 * central_target, the server's words, and what an SQLSTATE means for a record. */
#pragma once
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include "central.h"

/* Connects (blocking, the target's connect timeout). NULL with err = "what: libpq's words". */
PGconn *central_connect(const central_target *t, const char *what, char *err, size_t errlen);
/* Starts a non-blocking connect (PQconnectStartParams); NULL only when out of memory. */
PGconn *central_connect_start(const central_target *t);
/* "what: <the server's or libpq's first line>" into err. */
void central_pg_error(char *err, size_t errlen, const char *what, PGconn *c);
/* The same from a result (its primary message; the SQLSTATE in brackets when there is one). */
void central_result_error(char *err, size_t errlen, const char *what, const PGresult *r);
/* A command without rows (one or several statements, no parameters); 0 when the server said yes. */
int central_exec(PGconn *c, const char *sql, char *err, size_t errlen);

/* A record the server refuses for what it holds, not for the moment: a broken constraint
 * (SQLSTATE class 23) or a value it cannot take (class 22). Sending it again gives the same
 * refusal, so the forwarder parks it. Anything else (the server away, a lock, privileges, a
 * schema too old) is the moment's, and the record waits. */
bool central_sqlstate_permanent(const char *sqlstate);
