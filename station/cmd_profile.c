/* cmd_profile.c - what a product engineer runs before a profile reaches the line:
 *   trayflash profile check FILE... [--json]   every variant resolved, planned and timed
 *   trayflash profile list [DIR] [--db FILE]   the profile folder with its yield so far
 *   trayflash profile new FILE                 a commented template to start a product from
 *   trayflash pin-hash                          the engineer PIN's hash for the station file
 *
 * `check` plans with the engine's own planner (bk_plan_build) and times with the simulator's
 * cost model (bksim_lower_bound_s, typical timings), so what it prints is what the station
 * will erase and the time the simulator charges, not a second opinion that can drift. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "auth.h"
#include "bk_plan.h"
#include "bksim.h"
#include "cli.h"
#include "cli_opts.h"
#include "exit_codes.h"
#include "profile.h"
#include "report.h"
#include "secrets.h"
#include "tf_text.h"

#define PROFILE_LIST_MAX 256

/* A run of equal erase units: [start, start + count * unit). */
typedef struct erase_run {
    uint32_t start, unit;
    int count;
} erase_run;

typedef struct variant_facts {
    int n_runs;
    erase_run runs[BK_PLAN_MAX_UNITS];
    int n_units, n_sectors, n_write;  /* erase units, region sectors, sectors not all 0xFF */
    uint32_t region_start, region_len;
    double estimate_s;
    uint32_t baud;
} variant_facts;

static int variant_plan(const tf_profile *p, const tf_profile_variant *v, variant_facts *f,
                        char *err, size_t errlen)
{
    memset(f, 0, sizeof *f);
    bk_plan *plan = malloc(sizeof *plan);
    if (!plan) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (!bk_plan_build_covered(plan, v->image.data, v->image.len, v->image.offset, p->erase_mode,
                               v->image.covered)) {
        snprintf(err, errlen, "%s:%d: [%s] cannot be planned: %zu bytes at 0x%" PRIX32
                 " (empty, unaligned or over %d sectors)", p->path, v->line,
                 bk_family_get(v->chip)->id, v->image.len, v->image.offset, BK_PLAN_MAX_UNITS);
        free(plan);
        return -1;
    }
    f->region_start = plan->start;
    f->region_len = plan->len;
    f->n_units = plan->n_units;
    f->n_sectors = plan->n_covered; /* a UF2's gaps are neither erased nor written */
    for (int i = 0; i < plan->n_sectors; i++)
        f->n_write += !plan->sector_blank[i] && plan->sector_covered[i];
    for (int i = 0; i < plan->n_units; i++) {
        const bk_unit *u = &plan->units[i];
        erase_run *last = f->n_runs ? &f->runs[f->n_runs - 1] : NULL;
        if (last && last->unit == u->size &&
            last->start + (uint32_t)last->count * last->unit == u->addr)
            last->count++;
        else
            f->runs[f->n_runs++] = (erase_run){u->addr, u->size, 1};
    }
    free(plan);
    bksim_timing t;
    bksim_timing_typical(&t);
    f->baud = p->n_bauds ? p->bauds[0] : 921600;
    f->estimate_s = bksim_lower_bound_s(&t, v->chip, v->image.data, v->image.len,
                                        v->image.offset, f->baud, false);
    return 0;
}

static const char *unit_word(uint32_t unit)
{
    return unit == BK_BLOCK_SIZE ? "64K" : "4K";
}

