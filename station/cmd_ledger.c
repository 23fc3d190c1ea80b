/* cmd_ledger.c - `trayflash ledger import|status|export|release`: the per-device ledger of a
 * profile in the station's database (db/db_ledger.h). CSV is read and written with libcsv
 * (RFC 4180: quotes, commas and newlines inside fields). Exit 0 done, 2 the input refused (a
 * CSV line, a key already there, a row that is used), 3 the database failed. */
#include <csv.h>
#include <ctype.h>
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "auth.h"
#include "cli.h"
#include "cli_opts.h"
#include "db_ledger.h"
#include "exit_codes.h"
#include "profile.h"
#include "tf_file.h"
#include "tf_text.h"

#define LEDGER_CSV_MAX (64u << 20)
#define LEDGER_MAX_COLUMNS 32

enum { OPT_PROFILE, OPT_DB, OPT_MAC, OPT_KEY };

static const cli_opt ledger_opts[] = {
    [OPT_PROFILE] = {"profile", "P", "the profile: its file (import needs it), or its name"},
    [OPT_DB] = {"db", "FILE", "the station's database (default trayflash.db)"},
    [OPT_MAC] = {"mac", "MAC", "release: the module whose reserved row is freed"},
    [OPT_KEY] = {"key", "KEY", "release: the row to free, by its key (first CSV column)"},
    {NULL, NULL, NULL},
};

static const char ledger_footer[] =
    "Exit status: 0 done, 2 usage error or the input refused (a CSV line, a key already in the\n"
    "ledger, a used row), 3 the database failed.\n";

static const cli_command ledger_cmd = {
    .name = "ledger",
    .synopsis = "ledger import FILE.csv --profile P [--db FILE]\n"
                "ledger status --profile P [--db FILE]\n"
                "ledger export --profile P [--db FILE]\n"
                "ledger release --profile P (--mac MAC | --key KEY) [--db FILE]",
    .about = "The per-device ledger of a profile with a [personalize] section: rows (serial\n"
             "numbers, anything its templates use) that modules take one each, keyed by MAC.\n"
             "import: loads FILE.csv (a header line names the columns, the first column is the\n"
             "row's key; the profile's `ledger` columns must be there), all or nothing; a key\n"
             "already in the ledger is refused with its line. status: total, used, reserved,\n"
             "free. export: the MAC -> row table as CSV (mac, state, used_at, the columns).\n"
             "release: frees the row a failed module reserved, with an audit row (a used row\n"
             "is never released: its module shipped with it).",
    .opts = ledger_opts,
    .footer = ledger_footer,
};

typedef struct ledger_args {
    const char *action, *file, *profile, *db, *mac, *key;
} ledger_args;

static int usage(const char *msg)
{
    fprintf(stderr, "trayflash ledger: %s (see trayflash ledger --help)\n", msg);
    return tf_exit_code(TF_OUT_USAGE);
}

static int parse_args(int argc, char **argv, ledger_args *a)
{
    const char *v;
    char msg[512];
    cli_parser cp;
    cli_parser_init(&cp, &ledger_cmd, argc, argv);
    a->db = "trayflash.db";
    for (int opt; (opt = cli_next(&cp, &v, msg, sizeof msg)) != CLI_END;) {
        if (opt == CLI_ERROR)
            return usage(msg);
        const char **slot[] = {[OPT_PROFILE] = &a->profile, [OPT_DB] = &a->db,
                               [OPT_MAC] = &a->mac, [OPT_KEY] = &a->key};
        *slot[opt] = v;
    }
    int n = argc - cp.first_operand;
    if (n < 1)
        return usage("an action is missing: import, status, export or release");
    a->action = argv[cp.first_operand];
    bool is_import = !strcmp(a->action, "import");
    if (n != (is_import ? 2 : 1))
        return usage(is_import ? "import takes one FILE.csv" : "unexpected argument");
    a->file = is_import ? argv[cp.first_operand + 1] : NULL;
    if (!a->profile)
        return usage("--profile P is missing");
    return 0;
}

/* ---- the profile: a file (loaded) or a name ------------------------------------------ */

static bool looks_like_file(const char *p)
{
    return strchr(p, '/') || strstr(p, ".ini");
}

/* ---- import ------------------------------------------------------------------------- */

typedef struct csv_rows {
    char *cells[LEDGER_MAX_COLUMNS];
    int n_cells;
    char **all;             /* rows x n_columns, after the header */
    int *lines;
    int n_rows, cap;
    char *columns[LEDGER_MAX_COLUMNS];
    int n_columns;
    int line;               /* the line the current record started on */
    int next_line;
    char err[512];
    const char *path;
} csv_rows;

