/* bk_job.c - one module, start to verified finish, and the cause when it fails.
 *
 * Policy lives here; bk_session.c only reports what the wire showed. The job:
 *   link (reset, LinkCheck) -> baud switch (stepping down on failure) -> identify the chip
 *   (before anything is erased) -> read the MAC -> unprotect (N) -> decide what to write
 *   (one sector's CRC tells a fresh module from a re-flash) -> erase unit, write its sectors,
 *   unit by unit -> CRC of the whole region -> reboot.
 *
 * Written for the real loaders (docs/bk7231-reference.md), not for a simulator:
 *   - T "CRC protect lock": after a CheckCRC, writes only take effect once their unit has been
 *     erased after a LinkCheck that followed that CRC. So no sector is written after a CRC
 *     unless its unit's erase came after such a LinkCheck (bk_check_crc sends it), and the
 *     first unit is NOT blank-checked by CRC between its erase and its writes. Protected flash
 *     is found instead by one sector's CRC after the first unit is written: still what the
 *     module held before the erase means erases and writes were ignored.
 *   - Reopening a real port resets nothing. After a failed exchange the module is first asked
 *     again where it is (LinkCheck at the working baud); only a module that stopped answering
 *     is reset and linked again. A CRC mismatch on a module that answers means rewriting the
 *     bad units at the same baud. The baud steps down only on evidence of a bad line: garbled
 *     replies, two reads of one sector that disagree, or read-back bits the image has at 1
 *     found at 0 (NOR programming only clears bits, so the data was corrupted on its way).
 * The cause is decided from the evidence gathered on the way (which command failed how, whether
 * the re-link worked, whether stray bytes were on the line), not from the last timeout.
 * A module is reported passed only when the chip's CRC of the region equals the image's. */
#include "bk_job.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>
#include "bk_classify.h"
#include "bk_link.h"
#include "bk_plan.h"
#include "bk_session.h"

#define LINK_BAUD BK_LINK_BAUD
#define BAUD_SWITCH_DELAY_MS 20
#define LINK_ATTEMPT_S 0.5 /* LinkCheck flood after one reset before resetting again */
#define LINK_POLL_MS 10
#define PROBE_TIMEOUT_MS 120 /* an unsupported command gets no reply at all */
#define IN_PLACE_LINK_TRIES 3 /* LinkChecks at the working baud before a module counts as silent */

typedef struct job {
    const bk_job_spec *spec;
    const bk_job_hooks *hooks;
    bk_result *r;
    bk_session s;
    bk_plan plan;
    const bk_variant *v;
    double t0;
    bool failed;
    bool linked_once;
    bool power_cycle_told;
    bool alive_off_told, power_fail_told; /* BK_EV_SETUP sent (once a job each) */
    int baud_idx;
    /* protected-flash check: sector `prot_sector`'s CRC before anything was erased */
    int prot_sector;          /* -1: none chosen yet */
    bool prot_before_known, prot_checked;
    uint32_t prot_before;
    bk_evidence ev;           /* what was seen, for bk_classify (fields say who writes them) */
    uint32_t writes_ok;       /* acknowledged 4 KiB writes: the failure details say "the first" */
    int baud_tries_here;  /* failed switches to bauds[baud_idx] in a row */
    int probe_garbled;    /* identification replies that came garbled this round */
    int silent_identifications; /* rounds where no probe got any answer */
    char first_failure[128];
    /* the backup before the first erase (spec->backup): the plan and how far it got, kept
       across retries so a retry goes on where the last try stopped */
    bk_backup_range bk[BK_BACKUP_MAX_RANGES];
    int n_bk;
    bool bk_asked_store;      /* have_backup asked (after every per-device CRC was known) */
    bool bk_settled;          /* committed, or kept already: a retry (of the LinkCheck after
                                 it) must not commit the backup a second time */
    char bk_failure[160];     /* the first failed exchange, for the detail */
    /* progress */
    uint64_t done_bytes;
    double write_t0;
    /* per-device data (hooks->personal): the sector the host built, written after the app */
    uint8_t *config;          /* BK_SECTOR_SIZE bytes, NULL: none */
    uint32_t config_addr;
} job;

static const char *const phase_names[BK_PHASE_COUNT] = {
    [BK_PHASE_IDLE] = "IDLE", [BK_PHASE_LINK] = "LINK", [BK_PHASE_IDENTIFY] = "IDENTIFY",
    [BK_PHASE_BACKUP] = "BACKUP", [BK_PHASE_ERASE] = "ERASE", [BK_PHASE_WRITE] = "WRITE",
    [BK_PHASE_VERIFY] = "VERIFY", [BK_PHASE_DONE] = "DONE",
};

const char *bk_phase_name(bk_phase p)
{
    return (unsigned)p < BK_PHASE_COUNT ? phase_names[p] : "?";
}

void bk_job_spec_defaults(bk_job_spec *spec)
{
    static const uint32_t bauds[] = {921600, 460800, 115200};
    memcpy(spec->bauds, bauds, sizeof bauds);
    spec->n_bauds = 3;
    spec->erase_mode = BK_ERASE_AUTO;
    spec->skip_unchanged = true;
    spec->link_timeout_ms = 10000;
    spec->write_retries = 2;
}

/* ---- events ------------------------------------------------------------------------ */

/* An event carrying where the job stands now; the payload rate is that of the writes so far. */
static bk_event job_event(const job *j, bk_event_kind kind, bk_phase phase)
{
    double now = bk_now_s();
    bk_event ev = {
        .kind = kind, .phase = phase, .bytes_total = j->plan.covered_len,
        /* a verify round's rewrite is work past the plan: progress stays at the whole, never
         * above it (nor back to 0) */
        .bytes_done = j->done_bytes < j->plan.covered_len ? j->done_bytes : j->plan.covered_len,
        .baud = j->s.baud, .t_s = now - j->t0,
    };
    if (j->write_t0 > 0 && now > j->write_t0)
        ev.rate_bps = (double)j->r->bytes_written / (now - j->write_t0);
    return ev;
}

static void emit(job *j, bk_event_kind kind, bk_phase phase, const char *text)
{
    if (!j->hooks || !j->hooks->on_event)
        return;
    bk_event ev = job_event(j, kind, phase);
    ev.text = text;
    j->hooks->on_event(j->hooks->ctx, &ev);
}

static void set_phase(job *j, bk_phase p)
{
    emit(j, BK_EV_PHASE, p, NULL);
}

static void progress(job *j, bk_phase p, uint32_t addr)
{
    if (!j->hooks || !j->hooks->on_event)
        return;
    bk_event ev = job_event(j, BK_EV_PROGRESS, p);
    ev.address = addr;
    j->hooks->on_event(j->hooks->ctx, &ev);
}

__attribute__((format(printf, 2, 3))) static void info(job *j, const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    emit(j, BK_EV_INFO, BK_PHASE_IDLE, line);
}

/* Records how the job ended and what was seen, in words; the cause is bk_classify's to decide
 * at the end. Returns false so callers can `return fail(...)`. */
__attribute__((format(printf, 3, 4))) static bool fail(job *j, bk_end end, const char *fmt, ...)
{
    if (j->failed)
        return false;
    j->failed = true;
    j->r->passed = false;
    j->ev.end = end;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->r->detail, sizeof j->r->detail, fmt, ap);
    va_end(ap);
    return false;
}

/* Failures that no retry can mend: the port is gone, it failed, or someone asked us to stop.
 * True when `st` was one of them and has ended the job; false for a status worth a retry. */
static bool ended_hard(job *j, bk_status st, const char *what)
{
    if (st == BK_ST_GONE) {
        fail(j, BK_END_PORT_GONE, "the port vanished during %s (%s)", what,
             j->s.tp->last_error[0] ? j->s.tp->last_error : "hang-up");
        return true;
    }
    if (st == BK_ST_CANCELLED) {
        if (j->s.cancel_reason == BK_CANCEL_ADAPTER_REMOVED)
            fail(j, BK_END_PORT_GONE, "the adapter was removed during %s", what);
        else
            fail(j, BK_END_CANCELLED, "stopped during %s", what);
        return true;
    }
    if (st == BK_ST_IO) {
        fail(j, BK_END_PORT_ERROR, "%s: %s", what, j->s.tp->last_error);
        return true;
    }
    return false;
}

static bool is_hard(bk_status st)
{
    return st == BK_ST_GONE || st == BK_ST_CANCELLED || st == BK_ST_IO;
}

/* ---- link and baud --------------------------------------------------------------------- */

