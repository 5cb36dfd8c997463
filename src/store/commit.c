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
#include "store/quota.h"
#include "store/store.h"

#define COMMIT_BATCH_MAX 256

struct committer;

struct commit_thread {
	struct committer *c;
	pthread_t thread;
	struct store *store;    /* durable: queue rows are fsync'd before the 250 */
	/* not durable: a count a crash loses is made good when the index takes
	 * the copy in, and a batch's count costs no fsync */
	struct store *usage_store;
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
	commit_seal_fn seal;
	void *sign_arg, *queued_arg, *seal_arg;
	int nthreads;
	struct commit_thread *threads;
	struct quota_limits quota_defaults;
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

/* ---- groups -------------------------------------------------------------- */

/* Where group g's run of maildirs starts: the previous group's end. */
static size_t group_first_maildir(const struct commit_job *job, size_t g)
{
	return g == 0 ? 0 : job->groups[g - 1].maildirs_end;
}

/* The addresses group g queues with one envelope sender, and that sender. */
struct queue_run {
	char **addrs;
	size_t n;
	const char *sender;
};

static struct queue_run group_queue_run(const struct commit_job *job, size_t g,
                                        enum commit_queued_as as)
{
	const struct commit_group *grp = &job->groups[g], *prev = g == 0 ? NULL : grp - 1;
	struct queue_run run = { NULL, 0, job->sender };
	size_t first;
	if (as == COMMIT_AS_SENDER) {
		first = prev ? prev->remotes_end : 0;
		run.n = grp->remotes_end - first;
		run.addrs = run.n ? job->remotes + first : NULL;
	} else {
		first = prev ? prev->forwards_end : 0;
		run.n = grp->forwards_end - first;
		run.addrs = run.n ? job->forwards + first : NULL;
		run.sender = job->forward_sender;
	}
	return run;
}

const char *commit_group_queue_id(const struct commit_group *grp)
{
	for (int k = 0; k < COMMIT_QUEUED_KINDS; k++)
		if (grp->queued[k].id[0] != '\0')
			return grp->queued[k].id;
	return NULL;
}

/* Removes group g's copies from tmp/ (they were never published). */
static void unlink_group_tmp(struct commit_job *job, size_t g)
{
	for (size_t i = group_first_maildir(job, g); i < job->groups[g].maildirs_end; i++) {
		if (job->tmp_paths[i] != NULL)
			unlink(job->tmp_paths[i]);
		free(job->tmp_paths[i]);
		job->tmp_paths[i] = NULL;
	}
}

static void drop_queue_files(struct commit_group *grp)
{
	for (int k = 0; k < COMMIT_QUEUED_KINDS; k++) {
		if (grp->queued[k].path != NULL) {
			unlink(grp->queued[k].path);
			free(grp->queued[k].path);
			grp->queued[k].path = NULL;
		}
	}
}

/* Group g failed: nothing of it may stay behind. */
static void fail_group(struct commit_job *job, size_t g, int err)
{
	job->groups[g].result = err;
	unlink_group_tmp(job, g);
	drop_queue_files(&job->groups[g]);
}

/* ---- writing a job ------------------------------------------------------------ */

/* Return-Path belongs to final delivery only (RFC 5321 4.4), not to the queue copy */
#define RETURN_PATH_FMT "Return-Path: <%s>\n"

static void set_local_header(struct commit_job *job)
{
	size_t cap = strlen(job->sender) + job->header_len + 32;
	job->local_header = xmalloc(cap);
	int n = snprintf(job->local_header, cap, RETURN_PATH_FMT, job->sender);
	memcpy(job->local_header + n, job->header, job->header_len);
	job->local_header_len = (size_t)n + job->header_len;
}

/* Octets of LF-ended text once its line ends are CRLF. */
static uint64_t crlf_size(const char *text, size_t len)
{
	uint64_t size = len;
	for (size_t i = 0; i < len; i++)
		size += text[i] == '\n';
	return size;
}

uint64_t commit_local_size(const char *sender, const char *header, size_t header_len,
                           const struct msgbuf *body)
{
	/* the Return-Path line as set_local_header writes it, one LF in it */
	int rp = snprintf(NULL, 0, RETURN_PATH_FMT, sender);
	return (uint64_t)(rp > 0 ? rp + 1 : 0) + crlf_size(header, header_len) + msgbuf_size(body) +
	       msgbuf_lines(body);
}

/* The copy further ones link to: the first still in tmp/ (a group that
 * failed before took its copies back). NULL when none is. */
static const char *link_source(const struct commit_job *job)
{
	for (size_t i = 0; i < job->nmaildirs; i++)
		if (job->tmp_paths[i] != NULL)
			return job->tmp_paths[i];
	return NULL;
}

static int write_group_copies(struct commit_job *job, size_t g)
{
	for (size_t i = group_first_maildir(job, g); i < job->groups[g].maildirs_end; i++) {
		char path[4096];
		const char *first = link_source(job);
		int rc = first == NULL ? write_first_copy(job, job->maildirs[i], path, sizeof(path))
		                       : link_copy(job, first, job->maildirs[i], path, sizeof(path));
		if (rc == EACCES || rc == EPERM)
			log_denied(job->maildirs[i], rc);
		if (rc != 0)
			return rc;
		job->tmp_paths[i] = xstrdup(path);
	}
	return 0;
}

/* The ARC set on top of a forwarded copy (RFC 8617 5.1): made last, over
 * the trace fields and the DKIM-Signature below it, so that its AMS covers
 * our own signature as well; NULL when the copy is not sealed. */
static char *seal_forward(struct committer *c, struct commit_job *job, const char *sender,
                          const char *signature)
{
	if (c->seal == NULL || job->arc_authres == NULL)
		return NULL;
	size_t sig_len = signature ? strlen(signature) : 0;
	char *above = xmalloc(job->header_len + sig_len + 1);
	memcpy(above, job->header, job->header_len);
	memcpy(above + job->header_len, signature ? signature : "", sig_len + 1);
	struct commit_seal in = {
		.sender = sender, .above = above, .above_len = job->header_len + sig_len,
		.body = job->body, .authres = job->arc_authres, .cv = job->arc_cv,
	};
	char *set = c->seal(c->seal_arg, &in);
	free(above);
	return set;
}

/* The group's remotes get a queue file of their own, and its forwards
 * another (a queue entry has one envelope sender), each signed as its
 * sender's domain; the forwards sealed too. */
static int write_queue_copy(struct committer *c, struct commit_job *job, const char *sender,
                            enum commit_queued_as as, struct commit_queued *q)
{
	char path[4096];
	char *signature = c->sign ? c->sign(c->sign_arg, sender, job->body) : NULL;
	char *arc = as == COMMIT_AS_FORWARDER ? seal_forward(c, job, sender, signature) : NULL;
	const char *blocks[3] = { arc, job->header, signature };
	size_t lens[3] = { arc ? strlen(arc) : 0, job->header_len, signature ? strlen(signature) : 0 };
	int rc;
	do { /* ids are random; a collision just draws again */
		random_id(q->id, 16);
		if (bsnprintf(path, sizeof(path), "%s/%s", c->queue_dir, q->id) < 0) {
			rc = ENAMETOOLONG;
			break;
		}
		rc = write_message_file(path, blocks, lens, 3, job->body);
	} while (rc == EEXIST);
	if (rc == 0) {
		/* the size a remote sees: CRLF line ends, trace and signatures included */
		q->size = msgbuf_size(job->body) + msgbuf_lines(job->body);
		for (size_t i = 0; i < 3; i++) {
			q->size += lens[i];
			for (size_t k = 0; k < lens[i]; k++)
				q->size += blocks[i][k] == '\n';
		}
		q->path = xstrdup(path);
	}
	free(arc);
	free(signature);
	return rc;
}

static void write_group(struct committer *c, struct commit_job *job, size_t g)
{
	struct commit_group *grp = &job->groups[g];
	int rc = write_group_copies(job, g);
	for (int k = 0; k < COMMIT_QUEUED_KINDS && rc == 0; k++) {
		struct queue_run run = group_queue_run(job, g, k);
		if (run.n > 0)
			rc = write_queue_copy(c, job, run.sender, k, &grp->queued[k]);
	}
	if (rc != 0)
		fail_group(job, g, rc);
}

static void write_job(struct committer *c, struct commit_job *job)
{
	set_local_header(job);
	uint64_t size = job->local_header_len + msgbuf_size(job->body);
	job->local_size = crlf_size(job->local_header, job->local_header_len) +
	                  msgbuf_size(job->body) + msgbuf_lines(job->body);
	job->tmp_paths = xcalloc(job->nmaildirs ? job->nmaildirs : 1, sizeof(char *));
	bool named = maildir_unique_name(job->filename, sizeof(job->filename), c->hostname, size,
	                                 job->local_size) == 0;
	for (size_t g = 0; g < job->ngroups; g++) {
		if (job->groups[g].skip)
			continue;
		if (named)
			write_group(c, job, g);
		else
			fail_group(job, g, ENAMETOOLONG);
	}
}

/* ---- recording queue entries ------------------------------------------- */

static bool batch_has_queue_files(struct commit_job *batch)
{
	for (struct commit_job *j = batch; j; j = j->next)
		for (size_t g = 0; g < j->ngroups; g++)
			for (int k = 0; k < COMMIT_QUEUED_KINDS; k++)
				if (j->groups[g].result == 0 && j->groups[g].queued[k].path != NULL)
					return true;
	return false;
}

/* 0, or why a queue row of the job's group g could not be recorded. */
static int record_queue_entry(struct store *st, struct commit_job *j, size_t g,
                              enum commit_queued_as as)
{
	struct commit_queued *q = &j->groups[g].queued[as];
	struct queue_run run = group_queue_run(j, g, as);
	char err[256];
	struct queue_entry e = {
		.id = q->id, .sender = run.sender, .path = q->path,
		.size = q->size, .smtputf8 = j->smtputf8,
		.rcpts = (const char *const *)run.addrs, .nrcpts = run.n,
		.created = (long long)time(NULL),
	};
	if (store_queue_add(st, &e, err, sizeof(err)) != STORE_OK) {
		log_event(LOG_ERROR, "queue.insert_failed", "s", "error", err, NULL);
		return EIO;
	}
	return 0;
}

/* Group g's queue rows, all or none: a row already recorded is taken back
 * when its sibling fails. True when it recorded any. */
static bool record_group_entries(struct store *st, struct commit_job *j, size_t g, int dir_rc)
{
	struct commit_group *grp = &j->groups[g];
	int recorded = 0;
	if (grp->result != 0)
		return false;
	for (int k = 0; k < COMMIT_QUEUED_KINDS; k++) {
		if (grp->queued[k].path == NULL)
			continue;
		int rc = dir_rc != 0 ? dir_rc : record_queue_entry(st, j, g, k);
		if (rc == 0) {
			recorded |= 1 << k;
			continue;
		}
		for (int r = 0; r < k; r++) {
			char path[4096];
			if (recorded & 1 << r)
				store_queue_delete(st, grp->queued[r].id, path, sizeof(path));
		}
		fail_group(j, g, rc);
		return false;
	}
	return recorded != 0;
}

static void record_queue_entries(struct committer *c, struct store *st, struct commit_job *batch)
{
	bool any = false;
	if (!batch_has_queue_files(batch))
		return;
	/* the queue files' names must be durable before rows point at them */
	int dir_rc = fsync_dir(c->queue_dir) < 0 ? errno : 0;
	for (struct commit_job *j = batch; j; j = j->next) {
		for (size_t g = 0; g < j->ngroups; g++)
			any |= record_group_entries(st, j, g, dir_rc);
	}
	if (any && c->queued)
		c->queued(c->queued_arg);
}

/* ---- publishing Maildir copies ------------------------------------------ */

/* Moves every copy of group g from tmp/ to new/. On failure the copies
 * already moved are taken back out, so the group is all-or-nothing. */
static void publish_group(struct store *st, struct commit_job *job, size_t g)
{
	struct commit_group *grp = &job->groups[g];
	size_t first = group_first_maildir(job, g), done = first;
	char dst[4096];
	for (; done < grp->maildirs_end; done++) {
		if (bsnprintf(dst, sizeof(dst), "%s/new/%s", job->maildirs[done], job->filename) < 0 ||
		    rename(job->tmp_paths[done], dst) < 0) {
			grp->result = errno ? errno : ENAMETOOLONG;
			break;
		}
	}
	if (grp->result == 0)
		return;
	for (size_t i = first; i < done; i++)
		if (bsnprintf(dst, sizeof(dst), "%s/new/%s", job->maildirs[i], job->filename) >= 0)
			unlink(dst);
	for (int k = 0; k < COMMIT_QUEUED_KINDS; k++) {
		char path[4096];
		if (grp->queued[k].path != NULL)
			store_queue_delete(st, grp->queued[k].id, path, sizeof(path));
	}
	drop_queue_files(grp);
}

static void publish_job(struct store *st, struct commit_job *job)
{
	for (size_t g = 0; g < job->ngroups; g++)
		if (job->groups[g].result == 0 && !job->groups[g].skip)
			publish_group(st, job, g);
	/* what is left in tmp/: copies of groups that failed to publish */
	for (size_t i = 0; i < job->nmaildirs; i++) {
		if (job->tmp_paths[i] != NULL)
			unlink(job->tmp_paths[i]);   /* ENOENT after a successful rename */
		free(job->tmp_paths[i]);
	}
	free(job->tmp_paths);
	job->tmp_paths = NULL;
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
		for (size_t g = 0; g < j->ngroups; g++) {
			struct commit_group *grp = &j->groups[g];
			if (grp->skip)
				continue;
			for (size_t i = group_first_maildir(j, g); i < grp->maildirs_end && grp->result == 0; i++)
				grp->result = sync_dir_once(dirs, &n, ARRAY_LEN(dirs), j->maildirs[i]);
		}
	}
}