static void print_check_text(const tf_profile *p, const variant_facts *fs)
{
    printf("%s: profile %s, product \"%s\", %d variant%s, profile sha256 %s\n", p->path, p->name,
           p->product, p->n_variants, p->n_variants == 1 ? "" : "s", p->text_sha256);
    printf("  bauds");
    for (int i = 0; i < p->n_bauds; i++)
        printf(" %" PRIu32, p->bauds[i]);
    printf(", erase %s, skip_unchanged %s, allow_bootloader %s, backup %s\n",
           p->erase_mode == BK_ERASE_4K ? "4k" : "auto", p->skip_unchanged ? "yes" : "no",
           p->allow_bootloader ? "yes" : "no", bk_backup_mode_name(p->backup));
    if (p->backup != BK_BACKUP_NONE)
        printf("  backup   before the first erase: %s (the store beside the station database; "
               "docs/backup.md); not in the estimate below\n",
               p->backup == BK_BACKUP_FULL ? "per-device ranges, vendor app and OTA"
                                           : "per-device ranges");
    for (int i = 0; i < p->n_variants; i++) {
        const tf_profile_variant *v = &p->variants[i];
        const variant_facts *f = &fs[i];
        printf("  variant %d (line %d): chip %s\n", i + 1, v->line, bk_chip_name(v->chip));
        printf("    image    %s (%s%s, %zu bytes) at 0x%06" PRIX32 "\n", v->image_path,
               bk_image_kind_name(v->image.kind), v->qio ? ", QIO whole-flash" : "", v->image.len,
               v->image.offset);
        printf("    sha256   %s (computed)\n", v->image.sha256);
        printf("    pinned   %s %s\n", v->sha256_pin,
               strcmp(v->image.sha256, v->sha256_pin) ? "MISMATCH" : "ok");
        printf("    region   0x%06" PRIX32 "..0x%06" PRIX32 ": %d erase units, %d of %d sectors "
               "written\n", f->region_start, f->region_start + f->region_len, f->n_units,
               f->n_write, f->n_sectors);
        for (int r = 0; r < f->n_runs; r++) {
            const erase_run *e = &f->runs[r];
            printf("      erase 0x%06" PRIX32 "..0x%06" PRIX32 "  %3d x %s\n", e->start,
                   e->start + (uint32_t)e->count * e->unit, e->count, unit_word(e->unit));
        }
        printf("    estimate %.1f s per module at %" PRIu32 " baud (simulator wire+flash bound, "
               "typical timings%s)\n", f->estimate_s, f->baud,
               p->erase_mode == BK_ERASE_4K ? "; the bound plans auto erase" : "");
    }
}

/* ---- [personalize]: the sector the first module would get ------------------------------ */

/* An example module: this MAC, bay 1, the ledger's columns shown as <name>. */
static const uint8_t example_mac[6] = {0xd8, 0x1f, 0x12, 0x00, 0x00, 0x01};

typedef struct personal_facts {
    bool shown;
    char secrets_note[300];   /* "" when read; else why not (values then from the base) */
    tf_secrets *secrets;
    char *cols[TF_PERSONAL_MAX_COLUMNS];
    uint8_t sector[OBK_CFG_SIZE];
    char err[700];            /* the build's refusal: a value too long names its line */
} personal_facts;

static void personal_facts_free(personal_facts *pf)
{
    tf_secrets_free(pf->secrets);
    for (int i = 0; i < TF_PERSONAL_MAX_COLUMNS; i++)
        free(pf->cols[i]);
    explicit_bzero(pf, sizeof *pf);
}

static bool personal_prepare(const tf_profile *p, personal_facts *pf)
{
    const tf_personal *pp = &p->personal;
    memset(pf, 0, sizeof *pf);
    if (!pp->enabled)
        return true;
    pf->shown = true;
    if (pp->secrets[0]) {
        char why[400];
        pf->secrets = tf_secrets_load(pp->secrets, why, sizeof why);
        if (!pf->secrets)
            snprintf(pf->secrets_note, sizeof pf->secrets_note, "not read here (%s): password "
                     "fields show the base's", why);
    }
    for (int i = 0; i < pp->n_columns; i++) {
        size_t n = strlen(pp->columns[i]) + 3;
        pf->cols[i] = malloc(n);
        if (pf->cols[i])
            snprintf(pf->cols[i], n, "<%s>", pp->columns[i]);
    }
    tf_personal_vars v = {.bay = 1, .lot = "", .product = p->product,
                          .columns = (const char *const *)pf->cols,
                          .secret = pf->secrets ? tf_secrets_lookup : NULL,
                          .secret_ctx = pf->secrets};
    memcpy(v.mac, example_mac, 6);
    return tf_personal_build(pp, &v, pf->sector, pf->err, sizeof pf->err);
}

/* A field's shown value (a password masked) and its length. */
static size_t personal_shown(const tf_personal_field *f, const personal_facts *pf, char *out,
                             size_t outlen)
{
    char value[2048];
    obk_config_get(pf->sector, f->f, value, sizeof value);
    size_t n = strlen(value);
    if (f->f->secret)
        snprintf(out, outlen, "%s", pf->secrets ? "********" : "(base's value, masked)");
    else
        snprintf(out, outlen, "%s", value);
    explicit_bzero(value, sizeof value);
    return n;
}

