/* Unit tests for src/mailauth/dkim_*.c: RFC 6376 canonicalisation examples,
 * empty-body hashes, the streaming body canonicaliser at every split point,
 * LF/CRLF equivalence, keys and DNS records, signatures checked by a small
 * verifier written here on OpenSSL, and the refusals (no From, malformed or
 * oversized header blocks, bad d=/s=, read errors). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "core/util.h"
#include "mailauth/dkim.h"
#include "mailauth/dkim_canon.h"

#define NOW ((time_t)1795000000)

static char tmpdir[] = "/tmp/postern-test-dkim-XXXXXX";
static char rsa_path[256], ed_path[256];
static struct dkim_key *rsa_key, *ed_key;

/* ---- helpers ---------------------------------------------------------- */

static void sha256_b64(const void *data, size_t len, char out[45])
{
	unsigned char d[32];
	assert_int_equal(EVP_Digest(data, len, d, NULL, EVP_sha256(), NULL), 1);
	EVP_EncodeBlock((unsigned char *)out, d, 32);
}

/* Body hash of in[0, len) fed as two pieces cut at `split`. */
static void body_hash(enum dkim_canon mode, const char *in, size_t len, size_t split,
                      char out[45], uint64_t *canon_len)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	struct dkim_body_canon b;
	unsigned char d[32];
	assert_int_equal(EVP_DigestInit_ex(md, EVP_sha256(), NULL), 1);
	dkim_body_init(&b, mode, md);
	assert_int_equal(dkim_body_update(&b, in, split), 0);
	assert_int_equal(dkim_body_update(&b, in + split, len - split), 0);
	assert_int_equal(dkim_body_final(&b), 0);
	assert_int_equal(EVP_DigestFinal_ex(md, d, NULL), 1);
	EVP_EncodeBlock((unsigned char *)out, d, 32);
	if (canon_len)
		*canon_len = b.length;
	EVP_MD_CTX_free(md);
}

/* Asserts that `in` canonicalises to exactly `expected`. */
static void assert_body(enum dkim_canon mode, const char *in, const char *expected)
{
	char got[45], want[45];
	uint64_t n;
	body_hash(mode, in, strlen(in), 0, got, &n);
	sha256_b64(expected, strlen(expected), want);
	assert_string_equal(got, want);
	assert_int_equal(n, strlen(expected));
}

static void assert_header(enum dkim_canon mode, const char *in, const char *expected)
{
	char out[DKIM_CANON_HEADER_BOUND(256)];
	assert_true(strlen(in) <= 256);
	size_t n = dkim_canon_header(mode, in, strlen(in), out);
	assert_int_equal(n, strlen(out));
	assert_string_equal(out, expected);
}

static size_t b64_decode(const char *in, unsigned char *out, size_t cap)
{
	size_t len = strlen(in);
	assert_true(len % 4 == 0 && len / 4 * 3 <= cap);
	int n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len);
	assert_true(n >= 0);
	if (len >= 1 && in[len - 1] == '=')
		n--;
	if (len >= 2 && in[len - 2] == '=')
		n--;
	return (size_t)n;
}

/* Value of tag `name` in a tag=value list, all whitespace removed (enough
 * for the tags we produce: none has a meaningful space). */
static bool tag_value(const char *list, const char *name, char *out, size_t outlen)
{
	const char *p = list;
	while (*p) {
		const char *end = strchr(p, ';');
		if (end == NULL)
			end = p + strlen(p);
		char item[4096];
		size_t n = 0;
		for (const char *q = p; q < end && n + 1 < sizeof(item); q++)
			if (*q != ' ' && *q != '\t' && *q != '\r' && *q != '\n')
				item[n++] = *q;
		item[n] = '\0';
		char *eq = strchr(item, '=');
		if (eq && (size_t)(eq - item) == strlen(name) && strncmp(item, name, strlen(name)) == 0) {
			snprintf(out, outlen, "%s", eq + 1);
			return true;
		}
		p = *end ? end + 1 : end;
	}
	return false;
}

static EVP_PKEY *pkey_from_record(const char *record, bool *ed)
{
	char k[32], p[DKIM_RECORD_MAX];
	unsigned char raw[DKIM_RECORD_MAX];
	assert_true(tag_value(record, "v", k, sizeof(k)));
	assert_string_equal(k, "DKIM1");
	assert_true(tag_value(record, "k", k, sizeof(k)));
	assert_true(tag_value(record, "p", p, sizeof(p)));
	size_t n = b64_decode(p, raw, sizeof(raw));
	if (strcmp(k, "ed25519") == 0) {
		*ed = true;
		assert_int_equal(n, 32); /* RFC 8463 3.3: the bare key */
		return EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, n);
	}
	assert_string_equal(k, "rsa");
	*ed = false;
	const unsigned char *q = raw;
	return d2i_PUBKEY(NULL, &q, (long)n);
}

