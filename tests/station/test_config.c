/* The station's INI file:
 *   file - station/example-station.ini loads as written (relative paths from its folder,
 *          allow list, bays), and broken files are refused with errors naming file:line.
 *   run  - `trayflash station --config F --sim 2 --once --headless`: the file alone decides
 *          the station's name, pool size, database path and bay names; and the headless
 *          lines keep their format: "HH:MM:SS bay NN STATE ...", the MAC (the one the
 *          database holds) at the end of the bay's lines once read, on the PASS line too.
 *   schema - the station file's key table agrees with the man page and example-station.ini.
 * Usage: test_station_config --list | file | run PATH_TO_TRAYFLASH | schema */
#include <ctype.h>
#include "check.h"
#include "robust_util.h"
#include "tf_file.h"

#define EXAMPLE TRAYFLASH_SOURCE_DIR "/station/example-station.ini"

static station_config cfg; /* large: off the stack */

static void expect_error(const char *dir, const char *name, const char *text, int line,
                         const char *words)
{
    char path[256], err[1500], want[300];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    ru_write_file(path, text);
    station_config_defaults(&cfg);
    int rc = station_config_load(path, &cfg, err, sizeof err);
    CHECK_EQ_INT(rc, -1);
    snprintf(want, sizeof want, "%s:%d: ", path, line);
    if (strncmp(err, want, strlen(want)) || !strstr(err, words)) {
        fprintf(stderr, "%s: got \"%s\", want \"%s...%s\"\n", name, err, want, words);
        check_failed();
    }
}

static int case_file(void)
{
    char err[1500];
    station_config_defaults(&cfg);
    int rc = station_config_load(EXAMPLE, &cfg, err, sizeof err);
    CHECK_EQ_INT(rc, 0);
    if (rc < 0)
        fprintf(stderr, "%s\n", err);
    CHECK(!strcmp(cfg.name, "line-2-tray-a"));
    CHECK(!strcmp(cfg.db, TRAYFLASH_SOURCE_DIR "/station/trayflash.db"));
    CHECK(!strcmp(cfg.profile, TRAYFLASH_SOURCE_DIR "/station/../profiles/wb2s-openbk.ini"));
    CHECK_EQ_INT(cfg.pool_size, 32);
    CHECK_EQ_INT(cfg.start_mode, SC_START_ON_PLUG);
    CHECK_EQ_INT(cfg.n_allow, 5);
    CHECK(station_config_allows(&cfg, 0x1a86, 0x7523));
    CHECK(station_config_allows(&cfg, 0x067b, 0x2303));
    CHECK(!station_config_allows(&cfg, 0x1234, 0x5678));
    CHECK_EQ_INT(cfg.n_bays, 4);
    const sc_bay *b3 = station_config_bay_by_path(&cfg, "pci-0000:00:14.0-usb-0:1.3:1.0");
    CHECK(b3 != NULL);
    if (b3) {
        CHECK_EQ_INT(b3->bay, 3);
        CHECK(!strcmp(b3->name, "A03"));
        CHECK(strstr(b3->profile, "/profiles/cb2s-openbk.ini") != NULL);
    }
    const sc_bay *b1 = station_config_bay_by_path(&cfg, "pci-0000:00:14.0-usb-0:1.1:1.0");
    CHECK(b1 && b1->bay == 1 && !strcmp(b1->name, "A01") && !b1->profile[0]);

    char dir[64];
    ru_mkdtemp(dir, sizeof dir);
    expect_error(dir, "pool.ini", "[station]\nname = x\npool_size = 0\n", 3, "pool_size");
    expect_error(dir, "ask.ini", "[station]\non_already_passed = ask\nask_timeout_s = 0\n", 3,
                 "ask_timeout_s");
    expect_error(dir, "mode.ini", "; comment\n[station]\nstart_mode = sometimes\n", 3,
                 "start_mode 'sometimes'");
    expect_error(dir, "allow.ini", "[adapters]\nallow = 1a86:7523, zz:1\n", 2, "'zz:1'");
    expect_error(dir, "short.ini", "[adapters]\nallow = 1a86:7523,\n\nallow = 403:6001\n", 4,
                 "'403:6001'");
    expect_error(dir, "empty.ini", "[adapters]\nallow =\n", 2, "no adapter ids");
    expect_error(dir, "key.ini", "[station]\ncolour = red\n", 2, "colour");
    expect_error(dir, "section.ini", "[station]\nname = x\n\n[nonsense]\nkey = 1\n", 5,
                 "nonsense");
    expect_error(dir, "interval.ini", "[station]\npoll_interval_ms = 5\n", 2, "poll_interval_ms");
    expect_error(dir, "garbage.ini", "[station]\nname = x\nthis is no ini line\n", 3,
                 "not an INI line");
    /* reset sequences (issue 17): the step is named, in the station and in a bay */
    expect_error(dir, "reset.ini", "[station]\nname = x\nreset = dtr-on,rts-of:50ms\n", 3,
                 "step 2 'rts-of:50ms': the level must be on, off, low or high");
    expect_error(dir, "bayreset.ini", "[station]\n\n[bay 2]\nreset = dtr-on:forever\n", 4,
                 "step 1 'dtr-on:forever': the duration");
    expect_error(dir, "resetline.ini", "[station]\nreset = cts-on\n", 2,
                 "the line must be dtr, rts or dtr+rts");
    {
        char ok[256];
        snprintf(ok, sizeof ok, "%s/reset-ok.ini", dir);
        FILE *f = fopen(ok, "w");
        REQUIRE(f);
        fprintf(f, "[station]\nreset = tuya\n\n[bay 2]\nreset = rts-on:0.1s, wait:20ms, rts-off\n");
        fclose(f);
        station_config_defaults(&cfg);
        CHECK_EQ_INT(station_config_load(ok, &cfg, err, sizeof err), 0);
        char text[200];
        bk_reset_format(station_config_bay_reset(&cfg, 1), text, sizeof text);
        CHECK_STR(text, "dtr-off,rts-on:200ms,rts-off");
        bk_reset_format(station_config_bay_reset(&cfg, 2), text, sizeof text);
        CHECK_STR(text, "rts-on:100ms,wait:20ms,rts-off");
    }
    /* a missing file is named too */
    char missing[256];
    snprintf(missing, sizeof missing, "%s/none.ini", dir);
    station_config_defaults(&cfg);
    CHECK_EQ_INT(station_config_load(missing, &cfg, err, sizeof err), -1);
    CHECK(!strncmp(err, missing, strlen(missing)));
    ru_rmrf(dir);
    return CHECK_DONE();
}

