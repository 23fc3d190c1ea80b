/* test_profile.c - profiles: the shipped ones load and become job specs; every file in bad/
 * fails with the file:line and words its "; expect:" line gives; the key table agrees with the
 * man page, profiles/README.md and the shipped profiles.
 * Usage: test_profile --list | CASE <profiles source dir> <tests/profiles source dir>
 *        <scratch base> */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "profile.h"
#include "check.h"
#include "test_util.h"

static const char *profiles_dir, *tests_dir, *scratch_base;

/* Checks what every loaded profile must satisfy, against the files as the test reads them. */
static void check_loaded(const char *path, const tf_profile *p)
{
    size_t tlen;
    uint8_t *text = tu_read(path, &tlen);
    char sha[65];
    bk_sha256_hex(text, tlen, sha);
    CHECK(p->text && p->text_len == tlen && memcmp(p->text, text, tlen) == 0);
    CHECK(strcmp(p->text_sha256, sha) == 0);
    free(text);
    CHECK(p->n_variants >= 1 && p->n_variants <= BK_MAX_VARIANTS);
    for (int i = 0; i < p->n_variants; i++) {
        const tf_profile_variant *v = &p->variants[i];
        CHECK(bk_family_get(v->chip) != NULL);
        CHECK(strcmp(v->image.sha256, v->sha256_pin) == 0);
        CHECK(v->image.data && v->image.len > 0);
        CHECK(v->offset == v->image.offset && v->offset % 4096 == 0);
        if (v->image.kind == BK_IMAGE_BIN) {
            size_t ilen;
            uint8_t *img = tu_read(v->image_path, &ilen);
            /* a QIO file starts at flash address 0; a plain .bin at the offset */
            size_t skip = v->qio ? v->image.offset : 0;
            CHECK(ilen == skip + v->image.len &&
                  memcmp(img + skip, v->image.data, v->image.len) == 0);
            free(img);
        }
    }
    bk_job_spec spec;
    memset(&spec, 0xA5, sizeof spec); /* to_spec must set every field it owns */
    tf_profile_to_spec(p, &spec);
    CHECK(spec.product == p->product);
    CHECK(spec.n_variants == p->n_variants);
    for (int i = 0; i < p->n_variants; i++) {
        CHECK(spec.variants[i].chip == p->variants[i].chip);
        CHECK(spec.variants[i].image == p->variants[i].image.data);
        CHECK(spec.variants[i].image_len == p->variants[i].image.len);
        CHECK(spec.variants[i].offset == p->variants[i].image.offset);
        CHECK(strcmp(spec.variants[i].image_sha256, p->variants[i].image.sha256) == 0);
    }
    CHECK(spec.n_bauds == p->n_bauds && spec.n_bauds >= 1);
    for (int i = 0; i < spec.n_bauds; i++) {
        CHECK(spec.bauds[i] == p->bauds[i] && tf_profile_baud_supported(spec.bauds[i]));
        if (i > 0)
            CHECK(spec.bauds[i] < spec.bauds[i - 1]);
    }
    CHECK(spec.erase_mode == p->erase_mode);
    CHECK(spec.allow_bootloader_write == p->allow_bootloader);
    CHECK(spec.skip_unchanged == p->skip_unchanged);
    CHECK(spec.link_timeout_ms == p->link_timeout_ms);
    CHECK(spec.write_retries == p->write_retries);
}

static int load(const char *dir, const char *name, tf_profile *p, char *path, size_t plen)
{
    char err[1024];
    snprintf(path, plen, "%s/%s", dir, name);
    int rc = tf_profile_load(path, p, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "load %s: %s\n", path, err);
    CHECK(rc == 0);
    return rc;
}

