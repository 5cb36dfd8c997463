/* DKIM verifier (RFC 6376 6.1): the order of the checks and the state of
 * one message's signatures. Parsing is dkim_sig_parse.c and dkim_keyrec.c,
 * canonicalisation dkim_canon.c, the selection of signed fields
 * dkim_header_hash.c, the public-key primitive dkim_key.c. */
#include "mailauth/dkim_verify.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "core/util.h"
#include "mail/header.h"
#include "mailauth/dkim.h"
#include "mailauth/dkim_body_hash.h"
#include "mailauth/dkim_canon.h"

/* However large a limit the configuration asks for. */
#define SIGNATURES_CAP 50

struct key_slot {
	struct dkim_verify *v;
	char name[DKIM_NAME_MAX + 1];   /* selector._domainkey.domain */
	int query;                      /* id while the lookup is in flight */
	bool pending;
};

/* One running body hash per distinct (canonicalisation, l=). */
struct sig_state {
	bool decided;                   /* the result is final */
	bool checked;                   /* the key answered and the signature was checked */
	bool sig_ok;
	enum dkim_sig_alg alg;
	bool strict_domain_ok;          /* i= domain equals d= (for a key's t=s) */
	unsigned char hdigest[32];      /* of the signed header fields */
	unsigned char b[DKIM_SIG_B_MAX];
	size_t b_len;
	unsigned char bh[64];
	size_t bh_len;
	size_t body, key;               /* indexes into bodies, keys */
};

struct dkim_verify {
	const struct dkim_dns *dns;
	struct dkim_verify_limits lim;
	time_t now;
	bool header_seen, finishing, delivered;
	struct sig_state *sig;
	struct dkim_result *res;
	size_t nsig;
	struct key_slot *keys;
	size_t nkeys;
	struct dkim_body_hashes bodies;   /* one per distinct (c=, l=) */
	size_t pending;                 /* key lookups not answered */
	dkim_verify_done_fn done;
	void *done_arg;
};

const char *dkim_verdict_name(enum dkim_verdict v)
{
	switch (v) {
	case DKIM_PASS: return "pass";
	case DKIM_FAIL: return "fail";
	case DKIM_POLICY: return "policy";
	case DKIM_TEMPERROR: return "temperror";
	case DKIM_PERMERROR: return "permerror";
	}
	return "permerror";
}

static void decide(struct dkim_verify *v, size_t i, enum dkim_verdict verdict, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));

static void decide(struct dkim_verify *v, size_t i, enum dkim_verdict verdict, const char *fmt,
                   ...)
{
	if (v->sig[i].decided)
		return;
	v->sig[i].decided = true;
	v->res[i].verdict = verdict;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v->res[i].reason, sizeof(v->res[i].reason), fmt, ap);
	va_end(ap);
}

struct dkim_verify *dkim_verify_new(const struct dkim_dns *dns,
                                    const struct dkim_verify_limits *limits, time_t now)
{
	struct dkim_verify *v = xcalloc(1, sizeof(*v));
	v->dns = dns;
	v->lim.max_signatures = DKIM_VERIFY_MAX_SIGNATURES;
	v->lim.clock_skew = DKIM_VERIFY_CLOCK_SKEW;
	if (limits != NULL)
		v->lim = *limits;
	if (v->lim.max_signatures > SIGNATURES_CAP)
		v->lim.max_signatures = SIGNATURES_CAP;
	v->now = now;
	return v;
}

/* ---- the header: signatures, their header hashes, lookups ------------- */

static size_t key_slot_for(struct dkim_verify *v, const struct dkim_sig *s)
{
	char name[DKIM_NAME_MAX + 1];
	/* dkim_sig_parse() checked that it fits */
	if (bsnprintf(name, sizeof(name), "%s._domainkey.%s", s->selector, s->domain) < 0)
		name[0] = '\0';
	for (size_t i = 0; i < v->nkeys; i++)
		if (strcmp(v->keys[i].name, name) == 0)
			return i;
	struct key_slot *k = &v->keys[v->nkeys];
	k->v = v;
	memcpy(k->name, name, sizeof(name));
	return v->nkeys++;
}

