/* main.c - trayflash: dispatch to a subcommand. */
#include <string.h>
#include "cli.h"
#include "exit_codes.h"

void cli_usage(FILE *out)
{
    fputs(
        "usage: trayflash COMMAND [options]\n"
        "\n"
        "  flash --port PATH --profile FILE [--db FILE] [--json] [-v]\n"
        "      Flash one module and verify it (exit status below). --db records the attempt\n"
        "      and keeps the profile's backup (backup = device|full) in FILE.blocks/.\n"
        "  station --profile FILE [--config FILE] [--db FILE] [--headless] [--syslog]\n"
        "          [--sim N [--sim-scenario FILE] [--time-scale X]] [--once]\n"
        "          [--link-timeout-ms MS] [--lot ID] [--operator ID]\n"
        "      Run the tray: hot-plugged adapters become bays and are flashed in parallel.\n"
        "      --sim N uses N simulated modules in-process instead of udev. --syslog also\n"
        "      sends the headless lines to syslog. TRAYFLASH_DEBUG=db,wire: debug notices of\n"
        "      every commit (db) and every frame on the wire, per bay (wire); ledger-pause\n"
        "      holds a job after its config sector verified, before its ledger row is marked\n"
        "      used (crash tests).\n"
        "  report [--db FILE] [--since TIME] [--until TIME] [--profile NAME] [--bay N]\n"
        "         [--format table|csv|json] [--html FILE] [--central URL]\n"
        "      Yield report from the database. TIME: unix seconds, YYYY-MM-DD or\n"
        "      'YYYY-MM-DD HH:MM'.\n"
        "  demo [--bays N] [--headless] [--db FILE] [--once] [--time-scale X] [--profile FILE]\n"
        "      N simulated modules with a realistic fault mix on profiles/demo-small.ini;\n"
        "      --once exits after every bay finished one attempt. Database: trayflash-demo.db.\n"
        "  profile check FILE... [--json]\n"
        "      Parse every variant of each profile and show what it writes: chip, offset,\n"
        "      image kind and size, sha256 (computed and pinned), erase units, and the time\n"
        "      per module the simulator's wire+flash model gives. Exit 2 on any error.\n"
        "  profile list [DIR] [--db FILE]\n"
        "      The profiles in DIR (default: profiles) with, from the database, modules\n"
        "      flashed, yield and last use; files that are not profiles are skipped with a note.\n"
        "  profile new FILE\n"
        "      Write a commented profile template (never over an existing file).\n"
        "  db snapshot FILE [--db DB] [--force]\n"
        "      A consistent one-file copy of the database, safe while a station writes to it.\n"
        "  backup list [--db FILE] [--mac M]\n"
        "  backup export [--db FILE] --mac M [--backup ID] FILE.bin\n"
        "  backup verify [--db FILE]\n"
        "  backup prune --older-than D [--db FILE] [--force]\n"
        "      The modules' backups kept before their first erase: list them with the store's\n"
        "      size and dedupe ratio, export one as a 2 MiB image with a list of its real\n"
        "      ranges, re-hash every block, delete old ones (never a module's only one\n"
        "      without --force).\n"
        "  restore --port PATH --mac M [--db FILE] [--backup ID] [--force] [--baud B]\n"
        "      Write a module's backup back and verify it by CRC; --force for a module that\n"
        "      shows no MAC.\n"
        "  sync [--once] [--status] [--db FILE] [--central URL] [--config FILE]\n"
        "      Forward the database's queued records to the central PostgreSQL (a running\n"
        "      station does it itself); --status: queued, parked (and why), sent.\n"
        "  central init | add-station NAME | add-reader NAME [--central URL]\n"
        "      Create or migrate the central schema; a login role per station, or read-only.\n"
        "  ctl [--db FILE | --config FILE] [--lot ID] [--operator ID] [--answer BAY yes|no]\n"
        "      [--status]\n"
        "      Give a running station the lot and operator its next attempts record; answer\n"
        "      a bay that asks whether to re-flash a module that already passed.\n"
        "  ledger import FILE.csv --profile P | status | export | release [--db FILE]\n"
        "      The per-device ledger of a profile with [personalize]: rows modules take one\n"
        "      each by MAC; status counts them, export gives MAC -> row as CSV, release frees\n"
        "      a failed module's row (--mac or --key), audited.\n"
        "  adapters [--config FILE] [-v]\n"
        "      The USB-serial adapters connected now: bay, port, model, serial, driver and\n"
        "      the rates each truly produces (the station runs a bay no faster).\n"
        "  pin-hash\n"
        "      Read an engineer PIN (no echo; from stdin when it is not a terminal) and print\n"
        "      its yescrypt hash for [station] engineer_pin_hash.\n"
        "  help, -h, --help\n"
        "      This text. COMMAND --help (or -h) prints that command's own usage.\n"
        "  --version\n"
        "      The program's version.\n"
        "\n"
        "Exit status (every command):\n",
        out);
    for (int o = 0; o < TF_OUT_COUNT; o++)
        fprintf(out, "  %3d  %s\n", tf_exit_code((tf_outcome)o), tf_outcome_get((tf_outcome)o)->meaning);
}

bool cli_help_asked(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return true;
    return false;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        cli_usage(stderr);
        return tf_exit_code(TF_OUT_USAGE);
    }
    const char *c = argv[1];
    if (!strcmp(c, "flash"))
        return cmd_flash(argc - 1, argv + 1);
    if (!strcmp(c, "station"))
        return cmd_station(argc - 1, argv + 1);
    if (!strcmp(c, "report"))
        return cmd_report(argc - 1, argv + 1);
    if (!strcmp(c, "demo"))
        return cmd_demo(argc - 1, argv + 1);
    if (!strcmp(c, "profile"))
        return cmd_profile(argc - 1, argv + 1);
    if (!strcmp(c, "pin-hash"))
        return cmd_pin_hash(argc - 1, argv + 1);
    if (!strcmp(c, "db"))
        return cmd_db(argc - 1, argv + 1);
    if (!strcmp(c, "backup"))
        return cmd_backup(argc - 1, argv + 1);
    if (!strcmp(c, "restore"))
        return cmd_restore(argc - 1, argv + 1);
    if (!strcmp(c, "central"))
        return cmd_central(argc - 1, argv + 1);
    if (!strcmp(c, "sync"))
        return cmd_sync(argc - 1, argv + 1);
    if (!strcmp(c, "ctl"))
        return cmd_ctl(argc - 1, argv + 1);
    if (!strcmp(c, "ledger"))
        return cmd_ledger(argc - 1, argv + 1);
    if (!strcmp(c, "adapters"))
        return cmd_adapters(argc - 1, argv + 1);
    if (!strcmp(c, "--version") || !strcmp(c, "version")) {
        printf("trayflash %s\n", TRAYFLASH_VERSION);
        return 0;
    }
    if (!strcmp(c, "help") || !strcmp(c, "--help") || !strcmp(c, "-h")) {
        cli_usage(stdout);
        return 0;
    }
    fprintf(stderr, "trayflash: unknown command '%s'\n\n", c);
    cli_usage(stderr);
    return tf_exit_code(TF_OUT_USAGE);
}
