/* test_service_user.c - the station run as trayflash.service runs it, as far as that can be
 * done without systemd as PID 1 (ctest service_unit_user; root only: it switches users).
 *
 * The unit's user (User=trayflash: here `nobody`, an unprivileged user with no groups), its
 * SupplementaryGroups=dialout, UMask=0077, WorkingDirectory= the state directory, the
 * environment a system service gets (PATH, HOME, LANG, STATE_DIRECTORY, CREDENTIALS_DIRECTORY,
 * INVOCATION_ID, no TERM), stdin /dev/null and stdout+stderr into one pipe (the journal), and
 * ExecStart's arguments (`station --headless --config FILE --db STATE/trayflash.db`), stopped
 * with SIGTERM (KillSignal=). The adapter is a umockdev CP2102 whose tty is a pty given
 * root:dialout 0660, as 60-trayflash.rules does; a bksim module sits behind it.
 *   1. with dialout the station sees the adapter, opens it with libserialport, flashes the
 *      module and passes; its database is the user's, mode 0600; SIGTERM ends it with 143;
 *   2. without dialout (the control) the same adapter cannot be opened: no pass, the station
 *      says why (the test's permission set-up is what decides);
 *   3. credentials as systemd leaves them (a 0500 directory and a 0400 file, both root's with
 *      an ACL for the user): as the user, tf_credential_path_env finds the passfile and
 *      tf_secret_open accepts and reads it; a secret everyone can read is refused.
 *   4. with the pg_cluster fixture (TRAYFLASH_PG_URL_FILE; ctest service_unit_user_central, label
 *      pg): the station, as the unit's user, reaches the PostgreSQL on 127.0.0.1 with a station
 *      role whose password it can only have from the `pgpass` credential (the server asks that
 *      role for it: a scram-sha-256 line of its own in pg_hba.conf), and its attempt arrives.
 * The umockdev testbed's own plumbing (its /sys and /dev tree, event and ioctl sockets) is
 * handed to the user: it stands in for the kernel, not for a permission under test.
 * The program, the profile and its image are copied into the test's folder first, as
 * scripts/demo.sh does: the build tree may sit where the user cannot reach (/root/...).
 * Usage: test_service_user TRAYFLASH PROFILE IMAGE (the image the profile names as
 * images/<file>) */
#define _XOPEN_SOURCE 700
#include "credentials.h"
#include "central_fixture.h"
#include "check.h"
#include "hp_harness.h"
#include <acl/libacl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/acl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define FLASH_TIMEOUT_MS 40000

typedef struct service_user {
    uid_t uid;
    gid_t gid, dialout;
} service_user;

static service_user user;

static int chown_to_user(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    if (lchown(path, user.uid, user.gid) != 0)
        fprintf(stderr, "chown %s: %s\n", path, strerror(errno));
    return 0;
}

static void set_acl(const char *path, const char *text)
{
    acl_t acl = acl_from_text(text);
    REQUIRE_MSG(acl && acl_set_file(path, ACL_TYPE_ACCESS, acl) == 0, "ACL %s on %s: %s", text, path,
                strerror(errno));
    acl_free(acl);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    REQUIRE_MSG(f && fputs(text, f) >= 0 && fclose(f) == 0, "%s", path);
    REQUIRE_MSG(chmod(path, mode) == 0, "chmod %s", path);
}

/* Copies src to dst with mode, whole; exits on failure. */
static void copy_file(const char *src, const char *dst, mode_t mode)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    REQUIRE_MSG(in >= 0 && out >= 0, "copy %s to %s: %s", src, dst, strerror(errno));
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        REQUIRE_MSG(write(out, buf, (size_t)n) == n, "writing %s", dst);
    REQUIRE_MSG(n == 0 && close(out) == 0, "copy %s", src);
    close(in);
    REQUIRE_MSG(chmod(dst, mode) == 0, "chmod %s", dst);
}

