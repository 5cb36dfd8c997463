/* Unit tests for the MIME tree (src/mail/mime*.c) and IMAP's renderings of
 * it (src/imap/imap_envelope.c, imap_bodystructure.c, imap_section.c): the
 * sample messages in mime_samples/ against their .expect files (ENVELOPE,
 * BODYSTRUCTURE, BODY and section spans, also with every LF turned CRLF),
 * then addresses, RFC 2047 decoding, header access, sections, parameters
 * and the limits.
 *
 * An .expect file holds "ENVELOPE ...", "BODYSTRUCTURE ...", "BODY ..."
 * (an IMAP literal's CRLF written as the four characters \r\n) and lines
 * "SECTION<TAB>spec<TAB>rc<TAB>offset<TAB>size<TAB>crlf_size". The sizes
 * were checked against RFC 3501's grammar by hand and against Dovecot
 * 2.3's FETCH output; rfc3501_example.eml reproduces the BODY example of
 * RFC 3501 7.4.2 to the octet. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "imap/imap_render.h"
#include "mail/address.h"
#include "mail/crlf.h"
#include "mail/decode.h"
#include "mail/encoded_word.h"
#include "mail/header.h"
#include "mail/mime.h"

#ifndef MIME_SAMPLES_DIR
#define MIME_SAMPLES_DIR "tests/unit/mime_samples"
#endif

/* ---- helpers ---- */

static char *read_file(const char *name, const char *ext, size_t *len)
{
	char path[1024];
	const char *dir = getenv("MIME_SAMPLES_DIR");
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof path, "%s/%s%s", dir ? dir : MIME_SAMPLES_DIR, name, ext);
	f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s (set MIME_SAMPLES_DIR)", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Every LF not preceded by CR becomes CRLF, through the streaming
 * converter fed in small pieces to cover its state. */
static char *to_crlf(const char *in, size_t len, size_t *outlen)
{
	size_t cap = len * 2 + 1, o = 0, i = 0;
	char *out = malloc(cap);
	struct mail_crlf c;

	mail_crlf_init(&c);
	while (i < len) {
		size_t used, piece = len - i < 7 ? len - i : 7;
		o += mail_crlf_convert(&c, in + i, piece, &used, out + o, 5);
		i += used;
	}
	*outlen = o;
	return out;
}

enum render { R_ENVELOPE, R_BODYSTRUCTURE, R_BODY };

static char *render(const struct mime_part *root, enum render what)
{
	struct buf o;

	buf_init(&o);
	if (what == R_ENVELOPE)
		imap_write_envelope(root, &o);
	else
		imap_write_bodystructure(root, what == R_BODYSTRUCTURE, &o);
	return o.data;
}

static void assert_render(const struct mime_part *root, enum render what, const char *expect)
{
	char *s = render(root, what);
	assert_string_equal(s, expect);
	free(s);
}

/* The expected value of a line: "\r\n" (4 characters) is CRLF. */
static char *unescape(const char *s, size_t n)
{
	char *out = malloc(n + 1), *q = out;
	for (size_t i = 0; i < n; i++) {
		if (i + 3 < n && memcmp(s + i, "\\r\\n", 4) == 0) {
			*q++ = '\r';
			*q++ = '\n';
			i += 3;
		} else {
			*q++ = s[i];
		}
	}
	*q = '\0';
	return out;
}

/* ---- the samples ---- */

static void check_section(const struct mime_part *lf_root, const char *lf, size_t lflen,
                          const struct mime_part *crlf_root, const char *crlf, size_t crlflen,
                          char *line)
{
	char *spec = line + 8, *tab = strchr(spec, '\t'), *end;
	int rc;
	unsigned long long off, size, crlf_size;
	struct imap_span a, b;
	struct mail_crlf c;
	char *conv;
	size_t used, n;

	assert_non_null(tab);
	*tab = '\0';
	rc = (int)strtol(tab + 1, &end, 10);
	off = strtoull(end, &end, 10);
	size = strtoull(end, &end, 10);
	crlf_size = strtoull(end, &end, 10);
	assert_int_equal(imap_section_span(lf_root, spec, &a), rc);
	assert_int_equal(imap_section_span(crlf_root, spec, &b), rc);
	if (rc != IMAP_SPAN_OK)
		return;
	assert_int_equal(a.offset, off);
	assert_int_equal(a.size, size);
	assert_int_equal(a.crlf_size, crlf_size);
	assert_true(a.offset + a.size <= lflen);
	assert_int_equal(mail_crlf_size(lf + a.offset, a.size), crlf_size);
	/* the CRLF copy: the same region, converted */
	assert_int_equal(b.size, crlf_size);
	assert_int_equal(b.crlf_size, crlf_size);
	assert_true(b.offset + b.size <= crlflen);
	conv = malloc(crlf_size + 1);
	mail_crlf_init(&c);
	n = mail_crlf_convert(&c, lf + a.offset, a.size, &used, conv, crlf_size + 1);
	assert_int_equal(n, crlf_size);
	assert_memory_equal(conv, crlf + b.offset, n);
	free(conv);
}

