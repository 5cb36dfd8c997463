/* Master users (Dovecot's "master passdb"): an administrator's credential,
 * kept apart from the users (postern master add), that may open any user's
 * mailbox over IMAP or POP3. Off unless auth.master_login is on; never for
 * SMTP submission (a master reads mailboxes, it does not send as anyone).
 *
 * Two ways to say "master M acting as user U":
 *   - the login name "U*M" (IMAP LOGIN, POP3 USER, SASL LOGIN, PLAIN authcid);
 *   - SASL PLAIN with authzid U and authcid M (RFC 4616's authorization id).
 * The password is M's. U must exist; failures count against M and the IP.
 *
 * The split is unambiguous: a master name is 1..64 of [A-Za-z0-9._-] (no
 * '@', no '*'), and a user's address always has its '@' after any '*' of its
 * local part, so an address never ends in "*" plus a master name. */
#ifndef POSTERN_MASTER_H
#define POSTERN_MASTER_H

#include <stdbool.h>
#include <stddef.h>

struct login_ctx;

#define MASTER_NAME_MAX 64

/* A name `postern master add` accepts, and the only kind split off a login. */
bool master_name_valid(const char *name);

enum master_form {
	MASTER_FORM_NONE,       /* an ordinary login name (no '*' followed by a master name) */
	MASTER_FORM_OK,         /* user and master filled */
	MASTER_FORM_BAD,        /* "*M" or a user part too long: master filled, a failure */
};

/* Splits "U*M" at the last '*' when M is a valid master name. user (ucap
 * with the NUL) gets U, master (at least MASTER_NAME_MAX + 1) gets M; both
 * as given (the caller lower-cases). */
enum master_form master_login_split(const char *login, char *user, size_t ucap, char *master,
                                    size_t mcap);

/* The audit event of a master login, whatever its end: "auth.master_login"
 * with ip, protocol, user (the mailbox), master, result ("success",
 * "failure", "refused") and a reason or the cache flag; to the main log and
 * the audit log. */
void master_audit(const struct login_ctx *c, const char *user, const char *master,
                  const char *result, const char *reason, bool cached);

#endif
