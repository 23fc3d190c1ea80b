/* hp_harness.c - see hp_harness.h. */
#include "hp_harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include "bk_image.h"

/* ---- headless lines ------------------------------------------------------------------- */

static void hp_lines_append(hp_lines *l, const char *buf, size_t n)
{
    pthread_mutex_lock(&l->lock);
    if (l->len + n + 1 > l->cap) {
        size_t ncap = (l->len + n + 1) * 2;
        char *nt = realloc(l->text, ncap);
        if (!nt) { /* keep what we have: a later wait will time out and say so */
            pthread_mutex_unlock(&l->lock);
            return;
        }
        l->text = nt;
        l->cap = ncap;
    }
    size_t start = l->len;
    memcpy(l->text + l->len, buf, n);
    l->len += n;
    l->text[l->len] = 0;
    for (size_t i = start; i < l->len; i++)
        if (l->text[i] == '\n')
            l->n_lines++;
    pthread_cond_broadcast(&l->grew);
    pthread_mutex_unlock(&l->lock);
    if (l->echo && fwrite(buf, 1, n, stderr) != n)
        l->echo = false;
}

static void *hp_lines_main(void *arg)
{
    hp_lines *l = arg;
    char buf[4096];
    for (;;) {
        ssize_t n = read(l->rd, buf, sizeof buf);
        if (n > 0) {
            hp_lines_append(l, buf, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        break; /* EOF: the station's side is closed */
    }
    pthread_mutex_lock(&l->lock);
    l->eof = true;
    pthread_cond_broadcast(&l->grew);
    pthread_mutex_unlock(&l->lock);
    return NULL;
}

int hp_lines_start(hp_lines *l, char *err, size_t errlen)
{
    memset(l, 0, sizeof *l);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    l->rd = fds[0];
    l->wr = fds[1];
    l->out = fdopen(l->wr, "w");
    l->text = calloc(1, 4096);
    l->cap = 4096;
    const char *echo = getenv("HP_ECHO");
    l->echo = echo && *echo == '1';
    pthread_mutex_init(&l->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&l->grew, &ca);
    pthread_condattr_destroy(&ca);
    if (!l->out || !l->text || pthread_create(&l->thread, NULL, hp_lines_main, l)) {
        snprintf(err, errlen, "headless capture: cannot start");
        return -1;
    }
    return 0;
}

void hp_lines_finish(hp_lines *l)
{
    if (l->out) {
        fclose(l->out); /* closes wr: the reader gets EOF */
        l->out = NULL;
        pthread_join(l->thread, NULL);
        close(l->rd);
    }
}

void hp_lines_free(hp_lines *l)
{
    hp_lines_finish(l);
    free(l->text);
    l->text = NULL;
    pthread_cond_destroy(&l->grew);
    pthread_mutex_destroy(&l->lock);
}

static bool hp_line_matches(const char *line, size_t len, const char *a, const char *b,
                            const char *c)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%.*s", (int)(len < sizeof buf ? len : sizeof buf - 1), line);
    return (!a || strstr(buf, a)) && (!b || strstr(buf, b)) && (!c || strstr(buf, c));
}

/* Under the lock: index of the first matching complete line at >= from, or -1. */
static int hp_lines_find_locked(hp_lines *l, int from, const char *a, const char *b,
                                const char *c)
{
    int i = 0;
    for (const char *p = l->text; p && *p; i++) {
        const char *nl = strchr(p, '\n');
        if (!nl)
            break; /* incomplete line: not yet */
        if (i >= from && hp_line_matches(p, (size_t)(nl - p), a, b, c))
            return i;
        p = nl + 1;
    }
    return -1;
}

int hp_lines_wait(hp_lines *l, int from, int timeout_ms, const char *a, const char *b,
                  const char *c)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&l->lock);
    int found;
    while ((found = hp_lines_find_locked(l, from, a, b, c)) < 0 && !l->eof)
        if (pthread_cond_timedwait(&l->grew, &l->lock, &until) == ETIMEDOUT) {
            found = hp_lines_find_locked(l, from, a, b, c);
            break;
        }
    pthread_mutex_unlock(&l->lock);
    return found;
}