/* The unit's user in a forked child: groups, then gid, then uid (as systemd does them). */
static void become_user(bool with_dialout)
{
    gid_t groups[1] = {user.dialout};
    if (setgroups(with_dialout ? 1 : 0, groups) != 0 || setgid(user.gid) != 0 ||
        setuid(user.uid) != 0)
        _exit(120);
    umask(0077);
}

typedef struct run {
    const char *tf, *cfg, *state, *creds;
    char db[300];
    hp_lines lines;
    pid_t pid;
} run;

/* Starts the station as the unit does; its output (stdout and stderr) into r->lines. */
static void start_station(run *r, bool with_dialout)
{
    char err[300];
    REQUIRE_MSG(hp_lines_start(&r->lines, err, sizeof err) == 0, "%s", err);
    snprintf(r->db, sizeof r->db, "%s/trayflash.db", r->state);
    static char env_buf[12][600];
    char *envp[13];
    int n = 0;
    const char *keep[] = {"UMOCKDEV_DIR", "LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS", "TZ"};
    snprintf(env_buf[n], 600, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    envp[n] = env_buf[n], n++;
    snprintf(env_buf[n], 600, "HOME=%s", r->state), envp[n] = env_buf[n], n++;
    snprintf(env_buf[n], 600, "LANG=C.UTF-8"), envp[n] = env_buf[n], n++;
    snprintf(env_buf[n], 600, "STATE_DIRECTORY=%s", r->state), envp[n] = env_buf[n], n++;
    snprintf(env_buf[n], 600, "CREDENTIALS_DIRECTORY=%s", r->creds), envp[n] = env_buf[n], n++;
    snprintf(env_buf[n], 600, "INVOCATION_ID=0123456789abcdef0123456789abcdef");
    envp[n] = env_buf[n], n++;
    /* the test's plumbing, not the unit's: umockdev's preload (and ASan's, first) */
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
        const char *v = getenv(keep[i]);
        if (v) {
            snprintf(env_buf[n], 600, "%s=%s", keep[i], v);
            envp[n] = env_buf[n], n++;
        }
    }
    envp[n] = NULL;
    const char *argv[] = {r->tf, "station", "--headless", "--config", r->cfg, "--db", r->db, NULL};
    fflush(NULL);
    r->pid = fork();
    REQUIRE_MSG(r->pid >= 0, "fork");
    if (r->pid == 0) {
        int null = open("/dev/null", O_RDONLY);
        if (null < 0 || dup2(null, 0) < 0 || dup2(r->lines.wr, 1) < 0 || dup2(r->lines.wr, 2) < 0)
            _exit(121);
        become_user(with_dialout);
        if (chdir(r->state) != 0)
            _exit(122);
        execve(r->tf, (char *const *)argv, envp);
        _exit(123);
    }
}

