/* Products and profiles against the in-process simulator and the trayflash program.
 * Usage: test_products --list | CASE PATH_TO_TRAYFLASH
 *   variants    a two-variant product on BK7231T and BK7231N modules in one run: each module
 *               reads back byte-exact as ITS variant's image
 *   no_variant  a chip the product has no variant for: cause no_variant, nothing erased
 *               (engine level); a one-chip profile on the other chip: wrong_chip, nothing erased
 *   mixed8      8 bays, [bays 1-4] product A, [bays 5-8] product B: each module gets its
 *               bay's image; headless lines and tiles name each bay's product
 *   config      station file: per-bay over range over default; overlapping ranges and bad
 *               hashes refused at file:line
 *   check_good  `profile check` on good profiles: plan and estimate agree with the engine's
 *               planner and the simulator's bound, computed here
 *   check_bad   `profile check` on broken profiles: each error at its file:line, exit 2
 *   pin         `pin-hash` (PIN on stdin, never in argv); wrong PIN and switch without engineer
 *               mode refused and recorded; right PIN switches and records; the clear PIN is in
 *               no file, no output, no cmdline
 *   versions    two runs on one db with the profile text changed between: both texts kept,
 *               attempts point at their text, the report says where the version changed
 * Synchronisation: station_wait (once mode), waitpid, pipe EOF; no sleeps. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "auth.h"
#include "bk_plan.h"
#include "check.h"
#include "profile.h"
#include "report.h"
#include "station.h"

#define SRC_IMAGE TRAYFLASH_SOURCE_DIR "/profiles/images/demo-small.bin"
#define PIN_CLEAR "7391-Zq-pin" /* distinctive: a hit in a file can only be a leak */

static const char *trayflash;
static char dir[64];

/* ---- files -------------------------------------------------------------------------- */

/* Reads to EOF (not by the file's size: /proc files say 0). NUL-terminated. */
static uint8_t *slurp_path(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0, got;
    uint8_t *buf = malloc(cap);
    while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n < 2) {
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf)
        buf[n] = 0;
    if (len)
        *len = n;
    return buf;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "writing %s failed\n", path);
        exit(2);
    }
}

static void write_text(const char *path, const char *text)
{
    write_file(path, text, strlen(text));
}

/* Two distinct small images: the shipped demo app (A) and the same bytes scrambled (B). */
static void make_images(char sha_a[65], char sha_b[65])
{
    size_t n;
    uint8_t *a = slurp_path(SRC_IMAGE, &n);
    if (!a) {
        fprintf(stderr, "%s missing\n", SRC_IMAGE);
        exit(2);
    }
    char path[128];
    snprintf(path, sizeof path, "%s/a.bin", dir);
    write_file(path, a, n);
    bk_sha256_hex(a, n, sha_a);
    for (size_t i = 64; i < n; i++)
        a[i] ^= (uint8_t)(0x5A + i % 7);
    snprintf(path, sizeof path, "%s/b.bin", dir);
    write_file(path, a, n);
    bk_sha256_hex(a, n, sha_b);
    free(a);
}

/* A profile in dir: [profile] on chip0 with image0; optional [variant chip1] with image1. */
static void write_profile(const char *file, const char *name, const char *product,
                          const char *chip0, const char *img0, const char *sha0,
                          const char *chip1, const char *img1, const char *sha1,
                          const char *extra)
{
    char text[2048], path[160];
    int n = snprintf(text, sizeof text,
                     "[profile]\nname = %s\nproduct = %s\nchip = %s\nimage = %s\n"
                     "offset = 0x11000\nsha256 = %s\n%s",
                     name, product, chip0, img0, sha0, extra ? extra : "");
    if (chip1)
        snprintf(text + n, sizeof text - (size_t)n,
                 "\n[variant %s]\nimage = %s\noffset = 0x11000\nsha256 = %s\n", chip1, img1, sha1);
    snprintf(path, sizeof path, "%s/%s", dir, file);
    write_text(path, text);
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/tf-products-XXXXXX");
    if (!mkdtemp(dir))
        exit(2);
}

