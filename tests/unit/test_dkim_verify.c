/* Unit tests for DKIM verification: the tag-list, signature and key-record
 * parsers with their hostile cases, and the streaming verifier driven by an
 * in-memory DNS (answers at once or later, failures, cancellation).
 * Messages are signed by postern's signer, and by a small signer here for
 * the tags postern does not write (l=, x=, simple, i=). The independent
 * check against dkimpy is tests/integration/test_dkim_verify.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "core/util.h"
#include "mail/header.h"
#include "mailauth/dkim.h"
#include "mailauth/dkim_canon.h"
#include "mailauth/dkim_tags.h"
#include "mailauth/dkim_verify.h"

#define NOW ((time_t)1795000000)

static char tmpdir[] = "/tmp/postern-test-dkimv-XXXXXX";
static struct dkim_key *rsa_key, *ed_key, *rsa2_key;
static char rsa_rec[DKIM_RECORD_MAX], ed_rec[DKIM_RECORD_MAX], rsa2_rec[DKIM_RECORD_MAX];

static const char base_msg[] =
	"From: Alice <alice@example.org>\n"
	"To: bob@example.net\n"
	"Subject: hello\n"
	"Date: Mon, 1 Jan 2029 00:00:00 +0000\n"
	"Message-ID: <1@example.org>\n"
	"\n"
	"Hello Bob,\n"
	"  how are  you?\n"
	"\n";

/* ---- the fake DNS ----------------------------------------------------- */

#define FAKE_MAX 8

struct fake_dns {
	struct { const char *name, *txt; enum dkim_dns_status st; } rec[FAKE_MAX];
	size_t nrec;
	bool later;             /* answer on fake_run(), not at once */
	bool refuse;            /* txt() fails */
	struct { int id; dkim_dns_txt_cb cb; void *arg; const char *name; bool live; } q[FAKE_MAX];
	size_t nq;
	int cancelled, asked;
	struct dkim_key_cache *keys;    /* the parsed keys' cache, or NULL */
};

static void fake_add(struct fake_dns *f, const char *name, enum dkim_dns_status st,
                     const char *txt)
{
	f->rec[f->nrec].name = name;
	f->rec[f->nrec].st = st;
	f->rec[f->nrec].txt = txt;
	f->nrec++;
}

static void fake_answer(struct fake_dns *f, const char *name, dkim_dns_txt_cb cb, void *arg)
{
	for (size_t i = 0; i < f->nrec; i++) {
		if (strcmp(f->rec[i].name, name) != 0)
			continue;
		struct dkim_txt t = { f->rec[i].txt, f->rec[i].txt ? strlen(f->rec[i].txt) : 0 };
		cb(arg, f->rec[i].st, &t, f->rec[i].st == DKIM_DNS_OK ? 1 : 0);
		return;
	}
	cb(arg, DKIM_DNS_NOTFOUND, NULL, 0);
}

static int fake_txt(void *ctx, const char *name, dkim_dns_txt_cb cb, void *arg)
{
	struct fake_dns *f = ctx;
	f->asked++;
	if (f->refuse)
		return -1;
	if (!f->later) {
		fake_answer(f, name, cb, arg);
		return 7;
	}
	assert_true(f->nq < FAKE_MAX);
	f->q[f->nq].id = (int)f->nq + 1;
	f->q[f->nq].cb = cb;
	f->q[f->nq].arg = arg;
	f->q[f->nq].name = name; /* the verifier's slot name lives until it answers */
	f->q[f->nq].live = true;
	return (int)++f->nq;
}

static void fake_cancel(void *ctx, int id)
{
	struct fake_dns *f = ctx;
	assert_true(id > 0 && (size_t)id <= f->nq && f->q[id - 1].live);
	f->q[id - 1].live = false;
	f->cancelled++;
}

static void fake_run(struct fake_dns *f)
{
	for (size_t i = 0; i < f->nq; i++) {
		if (!f->q[i].live)
			continue;
		f->q[i].live = false;
		fake_answer(f, f->q[i].name, f->q[i].cb, f->q[i].arg);
	}
}

static struct dkim_dns fake_iface(struct fake_dns *f)
{
	return (struct dkim_dns){ fake_txt, fake_cancel, f, f->keys };
}

/* ---- running the verifier ------------------------------------------- */

struct outcome {
	int calls;
	size_t n;
	struct dkim_result r[8];
};

static void collect(void *arg, const struct dkim_result *r, size_t n)
{
	struct outcome *o = arg;
	o->calls++;
	o->n = n;
	memcpy(o->r, r, n * sizeof(*r));
}

