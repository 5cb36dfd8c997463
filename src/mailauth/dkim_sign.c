/* DKIM signer (RFC 6376 5): c=relaxed/relaxed, rsa-sha256 or ed25519-sha256.
 *
 * One pass over the message: the header block is read into memory (bounded),
 * split into fields by src/mail's strict header reader, and its signed
 * fields are hashed; the body streams through the canonicaliser into the
 * body hash; then the DKIM-Signature field is built with an empty b=,
 * hashed last, signed, and completed. */
#include "mailauth/dkim.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/util.h"
#include "mail/header.h"
#include "mailauth/dkim_canon.h"
#include "mailauth/dkim_fold.h"

#define READ_CHUNK  (64 * 1024)

/* The fields we sign, in h= order. Oversigned ones are listed once more than
 * they occur, so that a field of that name added later breaks the signature
 * (RFC 6376 8.15): those are the ones a recipient reads to judge a message. */
static const struct {
	const char *name;
	bool oversign;
} signed_fields[] = {
	{ "from", true },
	{ "to", true },
	{ "cc", false },
	{ "subject", true },
	{ "date", true },
	{ "message-id", true },
	{ "reply-to", false },
	{ "in-reply-to", false },
	{ "references", false },
	{ "mime-version", false },
	{ "content-type", false },
	{ "content-transfer-encoding", false },
	{ "sender", false },
	{ "list-id", false },
	{ "list-unsubscribe", false },
};

struct header {
	char *buf;              /* the octets read so far: header block, then maybe some body */
	size_t len, cap;
	size_t end;             /* the header block is buf[0, end) */
	size_t body;            /* the body starts at buf[body] */
	struct mail_header fields;      /* of buf[0, end), strict */
};

static void header_free(struct header *h)
{
	free(h->buf);
	mail_header_free(&h->fields);
	h->buf = NULL;
}

/* Reads until the blank line that ends the header block (LF or CRLF alone),
 * or the end of the message (a message may have no body). */
static int header_read(struct header *h, dkim_read_fn rd, void *arg, char *err, size_t errlen)
{
	size_t scan = 0; /* start of the first line not yet seen whole */
	for (;;) {
		size_t end, body;
		bool found = mail_header_block_end(h->buf, h->len, &scan, &end, &body);
		if (found ? end > DKIM_HEADER_MAX : scan > DKIM_HEADER_MAX)
			goto too_large;
		if (found) {
			h->end = end;
			h->body = body;
			return 0;
		}
		/* a blank line starting within the limit would have been seen by now */
		if (h->len >= DKIM_HEADER_MAX + 2)
			goto too_large;
		if (h->len == h->cap) {
			h->cap = h->cap < READ_CHUNK ? READ_CHUNK : 2 * h->cap;
			if (h->cap > DKIM_HEADER_MAX + 2)
				h->cap = DKIM_HEADER_MAX + 2;
			h->buf = xrealloc(h->buf, h->cap);
		}
		size_t want = h->cap - h->len < READ_CHUNK ? h->cap - h->len : READ_CHUNK;
		ssize_t n = rd(arg, h->buf + h->len, want);
		if (n < 0 || (size_t)n > want) {
			snprintf(err, errlen, "reading the message failed");
			return -1;
		}
		if (n == 0) {
			/* header only, no blank line: it all is the header block */
			if (h->len > DKIM_HEADER_MAX)
				goto too_large;
			h->end = h->body = h->len;
			return 0;
		}
		h->len += (size_t)n;
	}
too_large:
	snprintf(err, errlen, "header block larger than %d octets", DKIM_HEADER_MAX);
	return -1;
}

/* Splits buf[0, end) into fields with the strict reader: a line starting
 * with WSP continues the field above it, any other line must be "name:"
 * (obsolete WSP before the colon allowed, RFC 5322 4.5); NUL and bare CR
 * are refused too. */
static int header_parse(struct header *h, char *err, size_t errlen)
{
	return mail_header_parse(&h->fields, h->buf, h->end, MAIL_HEADER_STRICT, DKIM_FIELDS_MAX,
	                         err, errlen);
}

