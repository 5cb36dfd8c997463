/* Server-side TLS: one SSL_CTX for the whole process, swapped atomically on
 * SIGHUP so that new connections get the new certificate while open ones
 * keep theirs. */
#ifndef POSTERN_TLS_H
#define POSTERN_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

struct config;

/* Builds the context from cfg (generating a self-signed certificate under
 * <data_dir>/tls when none is configured). 0 or -1 with err. */
/* Loads tls.cert and tls.key as serve would (readable, PEM, the key matches
 * the certificate) and discards them: for `config check`. 0 when they load or
 * none are configured, else -1 with err. */
int tls_check_files(const struct config *cfg, char *err, size_t errlen);
int tls_init(const struct config *cfg, char *err, size_t errlen);
/* Builds a new context and swaps it in; on failure the old one stays. */
int tls_reload(const struct config *cfg, char *err, size_t errlen);
void tls_cleanup(void);
/* "what: <first queued OpenSSL error>" into err, and the error queue cleared. */
void tls_openssl_error(char *err, size_t errlen, const char *what);
/* A new server SSL from the current context, or NULL. */
SSL *tls_ssl_new(void);
/* "TLSv1.3 TLS_AES_256_GCM_SHA384 (256 bits)" for logs and Received: */
void tls_describe(const SSL *ssl, char *out, size_t outlen);
/* Just the protocol name, e.g. "TLSv1.3". */
const char *tls_version_name(const SSL *ssl);

/* Generates a self-signed EC P-256 certificate for hostname into the two
 * files (key written 0600); with loopback it also names localhost, 127.0.0.1
 * and ::1 (for clients of listeners on loopback). Exposed for tests and
 * `postern` tooling. */
int tls_generate_selfsigned(const char *hostname, bool loopback, const char *cert_path,
                            const char *key_path, char *err, size_t errlen);

#endif
