/* transport.c - bk_transport_open(): picks the back-end by what the path is, so neither the
 * operator nor the engine has to know whether a bay is a real adapter or a simulator pty. */
#include "transport.h"

#include <libserialport.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libserialport only knows a /dev node whose name has a /sys/class/tty/<name> entry: real
 * USB-serial adapters and on-board UARTs (and, under umockdev, the faked ones, because the
 * lookup goes through the preloaded /sys). It refuses ptys outright (no sysfs entry, and
 * sp_open needs the modem-line ioctls a pty lacks), so asking libserialport itself is the
 * test that matches what it can open. A symlink such as /dev/serial/by-id/... is resolved
 * first because libserialport looks up the name as given. Fills `resolved` with the name to
 * open; returns false for "use termios". */
static bool transport_path_is_serialport(const char *path, char *resolved, size_t resolved_len)
{
    struct sp_port *port = NULL;
    if (sp_get_port_by_name(path, &port) == SP_OK) {
        sp_free_port(port);
        snprintf(resolved, resolved_len, "%s", path);
        return true;
    }
    char real[PATH_MAX];
    if (!realpath(path, real) || strcmp(real, path) == 0 || strlen(real) >= resolved_len)
        return false;
    if (sp_get_port_by_name(real, &port) != SP_OK)
        return false;
    sp_free_port(port);
    snprintf(resolved, resolved_len, "%s", real);
    return true;
}

bk_transport *bk_transport_alloc(const char *kind, const bk_transport_ops *ops, size_t size,
                                 const char *path, char *err, size_t errlen)
{
    if (!path || !*path) {
        if (err && errlen)
            snprintf(err, errlen, "%s: empty port path", kind);
        return NULL;
    }
    bk_transport *t = calloc(1, size);
    if (!t) {
        if (err && errlen)
            snprintf(err, errlen, "%s %s: out of memory", kind, path);
        return NULL;
    }
    if (strlen(path) >= sizeof t->path) {
        if (err && errlen)
            snprintf(err, errlen, "%s: port path longer than %zu bytes: %.40s...", kind,
                     sizeof t->path - 1, path);
        free(t);
        return NULL;
    }
    t->ops = ops;
    snprintf(t->path, sizeof t->path, "%s", path);
    return t;
}

bk_transport *bk_transport_open(const char *path, uint32_t baud, char *err, size_t errlen)
{
    if (!path || !*path) {
        if (err && errlen)
            snprintf(err, errlen, "transport: empty port path");
        return NULL;
    }
    char resolved[sizeof ((bk_transport *)0)->path];
    if (!transport_path_is_serialport(path, resolved, sizeof resolved))
        return bk_transport_open_termios(path, baud, err, errlen);
    /* A port libserialport knows but cannot open (a UART without modem lines refuses
     * TIOCMGET in sp_open) may still work as a plain tty; if termios fails as well, the
     * libserialport message is the one that explains the port. */
    char sp_err[200] = "";
    bk_transport *t = bk_transport_open_serialport(resolved, baud, sp_err, sizeof sp_err);
    if (t)
        return t;
    t = bk_transport_open_termios(path, baud, NULL, 0);
    if (t) {
        /* not a failure, but worth a line in the station's log */
        snprintf(t->last_error, sizeof t->last_error, "opened with termios; libserialport said: %s",
                 sp_err);
        return t;
    }
    if (err && errlen)
        snprintf(err, errlen, "%s", sp_err);
    return NULL;
}
