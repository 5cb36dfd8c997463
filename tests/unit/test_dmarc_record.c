/* Unit tests for src/mailauth/dmarc_record.c: recognising a DMARC record
 * (v=DMARC1 first), each tag and its default, the p=/rua= rule of RFC 7489
 * 6.6.3, and the hostile cases: grammar breaks, repeated tags, bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mailauth/dmarc_record.h"

static enum dmarc_record_status parse(const char *txt, struct dmarc_record *rec)
{
	char err[128];
	return dmarc_record_parse(txt, strlen(txt), rec, err, sizeof(err));
}

static void test_is_record(void **state)
{
	(void)state;
	assert_true(dmarc_is_record("v=DMARC1; p=none", 16));
	assert_true(dmarc_is_record("v=DMARC1", 8));
	assert_true(dmarc_is_record(" v = DMARC1 ;p=reject", 21));
	assert_true(dmarc_is_record("V=DMARC1; p=none", 16));      /* tag names: any case */
	assert_false(dmarc_is_record("v=dmarc1; p=none", 16));     /* the value: exactly */
	assert_false(dmarc_is_record("v=DMARC10; p=none", 17));
	assert_false(dmarc_is_record("p=none; v=DMARC1", 16));     /* v= first */
	assert_false(dmarc_is_record("v=spf1 -all", 11));
	assert_false(dmarc_is_record("", 0));
	assert_false(dmarc_is_record("v=DMARC1\0; p=none", 17));
}

static void test_defaults(void **state)
{
	struct dmarc_record rec;
	(void)state;
	assert_int_equal(parse("v=DMARC1; p=reject", &rec), DMARC_RECORD_OK);
	assert_int_equal(rec.p, DMARC_POLICY_REJECT);
	assert_int_equal(rec.sp, DMARC_POLICY_UNSET);
	assert_int_equal(rec.np, DMARC_POLICY_UNSET);
	assert_int_equal(rec.adkim, DMARC_ALIGN_RELAXED);
	assert_int_equal(rec.aspf, DMARC_ALIGN_RELAXED);
	assert_int_equal(rec.pct, 100);
	assert_int_equal(rec.fo, DMARC_FO_0);
	assert_int_equal(rec.ri, 86400);
	assert_int_equal(rec.nrua, 0);
	assert_false(rec.p_defaulted);
}

static void test_all_tags(void **state)
{
	struct dmarc_record rec;
	(void)state;
	assert_int_equal(parse("v=DMARC1;p=quarantine;sp=reject;np=none;adkim=s;aspf=s;pct=25;"
	                       "fo=1:d:s;ri=3600;rua=mailto:a@example.org!10m,mailto:b@example.org;"
	                       "ruf=mailto:f@example.org;", &rec), DMARC_RECORD_OK);
	assert_int_equal(rec.p, DMARC_POLICY_QUARANTINE);
	assert_int_equal(rec.sp, DMARC_POLICY_REJECT);
	assert_int_equal(rec.np, DMARC_POLICY_NONE);
	assert_int_equal(rec.adkim, DMARC_ALIGN_STRICT);
	assert_int_equal(rec.aspf, DMARC_ALIGN_STRICT);
	assert_int_equal(rec.pct, 25);
	assert_int_equal(rec.fo, DMARC_FO_1 | DMARC_FO_D | DMARC_FO_S);
	assert_int_equal(rec.ri, 3600);
	assert_int_equal(rec.nrua, 2);
	assert_string_equal(rec.rua[0], "mailto:a@example.org!10m");
	assert_string_equal(rec.rua[1], "mailto:b@example.org");
	assert_int_equal(rec.nruf, 1);
	assert_string_equal(rec.ruf[0], "mailto:f@example.org");
}

static void test_whitespace_order_case(void **state)
{
	struct dmarc_record rec;
	(void)state;
	/* FWS around '=' and ';', tags in any order after v=, policy words in any case */
	assert_int_equal(parse("v = DMARC1 ;\t rua = mailto:r@example.org ; P = Reject ; pct=0",
	                       &rec), DMARC_RECORD_OK);
	assert_int_equal(rec.p, DMARC_POLICY_REJECT);
	assert_int_equal(rec.pct, 0);
	/* empty tag-specs say nothing */
	assert_int_equal(parse("v=DMARC1;; p=none; ;", &rec), DMARC_RECORD_OK);
	assert_int_equal(rec.p, DMARC_POLICY_NONE);
}

static void test_bad_values_get_defaults(void **state)
{
	struct dmarc_record rec;
	(void)state;
	/* RFC 7489 6.3: an invalid value of these tags is discarded for the default */
	assert_int_equal(parse("v=DMARC1; p=reject; adkim=x; aspf=strict; pct=101; fo=2; ri=-1",
	                       &rec), DMARC_RECORD_OK);
	assert_int_equal(rec.adkim, DMARC_ALIGN_RELAXED);
	assert_int_equal(rec.aspf, DMARC_ALIGN_RELAXED);
	assert_int_equal(rec.pct, 100);
	assert_int_equal(rec.fo, DMARC_FO_0);
	assert_int_equal(rec.ri, 86400);
	assert_int_equal(parse("v=DMARC1; p=reject; pct=50.5; ri=99999999999", &rec),
	                 DMARC_RECORD_OK);
	assert_int_equal(rec.pct, 100);
	assert_int_equal(rec.ri, 86400);
	assert_int_equal(parse("v=DMARC1; p=reject; pct=", &rec), DMARC_RECORD_OK);
	assert_int_equal(rec.pct, 100);
	/* unknown tags are ignored */
	assert_int_equal(parse("v=DMARC1; p=none; t=y; psd=n; x_future=1 2", &rec), DMARC_RECORD_OK);
}