static void test_sample(void **state)
{
	const char *name = *state;
	size_t lflen, crlflen, explen;
	char *lf = read_file(name, ".eml", &lflen);
	char *expect = read_file(name, ".expect", &explen);
	char *crlf = to_crlf(lf, lflen, &crlflen);
	struct mime_part *a = mime_parse(lf, lflen), *b = mime_parse(crlf, crlflen);
	unsigned int nsections = 0;

	for (char *line = expect, *nl; *line != '\0'; line = nl + 1) {
		static const struct {
			const char *key;
			enum render what;
		} keys[] = { { "ENVELOPE ", R_ENVELOPE }, { "BODYSTRUCTURE ", R_BODYSTRUCTURE },
			     { "BODY ", R_BODY } };
		nl = strchr(line, '\n');
		assert_non_null(nl);
		*nl = '\0';
		if (strncmp(line, "SECTION\t", 8) == 0) {
			check_section(a, lf, lflen, b, crlf, crlflen, line);
			nsections++;
			continue;
		}
		for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
			size_t kl = strlen(keys[k].key);
			if (strncmp(line, keys[k].key, kl) == 0) {
				char *want = unescape(line + kl, strlen(line + kl));
				assert_render(a, keys[k].what, want);
				/* LF or CRLF: the same answer */
				assert_render(b, keys[k].what, want);
				free(want);
			}
		}
	}
	assert_true(nsections >= 3);
	mime_free(a);
	mime_free(b);
	free(lf);
	free(crlf);
	free(expect);
}

/* ---- small messages ---- */

static struct mime_part *parse_str(const char *s)
{
	return mime_parse(s, strlen(s));
}

