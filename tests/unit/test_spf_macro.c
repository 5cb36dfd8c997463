/* Unit tests for src/mailauth/spf_macro.c and spf_parse.c: the RFC 7208 7.4
 * macro examples, URL escaping, the 253-octet truncation, macro syntax
 * errors, and records a hostile domain could publish. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mailauth/spf_macro.h"
#include "mailauth/spf_parse.h"

static const struct spf_macro_vars vars = {
	.sender = "strong-bad@email.example.com", .local = "strong-bad",
	.sender_domain = "email.example.com", .domain = "email.example.com",
	.ip_dots = "192.0.2.3", .ip_text = "192.0.2.3", .helo = "mx.example.org",
	.receiver = "mx.example.net", .now = 1234,
};

static const char *domain(const char *spec)
{
	static char out[SPF_DOMAIN_MAX + 1];
	if (spf_expand_domain(spec, strlen(spec), &vars, out, sizeof(out)) < 0)
		return "ERROR";
	return out;
}

static const char *exp_text(const char *text)
{
	static char out[SPF_EXP_MAX];
	if (spf_expand_exp(text, strlen(text), &vars, out, sizeof(out)) < 0)
		return "ERROR";
	return out;
}

/* RFC 7208 7.4 */
static void test_rfc_examples(void **state)
{
	(void)state;
	assert_string_equal(domain("%{s}"), "strong-bad@email.example.com");
	assert_string_equal(domain("%{o}"), "email.example.com");
	assert_string_equal(domain("%{d4}"), "email.example.com");
	assert_string_equal(domain("%{d3}"), "email.example.com");
	assert_string_equal(domain("%{d2}"), "example.com");
	assert_string_equal(domain("%{d1}"), "com");
	assert_string_equal(domain("%{dr}"), "com.example.email");
	assert_string_equal(domain("%{d2r}"), "example.email");
	assert_string_equal(domain("%{l}"), "strong-bad");
	assert_string_equal(domain("%{l-}"), "strong.bad");
	assert_string_equal(domain("%{lr}"), "strong-bad");
	assert_string_equal(domain("%{lr-}"), "bad.strong");
	assert_string_equal(domain("%{l1r-}"), "strong");
	assert_string_equal(domain("%{ir}.%{v}._spf.%{d2}"), "3.2.0.192.in-addr._spf.example.com");
	assert_string_equal(domain("%{lr-}.lp.%{ir}.%{v}._spf.%{d2}"),
	                    "bad.strong.lp.3.2.0.192.in-addr._spf.example.com");
	assert_string_equal(domain("%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}"),
	                    "3.2.0.192.in-addr.strong.lp._spf.example.com");
	assert_string_equal(domain("%{d2}.trusted-domains.example.net"),
	                    "example.com.trusted-domains.example.net");
}

static void test_escapes_and_upper(void **state)
{
	(void)state;
	assert_string_equal(domain("a%%b%_c%-d.example.com"), "a%b c%20d.example.com");
	assert_string_equal(domain("%{S}"), "strong-bad%40email.example.com");
	assert_string_equal(exp_text("%{c} via %{r} at %{t}"), "192.0.2.3 via mx.example.net at 1234");
	/* a trailing dot goes for domains, stays in explanations */
	assert_string_equal(domain("%{d}."), "email.example.com");
	assert_string_equal(exp_text("end."), "end.");
	/* more parts asked for than there are: all of them */
	assert_string_equal(domain("%{d999}"), "email.example.com");
	assert_string_equal(domain("%{l2r+-}"), "bad.strong");
}

static void test_syntax_errors(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"%", "%x", "%{", "%{d", "%{x}", "%{d0}", "%{dz}", "%{d2r.;}", "a%(ir).b",
		"%{c}", "%{r}", "%{t}", /* explanation-only letters */
		"a b", "\x80", "\t",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(spf_macro_valid(bad[i], strlen(bad[i]), SPF_MACRO_DOMAIN, NULL));
		assert_string_equal(domain(bad[i]), "ERROR");
	}
	assert_true(spf_macro_valid("%{c} a b", 8, SPF_MACRO_EXP, NULL));
	assert_string_equal(exp_text("The %{x}-files."), "ERROR");
	assert_string_equal(exp_text("\xef\xbb\xbf" "Explanation"), "ERROR");
	bool p = false;
	assert_true(spf_macro_valid("%{p}.x", 6, SPF_MACRO_DOMAIN, &p));
	assert_true(p);
}

