/* test_adapters.c - adapters of several models under umockdev, each with the rates it really
 * carries (ctest hotplug_adapters_*; issue 17).
 *
 * rates: a profile asking 2000000 baud on three bays: a CP2102 (whose driver silently runs
 *   anything above 921600 at 921600: its simulated module garbles every byte above 921600,
 *   as the real wire would), a CH340 (2 M) and a CP2102N (3 M). The CP2102 bay runs at
 *   921600 from the start - no failed baud switch, no retry, no warning on the pass - with
 *   one setup notice naming the adapter, and no failed module; the others run at 2 M with no
 *   notice. The CP2102 is re-plugged on its port: a second pass, still one notice. The
 *   database keeps the model, the rate asked and the rate used.
 * reset_presets: a reset sequence per fixture kind: two fixtures with CEN on RTS (presets
 *   rts-cen from [station], tuya on its bay) and one with CEN on DTR (dtr-cen on its bay).
 *   Each module links through its own wiring, without a power-cycle request, and the line
 *   the fixture does not use is never pulsed (only the kernel's raise at open).
 * app_reboot: modules "running firmware" (bksim running_app, console at 921600) on fixtures
 *   with no reset line (reset = none, CEN wired to nothing) and no power control. The profile
 *   with app_reboot = both gets bay 01's module into its loader and flashed; bay 02's profile
 *   without it leaves its module running its application: no_download_mode. No job asks for a
 *   power-cycle.
 * hub_power: a USB hub (1-5) whose ports feed the modules' 3.3 V, emulated in sysfs: the test
 *   watches each port's `disable` attribute (inotify) and switches the simulated module's
 *   supply as a switching hub would. Bay 01's module runs firmware and has no reset line:
 *   the station power-cycles it into its loader and flashes it. Bay 02's module browns out
 *   into a latch only a power-cycle clears: it passes after a power-cycled retry, while the
 *   same module on bay 04 (no switched port, CEN reset only) fails. Bay 03 has no adapter:
 *   its port is switched off; bay 01's port goes off when its adapter is unplugged.
 * hub_trap: a port whose hub says it switched and does not (the test leaves the module
 *   powered): the module still answers with its port "off" - one setup notice, and the module
 *   is not blamed (it passes).
 * cli: `trayflash adapters --config FILE -v` (the real program, under the same testbed) lists
 *   the bay, port, model, serial, driver and usable rates of each adapter. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <termios.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "bk_proto.h"
#include "check.h"
#include "hp_harness.h"
#include "station.h"

#define FLASH_TIMEOUT_MS 40000

typedef struct model_spec {
    fakeport_kind kind;
    const char *product; /* NULL: the kind's */
    const char *usb_path, *tty;
    int minor;
    uint32_t wire_max;   /* what the simulated wire carries (bksim adapter-max-baud) */
    const char *model;   /* the adapter table's name for it */
    uint32_t runs_at;
} model_spec;

static const model_spec models[] = {
    {FAKEPORT_CP2102, NULL, "1-1", "ttyUSB0", 0, 921600, "CP2102", 921600},
    {FAKEPORT_CH340, NULL, "1-2", "ttyUSB1", 1, 2000000, "CH340/CH341", 2000000},
    {FAKEPORT_CP2102, "CP2102N USB to UART Bridge Controller", "1-3", "ttyUSB2", 2, 3000000,
     "CP2102N", 2000000},
};
enum { N_MODELS = 3 };

typedef struct bench {
    UMockdevTestbed *tb;
    bksim_server *sim;
    station *st;
    hp_lines lines;
    char dir[64], db_path[128], cfg_path[128], profile[600];
} bench;

/* Stops the station: its lines are all there afterwards. */
static void bench_stop(bench *b)
{
    station_request_stop(b->st);
    CHECK_EQ_INT(station_wait(b->st), 0);
    station_free(b->st);
    hp_lines_finish(&b->lines);
}

/* After the checks: the lines when one failed, then the adapters, the simulator, the testbed. */
static void bench_free(bench *b, hp_adapter *ad, int n)
{
    if (check_failures())
        hp_lines_dump(&b->lines, "test failed");
    for (int i = 0; i < n; i++)
        hp_adapter_free(&ad[i]);
    bksim_stop(b->sim);
    g_object_unref(b->tb);
    hp_lines_free(&b->lines);
    hp_rmtree(b->dir);
}

static void adapter_of(const model_spec *m, fakeport_adapter *a)
{
    char err[300] = "";
    REQUIRE_MSG(fakeport_adapter_init(a, m->kind, m->usb_path, m->tty, m->minor, NULL, err,
                                     sizeof err) == 0, "%s", err);
    if (m->product)
        snprintf(a->product, sizeof a->product, "%s", m->product);
}

