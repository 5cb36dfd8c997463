/* An SMTP server session: one per connection, driven by callbacks on its
 * worker's event loop. Internal to src/smtp. */
#ifndef POSTERN_SMTP_SESSION_H
#define POSTERN_SMTP_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/util.h>

#include "net/server.h"
#include "smtp/smtp_data.h"
#include "smtp/smtp_parse.h"
#include "store/commit.h"
#include "tls/tls_bev.h"

struct bufferevent;
struct event;
struct msgbuf;
struct ssl_st;

/* Which port the session came in on decides what it may do. */
enum smtp_mode {
	SMTP_MODE_MX = 0,       /* 25: mail for local users (and relay.hosts) */
	SMTP_MODE_SUBMISSION,   /* 587: STARTTLS, AUTH, then anything (RFC 6409) */
	SMTP_MODE_SUBMISSIONS,  /* 465: the same over implicit TLS (RFC 8314) */
};

enum smtp_auth_mech { SMTP_AUTH_NONE = 0, SMTP_AUTH_PLAIN, SMTP_AUTH_LOGIN, SMTP_AUTH_SCRAM };

enum smtp_state {
	SMTP_S_COMMAND,         /* reading command lines */
	SMTP_S_DATA,            /* reading the DATA body */
	SMTP_S_BDAT,            /* reading a BDAT chunk */
	SMTP_S_COMMITTING,      /* waiting for the message to be durable */
	SMTP_S_STARTTLS,        /* 220 sent, waiting for it to leave before the handshake */
	SMTP_S_HANDSHAKE,       /* TLS handshake in progress */
	SMTP_S_CLOSING,         /* last reply queued, close once it is written */
	SMTP_S_AUTH,            /* reading a SASL response line (334 sent) */
	SMTP_S_AUTH_WAIT,       /* password being checked, or the failure delay running */
};

struct scram_server;

struct smtp_session {
	struct conn conn;               /* first: the server's view of the connection */
	struct worker *worker;
	const struct config *cfg;
	struct bufferevent *bev;
	struct event *timer;
	enum smtp_state state;
	char id[13];                    /* session id, in every log line */
	uint64_t started_ms;

	enum smtp_mode mode;

	/* authentication (smtp_auth.c) */
	bool authenticated;
	bool any_sender;
	char auth_user[SMTP_PATH_MAX + 1];      /* the authenticated address */
	enum smtp_auth_mech auth_mech;
	int auth_step;
	char auth_login_user[256];              /* LOGIN: the name given at step 1 */
	struct scram_server *scram;
	bool scram_known;                       /* the SCRAM user exists (else fake keys) */
	char scram_user[256];
	bool scram_reserved;                    /* the exchange counts as a login in flight */
	struct event *auth_delay;

	/* greeting and TLS */
	bool helo_seen, esmtp;
	char helo[SMTP_DOMAIN_MAX + 1];
	bool tls;
	char tls_desc[160];
	char tls_version[16];

	/* the current transaction */
	bool in_mail;
	char txid[13];
	char from[SMTP_PATH_MAX + 3];
	bool smtputf8;
	char **rcpts;                   /* accepted recipient addresses, as sent */
	size_t nrcpts;
	char **maildirs;                /* distinct target Maildirs of those recipients */
	size_t nmaildirs;
	char **remotes;                 /* distinct addresses for the outbound queue */
	size_t nremotes;
	struct msgbuf *msg;
	uint64_t msg_octets;            /* wire octets received for this message */
	bool msg_too_big, msg_io_error;
	struct smtp_data_reader data;
	bool bdat_used;                 /* BDAT seen in this transaction: DATA not allowed */
	uint64_t bdat_left;
	bool bdat_last;
	int bdat_code;                  /* reply owed after the chunk instead of 250 (0 = none) */
	const char *bdat_enh;
	const char *bdat_text;
	char *header;                   /* Return-Path + Received, while committing */
	struct commit_job job;

	/* session health */
	int errors;
	unsigned long transactions;
	bool draining;                  /* server stopping: close after this transaction */
	bool discarding_line;           /* inside an overlong command line */
	bool output_blocked;            /* reading paused until our replies are read */
	struct tls_flush flush;         /* waiting for the last TLS bytes before closing */
	int pending_ops;                /* work on other threads that will call back */
	bool zombie;                    /* freed while work was pending: finish on callback */
};

/* replies (smtp_reply.c) */
void smtp_reply(struct smtp_session *s, int code, const char *enh, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void smtp_reply_lines(struct smtp_session *s, int code, const char *const *lines, size_t n);
/* Counts an error; past limits.errors the session answers 421 and closes. */
void smtp_error(struct smtp_session *s, int code, const char *enh, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Queues a final reply and closes once it is written. */
void smtp_close_with(struct smtp_session *s, int code, const char *enh, const char *text);

/* commands (smtp_cmds.c) */
void smtp_dispatch(struct smtp_session *s, const struct smtp_cmd *cmd);
void smtp_transaction_reset(struct smtp_session *s);
void smtp_log_transaction(struct smtp_session *s, const char *result, uint64_t size);

/* authentication (smtp_auth.c) */
bool smtp_auth_offered(const struct smtp_session *s);
void smtp_cmd_auth(struct smtp_session *s, const char *arg);
/* Reads one SASL response line; true when another command may be read. */
bool smtp_auth_read_line(struct smtp_session *s);
void smtp_auth_cleanup(struct smtp_session *s);

/* the session engine (smtp_session.c) */
/* Pending work on another thread keeps the session's memory alive:
 * smtp_op_begin() before handing it off, smtp_op_end() first thing in the
 * callback; smtp_op_end() returns false when the session is gone. */
void smtp_op_begin(struct smtp_session *s);
bool smtp_op_end(struct smtp_session *s);
void smtp_resume_input(struct smtp_session *s);
void smtp_begin_data(struct smtp_session *s);
void smtp_begin_bdat(struct smtp_session *s, uint64_t size, bool last);
void smtp_begin_starttls(struct smtp_session *s);
void smtp_arm_timer(struct smtp_session *s, uint64_t ms);
/* Called when a transaction's message is complete: checks it and commits. */
void smtp_finish_message(struct smtp_session *s, bool via_data);

/* Received: and Return-Path: (smtp_received.c); returns a malloc'd string. */
char *smtp_trace_header(const struct smtp_session *s, size_t *len);

/* The SMTP services for server_add_service(): port 25, 587, 465. */
extern const struct service smtp_service;
extern const struct service submission_service;
extern const struct service submissions_service;

#endif
