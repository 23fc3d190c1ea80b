/* End-to-end: the engine flashes a bksim module through a real pty (the termios transport on
 * the simulator's link), for each chip and each fault, and the test checks the outcome, the
 * exact cause, and the module's flash afterwards (read back from the simulator byte by byte).
 *
 * Usage: test_engine_e2e --list | CASE   (each case is its own ctest test, so they run in
 * parallel) */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bk_job.h"
#include "bk_session.h"
#include "bksim.h"
#include "check.h"
#include "obk_config.h"

#define IMAGE_OFFSET 0x11000u
#define IMAGE_LEN (96u * 1024u) /* 15 sectors to 0x20000, one 64 KiB block, 9 sectors */

typedef struct rig {
    bksim_server *sim;
    bksim_module_config mc;
    bk_job_spec spec;
    uint8_t *image;
    bk_result r;
    char link_dir[64];
    int power_cycle_events, info_events;
    char last_info[256];
    struct personal_fake *personal; /* set: the job personalises through fake_personal */
    struct gate_fake *gate;         /* set: the job asks fake_gate before the first change */
} rig;

/* The host's side of per-device data, as a test double: a sector derived from the MAC, or a
 * hold / a refusal. */
typedef struct personal_fake {
    bk_personal_answer answer;
    int calls;
    uint8_t mac[6];
    uint8_t sector[4096];
} personal_fake;

static bk_personal_answer fake_personal(void *ctx, bk_chip chip, const uint8_t mac[6],
                                        uint32_t *addr, uint8_t *sector, char *why, size_t whylen)
{
    personal_fake *pf = ctx;
    pf->calls++;
    memcpy(pf->mac, mac, 6);
    if (pf->answer != BK_PERSONAL_WRITE) {
        snprintf(why, whylen, "waiting: ledger empty (test)");
        return pf->answer;
    }
    *addr = obk_config_addr(chip);
    for (int i = 0; i < 4096; i++)
        sector[i] = (uint8_t)(mac[i % 6] + i / 6);
    memcpy(pf->sector, sector, 4096);
    return BK_PERSONAL_WRITE;
}

static void make_image(uint8_t *img, size_t len, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        img[i] = (uint8_t)x;
    }
    if (len > 0x9000)
        memset(img + 0x8000, 0xFF, 0x1000); /* one blank sector: erased, never written */
}

static void on_event(void *ctx, const bk_event *ev)
{
    rig *g = ctx;
    if (ev->kind == BK_EV_POWER_CYCLE_NEEDED)
        g->power_cycle_events++;
    if (ev->kind == BK_EV_INFO && ev->text) {
        g->info_events++;
        snprintf(g->last_info, sizeof g->last_info, "%s", ev->text);
        if (getenv("E2E_VERBOSE"))
            fprintf(stderr, "  [%.3f] %s\n", ev->t_s, ev->text);
    }
}

static void rig_init(rig *g, bk_chip chip, const char *fault)
{
    memset(g, 0, sizeof *g);
    bksim_module_config_default(&g->mc);
    g->mc.chip = chip;
    if (fault) {
        char err[160];
        if (!bksim_fault_parse(fault, &g->mc.faults, err, sizeof err)) {
            fprintf(stderr, "bad fault %s: %s\n", fault, err);
            exit(2);
        }
    }
    g->image = malloc(IMAGE_LEN);
    make_image(g->image, IMAGE_LEN, 7);
    bk_job_spec_defaults(&g->spec);
    g->spec.product = "e2e";
    g->spec.n_variants = 1;
    g->spec.variants[0] = (bk_variant){.chip = chip, .image = g->image, .image_len = IMAGE_LEN,
                                       .offset = IMAGE_OFFSET};
    g->spec.link_timeout_ms = 1500;
}

static void rig_start(rig *g, double time_scale)
{
    snprintf(g->link_dir, sizeof g->link_dir, "/tmp/tf-e2e-XXXXXX");
    if (!mkdtemp(g->link_dir)) {
        perror("mkdtemp");
        exit(2);
    }
    bksim_config cfg = {.count = 1, .link_dir = g->link_dir, .seed = 42, .time_scale = time_scale,
                        .modules = &g->mc};
    char err[200];
    g->sim = bksim_start(&cfg, err, sizeof err);
    if (!g->sim) {
        fprintf(stderr, "bksim_start: %s\n", err);
        exit(2);
    }
}

/* The host's gate as a test double: WAIT for `waits` calls, then `then`; at call `act_at` it
 * cancels the job or pulls the module (power off), as an operator or a yank would. */
typedef struct gate_fake {
    int waits, calls, act_at;
    bk_gate then;
    bool cancel_at, pull_at;
    atomic_int cancel;
    bksim_server *sim;
    uint64_t frames_first, frames_last; /* the module's frames at the first and last call */
} gate_fake;

