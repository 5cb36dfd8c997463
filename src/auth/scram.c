#include "auth/scram.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth/sasl.h"
#include "core/util.h"

#define SNONCE_RAW_LEN 24 /* RFC 5802 leaves it open; 192 bits */
#define KEY_B64_LEN    SASL_B64_ENCODED_LEN(SCRAM_KEY_LEN)
#define SALT_B64_MAX   SASL_B64_ENCODED_LEN(SCRAM_SALT_MAX)

enum scram_state {
	SCRAM_WANT_CLIENT_FIRST,
	SCRAM_WANT_SERVER_FIRST,
	SCRAM_WANT_CLIENT_FINAL,
	SCRAM_DONE,
};

struct scram_server {
	enum scram_state state;
	/* the client-first-message as received; the gs2 header is its first
	 * gs2_len bytes and client-first-message-bare the rest */
	char client_first[SCRAM_MSG_MAX + 1];
	size_t gs2_len;
	char nonce[2 * SCRAM_NONCE_MAX + 1]; /* client nonce, then server nonce */
	size_t cnonce_len;
	char snonce[SCRAM_NONCE_MAX + 1];   /* "" until set or generated */
	char server_first[SCRAM_SERVER_FIRST_MAX];
	struct scram_keys keys;
};

static int hmac_sha256(const unsigned char *key, size_t keylen, const void *data, size_t len,
                       unsigned char out[SCRAM_KEY_LEN])
{
	unsigned int outlen = 0;
	if (HMAC(EVP_sha256(), key, (int)keylen, data, len, out, &outlen) == NULL ||
	    outlen != SCRAM_KEY_LEN)
		return -1;
	return 0;
}

static int sha256(const unsigned char *data, size_t len, unsigned char out[SCRAM_KEY_LEN])
{
	unsigned int outlen = 0;
	if (EVP_Digest(data, len, out, &outlen, EVP_sha256(), NULL) != 1 ||
	    outlen != SCRAM_KEY_LEN)
		return -1;
	return 0;
}

static bool keys_in_bounds(size_t saltlen, int iterations)
{
	return saltlen >= SCRAM_SALT_MIN && saltlen <= SCRAM_SALT_MAX &&
	       iterations >= SCRAM_ITERATIONS_MIN && iterations <= SCRAM_ITERATIONS_MAX;
}

int scram_derive(const char *password, const unsigned char *salt, size_t saltlen, int iterations,
                 struct scram_keys *out)
{
	unsigned char salted[SCRAM_KEY_LEN], client_key[SCRAM_KEY_LEN];
	int rc = -1;

	memset(out, 0, sizeof(*out));
	size_t pwlen = strlen(password);
	if (!keys_in_bounds(saltlen, iterations) || pwlen > INT32_MAX)
		return -1;
	if (PKCS5_PBKDF2_HMAC(password, (int)pwlen, salt, (int)saltlen, iterations, EVP_sha256(),
	                      sizeof(salted), salted) != 1)
		goto out;
	if (hmac_sha256(salted, sizeof(salted), "Client Key", 10, client_key) < 0 ||
	    sha256(client_key, sizeof(client_key), out->stored_key) < 0 ||
	    hmac_sha256(salted, sizeof(salted), "Server Key", 10, out->server_key) < 0)
		goto out;
	memcpy(out->salt, salt, saltlen);
	out->saltlen = saltlen;
	out->iterations = iterations;
	rc = 0;
out:
	OPENSSL_cleanse(salted, sizeof(salted));
	OPENSSL_cleanse(client_key, sizeof(client_key));
	if (rc < 0)
		OPENSSL_cleanse(out, sizeof(*out));
	return rc;
}

int scram_keys_new(const char *password, struct scram_keys *out)
{
	unsigned char salt[SCRAM_SALT_LEN];
	random_bytes(salt, sizeof(salt));
	return scram_derive(password, salt, sizeof(salt), SCRAM_ITERATIONS, out);
}

