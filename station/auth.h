/* auth.h - the engineer PIN: what lets a person change which product a bay flashes.
 *
 * The station stores only a crypt(3) hash of the PIN (libxcrypt, yescrypt "$y$..."); the clear
 * PIN lives in one caller-owned buffer for as long as it takes to hash or check it, and the
 * caller wipes it (auth_wipe). It never goes to argv, a log line or the database. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define AUTH_PIN_MAX 128
#define AUTH_HASH_MAX 512

/* A fresh yescrypt hash of `pin` (random salt from the OS). 0, or -1 with err in words. */
int auth_pin_hash(const char *pin, char *hash, size_t hashlen, char *err, size_t errlen);
/* Whether `pin` matches `hash`. A malformed hash is refused (-1, err); a mismatch is 0 with
 * *match false. The comparison takes the same time wherever the strings differ. */
int auth_pin_check(const char *hash, const char *pin, bool *match, char *err, size_t errlen);
/* Whether a config value is a hash this libxcrypt can check, and a strong one (not DES/MD5):
 * false with the reason in err. */
bool auth_hash_usable(const char *hash, char *err, size_t errlen);

/* Reads one PIN line from fd `in`. When `in` is a terminal the echo is off while typing,
 * `prompt` goes to `tty_out`, and the terminal is restored even on error. A PIN must be
 * 4..AUTH_PIN_MAX-1 printable characters. 0, or -1 with err. */
int auth_read_pin(int in, FILE *tty_out, const char *prompt, char *pin, size_t pinlen, char *err,
                  size_t errlen);

/* The OS user running the station (getpwuid(geteuid())), or "uid N" when it has no name. */
void auth_os_user(char *out, size_t outlen);

/* Overwrites a secret so the compiler cannot drop the store. */
void auth_wipe(void *p, size_t n);