static void test_empty_and_header_only(void **state)
{
	struct mime_part *p = mime_parse("", 0);
	struct imap_span sp;
	(void)state;

	assert_render(p, R_ENVELOPE, "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
	assert_render(p, R_BODYSTRUCTURE,
	              "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0 NIL NIL NIL NIL)");
	assert_int_equal(imap_section_span(p, "", &sp), IMAP_SPAN_OK);
	assert_int_equal(sp.size, 0);
	assert_int_equal(imap_section_span(p, "1", &sp), IMAP_SPAN_OK);
	assert_int_equal(sp.size, 0);
	mime_free(p);

	/* no empty line, no final LF: all header */
	p = parse_str("Subject: hi\nX-A: b");
	assert_true(p->flags & MIME_PART_NO_BLANK);
	assert_render(p, R_ENVELOPE, "(NIL \"hi\" NIL NIL NIL NIL NIL NIL NIL NIL)");
	assert_int_equal(imap_section_span(p, "HEADER", &sp), IMAP_SPAN_OK);
	assert_int_equal(sp.size, 18);
	assert_int_equal(sp.crlf_size, 19);
	assert_int_equal(imap_section_span(p, "TEXT", &sp), IMAP_SPAN_OK);
	assert_int_equal(sp.offset, 18);
	assert_int_equal(sp.size, 0);
	mime_free(p);
}

static void test_envelope_strings(void **state)
{
	struct mime_part *p = parse_str("Subject: caf\xc3\xa9\n"
	                                "From: \"a\\\"b\" <x@y>\n"
	                                "To: \"q\\\"q\\\"q\\\"q\\\"q\\\"q\" <z@y>\n"
	                                "Message-ID:\n"
	                                "Date:  Mon,\n  1 Jan 2024  \n\n");
	(void)state;

	/* 8-bit and more than 4 escapes: literals; empty: ""; folds unfolded */
	assert_render(p, R_ENVELOPE,
	              "(\"Mon,  1 Jan 2024\" {5}\r\ncaf\xc3\xa9 ((\"a\\\"b\" NIL \"x\" \"y\")) "
	              "((\"a\\\"b\" NIL \"x\" \"y\")) ((\"a\\\"b\" NIL \"x\" \"y\")) "
	              "(({11}\r\nq\"q\"q\"q\"q\"q NIL \"z\" \"y\")) NIL NIL NIL \"\")");
	mime_free(p);

	/* Sender and Reply-To fall back to From; an empty Sender too */
	p = parse_str("From: a@b\nSender: ;\nReply-To: r@b\n\n");
	assert_render(p, R_ENVELOPE,
	              "(NIL NIL ((NIL NIL \"a\" \"b\")) ((NIL NIL \"a\" \"b\")) ((NIL NIL \"r\" \"b\")) "
	              "NIL NIL NIL NIL NIL)");
	mime_free(p);
}

static void render_address(void *ctx, const struct mail_address_view *v)
{
	imap_write_address(ctx, v);
}

static void test_addresses(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "", "" },
		{ "(only a comment)", "" },
		{ "a@b", "(NIL NIL \"a\" \"b\")" },
		{ "\"Doe, John\" <john@ex.com>", "(\"Doe, John\" NIL \"john\" \"ex.com\")" },
		{ "John Q. Public <jqp@x.org>", "(\"John Q. Public\" NIL \"jqp\" \"x.org\")" },
		{ "jane@ex.com (Jane Roe)", "(\"Jane Roe\" NIL \"jane\" \"ex.com\")" },
		{ "<@r1,@r2:x@y>", "(NIL \"@r1,@r2\" \"x\" \"y\")" },
		{ "undisclosed-recipients:;", "(NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)" },
		{ "g: a@b, c@d", "(NIL NIL \"g\" NIL)(NIL NIL \"a\" \"b\")(NIL NIL \"c\" \"d\")(NIL NIL NIL NIL)" },
		{ ",,a@b,,;", "(NIL NIL \"a\" \"b\")" },
		{ "a . b @ c . d", "(NIL NIL \"a.b\" \"c.d\")" },
		{ "\"a b\"@c", "(NIL NIL \"a b\" \"c\")" },
		{ "x@[1.2.3.4]", "(NIL NIL \"x\" \"[1.2.3.4]\")" },
		{ "user", "(NIL NIL \"user\" \"MISSING_DOMAIN\")" },
		{ "Name <user>", "(\"Name\" NIL \"user\" \"MISSING_DOMAIN\")" },
		{ "Foo <>", "(\"Foo\" NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\")" },
		{ "John Doe john@x", "(\"John Doe\" NIL \"john\" \"x\")" },
		{ "<a@b, c@d", "(NIL NIL \"a\" \"b\")(NIL NIL \"c\" \"d\")" },
		/* no address hides behind another (the SMTP From: check) */
		{ "Name <a@x> <b@y>", "(\"Name\" NIL \"a\" \"x\")(NIL NIL \"b\" \"y\")" },
		{ "a@b c@d", "(NIL NIL \"a\" \"b\")(NIL NIL \"c\" \"d\")" },
		{ "a@b (c) d@e", "(\"c\" NIL \"a\" \"b\")(NIL NIL \"d\" \"e\")" },
		{ "<a@b> junk", "(NIL NIL \"a\" \"b\")(NIL NIL \"junk\" \"MISSING_DOMAIN\")" },
		{ "Foo <a@b> (c)", "(\"Foo\" NIL \"a\" \"b\")" },
		{ "=?utf-8?q?J=C3=B6rg?= <j@x>", "(\"=?utf-8?q?J=C3=B6rg?=\" NIL \"j\" \"x\")" },
		{ "J\xc3\xb6rg <j@x>", "({5}\r\nJ\xc3\xb6rg NIL \"j\" \"x\")" },
		{ "\"unterminated <a@b>", "(NIL NIL \"unterminated <a@b>\" \"MISSING_DOMAIN\")" },
	};
	(void)state;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		/* the neutral parser, rendered the way ENVELOPE writes each address */
		struct buf o;
		buf_init(&o);
		mail_address_list_parse(cases[i].in, strlen(cases[i].in), render_address, &o);
		if (strcmp(o.data, cases[i].out) != 0)
			fail_msg("addresses %s: got %s, want %s", cases[i].in, o.data, cases[i].out);
		buf_free(&o);
	}
}

/* "first@x, second@y, " and then tail repeated to about 60 KiB (under
 * MIME_FIELD_MAX); malloc'd. */
