/* transport_termios.c - the POSIX termios back-end of transport.h.
 *
 * Serves every path libserialport refuses: pseudo-terminals (the simulator, the demo, a
 * symlink to /dev/pts/N) and any tty without a sysfs entry. The fd is non-blocking; reads
 * and writes wait with poll() so that a timeout or a hang-up (an unplugged adapter, a closed
 * pty master) is seen without spinning. A pty has no modem lines: set_lines says
 * BK_IO_UNSUPPORTED there, and reopen() is the only reset a client can give a simulated chip. */
#include "transport.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define REOPEN_OFF_NS (30L * 1000 * 1000)

typedef struct termios_transport {
    bk_transport base; /* first: the engine holds a bk_transport * */
    int fd;            /* -1 after a failed reopen */
} termios_transport;

/* Only rates with a Bxxx constant: a pty reports them back through tcgetattr on the master
 * and every USB-serial driver knows them. Other rates need termios2 and are refused. */
static const struct {
    uint32_t baud;
    speed_t code;
} termios_rates[] = {
    {9600, B9600},       {19200, B19200},     {38400, B38400},     {57600, B57600},
    {115200, B115200},   {230400, B230400},   {460800, B460800},   {500000, B500000},
    {576000, B576000},   {921600, B921600},   {1000000, B1000000}, {1152000, B1152000},
    {1500000, B1500000}, {2000000, B2000000}, {2500000, B2500000}, {3000000, B3000000},
    {3500000, B3500000}, {4000000, B4000000},
};

static const bk_transport_ops termios_ops;

static termios_transport *termios_of(bk_transport *t)
{
    return (termios_transport *)t;
}

static void termios_set_error(bk_transport *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->last_error, sizeof t->last_error, fmt, ap);
    va_end(ap);
}

/* The errnos a tty returns once its device is gone (usb_serial_disconnect, pty master closed). */
static bool termios_errno_is_gone(int e)
{
    return e == EIO || e == ENXIO || e == ENODEV || e == EPIPE || e == ENOENT;
}

static int termios_fail(bk_transport *t, const char *what)
{
    int e = errno;
    termios_set_error(t, "%s %s: %s", what, t->path, strerror(e));
    return termios_errno_is_gone(e) ? BK_IO_GONE : BK_IO_ERROR;
}

static int termios_speed_code(uint32_t baud, speed_t *code)
{
    for (size_t i = 0; i < sizeof termios_rates / sizeof termios_rates[0]; i++) {
        if (termios_rates[i].baud == baud) {
            *code = termios_rates[i].code;
            return 0;
        }
    }
    return -1;
}

static int64_t termios_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left until deadline_ms for poll(); -1 (wait forever) stays -1. */
static int termios_left_ms(int64_t deadline_ms)
{
    if (deadline_ms < 0)
        return -1;
    int64_t left = deadline_ms - termios_now_ms();
    return left < 0 ? 0 : (int)left;
}

/* Raw 8N1, no flow control of any kind (binary frames hold 0x11/0x13), receiver on,
 * modem-status lines ignored (CLOCAL: adapters with nothing on DCD must still read). */
static int termios_configure(termios_transport *p, uint32_t baud)
{
    bk_transport *t = &p->base;
    speed_t code;
    if (termios_speed_code(baud, &code) < 0) {
        termios_set_error(t, "%s: baud %u is not a standard rate (115200 ... 4000000)", t->path,
                          (unsigned)baud);
        return BK_IO_ERROR;
    }
    struct termios tio;
    if (tcgetattr(p->fd, &tio) < 0)
        return termios_fail(t, "tcgetattr");
    cfmakeraw(&tio);
    tio.c_cflag &= ~(tcflag_t)(CSIZE | PARENB | CSTOPB | CRTSCTS);
    tio.c_cflag |= CS8 | CLOCAL | CREAD;
    tio.c_iflag &= ~(tcflag_t)(IXON | IXOFF | IXANY);
    tio.c_cc[VMIN] = 1;
    tio.c_cc[VTIME] = 0;
    if (cfsetspeed(&tio, code) < 0)
        return termios_fail(t, "cfsetspeed");
    /* TCSADRAIN: bytes already queued (the SetBaudRate frame) leave at the old rate. */
    if (tcsetattr(p->fd, TCSADRAIN, &tio) < 0)
        return termios_fail(t, "tcsetattr");
    t->baud = baud;
    return BK_IO_OK;
}

