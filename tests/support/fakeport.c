/* fakeport.c - plug/unplug a fake USB-serial adapter into a umockdev testbed, with modem
 * lines emulated by an ioctl handler.
 *
 * Why our own pty and not umockdev's "N:" node: umockdev 0.17.16 can never re-add a node
 * name it created (so no re-plug), and it cfmakeraw()s its ptys, which would hide a program
 * that forgets raw mode. Our pty starts cooked (ICANON ECHO IXON ...) like a new ttyUSB.
 * Why TIOCGPTPEER for the keeper fd: under the preload every open() of a /dev path takes one
 * of 50 fd-map slots and the process aborts beyond them; an ioctl on the master takes none.
 * The keeper fd keeps the master from seeing POLLHUP/EIO between the program's opens. */
#include "fakeport.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct fakeport {
    UMockdevTestbed *tb; /* one reference, dropped in fakeport_free */
    UMockdevIoctlBase *handler;
    fakeport_adapter adapter;
    char devnode[48];
    char syspath[512];
    char link_path[1024]; /* <testbed root>/dev/<tty> */
    int master_fd;
    int keeper_fd;

    /* shared with umockdev's worker thread */
    pthread_mutex_t lock;
    pthread_cond_t lines_changed;
    int modem_bits; /* TIOCM_DTR | TIOCM_RTS as set by the program */
    bool plugged;
    fakeport_lines_fn on_lines;
    void *user;
};

