/* bench_personal - what per-device data costs a module: pairs of fresh modules flashed with the
 * same image, one plain, one personalised (an OpenBeken config built from the fixture base for
 * its MAC, then erased, written and CRC-checked by the engine after the app), at real chip
 * timing. Prints each pair's times and their difference (noisy: two modules' links differ by
 * tens of ms), and the step itself, timed from the job's events: from the first phase change
 * after the app's verify to the line "config sector ... verified", plus the host's build (the
 * hook) - beside the step's wire+flash bound (4 KiB erase, one 4 KiB write at the baud, 16 page
 * programs, the CRC of 4 KiB).
 *
 *   bench_personal [--pairs N] [--baud 921600] [--chip t|n]
 *
 * Image: profiles/images/demo-small.bin (190 KiB; the step does not depend on the image). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bk_job.h"
#include "bk_session.h"
#include "bksim.h"
#include "tf_file.h"
#include "obk_config.h"

/* The whole file (tf_file_read: a regular file, at most 16 MiB); NULL with words on stderr. */
static uint8_t *load_file(const char *path, size_t *len)
{
    char *buf = NULL, err[300];
    if (tf_file_read(path, 16u << 20, &buf, len, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return NULL;
    }
    return (uint8_t *)buf;
}

static const uint8_t *base_cfg;

typedef struct step_clock {
    bk_phase last;
    double start, end, hook_s;
} step_clock;

static void on_event(void *ctx, const bk_event *ev)
{
    step_clock *c = ctx;
    if (ev->kind == BK_EV_PHASE) {
        if (c->last == BK_PHASE_VERIFY && ev->phase == BK_PHASE_WRITE && c->start == 0)
            c->start = ev->t_s;
        c->last = ev->phase;
    } else if (ev->kind == BK_EV_INFO && ev->text && !strncmp(ev->text, "config sector", 13)) {
        c->end = ev->t_s;
    }
}

/* The host's work in the station, minus the ledger: the config built from the base. */
static bk_personal_answer build(void *ctx, bk_chip chip, const uint8_t mac[6], uint32_t *addr,
                                uint8_t *sector, char *why, size_t whylen)
{
    step_clock *c = ctx;
    double t0 = bk_now_s();
    memset(sector, 0xFF, 4096);
    memcpy(sector, base_cfg, OBK_CFG_SIZE);
    char name[32];
    snprintf(name, sizeof name, "plug-%02x%02x%02x", mac[3], mac[4], mac[5]);
    if (!obk_config_set(sector, obk_field_find("short_name"), name, why, whylen) ||
        !obk_config_set(sector, obk_field_find("mqtt_client"), name, why, whylen))
        return BK_PERSONAL_REFUSED;
    obk_config_set_mac(sector, mac);
    obk_config_seal(sector, OBK_CRC_SIGNED_CHAR);
    *addr = obk_config_addr(chip);
    c->hook_s = bk_now_s() - t0;
    return BK_PERSONAL_WRITE;
}

int main(int argc, char **argv)
{
    int pairs = 3;
    uint32_t baud = 921600;
    bk_chip chip = BK_CHIP_BK7231T;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--pairs") && i + 1 < argc)
            pairs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--baud") && i + 1 < argc)
            baud = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--chip") && i + 1 < argc)
            chip = argv[++i][0] == 'n' ? BK_CHIP_BK7231N : BK_CHIP_BK7231T;
        else {
            fprintf(stderr, "usage: %s [--pairs N] [--baud B] [--chip t|n]\n", argv[0]);
            return 2;
        }
    }
    size_t len, blen;
    uint8_t *image = load_file(TRAYFLASH_SOURCE_DIR "/profiles/images/demo-small.bin", &len);
    uint8_t *base = load_file(TRAYFLASH_SOURCE_DIR "/tests/engine/fixtures/obk-base-t.bin", &blen);
    if (!image || !base || blen != OBK_CFG_SIZE) {
        fprintf(stderr, "cannot read the image or the fixture base\n");
        return 2;
    }
    base_cfg = base;
    bksim_timing t;
    bksim_timing_typical(&t);
    double bound = t.erase_4k_s + 16 * t.page_program_s + 4096.0 / t.crc_bytes_per_s +
                   (double)(4 + 4096 + 12 + 15 + 16 + 16 + 12 + 16) * 10.0 / baud;
    printf("%s at %u baud, image %zu bytes; the step's bound %.3f s\n", bk_chip_name(chip), baud,
           len, bound);
    printf("%-5s %9s %13s %9s %9s %9s\n", "pair", "plain_s", "personal_s", "extra_s", "step_s",
           "hook_ms");
    int status = 0;
    for (int p = 0; p < pairs; p++) {
        char dir[] = "/tmp/tf-bench-XXXXXX";
        if (!mkdtemp(dir))
            return 2;
        bksim_module_config mc[2];
        for (int i = 0; i < 2; i++) {
            bksim_module_config_default(&mc[i]);
            mc[i].chip = chip;
        }
        bksim_config cfg = {.count = 2, .link_dir = dir, .seed = (uint64_t)p + 1, .time_scale = 1.0,
                            .modules = mc};
        char err[200];
        bksim_server *sim = bksim_start(&cfg, err, sizeof err);
        if (!sim) {
            fprintf(stderr, "bksim: %s\n", err);
            return 2;
        }
        bk_job_spec spec;
        memset(&spec, 0, sizeof spec);
        bk_job_spec_defaults(&spec);
        spec.n_variants = 1;
        spec.variants[0] = (bk_variant){.chip = chip, .image = image, .image_len = len, .offset = 0x11000};
        spec.bauds[0] = baud;
        spec.n_bauds = 1;
        step_clock clk = {.last = BK_PHASE_IDLE};
        bk_job_hooks hooks = {.on_event = on_event, .ctx = &clk, .personal = build,
                              .personal_ctx = &clk};
        bk_result plain, personal;
        bk_flash_job(bksim_link_path(sim, 0), &spec, NULL, &plain);
        bk_flash_job(bksim_link_path(sim, 1), &spec, &hooks, &personal);
        bool ok = plain.passed && personal.passed && personal.personalized;
        printf("%-5d %9.3f %13.3f %9.3f %9.3f %9.3f%s\n", p + 1, plain.seconds, personal.seconds,
               personal.seconds - plain.seconds, clk.end - clk.start, clk.hook_s * 1e3,
               ok ? "" : "  FAIL");
        if (!ok) {
            fprintf(stderr, "  %s\n", plain.passed ? personal.detail : plain.detail);
            status = 1;
        }
        fflush(stdout);
        bksim_stop(sim);
        rmdir(dir);
    }
    free(image);
    free(base);
    return status;
}
