/* The session engine: everything about a connection that is not the protocol.
 *
 * Accept and connection accounting, TLS (implicit, and STARTTLS with the
 * input pipelined before the handshake dropped), the one timer that carries
 * the command, idle and data timeouts and the login and session deadlines,
 * output flow control, the error count, work pending on other threads,
 * draining on shutdown, and freeing. Every rule comes from the service's
 * policy (struct service_policy), so every service obeys the same ones.
 *
 * A protocol embeds struct net_session first in its session struct, supplies
 * a struct session_ops, and keeps only its framing and its own state. */
#ifndef POSTERN_NET_SESSION_H
#define POSTERN_NET_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/util.h>
#include <openssl/ssl.h>

#include "core/config.h"
#include "net/ban.h"
#include "net/minrate.h"
#include "net/server.h"
#include "tls/tls_bev.h"

struct bufferevent;
struct compress_bev;
struct evbuffer;
struct event;
struct net_session;

/* What the session waits for; decides which timeout runs. */
enum ns_wait {
	NS_WAIT_COMMAND,        /* a command: `command` before login, `idle` after */
	NS_WAIT_DATA,           /* the rest of a message or literal: `data` */
	NS_WAIT_TICK,           /* the protocol's own period (IMAP IDLE polls) */
	NS_WAIT_NOTHING,        /* work elsewhere (a commit, a password check): no timeout */
};

/* Why ops->expired was called. */
enum ns_expiry {
	NS_EXPIRED_COMMAND,     /* silent too long before login, or a command trickled */
	NS_EXPIRED_IDLE,        /* logged in and silent too long */
	NS_EXPIRED_DATA,        /* a message or literal stalled */
	NS_EXPIRED_LOGIN,       /* not logged in by the login deadline */
	NS_EXPIRED_SESSION,     /* the session deadline, whatever it was doing */
	NS_EXPIRED_RATE,        /* owing us octets, it sent too few (slowloris) */
	NS_TICK,                /* NS_WAIT_TICK came round: not an error */
};
const char *net_session_expiry_name(enum ns_expiry why);

struct session_ops {
	const char *protocol;           /* "smtp", "imap": names the log events */
	size_t size;                    /* of the protocol's session struct */
	const char *busy_reply;         /* sent in clear text when a cap refuses a client */
	const char *denied_reply;       /* ... when the service does not admit its address */
	/* Sets up protocol state before any I/O (optional). The session memory
	 * is zeroed; release() must cope with a session that never started. */
	void (*open)(struct net_session *ns);
	/* Ready to talk (after the handshake on implicit TLS): send the greeting. */
	void (*start)(struct net_session *ns);
	/* Input is waiting and reading is allowed: consume one unit (a command
	 * line, a chunk of a message). True when another may be read right away;
	 * the engine loops while the session is open and its output under the cap. */
	bool (*read)(struct net_session *ns);
	/* A STARTTLS handshake has completed: forget what the clear text said. */
	void (*tls_ready)(struct net_session *ns);
	/* A timer ran out: reply and close, or (NS_TICK) wait again. Ignoring
	 * it is allowed while busy; it must not free the session. */
	void (*expired)(struct net_session *ns, enum ns_expiry why);
	/* All output has been written; true when the protocol continued a long
	 * command (FETCH) and nothing more should happen now (optional). */
	bool (*output_drained)(struct net_session *ns);
	/* The server is stopping: close now if idle, else after the current work. */
	void (*drain)(struct net_session *ns);
	/* The session ends: free protocol state, log the disconnect. The engine
	 * frees the memory afterwards; ns->end_reason says why it ended. */
	void (*release)(struct net_session *ns);
};

enum ns_phase {
	NS_OPEN,                /* talking */
	NS_STARTTLS,            /* the reply to STARTTLS is leaving; the handshake follows */
	NS_HANDSHAKE,           /* TLS handshake in progress */
	NS_CLOSING,             /* last reply queued: close once it is written */
	NS_LINGERING,           /* written and our side shut: what the client still sends is dropped */
};

struct net_session {
	struct conn conn;               /* the server's view: registry, drain, caps */
	const struct service *svc;
	const struct session_ops *ops;
	const struct service_policy *policy;
	struct worker *worker;
	const struct config *cfg;
	struct bufferevent *bev;
	struct event *timer;
	struct event *rate_timer;       /* the slowloris rule's look, each step while owed */
	struct minrate rate;
	char id[13];                    /* in every log line of the session */
	enum ns_phase phase;
	enum ns_wait waiting;
	uint64_t started_ms;
	uint64_t tick_ms;               /* NS_WAIT_TICK's period */
	const char *end_reason;         /* "disconnected", "timeout", "shutdown", ... */
	int errors;                     /* protocol errors in the session */
	int errors_in_row;              /* ... since the last good command: the limit's count */
	size_t lingered;                /* octets dropped while lingering */
	bool released;                  /* ops->release() has run (at the start of lingering) */
	int pending_ops;
	bool tls;
	bool logged_in;                 /* the login deadline no longer applies */
	bool draining;
	bool output_blocked;            /* reading paused until our replies are read */
	bool partial_input;             /* the protocol holds part of a command */
	int expiring;                   /* 1 + the ns_expiry being handled, else 0 */
	bool zombie;                    /* freed while work was pending */
	struct tls_flush flush;
	struct compress_bev *compress;  /* COMPRESS is on: bev is its filter */
};

