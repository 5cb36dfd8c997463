/* A POP3 session (RFC 1939, RFC 2449, RFC 5034, RFC 2595, RFC 6856): one per
 * connection, on its worker's event loop. Internal to src/pop3. */
#ifndef POSTERN_POP3_SESSION_H
#define POSTERN_POP3_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/session.h"
#include "pop3/pop3_parse.h"

struct mail_dotstuff;
struct pop3_maildrop;
struct sasl_server;

/* RFC 1939 3. UPDATE is a moment (QUIT), not a state a command runs in. */
enum pop3_state { POP3_AUTHORIZATION = 1 << 0, POP3_TRANSACTION = 1 << 1, POP3_UPDATE = 1 << 2 };

enum pop3_io {
	POP3_IO_READ,           /* reading commands */
	POP3_IO_AUTH,           /* reading an AUTH response line */
	POP3_IO_WAIT,           /* a password check, a failure delay or maildrop work on the pool */
	POP3_IO_STREAM,         /* a multi-line response is going out: go on when output drains */
	POP3_IO_STLS,           /* +OK to STLS sent: nothing is read until the handshake is done */
	POP3_IO_CLOSING,        /* the last reply is queued */
};

#define POP3_USER_MAX 320       /* local@domain, as the login module takes it */

struct pop3_session;

/* A command that runs across callbacks (RETR streaming, a long LIST, AUTH
 * with its password check) tells the session how to go on and how to stop;
 * the session never calls them by name. */
struct pop3_cmd_hooks {
	void (*resume)(struct pop3_session *s);   /* all output written: continue (optional) */
	void (*cancel)(struct pop3_session *s);   /* the session ends: free what it holds */
	/* POP3_IO_AUTH: input arrived for the command itself; true when more
	 * input may be processed now (optional) */
	bool (*input)(struct pop3_session *s);
};

struct pop3_session {
	struct net_session ns;          /* first: the engine's part of the session */
	enum pop3_state state;
	enum pop3_io io;
	bool discarding_line;           /* an overlong line is being dropped up to its end */
	bool utf8;                      /* UTF8 given (RFC 6856 2) */

	/* AUTHORIZATION */
	char user[POP3_USER_MAX + 1];   /* USER's name until PASS; the user once logged in */
	bool user_given;
	char master[65];                /* the master user logged in as user, or "" */
	struct sasl_server *sasl;       /* PASS or AUTH in progress, or NULL */

	/* TRANSACTION */
	struct pop3_maildrop *md;
	uint64_t retrieved, retrieved_octets;   /* for the log */

	/* the command in progress across callbacks, and its state */
	const struct pop3_cmd_hooks *running;
	void *job;
};

/* ---- output (pop3_output.c): the only way a command writes to the client ---- */
/* "+OK text" */
void pop3_ok(struct pop3_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "-ERR [code] text" (RFC 2449 8: code NULL for none) */
void pop3_err(struct pop3_session *s, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* One line of a multi-line response, dot-stuffed; and its terminating ".". */
void pop3_line(struct pop3_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pop3_end_multiline(struct pop3_session *s);
/* Raw octets (an AUTH challenge). */
void pop3_write(struct pop3_session *s, const void *data, size_t len);
/* A piece of a stored message, dot-stuffed with CRLF line ends (RETR, TOP);
 * the end of it, with the terminating ".". */
void pop3_write_message(struct pop3_session *s, struct mail_dotstuff *enc, const char *in,
                        size_t len);
void pop3_end_message(struct pop3_session *s, struct mail_dotstuff *enc);
size_t pop3_output_pending(struct pop3_session *s);

/* ---- the session (pop3_session.c) ---- */
/* -ERR that counts against the service's error limit; closes past it. */
void pop3_protocol_error(struct pop3_session *s, const char *text);
/* The last reply: "-ERR [code] text" (or "+OK text" when code is "+OK"), then close. */
void pop3_close_with(struct pop3_session *s, const char *code, const char *text);
/* Reading commands again (after a wait or a long command). */
void pop3_resume_input(struct pop3_session *s);
/* Input is paused: a password check, the failure delay, maildrop work. */
void pop3_wait(struct pop3_session *s);
/* A CRLF-ended line of input without its CRLF (malloc'd), or NULL when none
 * is complete yet; *too_long when more than max octets wait without one. */
char *pop3_input_line(struct pop3_session *s, size_t max, size_t *len, bool *too_long);
void pop3_begin_stls(struct pop3_session *s);
/* A long command starts (hooks) or has finished (NULL when h is the one running). */
void pop3_cmd_running(struct pop3_session *s, const struct pop3_cmd_hooks *h, void *job);
void pop3_cmd_finished(struct pop3_session *s, const struct pop3_cmd_hooks *h);

/* Work on another thread keeps the session alive (net_session_op_begin/end). */
static inline void pop3_op_begin(struct pop3_session *s) { net_session_op_begin(&s->ns); }
static inline bool pop3_op_end(struct pop3_session *s) { return net_session_op_end(&s->ns); }

/* ---- commands ---- */
/* The one command table (pop3_cmds.c): runs a parsed line. */
void pop3_dispatch(struct pop3_session *s, const struct pop3_cmdline *cmd);

/* pop3_capa.c */
void pop3_cmd_capa(struct pop3_session *s, char *args);
/* RFC 2595 4, RFC 8314: no login of any kind before TLS unless configured. */
bool pop3_login_allowed_here(const struct pop3_session *s);

/* pop3_auth.c */
void pop3_cmd_user(struct pop3_session *s, char *args);
void pop3_cmd_pass(struct pop3_session *s, char *args);
void pop3_cmd_auth(struct pop3_session *s, char *args);

/* pop3_transaction.c */
void pop3_cmd_stat(struct pop3_session *s, char *args);
void pop3_cmd_list(struct pop3_session *s, char *args);
void pop3_cmd_uidl(struct pop3_session *s, char *args);
void pop3_cmd_dele(struct pop3_session *s, char *args);
void pop3_cmd_rset(struct pop3_session *s, char *args);
/* The message a command names in args ("RETR 3"): NULL after answering
 * -ERR (no such message, deleted, not a number). Its number in *number. */
const struct pop3_msg *pop3_message_arg(struct pop3_session *s, const char *arg, uint64_t *number);

/* pop3_retr.c */
void pop3_cmd_retr(struct pop3_session *s, char *args);
void pop3_cmd_top(struct pop3_session *s, char *args);

/* pop3_update.c */
void pop3_cmd_quit(struct pop3_session *s, char *args);

/* The protocol for the pop3 and pop3s service rows. */
extern const struct session_ops pop3_session_ops;

#endif