/* Bay i+1 is models[i]'s USB port. */
static void write_files(bench *b)
{
    char err[300];
    REQUIRE_MSG(hp_make_profile(b->dir, 64, 7, b->profile, sizeof b->profile, err, sizeof err) == 0,
                "%s", err);
    /* the same profile, asking 2 Mbaud */
    FILE *f = fopen(b->profile, "r");
    REQUIRE_MSG(f, "%s", b->profile);
    static char text[4096];
    text[fread(text, 1, sizeof text - 1, f)] = 0;
    fclose(f);
    char *at = strstr(text, "baud = 921600");
    REQUIRE_MSG(at, "profile text has no baud line");
    f = fopen(b->profile, "w");
    REQUIRE_MSG(f, "%s", b->profile);
    fprintf(f, "%.*sbaud = 2000000%s", (int)(at - text), text, at + strlen("baud = 921600"));
    REQUIRE_MSG(fclose(f) == 0, "%s", b->profile);

    snprintf(b->cfg_path, sizeof b->cfg_path, "%s/station.ini", b->dir);
    f = fopen(b->cfg_path, "w");
    REQUIRE_MSG(f, "%s", b->cfg_path);
    fprintf(f, "[station]\nname = adapters-test\npool_size = 4\n");
    for (int i = 0; i < N_MODELS; i++) {
        fakeport_adapter a;
        char idp[128];
        adapter_of(&models[i], &a);
        REQUIRE_MSG(fakeport_id_path(&a, idp, sizeof idp) > 0, "id path");
        fprintf(f, "\n[bay %d]\npath = %s\n", i + 1, idp);
    }
    REQUIRE_MSG(fclose(f) == 0, "%s", b->cfg_path);
}

/* A scratch folder named for the case, its database path, the profile and station files. */
static void bench_init(bench *b, const char *name)
{
    memset(b, 0, sizeof *b);
    REQUIRE_MSG(hp_tempdir(b->dir, sizeof b->dir, name) == 0, "mkdtemp");
    snprintf(b->db_path, sizeof b->db_path, "%s/t.db", b->dir);
    write_files(b);
}

static void plug(bench *b, hp_adapter *h, const model_spec *m)
{
    fakeport_adapter a;
    char err[300] = "";
    adapter_of(m, &a);
    bksim_module_config mc;
    bksim_module_config_default(&mc);
    mc.faults.adapter_max_baud = m->wire_max;
    REQUIRE_MSG(hp_adapter_plug(h, b->tb, b->sim, &a, &mc, err, sizeof err) == 0, "%s", err);
}

static void start_station(bench *b)
{
    static station_opts o; /* the station keeps a copy; static only to keep the stack small */
    memset(&o, 0, sizeof o);
    char err[512];
    station_config_defaults(&o.cfg);
    REQUIRE_MSG(station_config_load(b->cfg_path, &o.cfg, err, sizeof err) == 0, "%s", err);
    o.profile_path = b->profile;
    o.db_path = b->db_path;
    o.headless_out = b->lines.out;
    o.link_timeout_ms = 5000;
    b->st = station_start(&o, err, sizeof err);
    REQUIRE_MSG(b->st, "station_start: %s", err);
}

/* The end line (PASS or FAIL) of bay's first attempt started at or after line `from`. */
static int wait_end(bench *b, int bay, int from, char *line, size_t len)
{
    char pre[24];
    snprintf(pre, sizeof pre, " bay %02d ", bay);
    int start = hp_lines_wait(&b->lines, from, FLASH_TIMEOUT_MS, pre, " LINK 0% ", "start #");
    for (int i = start; i >= 0; i++) {
        i = hp_lines_wait(&b->lines, i, FLASH_TIMEOUT_MS, pre, NULL, NULL);
        if (i < 0)
            return -1;
        hp_lines_get(&b->lines, i, line, len);
        if (strstr(line, " PASS 100% PASS ") || (strstr(line, " FAIL ") && strstr(line, "% FAIL ")))
            return i;
    }
    return -1;
}

static int setup_notices(bench *b, int bay)
{
    char pre[40];
    snprintf(pre, sizeof pre, " bay %02d warn ", bay);
    return hp_lines_count(&b->lines, pre, " setup: profile asks 2000000 baud", NULL);
}

static void check_db(bench *b)
{
    const char *db = b->db_path;
    CHECK_EQ_INT(check_db_int(db, "select count(*) from attempt"), N_MODELS + 1);
    CHECK_EQ_INT(check_db_int(db, "select count(*) from attempt where outcome <> 'pass'"), 0);
    for (int i = 0; i < N_MODELS; i++) {
        const check_sql_arg args[] = {SQL_INT(i + 1), SQL_TEXT(models[i].model),
                                      SQL_INT(models[i].runs_at)};
        long long want = i == 0 ? 2 : 1;
        long long got = check_db_int_args(db, "select count(*) from attempt where bay = ?1 and "
                                              "adapter_model = ?2 and baud_asked = 2000000 and "
                                              "baud_start = ?3 and baud_end = ?3 and retries = 0",
                                          3, args);
        CHECK_MSG(got == want, "bay %02d: %lld rows of %s at %u, expected %lld", i + 1, got,
                  models[i].model, models[i].runs_at, want);
    }
}

