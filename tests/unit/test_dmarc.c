/* Unit tests for DMARC: organisational domains through libpsl
 * (src/mailauth/orgdomain.c), policy discovery over an in-memory DNS
 * (dmarc_discover.c) and evaluation (dmarc_eval.c): pass, fail,
 * quarantine, reject, subdomain policy, pct, relaxed and strict alignment,
 * each enforcement level, DNS failures, and the hostile cases beside them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cmocka.h>

#include "mailauth/dmarc.h"
#include "mailauth/orgdomain.h"

static struct orgdomain *od;

static int setup(void **state)
{
	char err[256];
	(void)state;
	od = orgdomain_open(NULL, err, sizeof(err));
	return od != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	orgdomain_close(od);
	return 0;
}

/* ---- organisational domains ---- */

static const char *org_of(const char *domain)
{
	static char out[ORGDOMAIN_NAME_MAX];
	char norm[ORGDOMAIN_NAME_MAX];
	if (orgdomain_normalize(domain, norm, sizeof(norm)) < 0)
		return "(invalid)";
	assert_int_equal(orgdomain_find(od, norm, out, sizeof(out)), 0);
	return out;
}

static void test_orgdomain_psl(void **state)
{
	(void)state;
	assert_string_equal(org_of("example.com"), "example.com");
	assert_string_equal(org_of("mail.example.com"), "example.com");
	assert_string_equal(org_of("a.b.c.example.com"), "example.com");
	/* a public suffix of two labels, and the suffix itself */
	assert_string_equal(org_of("example.co.uk"), "example.co.uk");
	assert_string_equal(org_of("a.b.example.co.uk"), "example.co.uk");
	assert_string_equal(org_of("co.uk"), "co.uk");
	assert_string_equal(org_of("uk"), "uk");
	/* the private section: one github.io name is not another's */
	assert_string_equal(org_of("alice.github.io"), "alice.github.io");
	assert_string_equal(org_of("www.alice.github.io"), "alice.github.io");
	/* a wildcard rule and its exception (*.kawasaki.jp, !city.kawasaki.jp) */
	assert_string_equal(org_of("a.b.kawasaki.jp"), "a.b.kawasaki.jp");
	assert_string_equal(org_of("x.city.kawasaki.jp"), "city.kawasaki.jp");
	/* single labels are their own */
	assert_string_equal(org_of("localhost"), "localhost");
	assert_string_equal(org_of("example"), "example");
}

static void test_orgdomain_normal_form(void **state)
{
	char out[ORGDOMAIN_NAME_MAX];
	(void)state;
	/* case and one trailing dot */
	assert_string_equal(org_of("Mail.EXAMPLE.co.UK."), "example.co.uk");
	assert_string_equal(org_of("example.com.."), "(invalid)");
	/* IDN: U-labels become A-labels, so both spellings align */
	assert_string_equal(org_of("mail.b\xc3\xbc" "cher.de"), "xn--bcher-kva.de");
	assert_string_equal(org_of("mail.xn--bcher-kva.de"), "xn--bcher-kva.de");
	assert_string_equal(org_of("B\xc3\x9c" "CHER.de"), "xn--bcher-kva.de");
	/* not domain names */
	assert_string_equal(org_of(""), "(invalid)");
	assert_string_equal(org_of("."), "(invalid)");
	assert_string_equal(org_of("a..example.com"), "(invalid)");
	assert_string_equal(org_of(".example.com"), "(invalid)");
	assert_string_equal(org_of("exa mple.com"), "(invalid)");
	assert_string_equal(org_of("example.com/x"), "(invalid)");
	assert_string_equal(org_of("\xff\xfe.com"), "(invalid)");
	char label[80], name[300];
	memset(label, 'a', 64);
	label[64] = '\0';
	snprintf(name, sizeof(name), "%s.com", label);
	assert_string_equal(org_of(name), "(invalid)");
	label[63] = '\0';
	snprintf(name, sizeof(name), "%s.com", label);
	assert_string_equal(org_of(name), name);
	/* 253 octets is the most */
	memset(name, 'a', 253);
	for (int i = 63; i < 253; i += 64)
		name[i] = '.';
	name[253] = '\0';
	assert_int_equal(orgdomain_normalize(name, out, sizeof(out)), 0);
	name[253] = 'a';
	name[254] = '\0';
	assert_int_equal(orgdomain_normalize(name, out, sizeof(out)), -1);
	/* the output must fit */
	assert_int_equal(orgdomain_normalize("example.com", out, 5), -1);
}