int hp_lines_count(hp_lines *l, const char *a, const char *b, const char *c)
{
    pthread_mutex_lock(&l->lock);
    int n = 0;
    for (const char *p = l->text; p && *p;) {
        const char *nl = strchr(p, '\n');
        if (!nl)
            break;
        if (hp_line_matches(p, (size_t)(nl - p), a, b, c))
            n++;
        p = nl + 1;
    }
    pthread_mutex_unlock(&l->lock);
    return n;
}

int hp_lines_total(hp_lines *l)
{
    pthread_mutex_lock(&l->lock);
    int n = l->n_lines;
    pthread_mutex_unlock(&l->lock);
    return n;
}

void hp_lines_get(hp_lines *l, int i, char *buf, size_t len)
{
    buf[0] = 0;
    pthread_mutex_lock(&l->lock);
    int k = 0;
    for (const char *p = l->text; p && *p; k++) {
        const char *nl = strchr(p, '\n');
        if (!nl)
            break;
        if (k == i) {
            size_t n = (size_t)(nl - p);
            snprintf(buf, len, "%.*s", (int)(n < len ? n : len - 1), p);
            break;
        }
        p = nl + 1;
    }
    pthread_mutex_unlock(&l->lock);
}

void hp_lines_dump(hp_lines *l, const char *why)
{
    pthread_mutex_lock(&l->lock);
    fprintf(stderr, "---- headless lines (%s) ----\n%s---- end ----\n", why,
            l->text ? l->text : "");
    pthread_mutex_unlock(&l->lock);
}

/* ---- adapters ----------------------------------------------------------------------------- */

/* umockdev's worker thread, before the program's ioctl returns. */
static void hp_on_lines(fakeport *port, bool dtr, bool rts, void *user)
{
    (void)port;
    hp_adapter *h = user;
    pthread_mutex_lock(&h->lock);
    if (rts && !h->last_rts) /* fakeport reports changes only: RTS up is a reset starting */
        h->rts_rises++;
    if (dtr && !h->last_dtr)
        h->dtr_rises++;
    h->last_rts = rts;
    h->last_dtr = dtr;
    bool cen = h->cen == HP_CEN_DTR ? dtr : rts; /* asserted: the module held in reset */
    if (h->sim_idx >= 0 && h->cen != HP_CEN_NONE) {
        if (h->held && cen)
            h->held = false; /* the program's reset: from its release on, the chip follows */
        if (!h->held)
            bksim_set_lines(h->sim, h->sim_idx, dtr, cen);
    }
    pthread_mutex_unlock(&h->lock);
}

int hp_adapter_plug(hp_adapter *h, UMockdevTestbed *tb, bksim_server *sim,
                    const fakeport_adapter *a, const bksim_module_config *mc, char *err,
                    size_t errlen)
{
    return hp_adapter_plug_wired(h, tb, sim, a, mc, HP_CEN_RTS, false, err, errlen);
}

