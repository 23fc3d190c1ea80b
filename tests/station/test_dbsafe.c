/* test_dbsafe.c - the station's records against the storage and against a second station:
 *   full     - the disk fills while a tray runs (tests/support/full_vfs: every write SQLITE_FULL):
 *              the records are kept and the view says why (db_pending, db_stall, an event line,
 *              the headless line); no new job starts while they wait; once space is back every
 *              attempt is in the file exactly once.
 *   unsaved  - the disk stays full until the station stops: station_wait fails and
 *              station_write_unsaved names the rows the file never got.
 *   lock     - a second station on the same file is refused with words naming this process
 *              (in-process and as the trayflash program, exit 3); the first one's running
 *              attempt is untouched; `report` and `db snapshot` work while it runs, and the
 *              snapshot holds the rows committed before it.
 *   scoped   - at start a station closes ITS OWN attempts left running, not another station's.
 *   clean    - after a clean stop the main file alone (a plain copy, no -wal) holds every row.
 * Waits block on the view's change fd or the child's output with deadlines; nothing sleeps. */
#include "full_vfs.h"
#include "robust_util.h"
#include "check.h"
#include "report.h"

#define PROFILE TRAYFLASH_SOURCE_DIR "/profiles/demo-small.ini"

static const char *trayflash_exe;

typedef struct tcase {
    char dir[64], db_path[160];
    station_opts o;
} tcase;

static void setup(tcase *t, int n, int pool, bool once)
{
    memset(t, 0, sizeof *t);
    ru_mkdtemp(t->dir, sizeof t->dir);
    snprintf(t->db_path, sizeof t->db_path, "%s/t.db", t->dir);
    station_config_defaults(&t->o.cfg);
    t->o.cfg.pool_size = pool;
    t->o.profile_path = PROFILE;
    t->o.db_path = t->db_path;
    t->o.sim_count = n;
    t->o.sim_time_scale = 0.25;
    t->o.sim_seed = 11;
    t->o.once = once;
    t->o.link_timeout_ms = 1500;
}

static station *start(tcase *t, FILE *out)
{
    t->o.headless_out = out;
    char err[512];
    station *st = station_start(&t->o, err, sizeof err);
    if (!st) {
        fprintf(stderr, "station_start: %s\n", err);
        exit(2);
    }
    return st;
}

static bool some_running(const station_view *v, void *arg)
{
    (void)arg;
    return v->running > 0;
}

/* The writer holds records, every job that had started has ended, and every bay without its
 * attempt says it waits for the database: its job was held back, not merely not yet taken. */
static bool stalled_and_idle(const station_view *v, void *arg)
{
    (void)arg;
    if (v->db_pending == 0 || v->running > 0)
        return false;
    for (int i = 0; i < v->n_bays; i++)
        if (v->bays[i].pass_count + v->bays[i].fail_count == 0 &&
            !strstr(v->bays[i].detail, STATION_DB_WAIT_TEXT))
            return false;
    return true;
}

static bool view_has_event(const station_view *v, const char *words)
{
    for (int i = 0; i < v->n_events; i++)
        if (strstr(v->events[i], words))
            return true;
    return false;
}

static long long count_bound(const char *path, const char *sql, const char *text)
{
    return check_db_int_args(path, sql, 1, (const check_sql_arg[]){SQL_TEXT(text)});
}

static int case_full(void)
{
    enum { N = 4 };
    tcase t;
    setup(&t, N, 1, true); /* one job at a time: the held ones are visible */
    FILE *out = tmpfile();
    station *st = start(&t, out);
    station_view *v = malloc(sizeof *v);
    CHECK(ru_wait_view(st, v, some_running, NULL, 60));
    long refused_before = full_vfs_refused();
    full_vfs_arm(true);
    CHECK(ru_wait_view(st, v, stalled_and_idle, NULL, 60));
    CHECK(full_vfs_refused() > refused_before);
    CHECK(strstr(v->db_stall, "full") != NULL);
    CHECK(view_has_event(v, "database cannot save records"));
    /* held back: not every bay has had its attempt, and none runs while records wait */
    CHECK(v->pass + v->fail < N);
    CHECK_EQ_INT(v->running, 0);
    int done_while_full = v->pass + v->fail;
    full_vfs_arm(false);
    CHECK_EQ_INT(station_wait(st), 0);
    station_snapshot(st, v);
    CHECK_EQ_INT(v->db_pending, 0);
    CHECK_EQ_INT(v->pass, N);
    station_free(st);
    char *lines = check_read_file(out);
    fclose(out);
    const char *stall = strstr(lines, "database cannot save records");
    CHECK(stall != NULL);
    CHECK(stall && strstr(stall, "jobs resume") != NULL); /* said after, in order */
    CHECK(stall && strstr(stall, STATION_DB_WAIT_TEXT) != NULL);
    /* every attempt once: N rows, N bays, N modules, all passed, none left running */
    CHECK_EQ_INT(check_db_int(t.db_path, "select count(*) from attempt"), N);
    CHECK_EQ_INT(check_db_int(t.db_path, "select count(*) from attempt where outcome = 'pass'"), N);
    CHECK_EQ_INT(check_db_int(t.db_path, "select count(distinct bay) from attempt"), N);
    CHECK_EQ_INT(check_db_int(t.db_path, "select count(distinct mac) from attempt"), N);
    CHECK_EQ_INT(check_db_int(t.db_path, "select count(*) from module"), N);
    CHECK_EQ_INT(check_db_int(t.db_path, "select count(*) from event_log where text like 'adapter % plugged on %'"),
                 N);
    CHECK_EQ_INT(count_bound(t.db_path, "select count(*) from event_log where instr(text, ?1) = 1",
                             "database cannot save records"), 1);
    CHECK_EQ_INT(count_bound(t.db_path, "select count(*) from event_log where instr(text, ?1) = 1",
                             "database saves again"), 1);
    printf("full: %d of %d attempts done while the disk was full, %ld writes refused\n",
           done_while_full, N, full_vfs_refused() - refused_before);
    free(lines);
    free(v);
    ru_rmrf(t.dir);
    return CHECK_DONE();
}

