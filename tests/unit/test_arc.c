/* Unit tests for ARC (RFC 8617): the AAR, AMS and ARC-Seal parsers with
 * their hostile cases, chains sealed by postern's sealer and judged by its
 * verifier on an in-memory DNS (pass, oldest-pass, tampering, broken
 * structure, cv=fail, key problems, the lookup limit, cancellation), the
 * sealer's refusals and the trust helper. The independent check against
 * dkimpy is tests/integration/test_arc.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/util.h"
#include "mail/header.h"
#include "mailauth/arc.h"
#include "mailauth/arc_seal.h"
#include "mailauth/arc_verify.h"
#include "mailauth/dkim.h"

#define NOW ((time_t)1795000000)

static char tmpdir[] = "/tmp/postern-test-arc-XXXXXX";
static struct dkim_key *rsa_key, *ed_key;
static char rsa_rec[DKIM_RECORD_MAX], ed_rec[DKIM_RECORD_MAX];

static const char base_msg[] =
	"From: Alice <alice@example.org>\n"
	"To: list@lists.example\n"
	"Subject: hello\n"
	"Date: Mon, 1 Jan 2029 00:00:00 +0000\n"
	"Message-ID: <1@example.org>\n"
	"\n"
	"Hello list,\n"
	"  how are  you?\n";

/* ---- the fake DNS: sel._domainkey.<domain>, one record each ----------- */

struct fake_dns {
	enum dkim_dns_status status;    /* for every name */
	bool later;
	struct { dkim_dns_txt_cb cb; void *arg; char name[300]; bool live; } q[16];
	int nq, asked, cancelled;
};

static const char *record_for(const char *name)
{
	if (strcmp(name, "rsa._domainkey.lists.example") == 0 ||
	    strcmp(name, "rsa._domainkey.fwd.example") == 0)
		return rsa_rec;
	if (strcmp(name, "ed._domainkey.relay.example") == 0)
		return ed_rec;
	return NULL;
}

static void fake_answer(struct fake_dns *f, const char *name, dkim_dns_txt_cb cb, void *arg)
{
	const char *rec = record_for(name);
	if (f->status != DKIM_DNS_OK || rec == NULL) {
		cb(arg, f->status == DKIM_DNS_OK ? DKIM_DNS_NOTFOUND : f->status, NULL, 0);
		return;
	}
	struct dkim_txt t = { rec, strlen(rec) };
	cb(arg, DKIM_DNS_OK, &t, 1);
}

static int fake_txt(void *ctx, const char *name, dkim_dns_txt_cb cb, void *arg)
{
	struct fake_dns *f = ctx;
	f->asked++;
	if (!f->later) {
		fake_answer(f, name, cb, arg);
		return 7;
	}
	assert_true(f->nq < 16);
	f->q[f->nq].cb = cb;
	f->q[f->nq].arg = arg;
	snprintf(f->q[f->nq].name, sizeof(f->q[f->nq].name), "%s", name);
	f->q[f->nq].live = true;
	return ++f->nq;
}

static void fake_cancel(void *ctx, int id)
{
	struct fake_dns *f = ctx;
	assert_true(id > 0 && id <= f->nq && f->q[id - 1].live);
	f->q[id - 1].live = false;
	f->cancelled++;
}

static void fake_run(struct fake_dns *f)
{
	for (int i = 0; i < f->nq; i++) {
		if (f->q[i].live) {
			f->q[i].live = false;
			fake_answer(f, f->q[i].name, f->q[i].cb, f->q[i].arg);
		}
	}
}

/* ---- running the verifier and the sealer ---------------------------- */

struct outcome {
	int calls;
	enum arc_cv cv;
	bool temperror;
	char reason[160];
	unsigned nsets, oldest_pass, trusted;
	struct arc_set_result sets[8];
	char aar[8][200];
};

static const char *const trusted_list[] = { "lists.example", "fwd.example" };

