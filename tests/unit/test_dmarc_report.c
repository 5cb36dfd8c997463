/* DMARC aggregate reports: the event of a judged message, rua= destinations
 * (hostile ones skipped), external destinations' authorisation (RFC 7489
 * 7.1), the XML with hostile text escaped, gzip, and the mail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "core/buf.h"
#include "mailauth/dmarc_report.h"

static struct orgdomain *od;

static int setup(void **state)
{
	char err[256];
	(void)state;
	od = orgdomain_open(NULL, err, sizeof(err));
	return od == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	orgdomain_close(od);
	return 0;
}

static void test_event(void **state)
{
	(void)state;
	struct dmarc_found f = { .status = DMARC_FOUND_RECORD };
	f.rec.p = DMARC_POLICY_REJECT;
	f.rec.sp = DMARC_POLICY_QUARANTINE;
	f.rec.pct = 50;
	f.rec.aspf = DMARC_ALIGN_STRICT;
	strcpy(f.rec.rua[0], "mailto:a@example.org");
	strcpy(f.rec.rua[1], "mailto:b@example.net!5m");
	f.rec.nrua = 2;
	strcpy(f.from_domain, "news.example.org");
	strcpy(f.policy_domain, "example.org");
	struct dmarc_dkim_sig sigs[] = {
		{ .d = "other.example", .pass = true, .whole_body = true },
		{ .d = "Example.ORG", .pass = true, .whole_body = true },
	};
	struct dmarc_input in = { .from_domain = "news.example.org", .spf = DMARC_SPF_SOFTFAIL,
	                          .spf_domain = "bounces.example.com", .dkim = sigs, .ndkim = 2 };
	struct dmarc_outcome out = { .result = DMARC_RESULT_PASS, .dkim_aligned = true,
	                             .disposition = DMARC_DISP_ACCEPT };
	struct dmarc_agg_event ev;
	char rua[DMARC_REPORT_RUA_TEXT];
	dmarc_report_event(&ev, rua, 86400 * 20000 + 5, "192.0.2.1", od, &f, &in, &out);
	assert_int_equal(ev.day, 20000);
	assert_string_equal(ev.policy_domain, "example.org");
	assert_string_equal(ev.header_from, "news.example.org");
	assert_string_equal(ev.p, "reject");
	assert_string_equal(ev.sp, "quarantine");
	assert_int_equal(ev.pct, 50);
	assert_int_equal(ev.adkim, 'r');
	assert_int_equal(ev.aspf, 's');
	assert_string_equal(ev.rua, "mailto:a@example.org,mailto:b@example.net!5m");
	assert_string_equal(ev.disposition, "none");
	assert_true(ev.dmarc_pass && ev.dkim_aligned && !ev.spf_aligned);
	assert_string_equal(ev.dkim_domain, "Example.ORG");     /* the aligned one */
	assert_string_equal(ev.dkim_result, "pass");
	assert_string_equal(ev.spf_result, "softfail");
	/* a failure names the first signature; Junk is a quarantine */
	out = (struct dmarc_outcome){ .result = DMARC_RESULT_FAIL, .disposition = DMARC_DISP_JUNK };
	sigs[0].pass = false;
	f.rec.sp = DMARC_POLICY_UNSET;
	dmarc_report_event(&ev, rua, 86400 * 20000, "192.0.2.1", od, &f, &in, &out);
	assert_string_equal(ev.dkim_domain, "other.example");
	assert_string_equal(ev.dkim_result, "fail");
	assert_string_equal(ev.disposition, "quarantine");
	assert_string_equal(ev.sp, "");
	assert_false(ev.dmarc_pass);
	in.ndkim = 0;
	dmarc_report_event(&ev, rua, 86400 * 20000, "192.0.2.1", od, &f, &in, &out);
	assert_string_equal(ev.dkim_domain, "");
	assert_string_equal(ev.dkim_result, "none");
}

