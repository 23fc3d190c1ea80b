/* The backup before the first erase, and the restore, end to end on bksim (issue 16):
 *   reel16   - 16 bays of modules from one reel (identical vendor firmware, per-device data of
 *              their own), profile backup = full: all pass; the store holds ONE copy of each
 *              shared block; every backup, read back from the store, equals the module's flash
 *              as it came (a fresh model of the same module) over the stored ranges; a module
 *              flashed with the new image and then restored (`trayflash restore`, a child) is
 *              byte-identical to its original over those ranges, recorded as kind 'restore'.
 *   brownout - a module that resets on every read after its third browns out during the
 *              backup: it fails with backup_failed before anything is erased (no sector of it
 *              erased), and no backup is recorded.
 *   sigkill  - `trayflash flash --db` killed (SIGKILL) while it reads the backup, then run
 *              again: `backup verify` is clean after the kill and after the rerun, and the
 *              module is backed up once.
 *   cap      - backup_cap_mb: the dashboard's warning past 90%, then backup_store, nothing erased.
 *   force    - a module whose RF sector was wiped (no MAC) is restored only with --force, which
 *              leaves an audit row; the restore puts its MAC back.
 *   phases   - the engine's events for one job with backup = device (bk_flash_job with the
 *              keeper's ops): LINK, IDENTIFY, BACKUP, then ERASE; BACKUP's progress counts the
 *              plan's ranges up to all of them before the first erase; a module kept already
 *              shows them all at once; backup = none has no BACKUP phase.
 *   json     - `backup list|verify --json` and `restore --json` (children): one JSON document
 *              on stdout whose fields match the database (ids, MACs, ranges, blocks, totals);
 *              a restore, a wrong module, an unknown MAC and a damaged block each give their
 *              exit code in the document and the process, errors named on stderr too.
 * Waits are on the station (--once), a child's exit or the database, with deadlines; no sleeps. */
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include "backup_keeper.h"
#include "bksim.h"
#include "check.h"
#include "db_backup.h"
#include "profile.h"
#include "robust_util.h"
#include "station.h"

#define IMAGE TRAYFLASH_SOURCE_DIR "/profiles/images/demo-small.bin"
#define IMAGE_SHA "8017d6d3802ce06e996dfe2f11c80673e971c38d19c5487178f4a63afcbddd40"
#define SEED 7

static const char *trayflash_exe;

typedef struct run {
    char dir[64], db_path[128], profile[128];
} run;

static void setup(run *r, const char *mode)
{
    ru_mkdtemp(r->dir, sizeof r->dir);
    snprintf(r->db_path, sizeof r->db_path, "%s/t.db", r->dir);
    snprintf(r->profile, sizeof r->profile, "%s/backup-%s.ini", r->dir, mode);
    char text[1024];
    snprintf(text, sizeof text,
             "[profile]\nname = backup-%s\nproduct = demo-plug\nchip = bk7231t\nbaud = 921600\n"
             "image = " IMAGE "\noffset = 0x11000\nsha256 = " IMAGE_SHA "\nbackup = %s\n",
             mode, mode);
    ru_write_file(r->profile, text);
}

static station *start_capped(run *r, int n, const bksim_module_config *mods, double scale,
                             int cap_mb, FILE *out)
{
    static station_opts o;
    memset(&o, 0, sizeof o);
    station_config_defaults(&o.cfg);
    o.cfg.backup_cap_mb = cap_mb;
    o.headless_out = out;
    o.cfg.pool_size = 16;
    o.profile_path = r->profile;
    o.db_path = r->db_path;
    o.sim_count = n;
    o.sim_modules = mods;
    o.sim_time_scale = scale;
    o.sim_seed = SEED;
    o.once = true;
    o.link_timeout_ms = 3000;
    char err[512];
    station *st = station_start(&o, err, sizeof err);
    if (!st) {
        fprintf(stderr, "station_start: %s\n", err);
        exit(2);
    }
    return st;
}

static station *start(run *r, int n, const bksim_module_config *mods, double scale)
{
    return start_capped(r, n, mods, scale, 0, NULL);
}

static void reel_modules(bksim_module_config *mods, int n)
{
    for (int i = 0; i < n; i++) {
        bksim_module_config_default(&mods[i]);
        mods[i].reel = 1;
    }
}

/* The flash module i came with: a fresh model of the same module (same seed and index). */
static uint8_t *original_flash(const bksim_module_config *mc, int i, uint8_t mac[6])
{
    char err[200];
    bksim_module *m = bksim_module_new(mc, NULL, SEED, i, 0, err, sizeof err);
    REQUIRE_MSG(m != NULL, "%s", err);
    uint8_t *flash = malloc(BKSIM_FLASH_SIZE);
    REQUIRE(flash != NULL);
    bksim_module_read_flash(m, 0, flash, BKSIM_FLASH_SIZE);
    bksim_module_mac(m, mac);
    bksim_module_free(m);
    return flash;
}