static int hash_header(struct sig_state *st, const struct dkim_sig *s,
                       const struct mail_header *h, const struct mail_field *f)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int rc = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	         dkim_hash_header_fields(md, s->hcanon, h, s->h, s->h_len, f) == 0 &&
	         dkim_hash_signature_field(md, s->hcanon, f, s->b_off, s->b_len_raw) == 0 && EVP_DigestFinal_ex(md, st->hdigest, NULL) == 1
	         ? 0 : -1;
	EVP_MD_CTX_free(md);
	return rc;
}

static void copy_names(struct dkim_result *r, const struct dkim_sig *s)
{
	memcpy(r->domain, s->domain, sizeof(r->domain));
	memcpy(r->selector, s->selector, sizeof(r->selector));
	memcpy(r->identity, s->identity, sizeof(r->identity));
	memcpy(r->algorithm, s->algorithm, sizeof(r->algorithm));
	memcpy(r->b_prefix, s->b_prefix, sizeof(r->b_prefix));
	r->has_length = s->has_length;
	r->signed_octets = s->length;
}

/* Everything about signature i that needs neither its key nor the body. */
static void sig_setup(struct dkim_verify *v, size_t i, const struct mail_header *h,
                      const struct mail_field *f)
{
	struct dkim_sig *s = xmalloc(sizeof(*s));
	struct sig_state *st = &v->sig[i];
	char err[100];
	int parsed = dkim_sig_parse(s, f->value, f->value_len, err, sizeof(err));
	copy_names(&v->res[i], s);
	if (parsed < 0) {
		decide(v, i, DKIM_PERMERROR, "signature syntax: %s", err);
	} else if (s->alg == DKIM_SIG_RSA_SHA1) {
		decide(v, i, DKIM_POLICY, "rsa-sha1 is not accepted (RFC 8301)");
	} else if (s->has_expire && s->expire < (int64_t)v->now) {
		decide(v, i, DKIM_PERMERROR, "signature expired (x=)");
	} else if (s->has_time && s->time > (int64_t)v->now + (int64_t)v->lim.clock_skew) {
		decide(v, i, DKIM_PERMERROR, "signature made in the future (t=)");
	} else if (hash_header(st, s, h, f) < 0) {
		decide(v, i, DKIM_TEMPERROR, "hashing failed");
	} else {
		st->alg = s->alg;
		memcpy(st->b, s->b, s->b_len);
		st->b_len = s->b_len;
		memcpy(st->bh, s->bh, s->bh_len);
		st->bh_len = s->bh_len;
		st->strict_domain_ok = strcasecmp(s->identity_domain, s->domain) == 0;
		st->body = dkim_body_hashes_for(&v->bodies, s);
		st->key = key_slot_for(v, s);
	}
	free(s);
}

/* ---- keys -------------------------------------------------------------- */

enum dkim_verdict dkim_key_check(struct dkim_key_cache *cache, const struct dkim_keyrec *k, enum dkim_sig_alg sig_alg,
                                 const unsigned char digest[32], const unsigned char *b,
                                 size_t b_len, bool *sig_ok, char *err, size_t errlen)
{
	enum dkim_alg alg = sig_alg == DKIM_SIG_ED25519_SHA256 ? DKIM_ED25519_SHA256
	                                                      : DKIM_RSA_SHA256;
	*sig_ok = false;
	if (k->revoked) {
		snprintf(err, errlen, "key revoked (empty p=)");
		return DKIM_FAIL;
	}
	if ((k->type == DKIM_KEY_ED25519) != (alg == DKIM_ED25519_SHA256)) {
		snprintf(err, errlen, "key type (k=) does not match a=");
		return DKIM_PERMERROR;
	}
	if (!k->sha256_ok) {
		snprintf(err, errlen, "key does not allow sha256 (h=)");
		return DKIM_PERMERROR;
	}
	if (!k->email_ok) {
		snprintf(err, errlen, "key is not for email (s=)");
		return DKIM_PERMERROR;
	}
	int bits = 0;
	EVP_PKEY *pk = dkim_pubkey_get(cache, alg, k->key, k->key_len, &bits, err, errlen);
	if (pk == NULL)
		return DKIM_PERMERROR;
	if (alg == DKIM_RSA_SHA256 && bits < DKIM_RSA_MIN_BITS) {
		EVP_PKEY_free(pk);
		snprintf(err, errlen, "RSA key of %d bits, %d needed (RFC 8301)", bits,
		         DKIM_RSA_MIN_BITS);
		return DKIM_POLICY;
	}
	*sig_ok = dkim_pubkey_verify_digest(pk, alg, digest, b, b_len) == 1;
	EVP_PKEY_free(pk);
	return DKIM_PASS;
}

