/* test_devsrc.c - the station's udev device source on its own, under umockdev (ctest
 * hotplug_devsrc): what enumerate() and next() report for fake adapters, event by event.
 *
 *   coldplug  - an adapter plugged before the source opens is enumerated with its ID_PATH,
 *               vid:pid and serial (CH340: none).
 *   the gap   - an adapter plugged after the monitor is enabled but before enumerate() is
 *               seen by both; next() must not report it a second time (the station would
 *               flash the module again after the first job).
 *   remove    - reported with the ID_PATH and ids remembered at add (the remove uevent's
 *               parents may be gone); a remove for a node never added is dropped.
 *   noise     - "change" uevents and a tty without a USB parent (ttyS0) report nothing.
 *   re-plug   - the same node on the same port is added again after its remove.
 *   cdc-acm   - a ttyACM adapter is reported like the others. */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include "devsrc.h"
#include "fakeport.h"
#include "check.h"

typedef struct bench {
    UMockdevTestbed *tb;
    devsrc *src;
} bench;

static fakeport *plug(bench *b, fakeport_kind kind, const char *usb, const char *tty, int minor,
                      fakeport_adapter *a)
{
    char err[300] = "";
    REQUIRE_MSG(fakeport_adapter_init(a, kind, usb, tty, minor, NULL, err, sizeof err) == 0, "%s",
               err);
    fakeport *p = fakeport_plug(b->tb, a, NULL, NULL, err, sizeof err);
    REQUIRE_MSG(p, "%s", err);
    return p;
}

/* Drains next() until it has nothing, waiting up to timeout_ms for the fd each time;
 * returns the number of events copied into out (at most max). */
static int drain(bench *b, devsrc_event *out, int max, int timeout_ms)
{
    int n = 0;
    struct pollfd p = {.fd = b->src->ops->fd(b->src), .events = POLLIN};
    while (poll(&p, 1, timeout_ms) > 0) {
        devsrc_event ev;
        while (b->src->ops->next(b->src, &ev) > 0)
            if (n < max)
                out[n++] = ev;
        timeout_ms = 0; /* what is queued arrives together: don't wait for more */
    }
    return n;
}

static void check_adapter(const devsrc_event *ev, devsrc_action action, const fakeport_adapter *a)
{
    char idp[128], node[32];
    fakeport_id_path(a, idp, sizeof idp);
    snprintf(node, sizeof node, "/dev/%s", a->tty);
    CHECK_MSG(ev->action == action, "%s: action %d, expected %d", node, ev->action, action);
    CHECK_MSG(!strcmp(ev->devnode, node), "devnode '%s', expected '%s'", ev->devnode, node);
    CHECK_MSG(!strcmp(ev->id_path, idp), "%s: id_path '%s', expected '%s'", node, ev->id_path,
             idp);
    CHECK_MSG(ev->vid == strtoul(a->vid, NULL, 16) && ev->pid == strtoul(a->pid, NULL, 16),
             "%s: %04x:%04x, expected %s:%s", node, ev->vid, ev->pid, a->vid, a->pid);
    CHECK_MSG(!strcmp(ev->serial, a->serial), "%s: serial '%s', expected '%s'", node, ev->serial,
             a->serial);
}

int main(int argc, char **argv)
{
    support_ensure_umockdev_preload(argv);
    bench b = {0};
    char err[300] = "";
    b.tb = umockdev_testbed_new();
    REQUIRE_MSG(b.tb, "umockdev_testbed_new");

    fakeport_adapter cold, gap, acm;
    fakeport *p_cold = plug(&b, FAKEPORT_CH340, "1-2", "ttyUSB0", 0, &cold);
    b.src = devsrc_udev_open(err, sizeof err);
    REQUIRE_MSG(b.src, "devsrc_udev_open: %s", err);
    fakeport *p_gap = plug(&b, FAKEPORT_FT232R, "1-1", "ttyUSB1", 1, &gap);

    devsrc_event evs[8];
    int n = b.src->ops->enumerate(b.src, evs, 8, err, sizeof err);
    CHECK_EQ_INT(n, 2);
    for (int i = 0; i < n; i++)
        check_adapter(&evs[i], DEVSRC_ADD, strcmp(evs[i].devnode, "/dev/ttyUSB0") ? &gap : &cold);

    /* the gap adapter's "add" is still queued on the monitor */
    n = drain(&b, evs, 8, 500);
    CHECK_MSG(n == 0, "the adapter enumerated in the gap was reported again by next() (%d)", n);

    /* remove: the ids come from memory */
    fakeport_unplug(p_gap);
    n = drain(&b, evs, 8, 2000);
    CHECK_EQ_INT(n, 1);
    if (n == 1)
        check_adapter(&evs[0], DEVSRC_REMOVE, &gap);

    /* noise: a change on a present adapter, a serial port without USB */
    char sys[512];
    fakeport_tty_syspath(&cold, sys, sizeof sys);
    umockdev_testbed_uevent(b.tb, sys, "change");
    GError *gerr = NULL;
    CHECK_MSG(umockdev_testbed_add_from_string(
                 b.tb,
                 "P: /devices/platform/serial8250/tty/ttyS0\nE: SUBSYSTEM=tty\n"
                 "E: DEVNAME=/dev/ttyS0\nE: MAJOR=4\nE: MINOR=64\nA: dev=4:64\n",
                 &gerr),
             "add ttyS0: %s", gerr ? gerr->message : "?");
    n = drain(&b, evs, 8, 500);
    CHECK_MSG(n == 0, "change/ttyS0 reported %d event(s)", n);
    umockdev_testbed_uevent(b.tb, "/sys/devices/platform/serial8250/tty/ttyS0", "remove");
    n = drain(&b, evs, 8, 500);
    CHECK_MSG(n == 0, "remove of ttyS0 (never added) reported %d event(s)", n);

    /* re-plug on the same port and node, and a CDC-ACM adapter */
    fakeport_free(p_gap);
    p_gap = plug(&b, FAKEPORT_FT232R, "1-1", "ttyUSB1", 1, &gap);
    fakeport *p_acm = plug(&b, FAKEPORT_CDC_ACM, "1-3", "ttyACM0", 0, &acm);
    n = drain(&b, evs, 8, 2000);
    CHECK_EQ_INT(n, 2);
    if (n == 2) {
        check_adapter(&evs[0], DEVSRC_ADD, &gap);
        check_adapter(&evs[1], DEVSRC_ADD, &acm);
    }

    b.src->ops->close(b.src);
    fakeport_free(p_acm);
    fakeport_free(p_gap);
    fakeport_free(p_cold);
    g_object_unref(b.tb);
    return CHECK_DONE();
}
