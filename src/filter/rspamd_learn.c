/* Training rspamd by moving mail (rspamd.h): each message moved into Junk
 * is POSTed to the controller's /learnspam, each moved out of it to
 * /learnham, in the background and bounded: a few at once, a short queue,
 * the rest dropped and counted. A user's mistakes cost nothing but a
 * learn; an attacker's MOVE of 100000 messages costs a queue's worth. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"
#include "filter/rspamd.h"
#include "filter/rspamd_http.h"

/* A learn's reply is {"success":true} or an error object. */
#define LEARN_REPLY_MAX 4096
/* rspamd's answer to a message it has learnt before, the same way */
#define HTTP_ALREADY_REPORTED 208

struct learn_job {
	struct rspamd_learner *l;
	struct learn_job *next;
	struct rspamd_http *http;
	int fd;
	uint64_t size;
	bool spam;
};

struct rspamd_learner {
	struct event_base *base;
	const struct config_rspamd *cfg;
	struct learn_job *head, *tail;  /* waiting */
	size_t waiting;
	struct learn_job *running[RSPAMD_LEARN_RUNNING];
	struct rspamd_learn_stats stats;
	void (*idle)(void *arg);
	void *idle_arg;
};

struct rspamd_learner *rspamd_learner_new(struct event_base *base, const struct config_rspamd *cfg)
{
	struct rspamd_learner *l = xcalloc(1, sizeof(*l));
	l->base = base;
	l->cfg = cfg;
	return l;
}

static void job_free(struct learn_job *j)
{
	rspamd_http_free(j->http);
	close(j->fd);
	free(j);
}

void rspamd_learner_free(struct rspamd_learner *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < RSPAMD_LEARN_RUNNING; i++)
		if (l->running[i])
			job_free(l->running[i]);
	while (l->head) {
		struct learn_job *j = l->head;
		l->head = j->next;
		job_free(j);
	}
	free(l);
}

static size_t nrunning(const struct rspamd_learner *l)
{
	size_t n = 0;
	for (size_t i = 0; i < RSPAMD_LEARN_RUNNING; i++)
		n += l->running[i] != NULL;
	return n;
}

static void check_idle(struct rspamd_learner *l)
{
	if (l->idle == NULL || l->waiting > 0 || nrunning(l) > 0)
		return;
	void (*idle)(void *) = l->idle;
	l->idle = NULL;
	idle(l->idle_arg);
}

void rspamd_learner_on_idle(struct rspamd_learner *l, void (*done)(void *arg), void *arg)
{
	l->idle = done;
	l->idle_arg = arg;
	check_idle(l);
}

static void pump(struct rspamd_learner *l);

static void on_learnt(void *arg, int status, const char *body, size_t len, const char *err)
{
	struct learn_job *j = arg;
	struct rspamd_learner *l = j->l;
	const char *kind = j->spam ? "spam" : "ham";
	if (err == NULL && status == 200) {
		l->stats.learned++;
		log_event(LOG_INFO, "rspamd.learn", "s", "as", kind, NULL);
	} else if (err == NULL && status == HTTP_ALREADY_REPORTED) {
		l->stats.already++;
		log_event(LOG_DEBUG, "rspamd.learn_already", "s", "as", kind, NULL);
	} else {
		l->stats.failed++;
		log_event(LOG_WARN, "rspamd.learn_failed", "s", "as", kind, "i", "status", (long long)status,
		          "s", "error", err ? err : "refused", NULL);
	}
	for (size_t i = 0; i < RSPAMD_LEARN_RUNNING; i++)
		if (l->running[i] == j)
			l->running[i] = NULL;
	job_free(j);
	pump(l);
	check_idle(l);
}

static ssize_t read_fd(void *arg, uint64_t off, void *buf, size_t len)
{
	const struct learn_job *j = arg;
	return pread(j->fd, buf, len, (off_t)off);
}

static void start_job(struct rspamd_learner *l, struct learn_job *j)
{
	char head[512];
	const char *pw = l->cfg->password;
	snprintf(head, sizeof(head), "POST /learn%s HTTP/1.1\r\nHost: rspamd\r\nConnection: close\r\n"
	         "%s%s%s", j->spam ? "spam" : "ham", pw ? "Password: " : "", pw ? pw : "",
	         pw ? "\r\n" : "");
	struct rspamd_body body = { NULL, 0, read_fd, j, j->size };
	j->http = rspamd_http_post(l->base, &l->cfg->controller, head, &body, l->cfg->timeout_ms,
	                           LEARN_REPLY_MAX, on_learnt, j);
}

static void pump(struct rspamd_learner *l)
{
	for (size_t i = 0; i < RSPAMD_LEARN_RUNNING && l->head; i++) {
		if (l->running[i])
			continue;
		struct learn_job *j = l->head;
		l->head = j->next;
		if (l->head == NULL)
			l->tail = NULL;
		l->waiting--;
		l->running[i] = j;
		start_job(l, j);
	}
}

bool rspamd_learn_has_room(const struct rspamd_learner *l)
{
	return l != NULL && l->cfg->enabled && l->cfg->learn && l->waiting < RSPAMD_LEARN_QUEUE;
}

bool rspamd_learn(struct rspamd_learner *l, bool spam, const char *path)
{
	if (l == NULL || !l->cfg->enabled || !l->cfg->learn)
		return false;
	if (l->waiting >= RSPAMD_LEARN_QUEUE) {
		l->stats.dropped++;
		return false;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > l->cfg->max_size) {
		if (fd >= 0)
			close(fd);
		l->stats.dropped++;
		return false;
	}
	struct learn_job *j = xcalloc(1, sizeof(*j));
	j->l = l;
	j->fd = fd;
	j->size = (uint64_t)st.st_size;
	j->spam = spam;
	if (l->tail)
		l->tail->next = j;
	else
		l->head = j;
	l->tail = j;
	l->waiting++;
	l->stats.queued++;
	pump(l);
	return true;
}

void rspamd_learner_stats(const struct rspamd_learner *l, struct rspamd_learn_stats *out)
{
	*out = l->stats;
}