/* The header fields of msg as [start, end) spans, end before the line end. */
struct span {
	const char *p;
	size_t len;
};

static size_t split_fields(const char *msg, size_t len, struct span *f, size_t max,
                           const char **body)
{
	size_t n = 0, i = 0;
	*body = msg + len;
	while (i < len) {
		const char *nl = memchr(msg + i, '\n', len - i);
		size_t next = nl ? (size_t)(nl - msg) + 1 : len;
		size_t le = nl ? (size_t)(nl - msg) : len;
		if (le > i && msg[le - 1] == '\r')
			le--;
		if (le == i) {
			*body = msg + next;
			break;
		}
		if (msg[i] == ' ' || msg[i] == '\t') {
			f[n - 1].len = (size_t)(msg + le - f[n - 1].p);
		} else {
			assert_true(n < max);
			f[n++] = (struct span){ msg + i, le - i };
		}
		i = next;
	}
	return n;
}

static bool span_is(struct span s, const char *name)
{
	size_t n = strlen(name);
	if (s.len <= n || strncasecmp(s.p, name, n) != 0)
		return false;
	for (size_t i = n; i < s.len; i++) {
		if (s.p[i] == ':')
			return true;
		if (s.p[i] != ' ' && s.p[i] != '\t')
			return false;
	}
	return false;
}

static void append(char **buf, size_t *len, const void *data, size_t n)
{
	*buf = realloc(*buf, *len + n + 1);
	assert_non_null(*buf);
	memcpy(*buf + *len, data, n);
	*len += n;
}

/* The tag list of a DKIM-Signature field, unfolded. */
static void sig_tags(const char *sig, char *out, size_t outlen)
{
	size_t t = 0;
	assert_int_equal(strncmp(sig, "DKIM-Signature:", 15), 0);
	for (const char *p = sig + 15; *p; p++) {
		assert_true(t + 1 < outlen);
		if (*p != '\n')
			out[t++] = *p;
	}
	out[t] = '\0';
}

/* An independent DKIM verifier for our own signatures (relaxed/relaxed):
 * 1 valid, 0 not. Structural surprises fail the test outright. */
static int verify(const char *sighdr, const char *msg, size_t len, const char *record)
{
	struct span fields[64];
	const char *body;
	size_t nf = split_fields(msg, len, fields, 64, &body);
	char tags[8192], v[4096], a[64], c[64], h[1024], bh[64], b[1024];

	/* unfold the signature field and read its tags */
	size_t sl = strlen(sighdr);
	assert_true(sl > 0 && sighdr[sl - 1] == '\n');
	sig_tags(sighdr, tags, sizeof(tags));
	assert_true(tag_value(tags, "v", v, sizeof(v)));
	assert_string_equal(v, "1");
	assert_true(tag_value(tags, "a", a, sizeof(a)));
	assert_true(tag_value(tags, "c", c, sizeof(c)));
	assert_string_equal(c, "relaxed/relaxed");
	assert_true(tag_value(tags, "h", h, sizeof(h)));
	assert_true(tag_value(tags, "bh", bh, sizeof(bh)));
	assert_true(tag_value(tags, "b", b, sizeof(b)));

	/* body hash */
	char got[45];
	body_hash(DKIM_CANON_RELAXED, body, (size_t)(msg + len - body), 0, got, NULL);
	if (strcmp(got, bh) != 0)
		return 0;

	/* header data: h= fields bottom-up, then the signature with b= emptied */
	char *data = NULL, canon[DKIM_CANON_HEADER_BOUND(8192)];
	size_t dlen = 0;
	bool used[64] = { false };
	for (char *name = strtok(h, ":"); name; name = strtok(NULL, ":")) {
		for (size_t i = nf; i-- > 0;) {
			if (used[i] || !span_is(fields[i], name))
				continue;
			used[i] = true;
			assert_true(fields[i].len <= 8192);
			size_t n = dkim_canon_header(DKIM_CANON_RELAXED, fields[i].p, fields[i].len, canon);
			append(&data, &dlen, canon, n);
			append(&data, &dlen, "\r\n", 2);
			break;
		}
	}
	const char *btag = NULL;
	for (const char *p = sighdr; (p = strstr(p, "b=")) != NULL; p++)
		if (p[-1] == ' ' || p[-1] == '\t' || p[-1] == ';')
			btag = p;
	assert_non_null(btag);
	size_t n = dkim_canon_header(DKIM_CANON_RELAXED, sighdr, (size_t)(btag + 2 - sighdr), canon);
	append(&data, &dlen, canon, n);

	bool ed;
	EVP_PKEY *pk = pkey_from_record(record, &ed);
	assert_non_null(pk);
	if (strcmp(a, ed ? "ed25519-sha256" : "rsa-sha256") != 0) {
		/* the record's key type does not match a=: not valid */
		EVP_PKEY_free(pk);
		free(data);
		return 0;
	}
	unsigned char sig[1024], digest[32];
	size_t siglen = b64_decode(b, sig, sizeof(sig));
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;
	if (ed) {
		/* RFC 8463 3: Ed25519 over the SHA-256 of the header data */
		assert_int_equal(EVP_Digest(data, dlen, digest, NULL, EVP_sha256(), NULL), 1);
		assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pk), 1);
		ok = EVP_DigestVerify(ctx, sig, siglen, digest, sizeof(digest));
	} else {
		assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pk), 1);
		ok = EVP_DigestVerify(ctx, sig, siglen, (unsigned char *)data, dlen);
	}
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pk);
	free(data);
	return ok == 1;
}

