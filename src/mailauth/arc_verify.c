/* ARC chain validation (RFC 8617 5.2): the sets and their structure, the
 * header hashes of every AMS and seal, the key lookups, the verdict.
 * Parsing is arc_parse.c (on the DKIM tag and signature parsers), the
 * canonicalisation and the selection of signed fields dkim_canon.c and
 * dkim_header_hash.c, the key checks dkim_verify.c's. */
#include "mailauth/arc_verify.h"

#include <stdarg.h>
#include <stdint.h>
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

#define NO_SLOT SIZE_MAX

struct key_slot {
	struct arc_verify *v;
	char name[DKIM_NAME_MAX + 1];   /* selector._domainkey.domain */
	int query;
	bool pending;
	enum dkim_dns_status status;
	int parsed;                     /* dkim_keyrec_pick(): 0 when rec holds a key */
	struct dkim_keyrec *rec;
	char err[100];
};

/* One set while the chain is judged; instance k + 1. */
struct set_state {
	const struct mail_field *field[3];      /* AAR, AMS, seal (during the header only) */
	struct arc_ams_sig *ams;
	struct arc_seal_sig *seal;
	unsigned char ams_digest[32], seal_digest[32];
	size_t ams_key, seal_key, body;         /* NO_SLOT: not looked up */
	bool ams_temp, seal_temp;               /* a key lookup failed for now */
};

struct arc_verify {
	const struct dkim_dns *dns;
	struct arc_verify_limits lim;
	time_t now;
	bool header_seen, finishing, delivered, decided;
	unsigned n;
	struct set_state *st;                   /* [n] */
	struct arc_set_result *sets;            /* [n] */
	struct key_slot *keys;
	size_t nkeys;
	struct dkim_body_hashes bodies;   /* one per distinct (c=, l=) */
	size_t pending;
	struct arc_result res;
	arc_verify_done_fn done;
	void *done_arg;
};

static void decide(struct arc_verify *v, enum arc_cv cv, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The chain's status is settled (the first decision stands). */
static void decide(struct arc_verify *v, enum arc_cv cv, const char *fmt, ...)
{
	if (v->decided)
		return;
	v->decided = true;
	v->res.cv = cv;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v->res.reason, sizeof(v->res.reason), fmt, ap);
	va_end(ap);
}

struct arc_verify *arc_verify_new(const struct dkim_dns *dns,
                                  const struct arc_verify_limits *limits, time_t now)
{
	struct arc_verify *v = xcalloc(1, sizeof(*v));
	v->dns = dns;
	v->lim.max_lookups = ARC_VERIFY_MAX_LOOKUPS;
	if (limits != NULL)
		v->lim = *limits;
	if (v->lim.max_lookups > 2 * ARC_MAX_INSTANCE)
		v->lim.max_lookups = 2 * ARC_MAX_INSTANCE;
	v->now = now;
	return v;
}

/* ---- the sets and their structure (RFC 8617 5.2 steps 1 to 3) --------- */

static const char *const field_names[] = { "ARC-Authentication-Results",
                                           "ARC-Message-Signature", "ARC-Seal" };

/* Files every ARC field under its instance: RFC 8617 5.2 steps 1 and 3.1,
 * 3.2 (one of each per instance, 1..N without a gap). */
