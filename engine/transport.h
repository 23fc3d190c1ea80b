/* transport.h - the byte pipe the engine talks through, as an ops struct.
 *
 * Back-ends: libserialport (real USB-serial adapters, and /dev nodes under umockdev) and
 * POSIX termios (pseudo-terminals: the simulator and the demo; any path libserialport
 * refuses). bk_transport_open() picks by what the path is; the engine never asks which.
 * A transport is used by one thread at a time (the job that owns the bay). */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* Negative returns of the ops. */
typedef enum bk_io_status {
    BK_IO_OK = 0,
    BK_IO_GONE = -1,        /* port vanished: EIO/ENXIO/hang-up (adapter unplugged) */
    BK_IO_ERROR = -2,       /* any other OS error; see bk_transport_last_error() */
    BK_IO_UNSUPPORTED = -3, /* e.g. modem lines on a pty (ENOTTY) */
} bk_io_status;

typedef struct bk_transport bk_transport;

typedef struct bk_transport_ops {
    const char *name; /* "termios", "libserialport", or a test back-end's name */
    /* Write all of buf; returns len or a bk_io_status. Blocks until written. */
    int (*write)(bk_transport *t, const uint8_t *buf, size_t len);
    /* Read up to max bytes, waiting at most timeout_ms for the first; returns the count
     * (0 = timeout) or a bk_io_status. Never returns 0 for a hung-up port: that is GONE. */
    int (*read)(bk_transport *t, uint8_t *buf, size_t max, int timeout_ms);
    /* Wait until everything written has left the host (tcdrain); may be a no-op. */
    int (*drain)(bk_transport *t);
    /* Discard bytes received and not yet read. */
    int (*flush_input)(bk_transport *t);
    int (*set_baud)(bk_transport *t, uint32_t baud);
    /* Drive the modem lines (true = asserted). BK_IO_UNSUPPORTED where there are none. */
    int (*set_lines)(bk_transport *t, bool dtr, bool rts);
    /* Close and open the same path again with the current baud (a pty's only "reset"). */
    int (*reopen)(bk_transport *t);
    void (*close)(bk_transport *t);
} bk_transport_ops;

struct bk_transport {
    const bk_transport_ops *ops;
    char path[256];
    uint32_t baud;
    char last_error[160]; /* words for the last failure, e.g. "open /dev/ttyUSB0: Permission denied" */
};

/* Opens `path` at `baud`, raw 8N1, no flow control (XON/XOFF off: binary data holds
 * 0x11/0x13), input flushed. A path libserialport knows (a /dev tty with a sysfs entry)
 * uses libserialport; anything else (a pty, a symlink to one) uses termios.
 * Returns NULL and fills err (if given) on failure. */
bk_transport *bk_transport_open(const char *path, uint32_t baud, char *err, size_t errlen);

/* The two back-ends, for tests that want one explicitly. */
bk_transport *bk_transport_open_termios(const char *path, uint32_t baud, char *err, size_t errlen);
/* For the back-ends: the part of opening every one shares - a path that fits, a zeroed struct of
 * `size` bytes with the bk_transport base first, its ops and path set. NULL with words in err
 * ("KIND: empty port path", ...). The back-end frees it with free(). */
bk_transport *bk_transport_alloc(const char *kind, const bk_transport_ops *ops, size_t size,
                                 const char *path, char *err, size_t errlen);
bk_transport *bk_transport_open_serialport(const char *path, uint32_t baud, char *err, size_t errlen);

/* libserialport's own debug lines (its calls and returns, never buffer contents) go to `fn`
 * (NULL: off, libserialport's default). Process-wide, as libserialport's handler is. */
typedef void (*bk_transport_debug_fn)(const char *format, ...);
void bk_transport_set_debug(bk_transport_debug_fn fn);

static inline void bk_transport_close(bk_transport *t)
{
    if (t)
        t->ops->close(t);
}