static bk_gate fake_gate(void *ctx, const struct bk_result *so_far, char *why, size_t whylen)
{
    gate_fake *f = ctx;
    bksim_stats ss;
    bksim_get_stats(f->sim, 0, &ss);
    if (!f->calls)
        f->frames_first = ss.frames;
    f->frames_last = ss.frames;
    f->calls++;
    if (!so_far->have_mac)
        return BK_GATE_GO;
    if (f->calls == f->act_at && f->cancel_at)
        atomic_store(&f->cancel, BK_CANCEL_OPERATOR);
    if (f->calls == f->act_at && f->pull_at)
        bksim_set_power(f->sim, 0, false);
    if (f->calls <= f->waits)
        return BK_GATE_WAIT;
    snprintf(why, whylen, "the fake said so");
    return f->then;
}

static void rig_flash(rig *g)
{
    bk_job_hooks hooks = {.on_event = on_event, .ctx = g};
    if (g->gate) {
        hooks.gate = fake_gate;
        hooks.ctx = g->gate; /* the gate's context; events are not counted in these cases */
        hooks.on_event = NULL;
        hooks.cancel = &g->gate->cancel;
    }
    if (g->personal) {
        hooks.personal = fake_personal;
        hooks.personal_ctx = g->personal;
    }
    bk_flash_job(bksim_link_path(g->sim, 0), &g->spec, &hooks, &g->r);
    fprintf(stderr, "  result: %s cause=%s warning=%s baud %u->%u written %u skipped %u retries %u "
            "%.2f s\n  detail: %s\n", g->r.passed ? "PASS" : "FAIL", bk_cause_id(g->r.cause),
            bk_cause_id(g->r.warning), g->r.baud_start, g->r.baud_end, g->r.sectors_written,
            g->r.sectors_skipped, g->r.retries, g->r.seconds, g->r.detail);
}

static void rig_stop(rig *g)
{
    bksim_stop(g->sim);
    rmdir(g->link_dir);
    free(g->image);
}

/* The module's flash over the image region equals the image, byte for byte. */
static bool flash_matches_image(rig *g, const bk_variant *v)
{
    uint8_t *back = malloc(v->image_len);
    bksim_read_flash(g->sim, 0, v->offset, back, v->image_len);
    bool same = memcmp(back, v->image, v->image_len) == 0;
    free(back);
    return same;
}

/* Nothing in the app region changed (the fault was found before anything was erased). */
static bool region_untouched(rig *g, const uint8_t *before)
{
    uint8_t *now = malloc(IMAGE_LEN);
    bksim_read_flash(g->sim, 0, IMAGE_OFFSET, now, IMAGE_LEN);
    bool same = memcmp(now, before, IMAGE_LEN) == 0;
    free(now);
    return same;
}

static uint8_t *snapshot(rig *g)
{
    uint8_t *b = malloc(IMAGE_LEN);
    bksim_read_flash(g->sim, 0, IMAGE_OFFSET, b, IMAGE_LEN);
    return b;
}

static void expect_pass(rig *g)
{
    CHECK(g->r.passed);
    CHECK(g->r.cause == BK_CAUSE_NONE);
    CHECK(flash_matches_image(g, &g->spec.variants[0]));
}

static void expect_fail(rig *g, bk_cause cause)
{
    CHECK(!g->r.passed);
    CHECK_STR(bk_cause_id(g->r.cause), bk_cause_id(cause));
}

/* ---- cases ------------------------------------------------------------------------------ */

static void case_pass(bk_chip chip)
{
    rig g;
    rig_init(&g, chip, NULL);
    rig_start(&g, 0.5);
    rig_flash(&g);
    expect_pass(&g);
    CHECK(g.r.chip == chip);
    CHECK_EQ_U(g.r.baud_end, 921600);
    CHECK(g.r.have_mac);
    uint8_t mac[6];
    bksim_get_mac(g.sim, 0, mac);
    CHECK(memcmp(mac, g.r.mac, 6) == 0);
    CHECK_EQ_U(g.r.sectors_total, IMAGE_LEN / 4096);
    CHECK_EQ_U(g.r.sectors_written, IMAGE_LEN / 4096 - 1); /* the blank sector is not written */
    CHECK_EQ_U(g.r.sectors_skipped, 1);
    CHECK(g.power_cycle_events == 1); /* a pty has no modem lines: the operator is asked */
    if (chip == BK_CHIP_BK7231N)
        CHECK(g.r.have_flash_id);
    bksim_stats st;
    bksim_get_stats(g.sim, 0, &st);
    CHECK_EQ_U(st.writes_4k, IMAGE_LEN / 4096 - 1);
    rig_stop(&g);
}

static int case_reflash(void)
{
    rig g;
    rig_init(&g, BK_CHIP_BK7231T, NULL);
    rig_start(&g, 0.5);
    rig_flash(&g);
    expect_pass(&g);
    bksim_stats before, after;
    bksim_get_stats(g.sim, 0, &before);
    /* the same image again: nothing is erased or written, the region CRC proves it */
    rig_flash(&g);
    expect_pass(&g);
    CHECK_EQ_U(g.r.sectors_written, 0);
    CHECK_EQ_U(g.r.sectors_skipped, IMAGE_LEN / 4096);
    CHECK_EQ_U(g.r.bytes_written, 0);
    bksim_get_stats(g.sim, 0, &after);
    CHECK_EQ_U(after.writes_4k, before.writes_4k);
    CHECK_EQ_U(after.erases, before.erases);
    /* one sector changed in the image: only its erase unit is rewritten */
    g.image[0x14000 - IMAGE_OFFSET + 10] ^= 0x55; /* sector 0x14000, a 4 KiB unit */
    rig_flash(&g);
    expect_pass(&g);
    CHECK_EQ_U(g.r.sectors_written, 1);
    bksim_get_stats(g.sim, 0, &before);
    CHECK_EQ_U(before.writes_4k, after.writes_4k + 1);
    CHECK_EQ_U(before.erases, after.erases + 1);
    rig_stop(&g);
    return 0;
}

