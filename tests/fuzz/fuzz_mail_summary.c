/* libFuzzer target for what the header cache reads of a message
 * (src/mail/summary.c, subject.c, src/core/casemap.c) and for threading
 * (src/mail/thread.c), all of which see message data.
 *
 * The input is read twice. As a header block: the summary is made, its
 * strings casemapped. As a mailbox: each line "id|references|subject|date"
 * is a message (ids and references as the fields have them, the date a
 * number), threaded by REFERENCES and ORDEREDSUBJECT. Beyond the
 * sanitizers it checks properties that must hold for any input and
 * abort()s when one does not: the base subject and casemapping are
 * idempotent, the base subject is never longer than its subject, and every
 * message is in the thread tree exactly once, with no loop and no dummy
 * left without children. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/casemap.h"
#include "mail/subject.h"
#include "mail/summary.h"
#include "mail/thread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(ok)                                                                       \
	do {                                                                            \
		if (!(ok)) {                                                            \
			fprintf(stderr, "fuzz_mail_summary: check failed at line %d: %s\n", \
			        __LINE__, #ok);                                         \
			abort();                                                        \
		}                                                                       \
	} while (0)

#define MAX_MSGS 256

static void check_casemap_idempotent(const char *s)
{
	struct buf once, twice;
	buf_init(&once);
	buf_init(&twice);
	casemap_append(&once, s, strlen(s));
	casemap_append(&twice, once.data, once.len);
	check(once.len == twice.len && memcmp(once.data, twice.data, once.len) == 0);
	buf_free(&once);
	buf_free(&twice);
}

static void check_base_subject(const char *subject, size_t len)
{
	struct buf once, twice;
	bool reply;
	buf_init(&once);
	buf_init(&twice);
	mail_base_subject(subject, len, &once, &reply);
	check(once.len <= len);
	mail_base_subject(once.data, once.len, &twice, &reply);
	check(once.len == twice.len && memcmp(once.data, twice.data, once.len) == 0);
	buf_free(&once);
	buf_free(&twice);
}

static void fuzz_summary(const char *text, size_t len)
{
	struct mail_summary s;
	mail_summary_read(&s, text, len);
	const char *const all[] = {
		s.subject, s.from, s.to, s.cc, s.bcc, s.from_addrs, s.to_addrs, s.cc_addrs,
		s.bcc_addrs, s.message_id, s.in_reply_to, s.references, s.date, s.base_subject,
		s.first_from, s.first_to, s.first_cc, s.display_from, s.display_to,
	};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (all[i] != NULL)
			check_casemap_idempotent(all[i]);
	check(s.base_subject != NULL && s.first_from != NULL && s.display_to != NULL);
	mail_summary_free(&s);
	check_base_subject(text, len);
}

/* ---- threading ---- */

/* Counts the tree's nodes reachable from t->first, each message once. */
static void check_tree(const struct mail_thread *t, size_t nmsgs)
{
	uint8_t *seen = calloc(nmsgs + 1, 1);
	int32_t *stack = malloc((t->n + 1) * sizeof(int32_t));
	size_t sp = 0, visited = 0, found = 0;
	for (int32_t x = t->first; x >= 0; x = t->nodes[x].next)
		stack[sp++] = x;
	while (sp > 0) {
		int32_t x = stack[--sp];
		check(x >= 0 && (size_t)x < t->n);
		check(++visited <= t->n);   /* more visits than nodes: a loop */
		const struct mail_thread_node *nd = &t->nodes[x];
		if (nd->msg >= 0) {
			check((size_t)nd->msg < nmsgs && !seen[nd->msg]);
			seen[nd->msg] = 1;
			found++;
		} else {
			check(nd->child >= 0);  /* a dummy stands for children */
		}
		for (int32_t ch = nd->child; ch >= 0; ch = t->nodes[ch].next) {
			check(sp < t->n);
			stack[sp++] = ch;
		}
	}
	check(found == nmsgs);
	free(stack);
	free(seen);
}

static char *field(char **p)
{
	char *start = *p, *bar = strchr(start, '|');
	if (bar != NULL) {
		*bar = '\0';
		*p = bar + 1;
	} else {
		*p = start + strlen(start);
	}
	return start;
}

static void fuzz_threads(const char *text, size_t len)
{
	char *copy = malloc(len + 1);
	struct mail_thread_msg msgs[MAX_MSGS];
	struct buf subjects[MAX_MSGS];
	size_t n = 0;
	memcpy(copy, text, len);
	copy[len] = '\0';
	for (char *line = copy, *next; line != NULL && n < MAX_MSGS; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		char *p = line;
		char *id = field(&p), *refs = field(&p), *subject = field(&p), *date = field(&p);
		bool reply;
		buf_init(&subjects[n]);
		mail_base_subject(subject, strlen(subject), &subjects[n], &reply);
		msgs[n] = (struct mail_thread_msg){
			.id = (uint32_t)n + 1, .message_id = id, .references = refs,
			.in_reply_to = refs, .base_subject = subjects[n].data, .reply_or_fwd = reply,
			.sent = strtoll(date, NULL, 10),
		};
		n++;
	}
	for (int alg = 0; alg < 2; alg++) {
		struct mail_thread t;
		mail_thread_build(alg ? MAIL_THREAD_REFERENCES : MAIL_THREAD_ORDEREDSUBJECT, msgs, n, &t);
		check_tree(&t, n);
		mail_thread_free(&t);
	}
	for (size_t i = 0; i < n; i++)
		buf_free(&subjects[i]);
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	fuzz_summary(text, size);
	fuzz_threads(text, size);
	return 0;
}