static int case_rates(void)
{
    bench b;
    char err[512];
    bench_init(&b, "adapters");
    b.tb = umockdev_testbed_new(); /* before the station's monitor exists */
    REQUIRE_MSG(b.tb, "umockdev_testbed_new");
    bksim_config sc = {.count = 0, .seed = 17, .time_scale = 0.5};
    b.sim = bksim_start(&sc, err, sizeof err);
    REQUIRE_MSG(b.sim, "bksim_start: %s", err);
    REQUIRE_MSG(hp_lines_start(&b.lines, err, sizeof err) == 0, "%s", err);
    start_station(&b);

    hp_adapter ad[N_MODELS];
    memset(ad, 0, sizeof ad);
    for (int i = 0; i < N_MODELS; i++)
        plug(&b, &ad[i], &models[i]);
    char line[700];
    for (int i = 0; i < N_MODELS; i++) {
        int end = wait_end(&b, i + 1, 0, line, sizeof line);
        char want[64];
        snprintf(want, sizeof want, " retries 0 baud %u", models[i].runs_at);
        CHECK_MSG(end >= 0 && strstr(line, " PASS 100% PASS ") && strstr(line, want),
                  "bay %02d (%s) should pass at %u with no retry: %s", i + 1, models[i].model,
                  models[i].runs_at, end >= 0 ? line : "no end line");
    }
    CHECK_EQ_INT(setup_notices(&b, 1), 1);
    CHECK_MSG(hp_lines_count(&b.lines, " bay 01 warn ", "CP2102 (cp210x) makes at most 921600",
                             "runs at 921600") == 1, "the notice names the adapter and the rate");
    CHECK_EQ_INT(setup_notices(&b, 2), 0);
    CHECK_EQ_INT(setup_notices(&b, 3), 0);
    /* the pass needed no help: no warning line (a stepped-down baud would say so) */
    CHECK_EQ_INT(hp_lines_count(&b.lines, " bay 01 ", "no echo after SetBaudRate", NULL), 0);

    /* the same CP2102 again on its port: a second attempt, and no second notice */
    int from = hp_lines_total(&b.lines);
    hp_adapter_free(&ad[0]);
    plug(&b, &ad[0], &models[0]);
    int end = wait_end(&b, 1, from, line, sizeof line);
    CHECK_MSG(end >= 0 && strstr(line, " PASS 100% PASS ") && strstr(line, " baud 921600"),
              "bay 01 re-plugged should pass at 921600: %s", end >= 0 ? line : "no end line");
    CHECK_EQ_INT(setup_notices(&b, 1), 1);

    bench_stop(&b);
    check_db(&b);
    bench_free(&b, ad, N_MODELS);
    return CHECK_DONE();
}

static void edit_config(bench *b, const char *extra, const char *bay2);

static int case_reset_presets(void)
{
    bench b;
    char err[512];
    bench_init(&b, "presets");
    /* the station's sequence, and two bays of their own */
    edit_config(&b, "reset = rts-cen\n", "reset = dtr-cen\n");
    FILE *f = fopen(b.cfg_path, "a");
    REQUIRE(f);
    fprintf(f, "reset = tuya\n"); /* the last section is [bay 3] */
    REQUIRE(fclose(f) == 0);
    b.tb = umockdev_testbed_new();
    REQUIRE_MSG(b.tb, "umockdev_testbed_new");
    bksim_config sc = {.count = 0, .seed = 23, .time_scale = 0.5};
    b.sim = bksim_start(&sc, err, sizeof err);
    REQUIRE_MSG(b.sim, "bksim_start: %s", err);
    REQUIRE_MSG(hp_lines_start(&b.lines, err, sizeof err) == 0, "%s", err);
    start_station(&b);

    static const model_spec ch[3] = {
        {FAKEPORT_CH340, NULL, "1-1", "ttyUSB0", 0, 2000000, "CH340/CH341", 2000000},
        {FAKEPORT_CH340, NULL, "1-2", "ttyUSB1", 1, 2000000, "CH340/CH341", 2000000},
        {FAKEPORT_CH340, NULL, "1-3", "ttyUSB2", 2, 2000000, "CH340/CH341", 2000000},
    };
    const hp_cen cen[3] = {HP_CEN_RTS, HP_CEN_DTR, HP_CEN_RTS};
    hp_adapter ad[3];
    memset(ad, 0, sizeof ad);
    for (int i = 0; i < 3; i++) {
        fakeport_adapter a;
        adapter_of(&ch[i], &a);
        REQUIRE_MSG(hp_adapter_plug_wired(&ad[i], b.tb, b.sim, &a, NULL, cen[i], false, err,
                                          sizeof err) == 0, "%s", err);
    }
    char line[700];
    for (int i = 0; i < 3; i++) {
        int end = wait_end(&b, i + 1, 0, line, sizeof line);
        CHECK_MSG(end >= 0 && strstr(line, " PASS 100% PASS "), "bay %02d (CEN on %s) should "
                  "pass: %s", i + 1, cen[i] == HP_CEN_DTR ? "DTR" : "RTS", end >= 0 ? line : "no end");
        /* the unused line: raised by the kernel at open, never pulsed by the sequence */
        bool on_dtr = cen[i] == HP_CEN_DTR;
        int unused = on_dtr ? hp_adapter_rts_rises(&ad[i]) : hp_adapter_dtr_rises(&ad[i]);
        int used = on_dtr ? hp_adapter_dtr_rises(&ad[i]) : hp_adapter_rts_rises(&ad[i]);
        CHECK_MSG(unused == 1, "bay %02d: the line not wired to CEN rose %d times", i + 1, unused);
        CHECK_MSG(used >= 2, "bay %02d: CEN was pulsed %d times (open included)", i + 1, used);
    }
    bench_stop(&b);
    CHECK_EQ_INT(hp_lines_count(&b.lines, "power-cycle the module now", NULL, NULL), 0);
    bench_free(&b, ad, 3);
    return CHECK_DONE();
}

