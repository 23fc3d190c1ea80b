/* cmd_restore.c - `trayflash restore --port P --mac M`: write a module's backup back.
 *
 * The backup (db/db_backup.h, the store beside the database) becomes the job's image: the
 * stored ranges are covered, blank ones erased, nothing else touched; the engine's own write and
 * verify (by CRC, range by range) do the rest. The module must show the backup's MAC; one that
 * shows none (its RF sector wiped: the damage a restore repairs) is restored only with --force,
 * which leaves an audit row. The attempt is recorded with kind 'restore'. */
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "backup_keeper.h"
#include "bk_job.h"
#include "bk_proto.h"
#include "cli.h"
#include "cli_json.h"
#include "cli_opts.h"
#include "cli_record.h"
#include "db_backup.h"
#include "exit_codes.h"

enum { OPT_PORT, OPT_MAC, OPT_DB, OPT_BACKUP, OPT_FORCE, OPT_BAUD, OPT_JSON };
static const cli_opt restore_opts[] = {
    [OPT_PORT] = {"port", "PATH", "the serial port of the module"},
    [OPT_MAC] = {"mac", "M", "the module whose backup to write back (required)"},
    [OPT_DB] = {"db", "FILE", "the station database holding the backup (default trayflash.db)"},
    [OPT_BACKUP] = {"backup", "ID", "this backup of the module (backup list); default the oldest:\n"
                                    "what the module came with"},
    [OPT_FORCE] = {"force", NULL, "restore a module that shows no MAC (its RF sector wiped); an\n"
                                  "audit row records who did it"},
    [OPT_BAUD] = {"baud", "B", "working baud (default 921600, falling back to 460800, 115200)"},
    [OPT_JSON] = {"json", NULL,
                  CLI_JSON_HELP "(result: the attempt as flash --json, and the backup written)"},
    {NULL, NULL, NULL},
};

static const cli_command restore_cmd = {
    .name = "restore",
    .synopsis = "restore --port PATH --mac M [--db FILE] [--backup ID] [--force] [--baud B]\n"
                "        [--json]",
    .about = "Write a module's backup back, exactly its stored ranges (blank ones erased), and\n"
             "verify each by the chip's CRC. A module that shows another MAC is refused; one that\n"
             "shows none only with --force. Recorded as an attempt of kind 'restore'.",
    .opts = restore_opts,
    .footer = "Exit status: 0 restored and verified, 1 the module failed (wrong module included),\n"
              "2 usage error (no such backup), 3 setup error (port, database, store).\n",
};

static bool parse_mac(const char *s, uint8_t mac[6])
{
    unsigned v[6];
    char tail;
    if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
        return false;
    for (int i = 0; i < 6; i++)
        mac[i] = (uint8_t)v[i];
    return true;
}

/* The backup as the job's one variant: [lowest range, highest end) with the stored ranges'
 * sectors covered. `covered` is the caller's (one byte a 4 KiB sector). */
static bool image_spec(const backup_image *im, bk_chip chip, uint8_t **covered, bk_job_spec *spec,
                       char *err, size_t errlen)
{
    if (im->n == 0) {
        snprintf(err, errlen, "the backup holds no range");
        return false;
    }
    uint32_t lo = im->ranges[0].addr, hi = 0;
    for (int i = 0; i < im->n; i++) {
        if (im->ranges[i].addr < lo)
            lo = im->ranges[i].addr;
        if (im->ranges[i].addr + im->ranges[i].len > hi)
            hi = im->ranges[i].addr + im->ranges[i].len;
    }
    uint32_t n_sec = (hi - lo + BK_SECTOR_SIZE - 1) / BK_SECTOR_SIZE;
    *covered = calloc(n_sec, 1);
    if (!*covered) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    for (int i = 0; i < im->n; i++)
        for (uint32_t a = im->ranges[i].addr; a < im->ranges[i].addr + im->ranges[i].len;
             a += BK_SECTOR_SIZE)
            (*covered)[(a - lo) / BK_SECTOR_SIZE] = 1;
    memset(spec, 0, sizeof *spec);
    bk_job_spec_defaults(spec);
    spec->product = "restore";
    spec->n_variants = 1;
    spec->variants[0] = (bk_variant){.chip = chip, .image = im->flash + lo, .image_len = hi - lo,
                                     .offset = lo, .covered = *covered};
    spec->allow_per_device_write = true;
    spec->backup = BK_BACKUP_NONE;
    return true;
}