int hp_adapter_plug_wired(hp_adapter *h, UMockdevTestbed *tb, bksim_server *sim,
                          const fakeport_adapter *a, const bksim_module_config *mc,
                          hp_cen cen, bool unpowered, char *err, size_t errlen)
{
    memset(h, 0, sizeof *h);
    pthread_mutex_init(&h->lock, NULL);
    h->sim = sim;
    h->sim_idx = -1;
    h->cen = cen;
    /* "add" goes out here: the station may open the port (and move its lines) before the
     * module is attached; hp_on_lines keeps the last state and attach applies it. */
    h->port = fakeport_plug(tb, a, hp_on_lines, h, err, errlen);
    if (!h->port)
        return -1;
    int master = fakeport_master_fd(h->port);
    bksim_module_config def;
    if (!mc) {
        bksim_module_config_default(&def);
        mc = &def;
    }
    int idx = bksim_attach_master(sim, master, mc);
    if (idx < 0) {
        snprintf(err, errlen, "%s: bksim_attach_master failed", a->tty);
        return -1;
    }
    /* bksim powers a module up at attach, but the station may have opened the port (and
     * pulsed CEN) already: hold the chip in reset until the program's next CEN, so it is
     * the program's reset pulse that starts it (the engine pulses again after each failed
     * link attempt), never the attach. */
    if (unpowered)
        bksim_set_power(sim, idx, false);
    pthread_mutex_lock(&h->lock);
    h->sim_idx = idx;
    if (cen != HP_CEN_NONE) { /* no wire to CEN: the module runs as it was powered */
        bool dtr, rts;
        fakeport_get_lines(h->port, &dtr, &rts);
        bksim_set_lines(sim, idx, dtr, true);
        h->held = !(cen == HP_CEN_DTR ? dtr : rts);
    }
    pthread_mutex_unlock(&h->lock);
    return 0;
}

void hp_adapter_unplug(hp_adapter *h)
{
    if (!h->port || !fakeport_is_plugged(h->port))
        return;
    pthread_mutex_lock(&h->lock);
    /* The module loses power with its adapter, and bksim lets go of the pty before the
     * support library closes it, so it never touches a reused fd number. */
    if (h->sim_idx >= 0) {
        bksim_set_lines(h->sim, h->sim_idx, false, true);
        bksim_detach(h->sim, h->sim_idx);
    }
    h->last_sim_idx = h->sim_idx;
    h->sim_idx = -1;
    pthread_mutex_unlock(&h->lock);
    fakeport_unplug(h->port);
}

void hp_adapter_free(hp_adapter *h)
{
    if (!h->port)
        return;
    hp_adapter_unplug(h);
    fakeport_free(h->port);
    h->port = NULL;
    pthread_mutex_destroy(&h->lock);
}

int hp_adapter_rts_rises(hp_adapter *h)
{
    pthread_mutex_lock(&h->lock);
    int n = h->rts_rises;
    pthread_mutex_unlock(&h->lock);
    return n;
}

int hp_adapter_dtr_rises(hp_adapter *h)
{
    pthread_mutex_lock(&h->lock);
    int n = h->dtr_rises;
    pthread_mutex_unlock(&h->lock);
    return n;
}

int hp_adapter_sim_idx(hp_adapter *h)
{
    pthread_mutex_lock(&h->lock);
    int i = h->sim_idx >= 0 ? h->sim_idx : h->last_sim_idx;
    pthread_mutex_unlock(&h->lock);
    return i;
}

/* ---- files, database, process ------------------------------------------------------------ */

int hp_tempdir(char *dir, size_t len, const char *tag)
{
    snprintf(dir, len, "/tmp/tf-%s-XXXXXX", tag);
    return mkdtemp(dir) ? 0 : -1;
}

void hp_rmtree(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

int hp_make_profile(const char *dir, int kib, uint32_t seed, char *profile, size_t len,
                    char *err, size_t errlen)
{
    size_t n = (size_t)kib * 1024;
    uint8_t *img = malloc(n);
    if (!img) {
        snprintf(err, errlen, "out of memory for a %d KiB image", kib);
        return -1;
    }
    uint32_t x = seed;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        img[i] = (uint8_t)(x >> 16);
    }
    char path[600], sha[65];
    snprintf(path, sizeof path, "%s/hp.bin", dir);
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(img, 1, n, f) == n;
    if (f && fclose(f) != 0)
        ok = false;
    bk_sha256_hex(img, n, sha);
    free(img);
    if (!ok) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    snprintf(profile, len, "%s/hp.ini", dir);
    f = fopen(profile, "w");
    if (!f) {
        snprintf(err, errlen, "%s: %s", profile, strerror(errno));
        return -1;
    }
    fprintf(f, "[profile]\nname = hotplug\nproduct = hp-plug\nchip = bk7231t\nbaud = 921600\n"
               "image = hp.bin\noffset = 0x11000\nsha256 = %s\n", sha);
    if (fclose(f) != 0) {
        snprintf(err, errlen, "%s: %s", profile, strerror(errno));
        return -1;
    }
    return 0;
}

