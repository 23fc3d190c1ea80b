/* hub_power.c - see hub_power.h. */
#include "hub_power.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* "<hub>-port<N>" at the end of `s` (a path's last folder or the whole value). */
static bool split_port_name(const char *name, size_t len, hub_port *out)
{
    const char *dash = NULL;
    for (size_t i = 0; i + 5 <= len; i++)
        if (!strncmp(name + i, "-port", 5))
            dash = name + i;
    if (!dash || dash == name)
        return false;
    char *end;
    long n = strtol(dash + 5, &end, 10);
    if (end != name + len || n < 1 || n > 255 || (size_t)(dash - name) >= sizeof out->hub)
        return false;
    snprintf(out->hub, sizeof out->hub, "%.*s", (int)(dash - name), name);
    out->port = (int)n;
    return true;
}

int hub_port_parse(const char *value, hub_port *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof out[0]);
    size_t len = strlen(value);
    if (!len || len >= sizeof out->attr - 16) {
        snprintf(err, errlen, "power '%s': expected a hub port such as 1-1-port3 or its sysfs path",
                 value);
        return -1;
    }
    if (value[0] == '/') { /* a folder or the attribute itself */
        char dir[HUB_POWER_PATH_MAX];
        snprintf(dir, sizeof dir, "%s", value);
        size_t dl = strlen(dir);
        while (dl > 1 && dir[dl - 1] == '/')
            dir[--dl] = 0;
        if (dl > 8 && !strcmp(dir + dl - 8, "/disable"))
            dir[dl -= 8] = 0;
        const char *last = strrchr(dir, '/') + 1;
        if (!split_port_name(last, strlen(last), out)) {
            snprintf(err, errlen, "power '%s': the folder is no hub port (<hub>-port<N>)", value);
            return -1;
        }
        snprintf(out->attr, sizeof out->attr, "%s/disable", dir);
        return 0;
    }
    if (strchr(value, '/') || !split_port_name(value, len, out)) {
        snprintf(err, errlen, "power '%s': expected a hub port such as 1-1-port3 or usb1-port2, or "
                 "its sysfs path", value);
        return -1;
    }
    /* ports hang off the hub's interface 0: /sys/bus/usb/devices/<hub>:1.0/<hub>-portN; a
     * root hub "usbB" has the interface "B-0:1.0" */
    char intf[80];
    if (!strncmp(out->hub, "usb", 3))
        snprintf(intf, sizeof intf, "%s-0:1.0", out->hub + 3);
    else
        snprintf(intf, sizeof intf, "%s:1.0", out->hub);
    snprintf(out->attr, sizeof out->attr, "/sys/bus/usb/devices/%s/%s/disable", intf, value);
    return 0;
}

bool hub_port_feeds(const hub_port *p, const char *usb_name)
{
    char want[96];
    if (!strncmp(p->hub, "usb", 3)) /* root hub usbB: its devices are B-N */
        snprintf(want, sizeof want, "%s-%d", p->hub + 3, p->port);
    else
        snprintf(want, sizeof want, "%s.%d", p->hub, p->port);
    return usb_name && !strcmp(usb_name, want);
}

int hub_port_get(const hub_port *p, char *err, size_t errlen)
{
    int fd = open(p->attr, O_RDONLY | O_CLOEXEC);
    char buf[8] = "";
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    int e = errno;
    if (fd >= 0)
        close(fd);
    if (n <= 0) {
        snprintf(err, errlen, "%s: %s", p->attr, n == 0 ? "empty" : strerror(e));
        return -1;
    }
    return buf[0] == '0' ? 1 : 0; /* disable = 0: powered */
}

int hub_port_set(const hub_port *p, bool on, char *err, size_t errlen)
{
    int fd = open(p->attr, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "%s: %s%s", p->attr, strerror(e),
                 e == EACCES || e == EPERM ? " (install packaging/60-trayflash.rules: it gives "
                                             "the station's group write access)" : "");
        return -1;
    }
    const char *v = on ? "0\n" : "1\n";
    ssize_t n = write(fd, v, 2);
    int e = errno;
    close(fd);
    if (n != 2) {
        snprintf(err, errlen, "%s: writing %c: %s", p->attr, v[0], n < 0 ? strerror(e) : "short write");
        return -1;
    }
    int now = hub_port_get(p, err, errlen);
    if (now < 0)
        return -1;
    if (now != (on ? 1 : 0)) {
        snprintf(err, errlen, "%s: wrote %c, reads back %d: the hub does not switch this port",
                 p->attr, v[0], now ? 0 : 1);
        return -1;
    }
    return 0;
}