static void collect(void *arg, const struct arc_result *r)
{
	struct outcome *o = arg;
	o->calls++;
	o->cv = r->cv;
	o->temperror = r->temperror;
	snprintf(o->reason, sizeof(o->reason), "%s", r->reason);
	o->nsets = r->nsets;
	o->oldest_pass = r->oldest_pass;
	o->trusted = arc_trusted_instance(r, trusted_list, 2);
	for (unsigned i = 0; i < r->nsets && i < 8; i++) {
		o->sets[i] = r->sets[i];
		snprintf(o->aar[i], sizeof(o->aar[i]), "%s", r->sets[i].aar);
		o->sets[i].aar = NULL;
	}
}

static void split(const char *msg, size_t *hlen, size_t *body)
{
	size_t scan = 0, len = strlen(msg);
	if (!mail_header_block_end(msg, len, &scan, hlen, body))
		*hlen = *body = len;
}

static struct outcome verify_with(struct fake_dns *f, const char *msg,
                                  const struct arc_verify_limits *lim)
{
	struct outcome o = { 0 };
	struct dkim_dns dns = { fake_txt, fake_cancel, f, NULL };
	struct arc_verify *v = arc_verify_new(&dns, lim, NOW);
	size_t hlen, body, len = strlen(msg);
	split(msg, &hlen, &body);
	arc_verify_header(v, msg, hlen);
	/* the body in pieces of 5 octets: a hash must not care where they fall */
	for (size_t p = body; p < len; p += 5)
		arc_verify_body(v, msg + p, len - p < 5 ? len - p : 5);
	arc_verify_finish(v, collect, &o);
	if (f->later) {
		fake_run(f);
	}
	assert_int_equal(o.calls, 1);
	arc_verify_free(v);
	return o;
}

static struct outcome verify(const char *msg)
{
	struct fake_dns f = { .status = DKIM_DNS_OK };
	return verify_with(&f, msg, NULL);
}

/* msg with a set sealed by key for domain on top; NULL with err. */
static char *seal_try(const char *msg, const struct dkim_key *key, const char *domain,
                      const char *selector, const char *authres, enum arc_cv cv, char *err,
                      size_t errlen)
{
	struct arc_sealer *s = arc_sealer_new(key, domain, selector, NOW);
	size_t hlen, body, len = strlen(msg);
	split(msg, &hlen, &body);
	char *set = NULL;
	if (arc_sealer_header(s, msg, hlen, err, errlen) == 0) {
		arc_sealer_body(s, msg + body, len - body);
		set = arc_sealer_finish(s, authres, cv, err, errlen);
	}
	arc_sealer_free(s);
	if (set == NULL)
		return NULL;
	char *out = xmalloc(strlen(set) + len + 1);
	strcpy(out, set);
	strcat(out, msg);
	free(set);
	return out;
}

static char *seal(const char *msg, const struct dkim_key *key, const char *domain,
                  const char *authres, enum arc_cv cv)
{
	char err[256];
	const char *selector = key == ed_key ? "ed" : "rsa";
	char *out = seal_try(msg, key, domain, selector, authres, cv, err, sizeof(err));
	if (out == NULL)
		fail_msg("sealing: %s", err);
	return out;
}

/* The three hops of the tests: a list (RSA), a relay (Ed25519), a
 * forwarder (RSA). */
static char *chain3(const char *msg)
{
	char *a = seal(msg, rsa_key, "lists.example",
	               "lists.example; spf=pass smtp.mailfrom=example.org; dkim=pass", ARC_CV_NONE);
	char *b = seal(a, ed_key, "relay.example", "relay.example; arc=pass", ARC_CV_PASS);
	char *c = seal(b, rsa_key, "fwd.example", "fwd.example; arc=pass", ARC_CV_PASS);
	free(a);
	free(b);
	return c;
}

/* s with the first occurrence of from replaced by to. */
static char *replace(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	assert_non_null(at);
	char *out = xmalloc(strlen(s) - strlen(from) + strlen(to) + 1);
	memcpy(out, s, (size_t)(at - s));
	strcpy(out + (at - s), to);
	strcat(out, at + strlen(from));
	return out;
}