/* ---- the quota ---------------------------------------------------------------- */

struct copies {
	struct quota_delivery *d;
	size_t n, cap;
};

/* The copies group g of job j made, when it committed. */
static void add_group_copies(struct copies *cs, const struct commit_job *j, size_t g)
{
	const struct commit_group *grp = &j->groups[g];
	if (j->users == NULL || grp->result != 0 || grp->skip)
		return;
	for (size_t i = group_first_maildir(j, g); i < grp->maildirs_end; i++) {
		if (j->users[i] == NULL)
			continue;
		if (cs->n == cs->cap) {
			cs->cap = cs->cap ? cs->cap * 2 : 16;
			cs->d = xrealloc(cs->d, cs->cap * sizeof(*cs->d));
		}
		cs->d[cs->n++] = (struct quota_delivery){ j->maildirs[i], j->users[i], j->local_size };
	}
}

/* Every copy of the batch now durable in new/ goes to its user's usage:
 * counted after the rename, so a sync of INBOX that sees the count finds
 * the file (quota.h). */
static void count_deliveries(struct committer *c, struct store *st, struct commit_job *batch)
{
	struct copies cs = { 0 };
	for (struct commit_job *j = batch; j; j = j->next)
		for (size_t g = 0; g < j->ngroups; g++)
			add_group_copies(&cs, j, g);
	quota_count_deliveries(st, &c->quota_defaults, c->hostname, cs.d, cs.n);
	free(cs.d);
}

