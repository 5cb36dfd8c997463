/* Config loading and validation: every error names FILE:LINE. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/ssl.h>

#include "core/config.h"
#include "core/units.h"

static struct config *load_ok(const char *text)
{
	struct config *cfg = NULL;
	char err[512] = "";
	int rc = config_load_string(text, "t.conf", &cfg, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "unexpected error: %s\n", err);
	assert_int_equal(rc, 0);
	assert_non_null(cfg);
	return cfg;
}

static void expect_error(const char *text, const char *expected)
{
	struct config *cfg = NULL;
	char err[512] = "";
	assert_int_equal(config_load_string(text, "t.conf", &cfg, err, sizeof(err)), -1);
	assert_null(cfg);
	if (strstr(err, expected) == NULL)
		fail_msg("error '%s' does not contain '%s'", err, expected);
}

static void test_defaults(void **state)
{
	(void)state;
	struct config *cfg = load_ok("");
	assert_string_equal(cfg->data_dir, "/var/lib/postern");
	assert_int_equal(cfg->limits.message_size, 25 * 1024 * 1024);
	assert_int_equal(cfg->limits.recipients, 100);
	assert_int_equal(cfg->tls.min_version, TLS1_2_VERSION);
	assert_int_equal(cfg->timeouts.command_ms, 300000);
	assert_int_equal(cfg->listen_smtp.n, 0);
	config_free(cfg);
}

static void test_embedded_default_is_valid(void **state)
{
	(void)state;
	struct config *cfg = load_ok(config_default_text);
	assert_string_equal(cfg->data_dir, "./var");
	assert_int_equal(cfg->listen_smtp.n, 2);
	assert_int_equal(cfg->listen_smtp.addrs[0].port, 2525);
	assert_string_equal(cfg->listen_smtp.addrs[1].host, "::1");
	config_free(cfg);
}

static void test_full_example(void **state)
{
	(void)state;
	struct config *cfg = load_ok(
		"hostname = \"mail.example.org\";\n"
		"data_dir = \"/srv/p\";\n"
		"listen = { smtp = [\"0.0.0.0:25\", \"[::]:25\"]; };\n"
		"tls = { cert = \"/c.pem\"; key = \"/k.pem\"; min_version = \"1.3\"; };\n"
		"limits = { message_size = \"10M\"; recipients = 5; connections = 10;"
		" connections_per_ip = 2; errors = 3; };\n"
		"timeouts = { command = \"30s\"; data = \"1m\"; session = \"2h\"; shutdown = \"500ms\"; };\n"
		"log = { level = \"debug\"; file = \"/tmp/x.log\"; };\n");
	assert_string_equal(cfg->hostname, "mail.example.org");
	assert_int_equal(cfg->listen_smtp.n, 2);
	assert_string_equal(cfg->listen_smtp.addrs[1].host, "::");
	assert_int_equal(cfg->tls.min_version, TLS1_3_VERSION);
	assert_int_equal(cfg->limits.message_size, 10 * 1024 * 1024);
	assert_int_equal(cfg->limits.recipients, 5);
	assert_int_equal(cfg->limits.connections_per_ip, 2);
	assert_int_equal(cfg->timeouts.command_ms, 30000);
	assert_int_equal(cfg->timeouts.session_ms, 7200000);
	assert_int_equal(cfg->timeouts.shutdown_ms, 500);
	assert_int_equal(cfg->log.level, LOG_DEBUG);
	config_free(cfg);
}

static void test_errors_name_file_and_line(void **state)
{
	(void)state;
	expect_error("hostname = \"a\";\nbogus = 1;\n", "t.conf:2: unknown key 'bogus'");
	expect_error("limits = {\n  recipients = \"many\";\n};\n", "t.conf:2: 'recipients' must be an integer");
	expect_error("limits = {\n\n  recipients = 0;\n};\n", "t.conf:3: 'recipients' out of range");
	expect_error("limits = { message_size = \"25Q\"; };\n", "t.conf:1: 'message_size': malformed size");
	expect_error("timeouts = { command = \"soon\"; };\n", "malformed duration");
	expect_error("listen = { smtp = [\"localhost:25\"]; };\n", "t.conf:1: bad listen address");
	expect_error("listen = { smtp = [\"1.2.3.4:0\"]; };\n", "bad listen address");
	expect_error("listen = { smtp = [\"[::1:25\"]; };\n", "bad listen address");
	expect_error("listen = { pop3 = [\"1.2.3.4:110\"]; };\n", "unknown key 'pop3'");
	expect_error("tls = { min_version = \"1.1\"; };\n", "'min_version' must be");
	expect_error("tls = { cert = \"/c\"; };\n", "needs both 'cert' and 'key'");
	expect_error("log = { level = \"loud\"; };\n", "'level' must be one of");
	expect_error("hostname = ;\n", "t.conf:1:");           /* syntax error */
	expect_error("hostname = \"\";\n", "'hostname' must be");
	expect_error("listen = [1];\n", "'listen' must be a group");
}