static int collect(struct arc_verify *v, const struct mail_header *h)
{
	struct set_state *st = xcalloc(ARC_MAX_INSTANCE, sizeof(*st));
	v->st = st;
	char err[100];
	for (size_t k = 0; k < h->nfields; k++) {
		const struct mail_field *f = &h->fields[k];
		enum arc_field kind = arc_field_kind(f);
		if (kind == ARC_FIELD_OTHER)
			continue;
		unsigned i;
		if (arc_field_instance(f, kind, &i, err, sizeof(err)) < 0) {
			decide(v, ARC_CV_FAIL, "%s: %s", field_names[kind - 1], err);
			return -1;
		}
		if (st[i - 1].field[kind - 1] != NULL) {
			decide(v, ARC_CV_FAIL, "two %s fields of instance %u", field_names[kind - 1], i);
			return -1;
		}
		st[i - 1].field[kind - 1] = f;
		if (i > v->n)
			v->n = i;
	}
	for (unsigned i = 1; i <= v->n; i++) {
		for (int kind = 0; kind < 3; kind++) {
			if (st[i - 1].field[kind] == NULL) {
				decide(v, ARC_CV_FAIL, "no %s of instance %u (of %u)", field_names[kind], i,
				       v->n);
				return -1;
			}
		}
	}
	return 0;
}

/* Parses the two signatures of every set and checks the cv= sequence
 * (RFC 8617 5.2 steps 2 and 3.3). */
static int parse_sets(struct arc_verify *v)
{
	char err[100];
	for (unsigned i = 1; i <= v->n; i++) {
		struct set_state *s = &v->st[i - 1];
		const struct mail_field *ams = s->field[1], *seal = s->field[2];
		s->ams = xmalloc(sizeof(*s->ams));
		s->seal = xmalloc(sizeof(*s->seal));
		s->ams_key = s->seal_key = s->body = NO_SLOT;
		if (arc_ams_parse(s->ams, ams->value, ams->value_len, err, sizeof(err)) < 0) {
			decide(v, ARC_CV_FAIL, "ARC-Message-Signature i=%u: %s", i, err);
			return -1;
		}
		if (arc_seal_parse(s->seal, seal->value, seal->value_len, err, sizeof(err)) < 0) {
			decide(v, ARC_CV_FAIL, "ARC-Seal i=%u: %s", i, err);
			return -1;
		}
	}
	enum arc_cv top = v->st[v->n - 1].seal->cv;
	if (top == ARC_CV_FAIL) {
		decide(v, ARC_CV_FAIL, "ARC-Seal i=%u says cv=fail: the chain has ended", v->n);
		return -1;
	}
	for (unsigned i = 1; i <= v->n; i++) {
		enum arc_cv cv = v->st[i - 1].seal->cv, want = i == 1 ? ARC_CV_NONE : ARC_CV_PASS;
		if (cv != want) {
			decide(v, ARC_CV_FAIL, "ARC-Seal i=%u has cv=%s, not %s", i, arc_cv_name(cv),
			       arc_cv_name(want));
			return -1;
		}
	}
	return 0;
}

/* The AAR payload as a reader wants it: unfolded, each run of white space
 * one SP. */
static char *aar_text_new(const char *p, size_t len)
{
	char *out = mail_unfold_dup(p, len);
	size_t o = 0;
	for (size_t i = 0; out[i] != '\0'; i++) {
		bool wsp = out[i] == ' ' || out[i] == '\t';
		if (!wsp)
			out[o++] = out[i];
		else if (o > 0 && out[o - 1] != ' ')
			out[o++] = ' ';
	}
	out[o] = '\0';
	return out;
}

/* What the caller sees of every set. */
static void fill_sets(struct arc_verify *v)
{
	v->sets = xcalloc(v->n, sizeof(*v->sets));
	for (unsigned i = 1; i <= v->n; i++) {
		struct set_state *s = &v->st[i - 1];
		struct arc_set_result *r = &v->sets[i - 1];
		r->instance = i;
		r->cv = s->seal->cv;
		memcpy(r->seal_domain, s->seal->sig.domain, sizeof(r->seal_domain));
		memcpy(r->seal_selector, s->seal->sig.selector, sizeof(r->seal_selector));
		memcpy(r->ams_domain, s->ams->sig.domain, sizeof(r->ams_domain));
		memcpy(r->ams_selector, s->ams->sig.selector, sizeof(r->ams_selector));
		const char *p = NULL;
		size_t plen = 0;
		char err[100];
		unsigned inst;
		/* collect() parsed it once already */
		if (arc_aar_parse(s->field[0]->value, s->field[0]->value_len, &inst, &p, &plen, err,
		                  sizeof(err)) == 0)
			r->aar = aar_text_new(p, plen);
		else
			r->aar = xstrdup("");
	}
	v->res.sets = v->sets;
	v->res.nsets = v->n;
}