static void fakeport_error(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Applies a modem-bit change and tells the callback, outside the lock so the callback may
 * call the getters. Runs on the worker thread only, so changes are reported in order. */
static void fakeport_lines_to(fakeport *p, int new_bits)
{
    pthread_mutex_lock(&p->lock);
    int old = p->modem_bits;
    p->modem_bits = new_bits & (TIOCM_DTR | TIOCM_RTS);
    int now = p->modem_bits;
    fakeport_lines_fn fn = p->on_lines;
    void *user = p->user;
    pthread_cond_broadcast(&p->lines_changed);
    pthread_mutex_unlock(&p->lock);
    if (old != now && fn)
        fn(p, (now & TIOCM_DTR) != 0, (now & TIOCM_RTS) != 0, user);
}

static gboolean fakeport_on_ioctl(UMockdevIoctlBase *base, UMockdevIoctlClient *client, gpointer data)
{
    fakeport *p = data;
    gulong request = umockdev_ioctl_client_get_request(client);
    pthread_mutex_lock(&p->lock);
    bool plugged = p->plugged;
    int bits = p->modem_bits;
    pthread_mutex_unlock(&p->lock);
    if (!plugged) { /* a hung-up tty fails every ioctl with EIO */
        umockdev_ioctl_client_complete(client, -1, EIO);
        return TRUE;
    }
    if (request != TIOCMGET && request != TIOCMSET && request != TIOCMBIS && request != TIOCMBIC) {
        /* termios, TIOCINQ, TCFLSH, TCSBRK, TCGETS2 ...: the real pty answers */
        int err = 0;
        GError *gerr = NULL;
        int r = umockdev_ioctl_client_execute(client, &err, &gerr);
        if (gerr) {
            g_error_free(gerr);
            r = -1;
            err = EIO;
        }
        umockdev_ioctl_client_complete(client, r, err);
        return TRUE;
    }
    GError *gerr = NULL;
    UMockdevIoctlData *arg =
        umockdev_ioctl_data_resolve(umockdev_ioctl_client_get_arg(client), 0, sizeof(int), &gerr);
    if (!arg) {
        if (gerr)
            g_error_free(gerr);
        umockdev_ioctl_client_complete(client, -1, EFAULT);
        return TRUE;
    }
    int *value = (int *)arg->data;
    if (request == TIOCMGET) {
        /* the far side is "present": CTS, DSR and carrier up */
        *value = bits | TIOCM_CTS | TIOCM_DSR | TIOCM_CD;
    } else {
        int wanted = *value & (TIOCM_DTR | TIOCM_RTS);
        if (request == TIOCMSET)
            bits = wanted;
        else if (request == TIOCMBIS)
            bits |= wanted;
        else
            bits &= ~wanted;
        /* before completing: the program's ioctl returns only after the callback ran */
        fakeport_lines_to(p, bits);
    }
    umockdev_ioctl_client_complete(client, 0, 0); /* copies *value back for TIOCMGET */
    umockdev_ioctl_data_unref(arg);
    return TRUE;
}

/* The kernel raises DTR and RTS on every open of a ttyUSB/ttyACM (tty_port_block_til_ready),
 * so on auto-reset boards opening the port is already a reset edge. The drop on close
 * (HUPCL) cannot be emulated: 0.17.16 never reports a client going away. */
static void fakeport_on_open(UMockdevIoctlBase *base, UMockdevIoctlClient *client, gpointer data)
{
    fakeport *p = data;
    pthread_mutex_lock(&p->lock);
    int bits = p->modem_bits | TIOCM_DTR | TIOCM_RTS;
    bool plugged = p->plugged;
    pthread_mutex_unlock(&p->lock);
    if (plugged)
        fakeport_lines_to(p, bits);
}

static int fakeport_make_pty(fakeport *p, char *err, size_t errlen)
{
    p->master_fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (p->master_fd < 0 || grantpt(p->master_fd) < 0 || unlockpt(p->master_fd) < 0) {
        fakeport_error(err, errlen, "fakeport %s: cannot make a pty: %s", p->devnode, strerror(errno));
        return -1;
    }
    p->keeper_fd = ioctl(p->master_fd, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (p->keeper_fd < 0) {
        fakeport_error(err, errlen, "fakeport %s: TIOCGPTPEER: %s", p->devnode, strerror(errno));
        return -1;
    }
    char slave[64];
    if (ptsname_r(p->master_fd, slave, sizeof slave) != 0) {
        fakeport_error(err, errlen, "fakeport %s: ptsname: %s", p->devnode, strerror(errno));
        return -1;
    }
    gchar *root = umockdev_testbed_get_root_dir(p->tb);
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/dev", root);
    int n = snprintf(p->link_path, sizeof p->link_path, "%s/dev/%s", root, p->adapter.tty);
    g_free(root);
    if (n < 0 || (size_t)n >= sizeof p->link_path) {
        fakeport_error(err, errlen, "fakeport %s: testbed path too long", p->devnode);
        p->link_path[0] = 0;
        return -1;
    }
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        fakeport_error(err, errlen, "fakeport: mkdir %s: %s", dir, strerror(errno));
        return -1;
    }
    if (symlink(slave, p->link_path) < 0) {
        fakeport_error(err, errlen, "fakeport: symlink %s: %s", p->link_path, strerror(errno));
        p->link_path[0] = 0;
        return -1;
    }
    return 0;
}

static void fakeport_close_fds(fakeport *p)
{
    if (p->keeper_fd >= 0)
        close(p->keeper_fd);
    if (p->master_fd >= 0)
        close(p->master_fd);
    p->keeper_fd = p->master_fd = -1;
}

fakeport *fakeport_plug(UMockdevTestbed *tb, const fakeport_adapter *a, fakeport_lines_fn on_lines,
                        void *user, char *err, size_t errlen)
{
    fakeport *p = calloc(1, sizeof *p);
    if (!p) {
        fakeport_error(err, errlen, "fakeport %s: out of memory", a->tty);
        return NULL;
    }
    p->tb = g_object_ref(tb);
    p->adapter = *a;
    p->master_fd = p->keeper_fd = -1;
    p->on_lines = on_lines;
    p->user = user;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->lines_changed, NULL);
    snprintf(p->devnode, sizeof p->devnode, "/dev/%s", a->tty);
    if (fakeport_tty_syspath(a, p->syspath, sizeof p->syspath) < 0) {
        fakeport_error(err, errlen, "fakeport %s: sysfs path too long", p->devnode);
        goto fail;
    }
    if (fakeport_make_pty(p, err, errlen) < 0)
        goto fail;

    /* The preload picks an fd's handler at open() time, so the handler goes on before the
     * "add" uevent can make the program open the node. */
    p->handler = umockdev_ioctl_base_new();
    g_signal_connect(p->handler, "handle-ioctl", G_CALLBACK(fakeport_on_ioctl), p);
    g_signal_connect(p->handler, "client-connected", G_CALLBACK(fakeport_on_open), p);
    GError *gerr = NULL;
    if (!umockdev_testbed_attach_ioctl(tb, p->devnode, p->handler, &gerr)) {
        fakeport_error(err, errlen, "fakeport %s: attach ioctl handler: %s", p->devnode,
                       gerr ? gerr->message : "?");
        if (gerr)
            g_error_free(gerr);
        goto fail;
    }
    p->plugged = true;

    char desc[8192];
    if (fakeport_describe(a, false, desc, sizeof desc) < 0) {
        fakeport_error(err, errlen, "fakeport %s: description longer than %zu bytes", p->devnode, sizeof desc);
        goto fail_attached;
    }
    if (!umockdev_testbed_add_from_string(tb, desc, &gerr)) {
        fakeport_error(err, errlen, "fakeport %s: add sysfs devices: %s", p->devnode,
                       gerr ? gerr->message : "?");
        if (gerr)
            g_error_free(gerr);
        goto fail_attached;
    }
    return p;

fail_attached:
    p->plugged = false;
    umockdev_testbed_detach_ioctl(tb, p->devnode, NULL);
fail:
    if (p->handler) {
        g_signal_handlers_disconnect_by_data(p->handler, p);
        g_object_unref(p->handler);
    }
    if (p->link_path[0])
        unlink(p->link_path);
    fakeport_close_fds(p);
    g_object_unref(p->tb);
    pthread_cond_destroy(&p->lines_changed);
    pthread_mutex_destroy(&p->lock);
    free(p);
    return NULL;
}

