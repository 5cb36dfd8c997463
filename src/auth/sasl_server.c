/* The SASL server exchange shared by SMTP AUTH, IMAP AUTHENTICATE/LOGIN and
 * POP3 AUTH/USER+PASS, master users' logins included (auth/master.h). */
#include "auth/sasl_server.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include "auth/master.h"
#include "auth/sasl.h"
#include "auth/scram.h"
#include "core/util.h"

/* RFC 4954 4: a response line is at most 12288 octets, so this much decoded */
#define DECODED_MAX 9216
#define USER_MAX 320            /* as the login module: local@domain */
#define LOGIN_FIELD_MAX 255     /* LOGIN's username and password, like PLAIN's fields */

struct sasl_server {
	enum sasl_mech mech;
	struct login_ctx ctx;
	struct sasl_server_ops ops;
	void *arg;
	int step;                       /* responses taken so far */
	bool checking;                  /* a password check is on the pool */
	bool delaying;                  /* the failure delay runs */
	bool pausing;                   /* SCRAM: server-first waits (a blocked username) */
	bool orphaned;                  /* freed during the check: free when it ends */
	struct event *delay;
	struct event *pause;            /* SCRAM: the wait before server-first */
	char server_first[SCRAM_SERVER_FIRST_MAX];      /* ... and what it then sends */
	char user[USER_MAX + 1];        /* lower-cased, once known */
	char master[MASTER_NAME_MAX + 1];       /* lower-cased: who logs in as user; "" */
	char login_user[LOGIN_FIELD_MAX + 1];   /* LOGIN: the name of the first response */
	bool any_sender;
	struct scram_server *scram;
	bool scram_known;               /* real keys (else fake ones that no proof matches) */
	bool reserved;                  /* the SCRAM exchange counts as a login in flight */
};

/* ---- mechanisms ------------------------------------------------------------------- */

static const struct { const char *name; enum sasl_mech mech; } mechs[] = {
	{ "PLAIN", SASL_MECH_PLAIN },
	{ "LOGIN", SASL_MECH_LOGIN },
	{ "SCRAM-SHA-256", SASL_MECH_SCRAM_SHA_256 },
};

const char *sasl_server_mechanisms(bool cleartext_password_ok)
{
	return cleartext_password_ok ? "PLAIN LOGIN SCRAM-SHA-256" : "SCRAM-SHA-256";
}

int sasl_server_mech_parse(const char *name, enum sasl_mech *out)
{
	for (size_t i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++)
		if (strcasecmp(name, mechs[i].name) == 0) {
			*out = mechs[i].mech;
			return 0;
		}
	return -1;
}

bool sasl_server_mech_sends_password(enum sasl_mech m)
{
	return m == SASL_MECH_PLAIN || m == SASL_MECH_LOGIN;
}

/* ---- lifetime ----------------------------------------------------------------------- */

struct sasl_server *sasl_server_new(enum sasl_mech mech, const struct login_ctx *ctx,
                                    const struct sasl_server_ops *ops, void *arg)
{
	struct sasl_server *x = xcalloc(1, sizeof(*x));
	x->mech = mech;
	x->ctx = *ctx;
	x->ops = *ops;
	x->arg = arg;
	return x;
}

/* A SCRAM reservation ends once the result is recorded, or with the exchange. */
static void release_reservation(struct sasl_server *x)
{
	if (x->reserved) {
		login_release(&x->ctx, x->user);
		x->reserved = false;
	}
}

static void destroy(struct sasl_server *x)
{
	release_reservation(x);
	scram_server_free(x->scram);
	if (x->delay != NULL)
		event_free(x->delay);
	if (x->pause != NULL)
		event_free(x->pause);
	OPENSSL_cleanse(x, sizeof(*x));
	free(x);
}

void sasl_server_free(struct sasl_server *x)
{
	if (x == NULL)
		return;
	if (x->checking) {
		x->orphaned = true;     /* the pool's callback still points here */
		return;
	}
	destroy(x);
}

bool sasl_server_waiting(const struct sasl_server *x)
{
	return x != NULL && (x->checking || x->delaying);
}

/* ---- outcomes ----------------------------------------------------------------------- */

/* The last thing the exchange does: the callback may free it. */
static void finish(struct sasl_server *x, enum sasl_outcome o, const char *detail)
{
	char user[USER_MAX + 1], master[MASTER_NAME_MAX + 1];
	/* the callback may free x: the result must not point into it */
	str_copy(user, sizeof(user), x->user);
	str_copy(master, sizeof(master), x->master);
	struct sasl_result r = { .user = user, .master = master,
	                         .any_sender = o == SASL_SUCCESS && x->any_sender, .detail = detail };
	release_reservation(x);
	if (x->pause != NULL)
		evtimer_del(x->pause);
	x->pausing = false;
	scram_server_free(x->scram);
	x->scram = NULL;
	OPENSSL_cleanse(x->login_user, sizeof(x->login_user));
	x->ops.done(x->arg, o, &r);
}

