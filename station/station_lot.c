/* station_lot.c - the lot and operator of the attempts a station starts: given on the command
 * line, scanned on the dashboard, or sent with `trayflash ctl` while the station runs. A lot is
 * a work order or a reel; trays within it are numbered by the database writer (station_db.c)
 * from the tray count kept here. With require_lot = yes no job starts until both are known. */
#include <stdio.h>
#include <string.h>
#include "station_internal.h"
#include "station_log.h"
#include "tf_text.h"

#define LOT_MAX 63

/* A lot or operator id as scanned: printable text (a scanner is a keyboard, and the value is
 * shown on terminals and in every record), not too long. */
static int check_id(const char *what, const char *v, char *msg, size_t msglen)
{
    if (strlen(v) > LOT_MAX) {
        snprintf(msg, msglen, "%s is %zu bytes long: at most %d", what, strlen(v), LOT_MAX);
        return -1;
    }
    if (!tf_text_is_printable(v)) {
        char shown[4 * LOT_MAX + 8];
        tf_text_escape(v, shown, sizeof shown);
        snprintf(msg, msglen, "%s \"%s\" has control characters or bytes that are not UTF-8",
                 what, shown);
        return -1;
    }
    return 0;
}

bool station_lot_missing_locked(const station *st)
{
    return st->o.cfg.require_lot == SC_REQUIRE_LOT_YES && (!st->lot[0] || !st->operator_id[0]);
}

int station_set_lot(station *st, const char *lot, const char *operator_id, char *msg,
                    size_t msglen)
{
    if ((lot && check_id("lot", lot, msg, msglen) < 0) ||
        (operator_id && check_id("operator", operator_id, msg, msglen) < 0))
        return -1;
    pthread_mutex_lock(&st->lock);
    if (lot)
        snprintf(st->lot, sizeof st->lot, "%s", lot);
    if (operator_id)
        snprintf(st->operator_id, sizeof st->operator_id, "%s", operator_id);
    bool missing = station_lot_missing_locked(st);
    if (!missing)
        st->lot_wait_said = false;
    snprintf(msg, msglen, "lot %s, operator %s%s", st->lot[0] ? st->lot : "(none)",
             st->operator_id[0] ? st->operator_id : "(none)",
             missing ? "; require_lot: both are needed before a module is flashed" : "");
    pthread_mutex_unlock(&st->lock);
    st_notice(st->q, 0, ST_LOG_INFO, "%s", msg);
    station_poke(st->wake_fd); /* jobs held for a lot may start now */
    return 0;
}

void station_get_lot(station *st, char lot[64], char operator_id[64], bool *waiting)
{
    pthread_mutex_lock(&st->lock);
    snprintf(lot, 64, "%s", st->lot);
    snprintf(operator_id, 64, "%s", st->operator_id);
    *waiting = station_lot_missing_locked(st);
    pthread_mutex_unlock(&st->lock);
}

/* At start, from the command line (before any thread runs). */
int station_lot_init(station *st, char *err, size_t errlen)
{
    if ((st->o.lot && check_id("--lot", st->o.lot, err, errlen) < 0) ||
        (st->o.operator_id && check_id("--operator", st->o.operator_id, err, errlen) < 0))
        return -1;
    snprintf(st->lot, sizeof st->lot, "%s", st->o.lot ? st->o.lot : "");
    snprintf(st->operator_id, sizeof st->operator_id, "%s", st->o.operator_id ? st->o.operator_id : "");
    return 0;
}
