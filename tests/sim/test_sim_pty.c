/* test_sim_pty.c - the pty server with a raw termios client: link, baud switch, erase,
 * write, read back, CRC; power-up on open; modem lines on an attached master; yank; and
 * the lower bound as a floor on a real-time flash. */
#include "bksim.h"
#include "sim_client.h"
#include <sys/ioctl.h>
#include <sys/stat.h>

#define IMG_LEN 0x10000u
#define IMG_AT 0x20000u

typedef struct port_state {
    bksim_server *s;
    int i;
    bool open;
} port_state;

static bool port_is(void *ctx)
{
    const port_state *p = ctx;
    return bksim_port_open(p->s, p->i) == p->open;
}

static bool wait_port(bksim_server *s, int i, bool open, int timeout_ms)
{
    port_state p = {s, i, open};
    return check_wait_until(port_is, &p, timeout_ms);
}

static void make_image(uint8_t *img, size_t len, unsigned salt)
{
    uint32_t x = 2463534242u ^ salt;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        img[i] = (uint8_t)x;
    }
}

/* Link, switch to 921600, erase the 64 KiB block, write, CRC. Returns the chip's CRC. */
static uint32_t flash_image(int fd, const uint8_t *img)
{
    uint8_t rb[BK_FRAME_MAX];
    bk_frame fr;
    REQUIRE(cl_link(fd, 2000));
    REQUIRE(cl_switch_baud(fd, 921600, 20));
    uint8_t ep[5] = {BK_ERASE_SIZE_64K};
    bk_put_le32(ep + 1, IMG_AT);
    REQUIRE(cl_exchange(fd, true, BK_LCMD_ERASE, ep, 5, rb, sizeof rb, &fr, 3000) && fr.payload[0] == 0);
    static uint8_t wp[4 + 4096];
    for (uint32_t o = 0; o < IMG_LEN; o += 4096) {
        bk_put_le32(wp, IMG_AT + o);
        memcpy(wp + 4, img + o, 4096);
        REQUIRE(cl_exchange(fd, true, BK_LCMD_WRITE_4K, wp, sizeof wp, rb, sizeof rb, &fr, 3000));
        REQUIRE(fr.payload[0] == 0 && bk_get_le32(fr.payload + 1) == IMG_AT + o);
    }
    uint8_t cp[8];
    bk_put_le32(cp, IMG_AT);
    bk_put_le32(cp + 4, IMG_AT + IMG_LEN); /* T: end exclusive */
    REQUIRE(cl_exchange(fd, false, BK_CMD_CHECK_CRC, cp, 8, rb, sizeof rb, &fr, 3000) && fr.payload_len == 4);
    return bk_get_le32(fr.payload);
}

