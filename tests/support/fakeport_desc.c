/* fakeport_desc.c - the sysfs/udev description of a fake USB-serial adapter.
 *
 * Four levels, as the kernel builds them: usb_device -> usb_interface -> usb-serial port ->
 * tty class device (CDC-ACM has no usb-serial level: its tty hangs off the interface).
 * libserialport walks up from /sys/class/tty/<name>/device to find idVendor/idProduct/
 * serial/product; libudev users read the E: properties that udevd's usb_id and path_id
 * builtins would have added (ID_BUS, ID_SERIAL_SHORT, ID_PATH ...), since no udevd runs. */
#include "fakeport.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define FAKEPORT_USB_ROOT "/devices/pci0000:00/0000:00:14.0/usb1"
#define FAKEPORT_PCI_ID_PATH "pci-0000:00:14.0"

static const struct {
    const char *vid, *pid, *serial, *product, *driver, *bcd;
} fakeport_kinds[] = {
    [FAKEPORT_CH340] = {"1a86", "7523", "", "USB Serial", "ch341", "0264"},
    [FAKEPORT_CP2102] = {"10c4", "ea60", "0001", "CP2102 USB to UART Bridge Controller", "cp210x", "0100"},
    [FAKEPORT_FT232R] = {"0403", "6001", "A50285BI", "FT232R USB UART", "ftdi_sio", "0600"},
    [FAKEPORT_CDC_ACM] = {"2e8a", "000a", "E6614C311B4A", "Pico", "cdc_acm", "0100"},
};

static bool fakeport_is_acm(const fakeport_adapter *a)
{
    return strncmp(a->tty, "ttyACM", 6) == 0;
}

static int fakeport_copy(char *dst, size_t dstlen, const char *src, const char *what, char *err,
                         size_t errlen)
{
    if (strlen(src) >= dstlen) {
        if (err && errlen)
            snprintf(err, errlen, "fakeport: %s \"%s\" is longer than %zu bytes", what, src, dstlen - 1);
        return -1;
    }
    snprintf(dst, dstlen, "%s", src);
    return 0;
}

int fakeport_adapter_init(fakeport_adapter *a, fakeport_kind kind, const char *usb_path,
                          const char *tty, int minor, const char *serial, char *err, size_t errlen)
{
    memset(a, 0, sizeof *a);
    if ((unsigned)kind >= sizeof fakeport_kinds / sizeof fakeport_kinds[0]) {
        if (err && errlen)
            snprintf(err, errlen, "fakeport: unknown adapter kind %d", (int)kind);
        return -1;
    }
    if (strncmp(usb_path, "1-", 2) != 0) {
        if (err && errlen)
            snprintf(err, errlen, "fakeport: usb path \"%s\" must be on bus 1 (\"1-N\")", usb_path);
        return -1;
    }
    if (fakeport_copy(a->vid, sizeof a->vid, fakeport_kinds[kind].vid, "vid", err, errlen) ||
        fakeport_copy(a->pid, sizeof a->pid, fakeport_kinds[kind].pid, "pid", err, errlen) ||
        fakeport_copy(a->serial, sizeof a->serial, serial ? serial : fakeport_kinds[kind].serial,
                      "serial", err, errlen) ||
        fakeport_copy(a->product, sizeof a->product, fakeport_kinds[kind].product, "product", err,
                      errlen) ||
        fakeport_copy(a->manufacturer, sizeof a->manufacturer, "Fake", "manufacturer", err, errlen) ||
        fakeport_copy(a->driver, sizeof a->driver, fakeport_kinds[kind].driver, "driver", err, errlen) ||
        fakeport_copy(a->bcd_device, sizeof a->bcd_device, fakeport_kinds[kind].bcd, "bcdDevice", err,
                      errlen) ||
        fakeport_copy(a->usb_path, sizeof a->usb_path, usb_path, "usb path", err, errlen) ||
        fakeport_copy(a->tty, sizeof a->tty, tty, "tty name", err, errlen))
        return -1;
    if ((kind == FAKEPORT_CDC_ACM) != fakeport_is_acm(a)) {
        if (err && errlen)
            snprintf(err, errlen, "fakeport: tty \"%s\" does not fit the adapter (%s wants %s)", tty,
                     fakeport_kinds[kind].driver, kind == FAKEPORT_CDC_ACM ? "ttyACMn" : "ttyUSBn");
        return -1;
    }
    a->minor = minor;
    return 0;
}

/* Appends with overflow tracking: one check at the end instead of one per line. */
typedef struct fakeport_buf {
    char *p;
    size_t cap, len;
    bool overflow;
} fakeport_buf;

static void fakeport_add(fakeport_buf *b, const char *fmt, ...)
{
    if (b->overflow)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= b->cap - b->len)
        b->overflow = true;
    else
        b->len += (size_t)n;
}

