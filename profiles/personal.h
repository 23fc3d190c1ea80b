/* personal.h - a profile's [personalize] section: the per-device config sector each module
 * leaves the tray with, built from a base config and field templates.
 *
 *   [personalize]
 *   kind = openbeken                 ; OpenBeken's config sector, version 5 (engine/obk_config.h)
 *   base = plug-base.bin             ; a config exported from a configured module of this product
 *   base_sha256 = 64 hex digits      ; optional: the base file must have this sha256
 *   secrets = credential:line2       ; or a path; read by the station, never stored
 *   ledger = serial, batch           ; the ledger's columns the templates use (optional)
 *   crc = signed                     ; the checksum's char variant (signed: OpenBeken on BK7231)
 *   short_name = plug-{mac_suffix}   ; a field: a literal or a template
 *   mqtt_client = {short_name}       ; ... may use another field's value
 *   mqtt_pass = {secret.mqtt}        ; a password field takes only {secret.NAME}
 *
 * Placeholders: {mac} (aa:bb:cc:dd:ee:ff), {mac_hex} (12 lower-case hex digits), {mac_suffix}
 * (the last three bytes, 6 hex digits), {bay}, {lot}, {product}, a ledger column named by
 * `ledger`, a field the section sets, {secret.NAME}; "{{" and "}}" are literal braces.
 * Everything the section does not set comes from the base; the firmware's MAC field is the
 * module's. Errors name the profile line. Pure: no I/O but reading the base (personal.c). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "obk_config.h"

#define TF_PERSONAL_MAX_FIELDS 24
#define TF_PERSONAL_MAX_COLUMNS 16
#define TF_PERSONAL_TEMPLATE_MAX 1600
#define TF_PERSONAL_NAME_MAX 64

typedef struct tf_personal_field {
    const obk_field *f;
    char tmpl[TF_PERSONAL_TEMPLATE_MAX];
    int line;
} tf_personal_field;

typedef struct tf_personal {
    bool enabled;
    int line;                     /* of the [personalize] header */
    char profile_path[4096];      /* for "file:line:" in errors */
    char base_path[4096];
    int base_line;
    uint8_t base[OBK_CFG_SIZE];
    char base_sha256[65];         /* the base file's, as read */
    char base_sha256_pin[65];     /* base_sha256 = HEX: the file must have it */
    int base_sha256_line;         /* 0: not pinned */
    char secrets[4096];           /* a path, or "credential:NAME"; "" = none */
    int secrets_line;
    obk_crc_variant crc;
    char columns[TF_PERSONAL_MAX_COLUMNS][TF_PERSONAL_NAME_MAX];
    int n_columns;
    int ledger_line;              /* 0: the profile uses no ledger */
    tf_personal_field fields[TF_PERSONAL_MAX_FIELDS];
    int n_fields;
} tf_personal;

/* A secret's value by name (NULL: not there). */
typedef const char *(*tf_secret_fn)(void *ctx, const char *name);

/* What one module's sector is built from. */
typedef struct tf_personal_vars {
    uint8_t mac[6];
    int bay;
    const char *lot;              /* "" when the station has none */
    const char *product;
    const char *const *columns;   /* n_columns values aligned with p->columns; NULL: no row */
    tf_secret_fn secret;          /* NULL: secrets unknown (profile check without access) */
    void *secret_ctx;
} tf_personal_vars;

/* A field line of the section: checks its name is a field and stores it. */
bool tf_personal_add_field(tf_personal *p, const char *name, const char *tmpl, int line,
                           char *err, size_t errlen);
/* `ledger = a, b`: the column names ([A-Za-z0-9_], not a placeholder's name). */
bool tf_personal_set_columns(tf_personal *p, const char *list, char *err, size_t errlen);
/* The whole section once read: placeholders known, references without cycles, password
 * fields only from secrets and secrets only there, no value that is too long whatever the
 * module. On failure *line is the profile line to name and err the words (no prefix). */
bool tf_personal_check(const tf_personal *p, int *line, char *err, size_t errlen);

/* Builds one module's sector (OBK_CFG_SIZE bytes, sealed) from the base. False with err =
 * "profile:line: field: why" when a value does not fit its field or a secret is missing
 * (without a secret function, password fields keep the base's value). */
bool tf_personal_build(const tf_personal *p, const tf_personal_vars *v, uint8_t *out,
                       char *err, size_t errlen);
/* The value a field gets for these vars (expanded template), for `profile check`. */
bool tf_personal_value(const tf_personal *p, const tf_personal_field *pf,
                       const tf_personal_vars *v, char *out, size_t outlen, char *err,
                       size_t errlen);
/* The index of a ledger column, or -1. */
int tf_personal_column(const tf_personal *p, const char *name);
