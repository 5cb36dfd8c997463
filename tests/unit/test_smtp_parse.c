/* Unit tests for src/smtp/smtp_parse.c: command split, MAIL/RCPT paths and
 * parameters, HELO, BDAT, SIZE and UTF-8 validation. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "smtp/smtp_parse.h"

/* ---- helpers ---- */

/* Fills buf with n copies of c and a NUL; returns buf. */
static char *repeat(char *buf, char c, size_t n)
{
	memset(buf, c, n);
	buf[n] = '\0';
	return buf;
}

/* Parses a command held in a private buffer whose byte after the line is
 * not NUL, to check that the parser terminates it itself. */
static enum smtp_parse_err parse_cmd(const char *line, size_t len, char *buf,
                                     struct smtp_cmd *cmd)
{
	memcpy(buf, line, len);
	buf[len] = 'Z';
	return smtp_parse_command(buf, len, cmd);
}

static enum smtp_parse_err parse_cmd_str(const char *line, char *buf, struct smtp_cmd *cmd)
{
	return parse_cmd(line, strlen(line), buf, cmd);
}

/* ---- smtp_parse_command ---- */

static void test_command_each_verb(void **state)
{
	static const struct {
		const char *name;
		enum smtp_verb verb;
	} verbs[] = {
		{ "HELO", SMTP_CMD_HELO }, { "EHLO", SMTP_CMD_EHLO }, { "MAIL", SMTP_CMD_MAIL },
		{ "RCPT", SMTP_CMD_RCPT }, { "DATA", SMTP_CMD_DATA }, { "BDAT", SMTP_CMD_BDAT },
		{ "RSET", SMTP_CMD_RSET }, { "NOOP", SMTP_CMD_NOOP }, { "QUIT", SMTP_CMD_QUIT },
		{ "HELP", SMTP_CMD_HELP }, { "VRFY", SMTP_CMD_VRFY }, { "EXPN", SMTP_CMD_EXPN },
		{ "STARTTLS", SMTP_CMD_STARTTLS }, { "AUTH", SMTP_CMD_AUTH },
	};
	char line[64], buf[64];
	struct smtp_cmd cmd;
	(void)state;

	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
		/* upper case, bare */
		assert_int_equal(parse_cmd_str(verbs[i].name, buf, &cmd), SMTP_PARSE_OK);
		assert_int_equal(cmd.verb, verbs[i].verb);
		assert_string_equal(cmd.arg, "");

		/* lower case with an argument */
		size_t n = strlen(verbs[i].name);
		for (size_t k = 0; k < n; k++)
			line[k] = (char)(verbs[i].name[k] | 0x20);
		strcpy(line + n, " some arg");
		assert_int_equal(parse_cmd_str(line, buf, &cmd), SMTP_PARSE_OK);
		assert_int_equal(cmd.verb, verbs[i].verb);
		assert_string_equal(cmd.arg, "some arg");

		/* the verb must be followed by SP or the end */
		snprintf(line, sizeof line, "%sX", verbs[i].name);
		assert_int_equal(parse_cmd_str(line, buf, &cmd), SMTP_PARSE_OK);
		assert_int_equal(cmd.verb, SMTP_CMD_UNKNOWN);
	}
}

static void test_command_mixed_case_and_arg(void **state)
{
	char buf[128];
	struct smtp_cmd cmd;
	(void)state;

	assert_int_equal(parse_cmd_str("mAiL FROM:<a@b> SIZE=1", buf, &cmd), SMTP_PARSE_OK);
	assert_int_equal(cmd.verb, SMTP_CMD_MAIL);
	assert_string_equal(cmd.arg, "FROM:<a@b> SIZE=1");
	assert_ptr_equal(cmd.arg, buf + 5);

	assert_int_equal(parse_cmd_str("StartTLS", buf, &cmd), SMTP_PARSE_OK);
	assert_int_equal(cmd.verb, SMTP_CMD_STARTTLS);

	/* only one SP is eaten: the rest is the argument parser's business */
	assert_int_equal(parse_cmd_str("MAIL  FROM:<a@b>", buf, &cmd), SMTP_PARSE_OK);
	assert_int_equal(cmd.verb, SMTP_CMD_MAIL);
	assert_string_equal(cmd.arg, " FROM:<a@b>");

	/* ":" right after the verb is not a separator */
	assert_int_equal(parse_cmd_str("MAIL:FROM:<a@b>", buf, &cmd), SMTP_PARSE_OK);
	assert_int_equal(cmd.verb, SMTP_CMD_UNKNOWN);

	/* prefixes and longer words are not verbs */
	assert_int_equal(parse_cmd_str("STARTTL", buf, &cmd), SMTP_PARSE_OK);
	assert_int_equal(cmd.verb, SMTP_CMD_UNKNOWN);
	assert_int_equal(parse_cmd_str("HEL", buf, &cmd), SMTP_PARSE_OK);
	assert_int_equal(cmd.verb, SMTP_CMD_UNKNOWN);
}

static void test_command_unknown(void **state)
{
	char buf[64];
	struct smtp_cmd cmd;
	(void)state;

	assert_int_equal(parse_cmd_str("XYZZY plugh", buf, &cmd), SMTP_PARSE_OK);
	assert_int_equal(cmd.verb, SMTP_CMD_UNKNOWN);
	assert_string_equal(cmd.arg, "plugh");

	assert_int_equal(parse_cmd_str("", buf, &cmd), SMTP_PARSE_OK);
	assert_int_equal(cmd.verb, SMTP_CMD_UNKNOWN);
	assert_string_equal(cmd.arg, "");

	assert_int_equal(parse_cmd_str(" HELO x", buf, &cmd), SMTP_PARSE_OK);
	assert_int_equal(cmd.verb, SMTP_CMD_UNKNOWN);

	/* 8-bit octets are left to the argument parsers */
	assert_int_equal(parse_cmd_str("\xc3\xa9HLO x", buf, &cmd), SMTP_PARSE_OK);
	assert_int_equal(cmd.verb, SMTP_CMD_UNKNOWN);
	assert_int_equal(parse_cmd_str("EHLO b\xc3\xbc" "cher", buf, &cmd), SMTP_PARSE_OK);
	assert_int_equal(cmd.verb, SMTP_CMD_EHLO);
	assert_string_equal(cmd.arg, "b\xc3\xbc" "cher");
}