static int case_shipped(void)
{
    char path[4096];
    tf_profile p;
    if (load(profiles_dir, "wb2s-openbk.ini", &p, path, sizeof path) == 0) {
        check_loaded(path, &p);
        CHECK(strcmp(p.name, "wb2s-openbk") == 0 && strcmp(p.product, "smart-plug-P1") == 0);
        CHECK(p.n_variants == 1 && p.variants[0].chip == BK_CHIP_BK7231T);
        CHECK(p.variants[0].image.len == 1u << 20 && p.variants[0].offset == 0x11000);
        CHECK(p.n_bauds == 3 && p.bauds[0] == 921600 && p.bauds[1] == 460800 &&
              p.bauds[2] == 115200);
        CHECK(!p.variants[0].qio && !p.allow_bootloader);
        tf_profile_free(&p);
        CHECK(p.text == NULL);
    }
    if (load(profiles_dir, "cb2s-openbk.ini", &p, path, sizeof path) == 0) {
        check_loaded(path, &p);
        CHECK(p.variants[0].chip == BK_CHIP_BK7231N);
        tf_profile_free(&p);
    }
    if (load(profiles_dir, "demo-small.ini", &p, path, sizeof path) == 0) {
        check_loaded(path, &p);
        CHECK(p.variants[0].image.len < 256u << 10);
        tf_profile_free(&p);
    }
    /* Only the required keys: the defaults the header documents. */
    if (load(profiles_dir, "demo-small-uf2.ini", &p, path, sizeof path) == 0) {
        check_loaded(path, &p);
        CHECK(p.variants[0].image.kind == BK_IMAGE_UF2 && p.variants[0].offset == 0x11000);
        CHECK(p.n_bauds == 3 && p.bauds[0] == 921600 && p.bauds[2] == 115200);
        CHECK(p.erase_mode == BK_ERASE_AUTO && p.skip_unchanged && !p.allow_bootloader);
        CHECK(p.link_timeout_ms == 10000 && p.write_retries == 2);
        tf_profile_free(&p);
    }
    return 0;
}

static int case_multi(void)
{
    char path[4096], gdir[4096];
    tf_profile p;
    snprintf(gdir, sizeof gdir, "%s/good", tests_dir);
    if (load(gdir, "multi-chip.ini", &p, path, sizeof path) != 0)
        return 0;
    check_loaded(path, &p);
    CHECK(p.n_variants == 2);
    CHECK(p.variants[0].chip == BK_CHIP_BK7231T && p.variants[1].chip == BK_CHIP_BK7231N);
    CHECK(p.variants[1].line == 15);
    CHECK(p.variants[0].image.len != p.variants[1].image.len);
    /* baud 460800 without a fall-back list: only the lower default, 115200, follows */
    CHECK(p.n_bauds == 2 && p.bauds[0] == 460800 && p.bauds[1] == 115200);
    CHECK(p.erase_mode == BK_ERASE_4K && !p.skip_unchanged);
    CHECK(p.link_timeout_ms == 20000 && p.write_retries == 0);
    tf_profile_free(&p);
    return 0;
}