/* s without the header field that starts with prefix (and its folds). */
static char *drop_field(const char *s, const char *prefix)
{
	const char *at = strstr(s, prefix);
	assert_non_null(at);
	const char *end = strchr(at, '\n');
	while (end != NULL && (end[1] == ' ' || end[1] == '\t'))
		end = strchr(end + 1, '\n');
	assert_non_null(end);
	char *out = xmalloc(strlen(s) + 1);
	memcpy(out, s, (size_t)(at - s));
	strcpy(out + (at - s), end + 1);
	return out;
}

/* ---- parsers ---------------------------------------------------------- */

static void test_aar_parse(void **state)
{
	(void)state;
	unsigned i;
	const char *p;
	size_t n;
	char err[128];
	const char *ok = " i=3 ;\r\n\tmx.example; spf=pass ";
	assert_int_equal(arc_aar_parse(ok, strlen(ok), &i, &p, &n, err, sizeof(err)), 0);
	assert_int_equal(i, 3);
	assert_int_equal(n, strlen("mx.example; spf=pass"));
	assert_memory_equal(p, "mx.example; spf=pass", n);
	assert_int_equal(arc_aar_parse("I=50; x", 7, &i, &p, &n, err, sizeof(err)), 0);
	assert_int_equal(i, 50);
	static const char *const bad[] = {
		"", "mx.example; spf=pass", "i=; x", "i=0; x", "i=51; x", "i=999999999999; x",
		"i=1 x", "i=1;", "i=1;  \r\n ", "i=-1; x", "j=1; x", "i 1; x",
	};
	for (size_t k = 0; k < ARRAY_LEN(bad); k++)
		assert_int_equal(arc_aar_parse(bad[k], strlen(bad[k]), &i, &p, &n, err, sizeof(err)),
		                 -1);
}

static void test_ams_parse(void **state)
{
	(void)state;
	struct arc_ams_sig *a = xmalloc(sizeof(*a));
	char err[128];
	const char *ok = "i=2; a=rsa-sha256; c=relaxed/relaxed; d=Lists.Example; s=sel;"
	                 " h=from:to; bh=AAAA; b=AAAA";
	assert_int_equal(arc_ams_parse(a, ok, strlen(ok), err, sizeof(err)), 0);
	assert_int_equal(a->instance, 2);
	assert_string_equal(a->sig.domain, "lists.example");
	assert_string_equal(a->sig.identity, "@lists.example");
	/* v= is not an AMS tag: ignored (RFC 8617 4.1.2) */
	const char *v = "i=1; v=9; a=rsa-sha256; d=x.example; s=s; h=from; bh=AAAA; b=AAAA";
	assert_int_equal(arc_ams_parse(a, v, strlen(v), err, sizeof(err)), 0);
	static const char *const bad[] = {
		/* no i=, i= out of range */
		"a=rsa-sha256; d=x.example; s=s; h=from; bh=AAAA; b=AAAA",
		"i=0; a=rsa-sha256; d=x.example; s=s; h=from; bh=AAAA; b=AAAA",
		"i=51; a=rsa-sha256; d=x.example; s=s; h=from; bh=AAAA; b=AAAA",
		"i=x; a=rsa-sha256; d=x.example; s=s; h=from; bh=AAAA; b=AAAA",
		/* an AMS never signs a seal; From is required as in DKIM */
		"i=1; a=rsa-sha256; d=x.example; s=s; h=from:ARC-Seal; bh=AAAA; b=AAAA",
		"i=1; a=rsa-sha256; d=x.example; s=s; h=to; bh=AAAA; b=AAAA",
		/* required tags */
		"i=1; a=rsa-sha256; d=x.example; s=s; h=from; b=AAAA",
		"i=1; a=rsa-sha256; s=s; h=from; bh=AAAA; b=AAAA",
		"i=1; i=2; a=rsa-sha256; d=x.example; s=s; h=from; bh=AAAA; b=AAAA",
		"i=1; a=rsa-md5; d=x.example; s=s; h=from; bh=AAAA; b=AAAA",
	};
	for (size_t k = 0; k < ARRAY_LEN(bad); k++)
		assert_int_equal(arc_ams_parse(a, bad[k], strlen(bad[k]), err, sizeof(err)), -1);
	free(a);
}

