/* Poll start mode with simulated bays (the station in this process, bksim in-process):
 * three fixed adapters; bays 1 and 2 hold a module, bay 3's module never enters download
 * mode (an empty socket, as far as a probe can tell). Idle bays are probed; a module that
 * answers is flashed once; after its pass, later probes find the same MAC and start no job;
 * bay 3 is probed but never flashed; the operator's retry forces a second flash of bay 1.
 * bksim cannot swap the module in a socket, so "a new module is flashed" is seen only as the
 * first flash of each bay. Waits poll the simulator's counters up to a deadline. */
#include "check.h"
#include "robust_util.h"

#define PROFILE TRAYFLASH_SOURCE_DIR "/profiles/demo-small.ini"

static bool two_passed(void *ctx)
{
    station *st = ctx;
    int pass, fail;
    station_counts(st, &pass, &fail);
    return pass >= 2;
}

static bool three_passed(void *ctx)
{
    station *st = ctx;
    int pass, fail;
    station_counts(st, &pass, &fail);
    return pass >= 3;
}

static uint64_t links_after[2], resets_after_empty;

/* Two more LinkChecks answered on bays 1 and 2 since the passes, and bay 3 reset again. */
static bool probed_again(void *ctx)
{
    station *st = ctx;
    for (int i = 0; i < 2; i++) {
        bksim_stats s;
        bksim_get_stats(station_sim(st), i, &s);
        if (s.links < links_after[i] + 2)
            return false;
    }
    bksim_stats s;
    bksim_get_stats(station_sim(st), 2, &s);
    return s.resets >= resets_after_empty + 2;
}

static int count_starts(const char *text, int bay)
{
    char want[32];
    snprintf(want, sizeof want, " bay %02d LINK 0%% - - start #", bay);
    int n = 0;
    for (const char *p = text; (p = strstr(p, want)); p++)
        n++;
    return n;
}

int main(void)
{
    enum { N = 3 };
    char dir[64], db_path[256], err[512];
    ru_mkdtemp(dir, sizeof dir);
    snprintf(db_path, sizeof db_path, "%s/t.db", dir);
    bksim_module_config mods[N];
    for (int i = 0; i < N; i++)
        bksim_module_config_default(&mods[i]);
    if (!bksim_fault_parse("no-download", &mods[2].faults, err, sizeof err))
        return 2;

    static station_opts o;
    memset(&o, 0, sizeof o);
    station_config_defaults(&o.cfg);
    o.cfg.pool_size = 4;
    o.cfg.start_mode = SC_START_POLL;
    o.cfg.poll_interval_ms = 100; /* the config's floor: probes come quickly in a test */
    o.profile_path = PROFILE;
    o.db_path = db_path;
    FILE *out = tmpfile();
    o.headless_out = out;
    o.sim_count = N;
    o.sim_modules = mods;
    o.sim_time_scale = 0.25;
    o.sim_seed = 5;
    o.link_timeout_ms = 1500;
    station *st = station_start(&o, err, sizeof err);
    if (!st) {
        fprintf(stderr, "station_start: %s\n", err);
        return 2;
    }
    CHECK(check_wait_until(two_passed, st, 60 * 1000));
    for (int i = 0; i < 2; i++) {
        bksim_stats s;
        bksim_get_stats(station_sim(st), i, &s);
        links_after[i] = s.links;
    }
    bksim_stats s3;
    bksim_get_stats(station_sim(st), 2, &s3);
    resets_after_empty = s3.resets;
    CHECK(check_wait_until(probed_again, st, 60 * 1000));
    int pass, fail;
    station_counts(st, &pass, &fail);
    CHECK_EQ_INT(pass, 2); /* probed again and again, flashed once */
    CHECK_EQ_INT(fail, 0);

    /* the operator's retry flashes the same module again */
    station_actions a = station_get_actions(st);
    char msg[200];
    /* taken even while a probe holds the bay: the probe's end sees the retry */
    CHECK_EQ_INT(a.retry_bay(a.ctx, 1, msg, sizeof msg), 0);
    CHECK(check_wait_until(three_passed, st, 60 * 1000));

    station_request_stop(st);
    CHECK_EQ_INT(station_wait(st), 0);
    station_free(st);
    CHECK_EQ_INT(check_db_int(db_path, "select count(*) from attempt where bay = 1"), 2);
    CHECK_EQ_INT(check_db_int(db_path, "select count(*) from attempt where bay = 2"), 1);
    CHECK_EQ_INT(check_db_int(db_path, "select count(*) from attempt where bay = 3"), 0);
    CHECK_EQ_INT(check_db_int(db_path, "select count(*) from attempt where outcome = 'pass'"), 3);
    CHECK_EQ_INT(check_db_int(db_path, "select count(distinct mac) from attempt where bay = 1"), 1);

    fflush(out);
    long n = ftell(out);
    char *text = calloc(1, (size_t)n + 1);
    rewind(out);
    if (fread(text, 1, (size_t)n, out) != (size_t)n)
        text[0] = 0;
    fclose(out);
    CHECK_EQ_INT(count_starts(text, 1), 2);
    CHECK_EQ_INT(count_starts(text, 2), 1);
    CHECK_EQ_INT(count_starts(text, 3), 0);
    if (check_failures())
        fprintf(stderr, "headless output:\n%s", text);
    free(text);
    ru_rmrf(dir);
    return CHECK_DONE();
}
