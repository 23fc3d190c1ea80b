/* test_serialport.c - the libserialport back-end and bk_transport_open()'s choice, on a fake
 * CP2102 (10c4:ea60) plugged into a umockdev testbed (tests/support/fakeport.h). */
#include "fakeport.h"
#include "transport.h"
#include "transport_check.h"

#include <pthread.h>

/* What the fake adapter's modem lines did, in order (the callback runs on umockdev's thread). */
typedef struct line_log {
    pthread_mutex_t lock;
    int n;
    bool dtr[64], rts[64];
} line_log;

static void line_log_add(fakeport *port, bool dtr, bool rts, void *user)
{
    line_log *log = user;
    pthread_mutex_lock(&log->lock);
    if (log->n < 64) {
        log->dtr[log->n] = dtr;
        log->rts[log->n] = rts;
        log->n++;
    }
    pthread_mutex_unlock(&log->lock);
}

static int line_log_count(line_log *log)
{
    pthread_mutex_lock(&log->lock);
    int n = log->n;
    pthread_mutex_unlock(&log->lock);
    return n;
}

/* Entry i (negative: from the end) of the log. */
static void line_log_get(line_log *log, int i, bool *dtr, bool *rts)
{
    pthread_mutex_lock(&log->lock);
    if (i < 0)
        i += log->n;
    REQUIRE_MSG(i >= 0 && i < log->n, "line log has no entry %d (%d entries)", i, log->n);
    *dtr = log->dtr[i];
    *rts = log->rts[i];
    pthread_mutex_unlock(&log->lock);
}

typedef struct bench {
    UMockdevTestbed *tb;
    fakeport *port;
    line_log log;
} bench;

static void bench_plug(bench *b)
{
    fakeport_adapter a;
    char err[256] = "";
    REQUIRE_MSG(fakeport_adapter_init(&a, FAKEPORT_CP2102, "1-1", "ttyUSB0", 0, NULL, err, sizeof err) == 0,
          "%s", err);
    b->port = fakeport_plug(b->tb, &a, line_log_add, &b->log, err, sizeof err);
    REQUIRE_MSG(b->port, "plug: %s", err);
}

static void bench_init(bench *b)
{
    memset(b, 0, sizeof *b);
    pthread_mutex_init(&b->log.lock, NULL);
    b->tb = umockdev_testbed_new();
    REQUIRE_MSG(b->tb, "umockdev_testbed_new");
    bench_plug(b);
}

static void bench_fini(bench *b)
{
    fakeport_free(b->port);
    g_object_unref(b->tb);
    pthread_mutex_destroy(&b->log.lock);
}

static bk_transport *open_sp(bench *b, uint32_t baud)
{
    char err[256] = "";
    bk_transport *t = bk_transport_open_serialport("/dev/ttyUSB0", baud, err, sizeof err);
    REQUIRE_MSG(t, "open /dev/ttyUSB0: %s", err);
    REQUIRE_MSG(strcmp(t->ops->name, "libserialport") == 0, "back-end %s", t->ops->name);
    return t;
}

static int case_lines(void)
{
    bench b;
    bench_init(&b);
    bk_transport *t = open_sp(&b, 115200);
    /* open raised both lines (kernel behaviour) and the back-end released them */
    REQUIRE_MSG(fakeport_wait_lines(b.port, false, false, 2000), "lines not released after open");
    int n = line_log_count(&b.log);
    REQUIRE_MSG(n >= 2, "only %d line changes seen during open", n);
    bool dtr, rts;
    line_log_get(&b.log, 0, &dtr, &rts);
    REQUIRE_MSG(dtr && rts, "open did not raise DTR and RTS first");
    line_log_get(&b.log, -1, &dtr, &rts);
    REQUIRE_MSG(!dtr && !rts, "last change during open is not the release");

    /* the reset sequence the flasher uses; each change is seen before set_lines returns */
    static const bool seq[][2] = {{true, true}, {false, true}, {false, false}, {true, false}};
    for (size_t i = 0; i < sizeof seq / sizeof seq[0]; i++) {
        REQUIRE_MSG(t->ops->set_lines(t, seq[i][0], seq[i][1]) == BK_IO_OK, "set_lines: %s", t->last_error);
        fakeport_get_lines(b.port, &dtr, &rts);
        REQUIRE_MSG(dtr == seq[i][0] && rts == seq[i][1], "step %zu: DTR=%d RTS=%d", i, dtr, rts);
        line_log_get(&b.log, -1, &dtr, &rts);
        REQUIRE_MSG(dtr == seq[i][0] && rts == seq[i][1], "callback did not see step %zu", i);
    }
    bk_transport_close(t);
    bench_fini(&b);
    return 0;
}