int scram_keys_encode(const struct scram_keys *k, char *out, size_t outlen)
{
	char salt[SALT_B64_MAX + 1], stored[KEY_B64_LEN + 1], server[KEY_B64_LEN + 1];

	if (outlen > 0)
		out[0] = '\0';
	if (!keys_in_bounds(k->saltlen, k->iterations))
		return -1;
	if (sasl_b64_encode(k->salt, k->saltlen, salt, sizeof(salt), NULL) < 0 ||
	    sasl_b64_encode(k->stored_key, SCRAM_KEY_LEN, stored, sizeof(stored), NULL) < 0 ||
	    sasl_b64_encode(k->server_key, SCRAM_KEY_LEN, server, sizeof(server), NULL) < 0)
		return -1;
	if (bsnprintf(out, outlen, "SCRAM-SHA-256$%d:%s$%s:%s", k->iterations, salt, stored,
	              server) < 0) {
		if (outlen > 0)
			out[0] = '\0';
		return -1;
	}
	return 0;
}

/* Decimal without sign or leading zero, within the iteration bounds. */
static int parse_iterations(const char *p, size_t n, int *out)
{
	long v = 0;
	if (n == 0 || n > 9 || p[0] == '0')
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	if (v < SCRAM_ITERATIONS_MIN || v > SCRAM_ITERATIONS_MAX)
		return -1;
	*out = (int)v;
	return 0;
}

/* Decodes s[0..n) and insists on exactly `want` bytes. */
static int b64_exact(const char *s, size_t n, unsigned char *out, size_t want)
{
	size_t got;
	if (sasl_b64_decode(s, n, out, want, &got) < 0 || got != want)
		return -1;
	return 0;
}

int scram_keys_decode(const char *s, struct scram_keys *k)
{
	char sep_salt, sep_keys, sep_server;

	memset(k, 0, sizeof(*k));
	if (strncmp(s, "SCRAM-SHA-256$", 14) == 0) {
		/* RFC 5803 3 */
		sep_salt = ':';
		sep_keys = '$';
		sep_server = ':';
		s += 14;
	} else if (strncasecmp(s, "{SCRAM-SHA-256}", 15) == 0) {
		/* Dovecot's password scheme */
		sep_salt = sep_keys = sep_server = ',';
		s += 15;
	} else {
		return -1;
	}

	const char *a = strchr(s, sep_salt);
	const char *b = a != NULL ? strchr(a + 1, sep_keys) : NULL;
	const char *c = b != NULL ? strchr(b + 1, sep_server) : NULL;
	if (c == NULL)
		goto bad;
	size_t saltlen;
	if (parse_iterations(s, (size_t)(a - s), &k->iterations) < 0 ||
	    sasl_b64_decode(a + 1, (size_t)(b - a - 1), k->salt, sizeof(k->salt), &saltlen) < 0 ||
	    b64_exact(b + 1, (size_t)(c - b - 1), k->stored_key, SCRAM_KEY_LEN) < 0 ||
	    b64_exact(c + 1, strlen(c + 1), k->server_key, SCRAM_KEY_LEN) < 0)
		goto bad;
	k->saltlen = saltlen;
	if (!keys_in_bounds(k->saltlen, k->iterations))
		goto bad;
	return 0;
bad:
	OPENSSL_cleanse(k, sizeof(*k));
	return -1;
}

void scram_fake_keys(const char *username, const unsigned char secret[32],
                     struct scram_keys *out)
{
	unsigned char user_key[SCRAM_KEY_LEN], salt[SCRAM_KEY_LEN];

	memset(out, 0, sizeof(*out));
	/* one key per username, then one labelled HMAC per value */
	if (hmac_sha256(secret, 32, username, strlen(username), user_key) < 0 ||
	    hmac_sha256(user_key, sizeof(user_key), "salt", 4, salt) < 0 ||
	    hmac_sha256(user_key, sizeof(user_key), "stored key", 10, out->stored_key) < 0 ||
	    hmac_sha256(user_key, sizeof(user_key), "server key", 10, out->server_key) < 0)
		abort(); /* only on allocation failure inside OpenSSL; see xmalloc */
	/* the same shape as scram_keys_new(), so nothing tells them apart */
	memcpy(out->salt, salt, SCRAM_SALT_LEN);
	out->saltlen = SCRAM_SALT_LEN;
	out->iterations = SCRAM_ITERATIONS;
	OPENSSL_cleanse(user_key, sizeof(user_key));
	OPENSSL_cleanse(salt, sizeof(salt));
}

