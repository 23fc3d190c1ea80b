/* hp_harness.h - shared by the hot-plug tests: a station on the real udev source, fake
 * USB-serial adapters on a umockdev testbed (tests/support/fakeport.h) each wired to a bksim
 * module, the station's headless lines captured through a pipe, and the checks that read
 * the database and /proc/self.
 *
 * Threads: every testbed call (hp_adapter_plug/unplug/free) comes from the test's main
 * thread (umockdev 0.17.16 quirk). The line reader is a thread of its own; waiting for a
 * line is a condition-variable wait with a deadline, never a sleep. */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "bksim.h"
#include "fakeport.h"

/* ---- headless lines ------------------------------------------------------------------- */

typedef struct hp_lines {
    int rd, wr;       /* pipe; the station writes to `out` (over wr) */
    FILE *out;        /* give this to station_opts.headless_out */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t grew;
    char *text;       /* everything read so far, NUL-terminated */
    size_t len, cap;
    int n_lines;      /* complete lines in text */
    bool eof;
    bool echo;        /* copy each line to stderr (HP_ECHO=1 in the environment) */
} hp_lines;

/* Pipe + reader thread. Returns 0, or -1 with words in err. */
int hp_lines_start(hp_lines *l, char *err, size_t errlen);
/* Closes the write side (after station_free), joins the reader, keeps the text. */
void hp_lines_finish(hp_lines *l);
void hp_lines_free(hp_lines *l);
/* Index (0-based) of the first complete line at index >= from that contains every non-NULL
 * needle, waiting up to timeout_ms for it; -1 on timeout. */
int hp_lines_wait(hp_lines *l, int from, int timeout_ms, const char *a, const char *b,
                  const char *c);
/* Complete lines that contain every non-NULL needle. */
int hp_lines_count(hp_lines *l, const char *a, const char *b, const char *c);
int hp_lines_total(hp_lines *l);
/* Copy of line i (without the newline) into buf; "" if there is none. */
void hp_lines_get(hp_lines *l, int i, char *buf, size_t len);
/* Writes every captured line to stderr (after a failure). */
void hp_lines_dump(hp_lines *l, const char *why);

/* ---- adapters wired to simulated modules ----------------------------------------------- */

/* The fixture's wiring of the module's CEN: to RTS (bksim's own model, the default), to DTR,
 * or to nothing (the lines move no module: it restarts only by application reboot or power). */
typedef enum hp_cen { HP_CEN_RTS = 0, HP_CEN_DTR, HP_CEN_NONE } hp_cen;

/* One plugged fake adapter and the bksim module behind it. The fakeport's DTR/RTS callback
 * forwards to bksim_set_lines once the module is attached, so the engine's reset pulse
 * through libserialport is what resets the simulated chip. The module starts held in reset
 * and boots only on the program's release of RTS. */
typedef struct hp_adapter {
    fakeport *port;
    bksim_server *sim;
    pthread_mutex_t lock;
    int sim_idx;      /* -1 until attached and after unplug */
    int last_sim_idx; /* the module this adapter had, after unplug */
    bool last_rts;
    bool held;        /* attached while CEN was released: in reset until the program's next CEN */
    int rts_rises;    /* RTS asserted edges the program made (kernel open + reset pulses) */
    int dtr_rises;    /* the same for DTR */
    bool last_dtr;
    int cen;          /* hp_cen: which adapter line the fixture wires to the module's CEN */
} hp_adapter;

/* Plugs `a` into tb (the "add" uevents go out) and attaches a fresh module (mc NULL:
 * default BK7231T) to its pty master. Returns 0, or -1 with words in err. */
int hp_adapter_plug(hp_adapter *h, UMockdevTestbed *tb, bksim_server *sim,
                    const fakeport_adapter *a, const bksim_module_config *mc, char *err,
                    size_t errlen);
/* The same on a fixture wired as `cen` says; `unpowered`: the module's supply is off until
 * the test switches it on (bksim_set_power), as behind a hub port that is off. */
int hp_adapter_plug_wired(hp_adapter *h, UMockdevTestbed *tb, bksim_server *sim,
                          const fakeport_adapter *a, const bksim_module_config *mc,
                          hp_cen cen, bool unpowered, char *err, size_t errlen);
int hp_adapter_dtr_rises(hp_adapter *h);
/* Unplugs like a USB yank: the module is held in reset first (it is unpowered once the
 * adapter is gone, and must never write to the master's fd number again: bksim has no
 * detach), then hang-up + "remove" uevent + sysfs removal. No-op if not plugged. */
void hp_adapter_unplug(hp_adapter *h);
void hp_adapter_free(hp_adapter *h); /* unplugs if needed */
int hp_adapter_rts_rises(hp_adapter *h);
/* The bksim module index (also after unplug, for reading its flash). */
int hp_adapter_sim_idx(hp_adapter *h);

/* ---- files, database, process ------------------------------------------------------------ */

/* mkdtemp under /tmp; returns 0 or -1. */
int hp_tempdir(char *dir, size_t len, const char *tag);
void hp_rmtree(const char *dir);
/* Writes a pseudo-random image of `kib` KiB (seeded) and a profile pinning its sha256 into
 * dir; *profile gets the profile's path. Returns 0 or -1 with words in err. */
int hp_make_profile(const char *dir, int kib, uint32_t seed, char *profile, size_t len,
                    char *err, size_t errlen);
int hp_count_threads(void);   /* entries in /proc/self/task */
/* Entries in /proc/self/fd (not the one reading it). *umockdev_fds (may be NULL) gets how
 * many of them are the testbed's ioctl plumbing: its listeners (closed by umockdev's worker
 * thread in its own time) and both ends of each ioctl connection. umockdev 0.17.16's
 * preload connects one even when the program's open() of a node fails (a yank between its
 * path check and the open) and never closes it: such pairs are the testbed's, not the
 * program's. */
int hp_count_fds(int *umockdev_fds);
/* Lists open fds and what they point to into buf ("  fd -> target" lines), for a leak
 * message about a moment that has passed. */
void hp_list_fds(char *buf, size_t len);
/* Lists open fds and what they point to, for a leak message. */
void hp_dump_fds(const char *why);
