/* cmd_backup.c - `trayflash backup list|export|verify|prune`: the backup store beside a station
 * database (docs/backup.md). Reading commands open the database read-only; prune writes. The
 * store's bytes are checked against their sha256 whenever they are read. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>
#include "backup_keeper.h"
#include "cli.h"
#include "cli_json.h"
#include "cli_opts.h"
#include "db_backup.h"
#include "exit_codes.h"

#define DEFAULT_DB "trayflash.db"

/* ---- list ------------------------------------------------------------------------------ */

enum { L_DB, L_MAC, L_JSON };
static const cli_opt list_opts[] = {
    [L_DB] = {"db", "FILE", "the station database (default trayflash.db); its store is FILE.blocks/"},
    [L_MAC] = {"mac", "M", "only this module's backups (d8:1f:12:0a:3c:7e)"},
    [L_JSON] = {"json", NULL, CLI_JSON_HELP "(docs/backup.md lists the fields)"},
    {NULL, NULL, NULL},
};
static const cli_command list_cmd = {
    .name = "backup list",
    .synopsis = "backup list [--db FILE] [--mac M] [--json]",
    .about = "The backups kept, oldest first: id, MAC, chip, mode, when, where (station and bay),\n"
             "ranges (blank ones), bytes; then the store's size and its dedupe ratio (bytes the\n"
             "backups cover over bytes kept).",
    .opts = list_opts,
    .footer = "Exit status: 0 listed, 2 usage error, 3 the database or the store failed.\n",
};

/* ---- export ---------------------------------------------------------------------------- */

enum { E_DB, E_MAC, E_BACKUP };
static const cli_opt export_opts[] = {
    [E_DB] = {"db", "FILE", "the station database (default trayflash.db)"},
    [E_MAC] = {"mac", "M", "the module whose backup to export (required)"},
    [E_BACKUP] = {"backup", "ID", "this backup of the module (backup list); default the oldest:\n"
                                  "what the module came with"},
    {NULL, NULL, NULL},
};
static const cli_command export_cmd = {
    .name = "backup export",
    .synopsis = "backup export [--db FILE] --mac M [--backup ID] FILE.bin",
    .about = "Write the module's backup as a whole-flash image (2 MiB): the stored ranges' bytes,\n"
             "0xFF elsewhere; and FILE.bin.ranges beside it, one line per stored range (address,\n"
             "length, CRC-32, data|blank|shared), saying which bytes of the image are real. Every\n"
             "block is checked against its sha256 and the module's CRC as it is read.",
    .opts = export_opts,
    .footer = "Exit status: 0 written, 2 usage error (no such backup), 3 the database, the store\n"
              "or the output failed.\n",
};

/* ---- verify ---------------------------------------------------------------------------- */

enum { V_DB, V_JSON };
static const cli_opt verify_opts[] = {
    [V_DB] = {"db", "FILE", "the station database (default trayflash.db)"},
    [V_JSON] = {"json", NULL, CLI_JSON_HELP "(each damaged block is named in result.bad as well)"},
    {NULL, NULL, NULL},
};
static const cli_command verify_cmd = {
    .name = "backup verify",
    .synopsis = "backup verify [--db FILE] [--json]",
    .about = "Re-hash every block the index names: each must be in the store, of its size, its\n"
             "bytes hashing to its name and matching the CRC the module gave. An index without its\n"
             "blocks (a database copied without FILE.blocks/) is refused. Temporary files a killed\n"
             "writer left are counted, not touched.",
    .opts = verify_opts,
    .footer = "Exit status: 0 every block is whole, 3 a block is missing or damaged (each named on\n"
              "stderr), or the database or the store could not be read; 2 usage error.\n",
};

/* ---- prune ----------------------------------------------------------------------------- */

enum { P_DB, P_OLDER, P_FORCE };
static const cli_opt prune_opts[] = {
    [P_DB] = {"db", "FILE", "the station database (default trayflash.db)"},
    [P_OLDER] = {"older-than", "D", "delete backups older than D: a number with s, m, h, d or w\n"
                                    "(30d, 12h); a bare number is days (required)"},
    [P_FORCE] = {"force", NULL, "also delete a MAC's only backup when it is older than D"},
    {NULL, NULL, NULL},
};
static const cli_command prune_cmd = {
    .name = "backup prune",
    .synopsis = "backup prune --older-than D [--db FILE] [--force]",
    .about = "Delete old backups and the blocks no backup points at any more. A module whose\n"
             "every backup is old keeps its newest one unless --force: a backup is often the only\n"
             "copy of a module's calibration and licence. Blocks written after the cut are left\n"
             "alone (a running station may be about to point at them).",
    .opts = prune_opts,
    .footer = "Exit status: 0 pruned (or nothing to prune), 2 usage error, 3 the database or the\n"
              "store failed.\n",
};