static void print_personal_text(const tf_profile *p, const personal_facts *pf)
{
    const tf_personal *pp = &p->personal;
    if (!pf->shown)
        return;
    printf("  personalize (line %d): OpenBeken config v%d at 0x%06X (BK7231T) / 0x%06X (BK7231N), "
           "checksum %s char\n", pp->line, OBK_CFG_VERSION, obk_config_addr(BK_CHIP_BK7231T),
           obk_config_addr(BK_CHIP_BK7231N), pp->crc == OBK_CRC_SIGNED_CHAR ? "signed" : "unsigned");
    printf("    base     %s (sha256 %s)\n", pp->base_path, pp->base_sha256);
    if (pp->base_sha256_line) /* a mismatch never gets here: the loader refused it */
        printf("    pinned   base_sha256 (line %d) ok\n", pp->base_sha256_line);
    else /* once the base is the product's released config, pin it */
        printf("    not pinned: to refuse a changed base file, add to [personalize]:\n"
               "      base_sha256 = %s\n", pp->base_sha256);
    if (pp->secrets[0])
        printf("    secrets  %s%s%s\n", pp->secrets, pf->secrets_note[0] ? ": " : ", read",
               pf->secrets_note);
    if (pp->ledger_line)
        printf("    ledger   one row per module, by MAC (columns shown as <name>)\n");
    printf("    the first module's sector (example MAC d8:1f:12:00:00:01, bay 1):\n");
    for (int i = 0; i < pp->n_fields; i++) {
        const tf_personal_field *f = &pp->fields[i];
        char shown[2100];
        size_t n = personal_shown(f, pf, shown, sizeof shown);
        if (f->f->type == OBK_FIELD_INT)
            printf("      %-13s= %s (line %d)\n", f->f->name, shown, f->line);
        else
            printf("      %-13s= %s (line %d, %zu of %u)\n", f->f->name, shown, f->line, n,
                   f->f->size - 1u);
    }
    printf("      %-13s= d8:1f:12:00:00:01 (the module's own)\n", "mac");
}

static cJSON *personal_json(const tf_profile *p, const personal_facts *pf)
{
    const tf_personal *pp = &p->personal;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kind", "openbeken");
    cJSON_AddNumberToObject(o, "line", pp->line);
    cJSON_AddStringToObject(o, "base", pp->base_path);
    cJSON_AddStringToObject(o, "base_sha256", pp->base_sha256);
    cJSON_AddBoolToObject(o, "base_sha256_pinned", pp->base_sha256_line > 0);
    cJSON_AddStringToObject(o, "crc", pp->crc == OBK_CRC_SIGNED_CHAR ? "signed" : "unsigned");
    cJSON_AddBoolToObject(o, "secrets_read", pf->secrets != NULL);
    cJSON *fields = cJSON_AddArrayToObject(o, "fields");
    for (int i = 0; i < pp->n_fields; i++) {
        const tf_personal_field *f = &pp->fields[i];
        char shown[2100];
        size_t n = personal_shown(f, pf, shown, sizeof shown);
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "name", f->f->name);
        cJSON_AddNumberToObject(j, "line", f->line);
        cJSON_AddStringToObject(j, "value", shown);
        cJSON_AddBoolToObject(j, "secret", f->f->secret);
        cJSON_AddNumberToObject(j, "length", (double)n);
        cJSON_AddNumberToObject(j, "limit", f->f->type == OBK_FIELD_TEXT ? f->f->size - 1u : 0);
        cJSON_AddItemToArray(fields, j);
    }
    return o;
}

static cJSON *check_json(const tf_profile *p, const variant_facts *fs)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "file", p->path);
    cJSON_AddBoolToObject(o, "ok", 1);
    cJSON_AddStringToObject(o, "name", p->name);
    cJSON_AddStringToObject(o, "product", p->product);
    cJSON_AddStringToObject(o, "profile_sha256", p->text_sha256);
    cJSON *bauds = cJSON_AddArrayToObject(o, "bauds");
    for (int i = 0; i < p->n_bauds; i++)
        cJSON_AddItemToArray(bauds, cJSON_CreateNumber(p->bauds[i]));
    cJSON_AddStringToObject(o, "erase", p->erase_mode == BK_ERASE_4K ? "4k" : "auto");
    cJSON_AddStringToObject(o, "backup", bk_backup_mode_name(p->backup));
    cJSON *vs = cJSON_AddArrayToObject(o, "variants");
    for (int i = 0; i < p->n_variants; i++) {
        const tf_profile_variant *v = &p->variants[i];
        const variant_facts *f = &fs[i];
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "chip", bk_family_get(v->chip)->id);
        cJSON_AddNumberToObject(j, "line", v->line);
        cJSON_AddStringToObject(j, "image", v->image_path);
        cJSON_AddStringToObject(j, "kind", bk_image_kind_name(v->image.kind));
        cJSON_AddBoolToObject(j, "qio", v->qio);
        cJSON_AddNumberToObject(j, "offset", v->image.offset);
        cJSON_AddNumberToObject(j, "size", (double)v->image.len);
        cJSON_AddStringToObject(j, "sha256", v->image.sha256);
        cJSON_AddStringToObject(j, "sha256_pinned", v->sha256_pin);
        cJSON_AddNumberToObject(j, "region_start", f->region_start);
        cJSON_AddNumberToObject(j, "region_len", f->region_len);
        cJSON_AddNumberToObject(j, "erase_units", f->n_units);
        cJSON_AddNumberToObject(j, "sectors", f->n_sectors);
        cJSON_AddNumberToObject(j, "sectors_written", f->n_write);
        cJSON *runs = cJSON_AddArrayToObject(j, "erase");
        for (int r = 0; r < f->n_runs; r++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "start", f->runs[r].start);
            cJSON_AddNumberToObject(e, "unit", f->runs[r].unit);
            cJSON_AddNumberToObject(e, "count", f->runs[r].count);
            cJSON_AddItemToArray(runs, e);
        }
        cJSON_AddNumberToObject(j, "baud", f->baud);
        cJSON_AddNumberToObject(j, "estimate_s", f->estimate_s);
        cJSON_AddItemToArray(vs, j);
    }
    return o;
}

