/* The station's INI file:
 *   file - station/example-station.ini loads as written (relative paths from its folder,
 *          allow list, bays), and broken files are refused with errors naming file:line.
 *   run  - `trayflash station --config F --sim 2 --once --headless`: the file alone decides
 *          the station's name, pool size, database path and bay names; and the headless
 *          lines keep their format: "HH:MM:SS bay NN STATE ...", the MAC (the one the
 *          database holds) at the end of the bay's lines once read, on the PASS line too.
 * Usage: test_station_config --list | file | run PATH_TO_TRAYFLASH */
#include <ctype.h>
#include "check.h"
#include "robust_util.h"

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
    static const check_case cases[] = {{"file", case_file}, {"run", run_case}};
    return CHECK_RUN(argc, argv, cases);
}