static const cli_command *const all_cmds[] = {&list_cmd, &export_cmd, &verify_cmd, &prune_cmd};

static int usage_error(const cli_command *c, const char *msg)
{
    fprintf(stderr, "trayflash %s: %s\n", c->name, msg);
    return tf_exit_code(TF_OUT_USAGE);
}

static int setup_error(const cli_command *c, const char *msg)
{
    fprintf(stderr, "trayflash %s: %s\n", c->name, msg);
    return tf_exit_code(TF_OUT_SETUP);
}

/* A MAC as the index keeps it: six hex bytes, lower case, colons. */
static bool normalize_mac(const char *in, char out[18])
{
    unsigned v[6];
    char tail;
    if (sscanf(in, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
        return false;
    uint8_t m[6];
    for (int i = 0; i < 6; i++)
        m[i] = (uint8_t)v[i];
    bk_mac_format(m, out, 18);
    return true;
}

/* A refusal of list or verify: the words on stderr; with --json also the envelope on stdout
 * (kind "usage" or "setup", as the outcome). */
static int refuse(const cli_command *c, bool json, tf_outcome out, const char *msg)
{
    fprintf(stderr, "trayflash %s: %s\n", c->name, msg);
    if (json)
        cli_json_print(out, NULL, tf_outcome_get(out)->id, msg);
    return tf_exit_code(out);
}

/* The store in numbers; false (err says why) when the index or the folder cannot be read. */
typedef struct store_numbers {
    db_backup_totals t;
    uint64_t disk_bytes, disk_files;
} store_numbers;

static bool store_numbers_get(db *d, blockstore *bs, store_numbers *n, char *err, size_t errlen)
{
    memset(n, 0, sizeof *n);
    if (db_backup_totals_get(d, &n->t) < 0) {
        snprintf(err, errlen, "%s", db_errmsg(d));
        return false;
    }
    return !bs || blockstore_usage(bs, &n->disk_bytes, &n->disk_files, err, errlen) == 0;
}

static double dedupe_ratio(const db_backup_totals *t)
{
    return t->stored ? (double)t->covered / (double)t->stored : 1.0;
}

static void print_totals(db *d, blockstore *bs)
{
    store_numbers n;
    char err[300];
    if (!store_numbers_get(d, bs, &n, err, sizeof err))
        return;
    printf("store %s: %" PRIu64 " blocks, %.1f KiB on disk; %" PRId64 " backups of %" PRId64
           " modules cover %.1f KiB: dedupe ratio %.2f\n",
           blockstore_path(bs), n.disk_files, (double)n.disk_bytes / 1024, n.t.backups, n.t.macs,
           (double)n.t.covered / 1024, dedupe_ratio(&n.t));
}

/* result.store of --json: the same numbers as the text's last line. */
static cJSON *store_json(const char *dbpath, blockstore *bs, const store_numbers *n)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "db", dbpath);
    if (bs)
        cJSON_AddStringToObject(o, "path", blockstore_path(bs));
    else
        cJSON_AddNullToObject(o, "path");
    cJSON_AddNumberToObject(o, "blocks", (double)n->t.blocks);
    cJSON_AddNumberToObject(o, "files", (double)n->disk_files);
    cJSON_AddNumberToObject(o, "bytes_on_disk", (double)n->disk_bytes);
    cJSON_AddNumberToObject(o, "backups", (double)n->t.backups);
    cJSON_AddNumberToObject(o, "modules", (double)n->t.macs);
    cJSON_AddNumberToObject(o, "bytes_covered", (double)n->t.covered);
    cJSON_AddNumberToObject(o, "bytes_stored", (double)n->t.stored);
    cJSON_AddNumberToObject(o, "dedupe_ratio", dedupe_ratio(&n->t));
    return o;
}