static const cli_opt check_opts[] = {
    {"json", NULL, "one JSON object per file on stdout"},
    {NULL, NULL, NULL},
};
static const cli_command check_cmd = {
    .name = "profile check",
    .synopsis = "profile check FILE... [--json]",
    .about = "Parse every variant of each profile and show what it writes: chip, offset, image\n"
             "kind and size, sha256 (computed and pinned), erase units, and the time per module\n"
             "the simulator's model gives.",
    .opts = check_opts,
    .footer = "Exit status: 0 every profile holds, 2 usage error or a profile refused (file:line on\n"
              "stderr).\n",
};

static const cli_opt list_opts[] = {
    {"db", "FILE", "the database the yields come from (default: trayflash.db when it is here)"},
    {NULL, NULL, NULL},
};
static const cli_command list_cmd = {
    .name = "profile list",
    .synopsis = "profile list [DIR] [--db FILE]",
    .about = "The profiles in DIR (default: profiles) with, from the database, modules flashed,\n"
             "yield and last use; files that are not profiles are skipped with a note.",
    .opts = list_opts,
    .footer = "Exit status: 0 every profile holds, 2 usage error or a profile refused (file:line on\n"
              "stderr), 3 the database could not be read.\n",
};

static const cli_opt new_opts[] = {{NULL, NULL, NULL}};
static const cli_command new_cmd = {
    .name = "profile new",
    .synopsis = "profile new FILE",
    .about = "Write a commented template of every key to FILE (never overwrites).",
    .opts = new_opts,
    .footer = "Exit status: 0 the template was written, 2 usage error or FILE exists or cannot be\n"
              "written.\n",
};

static const cli_command pin_hash_cmd = {
    .name = "pin-hash",
    .synopsis = "pin-hash",
    .about = "Read an engineer PIN (no echo; from stdin when it is not a terminal, asked twice on a\n"
             "terminal) and print its yescrypt hash for the station file's [station] engineer_pin_hash.\n"
             "The PIN is never an argument: arguments are visible in the process list.",
    .opts = new_opts,
    .footer = "Exit status: 0 the hash was printed, 2 the PIN could not be read or the two differ.\n",
};

static const cli_command *const profile_cmds[] = {&check_cmd, &list_cmd, &new_cmd};

/* `trayflash profile --help`: the three subcommands' usage and words, from their tables. */
static void profile_help(FILE *out)
{
    for (size_t i = 0; i < sizeof profile_cmds / sizeof profile_cmds[0]; i++)
        fprintf(out, "%s trayflash %s\n", i ? "      " : "usage:", profile_cmds[i]->synopsis);
    for (size_t i = 0; i < sizeof profile_cmds / sizeof profile_cmds[0]; i++)
        fprintf(out, "\n%s:\n%s\n", profile_cmds[i]->name, profile_cmds[i]->about);
    fputs("\ntrayflash profile COMMAND --help: that command's options.\n\n"
          "Exit status: 0 every profile holds, 2 usage error or a profile refused (file:line on\n"
          "stderr), 3 the database could not be read.\n", out);
}

/* Options of a subcommand through its table; its operands in argv[*first..argc). Returns 0, or
 * the usage exit code after saying why. on_opt gets each option (index, value). */
