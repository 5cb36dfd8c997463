/* ARC sealer (RFC 8617 5.1): the AAR, the AMS (a DKIM signature of the
 * message, i= the instance) and the seal (a signature of every set, ours
 * last). What the seal needs of the chain so far is kept canonicalised
 * from the header block; the header block itself is not kept. */
#include "mailauth/arc_seal.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/util.h"
#include "mail/header.h"
#include "mailauth/dkim.h"
#include "mailauth/dkim_canon.h"
#include "mailauth/dkim_fold.h"

struct arc_sealer {
	const struct dkim_key *key;
	char domain[DKIM_NAME_MAX + 1], selector[DKIM_NAME_MAX + 1];
	time_t now;
	bool header_seen, finished, header_ok;
	unsigned n;                     /* the highest instance already there */
	bool chain_complete;            /* sets 1..n, one field of each kind each */
	char *chain;                    /* sets 1..n relaxed, each field with CRLF, set order */
	size_t chain_len;
	char *h_list;                   /* the AMS's h= */
	EVP_MD_CTX *hmd, *bmd;          /* the AMS's header and body hashes */
	struct dkim_body_canon body;
	bool hash_failed;
};

struct arc_sealer *arc_sealer_new(const struct dkim_key *key, const char *domain,
                                  const char *selector, time_t now)
{
	struct arc_sealer *s = xcalloc(1, sizeof(*s));
	s->key = key;
	snprintf(s->domain, sizeof(s->domain), "%s", domain);
	snprintf(s->selector, sizeof(s->selector), "%s", selector);
	s->now = now;
	s->hmd = EVP_MD_CTX_new();
	s->bmd = EVP_MD_CTX_new();
	s->hash_failed = s->hmd == NULL || s->bmd == NULL ||
	                 EVP_DigestInit_ex(s->hmd, EVP_sha256(), NULL) != 1 ||
	                 EVP_DigestInit_ex(s->bmd, EVP_sha256(), NULL) != 1;
	dkim_body_init(&s->body, DKIM_CANON_RELAXED, s->bmd);
	return s;
}

/* ---- the header block ------------------------------------------------ */

static void append_canon(char **buf, size_t *len, const char *field, size_t flen, bool crlf)
{
	*buf = xrealloc(*buf, *len + DKIM_CANON_HEADER_BOUND(flen) + 2);
	*len += dkim_canon_header(DKIM_CANON_RELAXED, field, flen, *buf + *len);
	if (crlf) {
		memcpy(*buf + *len, "\r\n", 2);
		*len += 2;
	}
}

/* The chain as the seal signs it (RFC 8617 5.1.1): sets 1..n, each AAR,
 * AMS, seal. A chain with a gap or a repeated field is kept as broken: only
 * a cv=fail seal may then be added. */
static void read_chain(struct arc_sealer *s, const struct mail_header *h)
{
	const struct mail_field *(*at)[3] = xcalloc(ARC_MAX_INSTANCE, sizeof(*at));
	bool ok = true;
	for (size_t k = 0; k < h->nfields; k++) {
		const struct mail_field *f = &h->fields[k];
		enum arc_field kind = arc_field_kind(f);
		unsigned i;
		char err[100];
		if (kind == ARC_FIELD_OTHER)
			continue;
		if (arc_field_instance(f, kind, &i, err, sizeof(err)) < 0) {
			ok = false;
			continue;
		}
		if (at[i - 1][kind - 1] != NULL)
			ok = false;
		at[i - 1][kind - 1] = f;
		if (i > s->n)
			s->n = i;
	}
	for (unsigned i = 1; ok && i <= s->n; i++)
		for (int kind = 0; kind < 3; kind++)
			ok = ok && at[i - 1][kind] != NULL;
	s->chain_complete = ok;
	for (unsigned i = 1; ok && i <= s->n; i++)
		for (int kind = 0; kind < 3; kind++)
			append_canon(&s->chain, &s->chain_len, at[i - 1][kind]->name,
			             mail_field_len(at[i - 1][kind]), true);
	free(at);
}

/* The DKIM signer's fields, and every DKIM-Signature: an AMS vouches for
 * them as the message arrived. */
static char *ams_h_list_new(const struct mail_header *h)
{
	char *list = dkim_h_list_new(h);
	size_t n = mail_header_count(h, "dkim-signature"), len = strlen(list);
	list = xrealloc(list, len + n * strlen(":dkim-signature") + 1);
	for (size_t i = 0; i < n; i++) {
		memcpy(list + len, ":dkim-signature", strlen(":dkim-signature"));
		len += strlen(":dkim-signature");
	}
	list[len] = '\0';
	return list;
}

