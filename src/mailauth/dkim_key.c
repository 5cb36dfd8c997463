/* DKIM keys: generation, loading, the DNS record, and the signing primitive. */
#include "mailauth/dkim.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "core/util.h"
#include "tls/tls.h"

#define RSA_KEYGEN_BITS 2048     /* RFC 8301 3.2: signers SHOULD use 2048 */
#define KEY_FILE_MAX (64 * 1024) /* a PEM key of 16384 bits is ~13 KiB */

struct dkim_key {
	EVP_PKEY *pkey;
	enum dkim_alg alg;
};

const char *dkim_alg_name(enum dkim_alg alg)
{
	return alg == DKIM_ED25519_SHA256 ? "ed25519-sha256" : "rsa-sha256";
}

/* ---- generation ------------------------------------------------------- */

static EVP_PKEY *generate(enum dkim_alg alg)
{
	switch (alg) {
	case DKIM_RSA_SHA256:
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)RSA_KEYGEN_BITS);
	case DKIM_ED25519_SHA256:
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	}
	return NULL;
}

/* Directory part of path, for fsync_dir(). */
static void parent_dir(const char *path, char *out, size_t outlen)
{
	const char *slash = strrchr(path, '/');
	if (slash == NULL)
		snprintf(out, outlen, ".");
	else if (slash == path)
		snprintf(out, outlen, "/");
	else
		snprintf(out, outlen, "%.*s", (int)(slash - path), path);
}

int dkim_keygen(const char *path, enum dkim_alg alg, char *err, size_t errlen)
{
	if (alg != DKIM_RSA_SHA256 && alg != DKIM_ED25519_SHA256) {
		snprintf(err, errlen, "unknown DKIM algorithm");
		return -1;
	}
	EVP_PKEY *pkey = generate(alg);
	if (pkey == NULL) {
		tls_openssl_error(err, errlen, "generating the DKIM key");
		return -1;
	}
	BIO *mem = BIO_new(BIO_s_mem());
	if (mem == NULL || PEM_write_bio_PrivateKey(mem, pkey, NULL, NULL, 0, NULL, NULL) != 1) {
		tls_openssl_error(err, errlen, "encoding the DKIM key");
		BIO_free(mem);
		EVP_PKEY_free(pkey);
		return -1;
	}
	EVP_PKEY_free(pkey);
	char *pem = NULL;
	long pemlen = BIO_get_mem_data(mem, &pem);

	/* 0600 from creation, never an existing file (nor a planted symlink) */
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "creating %s: %s", path, strerror(errno));
		OPENSSL_cleanse(pem, (size_t)pemlen);
		BIO_free(mem);
		return -1;
	}
	int rc = 0;
	if (write_all(fd, pem, (size_t)pemlen) < 0 || fsync(fd) < 0) {
		snprintf(err, errlen, "writing %s: %s", path, strerror(errno));
		rc = -1;
	}
	OPENSSL_cleanse(pem, (size_t)pemlen);
	BIO_free(mem);
	if (close(fd) < 0 && rc == 0) {
		snprintf(err, errlen, "writing %s: %s", path, strerror(errno));
		rc = -1;
	}
	if (rc < 0) {
		unlink(path);
		return -1;
	}
	char dir[4096];
	parent_dir(path, dir, sizeof(dir));
	if (fsync_dir(dir) < 0) {
		snprintf(err, errlen, "syncing %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- loading ---------------------------------------------------------- */

/* Reads a small regular file whole into a malloc'd buffer. */
static char *read_key_file(const char *path, size_t *len, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "opening %s: %s", path, strerror(errno));
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > KEY_FILE_MAX) {
		snprintf(err, errlen, "%s: not a regular file of at most %d octets", path,
		         KEY_FILE_MAX);
		close(fd);
		return NULL;
	}
	char *buf = xmalloc(KEY_FILE_MAX);
	size_t n = 0;
	for (;;) {
		ssize_t r = read(fd, buf + n, KEY_FILE_MAX - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "reading %s: %s", path, strerror(errno));
			close(fd);
			OPENSSL_cleanse(buf, n);
			free(buf);
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == KEY_FILE_MAX) {
			snprintf(err, errlen, "%s: larger than %d octets", path, KEY_FILE_MAX);
			close(fd);
			OPENSSL_cleanse(buf, n);
			free(buf);
			return NULL;
		}
	}
	close(fd);
	*len = n;
	return buf;
}