/* Verifies msg, the body fed in pieces of `chunk` octets. */
static struct outcome verify_msg_with(struct fake_dns *f, const char *msg, size_t chunk,
                                      const struct dkim_verify_limits *lim)
{
	struct outcome o = { 0 };
	struct dkim_dns dns = fake_iface(f);
	struct dkim_verify *v = dkim_verify_new(&dns, lim, NOW);
	size_t scan = 0, hlen, body, len = strlen(msg);
	if (!mail_header_block_end(msg, len, &scan, &hlen, &body))
		hlen = body = len;
	dkim_verify_header(v, msg, hlen);
	for (size_t p = body; p < len; p += chunk)
		dkim_verify_body(v, msg + p, len - p < chunk ? len - p : chunk);
	dkim_verify_finish(v, collect, &o);
	if (f->later) {
		assert_int_equal(o.calls, 0);
		fake_run(f);
	}
	assert_int_equal(o.calls, 1);
	dkim_verify_free(v);
	return o;
}

static struct outcome verify_msg(struct fake_dns *f, const char *msg)
{
	return verify_msg_with(f, msg, 4096, NULL);
}

static char *concat(const char *a, const char *b)
{
	char *s = xmalloc(strlen(a) + strlen(b) + 1);
	strcpy(s, a);
	strcat(s, b);
	return s;
}

/* base_msg signed by postern's signer with key, d=example.org. */
static char *postern_signed(const struct dkim_key *key, const char *selector, const char *msg)
{
	char err[256];
	char *sig = dkim_sign_buffer(key, "example.org", selector, msg, strlen(msg), NOW, err,
	                             sizeof(err));
	assert_non_null(sig);
	char *out = concat(sig, msg);
	free(sig);
	return out;
}

/* A test signer for what postern's does not write: `tags` is every tag
 * but bh= and b=, e.g. "v=1; a=rsa-sha256; c=simple/simple; d=...".
 * limit: l= (also added to tags by the caller), or UINT64_MAX. */
static char *custom_signed(const struct dkim_key *key, const char *tags, enum dkim_canon hc,
                           enum dkim_canon bc, uint64_t limit, const char *msg)
{
	size_t scan = 0, hlen, body, len = strlen(msg);
	assert_true(mail_header_block_end(msg, len, &scan, &hlen, &body));
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	struct dkim_body_canon *b = xmalloc(sizeof(*b));
	unsigned char d[32];
	char bh[45];
	assert_int_equal(EVP_DigestInit_ex(md, EVP_sha256(), NULL), 1);
	dkim_body_init(b, bc, md);
	dkim_body_set_limit(b, limit);
	assert_int_equal(dkim_body_update(b, msg + body, len - body), 0);
	assert_int_equal(dkim_body_final(b), 0);
	assert_int_equal(EVP_DigestFinal_ex(md, d, NULL), 1);
	EVP_EncodeBlock((unsigned char *)bh, d, 32);
	free(b);

	char field[2048];
	const char *h = strstr(tags, "h=");
	assert_non_null(h);
	snprintf(field, sizeof(field), "DKIM-Signature: %s; bh=%s; b=", tags, bh);
	struct mail_header hdr = { 0 };
	char err[128];
	assert_int_equal(mail_header_parse(&hdr, msg, hlen, MAIL_HEADER_STRICT, 0, err, sizeof(err)),
	                 0);
	size_t hl = strcspn(h + 2, ";");
	assert_int_equal(EVP_DigestInit_ex(md, EVP_sha256(), NULL), 1);
	assert_int_equal(dkim_hash_header_fields(md, hc, &hdr, h + 2, hl, NULL), 0);
	char canon[DKIM_CANON_HEADER_BOUND(2048)];
	size_t n = dkim_canon_header(hc, field, strlen(field), canon);
	assert_int_equal(EVP_DigestUpdate(md, canon, n), 1);
	assert_int_equal(EVP_DigestFinal_ex(md, d, NULL), 1);
	mail_header_free(&hdr);
	EVP_MD_CTX_free(md);

	unsigned char *sig;
	size_t siglen;
	assert_int_equal(dkim_key_sign_digest(key, d, &sig, &siglen, err, sizeof(err)), 0);
	char b64[2048];
	EVP_EncodeBlock((unsigned char *)b64, sig, (int)siglen);
	free(sig);
	char *out = xmalloc(strlen(field) + strlen(b64) + len + 4);
	sprintf(out, "%s%s\n%s", field, b64, msg);
	return out;
}

static void add_keys(struct fake_dns *f)
{
	fake_add(f, "rsa._domainkey.example.org", DKIM_DNS_OK, rsa_rec);
	fake_add(f, "ed._domainkey.example.org", DKIM_DNS_OK, ed_rec);
}

