/* libFuzzer target for src/auth/sasl.c and src/auth/scram.c: everything
 * that reads bytes from an AUTH command.
 *
 * The input goes whole to the base64 decoder, the PLAIN parser, the SCRAM
 * client-first and client-final parsers (the latter on a server that has
 * done the RFC 7677 first step) and the stored-key decoder. When it holds a
 * '\n', the part before is a client-first and the part after a client-final
 * of one exchange. Beyond the sanitizers, it checks properties that hold for
 * any input and abort()s when one does not: decoding is the inverse of
 * encoding, accepted PLAIN fields rebuild the message, accepted SCRAM names
 * obey their limits, accepted keys survive a round trip. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/sasl.h"
#include "auth/scram.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* RFC 7677 3: user "user", password "pencil" */
#define RFC_CLIENT_FIRST "n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
#define RFC_SNONCE       "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
#define RFC_SALT         "W22ZaJ0SNY7soEsUEjb6gQ=="

static struct scram_keys rfc_keys;

static void check(bool ok)
{
	if (!ok)
		abort();
}

static bool is_terminated(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

static void setup_keys(void)
{
	static bool done;
	unsigned char salt[32];
	size_t n;

	if (done)
		return;
	check(sasl_b64_decode(RFC_SALT, strlen(RFC_SALT), salt, sizeof(salt), &n) == 0);
	check(scram_derive("pencil", salt, n, 4096, &rfc_keys) == 0);
	done = true;
}

static void fuzz_b64(const uint8_t *data, size_t size)
{
	unsigned char out[1024];
	char enc[SASL_B64_ENCODED_LEN(1024) + 1];
	size_t n, m;
	size_t cap = size % 7 == 0 ? size / 2 : sizeof(out); /* sometimes too small */

	if (cap > sizeof(out))
		cap = sizeof(out);
	if (sasl_b64_decode((const char *)data, size, out, cap, &n) == 0) {
		/* strict and canonical: what decodes, encodes back to the input */
		check(n <= cap && n == SASL_B64_DECODED_MAX(size) - (size && data[size - 1] == '=') -
		                           (size > 1 && data[size - 2] == '='));
		check(sasl_b64_encode(out, n, enc, sizeof(enc), &m) == 0);
		check(m == size && memcmp(enc, data, size) == 0);
	} else {
		check(n == 0);
	}
	/* and every byte string survives encode + decode */
	size_t len = size < sizeof(out) ? size : sizeof(out);
	check(sasl_b64_encode(data, len, enc, sizeof(enc), &m) == 0);
	check(m == SASL_B64_ENCODED_LEN(len) && strlen(enc) == m);
	check(sasl_b64_decode(enc, m, out, sizeof(out), &n) == 0);
	check(n == len && memcmp(out, data, len) == 0);
	/* a bound one short of the need always fails cleanly */
	if (m > 0)
		check(sasl_b64_encode(data, len, enc, m, &n) == -1 && enc[0] == '\0');
}

static void fuzz_plain(const uint8_t *data, size_t size)
{
	struct sasl_plain p;
	unsigned char again[3 * (SASL_PLAIN_FIELD_MAX + 1)];

	if (sasl_plain_parse(data, size, &p) != 0) {
		check(p.authzid[0] == '\0' && p.authcid[0] == '\0' && p.passwd[0] == '\0');
		return;
	}
	check(is_terminated(p.authzid, sizeof p.authzid));
	check(is_terminated(p.authcid, sizeof p.authcid));
	check(is_terminated(p.passwd, sizeof p.passwd));
	size_t a = strlen(p.authzid), c = strlen(p.authcid), w = strlen(p.passwd);
	check(c > 0 && w > 0);
	check(sasl_utf8_valid((const unsigned char *)p.authcid, c));
	check(sasl_utf8_valid((const unsigned char *)p.passwd, w));
	/* the fields, put back together, are the message */
	check(a + 1 + c + 1 + w == size);
	memcpy(again, p.authzid, a + 1);
	memcpy(again + a + 1, p.authcid, c + 1);
	memcpy(again + a + 1 + c + 1, p.passwd, w);
	check(memcmp(again, data, size) == 0);
	sasl_plain_clear(&p);
}

/* Returns the server after a successful client-first, else NULL. */
static struct scram_server *fuzz_client_first(const char *msg, size_t len)
{
	char user[SCRAM_USER_MAX + 1], az[SCRAM_USER_MAX + 1];
	struct scram_server *s = scram_server_new();

	if (scram_server_client_first(s, msg, len, user, sizeof user, az, sizeof az) != 0) {
		check(user[0] == '\0' && az[0] == '\0');
		scram_server_free(s);
		return NULL;
	}
	check(is_terminated(user, sizeof user) && user[0] != '\0');
	check(sasl_utf8_valid((const unsigned char *)user, strlen(user)));
	/* no acting as someone else */
	check(az[0] == '\0' || strcasecmp(az, user) == 0);
	/* "p=" (channel binding) never gets through */
	check(msg[0] == 'n' || msg[0] == 'y');
	return s;
}

static void fuzz_client_final(struct scram_server *s, const char *msg, size_t len)
{
	char out[SCRAM_SERVER_FINAL_MAX];
	int rc = scram_server_client_final(s, msg, len, out, sizeof out);

	check(rc >= -1 && rc <= 1);
	check(is_terminated(out, sizeof out));
	check(rc == 1 ? strncmp(out, "v=", 2) == 0 && strlen(out) == 46 : out[0] == '\0');
	/* one final message per exchange */
	check(scram_server_client_final(s, msg, len, out, sizeof out) == -1);
}

static void fuzz_scram(const char *msg, size_t len)
{
	char first[SCRAM_SERVER_FIRST_MAX];
	struct scram_server *s;

	/* as a client-first-message */
	s = fuzz_client_first(msg, len);
	if (s != NULL) {
		struct scram_keys fake;
		static const unsigned char secret[32] = "fuzz secret";
		scram_fake_keys("user", secret, &fake);
		check(scram_server_first(s, &fake, first, sizeof first) == 0);
		check(strncmp(first, "r=", 2) == 0);
		scram_server_free(s);
	}

	/* as a client-final-message after the RFC 7677 first step */
	s = fuzz_client_first(RFC_CLIENT_FIRST, strlen(RFC_CLIENT_FIRST));
	check(s != NULL);
	scram_server_set_nonce(s, RFC_SNONCE);
	check(scram_server_first(s, &rfc_keys, first, sizeof first) == 0);
	fuzz_client_final(s, msg, len);
	scram_server_free(s);

	/* one exchange: client-first '\n' client-final */
	const char *nl = memchr(msg, '\n', len);
	if (nl == NULL)
		return;
	s = fuzz_client_first(msg, (size_t)(nl - msg));
	if (s == NULL)
		return;
	scram_server_set_nonce(s, RFC_SNONCE);
	check(scram_server_first(s, &rfc_keys, first, sizeof first) == 0);
	fuzz_client_final(s, nl + 1, len - (size_t)(nl - msg) - 1);
	scram_server_free(s);
}

static void fuzz_keys_decode(const char *str)
{
	struct scram_keys k, again;
	char enc[SCRAM_KEYS_ENCODED_MAX];

	if (scram_keys_decode(str, &k) != 0) {
		check(k.saltlen == 0 && k.iterations == 0);
		return;
	}
	check(k.saltlen >= SCRAM_SALT_MIN && k.saltlen <= SCRAM_SALT_MAX);
	check(k.iterations >= SCRAM_ITERATIONS_MIN && k.iterations <= SCRAM_ITERATIONS_MAX);
	check(scram_keys_encode(&k, enc, sizeof enc) == 0);
	check(scram_keys_decode(enc, &again) == 0);
	check(again.saltlen == k.saltlen && again.iterations == k.iterations);
	check(memcmp(again.salt, k.salt, k.saltlen) == 0);
	check(memcmp(again.stored_key, k.stored_key, sizeof k.stored_key) == 0);
	check(memcmp(again.server_key, k.server_key, sizeof k.server_key) == 0);
	/* the RFC 5803 form is canonical: it reads back as itself */
	if (strncmp(str, "SCRAM-SHA-256$", 14) == 0)
		check(strcmp(enc, str) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1);

	if (copy == NULL)
		return 0;
	setup_keys();
	memcpy(copy, data, size);
	copy[size] = '\0';
	fuzz_b64(data, size);
	fuzz_plain(data, size);
	fuzz_scram(copy, size);
	/* stored keys are C strings: up to the first NUL */
	fuzz_keys_decode(copy);
	free(copy);
	return 0;
}
