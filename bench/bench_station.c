/* bench_station - wall time for 1, 4, 16, 32 and 64 simulated bays flashing the same image at
 * time_scale 1.0 (real chip timing), the ratio to the single-bay time, and CPU per busy bay
 * (getrusage of the whole process, simulator thread included) as % of one core.
 * Usage: bench_station [--image-kib N] [--bays 1,4,16]   (default 256 KiB; all five counts) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "bk_image.h"
#include "station.h"

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* A pseudo-random image and a profile pinning it, in dir. */
static void make_profile(const char *dir, int kib, char *profile, size_t len)
{
    size_t n = (size_t)kib * 1024;
    uint8_t *img = malloc(n);
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        img[i] = (uint8_t)(x >> 16);
    }
    char path[512], sha[65];
    snprintf(path, sizeof path, "%s/bench.bin", dir);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(img, 1, n, f) != n || fclose(f)) {
        perror(path);
        exit(2);
    }
    bk_sha256_hex(img, n, sha);
    free(img);
    snprintf(profile, len, "%s/bench.ini", dir);
    f = fopen(profile, "w");
    fprintf(f, "[profile]\nname = bench\nchip = bk7231t\nimage = bench.bin\noffset = 0x11000\n"
               "sha256 = %s\n", sha);
    fclose(f);
}

static double run(int bays, const char *profile, const char *dir, double *cpu)
{
    static station_opts o;
    memset(&o, 0, sizeof o);
    station_config_defaults(&o.cfg);
    o.cfg.pool_size = bays;
    o.profile_path = profile;
    char db[512];
    snprintf(db, sizeof db, "%s/bench-%d.db", dir, bays);
    o.db_path = db;
    o.sim_count = bays;
    o.sim_time_scale = 1.0;
    o.once = true;
    char err[512];
    double c0 = cpu_s(), t0 = mono();
    station *st = station_start(&o, err, sizeof err);
    if (!st) {
        fprintf(stderr, "bench: %s\n", err);
        exit(2);
    }
    station_wait(st);
    double wall = mono() - t0;
    int pass, fail;
    station_counts(st, &pass, &fail);
    station_free(st);
    *cpu = cpu_s() - c0;
    if (fail)
        fprintf(stderr, "bench: %d of %d bays failed\n", fail, bays);
    return wall;
}

int main(int argc, char **argv)
{
    int kib = 256;
    int counts[8] = {1, 4, 16, 32, 64}, n_counts = 5;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--image-kib") && i + 1 < argc) {
            kib = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--bays") && i + 1 < argc) {
            n_counts = 0;
            for (char *s = strtok(argv[++i], ","); s && n_counts < 8; s = strtok(NULL, ","))
                counts[n_counts++] = atoi(s);
        } else {
            fprintf(stderr, "usage: bench_station [--image-kib N] [--bays 1,4,16,...]\n");
            return 2;
        }
    }
    char dir[] = "/tmp/tf-bench-XXXXXX";
    if (!mkdtemp(dir))
        return 2;
    char profile[600];
    make_profile(dir, kib, profile, sizeof profile);
    printf("image %d KiB at time_scale 1.0\n%6s %9s %8s %14s\n", kib, "bays", "wall s", "ratio",
           "cpu %/bay");
    double single = 0;
    for (int i = 0; i < n_counts; i++) {
        double cpu, wall = run(counts[i], profile, dir, &cpu);
        if (i == 0)
            single = wall;
        printf("%6d %9.2f %8.2f %14.1f\n", counts[i], wall, single > 0 ? wall / single : 0,
               100.0 * cpu / wall / counts[i]);
        fflush(stdout);
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}
