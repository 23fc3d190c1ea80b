/* personal.c - [personalize] templates: parsed when the profile loads (every error names its
 * line), expanded per module into the base config. See personal.h. */
#include "personal.h"
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define VALUE_MAX 4096 /* past every field's size: a longer value is refused anyway */
#define SECRET_PREFIX "secret."

typedef enum ph_kind {
    PH_MAC, PH_MAC_HEX, PH_MAC_SUFFIX, PH_BAY, PH_LOT, PH_PRODUCT, PH_COLUMN, PH_FIELD, PH_SECRET,
    PH_UNKNOWN
} ph_kind;

/* The fixed placeholders and the fewest characters each expands to. */
static const struct {
    const char *name;
    ph_kind kind;
    size_t min_len;
} fixed[] = {
    {"mac", PH_MAC, 17}, {"mac_hex", PH_MAC_HEX, 12}, {"mac_suffix", PH_MAC_SUFFIX, 6},
    {"bay", PH_BAY, 1}, {"lot", PH_LOT, 0}, {"product", PH_PRODUCT, 1},
};
#define N_FIXED (sizeof fixed / sizeof fixed[0])

/* One piece of a template: literal text, or a placeholder's name. */
typedef struct seg {
    bool literal;
    const char *s;
    size_t n;
} seg;

__attribute__((format(printf, 3, 4))) static bool say(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return false;
}

/* The next piece from *pp; false with err on a brace that opens nothing or never closes. At
 * the end, *pp points at the NUL and out->n is 0. */
static bool next_seg(const char **pp, seg *out, char *err, size_t errlen)
{
    const char *p = *pp;
    if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
        *out = (seg){true, p, 1};
        *pp = p + 2;
        return true;
    }
    if (*p == '{') {
        const char *end = strchr(p + 1, '}');
        const char *open = strchr(p + 1, '{');
        if (!end || (open && open < end))
            return say(err, errlen, "a '{' is never closed (write {{ for a brace)");
        *out = (seg){false, p + 1, (size_t)(end - p - 1)};
        *pp = end + 1;
        return true;
    }
    if (*p == '}')
        return say(err, errlen, "'}' closes nothing (write }} for a brace)");
    size_t n = strcspn(p, "{}");
    *out = (seg){true, p, n};
    *pp = p + n;
    return true;
}

static bool seg_is(const seg *s, const char *name)
{
    return strlen(name) == s->n && !strncmp(s->s, name, s->n);
}

static int field_index(const tf_personal *p, const seg *s)
{
    for (int i = 0; i < p->n_fields; i++)
        if (seg_is(s, p->fields[i].f->name))
            return i;
    return -1;
}

static int column_index(const tf_personal *p, const seg *s)
{
    for (int i = 0; i < p->n_columns; i++)
        if (seg_is(s, p->columns[i]))
            return i;
    return -1;
}

int tf_personal_column(const tf_personal *p, const char *name)
{
    seg s = {false, name, strlen(name)};
    return column_index(p, &s);
}

static ph_kind classify(const tf_personal *p, const seg *s, int *index)
{
    *index = -1;
    for (size_t i = 0; i < N_FIXED; i++)
        if (seg_is(s, fixed[i].name)) {
            *index = (int)i;
            return fixed[i].kind;
        }
    size_t pl = strlen(SECRET_PREFIX);
    if (s->n > pl && !strncmp(s->s, SECRET_PREFIX, pl))
        return PH_SECRET;
    if ((*index = column_index(p, s)) >= 0)
        return PH_COLUMN;
    if ((*index = field_index(p, s)) >= 0)
        return PH_FIELD;
    return PH_UNKNOWN;
}

