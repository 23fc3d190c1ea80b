/* cmd_station.c - `trayflash station`: run the tray until SIGINT/SIGTERM (or --once). */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "tf_signals.h"
#include "cli_opts.h"
#include "exit_codes.h"
#include "station.h"
#ifdef TRAYFLASH_HAVE_UI
#include "ui.h"
#include "station_log.h"
#include "transport.h"
#endif

/* Shared with cmd_demo.c through cli_run_station(). */

enum {
    OPT_PROFILE, OPT_CONFIG, OPT_DB, OPT_HEADLESS, OPT_SYSLOG, OPT_SIM, OPT_SIM_SCENARIO,
    OPT_TIME_SCALE, OPT_ONCE, OPT_LINK_TIMEOUT_MS, OPT_LOT, OPT_OPERATOR, OPT_CENTRAL
};
static const cli_opt station_opts_table[] = {
    [OPT_PROFILE] = {"profile", "FILE", "the default profile (the station file's [station] profile)"},
    [OPT_CONFIG] = {"config", "FILE", "the station file: bays, adapters, database, engineer PIN"},
    [OPT_DB] = {"db", "FILE", "the database (default: the station file's db, else trayflash.db)"},
    [OPT_HEADLESS] = {"headless", NULL, "one line per event on stdout instead of the dashboard"},
    [OPT_SYSLOG] = {"syslog", NULL, "the headless lines go to syslog (journald) too"},
    [OPT_SIM] = {"sim", "N", "N simulated modules in-process instead of udev adapters"},
    [OPT_SIM_SCENARIO] = {"sim-scenario", "FILE", "faults per simulated module (sim/README.md)"},
    [OPT_TIME_SCALE] = {"time-scale", "X", "simulated chip timing: 1 real, 0.1 ten times faster"},
    [OPT_ONCE] = {"once", NULL, "stop when every bay with an adapter has finished one attempt"},
    [OPT_LINK_TIMEOUT_MS] = {"link-timeout-ms", "MS",
                             "how long to wait for a module's bootloader (default: the profile's)"},
    [OPT_LOT] = {"lot", "ID", "the lot (work order or reel) attempts record; while the station\n"
                              "runs: the dashboard's L key or trayflash ctl --lot"},
    [OPT_OPERATOR] = {"operator", "ID", "the operator attempts record (also: L, trayflash ctl)"},
    [OPT_CENTRAL] = {"central", "URL", "forward the records to this PostgreSQL (default: the station\n"
                                       "file's central, else libpq's environment); no password in\n"
                                       "it: a passfile gives it (docs/factory.md)"},
    {NULL, NULL, NULL},
};

static const cli_command station_cmd = {
    .name = "station",
    .synopsis = "station --profile FILE [--config FILE] [--db FILE] [--headless] [--syslog]\n"
                "        [--sim N [--sim-scenario FILE] [--time-scale X]] [--once]\n"
                "        [--link-timeout-ms MS] [--lot ID] [--operator ID] [--central URL]",
    .about =
        "Run the tray: hot-plugged USB-serial adapters become bays and are flashed in parallel;\n"
        "every attempt goes to the database. On a terminal the dashboard shows the tray (? for its\n"
        "keys); leaving it prints a one-line summary and the report command for the database.",
    .opts = station_opts_table,
    .footer =
        "Exit status: 0 a clean stop (with --once: every module passed), 1 with --once a module\n"
        "failed, 2 usage, profile or station file error, 3 setup error (database, udev, a port that\n"
        "cannot be opened), 4 with --once nothing was flashed, 130/143 stopped by SIGINT/SIGTERM.\n",
};

/* The run's outcome from the exit_codes.h table. The demo's module failures are staged, so
 * they do not make it fail; a port it cannot open still is the bench. */
