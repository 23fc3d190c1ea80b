/* cmd_db.c - `trayflash db snapshot FILE`: a consistent one-file copy of a (live) database.
 * db/db_snapshot.c does the copy; this parses options. Exit 0 copied, 2 usage, 3 the database
 * or the copy failed (setup error). */
#include <stdbool.h>
#include <string.h>
#include "cli.h"
#include "db.h"

static void db_usage(FILE *out)
{
    fputs("usage: trayflash db snapshot FILE [--db DB] [--force]\n"
          "\n"
          "  Copy the results database DB (default: trayflash.db) to FILE as ONE self-contained\n"
          "  file, consistent even while a station is writing to DB (SQLite's VACUUM INTO reads\n"
          "  one snapshot, WAL included). Copying trayflash.db with cp while a station runs may\n"
          "  miss the newest rows (they sit in trayflash.db-wal); this does not.\n"
          "  FILE must not exist unless --force is given; a failed copy leaves no file.\n"
          "  Exit 0 copied, 2 usage error, 3 the database or the copy failed.\n",
          out);
}

static int db_snapshot_cmd(int argc, char **argv)
{
    const char *dbpath = "trayflash.db", *dest = NULL;
    bool force = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            db_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--force")) {
            force = true;
        } else if (!strcmp(a, "--db")) {
            if (i + 1 >= argc)
                return cli_missing_value("db snapshot", a);
            dbpath = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            return cli_bad_option("db snapshot", a);
        } else if (dest) {
            fprintf(stderr, "trayflash db snapshot: one FILE only ('%s' and '%s')\n", dest, a);
            return 2;
        } else {
            dest = a;
        }
    }
    if (!dest) {
        fprintf(stderr, "trayflash db snapshot: FILE missing\n");
        db_usage(stderr);
        return 2;
    }
    db *d;
    char err[600];
    if (db_open(dbpath, true, &d, err, sizeof err) < 0) {
        fprintf(stderr, "trayflash db snapshot: %s\n", err);
        return 3;
    }
    int rc = db_snapshot(d, dest, force);
    if (rc < 0)
        fprintf(stderr, "trayflash db snapshot: %s%s\n", db_errmsg(d),
                strstr(db_errmsg(d), "not overwritten") ? " (give --force to replace it)" : "");
    db_close(d);
    if (rc < 0)
        return 3;
    printf("%s: snapshot of %s written\n", dest, dbpath);
    return 0;
}

int cmd_db(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        db_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "snapshot"))
        return db_snapshot_cmd(argc - 1, argv + 1);
    fprintf(stderr, "trayflash db: unknown action '%s' (see trayflash db --help)\n", argv[1]);
    return 2;
}