/* The server's entry for a service row whose ops are set. */
void net_session_accept(struct worker *w, const struct service *svc, evutil_socket_t fd,
                        const struct sockaddr *peer, const char *ip);

/* ---- timers -------------------------------------------------------------- */
/* Arms the session's timer for what it now waits for; the login and session
 * deadlines cut every wait short. */
void net_session_wait(struct net_session *ns, enum ns_wait what);
void net_session_tick(struct net_session *ns, uint64_t period_ms);
/* The protocol has taken the start of a command (a line, a literal) into its
 * own buffer and waits for the rest: until the next net_session_wait() the
 * client owes us octets and the slowloris rule (min_bytes per window)
 * applies. (What waits unread in the session's input counts by itself.) */
void net_session_partial_input(struct net_session *ns);
/* The client has logged in (SMTP: AUTH or its first transaction). */
void net_session_logged_in(struct net_session *ns);

/* ---- input and output ---------------------------------------------------- */
struct evbuffer *net_session_input(struct net_session *ns);
struct evbuffer *net_session_output(struct net_session *ns);
size_t net_session_output_pending(const struct net_session *ns);
void net_session_write(struct net_session *ns, const void *data, size_t len);
/* True (and reading paused until the client reads) when more replies are
 * queued than the policy allows: an input loop stops then. */
bool net_session_output_full(struct net_session *ns);
void net_session_pause_input(struct net_session *ns);
/* Reading on again, and whatever was pipelined meanwhile is processed. */
void net_session_resume_input(struct net_session *ns);
/* Processes what input is buffered (after a protocol state change). */
void net_session_process_input(struct net_session *ns);

/* ---- errors and endings -------------------------------------------------- */
/* The client did something the ban rule counts (net/ban.h): the one way
 * protocol code reports it. Not counted on a service for the local mail
 * system (local_only: LMTP), whose peer passes on what others sent. The
 * engine itself reports too many errors and the login deadline. */
void net_session_violation(struct net_session *ns, enum ban_reason why);
/* login_ctx.refused (auth/login.h) for a protocol's session: the login
 * limiter refused one (BAN_LOGIN_BLOCKED). */
void net_session_login_refused(void *session);
/* Counts a protocol error: true when that was one too many in a row (the
 * caller says why and closes). Logged as <protocol>.too_many_errors, and a
 * violation (BAN_PROTOCOL_ERRORS). */
bool net_session_error(struct net_session *ns);
/* A command went well: the run of errors is over. Only errors in a row
 * count, as Dovecot and others count them: a client that makes a mistake
 * now and then over a long session is not closed for it, while one that
 * sends nothing but bad commands still is. */
void net_session_good_command(struct net_session *ns);
/* The last reply is queued: close once it is written (or after a grace). */
void net_session_close(struct net_session *ns);
/* Ends the session now (or when pending work calls back). */
void net_session_free(struct net_session *ns, const char *reason);

/* ---- TLS ----------------------------------------------------------------- */
/* After queueing the reply to STARTTLS: drops the input pipelined behind it
 * (RFC 3207 5, CVE-2011-0411) and starts the handshake once the reply is out. */
void net_session_starttls(struct net_session *ns);
SSL *net_session_ssl(const struct net_session *ns);

/* ---- compression ---------------------------------------------------------- */
/* Everything written from now on is deflated, and the input still buffered
 * and all that follows is inflated (RFC 4978 3: right after the reply that
 * is already queued). zlib's memory and the policy's output cap together
 * stay within mem_limit: -1 (nothing changed) when they would not. A
 * corrupt stream from the client ends the session (<protocol>.compress_error). */
int net_session_compress(struct net_session *ns, size_t mem_limit);
/* Whether net_session_compress() would find the memory: asked before the
 * reply that says yes is queued. */
bool net_session_compress_fits(const struct net_session *ns, size_t mem_limit);
static inline bool net_session_compressing(const struct net_session *ns)
{
	return ns->compress != NULL;
}

/* ---- work on other threads ----------------------------------------------- */
/* op_begin() before handing work off; op_end() first thing in its callback:
 * false when the session has gone meanwhile (then touch nothing of it). */
void net_session_op_begin(struct net_session *ns);
bool net_session_op_end(struct net_session *ns);
/* The same for callback tables that pass the session as a void * (a
 * protocol's session, whose first member is its net_session). */
void net_session_hold(void *session);
bool net_session_release(void *session);

#endif