/* Rewrites the station file with `extra` after the [station] header's pool_size line and
 * `bay2` after [bay 2]. */
static void edit_config(bench *b, const char *extra, const char *bay2)
{
    static char cfg[8192];
    FILE *f = fopen(b->cfg_path, "r");
    REQUIRE(f);
    cfg[fread(cfg, 1, sizeof cfg - 1, f)] = 0;
    fclose(f);
    f = fopen(b->cfg_path, "w");
    REQUIRE(f);
    for (const char *l = cfg; *l;) {
        const char *nl = strchr(l, '\n');
        size_t n = nl ? (size_t)(nl - l + 1) : strlen(l);
        fprintf(f, "%.*s", (int)n, l);
        if (!strncmp(l, "pool_size", 9))
            fprintf(f, "%s", extra);
        if (!strncmp(l, "[bay 2]", 7))
            fprintf(f, "%s", bay2);
        l += n;
    }
    REQUIRE(fclose(f) == 0);
}

static int case_app_reboot(void)
{
    bench b;
    char err[512];
    bench_init(&b, "appreboot");
    /* bay 02's profile: the same without app_reboot */
    char plain[700], cmd[1600];
    snprintf(plain, sizeof plain, "%s/plain.ini", b.dir);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", b.profile, plain);
    REQUIRE(system(cmd) == 0);
    FILE *f = fopen(b.profile, "a");
    REQUIRE(f);
    fprintf(f, "app_reboot = both\napp_baud = 921600\n");
    REQUIRE(fclose(f) == 0);
    char bay2[800];
    snprintf(bay2, sizeof bay2, "profile = %s\n", plain);
    edit_config(&b, "reset = none\n", bay2);

    b.tb = umockdev_testbed_new();
    REQUIRE_MSG(b.tb, "umockdev_testbed_new");
    bksim_config sc = {.count = 0, .seed = 29, .time_scale = 0.5};
    b.sim = bksim_start(&sc, err, sizeof err);
    REQUIRE_MSG(b.sim, "bksim_start: %s", err);
    REQUIRE_MSG(hp_lines_start(&b.lines, err, sizeof err) == 0, "%s", err);
    start_station(&b);

    hp_adapter ad[2];
    memset(ad, 0, sizeof ad);
    for (int i = 0; i < 2; i++) {
        fakeport_adapter a;
        adapter_of(&models[1], &a); /* CH340s */
        snprintf(a.usb_path, sizeof a.usb_path, "1-%d", i + 1);
        snprintf(a.tty, sizeof a.tty, "ttyUSB%u", (unsigned)i % 10u);
        a.minor = i;
        bksim_module_config mc;
        bksim_module_config_default(&mc);
        mc.running_app = true;
        mc.app_baud = 921600;
        REQUIRE_MSG(hp_adapter_plug_wired(&ad[i], b.tb, b.sim, &a, &mc, HP_CEN_NONE, false, err,
                                          sizeof err) == 0, "%s", err);
    }
    char line[700];
    int end = wait_end(&b, 1, 0, line, sizeof line);
    CHECK_MSG(end >= 0 && strstr(line, " PASS 100% PASS "), "bay 01 (app_reboot = both) should "
              "pass: %s", end >= 0 ? line : "no end line");
    end = wait_end(&b, 2, 0, line, sizeof line);
    CHECK_MSG(end >= 0 && strstr(line, "% FAIL no_download_mode "), "bay 02 (no app_reboot) "
              "should find no loader: %s", end >= 0 ? line : "no end line");
    bksim_stats s1, s2;
    bksim_get_stats(b.sim, hp_adapter_sim_idx(&ad[0]), &s1);
    bksim_get_stats(b.sim, hp_adapter_sim_idx(&ad[1]), &s2);
    CHECK_MSG(s1.app_reboots >= 1, "bay 01's module was never asked to reboot");
    CHECK_EQ_INT(s2.app_reboots, 0);
    bench_stop(&b);
    CHECK_EQ_INT(hp_lines_count(&b.lines, "power-cycle the module now", NULL, NULL), 0);
    bench_free(&b, ad, 2);
    return CHECK_DONE();
}

/* ---- an emulated hub whose ports switch the modules' supply ---------------------------- */

#define HUB_SYS "/devices/pci0000:00/0000:00:14.0/usb1/1-5"
enum { HUB_PORTS = 4 };

