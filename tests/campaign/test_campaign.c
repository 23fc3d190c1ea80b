/* Fault campaign: many simulated modules, each with a random fault from every class (fixed
 * seed), flashed in parallel through real ptys. Asserts what the station promises:
 *   - no module with a fatal fault is ever reported as passed;
 *   - every pass is byte-exact when the module's flash is read back;
 *   - the cause is named right for at least 98% of the failures;
 * and prints the confusion table (injected fault class x reported cause).
 *
 *   test_campaign [--modules N] [--seed S] [--threads T] [--time-scale X]
 * The ctest run is small; bigger runs are benchmarks (bench/, same program). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bk_job.h"
#include "bksim.h"

#define IMAGE_OFFSET 0x11000u
#define IMAGE_LEN (96u * 1024u)

/* A fault class: what is injected, and what the engine may report. A fatal class must fail
 * with `cause`; a survivable one may pass (verified) or fail with `cause`. */
typedef struct fault_class {
    const char *name;
    const char *spec;   /* bksim fault specs, comma separated; NULL = none */
    bool fatal;
    bk_cause cause;
} fault_class;

static const fault_class classes[] = {
    {"none", NULL, false, BK_CAUSE_NONE},
    {"no-download", "no-download", true, BK_CAUSE_NO_DOWNLOAD_MODE},
    {"brownout-0x11000", "brownout-first-write", true, BK_CAUSE_BROWNOUT},
    {"brownout-random", "brownout-p=0.05", false, BK_CAUSE_BROWNOUT},
    {"noisy-high-baud", "bit-errors-above=460800,bit-error-rate=2e-4", false, BK_CAUSE_SIGNAL_INTEGRITY},
    {"noisy-all-bauds", "bit-errors-above=100000,bit-error-rate=1e-3", true, BK_CAUSE_SIGNAL_INTEGRITY},
    {"adapter-460800", "adapter-max-baud=460800", false, BK_CAUSE_ADAPTER_BAUD_LIMIT},
    {"adapter-230400", "adapter-max-baud=230400", true, BK_CAUSE_ADAPTER_BAUD_LIMIT},
    {"wrong-chip", "wrong-chip", true, BK_CAUSE_WRONG_CHIP},
    {"protected", "protected", true, BK_CAUSE_FLASH_PROTECTED},
    {"foreign-traffic", "foreign-traffic", false, BK_CAUSE_FOREIGN_TRAFFIC},
    {"slow-flash", "slow-flash", false, BK_CAUSE_NONE},
    {"module-removed", "removed-after=%d", true, BK_CAUSE_MODULE_LOST},
    {"adapter-yanked", "yank-after=%d", true, BK_CAUSE_ADAPTER_REMOVED},
};
#define N_CLASSES ((int)(sizeof classes / sizeof classes[0]))

typedef struct module_plan {
    int cls;
    bk_chip chip;
    bk_result r;
    bool readback_ok;
} module_plan;

typedef struct campaign {
    bksim_server *sim;
    module_plan *mods;
    int n;
    atomic_int next;
    const uint8_t *image;
    uint32_t bauds[2];
} campaign;

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void *worker(void *arg)
{
    campaign *c = arg;
    uint8_t *back = malloc(IMAGE_LEN);
    for (;;) {
        int i = atomic_fetch_add(&c->next, 1);
        if (i >= c->n)
            break;
        module_plan *m = &c->mods[i];
        bk_job_spec spec;
        memset(&spec, 0, sizeof spec);
        bk_job_spec_defaults(&spec);
        spec.product = "campaign";
        spec.n_variants = 1;
        spec.variants[0] = (bk_variant){.chip = m->chip, .image = c->image, .image_len = IMAGE_LEN,
                                        .offset = IMAGE_OFFSET};
        /* no 115200 in the list: an adapter that cannot do 460800 is a failure here */
        spec.bauds[0] = c->bauds[0];
        spec.bauds[1] = c->bauds[1];
        spec.n_bauds = 2;
        spec.link_timeout_ms = 1500;
        bk_flash_job(bksim_link_path(c->sim, i), &spec, NULL, &m->r);
        if (m->r.passed) {
            bksim_read_flash(c->sim, i, IMAGE_OFFSET, back, IMAGE_LEN);
            m->readback_ok = memcmp(back, c->image, IMAGE_LEN) == 0;
        }
    }
    free(back);
    return NULL;
}

