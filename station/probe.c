/* probe.c - see probe.h. The reset pulse widths are the chip's timing, not synchronisation. */
#include "probe.h"
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <time.h>
#include "bk_session.h"
#include "transport.h"

#define PROBE_BAUD 115200u
#define PROBE_PULSE_MS 100

static void pulse_wait(void)
{
    struct timespec ts = {0, PROBE_PULSE_MS * 1000000L};
    nanosleep(&ts, NULL);
}

static bool reset(bk_transport *tp)
{
    int rc = tp->ops->set_lines(tp, true, true);
    if (rc == BK_IO_UNSUPPORTED)
        return tp->ops->reopen(tp) >= 0;
    if (rc < 0)
        return false;
    pulse_wait();
    if (tp->ops->set_lines(tp, false, true) < 0)
        return false;
    pulse_wait();
    return tp->ops->set_lines(tp, false, false) >= 0;
}

probe_outcome probe_module(const char *port, bk_chip chip, int window_ms, atomic_int *cancel,
                           uint8_t mac[6], bool *have_mac, char *err, size_t errlen)
{
    *have_mac = false;
    bk_transport *tp = bk_transport_open(port, PROBE_BAUD, err, errlen);
    if (!tp)
        return PROBE_PORT_ERROR;
    probe_outcome out = PROBE_NO_MODULE;
    if (!reset(tp)) {
        snprintf(err, errlen, "%s: reset failed: %s", port, tp->last_error);
        bk_transport_close(tp);
        return PROBE_PORT_ERROR;
    }
    static_assert(sizeof(bk_session) > 0, "session");
    bk_session *s = calloc(1, sizeof *s); /* large buffers: not on a worker's stack */
    if (!s) {
        bk_transport_close(tp);
        snprintf(err, errlen, "probe: out of memory");
        return PROBE_PORT_ERROR;
    }
    bk_session_init(s, tp, cancel);
    double deadline = bk_now_s() + window_ms / 1000.0;
    bk_status st = BK_ST_TIMEOUT;
    while (bk_now_s() < deadline) {
        st = bk_link_check(s, 20);
        if (st == BK_ST_OK || st == BK_ST_GONE || st == BK_ST_CANCELLED)
            break;
    }
    if (st == BK_ST_OK) {
        out = PROBE_MODULE;
        s->fam = bk_family_get(chip);
        bool found = false;
        if (s->fam && bk_read_mac(s, mac, &found) == BK_ST_OK && found)
            *have_mac = true;
    } else if (st == BK_ST_GONE) {
        out = PROBE_PORT_ERROR;
        snprintf(err, errlen, "%s: port vanished", port);
    }
    free(s);
    bk_transport_close(tp);
    return out;
}