/* "HH:MM:SS bay NN STATE pct% result cause words": true and fields out if it parses. */
static bool parse_line(const char *line, int *bay, char *state, size_t statelen)
{
    int h, m, s;
    char b[8], st[24], pct[16];
    if (sscanf(line, "%2d:%2d:%2d bay %7s %23s %15s", &h, &m, &s, b, st, pct) != 6)
        return false;
    size_t pl = strlen(pct);
    if (strcmp(pct, "-") && (pl < 2 || pct[pl - 1] != '%' || !isdigit((unsigned char)pct[0])))
        return false; /* the progress column: "42%", or "-" on station-wide lines */
    *bay = !strcmp(b, "--") ? 0 : atoi(b);
    snprintf(state, statelen, "%s", st);
    return true;
}

static int case_run(const char *tf)
{
    char dir[64], sub[128], conf[256], db_path[256], text[2048];
    ru_mkdtemp(dir, sizeof dir);
    snprintf(sub, sizeof sub, "%s/results", dir);
    mkdir(sub, 0755);
    snprintf(conf, sizeof conf, "%s/station.ini", dir);
    snprintf(db_path, sizeof db_path, "%s/results/line.db", dir);
    snprintf(text, sizeof text,
             "[station]\nname = cfg-test-station\ndb = results/line.db\npool_size = 3\n"
             "profile = %s/profiles/demo-small.ini\n\n[adapters]\nallow = 1a86:7523\n\n"
             "[bay 1]\npath = sim-1\nname = S01\n\n[bay 2]\npath = sim-2\nname = S02\n",
             TRAYFLASH_SOURCE_DIR);
    ru_write_file(conf, text);

    const char *argv[] = {(char *)tf, "station", "--config", conf, "--sim", "2", "--once", "--headless",
                    "--time-scale", "0.25", "--link-timeout-ms", "1500", NULL};
    ru_child c;
    ru_spawn(&c, argv, NULL);
    static char lines[400][700];
    int n = 0, r;
    char line[700];
    double deadline = ru_mono() + 60;
    while ((r = ru_next_line(&c, line, sizeof line, deadline)) > 0)
        if (n < 400)
            snprintf(lines[n++], sizeof lines[0], "%s", line);
    CHECK(r == 0); /* not a timeout */
    if (r < 0)
        kill(c.pid, SIGKILL);
    CHECK_EQ_INT(ru_reap(&c), 0);

    /* the file decided name, pool, database path and bay names */
    bool started = false;
    for (int i = 0; i < n; i++)
        started |= strstr(lines[i], "station cfg-test-station started: profile demo-small, sim "
                                    "source, pool 3") != NULL;
    CHECK(started);
    char *name = check_db_text(db_path, "select name from station");
    CHECK(name && !strcmp(name, "cfg-test-station"));
    free(name);
    CHECK_EQ_INT(check_db_int(db_path, "select count(*) from attempt where outcome = 'pass'"), 2);
    CHECK_EQ_INT(check_db_int(db_path, "select count(*) from attempt where bay = 1 and bay_name = 'S01'"), 1);
    CHECK_EQ_INT(check_db_int(db_path, "select count(*) from attempt where bay = 2 and bay_name = 'S02'"), 1);

    /* line format, and the module's MAC on its lines once known */
    for (int bay = 1; bay <= 2; bay++) {
        char *mac = check_db_text_args(db_path, "select mac from attempt where bay = ?1", 1,
                                    (const check_sql_arg[]){SQL_INT(bay)});
        CHECK(mac && strlen(mac) == 17);
        char tail[40];
        snprintf(tail, sizeof tail, " mac %s", mac ? mac : "?");
        int pass_lines = 0, known_lines = 0, unknown_after = 0;
        bool known = false;
        for (int i = 0; i < n; i++) {
            int b;
            char state[24];
            if (!parse_line(lines[i], &b, state, sizeof state) || b != bay)
                continue;
            size_t len = strlen(lines[i]);
            bool has_tail = len > strlen(tail) && !strcmp(lines[i] + len - strlen(tail), tail);
            if (strstr(lines[i], " - - mac ") && strstr(lines[i], mac ? mac : "?"))
                known = true; /* the engine's own "mac ..." timeline line */
            else if (known && has_tail)
                known_lines++;
            else if (known)
                unknown_after++;
            if (!strcmp(state, "PASS")) {
                pass_lines++;
                CHECK(strstr(lines[i], " PASS 100% PASS - ") != NULL);
                CHECK(has_tail);
            }
        }
        CHECK_EQ_INT(pass_lines, 1);
        CHECK(known);
        CHECK(known_lines >= 2); /* phases after identify, progress, the PASS line */
        CHECK_EQ_INT(unknown_after, 0);
        free(mac);
    }
    int parsed = 0;
    for (int i = 0; i < n; i++) {
        int b;
        char state[24];
        parsed += parse_line(lines[i], &b, state, sizeof state);
    }
    /* every line but the final summary is a headless line */
    CHECK_EQ_INT(parsed, n - 1);
    CHECK(n > 0 && strstr(lines[n - 1], "2 modules, 2 pass, 0 fail") != NULL);
    if (check_failures())
        for (int i = 0; i < n; i++)
            fprintf(stderr, "| %s\n", lines[i]);
    ru_rmrf(dir);
    return CHECK_DONE();
}