static int case_unsaved(void)
{
    enum { N = 3 };
    tcase t;
    setup(&t, N, 1, true);
    FILE *out = tmpfile();
    station *st = start(&t, out);
    station_view *v = malloc(sizeof *v);
    CHECK(ru_wait_view(st, v, some_running, NULL, 60));
    full_vfs_arm(true);
    CHECK(ru_wait_view(st, v, stalled_and_idle, NULL, 60));
    int done = v->pass + v->fail;
    CHECK(done >= 1 && done < N);
    station_request_stop(st); /* the operator gives up with the disk still full */
    CHECK_EQ_INT(station_wait(st), -1);
    CHECK(strstr(station_error(st), "could not be saved") != NULL);
    CHECK(strstr(station_error(st), "full") != NULL);
    FILE *list = tmpfile();
    int unsaved = station_write_unsaved(st, list);
    char *text = check_read_file(list);
    fclose(list);
    CHECK(unsaved > 0);
    /* the attempt that ended is named with its result: it can be written down by hand */
    CHECK(strstr(text, "not saved: ") != NULL);
    CHECK(strstr(text, "attempt end: PASS") != NULL);
    full_vfs_arm(false);
    station_free(st);
    fclose(out);
    /* every attempt that ended is in the file or in the list, never in neither */
    int listed_ends = 0;
    for (const char *p = text; (p = strstr(p, "attempt end: ")); p++)
        listed_ends++;
    CHECK(listed_ends >= 1);
    CHECK_EQ_INT(check_db_int(t.db_path, "select count(*) from attempt where outcome in ('pass', 'fail')") +
                     listed_ends, done);
    printf("unsaved: %d records listed\n", unsaved);
    free(text);
    free(v);
    ru_rmrf(t.dir);
    return CHECK_DONE();
}

/* A running attempt of ours is in the file (the view changes with every progress step). */
static bool running_in_file(const station_view *v, void *arg)
{
    return v->running > 0 &&
           check_db_int((const char *)arg, "select count(*) from attempt where outcome = 'running'") > 0;
}

/* Runs the program to its end; its whole output in `text`. */
static int run_program(const char *const argv[], char *text, size_t cap)
{
    ru_child c;
    ru_spawn(&c, argv, NULL);
    size_t len = 0;
    char line[1024];
    double deadline = ru_mono() + 60;
    while (ru_next_line(&c, line, sizeof line, deadline) > 0)
        len += (size_t)snprintf(text + len, len < cap ? cap - len : 0, "%s\n", line);
    return ru_reap(&c);
}

