/* Threading of RFC 5256 section 4: ORDEREDSUBJECT ("poor man's threading")
 * and REFERENCES (the Message-ID / References links of RFC 5322 3.6.4, after
 * Jamie Zawinski's algorithm, with the RFC's rules for loops, duplicates and
 * missing parents). Pure: messages in, a tree out; IMAP writes the tree as
 * a THREAD response, another protocol could as well.
 *
 * Every walk over the tree is iterative: a thread may be one chain of as
 * many messages as the mailbox holds. */
#ifndef POSTERN_MAIL_THREAD_H
#define POSTERN_MAIL_THREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One message to thread, in mailbox order (the RFC's tie-breaker). */
struct mail_thread_msg {
	uint32_t id;                /* what the tree names it by (sequence number or UID) */
	const char *message_id;     /* Message-ID field, raw (NULL when none) */
	const char *references;     /* References field, raw (NULL when none) */
	const char *in_reply_to;    /* In-Reply-To, used when References gives no id */
	const char *base_subject;   /* RFC 5256 2.1, casemapped: compared as octets */
	bool reply_or_fwd;          /* its subject had a reply or forward marker */
	int64_t sent;               /* RFC 5256 2.2: the sent date, or the internal date */
};

/* A node of the result: a message, or a dummy (msg < 0) standing for a
 * missing parent that has two or more children at the top level. */
struct mail_thread_node {
	int32_t msg;                /* index into the messages given, -1 for a dummy */
	int32_t child, next;        /* first child, next sibling: node indexes, -1 for none */
};

struct mail_thread {
	struct mail_thread_node *nodes;
	size_t n;
	int32_t first;              /* the first thread (top-level sibling), -1 for none */
};

enum mail_thread_algorithm { MAIL_THREAD_ORDEREDSUBJECT, MAIL_THREAD_REFERENCES };

/* Threads msgs[0, n) into t (free with mail_thread_free()); siblings are in
 * sent-date order, ties by mailbox order, threads too. */
void mail_thread_build(enum mail_thread_algorithm alg, const struct mail_thread_msg *msgs,
                       size_t n, struct mail_thread *t);
void mail_thread_free(struct mail_thread *t);

/* The next message id ("left@right", without the brackets and white space)
 * in a Message-ID, In-Reply-To or References value from *p, advancing *p
 * past it; ids without '@' are skipped. out gets at most outlen - 1 octets;
 * returns the id's length (0: none left). */
size_t mail_msgid_next(const char **p, char *out, size_t outlen);

#endif
