/* Unit tests for src/mailauth/zone_records.c (the record list and its
 * zone-file lines) and src/mailauth/zone_check.c (the verdict on each record
 * given what DNS answered). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mailauth/zone_check.h"
#include "mailauth/zone_records.h"

#define DOM "example.org"
#define HOST "mx.example.org"
#define RSA_P "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAabc"

static const char *const addrs[] = { "203.0.113.5", "2001:db8::25" };
static const struct zone_dkim_key keys[] = {
	{ "sel1", "rsa-sha256", "v=DKIM1; k=rsa; p=" RSA_P },
};
static const struct zone_input input = { .domain = DOM, .hostname = HOST, .addrs = addrs,
	                                 .naddrs = 2, .dkim = keys, .ndkim = 1 };

static const struct zone_record *find(const struct zone_list *l, enum zone_kind k, size_t nth)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->rec[i].kind == k && nth-- == 0)
			return &l->rec[i];
	return NULL;
}

static void test_build(void **state)
{
	(void)state;
	struct zone_list l = { 0 };
	zone_records_build(&input, &l);
	/* MX, SPF, DKIM, DMARC, A, AAAA, 2 PTR */
	assert_int_equal(l.n, 8);
	const struct zone_record *r = find(&l, ZONE_MX, 0);
	assert_string_equal(r->owner, DOM);
	assert_string_equal(r->value, "10 " HOST);
	r = find(&l, ZONE_SPF, 0);
	assert_string_equal(r->value, "v=spf1 mx ip4:203.0.113.5 ip6:2001:db8::25 -all");
	r = find(&l, ZONE_DKIM, 0);
	assert_string_equal(r->owner, "sel1._domainkey." DOM);
	assert_string_equal(r->subject, "sel1");
	r = find(&l, ZONE_DMARC, 0);
	assert_string_equal(r->owner, "_dmarc." DOM);
	assert_string_equal(r->value, "v=DMARC1; p=quarantine; rua=mailto:postmaster@" DOM);
	r = find(&l, ZONE_ADDR, 1);
	assert_int_equal(r->type, DNS_RR_AAAA);
	assert_string_equal(r->owner, HOST);
	r = find(&l, ZONE_PTR, 0);
	assert_string_equal(r->owner, "5.113.0.203.in-addr.arpa");
	assert_string_equal(r->value, HOST);
	for (size_t i = 0; i < l.n; i++)
		assert_true(strlen(l.rec[i].comment) > 10);
	zone_list_free(&l);

	/* no addresses known: mx alone, no A/AAAA or PTR */
	struct zone_input none = { .domain = DOM, .hostname = HOST };
	zone_records_build(&none, &l);
	assert_int_equal(l.n, 3);
	assert_string_equal(find(&l, ZONE_SPF, 0)->value, "v=spf1 mx -all");
	assert_non_null(strstr(find(&l, ZONE_SPF, 0)->comment, "A/AAAA"));
	zone_list_free(&l);
}

