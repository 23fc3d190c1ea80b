/* test_termios.c - the termios back-end on a pty pair the test owns (no umockdev). */
#include "transport.h"
#include "transport_check.h"

#include <pthread.h>
#include <sys/stat.h>
#include <termios.h>

typedef struct pty_bench {
    int master;
    char slave[64];
    bk_transport *t;
} pty_bench;

static pty_bench pty_bench_open(uint32_t baud)
{
    pty_bench b;
    char err[200] = "";
    b.master = check_pty_open(b.slave, sizeof b.slave);
    b.t = bk_transport_open_termios(b.slave, baud, err, sizeof err);
    REQUIRE_MSG(b.t, "open %s: %s", b.slave, err);
    REQUIRE_MSG(strcmp(b.t->ops->name, "termios") == 0, "back-end %s", b.t->ops->name);
    REQUIRE_MSG(b.t->baud == baud, "baud %u", (unsigned)b.t->baud);
    return b;
}

static void pty_bench_close(pty_bench *b)
{
    bk_transport_close(b->t);
    if (b->master >= 0)
        close(b->master);
}

static speed_t master_speed(int master)
{
    struct termios tio;
    REQUIRE_MSG(tcgetattr(master, &tio) == 0, "tcgetattr master: %s", strerror(errno));
    return cfgetospeed(&tio);
}

static int case_raw_bytes(void)
{
    pty_bench b = pty_bench_open(115200);
    uint8_t out[600], in[600];
    size_t n = check_binary_pattern(out, sizeof out);

    REQUIRE_MSG(b.t->ops->write(b.t, out, n) == (int)n, "write: %s", b.t->last_error);
    check_read_exact(b.master, in, n, 2000);
    REQUIRE_MSG(memcmp(in, out, n) == 0, "host->chip bytes changed on the way");

    check_write_all(b.master, out, n);
    size_t got = 0;
    while (got < n) {
        int r = b.t->ops->read(b.t, in + got, n - got, 2000);
        REQUIRE_MSG(r > 0, "read returned %d after %zu of %zu bytes: %s", r, got, n, b.t->last_error);
        got += (size_t)r;
    }
    REQUIRE_MSG(memcmp(in, out, n) == 0, "chip->host bytes changed on the way");
    /* nothing extra (no echo of what the host wrote) */
    REQUIRE_MSG(b.t->ops->read(b.t, in, sizeof in, 20) == 0, "unexpected extra bytes");
    pty_bench_close(&b);
    return 0;
}

static int case_read_timeout(void)
{
    pty_bench b = pty_bench_open(115200);
    uint8_t buf[16];
    REQUIRE_MSG(b.t->ops->read(b.t, buf, sizeof buf, 30) == 0, "idle read: %s", b.t->last_error);
    REQUIRE_MSG(b.t->ops->read(b.t, buf, sizeof buf, 0) == 0, "zero-timeout read: %s", b.t->last_error);
    /* a byte that arrives is returned before the timeout ends */
    check_write_all(b.master, (const uint8_t *)"\x55", 1);
    REQUIRE_MSG(b.t->ops->read(b.t, buf, sizeof buf, 5000) == 1 && buf[0] == 0x55, "read of one byte");
    pty_bench_close(&b);
    return 0;
}

static int case_set_lines_unsupported(void)
{
    pty_bench b = pty_bench_open(115200);
    REQUIRE_MSG(b.t->ops->set_lines(b.t, true, true) == BK_IO_UNSUPPORTED, "set_lines on a pty");
    REQUIRE_MSG(strstr(b.t->last_error, b.slave), "error names the port: %s", b.t->last_error);
    REQUIRE_MSG(b.t->ops->set_lines(b.t, false, false) == BK_IO_UNSUPPORTED, "release on a pty");
    /* the port still works afterwards */
    REQUIRE_MSG(b.t->ops->write(b.t, (const uint8_t *)"ok", 2) == 2, "write after set_lines");
    uint8_t in[2];
    check_read_exact(b.master, in, 2, 2000);
    pty_bench_close(&b);
    return 0;
}

static int case_baud(void)
{
    pty_bench b = pty_bench_open(115200);
    REQUIRE_MSG(master_speed(b.master) == B115200, "master sees 115200");
    static const struct {
        uint32_t baud;
        speed_t code;
    } rates[] = {{921600, B921600}, {2000000, B2000000}, {1500000, B1500000}, {4000000, B4000000},
                 {230400, B230400}};
    for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
        REQUIRE_MSG(b.t->ops->set_baud(b.t, rates[i].baud) == BK_IO_OK, "set %u: %s", (unsigned)rates[i].baud,
              b.t->last_error);
        REQUIRE_MSG(master_speed(b.master) == rates[i].code, "master after %u", (unsigned)rates[i].baud);
        REQUIRE_MSG(b.t->baud == rates[i].baud, "t->baud %u", (unsigned)b.t->baud);
    }
    REQUIRE_MSG(b.t->ops->set_baud(b.t, 123456) == BK_IO_ERROR, "odd rate refused");
    REQUIRE_MSG(strstr(b.t->last_error, "123456"), "error names the rate: %s", b.t->last_error);
    REQUIRE_MSG(b.t->baud == 230400 && master_speed(b.master) == B230400, "refused rate changed nothing");

    /* a second program on the same port is refused while the first holds it */
    char err[200] = "";
    REQUIRE_MSG(!bk_transport_open_termios(b.slave, 115200, err, sizeof err), "second open refused");
    REQUIRE_MSG(strstr(err, "in use") && strstr(err, b.slave), "busy error: %s", err);
    bk_transport_close(b.t);
    b.t = NULL;
    err[0] = 0;
    REQUIRE_MSG(!bk_transport_open_termios(b.slave, 250000, err, sizeof err), "open at odd rate");
    REQUIRE_MSG(strstr(err, "250000") && strstr(err, b.slave), "open error: %s", err);
    pty_bench_close(&b);
    return 0;
}