/* ---- healthy modules as the real loaders behave: the targets ---------------------- */

#define HEALTHY_OFFSET 0x1F000u  /* a sector, a 64 KiB block, a sector: both erase sizes */
#define HEALTHY_LEN 0x12000u

/* One job on a module whose counters were cleared first: pass, no retry, no warning, the
 * profile's baud to the end, the module's own MAC, and from the module's side: no ACKed
 * write or erase dropped, no page programmed twice, no sector erased or programmed twice. */
static void expect_clean_pass(rig *g, uint32_t baud, bool expect_writes)
{
    bksim_clear_counts(g->sim, 0);
    g->info_events = 0;
    rig_flash(g);
    expect_pass(g);
    CHECK_EQ_U(g->r.retries, 0);
    CHECK_STR(bk_cause_id(g->r.warning), bk_cause_id(BK_CAUSE_NONE));
    CHECK_EQ_U(g->r.baud_start, baud);
    CHECK_EQ_U(g->r.baud_end, baud);
    uint8_t mac[6];
    bksim_get_mac(g->sim, 0, mac);
    CHECK(g->r.have_mac && memcmp(mac, g->r.mac, 6) == 0);
    bksim_stats st;
    bksim_get_stats(g->sim, 0, &st);
    CHECK_EQ_U(st.writes_dropped, 0);
    CHECK_EQ_U(st.erases_dropped, 0);
    CHECK_EQ_U(st.pages_reprogrammed, 0);
    CHECK_EQ_U(st.links, 1); /* linked once: no recovery re-link */
    static uint16_t erases[BKSIM_SECTORS], programs[BKSIM_SECTORS];
    bksim_get_sector_counts(g->sim, 0, erases, programs, BKSIM_SECTORS);
    uint32_t erased = 0, programmed = 0, worst_e = 0, worst_p = 0;
    for (unsigned k = 0; k < BKSIM_SECTORS; k++) {
        erased += erases[k] > 0;
        programmed += programs[k] > 0;
        worst_e = erases[k] > worst_e ? erases[k] : worst_e;
        worst_p = programs[k] > worst_p ? programs[k] : worst_p;
    }
    CHECK(worst_e <= 1);  /* one erase per unit */
    CHECK(worst_p <= 1);  /* no sector written twice */
    CHECK_EQ_U(programmed, g->r.sectors_written);
    CHECK_EQ_U(st.writes_4k, g->r.sectors_written);
    if (expect_writes)
        CHECK_EQ_U(erased, g->r.sectors_total); /* the units cover the region, once */
    else
        CHECK_EQ_U(erased, 0);
}

/* Fresh (vendor firmware), re-flash with another image (every sector differs), and the same
 * image again (nothing written: only CRCs), at the profile's one baud. */
static void case_healthy(bk_chip chip, uint32_t baud, double time_scale)
{
    rig g;
    rig_init(&g, chip, NULL);
    g.spec.bauds[0] = baud;
    g.spec.n_bauds = 1;
    g.spec.variants[0].offset = HEALTHY_OFFSET;
    g.spec.variants[0].image_len = HEALTHY_LEN;
    rig_start(&g, time_scale);
    expect_clean_pass(&g, baud, true);
    CHECK(g.r.chip == chip);
    CHECK(strstr(g.r.boot_version, chip == BK_CHIP_BK7231T ? "1.0.5" : "1.0.1") != NULL);
    make_image(g.image, HEALTHY_LEN, 99);
    expect_clean_pass(&g, baud, true);
    CHECK_EQ_U(g.r.sectors_written + g.r.sectors_skipped, HEALTHY_LEN / 4096);
    expect_clean_pass(&g, baud, false);
    CHECK_EQ_U(g.r.sectors_written, 0);
    rig_stop(&g);
}

static int healthy_t_115200(void) { case_healthy(BK_CHIP_BK7231T, 115200, 0.2); return 0; }
static int healthy_t_921600(void) { case_healthy(BK_CHIP_BK7231T, 921600, 0.5); return 0; }
static int healthy_t_2m(void) { case_healthy(BK_CHIP_BK7231T, 2000000, 0.5); return 0; }
static int healthy_n_115200(void) { case_healthy(BK_CHIP_BK7231N, 115200, 0.2); return 0; }
static int healthy_n_921600(void) { case_healthy(BK_CHIP_BK7231N, 921600, 0.5); return 0; }
static int healthy_n_2m(void) { case_healthy(BK_CHIP_BK7231N, 2000000, 0.5); return 0; }