static void test_flash_and_reopen(const char *dir)
{
    bksim_config cfg = {.count = 2, .link_dir = dir, .seed = 5, .time_scale = 0};
    char err[256];
    bksim_server *s = bksim_start(&cfg, err, sizeof err);
    REQUIRE(s);
    char want[300];
    snprintf(want, sizeof want, "%s/sim1", dir);
    REQUIRE(strcmp(bksim_link_path(s, 1), want) == 0);
    char target[64] = {0};
    REQUIRE(readlink(want, target, sizeof target - 1) > 0 && strcmp(target, bksim_pty_path(s, 1)) == 0);

    /* no client yet: the port must stay unpowered (a never-opened master shows no HUP) */
    REQUIRE(!wait_port(s, 1, true, 100));
    static uint8_t img[IMG_LEN], back[IMG_LEN];
    make_image(img, IMG_LEN, 1);
    int fd = cl_open(bksim_link_path(s, 0), 115200);
    REQUIRE(fd >= 0);
    REQUIRE(flash_image(fd, img) == bk_chip_crc(img, IMG_LEN));
    /* read back over the wire */
    uint8_t rb[BK_FRAME_MAX], a[4];
    bk_frame fr;
    bk_put_le32(a, IMG_AT + 0x3000);
    REQUIRE(cl_exchange(fd, true, BK_LCMD_READ_4K, a, 4, rb, sizeof rb, &fr, 3000) == 10 + 5 + 4096);
    REQUIRE(memcmp(fr.payload + 5, img + 0x3000, 4096) == 0);
    REQUIRE(bksim_read_flash(s, 0, IMG_AT, back, IMG_LEN) == 0 && memcmp(back, img, IMG_LEN) == 0);
    bksim_stats st;
    bksim_get_stats(s, 0, &st);
    REQUIRE(st.writes_4k == 16 && st.erases == 1 && st.crcs == 1 && st.reads_4k == 1 && st.links == 1);
    /* module 1 is untouched */
    REQUIRE(bksim_read_flash(s, 1, IMG_AT, back, 4096) == 0 && memcmp(back, img, 4096) != 0);

    /* the host falls back to 115200 without SetBaudRate: the chip no longer understands it */
    cl_set_baud(fd, 115200);
    REQUIRE(cl_exchange(fd, false, BK_CMD_LINK_CHECK, NULL, 0, rb, sizeof rb, &fr, 100) == 0);

    /* closing and reopening the port is the power-cycle: link again at 115200 */
    close(fd);
    REQUIRE(wait_port(s, 0, false, 2000));
    fd = cl_open(bksim_link_path(s, 0), 115200);
    REQUIRE(fd >= 0);
    REQUIRE(cl_link(fd, 2000));
    bksim_get_stats(s, 0, &st);
    REQUIRE(st.resets >= 2 && st.links == 2);
    close(fd);
    bksim_stop(s);
    REQUIRE(access(want, F_OK) != 0); /* links removed */
}

static void test_lower_bound_floor(void)
{
    bksim_config cfg = {.count = 1, .seed = 9, .time_scale = 1.0};
    char err[256];
    bksim_server *s = bksim_start(&cfg, err, sizeof err);
    REQUIRE(s);
    static uint8_t img[IMG_LEN];
    make_image(img, IMG_LEN, 2);
    int fd = cl_open(bksim_link_path(s, 0), 115200);
    REQUIRE(fd >= 0);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    REQUIRE(flash_image(fd, img) == bk_chip_crc(img, IMG_LEN));
    clock_gettime(CLOCK_MONOTONIC, &b);
    double took = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    bksim_timing t;
    bksim_timing_typical(&t);
    double bound = bksim_lower_bound_s(&t, BK_CHIP_BK7231T, img, IMG_LEN, IMG_AT, 921600, false);
    printf("64 KiB at 921600: took %.3f s, lower bound %.3f s\n", took, bound);
    REQUIRE(took >= bound);
    bksim_stats st;
    bksim_get_stats(s, 0, &st);
    REQUIRE(st.busy_s > 0.2 + 16 * 16 * 0.00065 - 1e-9);
    close(fd);
    bksim_stop(s);
}

