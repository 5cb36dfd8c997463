/* An SMTP server session: one per connection, driven by callbacks on its
 * worker's event loop. Internal to src/smtp. */
#ifndef POSTERN_SMTP_SESSION_H
#define POSTERN_SMTP_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/util.h>

#include "filter/dnsbl.h"
#include "filter/filter.h"
#include "mailauth/spf_dns.h"
#include "net/session.h"
#include "smtp/smtp_data.h"
#include "smtp/smtp_parse.h"
#include "store/commit.h"
#include "tls/tls_bev.h"

struct bufferevent;
struct event;
struct msgbuf;
struct ssl_st;

/* Which service the session came in on decides what it may do: one state
 * machine, three modes. */
enum smtp_mode {
	SMTP_MODE_MX = 0,       /* 25: mail for local users (and relay.hosts) */
	SMTP_MODE_SUBMISSION,   /* 587, 465: AUTH, then anything (RFC 6409, RFC 8314) */
	SMTP_MODE_LMTP,         /* LMTP (RFC 2033): an MTA in front hands over local mail */
};
#define SMTP_MODE_BIT(m) (1u << (m))

/* What a mode is, in one row each (smtp_mode.c): handlers ask the row, never
 * the port. Which commands a mode knows is the command table's column. */
struct smtp_mode_def {
	enum smtp_mode mode;
	const char *banner;             /* after the host name in the 220 greeting */
	const char *greeting_cmd;       /* what "send ... first" names */
	const char *commands;           /* HELP's list */
	bool starttls;                  /* STARTTLS offered (outside TLS) */
	bool auth;                      /* AUTH offered (inside TLS), and needed before MAIL */
	bool relay;                     /* may relay at all (relay.hosts, or after AUTH) */
	/* RFC 2033 4.2: after the data, one reply per accepted recipient, in
	 * RCPT order; each recipient's copies are committed on their own */
	bool reply_per_rcpt;
	bool send_limits;               /* rate_limit.* apply (src/net/sendlimit.h) */
	enum filter_origin origin;      /* which end-of-DATA checks apply */
	const char *with, *with_utf8;   /* Received: protocol names before S and A */
	uint64_t (*max_size)(const struct config *cfg);   /* of one message */
};
const struct smtp_mode_def *smtp_mode_of(enum service_id svc);

/* What the protocol is doing; TLS and closing are the engine's (ns.phase). */
enum smtp_state {
	SMTP_S_COMMAND,         /* reading command lines */
	SMTP_S_DATA,            /* reading the DATA body */
	SMTP_S_BDAT,            /* reading a BDAT chunk */
	SMTP_S_CHECKING,        /* waiting for the authentication verdict (DNS) */
	SMTP_S_COMMITTING,      /* waiting for the message to be durable */
	SMTP_S_AUTH,            /* reading a SASL response line (334 sent) */
	SMTP_S_AUTH_WAIT,       /* password being checked, or the failure delay running */
};

struct clamav;
struct clamav_scan;
struct rspamd_client;
struct rspamd_check;
struct inbound_auth;
struct inbound_verdict;
struct resolver;
struct spf_resolver;
struct dkim_key_cache;
struct resolved;
struct sasl_server;

struct smtp_session {
	struct net_session ns;          /* first: the engine's part of the session */
	enum smtp_state state;
	const struct smtp_mode_def *mode;

	/* authentication (smtp_auth.c) */
	bool authenticated;
	bool any_sender;
	char auth_user[SMTP_PATH_MAX + 1];      /* the authenticated address */
	struct sasl_server *sasl;               /* the AUTH exchange in progress, or NULL */

	/* greeting and TLS */
	bool helo_seen, esmtp;
	char helo[SMTP_DOMAIN_MAX + 1];
	char tls_desc[160];
	char tls_version[16];

