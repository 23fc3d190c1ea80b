/* central_roles.c - a login role per station, and read-only roles (see central.h). The password
 * is made here, sent to the server only as a SCRAM hash (PQencryptPasswordConn), and handed back
 * for the station's passfile: it is never in a command line, a URL or the database in clear. */
#include "central.h"
#include "central_internal.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

enum { NAME_MAX_LEN = 40, PASSWORD_BYTES = 24 };

static const struct {
    const char *prefix, *group;
} role_kinds[] = {
    [CENTRAL_ROLE_STATION] = {"tf_station_", "trayflash_station"},
    [CENTRAL_ROLE_READER] = {"tf_reader_", "trayflash_reader"},
};

/* The role's name from the station's: lower case, '.' and '-' as '_'. */
static int role_name(central_role_kind kind, const char *name, char *out, size_t outlen, char *err,
                     size_t errlen)
{
    size_t n = strlen(name);
    if (n == 0 || n > NAME_MAX_LEN || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                   "0123456789._-") != n) {
        snprintf(err, errlen, "name \"%.60s\": use 1 to %d letters, digits, '.', '_' or '-'", name,
                 NAME_MAX_LEN);
        return -1;
    }
    size_t k = (size_t)snprintf(out, outlen, "%s", role_kinds[kind].prefix);
    for (size_t i = 0; i < n && k + 1 < outlen; i++)
        out[k++] = name[i] == '.' || name[i] == '-' ? '_' : (char)tolower((unsigned char)name[i]);
    out[k] = 0;
    return 0;
}

static int make_password(char *out, size_t outlen, char *err, size_t errlen)
{
    unsigned char b[PASSWORD_BYTES];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        snprintf(err, errlen, "getrandom failed: no password made");
        return -1;
    }
    for (size_t i = 0; i < sizeof b && 2 * i + 2 < outlen; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
    return 0;
}

/* `head` ROLE `tail` [LITERAL]: a role name and a literal put in by the escapers (DDL takes no
 * parameters). */
static int exec_ddl(PGconn *c, const char *head, const char *ident, const char *tail,
                    const char *literal, char *err, size_t errlen)
{
    char *id = PQescapeIdentifier(c, ident, strlen(ident));
    char *lit = literal ? PQescapeLiteral(c, literal, strlen(literal)) : NULL;
    int rc = -1;
    if (id && (!literal || lit)) {
        size_t len = strlen(head) + strlen(id) + strlen(tail) + (lit ? strlen(lit) : 0) + 1;
        char *sql = malloc(len);
        if (sql) {
            snprintf(sql, len, "%s%s%s%s", head, id, tail, lit ? lit : "");
            rc = central_exec(c, sql, err, errlen);
            free(sql);
        }
    } else {
        central_pg_error(err, errlen, "escaping a role name", c);
    }
    PQfreemem(id);
    PQfreemem(lit);
    return rc;
}

int central_add_role(const central_target *t, central_role_kind kind, const char *name,
                     bool reset_password, central_role *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (role_name(kind, name, out->role, sizeof out->role, err, errlen) < 0 ||
        make_password(out->password, sizeof out->password, err, errlen) < 0)
        return -1;
    PGconn *c = central_connect(t, "connecting to the central database", err, errlen);
    if (!c)
        return -1;
    int rc = -1;
    const char *v[1] = {out->role};
    PGresult *r = PQexecParams(c, "SELECT (SELECT count(*) FROM pg_roles WHERE rolname = $1), "
                                  "to_regclass('central_schema_version') IS NOT NULL",
                               1, NULL, v, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        central_result_error(err, errlen, "looking the role up", r);
        goto done;
    }
    bool exists = atoi(PQgetvalue(r, 0, 0)) > 0, schema = PQgetvalue(r, 0, 1)[0] == 't';
    if (!schema) {
        snprintf(err, errlen, "database %s has no trayflash schema: run trayflash central init first",
                 PQdb(c));
        goto done;
    }
    if (exists && !reset_password) {
        snprintf(err, errlen, "role %s already exists (give --reset-password for a new password)",
                 out->role);
        goto done;
    }
    if (!exists) {
        char tail[96];
        snprintf(tail, sizeof tail, " LOGIN IN ROLE %s", role_kinds[kind].group);
        if (exec_ddl(c, "CREATE ROLE ", out->role, tail, NULL, err, errlen) < 0)
            goto done;
    }
    char *hash = PQencryptPasswordConn(c, out->password, out->role, NULL);
    if (!hash) {
        central_pg_error(err, errlen, "hashing the password", c);
        goto done;
    }
    rc = exec_ddl(c, "ALTER ROLE ", out->role, " PASSWORD ", hash, err, errlen);
    PQfreemem(hash);
    const char *h = PQhost(c), *p = PQport(c), *d = PQdb(c);
    snprintf(out->host, sizeof out->host, "%s", h && *h ? h : "localhost");
    snprintf(out->port, sizeof out->port, "%s", p && *p ? p : "5432");
    snprintf(out->dbname, sizeof out->dbname, "%s", d ? d : "");
done:
    PQclear(r);
    PQfinish(c);
    if (rc < 0)
        memset(out->password, 0, sizeof out->password);
    return rc;
}