struct scram_server *scram_server_new(void)
{
	struct scram_server *s = xcalloc(1, sizeof(*s));
	s->state = SCRAM_WANT_CLIENT_FIRST;
	return s;
}

void scram_server_free(struct scram_server *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

void scram_server_set_nonce(struct scram_server *s, const char *snonce)
{
	size_t n = strlen(snonce);
	if (n > SCRAM_NONCE_MAX) {
		/* an empty nonce is refused by scram_server_first */
		s->snonce[0] = '\0';
		s->state = SCRAM_DONE;
		return;
	}
	memcpy(s->snonce, snonce, n + 1);
}

/* RFC 5802 7: printable = %x21-2B / %x2D-7E */
static bool nonce_valid(const char *p, size_t n)
{
	if (n == 0 || n > SCRAM_NONCE_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < 0x21 || p[i] > 0x7e || p[i] == ',')
			return false;
	}
	return true;
}

/* RFC 5802 7: saslname = 1*(value-safe-char / "=2C" / "=3D"), the only
 * escapes; ABNF strings are case-insensitive, so "=2c" is the same escape.
 * Writes the decoded name into dst (cap bytes with NUL). */
static int saslname_decode(const char *p, size_t n, char *dst, size_t cap)
{
	size_t o = 0;
	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (c == ',')
			return -1;
		if (c == '=') {
			if (n - i < 3)
				return -1;
			char hi = p[i + 1], lo = (char)(p[i + 2] | 0x20); /* C->c, D->d */
			if (hi == '2' && lo == 'c')
				c = ',';
			else if (hi == '3' && lo == 'd')
				c = '=';
			else
				return -1;
			i += 2;
		}
		if (o + 1 >= cap || o >= SCRAM_USER_MAX)
			return -1;
		dst[o++] = c;
	}
	dst[o] = '\0';
	return sasl_utf8_valid((const unsigned char *)dst, o) ? 0 : -1;
}

/* End of the attribute starting at p: the next ',' or end. */
static const char *attr_end(const char *p, const char *end)
{
	const char *c = memchr(p, ',', (size_t)(end - p));
	return c != NULL ? c : end;
}

/* RFC 5802 7: attr-val = ALPHA "=" value; value = 1*value-char. The message
 * is already known to be UTF-8 without NUL, and ',' ends the attribute. */
static bool extension_valid(const char *p, const char *e)
{
	char a = p[0];
	return e - p >= 3 && ((a >= 'a' && a <= 'z') || (a >= 'A' && a <= 'Z')) && p[1] == '=';
}

/* Checks that msg is a usable SCRAM message and copies it NUL-terminated. */
static int message_copy(const char *msg, size_t len, char *dst)
{
	if (len == 0 || len > SCRAM_MSG_MAX || memchr(msg, '\0', len) != NULL ||
	    !sasl_utf8_valid((const unsigned char *)msg, len))
		return -1;
	memcpy(dst, msg, len);
	dst[len] = '\0';
	return 0;
}

static int client_first_parse(struct scram_server *s, const char *msg, size_t len,
                              char *name, char *az)
{
	if (message_copy(msg, len, s->client_first) < 0)
		return -1;
	const char *p = s->client_first;
	const char *end = p + len;

	/* gs2-cbind-flag: "p=" asks for channel binding, which we do not
	 * advertise (no -PLUS mechanism), so "y" is fine and "p=" is refused */
	if ((p[0] != 'n' && p[0] != 'y') || p[1] != ',')
		return -1;
	p += 2;
	if (p[0] == 'a' && p[1] == '=') {
		const char *e = attr_end(p, end);
		if (e == end || saslname_decode(p + 2, (size_t)(e - p - 2), az,
		                                SCRAM_USER_MAX + 1) < 0)
			return -1;
		p = e + 1;
	} else if (p[0] == ',') {
		p++;
	} else {
		return -1;
	}
	s->gs2_len = (size_t)(p - s->client_first);

	/* RFC 5802 5.1: "m" is reserved for mandatory extensions, which the
	 * server must refuse when it does not know them (it knows none) */
	if (p[0] != 'n' || p[1] != '=')
		return -1;
	const char *e = attr_end(p, end);
	if (e == end || saslname_decode(p + 2, (size_t)(e - p - 2), name, SCRAM_USER_MAX + 1) < 0)
		return -1;
	p = e + 1;
	if (p[0] != 'r' || p[1] != '=')
		return -1;
	e = attr_end(p, end);
	if (!nonce_valid(p + 2, (size_t)(e - p - 2)))
		return -1;
	s->cnonce_len = (size_t)(e - p - 2);
	memcpy(s->nonce, p + 2, s->cnonce_len);
	s->nonce[s->cnonce_len] = '\0';
	/* optional extensions: checked for syntax, then ignored */
	while (e != end) {
		p = e + 1;
		e = attr_end(p, end);
		if (!extension_valid(p, e))
			return -1;
	}
	/* an authzid other than the user would be acting as someone else;
	 * user names are looked up without regard to ASCII case */
	if (az[0] != '\0' && strcasecmp(az, name) != 0)
		return -1;
	return 0;
}