static void on_field(void *s, size_t len, void *ctx)
{
    csv_rows *c = ctx;
    for (size_t i = 0; i < len; i++)
        c->next_line += ((const char *)s)[i] == '\n';
    if (c->err[0])
        return;
    if (c->n_cells == LEDGER_MAX_COLUMNS) {
        snprintf(c->err, sizeof c->err, "%s:%d: more than %d columns", c->path, c->line,
                 LEDGER_MAX_COLUMNS);
        return;
    }
    char *v = strndup(s ? s : "", len);
    if (v && !tf_text_is_printable(v)) {
        snprintf(c->err, sizeof c->err, "%s:%d: column %d holds a control character or bytes "
                 "that are not UTF-8", c->path, c->line, c->n_cells + 1);
    }
    c->cells[c->n_cells++] = v;
}

static void drop_cells(csv_rows *c)
{
    for (int i = 0; i < c->n_cells; i++)
        free(c->cells[i]);
    c->n_cells = 0;
}

static void on_record(int term, void *ctx)
{
    (void)term;
    csv_rows *c = ctx;
    int line = c->line;
    c->line = ++c->next_line;
    if (c->err[0] || (c->n_cells == 1 && !c->cells[0][0])) { /* a blank line */
        drop_cells(c);
        return;
    }
    if (!c->n_columns) {
        for (int i = 0; i < c->n_cells; i++) {
            for (int j = 0; j < i; j++)
                if (!strcmp(c->cells[i], c->cells[j]))
                    snprintf(c->err, sizeof c->err, "%s:%d: column \"%s\" repeats", c->path,
                             line, c->cells[i]);
            if (!c->cells[i][0])
                snprintf(c->err, sizeof c->err, "%s:%d: column %d has no name", c->path, line,
                         i + 1);
            c->columns[i] = c->cells[i];
        }
        c->n_columns = c->n_cells;
        c->n_cells = 0;
        return;
    }
    if (c->n_cells != c->n_columns) {
        snprintf(c->err, sizeof c->err, "%s:%d: %d fields, the header has %d", c->path, line,
                 c->n_cells, c->n_columns);
        drop_cells(c);
        return;
    }
    if (!c->cells[0][0]) {
        snprintf(c->err, sizeof c->err, "%s:%d: the key (column \"%s\") is empty", c->path, line,
                 c->columns[0]);
        drop_cells(c);
        return;
    }
    if (c->n_rows == c->cap) {
        int cap = c->cap ? 2 * c->cap : 64;
        char **all = realloc(c->all, (size_t)cap * (size_t)c->n_columns * sizeof *all);
        int *lines = realloc(c->lines, (size_t)cap * sizeof *lines);
        if (all)
            c->all = all;
        if (lines)
            c->lines = lines;
        if (!all || !lines) {
            snprintf(c->err, sizeof c->err, "out of memory");
            drop_cells(c);
            return;
        }
        c->cap = cap;
    }
    memcpy(c->all + (size_t)c->n_rows * (size_t)c->n_columns, c->cells,
           (size_t)c->n_columns * sizeof *c->cells);
    c->lines[c->n_rows++] = line;
    c->n_cells = 0;
}

static void csv_rows_free(csv_rows *c)
{
    drop_cells(c);
    for (int i = 0; i < c->n_rows * c->n_columns; i++)
        free(c->all[i]);
    for (int i = 0; i < c->n_columns; i++)
        free(c->columns[i]);
    free(c->all);
    free(c->lines);
}

static bool read_csv(const char *path, csv_rows *c)
{
    char *text;
    size_t len;
    memset(c, 0, sizeof *c);
    c->path = path;
    c->line = c->next_line = 1;
    if (tf_file_read_text(path, LEDGER_CSV_MAX, &text, &len, c->err, sizeof c->err) != 0)
        return false;
    struct csv_parser p;
    csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL);
    if (csv_parse(&p, text, len, on_field, on_record, c) != len || csv_fini(&p, on_field, on_record, c)) {
        if (!c->err[0])
            snprintf(c->err, sizeof c->err, "%s:%d: %s", path, c->line, csv_strerror(csv_error(&p)));
    }
    csv_free(&p);
    free(text);
    if (!c->err[0] && !c->n_columns)
        snprintf(c->err, sizeof c->err, "%s: empty: a header line names the columns", path);
    return !c->err[0];
}

/* Every column the profile's templates use is in the header; every row builds a sector whose
 * values fit (secrets aside: the station checks those), else the CSV line and the profile's
 * line are named. */
