/* The SASL server exchange, once for every protocol: PLAIN (RFC 4616), LOGIN,
 * SCRAM-SHA-256 (RFC 7677) and the plain password check of IMAP LOGIN, on
 * the login module (limiter, pooled password check, SCRAM keys).
 *
 * The exchange owns everything a login needs between two lines: the
 * mechanism's state, the SCRAM reservation, the failure delay timer and the
 * secrets in flight (wiped). A protocol only frames it and maps outcomes:
 *
 *   x = sasl_server_new(mech, &login_ctx, &ops, session);
 *   sasl_server_start(x, initial_response or NULL)   -> ops.challenge(...)
 *   sasl_server_step(x, line)  for each response line ("*" cancels)
 *   ... ops.done(session, outcome, &result)           (free x there or later)
 *   sasl_server_free(x)        also at any time to abandon the exchange
 *
 * Every outcome comes through ops.done exactly once, and done is the last
 * thing the exchange does: the callback may free it. */
#ifndef POSTERN_SASL_SERVER_H
#define POSTERN_SASL_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "auth/login.h"

enum sasl_mech { SASL_MECH_PLAIN, SASL_MECH_LOGIN, SASL_MECH_SCRAM_SHA_256 };

/* The mechanisms offered, in the one order every protocol announces them:
 * "PLAIN LOGIN SCRAM-SHA-256", or only those that never send the password
 * ("SCRAM-SHA-256") when a password may not travel (no TLS yet). */
const char *sasl_server_mechanisms(bool cleartext_password_ok);
/* The mechanism of a name, ignoring case: 0, or -1 when not offered. */
int sasl_server_mech_parse(const char *name, enum sasl_mech *out);
/* PLAIN and LOGIN carry the password itself: only inside TLS (or when allowed). */
bool sasl_server_mech_sends_password(enum sasl_mech m);

enum sasl_outcome {
	SASL_SUCCESS,           /* result.user is authenticated */
	SASL_FAILED,            /* wrong credentials; the failure delay has already run */
	SASL_TEMPFAIL,          /* limiter refused (or cannot tell), or the pool is full */
	SASL_CANCELLED,         /* the client answered "*" */
	SASL_MALFORMED,         /* bad base64 or a message the mechanism cannot parse */
};

struct sasl_result {
	const char *user;       /* lower-cased; "" when none was given (valid during done only) */
	const char *master;     /* the master user who logged in as user, or "" (auth/master.h) */
	bool any_sender;        /* the user may send as any address */
	const char *detail;     /* a reply text saying why ("Invalid base64 data", ...);
	                         * the protocol's own text is usually better, but for
	                         * MALFORMED it names what was wrong */
};

/* What the exchange needs from the session; arg is the session. */
struct sasl_server_ops {
	/* Sends a challenge (base64, "" for an empty one) and waits for a line. */
	void (*challenge)(void *arg, const char *b64);
	/* Work is running (password check, failure delay): stop reading input
	 * until done. Never called when done follows at once. */
	void (*wait)(void *arg);
	void (*done)(void *arg, enum sasl_outcome outcome, const struct sasl_result *r);
	/* Keep the session's memory alive across the password check on another
	 * thread; release returns false when the session is gone (and with it this
	 * exchange: nothing may be touched any more). */
	void (*hold)(void *arg);
	bool (*release)(void *arg);
};

struct sasl_server;

/* A new exchange (aborts on out of memory). ctx is copied; its strings (ip,
 * protocol) must outlive the exchange, as the session's do. */
struct sasl_server *sasl_server_new(enum sasl_mech mech, const struct login_ctx *ctx,
                                    const struct sasl_server_ops *ops, void *arg);
/* Begins the exchange: initial is the initial response (RFC 4954 4, RFC 4959,
 * "=" for an empty one) or NULL for none, in which case the first challenge
 * is sent. */
void sasl_server_start(struct sasl_server *x, const char *initial, size_t len);
/* One response line without its line end: base64, "=" or "" for an empty
 * response, "*" to cancel. Ignored while the exchange waits. */
void sasl_server_step(struct sasl_server *x, const char *line, size_t len);
/* Credentials given outside SASL (IMAP LOGIN, POP3 USER/PASS): the checks of
 * PLAIN without an authzid ("user*master" included where ctx.master_login).
 * Instead of sasl_server_start, on an exchange made for PLAIN. */
void sasl_server_login(struct sasl_server *x, const char *user, const char *password);
/* True while a password check or the failure delay runs. */
bool sasl_server_waiting(const struct sasl_server *x);
/* Ends the exchange wherever it is: releases a SCRAM reservation, stops the
 * timer, wipes secrets, frees. Not while a password check runs (the session
 * is kept alive by hold() then, and frees it after release()). NULL is fine. */
void sasl_server_free(struct sasl_server *x);

#endif