static int parse_sub(const cli_command *cmd, int argc, char **argv, int *first,
                     void (*on_opt)(void *user, int opt, const char *value), void *user)
{
    cli_parser cp;
    const char *v;
    char msg[512];
    *first = argc;
    cli_parser_init(&cp, cmd, argc, argv);
    for (int opt; (opt = cli_next(&cp, &v, msg, sizeof msg)) != CLI_END;) {
        if (opt == CLI_ERROR) {
            fprintf(stderr, "trayflash %s: %s\n", cmd->name, msg);
            return tf_exit_code(TF_OUT_USAGE);
        }
        on_opt(user, opt, v);
    }
    *first = cp.first_operand;
    return 0;
}

static void set_flag(void *user, int opt, const char *value)
{
    (void)opt;
    (void)value;
    *(bool *)user = true;
}

static void set_value(void *user, int opt, const char *value)
{
    (void)opt;
    *(const char **)user = value;
}

static void no_option(void *user, int opt, const char *value)
{
    (void)user;
    (void)opt;
    (void)value; /* the table is empty: getopt_long never returns one */
}

static int cmd_check(int argc, char **argv)
{
    bool json = false;
    int first;
    int usage_rc = parse_sub(&check_cmd, argc, argv, &first, set_flag, &json);
    if (usage_rc)
        return usage_rc;
    int n_files = argc - first;
    if (!n_files) {
        fprintf(stderr, "trayflash profile check: give one or more profile files\n");
        return tf_exit_code(TF_OUT_USAGE);
    }
    tf_profile *p = calloc(1, sizeof *p);
    variant_facts *fs = calloc(BK_MAX_VARIANTS, sizeof *fs);
    personal_facts *pf = calloc(1, sizeof *pf);
    cJSON *all = cJSON_CreateArray();
    if (!p || !fs || !pf || !all) {
        free(pf);
        fprintf(stderr, "trayflash profile check: out of memory\n");
        free(p);
        free(fs);
        cJSON_Delete(all);
        return tf_exit_code(TF_OUT_SETUP);
    }
    int errors = 0;
    for (int i = first; i < argc; i++) {
        char err[1024];
        int rc = tf_profile_load(argv[i], p, err, sizeof err);
        for (int k = 0; rc == 0 && k < p->n_variants; k++)
            rc = variant_plan(p, &p->variants[k], &fs[k], err, sizeof err);
        if (rc == 0 && !personal_prepare(p, pf)) {
            snprintf(err, sizeof err, "%s", pf->err); /* file:line: field: value too long */
            rc = -1;
        }
        if (rc != 0) {
            errors++;
            fprintf(stderr, "%s\n", err); /* file:line: words, as the loader said it */
            if (json) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "file", argv[i]);
                cJSON_AddBoolToObject(o, "ok", 0);
                cJSON_AddStringToObject(o, "error", err);
                cJSON_AddItemToArray(all, o);
            }
        } else if (json) {
            cJSON *o = check_json(p, fs);
            if (pf->shown)
                cJSON_AddItemToObject(o, "personalize", personal_json(p, pf));
            cJSON_AddItemToArray(all, o);
        } else {
            print_check_text(p, fs);
            print_personal_text(p, pf);
        }
        personal_facts_free(pf);
        tf_profile_free(p);
    }
    if (json) {
        char *s = cJSON_Print(all);
        if (s)
            puts(s);
        free(s);
    } else if (n_files > 1) {
        printf("%d of %d profile%s OK\n", n_files - errors, n_files, n_files == 1 ? "" : "s");
    }
    cJSON_Delete(all);
    free(fs);
    free(pf);
    free(p);
    return tf_exit_code(errors ? TF_OUT_USAGE : TF_OUT_PASS);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool ends_with_ini(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && !strcmp(name + n - 4, ".ini");
}

static void fmt_ts(double ts, char *out, size_t len)
{
    if (ts <= 0) {
        snprintf(out, len, "-");
        return;
    }
    time_t t = (time_t)ts;
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, len, "%Y-%m-%d %H:%M", &tm);
}

