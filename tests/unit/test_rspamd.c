/* Unit tests for src/filter/rspamd_reply.c and the reply head of
 * rspamd_http.c: each action's verdict, hostile JSON (wrong types, huge
 * numbers, control characters, too many symbols, duplicate keys, deep
 * nesting), the header fields built from a reply, and the HTTP head. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "filter/rspamd.h"
#include "filter/rspamd_http.h"

static int parse(const char *json, struct rspamd_reply *rep)
{
	char err[128];
	return rspamd_reply_parse(json, strlen(json), rep, err, sizeof(err));
}

static void result_of(const char *json, struct rspamd_result *r)
{
	struct rspamd_reply rep;
	assert_int_equal(parse(json, &rep), 0);
	rspamd_result_from_reply(&rep, r);
}

#define REPLY(action, score) \
	"{\"action\":\"" action "\",\"score\":" #score ",\"required_score\":15," \
	"\"symbols\":{\"SYM_A\":{\"score\":" #score "}}}"

static void test_actions(void **state)
{
	struct rspamd_result r;
	result_of(REPLY("reject", 20), &r);
	assert_int_equal(r.verdict, RSPAMD_REJECT_MSG);
	assert_int_equal(r.code, 550);
	assert_string_equal(r.enh, "5.7.1");
	assert_string_equal(r.text, "Spam message rejected");
	assert_int_equal(r.headers_len, 0);

	result_of(REPLY("soft reject", 1), &r);
	assert_int_equal(r.verdict, RSPAMD_DEFER);
	assert_int_equal(r.code, 451);
	assert_string_equal(r.enh, "4.7.1");

	result_of(REPLY("add header", 7), &r);
	assert_int_equal(r.verdict, RSPAMD_JUNK);
	assert_string_equal(r.headers, "X-Spamd-Result: default: True [7.00 / 15.00]; SYM_A(7.00)\n"
	                    "X-Rspamd-Score: 7.00\nX-Rspamd-Action: add header\nX-Spam: Yes\n");

	result_of("{\"action\":\"rewrite_subject\",\"score\":9,\"required_score\":15,"
	          "\"subject\":\"[SPAM] hi\"}", &r);
	assert_int_equal(r.verdict, RSPAMD_JUNK);
	assert_int_equal(r.action, RSPAMD_REWRITE_SUBJECT);
	assert_string_equal(r.subject, "[SPAM] hi");

	/* greylist and unknown actions deliver; quarantine and discard go to Junk */
	result_of(REPLY("greylist", 5), &r);
	assert_int_equal(r.verdict, RSPAMD_ACCEPT);
	assert_null(strstr(r.headers, "X-Spam: Yes"));
	result_of(REPLY("something new", 5), &r);
	assert_int_equal(r.verdict, RSPAMD_ACCEPT);
	assert_int_equal(r.action, RSPAMD_ACTION_OTHER);
	result_of(REPLY("discard", 30), &r);
	assert_int_equal(r.verdict, RSPAMD_JUNK);
	result_of(REPLY("QUARANTINE", 30), &r);
	assert_int_equal(r.verdict, RSPAMD_JUNK);
	result_of(REPLY("no action", 0), &r);
	assert_int_equal(r.verdict, RSPAMD_ACCEPT);
	assert_true(r.scanned);
}

static void test_hostile_json_refused(void **state)
{
	static const char *const bad[] = {
		"", "null", "[]", "\"reject\"", "{", "{\"action\":1,\"score\":1,\"required_score\":1}",
		"{\"action\":\"reject\"}",
		"{\"action\":\"reject\",\"score\":\"20\",\"required_score\":15}",
		"{\"action\":\"reject\",\"score\":1e300,\"required_score\":15}",
		"{\"action\":\"reject\",\"score\":20,\"required_score\":-1e7}",
		"{\"action\":\"reject\",\"action\":\"no action\",\"score\":1,\"required_score\":15}",
		"{\"action\":\"re\\u0000ject\",\"score\":1,\"required_score\":15}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rspamd_reply rep;
		if (parse(bad[i], &rep) == 0)
			fail_msg("accepted: %s", bad[i]);
	}
	/* nesting deeper than jansson's bound */
	size_t depth = 5000;
	char *deep = malloc(depth * 2 + 1);
	memset(deep, '[', depth);
	memset(deep + depth, ']', depth);
	deep[depth * 2] = '\0';
	struct rspamd_reply rep;
	assert_int_equal(parse(deep, &rep), -1);
	free(deep);
	/* over the size bound: refused before parsing */
	char err[64];
	assert_int_equal(rspamd_reply_parse("{}", RSPAMD_REPLY_MAX + 1, &rep, err, sizeof(err)), -1);
}

