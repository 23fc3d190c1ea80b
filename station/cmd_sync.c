/* cmd_sync.c - `trayflash sync`: the station file's outbox into the central database, for a
 * station whose own forwarder is not running (a one-shot drain, --once, or a forwarder of its
 * own until SIGINT/SIGTERM), and `--status`: what is queued, parked (with the server's words)
 * and sent. Draining needs the station's lock: a running station forwards its outbox itself.
 * Exit 0 done (--once: nothing left queued), 2 usage, 3 the database or the server failed. */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include "central_conf.h"
#include "central_forward.h"
#include "cli.h"
#include "cli_opts.h"
#include "db.h"
#include "db_lock.h"
#include "exit_codes.h"
#include "outbox.h"
#include "station_config.h"
#include "station_upstream.h"
#include "tf_signals.h"

enum { OPT_ONCE, OPT_STATUS, OPT_DB, OPT_CENTRAL, OPT_CONFIG };

static const cli_opt sync_opts[] = {
    [OPT_ONCE] = {"once", NULL, "send what is queued now, then stop"},
    [OPT_STATUS] = {"status", NULL, "show what is queued, parked (and why) and sent; send nothing"},
    [OPT_DB] = {"db", "FILE", "the station's database (default: the station file's db, else\n"
                              "trayflash.db)"},
    [OPT_CENTRAL] = {"central", "URL", "the central database (default: the station file's central,\n"
                                       "else libpq's environment); no password in it"},
    [OPT_CONFIG] = {"config", "FILE", "the station file (central, central_passfile, db)"},
    {NULL, NULL, NULL},
};

static const cli_command sync_cmd = {
    .name = "sync",
    .synopsis = "sync [--once] [--status] [--db FILE] [--central URL] [--config FILE]",
    .about =
        "Forward the station database's queued records (attempts, profiles, images, audit) to the\n"
        "central PostgreSQL: each batch in one transaction, marked sent only after the server\n"
        "committed it. A running station does this itself, so draining refuses while one holds\n"
        "the database; --status works any time. Without --once, forward until SIGINT/SIGTERM,\n"
        "retrying (1 s doubling to 2 min) while the server is away.",
    .opts = sync_opts,
    .footer = "Exit status: 0 done (--once: nothing left queued), 2 usage error, 3 the database or\n"
              "the central server failed (records stay queued).\n",
};

static void when(double ts, char *out, size_t len)
{
    if (ts <= 0) {
        snprintf(out, len, "never");
        return;
    }
    time_t t = (time_t)ts;
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, len, "%Y-%m-%d %H:%M:%S", &tm);
}

static int print_parked(void *ctx, int64_t id, const char *kind, int64_t ref_id, double ts,
                        const char *reason)
{
    (void)ctx;
    char at[32];
    when(ts, at, sizeof at);
    printf("  parked %s: outbox row %lld, %s %lld: %s\n", at, (long long)id, kind,
           (long long)ref_id, reason);
    return 0;
}

static int status(const char *dbpath)
{
    db *d;
    char err[600];
    if (db_open(dbpath, true, &d, err, sizeof err) < 0) {
        fprintf(stderr, "trayflash sync: %s\n", err);
        return tf_exit_code(TF_OUT_SETUP);
    }
    outbox_stats s;
    if (outbox_get_stats(d, &s) < 0) {
        fprintf(stderr, "trayflash sync: %s: %s\n", dbpath, db_errmsg(d));
        db_close(d);
        return tf_exit_code(TF_OUT_SETUP);
    }
    char oldest[32], last[32];
    when(s.oldest_queued_ts, oldest, sizeof oldest);
    when(s.last_sent_ts, last, sizeof last);
    printf("%s: queued %lld (oldest %s), parked %lld, sent %lld (last %s)\n", dbpath,
           (long long)s.queued, s.queued ? oldest : "-", (long long)s.parked, (long long)s.sent, last);
    outbox_each_parked(d, print_parked, NULL);
    db_close(d);
    return tf_exit_code(TF_OUT_PASS);
}

/* --once: batches until the queue is empty or a batch fails. */
static int drain(const char *dbpath, const central_target *t)
{
    db *d;
    char err[800];
    if (db_open(dbpath, false, &d, err, sizeof err) < 0) {
        fprintf(stderr, "trayflash sync: %s\n", err);
        return tf_exit_code(TF_OUT_SETUP);
    }
    central_fwd *f = central_fwd_new(d, t);
    long long sent = 0, parked = 0;
    bool failed = false, local = false;
    for (central_fwd_step r = {0}; f && !r.empty;) {
        if (central_fwd_run_step(f, 0, &r, err, sizeof err) < 0) {
            snprintf(err, sizeof err, "%s: %s", dbpath, db_errmsg(d));
            failed = local = true;
            break;
        }
        sent += r.sent;
        parked += r.parked;
        if (r.parked)
            fprintf(stderr, "trayflash sync: parked (refused for good): %s\n", err);
        if (r.failed) {
            failed = true;
            break;
        }
    }
    int64_t left = outbox_queued(d);
    central_fwd_free(f);
    db_close(d);
    printf("%s: sent %lld, parked %lld, queued %lld\n", dbpath, sent, parked, (long long)left);
    if (failed)
        fprintf(stderr, "trayflash sync: %s%s\n", err,
                local ? "" : " (the records stay queued; try again later)");
    return tf_exit_code(failed || !f ? TF_OUT_SETUP : TF_OUT_PASS);
}