	/* the current transaction */
	bool in_mail;
	char txid[13];
	char from[SMTP_PATH_MAX + 3];
	bool smtputf8;
	uint64_t declared_size;         /* MAIL SIZE= (RFC 1870), 0 when not given */
	char **rcpts;                   /* accepted recipient addresses, as sent */
	size_t nrcpts;
	/* per accepted recipient: the run of maildirs and remotes it added (the
	 * commit groups of a mode that replies per recipient) */
	struct commit_group *rcpt_groups;
	char **maildirs;                /* distinct target Maildirs of those recipients */
	char **maildir_users;           /* per maildir: its user, "local@domain" (quota) */
	size_t nmaildirs;
	char **remotes;                 /* distinct addresses for the outbound queue */
	size_t nremotes;
	/* alias targets at other domains, queued with forward_from (SRS) as
	 * sender; while forward_from is "" they go to remotes */
	char **forwards;
	size_t nforwards;
	enum { SMTP_FORWARD_UNKNOWN, SMTP_FORWARD_AS_IS, SMTP_FORWARD_SRS } forward_as;
	char forward_from[SMTP_PATH_MAX + 1];
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
	/* port 25's SPF, DKIM, DMARC and ARC (smtp_mailauth.c), from MAIL FROM
	 * on; NULL where they do not apply. The verdict is the run's. */
	struct inbound_auth *auth;
	const struct inbound_verdict *auth_verdict;
	bool checking_now;              /* inside smtp_mailauth_wait() */
	/* the scanners (smtp_scan.c): the step the message is at, what they add */
	int scan_step;
	bool scan_junk;                 /* some step wants it in Junk */
	char *scan_headers;             /* header fields they add, LF ends; NULL: none */
	size_t scan_headers_len;
	struct clamav_scan *clamav_scan;        /* the virus scan in flight */
	struct rspamd_check *rspamd_check;      /* rspamd's verdict in flight */
	struct smtp_dnsbl *dnsbl;       /* the client's blocklist score, from connect on */
	struct commit_job job;

	unsigned long transactions;
	bool discarding_line;           /* inside an overlong command line */
};

/* The largest message the session's mode takes (SIZE, and while reading). */
uint64_t smtp_max_message_size(const struct smtp_session *s);