static void test_lines(void **state)
{
	(void)state;
	struct zone_list l = { 0 };
	char line[2048], big[700];
	zone_records_build(&input, &l);
	assert_int_equal(zone_record_line(find(&l, ZONE_MX, 0), line, sizeof(line)), 0);
	assert_string_equal(line, DOM ". IN MX 10 " HOST ".");
	assert_int_equal(zone_record_line(find(&l, ZONE_DMARC, 0), line, sizeof(line)), 0);
	assert_string_equal(line, "_dmarc." DOM ". IN TXT \"v=DMARC1; p=quarantine; "
	                          "rua=mailto:postmaster@" DOM "\"");
	assert_int_equal(zone_record_line(find(&l, ZONE_ADDR, 0), line, sizeof(line)), 0);
	assert_string_equal(line, HOST ". IN A 203.0.113.5");
	assert_int_equal(zone_record_line(find(&l, ZONE_PTR, 1), line, sizeof(line)), 0);
	assert_string_equal(line, "5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
	                          ".ip6.arpa. IN PTR " HOST ".");
	/* too small: an error, never a cut line */
	assert_int_equal(zone_record_line(find(&l, ZONE_DMARC, 0), line, 40), -1);
	zone_list_free(&l);

	/* a long TXT is cut into strings of 250 in parentheses; quotes escaped */
	memset(big, 'x', 600);
	big[0] = '"';
	big[600] = '\0';
	struct zone_dkim_key k = { "s", "rsa-sha256", big };
	zone_records_add_dkim(&l, DOM, &k);
	assert_int_equal(zone_record_line(&l.rec[0], line, sizeof(line)), 0);
	assert_true(strncmp(line, "s._domainkey." DOM ". IN TXT ( \"\\\"xxx", 36) == 0);
	assert_non_null(strstr(line, "x\" \"x"));
	assert_string_equal(line + strlen(line) - 4, "x\" )");
	assert_int_equal(strlen(line), strlen("s._domainkey." DOM ". IN TXT ( ") + 600 + 1 + 6 + 2 + 2);
	zone_list_free(&l);
}

/* The verdict on record kind k (nth of that kind) given the answer. */
static enum zone_verdict judge(enum zone_kind k, size_t nth, enum dns_status st,
                               const char *const *found, size_t n, char *detail)
{
	struct zone_list l = { 0 };
	zone_records_build(&input, &l);
	enum zone_verdict v = zone_check(find(&l, k, nth), &input, st, found, n, detail, 512);
	zone_list_free(&l);
	return v;
}

static void test_check_mx_addr_ptr(void **state)
{
	(void)state;
	char d[512];
	const char *mx_ok[] = { "20 backup.example.net", "10 MX.example.org" };
	const char *mx_other[] = { "10 mail.example.net" };
	const char *null_mx[] = { "0 ." };
	assert_int_equal(judge(ZONE_MX, 0, DNS_OK, mx_ok, 2, d), ZONE_CHECK_OK);
	assert_int_equal(judge(ZONE_MX, 0, DNS_OK, mx_other, 1, d), ZONE_CHECK_DIFFERS);
	assert_string_equal(d, "found: 10 mail.example.net");
	assert_int_equal(judge(ZONE_MX, 0, DNS_OK, null_mx, 1, d), ZONE_CHECK_DIFFERS);
	assert_int_equal(judge(ZONE_MX, 0, DNS_OK, NULL, 0, d), ZONE_CHECK_MISSING);
	assert_int_equal(judge(ZONE_MX, 0, DNS_NXDOMAIN, mx_ok, 2, d), ZONE_CHECK_MISSING);
	assert_int_equal(judge(ZONE_MX, 0, DNS_TEMPFAIL, NULL, 0, d), ZONE_CHECK_FAILED);
	assert_int_equal(judge(ZONE_MX, 0, DNS_BOGUS, NULL, 0, d), ZONE_CHECK_FAILED);

	const char *v6[] = { "2001:db8:0:0::25" };
	const char *v6_other[] = { "2001:db8::26" };
	assert_int_equal(judge(ZONE_ADDR, 1, DNS_OK, v6, 1, d), ZONE_CHECK_OK);
	assert_int_equal(judge(ZONE_ADDR, 1, DNS_OK, v6_other, 1, d), ZONE_CHECK_DIFFERS);

	const char *ptr_ok[] = { "mx.example.org." };
	const char *ptr_generic[] = { "static-5.provider.example" };
	assert_int_equal(judge(ZONE_PTR, 0, DNS_OK, ptr_ok, 1, d), ZONE_CHECK_OK);
	assert_int_equal(judge(ZONE_PTR, 0, DNS_OK, ptr_generic, 1, d), ZONE_CHECK_DIFFERS);
	assert_string_equal(d, "found: static-5.provider.example");
}

