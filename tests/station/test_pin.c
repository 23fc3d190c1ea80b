/* The station in this process against in-process bksim modules:
 *   image_pin   - the profile's image changes on disk after the station started: a retry of the
 *           bay is refused with cause image_error, the words name the file and both hashes,
 *           and the module sees nothing (bksim: no erase, no write, not even a link).
 *   yield_today - two batches on one database (different modules); the view's yield_today and
 *           first_pass_today after the second are the day's figures from the database, not
 *           the session's.
 *   wire_trace  - TRAYFLASH_DEBUG=wire: the headless lines trace each bay's frames (LinkCheck,
 *           Erase and Write4K with their addresses), never 16 bytes of the image in hex, and
 *           the database's event log keeps none of those debug lines.
 * Usage: test_station_pin --list | CASE */
#include <fcntl.h>
#include "bk_image.h"
#include "check.h"
#include "profile.h"
#include "robust_util.h"

#define SRC_PROFILE TRAYFLASH_SOURCE_DIR "/profiles/demo-small.ini"

static station_view view; /* large: off the stack */

static station *start(station_opts *o, char *err, size_t errlen)
{
    station *st = station_start(o, err, errlen);
    if (!st) {
        fprintf(stderr, "station_start: %s\n", err);
        exit(2);
    }
    return st;
}

static void base_opts(station_opts *o, const char *db_path, FILE *out)
{
    memset(o, 0, sizeof *o);
    station_config_defaults(&o->cfg);
    o->cfg.pool_size = 4;
    o->db_path = db_path;
    o->headless_out = out;
    o->sim_time_scale = 0.25;
    o->link_timeout_ms = 1500;
}

static const bay_view *bay_of(const station_view *v, int bay)
{
    for (int i = 0; i < v->n_bays; i++)
        if (v->bays[i].bay == bay)
            return &v->bays[i];
    return NULL;
}

static bool bay1_passed(const station_view *v, void *arg)
{
    const bay_view *b = bay_of(v, 1);
    return b && b->state == BAY_PASS;
}

static bool bay1_refused(const station_view *v, void *arg)
{
    const bay_view *b = bay_of(v, 1);
    return b && b->state == BAY_FAIL;
}


static void sha_of_file(const char *path, char hex[65])
{
    FILE *f = fopen(path, "rb");
    if (!f)
        exit(2);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    uint8_t *buf = malloc((size_t)n);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n)
        exit(2);
    fclose(f);
    bk_sha256_hex(buf, (size_t)n, hex);
    free(buf);
}