/* The section of kind bit `kind` of the man page's STATION FILE: from its header to .RE. */
static bool man_station_section(const char *man, int kind, char *out, size_t outlen)
{
    static const char *const heads[] = {"\n.B [station]\n", "\n.B [adapters]\n",
                                        "\n.BI \"[bay \" N ]\n", "\n.BI \"[bays \" A \\- B ]\n"};
    const char *a = strstr(man, "\n.SH STATION FILE\n");
    a = a ? strstr(a, heads[kind]) : NULL;
    const char *b = a ? strstr(a, "\n.RE\n") : NULL;
    if (!b)
        return false;
    snprintf(out, outlen, "%.*s\n.TP\n", (int)(b - a), a);
    return true;
}

/* Every `key =` line of example-station.ini is a schema key of its section's kind. */
static void example_keys_known(const char *text)
{
    unsigned kind = 0;
    for (const char *l = text; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : "") {
        if (*l == '[') {
            kind = !strncmp(l, "[station]", 9) ? 1 : !strncmp(l, "[adapters]", 10) ? 2
                   : !strncmp(l, "[bays ", 6) ? 8 : !strncmp(l, "[bay ", 5) ? 4 : 0;
            CHECK(kind != 0);
            continue;
        }
        size_t n = strspn(l, "abcdefghijklmnopqrstuvwxyz_");
        if (!n || l[n + strspn(l + n, " \t")] != '=')
            continue;
        char key[64];
        snprintf(key, sizeof key, "%.*s", (int)n, l);
        if (tf_schema_find(&station_config_schema, kind, key) < 0) {
            fprintf(stderr, "example-station.ini: key %s not in the schema\n", key);
            check_failed();
        }
    }
}

