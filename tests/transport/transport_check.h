/* transport_check.h - small helpers shared by the transport tests: a failing check, a pty
 * pair, fd I/O with deadlines, waiting until a thread is blocked, and a case table so that
 * every case is its own ctest entry (its own process: a fresh pty, a fresh testbed). */
#pragma once
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define CHECK(cond, ...)                                                                          \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);              \
            fprintf(stderr, __VA_ARGS__);                                                         \
            fputc('\n', stderr);                                                                  \
            exit(1);                                                                              \
        }                                                                                         \
    } while (0)

static inline int64_t check_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A pty pair: the test holds the master (the chip's end); *slave names the other end. */
static inline int check_pty_open(char *slave, size_t slave_len)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    CHECK(m >= 0, "posix_openpt: %s", strerror(errno));
    CHECK(grantpt(m) == 0 && unlockpt(m) == 0, "grantpt/unlockpt: %s", strerror(errno));
    CHECK(ptsname_r(m, slave, slave_len) == 0, "ptsname_r: %s", strerror(errno));
    return m;
}

/* Reads exactly n bytes from fd or fails the test after timeout_ms. */
static inline void check_read_exact(int fd, uint8_t *buf, size_t n, int timeout_ms)
{
    int64_t deadline = check_now_ms() + timeout_ms;
    size_t got = 0;
    while (got < n) {
        int64_t left = deadline - check_now_ms();
        CHECK(left > 0, "only %zu of %zu bytes arrived on fd %d within %d ms", got, n, fd, timeout_ms);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, (int)left);
        if (r <= 0)
            continue;
        ssize_t k = read(fd, buf + got, n - got);
        CHECK(k > 0 || (k < 0 && (errno == EAGAIN || errno == EINTR)), "read fd %d: %zd (%s)", fd, k,
              strerror(errno));
        if (k > 0)
            got += (size_t)k;
    }
}

static inline void check_write_all(int fd, const uint8_t *buf, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t k = write(fd, buf + done, n - done);
        CHECK(k > 0 || (k < 0 && errno == EINTR), "write fd %d: %s", fd, strerror(errno));
        if (k > 0)
            done += (size_t)k;
    }
}

/* Every byte value, twice, with the ones a cooked tty would eat or change up front:
 * XON/XOFF (0x11/0x13), CR/LF, ^C, ^D, ^Z, backspace, DEL, 0xff. */
static inline size_t check_binary_pattern(uint8_t *buf, size_t max)
{
    static const uint8_t tricky[] = {0x11, 0x13, 0x0d, 0x0a, 0x03, 0x04, 0x1a, 0x08, 0x7f, 0xff,
                                     0x00, 0x11, 0x11, 0x13, 0x13, 0x0d, 0x0a, 0x0a, 0x0d};
    size_t n = 0;
    for (size_t i = 0; i < sizeof tricky && n < max; i++)
        buf[n++] = tricky[i];
    for (int round = 0; round < 2; round++)
        for (int v = 0; v < 256 && n < max; v++)
            buf[n++] = (uint8_t)v;
    return n;
}

static inline pid_t check_gettid(void)
{
    return (pid_t)syscall(SYS_gettid);
}

/* Waits until thread tid of this process is blocked (state S in /proc), i.e. inside the
 * poll() of the call under test, polling with a deadline. */
static inline void check_wait_blocked(pid_t tid, int timeout_ms)
{
    char path[64], stat[512];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
    int64_t deadline = check_now_ms() + timeout_ms;
    for (;;) {
        FILE *f = fopen(path, "r");
        CHECK(f, "open %s: %s", path, strerror(errno));
        size_t n = fread(stat, 1, sizeof stat - 1, f);
        fclose(f);
        stat[n] = 0;
        const char *close_paren = strrchr(stat, ')'); /* "tid (comm) S ..." */
        if (close_paren && close_paren[1] == ' ' && close_paren[2] == 'S')
            return;
        CHECK(check_now_ms() < deadline, "thread %d never blocked within %d ms", (int)tid, timeout_ms);
        poll(NULL, 0, 1);
    }
}

typedef struct check_case {
    const char *name;
    void (*run)(void);
} check_case;

/* argv[1] names the case; ctest runs each as its own test. */
static inline int check_run(int argc, char **argv, const check_case *cases, size_t n)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CASE\ncases:", argv[0]);
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, " %s", cases[i].name);
        fputc('\n', stderr);
        return 2;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(cases[i].name, argv[1]) == 0) {
            cases[i].run();
            printf("%s: ok\n", cases[i].name);
            return 0;
        }
    }
    fprintf(stderr, "%s: no case named \"%s\"\n", argv[0], argv[1]);
    return 2;
}
