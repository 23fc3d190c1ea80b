/* probe.h - poll mode's gentle question to a fixed adapter: "is a module there, and which?"
 * Reset (modem lines, or a reopen on a pty), LinkCheck for a short window, then read the MAC
 * so a module that still sits in the socket after its pass is not flashed twice. */
#pragma once
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "bk_chip.h"

typedef enum probe_outcome { PROBE_NO_MODULE = 0, PROBE_MODULE, PROBE_PORT_ERROR } probe_outcome;

/* `chip` decides where the MAC sits. have_mac false if the module answered but the MAC read
 * failed (the station then flashes: a CRC pass on an already flashed module costs little). */
probe_outcome probe_module(const char *port, bk_chip chip, int window_ms, atomic_int *cancel,
                           uint8_t mac[6], bool *have_mac, char *err, size_t errlen);
