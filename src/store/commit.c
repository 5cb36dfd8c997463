#include "store/commit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/log.h"
#include "core/util.h"
#include "store/maildir.h"
#include "store/msgbuf.h"

#define COMMIT_BATCH_MAX 256

struct committer {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct commit_job *head, *tail;
	bool stopping;
	char *hostname;
	int nthreads;
	pthread_t *threads;
};

/* Writes header + body to a new file in <maildir>/tmp; records its path. */
static int write_first_copy(struct commit_job *job, const char *maildir, char *path, size_t len)
{
	if (maildir_ensure(maildir) < 0)
		return errno;
	if (bsnprintf(path, len, "%s/tmp/%s", maildir, job->filename) < 0)
		return ENAMETOOLONG;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno;
	int rc = 0;
	if (write_all(fd, job->header, job->header_len) < 0 || msgbuf_write_to(job->body, fd) < 0 ||
	    fdatasync(fd) < 0)
		rc = errno ? errno : EIO;
	if (close(fd) < 0 && rc == 0)
		rc = errno;
	if (rc != 0)
		unlink(path);
	return rc;
}

/* Further recipients get a hard link to the first copy: one write, one fsync. */
static int link_copy(struct commit_job *job, const char *first, const char *maildir,
                     char *path, size_t len)
{
	if (maildir_ensure(maildir) < 0)
		return errno;
	if (bsnprintf(path, len, "%s/tmp/%s", maildir, job->filename) < 0)
		return ENAMETOOLONG;
	if (link(first, path) == 0)
		return 0;
	if (errno != EXDEV && errno != EPERM && errno != EMLINK)
		return errno;
	/* another file system: write a full copy */
	return write_first_copy(job, maildir, path, len);
}

static void unlink_tmp(struct commit_job *job)
{
	for (size_t i = 0; i < job->ntmp; i++) {
		unlink(job->tmp_paths[i]);
		free(job->tmp_paths[i]);
	}
	free(job->tmp_paths);
	job->tmp_paths = NULL;
	job->ntmp = 0;
}

static void write_job(struct committer *c, struct commit_job *job)
{
	uint64_t size = job->header_len + msgbuf_size(job->body);
	uint64_t lines = msgbuf_lines(job->body);
	for (size_t i = 0; i < job->header_len; i++)
		lines += job->header[i] == '\n';
	job->tmp_paths = xcalloc(job->nmaildirs, sizeof(char *));
	if (maildir_unique_name(job->filename, sizeof(job->filename), c->hostname, size,
	                        size + lines) < 0) {
		job->result = ENAMETOOLONG;
		return;
	}
	for (size_t i = 0; i < job->nmaildirs; i++) {
		char path[4096];
		int rc = i == 0 ? write_first_copy(job, job->maildirs[i], path, sizeof(path))
		                : link_copy(job, job->tmp_paths[0], job->maildirs[i], path, sizeof(path));
		if (rc != 0) {
			job->result = rc;
			unlink_tmp(job);
			return;
		}
		job->tmp_paths[job->ntmp++] = xstrdup(path);
	}
}

/* Moves every copy of a job from tmp/ to new/. On failure the copies already
 * moved are taken back out, so the job is all-or-nothing. */
static void publish_job(struct commit_job *job)
{
	size_t done = 0;
	char dst[4096];
	for (; done < job->ntmp; done++) {
		if (bsnprintf(dst, sizeof(dst), "%s/new/%s", job->maildirs[done], job->filename) < 0 ||
		    rename(job->tmp_paths[done], dst) < 0) {
			job->result = errno ? errno : ENAMETOOLONG;
			break;
		}
	}
	if (job->result != 0) {
		for (size_t i = 0; i < done; i++)
			if (bsnprintf(dst, sizeof(dst), "%s/new/%s", job->maildirs[i], job->filename) >= 0)
				unlink(dst);
	}
	unlink_tmp(job); /* after a successful rename the tmp names no longer exist */
}

struct dir_sync {
	const char *maildir;
	int result;
};

