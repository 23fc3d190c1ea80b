/* bench_flash - one module, one image, at several bauds, against the wire+flash lower bound
 * the simulator charges (bksim_lower_bound_s). Prints, per baud: a fresh module's flash time,
 * the bound, their ratio; then a re-flash of the identical image beside its bound (the chip's
 * CRC of the region plus link and baud switch).
 *
 *   bench_flash [--image FILE] [--offset 0x11000] [--bauds 115200,921600,2000000] [--chip t|n]
 *
 * Default image: profiles/images/openbk-wb2s-demo.bin (1 MiB) when found, else 1 MiB of
 * pseudo-random bytes. Real time (time_scale 1.0): this is a measurement, not a test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "bk_job.h"
#include "bksim.h"
#include "tf_file.h"

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

static uint8_t *random_image(size_t len)
{
    uint8_t *b = malloc(len);
    uint32_t x = 12345;
    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        b[i] = (uint8_t)(x >> 16);
    }
    return b;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec * 1e-6;
}

int main(int argc, char **argv)
{
    const char *image_path = NULL;
    uint32_t offset = 0x11000;
    uint32_t bauds[8] = {115200, 921600, 2000000};
    int n_bauds = 3;
    bk_chip chip = BK_CHIP_BK7231T;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--image") && i + 1 < argc) {
            image_path = argv[++i];
        } else if (!strcmp(argv[i], "--offset") && i + 1 < argc) {
            offset = (uint32_t)strtoul(argv[++i], NULL, 0);
        } else if (!strcmp(argv[i], "--chip") && i + 1 < argc) {
            chip = argv[++i][0] == 'n' ? BK_CHIP_BK7231N : BK_CHIP_BK7231T;
        } else if (!strcmp(argv[i], "--bauds") && i + 1 < argc) {
            n_bauds = 0;
            for (char *p = argv[++i]; *p && n_bauds < 8;) {
                bauds[n_bauds++] = (uint32_t)strtoul(p, &p, 10);
                if (*p == ',')
                    p++;
            }
        } else {
            fprintf(stderr, "usage: %s [--image FILE] [--offset N] [--bauds a,b,c] [--chip t|n]\n",
                    argv[0]);
            return 2;
        }
    }
    size_t len = 0;
    uint8_t *image = NULL;
    const char *def = TRAYFLASH_SOURCE_DIR "/profiles/images/openbk-wb2s-demo.bin";
    if (!image_path && access(def, R_OK) == 0)
        image_path = def;
    if (image_path) {
        image = load_file(image_path, &len);
        if (!image) {
            fprintf(stderr, "%s: cannot read\n", image_path);
            return 2;
        }
    } else {
        len = 1u << 20;
        image = random_image(len);
        image_path = "(1 MiB pseudo-random)";
    }
    printf("image %s, %zu bytes at 0x%X, %s\n", image_path, len, offset, bk_chip_name(chip));
    printf("%-8s %-9s %9s %9s %7s %9s %9s %7s %8s\n", "baud", "", "flash_s", "bound_s", "ratio",
           "reflash_s", "bound_s", "ratio", "cpu_s");
    bksim_timing timing;
    bksim_timing_typical(&timing);
    int status = 0;
    for (int b = 0; b < n_bauds; b++) {
        char dir[] = "/tmp/tf-bench-XXXXXX";
        if (!mkdtemp(dir))
            return 2;
        bksim_module_config mc;
        bksim_module_config_default(&mc);
        mc.chip = chip;
        bksim_config cfg = {.count = 1, .link_dir = dir, .seed = 1, .time_scale = 1.0, .modules = &mc};
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
        spec.variants[0] = (bk_variant){.chip = chip, .image = image, .image_len = len, .offset = offset};
        spec.bauds[0] = bauds[b];
        spec.n_bauds = 1;
        bk_result r1, r2;
        double c0 = cpu_s();
        bk_flash_job(bksim_link_path(sim, 0), &spec, NULL, &r1);
        bk_flash_job(bksim_link_path(sim, 0), &spec, NULL, &r2);
        double cpu = cpu_s() - c0;
        double lb1 = bksim_lower_bound_s(&timing, chip, image, len, offset, bauds[b], false);
        double lb2 = bksim_lower_bound_s(&timing, chip, image, len, offset, bauds[b], true);
        printf("%-8u %-9s %9.2f %9.2f %7.3f %9.2f %9.2f %7.3f %8.2f\n", bauds[b],
               r1.passed && r2.passed ? "pass" : "FAIL", r1.seconds, lb1, r1.seconds / lb1,
               r2.seconds, lb2, r2.seconds / lb2, cpu);
        if (!r1.passed || !r2.passed) {
            fprintf(stderr, "  %s: %s\n", bk_cause_id(r1.passed ? r2.cause : r1.cause),
                    r1.passed ? r2.detail : r1.detail);
            status = 1;
        }
        fflush(stdout);
        bksim_stop(sim);
        rmdir(dir);
    }
    free(image);
    return status;
}
