/* test_personal.c - per-device data end to end on the station (issue 15), on in-process bksim
 * modules and through the real program:
 *   tray16  17 modules at once on a 16-row ledger: 16 pass, each config sector read back from
 *           the module and parsed as OpenBeken would (magic, version, CRC, fields), its own MAC,
 *           no two modules with one row; the 17th waits "ledger empty", untouched, no failure.
 *           With the wire trace on, the secrets are in no database byte, no headless or event
 *           line, no report (table, CSV, JSON, HTML).
 *   brownout_retry  a module browning out on its config write fails (config_not_written),
 *           keeps its row reserved; the retry gets the same row and passes.
 *   crash_restart  SIGKILL of `trayflash station` after the sector verified, before the row is
 *           marked used (TRAYFLASH_DEBUG=ledger-pause shows the moment); the restart gets the
 *           same row for the same module: no row lost, none given twice; no secret in argv.
 *   base_pinned  `profile check` prints the base_sha256 line to paste; pasted, the profile loads;
 *           the base then changed (still a valid config: unpinned it would load and change
 *           every module) refuses the profile in `profile check` and at station_start, before
 *           any job, naming the line, the file and both hashes. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"
#include "db.h"
#include "bk_image.h"
#include "tf_file.h"
#include "db_ledger.h"
#include "obk_config.h"
#include "profile.h"
#include "report.h"
#include "secrets.h"
#include "station.h"
#include "robust_util.h"

#define WIFI_SECRET "wifi-Zq8#s3cret-7731"
#define MQTT_SECRET "mqtt-Yp2!s3cret-4410"

typedef struct fixture {
    char dir[64], db[128], profile[128], secrets[128], csv[128];
} fixture;

static const char *trayflash_bin;

static void write_file(const char *path, const char *text, mode_t mode)
{
    ru_write_file(path, text);
    REQUIRE(chmod(path, mode) == 0);
}

/* A profile on the demo image with [personalize], a 0600 secrets file, an n-row ledger. */
static void make_fixture(fixture *f, int rows)
{
    ru_mkdtemp(f->dir, sizeof f->dir);
    snprintf(f->db, sizeof f->db, "%s/t.db", f->dir);
    snprintf(f->profile, sizeof f->profile, "%s/plug.ini", f->dir);
    snprintf(f->secrets, sizeof f->secrets, "%s/line.secrets", f->dir);
    snprintf(f->csv, sizeof f->csv, "%s/rows.csv", f->dir);
    write_file(f->secrets, "# line 2\nwifi = " WIFI_SECRET "\nmqtt = " MQTT_SECRET "\n", 0600);
    char text[2048];
    snprintf(text, sizeof text,
             "[profile]\nname = plug-p1\nproduct = Plug P1\nchip = bk7231t\n"
             "image = %s/profiles/images/demo-small.bin\noffset = 0x11000\n"
             "sha256 = 8017d6d3802ce06e996dfe2f11c80673e971c38d19c5487178f4a63afcbddd40\n"
             "link_timeout_ms = 1500\n\n[personalize]\nkind = openbeken\n"
             "base = %s/tests/engine/fixtures/obk-base-t.bin\nsecrets = %s\nledger = serial\n"
             "short_name = plug-{mac_suffix}\nlong_name = {product} {serial}\n"
             "mqtt_client = {short_name}\nmqtt_host = broker.lan\nmqtt_pass = {secret.mqtt}\n"
             "wifi_ssid = factory-net\nwifi_pass = {secret.wifi}\n",
             TRAYFLASH_SOURCE_DIR, TRAYFLASH_SOURCE_DIR, f->secrets);
    write_file(f->profile, text, 0644);
    db *d;
    char err[512];
    REQUIRE_MSG(db_open(f->db, false, &d, err, sizeof err) == 0, "%s", err);
    db_ledger *l = db_ledger_new(d);
    static const char *cols[] = {"serial"};
    char keys[32][16];
    const char *cells[32];
    int lines[32];
    for (int i = 0; i < rows; i++) {
        snprintf(keys[i], sizeof keys[i], "SN-%04d", i + 1);
        cells[i] = keys[i];
        lines[i] = i + 2;
    }
    REQUIRE_MSG(db_ledger_import(l, "plug-p1", f->csv, "tester", cols, 1, cells, lines, rows, 1.0,
                                 NULL, err, sizeof err) == rows, "%s", err);
    db_ledger_free(l);
    db_close(d);
}

