/* SCRAM-SHA-256 server: the RFC 7677 example, a client written here with
 * OpenSSL for the other exchanges, and every refusal the parser owes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth/sasl.h"
#include "auth/scram.h"

/* RFC 7677 3 */
#define RFC_CNONCE "rOprNGfwEbeRWgbNEkqO"
#define RFC_SNONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
#define RFC_SALT   "W22ZaJ0SNY7soEsUEjb6gQ=="
#define RFC_CLIENT_BARE "n=user,r=" RFC_CNONCE
#define RFC_CLIENT_FIRST "n,," RFC_CLIENT_BARE
#define RFC_SERVER_FIRST "r=" RFC_CNONCE RFC_SNONCE ",s=" RFC_SALT ",i=4096"
#define RFC_FINAL_NO_PROOF "c=biws,r=" RFC_CNONCE RFC_SNONCE
#define RFC_PROOF "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define RFC_SERVER_FINAL "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

static const unsigned char secret_a[32] = "0123456789abcdef0123456789abcde";
static const unsigned char secret_b[32] = "fedcba9876543210fedcba987654321";

static void rfc_keys(struct scram_keys *k)
{
	unsigned char salt[32];
	size_t n;
	assert_int_equal(sasl_b64_decode(RFC_SALT, strlen(RFC_SALT), salt, sizeof(salt), &n), 0);
	assert_int_equal(scram_derive("pencil", salt, n, 4096, k), 0);
}

static int client_first(struct scram_server *s, const char *msg)
{
	char user[SCRAM_USER_MAX + 1], az[SCRAM_USER_MAX + 1];
	return scram_server_client_first(s, msg, strlen(msg), user, sizeof(user), az, sizeof(az));
}

static int client_final(struct scram_server *s, const char *msg, char *out)
{
	return scram_server_client_final(s, msg, strlen(msg), out, SCRAM_SERVER_FINAL_MAX);
}

/* A server that has seen the RFC's client-first and sent its server-first. */
static struct scram_server *rfc_server(void)
{
	struct scram_keys k;
	char out[SCRAM_SERVER_FIRST_MAX];
	struct scram_server *s = scram_server_new();
	rfc_keys(&k);
	assert_int_equal(client_first(s, RFC_CLIENT_FIRST), 0);
	scram_server_set_nonce(s, RFC_SNONCE);
	assert_int_equal(scram_server_first(s, &k, out, sizeof(out)), 0);
	assert_string_equal(out, RFC_SERVER_FIRST);
	return s;
}

/* The client side (RFC 5802 3), independent of scram.c: the proof for
 * AuthMessage = bare "," server_first "," final_no_proof, as base64. */
static void client_proof(const char *password, const char *server_first, const char *bare,
                         const char *final_no_proof, char *proof_b64, size_t cap)
{
	char auth[4096];
	unsigned char salt[64], salted[32], ckey[32], stored[32], sig[32], proof[32];
	unsigned int len;
	size_t saltlen;
	int iter;

	const char *s = strstr(server_first, ",s=");
	const char *i = strstr(server_first, ",i=");
	assert_non_null(s);
	assert_non_null(i);
	assert_int_equal(sasl_b64_decode(s + 3, (size_t)(i - s - 3), salt, sizeof(salt), &saltlen), 0);
	iter = atoi(i + 3);
	assert_int_equal(PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)saltlen, iter,
	                                   EVP_sha256(), 32, salted), 1);
	assert_non_null(HMAC(EVP_sha256(), salted, 32, (const unsigned char *)"Client Key", 10, ckey,
	                     &len));
	assert_int_equal(EVP_Digest(ckey, 32, stored, &len, EVP_sha256(), NULL), 1);
	int n = snprintf(auth, sizeof(auth), "%s,%s,%s", bare, server_first, final_no_proof);
	assert_true(n > 0 && (size_t)n < sizeof(auth));
	assert_non_null(HMAC(EVP_sha256(), stored, 32, (unsigned char *)auth, (size_t)n, sig, &len));
	for (size_t j = 0; j < 32; j++)
		proof[j] = ckey[j] ^ sig[j];
	assert_int_equal(sasl_b64_encode(proof, 32, proof_b64, cap, NULL), 0);
}

