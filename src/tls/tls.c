#include "tls/tls.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "core/config.h"
#include "core/ipaddr.h"
#include "core/log.h"
#include "core/util.h"

/* TLS 1.2: forward secrecy and AEAD only. TLS 1.3 suites are all AEAD. */
#define TLS12_CIPHERS "ECDHE+AESGCM:ECDHE+CHACHA20"
#define TLS_GROUPS "X25519:P-256:P-384"
#define SELFSIGNED_DAYS 825

static pthread_mutex_t ctx_lock = PTHREAD_MUTEX_INITIALIZER;
static SSL_CTX *current_ctx;

void tls_openssl_error(char *err, size_t errlen, const char *what)
{
	char detail[256] = "";
	unsigned long e = ERR_get_error();
	if (e != 0)
		ERR_error_string_n(e, detail, sizeof(detail));
	ERR_clear_error();
	snprintf(err, errlen, "%s%s%s", what, *detail ? ": " : "", detail);
}

/* ---- self-signed certificate ------------------------------------------ */

/* Listeners on loopback (or on a wildcard address, which loopback reaches)
 * mean local clients that connect to 127.0.0.1 or ::1: the certificate names
 * those addresses too, so such a client can verify it once it trusts it. */
static bool serves_loopback(const struct config *cfg)
{
	for (int id = 0; id < SVC_COUNT; id++) {
		const struct listen_list *l = config_listen(cfg, (enum service_id)id);
		for (size_t i = 0; i < l->n; i++) {
			enum ip_scope sc = ip_scope_of(l->addrs[i].host);
			if (sc == IP_SCOPE_LOOPBACK || sc == IP_SCOPE_UNSPECIFIED)
				return true;
		}
	}
	return false;
}

static int add_san(X509 *x, const char *hostname, bool loopback)
{
	char san[400];
	X509V3_CTX v3;
	bool localhost = loopback && strcasecmp(hostname, "localhost") != 0;
	if (bsnprintf(san, sizeof(san), "DNS:%s%s%s", hostname, localhost ? ",DNS:localhost" : "",
	              loopback ? ",IP:127.0.0.1,IP:::1" : "") < 0)
		return -1;
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
	if (ext == NULL)
		return -1;
	int ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

static X509 *make_certificate(EVP_PKEY *key, const char *hostname, bool loopback)
{
	X509 *x = X509_new();
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	if (x == NULL)
		return NULL;
	random_bytes(serial, sizeof(serial));
	serial[0] &= 0x7f; /* positive */
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	X509_NAME *name = X509_get_subject_name(x);
	if (bn == NULL || !X509_set_version(x, 2) || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 86400L * SELFSIGNED_DAYS) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)hostname,
	                                -1, -1, 0) ||
	    !X509_set_issuer_name(x, name) || !X509_set_pubkey(x, key) ||
	    add_san(x, hostname, loopback) < 0 || !X509_sign(x, key, EVP_sha256())) {
		X509_free(x);
		x = NULL;
	}
	BN_free(bn);
	return x;
}

static int write_private_key(EVP_PKEY *key, const char *path)
{
	/* created 0600 from the start: the key is never readable by others */
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	fchmod(fd, 0600);
	FILE *f = fdopen(fd, "w");
	if (f == NULL) {
		close(fd);
		return -1;
	}
	int ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	ok = (fflush(f) == 0 && fsync(fileno(f)) == 0) && ok;
	fclose(f);
	return ok ? 0 : -1;
}

static int write_certificate(X509 *x, const char *path)
{
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return -1;
	int ok = PEM_write_X509(f, x);
	ok = fclose(f) == 0 && ok;
	return ok ? 0 : -1;
}

int tls_generate_selfsigned(const char *hostname, bool loopback, const char *cert_path,
                            const char *key_path, char *err, size_t errlen)
{
	int rc = -1;
	X509 *x = NULL;
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (key == NULL) {
		tls_openssl_error(err, errlen, "key generation failed");
		return -1;
	}
	x = make_certificate(key, hostname, loopback);
	if (x == NULL)
		tls_openssl_error(err, errlen, "certificate creation failed");
	else if (write_private_key(key, key_path) < 0)
		snprintf(err, errlen, "%s: cannot write key: %m", key_path);
	else if (write_certificate(x, cert_path) < 0)
		snprintf(err, errlen, "%s: cannot write certificate: %m", cert_path);
	else
		rc = 0;
	X509_free(x);
	EVP_PKEY_free(key);
	return rc;
}

/* True when x names everything a certificate made now would: the hostname,
 * and with loopback also localhost, 127.0.0.1 and ::1. */
static bool names_suffice(X509 *x, const char *hostname, bool loopback)
{
	if (X509_check_host(x, hostname, 0, 0, NULL) != 1)
		return false;
	return !loopback || (X509_check_host(x, "localhost", 0, 0, NULL) == 1 &&
	                     X509_check_ip_asc(x, "127.0.0.1", 0) == 1 &&
	                     X509_check_ip_asc(x, "::1", 0) == 1);
}

