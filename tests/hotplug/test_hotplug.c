/* test_hotplug.c - "hot-plugged adapters become bays", through the real libudev monitor and
 * the real libserialport under umockdev (ctest hotplug_udev).
 *
 * In one process: a umockdev testbed (made before the station, so the station's udev
 * monitor gets its uevents), a bksim server with no modules of its own, and a station on the
 * udev source whose config maps three USB port paths to bays 5, 6, 7. Each fake adapter's pty
 * master carries a fresh simulated module, and the adapter's DTR/RTS (set by the engine
 * through libserialport) reach the module, so the engine's reset pulse is what resets it.
 *
 * Round 1: FT232 on port 1-3 as ttyUSB0 (plugged before the station starts: enumerated),
 *          then hot-plugged: CH340 (no serial) on 1-1 as ttyUSB1, CP2102 on 1-2 as ttyUSB2,
 *          and a CP2102 on an unconfigured port 1-4 as ttyUSB3. Each adapter
 *          becomes its port's bay whatever its tty number, the stranger gets bay 01 and a
 *          warning saying so; every module passes and holds the image byte for byte; no job
 *          asked for a power-cycle.
 * Round 2: all four unplugged, three fresh modules plugged on 1-1..1-3; the one on bay 06
 *          (a slow-flash module) is yanked once its WRITE progress shows: only bay 06 ends
 *          with adapter_removed, 05 and 07 pass. The same tty name is plugged again on the
 *          same port: bay 06 flashes again and passes.
 * Then the database: one row per attempt, each with adapter vid:pid:serial and port path,
 * none left running. */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "hp_harness.h"
#include "profile.h"
#include "station.h"

#define PROFILE TRAYFLASH_SOURCE_DIR "/profiles/demo-small.ini"
#define FLASH_TIMEOUT_MS 40000

typedef struct plug_spec {
    fakeport_kind kind;
    const char *usb_path, *tty;
    int minor;
    const char *serial; /* NULL: the kind's default */
    int bay;
    const char *adapter; /* what the station should record: vid:pid:serial */
} plug_spec;

static const plug_spec round1[] = {
    {FAKEPORT_FT232R, "1-3", "ttyUSB0", 0, NULL, 7, "0403:6001:A50285BI"},
    {FAKEPORT_CH340, "1-1", "ttyUSB1", 1, NULL, 5, "1a86:7523:"},
    {FAKEPORT_CP2102, "1-2", "ttyUSB2", 2, NULL, 6, "10c4:ea60:0001"},
    {FAKEPORT_CP2102, "1-4", "ttyUSB3", 3, "HP0004", 1, "10c4:ea60:HP0004"},
};
enum { N1 = 4, YANKED = 2 /* round1[2]: bay 06 */ };

typedef struct bench {
    UMockdevTestbed *tb;
    bksim_server *sim;
    station *st;
    hp_lines lines;
    tf_profile prof;
    char dir[64], db_path[128], cfg_path[128];
} bench;

static void plug(bench *b, hp_adapter *h, const plug_spec *p, const bksim_module_config *mc)
{
    fakeport_adapter a;
    char err[300] = "";
    REQUIRE_MSG(fakeport_adapter_init(&a, p->kind, p->usb_path, p->tty, p->minor, p->serial, err,
                                     sizeof err) == 0, "%s", err);
    REQUIRE_MSG(hp_adapter_plug(h, b->tb, b->sim, &a, mc, err, sizeof err) == 0, "%s", err);
}

static void write_station_config(bench *b)
{
    snprintf(b->cfg_path, sizeof b->cfg_path, "%s/station.ini", b->dir);
    FILE *f = fopen(b->cfg_path, "w");
    REQUIRE_MSG(f, "%s", b->cfg_path);
    fprintf(f, "[station]\nname = hotplug-test\npool_size = 4\n");
    for (int bay = 5; bay <= 7; bay++) {
        fakeport_adapter a;
        char usb[8], idp[128], err[200];
        snprintf(usb, sizeof usb, "1-%d", bay - 4);
        REQUIRE_MSG(fakeport_adapter_init(&a, FAKEPORT_CP2102, usb, "ttyUSB9", 9, NULL, err,
                                         sizeof err) == 0, "%s", err);
        REQUIRE_MSG(fakeport_id_path(&a, idp, sizeof idp) > 0, "id path");
        fprintf(f, "\n[bay %d]\npath = %s\nname = A%02d\n", bay, idp, bay);
    }
    REQUIRE_MSG(fclose(f) == 0, "%s", b->cfg_path);
}

static void start_station(bench *b)
{
    static station_opts o; /* the station keeps a copy; static only to keep the stack small */
    memset(&o, 0, sizeof o);
    char err[512];
    station_config_defaults(&o.cfg);
    REQUIRE_MSG(station_config_load(b->cfg_path, &o.cfg, err, sizeof err) == 0, "%s", err);
    o.profile_path = PROFILE;
    o.db_path = b->db_path;
    o.headless_out = b->lines.out;
    o.link_timeout_ms = 5000;
    b->st = station_start(&o, err, sizeof err);
    REQUIRE_MSG(b->st, "station_start: %s", err);
}