/* Runs a whole exchange with keys k; returns client_final's result. */
static int exchange(const struct scram_keys *k, const char *password, const char *gs2,
                    const char *bare, char *server_final)
{
	char first[1024], sfirst[SCRAM_SERVER_FIRST_MAX], cbind[64], nonce[512], final[2048];
	char proof[64];
	char user[SCRAM_USER_MAX + 1], az[SCRAM_USER_MAX + 1];
	struct scram_server *s = scram_server_new();

	snprintf(first, sizeof(first), "%s%s", gs2, bare);
	assert_int_equal(scram_server_client_first(s, first, strlen(first), user, sizeof(user), az,
	                                           sizeof(az)), 0);
	assert_int_equal(scram_server_first(s, k, sfirst, sizeof(sfirst)), 0);
	const char *r = sfirst + 2;
	size_t rlen = (size_t)(strchr(sfirst, ',') - r);
	memcpy(nonce, r, rlen);
	nonce[rlen] = '\0';
	assert_int_equal(sasl_b64_encode((const unsigned char *)gs2, strlen(gs2), cbind,
	                                 sizeof(cbind), NULL), 0);
	snprintf(final, sizeof(final), "c=%s,r=%s", cbind, nonce);
	client_proof(password, sfirst, bare, final, proof, sizeof(proof));
	size_t n = strlen(final);
	snprintf(final + n, sizeof(final) - n, ",p=%s", proof);
	int rc = scram_server_client_final(s, final, strlen(final), server_final,
	                                   SCRAM_SERVER_FINAL_MAX);
	scram_server_free(s);
	return rc;
}

static void test_rfc7677_example(void **state)
{
	(void)state;
	char out[SCRAM_SERVER_FINAL_MAX], proof[64];
	struct scram_server *s = rfc_server();

	/* the test's own client agrees with the RFC */
	client_proof("pencil", RFC_SERVER_FIRST, RFC_CLIENT_BARE, RFC_FINAL_NO_PROOF, proof,
	             sizeof(proof));
	assert_string_equal(proof, RFC_PROOF);

	assert_int_equal(client_final(s, RFC_FINAL_NO_PROOF ",p=" RFC_PROOF, out), 1);
	assert_string_equal(out, RFC_SERVER_FINAL);
	/* the exchange is over */
	assert_int_equal(client_final(s, RFC_FINAL_NO_PROOF ",p=" RFC_PROOF, out), -1);
	assert_int_equal(client_first(s, RFC_CLIENT_FIRST), -1);
	scram_server_free(s);
}

static void test_wrong_proof(void **state)
{
	(void)state;
	char out[SCRAM_SERVER_FINAL_MAX];
	char proof[] = RFC_PROOF;
	struct scram_server *s = rfc_server();
	proof[0] = 'e'; /* one bit of the first byte */
	char msg[256];
	snprintf(msg, sizeof(msg), "%s,p=%s", RFC_FINAL_NO_PROOF, proof);
	assert_int_equal(client_final(s, msg, out), 0);
	assert_string_equal(out, "");
	scram_server_free(s);

	/* wrong password through the real client */
	struct scram_keys k;
	rfc_keys(&k);
	assert_int_equal(exchange(&k, "pencil", "n,,", "n=user,r=abc", out), 1);
	assert_int_equal(exchange(&k, "pencjl", "n,,", "n=user,r=abc", out), 0);
	assert_int_equal(exchange(&k, "", "n,,", "n=user,r=abc", out), 0);
}

