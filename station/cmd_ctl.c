/* cmd_ctl.c - `trayflash ctl`: give a running station its lot and operator, answer a bay's
 * question (on_already_passed = ask), or ask its state, over the station's control socket
 * (ctl.h). Exit 0 done, 2 usage or a value the station
 * refused, 3 no station runs on that database (or its socket cannot be reached). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "cli.h"
#include "cli_opts.h"
#include "ctl.h"
#include "exit_codes.h"
#include "station_config.h"

enum { OPT_DB, OPT_CONFIG, OPT_LOT, OPT_OPERATOR, OPT_ANSWER, OPT_STATUS };

static const cli_opt ctl_opts[] = {
    [OPT_DB] = {"db", "FILE", "the running station's database (default: the station file's db,\n"
                              "else trayflash.db)"},
    [OPT_CONFIG] = {"config", "FILE", "the station file, for its db"},
    [OPT_LOT] = {"lot", "ID", "the lot (work order or reel) of the next trays; \"\" clears it"},
    [OPT_OPERATOR] = {"operator", "ID", "who runs the station from now on; \"\" clears it"},
    [OPT_ANSWER] = {"answer", "BAY", "answer bay BAY's question (on_already_passed = ask): the\n"
                                      "operand yes re-flashes its module, no leaves it (skipped)"},
    [OPT_STATUS] = {"status", NULL, "print the station's lot, operator, whether jobs wait for them,\n"
                                    "and the bays that wait for an answer"},
    {NULL, NULL, NULL},
};

static const cli_command ctl_cmd = {
    .name = "ctl",
    .synopsis = "ctl [--db FILE | --config FILE] [--lot ID] [--operator ID] [--answer BAY yes|no]\n"
                "    [--status]",
    .about = "Tell a running (headless) station the lot and operator its next attempts record, as\n"
             "an operator scanning them on the dashboard would. A new lot starts a new tray.\n"
             "With on_already_passed = ask, a bay whose module already passed waits for an\n"
             "answer: --answer BAY yes re-flashes it, --answer BAY no leaves it. The station\n"
             "listens on DB.ctl beside its database, for its own user only.",
    .opts = ctl_opts,
    .footer = "Exit status: 0 done, 2 usage error or a value the station refused (a bay that\n"
              "does not wait for an answer), 3 no station runs on that database.\n",
};

static int connect_to(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        snprintf(err, errlen, "%s: %s", path,
                 e == ENOENT || e == ECONNREFUSED ? "no station is running on this database"
                                                  : strerror(e));
        return -1;
    }
    return fd;
}

static int send_all(int fd, const char *s)
{
    for (size_t off = 0, n = strlen(s); off < n;) {
        ssize_t w = send(fd, s + off, n - off, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        off += (size_t)w;
    }
    return 0;
}

/* Sends the requests, prints the replies; TF_OUT_USAGE if the station refused one. */
static tf_outcome converse(int fd, const char *requests)
{
    if (send_all(fd, requests) < 0 || shutdown(fd, SHUT_WR) < 0) {
        fprintf(stderr, "trayflash ctl: sending: %s\n", strerror(errno));
        return TF_OUT_SETUP;
    }
    char buf[16384]; /* status: a line per asking bay */
    size_t len = 0;
    ssize_t r;
    while (len < sizeof buf - 1 && (r = recv(fd, buf + len, sizeof buf - 1 - len, 0)) > 0)
        len += (size_t)r;
    buf[len] = 0;
    if (!len) {
        fprintf(stderr, "trayflash ctl: the station closed the socket without an answer\n");
        return TF_OUT_SETUP;
    }
    tf_outcome out = TF_OUT_PASS;
    for (char *line = buf, *nl; line && *line; line = nl) {
        nl = strchr(line, '\n');
        if (nl)
            *nl++ = 0;
        if (!strncmp(line, "ok ", 3))
            printf("%s\n", line + 3);
        else {
            fprintf(stderr, "trayflash ctl: %s\n", !strncmp(line, "error ", 6) ? line + 6 : line);
            out = TF_OUT_USAGE;
        }
    }
    return out;
}

/* A value goes on one request line: a newline in it would make a second request. */
static bool one_line(const char *what, const char *v)
{
    if (!strpbrk(v, "\r\n"))
        return true;
    fprintf(stderr, "trayflash ctl: --%s has a line break in it\n", what);
    return false;
}

