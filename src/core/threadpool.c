#include "core/threadpool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include <event2/event.h>

#include "core/util.h"

/* Bounded so that a login flood waits in line instead of eating memory. */
#define THREADPOOL_MAX_QUEUE 4096

struct tp_job {
	struct tp_job *next;
	struct event_base *base;
	threadpool_work_fn work;
	threadpool_done_fn done;
	void *arg;
};

struct threadpool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct tp_job *head, *tail;
	int queued;
	bool stopping;
	int nthreads;
	pthread_t *threads;
};

static void job_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tp_job *job = arg;
	(void)fd;
	(void)what;
	job->done(job->arg);
	free(job);
}

static struct tp_job *next_job(struct threadpool *tp)
{
	pthread_mutex_lock(&tp->lock);
	while (tp->head == NULL && !tp->stopping)
		pthread_cond_wait(&tp->cond, &tp->lock);
	struct tp_job *job = tp->head;
	if (job != NULL) {
		tp->head = job->next;
		if (tp->head == NULL)
			tp->tail = NULL;
		tp->queued--;
	}
	pthread_mutex_unlock(&tp->lock);
	return job;
}

static void *worker_main(void *arg)
{
	struct threadpool *tp = arg;
	struct tp_job *job;
	while ((job = next_job(tp)) != NULL) {
		job->work(job->arg);
		if (job->done == NULL) {
			free(job);
		} else if (job->base == NULL) {
			job->done(job->arg);
			free(job);
		} else {
			static const struct timeval now = { 0, 0 };
			/* event_base_once is thread-safe once evthread locking is on */
			if (event_base_once(job->base, -1, EV_TIMEOUT, job_done_cb, job, &now) < 0)
				abort(); /* the loop is gone: a programming error */
		}
	}
	return NULL;
}

struct threadpool *threadpool_new(int nthreads)
{
	struct threadpool *tp = xcalloc(1, sizeof(*tp));
	pthread_mutex_init(&tp->lock, NULL);
	pthread_cond_init(&tp->cond, NULL);
	tp->threads = xcalloc((size_t)nthreads, sizeof(pthread_t));
	for (int i = 0; i < nthreads; i++) {
		if (pthread_create(&tp->threads[i], NULL, worker_main, tp) != 0)
			break;
		tp->nthreads++;
	}
	if (tp->nthreads == 0) {
		threadpool_free(tp);
		return NULL;
	}
	return tp;
}

void threadpool_free(struct threadpool *tp)
{
	if (tp == NULL)
		return;
	pthread_mutex_lock(&tp->lock);
	tp->stopping = true;
	pthread_cond_broadcast(&tp->cond);
	pthread_mutex_unlock(&tp->lock);
	for (int i = 0; i < tp->nthreads; i++)
		pthread_join(tp->threads[i], NULL);
	pthread_mutex_destroy(&tp->lock);
	pthread_cond_destroy(&tp->cond);
	free(tp->threads);
	free(tp);
}

int threadpool_submit(struct threadpool *tp, struct event_base *base,
                      threadpool_work_fn work, threadpool_done_fn done, void *arg)
{
	struct tp_job *job = xcalloc(1, sizeof(*job));
	job->base = base;
	job->work = work;
	job->done = done;
	job->arg = arg;
	pthread_mutex_lock(&tp->lock);
	if (tp->queued >= THREADPOOL_MAX_QUEUE || tp->stopping) {
		pthread_mutex_unlock(&tp->lock);
		free(job);
		return -1;
	}
	if (tp->tail)
		tp->tail->next = job;
	else
		tp->head = job;
	tp->tail = job;
	tp->queued++;
	pthread_cond_signal(&tp->cond);
	pthread_mutex_unlock(&tp->lock);
	return 0;
}