static void audit_force(cli_record *rec, const char *mac, const char *port, int64_t backup_id)
{
    const struct passwd *pw = getpwuid(getuid());
    char text[400];
    snprintf(text, sizeof text, "restore --force: backup %" PRId64 " of %s written to a module "
             "showing no MAC on %s by %s", backup_id, mac, port, pw ? pw->pw_name : "?");
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (db_event_log(rec->d, (double)ts.tv_sec, -1, "warn", text) < 0)
        fprintf(stderr, "trayflash restore: the audit row failed: %s\n", db_errmsg(rec->d));
}

/* A refusal before any attempt: the words on stderr; with --json also the envelope on stdout
 * (error kind "usage" or "setup", as the outcome). */
static int refuse(bool json, tf_outcome out, const char *msg)
{
    fprintf(stderr, "trayflash restore: %s\n", msg);
    if (json)
        cli_json_print(out, NULL, tf_outcome_get(out)->id, msg);
    return tf_exit_code(out);
}

/* restore --json's result: the attempt's facts (as flash --json) and "restore": which backup,
 * its ranges, the sectors written and skipped. */
static cJSON *restore_json(const bk_result *r, const char *port, const db_backup *b, int n_ranges)
{
    cJSON *o = cli_json_attempt(r, port, NULL);
    cJSON *x = cJSON_AddObjectToObject(o, "restore");
    cJSON_AddNumberToObject(x, "backup_id", (double)b->id);
    cJSON_AddStringToObject(x, "mac", b->mac);
    cJSON_AddStringToObject(x, "chip", b->chip);
    cJSON_AddStringToObject(x, "mode", b->mode);
    cJSON_AddNumberToObject(x, "ranges", n_ranges);
    cJSON_AddNumberToObject(x, "sectors_written", r->sectors_written);
    cJSON_AddNumberToObject(x, "sectors_skipped", r->sectors_skipped);
    return o;
}

