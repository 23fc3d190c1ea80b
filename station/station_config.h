/* station_config.h - the station's INI file (libinih): its name, database, pool size, start
 * mode, default profile, the engineer PIN's hash, the adapters it accepts and the bay map
 * (physical USB port path -> bay number, name, profile). Errors name file:line.
 *
 * Which profile a bay flashes, most specific first: `[bay N] profile =`, then the
 * `[bays A-B] profile =` range holding N, then `[station] profile =` (or --profile). A
 * `[bay N]` without `path` only names and assigns the bay that gets number N (hot-plugged
 * adapters take the lowest free number; the simulator's are numbered in order).
 *
 * Strict: the file must be a regular file; a key twice in a section (but `allow`, whose
 * lists add up), a section twice ([bay 3] and [bay 03] included), an indented continuation
 * line, a line longer than libinih's buffer (a comment is only cut), or a value with a
 * control character or bytes that are not UTF-8 (it would reach terminals as is) is an error. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "bk_reset.h"
#include "hub_power.h"
#include "tf_keys.h"

#define SC_MAX_BAYS 128
#define SC_MAX_ALLOW 16
#define SC_PATH_MAX 1024
#define SC_MAX_RANGES 32
#define SC_HASH_MAX 512

typedef enum sc_start_mode { SC_START_ON_PLUG = 0, SC_START_POLL } sc_start_mode;
/* require_lot: the index of the value in its choice list "no|yes" (0, the default: no). */
enum { SC_REQUIRE_LOT_NO = 0, SC_REQUIRE_LOT_YES = 1 };
/* on_already_passed: "reflash|skip|ask". */
typedef enum sc_already_passed { SC_AP_REFLASH = 0, SC_AP_SKIP, SC_AP_ASK } sc_already_passed;

typedef struct sc_bay {
    int bay;                   /* 1-based, as printed on the fixture */
    char id_path[128];         /* udev ID_PATH of the USB port ("sim-3" for the simulator);
                                  "" = by number only */
    char name[32];             /* "A01"; default "%02d" of the number */
    char profile[SC_PATH_MAX]; /* per-bay override, "" = the station's */
    bk_reset_seq reset;        /* with has_reset: this bay's fixture resets its own way */
    bool has_reset;
    hub_port power;            /* with has_power: the hub port feeding the module's 3.3 V */
    bool has_power;
    int line;
} sc_bay;

typedef struct sc_bay_range {
    int first, last;           /* inclusive bay numbers */
    char profile[SC_PATH_MAX];
    int line;
} sc_bay_range;

typedef struct sc_usb_id {
    uint16_t vid, pid;
} sc_usb_id;

typedef struct station_config {
    char path[SC_PATH_MAX];    /* "" when defaults only */
    char name[64];
    char db[SC_PATH_MAX];
    int pool_size;             /* default 32: one worker per bay of a 32-bay tray */
    sc_start_mode start_mode;
    int poll_interval_ms;      /* poll mode: how often an idle bay is probed (default 2000) */
    int backup_cap_mb;         /* the backup store's cap in MiB; 0: none (warning at 90%) */
    char profile[SC_PATH_MAX];
    char engineer_pin_hash[SC_HASH_MAX]; /* crypt(3) hash; "" = engineer mode disabled */
    char line[64];             /* the production line; "" = none */
    int require_lot;           /* SC_REQUIRE_LOT_YES: no job starts without lot and operator */
    int on_already_passed;     /* sc_already_passed */
    int ask_timeout_s;         /* SC_AP_ASK: a bay's wait for the operator's answer (default 120) */
    bk_reset_seq reset;        /* how the fixtures' DTR/RTS reset a module (default: preset
                                  "default", the engine's own pulse) */
    int power_off_ms;          /* a power-cycle's off time (bays with `power`), default 300 */
    char central[SC_PATH_MAX];  /* the central database's URL (no password); "" = none given */
    char central_passfile[SC_PATH_MAX]; /* "" = the credential pgpass or libpq's own */
    sc_usb_id allow[SC_MAX_ALLOW];
    int n_allow;
    sc_bay bays[SC_MAX_BAYS];
    int n_bays;
    sc_bay_range ranges[SC_MAX_RANGES]; /* never overlapping */
    int n_ranges;
} station_config;

/* The station file's schema: every key per section kind, its range, default and words. */
extern const tf_schema station_config_schema;

void station_config_defaults(station_config *c);
/* Loads `path` over the defaults. Relative db/profile paths are taken from the file's folder.
 * Returns 0, or -1 with err = "file:line: words". */
int station_config_load(const char *path, station_config *c, char *err, size_t errlen);
bool station_config_allows(const station_config *c, uint16_t vid, uint16_t pid);
const sc_bay *station_config_bay_by_path(const station_config *c, const char *id_path);
const sc_bay *station_config_bay_by_number(const station_config *c, int bay);
/* The reset sequence of bay `bay`: its own, else the station's. */
const bk_reset_seq *station_config_bay_reset(const station_config *c, int bay);
/* The profile path bay `bay` flashes: its own, its range's, else `default_profile`. */
const char *station_config_bay_profile(const station_config *c, int bay,
                                       const char *default_profile);
