/* bk_link.h - getting a module into its download window: the reset pulse on the adapter's
 * modem lines (RTS and DTR on CEN), shared by the flash job and the poll-mode probe. */
#pragma once
#include <stdbool.h>
#include "bk_reset.h"
#include "bk_session.h"

#define BK_LINK_BAUD 115200u /* every loader listens at 115200 after reset (reference §1) */

/* Puts the host at 115200 and resets the module: the sequence `seq` (NULL: bk_reset_default)
 * on the modem lines where the adapter has them; otherwise (*no_lines set) a reopen of the
 * port - the only reset a pty gives, and on a real adapter none at all: the module must then
 * be power-cycled (or may still sit in download mode from before). A sequence of no steps
 * (`none`) moves no line: the fixture restarts the module by other means. The holds are the
 * chip's reset timing (reference §5.2), not synchronisation. */
bk_status bk_reset_into_window(bk_session *s, const bk_reset_seq *seq, bool *no_lines);

/* Asks firmware already running on the module to restart into its loader window
 * (bk_app_reboot_request: `what` is BK_APP_REBOOT_TEXT and/or _FRAME) at the application's
 * console rate `app_baud`; the frame is sent at 115200 as well when that differs (the
 * loader's own rate, where the Beken uploaders send it). Leaves the host at 115200. A module
 * already in its loader takes the text as line noise. */
bk_status bk_app_reboot(bk_session *s, unsigned what, uint32_t app_baud);

/* The poll-mode question to a fixed adapter: is a module there, and which? Opens `port`,
 * resets, sends LinkCheck for `window_ms`, and reads the MAC (bk_read_mac) of family `chip`.
 * PROBE_PORT_ERROR with words in err when the port cannot be used. */
typedef enum bk_probe_outcome { BK_PROBE_NO_MODULE = 0, BK_PROBE_MODULE, BK_PROBE_PORT_ERROR } bk_probe_outcome;
bk_probe_outcome bk_probe(const char *port, bk_chip chip, const bk_reset_seq *reset, int window_ms,
                          atomic_int *cancel, uint8_t mac[6], bool *have_mac, char *err,
                          size_t errlen);