static void test_command_nul_and_controls(void **state)
{
	static const char *const bad[] = {
		"HELO a\x01", ("HELO\x0b" "a"), "NOOP\r", "NOOP\n", "QUIT\x7f", "\x1b[0mQUIT",
		"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>",
	};
	char buf[64];
	struct smtp_cmd cmd;
	(void)state;

	/* NUL inside the line: len counts it */
	assert_int_equal(parse_cmd("HELO a\0b", 8, buf, &cmd), SMTP_PARSE_BAD_CHAR);
	assert_int_equal(cmd.verb, SMTP_CMD_UNKNOWN);
	assert_string_equal(cmd.arg, "");
	assert_int_equal(parse_cmd("\0", 1, buf, &cmd), SMTP_PARSE_BAD_CHAR);
	assert_int_equal(parse_cmd("NOOP\0", 5, buf, &cmd), SMTP_PARSE_BAD_CHAR);

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(parse_cmd_str(bad[i], buf, &cmd), SMTP_PARSE_BAD_CHAR);

	/* HTAB is tolerated in the line, but does not separate the verb */
	assert_int_equal(parse_cmd_str("HELO a\tb", buf, &cmd), SMTP_PARSE_OK);
	assert_int_equal(cmd.verb, SMTP_CMD_HELO);
	assert_string_equal(cmd.arg, "a\tb");
	assert_int_equal(parse_cmd_str("HELO\ta", buf, &cmd), SMTP_PARSE_OK);
	assert_int_equal(cmd.verb, SMTP_CMD_UNKNOWN);
}

static void test_command_trailing_spaces(void **state)
{
	char buf[64];
	struct smtp_cmd cmd;
	(void)state;

	assert_int_equal(parse_cmd_str("NOOP ", buf, &cmd), SMTP_PARSE_OK);
	assert_int_equal(cmd.verb, SMTP_CMD_NOOP);
	assert_string_equal(cmd.arg, "");

	assert_int_equal(parse_cmd_str("QUIT   ", buf, &cmd), SMTP_PARSE_OK);
	assert_int_equal(cmd.verb, SMTP_CMD_QUIT);
	assert_string_equal(cmd.arg, "  ");

	assert_int_equal(parse_cmd_str("RCPT TO:<a@b>  ", buf, &cmd), SMTP_PARSE_OK);
	assert_int_equal(cmd.verb, SMTP_CMD_RCPT);
	assert_string_equal(cmd.arg, "TO:<a@b>  ");
}

static void test_command_terminates_line(void **state)
{
	char buf[16];
	struct smtp_cmd cmd;
	(void)state;

	memset(buf, 'Z', sizeof buf);
	memcpy(buf, "DATA", 4);
	assert_int_equal(smtp_parse_command(buf, 4, &cmd), SMTP_PARSE_OK);
	assert_int_equal(buf[4], '\0');
	assert_int_equal(cmd.verb, SMTP_CMD_DATA);
	assert_ptr_equal(cmd.arg, buf + 4);

	/* a zero-length line in a one-byte buffer */
	char one = 'Z';
	assert_int_equal(smtp_parse_command(&one, 0, &cmd), SMTP_PARSE_OK);
	assert_int_equal(one, '\0');
	assert_int_equal(cmd.verb, SMTP_CMD_UNKNOWN);
}

/* ---- smtp_parse_path_arg: table of cases ---- */

enum { RCPT = 0, MAIL = 1 };
enum { ASCII = 0, UTF8 = 1 };

struct path_case {
	const char *arg;
	bool is_mail;
	bool allow_utf8;
	enum smtp_parse_err err;
	const char *local;      /* checked when err is OK */
	const char *domain;
	const char *addr;
};

static void check_path_case(const struct path_case *c)
{
	struct smtp_path path;
	enum smtp_parse_err err = smtp_parse_path_arg(c->arg, c->is_mail, c->allow_utf8, &path);

	if (err != c->err) {
		print_error("arg \"%s\" (mail=%d utf8=%d): got %d want %d\n", c->arg, c->is_mail,
		            c->allow_utf8, err, c->err);
		fail();
	}
	if (err != SMTP_PARSE_OK)
		return;
	assert_string_equal(path.local, c->local);
	assert_string_equal(path.domain, c->domain);
	assert_string_equal(path.addr, c->addr);
	assert_false(path.null_path);
	assert_false(path.postmaster);
}

static void run_path_cases(const struct path_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++)
		check_path_case(&cases[i]);
}

#define RUN_PATH_CASES(cases) run_path_cases(cases, sizeof cases / sizeof cases[0])