static void on_delay(evutil_socket_t fd, short what, void *arg)
{
	struct sasl_server *x = arg;
	(void)fd;
	(void)what;
	x->delaying = false;
	finish(x, SASL_FAILED, "Authentication failed");
}

/* The limiter's progressive delay before the failure is told, with the
 * session's input paused so that a client cannot pipeline guesses past it. */
static void fail_after(struct sasl_server *x, uint64_t delay_ms)
{
	if (x->delay == NULL)
		x->delay = evtimer_new(x->ctx.base, on_delay, x);
	struct timeval tv = { (time_t)(delay_ms / 1000), (suseconds_t)(delay_ms % 1000) * 1000 };
	x->delaying = true;
	x->ops.wait(x->arg);
	evtimer_add(x->delay, &tv);
}

/* A failure decided here (refused authzid, wrong SCRAM proof): recorded, then
 * the reservation (if any) ends, then the delay runs. */
static void fail(struct sasl_server *x, const char *reason)
{
	uint64_t delay = login_failed(&x->ctx, x->user, reason);
	release_reservation(x);
	fail_after(x, delay);
}

static void set_user(struct sasl_server *x, const char *user)
{
	str_copy(x->user, sizeof(x->user), user);
	ascii_lower(x->user);
}

/* ---- the password check ------------------------------------------------------------- */

static void on_checked(void *arg, enum login_result r, const char *user, bool any_sender,
                       uint64_t delay_ms)
{
	struct sasl_server *x = arg;
	x->checking = false;
	if (x->orphaned) {
		x->ops.release(x->arg);     /* the session dropped the exchange, not its hold */
		destroy(x);
		return;
	}
	if (!x->ops.release(x->arg))
		return;                     /* the session is gone, and this exchange with it */
	if (r == LOGIN_OK) {
		set_user(x, user);
		x->any_sender = any_sender;
		finish(x, SASL_SUCCESS, NULL);
	} else if (r == LOGIN_FAILED) {
		fail_after(x, delay_ms);
	} else {
		finish(x, SASL_TEMPFAIL, "Temporary authentication failure");
	}
}

/* The password check runs: keep the session alive and its input paused. */
static void checking(struct sasl_server *x)
{
	x->checking = true;
	x->ops.hold(x->arg);
	x->ops.wait(x->arg);
}

static void check_user_password(struct sasl_server *x, const char *user, const char *password)
{
	set_user(x, user);
	/* before any password is looked at: blocked IPs and users, fail closed */
	if (!login_allowed(&x->ctx, x->user)) {
		finish(x, SASL_TEMPFAIL, "Temporary authentication failure, try again later");
		return;
	}
	/* the callback never runs inside this call, so the hold comes in time */
	if (login_check_password(&x->ctx, x->user, password, on_checked, x) < 0) {
		/* the pool is saturated: a temporary failure, not a wrong password */
		finish(x, SASL_TEMPFAIL, "Temporary authentication failure, try again later");
		return;
	}
	checking(x);
}

/* Master M logs in as user U (auth/master.h): the limiter must allow M (whose
 * failures these are) and U (a blocked user stays blocked for masters too:
 * no known network or delay for either, auth/lockout.h). */
static void check_master_password(struct sasl_server *x, const char *user, const char *master,
                                  const char *password)
{
	set_user(x, user);
	str_copy(x->master, sizeof(x->master), master);
	ascii_lower(x->master);
	if (!login_allowed_for_master(&x->ctx, x->master) ||
	    !login_allowed_for_master(&x->ctx, x->user)) {
		master_audit(&x->ctx, x->user, x->master, "refused", "ratelimited", false);
		finish(x, SASL_TEMPFAIL, "Temporary authentication failure, try again later");
		return;
	}
	if (login_check_master(&x->ctx, x->user, x->master, password, on_checked, x) < 0) {
		finish(x, SASL_TEMPFAIL, "Temporary authentication failure, try again later");
		return;
	}
	checking(x);
}

/* A master form with nothing usable before the '*' ("*admin"): a failure of
 * the master's, like a wrong password. */