static tf_outcome run_outcome(station *st, const station_opts *o, int wait_rc, bool staged)
{
    tf_outcome out = TF_OUT_PASS;
    if (wait_rc < 0)
        out = tf_outcome_worse(out, TF_OUT_SETUP); /* records the database refused */
    if (o->once) {
        int pass, fail, by_cause[BK_CAUSE_COUNT];
        station_counts(st, &pass, &fail);
        station_fail_causes(st, by_cause);
        if (pass + fail == 0)
            out = tf_outcome_worse(out, TF_OUT_NOTHING_DONE);
        for (int c = 0; c < BK_CAUSE_COUNT; c++) {
            tf_outcome oc = tf_outcome_of_cause((bk_cause)c);
            if (by_cause[c] > 0 && !(staged && oc == TF_OUT_MODULE_FAILED))
                out = tf_outcome_worse(out, oc);
        }
    }
    return tf_outcome_worse(out, tf_outcome_of_signal(station_stop_signal(st)));
}

/* One line on leaving: the modules (a re-plugged module counts once) and where the records are,
 * as the command that reads them. */
static void print_summary(station *st, const char *label)
{
    station_view *v = calloc(1, sizeof *v);
    if (!v)
        return;
    station_snapshot(st, v);
    const char *db = station_db_path(st);
    char *abs = realpath(db, NULL);
    printf("%s: %d modules, %d pass, %d fail; records: trayflash report --db %s\n", label,
           v->pass + v->fail, v->pass, v->fail, abs ? abs : db);
    free(abs);
    free(v);
}

int cli_run_station(station_opts *o, bool headless, const char *label)
{
    bool use_ui = false;
#ifdef TRAYFLASH_HAVE_UI
    use_ui = !headless && isatty(STDOUT_FILENO) && isatty(STDIN_FILENO);
#endif
    if (!use_ui)
        o->headless_out = stdout;
    if (!use_ui && st_debug_wanted("wire")) /* stderr is no dashboard's: libserialport may speak */
        bk_transport_set_debug(st_serialport_debug_to_stderr);
    /* Signals go to the station loop's signalfd: blocked in every thread it starts. A closed
     * pipe on stdout (`| head`) must not kill the station mid-flash: the headless printer sees
     * EPIPE and stops printing; the jobs and the database go on. */
    tf_signals_to_fd();
    o->watch_signals = true;
    char err[512];
    station_failure why;
    station *st = station_start_why(o, &why, err, sizeof err);
    if (!st) {
        fprintf(stderr, "trayflash %s: %s\n", label, err);
        return tf_exit_code(why == STATION_FAIL_CONFIG ? TF_OUT_USAGE : TF_OUT_SETUP);
    }
#ifdef TRAYFLASH_HAVE_UI
    if (use_ui) {
        station_actions a = station_get_actions(st);
        int rc = ui_run(&a);
        if (rc < 0)
            fprintf(stderr, "trayflash: dashboard: %s\n", strerror(-rc));
        station_request_stop(st);
    }
#endif
    int rc = station_wait(st);
    int unsaved = 0;
    if (rc < 0) {
        fprintf(stderr, "trayflash %s: %s\n", label, station_error(st));
        unsaved = station_write_unsaved(st, stderr); /* the rows, so they can be written down */
    } else if (station_error(st)[0]) {
        fprintf(stderr, "trayflash %s: %s\n", label, station_error(st)); /* a note, e.g. the WAL kept */
    }
    tf_outcome out = run_outcome(st, o, rc, !strcmp(label, "demo"));
    if (unsaved)
        out = tf_outcome_worse(out, TF_OUT_SETUP); /* records the database never took */
    print_summary(st, label);
    station_free(st);
    return tf_exit_code(out);
}

/* --sim N, --link-timeout-ms MS (whole numbers) and --time-scale X (> 0). */
static bool number_option(station_opts *o, int opt, const char *v)
{
    const char *a = opt == OPT_SIM ? "--sim" : opt == OPT_TIME_SCALE ? "--time-scale"
                                                                      : "--link-timeout-ms";
    char *end;
    double x = strtod(v, &end);
    bool integral = opt != OPT_TIME_SCALE;
    /* a time scale of 0 used to fall back to real time without a word */
    if (*end || end == v || !(x >= 0) || (integral && (x != (double)(long)x || x > 1e7)) ||
        (!integral && !(x > 0 && isfinite(x)))) {
        fprintf(stderr, "trayflash station: %s '%s' is not a %s\n", a, v,
                integral ? "whole number from 0 to 10000000"
                         : "number > 0 (1 = real chip timing, 0.1 = ten times faster)");
        return false;
    }
    if (opt == OPT_SIM)
        o->sim_count = (int)x;
    else if (opt == OPT_TIME_SCALE)
        o->sim_time_scale = x;
    else
        o->link_timeout_ms = (int)x;
    return true;
}

