/* test_central_chaos.c - nothing lost, nothing doubled, while the central server and the station
 * come and go (label pg; a cluster of its own, since it stops the server):
 *   restarts_and_kills - the real `trayflash station --sim 12 --once --central URL` flashes
 *     round after round; in 10 rounds the server is stopped (immediate: connections drop
 *     mid-transaction) and started again twice while the bays flash (20 restarts), and the
 *     station must still finish every module with exit 0; in 5 more rounds the station is
 *     SIGKILLed at a different point of its run while it flashes and forwards. Then `trayflash
 *     sync --once` sends the rest: every finished attempt of the file is in PostgreSQL exactly
 *     once (the same UUIDs, no more), nothing is parked, and the station itself had sent
 *     records before the final sync.
 * Arguments: the trayflash binary, tests/db/pg_cluster.sh. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "central.h"
#include "central_fixture.h"
#include "check.h"

enum { BAYS = 12, RESTART_ROUNDS = 10, KILL_ROUNDS = 5, LINE_WAIT_MS = 60000 };

typedef struct child {
    pid_t pid;
    int fd;
    char buf[8192];
    size_t len;
} child;

static void spawn(child *ch, const char *const argv[])
{
    int p[2];
    REQUIRE(pipe(p) == 0);
    ch->pid = fork();
    REQUIRE(ch->pid >= 0);
    if (ch->pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(p[1]);
    ch->fd = p[0];
    ch->len = 0;
}

/* The next line of the child's output into line; false at its end. */
static bool next_line(child *ch, char *line, size_t len)
{
    for (;;) {
        char *nl = memchr(ch->buf, '\n', ch->len);
        if (nl) {
            size_t n = (size_t)(nl - ch->buf);
            snprintf(line, len, "%.*s", (int)n, ch->buf);
            memmove(ch->buf, nl + 1, ch->len - n - 1);
            ch->len -= n + 1;
            return true;
        }
        if (ch->len == sizeof ch->buf)
            ch->len = 0; /* a line longer than the buffer: dropped */
        struct pollfd p = {ch->fd, POLLIN, 0};
        REQUIRE_MSG(poll(&p, 1, LINE_WAIT_MS) == 1, "the station printed nothing for a minute");
        ssize_t r = read(ch->fd, ch->buf + ch->len, sizeof ch->buf - ch->len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        ch->len += (size_t)r;
    }
}

/* Reads until the n-th line holding a pass (counted over the run), or the end. */
static bool until_passes(child *ch, int *seen, int n)
{
    char line[2048];
    while (*seen < n) {
        if (!next_line(ch, line, sizeof line))
            return false;
        if (strstr(line, " PASS "))
            (*seen)++;
    }
    return true;
}

static int finish(child *ch)
{
    char line[2048];
    while (next_line(ch, line, sizeof line)) {
    }
    close(ch->fd);
    int status;
    REQUIRE(waitpid(ch->pid, &status, 0) == ch->pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void cluster(const char *script, const char *action, const char *dir)
{
    const char *argv[] = {"/bin/sh", script, action, dir, NULL};
    char *out = NULL;
    int rc = check_capture(argv, true, 60, &out);
    REQUIRE_MSG(rc == 0, "pg_cluster.sh %s: %s", action, out ? out : "");
    free(out);
}

/* Every finished attempt's UUID in the file, sorted, one a line. */
static char *local_uuids(const char *path, long long *n)
{
    sqlite3 *s;
    sqlite3_stmt *st;
    REQUIRE(sqlite3_open(path, &s) == SQLITE_OK);
    REQUIRE(sqlite3_prepare_v2(s, "SELECT uuid FROM attempt WHERE outcome <> 'running' ORDER BY uuid",
                               -1, &st, NULL) == SQLITE_OK);
    size_t cap = 1 << 16, len = 0;
    char *all = malloc(cap);
    REQUIRE(all != NULL);
    *n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (len + 64 > cap)
            REQUIRE((all = realloc(all, cap *= 2)) != NULL);
        len += (size_t)snprintf(all + len, cap - len, "%s\n", sqlite3_column_text(st, 0));
        (*n)++;
    }
    all[len] = 0;
    sqlite3_finalize(st);
    sqlite3_close(s);
    return all;
}

static char *central_uuids(PGconn *c, long long *n)
{
    PGresult *r = PQexec(c, "SELECT uuid::text FROM attempt ORDER BY uuid::text");
    REQUIRE(PQresultStatus(r) == PGRES_TUPLES_OK);
    *n = PQntuples(r);
    char *all = malloc((size_t)*n * 40 + 1);
    REQUIRE(all != NULL);
    size_t len = 0;
    for (int i = 0; i < PQntuples(r); i++)
        len += (size_t)sprintf(all + len, "%s\n", PQgetvalue(r, i, 0));
    all[len] = 0;
    PQclear(r);
    return all;
}

static int case_restarts_and_kills(void)
{
    const char *tf = check_arg(0), *script = check_arg(1);
    REQUIRE(tf && script);
    char dir[300], pgdir[320], dbpath[320], urlfile[340], url[256];
    snprintf(dir, sizeof dir, "%s", cf_tmpdir());
    snprintf(pgdir, sizeof pgdir, "%s/pg", dir);
    snprintf(dbpath, sizeof dbpath, "%s/station.db", dir);
    snprintf(urlfile, sizeof urlfile, "%s/pg-url", pgdir);
    cluster(script, "start", pgdir);
    FILE *f = fopen(urlfile, "r");
    REQUIRE(f && fgets(url, sizeof url, f));
    fclose(f);
    url[strcspn(url, "\n")] = 0;
    const char *central = cf_own_database(url, "tf_chaos");
    char err[600];
    central_target t = {.conninfo = central, .application_name = "chaos test", .connect_timeout_s = 5};
    REQUIRE_MSG(central_init(&t, NULL, NULL, err, sizeof err) == 0, "%s", err);

    char bays[8];
    snprintf(bays, sizeof bays, "%d", BAYS);
    const char *argv[] = {tf, "station", "--sim", bays, "--once", "--headless", "--time-scale", "0.02",
                          "--db", dbpath, "--central", central, "--profile",
                          TRAYFLASH_SOURCE_DIR "/profiles/demo-small.ini", NULL};
    int restarts = 0, kills = 0;
    for (int round = 0; round < RESTART_ROUNDS + KILL_ROUNDS; round++) {
        child ch;
        spawn(&ch, argv);
        int passes = 0;
        if (round < RESTART_ROUNDS) {
            /* away and back twice while the bays flash and the forwarder sends */
            static const int at[][2] = {{1, 3}, {5, 8}};
            for (int k = 0; k < 2; k++) {
                until_passes(&ch, &passes, at[k][0]);
                cluster(script, "pause", pgdir);
                until_passes(&ch, &passes, at[k][1]);
                cluster(script, "resume", pgdir);
                restarts++;
            }
            int rc = finish(&ch);
            CHECK_MSG(rc == 0, "round %d: the station exited %d with the server coming and going", round, rc);
        } else {
            /* killed at a different point each round: after 1, 3, 5, 7, 9 passes */
            until_passes(&ch, &passes, 1 + 2 * (round - RESTART_ROUNDS));
            kill(ch.pid, SIGKILL);
            CHECK_EQ_INT(finish(&ch), 128 + SIGKILL);
            kills++;
        }
    }
    CHECK_EQ_INT(restarts, 2 * RESTART_ROUNDS);
    CHECK_EQ_INT(kills, KILL_ROUNDS);

    PGconn *c = cf_connect(central);
    long long by_station = cf_int(c, "SELECT count(*) FROM attempt");
    CHECK_MSG(by_station > 0, "the station's own forwarder sent nothing");
    PQfinish(c);
    const char *sync[] = {tf, "sync", "--once", "--db", dbpath, "--central", central, NULL};
    char *out = NULL;
    int rc = check_capture(sync, true, 120, &out);
    CHECK_MSG(rc == 0, "sync --once exited %d: %s", rc, out ? out : "");
    CHECK_HAS(out, "parked 0, queued 0");
    free(out);

    long long nl = 0, nc = 0;
    char *local = local_uuids(dbpath, &nl);
    c = cf_connect(central);
    char *centre = central_uuids(c, &nc);
    CHECK_EQ_INT(cf_int(c, "SELECT count(DISTINCT uuid) FROM attempt"), nc);
    PQfinish(c);
    CHECK_EQ_INT(nc, nl);
    CHECK_MSG(!strcmp(local, centre), "the station's finished attempts and the central rows differ");
    CHECK(nl >= (long long)BAYS * RESTART_ROUNDS); /* every restart round finished all its bays */
    fprintf(stderr, "chaos: %lld attempts, %lld sent by the station itself, %d restarts, %d kills\n",
            nl, by_station, restarts, kills);
    free(local);
    free(centre);
    cluster(script, "stop", pgdir);
    if (!check_failures()) {
        const char *rm[] = {"/bin/rm", "-rf", dir, NULL};
        char *o = NULL;
        check_capture(rm, true, 30, &o);
        free(o);
    }
    return CHECK_DONE();
}

static const check_case cases[] = {
    {"restarts_and_kills", case_restarts_and_kills},
};

int main(int argc, char **argv)
{
    return CHECK_RUN(argc, argv, cases);
}