/* ---- header hashes -------------------------------------------------- */

static int hash_field(EVP_MD_CTX *md, const struct mail_field *f, bool crlf)
{
	size_t len = mail_field_len(f);
	char *canon = xmalloc(DKIM_CANON_HEADER_BOUND(len));
	size_t n = dkim_canon_header(DKIM_CANON_RELAXED, f->name, len, canon);
	int ok = EVP_DigestUpdate(md, canon, n) == 1 && (!crlf || EVP_DigestUpdate(md, "\r\n", 2) == 1);
	free(canon);
	return ok ? 0 : -1;
}

/* RFC 8617 5.1.1: the seal of instance i signs the sets 1..i in that order,
 * each AAR, AMS, seal, relaxed; its own seal last, b= empty, no CRLF. */
static int hash_seal(struct arc_verify *v, unsigned i, unsigned char digest[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int rc = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 ? 0 : -1;
	for (unsigned j = 1; rc == 0 && j <= i; j++) {
		const struct set_state *s = &v->st[j - 1];
		rc = hash_field(md, s->field[0], true) == 0 && hash_field(md, s->field[1], true) == 0
		     ? 0 : -1;
		if (rc == 0 && j < i)
			rc = hash_field(md, s->field[2], true);
	}
	const struct dkim_sig *sig = &v->st[i - 1].seal->sig;
	if (rc == 0 && (dkim_hash_signature_field(md, DKIM_CANON_RELAXED, v->st[i - 1].field[2],
	                                          sig->b_off, sig->b_len_raw) < 0 ||
	                EVP_DigestFinal_ex(md, digest, NULL) != 1))
		rc = -1;
	EVP_MD_CTX_free(md);
	return rc;
}

/* An AMS is a DKIM signature over the message (RFC 8617 4.1.2). */
static int hash_ams(const struct set_state *s, const struct mail_header *h,
                    unsigned char digest[32])
{
	const struct dkim_sig *sig = &s->ams->sig;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int rc = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	         dkim_hash_header_fields(md, sig->hcanon, h, sig->h, sig->h_len, s->field[1]) == 0 &&
	         dkim_hash_signature_field(md, sig->hcanon, s->field[1], sig->b_off,
	                                   sig->b_len_raw) == 0 &&
	         EVP_DigestFinal_ex(md, digest, NULL) == 1 ? 0 : -1;
	EVP_MD_CTX_free(md);
	return rc;
}

/* ---- keys and bodies ---------------------------------------------------- */

/* The slot of a signature's key: a new one while max_lookups allows. */
static size_t key_slot_for(struct arc_verify *v, const struct dkim_sig *s)
{
	char name[DKIM_NAME_MAX + 1];
	/* dkim_sig_parse_kind() checked that it fits */
	if (bsnprintf(name, sizeof(name), "%s._domainkey.%s", s->selector, s->domain) < 0)
		return NO_SLOT;
	for (size_t i = 0; i < v->nkeys; i++)
		if (strcmp(v->keys[i].name, name) == 0)
			return i;
	if (v->nkeys == v->lim.max_lookups)
		return NO_SLOT;
	struct key_slot *k = &v->keys[v->nkeys];
	k->v = v;
	memcpy(k->name, name, sizeof(name));
	return v->nkeys++;
}

/* Why an AMS cannot pass whatever its key says, or NULL. */
static const char *ams_refused(const struct arc_verify *v, const struct dkim_sig *s)
{
	if (s->alg == DKIM_SIG_RSA_SHA1)
		return "rsa-sha1 is not accepted (RFC 8301)";
	if (s->has_expire && s->expire < (int64_t)v->now)
		return "signature expired (x=)";
	return NULL;
}

static bool setup_ams(struct arc_verify *v, unsigned i, const struct mail_header *h)
{
	struct set_state *s = &v->st[i - 1];
	struct arc_set_result *r = &v->sets[i - 1];
	const char *why = ams_refused(v, &s->ams->sig);
	if (why == NULL && hash_ams(s, h, s->ams_digest) < 0)
		why = "hashing failed";
	if (why == NULL && (s->ams_key = key_slot_for(v, &s->ams->sig)) == NO_SLOT)
		why = "not checked: too many keys to look up";
	r->ams_checked = why == NULL;
	if (why != NULL) {
		snprintf(r->ams_reason, sizeof(r->ams_reason), "%s", why);
		return false;
	}
	s->body = dkim_body_hashes_for(&v->bodies, &s->ams->sig);
	return true;
}

static bool setup_seal(struct arc_verify *v, unsigned i)
{
	struct set_state *s = &v->st[i - 1];
	struct arc_set_result *r = &v->sets[i - 1];
	const char *why = NULL;
	if (s->seal->sig.alg == DKIM_SIG_RSA_SHA1)
		why = "rsa-sha1 is not accepted (RFC 8301)";
	else if (hash_seal(v, i, s->seal_digest) < 0)
		why = "hashing failed";
	else if ((s->seal_key = key_slot_for(v, &s->seal->sig)) == NO_SLOT)
		why = "too many keys to look up";
	if (why != NULL)
		snprintf(r->seal_reason, sizeof(r->seal_reason), "%s", why);
	return why == NULL;
}

/* The newest AMS and every seal must be checked; the older AMSs are for
 * oldest-pass, looked up while there is room. */
static int setup_signatures(struct arc_verify *v, const struct mail_header *h)
{
	v->keys = xcalloc(v->lim.max_lookups + 1, sizeof(*v->keys));
	dkim_body_hashes_init(&v->bodies, v->n);
	if (!setup_ams(v, v->n, h)) {
		decide(v, ARC_CV_FAIL, "ARC-Message-Signature i=%u: %s", v->n,
		       v->sets[v->n - 1].ams_reason);
		return -1;
	}
	for (unsigned i = v->n; i >= 1; i--) {
		if (!setup_seal(v, i)) {
			decide(v, ARC_CV_FAIL, "ARC-Seal i=%u: %s", i, v->sets[i - 1].seal_reason);
			return -1;
		}
	}
	for (unsigned i = v->n - 1; i >= 1; i--)
		setup_ams(v, i, h);
	return 0;
}

static void deliver(struct arc_verify *v);

static void key_answer(void *arg, enum dkim_dns_status status, const struct dkim_txt *txt,
                       size_t ntxt)
{
	struct key_slot *slot = arg;
	struct arc_verify *v = slot->v;
	slot->pending = false;
	slot->query = 0;
	slot->status = ntxt == 0 && status == DKIM_DNS_OK ? DKIM_DNS_NOTFOUND : status;
	if (slot->status == DKIM_DNS_OK) {
		slot->rec = xmalloc(sizeof(*slot->rec));
		slot->parsed = dkim_keyrec_pick(txt, ntxt, slot->rec, slot->err, sizeof(slot->err));
	}
	v->pending--;
	if (v->finishing && v->pending == 0)
		deliver(v);
}

static void start_lookups(struct arc_verify *v)
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
		if (slot->pending)
			slot->query = id;
	}
}