/* What the key record says about signature i. */
static void check_with_key(struct dkim_verify *v, size_t i, const struct dkim_keyrec *k)
{
	struct sig_state *st = &v->sig[i];
	v->res[i].testing = k->testing;
	if (k->strict && !k->revoked && !st->strict_domain_ok)
		return decide(v, i, DKIM_PERMERROR, "key requires i= domain to be d= (t=s)");
	char err[100];
	enum dkim_verdict vd = dkim_key_check(v->dns->keys, k, st->alg, st->hdigest, st->b, st->b_len,
	                                      &st->sig_ok, err, sizeof(err));
	if (vd != DKIM_PASS)
		return decide(v, i, vd, "%s", err);
	st->checked = true;
}

int dkim_keyrec_pick(const struct dkim_txt *txt, size_t n, struct dkim_keyrec *k, char *err,
                     size_t errlen)
{
	for (size_t r = 0; r < n; r++) {
		char e[100];
		if (dkim_keyrec_parse(k, txt[r].data, txt[r].len, e, sizeof(e)) == 0)
			return 0;
		if (r == 0)
			snprintf(err, errlen, "%s", e);
	}
	return -1;
}

static void deliver(struct dkim_verify *v);

static void key_answer(void *arg, enum dkim_dns_status status, const struct dkim_txt *txt,
                       size_t ntxt)
{
	struct key_slot *slot = arg;
	struct dkim_verify *v = slot->v;
	size_t index = (size_t)(slot - v->keys);
	struct dkim_keyrec *k = xmalloc(sizeof(*k));
	char err[100];
	int parsed = status == DKIM_DNS_OK && ntxt > 0 ? dkim_keyrec_pick(txt, ntxt, k, err, sizeof(err)) : -1;

	slot->pending = false;
	slot->query = 0;
	for (size_t i = 0; i < v->nsig; i++) {
		if (v->sig[i].decided || v->sig[i].key != index)
			continue;
		if (status == DKIM_DNS_TEMPFAIL)
			decide(v, i, DKIM_TEMPERROR, "key lookup failed");
		else if (status != DKIM_DNS_OK || ntxt == 0)
			decide(v, i, DKIM_PERMERROR, "no key for signature");
		else if (parsed < 0)
			decide(v, i, DKIM_PERMERROR, "key record: %s", err);
		else
			check_with_key(v, i, k);
	}
	free(k);
	v->pending--;
	if (v->finishing && v->pending == 0)
		deliver(v);
}

static void start_lookups(struct dkim_verify *v)
{
	v->pending = v->nkeys;
	for (size_t i = 0; i < v->nkeys; i++) {
		struct key_slot *slot = &v->keys[i];
		slot->pending = true;
		int id = v->dns->txt(v->dns->ctx, slot->name, key_answer, slot);
		if (id < 0 && slot->pending) {
			key_answer(slot, DKIM_DNS_TEMPFAIL, NULL, 0);
			continue;
		}
		if (slot->pending) /* else it has answered already */
			slot->query = id;
	}
}

/* The DKIM-Signature fields of a header block the strict reader refused,
 * found leniently so each can be reported. */
static void refuse_all(struct dkim_verify *v, const char *hdr, size_t len, const char *why)
{
	struct mail_header_iter it;
	struct mail_field f;
	mail_header_iter_init(&it, hdr, len > DKIM_HEADER_MAX ? DKIM_HEADER_MAX : len,
	                      MAIL_HEADER_LENIENT);
	while (v->nsig < v->lim.max_signatures && mail_header_next(&it, &f)) {
		if (!mail_field_is(&f, "dkim-signature"))
			continue;
		struct dkim_sig *s = xmalloc(sizeof(*s));
		char err[100];
		dkim_sig_parse(s, f.value, f.value_len, err, sizeof(err));
		copy_names(&v->res[v->nsig], s);
		free(s);
		decide(v, v->nsig++, DKIM_PERMERROR, "%s", why);
	}
}

