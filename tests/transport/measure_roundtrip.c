/* measure_roundtrip.c - not a test: the rough cost of one 4 KiB write + 15-byte read round
 * trip (a WriteSector-sized frame and its reply) through each back-end. A "chip" thread on
 * the pty master reads the 4 KiB and answers 15 bytes.
 *   transport_measure_roundtrip termios [iterations]     plain pty, no preload
 *   transport_measure_roundtrip serialport [iterations]  fake CP2102 under umockdev
 * Run it under `strace -f -c` for syscall counts. */
#include "fakeport.h"
#include "transport.h"
#include "transport_check.h"

#include <pthread.h>
#include <sys/resource.h>

enum { frame_bytes = 4096, reply_bytes = 15 };

typedef struct chip_arg {
    int master;
    int iterations;
} chip_arg;

static void *chip(void *v)
{
    chip_arg *c = v;
    static uint8_t buf[frame_bytes];
    uint8_t reply[reply_bytes];
    memset(reply, 0x5a, sizeof reply);
    for (int i = 0; i < c->iterations; i++) {
        check_read_exact(c->master, buf, frame_bytes, 10000);
        check_write_all(c->master, reply, sizeof reply);
    }
    return NULL;
}

static double cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static void run(bk_transport *t, int master, int iterations)
{
    chip_arg c = {.master = master, .iterations = iterations};
    pthread_t th;
    REQUIRE_MSG(pthread_create(&th, NULL, chip, &c) == 0, "pthread_create");
    static uint8_t frame[frame_bytes];
    for (size_t i = 0; i < sizeof frame; i++)
        frame[i] = (uint8_t)i;
    uint8_t reply[64];
    struct timespec a, b;
    double cpu0 = cpu_ms();
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < iterations; i++) {
        REQUIRE_MSG(t->ops->write(t, frame, sizeof frame) == (int)sizeof frame, "write: %s", t->last_error);
        int got = 0;
        while (got < reply_bytes) {
            int r = t->ops->read(t, reply + got, sizeof reply - (size_t)got, 5000);
            REQUIRE_MSG(r > 0, "read %d: %s", r, t->last_error);
            got += r;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double cpu = cpu_ms() - cpu0;
    pthread_join(th, NULL);
    double us = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / 1e3 / iterations;
    printf("%s: %d round trips (4096 B out, 15 B back): %.1f us each (wall), %.1f us CPU each "
           "(both threads)\n",
           t->ops->name, iterations, us, cpu * 1e3 / iterations);
}

int main(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "termios") && strcmp(argv[1], "serialport"))) {
        fprintf(stderr, "usage: %s termios|serialport [iterations]\n", argv[0]);
        return 2;
    }
    int iterations = argc > 2 ? atoi(argv[2]) : 2000;
    char err[256] = "";
    if (strcmp(argv[1], "termios") == 0) {
        char slave[64];
        int m = check_pty_open(slave, sizeof slave);
        bk_transport *t = bk_transport_open_termios(slave, 921600, err, sizeof err);
        REQUIRE_MSG(t, "%s", err);
        run(t, m, iterations);
        bk_transport_close(t);
        close(m);
        return 0;
    }
    support_ensure_umockdev_preload(argv);
    UMockdevTestbed *tb = umockdev_testbed_new();
    fakeport_adapter a;
    REQUIRE_MSG(fakeport_adapter_init(&a, FAKEPORT_CP2102, "1-1", "ttyUSB0", 0, NULL, err, sizeof err) == 0,
          "%s", err);
    fakeport *p = fakeport_plug(tb, &a, NULL, NULL, err, sizeof err);
    REQUIRE_MSG(p, "%s", err);
    bk_transport *t = bk_transport_open_serialport("/dev/ttyUSB0", 921600, err, sizeof err);
    REQUIRE_MSG(t, "%s", err);
    run(t, fakeport_master_fd(p), iterations);
    bk_transport_close(t);
    fakeport_free(p);
    g_object_unref(tb);
    return 0;
}