/* `got` must start with `want`, where "..." in `want` skips any text. */
static bool matches(const char *got, const char *want)
{
    const char *w = want;
    const char *gap = strstr(w, "...");
    size_t n = gap ? (size_t)(gap - w) : strlen(w);
    if (strncmp(got, w, n) != 0)
        return false;
    got += n;
    while (gap) {
        w = gap + 3;
        gap = strstr(w, "...");
        n = gap ? (size_t)(gap - w) : strlen(w);
        char piece[1024];
        snprintf(piece, sizeof piece, "%.*s", (int)n, w);
        const char *at = strstr(got, piece);
        if (!at)
            return false;
        got = at + n;
    }
    return true;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int case_bad(void)
{
    char bdir[2048];
    snprintf(bdir, sizeof bdir, "%s/bad", tests_dir);
    struct dirent **list;
    int n = scandir(bdir, &list, NULL, by_name);
    CHECK(n > 0);
    int tried = 0;
    for (int i = 0; i < n; i++) {
        const char *name = list[i]->d_name;
        size_t len = strlen(name);
        if (len < 5 || strcmp(name + len - 4, ".ini") != 0) {
            free(list[i]);
            continue;
        }
        char path[4096], err[1024], want[4096];
        snprintf(path, sizeof path, "%s/%s", bdir, name);
        size_t tlen;
        char *text = (char *)tu_read(path, &tlen);
        const char *e = strstr(text, "; expect: ");
        CHECK(e != NULL);
        if (e) {
            e += strlen("; expect: ");
            size_t el = strcspn(e, "\n");
            snprintf(want, sizeof want, "%s/%.*s", bdir, (int)el, e);
            tf_profile p;
            int rc = tf_profile_load(path, &p, err, sizeof err);
            if (rc == 0 || !matches(err, want)) {
                fprintf(stderr, "%s:\n  want: %s\n  got:  %s\n", name, want,
                        rc == 0 ? "(loaded)" : err);
                check_failed();
            }
            CHECK(p.text == NULL && p.n_variants == 0); /* nothing left to free */
            tf_profile_free(&p);
            tried++;
        }
        free(text);
        free(list[i]);
    }
    free(list);
    printf("%d broken profiles checked\n", tried);
    CHECK(tried >= 30);
    return 0;
}

static int case_missing_file(void)
{
    char err[1024];
    tf_profile p;
    CHECK(tf_profile_load("/nonexistent/x.ini", &p, err, sizeof err) != 0);
    CHECK_HAS(err, "/nonexistent/x.ini: cannot open: No such file");
    tf_profile_free(&p);
    return 0;
}

/* A QIO whole-flash image next to a profile written by the test: the pin is computed here,
 * so the loader's placement and its sha256 of the whole file are both checked. */
static int case_qio(void)
{
    char dir[4096], img_path[4200], ini_path[4200], text[1024], err[1024];
    tu_scratch(scratch_base, dir, sizeof dir);
    const size_t len = 0x40000;
    uint8_t *whole = malloc(len);
    tu_fill(whole, len, 21);
    snprintf(img_path, sizeof img_path, "%s/whole-flash.bin", dir);
    tu_write(img_path, whole, len);
    char sha[65];
    bk_sha256_hex(whole, len, sha);
    snprintf(ini_path, sizeof ini_path, "%s/qio.ini", dir);
    int n = snprintf(text, sizeof text, "[profile]\nname = qio-test\nchip = bk7231n\n"
                     "image = whole-flash.bin\nqio = yes\nsha256 = %s\n", sha);
    tu_write(ini_path, text, (size_t)n);
    tf_profile p;
    int rc = tf_profile_load(ini_path, &p, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "%s\n", err);
    CHECK(rc == 0);
    if (rc == 0) {
        check_loaded(ini_path, &p);
        CHECK(p.variants[0].qio && p.variants[0].offset == 0x11000);
        CHECK(p.variants[0].image.len == len - 0x11000);
        CHECK(memcmp(p.variants[0].image.data, whole + 0x11000, len - 0x11000) == 0);
        tf_profile_free(&p);
    }
    /* the pin of the placed bytes is not the pin of the file */
    bk_sha256_hex(whole + 0x11000, len - 0x11000, sha);
    n = snprintf(text, sizeof text, "[profile]\nname = qio-test\nchip = bk7231n\n"
                 "image = whole-flash.bin\nqio = yes\nsha256 = %s\n", sha);
    tu_write(ini_path, text, (size_t)n);
    CHECK(tf_profile_load(ini_path, &p, err, sizeof err) != 0);
    char want[4400];
    snprintf(want, sizeof want, "%s:6: sha256 mismatch for image \"whole-flash.bin\"", ini_path);
    CHECK(strncmp(err, want, strlen(want)) == 0);
    free(whole);
    tu_scratch_remove(dir);
    return 0;
}

/* Without baud_fallback the ladder is the working baud, then those of 921600, 460800, 115200
 * below it: a 2 Mbaud profile steps to 921600 first (most adapters carry it), not to 460800. */
static int case_default_ladder(void)
{
    static const struct {
        uint32_t baud;
        int n;
        uint32_t ladder[4];
    } want[] = {
        { 2000000, 4, { 2000000, 921600, 460800, 115200 } },
        { 1500000, 4, { 1500000, 921600, 460800, 115200 } },
        { 921600, 3, { 921600, 460800, 115200 } },
        { 230400, 2, { 230400, 115200 } },
        { 115200, 1, { 115200 } },
    };
    char dir[4096], ini_path[4200], text[1024], err[1024], image[4200];
    tu_scratch(scratch_base, dir, sizeof dir);
    tf_profile shipped;
    snprintf(image, sizeof image, "%s/demo-small.ini", profiles_dir);
    CHECK(tf_profile_load(image, &shipped, err, sizeof err) == 0);
    snprintf(image, sizeof image, "%s", shipped.variants[0].image_path);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        snprintf(ini_path, sizeof ini_path, "%s/ladder.ini", dir);
        int n = snprintf(text, sizeof text, "[profile]\nname = ladder\nchip = bk7231t\n"
                         "image = %s\noffset = 0x11000\nsha256 = %s\nbaud = %u\n", image,
                         shipped.variants[0].sha256_pin, (unsigned)want[i].baud);
        tu_write(ini_path, text, (size_t)n);
        tf_profile p;
        int rc = tf_profile_load(ini_path, &p, err, sizeof err);
        if (rc != 0)
            fprintf(stderr, "%s\n", err);
        CHECK(rc == 0);
        if (rc != 0)
            continue;
        bool same = p.n_bauds == want[i].n;
        for (int k = 0; same && k < p.n_bauds; k++)
            same = p.bauds[k] == want[i].ladder[k];
        if (!same) {
            fprintf(stderr, "baud %u: ladder", (unsigned)want[i].baud);
            for (int k = 0; k < p.n_bauds; k++)
                fprintf(stderr, " %u", (unsigned)p.bauds[k]);
            fprintf(stderr, "\n");
        }
        CHECK(same);
        tf_profile_free(&p);
    }
    tf_profile_free(&shipped);
    tu_scratch_remove(dir);
    return 0;
}

