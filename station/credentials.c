/* credentials.c - secrets from $CREDENTIALS_DIRECTORY or a configured path, and the check that
 * nobody but the station's user (and root) can read them. The ACL is read with libacl: the
 * st_mode group bits of a file with an ACL are its mask, not the owning group's access. */
#include "credentials.h"
#include <acl/libacl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/acl.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct cred_error_text {
    const char *name, *remedy;
} cred_error_text;

static const cred_error_text cred_errors[TF_CRED_ERROR_COUNT] = {
    [TF_CRED_OK] = {"ok", ""},
    [TF_CRED_BAD_NAME] =
        {"bad_name", "name a credential by a plain file name (letters, digits, '.', '-', '_')"},
    [TF_CRED_NOT_FOUND] = {"not_found",
                           "put the secret in /etc/credstore/ for the unit's LoadCredential= "
                           "line, or name its file in the station file (docs/install.md)"},
    [TF_CRED_OPEN_FAILED] = {"open_failed",
                             "check the path and that the station's user may read it"},
    [TF_CRED_NOT_REGULAR] = {"not_regular", "a secret must be a regular file"},
    [TF_CRED_WRONG_OWNER] =
        {"wrong_owner",
         "chown the secret to root (systemd's credentials) or to the station's user"},
    [TF_CRED_OTHERS_CAN_READ] = {"others_can_read", "chmod 0600 (or 0400) the secret"},
    [TF_CRED_ACL_OPEN] = {"acl_open",
                          "remove the ACL entries for other users and groups (setfacl -b, "
                          "then chmod 0600)"},
};

const char *tf_cred_error_name(tf_cred_error e)
{
    return e >= 0 && e < TF_CRED_ERROR_COUNT ? cred_errors[e].name : "unknown";
}

const char *tf_cred_error_remedy(tf_cred_error e)
{
    return e >= 0 && e < TF_CRED_ERROR_COUNT ? cred_errors[e].remedy : "";
}

/* systemd's own rule for a credential name: a file name, nothing that walks the tree. */
static bool cred_name_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    return n > 0 && n < 256 && name[0] != '.' && !strchr(name, '/');
}