static void test_tampered_final(void **state)
{
	(void)state;
	static const char *const bad[] = {
		/* nonce: the client's only, changed, longer, shorter */
		"c=biws,r=" RFC_CNONCE ",p=" RFC_PROOF,
		"c=biws,r=" RFC_CNONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k1,p=" RFC_PROOF,
		"c=biws,r=" RFC_CNONCE RFC_SNONCE "x,p=" RFC_PROOF,
		"c=biws,r=" RFC_CNONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k,p=" RFC_PROOF,
		/* c= other than base64("n,,"): "y,,", "p=tls-unique,,", "n,a=user," */
		"c=eSws,r=" RFC_CNONCE RFC_SNONCE ",p=" RFC_PROOF,
		"c=cD10bHMtdW5pcXVlLCw=,r=" RFC_CNONCE RFC_SNONCE ",p=" RFC_PROOF,
		"c=bixhPXVzZXIs,r=" RFC_CNONCE RFC_SNONCE ",p=" RFC_PROOF,
		"c=biw=,r=" RFC_CNONCE RFC_SNONCE ",p=" RFC_PROOF, /* "n," */
		"c=biws" "biws,r=" RFC_CNONCE RFC_SNONCE ",p=" RFC_PROOF,
		"c=biws=,r=" RFC_CNONCE RFC_SNONCE ",p=" RFC_PROOF,
		/* order and presence of attributes */
		"r=" RFC_CNONCE RFC_SNONCE ",c=biws,p=" RFC_PROOF,
		"c=biws,r=" RFC_CNONCE RFC_SNONCE,
		"c=biws,r=" RFC_CNONCE RFC_SNONCE ",p=",
		"c=biws,r=" RFC_CNONCE RFC_SNONCE ",p=" RFC_PROOF ",x=later",
		"c=biws,p=" RFC_PROOF,
		"c=biws,r=" RFC_CNONCE RFC_SNONCE ",,p=" RFC_PROOF,
		"c=biws,r=" RFC_CNONCE RFC_SNONCE ",1=x,p=" RFC_PROOF,
		"c=biws,r=" RFC_CNONCE RFC_SNONCE ",x=,p=" RFC_PROOF,
		/* proof: truncated, too long, not base64 */
		"c=biws,r=" RFC_CNONCE RFC_SNONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndQ==",
		"c=biws,r=" RFC_CNONCE RFC_SNONCE ",p=" RFC_PROOF "AAAA",
		"c=biws,r=" RFC_CNONCE RFC_SNONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ",
		"c=biws,r=" RFC_CNONCE RFC_SNONCE ",p=" RFC_PROOF " ",
		"",
		"c=",
	};
	char out[SCRAM_SERVER_FINAL_MAX];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct scram_server *s = rfc_server();
		int rc = client_final(s, bad[i], out);
		if (rc != -1)
			fail_msg("accepted as %d: %s", rc, bad[i]);
		assert_string_equal(out, "");
		scram_server_free(s);
	}
	/* a NUL inside the message */
	struct scram_server *s = rfc_server();
	const char withnul[] = RFC_FINAL_NO_PROOF ",p=" RFC_PROOF;
	char copy[sizeof(withnul) + 1];
	memcpy(copy, withnul, sizeof(withnul));
	copy[sizeof(withnul) - 1] = '\0';
	copy[sizeof(withnul)] = 'x';
	assert_int_equal(scram_server_client_final(s, copy, sizeof(copy), out, sizeof(out)), -1);
	scram_server_free(s);
	/* an output buffer too small for the server signature */
	s = rfc_server();
	assert_int_equal(scram_server_client_final(s, RFC_FINAL_NO_PROOF ",p=" RFC_PROOF,
	                                           strlen(RFC_FINAL_NO_PROOF ",p=" RFC_PROOF), out,
	                                           10), -1);
	scram_server_free(s);
}