static int case_binary(void)
{
    bench b;
    bench_init(&b);
    bk_transport *t = open_sp(&b, 115200);
    int m = fakeport_master_fd(b.port);
    uint8_t out[600], in[600];
    size_t n = check_binary_pattern(out, sizeof out);

    REQUIRE_MSG(t->ops->write(t, out, n) == (int)n, "write: %s", t->last_error);
    check_read_exact(m, in, n, 3000);
    REQUIRE_MSG(memcmp(in, out, n) == 0, "host->chip bytes changed (XON/XOFF or cooked mode left on?)");

    check_write_all(m, out, n);
    size_t got = 0;
    while (got < n) {
        int r = t->ops->read(t, in + got, n - got, 3000);
        REQUIRE_MSG(r > 0, "read returned %d after %zu of %zu bytes: %s", r, got, n, t->last_error);
        got += (size_t)r;
    }
    REQUIRE_MSG(memcmp(in, out, n) == 0, "chip->host bytes changed (0x11/0x13 eaten by IXON?)");
    REQUIRE_MSG(t->ops->read(t, in, sizeof in, 20) == 0, "unexpected extra bytes (echo?)");
    REQUIRE_MSG(t->ops->drain(t) == BK_IO_OK, "drain: %s", t->last_error);
    check_write_all(m, out, 10);
    REQUIRE_MSG(t->ops->read(t, in, 1, 3000) == 1, "one byte");
    REQUIRE_MSG(t->ops->flush_input(t) == BK_IO_OK, "flush_input: %s", t->last_error);
    bk_transport_close(t);
    bench_fini(&b);
    return 0;
}

