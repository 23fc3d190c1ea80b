/* central_guard.c - the cross-station guard's question, answered within a deadline (see
 * central.h). The connect and the query are non-blocking, polled against one deadline; when it
 * passes, the query is cancelled and the caller falls back to the station's own records. */
#include "central.h"
#include "central_internal.h"
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for the socket until the deadline; false when the time is up. */
static bool wait_socket(PGconn *c, bool for_write, long long deadline)
{
    long long left = deadline - now_ms();
    if (left <= 0)
        return false;
    struct pollfd p = {PQsocket(c), for_write ? POLLOUT : POLLIN, 0};
    int rc;
    while ((rc = poll(&p, 1, (int)left)) < 0 && errno == EINTR)
        if ((left = deadline - now_ms()) <= 0)
            return false;
    return rc > 0;
}

static int connect_by(const central_target *t, long long deadline, PGconn **out, char *err, size_t errlen)
{
    PGconn *c = central_connect_start(t);
    *out = NULL;
    if (!c || PQstatus(c) == CONNECTION_BAD) {
        central_pg_error(err, errlen, "guard: connecting to the central database", c);
        PQfinish(c);
        return -1;
    }
    PostgresPollingStatusType ps = PGRES_POLLING_WRITING;
    while (ps != PGRES_POLLING_OK) {
        if (ps == PGRES_POLLING_FAILED) {
            central_pg_error(err, errlen, "guard: connecting to the central database", c);
            PQfinish(c);
            return -1;
        }
        if (!wait_socket(c, ps == PGRES_POLLING_WRITING, deadline)) {
            snprintf(err, errlen, "guard: the central database did not answer in time (connecting)");
            PQfinish(c);
            return -1;
        }
        ps = PQconnectPoll(c);
    }
    *out = c;
    return 0;
}

static void read_answer(const PGresult *r, central_guard_answer *a)
{
    memset(a, 0, sizeof *a);
    if (PQntuples(r) < 1)
        return;
    a->passed = true;
    snprintf(a->station, sizeof a->station, "%s", PQgetvalue(r, 0, 0));
    snprintf(a->station_uuid, sizeof a->station_uuid, "%s", PQgetvalue(r, 0, 1));
    snprintf(a->line, sizeof a->line, "%s", PQgetvalue(r, 0, 2));
    a->end_ts = strtod(PQgetvalue(r, 0, 3), NULL);
    a->passes = atoi(PQgetvalue(r, 0, 4));
}

int central_guard_lookup(const central_target *t, const char *mac, const char *product,
                         int timeout_ms, central_guard_answer *a, char *err, size_t errlen)
{
    memset(a, 0, sizeof *a);
    long long deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 300);
    PGconn *c;
    if (connect_by(t, deadline, &c, err, errlen) < 0)
        return -1;
    const char *v[2] = {mac, product};
    int rc = -1;
    if (!PQsendQueryParams(c, "SELECT station_name, station_uuid, line, end_ts, passes "
                              "FROM tf_guard($1, $2)", 2, NULL, v, NULL, NULL, 0)) {
        central_pg_error(err, errlen, "guard: asking", c);
        goto done;
    }
    bool answered = false;
    for (;;) {
        if (!PQconsumeInput(c)) {
            central_pg_error(err, errlen, "guard: reading the answer", c);
            goto done;
        }
        if (!PQisBusy(c))
            break;
        if (!wait_socket(c, false, deadline)) {
            snprintf(err, errlen, "guard: the central database did not answer in %d ms", timeout_ms);
            PGcancel *cancel = PQgetCancel(c);
            char ignore[64];
            if (cancel)
                PQcancel(cancel, ignore, sizeof ignore);
            PQfreeCancel(cancel);
            goto done;
        }
    }
    PGresult *r;
    while ((r = PQgetResult(c))) {
        if (PQresultStatus(r) == PGRES_TUPLES_OK && !answered) {
            read_answer(r, a);
            answered = true;
        } else if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            central_result_error(err, errlen, "guard", r);
            answered = false;
            rc = -2;
        }
        PQclear(r);
    }
    rc = answered && rc != -2 ? 0 : -1;
done:
    PQfinish(c);
    return rc;
}
