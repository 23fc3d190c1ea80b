/* ctl.h - `trayflash ctl`: a running station takes its lot and operator (and says its state)
 * over a unix socket beside its database, `<db>.ctl`, mode 0600; the server also checks each
 * caller's uid (SO_PEERCRED): only the station's own user (or root) is heard.
 *
 * The protocol is text, one request a line, one reply a line:
 *   lot VALUE        -> ok ... | error WORDS      (an empty VALUE clears it)
 *   operator VALUE   -> ok ... | error WORDS
 *   answer BAY yes|no -> ok ... | error WORDS     (on_already_passed = ask: the bay's question)
 *   status           -> ok lot=VALUE operator=VALUE waiting=yes|no asking=BAY,BAY|none
 *                       then one line per asking bay: ok bay NN asks: MAC QUESTION (waited
 *                       S s, skips in S s)
 * The client half-closes after its requests; the server answers and closes. A lot and an
 * operator sent together take effect together (one change: no job starts between them). */
#pragma once
#include <stddef.h>

struct station;
typedef struct ctl_server ctl_server;

/* The socket of the station writing `db_path`. -1 with words if the path does not fit. */
int ctl_socket_path(const char *db_path, char *out, size_t outlen, char *err, size_t errlen);
/* Listens at `path` (a stale socket of a dead station is replaced: the caller holds the
 * database lock, so no live station owns it) and serves on a thread of its own. */
ctl_server *ctl_server_start(struct station *st, const char *path, char *err, size_t errlen);
/* Stops serving, joins the thread and removes the socket. NULL is fine. */
void ctl_server_stop(ctl_server *c);