/* Bytes of `got` that differ from `want` over the backup's ranges. */
static long differ_over_ranges(const uint8_t *got, const uint8_t *want, const backup_image *im)
{
    long bad = 0;
    for (int k = 0; k < im->n; k++)
        for (uint32_t a = im->ranges[k].addr; a < im->ranges[k].addr + im->ranges[k].len; a++)
            bad += got[a] != want[a];
    return bad;
}

static int run_program(const char *const argv[], char *text, size_t cap)
{
    ru_child c;
    ru_spawn(&c, argv, NULL);
    size_t used = 0;
    char line[1024];
    double deadline = ru_mono() + 120;
    int got;
    while ((got = ru_next_line(&c, line, sizeof line, deadline)) == 1)
        used += (size_t)snprintf(text + used, used < cap ? cap - used : 0, "%s\n", line);
    if (got < 0)
        kill(c.pid, SIGKILL);
    return ru_reap(&c);
}

static void exe(void)
{
    trayflash_exe = check_arg(0) ? check_arg(0) : "trayflash";
}

static int case_reel16(void)
{
    exe();
    enum { N = 16 };
    run r;
    setup(&r, "full");
    bksim_module_config mods[N];
    reel_modules(mods, N);
    station *st = start(&r, N, mods, 0.25);
    CHECK_EQ_INT(station_wait(st), 0);
    int pass, fail;
    station_counts(st, &pass, &fail);
    CHECK_EQ_INT(pass, N);
    CHECK_EQ_INT(fail, 0);
    CHECK_EQ_INT(check_db_int(r.db_path, "select count(*) from backup where mode = 'full'"), N);
    CHECK_EQ_INT(check_db_int(r.db_path, "select count(distinct mac) from backup"), N);
    /* one copy of each shared block: as many distinct shared blocks as one module has */
    long long one = check_db_int(r.db_path, "select count(*) from backup_range where shared = 1 "
                                            "and sha256 is not null and backup_id = (select "
                                            "min(id) from backup)");
    CHECK(one > 10);
    CHECK_EQ_INT(check_db_int(r.db_path, "select count(distinct sha256) from backup_range where "
                                         "shared = 1"), one);
    CHECK_EQ_INT(check_db_int(r.db_path, "select count(*) from backup_block where addr < "
                                         "0x1D8000"), one);
    /* every module's own data is its own: N distinct blocks at the RF sector */
    CHECK_EQ_INT(check_db_int(r.db_path, "select count(distinct sha256) from backup_range where "
                                         "addr = 0x1E0000"), N);
    long long covered = check_db_int(r.db_path, "select sum(len) from backup_range where sha256 "
                                                "is not null");
    long long stored = check_db_int(r.db_path, "select sum(size) from backup_block");
    REQUIRE(stored > 0);
    printf("note: %d modules, %lld bytes covered, %lld stored: dedupe ratio %.2f\n", N, covered,
           stored, (double)covered / (double)stored);
    CHECK(covered > 8 * stored);
    /* read in parallel, each shared block was read about once for the whole tray (a job leaves
       a block another is reading for later, bk_backup_ops.have_block), not once a module */
    long long shared_sectors = check_db_int(r.db_path, "select sum(size) / 4096 from backup_block "
                                                       "where addr < 0x1D8000");
    uint64_t reads = 0;
    for (int i = 0; i < N; i++) {
        bksim_stats ss;
        bksim_get_stats(station_sim(st), i, &ss);
        reads += ss.reads_4k;
    }
    printf("note: %llu sectors read over the tray for %lld shared sectors (%.2f reads each, "
           "per-device sectors included)\n", (unsigned long long)reads, shared_sectors,
           (double)reads / (double)shared_sectors);
    CHECK((long long)reads < 2 * shared_sectors + 16 * N);

    /* every backup equals the module's flash as it came, over the stored ranges */
    db *d;
    blockstore *bs;
    char err[600];
    REQUIRE_MSG(backup_store_open(r.db_path, false, &d, &bs, err, sizeof err) == 0, "%s", err);
    uint8_t mac0[6];
    uint8_t *orig0 = NULL;
    for (int i = 0; i < N; i++) {
        uint8_t mac[6];
        uint8_t *orig = original_flash(&mods[i], i, mac);
        char m[18];
        bk_mac_format(mac, m, sizeof m);
        db_backup b;
        backup_image im;
        REQUIRE_MSG(db_backup_get(d, m, 0, &b) == 1, "no backup of %s", m);
        REQUIRE_MSG(backup_image_load(d, bs, b.id, b.chip, &im, err, sizeof err) == 0, "%s", err);
        CHECK_EQ_INT(differ_over_ranges(im.flash, orig, &im), 0);
        /* the filler outside the ranges is 0xFF */
        CHECK_EQ_INT(im.flash[0x1E2000], 0xFF);
        backup_image_free(&im);
        if (i == 0) {
            orig0 = orig;
            memcpy(mac0, mac, 6);
        } else {
            free(orig);
        }
    }
    db_close(d);
    blockstore_close(bs);

    /* module 0 holds the new image now; restored, it is its original again over the ranges */
    uint8_t *now = malloc(BKSIM_FLASH_SIZE);
    REQUIRE(now != NULL);
    REQUIRE(bksim_read_flash(station_sim(st), 0, 0, now, BKSIM_FLASH_SIZE) == 0);
    CHECK(memcmp(now + 0x11000, orig0 + 0x11000, 0x1000) != 0); /* it was flashed */
    char m0[18];
    bk_mac_format(mac0, m0, sizeof m0);
    const char *argv[] = {trayflash_exe, "restore", "--port", bksim_link_path(station_sim(st), 0),
                          "--mac", m0, "--db", r.db_path, NULL};
    char *text = calloc(1, 1 << 16);
    CHECK_EQ_INT(run_program(argv, text, 1 << 16), 0);
    CHECK_HAS(text, "RESTORED");
    REQUIRE(bksim_read_flash(station_sim(st), 0, 0, now, BKSIM_FLASH_SIZE) == 0);
    REQUIRE(backup_store_open(r.db_path, false, &d, &bs, err, sizeof err) == 0);
    db_backup b;
    backup_image im;
    REQUIRE(db_backup_get(d, m0, 0, &b) == 1);
    REQUIRE(backup_image_load(d, bs, b.id, b.chip, &im, err, sizeof err) == 0);
    CHECK_EQ_INT(differ_over_ranges(now, orig0, &im), 0);
    backup_image_free(&im);
    db_close(d);
    blockstore_close(bs);
    check_sql_arg mac_arg = SQL_TEXT(m0);
    CHECK_EQ_INT(check_db_int_args(r.db_path, "select count(*) from attempt where kind = 'restore' "
                                              "and outcome = 'pass' and mac = ?1", 1, &mac_arg), 1);
    /* a module showing another MAC is refused, nothing erased */
    const char *wrong[] = {trayflash_exe, "restore", "--port", bksim_link_path(station_sim(st), 1),
                           "--mac", m0, "--db", r.db_path, NULL};
    bksim_clear_counts(station_sim(st), 1);
    CHECK_EQ_INT(run_program(wrong, text, 1 << 16), 1);
    CHECK_HAS(text, "wrong_module");
    uint16_t erases[BKSIM_SECTORS], programs[BKSIM_SECTORS];
    bksim_get_sector_counts(station_sim(st), 1, erases, programs, BKSIM_SECTORS);
    int erased = 0;
    for (unsigned s = 0; s < BKSIM_SECTORS; s++)
        erased += erases[s] + programs[s];
    CHECK_EQ_INT(erased, 0);
    free(text);
    free(now);
    free(orig0);
    station_free(st);
    ru_rmrf(r.dir);
    return CHECK_DONE();
}