int scram_server_client_first(struct scram_server *s, const char *msg, size_t len, char *user,
                              size_t ulen, char *authzid, size_t alen)
{
	char name[SCRAM_USER_MAX + 1] = "", az[SCRAM_USER_MAX + 1] = "";

	if (ulen > 0)
		user[0] = '\0';
	if (alen > 0)
		authzid[0] = '\0';
	if (s->state != SCRAM_WANT_CLIENT_FIRST)
		return -1;
	s->state = SCRAM_DONE; /* until it all checks out: one try per exchange */
	if (client_first_parse(s, msg, len, name, az) < 0 || strlen(name) >= ulen ||
	    strlen(az) >= alen)
		return -1;
	memcpy(user, name, strlen(name) + 1);
	memcpy(authzid, az, strlen(az) + 1);
	s->state = SCRAM_WANT_SERVER_FIRST;
	return 0;
}

int scram_server_first(struct scram_server *s, const struct scram_keys *k, char *out,
                       size_t outlen)
{
	char salt[SALT_B64_MAX + 1];

	if (outlen > 0)
		out[0] = '\0';
	if (s->state != SCRAM_WANT_SERVER_FIRST)
		return -1;
	s->state = SCRAM_DONE;
	if (!keys_in_bounds(k->saltlen, k->iterations))
		return -1;
	if (s->snonce[0] == '\0') {
		unsigned char raw[SNONCE_RAW_LEN];
		random_bytes(raw, sizeof(raw));
		if (sasl_b64_encode(raw, sizeof(raw), s->snonce, sizeof(s->snonce), NULL) < 0)
			return -1;
	}
	size_t snonce_len = strlen(s->snonce);
	if (!nonce_valid(s->snonce, snonce_len))
		return -1;
	memcpy(s->nonce + s->cnonce_len, s->snonce, snonce_len + 1);
	if (sasl_b64_encode(k->salt, k->saltlen, salt, sizeof(salt), NULL) < 0)
		return -1;
	int n = bsnprintf(s->server_first, sizeof(s->server_first), "r=%s,s=%s,i=%d", s->nonce,
	                  salt, k->iterations);
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	memcpy(out, s->server_first, (size_t)n + 1);
	s->keys = *k;
	s->state = SCRAM_WANT_CLIENT_FINAL;
	return 0;
}

/* Finds where ",p=" starts in a client-final-message after the c= and r=
 * attributes, checking each extension in between. NULL when malformed. */
static const char *find_proof(const char *p, const char *end)
{
	for (;;) {
		const char *e = attr_end(p, end);
		if (p[0] == 'p' && p[1] == '=')
			return e == end ? p : NULL; /* the proof comes last */
		if (e == end || !extension_valid(p, e))
			return NULL;
		p = e + 1;
	}
}

