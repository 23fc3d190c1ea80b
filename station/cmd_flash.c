/* cmd_flash.c - `trayflash flash`: one module through one port, no station. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "backup_keeper.h"
#include "bk_job.h"
#include "cli.h"
#include "cli_record.h"
#include "cli_opts.h"
#include "cli_json.h"
#include "exit_codes.h"
#include "profile.h"
#include "station_log.h"
#include "transport.h"

typedef struct flash_ui {
    bool tty;
    bk_phase phase;
} flash_ui;

static void on_event(void *ctx, const bk_event *ev)
{
    flash_ui *u = ctx;
    if (ev->kind == BK_EV_POWER_CYCLE_NEEDED && ev->text)
        fprintf(stderr, "%s%s\n", u->tty ? "\r\033[K" : "", ev->text);
    if (!u->tty || ev->kind != BK_EV_PROGRESS)
        return;
    int pct = ev->bytes_total ? (int)(100 * ev->bytes_done / ev->bytes_total) : 0;
    char bar[31];
    int fill = pct * 30 / 100;
    for (int i = 0; i < 30; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[30] = 0;
    fprintf(stderr, "\r%-8s [%s] %3d%% 0x%06X %7.0f B/s", bk_phase_name(ev->phase), bar, pct,
            ev->address, ev->rate_bps);
}

static void mac_str(const bk_result *r, char out[18])
{
    if (r->have_mac)
        bk_mac_format(r->mac, out, 18);
    else
        snprintf(out, 18, "-");
}

/* -v: each frame on stderr as it goes or comes (a write's data by length, address and CRC) */
static void on_frame(void *ctx, const bk_trace_frame *f)
{
    (void)ctx;
    char line[300];
    bk_trace_format(f, line, sizeof line);
    fprintf(stderr, "trayflash: wire: %s\n", line);
}

enum { OPT_PORT, OPT_PROFILE, OPT_DB, OPT_JSON, OPT_VERBOSE };
static const cli_opt flash_opts[] = {
    [OPT_PORT] = {"port", "PATH",
                  "the serial port (/dev/ttyUSB0, /dev/trayflash/<ID_PATH>, a bksim link)"},
    [OPT_PROFILE] = {"profile", "FILE", "the product's flash profile (trayflash profile check FILE)"},
    [OPT_DB] = {"db", "FILE",
                "record the attempt in this station database, as a station does, and keep\n"
                "the profile's backup (backup = device|full) in its store FILE.blocks/"},
    [OPT_JSON] = {"json", NULL,
                  "one JSON object on stdout, the same keys for every outcome:\n"
                  "{\"ok\", \"exit_code\", \"outcome\", \"result\" (the attempt, or null when\n"
                  "none was made), \"error\" (null, or {\"kind\", \"message\"} for a usage,\n"
                  "profile or setup error)}"},
    [OPT_VERBOSE] = {"verbose", NULL,
                     "trace every frame out and in on stderr (as TRAYFLASH_DEBUG=wire): the\n"
                     "command, length, address; a write's data only by its length and CRC"},
    {NULL, NULL, NULL},
};

static const cli_command flash_cmd = {
    .name = "flash",
    .synopsis = "flash --port PATH --profile FILE [--db FILE] [--json] [-v]",
    .about = "Flash one module through one serial port and verify it by CRC.",
    .opts = flash_opts,
    .footer =
        "Exit status: 0 verified pass, 1 the module failed (the cause and its remedy are printed),\n"
        "2 usage or profile error, 3 setup error (the port does not exist or cannot be opened,\n"
        "the database or the backup store failed).\n"
        "A pass that needed help (a lower baud, retried writes) prints a warning with its remedy.\n",
    .letters = {{'v', OPT_VERBOSE}},
};

static void print_line(const bk_result *r)
{
    char mac[18], fid[8] = "-";
    mac_str(r, mac);
    if (r->have_flash_id)
        snprintf(fid, sizeof fid, "%02x%02x%02x", r->flash_id[0], r->flash_id[1], r->flash_id[2]);
    printf("%s chip %s flash %s mac %s bytes %llu seconds %.1f retries %u baud %u\n",
           r->passed ? "PASS" : "FAIL", bk_chip_name(r->chip), fid, mac,
           (unsigned long long)r->bytes_written, r->seconds, r->retries, r->baud_end);
    const bk_backup_stats *b = &r->backup;
    if (b->mode != BK_BACKUP_NONE && (b->already_kept || b->ranges))
        printf("backup %s: %s%u ranges, %u blank, %u already kept, %u read (%llu bytes) in %.1f s\n",
               bk_backup_mode_name(b->mode), b->already_kept ? "kept already; " : "", b->ranges,
               b->blank, b->known, b->read, (unsigned long long)b->bytes_read, b->seconds);
    if (!r->passed)
        printf("cause %s (%s): %s\nremedy: %s\n", bk_cause_name(r->cause), bk_cause_id(r->cause),
               r->detail, bk_cause_remedy(r->cause));
    else if (r->warning != BK_CAUSE_NONE) /* verified, but it needed help: say what and why */
        printf("warning %s (%s): %s\nremedy if it repeats: %s\n", bk_cause_name(r->warning),
               bk_cause_id(r->warning), bk_cause_explain(r->warning),
               bk_cause_remedy(r->warning));
}

