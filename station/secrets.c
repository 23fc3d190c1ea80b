/* secrets.c - reading the secrets file; see secrets.h. */
#include "secrets.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include "credentials.h"

#define SECRETS_MAX (64u << 10)
#define SECRETS_N 64

struct tf_secrets {
    char *text;              /* the file, NUL-split into names and values in place */
    size_t len;
    const char *name[SECRETS_N], *value[SECRETS_N];
    int n;
    char id[33];
};

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

/* Splits the text into NAME = value lines; false with err naming the line. */
static bool parse(tf_secrets *s, const char *where, char *err, size_t errlen)
{
    int line = 0;
    for (char *p = s->text, *next; p && *p; p = next) {
        line++;
        next = strchr(p, '\n');
        if (next)
            *next++ = '\0';
        char *t = trim(p);
        if (!*t || *t == '#' || *t == ';')
            continue;
        char *eq = strchr(t, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%d: expected NAME = value", where, line);
            return false;
        }
        *eq = '\0';
        char *name = trim(t), *value = trim(eq + 1);
        bool ok = *name != '\0';
        for (char *c = name; ok && *c; c++)
            ok = isalnum((unsigned char)*c) || *c == '_' || *c == '-';
        if (!ok || s->n == SECRETS_N || tf_secrets_get(s, name)) {
            snprintf(err, errlen, "%s:%d: %s", where, line,
                     !ok ? "a secret's name is letters, digits, _ and -"
                         : s->n == SECRETS_N ? "too many secrets" : "the name repeats");
            return false;
        }
        s->name[s->n] = name;
        s->value[s->n++] = value;
    }
    return true;
}

static bool read_fd(int fd, tf_secrets *s, char *err, size_t errlen, const char *path)
{
    s->text = malloc(SECRETS_MAX + 1);
    if (!s->text) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, s->text + got, SECRETS_MAX - got);
        if (n < 0) {
            snprintf(err, errlen, "%s: cannot be read", path);
            return false;
        }
        if (n == 0)
            break;
        got += (size_t)n;
        if (got == SECRETS_MAX) {
            snprintf(err, errlen, "%s: larger than %u bytes: not a secrets file", path, SECRETS_MAX);
            return false;
        }
    }
    s->text[got] = '\0';
    s->len = got;
    return true;
}

tf_secrets *tf_secrets_load(const char *spec, char *err, size_t errlen)
{
    static const char cred[] = "credential:";
    char path[4096];
    if (!strncmp(spec, cred, sizeof cred - 1)) {
        tf_cred_error e = tf_credential_path_env(spec + sizeof cred - 1, NULL, path, sizeof path,
                                                 NULL, err, errlen);
        if (e != TF_CRED_OK)
            return NULL;
    } else {
        snprintf(path, sizeof path, "%s", spec);
    }
    int fd = -1;
    if (tf_secret_open(path, geteuid(), &fd, err, errlen) != TF_CRED_OK)
        return NULL;
    tf_secrets *s = calloc(1, sizeof *s);
    bool ok = s && read_fd(fd, s, err, errlen, path) && parse(s, path, err, errlen);
    close(fd);
    unsigned char rnd[16];
    if (ok && getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
        snprintf(err, errlen, "no random bytes for the secrets' id");
        ok = false;
    }
    if (!ok) {
        if (!s)
            snprintf(err, errlen, "out of memory");
        tf_secrets_free(s);
        return NULL;
    }
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(s->id + 2 * i, 3, "%02x", rnd[i]);
    return s;
}

const char *tf_secrets_get(const tf_secrets *s, const char *name)
{
    for (int i = 0; s && i < s->n; i++)
        if (!strcmp(s->name[i], name))
            return s->value[i];
    return NULL;
}

const char *tf_secrets_lookup(void *ctx, const char *name)
{
    return tf_secrets_get(ctx, name);
}

const char *tf_secrets_id(const tf_secrets *s)
{
    return s->id;
}

void tf_secrets_free(tf_secrets *s)
{
    if (!s)
        return;
    if (s->text)
        explicit_bzero(s->text, s->len);
    free(s->text);
    explicit_bzero(s, sizeof *s);
    free(s);
}
