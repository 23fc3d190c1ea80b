/* test_sim_cli.c - the bksim program as a child: module lines and "ready" on stdout, a
 * client flashes through a link, SIGTERM removes the links; bad flags and scenario lines
 * are named in the error. argv[1] is the bksim binary. */
#include "bksim.h"
#include "sim_client.h"
#include <signal.h>
#include <sys/wait.h>

typedef struct child { pid_t pid; int out, err; } child;

static child spawn(const char *bin, const char *const *args)
{
    int po[2], pe[2];
    REQUIRE(pipe(po) == 0 && pipe(pe) == 0);
    child c = {fork(), po[0], pe[0]};
    REQUIRE(c.pid >= 0);
    if (c.pid == 0) {
        dup2(po[1], 1);
        dup2(pe[1], 2);
        char *argv[32];
        int n = 0;
        argv[n++] = (char *)bin;
        for (; args[n - 1] && n < 31; n++)
            argv[n] = (char *)args[n - 1];
        argv[n] = NULL;
        execv(bin, argv);
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    return c;
}

/* Read the child's stdout until a line equal to `stop` (or EOF / deadline). */
static size_t read_until(int fd, char *buf, size_t cap, const char *stop, int timeout_ms)
{
    size_t len = 0;
    int64_t end = check_now_ms() + timeout_ms;
    buf[0] = 0;
    while (len + 1 < cap && !strstr(buf, stop)) {
        int64_t left = end - check_now_ms();
        if (left <= 0)
            break;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = 0;
    }
    return len;
}

static int finish(child c)
{
    int st;
    REQUIRE(waitpid(c.pid, &st, 0) == c.pid);
    close(c.out);
    close(c.err);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void test_serve(const char *bin, const char *dir)
{
    char ini[300];
    snprintf(ini, sizeof ini, "%s/s.ini", dir);
    FILE *f = fopen(ini, "w");
    REQUIRE(f);
    fputs("[module 1]\nchip = bk7231n\nmac = d8:1f:12:00:00:07\n", f);
    fclose(f);
    const char *args[] = {"--count", "2", "--chip", "bk7231t", "--link", dir, "--fault", "slow-flash",
                          "--scenario", ini, "--seed", "11", "--time-scale", "0", NULL};
    child c = spawn(bin, args);
    char out[4096];
    read_until(c.out, out, sizeof out, "ready\n", 5000);
    REQUIRE(strstr(out, "ready\n"));
    char l0[320], l1[320];
    snprintf(l0, sizeof l0, "%s/sim0 /dev/pts/", dir);
    snprintf(l1, sizeof l1, "%s/sim1 /dev/pts/", dir);
    REQUIRE(strstr(out, l0) && strstr(out, l1));
    REQUIRE(strstr(out, " BK7231T d8:1f:12:") && strstr(out, " BK7231N d8:1f:12:00:00:07 faults=slow-flash"));

    /* a client talks to module 1 (an N) through its link */
    snprintf(l1, sizeof l1, "%s/sim1", dir);
    int fd = cl_open(l1, 115200);
    REQUIRE(fd >= 0 && cl_link(fd, 2000));
    uint8_t rb[256], reg[4];
    bk_frame fr;
    bk_put_le32(reg, 0x800000);
    REQUIRE(cl_exchange(fd, false, BK_CMD_READ_REG, reg, 4, rb, sizeof rb, &fr, 1000));
    REQUIRE(bk_get_le32(fr.payload + 4) == 0x7231C);
    close(fd);

    REQUIRE(kill(c.pid, SIGTERM) == 0);
    REQUIRE(finish(c) == 0);
    REQUIRE(access(l1, F_OK) != 0);
    unlink(ini);
}

static void test_errors(const char *bin, const char *dir)
{
    char buf[2048];
    const char *bad_flag[] = {"--count", "2", "--bogus", NULL};
    child c = spawn(bin, bad_flag);
    read_until(c.err, buf, sizeof buf, "\n", 5000);
    REQUIRE(finish(c) == 2 && strstr(buf, "--bogus"));

    const char *bad_fault[] = {"--count", "1", "--fault", "brownout-p=7", NULL};
    c = spawn(bin, bad_fault);
    read_until(c.err, buf, sizeof buf, "\n", 5000);
    REQUIRE(finish(c) == 2 && strstr(buf, "--fault") && strstr(buf, "brownout-p"));

    const char *bad_chip[] = {"--count", "1", "--chip", "esp32", NULL};
    c = spawn(bin, bad_chip);
    read_until(c.err, buf, sizeof buf, "\n", 5000);
    REQUIRE(finish(c) == 2 && strstr(buf, "--chip") && strstr(buf, "esp32"));

    char ini[300];
    snprintf(ini, sizeof ini, "%s/bad.ini", dir);
    FILE *f = fopen(ini, "w");
    REQUIRE(f);
    fputs("[all]\nchip = bk7231t\nfault = nope\n", f);
    fclose(f);
    const char *bad_ini[] = {"--count", "1", "--scenario", ini, NULL};
    c = spawn(bin, bad_ini);
    read_until(c.err, buf, sizeof buf, "\n", 5000);
    char want[320];
    snprintf(want, sizeof want, "%s:3:", ini);
    REQUIRE(finish(c) == 2 && strstr(buf, want));
    unlink(ini);
}

int main(int argc, char **argv)
{
    REQUIRE(argc == 2);
    signal(SIGPIPE, SIG_IGN);
    char dir[] = "/tmp/bksim_cli_XXXXXX";
    REQUIRE(mkdtemp(dir));
    test_serve(argv[1], dir);
    test_errors(argv[1], dir);
    rmdir(dir);
    printf("sim cli: ok\n");
    return 0;
}
