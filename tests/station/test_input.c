/* Bad input files, through the real program and the station file's loader (issue 12):
 *   filetype - a FIFO, /dev/zero or a folder given as profile, image, station file or
 *              scenario is refused at once with exit 2 and words naming the path and what
 *              it is; `profile list` skips a FIFO with a note. Each child runs under alarm():
 *              a read that blocks (the old behaviour) ends as SIGALRM, a failure, not a hang.
 *   lines    - the station file is read in whole lines: a long comment's tail is no
 *              setting, a long value line is refused at its own line, later lines keep their
 *              numbers; duplicate keys and sections are errors.
 *   messages - --time-scale 0 is refused (it ran in real time); "cannot open" says why;
 *              control bytes from a file reach stderr escaped, never raw, and a value that
 *              would show them (a name, a product) is refused.
 *   profile_cli - `profile new` writes a template that loads once its image and pin are
 *              filled in, and never overwrites; every key of the template is documented in
 *              the man page's PROFILES section and profiles/README.md; `profile list` skips
 *              other INI files with a note and exits 0.
 * Usage: test_station_input --list | CASE PATH_TO_TRAYFLASH */
#include <fcntl.h>
#include <sys/types.h>
#include "check.h"
#include "profile.h"
#include "robust_util.h"

#define DEMO_PROFILE TRAYFLASH_SOURCE_DIR "/profiles/demo-small.ini"
#define DEMO_IMAGE TRAYFLASH_SOURCE_DIR "/profiles/images/demo-small.bin"
#define CHILD_ALARM_S 20 /* far above any run here; only a blocked read reaches it */

static station_config cfg; /* large: off the stack */
static const char *tf;

/* Runs trayflash with `args` (NULL-terminated), stdout and stderr together into *out
 * (malloc'd); returns the exit code, 128 + signal when killed (SIGALRM: it hung). */
static int run_tf(char **out, const char *const *args)
{
    char *argv[32];
    int n = 0;
    argv[n++] = (char *)tf;
    for (; args[n - 1] && n < 31; n++)
        argv[n] = (char *)args[n - 1];
    argv[n] = NULL;
    return check_capture((const char *const *)argv, true, CHILD_ALARM_S, out);
}

/* The whole file, NUL-terminated (malloc'd), its length in *len; NULL if unreadable. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0, r;
    char *buf = malloc(cap + 1);
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0)
        if ((n += r) == cap)
            buf = realloc(buf, (cap *= 2) + 1);
    fclose(f);
    if (buf)
        buf[n] = 0;
    *len = n;
    return buf;
}

#define RUN(out, ...) run_tf(out, (const char *const[]){__VA_ARGS__, NULL})

/* out must hold every one of the NULL-terminated words. */
static void expect_words(const char *what, const char *out, const char *const *words)
{
    for (; *words; words++)
        if (!strstr(out, *words)) {
            fprintf(stderr, "%s: \"%s\" not in output:\n%s\n", what, *words, out);
            check_failed();
        }
}
#define EXPECT(what, out, ...) expect_words(what, out, (const char *const[]){__VA_ARGS__, NULL})

static void expect_refused(const char *what, int rc, const char *out)
{
    if (rc != 2)
        fprintf(stderr, "%s: exit %d (%s), expected 2; output:\n%s\n", what, rc,
                rc == 128 + SIGALRM ? "hung" : "not refused", out);
    CHECK_EQ_INT(rc, 2);
}