static int proof_check(struct scram_server *s, const char *without_proof, size_t wplen,
                       const unsigned char proof[SCRAM_KEY_LEN],
                       unsigned char server_sig[SCRAM_KEY_LEN])
{
	/* RFC 5802 3: AuthMessage = client-first-message-bare + "," +
	 * server-first-message + "," + client-final-message-without-proof */
	char auth[SCRAM_MSG_MAX + SCRAM_SERVER_FIRST_MAX + SCRAM_MSG_MAX + 2];
	unsigned char client_sig[SCRAM_KEY_LEN], client_key[SCRAM_KEY_LEN];
	unsigned char stored[SCRAM_KEY_LEN];
	const char *bare = s->client_first + s->gs2_len;
	size_t bare_len = strlen(bare), sf_len = strlen(s->server_first);
	int rc = -1;

	memcpy(auth, bare, bare_len);
	auth[bare_len] = ',';
	memcpy(auth + bare_len + 1, s->server_first, sf_len);
	auth[bare_len + 1 + sf_len] = ',';
	memcpy(auth + bare_len + 2 + sf_len, without_proof, wplen);
	size_t auth_len = bare_len + 2 + sf_len + wplen;

	if (hmac_sha256(s->keys.stored_key, SCRAM_KEY_LEN, auth, auth_len, client_sig) < 0 ||
	    hmac_sha256(s->keys.server_key, SCRAM_KEY_LEN, auth, auth_len, server_sig) < 0)
		goto out;
	/* ClientKey = ClientProof XOR ClientSignature; StoredKey = H(ClientKey) */
	for (size_t i = 0; i < SCRAM_KEY_LEN; i++)
		client_key[i] = proof[i] ^ client_sig[i];
	if (sha256(client_key, sizeof(client_key), stored) < 0)
		goto out;
	rc = CRYPTO_memcmp(stored, s->keys.stored_key, SCRAM_KEY_LEN) == 0 ? 1 : 0;
out:
	OPENSSL_cleanse(client_sig, sizeof(client_sig));
	OPENSSL_cleanse(client_key, sizeof(client_key));
	OPENSSL_cleanse(stored, sizeof(stored));
	return rc;
}

int scram_server_client_final(struct scram_server *s, const char *msg, size_t len, char *out,
                              size_t outlen)
{
	char buf[SCRAM_MSG_MAX + 1];
	unsigned char cbind[SCRAM_MSG_MAX], proof[SCRAM_KEY_LEN], server_sig[SCRAM_KEY_LEN];
	size_t cbind_len;
	int rc = -1;

	if (outlen > 0)
		out[0] = '\0';
	if (s->state != SCRAM_WANT_CLIENT_FINAL)
		return -1;
	s->state = SCRAM_DONE;
	if (outlen < SCRAM_SERVER_FINAL_MAX || message_copy(msg, len, buf) < 0)
		return -1;
	const char *end = buf + len;
	const char *p = buf;

	/* c=: without channel binding, exactly the gs2 header sent first */
	if (p[0] != 'c' || p[1] != '=')
		return -1;
	const char *e = attr_end(p, end);
	if (e == end || sasl_b64_decode(p + 2, (size_t)(e - p - 2), cbind, sizeof(cbind),
	                                &cbind_len) < 0)
		return -1;
	if (cbind_len != s->gs2_len || memcmp(cbind, s->client_first, cbind_len) != 0)
		return -1;
	/* r=: the combined nonce, unchanged */
	p = e + 1;
	if (p[0] != 'r' || p[1] != '=')
		return -1;
	e = attr_end(p, end);
	size_t nonce_len = strlen(s->nonce);
	if ((size_t)(e - p - 2) != nonce_len || memcmp(p + 2, s->nonce, nonce_len) != 0 ||
	    e == end)
		return -1;
	const char *pattr = find_proof(e + 1, end);
	if (pattr == NULL)
		return -1;
	if (sasl_b64_decode(pattr + 2, (size_t)(end - pattr - 2), proof, sizeof(proof),
	                    &cbind_len) < 0 || cbind_len != SCRAM_KEY_LEN)
		goto out;
	/* client-final-message-without-proof ends before ",p=" */
	rc = proof_check(s, buf, (size_t)(pattr - 1 - buf), proof, server_sig);
	if (rc == 1) {
		char sig[KEY_B64_LEN + 1];
		if (sasl_b64_encode(server_sig, sizeof(server_sig), sig, sizeof(sig), NULL) < 0 ||
		    bsnprintf(out, outlen, "v=%s", sig) < 0)
			rc = -1;
	}
out:
	OPENSSL_cleanse(proof, sizeof(proof));
	OPENSSL_cleanse(server_sig, sizeof(server_sig));
	return rc;
}