static int cmd_list(int argc, char **argv)
{
    const char *dir = "profiles", *dbpath = NULL;
    int first;
    int rc = parse_sub(&list_cmd, argc, argv, &first, set_value, &dbpath);
    if (rc)
        return rc;
    if (argc - first > 1) {
        fprintf(stderr, "trayflash profile list: one DIR only ('%s' is a second)\n",
                argv[first + 1]);
        return tf_exit_code(TF_OUT_USAGE);
    }
    if (argc - first == 1)
        dir = argv[first];
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "trayflash profile list: %s: %s\n", dir, strerror(errno));
        return tf_exit_code(TF_OUT_USAGE);
    }
    char *names[PROFILE_LIST_MAX];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < PROFILE_LIST_MAX)
        if (ends_with_ini(e->d_name) && (names[n] = strdup(e->d_name)))
            n++;
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], cmp_str);

    db *h = NULL;
    char err[1024];
    if (!dbpath && access("trayflash.db", R_OK) == 0)
        dbpath = "trayflash.db";
    if (dbpath && db_open(dbpath, true, &h, err, sizeof err) < 0) {
        fprintf(stderr, "trayflash profile list: %s\n", err);
        for (int i = 0; i < n; i++)
            free(names[i]);
        return tf_exit_code(TF_OUT_SETUP);
    }
    tf_profile *p = calloc(1, sizeof *p);
    int errors = 0, db_errors = 0;
    printf("%-22s %-18s %-17s %-19s %7s %6s  %s\n", "name", "product", "chips", "image sha256",
           "modules", "yield", "last used");
    for (int i = 0; p && i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        int loaded = tf_profile_load(path, p, err, sizeof err);
        if (loaded == TF_PROFILE_NOT_A_PROFILE) {
            /* a station file or a stray pipe beside the profiles is not a broken profile */
            fprintf(stderr, "trayflash profile list: note: skipped, not a profile: %s\n", err);
            continue;
        }
        if (loaded < 0) {
            errors++;
            fprintf(stderr, "%s\n", err);
            char shown[256]; /* a file name is bytes from the disk: escaped */
            tf_text_escape(names[i], shown, sizeof shown);
            printf("%-22s %s\n", shown, "(refused: see above)");
            continue;
        }
        char chips[64] = "", shas[64] = "";
        for (int k = 0; k < p->n_variants; k++) {
            size_t cl = strlen(chips), sl = strlen(shas);
            snprintf(chips + cl, sizeof chips - cl, "%s%s", k ? "+" : "",
                     bk_family_get(p->variants[k].chip)->id);
            snprintf(shas + sl, sizeof shas - sl, "%s%.8s", k ? "/" : "",
                     p->variants[k].image.sha256);
        }
        char modules[16] = "-", yield[16] = "-", last[32] = "-";
        if (h) {
            report_filter f = {.profile = p->name, .bay = -1};
            report *r;
            if (report_build(h, &f, &r, err, sizeof err) < 0) {
                fprintf(stderr, "trayflash profile list: %s\n", err);
                db_errors++;
            } else {
                snprintf(modules, sizeof modules, "%d", r->total.modules);
                if (r->total.modules)
                    snprintf(yield, sizeof yield, "%.1f%%", 100.0 * r->total.final_yield);
                fmt_ts(r->last_ts, last, sizeof last);
                report_free(r);
            }
        }
        printf("%-22s %-18s %-17s %-19s %7s %6s  %s\n", p->name, p->product, chips, shas,
               modules, yield, last);
        tf_profile_free(p);
    }
    free(p);
    for (int i = 0; i < n; i++)
        free(names[i]);
    if (h)
        db_close(h);
    return tf_exit_code(db_errors ? TF_OUT_SETUP : errors ? TF_OUT_USAGE : TF_OUT_PASS);
}

/* The template `profile new` writes, from the profile schema (profile.c's key table): every
 * key, what it means, its default. The keys to fill in are set and marked; the rest are
 * shown commented out at their defaults. The man page's PROFILES and profiles/README.md say
 * the same (tests/profiles schema_docs). */
static const char template_head[] =
    "; %1$s.ini - a trayflash product profile (format: man trayflash, PROFILES; and\n"
    "; profiles/README.md). Fill in the lines marked FILL IN, then run\n"
    ";     trayflash profile check %1$s.ini\n"
    "; until it loads: it shows what the station will erase and write. Comments start with ;\n"
    "; or # (after a value too: \"key = value ; why\"). A value fits on one line; a key comes\n"
    "; once per section; any error refuses the whole profile with file:line: words.\n"
    "\n"
    "[profile]\n";

/* `text` as ; comment lines of at most 90 columns. */
static void put_comment(FILE *f, const char *text, bool fill_in)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s%s", text, fill_in ? " FILL IN." : "");
    const char *w = buf;
    while (*w) {
        size_t n = strlen(w);
        if (n > 88) {
            n = 88;
            while (n > 0 && w[n] != ' ')
                n--;
            if (!n)
                n = 88;
        }
        fprintf(f, "; %.*s\n", (int)n, w);
        w += n;
        while (*w == ' ')
            w++;
    }
}

