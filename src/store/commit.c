#include "store/commit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/log.h"
#include "core/privs.h"
#include "core/util.h"
#include "store/maildir.h"
#include "store/msgbuf.h"
#include "store/store.h"

#define COMMIT_BATCH_MAX 256

struct committer;

struct commit_thread {
	struct committer *c;
	pthread_t thread;
	struct store *store;    /* durable: queue rows are fsync'd before the 250 */
	bool started;
};

struct committer {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct commit_job *head, *tail;
	bool stopping;
	char *hostname;
	char *queue_dir;
	commit_sign_fn sign;
	commit_queued_fn queued;
	void *sign_arg, *queued_arg;
	int nthreads;
	struct commit_thread *threads;
};

/* ---- writing files ------------------------------------------------------ */

/* Creates path (O_EXCL) and writes the given header blocks and the body, fsync'd. */
static int write_message_file(const char *path, const char *const *blocks, const size_t *lens,
                              size_t nblocks, const struct msgbuf *body)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno;
	int rc = 0;
	for (size_t i = 0; i < nblocks && rc == 0; i++)
		if (lens[i] > 0 && write_all(fd, blocks[i], lens[i]) < 0)
			rc = errno;
	if (rc == 0 && (msgbuf_write_to(body, fd) < 0 || fdatasync(fd) < 0))
		rc = errno ? errno : EIO;
	if (close(fd) < 0 && rc == 0)
		rc = errno;
	if (rc != 0)
		unlink(path);
	return rc;
}

static int write_first_copy(struct commit_job *job, const char *maildir, char *path, size_t len)
{
	if (bsnprintf(path, len, "%s/tmp/%s", maildir, job->filename) < 0)
		return ENAMETOOLONG;
	const char *blocks[1] = { job->local_header };
	size_t lens[1] = { job->local_header_len };
	int rc = write_message_file(path, blocks, lens, 1, job->body);
	/* the Maildir is created on first use only: no mkdir calls per message */
	if (rc == ENOENT) {
		if (maildir_ensure(maildir) < 0)
			return errno;
		rc = write_message_file(path, blocks, lens, 1, job->body);
	}
	return rc;
}

/* Further recipients get a hard link to the first copy: one write, one fsync. */
static int link_copy(struct commit_job *job, const char *first, const char *maildir,
                     char *path, size_t len)
{
	if (bsnprintf(path, len, "%s/tmp/%s", maildir, job->filename) < 0)
		return ENAMETOOLONG;
	if (link(first, path) == 0)
		return 0;
	if (errno == ENOENT) {
		if (maildir_ensure(maildir) < 0)
			return errno;
		if (link(first, path) == 0)
			return 0;
	}
	if (errno != EXDEV && errno != EPERM && errno != EMLINK)
		return errno;
	/* another file system: write a full copy */
	return write_first_copy(job, maildir, path, len);
}

/* A permission error says what to fix: the nearest existing directory on
 * the way to the file, who owns it, and who postern runs as (typically a
 * directory an admin made as root before the server gave root up). */
