/* `trayflash flash` end to end on a bksim link (the simulator in this process, the program
 * as a child): exit codes, the final line's words, and --json parsed by cJSON. And the CLI
 * conventions every command keeps:
 *   help        -h/--help on every subcommand (and bksim): usage on stdout, exit 0; --version
 *   exit_codes  the one outcome -> code table (exit_codes.h) from real runs: a missing port is
 *               3 not 1, a database that cannot be opened 3, SIGTERM 143, SIGINT 130
 *   exit_table  the man page's EXIT STATUS lists every outcome of the table, with its code
 *   json_shape  flash --json has the same top-level keys for every outcome, errors included
 *   warning     a pass that needed help says so, with its words and remedy, in text and JSON
 *   options     getopt_long over the option tables: --opt=value, abbreviations, `--`, our
 *               words for its errors; every option a --help lists is in the man page
 *   trace       flash -v (and TRAYFLASH_DEBUG=wire) traces the frames with their addresses,
 *               never a write's data; without either there is no trace
 * Usage: test_station_cli --list | CASE PATH_TO_TRAYFLASH [PATH_TO_BKSIM] */
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "bksim.h"
#include "check.h"
#include "exit_codes.h"

#define PROFILE TRAYFLASH_SOURCE_DIR "/profiles/demo-small.ini"

/* Runs argv, returns the exit code and its stdout (with_stderr: and stderr) (malloc'd). */
static int run_with(const char *const argv[], char **out, bool with_stderr)
{
    return check_capture(argv, with_stderr, 0, out);
}

static int run(const char *const argv[], char **out)
{
    return run_with(argv, out, false);
}

static bksim_server *sim_with(const char *fault)
{
    static bksim_module_config mc;
    bksim_module_config_default(&mc);
    char err[200];
    if (fault && !bksim_fault_parse(fault, &mc.faults, err, sizeof err))
        exit(2);
    bksim_config cfg = {.count = 1, .seed = 3, .time_scale = 0.25, .modules = &mc};
    bksim_server *s = bksim_start(&cfg, err, sizeof err);
    if (!s) {
        fprintf(stderr, "bksim_start: %s\n", err);
        exit(2);
    }
    return s;
}

/* The exit code of a child that ended by itself, or 128 + the signal that killed it (as sh). */
static int exit_code(int status)
{
    return WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                                                          : -1;
}

static int case_help(char *tf, char *bksim)
{
    static const char *const cmds[][3] = {
        {"flash", NULL, "usage: trayflash flash"},
        {"station", NULL, "usage: trayflash station"},
        {"report", NULL, "usage: trayflash report"},
        {"demo", NULL, "usage: trayflash demo"},
        {"profile", NULL, "usage: trayflash profile"},
        {"profile", "check", "usage: trayflash profile"},
        {"profile", "list", "usage: trayflash profile"},
        {"pin-hash", NULL, "usage: trayflash pin-hash"},
        {"backup", "list", "usage: trayflash backup list"},
        {"backup", "export", "usage: trayflash backup export"},
        {"backup", "verify", "usage: trayflash backup verify"},
        {"backup", "prune", "usage: trayflash backup prune"},
        {"restore", NULL, "usage: trayflash restore"},
        {"ledger", NULL, "usage: trayflash ledger"},
        {"ledger", "import", "usage: trayflash ledger"},
        {"adapters", NULL, "usage: trayflash adapters"},
    };
    char *out;
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        for (int h = 0; h < 2; h++) {
            const char *flag = h ? "--help" : "-h";
            const char *a[] = {tf, (char *)cmds[i][0], cmds[i][1] ? (char *)cmds[i][1] : flag,
                         cmds[i][1] ? flag : NULL, NULL};
            int rc = run(a, &out);
            if (rc != 0 || strncmp(out, cmds[i][2], strlen(cmds[i][2])))
                fprintf(stderr, "%s %s %s: exit %d, stdout:\n%s\n", cmds[i][0],
                        cmds[i][1] ? cmds[i][1] : "", flag, rc, out);
            CHECK_EQ_INT(rc, 0);
            CHECK(!strncmp(out, cmds[i][2], strlen(cmds[i][2])));
            CHECK(strstr(out, "Exit status") != NULL); /* each names its own exit codes */
            free(out);
        }
    }
    /* help with an otherwise bad command line still helps, and does nothing else */
    const char *bad[] = {tf, "flash", "--port", "/nonexistent", "--help", NULL};
    CHECK_EQ_INT(run(bad, &out), 0);
    CHECK(strstr(out, "usage: trayflash flash") != NULL);
    free(out);
    const char *help[] = {tf, "help", NULL};
    CHECK_EQ_INT(run(help, &out), 0);
    CHECK(strstr(out, "--version") != NULL);
    CHECK(strstr(out, "143") != NULL); /* the exit table, from exit_codes.c */
    free(out);
    const char *version[] = {tf, "--version", NULL};
    CHECK_EQ_INT(run(version, &out), 0);
    CHECK(!strncmp(out, "trayflash ", 10));
    free(out);
    if (bksim) {
        for (int h = 0; h < 2; h++) {
            const char *a[] = {bksim, h ? "--help" : "-h", NULL};
            CHECK_EQ_INT(run(a, &out), 0);
            CHECK(!strncmp(out, "usage: bksim", 12));
            free(out);
        }
    }
    return CHECK_DONE();
}

