/* A small fixed pool of threads for work that must never run on an event loop
 * (password hashing). Results come back on the submitter's event loop. */
#ifndef POSTERN_THREADPOOL_H
#define POSTERN_THREADPOOL_H

struct event_base;
struct threadpool;

typedef void (*threadpool_work_fn)(void *arg);  /* runs on a pool thread */
typedef void (*threadpool_done_fn)(void *arg);  /* runs on the submitter's loop */

struct threadpool *threadpool_new(int nthreads);
/* Finishes queued jobs, then joins the threads. */
void threadpool_free(struct threadpool *tp);
/* Queues work; when it has run, done(arg) is called on `base` (or on the pool
 * thread right after work when base is NULL). Returns 0, or -1 when the queue
 * is full (max_queue) — callers answer "try again later" instead of piling up. */
int threadpool_submit(struct threadpool *tp, struct event_base *base,
                      threadpool_work_fn work, threadpool_done_fn done, void *arg);

#endif
