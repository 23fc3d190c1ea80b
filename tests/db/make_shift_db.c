/* make_shift_db.c - writes the realistic shift of db_fixture.c to a new database file, the source
 * of docs/report.png:
 *   make_shift_db shift.db && trayflash report --db shift.db --html report.html
 *   db/render-report-png.sh report.html docs/report.png */
#include "db_fixture.h"
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_shift_db NEW.db\n");
        return 2;
    }
    if (access(argv[1], F_OK) == 0) {
        fprintf(stderr, "make_shift_db: %s exists; give a new file\n", argv[1]);
        return 2;
    }
    db *d = fixture_open(argv[1], false);
    fixture_fill_shift(d);
    db_close(d);
    return 0;
}
