/* Asynchronous SMTP client for outbound delivery (RFC 5321, RFC 3207 STARTTLS,
 * RFC 2920 PIPELINING, RFC 1870 SIZE, RFC 6152 8BITMIME, RFC 6531 SMTPUTF8).
 * One client = one connection attempt to one address; the caller decides
 * what to try next from the result. */
#ifndef POSTERN_SMTP_CLIENT_H
#define POSTERN_SMTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "core/config.h"

struct event_base;
struct smtp_client;

enum client_outcome {
	CLIENT_DONE = 0,            /* a transaction happened: look at the per-recipient codes */
	CLIENT_CONNECT_FAILED,      /* no connection, or no greeting: try the next address */
	CLIENT_PROTOCOL_FAILED,     /* greeting/EHLO refused, connection lost, timeout */
	CLIENT_TLS_FAILED,          /* handshake failed, or the certificate did not verify */
	CLIENT_TLS_UNAVAILABLE,     /* STARTTLS not offered but the policy requires it */
};

struct client_reply {
	int code;                   /* 0 = no reply received */
	char enh[16];               /* enhanced status code, "" if none */
	char text[256];
};

struct smtp_client_result {
	enum client_outcome outcome;
	struct client_reply session;   /* the reply that ended the session early (greeting,
	                                  EHLO, MAIL, DATA), or the final DATA reply */
	struct client_reply *rcpt;     /* one per recipient (code 0 = not reached) */
	bool data_ok;                  /* the final reply after the dot was 2xx */
	bool tls;                      /* the transaction ran over TLS */
	bool tls_verified;
	char tls_desc[160];
	char error[256];               /* local description of a failure */
};

struct smtp_client_params {
	struct event_base *base;
	SSL_CTX *ssl_ctx;
	struct sockaddr_storage addr;   /* with the port set */
	socklen_t addrlen;
	const char *mx_name;            /* for SNI and certificate verification */
	const char *helo;
	const char *source_ip;          /* NULL: any */
	enum out_tls_policy policy;
	bool try_tls;                   /* false: plain text even when STARTTLS is offered */
	const char *sender;
	const char *const *rcpts;
	size_t nrcpts;
	const char *path;               /* the queued message file (LF line ends) */
	uint64_t size;
	bool smtputf8;
	uint64_t timeout_ms;
};

typedef void (*smtp_client_done_fn)(void *arg, const struct smtp_client_result *res);

/* Starts the attempt; cb is called exactly once (never from inside this call).
 * Returns NULL only when nothing could be set up (then cb is not called). */
struct smtp_client *smtp_client_start(const struct smtp_client_params *p, smtp_client_done_fn cb,
                                      void *arg);
/* Stops an attempt whose result is no longer wanted; cb is not called. */
void smtp_client_abort(struct smtp_client *c);
/* Frees the clients of this thread that reported already and wait for the
 * QUIT reply or their last bytes (at shutdown, when the loop is gone). */
void smtp_client_free_lingering(void);

/* Parses one reply line "250-text" / "250 text" into code, continuation flag,
 * enhanced code and text. -1 when malformed. Exposed for tests. */
int smtp_client_parse_line(const char *line, int *code, bool *more, char *enh, size_t enhlen,
                           const char **text);

/* Client-side TLS context: TLS 1.2+, system CA store plus an optional bundle. */
SSL_CTX *smtp_client_ssl_ctx(const char *ca_file, char *err, size_t errlen);

#endif