static station *start(const fixture *f, int n, const bksim_module_config *mods, FILE *out,
                      bool once)
{
    static station_opts o;
    memset(&o, 0, sizeof o);
    station_config_defaults(&o.cfg);
    o.cfg.pool_size = 20;
    o.profile_path = f->profile;
    o.db_path = f->db;
    o.headless_out = out;
    o.sim_count = n;
    o.sim_modules = mods;
    o.sim_time_scale = 0.25;
    o.sim_seed = 11;
    o.once = once;
    char err[600];
    station *st = station_start(&o, err, sizeof err);
    REQUIRE_MSG(st != NULL, "station_start: %s", err);
    return st;
}

/* The module's config sector, parsed as OpenBeken's loader would; the serial from long_name.
 * Returns false (and says why) when it is not a valid config of this module. */
static bool parse_sector(station *st, int i, char *serial, size_t serial_len, bool *blank)
{
    uint8_t s[4096], mac[6], cfg_mac[6];
    REQUIRE(bksim_read_flash(station_sim(st), i, 0x1E1000, s, sizeof s) == 0);
    *blank = true;
    for (size_t k = 0; k < sizeof s; k++)
        *blank &= s[k] == 0xFF;
    if (*blank)
        return false;
    char err[200], v[128], want[64];
    if (!obk_config_check(s, sizeof s, OBK_CRC_SIGNED_CHAR, err, sizeof err)) {
        fprintf(stderr, "module %d: %s\n", i, err);
        return false;
    }
    bksim_get_mac(station_sim(st), i, mac);
    obk_config_get_mac(s, cfg_mac);
    bool ok = memcmp(mac, cfg_mac, 6) == 0;
    snprintf(want, sizeof want, "plug-%02x%02x%02x", mac[3], mac[4], mac[5]);
    obk_config_get(s, obk_field_find("short_name"), v, sizeof v);
    ok &= !strcmp(v, want);
    obk_config_get(s, obk_field_find("mqtt_client"), v, sizeof v);
    ok &= !strcmp(v, want);
    obk_config_get(s, obk_field_find("mqtt_pass"), v, sizeof v);
    ok &= !strcmp(v, MQTT_SECRET);
    obk_config_get(s, obk_field_find("wifi_pass"), v, sizeof v);
    ok &= !strcmp(v, WIFI_SECRET);
    obk_config_get(s, obk_field_find("init_command"), v, sizeof v); /* from the base */
    ok &= !strcmp(v, "backlog startDriver NTP; ntp_timeZoneOfs +1");
    obk_config_get(s, obk_field_find("long_name"), v, sizeof v);
    ok &= !strncmp(v, "Plug P1 SN-", 11);
    snprintf(serial, serial_len, "%s", v + 8);
    for (size_t k = 3584; k < sizeof s; k++) /* the sector's tail stays erased */
        ok &= s[k] == 0xFF;
    if (!ok)
        fprintf(stderr, "module %d: config fields are not this module's (short_name %s)\n", i, v);
    return ok;
}

static bool contains(const char *hay, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= n; i++)
        if (!memcmp(hay + i, needle, m))
            return true;
    return false;
}

/* The file's bytes hold neither secret; `known` (NULL: none) must be there (the read works). */
static void no_secret_in_file(const char *path, const char *known)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return; /* a -wal that was checkpointed away */
    size_t n = 0, cap = 1 << 16; /* read to the end: /proc files have no size */
    char *text = malloc(cap);
    for (size_t got; text && (got = fread(text + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n == cap)
            text = realloc(text, cap *= 2);
    }
    fclose(f);
    REQUIRE(text != NULL);
    CHECK_MSG(!contains(text, n, WIFI_SECRET) && !contains(text, n, MQTT_SECRET),
              "a secret is in %s", path);
    CHECK_MSG(!known || contains(text, n, known), "%s lacks \"%s\": the check reads nothing", path,
              known);
    free(text);
}