/* Whether the header block has an ARC field, read leniently: a malformed
 * block with one fails the chain, one without has none. */
static bool has_arc_field(const char *hdr, size_t len)
{
	struct mail_header_iter it;
	struct mail_field f;
	mail_header_iter_init(&it, hdr, len > DKIM_HEADER_MAX ? DKIM_HEADER_MAX : len,
	                      MAIL_HEADER_LENIENT);
	while (mail_header_next(&it, &f))
		if (arc_field_kind(&f) != ARC_FIELD_OTHER)
			return true;
	return false;
}

int arc_verify_header(struct arc_verify *v, const char *hdr, size_t len)
{
	if (v->header_seen)
		return -1;
	v->header_seen = true;
	struct mail_header h = { 0 };
	char err[200];
	if (len > DKIM_HEADER_MAX || mail_header_parse(&h, hdr, len, MAIL_HEADER_STRICT,
	                                               DKIM_FIELDS_MAX, err, sizeof(err)) < 0) {
		mail_header_free(&h);
		if (!has_arc_field(hdr, len)) {
			decide(v, ARC_CV_NONE, "no ARC header field");
			return 0;
		}
		decide(v, ARC_CV_FAIL, "%s", len > DKIM_HEADER_MAX ? "header block too large"
		                                                   : "malformed header block");
		return -1;
	}
	int rc = collect(v, &h);
	if (rc == 0 && v->n == 0) {
		decide(v, ARC_CV_NONE, "no ARC header field");
	} else if (rc == 0 && parse_sets(v) == 0) {
		fill_sets(v);
		rc = setup_signatures(v, &h);
	} else {
		rc = -1;
	}
	for (unsigned i = 0; i < v->n; i++)
		memset(v->st[i].field, 0, sizeof(v->st[i].field)); /* they point into hdr */
	mail_header_free(&h);
	if (rc < 0) {
		v->res.nsets = 0; /* a broken chain says nothing about its sets */
		return -1;
	}
	unsigned n = v->n;
	start_lookups(v);
	return (int)n;
}