static bool valid_name(const char *s, size_t n)
{
    if (n == 0 || n >= TF_PERSONAL_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
            return false;
    return true;
}

bool tf_personal_add_field(tf_personal *p, const char *name, const char *tmpl, int line,
                           char *err, size_t errlen)
{
    const obk_field *f = obk_field_find(name);
    if (!f) {
        size_t used = (size_t)snprintf(err, errlen, "unknown key \"%s\" in [personalize] (the "
                                       "fields are", name);
        for (const obk_field *g = obk_fields; g->name && used < errlen; g++)
            used += (size_t)snprintf(err + used, errlen - used, " %s", g->name);
        if (used < errlen)
            snprintf(err + used, errlen - used, ")");
        return false;
    }
    for (int i = 0; i < p->n_fields; i++)
        if (p->fields[i].f == f)
            return say(err, errlen, "duplicate key \"%s\" (first at line %d)", name,
                       p->fields[i].line);
    if (p->n_fields >= TF_PERSONAL_MAX_FIELDS)
        return say(err, errlen, "more than %d fields", TF_PERSONAL_MAX_FIELDS);
    if (strlen(tmpl) >= TF_PERSONAL_TEMPLATE_MAX)
        return say(err, errlen, "%s: the template is longer than %d characters", name,
                   TF_PERSONAL_TEMPLATE_MAX - 1);
    tf_personal_field *pf = &p->fields[p->n_fields++];
    pf->f = f;
    pf->line = line;
    snprintf(pf->tmpl, sizeof pf->tmpl, "%s", tmpl);
    return true;
}

bool tf_personal_set_columns(tf_personal *p, const char *list, char *err, size_t errlen)
{
    p->n_columns = 0;
    const char *s = list;
    while (*s) {
        while (*s == ' ' || *s == '\t' || *s == ',')
            s++;
        size_t n = strcspn(s, ", \t");
        if (!n)
            break;
        if (!valid_name(s, n))
            return say(err, errlen, "ledger column \"%.*s\" is not a name (letters, digits, _ -)",
                       (int)n, s);
        char nm[TF_PERSONAL_NAME_MAX];
        memcpy(nm, s, n);
        nm[n] = '\0';
        bool taken = obk_field_find(nm) != NULL || tf_personal_column(p, nm) >= 0;
        for (size_t i = 0; i < N_FIXED; i++)
            taken |= !strcmp(nm, fixed[i].name);
        if (taken)
            return say(err, errlen, "ledger column \"%s\" is a placeholder's or a field's name, "
                       "or repeats", nm);
        if (p->n_columns >= TF_PERSONAL_MAX_COLUMNS)
            return say(err, errlen, "more than %d ledger columns", TF_PERSONAL_MAX_COLUMNS);
        memcpy(p->columns[p->n_columns], s, n);
        p->columns[p->n_columns][n] = '\0';
        p->n_columns++;
        s += n;
    }
    if (!p->n_columns)
        return say(err, errlen, "ledger names no column");
    return true;
}

/* ---- the static check ---------------------------------------------------------------- */

/* The fewest characters field i expands to for any module; -1 with err on a cycle. */
static long min_len(const tf_personal *p, int i, int depth, char *err, size_t errlen)
{
    if (depth > TF_PERSONAL_MAX_FIELDS) {
        say(err, errlen, "its value refers back to itself (through {%s})", p->fields[i].f->name);
        return -1;
    }
    long n = 0;
    const char *t = p->fields[i].tmpl;
    seg s;
    while (*t && next_seg(&t, &s, err, errlen)) {
        if (s.literal) {
            n += (long)s.n;
            continue;
        }
        int idx;
        ph_kind k = classify(p, &s, &idx);
        if (k == PH_FIELD) {
            long m = min_len(p, idx, depth + 1, err, errlen);
            if (m < 0)
                return -1;
            n += m;
        } else if (k != PH_COLUMN && k != PH_SECRET && k != PH_UNKNOWN) {
            n += (long)fixed[idx].min_len;
        }
    }
    return n;
}

static bool check_field(const tf_personal *p, int i, char *err, size_t errlen)
{
    const tf_personal_field *pf = &p->fields[i];
    const char *name = pf->f->name;
    const char *t = pf->tmpl;
    seg s;
    int n_segs = 0, n_secrets = 0;
    char why[200];
    while (*t) {
        if (!next_seg(&t, &s, why, sizeof why))
            return say(err, errlen, "%s: %s", name, why);
        n_segs++;
        if (s.literal)
            continue;
        int idx;
        switch (classify(p, &s, &idx)) {
        case PH_UNKNOWN: {
            size_t used = (size_t)snprintf(err, errlen, "%s: unknown placeholder {%.*s} (known: mac, "
                                           "mac_hex, mac_suffix, bay, lot, product", name,
                                           (int)s.n, s.s);
            for (int c = 0; c < p->n_columns && used < errlen; c++)
                used += (size_t)snprintf(err + used, errlen - used, ", %s", p->columns[c]);
            for (int f = 0; f < p->n_fields && used < errlen; f++)
                if (!p->fields[f].f->secret)
                    used += (size_t)snprintf(err + used, errlen - used, ", %s",
                                             p->fields[f].f->name);
            if (used < errlen)
                snprintf(err + used, errlen - used, ", secret.NAME)");
            return false;
        }
        case PH_SECRET:
            if (!valid_name(s.s + strlen(SECRET_PREFIX), s.n - strlen(SECRET_PREFIX)))
                return say(err, errlen, "%s: {%.*s} does not name a secret", name, (int)s.n, s.s);
            if (!pf->f->secret)
                return say(err, errlen, "%s: a secret may only fill a password field (this value "
                           "would show on the dashboard and in reports)", name);
            if (!p->secrets[0])
                return say(err, errlen, "%s: {%.*s} needs a secrets file (secrets = PATH or "
                           "credential:NAME in [personalize])", name, (int)s.n, s.s);
            n_secrets++;
            break;
        case PH_FIELD:
            if (p->fields[idx].f->secret)
                return say(err, errlen, "%s: {%s} is a password: it may not be copied into "
                           "another field", name, p->fields[idx].f->name);
            break;
        default:
            break;
        }
    }
    if (pf->f->secret && !(n_segs == 1 && n_secrets == 1) && pf->tmpl[0])
        return say(err, errlen, "%s: a password comes only from the secrets file: write "
                   "%s = {secret.NAME}, never the value", name, name);
    if (pf->f->type == OBK_FIELD_INT && !strchr(pf->tmpl, '{')) {
        uint8_t scratch[OBK_CFG_SIZE];
        if (!obk_config_set(scratch, pf->f, pf->tmpl, why, sizeof why))
            return say(err, errlen, "%s", why);
    }
    long m = min_len(p, i, 0, why, sizeof why);
    if (m < 0)
        return say(err, errlen, "%s: %s", name, why);
    if (pf->f->type == OBK_FIELD_TEXT && m >= (long)pf->f->size)
        return say(err, errlen, "%s: value too long: at least %ld characters for every module, "
                   "the field holds %u", name, m, pf->f->size - 1u);
    return true;
}

bool tf_personal_check(const tf_personal *p, int *line, char *err, size_t errlen)
{
    for (int i = 0; i < p->n_fields; i++)
        if (!check_field(p, i, err, errlen)) {
            *line = p->fields[i].line;
            return false;
        }
    return true;
}

/* ---- expansion ------------------------------------------------------------------------ */

typedef struct buf {
    char *s;
    size_t len, cap; /* len may pass cap: the text is cut, the length still counted */
} buf;

static void put(buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++, b->len++)
        if (b->len + 1 < b->cap)
            b->s[b->len] = s[i];
    b->s[b->len + 1 < b->cap ? b->len : b->cap - 1] = '\0';
}