#define assert_verdict(o, i, v, why)                                                       \
	do {                                                                                   \
		assert_true((o).n > (i));                                                          \
		if ((o).r[i].verdict != (v) || strstr((o).r[i].reason, (why)) == NULL)             \
			fail_msg("signature %d: %s (%s), expected %s (%s)", (int)(i),                  \
			         dkim_verdict_name((o).r[i].verdict), (o).r[i].reason,                  \
			         dkim_verdict_name(v), why);                                            \
	} while (0)

/* ---- tag lists --------------------------------------------------------- */

static void test_tags(void **state)
{
	(void)state;
	struct dkim_tags t;
	char err[128];
	const char *s = " v = 1 ;\r\n\ta=rsa-sha256;h=from :\r\n to; z=a b ;";
	assert_int_equal(dkim_tags_parse(&t, s, strlen(s), err, sizeof(err)), 0);
	assert_int_equal(t.n, 4);
	const struct dkim_tag *h = dkim_tags_get(&t, "h");
	assert_non_null(h);
	assert_int_equal(h->value_len, strlen("from :\r\n to"));
	assert_true(dkim_tag_is(dkim_tags_get(&t, "z")->value, dkim_tags_get(&t, "z")->value_len,
	                        "a b"));
	assert_null(dkim_tags_get(&t, "V")); /* names are case-sensitive */

	static const char *const bad[] = {
		"a=1;;b=2", "a=1; a=2", "=1", "1a=2", "a", "a=1\x01", "a=\x7f", ";", "",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(dkim_tags_parse(&t, bad[i], strlen(bad[i]), err, sizeof(err)), -1);

	/* a hostile list: more tags than the bound */
	char many[DKIM_TAGS_MAX * 8];
	size_t o = 0;
	for (int i = 0; i <= DKIM_TAGS_MAX; i++)
		o += (size_t)sprintf(many + o, "t%d=x;", i);
	assert_int_equal(dkim_tags_parse(&t, many, o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than"));
}

static void test_base64(void **state)
{
	(void)state;
	unsigned char out[16];
	size_t n;
	assert_int_equal(dkim_base64_decode("aGVs\r\n bG8=", 11, out, sizeof(out), &n), 0);
	assert_int_equal(n, 5);
	assert_memory_equal(out, "hello", 5);
	assert_int_equal(dkim_base64_decode("aGVsbG8", 7, out, sizeof(out), &n), 0); /* unpadded */
	assert_int_equal(n, 5);
	assert_int_equal(dkim_base64_decode("aGVs=bG8", 8, out, sizeof(out), &n), -1);
	assert_int_equal(dkim_base64_decode("aGVsb", 5, out, sizeof(out), &n), -1);
	assert_int_equal(dkim_base64_decode("aGV*", 4, out, sizeof(out), &n), -1);
	assert_int_equal(dkim_base64_decode("aGVsbG8=", 8, out, 4, &n), -1); /* over cap */
}

/* ---- signature fields ------------------------------------------------- */

#define GOOD_SIG "v=1; a=rsa-sha256; d=Example.ORG; s=sel; h=From:To; bh=aGVsbG8=; b=d29y bGQ="

static int parse_sig(const char *value, struct dkim_sig *s, char *err)
{
	return dkim_sig_parse(s, value, strlen(value), err, 128);
}

static void test_sig_parse(void **state)
{
	(void)state;
	struct dkim_sig *s = xmalloc(sizeof(*s));
	char err[128];
	assert_int_equal(parse_sig(GOOD_SIG, s, err), 0);
	assert_string_equal(s->domain, "example.org");
	assert_string_equal(s->selector, "sel");
	assert_string_equal(s->identity, "@example.org");
	assert_int_equal(s->hcanon, DKIM_CANON_SIMPLE);
	assert_int_equal(s->bcanon, DKIM_CANON_SIMPLE);
	assert_int_equal(s->b_len, 5);
	assert_string_equal(s->b_prefix, "d29ybGQ=");
	assert_memory_equal(&GOOD_SIG[s->b_off], "d29y bGQ=", s->b_len_raw);
	assert_false(s->has_length);

	assert_int_equal(parse_sig("v=1; a=ed25519-sha256; c=relaxed; d=example.org; s=a.b; "
	                           "h=from; bh=aGVsbG8=; b=aGVsbG8=; i=user@mail.example.org; "
	                           "l=99999999999999999999999; t=10; x=20", s, err), 0);
	assert_int_equal(s->alg, DKIM_SIG_ED25519_SHA256);
	assert_int_equal(s->hcanon, DKIM_CANON_RELAXED);
	assert_int_equal(s->bcanon, DKIM_CANON_SIMPLE);
	assert_string_equal(s->identity_domain, "mail.example.org");
	assert_true(s->has_length);
	assert_true(s->length == UINT64_MAX); /* saturated, so it can never fit a body */

	static const struct { const char *value, *why; } bad[] = {
		{ "a=rsa-sha256; d=example.org; s=sel; h=from; bh=aGVsbG8=; b=aGVsbG8=", "no v=" },
		{ "v=2; a=rsa-sha256; d=example.org; s=sel; h=from; bh=aGVsbG8=; b=aGVsbG8=", "v=" },
		{ "v=1; a=rsa-md5; d=example.org; s=sel; h=from; bh=aGVsbG8=; b=aGVsbG8=", "a=" },
		{ "v=1; a=rsa-sha256; d=example.org; s=sel; h=to:subject; bh=aGVsbG8=; b=aGVsbG8=", "From" },
		{ "v=1; a=rsa-sha256; d=example.org; s=sel; h=from::to; bh=aGVsbG8=; b=aGVsbG8=", "empty" },
		{ "v=1; a=rsa-sha256; d=example.org; s=sel; h=from; bh=aGVsbG8=; b=aGVsbG8=; i=a@evil.org", "i=" },
		{ "v=1; a=rsa-sha256; d=example.org; s=sel; h=from; bh=aGVsbG8=; b=aGVsbG8=; i=a@xexample.org", "i=" },
		{ "v=1; a=rsa-sha256; d=example.org; s=sel; h=from; bh=aGVsbG8=; b=aGVsbG8=; t=20; x=20", "x=" },
		{ "v=1; a=rsa-sha256; d=exa mple.org; s=sel; h=from; bh=aGVsbG8=; b=aGVsbG8=", "d=" },
		{ "v=1; a=rsa-sha256; d=example.org; s=s/l; h=from; bh=aGVsbG8=; b=aGVsbG8=", "s=" },
		{ "v=1; a=rsa-sha256; d=example.org; s=sel; h=from; bh=aGVsbG8=; b=!!", "b=" },
		{ "v=1; a=rsa-sha256; c=fancy; d=example.org; s=sel; h=from; bh=aGVsbG8=; b=aGVsbG8=", "c=" },
		{ "v=1; a=rsa-sha256; d=example.org; s=sel; h=from; bh=aGVsbG8=; b=aGVsbG8=; l=1x", "l=" },
		{ "v=1; a=rsa-sha256; d=example.org; s=sel; h=from; bh=aGVsbG8=; b=aGVsbG8=; q=http", "q=" },
		{ "v=1; v=1; a=rsa-sha256; d=example.org; s=sel; h=from; bh=aGVsbG8=; b=aGVsbG8=", "twice" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse_sig(bad[i].value, s, err) != -1 || strstr(err, bad[i].why) == NULL)
			fail_msg("%s: accepted or wrong reason (%s)", bad[i].value, err);
	}
	/* a refused signature is still reported by its names */
	assert_int_equal(parse_sig("v=2; a=rsa-sha256; d=example.org; s=sel; b=aGVs", s, err), -1);
	assert_string_equal(s->domain, "example.org");
	assert_string_equal(s->b_prefix, "aGVs");
	free(s);
}

/* ---- key records -------------------------------------------------------- */

static void test_keyrec_parse(void **state)
{
	(void)state;
	struct dkim_keyrec *k = xmalloc(sizeof(*k));
	char err[128];
	const char *r = "v=DKIM1; k=ed25519; h=sha256; s=email; t=y:s; p=aGVsbG8=";
	assert_int_equal(dkim_keyrec_parse(k, r, strlen(r), err, sizeof(err)), 0);
	assert_int_equal(k->type, DKIM_KEY_ED25519);
	assert_true(k->sha256_ok && !k->sha1_ok && k->email_ok && k->testing && k->strict);
	assert_int_equal(k->key_len, 5);

	r = "p=aGVsbG8=";
	assert_int_equal(dkim_keyrec_parse(k, r, strlen(r), err, sizeof(err)), 0);
	assert_true(k->type == DKIM_KEY_RSA && k->sha256_ok && k->email_ok && !k->testing);
	r = "v=DKIM1; p=";
	assert_int_equal(dkim_keyrec_parse(k, r, strlen(r), err, sizeof(err)), 0);
	assert_true(k->revoked);
	r = "p=aGVsbG8=; h=sha1; s=tlsrpt";
	assert_int_equal(dkim_keyrec_parse(k, r, strlen(r), err, sizeof(err)), 0);
	assert_false(k->sha256_ok);
	assert_false(k->email_ok);
	r = "s=*; p=aGVsbG8=";
	assert_int_equal(dkim_keyrec_parse(k, r, strlen(r), err, sizeof(err)), 0);
	assert_true(k->email_ok);

	static const char *const bad[] = {
		"k=rsa; v=DKIM1; p=aGVsbG8=", "v=DKIM2; p=aGVsbG8=", "v=DKIM1; k=dsa; p=aGVsbG8=",
		"v=DKIM1; k=rsa", "v=spf1 -all", "p=aGVs!!", "v=DKIM1; p=a; p=b",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (dkim_keyrec_parse(k, bad[i], strlen(bad[i]), err, sizeof(err)) != -1)
			fail_msg("accepted %s", bad[i]);
	free(k);
}

/* ---- the verifier ------------------------------------------------------ */

static void test_postern_signatures_verify(void **state)
{
	(void)state;
	for (int later = 0; later <= 1; later++) {
		struct fake_dns f = { .later = later };
		add_keys(&f);
		char *m1 = postern_signed(rsa_key, "rsa", base_msg);
		char *m2 = postern_signed(ed_key, "ed", m1);
		struct outcome o = verify_msg(&f, m2);
		assert_int_equal(o.n, 2);
		assert_verdict(o, 0, DKIM_PASS, "good");
		assert_verdict(o, 1, DKIM_PASS, "good");
		assert_string_equal(o.r[0].algorithm, "ed25519-sha256");
		assert_string_equal(o.r[1].algorithm, "rsa-sha256");
		assert_string_equal(o.r[1].domain, "example.org");
		assert_string_equal(o.r[1].selector, "rsa");
		assert_int_equal(strlen(o.r[1].b_prefix), DKIM_B_PREFIX_LEN);
		assert_false(o.r[1].body_partial);
		/* one body hash for both: relaxed, no l= */
		assert_int_equal(o.r[0].body_octets, o.r[1].body_octets);
		free(m1);
		free(m2);
	}
}

/* Keys parsed once serve later messages, and never make a bad signature
 * pass or one algorithm's key stand for another's. */
static void test_key_cache(void **state)
{
	(void)state;
	struct fake_dns f = { .keys = dkim_key_cache_new() };
	add_keys(&f);
	char *m1 = postern_signed(rsa_key, "rsa", base_msg);
	char *m2 = postern_signed(ed_key, "ed", m1);
	for (int round = 0; round < 3; round++) {
		struct outcome o = verify_msg(&f, m2);
		assert_verdict(o, 0, DKIM_PASS, "good");
		assert_verdict(o, 1, DKIM_PASS, "good");
	}
	char *bad = xstrdup(m2);
	bad[strlen(bad) - 3] ^= 1;      /* the body changed: both fail, cache or not */
	struct outcome o = verify_msg(&f, bad);
	assert_int_equal(o.r[0].verdict, DKIM_FAIL);
	assert_int_equal(o.r[1].verdict, DKIM_FAIL);
	/* 32 octets that are an Ed25519 key are no RSA key, cached or not */
	unsigned char raw[32] = { 0x11 };
	char err[100];
	int bits = 0;
	EVP_PKEY *pk = dkim_pubkey_get(f.keys, DKIM_ED25519_SHA256, raw, sizeof(raw), &bits, err,
	                               sizeof(err));
	assert_non_null(pk);
	EVP_PKEY_free(pk);
	assert_null(dkim_pubkey_get(f.keys, DKIM_RSA_SHA256, raw, sizeof(raw), &bits, err,
	                            sizeof(err)));
	/* more keys than the cache holds: the oldest go, nothing leaks */
	for (int i = 0; i < 40; i++) {
		raw[1] = (unsigned char)i;
		pk = dkim_pubkey_get(f.keys, DKIM_ED25519_SHA256, raw, sizeof(raw), &bits, err,
		                     sizeof(err));
		assert_non_null(pk);
		EVP_PKEY_free(pk);
	}
	dkim_key_cache_free(f.keys);
	free(bad);
	free(m1);
	free(m2);
}

/* The body hash does not depend on how the body is cut into pieces. */
static void test_body_split_anywhere(void **state)
{
	(void)state;
	struct fake_dns f = { 0 };
	add_keys(&f);
	char *m = postern_signed(ed_key, "ed", base_msg);
	for (size_t chunk = 1; chunk < 12; chunk++) {
		struct outcome o = verify_msg_with(&f, m, chunk, NULL);
		assert_verdict(o, 0, DKIM_PASS, "good");
	}
	free(m);
}

static char *replace(const char *s, const char *from, const char *to)
{
	const char *p = strstr(s, from);
	assert_non_null(p);
	char *out = xmalloc(strlen(s) + strlen(to) + 1);
	sprintf(out, "%.*s%s%s", (int)(p - s), s, to, p + strlen(from));
	return out;
}

static void test_tampering_fails(void **state)
{
	(void)state;
	struct fake_dns f = { 0 };
	add_keys(&f);
	char *m = postern_signed(rsa_key, "rsa", base_msg);

	char *body = replace(m, "Hello Bob", "Hello Eve");
	struct outcome o = verify_msg(&f, body);
	assert_verdict(o, 0, DKIM_FAIL, "body hash");

	char *subj = replace(m, "Subject: hello", "Subject: HELLO");
	o = verify_msg(&f, subj);
	assert_verdict(o, 0, DKIM_FAIL, "signature does not verify");

	/* relaxed: re-folding and case of names do not matter */
	char *folded = replace(m, "Subject: hello", "SUBJECT:   \n\thello  ");
	o = verify_msg(&f, folded);
	assert_verdict(o, 0, DKIM_PASS, "good");

	/* a second From added above: oversigned, so it breaks the signature */
	char *from = replace(m, "From: Alice", "From: mallory@evil.example\nFrom: Alice");
	o = verify_msg(&f, from);
	assert_verdict(o, 0, DKIM_FAIL, "signature does not verify");

	/* an unsigned field added changes nothing */
	char *extra = replace(m, "From: Alice", "X-Extra: 1\nFrom: Alice");
	o = verify_msg(&f, extra);
	assert_verdict(o, 0, DKIM_PASS, "good");

	/* a change inside b= */
	char *b = strstr(m, " b=");
	assert_non_null(b);
	b[4] = b[4] == 'A' ? 'B' : 'A';
	o = verify_msg(&f, m);
	assert_verdict(o, 0, DKIM_FAIL, "signature does not verify");

	free(body);
	free(subj);
	free(folded);
	free(from);
	free(extra);
	free(m);
}

static void test_key_problems(void **state)
{
	(void)state;
	char *m = postern_signed(rsa_key, "rsa", base_msg);
	static const struct { enum dkim_dns_status st; const char *txt; enum dkim_verdict v;
	                      const char *why; } cases[] = {
		{ DKIM_DNS_NOTFOUND, NULL, DKIM_PERMERROR, "no key" },
		{ DKIM_DNS_TEMPFAIL, NULL, DKIM_TEMPERROR, "lookup failed" },
		{ DKIM_DNS_OK, "v=DKIM1; k=rsa; p=", DKIM_FAIL, "revoked" },
		{ DKIM_DNS_OK, "v=DKIM1; k=ed25519; p=aGVsbG8=", DKIM_PERMERROR, "k=" },
		{ DKIM_DNS_OK, "v=DKIM1; h=sha1; p=aGVsbG8=", DKIM_PERMERROR, "sha256" },
		{ DKIM_DNS_OK, "v=DKIM1; s=tlsrpt; p=aGVsbG8=", DKIM_PERMERROR, "email" },
		{ DKIM_DNS_OK, "v=DKIM1; p=aGVsbG8=", DKIM_PERMERROR, "RSA public key" },
		{ DKIM_DNS_OK, "v=spf1 -all", DKIM_PERMERROR, "key record" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fake_dns f = { 0 };
		fake_add(&f, "rsa._domainkey.example.org", cases[i].st, cases[i].txt);
		struct outcome o = verify_msg(&f, m);
		assert_verdict(o, 0, cases[i].v, cases[i].why);
	}
	/* the wrong key: another RSA key's record */
	struct fake_dns f = { 0 };
	fake_add(&f, "rsa._domainkey.example.org", DKIM_DNS_OK, rsa2_rec);
	struct outcome o = verify_msg(&f, m);
	assert_verdict(o, 0, DKIM_FAIL, "signature does not verify");
	/* t=y is reported */
	char testing[DKIM_RECORD_MAX + 16];
	snprintf(testing, sizeof(testing), "t=y; %s", rsa_rec + strlen("v=DKIM1; "));
	struct fake_dns g = { 0 };
	fake_add(&g, "rsa._domainkey.example.org", DKIM_DNS_OK, testing);
	o = verify_msg(&g, m);
	assert_verdict(o, 0, DKIM_PASS, "good");
	assert_true(o.r[0].testing);
	/* a lookup that cannot start */
	struct fake_dns r = { .refuse = true };
	o = verify_msg(&r, m);
	assert_verdict(o, 0, DKIM_TEMPERROR, "lookup failed");
	free(m);
}

static void test_custom_signatures(void **state)
{
	(void)state;
	struct fake_dns f = { 0 };
	add_keys(&f);
	char tags[512];

	/* simple/simple: the signed fields exactly as written */
	const char *t = "v=1; a=rsa-sha256; c=simple/simple; d=example.org; s=rsa; h=from:subject";
	char *m = custom_signed(rsa_key, t, DKIM_CANON_SIMPLE, DKIM_CANON_SIMPLE, UINT64_MAX, base_msg);
	struct outcome o = verify_msg(&f, m);
	assert_verdict(o, 0, DKIM_PASS, "good");
	char *refolded = replace(m, "Subject: hello", "Subject:  hello");
	o = verify_msg(&f, refolded);
	assert_verdict(o, 0, DKIM_FAIL, "signature");
	char *wsp = replace(m, "  how are  you?", "  how are you?");
	o = verify_msg(&f, wsp);
	assert_verdict(o, 0, DKIM_FAIL, "body hash");
	free(m);
	free(refolded);
	free(wsp);

	/* l=: content appended past it passes, reported as partial */
	t = "v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.org; s=ed; h=from; l=12";
	m = custom_signed(ed_key, t, DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, 12, base_msg);
	o = verify_msg(&f, m);
	assert_verdict(o, 0, DKIM_PASS, "unsigned");
	assert_true(o.r[0].has_length && o.r[0].body_partial);
	assert_int_equal(o.r[0].signed_octets, 12);
	assert_true(o.r[0].body_octets > 12);
	char *appended = concat(m, "Buy cheap stuff!\n");
	o = verify_msg(&f, appended);
	assert_verdict(o, 0, DKIM_PASS, "unsigned");
	assert_true(o.r[0].body_partial);
	free(appended);
	/* ... but a body shorter than l= fails */
	char *cut = replace(m, "Hello Bob,\n  how are  you?\n", "Hi\n");
	o = verify_msg(&f, cut);
	assert_verdict(o, 0, DKIM_FAIL, "l= is longer");
	free(cut);
	free(m);

	/* x= in the past, t= in the future */
	snprintf(tags, sizeof(tags), "v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org; s=rsa; "
	         "h=from; t=%lld; x=%lld", (long long)NOW - 200, (long long)NOW - 100);
	m = custom_signed(rsa_key, tags, DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, UINT64_MAX, base_msg);
	o = verify_msg(&f, m);
	assert_verdict(o, 0, DKIM_PERMERROR, "expired");
	free(m);
	snprintf(tags, sizeof(tags), "v=1; a=rsa-sha256; d=example.org; s=rsa; h=from; t=%lld; x=%lld",
	         (long long)NOW - 200, (long long)NOW + 100);
	m = custom_signed(rsa_key, tags, DKIM_CANON_SIMPLE, DKIM_CANON_SIMPLE, UINT64_MAX, base_msg);
	o = verify_msg(&f, m);
	assert_verdict(o, 0, DKIM_PASS, "good");
	free(m);
	snprintf(tags, sizeof(tags), "v=1; a=rsa-sha256; d=example.org; s=rsa; h=from; t=%lld",
	         (long long)NOW + 3600);
	m = custom_signed(rsa_key, tags, DKIM_CANON_SIMPLE, DKIM_CANON_SIMPLE, UINT64_MAX, base_msg);
	o = verify_msg(&f, m);
	assert_verdict(o, 0, DKIM_PERMERROR, "future");
	free(m);

	/* rsa-sha1 is refused without a lookup */
	struct fake_dns g = { 0 };
	add_keys(&g);
	char *signed_msg = postern_signed(rsa_key, "rsa", base_msg);
	m = replace(signed_msg, "a=rsa-sha256", "a=rsa-sha1");
	free(signed_msg);
	o = verify_msg(&g, m);
	assert_verdict(o, 0, DKIM_POLICY, "rsa-sha1");
	assert_int_equal(g.asked, 0);
	free(m);

	/* t=s: i= must be d= itself */
	char strict[DKIM_RECORD_MAX + 16];
	snprintf(strict, sizeof(strict), "v=DKIM1; t=s; %s", ed_rec + strlen("v=DKIM1; "));
	struct fake_dns s = { 0 };
	fake_add(&s, "ed._domainkey.example.org", DKIM_DNS_OK, strict);
	t = "v=1; a=ed25519-sha256; d=example.org; i=@sub.example.org; s=ed; h=from";
	m = custom_signed(ed_key, t, DKIM_CANON_SIMPLE, DKIM_CANON_SIMPLE, UINT64_MAX, base_msg);
	o = verify_msg(&f, m);
	assert_verdict(o, 0, DKIM_PASS, "good");
	o = verify_msg(&s, m);
	assert_verdict(o, 0, DKIM_PERMERROR, "t=s");
	free(m);
}

/* The signature field itself is never one of the fields h= selects: a
 * signer that lists dkim-signature signs the older signatures only. */
static void test_signs_older_signature(void **state)
{
	(void)state;
	struct fake_dns f = { 0 };
	add_keys(&f);
	char *m1 = postern_signed(rsa_key, "rsa", base_msg);
	const char *t = "v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.org; s=ed; "
	                "h=dkim-signature:dkim-signature:from";
	char *m2 = custom_signed(ed_key, t, DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, UINT64_MAX, m1);
	struct outcome o = verify_msg(&f, m2);
	assert_verdict(o, 0, DKIM_PASS, "good");
	assert_verdict(o, 1, DKIM_PASS, "good");
	free(m1);
	free(m2);
}

static void test_limits(void **state)
{
	(void)state;
	struct fake_dns f = { 0 };
	add_keys(&f);
	char *m = postern_signed(ed_key, "ed", base_msg);
	for (int i = 0; i < 7; i++) {
		char *n = postern_signed(ed_key, "ed", m);
		free(m);
		m = n;
	}
	struct outcome o = verify_msg(&f, m);
	assert_int_equal(o.n, DKIM_VERIFY_MAX_SIGNATURES);
	for (size_t i = 0; i < o.n; i++)
		assert_verdict(o, i, DKIM_PASS, "good");
	/* one lookup for the one key name */
	assert_int_equal(f.asked, 1);
	struct dkim_verify_limits lim = { .max_signatures = 2, .clock_skew = 0 };
	o = verify_msg_with(&f, m, 4096, &lim);
	assert_int_equal(o.n, 2);
	free(m);

	/* a malformed header block: the signatures are reported, not checked */
	m = postern_signed(ed_key, "ed", base_msg);
	char *bad = replace(m, "To: bob", "this line is no field\nTo: bob");
	o = verify_msg(&f, bad);
	assert_int_equal(o.n, 1);
	assert_verdict(o, 0, DKIM_PERMERROR, "malformed");
	assert_string_equal(o.r[0].domain, "example.org");
	free(bad);
	free(m);

	/* unsigned: no results */
	o = verify_msg(&f, base_msg);
	assert_int_equal(o.n, 0);
}

struct freeing {
	struct dkim_verify *v;
	size_t n;
};

static void free_in_done(void *arg, const struct dkim_result *r, size_t n)
{
	struct freeing *fr = arg;
	(void)r;
	fr->n = n;
	dkim_verify_free(fr->v);
}

/* A session that ends while lookups are in flight cancels them. */
static void test_free_cancels(void **state)
{
	(void)state;
	struct fake_dns f = { .later = true };
	add_keys(&f);
	char *m1 = postern_signed(rsa_key, "rsa", base_msg);
	char *m2 = postern_signed(ed_key, "ed", m1);
	struct dkim_dns dns = fake_iface(&f);
	struct dkim_verify *v = dkim_verify_new(&dns, NULL, NOW);
	assert_int_equal(dkim_verify_header(v, m2, strlen(m2)), 2);
	assert_int_equal(f.nq, 2);
	dkim_verify_free(v);
	assert_int_equal(f.cancelled, 2);

	/* and one freed from its own done callback is fine */
	struct fake_dns g = { .later = true };
	add_keys(&g);
	dns = fake_iface(&g);
	struct freeing fr = { dkim_verify_new(&dns, NULL, NOW), 0 };
	assert_int_equal(dkim_verify_header(fr.v, m2, strlen(m2)), 2);
	dkim_verify_finish(fr.v, free_in_done, &fr);
	assert_int_equal(fr.n, 0);
	fake_run(&g);
	assert_int_equal(fr.n, 2);
	assert_int_equal(g.cancelled, 0);
	free(m1);
	free(m2);
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
	rsa2_key = make_key(DKIM_RSA_SHA256, "rsa2", rsa2_rec);
	ed_key = make_key(DKIM_ED25519_SHA256, "ed", ed_rec);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	dkim_key_free(rsa_key);
	dkim_key_free(rsa2_key);
	dkim_key_free(ed_key);
	rmdir(tmpdir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_sig_parse),
		cmocka_unit_test(test_keyrec_parse),
		cmocka_unit_test(test_postern_signatures_verify),
		cmocka_unit_test(test_key_cache),
		cmocka_unit_test(test_body_split_anywhere),
		cmocka_unit_test(test_tampering_fails),
		cmocka_unit_test(test_key_problems),
		cmocka_unit_test(test_custom_signatures),
		cmocka_unit_test(test_signs_older_signature),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_free_cancels),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
