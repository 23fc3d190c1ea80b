/* test_central_conf.c - where the central database and its password come from (unit):
 *   url_password  - a URL or key=value string with a password is refused (the command line and
 *                   the station file never carry one); without, it is taken as given
 *   precedence    - --central over the station file's central over libpq's environment; none
 *                   of them: no forwarding
 *   passfile_acl  - the systemd credential pgpass with an ACL for the station's user (its mode
 *                   then shows group bits, which libpq refuses) is handed to libpq as an
 *                   owner-only copy with the same lines; a plain 0600 file is used where it is;
 *                   one others can read is refused with words */
#include <acl/libacl.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/acl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "central_conf.h"
#include "check.h"

static int case_url_password(void)
{
    char err[300];
    CHECK(central_conninfo_has_password("postgresql://st:secret@db.example/trayflash", err, sizeof err));
    CHECK(central_conninfo_has_password("host=db password=x dbname=t", err, sizeof err));
    CHECK(!central_conninfo_has_password("postgresql://st@db.example/trayflash?sslmode=verify-full", err,
                                         sizeof err));
    CHECK(!central_conninfo_has_password("host=db dbname=t", err, sizeof err));
    CHECK(!central_conninfo_has_password("host=db dbname", err, sizeof err));
    CHECK(err[0] != 0); /* the parser's words for a string it cannot read */
    central_conf c;
    unsetenv("CREDENTIALS_DIRECTORY");
    CHECK(central_conf_resolve("postgresql://st:pw@h/db", NULL, &c, err, sizeof err) < 0);
    CHECK_HAS(err, "holds a password");
    CHECK_HAS(err, "passfile");
    return CHECK_DONE();
}

static int case_precedence(void)
{
    char err[300];
    central_conf c;
    station_config *cfg = calloc(1, sizeof *cfg);
    REQUIRE(cfg != NULL);
    station_config_defaults(cfg);
    unsetenv("CREDENTIALS_DIRECTORY");
    unsetenv("PGSERVICE");
    unsetenv("PGHOST");
    unsetenv("PGDATABASE");
    unsetenv("PGHOSTADDR");
    REQUIRE(central_conf_resolve(NULL, cfg, &c, err, sizeof err) == 0);
    CHECK(!c.configured);
    setenv("PGSERVICE", "factory", 1);
    REQUIRE(central_conf_resolve(NULL, cfg, &c, err, sizeof err) == 0);
    CHECK(c.configured);
    CHECK_STR(c.conninfo, "");
    CHECK_STR(c.from, "environment");
    snprintf(cfg->central, sizeof cfg->central, "postgresql://st@ini/db");
    REQUIRE(central_conf_resolve(NULL, cfg, &c, err, sizeof err) == 0);
    CHECK_STR(c.conninfo, "postgresql://st@ini/db");
    CHECK_STR(c.from, "station file");
    REQUIRE(central_conf_resolve("postgresql://st@cli/db", cfg, &c, err, sizeof err) == 0);
    CHECK_STR(c.conninfo, "postgresql://st@cli/db");
    snprintf(cfg->central, sizeof cfg->central, "postgresql://st:pw@ini/db");
    CHECK(central_conf_resolve(NULL, cfg, &c, err, sizeof err) < 0);
    CHECK_HAS(err, "station file");
    unsetenv("PGSERVICE");
    free(cfg);
    return CHECK_DONE();
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    REQUIRE(fchmod(fd, mode) == 0);
    close(fd);
}

static int case_passfile_acl(void)
{
    char dir[] = "/tmp/tf-creds-XXXXXX", path[64], err[600], text[256];
    REQUIRE(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/pgpass", dir);
    const char *line = "db.example:5432:trayflash:tf_station_a:0123abcd\n";
    setenv("CREDENTIALS_DIRECTORY", dir, 1);
    central_conf c;

    /* as systemd leaves it: 0400 plus an ACL entry for the service's user (the mask: group r) */
    write_file(path, line, 0400);
    snprintf(text, sizeof text, "u::r,u:%u:r,g::-,m::r,o::-", (unsigned)geteuid());
    acl_t acl = acl_from_text(text);
    REQUIRE(acl != NULL);
    REQUIRE_MSG(acl_set_file(path, ACL_TYPE_ACCESS, acl) == 0, "setting an ACL on %s", path);
    acl_free(acl);
    struct stat sb;
    REQUIRE(stat(path, &sb) == 0);
    CHECK(sb.st_mode & S_IRGRP); /* what libpq would refuse */
    REQUIRE_MSG(central_conf_resolve("postgresql://tf_station_a@db.example/trayflash", NULL, &c, err,
                                     sizeof err) == 0, "%s", err);
    CHECK(c.passfile_fd >= 0);
    CHECK_HAS(c.passfile, "/proc/self/fd/");
    REQUIRE(stat(c.passfile, &sb) == 0);
    CHECK_EQ_INT(sb.st_mode & 0777, 0600);
    CHECK(S_ISREG(sb.st_mode));
    FILE *f = fopen(c.passfile, "r");
    REQUIRE(f != NULL);
    char got[256] = "";
    CHECK(fgets(got, sizeof got, f) != NULL);
    fclose(f);
    CHECK_STR(got, line);
    central_conf_close(&c);
    CHECK_EQ_INT(c.passfile_fd, -1);

    /* a plain owner-only file: used where it is */
    write_file(path, line, 0600);
    REQUIRE(central_conf_resolve("host=db.example", NULL, &c, err, sizeof err) == 0);
    CHECK_STR(c.passfile, path);
    CHECK_EQ_INT(c.passfile_fd, -1);

    /* readable by everyone: refused, naming the file */
    write_file(path, line, 0644);
    CHECK(central_conf_resolve("host=db.example", NULL, &c, err, sizeof err) < 0);
    CHECK_HAS(err, path);
    CHECK_HAS(err, "everyone");
    unlink(path);
    rmdir(dir);
    unsetenv("CREDENTIALS_DIRECTORY");
    return CHECK_DONE();
}

static const check_case cases[] = {
    {"url_password", case_url_password},
    {"precedence", case_precedence},
    {"passfile_acl", case_passfile_acl},
};

int main(int argc, char **argv)
{
    return CHECK_RUN(argc, argv, cases);
}