static void test_values_sanitized(void **state)
{
	struct rspamd_result r;
	result_of("{\"action\":\"rewrite subject\",\"score\":9,\"required_score\":15,"
	          "\"subject\":\"a\\r\\nBcc: x@y\\t\\u007f\",\"messages\":{\"smtp_message\":"
	          "\"no\\r\\n250 ok \\u00e9\"}}", &r);
	assert_string_equal(r.subject, "a  Bcc: x@y  ");
	result_of("{\"action\":\"reject\",\"score\":20,\"required_score\":15,"
	          "\"messages\":{\"smtp_message\":\"no\\r\\n250 ok \\u00e9\"}}", &r);
	assert_string_equal(r.text, "no  250 ok   ");
	/* symbol names that are not rspamd's are left out */
	result_of("{\"action\":\"add header\",\"score\":7,\"required_score\":15,\"symbols\":"
	          "{\"X\\r\\nBcc: y\":{\"score\":1},\"\":{},\"OK_1\":{\"score\":\"x\"},"
	          "\"BIG\":{\"score\":1e300}}}", &r);
	assert_non_null(strstr(r.headers, "OK_1(0.00)"));
	assert_non_null(strstr(r.headers, "BIG(0.00)"));
	assert_null(strstr(r.headers, "Bcc"));
	/* a cut subject does not end inside a UTF-8 sequence */
	char json[4096];
	int n = snprintf(json, sizeof(json), "{\"action\":\"rewrite subject\",\"score\":9,"
	                 "\"required_score\":15,\"subject\":\"");
	for (int i = 0; i < 600; i++)
		n += snprintf(json + n, sizeof(json) - (size_t)n, "\xc3\xa9");
	snprintf(json + n, sizeof(json) - (size_t)n, "\"}");
	result_of(json, &r);
	size_t len = strlen(r.subject);
	assert_true(len <= RSPAMD_SUBJECT_MAX && len % 2 == 0);
}

static void test_many_symbols_bounded(void **state)
{
	size_t cap = 200 * 64 + 200;
	char *json = malloc(cap);
	int n = snprintf(json, cap, "{\"action\":\"add header\",\"score\":7,\"required_score\":15,"
	                 "\"symbols\":{");
	for (int i = 0; i < 200; i++)
		n += snprintf(json + n, cap - (size_t)n, "%s\"SYMBOL_NUMBER_%03d_WITH_A_LONG_NAME\":"
		              "{\"score\":%d.5}", i ? "," : "", i, i % 10);
	snprintf(json + n, cap - (size_t)n, "}}");
	struct rspamd_result r;
	result_of(json, &r);
	free(json);
	assert_true(r.headers_len < RSPAMD_HEADERS_MAX);
	assert_int_equal(strlen(r.headers), r.headers_len);
	/* folded: no line over 78 + a symbol */
	for (const char *line = r.headers; *line;) {
		const char *nl = strchr(line, '\n');
		assert_non_null(nl);
		assert_true(nl - line < 120);
		line = nl + 1;
	}
	/* highest scores first */
	assert_non_null(strstr(r.headers, "(9.50)"));
	assert_null(strstr(r.headers, "(0.50)"));
}

static void test_error_results(void **state)
{
	struct rspamd_result r;
	rspamd_result_error(CONFIG_RSPAMD_TEMPFAIL, "timeout", &r);
	assert_int_equal(r.verdict, RSPAMD_DEFER);
	assert_int_equal(r.code, 451);
	assert_true(r.failed && !r.scanned);
	assert_string_equal(r.log, "error: timeout");
	rspamd_result_error(CONFIG_RSPAMD_ACCEPT, "timeout", &r);
	assert_int_equal(r.verdict, RSPAMD_ACCEPT);
	assert_int_equal(r.headers_len, 0);
}

static int head(const char *text, struct rspamd_http_head *h)
{
	char err[128];
	return rspamd_http_parse_head(text, strlen(text), h, err, sizeof(err));
}

static void test_http_head(void **state)
{
	struct rspamd_http_head h;
	assert_int_equal(head("HTTP/1.1 200 OK\r\nContent-Length: 16\r\nServer: rspamd", &h), 0);
	assert_int_equal(h.status, 200);
	assert_int_equal(h.content_length, 16);
	assert_int_equal(head("HTTP/1.0 208 <x> has been already learned\r\n", &h), 0);
	assert_int_equal(h.status, 208);
	assert_int_equal(h.content_length, -1);
	assert_int_equal(head("HTTP/1.1 200", &h), 0);
	static const char *const bad[] = {
		"", "HTTP/2 200 OK", "HTTP/1.1 20 OK", "HTTP/1.1 999 OK", "HTTP/1.1 200OK",
		"HTTP/1.1 200 OK\r\nContent-Length: -1", "HTTP/1.1 200 OK\r\nContent-Length: 1x",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1",
		"HTTP/1.1 200 OK\r\nContent-Length: 9999999999999",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked", "SMTP/1.1 200 OK",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (head(bad[i], &h) == 0)
			fail_msg("accepted: %s", bad[i]);
}

static void test_header_is_ours(void **state)
{
	assert_true(rspamd_header_is_ours("X-Spam", 6));
	assert_true(rspamd_header_is_ours("x-spamd-result", 14));
	assert_true(rspamd_header_is_ours("X-Rspamd-Score", 14));
	assert_false(rspamd_header_is_ours("X-Spammy", 8));
	assert_false(rspamd_header_is_ours("X-Rspamd-", 9));
	assert_false(rspamd_header_is_ours("Subject", 7));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_actions),
		cmocka_unit_test(test_hostile_json_refused),
		cmocka_unit_test(test_values_sanitized),
		cmocka_unit_test(test_many_symbols_bounded),
		cmocka_unit_test(test_error_results),
		cmocka_unit_test(test_http_head),
		cmocka_unit_test(test_header_is_ours),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
