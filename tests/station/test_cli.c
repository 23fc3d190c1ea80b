/* `trayflash flash` end to end on a bksim link (the simulator in this process, the program
 * as a child): exit codes, the final line's words, and --json parsed by cJSON.
 * Usage: test_station_cli CASE PATH_TO_TRAYFLASH */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include "bksim.h"
#include "check.h"

#define PROFILE TRAYFLASH_SOURCE_DIR "/profiles/demo-small.ini"

/* Runs argv, returns the exit code and its stdout (malloc'd). */
static int run(char *const argv[], char **out)
{
    int p[2];
    if (pipe(p) < 0)
        exit(2);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], STDOUT_FILENO);
        close(p[0]);
        close(p[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    ssize_t n;
    while ((n = read(p[0], buf + len, cap - len - 1)) > 0) { /* blocks until the child ends */
        len += (size_t)n;
        if (cap - len < 2)
            buf = realloc(buf, cap *= 2);
    }
    buf[len] = 0;
    close(p[0]);
    int status;
    waitpid(pid, &status, 0);
    *out = buf;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static bksim_server *sim_with(const char *fault)
{
    static bksim_module_config mc;
    bksim_module_config_default(&mc);
    char err[200];
    if (fault && !bksim_fault_parse(fault, &mc.faults, err, sizeof err))
        exit(2);
    bksim_config cfg = {.count = 1, .seed = 3, .time_scale = 0.25, .modules = &mc};
    bksim_server *s = bksim_start(&cfg, err, sizeof err);
    if (!s) {
        fprintf(stderr, "bksim_start: %s\n", err);
        exit(2);
    }
    return s;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    const char *c = argv[1];
    char *tf = argv[2], *out = NULL;
    if (!strcmp(c, "usage")) {
        char *a[] = {tf, "flash", "--bogus", NULL};
        CHECK_EQ_INT(run(a, &out), 2);
        free(out);
        char *b[] = {tf, "flash", "--port", "/nonexistent", "--profile", "/nonexistent.ini", NULL};
        CHECK_EQ_INT(run(b, &out), 2);
        free(out);
        return CHECK_DONE();
    }
    bksim_server *s = sim_with(!strcmp(c, "brownout") ? "brownout-first-write" : NULL);
    char port[256];
    snprintf(port, sizeof port, "%s", bksim_link_path(s, 0));
    bool json = !strcmp(c, "json");
    char *a[] = {tf, "flash", "--port", port, "--profile", PROFILE, json ? "--json" : NULL, NULL};
    int rc = run(a, &out);
    fprintf(stderr, "exit %d, output:\n%s", rc, out);
    uint8_t mac[6];
    bksim_get_mac(s, 0, mac);
    char macs[18];
    snprintf(macs, sizeof macs, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
             mac[4], mac[5]);
    if (!strcmp(c, "pass")) {
        CHECK_EQ_INT(rc, 0);
        CHECK(!strncmp(out, "PASS chip BK7231T", 17));
        CHECK(strstr(out, macs) != NULL);
    } else if (!strcmp(c, "brownout")) {
        CHECK_EQ_INT(rc, 1);
        CHECK(!strncmp(out, "FAIL", 4));
        CHECK(strstr(out, "(brownout)") != NULL);
        CHECK(strstr(out, "remedy: ") != NULL);
    } else if (json) {
        CHECK_EQ_INT(rc, 0);
        cJSON *o = cJSON_Parse(out);
        CHECK(o != NULL);
        if (o) {
            cJSON *res = cJSON_GetObjectItem(o, "result"), *m = cJSON_GetObjectItem(o, "mac");
            CHECK(cJSON_IsString(res) && !strcmp(res->valuestring, "pass"));
            CHECK(cJSON_IsString(m) && !strcmp(m->valuestring, macs));
            CHECK(cJSON_IsNumber(cJSON_GetObjectItem(o, "bytes_written")));
            cJSON_Delete(o);
        }
    }
    free(out);
    bksim_stop(s);
    return CHECK_DONE();
}