void fakeport_set_lines_callback(fakeport *p, fakeport_lines_fn on_lines, void *user)
{
    pthread_mutex_lock(&p->lock);
    p->on_lines = on_lines;
    p->user = user;
    pthread_mutex_unlock(&p->lock);
}

int fakeport_master_fd(const fakeport *p)
{
    return p->master_fd;
}

const char *fakeport_devnode(const fakeport *p)
{
    return p->devnode;
}

const char *fakeport_syspath(const fakeport *p)
{
    return p->syspath;
}

const fakeport_adapter *fakeport_adapter_of(const fakeport *p)
{
    return &p->adapter;
}

bool fakeport_is_plugged(const fakeport *p)
{
    pthread_mutex_t *lock = (pthread_mutex_t *)&p->lock; /* logically const */
    pthread_mutex_lock(lock);
    bool plugged = p->plugged;
    pthread_mutex_unlock(lock);
    return plugged;
}

void fakeport_get_lines(fakeport *p, bool *dtr, bool *rts)
{
    pthread_mutex_lock(&p->lock);
    *dtr = (p->modem_bits & TIOCM_DTR) != 0;
    *rts = (p->modem_bits & TIOCM_RTS) != 0;
    pthread_mutex_unlock(&p->lock);
}

bool fakeport_wait_lines(fakeport *p, bool dtr, bool rts, int timeout_ms)
{
    int want = (dtr ? TIOCM_DTR : 0) | (rts ? TIOCM_RTS : 0);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until); /* pthread_cond_timedwait's default clock */
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&p->lock);
    int r = 0;
    while (p->modem_bits != want && r == 0)
        r = pthread_cond_timedwait(&p->lines_changed, &p->lock, &until);
    bool ok = p->modem_bits == want;
    pthread_mutex_unlock(&p->lock);
    return ok;
}

void fakeport_unplug(fakeport *p)
{
    pthread_mutex_lock(&p->lock);
    bool was = p->plugged;
    p->plugged = false;
    pthread_mutex_unlock(&p->lock);
    if (!was)
        return;
    /* Hang-up before "remove", as usb_serial_disconnect() does. */
    fakeport_close_fds(p);
    umockdev_testbed_uevent(p->tb, p->syspath, "remove");

    /* Leaf first: 0.17.16 leaves a child's /sys/bus and /sys/class links behind when a
     * parent is removed first, and the next plug of the same name then aborts. */
    /* tty -> [usb-serial port] -> interface -> usb device, by cutting the syspath */
    char path[sizeof p->syspath];
    snprintf(path, sizeof path, "%s", p->syspath);
    umockdev_testbed_remove_device(p->tb, path);
    char *cut = strstr(path, "/tty/");
    if (cut)
        *cut = 0;
    int levels = strncmp(p->adapter.tty, "ttyACM", 6) == 0 ? 2 : 3;
    for (int i = 0; cut && i < levels; i++) {
        umockdev_testbed_remove_device(p->tb, path);
        cut = strrchr(path, '/');
        if (cut)
            *cut = 0;
    }

    GError *gerr = NULL;
    umockdev_testbed_detach_ioctl(p->tb, p->devnode, &gerr);
    if (gerr)
        g_error_free(gerr);
    g_signal_handlers_disconnect_by_data(p->handler, p);
    g_object_unref(p->handler);
    p->handler = NULL;
    if (p->link_path[0])
        unlink(p->link_path); /* lets the same name be plugged again */
    p->link_path[0] = 0;
}

void fakeport_free(fakeport *p)
{
    if (!p)
        return;
    fakeport_unplug(p);
    g_object_unref(p->tb);
    pthread_cond_destroy(&p->lines_changed);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