static int case_filetype(void)
{
    char dir[64], fifo[128], sub[128], image_fifo[128], prof[160], text[512], *out;
    ru_mkdtemp(dir, sizeof dir);
    snprintf(fifo, sizeof fifo, "%s/pipe.ini", dir);
    snprintf(sub, sizeof sub, "%s/folder.ini", dir);
    snprintf(image_fifo, sizeof image_fifo, "%s/image.bin", dir);
    CHECK(mkfifo(fifo, 0600) == 0 && mkfifo(image_fifo, 0600) == 0 && mkdir(sub, 0700) == 0);

    int rc = RUN(&out, "profile", "check", fifo);
    expect_refused("profile check FIFO", rc, out);
    EXPECT("profile check FIFO", out, fifo, "FIFO", "not a regular file");
    free(out);

    rc = RUN(&out, "profile", "check", "/dev/zero");
    expect_refused("profile check /dev/zero", rc, out);
    EXPECT("profile check /dev/zero", out, "/dev/zero", "character device");
    free(out);

    rc = RUN(&out, "flash", "--port", "/nonexistent-port", "--profile", fifo);
    expect_refused("flash --profile FIFO", rc, out);
    EXPECT("flash --profile FIFO", out, fifo, "FIFO");
    free(out);

    /* the image a profile names: a FIFO in place of firmware.bin */
    snprintf(prof, sizeof prof, "%s/p.ini", dir);
    snprintf(text, sizeof text, "[profile]\nname = p\nchip = bk7231t\nimage = image.bin\n"
             "offset = 0x11000\nsha256 = %064d\n", 0);
    ru_write_file(prof, text);
    rc = RUN(&out, "profile", "check", prof);
    expect_refused("profile check, image FIFO", rc, out);
    EXPECT("profile check, image FIFO", out, ":4: image refused: ", image_fifo, "FIFO");
    free(out);

    /* station file and scenario; --sim --once so an old station that ignored them ends */
    const char *station_args[] = {"station", "--headless", "--once", "--sim", "1",
                                  "--profile", DEMO_PROFILE, "--time-scale", "0.1"};
    for (int k = 0; k < 3; k++) {
        const char *opt = k < 2 ? "--config" : "--sim-scenario";
        const char *file = k == 1 ? sub : fifo;
        rc = RUN(&out, station_args[0], station_args[1], station_args[2], station_args[3],
                 station_args[4], station_args[5], station_args[6], station_args[7],
                 station_args[8], opt, file);
        char what[200];
        snprintf(what, sizeof what, "station %s %s", opt, file);
        expect_refused(what, rc, out);
        EXPECT(what, out, file, k == 1 ? "is a directory, not a regular file" : "FIFO");
        free(out);
    }

    /* profile list: the FIFO and the folder are skipped with a note, the profile listed */
    char listdir[128], copy[200];
    snprintf(listdir, sizeof listdir, "%s/list", dir);
    mkdir(listdir, 0700);
    snprintf(copy, sizeof copy, "%s/pipe.ini", listdir);
    CHECK(mkfifo(copy, 0600) == 0);
    snprintf(copy, sizeof copy, "%s/demo.ini", listdir);
    snprintf(text, sizeof text, "[profile]\nname = listed-demo\nchip = bk7231t\n"
             "image = %s\noffset = 0x11000\nsha256 = ", DEMO_IMAGE);
    tf_profile dp;
    char err[1024];
    CHECK(tf_profile_load(DEMO_PROFILE, &dp, err, sizeof err) == 0);
    snprintf(text + strlen(text), sizeof text - strlen(text), "%s\n", dp.variants[0].sha256_pin);
    tf_profile_free(&dp);
    ru_write_file(copy, text);
    rc = RUN(&out, "profile", "list", listdir);
    CHECK_EQ_INT(rc, 0);
    EXPECT("profile list with a FIFO", out, "listed-demo", "note: skipped", "pipe.ini", "FIFO");
    free(out);
    ru_rmrf(dir);
    return CHECK_DONE();
}

static void expect_load_error(const char *path, const char *text, int line, const char *words)
{
    char err[1500], want[300];
    ru_write_file(path, text);
    station_config_defaults(&cfg);
    int rc = station_config_load(path, &cfg, err, sizeof err);
    CHECK_EQ_INT(rc, -1);
    snprintf(want, sizeof want, "%s:%d: ", path, line);
    if (rc == 0 || strncmp(err, want, strlen(want)) || !strstr(err, words)) {
        fprintf(stderr, "got \"%s\", want \"%s...%s\"\n", rc ? err : "(loaded)", want, words);
        check_failed();
    }
}