static int cmd_station_with(station_opts *o, int argc, char **argv)
{
    if (cli_help_asked(argc, argv)) {
        cli_print_help(&station_cmd, stdout);
        return tf_exit_code(TF_OUT_PASS);
    }
    station_config_defaults(&o->cfg);
    const char *config = NULL, *scenario = NULL, *v;
    bool headless = false;
    char msg[512];
    cli_parser cp;
    cli_parser_init(&cp, &station_cmd, argc, argv);
    for (int opt; (opt = cli_next(&cp, &v, msg, sizeof msg)) != CLI_END;) {
        switch (opt) {
        case CLI_ERROR:
            fprintf(stderr, "trayflash station: %s\n", msg);
            return tf_exit_code(TF_OUT_USAGE);
        case OPT_HEADLESS:
            headless = true;
            break;
        case OPT_SYSLOG:
            o->use_syslog = true;
            break;
        case OPT_ONCE:
            o->once = true;
            break;
        case OPT_PROFILE:
            o->profile_path = v;
            break;
        case OPT_CONFIG:
            config = v;
            break;
        case OPT_DB:
            o->db_path = v;
            break;
        case OPT_SIM_SCENARIO:
            scenario = v;
            break;
        case OPT_LOT:
            o->lot = v;
            break;
        case OPT_OPERATOR:
            o->operator_id = v;
            break;
        case OPT_CENTRAL:
            o->central_url = v;
            break;
        default: /* --sim, --time-scale, --link-timeout-ms: numbers */
            if (!number_option(o, opt, v))
                return tf_exit_code(TF_OUT_USAGE);
        }
    }
    if (cp.first_operand < argc) {
        fprintf(stderr, "trayflash station: unexpected argument '%s' (see trayflash station "
                "--help)\n", argv[cp.first_operand]);
        return tf_exit_code(TF_OUT_USAGE);
    }
    char err[512];
    if (config && station_config_load(config, &o->cfg, err, sizeof err) < 0) {
        fprintf(stderr, "trayflash station: %s\n", err);
        return tf_exit_code(TF_OUT_USAGE);
    }
    if (o->sim_count > SV_MAX_BAYS) {
        fprintf(stderr, "trayflash station: --sim %d: at most %d bays\n", o->sim_count, SV_MAX_BAYS);
        return tf_exit_code(TF_OUT_USAGE);
    }
    bksim_module_config *mods = NULL;
    if (scenario) {
        if (o->sim_count <= 0) {
            fprintf(stderr, "trayflash station: --sim-scenario needs --sim N\n");
            return tf_exit_code(TF_OUT_USAGE);
        }
        mods = calloc((size_t)o->sim_count, sizeof *mods);
        if (!mods)
            return tf_exit_code(TF_OUT_SETUP);
        for (int i = 0; i < o->sim_count; i++)
            bksim_module_config_default(&mods[i]);
        if (!bksim_scenario_load(scenario, o->sim_count, mods, err, sizeof err)) {
            fprintf(stderr, "trayflash station: %s\n", err);
            free(mods);
            return tf_exit_code(TF_OUT_USAGE);
        }
        o->sim_modules = mods;
    }
    int rc = cli_run_station(o, headless, "station");
    free(mods);
    return rc;
}
int cli_with_station_opts(int (*fn)(station_opts *o, int argc, char **argv), int argc, char **argv)
{
    station_opts *o = calloc(1, sizeof *o);
    if (!o) {
        fprintf(stderr, "trayflash: out of memory\n");
        return tf_exit_code(TF_OUT_SETUP);
    }
    int rc = fn(o, argc, argv);
    free(o);
    return rc;
}

int cmd_station(int argc, char **argv)
{
    return cli_with_station_opts(cmd_station_with, argc, argv);
}
