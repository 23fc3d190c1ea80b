/* devsrc_sim.c - the simulator's links as adapters that are all plugged in at start and never
 * leave (a yanked simulated adapter shows up as a job failure, as on a real bench). */
#include "devsrc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sim_src {
    devsrc base;
    devsrc_event *evs;
    int n;
} sim_src;

static int sim_enumerate(devsrc *s, devsrc_event *out, int max, char *err, size_t errlen)
{
    sim_src *m = (sim_src *)s;
    int n = m->n < max ? m->n : max;
    memcpy(out, m->evs, (size_t)n * sizeof *out);
    return n;
}

static int sim_fd(devsrc *s)
{
    return -1;
}

static int sim_next(devsrc *s, devsrc_event *ev)
{
    return 0;
}

static void sim_close(devsrc *s)
{
    sim_src *m = (sim_src *)s;
    free(m->evs);
    free(m);
}

static const devsrc_ops sim_ops = {"sim", sim_enumerate, sim_fd, sim_next, sim_close};

devsrc *devsrc_sim_open(const char *const *paths, int n, char *err, size_t errlen)
{
    sim_src *m = calloc(1, sizeof *m);
    if (!m || !(m->evs = calloc((size_t)(n > 0 ? n : 1), sizeof *m->evs))) {
        free(m);
        snprintf(err, errlen, "sim source: out of memory");
        return NULL;
    }
    m->base.ops = &sim_ops;
    m->n = n;
    for (int i = 0; i < n; i++) {
        m->evs[i].action = DEVSRC_ADD;
        snprintf(m->evs[i].devnode, sizeof m->evs[i].devnode, "%s", paths[i]);
        snprintf(m->evs[i].id_path, sizeof m->evs[i].id_path, "sim-%d", i + 1);
    }
    return &m->base;
}