static int termios_open_fd(termios_transport *p, uint32_t baud)
{
    bk_transport *t = &p->base;
    p->fd = open(t->path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (p->fd < 0)
        return termios_fail(t, "open");
    /* Two programs on one port garble each other's frames and blame the module: take the
     * advisory lock other serial tools (picocom, our second instance) honour. */
    if (flock(p->fd, LOCK_EX | LOCK_NB) < 0) {
        termios_set_error(t, "%s is in use by another program (it holds the port's lock)", t->path);
        close(p->fd);
        p->fd = -1;
        return BK_IO_ERROR;
    }
    int rc = termios_configure(p, baud);
    if (rc == BK_IO_OK && tcflush(p->fd, TCIFLUSH) < 0)
        rc = termios_fail(t, "tcflush");
    if (rc != BK_IO_OK) {
        close(p->fd);
        p->fd = -1;
    }
    return rc;
}

static int termios_closed(bk_transport *t)
{
    termios_set_error(t, "%s: port is closed (a reopen failed)", t->path);
    return BK_IO_GONE;
}

static int termios_write(bk_transport *t, const uint8_t *buf, size_t len)
{
    termios_transport *p = termios_of(t);
    if (p->fd < 0)
        return termios_closed(t);
    if (len > (size_t)INT32_MAX) {
        termios_set_error(t, "write %s: %zu bytes is more than one call can report", t->path, len);
        return BK_IO_ERROR;
    }
    /* "Blocks until written", but not forever: a peer that stopped reading (a wedged
     * simulator, an adapter stuck in flow control) must become an error the job can name.
     * Allow the time the bytes take on the wire plus a second of slack, per stall. */
    uint32_t baud = t->baud ? t->baud : 115200;
    int stall_ms = 1000 + (int)((uint64_t)len * 10 * 1000 / baud);
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(p->fd, buf + done, len - done);
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return termios_fail(t, "write");
        struct pollfd pfd = {.fd = p->fd, .events = POLLOUT};
        int64_t deadline = termios_now_ms() + stall_ms;
        int r;
        do
            r = poll(&pfd, 1, termios_left_ms(deadline));
        while (r < 0 && errno == EINTR);
        if (r < 0)
            return termios_fail(t, "poll");
        if (r == 0) {
            termios_set_error(t, "write %s: no progress for %d ms (%zu of %zu bytes written)",
                              t->path, stall_ms, done, len);
            return BK_IO_ERROR;
        }
        if (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)) {
            termios_set_error(t, "write %s: port hung up", t->path);
            return BK_IO_GONE;
        }
    }
    return (int)len;
}

static int termios_read(bk_transport *t, uint8_t *buf, size_t max, int timeout_ms)
{
    termios_transport *p = termios_of(t);
    if (p->fd < 0)
        return termios_closed(t);
    if (max == 0)
        return 0;
    if (max > (size_t)INT32_MAX)
        max = (size_t)INT32_MAX;
    int64_t deadline = timeout_ms < 0 ? -1 : termios_now_ms() + timeout_ms;
    for (;;) {
        struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
        int r = poll(&pfd, 1, termios_left_ms(deadline));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return termios_fail(t, "poll");
        if (r == 0)
            return 0;
        if (pfd.revents & POLLNVAL) {
            termios_set_error(t, "read %s: fd is not open", t->path);
            return BK_IO_ERROR;
        }
        /* Read even when POLLHUP is set: bytes that arrived before the hang-up come first;
         * the next call then sees read() == 0 or EIO. */
        ssize_t n = read(p->fd, buf, max);
        if (n > 0)
            return (int)n;
        if (n == 0) {
            /* VMIN=1 on a non-blocking fd: 0 only comes from a hung-up tty */
            termios_set_error(t, "read %s: port hung up", t->path);
            return BK_IO_GONE;
        }
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) {
            if (pfd.revents & (POLLHUP | POLLERR)) {
                termios_set_error(t, "read %s: port hung up", t->path);
                return BK_IO_GONE;
            }
            continue; /* woken, but someone else took the bytes (or tcflush): wait again */
        }
        return termios_fail(t, "read");
    }
}

