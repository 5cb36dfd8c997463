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
	assert_int_equal(cfg->listen[SVC_SMTP].n, 0);
	config_free(cfg);
}

static void test_embedded_default_is_valid(void **state)
{
	(void)state;
	struct config *cfg = load_ok(config_default_text);
	assert_string_equal(cfg->data_dir, "./var");
	assert_int_equal(cfg->listen[SVC_SMTP].n, 2);
	assert_int_equal(cfg->listen[SVC_SMTP].addrs[0].port, 2525);
	assert_string_equal(cfg->listen[SVC_SMTP].addrs[1].host, "::1");
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
	assert_int_equal(cfg->listen[SVC_SMTP].n, 2);
	assert_string_equal(cfg->listen[SVC_SMTP].addrs[1].host, "::");
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
	expect_error("listen = { pop2 = [\"1.2.3.4:109\"]; };\n", "unknown key 'pop2'");
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

/* "unix:PATH": an absolute path that fits sun_path, socket mode 0660 by default. */
static void test_listen_parse_unix(void **state)
{
	(void)state;
	struct listen_addr la;
	char path[200];
	assert_int_equal(config_parse_listen("unix:/run/postern/lmtp.sock", &la), 0);
	assert_string_equal(la.path, "/run/postern/lmtp.sock");
	assert_string_equal(la.host, "");
	assert_int_equal(la.port, 0);
	assert_int_equal(la.mode, 0660);
	assert_string_equal(la.text, "unix:/run/postern/lmtp.sock");
	assert_int_equal(config_parse_listen("unix:relative.sock", &la), -1);
	assert_int_equal(config_parse_listen("unix:", &la), -1);
	assert_int_equal(config_parse_listen("unix:127.0.0.1:24", &la), -1);
	/* sun_path holds 107 octets and the NUL */
	snprintf(path, sizeof(path), "unix:/%0106d", 0);
	assert_int_equal(config_parse_listen(path, &la), 0);
	assert_int_equal(strlen(la.path), 107);
	snprintf(path, sizeof(path), "unix:/%0107d", 0);
	assert_int_equal(config_parse_listen(path, &la), -1);
}

/* LMTP: its keys, its sockets made as lmtp.socket_* says, loopback or a
 * socket unless lmtp.allow_remote names networks, and a policy that admits
 * only those. */
static void test_lmtp(void **state)
{
	(void)state;
	struct config *cfg = load_ok("");
	assert_int_equal(cfg->lmtp.max_message_size, 50 * 1024 * 1024);
	assert_int_equal(cfg->listen[SVC_LMTP].n, 0);
	assert_true(cfg->policy[SVC_LMTP].local_only);
	assert_false(cfg->policy[SVC_SMTP].local_only);
	assert_int_equal(cfg->policy[SVC_LMTP].nallow, 0);
	config_free(cfg);
	cfg = load_ok("listen = { lmtp = [\"127.0.0.1:24\", \"[::1]:24\", \"unix:/run/p/l.sock\"]; };\n"
	              "lmtp = { max_message_size = \"10M\"; socket_owner = \"postfix\";\n"
	              "  socket_group = \"mail\"; socket_mode = \"0600\"; };\n");
	assert_int_equal(cfg->lmtp.max_message_size, 10 * 1024 * 1024);
	assert_int_equal(cfg->listen[SVC_LMTP].n, 3);
	const struct listen_addr *sock = &cfg->listen[SVC_LMTP].addrs[2];
	assert_string_equal(sock->owner, "postfix");
	assert_string_equal(sock->group, "mail");
	assert_int_equal(sock->mode, 0600);
	assert_string_equal(cfg->listen[SVC_LMTP].addrs[0].owner, "");   /* TCP: none of that */
	config_free(cfg);
	cfg = load_ok("listen = { lmtp = [\"0.0.0.0:24\"]; };\n"
	              "lmtp = { allow_remote = [\"10.1.0.0/16\", \"2001:db8::/32\"]; };\n");
	assert_int_equal(cfg->policy[SVC_LMTP].nallow, 2);
	assert_ptr_equal(cfg->policy[SVC_LMTP].allow, cfg->lmtp.allow_remote);
	config_free(cfg);
	expect_error("listen = {\n lmtp = [\"127.0.0.1:24\", \"192.0.2.1:24\"]; };\n",
	             "t.conf:2: listen.lmtp \"192.0.2.1:24\": LMTP has no authentication");
	expect_error("listen = { lmtp = [\"0.0.0.0:24\"]; };\n", "lmtp.allow_remote");
	expect_error("listen = { smtp = [\"unix:/run/s.sock\"]; };\n",
	             "listen.smtp cannot be a UNIX socket");
	expect_error("listen = { imap = [\"unix:/run/s.sock\"]; };\n",
	             "listen.imap cannot be a UNIX socket");
	cfg = load_ok("lmtp = { socket_mode = \"660\"; };\n");      /* octal without the 0 */
	assert_int_equal(cfg->lmtp.socket_mode, 0660);
	config_free(cfg);
}

/* services.<name>: the slowloris rule (0 default, -1 off, a shorter window)
 * and the PROXY protocol, which is refused without trusted_proxies. */
/* rate_limit: users have generous limits by default, clients none; each
 * key is bounded. */
static void test_rate_limit(void **state)
{
	(void)state;
	struct config *cfg = load_ok("");
	assert_int_equal(cfg->rate_limit.user.limit[SEND_MESSAGES][SEND_PER_HOUR], 200);
	assert_int_equal(cfg->rate_limit.user.limit[SEND_MESSAGES][SEND_PER_DAY], 1000);
	assert_int_equal(cfg->rate_limit.user.limit[SEND_MESSAGES][SEND_PER_MINUTE], 0);
	assert_int_equal(cfg->rate_limit.user.limit[SEND_RECIPIENTS][SEND_PER_DAY], 5000);
	assert_int_equal(cfg->rate_limit.client.limit[SEND_MESSAGES][SEND_PER_HOUR], 0);
	config_free(cfg);
	cfg = load_ok("rate_limit = { user = { messages_per_minute = 3; messages_per_day = 0; };"
	              " client = { recipients_per_hour = 50; }; max_tracked = 500; };");
	assert_int_equal(cfg->rate_limit.user.limit[SEND_MESSAGES][SEND_PER_MINUTE], 3);
	assert_int_equal(cfg->rate_limit.user.limit[SEND_MESSAGES][SEND_PER_DAY], 0);
	assert_int_equal(cfg->rate_limit.user.limit[SEND_MESSAGES][SEND_PER_HOUR], 200);
	assert_int_equal(cfg->rate_limit.client.limit[SEND_RECIPIENTS][SEND_PER_HOUR], 50);
	assert_int_equal(cfg->rate_limit.max_tracked, 500);
	config_free(cfg);
	expect_error("rate_limit = { user = { messages_per_hour = -1; }; };", "t.conf:1");
	expect_error("rate_limit = { client = { messages_per_week = 1; }; };", "messages_per_week");
	expect_error("rate_limit = { max_tracked = 10; };", "max_tracked");
}

static void test_min_rate_and_proxy(void **state)
{
	(void)state;
	struct config *cfg = load_ok("services = {\n"
	    "  smtp = { limits = { min_bytes_per_minute = 0; }; };\n"
	    "  imap = { limits = { min_bytes_per_minute = -1; }; };\n"
	    "  pop3 = { limits = { min_bytes_per_minute = 300; min_rate_window = \"2s\"; };\n"
	    "           proxy_protocol = true; trusted_proxies = [\"10.0.0.0/8\", \"::1\"];\n"
	    "           proxy_protocol_timeout = \"1s\"; };\n"
	    "};\n");
	assert_int_equal(cfg->policy[SVC_SMTP].min_bytes, 1024);
	assert_int_equal(cfg->policy[SVC_SMTP].min_rate_window_ms, 60000);
	assert_int_equal(cfg->policy[SVC_IMAP].min_bytes, 0);
	assert_int_equal(cfg->policy[SVC_POP3].min_bytes, 300);
	assert_int_equal(cfg->policy[SVC_POP3].min_rate_window_ms, 2000);
	assert_false(cfg->policy[SVC_SMTP].proxy_protocol);
	assert_int_equal(cfg->policy[SVC_SMTP].proxy_timeout_ms, 5000);
	assert_true(cfg->policy[SVC_POP3].proxy_protocol);
	assert_int_equal(cfg->policy[SVC_POP3].ntrusted_proxies, 2);
	assert_int_equal(cfg->policy[SVC_POP3].proxy_timeout_ms, 1000);
	config_free(cfg);
	expect_error("services = { smtp = {\n proxy_protocol = true; }; };\n",
	             "t.conf:2: 'proxy_protocol' needs 'trusted_proxies'");
	expect_error("services = { smtp = { proxy_protocol = true; trusted_proxies = [\"x\"]; }; };\n",
	             "bad network");
	expect_error("services = { smtp = { limits = { min_bytes_per_minute = -2; }; }; };\n",
	             "min_bytes_per_minute");
}

static void test_lmtp_errors(void **state)
{
	(void)state;
	expect_error("lmtp = { socket_mode = \"0888\"; };\n", "'socket_mode' must be an octal mode");
	expect_error("lmtp = { socket_mode = \"01777\"; };\n", "'socket_mode' must be an octal mode");
	expect_error("lmtp = { socket_mode = \"\"; };\n", "'socket_mode' must be an octal mode");
	expect_error("lmtp = { socket_mode = 660; };\n", "'socket_mode' must be a string");
	expect_error("lmtp = { max_message_size = \"100\"; };\n", "out of range");
	expect_error("lmtp = { allow_remote = [\"10.0.0.0/33\"]; };\n", "bad network");
	expect_error("lmtp = { relay = true; };\n", "unknown key 'relay'");
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

static void test_units_format(void **state)
{
	(void)state;
	char t[32];
	units_format_duration(300000, t, sizeof(t));
	assert_string_equal(t, "5m");
	units_format_duration(86400000, t, sizeof(t));
	assert_string_equal(t, "1d");
	units_format_duration(1500, t, sizeof(t));
	assert_string_equal(t, "1500ms");
	units_format_duration(0, t, sizeof(t));
	assert_string_equal(t, "0ms");
	units_format_size(65536, t, sizeof(t));
	assert_string_equal(t, "64K");
	units_format_size(25ULL << 20, t, sizeof(t));
	assert_string_equal(t, "25M");
	units_format_size(1000, t, sizeof(t));
	assert_string_equal(t, "1000");
	/* what is printed reads back as the same value */
	uint64_t v;
	units_format_duration(90000, t, sizeof(t));
	assert_int_equal(units_parse_duration(t, &v), 0);
	assert_int_equal(v, 90000);
}

/* Each service's policy: built-in defaults where a global key is left out. */
static void test_service_policy_defaults(void **state)
{
	(void)state;
	struct config *cfg = load_ok("");
	const struct service_policy *smtp = &cfg->policy[SVC_SMTP], *imap = &cfg->policy[SVC_IMAP];
	assert_int_equal(smtp->command_ms, 300000);
	assert_int_equal(smtp->idle_ms, 300000);
	assert_int_equal(imap->idle_ms, 30 * 60 * 1000);            /* imap.autologout */
	assert_int_equal(smtp->login_ms, 180000);
	assert_int_equal(imap->login_ms, 180000);
	assert_int_equal(smtp->session_ms, 3600000);
	assert_int_equal(imap->session_ms, 24 * 3600000);            /* IDLE clients stay */
	assert_int_equal(smtp->errors, 10);
	assert_int_equal(imap->errors, 20);
	assert_int_equal(smtp->write_ms, cfg->timeouts.data_ms);
	assert_int_equal(smtp->output_max, 64 * 1024);
	assert_int_equal(imap->output_max, 1024 * 1024);
	/* port 25 may use every slot; every other service half of them */
	assert_int_equal(smtp->connections, 2000);
	assert_int_equal(imap->connections, 1000);
	assert_int_equal(cfg->policy[SVC_SUBMISSIONS].connections, 1000);
	assert_int_equal(smtp->connections_per_ip, 20);
	assert_int_equal(cfg->policy[SVC_SUBMISSION].connections_per_ip, 20);
	assert_int_equal(imap->connections_per_ip, 100);
	assert_int_equal(cfg->policy[SVC_IMAPS].connections_per_ip, 100);
	/* POP3: RFC 1939 3's autologout of 10 minutes, the global limits otherwise */
	const struct service_policy *pop3 = &cfg->policy[SVC_POP3];
	assert_int_equal(pop3->idle_ms, 10 * 60 * 1000);
	assert_int_equal(cfg->policy[SVC_POP3S].idle_ms, 10 * 60 * 1000);
	assert_int_equal(pop3->session_ms, 3600000);
	assert_int_equal(pop3->errors, 10);
	assert_int_equal(pop3->output_max, 64 * 1024);
	assert_int_equal(pop3->connections, 1000);
	assert_int_equal(pop3->connections_per_ip, 20);
	assert_int_equal(cfg->pop3.session_memory, 256 * 1024);
	assert_false(cfg->pop3.login_without_tls);
	assert_int_equal(cfg->auth.pop3.max_attempts_per_username, 5);
	config_free(cfg);
}

/* The per-pair limit and the known networks (auth/lockout.h). */
static void test_login_lockout_keys(void **state)
{
	(void)state;
	struct config *cfg = load_ok("");
	assert_int_equal(cfg->auth.smtp.max_attempts_per_client_user, 5);
	assert_int_equal(cfg->auth.known_networks.remember_ms, 30LL * 86400 * 1000);
	assert_int_equal(cfg->auth.known_networks.max_per_user, 32);
	assert_int_equal(cfg->auth.known_networks.ipv4_prefix, 24);
	assert_int_equal(cfg->auth.known_networks.ipv6_prefix, 64);
	config_free(cfg);
	cfg = load_ok("auth = { imap = { max_attempts_per_client_user = 3; };\n"
	              "  known_networks = { remember = \"7d\"; max_per_user = 4; ipv4_prefix = 32;\n"
	              "                     ipv6_prefix = 48; }; };\n");
	assert_int_equal(cfg->auth.imap.max_attempts_per_client_user, 3);
	assert_int_equal(cfg->auth.smtp.max_attempts_per_client_user, 5);
	assert_int_equal(cfg->auth.known_networks.remember_ms, 7LL * 86400 * 1000);
	assert_int_equal(cfg->auth.known_networks.max_per_user, 4);
	assert_int_equal(cfg->auth.known_networks.ipv4_prefix, 32);
	assert_int_equal(cfg->auth.known_networks.ipv6_prefix, 48);
	config_free(cfg);
	expect_error("auth = { known_networks = { ipv4_prefix = 33; }; };\n", "out of range");
	expect_error("auth = { known_networks = { ipv6_prefix = 8; }; };\n", "out of range");
	expect_error("auth = { smtp = { max_attempts_per_client_user = 0; }; };\n", "out of range");
	expect_error("auth = { known_networks = { networks = 3; }; };\n", "unknown key 'networks'");
}

static void test_pop3_keys(void **state)
{
	(void)state;
	struct config *cfg = load_ok("pop3 = { session_memory_limit = \"1M\"; login_without_tls = true;\n"
	                             "         autologout = \"20m\"; };\n"
	                             "auth = { pop3 = { max_attempts_per_ip = 3; ip_window = \"2d\"; }; };\n"
	                             "services = { pop3s = { timeouts = { idle = \"15m\"; }; }; };\n");
	assert_int_equal(cfg->pop3.session_memory, 1024 * 1024);
	assert_true(cfg->pop3.login_without_tls);
	assert_int_equal(cfg->policy[SVC_POP3].idle_ms, 20 * 60 * 1000);
	assert_int_equal(cfg->policy[SVC_POP3S].idle_ms, 15 * 60 * 1000);
	assert_int_equal(cfg->auth.pop3.max_attempts_per_ip, 3);
	assert_int_equal(cfg->auth.imap.max_attempts_per_ip, 10);
	/* failures are kept for the longest window of any protocol */
	assert_int_equal(config_auth_longest_window(cfg), 2 * 86400 * 1000);
	config_free(cfg);
	expect_error("pop3 = { autologout = \"5m\"; };", "'autologout' out of range");
	expect_error("pop3 = { session_memory_limit = \"1K\"; };", "'session_memory_limit' out of range");
	expect_error("pop3 = { apop = true; };", "unknown key 'apop'");
	expect_error("auth = { pop3 = { max_attempts = 1; }; };", "unknown key 'max_attempts'");
}

static void test_dmarc_keys(void **state)
{
	(void)state;
	struct config *cfg = load_ok("");
	assert_null(cfg->dmarc.psl_file);
	assert_int_equal(cfg->dmarc.enforcement, CONFIG_DMARC_RELAXED);
	config_free(cfg);
	cfg = load_ok("dmarc = { psl_file = \"/var/lib/postern/psl.dat\"; enforcement = \"strict\"; };");
	assert_string_equal(cfg->dmarc.psl_file, "/var/lib/postern/psl.dat");
	assert_int_equal(cfg->dmarc.enforcement, CONFIG_DMARC_STRICT);
	assert_string_equal(config_dmarc_enforcement_name(cfg->dmarc.enforcement), "strict");
	config_free(cfg);
	cfg = load_ok("dmarc = { enforcement = \"none\"; };");
	assert_int_equal(cfg->dmarc.enforcement, CONFIG_DMARC_NONE);
	config_free(cfg);
	expect_error("dmarc = { enforcement = \"monitor\"; };", "one of none, relaxed, strict");
	/* aggregate reports: off unless asked for; bounded interval and rate */
	cfg = load_ok("dmarc = { enforcement = \"none\"; };");
	assert_false(cfg->dmarc.reports);
	assert_int_equal(cfg->dmarc.report_interval_ms, 86400ULL * 1000);
	assert_int_equal(cfg->dmarc.report_max_per_day, 1000);
	config_free(cfg);
	cfg = load_ok("dmarc = { enforcement = \"strict\"; reports = true; report_interval = \"6h\";"
	              " report_max_per_day = 20; };");
	assert_true(cfg->dmarc.reports);
	assert_int_equal(cfg->dmarc.enforcement, CONFIG_DMARC_STRICT);
	assert_int_equal(cfg->dmarc.report_interval_ms, 6ULL * 3600 * 1000);
	assert_int_equal(cfg->dmarc.report_max_per_day, 20);
	config_free(cfg);
	expect_error("dmarc = { report_interval = \"1m\"; };", "report_interval");
	expect_error("dmarc = { report_max_per_day = 0; };", "report_max_per_day");
	expect_error("dmarc = { reports = \"yes\"; };", "reports");
	expect_error("dmarc = { psl_file = \"psl.dat\"; };", "absolute path");
	expect_error("dmarc = { pct = 5; };", "unknown key 'pct'");
}

/* A global key written in the file is every service's default, as before. */
/* clamav = { ... }: off unless the group is written; Debian's socket */
static void test_clamav_keys(void **state)
{
	(void)state;
	struct config *cfg = load_ok("");
	assert_false(cfg->clamav.enabled);
	assert_string_equal(cfg->clamav.address.path, "/run/clamav/clamd.ctl");
	assert_int_equal(cfg->clamav.timeout_ms, 30000);
	assert_false(cfg->clamav.on_error_accept);
	assert_int_equal(cfg->clamav.max_size, 25ULL << 20);
	config_free(cfg);
	cfg = load_ok("clamav = { };");
	assert_true(cfg->clamav.enabled);
	config_free(cfg);
	cfg = load_ok("clamav = { enabled = false; address = \"127.0.0.1:3310\"; timeout = \"5s\";"
	              " on_error = \"accept\"; max_size = \"100M\"; };");
	assert_false(cfg->clamav.enabled);
	assert_string_equal(cfg->clamav.address.host, "127.0.0.1");
	assert_int_equal(cfg->clamav.address.port, 3310);
	assert_int_equal(cfg->clamav.timeout_ms, 5000);
	assert_true(cfg->clamav.on_error_accept);
	assert_int_equal(cfg->clamav.max_size, 100ULL << 20);
	config_free(cfg);
	expect_error("clamav = { on_error = \"reject\"; };", "\"accept\" or \"tempfail\"");
	expect_error("clamav = { address = \"localhost:3310\"; };", "clamav.address");
	expect_error("clamav = { address = \"unix:clamd.ctl\"; };", "clamav.address");
	expect_error("clamav = { timeout = \"0s\"; };", "timeout");
	expect_error("clamav = { max_size = \"5G\"; };", "max_size");
	expect_error("clamav = { scan_mail = true; };", "unknown key 'scan_mail'");
}

static void test_service_policy_global_keys_written(void **state)
{
	(void)state;
	struct config *cfg = load_ok("timeouts = { session = \"6s\"; command = \"3s\"; };\n"
	                             "limits = { errors = 4; connections = 9; connections_per_ip = 7; };\n"
	                             "imap = { autologout = \"45m\"; session_memory_limit = \"256K\"; };\n");
	for (int i = 0; i < SVC_COUNT; i++) {
		const struct service_policy *p = &cfg->policy[i];
		assert_int_equal(p->session_ms, 6000);
		assert_int_equal(p->command_ms, 3000);
		assert_int_equal(p->errors, 4);
		assert_int_equal(p->connections_per_ip, i == SVC_SMTP ? 7 : 5);  /* cap: half of 9 */
		assert_true(p->connections <= 9);
	}
	assert_int_equal(cfg->policy[SVC_IMAP].idle_ms, 45 * 60 * 1000);
	assert_int_equal(cfg->policy[SVC_IMAP].output_max, 256 * 1024 / 4 + 65536);
	assert_int_equal(cfg->policy[SVC_IMAP].connections, 5);
	config_free(cfg);
}

static void test_service_policy_overrides(void **state)
{
	(void)state;
	struct config *cfg = load_ok(
		"services = {\n"
		"  imap = { timeouts = { idle = \"2h\"; login = \"1m\"; session = \"3d\"; };\n"
		"           limits = { connections = 5000; connections_per_ip = 3; errors = 2;\n"
		"                      output = \"8K\"; }; };\n"
		"  smtp = { timeouts = { command = \"1m\"; data = \"2m\"; write = \"30s\"; }; };\n"
		"};\n");
	const struct service_policy *imap = &cfg->policy[SVC_IMAP], *smtp = &cfg->policy[SVC_SMTP];
	assert_int_equal(imap->idle_ms, 2 * 3600000);
	assert_int_equal(imap->login_ms, 60000);
	assert_int_equal(imap->session_ms, 3ULL * 24 * 3600000);
	assert_int_equal(imap->connections, 2000);      /* never past limits.connections */
	assert_int_equal(imap->connections_per_ip, 3);
	assert_int_equal(imap->errors, 2);
	assert_int_equal(imap->output_max, 8192);
	assert_int_equal(smtp->command_ms, 60000);
	assert_int_equal(smtp->data_ms, 120000);
	assert_int_equal(smtp->write_ms, 30000);
	/* the others keep theirs */
	assert_int_equal(cfg->policy[SVC_IMAPS].idle_ms, 30 * 60 * 1000);
	assert_int_equal(cfg->policy[SVC_SUBMISSION].command_ms, 300000);
	config_free(cfg);
}

static void test_service_policy_errors(void **state)
{
	(void)state;
	expect_error("services = { pop5 = { }; };", "t.conf:1: unknown key 'pop5'");
	expect_error("services = { imap = { timeouts = { idle = \"0s\"; }; }; };", "'idle' out of range");
	expect_error("services = { smtp = { limits = { connections = 0; }; }; };",
	             "'connections' out of range");
	expect_error("services = { smtp = { limits = { output = \"1K\"; }; }; };", "'output' out of range");
	expect_error("services = { smtp = { timeouts = { nap = \"1s\"; }; }; };", "unknown key 'nap'");
	expect_error("services = { imaps = { timeouts = { login = 5; }; }; };", "'login' must be a duration");
}

/* ---- the credentials cache ------------------------------------------------------------- */

static void test_auth_cache(void **state)
{
	(void)state;
	struct config *cfg = load_ok("");
	assert_int_equal(cfg->auth.cache_ttl_ms, 5 * 60 * 1000);
	assert_int_equal(cfg->auth.cache_size, 10000);
	config_free(cfg);
	cfg = load_ok("auth = { cache_ttl = \"30s\"; cache_size = 50; imap = { delay_base = \"0\"; }; };");
	assert_int_equal(cfg->auth.cache_ttl_ms, 30000);
	assert_int_equal(cfg->auth.cache_size, 50);
	config_free(cfg);
	cfg = load_ok("auth = { cache_ttl = \"0\"; };");
	assert_int_equal(cfg->auth.cache_ttl_ms, 0);
	config_free(cfg);
	expect_error("auth = { cache_ttl = \"2d\"; };", "'cache_ttl' out of range");
	expect_error("auth = { cache_ttl = 300; };", "'cache_ttl' must be a duration");
	expect_error("auth = { cache_size = 0; };", "'cache_size' out of range");
}

/* ---- postmaster -------------------------------------------------------------------------- */

static void test_postmaster_unset_is_empty(void **state)
{
	(void)state;
	struct config *cfg = load_ok("hostname = \"mx.example.org\";");
	assert_int_equal(cfg->npostmaster, 0);
	assert_null(cfg->postmaster);
	config_free(cfg);
}

static void test_postmaster_one_or_a_list(void **state)
{
	(void)state;
	struct config *cfg = load_ok("postmaster = \"Admin@Example.ORG\";");
	assert_int_equal(cfg->npostmaster, 1);
	assert_string_equal(cfg->postmaster[0], "admin@example.org");
	config_free(cfg);
	cfg = load_ok("postmaster = [\"alice@example.org\", \"noc+mail@remote.example\"];");
	assert_int_equal(cfg->npostmaster, 2);
	assert_string_equal(cfg->postmaster[1], "noc+mail@remote.example");
	config_free(cfg);
	cfg = load_ok("postmaster = (\"ops@example.org\");");
	assert_int_equal(cfg->npostmaster, 1);
	config_free(cfg);
}

static void test_postmaster_errors(void **state)
{
	(void)state;
	expect_error("\npostmaster = \"postmaster\";", "t.conf:2: 'postmaster': \"postmaster\" is not an address");
	expect_error("postmaster = [\"a@example.org\",\n \"b@\"];", "t.conf:2: 'postmaster': \"b@\"");
	expect_error("postmaster = [];", "t.conf:1: 'postmaster' lists no address");
	expect_error("postmaster = 5;", "'postmaster' must be a string or a list of strings");
	expect_error("postmaster = [1, 2];", "'postmaster' must list strings");
	expect_error("postmaster = \"a b@example.org\";", "is not an address");
}

static void test_address_valid(void **state)
{
	(void)state;
	static const char *const good[] = {
		"a@b", "postmaster@localhost", "first.last@example.org", "x+tag@sub.example.org",
		"o'brien@example.ie", "{weird}~!#$%&*=?^`|/@x-y.example",
	};
	static const char *const bad[] = {
		"", "@", "a@", "a@b@example.org", "@example.org", "postmaster", ".a@example.org", "a.@example.org",
		"a..b@example.org", "a b@example.org", "\"a\"@example.org", "a@-example.org",
		"a@example-.org", "a@example..org", "a@.example.org", "a@example.org.", "a@[127.0.0.1]",
		"a@ex_ample.org", "caf\xc3\xa9@example.org", "a@example.org\n", "a\tb@example.org",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@example.org", /* 65 */
		"a@bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.org", /* 64-octet label */
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!config_address_valid(good[i]))
			fail_msg("'%s' should be valid", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (config_address_valid(bad[i]))
			fail_msg("'%s' should be invalid", bad[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_embedded_default_is_valid),
		cmocka_unit_test(test_full_example),
		cmocka_unit_test(test_errors_name_file_and_line),
		cmocka_unit_test(test_login_lockout_keys),
		cmocka_unit_test(test_pop3_keys),
		cmocka_unit_test(test_dmarc_keys),
		cmocka_unit_test(test_clamav_keys),
		cmocka_unit_test(test_file_and_include),
		cmocka_unit_test(test_listen_parse),
		cmocka_unit_test(test_listen_parse_unix),
		cmocka_unit_test(test_lmtp),
		cmocka_unit_test(test_lmtp_errors),
		cmocka_unit_test(test_units),
		cmocka_unit_test(test_units_format),
		cmocka_unit_test(test_service_policy_defaults),
		cmocka_unit_test(test_service_policy_global_keys_written),
		cmocka_unit_test(test_service_policy_overrides),
		cmocka_unit_test(test_service_policy_errors),
		cmocka_unit_test(test_auth_cache),
		cmocka_unit_test(test_postmaster_unset_is_empty),
		cmocka_unit_test(test_postmaster_one_or_a_list),
		cmocka_unit_test(test_postmaster_errors),
		cmocka_unit_test(test_address_valid),
		cmocka_unit_test(test_min_rate_and_proxy),
		cmocka_unit_test(test_rate_limit),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