/* A station child with stdout on a pipe: waits for its first line (it has started), sends
 * signo, and returns how it ended. */
static int station_until_signal(char *tf, const char *db, int signo, char **lines)
{
    int p[2];
    if (pipe(p) < 0)
        exit(2);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], STDOUT_FILENO);
        close(p[0]);
        close(p[1]);
        execl(tf, tf, "station", "--headless", "--sim", "2", "--time-scale", "1", "--profile",
              PROFILE, "--db", db, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    bool signalled = false;
    ssize_t n;
    while ((n = read(p[0], buf + len, cap - len - 1)) > 0) {
        len += (size_t)n;
        buf[len] = 0;
        if (!signalled && strchr(buf, '\n')) { /* a line: the station runs and watches signals */
            kill(pid, signo);
            signalled = true;
        }
        if (cap - len < 2)
            buf = realloc(buf, cap *= 2);
    }
    buf[len] = 0;
    close(p[0]);
    int status;
    waitpid(pid, &status, 0);
    *lines = buf;
    return exit_code(status);
}

static int case_exit_codes(char *tf)
{
    char *out, dir[] = "/tmp/tf-cli-XXXXXX";
    if (!mkdtemp(dir))
        return 2;
    char db[300], nodb[300];
    snprintf(db, sizeof db, "%s/station.db", dir);
    snprintf(nodb, sizeof nodb, "%s/no-such-dir/station.db", dir);

    /* the port does not exist: the bench (3), not the module (1) */
    const char *a[] = {tf, "flash", "--port", "/nonexistent-tty", "--profile", PROFILE, NULL};
    CHECK_EQ_INT(run(a, &out), 3);
    CHECK_EQ_INT(tf_exit_code(TF_OUT_SETUP), 3);
    CHECK(!strncmp(out, "FAIL", 4) && strstr(out, "(port_error)") != NULL);
    free(out);
    /* a profile that does not load: 2 */
    const char *b[] = {tf, "flash", "--port", "/nonexistent-tty", "--profile", "/nonexistent.ini", NULL};
    CHECK_EQ_INT(run(b, &out), 2);
    free(out);
    /* a database that cannot be opened: 3, for the station and the report alike */
    const char *c[] = {tf, "station", "--headless", "--once", "--sim", "1", "--time-scale", "0.05",
                 "--profile", PROFILE, "--db", nodb, NULL};
    CHECK_EQ_INT(run(c, &out), 3);
    free(out);
    const char *d[] = {tf, "report", "--db", nodb, NULL};
    CHECK_EQ_INT(run(d, &out), 3);
    free(out);
    /* a profile the station refuses: 2 */
    const char *e[] = {tf, "station", "--headless", "--once", "--sim", "1", "--profile",
                 "/nonexistent.ini", "--db", db, NULL};
    CHECK_EQ_INT(run(e, &out), 2);
    free(out);
    /* every module verified: 0, and the summary says where the records are */
    const char *f[] = {tf, "station", "--headless", "--once", "--sim", "2", "--time-scale", "0.05",
                 "--profile", PROFILE, "--db", db, NULL};
    CHECK_EQ_INT(run(f, &out), 0);
    char *real = realpath(db, NULL), want[600];
    snprintf(want, sizeof want, "station: 2 modules, 2 pass, 0 fail; records: trayflash report "
             "--db %s\n", real ? real : db);
    CHECK(strlen(out) >= strlen(want) && !strcmp(out + strlen(out) - strlen(want), want));
    free(real);
    free(out);
    /* stopped by a signal: 128 + its number, after a clean stop (the summary is printed) */
    CHECK_EQ_INT(station_until_signal(tf, db, SIGTERM, &out), 143);
    CHECK(strstr(out, "records: trayflash report --db ") != NULL);
    free(out);
    CHECK_EQ_INT(station_until_signal(tf, db, SIGINT, &out), 130);
    CHECK(strstr(out, "records: trayflash report --db ") != NULL);
    free(out);
    char rm[400];
    snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
    if (system(rm) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return CHECK_DONE();
}

/* The man page's EXIT STATUS section holds every row of the table, as ".BR code \" (id)\"". */
static int case_exit_table(void)
{
    FILE *f = fopen(TRAYFLASH_SOURCE_DIR "/docs/trayflash.1", "r");
    CHECK(f != NULL);
    if (!f)
        return CHECK_DONE();
    fseek(f, 0, SEEK_END); /* check_read_file reads up to the position: the end */
    char *man = check_read_file(f);
    fclose(f);
    char *sec = strstr(man, "\n.SH EXIT STATUS\n");
    CHECK(sec != NULL);
    if (sec) {
        char *end = strstr(sec + 1, "\n.SH ");
        if (end)
            *end = 0;
        for (int o = 0; o < TF_OUT_COUNT; o++) {
            const tf_outcome_info *in = tf_outcome_get((tf_outcome)o);
            char row[96], id[64];
            size_t k = 0; /* roff writes '-' as '\-' */
            for (const char *c = in->id; *c && k + 2 < sizeof id; c++) {
                if (*c == '-')
                    id[k++] = '\\';
                id[k++] = *c;
            }
            id[k] = 0;
            snprintf(row, sizeof row, "\n.BR %d \" (%s)\"\n", in->code, id);
            if (!strstr(sec, row))
                fprintf(stderr, "EXIT STATUS lacks the row %s", row + 1);
            CHECK(strstr(sec, row) != NULL);
        }
    }
    CHECK(strstr(man, "\\-\\-version") != NULL);
    CHECK(strstr(man, "\\-\\-help") != NULL);
    free(man);
    return CHECK_DONE();
}

static const char *const json_keys[] = {"ok", "exit_code", "outcome", "result", "error"};

/* The one shape: exactly the five keys; exit_code what the process returned; result and error
 * objects or null. Returns the parsed object (caller deletes) or NULL. */
static cJSON *check_shape(const char *out, int rc)
{
    cJSON *o = cJSON_Parse(out);
    CHECK(o != NULL && cJSON_IsObject(o));
    if (!o) {
        fprintf(stderr, "not JSON: %s\n", out);
        return NULL;
    }
    CHECK_EQ_INT(cJSON_GetArraySize(o), 5);
    for (size_t k = 0; k < sizeof json_keys / sizeof json_keys[0]; k++)
        CHECK(cJSON_HasObjectItem(o, json_keys[k]));
    cJSON *code = cJSON_GetObjectItem(o, "exit_code"), *ok = cJSON_GetObjectItem(o, "ok");
    CHECK(cJSON_IsNumber(code) && code->valueint == rc);
    CHECK(cJSON_IsBool(ok) && cJSON_IsTrue(ok) == (rc == 0));
    cJSON *res = cJSON_GetObjectItem(o, "result"), *err = cJSON_GetObjectItem(o, "error");
    CHECK(cJSON_IsNull(res) || cJSON_IsObject(res));
    CHECK(cJSON_IsNull(err) || cJSON_IsObject(err));
    return o;
}

static const char *str_at(cJSON *o, const char *obj, const char *key)
{
    cJSON *x = cJSON_GetObjectItem(obj ? cJSON_GetObjectItem(o, obj) : o, key);
    return cJSON_IsString(x) ? x->valuestring : "";
}

static int case_json_shape(char *tf)
{
    char *out;
    /* usage error: no attempt, an error of kind usage */
    const char *a[] = {tf, "flash", "--json", "--bogus", NULL};
    int rc = run(a, &out);
    CHECK_EQ_INT(rc, 2);
    cJSON *o = check_shape(out, rc);
    CHECK(o && cJSON_IsNull(cJSON_GetObjectItem(o, "result")));
    CHECK(o && !strcmp(str_at(o, "error", "kind"), "usage"));
    CHECK(o && strstr(str_at(o, "error", "message"), "--bogus") != NULL);
    cJSON_Delete(o);
    free(out);
    /* missing value, --json first or last: the same shape */
    const char *a2[] = {tf, "flash", "--port", "/x", "--json", "--profile", NULL};
    rc = run(a2, &out);
    CHECK_EQ_INT(rc, 2);
    cJSON_Delete(check_shape(out, rc));
    free(out);
    /* profile error */
    const char *b[] = {tf, "flash", "--json", "--port", "/nonexistent-tty", "--profile",
                 "/nonexistent.ini", NULL};
    rc = run(b, &out);
    CHECK_EQ_INT(rc, 2);
    o = check_shape(out, rc);
    CHECK(o && cJSON_IsNull(cJSON_GetObjectItem(o, "result")));
    CHECK(o && !strcmp(str_at(o, "error", "kind"), "profile"));
    CHECK(o && strstr(str_at(o, "error", "message"), "/nonexistent.ini") != NULL);
    cJSON_Delete(o);
    free(out);
    /* port error: the attempt (cause port_error) and an error of kind setup */
    const char *c[] = {tf, "flash", "--json", "--port", "/nonexistent-tty", "--profile", PROFILE, NULL};
    rc = run(c, &out);
    CHECK_EQ_INT(rc, 3);
    o = check_shape(out, rc);
    CHECK(o && !strcmp(str_at(o, "result", "cause"), "port_error"));
    CHECK(o && !strcmp(str_at(o, "error", "kind"), "setup"));
    CHECK(o && !strcmp(str_at(o, NULL, "outcome"), "setup"));
    cJSON_Delete(o);
    free(out);
    /* a failed module: the attempt, no error */
    bksim_server *s = sim_with("brownout-first-write");
    char port[256];
    snprintf(port, sizeof port, "%s", bksim_link_path(s, 0));
    const char *d[] = {tf, "flash", "--json", "--port", port, "--profile", PROFILE, NULL};
    rc = run(d, &out);
    CHECK_EQ_INT(rc, 1);
    o = check_shape(out, rc);
    CHECK(o && !strcmp(str_at(o, "result", "verdict"), "fail"));
    CHECK(o && !strcmp(str_at(o, "result", "cause"), "brownout"));
    CHECK(o && cJSON_IsNull(cJSON_GetObjectItem(o, "error")));
    CHECK(o && !strcmp(str_at(o, NULL, "outcome"), "module-failed"));
    cJSON_Delete(o);
    free(out);
    bksim_stop(s);
    return CHECK_DONE();
}

/* A module on an adapter that cannot go above 460800 passes at a lower baud: a pass with the
 * adapter-baud-limit warning, which text mode prints with its remedy and JSON carries. */
static int case_warning(char *tf)
{
    char *out;
    for (int json = 0; json < 2; json++) {
        bksim_server *s = sim_with("adapter-max-baud=460800");
        char port[256];
        snprintf(port, sizeof port, "%s", bksim_link_path(s, 0));
        const char *a[] = {tf, "flash", "--port", port, "--profile", PROFILE, json ? "--json" : NULL,
                     NULL};
        int rc = run(a, &out);
        fprintf(stderr, "exit %d, output:\n%s", rc, out);
        CHECK_EQ_INT(rc, 0);
        if (!json) {
            CHECK(!strncmp(out, "PASS", 4));
            CHECK(strstr(out, "\nwarning ") != NULL);
            CHECK(strstr(out, "(adapter_baud_limit)") != NULL);
            CHECK(strstr(out, "\nremedy if it repeats: ") != NULL);
        } else {
            cJSON *o = check_shape(out, rc);
            CHECK(o && !strcmp(str_at(o, "result", "verdict"), "pass"));
            CHECK(o && !strcmp(str_at(o, "result", "cause"), "adapter_baud_limit"));
            CHECK(o && str_at(o, "result", "remedy")[0] != 0);
            CHECK(o && cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "result"),
                                                        "warning")));
            cJSON_Delete(o);
        }
        free(out);
        bksim_stop(s);
    }
    return CHECK_DONE();
}