static int case_brownout(void)
{
    run r;
    setup(&r, "device");
    bksim_module_config mods[1];
    reel_modules(mods, 1);
    char err[200];
    REQUIRE(bksim_fault_parse("brownout-read-after=3", &mods[0].faults, err, sizeof err));
    station *st = start(&r, 1, mods, 0.25);
    CHECK_EQ_INT(station_wait(st), 0);
    int causes[BK_CAUSE_COUNT];
    station_fail_causes(st, causes);
    CHECK_EQ_INT(causes[BK_CAUSE_BACKUP_FAILED], 1);
    uint16_t erases[BKSIM_SECTORS], programs[BKSIM_SECTORS];
    bksim_get_sector_counts(station_sim(st), 0, erases, programs, BKSIM_SECTORS);
    int touched = 0;
    for (unsigned s = 0; s < BKSIM_SECTORS; s++)
        touched += erases[s] + programs[s];
    CHECK_EQ_INT(touched, 0); /* failed before any erase */
    CHECK_EQ_INT(check_db_int(r.db_path, "select count(*) from attempt where cause = "
                                         "'backup_failed' and detail like '%Read4K%'"), 1);
    CHECK_EQ_INT(check_db_int(r.db_path, "select count(*) from backup"), 0);
    station_free(st);
    ru_rmrf(r.dir);
    return CHECK_DONE();
}

/* backup_cap_mb 1 and a full backup of 1.2 MiB: a warning past 90%, then the block that would
 * pass the cap is refused and the module fails with backup_store, nothing erased. */
static int case_cap(void)
{
    run r;
    setup(&r, "full");
    bksim_module_config mods[1];
    reel_modules(mods, 1);
    FILE *out = tmpfile();
    REQUIRE(out != NULL);
    station *st = start_capped(&r, 1, mods, 0.1, 1, out);
    CHECK_EQ_INT(station_wait(st), 0);
    int causes[BK_CAUSE_COUNT];
    station_fail_causes(st, causes);
    CHECK_EQ_INT(causes[BK_CAUSE_BACKUP_STORE], 1);
    uint16_t erases[BKSIM_SECTORS], programs[BKSIM_SECTORS];
    bksim_get_sector_counts(station_sim(st), 0, erases, programs, BKSIM_SECTORS);
    int touched = 0;
    for (unsigned s = 0; s < BKSIM_SECTORS; s++)
        touched += erases[s] + programs[s];
    CHECK_EQ_INT(touched, 0);
    station_free(st);
    char *lines = check_read_file(out);
    fclose(out);
    CHECK_HAS(lines, "backup store at 9");
    CHECK_HAS(lines, "backup_cap_mb");
    CHECK(check_db_int(r.db_path, "select sum(size) from backup_block") <= 1 << 20);
    CHECK_EQ_INT(check_db_int(r.db_path, "select count(*) from backup"), 0);
    free(lines);
    ru_rmrf(r.dir);
    return CHECK_DONE();
}

