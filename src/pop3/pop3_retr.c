/* RETR and TOP (RFC 1939 5, 7): a message streamed from its file in pieces,
 * dot-stuffed with CRLF line ends on the way, while the client reads. The
 * session's output never holds more than pop3.session_memory_limit, however
 * large the message; TOP stops reading at the lines it was asked for. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "mail/dotstuff.h"
#include "pop3/pop3_maildrop.h"
#include "pop3/pop3_session.h"

/* Read from the file at a time (on the stack). */
#define RETR_CHUNK (16 * 1024)

struct retr_job {
	int fd;
	struct mail_dotstuff enc;
	bool whole;             /* RETR, not TOP: counted in the log */
	uint64_t size;
};

static void retr_continue(struct pop3_session *s);
static void retr_free(struct pop3_session *s);
static const struct pop3_cmd_hooks retr_hooks = { .resume = retr_continue, .cancel = retr_free };

static void retr_free(struct pop3_session *s)
{
	struct retr_job *j = s->job;
	pop3_cmd_finished(s, &retr_hooks);
	if (j != NULL) {
		close(j->fd);
		free(j);
	}
}

/* Output that may be queued before a piece is added: with the piece's worst
 * case (every octet doubled) and the end, it stays within the limit. */
static size_t highwater(const struct pop3_session *s)
{
	return s->ns.cfg->pop3.session_memory - MAIL_DOTSTUFF_OUT_MAX(RETR_CHUNK) -
	       MAIL_DOTSTUFF_FINISH_MAX;
}

/* After "+OK" the reply is committed: a read error can only be told by
 * closing, and a client must not take a cut message for a whole one. */
static void fail_midway(struct pop3_session *s, int err)
{
	log_event(LOG_ERROR, "pop3.read_error", "s", "session", s->ns.id, "s", "user", s->user,
	          "s", "error", strerror(err), NULL);
	retr_free(s);
	s->io = POP3_IO_CLOSING;
	net_session_close(&s->ns);
}

static void retr_continue(struct pop3_session *s)
{
	struct retr_job *j = s->job;
	char in[RETR_CHUNK];
	bool eof = false;
	while (!j->enc.done && pop3_output_pending(s) < highwater(s)) {
		ssize_t n = read(j->fd, in, sizeof(in));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fail_midway(s, errno);
			return;
		}
		if (n == 0) {
			eof = true;
			break;
		}
		pop3_write_message(s, &j->enc, in, (size_t)n);
	}
	if (!eof && !j->enc.done) {
		s->io = POP3_IO_STREAM;
		net_session_wait(&s->ns, NS_WAIT_COMMAND);   /* the client is reading: not idle */
		return;
	}
	pop3_end_message(s, &j->enc);
	if (j->whole) {
		s->retrieved++;
		s->retrieved_octets += j->size;
	}
	retr_free(s);
	if (s->io == POP3_IO_STREAM)
		pop3_resume_input(s);
}

static void begin_message(struct pop3_session *s, const struct pop3_msg *m, uint64_t number,
                          bool whole, uint64_t lines)
{
	int fd = pop3_maildrop_open_message(s->md, m);
	if (fd < 0) {
		/* expunged over IMAP since the snapshot */
		pop3_err(s, NULL, "Message %llu no longer exists", (unsigned long long)number);
		return;
	}
	struct retr_job *j = xcalloc(1, sizeof(*j));
	j->fd = fd;
	j->whole = whole;
	j->size = m->size;
	if (whole) {
		mail_dotstuff_init(&j->enc);
		pop3_ok(s, "%llu octets", (unsigned long long)m->size);
	} else {
		mail_dotstuff_init_top(&j->enc, lines);
		pop3_ok(s, "Top of message follows");
	}
	pop3_cmd_running(s, &retr_hooks, j);
	retr_continue(s);
}

void pop3_cmd_retr(struct pop3_session *s, char *args)
{
	char *argv[1];
	uint64_t number;
	const struct pop3_msg *m;
	if (pop3_split_args(args, argv, 1) != 1) {
		pop3_protocol_error(s, "Syntax: RETR message");
		return;
	}
	if ((m = pop3_message_arg(s, argv[0], &number)) != NULL)
		begin_message(s, m, number, true, 0);
}

void pop3_cmd_top(struct pop3_session *s, char *args)
{
	char *argv[2];
	uint64_t number, lines;
	const struct pop3_msg *m;
	if (pop3_split_args(args, argv, 2) != 2) {
		pop3_protocol_error(s, "Syntax: TOP message lines");
		return;
	}
	/* a line count too large for 64 bits is simply the whole body */
	if (pop3_parse_number(argv[1], &lines) < 0) {
		pop3_protocol_error(s, "Invalid line count");
		return;
	}
	if ((m = pop3_message_arg(s, argv[0], &number)) != NULL)
		begin_message(s, m, number, false, lines);
}
