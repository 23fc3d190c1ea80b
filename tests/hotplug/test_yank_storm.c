/* test_yank_storm.c - 100 random plug/unplug events (fixed seed) over 8 fake adapters while
 * the station flashes the modules behind them (ctest hotplug_yank_storm).
 *
 * Each plug carries a fresh bksim module. Between events the test waits on the station's own
 * output (a few lines, or this bay's start or WRITE line), so yanks land in every phase:
 * before the port is opened, during the link, the writes, the verify, after the end.
 * Afterwards, with the station still running: a freshly plugged adapter still flashes and
 * passes, and every attempt the station started has a row with an end. After stop: no row
 * left 'running' (every one pass/fail), rows == job-start lines, and no thread or fd left
 * behind (everything the test made itself is gone by then, so a difference is a leak). */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "check.h"
#include "hp_harness.h"
#include "station.h"

enum { SLOTS = 8, EVENTS = 100, POOL = 8, IMAGE_KIB = 24 };
/* loop + pool + db writer + view builder + headless printer + the ctl socket's server */
#define STATION_THREADS (1 + POOL + 4)

typedef struct storm {
    UMockdevTestbed *tb;
    bksim_server *sim;
    station *st;
    hp_lines lines;
    char dir[64], db_path[128], cfg_path[128], profile[600];
    hp_adapter ad[SLOTS];
    bool plugged[SLOTS];
    int plugs, unplugs;
} storm;