typedef struct hub_emu {
    UMockdevTestbed *tb;
    bksim_server *sim;
    char attr[HUB_PORTS + 1][700];  /* the testbed's files, 1-based */
    int wd[HUB_PORTS + 1];
    int ino, stop;
    pthread_t th;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int sim_idx[HUB_PORTS + 1];     /* the module a port feeds; -1 none */
    bool switches[HUB_PORTS + 1];   /* false: the hub only says it switched */
    bool on[HUB_PORTS + 1];
    int offs[HUB_PORTS + 1];        /* writes of 1 (off) */
    int writes[HUB_PORTS + 1];
} hub_emu;

static int hub_read(hub_emu *h, int port)
{
    FILE *f = fopen(h->attr[port], "r");
    int c = f ? fgetc(f) : EOF;
    if (f)
        fclose(f);
    return c;
}

static void *hub_main(void *arg)
{
    hub_emu *h = arg;
    char buf[4096] __attribute__((aligned(8)));
    for (;;) {
        struct pollfd p[2] = {{h->ino, POLLIN, 0}, {h->stop, POLLIN, 0}};
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[1].revents)
            break;
        if (!(p[0].revents & POLLIN))
            continue;
        ssize_t n = read(h->ino, buf, sizeof buf);
        for (ssize_t off = 0; off < n;) {
            const struct inotify_event *e = (const void *)(buf + off);
            off += (ssize_t)sizeof *e + e->len;
            for (int port = 1; port <= HUB_PORTS; port++) {
                if (e->wd != h->wd[port])
                    continue;
                bool on = hub_read(h, port) == '0';
                pthread_mutex_lock(&h->lock);
                h->writes[port]++;
                if (!on)
                    h->offs[port]++; /* every "off" the station asked for */
                h->on[port] = on;
                if (h->switches[port] && h->sim_idx[port] >= 0)
                    bksim_set_power(h->sim, h->sim_idx[port], on);
                pthread_cond_broadcast(&h->changed);
                pthread_mutex_unlock(&h->lock);
            }
        }
    }
    return NULL;
}

static void hub_start(hub_emu *h, UMockdevTestbed *tb, bksim_server *sim)
{
    memset(h, 0, sizeof *h);
    h->tb = tb;
    h->sim = sim;
    char desc[4096];
    int k = snprintf(desc, sizeof desc,
                     "P: " HUB_SYS "\nE: SUBSYSTEM=usb\nE: DEVTYPE=usb_device\nE: DRIVER=usb\n"
                     "A: idVendor=05e3\nA: idProduct=0608\nA: product=USB2.0 Hub\n"
                     "A: busnum=1\nA: devnum=40\n\n"
                     "P: " HUB_SYS "/1-5:1.0\nE: SUBSYSTEM=usb\nE: DEVTYPE=usb_interface\n"
                     "E: DRIVER=hub\nA: bInterfaceClass=09\n\n");
    (void)k;
    GError *ge = NULL;
    REQUIRE_MSG(umockdev_testbed_add_from_string(tb, desc, &ge), "hub: %s",
                ge ? ge->message : "?");
    char *sys = umockdev_testbed_get_sys_dir(tb);
    /* the ports are plain folders under the hub's interface, as in the kernel (usb_port
     * devices have no subsystem, which umockdev's device API wants): made by hand */
    for (int port = 1; port <= HUB_PORTS; port++) {
        char dir[600];
        snprintf(dir, sizeof dir, "%s" HUB_SYS "/1-5:1.0/1-5-port%d", sys, port);
        REQUIRE_MSG(mkdir(dir, 0755) == 0, "%s: %s", dir, strerror(errno));
        snprintf(h->attr[port], sizeof h->attr[port], "%s/disable", dir);
        FILE *f = fopen(h->attr[port], "w");
        REQUIRE(f && fputs("0\n", f) >= 0 && fclose(f) == 0);
    }
    h->ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    h->stop = eventfd(0, EFD_CLOEXEC);
    REQUIRE(h->ino >= 0 && h->stop >= 0);
    for (int port = 1; port <= HUB_PORTS; port++) {
        h->wd[port] = inotify_add_watch(h->ino, h->attr[port], IN_CLOSE_WRITE);
        REQUIRE_MSG(h->wd[port] >= 0, "inotify %s: %s", h->attr[port], strerror(errno));
        h->sim_idx[port] = -1;
        h->switches[port] = true;
        h->on[port] = true;
    }
    g_free(sys);
    pthread_mutex_init(&h->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&h->changed, &ca);
    pthread_condattr_destroy(&ca);
    REQUIRE(pthread_create(&h->th, NULL, hub_main, h) == 0);
}

static void hub_feed(hub_emu *h, int port, int sim_idx)
{
    pthread_mutex_lock(&h->lock);
    h->sim_idx[port] = sim_idx;
    pthread_mutex_unlock(&h->lock);
}

/* Waits until port is `on` (and was switched off at least `offs` times). */
static bool hub_wait(hub_emu *h, int port, bool on, int offs, int timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_ms / 1000;
    pthread_mutex_lock(&h->lock);
    int rc = 0;
    while ((h->on[port] != on || h->offs[port] < offs) && rc == 0)
        rc = pthread_cond_timedwait(&h->changed, &h->lock, &until);
    bool ok = h->on[port] == on && h->offs[port] >= offs;
    pthread_mutex_unlock(&h->lock);
    return ok;
}

