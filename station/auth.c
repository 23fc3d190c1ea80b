/* auth.c - engineer PIN hashing, checking and reading; see auth.h.
 *
 * crypt_ra allocates its own scratch (struct crypt_data is ~32 KiB): that keeps it off the
 * UI thread's stack and makes the functions reentrant. The scratch holds the PIN's derived
 * state, so it is wiped before it is freed. */
#include "auth.h"
#include <crypt.h>
#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define AUTH_PIN_MIN 4

void auth_wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

static bool pin_ok(const char *pin, char *err, size_t errlen)
{
    size_t n = strlen(pin);
    if (n < AUTH_PIN_MIN || n >= AUTH_PIN_MAX) {
        snprintf(err, errlen, "a PIN has %d..%d characters", AUTH_PIN_MIN, AUTH_PIN_MAX - 1);
        return false;
    }
    for (size_t i = 0; i < n; i++)
        if (!isprint((unsigned char)pin[i])) {
            snprintf(err, errlen, "a PIN has printable characters only (character %zu is not)",
                     i + 1);
            return false;
        }
    return true;
}

static void free_scratch(void *data, int size)
{
    if (data)
        auth_wipe(data, (size_t)size);
    free(data);
}

int auth_pin_hash(const char *pin, char *hash, size_t hashlen, char *err, size_t errlen)
{
    if (!pin_ok(pin, err, errlen))
        return -1;
    /* count 0: libxcrypt's default cost for yescrypt; NULL rbytes: it asks the OS. */
    char *setting = crypt_gensalt_ra("$y$", 0, NULL, 0);
    if (!setting) {
        snprintf(err, errlen, "making a yescrypt salt: %s", strerror(errno));
        return -1;
    }
    void *data = NULL;
    int size = 0;
    const char *h = crypt_ra(pin, setting, &data, &size);
    free(setting);
    int rc = 0;
    if (!h || h[0] == '*') {
        snprintf(err, errlen, "yescrypt hashing failed: %s", strerror(errno));
        rc = -1;
    } else if (strlen(h) >= hashlen) {
        snprintf(err, errlen, "hash longer than %zu bytes", hashlen - 1);
        rc = -1;
    } else {
        memcpy(hash, h, strlen(h) + 1);
    }
    free_scratch(data, size);
    return rc;
}

bool auth_hash_usable(const char *hash, char *err, size_t errlen)
{
    if (!hash || hash[0] != '$') {
        snprintf(err, errlen, "not a crypt(3) hash (make one with `trayflash pin-hash`)");
        return false;
    }
    switch (crypt_checksalt(hash)) {
    case CRYPT_SALT_OK:
        break;
    case CRYPT_SALT_METHOD_LEGACY:
    case CRYPT_SALT_METHOD_DISABLED:
    case CRYPT_SALT_TOO_CHEAP:
        snprintf(err, errlen, "a weak or disabled hash method: use `trayflash pin-hash` (yescrypt)");
        return false;
    default:
        snprintf(err, errlen, "malformed crypt(3) hash (make one with `trayflash pin-hash`)");
        return false;
    }
    return true;
}

int auth_pin_check(const char *hash, const char *pin, bool *match, char *err, size_t errlen)
{
    *match = false;
    if (!auth_hash_usable(hash, err, errlen))
        return -1;
    void *data = NULL;
    int size = 0;
    const char *h = crypt_ra(pin, hash, &data, &size);
    if (!h || h[0] == '*') {
        snprintf(err, errlen, "the PIN hash could not be checked: %s", strerror(errno));
        free_scratch(data, size);
        return -1;
    }
    size_t hn = strlen(h), wn = strlen(hash);
    unsigned diff = hn != wn;
    for (size_t i = 0; i < hn && i < wn; i++)
        diff |= (unsigned)(h[i] ^ hash[i]);
    *match = diff == 0;
    free_scratch(data, size);
    return 0;
}

/* One line from fd, byte by byte so nothing past the newline is consumed. */
static int read_line_fd(int fd, char *out, size_t outlen, char *err, size_t errlen)
{
    size_t n = 0;
    bool too_long = false;
    for (;;) {
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, errlen, "reading the PIN: %s", strerror(errno));
            return -1;
        }
        if (r == 0 || c == '\n')
            break;
        if (n + 1 < outlen)
            out[n++] = c;
        else
            too_long = true;
    }
    if (n > 0 && out[n - 1] == '\r')
        n--;
    out[n] = '\0';
    if (too_long) {
        auth_wipe(out, outlen);
        snprintf(err, errlen, "a PIN has at most %zu characters", outlen - 1);
        return -1;
    }
    return 0;
}

int auth_read_pin(int in, FILE *tty_out, const char *prompt, char *pin, size_t pinlen, char *err,
                  size_t errlen)
{
    struct termios saved;
    bool tty = isatty(in) && tcgetattr(in, &saved) == 0;
    if (tty) {
        struct termios quiet = saved;
        quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
        if (tcsetattr(in, TCSAFLUSH, &quiet) != 0) {
            snprintf(err, errlen, "turning the terminal's echo off: %s", strerror(errno));
            return -1;
        }
        if (tty_out && prompt) {
            fputs(prompt, tty_out);
            fflush(tty_out);
        }
    }
    int rc = read_line_fd(in, pin, pinlen, err, errlen);
    if (tty) {
        tcsetattr(in, TCSAFLUSH, &saved);
        if (tty_out) {
            fputc('\n', tty_out); /* the user's Enter was not echoed */
            fflush(tty_out);
        }
    }
    if (rc == 0 && !pin_ok(pin, err, errlen)) {
        auth_wipe(pin, pinlen);
        rc = -1;
    }
    return rc;
}

void auth_os_user(char *out, size_t outlen)
{
    uid_t uid = geteuid();
    struct passwd pw, *res = NULL;
    char buf[1024];
    if (getpwuid_r(uid, &pw, buf, sizeof buf, &res) == 0 && res && res->pw_name[0])
        snprintf(out, outlen, "%s", res->pw_name);
    else
        snprintf(out, outlen, "uid %u", (unsigned)uid);
}