static int case_lines(void)
{
    char dir[64], path[128], err[1500];
    static char text[8192], pad[1024];
    ru_mkdtemp(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/station.ini", dir);
    memset(pad, 'x', 300);
    pad[300] = 0;

    /* a long comment whose tail, cut at inih's buffer, would read as a setting */
    snprintf(text, sizeof text, "[station]\n; %.*s db = /tmp/evil.db\n"
             "; %.*s name = evil\nname = good\n", 190, pad, 191, pad);
    ru_write_file(path, text);
    station_config_defaults(&cfg);
    int rc = station_config_load(path, &cfg, err, sizeof err);
    CHECK_EQ_INT(rc, 0);
    if (rc)
        fprintf(stderr, "%s\n", err);
    CHECK(!strcmp(cfg.name, "good"));
    CHECK(cfg.db[0] == 0);

    /* a long value line: refused at its own line, not cut and not moved */
    snprintf(text, sizeof text, "[station]\nname = a\nprofile = /%s/p.ini\npool_size = 3\n", pad);
    expect_load_error(path, text, 3, "line is longer than");
    /* after a long comment the lines keep their numbers */
    snprintf(text, sizeof text, "[station]\n; %s\n; %s\ncolour = red\n", pad, pad);
    expect_load_error(path, text, 4, "unknown key 'colour'");

    /* duplicates: keys, [station], [bay N] (also as [bay 0N]), [bays A-B] */
    expect_load_error(path, "[station]\nname = a\ndb = x.db\nname = b\n", 4,
                      "duplicate key 'name' (first at line 2)");
    expect_load_error(path, "[station]\nname = a\n[adapters]\nallow = 1a86:7523\n[station]\n"
                      "db = y.db\n", 5, "duplicate section [station] (first at line 1)");
    expect_load_error(path, "[bay 2]\nname = A\n\n[bay 3]\nname = B\n[bay 02]\npath = sim-9\n",
                      6, "duplicate section [bay 02] (first at line 1)");
    expect_load_error(path, "[bays 1-4]\nprofile = a.ini\n[bays 01-4]\nprofile = b.ini\n", 3,
                      "duplicate section");
    expect_load_error(path, "[bay 1]\nname = A\nprofile = a.ini\nprofile = b.ini\n", 4,
                      "duplicate key 'profile' (first at line 3)");
    /* a key continued on an indented line would glue two lines into one value */
    expect_load_error(path, "[station]\nname = a\n  pool_size = 3\n", 3,
                      "indented line continues key 'name'");
    /* allow lists still add up over lines */
    ru_write_file(path, "[adapters]\nallow = 1a86:7523\nallow = 0403:6001\n");
    station_config_defaults(&cfg);
    CHECK_EQ_INT(station_config_load(path, &cfg, err, sizeof err), 0);
    CHECK_EQ_INT(cfg.n_allow, 2);
    ru_rmrf(dir);
    return CHECK_DONE();
}

/* No byte below 0x20 but '\n' (and no DEL) in s. */
static bool no_raw_controls(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p < 0x20 && *p != '\n') || *p == 0x7F)
            return false;
    return true;
}