/* Module flash equals the image, byte for byte. */
static bool flash_matches(bench *b, hp_adapter *h)
{
    const tf_profile_variant *v = &b->prof.variants[0];
    uint8_t *back = calloc(1, v->image.len);
    bool same = back &&
                bksim_read_flash(b->sim, hp_adapter_sim_idx(h), v->image.offset, back,
                                 v->image.len) == 0 &&
                memcmp(back, v->image.data, v->image.len) == 0;
    free(back);
    return same;
}

/* Waits for the attempt on `bay` that started at or after line `from` to end; returns the
 * index of its end line (PASS or FAIL) or -1. */
static int wait_end(bench *b, int bay, int from, char *line, size_t len)
{
    char pre[16];
    snprintf(pre, sizeof pre, " bay %02d ", bay);
    int pass = -1, fail = -1;
    /* whichever comes first: wait for either, checking both */
    int start = hp_lines_wait(&b->lines, from, FLASH_TIMEOUT_MS, pre, " LINK 0% ", "start #");
    if (start < 0)
        return -1;
    for (int i = start;; i++) {
        i = hp_lines_wait(&b->lines, i, FLASH_TIMEOUT_MS, pre, NULL, NULL);
        if (i < 0)
            return -1;
        hp_lines_get(&b->lines, i, line, len);
        if (strstr(line, " PASS 100% PASS "))
            pass = i;
        else if (strstr(line, " FAIL ") && strstr(line, "% FAIL "))
            fail = i;
        if (pass >= 0 || fail >= 0)
            return i;
    }
}

/* ad[0] was plugged before the station started (coldplug: found by enumeration). */
static void round_one(bench *b, hp_adapter *ad)
{
    int from = 0;
    for (int i = 1; i < N1; i++)
        plug(b, &ad[i], &round1[i], NULL);
    for (int i = 0; i < N1; i++) {
        const plug_spec *p = &round1[i];
        char pre[16], want[200], line[700];
        snprintf(pre, sizeof pre, " bay %02d ", p->bay);
        /* the adapter became the bay of its USB port, named as configured */
        snprintf(want, sizeof want, "adapter %s on /dev/%s (%s", p->adapter, p->tty,
                 p->bay == 1 ? "01" : "A0");
        CHECK_MSG(hp_lines_wait(&b->lines, from, FLASH_TIMEOUT_MS, pre, " idle ", want) >= 0,
                 "no '%s' line for bay %02d", want, p->bay);
        int end = wait_end(b, p->bay, from, line, sizeof line);
        CHECK_MSG(end >= 0 && strstr(line, " PASS 100% PASS "), "bay %02d (%s) did not pass: %s",
                 p->bay, p->tty, end >= 0 ? line : "no end line");
        CHECK_MSG(flash_matches(b, &ad[i]), "bay %02d: module flash differs from the image",
                 p->bay);
        /* the reset came through libserialport's RTS, not a power-cycle request */
        CHECK_MSG(hp_adapter_rts_rises(&ad[i]) >= 1, "bay %02d: the module never saw RTS",
                 p->bay);
    }
    char idp[128];
    fakeport_id_path(fakeport_adapter_of(ad[3].port), idp, sizeof idp);
    char want[300];
    snprintf(want, sizeof want, "unknown port %s (/dev/ttyUSB3) became bay 01", idp);
    CHECK_MSG(hp_lines_count(&b->lines, " bay 01 warn ", want, NULL) == 1,
             "no warning '%s'", want);
}

static void round_two(bench *b, hp_adapter *ad)
{
    /* every adapter out (idle ones: nothing to cancel) */
    int from = hp_lines_total(&b->lines);
    for (int i = 0; i < N1; i++)
        hp_adapter_free(&ad[i]);
    for (int i = 0; i < N1; i++) {
        char pre[16], want[64];
        snprintf(pre, sizeof pre, " bay %02d ", round1[i].bay);
        snprintf(want, sizeof want, "adapter removed from /dev/%s", round1[i].tty);
        CHECK_MSG(hp_lines_wait(&b->lines, from, 5000, pre, " empty ", want) >= 0,
                 "no '%s' line", want);
    }

    /* three fresh modules on the configured ports; bay 06's is slow so it is surely
       still writing when it goes */
    from = hp_lines_total(&b->lines);
    bksim_module_config slow;
    bksim_module_config_default(&slow);
    slow.faults.slow_flash = true;
    for (int i = 0; i < 3; i++)
        plug(b, &ad[i], &round1[i], i == YANKED ? &slow : NULL);
    /* a progress line ('B/s'), not just the phase change: bytes are on the wire */
    int wr = hp_lines_wait(&b->lines, from, FLASH_TIMEOUT_MS, " bay 06 WRITE ", " B/s ", NULL);
    CHECK_MSG(wr >= 0, "bay 06 never showed WRITE progress");
    hp_adapter_unplug(&ad[YANKED]);

    char line[700];
    int end6 = wait_end(b, 6, from, line, sizeof line);
    CHECK_MSG(end6 >= 0 && strstr(line, "% FAIL adapter_removed "),
             "bay 06 yanked mid-flash should end adapter_removed: %s", end6 >= 0 ? line : "-");
    for (int i = 0; i < 2; i++) {
        int bay = round1[i].bay;
        int end = wait_end(b, bay, from, line, sizeof line);
        CHECK_MSG(end >= 0 && strstr(line, " PASS 100% PASS "), "bay %02d should pass: %s", bay,
                 end >= 0 ? line : "no end line");
        CHECK_MSG(flash_matches(b, &ad[i]), "bay %02d: flash differs", bay);
    }
    CHECK_MSG(hp_lines_count(&b->lines, "adapter_removed", NULL, NULL) == 1,
             "only one attempt may end adapter_removed");

    /* the same tty name on the same port again: bay 06 flashes a fresh module */
    int again = hp_lines_total(&b->lines);
    hp_adapter_free(&ad[YANKED]);
    plug(b, &ad[YANKED], &round1[YANKED], NULL);
    int end = wait_end(b, 6, again, line, sizeof line);
    CHECK_MSG(end >= 0 && strstr(line, " PASS 100% PASS "), "bay 06 re-plugged should pass: %s",
             end >= 0 ? line : "no end line");
    CHECK_MSG(flash_matches(b, &ad[YANKED]), "bay 06 re-plugged: flash differs");
}