static void setup_notice(job *j, bool *told, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void setup_notice(job *j, bool *told, const char *fmt, ...)
{
    if (*told)
        return;
    *told = true;
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    emit(j, BK_EV_SETUP, BK_PHASE_LINK, msg);
}

/* With the supply off, nothing may answer: a module that still links is kept alive through
 * the adapter's TX line (back-powered through its protection diodes), or the hub only says it
 * switched. Asked at the working rate (a module left in download mode) and at 115200. */
static bool alive_while_off(job *j)
{
    uint32_t bauds[2] = {j->s.baud, LINK_BAUD};
    for (int i = 0; i < (bauds[0] == bauds[1] ? 1 : 2); i++) {
        if (j->s.tp->baud != bauds[i] && j->s.tp->ops->set_baud(j->s.tp, bauds[i]) < 0)
            return false;
        j->s.baud = bauds[i];
        if (bk_link_check(&j->s, LINK_POLL_MS * 3) == BK_ST_OK)
            return true;
    }
    return false;
}

/* The power half of a reset: off, a pause, the trap check, on. A supply the station cannot
 * switch is a setup problem said once; the lines (if any) still reset the module. */
static bk_status power_cycle(job *j)
{
    const bk_job_hooks *h = j->hooks;
    char err[200] = "";
    if (h->power(h->ctx, false, err, sizeof err) < 0) {
        setup_notice(j, &j->power_fail_told, "cannot switch the module's power off: %s", err);
        return BK_ST_OK;
    }
    bk_sleep_ms(h->power_off_ms > 0 ? h->power_off_ms : 300);
    if (alive_while_off(j))
        setup_notice(j, &j->alive_off_told, "the module still answers with its hub port off: "
                     "it is fed through the adapter's TX line, or the hub does not really switch "
                     "port power (docs/fixtures.md)");
    int rc = h->power(h->ctx, true, err, sizeof err);
    if (rc < 0) {
        setup_notice(j, &j->power_fail_told, "cannot switch the module's power on: %s", err);
        return BK_ST_IO;
    }
    if (rc == 1) { /* the adapter was on the switched port: a new tty, same path */
        int r = j->s.tp->ops->reopen(j->s.tp);
        if (r < 0)
            return r == BK_IO_GONE ? BK_ST_GONE : BK_ST_IO;
    }
    return BK_ST_OK;
}

/* Resets the module into its download window (bk_reset_into_window); where the adapter has no
 * modem lines the operator is asked, once a job, to power-cycle the module. */
static bk_status reset_module(job *j)
{
    bool no_lines = false;
    if (j->hooks && j->hooks->power) {
        bk_status st = power_cycle(j);
        if (st != BK_ST_OK)
            return st;
    }
    if (j->spec->app_reboot) {
        bk_status st = bk_app_reboot(&j->s, j->spec->app_reboot, j->spec->app_baud);
        if (st != BK_ST_OK)
            return st;
    }
    bk_status st = bk_reset_into_window(&j->s, j->spec->reset, &no_lines);
    if (no_lines && !j->power_cycle_told && !(j->hooks && j->hooks->power)) {
        j->power_cycle_told = true;
        char msg[320];
        snprintf(msg, sizeof msg, "no modem lines on %s: power-cycle the module now", j->s.tp->path);
        emit(j, BK_EV_POWER_CYCLE_NEEDED, BK_PHASE_LINK, msg);
    }
    return st;
}

/* Puts the host at `baud` (the chip's rate is the caller's guess). */
static bk_status host_baud(job *j, uint32_t baud)
{
    if (j->s.tp->baud != baud && j->s.tp->ops->set_baud(j->s.tp, baud) < 0)
        return BK_ST_IO;
    j->s.baud = baud;
    return BK_ST_OK;
}

/* Resets the module and floods LinkCheck at 115200 until it answers. Where nothing can reset
 * it (no modem lines: the operator is asked to power-cycle), the module may equally still be
 * in download mode at the working baud a previous session left it at - a reopened port
 * resets nothing - so every other LinkCheck goes at that baud. */
static bk_status link_with_reset(job *j, int budget_ms)
{
    double deadline = bk_now_s() + budget_ms / 1000.0;
    uint32_t working = j->spec->bauds[j->baud_idx];
    do {
        bk_status st = reset_module(j);
        if (st != BK_ST_OK)
            return st;
        double attempt_end = bk_now_s() + LINK_ATTEMPT_S;
        if (attempt_end > deadline)
            attempt_end = deadline;
        bool alternate = j->power_cycle_told && working != LINK_BAUD;
        for (int k = 0;; k++) {
            st = host_baud(j, alternate && (k & 1) ? working : LINK_BAUD);
            if (st == BK_ST_OK)
                st = bk_link_check(&j->s, LINK_POLL_MS);
            if (st == BK_ST_OK && j->s.baud != LINK_BAUD)
                info(j, "module was still in download mode at %u baud", j->s.baud);
            if (st == BK_ST_OK || is_hard(st))
                return st;
            if (bk_now_s() >= attempt_end)
                break;
        }
    } while (bk_now_s() < deadline);
    return BK_ST_TIMEOUT;
}

static bool relink_in_place(job *j);

/* Switches to the baud at baud_idx, stepping down the profile's list when a switch fails. */
static bool establish_baud(job *j)
{
    for (;;) {
        uint32_t baud = j->spec->bauds[j->baud_idx];
        if (baud == j->s.baud)
            return true;
        bk_status st = bk_set_baud(&j->s, baud, BAUD_SWITCH_DELAY_MS);
        if (st == BK_ST_OK) {
            info(j, "baud %u", baud);
            j->baud_tries_here = 0;
            return true;
        }
        if (ended_hard(j, st, "the baud switch"))
            return false;
        /* The chip switches on the request whether or not its echo reached us (a host that
         * woke late to switch its own UART misses it): a LinkCheck at the new rate says
         * whether the switch took. Only a module silent there counts against the rate. */
        if (relink_in_place(j)) {
            info(j, "baud %u (the echo was missed; the module answers at %u)", baud, baud);
            j->baud_tries_here = 0;
            return true;
        }
        if (j->failed)
            return false;
        info(j, "no echo after SetBaudRate %u (%s)", baud, bk_status_name(st));
        j->ev.baud_switch_failures++;
        /* An adapter that cannot carry a rate fails every time; a noisy line only sometimes:
         * each rate gets a second chance before the next lower one. */
        if (++j->baud_tries_here >= 2) {
            j->baud_tries_here = 0;
            if (j->baud_idx + 1 >= j->spec->n_bauds)
                return fail(j, BK_END_BAUD_UNREACHABLE,
                            "module links at 115200 but never answered at %u baud, the lowest in "
                            "the profile (%u tries)", baud, j->ev.baud_switch_failures);
            j->baud_idx++;
        }
        j->r->retries++;
        st = link_with_reset(j, j->spec->link_timeout_ms);
        if (st != BK_ST_OK) {
            if (ended_hard(j, st, "re-linking after a baud switch"))
                return false;
            return fail(j, BK_END_RELINK_FAILED, "after SetBaudRate %u failed the module never "
                        "answered a re-link", baud);
        }
    }
}

/* Asks the module again where it is: LinkCheck at the working baud, no reset. True when it
 * answers; false when it is silent (or j->failed, for a port that is gone). */
static bool relink_in_place(job *j)
{
    for (int i = 0; i < IN_PLACE_LINK_TRIES; i++) {
        bk_status st = bk_link_check(&j->s, (int)(bk_byte_time_s(j->s.baud) * 13 * 1000.0) + 50);
        if (st == BK_ST_OK)
            return true;
        if (is_hard(st)) {
            ended_hard(j, st, "re-linking");
            return false;
        }
    }
    return false;
}

/* After a failed exchange: the module still answering at the working baud is used as it is
 * (a real port's reopen resets nothing, and a dropped reply is no reason to reset); a silent
 * one is reset and linked again. Either way the job goes on at bauds[baud_idx], which a
 * caller that saw a bad line may just have lowered (SetBaudRate, in place). */
static bool recover(job *j, const char *after)
{
    j->r->retries++;
    if (relink_in_place(j)) {
        info(j, "module still answers after %s", after);
        return establish_baud(j);
    }
    if (j->failed)
        return false;
    bk_status st = link_with_reset(j, j->spec->link_timeout_ms);
    if (st != BK_ST_OK) {
        if (ended_hard(j, st, "re-linking"))
            return false;
        return fail(j, BK_END_RELINK_FAILED, "%s; the module never answered a re-link (%u writes "
                    "had succeeded)", after, j->writes_ok);
    }
    info(j, "re-link ok after a reset, after %s", after);
    return establish_baud(j);
}

/* The line is bad at this baud (evidence in hand): the next lower rate of the profile, asked
 * for in place. False when there is none. */
static bool step_down(job *j, const char *why)
{
    if (j->baud_idx + 1 >= j->spec->n_bauds)
        return false;
    j->baud_idx++;
    info(j, "stepping down to %u baud: %s", j->spec->bauds[j->baud_idx], why);
    return true;
}

/* ---- steps that may be retried ---------------------------------------------------------- */

/* A step before the first erase: done, worth another try after a re-link (the line or the
 * chip garbled or dropped an exchange), or failed for good (j->failed says why). */
typedef enum step_result { STEP_DONE, STEP_RETRY, STEP_FAILED } step_result;
typedef step_result (*step_fn)(job *j);

/* Books a soft failure (no reply, garbled reply) as evidence and asks for a retry. */
static step_result soft(job *j, bk_status st, const char *what)
{
    if (is_hard(st))
        return ended_hard(j, st, what) ? STEP_FAILED : STEP_RETRY;
    j->ev.garbled += st == BK_ST_GARBLED;
    return STEP_RETRY;
}

static bool run_step(job *j, step_fn fn, const char *what)
{
    for (int attempt = 0;; attempt++) {
        step_result r = fn(j);
        if (r == STEP_DONE)
            return true;
        if (r == STEP_FAILED || j->failed)
            return false;
        if (attempt >= j->spec->write_retries) {
            if (j->ev.garbled > 0)
                return fail(j, BK_END_STEP_RETRIES, "%s: %u garbled replies in %d tries at %u "
                            "baud", what, j->ev.garbled, attempt + 1, j->s.baud);
            return fail(j, BK_END_STEP_RETRIES, "%s: no reply in %d tries, though the module "
                        "answers LinkCheck", what, attempt + 1);
        }
        if (!recover(j, what))
            return false;
    }
}

/* ---- identification ------------------------------------------------------------------- */

static bool probe_read_reg(job *j, const bk_family **fam)
{
    uint32_t id = 0;
    bk_status st = bk_read_reg(&j->s, 0x800000, &id, PROBE_TIMEOUT_MS);
    if (is_hard(st))
        return !ended_hard(j, st, "identification");
    j->probe_garbled += st == BK_ST_GARBLED;
    if (st != BK_ST_OK)
        return true;
    *fam = bk_family_by_chip_id(id);
    if (!*fam) {
        /* Before calling a chip foreign, make sure the line said the same thing twice. */
        uint32_t again = 0;
        st = bk_read_reg(&j->s, 0x800000, &again, PROBE_TIMEOUT_MS);
        if (is_hard(st))
            return !ended_hard(j, st, "identification");
        if (st != BK_ST_OK || again != id) {
            j->probe_garbled++;
            return true;
        }
        j->r->chip_id = id;
        return fail(j, BK_END_FOREIGN_CHIP, "chip id 0x%X is no BK7231T/N; nothing erased", id);
    }
    j->r->chip_id = id;
    return true;
}

/* ReadBootVersion: an ASCII version names a T loader; the N BootROM's one-byte 07 reply
 * ("not implemented") names a BootROM, which is no T whatever profile is loaded. */
static bool probe_boot_version(job *j, const bk_family **fam)
{
    char ver[48];
    bool not_implemented = false;
    bk_status st = bk_read_boot_version(&j->s, ver, sizeof ver, &not_implemented, PROBE_TIMEOUT_MS);
    if (is_hard(st))
        return !ended_hard(j, st, "identification");
    j->probe_garbled += st == BK_ST_GARBLED;
    if (st != BK_ST_OK || not_implemented)
        return true;
    if (strncmp(ver, "BK7231S_", 8) != 0) {
        /* Before calling a loader foreign, make sure the line said the same thing twice. */
        char again[48];
        st = bk_read_boot_version(&j->s, again, sizeof again, &not_implemented, PROBE_TIMEOUT_MS);
        if (is_hard(st))
            return !ended_hard(j, st, "identification");
        if (st != BK_ST_OK || strcmp(again, ver) != 0) {
            j->probe_garbled++;
            return true;
        }
        snprintf(j->r->boot_version, sizeof j->r->boot_version, "%s", ver);
        return fail(j, BK_END_FOREIGN_CHIP, "the loader calls itself \"%s\": no BK7231T/N loader; "
                    "nothing erased", ver);
    }
    *fam = bk_family_get(BK_CHIP_BK7231T);
    snprintf(j->r->boot_version, sizeof j->r->boot_version, "%s", ver);
    return true;
}

/* The flash bootloader's fingerprint: CheckCRC(0, 0x100) covers 256 bytes on a loader with an
 * exclusive end, 257 on one with an inclusive end; the table knows both. */
static bool fingerprint(job *j, const bk_family **fam)
{
    uint32_t crc = 0;
    bk_status st = bk_check_crc_raw(&j->s, 0, 256, &crc);
    if (is_hard(st))
        return !ended_hard(j, st, "identification");
    j->probe_garbled += st == BK_ST_GARBLED;
    if (st != BK_ST_OK)
        return true;
    uint32_t host = ~crc;
    const bk_boot_print *bp = bk_boot_print_find(host, 256);
    if (!bp)
        bp = bk_boot_print_find(host, 257);
    if (!bp) {
        snprintf(j->r->boot_version, sizeof j->r->boot_version, "boot crc %08x", host);
        return true;
    }
    snprintf(j->r->boot_version, sizeof j->r->boot_version, "%s", bp->name);
    if (bp->chip == BK_CHIP_UNKNOWN)
        return fail(j, BK_END_FOREIGN_CHIP, "bootloader \"%s\" (crc %08x) is a %s's: no BK7231T/N; "
                    "nothing erased", bp->name, host, bp->chip_name);
    *fam = bk_family_get(bp->chip);
    return true;
}

/* Which family is this? The bootloader's CRC first (cheap, names known loaders), then the
 * probes each loader alone answers, the profile's family first so the usual case costs no
 * timeout. Nothing is erased before this has answered. An unsupported probe is met with
 * silence (T) or 07 (N); garbled bytes instead mean the line is noisy, and the step is tried
 * again. A BootROM identified by fingerprint is still asked its chip id, for the record. */
static step_result identify_step(job *j)
{
    const bk_family *fam = NULL;
    j->probe_garbled = 0;
    if (!fingerprint(j, &fam))
        return STEP_FAILED;
    if (fam && fam->has_read_reg && !probe_read_reg(j, &fam))
        return STEP_FAILED;
    const bk_family *want = bk_family_get(j->spec->variants[0].chip);
    bool reg_first = want && want->has_read_reg;
    for (int pass = 0; pass < 2 && !fam && !j->failed; pass++) {
        bool try_reg = (pass == 0) == reg_first;
        if (!(try_reg ? probe_read_reg(j, &fam) : probe_boot_version(j, &fam)))
            return STEP_FAILED;
    }
    if (j->failed)
        return STEP_FAILED;
    if (!fam) {
        if (j->probe_garbled)
            return soft(j, BK_ST_GARBLED, "identification");
        /* Silence to both probes: an unknown loader, or a chip that dropped out of download
         * mode on a corrupted request. Only a chip still linked is called unknown. */
        bk_status st = bk_link_check(&j->s, PROBE_TIMEOUT_MS);
        if (st != BK_ST_OK)
            return soft(j, st, "identification");
        /* One corrupted request also earns silence: ask twice before blaming the chip. */
        if (++j->silent_identifications < 2)
            return soft(j, BK_ST_TIMEOUT, "identification");
        fail(j, BK_END_FOREIGN_CHIP, "the loader answered neither ReadReg nor ReadBootVersion "
             "(%s): unknown chip; nothing erased", j->r->boot_version);
        return STEP_FAILED;
    }
    j->s.fam = fam;
    j->r->chip = fam->chip;
    if (!j->r->chip_id)
        j->r->chip_id = fam->chip_id;
    info(j, "chip %s (%s %s)", fam->name, fam->loader, j->r->boot_version);
    return STEP_DONE;
}

static bool choose_variant(job *j)
{
    for (int i = 0; i < j->spec->n_variants; i++) {
        if (j->spec->variants[i].chip == j->r->chip) {
            j->v = &j->spec->variants[i];
            j->r->variant = i;
            return true;
        }
    }
    if (j->spec->n_variants == 1)
        return fail(j, BK_END_FOREIGN_CHIP, "module is %s, profile wants %s (nothing erased)",
                    bk_chip_name(j->r->chip), bk_chip_name(j->spec->variants[0].chip));
    return fail(j, BK_END_NO_VARIANT, "no variant of %s for %s (nothing erased)",
                j->spec->product ? j->spec->product : "this product", bk_chip_name(j->r->chip));
}

/* BK7231N: the status register's block-protect bits are set from the factory. */
static step_result unprotect_step(job *j)
{
    if (!j->s.fam->has_flash_sr)
        return STEP_DONE;
    bk_status st = bk_get_flash_mid(&j->s, j->r->flash_id);
    if (st != BK_ST_OK)
        return soft(j, st, "reading the flash id");
    j->r->have_flash_id = true;
    const bk_flash_part *part = bk_flash_part_find(j->r->flash_id);
    int sr_bytes = part ? part->sr_bytes : 1;
    info(j, "flash %02x %02x %02x (%s)", j->r->flash_id[0], j->r->flash_id[1], j->r->flash_id[2],
         part ? part->name : "unknown part, 1-byte status register assumed");
    for (int round = 0; round < 2; round++) {
        uint8_t lo = 0, hi = 0;
        st = bk_read_sr(&j->s, 0x05, &lo);
        if (st == BK_ST_OK && sr_bytes == 2)
            st = bk_read_sr(&j->s, 0x35, &hi);
        if (st != BK_ST_OK)
            return soft(j, st, "reading the status register");
        uint16_t sr = (uint16_t)(lo | hi << 8);
        if (!(sr & BK_SR_PROTECT_MASK))
            return STEP_DONE;
        if (round == 1) {
            fail(j, BK_END_PROTECT_STUCK, "status register 0x%04x keeps its protect bits after "
                 "a write (write-protect pin or locked register); nothing erased", sr);
            return STEP_FAILED;
        }
        /* An error status is not believed on its own (one flipped bit makes one): the
         * read-back in the next round decides whether the register kept its protect bits. */
        st = bk_write_sr(&j->s, sr & ~BK_SR_PROTECT_MASK, sr_bytes);
        if (st != BK_ST_OK && st != BK_ST_CHIP_ERROR)
            return soft(j, st, "writing the status register");
        info(j, "flash unprotected (status register 0x%04x -> 0x%04x)", sr, sr & ~BK_SR_PROTECT_MASK);
    }
    return STEP_DONE;
}

/* The MAC from the RF calibration sector's TLV (bk_read_mac). A module without the tag has no
 * MAC there: the result says so (have_mac false) and nothing is invented. */
static step_result read_mac_step(job *j)
{
    bool found = false;
    bk_status st = bk_read_mac(&j->s, j->r->mac, &found);
    if (st != BK_ST_OK)
        return soft(j, st, "reading the MAC");
    j->r->have_mac = found;
    if (found && j->hooks && j->hooks->on_event) {
        char line[40];
        bk_mac_format(j->r->mac, line, sizeof line);
        char text[48];
        snprintf(text, sizeof text, "mac %s", line);
        bk_event ev = job_event(j, BK_EV_MAC, BK_PHASE_IDENTIFY);
        ev.text = text;
        memcpy(ev.mac, j->r->mac, 6);
        j->hooks->on_event(j->hooks->ctx, &ev);
    } else if (!found)
        info(j, "no MAC in the RF calibration sector at 0x%X", j->s.fam->rf_cal_addr);
    return STEP_DONE;
}

/* ---- what to write --------------------------------------------------------------------- */

static int first_nonblank_sector_from(const bk_plan *p, int from)
{
    for (int i = from; i < p->n_sectors; i++)
        if (!p->sector_blank[i] && p->sector_covered[i])
            return i;
    return -1;
}

/* Remembers what sector `idx` held before anything was erased, for the protected-flash check. */
static void note_before(job *j, int idx, uint32_t crc)
{
    j->prot_sector = idx;
    j->prot_before = crc;
    j->prot_before_known = true;
}

/* The protected-flash check needs the "before" CRC of the first non-blank sector of the first
 * unit that will be written; decide_units usually has it already (one sector's CRC tells a
 * fresh module). On a partial re-flash whose first written unit lies elsewhere it costs one
 * more sector CRC (followed, on a T, by the LinkCheck the next erase needs). */
static bool prepare_protect_check(job *j)
{
    const bk_plan *p = &j->plan;
    for (int u = 0; u < p->n_units; u++) {
        if (!p->units[u].needs_write)
            continue;
        int idx = first_nonblank_sector_from(p, p->units[u].first_sector);
        if (idx < 0 || idx >= p->units[u].first_sector + p->units[u].n_sectors)
            continue; /* an all-blank unit proves nothing: look further */
        if (j->prot_before_known && j->prot_sector == idx)
            return true;
        uint32_t crc = 0;
        bk_status st = bk_check_crc(&j->s, p->start + (uint32_t)idx * BK_SECTOR_SIZE, BK_SECTOR_SIZE, &crc);
        if (st != BK_ST_OK) {
            j->prot_before_known = false; /* cannot tell: the final CRC decides */
            return !ended_hard(j, st, "the protected-flash check");
        }
        note_before(j, idx, crc);
        return true;
    }
    j->prot_before_known = false;
    return true;
}

/* The chip's CRC of every covered span (one span for a raw image: the region). *all_match
 * says whether each equals the image; the first mismatch is reported through *crc_out and
 * *span_out for the timeline. */
static bk_status check_spans(job *j, bool *all_match, uint32_t *crc_out, int *span_out)
{
    *all_match = true;
    for (int i = 0; i < j->plan.n_spans; i++) {
        uint32_t crc = 0;
        bk_status st = bk_check_crc(&j->s, j->plan.spans[i].addr, j->plan.spans[i].len, &crc);
        if (st != BK_ST_OK)
            return st;
        if (crc != j->plan.spans[i].chip_crc && *all_match) {
            *all_match = false;
            *crc_out = crc;
            *span_out = i;
        }
    }
    return BK_ST_OK;
}

/* A fresh module carries vendor firmware: one sector's CRC says so and costs ~10 ms. Only
 * when that sector already matches is the whole region (and then each unit) checked. */
static bool decide_units(job *j, bool *already)
{
    *already = false;
    bk_plan *p = &j->plan;
    int i = first_nonblank_sector_from(p, 0);
    if (i < 0)
        return prepare_protect_check(j);
    uint32_t crc = 0;
    bk_status st = bk_check_crc(&j->s, p->start + (uint32_t)i * BK_SECTOR_SIZE, BK_SECTOR_SIZE, &crc);
    if (st != BK_ST_OK)
        return !ended_hard(j, st, "the unchanged-sector check") && prepare_protect_check(j);
    note_before(j, i, crc);
    if (!j->spec->skip_unchanged || crc != p->sector_crc[i])
        return true;
    bool all_match = false;
    int bad_span = 0;
    st = check_spans(j, &all_match, &crc, &bad_span);
    if (st != BK_ST_OK)
        return !ended_hard(j, st, "the unchanged-region check");
    if (all_match) {
        *already = true;
        for (int u = 0; u < p->n_units; u++)
            p->units[u].needs_write = false;
        return true;
    }
    int skip = 0;
    for (int u = 0; u < p->n_units; u++) {
        st = bk_check_crc(&j->s, p->units[u].addr, p->units[u].size, &crc);
        if (st != BK_ST_OK)
            return !ended_hard(j, st, "the unchanged-unit check");
        if (crc == p->units[u].chip_crc) {
            p->units[u].needs_write = false;
            skip += p->units[u].n_sectors;
        }
    }
    info(j, "%d of %d sectors already hold the image", skip, p->n_covered);
    return prepare_protect_check(j);
}

/* ---- erase and write ------------------------------------------------------------------ */

typedef struct unit_failure {
    bk_status st;
    const char *op; /* "erase", "write" */
    uint32_t addr;
} unit_failure;

/* After the first unit holding the check sector is written: its CRC equal to the image's
 * means the writes took; still equal to what the module held before the erase (and that
 * differs from the image) means the erase and the writes were acknowledged and ignored: the
 * flash is protected. Anything else is left to the final CRC. One sector's CRC; on a T the
 * LinkCheck that follows it is what the next unit's erase needs anyway. */
static bool check_protection(job *j, const bk_unit *u)
{
    int idx = j->prot_sector;
    if (j->prot_checked || !j->prot_before_known || idx < u->first_sector ||
        idx >= u->first_sector + u->n_sectors)
        return true;
    j->prot_checked = true;
    uint32_t crc = 0;
    uint32_t addr = j->plan.start + (uint32_t)idx * BK_SECTOR_SIZE;
    bk_status st = bk_check_crc(&j->s, addr, BK_SECTOR_SIZE, &crc);
    if (st != BK_ST_OK)
        return !ended_hard(j, st, "the protected-flash check"); /* soft: the final CRC decides */
    if (crc == j->plan.sector_crc[idx] || crc != j->prot_before)
        return true;
    return fail(j, BK_END_PROTECT_STUCK, "erase and write of 0x%X were acknowledged but the "
                "sector still holds what it held before: the flash is write-protected%s",
                addr, j->s.fam->has_flash_sr ? " (status register)" : " (the loader's protection)");
}

/* Erases one unit and writes its non-blank sectors, in that order and nothing between (on a
 * T a CRC between them would re-lock the flash and the writes would be lost). */
static bool flash_unit(job *j, bk_unit *u, unit_failure *uf)
{
    set_phase(j, BK_PHASE_ERASE);
    bk_status st = bk_erase(&j->s, u->addr, u->erase_code);
    if (st != BK_ST_OK) {
        *uf = (unit_failure){st, "erase", u->addr};
        return false;
    }
    progress(j, BK_PHASE_ERASE, u->addr);
    set_phase(j, BK_PHASE_WRITE);
    uint8_t data[BK_SECTOR_SIZE];
    for (int s = 0; s < u->n_sectors; s++) {
        int idx = u->first_sector + s;
        uint32_t addr = u->addr + (uint32_t)s * BK_SECTOR_SIZE;
        if (j->plan.sector_blank[idx]) {
            j->r->sectors_skipped++;
        } else {
            bk_plan_sector_data(j->v->image, j->v->image_len, idx, data);
            uint32_t strays = j->s.idle_garbage_events;
            st = bk_write_4k(&j->s, addr, data);
            if (st != BK_ST_OK) {
                *uf = (unit_failure){st, "write", addr};
                return false;
            }
            if (j->s.idle_garbage_events != strays)
                j->ev.stray_events++;
            j->writes_ok++;
            j->r->sectors_written++;
            j->r->bytes_written += BK_SECTOR_SIZE;
        }
        j->done_bytes += BK_SECTOR_SIZE;
        progress(j, BK_PHASE_WRITE, addr);
    }
    return true;
}

static void note_failure(job *j, const unit_failure *uf)
{
    if (uf->st == BK_ST_TIMEOUT) {
        if (!strcmp(uf->op, "write"))
            j->ev.write_timeouts++;
        else
            j->ev.erase_timeouts++;
    } else if (uf->st == BK_ST_CHIP_ERROR) {
        j->ev.chip_errors++;
    } else {
        j->ev.garbled++;
    }
    if (!j->first_failure[0])
        snprintf(j->first_failure, sizeof j->first_failure, "%s at 0x%X: %s at %u baud", uf->op,
                 uf->addr, bk_status_name(uf->st), j->s.baud);
}

/* A unit would not flash: the words for the cause bk_classify will give. */
static bool fail_classified(job *j, const unit_failure *last)
{
    uint32_t tries = j->ev.write_timeouts + j->ev.erase_timeouts + j->ev.garbled + j->ev.chip_errors;
    bk_evidence ev = j->ev;
    ev.end = BK_END_UNIT_RETRIES;
    ev.foreign_frames = j->s.foreign_frames;
    switch (bk_classify(&ev, false)) {
    case BK_CAUSE_FOREIGN_TRAFFIC:
        return fail(j, BK_END_UNIT_RETRIES, "%u TuyaMCU frames and %u bursts of stray bytes on the "
                    "line while flashing; first failure: %s", j->s.foreign_frames,
                    j->ev.stray_events, j->first_failure);
    case BK_CAUSE_SIGNAL_INTEGRITY:
        return fail(j, BK_END_UNIT_RETRIES, "%u garbled replies, %u CRC mismatches; first failure: "
                    "%s; every baud down to %u tried", j->ev.garbled, j->ev.crc_mismatches,
                    j->first_failure, j->s.baud);
    case BK_CAUSE_BROWNOUT:
        return fail(j, BK_END_UNIT_RETRIES, "link, read and erase answered; %s 4 KiB %s at 0x%X was "
                    "never acknowledged (no %s reply) in %u tries at %u baud; every re-link "
                    "answered", j->writes_ok == 0 ? "the first" : "a", last->op, last->addr,
                    strcmp(last->op, "write") ? "16-byte" : "15-byte", tries, j->s.baud);
    default:
        return fail(j, BK_END_UNIT_RETRIES, "%s", j->first_failure);
    }
}

/* A unit failure is evidence of a bad line when bytes came back wrong (garbled reply, an
 * error status such as PACK_LEN_ERROR for a frame that lost bytes); silence is not. */
static bool line_evidence(bk_status st)
{
    return st == BK_ST_GARBLED || st == BK_ST_CHIP_ERROR;
}

/* Writes every unit that needs it. A failed unit is erased and written again after the module
 * answers again (recover); after write_retries failures the baud steps down if the line was
 * seen to be bad at this rate, else the cause is decided. Units skipped on the first pass count
 * as skipped sectors; a verify round's rewrite counts only what it writes. */
static bool write_units(job *j, bool first_pass)
{
    bk_plan *p = &j->plan;
    if (j->write_t0 == 0)
        j->write_t0 = bk_now_s();
    for (int ui = 0; ui < p->n_units; ui++) {
        bk_unit *u = &p->units[ui];
        if (!u->needs_write) {
            if (first_pass)
                j->r->sectors_skipped += u->n_sectors;
            if (first_pass)
                j->done_bytes += u->size;
            continue;
        }
        uint64_t done_before = j->done_bytes;
        uint32_t written_before = j->r->sectors_written, skipped_before = j->r->sectors_skipped;
        int attempts = 0, line_failures = 0;
        unit_failure uf;
        while (!flash_unit(j, u, &uf)) {
            if (j->failed || ended_hard(j, uf.st, uf.op))
                return false;
            note_failure(j, &uf);
            j->done_bytes = done_before;
            j->r->sectors_written = written_before;
            j->r->sectors_skipped = skipped_before;
            line_failures += line_evidence(uf.st);
            if (++attempts > j->spec->write_retries) {
                if (line_failures == 0 || !step_down(j, "garbled replies while writing"))
                    return fail_classified(j, &uf);
                attempts = line_failures = 0;
            }
            char after[96];
            snprintf(after, sizeof after, "%s at 0x%X: %s", uf.op, uf.addr, bk_status_name(uf.st));
            info(j, "%s", after);
            if (!recover(j, after))
                return false;
        }
        if (!first_pass)
            j->done_bytes = done_before;
        u->needs_write = false;
        if (!check_protection(j, u))
            return false;
    }
    return true;
}

/* ---- verify ---------------------------------------------------------------------------- */

/* Marks the units whose CRC differs; returns how many, or -1 on failure. */
static int locate_bad_units(job *j)
{
    int bad = 0;
    for (int u = 0; u < j->plan.n_units; u++) {
        uint32_t crc = 0;
        bk_status st = bk_check_crc(&j->s, j->plan.units[u].addr, j->plan.units[u].size, &crc);
        if (st != BK_ST_OK) {
            if (ended_hard(j, st, "locating bad sectors"))
                return -1;
            j->ev.garbled += st == BK_ST_GARBLED;
            j->plan.units[u].needs_write = true; /* cannot tell: write it again */
            bad++;
            continue;
        }
        if (crc != j->plan.units[u].chip_crc) {
            j->plan.units[u].needs_write = true;
            bad++;
        }
    }
    return bad;
}

/* Finds the first sector whose CRC differs among the units marked bad; -1 if none (or on
 * failure: j->failed says). */
static int first_bad_sector(job *j)
{
    for (int u = 0; u < j->plan.n_units; u++) {
        bk_unit *un = &j->plan.units[u];
        if (!un->needs_write)
            continue;
        for (int k = 0; k < un->n_sectors; k++) {
            uint32_t crc = 0;
            bk_status st = bk_check_crc(&j->s, un->addr + (uint32_t)k * BK_SECTOR_SIZE,
                                        BK_SECTOR_SIZE, &crc);
            if (st != BK_ST_OK)
                return ended_hard(j, st, "locating a bad sector") ? -1 : un->first_sector + k;
            if (crc != j->plan.sector_crc[un->first_sector + k])
                return un->first_sector + k;
        }
    }
    return -1;
}

/* Reads one bad sector back twice into the evidence (bk_evidence's readback_* fields say what
 * each count means; bk_readback_says_line reads them). Returns the sector's address. */
static uint32_t read_back_sector(job *j, int idx)
{
    bk_evidence *e = &j->ev;
    uint32_t addr = j->plan.start + (uint32_t)(idx < 0 ? 0 : idx) * BK_SECTOR_SIZE;
    e->readback_ok = false;
    e->readback_disagree = e->readback_cleared = e->readback_left_at_one = e->readback_multi_bit = 0;
    if (idx < 0)
        return addr;
    uint8_t *a = malloc(3 * BK_SECTOR_SIZE);
    if (a && bk_read_4k(&j->s, addr, a) == BK_ST_OK &&
        bk_read_4k(&j->s, addr, a + BK_SECTOR_SIZE) == BK_ST_OK) {
        e->readback_ok = true;
        uint8_t *want = a + 2 * BK_SECTOR_SIZE;
        bk_plan_sector_data(j->v->image, j->v->image_len, idx, want);
        for (size_t i = 0; i < BK_SECTOR_SIZE; i++) {
            if (a[i] != a[BK_SECTOR_SIZE + i]) {
                e->readback_disagree++;
                continue;
            }
            int up = __builtin_popcount((unsigned)(a[i] & ~want[i]) & 0xFFu);
            int down = __builtin_popcount((unsigned)(~a[i] & want[i]) & 0xFFu);
            e->readback_left_at_one += (uint32_t)up;
            e->readback_cleared += (uint32_t)down;
            e->readback_multi_bit += up + down > 1;
        }
    } else {
        e->garbled++; /* a sector that cannot be read back twice: the line */
    }
    free(a);
    return addr;
}

/* Every write was acknowledged and the CRC still differs after the last round: the words for
 * what the read-back of the first bad sector showed. */
static bool fail_verify(job *j, int rounds, uint32_t addr)
{
    const bk_evidence *e = &j->ev;
    if (bk_readback_says_line(e))
        return fail(j, BK_END_VERIFY_EXHAUSTED, "the flash CRC still differs after %d rewrites "
                    "down to %u baud; sector 0x%X read back: %u bits cleared and %u set that the "
                    "image does not, %u bytes differing between two reads: data corrupted on the "
                    "wire", rounds, j->s.baud, addr, e->readback_cleared, e->readback_left_at_one,
                    e->readback_disagree);
    return fail(j, BK_END_VERIFY_EXHAUSTED, "every write acknowledged, but the CRC differs after "
                "%d rewrites (last at %u baud); sector 0x%X has %u bits that did not program",
                rounds, j->s.baud, addr, e->readback_left_at_one);
}

/* The region's CRC; on a mismatch the bad units are found, one bad sector is read back to tell
 * the line from the cells, and the bad units are erased and written again - at the same baud
 * unless the read-back (or garbled replies) showed a bad line. */
static bool verify(job *j)
{
    int max_rounds = 1 + j->spec->write_retries + j->spec->n_bauds;
    for (int round = 0;; round++) {
        set_phase(j, BK_PHASE_VERIFY);
        uint32_t crc = 0;
        uint32_t garbled_before = j->ev.garbled + j->s.garbled_replies;
        bool all_match = false;
        int bad_span = 0;
        bk_status st = check_spans(j, &all_match, &crc, &bad_span);
        if (st == BK_ST_OK && all_match)
            return true;
        if (ended_hard(j, st, "the final CRC"))
            return false;
        if (st != BK_ST_OK) {
            j->ev.garbled += st == BK_ST_GARBLED;
            info(j, "final CRC: %s", bk_status_name(st));
            if (round + 1 >= max_rounds)
                return fail(j, BK_END_CRC_NEVER_WHOLE,
                            "the final CRC never came back whole (%s) in %d tries", bk_status_name(st),
                            round + 1);
            if (st == BK_ST_GARBLED)
                step_down(j, "garbled CRC reply");
            if (!recover(j, "a failed CRC"))
                return false;
            continue;
        }
        j->ev.crc_mismatches++;
        const bk_span *sp = &j->plan.spans[bad_span];
        info(j, "CRC of 0x%X..0x%X is %08x, image %08x", sp->addr, sp->addr + sp->len, ~crc,
             ~sp->chip_crc);
        int bad = locate_bad_units(j);
        if (bad < 0)
            return false;
        if (bad == 0)
            continue; /* the whole differed but no unit does: ask again */
        uint32_t bad_addr = read_back_sector(j, first_bad_sector(j));
        if (j->failed)
            return false;
        bool line = bk_readback_says_line(&j->ev) || j->ev.garbled + j->s.garbled_replies > garbled_before;
        if (round + 1 >= max_rounds)
            return fail_verify(j, round, bad_addr);
        if (line)
            step_down(j, "data corrupted on the wire"); /* the rewrite goes at the lower rate */
        info(j, "rewriting %d units at %u baud", bad, j->spec->bauds[j->baud_idx]);
        if (!establish_baud(j) || !write_units(j, false))
            return false;
    }
}

/* ---- the backup before the first erase ------------------------------------------------ */

/* Notes an exchange of the backup that failed: the first one goes in the detail. */
static step_result backup_soft(job *j, bk_status st, const char *what, uint32_t addr)
{
    if (!j->bk_failure[0])
        snprintf(j->bk_failure, sizeof j->bk_failure, "%s at 0x%X: %s at %u baud", what, addr,
                 bk_status_name(st), j->s.baud);
    return soft(j, st, what);
}

static step_result backup_store_failed(job *j, const char *what, const char *err)
{
    fail(j, BK_END_BACKUP_STORE, "backup: the store refused %s: %s; nothing erased", what, err);
    return STEP_FAILED;
}

/* The chip's CRC of every range not yet known; blank ones are marked. */
static step_result backup_crcs(job *j)
{
    for (int i = 0; i < j->n_bk; i++) {
        bk_backup_range *r = &j->bk[i];
        if (r->crc_known)
            continue;
        uint32_t crc = 0;
        bk_status st = bk_check_crc(&j->s, r->addr, r->len, &crc);
        j->r->backup.crcs++;
        if (st != BK_ST_OK)
            return backup_soft(j, st, "backup CheckCRC", r->addr);
        r->crc32 = ~crc;
        r->crc_known = true;
        r->blank = r->crc32 == bk_backup_blank_crc32(r->len);
    }
    return STEP_DONE;
}

/* Reads one range and checks the bytes against the chip's CRC of it: a read that does not
 * match is read again on the next try (the line garbled it), never kept. */
static step_result backup_read(job *j, bk_backup_range *r, uint8_t *buf)
{
    for (uint32_t off = 0; off < r->len; off += BK_SECTOR_SIZE) {
        bk_status st = bk_read_4k(&j->s, r->addr + off, buf + off);
        if (st != BK_ST_OK)
            return backup_soft(j, st, "backup Read4K", r->addr + off);
        j->r->backup.bytes_read += BK_SECTOR_SIZE;
    }
    if ((uint32_t)crc32(0L, buf, r->len) != r->crc32) {
        j->ev.garbled++;
        if (!j->bk_failure[0])
            snprintf(j->bk_failure, sizeof j->bk_failure, "backup read of 0x%X..0x%X differs "
                     "from the chip's CRC at %u baud", r->addr, r->addr + r->len, j->s.baud);
        return STEP_RETRY;
    }
    return STEP_DONE;
}

/* The backup's progress (phase BACKUP): ranges and their bytes kept so far of all planned;
 * `all`: the module is kept already, every range counts as done. */
static void backup_progress(job *j, uint32_t addr, bool all)
{
    if (!j->hooks || !j->hooks->on_event)
        return;
    uint64_t done = 0, total = 0;
    uint32_t n_done = 0;
    for (int i = 0; i < j->n_bk; i++) {
        bool kept = all || j->bk[i].done;
        total += j->bk[i].len;
        done += kept ? j->bk[i].len : 0;
        n_done += kept;
    }
    bk_event ev = job_event(j, BK_EV_PROGRESS, BK_PHASE_BACKUP);
    ev.bytes_done = done;
    ev.bytes_total = total;
    ev.ranges_done = n_done;
    ev.ranges_total = (uint32_t)j->n_bk;
    ev.address = addr;
    j->hooks->on_event(j->hooks->ctx, &ev);
}

/* One try of the backup: CRCs, "is this module kept already?", then each range that is not
 * blank and not in the store is read, verified and put; the index is committed last. */
static step_result backup_step(job *j)
{
    const bk_backup_ops *ops = j->hooks ? j->hooks->backup : NULL;
    char err[256] = "";
    if (j->bk_settled)
        return STEP_DONE;
    step_result sr = backup_crcs(j);
    if (sr != STEP_DONE)
        return sr;
    if (!j->bk_asked_store) {
        int n_dev = 0;
        while (n_dev < j->n_bk && !j->bk[n_dev].shared)
            n_dev++;
        int have = ops->have_backup(ops->ctx, j->r->mac, j->spec->backup, j->bk, n_dev, err,
                                    sizeof err);
        if (have < 0)
            return backup_store_failed(j, "the lookup", err);
        j->bk_asked_store = true;
        if (have == 1) {
            j->bk_settled = true;
            j->r->backup.already_kept = true;
            backup_progress(j, j->n_bk ? j->bk[0].addr : 0, true);
            info(j, "backup: this module's own data is kept already (same MAC, same CRCs): "
                 "nothing read");
            return STEP_DONE;
        }
    }
    uint8_t *buf = malloc(BK_BACKUP_BLOCK);
    if (!buf)
        return backup_store_failed(j, "a block", "out of memory");
    sr = STEP_DONE;
    /* pass 0 leaves the blocks another job is reading for pass 1, which reads what is still
       missing then */
    for (int pass = 0; pass < 2 && sr == STEP_DONE; pass++)
    for (int i = 0; i < j->n_bk && sr == STEP_DONE; i++) {
        bk_backup_range *r = &j->bk[i];
        if (r->done || (pass == 1 && !r->deferred))
            continue;
        if (r->blank) {
            r->done = true;
            j->r->backup.blank++;
            backup_progress(j, r->addr, false);
            continue;
        }
        if (r->shared) {
            int have = ops->have_block(ops->ctx, r, pass == 1, err, sizeof err);
            if (have < 0) {
                sr = backup_store_failed(j, "the lookup", err);
                break;
            }
            if (have == 1) {
                r->done = true;
                j->r->backup.known++;
                backup_progress(j, r->addr, false);
                continue;
            }
            if (have == 2 && pass == 0) {
                r->deferred = true;
                continue;
            }
        }
        sr = backup_read(j, r, buf);
        if (sr != STEP_DONE)
            break;
        if (ops->put_block(ops->ctx, r, buf, err, sizeof err) < 0) {
            sr = backup_store_failed(j, "a block", err);
            break;
        }
        r->done = true;
        j->r->backup.read++;
        backup_progress(j, r->addr, false);
    }
    free(buf);
    if (sr != STEP_DONE)
        return sr;
    if (ops->commit(ops->ctx, j->r->mac, j->r->chip, j->spec->backup, j->bk, j->n_bk, err,
                    sizeof err) < 0)
        return backup_store_failed(j, "the index", err);
    j->bk_settled = true;
    info(j, "backup (%s): %u ranges, %u blank, %u already in the store, %u read (%llu bytes)",
         bk_backup_mode_name(j->spec->backup), j->r->backup.ranges, j->r->backup.blank,
         j->r->backup.known, j->r->backup.read, (unsigned long long)j->r->backup.bytes_read);
    return STEP_DONE;
}

/* Keeps what the module came with before anything is erased (spec->backup). A read that fails
 * or does not match its CRC is tried again after a re-link, up to write_retries times; then
 * the module fails with its own cause, nothing erased. */
static bool backup(job *j)
{
    j->r->backup.mode = j->spec->backup;
    if (j->spec->backup == BK_BACKUP_NONE)
        return true;
    double t0 = bk_now_s();
    if (!j->hooks || !j->hooks->backup)
        return fail(j, BK_END_BACKUP_STORE, "the profile asks for a backup (%s) and no store is "
                    "set up (trayflash flash --db FILE, or the station's database); nothing "
                    "erased", bk_backup_mode_name(j->spec->backup));
    if (!j->r->have_mac)
        return fail(j, BK_END_BACKUP_READ, "no MAC in the RF calibration sector at 0x%X: the "
                    "backup cannot be filed under the module; nothing erased",
                    j->s.fam->rf_cal_addr);
    j->n_bk = bk_backup_plan(j->s.fam, j->spec->backup, j->bk, BK_BACKUP_MAX_RANGES);
    if (j->n_bk < 0)
        return fail(j, BK_END_BACKUP_STORE, "the backup plan of %s does not fit", j->s.fam->name);
    j->r->backup.ranges = (uint32_t)j->n_bk;
    set_phase(j, BK_PHASE_BACKUP);
    backup_progress(j, j->n_bk ? j->bk[0].addr : 0, false);
    uint32_t garbled_before = j->ev.garbled;
    for (int attempt = 0;; attempt++) {
        /* reads and CRCs only: the T's LinkCheck after each CRC waits for the end */
        j->s.reads_only = true;
        step_result r = backup_step(j);
        if (r == STEP_DONE) {
            bk_status st = bk_relink_after_crcs(&j->s, (int)(bk_byte_time_s(j->s.baud) * 13 * 1000.0) + 250);
            if (st == BK_ST_OK)
                break;
            if (ended_hard(j, st, "the LinkCheck after the backup"))
                return false;
            r = backup_soft(j, st, "LinkCheck after the backup", 0);
        }
        j->s.reads_only = false;
        if (r == STEP_FAILED || j->failed)
            return false;
        if (attempt >= j->spec->write_retries)
            return fail(j, BK_END_BACKUP_READ, "backup: %s; %d tries, %u garbled; nothing erased",
                        j->bk_failure[0] ? j->bk_failure : "no reply", attempt + 1,
                        j->ev.garbled - garbled_before);
        if (!recover(j, "a failed backup read"))
            return false;
    }
    j->r->backup.seconds = bk_now_s() - t0;
    return true;
}

/* Restore: the module in the socket must be the one the backup belongs to. */
static bool check_expected_module(job *j)
{
    if (!j->spec->expect_mac_set)
        return true;
    char want[20], got[20];
    bk_mac_format(j->spec->expect_mac, want, sizeof want);
    if (!j->r->have_mac) {
        if (j->spec->allow_no_mac) {
            info(j, "module shows no MAC: restoring %s's backup as forced", want);
            return true;
        }
        return fail(j, BK_END_WRONG_MODULE, "the module shows no MAC (its RF sector is wiped); "
                    "the backup is %s's: restore it with --force; nothing erased", want);
    }
    if (memcmp(j->r->mac, j->spec->expect_mac, 6) == 0)
        return true;
    bk_mac_format(j->r->mac, got, sizeof got);
    return fail(j, BK_END_WRONG_MODULE, "the module is %s, the backup is %s's; nothing erased",
                got, want);
}

/* ---- per-device data ------------------------------------------------------------------ */

/* Before anything is erased: a module to personalise must have its MAC, and the host builds its
 * sector now (a refusal or a hold costs the module nothing). The sector may only go where no
 * app write goes, and never into the RF calibration or the bootloader. */
static bool personal_prepare(job *j)
{
    if (!j->hooks || !j->hooks->personal)
        return true;
    if (!j->r->have_mac)
        return fail(j, BK_END_NO_MAC, "no MAC in the RF calibration sector at 0x%X: the module "
                    "cannot be personalised (nothing erased)", j->s.fam->rf_cal_addr);
    j->config = malloc(BK_SECTOR_SIZE);
    if (!j->config)
        return fail(j, BK_END_IMAGE_REFUSED, "out of memory for the config sector");
    memset(j->config, 0xFF, BK_SECTOR_SIZE);
    char why[sizeof j->r->detail] = "";
    bk_personal_answer a = j->hooks->personal(j->hooks->personal_ctx, j->r->chip, j->r->mac,
                                              &j->config_addr, j->config, why, sizeof why);
    if (a == BK_PERSONAL_HOLD) {
        j->r->held = true;
        return fail(j, BK_END_CANCELLED, "%s", why[0] ? why : "held: no per-device data now");
    }
    if (a != BK_PERSONAL_WRITE)
        return fail(j, BK_END_IMAGE_REFUSED, "%s (nothing erased)", why[0] ? why : "no per-device data");
    const bk_family *f = j->s.fam;
    uint32_t a0 = j->config_addr;
    if (a0 % BK_SECTOR_SIZE || a0 < f->protected_end || a0 >= f->flash_size ||
        a0 == f->rf_cal_addr || (a0 >= j->v->offset && a0 - j->v->offset < j->v->image_len))
        return fail(j, BK_END_IMAGE_REFUSED, "the per-device sector at 0x%X would overlap the "
                    "bootloader, the RF calibration or the app image (nothing erased)", a0);
    j->r->config_addr = a0;
    return true;
}

/* After the app verified: erase the config sector, write it, and compare the chip's CRC of it
 * with the host's. A failed or mismatching round is retried after the module answers again,
 * as a unit is; the last failure names the cause config_not_written. */
static bool personal_write(job *j)
{
    if (!j->config)
        return true;
    uint32_t want = bk_chip_crc(j->config, BK_SECTOR_SIZE);
    uint32_t addr = j->config_addr;
    char seen[128] = "";
    for (int attempt = 0;; attempt++) {
        set_phase(j, BK_PHASE_WRITE);
        const char *op = "erase";
        bk_status st = bk_erase(&j->s, addr, BK_ERASE_SIZE_4K);
        if (st == BK_ST_OK) {
            op = "write";
            st = bk_write_4k(&j->s, addr, j->config);
        }
        uint32_t crc = 0;
        if (st == BK_ST_OK) {
            op = "CRC";
            set_phase(j, BK_PHASE_VERIFY);
            st = bk_check_crc(&j->s, addr, BK_SECTOR_SIZE, &crc);
        }
        if (st == BK_ST_OK && crc == want) {
            j->r->personalized = true;
            j->r->config_crc = ~want;
            info(j, "config sector 0x%X written and verified (CRC %08x)", addr, ~want);
            return true;
        }
        if (ended_hard(j, st, "the config sector"))
            return false;
        if (st == BK_ST_OK) {
            j->ev.crc_mismatches++;
            snprintf(seen, sizeof seen, "its CRC read %08x, the host's is %08x", ~crc, ~want);
        } else {
            j->ev.write_timeouts += st == BK_ST_TIMEOUT && !strcmp(op, "write");
            j->ev.erase_timeouts += st == BK_ST_TIMEOUT && !strcmp(op, "erase");
            j->ev.garbled += st == BK_ST_GARBLED;
            snprintf(seen, sizeof seen, "the %s got %s", op, bk_status_name(st));
        }
        if (attempt >= j->spec->write_retries)
            return fail(j, BK_END_CONFIG_RETRIES, "the app verified, but the config sector at "
                        "0x%X was not written in %d tries: %s", addr, attempt + 1, seen);
        char after[160];
        snprintf(after, sizeof after, "config sector 0x%X: %s", addr, seen);
        info(j, "%s", after);
        if (!recover(j, after))
            return false;
    }
}

/* ---- the job --------------------------------------------------------------------------- */

/* No sector the job would erase or write may lie in the module's own data (the per-device
 * table in bk_chip.c): checked here, before anything touches the module, whatever the
 * profile check said. Only covered sectors are erased, so only they are checked. */
static bool check_per_device(job *j, const bk_variant *v, const bk_family *f)
{
    uint32_t n = (uint32_t)((v->image_len + BK_SECTOR_SIZE - 1) / BK_SECTOR_SIZE);
    for (uint32_t i = 0; i < n; i++) {
        if (v->covered && !v->covered[i])
            continue;
        uint32_t addr = v->offset + i * BK_SECTOR_SIZE;
        const bk_region *r = bk_per_device_overlap(f, addr, BK_SECTOR_SIZE);
        if (r)
            return fail(j, BK_END_IMAGE_REFUSED, "the image would erase 0x%X, in the %s's %s at "
                        "0x%X..0x%X (the module's own data); nothing erased", addr, f->name,
                        r->name, r->start, r->start + r->len);
    }
    return true;
}

static bool check_spec(job *j)
{
    const bk_job_spec *sp = j->spec;
    if (sp->n_variants < 1 || sp->n_variants > BK_MAX_VARIANTS)
        return fail(j, BK_END_IMAGE_REFUSED, "the profile has no image variant");
    if (sp->n_bauds < 1 || sp->n_bauds > BK_MAX_BAUDS)
        return fail(j, BK_END_IMAGE_REFUSED, "the profile has no baud rate");
    for (int i = 0; i < sp->n_variants; i++) {
        const bk_variant *v = &sp->variants[i];
        const bk_family *f = bk_family_get(v->chip);
        if (!f || !v->image || v->image_len == 0)
            return fail(j, BK_END_IMAGE_REFUSED, "variant %d has no chip or no image", i);
        if (v->offset % BK_SECTOR_SIZE)
            return fail(j, BK_END_IMAGE_REFUSED, "offset 0x%X is not 4 KiB aligned", v->offset);
        if ((uint64_t)v->offset + v->image_len > f->flash_size)
            return fail(j, BK_END_IMAGE_REFUSED, "image of %zu bytes at 0x%X runs past the end of "
                        "the %u KiB flash", v->image_len, v->offset, f->flash_size / 1024);
        if (v->offset < f->protected_end && !sp->allow_bootloader_write)
            return fail(j, BK_END_IMAGE_REFUSED, "offset 0x%X is inside the bootloader area "
                        "(below 0x%X) and the profile does not allow it", v->offset, f->protected_end);
        if (!sp->allow_per_device_write && !check_per_device(j, v, f))
            return false;
    }
    return true;
}

/* While the caller's gate has not decided: one LinkCheck keeps the bootloader in download
 * mode. A silent module (taken out of its socket, or it left download mode) ends the job
 * before anything on it changed; a cancel or a vanished port ends it as any step would. */
static bool keep_link_while_gated(job *j)
{
    for (int i = 0; i < IN_PLACE_LINK_TRIES; i++) {
        bk_status st = bk_link_check(&j->s, (int)(bk_byte_time_s(j->s.baud) * 13 * 1000.0) + 50);
        if (st == BK_ST_OK)
            return true;
        if (is_hard(st)) {
            ended_hard(j, st, "the wait for the station's decision");
            return false;
        }
    }
    return fail(j, BK_END_RELINK_FAILED, "the module stopped answering LinkCheck while the "
                "station waited to decide whether to flash it (nothing on it was changed)");
}

/* The caller's gate, before the first change to the module. */
static bool pass_gate(job *j)
{
    if (!j->hooks || !j->hooks->gate)
        return true;
    char why[sizeof j->r->detail] = "";
    bk_gate g;
    while ((g = j->hooks->gate(j->hooks->ctx, j->r, why, sizeof why)) == BK_GATE_WAIT)
        if (!keep_link_while_gated(j))
            return false;
    if (g == BK_GATE_GO)
        return true;
    j->r->skipped = true;
    snprintf(j->r->detail, sizeof j->r->detail, "%s", why[0] ? why : "left as it is by the station");
    info(j, "skipped, nothing changed: %s", j->r->detail);
    return false;
}

static bool run(job *j)
{
    if (!check_spec(j))
        return false;
    j->r->baud_start = j->spec->bauds[0];
    set_phase(j, BK_PHASE_LINK);
    bk_status st = link_with_reset(j, j->spec->link_timeout_ms);
    if (st != BK_ST_OK) {
        if (ended_hard(j, st, "linking"))
            return false;
        return fail(j, BK_END_NEVER_LINKED, "no reply to LinkCheck within %d ms of reset "
                    "(%s)", j->spec->link_timeout_ms, bk_status_name(st));
    }
    j->linked_once = true;
    info(j, "linked in %.2f s", bk_now_s() - j->t0);
    set_phase(j, BK_PHASE_IDENTIFY);
    if (!establish_baud(j))
        return false;
    j->r->baud_start = j->s.baud;
    /* The MAC is read before the variant is chosen: a module refused as the wrong chip is
     * still traceable in the records (a read changes nothing on the module). */
    if (!run_step(j, identify_step, "identification") ||
        !run_step(j, read_mac_step, "reading the MAC") || !choose_variant(j) || !pass_gate(j) ||
        !check_expected_module(j) || !personal_prepare(j) ||
        !run_step(j, unprotect_step, "unprotecting the flash") || !backup(j))
        return false;
    j->r->offset = j->v->offset;
    if (!bk_plan_build_covered(&j->plan, j->v->image, j->v->image_len, j->v->offset,
                               j->spec->erase_mode, j->v->covered))
        return fail(j, BK_END_IMAGE_REFUSED, "image of %zu bytes at 0x%X cannot be planned",
                    j->v->image_len, j->v->offset);
    j->r->length = j->plan.len;
    j->r->sectors_total = (uint32_t)j->plan.n_covered;
    j->r->image_crc = ~j->plan.region_crc;
    bool already = false;
    if (!decide_units(j, &already))
        return false;
    if (already) {
        j->r->sectors_skipped = (uint32_t)j->plan.n_covered;
        j->done_bytes = j->plan.covered_len;
        info(j, "module already holds this image (region CRC matches): nothing written");
        return personal_write(j);
    }
    if (!write_units(j, true) || !verify(j))
        return false;
    return personal_write(j);
}

void bk_flash_job_on(bk_transport *tp, const bk_job_spec *spec, const bk_job_hooks *hooks,
                     bk_result *result)
{
    memset(result, 0, sizeof *result);
    result->variant = -1;
    job *j = calloc(1, sizeof *j);
    if (!j) {
        bk_evidence ev = {.end = BK_END_PORT_ERROR};
        result->cause = bk_classify(&ev, false);
        snprintf(result->detail, sizeof result->detail, "out of memory");
        return;
    }
    j->spec = spec;
    j->hooks = hooks;
    j->r = result;
    j->t0 = bk_now_s();
    j->prot_sector = -1;
    bk_session_init(&j->s, tp, hooks ? hooks->cancel : NULL);
    if (hooks)
        j->s.trace = hooks->trace;
    bool ok = run(j);
    j->ev.foreign_frames = j->s.foreign_frames;
    result->passed = ok;
    /* the one place a cause is decided (a pass: the warning of one that needed help); a
     * skipped module has none: nothing went wrong, nothing was done */
    result->cause = ok || result->skipped ? BK_CAUSE_NONE : bk_classify(&j->ev, false);
    result->warning = ok ? bk_classify(&j->ev, true) : BK_CAUSE_NONE;
    if (ok) {
        set_phase(j, BK_PHASE_DONE);
        bk_reboot(&j->s);
    }
    result->baud_end = j->s.baud;
    result->seconds = bk_now_s() - j->t0;
    /* The per-device sector holds passwords, and so did the session's frame buffers: wiped
     * before the memory goes back to the allocator (a database page cache would write its
     * stale bytes to disk). */
    if (j->config)
        explicit_bzero(j->config, BK_SECTOR_SIZE);
    free(j->config);
    explicit_bzero(j, sizeof *j);
    free(j);
}

/* An open that failed because the adapter is being unplugged is not a port problem: the
 * station says so through the cancel flag (udev told it), or the node is still there but dead
 * (EIO, ENXIO, ENODEV). A path that never existed is a port error: a typo, not an unplug. */
static bool port_vanished(const char *path, const bk_job_hooks *hooks)
{
    if (hooks && hooks->cancel && atomic_load(hooks->cancel) == BK_CANCEL_ADAPTER_REMOVED)
        return true;
    int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) {
        close(fd);
        return false;
    }
    return errno == ENODEV || errno == ENXIO || errno == EIO;
}

void bk_flash_job(const char *port_path, const bk_job_spec *spec, const bk_job_hooks *hooks,
                  bk_result *result)
{
    char err[200] = "";
    bk_transport *tp = bk_transport_open(port_path, LINK_BAUD, err, sizeof err);
    if (!tp) {
        memset(result, 0, sizeof *result);
        result->variant = -1;
        bk_evidence ev = {.end = port_vanished(port_path, hooks) ? BK_END_PORT_GONE : BK_END_PORT_ERROR};
        result->cause = bk_classify(&ev, false);
        snprintf(result->detail, sizeof result->detail, "%s", err);
        return;
    }
    bk_flash_job_on(tp, spec, hooks, result);
    bk_transport_close(tp);
}