typedef struct db_wait {
    const char *path;
    const char *sql;
    long long at_least;
} db_wait;

static bool db_reaches(void *ctx)
{
    db_wait *w = ctx;
    return access(w->path, F_OK) == 0 && check_db_int(w->path, w->sql) >= w->at_least;
}

static int case_sigkill(void)
{
    exe();
    run r;
    setup(&r, "full");
    bksim_module_config mods[1];
    reel_modules(mods, 1);
    bksim_config cfg = {.count = 1, .seed = SEED, .time_scale = 0.5, .modules = mods};
    char err[300];
    bksim_server *srv = bksim_start(&cfg, err, sizeof err);
    REQUIRE_MSG(srv != NULL, "%s", err);
    const char *argv[] = {trayflash_exe, "flash", "--port", bksim_link_path(srv, 0), "--profile",
                          r.profile, "--db", r.db_path, NULL};
    ru_child c;
    ru_spawn(&c, argv, NULL);
    /* the first block of the backup is durable and indexed: the backup is under way */
    db_wait w = {r.db_path, "select count(*) from backup_block", 1};
    CHECK(check_wait_until(db_reaches, &w, 60000));
    kill(c.pid, SIGKILL);
    CHECK_EQ_INT(ru_reap(&c), 128 + SIGKILL);
    CHECK_EQ_INT(check_db_int(r.db_path, "select count(*) from backup"), 0);
    char *text = calloc(1, 1 << 16);
    const char *verify[] = {trayflash_exe, "backup", "verify", "--db", r.db_path, NULL};
    CHECK_EQ_INT(run_program(verify, text, 1 << 16), 0);
    CHECK_HAS(text, " 0 missing or damaged");
    /* once the port is seen closed, the next open is the power-cycle it stands for */
    CHECK_EQ_INT(run_program(argv, text, 1 << 16), 0);
    CHECK_HAS(text, "PASS");
    CHECK_EQ_INT(check_db_int(r.db_path, "select count(*) from backup"), 1);
    CHECK_EQ_INT(run_program(verify, text, 1 << 16), 0);
    CHECK_HAS(text, " 0 missing or damaged");
    /* and flashed again, the module is not backed up a second time */
    CHECK_EQ_INT(run_program(argv, text, 1 << 16), 0);
    CHECK_HAS(text, "kept already");
    CHECK_EQ_INT(check_db_int(r.db_path, "select count(*) from backup"), 1);
    free(text);
    bksim_stop(srv);
    ru_rmrf(r.dir);
    return CHECK_DONE();
}

/* Wipes the RF calibration sector of module i (the damage a restore repairs): a job whose
 * image is one blank sector there, which the engine erases and does not write. */
static void wipe_rf_sector(bksim_server *srv, int i)
{
    static const uint8_t blank[4096] = {[0 ... 4095] = 0xFF};
    bk_job_spec spec;
    memset(&spec, 0, sizeof spec);
    bk_job_spec_defaults(&spec);
    spec.n_variants = 1;
    spec.variants[0] = (bk_variant){.chip = BK_CHIP_BK7231T, .image = blank,
                                    .image_len = sizeof blank, .offset = 0x1E0000};
    spec.allow_per_device_write = true;
    bk_result r;
    bk_flash_job(bksim_link_path(srv, i), &spec, NULL, &r);
    REQUIRE_MSG(r.passed, "wiping the RF sector: %s", r.detail);
}

/* A module whose RF sector was wiped shows no MAC: restored only with --force, which leaves an
 * audit row; the restore puts the MAC back. */