/* The man page's PROFILES paragraph of key `name` (from its ".TP\n.B name" to the next .TP or
 * .PP), copied to `out`; false when the page has none. */
static bool man_paragraph(const char *section, const char *name, char *out, size_t outlen)
{
    char head[80];
    snprintf(head, sizeof head, "\n.TP\n.B %s\n", name);
    const char *a = strstr(section, head);
    if (!a)
        return false;
    a += strlen(head);
    const char *b = a;
    while (*b && strncmp(b, "\n.TP\n", 6) && strncmp(b, "\n.PP\n", 6))
        b++;
    snprintf(out, outlen, "%.*s", (int)(b - a), a);
    return true;
}

/* profiles/README.md's table row of key `name` ("| `name` | ..."), or NULL. */
static bool readme_row(const char *readme, const char *name, char *out, size_t outlen)
{
    char head[80];
    snprintf(head, sizeof head, "\n| `%s` |", name);
    const char *a = strstr(readme, head);
    if (!a)
        return false;
    const char *b = strchr(a + 1, '\n');
    snprintf(out, outlen, "%.*s", b ? (int)(b - a - 1) : (int)strlen(a + 1), a + 1);
    return true;
}

/* Each `KEY =` line's key of an INI text (leading blanks skipped, comments not). */
static void each_ini_key(const char *text, void (*fn)(const char *key, const char *file),
                         const char *file)
{
    for (const char *l = text; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : "") {
        const char *k = l + strspn(l, " \t");
        size_t n = strspn(k, "abcdefghijklmnopqrstuvwxyz_0123456789");
        if (!n || k[n + strspn(k + n, " \t")] != '=')
            continue;
        char key[64];
        snprintf(key, sizeof key, "%.*s", (int)n, k);
        fn(key, file);
    }
}

static void key_in_schema(const char *key, const char *file)
{
    if (tf_schema_find(&tf_profile_schema, 0, key) < 0) {
        fprintf(stderr, "%s: key %s is not in the profile schema\n", file, key);
        check_failed();
    }
}

/* The schema (profile.c's key table) against the man page's PROFILES, profiles/README.md's
 * table and the shipped profiles, both ways: every key documented with its default and range,
 * and nothing documented or used that the schema does not know. */
