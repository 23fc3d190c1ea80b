/* cmd_central.c - `trayflash central init|add-station|add-reader`: the factory's central
 * PostgreSQL, made and given its roles (db/central.h does the work; docs/factory.md says how a
 * line deploys it). Exit 0 done, 2 usage, 3 the server refused or was not reached. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "central.h"
#include "central_conf.h"
#include "cli.h"
#include "cli_opts.h"
#include "exit_codes.h"

enum { OPT_CENTRAL, OPT_PASSFILE, OPT_RESET };

static const cli_opt central_opts[] = {
    [OPT_CENTRAL] = {"central", "URL", "the central database, as its owner (no password in it: a\n"
                                       "passfile or PGPASSFILE gives it); default: libpq's\n"
                                       "environment (PGSERVICE, PGHOST, ...)"},
    [OPT_PASSFILE] = {"passfile", "FILE", "add-station/add-reader: write the new role's passfile\n"
                                          "line to FILE (made, mode 0600) instead of stdout"},
    [OPT_RESET] = {"reset-password", NULL, "add-station/add-reader: the role exists; give it a\n"
                                           "new password"},
    {NULL, NULL, NULL},
};

static const cli_command central_cmd = {
    .name = "central",
    .synopsis = "central init [--central URL]\n"
                "        central add-station NAME [--central URL] [--passfile FILE] [--reset-password]\n"
                "        central add-reader NAME [--central URL] [--passfile FILE] [--reset-password]",
    .about =
        "The factory's central PostgreSQL, where every station's records meet.\n"
        "init: create the schema, or migrate it forward (versioned; safe to run again).\n"
        "add-station NAME: a login role for one station: it may only add rows of its own\n"
        "station, never change or delete any, and reads other stations' records only through\n"
        "the cross-station guard. Prints the station file's `central =` line and the passfile\n"
        "line (the password is made here and shown once).\n"
        "add-reader NAME: a read-only role for reports and dashboards (Grafana).",
    .opts = central_opts,
    .footer = "Exit status: 0 done, 2 usage error, 3 the server refused or could not be reached.\n"
              "See docs/factory.md.\n",
};

static int fail(const char *what, const char *err, tf_outcome o)
{
    fprintf(stderr, "trayflash central%s%s: %s\n", what[0] ? " " : "", what, err);
    return tf_exit_code(o);
}

static bool loopback(const char *host)
{
    return host[0] == '/' || !strcmp(host, "localhost") || !strncmp(host, "127.", 4) ||
           !strcmp(host, "::1");
}

/* What the station needs: its URL (no password) and its passfile line. */
static int print_role(const central_role *r, central_role_kind kind, const char *passfile)
{
    char line[512];
    snprintf(line, sizeof line, "%s:%s:%s:%s:%s\n", loopback(r->host) ? "localhost" : r->host,
             r->port, r->dbname, r->role, r->password);
    if (passfile) {
        int fd = open(passfile, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
            return fail("", passfile[0] ? strerror(errno) : "empty --passfile", TF_OUT_SETUP);
        size_t n = strlen(line);
        bool ok = write(fd, line, n) == (ssize_t)n;
        ok = close(fd) == 0 && ok;
        if (!ok)
            return fail(passfile, strerror(errno), TF_OUT_SETUP);
    }
    printf("role %s made (%s).\n", r->role,
           kind == CENTRAL_ROLE_STATION
               ? "adds its own station's rows only; reads others' only through tf_guard()"
               : "reads every table; writes nothing");
    printf("\n%s:\n  central = postgresql://%s@%s:%s/%s%s\n",
           kind == CENTRAL_ROLE_STATION ? "In the station file, [station]" : "Its URL",
           r->role, r->host[0] == '/' ? "localhost" : r->host, r->port, r->dbname,
           loopback(r->host) ? "" : "?sslmode=verify-full");
    if (passfile)
        printf("\nIts passfile line is in %s (mode 0600): give it to the station as the systemd\n"
               "credential pgpass (LoadCredential=pgpass:/etc/trayflash/pgpass) or as\n"
               "central_passfile; then remove this copy.\n", passfile);
    else
        printf("\nIts passfile line (shown once; a file of mode 0600 the station reads: the\n"
               "systemd credential pgpass, or central_passfile):\n  %s", line);
    return tf_exit_code(TF_OUT_PASS);
}

static int run_action(const central_conf *conf, bool init, central_role_kind kind, const char *name,
                      bool reset, const char *passfile)
{
    central_target t = central_conf_target(conf, "trayflash central");
    const char *action = init ? "init" : kind == CENTRAL_ROLE_READER ? "add-reader" : "add-station";
    char msg[1024];
    if (init) {
        int from = 0, to = 0;
        if (central_init(&t, &from, &to, msg, sizeof msg) < 0)
            return fail(action, msg, TF_OUT_SETUP);
        if (from == to)
            printf("central schema at version %d: nothing to do\n", to);
        else
            printf("central schema migrated from version %d to %d\n", from, to);
        return tf_exit_code(TF_OUT_PASS);
    }
    central_role r;
    if (central_add_role(&t, kind, name, reset, &r, msg, sizeof msg) < 0)
        return fail(action, msg, strstr(msg, "use 1 to") ? TF_OUT_USAGE : TF_OUT_SETUP);
    int rc = print_role(&r, kind, passfile);
    memset(r.password, 0, sizeof r.password);
    return rc;
}

int cmd_central(int argc, char **argv)
{
    if (cli_help_asked(argc, argv)) {
        cli_print_help(&central_cmd, stdout);
        return tf_exit_code(TF_OUT_PASS);
    }
    const char *url = NULL, *passfile = NULL, *v;
    bool reset = false;
    char msg[1024];
    cli_parser cp;
    cli_parser_init(&cp, &central_cmd, argc, argv);
    for (int opt; (opt = cli_next(&cp, &v, msg, sizeof msg)) != CLI_END;) {
        if (opt == CLI_ERROR)
            return fail("", msg, TF_OUT_USAGE);
        if (opt == OPT_CENTRAL)
            url = v;
        else if (opt == OPT_PASSFILE)
            passfile = v;
        else
            reset = true;
    }
    int nops = argc - cp.first_operand;
    const char *action = nops > 0 ? argv[cp.first_operand] : "";
    bool init = !strcmp(action, "init");
    central_role_kind kind = !strcmp(action, "add-reader") ? CENTRAL_ROLE_READER : CENTRAL_ROLE_STATION;
    if (!init && strcmp(action, "add-station") && strcmp(action, "add-reader"))
        return fail("", nops ? "unknown action (init, add-station, add-reader; see --help)"
                             : "which action? (init, add-station, add-reader; see --help)",
                    TF_OUT_USAGE);
    if (nops != (init ? 1 : 2))
        return fail(action, init ? "takes no NAME" : "NAME missing, or more than one", TF_OUT_USAGE);
    if (init && (passfile || reset))
        return fail(action, "--passfile and --reset-password are for add-station and add-reader",
                    TF_OUT_USAGE);
    central_conf conf;
    if (central_conf_resolve(url, NULL, &conf, msg, sizeof msg) < 0)
        return fail(action, msg, TF_OUT_USAGE);
    if (!conf.configured) /* nothing opened */
        return fail(action, "no central database: give --central URL (or PGSERVICE / PGHOST)",
                    TF_OUT_USAGE);
    int rc = run_action(&conf, init, kind, init ? NULL : argv[cp.first_operand + 1], reset, passfile);
    central_conf_close(&conf);
    return rc;
}