/* A database that never kept a backup has no store folder: nothing to list, no error. */
static bool no_store_yet(const char *dbpath)
{
    db *d;
    char err[300];
    if (db_open(dbpath, true, &d, err, sizeof err) < 0)
        return false;
    db_backup_totals t;
    bool none = db_backup_totals_get(d, &t) == 0 && t.backups == 0 && t.blocks == 0;
    db_close(d);
    return none;
}

/* "2026-12-03T20:52:03Z": a script's time, never the station's zone. */
static void utc_text(double ts, char out[24])
{
    time_t t = (time_t)ts;
    struct tm tm;
    strftime(out, 24, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
}

static cJSON *backup_json(const db_backup *b)
{
    char when[24];
    utc_text(b->ts, when);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)b->id);
    cJSON_AddStringToObject(o, "mac", b->mac);
    cJSON_AddStringToObject(o, "chip", b->chip);
    cJSON_AddStringToObject(o, "mode", b->mode);
    cJSON_AddNumberToObject(o, "ts", b->ts);
    cJSON_AddStringToObject(o, "time", when);
    cJSON_AddStringToObject(o, "station", b->station);
    if (b->bay > 0)
        cJSON_AddNumberToObject(o, "bay", b->bay);
    else
        cJSON_AddNullToObject(o, "bay");
    cJSON_AddStringToObject(o, "port", b->port_path);
    cJSON_AddNumberToObject(o, "ranges", b->n_ranges);
    cJSON_AddNumberToObject(o, "blank", b->n_blank);
    cJSON_AddNumberToObject(o, "bytes", (double)b->bytes);
    return o;
}

static int print_row(void *ctx, const db_backup *b)
{
    cJSON *rows = ctx;
    if (rows) {
        cJSON_AddItemToArray(rows, backup_json(b));
        return 0;
    }
    char when[32];
    time_t ts = (time_t)b->ts;
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime_r(&ts, &tm));
    char where[96];
    if (b->bay > 0)
        snprintf(where, sizeof where, "%s bay %d", b->station[0] ? b->station : "?", b->bay);
    else
        snprintf(where, sizeof where, "%s %s", b->station[0] ? b->station : "?", b->port_path);
    printf("%5" PRId64 "  %s  %-8s %-6s %s  %-24s %3d (%d blank) %8.1f KiB\n", b->id, b->mac,
           b->chip, b->mode, when, where, b->n_ranges, b->n_blank, (double)b->bytes / 1024);
    return 0;
}

/* list --json: {"mac": filter or null, "backups": [...], "store": {...}}. */
static cJSON *list_result(const char *mac, cJSON *rows, cJSON *store)
{
    cJSON *o = cJSON_CreateObject();
    if (mac)
        cJSON_AddStringToObject(o, "mac", mac);
    else
        cJSON_AddNullToObject(o, "mac");
    cJSON_AddItemToObject(o, "backups", rows);
    cJSON_AddItemToObject(o, "store", store);
    return o;
}

static int backup_list(int argc, char **argv)
{
    const char *dbpath = DEFAULT_DB, *v;
    char mac[18] = "", msg[512];
    bool want_mac = false, json = cli_json_asked(&list_cmd, L_JSON, argc, argv);
    cli_parser cp;
    cli_parser_init(&cp, &list_cmd, argc, argv);
    for (int o; (o = cli_next(&cp, &v, msg, sizeof msg)) != CLI_END;) {
        if (o == CLI_ERROR)
            return refuse(&list_cmd, json, TF_OUT_USAGE, msg);
        if (o == L_DB) {
            dbpath = v;
        } else if (o == L_MAC) {
            if (!normalize_mac(v, mac)) {
                snprintf(msg, sizeof msg, "--mac '%.40s' is not a MAC (d8:1f:12:0a:3c:7e)", v);
                return refuse(&list_cmd, json, TF_OUT_USAGE, msg);
            }
            want_mac = true;
        }
    }
    if (cp.first_operand < argc)
        return refuse(&list_cmd, json, TF_OUT_USAGE,
                      "unexpected argument (see trayflash backup list --help)");
    db *d;
    blockstore *bs;
    if (backup_store_open(dbpath, false, &d, &bs, msg, sizeof msg) < 0) {
        if (!no_store_yet(dbpath))
            return refuse(&list_cmd, json, TF_OUT_SETUP, msg);
        if (json)
            cli_json_print(TF_OUT_PASS, list_result(want_mac ? mac : NULL, cJSON_CreateArray(),
                                                    store_json(dbpath, NULL, &(store_numbers){0})),
                           NULL, NULL);
        else
            printf("no backups in %s\n", dbpath);
        return tf_exit_code(TF_OUT_PASS);
    }
    cJSON *rows = json ? cJSON_CreateArray() : NULL;
    if (!json)
        printf("   id  mac                chip     mode   when                 where                   "
               "ranges          bytes\n");
    int rc = db_backup_list(d, want_mac ? mac : NULL, print_row, rows);
    store_numbers n;
    if (rc < 0) {
        snprintf(msg, sizeof msg, "%s", db_errmsg(d));
    } else if (json && !store_numbers_get(d, bs, &n, msg, sizeof msg)) {
        rc = -1;
    } else if (json) {
        cli_json_print(TF_OUT_PASS, list_result(want_mac ? mac : NULL, rows,
                                                store_json(dbpath, bs, &n)), NULL, NULL);
        rows = NULL; /* the envelope took it */
    } else {
        print_totals(d, bs);
    }
    cJSON_Delete(rows);
    db_close(d);
    blockstore_close(bs);
    return rc < 0 ? refuse(&list_cmd, json, TF_OUT_SETUP, msg) : tf_exit_code(TF_OUT_PASS);
}