static void test_final_extensions(void **state)
{
	(void)state;
	struct scram_keys k;
	char out[SCRAM_SERVER_FINAL_MAX];
	rfc_keys(&k);
	/* extensions in client-first are ignored but part of AuthMessage */
	assert_int_equal(exchange(&k, "pencil", "n,,", "n=user,r=abc,x=whatever,Z=\xc3\xa9", out), 1);
	assert_int_equal(strncmp(out, "v=", 2), 0);

	/* and in client-final, before the proof, likewise */
	char proof[64], msg[512];
	const char *no_proof = RFC_FINAL_NO_PROOF ",x=ext=with=equals,y=\xc3\xa9";
	client_proof("pencil", RFC_SERVER_FIRST, RFC_CLIENT_BARE, no_proof, proof,
	             sizeof(proof));
	snprintf(msg, sizeof(msg), "%s,p=%s", no_proof, proof);
	struct scram_server *s = rfc_server();
	assert_int_equal(client_final(s, msg, out), 1);
	scram_server_free(s);
	/* the RFC's proof no longer fits once an extension is added */
	s = rfc_server();
	assert_int_equal(client_final(s, RFC_FINAL_NO_PROOF ",x=1,p=" RFC_PROOF, out), 0);
	scram_server_free(s);
}

static void test_client_first_refusals(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"p=tls-unique,,n=user,r=abc",    /* channel binding: not offered */
		"p=tls-server-end-point,,n=user,r=abc",
		"n,,m=ext,n=user,r=abc",         /* mandatory extension */
		"N,,n=user,r=abc",
		"x,,n=user,r=abc",
		"n,n=user,r=abc",                /* gs2 header needs two commas */
		",,n=user,r=abc",
		"n,,r=abc,n=user",               /* order */
		"n,,n=user",
		"n,,n=user,",
		"n,,n=user,r=",                  /* empty nonce */
		"n,,n=,r=abc",                   /* empty user */
		"n,,n=user,r=a b",               /* nonce must be printable */
		"n,,n=user,r=ab\x7f",
		"n,,n=user,r=\xc3\xa9",
		"n,,n=user,r=abc,",              /* empty extension */
		"n,,n=user,r=abc,x",
		"n,,n=user,r=abc,x=",
		"n,,n=user,r=abc,1=x",
		"n,,n=us=41er,r=abc",            /* only =2C and =3D */
		"n,,n=user=,r=abc",
		"n,,n=user=2,r=abc",
		"n,,n=us=,r=abc",
		"n,,n=\xc3\xa9\xff,r=abc",       /* not UTF-8 */
		"n,,n=\xc0\xaf,r=abc",
		"n,a=,n=user,r=abc",             /* empty authzid */
		"n,a=admin,n=user,r=abc",        /* acting as someone else */
		"n,a=usera,n=user,r=abc",
		"n,a=use,n=user,r=abc",
		"n,a=user,r=abc",
		"n,b=user,n=user,r=abc",
		"n",
		"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct scram_server *s = scram_server_new();
		if (client_first(s, bad[i]) != -1)
			fail_msg("accepted: %s", bad[i]);
		/* and the exchange cannot go on */
		struct scram_keys k;
		char out[SCRAM_SERVER_FIRST_MAX];
		rfc_keys(&k);
		assert_int_equal(scram_server_first(s, &k, out, sizeof(out)), -1);
		scram_server_free(s);
	}
}