static void check_db(bench *b)
{
    const char *db = b->db_path;
    /* round 1: 4 passes; round 2: 2 passes + 1 adapter_removed; the re-plug: 1 pass */
    CHECK_EQ_INT(check_db_int(db, "select count(*) from attempt"), 8);
    CHECK_EQ_INT(check_db_int(db, "select count(*) from attempt where outcome = 'pass'"), 7);
    CHECK_EQ_INT(check_db_int(db, "select count(*) from attempt where outcome = 'running' "
                              "or end_ts is null"), 0);
    CHECK_EQ_INT(check_db_int(db, "select count(*) from attempt where outcome = 'fail' and bay = 6 "
                              "and cause = 'adapter_removed'"), 1);
    for (int i = 0; i < N1; i++) {
        const plug_spec *p = &round1[i];
        char want_port[32];
        snprintf(want_port, sizeof want_port, "/dev/%s", p->tty);
        const check_sql_arg args[] = {SQL_INT(p->bay), SQL_TEXT(p->adapter), SQL_TEXT(want_port)};
        long long want = p->bay == 1 ? 1 : p->bay == 6 ? 3 : 2;
        long long got = check_db_int_args(db,
                                       "select count(*) from attempt where bay = ?1 and "
                                       "adapter = ?2 and port_path = ?3",
                                       3, args);
        CHECK_MSG(got == want, "bay %02d: %lld rows with adapter %s on %s, expected %lld", p->bay,
                 got, p->adapter, want_port, want);
    }
    CHECK_EQ_INT(check_db_int(db, "select count(distinct mac) from attempt where outcome = 'pass'"),
                7);
}

int main(int argc, char **argv)
{
    support_ensure_umockdev_preload(argv);
    bench b;
    memset(&b, 0, sizeof b);
    char err[512];
    REQUIRE_MSG(tf_profile_load(PROFILE, &b.prof, err, sizeof err) == 0, "%s", err);
    REQUIRE_MSG(hp_tempdir(b.dir, sizeof b.dir, "hotplug") == 0, "mkdtemp");
    snprintf(b.db_path, sizeof b.db_path, "%s/t.db", b.dir);
    write_station_config(&b);

    b.tb = umockdev_testbed_new(); /* before the station's monitor exists */
    REQUIRE_MSG(b.tb, "umockdev_testbed_new");
    bksim_config sc = {.count = 0, .seed = 11, .time_scale = 0.5};
    b.sim = bksim_start(&sc, err, sizeof err);
    REQUIRE_MSG(b.sim, "bksim_start: %s", err);
    REQUIRE_MSG(hp_lines_start(&b.lines, err, sizeof err) == 0, "%s", err);
    hp_adapter ad[N1];
    memset(ad, 0, sizeof ad);
    plug(&b, &ad[0], &round1[0], NULL); /* already there when the station starts */
    start_station(&b);

    round_one(&b, ad);
    round_two(&b, ad);

    station_request_stop(b.st);
    CHECK_EQ_INT(station_wait(b.st), 0);
    station_free(b.st);
    hp_lines_finish(&b.lines);
    CHECK_MSG(hp_lines_count(&b.lines, "power-cycle", NULL, NULL) == 0,
             "a job asked for a power-cycle: the reset pulse did not reach the module");
    check_db(&b);
    if (check_failures())
        hp_lines_dump(&b.lines, "test failed");

    for (int i = 0; i < N1; i++)
        hp_adapter_free(&ad[i]);
    bksim_stop(b.sim);
    g_object_unref(b.tb);
    hp_lines_free(&b.lines);
    tf_profile_free(&b.prof);
    hp_rmtree(b.dir);
    return CHECK_DONE();
}
