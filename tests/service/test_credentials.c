/* test_credentials.c - station/credentials.c (ctest service_credentials): where a secret is
 * found ($CREDENTIALS_DIRECTORY before the configured path, names that cannot walk out of the
 * directory) and which secret files are trusted: the user's own 0600 file and systemd's
 * credential file (0400, an ACL entry for the service's user, so st_mode shows 0440) pass; a
 * file a group, everyone or another user can read, a file of another owner, a FIFO or a
 * directory are refused with the path in the message. */
#include "check.h"
#include "credentials.h"
#include <acl/libacl.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/acl.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static void write_file(const char *path, const char *text, mode_t mode)
{
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || fchmod(fd, mode) != 0) {
        perror(path);
        exit(1);
    }
    close(fd);
}

/* The ACL as text (acl(5) short form) on path; exits when ACLs are not available here. */
static void set_acl(const char *path, const char *text)
{
    acl_t acl = acl_from_text(text);
    if (!acl || acl_set_file(path, ACL_TYPE_ACCESS, acl) != 0) {
        fprintf(stderr, "setting ACL '%s' on %s: ", text, path);
        perror("");
        exit(1);
    }
    acl_free(acl);
}

static tf_cred_error open_check(const char *path, uid_t self, char *err, size_t errlen)
{
    int fd = -1;
    tf_cred_error e = tf_secret_open(path, self, &fd, err, errlen);
    CHECK((e == TF_CRED_OK) == (fd >= 0));
    if (fd >= 0) {
        char buf[64] = "";
        CHECK(read(fd, buf, sizeof buf - 1) > 0);
        CHECK(strcmp(buf, "secret\n") == 0);
        close(fd);
    } else {
        /* the message names the file and a remedy */
        CHECK(strstr(err, path) != NULL);
        CHECK(strstr(err, tf_cred_error_remedy(e)) != NULL);
    }
    return e;
}

