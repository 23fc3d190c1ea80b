/* transport_serialport.c - the libserialport back-end of transport.h.
 *
 * For real USB-serial adapters (and their /dev nodes under umockdev). Three adapter habits
 * shape this file (docs/test-infra.md §6):
 *  - sp_open() keeps IXON from the tty's cooked default, so 0x11/0x13 would vanish from
 *    binary frames: flow control is set to NONE explicitly.
 *  - the kernel raises DTR and RTS on open and some CP210x keep RTS asserted, which holds a
 *    BK7231 in reset: both lines are released right after opening.
 *  - an unplugged tty makes read() return 0 and select() say "readable", so
 *    sp_blocking_read() spins until its timeout and reports 0 bytes. Reads here poll the
 *    port's fd themselves and turn POLLHUP/POLLERR, or "readable but nothing there" with the
 *    modem-status ioctl failing, into BK_IO_GONE. */
#include "transport.h"

#include <errno.h>
#include <libserialport.h>
#include <poll.h>
#include <sys/file.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct serialport_transport {
    bk_transport base;    /* first: the engine holds a bk_transport * */
    struct sp_port *port; /* NULL after a failed reopen */
    int fd;               /* the port's fd, for poll() */
} serialport_transport;

static serialport_transport *serialport_of(bk_transport *t)
{
    return (serialport_transport *)t;
}

static void serialport_set_error(bk_transport *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->last_error, sizeof t->last_error, fmt, ap);
    va_end(ap);
}

static bool serialport_errno_is_gone(int e)
{
    return e == EIO || e == ENXIO || e == ENODEV || e == EPIPE || e == ENOENT;
}

/* Turns a failed sp_* call into a status with words. Must run right after the call:
 * sp_last_error_* read errno. */
static int serialport_fail(bk_transport *t, const char *what, enum sp_return ret)
{
    switch (ret) {
    case SP_ERR_FAIL: {
        int e = sp_last_error_code();
        char *msg = sp_last_error_message();
        serialport_set_error(t, "%s %s: %s", what, t->path, msg ? msg : strerror(e));
        sp_free_error_message(msg);
        return serialport_errno_is_gone(e) ? BK_IO_GONE : BK_IO_ERROR;
    }
    case SP_ERR_ARG:
        serialport_set_error(t, "%s %s: libserialport refused the argument (not a serial port it knows?)",
                             what, t->path);
        return BK_IO_ERROR;
    case SP_ERR_MEM:
        serialport_set_error(t, "%s %s: out of memory", what, t->path);
        return BK_IO_ERROR;
    case SP_ERR_SUPP:
        serialport_set_error(t, "%s %s: not supported by this port or OS", what, t->path);
        return BK_IO_UNSUPPORTED;
    default:
        serialport_set_error(t, "%s %s: libserialport error %d", what, t->path, (int)ret);
        return BK_IO_ERROR;
    }
}

static int serialport_closed(bk_transport *t)
{
    serialport_set_error(t, "%s: port is closed (a reopen failed)", t->path);
    return BK_IO_GONE;
}

static int64_t serialport_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void serialport_release(serialport_transport *p)
{
    if (p->port) {
        sp_close(p->port);
        sp_free_port(p->port);
    }
    p->port = NULL;
    p->fd = -1;
}