/* A fixture where opening the port resets nothing and nobody power-cycles: a module a previous
 * session left linked at 921600 is still there, at that baud, when the next job opens the
 * port. The job finds it there (no reset can be given) and flashes it without a retry. */
static int case_open_keeps_state(void)
{
    rig g;
    rig_init(&g, BK_CHIP_BK7231T, NULL);
    g.mc.open_keeps_state = true;
    rig_start(&g, 0.5);
    char err[200];
    bk_transport *tp = bk_transport_open(bksim_link_path(g.sim, 0), 115200, err, sizeof err);
    CHECK(tp != NULL);
    bk_session *s = calloc(1, sizeof *s);
    bk_session_init(s, tp, NULL);
    bk_status st = BK_ST_TIMEOUT;
    for (int i = 0; i < 200 && st != BK_ST_OK; i++) /* LinkCheck every 10 ms: the window is open */
        st = bk_link_check(s, 10);
    CHECK(st == BK_ST_OK);
    CHECK(bk_set_baud(s, 921600, 20) == BK_ST_OK);
    bk_transport_close(tp);
    free(s);
    CHECK(bksim_get_state(g.sim, 0) == BKSIM_DOWNLOAD && g.power_cycle_events == 0);
    rig_flash(&g);
    expect_pass(&g);
    CHECK_EQ_U(g.r.retries, 0);
    CHECK_EQ_U(g.r.baud_end, 921600);
    CHECK(g.power_cycle_events == 1); /* asked, as no modem lines can reset it */
    bksim_stats stats;
    bksim_get_stats(g.sim, 0, &stats);
    CHECK_EQ_U(stats.links, 1); /* the job found the first client's link: no power-up since */
    rig_stop(&g);
    return 0;
}

/* Loaders the fingerprint table does not know: the T is found by its ReadBootVersion string;
 * an N (whose ReadBootVersion answer is 07, not a version) is never taken for a T, even on a
 * T profile. */
static int case_unknown_loader(void)
{
    rig g;
    rig_init(&g, BK_CHIP_BK7231T, NULL);
    g.mc.boot = BKSIM_BOOT_UNKNOWN;
    rig_start(&g, 0.5);
    rig_flash(&g);
    expect_pass(&g);
    CHECK(g.r.chip == BK_CHIP_BK7231T);
    CHECK_STR(g.r.boot_version, "BK7231S_9.9.9");
    rig_stop(&g);

    rig_init(&g, BK_CHIP_BK7231N, NULL);
    g.mc.boot = BKSIM_BOOT_UNKNOWN;
    g.spec.variants[0].chip = BK_CHIP_BK7231T; /* a T profile on an N with an unknown loader */
    rig_start(&g, 0.5);
    uint8_t *before = snapshot(&g);
    rig_flash(&g);
    expect_fail(&g, BK_CAUSE_WRONG_CHIP);
    CHECK(g.r.chip == BK_CHIP_BK7231N);
    CHECK(region_untouched(&g, before));
    free(before);
    rig_stop(&g);
    return 0;
}

/* Other known T loaders are named by their fingerprint. */
static int case_loader_1_0_6(void)
{
    rig g;
    rig_init(&g, BK_CHIP_BK7231T, NULL);
    g.mc.boot = BKSIM_BOOT_BK7231S_1_0_6;
    rig_start(&g, 0.5);
    rig_flash(&g);
    expect_pass(&g);
    CHECK_STR(g.r.boot_version, "Tuya BK7231S 1.0.6");
    rig_stop(&g);
    return 0;
}

/* No MAC TLV in the RF calibration sector: the module passes, and no MAC is invented. */
static int case_no_mac(void)
{
    rig g;
    rig_init(&g, BK_CHIP_BK7231N, NULL);
    g.mc.no_mac = true;
    rig_start(&g, 0.5);
    rig_flash(&g);
    expect_pass(&g);
    CHECK(!g.r.have_mac);
    static const uint8_t zero[6];
    CHECK(memcmp(g.r.mac, zero, 6) == 0);
    rig_stop(&g);
    return 0;
}

/* An image reaching into the module's own data is refused before anything is erased. */
static int case_per_device(void)
{
    rig g;
    rig_init(&g, BK_CHIP_BK7231T, NULL);
    g.spec.variants[0].offset = 0x1E0000; /* the T's RF calibration sector */
    g.spec.variants[0].image_len = 0x4000;
    rig_start(&g, 0.5);
    uint8_t rf[4096], after[4096];
    bksim_read_flash(g.sim, 0, 0x1E0000, rf, sizeof rf);
    rig_flash(&g);
    expect_fail(&g, BK_CAUSE_IMAGE_ERROR);
    CHECK(strstr(g.r.detail, "RF calibration") != NULL && strstr(g.r.detail, "nothing erased") != NULL);
    bksim_read_flash(g.sim, 0, 0x1E0000, after, sizeof after);
    CHECK(memcmp(rf, after, sizeof rf) == 0);
    bksim_stats st;
    bksim_get_stats(g.sim, 0, &st);
    CHECK_EQ_U(st.erases, 0);
    rig_stop(&g);
    return 0;
}

/* ---- per-device data ------------------------------------------------------------------ */

