/* devsrc.h - where adapters come from, behind one ops struct: udev (real adapters, and fake
 * ones under umockdev) and the simulator (bksim links, all present at start). The station
 * loop is the same for both: enumerate once, then poll fd() and drain next(). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum devsrc_action { DEVSRC_ADD = 0, DEVSRC_REMOVE } devsrc_action;

typedef struct devsrc_event {
    devsrc_action action;
    char devnode[128];   /* /dev/ttyUSB3, or the simulator link */
    char id_path[128];   /* udev ID_PATH of the USB port ("sim-3" for the simulator) */
    uint16_t vid, pid;   /* 0 when not a USB device / simulated */
    char serial[64];     /* "" when the adapter has none (CH340) */
    /* What tells adapter models apart (adapter_table.h); "" / 0 when unknown or simulated: */
    char driver[32];     /* kernel driver of the USB interface: "cp210x", "ch341", ... */
    char product[96];    /* USB product string: "CP2102N USB to UART Bridge Controller" */
    uint16_t bcd_device; /* USB bcdDevice (ftdi_sio tells its chips apart by it) */
    char usb_name[32];   /* the USB device's sysfs name ("1-1.3": hub 1-1, port 3) */
} devsrc_event;

typedef struct devsrc devsrc;
typedef struct devsrc_ops {
    const char *name;
    /* Devices present now, up to max; returns the count or -1 (words in err). */
    int (*enumerate)(devsrc *s, devsrc_event *out, int max, char *err, size_t errlen);
    /* An fd that becomes readable when next() has something; -1 if there never is. */
    int (*fd)(devsrc *s);
    /* 1 = *ev filled, 0 = nothing (or an event of no interest was consumed). */
    int (*next)(devsrc *s, devsrc_event *ev);
    void (*close)(devsrc *s);
} devsrc_ops;

struct devsrc {
    const devsrc_ops *ops;
};

/* udev: a monitor on subsystem tty is enabled BEFORE enumerating, so nothing plugged in
 * between is missed. Only tty devices with a USB parent are reported. */
devsrc *devsrc_udev_open(char *err, size_t errlen);
/* Simulator: `n` links, reported as id_path "sim-1".."sim-n". paths are copied. */
devsrc *devsrc_sim_open(const char *const *paths, int n, char *err, size_t errlen);