static bool expand(const tf_personal *p, int i, const tf_personal_vars *v, int depth, buf *b,
                   char *err, size_t errlen)
{
    const tf_personal_field *pf = &p->fields[i];
    if (depth > TF_PERSONAL_MAX_FIELDS)
        return say(err, errlen, "%s: refers back to itself", pf->f->name);
    const char *t = pf->tmpl;
    seg s;
    char tmp[64];
    const uint8_t *m = v->mac;
    while (*t) {
        if (!next_seg(&t, &s, err, errlen))
            return false;
        if (s.literal) {
            put(b, s.s, s.n);
            continue;
        }
        int idx;
        const char *val = tmp;
        switch (classify(p, &s, &idx)) {
        case PH_MAC:
            snprintf(tmp, sizeof tmp, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3],
                     m[4], m[5]);
            break;
        case PH_MAC_HEX:
            snprintf(tmp, sizeof tmp, "%02x%02x%02x%02x%02x%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
            break;
        case PH_MAC_SUFFIX:
            snprintf(tmp, sizeof tmp, "%02x%02x%02x", m[3], m[4], m[5]);
            break;
        case PH_BAY:
            snprintf(tmp, sizeof tmp, "%d", v->bay);
            break;
        case PH_LOT:
            val = v->lot ? v->lot : "";
            break;
        case PH_PRODUCT:
            val = v->product ? v->product : "";
            break;
        case PH_COLUMN:
            if (!v->columns)
                return say(err, errlen, "%s: {%s} needs a ledger row", pf->f->name, p->columns[idx]);
            val = v->columns[idx] ? v->columns[idx] : "";
            break;
        case PH_FIELD:
            if (!expand(p, idx, v, depth + 1, b, err, errlen))
                return false;
            continue;
        case PH_SECRET: {
            char nm[TF_PERSONAL_NAME_MAX];
            snprintf(nm, sizeof nm, "%.*s", (int)(s.n - strlen(SECRET_PREFIX)),
                     s.s + strlen(SECRET_PREFIX));
            val = v->secret ? v->secret(v->secret_ctx, nm) : NULL;
            if (!val)
                return say(err, errlen, "%s: the secrets file has no \"%s\"", pf->f->name, nm);
            break;
        }
        case PH_UNKNOWN:
            return say(err, errlen, "%s: unknown placeholder {%.*s}", pf->f->name, (int)s.n, s.s);
        }
        put(b, val, strlen(val));
    }
    return true;
}