static unsigned total_erases(rig *g)
{
    static uint16_t er[BKSIM_SECTORS], pr[BKSIM_SECTORS];
    bksim_get_sector_counts(g->sim, 0, er, pr, BKSIM_SECTORS);
    unsigned n = 0;
    for (size_t i = 0; i < BKSIM_SECTORS; i++)
        n += er[i];
    return n;
}

/* The config sector goes last, once, at the chip's address, and reads back as built; the RF
 * calibration is untouched. */
static void case_personal(bk_chip chip, int config_brownouts)
{
    rig g;
    personal_fake pf = {.answer = BK_PERSONAL_WRITE};
    rig_init(&g, chip, NULL);
    bool expect_retry = config_brownouts > 0;
    if (expect_retry) {
        g.mc.faults.brownout_at = obk_config_addr(chip);
        g.mc.faults.brownout_at_count = config_brownouts;
    }
    g.personal = &pf;
    rig_start(&g, 0.5);
    const bk_family *fam = bk_family_get(chip);
    uint8_t rf[4096], after[4096], cfg[4096];
    bksim_read_flash(g.sim, 0, fam->rf_cal_addr, rf, sizeof rf);
    rig_flash(&g);
    expect_pass(&g);
    CHECK(g.r.personalized);
    CHECK_EQ_INT(pf.calls, 1);
    CHECK(memcmp(pf.mac, g.r.mac, 6) == 0);
    CHECK_EQ_U(g.r.config_addr, obk_config_addr(chip));
    CHECK_EQ_U(g.r.config_crc, bk_chip_crc(pf.sector, 4096) ^ 0xFFFFFFFFu);
    bksim_read_flash(g.sim, 0, g.r.config_addr, cfg, sizeof cfg);
    CHECK(memcmp(cfg, pf.sector, sizeof cfg) == 0);
    bksim_read_flash(g.sim, 0, fam->rf_cal_addr, after, sizeof after);
    CHECK(memcmp(rf, after, sizeof rf) == 0);
    uint16_t er[BKSIM_SECTORS], pr[BKSIM_SECTORS];
    bksim_get_sector_counts(g.sim, 0, er, pr, BKSIM_SECTORS);
    CHECK_EQ_INT(er[fam->rf_cal_addr / 4096] + pr[fam->rf_cal_addr / 4096], 0);
    CHECK_EQ_INT(er[g.r.config_addr / 4096], expect_retry ? 2 : 1);
    CHECK(expect_retry ? g.r.retries > 0 : g.r.retries == 0);
    rig_stop(&g);
}
static int personal_t(void) { case_personal(BK_CHIP_BK7231T, 0); return 0; }
static int personal_n(void) { case_personal(BK_CHIP_BK7231N, 0); return 0; }
/* one brown-out on the config write: re-linked, erased and written again, passed */
static int personal_brownout_once(void) { case_personal(BK_CHIP_BK7231N, 1); return 0; }

/* A module without a MAC cannot be personalised: failed before anything is erased. */
static int case_personal_no_mac(void)
{
    rig g;
    personal_fake pf = {.answer = BK_PERSONAL_WRITE};
    rig_init(&g, BK_CHIP_BK7231T, NULL);
    g.mc.no_mac = true;
    g.personal = &pf;
    rig_start(&g, 0.5);
    rig_flash(&g);
    expect_fail(&g, BK_CAUSE_NO_MAC);
    CHECK_EQ_INT(pf.calls, 0);
    CHECK_EQ_U(total_erases(&g), 0);
    CHECK(strstr(g.r.detail, "nothing erased") != NULL);
    rig_stop(&g);
    return 0;
}

/* The host holds (an empty ledger) or refuses: the job ends before any erase. */
static void case_personal_answer(bk_personal_answer a, bk_cause want)
{
    rig g;
    personal_fake pf = {.answer = a};
    rig_init(&g, BK_CHIP_BK7231N, NULL);
    g.personal = &pf;
    rig_start(&g, 0.5);
    rig_flash(&g);
    expect_fail(&g, want);
    CHECK_EQ_INT(pf.calls, 1);
    CHECK(g.r.held == (a == BK_PERSONAL_HOLD));
    CHECK(!g.r.personalized);
    CHECK_EQ_U(total_erases(&g), 0);
    CHECK(strstr(g.r.detail, "ledger empty") != NULL);
    rig_stop(&g);
}
static int personal_hold(void) { case_personal_answer(BK_PERSONAL_HOLD, BK_CAUSE_CANCELLED); return 0; }
static int personal_refused(void) { case_personal_answer(BK_PERSONAL_REFUSED, BK_CAUSE_IMAGE_ERROR); return 0; }

/* The config sector's write browns out every time: the app verified, the module fails with
 * config_not_written (not passed), and the app stays verified on it. */
static int case_personal_brownout(void)
{
    rig g;
    personal_fake pf = {.answer = BK_PERSONAL_WRITE};
    rig_init(&g, BK_CHIP_BK7231T, "brownout-at=0x1E1000");
    g.personal = &pf;
    rig_start(&g, 0.5);
    rig_flash(&g);
    expect_fail(&g, BK_CAUSE_CONFIG_NOT_WRITTEN);
    CHECK(!g.r.personalized);
    CHECK(flash_matches_image(&g, &g.spec.variants[0]));
    CHECK(strstr(g.r.detail, "0x1E1000") != NULL);
    rig_stop(&g);
    return 0;
}