/* The value a template writes for key k (the file's name for name and product). */
static const char *template_value(const tf_key *k, const char *name)
{
    if (k->example)
        return k->example;
    return k->def ? k->def : name;
}

/* The [personalize] block of the template, commented out: its keys from the schema, then a few
 * fields (templates over the module's MAC, the ledger, the secrets file). Uncommented as it is,
 * it loads once base names a real config and base_sha256 is the line profile check prints. */
static void put_personalize_example(FILE *f, const tf_schema *s)
{
    static const char *const fields[] = {
        "short_name = plug-{mac_suffix}", "long_name = {product} {serial}",
        "mqtt_client = {short_name}",     "mqtt_host = broker.lan",
        "mqtt_pass = {secret.mqtt}",      "wifi_ssid = factory-net",
        "wifi_pass = {secret.wifi}",
    };
    fputs("\n; ---- a product that ships configured: each module gets its own OpenBeken config\n"
          "; sector, written after the app verified (profiles/README.md, \"Per-device data\").\n"
          "; Remove the ; of the section's lines to use it; flashed by `trayflash station` ----\n"
          ";[personalize]\n", f);
    for (int i = 0; i < s->n_keys; i++) {
        const tf_key *k = &s->keys[i];
        if (!(k->sections & 4u))
            continue;
        put_comment(f, k->help, false);
        fprintf(f, ";%s = %s\n", k->name, k->example ? k->example : k->def ? k->def : "");
    }
    put_comment(f, "The fields to fill, each a literal or a template over {mac}, {mac_hex}, "
                "{mac_suffix}, {bay}, {lot}, {product}, the ledger's columns, another field, "
                "{secret.NAME} (password fields only).", false);
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        fprintf(f, ";%s\n", fields[i]);
}

static void put_template(FILE *f, const char *name)
{
    const tf_schema *s = &tf_profile_schema;
    fprintf(f, template_head, name);
    for (int i = 0; i < s->n_keys; i++) {
        const tf_key *k = &s->keys[i];
        if (!(k->sections & 1u) || !(k->flags & TF_KEY_SET_IN_TEMPLATE))
            continue;
        put_comment(f, k->help, k->flags & TF_KEY_FILL_IN);
        fprintf(f, "%s = %s\n", k->name, template_value(k, name));
    }
    fputs("\n; ---- optional: remove the ; to set one; the values shown are the defaults ----\n", f);
    for (int i = 0; i < s->n_keys; i++) {
        const tf_key *k = &s->keys[i];
        if (!(k->sections & 1u) || (k->flags & TF_KEY_SET_IN_TEMPLATE))
            continue;
        put_comment(f, k->help, false);
        fprintf(f, ";%s = %s\n", k->name, template_value(k, name));
    }
    fputs("\n; ---- the same product on another chip family: a [variant CHIP] section with its\n"
          "; own keys of these (chip, when given, must agree with the section's name) ----\n"
          ";[variant bk7231t]\n", f);
    for (int i = 0; i < s->n_keys; i++) {
        const tf_key *k = &s->keys[i];
        if ((k->sections & 2u) && (k->flags & TF_KEY_SET_IN_TEMPLATE) &&
            !(k->flags & TF_KEY_REQUIRED_MAIN))
            fprintf(f, ";%s = %s\n", k->name, template_value(k, name));
    }
    put_personalize_example(f, s);
}

/* The profile name a file name suggests: its base name without .ini, if it is a valid name. */
static void name_from_path(const char *path, char *out, size_t outlen)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (ends_with_ini(base))
        n -= 4;
    bool ok = n > 0 && n < 64 && n < outlen;
    for (size_t i = 0; ok && i < n; i++)
        ok = (base[i] >= 'a' && base[i] <= 'z') || (base[i] >= '0' && base[i] <= '9') ||
             base[i] == '.' || base[i] == '_' || base[i] == '-';
    snprintf(out, outlen, "%.*s", ok ? (int)n : 10, ok ? base : "my-product");
}