/* The h= list, "from:from:to:...", each name as often as h_count says. */
static char *h_list_from_counts(const size_t *h_count)
{
	size_t len = 1;
	for (size_t k = 0; k < ARRAY_LEN(signed_fields); k++)
		len += h_count[k] * (strlen(signed_fields[k].name) + 1);
	char *list = xmalloc(len), *p = list;
	for (size_t k = 0; k < ARRAY_LEN(signed_fields); k++) {
		for (size_t i = 0; i < h_count[k]; i++) {
			size_t n = strlen(signed_fields[k].name);
			memcpy(p, signed_fields[k].name, n);
			p += n;
			*p++ = ':';
		}
	}
	*(p > list ? p - 1 : p) = '\0';
	return list;
}

static void count_signed(const struct mail_header *h, size_t *h_count)
{
	for (size_t k = 0; k < ARRAY_LEN(signed_fields); k++)
		h_count[k] = mail_header_count(h, signed_fields[k].name) + signed_fields[k].oversign;
}

char *dkim_h_list_new(const struct mail_header *h)
{
	size_t h_count[ARRAY_LEN(signed_fields)];
	count_signed(h, h_count);
	return h_list_from_counts(h_count);
}

/* Hashes the signed fields in h= order, as the verifier picks them. */
static int hash_signed_fields(const struct header *h, const size_t *h_count, EVP_MD_CTX *md)
{
	char *list = h_list_from_counts(h_count);
	int rc = dkim_hash_header_fields(md, DKIM_CANON_RELAXED, &h->fields, list, strlen(list),
	                                 NULL);
	free(list);
	return rc;
}

/* Everything up to and including "b=": the text hashed last (RFC 6376 3.7). */
static void build_unsigned(struct dkim_fold *f, const size_t *h_count, enum dkim_alg alg,
                           const char *domain, const char *selector, time_t now,
                           const char *bh)
{
	char tok[600];
	dkim_fold_raw(f, "DKIM-Signature: v=1;", strlen("DKIM-Signature: v=1;"));
	snprintf(tok, sizeof(tok), "a=%s;", dkim_alg_name(alg));
	dkim_fold_token(f, tok, true);
	dkim_fold_token(f, "c=relaxed/relaxed;", true);
	snprintf(tok, sizeof(tok), "d=%s;", domain);
	dkim_fold_token(f, tok, true);
	snprintf(tok, sizeof(tok), "s=%s;", selector);
	dkim_fold_token(f, tok, true);
	snprintf(tok, sizeof(tok), "t=%lld;", (long long)now);
	dkim_fold_token(f, tok, true);

	/* h=: FWS is allowed after each colon */
	bool first = true;
	size_t remaining = 0;
	for (size_t k = 0; k < ARRAY_LEN(signed_fields); k++)
		remaining += h_count[k];
	for (size_t k = 0; k < ARRAY_LEN(signed_fields); k++) {
		for (size_t i = 0; i < h_count[k]; i++) {
			snprintf(tok, sizeof(tok), "%s%s%s", first ? "h=" : "", signed_fields[k].name,
			         --remaining > 0 ? ":" : ";");
			dkim_fold_token(f, tok, first);
			first = false;
		}
	}
	snprintf(tok, sizeof(tok), "bh=%s;", bh);
	dkim_fold_token(f, tok, true);
	dkim_fold_token(f, "b=", true);
}

/* RFC 6376 3.7: the signature field itself comes last, b= empty and without
 * its CRLF, canonicalised like the others. */
static int hash_signature_field(EVP_MD_CTX *md, const struct dkim_fold *f)
{
	char *canon = xmalloc(DKIM_CANON_HEADER_BOUND(f->len));
	size_t n = dkim_canon_header(DKIM_CANON_RELAXED, f->buf, f->len, canon);
	int ok = EVP_DigestUpdate(md, canon, n);
	free(canon);
	return ok == 1 ? 0 : -1;
}

/* d= and s= go into a header field and a DNS name: letters, digits, '-', '_'
 * in dot-separated labels of 1 to 63 octets, no header syntax. */
bool dkim_valid_dns_name(const char *s)
{
	size_t n = strlen(s), label = 0;
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
		      || c == '-' || c == '_'))
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0;
}