static uint32_t rng_next(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void slot_adapter(int slot, fakeport_adapter *a)
{
    /* a mix of kinds; CH340s have no serial, the others one of their own */
    static const fakeport_kind kinds[3] = {FAKEPORT_CH340, FAKEPORT_CP2102, FAKEPORT_FT232R};
    char usb[16], tty[24], serial[24], err[200];
    snprintf(usb, sizeof usb, "1-%d", slot + 1);
    snprintf(tty, sizeof tty, "ttyUSB%d", slot);
    snprintf(serial, sizeof serial, "YS%04d", slot);
    fakeport_kind k = kinds[slot % 3];
    REQUIRE_MSG(fakeport_adapter_init(a, k, usb, tty, slot, k == FAKEPORT_CH340 ? NULL : serial,
                                     err, sizeof err) == 0, "%s", err);
}

static void write_station_config(storm *s)
{
    snprintf(s->cfg_path, sizeof s->cfg_path, "%s/station.ini", s->dir);
    FILE *f = fopen(s->cfg_path, "w");
    REQUIRE_MSG(f, "%s", s->cfg_path);
    fprintf(f, "[station]\nname = yank-storm\npool_size = %d\n", POOL);
    for (int i = 0; i < SLOTS; i++) {
        fakeport_adapter a;
        char idp[128];
        slot_adapter(i, &a);
        REQUIRE_MSG(fakeport_id_path(&a, idp, sizeof idp) > 0, "id path");
        fprintf(f, "\n[bay %d]\npath = %s\n", i + 1, idp);
    }
    REQUIRE_MSG(fclose(f) == 0, "%s", s->cfg_path);
}

static void plug(storm *s, int slot)
{
    fakeport_adapter a;
    char err[300] = "";
    slot_adapter(slot, &a);
    REQUIRE_MSG(hp_adapter_plug(&s->ad[slot], s->tb, s->sim, &a, NULL, err, sizeof err) == 0,
               "%s", err);
    s->plugged[slot] = true;
    s->plugs++;
}

static void unplug(storm *s, int slot)
{
    hp_adapter_free(&s->ad[slot]);
    s->plugged[slot] = false;
    s->unplugs++;
}

/* The testbed's first use starts GLib helpers; do it before counting threads and fds. */
static void warm_up(UMockdevTestbed *tb)
{
    fakeport_adapter a;
    char err[200] = "";
    slot_adapter(0, &a);
    fakeport *p = fakeport_plug(tb, &a, NULL, NULL, err, sizeof err);
    REQUIRE_MSG(p, "%s", err);
    fakeport_free(p);
}

static void start_station(storm *s)
{
    static station_opts o; /* the station keeps a copy; static only to keep the stack small */
    memset(&o, 0, sizeof o);
    char err[512];
    station_config_defaults(&o.cfg);
    REQUIRE_MSG(station_config_load(s->cfg_path, &o.cfg, err, sizeof err) == 0, "%s", err);
    o.profile_path = s->profile;
    o.db_path = s->db_path;
    o.headless_out = s->lines.out;
    o.link_timeout_ms = 3000;
    s->st = station_start(&o, err, sizeof err);
    REQUIRE_MSG(s->st, "station_start: %s", err);
}

/* How long to let the station run before the next event: measured in its own output. */
static void pace(storm *s, uint32_t *rng, int last_slot, bool last_was_plug)
{
    int from = hp_lines_total(&s->lines);
    char pre[16];
    snprintf(pre, sizeof pre, " bay %02d ", last_slot + 1);
    switch (rng_next(rng) % 6) {
    case 0: /* at once: the port may not even be open yet */
        break;
    case 1: /* anyone's next line */
        hp_lines_wait(&s->lines, from, 300, " bay ", NULL, NULL);
        break;
    case 2:
    case 3: { /* a few lines of anyone's progress */
        int want = from + 1 + (int)(rng_next(rng) % 4);
        while (hp_lines_total(&s->lines) < want &&
               hp_lines_wait(&s->lines, hp_lines_total(&s->lines), 400, " bay ", NULL, NULL) >= 0)
            ;
        break;
    }
    case 4: /* this bay's start: the link is being made */
        if (last_was_plug)
            hp_lines_wait(&s->lines, from, 2000, pre, "start #", NULL);
        break;
    case 5: /* this bay writing */
        if (last_was_plug)
            hp_lines_wait(&s->lines, from, 3000, pre, " WRITE ", NULL);
        break;
    }
}

/* While the station runs: the db writer catches up on its own schedule, so poll the rows
 * against a deadline until every started attempt has its end. */
static bool db_settled(storm *s, int starts, int timeout_ms)
{
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        long long rows = check_db_int(s->db_path, "select count(*) from attempt");
        long long open = check_db_int(s->db_path, "select count(*) from attempt where "
                                               "outcome not in ('pass', 'fail') or end_ts is null");
        if (rows == starts && open == 0)
            return true;
        clock_gettime(CLOCK_MONOTONIC, &now);
        double ms = (now.tv_sec - t0.tv_sec) * 1e3 + (now.tv_nsec - t0.tv_nsec) / 1e6;
        if (ms > timeout_ms) {
            fprintf(stderr, "db: %lld rows (%d starts), %lld without an end\n", rows, starts, open);
            return false;
        }
        struct timespec step = {0, 20 * 1000000L}; /* poll interval of a deadline poll */
        nanosleep(&step, NULL);
    }
}