/* ---- the body and the verdict ---------------------------------------- */

void arc_verify_body(struct arc_verify *v, const void *data, size_t len)
{
	if (v->finishing || v->decided)
		return;
	dkim_body_hashes_update(&v->bodies, data, len);
}

/* Whether signature s over digest verifies with the key of slot k. */
static bool key_verifies(const struct arc_verify *v, const struct key_slot *k,
                         const struct dkim_sig *s, const unsigned char digest[32], char *why,
                         size_t whylen, bool *temp)
{
	*temp = false;
	if (k->status == DKIM_DNS_TEMPFAIL) {
		*temp = true;
		snprintf(why, whylen, "key lookup failed");
		return false;
	}
	if (k->status != DKIM_DNS_OK) {
		snprintf(why, whylen, "no key %s", k->name);
		return false;
	}
	if (k->parsed < 0) {
		snprintf(why, whylen, "key record: %s", k->err);
		return false;
	}
	bool ok;
	char err[100];
	if (dkim_key_check(v->dns->keys, k->rec, s->alg, digest, s->b, s->b_len, &ok, err, sizeof(err)) !=
	    DKIM_PASS) {
		snprintf(why, whylen, "%s", err);
		return false;
	}
	if (!ok)
		snprintf(why, whylen, "signature does not verify");
	return ok;
}

static void judge_ams(struct arc_verify *v, unsigned i)
{
	struct set_state *s = &v->st[i - 1];
	struct arc_set_result *r = &v->sets[i - 1];
	if (!r->ams_checked)
		return;
	const struct dkim_body_hash *b = &v->bodies.h[s->body];
	const struct dkim_sig *sig = &s->ams->sig;
	if (b->failed)
		snprintf(r->ams_reason, sizeof(r->ams_reason), "hashing failed");
	else if (sig->has_length && sig->length > b->bc->length)
		snprintf(r->ams_reason, sizeof(r->ams_reason), "l= is longer than the body");
	else if (sig->bh_len != sizeof(b->digest) || memcmp(sig->bh, b->digest, sizeof(b->digest)))
		snprintf(r->ams_reason, sizeof(r->ams_reason), "body hash does not match");
	else
		r->ams_valid = key_verifies(v, &v->keys[s->ams_key], sig, s->ams_digest, r->ams_reason,
		                            sizeof(r->ams_reason), &s->ams_temp);
}