static void test_client_first_bounds(void **state)
{
	(void)state;
	char msg[SCRAM_MSG_MAX + 64], user[SCRAM_USER_MAX + 1], az[SCRAM_USER_MAX + 1];
	char name[SCRAM_USER_MAX + 2], nonce[SCRAM_NONCE_MAX + 2];
	struct scram_server *s;

	memset(name, 'u', sizeof(name));
	memset(nonce, 'r', sizeof(nonce));
	/* 255-octet user and 128-character nonce are fine, one more is not */
	snprintf(msg, sizeof(msg), "n,,n=%.255s,r=%.128s", name, nonce);
	s = scram_server_new();
	assert_int_equal(client_first(s, msg), 0);
	scram_server_free(s);
	snprintf(msg, sizeof(msg), "n,,n=%.256s,r=%.128s", name, nonce);
	s = scram_server_new();
	assert_int_equal(client_first(s, msg), -1);
	scram_server_free(s);
	snprintf(msg, sizeof(msg), "n,,n=%.255s,r=%.129s", name, nonce);
	s = scram_server_new();
	assert_int_equal(client_first(s, msg), -1);
	scram_server_free(s);
	/* escapes count once decoded: 85 x "=2C" is 85 octets */
	char esc[3 * 85 + 1] = "";
	for (int i = 0; i < 85; i++)
		strcat(esc, "=2C");
	snprintf(msg, sizeof(msg), "n,,n=%s,r=abc", esc);
	s = scram_server_new();
	assert_int_equal(client_first(s, msg), 0);
	scram_server_free(s);
	/* the user buffer given by the caller is respected */
	s = scram_server_new();
	assert_int_equal(scram_server_client_first(s, "n,,n=user,r=abc", 15, user, 4, az,
	                                           sizeof(az)), -1);
	scram_server_free(s);
	s = scram_server_new();
	assert_int_equal(scram_server_client_first(s, "n,,n=user,r=abc", 15, user, 5, az, 1), 0);
	assert_string_equal(user, "user");
	scram_server_free(s);
	s = scram_server_new();
	assert_int_equal(scram_server_client_first(s, "n,a=user,n=user,r=abc", 21, user,
	                                           sizeof(user), az, 4), -1);
	scram_server_free(s);
	/* the whole message is bounded */
	memset(msg, 'x', sizeof(msg));
	memcpy(msg, "n,,n=user,r=abc,x=", 18);
	msg[SCRAM_MSG_MAX] = '\0';
	s = scram_server_new();
	assert_int_equal(client_first(s, msg), 0);
	scram_server_free(s);
	msg[SCRAM_MSG_MAX] = 'x';
	msg[SCRAM_MSG_MAX + 1] = '\0';
	s = scram_server_new();
	assert_int_equal(client_first(s, msg), -1);
	scram_server_free(s);
}

static void test_saslname_escapes(void **state)
{
	(void)state;
	char user[SCRAM_USER_MAX + 1], az[SCRAM_USER_MAX + 1];
	struct scram_server *s = scram_server_new();
	const char *m = "y,,n=a=2Cb=3Dc=2c=3d\xc3\xa9,r=abc";
	assert_int_equal(scram_server_client_first(s, m, strlen(m), user, sizeof(user), az,
	                                           sizeof(az)), 0);
	assert_string_equal(user, "a,b=c,=\xc3\xa9");
	assert_string_equal(az, "");
	scram_server_free(s);

	/* the authzid is decoded the same way and compared decoded */
	s = scram_server_new();
	m = "n,a=a=2Cb,n=a=2cb,r=abc";
	assert_int_equal(scram_server_client_first(s, m, strlen(m), user, sizeof(user), az,
	                                           sizeof(az)), 0);
	assert_string_equal(user, "a,b");
	assert_string_equal(az, "a,b");
	scram_server_free(s);
	/* names are case-insensitive: the caller sees both spellings */
	s = scram_server_new();
	m = "n,a=User,n=user,r=abc";
	assert_int_equal(scram_server_client_first(s, m, strlen(m), user, sizeof(user), az,
	                                           sizeof(az)), 0);
	assert_string_equal(user, "user");
	assert_string_equal(az, "User");
	scram_server_free(s);

	/* and the whole exchange works with an authzid: c= carries it */
	struct scram_keys k;
	char out[SCRAM_SERVER_FINAL_MAX];
	rfc_keys(&k);
	assert_int_equal(exchange(&k, "pencil", "n,a=user,", "n=user,r=xyz", out), 1);
	assert_int_equal(exchange(&k, "pencil", "y,,", "n=user,r=xyz", out), 1);
}

