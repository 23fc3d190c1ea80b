/* cmd_demo.c - `trayflash demo`: simulated modules with a realistic fault mix, the station on
 * them, the dashboard (or headless lines). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli.h"
#include "cli_opts.h"
#include "exit_codes.h"
#include "station.h"


/* Mostly passes; the faults a line really sees, spread over the tray. */
static void demo_faults(bksim_module_config *mods, int n)
{
    static const char *const mix[] = {"brownout-first-write", "wrong-chip",
                                      "bit-errors-above=460800", "yank-after=20"};
    static const int at[] = {1, 4, 6, 7}; /* 0-based bays: 02, 05, 07, 08 */
    for (int i = 0; i < n; i++)
        bksim_module_config_default(&mods[i]);
    for (size_t k = 0; k < sizeof at / sizeof at[0]; k++) {
        if (at[k] >= n)
            continue;
        char err[128];
        bksim_fault_parse(mix[k], &mods[at[k]].faults, err, sizeof err);
    }
}

/* profiles/demo-small.ini next to the binary's source tree, or in the current directory. */
static const char *demo_profile(void)
{
    static const char *const where[] = {"profiles/demo-small.ini", "../profiles/demo-small.ini",
                                        "../../profiles/demo-small.ini",
                                        TRAYFLASH_SOURCE_DIR "/profiles/demo-small.ini",
                                        TRAYFLASH_DATA_DIR "/profiles/demo-small.ini"};
    struct stat sb;
    for (size_t i = 0; i < sizeof where / sizeof where[0]; i++)
        if (stat(where[i], &sb) == 0)
            return where[i];
    return NULL;
}

enum { OPT_BAYS, OPT_HEADLESS, OPT_DB, OPT_ONCE, OPT_TIME_SCALE, OPT_PROFILE, OPT_LOT, OPT_OPERATOR,
       OPT_CENTRAL };
static const cli_opt demo_opts[] = {
    [OPT_BAYS] = {"bays", "N", "simulated modules, 1 to 128"},
    [OPT_HEADLESS] = {"headless", NULL, "one line per event on stdout instead of the dashboard"},
    [OPT_DB] = {"db", "FILE", "the database (default trayflash-demo.db)"},
    [OPT_ONCE] = {"once", NULL, "stop when every bay has finished one attempt"},
    [OPT_TIME_SCALE] = {"time-scale", "X", "simulated chip timing: 1 real, 0.1 ten times faster"},
    [OPT_PROFILE] = {"profile", "FILE", "the profile (default profiles/demo-small.ini, installed or here)"},
    [OPT_LOT] = {"lot", "ID", "the lot (work order or reel) every attempt records"},
    [OPT_OPERATOR] = {"operator", "ID", "the operator every attempt records"},
    [OPT_CENTRAL] = {"central", "URL", "forward the records to this PostgreSQL (no password in it:\n"
                                       "a passfile gives it; docs/factory.md)"},
    {NULL, NULL, NULL},
};

static const cli_command demo_cmd = {
    .name = "demo",
    .synopsis = "demo [--bays N] [--headless] [--db FILE] [--once] [--time-scale X]\n"
                "     [--profile FILE] [--lot ID] [--operator ID] [--central URL]",
    .about = "The station on N simulated modules (default 8) with a realistic mix of faults, on the\n"
             "dashboard (or headless lines). No hardware needed.",
    .opts = demo_opts,
    .footer = "Exit status: 0 the demo ran (its module failures are staged and do not count), 2 usage\n"
              "or profile error, 3 setup error (the database), 130/143 stopped by SIGINT/SIGTERM.\n",
};

/* --bays N (1..SV_MAX_BAYS) and --time-scale X (> 0). */
static bool number_option(station_opts *o, int opt, const char *v, int *bays)
{
    char *end;
    double x = strtod(v, &end);
    bool is_bays = opt == OPT_BAYS;
    if (*end || end == v || !(x > 0) || (is_bays && (x > SV_MAX_BAYS || x != (double)(int)x))) {
        if (is_bays)
            fprintf(stderr, "trayflash demo: --bays '%s': want a whole number from 1 to %d\n", v,
                    SV_MAX_BAYS);
        else
            fprintf(stderr, "trayflash demo: --time-scale '%s': want a number > 0 (1 = real chip "
                    "timing, 0.1 = ten times faster)\n", v);
        return false;
    }
    if (is_bays)
        *bays = (int)x;
    else
        o->sim_time_scale = x;
    return true;
}

static int cmd_demo_with(station_opts *o, int argc, char **argv)
{
    if (cli_help_asked(argc, argv)) {
        cli_print_help(&demo_cmd, stdout);
        return tf_exit_code(TF_OUT_PASS);
    }
    station_config_defaults(&o->cfg);
    snprintf(o->cfg.name, sizeof o->cfg.name, "demo");
    int bays = 8;
    bool headless = false;
    o->db_path = "trayflash-demo.db";
    const char *v;
    char msg[512];
    cli_parser cp;
    cli_parser_init(&cp, &demo_cmd, argc, argv);
    for (int opt; (opt = cli_next(&cp, &v, msg, sizeof msg)) != CLI_END;) {
        if (opt == CLI_ERROR) {
            fprintf(stderr, "trayflash demo: %s\n", msg);
            return tf_exit_code(TF_OUT_USAGE);
        }
        if (opt == OPT_HEADLESS)
            headless = true;
        else if (opt == OPT_ONCE)
            o->once = true;
        else if (opt == OPT_DB)
            o->db_path = v;
        else if (opt == OPT_PROFILE)
            o->profile_path = v;
        else if (opt == OPT_LOT)
            o->lot = v;
        else if (opt == OPT_OPERATOR)
            o->operator_id = v;
        else if (opt == OPT_CENTRAL)
            o->central_url = v;
        else if (!number_option(o, opt, v, &bays))
            return tf_exit_code(TF_OUT_USAGE);
    }
    if (cp.first_operand < argc) {
        fprintf(stderr, "trayflash demo: unexpected argument '%s' (see trayflash demo --help)\n",
                argv[cp.first_operand]);
        return tf_exit_code(TF_OUT_USAGE);
    }
    if (!o->profile_path && !(o->profile_path = demo_profile())) {
        fprintf(stderr, "trayflash demo: profiles/demo-small.ini not found; give --profile FILE\n");
        return tf_exit_code(TF_OUT_USAGE);
    }
    bksim_module_config *mods = calloc((size_t)bays, sizeof *mods);
    if (!mods)
        return tf_exit_code(TF_OUT_SETUP);
    demo_faults(mods, bays);
    o->sim_count = bays;
    o->sim_modules = mods;
    o->sim_seed = 2024;
    /* a noisy line at high baud must be able to step down; a missing module must not hold a
       bay for the profile's full 10 s in a demo */
    o->link_timeout_ms = 3000;
    int rc = cli_run_station(o, headless, "demo");
    free(mods);
    return rc;
}

int cmd_demo(int argc, char **argv)
{
    return cli_with_station_opts(cmd_demo_with, argc, argv);
}