static int case_messages(void)
{
    char dir[64], path[128], scen[128], *out;
    ru_mkdtemp(dir, sizeof dir);

    int rc = RUN(&out, "station", "--headless", "--once", "--sim", "1", "--profile",
                 DEMO_PROFILE, "--time-scale", "0");
    expect_refused("station --time-scale 0", rc, out);
    EXPECT("station --time-scale 0", out, "--time-scale '0'", "> 0");
    free(out);

    /* "cannot open" and the reason, for each kind of file */
    char missing[128];
    snprintf(missing, sizeof missing, "%s/missing.ini", dir);
    rc = RUN(&out, "station", "--headless", "--once", "--sim", "1", "--profile", DEMO_PROFILE,
             "--config", missing);
    expect_refused("station --config missing", rc, out);
    EXPECT("station --config missing", out, missing, "cannot open: No such file or directory");
    free(out);
    rc = RUN(&out, "station", "--headless", "--once", "--sim", "1", "--profile", DEMO_PROFILE,
             "--sim-scenario", missing);
    expect_refused("station --sim-scenario missing", rc, out);
    EXPECT("station --sim-scenario missing", out, "cannot open: No such file or directory");
    free(out);
    rc = RUN(&out, "profile", "check", missing);
    expect_refused("profile check missing", rc, out);
    EXPECT("profile check missing", out, "cannot open: No such file or directory");
    free(out);

    /* control bytes in a profile, a station file and a scenario: escaped on stderr */
    snprintf(path, sizeof path, "%s/ctl.ini", dir);
    ru_write_file(path, "[profile]\nname = \x1b]0;owned\x07\x1b[2J\n");
    rc = RUN(&out, "profile", "check", path);
    expect_refused("profile check, ESC in name", rc, out);
    CHECK(no_raw_controls(out));
    EXPECT("profile check, ESC in name", out, ":2: name \"\\x1B]0;owned\\x07\\x1B[2J\" holds a "
           "control character");
    free(out);
    /* a product that would be shown as is: a lone C1 CSI byte (not UTF-8) is refused */
    ru_write_file(path, "[profile]\nname = p\nproduct = plug \x9b" "2J\n");
    rc = RUN(&out, "profile", "check", path);
    expect_refused("profile check, CSI in product", rc, out);
    CHECK(!strchr(out, '\x9b'));
    EXPECT("profile check, CSI in product", out, ":3: product \"plug \\x9B2J\" holds a control");
    free(out);

    ru_write_file(path, "[station]\n\x1b[31mcolour = red\n");
    rc = RUN(&out, "station", "--headless", "--once", "--sim", "1", "--profile", DEMO_PROFILE,
             "--config", path);
    expect_refused("station --config, ESC in key", rc, out);
    CHECK(no_raw_controls(out));
    EXPECT("station --config, ESC in key", out, ":2: [station]: unknown key '\\x1B[31mcolour'");
    free(out);
    ru_write_file(path, "[station]\nname = line\x1b[2J-2\n");
    rc = RUN(&out, "station", "--headless", "--once", "--sim", "1", "--profile", DEMO_PROFILE,
             "--config", path);
    expect_refused("station --config, ESC in the station name", rc, out);
    CHECK(no_raw_controls(out));
    EXPECT("station --config, ESC in the station name", out,
           ":2: name 'line\\x1B[2J-2' holds a control character");
    free(out);

    snprintf(scen, sizeof scen, "%s/scenario.ini", dir);
    ru_write_file(scen, "[all]\nchip = bk\x9b" "31m\n");
    rc = RUN(&out, "station", "--headless", "--once", "--sim", "1", "--profile", DEMO_PROFILE,
             "--sim-scenario", scen);
    expect_refused("station --sim-scenario, CSI in value", rc, out);
    CHECK(no_raw_controls(out) && !strchr(out, '\x9b'));
    EXPECT("station --sim-scenario, CSI in value", out, ":2: chip 'bk\\x9B31m'");
    free(out);
    ru_rmrf(dir);
    return CHECK_DONE();
}

