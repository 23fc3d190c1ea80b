/* bk_link.c - see bk_link.h. */
#include "bk_link.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bk_status io_status(int rc)
{
    return rc == BK_IO_GONE ? BK_ST_GONE : BK_ST_IO;
}

bk_status bk_reset_into_window(bk_session *s, bool *no_lines)
{
    bk_transport *tp = s->tp;
    *no_lines = false;
    if (tp->baud != BK_LINK_BAUD && tp->ops->set_baud(tp, BK_LINK_BAUD) < 0)
        return BK_ST_IO;
    s->baud = BK_LINK_BAUD;
    int rc = tp->ops->set_lines(tp, true, true); /* RTS and DTR asserted: CEN low */
    if (rc == BK_IO_UNSUPPORTED) {
        *no_lines = true;
        rc = tp->ops->reopen(tp);
        return rc < 0 ? io_status(rc) : BK_ST_OK;
    }
    if (rc < 0)
        return io_status(rc);
    bk_sleep_ms(BK_RESET_PULSE_MS);
    rc = tp->ops->set_lines(tp, false, true);
    if (rc >= 0) {
        bk_sleep_ms(BK_RESET_PULSE_MS);
        rc = tp->ops->set_lines(tp, false, false); /* CEN high: the chip boots */
    }
    return rc < 0 ? io_status(rc) : BK_ST_OK;
}

bk_probe_outcome bk_probe(const char *port, bk_chip chip, int window_ms, atomic_int *cancel,
                          uint8_t mac[6], bool *have_mac, char *err, size_t errlen)
{
    *have_mac = false;
    bk_transport *tp = bk_transport_open(port, BK_LINK_BAUD, err, errlen);
    if (!tp)
        return BK_PROBE_PORT_ERROR;
    bk_session *s = calloc(1, sizeof *s); /* large buffers: not on a worker's stack */
    if (!s) {
        bk_transport_close(tp);
        snprintf(err, errlen, "probe: out of memory");
        return BK_PROBE_PORT_ERROR;
    }
    bk_session_init(s, tp, cancel);
    bool no_lines;
    bk_probe_outcome out = BK_PROBE_NO_MODULE;
    bk_status st = bk_reset_into_window(s, &no_lines);
    if (st != BK_ST_OK) {
        snprintf(err, errlen, "%s: reset failed: %s", port, tp->last_error);
        out = BK_PROBE_PORT_ERROR;
        goto done;
    }
    double deadline = bk_now_s() + window_ms / 1000.0;
    st = BK_ST_TIMEOUT;
    while (bk_now_s() < deadline) {
        st = bk_link_check(s, 20);
        if (st == BK_ST_OK || st == BK_ST_GONE || st == BK_ST_CANCELLED)
            break;
    }
    if (st == BK_ST_OK) {
        out = BK_PROBE_MODULE;
        s->fam = bk_family_get(chip);
        bool found = false;
        if (s->fam && bk_read_mac(s, mac, &found) == BK_ST_OK && found)
            *have_mac = true;
    } else if (st == BK_ST_GONE) {
        out = BK_PROBE_PORT_ERROR;
        snprintf(err, errlen, "%s: port vanished", port);
    }
done:
    free(s);
    bk_transport_close(tp);
    return out;
}
