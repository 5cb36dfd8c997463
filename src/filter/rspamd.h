/* rspamd as port 25's content filter, over its HTTP protocol: a message
 * is POSTed to the normal worker's /checkv2 with its envelope, and the
 * action rspamd answers decides what becomes of it; moving mail into and
 * out of Junk POSTs it to the controller's /learnspam or /learnham.
 *
 *     c = rspamd_client_new(base, &cfg->rspamd);     per worker (event loop)
 *     k = rspamd_check_start(c, &req, done, arg);    at the end of DATA
 *         done(arg, result) runs once, later, on base's loop; the check is
 *         freed when done returns
 *     rspamd_check_cancel(k);                        before done: done never runs
 *     rspamd_client_free(c);                         checks still running are cancelled
 *
 *     l = rspamd_learner_new(base, &cfg->rspamd);    per worker
 *     rspamd_learn(l, true, path);                   fire and forget, bounded
 *     rspamd_learner_free(l);
 *
 * Everything runs on the loop: connect, the request streamed from the
 * spool in pieces as the socket takes them, the reply read to a bound,
 * one deadline over it all. Nothing here blocks but a read of the spool. */
#ifndef POSTERN_RSPAMD_H
#define POSTERN_RSPAMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/config.h"

struct event_base;
struct msgbuf;

/* The actions rspamd answers (its "action" member). */
enum rspamd_action {
	RSPAMD_NO_ACTION = 0,
	RSPAMD_GREYLIST,
	RSPAMD_ADD_HEADER,
	RSPAMD_REWRITE_SUBJECT,
	RSPAMD_SOFT_REJECT,
	RSPAMD_REJECT,
	RSPAMD_QUARANTINE,
	RSPAMD_DISCARD,
	RSPAMD_ACTION_OTHER,            /* a custom action: taken as no action */
};
const char *rspamd_action_name(enum rspamd_action a);

/* What postern does with the message. */
enum rspamd_verdict {
	RSPAMD_ACCEPT = 0,              /* deliver as usual (with headers) */
	RSPAMD_JUNK,                    /* deliver into the recipient's Junk (with headers) */
	RSPAMD_DEFER,                   /* refuse with code/enh/text, 4xx */
	RSPAMD_REJECT_MSG,              /* refuse with code/enh/text, 5xx */
};
const char *rspamd_verdict_name(enum rspamd_verdict v);

/* Bounds of what a reply may put into a message. */
#define RSPAMD_HEADERS_MAX 4096         /* all header fields added, octets */
#define RSPAMD_SUBJECT_MAX 900          /* a rewritten Subject's value */
#define RSPAMD_REPLY_MAX (256 * 1024)   /* a reply's JSON */

struct rspamd_result {
	enum rspamd_verdict verdict;
	int code;                       /* DEFER 451, REJECT_MSG 550; 0 otherwise */
	const char *enh;                /* "4.7.1", "5.7.1"; NULL otherwise */
	char text[256];                 /* the reply text (rspamd's smtp_message when sane) */
	/* for the transaction log: "reject score=20.00/15.00", "error: timeout",
	 * "not scanned: 60000000 octets" */
	char log[256];
	bool scanned;                   /* rspamd judged it (the fields below are its) */
	bool failed;                    /* rspamd could not be asked: on_error decided */
	enum rspamd_action action;
	double score, required;
	/* fields to add at the top of the message, LF line ends, folded:
	 * X-Spamd-Result, X-Rspamd-Score, X-Rspamd-Action, and X-Spam: Yes for
	 * Junk; "" when not scanned */
	char headers[RSPAMD_HEADERS_MAX];
	size_t headers_len;
	/* rewrite subject: the message's Subject field(s) are to be replaced by
	 * one with this value (one line, no control characters); "" otherwise */
	char subject[RSPAMD_SUBJECT_MAX + 1];
};

/* The message and its envelope; copied by rspamd_check_start except msg,
 * which must stay until done runs or the check is cancelled. */