/* Encrypted keys are refused: without a callback OpenSSL would prompt on the
 * terminal, and a daemon has none. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

struct dkim_key *dkim_key_load(const char *path, char *err, size_t errlen)
{
	size_t len = 0;
	char *pem = read_key_file(path, &len, err, errlen);
	if (pem == NULL)
		return NULL;
	BIO *mem = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *pkey = mem ? PEM_read_bio_PrivateKey(mem, NULL, no_passphrase, NULL) : NULL;
	BIO_free(mem);
	OPENSSL_cleanse(pem, len);
	free(pem);
	if (pkey == NULL) {
		char what[300];
		snprintf(what, sizeof(what), "%s: no unencrypted PEM private key", path);
		tls_openssl_error(err, errlen, what);
		return NULL;
	}

	enum dkim_alg alg;
	if (EVP_PKEY_is_a(pkey, "RSA")) {
		alg = DKIM_RSA_SHA256;
		if (EVP_PKEY_get_bits(pkey) < DKIM_RSA_MIN_BITS) {
			snprintf(err, errlen, "%s: RSA key of %d bits, at least %d needed", path,
			         EVP_PKEY_get_bits(pkey), DKIM_RSA_MIN_BITS);
			EVP_PKEY_free(pkey);
			return NULL;
		}
	} else if (EVP_PKEY_is_a(pkey, "ED25519")) {
		alg = DKIM_ED25519_SHA256;
	} else {
		snprintf(err, errlen, "%s: key type %s is not RSA or Ed25519", path,
		         EVP_PKEY_get0_type_name(pkey) ? EVP_PKEY_get0_type_name(pkey) : "?");
		EVP_PKEY_free(pkey);
		return NULL;
	}
	struct dkim_key *k = xcalloc(1, sizeof(*k));
	k->pkey = pkey;
	k->alg = alg;
	return k;
}

void dkim_key_free(struct dkim_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

enum dkim_alg dkim_key_alg(const struct dkim_key *k)
{
	return k->alg;
}

/* ---- DNS record ------------------------------------------------------- */

int dkim_dns_record(const struct dkim_key *k, char *out, size_t outlen)
{
	unsigned char *der = NULL;
	int derlen;
	unsigned char raw[32];
	const char *type;

	if (k->alg == DKIM_ED25519_SHA256) {
		/* RFC 8463 3.3: p= is the bare 32-octet key, not an SPKI */
		size_t rawlen = sizeof(raw);
		if (EVP_PKEY_get_raw_public_key(k->pkey, raw, &rawlen) != 1 || rawlen != sizeof(raw)) {
			ERR_clear_error();
			return -1;
		}
		der = raw;
		derlen = (int)rawlen;
		type = "ed25519";
	} else {
		derlen = i2d_PUBKEY(k->pkey, &der);
		if (derlen <= 0) {
			ERR_clear_error();
			return -1;
		}
		type = "rsa";
	}

	int rc = -1;
	size_t b64len = 4 * (((size_t)derlen + 2) / 3);
	int prefix = snprintf(out, outlen, "v=DKIM1; k=%s; p=", type);
	if (prefix > 0 && (size_t)prefix + b64len < outlen) {
		EVP_EncodeBlock((unsigned char *)out + prefix, der, derlen);
		rc = 0;
	} else if (outlen > 0) {
		out[0] = '\0';
	}
	if (der != raw)
		OPENSSL_free(der);
	return rc;
}

/* ---- signing ---------------------------------------------------------- */

int dkim_key_sign_digest(const struct dkim_key *k, const unsigned char digest[32],
                         unsigned char **sig, size_t *siglen, char *err, size_t errlen)
{
	size_t len = (size_t)EVP_PKEY_get_size(k->pkey);
	unsigned char *buf = xmalloc(len);
	int ok = 0;

	if (k->alg == DKIM_ED25519_SHA256) {
		/* RFC 8463 3: Ed25519 (pure, no prehash) over the SHA-256 digest */
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		ok = ctx != NULL && EVP_DigestSignInit_ex(ctx, NULL, NULL, NULL, NULL, k->pkey, NULL) == 1
		     && EVP_DigestSign(ctx, buf, &len, digest, 32) == 1;
		EVP_MD_CTX_free(ctx);
	} else {
		/* RFC 8017 8.2 RSASSA-PKCS1-v1_5: the same octets as
		 * EVP_DigestSign(sha256) over the data, the hash being done already */
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
		ok = ctx != NULL && EVP_PKEY_sign_init(ctx) == 1
		     && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1
		     && EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1
		     && EVP_PKEY_sign(ctx, buf, &len, digest, 32) == 1;
		EVP_PKEY_CTX_free(ctx);
	}
	if (!ok) {
		tls_openssl_error(err, errlen, "DKIM signing");
		free(buf);
		return -1;
	}
	*sig = buf;
	*siglen = len;
	return 0;
}