static int termios_drain(bk_transport *t)
{
    termios_transport *p = termios_of(t);
    if (p->fd < 0)
        return termios_closed(t);
    int r;
    do
        r = tcdrain(p->fd);
    while (r < 0 && errno == EINTR);
    return r < 0 ? termios_fail(t, "tcdrain") : BK_IO_OK;
}

static int termios_flush_input(bk_transport *t)
{
    termios_transport *p = termios_of(t);
    if (p->fd < 0)
        return termios_closed(t);
    return tcflush(p->fd, TCIFLUSH) < 0 ? termios_fail(t, "tcflush") : BK_IO_OK;
}

static int termios_set_baud(bk_transport *t, uint32_t baud)
{
    termios_transport *p = termios_of(t);
    if (p->fd < 0)
        return termios_closed(t);
    return termios_configure(p, baud);
}

static int termios_set_lines(bk_transport *t, bool dtr, bool rts)
{
    termios_transport *p = termios_of(t);
    if (p->fd < 0)
        return termios_closed(t);
    int on = (dtr ? TIOCM_DTR : 0) | (rts ? TIOCM_RTS : 0);
    int off = (TIOCM_DTR | TIOCM_RTS) & ~on;
    if ((on && ioctl(p->fd, TIOCMBIS, &on) < 0) || (off && ioctl(p->fd, TIOCMBIC, &off) < 0)) {
        int e = errno;
        if (e == ENOTTY || e == EINVAL) {
            termios_set_error(t, "%s has no modem lines (DTR/RTS): %s", t->path, strerror(e));
            return BK_IO_UNSUPPORTED;
        }
        errno = e;
        return termios_fail(t, "set DTR/RTS on");
    }
    return BK_IO_OK;
}

static int termios_reopen(bk_transport *t)
{
    termios_transport *p = termios_of(t);
    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
    /* Stay closed for a moment: the far end of a pty (the simulator) sees the hang-up only if
     * it is still there when it looks, and a real module's supply needs time to fall too. */
    struct timespec off = {0, REOPEN_OFF_NS};
    while (nanosleep(&off, &off) != 0 && errno == EINTR)
        ;
    return termios_open_fd(p, t->baud);
}

static void termios_close(bk_transport *t)
{
    termios_transport *p = termios_of(t);
    if (p->fd >= 0)
        close(p->fd);
    free(p);
}

static const bk_transport_ops termios_ops = {
    .name = "termios",
    .write = termios_write,
    .read = termios_read,
    .drain = termios_drain,
    .flush_input = termios_flush_input,
    .set_baud = termios_set_baud,
    .set_lines = termios_set_lines,
    .reopen = termios_reopen,
    .close = termios_close,
};

bk_transport *bk_transport_open_termios(const char *path, uint32_t baud, char *err, size_t errlen)
{
    termios_transport *p = (termios_transport *)bk_transport_alloc("termios", &termios_ops,
                                                                   sizeof *p, path, err, errlen);
    if (!p)
        return NULL;
    p->fd = -1;
    if (termios_open_fd(p, baud) != BK_IO_OK) {
        if (err && errlen)
            snprintf(err, errlen, "%s", p->base.last_error);
        free(p);
        return NULL;
    }
    return &p->base;
}
