/* central_conn.c - connecting to the central store and reading its words (see central_internal.h). */
#include "central_internal.h"
#include <stdio.h>
#include <string.h>

enum { CONN_KEYS = 11 };

/* The target as libpq keywords. Our defaults come before the conninfo, which is expanded in
 * place (expand_dbname), so its own words override them; the passfile comes after it. TCP
 * keepalives and a user timeout: a server gone without a word (a cable pulled) fails the
 * forwarder's batch in tens of seconds, not after the kernel's two hours. */
static void target_params(const central_target *t, const char **k, const char **v, char *timeout,
                          size_t timeout_len, char *options, size_t options_len)
{
    int n = 0;
    k[n] = "application_name";
    v[n++] = t->application_name ? t->application_name : "trayflash";
    k[n] = "keepalives_idle";
    v[n++] = "10";
    k[n] = "keepalives_interval";
    v[n++] = "5";
    k[n] = "keepalives_count";
    v[n++] = "3";
    k[n] = "tcp_user_timeout";
    v[n++] = "30000";
    if (t->connect_timeout_s > 0) {
        snprintf(timeout, timeout_len, "%d", t->connect_timeout_s);
        k[n] = "connect_timeout";
        v[n++] = timeout;
    }
    if (t->statement_timeout_ms > 0) {
        snprintf(options, options_len, "-c statement_timeout=%d", t->statement_timeout_ms);
        k[n] = "options";
        v[n++] = options;
    }
    k[n] = "dbname";
    v[n++] = t->conninfo ? t->conninfo : "";
    if (t->passfile && *t->passfile) {
        k[n] = "passfile";
        v[n++] = t->passfile;
    }
    k[n] = v[n] = NULL;
}

PGconn *central_connect(const central_target *t, const char *what, char *err, size_t errlen)
{
    const char *k[CONN_KEYS], *v[CONN_KEYS];
    char timeout[16], options[48];
    target_params(t, k, v, timeout, sizeof timeout, options, sizeof options);
    PGconn *c = PQconnectdbParams(k, v, 1);
    if (PQstatus(c) != CONNECTION_OK) {
        central_pg_error(err, errlen, what, c);
        PQfinish(c);
        return NULL;
    }
    return c;
}

PGconn *central_connect_start(const central_target *t)
{
    const char *k[CONN_KEYS], *v[CONN_KEYS];
    char timeout[16], options[48];
    target_params(t, k, v, timeout, sizeof timeout, options, sizeof options);
    return PQconnectStartParams(k, v, 1);
}

/* libpq's messages end in newlines and may run over several lines: the first one says it. */
static void first_line(char *err, size_t errlen, const char *what, const char *m, const char *state)
{
    if (!m || !*m)
        m = "no message";
    if (!strncmp(m, "ERROR:  ", 8))
        m += 8;
    int n = (int)strcspn(m, "\n");
    if (state && *state)
        snprintf(err, errlen, "%s: %.*s [%s]", what, n, m, state);
    else
        snprintf(err, errlen, "%s: %.*s", what, n, m);
}

void central_pg_error(char *err, size_t errlen, const char *what, PGconn *c)
{
    first_line(err, errlen, what, c ? PQerrorMessage(c) : "out of memory", NULL);
}

void central_result_error(char *err, size_t errlen, const char *what, const PGresult *r)
{
    const char *m = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    first_line(err, errlen, what, m ? m : r ? PQresultErrorMessage(r) : "no reply",
               r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL);
}

int central_exec(PGconn *c, const char *sql, char *err, size_t errlen)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    int rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : -1;
    if (rc < 0)
        central_result_error(err, errlen, "central", r);
    PQclear(r);
    return rc;
}

bool central_sqlstate_permanent(const char *s)
{
    return s && (!strncmp(s, "23", 2) || !strncmp(s, "22", 2));
}