static char *address_bomb(const char *tail)
{
	size_t len = 0, cap = 61 * 1024, n = strlen(tail);
	char *v = malloc(cap);

	len = (size_t)sprintf(v, "first@x, second@y, ");
	while (len + n < 60 * 1024) {
		memcpy(v + len, tail, n);
		len += n;
	}
	v[len] = '\0';
	return v;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* The ENVELOPE of a message whose only field is "To: value". */
static char *envelope_of_to(const char *value)
{
	size_t n = strlen(value) + 16;
	char *msg = malloc(n);
	struct mime_part *p;
	char *env;

	snprintf(msg, n, "To: %s\n\n", value);
	p = mime_parse(msg, strlen(msg));
	env = render(p, R_ENVELOPE);
	mime_free(p);
	free(msg);
	return env;
}

/* Address structures in the only list of an ENVELOPE (none of the strings
 * in these tests holds a parenthesis); checks the list is closed. */
static size_t list_structures(const char *env)
{
	size_t open = 0, close = 0;

	for (const char *c = env; *c != '\0'; c++) {
		open += *c == '(';
		close += *c == ')';
	}
	assert_int_equal(open, close);
	assert_true(ends_with(env, ")) NIL NIL NIL NIL)"));
	return open - 2;        /* the envelope's and the list's own */
}

static void assert_first_addresses(const char *env)
{
	static const char prefix[] = "(NIL NIL NIL NIL NIL ((NIL NIL \"first\" \"x\")"
	                             "(NIL NIL \"second\" \"y\")";

	if (strncmp(env, prefix, strlen(prefix)) != 0)
		fail_msg("the first addresses are missing: %.120s", env);
}

static void test_envelope_address_cap(void **state)
{
	/* what each element renders as: an address, a group start and end,
	 * MISSING_MAILBOX for "<>", "@" and "\"\"", nothing for ",," and "(c)",
	 * and addresses without commas between them */
	static const char *const tails[] = { "a,", "g:;", ",,<>,(c),\"\",@,", "a@b " };
	static const char *const fields[] = { "From", "Sender", "Reply-To", "To", "Cc", "Bcc" };
	char *v, *env;
	(void)state;

	for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
		v = address_bomb(tails[i]);
		env = envelope_of_to(v);
		assert_first_addresses(env);
		size_t n = list_structures(env);
		if (n > IMAP_ENVELOPE_MAX_ADDRESSES || n < IMAP_ENVELOPE_MAX_ADDRESSES - 1)
			fail_msg("\"%s\": %zu address structures", tails[i], n);
		free(env);
		free(v);
	}

	/* a group left open: its end still comes last, within the cap */
	v = address_bomb("a,");
	memcpy(v, "G:", 2);     /* "G:rst@x, second@y, a,a,..." */
	env = envelope_of_to(v);
	assert_non_null(strstr(env, "((NIL NIL \"G\" NIL)(NIL NIL \"rst\" \"x\")"));
	assert_true(ends_with(env, "(NIL NIL NIL NIL)) NIL NIL NIL NIL)"));
	assert_int_equal(list_structures(env), IMAP_ENVELOPE_MAX_ADDRESSES);
	free(env);

	/* every address field at once: a few dozen KiB, not megabytes */
	size_t len = 0, cap = 6 * (strlen(v) + 16) + 16;
	char *msg = malloc(cap);
	v[0] = 'f';
	v[1] = 'i';
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
		len += (size_t)sprintf(msg + len, "%s: %s\n", fields[i], v);
	len += (size_t)sprintf(msg + len, "\nbody\n");
	struct mime_part *p = mime_parse(msg, len);
	env = render(p, R_ENVELOPE);
	assert_true(strlen(env) < 6 * IMAP_ENVELOPE_MAX_ADDRESSES * 40);
	assert_true(strncmp(env, "(NIL NIL ((NIL NIL \"first\" \"x\")", 31) == 0);
	free(env);
	mime_free(p);
	free(msg);
	free(v);

	/* the plain address parser (the SMTP From: check) sees every address */
	struct mail_address *a;
	v = address_bomb("a,");
	size_t n = mail_address_list_new(v, strlen(v), &a);
	assert_true(n > 10 * IMAP_ENVELOPE_MAX_ADDRESSES);
	mail_address_list_free(a, n);
	free(v);
}

