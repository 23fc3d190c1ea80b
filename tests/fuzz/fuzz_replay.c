/* fuzz_replay.c - main() for a harness built without libFuzzer: runs every file of the given
 * folders (and any file given by name) through LLVMFuzzerTestOneInput once, in name order.
 *
 * This is how the corpus and every saved crash are replayed in each CI run, with or without
 * clang; under -DTRAYFLASH_SANITIZE=ON the replay is checked by ASan/UBSan too. A harness
 * reports a broken invariant by aborting, so the runner names each input before running it. */
#include "fuzz_util.h"
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: cannot open: %s\n", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        fprintf(stderr, "%s: cannot stat: %s\n", path, strerror(errno));
        fclose(f);
        return -1;
    }
    size_t n = (size_t)st.st_size;
    /* Exactly n bytes (malloc(0) may be NULL): ASan sees any read past the input. */
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf || fread(buf, 1, n, f) != n) {
        fprintf(stderr, "%s: cannot read %zu bytes\n", path, n);
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    printf("replay %s (%zu bytes)\n", path, n);
    fflush(stdout);
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

static int name_cmp(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
        return 2;
    }
    int ran = 0, failed = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
            failed++;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            failed += run_file(argv[i]) != 0;
            ran++;
            continue;
        }
        struct dirent **names;
        int n = scandir(argv[i], &names, NULL, name_cmp);
        if (n < 0) {
            fprintf(stderr, "%s: cannot list: %s\n", argv[i], strerror(errno));
            failed++;
            continue;
        }
        for (int k = 0; k < n; k++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], names[k]->d_name);
            struct stat fst;
            if (names[k]->d_name[0] != '.' && stat(path, &fst) == 0 && S_ISREG(fst.st_mode)) {
                failed += run_file(path) != 0;
                ran++;
            }
            free(names[k]);
        }
        free(names);
    }
    printf("%d inputs replayed, %d unreadable\n", ran, failed);
    if (ran == 0) {
        fprintf(stderr, "no inputs found: an empty corpus checks nothing\n");
        return 1;
    }
    return failed ? 1 : 0;
}