static int hub_offs(hub_emu *h, int port)
{
    pthread_mutex_lock(&h->lock);
    int n = h->offs[port];
    pthread_mutex_unlock(&h->lock);
    return n;
}

static void hub_stop(hub_emu *h)
{
    uint64_t one = 1;
    if (write(h->stop, &one, sizeof one) != sizeof one)
        return;
    pthread_join(h->th, NULL);
    close(h->ino);
    close(h->stop);
    pthread_cond_destroy(&h->changed);
    pthread_mutex_destroy(&h->lock);
}

/* A CH340 on USB port 1-usb_port; with hub port `feed` (0: none) its module's supply, off
 * until the hub switches it on. The module's index is known before the plug (bksim numbers
 * them in order), so a switch the station makes at once reaches it. */
static void plug_ch340(bench *b, hp_adapter *h, int usb_port, const bksim_module_config *mc,
                       hp_cen cen, hub_emu *hub, int feed, int expect_idx)
{
    fakeport_adapter a;
    char err[300];
    adapter_of(&models[1], &a);
    snprintf(a.usb_path, sizeof a.usb_path, "1-%d", usb_port);
    snprintf(a.tty, sizeof a.tty, "ttyUSB%u", (unsigned)(usb_port - 1) % 10u);
    a.minor = usb_port - 1;
    if (feed)
        hub_feed(hub, feed, expect_idx);
    pthread_mutex_lock(&hub->lock);
    bool off = feed && !hub->on[feed];
    pthread_mutex_unlock(&hub->lock);
    REQUIRE_MSG(hp_adapter_plug_wired(h, b->tb, b->sim, &a, mc, cen, off, err, sizeof err) == 0,
                "%s", err);
    REQUIRE_EQ_INT(hp_adapter_sim_idx(h), expect_idx);
}

/* Station file: bays 1..4 on 1-1..1-4; ports of hub 1-5 feed bays 1-3 (bay 1 by its sysfs
 * path, the others by name); no reset line but on bay 4. */
static void write_power_config(bench *b)
{
    FILE *f = fopen(b->cfg_path, "w");
    REQUIRE(f);
    fprintf(f, "[station]\nname = hub-test\npool_size = 4\nreset = none\npower_off_ms = 100\n");
    for (int bay = 1; bay <= 4; bay++) {
        fakeport_adapter a;
        char usb[16], idp[128], err[200];
        snprintf(usb, sizeof usb, "1-%d", bay);
        REQUIRE_MSG(fakeport_adapter_init(&a, FAKEPORT_CH340, usb, "ttyUSB9", 9, NULL, err,
                                          sizeof err) == 0, "%s", err);
        REQUIRE(fakeport_id_path(&a, idp, sizeof idp) > 0);
        fprintf(f, "\n[bay %d]\npath = %s\n", bay, idp);
        if (bay == 1)
            fprintf(f, "power = /sys" HUB_SYS "/1-5:1.0/1-5-port1\n");
        else if (bay <= 3)
            fprintf(f, "power = 1-5-port%d\n", bay);
        else
            fprintf(f, "reset = default\n");
    }
    REQUIRE(fclose(f) == 0);
}

static int case_hub_power(void)
{
    bench b;
    char err[512];
    bench_init(&b, "hub");
    write_power_config(&b);
    b.tb = umockdev_testbed_new();
    REQUIRE_MSG(b.tb, "umockdev_testbed_new");
    bksim_config sc = {.count = 0, .seed = 31, .time_scale = 0.5};
    b.sim = bksim_start(&sc, err, sizeof err);
    REQUIRE_MSG(b.sim, "bksim_start: %s", err);
    hub_emu hub;
    hub_start(&hub, b.tb, b.sim);
    REQUIRE_MSG(hp_lines_start(&b.lines, err, sizeof err) == 0, "%s", err);
    start_station(&b);
    /* no adapter yet: every fed bay's port goes off (bay 03's stays so: it never gets one) */
    for (int port = 1; port <= 3; port++)
        CHECK_MSG(hub_wait(&hub, port, false, 1, 10000), "the empty bay %02d's port was not "
                  "switched off", port);

    hp_adapter ad[4];
    memset(ad, 0, sizeof ad);
    bksim_module_config app, latch, latch4;
    bksim_module_config_default(&app);
    app.running_app = true; /* only a power-cycle brings it to its loader */
    bksim_module_config_default(&latch);
    latch.faults.brownout_latch = true;
    latch4 = latch;
    plug_ch340(&b, &ad[0], 1, &app, HP_CEN_NONE, &hub, 1, 0);
    plug_ch340(&b, &ad[1], 2, &latch, HP_CEN_NONE, &hub, 2, 1);
    plug_ch340(&b, &ad[3], 4, &latch4, HP_CEN_RTS, &hub, 0, 2);

    char line[700];
    int end = wait_end(&b, 1, 0, line, sizeof line);
    CHECK_MSG(end >= 0 && strstr(line, " PASS 100% PASS "), "bay 01 (power-cycled into its "
              "loader) should pass: %s", end >= 0 ? line : "no end line");
    CHECK_MSG(hub_offs(&hub, 1) >= 2, "bay 01's port was never power-cycled (switched off "
              "%d times: empty, then the reset)", hub_offs(&hub, 1));
    end = wait_end(&b, 2, 0, line, sizeof line);
    CHECK_MSG(end >= 0 && strstr(line, " PASS 100% PASS ") && !strstr(line, " retries 0 "),
              "bay 02 (brown-out latch) should pass after a power-cycled retry: %s",
              end >= 0 ? line : "no end line");
    CHECK_MSG(hub_offs(&hub, 2) >= 3, "bay 02's port was switched off %d times, want empty, a "
              "power-cycle to link and one to recover", hub_offs(&hub, 2));
    end = wait_end(&b, 4, 0, line, sizeof line);
    CHECK_MSG(end >= 0 && strstr(line, "% FAIL "), "bay 04 (same latch, CEN reset only) should "
              "fail: %s", end >= 0 ? line : "no end line");
    CHECK(hub_wait(&hub, 1, true, 1, 1000) && hub_wait(&hub, 2, true, 2, 1000));
    CHECK_MSG(hub_wait(&hub, 3, false, 1, 10) && hub_offs(&hub, 3) == 1, "bay 03 stays off");

    /* bay 01's adapter goes: its port goes off */
    int offs1 = hub_offs(&hub, 1);
    hp_adapter_unplug(&ad[0]);
    CHECK_MSG(hub_wait(&hub, 1, false, offs1 + 1, 10000), "bay 01's port stayed on after its "
              "adapter was removed");

    bench_stop(&b);
    CHECK_EQ_INT(hp_lines_count(&b.lines, "power-cycle the module now", NULL, NULL), 0);
    CHECK_EQ_INT(hp_lines_count(&b.lines, " setup: ", NULL, NULL), 0);
    hub_stop(&hub);
    bench_free(&b, ad, 4);
    return CHECK_DONE();
}