static void no_secret_in_reports(const char *db_path)
{
    db *d;
    char err[512];
    REQUIRE(db_open(db_path, true, &d, err, sizeof err) == 0);
    report_filter flt = {.since = 0, .until = 0, .profile = NULL, .bay = -1};
    report *r;
    REQUIRE_MSG(report_build(d, &flt, &r, err, sizeof err) == 0, "%s", err);
    int (*writers[])(const report *, FILE *) = {report_write_table, report_write_csv,
                                                report_write_json, report_write_html};
    for (size_t w = 0; w < sizeof writers / sizeof writers[0]; w++) {
        FILE *out = tmpfile();
        CHECK(writers[w](r, out) == 0);
        fflush(out);
        size_t n = (size_t)ftell(out);
        char *text = check_read_file(out);
        CHECK(n > 100);
        CHECK_MSG(!contains(text, n, WIFI_SECRET) && !contains(text, n, MQTT_SECRET),
                  "a secret is in report %zu", w);
        free(text);
        fclose(out);
    }
    report_free(r);
    db_close(d);
}

static bool held_bay(const station_view *v, void *arg)
{
    (void)arg;
    for (int i = 0; i < v->n_bays; i++)
        if (v->bays[i].state == BAY_IDLE && strstr(v->bays[i].detail, "ledger empty"))
            return true;
    return false;
}

static int case_tray16(void)
{
    fixture f;
    make_fixture(&f, 16);
    setenv("TRAYFLASH_DEBUG", "wire", 1); /* the trace must not show the secrets either */
    FILE *out = tmpfile();
    station *st = start(&f, 17, NULL, out, true);
    CHECK_EQ_INT(station_wait(st), 0);
    unsetenv("TRAYFLASH_DEBUG");
    int pass, fail;
    station_counts(st, &pass, &fail);
    CHECK_EQ_INT(pass, 16);
    CHECK_EQ_INT(fail, 0); /* the held module is no failure */
    char serials[17][128];
    int parsed = 0, blank = 0;
    for (int i = 0; i < 17; i++) {
        bool is_blank;
        if (parse_sector(st, i, serials[parsed], sizeof serials[parsed], &is_blank))
            parsed++;
        blank += is_blank;
    }
    CHECK_EQ_INT(parsed, 16);
    CHECK_EQ_INT(blank, 1);
    for (int i = 0; i < parsed; i++)
        for (int j = 0; j < i; j++)
            CHECK_MSG(strcmp(serials[i], serials[j]), "%s given twice", serials[i]);
    station_view *v = calloc(1, sizeof *v);
    station_snapshot(st, v);
    CHECK(held_bay(v, NULL));
    CHECK_EQ_INT(v->fail, 0);
    free(v);
    station_free(st);
    char *lines = check_read_file(out);
    fclose(out);
    CHECK_HAS(lines, "WAIT 0% - - waiting: ledger empty for profile plug-p1");
    CHECK_HAS(lines, " wire: "); /* the trace was on */
    CHECK(!strstr(lines, WIFI_SECRET) && !strstr(lines, MQTT_SECRET));
    free(lines);
    CHECK_EQ_INT(check_db_int(f.db, "SELECT count(*) FROM attempt WHERE outcome = 'pass' AND "
                              "personalized = 1 AND config_crc IS NOT NULL"), 16);
    CHECK_EQ_INT(check_db_int(f.db, "SELECT count(DISTINCT ledger_row_id) FROM attempt WHERE "
                              "outcome = 'pass'"), 16);
    CHECK_EQ_INT(check_db_int(f.db, "SELECT count(*) FROM attempt WHERE outcome = 'skipped' "
                              "AND detail LIKE '%ledger empty%'"), 1);
    CHECK_EQ_INT(check_db_int(f.db, "SELECT count(*) FROM ledger_row WHERE state = 'used'"), 16);
    /* every used row is held by the MAC of the attempt that took it */
    CHECK_EQ_INT(check_db_int(f.db, "SELECT count(*) FROM ledger_row r JOIN attempt a ON "
                              "a.ledger_row_id = r.id AND a.mac = r.mac WHERE a.outcome = 'pass'"), 16);
    CHECK_EQ_INT(check_db_int(f.db, "SELECT count(DISTINCT secrets_id) FROM attempt WHERE "
                              "outcome = 'pass' AND length(secrets_id) = 32"), 1);
    CHECK_EQ_INT(check_db_int(f.db, "SELECT count(*) FROM event_log WHERE text LIKE '%ledger empty%'"), 0);
    char path[160];
    no_secret_in_file(f.db, "SN-0016");
    snprintf(path, sizeof path, "%s-wal", f.db);
    no_secret_in_file(path, NULL);
    no_secret_in_reports(f.db);
    ru_rmrf(f.dir);
    return CHECK_DONE();
}