/* fsyncs <maildir>/new once per batch and remembers the outcome. */
static int sync_dir_once(struct dir_sync *dirs, size_t *n, size_t cap, const char *maildir)
{
	char path[4096];
	for (size_t i = 0; i < *n; i++)
		if (strcmp(dirs[i].maildir, maildir) == 0)
			return dirs[i].result;
	int rc = 0;
	if (bsnprintf(path, sizeof(path), "%s/new", maildir) < 0 || fsync_dir(path) < 0)
		rc = errno ? errno : EIO;
	if (*n < cap) {
		dirs[*n].maildir = maildir;
		dirs[*n].result = rc;
		(*n)++;
	}
	return rc;
}

/* One fsync per distinct new/ directory makes every rename in the batch durable. */
static void sync_new_dirs(struct commit_job *batch)
{
	struct dir_sync dirs[COMMIT_BATCH_MAX];
	size_t n = 0;
	for (struct commit_job *j = batch; j; j = j->next) {
		for (size_t i = 0; i < j->nmaildirs && j->result == 0; i++)
			j->result = sync_dir_once(dirs, &n, ARRAY_LEN(dirs), j->maildirs[i]);
	}
}

static void job_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct commit_job *job = arg;
	(void)fd;
	(void)what;
	job->done(job, job->arg);
}

static void complete_batch(struct commit_job *batch)
{
	static const struct timeval now = { 0, 0 };
	while (batch) {
		struct commit_job *next = batch->next;
		batch->next = NULL;
		if (batch->result != 0)
			log_event(LOG_ERROR, "delivery.failed", "s", "error", strerror(batch->result),
			          "s", "file", batch->filename, NULL);
		if (event_base_once(batch->base, -1, EV_TIMEOUT, job_done_cb, batch, &now) < 0)
			abort(); /* the loop vanished under a pending job: a programming error */
		batch = next;
	}
}

static struct commit_job *take_batch(struct committer *c)
{
	pthread_mutex_lock(&c->lock);
	while (c->head == NULL && !c->stopping)
		pthread_cond_wait(&c->cond, &c->lock);
	struct commit_job *batch = c->head, *last = c->head;
	for (int n = 1; last && last->next && n < COMMIT_BATCH_MAX; n++)
		last = last->next;
	if (last) {
		c->head = last->next;
		last->next = NULL;
		if (c->head == NULL)
			c->tail = NULL;
	}
	pthread_mutex_unlock(&c->lock);
	return batch;
}

static void *committer_main(void *arg)
{
	struct committer *c = arg;
	struct commit_job *batch;
	while ((batch = take_batch(c)) != NULL) {
		for (struct commit_job *j = batch; j; j = j->next)
			write_job(c, j);
		for (struct commit_job *j = batch; j; j = j->next)
			if (j->result == 0)
				publish_job(j);
		sync_new_dirs(batch);
		complete_batch(batch);
	}
	return NULL;
}

struct committer *committer_new(int nthreads, const char *hostname)
{
	struct committer *c = xcalloc(1, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	c->hostname = xstrdup(hostname);
	c->threads = xcalloc((size_t)nthreads, sizeof(pthread_t));
	for (int i = 0; i < nthreads; i++)
		if (pthread_create(&c->threads[c->nthreads], NULL, committer_main, c) == 0)
			c->nthreads++;
	if (c->nthreads == 0) {
		committer_free(c);
		return NULL;
	}
	return c;
}

void committer_free(struct committer *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	c->stopping = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	for (int i = 0; i < c->nthreads; i++)
		pthread_join(c->threads[i], NULL);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	free(c->threads);
	free(c->hostname);
	free(c);
}

void committer_submit(struct committer *c, struct commit_job *job)
{
	job->next = NULL;
	job->result = 0;
	job->ntmp = 0;
	job->tmp_paths = NULL;
	pthread_mutex_lock(&c->lock);
	if (c->tail)
		c->tail->next = job;
	else
		c->head = job;
	c->tail = job;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}