static int write_file(const char *path, const void *data, size_t len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fflush(f) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        if (f)
            fclose(f);
        return -1;
    }
    if (fclose(f) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int write_sidecar(const char *path, const db_backup *b, const backup_image *im, char *err,
                         size_t errlen)
{
    size_t cap = 256 + (size_t)im->n * 64, used = 0;
    char *text = malloc(cap);
    if (!text) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    used += (size_t)snprintf(text + used, cap - used,
                             "# backup %" PRId64 " of %s (%s, %s): the ranges of the image that are "
                             "real; everything else is 0xFF filler\n# address length crc32 kind\n",
                             b->id, b->mac, b->chip, b->mode);
    for (int i = 0; i < im->n; i++) {
        const db_backup_range *r = &im->ranges[i];
        used += (size_t)snprintf(text + used, cap - used, "0x%06X 0x%05X %08x %s\n", r->addr,
                                 r->len, r->crc32, !r->sha256[0] ? "blank" : r->shared ? "shared" : "data");
    }
    int rc = write_file(path, text, used, err, errlen);
    free(text);
    return rc;
}

static int backup_export(int argc, char **argv)
{
    const char *dbpath = DEFAULT_DB, *v;
    char mac[18] = "", msg[600];
    int64_t id = 0;
    cli_parser cp;
    cli_parser_init(&cp, &export_cmd, argc, argv);
    for (int o; (o = cli_next(&cp, &v, msg, sizeof msg)) != CLI_END;) {
        if (o == CLI_ERROR)
            return usage_error(&export_cmd, msg);
        if (o == E_DB) {
            dbpath = v;
        } else if (o == E_MAC && !normalize_mac(v, mac)) {
            snprintf(msg, sizeof msg, "--mac '%.40s' is not a MAC (d8:1f:12:0a:3c:7e)", v);
            return usage_error(&export_cmd, msg);
        } else if (o == E_BACKUP) {
            char *end;
            id = strtoll(v, &end, 10);
            if (!*v || *end || id < 1) {
                snprintf(msg, sizeof msg, "--backup '%.40s' is not a backup id", v);
                return usage_error(&export_cmd, msg);
            }
        }
    }
    if (!mac[0] || cp.first_operand + 1 != argc)
        return usage_error(&export_cmd, "--mac M and one FILE.bin are required (see trayflash "
                                        "backup export --help)");
    const char *out = argv[cp.first_operand];
    db *d;
    blockstore *bs;
    if (backup_store_open(dbpath, false, &d, &bs, msg, sizeof msg) < 0)
        return setup_error(&export_cmd, msg);
    db_backup b;
    backup_image im = {0};
    int found = db_backup_get(d, mac, id, &b), rc = 0;
    tf_outcome res = TF_OUT_PASS;
    if (found <= 0) {
        if (found < 0)
            snprintf(msg, sizeof msg, "%s", db_errmsg(d));
        else if (id)
            snprintf(msg, sizeof msg, "no backup %" PRId64 " of %s in %s", id, mac, dbpath);
        else
            snprintf(msg, sizeof msg, "no backup of %s in %s", mac, dbpath);
        res = found < 0 ? TF_OUT_SETUP : TF_OUT_USAGE;
    } else if ((rc = backup_image_load(d, bs, b.id, b.chip, &im, msg, sizeof msg)) < 0) {
        res = TF_OUT_SETUP;
    } else {
        char side[4200];
        snprintf(side, sizeof side, "%s.ranges", out);
        if (write_file(out, im.flash, im.flash_size, msg, sizeof msg) < 0 ||
            write_sidecar(side, &b, &im, msg, sizeof msg) < 0)
            res = TF_OUT_SETUP;
        else
            printf("%s: backup %" PRId64 " of %s (%s, %s, %d ranges), real ranges listed in %s\n",
                   out, b.id, mac, b.chip, b.mode, im.n, side);
    }
    backup_image_free(&im);
    db_close(d);
    blockstore_close(bs);
    if (res != TF_OUT_PASS)
        fprintf(stderr, "trayflash backup export: %s\n", msg);
    return tf_exit_code(res);
}

typedef struct verify_ctx {
    blockstore *bs;
    int64_t ok, bad;
    cJSON *bad_json; /* --json: each damaged block, else NULL */
} verify_ctx;

static int verify_block(void *ctx, const char *sha, uint32_t size)
{
    verify_ctx *v = ctx;
    uint8_t *buf = malloc(size ? size : 1);
    char err[600];
    if (!buf || blockstore_get(v->bs, sha, buf, size, err, sizeof err) < 0) {
        const char *why = buf ? err : "out of memory";
        fprintf(stderr, "trayflash backup verify: %s\n", why);
        v->bad++;
        if (v->bad_json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "sha256", sha);
            cJSON_AddNumberToObject(o, "size", size);
            cJSON_AddStringToObject(o, "message", why);
            cJSON_AddItemToArray(v->bad_json, o);
        }
    } else {
        v->ok++;
    }
    free(buf);
    return 0;
}