static int case_lock(void)
{
    tcase t, t2;
    setup(&t, 2, 2, false);
    setup(&t2, 1, 1, true);
    station *st = start(&t, NULL);
    station_view *v = malloc(sizeof *v);
    CHECK(ru_wait_view(st, v, running_in_file, t.db_path, 60));

    /* in-process: a second station on the same file */
    t2.o.db_path = t.db_path;
    snprintf(t2.o.cfg.name, sizeof t2.o.cfg.name, "second");
    char err[512], pid[32];
    station_failure why = STATION_FAIL_CONFIG;
    CHECK(station_start_why(&t2.o, &why, err, sizeof err) == NULL);
    CHECK_EQ_INT(why, STATION_FAIL_SETUP);
    snprintf(pid, sizeof pid, "pid %ld", (long)getpid());
    CHECK(strstr(err, "in use by another station") != NULL && strstr(err, pid) != NULL);
    /* the refused station swept nothing: the first one's attempts run on and end as theirs */
    CHECK(check_db_int(t.db_path, "select count(*) from attempt where outcome = 'interrupted'") == 0);

    /* the program: refused with exit 3 and the same words */
    char *text = malloc(1 << 16);
    const char *station_argv[] = {trayflash_exe, "station", "--profile", PROFILE, "--sim", "1",
                            "--headless", "--once", "--db", t.db_path, NULL};
    CHECK_EQ_INT(run_program(station_argv, text, 1 << 16), 3);
    CHECK(strstr(text, "in use by another station") != NULL && strstr(text, pid) != NULL);
    /* readers are not locked out */
    const char *report_argv[] = {trayflash_exe, "report", "--db", t.db_path, "--format", "csv", NULL};
    CHECK_EQ_INT(run_program(report_argv, text, 1 << 16), 0);
    char snap[200];
    snprintf(snap, sizeof snap, "%s/snap.db", t.dir);
    long long rows = check_db_int(t.db_path, "select count(*) from attempt");
    const char *snap_argv[] = {trayflash_exe, "db", "snapshot", snap, "--db", t.db_path, NULL};
    CHECK_EQ_INT(run_program(snap_argv, text, 1 << 16), 0);
    char snap_wal[220];
    snprintf(snap_wal, sizeof snap_wal, "%s-wal", snap);
    CHECK(access(snap_wal, F_OK) != 0); /* one file, nothing beside it */
    CHECK(check_db_int(snap, "select count(*) from attempt") >= rows);
    CHECK_EQ_INT(run_program(snap_argv, text, 1 << 16), 3); /* exists: refused */
    CHECK(strstr(text, "--force") != NULL);

    station_request_stop(st);
    CHECK_EQ_INT(station_wait(st), 0);
    station_free(st);
    /* stopped: the lock is gone with it */
    t2.o.db_path = t.db_path;
    station *st2 = station_start(&t2.o, err, sizeof err);
    CHECK(st2 != NULL);
    if (st2) {
        CHECK_EQ_INT(station_wait(st2), 0);
        station_free(st2);
    }
    free(text);
    free(v);
    ru_rmrf(t.dir);
    ru_rmrf(t2.dir);
    return CHECK_DONE();
}

static int case_scoped(void)
{
    tcase t;
    setup(&t, 1, 1, true);
    char host[128] = "", err[512];
    gethostname(host, sizeof host - 1);
    db *d;
    if (db_open(t.db_path, false, &d, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    int64_t mine = db_station_upsert(d, t.o.cfg.name, host);
    int64_t other = db_station_upsert(d, "line-9", host);
    db_attempt a = {.station_id = mine, .bay = 1, .start_ts = 1000};
    int64_t left = db_attempt_begin(d, &a);
    a.station_id = other;
    int64_t theirs = db_attempt_begin(d, &a);
    CHECK(mine > 0 && other > 0 && left > 0 && theirs > 0);
    db_close(d);
    station *st = start(&t, NULL);
    CHECK_EQ_INT(station_wait(st), 0);
    station_free(st);
    char *o1 = check_db_text_args(t.db_path, "select outcome from attempt where id = ?1", 1,
                                  (const check_sql_arg[]){SQL_INT(left)});
    char *o2 = check_db_text_args(t.db_path, "select outcome from attempt where id = ?1", 1,
                                  (const check_sql_arg[]){SQL_INT(theirs)});
    CHECK(o1 && !strcmp(o1, "interrupted"));
    CHECK(o2 && !strcmp(o2, "running"));
    free(o1);
    free(o2);
    ru_rmrf(t.dir);
    return CHECK_DONE();
}

static int case_clean(void)
{
    enum { N = 3 };
    tcase t;
    setup(&t, N, 3, true);
    station *st = start(&t, NULL);
    CHECK_EQ_INT(station_wait(st), 0);
    station_free(st);
    /* what `cp trayflash.db` takes after a clean stop: the main file only */
    char copy[200];
    snprintf(copy, sizeof copy, "%s/copy.db", t.dir);
    ru_copy_file(t.db_path, copy);
    CHECK_EQ_INT(check_db_int(copy, "select count(*) from attempt where outcome = 'pass'"), N);
    ru_rmrf(t.dir);
    return CHECK_DONE();
}

/* Before every case: the failing VFS as the process's default, and the program under test. */
static void install_vfs(void)
{
    trayflash_exe = check_arg(0) ? check_arg(0) : "trayflash";
    if (full_vfs_install() < 0) {
        fprintf(stderr, "cannot install the test VFS\n");
        exit(2);
    }
}

int main(int argc, char **argv)
{
    static const check_case cases[] = {
        {"full", case_full}, {"unsaved", case_unsaved}, {"lock", case_lock},
        {"scoped", case_scoped}, {"clean", case_clean},
    };
    return check_run(argc, argv, cases, sizeof cases / sizeof cases[0], install_vfs, NULL);
}