static void test_decode_header(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "=?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus?= =?UTF-8?Q?_M=C3=BCnchen?= und\r\n =?windows-1252?Q?=80_100?=",
		  "Gr\xc3\xbc\xc3\x9f" "e aus M\xc3\xbcnchen und \xe2\x82\xac 100" },
		{ "=?iso-8859-1?q?Fran=E7ois?=", "Fran\xc3\xa7ois" },
		{ "=?UTF-8?B?SsO2cmcgTcO8bGxlcg==?=", "J\xc3\xb6rg M\xc3\xbcller" },
		/* a character split between two words */
		{ "=?utf-8?q?=C3?=  =?utf-8?q?=A9?=", "\xc3\xa9" },
		{ "=?x-unknown?q?abc?= tail", "=?x-unknown?q?abc?= tail" },
		{ "=?utf-8?q?a=FFb?=", "a\xef\xbf\xbd" "b" },
		{ "=?us-ascii?q?a=E9?=", "a\xef\xbf\xbd" },
		{ "=?utf-8*en?q?hi?=", "hi" },
		{ "=?utf-8?x?abc?=", "=?utf-8?x?abc?=" },
		{ "=?utf-8?q?abc", "=?utf-8?q?abc" },
		{ "=?utf-8?q?a?=x=?utf-8?q?b?=", "axb" },
		{ "=?utf-8?q?a?= b", "a b" },
		{ "=?utf-8?b?w6k?=", "\xc3\xa9" },
		{ "plain\n text", "plain text" },
	};
	char out[256];
	(void)state;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t n = mail_encoded_words_decode(cases[i].in, out, sizeof out);
		if (strcmp(out, cases[i].out) != 0)
			fail_msg("decode %s: got %s", cases[i].in, out);
		assert_int_equal(n, strlen(cases[i].out));
	}
	/* cut at a character boundary */
	assert_int_equal(mail_encoded_words_decode("=?utf-8?q?=C3=A9=C3=A9?=", out, 4), 2);
	assert_string_equal(out, "\xc3\xa9");
	assert_int_equal(mail_encoded_words_decode("abc", out, 0), 0);
}

static const char hdr_sample[] = " stray fold\nFrom: a@b\nSubject : one\n two\nX-Junk no colon\n"
                                 "To: c@d\nsubject: again\n\nBody: not a field\n";

static void test_header_access(void **state)
{
	struct mail_header_iter it;
	struct mail_field f;
	char buf[64];
	static const char *const names[] = { "From", "Subject", "To", "subject" };
	size_t i = 0;
	char *dup;
	(void)state;

	mail_header_iter_init(&it, hdr_sample, strlen(hdr_sample), MAIL_HEADER_LENIENT);
	while (mail_header_next(&it, &f)) {
		assert_true(i < 4);
		assert_int_equal(f.name_len, strlen(names[i]));
		assert_memory_equal(f.name, names[i], f.name_len);
		i++;
	}
	assert_int_equal(i, 4);
	assert_true(mail_header_find(hdr_sample, strlen(hdr_sample), "SUBJECT", &f));
	assert_int_equal(f.value_len, 9);
	assert_memory_equal(f.value, " one\n two", 9);
	assert_memory_equal(f.raw, "Subject : one\n two\n", f.raw_len);
	assert_int_equal(mail_unfold(f.value, f.value_len, buf, sizeof buf), 7);
	assert_string_equal(buf, "one two");
	assert_int_equal(mail_unfold(f.value, f.value_len, buf, 4), 7);
	assert_string_equal(buf, "one");
	dup = mail_unfold_dup(f.value, f.value_len);
	assert_string_equal(dup, "one two");
	free(dup);
	assert_false(mail_header_find(hdr_sample, strlen(hdr_sample), "Body", &f));
}

static void test_filter_headers(void **state)
{
	static const char *const names[] = { "subject", "TO" };
	struct buf o;
	size_t crlflen;
	char *crlf = to_crlf(hdr_sample, strlen(hdr_sample), &crlflen);
	(void)state;

	buf_init(&o);
	imap_filter_headers(hdr_sample, strlen(hdr_sample), names, 2, false, &o);
	assert_string_equal(o.data, "Subject : one\r\n two\r\nTo: c@d\r\nsubject: again\r\n\r\n");
	buf_reset(&o);
	imap_filter_headers(crlf, crlflen, names, 2, false, &o);
	assert_string_equal(o.data, "Subject : one\r\n two\r\nTo: c@d\r\nsubject: again\r\n\r\n");
	buf_reset(&o);
	imap_filter_headers(hdr_sample, strlen(hdr_sample), names, 2, true, &o);
	assert_string_equal(o.data, "From: a@b\r\n\r\n");
	buf_reset(&o);
	/* the last field of a header without line end */
	imap_filter_headers("To: x", 5, names, 2, false, &o);
	assert_string_equal(o.data, "To: x\r\n\r\n");
	buf_free(&o);
	free(crlf);
}