/* A refusal before any attempt: words on stderr, and with --json the same words on stdout. */
static int refuse(bool json, tf_outcome out, const char *kind, const char *message)
{
    fprintf(stderr, "trayflash flash: %s\n", message);
    if (json)
        cli_json_print(out, NULL, kind, message);
    return tf_exit_code(out);
}

int cmd_flash(int argc, char **argv)
{
    if (cli_help_asked(argc, argv)) {
        cli_print_help(&flash_cmd, stdout);
        return tf_exit_code(TF_OUT_PASS);
    }
    const char *port = NULL, *profile = NULL, *dbpath = NULL, *v;
    bool json = cli_json_asked(&flash_cmd, OPT_JSON, argc, argv),
         verbose = st_debug_wanted("wire");
    char msg[600];
    cli_parser cp;
    cli_parser_init(&cp, &flash_cmd, argc, argv);
    for (int o; (o = cli_next(&cp, &v, msg, sizeof msg)) != CLI_END;) {
        if (o == CLI_ERROR)
            return refuse(json, TF_OUT_USAGE, "usage", msg);
        if (o == OPT_PORT)
            port = v;
        else if (o == OPT_PROFILE)
            profile = v;
        else if (o == OPT_DB)
            dbpath = v;
        else if (o == OPT_VERBOSE)
            verbose = true;
    }
    if (cp.first_operand < argc) {
        snprintf(msg, sizeof msg, "unexpected argument '%s' (see trayflash flash --help)",
                 argv[cp.first_operand]);
        return refuse(json, TF_OUT_USAGE, "usage", msg);
    }
    if (!port || !profile)
        return refuse(json, TF_OUT_USAGE, "usage",
                      "--port PATH and --profile FILE are required (see trayflash flash --help)");
    tf_profile p;
    char err[512];
    if (tf_profile_load(profile, &p, err, sizeof err) < 0)
        return refuse(json, TF_OUT_USAGE, "profile", err);
    if (p.personal.enabled) { /* never a module passed without its per-device sector */
        snprintf(err, sizeof err, "%s:%d: [personalize]: a personalised product is flashed by "
                 "`trayflash station` (its ledger and secrets); flash cannot personalise", p.path,
                 p.personal.line);
        tf_profile_free(&p);
        return refuse(json, TF_OUT_USAGE, "profile", err);
    }
    bk_job_spec spec;
    tf_profile_to_spec(&p, &spec);
    if (spec.backup != BK_BACKUP_NONE && !dbpath) {
        snprintf(msg, sizeof msg, "%s asks for backup = %s: give --db FILE (the station "
                 "database whose store keeps it)", profile, bk_backup_mode_name(spec.backup));
        tf_profile_free(&p);
        return refuse(json, TF_OUT_USAGE, "usage", msg);
    }
    cli_record rec = {0};
    backup_keeper *keeper = NULL;
    backup_job bj;
    bk_backup_ops ops;
    if (dbpath && (cli_record_begin(&rec, dbpath, &p, port, "flash", err, sizeof err) < 0 ||
                   backup_keeper_open(dbpath, rec.station_id, &keeper, err, sizeof err) < 0)) {
        cli_record_close(&rec);
        tf_profile_free(&p);
        return refuse(json, TF_OUT_SETUP, "setup", err);
    }
    /* the trace owns stderr's lines: no progress bar redrawn over them */
    flash_ui u = {.tty = !json && !verbose && isatty(STDERR_FILENO)};
    bk_job_hooks hooks = {.on_event = on_event, .ctx = &u};
    if (keeper) {
        backup_job_init(&bj, keeper, 0, port, &ops);
        hooks.backup = &ops;
    }
    if (verbose) {
        hooks.trace = (bk_trace_hook){.fn = on_frame};
        bk_transport_set_debug(st_serialport_debug_to_stderr);
    }
    bk_result r;
    bk_flash_job(port, &spec, &hooks, &r);
    if (u.tty)
        fputs("\r\033[K", stderr);
    tf_outcome out = r.passed ? TF_OUT_PASS : tf_outcome_of_cause(r.cause);
    if (dbpath && cli_record_end(&rec, &r, err, sizeof err) < 0) {
        fprintf(stderr, "trayflash flash: %s\n", err);
        out = tf_outcome_worse(out, TF_OUT_SETUP);
    }
    if (keeper)
        backup_job_done(&bj);
    backup_keeper_close(keeper);
    cli_record_close(&rec);
    bool bench = out != TF_OUT_PASS && out != TF_OUT_MODULE_FAILED;
    if (bench) /* not the module: say so where errors go, with the words the engine gave */
        fprintf(stderr, "trayflash flash: %s: %s\n", port, r.detail[0] ? r.detail :
                bk_cause_explain(r.cause));
    if (json)
        cli_json_print(out, cli_json_attempt(&r, port, p.name), bench ? tf_outcome_get(out)->id : NULL,
                   r.detail[0] ? r.detail : bk_cause_explain(r.cause));
    else
        print_line(&r);
    tf_profile_free(&p);
    return tf_exit_code(out);
}
