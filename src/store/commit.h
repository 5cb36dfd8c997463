/* Durable local delivery with group commit.
 *
 * Sessions hand finished messages to committer threads; each thread takes
 * every job waiting, writes the files into Maildir/tmp, fsyncs them, renames
 * them into new/ and fsyncs each new/ directory once for the whole batch.
 * Only then is each job's done() called, on the session's event loop: a 250
 * after DATA means the message is on disk. A job either appears in every
 * recipient's new/ or the caller is told it failed (copies already renamed
 * are removed again, so a retry by the client cannot duplicate them). */
#ifndef POSTERN_COMMIT_H
#define POSTERN_COMMIT_H

#include <stddef.h>

struct event_base;
struct msgbuf;
struct committer;
struct commit_job;

typedef void (*commit_done_fn)(struct commit_job *job, void *arg);

struct commit_job {
	/* input, owned by the caller and untouched until done() */
	const char *header;             /* prepended lines (Return-Path, Received), LF ends */
	size_t header_len;
	const struct msgbuf *body;
	char **maildirs;                /* each an existing-or-creatable Maildir path */
	size_t nmaildirs;
	/* output */
	int result;                     /* 0, or an errno value */
	char filename[256];             /* the Maildir file name used */
	/* completion */
	struct event_base *base;
	commit_done_fn done;
	void *arg;
	/* private */
	struct commit_job *next;
	char **tmp_paths;
	size_t ntmp;
};

/* hostname goes into the Maildir file names. */
struct committer *committer_new(int nthreads, const char *hostname);
/* Finishes every queued job, then joins the threads. */
void committer_free(struct committer *c);
void committer_submit(struct committer *c, struct commit_job *job);

#endif
