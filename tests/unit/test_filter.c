/* Unit tests for src/filter: the end-of-DATA check list runs
 * its rows in order and stops at the first rejection; the header is read
 * once into the context; the hop count and the From: ownership check
 * decide on it (the cases that need no directory: the store is only asked
 * about well-formed addresses). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "filter/filter.h"

/* ---- the list and its runner ---- */

static char calls[16];
static size_t ncalls;

static struct filter_verdict record(char c, bool reject)
{
	struct filter_verdict v = { .kind = FILTER_ACCEPT };

	calls[ncalls++] = c;
	calls[ncalls] = '\0';
	if (reject)
		v = (struct filter_verdict){ .kind = FILTER_REJECT, .code = 450 + c - 'a',
		                           .enh = "4.7.1", .text = "no", .log_result = "rejected" };
	return v;
}

static struct filter_verdict check_a(const struct filter_ctx *ctx) { (void)ctx; return record('a', false); }
static struct filter_verdict check_b(const struct filter_ctx *ctx) { (void)ctx; return record('b', true); }
static struct filter_verdict check_c(const struct filter_ctx *ctx) { (void)ctx; return record('c', true); }
static struct filter_verdict check_d(const struct filter_ctx *ctx) { (void)ctx; return record('d', false); }

static void test_run_order(void **state)
{
	static const struct filter_check all[] = {
		{ "a", check_a, FILTER_FROM_ANY }, { "b", check_b, FILTER_FROM_ANY },
		{ "c", check_c, FILTER_FROM_ANY }, { "d", check_d, FILTER_FROM_ANY },
	};
	static const struct filter_check accepting[] = {
		{ "d", check_d, FILTER_FROM_ANY }, { "a", check_a, FILTER_FROM_ANY },
	};
	struct filter_ctx ctx = { .origin = FILTER_FROM_MX };
	const char *failed = "unset";
	struct filter_verdict v;
	(void)state;

	/* in table order, up to the first rejection; its verdict is the result */
	ncalls = 0;
	v = filter_run(all, 4, &ctx, &failed);
	assert_string_equal(calls, "ab");
	assert_int_equal(v.kind, FILTER_REJECT);
	assert_int_equal(v.code, 451);
	assert_string_equal(failed, "b");
	/* all accept: every row ran, no name */
	ncalls = 0;
	v = filter_run(accepting, 2, &ctx, &failed);
	assert_string_equal(calls, "da");
	assert_int_equal(v.kind, FILTER_ACCEPT);
	assert_null(failed);
	/* an empty list accepts */
	v = filter_run(all, 0, &ctx, NULL);
	assert_int_equal(v.kind, FILTER_ACCEPT);
}

/* A row runs only for the origins it lists: LMTP skips what the MTA in
 * front has checked already. */
static void test_run_by_origin(void **state)
{
	static const struct filter_check rows[] = {
		{ "a", check_a, FILTER_FROM_ANY },
		{ "b", check_b, FILTER_FROM_MX | FILTER_FROM_SUBMISSION },
		{ "d", check_d, FILTER_FROM_LMTP },
	};
	struct filter_ctx ctx = { .origin = FILTER_FROM_LMTP };
	struct filter_verdict v;
	(void)state;

	ncalls = 0;
	v = filter_run(rows, 3, &ctx, NULL);
	assert_string_equal(calls, "ad");
	assert_int_equal(v.kind, FILTER_ACCEPT);
	ncalls = 0;
	ctx.origin = FILTER_FROM_MX;
	v = filter_run(rows, 3, &ctx, NULL);
	assert_string_equal(calls, "ab");
	assert_int_equal(v.kind, FILTER_REJECT);
	/* the real list: the hop count for every origin, From: ownership for submission
	 * only, the message syntax for port 25 and submission but not LMTP */
	assert_int_equal(filter_nchecks, 3);
	assert_int_equal(filter_checks[0].origins, FILTER_FROM_ANY);
	assert_int_equal(filter_checks[1].origins, FILTER_FROM_SUBMISSION);
	assert_int_equal(filter_checks[2].origins, FILTER_FROM_MX | FILTER_FROM_SUBMISSION);
}

