/* The TRANSACTION commands that read the snapshot or mark it (RFC 1939 5,
 * 7): STAT, LIST, UIDL, DELE, RSET. LIST and UIDL of the whole maildrop go
 * out in pieces while the client reads, like RETR (pop3_retr.c). */
#include <stdlib.h>

#include "core/config.h"
#include "core/util.h"
#include "pop3/pop3_maildrop.h"
#include "pop3/pop3_session.h"

const struct pop3_msg *pop3_message_arg(struct pop3_session *s, const char *arg, uint64_t *number)
{
	if (pop3_parse_number(arg, number) < 0) {
		pop3_protocol_error(s, "Invalid message number");
		return NULL;
	}
	const struct pop3_msg *m = pop3_maildrop_msg(s->md, *number);
	if (m == NULL) {
		pop3_err(s, NULL, "No such message");
		return NULL;
	}
	if (m->deleted) {
		pop3_err(s, NULL, "Message %llu already deleted", (unsigned long long)*number);
		return NULL;
	}
	return m;
}

/* The optional message number of LIST and UIDL: 0 without one, 1 with one
 * (in *m), -1 after answering an error. */
static int optional_message(struct pop3_session *s, char *args, const struct pop3_msg **m,
                            uint64_t *number)
{
	char *argv[1];
	int n = pop3_split_args(args, argv, 1);
	if (n < 0) {
		pop3_protocol_error(s, "Too many arguments");
		return -1;
	}
	if (n == 0)
		return 0;
	*m = pop3_message_arg(s, argv[0], number);
	return *m != NULL ? 1 : -1;
}

void pop3_cmd_stat(struct pop3_session *s, char *args)
{
	size_t n;
	uint64_t octets;
	if (!pop3_args_empty(args)) {
		pop3_protocol_error(s, "STAT takes no argument");
		return;
	}
	pop3_maildrop_stat(s->md, &n, &octets);
	/* RFC 1939 5: exactly "+OK nn mm" first */
	pop3_ok(s, "%zu %llu", n, (unsigned long long)octets);
}

/* ---- listings of the whole maildrop ----------------------------------------------------- */

struct listing {
	bool uidl;              /* UIDL, else LIST */
	size_t next;            /* index of the next message to list */
};

static void listing_continue(struct pop3_session *s);
static void listing_free(struct pop3_session *s);
static const struct pop3_cmd_hooks listing_hooks = { .resume = listing_continue,
                                                     .cancel = listing_free };

static void listing_free(struct pop3_session *s)
{
	void *job = s->job;
	pop3_cmd_finished(s, &listing_hooks);
	free(job);
}

/* Lists until the output holds half of pop3.session_memory_limit; the
 * engine calls again once the client has read it. */
static void listing_continue(struct pop3_session *s)
{
	struct listing *l = s->job;
	size_t count = pop3_maildrop_count(s->md), highwater = s->ns.cfg->pop3.session_memory / 2;
	for (; l->next < count && pop3_output_pending(s) < highwater; l->next++) {
		const struct pop3_msg *m = pop3_maildrop_msg(s->md, l->next + 1);
		if (m->deleted)
			continue;   /* RFC 1939 5: deleted messages are not listed */
		if (l->uidl)
			pop3_line(s, "%zu %s", l->next + 1, pop3_maildrop_uidl(s->md, m));
		else
			pop3_line(s, "%zu %llu", l->next + 1, (unsigned long long)m->size);
	}
	if (l->next < count) {
		s->io = POP3_IO_STREAM;
		net_session_wait(&s->ns, NS_WAIT_COMMAND);   /* the client is reading: not idle */
		return;
	}
	pop3_end_multiline(s);
	listing_free(s);
	if (s->io == POP3_IO_STREAM)
		pop3_resume_input(s);
}

static void begin_listing(struct pop3_session *s, bool uidl)
{
	struct listing *l = xcalloc(1, sizeof(*l));
	size_t n;
	uint64_t octets;
	l->uidl = uidl;
	pop3_maildrop_stat(s->md, &n, &octets);
	if (uidl)
		pop3_ok(s, "Unique-id listing follows");
	else
		pop3_ok(s, "%zu messages (%llu octets)", n, (unsigned long long)octets);
	pop3_cmd_running(s, &listing_hooks, l);
	listing_continue(s);
}

void pop3_cmd_list(struct pop3_session *s, char *args)
{
	const struct pop3_msg *m = NULL;
	uint64_t number = 0;
	int one = optional_message(s, args, &m, &number);
	if (one == 0)
		begin_listing(s, false);
	else if (one > 0)
		pop3_ok(s, "%llu %llu", (unsigned long long)number, (unsigned long long)m->size);
}

void pop3_cmd_uidl(struct pop3_session *s, char *args)
{
	const struct pop3_msg *m = NULL;
	uint64_t number = 0;
	int one = optional_message(s, args, &m, &number);
	if (one == 0)
		begin_listing(s, true);
	else if (one > 0)
		pop3_ok(s, "%llu %s", (unsigned long long)number, pop3_maildrop_uidl(s->md, m));
}

/* ---- marks ------------------------------------------------------------------------------ */

void pop3_cmd_dele(struct pop3_session *s, char *args)
{
	char *argv[1];
	uint64_t number;
	if (pop3_split_args(args, argv, 1) != 1) {
		pop3_protocol_error(s, "Syntax: DELE message");
		return;
	}
	if (pop3_message_arg(s, argv[0], &number) == NULL)
		return;
	/* only marked: QUIT removes it (RFC 1939 6) */
	pop3_maildrop_mark(s->md, number);
	pop3_ok(s, "Message %llu deleted", (unsigned long long)number);
}

void pop3_cmd_rset(struct pop3_session *s, char *args)
{
	size_t n;
	uint64_t octets;
	if (!pop3_args_empty(args)) {
		pop3_protocol_error(s, "RSET takes no argument");
		return;
	}
	pop3_maildrop_unmark_all(s->md);
	pop3_maildrop_stat(s->md, &n, &octets);
	pop3_ok(s, "Maildrop has %zu messages (%llu octets)", n, (unsigned long long)octets);
}