static void test_section_syntax(void **state)
{
	static const char *const bad[] = { "0", "01", "1.", ".1", "1..2", "MIME", "HEADER.FOO",
	                                   "TEXTX", "1.MIMEX", "HEADER.FIELDSX", "x", "1.2.", "HEADER " };
	static const char *const none[] = { "3", "1.1", "1.TEXT", "1.HEADER", "2.3", "2.1.1", "9.MIME" };
	size_t len;
	char *buf = read_file("nested_rfc822", ".eml", &len);
	struct mime_part *p = mime_parse(buf, len);
	struct imap_span sp, hdr;
	(void)state;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (imap_section_span(p, bad[i], &sp) != IMAP_SPAN_BAD)
			fail_msg("section %s not BAD", bad[i]);
	for (size_t i = 0; i < sizeof none / sizeof none[0]; i++)
		if (imap_section_span(p, none[i], &sp) != IMAP_SPAN_NONE)
			fail_msg("section %s not NONE", none[i]);
	assert_int_equal(imap_section_span(p, "header", &hdr), IMAP_SPAN_OK);
	assert_int_equal(hdr.what, IMAP_SPAN_HEADER);
	assert_int_equal(imap_section_span(p, "header.fields (From To)", &sp), IMAP_SPAN_OK);
	assert_int_equal(sp.what, IMAP_SPAN_HEADER_FIELDS);
	assert_int_equal(sp.offset, hdr.offset);
	assert_int_equal(sp.size, hdr.size);
	assert_int_equal(imap_section_span(p, "2.HEADER.FIELDS.NOT (To)", &sp), IMAP_SPAN_OK);
	assert_int_equal(sp.what, IMAP_SPAN_HEADER_FIELDS_NOT);
	assert_int_equal(sp.offset, 313);
	assert_int_equal(imap_section_span(p, "2.1.mime", &sp), IMAP_SPAN_OK);
	assert_int_equal(sp.what, IMAP_SPAN_MIME);
	assert_memory_equal(buf + sp.offset, "Content-Type: text/plain\n\n", sp.size);
	assert_int_equal(imap_section_span(p, "2.2", &sp), IMAP_SPAN_OK);
	assert_memory_equal(buf + sp.offset, "<p>Meet at 6.</p>", sp.size);
	assert_int_equal(imap_section_span(p, "99999999999999999999", &sp), IMAP_SPAN_NONE);
	mime_free(p);
	free(buf);
}

static void test_params(void **state)
{
	struct mime_part *p = parse_str(
		"Content-Type: Text/HTML; charset = \"utf-8\" (comment); format=flowed;; junk;"
		" boundary=a=b=c; name=\"q\\\"x\"; empty=; noval\n"
		"Content-Transfer-Encoding: Quoted-Printable (x)\n"
		"Content-Disposition: ATTACHMENT; filename=\"a b.txt\"\n"
		"Content-Language: en-GB (English), fr\n\nx");
	(void)state;

	assert_string_equal(p->type, "text");
	assert_string_equal(p->subtype, "html");
	assert_string_equal(mime_param_get(p->params, p->nparams, "BOUNDARY"), "a=b=c");
	assert_null(mime_param_get(p->params, p->nparams, "noval"));
	assert_render(p, R_BODYSTRUCTURE,
	              "(\"TEXT\" \"HTML\" (\"CHARSET\" \"utf-8\" \"FORMAT\" \"flowed\" \"BOUNDARY\" \"a=b=c\" "
	              "\"NAME\" \"q\\\"x\" \"EMPTY\" \"\") NIL NIL \"QUOTED-PRINTABLE\" 1 0 NIL "
	              "(\"ATTACHMENT\" (\"FILENAME\" \"a b.txt\")) (\"en-GB\" \"fr\") NIL)");
	mime_free(p);

	/* invalid type: the RFC 2045 5.2 default, parameters dropped */
	p = parse_str("Content-Type: text; charset=utf-8\n\nx");
	assert_render(p, R_BODY, "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 1 0)");
	mime_free(p);

	/* RFC 2231: sections out of order, a gap ends the value; unknown charset */
	p = parse_str("Content-Type: application/x; a*1=\"two\"; a*0=\"one \"; a*3=x;"
	              " b*=koi8-r'ru'%C1%C2\n\nx");
	assert_string_equal(mime_param_get(p->params, p->nparams, "a"), "one two");
	assert_string_equal(p->params[1].charset, "koi8-r");
	assert_string_equal(p->params[1].lang, "ru");
	assert_render(p, R_BODY, "(\"APPLICATION\" \"X\" (\"A\" \"one two\" \"B*\" \"koi8-r'ru'%C1%C2\") "
	                         "NIL NIL \"7BIT\" 1)");
	mime_free(p);
}

