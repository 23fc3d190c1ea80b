/* preload.c - support_ensure_umockdev_preload(): puts a test binary under umockdev's preload
 * by re-executing itself, so ctest needs no wrapper script.
 *
 * With ASan the runtime must be the first object loaded ("ASan runtime does not come
 * first"): if this binary has libasan loaded, its path goes in front of the preload. */
#include "fakeport.h"

#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SUPPORT_UMOCKDEV_PRELOAD "libumockdev-preload.so.0"

typedef struct support_found_lib {
    const char *needle;
    char path[512];
} support_found_lib;

static int support_find_lib(struct dl_phdr_info *info, size_t size, void *data)
{
    support_found_lib *f = data;
    if (info->dlpi_name && strstr(info->dlpi_name, f->needle)) {
        snprintf(f->path, sizeof f->path, "%s", info->dlpi_name);
        return 1;
    }
    return 0;
}

void support_ensure_umockdev_preload(char **argv)
{
    const char *old = getenv("LD_PRELOAD");
    if (old && strstr(old, "libumockdev-preload"))
        return;
    support_found_lib asan = {.needle = "libasan.so"};
    dl_iterate_phdr(support_find_lib, &asan);
    bool asan_first = asan.path[0] && !(old && strstr(old, "libasan"));

    char value[4096];
    int n = snprintf(value, sizeof value, "%s%s%s%s" SUPPORT_UMOCKDEV_PRELOAD,
                     asan_first ? asan.path : "", asan_first ? ":" : "", old && *old ? old : "",
                     old && *old ? ":" : "");
    if (n < 0 || (size_t)n >= sizeof value) {
        fprintf(stderr, "support_ensure_umockdev_preload: LD_PRELOAD would exceed %zu bytes\n",
                sizeof value);
        exit(1);
    }
    if (setenv("LD_PRELOAD", value, 1) < 0) {
        perror("support_ensure_umockdev_preload: setenv LD_PRELOAD");
        exit(1);
    }
    execv("/proc/self/exe", argv);
    fprintf(stderr, "support_ensure_umockdev_preload: re-exec of %s under %s failed: ",
            argv[0], SUPPORT_UMOCKDEV_PRELOAD);
    perror(NULL);
    exit(1);
}