static char *sign_str(const struct dkim_key *k, const char *msg, char *err, size_t errlen)
{
	return dkim_sign_buffer(k, "example.org", "sel1", msg, strlen(msg), NOW, err, errlen);
}

static void record_of(const struct dkim_key *k, char *out)
{
	assert_int_equal(dkim_dns_record(k, out, DKIM_RECORD_MAX), 0);
}

/* ---- canonicalisation ------------------------------------------------- */

static void test_header_rfc_example(void **state)
{
	(void)state;
	/* RFC 6376 3.4.5 */
	assert_header(DKIM_CANON_RELAXED, "A: X\r\n", "a:X");
	assert_header(DKIM_CANON_RELAXED, "B : Y\t\r\n\tZ  \r\n", "b:Y Z");
	assert_header(DKIM_CANON_SIMPLE, "A: X\r\n", "A: X");
	assert_header(DKIM_CANON_SIMPLE, "B : Y\t\r\n\tZ  \r\n", "B : Y\t\r\n\tZ  ");
	/* the same with LF line ends, and without the final line end */
	assert_header(DKIM_CANON_RELAXED, "B : Y\t\n\tZ  \n", "b:Y Z");
	assert_header(DKIM_CANON_RELAXED, "B : Y\t\n\tZ  ", "b:Y Z");
	assert_header(DKIM_CANON_SIMPLE, "B : Y\t\n\tZ  \n", "B : Y\t\r\n\tZ  ");
	assert_header(DKIM_CANON_SIMPLE, "B : Y\t\r\n\tZ  ", "B : Y\t\r\n\tZ  ");
}

static void test_header_relaxed_more(void **state)
{
	(void)state;
	assert_header(DKIM_CANON_RELAXED, "SUBJECT:   Hello \t  World\t ", "subject:Hello World");
	assert_header(DKIM_CANON_RELAXED, "Subject:", "subject:");
	assert_header(DKIM_CANON_RELAXED, "Subject: \t \n \n", "subject:");
	assert_header(DKIM_CANON_RELAXED, "To: a@x,\n\tb@x,\n c@x", "to:a@x, b@x, c@x");
	/* a fold right after the colon is WSP after the colon */
	assert_header(DKIM_CANON_RELAXED, "To:\n\ta@x", "to:a@x");
	/* only the name is lower-cased; 8-bit octets pass through */
	assert_header(DKIM_CANON_RELAXED, "X-Ä: ÄÖ Ü", "x-Ä:ÄÖ Ü");
	/* a CR alone is an ordinary octet; colons in the value stay */
	assert_header(DKIM_CANON_RELAXED, "Subject: a\rb: c", "subject:a\rb: c");
	/* the DKIM-Signature as we fold it */
	assert_header(DKIM_CANON_RELAXED, "DKIM-Signature: v=1; a=rsa-sha256;\n\th=from:\n\tto; b=",
	              "dkim-signature:v=1; a=rsa-sha256; h=from: to; b=");
}

static void test_body_rfc_example(void **state)
{
	(void)state;
	/* RFC 6376 3.4.5 */
	const char *body = " C \r\nD \t E\r\n\r\n\r\n";
	assert_body(DKIM_CANON_RELAXED, body, " C\r\nD E\r\n");
	assert_body(DKIM_CANON_SIMPLE, body, " C \r\nD \t E\r\n");
	/* the same stored with LF line ends */
	const char *lf = " C \nD \t E\n\n\n";
	assert_body(DKIM_CANON_RELAXED, lf, " C\r\nD E\r\n");
	assert_body(DKIM_CANON_SIMPLE, lf, " C \r\nD \t E\r\n");
}