static void test_boundary_prefix(void **state)
{
	/* boundaries "b1" and "b10", and a body line starting with "--b1" */
	struct mime_part *p = parse_str("Content-Type: multipart/mixed; boundary=b1\n\n"
	                                "--b1\nContent-Type: multipart/alternative; boundary=b10\n\n"
	                                "--b10\nContent-Type: text/plain\n\nx\n--b10--\n"
	                                "--b1 \nContent-Type: text/plain\n\n--b1x is body text\n--b1--\n");
	(void)state;

	assert_render(p, R_BODY,
	              "(((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 1 0) \"ALTERNATIVE\")"
	              "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 18 0) \"MIXED\")");
	mime_free(p);
}

static void test_many_parts(void **state)
{
	size_t cap = 5000 * 48 + 64, len = 0, lastlen;
	char *buf = malloc(cap);
	struct mime_part *p, *last;
	struct imap_span sp;
	char *bs;
	(void)state;

	len += (size_t)sprintf(buf, "Content-Type: multipart/mixed; boundary=b\n\n");
	for (int i = 0; i < 5000; i++)
		len += (size_t)sprintf(buf + len, "--b\nContent-Type: text/plain\n\npart %d\n", i);
	len += (size_t)sprintf(buf + len, "--b--\n");
	p = mime_parse(buf, len);
	assert_int_equal(mime_count_parts(p), MIME_MAX_PARTS);
	assert_int_equal(p->nchildren, MIME_MAX_PARTS - 1);
	assert_true(p->flags & MIME_PART_LIMITED);
	/* the last part takes in the rest of the message */
	for (last = p->children; last->next != NULL; last = last->next)
		;
	assert_int_equal(last->body_offset + last->body_size, len);
	assert_int_equal(imap_section_span(p, "999", &sp), IMAP_SPAN_OK);
	assert_int_equal(sp.offset, last->body_offset);
	assert_int_equal(imap_section_span(p, "1000", &sp), IMAP_SPAN_NONE);
	bs = render(p, R_BODYSTRUCTURE);
	lastlen = strlen(bs);
	assert_true(lastlen > 999 * 60 && lastlen < 999 * 120);
	free(bs);
	mime_free(p);
	free(buf);
}

static void test_deep_rfc822(void **state)
{
	size_t len = 0;
	char *buf = malloc(100 * 64 + 64), path[128] = "1";
	struct mime_part *p, *q;
	struct imap_span sp;
	char *bs;
	(void)state;

	for (int i = 0; i < 100; i++)
		len += (size_t)sprintf(buf + len, "Subject: level %d\nContent-Type: message/rfc822\n\n", i);
	len += (size_t)sprintf(buf + len, "Subject: bottom\n\nbody\n");
	p = mime_parse(buf, len);
	/* message/rfc822 containers at depths 0..19, a leaf at 20 */
	assert_int_equal(mime_count_parts(p), MIME_MAX_DEPTH + 1);
	for (q = p; q->children != NULL; q = q->children)
		;
	assert_int_equal(q->depth, MIME_MAX_DEPTH);
	assert_true(q->flags & MIME_PART_LIMITED);
	assert_string_equal(q->type, "application");
	assert_int_equal(q->body_offset + q->body_size, len);
	bs = render(p, R_BODYSTRUCTURE);
	assert_non_null(strstr(bs, "(\"APPLICATION\" \"OCTET-STREAM\" NIL NIL NIL \"7BIT\""));
	free(bs);
	/* 1.1.1...: into each message; the leaf is the 11th "1" pair */
	for (int i = 0; i < 10; i++)
		strcat(path, ".1");
	assert_int_equal(imap_section_span(p, path, &sp), IMAP_SPAN_OK);
	mime_free(p);
	free(buf);
}