static void judge_seal(struct arc_verify *v, unsigned i)
{
	struct set_state *s = &v->st[i - 1];
	struct arc_set_result *r = &v->sets[i - 1];
	r->seal_valid = key_verifies(v, &v->keys[s->seal_key], &s->seal->sig, s->seal_digest,
	                             r->seal_reason, sizeof(r->seal_reason), &s->seal_temp);
}

/* RFC 8617 5.2 steps 4 to 7. */
static void judge_chain(struct arc_verify *v)
{
	for (unsigned i = 1; i <= v->n; i++) {
		judge_ams(v, i);
		judge_seal(v, i);
	}
	const struct arc_set_result *top = &v->sets[v->n - 1];
	if (!top->ams_valid) {
		v->res.temperror = v->st[v->n - 1].ams_temp;
		return decide(v, ARC_CV_FAIL, "ARC-Message-Signature i=%u: %s", v->n,
		              top->ams_reason);
	}
	unsigned oldest = v->n;
	while (oldest > 1 && v->sets[oldest - 2].ams_valid)
		oldest--;
	for (unsigned i = v->n; i >= 1; i--) {
		if (!v->sets[i - 1].seal_valid) {
			v->res.temperror = v->st[i - 1].seal_temp;
			return decide(v, ARC_CV_FAIL, "ARC-Seal i=%u: %s", i, v->sets[i - 1].seal_reason);
		}
	}
	v->res.oldest_pass = oldest == 1 ? 0 : oldest;
	decide(v, ARC_CV_PASS, "%u set%s, sealed last by %s", v->n, v->n == 1 ? "" : "s",
	       top->seal_domain);
}

static void deliver(struct arc_verify *v)
{
	if (v->delivered)
		return;
	v->delivered = true;
	if (!v->decided)
		judge_chain(v);
	/* done may free v: nothing after it */
	v->done(v->done_arg, &v->res);
}

void arc_verify_finish(struct arc_verify *v, arc_verify_done_fn done, void *arg)
{
	if (v->finishing)
		return;
	v->finishing = true;
	v->done = done;
	v->done_arg = arg;
	if (!v->header_seen)
		decide(v, ARC_CV_NONE, "no header");
	dkim_body_hashes_final(&v->bodies);
	if (v->pending == 0)
		deliver(v);
}

void arc_verify_free(struct arc_verify *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < v->nkeys; i++) {
		if (v->keys[i].pending && v->keys[i].query > 0)
			v->dns->cancel(v->dns->ctx, v->keys[i].query);
		free(v->keys[i].rec);
	}
	dkim_body_hashes_free(&v->bodies);
	if (v->st != NULL) {
		for (unsigned i = 0; i < ARC_MAX_INSTANCE; i++) {
			free(v->st[i].ams);
			free(v->st[i].seal);
		}
	}
	if (v->sets != NULL)
		for (unsigned i = 0; i < v->n; i++)
			free(v->sets[i].aar);
	free(v->sets);
	free(v->st);
	free(v->keys);
	free(v);
}

/* ---- trust -------------------------------------------------------------- */

bool arc_sealer_listed(const char *domain, const char *const *trusted, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (domain[0] != '\0' && strcasecmp(domain, trusted[i]) == 0)
			return true;
	return false;
}

unsigned arc_trusted_instance(const struct arc_result *r, const char *const *trusted,
                              size_t n)
{
	if (r->cv != ARC_CV_PASS || r->nsets == 0)
		return 0;
	unsigned i = r->nsets;
	if (!arc_sealer_listed(r->sets[i - 1].seal_domain, trusted, n))
		return 0;
	while (i > 1 && arc_sealer_listed(r->sets[i - 2].seal_domain, trusted, n))
		i--;
	return i;
}