/* `message` of flash --json's error for argv `a` (exit 2 checked); "" when there is none. */
static char *flash_usage_message(const char *const a[])
{
    char *out;
    int rc = run(a, &out);
    CHECK_EQ_INT(rc, 2);
    cJSON *o = check_shape(out, rc);
    char *msg = strdup(o ? str_at(o, "error", "message") : "");
    cJSON_Delete(o);
    free(out);
    return msg;
}

/* getopt_long from each command's option table: --opt=value, abbreviations, `--`, our error
 * words for an ambiguous, valueless or value-taking option; and every option a --help lists
 * is in the man page. */
static int case_options(char *tf)
{
    char *out;
    /* --port=PATH and --prof (for --profile): parsed, so the run reaches the missing port */
    const char *a[] = {tf, "flash", "--json", "--port=/nonexistent-tty", "--prof", PROFILE, NULL};
    int rc = run(a, &out);
    CHECK_EQ_INT(rc, 3);
    cJSON *o = check_shape(out, rc);
    CHECK(o && !strcmp(str_at(o, NULL, "outcome"), "setup"));
    cJSON_Delete(o);
    free(out);

    char *msg = flash_usage_message((const char *[]){tf, "flash", "--json", "--p", "x", NULL});
    CHECK(strstr(msg, "'--p' is ambiguous") && strstr(msg, "--port") && strstr(msg, "--profile"));
    free(msg);
    /* (a --json=yes alone is no valid request for JSON: that refusal is plain text) */
    msg = flash_usage_message((const char *[]){tf, "flash", "--json", "--json=yes", NULL});
    CHECK(strstr(msg, "--json takes no value") != NULL);
    free(msg);
    msg = flash_usage_message((const char *[]){tf, "flash", "--json", "--port", NULL});
    CHECK(strstr(msg, "--port needs a value") != NULL);
    free(msg);
    msg = flash_usage_message((const char *[]){tf, "flash", "--json", "--", "--port", "x", NULL});
    CHECK(strstr(msg, "unexpected argument '--port'") != NULL);
    free(msg);

    /* every subcommand's --help, and each option it lists documented in the man page */
    FILE *f = fopen(TRAYFLASH_SOURCE_DIR "/docs/trayflash.1", "r");
    CHECK(f != NULL);
    if (!f)
        return CHECK_DONE();
    static char man[1 << 17];
    man[fread(man, 1, sizeof man - 1, f)] = 0;
    fclose(f);
    static const char *const cmds[][2] = {{"flash", NULL},  {"station", NULL},
                                          {"report", NULL}, {"demo", NULL},
                                          {"profile", "check"}, {"profile", "list"},
                                          {"profile", "new"},   {"pin-hash", NULL},
                                          {"backup", "list"},   {"backup", "export"},
                                          {"backup", "verify"}, {"backup", "prune"},
                                          {"restore", NULL},    {"ledger", NULL},
                                          {"ctl", NULL},        {"adapters", NULL}};
    int options = 0;
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        const char *h[] = {tf, cmds[i][0], cmds[i][1] ? cmds[i][1] : "--help",
                           cmds[i][1] ? "--help" : NULL, NULL};
        CHECK_EQ_INT(run(h, &out), 0);
        char want[64];
        snprintf(want, sizeof want, "usage: trayflash %s%s%s", cmds[i][0], cmds[i][1] ? " " : "",
                 cmds[i][1] ? cmds[i][1] : "");
        CHECK(!strncmp(out, want, strlen(want)));
        for (char *l = strstr(out, "\n  --"); l; l = strstr(l + 1, "\n  --")) {
            char name[40], roff[96] = "\\-\\-";
            if (sscanf(l + 5, "%39[a-z-]", name) != 1)
                continue;
            for (char *c = name; *c; c++) {
                size_t n = strlen(roff);
                snprintf(roff + n, sizeof roff - n, *c == '-' ? "\\-" : "%c", *c);
            }
            options++;
            if (!strstr(man, roff))
                fprintf(stderr, "%s --help lists --%s; the man page has no %s\n", want, name,
                        roff);
            CHECK(strstr(man, roff) != NULL);
        }
        free(out);
    }
    CHECK(options >= 25);
    return CHECK_DONE();
}

