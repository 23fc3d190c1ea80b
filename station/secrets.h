/* secrets.h - the station-local secrets file a [personalize] section names (wifi and MQTT
 * passwords): `NAME = value` lines, '#' or ';' comment lines. Found and vetted by credentials.h
 * (a path, or credential:NAME from $CREDENTIALS_DIRECTORY; refused when a group or others can
 * read it), kept in memory only, wiped on free. The database never sees a value, nor anything
 * derived from one: each load gets a random id (`id`) that attempts record instead, so a
 * report can tell which load a module used without a hash anyone could test guesses against. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

typedef struct tf_secrets tf_secrets;

/* spec: a path or "credential:NAME". NULL with err = words (the file and the remedy). */
tf_secrets *tf_secrets_load(const char *spec, char *err, size_t errlen);
/* The value of `name`, or NULL. Valid until tf_secrets_free. */
const char *tf_secrets_get(const tf_secrets *s, const char *name);
/* 32 hex digits, random per load. */
const char *tf_secrets_id(const tf_secrets *s);
void tf_secrets_free(tf_secrets *s);
/* tf_secret_fn for personal.h: ctx is the tf_secrets. */
const char *tf_secrets_lookup(void *ctx, const char *name);