/* A sparse image (a UF2's blocks cover sectors 0-3 and 20-23 of the span): only those are
 * erased, written and checked; the gap keeps what the module held. */
static int case_sparse(void)
{
    rig g;
    rig_init(&g, BK_CHIP_BK7231N, NULL);
    static uint8_t covered[IMAGE_LEN / 4096];
    for (unsigned i = 0; i < IMAGE_LEN / 4096; i++)
        covered[i] = i < 4 || i >= 20;
    for (unsigned i = 4; i < 20; i++)
        memset(g.image + i * 4096, 0xFF, 4096); /* as the loader leaves a UF2's gaps */
    g.spec.variants[0].covered = covered;
    rig_start(&g, 0.5);
    uint8_t *before = snapshot(&g);
    bksim_clear_counts(g.sim, 0);
    rig_flash(&g);
    CHECK(g.r.passed);
    CHECK_EQ_U(g.r.sectors_total, 8);
    uint8_t *now = snapshot(&g);
    CHECK(memcmp(now, g.image, 4 * 4096) == 0);
    CHECK(memcmp(now + 20 * 4096, g.image + 20 * 4096, 4 * 4096) == 0);
    CHECK(memcmp(now + 4 * 4096, before + 4 * 4096, 16 * 4096) == 0); /* the gap untouched */
    static uint16_t erases[BKSIM_SECTORS], programs[BKSIM_SECTORS];
    bksim_get_sector_counts(g.sim, 0, erases, programs, BKSIM_SECTORS);
    unsigned first = IMAGE_OFFSET / 4096;
    for (unsigned i = 0; i < IMAGE_LEN / 4096; i++)
        CHECK_EQ_U(erases[first + i], covered[i] ? 1 : 0);
    /* the same again: nothing to write, the two spans' CRCs say so */
    rig_flash(&g);
    CHECK(g.r.passed);
    CHECK_EQ_U(g.r.sectors_written, 0);
    free(before);
    free(now);
    rig_stop(&g);
    return 0;
}

static int case_no_download(void)
{
    rig g;
    rig_init(&g, BK_CHIP_BK7231T, "no-download");
    rig_start(&g, 0.5);
    uint8_t *before = snapshot(&g);
    rig_flash(&g);
    expect_fail(&g, BK_CAUSE_NO_DOWNLOAD_MODE);
    CHECK(region_untouched(&g, before));
    free(before);
    rig_stop(&g);
    return 0;
}

static void case_brownout_first_write(bk_chip chip)
{
    rig g;
    rig_init(&g, chip, "brownout-first-write");
    rig_start(&g, 0.5);
    rig_flash(&g);
    expect_fail(&g, BK_CAUSE_BROWNOUT);
    CHECK(strstr(g.r.detail, "0x11000") != NULL);
    CHECK(strstr(g.r.detail, "first") != NULL);
    CHECK(strstr(g.r.detail, "15-byte") != NULL);
    CHECK(g.r.retries > 0);
    rig_stop(&g);
}

static int case_brownout_random(void)
{
    rig g;
    rig_init(&g, BK_CHIP_BK7231T, "brownout-p=0.08");
    rig_start(&g, 0.5);
    rig_flash(&g);
    /* occasional dips: retries carry it through; a pass must be byte-exact */
    if (g.r.passed) {
        expect_pass(&g);
    } else {
        expect_fail(&g, BK_CAUSE_BROWNOUT);
    }
    bksim_stats st;
    bksim_get_stats(g.sim, 0, &st);
    CHECK(g.r.retries >= (st.resets > 1 ? 1u : 0u));
    rig_stop(&g);
    return 0;
}

static int case_noisy_high_baud(void)
{
    rig g;
    rig_init(&g, BK_CHIP_BK7231T, "bit-errors-above=460800");
    bksim_fault_parse("bit-error-rate=2e-4", &g.mc.faults, NULL, 0);
    rig_start(&g, 0.5);
    rig_flash(&g);
    /* the data frames at 921600 are corrupted; the engine must find it and step down */
    expect_pass(&g);
    CHECK(g.r.baud_end <= 460800);
    CHECK_STR(bk_cause_id(g.r.warning), bk_cause_id(BK_CAUSE_SIGNAL_INTEGRITY));
    rig_stop(&g);
    return 0;
}

static int case_noisy_everywhere(void)
{
    rig g;
    rig_init(&g, BK_CHIP_BK7231T, "bit-errors-above=100000");
    bksim_fault_parse("bit-error-rate=1e-3", &g.mc.faults, NULL, 0);
    g.spec.bauds[0] = 921600;
    g.spec.bauds[1] = 460800;
    g.spec.n_bauds = 2;
    rig_start(&g, 0.25);
    rig_flash(&g);
    CHECK(!g.r.passed);
    CHECK_STR(bk_cause_id(g.r.cause), bk_cause_id(BK_CAUSE_SIGNAL_INTEGRITY));
    rig_stop(&g);
    return 0;
}