int dkim_verify_header(struct dkim_verify *v, const char *hdr, size_t len)
{
	if (v->header_seen)
		return -1;
	v->header_seen = true;
	size_t max = v->lim.max_signatures;
	v->sig = xcalloc(max + 1, sizeof(*v->sig));
	v->res = xcalloc(max + 1, sizeof(*v->res));
	v->keys = xcalloc(max + 1, sizeof(*v->keys));
	dkim_body_hashes_init(&v->bodies, max);

	struct mail_header h = { 0 };
	char err[200];
	if (len > DKIM_HEADER_MAX || mail_header_parse(&h, hdr, len, MAIL_HEADER_STRICT,
	                                               DKIM_FIELDS_MAX, err, sizeof(err)) < 0) {
		mail_header_free(&h);
		refuse_all(v, hdr, len, len > DKIM_HEADER_MAX ? "header block too large"
		                                                : "malformed header block");
		return -1;
	}
	for (size_t f = 0; f < h.nfields && v->nsig < max; f++)
		if (mail_field_is(&h.fields[f], "dkim-signature"))
			sig_setup(v, v->nsig++, &h, &h.fields[f]);
	mail_header_free(&h);
	int n = (int)v->nsig;
	start_lookups(v);
	return n;
}

/* ---- the body and the end ------------------------------------------- */

void dkim_verify_body(struct dkim_verify *v, const void *data, size_t len)
{
	if (v->finishing)
		return;
	dkim_body_hashes_update(&v->bodies, data, len);
}

/* RFC 6376 6.1.3 then 6.1.4's order: the body hash, then the signature. */
static void judge(struct dkim_verify *v, size_t i)
{
	struct sig_state *st = &v->sig[i];
	struct dkim_result *r = &v->res[i];
	const struct dkim_body_hash *b = &v->bodies.h[st->body];
	r->body_octets = b->bc->length;
	if (!r->has_length)
		r->signed_octets = r->body_octets;
	if (b->failed)
		return decide(v, i, DKIM_TEMPERROR, "hashing failed");
	if (r->has_length && r->signed_octets > r->body_octets)
		return decide(v, i, DKIM_FAIL, "l= is longer than the body");
	if (st->bh_len != sizeof(b->digest) || memcmp(st->bh, b->digest, sizeof(b->digest)) != 0)
		return decide(v, i, DKIM_FAIL, "body hash does not match");
	if (!st->sig_ok)
		return decide(v, i, DKIM_FAIL, "signature does not verify");
	r->body_partial = r->signed_octets < r->body_octets;
	if (r->body_partial)
		decide(v, i, DKIM_PASS, "l= leaves %llu body octets unsigned",
		       (unsigned long long)(r->body_octets - r->signed_octets));
	else
		decide(v, i, DKIM_PASS, "good signature");
}

static void deliver(struct dkim_verify *v)
{
	if (v->delivered)
		return;
	v->delivered = true;
	for (size_t i = 0; i < v->nsig; i++)
		if (!v->sig[i].decided && v->sig[i].checked)
			judge(v, i);
	/* done may free v: nothing after it */
	v->done(v->done_arg, v->res, v->nsig);
}

void dkim_verify_finish(struct dkim_verify *v, dkim_verify_done_fn done, void *arg)
{
	if (v->finishing)
		return;
	v->finishing = true;
	v->done = done;
	v->done_arg = arg;
	dkim_body_hashes_final(&v->bodies);
	if (v->pending == 0)
		deliver(v);
}

void dkim_verify_free(struct dkim_verify *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < v->nkeys; i++)
		if (v->keys[i].pending && v->keys[i].query > 0)
			v->dns->cancel(v->dns->ctx, v->keys[i].query);
	dkim_body_hashes_free(&v->bodies);
	free(v->keys);
	free(v->sig);
	free(v->res);
	free(v);
}