int cmd_restore(int argc, char **argv)
{
    if (cli_help_asked(argc, argv)) {
        cli_print_help(&restore_cmd, stdout);
        return tf_exit_code(TF_OUT_PASS);
    }
    const char *port = NULL, *dbpath = "trayflash.db", *v;
    uint8_t mac[6];
    bool have_mac = false, force = false, json = cli_json_asked(&restore_cmd, OPT_JSON, argc, argv);
    int64_t id = 0;
    uint32_t baud = 0;
    char msg[700];
    cli_parser cp;
    cli_parser_init(&cp, &restore_cmd, argc, argv);
    for (int o; (o = cli_next(&cp, &v, msg, sizeof msg)) != CLI_END;) {
        char *end = NULL;
        switch (o) {
        case CLI_ERROR: return refuse(json, TF_OUT_USAGE, msg);
        case OPT_PORT: port = v; break;
        case OPT_DB: dbpath = v; break;
        case OPT_FORCE: force = true; break;
        case OPT_MAC:
            if (!(have_mac = parse_mac(v, mac))) {
                snprintf(msg, sizeof msg, "--mac '%.40s' is not a MAC (d8:1f:12:0a:3c:7e)", v);
                return refuse(json, TF_OUT_USAGE, msg);
            }
            break;
        case OPT_BACKUP:
            id = strtoll(v, &end, 10);
            if (!*v || *end || id < 1) {
                snprintf(msg, sizeof msg, "--backup '%.40s' is not a backup id", v);
                return refuse(json, TF_OUT_USAGE, msg);
            }
            break;
        case OPT_BAUD:
            baud = (uint32_t)strtoul(v, &end, 10);
            if (!*v || *end || baud < 9600 || baud > 4000000) {
                snprintf(msg, sizeof msg, "--baud '%.40s' is not a baud rate (115200..2000000)", v);
                return refuse(json, TF_OUT_USAGE, msg);
            }
            break;
        }
    }
    if (!port || !have_mac || cp.first_operand < argc)
        return refuse(json, TF_OUT_USAGE, "--port PATH and --mac M are required (see trayflash restore "
                                    "--help)");
    char mtext[18];
    bk_mac_format(mac, mtext, sizeof mtext);
    db *d;
    blockstore *bs;
    if (backup_store_open(dbpath, false, &d, &bs, msg, sizeof msg) < 0)
        return refuse(json, TF_OUT_SETUP, msg);
    db_backup b;
    backup_image im = {0};
    int found = db_backup_get(d, mtext, id, &b);
    if (found <= 0) {
        if (found < 0)
            snprintf(msg, sizeof msg, "%s", db_errmsg(d));
        else
            snprintf(msg, sizeof msg, "no backup%s of %s in %s (trayflash backup list)",
                     id ? " with that id" : "", mtext, dbpath);
        db_close(d);
        blockstore_close(bs);
        return refuse(json, found < 0 ? TF_OUT_SETUP : TF_OUT_USAGE, msg);
    }
    int rc = backup_image_load(d, bs, b.id, b.chip, &im, msg, sizeof msg);
    db_close(d);
    blockstore_close(bs);
    if (rc < 0)
        return refuse(json, TF_OUT_SETUP, msg);
    const bk_family *f = NULL;
    for (int c = 1; c < BK_CHIP_COUNT && !f; c++)
        if (!strcmp(bk_chip_name((bk_chip)c), b.chip))
            f = bk_family_get((bk_chip)c);
    uint8_t *covered = NULL;
    bk_job_spec spec;
    if (!f || !image_spec(&im, f->chip, &covered, &spec, msg, sizeof msg)) {
        backup_image_free(&im);
        return refuse(json, TF_OUT_SETUP, f ? msg : "the backup's chip is unknown");
    }
    if (baud) {
        spec.bauds[0] = baud;
        spec.n_bauds = 1;
    }
    memcpy(spec.expect_mac, mac, 6);
    spec.expect_mac_set = true;
    spec.allow_no_mac = force;
    cli_record rec;
    if (cli_record_begin(&rec, dbpath, NULL, port, "restore", msg, sizeof msg) < 0) {
        cli_record_close(&rec);
        free(covered);
        backup_image_free(&im);
        return refuse(json, TF_OUT_SETUP, msg);
    }
    bk_result r;
    bk_flash_job(port, &spec, NULL, &r);
    if (force && !r.have_mac && r.chip != BK_CHIP_UNKNOWN)
        audit_force(&rec, mtext, port, b.id);
    tf_outcome out = r.passed ? TF_OUT_PASS : tf_outcome_of_cause(r.cause);
    const char *why = r.detail[0] ? r.detail : bk_cause_explain(r.cause);
    if (cli_record_end(&rec, &r, msg, sizeof msg) < 0) {
        fprintf(stderr, "trayflash restore: %s\n", msg);
        out = tf_outcome_worse(out, TF_OUT_SETUP);
        why = msg;
    }
    cli_record_close(&rec);
    if (json) {
        if (!r.passed) /* stdout is the document: the failure's words go where errors go */
            fprintf(stderr, "trayflash restore: FAIL %s on %s: cause %s: %s\n", mtext, port,
                    bk_cause_id(r.cause), why);
        bool bench = out != TF_OUT_PASS && out != TF_OUT_MODULE_FAILED;
        cli_json_print(out, restore_json(&r, port, &b, im.n),
                       bench ? tf_outcome_get(out)->id : NULL, why);
    } else if (r.passed)
        printf("RESTORED %s from backup %" PRId64 " (%s): %d ranges, %u sectors written, %u "
               "skipped, verified by CRC in %.1f s\n", mtext, b.id, b.mode, im.n,
               r.sectors_written, r.sectors_skipped, r.seconds);
    else
        printf("FAIL restore of %s: cause %s (%s): %s\nremedy: %s\n", mtext,
               bk_cause_name(r.cause), bk_cause_id(r.cause), r.detail, bk_cause_remedy(r.cause));
    free(covered);
    backup_image_free(&im);
    return tf_exit_code(out);
}