static int case_adapter_limit_fallback(void)
{
    rig g;
    rig_init(&g, BK_CHIP_BK7231T, "adapter-max-baud=460800");
    rig_start(&g, 0.5);
    rig_flash(&g);
    expect_pass(&g);
    CHECK_EQ_U(g.r.baud_end, 460800);
    CHECK_STR(bk_cause_id(g.r.warning), bk_cause_id(BK_CAUSE_ADAPTER_BAUD_LIMIT));
    rig_stop(&g);
    return 0;
}

static int case_adapter_limit_fail(void)
{
    rig g;
    rig_init(&g, BK_CHIP_BK7231T, "adapter-max-baud=460800");
    g.spec.bauds[0] = 2000000;
    g.spec.bauds[1] = 921600;
    g.spec.n_bauds = 2;
    rig_start(&g, 0.5);
    uint8_t *before = snapshot(&g);
    rig_flash(&g);
    expect_fail(&g, BK_CAUSE_ADAPTER_BAUD_LIMIT);
    CHECK(region_untouched(&g, before));
    free(before);
    rig_stop(&g);
    return 0;
}

static int case_wrong_chip(void)
{
    rig g;
    rig_init(&g, BK_CHIP_BK7231T, "wrong-chip"); /* configured T, carries an N */
    rig_start(&g, 0.5);
    uint8_t *before = snapshot(&g);
    rig_flash(&g);
    expect_fail(&g, BK_CAUSE_WRONG_CHIP);
    CHECK(g.r.chip == BK_CHIP_BK7231N);
    CHECK(g.r.have_mac); /* a misplaced module is still traceable */
    CHECK(strstr(g.r.detail, "nothing erased") != NULL);
    CHECK(region_untouched(&g, before));
    bksim_stats st;
    bksim_get_stats(g.sim, 0, &st);
    CHECK_EQ_U(st.erases, 0);
    free(before);
    rig_stop(&g);
    return 0;
}

static void case_protected(bk_chip chip)
{
    rig g;
    rig_init(&g, chip, "protected");
    rig_start(&g, 0.5);
    uint8_t *before = snapshot(&g);
    rig_flash(&g);
    expect_fail(&g, BK_CAUSE_FLASH_PROTECTED);
    CHECK(region_untouched(&g, before));
    free(before);
    rig_stop(&g);
}

static int case_foreign_traffic(void)
{
    rig g;
    rig_init(&g, BK_CHIP_BK7231T, "foreign-traffic");
    rig_start(&g, 1.0);
    rig_flash(&g);
    /* a chattering MCU corrupts some frames; the result names it either way */
    if (g.r.passed) {
        expect_pass(&g);
        CHECK_STR(bk_cause_id(g.r.warning), bk_cause_id(BK_CAUSE_FOREIGN_TRAFFIC));
    } else {
        expect_fail(&g, BK_CAUSE_FOREIGN_TRAFFIC);
    }
    rig_stop(&g);
    return 0;
}

static int case_slow_flash(void)
{
    rig g;
    rig_init(&g, BK_CHIP_BK7231N, "slow-flash");
    rig_start(&g, 0.5);
    rig_flash(&g);
    expect_pass(&g);
    CHECK_EQ_U(g.r.retries, 0); /* worst-case timings are inside the engine's timeouts */
    rig_stop(&g);
    return 0;
}

static int case_module_removed(void)
{
    rig g;
    rig_init(&g, BK_CHIP_BK7231T, "removed-after=5");
    rig_start(&g, 0.5);
    rig_flash(&g);
    expect_fail(&g, BK_CAUSE_MODULE_LOST);
    rig_stop(&g);
    return 0;
}

static int case_adapter_yanked(void)
{
    rig g;
    rig_init(&g, BK_CHIP_BK7231T, "yank-after=5");
    rig_start(&g, 0.5);
    rig_flash(&g);
    expect_fail(&g, BK_CAUSE_ADAPTER_REMOVED);
    rig_stop(&g);
    return 0;
}

static int case_bad_spec(void)
{
    rig g;
    rig_init(&g, BK_CHIP_BK7231T, NULL);
    rig_start(&g, 0.5);
    uint8_t *before = snapshot(&g);
    g.spec.variants[0].offset = 0x1000; /* bootloader area */
    rig_flash(&g);
    expect_fail(&g, BK_CAUSE_IMAGE_ERROR);
    CHECK(strstr(g.r.detail, "bootloader") != NULL);
    g.spec.variants[0].offset = 0x1F0000; /* runs past 2 MiB */
    rig_flash(&g);
    expect_fail(&g, BK_CAUSE_IMAGE_ERROR);
    CHECK(strstr(g.r.detail, "past the end") != NULL);
    CHECK(region_untouched(&g, before));
    free(before);
    rig_stop(&g);
    return 0;
}

static int case_cancel(void)
{
    rig g;
    rig_init(&g, BK_CHIP_BK7231T, NULL);
    rig_start(&g, 0.5);
    atomic_int cancel = BK_CANCEL_OPERATOR;
    bk_job_hooks hooks = {.on_event = on_event, .ctx = &g, .cancel = &cancel};
    bk_flash_job(bksim_link_path(g.sim, 0), &g.spec, &hooks, &g.r);
    expect_fail(&g, BK_CAUSE_CANCELLED);
    rig_stop(&g);
    return 0;
}

