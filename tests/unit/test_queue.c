/* Queue logic without the network: retry schedule and delivery reports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "queue/backoff.h"
#include "queue/bounce.h"

#define MIN_MS (60 * 1000ULL)
#define MAX_MS (4 * 3600 * 1000ULL)

static void test_backoff_schedule(void **state)
{
	(void)state;
	/* rnd = 2^31 is the middle of the jitter range: exactly the nominal delay */
	const uint32_t mid = 1u << 31;
	const uint64_t expect_min[] = { 1, 5, 15, 30, 60, 120, 240, 240, 240 };
	for (int a = 1; a <= 9; a++)
		assert_int_equal(queue_retry_delay_ms(a, MIN_MS, MAX_MS, mid), expect_min[a - 1] * MIN_MS);
	/* attempts below 1 count as the first */
	assert_int_equal(queue_retry_delay_ms(0, MIN_MS, MAX_MS, mid), MIN_MS);
	/* huge attempt counts stay capped, no overflow */
	assert_int_equal(queue_retry_delay_ms(1000000, MIN_MS, MAX_MS, mid), MAX_MS);
	/* a cap above 4h lets the doubling continue: 8h after 240 */
	assert_int_equal(queue_retry_delay_ms(8, MIN_MS, 24 * 3600 * 1000ULL, mid), 480 * MIN_MS);
}

static void test_backoff_jitter_bounds(void **state)
{
	(void)state;
	for (int a = 1; a <= 10; a++) {
		uint64_t nominal = queue_retry_delay_ms(a, MIN_MS, MAX_MS, 1u << 31);
		uint64_t lo = queue_retry_delay_ms(a, MIN_MS, MAX_MS, 0);
		uint64_t hi = queue_retry_delay_ms(a, MIN_MS, MAX_MS, UINT32_MAX);
		assert_true(lo == nominal - nominal / 10);
		assert_true(hi < nominal + nominal / 10);
		assert_true(hi > nominal);
	}
	/* tiny intervals (tests use 1s) still work */
	assert_int_equal(queue_retry_delay_ms(1, 1000, 2000, 0), 900);
	assert_int_equal(queue_retry_delay_ms(3, 1000, 2000, 1u << 31), 2000);
}

static void test_bounce_detail_roundtrip(void **state)
{
	(void)state;
	char buf[512];
	const char *st, *mta, *diag;
	bounce_detail_format(buf, sizeof(buf), "5.1.1", "mx1.example.test",
	                     "smtp; 550 5.1.1\tUser\nunknown");
	bounce_detail_parse(buf, &st, &mta, &diag);
	assert_string_equal(st, "5.1.1");
	assert_string_equal(mta, "mx1.example.test");
	/* tabs and line breaks cannot smuggle fields or header lines */
	assert_string_equal(diag, "smtp; 550 5.1.1 User unknown");
	strcpy(buf, "no tabs at all");
	bounce_detail_parse(buf, &st, &mta, &diag);
	assert_string_equal(st, "5.0.0");
	assert_string_equal(diag, "no tabs at all");
}

static void test_bounce_wanted(void **state)
{
	(void)state;
	assert_false(bounce_wanted(""));
	assert_false(bounce_wanted(NULL));
	assert_false(bounce_wanted("MAILER-DAEMON@example.org"));
	assert_false(bounce_wanted("mailer-daemon"));
	assert_true(bounce_wanted("alice@example.org"));
	assert_true(bounce_wanted("mailer-daemon-fan@example.org"));
}

static void test_bounce_report(void **state)
{
	(void)state;
	struct bounce_rcpt r[2] = {
		{ "bob@remote.test", "5.1.1", "mx1.remote.test", "smtp; 550 5.1.1 no such user" },
		{ "carol@remote.test", "4.4.7", "", "X-Postern; gave up\r\nInjected: header" },
	};
	const char hdrs[] = "From: alice@local.test\nSubject: hello\n";
	struct bounce_info in = {
		.hostname = "mail.local.test", .queue_id = "Q1", .sender = "alice@local.test",
		.arrival = 0, .delayed = false, .rcpts = r, .nrcpts = 2,
		.orig_headers = hdrs, .orig_len = sizeof(hdrs) - 1,
	};
	size_t len;
	char *msg = bounce_build(&in, &len);
	assert_int_equal(strlen(msg), len);
	assert_non_null(strstr(msg, "To: <alice@local.test>\n"));
	assert_non_null(strstr(msg, "Auto-Submitted: auto-replied\n"));
	assert_non_null(strstr(msg, "Content-Type: multipart/report; report-type=delivery-status;"));
	assert_non_null(strstr(msg, "Content-Type: message/delivery-status\n"));
	assert_non_null(strstr(msg, "Reporting-MTA: dns; mail.local.test\n"));
	assert_non_null(strstr(msg, "Final-Recipient: rfc822; bob@remote.test\nOriginal-Recipient: "
	                            "rfc822; bob@remote.test\nAction: failed\nStatus: 5.1.1\n"
	                            "Remote-MTA: dns; mx1.remote.test\n"));
	assert_non_null(strstr(msg, "Status: 4.4.7\nDiagnostic-Code: X-Postern; gave up  Injected: header\n"));
	assert_null(strstr(msg, "\nInjected:"));
	assert_non_null(strstr(msg, "Content-Type: text/rfc822-headers\n\nFrom: alice@local.test\n"
	                            "Subject: hello\n"));
	/* the closing boundary ends the message */
	assert_non_null(strstr(msg, "--Q1/"));
	assert_memory_equal(msg + len - 3, "--\n", 3);
	free(msg);

	in.delayed = true;
	msg = bounce_build(&in, &len);
	assert_non_null(strstr(msg, "Subject: Delayed Mail (still being retried)\n"));
	assert_non_null(strstr(msg, "Action: delayed\n"));
	assert_null(strstr(msg, "Action: failed"));
	free(msg);
}