static void test_attached_master_lines(void)
{
    bksim_config cfg = {.count = 0, .seed = 3, .time_scale = 0};
    char err[256];
    bksim_server *s = bksim_start(&cfg, err, sizeof err);
    REQUIRE(s);
    int mfd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    REQUIRE(mfd >= 0 && grantpt(mfd) == 0 && unlockpt(mfd) == 0);
    int sfd = ioctl(mfd, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    REQUIRE(sfd >= 0);
    struct termios tt;
    tcgetattr(sfd, &tt);
    cfmakeraw(&tt);
    cfsetspeed(&tt, B115200);
    tcsetattr(sfd, TCSANOW, &tt);
    bksim_module_config mc;
    bksim_module_config_default(&mc);
    mc.chip = BK_CHIP_BK7231N;
    int idx = bksim_attach_master(s, mfd, &mc);
    REQUIRE(idx == 0 && bksim_count(s) == 1);
    uint8_t rb[256];
    bk_frame fr;
    bksim_set_lines(s, idx, true, true); /* CEN held low */
    REQUIRE(cl_exchange(sfd, false, BK_CMD_LINK_CHECK, NULL, 0, rb, sizeof rb, &fr, 100) == 0);
    REQUIRE(bksim_get_state(s, idx) == BKSIM_OFF);
    bksim_set_lines(s, idx, false, false); /* released: the chip boots, the window opens */
    REQUIRE(cl_link(sfd, 1000));
    uint8_t reg[4];
    bk_put_le32(reg, 0x800000);
    REQUIRE(cl_exchange(sfd, false, BK_CMD_READ_REG, reg, 4, rb, sizeof rb, &fr, 1000));
    REQUIRE(bk_get_le32(fr.payload + 4) == 0x7231C);
    bksim_stop(s);
    close(sfd);
    close(mfd); /* the harness owns the master */
}

/* A fixture whose port has no modem lines and nobody power-cycles: reopening the port resets
 * nothing, the module stays in download mode at the baud it was last set to. */
static void test_open_keeps_state(const char *dir)
{
    bksim_module_config mc;
    bksim_module_config_default(&mc);
    mc.open_keeps_state = true;
    bksim_config cfg = {.count = 1, .link_dir = dir, .seed = 6, .time_scale = 0, .modules = &mc};
    char err[256];
    bksim_server *s = bksim_start(&cfg, err, sizeof err);
    REQUIRE(s);
    int fd = cl_open(bksim_link_path(s, 0), 115200);
    REQUIRE(fd >= 0 && cl_link(fd, 2000) && cl_switch_baud(fd, 921600, 20));
    close(fd);
    REQUIRE(wait_port(s, 0, false, 2000));
    fd = cl_open(bksim_link_path(s, 0), 115200);
    REQUIRE(fd >= 0);
    uint8_t rb[64];
    bk_frame fr;
    /* at 115200 the chip hears garbage and stays silent ... */
    REQUIRE(cl_exchange(fd, false, BK_CMD_LINK_CHECK, NULL, 0, rb, sizeof rb, &fr, 100) == 0);
    /* ... at its last baud it still answers: the open was no power-cycle */
    cl_set_baud(fd, 921600);
    REQUIRE(cl_exchange(fd, false, BK_CMD_LINK_CHECK, NULL, 0, rb, sizeof rb, &fr, 1000) == 8);
    bksim_stats st;
    bksim_get_stats(s, 0, &st);
    REQUIRE(st.resets == 1 && st.links == 1);
    close(fd);
    bksim_stop(s);
}

static void test_yank(const char *dir)
{
    bksim_module_config mc;
    bksim_module_config_default(&mc);
    char err[256];
    REQUIRE(bksim_fault_parse("yank-after=1", &mc.faults, err, sizeof err));
    bksim_config cfg = {.count = 1, .link_dir = dir, .seed = 4, .time_scale = 0, .modules = &mc};
    bksim_server *s = bksim_start(&cfg, err, sizeof err);
    REQUIRE(s);
    char link[300];
    snprintf(link, sizeof link, "%s", bksim_link_path(s, 0));
    int fd = cl_open(link, 115200);
    REQUIRE(fd >= 0 && cl_link(fd, 2000));
    uint8_t rb[256];
    bk_frame fr;
    static uint8_t wp[4 + 4096];
    bk_put_le32(wp, 0x12000);
    REQUIRE(cl_exchange(fd, true, BK_LCMD_WRITE_4K, wp, sizeof wp, rb, sizeof rb, &fr, 2000) == 15);
    uint8_t x[16];
    REQUIRE(cl_read(fd, x, sizeof x, 2000) == -1); /* hang-up, like a USB unplug */
    REQUIRE(access(link, F_OK) != 0);
    close(fd);
    bksim_stop(s);
}

int main(void)
{
    char dir[] = "/tmp/bksim_pty_XXXXXX";
    REQUIRE(mkdtemp(dir));
    test_flash_and_reopen(dir);
    test_attached_master_lines();
    test_yank(dir);
    test_open_keeps_state(dir);
    test_lower_bound_floor();
    rmdir(dir);
    printf("sim pty: ok\n");
    return 0;
}