static void test_field_limits(void **state)
{
	size_t len = 0, cap = 300 * 1024;
	char *buf = malloc(cap);
	struct mime_part *p;
	(void)state;

	/* a huge Subject is kept up to MIME_FIELD_MAX (the blank after the
	 * colon counted) */
	len += (size_t)sprintf(buf, "Subject: ");
	memset(buf + len, 'x', 200 * 1024);
	len += 200 * 1024;
	len += (size_t)sprintf(buf + len, "\n\nbody\n");
	p = mime_parse(buf, len);
	assert_int_equal(strlen(p->envelope->subject), MIME_FIELD_MAX - 1);
	mime_free(p);

	/* fields past MIME_MAX_FIELDS are not looked at */
	len = 0;
	for (int i = 0; i < MIME_MAX_FIELDS - 1; i++)
		len += (size_t)sprintf(buf + len, "X-%d: v\n", i);
	len += (size_t)sprintf(buf + len, "Content-Type: text/html\nSubject: late\n\nx\n");
	p = mime_parse(buf, len);
	assert_string_equal(p->subtype, "html");
	assert_null(p->envelope->subject);
	mime_free(p);
	free(buf);
}

static void test_store_budget(void **state)
{
	size_t len = 0, each = 60 * 1024, total = 0;
	char *buf = malloc(100 * (each + 64) + 64);
	struct mime_part *p;
	(void)state;

	len += (size_t)sprintf(buf, "Content-Type: multipart/mixed; boundary=b\n\n");
	for (int i = 0; i < 100; i++) {
		len += (size_t)sprintf(buf + len, "--b\nContent-Description: ");
		memset(buf + len, 'd', each);
		len += each;
		len += (size_t)sprintf(buf + len, "\n\nx\n");
	}
	p = mime_parse(buf, len);
	assert_int_equal(p->nchildren, 100);
	assert_int_equal(strlen(p->children->description), each);
	for (struct mime_part *c = p->children; c != NULL; c = c->next)
		total += strlen(c->description);
	assert_true(total < MIME_STORE_MAX);
	assert_true(total > MIME_STORE_MAX - 2 * each);
	mime_free(p);
	free(buf);
}

static void test_crlf(void **state)
{
	struct mail_crlf c;
	char out[16];
	size_t used, n;
	(void)state;

	assert_int_equal(mail_crlf_size("a\nb\r\n\n", 6), 8);
	assert_int_equal(mail_crlf_size("\n", 1), 2);
	mail_crlf_init(&c);
	/* a CR ending one piece and the LF starting the next: no extra CR */
	n = mail_crlf_convert(&c, "x\r", 2, &used, out, sizeof out);
	assert_int_equal(used, 2);
	n += mail_crlf_convert(&c, "\ny\n", 3, &used, out + n, sizeof out - n);
	assert_int_equal(used, 3);
	assert_memory_equal(out, "x\r\ny\r\n", n);
	assert_int_equal(n, 6);
	/* an LF that does not fit with its CR waits */
	mail_crlf_init(&c);
	n = mail_crlf_convert(&c, "ab\n", 3, &used, out, 3);
	assert_int_equal(n, 2);
	assert_int_equal(used, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate(test_sample, "plain"),
		cmocka_unit_test_prestate(test_sample, "alternative"),
		cmocka_unit_test_prestate(test_sample, "mixed_attachment"),
		cmocka_unit_test_prestate(test_sample, "nested_rfc822"),
		cmocka_unit_test_prestate(test_sample, "rfc2231"),
		cmocka_unit_test_prestate(test_sample, "encoded_words"),
		cmocka_unit_test_prestate(test_sample, "groups"),
		cmocka_unit_test_prestate(test_sample, "missing_boundary"),
		cmocka_unit_test_prestate(test_sample, "unterminated"),
		cmocka_unit_test_prestate(test_sample, "malformed"),
		cmocka_unit_test_prestate(test_sample, "digest"),
		cmocka_unit_test_prestate(test_sample, "deep_nesting"),
		cmocka_unit_test_prestate(test_sample, "rfc3501_example"),
		cmocka_unit_test(test_empty_and_header_only),
		cmocka_unit_test(test_envelope_strings),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_envelope_address_cap),
		cmocka_unit_test(test_decode_header),
		cmocka_unit_test(test_header_access),
		cmocka_unit_test(test_filter_headers),
		cmocka_unit_test(test_section_syntax),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_boundary_prefix),
		cmocka_unit_test(test_many_parts),
		cmocka_unit_test(test_deep_rfc822),
		cmocka_unit_test(test_field_limits),
		cmocka_unit_test(test_store_budget),
		cmocka_unit_test(test_crlf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