/* verify --json: {"blocks_whole", "blocks_bad", "bad": [{"sha256","size","message"}], "store"}.
 * Takes vc->bad_json. */
static cJSON *verify_result(verify_ctx *vc, cJSON *store)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "blocks_whole", (double)vc->ok);
    cJSON_AddNumberToObject(o, "blocks_bad", (double)vc->bad);
    cJSON_AddItemToObject(o, "bad", vc->bad_json);
    vc->bad_json = NULL;
    cJSON_AddItemToObject(o, "store", store);
    return o;
}

static int backup_verify(int argc, char **argv)
{
    const char *dbpath = DEFAULT_DB, *v;
    char msg[600];
    bool json = cli_json_asked(&verify_cmd, V_JSON, argc, argv);
    cli_parser cp;
    cli_parser_init(&cp, &verify_cmd, argc, argv);
    for (int o; (o = cli_next(&cp, &v, msg, sizeof msg)) != CLI_END;) {
        if (o == CLI_ERROR)
            return refuse(&verify_cmd, json, TF_OUT_USAGE, msg);
        if (o == V_DB)
            dbpath = v;
    }
    if (cp.first_operand < argc)
        return refuse(&verify_cmd, json, TF_OUT_USAGE,
                      "unexpected argument (see trayflash backup verify --help)");
    db *d;
    blockstore *bs;
    if (backup_store_open(dbpath, false, &d, &bs, msg, sizeof msg) < 0)
        return refuse(&verify_cmd, json, TF_OUT_SETUP, msg);
    verify_ctx vc = {.bs = bs, .bad_json = json ? cJSON_CreateArray() : NULL};
    int rc = db_backup_blocks(d, verify_block, &vc);
    store_numbers n;
    if (rc < 0)
        snprintf(msg, sizeof msg, "%s", db_errmsg(d));
    else if (json && !store_numbers_get(d, bs, &n, msg, sizeof msg))
        rc = -1;
    if (rc == 0 && !json) {
        printf("%" PRId64 " blocks whole, %" PRId64 " missing or damaged\n", vc.ok, vc.bad);
        print_totals(d, bs);
    }
    tf_outcome out = rc < 0 || vc.bad ? TF_OUT_SETUP : TF_OUT_PASS;
    if (rc == 0 && vc.bad)
        snprintf(msg, sizeof msg, "%" PRId64 " of %" PRId64 " blocks missing or damaged: the "
                 "index names blocks its store does not hold whole", vc.bad, vc.ok + vc.bad);
    if (rc < 0)
        fprintf(stderr, "trayflash backup verify: %s\n", msg);
    if (json)
        cli_json_print(out, rc < 0 ? NULL : verify_result(&vc, store_json(dbpath, bs, &n)),
                       out == TF_OUT_PASS ? NULL : tf_outcome_get(out)->id, msg);
    cJSON_Delete(vc.bad_json);
    db_close(d);
    blockstore_close(bs);
    return tf_exit_code(out);
}