static void test_state_machine(void **state)
{
	(void)state;
	struct scram_keys k;
	char out[SCRAM_SERVER_FIRST_MAX];
	rfc_keys(&k);

	struct scram_server *s = scram_server_new();
	assert_int_equal(scram_server_first(s, &k, out, sizeof(out)), -1);
	scram_server_free(s);

	s = scram_server_new();
	assert_int_equal(client_final(s, RFC_FINAL_NO_PROOF ",p=" RFC_PROOF, out), -1);
	scram_server_free(s);

	s = scram_server_new();
	assert_int_equal(client_first(s, RFC_CLIENT_FIRST), 0);
	assert_int_equal(client_first(s, RFC_CLIENT_FIRST), -1);
	scram_server_free(s);

	/* server-first that does not fit fails and ends the exchange */
	s = scram_server_new();
	assert_int_equal(client_first(s, RFC_CLIENT_FIRST), 0);
	assert_int_equal(scram_server_first(s, &k, out, 20), -1);
	assert_int_equal(client_final(s, RFC_FINAL_NO_PROOF ",p=" RFC_PROOF, out), -1);
	scram_server_free(s);

	/* keys out of bounds are refused */
	s = scram_server_new();
	assert_int_equal(client_first(s, RFC_CLIENT_FIRST), 0);
	k.iterations = 1000;
	assert_int_equal(scram_server_first(s, &k, out, sizeof(out)), -1);
	scram_server_free(s);

	/* a server nonce that is not printable is refused */
	rfc_keys(&k);
	s = scram_server_new();
	assert_int_equal(client_first(s, RFC_CLIENT_FIRST), 0);
	scram_server_set_nonce(s, "a,b");
	assert_int_equal(scram_server_first(s, &k, out, sizeof(out)), -1);
	scram_server_free(s);

	scram_server_free(NULL);
}

static void test_random_server_nonce(void **state)
{
	(void)state;
	struct scram_keys k;
	char out1[SCRAM_SERVER_FIRST_MAX], out2[SCRAM_SERVER_FIRST_MAX];
	rfc_keys(&k);
	struct scram_server *s1 = scram_server_new(), *s2 = scram_server_new();
	assert_int_equal(client_first(s1, RFC_CLIENT_FIRST), 0);
	assert_int_equal(client_first(s2, RFC_CLIENT_FIRST), 0);
	assert_int_equal(scram_server_first(s1, &k, out1, sizeof(out1)), 0);
	assert_int_equal(scram_server_first(s2, &k, out2, sizeof(out2)), 0);
	assert_string_not_equal(out1, out2);
	/* "r=" + client nonce + at least 24 characters (18 bytes) of server nonce */
	const char *comma = strchr(out1, ',');
	assert_non_null(comma);
	assert_true((size_t)(comma - out1) >= 2 + strlen(RFC_CNONCE) + 24);
	assert_int_equal(strncmp(out1, "r=" RFC_CNONCE, 2 + strlen(RFC_CNONCE)), 0);
	assert_non_null(strstr(out1, ",s=" RFC_SALT ",i=4096"));
	scram_server_free(s1);
	scram_server_free(s2);
}