static void log_denied(const char *maildir, int err)
{
	char dir[4096], owner[64], self[64];
	struct stat sb;
	if (bsnprintf(dir, sizeof(dir), "%s/tmp", maildir) < 0)
		return;
	while (stat(dir, &sb) < 0) {
		char *slash = strrchr(dir, '/');
		if (slash == NULL || slash == dir)
			return;
		*slash = '\0';
	}
	privs_user_name(sb.st_uid, owner, sizeof(owner));
	privs_user_name(geteuid(), self, sizeof(self));
	log_event(LOG_ERROR, "delivery.permission_denied", "s", "path", dir, "s", "owner", owner,
	          "i", "mode", (long long)(sb.st_mode & 07777), "s", "needs", self,
	          "s", "error", strerror(err), NULL);
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

static void drop_queue_file(struct commit_job *job)
{
	if (job->queue_path != NULL) {
		unlink(job->queue_path);
		free(job->queue_path);
		job->queue_path = NULL;
	}
}

static void set_local_header(struct commit_job *job)
{
	/* Return-Path belongs to final delivery only (RFC 5321 4.4), not to the queue copy */
	size_t cap = strlen(job->sender) + job->header_len + 32;
	job->local_header = xmalloc(cap);
	int n = snprintf(job->local_header, cap, "Return-Path: <%s>\n", job->sender);
	memcpy(job->local_header + n, job->header, job->header_len);
	job->local_header_len = (size_t)n + job->header_len;
}

static int write_local_copies(struct committer *c, struct commit_job *job)
{
	uint64_t size = job->local_header_len + msgbuf_size(job->body);
	uint64_t lines = msgbuf_lines(job->body);
	for (size_t i = 0; i < job->local_header_len; i++)
		lines += job->local_header[i] == '\n';
	job->tmp_paths = xcalloc(job->nmaildirs ? job->nmaildirs : 1, sizeof(char *));
	if (maildir_unique_name(job->filename, sizeof(job->filename), c->hostname, size,
	                        size + lines) < 0)
		return ENAMETOOLONG;
	for (size_t i = 0; i < job->nmaildirs; i++) {
		char path[4096];
		int rc = i == 0 ? write_first_copy(job, job->maildirs[i], path, sizeof(path))
		                : link_copy(job, job->tmp_paths[0], job->maildirs[i], path, sizeof(path));
		if (rc == EACCES || rc == EPERM)
			log_denied(job->maildirs[i], rc);
		if (rc != 0)
			return rc;
		job->tmp_paths[job->ntmp++] = xstrdup(path);
	}
	return 0;
}

static int write_queue_copy(struct committer *c, struct commit_job *job)
{
	char path[4096];
	char *signature = c->sign ? c->sign(c->sign_arg, job->sender, job->body) : NULL;
	const char *blocks[2] = { job->header, signature };
	size_t lens[2] = { job->header_len, signature ? strlen(signature) : 0 };
	int rc;
	do { /* ids are random; a collision just draws again */
		random_id(job->queue_id, 16);
		if (bsnprintf(path, sizeof(path), "%s/%s", c->queue_dir, job->queue_id) < 0) {
			free(signature);
			return ENAMETOOLONG;
		}
		rc = write_message_file(path, blocks, lens, 2, job->body);
	} while (rc == EEXIST);
	if (rc == 0) {
		/* the size a remote sees: CRLF line ends, trace and signatures included */
		job->queue_size = job->header_len + lens[1] + msgbuf_size(job->body) + msgbuf_lines(job->body);
		for (size_t i = 0; i < 2; i++)
			for (size_t k = 0; k < lens[i]; k++)
				job->queue_size += blocks[i][k] == '\n';
		job->queue_path = xstrdup(path);
	}
	free(signature);
	return rc;
}

static void write_job(struct committer *c, struct commit_job *job)
{
	set_local_header(job);
	job->result = write_local_copies(c, job);
	if (job->result == 0 && job->nremotes > 0)
		job->result = write_queue_copy(c, job);
	if (job->result != 0) {
		unlink_tmp(job);
		drop_queue_file(job);
	}
}

/* ---- recording queue entries ------------------------------------------- */

static bool batch_has_queue_files(struct commit_job *batch)
{
	for (struct commit_job *j = batch; j; j = j->next)
		if (j->result == 0 && j->queue_path != NULL)
			return true;
	return false;
}

static void record_queue_entries(struct committer *c, struct store *st, struct commit_job *batch)
{
	bool any = false;
	if (!batch_has_queue_files(batch))
		return;
	/* the queue files' names must be durable before rows point at them */
	int dir_rc = fsync_dir(c->queue_dir) < 0 ? errno : 0;
	for (struct commit_job *j = batch; j; j = j->next) {
		if (j->result != 0 || j->queue_path == NULL)
			continue;
		char err[256];
		struct queue_entry e = {
			.id = j->queue_id, .sender = j->sender, .path = j->queue_path,
			.size = j->queue_size, .smtputf8 = j->smtputf8,
			.rcpts = (const char *const *)j->remotes, .nrcpts = j->nremotes,
			.created = (long long)time(NULL),
		};
		if (dir_rc != 0) {
			j->result = dir_rc;
		} else if (store_queue_add(st, &e, err, sizeof(err)) != STORE_OK) {
			log_event(LOG_ERROR, "queue.insert_failed", "s", "error", err, NULL);
			j->result = EIO;
		} else {
			any = true;
			continue;
		}
		unlink_tmp(j);
		drop_queue_file(j);
	}
	if (any && c->queued)
		c->queued(c->queued_arg);
}

/* ---- publishing Maildir copies ------------------------------------------ */

/* Moves every copy of a job from tmp/ to new/. On failure the copies already
 * moved are taken back out, so the job is all-or-nothing. */
static void publish_job(struct store *st, struct commit_job *job)
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
		if (job->queue_path != NULL) {
			char path[4096];
			store_queue_delete(st, job->queue_id, path, sizeof(path));
			drop_queue_file(job);
		}
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

/* ---- completion ------------------------------------------------------------- */

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
		free(batch->local_header);
		batch->local_header = NULL;
		free(batch->queue_path);
		batch->queue_path = NULL;
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
	struct commit_thread *t = arg;
	struct committer *c = t->c;
	struct commit_job *batch;
	while ((batch = take_batch(c)) != NULL) {
		for (struct commit_job *j = batch; j; j = j->next)
			write_job(c, j);
		record_queue_entries(c, t->store, batch);
		for (struct commit_job *j = batch; j; j = j->next)
			if (j->result == 0)
				publish_job(t->store, j);
		sync_new_dirs(batch);
		complete_batch(batch);
	}
	return NULL;
}