/* Looks the port up again on every open: after a re-plug the sysfs details are new. */
static int serialport_open_port(serialport_transport *p, uint32_t baud)
{
    bk_transport *t = &p->base;
    enum sp_return r = sp_get_port_by_name(t->path, &p->port);
    if (r != SP_OK) {
        p->port = NULL;
        return serialport_fail(t, "find port", r);
    }
    r = sp_open(p->port, SP_MODE_READ_WRITE);
    if (r != SP_OK) {
        int rc = serialport_fail(t, "open", r);
        sp_free_port(p->port);
        p->port = NULL;
        return rc;
    }
    /* One program per port: the advisory lock other serial tools honour. */
    int handle = -1;
    if (sp_get_port_handle(p->port, &handle) == SP_OK && handle >= 0 &&
        flock(handle, LOCK_EX | LOCK_NB) < 0) {
        serialport_set_error(t, "%s is in use by another program (it holds the port's lock)", t->path);
        sp_close(p->port);
        sp_free_port(p->port);
        p->port = NULL;
        return BK_IO_ERROR;
    }
    const char *step = NULL;
    if (!step && (r = sp_set_baudrate(p->port, (int)baud)) != SP_OK)
        step = "set baud";
    if (!step && (r = sp_set_bits(p->port, 8)) != SP_OK)
        step = "set 8 data bits";
    if (!step && (r = sp_set_parity(p->port, SP_PARITY_NONE)) != SP_OK)
        step = "set no parity";
    if (!step && (r = sp_set_stopbits(p->port, 1)) != SP_OK)
        step = "set 1 stop bit";
    if (!step && (r = sp_set_flowcontrol(p->port, SP_FLOWCONTROL_NONE)) != SP_OK)
        step = "switch off flow control on";
    if (!step && (r = sp_set_dtr(p->port, SP_DTR_OFF)) != SP_OK)
        step = "release DTR on";
    if (!step && (r = sp_set_rts(p->port, SP_RTS_OFF)) != SP_OK)
        step = "release RTS on";
    if (!step && (r = sp_flush(p->port, SP_BUF_BOTH)) != SP_OK)
        step = "flush";
    if (!step && (r = sp_get_port_handle(p->port, &p->fd)) != SP_OK)
        step = "get the fd of";
    if (!step) {
        t->baud = baud;
        return BK_IO_OK;
    }
    int rc = serialport_fail(t, step, r);
    serialport_release(p);
    return rc;
}

/* After poll() said "readable" and no byte came: a hung-up tty, or a race with a flush.
 * Only a hung-up tty also fails the modem-status ioctl. */
static bool serialport_hung_up(serialport_transport *p)
{
    enum sp_signal sig;
    return sp_get_signals(p->port, &sig) != SP_OK || sp_input_waiting(p->port) < 0;
}

static int serialport_read(bk_transport *t, uint8_t *buf, size_t max, int timeout_ms)
{
    serialport_transport *p = serialport_of(t);
    if (!p->port)
        return serialport_closed(t);
    if (max == 0)
        return 0;
    if (max > (size_t)INT32_MAX)
        max = (size_t)INT32_MAX;
    int64_t deadline = timeout_ms < 0 ? -1 : serialport_now_ms() + timeout_ms;
    for (;;) {
        int left = -1;
        if (deadline >= 0) {
            int64_t l = deadline - serialport_now_ms();
            left = l < 0 ? 0 : (int)l;
        }
        struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
        int pr = poll(&pfd, 1, left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0) {
            serialport_set_error(t, "poll %s: %s", t->path, strerror(errno));
            return BK_IO_ERROR;
        }
        if (pr == 0)
            return 0;
        /* Bytes that arrived before a hang-up are still handed out first. */
        enum sp_return r = sp_nonblocking_read(p->port, buf, max);
        if (r > 0)
            return (int)r;
        if (r < 0)
            return serialport_fail(t, "read", r);
        if ((pfd.revents & (POLLHUP | POLLERR | POLLNVAL)) || serialport_hung_up(p)) {
            serialport_set_error(t, "read %s: port hung up (adapter unplugged?)", t->path);
            return BK_IO_GONE;
        }
        /* readable but empty and the line still up: someone flushed; wait again */
    }
}

static int serialport_write(bk_transport *t, const uint8_t *buf, size_t len)
{
    serialport_transport *p = serialport_of(t);
    if (!p->port)
        return serialport_closed(t);
    if (len > (size_t)INT32_MAX) {
        serialport_set_error(t, "write %s: %zu bytes is more than one call can report", t->path, len);
        return BK_IO_ERROR;
    }
    /* Not forever: the wire time of the bytes plus a second, then an error with words. */
    uint32_t baud = t->baud ? t->baud : 115200;
    unsigned limit_ms = 1000u + (unsigned)((uint64_t)len * 10 * 1000 / baud);
    enum sp_return r = sp_blocking_write(p->port, buf, len, limit_ms);
    if (r < 0)
        return serialport_fail(t, "write", r);
    if ((size_t)r < len) {
        if (serialport_hung_up(p)) {
            serialport_set_error(t, "write %s: port hung up (adapter unplugged?)", t->path);
            return BK_IO_GONE;
        }
        serialport_set_error(t, "write %s: only %d of %zu bytes left in %u ms", t->path, (int)r, len,
                             limit_ms);
        return BK_IO_ERROR;
    }
    return (int)len;
}