static void test_keys_encode_decode(void **state)
{
	(void)state;
	struct scram_keys k, back;
	char enc[SCRAM_KEYS_ENCODED_MAX], enc2[SCRAM_KEYS_ENCODED_MAX];

	assert_int_equal(scram_keys_new("correct horse", &k), 0);
	assert_int_equal(k.iterations, SCRAM_ITERATIONS);
	assert_int_equal(k.saltlen, SCRAM_SALT_LEN);
	assert_int_equal(scram_keys_encode(&k, enc, sizeof(enc)), 0);
	assert_int_equal(strncmp(enc, "SCRAM-SHA-256$4096:", 19), 0);
	assert_int_equal(scram_keys_decode(enc, &back), 0);
	assert_int_equal(back.iterations, k.iterations);
	assert_int_equal(back.saltlen, k.saltlen);
	assert_memory_equal(back.salt, k.salt, k.saltlen);
	assert_memory_equal(back.stored_key, k.stored_key, 32);
	assert_memory_equal(back.server_key, k.server_key, 32);
	assert_int_equal(scram_keys_encode(&back, enc2, sizeof(enc2)), 0);
	assert_string_equal(enc, enc2);
	/* salts differ between calls */
	assert_int_equal(scram_keys_new("correct horse", &back), 0);
	assert_memory_not_equal(back.salt, k.salt, k.saltlen);
	/* the RFC example, in both stored forms (keys computed with Python's
	 * hashlib.pbkdf2_hmac and hmac, independently of scram.c) */
	rfc_keys(&k);
	assert_int_equal(scram_keys_encode(&k, enc, sizeof(enc)), 0);
	assert_string_equal(enc, "SCRAM-SHA-256$4096:" RFC_SALT
	                         "$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY="
	                         ":wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=");
	char dovecot[SCRAM_KEYS_ENCODED_MAX];
	const char *keys = enc + 19 + 24 + 1;
	const char *colon = strchr(keys, ':');
	snprintf(dovecot, sizeof(dovecot), "{SCRAM-SHA-256}4096," RFC_SALT ",%.*s,%s",
	         (int)(colon - keys), keys, colon + 1);
	assert_int_equal(scram_keys_decode(dovecot, &back), 0);
	assert_memory_equal(back.stored_key, k.stored_key, 32);
	assert_memory_equal(back.server_key, k.server_key, 32);
	/* decoded keys authenticate */
	assert_int_equal(scram_keys_decode(enc, &back), 0);
	assert_int_equal(exchange(&back, "pencil", "n,,", "n=user,r=q", enc2), 1);
	/* too small a buffer */
	assert_int_equal(scram_keys_encode(&k, enc2, 40), -1);
	assert_string_equal(enc2, "");
}

static void test_keys_decode_malformed(void **state)
{
	(void)state;
	struct scram_keys k;
	char enc[SCRAM_KEYS_ENCODED_MAX], bad[2 * SCRAM_KEYS_ENCODED_MAX];
	rfc_keys(&k);
	assert_int_equal(scram_keys_encode(&k, enc, sizeof(enc)), 0);
	const char *tail = enc + 19; /* after "SCRAM-SHA-256$4096:" */
	const char *keys = strchr(tail, '$');

	static const char *const fixed[] = {
		"", "SCRAM-SHA-256$", "SCRAM-SHA-1$4096:" RFC_SALT "$AAAA:AAAA",
		"{SCRAM-SHA-256}", "{SCRAM-SHA-256}4096,,,", "$argon2id$v=19$m=1,t=1,p=1$a$b",
	};
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		assert_int_equal(scram_keys_decode(fixed[i], &k), -1);
	static const char *const counts[] = { "4095", "04096", "+4096", "-4096", "", "4096x",
		                              "10000001", "99999999999" };
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		snprintf(bad, sizeof(bad), "SCRAM-SHA-256$%s:%s", counts[i], tail);
		assert_int_equal(scram_keys_decode(bad, &k), -1);
	}
	/* salt: too short, too long, not base64 */
	snprintf(bad, sizeof(bad), "SCRAM-SHA-256$4096:AAAAAA==%s", keys);
	assert_int_equal(scram_keys_decode(bad, &k), -1);
	snprintf(bad, sizeof(bad), "SCRAM-SHA-256$4096:%s%s%s", RFC_SALT, RFC_SALT, keys);
	assert_int_equal(scram_keys_decode(bad, &k), -1);
	snprintf(bad, sizeof(bad), "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ%s", keys);
	assert_int_equal(scram_keys_decode(bad, &k), -1);
	/* keys: truncated, extended, separators swapped, trailing junk */
	snprintf(bad, sizeof(bad), "%.*s", (int)strlen(enc) - 4, enc);
	assert_int_equal(scram_keys_decode(bad, &k), -1);
	snprintf(bad, sizeof(bad), "%sAAAA", enc);
	assert_int_equal(scram_keys_decode(bad, &k), -1);
	snprintf(bad, sizeof(bad), "%s:", enc);
	assert_int_equal(scram_keys_decode(bad, &k), -1);
	snprintf(bad, sizeof(bad), "%s", enc);
	*strrchr(bad, ':') = '$';
	assert_int_equal(scram_keys_decode(bad, &k), -1);
	/* a failed decode leaves zeroes, not half a key */
	assert_int_equal(k.iterations, 0);
	assert_int_equal(k.saltlen, 0);
}

