/* hub_power.h - a bay's switched supply: the Linux sysfs `disable` attribute of a USB hub
 * port (writing 1 turns the port's power off on hubs that switch it per port, 0 turns it
 * back on). The service has no root: the installed udev rule gives its group write access to
 * these attributes (packaging/60-trayflash.rules). Plain file I/O, no udev, no threads. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#define HUB_POWER_PATH_MAX 512

typedef struct hub_port {
    char attr[HUB_POWER_PATH_MAX]; /* .../<hub>-port<N>/disable */
    char hub[64];                  /* "1-1", "usb1" */
    int port;                      /* N, 1-based */
} hub_port;

/* A bay's `power =` value: the kernel's port name "<hub>-port<N>" ("1-1.4-port2",
 * "usb1-port3"), or a sysfs path to the port's folder or its disable attribute. Returns 0, or
 * -1 with words in err. */
int hub_port_parse(const char *value, hub_port *out, char *err, size_t errlen);
/* True when the USB device named `usb_name` ("1-1.4.2", sysfs name) hangs directly on this
 * port: switching it off takes the adapter (and its tty) away too. */
bool hub_port_feeds(const hub_port *p, const char *usb_name);
/* Switches the port (on = power). Reads the attribute back: a hub that does not take the
 * value is an error. Returns 0, or -1 with words in err (a permission error names the udev
 * rule). */
int hub_port_set(const hub_port *p, bool on, char *err, size_t errlen);
/* The attribute's state: 1 on, 0 off, -1 unreadable (words in err). */
int hub_port_get(const hub_port *p, char *err, size_t errlen);
