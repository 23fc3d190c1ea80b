/* fakeport.h - umockdev test support: fake USB-serial adapters on a umockdev 0.17.16 testbed.
 *
 * A plugged fakeport is a sysfs tree (usb_device -> interface -> usb-serial -> tty, with
 * the attributes libserialport and libudev read and the properties udevd would add) plus
 * /dev/<tty> pointing at a pty of our own, and an ioctl handler on that node which emulates
 * the modem lines a pty lacks (TIOCMGET/SET/BIS/BIC) and runs every other ioctl on the real
 * pty. The program under test then opens /dev/ttyUSBn with the real libserialport, sees
 * hot-plug through the real libudev monitor, and the test (or a chip simulator) sits on
 * the pty master and is told about every DTR/RTS change.
 *
 * Threads: plug/unplug/free are testbed calls and must all come from one thread (the
 * testbed's quirk, docs/test-infra.md §1.7 item 8). The lines callback runs on umockdev's worker
 * thread, one thread for all ports. The other getters may be called from any thread.
 * The code under test must run under libumockdev-preload: call
 * support_ensure_umockdev_preload(argv) first thing in main(). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <umockdev.h>

typedef enum fakeport_kind {
    FAKEPORT_CH340,   /* 1a86:7523, driver ch341, no serial number (like the real chip) */
    FAKEPORT_CP2102,  /* 10c4:ea60, driver cp210x */
    FAKEPORT_FT232R,  /* 0403:6001, driver ftdi_sio */
    FAKEPORT_CDC_ACM, /* 2e8a:000a, driver cdc_acm; its tty must be named ttyACMn */
} fakeport_kind;

/* What the adapter looks like from sysfs/udev. Filled by fakeport_adapter_init(); a test may
 * change any field afterwards (e.g. an odd vid/pid). */
typedef struct fakeport_adapter {
    char vid[8], pid[8]; /* 4 hex digits, e.g. "10c4" */
    char serial[64];     /* "" = the adapter has no serial number */
    char product[64];
    char manufacturer[32];
    char driver[16];   /* "cp210x" */
    char bcd_device[8]; /* 4 hex digits, the USB bcdDevice ("0600" on an FT232R); "" = none */
    char usb_path[32]; /* USB port, "1-1" or "1-1.3": ID_PATH / sysfs name */
    char tty[16];      /* "ttyUSB0" */
    int minor;         /* 188:minor (166:minor for ttyACM) */
} fakeport_adapter;

/* Fills *a for a known adapter kind. serial NULL: the kind's default ("" for a CH340,
 * a fixed string otherwise). Returns 0, or -1 with words in err (name too long, ttyACM
 * mismatch). */
int fakeport_adapter_init(fakeport_adapter *a, fakeport_kind kind, const char *usb_path,
                          const char *tty, int minor, const char *serial, char *err,
                          size_t errlen);

/* umockdev-record text for the adapter (what umockdev_testbed_add_from_string takes).
 * with_node: add an "N:" line so umockdev makes its own pty (not re-pluggable, see
 * docs/test-infra.md §1.7; fakeport_plug never does this). Returns the length, or -1 if buf is
 * too small. */
int fakeport_describe(const fakeport_adapter *a, bool with_node, char *buf, size_t len);

/* sysfs path of the adapter's tty class device ("/sys/devices/.../tty/ttyUSB0") and its
 * udev ID_PATH ("pci-0000:00:14.0-usb-0:1:1.0"). */
int fakeport_tty_syspath(const fakeport_adapter *a, char *buf, size_t len);
int fakeport_id_path(const fakeport_adapter *a, char *buf, size_t len);

typedef struct fakeport fakeport;

/* Called when the program changes DTR/RTS (true = asserted), including the raise of both
 * that the kernel does on every open(). Runs on umockdev's worker thread BEFORE the
 * program's ioctl returns, so a simulator has seen a reset edge by the time the program
 * goes on. Must not call fakeport_plug/unplug/free. */
typedef void (*fakeport_lines_fn)(fakeport *port, bool dtr, bool rts, void *user);

/* Plugs the adapter into tb: "add" uevents go out for every sysfs level, parents first.
 * on_lines may be NULL and set later. Returns NULL with words in err on failure. */
fakeport *fakeport_plug(UMockdevTestbed *tb, const fakeport_adapter *a, fakeport_lines_fn on_lines,
                        void *user, char *err, size_t errlen);

/* Replaces the lines callback; safe while the program is using the port. */
void fakeport_set_lines_callback(fakeport *p, fakeport_lines_fn on_lines, void *user);

/* The pty master: the chip's end of the wire (read what the program wrote, write replies).
 * Valid until fakeport_unplug(); -1 afterwards. The fakeport also holds a slave fd of its
 * own, so the master never reports POLLHUP/EIO between the program's opens. */
int fakeport_master_fd(const fakeport *p);
const char *fakeport_devnode(const fakeport *p); /* "/dev/ttyUSB0" */
const char *fakeport_syspath(const fakeport *p); /* as fakeport_tty_syspath() */
const fakeport_adapter *fakeport_adapter_of(const fakeport *p);
bool fakeport_is_plugged(const fakeport *p);

/* Current DTR/RTS as last set by the program (false, false before its first open). */
void fakeport_get_lines(fakeport *p, bool *dtr, bool *rts);
/* Waits up to timeout_ms for DTR/RTS to be in the given state; true if they are. */
bool fakeport_wait_lines(fakeport *p, bool dtr, bool rts, int timeout_ms);

/* Baud the program set on its side, read from the master (TCGETS2: also non-standard rates).
 * Works on any pty master. Returns 0, or -1 with errno set. */
int support_pty_master_baud(int master_fd, uint32_t *baud);

/* Unplugs like usb_serial_disconnect(): hang-up first (the program's read() gives 0, write()
 * and ioctls EIO, poll() POLLHUP), then the "remove" uevent (0.17.16 sends none itself),
 * then the sysfs tree, leaf first. Stop whatever reads the master fd before calling this:
 * the fd is closed here and its number may be reused. The same adapter can be plugged again
 * afterwards with a new fakeport_plug(). No-op if already unplugged. */
void fakeport_unplug(fakeport *p);
/* Unplugs if needed and frees. Call before g_object_unref() of the testbed. */
void fakeport_free(fakeport *p);

/* First line of main() in a test that uses umockdev: re-executes the binary with
 * libumockdev-preload.so.0 in LD_PRELOAD (after libasan when the binary has ASan, which
 * must come first) unless it is already there. Exits with a message if exec fails. */
void support_ensure_umockdev_preload(char **argv);