/* "30d", "12h", "90" (days) -> seconds; false if not a duration. */
static bool parse_age(const char *s, double *out)
{
    char *end;
    errno = 0;
    double n = strtod(s, &end);
    if (errno || end == s || !(n >= 0) || n > 1e6)
        return false;
    static const struct { char unit; double s; } units[] = {
        {'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 7 * 86400}, {0, 86400},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (*end == units[i].unit && (!*end || !end[1])) {
            *out = n * units[i].s;
            return true;
        }
    return false;
}

static int remove_file(void *ctx, const char *sha, uint32_t size)
{
    (void)size;
    char err[600];
    if (blockstore_remove(ctx, sha, err, sizeof err) < 0)
        fprintf(stderr, "trayflash backup prune: %s\n", err);
    return 0;
}

static int backup_prune(int argc, char **argv)
{
    const char *dbpath = DEFAULT_DB, *v;
    char msg[600];
    double age = -1;
    bool force = false;
    cli_parser cp;
    cli_parser_init(&cp, &prune_cmd, argc, argv);
    for (int o; (o = cli_next(&cp, &v, msg, sizeof msg)) != CLI_END;) {
        if (o == CLI_ERROR)
            return usage_error(&prune_cmd, msg);
        if (o == P_DB)
            dbpath = v;
        else if (o == P_FORCE)
            force = true;
        else if (!parse_age(v, &age)) {
            snprintf(msg, sizeof msg, "--older-than '%.40s' is not a duration (30d, 12h, 90)", v);
            return usage_error(&prune_cmd, msg);
        }
    }
    if (age < 0 || cp.first_operand < argc)
        return usage_error(&prune_cmd, "--older-than D is required (see trayflash backup prune "
                                       "--help)");
    db *d;
    blockstore *bs;
    if (backup_store_open(dbpath, true, &d, &bs, msg, sizeof msg) < 0)
        return setup_error(&prune_cmd, msg);
    int kept = 0;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    db_backup_totals before, after;
    db_backup_totals_get(d, &before);
    int n = db_backup_prune(d, (double)now.tv_sec - age, force, remove_file, bs, &kept);
    if (n < 0)
        snprintf(msg, sizeof msg, "%s", db_errmsg(d));
    else if (db_backup_totals_get(d, &after) == 0)
        printf("%d backups deleted, %" PRId64 " blocks (%.1f KiB) freed%s", n,
               before.blocks - after.blocks, (double)(before.stored - after.stored) / 1024,
               kept ? "" : "\n");
    if (n >= 0 && kept)
        printf("; %d modules keep their only, older backup (--force deletes it)\n", kept);
    db_close(d);
    blockstore_close(bs);
    return n < 0 ? setup_error(&prune_cmd, msg) : tf_exit_code(TF_OUT_PASS);
}

static const struct {
    const char *action;
    int (*fn)(int argc, char **argv);
    const cli_command *cmd;
} actions[] = {
    {"list", backup_list, &list_cmd},
    {"export", backup_export, &export_cmd},
    {"verify", backup_verify, &verify_cmd},
    {"prune", backup_prune, &prune_cmd},
};

int cmd_backup(int argc, char **argv)
{
    for (size_t i = 0; argc >= 2 && i < sizeof actions / sizeof actions[0]; i++) {
        if (strcmp(argv[1], actions[i].action))
            continue;
        if (cli_help_asked(argc - 1, argv + 1)) {
            cli_print_help(actions[i].cmd, stdout);
            return tf_exit_code(TF_OUT_PASS);
        }
        return actions[i].fn(argc - 1, argv + 1);
    }
    bool help = argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));
    if (argc >= 2 && !help)
        fprintf(stderr, "trayflash backup: unknown action '%s' (list, export, verify, prune)\n",
                argv[1]);
    for (size_t i = 0; i < sizeof all_cmds / sizeof all_cmds[0]; i++)
        cli_print_help(all_cmds[i], help ? stdout : stderr);
    return tf_exit_code(help ? TF_OUT_PASS : TF_OUT_USAGE);
}