static void test_fake_keys(void **state)
{
	(void)state;
	struct scram_keys a1, a2, b, other, real;
	char out[SCRAM_SERVER_FINAL_MAX];

	scram_fake_keys("ghost@example.org", secret_a, &a1);
	scram_fake_keys("ghost@example.org", secret_a, &a2);
	scram_fake_keys("ghost@example.org", secret_b, &b);
	scram_fake_keys("spook@example.org", secret_a, &other);
	/* stable for a user and secret, different otherwise */
	assert_memory_equal(&a1.salt, &a2.salt, sizeof(a1.salt));
	assert_memory_equal(a1.stored_key, a2.stored_key, 32);
	assert_memory_equal(a1.server_key, a2.server_key, 32);
	assert_memory_not_equal(a1.salt, b.salt, a1.saltlen);
	assert_memory_not_equal(a1.salt, other.salt, a1.saltlen);
	assert_memory_not_equal(a1.stored_key, other.stored_key, 32);
	/* shaped like real keys */
	assert_int_equal(scram_keys_new("pw", &real), 0);
	assert_int_equal(a1.saltlen, real.saltlen);
	assert_int_equal(a1.iterations, real.iterations);
	assert_memory_not_equal(a1.stored_key, a1.server_key, 32);
	/* every password fails at the proof, like a wrong one */
	assert_int_equal(exchange(&a1, "", "n,,", "n=ghost@example.org,r=n1", out), 0);
	assert_int_equal(exchange(&a1, "pencil", "n,,", "n=ghost@example.org,r=n1", out), 0);
	/* and they survive the store's encoding */
	char enc[SCRAM_KEYS_ENCODED_MAX];
	assert_int_equal(scram_keys_encode(&a1, enc, sizeof(enc)), 0);
	assert_int_equal(scram_keys_decode(enc, &a2), 0);
	assert_memory_equal(a1.stored_key, a2.stored_key, 32);
}

static void test_derive_bounds(void **state)
{
	(void)state;
	struct scram_keys k;
	const unsigned char salt[40] = { 1, 2, 3 };
	assert_int_equal(scram_derive("pw", salt, 16, 4095, &k), -1);
	assert_int_equal(scram_derive("pw", salt, 7, 4096, &k), -1);
	assert_int_equal(scram_derive("pw", salt, 33, 4096, &k), -1);
	assert_int_equal(scram_derive("pw", salt, 32, 4096, &k), 0);
	assert_int_equal(scram_derive("", salt, 8, 4096, &k), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc7677_example),
		cmocka_unit_test(test_wrong_proof),
		cmocka_unit_test(test_tampered_final),
		cmocka_unit_test(test_final_extensions),
		cmocka_unit_test(test_client_first_refusals),
		cmocka_unit_test(test_client_first_bounds),
		cmocka_unit_test(test_saslname_escapes),
		cmocka_unit_test(test_state_machine),
		cmocka_unit_test(test_random_server_nonce),
		cmocka_unit_test(test_keys_encode_decode),
		cmocka_unit_test(test_keys_decode_malformed),
		cmocka_unit_test(test_fake_keys),
		cmocka_unit_test(test_derive_bounds),
	};
	return cmocka_run_group_tests_name("scram", tests, NULL, NULL);
}