static void cleanup(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

/* Whether `needle` occurs in any file under dir (the db, its WAL, outputs, configs). */
static bool any_file_contains(const char *needle)
{
    DIR *d = opendir(dir);
    if (!d)
        return false;
    bool hit = false;
    struct dirent *e;
    while (!hit && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[400];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t n;
        uint8_t *buf = slurp_path(path, &n);
        if (buf && n >= strlen(needle) && memmem(buf, n, needle, strlen(needle)))
            hit = true;
        free(buf);
    }
    closedir(d);
    return hit;
}


/* ---- child processes ---------------------------------------------------------------- */

/* Runs trayflash with argv (NULL-terminated, argv[0] ignored), `in` on stdin; stdout and
 * stderr are collected through files. Returns the exit code. */
static int run_tf(const char **argv, const char *in, char **out, char **err)
{
    char opath[128], epath[128];
    snprintf(opath, sizeof opath, "%s/.out", dir);
    snprintf(epath, sizeof epath, "%s/.err", dir);
    int p[2];
    if (pipe(p) < 0)
        exit(2);
    pid_t pid = fork();
    if (pid == 0) {
        int o = open(opath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(epath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(p[0], STDIN_FILENO);
        dup2(o, STDOUT_FILENO);
        dup2(e, STDERR_FILENO);
        close(p[0]);
        close(p[1]);
        argv[0] = trayflash;
        execv(trayflash, (char *const *)argv);
        _exit(127);
    }
    close(p[0]);
    if (in && write(p[1], in, strlen(in)) < 0)
        perror("write");
    close(p[1]);
    int status;
    waitpid(pid, &status, 0);
    *out = (char *)slurp_path(opath, NULL);
    *err = (char *)slurp_path(epath, NULL);
    unlink(opath);
    unlink(epath);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* ---- the station -------------------------------------------------------------------- */

static station *start_station(station_opts *o, const char *profile, int n,
                              const bksim_module_config *mods, FILE *out, const char *db_path)
{
    o->profile_path = profile;
    o->db_path = db_path;
    o->headless_out = out;
    o->sim_count = n;
    o->sim_modules = mods;
    o->sim_time_scale = 0.25;
    o->sim_seed = 11;
    o->once = true;
    o->link_timeout_ms = 1500;
    if (o->cfg.pool_size > 8)
        o->cfg.pool_size = 8;
    char err[1024];
    station *st = station_start(o, err, sizeof err);
    if (!st) {
        fprintf(stderr, "station_start: %s\n", err);
        exit(2);
    }
    return st;
}


/* Module i's flash at the image's place equals the image. */
static bool flash_holds(bksim_server *sim, int i, const bk_image *img)
{
    uint8_t *back = malloc(img->len);
    bool ok = back && bksim_read_flash(sim, i, img->offset, back, img->len) == 0 &&
              memcmp(back, img->data, img->len) == 0;
    free(back);
    return ok;
}

static bool load(const char *path, tf_profile *p)
{
    char err[1024];
    if (tf_profile_load(path, p, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return false;
    }
    return true;
}

/* ---- cases -------------------------------------------------------------------------- */

static int case_variants(void)
{
    char sa[65], sb[65], ppath[160], dbp[160];
    make_images(sa, sb);
    write_profile("plug.ini", "plug", "smart-plug-X", "bk7231t", "a.bin", sa, "bk7231n", "b.bin",
                  sb, NULL);
    snprintf(ppath, sizeof ppath, "%s/plug.ini", dir);
    snprintf(dbp, sizeof dbp, "%s/t.db", dir);
    tf_profile p;
    if (!load(ppath, &p))
        return 1;
    CHECK_EQ_INT(p.n_variants, 2);
    enum { N = 4 };
    bksim_module_config mods[N];
    for (int i = 0; i < N; i++) {
        bksim_module_config_default(&mods[i]);
        mods[i].chip = i % 2 ? BK_CHIP_BK7231N : BK_CHIP_BK7231T;
    }
    static station_opts o;
    memset(&o, 0, sizeof o);
    station_config_defaults(&o.cfg);
    FILE *out = tmpfile();
    station *st = start_station(&o, ppath, N, mods, out, dbp);
    CHECK_EQ_INT(station_wait(st), 0);
    int pass, fail;
    station_counts(st, &pass, &fail);
    CHECK_EQ_INT(pass, N);
    CHECK_EQ_INT(fail, 0);
    for (int i = 0; i < N; i++) {
        const tf_profile_variant *v = &p.variants[i % 2];
        CHECK_EQ_INT(v->chip, mods[i].chip);
        CHECK(flash_holds(station_sim(st), i, &v->image));
        /* and not the other variant's bytes (the images differ past byte 64) */
        CHECK(!flash_holds(station_sim(st), i, &p.variants[1 - i % 2].image));
    }
    station_free(st);
    fclose(out);
    CHECK_EQ_INT(check_db_int(dbp, "select count(*) from attempt where outcome='pass' and chip='BK7231T'"),
                 N / 2);
    CHECK_EQ_INT(check_db_int(dbp, "select count(*) from attempt where outcome='pass' and chip='BK7231N'"),
                 N / 2);
    /* each attempt points at the image of ITS chip's variant */
    CHECK_EQ_INT(check_db_int_args(dbp, "select count(*) from attempt a join image i on a.image_id = i.id "
                             "where a.chip = 'BK7231T' and i.sha256 = ?1", 1, (const check_sql_arg[]){SQL_TEXT(sa)}), N / 2);
    CHECK_EQ_INT(check_db_int_args(dbp, "select count(*) from attempt a join image i on a.image_id = i.id "
                             "where a.chip = 'BK7231N' and i.sha256 = ?1", 1, (const check_sql_arg[]){SQL_TEXT(sb)}), N / 2);
    tf_profile_free(&p);
    return CHECK_DONE();
}

static void on_ev_none(void *ctx, const bk_event *ev)
{
    (void)ctx;
    (void)ev;
}

static int case_no_variant(void)
{
    char sa[65], sb[65], ppath[160], dbp[160];
    make_images(sa, sb);
    write_profile("tonly.ini", "tonly", "plug-T", "bk7231t", "a.bin", sa, NULL, NULL, NULL, NULL);
    snprintf(ppath, sizeof ppath, "%s/tonly.ini", dir);
    tf_profile p;
    if (!load(ppath, &p))
        return 1;
    /* Engine level: a product whose variants (here two images for the T) hold nothing for the
     * N is refused with no_variant once the chip is known, before any erase. */
    bksim_module_config mc;
    bksim_module_config_default(&mc);
    mc.chip = BK_CHIP_BK7231N;
    bksim_config cfg = {.count = 1, .seed = 3, .time_scale = 0.25, .modules = &mc};
    char err[256];
    bksim_server *sim = bksim_start(&cfg, err, sizeof err);
    if (!sim) {
        fprintf(stderr, "bksim_start: %s\n", err);
        return 2;
    }
    bk_job_spec spec;
    tf_profile_to_spec(&p, &spec);
    spec.variants[1] = spec.variants[0];
    spec.variants[1].offset = 0x80000;
    spec.n_variants = 2;
    spec.link_timeout_ms = 1500;
    bk_job_hooks hooks = {.on_event = on_ev_none};
    bk_result r;
    bk_flash_job(bksim_link_path(sim, 0), &spec, &hooks, &r);
    CHECK(!r.passed);
    CHECK_EQ_INT(r.cause, BK_CAUSE_NO_VARIANT);
    CHECK(!strcmp(bk_cause_id(r.cause), "no_variant"));
    CHECK_EQ_INT(r.chip, BK_CHIP_BK7231N);
    CHECK_EQ_INT(r.variant, -1);
    bksim_stats stats;
    bksim_get_stats(sim, 0, &stats);
    CHECK_EQ_INT(stats.erases, 0);
    CHECK_EQ_INT(stats.writes_4k, 0);
    bksim_stop(sim);

    /* Station level: a one-chip profile on the other chip is the tray's mistake (wrong_chip),
     * refused the same way: nothing erased. */
    snprintf(dbp, sizeof dbp, "%s/t.db", dir);
    static station_opts o;
    memset(&o, 0, sizeof o);
    station_config_defaults(&o.cfg);
    FILE *out = tmpfile();
    station *st = start_station(&o, ppath, 1, &mc, out, dbp);
    CHECK_EQ_INT(station_wait(st), 0);
    bksim_get_stats(station_sim(st), 0, &stats);
    CHECK_EQ_INT(stats.erases, 0);
    CHECK_EQ_INT(stats.writes_4k, 0);
    station_free(st);
    fclose(out);
    CHECK_EQ_INT(check_db_int(dbp, "select count(*) from attempt where outcome='fail' and "
                             "cause='wrong_chip'"), 1);
    tf_profile_free(&p);
    return CHECK_DONE();
}

/* Lines of the headless text for bay `bay` that contain `what`. */
static int count_bay_lines(const char *text, int bay, const char *what)
{
    int n = 0;
    char pre[24];
    snprintf(pre, sizeof pre, " bay %02d ", bay);
    for (const char *l = text; l && *l;) {
        const char *nl = strchr(l, '\n');
        size_t len = nl ? (size_t)(nl - l) : strlen(l);
        char line[800];
        snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line ? len : sizeof line - 1), l);
        if (strstr(line, pre) && strstr(line, what))
            n++;
        l = nl ? nl + 1 : NULL;
    }
    return n;
}

static int case_mixed8(void)
{
    char sa[65], sb[65], cpath[160], dbp[160], pa[160], pb[160];
    make_images(sa, sb);
    write_profile("a.ini", "prod-a", "Product-A", "bk7231t", "a.bin", sa, NULL, NULL, NULL, NULL);
    write_profile("b.ini", "prod-b", "Product-B", "bk7231t", "b.bin", sb, NULL, NULL, NULL, NULL);
    snprintf(pa, sizeof pa, "%s/a.ini", dir);
    snprintf(pb, sizeof pb, "%s/b.ini", dir);
    snprintf(cpath, sizeof cpath, "%s/station.ini", dir);
    snprintf(dbp, sizeof dbp, "%s/t.db", dir);
    write_text(cpath, "[station]\nname = mixed\nprofile = a.ini\npool_size = 8\n"
                      "[bays 1-4]\nprofile = a.ini\n[bays 5-8]\nprofile = b.ini\n");
    tf_profile a, b;
    if (!load(pa, &a) || !load(pb, &b))
        return 1;
    static station_opts o;
    memset(&o, 0, sizeof o);
    station_config_defaults(&o.cfg);
    char err[1024];
    if (station_config_load(cpath, &o.cfg, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    CHECK_EQ_INT(o.cfg.n_ranges, 2);
    FILE *out = tmpfile();
    station *st = start_station(&o, NULL, 8, NULL, out, dbp);
    CHECK_EQ_INT(station_wait(st), 0);
    int pass, fail;
    station_counts(st, &pass, &fail);
    CHECK_EQ_INT(pass, 8);
    for (int i = 0; i < 8; i++) {
        const tf_profile *want = i < 4 ? &a : &b, *other = i < 4 ? &b : &a;
        CHECK(flash_holds(station_sim(st), i, &want->variants[0].image));
        CHECK(!flash_holds(station_sim(st), i, &other->variants[0].image));
    }
    station_view *sv = malloc(sizeof *sv);
    station_snapshot(st, sv);
    CHECK_EQ_INT(sv->n_bays, 8);
    for (int i = 0; i < sv->n_bays; i++)
        CHECK(!strcmp(sv->bays[i].product, sv->bays[i].bay <= 4 ? "Product-A" : "Product-B"));
    free(sv);
    station_free(st);
    char *lines = check_read_file(out);
    fclose(out);
    for (int bay = 1; bay <= 8; bay++) {
        CHECK_EQ_INT(count_bay_lines(lines, bay, bay <= 4 ? " Product-A on " : " Product-B on "), 1);
        CHECK_EQ_INT(count_bay_lines(lines, bay, "PASS 100% PASS"), 1);
    }
    free(lines);
    CHECK_EQ_INT(check_db_int(dbp, "select count(*) from attempt a join profile p on p.id = a.profile_id"
                             " where p.name = 'prod-a' and a.bay between 1 and 4"), 4);
    CHECK_EQ_INT(check_db_int(dbp, "select count(*) from attempt a join profile p on p.id = a.profile_id"
                             " where p.name = 'prod-b' and a.bay between 5 and 8"), 4);
    tf_profile_free(&a);
    tf_profile_free(&b);
    return CHECK_DONE();
}

static int config_error(const char *text, const char *want)
{
    char path[160], err[1024], full[300];
    snprintf(path, sizeof path, "%s/bad-station.ini", dir);
    write_text(path, text);
    station_config *c = malloc(sizeof *c);
    station_config_defaults(c);
    int rc = station_config_load(path, c, err, sizeof err);
    free(c);
    snprintf(full, sizeof full, "%s:%s", path, want);
    if (rc == 0 || !strstr(err, full)) {
        fprintf(stderr, "expected '%s', got rc %d '%s'\n", full, rc, rc ? err : "");
        return 1;
    }
    return 0;
}

static int case_config(void)
{
    char path[160], err[1024], hash[AUTH_HASH_MAX], text[1400];
    CHECK_EQ_INT(auth_pin_hash(PIN_CLEAR, hash, sizeof hash, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/station.ini", dir);
    snprintf(text, sizeof text,
             "[station]\nprofile = /p/default.ini\nengineer_pin_hash = %s\n"
             "[bays 17-32]\nprofile = /p/range.ini\n"
             "[bay 20]\nprofile = /p/bay20.ini\n"
             "[bay 3]\npath = usb-3\nname = A03\n",
             hash);
    write_text(path, text);
    station_config *c = malloc(sizeof *c);
    station_config_defaults(c);
    CHECK_EQ_INT(station_config_load(path, c, err, sizeof err), 0);
    CHECK(!strcmp(c->engineer_pin_hash, hash));
    CHECK(!strcmp(station_config_bay_profile(c, 1, c->profile), "/p/default.ini"));
    CHECK(!strcmp(station_config_bay_profile(c, 3, c->profile), "/p/default.ini"));
    CHECK(!strcmp(station_config_bay_profile(c, 17, c->profile), "/p/range.ini"));
    CHECK(!strcmp(station_config_bay_profile(c, 32, c->profile), "/p/range.ini"));
    CHECK(!strcmp(station_config_bay_profile(c, 33, c->profile), "/p/default.ini"));
    CHECK(!strcmp(station_config_bay_profile(c, 20, c->profile), "/p/bay20.ini"));
    free(c);
    CHECK_EQ_INT(config_error("[bays 1-8]\nprofile = a.ini\n\n[bays 8-9]\nprofile = b.ini\n",
                              "4: [bays 8-9] overlaps [bays 1-8] of line 1"), 0);
    CHECK_EQ_INT(config_error("[station]\nname = x\n[bays 9-2]\nprofile = a.ini\n", "3: [bays 9-2]"),
                 0);
    CHECK_EQ_INT(config_error("[bays 1-2]\nprofile = a.ini\npath = x\n", "3: [bays 1-2]: unknown key"),
                 0);
    CHECK_EQ_INT(config_error("[station]\n\nengineer_pin_hash = 1234\n", "3: engineer_pin_hash"), 0);
    CHECK_EQ_INT(config_error("[station]\nengineer_pin_hash = $1$abc$def\n", "2: engineer_pin_hash"),
                 0);
    return CHECK_DONE();
}

static int case_check_good(void)
{
    char sa[65], sb[65], pplug[160];
    make_images(sa, sb);
    write_profile("plug.ini", "plug", "smart-plug-X", "bk7231t", "a.bin", sa, "bk7231n", "b.bin",
                  sb, "erase = auto\n");
    snprintf(pplug, sizeof pplug, "%s/plug.ini", dir);
    const char *argv[] = {NULL, "profile", "check", pplug,
                    TRAYFLASH_SOURCE_DIR "/profiles/smart-plug-p1.ini",
                    TRAYFLASH_SOURCE_DIR "/profiles/wb2s-openbk.ini",
                    TRAYFLASH_SOURCE_DIR "/profiles/demo-small-uf2.ini", "--json", NULL};
    char *out, *err;
    CHECK_EQ_INT(run_tf(argv, NULL, &out, &err), 0);
    cJSON *j = cJSON_Parse(out);
    CHECK(cJSON_IsArray(j));
    CHECK_EQ_INT(cJSON_GetArraySize(j), 4);
    const char *files[] = {pplug, argv[4], argv[5], argv[6]};
    const int n_variants[] = {2, 2, 1, 1};
    bksim_timing t;
    bksim_timing_typical(&t);
    for (int f = 0; f < 4 && cJSON_GetArraySize(j) == 4; f++) {
        cJSON *o = cJSON_GetArrayItem(j, f);
        CHECK(cJSON_IsTrue(cJSON_GetObjectItem(o, "ok")));
        cJSON *vs = cJSON_GetObjectItem(o, "variants");
        CHECK_EQ_INT(cJSON_GetArraySize(vs), n_variants[f]);
        tf_profile p;
        if (!load(files[f], &p))
            return 1;
        for (int k = 0; k < p.n_variants && k < cJSON_GetArraySize(vs); k++) {
            cJSON *v = cJSON_GetArrayItem(vs, k);
            const tf_profile_variant *pv = &p.variants[k];
            CHECK(!strcmp(cJSON_GetObjectItem(v, "chip")->valuestring,
                          bk_family_get(pv->chip)->id));
            CHECK(!strcmp(cJSON_GetObjectItem(v, "sha256")->valuestring, pv->image.sha256));
            CHECK(!strcmp(cJSON_GetObjectItem(v, "sha256_pinned")->valuestring, pv->sha256_pin));
            CHECK(!strcmp(cJSON_GetObjectItem(v, "kind")->valuestring,
                          bk_image_kind_name(pv->image.kind)));
            CHECK_EQ_INT((long long)cJSON_GetObjectItem(v, "offset")->valuedouble, pv->image.offset);
            CHECK_EQ_INT((long long)cJSON_GetObjectItem(v, "size")->valuedouble, pv->image.len);
            /* the erase runs are the engine's plan, unit for unit: the region for a raw image,
             * only the sectors its blocks cover for a UF2 */
            bk_plan *plan = malloc(sizeof *plan);
            CHECK(bk_plan_build_covered(plan, pv->image.data, pv->image.len, pv->image.offset,
                                        p.erase_mode, pv->image.covered));
            cJSON *runs = cJSON_GetObjectItem(v, "erase");
            int unit = 0;
            uint32_t at = plan->start, erased = 0;
            for (int r = 0; r < cJSON_GetArraySize(runs); r++) {
                cJSON *e = cJSON_GetArrayItem(runs, r);
                uint32_t start = (uint32_t)cJSON_GetObjectItem(e, "start")->valuedouble;
                uint32_t usz = (uint32_t)cJSON_GetObjectItem(e, "unit")->valuedouble;
                int count = cJSON_GetObjectItem(e, "count")->valueint;
                CHECK(start >= at);
                at = start;
                for (int u = 0; u < count && unit < plan->n_units; u++, unit++) {
                    CHECK_EQ_INT(plan->units[unit].addr, at);
                    CHECK_EQ_INT(plan->units[unit].size, usz);
                    at += usz;
                    erased += usz;
                }
            }
            CHECK_EQ_INT(unit, plan->n_units);
            CHECK_EQ_INT(erased, plan->covered_len);
            CHECK(at <= plan->start + plan->len);
            if (!pv->image.covered)
                CHECK_EQ_INT(erased, plan->len);
            free(plan);
            double want = bksim_lower_bound_s(&t, pv->chip, pv->image.data, pv->image.len,
                                              pv->image.offset, p.bauds[0], false);
            double got = cJSON_GetObjectItem(v, "estimate_s")->valuedouble;
            CHECK(got > 0 && got > want * 0.999 && got < want * 1.001);
        }
        tf_profile_free(&p);
    }
    cJSON_Delete(j);
    free(out);
    free(err);
    /* the table form names both chips of the shipped two-variant product */
    const char *argv2[] = {NULL, "profile", "check", TRAYFLASH_SOURCE_DIR "/profiles/smart-plug-p1.ini",
                     NULL};
    CHECK_EQ_INT(run_tf(argv2, NULL, &out, &err), 0);
    CHECK(strstr(out, "chip BK7231T") && strstr(out, "chip BK7231N"));
    CHECK(strstr(out, "estimate") != NULL);
    free(out);
    free(err);
    return CHECK_DONE();
}

static int case_check_bad(void)
{
    char sa[65], sb[65];
    make_images(sa, sb);
    char rbl[128];
    snprintf(rbl, sizeof rbl, "%s/ota.rbl", dir);
    write_text(rbl, "RBL\0 an OTA package, not a flash image");
    char rsha[65];
    size_t rn;
    uint8_t *rb = slurp_path(rbl, &rn);
    bk_sha256_hex(rb, rn, rsha);
    free(rb);
    const char *head = "[profile]\nname = x\nchip = bk7231t\nimage = a.bin\noffset = 0x11000\n";
    static const struct {
        const char *file;
        const char *tail; /* after head (5 lines) and the sha256 line (line 6) */
        int line;
        const char *words;
    } bad[] = {
        {"unknown-chip.ini", "[variant bk7231x]\nimage = b.bin\n", 7, "unknown chip"},
        {"variant-no-image.ini", "\n[variant bk7231n]\noffset = 0x11000\nsha256 = @B\n", 8,
         "missing required key \"image\""},
        {"variant-sha.ini", "[variant bk7231n]\nimage = b.bin\noffset = 0x11000\nsha256 = @A\n", 10,
         "sha256 mismatch"},
        {"variant-repeats.ini", "[variant bk7231t]\nimage = b.bin\noffset = 0x11000\nsha256 = @B\n",
         7, "repeats the chip"},
        {"variant-rbl.ini", "[variant bk7231n]\nimage = ota.rbl\noffset = 0x11000\nsha256 = @R\n", 8,
         "RBL"},
        {"variant-baud.ini", "[variant bk7231n]\nimage = b.bin\nbaud = 115200\n", 9,
         "belongs in [profile]"},
        {"variant-twice.ini", "[variant bk7231n]\nimage = b.bin\noffset = 0x11000\nsha256 = @B\n"
                              "[variant bk7231n]\n", 11, "duplicate section"},
        {"variant-offset.ini", "[variant bk7231n]\nimage = b.bin\noffset = 0x11800\nsha256 = @B\n", 9,
         "not 4 KiB aligned"},
    };
    enum { NB = sizeof bad / sizeof bad[0] };
    const char *argv[NB + 4] = {NULL, "profile", "check"};
    char paths[NB][160];
    for (int i = 0; i < NB; i++) {
        char text[1024], tail[512];
        snprintf(tail, sizeof tail, "%s", bad[i].tail);
        for (char *at; (at = strchr(tail, '@'));) { /* @A @B @R: the pins, filled in here */
            const char *sha = at[1] == 'A' ? sa : at[1] == 'B' ? sb : rsha;
            char rest[512];
            snprintf(rest, sizeof rest, "%s", at + 2);
            snprintf(at, sizeof tail - (size_t)(at - tail), "%s%s", sha, rest);
        }
        snprintf(text, sizeof text, "%ssha256 = %s\n%s", head, sa, tail);
        snprintf(paths[i], sizeof paths[i], "%s/%s", dir, bad[i].file);
        write_text(paths[i], text);
        argv[3 + i] = paths[i];
    }
    argv[3 + NB] = NULL;
    char *out, *err;
    CHECK_EQ_INT(run_tf(argv, NULL, &out, &err), 2);
    for (int i = 0; i < NB; i++) {
        char want[1400];
        snprintf(want, sizeof want, "%s:%d: ", paths[i], bad[i].line);
        const char *at = strstr(err, want);
        if (!at || !strstr(at, bad[i].words)) {
            fprintf(stderr, "%s: expected '%s...%s' in:\n%s\n", bad[i].file, want, bad[i].words,
                    err);
            check_failed();
        }
    }
    free(out);
    free(err);
    /* one broken file among good ones still fails the whole check */
    const char *argv2[] = {NULL, "profile", "check", TRAYFLASH_SOURCE_DIR "/profiles/demo-small.ini",
                     paths[0], NULL};
    CHECK_EQ_INT(run_tf(argv2, NULL, &out, &err), 2);
    CHECK(strstr(out, "demo-small") != NULL);
    free(out);
    free(err);
    return CHECK_DONE();
}

/* `trayflash pin-hash` with the PIN on a pipe; its cmdline is read while it waits for the PIN
 * (a close-on-exec pipe's EOF says the exec happened). */
static int pin_hash_child(char *hash, size_t hashlen)
{
    int in[2], ex[2];
    char opath[128];
    snprintf(opath, sizeof opath, "%s/.hash", dir);
    if (pipe(in) < 0 || pipe2(ex, O_CLOEXEC) < 0)
        exit(2);
    pid_t pid = fork();
    if (pid == 0) {
        int o = open(opath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(in[0], STDIN_FILENO);
        dup2(o, STDOUT_FILENO);
        close(in[0]);
        close(in[1]);
        close(ex[0]);
        execl(trayflash, trayflash, "pin-hash", (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(ex[1]);
    char c;
    while (read(ex[0], &c, 1) > 0) /* EOF at exec */
        ;
    close(ex[0]);
    char cpath[64];
    snprintf(cpath, sizeof cpath, "/proc/%d/cmdline", (int)pid);
    size_t n;
    uint8_t *cmd = slurp_path(cpath, &n);
    CHECK(cmd != NULL);
    if (cmd) {
        CHECK(memmem(cmd, n, "pin-hash", 8) != NULL);
        CHECK(memmem(cmd, n, PIN_CLEAR, strlen(PIN_CLEAR)) == NULL);
    }
    free(cmd);
    if (write(in[1], PIN_CLEAR "\n", strlen(PIN_CLEAR) + 1) < 0)
        perror("write");
    close(in[1]);
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    char *out = (char *)slurp_path(opath, NULL);
    unlink(opath);
    if (!out)
        return -1;
    out[strcspn(out, "\n")] = 0;
    snprintf(hash, hashlen, "%s", out);
    free(out);
    return 0;
}

static int case_pin(void)
{
    char hash[AUTH_HASH_MAX] = "", err[512];
    CHECK_EQ_INT(pin_hash_child(hash, sizeof hash), 0);
    CHECK(!strncmp(hash, "$y$", 3));
    CHECK(strstr(hash, PIN_CLEAR) == NULL);
    bool match = false;
    CHECK_EQ_INT(auth_pin_check(hash, PIN_CLEAR, &match, err, sizeof err), 0);
    CHECK(match);
    CHECK_EQ_INT(auth_pin_check(hash, "7391-Zq-pim", &match, err, sizeof err), 0);
    CHECK(!match);
    /* a PIN in argv is refused outright */
    const char *argv0[] = {NULL, "pin-hash", PIN_CLEAR, NULL};
    char *o0, *e0;
    CHECK_EQ_INT(run_tf(argv0, NULL, &o0, &e0), 2);
    CHECK(strstr(o0, "$y$") == NULL);
    free(o0);
    free(e0);

    char sa[65], sb[65], cpath[160], dbp[160], pb[160], text[1200];
    make_images(sa, sb);
    write_profile("a.ini", "prod-a", "Product-A", "bk7231t", "a.bin", sa, NULL, NULL, NULL, NULL);
    write_profile("b.ini", "prod-b", "Product-B", "bk7231t", "b.bin", sb, NULL, NULL, NULL, NULL);
    snprintf(pb, sizeof pb, "%s/b.ini", dir);
    snprintf(cpath, sizeof cpath, "%s/station.ini", dir);
    snprintf(dbp, sizeof dbp, "%s/t.db", dir);
    snprintf(text, sizeof text, "[station]\nname = pin\nprofile = a.ini\nengineer_pin_hash = %s\n"
                                "[bay 1]\npath = sim-1\n[bay 2]\npath = sim-2\n", hash);
    write_text(cpath, text);
    tf_profile a, b;
    if (!load(pb, &b))
        return 1;
    char pa[160];
    snprintf(pa, sizeof pa, "%s/a.ini", dir);
    if (!load(pa, &a))
        return 1;
    static station_opts o;
    memset(&o, 0, sizeof o);
    station_config_defaults(&o.cfg);
    if (station_config_load(cpath, &o.cfg, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    char hpath[160];
    snprintf(hpath, sizeof hpath, "%s/headless.txt", dir);
    FILE *out = fopen(hpath, "w+");
    station *st = start_station(&o, NULL, 2, NULL, out, dbp);
    station_actions act = station_get_actions(st);
    char msg[300];
    station_view *sv = malloc(sizeof *sv);
    /* 1: no engineer mode yet: refused, recorded */
    CHECK(act.switch_profile(act.ctx, 2, pb, msg, sizeof msg) < 0);
    CHECK(strstr(msg, "engineer") != NULL);
    /* 2: a wrong PIN: refused, recorded */
    CHECK(act.engineer_login(act.ctx, "0000-wrong", msg, sizeof msg) < 0);
    station_snapshot(st, sv);
    CHECK(!sv->engineer_mode);
    /* 3: the right PIN, then the switch: allowed, recorded */
    char pin[AUTH_PIN_MAX];
    snprintf(pin, sizeof pin, "%s", PIN_CLEAR);
    CHECK_EQ_INT(act.engineer_login(act.ctx, pin, msg, sizeof msg), 0);
    auth_wipe(pin, sizeof pin);
    station_snapshot(st, sv);
    CHECK(sv->engineer_mode);
    CHECK_EQ_INT(act.switch_profile(act.ctx, 2, pb, msg, sizeof msg), 0);
    station_snapshot(st, sv);
    for (int i = 0; i < sv->n_bays; i++)
        CHECK(!strcmp(sv->bays[i].product, sv->bays[i].bay == 2 ? "Product-B" : "Product-A"));
    free(sv);
    CHECK_EQ_INT(station_wait(st), 0);
    station_free(st);
    char *lines = check_read_file(out);
    fclose(out);
    CHECK(strstr(lines, "engineer login refused") != NULL);
    CHECK(strstr(lines, "bay 02 now flashes Product-B") != NULL);
    CHECK(strstr(lines, PIN_CLEAR) == NULL);
    free(lines);

    char user[64];
    auth_os_user(user, sizeof user);
    CHECK_EQ_INT(check_db_int(dbp, "select count(*) from assignment"), 3);
    CHECK_EQ_INT(check_db_int(dbp, "select count(*) from assignment where allowed = 0 and engineer = 0"), 2);
    const check_sql_arg assign_args[] = {SQL_TEXT(a.text_sha256), SQL_TEXT(b.text_sha256),
                                         SQL_TEXT(user)};
    CHECK_EQ_INT(check_db_int_args(dbp,
                              "select count(*) from assignment where allowed = 1 and engineer = 1 "
                              "and bay_from = 2 and bay_to = 2 and old_profile_sha = ?1 and "
                              "new_profile_sha = ?2 and os_user = ?3 and ts > 0",
                              3, assign_args),
                 1);
    CHECK_EQ_INT(check_db_int_args(dbp, "select count(*) from profile where sha256 = ?1 and text like "
                                  "'%name = prod-b%'", 1, (const check_sql_arg[]){SQL_TEXT(b.text_sha256)}),
                 1);
    /* the clear PIN: in no file of the run (db, WAL, headless lines, station file) */
    CHECK(!any_file_contains(PIN_CLEAR));
    CHECK(any_file_contains("prod-b")); /* the search does see the files */
    size_t n;
    uint8_t *self = slurp_path("/proc/self/cmdline", &n);
    CHECK(self && !memmem(self, n, PIN_CLEAR, strlen(PIN_CLEAR)));
    free(self);
    tf_profile_free(&a);
    tf_profile_free(&b);
    return CHECK_DONE();
}

static void run_once(const char *profile, const char *dbp)
{
    static station_opts o;
    memset(&o, 0, sizeof o);
    station_config_defaults(&o.cfg);
    FILE *out = tmpfile();
    station *st = start_station(&o, profile, 2, NULL, out, dbp);
    CHECK_EQ_INT(station_wait(st), 0);
    int pass, fail;
    station_counts(st, &pass, &fail);
    CHECK_EQ_INT(pass, 2);
    station_free(st);
    fclose(out);
}

static int case_versions(void)
{
    char sa[65], sb[65], pp[160], dbp[160];
    make_images(sa, sb);
    snprintf(pp, sizeof pp, "%s/plug.ini", dir);
    snprintf(dbp, sizeof dbp, "%s/t.db", dir);
    write_profile("plug.ini", "plug", "Plug", "bk7231t", "a.bin", sa, NULL, NULL, NULL, NULL);
    tf_profile v1, v2;
    if (!load(pp, &v1))
        return 1;
    run_once(pp, dbp);
    write_profile("plug.ini", "plug", "Plug", "bk7231t", "a.bin", sa, NULL, NULL, NULL,
                  "write_retries = 3\n");
    if (!load(pp, &v2))
        return 1;
    CHECK(strcmp(v1.text_sha256, v2.text_sha256) != 0);
    run_once(pp, dbp);

    CHECK_EQ_INT(check_db_int(dbp, "select count(*) from profile where name = 'plug'"), 2);
    for (int k = 0; k < 2; k++) {
        const char *sha = (k ? &v2 : &v1)->text_sha256;
        CHECK_EQ_INT(check_db_int_args(dbp, "select count(*) from attempt a join profile p on "
                                      "p.id = a.profile_id where p.sha256 = ?1 and "
                                      "p.text like '%write_retries%'", 1, (const check_sql_arg[]){SQL_TEXT(sha)}),
                     k ? 2 : 0);
        CHECK_EQ_INT(check_db_int_args(dbp, "select count(*) from attempt a join profile p on "
                                      "p.id = a.profile_id where p.sha256 = ?1", 1, (const check_sql_arg[]){SQL_TEXT(sha)}),
                     2);
    }

    const char *argv[] = {NULL, "report", "--db", dbp, "--profile", "plug", "--format", "json", NULL};
    char *out, *err;
    CHECK_EQ_INT(run_tf(argv, NULL, &out, &err), 0);
    cJSON *j = cJSON_Parse(out);
    cJSON *ps = cJSON_GetObjectItem(j, "profiles");
    CHECK_EQ_INT(cJSON_GetArraySize(ps), 2);
    if (cJSON_GetArraySize(ps) == 2) {
        cJSON *p0 = cJSON_GetArrayItem(ps, 0), *p1 = cJSON_GetArrayItem(ps, 1);
        CHECK(!strcmp(cJSON_GetObjectItem(p0, "sha256")->valuestring, v1.text_sha256));
        CHECK(!strcmp(cJSON_GetObjectItem(p1, "sha256")->valuestring, v2.text_sha256));
        CHECK(cJSON_IsNull(cJSON_GetObjectItem(p0, "previous_sha256")));
        cJSON *prev = cJSON_GetObjectItem(p1, "previous_sha256");
        CHECK(cJSON_IsString(prev) && !strcmp(prev->valuestring, v1.text_sha256));
        CHECK_EQ_INT(cJSON_GetObjectItem(p0, "attempts")->valueint, 2);
        CHECK_EQ_INT(cJSON_GetObjectItem(p1, "attempts")->valueint, 2);
    }
    cJSON_Delete(j);
    free(out);
    free(err);
    const char *argv2[] = {NULL, "report", "--db", dbp, "--profile", "plug", NULL};
    CHECK_EQ_INT(run_tf(argv2, NULL, &out, &err), 0);
    char want[128];
    snprintf(want, sizeof want, "version change: plug @%.8s -> @%.8s", v1.text_sha256,
             v2.text_sha256);
    CHECK(strstr(out, want) != NULL);
    free(out);
    free(err);
    /* profile list: the folder's profiles with their yield from the same db */
    const char *argv3[] = {NULL, "profile", "list", dir, "--db", dbp, NULL};
    CHECK_EQ_INT(run_tf(argv3, NULL, &out, &err), 0);
    const char *row = strstr(out, "\nplug ");
    CHECK(row != NULL);
    if (row) {
        char name[32], product[32], chips[32], sha[32];
        int modules = -1;
        char yield[16];
        CHECK_EQ_INT(sscanf(row + 1, "%31s %31s %31s %31s %d %15s", name, product, chips, sha,
                            &modules, yield), 6);
        CHECK(!strcmp(chips, "bk7231t"));
        CHECK(!strncmp(sha, v2.variants[0].image.sha256, 8));
        CHECK_EQ_INT(modules, 2); /* the same two simulated modules in both runs */
        CHECK(!strcmp(yield, "100.0%"));
    }
    free(out);
    free(err);
    tf_profile_free(&v1);
    tf_profile_free(&v2);
    return CHECK_DONE();
}

static void setup_case(void)
{
    trayflash = check_arg(0);
    if (!trayflash) {
        fprintf(stderr, "usage: test_products CASE PATH_TO_TRAYFLASH\n");
        exit(2);
    }
    setup();
}

static void end_case(int status)
{
    if (status == 0)
        cleanup();
    else
        fprintf(stderr, "files kept in %s\n", dir);
}

int main(int argc, char **argv)
{
    static const check_case cases[] = {
        {"variants", case_variants},     {"no_variant", case_no_variant},
        {"mixed8", case_mixed8},         {"config", case_config},
        {"check_good", case_check_good}, {"check_bad", case_check_bad},
        {"pin", case_pin},               {"versions", case_versions},
    };
    return check_run(argc, argv, cases, sizeof cases / sizeof cases[0], setup_case, end_case);
}
