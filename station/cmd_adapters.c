/* cmd_adapters.c - `trayflash adapters`: the USB-serial adapters connected now, as the station
 * would see them (the udev device source), with the bay each becomes, its model in the adapter
 * table, its serial number, driver and the rates it truly produces. Exit 0 listed (none is a
 * list too), 2 usage or a station file refused, 3 udev cannot be read. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "adapter_table.h"
#include "cli.h"
#include "cli_opts.h"
#include "devsrc.h"
#include "exit_codes.h"
#include "station_config.h"

#define ADAPTERS_MAX 128

enum { OPT_CONFIG, OPT_VERBOSE };

static const cli_opt adapters_opts[] = {
    [OPT_CONFIG] = {"config", "FILE", "the station file whose bay map names the bays"},
    [OPT_VERBOSE] = {"verbose", NULL, "also vid:pid, the USB product string, bcdDevice and\n"
                                      "where the model's rates come from"},
    {NULL, NULL, NULL},
};

static const cli_command adapters_cmd = {
    .name = "adapters",
    .synopsis = "adapters [--config FILE] [-v]",
    .about = "List the USB-serial adapters connected now, one line each: the bay it becomes\n"
             "(from the station file's bay map; '-' for a port the map does not name: the\n"
             "station gives it the next free bay), its port, its model in the adapter table,\n"
             "serial number, kernel driver and the usual rates it truly produces (within 2 %,\n"
             "never one the driver would silently replace). The station runs each bay at the\n"
             "highest of these the profile allows.",
    .opts = adapters_opts,
    .footer = "Exit status: 0 listed (also when none is connected), 2 usage error or a station\n"
              "file refused, 3 udev cannot be read.\n",
    .letters = {{'v', OPT_VERBOSE}},
};

static void rates_text(const adapter_model *m, char *out, size_t len)
{
    if (!m->max_baud) {
        snprintf(out, len, "as asked (not checked: %s)", m->model);
        return;
    }
    uint32_t r[16];
    int n = adapter_usable_rates(m, r, 16);
    size_t used = 0;
    out[0] = 0;
    for (int i = 0; i < n && used < len; i++) {
        int w = snprintf(out + used, len - used, "%s%u", i ? "," : "", r[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

static int by_port_path(const void *a, const void *b)
{
    const devsrc_event *x = a, *y = b;
    return strcmp(x->id_path, y->id_path);
}

static void print_one(const station_config *cfg, const devsrc_event *d, bool verbose)
{
    adapter_ident id = {.vid = d->vid, .pid = d->pid, .driver = d->driver, .product = d->product,
                        .bcd_device = d->bcd_device};
    const adapter_model *m = adapter_lookup(&id);
    const sc_bay *cb = station_config_bay_by_path(cfg, d->id_path);
    char bay[8], rates[200];
    if (cb)
        snprintf(bay, sizeof bay, "%02d", cb->bay);
    else
        snprintf(bay, sizeof bay, "-");
    rates_text(m, rates, sizeof rates);
    printf("%-4s %-14s %-22s %-16s %-9s %s\n", bay, d->devnode, m->model,
           d->serial[0] ? d->serial : "(none)", d->driver[0] ? d->driver : "?", rates);
    if (verbose)
        printf("     %04x:%04x \"%s\" bcdDevice %04x, port %s\n     rates from: %s\n", d->vid,
               d->pid, d->product, d->bcd_device, d->id_path, m->source);
}

static int list_adapters(const station_config *cfg, bool verbose)
{
    char err[300];
    devsrc *src = devsrc_udev_open(err, sizeof err);
    if (!src) {
        fprintf(stderr, "trayflash adapters: %s\n", err);
        return tf_exit_code(TF_OUT_SETUP);
    }
    devsrc_event *evs = calloc(ADAPTERS_MAX, sizeof *evs);
    int n = evs ? src->ops->enumerate(src, evs, ADAPTERS_MAX, err, sizeof err) : -1;
    src->ops->close(src);
    if (n < 0) {
        fprintf(stderr, "trayflash adapters: %s\n", evs ? err : "out of memory");
        free(evs);
        return tf_exit_code(TF_OUT_SETUP);
    }
    qsort(evs, (size_t)n, sizeof *evs, by_port_path);
    printf("%-4s %-14s %-22s %-16s %-9s %s\n", "BAY", "PORT", "MODEL", "SERIAL", "DRIVER",
           "USABLE RATES");
    for (int i = 0; i < n; i++)
        print_one(cfg, &evs[i], verbose);
    if (n == 0)
        printf("(no USB-serial adapter connected)\n");
    free(evs);
    return tf_exit_code(TF_OUT_PASS);
}

int cmd_adapters(int argc, char **argv)
{
    if (cli_help_asked(argc, argv)) {
        cli_print_help(&adapters_cmd, stdout);
        return tf_exit_code(TF_OUT_PASS);
    }
    const char *config = NULL, *v;
    bool verbose = false;
    char msg[600];
    cli_parser cp;
    cli_parser_init(&cp, &adapters_cmd, argc, argv);
    for (int opt; (opt = cli_next(&cp, &v, msg, sizeof msg)) != CLI_END;) {
        if (opt == CLI_ERROR) {
            fprintf(stderr, "trayflash adapters: %s\n", msg);
            return tf_exit_code(TF_OUT_USAGE);
        }
        if (opt == OPT_CONFIG)
            config = v;
        else
            verbose = true;
    }
    if (cp.first_operand < argc) {
        fprintf(stderr, "trayflash adapters: unexpected '%s' (see trayflash adapters --help)\n",
                argv[cp.first_operand]);
        return tf_exit_code(TF_OUT_USAGE);
    }
    station_config *cfg = calloc(1, sizeof *cfg); /* large: a whole bay map */
    if (!cfg) {
        fprintf(stderr, "trayflash adapters: out of memory\n");
        return tf_exit_code(TF_OUT_SETUP);
    }
    station_config_defaults(cfg);
    int rc;
    if (config && station_config_load(config, cfg, msg, sizeof msg) < 0) {
        fprintf(stderr, "trayflash adapters: %s\n", msg);
        rc = tf_exit_code(TF_OUT_USAGE);
    } else {
        rc = list_adapters(cfg, verbose);
    }
    free(cfg);
    return rc;
}