/* Every `key =` line of the template (commented or not), each key checked against docs. */
static void keys_documented(const char *template_text, const char *doc, const char *doc_name)
{
    int keys = 0;
    for (const char *l = template_text; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : "") {
        const char *k = l + (*l == ';');
        size_t n = strspn(k, "abcdefghijklmnopqrstuvwxyz_");
        if (!n || strncmp(k + n, " = ", 3))
            continue;
        char key[40], bold[64];
        snprintf(key, sizeof key, "%.*s", (int)n, k);
        keys++;
        snprintf(bold, sizeof bold, doc_name[0] == 'm' ? "\n.B %s" : "`%s", key);
        if (!strstr(doc, bold)) {
            fprintf(stderr, "%s does not document key %s (looked for \"%s\")\n", doc_name, key,
                    bold + (bold[0] == '\n'));
            check_failed();
        }
    }
    CHECK(keys >= 14); /* every key profile.c knows */
}

/* The template's commented [personalize] block, uncommented as it is (a base file beside it and
 * its sha256 pasted), loads: every key and field it shows is a valid line. */
static void personalize_example_loads(const char *dir, const char *path, const char *tmpl)
{
    char base[160], err[1024];
    snprintf(base, sizeof base, "%s/plug-base.bin", dir);
    ru_copy_file(TRAYFLASH_SOURCE_DIR "/tests/engine/fixtures/obk-base-t.bin", base);
    size_t blen;
    char *bytes = slurp(base, &blen), sha[65];
    REQUIRE(bytes != NULL);
    bk_sha256_hex((const uint8_t *)bytes, blen, sha);
    free(bytes);
    const char *block = strstr(tmpl, "\n;[personalize]\n");
    REQUIRE_MSG(block != NULL, "profile new wrote no [personalize] example");
    size_t cap = strlen(tmpl) + 1, n = (size_t)(block + 1 - tmpl);
    char *text = malloc(cap);
    REQUIRE(text != NULL);
    memcpy(text, tmpl, n);
    for (const char *l = block + 1; *l;) { /* ";key = v" -> "key = v"; "; words" stay */
        size_t ll = strcspn(l, "\n") + (l[strcspn(l, "\n")] == '\n');
        bool keyline = l[0] == ';' && l[1] != ' ' && l[1] != '\n';
        memcpy(text + n, l + keyline, ll - keyline);
        n += ll - keyline;
        l += ll;
    }
    text[n] = 0;
    char *zeros = strstr(text, "base_sha256 = 0000");
    REQUIRE(zeros != NULL);
    memcpy(zeros + strlen("base_sha256 = "), sha, 64);
    ru_write_file(path, text);
    tf_profile p;
    int rc = tf_profile_load(path, &p, err, sizeof err);
    CHECK_MSG(rc == 0, "the template's [personalize] uncommented: %s", err);
    if (!rc) {
        CHECK(p.personal.enabled && p.personal.base_sha256_line > 0);
        CHECK_STR(p.personal.base_sha256, sha);
        CHECK(p.personal.n_fields >= 5 && p.personal.ledger_line > 0);
        tf_profile_free(&p);
    }
    free(text);
}