int dkim_dns_record_of_file(const char *path, char *out, size_t outlen, char *err,
                            size_t errlen)
{
	struct dkim_key *k = dkim_key_load(path, err, errlen);
	if (k == NULL)
		return -1;
	int rc = dkim_dns_record(k, out, outlen);
	if (rc < 0)
		snprintf(err, errlen, "%s: the DNS record does not fit", path);
	dkim_key_free(k);
	return rc;
}

/* ---- verifying -------------------------------------------------------- */

EVP_PKEY *dkim_pubkey_new(enum dkim_alg alg, const unsigned char *p, size_t len, int *bits,
                          char *err, size_t errlen)
{
	EVP_PKEY *pk = NULL;
	if (alg == DKIM_ED25519_SHA256) {
		if (len == 32)
			pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, p, len);
	} else if (len <= LONG_MAX) {
		const unsigned char *q = p;
		pk = d2i_PUBKEY(NULL, &q, (long)len);
		if (pk != NULL && (q != p + len || !EVP_PKEY_is_a(pk, "RSA"))) {
			EVP_PKEY_free(pk);
			pk = NULL;
		}
		if (pk == NULL) {
			q = p;
			pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &q, (long)len);
			if (pk != NULL && q != p + len) {
				EVP_PKEY_free(pk);
				pk = NULL;
			}
		}
	}
	ERR_clear_error();
	if (pk == NULL) {
		snprintf(err, errlen, "p= is not %s public key",
		         alg == DKIM_ED25519_SHA256 ? "an Ed25519" : "an RSA");
		return NULL;
	}
	*bits = EVP_PKEY_get_bits(pk);
	return pk;
}

#define KEY_CACHE_SIZE 32

struct dkim_key_cache {
	struct {
		enum dkim_alg alg;
		unsigned char *p;
		size_t len;
		EVP_PKEY *pk;
		int bits;
	} e[KEY_CACHE_SIZE];
	size_t next;                    /* the slot replaced next */
};

struct dkim_key_cache *dkim_key_cache_new(void)
{
	return xcalloc(1, sizeof(struct dkim_key_cache));
}

void dkim_key_cache_free(struct dkim_key_cache *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < KEY_CACHE_SIZE; i++) {
		EVP_PKEY_free(c->e[i].pk);
		free(c->e[i].p);
	}
	free(c);
}

EVP_PKEY *dkim_pubkey_get(struct dkim_key_cache *c, enum dkim_alg alg, const unsigned char *p,
                          size_t len, int *bits, char *err, size_t errlen)
{
	if (c == NULL)
		return dkim_pubkey_new(alg, p, len, bits, err, errlen);
	for (size_t i = 0; i < KEY_CACHE_SIZE; i++)
		if (c->e[i].pk != NULL && c->e[i].alg == alg && c->e[i].len == len &&
		    memcmp(c->e[i].p, p, len) == 0 && EVP_PKEY_up_ref(c->e[i].pk) == 1) {
			*bits = c->e[i].bits;
			return c->e[i].pk;
		}
	EVP_PKEY *pk = dkim_pubkey_new(alg, p, len, bits, err, errlen);
	if (pk == NULL || EVP_PKEY_up_ref(pk) != 1)
		return pk;
	size_t i = c->next++ % KEY_CACHE_SIZE;
	EVP_PKEY_free(c->e[i].pk);
	free(c->e[i].p);
	c->e[i].alg = alg;
	c->e[i].p = xmalloc(len ? len : 1);
	memcpy(c->e[i].p, p, len);
	c->e[i].len = len;
	c->e[i].pk = pk;
	c->e[i].bits = *bits;
	return pk;
}

int dkim_pubkey_verify_digest(EVP_PKEY *pk, enum dkim_alg alg, const unsigned char digest[32],
                              const unsigned char *sig, size_t siglen)
{
	int ok = 0;
	if (alg == DKIM_ED25519_SHA256) {
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		ok = ctx != NULL && EVP_DigestVerifyInit_ex(ctx, NULL, NULL, NULL, NULL, pk, NULL) == 1
		     && EVP_DigestVerify(ctx, sig, siglen, digest, 32) == 1;
		EVP_MD_CTX_free(ctx);
	} else {
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
		ok = ctx != NULL && EVP_PKEY_verify_init(ctx) == 1
		     && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1
		     && EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1
		     && EVP_PKEY_verify(ctx, sig, siglen, digest, 32) == 1;
		EVP_PKEY_CTX_free(ctx);
	}
	ERR_clear_error();
	return ok ? 1 : 0;
}