static void refuse_master_form(struct sasl_server *x, const char *master)
{
	str_copy(x->master, sizeof(x->master), master);
	ascii_lower(x->master);
	if (!login_allowed_for_master(&x->ctx, x->master)) {
		finish(x, SASL_TEMPFAIL, "Temporary authentication failure, try again later");
		return;
	}
	fail_after(x, login_master_failed(&x->ctx, "", x->master, "bad_user_name"));
}

/* A login name with a password (IMAP LOGIN, POP3 USER/PASS, SASL LOGIN,
 * PLAIN without authzid): "user*master" is a master's where they may log in. */
static void check_password(struct sasl_server *x, const char *login, const char *password)
{
	char user[USER_MAX + 1], master[MASTER_NAME_MAX + 1];
	enum master_form f = MASTER_FORM_NONE;
	if (x->ctx.master_login)
		f = master_login_split(login, user, sizeof(user), master, sizeof(master));
	if (f == MASTER_FORM_OK)
		check_master_password(x, user, master, password);
	else if (f == MASTER_FORM_BAD)
		refuse_master_form(x, master);
	else
		check_user_password(x, login, password);
}

void sasl_server_login(struct sasl_server *x, const char *user, const char *password)
{
	x->step = 1;
	check_password(x, user, password);
}

/* ---- PLAIN and LOGIN --------------------------------------------------------------------- */

static void plain_step(struct sasl_server *x, const unsigned char *msg, size_t len)
{
	struct sasl_plain p;
	if (sasl_plain_parse(msg, len, &p) < 0) {
		finish(x, SASL_MALFORMED, "Malformed PLAIN message");
		return;
	}
	/* RFC 4616 2: authcid acts as authzid; only a master may (auth/master.h) */
	if (x->ctx.master_login && p.authzid[0] != '\0' && strcasecmp(p.authzid, p.authcid) != 0 &&
	    master_name_valid(p.authcid)) {
		check_master_password(x, p.authzid, p.authcid, p.passwd);
		sasl_plain_clear(&p);
		return;
	}
	/* acting for someone else is not offered otherwise: a failure like a wrong password */
	if (p.authzid[0] != '\0' && strcasecmp(p.authzid, p.authcid) != 0) {
		set_user(x, p.authcid);
		sasl_plain_clear(&p);
		if (!login_allowed(&x->ctx, x->user))
			finish(x, SASL_TEMPFAIL, "Temporary authentication failure, try again later");
		else
			fail(x, "authzid_refused");
		return;
	}
	check_password(x, p.authcid, p.passwd);
	sasl_plain_clear(&p);
}

static void login_step(struct sasl_server *x, const unsigned char *msg, size_t len)
{
	char text[LOGIN_FIELD_MAX + 1];
	if (len >= sizeof(text) || memchr(msg, '\0', len) != NULL) {
		finish(x, SASL_MALFORMED, "Malformed LOGIN response");
		return;
	}
	memcpy(text, msg, len);
	text[len] = '\0';
	if (x->step == 1) {
		str_copy(x->login_user, sizeof(x->login_user), text);
		x->ops.challenge(x->arg, SASL_LOGIN_PASSWORD_B64);
	} else {
		check_password(x, x->login_user, text);
	}
	OPENSSL_cleanse(text, sizeof(text));
}

/* ---- SCRAM-SHA-256 --------------------------------------------------------------------- */

static void scram_send(struct sasl_server *x, const char *text)
{
	char b64[SASL_B64_ENCODED_LEN(SCRAM_SERVER_FIRST_MAX) + 1];
	if (sasl_b64_encode((const unsigned char *)text, strlen(text), b64, sizeof(b64), NULL) < 0) {
		finish(x, SASL_TEMPFAIL, "Temporary authentication failure");
		return;
	}
	x->ops.challenge(x->arg, b64);
}

static void on_pause_over(evutil_socket_t fd, short what, void *arg)
{
	struct sasl_server *x = arg;
	(void)fd;
	(void)what;
	x->pausing = false;
	scram_send(x, x->server_first);
}

/* A blocked username from an unknown network (auth/lockout.h): the proof is
 * asked for only after the delay. The client must wait for server-first
 * (RFC 5802 5): input is not paused, but a line meanwhile ends the exchange. */
static void pause_then_send(struct sasl_server *x, const char *out, uint64_t wait_ms)
{
	struct timeval tv = { (time_t)(wait_ms / 1000), (suseconds_t)(wait_ms % 1000) * 1000 };
	str_copy(x->server_first, sizeof(x->server_first), out);
	if (x->pause == NULL)
		x->pause = evtimer_new(x->ctx.base, on_pause_over, x);
	if (x->pause == NULL || evtimer_add(x->pause, &tv) < 0) {
		finish(x, SASL_TEMPFAIL, "Temporary authentication failure");
		return;
	}
	x->pausing = true;
}