static void test_check_spf(void **state)
{
	(void)state;
	char d[512];
	const char *ok[] = { "google-site-verification=x", "v=spf1 mx -all" };
	const char *two[] = { "v=spf1 mx -all", "v=spf1 a -all" };
	const char *pass_all[] = { "v=spf1 +all" };
	const char *narrow[] = { "v=spf1 ip4:192.0.2.9 -all" };
	const char *other[] = { "some text" };
	assert_int_equal(judge(ZONE_SPF, 0, DNS_OK, ok, 2, d), ZONE_CHECK_OK);
	assert_int_equal(judge(ZONE_SPF, 0, DNS_OK, two, 2, d), ZONE_CHECK_DIFFERS);
	assert_non_null(strstr(d, "2 v=spf1 records"));
	assert_int_equal(judge(ZONE_SPF, 0, DNS_OK, pass_all, 1, d), ZONE_CHECK_DIFFERS);
	assert_non_null(strstr(d, "dangerous"));
	assert_int_equal(judge(ZONE_SPF, 0, DNS_OK, narrow, 1, d), ZONE_CHECK_DIFFERS);
	assert_non_null(strstr(d, "does not authorise"));
	assert_int_equal(judge(ZONE_SPF, 0, DNS_OK, other, 1, d), ZONE_CHECK_MISSING);
	assert_int_equal(judge(ZONE_SPF, 0, DNS_NXDOMAIN, NULL, 0, d), ZONE_CHECK_MISSING);
}

static void test_check_dkim_dmarc(void **state)
{
	(void)state;
	char d[512];
	const char *same[] = { "v=DKIM1; k=rsa; p=" RSA_P };
	const char *folded[] = { "k=rsa ;p = MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A MIIBCgKCAQEAabc; t=s" };
	const char *other[] = { "v=DKIM1; k=rsa; p=MIIBother" };
	const char *revoked[] = { "v=DKIM1; p=" };
	const char *junk[] = { "hello" };
	assert_int_equal(judge(ZONE_DKIM, 0, DNS_OK, same, 1, d), ZONE_CHECK_OK);
	assert_int_equal(judge(ZONE_DKIM, 0, DNS_OK, folded, 1, d), ZONE_CHECK_OK);
	assert_int_equal(judge(ZONE_DKIM, 0, DNS_OK, other, 1, d), ZONE_CHECK_DIFFERS);
	assert_non_null(strstr(d, "another key"));
	assert_int_equal(judge(ZONE_DKIM, 0, DNS_OK, revoked, 1, d), ZONE_CHECK_DIFFERS);
	assert_non_null(strstr(d, "revoked"));
	assert_int_equal(judge(ZONE_DKIM, 0, DNS_OK, junk, 1, d), ZONE_CHECK_DIFFERS);
	assert_int_equal(judge(ZONE_DKIM, 0, DNS_NXDOMAIN, NULL, 0, d), ZONE_CHECK_MISSING);

	const char *dmarc[] = { "v=DMARC1; p=reject; pct=100" };
	const char *dmarc_two[] = { "v=DMARC1; p=none", "v=DMARC1; p=reject" };
	const char *not_first[] = { "p=reject; v=DMARC1" };
	assert_int_equal(judge(ZONE_DMARC, 0, DNS_OK, dmarc, 1, d), ZONE_CHECK_OK);
	assert_true(strncmp(d, "policy p=reject", 15) == 0);
	assert_int_equal(judge(ZONE_DMARC, 0, DNS_OK, dmarc_two, 2, d), ZONE_CHECK_DIFFERS);
	assert_int_equal(judge(ZONE_DMARC, 0, DNS_OK, not_first, 1, d), ZONE_CHECK_MISSING);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_check_mx_addr_ptr),
		cmocka_unit_test(test_check_spf),
		cmocka_unit_test(test_check_dkim_dmarc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