static void test_body_edges(void **state)
{
	(void)state;
	/* whitespace-only lines are empty lines once relaxed */
	assert_body(DKIM_CANON_RELAXED, "a\n \t \n\t\n", "a\r\n");
	assert_body(DKIM_CANON_SIMPLE, "a\n \t \n\t\n", "a\r\n \t \r\n\t\r\n");
	/* inner empty lines stay; leading ones too */
	assert_body(DKIM_CANON_RELAXED, "\n\na\n\n\nb\n", "\r\n\r\na\r\n\r\n\r\nb\r\n");
	/* a last line without a line end gets one (and loses its trailing WSP) */
	assert_body(DKIM_CANON_RELAXED, "a\nb  \t", "a\r\nb\r\n");
	assert_body(DKIM_CANON_SIMPLE, "a\nb  ", "a\r\nb  \r\n");
	/* CR not followed by LF is an ordinary octet */
	assert_body(DKIM_CANON_RELAXED, "a\rb\r\r\n\r", "a\rb\r\r\n\r\r\n");
	assert_body(DKIM_CANON_SIMPLE, "x\r", "x\r\r\n");
	/* WSP inside lines, mixed */
	assert_body(DKIM_CANON_RELAXED, "\t a \t b\t\r\n", " a b\r\n");
}

