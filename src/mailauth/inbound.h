/* The authentication of one message arriving from another server (port
 * 25): SPF from MAIL FROM on, DKIM and ARC while the message streams in,
 * DMARC once both are known, and what postern then does with it.
 *
 *     ia = inbound_auth_new(&env);
 *     inbound_auth_start(ia, ip, helo, sender);   at MAIL FROM: SPF starts, the
 *                                                 session goes on meanwhile
 *     inbound_auth_feed(ia, data, n, emit, arg);  each piece of the message as
 *                                                 received (CRLF), split anywhere;
 *                                                 what goes to the spool comes
 *                                                 back through emit()
 *     inbound_auth_end(ia, emit, arg);            at its end (a header that never
 *                                                 ended goes to emit)
 *     inbound_auth_wait(ia, done, arg);           done() once every lookup answered
 *                                                 or the deadline passed, with the
 *                                                 verdict
 *     inbound_auth_free(ia);                      any time: cancels what runs
 *
 * The header is held back until it is complete, so that the key lookups
 * start then and the Authentication-Results fields claiming our
 * authserv-id (RFC 8601 5: a forgery, since only we speak for us), and
 * the other fields only postern writes (env.ours), never reach the spool. DNS is the injected struct spf_dns: the daemon gives a
 * worker's resolver, tests an in-memory zone. */
#ifndef POSTERN_INBOUND_H
#define POSTERN_INBOUND_H

#include <stdbool.h>
#include <stddef.h>

#include "mailauth/arc.h"
#include "mailauth/dkim_verify.h"
#include "mailauth/dmarc.h"
#include "mailauth/dmarc_report.h"
#include "mailauth/spf_dns.h"
#include "mailauth/spf_eval.h"

struct event_base;
struct mail_field;

/* spf.enforcement */
enum inbound_spf_enforcement {
	INBOUND_SPF_NONE = 0,           /* record only */
	INBOUND_SPF_SOFT,               /* mark failures, accept */
	INBOUND_SPF_STRICT,             /* fail: 550 5.7.23; temperror: 451 4.7.24 */
};

/* A header held back longer than this is not read: the message is refused
 * (552 5.3.4). Real headers are a few KiB; this bounds a session's memory. */
#define INBOUND_HEADER_MAX (256 * 1024)
/* From the end of the data, how long the checks may still wait for DNS;
 * what has not answered by then counts as a temporary error. */
#define INBOUND_DEADLINE_MS 15000

struct inbound_env {
	const struct spf_dns *dns;              /* outlives the run */
	struct dkim_key_cache *keys;            /* the thread's parsed keys, or NULL */
	struct event_base *base;                /* for the deadline */
	unsigned deadline_ms;                   /* 0: INBOUND_DEADLINE_MS */
	const struct orgdomain *od;
	const char *authserv_id;                /* our host name */
	enum inbound_spf_enforcement spf;
	enum dmarc_enforcement dmarc;
	unsigned max_signatures;                /* dkim.max_signatures */
	const char *const *trusted_sealers;     /* arc.trusted_sealers */
	size_t ntrusted;
	/* other header fields only postern may write (its scanners' verdicts),
	 * removed like forged Authentication-Results; NULL: none */
	bool (*ours)(void *arg, const struct mail_field *f);
	void *ours_arg;
	dmarc_sample_fn *sample;                /* NULL: random */
	void *sample_arg;
};

enum inbound_action {
	INBOUND_ACCEPT = 0,
	INBOUND_JUNK,                   /* deliver, into the Junk folder */
	INBOUND_REFUSE,                 /* reply code/enh/text (5xx or 4xx) */
};

struct inbound_verdict {
	enum inbound_action action;
	int code;
	const char *enh;
	char text[256];
	const char *log_result;         /* the transaction log's result when refused */
	/* "Authentication-Results: id;\n\t...\n" (LF ends) for the top of the
	 * message, and its payload on one line (for ARC sealing); owned by the run */
	const char *header;
	size_t header_len;
	const char *payload;
	enum arc_cv arc_cv;             /* the chain as it arrived */
	/* for the logs: each method's result ("pass", "fail"...) */
	const char *spf, *dmarc, *arc;
	char dkim[96];                  /* "pass" or "pass,fail": each signature's */
	bool failed;                    /* some method failed: an audit line */
};

struct inbound_auth;

struct inbound_auth *inbound_auth_new(const struct inbound_env *env);
/* MAIL FROM: starts SPF for sender ("" for <>, when HELO is checked). */
void inbound_auth_start(struct inbound_auth *ia, const char *ip, const char *helo,
                        const char *sender);

typedef void inbound_emit_fn(void *arg, const char *data, size_t len);
/* Message octets as received (after dot-unstuffing), CRLF line ends. What
 * belongs in the spool is passed to emit, maybe later (the header). */
void inbound_auth_feed(struct inbound_auth *ia, const char *data, size_t len,
                       inbound_emit_fn *emit, void *arg);

/* v is valid until inbound_auth_free(), which done may call. */
typedef void inbound_done_fn(void *arg, const struct inbound_verdict *v);
/* The message has ended: a header still held (it never ended) goes to
 * emit, and the body hashes are final. Only once. */
void inbound_auth_end(struct inbound_auth *ia, inbound_emit_fn *emit, void *arg);
/* After inbound_auth_end(): done runs once, maybe before this returns. */
void inbound_auth_wait(struct inbound_auth *ia, inbound_done_fn *done, void *arg);
void inbound_auth_free(struct inbound_auth *ia);

const char *inbound_spf_enforcement_name(enum inbound_spf_enforcement e);

/* After the verdict: the DMARC aggregate data of the message (for
 * store_dmarc_record()) when its From: domain has a DMARC record; false
 * when not. ev points into the run and rua. */
bool inbound_auth_dmarc_event(const struct inbound_auth *ia, const char *source_ip,
                              struct dmarc_agg_event *ev, char rua[DMARC_REPORT_RUA_TEXT]);

#endif
