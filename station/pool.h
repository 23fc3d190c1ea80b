/* pool.h - a fixed set of worker threads running submitted tasks in FIFO order. The station
 * submits one task per bay at a time (a flash job or a probe); cancelling is the task's own
 * business (its atomic flag), the pool never kills a thread. */
#pragma once
#include <stddef.h>

typedef struct pool pool;
typedef void (*pool_fn)(void *arg);

/* NULL with words in err if threads cannot be started. */
pool *pool_new(int n_threads, char *err, size_t errlen);
/* Queues fn(arg); returns 0, or -1 once the pool is shutting down / out of memory. */
int pool_submit(pool *p, pool_fn fn, void *arg);
/* Tasks queued or running. */
int pool_pending(pool *p);
/* Runs everything already queued, joins the threads, frees. */
void pool_free(pool *p);
