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
void cli_usage(FILE *out);
/* True when argv[1..] holds -h or --help. */
bool cli_help_asked(int argc, char **argv);