static void test_policy_missing_or_invalid(void **state)
{
	struct dmarc_record rec;
	(void)state;
	assert_int_equal(parse("v=DMARC1", &rec), DMARC_RECORD_INVALID);
	assert_int_equal(parse("v=DMARC1; p=block", &rec), DMARC_RECORD_INVALID);
	assert_int_equal(parse("v=DMARC1; p=reject; sp=drop", &rec), DMARC_RECORD_INVALID);
	assert_int_equal(parse("v=DMARC1; p=", &rec), DMARC_RECORD_INVALID);
	/* RFC 7489 6.6.3: with a valid rua= it counts as p=none */
	assert_int_equal(parse("v=DMARC1; rua=mailto:r@example.org", &rec), DMARC_RECORD_OK);
	assert_int_equal(rec.p, DMARC_POLICY_NONE);
	assert_true(rec.p_defaulted);
	assert_int_equal(parse("v=DMARC1; p=reject; sp=x; rua=mailto:r@example.org", &rec),
	                 DMARC_RECORD_OK);
	assert_int_equal(rec.p, DMARC_POLICY_NONE);
	assert_int_equal(rec.sp, DMARC_POLICY_UNSET);
	/* an invalid rua= does not */
	assert_int_equal(parse("v=DMARC1; rua=not a uri", &rec), DMARC_RECORD_INVALID);
	assert_int_equal(parse("v=DMARC1; rua=mailto:", &rec), DMARC_RECORD_INVALID);
	assert_int_equal(parse("v=DMARC1; rua=mailto:a@b!x", &rec), DMARC_RECORD_INVALID);
}

static void test_grammar_breaks(void **state)
{
	struct dmarc_record rec;
	(void)state;
	assert_int_equal(parse("v=DMARC1; p=reject; garbage", &rec), DMARC_RECORD_INVALID);
	assert_int_equal(parse("v=DMARC1; p=reject; 1x=y", &rec), DMARC_RECORD_INVALID);
	assert_int_equal(parse("v=DMARC1; p=reject; =y", &rec), DMARC_RECORD_INVALID);
	assert_int_equal(parse("v=DMARC1; p=reject; x=\x01", &rec), DMARC_RECORD_INVALID);
	assert_int_equal(parse("v=DMARC1; p=reject; x=\xc3\xa9", &rec), DMARC_RECORD_INVALID);
	assert_int_equal(dmarc_record_parse("v=DMARC1; p=reject\0; p=none", 28, &rec, NULL, 0),
	                 DMARC_RECORD_INVALID);
	/* a known tag twice: two readers could pick different ones */
	assert_int_equal(parse("v=DMARC1; p=none; p=reject", &rec), DMARC_RECORD_INVALID);
	assert_int_equal(parse("v=DMARC1; p=none; pct=10; PCT=20", &rec), DMARC_RECORD_INVALID);
	assert_int_equal(parse("v=DMARC1; v=DMARC1; p=none", &rec), DMARC_RECORD_INVALID);
	assert_int_equal(parse("p=reject", &rec), DMARC_RECORD_NOT_DMARC);
}

static void test_uri_bounds(void **state)
{
	struct dmarc_record rec;
	char txt[8192], uri[400];
	(void)state;
	/* more URIs than kept: the first DMARC_URIS_MAX */
	assert_int_equal(parse("v=DMARC1; p=none; rua=mailto:1@x.org,mailto:2@x.org,mailto:3@x.org,"
	                       "mailto:4@x.org,mailto:5@x.org, mailto:6@x.org", &rec), DMARC_RECORD_OK);
	assert_int_equal(rec.nrua, DMARC_URIS_MAX);
	assert_string_equal(rec.rua[DMARC_URIS_MAX - 1], "mailto:4@x.org");
	/* a URI over DMARC_URI_MAX octets is not kept */
	memset(uri, 'a', sizeof(uri));
	memcpy(uri, "mailto:", 7);
	uri[sizeof(uri) - 1] = '\0';
	snprintf(txt, sizeof(txt), "v=DMARC1; p=none; rua=%s,mailto:ok@x.org", uri);
	assert_int_equal(parse(txt, &rec), DMARC_RECORD_OK);
	assert_int_equal(rec.nrua, 1);
	assert_string_equal(rec.rua[0], "mailto:ok@x.org");
	/* a record over DMARC_RECORD_MAX is not read */
	memset(txt, ' ', sizeof(txt));
	memcpy(txt, "v=DMARC1; p=none;", 17);
	txt[sizeof(txt) - 1] = '\0';
	assert_int_equal(parse(txt, &rec), DMARC_RECORD_NOT_DMARC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_is_record),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_all_tags),
		cmocka_unit_test(test_whitespace_order_case),
		cmocka_unit_test(test_bad_values_get_defaults),
		cmocka_unit_test(test_policy_missing_or_invalid),
		cmocka_unit_test(test_grammar_breaks),
		cmocka_unit_test(test_uri_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