char *dkim_sign(const struct dkim_key *key, const char *domain, const char *selector,
                dkim_read_fn rd, void *rd_arg, time_t now, char *err, size_t errlen)
{
	if (!dkim_valid_dns_name(domain) || !dkim_valid_dns_name(selector)) {
		snprintf(err, errlen, "invalid DKIM domain or selector");
		return NULL;
	}
	if (now < 0) {
		snprintf(err, errlen, "invalid DKIM timestamp");
		return NULL;
	}

	struct header h = { 0 };
	struct dkim_fold f = { 0 };
	char *chunk = NULL, *bh64 = NULL, *b64 = NULL;
	unsigned char *sig = NULL;
	size_t siglen = 0;
	EVP_MD_CTX *hmd = EVP_MD_CTX_new(), *bmd = EVP_MD_CTX_new();
	struct dkim_body_canon *body = xmalloc(sizeof(*body));
	unsigned char bhash[32], hhash[32];
	size_t h_count[ARRAY_LEN(signed_fields)]; /* how often each name goes into h= */
	bool ok = false;

	if (hmd == NULL || bmd == NULL || EVP_DigestInit_ex(hmd, EVP_sha256(), NULL) != 1
	    || EVP_DigestInit_ex(bmd, EVP_sha256(), NULL) != 1) {
		snprintf(err, errlen, "DKIM: cannot set up SHA-256");
		goto out;
	}
	if (header_read(&h, rd, rd_arg, err, errlen) < 0 || header_parse(&h, err, errlen) < 0)
		goto out;
	if (mail_header_count(&h.fields, "from") == 0) {
		snprintf(err, errlen, "no From header field");
		goto out;
	}
	count_signed(&h.fields, h_count);
	if (hash_signed_fields(&h, h_count, hmd) < 0) {
		snprintf(err, errlen, "DKIM: header hash failed");
		goto out;
	}

	/* the body: what was read past the blank line, then the rest, streamed;
	 * the header block is not needed any more */
	dkim_body_init(body, DKIM_CANON_RELAXED, bmd);
	if (h.len > h.body && dkim_body_update(body, h.buf + h.body, h.len - h.body) < 0)
		goto hash_failed;
	header_free(&h);
	chunk = xmalloc(READ_CHUNK);
	for (;;) {
		ssize_t n = rd(rd_arg, chunk, READ_CHUNK);
		if (n < 0 || n > READ_CHUNK) {
			snprintf(err, errlen, "reading the message failed");
			goto out;
		}
		if (n == 0)
			break;
		if (dkim_body_update(body, chunk, (size_t)n) < 0)
			goto hash_failed;
	}
	if (dkim_body_final(body) < 0 || EVP_DigestFinal_ex(bmd, bhash, NULL) != 1)
		goto hash_failed;
	bh64 = dkim_base64_new(bhash, sizeof(bhash));

	build_unsigned(&f, h_count, dkim_key_alg(key), domain, selector, now, bh64);
	if (hash_signature_field(hmd, &f) < 0 || EVP_DigestFinal_ex(hmd, hhash, NULL) != 1)
		goto hash_failed;

	if (dkim_key_sign_digest(key, hhash, &sig, &siglen, err, errlen) < 0)
		goto out;
	b64 = dkim_base64_new(sig, siglen);
	dkim_fold_base64(&f, b64);
	dkim_fold_raw(&f, "\n", 1);
	ok = true;
	goto out;

hash_failed:
	snprintf(err, errlen, "DKIM: hashing failed");
out:
	header_free(&h);
	free(chunk);
	free(body);
	free(bh64);
	free(b64);
	free(sig);
	EVP_MD_CTX_free(hmd);
	EVP_MD_CTX_free(bmd);
	if (!ok) {
		free(f.buf);
		return NULL;
	}
	return f.buf;
}

/* ---- in-memory convenience -------------------------------------------- */

struct buffer_reader {
	const char *p;
	size_t len, pos;
};

static ssize_t buffer_read(void *arg, void *buf, size_t len)
{
	struct buffer_reader *r = arg;
	size_t n = r->len - r->pos < len ? r->len - r->pos : len;
	if (n > 0)
		memcpy(buf, r->p + r->pos, n);
	r->pos += n;
	return (ssize_t)n;
}

char *dkim_sign_buffer(const struct dkim_key *key, const char *domain, const char *selector,
                       const char *msg, size_t len, time_t now, char *err, size_t errlen)
{
	struct buffer_reader r = { msg, len, 0 };
	return dkim_sign(key, domain, selector, buffer_read, &r, now, err, errlen);
}
