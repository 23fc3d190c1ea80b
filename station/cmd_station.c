/* cmd_station.c - `trayflash station`: run the tray until SIGINT/SIGTERM (or --once). */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "station.h"
#ifdef TRAYFLASH_HAVE_UI
#include "ui.h"
#endif

/* Shared with cmd_demo.c through cli_run_station(). */
int cli_run_station(station_opts *o, bool headless, const char *label);

int cli_run_station(station_opts *o, bool headless, const char *label)
{
    bool use_ui = false;
#ifdef TRAYFLASH_HAVE_UI
    use_ui = !headless && isatty(STDOUT_FILENO) && isatty(STDIN_FILENO);
#endif
    if (!use_ui)
        o->headless_out = stdout;
    /* Signals go to the station loop's signalfd: block them in every thread it starts. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    /* A closed pipe on stdout (`| head`) must not kill the station mid-flash: the headless
     * printer sees EPIPE and stops printing; the jobs and the database go on. */
    signal(SIGPIPE, SIG_IGN);
    o->watch_signals = true;
    char err[512];
    station_fail why;
    station *st = station_start_why(o, &why, err, sizeof err);
    if (!st) {
        fprintf(stderr, "trayflash station: %s\n", err);
        return (int)why; /* 2 profile/config, 3 database/devices */
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
    int pass, fail, unsaved = 0;
    station_counts(st, &pass, &fail);
    if (rc < 0) {
        fprintf(stderr, "trayflash station: %s\n", station_error(st));
        unsaved = station_write_unsaved(st, stderr); /* the rows, so they can be written down */
    } else if (station_error(st)[0]) {
        fprintf(stderr, "trayflash station: %s\n", station_error(st)); /* a note, e.g. the WAL kept */
    }
    station_free(st);
    if (o->once)
        printf("%s: %d modules, %d pass, %d fail\n", label, pass + fail, pass, fail);
    /* records the database never took: a setup error (3), whatever the modules did */
    if (unsaved)
        return 3;
    /* the demo fails modules on purpose: only a station run reports them in its exit code */
    return rc < 0 ? 1 : (o->once && fail && strcmp(label, "demo") ? 1 : 0);
}

static int cmd_station_with(station_opts *o, int argc, char **argv)
{
    station_config_defaults(&o->cfg);
    const char *config = NULL, *scenario = NULL;
    bool headless = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_val = i + 1 < argc;
        if (!strcmp(a, "--headless")) {
            headless = true;
        } else if (!strcmp(a, "--syslog")) {
            o->use_syslog = true;
        } else if (!strcmp(a, "--once")) {
            o->once = true;
        } else if (!strcmp(a, "--profile") || !strcmp(a, "--config") || !strcmp(a, "--db") ||
                   !strcmp(a, "--sim") || !strcmp(a, "--sim-scenario") ||
                   !strcmp(a, "--time-scale") || !strcmp(a, "--link-timeout-ms")) {
            if (!has_val)
                return cli_missing_value("station", a);
            const char *v = argv[++i];
            if (!strcmp(a, "--profile"))
                o->profile_path = v;
            else if (!strcmp(a, "--config"))
                config = v;
            else if (!strcmp(a, "--db"))
                o->db_path = v;
            else if (!strcmp(a, "--sim-scenario"))
                scenario = v;
            else {
                char *end;
                double x = strtod(v, &end);
                bool integral = strcmp(a, "--time-scale") != 0;
                if (*end || end == v || !(x >= 0) || (integral && (x != (double)(long)x || x > 1e7))) {
                    fprintf(stderr, "trayflash station: %s '%s' is not a %s\n", a, v,
                            integral ? "whole number from 0 to 10000000" : "number >= 0");
                    return 2;
                }
                if (!strcmp(a, "--sim"))
                    o->sim_count = (int)x;
                else if (!strcmp(a, "--time-scale"))
                    o->sim_time_scale = x;
                else
                    o->link_timeout_ms = (int)x;
            }
        } else {
            return cli_bad_option("station", a);
        }
    }
    char err[512];
    if (config && station_config_load(config, &o->cfg, err, sizeof err) < 0) {
        fprintf(stderr, "trayflash station: %s\n", err);
        return 2;
    }
    if (o->sim_count > SV_MAX_BAYS) {
        fprintf(stderr, "trayflash station: --sim %d: at most %d bays\n", o->sim_count, SV_MAX_BAYS);
        return 2;
    }
    bksim_module_config *mods = NULL;
    if (scenario) {
        if (o->sim_count <= 0) {
            fprintf(stderr, "trayflash station: --sim-scenario needs --sim N\n");
            return 2;
        }
        mods = calloc((size_t)o->sim_count, sizeof *mods);
        if (!mods)
            return 2;
        for (int i = 0; i < o->sim_count; i++)
            bksim_module_config_default(&mods[i]);
        if (!bksim_scenario_load(scenario, o->sim_count, mods, err, sizeof err)) {
            fprintf(stderr, "trayflash station: %s\n", err);
            free(mods);
            return 2;
        }
        o->sim_modules = mods;
    }
    int rc = cli_run_station(o, headless, "station");
    free(mods);
    return rc;
}
/* The options are large (a whole station config): on the heap, owned by this call. */
int cmd_station(int argc, char **argv)
{
    station_opts *o = calloc(1, sizeof *o);
    if (!o) {
        fprintf(stderr, "trayflash: out of memory\n");
        return 2;
    }
    int rc = cmd_station_with(o, argc, argv);
    free(o);
    return rc;
}