static void test_path_plain(void **state)
{
	static const struct path_case cases[] = {
		{ "FROM:<a@b>", MAIL, ASCII, SMTP_PARSE_OK, "a", "b", "a@b" },
		{ "TO:<a@b>", RCPT, ASCII, SMTP_PARSE_OK, "a", "b", "a@b" },
		{ "FROM:<User.Name+tag@Mail.Example.COM>", MAIL, ASCII, SMTP_PARSE_OK,
		  "User.Name+tag", "mail.example.com", "User.Name+tag@mail.example.com" },
		{ "from:<a@b>", MAIL, ASCII, SMTP_PARSE_OK, "a", "b", "a@b" },
		{ "To:<a@b>", RCPT, ASCII, SMTP_PARSE_OK, "a", "b", "a@b" },
		{ "FROM:<!#$%&'*+-/=?^_`{|}~@x-y.b2>", MAIL, ASCII, SMTP_PARSE_OK,
		  "!#$%&'*+-/=?^_`{|}~", "x-y.b2", "!#$%&'*+-/=?^_`{|}~@x-y.b2" },
		{ "TO:<a@123.example>", RCPT, ASCII, SMTP_PARSE_OK, "a", "123.example",
		  "a@123.example" },
		/* the wrong keyword for the command */
		{ "TO:<a@b>", MAIL, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "FROM:<a@b>", RCPT, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "FROM<a@b>", MAIL, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "FROM :<a@b>", MAIL, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ " FROM:<a@b>", MAIL, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "", MAIL, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "FROM:", MAIL, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "FROM:a@b", MAIL, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "FROM:<a@b", MAIL, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "FROM:<a@b>>", MAIL, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "FROM:<<a@b>>", MAIL, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "FROM:<a@b>x", MAIL, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "FROM:<a>", MAIL, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "FROM:<a@>", MAIL, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "FROM:<@b>", MAIL, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "FROM:<a@b@c>", MAIL, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "FROM:<a b@c>", MAIL, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "FROM:<a(b)@c>", MAIL, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "FROM:<.a@b>", MAIL, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "FROM:<a.@b>", MAIL, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "FROM:<a..b@c>", MAIL, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "FROM:<a@-b>", MAIL, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "FROM:<a@b->", MAIL, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "FROM:<a@b-.c>", MAIL, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "FROM:<a@b.-c>", MAIL, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "FROM:<a@b..c>", MAIL, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "FROM:<a@.b>", MAIL, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "FROM:<a@b.>", MAIL, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "FROM:<a@b_c>", MAIL, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "FROM:<a@b c>", MAIL, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
	};
	(void)state;
	RUN_PATH_CASES(cases);
}

static void test_path_space_after_colon(void **state)
{
	static const struct path_case cases[] = {
		{ "FROM: <a@b>", MAIL, ASCII, SMTP_PARSE_OK, "a", "b", "a@b" },
		{ "FROM:   <a@b> SIZE=1", MAIL, ASCII, SMTP_PARSE_OK, "a", "b", "a@b" },
		{ "TO: <a@b>", RCPT, ASCII, SMTP_PARSE_OK, "a", "b", "a@b" },
		{ "FROM: ", MAIL, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
	};
	(void)state;
	RUN_PATH_CASES(cases);
}

static void test_path_quoted_local(void **state)
{
	static const struct path_case cases[] = {
		{ "FROM:<\"john doe\"@b>", MAIL, ASCII, SMTP_PARSE_OK, "john doe", "b",
		  "\"john doe\"@b" },
		/* quoting that was not needed is dropped */
		{ "FROM:<\"abc\"@b>", MAIL, ASCII, SMTP_PARSE_OK, "abc", "b", "abc@b" },
		{ "FROM:<\"a.b\"@b>", MAIL, ASCII, SMTP_PARSE_OK, "a.b", "b", "a.b@b" },
		{ "FROM:<\"a\\bc\"@b>", MAIL, ASCII, SMTP_PARSE_OK, "abc", "b", "abc@b" },
		/* escapes are removed, and put back only where needed */
		{ "FROM:<\"a\\\"b\"@b>", MAIL, ASCII, SMTP_PARSE_OK, "a\"b", "b", "\"a\\\"b\"@b" },
		{ "FROM:<\"a\\\\b\"@b>", MAIL, ASCII, SMTP_PARSE_OK, "a\\b", "b", "\"a\\\\b\"@b" },
		{ "FROM:<\"a\\ b\"@b>", MAIL, ASCII, SMTP_PARSE_OK, "a b", "b", "\"a b\"@b" },
		{ "FROM:<\"a..b\"@b>", MAIL, ASCII, SMTP_PARSE_OK, "a..b", "b", "\"a..b\"@b" },
		{ "FROM:<\".a\"@b>", MAIL, ASCII, SMTP_PARSE_OK, ".a", "b", "\".a\"@b" },
		{ "FROM:<\"a@b\"@c>", MAIL, ASCII, SMTP_PARSE_OK, "a@b", "c", "\"a@b\"@c" },
		{ "FROM:<\"<>\"@c>", MAIL, ASCII, SMTP_PARSE_OK, "<>", "c", "\"<>\"@c" },
		{ "FROM:<\"\"@b>", MAIL, ASCII, SMTP_PARSE_OK, "", "b", "\"\"@b" },
		/* unterminated, or a bad escape */
		{ "FROM:<\"a@b>", MAIL, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "FROM:<\"a\\", MAIL, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "FROM:<\"a\\\"@b>", MAIL, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "FROM:<\"a\"b@c>", MAIL, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "FROM:<a\"b\"@c>", MAIL, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "FROM:<\"a\".b@c>", MAIL, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		/* quoted-pairSMTP does not extend to 8-bit */
		{ "FROM:<\"a\\\xc3\xa9\"@b>", MAIL, UTF8, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		/* control characters are never allowed, quoted or escaped */
		{ "FROM:<\"a\tb\"@c>", MAIL, ASCII, SMTP_PARSE_BAD_CHAR, NULL, NULL, NULL },
		{ "FROM:<\"a\\\tb\"@c>", MAIL, ASCII, SMTP_PARSE_BAD_CHAR, NULL, NULL, NULL },
		{ "FROM:<\"a\x7f\"@c>", MAIL, ASCII, SMTP_PARSE_BAD_CHAR, NULL, NULL, NULL },
	};
	(void)state;
	RUN_PATH_CASES(cases);
}

static void test_path_utf8(void **state)
{
	static const struct path_case cases[] = {
		{ "FROM:<j\xc3\xb8ran@bl\xc3\xa5" "b\xc3\xa6rsyltet\xc3\xb8y.no>", MAIL, UTF8,
		  SMTP_PARSE_OK, "j\xc3\xb8ran", "bl\xc3\xa5" "b\xc3\xa6rsyltet\xc3\xb8y.no",
		  "j\xc3\xb8ran@bl\xc3\xa5" "b\xc3\xa6rsyltet\xc3\xb8y.no" },
		/* only ASCII is lower-cased; U+00C5 stays as sent */
		{ "TO:<A@\xc3\x85" "B.NO>", RCPT, UTF8, SMTP_PARSE_OK, "A", "\xc3\x85" "b.no",
		  "A@\xc3\x85" "b.no" },
		/* 4-octet sequence (U+1F600) in the local part */
		{ "TO:<\xf0\x9f\x98\x80@b>", RCPT, UTF8, SMTP_PARSE_OK, "\xf0\x9f\x98\x80", "b",
		  "\xf0\x9f\x98\x80@b" },
		/* a quoted UTF-8 local part that is a dot-string loses its quotes */
		{ "TO:<\"\xc3\xa9t\xc3\xa9\"@b>", RCPT, UTF8, SMTP_PARSE_OK, "\xc3\xa9t\xc3\xa9", "b",
		  "\xc3\xa9t\xc3\xa9@b" },
		{ "TO:<\"\xc3\xa9 t\"@b>", RCPT, UTF8, SMTP_PARSE_OK, "\xc3\xa9 t", "b",
		  "\"\xc3\xa9 t\"@b" },
		/* refused without SMTPUTF8 */
		{ "FROM:<j\xc3\xb8ran@b>", MAIL, ASCII, SMTP_PARSE_BAD_CHAR, NULL, NULL, NULL },
		{ "FROM:<a@bl\xc3\xa5.no>", MAIL, ASCII, SMTP_PARSE_BAD_CHAR, NULL, NULL, NULL },
		{ "FROM:<\"\xc3\xa9\"@b>", MAIL, ASCII, SMTP_PARSE_BAD_CHAR, NULL, NULL, NULL },
		/* a U-label still may not end in '-' */
		{ "TO:<a@\xc3\xa9->", RCPT, UTF8, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
	};
	struct smtp_path path;
	(void)state;

	RUN_PATH_CASES(cases);

	assert_int_equal(smtp_parse_path_arg("FROM:<\xc3\xa9@b>", true, true, &path), SMTP_PARSE_OK);
	assert_true(path.utf8);
	assert_int_equal(smtp_parse_path_arg("FROM:<e@b\xc3\xa9>", true, true, &path), SMTP_PARSE_OK);
	assert_true(path.utf8);
	assert_int_equal(smtp_parse_path_arg("FROM:<e@b>", true, true, &path), SMTP_PARSE_OK);
	assert_false(path.utf8);
}

static void test_path_invalid_utf8(void **state)
{
	static const char *const bad[] = {
		"FROM:<a\xff@b>",               /* never valid */
		"FROM:<a\x80@b>",               /* lone continuation */
		"FROM:<a\xc3@b>",               /* truncated */
		"FROM:<a@b\xc3",                /* truncated at the end of the string */
		"FROM:<a\xc0\xaf@b>",           /* overlong '/' */
		"FROM:<a\xe0\x80\xaf@b>",       /* overlong, 3 octets */
		"FROM:<a\xed\xa0\x80@b>",       /* UTF-16 surrogate */
		"FROM:<a\xf4\x90\x80\x80@b>",   /* above U+10FFFF */
		"FROM:<a\xf8\x88\x80\x80\x80@b>", /* 5 octets */
		"FROM:<\"a\xc3\"@b>",           /* inside quotes */
		"FROM:<a@b> X=\xc3",            /* in a parameter */
	};
	struct smtp_path path;
	(void)state;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		for (int utf8 = 0; utf8 <= 1; utf8++)
			assert_int_equal(smtp_parse_path_arg(bad[i], true, utf8, &path),
			                 SMTP_PARSE_BAD_CHAR);
	}
}

static void test_path_null(void **state)
{
	struct smtp_path path;
	(void)state;

	assert_int_equal(smtp_parse_path_arg("FROM:<>", true, false, &path), SMTP_PARSE_OK);
	assert_true(path.null_path);
	assert_false(path.postmaster);
	assert_string_equal(path.addr, "");
	assert_string_equal(path.local, "");
	assert_string_equal(path.domain, "");
	assert_int_equal(path.nparams, 0);

	assert_int_equal(smtp_parse_path_arg("FROM:<> SIZE=10", true, false, &path), SMTP_PARSE_OK);
	assert_true(path.null_path);
	assert_int_equal(path.nparams, 1);

	assert_int_equal(smtp_parse_path_arg("from: <>", true, false, &path), SMTP_PARSE_OK);
	assert_true(path.null_path);

	/* RCPT never takes the null path */
	assert_int_equal(smtp_parse_path_arg("TO:<>", false, false, &path), SMTP_PARSE_SYNTAX);
	assert_int_equal(smtp_parse_path_arg("FROM:<>x", true, false, &path), SMTP_PARSE_SYNTAX);
	assert_int_equal(smtp_parse_path_arg("FROM:< >", true, false, &path), SMTP_PARSE_SYNTAX);
}

static void test_path_postmaster(void **state)
{
	struct smtp_path path;
	(void)state;

	assert_int_equal(smtp_parse_path_arg("TO:<postmaster>", false, false, &path), SMTP_PARSE_OK);
	assert_true(path.postmaster);
	assert_false(path.null_path);
	assert_string_equal(path.addr, "postmaster");
	assert_string_equal(path.local, "postmaster");
	assert_string_equal(path.domain, "");

	assert_int_equal(smtp_parse_path_arg("TO:<PostMaster> NOTIFY=NEVER", false, false, &path),
	                 SMTP_PARSE_OK);
	assert_true(path.postmaster);
	assert_string_equal(path.local, "PostMaster");
	assert_string_equal(path.addr, "postmaster");
	assert_int_equal(path.nparams, 1);
	assert_string_equal(path.params[0].key, "NOTIFY");

	/* with a domain it is an ordinary mailbox */
	assert_int_equal(smtp_parse_path_arg("TO:<Postmaster@Example.ORG>", false, false, &path),
	                 SMTP_PARSE_OK);
	assert_false(path.postmaster);
	assert_string_equal(path.addr, "Postmaster@example.org");

	/* only for RCPT, and only the exact word */
	assert_int_equal(smtp_parse_path_arg("FROM:<postmaster>", true, false, &path),
	                 SMTP_PARSE_SYNTAX);
	assert_int_equal(smtp_parse_path_arg("TO:<postmasterx>", false, false, &path),
	                 SMTP_PARSE_SYNTAX);
	assert_int_equal(smtp_parse_path_arg("TO:<postmaste>", false, false, &path),
	                 SMTP_PARSE_SYNTAX);
	assert_int_equal(smtp_parse_path_arg("TO:<\"postmaster\">", false, false, &path),
	                 SMTP_PARSE_SYNTAX);
	assert_int_equal(smtp_parse_path_arg("TO:<@a:postmaster>", false, false, &path),
	                 SMTP_PARSE_SYNTAX);
	assert_int_equal(smtp_parse_path_arg("TO:<postmaster", false, false, &path),
	                 SMTP_PARSE_SYNTAX);
}

static void test_path_source_route(void **state)
{
	static const struct path_case cases[] = {
		{ "TO:<@a.example,@B.example:user@C.example>", RCPT, ASCII, SMTP_PARSE_OK,
		  "user", "c.example", "user@c.example" },
		{ "FROM:<@a:u@c>", MAIL, ASCII, SMTP_PARSE_OK, "u", "c", "u@c" },
		{ "TO:<@a,u@c>", RCPT, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "TO:<@:u@c>", RCPT, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "TO:<@a,:u@c>", RCPT, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "TO:<@a,b:u@c>", RCPT, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "TO:<@a:@b:u@c>", RCPT, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "TO:<@-a:u@c>", RCPT, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "TO:<@a:>", RCPT, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "TO:<@a", RCPT, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "TO:<@\xc3\xa9:u@c>", RCPT, ASCII, SMTP_PARSE_BAD_CHAR, NULL, NULL, NULL },
	};
	struct smtp_path path;
	(void)state;

	RUN_PATH_CASES(cases);

	/* a UTF-8 route is discarded and does not mark the address UTF-8 */
	assert_int_equal(smtp_parse_path_arg("TO:<@\xc3\xa9.example:u@c>", false, true, &path),
	                 SMTP_PARSE_OK);
	assert_false(path.utf8);
	assert_string_equal(path.addr, "u@c");
}

static void test_path_address_literals(void **state)
{
	static const struct path_case cases[] = {
		{ "TO:<a@[1.2.3.4]>", RCPT, ASCII, SMTP_PARSE_OK, "a", "[1.2.3.4]", "a@[1.2.3.4]" },
		{ "TO:<a@[255.255.255.255]>", RCPT, ASCII, SMTP_PARSE_OK, "a", "[255.255.255.255]",
		  "a@[255.255.255.255]" },
		{ "TO:<a@[0.0.0.0]>", RCPT, ASCII, SMTP_PARSE_OK, "a", "[0.0.0.0]", "a@[0.0.0.0]" },
		/* Snum = 1*3DIGIT, so leading zeros are legal */
		{ "TO:<a@[001.02.3.4]>", RCPT, ASCII, SMTP_PARSE_OK, "a", "[001.02.3.4]",
		  "a@[001.02.3.4]" },
		/* kept verbatim: neither the tag nor the hex digits are lower-cased */
		{ "TO:<a@[IPv6:2001:DB8::1]>", RCPT, ASCII, SMTP_PARSE_OK, "a", "[IPv6:2001:DB8::1]",
		  "a@[IPv6:2001:DB8::1]" },
		{ "TO:<a@[ipv6:2001:db8::1]>", RCPT, ASCII, SMTP_PARSE_OK, "a", "[ipv6:2001:db8::1]",
		  "a@[ipv6:2001:db8::1]" },
		{ "TO:<a@[IPv6:::1]>", RCPT, ASCII, SMTP_PARSE_OK, "a", "[IPv6:::1]", "a@[IPv6:::1]" },
		{ "TO:<a@[IPv6:::ffff:1.2.3.4]>", RCPT, ASCII, SMTP_PARSE_OK, "a",
		  "[IPv6:::ffff:1.2.3.4]", "a@[IPv6:::ffff:1.2.3.4]" },
		{ "TO:<a@[IPv6:1:2:3:4:5:6:7:8]>", RCPT, ASCII, SMTP_PARSE_OK, "a",
		  "[IPv6:1:2:3:4:5:6:7:8]", "a@[IPv6:1:2:3:4:5:6:7:8]" },
		{ "TO:<a@[256.1.1.1]>", RCPT, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "TO:<a@[1.2.3]>", RCPT, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "TO:<a@[1.2.3.4.5]>", RCPT, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "TO:<a@[1.2.3.]>", RCPT, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "TO:<a@[1..2.3]>", RCPT, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "TO:<a@[1234.1.1.1]>", RCPT, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "TO:<a@[1.2.3.4>", RCPT, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "TO:<a@1.2.3.4]>", RCPT, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "TO:<a@[]>", RCPT, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "TO:<a@[[1.2.3.4]]>", RCPT, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "TO:<a@[ 1.2.3.4]>", RCPT, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "TO:<a@[IPv6:]>", RCPT, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "TO:<a@[IPv6:2001:db8::g]>", RCPT, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "TO:<a@[IPv6:1.2.3.4]>", RCPT, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "TO:<a@[IPv6:1:2:3:4:5:6:7:8:9]>", RCPT, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "TO:<a@[IPv6:fe80::1%eth0]>", RCPT, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "TO:<a@[x-tag:foo]>", RCPT, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		{ "TO:<a@[1.2.3.4].example>", RCPT, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
	};
	(void)state;
	RUN_PATH_CASES(cases);
}

static void test_path_limits(void **state)
{
	char local[128], domain[300], arg[700], want[600];
	struct smtp_path path;
	(void)state;

	/* RFC 5321 4.5.3.1.1: local part 64 octets */
	snprintf(arg, sizeof arg, "FROM:<%s@b>", repeat(local, 'l', 64));
	assert_int_equal(smtp_parse_path_arg(arg, true, false, &path), SMTP_PARSE_OK);
	assert_int_equal(strlen(path.local), 64);
	snprintf(arg, sizeof arg, "FROM:<%s@b>", repeat(local, 'l', 65));
	assert_int_equal(smtp_parse_path_arg(arg, true, false, &path), SMTP_PARSE_TOO_LONG);

	/* the limit is on the local part as sent, quotes included */
	snprintf(arg, sizeof arg, "FROM:<\"%s\"@b>", repeat(local, ' ', 62));
	assert_int_equal(smtp_parse_path_arg(arg, true, false, &path), SMTP_PARSE_OK);
	assert_int_equal(strlen(path.local), 62);
	assert_int_equal(strlen(path.addr), 64 + 2);
	snprintf(arg, sizeof arg, "FROM:<\"%s\"@b>", repeat(local, ' ', 63));
	assert_int_equal(smtp_parse_path_arg(arg, true, false, &path), SMTP_PARSE_TOO_LONG);
	snprintf(arg, sizeof arg, "FROM:<\"%s", repeat(local, ' ', 100));
	assert_int_equal(smtp_parse_path_arg(arg, true, false, &path), SMTP_PARSE_TOO_LONG);

	/* RFC 5321 4.5.3.1.3: the path is 256 octets with its brackets:
	 * "<" + 64 + "@" + 189 + ">" = 256; labels are kept <= 63 */
	snprintf(domain, sizeof domain, "%.63s.%.63s.%.61s", repeat(want, 'd', 63), want, want);
	assert_int_equal(strlen(domain), 189);
	snprintf(arg, sizeof arg, "FROM:<%s@%s>", repeat(local, 'l', 64), domain);
	assert_int_equal(smtp_parse_path_arg(arg, true, false, &path), SMTP_PARSE_OK);
	snprintf(want, sizeof want, "%s@%s", local, domain);
	assert_string_equal(path.addr, want);
	assert_int_equal(strlen(path.addr), 254);
	snprintf(arg, sizeof arg, "FROM:<%s@%s.x>", local, domain);
	assert_int_equal(smtp_parse_path_arg(arg, true, false, &path), SMTP_PARSE_TOO_LONG);

	/* RFC 5321 4.5.3.1.2: the domain alone is 255 octets at most */
	snprintf(domain, sizeof domain, "%.63s.%.63s.%.63s.%.64s", repeat(want, 'd', 64), want,
	         want, want);
	assert_int_equal(strlen(domain), 256);
	snprintf(arg, sizeof arg, "FROM:<a@%s>", domain);
	assert_int_equal(smtp_parse_path_arg(arg, true, false, &path), SMTP_PARSE_TOO_LONG);

	/* RFC 1035 2.3.4: labels of 63 octets */
	snprintf(arg, sizeof arg, "FROM:<a@%s.b>", repeat(domain, 'd', 63));
	assert_int_equal(smtp_parse_path_arg(arg, true, false, &path), SMTP_PARSE_OK);
	snprintf(arg, sizeof arg, "FROM:<a@%s.b>", repeat(domain, 'd', 64));
	assert_int_equal(smtp_parse_path_arg(arg, true, false, &path), SMTP_PARSE_SYNTAX);

	/* a source route counts toward the path limit */
	snprintf(arg, sizeof arg, "TO:<@%s:a@b>", repeat(domain, 'r', 60));
	assert_int_equal(smtp_parse_path_arg(arg, false, false, &path), SMTP_PARSE_OK);
	snprintf(arg, sizeof arg, "TO:<@%.60s,@%.60s,@%.60s,@%.60s,@%.60s:a@b>", domain, domain,
	         domain, domain, domain);
	assert_int_equal(smtp_parse_path_arg(arg, false, false, &path), SMTP_PARSE_TOO_LONG);

	/* an address literal over the domain limit */
	snprintf(arg, sizeof arg, "TO:<a@[%s]>", repeat(domain, '1', 260));
	assert_int_equal(smtp_parse_path_arg(arg, false, false, &path), SMTP_PARSE_TOO_LONG);
}

static void test_path_params(void **state)
{
	struct smtp_path path;
	const struct smtp_param *p;
	unsigned long long size;
	(void)state;

	assert_int_equal(smtp_parse_path_arg("FROM:<a@b> SIZE=1000 BODY=8BITMIME SMTPUTF8",
	                                     true, true, &path), SMTP_PARSE_OK);
	assert_int_equal(path.nparams, 3);
	assert_string_equal(path.params[0].key, "SIZE");
	assert_string_equal(path.params[0].value, "1000");
	assert_true(path.params[0].has_value);
	assert_string_equal(path.params[1].key, "BODY");
	assert_string_equal(path.params[1].value, "8BITMIME");
	assert_string_equal(path.params[2].key, "SMTPUTF8");
	assert_false(path.params[2].has_value);
	assert_string_equal(path.params[2].value, "");

	p = smtp_path_param(&path, "size");
	assert_non_null(p);
	assert_ptr_equal(p, &path.params[0]);
	assert_true(smtp_parse_size_value(p->value, &size));
	assert_int_equal(size, 1000);
	p = smtp_path_param(&path, "Body");
	assert_non_null(p);
	assert_string_equal(p->value, "8BITMIME");
	assert_ptr_equal(smtp_path_param(&path, "smtputf8"), &path.params[2]);
	assert_null(smtp_path_param(&path, "AUTH"));
	assert_null(smtp_path_param(&path, "SIZ"));
	assert_null(smtp_path_param(&path, "SIZEX"));

	/* extra and trailing spaces are tolerated; keys keep their case */
	assert_int_equal(smtp_parse_path_arg("FROM:<a@b>  size=1   Body=7BIT  ", true, false, &path),
	                 SMTP_PARSE_OK);
	assert_int_equal(path.nparams, 2);
	assert_string_equal(path.params[0].key, "size");
	assert_string_equal(path.params[1].key, "Body");
	assert_string_equal(path.params[1].value, "7BIT");

	/* values are %d33-60 / %d62-126: punctuation allowed */
	assert_int_equal(smtp_parse_path_arg("FROM:<a@b> AUTH=<>", true, false, &path),
	                 SMTP_PARSE_OK);
	assert_string_equal(path.params[0].value, "<>");
	assert_int_equal(smtp_parse_path_arg("TO:<a@b> ORCPT=rfc822;a+2Bb@c NOTIFY=SUCCESS,FAILURE",
	                                     false, false, &path), SMTP_PARSE_OK);
	assert_string_equal(path.params[0].value, "rfc822;a+2Bb@c");
	assert_string_equal(path.params[1].value, "SUCCESS,FAILURE");

	/* a trailing space with no parameter */
	assert_int_equal(smtp_parse_path_arg("FROM:<a@b> ", true, false, &path), SMTP_PARSE_OK);
	assert_int_equal(path.nparams, 0);
}

static void test_path_params_malformed(void **state)
{
	static const struct path_case cases[] = {
		{ "FROM:<a@b> SIZE=", MAIL, ASCII, SMTP_PARSE_BAD_PARAM, NULL, NULL, NULL },
		{ "FROM:<a@b> =1", MAIL, ASCII, SMTP_PARSE_BAD_PARAM, NULL, NULL, NULL },
		{ "FROM:<a@b> SIZE==1", MAIL, ASCII, SMTP_PARSE_BAD_PARAM, NULL, NULL, NULL },
		{ "FROM:<a@b> SIZE=1=2", MAIL, ASCII, SMTP_PARSE_BAD_PARAM, NULL, NULL, NULL },
		{ "FROM:<a@b> -X=1", MAIL, ASCII, SMTP_PARSE_BAD_PARAM, NULL, NULL, NULL },
		{ "FROM:<a@b> SI_ZE=1", MAIL, ASCII, SMTP_PARSE_BAD_PARAM, NULL, NULL, NULL },
		{ "FROM:<a@b> SIZE:1", MAIL, ASCII, SMTP_PARSE_BAD_PARAM, NULL, NULL, NULL },
		{ "FROM:<a@b> <c@d>", MAIL, ASCII, SMTP_PARSE_BAD_PARAM, NULL, NULL, NULL },
		{ "FROM:<a@b> BODY=\xc3\xa9", MAIL, ASCII, SMTP_PARSE_BAD_PARAM, NULL, NULL, NULL },
		/* no space between the path and the first parameter */
		{ "FROM:<a@b>SIZE=1", MAIL, ASCII, SMTP_PARSE_SYNTAX, NULL, NULL, NULL },
		/* HTAB is not a separator, and no control octet is valid */
		{ "FROM:<a@b>\tSIZE=1", MAIL, ASCII, SMTP_PARSE_BAD_CHAR, NULL, NULL, NULL },
		{ "FROM:<a@b> SIZE=1\x01", MAIL, ASCII, SMTP_PARSE_BAD_CHAR, NULL, NULL, NULL },
	};
	char key[64], value[200], arg[512];
	struct smtp_path path;
	(void)state;

	RUN_PATH_CASES(cases);

	/* the key buffer holds 31 octets, the value buffer 127 */
	snprintf(arg, sizeof arg, "FROM:<a@b> %s=1", repeat(key, 'K', 31));
	assert_int_equal(smtp_parse_path_arg(arg, true, false, &path), SMTP_PARSE_OK);
	assert_string_equal(path.params[0].key, key);
	snprintf(arg, sizeof arg, "FROM:<a@b> %s=1", repeat(key, 'K', 32));
	assert_int_equal(smtp_parse_path_arg(arg, true, false, &path), SMTP_PARSE_BAD_PARAM);
	snprintf(arg, sizeof arg, "FROM:<a@b> X=%s", repeat(value, 'v', 127));
	assert_int_equal(smtp_parse_path_arg(arg, true, false, &path), SMTP_PARSE_OK);
	assert_string_equal(path.params[0].value, value);
	snprintf(arg, sizeof arg, "FROM:<a@b> X=%s", repeat(value, 'v', 128));
	assert_int_equal(smtp_parse_path_arg(arg, true, false, &path), SMTP_PARSE_BAD_PARAM);

	/* at most SMTP_PARAMS_MAX parameters */
	assert_int_equal(smtp_parse_path_arg("FROM:<a@b> A B C D E F G H", true, false, &path),
	                 SMTP_PARSE_OK);
	assert_int_equal(path.nparams, SMTP_PARAMS_MAX);
	assert_string_equal(path.params[7].key, "H");
	assert_int_equal(smtp_parse_path_arg("FROM:<a@b> A B C D E F G H I", true, false, &path),
	                 SMTP_PARSE_BAD_PARAM);

	/* UTF-8 values with SMTPUTF8 do not make the address UTF-8 */
	assert_int_equal(smtp_parse_path_arg("FROM:<a@b> X=\xc3\xa9", true, true, &path),
	                 SMTP_PARSE_OK);
	assert_string_equal(path.params[0].value, "\xc3\xa9");
	assert_false(path.utf8);
}

static void test_path_controls(void **state)
{
	static const char *const bad[] = {
		"FROM:<a\x01@b>", "FROM:<a@b\x7f>", "FROM:<a@b>\r", "FROM:\t<a@b>", "FROM:<a@b>\n",
	};
	struct smtp_path path;
	(void)state;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(smtp_parse_path_arg(bad[i], true, true, &path), SMTP_PARSE_BAD_CHAR);
}

/* The canonical address reads back as itself: one spelling per address. */
static void test_path_canonical_roundtrip(void **state)
{
	static const char *const args[] = {
		"FROM:<\"john doe\"@Example.com>", "FROM:<\"a\\\"b\\\\c\"@b>", "FROM:<\"\"@b>",
		"FROM:<@r:User@[IPv6:::1]>", "FROM:<\"x\"@y>", "FROM:<\"\xc3\xa9 \"@b>",
	};
	struct smtp_path first, again;
	char arg[300];
	(void)state;

	for (size_t i = 0; i < sizeof args / sizeof args[0]; i++) {
		assert_int_equal(smtp_parse_path_arg(args[i], true, true, &first), SMTP_PARSE_OK);
		snprintf(arg, sizeof arg, "FROM:<%s>", first.addr);
		assert_int_equal(smtp_parse_path_arg(arg, true, true, &again), SMTP_PARSE_OK);
		assert_string_equal(again.addr, first.addr);
		assert_string_equal(again.local, first.local);
		assert_string_equal(again.domain, first.domain);
	}
}

/* ---- smtp_parse_helo ---- */

static void test_helo(void **state)
{
	static const struct {
		const char *arg;
		enum smtp_parse_err err;
		const char *out;
	} cases[] = {
		{ "example.com", SMTP_PARSE_OK, "example.com" },
		{ "Mail.Example.COM", SMTP_PARSE_OK, "Mail.Example.COM" },
		{ "mail.example.com some trailing text", SMTP_PARSE_OK, "mail.example.com" },
		{ "localhost ", SMTP_PARSE_OK, "localhost" },
		{ "[192.0.2.1]", SMTP_PARSE_OK, "[192.0.2.1]" },
		{ "[IPv6:2001:db8::1] x", SMTP_PARSE_OK, "[IPv6:2001:db8::1]" },
		{ "DESKTOP-AB12", SMTP_PARSE_OK, "DESKTOP-AB12" },
		{ "my_pc.lan", SMTP_PARSE_OK, "my_pc.lan" },
		{ "", SMTP_PARSE_SYNTAX, "" },
		{ " example.com", SMTP_PARSE_SYNTAX, "" },
		{ "[1.2.3]", SMTP_PARSE_SYNTAX, "" },
		{ "[1.2.3.4", SMTP_PARSE_SYNTAX, "" },
		{ "[1.2.3.4]x", SMTP_PARSE_SYNTAX, "" },
		{ "foo..bar", SMTP_PARSE_SYNTAX, "" },
		{ "foo.", SMTP_PARSE_SYNTAX, "" },
		{ "-foo", SMTP_PARSE_SYNTAX, "" },
		{ "foo/bar", SMTP_PARSE_SYNTAX, "" },
		{ "<foo>", SMTP_PARSE_SYNTAX, "" },
		{ "b\xc3\xbc" "cher.de", SMTP_PARSE_BAD_CHAR, "" },
		{ "foo\tbar", SMTP_PARSE_BAD_CHAR, "" },
	};
	char out[SMTP_DOMAIN_MAX + 1];
	(void)state;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		memset(out, 'Z', sizeof out);
		enum smtp_parse_err err = smtp_parse_helo(cases[i].arg, out, sizeof out);
		if (err != cases[i].err) {
			print_error("helo \"%s\": got %d want %d\n", cases[i].arg, err, cases[i].err);
			fail();
		}
		assert_string_equal(out, cases[i].out);
	}
}

static void test_helo_limits(void **state)
{
	char name[400], out[SMTP_DOMAIN_MAX + 1], small[8];
	(void)state;

	/* 255 octets (four labels <= 63) fit; 256 do not */
	memset(name, 'h', 255);
	name[63] = name[127] = name[191] = '.';
	name[255] = '\0';
	assert_int_equal(smtp_parse_helo(name, out, sizeof out), SMTP_PARSE_OK);
	assert_string_equal(out, name);
	name[255] = 'h';
	name[256] = '\0';
	assert_int_equal(smtp_parse_helo(name, out, sizeof out), SMTP_PARSE_TOO_LONG);
	assert_string_equal(out, "");

	/* the caller's buffer bounds the copy */
	assert_int_equal(smtp_parse_helo("abcdefg", small, sizeof small), SMTP_PARSE_OK);
	assert_string_equal(small, "abcdefg");
	memset(small, 'Z', sizeof small);
	assert_int_equal(smtp_parse_helo("abcdefgh", small, sizeof small), SMTP_PARSE_TOO_LONG);
	assert_string_equal(small, "");
	small[0] = 'Z';
	assert_int_equal(smtp_parse_helo("a", small, 0), SMTP_PARSE_TOO_LONG);
	assert_int_equal(small[0], 'Z');
}

/* ---- smtp_parse_bdat ---- */

static void test_bdat(void **state)
{
	static const struct {
		const char *arg;
		enum smtp_parse_err err;
		unsigned long long size;
		bool last;
	} cases[] = {
		{ "100", SMTP_PARSE_OK, 100, false },
		{ "100 LAST", SMTP_PARSE_OK, 100, true },
		{ "100 last", SMTP_PARSE_OK, 100, true },
		{ "0 LAST", SMTP_PARSE_OK, 0, true },
		{ "0", SMTP_PARSE_OK, 0, false },
		{ "007", SMTP_PARSE_OK, 7, false },
		{ "100  LAST  ", SMTP_PARSE_OK, 100, true },
		{ "100 ", SMTP_PARSE_OK, 100, false },
		{ "999999999999999999", SMTP_PARSE_OK, 999999999999999999ULL, false },
		{ "9999999999999999999", SMTP_PARSE_SYNTAX, 0, false },
		{ "99999999999999999999999999", SMTP_PARSE_SYNTAX, 0, false },
		{ "", SMTP_PARSE_SYNTAX, 0, false },
		{ " 100", SMTP_PARSE_SYNTAX, 0, false },
		{ "LAST", SMTP_PARSE_SYNTAX, 0, false },
		{ "-1", SMTP_PARSE_SYNTAX, 0, false },
		{ "+1", SMTP_PARSE_SYNTAX, 0, false },
		{ "1x", SMTP_PARSE_SYNTAX, 0, false },
		{ "0x10", SMTP_PARSE_SYNTAX, 0, false },
		{ "100LAST", SMTP_PARSE_SYNTAX, 0, false },
		{ "100 LASTX", SMTP_PARSE_SYNTAX, 0, false },
		{ "100 LAS", SMTP_PARSE_SYNTAX, 0, false },
		{ "100 LAST X", SMTP_PARSE_SYNTAX, 0, false },
		{ "100 LAST LAST", SMTP_PARSE_SYNTAX, 0, false },
		{ "100 FOO", SMTP_PARSE_SYNTAX, 0, false },
		{ "100 200", SMTP_PARSE_SYNTAX, 0, false },
		{ "100\tLAST", SMTP_PARSE_SYNTAX, 0, false },
	};
	(void)state;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		unsigned long long size = 12345;
		bool last = true;
		enum smtp_parse_err err = smtp_parse_bdat(cases[i].arg, &size, &last);
		if (err != cases[i].err) {
			print_error("bdat \"%s\": got %d want %d\n", cases[i].arg, err, cases[i].err);
			fail();
		}
		assert_int_equal(size, cases[i].size);
		assert_int_equal(last, cases[i].last);
	}
}

/* ---- smtp_parse_size_value ---- */

static void test_size_value(void **state)
{
	static const struct {
		const char *value;
		bool ok;
		unsigned long long size;
	} cases[] = {
		{ "0", true, 0 },
		{ "1", true, 1 },
		{ "10485760", true, 10485760ULL },
		{ "00000000000000000001", true, 1 },
		{ "18446744073709551615", true, ULLONG_MAX },
		/* well-formed but beyond 64 bits: saturates */
		{ "18446744073709551616", true, ULLONG_MAX },
		{ "99999999999999999999", true, ULLONG_MAX },
		/* 1*20DIGIT */
		{ "000000000000000000001", false, 0 },
		{ "100000000000000000000", false, 0 },
		{ "", false, 0 },
		{ "12a", false, 0 },
		{ "-1", false, 0 },
		{ "+1", false, 0 },
		{ " 1", false, 0 },
		{ "1 ", false, 0 },
	};
	(void)state;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		unsigned long long size = 12345;
		bool ok = smtp_parse_size_value(cases[i].value, &size);
		if (ok != cases[i].ok) {
			print_error("size \"%s\": got %d\n", cases[i].value, ok);
			fail();
		}
		assert_true(size == cases[i].size);
	}
}

/* ---- smtp_utf8_valid ---- */

static void test_utf8_valid(void **state)
{
	static const struct {
		const char *s;
		size_t len;
		bool ok;
	} cases[] = {
		{ "", 0, true },
		{ "plain ascii", 11, true },
		{ "\x00", 1, true },
		{ "\xc2\x80", 2, true },               /* U+0080 */
		{ "\xdf\xbf", 2, true },               /* U+07FF */
		{ "\xe0\xa0\x80", 3, true },           /* U+0800 */
		{ "\xed\x9f\xbf", 3, true },           /* U+D7FF */
		{ "\xee\x80\x80", 3, true },           /* U+E000 */
		{ "\xef\xbf\xbf", 3, true },           /* U+FFFF */
		{ "\xf0\x90\x80\x80", 4, true },       /* U+10000 */
		{ "\xf4\x8f\xbf\xbf", 4, true },       /* U+10FFFF */
		{ "\x80", 1, false },
		{ "\xbf", 1, false },
		{ "\xc0\x80", 2, false },              /* overlong NUL */
		{ "\xc1\xbf", 2, false },
		{ "\xe0\x9f\xbf", 3, false },          /* overlong */
		{ "\xed\xa0\x80", 3, false },          /* U+D800 */
		{ "\xed\xbf\xbf", 3, false },          /* U+DFFF */
		{ "\xf0\x8f\xbf\xbf", 4, false },      /* overlong */
		{ "\xf4\x90\x80\x80", 4, false },      /* U+110000 */
		{ "\xf5\x80\x80\x80", 4, false },
		{ "\xff", 1, false },
		{ "\xc3", 1, false },                  /* truncated */
		{ "\xe2\x82", 2, false },
		{ "\xf0\x9f\x98", 3, false },
		{ "\xc3\x28", 2, false },              /* bad continuation */
		{ "\xe2\x28\xa1", 3, false },
		{ "\xf0\x9f\x28\x80", 4, false },
	};
	(void)state;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (smtp_utf8_valid(cases[i].s, cases[i].len) != cases[i].ok) {
			print_error("utf8 case %zu\n", i);
			fail();
		}
	}
	/* the length bounds the check: a sequence cut by len is invalid */
	assert_false(smtp_utf8_valid("\xc3\xa9", 1));
	assert_true(smtp_utf8_valid("a\xc3\xa9", 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_command_each_verb),
		cmocka_unit_test(test_command_mixed_case_and_arg),
		cmocka_unit_test(test_command_unknown),
		cmocka_unit_test(test_command_nul_and_controls),
		cmocka_unit_test(test_command_trailing_spaces),
		cmocka_unit_test(test_command_terminates_line),
		cmocka_unit_test(test_path_plain),
		cmocka_unit_test(test_path_space_after_colon),
		cmocka_unit_test(test_path_quoted_local),
		cmocka_unit_test(test_path_utf8),
		cmocka_unit_test(test_path_invalid_utf8),
		cmocka_unit_test(test_path_null),
		cmocka_unit_test(test_path_postmaster),
		cmocka_unit_test(test_path_source_route),
		cmocka_unit_test(test_path_address_literals),
		cmocka_unit_test(test_path_limits),
		cmocka_unit_test(test_path_params),
		cmocka_unit_test(test_path_params_malformed),
		cmocka_unit_test(test_path_controls),
		cmocka_unit_test(test_path_canonical_roundtrip),
		cmocka_unit_test(test_helo),
		cmocka_unit_test(test_helo_limits),
		cmocka_unit_test(test_bdat),
		cmocka_unit_test(test_size_value),
		cmocka_unit_test(test_utf8_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