static void test_postmaster_notice(void **state)
{
	(void)state;
	struct bounce_rcpt r[1] = { { "bob@remote.test", "5.1.1", "mx1.remote.test", "smtp; 550 gone" } };
	const char hdrs[] = "From: MAILER-DAEMON@remote.test\nSubject: a bounce\n";
	struct bounce_info in = {
		.hostname = "mail.local.test", .queue_id = "Q2", .sender = "", .to_postmaster = true,
		.rcpts = r, .nrcpts = 1, .orig_headers = hdrs, .orig_len = sizeof(hdrs) - 1,
	};
	size_t len;
	char *msg = bounce_build(&in, &len);
	assert_non_null(strstr(msg, "To: Postmaster <postmaster@mail.local.test>\n"));
	assert_non_null(strstr(msg, "Subject: Postmaster notice: Undelivered Mail\n"));
	assert_non_null(strstr(msg, "Auto-Submitted: auto-generated\n"));
	assert_non_null(strstr(msg, "A message from <> could not be delivered"));
	assert_non_null(strstr(msg, "the mail system itself"));
	assert_non_null(strstr(msg, "Final-Recipient: rfc822; bob@remote.test\n"));
	assert_non_null(strstr(msg, "Subject: a bounce\n"));
	free(msg);
	/* a sender with no mailbox here: said so, and a header-breaking sender stays on its line */
	in.sender = "ghost@local.test\nBcc: x@evil.test";
	msg = bounce_build(&in, &len);
	assert_non_null(strstr(msg, "could not be returned to <ghost@local.test Bcc: x@evil.test>"));
	assert_null(strstr(msg, "\nBcc:"));
	free(msg);
}

static void test_postmaster_notice_marker(void **state)
{
	(void)state;
	const char *host = "mail.local.test";
	const char notice[] = "Received: by mail.local.test (postern) id postmaster-notice;\n"
	                      "\tTue, 24 Nov 2026 10:00:00 +0000\nFrom: x\n\n";
	const char notice_crlf[] = "DKIM-Signature: v=1; d=local.test\r\n"
	                           "Received: by MAIL.local.test (postern) id postmaster-notice;\r\n"
	                           "\tTue, 24 Nov 2026 10:00:00 +0000\r\n\r\n";
	const char report[] = "Received: by mail.local.test (postern) id report;\n\tdate\n\n";
	/* a client's message: its own copy of the marker sits below ours */
	const char forged[] = "Received: from client (client [127.0.0.1])\n\tby mail.local.test "
	                      "(postern) with ESMTP id X;\n\tdate\nReceived: by mail.local.test "
	                      "(postern) id postmaster-notice;\n\tdate\n\n";
	const char other_host[] = "Received: by other.test (postern) id postmaster-notice;\n\n";
	assert_true(bounce_is_postmaster_notice(notice, sizeof(notice) - 1, host));
	assert_true(bounce_is_postmaster_notice(notice_crlf, sizeof(notice_crlf) - 1, host));
	assert_false(bounce_is_postmaster_notice(report, sizeof(report) - 1, host));
	assert_false(bounce_is_postmaster_notice(forged, sizeof(forged) - 1, host));
	assert_false(bounce_is_postmaster_notice(other_host, sizeof(other_host) - 1, host));
	assert_false(bounce_is_postmaster_notice("", 0, host));
	assert_false(bounce_is_postmaster_notice(notice, 30, host));   /* cut short */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff_schedule),
		cmocka_unit_test(test_backoff_jitter_bounds),
		cmocka_unit_test(test_bounce_detail_roundtrip),
		cmocka_unit_test(test_bounce_wanted),
		cmocka_unit_test(test_bounce_report),
		cmocka_unit_test(test_postmaster_notice),
		cmocka_unit_test(test_postmaster_notice_marker),
	};
	return cmocka_run_group_tests_name("queue", tests, NULL, NULL);
}