typedef struct reader_arg {
    bk_transport *t;
    int timeout_ms;
    atomic_int tid;
    int result;
    int64_t elapsed_ms;
} reader_arg;

static void *reader(void *v)
{
    reader_arg *a = v;
    uint8_t buf[64];
    atomic_store(&a->tid, (int)check_gettid());
    int64_t t0 = check_now_ms();
    a->result = a->t->ops->read(a->t, buf, sizeof buf, a->timeout_ms);
    a->elapsed_ms = check_now_ms() - t0;
    return NULL;
}

static int case_peer_close_gone(void)
{
    pty_bench b = pty_bench_open(115200);
    reader_arg a = {.t = b.t, .timeout_ms = 10000};
    pthread_t th;
    REQUIRE_MSG(pthread_create(&th, NULL, reader, &a) == 0, "pthread_create");
    while (atomic_load(&a.tid) == 0)
        poll(NULL, 0, 1);
    check_wait_blocked((pid_t)atomic_load(&a.tid), 5000);
    close(b.master); /* the chip's end goes away mid-read */
    b.master = -1;
    pthread_join(th, NULL);
    REQUIRE_MSG(a.result == BK_IO_GONE, "read after hang-up returned %d (%s)", a.result, b.t->last_error);
    REQUIRE_MSG(a.elapsed_ms < a.timeout_ms, "read waited out its timeout (%lld ms)", (long long)a.elapsed_ms);
    uint8_t buf[4];
    REQUIRE_MSG(b.t->ops->read(b.t, buf, sizeof buf, 10000) == BK_IO_GONE, "second read");
    REQUIRE_MSG(b.t->ops->write(b.t, (const uint8_t *)"x", 1) == BK_IO_GONE, "write after hang-up: %s",
          b.t->last_error);
    pty_bench_close(&b);
    return 0;
}

static int case_reopen(void)
{
    pty_bench b = pty_bench_open(115200);
    REQUIRE_MSG(b.t->ops->set_baud(b.t, 921600) == BK_IO_OK, "set baud");
    /* stale bytes from the chip, waiting in the tty, must not survive the reopen */
    check_write_all(b.master, (const uint8_t *)"stale", 5);
    REQUIRE_MSG(b.t->ops->reopen(b.t) == BK_IO_OK, "reopen: %s", b.t->last_error);
    REQUIRE_MSG(b.t->baud == 921600 && master_speed(b.master) == B921600, "baud kept over reopen");
    uint8_t buf[16];
    REQUIRE_MSG(b.t->ops->read(b.t, buf, sizeof buf, 50) == 0, "stale bytes survived the reopen");
    check_write_all(b.master, (const uint8_t *)"\x11\x13", 2);
    REQUIRE_MSG(b.t->ops->read(b.t, buf, sizeof buf, 2000) == 2 && buf[0] == 0x11 && buf[1] == 0x13,
          "fresh bytes after reopen");
    REQUIRE_MSG(b.t->ops->write(b.t, (const uint8_t *)"\x0d\x0a", 2) == 2, "write after reopen");
    check_read_exact(b.master, buf, 2, 2000);
    REQUIRE_MSG(buf[0] == 0x0d && buf[1] == 0x0a, "CR LF unchanged");
    REQUIRE_MSG(b.t->ops->drain(b.t) == BK_IO_OK, "drain: %s", b.t->last_error);
    REQUIRE_MSG(b.t->ops->flush_input(b.t) == BK_IO_OK, "flush_input: %s", b.t->last_error);
    pty_bench_close(&b);
    return 0;
}

static int case_open_choice(void)
{
    char slave[64], err[200] = "";
    int m = check_pty_open(slave, sizeof slave);
    bk_transport *t = bk_transport_open(slave, 115200, err, sizeof err);
    REQUIRE_MSG(t, "open %s: %s", slave, err);
    REQUIRE_MSG(strcmp(t->ops->name, "termios") == 0, "plain pty got %s", t->ops->name);
    bk_transport_close(t);

    /* a symlink to a pty (how socat and the simulator name their ports) */
    char dir[] = "/tmp/transport_test.XXXXXX", link[128];
    REQUIRE_MSG(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
    snprintf(link, sizeof link, "%s/ttyBAY1", dir);
    REQUIRE_MSG(symlink(slave, link) == 0, "symlink: %s", strerror(errno));
    t = bk_transport_open(link, 921600, err, sizeof err);
    REQUIRE_MSG(t, "open %s: %s", link, err);
    REQUIRE_MSG(strcmp(t->ops->name, "termios") == 0, "pty symlink got %s", t->ops->name);
    REQUIRE_MSG(strcmp(t->path, link) == 0, "path kept as given: %s", t->path);
    bk_transport_close(t);
    unlink(link);

    t = bk_transport_open(link, 115200, err, sizeof err);
    REQUIRE_MSG(!t, "opened a missing path");
    REQUIRE_MSG(strstr(err, link), "error names the path: %s", err);
    rmdir(dir);
    close(m);
    return 0;
}

int main(int argc, char **argv)
{
    static const check_case cases[] = {
        {"raw_bytes", case_raw_bytes},
        {"read_timeout", case_read_timeout},
        {"set_lines_unsupported", case_set_lines_unsupported},
        {"baud", case_baud},
        {"peer_close_gone", case_peer_close_gone},
        {"reopen", case_reopen},
        {"open_choice", case_open_choice},
    };
    return CHECK_RUN(argc, argv, cases);
}