struct rspamd_request {
	const char *queue_id;           /* the session/transaction id, for both logs */
	const char *client_ip;          /* "192.0.2.1" */
	const char *client_host;        /* its verified rDNS name, or NULL */
	const char *helo;               /* NULL or "" when none */
	const char *mail_from;          /* "" for <> */
	const char *const *rcpts;
	size_t nrcpts;
	const char *auth_user;          /* NULL unless authenticated */
	const char *mta_name;           /* our host name */
	/* sent before the message, as if at its top: our Authentication-Results
	 * (LF or CRLF line ends), so that rspamd sees what the delivered message
	 * will carry; may be NULL */
	const char *prepend;
	size_t prepend_len;
	const struct msgbuf *msg;       /* the spooled message (LF line ends) */
};

struct rspamd_client;
struct rspamd_check;

struct rspamd_client *rspamd_client_new(struct event_base *base, const struct config_rspamd *cfg);
/* Cancels the checks still running (their done never runs). */
void rspamd_client_free(struct rspamd_client *c);

/* done runs exactly once, never from inside rspamd_check_start; r is valid
 * while it runs, and the check is freed when it returns. */
typedef void rspamd_done_fn(void *arg, const struct rspamd_result *r);
struct rspamd_check *rspamd_check_start(struct rspamd_client *c, const struct rspamd_request *req,
                                        rspamd_done_fn *done, void *arg);
void rspamd_check_cancel(struct rspamd_check *k);

/* Header fields a message must not bring in from outside, since postern
 * adds them: true for X-Spamd-Result, X-Rspamd-*, X-Spam (any case). */
bool rspamd_header_is_ours(const char *name, size_t len);

/* ---- the reply (rspamd_reply.c): pure, for tests and fuzzing ---------- */

struct rspamd_reply {
	enum rspamd_action action;
	char action_text[32];           /* as rspamd said, sanitized */
	double score, required;
	bool has_subject;
	char subject[RSPAMD_SUBJECT_MAX + 1];
	char message[200];              /* messages.smtp_message, printable ASCII; "" */
	/* "SYMBOL(1.50), ..." highest score first, cut at a symbol's end */
	char symbols[2048];
};
/* Parses a /checkv2 reply (at most RSPAMD_REPLY_MAX octets). 0, or -1 with
 * err when it is not one. */
int rspamd_reply_parse(const char *json, size_t len, struct rspamd_reply *out, char *err,
                       size_t errlen);
/* The result a parsed reply means (r->scanned set, headers built). */
void rspamd_result_from_reply(const struct rspamd_reply *rep, struct rspamd_result *r);
/* The result when rspamd could not be asked (why: "timeout", ...). */
void rspamd_result_error(enum config_rspamd_on_error on_error, const char *why,
                         struct rspamd_result *r);

/* ---- learning (rspamd_learn.c) -----------------------------------------
 * At most RSPAMD_LEARN_QUEUE messages wait and RSPAMD_LEARN_RUNNING are
 * sent at once per learner; past that a learn is dropped and counted. */
#define RSPAMD_LEARN_QUEUE 64
#define RSPAMD_LEARN_RUNNING 2

struct rspamd_learn_stats {
	uint64_t queued, learned, already, failed, dropped;
};
struct rspamd_learner;

struct rspamd_learner *rspamd_learner_new(struct event_base *base, const struct config_rspamd *cfg);
/* Drops what waits and stops what runs. */
void rspamd_learner_free(struct rspamd_learner *l);
/* Opens path now (so that a later rename or expunge does not matter) and
 * queues it for /learnspam (spam) or /learnham. true when queued; false
 * when dropped (queue full, file unreadable or over max_size, learning
 * off). */
bool rspamd_learn(struct rspamd_learner *l, bool spam, const char *path);
/* Whether another learn would be queued now (the IMAP hook stops asking
 * for more paths of a big MOVE when not). */
bool rspamd_learn_has_room(const struct rspamd_learner *l);
void rspamd_learner_stats(const struct rspamd_learner *l, struct rspamd_learn_stats *out);
/* done(arg) once nothing waits or runs (tests, the CLI): now or later. */
void rspamd_learner_on_idle(struct rspamd_learner *l, void (*done)(void *arg), void *arg);

/* ---- config check --connect (rspamd_probe.c) --------------------------
 * Runs base (a loop of the caller's own, nothing else on it) until the
 * normal worker has answered /ping and, when learning is on, the controller
 * /stat with the password; each within the timeout. 0, or -1 with err
 * saying which failed and why; what answered goes to ok (may be "").  */
int rspamd_probe(struct event_base *base, const struct config_rspamd *cfg, char *ok, size_t oklen,
                 char *err, size_t errlen);

#endif