static int case_force(void)
{
    exe();
    run r;
    setup(&r, "device");
    bksim_module_config mods[1];
    reel_modules(mods, 1);
    bksim_config cfg = {.count = 1, .seed = SEED, .time_scale = 0.1, .modules = mods};
    char err[300];
    bksim_server *srv = bksim_start(&cfg, err, sizeof err);
    REQUIRE_MSG(srv != NULL, "%s", err);
    char *text = calloc(1, 1 << 16);
    const char *flash[] = {trayflash_exe, "flash", "--port", bksim_link_path(srv, 0), "--profile",
                           r.profile, "--db", r.db_path, NULL};
    CHECK_EQ_INT(run_program(flash, text, 1 << 16), 0);
    uint8_t mac[6], rf[4096];
    bksim_get_mac(srv, 0, mac);
    char m[18];
    bk_mac_format(mac, m, sizeof m);
    wipe_rf_sector(srv, 0);
    REQUIRE(bksim_read_flash(srv, 0, 0x1E0000, rf, sizeof rf) == 0);
    CHECK(!bk_mac_from_rf_cal(rf, sizeof rf, mac));
    bksim_clear_counts(srv, 0);
    const char *restore[] = {trayflash_exe, "restore", "--port", bksim_link_path(srv, 0), "--mac",
                             m, "--db", r.db_path, NULL};
    CHECK_EQ_INT(run_program(restore, text, 1 << 16), 1);
    CHECK_HAS(text, "--force");
    uint16_t erases[BKSIM_SECTORS], programs[BKSIM_SECTORS];
    bksim_get_sector_counts(srv, 0, erases, programs, BKSIM_SECTORS);
    int touched = 0;
    for (unsigned s = 0; s < BKSIM_SECTORS; s++)
        touched += erases[s] + programs[s];
    CHECK_EQ_INT(touched, 0);
    CHECK_EQ_INT(check_db_int(r.db_path, "select count(*) from event_log where text like "
                                         "'restore --force%'"), 0);
    const char *forced[] = {trayflash_exe, "restore", "--port", bksim_link_path(srv, 0), "--mac",
                            m, "--db", r.db_path, "--force", NULL};
    CHECK_EQ_INT(run_program(forced, text, 1 << 16), 0);
    CHECK_HAS(text, "RESTORED");
    REQUIRE(bksim_read_flash(srv, 0, 0x1E0000, rf, sizeof rf) == 0);
    uint8_t back[6];
    CHECK(bk_mac_from_rf_cal(rf, sizeof rf, back));
    bksim_get_mac(srv, 0, mac);
    CHECK(memcmp(back, mac, 6) == 0);
    CHECK_EQ_INT(check_db_int(r.db_path, "select count(*) from event_log where level = 'warn' and "
                                         "text like 'restore --force%'"), 1);
    CHECK_EQ_INT(check_db_int(r.db_path, "select count(*) from attempt where kind = 'restore'"), 2);
    free(text);
    bksim_stop(srv);
    ru_rmrf(r.dir);
    return CHECK_DONE();
}


/* ---- phases -------------------------------------------------------------------------- */

typedef struct phase_log {
    bk_phase seq[64];       /* BK_EV_PHASE events, a repeat of the last one left out */
    int n;
    int backup_events, backup_after_erase;
    uint32_t first_done, last_done, total;
    bool went_back;         /* ranges_done ever decreased */
    bool bytes_over;        /* bytes_done > bytes_total */
    bool erased;
} phase_log;

static void on_phase_event(void *ctx, const bk_event *ev)
{
    phase_log *l = ctx;
    if (ev->kind == BK_EV_PHASE && (l->n == 0 || l->seq[l->n - 1] != ev->phase) && l->n < 64)
        l->seq[l->n++] = ev->phase;
    l->erased |= ev->phase == BK_PHASE_ERASE;
    if (ev->kind != BK_EV_PROGRESS || ev->phase != BK_PHASE_BACKUP)
        return;
    if (l->backup_events++ == 0)
        l->first_done = ev->ranges_done;
    l->went_back |= ev->ranges_done < l->last_done;
    l->bytes_over |= ev->bytes_done > ev->bytes_total;
    l->backup_after_erase += l->erased;
    l->last_done = ev->ranges_done;
    l->total = ev->ranges_total;
}

static int phase_index(const phase_log *l, bk_phase p)
{
    for (int i = 0; i < l->n; i++)
        if (l->seq[i] == p)
            return i;
    return -1;
}

static void flash_logged(const char *port, const bk_job_spec *spec, backup_keeper *k,
                         phase_log *l, bk_result *res)
{
    memset(l, 0, sizeof *l);
    backup_job bj;
    bk_backup_ops ops;
    bk_job_hooks hooks = {.on_event = on_phase_event, .ctx = l};
    backup_job_init(&bj, k, 0, port, &ops);
    hooks.backup = &ops;
    bk_flash_job(port, spec, &hooks, res);
    backup_job_done(&bj);
}