static bool rows_fit_profile(const tf_profile *p, const csv_rows *c, char *err, size_t errlen)
{
    const tf_personal *pp = &p->personal;
    int at[TF_PERSONAL_MAX_COLUMNS];
    for (int i = 0; i < pp->n_columns; i++) {
        at[i] = -1;
        for (int j = 0; j < c->n_columns; j++)
            if (!strcmp(c->columns[j], pp->columns[i]))
                at[i] = j;
        if (at[i] < 0) {
            snprintf(err, errlen, "%s:1: no column \"%s\" (the profile's ledger names it, %s:%d)",
                     c->path, pp->columns[i], p->path, pp->ledger_line);
            return false;
        }
    }
    uint8_t *sector = malloc(OBK_CFG_SIZE);
    const char *vals[TF_PERSONAL_MAX_COLUMNS];
    bool ok = sector != NULL;
    for (int r = 0; ok && r < c->n_rows; r++) {
        for (int i = 0; i < pp->n_columns; i++)
            vals[i] = c->all[(size_t)r * (size_t)c->n_columns + (size_t)at[i]];
        tf_personal_vars v = {.mac = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, .bay = 999, .lot = "",
                              .product = p->product, .columns = vals};
        char why[600];
        if (!tf_personal_build(pp, &v, sector, why, sizeof why)) {
            snprintf(err, errlen, "%s:%d: %s", c->path, c->lines[r], why);
            ok = false;
        }
    }
    free(sector);
    return ok;
}

static int import_cmd(const ledger_args *a)
{
    tf_profile *p = calloc(1, sizeof *p);
    char err[1200];
    if (!p)
        return tf_exit_code(TF_OUT_SETUP);
    if (tf_profile_load(a->profile, p, err, sizeof err) != TF_PROFILE_OK) {
        fprintf(stderr, "trayflash ledger: %s\n", err);
        free(p);
        return tf_exit_code(TF_OUT_USAGE);
    }
    int rc = tf_exit_code(TF_OUT_USAGE);
    csv_rows c;
    if (!p->personal.enabled || !p->personal.ledger_line) {
        fprintf(stderr, "trayflash ledger: %s: the profile has no [personalize] ledger = line: "
                "its modules take no ledger rows\n", p->path);
    } else if (!read_csv(a->file, &c) || !rows_fit_profile(p, &c, err, sizeof err)) {
        fprintf(stderr, "trayflash ledger: %s\n", c.err[0] ? c.err : err);
        csv_rows_free(&c);
    } else {
        db *d;
        char user[64];
        auth_os_user(user, sizeof user);
        if (db_open(a->db, false, &d, err, sizeof err) < 0) {
            fprintf(stderr, "trayflash ledger: %s\n", err);
            rc = tf_exit_code(TF_OUT_SETUP);
        } else {
            db_ledger *l = db_ledger_new(d);
            int64_t n = l ? db_ledger_import(l, p->name, a->file, user,
                                             (const char *const *)c.columns, c.n_columns,
                                             (const char *const *)c.all, c.lines, c.n_rows,
                                             (double)time(NULL), NULL, err, sizeof err) : -1;
            if (n >= 0) {
                printf("%s: %lld rows imported into the ledger of profile %s (%s)\n", a->file,
                       (long long)n, p->name, a->db);
                rc = tf_exit_code(TF_OUT_PASS);
            } else {
                fprintf(stderr, "trayflash ledger: %s\n", err);
                rc = tf_exit_code(db_failure_retryable(d) ? TF_OUT_SETUP : TF_OUT_USAGE);
            }
            db_ledger_free(l);
            db_close(d);
        }
        csv_rows_free(&c);
    }
    tf_profile_free(p);
    free(p);
    return rc;
}

/* ---- status, export, release --------------------------------------------------------- */

/* The ledger's name for --profile: a profile file's `name`, or the name itself. */
static int profile_name(const char *arg, char *out, size_t outlen)
{
    if (!looks_like_file(arg)) {
        snprintf(out, outlen, "%s", arg);
        return 0;
    }
    tf_profile *p = calloc(1, sizeof *p);
    char err[1200];
    int rc = p ? tf_profile_load(arg, p, err, sizeof err) : -1;
    if (rc == TF_PROFILE_OK)
        snprintf(out, outlen, "%s", p->name);
    else
        fprintf(stderr, "trayflash ledger: %s\n", p ? err : "out of memory");
    tf_profile_free(p);
    free(p);
    return rc == TF_PROFILE_OK ? 0 : -1;
}

typedef struct export_ctx {
    FILE *out;
    char **cols;
    int n_cols;
} export_ctx;