/* replies (smtp_reply.c) */
void smtp_reply(struct smtp_session *s, int code, const char *enh, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void smtp_reply_lines(struct smtp_session *s, int code, const char *const *lines, size_t n);
/* Counts an error; past limits.errors the session answers 421 and closes. */
void smtp_error(struct smtp_session *s, int code, const char *enh, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The answer to a whole message, at its end: once, or once per accepted
 * recipient in a mode that replies per recipient (LMTP), all alike. A 5xx
 * counts as one error (a 4xx may be ours: a full disk, greylisting). */
void smtp_reply_message(struct smtp_session *s, int code, const char *enh, const char *text);
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
/* Ends an AUTH exchange wherever it is (the failure delay too); NULL is fine. */
void smtp_auth_cleanup(struct smtp_session *s);

/* SMTP framing on the session engine (smtp_session.c) */
/* Work on another thread keeps the session alive (net_session_op_begin/end). */
static inline void smtp_op_begin(struct smtp_session *s) { net_session_op_begin(&s->ns); }
static inline bool smtp_op_end(struct smtp_session *s) { return net_session_op_end(&s->ns); }
/* Back to reading commands after an asynchronous step, including any that
 * were pipelined meanwhile. */
void smtp_resume_input(struct smtp_session *s);
void smtp_begin_data(struct smtp_session *s);
void smtp_begin_bdat(struct smtp_session *s, uint64_t size, bool last);
void smtp_begin_starttls(struct smtp_session *s);
/* Called when a transaction's message is complete: checks it and commits. */
void smtp_finish_message(struct smtp_session *s, bool via_data);
/* The two ends of a finished message's checks: refused as a whole (the
 * reply and the log), or on to the committer. */
void smtp_refuse_message(struct smtp_session *s, int code, const char *enh, const char *text,
                         const char *log_result);
void smtp_commit_message(struct smtp_session *s);

/* What each worker keeps for the end-of-DATA checks of its sessions. */
struct smtp_worker_checks {
	struct resolver *r;             /* NULL when it could not be made (logged) */
	struct spf_resolver *adapter;
	struct spf_dns dns;
	struct dkim_key_cache *keys;    /* the DKIM and ARC keys its sessions parsed */
	struct dnsbl_env dnsbl;         /* dnsbl.zones and dnswl.zones (none: off) */
	struct clamav *clamav;          /* clamav.enabled: clamd's client */
	struct rspamd_client *rspamd;   /* rspamd.enabled: rspamd's client */
};

/* A session's DNSBL check, from connect on (smtp_scan.c). */
struct smtp_dnsbl {
	struct dnsbl_check *check;      /* freed by the module once it has answered */
	bool done;
	struct dnsbl_result res;
};
/* At connect: looks the client up in dnsbl.zones/dnswl.zones (when judged). */
void smtp_dnsbl_start(struct smtp_session *s);
/* MAIL: true after answering 554 when the client's score reached the
 * threshold already. */
bool smtp_dnsbl_refuses(struct smtp_session *s);
void smtp_dnsbl_free(struct smtp_session *s);
struct smtp_worker_checks *smtp_worker_checks(struct worker *w);

/* mail authentication on port 25 (smtp_mailauth.c; the checks are
 * src/mailauth/inbound.h's) */
/* Mail from another server: not LMTP's (the MTA in front judged it) nor a
 * user's, nor from the networks in relay.hosts, which are ours. */
bool smtp_judged(const struct smtp_session *s);
/* MAIL FROM accepted: SPF starts, when the checks apply to the session. */
void smtp_mailauth_start(struct smtp_session *s);
void smtp_mailauth_reset(struct smtp_session *s);
/* At the end of the data: false when there are no checks; else the verdict
 * refuses or commits the message, now or once DNS has answered. */
bool smtp_mailauth_wait(struct smtp_session *s);
/* Ends the checks with a refusal: the reply, and reading commands again. */
void smtp_checks_refuse(struct smtp_session *s, int code, const char *enh, const char *text,
                        const char *log_result);
/* The scanners (smtp_scan.c: ClamAV) after the verdict: they refuse the
 * message or commit it. smtp_scan_reset() cancels what runs. */
void smtp_scan_start(struct smtp_session *s);
void smtp_scan_reset(struct smtp_session *s);
/* The verdict's quarantine: the recipients' Maildirs become their Junk folders. */
void smtp_mailauth_to_junk(struct smtp_session *s);
/* trace (Return-Path, Received; *len octets, malloc'd) with the verdict's
 * Authentication-Results put in after Return-Path; trace is freed. */
char *smtp_mailauth_header(const struct smtp_session *s, char *trace, size_t *len);

/* quotas (smtp_quota.c; the rules are src/store/quota.h's) */
/* RCPT: true after answering 452 4.2.2 when a mailbox the recipient
 * reaches is full already, or would be with the size MAIL declared. */
bool smtp_quota_refuse_rcpt(struct smtp_session *s, const struct resolved *r, const char *addr);
/* After the data, size octets in each mailbox: marks the recipients
 * (rcpt_groups[].skip) whose mailboxes the message would take over quota;
 * true when it marked any. */
bool smtp_quota_mark_full(struct smtp_session *s, uint64_t size);

/* send rate limits (smtp_sendlimit.c; the rule is src/net/sendlimit.h's) */
/* MAIL (rcpts 0) and RCPT (the count with this one): true after answering
 * 451 4.7.1 with the wait when the sender is over a limit. */
bool smtp_sendlimit_refuses(struct smtp_session *s, size_t rcpts);
/* A message accepted: it and its recipients count for the sender. */
void smtp_sendlimit_charge(struct smtp_session *s);

/* SRS (smtp_srs.c; the scheme is src/mailauth/srs.h's) */
enum smtp_srs_rcpt {
	SMTP_SRS_NOT_SRS,       /* no SRS address of ours: resolve it as usual */
	SMTP_SRS_REFUSED,       /* answered 550: a sender that is not <>, forged, expired */
	SMTP_SRS_BOUNCE,        /* a bounce to route to bounce_to (not answered yet) */
};
/* RCPT: an SRS address at the SRS domain is a bounce to send back to the
 * address it encodes, written into bounce_to (SRS_ADDR_MAX octets). */
enum smtp_srs_rcpt smtp_srs_recipient(struct smtp_session *s, const struct smtp_path *p,
                                      char *bounce_to, size_t len);
/* Where an alias's target at another domain goes: s->forwards (the
 * transaction's sender is rewritten) or s->remotes (kept: <>, a local
 * domain's sender, SRS off, or one too long to rewrite). Decided once per
 * transaction. NULL when the store failed (the caller answers 451). */
char ***smtp_srs_forward_list(struct smtp_session *s, size_t **n);


/* Received: and Return-Path: (smtp_received.c); returns a malloc'd string. */
char *smtp_trace_header(const struct smtp_session *s, size_t *len);

/* The protocol for the smtp, submission and submissions service rows. */
extern const struct session_ops smtp_session_ops;

#endif
