/* bksim_main.c - the bksim program: parse flags, start the server, print one line per
 * module and "ready", serve until SIGINT/SIGTERM, then remove the links. */
#include "bksim.h"
#include "tf_signals.h"
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CLI_FAULTS 32

static void usage(FILE *to)
{
    fprintf(to,
            "usage: bksim --count N [--chip bk7231t|bk7231n] [--link DIR] [--fault SPEC]...\n"
            "             [--scenario FILE.ini] [--seed S] [--time-scale X]\n"
            "             [--bootloader NAME] [--open-keeps-state] [--running-app [--app-baud B]]\n"
            "--open-keeps-state: a client's open is not a power-cycle (only the first open\n"
            "        powers the module up): a fixture without modem lines nobody power-cycles\n"
            "--running-app: the modules run firmware (opens keep it running); its console at\n"
            "        --app-baud (115200) restarts into the loader on 'reboot' or the\n"
            "        register-write reboot frame 01 E0 FC 05 FE 95 27 95 27\n"
            "bootloaders: bk7231s_1.0.1 bk7231s_1.0.3 bk7231s_1.0.5 (T default) bk7231s_1.0.6\n"
            "        bk7231n_1.0.1 (N default) unknown\n"
            "faults: no-download brownout-first-write brownout-p=P bit-errors-above=BAUD\n"
            "        bit-error-rate=P adapter-max-baud=BAUD protected foreign-traffic slow-flash\n"
            "        removed-after=N yank-after=N wrong-chip\n"
            "        brownout-at=ADDR brownout-at-count=N brownout-read-after=N\n");
}

static bool parse_num(const char *flag, const char *v, double lo, double hi, bool integer, double *out)
{
    char *end = NULL;
    errno = 0;
    double d = v ? strtod(v, &end) : NAN;
    if (!v || errno || *end || !isfinite(d) || d < lo || d > hi || (integer && d != floor(d))) {
        fprintf(stderr, "bksim: %s: bad value '%s' (want %s in %g..%g)\n", flag, v ? v : "",
                integer ? "an integer" : "a number", lo, hi);
        return false;
    }
    *out = d;
    return true;
}

int main(int argc, char **argv)
{
    int count = -1;
    const char *link_dir = NULL, *scenario = NULL, *faults[MAX_CLI_FAULTS];
    int n_faults = 0;
    bk_chip chip = BK_CHIP_BK7231T;
    uint64_t seed = 1;
    double scale = 1.0, d;
    bool open_keeps_state = false, running_app = false;
    uint32_t app_baud = 0;
    bksim_boot boot = BKSIM_BOOT_DEFAULT;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(a, "--open-keeps-state") == 0) {
            open_keeps_state = true;
            continue;
        }
        if (strcmp(a, "--running-app") == 0) {
            running_app = true;
            continue;
        }
        bool takes = strcmp(a, "--count") == 0 || strcmp(a, "--chip") == 0 || strcmp(a, "--link") == 0 ||
                     strcmp(a, "--fault") == 0 || strcmp(a, "--scenario") == 0 || strcmp(a, "--seed") == 0 ||
                     strcmp(a, "--time-scale") == 0 || strcmp(a, "--bootloader") == 0 ||
                     strcmp(a, "--app-baud") == 0;
        if (!takes) {
            fprintf(stderr, "bksim: unknown flag '%s'\n", a);
            usage(stderr);
            return 2;
        }
        if (!v) {
            fprintf(stderr, "bksim: %s needs a value\n", a);
            return 2;
        }
        i++;
        if (strcmp(a, "--count") == 0) {
            if (!parse_num(a, v, 1, 4096, true, &d))
                return 2;
            count = (int)d;
        } else if (strcmp(a, "--chip") == 0) {
            const bk_family *f = bk_family_by_id(v);
            if (!f) {
                fprintf(stderr, "bksim: --chip: unknown chip '%s' (want bk7231t or bk7231n)\n", v);
                return 2;
            }
            chip = f->chip;
        } else if (strcmp(a, "--link") == 0) {
            link_dir = v;
        } else if (strcmp(a, "--fault") == 0) {
            if (n_faults == MAX_CLI_FAULTS) {
                fprintf(stderr, "bksim: --fault: at most %d\n", MAX_CLI_FAULTS);
                return 2;
            }
            faults[n_faults++] = v;
        } else if (strcmp(a, "--scenario") == 0) {
            scenario = v;
        } else if (strcmp(a, "--seed") == 0) {
            char *end = NULL;
            errno = 0;
            unsigned long long s = strtoull(v, &end, 0);
            if (errno || *end || !*v) {
                fprintf(stderr, "bksim: --seed: bad value '%s' (want an unsigned integer)\n", v);
                return 2;
            }
            seed = s;
        } else if (strcmp(a, "--bootloader") == 0) {
            if (!bksim_boot_parse(v, &boot)) {
                fprintf(stderr, "bksim: --bootloader: unknown bootloader '%s' (see --help)\n", v);
                return 2;
            }
        } else if (strcmp(a, "--time-scale") == 0) {
            if (!parse_num(a, v, 0, 1000, false, &scale))
                return 2;
        } else if (strcmp(a, "--app-baud") == 0) {
            if (!parse_num(a, v, 300, 12000000, true, &d))
                return 2;
            app_baud = (uint32_t)d;
        }
    }
    if (count < 0) {
        fprintf(stderr, "bksim: --count N is required\n");
        usage(stderr);
        return 2;
    }

    bksim_module_config *mods = calloc((size_t)count, sizeof *mods);
    if (!mods) {
        fprintf(stderr, "bksim: out of memory\n");
        return 1;
    }
    char err[256];
    for (int i = 0; i < count; i++) {
        bksim_module_config_default(&mods[i]);
        mods[i].chip = chip;
        mods[i].boot = boot;
        mods[i].open_keeps_state = open_keeps_state;
        mods[i].running_app = running_app;
        mods[i].app_baud = app_baud;
        for (int k = 0; k < n_faults; k++)
            if (!bksim_fault_parse(faults[k], &mods[i].faults, err, sizeof err)) {
                fprintf(stderr, "bksim: --fault %s: %s\n", faults[k], err);
                free(mods);
                return 2;
            }
    }
    if (scenario && !bksim_scenario_load(scenario, count, mods, err, sizeof err)) {
        fprintf(stderr, "bksim: --scenario: %s\n", err);
        free(mods);
        return 2;
    }

    /* SIGINT/SIGTERM go to the server's signalfd: blocked in every thread first */
    tf_signals_to_fd();

    bksim_config cfg = {.count = count, .link_dir = link_dir, .seed = seed, .time_scale = scale,
                        .modules = mods, .stop_on_signals = true};
    bksim_server *s = bksim_start(&cfg, err, sizeof err);
    if (!s) {
        fprintf(stderr, "bksim: %s\n", err);
        free(mods);
        return 1;
    }
    for (int i = 0; i < count; i++) {
        uint8_t mac[6];
        char fl[256], mac_s[18];
        bksim_get_mac(s, i, mac);
        bk_mac_format(mac, mac_s, sizeof mac_s);
        bksim_fault_format(&mods[i].faults, fl, sizeof fl);
        printf("%s %s %s %s faults=%s\n", bksim_link_path(s, i), bksim_pty_path(s, i),
               bk_chip_name(mods[i].chip), mac_s, fl);
    }
    printf("ready\n");
    fflush(stdout);
    int sig = bksim_wait(s);
    bksim_stop(s);
    free(mods);
    fprintf(stderr, "bksim: stopped (%s)\n", sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "loop ended");
    return 0;
}