static void test_seal_parse(void **state)
{
	(void)state;
	struct arc_seal_sig *s = xmalloc(sizeof(*s));
	char err[128];
	const char *ok = "i=1; a=ed25519-sha256; t=1; cv=None; d=relay.example; s=ed; b=AAAA";
	assert_int_equal(arc_seal_parse(s, ok, strlen(ok), err, sizeof(err)), 0);
	assert_int_equal(s->instance, 1);
	assert_int_equal(s->cv, ARC_CV_NONE);
	assert_int_equal(s->sig.alg, DKIM_SIG_ED25519_SHA256);
	assert_null(s->sig.h);
	const char *p = "i=4; a=rsa-sha256; cv=pass; d=x.example; s=s; b=AAAA";
	assert_int_equal(arc_seal_parse(s, p, strlen(p), err, sizeof(err)), 0);
	assert_int_equal(s->cv, ARC_CV_PASS);
	static const char *const bad[] = {
		"a=rsa-sha256; cv=none; d=x.example; s=s; b=AAAA",
		"i=1; a=rsa-sha256; d=x.example; s=s; b=AAAA",
		"i=1; a=rsa-sha256; cv=maybe; d=x.example; s=s; b=AAAA",
		"i=1; a=rsa-sha256; cv=none; d=x.example; s=s; b=AAAA; h=from",
		"i=1; a=rsa-sha256; cv=none; d=x.example; s=s; b=",
		"i=1; a=rsa-sha256; cv=none; d=x..example; s=s; b=AAAA",
		"i=1; a=rsa-sha256; cv=none; cv=pass; d=x.example; s=s; b=AAAA",
		"i=1; a=rsa-sha256; cv=none; d=x.example; s=s; b=AAAA;;",
	};
	for (size_t k = 0; k < ARRAY_LEN(bad); k++)
		assert_int_equal(arc_seal_parse(s, bad[k], strlen(bad[k]), err, sizeof(err)), -1);
	free(s);
}

/* ---- chains ------------------------------------------------------------ */

static void test_chain_passes(void **state)
{
	(void)state;
	char *m = chain3(base_msg);
	struct outcome o = verify(m);
	assert_int_equal(o.cv, ARC_CV_PASS);
	assert_int_equal(o.nsets, 3);
	assert_int_equal(o.oldest_pass, 0);
	assert_string_equal(o.sets[0].seal_domain, "lists.example");
	assert_string_equal(o.sets[1].seal_domain, "relay.example");
	assert_string_equal(o.sets[1].seal_selector, "ed");
	assert_string_equal(o.sets[2].ams_domain, "fwd.example");
	assert_int_equal(o.sets[0].cv, ARC_CV_NONE);
	assert_int_equal(o.sets[2].cv, ARC_CV_PASS);
	for (int i = 0; i < 3; i++)
		assert_true(o.sets[i].seal_valid && o.sets[i].ams_valid);
	assert_string_equal(o.aar[0], "lists.example; spf=pass smtp.mailfrom=example.org; dkim=pass");
	/* relay.example is not trusted: only the forwarder's own AAR counts */
	assert_int_equal(o.trusted, 3);
	free(m);

	/* no ARC at all */
	o = verify(base_msg);
	assert_int_equal(o.cv, ARC_CV_NONE);
	assert_int_equal(o.nsets, 0);
	/* one hop, trusted all the way */
	m = seal(base_msg, rsa_key, "lists.example", "lists.example; spf=pass", ARC_CV_NONE);
	o = verify(m);
	assert_int_equal(o.cv, ARC_CV_PASS);
	assert_int_equal(o.trusted, 1);
	free(m);
}