/* `what` in hex as a trace could spell it: "99ac77...", "99 ac 77 ...", upper case too. */
static bool hex_in(const char *text, const uint8_t *what, size_t n)
{
    for (int form = 0; form < 4; form++) { /* bit 0: a blank between bytes; bit 1: upper case */
        bool blank = form & 1, upper = form & 2;
        char hex[64] = "";
        for (size_t i = 0; i < n; i++) {
            if (blank && i)
                strcat(hex, " ");
            snprintf(hex + strlen(hex), sizeof hex - strlen(hex), upper ? "%02X" : "%02x", what[i]);
        }
        if (strstr(text, hex))
            return true;
    }
    return false;
}

static int case_trace(char *tf)
{
    /* the first 16 bytes of the image's second sector (flash 0x12000): what a trace that
     * showed a write's payload would show first */
    uint8_t secret[16];
    FILE *img = fopen(TRAYFLASH_SOURCE_DIR "/profiles/images/demo-small.bin", "rb");
    REQUIRE(img && fseek(img, 0x1000, SEEK_SET) == 0 && fread(secret, 1, 16, img) == 16);
    fclose(img);
    REQUIRE(secret[0] != secret[1] || secret[1] != secret[2]);
    for (int mode = 0; mode < 3; mode++) { /* -v, TRAYFLASH_DEBUG=wire, neither */
        bksim_server *s = sim_with(NULL);
        char port[256], *out;
        snprintf(port, sizeof port, "%s", bksim_link_path(s, 0));
        const char *a[] = {tf, "flash", "--port", port, "--profile", PROFILE,
                           mode == 0 ? "-v" : NULL, NULL};
        if (mode == 1)
            setenv("TRAYFLASH_DEBUG", "db,wire", 1);
        int rc = run_with(a, &out, true);
        unsetenv("TRAYFLASH_DEBUG");
        CHECK_EQ_INT(rc, 0);
        CHECK(strstr(out, "PASS") != NULL);
        if (mode == 2) {
            CHECK(strstr(out, "wire:") == NULL); /* off by default */
        } else {
            CHECK(strstr(out, "wire: > LinkCheck") != NULL);
            CHECK(strstr(out, "wire: < LinkCheck") != NULL);
            CHECK(strstr(out, "wire: > SetBaudRate") != NULL);
            CHECK(strstr(out, "wire: > Erase long 5 B @0x011000") != NULL);
            /* the write of the sector holding the bytes: its address, length and CRC only */
            const char *w = strstr(out, "wire: > Write4K long 4100 B @0x011000 data 4096 B crc 0x");
            CHECK(w != NULL);
            CHECK(strstr(out, "wire: < Write4K long 5 B @0x011000") != NULL);
            CHECK(!hex_in(out, secret, 16));
            CHECK(!hex_in(out, secret, 8)); /* not even half of them */
        }
        if (mode == 0)
            fprintf(stderr, "trace, first lines:\n%.1500s\n", out);
        free(out);
        bksim_stop(s);
    }
    return CHECK_DONE();
}