static void print_note(void *ctx, bool warn, const char *text)
{
    (void)ctx;
    (void)warn;
    fprintf(stderr, "trayflash sync: %s\n", text);
}

/* Without --once: the station's forwarder thread until SIGINT/SIGTERM. */
static int forward(const char *dbpath, const central_target *t)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    tf_signals_to_fd();
    int sfd = signalfd(-1, &set, SFD_CLOEXEC);
    if (sfd < 0) {
        fprintf(stderr, "trayflash sync: signalfd: %s\n", strerror(errno));
        return tf_exit_code(TF_OUT_SETUP);
    }
    char err[600];
    upstream *u = upstream_start(dbpath, t, NULL, print_note, NULL, err, sizeof err);
    if (!u) {
        close(sfd);
        fprintf(stderr, "trayflash sync: %s\n", err);
        return tf_exit_code(TF_OUT_SETUP);
    }
    struct signalfd_siginfo si;
    while (read(sfd, &si, sizeof si) < 0 && errno == EINTR) {
    }
    upstream_state s;
    upstream_get(u, &s);
    upstream_free(u);
    close(sfd);
    printf("%s: sent %lld, queued %lld\n", dbpath, (long long)s.sent, (long long)s.queued);
    return tf_exit_code(si.ssi_signo == SIGTERM ? TF_OUT_SIGTERM : TF_OUT_SIGINT);
}

static int sync_with(station_config *cfg, int argc, char **argv)
{
    const char *dbpath = NULL, *url = NULL, *config = NULL, *v;
    bool once = false, show = false;
    char msg[1024];
    cli_parser cp;
    cli_parser_init(&cp, &sync_cmd, argc, argv);
    for (int opt; (opt = cli_next(&cp, &v, msg, sizeof msg)) != CLI_END;) {
        switch (opt) {
        case CLI_ERROR:
            fprintf(stderr, "trayflash sync: %s\n", msg);
            return tf_exit_code(TF_OUT_USAGE);
        case OPT_ONCE: once = true; break;
        case OPT_STATUS: show = true; break;
        case OPT_DB: dbpath = v; break;
        case OPT_CENTRAL: url = v; break;
        default: config = v; break;
        }
    }
    if (cp.first_operand < argc) {
        fprintf(stderr, "trayflash sync: unexpected argument '%s' (see trayflash sync --help)\n",
                argv[cp.first_operand]);
        return tf_exit_code(TF_OUT_USAGE);
    }
    station_config_defaults(cfg);
    if (config && station_config_load(config, cfg, msg, sizeof msg) < 0) {
        fprintf(stderr, "trayflash sync: %s\n", msg);
        return tf_exit_code(TF_OUT_USAGE);
    }
    if (!dbpath)
        dbpath = cfg->db[0] ? cfg->db : "trayflash.db";
    if (show)
        return status(dbpath);
    central_conf conf;
    if (central_conf_resolve(url, cfg, &conf, msg, sizeof msg) < 0) {
        fprintf(stderr, "trayflash sync: %s\n", msg);
        return tf_exit_code(TF_OUT_USAGE);
    }
    if (!conf.configured) {
        central_conf_close(&conf);
        fprintf(stderr, "trayflash sync: no central database: give --central URL, the station "
                "file's central, or PGSERVICE / PGHOST\n");
        return tf_exit_code(TF_OUT_USAGE);
    }
    /* A running station forwards its own outbox: two forwarders would send each batch twice. */
    db_lock *lock;
    if (db_lock_station(dbpath, "trayflash sync", &lock, msg, sizeof msg) < 0) {
        central_conf_close(&conf);
        fprintf(stderr, "trayflash sync: %s\ntrayflash sync: a running station forwards this "
                "database's records itself; `trayflash sync --status` shows how far it got\n", msg);
        return tf_exit_code(TF_OUT_SETUP);
    }
    central_target t = central_conf_target(&conf, "trayflash sync");
    int rc = once ? drain(dbpath, &t) : forward(dbpath, &t);
    db_unlock(lock);
    central_conf_close(&conf);
    return rc;
}

int cmd_sync(int argc, char **argv)
{
    if (cli_help_asked(argc, argv)) {
        cli_print_help(&sync_cmd, stdout);
        return tf_exit_code(TF_OUT_PASS);
    }
    station_config *cfg = calloc(1, sizeof *cfg); /* large: not on the stack */
    if (!cfg) {
        fprintf(stderr, "trayflash: out of memory\n");
        return tf_exit_code(TF_OUT_SETUP);
    }
    int rc = sync_with(cfg, argc, argv);
    free(cfg);
    return rc;
}