int main(int argc, char **argv)
{
    int n = 120, threads = 12;
    uint64_t seed = 20261125;
    double time_scale = 0.2;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--modules"))
            n = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--seed"))
            seed = strtoull(argv[i + 1], NULL, 0);
        else if (!strcmp(argv[i], "--threads"))
            threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--time-scale"))
            time_scale = atof(argv[i + 1]);
    }
    campaign c = {.n = n, .bauds = {921600, 460800}};
    c.mods = calloc((size_t)n, sizeof *c.mods);
    bksim_module_config *mcs = calloc((size_t)n, sizeof *mcs);
    uint8_t *image = malloc(IMAGE_LEN);
    uint64_t rs = seed | 1;
    for (size_t i = 0; i < IMAGE_LEN; i++)
        image[i] = (uint8_t)rng_next(&rs);
    memset(image + 0x8000, 0xFF, 0x1000);
    c.image = image;

    /* Every class appears; a third of the modules are healthy, as on a real line. */
    for (int i = 0; i < n; i++) {
        module_plan *m = &c.mods[i];
        m->cls = (i < N_CLASSES) ? i : (rng_next(&rs) % 3 == 0 ? 0 : (int)(rng_next(&rs) % N_CLASSES));
        m->chip = rng_next(&rs) % 2 ? BK_CHIP_BK7231T : BK_CHIP_BK7231N;
        bksim_module_config_default(&mcs[i]);
        mcs[i].chip = m->chip;
        const char *spec = classes[m->cls].spec;
        if (!spec)
            continue;
        char buf[128], err[160];
        /* spec comes from classes[] above; its one %d, if any, is the step */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        snprintf(buf, sizeof buf, spec, 1 + (int)(rng_next(&rs) % 15));
#pragma GCC diagnostic pop
        for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
            if (!bksim_fault_parse(tok, &mcs[i].faults, err, sizeof err)) {
                fprintf(stderr, "fault %s: %s\n", tok, err);
                return 2;
            }
        }
    }
    char dir[] = "/tmp/tf-campaign-XXXXXX";
    if (!mkdtemp(dir))
        return 2;
    bksim_config cfg = {.count = n, .link_dir = dir, .seed = seed, .time_scale = time_scale,
                        .modules = mcs};
    char err[200];
    c.sim = bksim_start(&cfg, err, sizeof err);
    if (!c.sim) {
        fprintf(stderr, "bksim: %s\n", err);
        return 2;
    }
    pthread_t *tids = calloc((size_t)threads, sizeof *tids);
    for (int t = 0; t < threads; t++)
        pthread_create(&tids[t], NULL, worker, &c);
    for (int t = 0; t < threads; t++)
        pthread_join(tids[t], NULL);
    bksim_stop(c.sim);
    rmdir(dir);

    /* confusion[class][cause] */
    static int confusion[N_CLASSES][BK_CAUSE_COUNT];
    int failures = 0, right = 0, fatal_passed = 0, bad_readback = 0, passes = 0;
    for (int i = 0; i < n; i++) {
        module_plan *m = &c.mods[i];
        const fault_class *fc = &classes[m->cls];
        confusion[m->cls][m->r.cause]++;
        if (m->r.passed) {
            passes++;
            if (fc->fatal) {
                fatal_passed++;
                fprintf(stderr, "module %d (%s) PASSED despite a fatal fault\n", i, fc->name);
            }
            if (!m->readback_ok) {
                bad_readback++;
                fprintf(stderr, "module %d (%s) passed but its flash differs from the image\n", i,
                        fc->name);
            }
            continue;
        }
        failures++;
        bk_cause want = fc->cause;
        if (m->r.cause == want) {
            right++;
        } else {
            fprintf(stderr, "module %d (%s, %s): reported %s, injected %s: %s\n", i, fc->name,
                    bk_chip_name(m->chip), bk_cause_id(m->r.cause), bk_cause_id(want), m->r.detail);
        }
    }

    printf("\nconfusion table: injected fault class (rows) x reported result (columns)\n%-18s",
           "");
    bool used[BK_CAUSE_COUNT] = {false};
    for (int k = 0; k < N_CLASSES; k++)
        for (int q = 0; q < BK_CAUSE_COUNT; q++)
            used[q] |= confusion[k][q] > 0;
    for (int q = 0; q < BK_CAUSE_COUNT; q++)
        if (used[q])
            printf(" %8.8s", bk_cause_id((bk_cause)q));
    printf("\n");
    for (int k = 0; k < N_CLASSES; k++) {
        printf("%-18s", classes[k].name);
        for (int q = 0; q < BK_CAUSE_COUNT; q++)
            if (used[q])
                printf(" %8d", confusion[k][q]);
        printf("\n");
    }
    double accuracy = failures ? (double)right / failures : 1.0;
    printf("\n%d modules: %d passed, %d failed; cause right for %d of %d failures (%.1f%%); "
           "fatal faults passed: %d; passes not byte-exact: %d\n", n, passes, failures, right,
           failures, 100.0 * accuracy, fatal_passed, bad_readback);
    bool ok = fatal_passed == 0 && bad_readback == 0 && accuracy >= 0.98;
    printf("campaign: %d passed, %d failed\n", ok ? 1 : 0, ok ? 0 : 1);
    free(tids);
    free(c.mods);
    free(mcs);
    free(image);
    return ok ? 0 : 1;
}