static int cmd_new(int argc, char **argv)
{
    int first;
    int rc = parse_sub(&new_cmd, argc, argv, &first, no_option, NULL);
    if (rc)
        return rc;
    if (argc - first > 1) {
        fprintf(stderr, "trayflash profile new: one FILE only ('%s' is a second)\n",
                argv[first + 1]);
        return tf_exit_code(TF_OUT_USAGE);
    }
    const char *path = argc > first ? argv[first] : NULL;
    if (!path) {
        fprintf(stderr, "trayflash profile new: give the FILE to write (e.g. "
                "profiles/my-product.ini)\n");
        return tf_exit_code(TF_OUT_USAGE);
    }
    char name[64];
    name_from_path(path, name, sizeof name);
    char *text = NULL;
    size_t text_len = 0;
    FILE *mem = open_memstream(&text, &text_len);
    if (mem) {
        put_template(mem, name);
        if (fclose(mem) != 0) {
            free(text);
            text = NULL;
        }
    }
    long len = text ? (long)text_len : -1;
    if (len < 0) {
        fprintf(stderr, "trayflash profile new: out of memory\n");
        return tf_exit_code(TF_OUT_USAGE);
    }
    /* O_EXCL: an existing profile (maybe pinned and in use) is never overwritten */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        fprintf(stderr, "trayflash profile new: %s: %s\n", path,
                e == EEXIST ? "already exists; not overwritten (choose another name)"
                            : strerror(e));
        free(text);
        return tf_exit_code(TF_OUT_USAGE);
    }
    size_t done = 0;
    int e = 0;
    while (done < (size_t)len) {
        ssize_t w = write(fd, text + done, (size_t)len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            e = errno;
            break;
        }
        done += (size_t)w;
    }
    if (close(fd) != 0 && !e)
        e = errno;
    free(text);
    if (e) {
        fprintf(stderr, "trayflash profile new: %s: cannot write: %s\n", path, strerror(e));
        unlink(path); /* no half template left behind */
        return tf_exit_code(TF_OUT_USAGE);
    }
    printf("%s: profile template written; fill in chip, image and sha256, then run\n"
           "  trayflash profile check %s\n", path, path);
    return tf_exit_code(TF_OUT_PASS);
}

int cmd_profile(int argc, char **argv)
{
    static int (*const run[])(int, char **) = {cmd_check, cmd_list, cmd_new};
    for (size_t i = 0; argc >= 2 && i < sizeof profile_cmds / sizeof profile_cmds[0]; i++)
        if (!strcmp(argv[1], profile_cmds[i]->name + strlen("profile "))) {
            if (cli_help_asked(argc, argv)) {
                cli_print_help(profile_cmds[i], stdout);
                return tf_exit_code(TF_OUT_PASS);
            }
            return run[i](argc - 1, argv + 1);
        }
    if (cli_help_asked(argc, argv)) {
        profile_help(stdout);
        return tf_exit_code(TF_OUT_PASS);
    }
    fprintf(stderr, "trayflash profile: expected 'check FILE... [--json]', "
            "'list [DIR] [--db FILE]' or 'new FILE'\n");
    return tf_exit_code(TF_OUT_USAGE);
}

/* The PIN is read, never taken from argv: argv is world-readable in /proc. */
int cmd_pin_hash(int argc, char **argv)
{
    if (cli_help_asked(argc, argv)) {
        cli_print_help(&pin_hash_cmd, stdout);
        return tf_exit_code(TF_OUT_PASS);
    }
    int first;
    int prc = parse_sub(&pin_hash_cmd, argc, argv, &first, no_option, NULL);
    if (prc)
        return prc;
    if (argc > first) {
        fprintf(stderr, "trayflash pin-hash: takes no arguments (the PIN is asked for, so it "
                "never shows in the process list)\n");
        return tf_exit_code(TF_OUT_USAGE);
    }
    char pin[AUTH_PIN_MAX], again[AUTH_PIN_MAX], hash[AUTH_HASH_MAX], err[200];
    bool tty = isatty(STDIN_FILENO);
    int rc = tf_exit_code(TF_OUT_USAGE);
    if (auth_read_pin(STDIN_FILENO, stderr, "engineer PIN: ", pin, sizeof pin, err,
                      sizeof err) < 0)
        goto out;
    if (tty && auth_read_pin(STDIN_FILENO, stderr, "again: ", again, sizeof again, err,
                             sizeof err) < 0)
        goto out;
    if (tty && strcmp(pin, again)) {
        snprintf(err, sizeof err, "the two PINs differ");
        goto out;
    }
    if (auth_pin_hash(pin, hash, sizeof hash, err, sizeof err) < 0)
        goto out;
    printf("%s\n", hash);
    if (tty)
        fprintf(stderr, "put it in the station file: [station] engineer_pin_hash = <the line "
                "above>\n");
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "trayflash pin-hash: %s\n", err);
    auth_wipe(pin, sizeof pin);
    auth_wipe(again, sizeof again);
    return rc;
}