static int case_phases(void)
{
    run r;
    setup(&r, "device");
    bksim_module_config mc;
    reel_modules(&mc, 1);
    char err[600];
    bksim_config cfg = {.count = 1, .seed = SEED, .time_scale = 0.25, .modules = &mc};
    bksim_server *srv = bksim_start(&cfg, err, sizeof err);
    REQUIRE_MSG(srv != NULL, "bksim_start: %s", err);
    tf_profile *p = calloc(1, sizeof *p);
    REQUIRE(p != NULL);
    REQUIRE_MSG(tf_profile_load(r.profile, p, err, sizeof err) == 0, "%s", err);
    bk_job_spec spec;
    tf_profile_to_spec(p, &spec);
    backup_keeper *k;
    REQUIRE_MSG(backup_keeper_open(r.db_path, 0, &k, err, sizeof err) == 0, "%s", err);
    const char *port = bksim_link_path(srv, 0);

    /* first job: the backup is read, between IDENTIFY and the first ERASE */
    phase_log l;
    bk_result res;
    flash_logged(port, &spec, k, &l, &res);
    CHECK_MSG(res.passed, "%s", res.detail);
    REQUIRE(l.n >= 4);
    CHECK(l.seq[0] == BK_PHASE_LINK);
    int ident = phase_index(&l, BK_PHASE_IDENTIFY), bkp = phase_index(&l, BK_PHASE_BACKUP),
        erase = phase_index(&l, BK_PHASE_ERASE);
    CHECK(ident > 0 && bkp == ident + 1 && erase == bkp + 1);
    for (int i = bkp + 1; i < l.n; i++)
        CHECK(l.seq[i] != BK_PHASE_BACKUP && l.seq[i] != BK_PHASE_IDENTIFY);
    CHECK(l.backup_events >= 2);
    CHECK_EQ_INT(l.first_done, 0);
    CHECK_EQ_U(l.total, res.backup.ranges);
    CHECK_EQ_U(l.last_done, l.total);
    CHECK(res.backup.ranges > 0 && res.backup.read > 0);
    CHECK(!l.went_back && !l.bytes_over);
    CHECK_EQ_INT(l.backup_after_erase, 0);
    printf("note: BACKUP phase: %d progress events over %u ranges (%u blank, %u read)\n",
           l.backup_events, l.total, res.backup.blank, res.backup.read);

    /* again: kept already, nothing read; the tile still counts every range, at once */
    flash_logged(port, &spec, k, &l, &res);
    CHECK_MSG(res.passed, "%s", res.detail);
    CHECK(res.backup.already_kept);
    CHECK(phase_index(&l, BK_PHASE_BACKUP) == phase_index(&l, BK_PHASE_IDENTIFY) + 1);
    CHECK_EQ_U(l.last_done, l.total);
    CHECK(l.total > 0);

    /* backup = none: no BACKUP phase at all */
    spec.backup = BK_BACKUP_NONE;
    flash_logged(port, &spec, k, &l, &res);
    CHECK_MSG(res.passed, "%s", res.detail);
    CHECK_EQ_INT(phase_index(&l, BK_PHASE_BACKUP), -1);
    CHECK_EQ_INT(l.backup_events, 0);
    CHECK(phase_index(&l, BK_PHASE_IDENTIFY) >= 0);

    backup_keeper_close(k);
    tf_profile_free(p);
    free(p);
    bksim_stop(srv);
    ru_rmrf(r.dir);
    return CHECK_DONE();
}

/* ---- json ---------------------------------------------------------------------------- */

/* Runs a child, parses its stdout (stderr apart) as ONE JSON document of the envelope's five
 * keys whose exit_code and ok agree with the process. NULL (checked) when it is not. */
static cJSON *run_json(const char *const argv[], int want_rc)
{
    char *out = NULL;
    int rc = check_capture(argv, false, 120, &out);
    CHECK_EQ_INT(rc, want_rc);
    cJSON *o = cJSON_Parse(out);
    CHECK_MSG(o != NULL && cJSON_IsObject(o), "%s %s: not one JSON object: %s", argv[1], argv[2],
              out);
    free(out);
    if (!o)
        return NULL;
    CHECK_EQ_INT(cJSON_GetArraySize(o), 5);
    cJSON *code = cJSON_GetObjectItem(o, "exit_code"), *ok = cJSON_GetObjectItem(o, "ok");
    CHECK(cJSON_IsNumber(code) && code->valueint == rc);
    CHECK(cJSON_IsBool(ok) && cJSON_IsTrue(ok) == (rc == 0));
    CHECK(cJSON_HasObjectItem(o, "result") && cJSON_HasObjectItem(o, "error"));
    return o;
}

static double num_at(const cJSON *o, const char *key)
{
    const cJSON *x = cJSON_GetObjectItem(o, key);
    CHECK_MSG(cJSON_IsNumber(x), "%s is not a number", key);
    return cJSON_IsNumber(x) ? x->valuedouble : -1;
}

static const char *str_at(const cJSON *o, const char *key)
{
    const cJSON *x = cJSON_GetObjectItem(o, key);
    return cJSON_IsString(x) ? x->valuestring : "";
}