static void test_orgdomain_list_file(void **state)
{
	char err[256], path[] = "/tmp/test_dmarc_psl.XXXXXX";
	(void)state;
	/* a list of our own: "example" is a suffix, so a.example is an organisation */
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fputs("// test list\nexample\nco.test\n", f);
	fclose(f);
	struct orgdomain *mine = orgdomain_open(path, err, sizeof(err));
	assert_non_null(mine);
	char out[ORGDOMAIN_NAME_MAX];
	assert_int_equal(orgdomain_find(mine, "x.a.example", out, sizeof(out)), 0);
	assert_string_equal(out, "a.example");
	assert_int_equal(orgdomain_find(mine, "x.a.co.test", out, sizeof(out)), 0);
	assert_string_equal(out, "a.co.test");
	assert_string_equal(orgdomain_list_source(mine), path);
	assert_true(orgdomain_list_time(mine) > 0);
	orgdomain_close(mine);
	unlink(path);
	assert_null(orgdomain_open("/nonexistent/psl.dat", err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/psl.dat"));
	/* the system list: its date is known (Debian 12's: February 2023) */
	assert_true(orgdomain_list_time(od) > 1600000000);
}

/* ---- an in-memory DNS ---- */

struct fake_zone {
	const char *name;
	enum dmarc_dns_status st;
	const char *txt[4];
};

static const struct fake_zone *zone;
static size_t zone_len;
static char asked[4][300];
static size_t nasked;
/* async mode: the answer waits until fake_dns_answer() */
static bool async_mode;
static dmarc_txt_done_fn *pending_done;
static void *pending_arg;
static char pending_name[300];
static bool fail_start;

static void answer(const char *name, dmarc_txt_done_fn *done, void *arg)
{
	struct dmarc_txt txts[4];
	for (size_t i = 0; i < zone_len; i++) {
		if (strcasecmp(zone[i].name, name) != 0)
			continue;
		size_t n = 0;
		for (; n < 4 && zone[i].txt[n] != NULL; n++)
			txts[n] = (struct dmarc_txt){ zone[i].txt[n], strlen(zone[i].txt[n]) };
		done(arg, zone[i].st, txts, n);
		return;
	}
	done(arg, DMARC_DNS_NONE, NULL, 0);
}

static int fake_lookup_txt(void *ctx, const char *name, dmarc_txt_done_fn *done, void *arg)
{
	(void)ctx;
	if (fail_start)
		return -1;
	if (nasked < 4)
		snprintf(asked[nasked++], sizeof(asked[0]), "%s", name);
	if (async_mode) {
		pending_done = done;
		pending_arg = arg;
		snprintf(pending_name, sizeof(pending_name), "%s", name);
		return 0;
	}
	answer(name, done, arg);
	return 0;
}

static void fake_dns_answer(void)
{
	dmarc_txt_done_fn *done = pending_done;
	pending_done = NULL;
	answer(pending_name, done, pending_arg);
}

static const struct dmarc_dns fake_dns = { fake_lookup_txt, NULL };

static void use_zone(const struct fake_zone *z, size_t n)
{
	zone = z;
	zone_len = n;
	nasked = 0;
	async_mode = false;
	fail_start = false;
}

static void found_cb(void *arg, const struct dmarc_found *found)
{
	struct dmarc_found *out = arg;
	*out = *found;
}

static struct dmarc_found discover(const char *from_domain)
{
	struct dmarc_found f;
	memset(&f, 0xa5, sizeof(f));
	assert_null(dmarc_discover(&fake_dns, od, from_domain, found_cb, &f));
	return f;
}

static const struct fake_zone zone_main[] = {
	{ "_dmarc.example.com", DMARC_DNS_FOUND,
	  { "v=spf1 -all", "v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@example.com" } },
	{ "_dmarc.sub.example.com", DMARC_DNS_FOUND, { "v=DMARC1; p=none" } },
	{ "_dmarc.example.co.uk", DMARC_DNS_FOUND, { "v=DMARC1; p=quarantine" } },
	{ "_dmarc.co.uk", DMARC_DNS_FOUND, { "v=DMARC1; p=reject" } },
	{ "_dmarc.two.example", DMARC_DNS_FOUND, { "v=DMARC1; p=none", "v=DMARC1; p=reject" } },
	{ "_dmarc.broken.example", DMARC_DNS_FOUND, { "v=DMARC1; p=bogus" } },
	{ "_dmarc.down.example", DMARC_DNS_TEMPFAIL, { NULL } },
	{ "_dmarc.nodmarc.example", DMARC_DNS_FOUND, { "some verification token" } },
};

static void test_discover(void **state)
{
	struct dmarc_found f;
	(void)state;
	use_zone(zone_main, sizeof(zone_main) / sizeof(zone_main[0]));

	/* the From domain's own record; other TXT records there are ignored */
	f = discover("Example.COM.");
	assert_int_equal(f.status, DMARC_FOUND_RECORD);
	assert_string_equal(f.policy_domain, "example.com");
	assert_false(f.at_org);
	assert_int_equal(f.rec.p, DMARC_POLICY_REJECT);
	assert_int_equal(nasked, 1);

	/* a subdomain with its own record uses it, not the organisation's */
	f = discover("sub.example.com");
	assert_int_equal(f.status, DMARC_FOUND_RECORD);
	assert_string_equal(f.policy_domain, "sub.example.com");
	assert_int_equal(f.rec.p, DMARC_POLICY_NONE);

	/* a subdomain without: the organisational domain's, in two lookups */
	nasked = 0;
	f = discover("a.b.example.com");
	assert_int_equal(f.status, DMARC_FOUND_RECORD);
	assert_string_equal(f.from_domain, "a.b.example.com");
	assert_string_equal(f.policy_domain, "example.com");
	assert_true(f.at_org);
	assert_int_equal(nasked, 2);
	assert_string_equal(asked[0], "_dmarc.a.b.example.com");
	assert_string_equal(asked[1], "_dmarc.example.com");

	/* co.uk: the organisation is example.co.uk, never the suffix's record */
	nasked = 0;
	f = discover("mail.example.co.uk");
	assert_int_equal(f.status, DMARC_FOUND_RECORD);
	assert_string_equal(f.policy_domain, "example.co.uk");
	f = discover("nothing.co.uk");
	assert_int_equal(f.status, DMARC_FOUND_NONE);
	nasked = 0;
	f = discover("x.nothing.co.uk");
	assert_int_equal(f.status, DMARC_FOUND_NONE);
	assert_string_equal(asked[1], "_dmarc.nothing.co.uk");

	/* no record anywhere; TXT records that are not DMARC's */
	nasked = 0;
	assert_int_equal(discover("other.example").status, DMARC_FOUND_NONE);
	assert_int_equal(nasked, 1);   /* "other.example" is its own organisation */
	assert_int_equal(discover("nodmarc.example").status, DMARC_FOUND_NONE);

	/* several records, a record without a policy: permerror, no org lookup */
	nasked = 0;
	f = discover("two.example");
	assert_int_equal(f.status, DMARC_FOUND_PERMERROR);
	assert_non_null(strstr(f.why, "2 DMARC records"));
	assert_int_equal(discover("broken.example").status, DMARC_FOUND_PERMERROR);

	/* DNS failures */
	assert_int_equal(discover("down.example").status, DMARC_FOUND_TEMPERROR);
	fail_start = true;
	assert_int_equal(discover("example.com").status, DMARC_FOUND_TEMPERROR);
	fail_start = false;

	/* a From domain that is no domain name is not looked up */
	nasked = 0;
	assert_int_equal(discover("exa mple.com").status, DMARC_FOUND_PERMERROR);
	assert_int_equal(discover("").status, DMARC_FOUND_PERMERROR);
	assert_int_equal(nasked, 0);
}

static void test_discover_async_and_cancel(void **state)
{
	struct dmarc_found f = { .status = DMARC_FOUND_NONE };
	(void)state;
	use_zone(zone_main, sizeof(zone_main) / sizeof(zone_main[0]));
	async_mode = true;

	struct dmarc_discovery *d = dmarc_discover(&fake_dns, od, "a.example.com", found_cb, &f);
	assert_non_null(d);
	fake_dns_answer();                      /* _dmarc.a.example.com: none */
	assert_non_null(pending_done);          /* now _dmarc.example.com */
	assert_string_equal(pending_name, "_dmarc.example.com");
	fake_dns_answer();
	assert_int_equal(f.status, DMARC_FOUND_RECORD);
	assert_true(f.at_org);

	/* cancelled: the answer is dropped, done never runs (ASan sees the free) */
	f.status = DMARC_FOUND_TEMPERROR;
	d = dmarc_discover(&fake_dns, od, "example.com", found_cb, &f);
	assert_non_null(d);
	dmarc_discover_cancel(d);
	fake_dns_answer();
	assert_int_equal(f.status, DMARC_FOUND_TEMPERROR);
}

/* ---- evaluation ---- */

static unsigned sample_value;
static unsigned samples_drawn;

static unsigned fixed_sample(void *arg)
{
	(void)arg;
	samples_drawn++;
	return sample_value;
}

static struct dmarc_found record(const char *from, const char *policy_domain, const char *txt)
{
	struct dmarc_found f = { .status = DMARC_FOUND_RECORD };
	assert_int_equal(orgdomain_normalize(from, f.from_domain, sizeof(f.from_domain)), 0);
	snprintf(f.policy_domain, sizeof(f.policy_domain), "%s", policy_domain);
	f.at_org = strcmp(f.from_domain, policy_domain) != 0;
	assert_int_equal(dmarc_record_parse(txt, strlen(txt), &f.rec, NULL, 0), DMARC_RECORD_OK);
	return f;
}

static struct dmarc_outcome judge(const struct dmarc_found *f, const struct dmarc_input *in,
                                  enum dmarc_enforcement e)
{
	struct dmarc_outcome o;
	dmarc_evaluate(od, f, in, e, fixed_sample, NULL, &o);
	return o;
}

#define NO_DKIM NULL, 0

static void test_eval_pass_and_fail(void **state)
{
	(void)state;
	struct dmarc_found f = record("example.com", "example.com", "v=DMARC1; p=reject");
	struct dmarc_dkim_sig good = { "example.com", true, true };
	struct dmarc_dkim_sig other = { "mailer.example.net", true, true };
	struct dmarc_dkim_sig bad = { "example.com", false, true };

	/* SPF aligned */
	struct dmarc_input in = { "example.com", DMARC_SPF_PASS, "bounces.example.com", NO_DKIM };
	struct dmarc_outcome o = judge(&f, &in, DMARC_ENFORCE_RELAXED);
	assert_int_equal(o.result, DMARC_RESULT_PASS);
	assert_true(o.spf_aligned);
	assert_false(o.dkim_aligned);
	assert_int_equal(o.applied, DMARC_POLICY_NONE);
	assert_int_equal(o.disposition, DMARC_DISP_ACCEPT);

	/* DKIM aligned, SPF for an unrelated domain */
	in = (struct dmarc_input){ "example.com", DMARC_SPF_PASS, "example.net", &good, 1 };
	o = judge(&f, &in, DMARC_ENFORCE_STRICT);
	assert_int_equal(o.result, DMARC_RESULT_PASS);
	assert_false(o.spf_aligned);
	assert_true(o.dkim_aligned);

	/* an aligned signature among others */
	struct dmarc_dkim_sig sigs[] = { other, bad, good };
	in = (struct dmarc_input){ "example.com", DMARC_SPF_FAIL, "example.com", sigs, 3 };
	assert_int_equal(judge(&f, &in, DMARC_ENFORCE_STRICT).result, DMARC_RESULT_PASS);

	/* nothing aligned passes: fail, reject */
	in = (struct dmarc_input){ "example.com", DMARC_SPF_PASS, "example.net", sigs, 2 };
	o = judge(&f, &in, DMARC_ENFORCE_RELAXED);
	assert_int_equal(o.result, DMARC_RESULT_FAIL);
	assert_int_equal(o.policy, DMARC_POLICY_REJECT);
	assert_int_equal(o.applied, DMARC_POLICY_REJECT);
	assert_int_equal(o.disposition, DMARC_DISP_REJECT);

	/* an aligned SPF domain that did not pass counts for nothing */
	for (enum dmarc_spf_result r = DMARC_SPF_NONE; r <= DMARC_SPF_PERMERROR; r++) {
		in = (struct dmarc_input){ "example.com", r, "example.com", NO_DKIM };
		assert_int_equal(judge(&f, &in, DMARC_ENFORCE_RELAXED).result,
		                 r == DMARC_SPF_PASS ? DMARC_RESULT_PASS : DMARC_RESULT_FAIL);
	}
	/* no SPF domain at all */
	in = (struct dmarc_input){ "example.com", DMARC_SPF_PASS, NULL, NO_DKIM };
	assert_int_equal(judge(&f, &in, DMARC_ENFORCE_RELAXED).result, DMARC_RESULT_FAIL);
}

static void test_eval_partial_body_signature(void **state)
{
	(void)state;
	struct dmarc_found f = record("example.com", "example.com", "v=DMARC1; p=reject");
	/* l= shorter than the body: whatever follows is unsigned */
	struct dmarc_dkim_sig partial = { "example.com", true, false };
	struct dmarc_input in = { "example.com", DMARC_SPF_FAIL, "example.com", &partial, 1 };
	struct dmarc_outcome o = judge(&f, &in, DMARC_ENFORCE_RELAXED);
	assert_int_equal(o.result, DMARC_RESULT_FAIL);
	assert_false(o.dkim_aligned);
	assert_int_equal(o.disposition, DMARC_DISP_REJECT);
}

static void test_eval_alignment_modes(void **state)
{
	(void)state;
	struct dmarc_dkim_sig sub = { "mail.example.co.uk", true, true };
	struct dmarc_dkim_sig parent = { "EXAMPLE.co.uk.", true, true };
	struct dmarc_dkim_sig sibling = { "other.co.uk", true, true };

	/* relaxed: the same organisational domain, either way round */
	struct dmarc_found rel = record("news.example.co.uk", "example.co.uk",
	                                "v=DMARC1; p=reject");
	struct dmarc_input in = { "news.example.co.uk", DMARC_SPF_NONE, NULL, &sub, 1 };
	assert_int_equal(judge(&rel, &in, DMARC_ENFORCE_STRICT).result, DMARC_RESULT_PASS);
	in.dkim = &parent;
	assert_int_equal(judge(&rel, &in, DMARC_ENFORCE_STRICT).result, DMARC_RESULT_PASS);
	/* co.uk is a suffix: other.co.uk is another organisation */
	in.dkim = &sibling;
	assert_int_equal(judge(&rel, &in, DMARC_ENFORCE_STRICT).result, DMARC_RESULT_FAIL);
	in = (struct dmarc_input){ "news.example.co.uk", DMARC_SPF_PASS, "bounce.example.co.uk",
	                           NO_DKIM };
	assert_int_equal(judge(&rel, &in, DMARC_ENFORCE_STRICT).result, DMARC_RESULT_PASS);

	/* strict: exactly the From domain (case and trailing dot aside) */
	struct dmarc_found str = record("news.example.co.uk", "example.co.uk",
	                                "v=DMARC1; p=reject; adkim=s; aspf=s");
	in = (struct dmarc_input){ "news.example.co.uk", DMARC_SPF_NONE, NULL, &parent, 1 };
	assert_int_equal(judge(&str, &in, DMARC_ENFORCE_STRICT).result, DMARC_RESULT_FAIL);
	struct dmarc_dkim_sig exact = { "News.Example.CO.UK.", true, true };
	in.dkim = &exact;
	assert_int_equal(judge(&str, &in, DMARC_ENFORCE_STRICT).result, DMARC_RESULT_PASS);
	in = (struct dmarc_input){ "news.example.co.uk", DMARC_SPF_PASS, "bounce.example.co.uk",
	                           NO_DKIM };
	assert_int_equal(judge(&str, &in, DMARC_ENFORCE_STRICT).result, DMARC_RESULT_FAIL);
	in.spf_domain = "news.example.co.uk";
	assert_int_equal(judge(&str, &in, DMARC_ENFORCE_STRICT).result, DMARC_RESULT_PASS);

	/* mixed: strict DKIM, relaxed SPF */
	struct dmarc_found mix = record("news.example.co.uk", "example.co.uk",
	                                "v=DMARC1; p=reject; adkim=s");
	in = (struct dmarc_input){ "news.example.co.uk", DMARC_SPF_PASS, "example.co.uk", &parent, 1 };
	struct dmarc_outcome o = judge(&mix, &in, DMARC_ENFORCE_STRICT);
	assert_int_equal(o.result, DMARC_RESULT_PASS);
	assert_true(o.spf_aligned);
	assert_false(o.dkim_aligned);

	/* IDN: a U-label From domain aligns with its A-label d= */
	struct dmarc_found idn = record("b\xc3\xbc" "cher.de", "xn--bcher-kva.de",
	                                "v=DMARC1; p=reject; adkim=s");
	struct dmarc_dkim_sig ace = { "xn--bcher-kva.de", true, true };
	in = (struct dmarc_input){ "b\xc3\xbc" "cher.de", DMARC_SPF_NONE, NULL, &ace, 1 };
	assert_int_equal(judge(&idn, &in, DMARC_ENFORCE_STRICT).result, DMARC_RESULT_PASS);
	/* a d= that is no domain name never aligns */
	struct dmarc_dkim_sig junk = { "example..com", true, true };
	struct dmarc_found plain = record("example.com", "example.com", "v=DMARC1; p=reject");
	in = (struct dmarc_input){ "example.com", DMARC_SPF_NONE, NULL, &junk, 1 };
	assert_int_equal(judge(&plain, &in, DMARC_ENFORCE_STRICT).result, DMARC_RESULT_FAIL);
}

static const struct dmarc_input failing = { "x.example.com", DMARC_SPF_FAIL, "x.example.com",
	                                    NULL, 0 };

static void test_eval_subdomain_policy(void **state)
{
	(void)state;
	/* found at the organisation for a subdomain: sp= applies */
	struct dmarc_found f = record("x.example.com", "example.com",
	                              "v=DMARC1; p=reject; sp=quarantine");
	struct dmarc_outcome o = judge(&f, &failing, DMARC_ENFORCE_RELAXED);
	assert_int_equal(o.policy, DMARC_POLICY_QUARANTINE);
	assert_int_equal(o.disposition, DMARC_DISP_JUNK);
	/* no sp=: p= */
	f = record("x.example.com", "example.com", "v=DMARC1; p=reject");
	assert_int_equal(judge(&f, &failing, DMARC_ENFORCE_RELAXED).policy, DMARC_POLICY_REJECT);
	/* sp=none lets subdomains through */
	f = record("x.example.com", "example.com", "v=DMARC1; p=reject; sp=none");
	o = judge(&f, &failing, DMARC_ENFORCE_STRICT);
	assert_int_equal(o.result, DMARC_RESULT_FAIL);
	assert_int_equal(o.disposition, DMARC_DISP_ACCEPT);
	/* the From domain's own record: p=, never sp= */
	f = record("example.com", "example.com", "v=DMARC1; p=none; sp=reject");
	struct dmarc_input in = failing;
	in.from_domain = "example.com";
	assert_int_equal(judge(&f, &in, DMARC_ENFORCE_STRICT).disposition, DMARC_DISP_ACCEPT);
}

static void test_eval_pct(void **state)
{
	(void)state;
	struct dmarc_found f = record("x.example.com", "x.example.com", "v=DMARC1; p=reject; pct=30");

	/* sampled in: 0..29 */
	sample_value = 29;
	struct dmarc_outcome o = judge(&f, &failing, DMARC_ENFORCE_RELAXED);
	assert_int_equal(o.applied, DMARC_POLICY_REJECT);
	assert_false(o.sampled_out);
	assert_int_equal(o.disposition, DMARC_DISP_REJECT);
	/* sampled out: reject becomes quarantine */
	sample_value = 30;
	o = judge(&f, &failing, DMARC_ENFORCE_RELAXED);
	assert_int_equal(o.applied, DMARC_POLICY_QUARANTINE);
	assert_true(o.sampled_out);
	assert_int_equal(o.disposition, DMARC_DISP_JUNK);
	/* quarantine sampled out becomes none */
	f = record("x.example.com", "x.example.com", "v=DMARC1; p=quarantine; pct=0");
	sample_value = 0;
	o = judge(&f, &failing, DMARC_ENFORCE_STRICT);
	assert_int_equal(o.applied, DMARC_POLICY_NONE);
	assert_int_equal(o.disposition, DMARC_DISP_ACCEPT);
	/* no draw when nothing is enforced, or on a pass */
	samples_drawn = 0;
	f = record("x.example.com", "x.example.com", "v=DMARC1; p=none; pct=10");
	judge(&f, &failing, DMARC_ENFORCE_STRICT);
	f = record("x.example.com", "x.example.com", "v=DMARC1; p=reject; pct=100");
	judge(&f, &failing, DMARC_ENFORCE_STRICT);
	assert_int_equal(samples_drawn, 0);
	/* a sample out of range is taken modulo 100 */
	f = record("x.example.com", "x.example.com", "v=DMARC1; p=reject; pct=50");
	sample_value = 1000;
	assert_int_equal(judge(&f, &failing, DMARC_ENFORCE_RELAXED).applied, DMARC_POLICY_REJECT);
	/* the random source stays in range */
	for (int i = 0; i < 1000; i++)
		assert_true(dmarc_sample_random(NULL) < 100);
}

static void test_eval_enforcement_levels(void **state)
{
	(void)state;
	static const struct {
		const char *policy;
		enum dmarc_disposition none, relaxed, strict;
	} rows[] = {
		{ "none", DMARC_DISP_ACCEPT, DMARC_DISP_ACCEPT, DMARC_DISP_ACCEPT },
		{ "quarantine", DMARC_DISP_ACCEPT, DMARC_DISP_JUNK, DMARC_DISP_REJECT },
		{ "reject", DMARC_DISP_ACCEPT, DMARC_DISP_REJECT, DMARC_DISP_REJECT },
	};
	char txt[64];
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(txt, sizeof(txt), "v=DMARC1; p=%s", rows[i].policy);
		struct dmarc_found f = record("x.example.com", "x.example.com", txt);
		assert_int_equal(judge(&f, &failing, DMARC_ENFORCE_NONE).disposition, rows[i].none);
		assert_int_equal(judge(&f, &failing, DMARC_ENFORCE_RELAXED).disposition,
		                 rows[i].relaxed);
		assert_int_equal(judge(&f, &failing, DMARC_ENFORCE_STRICT).disposition,
		                 rows[i].strict);
		/* the result itself does not depend on the enforcement */
		assert_int_equal(judge(&f, &failing, DMARC_ENFORCE_NONE).result, DMARC_RESULT_FAIL);
	}

	/* no policy: none, permerror and temperror */
	struct dmarc_found f = { .status = DMARC_FOUND_NONE };
	struct dmarc_outcome o = judge(&f, &failing, DMARC_ENFORCE_STRICT);
	assert_int_equal(o.result, DMARC_RESULT_NONE);
	assert_int_equal(o.disposition, DMARC_DISP_ACCEPT);
	f.status = DMARC_FOUND_PERMERROR;
	o = judge(&f, &failing, DMARC_ENFORCE_STRICT);
	assert_int_equal(o.result, DMARC_RESULT_PERMERROR);
	assert_int_equal(o.disposition, DMARC_DISP_ACCEPT);
	f.status = DMARC_FOUND_TEMPERROR;
	assert_int_equal(judge(&f, &failing, DMARC_ENFORCE_NONE).disposition, DMARC_DISP_ACCEPT);
	assert_int_equal(judge(&f, &failing, DMARC_ENFORCE_RELAXED).disposition, DMARC_DISP_ACCEPT);
	o = judge(&f, &failing, DMARC_ENFORCE_STRICT);
	assert_int_equal(o.result, DMARC_RESULT_TEMPERROR);
	assert_int_equal(o.disposition, DMARC_DISP_DEFER);

	int code;
	const char *enh, *text;
	dmarc_disposition_reply(DMARC_DISP_REJECT, &code, &enh, &text);
	assert_int_equal(code, 550);
	assert_string_equal(enh, "5.7.1");
	dmarc_disposition_reply(DMARC_DISP_DEFER, &code, &enh, &text);
	assert_int_equal(code, 451);
}

/* discovery and evaluation together, as the filter row will run them */
static void test_discover_then_evaluate(void **state)
{
	(void)state;
	use_zone(zone_main, sizeof(zone_main) / sizeof(zone_main[0]));
	struct dmarc_found f = discover("news.example.com");
	struct dmarc_input in = { "news.example.com", DMARC_SPF_SOFTFAIL, "news.example.com",
	                          NO_DKIM };
	struct dmarc_outcome o = judge(&f, &in, DMARC_ENFORCE_RELAXED);
	assert_int_equal(o.result, DMARC_RESULT_FAIL);
	assert_int_equal(o.policy, DMARC_POLICY_QUARANTINE);    /* sp= of example.com */
	assert_int_equal(o.disposition, DMARC_DISP_JUNK);
	f = discover("example.co.uk");
	in.from_domain = "example.co.uk";
	assert_int_equal(judge(&f, &in, DMARC_ENFORCE_STRICT).disposition, DMARC_DISP_REJECT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_orgdomain_psl),
		cmocka_unit_test(test_orgdomain_normal_form),
		cmocka_unit_test(test_orgdomain_list_file),
		cmocka_unit_test(test_discover),
		cmocka_unit_test(test_discover_async_and_cancel),
		cmocka_unit_test(test_eval_pass_and_fail),
		cmocka_unit_test(test_eval_partial_body_signature),
		cmocka_unit_test(test_eval_alignment_modes),
		cmocka_unit_test(test_eval_subdomain_policy),
		cmocka_unit_test(test_eval_pct),
		cmocka_unit_test(test_eval_enforcement_levels),
		cmocka_unit_test(test_discover_then_evaluate),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