typedef struct bay_mac {
    const char *mac;
    bay_state state;
    int attempts;
} bay_mac;

static bool bay_of_mac_is(const station_view *v, void *arg)
{
    bay_mac *w = arg;
    for (int i = 0; i < v->n_bays; i++)
        if (!strcmp(v->bays[i].mac, w->mac) && v->bays[i].state == w->state &&
            v->bays[i].pass_count + v->bays[i].fail_count >= w->attempts)
            return true;
    return false;
}

static bool failure_recorded(void *db_path)
{
    return check_db_int(db_path, "SELECT count(*) FROM attempt WHERE cause = 'config_not_written' "
                        "AND personalized = 0 AND ledger_row_id IS NOT NULL") == 1;
}

static int bay_number_of(const station_view *v, const char *mac)
{
    for (int i = 0; i < v->n_bays; i++)
        if (!strcmp(v->bays[i].mac, mac))
            return v->bays[i].bay;
    return -1;
}

static int case_brownout_retry(void)
{
    fixture f;
    make_fixture(&f, 2);
    bksim_module_config mods[2];
    for (int i = 0; i < 2; i++)
        bksim_module_config_default(&mods[i]);
    mods[0].have_mac = true;
    bksim_mac_parse("d8:1f:12:b0:00:01", mods[0].mac);
    mods[0].faults.brownout_at = 0x1E1000; /* three brown-outs: every try of the first job */
    mods[0].faults.brownout_at_count = 3;
    station *st = start(&f, 2, mods, NULL, false);
    station_view *v = calloc(1, sizeof *v);
    bay_mac failed = {"d8:1f:12:b0:00:01", BAY_FAIL, 1};
    REQUIRE(ru_wait_view(st, v, bay_of_mac_is, &failed, 60));
    int bay = bay_number_of(v, failed.mac);
    /* the database writer records the end a moment after the view shows it */
    REQUIRE(check_wait_until(failure_recorded, f.db, 30000));
    CHECK_EQ_INT(check_db_int(f.db, "SELECT count(*) FROM ledger_row WHERE state = 'reserved' "
                              "AND mac = 'd8:1f:12:b0:00:01'"), 1);
    long long row = check_db_int(f.db, "SELECT id FROM ledger_row WHERE mac = 'd8:1f:12:b0:00:01'");
    /* the operator retries the bay: the same module, the same row */
    station_actions act = station_get_actions(st);
    char msg[200];
    bay_mac passed = {"d8:1f:12:b0:00:01", BAY_PASS, 1};
    /* the view shows the failure only once the bay is free (job_done): the retry is taken */
    CHECK_MSG(act.retry_bay(act.ctx, bay, msg, sizeof msg) == 0, "%s", msg);
    REQUIRE(ru_wait_view(st, v, bay_of_mac_is, &passed, 60));
    station_request_stop(st);
    station_free(st);
    free(v);
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM ledger_row WHERE id = %lld AND state = 'used' "
             "AND mac = 'd8:1f:12:b0:00:01'", row);
    CHECK_EQ_INT(check_db_int(f.db, sql), 1);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM attempt WHERE mac = 'd8:1f:12:b0:00:01' AND "
             "ledger_row_id = %lld", row);
    CHECK_EQ_INT(check_db_int(f.db, sql), 2);
    CHECK_EQ_INT(check_db_int(f.db, "SELECT count(*) FROM ledger_row WHERE state = 'used'"), 2);
    ru_rmrf(f.dir);
    return CHECK_DONE();
}

/* The station as a program on one simulated module with a pinned MAC. */
static void spawn_station(ru_child *c, const fixture *f, const char *scenario, const char *debug)
{
    const char *argv[] = {trayflash_bin, "station", "--profile", f->profile, "--db", f->db,
                          "--sim", "1", "--sim-scenario", scenario, "--time-scale", "0.25",
                          "--headless", "--once", NULL};
    ru_spawn(c, argv, debug);
}