/* Each listed backup against its rows: MAC, chip, mode, ranges, blank ones, bytes, bay. */
static void check_listed(const char *dbp, const cJSON *rows)
{
    const cJSON *b;
    cJSON_ArrayForEach(b, rows) {
        check_sql_arg id = SQL_INT((long long)num_at(b, "id"));
        char *mac = check_db_text_args(dbp, "select mac from backup where id = ?1", 1, &id);
        char *mode = check_db_text_args(dbp, "select mode from backup where id = ?1", 1, &id);
        char *chip = check_db_text_args(dbp, "select chip from backup where id = ?1", 1, &id);
        CHECK_STR(str_at(b, "mac"), mac ? mac : "?");
        CHECK_STR(str_at(b, "mode"), mode ? mode : "?");
        CHECK_STR(str_at(b, "chip"), chip ? chip : "?");
        free(mac);
        free(mode);
        free(chip);
        CHECK_EQ_INT((long long)num_at(b, "ranges"),
                     check_db_int_args(dbp, "select count(*) from backup_range where backup_id = "
                                            "?1", 1, &id));
        CHECK_EQ_INT((long long)num_at(b, "blank"),
                     check_db_int_args(dbp, "select count(*) from backup_range where backup_id = "
                                            "?1 and sha256 is null", 1, &id));
        CHECK_EQ_INT((long long)num_at(b, "bytes"),
                     check_db_int_args(dbp, "select coalesce(sum(len), 0) from backup_range where "
                                            "backup_id = ?1 and sha256 is not null", 1, &id));
        CHECK_EQ_INT((long long)num_at(b, "bay"),
                     check_db_int_args(dbp, "select bay from backup where id = ?1", 1, &id));
        CHECK(strlen(str_at(b, "time")) == 20); /* 2026-12-03T20:52:03Z */
    }
}

static void check_store_numbers(const char *dbp, const cJSON *store)
{
    CHECK(cJSON_IsObject(store));
    CHECK_STR(str_at(store, "db"), dbp);
    CHECK_EQ_INT((long long)num_at(store, "backups"), check_db_int(dbp, "select count(*) from backup"));
    CHECK_EQ_INT((long long)num_at(store, "modules"),
                 check_db_int(dbp, "select count(distinct mac) from backup"));
    CHECK_EQ_INT((long long)num_at(store, "blocks"), check_db_int(dbp, "select count(*) from backup_block"));
    CHECK_EQ_INT((long long)num_at(store, "bytes_stored"),
                 check_db_int(dbp, "select sum(size) from backup_block"));
    CHECK(num_at(store, "dedupe_ratio") >= 1.0);
}