/* The error's words (fmt and its arguments), then its name and remedy, into err; returns e. */
static tf_cred_error fail(tf_cred_error e, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static tf_cred_error fail(tf_cred_error e, char *err, size_t errlen, const char *fmt, ...)
{
    char what[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(err, errlen, "%s (%s: %s)", what, tf_cred_error_name(e), tf_cred_error_remedy(e));
    return e;
}

tf_cred_error tf_credential_path(const char *creds_dir, const char *name, const char *configured,
                                 char *path, size_t path_len, bool *from_credentials, char *err,
                                 size_t errlen)
{
    if (from_credentials)
        *from_credentials = false;
    if (!cred_name_valid(name))
        return fail(TF_CRED_BAD_NAME, err, errlen, "credential name '%s' is not a file name",
                    name ? name : "");
    char looked[600] = "no $CREDENTIALS_DIRECTORY";
    if (creds_dir && *creds_dir) {
        int n = snprintf(path, path_len, "%s/%s", creds_dir, name);
        if (n < 0 || (size_t)n >= path_len)
            return fail(TF_CRED_BAD_NAME, err, errlen, "credential %s: path under %s is too long",
                        name, creds_dir);
        struct stat st;
        if (lstat(path, &st) == 0) {
            if (from_credentials)
                *from_credentials = true;
            return TF_CRED_OK;
        }
        snprintf(looked, sizeof looked, "not in %s", creds_dir);
    }
    if (configured && *configured) {
        int n = snprintf(path, path_len, "%s", configured);
        if (n < 0 || (size_t)n >= path_len)
            return fail(TF_CRED_BAD_NAME, err, errlen,
                        "credential %s: configured path %s is too long", name, configured);
        return TF_CRED_OK;
    }
    return fail(TF_CRED_NOT_FOUND, err, errlen, "credential %s: %s and no path configured", name,
                looked);
}

tf_cred_error tf_credential_path_env(const char *name, const char *configured, char *path,
                                     size_t path_len, bool *from_credentials, char *err,
                                     size_t errlen)
{
    return tf_credential_path(getenv("CREDENTIALS_DIRECTORY"), name, configured, path, path_len,
                              from_credentials, err, errlen);
}

static bool perm_has(acl_permset_t ps, acl_perm_t p)
{
    return ps && acl_get_perm(ps, p) == 1;
}

/* 1 when fd's extended ACL lets a group, everyone, or a user other than the owner and self
 * read or write: group_obj, named groups and named users count as far as the mask lets
 * them. *who names the first such entry. 0 when it lets nobody else in, -1 when unreadable. */
static int acl_lets_others_in(int fd, uid_t self, char *who, size_t who_len)
{
    acl_t acl = acl_get_fd(fd);
    if (!acl)
        return -1;
    acl_permset_t mask = NULL;
    acl_entry_t e;
    for (int r = acl_get_entry(acl, ACL_FIRST_ENTRY, &e); r == 1;
         r = acl_get_entry(acl, ACL_NEXT_ENTRY, &e)) {
        acl_tag_t tag;
        if (acl_get_tag_type(e, &tag) == 0 && tag == ACL_MASK)
            acl_get_permset(e, &mask);
    }
    int open_to_others = 0;
    for (int r = acl_get_entry(acl, ACL_FIRST_ENTRY, &e); r == 1 && !open_to_others;
         r = acl_get_entry(acl, ACL_NEXT_ENTRY, &e)) {
        acl_tag_t tag;
        acl_permset_t ps;
        if (acl_get_tag_type(e, &tag) != 0 || acl_get_permset(e, &ps) != 0)
            continue;
        bool grants = perm_has(ps, ACL_READ) || perm_has(ps, ACL_WRITE);
        bool through_mask = !mask || ((perm_has(ps, ACL_READ) && perm_has(mask, ACL_READ)) ||
                                      (perm_has(ps, ACL_WRITE) && perm_has(mask, ACL_WRITE)));
        if (!grants)
            continue;
        if (tag == ACL_OTHER) {
            snprintf(who, who_len, "everyone");
            open_to_others = 1;
        } else if (tag == ACL_GROUP_OBJ && through_mask) {
            snprintf(who, who_len, "the owning group");
            open_to_others = 1;
        } else if (tag == ACL_GROUP && through_mask) {
            gid_t *g = acl_get_qualifier(e);
            snprintf(who, who_len, "group %u", g ? (unsigned)*g : 0u);
            acl_free(g);
            open_to_others = 1;
        } else if (tag == ACL_USER && through_mask) {
            uid_t *u = acl_get_qualifier(e);
            if (u && *u != self) {
                snprintf(who, who_len, "user %u", (unsigned)*u);
                open_to_others = 1;
            }
            acl_free(u);
        }
    }
    acl_free(acl);
    return open_to_others;
}

tf_cred_error tf_secret_open(const char *path, uid_t self, int *fd, char *err, size_t errlen)
{
    *fd = -1;
    int f = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (f < 0)
        return fail(TF_CRED_OPEN_FAILED, err, errlen, "%s: %s", path, strerror(errno));
    struct stat st;
    tf_cred_error e = TF_CRED_OK;
    char who[64] = "";
    if (fstat(f, &st) != 0) {
        e = fail(TF_CRED_OPEN_FAILED, err, errlen, "%s: %s", path, strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        e = fail(TF_CRED_NOT_REGULAR, err, errlen, "%s: not a regular file", path);
    } else if (st.st_uid != 0 && st.st_uid != self) {
        snprintf(who, sizeof who, "%u", (unsigned)st.st_uid);
        e = fail(TF_CRED_WRONG_OWNER, err, errlen, "%s: owned by uid %s", path, who);
    } else if (st.st_mode & S_IRWXO) {
        e = fail(TF_CRED_OTHERS_CAN_READ, err, errlen, "%s: everyone may read or write it", path);
    } else if ((st.st_mode & S_IRWXG) && acl_extended_fd(f) != 1) {
        e = fail(TF_CRED_OTHERS_CAN_READ, err, errlen, "%s: its group may read or write it", path);
    } else if (st.st_mode & S_IRWXG) {
        /* group bits with an extended ACL are its mask (systemd's credentials): the entries
           decide */
        int open_to = acl_lets_others_in(f, self, who, sizeof who);
        if (open_to < 0)
            e = fail(TF_CRED_OPEN_FAILED, err, errlen, "%s: reading its ACL: %s", path,
                     strerror(errno));
        else if (open_to)
            e = fail(TF_CRED_ACL_OPEN, err, errlen, "%s: its permissions let %s read or write it",
                     path, who);
    }
    if (e != TF_CRED_OK) {
        close(f);
        return e;
    }
    /* back to blocking reads: O_NONBLOCK only kept a FIFO from holding up the open */
    fcntl(f, F_SETFL, fcntl(f, F_GETFL) & ~O_NONBLOCK);
    *fd = f;
    return TF_CRED_OK;
}