static void test_dests(void **state)
{
	(void)state;
	struct dmarc_report_dest d[DMARC_REPORT_DESTS_MAX];
	assert_int_equal(dmarc_report_dests("mailto:Agg@Example.ORG!10m, mailto:x@y.example.net", d), 2);
	assert_string_equal(d[0].addr, "Agg@example.org");
	assert_string_equal(d[0].domain, "example.org");
	assert_int_equal(d[0].max_size, 10u << 20);
	assert_string_equal(d[1].addr, "x@y.example.net");
	assert_int_equal(d[1].max_size, 0);
	/* at most two, duplicates once */
	assert_int_equal(dmarc_report_dests("mailto:a@a.example,MAILTO:A@a.example,mailto:b@b.example,"
	                                    "mailto:c@c.example", d), 2);
	assert_string_equal(d[1].addr, "b@b.example");
	/* skipped: other schemes, hfields, escapes, odd addresses, bad sizes */
	const char *const hostile[] = {
		"https://example.org/dmarc", "mailto:a@example.org?subject=hi",
		"mailto:a%40b@example.org", "mailto:\"a b\"@example.org", "mailto:a@b@example.org",
		"mailto:@example.org", "mailto:a@", "mailto:a@localhost", "mailto:a@exa_mple.org",
		"mailto:a@example.org!", "mailto:a@example.org!10x", "mailto:a@example.org!m",
		"mailto:a@example.org!99999999999999999999", "mailto:a\r\nBcc: x@example.org",
		"mailto:.a@example.org", "mailto:a@-example.org", "mailto:", "",
		"mailto:a@example.org!10mm",
	};
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		if (dmarc_report_dests(hostile[i], d) != 0)
			fail_msg("taken: %s", hostile[i]);
	}
	char big[2000];
	memset(big, 'a', sizeof(big));
	memcpy(big, "mailto:", 7);
	strcpy(big + sizeof(big) - 14, "@example.org");
	assert_int_equal(dmarc_report_dests(big, d), 0);
}

static void test_external(void **state)
{
	(void)state;
	char name[300];
	assert_false(dmarc_report_is_external(od, "example.org", "example.org"));
	assert_false(dmarc_report_is_external(od, "mail.example.org", "reports.example.org"));
	assert_true(dmarc_report_is_external(od, "example.org", "example.net"));
	assert_true(dmarc_report_is_external(od, "a.co.uk", "b.co.uk"));
	assert_int_equal(dmarc_report_auth_name("example.org", "thirdparty.example", name,
	                                        sizeof(name)), 0);
	assert_string_equal(name, "example.org._report._dmarc.thirdparty.example");
	char long_label[260];
	memset(long_label, 'a', 240);
	for (int i = 60; i < 240; i += 60)
		long_label[i] = '.';
	strcpy(long_label + 240, ".example");
	assert_int_equal(dmarc_report_auth_name(long_label, "thirdparty.example", name, sizeof(name)),
	                 -1);
	const char *one[] = { "v=DMARC1" };
	const char *spf[] = { "v=spf1 -all" };
	const char *two[] = { "v=DMARC1", "v=DMARC1; rua=mailto:x@y.example" };
	assert_true(dmarc_report_authorised(one, NULL, 1));
	assert_false(dmarc_report_authorised(spf, NULL, 1));
	assert_false(dmarc_report_authorised(two, NULL, 2));
	assert_false(dmarc_report_authorised(NULL, NULL, 0));
}

static char *gunzip(const char *in, size_t len, size_t *outlen)
{
	size_t cap = 1 << 20;
	char *out = malloc(cap);
	z_stream z;
	memset(&z, 0, sizeof(z));
	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)out;
	z.avail_out = (uInt)cap - 1;
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	*outlen = z.total_out;
	out[*outlen] = '\0';
	inflateEnd(&z);
	return out;
}

static void build_xml(struct buf *xml, const char *ip, const char *from)
{
	struct dmarc_report_meta m = { "mx.example.org", "postmaster@mx.example.org", "20000.ab12",
	                               20000 };
	struct store_dmarc_domain d = { .day = 20000, .policy_domain = "example.org", .p = "reject",
	                                .sp = "", .adkim = "r", .aspf = "s", .pct = 100 };
	struct store_dmarc_row r = {
		.day = 20000, .policy_domain = "example.org", .source_ip = ip, .header_from = from,
		.disposition = "none", .dkim_aligned = true, .spf_aligned = false,
		.dkim_domain = "example.org", .dkim_result = "pass", .spf_domain = "",
		.spf_result = "none", .count = 7,
	};
	dmarc_report_xml_begin(xml, &m, &d);
	dmarc_report_xml_row(xml, &r);
	r.dkim_domain = "";
	dmarc_report_xml_row(xml, &r);
	dmarc_report_xml_end(xml);
}