static int case_pin(void)
{
    char dir[64], path[256], img[256], db_path[256];
    ru_mkdtemp(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/images", dir);
    mkdir(path, 0755);
    snprintf(img, sizeof img, "%s/images/demo-small.bin", dir);
    ru_copy_file(TRAYFLASH_SOURCE_DIR "/profiles/images/demo-small.bin", img);
    snprintf(path, sizeof path, "%s/demo-small.ini", dir);
    ru_copy_file(SRC_PROFILE, path);
    snprintf(db_path, sizeof db_path, "%s/t.db", dir);

    char err[512];
    tf_profile prof;
    if (tf_profile_load(path, &prof, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    FILE *out = tmpfile();
    static station_opts o;
    base_opts(&o, db_path, out);
    o.profile_path = path;
    o.sim_count = 1;
    station *st = start(&o, err, sizeof err);
    CHECK(ru_wait_view(st, &view, bay1_passed, NULL, 60));
    bksim_stats before, after;
    bksim_get_stats(station_sim(st), 0, &before);
    CHECK(before.erases > 0); /* the first job really flashed: the counters can move */

    /* someone swaps the image under the running station */
    FILE *f = fopen(img, "r+b");
    CHECK(f != NULL);
    if (f) {
        fseek(f, 0x100, SEEK_SET);
        int c = fgetc(f);
        fseek(f, 0x100, SEEK_SET);
        fputc(c ^ 0xFF, f);
        fclose(f);
    }
    char new_hex[65];
    sha_of_file(img, new_hex);
    CHECK(strcmp(new_hex, prof.variants[0].sha256_pin) != 0);

    station_actions a = station_get_actions(st);
    char msg[200];
    /* the end is posted once the bay is free: a retry as the tile turns is taken at once */
    CHECK_EQ_INT(a.retry_bay(a.ctx, 1, msg, sizeof msg), 0);
    CHECK(ru_wait_view(st, &view, bay1_refused, NULL, 30));
    const bay_view *b = bay_of(&view, 1);
    CHECK(b && b->cause == BK_CAUSE_IMAGE_ERROR);
    char pin12[13], new12[13];
    snprintf(pin12, sizeof pin12, "%.12s", prof.variants[0].sha256_pin);
    snprintf(new12, sizeof new12, "%.12s", new_hex);
    if (b) {
        fprintf(stderr, "refusal: %s\n", b->detail);
        CHECK(strstr(b->detail, img) != NULL);
        CHECK(strstr(b->detail, pin12) != NULL);
        CHECK(strstr(b->detail, new12) != NULL);
    }
    bksim_get_stats(station_sim(st), 0, &after);
    CHECK_EQ_INT(after.erases, before.erases);
    CHECK_EQ_INT(after.writes_4k, before.writes_4k);
    CHECK_EQ_INT(after.links, before.links);
    int pass, fail;
    station_counts(st, &pass, &fail);
    CHECK_EQ_INT(pass, 1);
    station_request_stop(st);
    CHECK_EQ_INT(station_wait(st), 0);
    station_free(st);

    char *lines = check_read_file(out);
    fclose(out);
    char want[64];
    snprintf(want, sizeof want, " bay 01 FAIL 0%% FAIL %s ", bk_cause_id(BK_CAUSE_IMAGE_ERROR));
    const char *l = strstr(lines, want);
    CHECK(l != NULL);
    if (l) {
        const char *end = strchr(l, '\n');
        size_t n = end ? (size_t)(end - l) : strlen(l);
        char line[700];
        snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line ? n : sizeof line - 1), l);
        CHECK(strstr(line, img) && strstr(line, pin12) && strstr(line, new12));
    }
    /* one attempt (the pass): a refused start writes no attempt, the event log says why */
    CHECK_EQ_INT(check_db_int(db_path, "select count(*) from attempt"), 1);
    CHECK(check_db_int_args(db_path,
                         "select count(*) from event_log where level = 'error' and "
                         "instr(text, ?1) > 0",
                         1, (const check_sql_arg[]){SQL_TEXT(img)}) >= 1);
    free(lines);
    tf_profile_free(&prof);
    ru_rmrf(dir);
    return CHECK_DONE();
}

static int count_fds(void)
{
    int n = 0;
    for (int fd = 0; fd < 1024; fd++)
        n += fcntl(fd, F_GETFD) >= 0;
    return n;
}

static bool near(double a, double b)
{
    return a > b - 1e-9 && a < b + 1e-9;
}

static int case_yield(void)
{
    enum { N = 4 };
    char dir[64], db_path[256], err[512];
    ru_mkdtemp(dir, sizeof dir);
    snprintf(db_path, sizeof db_path, "%s/t.db", dir);
    static station_opts o;
    int fds0 = count_fds();

    /* batch 1: four modules, all pass */
    base_opts(&o, db_path, NULL);
    o.profile_path = SRC_PROFILE;
    o.sim_count = N;
    o.sim_seed = 11;
    o.once = true;
    station *st = start(&o, err, sizeof err);
    CHECK_EQ_INT(station_wait(st), 0);
    station_snapshot(st, &view);
    CHECK(near(view.yield_today, 1.0));
    station_free(st);

    /* batch 2: four other modules (another seed), two fail */
    bksim_module_config mods[N];
    for (int i = 0; i < N; i++)
        bksim_module_config_default(&mods[i]);
    if (!bksim_fault_parse("brownout-first-write", &mods[1].faults, err, sizeof err) ||
        !bksim_fault_parse("no-download", &mods[2].faults, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    base_opts(&o, db_path, NULL);
    o.profile_path = SRC_PROFILE;
    o.sim_count = N;
    o.sim_modules = mods;
    o.sim_seed = 12;
    o.once = true;
    st = start(&o, err, sizeof err);
    CHECK_EQ_INT(station_wait(st), 0);
    station_snapshot(st, &view);
    station_free(st);
    CHECK_EQ_INT(count_fds(), fds0); /* the view's read-only handle is closed with the rest */

    long modules = check_db_int(db_path,
                             "select count(distinct coalesce(mac, 'attempt ' || id)) from attempt");
    long passed = check_db_int(db_path, "select count(distinct mac) from attempt where outcome = 'pass'");
    fprintf(stderr, "session %.3f today %.3f first pass %.3f (db: %ld of %ld modules)\n",
            view.yield_session, view.yield_today, view.first_pass_today, passed, modules);
    CHECK_EQ_INT(modules, 2 * N);
    CHECK_EQ_INT(passed, 2 * N - 2);
    CHECK(near(view.yield_session, (double)(N - 2) / N));
    CHECK(near(view.yield_today, (double)passed / (double)modules));
    /* every module of the day had one attempt: first pass = final */
    CHECK(near(view.first_pass_today, (double)passed / (double)modules));
    ru_rmrf(dir);
    return CHECK_DONE();
}

static int case_wire(void)
{
    char dir[64], db_path[256], err[512];
    ru_mkdtemp(dir, sizeof dir);
    snprintf(db_path, sizeof db_path, "%s/t.db", dir);
    uint8_t secret[16]; /* the first bytes of the image's second sector (flash 0x12000):
                         * what a trace showing a write's payload would show first */
    FILE *img = fopen(TRAYFLASH_SOURCE_DIR "/profiles/images/demo-small.bin", "rb");
    REQUIRE(img && fseek(img, 0x1000, SEEK_SET) == 0 && fread(secret, 1, 16, img) == 16);
    fclose(img);
    char hex[40] = "", spaced[60] = "";
    for (int i = 0; i < 16; i++) {
        snprintf(hex + 2 * i, sizeof hex - 2 * (size_t)i, "%02x", secret[i]);
        snprintf(spaced + strlen(spaced), sizeof spaced - strlen(spaced), i ? " %02x" : "%02x",
                 secret[i]);
    }
    FILE *out = tmpfile();
    static station_opts o;
    base_opts(&o, db_path, out);
    o.profile_path = SRC_PROFILE;
    o.sim_count = 1;
    o.once = true;
    setenv("TRAYFLASH_DEBUG", "wire", 1);
    station *st = start(&o, err, sizeof err);
    unsetenv("TRAYFLASH_DEBUG");
    CHECK_EQ_INT(station_wait(st), 0);
    int pass, fail;
    station_counts(st, &pass, &fail);
    CHECK_EQ_INT(pass, 1);
    station_free(st);
    static char text[1 << 20];
    rewind(out);
    text[fread(text, 1, sizeof text - 1, out)] = 0;
    fclose(out);
    CHECK(strstr(text, "bay 01 wire: > LinkCheck short 0 B") != NULL);
    CHECK(strstr(text, "bay 01 wire: < LinkCheck short 1 B") != NULL);
    CHECK(strstr(text, "bay 01 wire: > Erase long 5 B @0x011000") != NULL);
    CHECK(strstr(text, "bay 01 wire: > Write4K long 4100 B @0x011000 data 4096 B crc 0x") != NULL);
    CHECK(strlen(hex) == 32 && strlen(spaced) == 47);
    CHECK(strstr(text, hex) == NULL);
    CHECK(strstr(text, spaced) == NULL);
    CHECK_EQ_INT(check_db_int(db_path, "select count(*) from event_log where text like '%wire:%'"),
                 0);
    CHECK(check_db_int(db_path, "select count(*) from event_log") > 0); /* the log itself works */
    ru_rmrf(dir);
    return CHECK_DONE();
}

int main(int argc, char **argv)
{
    static const check_case cases[] = {
        {"image_pin", case_pin}, {"yield_today", case_yield}, {"wire_trace", case_wire}};
    return CHECK_RUN(argc, argv, cases);
}