static void test_file_and_include(void **state)
{
	(void)state;
	char dir[] = "/tmp/postern-cfg-XXXXXX";
	char main_path[256], inc_path[256], err[512];
	struct config *cfg = NULL;
	assert_non_null(mkdtemp(dir));
	snprintf(main_path, sizeof(main_path), "%s/main.conf", dir);
	snprintf(inc_path, sizeof(inc_path), "%s/limits.conf", dir);
	FILE *f = fopen(inc_path, "w");
	fputs("# included\nlimits = {\n  errors = 9999;\n};\n", f);
	fclose(f);
	f = fopen(main_path, "w");
	fputs("hostname = \"h\";\n@include \"limits.conf\"\n", f);
	fclose(f);
	assert_int_equal(config_load_file(main_path, &cfg, err, sizeof(err)), -1);
	/* the error names the included file and its line */
	if (strstr(err, "limits.conf:3: 'errors' out of range") == NULL)
		fail_msg("unexpected error: %s", err);
	assert_int_equal(config_load_file("/nonexistent/p.conf", &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/p.conf"));
	unlink(inc_path);
	unlink(main_path);
	rmdir(dir);
}

static void test_listen_parse(void **state)
{
	(void)state;
	struct listen_addr la;
	assert_int_equal(config_parse_listen("127.0.0.1:2525", &la), 0);
	assert_string_equal(la.host, "127.0.0.1");
	assert_int_equal(la.port, 2525);
	assert_int_equal(config_parse_listen("[::1]:25", &la), 0);
	assert_string_equal(la.host, "::1");
	assert_int_equal(config_parse_listen("[::1]25", &la), -1);
	assert_int_equal(config_parse_listen("1.2.3.4:", &la), -1);
	assert_int_equal(config_parse_listen("1.2.3.4:65536", &la), -1);
	assert_int_equal(config_parse_listen("1.2.3.4:25x", &la), -1);
	assert_int_equal(config_parse_listen("example.org:25", &la), -1);
}

static void test_units(void **state)
{
	(void)state;
	uint64_t v;
	assert_int_equal(units_parse_size("25M", &v), 0);
	assert_int_equal(v, 25ULL << 20);
	assert_int_equal(units_parse_size("512k", &v), 0);
	assert_int_equal(v, 512ULL << 10);
	assert_int_equal(units_parse_size("1GiB", &v), 0);
	assert_int_equal(v, 1ULL << 30);
	assert_int_equal(units_parse_size("100", &v), 0);
	assert_int_equal(v, 100);
	assert_int_equal(units_parse_size("", &v), -1);
	assert_int_equal(units_parse_size("M", &v), -1);
	assert_int_equal(units_parse_size("-1M", &v), -1);
	assert_int_equal(units_parse_size("99999999999999999999", &v), -1);
	assert_int_equal(units_parse_size("99999999999999G", &v), -1);
	assert_int_equal(units_parse_duration("15m", &v), 0);
	assert_int_equal(v, 900000);
	assert_int_equal(units_parse_duration("3s", &v), 0);
	assert_int_equal(v, 3000);
	assert_int_equal(units_parse_duration("250ms", &v), 0);
	assert_int_equal(v, 250);
	assert_int_equal(units_parse_duration("2d", &v), 0);
	assert_int_equal(v, 172800000);
	assert_int_equal(units_parse_duration("7", &v), 0);
	assert_int_equal(v, 7000);
	assert_int_equal(units_parse_duration("1x", &v), -1);
	assert_int_equal(units_parse_duration("1 s", &v), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_embedded_default_is_valid),
		cmocka_unit_test(test_full_example),
		cmocka_unit_test(test_errors_name_file_and_line),
		cmocka_unit_test(test_file_and_include),
		cmocka_unit_test(test_listen_parse),
		cmocka_unit_test(test_units),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
