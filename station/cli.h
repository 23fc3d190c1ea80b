/* cli.h - the trayflash subcommands (one file each) and the usage text they share. Each
 * returns the process exit code from the one outcome table, exit_codes.h. Each prints its own
 * usage to stdout and exits 0 on -h or --help; options and that usage come from one table per
 * command (cli_opts.h). */
#pragma once
#include <stdbool.h>
#include <stdio.h>

int cmd_flash(int argc, char **argv);
int cmd_station(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_profile(int argc, char **argv);  /* profile check | list (cmd_profile.c) */
int cmd_pin_hash(int argc, char **argv); /* pin-hash (cmd_profile.c) */
int cmd_db(int argc, char **argv);       /* db snapshot (cmd_db.c) */
int cmd_backup(int argc, char **argv);   /* backup list | export | verify | prune */
int cmd_restore(int argc, char **argv);  /* restore a module's backup */
int cmd_central(int argc, char **argv);  /* central init | add-station | add-reader */
int cmd_sync(int argc, char **argv);     /* sync: the outbox to the central database */
int cmd_ctl(int argc, char **argv);      /* ctl: lot/operator of a running station (cmd_ctl.c) */
int cmd_ledger(int argc, char **argv);   /* ledger import | status | export | release */
int cmd_adapters(int argc, char **argv); /* adapters (cmd_adapters.c) */
void cli_usage(FILE *out);
/* True when argv[1..] holds -h or --help. */
bool cli_help_asked(int argc, char **argv);

/* station and demo (cmd_station.c): runs a configured station to its end and gives the exit
 * code; `label` names the command in messages and the summary line. */
struct station_opts;
int cli_run_station(struct station_opts *o, bool headless, const char *label);
/* Calls fn with zeroed station options on the heap (they are large: a whole station config),
 * owned by this call. */
int cli_with_station_opts(int (*fn)(struct station_opts *o, int argc, char **argv), int argc,
                          char **argv);
