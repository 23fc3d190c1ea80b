/* Crash test: the real program (`trayflash station --sim 4 --headless`, bksim inside it) is
 * killed with SIGKILL at five moments of a simulated batch, chosen by a fixed seed from five
 * successive stretches of its output. Two of the four modules fail early (wrong chip,
 * brown-out at the first write) so attempt ends are spread over the batch. With
 * TRAYFLASH_DEBUG=db the db writer says, after each commit, which attempt ends it made
 * durable; after every kill:
 *   - db_open succeeds and PRAGMA integrity_check says ok;
 *   - every attempt the program said it committed is there with outcome pass or fail;
 *   - the attempts a previous kill left 'running' are now 'interrupted' (the next start ran
 *     db_mark_interrupted before its first line).
 * Last, a run to the end (--once) on the same database: it finishes normally.
 * Usage: test_station_crash PATH_TO_TRAYFLASH */
#include <sqlite3.h>
#include "check.h"
#include "db.h"
#include "robust_util.h"

#define PROFILE TRAYFLASH_SOURCE_DIR "/profiles/demo-small.ini"
#define KILLS 5
#define MAX_IDS 256

typedef struct idset {
    long long id[MAX_IDS];
    int n;
} idset;

static void add_id(idset *s, long long id)
{
    if (s->n < MAX_IDS)
        s->id[s->n++] = id;
}

static char *outcome_of(const char *db_path, long long id)
{
    return check_db_text_args(db_path, "select outcome from attempt where id = ?1", 1,
                           (const check_sql_arg[]){SQL_INT(id)});
}

static void running_ids(const char *db_path, idset *out)
{
    out->n = 0;
    sqlite3 *d;
    sqlite3_stmt *s;
    if (sqlite3_open_v2(db_path, &d, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(d, "select id from attempt where outcome = 'running'", -1, &s, NULL) ==
            SQLITE_OK) {
        while (sqlite3_step(s) == SQLITE_ROW)
            add_id(out, sqlite3_column_int64(s, 0));
        sqlite3_finalize(s);
    }
    sqlite3_close(d);
}

static void check_db_clean(const char *db_path)
{
    db *d = NULL;
    char err[512];
    int rc = db_open(db_path, false, &d, err, sizeof err);
    CHECK_EQ_INT(rc, 0);
    if (rc < 0)
        fprintf(stderr, "db_open after kill: %s\n", err);
    db_close(d);
    char *ok = check_db_text(db_path, "pragma integrity_check");
    CHECK(ok && !strcmp(ok, "ok"));
    free(ok);
}

/* Runs the station until `kill_after` lines were read (then SIGKILL) or its end (kill_after
 * < 0). Committed attempt ends are added to `committed`; returns the exit code. */
static int run_station(const char *tf, const char *db_path, const char *scenario, int kill_after,
                       idset *committed, int *lines_read)
{
    const char *argv[] = {(char *)tf, "station", "--sim", "4", "--headless", "--db", (char *)db_path,
                    "--profile", PROFILE, "--sim-scenario", (char *)scenario, "--time-scale",
                    "0.25", "--link-timeout-ms", "1500", kill_after < 0 ? "--once" : NULL, NULL};
    ru_child c;
    ru_spawn(&c, argv, "db");
    char line[800];
    int n = 0, r;
    double deadline = ru_mono() + 60;
    while ((kill_after < 0 || n < kill_after) &&
           (r = ru_next_line(&c, line, sizeof line, deadline)) > 0) {
        n++;
        const char *p = strstr(line, "db committed end of attempt ");
        long long id;
        if (p && sscanf(p, "db committed end of attempt %lld", &id) == 1)
            add_id(committed, id);
    }
    if (kill_after >= 0)
        kill(c.pid, SIGKILL);
    *lines_read = n;
    return ru_reap(&c);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_station_crash PATH_TO_TRAYFLASH\n");
        return 2;
    }
    const char *tf = argv[1];
    char dir[64], db_path[256], scenario[256];
    ru_mkdtemp(dir, sizeof dir);
    snprintf(db_path, sizeof db_path, "%s/crash.db", dir);
    snprintf(scenario, sizeof scenario, "%s/faults.ini", dir);
    ru_write_file(scenario, "[module 2]\nfault = wrong-chip\n\n[module 3]\n"
                            "fault = brownout-first-write\n");

    unsigned seed = 20240611;
    idset committed_all = {.n = 0}, left_running = {.n = 0};
    int kills_with_commits = 0, kills_with_running = 0;
    for (int k = 0; k < KILLS; k++) {
        /* a batch prints about 90 lines: spread the kills over it */
        int kill_after = 2 + 14 * k + (int)(rand_r(&seed) % 14);
        idset committed = {.n = 0};
        int lines = 0;
        int rc = run_station(tf, db_path, scenario, kill_after, &committed, &lines);
        fprintf(stderr, "run %d: killed after %d lines (asked %d), exit %d, %d ends committed\n",
                k, lines, kill_after, rc, committed.n);
        CHECK_EQ_INT(rc, 128 + SIGKILL);
        check_db_clean(db_path);
        for (int i = 0; i < committed.n; i++) {
            char *o = outcome_of(db_path, committed.id[i]);
            if (!o || (strcmp(o, "pass") && strcmp(o, "fail"))) {
                fprintf(stderr, "attempt %lld was committed but is %s\n", committed.id[i],
                        o ? o : "missing");
                check_failed();
            }
            free(o);
            add_id(&committed_all, committed.id[i]);
        }
        /* what the kill before this run left running, this run's start closed */
        for (int i = 0; i < left_running.n; i++) {
            char *o = outcome_of(db_path, left_running.id[i]);
            CHECK(o && !strcmp(o, "interrupted"));
            free(o);
        }
        running_ids(db_path, &left_running);
        kills_with_commits += committed.n > 0;
        kills_with_running += left_running.n > 0;
    }
    /* the kills fell both between ends and with attempts under way */
    CHECK(kills_with_commits > 0);
    CHECK(kills_with_running > 0);

    long before = check_db_int(db_path, "select coalesce(max(id), 0) from attempt");
    idset last = {.n = 0};
    int lines = 0;
    int rc = run_station(tf, db_path, scenario, -1, &last, &lines);
    CHECK_EQ_INT(rc, 1); /* --once with two failing modules */
    check_db_clean(db_path);
    for (int i = 0; i < left_running.n; i++) {
        char *o = outcome_of(db_path, left_running.id[i]);
        CHECK(o && !strcmp(o, "interrupted"));
        free(o);
    }
    CHECK_EQ_INT(check_db_int(db_path, "select count(*) from attempt where outcome = 'running'"), 0);
    CHECK_EQ_INT(check_db_int_args(db_path,
                                "select count(*) from attempt where id > ?1 and outcome = 'pass'",
                                1, (const check_sql_arg[]){SQL_INT(before)}),
                 2);
    CHECK_EQ_INT(check_db_int_args(db_path,
                                "select count(*) from attempt where id > ?1 and outcome = 'fail'",
                                1, (const check_sql_arg[]){SQL_INT(before)}),
                 2);
    CHECK_EQ_INT(last.n, 4);
    for (int i = 0; i < committed_all.n; i++) {
        char *o = outcome_of(db_path, committed_all.id[i]);
        CHECK(o && (!strcmp(o, "pass") || !strcmp(o, "fail")));
        free(o);
    }
    ru_rmrf(dir);
    return CHECK_DONE();
}