int arc_sealer_header(struct arc_sealer *s, const char *hdr, size_t len, char *err,
                      size_t errlen)
{
	if (s->header_seen) {
		snprintf(err, errlen, "header given twice");
		return -1;
	}
	s->header_seen = true;
	struct mail_header h = { 0 };
	if (len > DKIM_HEADER_MAX) {
		snprintf(err, errlen, "header block larger than %d octets", DKIM_HEADER_MAX);
		return -1;
	}
	if (mail_header_parse(&h, hdr, len, MAIL_HEADER_STRICT, DKIM_FIELDS_MAX, err, errlen) < 0) {
		mail_header_free(&h);
		return -1;
	}
	int rc = -1;
	if (mail_header_count(&h, "from") == 0) {
		snprintf(err, errlen, "no From header field");
	} else {
		read_chain(s, &h);
		s->h_list = ams_h_list_new(&h);
		if (!s->hash_failed &&
		    dkim_hash_header_fields(s->hmd, DKIM_CANON_RELAXED, &h, s->h_list,
		                            strlen(s->h_list), NULL) < 0)
			s->hash_failed = true;
		s->header_ok = true;
		rc = 0;
	}
	mail_header_free(&h);
	return rc;
}

void arc_sealer_body(struct arc_sealer *s, const void *data, size_t len)
{
	if (!s->header_ok || s->finished || s->hash_failed)
		return;
	if (dkim_body_update(&s->body, data, len) < 0)
		s->hash_failed = true;
}

/* ---- the three fields ------------------------------------------------- */

