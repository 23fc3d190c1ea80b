/* pool.c - worker threads over a linked FIFO of tasks; see pool.h. */
#include "pool.h"
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pool_task {
    pool_fn fn;
    void *arg;
    struct pool_task *next;
} pool_task;

struct pool {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pool_task *head, *tail;
    int pending; /* queued + running */
    bool stopping;
    pthread_t *threads;
    int n_threads;
};

static void *pool_worker(void *arg)
{
    pool *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->head && !p->stopping)
            pthread_cond_wait(&p->cond, &p->lock);
        if (!p->head)
            break; /* stopping and nothing left */
        pool_task *t = p->head;
        p->head = t->next;
        if (!p->head)
            p->tail = NULL;
        pthread_mutex_unlock(&p->lock);
        t->fn(t->arg);
        free(t);
        pthread_mutex_lock(&p->lock);
        p->pending--;
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

pool *pool_new(int n_threads, char *err, size_t errlen)
{
    if (n_threads < 1) {
        snprintf(err, errlen, "pool size %d: need at least one thread", n_threads);
        return NULL;
    }
    pool *p = calloc(1, sizeof *p);
    if (!p || !(p->threads = calloc((size_t)n_threads, sizeof *p->threads))) {
        free(p);
        snprintf(err, errlen, "pool: out of memory");
        return NULL;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    for (int i = 0; i < n_threads; i++) {
        int rc = pthread_create(&p->threads[i], NULL, pool_worker, p);
        if (rc) {
            snprintf(err, errlen, "pool: starting thread %d of %d: %s", i + 1, n_threads,
                     strerror(rc));
            p->n_threads = i;
            pool_free(p);
            return NULL;
        }
        p->n_threads = i + 1;
    }
    return p;
}

int pool_submit(pool *p, pool_fn fn, void *arg)
{
    pool_task *t = malloc(sizeof *t);
    if (!t)
        return -1;
    *t = (pool_task){.fn = fn, .arg = arg};
    pthread_mutex_lock(&p->lock);
    if (p->stopping) {
        pthread_mutex_unlock(&p->lock);
        free(t);
        return -1;
    }
    if (p->tail)
        p->tail->next = t;
    else
        p->head = t;
    p->tail = t;
    p->pending++;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
    return 0;
}

int pool_pending(pool *p)
{
    pthread_mutex_lock(&p->lock);
    int n = p->pending;
    pthread_mutex_unlock(&p->lock);
    return n;
}

void pool_free(pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->n_threads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    free(p->threads);
    free(p);
}