static int case_baud(void)
{
    bench b;
    bench_init(&b);
    bk_transport *t = open_sp(&b, 921600);
    int m = fakeport_master_fd(b.port);
    uint32_t seen = 0;
    REQUIRE_MSG(support_pty_master_baud(m, &seen) == 0 && seen == 921600, "master sees %u", (unsigned)seen);
    REQUIRE_MSG(t->ops->set_baud(t, 2000000) == BK_IO_OK, "set 2000000: %s", t->last_error);
    REQUIRE_MSG(support_pty_master_baud(m, &seen) == 0 && seen == 2000000, "master sees %u", (unsigned)seen);
    REQUIRE_MSG(t->baud == 2000000, "t->baud %u", (unsigned)t->baud);
    REQUIRE_MSG(t->ops->set_baud(t, 115200) == BK_IO_OK, "set 115200: %s", t->last_error);
    REQUIRE_MSG(support_pty_master_baud(m, &seen) == 0 && seen == 115200, "master sees %u", (unsigned)seen);
    bk_transport_close(t);
    bench_fini(&b);
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

static int case_unplug_gone(void)
{
    bench b;
    bench_init(&b);
    bk_transport *t = open_sp(&b, 115200);
    reader_arg a = {.t = t, .timeout_ms = 10000};
    pthread_t th;
    REQUIRE_MSG(pthread_create(&th, NULL, reader, &a) == 0, "pthread_create");
    while (atomic_load(&a.tid) == 0)
        poll(NULL, 0, 1);
    check_wait_blocked((pid_t)atomic_load(&a.tid), 5000);
    fakeport_unplug(b.port);
    pthread_join(th, NULL);
    REQUIRE_MSG(a.result == BK_IO_GONE, "read after unplug returned %d (%s)", a.result, t->last_error);
    REQUIRE_MSG(a.elapsed_ms < a.timeout_ms, "read waited out its timeout (%lld ms): spun on read()==0?",
          (long long)a.elapsed_ms);
    REQUIRE_MSG(t->ops->write(t, (const uint8_t *)"x", 1) == BK_IO_GONE, "write after unplug: %s",
          t->last_error);
    REQUIRE_MSG(t->ops->set_lines(t, true, true) == BK_IO_GONE, "set_lines after unplug: %s", t->last_error);
    bk_transport_close(t);
    bench_fini(&b);
    return 0;
}

static int case_replug_reopen(void)
{
    bench b;
    bench_init(&b);
    bk_transport *t = open_sp(&b, 921600);
    fakeport_free(b.port);
    b.port = NULL;
    uint8_t buf[4];
    REQUIRE_MSG(t->ops->read(t, buf, sizeof buf, 10000) == BK_IO_GONE, "read after unplug");
    REQUIRE_MSG(t->ops->reopen(t) != BK_IO_OK, "reopen of an unplugged adapter succeeded");
    REQUIRE_MSG(strstr(t->last_error, "/dev/ttyUSB0"), "error names the port: %s", t->last_error);

    bench_plug(&b); /* same name again */
    REQUIRE_MSG(t->ops->reopen(t) == BK_IO_OK, "reopen after re-plug: %s", t->last_error);
    uint32_t seen = 0;
    REQUIRE_MSG(support_pty_master_baud(fakeport_master_fd(b.port), &seen) == 0 && seen == 921600,
          "baud after reopen %u", (unsigned)seen);
    REQUIRE_MSG(fakeport_wait_lines(b.port, false, false, 2000), "lines released after reopen");
    check_write_all(fakeport_master_fd(b.port), (const uint8_t *)"\x13", 1);
    REQUIRE_MSG(t->ops->read(t, buf, sizeof buf, 3000) == 1 && buf[0] == 0x13, "byte after reopen");
    bk_transport_close(t);
    bench_fini(&b);
    return 0;
}

static int case_open_choice(void)
{
    bench b;
    bench_init(&b);
    char err[256] = "";
    bk_transport *t = bk_transport_open("/dev/ttyUSB0", 115200, err, sizeof err);
    REQUIRE_MSG(t, "open /dev/ttyUSB0: %s", err);
    REQUIRE_MSG(strcmp(t->ops->name, "libserialport") == 0, "umockdev adapter got %s", t->ops->name);
    bk_transport_close(t);

    char slave[64];
    int m = check_pty_open(slave, sizeof slave);
    t = bk_transport_open(slave, 115200, err, sizeof err);
    REQUIRE_MSG(t, "open %s: %s", slave, err);
    REQUIRE_MSG(strcmp(t->ops->name, "termios") == 0, "plain pty got %s", t->ops->name);
    bk_transport_close(t);
    close(m);

    REQUIRE_MSG(!bk_transport_open_serialport(slave, 115200, err, sizeof err), "libserialport took a pty");
    REQUIRE_MSG(strstr(err, slave), "error names the pty: %s", err);
    bench_fini(&b);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--list") != 0)
        support_ensure_umockdev_preload(argv);
    static const check_case cases[] = {
        {"lines", case_lines},
        {"binary", case_binary},
        {"baud", case_baud},
        {"unplug_gone", case_unplug_gone},
        {"replug_reopen", case_replug_reopen},
        {"open_choice", case_open_choice},
    };
    return CHECK_RUN(argc, argv, cases);
}