static char *tf, *bksim_path; /* the programs under test, from the command line */

static void setup(void)
{
    if (!check_arg(0)) {
        fprintf(stderr, "usage: test_station_cli CASE PATH_TO_TRAYFLASH [PATH_TO_BKSIM]\n");
        exit(2);
    }
    tf = (char *)check_arg(0);
    bksim_path = (char *)check_arg(1);
}

static int case_usage(void)
{
    char *out = NULL;
    const char *a[] = {tf, "flash", "--bogus", NULL};
    CHECK_EQ_INT(run(a, &out), 2);
    free(out);
    const char *b[] = {tf, "flash", "--port", "/nonexistent", "--profile", "/nonexistent.ini", NULL};
    CHECK_EQ_INT(run(b, &out), 2);
    free(out);
    return CHECK_DONE();
}

/* `trayflash flash` on one simulated module: c is "pass", "brownout" or "json". */
static int flash_one(const char *c)
{
    char *out = NULL;
    bksim_server *s = sim_with(!strcmp(c, "brownout") ? "brownout-first-write" : NULL);
    char port[256];
    snprintf(port, sizeof port, "%s", bksim_link_path(s, 0));
    bool json = !strcmp(c, "json");
    const char *a[] = {tf, "flash", "--port", port, "--profile", PROFILE, json ? "--json" : NULL, NULL};
    int rc = run(a, &out);
    fprintf(stderr, "exit %d, output:\n%s", rc, out);
    uint8_t mac[6];
    bksim_get_mac(s, 0, mac);
    char macs[18];
    snprintf(macs, sizeof macs, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
             mac[4], mac[5]);
    if (!strcmp(c, "pass")) {
        CHECK_EQ_INT(rc, 0);
        CHECK(!strncmp(out, "PASS chip BK7231T", 17));
        CHECK(strstr(out, macs) != NULL);
    } else if (!strcmp(c, "brownout")) {
        CHECK_EQ_INT(rc, 1);
        CHECK(!strncmp(out, "FAIL", 4));
        CHECK(strstr(out, "(brownout)") != NULL);
        CHECK(strstr(out, "remedy: ") != NULL);
    } else if (json) {
        CHECK_EQ_INT(rc, 0);
        cJSON *o = cJSON_Parse(out);
        CHECK(o != NULL);
        if (o) {
            cJSON *res = cJSON_GetObjectItem(o, "result");
            cJSON *v = cJSON_GetObjectItem(res, "verdict"), *m = cJSON_GetObjectItem(res, "mac");
            CHECK(cJSON_IsTrue(cJSON_GetObjectItem(o, "ok")));
            CHECK(cJSON_IsNull(cJSON_GetObjectItem(o, "error")));
            CHECK(cJSON_IsString(v) && !strcmp(v->valuestring, "pass"));
            CHECK(cJSON_IsString(m) && !strcmp(m->valuestring, macs));
            CHECK(cJSON_IsNumber(cJSON_GetObjectItem(res, "bytes_written")));
            cJSON_Delete(o);
        }
    }
    free(out);
    bksim_stop(s);
    return CHECK_DONE();
}

static int case_pass(void) { return flash_one("pass"); }
static int case_brownout(void) { return flash_one("brownout"); }
static int case_json(void) { return flash_one("json"); }
static int help(void) { return case_help(tf, bksim_path); }
static int exit_codes(void) { return case_exit_codes(tf); }
static int json_shape(void) { return case_json_shape(tf); }
static int warning(void) { return case_warning(tf); }
static int options(void) { return case_options(tf); }
static int trace(void) { return case_trace(tf); }

int main(int argc, char **argv)
{
    static const check_case cases[] = {
        {"pass", case_pass},     {"brownout", case_brownout},     {"json", case_json},
        {"usage", case_usage},   {"help", help},                  {"exit_codes", exit_codes},
        {"exit_table", case_exit_table}, {"json_shape", json_shape}, {"warning", warning},
        {"options", options},    {"trace", trace},
    };
    return check_run(argc, argv, cases, sizeof cases / sizeof cases[0], setup, NULL);
}