bool tf_personal_value(const tf_personal *p, const tf_personal_field *pf,
                       const tf_personal_vars *v, char *out, size_t outlen, char *err,
                       size_t errlen)
{
    buf b = {out, 0, outlen};
    out[0] = '\0';
    return expand(p, (int)(pf - p->fields), v, 0, &b, err, errlen);
}

__attribute__((format(printf, 5, 6))) static bool fail_at(const tf_personal *p, int line,
                                                          char *err, size_t errlen,
                                                          const char *fmt, ...)
{
    int n = snprintf(err, errlen, "%s:%d: ", p->profile_path, line);
    if (n >= 0 && (size_t)n < errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return false;
}

bool tf_personal_build(const tf_personal *p, const tf_personal_vars *v, uint8_t *out,
                       char *err, size_t errlen)
{
    memcpy(out, p->base, OBK_CFG_SIZE);
    char value[VALUE_MAX], why[300];
    for (int i = 0; i < p->n_fields; i++) {
        const tf_personal_field *pf = &p->fields[i];
        if (pf->f->secret && !v->secret)
            continue; /* shown masked; the base's value stays */
        buf b = {value, 0, sizeof value};
        value[0] = '\0';
        if (!expand(p, i, v, 0, &b, why, sizeof why))
            return fail_at(p, pf->line, err, errlen, "%s", why);
        if (pf->f->type == OBK_FIELD_TEXT && b.len >= pf->f->size)
            return fail_at(p, pf->line, err, errlen, "%s: value too long: %zu characters, the "
                           "field holds %u", pf->f->name, b.len, pf->f->size - 1u);
        if (!obk_config_set(out, pf->f, value, why, sizeof why))
            return fail_at(p, pf->line, err, errlen, "%s", why);
    }
    explicit_bzero(value, sizeof value); /* a password may have passed through */
    obk_config_set_mac(out, v->mac);
    obk_config_seal(out, p->crc);
    return true;
}
