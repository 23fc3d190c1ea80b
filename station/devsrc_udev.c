/* devsrc_udev.c - adapters from libudev: coldplug enumeration + a tty monitor. A remove
 * event's parent attributes may already be gone (sysfs is being torn down), so removals are
 * matched by the devnode remembered at add, and the ID_PATH is taken from that memory.
 *
 * The monitor is enabled before enumerating (nothing plugged in between is missed), so an
 * adapter plugged in that gap is seen twice: by the enumeration and as a queued "add". The
 * second sighting is dropped when it is the same USB device (same sysfs path and bus
 * device number, which the kernel renews on every plug); reporting it again would flash the
 * module a second time once its first job ended. */
#include "devsrc.h"
#include <libudev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UDEV_MAX_KNOWN 256

typedef struct udev_known {
    devsrc_event ev;
    char usb_id[300]; /* usb_device syspath + "#" + devnum: one plug-in of one adapter */
} udev_known;

typedef struct udev_src {
    devsrc base;
    struct udev *udev;
    struct udev_monitor *mon;
    udev_known known[UDEV_MAX_KNOWN]; /* what was added, by devnode */
    int n_known;
} udev_src;

static uint16_t hex16(const char *s)
{
    return s ? (uint16_t)strtoul(s, NULL, 16) : 0;
}

/* The kernel driver bound to the adapter's USB interface ("cp210x"); udevd's usb_id puts the
 * same word in ID_USB_DRIVER, the fallback when the interface is not reachable. */
static void describe_driver(struct udev_device *tty, devsrc_event *ev)
{
    struct udev_device *intf = udev_device_get_parent_with_subsystem_devtype(tty, "usb", "usb_interface");
    const char *drv = intf ? udev_device_get_driver(intf) : NULL;
    if (!drv)
        drv = udev_device_get_property_value(tty, "ID_USB_DRIVER");
    snprintf(ev->driver, sizeof ev->driver, "%s", drv ? drv : "");
}

/* Fills ev (and usb_id) from a tty device; false if it is not a USB serial adapter. */
static bool describe(struct udev_device *d, devsrc_event *ev, char *usb_id, size_t usb_id_len)
{
    const char *node = udev_device_get_devnode(d);
    if (!node)
        return false;
    struct udev_device *usb = udev_device_get_parent_with_subsystem_devtype(d, "usb", "usb_device");
    if (!usb)
        return false;
    memset(ev, 0, sizeof *ev);
    snprintf(ev->devnode, sizeof ev->devnode, "%s", node);
    const char *idp = udev_device_get_property_value(d, "ID_PATH");
    if (!idp)
        idp = udev_device_get_sysname(usb); /* "1-1.3": the USB port, stable like ID_PATH */
    snprintf(ev->id_path, sizeof ev->id_path, "%s", idp ? idp : node);
    ev->vid = hex16(udev_device_get_sysattr_value(usb, "idVendor"));
    ev->pid = hex16(udev_device_get_sysattr_value(usb, "idProduct"));
    const char *ser = udev_device_get_sysattr_value(usb, "serial");
    snprintf(ev->serial, sizeof ev->serial, "%s", ser ? ser : "");
    const char *prod = udev_device_get_sysattr_value(usb, "product");
    snprintf(ev->product, sizeof ev->product, "%s", prod ? prod : "");
    ev->bcd_device = hex16(udev_device_get_sysattr_value(usb, "bcdDevice"));
    describe_driver(d, ev);
    const char *usb_name = udev_device_get_sysname(usb);
    snprintf(ev->usb_name, sizeof ev->usb_name, "%s", usb_name ? usb_name : "");
    const char *devnum = udev_device_get_sysattr_value(usb, "devnum");
    snprintf(usb_id, usb_id_len, "%s#%s", udev_device_get_syspath(usb), devnum ? devnum : "?");
    return true;
}

static udev_known *find_known(udev_src *u, const char *devnode)
{
    for (int i = 0; i < u->n_known; i++)
        if (!strcmp(u->known[i].ev.devnode, devnode))
            return &u->known[i];
    return NULL;
}

