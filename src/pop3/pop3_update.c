/* QUIT (RFC 1939 4, 6): in AUTHORIZATION it just ends the session; in
 * TRANSACTION it enters UPDATE, where the marked messages are removed through
 * the mailbox index on the thread pool (file unlinks and a directory fsync),
 * and the +OK goes out only once that is durable. A session that ends any
 * other way (dropped, timed out, shut down) never gets here. */
#include <stdlib.h>

#include "core/log.h"
#include "core/threadpool.h"
#include "core/util.h"
#include "pop3/pop3_maildrop.h"
#include "pop3/pop3_session.h"

struct update_job {
	struct pop3_session *s;
	struct pop3_maildrop *md;       /* the session's: it waits while the pool works */
	int rc;
	size_t removed;
	char err[256];
};

static void unlock(struct pop3_session *s);

static void update_work(void *arg)
{
	struct update_job *j = arg;
	j->rc = pop3_maildrop_commit(j->md, &j->removed, j->err, sizeof(j->err));
}

static void update_done(void *arg)
{
	struct update_job *j = arg;
	struct pop3_session *s = j->s;
	if (pop3_op_end(s)) {
		unlock(s);
		if (j->rc == 0) {
			log_event(LOG_INFO, "pop3.update", "s", "session", s->ns.id, "s", "user", s->user,
			          "i", "deleted", (long long)j->removed, NULL);
			pop3_close_with(s, "+OK", "Bye, deleted messages removed");
		} else {
			log_event(LOG_ERROR, "pop3.update_failed", "s", "session", s->ns.id,
			          "s", "user", s->user, "s", "error", j->err, NULL);
			/* RFC 1939 6: -ERR when some deleted messages were not removed */
			pop3_close_with(s, "SYS/TEMP", "Some deleted messages not removed");
		}
	}
	free(j);
}

/* The lock goes before the last reply: a client that logs in again the
 * moment it reads the +OK must not find its own old session in the way. */
static void unlock(struct pop3_session *s)
{
	pop3_maildrop_close(s->md);
	s->md = NULL;
}

static bool any_marked(const struct pop3_maildrop *md)
{
	for (uint64_t i = 1; i <= pop3_maildrop_count(md); i++)
		if (pop3_maildrop_msg(md, i)->deleted)
			return true;
	return false;
}

static void begin_update(struct pop3_session *s)
{
	struct update_job *j = xcalloc(1, sizeof(*j));
	j->s = s;
	j->md = s->md;
	s->state = POP3_UPDATE;
	pop3_wait(s);
	pop3_op_begin(s);
	if (threadpool_submit(worker_threadpool(s->ns.worker), worker_base(s->ns.worker),
	                      update_work, update_done, j) < 0) {
		/* nothing was removed; the marks are lost with the session */
		pop3_op_end(s);
		free(j);
		pop3_close_with(s, "SYS/TEMP", "Server busy, deleted messages not removed");
	}
}

void pop3_cmd_quit(struct pop3_session *s, char *args)
{
	(void)args;   /* RFC 1939 has QUIT take none; one given changes nothing */
	if (s->state == POP3_TRANSACTION && any_marked(s->md)) {
		begin_update(s);
		return;
	}
	unlock(s);
	pop3_close_with(s, "+OK", "Bye");
}