static int hp_count_dir(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

int hp_count_threads(void)
{
    return hp_count_dir("/proc/self/task");
}

/* How many fds of this process socket `inode` stands for in the testbed's ioctl plumbing
 * (sockets bound under $UMOCKDEV_DIR/ioctl/): 1 for a listener (one per attached node,
 * closed by umockdev's worker in its own time), 2 for an accepted connection (its client
 * end is the preload's, in this process too), 0 for anything else, -1 if it is gone (closed
 * since its fd was listed). */
static int hp_umockdev_weight(unsigned long inode)
{
    const char *dir = getenv("UMOCKDEV_DIR");
    char prefix[600];
    snprintf(prefix, sizeof prefix, "%s/ioctl/", dir ? dir : "/nonexistent");
    FILE *f = fopen("/proc/net/unix", "r");
    char line[800];
    int weight = -1;
    while (f && fgets(line, sizeof line, f)) {
        unsigned long ino, flags;
        char path[600] = "";
        if (sscanf(line, "%*s %*s %*s %lx %*s %*s %lu %599s", &flags, &ino, path) < 2 ||
            ino != inode)
            continue;
        weight = 0;
        if (!strncmp(path, prefix, strlen(prefix)))
            weight = (flags & 0x10000) /* __SO_ACCEPTCON: listening */ ? 1 : 2;
        break;
    }
    if (f)
        fclose(f);
    return weight;
}

int hp_count_fds(int *umockdev_fds)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int n = 0, testbed = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d))
            continue;
        char p[300], target[128];
        snprintf(p, sizeof p, "/proc/self/fd/%s", e->d_name);
        ssize_t len = readlink(p, target, sizeof target - 1);
        if (len <= 0)
            continue; /* closed while we looked (the testbed's worker tidying up) */
        target[len] = 0;
        unsigned long inode;
        int weight = 0;
        if (sscanf(target, "socket:[%lu]", &inode) == 1 && (weight = hp_umockdev_weight(inode)) < 0)
            continue; /* a socket closed while we looked */
        n++;
        testbed += weight;
    }
    closedir(d);
    if (umockdev_fds)
        *umockdev_fds = testbed;
    return n;
}

/* The bound path of a unix socket (accepted ones show their listener's), for leak messages. */
static void hp_print_unix_path(unsigned long inode)
{
    FILE *f = fopen("/proc/net/unix", "r");
    char line[600];
    while (f && fgets(line, sizeof line, f)) {
        unsigned long ino;
        char path[512] = "";
        if (sscanf(line, "%*s %*s %*s %*s %*s %*s %lu %511s", &ino, path) >= 1 && ino == inode) {
            fprintf(stderr, " %s", path[0] ? path : "(unbound)");
            break;
        }
    }
    if (f)
        fclose(f);
}

void hp_list_fds(char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = 0;
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d))
            continue;
        char p[300], target[256];
        snprintf(p, sizeof p, "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(p, target, sizeof target - 1);
        target[n > 0 ? n : 0] = 0;
        int w = snprintf(buf + used, len - used, "  %s -> %s\n", e->d_name, target);
        if (w < 0 || (size_t)w >= len - used)
            break;
        used += (size_t)w;
    }
    if (d)
        closedir(d);
}

void hp_dump_fds(const char *why)
{
    fprintf(stderr, "---- open fds (%s) ----\n", why);
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p[300], target[512];
        snprintf(p, sizeof p, "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(p, target, sizeof target - 1);
        target[n > 0 ? n : 0] = 0;
        fprintf(stderr, "  %s -> %s", e->d_name, target);
        unsigned long inode;
        if (sscanf(target, "socket:[%lu]", &inode) == 1)
            hp_print_unix_path(inode);
        fputc('\n', stderr);
    }
    if (d)
        closedir(d);
}