static void scram_first(struct sasl_server *x, const unsigned char *msg, size_t len)
{
	char user[SCRAM_USER_MAX + 1], authzid[SCRAM_USER_MAX + 1], out[SCRAM_SERVER_FIRST_MAX];
	struct scram_keys keys;
	bool any_sender = false;
	uint64_t wait_ms = 0;
	x->scram = scram_server_new();
	if (scram_server_client_first(x->scram, (const char *)msg, len, user, sizeof(user), authzid,
	                              sizeof(authzid)) < 0) {
		finish(x, SASL_MALFORMED, "Malformed SCRAM message");
		return;
	}
	set_user(x, user);
	/* the proof comes in a later message: count the exchange as a check in
	 * flight from now on, so parallel exchanges cannot outrun the limits */
	if (!login_reserve(&x->ctx, x->user, &wait_ms)) {
		finish(x, SASL_TEMPFAIL, "Temporary authentication failure, try again later");
		return;
	}
	x->reserved = true;
	/* unknown users (or no SCRAM keys yet) get fake keys: the exchange looks
	 * normal and fails at the proof */
	x->scram_known = login_scram_keys(&x->ctx, x->user, &keys, &any_sender) &&
	                 (authzid[0] == '\0' || strcasecmp(authzid, x->user) == 0);
	x->any_sender = x->scram_known && any_sender;
	int rc = scram_server_first(x->scram, &keys, out, sizeof(out));
	OPENSSL_cleanse(&keys, sizeof(keys));
	if (rc < 0) {
		finish(x, SASL_TEMPFAIL, "Temporary authentication failure");
		return;
	}
	if (wait_ms > 0)
		pause_then_send(x, out, wait_ms);
	else
		scram_send(x, out);
}

static void scram_final(struct sasl_server *x, const unsigned char *msg, size_t len)
{
	char out[SCRAM_SERVER_FINAL_MAX];
	int r = scram_server_client_final(x->scram, (const char *)msg, len, out, sizeof(out));
	if (r < 0)
		finish(x, SASL_MALFORMED, "Malformed SCRAM message");
	else if (r == 0 || !x->scram_known)
		fail(x, x->scram_known ? "bad_password" : "unknown_user_or_no_scram_keys");
	else    /* RFC 4954 4, RFC 9051 6.2.2: server-final in a challenge, answered empty */
		scram_send(x, out);
}

static void scram_step(struct sasl_server *x, const unsigned char *msg, size_t len)
{
	if (x->step == 1) {
		scram_first(x, msg, len);
	} else if (x->step == 2) {
		scram_final(x, msg, len);
	} else if (len != 0) {
		finish(x, SASL_MALFORMED, "Unexpected SCRAM data");
	} else {
		login_succeeded(&x->ctx, x->user);
		finish(x, SASL_SUCCESS, NULL);
	}
}

/* ---- responses ---------------------------------------------------------------------------- */

/* Decodes one base64 response ("=" is the empty one) and steps the mechanism. */
static void respond(struct sasl_server *x, const char *b64, size_t len)
{
	unsigned char buf[DECODED_MAX];
	size_t n = 0;
	if (!(len == 1 && b64[0] == '=') && sasl_b64_decode(b64, len, buf, sizeof(buf), &n) < 0) {
		finish(x, SASL_MALFORMED, "Invalid base64 data");
		return;
	}
	x->step++;
	switch (x->mech) {
	case SASL_MECH_PLAIN: plain_step(x, buf, n); break;
	case SASL_MECH_LOGIN: login_step(x, buf, n); break;
	case SASL_MECH_SCRAM_SHA_256: scram_step(x, buf, n); break;
	}
	OPENSSL_cleanse(buf, n);
}

void sasl_server_start(struct sasl_server *x, const char *initial, size_t len)
{
	if (initial != NULL && len > 0) {
		respond(x, initial, len);
		return;
	}
	/* no initial response: LOGIN asks for the name, the others for their first message */
	x->ops.challenge(x->arg, x->mech == SASL_MECH_LOGIN ? SASL_LOGIN_USERNAME_B64 : "");
}

void sasl_server_step(struct sasl_server *x, const char *line, size_t len)
{
	if (sasl_server_waiting(x))
		return;
	if (x->pausing) {
		finish(x, SASL_MALFORMED, "Unexpected data before the server's challenge");
		return;
	}
	if (len == 1 && line[0] == '*') {   /* RFC 4954 4, RFC 9051 6.2.2 */
		finish(x, SASL_CANCELLED, "Authentication cancelled");
		return;
	}
	respond(x, line, len);
}