/* ---- completion ------------------------------------------------------------- */

static void job_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct commit_job *job = arg;
	(void)fd;
	(void)what;
	job->done(job, job->arg);
}

/* The job's result is its first failed group's; each failure is logged. */
static void sum_up_job(struct commit_job *job)
{
	job->result = 0;
	for (size_t g = 0; g < job->ngroups; g++) {
		struct commit_group *grp = &job->groups[g];
		for (int k = 0; k < COMMIT_QUEUED_KINDS; k++) {
			free(grp->queued[k].path);
			grp->queued[k].path = NULL;
		}
		if (grp->result == 0)
			continue;
		size_t first = group_first_maildir(job, g);
		log_event(LOG_ERROR, "delivery.failed", "s", "error", strerror(grp->result),
		          "s", "file", job->filename,
		          "s", "maildir", first < grp->maildirs_end ? job->maildirs[first] : NULL, NULL);
		if (job->result == 0)
			job->result = grp->result;
	}
}

static void complete_batch(struct commit_job *batch)
{
	static const struct timeval now = { 0, 0 };
	while (batch) {
		struct commit_job *next = batch->next;
		batch->next = NULL;
		free(batch->local_header);
		batch->local_header = NULL;
		sum_up_job(batch);
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
			publish_job(t->store, j);
		sync_new_dirs(batch);
		count_deliveries(c, t->usage_store, batch);
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
		c->nthreads++;   /* committer_free closes what was opened */
		t->store = store_open(data_dir, err, errlen);
		if (t->store == NULL || (t->usage_store = store_open(data_dir, err, errlen)) == NULL)
			goto fail;
		store_set_durable(t->store);
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

void committer_set_sealer(struct committer *c, commit_seal_fn seal, void *seal_arg)
{
	c->seal = seal;
	c->seal_arg = seal_arg;
}

void committer_set_quota_defaults(struct committer *c, const struct quota_limits *defaults)
{
	c->quota_defaults = *defaults;
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
		store_close(c->threads[i].usage_store);
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
	job->tmp_paths = NULL;
	job->local_header = NULL;
	if (job->groups == NULL || job->ngroups == 0) {
		job->whole = (struct commit_group){ .maildirs_end = job->nmaildirs,
		                                    .remotes_end = job->nremotes,
		                                    .forwards_end = job->nforwards };
		job->groups = &job->whole;
		job->ngroups = 1;
	}
	for (size_t g = 0; g < job->ngroups; g++) {
		job->groups[g].result = 0;
		for (int k = 0; k < COMMIT_QUEUED_KINDS; k++) {
			job->groups[g].queued[k].id[0] = '\0';
			job->groups[g].queued[k].path = NULL;
		}
	}
	pthread_mutex_lock(&c->lock);
	if (c->tail)
		c->tail->next = job;
	else
		c->head = job;
	c->tail = job;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}