/* "answer BAY yes|no\n" from --answer BAY and its operand; -1 (words on stderr) if either is
 * not what it should be. */
static int answer_request(const char *bay, const char *word, char *out, size_t outlen)
{
    char *end;
    long n = strtol(bay, &end, 10);
    if (end == bay || *end || n < 1 || n > 9999) {
        fprintf(stderr, "trayflash ctl: --answer %s: a bay number (1, 2, ...)\n", bay);
        return -1;
    }
    bool yes = word && (!strcmp(word, "yes") || !strcmp(word, "y"));
    bool no = word && (!strcmp(word, "no") || !strcmp(word, "n"));
    if (!yes && !no) {
        fprintf(stderr, "trayflash ctl: --answer %s needs yes or no after it%s%s\n", bay,
                word ? ", not " : "", word ? word : "");
        return -1;
    }
    snprintf(out, outlen, "answer %ld %s\n", n, yes ? "yes" : "no");
    return 0;
}

int cmd_ctl(int argc, char **argv)
{
    if (cli_help_asked(argc, argv)) {
        cli_print_help(&ctl_cmd, stdout);
        return tf_exit_code(TF_OUT_PASS);
    }
    const char *dbpath = NULL, *config = NULL, *lot = NULL, *op = NULL, *bay = NULL, *v;
    bool status = false;
    char msg[512];
    cli_parser cp;
    cli_parser_init(&cp, &ctl_cmd, argc, argv);
    for (int opt; (opt = cli_next(&cp, &v, msg, sizeof msg)) != CLI_END;) {
        switch (opt) {
        case CLI_ERROR:
            fprintf(stderr, "trayflash ctl: %s\n", msg);
            return tf_exit_code(TF_OUT_USAGE);
        case OPT_DB: dbpath = v; break;
        case OPT_CONFIG: config = v; break;
        case OPT_LOT: lot = v; break;
        case OPT_OPERATOR: op = v; break;
        case OPT_ANSWER: bay = v; break;
        default: status = true;
        }
    }
    /* --answer BAY takes its yes|no as the one operand */
    const char *word = bay && cp.first_operand == argc - 1 ? argv[cp.first_operand] : NULL;
    int operands = argc - cp.first_operand;
    if (operands > (bay ? 1 : 0) || (!lot && !op && !bay && !status)) {
        fprintf(stderr, "trayflash ctl: %s (see trayflash ctl --help)\n",
                operands ? "unexpected argument" : "nothing to do: give --lot, --operator, "
                "--answer or --status");
        return tf_exit_code(TF_OUT_USAGE);
    }
    char answer[64] = "";
    if (bay && answer_request(bay, word, answer, sizeof answer) < 0)
        return tf_exit_code(TF_OUT_USAGE);
    if ((lot && !one_line("lot", lot)) || (op && !one_line("operator", op)))
        return tf_exit_code(TF_OUT_USAGE);
    static station_config cfg;
    char err[SC_PATH_MAX + 200];
    station_config_defaults(&cfg);
    if (config && station_config_load(config, &cfg, err, sizeof err) < 0) {
        fprintf(stderr, "trayflash ctl: %s\n", err);
        return tf_exit_code(TF_OUT_USAGE);
    }
    if (!dbpath)
        dbpath = cfg.db[0] ? cfg.db : "trayflash.db";
    char *abs = realpath(dbpath, NULL);
    if (!abs) {
        fprintf(stderr, "trayflash ctl: %s: %s (no station has run on it)\n", dbpath, strerror(errno));
        return tf_exit_code(TF_OUT_SETUP);
    }
    char path[SC_PATH_MAX + 8];
    int rc = ctl_socket_path(abs, path, sizeof path, err, sizeof err);
    free(abs);
    int fd = rc < 0 ? -1 : connect_to(path, err, sizeof err);
    if (fd < 0) {
        fprintf(stderr, "trayflash ctl: %s\n", err);
        return tf_exit_code(TF_OUT_SETUP);
    }
    char requests[600];
    snprintf(requests, sizeof requests, "%s%s%s%s%s%s%s%s", lot ? "lot " : "", lot ? lot : "",
             lot ? "\n" : "", op ? "operator " : "", op ? op : "", op ? "\n" : "", answer,
             status ? "status\n" : "");
    tf_outcome out = converse(fd, requests);
    close(fd);
    return tf_exit_code(out);
}