static void test_body_changed(void **state)
{
	(void)state;
	/* after the last seal: its AMS fails, so does the chain */
	char *m = chain3(base_msg);
	char *t = replace(m, "how are", "who are");
	struct outcome o = verify(t);
	assert_int_equal(o.cv, ARC_CV_FAIL);
	assert_non_null(strstr(o.reason, "ARC-Message-Signature i=3: body hash does not match"));
	assert_int_equal(o.nsets, 3);
	assert_int_equal(o.oldest_pass, 0);
	free(t);
	free(m);

	/* by the forwarder before it sealed (a list footer): the chain passes,
	 * the older AMSs do not, oldest-pass says so */
	char *a = seal(base_msg, rsa_key, "lists.example", "lists.example; spf=pass", ARC_CV_NONE);
	char *b = seal(a, ed_key, "relay.example", "relay.example; arc=pass", ARC_CV_PASS);
	char *footer = xmalloc(strlen(b) + 40);
	strcpy(footer, b);
	strcat(footer, "-- \nthe list footer\n");
	char *c = seal(footer, rsa_key, "fwd.example", "fwd.example; arc=pass", ARC_CV_PASS);
	o = verify(c);
	assert_int_equal(o.cv, ARC_CV_PASS);
	assert_int_equal(o.oldest_pass, 3);
	assert_false(o.sets[1].ams_valid);
	assert_string_equal(o.sets[1].ams_reason, "body hash does not match");
	free(a);
	free(b);
	free(footer);
	free(c);
}

static void test_tampered_sets(void **state)
{
	(void)state;
	char *m = chain3(base_msg);
	/* the first hop's AAR rewritten: every seal over it breaks */
	char *t = replace(m, "dkim=pass", "dkim=fail");
	struct outcome o = verify(t);
	assert_int_equal(o.cv, ARC_CV_FAIL);
	assert_non_null(strstr(o.reason, "ARC-Seal i=3: signature does not verify"));
	free(t);
	/* a set removed, or one of its fields */
	t = drop_field(m, "ARC-Message-Signature: i=2;");
	o = verify(t);
	assert_int_equal(o.cv, ARC_CV_FAIL);
	assert_string_equal(o.reason, "no ARC-Message-Signature of instance 2 (of 3)");
	assert_int_equal(o.nsets, 0);
	free(t);
	/* a field twice */
	char *dup = xmalloc(strlen(m) + 100);
	strcpy(dup, "ARC-Authentication-Results: i=1; evil.example; spf=pass\n");
	strcat(dup, m);
	o = verify(dup);
	assert_int_equal(o.cv, ARC_CV_FAIL);
	assert_string_equal(o.reason, "two ARC-Authentication-Results fields of instance 1");
	free(dup);
	/* a gap: i=4 without i=... only i=4's fields */
	t = replace(m, "ARC-Seal: i=3;", "ARC-Seal: i=51;");
	o = verify(t);
	assert_int_equal(o.cv, ARC_CV_FAIL);
	assert_non_null(strstr(o.reason, "bad instance"));
	free(t);
	/* cv= of the first set must be none */
	char *one = seal(base_msg, rsa_key, "lists.example", "lists.example; spf=pass", ARC_CV_NONE);
	t = replace(one, "cv=none", "cv=pass");
	o = verify(t);
	assert_int_equal(o.cv, ARC_CV_FAIL);
	assert_string_equal(o.reason, "ARC-Seal i=1 has cv=pass, not none");
	free(t);
	free(one);
	free(m);
}

static void test_cv_fail_ends_chain(void **state)
{
	(void)state;
	char *a = seal(base_msg, rsa_key, "lists.example", "lists.example; spf=pass", ARC_CV_NONE);
	char *b = seal(a, ed_key, "relay.example", "relay.example; arc=fail", ARC_CV_FAIL);
	struct outcome o = verify(b);
	assert_int_equal(o.cv, ARC_CV_FAIL);
	assert_string_equal(o.reason, "ARC-Seal i=2 says cv=fail: the chain has ended");
	/* and a later pass over it is a lie the structure shows */
	char *c = seal(b, rsa_key, "fwd.example", "fwd.example; arc=pass", ARC_CV_PASS);
	o = verify(c);
	assert_int_equal(o.cv, ARC_CV_FAIL);
	assert_string_equal(o.reason, "ARC-Seal i=2 has cv=fail, not pass");
	free(a);
	free(b);
	free(c);
}