/* LinkCheck by hand through the adapter's node (the test is under the preload too): the
 * module is left in download mode, where it stays ~2 s without another frame. */
static bool link_by_hand(const char *devnode)
{
    int fd = open(devnode, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct termios t;
    bool ok = tcgetattr(fd, &t) == 0;
    cfmakeraw(&t);
    cfsetspeed(&t, B115200);
    ok = ok && tcsetattr(fd, TCSANOW, &t) == 0;
    uint8_t req[16], rx[64];
    size_t n = bk_encode_request_short(req, sizeof req, BK_CMD_LINK_CHECK, NULL, 0);
    size_t got = 0;
    long long until = check_now_ms() + 3000;
    bool linked = false;
    while (ok && !linked && check_now_ms() < until) {
        if (write(fd, req, n) != (ssize_t)n)
            break;
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 20) <= 0)
            continue;
        ssize_t r = read(fd, rx + got, sizeof rx - got);
        if (r > 0)
            got += (size_t)r;
        bk_frame fr;
        size_t used, garbage;
        linked = bk_decode_reply(rx, got, &fr, &used, &garbage) == BK_DECODE_FRAME;
        if (got > sizeof rx / 2)
            got = 0;
    }
    close(fd);
    return linked;
}

static int case_hub_trap(void)
{
    bench b;
    char err[512];
    bench_init(&b, "hubtrap");
    FILE *f = fopen(b.cfg_path, "w");
    REQUIRE(f);
    fakeport_adapter a;
    adapter_of(&models[1], &a); /* a CH340 on 1-2 */
    char idp[128];
    REQUIRE(fakeport_id_path(&a, idp, sizeof idp) > 0);
    fprintf(f, "[station]\nname = trap\nreset = none\npower_off_ms = 100\n\n[bay 1]\npath = %s\n"
               "power = 1-5-port4\n", idp);
    REQUIRE(fclose(f) == 0);
    b.tb = umockdev_testbed_new();
    REQUIRE_MSG(b.tb, "umockdev_testbed_new");
    bksim_config sc = {.count = 0, .seed = 37, .time_scale = 0.5};
    b.sim = bksim_start(&sc, err, sizeof err);
    REQUIRE_MSG(b.sim, "bksim_start: %s", err);
    hub_emu hub;
    hub_start(&hub, b.tb, b.sim);
    pthread_mutex_lock(&hub.lock);
    hub.switches[4] = false; /* it says it switched; the module never loses power */
    pthread_mutex_unlock(&hub.lock);
    hp_adapter ad;
    memset(&ad, 0, sizeof ad);
    REQUIRE_MSG(hp_adapter_plug_wired(&ad, b.tb, b.sim, &a, NULL, HP_CEN_NONE, false, err,
                                      sizeof err) == 0, "%s", err);
    char node[32];
    snprintf(node, sizeof node, "/dev/%s", a.tty);
    REQUIRE_MSG(link_by_hand(node), "the module never linked by hand through %s", node);
    REQUIRE_MSG(hp_lines_start(&b.lines, err, sizeof err) == 0, "%s", err);
    start_station(&b);
    char line[700];
    int end = wait_end(&b, 1, 0, line, sizeof line);
    CHECK_MSG(end >= 0 && strstr(line, " PASS 100% PASS "), "bay 01 is not the module's fault: "
              "%s", end >= 0 ? line : "no end line");
    CHECK_MSG(hub_offs(&hub, 4) >= 1, "the station never switched the port off");
    bench_stop(&b);
    CHECK_EQ_INT(hp_lines_count(&b.lines, " bay 01 warn ", " setup: the module still answers "
                                "with its hub port off", NULL), 1);
    CHECK_EQ_INT(check_db_int(b.db_path, "select count(*) from attempt where outcome = 'pass'"),
                 1);
    hub_stop(&hub);
    bench_free(&b, &ad, 1);
    return CHECK_DONE();
}