/* True when the existing self-signed certificate names what the configuration
 * needs (a certificate from before a new listener or hostname is made anew)
 * and is valid for a week more. */
static int selfsigned_usable(const char *cert_path, const char *hostname, bool loopback)
{
	FILE *f = fopen(cert_path, "r");
	if (f == NULL)
		return 0;
	X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL)
		return 0;
	time_t week = time(NULL) + 7 * 86400;
	int ok = names_suffice(x, hostname, loopback) && X509_cmp_time(X509_get0_notAfter(x), &week) > 0;
	X509_free(x);
	return ok;
}

static int ensure_selfsigned(const struct config *cfg, char *cert, char *key, size_t len,
                             char *err, size_t errlen)
{
	char dir[4096];
	if (bsnprintf(dir, sizeof(dir), "%s/tls", cfg->data_dir) < 0 ||
	    bsnprintf(cert, len, "%s/selfsigned-cert.pem", dir) < 0 ||
	    bsnprintf(key, len, "%s/selfsigned-key.pem", dir) < 0) {
		snprintf(err, errlen, "%s: path too long", cfg->data_dir);
		return -1;
	}
	if (mkdir_p(dir, 0700) < 0) {
		snprintf(err, errlen, "%s: %m", dir);
		return -1;
	}
	bool loopback = serves_loopback(cfg);
	if (!selfsigned_usable(cert, cfg->hostname, loopback)) {
		if (tls_generate_selfsigned(cfg->hostname, loopback, cert, key, err, errlen) < 0)
			return -1;
		log_event(LOG_WARN, "tls.selfsigned", "s", "hostname", cfg->hostname, "s", "cert", cert,
		          "s", "msg", "no tls.cert configured: generated a self-signed certificate; "
		          "clients will not verify it", NULL);
	} else {
		log_event(LOG_WARN, "tls.selfsigned", "s", "hostname", cfg->hostname, "s", "cert", cert,
		          "s", "msg", "no tls.cert configured: using the self-signed certificate", NULL);
	}
	return 0;
}

/* ---- context ------------------------------------------------------------ */

/* A server context on the certificate chain and key in these files. */
static SSL_CTX *ctx_from_files(const struct config *cfg, const char *cert, const char *key,
                               char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		tls_openssl_error(err, errlen, "SSL_CTX_new");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, cfg->tls.min_version);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
	                    SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* idle TLS connections should not pin 2 x 16 KiB of buffers each */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (!SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) || !SSL_CTX_set1_groups_list(ctx, TLS_GROUPS)) {
		tls_openssl_error(err, errlen, "cipher configuration");
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		tls_openssl_error(err, errlen, cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		tls_openssl_error(err, errlen, key);
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

static SSL_CTX *build_ctx(const struct config *cfg, char *err, size_t errlen)
{
	char cert[4096], key[4096];
	if (cfg->tls.cert != NULL) {
		snprintf(cert, sizeof(cert), "%s", cfg->tls.cert);
		snprintf(key, sizeof(key), "%s", cfg->tls.key);
	} else if (ensure_selfsigned(cfg, cert, key, sizeof(cert), err, errlen) < 0) {
		return NULL;
	}
	return ctx_from_files(cfg, cert, key, err, errlen);
}

int tls_check_files(const struct config *cfg, char *err, size_t errlen)
{
	if (cfg->tls.cert == NULL)
		return 0;   /* serve makes a self-signed certificate: nothing to check yet */
	SSL_CTX *ctx = ctx_from_files(cfg, cfg->tls.cert, cfg->tls.key, err, errlen);
	SSL_CTX_free(ctx);
	return ctx != NULL ? 0 : -1;
}

static void swap_ctx(SSL_CTX *ctx)
{
	pthread_mutex_lock(&ctx_lock);
	SSL_CTX *old = current_ctx;
	current_ctx = ctx;
	pthread_mutex_unlock(&ctx_lock);
	SSL_CTX_free(old); /* open connections hold their own references */
}

int tls_init(const struct config *cfg, char *err, size_t errlen)
{
	SSL_CTX *ctx = build_ctx(cfg, err, errlen);
	if (ctx == NULL)
		return -1;
	swap_ctx(ctx);
	return 0;
}

int tls_reload(const struct config *cfg, char *err, size_t errlen)
{
	return tls_init(cfg, err, errlen);
}

void tls_cleanup(void)
{
	swap_ctx(NULL);
}

SSL *tls_ssl_new(void)
{
	pthread_mutex_lock(&ctx_lock);
	SSL *ssl = current_ctx ? SSL_new(current_ctx) : NULL;
	pthread_mutex_unlock(&ctx_lock);
	return ssl;
}

const char *tls_version_name(const SSL *ssl)
{
	return SSL_get_version(ssl);
}

void tls_describe(const SSL *ssl, char *out, size_t outlen)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
	int alg = 0, bits = c ? SSL_CIPHER_get_bits(c, &alg) : 0;
	snprintf(out, outlen, "%s with cipher %s (%d/%d bits)", SSL_get_version(ssl),
	         c ? SSL_CIPHER_get_name(c) : "none", bits, alg);
}
