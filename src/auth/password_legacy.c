/* Verification of hashes imported from other mail servers: bcrypt and
 * SHA-crypt through libxcrypt's crypt_r(), and Dovecot's {SSHA512}.
 * Nothing here creates such hashes; a user who logs in with one is re-hashed
 * with Argon2id (password_needs_upgrade). */
#include "auth/password.h"

#include <crypt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "auth/sasl.h"
#include "core/util.h"

#define SSHA512_DIGEST_LEN 64
#define SSHA512_SALT_MAX   64

/* crypt(3)'s base-64 alphabet ("./0-9A-Za-z") */
static bool is_crypt64(char c)
{
	return c == '.' || c == '/' || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
	       (c >= 'a' && c <= 'z');
}

static bool all_crypt64(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!is_crypt64(s[i]))
			return false;
	}
	return true;
}

/* "$2[aby]$NN$" + 22 salt + 31 hash characters, 4 <= NN <= our bound. */
static bool bcrypt_well_formed(const char *h)
{
	if (strlen(h) != 60 || (h[2] != 'a' && h[2] != 'b' && h[2] != 'y') || h[3] != '$' ||
	    h[6] != '$' || h[4] < '0' || h[4] > '9' || h[5] < '0' ||
	    h[5] > '9')
		return false;
	int cost = (h[4] - '0') * 10 + (h[5] - '0');
	return cost >= 4 && cost <= PASSWORD_BCRYPT_COST_MAX && all_crypt64(h + 7, 53);
}

/* "$6$[rounds=N$]salt$hash": salt up to 16 characters, hash 86 (SHA-512) or
 * 43 (SHA-256) characters, N within our bound. */
static bool shacrypt_well_formed(const char *h, size_t hashlen)
{
	const char *p = h + 3;
	if (strncmp(p, "rounds=", 7) == 0) {
		unsigned long rounds = 0;
		size_t n = 0;
		p += 7;
		while (p[n] >= '0' && p[n] <= '9' && n < 9) {
			rounds = rounds * 10 + (unsigned long)(p[n] - '0');
			n++;
		}
		if (n == 0 || p[n] != '$' || rounds > PASSWORD_SHACRYPT_ROUNDS_MAX)
			return false;
		p += n + 1;
	}
	const char *dollar = strchr(p, '$');
	if (dollar == NULL || dollar - p > 16)
		return false;
	for (const char *c = p; c < dollar; c++) {
		/* crypt_r judges the salt; only keep out what would confuse us */
		if (*c <= 0x20 || *c > 0x7e)
			return false;
	}
	p = dollar + 1;
	return strlen(p) == hashlen && all_crypt64(p, hashlen);
}

int password_crypt_verify(const char *setting, const char *password)
{
	bool ok;
	if (strncmp(setting, "$2", 2) == 0)
		ok = bcrypt_well_formed(setting);
	else if (strncmp(setting, "$6$", 3) == 0)
		ok = shacrypt_well_formed(setting, 86);
	else if (strncmp(setting, "$5$", 3) == 0)
		ok = shacrypt_well_formed(setting, 43);
	else
		ok = false;
	if (!ok)
		return -1;

	/* about 32 KiB: too big for a pool thread's stack to take lightly */
	struct crypt_data *cd = xcalloc(1, sizeof(*cd));
	int rc = -1;
	const char *out = crypt_r(password, setting, cd);
	/* libxcrypt reports failure with NULL or a "*..." failure token */
	if (out != NULL && out[0] != '*') {
		size_t n = strlen(setting);
		/* the length is fixed by the format, not by the password */
		rc = strlen(out) == n && CRYPTO_memcmp(out, setting, n) == 0 ? 1 : 0;
	}
	OPENSSL_cleanse(cd, sizeof(*cd)); /* holds a copy of the password */
	free(cd);
	return rc;
}

/* Dovecot {SSHA512}: base64(SHA512(password || salt) || salt). */
int password_ssha512_verify(const char *b64, const char *password)
{
	unsigned char raw[SSHA512_DIGEST_LEN + SSHA512_SALT_MAX];
	unsigned char digest[SSHA512_DIGEST_LEN];
	unsigned int dlen = 0;
	size_t n;
	int rc = -1;

	if (sasl_b64_decode(b64, strlen(b64), raw, sizeof(raw), &n) < 0 ||
	    n <= SSHA512_DIGEST_LEN)
		return -1;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		goto out;
	if (EVP_DigestInit_ex(ctx, EVP_sha512(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, password, strlen(password)) != 1 ||
	    EVP_DigestUpdate(ctx, raw + SSHA512_DIGEST_LEN, n - SSHA512_DIGEST_LEN) != 1 ||
	    EVP_DigestFinal_ex(ctx, digest, &dlen) != 1 || dlen != SSHA512_DIGEST_LEN)
		goto out;
	rc = CRYPTO_memcmp(digest, raw, SSHA512_DIGEST_LEN) == 0 ? 1 : 0;
out:
	EVP_MD_CTX_free(ctx);
	OPENSSL_cleanse(digest, sizeof(digest));
	OPENSSL_cleanse(raw, sizeof(raw));
	return rc;
}