struct committer *committer_new(int nthreads, const char *hostname, const char *data_dir,
                                char *err, size_t errlen)
{
	struct committer *c = xcalloc(1, sizeof(*c));
	char qdir[4096];
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	c->hostname = xstrdup(hostname);
	if (bsnprintf(qdir, sizeof(qdir), "%s/queue", data_dir) < 0 || mkdir_p(qdir, 0700) < 0) {
		snprintf(err, errlen, "%s/queue: cannot create: %m", data_dir);
		goto fail;
	}
	c->queue_dir = xstrdup(qdir);
	c->threads = xcalloc((size_t)nthreads, sizeof(struct commit_thread));
	for (int i = 0; i < nthreads; i++) {
		struct commit_thread *t = &c->threads[i];
		t->c = c;
		t->store = store_open(data_dir, err, errlen);
		if (t->store == NULL)
			goto fail;
		store_set_durable(t->store);
		c->nthreads++;
	}
	for (int i = 0; i < nthreads; i++) {
		if (pthread_create(&c->threads[i].thread, NULL, committer_main, &c->threads[i]) != 0) {
			snprintf(err, errlen, "cannot start committer thread");
			goto fail;
		}
		c->threads[i].started = true;
	}
	return c;
fail:
	committer_free(c);
	return NULL;
}

void committer_set_hooks(struct committer *c, commit_sign_fn sign, void *sign_arg,
                         commit_queued_fn queued, void *queued_arg)
{
	c->sign = sign;
	c->sign_arg = sign_arg;
	c->queued = queued;
	c->queued_arg = queued_arg;
}

void committer_free(struct committer *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	c->stopping = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	for (int i = 0; i < c->nthreads; i++) {
		if (c->threads[i].started)
			pthread_join(c->threads[i].thread, NULL);
		store_close(c->threads[i].store);
	}
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	free(c->threads);
	free(c->hostname);
	free(c->queue_dir);
	free(c);
}

void committer_submit(struct committer *c, struct commit_job *job)
{
	job->next = NULL;
	job->result = 0;
	job->ntmp = 0;
	job->tmp_paths = NULL;
	job->queue_path = NULL;
	job->local_header = NULL;
	job->queue_id[0] = '\0';
	pthread_mutex_lock(&c->lock);
	if (c->tail)
		c->tail->next = job;
	else
		c->head = job;
	c->tail = job;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}