/* The rows of the real list: hop count before sender ownership, so a mail
 * loop is reported as one whoever sends it; ownership before syntax, so a
 * spoofed From: on submission is refused (and audited) as one. */
static void test_message_checks_table(void **state)
{
	(void)state;
	assert_int_equal(filter_nchecks, 3);
	assert_string_equal(filter_checks[0].name, "hops");
	assert_ptr_equal(filter_checks[0].run, filter_check_hops);
	assert_string_equal(filter_checks[1].name, "from_owner");
	assert_ptr_equal(filter_checks[1].run, filter_check_from_owner);
	assert_string_equal(filter_checks[2].name, "syntax");
	assert_ptr_equal(filter_checks[2].run, filter_check_syntax);
}

/* ---- the context ---- */

static void ctx_of(struct filter_ctx *ctx, const char *msg, size_t total)
{
	memset(ctx, 0, sizeof *ctx);
	ctx->max_hops = 3;
	ctx->origin = FILTER_FROM_SUBMISSION;
	ctx->auth_user = "alice@example.org";
	ctx->session_id = "test";
	ctx->client_ip = "192.0.2.1";
	filter_ctx_set_header(ctx, msg, strlen(msg), total);
}

static void test_header_read_once(void **state)
{
	struct filter_ctx ctx;
	const char *m = "A: 1\nB: 2\n\nC: body\n";
	(void)state;

	ctx_of(&ctx, m, strlen(m));
	assert_true(ctx.header_complete);
	assert_int_equal(ctx.header_len, 10);
	assert_int_equal(ctx.header.nfields, 2);
	filter_ctx_free(&ctx);
	/* all header, no body: complete when read whole */
	ctx_of(&ctx, "A: 1\nB: 2\n", 10);
	assert_true(ctx.header_complete);
	assert_int_equal(ctx.header.nfields, 2);
	filter_ctx_free(&ctx);
	/* only the start of a longer message, and no empty line in it */
	ctx_of(&ctx, "A: 1\nB: 2\n", 5000000);
	assert_false(ctx.header_complete);
	filter_ctx_free(&ctx);
}

/* ---- message syntax ---- */

/* The reply text of the syntax check for a whole message (CRLF line ends) */
static const char *syntax_of(const char *msg)
{
	static char text[200];
	struct filter_ctx ctx;

	ctx_of(&ctx, msg, strlen(msg));
	struct filter_verdict v = filter_check_syntax(&ctx);
	filter_ctx_free(&ctx);
	if (v.kind == FILTER_ACCEPT)
		return "ok";
	assert_int_equal(v.code, 550);
	assert_string_equal(v.enh, "5.6.0");
	snprintf(text, sizeof(text), "%s", v.text);
	return text;
}

#define assert_syntax(msg, expect) do { \
		const char *got_ = syntax_of(msg); \
		if (strstr(got_, (expect)) == NULL) \
			fail_msg("%s: got '%s', wanted '%s'", #msg, got_, (expect)); \
	} while (0)