static void put_field(FILE *out, const char *s, bool first)
{
    if (!first)
        fputc(',', out);
    csv_fwrite(out, s, strlen(s));
}

static int export_row(void *ctx, const char *mac, const char *key, const char *state,
                      double used_ts, const char *data)
{
    (void)key;
    export_ctx *x = ctx;
    char when[40] = "";
    if (used_ts > 0) {
        time_t t = (time_t)used_ts;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    put_field(x->out, mac, true);
    put_field(x->out, state, false);
    put_field(x->out, when, false);
    cJSON *o = cJSON_Parse(data);
    for (int i = 0; i < x->n_cols; i++) {
        const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, x->cols[i]));
        put_field(x->out, v ? v : "", false);
    }
    cJSON_Delete(o);
    fputs("\r\n", x->out);
    return 0;
}

static int run_on_ledger(const ledger_args *a, const char *name)
{
    char mac[32] = "";
    if (a->mac) { /* stored lower case, as the engine formats it */
        snprintf(mac, sizeof mac, "%s", a->mac);
        for (char *c = mac; *c; c++)
            *c = (char)tolower((unsigned char)*c);
    }
    db *d;
    char err[1200];
    if (db_open(a->db, false, &d, err, sizeof err) < 0) {
        fprintf(stderr, "trayflash ledger: %s\n", err);
        return tf_exit_code(TF_OUT_SETUP);
    }
    db_ledger *l = db_ledger_new(d);
    int rc = tf_exit_code(TF_OUT_PASS);
    if (!strcmp(a->action, "status")) {
        db_ledger_counts c;
        if (!l || db_ledger_counts_of(l, name, &c) < 0) {
            fprintf(stderr, "trayflash ledger: %s\n", db_errmsg(d));
            rc = tf_exit_code(TF_OUT_SETUP);
        } else {
            printf("ledger of profile %s (%s): total %lld, used %lld, reserved %lld, free %lld\n",
                   name, a->db, (long long)c.total, (long long)c.used, (long long)c.reserved,
                   (long long)c.free);
        }
    } else if (!strcmp(a->action, "export")) {
        export_ctx x = {.out = stdout};
        x.n_cols = l ? db_ledger_columns(l, name, &x.cols) : -1;
        if (x.n_cols < 0 || (put_field(stdout, "mac", true), put_field(stdout, "state", false),
                             put_field(stdout, "used_at", false), 0)) {
            fprintf(stderr, "trayflash ledger: %s\n", db_errmsg(d));
            rc = tf_exit_code(TF_OUT_SETUP);
        } else {
            for (int i = 0; i < x.n_cols; i++)
                put_field(stdout, x.cols[i], false);
            fputs("\r\n", stdout);
            if (db_ledger_each_held(l, name, export_row, &x) < 0) {
                fprintf(stderr, "trayflash ledger: %s\n", db_errmsg(d));
                rc = tf_exit_code(TF_OUT_SETUP);
            }
        }
        for (int i = 0; i < x.n_cols; i++)
            free(x.cols[i]);
        free(x.cols);
    } else { /* release */
        char user[64];
        auth_os_user(user, sizeof user);
        int r = l ? db_ledger_release(l, name, a->mac ? mac : NULL, a->key, user, (double)time(NULL), err,
                                      sizeof err) : -1;
        if (r == 1)
            printf("ledger of profile %s: the row held by %s is free again (audited as %s)\n",
                   name, a->mac ? a->mac : a->key, user);
        else {
            fprintf(stderr, "trayflash ledger: %s\n", err);
            rc = tf_exit_code(r == 0 || !db_failure_retryable(d) ? TF_OUT_USAGE : TF_OUT_SETUP);
        }
    }
    db_ledger_free(l);
    db_close(d);
    return rc;
}

int cmd_ledger(int argc, char **argv)
{
    if (cli_help_asked(argc, argv)) {
        cli_print_help(&ledger_cmd, stdout);
        return tf_exit_code(TF_OUT_PASS);
    }
    ledger_args a = {0};
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc;
    if (!strcmp(a.action, "import"))
        return import_cmd(&a);
    bool release = !strcmp(a.action, "release");
    if (!release && strcmp(a.action, "status") && strcmp(a.action, "export")) {
        char msg[160];
        snprintf(msg, sizeof msg, "unknown action '%.60s'", a.action);
        return usage(msg);
    }
    if (release && !a.mac == !a.key)
        return usage("release takes --mac MAC or --key KEY (one of them)");
    char name[64];
    if (profile_name(a.profile, name, sizeof name) < 0)
        return tf_exit_code(TF_OUT_USAGE);
    return run_on_ledger(&a, name);
}