static void test_key_problems(void **state)
{
	(void)state;
	char *m = chain3(base_msg);
	struct fake_dns f = { .status = DKIM_DNS_TEMPFAIL };
	struct outcome o = verify_with(&f, m, NULL);
	assert_int_equal(o.cv, ARC_CV_FAIL);
	assert_true(o.temperror);
	f = (struct fake_dns){ .status = DKIM_DNS_NOTFOUND };
	o = verify_with(&f, m, NULL);
	assert_int_equal(o.cv, ARC_CV_FAIL);
	assert_false(o.temperror);
	assert_non_null(strstr(o.reason, "no key rsa._domainkey.fwd.example"));
	/* the relay's seal made with a key its DNS does not publish */
	char *a = seal(base_msg, rsa_key, "lists.example", "lists.example; spf=pass", ARC_CV_NONE);
	char err[256];
	char *b = seal_try(a, rsa_key, "relay.example", "ed", "relay.example; arc=pass",
	                   ARC_CV_PASS, err, sizeof(err));
	assert_non_null(b);
	o = verify(b);
	assert_int_equal(o.cv, ARC_CV_FAIL);
	assert_non_null(strstr(o.reason, "key type (k=) does not match a="));
	free(a);
	free(b);
	free(m);
}

static void test_lookup_limit(void **state)
{
	(void)state;
	char *m = chain3(base_msg);
	/* 3 distinct keys are needed (the forwarder's and the list's are the
	 * same RSA key under two names) */
	struct fake_dns f = { .status = DKIM_DNS_OK };
	struct arc_verify_limits lim = { .max_lookups = 2 };
	struct outcome o = verify_with(&f, m, &lim);
	assert_int_equal(o.cv, ARC_CV_FAIL);
	assert_non_null(strstr(o.reason, "too many keys to look up"));
	assert_int_equal(f.asked, 0);
	lim.max_lookups = 3;
	f = (struct fake_dns){ .status = DKIM_DNS_OK };
	o = verify_with(&f, m, &lim);
	assert_int_equal(o.cv, ARC_CV_PASS);
	assert_int_equal(f.asked, 3);
	free(m);
}

static void test_later_answers_and_cancel(void **state)
{
	(void)state;
	char *m = chain3(base_msg);
	struct fake_dns f = { .status = DKIM_DNS_OK, .later = true };
	struct outcome o = verify_with(&f, m, NULL);
	assert_int_equal(o.cv, ARC_CV_PASS);
	/* freed with lookups in flight: each cancelled, done never runs */
	f = (struct fake_dns){ .status = DKIM_DNS_OK, .later = true };
	struct dkim_dns dns = { fake_txt, fake_cancel, &f, NULL };
	struct arc_verify *v = arc_verify_new(&dns, NULL, NOW);
	size_t hlen, body;
	split(m, &hlen, &body);
	assert_int_equal(arc_verify_header(v, m, hlen), 3);
	struct outcome never = { 0 };
	arc_verify_finish(v, collect, &never);
	arc_verify_free(v);
	assert_int_equal(f.cancelled, f.nq);
	assert_true(f.nq > 0);
	assert_int_equal(never.calls, 0);
	free(m);
}