static void test_syntax(void **state)
{
	(void)state;
	assert_syntax("From: a@example.org\r\nTo: b@example.net\r\n\r\nbody\r\n", "ok");
	assert_syntax("From: \"A, B\" <a@example.org>\r\n\r\n", "ok");
	assert_syntax("from: a@example.org\r\nSubject: x\r\n  folded\r\n\r\n", "ok");
	/* several addresses: only with a Sender: */
	assert_syntax("From: a@example.org, b@example.org\r\nSender: a@example.org\r\n\r\n", "ok");
	assert_syntax("From: a@example.org, b@example.org\r\n\r\n", "needs a Sender:");
	assert_syntax("From: Team: a@example.org, b@example.org;\r\n\r\n", "needs a Sender:");
	/* none, or two */
	assert_syntax("To: b@example.net\r\nSubject: x\r\n\r\nFrom: a@example.org\r\n", "no From:");
	assert_syntax("", "no From:");
	assert_syntax("From: a@example.org\r\nFROM: evil@example.com\r\n\r\n", "more than one From:");
	assert_syntax("From: undisclosed:;\r\n\r\n", "holds no address");
	assert_syntax("From: \r\n\r\n", "holds no address");
	assert_syntax("From: nobody\r\n\r\n", "holds no address");
	/* lines that are not fields */
	assert_syntax("From: a@example.org\r\nthis is not a field\r\n\r\n", "not a \"name: value\"");
	assert_syntax(" From: evil@example.com\r\nFrom: a@example.org\r\n\r\n", "not a \"name: value\"");
	assert_syntax("From: a@example.org\r\nBad Name: x\r\n\r\n", "not a \"name: value\"");
	/* obsolete forms two readers see differently */
	assert_syntax("From : evil@example.com\r\n\r\n", "between a field name and its colon");
	assert_syntax("Subject: x\r\n \r\nFrom: evil@example.com\r\n\r\n", "only white space");
	assert_syntax("From: a@example.org\r\nSubject: x\r\n\t \r\n more\r\n\r\n", "only white space");
	assert_syntax("From: a@example.org\nSubject: x\n \nTo: y\n\n", "only white space");
	/* a header too big to read whole cannot be judged */
	struct filter_ctx ctx;
	ctx_of(&ctx, "From: a@example.org\r\n", 5000000);
	assert_int_equal(filter_check_syntax(&ctx).kind, FILTER_REJECT);
	filter_ctx_free(&ctx);
}

/* Through the real list: a message without a From: is refused on port 25
 * and on submission (by an authenticated user, whose ownership check has
 * nothing to object to), and handed on over LMTP. */
static void test_syntax_in_list(void **state)
{
	static const struct { enum filter_origin origin; const char *user; bool refused; } cases[] = {
		{ FILTER_FROM_MX, NULL, true },
		{ FILTER_FROM_SUBMISSION, "alice@example.org", true },
		{ FILTER_FROM_LMTP, NULL, false },
	};
	const char *msg = "To: b@example.net\r\nSubject: x\r\n\r\nbody\r\n";
	(void)state;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct filter_ctx ctx;
		const char *failed = NULL;
		ctx_of(&ctx, msg, strlen(msg));
		ctx.origin = cases[i].origin;
		ctx.auth_user = cases[i].user;
		struct filter_verdict v = filter_run(filter_checks, filter_nchecks, &ctx, &failed);
		if (!cases[i].refused) {
			assert_int_equal(v.kind, FILTER_ACCEPT);
			assert_null(failed);
		} else {
			assert_int_equal(v.kind, FILTER_REJECT);
			assert_int_equal(v.code, 550);
			assert_string_equal(v.enh, "5.6.0");
			assert_string_equal(v.text, "Message has no From: header field (RFC 5322 3.6)");
			assert_string_equal(v.log_result, "rejected: no From");
			assert_string_equal(failed, "syntax");
		}
		filter_ctx_free(&ctx);
	}
}

/* ---- hops ---- */

static void test_hops(void **state)
{
	struct filter_ctx ctx;
	struct filter_verdict v;
	const char *under = "Received: a\nreceived: b\nX: y\n\nReceived: in the body\n";
	const char *at = "Received: a\nRECEIVED : b\n folded\nReceived: c\n\nbody\n";
	(void)state;

	ctx_of(&ctx, under, strlen(under));
	assert_int_equal(filter_check_hops(&ctx).kind, FILTER_ACCEPT);
	filter_ctx_free(&ctx);
	ctx_of(&ctx, at, strlen(at));
	v = filter_check_hops(&ctx);
	assert_int_equal(v.kind, FILTER_REJECT);
	assert_int_equal(v.code, 554);
	assert_string_equal(v.enh, "5.4.6");
	assert_string_equal(v.text, "Too many hops: mail loop detected");
	assert_string_equal(v.log_result, "rejected: mail loop");
	/* the same through the list */
	v = filter_run(filter_checks, filter_nchecks, &ctx, NULL);
	assert_int_equal(v.code, 554);
	filter_ctx_free(&ctx);
}