static int case_crash_restart(void)
{
    trayflash_bin = check_arg(0);
    REQUIRE_MSG(trayflash_bin != NULL, "usage: test_station_personal crash_restart TRAYFLASH");
    fixture f;
    make_fixture(&f, 2);
    char scenario[160];
    snprintf(scenario, sizeof scenario, "%s/sim.ini", f.dir);
    ru_write_file(scenario, "[module 0]\nmac = d8:1f:12:c0:00:07\n");
    static ru_child c;
    spawn_station(&c, &f, scenario, "ledger-pause,wire");
    char line[1024];
    bool paused = false;
    double deadline = ru_mono() + 60;
    while (!paused && ru_next_line(&c, line, sizeof line, deadline) == 1) {
        CHECK(!strstr(line, WIFI_SECRET) && !strstr(line, MQTT_SECRET));
        paused = strstr(line, "pausing before marking it used") != NULL;
    }
    REQUIRE_MSG(paused, "the station never reached the window (last line: %s)", line);
    char cmdline_path[64];
    snprintf(cmdline_path, sizeof cmdline_path, "/proc/%d/cmdline", (int)c.pid);
    no_secret_in_file(cmdline_path, "--profile"); /* argv */
    kill(c.pid, SIGKILL);
    CHECK_EQ_INT(ru_reap(&c), 128 + SIGKILL);
    /* killed between write and mark: the row is the module's, reserved; the other is free */
    CHECK_EQ_INT(check_db_int(f.db, "SELECT count(*) FROM ledger_row WHERE state = 'reserved' "
                              "AND mac = 'd8:1f:12:c0:00:07'"), 1);
    CHECK_EQ_INT(check_db_int(f.db, "SELECT count(*) FROM ledger_row WHERE state = 'free'"), 1);
    long long row = check_db_int(f.db, "SELECT id FROM ledger_row WHERE mac = 'd8:1f:12:c0:00:07'");
    spawn_station(&c, &f, scenario, NULL);
    while (ru_next_line(&c, line, sizeof line, ru_mono() + 60) == 1)
        CHECK(!strstr(line, WIFI_SECRET) && !strstr(line, MQTT_SECRET));
    CHECK_EQ_INT(ru_reap(&c), 0);
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM ledger_row WHERE id = %lld AND state = 'used' "
             "AND mac = 'd8:1f:12:c0:00:07'", row);
    CHECK_EQ_INT(check_db_int(f.db, sql), 1);
    CHECK_EQ_INT(check_db_int(f.db, "SELECT count(*) FROM ledger_row WHERE mac IS NOT NULL"), 1);
    CHECK_EQ_INT(check_db_int(f.db, "SELECT count(*) FROM ledger_row WHERE state = 'free'"), 1);
    CHECK_EQ_INT(check_db_int(f.db, "SELECT count(*) FROM attempt WHERE outcome = 'interrupted'"), 1);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM attempt WHERE outcome = 'pass' AND "
             "ledger_row_id = %lld AND personalized = 1", row);
    CHECK_EQ_INT(check_db_int(f.db, sql), 1);
    no_secret_in_file(f.db, "SN-0002");
    /* what the customer and the engineer see of it */
    char *out;
    const char *st_argv[] = {trayflash_bin, "ledger", "status", "--profile", "plug-p1", "--db",
                             f.db, NULL};
    CHECK_EQ_INT(check_capture(st_argv, true, 60, &out), 0);
    CHECK_HAS(out, "total 2, used 1, reserved 0, free 1");
    free(out);
    const char *ex_argv[] = {trayflash_bin, "ledger", "export", "--profile", f.profile, "--db",
                             f.db, NULL};
    CHECK_EQ_INT(check_capture(ex_argv, false, 60, &out), 0);
    CHECK_HAS(out, "\"mac\",\"state\",\"used_at\",\"serial\"\r\n\"d8:1f:12:c0:00:07\",\"used\",\"20");
    CHECK(strstr(out, "SN-0002") == NULL); /* a free row has no module */
    free(out);
    const char *rel_argv[] = {trayflash_bin, "ledger", "release", "--profile", "plug-p1",
                              "--mac", "D8:1F:12:C0:00:07", "--db", f.db, NULL};
    CHECK_EQ_INT(check_capture(rel_argv, true, 60, &out), 2); /* used: it shipped */
    CHECK_HAS(out, "is used");
    free(out);
    ru_rmrf(f.dir);
    return CHECK_DONE();
}

/* `profile check` shows the first module's sector: passwords masked (read from the secrets
 * file through $CREDENTIALS_DIRECTORY, counted against their limits), every field's size
 * against its limit; a group-readable secrets file is refused, naming the remedy. */