static void test_domain_spec(void **state)
{
	(void)state;
	static const char *const good[] = { "example.com", "example.com.", "%{d}", "%{d}.",
		                            "x.%{d2}", ".com", "a.b-c", "a.1-2", "a..com" };
	static const char *const bad[] = { "", "foo-bar", "example.123", "example.com..",
		                           "example.-com", "example.com-", "-all", "exa mple.com" };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(spf_domain_spec_valid(good[i], strlen(good[i]), NULL));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(spf_domain_spec_valid(bad[i], strlen(bad[i]), NULL));
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* RFC 7208 7.3: over 253 octets, whole labels go from the left */
static void test_truncation(void **state)
{
	(void)state;
	char spec[2048] = "";
	for (int i = 0; i < 40; i++)
		strcat(spec, "%{d}.");
	strcat(spec, "end.example");
	const char *out = domain(spec);
	assert_true(strlen(out) <= SPF_DOMAIN_MAX);
	assert_true(strlen(out) > SPF_DOMAIN_MAX - 20);
	assert_true(ends_with(out, "end.example"));
	/* the first label is whole: it follows a dot in the full expansion */
	assert_true(strncmp(out, "email.", 6) == 0 || strncmp(out, "example.", 8) == 0 ||
	            strncmp(out, "com.", 4) == 0);
	/* thousands of octets still end in the tail */
	char big[4096] = "";
	for (int i = 0; i < 100; i++)
		strcat(big, "%{s}.");
	strcat(big, "tail.example");
	out = domain(big);
	assert_true(strlen(out) <= SPF_DOMAIN_MAX);
	assert_true(ends_with(out, "tail.example"));
	/* a long label on the left goes whole; a single label over 253 octets
	 * cannot be cut to a name */
	char one[400];
	memset(one, 'a', 300);
	strcpy(one + 300, ".%{d}");
	assert_string_equal(domain(one), "email.example.com");
	strcpy(one + 300, "%{d1}");
	assert_string_equal(domain(one), "ERROR");
}

static void test_name_valid(void **state)
{
	(void)state;
	char label64[80];
	memset(label64, 'a', 64);
	strcpy(label64 + 64, ".com");
	assert_true(spf_name_valid("example.com."));
	assert_false(spf_name_valid("example..com"));
	assert_false(spf_name_valid(""));
	assert_false(spf_name_valid("."));
	assert_false(spf_name_valid(label64));
	assert_true(spf_name_valid(label64 + 1));
}

static int parse(const char *text, struct spf_record *rec)
{
	char err[128];
	return spf_record_parse(text, strlen(text), rec, err, sizeof(err));
}

static void test_parse_terms(void **state)
{
	(void)state;
	struct spf_record r;
	assert_int_equal(parse("v=spf1 -ip4:192.0.2.0/24 ~a:Example.com/28//64 mx//48 ?ptr "
	                       "include:_spf.%{d} exists:%{i}.x.example ip6:2001:db8::/32 "
	                       "redirect=r.example exp=e.example foo=bar +all", &r), 0);
	assert_int_equal(r.nmech, 8);
	assert_int_equal(r.mech[0].mech, SPF_MECH_IP4);
	assert_int_equal(r.mech[0].qual, '-');
	assert_int_equal(r.mech[0].cidr4, 24);
	assert_int_equal(r.mech[1].mech, SPF_MECH_A);
	assert_int_equal(r.mech[1].cidr4, 28);
	assert_int_equal(r.mech[1].cidr6, 64);
	assert_int_equal(r.mech[1].speclen, 11);
	assert_int_equal(r.mech[2].cidr4, 32);
	assert_int_equal(r.mech[2].cidr6, 48);
	assert_null(r.mech[2].spec);
	assert_int_equal(r.mech[3].qual, '?');
	assert_int_equal(r.mech[6].cidr6, 32);
	assert_int_equal(r.mech[7].mech, SPF_MECH_ALL);
	assert_int_equal(r.redirect_len, 9);
	assert_int_equal(r.exp_len, 9);
	spf_record_clear(&r);
	assert_int_equal(parse("V=SPF1", &r), 0);
	assert_int_equal(r.nmech, 0);
	spf_record_clear(&r);
}

/* RFC 7208 4.6: any of these anywhere is a permerror */
static void test_parse_errors(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"v=spf1 moo", "v=spf1 =all", "v=spf1 1up=foo", "v=spf1 -redirect=x.example",
		"v=spf1 redirect:x.example", "v=spf1 redirect=", "v=spf1 exp=", "v=spf1 all:x",
		"v=spf1 exp=a.example exp=b.example", "v=spf1 redirect=a.ex redirect=b.ex",
		"v=spf1 ip4:192.0.2.0/33", "v=spf1 ip4:192.0.2.0/024", "v=spf1 ip4:192.0.2",
		"v=spf1 ip4:192.0.2.1//32", "v=spf1 ip6:2001:db8::/129", "v=spf1 ip6:zz::",
		"v=spf1 a:1.2.3.4", "v=spf1 a:foo-bar", "v=spf1 a/33", "v=spf1 mx//129",
		"v=spf1 a:", "v=spf1 include", "v=spf1 exists", "v=spf1 foo=%abc",
		"v=spf1 a:example.com\rptr", "v=spf1 \x80" "a", "v=spf1 -all moo",
		"v=spf1 ptr/24", "v=spf1 include:x.example/24", "v=spf10", "v=spf1\tall",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct spf_record r;
		if (parse(bad[i], &r) == 0)
			fail_msg("accepted: %s", bad[i]);
		spf_record_clear(&r);
	}
	/* a NUL inside, and a record over the bound */
	struct spf_record r;
	char err[128];
	assert_int_equal(spf_record_parse("v=spf1 a\0 -all", 14, &r, err, sizeof(err)), -1);
	spf_record_clear(&r);
	static char big[SPF_RECORD_MAX + 10];
	memset(big, ' ', sizeof(big) - 1);
	memcpy(big, "v=spf1", 6);
	assert_int_equal(spf_record_parse(big, sizeof(big) - 1, &r, err, sizeof(err)), -1);
	spf_record_clear(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc_examples),
		cmocka_unit_test(test_escapes_and_upper),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_domain_spec),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_name_valid),
		cmocka_unit_test(test_parse_terms),
		cmocka_unit_test(test_parse_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
