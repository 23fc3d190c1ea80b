/* central_conf.c - where the central database is and where its password comes from; see
 * central_conf.h. */
#include "central_conf.h"
#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "credentials.h"

enum { PASSFILE_MAX = 1 << 20 };

/* The secret (open at `fd`) as an owner-only memory file; its fd, or -1 with err. */
static int private_copy(int fd, const char *path, char *err, size_t errlen)
{
    int m = memfd_create("trayflash-pgpass", MFD_CLOEXEC);
    if (m < 0 || fchmod(m, 0600) < 0) {
        snprintf(err, errlen, "central database password file %s: a private copy: %s", path,
                 strerror(errno));
        if (m >= 0)
            close(m);
        return -1;
    }
    char buf[4096];
    ssize_t n;
    size_t total = 0;
    while ((n = read(fd, buf, sizeof buf)) > 0 && (total += (size_t)n) <= PASSFILE_MAX)
        if (write(m, buf, (size_t)n) != n)
            n = -1;
    if (n < 0 || total > PASSFILE_MAX) {
        snprintf(err, errlen, "central database password file %s: %s", path,
                 n < 0 ? strerror(errno) : "larger than 1 MiB");
        close(m);
        return -1;
    }
    return m;
}

bool central_conninfo_has_password(const char *conninfo, char *err, size_t errlen)
{
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo ? conninfo : "", &perr);
    if (!opts) {
        snprintf(err, errlen, "%s", perr ? perr : "out of memory");
        size_t n = strlen(err);
        while (n && err[n - 1] == '\n')
            err[--n] = 0;
        PQfreemem(perr);
        return false;
    }
    bool has = false;
    for (PQconninfoOption *o = opts; o->keyword; o++)
        if (!strcmp(o->keyword, "password") && o->val && *o->val)
            has = true;
    PQconninfoFree(opts);
    err[0] = 0;
    return has;
}

static bool libpq_environment(void)
{
    static const char *const vars[] = {"PGSERVICE", "PGHOST", "PGDATABASE", "PGHOSTADDR"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v)
            return true;
    }
    return false;
}

/* The passfile: the credential, else the station file's; checked like every secret. */
static int find_passfile(const station_config *cfg, central_conf *out, char *err, size_t errlen)
{
    const char *configured = cfg && cfg->central_passfile[0] ? cfg->central_passfile : NULL;
    char path[SC_PATH_MAX], why[600];
    bool from_creds = false;
    tf_cred_error e = tf_credential_path_env("pgpass", configured, path, sizeof path, &from_creds,
                                             why, sizeof why);
    if (e == TF_CRED_NOT_FOUND)
        return 0; /* libpq's own (PGPASSFILE, ~/.pgpass) */
    if (e != TF_CRED_OK) {
        snprintf(err, errlen, "central database password file: %s (%s)", why, tf_cred_error_remedy(e));
        return -1;
    }
    int fd;
    e = tf_secret_open(path, geteuid(), &fd, why, sizeof why);
    if (e != TF_CRED_OK) {
        snprintf(err, errlen, "central database password file: %s (%s)", why, tf_cred_error_remedy(e));
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) == 0 && (sb.st_mode & (S_IRWXG | S_IRWXO))) {
        /* an ACL's mask (checked above): libpq would ignore the file, so it gets a copy */
        out->passfile_fd = private_copy(fd, path, err, errlen);
        close(fd);
        if (out->passfile_fd < 0)
            return -1;
        snprintf(out->passfile, sizeof out->passfile, "/proc/self/fd/%d", out->passfile_fd);
        return 0;
    }
    close(fd);
    snprintf(out->passfile, sizeof out->passfile, "%s", path);
    return 0;
}

int central_conf_resolve(const char *cli_url, const station_config *cfg, central_conf *out,
                         char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->passfile_fd = -1;
    const char *url = NULL;
    if (cli_url) {
        url = cli_url;
        snprintf(out->from, sizeof out->from, "--central");
    } else if (cfg && cfg->central[0]) {
        url = cfg->central;
        snprintf(out->from, sizeof out->from, "station file");
    } else if (libpq_environment()) {
        url = "";
        snprintf(out->from, sizeof out->from, "environment");
    } else {
        return 0;
    }
    char perr[256];
    if (central_conninfo_has_password(url, perr, sizeof perr)) {
        snprintf(err, errlen, "%s: the central database's URL holds a password; give it without "
                 "one and put the password in a passfile (the systemd credential pgpass, "
                 "central_passfile, or PGPASSFILE): docs/factory.md", out->from);
        return -1;
    }
    if (perr[0]) {
        snprintf(err, errlen, "%s: central database URL: %s", out->from, perr);
        return -1;
    }
    snprintf(out->conninfo, sizeof out->conninfo, "%s", url);
    out->configured = true;
    return find_passfile(cfg, out, err, errlen);
}

void central_conf_close(central_conf *conf)
{
    if (conf->passfile_fd >= 0)
        close(conf->passfile_fd);
    conf->passfile_fd = -1;
}

central_target central_conf_target(const central_conf *conf, const char *application_name)
{
    return (central_target){.conninfo = conf->conninfo,
                            .passfile = conf->passfile[0] ? conf->passfile : NULL,
                            .application_name = application_name};
}
