/* credentials.h - where the station finds a secret (the central database's passfile, the
 * per-device secrets file) and whether it may trust the file it finds.
 *
 * Under systemd the unit's LoadCredential= lines copy each secret into a private, read-only
 * $CREDENTIALS_DIRECTORY as <name>, mode 0400, owned by root with an ACL entry letting the
 * service's user read it (or owned by that user where ACLs are not available). Elsewhere (an
 * operator's terminal, a test) the secret is where the station file says. Either way a secret
 * that another user or a group could read is refused, naming the file and what to do: the
 * ACL systemd adds shows up as group bits in st_mode (the ACL mask), so the ACL itself is read
 * and only its named entries for other users or groups count against the file. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef enum tf_cred_error {
    TF_CRED_OK = 0,
    TF_CRED_BAD_NAME,        /* empty, too long, or with a '/' or a leading '.' */
    TF_CRED_NOT_FOUND,       /* not in the credentials directory and no configured path */
    TF_CRED_OPEN_FAILED,     /* open or fstat failed (errno in the message) */
    TF_CRED_NOT_REGULAR,     /* a directory, FIFO, device... */
    TF_CRED_WRONG_OWNER,     /* owned by neither root nor the station's user */
    TF_CRED_OTHERS_CAN_READ, /* mode bits let a group or everyone read or write it */
    TF_CRED_ACL_OPEN,        /* an ACL entry lets another user or a group read or write it */
    TF_CRED_ERROR_COUNT
} tf_cred_error;

/* "not_found" etc., and one sentence on what to do about it. */
const char *tf_cred_error_name(tf_cred_error e);
const char *tf_cred_error_remedy(tf_cred_error e);

/* Where the secret `name` is. creds_dir is $CREDENTIALS_DIRECTORY (NULL or "" when not under
 * systemd): creds_dir/name is used when it exists. Otherwise `configured` (the station file's
 * path for it; NULL or "" when none). *from_credentials (may be NULL) says which. On failure
 * err holds words naming the credential and both places looked at. */
tf_cred_error tf_credential_path(const char *creds_dir, const char *name, const char *configured,
                                 char *path, size_t path_len, bool *from_credentials, char *err,
                                 size_t errlen);

/* The same with creds_dir taken from the environment ($CREDENTIALS_DIRECTORY). */
tf_cred_error tf_credential_path_env(const char *name, const char *configured, char *path,
                                     size_t path_len, bool *from_credentials, char *err,
                                     size_t errlen);

/* Opens path read-only and checks, on the open file, that only `self` (the station's user;
 * pass geteuid()) or root can read it: a regular file owned by root or self, no permission
 * for others, and group permission bits only as an ACL mask whose ACL gives no group and no
 * other user access. *fd gets the descriptor (O_CLOEXEC) on TF_CRED_OK, -1 otherwise; err
 * holds "PATH: why" on failure. */
tf_cred_error tf_secret_open(const char *path, uid_t self, int *fd, char *err, size_t errlen);