static void test_sealer_refuses(void **state)
{
	(void)state;
	char err[256];
	char *m = seal_try(base_msg, rsa_key, "lists.example", "rsa", "x; spf=pass", ARC_CV_PASS,
	                   err, sizeof(err));
	assert_null(m);
	assert_string_equal(err, "no ARC set: cv must be none");
	char *one = seal(base_msg, rsa_key, "lists.example", "x; spf=pass", ARC_CV_NONE);
	assert_null(seal_try(one, rsa_key, "fwd.example", "rsa", "x; spf=pass", ARC_CV_NONE, err,
	                     sizeof(err)));
	assert_null(seal_try(one, rsa_key, "fwd.example", "rsa", "x; spf=pass\nInjected: yes",
	                     ARC_CV_PASS, err, sizeof(err)));
	assert_null(seal_try(one, rsa_key, "fwd.example", "rsa", "no semicolon", ARC_CV_PASS, err,
	                     sizeof(err)));
	assert_null(seal_try(one, rsa_key, "fwd example", "rsa", "x; spf=pass", ARC_CV_PASS, err,
	                     sizeof(err)));
	/* a broken chain cannot be sealed as passing; as failing it can */
	char *broken = drop_field(one, "ARC-Seal: i=1;");
	assert_null(seal_try(broken, rsa_key, "fwd.example", "rsa", "x; arc=fail", ARC_CV_PASS,
	                     err, sizeof(err)));
	assert_string_equal(err, "the ARC chain is broken: cv cannot be pass");
	char *f = seal(broken, rsa_key, "fwd.example", "x; arc=fail", ARC_CV_FAIL);
	assert_non_null(strstr(f, "ARC-Seal: i=2;"));
	free(f);
	free(broken);
	/* 50 sets is the end */
	char *m50 = xstrdup(one);
	for (unsigned i = 2; i <= ARC_MAX_INSTANCE; i++) {
		char *next = seal(m50, rsa_key, "fwd.example", "x; arc=pass", ARC_CV_PASS);
		free(m50);
		m50 = next;
	}
	assert_null(seal_try(m50, rsa_key, "fwd.example", "rsa", "x; arc=pass", ARC_CV_PASS, err,
	                     sizeof(err)));
	assert_string_equal(err, "the chain has 50 sets already");
	/* and such a chain still verifies, with at most the default lookups */
	struct outcome o = verify(m50);
	assert_int_equal(o.cv, ARC_CV_PASS);
	assert_int_equal(o.nsets, 50);
	free(m50);
	free(one);
}

static void test_trust(void **state)
{
	(void)state;
	static const char *const list[] = { "Lists.Example" };
	assert_true(arc_sealer_listed("lists.example", list, 1));
	assert_false(arc_sealer_listed("evil-lists.example", list, 1));
	assert_false(arc_sealer_listed("", list, 1));
	struct arc_set_result sets[2] = { { .instance = 1 }, { .instance = 2 } };
	strcpy(sets[0].seal_domain, "lists.example");
	strcpy(sets[1].seal_domain, "other.example");
	struct arc_result r = { .cv = ARC_CV_PASS, .nsets = 2, .sets = sets };
	assert_int_equal(arc_trusted_instance(&r, list, 1), 0);
	strcpy(sets[1].seal_domain, "lists.example");
	assert_int_equal(arc_trusted_instance(&r, list, 1), 1);
	r.cv = ARC_CV_FAIL;
	assert_int_equal(arc_trusted_instance(&r, list, 1), 0);
}

/* ---- set-up ------------------------------------------------------------ */

static struct dkim_key *make_key(enum dkim_alg alg, const char *name, char *rec)
{
	char path[300], err[256];
	snprintf(path, sizeof(path), "%s/%s.pem", tmpdir, name);
	assert_int_equal(dkim_keygen(path, alg, err, sizeof(err)), 0);
	struct dkim_key *k = dkim_key_load(path, err, sizeof(err));
	assert_non_null(k);
	assert_int_equal(dkim_dns_record(k, rec, DKIM_RECORD_MAX), 0);
	unlink(path);
	return k;
}

static int setup(void **state)
{
	(void)state;
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	rsa_key = make_key(DKIM_RSA_SHA256, "rsa", rsa_rec);
	ed_key = make_key(DKIM_ED25519_SHA256, "ed", ed_rec);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	dkim_key_free(rsa_key);
	dkim_key_free(ed_key);
	rmdir(tmpdir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aar_parse),
		cmocka_unit_test(test_ams_parse),
		cmocka_unit_test(test_seal_parse),
		cmocka_unit_test(test_chain_passes),
		cmocka_unit_test(test_body_changed),
		cmocka_unit_test(test_tampered_sets),
		cmocka_unit_test(test_cv_fail_ends_chain),
		cmocka_unit_test(test_key_problems),
		cmocka_unit_test(test_lookup_limit),
		cmocka_unit_test(test_later_answers_and_cancel),
		cmocka_unit_test(test_sealer_refuses),
		cmocka_unit_test(test_trust),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