static void test_body_empty(void **state)
{
	(void)state;
	/* RFC 6376 3.4.4: relaxed empty body is "", 3.4.3: simple is CRLF */
	static const char *empties[] = { "", "\n", "\r\n", "\n\n\n", "\r\n\r\n", " \n\t\n" };
	char got[45];
	for (size_t i = 0; i < 6; i++) {
		body_hash(DKIM_CANON_RELAXED, empties[i], strlen(empties[i]), 0, got, NULL);
		assert_string_equal(got, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
		if (i < 5) { /* the last one has WSP, which simple keeps */
			body_hash(DKIM_CANON_SIMPLE, empties[i], strlen(empties[i]), 0, got, NULL);
			assert_string_equal(got, "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=");
		}
	}
}

static const char split_body[] =
	"Hello  \t there\r\n \r\n\tindented line  \n\nbare\rcr\r\r\nend  \t\n\r\n\n \n";

static void test_body_every_split(void **state)
{
	(void)state;
	size_t len = strlen(split_body);
	for (int m = 0; m < 2; m++) {
		enum dkim_canon mode = m ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE;
		char whole[45], got[45];
		body_hash(mode, split_body, len, 0, whole, NULL);
		for (size_t s = 0; s <= len; s++) {
			body_hash(mode, split_body, len, s, got, NULL);
			assert_string_equal(got, whole);
		}
		/* one octet at a time */
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		struct dkim_body_canon b;
		unsigned char d[32];
		EVP_DigestInit_ex(md, EVP_sha256(), NULL);
		dkim_body_init(&b, mode, md);
		for (size_t i = 0; i < len; i++)
			assert_int_equal(dkim_body_update(&b, split_body + i, 1), 0);
		assert_int_equal(dkim_body_final(&b), 0);
		EVP_DigestFinal_ex(md, d, NULL);
		EVP_EncodeBlock((unsigned char *)got, d, 32);
		assert_string_equal(got, whole);
		EVP_MD_CTX_free(md);
	}
}

static void test_body_lf_crlf_same(void **state)
{
	(void)state;
	const char *lf = "line 1  \n\n  line\t3\n\n\n";
	const char *crlf = "line 1  \r\n\r\n  line\t3\r\n\r\n\r\n";
	for (int m = 0; m < 2; m++) {
		char a[45], b[45];
		body_hash(m ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE, lf, strlen(lf), 3, a, NULL);
		body_hash(m ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE, crlf, strlen(crlf), 7, b, NULL);
		assert_string_equal(a, b);
	}
}

/* Many empty lines are held as a count, not in memory, and released as
 * soon as text follows them. */
static void test_body_many_blank_lines(void **state)
{
	(void)state;
	size_t n = 100000;
	char *in = malloc(n + 3), *want = malloc(2 * n + 5);
	memset(in, '\n', n);
	memcpy(in + n, "x\n", 3);
	for (size_t i = 0; i < n; i++)
		memcpy(want + 2 * i, "\r\n", 2);
	memcpy(want + 2 * n, "x\r\n", 4);
	assert_body(DKIM_CANON_RELAXED, in, want);
	in[n] = '\0';
	assert_body(DKIM_CANON_RELAXED, in, "");
	assert_body(DKIM_CANON_SIMPLE, in, "\r\n");
	free(in);
	free(want);
}

/* ---- keys ------------------------------------------------------------- */

static void check_key_file(const char *path, enum dkim_alg alg, struct dkim_key **out)
{
	char err[256], record[DKIM_RECORD_MAX];
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	struct dkim_key *k = dkim_key_load(path, err, sizeof(err));
	assert_non_null(k);
	assert_int_equal(dkim_key_alg(k), alg);
	record_of(k, record);
	bool ed;
	EVP_PKEY *pk = pkey_from_record(record, &ed);
	assert_non_null(pk);
	assert_int_equal(ed, alg == DKIM_ED25519_SHA256);
	if (alg == DKIM_RSA_SHA256) {
		assert_int_equal(strncmp(record, "v=DKIM1; k=rsa; p=MIIB", 22), 0);
		assert_int_equal(EVP_PKEY_get_bits(pk), 2048);
	} else {
		assert_int_equal(strncmp(record, "v=DKIM1; k=ed25519; p=", 22), 0);
		assert_int_equal(strlen(record), 22 + 44);
	}
	EVP_PKEY_free(pk);
	/* too small a buffer is an error, not a truncated record */
	char small[40];
	assert_int_equal(dkim_dns_record(k, small, sizeof(small)), -1);
	*out = k;
}

static void test_keygen_roundtrip(void **state)
{
	(void)state;
	char err[256];
	/* the keys made in setup */
	struct dkim_key *k;
	check_key_file(rsa_path, DKIM_RSA_SHA256, &k);
	dkim_key_free(k);
	check_key_file(ed_path, DKIM_ED25519_SHA256, &k);
	dkim_key_free(k);
	/* never overwrites */
	struct stat before, after;
	assert_int_equal(stat(ed_path, &before), 0);
	assert_int_equal(dkim_keygen(ed_path, DKIM_ED25519_SHA256, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "exists"));
	assert_int_equal(stat(ed_path, &after), 0);
	assert_int_equal(before.st_ino, after.st_ino);
	assert_int_equal(before.st_size, after.st_size);
	/* a key made twice differs */
	char p2[300];
	snprintf(p2, sizeof(p2), "%s/ed2.pem", tmpdir);
	assert_int_equal(dkim_keygen(p2, DKIM_ED25519_SHA256, err, sizeof(err)), 0);
	struct dkim_key *k2 = dkim_key_load(p2, err, sizeof(err));
	assert_non_null(k2);
	char r1[DKIM_RECORD_MAX], r2[DKIM_RECORD_MAX];
	record_of(ed_key, r1);
	record_of(k2, r2);
	assert_string_not_equal(r1, r2);
	dkim_key_free(k2);
	unlink(p2);
}

static void test_key_load_errors(void **state)
{
	(void)state;
	char err[256], path[300];
	assert_null(dkim_key_load("/nonexistent/dkim.pem", err, sizeof(err)));
	assert_null(dkim_key_load(tmpdir, err, sizeof(err))); /* a directory */
	snprintf(path, sizeof(path), "%s/junk.pem", tmpdir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("-----BEGIN PRIVATE KEY-----\nnot base64 !!\n-----END PRIVATE KEY-----\n", f);
	fclose(f);
	assert_null(dkim_key_load(path, err, sizeof(err)));
	unlink(path);
	/* an EC key is not a DKIM key */
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(ec);
	f = fopen(path, "w");
	assert_non_null(f);
	PEM_write_PrivateKey(f, ec, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	EVP_PKEY_free(ec);
	assert_null(dkim_key_load(path, err, sizeof(err)));
	assert_non_null(strstr(err, "not RSA or Ed25519"));
	unlink(path);
}

/* ---- signing ---------------------------------------------------------- */

static const char msg_lf[] =
	"Received: from a by b\n"
	"From: Alice <alice@example.org>\n"
	"To: bob@example.net,\n"
	"\tcarol@example.net\n"
	"Subject:  Hello   there \n"
	"Date: Tue, 24 Nov 2026 10:11:12 +0000\n"
	"Message-ID: <abc@example.org>\n"
	"X-Mailer: test\n"
	"\n"
	"Hi Bob,  \n"
	"\n"
	"  a   body.\n"
	"\n\n";

static void test_sign_verify(void **state)
{
	(void)state;
	struct dkim_key *keys[2] = { rsa_key, ed_key };
	for (int i = 0; i < 2; i++) {
		char err[256], record[DKIM_RECORD_MAX];
		record_of(keys[i], record);
		char *sig = sign_str(keys[i], msg_lf, err, sizeof(err));
		assert_non_null(sig);
		assert_int_equal(verify(sig, msg_lf, strlen(msg_lf), record), 1);
		char tags[8192], v[64];
		sig_tags(sig, tags, sizeof(tags));
		assert_true(tag_value(tags, "a", v, sizeof(v)));
		assert_string_equal(v, i ? "ed25519-sha256" : "rsa-sha256");
		assert_true(tag_value(tags, "d", v, sizeof(v)));
		assert_string_equal(v, "example.org");
		assert_true(tag_value(tags, "s", v, sizeof(v)));
		assert_string_equal(v, "sel1");
		assert_true(tag_value(tags, "t", v, sizeof(v)));
		assert_string_equal(v, "1795000000");

		/* LF lines, folded with a tab, none longer than 76 columns */
		size_t col = 0;
		for (const char *p = sig; *p; p++) {
			assert_true(*p != '\r');
			if (*p == '\n') {
				assert_true(p[1] == '\t' || p[1] == '\0');
				col = 0;
			} else {
				col += *p == '\t' ? 8 : 1;
				assert_true(col <= 76);
			}
		}

		/* tampering: body, a signed field, an added From (oversigned) */
		char buf[2048];
		snprintf(buf, sizeof(buf), "%s", msg_lf);
		memcpy(strstr(buf, "a   body"), "A", 1);
		assert_int_equal(verify(sig, buf, strlen(buf), record), 0);
		snprintf(buf, sizeof(buf), "%s", msg_lf);
		memcpy(strstr(buf, "Hello"), "J", 1);
		assert_int_equal(verify(sig, buf, strlen(buf), record), 0);
		snprintf(buf, sizeof(buf), "From: mallory@example.com\n%s", msg_lf);
		assert_int_equal(verify(sig, buf, strlen(buf), record), 0);
		/* relaxed: refolding and trailing blank lines do not matter */
		snprintf(buf, sizeof(buf), "%s\n\n", msg_lf);
		memcpy(strstr(buf, "Subject:  "), "subject:\n\t", 10);
		assert_int_equal(verify(sig, buf, strlen(buf), record), 1);
		/* another key, of either type, does not verify it */
		char other[DKIM_RECORD_MAX], path[300];
		record_of(keys[1 - i], other);
		assert_int_equal(verify(sig, msg_lf, strlen(msg_lf), other), 0);
		snprintf(path, sizeof(path), "%s/other.pem", tmpdir);
		assert_int_equal(dkim_keygen(path, dkim_key_alg(keys[i]), err, sizeof(err)), 0);
		struct dkim_key *k2 = dkim_key_load(path, err, sizeof(err));
		assert_non_null(k2);
		record_of(k2, other);
		assert_int_equal(verify(sig, msg_lf, strlen(msg_lf), other), 0);
		dkim_key_free(k2);
		unlink(path);
		free(sig);
	}
}

/* CRLF and LF storage sign identically: both signatures are deterministic
 * (PKCS#1 v1.5 and Ed25519), so the whole field must match. */
static void test_sign_crlf_same(void **state)
{
	(void)state;
	char crlf[2048], err[256];
	size_t n = 0;
	for (const char *p = msg_lf; *p; p++) {
		if (*p == '\n')
			crlf[n++] = '\r';
		crlf[n++] = *p;
	}
	crlf[n] = '\0';
	struct dkim_key *keys[2] = { rsa_key, ed_key };
	for (int i = 0; i < 2; i++) {
		char *a = sign_str(keys[i], msg_lf, err, sizeof(err));
		char *b = sign_str(keys[i], crlf, err, sizeof(err));
		assert_non_null(a);
		assert_non_null(b);
		assert_string_equal(a, b);
		free(a);
		free(b);
	}
}

static void assert_h_tag(const char *msg, const char *expected)
{
	char err[256], tags[8192], h[1024];
	char *sig = sign_str(ed_key, msg, err, sizeof(err));
	assert_non_null(sig);
	sig_tags(sig, tags, sizeof(tags));
	assert_true(tag_value(tags, "h", h, sizeof(h)));
	assert_string_equal(h, expected);
	char record[DKIM_RECORD_MAX];
	record_of(ed_key, record);
	assert_int_equal(verify(sig, msg, strlen(msg), record), 1);
	free(sig);
}

static void test_sign_h_tag(void **state)
{
	(void)state;
	assert_h_tag("From: a@example.org\n\nx\n", "from:from:to:subject:date:message-id");
	assert_h_tag(msg_lf, "from:from:to:to:subject:subject:date:date:message-id:message-id");
	/* repeated fields, any case, bottom-up; unlisted ones left out */
	assert_h_tag("to: 1@x\nFROM: a@example.org\nCc: c1@x\nTO: 2@x\ncc: c2@x\n"
	             "References: <1@x>\nReferences: <2@x>\nX-Spam: no\nMIME-Version: 1.0\n"
	             "Content-Type: text/plain\nContent-Transfer-Encoding: 8bit\n"
	             "Reply-To: r@x\nIn-Reply-To: <0@x>\nSender: s@x\nList-Id: <l.x>\n"
	             "List-Unsubscribe: <mailto:u@x>\n\nbody\n",
	             "from:from:to:to:to:cc:cc:subject:date:message-id:reply-to:in-reply-to:"
	             "references:references:mime-version:content-type:content-transfer-encoding:"
	             "sender:list-id:list-unsubscribe");
	/* no body at all, with or without the blank line */
	assert_h_tag("From: a@example.org\nSubject: s", "from:from:to:subject:subject:date:message-id");
	assert_h_tag("From: a@example.org\r\n\r\n", "from:from:to:subject:date:message-id");
}

/* A reader that hands the message over in small, varying pieces. */
struct drip {
	const char *p;
	size_t len, pos, step;
	bool fail;
};

static ssize_t drip_read(void *arg, void *buf, size_t len)
{
	struct drip *d = arg;
	if (d->fail && d->pos > 10)
		return -1;
	size_t n = d->len - d->pos;
	d->step = d->step % 7 + 1;
	if (n > d->step)
		n = d->step;
	if (n > len)
		n = len;
	memcpy(buf, d->p + d->pos, n);
	d->pos += n;
	return (ssize_t)n;
}

static void test_sign_streaming(void **state)
{
	(void)state;
	char err[256];
	char *whole = sign_str(rsa_key, msg_lf, err, sizeof(err));
	struct drip d = { msg_lf, strlen(msg_lf), 0, 0, false };
	char *dripped = dkim_sign(rsa_key, "example.org", "sel1", drip_read, &d, NOW, err, sizeof(err));
	assert_non_null(whole);
	assert_non_null(dripped);
	assert_string_equal(whole, dripped);
	free(whole);
	free(dripped);
	/* a read error is an error */
	struct drip bad = { msg_lf, strlen(msg_lf), 0, 0, true };
	assert_null(dkim_sign(rsa_key, "example.org", "sel1", drip_read, &bad, NOW, err, sizeof(err)));
	assert_non_null(strstr(err, "read"));
}

static void assert_refused(const char *msg, size_t len, const char *why)
{
	char err[256] = "";
	char *sig = dkim_sign_buffer(ed_key, "example.org", "sel1", msg, len, NOW, err, sizeof(err));
	assert_null(sig);
	if (strstr(err, why) == NULL)
		fail_msg("error \"%s\" does not mention \"%s\"", err, why);
}

static void test_sign_errors(void **state)
{
	(void)state;
	const char *m;
	m = "To: b@x\nSubject: no from\n\nbody\n";
	assert_refused(m, strlen(m), "From");
	assert_refused("", 0, "From");
	m = "\nFrom: a@x\n";  /* the From is in the body */
	assert_refused(m, strlen(m), "From");
	m = "Fromage: a@x\n\n";
	assert_refused(m, strlen(m), "From");
	m = " From: a@x\n\nbody\n";
	assert_refused(m, strlen(m), "malformed");
	m = "From: a@x\nthis is not a field\n\nbody\n";
	assert_refused(m, strlen(m), "malformed");
	m = "From: a@x\n: empty name\n\n";
	assert_refused(m, strlen(m), "malformed");
	m = "From a@x Tue Nov 24 10:11:12 2026\nFrom: a@x\n\n"; /* mbox separator */
	assert_refused(m, strlen(m), "malformed");

	/* d= and s= must be DNS names: no header syntax can get in */
	char err[256];
	static const char *bad[] = { "", "a..b", ".a", "a.", "a b", "a;b=c", "a\nb", "ä.de" };
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		assert_null(dkim_sign_buffer(ed_key, bad[i], "s", "From: a@x\n\n", 11, NOW, err,
		                             sizeof(err)));
		assert_null(dkim_sign_buffer(ed_key, "example.org", bad[i], "From: a@x\n\n", 11, NOW,
		                             err, sizeof(err)));
	}
}

static void test_sign_limits(void **state)
{
	(void)state;
	char err[256];
	size_t cap = 3 * 1024 * 1024;
	char *m = malloc(cap);

	/* exactly DKIM_FIELDS_MAX fields is fine, one more is not */
	size_t n = (size_t)snprintf(m, cap, "From: a@example.org\n");
	for (int i = 1; i < DKIM_FIELDS_MAX; i++)
		n += (size_t)snprintf(m + n, cap - n, "X-F%d: v\n", i);
	n += (size_t)snprintf(m + n, cap - n, "\nbody\n");
	char *sig = dkim_sign_buffer(ed_key, "example.org", "s", m, n, NOW, err, sizeof(err));
	assert_non_null(sig);
	free(sig);
	n = (size_t)snprintf(m, cap, "From: a@example.org\n");
	for (int i = 0; i < DKIM_FIELDS_MAX; i++)
		n += (size_t)snprintf(m + n, cap - n, "X-F%d: v\n", i);
	n += (size_t)snprintf(m + n, cap - n, "\nbody\n");
	assert_refused(m, n, "fields");

	/* a header block of just DKIM_HEADER_MAX octets is fine */
	n = (size_t)snprintf(m, cap, "From: a@example.org\nX-Big: ");
	while (n < DKIM_HEADER_MAX - 1)
		m[n++] = 'x';
	m[n++] = '\n';
	assert_int_equal(n, DKIM_HEADER_MAX);
	memcpy(m + n, "\nbody\n", 6);
	sig = dkim_sign_buffer(ed_key, "example.org", "s", m, n + 6, NOW, err, sizeof(err));
	assert_non_null(sig);
	free(sig);
	/* one octet more is not, in one field or many, with a body or none */
	memmove(m + 30, m + 29, n + 6 - 29);
	assert_refused(m, n + 7, "header block larger");
	assert_refused(m, n + 1, "header block larger");
	n = (size_t)snprintf(m, cap, "From: a@example.org\n");
	while (n < 2 * 1024 * 1024)
		n += (size_t)snprintf(m + n, cap - n, " folded continuation line\n");
	assert_refused(m, n, "header block larger");
	/* a header that never ends: 2 MiB without a line end */
	memset(m, 'A', 2 * 1024 * 1024);
	assert_refused(m, 2 * 1024 * 1024, "header block larger");
	free(m);
}

/* A large body streams through: the result equals what our verifier hashes. */
static void test_sign_big_body(void **state)
{
	(void)state;
	size_t cap = 4 * 1024 * 1024, n;
	char *m = malloc(cap), err[256], record[DKIM_RECORD_MAX];
	n = (size_t)snprintf(m, cap, "From: a@example.org\nSubject: big\n\n");
	for (int i = 0; n + 64 < cap; i++)
		n += (size_t)snprintf(m + n, cap - n, "line %d  \t of text %s\n", i, i % 5 ? "" : "\n \t");
	char *sig = dkim_sign_buffer(rsa_key, "example.org", "sel1", m, n, NOW, err, sizeof(err));
	assert_non_null(sig);
	record_of(rsa_key, record);
	assert_int_equal(verify(sig, m, n, record), 1);
	free(sig);
	free(m);
}

/* ---- setup ------------------------------------------------------------ */

static int group_setup(void **state)
{
	(void)state;
	char err[256];
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(rsa_path, sizeof(rsa_path), "%s/rsa.pem", tmpdir);
	snprintf(ed_path, sizeof(ed_path), "%s/ed25519.pem", tmpdir);
	if (dkim_keygen(rsa_path, DKIM_RSA_SHA256, err, sizeof(err)) < 0
	    || dkim_keygen(ed_path, DKIM_ED25519_SHA256, err, sizeof(err)) < 0) {
		fprintf(stderr, "keygen: %s\n", err);
		return -1;
	}
	rsa_key = dkim_key_load(rsa_path, err, sizeof(err));
	ed_key = dkim_key_load(ed_path, err, sizeof(err));
	return rsa_key && ed_key ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	dkim_key_free(rsa_key);
	dkim_key_free(ed_key);
	unlink(rsa_path);
	unlink(ed_path);
	rmdir(tmpdir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_rfc_example),
		cmocka_unit_test(test_header_relaxed_more),
		cmocka_unit_test(test_body_rfc_example),
		cmocka_unit_test(test_body_edges),
		cmocka_unit_test(test_body_empty),
		cmocka_unit_test(test_body_every_split),
		cmocka_unit_test(test_body_lf_crlf_same),
		cmocka_unit_test(test_body_many_blank_lines),
		cmocka_unit_test(test_keygen_roundtrip),
		cmocka_unit_test(test_key_load_errors),
		cmocka_unit_test(test_sign_verify),
		cmocka_unit_test(test_sign_crlf_same),
		cmocka_unit_test(test_sign_h_tag),
		cmocka_unit_test(test_sign_streaming),
		cmocka_unit_test(test_sign_errors),
		cmocka_unit_test(test_sign_limits),
		cmocka_unit_test(test_sign_big_body),
	};
	return cmocka_run_group_tests_name("dkim", tests, group_setup, group_teardown);
}
