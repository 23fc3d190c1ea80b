/* cmd_db.c - `trayflash db snapshot FILE`: a consistent one-file copy of a (live) database.
 * db/db_snapshot.c does the copy; this parses options. Exit 0 copied, 2 usage, 3 the database
 * or the copy failed (setup error). */
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include "cli.h"
#include "cli_opts.h"
#include "exit_codes.h"
#include "blockstore.h"
#include "db.h"

enum { OPT_DB, OPT_FORCE };

static const cli_opt snapshot_opts[] = {
    [OPT_DB] = {"db", "DB", "the results database to copy (default trayflash.db)"},
    [OPT_FORCE] = {"force", NULL, "replace FILE if it exists"},
    {NULL, NULL, NULL},
};

static const cli_command snapshot_cmd = {
    .name = "db snapshot",
    .synopsis = "db snapshot FILE [--db DB] [--force]",
    .about = "Copy the results database DB to FILE as ONE self-contained file, consistent even\n"
             "while a station is writing to DB (SQLite's VACUUM INTO reads one snapshot, WAL\n"
             "included). Copying trayflash.db with cp while a station runs may miss the newest\n"
             "rows (they sit in trayflash.db-wal); this does not. FILE must not exist unless\n"
             "--force is given; a failed copy leaves no file. The backup store beside DB\n"
             "(DB.blocks/, trayflash backup) is copied to FILE.blocks/ after the database, so every\n"
             "block the copy's index names is in the copy's store.",
    .opts = snapshot_opts,
    .footer = "Exit status: 0 copied, 2 usage error, 3 the database or the copy failed.\n",
};

/* The backup store beside the database, if it has one, goes beside the copy: after the
 * database, so every block the copy's index names is there (blocks are only ever added). */
static int copy_store(const char *dbpath, const char *dest, char *err, size_t errlen)
{
    char src_dir[4096], dest_dir[4096];
    blockstore_dir_for_db(dbpath, src_dir, sizeof src_dir);
    blockstore_dir_for_db(dest, dest_dir, sizeof dest_dir);
    struct stat st;
    if (stat(src_dir, &st) != 0)
        return 0; /* no backups kept */
    blockstore *bs;
    if (blockstore_open(src_dir, false, &bs, err, errlen) < 0)
        return -1;
    int rc = blockstore_copy_to(bs, dest_dir, err, errlen);
    blockstore_close(bs);
    return rc;
}

static int db_snapshot_cmd(int argc, char **argv)
{
    if (cli_help_asked(argc, argv)) {
        cli_print_help(&snapshot_cmd, stdout);
        return tf_exit_code(TF_OUT_PASS);
    }
    const char *dbpath = "trayflash.db", *dest = NULL, *v;
    bool force = false;
    char msg[512];
    cli_parser cp;
    cli_parser_init(&cp, &snapshot_cmd, argc, argv);
    for (int opt; (opt = cli_next(&cp, &v, msg, sizeof msg)) != CLI_END;) {
        if (opt == CLI_ERROR) {
            fprintf(stderr, "trayflash db snapshot: %s\n", msg);
            return tf_exit_code(TF_OUT_USAGE);
        }
        if (opt == OPT_DB)
            dbpath = v;
        else
            force = true;
    }
    if (cp.first_operand + 1 != argc) {
        fprintf(stderr, "trayflash db snapshot: %s (see trayflash db snapshot --help)\n",
                cp.first_operand >= argc ? "FILE missing" : "one FILE only");
        return tf_exit_code(TF_OUT_USAGE);
    }
    dest = argv[cp.first_operand];
    db *d;
    char err[600];
    if (db_open(dbpath, true, &d, err, sizeof err) < 0) {
        fprintf(stderr, "trayflash db snapshot: %s\n", err);
        return tf_exit_code(TF_OUT_SETUP);
    }
    int rc = db_snapshot(d, dest, force);
    if (rc < 0)
        fprintf(stderr, "trayflash db snapshot: %s%s\n", db_errmsg(d),
                strstr(db_errmsg(d), "not overwritten") ? " (give --force to replace it)" : "");
    db_close(d);
    if (rc < 0)
        return tf_exit_code(TF_OUT_SETUP);
    if (copy_store(dbpath, dest, err, sizeof err) < 0) {
        fprintf(stderr, "trayflash db snapshot: %s (the database copy %s is written; its backup "
                "index names blocks its store lacks)\n", err, dest);
        return tf_exit_code(TF_OUT_SETUP);
    }
    printf("%s: snapshot of %s written\n", dest, dbpath);
    return tf_exit_code(TF_OUT_PASS);
}

int cmd_db(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "snapshot"))
        return db_snapshot_cmd(argc - 1, argv + 1);
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        cli_print_help(&snapshot_cmd, stdout);
        return tf_exit_code(TF_OUT_PASS);
    }
    if (argc < 2)
        cli_print_help(&snapshot_cmd, stderr);
    else
        fprintf(stderr, "trayflash db: unknown action '%s' (see trayflash db --help)\n", argv[1]);
    return tf_exit_code(TF_OUT_USAGE);
}