/* SIGTERM (KillSignal=), then the exit status and the captured lines. */
static int stop_station(run *r)
{
    kill(r->pid, SIGTERM);
    int status = 0;
    REQUIRE_MSG(waitpid(r->pid, &status, 0) == r->pid, "waitpid");
    hp_lines_finish(&r->lines);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int end_line(run *r, char *line, size_t len)
{
    for (int i = 0;; i++) {
        i = hp_lines_wait(&r->lines, i, FLASH_TIMEOUT_MS, " bay 01 ", NULL, NULL);
        if (i < 0)
            return -1;
        hp_lines_get(&r->lines, i, line, len);
        if (strstr(line, " PASS 100% PASS ") || (strstr(line, " FAIL ") && strstr(line, "% FAIL ")))
            return i;
    }
}

/* The server (the fixture's, trust for its superuser): a database and a station role made by
 * `trayflash central init|add-station`, as an installer would; the role's passfile line to
 * `passfile`; the role must give its password (pg_hba.conf, reloaded). Fills the station file's
 * `central =` URL and the database's name. */
static void central_setup(const char *tf, const char *server, const char *passfile, char *url,
                          size_t urllen, char *dbname, size_t dblen)
{
    PGconn *c = PQconnectdb(server);
    REQUIRE_MSG(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
    snprintf(dbname, dblen, "tf_service_%d", (int)getpid());
    char sql[256];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", dbname); /* our own name: digits and letters */
    PQclear(PQexec(c, sql));
    char admin[400];
    cf_url_as(server, "postgres", dbname, admin, sizeof admin);
    char *out = NULL;
    const char *init[] = {tf, "central", "init", "--central", admin, NULL};
    REQUIRE_MSG(check_capture(init, true, 60, &out) == 0, "central init: %s", out ? out : "");
    free(out);
    const char *add[] = {tf, "central", "add-station", "service-test", "--central", admin,
                         "--passfile", passfile, NULL};
    REQUIRE_MSG(check_capture(add, true, 60, &out) == 0, "central add-station: %s", out ? out : "");
    free(out);
    /* host:port:db:role:password */
    char line[512] = "", host[64], port[16], dbn[64], role[64];
    FILE *f = fopen(passfile, "r");
    REQUIRE_MSG(f && fgets(line, sizeof line, f), "%s", passfile);
    fclose(f);
    REQUIRE_MSG(sscanf(line, "%63[^:]:%15[^:]:%63[^:]:%63[^:]:", host, port, dbn, role) == 4,
                "passfile line: %s", line);
    snprintf(url, urllen, "postgresql://%s@127.0.0.1:%s/%s", role, port, dbname);
    /* the station role alone must give its password; the rest stays trust */
    PGresult *r = PQexec(c, "SHOW hba_file");
    REQUIRE(PQresultStatus(r) == PGRES_TUPLES_OK);
    char hba[512];
    snprintf(hba, sizeof hba, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    char *old = NULL;
    size_t oldlen = 0;
    FILE *h = fopen(hba, "r");
    REQUIRE_MSG(h != NULL, "%s", hba);
    FILE *mem = open_memstream(&old, &oldlen);
    for (int ch; (ch = fgetc(h)) != EOF;)
        fputc(ch, mem);
    fclose(h);
    fclose(mem);
    h = fopen(hba, "w");
    REQUIRE_MSG(h != NULL, "%s", hba);
    fprintf(h, "host all %s 127.0.0.1/32 scram-sha-256\n%s", role, old);
    fclose(h);
    free(old);
    PQclear(PQexec(c, "SELECT pg_reload_conf()"));
    PQfinish(c);
}

typedef struct arrival {
    const char *url;
} arrival;

static bool attempt_arrived(void *ctx)
{
    PGconn *c = PQconnectdb(((arrival *)ctx)->url);
    bool ok = false;
    if (PQstatus(c) == CONNECTION_OK) {
        PGresult *r = PQexec(c, "SELECT count(*) FROM attempt a JOIN station s ON s.id = a.station_id "
                                "WHERE s.name = 'service-test' AND a.outcome = 'pass'");
        ok = PQresultStatus(r) == PGRES_TUPLES_OK && atoi(PQgetvalue(r, 0, 0)) >= 1;
        PQclear(r);
    }
    PQfinish(c);
    return ok;
}

/* What 60-trayflash.rules does to the adapter's tty (root:dialout 0660); and the testbed
 * (umockdev's /sys, /dev and sockets) to the user: see the comment on top. */
static void tty_as_the_rule_leaves_it(const char *root)
{
    char node[300], slave[300];
    snprintf(node, sizeof node, "%s/dev/ttyUSB0", root);
    ssize_t n = readlink(node, slave, sizeof slave - 1);
    REQUIRE_MSG(n > 0, "%s is not a link to a pty", node);
    slave[n] = '\0';
    REQUIRE_MSG(chown(slave, 0, user.dialout) == 0 && chmod(slave, 0660) == 0, "%s", slave);
    REQUIRE_MSG(nftw(root, chown_to_user, 16, FTW_PHYS) == 0, "chown %s", root);
}

/* A fresh module on a fresh adapter, its tty as the rule leaves it. */
static void replug(hp_adapter *ad, UMockdevTestbed *tb, bksim_server *sim, fakeport_adapter *a,
                   const char *root)
{
    char err[300];
    hp_adapter_free(ad);
    memset(ad, 0, sizeof *ad);
    REQUIRE_MSG(hp_adapter_plug(ad, tb, sim, a, NULL, err, sizeof err) == 0, "%s", err);
    tty_as_the_rule_leaves_it(root);
}

/* 3: the credentials, read as the unit's user. */
static void check_credentials(const char *creds)
{
    pid_t pid = fork();
    REQUIRE_MSG(pid >= 0, "fork");
    if (pid == 0) {
        become_user(true);
        setenv("CREDENTIALS_DIRECTORY", creds, 1);
        char path[400], err[600];
        bool from = false;
        int fd = -1, bad = 0;
        if (tf_credential_path_env("pgpass", "/etc/trayflash/pgpass", path, sizeof path, &from, err,
                                   sizeof err) != TF_CRED_OK ||
            !from) {
            fprintf(stderr, "as the user: pgpass not found in %s: %s\n", creds, err);
            bad |= 1;
        } else if (tf_secret_open(path, getuid(), &fd, err, sizeof err) != TF_CRED_OK) {
            fprintf(stderr, "as the user: systemd-style %s refused: %s\n", path, err);
            bad |= 2;
        } else {
            char buf[128] = "";
            if (read(fd, buf, sizeof buf - 1) <= 0 || !strstr(buf, ":5432:"))
                bad |= 4, fprintf(stderr, "as the user: %s did not read back\n", path);
            close(fd);
        }
        if (tf_credential_path_env("loose", NULL, path, sizeof path, &from, err, sizeof err) !=
                TF_CRED_OK ||
            tf_secret_open(path, getuid(), &fd, err, sizeof err) != TF_CRED_OTHERS_CAN_READ)
            bad |= 8, fprintf(stderr, "as the user: an everyone-readable secret was not refused\n");
        _exit(bad);
    }
    int status = 0;
    REQUIRE_MSG(waitpid(pid, &status, 0) == pid, "waitpid");
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "the credential checks as the unit's user failed (status %d)", status);
}

int main(int argc, char **argv)
{
    support_ensure_umockdev_preload(argv);
    if (argc < 4) {
        fprintf(stderr, "usage: %s TRAYFLASH PROFILE IMAGE\n", argv[0]);
        return 2;
    }
    if (geteuid() != 0) {
        printf("service_unit_user: not root, cannot switch to the unit's user: skipped\n");
        return 77;
    }
    struct passwd *pw = getpwnam("nobody");
    struct group *gr = getgrnam("dialout");
    REQUIRE_MSG(pw && gr, "user nobody and group dialout must exist");
    user = (service_user){pw->pw_uid, pw->pw_gid, gr->gr_gid};

    char dir[64], state[128], creds[128], cfg[128], err[512];
    REQUIRE_MSG(hp_tempdir(dir, sizeof dir, "service") == 0, "mkdtemp");
    REQUIRE_MSG(chmod(dir, 0755) == 0, "chmod");
    char bin[128], prof_dir[128], prof[200], img[200];
    snprintf(bin, sizeof bin, "%s/trayflash", dir);
    copy_file(argv[1], bin, 0755);
    snprintf(prof_dir, sizeof prof_dir, "%s/profiles", dir);
    snprintf(img, sizeof img, "%s/images", prof_dir);
    REQUIRE_MSG(mkdir(prof_dir, 0755) == 0 && mkdir(img, 0755) == 0, "%s", img);
    const char *img_name = strrchr(argv[3], '/') ? strrchr(argv[3], '/') + 1 : argv[3];
    snprintf(img, sizeof img, "%s/images/%s", prof_dir, img_name);
    copy_file(argv[3], img, 0644);
    const char *prof_name = strrchr(argv[2], '/') ? strrchr(argv[2], '/') + 1 : argv[2];
    snprintf(prof, sizeof prof, "%s/%s", prof_dir, prof_name);
    copy_file(argv[2], prof, 0644);
    /* StateDirectory=trayflash, StateDirectoryMode=0750, the user's */
    snprintf(state, sizeof state, "%s/state", dir);
    REQUIRE_MSG(mkdir(state, 0750) == 0 && chown(state, user.uid, user.gid) == 0, "%s", state);
    /* /run/credentials/trayflash.service as systemd leaves it */
    snprintf(creds, sizeof creds, "%s/credentials", dir);
    REQUIRE_MSG(mkdir(creds, 0500) == 0, "%s", creds);
    char pgpass[200], loose[200], acl_text[64];
    snprintf(pgpass, sizeof pgpass, "%s/pgpass", creds);
    snprintf(loose, sizeof loose, "%s/loose", creds);
    write_file(pgpass, "127.0.0.1:5432:trayflash:station1:s3cret\n", 0400);
    write_file(loose, "x\n", 0444);
    snprintf(acl_text, sizeof acl_text, "u::r,u:%u:r,g::-,m::r,o::-", (unsigned)user.uid);
    set_acl(pgpass, acl_text);
    snprintf(acl_text, sizeof acl_text, "u::rx,u:%u:rx,g::-,m::rx,o::-", (unsigned)user.uid);
    set_acl(creds, acl_text);

    UMockdevTestbed *tb = umockdev_testbed_new();
    REQUIRE_MSG(tb, "umockdev_testbed_new");
    bksim_config sc = {.count = 0, .seed = 18, .time_scale = 0.5};
    bksim_server *sim = bksim_start(&sc, err, sizeof err);
    REQUIRE_MSG(sim, "bksim_start: %s", err);

    fakeport_adapter a;
    char idp[128];
    REQUIRE_MSG(
        fakeport_adapter_init(&a, FAKEPORT_CP2102, "1-1", "ttyUSB0", 0, NULL, err, sizeof err) == 0,
        "%s", err);
    REQUIRE_MSG(fakeport_id_path(&a, idp, sizeof idp) > 0, "id path");
    snprintf(cfg, sizeof cfg, "%s/station.ini", dir);
    char cfg_text[1400];
    snprintf(cfg_text, sizeof cfg_text,
             "[station]\nname = service-test\nprofile = %s\npool_size = 2\n\n[bay 1]\npath = %s\n",
             prof, idp);
    write_file(cfg, cfg_text, 0644);

    hp_adapter ad;
    memset(&ad, 0, sizeof ad);
    REQUIRE_MSG(hp_adapter_plug(&ad, tb, sim, &a, NULL, err, sizeof err) == 0, "%s", err);
    /* what 60-trayflash.rules does to the adapter's tty: root:dialout 0660 */
    char root[200];
    gchar *tb_root = umockdev_testbed_get_root_dir(tb); /* transfer full */
    snprintf(root, sizeof root, "%s", tb_root);
    g_free(tb_root);
    tty_as_the_rule_leaves_it(root);

    /* 2 first: without dialout the adapter's tty is shut */
    run denied = {.tf = bin, .cfg = cfg, .state = state, .creds = creds};
    start_station(&denied, false);
    int seen = hp_lines_wait(&denied.lines, 0, FLASH_TIMEOUT_MS, "ttyUSB0", NULL, NULL);
    CHECK_MSG(seen >= 0, "without dialout the station did not even see /dev/ttyUSB0");
    int refused = hp_lines_wait(&denied.lines, 0, FLASH_TIMEOUT_MS, "open /dev/ttyUSB0",
                                "ermission denied", NULL);
    CHECK_MSG(refused >= 0, "without dialout no 'Permission denied' about the adapter");
    int rc = stop_station(&denied);
    CHECK_MSG(hp_lines_count(&denied.lines, " PASS 100% PASS ", NULL, NULL) == 0,
              "without dialout a module passed: the tty's permissions are not what is tested");
    if (check_failures())
        hp_lines_dump(&denied.lines, "without dialout");
    char why[700] = "";
    hp_lines_get(&denied.lines, refused, why, sizeof why);
    printf("without dialout: exit %d; the station said: %s\n", rc, why);

    /* 1: as the unit runs it; a fresh module on a fresh adapter */
    replug(&ad, tb, sim, &a, root);
    unlink(denied.db);
    run unit = {.tf = bin, .cfg = cfg, .state = state, .creds = creds};
    start_station(&unit, true);
    char line[700];
    int end = end_line(&unit, line, sizeof line);
    CHECK_MSG(end >= 0 && strstr(line, " PASS 100% PASS "),
              "as the unit's user bay 01 did not pass: %s", end >= 0 ? line : "no end line");
    rc = stop_station(&unit);
    CHECK_EQ_INT(rc, 143);
    struct stat st;
    CHECK_MSG(stat(unit.db, &st) == 0 && st.st_uid == user.uid && (st.st_mode & 07777) == 0600,
              "%s: uid %u mode %o, expected the user's, 0600 (UMask=0077)", unit.db,
              (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
    CHECK_EQ_INT(check_db_int(unit.db,
                              "select count(*) from attempt where outcome = 'pass' and bay = 1 "
                              "and port_path = '/dev/ttyUSB0' and adapter like '10c4:ea60:%'"),
                 1);
    if (check_failures())
        hp_lines_dump(&unit.lines, "as the unit");

    check_credentials(creds);

    /* 4: the central store on 127.0.0.1, the password from the pgpass credential only */
    const char *url_file = getenv("TRAYFLASH_PG_URL_FILE");
    if (url_file) {
        char server[400] = "", central[400], dbname[64], creds2[128], pass2[200], tmp[200];
        FILE *uf = fopen(url_file, "r");
        REQUIRE_MSG(uf && fgets(server, sizeof server, uf), "%s", url_file);
        fclose(uf);
        server[strcspn(server, "\n")] = 0;
        snprintf(tmp, sizeof tmp, "%s/role.pgpass", dir);
        central_setup(argv[1], server, tmp, central, sizeof central, dbname, sizeof dbname);
        snprintf(creds2, sizeof creds2, "%s/credentials-central", dir);
        REQUIRE_MSG(mkdir(creds2, 0500) == 0, "%s", creds2);
        snprintf(pass2, sizeof pass2, "%s/pgpass", creds2);
        copy_file(tmp, pass2, 0400);
        snprintf(acl_text, sizeof acl_text, "u::r,u:%u:r,g::-,m::r,o::-", (unsigned)user.uid);
        set_acl(pass2, acl_text);
        snprintf(acl_text, sizeof acl_text, "u::rx,u:%u:rx,g::-,m::rx,o::-", (unsigned)user.uid);
        set_acl(creds2, acl_text);
        /* without the credential the server refuses the role: the password is not elsewhere */
        PGconn *bare = PQconnectdb(central);
        CHECK_MSG(PQstatus(bare) != CONNECTION_OK, "the station role connected without a password");
        PQfinish(bare);
        snprintf(cfg_text, sizeof cfg_text,
                 "[station]\nname = service-test\nprofile = %s\npool_size = 2\ncentral = %s\n\n"
                 "[bay 1]\npath = %s\n", prof, central, idp);
        write_file(cfg, cfg_text, 0644);
        replug(&ad, tb, sim, &a, root);
        unlink(unit.db);
        run up = {.tf = bin, .cfg = cfg, .state = state, .creds = creds2};
        start_station(&up, true);
        end = end_line(&up, line, sizeof line);
        CHECK_MSG(end >= 0 && strstr(line, " PASS 100% PASS "), "with the central store bay 01 did "
                  "not pass: %s", end >= 0 ? line : "no end line");
        char admin[400];
        cf_url_as(server, "postgres", dbname, admin, sizeof admin);
        arrival av = {admin};
        CHECK_MSG(check_wait_until(attempt_arrived, &av, 30000), "the attempt never reached the "
                  "central store as the unit's user");
        stop_station(&up);
        if (check_failures())
            hp_lines_dump(&up.lines, "with the central store");
        hp_lines_free(&up.lines);
    } else {
        printf("service_unit_user: no TRAYFLASH_PG_URL_FILE: the central store part is "
               "service_unit_user_central's\n");
    }

    hp_adapter_free(&ad);
    bksim_stop(sim);
    g_object_unref(tb);
    hp_lines_free(&denied.lines);
    hp_lines_free(&unit.lines);
    hp_rmtree(dir);
    return CHECK_DONE();
}