static void test_lookup(void)
{
    char creds[128], path[256], err[512];
    bool from = true;
    snprintf(creds, sizeof creds, "%s/creds", dir);
    CHECK(mkdir(creds, 0700) == 0);
    char in_creds[200];
    snprintf(in_creds, sizeof in_creds, "%s/pgpass", creds);
    write_file(in_creds, "secret\n", 0400);

    /* in the credentials directory: that one, whatever is configured */
    CHECK_EQ_INT(tf_credential_path(creds, "pgpass", "/etc/trayflash/pgpass", path, sizeof path,
                                    &from, err, sizeof err),
                 TF_CRED_OK);
    CHECK(strcmp(path, in_creds) == 0);
    CHECK(from);
    /* not there: the configured path */
    CHECK_EQ_INT(tf_credential_path(creds, "device-secrets", "/etc/trayflash/secrets.ini", path,
                                    sizeof path, &from, err, sizeof err),
                 TF_CRED_OK);
    CHECK(strcmp(path, "/etc/trayflash/secrets.ini") == 0);
    CHECK(!from);
    /* no credentials directory at all (not under systemd) */
    CHECK_EQ_INT(tf_credential_path(NULL, "pgpass", "/home/op/.pgpass", path, sizeof path, &from,
                                    err, sizeof err),
                 TF_CRED_OK);
    CHECK(strcmp(path, "/home/op/.pgpass") == 0 && !from);
    CHECK_EQ_INT(tf_credential_path("", "pgpass", "/home/op/.pgpass", path, sizeof path, &from, err,
                                    sizeof err),
                 TF_CRED_OK);
    CHECK(strcmp(path, "/home/op/.pgpass") == 0 && !from);
    /* neither: not found, saying where it looked */
    CHECK_EQ_INT(tf_credential_path(creds, "device-secrets", NULL, path, sizeof path, &from, err,
                                    sizeof err),
                 TF_CRED_NOT_FOUND);
    CHECK(strstr(err, "device-secrets") && strstr(err, creds));
    CHECK_EQ_INT(
        tf_credential_path(NULL, "device-secrets", "", path, sizeof path, &from, err, sizeof err),
        TF_CRED_NOT_FOUND);
    CHECK(strstr(err, "CREDENTIALS_DIRECTORY") != NULL);
    /* names that are not plain file names */
    const char *bad[] = {"", "../pgpass", "a/b", ".pgpass", "/etc/passwd"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_EQ_INT(
            tf_credential_path(creds, bad[i], "/x", path, sizeof path, &from, err, sizeof err),
            TF_CRED_BAD_NAME);
    /* too small a buffer is an error, not a cut path */
    char small[8];
    CHECK(tf_credential_path(creds, "pgpass", NULL, small, sizeof small, &from, err, sizeof err) !=
          TF_CRED_OK);
    /* the environment variable, as the unit sets it */
    setenv("CREDENTIALS_DIRECTORY", creds, 1);
    CHECK_EQ_INT(tf_credential_path_env("pgpass", NULL, path, sizeof path, &from, err, sizeof err),
                 TF_CRED_OK);
    CHECK(strcmp(path, in_creds) == 0 && from);
    unsetenv("CREDENTIALS_DIRECTORY");
    CHECK_EQ_INT(tf_credential_path_env("pgpass", NULL, path, sizeof path, &from, err, sizeof err),
                 TF_CRED_NOT_FOUND);
}

static void test_permissions(void)
{
    char p[200], err[600];
    uid_t me = geteuid();
    /* the service's user: another uid when we are root (the file is root's, as systemd's) */
    uid_t service = me == 0 ? 65534 : me;
    snprintf(p, sizeof p, "%s/secret", dir);

    write_file(p, "secret\n", 0600);
    CHECK_EQ_INT(open_check(p, me, err, sizeof err), TF_CRED_OK);
    write_file(p, "secret\n", 0400);
    CHECK_EQ_INT(open_check(p, me, err, sizeof err), TF_CRED_OK);

    write_file(p, "secret\n", 0644);
    CHECK_EQ_INT(open_check(p, me, err, sizeof err), TF_CRED_OTHERS_CAN_READ);
    write_file(p, "secret\n", 0604);
    CHECK_EQ_INT(open_check(p, me, err, sizeof err), TF_CRED_OTHERS_CAN_READ);
    write_file(p, "secret\n", 0640);
    CHECK_EQ_INT(open_check(p, me, err, sizeof err), TF_CRED_OTHERS_CAN_READ);
    write_file(p, "secret\n", 0620);
    CHECK_EQ_INT(open_check(p, me, err, sizeof err), TF_CRED_OTHERS_CAN_READ);

    /* systemd's credential: 0400, then an ACL entry for the service's user; the mask shows as
       group r in st_mode, and no group may read it */
    char acl_text[128];
    write_file(p, "secret\n", 0400);
    snprintf(acl_text, sizeof acl_text, "u::r,u:%u:r,g::-,m::r,o::-", (unsigned)service);
    set_acl(p, acl_text);
    struct stat st;
    CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0440);
    CHECK_EQ_INT(open_check(p, service, err, sizeof err), TF_CRED_OK);
    /* the same file checked for a station running as someone else: that entry is a stranger */
    CHECK_EQ_INT(open_check(p, service + 1, err, sizeof err), TF_CRED_ACL_OPEN);
    CHECK(strstr(err, "user ") != NULL);
    /* an ACL that also lets a group in */
    write_file(p, "secret\n", 0400);
    snprintf(acl_text, sizeof acl_text, "u::r,u:%u:r,g::-,g:20:r,m::r,o::-", (unsigned)service);
    set_acl(p, acl_text);
    CHECK_EQ_INT(open_check(p, service, err, sizeof err), TF_CRED_ACL_OPEN);
    CHECK(strstr(err, "group 20") != NULL);
    /* the owning group through the mask */
    write_file(p, "secret\n", 0400);
    snprintf(acl_text, sizeof acl_text, "u::r,u:%u:r,g::r,m::r,o::-", (unsigned)service);
    set_acl(p, acl_text);
    CHECK_EQ_INT(open_check(p, service, err, sizeof err), TF_CRED_ACL_OPEN);
    CHECK(strstr(err, "owning group") != NULL);
    /* a group entry the mask shuts out is no opening */
    write_file(p, "secret\n", 0400);
    snprintf(acl_text, sizeof acl_text, "u::r,u:%u:-,g::-,g:20:w,m::r,o::-", (unsigned)service);
    set_acl(p, acl_text);
    CHECK_EQ_INT(open_check(p, me, err, sizeof err), TF_CRED_OK);

    /* another owner (only root can make one) */
    if (me == 0) {
        write_file(p, "secret\n", 0600);
        CHECK(chown(p, 12345, 12345) == 0);
        CHECK_EQ_INT(open_check(p, 0, err, sizeof err), TF_CRED_WRONG_OWNER);
        CHECK(strstr(err, "12345") != NULL);
    } else {
        printf("not root: the wrong-owner case needs a file of another user, not run\n");
    }
    unlink(p);

    /* not regular files, and none at all */
    CHECK(mkfifo(p, 0600) == 0);
    CHECK_EQ_INT(open_check(p, me, err, sizeof err), TF_CRED_NOT_REGULAR);
    unlink(p);
    CHECK(mkdir(p, 0700) == 0);
    CHECK_EQ_INT(open_check(p, me, err, sizeof err), TF_CRED_NOT_REGULAR);
    rmdir(p);
    CHECK_EQ_INT(open_check(p, me, err, sizeof err), TF_CRED_OPEN_FAILED);
    CHECK(strstr(err, "No such file") != NULL);
}

static void test_table(void)
{
    for (int e = 0; e < TF_CRED_ERROR_COUNT; e++) {
        CHECK(strcmp(tf_cred_error_name((tf_cred_error)e), "unknown") != 0);
        CHECK(e == TF_CRED_OK || *tf_cred_error_remedy((tf_cred_error)e));
    }
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/tf-cred.XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_lookup();
    test_permissions();
    test_table();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return CHECK_DONE();
}