/* ---- From: ownership (no store needed for these) ---- */

static void assert_from(const char *msg, size_t total, bool submission, const char *user,
                        bool any, enum filter_verdict_kind want)
{
	struct filter_ctx ctx;
	struct filter_verdict v;

	ctx_of(&ctx, msg, total);
	ctx.origin = submission ? FILTER_FROM_SUBMISSION : FILTER_FROM_MX;
	ctx.auth_user = user;
	ctx.any_sender = any;
	v = filter_run(filter_checks, filter_nchecks, &ctx, NULL);
	if (v.kind != want)
		fail_msg("From check of \"%s\": got %d, want %d", msg, (int)v.kind, (int)want);
	if (want == FILTER_REJECT) {
		assert_int_equal(v.code, 553);
		assert_string_equal(v.enh, "5.7.1");
		assert_string_equal(v.log_result, "rejected: From not owned");
	}
	filter_ctx_free(&ctx);
}

static void test_from_owner(void **state)
{
	const char *forged = "From: <ceo@elsewhere.test>\n\nhi\n";
	(void)state;

	/* not a question on port 25 (or over LMTP), without AUTH, or for a user who may
	 * send as anyone */
	{
		struct filter_ctx ctx;
		ctx_of(&ctx, forged, strlen(forged));
		ctx.origin = FILTER_FROM_LMTP;
		assert_int_equal(filter_run(filter_checks, filter_nchecks, &ctx, NULL).kind,
		                 FILTER_ACCEPT);
		filter_ctx_free(&ctx);
	}
	assert_from(forged, strlen(forged), false, "alice@example.org", false, FILTER_ACCEPT);
	assert_from(forged, strlen(forged), true, NULL, false, FILTER_ACCEPT);
	assert_from(forged, strlen(forged), true, "alice@example.org", true, FILTER_ACCEPT);
	/* no From: field at all is left to other checks (the syntax row) */
	{
		struct filter_ctx ctx;
		ctx_of(&ctx, "To: x@y\n\nhi\n", 12);
		assert_int_equal(filter_check_from_owner(&ctx).kind, FILTER_ACCEPT);
		filter_ctx_free(&ctx);
	}
	/* refused before any lookup: nothing in it, a group, no domain, no local part */
	static const char *const bad[] = {
		"From:\n\n", "From: (only a comment)\n\n", "From: team: ;\n\n", "From: :;\n\n",
		"From: alice\n\n", "From: Alice <>\n\n", "From: <@example.org>\n\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_from(bad[i], strlen(bad[i]), true, "alice@example.org", false,
		            FILTER_REJECT);
	/* a header that was not read whole cannot be checked */
	assert_from("X: 1\n", 2 * FILTER_HEADER_MAX, true, "alice@example.org", false,
	            FILTER_REJECT);
	/* nor one with more fields than are kept: a From: past them is not seen */
	size_t cap = (FILTER_FIELDS_MAX + 2) * 6 + 64, n = 0;
	char *m = malloc(cap);
	for (int i = 0; i <= FILTER_FIELDS_MAX; i++)
		n += (size_t)snprintf(m + n, cap - n, "X: 1\n");
	n += (size_t)snprintf(m + n, cap - n, "From: <ceo@elsewhere.test>\n\n");
	assert_from(m, n, true, "alice@example.org", false, FILTER_REJECT);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_run_order),
		cmocka_unit_test(test_run_by_origin),
		cmocka_unit_test(test_message_checks_table),
		cmocka_unit_test(test_header_read_once),
		cmocka_unit_test(test_hops),
		cmocka_unit_test(test_from_owner),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_syntax_in_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
