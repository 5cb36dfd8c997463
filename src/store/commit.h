/* Durable delivery with group commit: local Maildirs and the outbound queue.
 *
 * Sessions hand finished messages to committer threads; each thread takes
 * every job waiting, writes the files into Maildir/tmp (and the queue file
 * for remote recipients), fsyncs them, records queue entries in the store,
 * renames the Maildir copies into new/ and fsyncs each directory once for
 * the whole batch. Only then is each job's done() called, on the session's
 * event loop: a 250 after DATA means the message is on disk.
 *
 * A job is made of groups, each committed all-or-nothing: on failure every
 * copy of the group is removed again, so a retry by the client cannot
 * duplicate it. SMTP gives no groups, and the whole job is one (every
 * recipient or none); LMTP gives one per recipient, so that one recipient's
 * broken Maildir fails that recipient alone (RFC 2033: a reply each). */
#ifndef POSTERN_COMMIT_H
#define POSTERN_COMMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mailauth/arc.h"       /* enum arc_cv, a type only: the sealing is a hook */

struct event_base;
struct msgbuf;
struct committer;
struct commit_job;

typedef void (*commit_done_fn)(struct commit_job *job, void *arg);

/* A queue file and its entry: a group's remotes of one envelope sender. */
struct commit_queued {
	char id[32];                    /* output: the queue message id, when it queued */
	/* private */
	char *path;
	unsigned long long size;        /* octets of the queued message in CRLF form */
};
/* Which envelope sender a group's queue entry has: the job's, for its
 * remotes; forward_sender, for its forwards. */
enum commit_queued_as { COMMIT_AS_SENDER = 0, COMMIT_AS_FORWARDER, COMMIT_QUEUED_KINDS };

/* A part of a job that is committed or not as a whole: a run of the job's
 * maildirs, remotes and forwards (from the previous group's ends up to its
 * own), and for its remotes and its forwards a queue file each. */
struct commit_group {
	/* input */
	size_t maildirs_end;            /* maildirs[previous end .. maildirs_end) */
	size_t remotes_end;             /* remotes[previous end .. remotes_end) */
	size_t forwards_end;            /* forwards[previous end .. forwards_end) */
	/* refused before the commit (a mailbox over quota): nothing of it is
	 * written, and its result stays 0 */
	bool skip;
	/* output */
	int result;                     /* 0, or an errno value */
	struct commit_queued queued[COMMIT_QUEUED_KINDS];
};
/* The first queue id the group got, or NULL when it queued nothing. */
const char *commit_group_queue_id(const struct commit_group *grp);

struct commit_job {
	/* input, owned by the caller and untouched until done() */
	const char *sender;             /* envelope sender, "" for <> */
	const char *header;             /* trace lines to prepend (Received:), LF ends */
	size_t header_len;
	const struct msgbuf *body;
	char **maildirs;                /* each an existing-or-creatable Maildir path */
	size_t nmaildirs;
	/* per maildir: whose it is ("local@domain"), for the quota's usage;
	 * NULL (the array or an entry): not counted */
	char **users;
	char **remotes;                 /* recipients for the outbound queue */
	size_t nremotes;
	/* recipients an alias forwards to another domain, queued apart with
	 * forward_sender as their envelope sender (SRS); NULL and 0: none */
	char **forwards;
	size_t nforwards;
	const char *forward_sender;
	/* ARC (RFC 8617) for the forwards alone: our Authentication-Results
	 * payload ("authserv-id; spf=pass smtp.mailfrom=...; dkim=...; arc=none",
	 * one line) and the status of the chain as it arrived. NULL: the
	 * forwards go unsealed, as do the maildirs and remotes always */
	const char *arc_authres;
	enum arc_cv arc_cv;
	bool smtputf8;
	/* NULL (and 0): the whole job is one group, which committer_submit()
	 * puts in `whole`; else runs that cover maildirs and remotes in order */
	struct commit_group *groups;
	size_t ngroups;
	/* output */
	int result;                     /* 0 when every group committed, else the first error */
	char filename[256];             /* the Maildir file name used */
	/* completion */
	struct event_base *base;
	commit_done_fn done;
	void *arg;
	/* private */
	struct commit_job *next;
	struct commit_group whole;
	char **tmp_paths;               /* per maildir: its copy in tmp/, or NULL */
	char *local_header;             /* Return-Path + header, for Maildir copies */
	size_t local_header_len;
	uint64_t local_size;            /* RFC822.SIZE of a Maildir copy */
};

/* The RFC822.SIZE a Maildir copy of a message gets: Return-Path, the
 * header lines and the body, with CRLF line ends. What it adds to a user's
 * quota, known before the commit (the check after DATA). */
uint64_t commit_local_size(const char *sender, const char *header, size_t header_len,
                           const struct msgbuf *body);

/* Returns a malloc'd block of header lines (DKIM-Signature:) to put in front
 * of a queued message, or NULL; called on a committer thread. */
typedef char *(*commit_sign_fn)(void *arg, const char *sender, const struct msgbuf *body);
/* What the seal hook gets for one forwarded copy. */
struct commit_seal {
	const char *sender;             /* the copy's envelope sender (forward_sender) */
	const char *above;              /* the fields above the message: trace, DKIM-Signature */
	size_t above_len;
	const struct msgbuf *body;      /* the message as received */
	const char *authres;            /* the job's arc_authres */
	enum arc_cv cv;                 /* the job's arc_cv */
};
/* Returns a malloc'd ARC set (ARC-Seal, ARC-Message-Signature,
 * ARC-Authentication-Results, LF ends) to put on top of a forwarded copy,
 * or NULL to queue it unsealed (the hook logs why); called on a committer
 * thread. */
typedef char *(*commit_seal_fn)(void *arg, const struct commit_seal *in);
/* Called on a committer thread after queue entries were recorded. */
typedef void (*commit_queued_fn)(void *arg);

/* hostname goes into the Maildir file names; queue entries live under data_dir.
 * NULL with err when a thread or its store cannot start. */
struct committer *committer_new(int nthreads, const char *hostname, const char *data_dir,
                                char *err, size_t errlen);
/* Both optional; set before the first submit. */
void committer_set_hooks(struct committer *c, commit_sign_fn sign, void *sign_arg,
                         commit_queued_fn queued, void *queued_arg);
/* Optional, set before the first submit: seals forwards that have arc_authres. */
void committer_set_sealer(struct committer *c, commit_seal_fn seal, void *seal_arg);
/* The users' default limits, for the warning deliveries may bring (set
 * before the first submit; none by default). Copies are counted either way. */
struct quota_limits;
void committer_set_quota_defaults(struct committer *c, const struct quota_limits *defaults);
/* Finishes every queued job, then joins the threads. */
void committer_free(struct committer *c);
void committer_submit(struct committer *c, struct commit_job *job);

#endif
