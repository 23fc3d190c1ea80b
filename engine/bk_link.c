/* bk_link.c - see bk_link.h. */
#include "bk_link.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bk_status io_status(int rc)
{
    return rc == BK_IO_GONE ? BK_ST_GONE : BK_ST_IO;
}

bk_status bk_reset_into_window(bk_session *s, const bk_reset_seq *seq, bool *no_lines)
{
    bk_transport *tp = s->tp;
    *no_lines = false;
    if (!seq)
        seq = bk_reset_default();
    if (tp->baud != BK_LINK_BAUD && tp->ops->set_baud(tp, BK_LINK_BAUD) < 0)
        return BK_ST_IO;
    s->baud = BK_LINK_BAUD;
    bool dtr = false, rts = false; /* lines no step has named are released */
    for (int i = 0; i < seq->n; i++) {
        const bk_reset_step *st = &seq->steps[i];
        if (st->set_dtr || st->set_rts) {
            if (st->set_dtr)
                dtr = st->on;
            if (st->set_rts)
                rts = st->on;
            int rc = tp->ops->set_lines(tp, dtr, rts);
            if (rc == BK_IO_UNSUPPORTED) {
                *no_lines = true;
                rc = tp->ops->reopen(tp);
                return rc < 0 ? io_status(rc) : BK_ST_OK;
            }
            if (rc < 0)
                return io_status(rc);
        }
        if (st->hold_ms)
            bk_sleep_ms(st->hold_ms);
    }
    return BK_ST_OK;
}

static bk_status at_baud(bk_session *s, uint32_t baud)
{
    if (s->tp->baud != baud && s->tp->ops->set_baud(s->tp, baud) < 0)
        return BK_ST_IO;
    s->baud = baud;
    return BK_ST_OK;
}

bk_status bk_app_reboot(bk_session *s, unsigned what, uint32_t app_baud)
{
    if (!app_baud)
        app_baud = BK_LINK_BAUD;
    bk_status st = at_baud(s, app_baud);
    if (st == BK_ST_OK)
        st = bk_app_reboot_request(s, what);
    if (st == BK_ST_OK && (what & BK_APP_REBOOT_FRAME) && app_baud != BK_LINK_BAUD &&
        (st = at_baud(s, BK_LINK_BAUD)) == BK_ST_OK)
        st = bk_app_reboot_request(s, BK_APP_REBOOT_FRAME);
    if (st == BK_ST_OK)
        st = at_baud(s, BK_LINK_BAUD);
    return st;
}

bk_probe_outcome bk_probe(const char *port, bk_chip chip, const bk_reset_seq *reset, int window_ms,
                          atomic_int *cancel, uint8_t mac[6], bool *have_mac, char *err,
                          size_t errlen)
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
    bk_status st = bk_reset_into_window(s, reset, &no_lines);
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