static int case_schema_docs(void)
{
    char path[4096], para[2048], row[1024];
    size_t text_len;
    snprintf(path, sizeof path, "%s/../docs/trayflash.1", profiles_dir);
    char *man = (char *)tu_read(path, &text_len);
    snprintf(path, sizeof path, "%s/README.md", profiles_dir);
    char *readme = (char *)tu_read(path, &text_len);
    snprintf(path, sizeof path, "%s/wb2s-openbk.ini", profiles_dir);
    char *every = (char *)tu_read(path, &text_len); /* README: "uses every key" */
    char *section = strstr(man, "\n.SH PROFILES\n");
    CHECK(section != NULL);
    if (!section)
        return 0;
    char *next = strstr(section + 1, "\n.SH ");
    if (next)
        *next = '\0';
    const tf_schema *s = &tf_profile_schema;
    CHECK(s->n_keys >= 14);
    for (int i = 0; i < s->n_keys; i++) {
        const tf_key *k = &s->keys[i];
        bool in_man = man_paragraph(section, k->name, para, sizeof para);
        bool in_readme = readme_row(readme, k->name, row, sizeof row);
        if (!in_man || !in_readme)
            fprintf(stderr, "key %s: man PROFILES %s, README %s\n", k->name,
                    in_man ? "ok" : "missing", in_readme ? "ok" : "missing");
        CHECK(in_man && in_readme);
        if (!in_man || !in_readme)
            continue;
        char want[128];
        if (k->def) { /* "[default]" in the man page, "`default`" in the README's row */
            snprintf(want, sizeof want, "[%s]", k->def);
            if (!strstr(para, want))
                fprintf(stderr, "man page: key %s lacks its default %s\n", k->name, want);
            CHECK(strstr(para, want) != NULL);
            snprintf(want, sizeof want, "`%s`", k->def);
            if (!strstr(row, want))
                fprintf(stderr, "README: key %s lacks its default %s\n", k->name, want);
            CHECK(strstr(row, want) != NULL);
        }
        if (k->type == TF_KEY_INT && k->hi < 0xFFFFFFFFL) { /* the range, in both */
            snprintf(want, sizeof want, "%ld..%ld", k->lo, k->hi);
            if (!strstr(para, want) || !strstr(row, want))
                fprintf(stderr, "key %s: range %s missing from the docs\n", k->name, want);
            CHECK(strstr(para, want) && strstr(row, want));
        }
        const char *where = k->sections == 1u ? "| `[profile]` |"
                            : k->sections == 4u ? "| `[personalize]` |" : "| both |";
        CHECK(strstr(row, where) != NULL);
        bool required = k->flags & (TF_KEY_REQUIRED | TF_KEY_REQUIRED_MAIN);
        CHECK(!required || strstr(row, "| yes") != NULL);
        CHECK(!required || strstr(para, "Required") != NULL);
        if (k->sections & 1u) { /* the worked example sets every [profile] key */
            snprintf(want, sizeof want, "\n%s = ", k->name);
            if (!strstr(every, want))
                fprintf(stderr, "wb2s-openbk.ini does not set %s\n", k->name);
            CHECK(strstr(every, want) != NULL);
        }
    }
    /* ... and the other way: what the docs and the files name, the schema knows */
    for (const char *m = section; (m = strstr(m, "\n.TP\n.B ")); m++) {
        char key[64];
        if (sscanf(m + 8, "%63[a-z_0-9]", key) == 1)
            key_in_schema(key, "man page PROFILES");
    }
    for (const char *r = readme; (r = strstr(r, "\n| `")); r++) {
        char key[64];
        if (sscanf(r + 4, "%63[a-z_0-9]", key) != 1)
            continue;
        const char *after = r + 4 + strlen(key); /* a row of the key table says where */
        if (!strncmp(after, "` | `[profile]` |", 17) || !strncmp(after, "` | both |", 10) ||
            !strncmp(after, "` | `[personalize]` |", 21))
            key_in_schema(key, "profiles/README.md");
    }
    DIR *d = opendir(profiles_dir);
    CHECK(d != NULL);
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".ini"))
            continue;
        snprintf(path, sizeof path, "%s/%s", profiles_dir, e->d_name);
        char *text = (char *)tu_read(path, &text_len);
        each_ini_key(text, key_in_schema, e->d_name);
        free(text);
    }
    if (d)
        closedir(d);
    free(every);
    free(readme);
    free(man);
    return 0;
}

static const check_case cases[] = {
    { "default_ladder", case_default_ladder },
    { "shipped", case_shipped }, { "multi", case_multi }, { "bad", case_bad },
    { "missing_file", case_missing_file }, { "qio", case_qio },
    { "schema_docs", case_schema_docs },
};

static void setup(void)
{
    if (!check_arg(0) || !check_arg(1) || !check_arg(2)) {
        fprintf(stderr, "usage: test_profile CASE <profiles dir> <tests/profiles dir> <scratch base>\n");
        exit(2);
    }
    profiles_dir = check_arg(0);
    tests_dir = check_arg(1);
    scratch_base = check_arg(2);
}

int main(int argc, char **argv)
{
    return check_run(argc, argv, cases, sizeof cases / sizeof cases[0], setup, NULL);
}