static int pass_t(void) { case_pass(BK_CHIP_BK7231T); return 0; }
static int pass_n(void) { case_pass(BK_CHIP_BK7231N); return 0; }
static int brownout_t(void) { case_brownout_first_write(BK_CHIP_BK7231T); return 0; }
static int brownout_n(void) { case_brownout_first_write(BK_CHIP_BK7231N); return 0; }
static int protected_t(void) { case_protected(BK_CHIP_BK7231T); return 0; }
static int protected_n(void) { case_protected(BK_CHIP_BK7231N); return 0; }

/* The gate's WAIT: the job keeps the link (a LinkCheck a call) and asks again; GO flashes,
 * SKIP leaves the module; a cancel or a pulled module while it waits ends the job with
 * nothing on the module changed. `want` is the cause (NONE: a pass, or for SKIP a skip);
 * `words` must be in the result's detail. */
static void gate_run(gate_fake *f, bk_cause want, const char *words)
{
    rig g;
    rig_init(&g, BK_CHIP_BK7231N, NULL);
    rig_start(&g, 0.5);
    f->sim = g.sim;
    g.gate = f;
    uint8_t *before = snapshot(&g);
    rig_flash(&g);
    bool flashed = want == BK_CAUSE_NONE && f->then == BK_GATE_GO;
    if (flashed) {
        expect_pass(&g);
    } else {
        CHECK(!g.r.passed);
        CHECK_STR(bk_cause_id(g.r.cause), bk_cause_id(want));
        CHECK(g.r.skipped == (want == BK_CAUSE_NONE));
        CHECK(region_untouched(&g, before));
        CHECK_EQ_U(total_erases(&g), 0);
    }
    CHECK_MSG(strstr(g.r.detail, words) != NULL, "detail: %s", g.r.detail);
    free(before);
    rig_stop(&g);
}

static int case_gate_wait(void)
{
    gate_fake go = {.waits = 3, .then = BK_GATE_GO};
    gate_run(&go, BK_CAUSE_NONE, "");
    CHECK_EQ_INT(go.calls, 4);
    CHECK(go.frames_last >= go.frames_first + 3); /* a LinkCheck between calls */

    gate_fake skip = {.waits = 2, .then = BK_GATE_SKIP};
    gate_run(&skip, BK_CAUSE_NONE, "the fake said so");
    CHECK_EQ_INT(skip.calls, 3);

    gate_fake cancel = {.waits = 1000, .act_at = 3, .cancel_at = true};
    gate_run(&cancel, BK_CAUSE_CANCELLED, "during the wait for the station's decision");
    CHECK_EQ_INT(cancel.calls, 3);

    gate_fake pulled = {.waits = 1000, .act_at = 2, .pull_at = true};
    gate_run(&pulled, BK_CAUSE_MODULE_LOST, "stopped answering LinkCheck while the station waited");
    CHECK_EQ_INT(pulled.calls, 2);
    return CHECK_DONE();
}

static const check_case cases[] = {
    {"gate_wait", case_gate_wait},
    {"pass_t", pass_t}, {"pass_n", pass_n}, {"reflash", case_reflash},
    {"no_download", case_no_download}, {"brownout_t", brownout_t}, {"brownout_n", brownout_n},
    {"brownout_random", case_brownout_random}, {"noisy_high_baud", case_noisy_high_baud},
    {"noisy_everywhere", case_noisy_everywhere}, {"adapter_limit_fallback", case_adapter_limit_fallback},
    {"adapter_limit_fail", case_adapter_limit_fail}, {"wrong_chip", case_wrong_chip},
    {"protected_t", protected_t}, {"protected_n", protected_n},
    {"foreign_traffic", case_foreign_traffic}, {"slow_flash", case_slow_flash},
    {"module_removed", case_module_removed}, {"adapter_yanked", case_adapter_yanked},
    {"bad_spec", case_bad_spec}, {"cancel", case_cancel},
    {"healthy_t_115200 slow", healthy_t_115200}, {"healthy_t_921600", healthy_t_921600},
    {"healthy_t_2m", healthy_t_2m}, {"healthy_n_115200 slow", healthy_n_115200},
    {"healthy_n_921600", healthy_n_921600}, {"healthy_n_2m", healthy_n_2m},
    {"open_keeps_state", case_open_keeps_state}, {"unknown_loader", case_unknown_loader},
    {"loader_1_0_6", case_loader_1_0_6}, {"no_mac", case_no_mac},
    {"per_device", case_per_device}, {"sparse", case_sparse},
    {"personal_t", personal_t}, {"personal_n", personal_n},
    {"personal_brownout_once", personal_brownout_once}, {"personal_no_mac", case_personal_no_mac},
    {"personal_hold", personal_hold}, {"personal_refused", personal_refused},
    {"personal_brownout", case_personal_brownout},
};

int main(int argc, char **argv)
{
    return CHECK_RUN(argc, argv, cases);
}
