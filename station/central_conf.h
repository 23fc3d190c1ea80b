/* central_conf.h - where the central database is, for the station, demo, sync and central
 * commands: `--central URL`, else the station file's `central =`, else libpq's own environment
 * (PGSERVICE, PGHOST, PGDATABASE) when one of those is set; else there is none (the station
 * records and queues, and forwards nothing).
 *
 * The password never comes from a command line or the station file: a URL holding one is
 * refused, with the remedy. It comes from a passfile: the systemd credential `pgpass`
 * ($CREDENTIALS_DIRECTORY/pgpass, LoadCredential=), else the station file's `central_passfile`,
 * else libpq's own (PGPASSFILE, ~/.pgpass). A passfile others could read is refused, as every
 * secret is (credentials.h). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "central.h"
#include "station_config.h"

typedef struct central_conf {
    bool configured;               /* a central database is named (or libpq's environment) */
    char conninfo[SC_PATH_MAX];    /* "" = libpq's environment */
    char passfile[SC_PATH_MAX];    /* "" = libpq's own */
    char from[32];                 /* "--central", "station file", "environment": for messages */
    int passfile_fd;               /* >= 0: passfile is an owner-only copy held by this fd
                                      (central_conf_close); -1 otherwise */
} central_conf;

/* cli_url: --central (NULL if not given); cfg: the station file (NULL: none). -1 with err.
 * libpq ignores a passfile whose mode has group bits, and a systemd credential's ACL shows as
 * group bits: such a file (checked by tf_secret_open) is copied into an owner-only memory file
 * that libpq reads as /proc/self/fd/N. Close it with central_conf_close when done. */
int central_conf_resolve(const char *cli_url, const station_config *cfg, central_conf *out,
                         char *err, size_t errlen);
/* True when the libpq connection string or URL carries a password (it is parsed by libpq). A
 * string libpq cannot parse gives false with the parser's words in err. */
bool central_conninfo_has_password(const char *conninfo, char *err, size_t errlen);
void central_conf_close(central_conf *conf);
/* The resolved configuration as a target (pointers into conf). */
central_target central_conf_target(const central_conf *conf, const char *application_name);
