/* tf_keys.h - a settings file's schema as data: one row per key, {name, sections, type, range,
 * default, help}. The profile and the station file each keep one table (profile.c,
 * station_config.c); the same row decides whether a key is known in a section, whether it may
 * repeat, the range a number is checked against, the default a loader starts from, and the
 * words `trayflash profile new` writes above it. The ctests profiles_profile_schema_docs and
 * station_config_schema compare the tables with the man page and the example files, so a key
 * cannot be added in one place only.
 * No domain knowledge here: what a value means is the loader's. */
#pragma once
#include <stdbool.h>

typedef enum tf_key_type {
    TF_KEY_TEXT,    /* a printable string */
    TF_KEY_PATH,    /* a file, relative to the file's own folder */
    TF_KEY_INT,     /* an integer in [lo, hi] */
    TF_KEY_BOOL,    /* yes/no, true/false, on/off, 1/0 */
    TF_KEY_CHOICE,  /* one word of `choices` ("auto|4k") */
    TF_KEY_LIST,    /* a comma-separated list */
} tf_key_type;

enum tf_key_flags {
    TF_KEY_REQUIRED = 1u << 0, /* every section of a kind it belongs to must give it */
    TF_KEY_REQUIRED_MAIN = 1u << 3, /* only the main section (kind bit 0) must give it */
    TF_KEY_REPEATS = 1u << 1,  /* may come more than once in a section (the values add up) */
    TF_KEY_FILL_IN = 1u << 2,  /* a template writes `example` and marks it for the engineer */
    TF_KEY_SET_IN_TEMPLATE = 1u << 4, /* a template sets it (to `example`, or the file's name)
                                         rather than showing its default commented out */
};

typedef struct tf_key {
    const char *name;
    unsigned sections;    /* bit mask over the schema's section kinds: where the key may appear */
    tf_key_type type;
    long lo, hi;          /* TF_KEY_INT: the accepted range */
    const char *choices;  /* TF_KEY_CHOICE: the words, '|' between */
    const char *def;      /* the default as a value the file could hold; NULL: none (or it
                             depends on other keys: `def_text` says how) */
    const char *def_text; /* a default in words, when it is not one value */
    const char *help;     /* what it means: the template's comment, the docs' sentence */
    unsigned flags;       /* tf_key_flags */
    const char *example;  /* a template's value for a TF_KEY_FILL_IN key */
} tf_key;

typedef struct tf_schema {
    const char *what;                  /* "profile", "station file": for messages */
    const char *const *section_names;  /* section kind bit i -> its name, as in the docs */
    int n_section_kinds;
    const tf_key *keys;
    int n_keys;
} tf_schema;

/* The index of the row for key `name` in a section of kind mask `kind` (0: any kind), or -1.
 * A name may have one row per section kind ([station] name and [bay N] name differ). */
int tf_schema_find(const tf_schema *s, unsigned kind, const char *name);

/* Duplicate-key detection for one section: key_line[] has n_keys entries, 0 = not given.
 * Records `line` for key k and returns 0, or returns the line of the earlier occurrence when
 * the key was already given and may not repeat. */
int tf_schema_note_key(const tf_schema *s, int *key_line, int k, int line);