/* Relative to /sys, without the leading "/sys": umockdev's P: lines take that form. */
static int fakeport_tty_devpath(const fakeport_adapter *a, char *buf, size_t len)
{
    int n = fakeport_is_acm(a)
                ? snprintf(buf, len, FAKEPORT_USB_ROOT "/%s/%s:1.0/tty/%s", a->usb_path, a->usb_path, a->tty)
                : snprintf(buf, len, FAKEPORT_USB_ROOT "/%s/%s:1.0/%s/tty/%s", a->usb_path, a->usb_path,
                           a->tty, a->tty);
    return n < 0 || (size_t)n >= len ? -1 : n;
}

int fakeport_tty_syspath(const fakeport_adapter *a, char *buf, size_t len)
{
    if (len < 5)
        return -1;
    memcpy(buf, "/sys", 4);
    int n = fakeport_tty_devpath(a, buf + 4, len - 4);
    return n < 0 ? -1 : n + 4;
}

int fakeport_id_path(const fakeport_adapter *a, char *buf, size_t len)
{
    /* path_id names the port chain after the bus number: "1-1.3" -> "usb-0:1.3:1.0" */
    int n = snprintf(buf, len, FAKEPORT_PCI_ID_PATH "-usb-0:%s:1.0", a->usb_path + 2);
    return n < 0 || (size_t)n >= len ? -1 : n;
}

int fakeport_describe(const fakeport_adapter *a, bool with_node, char *buf, size_t len)
{
    fakeport_buf b = {.p = buf, .cap = len};
    bool acm = fakeport_is_acm(a);
    int major = acm ? 166 : 188;
    char ttypath[512], id_path[96], model[64];
    if (len == 0 || fakeport_tty_devpath(a, ttypath, sizeof ttypath) < 0 ||
        fakeport_id_path(a, id_path, sizeof id_path) < 0)
        return -1;
    snprintf(model, sizeof model, "%s", a->product);
    for (char *c = model; *c; c++)
        if (*c == ' ')
            *c = '_'; /* udev's ID_MODEL spelling */

    fakeport_add(&b, "P: " FAKEPORT_USB_ROOT "/%s\n", a->usb_path);
    fakeport_add(&b, "E: SUBSYSTEM=usb\nE: DEVTYPE=usb_device\nE: DRIVER=usb\n");
    fakeport_add(&b, "E: PRODUCT=%s/%s/100\n", a->vid, a->pid);
    fakeport_add(&b, "A: idVendor=%s\nA: idProduct=%s\n", a->vid, a->pid);
    fakeport_add(&b, "A: busnum=1\nA: devnum=%d\n", 2 + a->minor);
    fakeport_add(&b, "A: product=%s\nA: manufacturer=%s\n", a->product, a->manufacturer);
    if (a->bcd_device[0])
        fakeport_add(&b, "A: bcdDevice=%s\n", a->bcd_device);
    if (a->serial[0])
        fakeport_add(&b, "A: serial=%s\n", a->serial);
    fakeport_add(&b, "\n");

    fakeport_add(&b, "P: " FAKEPORT_USB_ROOT "/%s/%s:1.0\n", a->usb_path, a->usb_path);
    fakeport_add(&b, "E: SUBSYSTEM=usb\nE: DEVTYPE=usb_interface\nE: DRIVER=%s\n", a->driver);
    fakeport_add(&b, "A: bInterfaceNumber=00\nA: bInterfaceClass=%s\n\n", acm ? "02" : "ff");

    if (!acm) {
        fakeport_add(&b, "P: " FAKEPORT_USB_ROOT "/%s/%s:1.0/%s\n", a->usb_path, a->usb_path, a->tty);
        fakeport_add(&b, "E: SUBSYSTEM=usb-serial\nE: DRIVER=%s\nA: port_number=0\n\n", a->driver);
    }

    fakeport_add(&b, "P: %s\n", ttypath);
    if (with_node)
        fakeport_add(&b, "N: %s\n", a->tty);
    fakeport_add(&b, "E: SUBSYSTEM=tty\nE: DEVNAME=/dev/%s\nE: MAJOR=%d\nE: MINOR=%d\n", a->tty, major,
                 a->minor);
    fakeport_add(&b, "E: ID_BUS=usb\nE: ID_VENDOR_ID=%s\nE: ID_MODEL_ID=%s\nE: ID_MODEL=%s\n", a->vid,
                 a->pid, model);
    if (a->serial[0])
        fakeport_add(&b, "E: ID_SERIAL=%s_%s_%s\nE: ID_SERIAL_SHORT=%s\n", a->manufacturer, model,
                     a->serial, a->serial);
    else
        fakeport_add(&b, "E: ID_SERIAL=%s_%s\n", a->manufacturer, model);
    fakeport_add(&b, "E: ID_USB_DRIVER=%s\nE: ID_USB_INTERFACE_NUM=00\nE: ID_PATH=%s\n", a->driver,
                 id_path);
    fakeport_add(&b, "A: dev=%d:%d\n", major, a->minor);
    /* the class device's "device" link points at its parent (usb-serial port or interface) */
    if (acm)
        fakeport_add(&b, "L: device=../../../%s:1.0\n\n", a->usb_path);
    else
        fakeport_add(&b, "L: device=../../../%s\n\n", a->tty);
    return b.overflow ? -1 : (int)b.len;
}