int main(int argc, char **argv)
{
    support_ensure_umockdev_preload(argv);
    static storm s;
    char err[512];
    REQUIRE_MSG(hp_tempdir(s.dir, sizeof s.dir, "yank") == 0, "mkdtemp");
    snprintf(s.db_path, sizeof s.db_path, "%s/t.db", s.dir);
    REQUIRE_MSG(hp_make_profile(s.dir, IMAGE_KIB, 4242, s.profile, sizeof s.profile, err,
                               sizeof err) == 0, "%s", err);
    write_station_config(&s);

    s.tb = umockdev_testbed_new(); /* before the station's monitor exists */
    REQUIRE_MSG(s.tb, "umockdev_testbed_new");
    warm_up(s.tb);
    int links0, links1;
    int threads0 = hp_count_threads(), fds0 = hp_count_fds(&links0);
    if (getenv("HP_ECHO"))
        hp_dump_fds("before");
    char before[4096];
    hp_list_fds(before, sizeof before);

    bksim_config sc = {.count = 0, .seed = 5, .time_scale = 0.25};
    s.sim = bksim_start(&sc, err, sizeof err);
    REQUIRE_MSG(s.sim, "bksim_start: %s", err);
    REQUIRE_MSG(hp_lines_start(&s.lines, err, sizeof err) == 0, "%s", err);
    start_station(&s);

    uint32_t rng = 0x5eed1234u;
    int max_threads = 0;
    for (int e = 0; e < EVENTS; e++) {
        int slot = (int)(rng_next(&rng) % SLOTS);
        bool was_plug = !s.plugged[slot];
        if (was_plug)
            plug(&s, slot);
        else
            unplug(&s, slot);
        int t = hp_count_threads();
        if (t > max_threads)
            max_threads = t;
        pace(&s, &rng, slot, was_plug);
    }
    /* bksim + the line reader are the test's; the rest must be the station's fixed set */
    CHECK_MSG(max_threads <= threads0 + 2 + STATION_THREADS,
             "%d threads during the storm, at most %d expected", max_threads,
             threads0 + 2 + STATION_THREADS);

    /* out with everything, then one fresh adapter: the station still flashes */
    for (int i = 0; i < SLOTS; i++)
        if (s.plugged[i])
            unplug(&s, i);
    int from = hp_lines_total(&s.lines);
    plug(&s, 3);
    int end = hp_lines_wait(&s.lines, from, 30000, " bay 04 PASS 100% PASS ", NULL, NULL);
    CHECK_MSG(end >= 0, "a fresh adapter after the storm did not pass on bay 04");
    int starts = hp_lines_count(&s.lines, " LINK 0% - - start #", NULL, NULL);
    CHECK_MSG(starts > 0, "no job ever started");
    CHECK_MSG(db_settled(&s, starts, 10000), "db rows do not match the %d job starts", starts);
    unplug(&s, 3);

    station_request_stop(s.st);
    CHECK_EQ_INT(station_wait(s.st), 0);
    station_free(s.st);
    hp_lines_finish(&s.lines);
    int starts_final = hp_lines_count(&s.lines, " LINK 0% - - start #", NULL, NULL);
    CHECK_EQ_INT(check_db_int(s.db_path, "select count(*) from attempt"), starts_final);
    CHECK_EQ_INT(check_db_int(s.db_path, "select count(*) from attempt where outcome = 'running'"), 0);
    CHECK_EQ_INT(check_db_int(s.db_path, "select count(*) from attempt where outcome not in "
                                     "('pass', 'fail') or end_ts is null"), 0);
    long long pass = check_db_int(s.db_path, "select count(*) from attempt where outcome = 'pass'");
    long long removed = check_db_int(s.db_path, "select count(*) from attempt where cause = "
                                             "'adapter_removed'");
    fprintf(stderr, "storm: %d plugs, %d unplugs, %d attempts: %lld pass, %lld adapter_removed, "
                    "%lld other fails\n", s.plugs, s.unplugs, starts_final, pass, removed,
            starts_final - pass - removed);
    CHECK_MSG(pass >= 1, "nothing passed");

    bksim_stop(s.sim);
    int threads1 = hp_count_threads(), fds1 = hp_count_fds(&links1);
    CHECK_MSG(threads1 == threads0, "threads: %d before the station, %d after", threads0,
             threads1);
    int own0 = fds0 - links0, own1 = fds1 - links1;
    fprintf(stderr, "fds: %d before, %d after; of them the testbed's ioctl sockets: %d, %d\n",
            fds0, fds1, links0, links1);
    CHECK_MSG(own1 == own0, "fds: %d before the station, %d after (testbed connections excluded)",
             own0, own1);
    if (own1 != own0 || getenv("HP_ECHO")) {
        fprintf(stderr, "---- open fds (before) ----\n%s", before);
        hp_dump_fds("after");
    }
    if (check_failures())
        hp_lines_dump(&s.lines, "test failed");

    g_object_unref(s.tb);
    hp_lines_free(&s.lines);
    hp_rmtree(s.dir);
    return CHECK_DONE();
}