static int serialport_drain(bk_transport *t)
{
    serialport_transport *p = serialport_of(t);
    if (!p->port)
        return serialport_closed(t);
    enum sp_return r = sp_drain(p->port);
    return r == SP_OK ? BK_IO_OK : serialport_fail(t, "drain", r);
}

static int serialport_flush_input(bk_transport *t)
{
    serialport_transport *p = serialport_of(t);
    if (!p->port)
        return serialport_closed(t);
    enum sp_return r = sp_flush(p->port, SP_BUF_INPUT);
    return r == SP_OK ? BK_IO_OK : serialport_fail(t, "flush input of", r);
}

static int serialport_set_baud(bk_transport *t, uint32_t baud)
{
    serialport_transport *p = serialport_of(t);
    if (!p->port)
        return serialport_closed(t);
    if (baud == 0 || baud > INT32_MAX) {
        serialport_set_error(t, "%s: baud %u is out of range", t->path, (unsigned)baud);
        return BK_IO_ERROR;
    }
    /* Bytes already queued (the SetBaudRate frame itself) must leave at the old rate:
     * sp_set_baudrate applies at once (TCSANOW). */
    enum sp_return r = sp_drain(p->port);
    if (r == SP_OK)
        r = sp_set_baudrate(p->port, (int)baud);
    if (r != SP_OK)
        return serialport_fail(t, "set baud", r);
    t->baud = baud;
    return BK_IO_OK;
}

static int serialport_set_lines(bk_transport *t, bool dtr, bool rts)
{
    serialport_transport *p = serialport_of(t);
    if (!p->port)
        return serialport_closed(t);
    const char *step = NULL;
    enum sp_return r = sp_set_dtr(p->port, dtr ? SP_DTR_ON : SP_DTR_OFF);
    if (r != SP_OK)
        step = "set DTR on";
    else if ((r = sp_set_rts(p->port, rts ? SP_RTS_ON : SP_RTS_OFF)) != SP_OK)
        step = "set RTS on";
    if (!step)
        return BK_IO_OK;
    /* An adapter (or a tty) without modem lines refuses the ioctl: the flasher then asks
     * for a power-cycle instead, so this is "unsupported", not a failure. */
    int e = sp_last_error_code();
    int rc = serialport_fail(t, step, r);
    return r == SP_ERR_FAIL && (e == ENOTTY || e == EINVAL) ? BK_IO_UNSUPPORTED : rc;
}

static int serialport_reopen(bk_transport *t)
{
    serialport_transport *p = serialport_of(t);
    serialport_release(p);
    return serialport_open_port(p, t->baud);
}

static void serialport_close(bk_transport *t)
{
    serialport_transport *p = serialport_of(t);
    serialport_release(p);
    free(p);
}

static const bk_transport_ops serialport_ops = {
    .name = "libserialport",
    .write = serialport_write,
    .read = serialport_read,
    .drain = serialport_drain,
    .flush_input = serialport_flush_input,
    .set_baud = serialport_set_baud,
    .set_lines = serialport_set_lines,
    .reopen = serialport_reopen,
    .close = serialport_close,
};

bk_transport *bk_transport_open_serialport(const char *path, uint32_t baud, char *err, size_t errlen)
{
    if (baud == 0 || baud > INT32_MAX) {
        if (err && errlen)
            snprintf(err, errlen, "libserialport %s: baud %u is out of range", path ? path : "",
                     (unsigned)baud);
        return NULL;
    }
    serialport_transport *p = (serialport_transport *)bk_transport_alloc(
        "libserialport", &serialport_ops, sizeof *p, path, err, errlen);
    if (!p)
        return NULL;
    p->fd = -1;
    if (serialport_open_port(p, baud) != BK_IO_OK) {
        if (err && errlen)
            snprintf(err, errlen, "%s", p->base.last_error);
        free(p);
        return NULL;
    }
    return &p->base;
}

void bk_transport_set_debug(bk_transport_debug_fn fn)
{
    sp_set_debug_handler(fn);
}