/* station_config.c's key table against the man page's STATION FILE and example-station.ini,
 * both ways: each key documented in its section with its default and range; each key the page
 * documents or the example uses is in the table. */
static int case_schema(void)
{
    size_t len;
    char *man = NULL, *example = NULL, err[512];
    CHECK(!tf_file_read_text(TRAYFLASH_SOURCE_DIR "/docs/trayflash.1", 1u << 20, &man, &len,
                             err, sizeof err));
    CHECK(!tf_file_read_text(EXAMPLE, 1u << 20, &example, &len, err, sizeof err));
    if (!man || !example)
        return CHECK_DONE();
    const tf_schema *s = &station_config_schema;
    static char sec[8192];
    for (int i = 0; i < s->n_keys; i++) {
        const tf_key *k = &s->keys[i];
        int kind = __builtin_ctz(k->sections);
        CHECK(man_station_section(man, kind, sec, sizeof sec));
        char head[80], want[160];
        snprintf(head, sizeof head, "\n.TP\n.B %s\n", k->name);
        char *para = strstr(sec, head);
        if (!para) {
            fprintf(stderr, "man page STATION FILE [%s]: no key %s\n", s->section_names[kind],
                    k->name);
            check_failed();
            continue;
        }
        para += strlen(head);
        char *end = strstr(para, "\n.TP\n");
        *end = '\0';
        const char *def = k->def ? k->def : k->def_text;
        if (def) {
            snprintf(want, sizeof want, "[%s]", def);
            if (!strstr(para, want))
                fprintf(stderr, "man page: key %s lacks its default %s\n", k->name, want);
            CHECK(strstr(para, want) != NULL);
        }
        if (k->type == TF_KEY_INT) {
            snprintf(want, sizeof want, "%ld..%ld", k->lo, k->hi);
            CHECK(strstr(para, want) != NULL);
        }
        CHECK(!(k->flags & TF_KEY_REQUIRED) || strstr(para, "Required") != NULL);
    }
    for (int kind = 0; kind < s->n_section_kinds; kind++) {
        CHECK(man_station_section(man, kind, sec, sizeof sec));
        for (const char *m = sec; (m = strstr(m, "\n.TP\n.B ")); m++) {
            char key[64];
            if (sscanf(m + 8, "%63[a-z_]", key) == 1 &&
                tf_schema_find(s, 1u << kind, key) < 0) {
                fprintf(stderr, "man page STATION FILE [%s]: key %s not in the schema\n",
                        s->section_names[kind], key);
                check_failed();
            }
        }
    }
    example_keys_known(example);
    /* the defaults the loader starts from are the table's */
    station_config_defaults(&cfg);
    CHECK(!strcmp(cfg.name, s->keys[tf_schema_find(s, 1, "name")].def));
    CHECK(cfg.pool_size == atoi(s->keys[tf_schema_find(s, 1, "pool_size")].def));
    CHECK(cfg.poll_interval_ms == atoi(s->keys[tf_schema_find(s, 1, "poll_interval_ms")].def));
    CHECK(cfg.start_mode == SC_START_ON_PLUG &&
          !strcmp(s->keys[tf_schema_find(s, 1, "start_mode")].def, "on_plug"));
    free(man);
    free(example);
    return CHECK_DONE();
}

static int run_case(void)
{
    if (!check_arg(0)) {
        fprintf(stderr, "usage: test_station_config run PATH_TO_TRAYFLASH\n");
        return 2;
    }
    return case_run(check_arg(0));
}

int main(int argc, char **argv)
{
    static const check_case cases[] = {{"file", case_file}, {"run", run_case},
                                        {"schema", case_schema}};
    return CHECK_RUN(argc, argv, cases);
}