static int case_profile_check(void)
{
    const char *tf = check_arg(0);
    REQUIRE(tf != NULL);
    fixture f;
    make_fixture(&f, 1);
    char creds[128], path[200];
    snprintf(creds, sizeof creds, "%s/creds", f.dir);
    REQUIRE(mkdir(creds, 0700) == 0);
    snprintf(path, sizeof path, "%s/line2", creds);
    write_file(path, "wifi = " WIFI_SECRET "\nmqtt = " MQTT_SECRET "\n", 0600);
    /* the profile names the credential instead of the path */
    char *text;
    FILE *pf = fopen(f.profile, "r");
    REQUIRE(pf != NULL);
    fseek(pf, 0, SEEK_END);
    text = check_read_file(pf);
    fclose(pf);
    char *line = strstr(text, "secrets = ");
    REQUIRE(line != NULL);
    char *eol = strchr(line, '\n');
    char changed[4096];
    snprintf(changed, sizeof changed, "%.*ssecrets = credential:line2%s", (int)(line - text), text,
             eol);
    write_file(f.profile, changed, 0644);
    free(text);
    setenv("CREDENTIALS_DIRECTORY", creds, 1);
    char *out;
    const char *argv[] = {tf, "profile", "check", f.profile, NULL};
    CHECK_EQ_INT(check_capture(argv, true, 60, &out), 0);
    CHECK_HAS(out, "short_name   = plug-000001 (line 15, 11 of 31)");
    CHECK_HAS(out, "long_name    = Plug P1 <serial> (line 16, 16 of 63)");
    CHECK_HAS(out, "mqtt_pass    = ******** (line 19, 20 of 127)");
    CHECK_HAS(out, "wifi_pass    = ******** (line 21, 20 of 63)");
    CHECK(!strstr(out, WIFI_SECRET) && !strstr(out, MQTT_SECRET));
    free(out);
    const char *jargv[] = {tf, "profile", "check", "--json", f.profile, NULL};
    CHECK_EQ_INT(check_capture(jargv, true, 60, &out), 0);
    CHECK_HAS(out, "\"secrets_read\":\ttrue");
    CHECK(!strstr(out, WIFI_SECRET) && !strstr(out, MQTT_SECRET));
    free(out);
    /* one module by `flash` would pass without its sector: refused, naming the section */
    const char *fargv[] = {tf, "flash", "--port", "/dev/null", "--profile", f.profile, NULL};
    CHECK_EQ_INT(check_capture(fargv, true, 60, &out), 2);
    CHECK_HAS(out, "plug.ini:10: [personalize]: a personalised product is flashed by");
    free(out);
    /* readable by the group: refused when the station starts, and by the loader's words here */
    REQUIRE(chmod(path, 0640) == 0);
    char err[600];
    CHECK(tf_secrets_load("credential:line2", err, sizeof err) == NULL);
    CHECK_HAS(err, "chmod 0600");
    CHECK_EQ_INT(check_capture(argv, true, 60, &out), 0);
    CHECK_HAS(out, "not read here");
    free(out);
    static station_opts o;
    memset(&o, 0, sizeof o);
    station_config_defaults(&o.cfg);
    o.profile_path = f.profile;
    o.db_path = f.db;
    o.sim_count = 1;
    station_failure why;
    CHECK(station_start_why(&o, &why, err, sizeof err) == NULL);
    CHECK(why == STATION_FAIL_SETUP);
    CHECK_HAS(err, "plug.ini:13: secrets:");
    unsetenv("CREDENTIALS_DIRECTORY");
    ru_rmrf(f.dir);
    return CHECK_DONE();
}


static void write_bytes(const char *path, const uint8_t *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    REQUIRE_MSG(f != NULL, "%s", path);
    REQUIRE(fwrite(data, 1, len, f) == len);
    REQUIRE(fclose(f) == 0);
}

/* The file with its line starting `key = ` replaced by `line` (which ends in \n). */
static void replace_line(const char *path, const char *key, const char *line)
{
    FILE *pf = fopen(path, "r");
    REQUIRE(pf != NULL);
    fseek(pf, 0, SEEK_END);
    char *text = check_read_file(pf);
    fclose(pf);
    char *at = strstr(text, key);
    REQUIRE_MSG(at != NULL, "%s has no %s", path, key);
    char *eol = strchr(at, '\n');
    REQUIRE(eol != NULL);
    char changed[4096];
    snprintf(changed, sizeof changed, "%.*s%s%s", (int)(at - text), text, line, eol + 1);
    write_file(path, changed, 0644);
    free(text);
}