/* The listing, from the real program under the same testbed (it inherits the preload). */
static int case_cli(void)
{
    const char *tf = check_arg(0);
    REQUIRE_MSG(tf, "usage: test_adapters cli TRAYFLASH");
    bench b;
    memset(&b, 0, sizeof b);
    REQUIRE_MSG(hp_tempdir(b.dir, sizeof b.dir, "adapters-cli") == 0, "mkdtemp");
    write_files(&b);
    b.tb = umockdev_testbed_new();
    REQUIRE_MSG(b.tb, "umockdev_testbed_new");
    fakeport *ports[N_MODELS + 1];
    char err[300];
    for (int i = 0; i < N_MODELS; i++) {
        fakeport_adapter a;
        adapter_of(&models[i], &a);
        ports[i] = fakeport_plug(b.tb, &a, NULL, NULL, err, sizeof err);
        REQUIRE_MSG(ports[i], "%s", err);
    }
    /* an FT232R on a port the bay map does not name */
    fakeport_adapter ft;
    REQUIRE_MSG(fakeport_adapter_init(&ft, FAKEPORT_FT232R, "1-4", "ttyUSB3", 3, NULL, err,
                                      sizeof err) == 0, "%s", err);
    ports[N_MODELS] = fakeport_plug(b.tb, &ft, NULL, NULL, err, sizeof err);
    REQUIRE_MSG(ports[N_MODELS], "%s", err);

    char *out = NULL;
    const char *argv[] = {tf, "adapters", "--config", b.cfg_path, "-v", NULL};
    int rc = check_capture(argv, true, 20, &out);
    CHECK_EQ_INT(rc, 0);
    REQUIRE(out);
    CHECK_HAS(out, "BAY  PORT");
    static const char *const want[][4] = {
        {"01 ", "/dev/ttyUSB0", "CP2102 ", ",921600\n"},
        {"02 ", "/dev/ttyUSB1", "CH340/CH341", "1500000,2000000\n"},
        {"03 ", "/dev/ttyUSB2", "CP2102N", "2000000,3000000\n"},
        {"-  ", "/dev/ttyUSB3", "FT232R", "A50285BI"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const char *l = strstr(out, want[i][1]);
        CHECK_MSG(l && l - out >= 5 && !strncmp(l - 5, want[i][0], strlen(want[i][0])),
                  "no line for %s on bay %s:\n%s", want[i][1], want[i][0], out);
        const char *eol = l ? strchr(l, '\n') : NULL;
        char one[400] = "";
        if (l && eol)
            snprintf(one, sizeof one, "%.*s\n", (int)(eol - l), l);
        CHECK_MSG(strstr(one, want[i][2]) && strstr(one, want[i][3]), "line for %s: '%s'",
                  want[i][1], one);
    }
    /* the CP2102's line stops at 921600; the CH340 has no serial number */
    const char *cp = strstr(out, "/dev/ttyUSB0");
    CHECK(cp && strstr(cp, "230400,460800,500000,921600\n"));
    const char *ch = strstr(out, "/dev/ttyUSB1");
    CHECK(ch && strstr(ch, "(none)") && strstr(ch, "(none)") < strchr(ch, '\n'));
    /* -v: where the numbers come from */
    CHECK_HAS(out, "rates from: Linux drivers/usb/serial/cp210x.c");
    CHECK_HAS(out, "bcdDevice 0600");
    free(out);

    /* a bad station file is a usage error naming file:line */
    char bad[200];
    snprintf(bad, sizeof bad, "%s/bad.ini", b.dir);
    FILE *f = fopen(bad, "w");
    REQUIRE(f);
    fprintf(f, "[station]\nnmae = x\n");
    fclose(f);
    const char *argv2[] = {tf, "adapters", "--config", bad, NULL};
    rc = check_capture(argv2, true, 20, &out);
    CHECK_EQ_INT(rc, 2);
    CHECK_MSG(out && strstr(out, "bad.ini:2:"), "%s", out ? out : "");
    free(out);

    for (int i = 0; i <= N_MODELS; i++)
        fakeport_free(ports[i]);
    g_object_unref(b.tb);
    hp_rmtree(b.dir);
    return CHECK_DONE();
}

int main(int argc, char **argv)
{
    support_ensure_umockdev_preload(argv);
    static const check_case cases[] = {
        {"rates", case_rates},
        {"reset_presets", case_reset_presets},
        {"app_reboot", case_app_reboot},
        {"hub_power", case_hub_power},
        {"hub_trap", case_hub_trap},
        {"cli", case_cli},
    };
    return CHECK_RUN(argc, argv, cases);
}