static int case_profile_cli(void)
{
    char dir[64], path[128], *out, err[1024];
    ru_mkdtemp(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/smart-bulb.ini", dir);
    int rc = RUN(&out, "profile", "new", path);
    CHECK_EQ_INT(rc, 0);
    free(out);
    size_t len;
    char *tmpl = slurp(path, &len);
    CHECK(tmpl != NULL);
    if (!tmpl) {
        ru_rmrf(dir);
        return CHECK_DONE();
    }
    CHECK(strstr(tmpl, "\nname = smart-bulb\n") != NULL);

    /* never overwritten: refused, and the file is as it was */
    ru_write_file(path, "[profile]\n; edited by the engineer\n");
    rc = RUN(&out, "profile", "new", path);
    CHECK_EQ_INT(rc, 2);
    EXPECT("profile new over a file", out, path, "already exists");
    free(out);
    size_t now_len;
    char *now = slurp(path, &now_len);
    CHECK(now && !strcmp(now, "[profile]\n; edited by the engineer\n"));
    free(now);

    /* the template is a profile: with its image beside it and the pin filled in, it loads */
    char img[160];
    snprintf(img, sizeof img, "%s/firmware.bin", dir);
    ru_copy_file(DEMO_IMAGE, img);
    size_t ilen;
    char *bytes = slurp(img, &ilen), sha[65];
    bk_sha256_hex((const uint8_t *)bytes, ilen, sha);
    free(bytes);
    char *zeros = strstr(tmpl, "sha256 = 0000");
    CHECK(zeros != NULL);
    if (zeros)
        memcpy(zeros + strlen("sha256 = "), sha, 64);
    FILE *w = fopen(path, "wb");
    CHECK(w && fwrite(tmpl, 1, len, w) == len);
    if (w)
        fclose(w);
    tf_profile p;
    rc = tf_profile_load(path, &p, err, sizeof err);
    if (rc)
        fprintf(stderr, "template with image and pin: %s\n", err);
    CHECK_EQ_INT(rc, 0);
    if (!rc) {
        CHECK(!strcmp(p.name, "smart-bulb") && p.variants[0].offset == 0x11000);
        CHECK(p.n_bauds == 3 && p.bauds[0] == 921600 && p.bauds[1] == 460800);
        CHECK(!p.personal.enabled); /* the [personalize] example is commented out */
        tf_profile_free(&p);
    }
    personalize_example_loads(dir, path, tmpl);

    /* the profile format is documented where a product engineer looks */
    size_t man_len, readme_len;
    char *man_text = slurp(TRAYFLASH_SOURCE_DIR "/docs/trayflash.1", &man_len);
    char *readme_text = slurp(TRAYFLASH_SOURCE_DIR "/profiles/README.md", &readme_len);
    CHECK(man_text && readme_text);
    if (man_text && readme_text) {
        char *section = strstr(man_text, "\n.SH PROFILES\n");
        CHECK(section != NULL);
        if (section) {
            char *next = strstr(section + 1, "\n.SH ");
            if (next)
                *next = 0;
            keys_documented(tmpl, section, "man page PROFILES");
        }
        keys_documented(tmpl, readme_text, "profiles/README.md");
    }
    free(man_text);
    free(readme_text);

    /* profile list: another INI file beside the profiles is skipped with a note */
    char station_ini[160];
    snprintf(station_ini, sizeof station_ini, "%s/line-2.ini", dir);
    ru_write_file(station_ini, "[station]\nname = line-2\n");
    rc = RUN(&out, "profile", "list", dir);
    CHECK_EQ_INT(rc, 0);
    EXPECT("profile list with a station file", out, "smart-bulb", "note: skipped", "line-2.ini");
    free(out);
    /* a broken profile whose file name holds an ESC: refused (exit 2), the name escaped */
    char odd[160];
    snprintf(odd, sizeof odd, "%s/odd\x1b[7m.ini", dir);
    ru_write_file(odd, "[profile]\nname = odd\n");
    rc = RUN(&out, "profile", "list", dir);
    CHECK_EQ_INT(rc, 2);
    CHECK(no_raw_controls(out));
    EXPECT("profile list, ESC in a file name", out, "odd\\x1B[7m.ini:1: missing required key",
           "odd\\x1B[7m.ini         (refused");
    free(out);
    free(tmpl);
    ru_rmrf(dir);
    return CHECK_DONE();
}

static void setup(void)
{
    tf = check_arg(0);
    if (!tf) {
        fprintf(stderr, "usage: test_station_input CASE PATH_TO_TRAYFLASH\n");
        exit(2);
    }
    alarm(4 * CHILD_ALARM_S + 60); /* the in-process loads (lines) must not hang either */
}

int main(int argc, char **argv)
{
    static const check_case cases[] = {{"filetype", case_filetype}, {"lines", case_lines},
                                       {"messages", case_messages}, {"profile_cli", case_profile_cli}};
    return check_run(argc, argv, cases, sizeof cases / sizeof cases[0], setup, NULL);
}