static void test_xml(void **state)
{
	(void)state;
	struct buf xml = { 0 };
	build_xml(&xml, "192.0.2.1", "example.org");
	assert_non_null(strstr(xml.data, "<report_metadata>\n    <org_name>mx.example.org</org_name>\n"
	                       "    <email>postmaster@mx.example.org</email>\n"
	                       "    <report_id>20000.ab12</report_id>\n"
	                       "    <date_range>\n      <begin>1728000000</begin>\n"
	                       "      <end>1728086399</end>\n"));
	assert_non_null(strstr(xml.data, "<domain>example.org</domain>\n    <adkim>r</adkim>\n"
	                       "    <aspf>s</aspf>\n    <p>reject</p>\n    <sp>reject</sp>\n"
	                       "    <pct>100</pct>\n"));
	assert_non_null(strstr(xml.data, "<source_ip>192.0.2.1</source_ip>\n      <count>7</count>\n"
	                       "      <policy_evaluated>\n        <disposition>none</disposition>\n"
	                       "        <dkim>pass</dkim>\n        <spf>fail</spf>\n"));
	/* the second row has no DKIM result, only SPF's */
	const char *second = strstr(strstr(xml.data, "<record>") + 1, "<record>");
	assert_non_null(second);
	assert_null(strstr(second, "<dkim>\n"));
	assert_true(strncmp(xml.data + xml.len - 12, "</feedback>\n", 12) == 0);
	buf_free(&xml);

	/* hostile text cannot make markup, nor octets XML refuses */
	build_xml(&xml, "<x>&\"'</x>", "evil\x01.example\xff<!--");
	assert_non_null(strstr(xml.data, "<source_ip>&lt;x&gt;&amp;&quot;&apos;&lt;/x&gt;</source_ip>"));
	assert_non_null(strstr(xml.data, "<header_from>evil?.example?&lt;!--</header_from>"));
	for (size_t i = 0; i < xml.len; i++)
		assert_true((unsigned char)xml.data[i] >= 0x20 || xml.data[i] == '\n');

	/* gzip round trip */
	struct buf gz = { 0 };
	assert_int_equal(dmarc_report_gzip(xml.data, xml.len, &gz), 0);
	assert_true(gz.len > 18 && (unsigned char)gz.data[0] == 0x1f &&
	            (unsigned char)gz.data[1] == 0x8b);
	size_t n;
	char *back = gunzip(gz.data, gz.len, &n);
	assert_int_equal(n, xml.len);
	assert_memory_equal(back, xml.data, n);
	free(back);
	buf_free(&gz);
	buf_free(&xml);
}

static void test_message(void **state)
{
	(void)state;
	struct dmarc_report_meta m = { "mx.example.org", "postmaster@mx.example.org", "20000.ab12",
	                               20000 };
	struct buf msg = { 0 };
	dmarc_report_message(&msg, &m, "example.org", "agg@example.org", "\x1f\x8b\x08\x00", 4,
	                     "Mon, 1 Jan 2024 00:00:00 +0000");
	assert_non_null(strstr(msg.data, "From: DMARC reports <postmaster@mx.example.org>\n"
	                       "To: <agg@example.org>\n"));
	assert_non_null(strstr(msg.data, "Subject: Report Domain: example.org\n"
	                       " Submitter: mx.example.org\n Report-ID: <20000.ab12@mx.example.org>\n"));
	assert_non_null(strstr(msg.data, "Content-Type: application/gzip\n"
	                       "Content-Transfer-Encoding: base64\n"
	                       "Content-Disposition: attachment;\n filename=\"mx.example.org!example.org"
	                       "!1728000000!1728086399!20000.ab12.xml.gz\"\n\nH4sIAA==\n"));
	assert_non_null(strstr(msg.data, "\n--=_dmarc_20000.ab12--\n"));
	assert_null(strchr(msg.data, '\r'));
	buf_free(&msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event),
		cmocka_unit_test(test_dests),
		cmocka_unit_test(test_external),
		cmocka_unit_test(test_xml),
		cmocka_unit_test(test_message),
	};
	return cmocka_run_group_tests_name("dmarc_report", tests, setup, teardown);
}
