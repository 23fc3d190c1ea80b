/* fuzz_profile_loader.c - tf_profile_load over arbitrary profile text.
 *
 * The input becomes p.ini in a fresh temporary folder, next to the fixture images of
 * fuzz_util.h (the seed profiles pin their sha256), so the fuzzer reaches the image checks
 * and not only the INI parser. A folder per input, removed afterwards: the loader resolves the
 * image against the profile's folder, and nothing may carry over from one input to the next.
 * $TMPDIR is honoured (run-fuzz.sh points it at /dev/shm).
 *
 * Outcome rules: no crash and no leak (ASan/LSan); a failure says "<path>:<line>: words" with
 * a line that exists in the file (or one past its end for "missing" errors); a success holds a
 * profile that a job can run: named, with a falling ladder of supported bauds, and every
 * variant's image inside flash and matching its pin. */
#include "fuzz_util.h"
#include "profile.h"
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <unistd.h>

static void write_file(const char *dir, const char *name, const uint8_t *data, size_t len)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FUZZ_CHECK(fd >= 0, "cannot create %s: %s", path, strerror(errno));
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, data + done, len - done);
        FUZZ_CHECK(w > 0, "cannot write %s: %s", path, strerror(errno));
        done += (size_t)w;
    }
    close(fd);
}

static const char *const fixture_names[] = { "p.ini", FUZZ_FIX_BIN, FUZZ_FIX_UF2_T,
                                             FUZZ_FIX_UF2_N, FUZZ_FIX_RBL };

static void check_error(const char *path, const char *err, const uint8_t *data, size_t size)
{
    size_t pl = strlen(path);
    FUZZ_CHECK(strncmp(err, path, pl) == 0 && err[pl] == ':', "error lacks the path: \"%s\"", err);
    const char *p = err + pl + 1;
    FUZZ_CHECK(isdigit((unsigned char)*p), "error lacks a line number: \"%s\"", err);
    long line = strtol(p, (char **)&p, 10);
    FUZZ_CHECK(*p == ':' && p[1] == ' ' && p[2] != '\0', "error lacks words: \"%s\"", err);
    long lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    FUZZ_CHECK(line >= 1 && line <= lines, "error names line %ld of a %ld-line file: \"%s\"", line,
               lines, err);
}

static void check_profile(const tf_profile *p, const uint8_t *data, size_t size)
{
    FUZZ_CHECK(p->name[0] != '\0' && p->product[0] != '\0', "loaded without name or product");
    for (const char *c = p->name; *c; c++)
        FUZZ_CHECK(islower((unsigned char)*c) || isdigit((unsigned char)*c) || strchr("._-", *c),
                   "name \"%s\" has a character outside [a-z0-9._-]", p->name);
    FUZZ_CHECK(p->text_len == size && memcmp(p->text, data, size) == 0, "text is not the file");
    char sha[65];
    bk_sha256_hex(data, size, sha);
    FUZZ_CHECK(strcmp(sha, p->text_sha256) == 0, "text sha256 is not the file's");
    FUZZ_CHECK(p->n_bauds >= 1 && p->n_bauds <= BK_MAX_BAUDS, "%d bauds", p->n_bauds);
    for (int i = 0; i < p->n_bauds; i++) {
        FUZZ_CHECK(tf_profile_baud_supported(p->bauds[i]), "baud %u unsupported", p->bauds[i]);
        FUZZ_CHECK(i == 0 || p->bauds[i] < p->bauds[i - 1], "baud ladder does not fall at %d", i);
    }
    FUZZ_CHECK(p->link_timeout_ms >= 100 && p->link_timeout_ms <= 600000, "link_timeout_ms %d",
               p->link_timeout_ms);
    FUZZ_CHECK(p->write_retries >= 0 && p->write_retries <= 10, "write_retries %d",
               p->write_retries);
    FUZZ_CHECK(p->n_variants >= 1 && p->n_variants <= BK_MAX_VARIANTS, "%d variants",
               p->n_variants);
    for (int i = 0; i < p->n_variants; i++) {
        const tf_profile_variant *v = &p->variants[i];
        const bk_family *fam = bk_family_get(v->chip);
        FUZZ_CHECK(fam != NULL, "variant %d has no chip", i);
        for (int j = 0; j < i; j++)
            FUZZ_CHECK(p->variants[j].chip != v->chip, "variants %d and %d share a chip", j, i);
        FUZZ_CHECK(v->image.data != NULL && v->image.len > 0, "variant %d has no image", i);
        FUZZ_CHECK(v->offset == v->image.offset, "variant %d offset 0x%X vs image 0x%X", i,
                   v->offset, v->image.offset);
        FUZZ_CHECK((uint64_t)v->offset + v->image.len <= fam->flash_size &&
                       v->offset % BK_SECTOR_SIZE == 0,
                   "variant %d image 0x%X+%zu badly placed", i, v->offset, v->image.len);
        FUZZ_CHECK(p->allow_bootloader || v->offset >= fam->protected_end,
                   "variant %d writes the bootloader without permission", i);
        FUZZ_CHECK(strcmp(v->image.sha256, v->sha256_pin) == 0, "variant %d pin not checked", i);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *tmp = getenv("TMPDIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/tf-fuzz-profile-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    FUZZ_CHECK(mkdtemp(dir) != NULL, "mkdtemp %s: %s", dir, strerror(errno));

    uint8_t bin[FUZZ_FIX_BIN_LEN], uf2_t[FUZZ_FIX_UF2_LEN], uf2_n[FUZZ_FIX_UF2_LEN];
    uint8_t rbl[FUZZ_FIX_RBL_LEN];
    fuzz_fix_bin(bin);
    fuzz_fix_uf2(uf2_t, BK_CHIP_BK7231T);
    fuzz_fix_uf2(uf2_n, BK_CHIP_BK7231N);
    fuzz_fix_rbl(rbl);
    write_file(dir, FUZZ_FIX_BIN, bin, sizeof bin);
    write_file(dir, FUZZ_FIX_UF2_T, uf2_t, sizeof uf2_t);
    write_file(dir, FUZZ_FIX_UF2_N, uf2_n, sizeof uf2_n);
    write_file(dir, FUZZ_FIX_RBL, rbl, sizeof rbl);
    write_file(dir, "p.ini", data, size);

    char path[4200];
    snprintf(path, sizeof path, "%s/p.ini", dir);
    tf_profile *p = malloc(sizeof *p); /* ~20 KiB: off the fuzzer's stack */
    FUZZ_CHECK(p != NULL, "out of memory");
    char err[2048];
    err[0] = '\0';
    if (tf_profile_load(path, p, err, sizeof err) == 0)
        check_profile(p, data, size);
    else
        check_error(path, err, data, size);
    tf_profile_free(p);
    free(p);

    for (size_t i = 0; i < sizeof fixture_names / sizeof fixture_names[0]; i++) {
        char f[4200];
        snprintf(f, sizeof f, "%s/%s", dir, fixture_names[i]);
        FUZZ_CHECK(unlink(f) == 0, "unlink %s: %s", f, strerror(errno));
    }
    FUZZ_CHECK(rmdir(dir) == 0, "rmdir %s: %s", dir, strerror(errno));
    return 0;
}