static void remember(udev_src *u, const devsrc_event *ev, const char *usb_id)
{
    udev_known *k = find_known(u, ev->devnode);
    if (!k && u->n_known < UDEV_MAX_KNOWN)
        k = &u->known[u->n_known++];
    if (k) {
        k->ev = *ev;
        snprintf(k->usb_id, sizeof k->usb_id, "%s", usb_id);
    }
}

static bool forget(udev_src *u, const char *devnode, devsrc_event *out)
{
    udev_known *k = find_known(u, devnode);
    if (!k)
        return false;
    *out = k->ev;
    *k = u->known[--u->n_known];
    return true;
}

static int udev_enumerate(devsrc *s, devsrc_event *out, int max, char *err, size_t errlen)
{
    udev_src *u = (udev_src *)s;
    struct udev_enumerate *e = udev_enumerate_new(u->udev);
    if (!e) {
        snprintf(err, errlen, "udev: cannot enumerate devices");
        return -1;
    }
    udev_enumerate_add_match_subsystem(e, "tty");
    udev_enumerate_scan_devices(e);
    int n = 0;
    struct udev_list_entry *it;
    udev_list_entry_foreach(it, udev_enumerate_get_list_entry(e))
    {
        if (n == max)
            break;
        struct udev_device *d = udev_device_new_from_syspath(u->udev, udev_list_entry_get_name(it));
        if (!d)
            continue;
        char usb_id[300];
        if (describe(d, &out[n], usb_id, sizeof usb_id)) {
            out[n].action = DEVSRC_ADD;
            remember(u, &out[n], usb_id);
            n++;
        }
        udev_device_unref(d);
    }
    udev_enumerate_unref(e);
    return n;
}

static int udev_fd(devsrc *s)
{
    return udev_monitor_get_fd(((udev_src *)s)->mon);
}

static int udev_next(devsrc *s, devsrc_event *ev)
{
    udev_src *u = (udev_src *)s;
    struct udev_device *d = udev_monitor_receive_device(u->mon);
    if (!d)
        return 0;
    int got = 0;
    const char *action = udev_device_get_action(d);
    const char *node = udev_device_get_devnode(d);
    char usb_id[300];
    if (action && !strcmp(action, "add")) {
        if (describe(d, ev, usb_id, sizeof usb_id)) {
            const udev_known *k = find_known(u, ev->devnode);
            bool seen = k && !strcmp(k->usb_id, usb_id) && !strcmp(k->ev.id_path, ev->id_path);
            if (!seen) { /* new, or a re-plug whose remove never reached us */
                ev->action = DEVSRC_ADD;
                remember(u, ev, usb_id);
                got = 1;
            }
        }
    } else if (action && !strcmp(action, "remove") && node) {
        if (forget(u, node, ev)) {
            ev->action = DEVSRC_REMOVE;
            got = 1;
        }
    }
    udev_device_unref(d);
    return got;
}

static void udev_close(devsrc *s)
{
    udev_src *u = (udev_src *)s;
    if (u->mon)
        udev_monitor_unref(u->mon);
    if (u->udev)
        udev_unref(u->udev);
    free(u);
}

static const devsrc_ops udev_ops = {"udev", udev_enumerate, udev_fd, udev_next, udev_close};

devsrc *devsrc_udev_open(char *err, size_t errlen)
{
    udev_src *u = calloc(1, sizeof *u);
    if (!u) {
        snprintf(err, errlen, "udev: out of memory");
        return NULL;
    }
    u->base.ops = &udev_ops;
    u->udev = udev_new();
    if (!u->udev) {
        snprintf(err, errlen, "udev: udev_new failed");
        udev_close(&u->base);
        return NULL;
    }
    u->mon = udev_monitor_new_from_netlink(u->udev, "udev");
    if (!u->mon || udev_monitor_filter_add_match_subsystem_devtype(u->mon, "tty", NULL) < 0 ||
        udev_monitor_enable_receiving(u->mon) < 0) {
        snprintf(err, errlen, "udev: cannot monitor tty devices (no netlink access?)");
        udev_close(&u->base);
        return NULL;
    }
    return &u->base;
}