/* One line of printable text (UTF-8 allowed): it goes into a header field. */
static bool valid_authres(const char *a)
{
	size_t n = strlen(a);
	if (n == 0 || n > ARC_AUTHRES_MAX || strchr(a, ';') == NULL)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)a[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

/* "ARC-Authentication-Results: i=N; authres", folded at its spaces (FWS
 * may stand wherever the payload has white space, RFC 8601 2.2). */
static char *aar_new(unsigned instance, const char *authres)
{
	struct dkim_fold f = { 0 };
	char tok[64];
	snprintf(tok, sizeof(tok), "ARC-Authentication-Results: i=%u;", instance);
	dkim_fold_raw(&f, tok, strlen(tok));
	char *copy = xstrdup(authres), *save = NULL;
	for (char *w = strtok_r(copy, " \t", &save); w != NULL; w = strtok_r(NULL, " \t", &save))
		dkim_fold_token(&f, w, true);
	free(copy);
	return f.buf;
}

static int hash_canon(EVP_MD_CTX *md, const char *field, size_t len, bool crlf)
{
	char *buf = NULL;
	size_t n = 0;
	append_canon(&buf, &n, field, len, crlf);
	int ok = EVP_DigestUpdate(md, buf, n);
	free(buf);
	return ok == 1 ? 0 : -1;
}

/* Signs digest and completes f's b=. */
static int sign_into(struct arc_sealer *s, EVP_MD_CTX *md, struct dkim_fold *f, char *err,
                     size_t errlen)
{
	unsigned char digest[32], *sig = NULL;
	size_t siglen = 0;
	if (EVP_DigestFinal_ex(md, digest, NULL) != 1) {
		snprintf(err, errlen, "ARC: hashing failed");
		return -1;
	}
	if (dkim_key_sign_digest(s->key, digest, &sig, &siglen, err, errlen) < 0)
		return -1;
	char *b64 = dkim_base64_new(sig, siglen);
	dkim_fold_base64(f, b64);
	free(b64);
	free(sig);
	return 0;
}

static char *ams_new(struct arc_sealer *s, unsigned instance, char *err, size_t errlen)
{
	unsigned char bh[32];
	if (dkim_body_final(&s->body) < 0 || EVP_DigestFinal_ex(s->bmd, bh, NULL) != 1) {
		snprintf(err, errlen, "ARC: hashing failed");
		return NULL;
	}
	struct dkim_fold f = { 0 };
	char tok[DKIM_NAME_MAX + 64];
	snprintf(tok, sizeof(tok), "ARC-Message-Signature: i=%u;", instance);
	dkim_fold_raw(&f, tok, strlen(tok));
	snprintf(tok, sizeof(tok), "a=%s;", dkim_alg_name(dkim_key_alg(s->key)));
	dkim_fold_token(&f, tok, true);
	dkim_fold_token(&f, "c=relaxed/relaxed;", true);
	snprintf(tok, sizeof(tok), "d=%s;", s->domain);
	dkim_fold_token(&f, tok, true);
	snprintf(tok, sizeof(tok), "s=%s;", s->selector);
	dkim_fold_token(&f, tok, true);
	snprintf(tok, sizeof(tok), "t=%lld;", (long long)s->now);
	dkim_fold_token(&f, tok, true);
	/* h=: FWS may follow each colon */
	char *copy = xstrdup(s->h_list), *save = NULL;
	bool first = true;
	for (char *w = strtok_r(copy, ":", &save); w != NULL; w = strtok_r(NULL, ":", &save)) {
		bool last = save == NULL || *save == '\0';
		snprintf(tok, sizeof(tok), "%s%s%s", first ? "h=" : "", w, last ? ";" : ":");
		dkim_fold_token(&f, tok, first);
		first = false;
	}
	free(copy);
	char *bh64 = dkim_base64_new(bh, sizeof(bh));
	snprintf(tok, sizeof(tok), "bh=%s;", bh64);
	free(bh64);
	dkim_fold_token(&f, tok, true);
	dkim_fold_token(&f, "b=", true);
	if (hash_canon(s->hmd, f.buf, f.len, false) < 0 || sign_into(s, s->hmd, &f, err, errlen) < 0) {
		free(f.buf);
		return NULL;
	}
	return f.buf;
}

/* RFC 8617 5.1.1: the chain (unless it failed), our AAR and AMS, then the
 * seal with b= empty and no CRLF. */
static char *seal_new(struct arc_sealer *s, unsigned instance, enum arc_cv cv, const char *aar,
                      const char *ams, char *err, size_t errlen)
{
	struct dkim_fold f = { 0 };
	char tok[DKIM_NAME_MAX + 64];
	snprintf(tok, sizeof(tok), "ARC-Seal: i=%u;", instance);
	dkim_fold_raw(&f, tok, strlen(tok));
	snprintf(tok, sizeof(tok), "a=%s;", dkim_alg_name(dkim_key_alg(s->key)));
	dkim_fold_token(&f, tok, true);
	snprintf(tok, sizeof(tok), "t=%lld;", (long long)s->now);
	dkim_fold_token(&f, tok, true);
	snprintf(tok, sizeof(tok), "cv=%s;", arc_cv_name(cv));
	dkim_fold_token(&f, tok, true);
	snprintf(tok, sizeof(tok), "d=%s;", s->domain);
	dkim_fold_token(&f, tok, true);
	snprintf(tok, sizeof(tok), "s=%s;", s->selector);
	dkim_fold_token(&f, tok, true);
	dkim_fold_token(&f, "b=", true);

	EVP_MD_CTX *md = EVP_MD_CTX_new();
	bool ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	          (cv == ARC_CV_FAIL || s->chain_len == 0 ||
	           EVP_DigestUpdate(md, s->chain, s->chain_len) == 1) &&
	          hash_canon(md, aar, strlen(aar), true) == 0 &&
	          hash_canon(md, ams, strlen(ams), true) == 0 &&
	          hash_canon(md, f.buf, f.len, false) == 0;
	if (!ok)
		snprintf(err, errlen, "ARC: hashing failed");
	if (!ok || sign_into(s, md, &f, err, errlen) < 0) {
		EVP_MD_CTX_free(md);
		free(f.buf);
		return NULL;
	}
	EVP_MD_CTX_free(md);
	return f.buf;
}

/* RFC 8617 5.1.1 and 4.2.1: which cv= the new set may carry. */
static int check_cv(const struct arc_sealer *s, enum arc_cv cv, char *err, size_t errlen)
{
	if (cv != ARC_CV_NONE && cv != ARC_CV_PASS && cv != ARC_CV_FAIL) {
		snprintf(err, errlen, "bad cv");
		return -1;
	}
	if (s->n >= ARC_MAX_INSTANCE) {
		snprintf(err, errlen, "the chain has %d sets already", ARC_MAX_INSTANCE);
		return -1;
	}
	if (s->n == 0 && cv != ARC_CV_NONE) {
		snprintf(err, errlen, "no ARC set: cv must be none");
		return -1;
	}
	if (s->n > 0 && cv == ARC_CV_NONE) {
		snprintf(err, errlen, "an ARC chain is there: cv must be pass or fail");
		return -1;
	}
	if (cv == ARC_CV_PASS && !s->chain_complete) {
		snprintf(err, errlen, "the ARC chain is broken: cv cannot be pass");
		return -1;
	}
	return 0;
}

char *arc_sealer_finish(struct arc_sealer *s, const char *authres, enum arc_cv cv, char *err,
                        size_t errlen)
{
	if (!s->header_ok || s->finished) {
		snprintf(err, errlen, "no header block, or finished already");
		return NULL;
	}
	s->finished = true;
	if (!dkim_valid_dns_name(s->domain) || !dkim_valid_dns_name(s->selector)) {
		snprintf(err, errlen, "invalid ARC domain or selector");
		return NULL;
	}
	if (check_cv(s, cv, err, errlen) < 0)
		return NULL;
	if (!valid_authres(authres)) {
		snprintf(err, errlen, "Authentication-Results payload must be one line "
		         "\"authserv-id; results\" of at most %d octets", ARC_AUTHRES_MAX);
		return NULL;
	}
	if (s->hash_failed || s->now < 0) {
		snprintf(err, errlen, "ARC: hashing failed");
		return NULL;
	}
	unsigned instance = s->n + 1;
	char *aar = aar_new(instance, authres);
	char *ams = ams_new(s, instance, err, errlen);
	char *seal = ams ? seal_new(s, instance, cv, aar, ams, err, errlen) : NULL;
	char *out = NULL;
	if (seal != NULL) {
		size_t len = strlen(seal) + strlen(ams) + strlen(aar) + 4;
		out = xmalloc(len);
		snprintf(out, len, "%s\n%s\n%s\n", seal, ams, aar);
	}
	free(aar);
	free(ams);
	free(seal);
	return out;
}

void arc_sealer_free(struct arc_sealer *s)
{
	if (s == NULL)
		return;
	EVP_MD_CTX_free(s->hmd);
	EVP_MD_CTX_free(s->bmd);
	free(s->chain);
	free(s->h_list);
	free(s);
}