static int case_json(void)
{
    exe();
    enum { N = 2 };
    run r;
    setup(&r, "full");
    bksim_module_config mods[N];
    reel_modules(mods, N);
    station *st = start(&r, N, mods, 0.25);
    CHECK_EQ_INT(station_wait(st), 0);
    int pass, fail;
    station_counts(st, &pass, &fail);
    REQUIRE(pass == N && fail == 0);
    uint8_t mac[N][6];
    char m[N][18];
    for (int i = 0; i < N; i++) {
        free(original_flash(&mods[i], i, mac[i]));
        bk_mac_format(mac[i], m[i], sizeof m[i]);
    }
    /* a database that is not there: the bench (3), no result, its path in the error */
    char gone[200];
    snprintf(gone, sizeof gone, "%s/nowhere/t.db", r.dir);
    const char *nodb[] = {trayflash_exe, "backup", "list", "--json", "--db", gone, NULL};
    cJSON *o = run_json(nodb, 3);
    REQUIRE(o != NULL);
    CHECK(cJSON_IsNull(cJSON_GetObjectItem(o, "result")));
    CHECK_STR(str_at(cJSON_GetObjectItem(o, "error"), "kind"), "setup");
    CHECK_HAS(str_at(cJSON_GetObjectItem(o, "error"), "message"), gone);
    cJSON_Delete(o);

    /* list: every backup, each as its rows say; the store's numbers as the index says */
    const char *list[] = {trayflash_exe, "backup", "list", "--db", r.db_path, "--json", NULL};
    o = run_json(list, 0);
    REQUIRE(o != NULL);
    const cJSON *res = cJSON_GetObjectItem(o, "result");
    const cJSON *rows = cJSON_GetObjectItem(res, "backups");
    CHECK(cJSON_IsNull(cJSON_GetObjectItem(o, "error")));
    CHECK_EQ_INT(cJSON_GetArraySize(rows), check_db_int(r.db_path, "select count(*) from backup"));
    CHECK_EQ_INT(cJSON_GetArraySize(rows), N);
    check_listed(r.db_path, rows);
    check_store_numbers(r.db_path, cJSON_GetObjectItem(res, "store"));
    cJSON_Delete(o);
    /* --mac: that module's alone */
    const char *one[] = {trayflash_exe, "backup", "list", "--json", "--db", r.db_path, "--mac",
                         m[1], NULL};
    o = run_json(one, 0);
    REQUIRE(o != NULL);
    rows = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "result"), "backups");
    CHECK_EQ_INT(cJSON_GetArraySize(rows), 1);
    CHECK_STR(str_at(cJSON_GetArrayItem(rows, 0), "mac"), m[1]);
    CHECK_STR(str_at(cJSON_GetObjectItem(o, "result"), "mac"), m[1]);
    cJSON_Delete(o);

    /* verify: every block whole */
    const char *verify[] = {trayflash_exe, "backup", "verify", "--db", r.db_path, "--json", NULL};
    o = run_json(verify, 0);
    REQUIRE(o != NULL);
    res = cJSON_GetObjectItem(o, "result");
    CHECK_EQ_INT((long long)num_at(res, "blocks_whole"),
                 check_db_int(r.db_path, "select count(*) from backup_block"));
    CHECK_EQ_INT((long long)num_at(res, "blocks_bad"), 0);
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(res, "bad")), 0);
    check_store_numbers(r.db_path, cJSON_GetObjectItem(res, "store"));
    cJSON_Delete(o);

    /* restore module 0 from its backup: a pass, the backup the index holds for its MAC */
    const char *restore[] = {trayflash_exe, "restore", "--port", bksim_link_path(station_sim(st), 0),
                             "--mac", m[0], "--db", r.db_path, "--json", NULL};
    o = run_json(restore, 0);
    REQUIRE(o != NULL);
    res = cJSON_GetObjectItem(o, "result");
    CHECK_STR(str_at(res, "verdict"), "pass");
    CHECK_STR(str_at(res, "mac"), m[0]);
    const cJSON *rs = cJSON_GetObjectItem(res, "restore");
    check_sql_arg mac0 = SQL_TEXT(m[0]);
    CHECK_EQ_INT((long long)num_at(rs, "backup_id"),
                 check_db_int_args(r.db_path, "select min(id) from backup where mac = ?1", 1, &mac0));
    check_sql_arg bid = SQL_INT((long long)num_at(rs, "backup_id"));
    CHECK_EQ_INT((long long)num_at(rs, "ranges"),
                 check_db_int_args(r.db_path, "select count(*) from backup_range where backup_id "
                                              "= ?1", 1, &bid));
    CHECK(num_at(rs, "sectors_written") + num_at(rs, "sectors_skipped") > 0);
    CHECK_EQ_INT(check_db_int_args(r.db_path, "select count(*) from attempt where kind = 'restore' "
                                              "and outcome = 'pass' and mac = ?1", 1, &mac0), 1);
    cJSON_Delete(o);
    /* module 1 under module 0's MAC: a failed module (1), its cause in the result, no error */
    const char *wrong[] = {trayflash_exe, "restore", "--json", "--port",
                           bksim_link_path(station_sim(st), 1), "--mac", m[0], "--db", r.db_path, NULL};
    o = run_json(wrong, 1);
    REQUIRE(o != NULL);
    res = cJSON_GetObjectItem(o, "result");
    CHECK_STR(str_at(res, "verdict"), "fail");
    CHECK_STR(str_at(res, "cause"), "wrong_module");
    CHECK_STR(str_at(res, "mac"), m[1]);
    CHECK(cJSON_IsNull(cJSON_GetObjectItem(o, "error")));
    cJSON_Delete(o);
    /* a MAC without a backup: a usage error (2), no result, the words in error */
    const char *none[] = {trayflash_exe, "restore", "--json", "--port",
                          bksim_link_path(station_sim(st), 1), "--mac", "02:00:00:00:00:01",
                          "--db", r.db_path, NULL};
    o = run_json(none, 2);
    REQUIRE(o != NULL);
    CHECK(cJSON_IsNull(cJSON_GetObjectItem(o, "result")));
    const cJSON *e = cJSON_GetObjectItem(o, "error");
    CHECK_STR(str_at(e, "kind"), "usage");
    CHECK_HAS(str_at(e, "message"), "no backup of 02:00:00:00:00:01");
    cJSON_Delete(o);

    /* one block damaged in the store: verify exits 3 and names it in result.bad */
    char *sha = check_db_text(r.db_path, "select sha256 from backup_block order by sha256 limit 1");
    REQUIRE(sha != NULL);
    char path[400];
    snprintf(path, sizeof path, "%s.blocks/%.2s/%s", r.db_path, sha, sha);
    FILE *f = fopen(path, "r+b");
    REQUIRE_MSG(f != NULL, "%s", path);
    fputc(0x5A, f);
    fclose(f);
    o = run_json(verify, 3);
    REQUIRE(o != NULL);
    res = cJSON_GetObjectItem(o, "result");
    CHECK_EQ_INT((long long)num_at(res, "blocks_bad"), 1);
    CHECK_EQ_INT((long long)num_at(res, "blocks_whole"),
                 check_db_int(r.db_path, "select count(*) from backup_block") - 1);
    const cJSON *bad = cJSON_GetObjectItem(res, "bad");
    CHECK_EQ_INT(cJSON_GetArraySize(bad), 1);
    CHECK_STR(str_at(cJSON_GetArrayItem(bad, 0), "sha256"), sha);
    CHECK_STR(str_at(cJSON_GetObjectItem(o, "error"), "kind"), "setup");
    cJSON_Delete(o);
    free(sha);
    station_free(st);
    ru_rmrf(r.dir);
    return CHECK_DONE();
}

static const check_case cases[] = {
    {"reel16", case_reel16},
    {"brownout", case_brownout},
    {"sigkill", case_sigkill},
    {"cap", case_cap},
    {"force", case_force},
    {"phases", case_phases},
    {"json", case_json},
};

int main(int argc, char **argv)
{
    return CHECK_RUN(argc, argv, cases);
}