static int case_base_pinned(void)
{
    const char *tf = check_arg(0);
    REQUIRE(tf != NULL);
    fixture f;
    make_fixture(&f, 1);
    /* the product's base, a file of its own beside the profile */
    char base[160], line[300];
    snprintf(base, sizeof base, "%s/base.bin", f.dir);
    size_t len;
    char *bytes, err[700];
    REQUIRE_MSG(tf_file_read(TRAYFLASH_SOURCE_DIR "/tests/engine/fixtures/obk-base-t.bin", 1 << 16,
                             &bytes, &len, err, sizeof err) == 0, "%s", err);
    REQUIRE(len == OBK_CFG_SIZE);
    uint8_t *cfg = (uint8_t *)bytes;
    write_bytes(base, cfg, len);
    snprintf(line, sizeof line, "base = %s\n", base);
    replace_line(f.profile, "base = ", line);
    char sha_before[65];
    bk_sha256_hex(cfg, len, sha_before);

    /* unpinned: profile check prints the line to paste */
    char *out;
    const char *argv[] = {tf, "profile", "check", f.profile, NULL};
    CHECK_EQ_INT(check_capture(argv, false, 60, &out), 0);
    char *paste = strstr(out, "      base_sha256 = ");
    REQUIRE_MSG(paste != NULL, "no line to paste in: %s", out);
    paste += 6;
    snprintf(line, sizeof line, "%.*s\n", (int)strcspn(paste, "\n"), paste);
    CHECK_HAS(line, sha_before);
    free(out);
    /* pasted after base (line 13): it loads, shown as pinned */
    char both[600];
    snprintf(both, sizeof both, "base = %s\n%s", base, line);
    replace_line(f.profile, "base = ", both);
    CHECK_EQ_INT(check_capture(argv, false, 60, &out), 0);
    CHECK_HAS(out, "pinned   base_sha256 (line 13) ok");
    free(out);
    const char *jargv[] = {tf, "profile", "check", "--json", f.profile, NULL};
    CHECK_EQ_INT(check_capture(jargv, false, 60, &out), 0);
    CHECK_HAS(out, "\"base_sha256_pinned\":\ttrue");
    CHECK_HAS(out, sha_before);
    free(out);

    /* the base changed, still a valid config: every module would get its pins and name */
    REQUIRE(obk_config_set(cfg, obk_field_find("short_name"), "other-{mac}", err, sizeof err));
    obk_config_seal(cfg, OBK_CRC_SIGNED_CHAR);
    REQUIRE(obk_config_check(cfg, len, OBK_CRC_SIGNED_CHAR, err, sizeof err));
    write_bytes(base, cfg, len);
    char sha_after[65];
    bk_sha256_hex(cfg, len, sha_after);
    REQUIRE(strcmp(sha_before, sha_after) != 0);
    char want[400];
    snprintf(want, sizeof want, "plug.ini:13: base_sha256 mismatch for base \"%s\": the file has %s, "
             "the profile pins %s", base, sha_after, sha_before);
    CHECK_EQ_INT(check_capture(argv, true, 60, &out), 2);
    CHECK_HAS(out, want);
    free(out);
    /* ... and the station does not start: no job, no module touched */
    static station_opts o;
    memset(&o, 0, sizeof o);
    station_config_defaults(&o.cfg);
    o.profile_path = f.profile;
    o.db_path = f.db;
    o.sim_count = 1;
    station_failure why;
    CHECK(station_start_why(&o, &why, err, sizeof err) == NULL);
    CHECK(why == STATION_FAIL_CONFIG);
    CHECK_HAS(err, want);
    /* without the pin the changed base loads: the pin is what caught it */
    replace_line(f.profile, "base_sha256 = ", "");
    tf_profile *p = calloc(1, sizeof *p);
    REQUIRE(p != NULL);
    CHECK(tf_profile_load(f.profile, p, err, sizeof err) == TF_PROFILE_OK);
    CHECK_STR(p->personal.base_sha256, sha_after);
    tf_profile_free(p);
    free(p);
    free(cfg);
    ru_rmrf(f.dir);
    return CHECK_DONE();
}

int main(int argc, char **argv)
{
    static const check_case cases[] = {
        {"tray16", case_tray16},
        {"brownout_retry", case_brownout_retry},
        {"crash_restart", case_crash_restart},
        {"profile_check", case_profile_check},
        {"base_pinned", case_base_pinned},
    };
    return CHECK_RUN(argc, argv, cases);
}
