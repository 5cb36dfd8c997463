/* SCRAM-SHA-256, server side (RFC 5802, RFC 7677), without channel binding.
 *
 * The server keeps only StoredKey and ServerKey (RFC 5803 form in the users
 * table), never the password. An exchange, with the base64 framing left to
 * the caller (auth/sasl_server.c, with sasl_b64_decode / sasl_b64_encode):
 *
 *   s = scram_server_new();
 *   scram_server_client_first(s, msg, len, user, ulen, authzid, alen)
 *   look up user's keys; if unknown, scram_fake_keys(user, secret, &k)
 *   scram_server_first(s, &k, out, outlen)          -> send out
 *   scram_server_client_final(s, msg, len, out, outlen)
 *        1: authenticated, send out ("v=...") as the server-final message
 *        0: wrong password (or unknown user), -1: malformed or tampered
 *   scram_server_free(s);
 *
 * Nothing here is slow except scram_derive()/scram_keys_new() (PBKDF2, run
 * them off the event loop); the exchange itself is a few HMACs. */
#ifndef POSTERN_SCRAM_H
#define POSTERN_SCRAM_H

#include <stddef.h>

/* RFC 7677 4: at least 4096 iterations. New keys use this count; fake keys
 * too, so that unknown users look like every other user. */
#define SCRAM_ITERATIONS     4096
#define SCRAM_ITERATIONS_MIN 4096
/* Refuse stored keys that would make every login cost minutes. */
#define SCRAM_ITERATIONS_MAX 10000000
#define SCRAM_SALT_LEN       16 /* for new keys */
#define SCRAM_SALT_MIN       8
#define SCRAM_SALT_MAX       32
#define SCRAM_KEY_LEN        32 /* SHA-256 */

/* Longest decoded client message accepted, username (after =2C/=3D
 * decoding, in octets) and client nonce. */
#define SCRAM_MSG_MAX        1024
#define SCRAM_USER_MAX       255
#define SCRAM_NONCE_MAX      128
/* Buffer sizes that always suffice for the outputs, NUL included. */
#define SCRAM_KEYS_ENCODED_MAX   192
#define SCRAM_SERVER_FIRST_MAX   512
#define SCRAM_SERVER_FINAL_MAX   64

struct scram_keys {
	unsigned char salt[SCRAM_SALT_MAX];
	size_t saltlen;
	int iterations;
	unsigned char stored_key[SCRAM_KEY_LEN];
	unsigned char server_key[SCRAM_KEY_LEN];
};

/* SaltedPassword = PBKDF2-HMAC-SHA256(password, salt, iterations);
 * StoredKey = SHA256(HMAC(SaltedPassword, "Client Key"));
 * ServerKey = HMAC(SaltedPassword, "Server Key").
 * The password is used as given (UTF-8 octets): no SASLprep, which is the
 * identity for printable ASCII. 0, or -1 for a bad salt length or count. */
int scram_derive(const char *password, const unsigned char *salt, size_t saltlen, int iterations,
                 struct scram_keys *out);
/* New keys with a random SCRAM_SALT_LEN salt and SCRAM_ITERATIONS. 0 or -1. */
int scram_keys_new(const char *password, struct scram_keys *out);

/* RFC 5803: "SCRAM-SHA-256$<iter>:<b64 salt>$<b64 StoredKey>:<b64 ServerKey>".
 * 0, or -1 when it does not fit (SCRAM_KEYS_ENCODED_MAX always does). */
int scram_keys_encode(const struct scram_keys *k, char *out, size_t outlen);
/* Reads the RFC 5803 form above, and Dovecot's
 * "{SCRAM-SHA-256}<iter>,<b64 salt>,<b64 StoredKey>,<b64 ServerKey>".
 * 0, or -1 (and *k zeroed) when malformed or out of bounds. */
int scram_keys_decode(const char *s, struct scram_keys *k);

/* Deterministic keys for a user that does not exist, derived from the
 * username under a per-process secret (HMAC-SHA256): the same user always
 * gets the same salt, the count is SCRAM_ITERATIONS, and no password matches,
 * so the exchange fails at the proof exactly as for a wrong password. */
void scram_fake_keys(const char *username, const unsigned char secret[32],
                     struct scram_keys *out);

struct scram_server;

/* Allocates an exchange (aborts on out of memory, like xmalloc). */
struct scram_server *scram_server_new(void);
/* Wipes and frees; NULL is fine. */
void scram_server_free(struct scram_server *s);

/* Parses the decoded client-first-message:
 *   gs2-header ("n" or "y", never "p=": channel binding is not offered;
 *   optional "a=" authzid) then "n=<saslname>,r=<nonce>[,extensions]".
 * user gets the username with =2C and =3D decoded (UTF-8, 1..255 octets);
 * authzid gets the authzid or "" when absent. An authzid that is not the
 * username (ignoring ASCII case) is refused here (-1); it is returned so the
 * caller can apply its own, stricter rule. 0, or -1 when malformed, too long, or a
 * mandatory extension ("m=") is present. */
int scram_server_client_first(struct scram_server *s, const char *msg, size_t len, char *user,
                              size_t ulen, char *authzid, size_t alen);

/* Writes "r=<client nonce><server nonce>,s=<b64 salt>,i=<iterations>" (NUL
 * terminated) and keeps a copy of k for the proof check. The server nonce is
 * 24 random bytes in base64 unless scram_server_set_nonce() set one.
 * 0, or -1 (wrong state, bad keys, out too small). */
int scram_server_first(struct scram_server *s, const struct scram_keys *k, char *out,
                       size_t outlen);

/* Tests only: use this server nonce (printable ASCII without ',', at most
 * SCRAM_NONCE_MAX characters; anything else makes scram_server_first fail). */
void scram_server_set_nonce(struct scram_server *s, const char *snonce);

/* Checks the decoded client-final-message "c=<b64 gs2-header>,r=<nonce>
 * [,extensions],p=<b64 proof>": c= must be the exact gs2 header of the first
 * message, r= the combined nonce, and the proof is compared in constant time.
 * 1: proof valid, out gets "v=<b64 ServerSignature>"; 0: wrong proof;
 * -1: malformed, c= or r= mismatch, wrong state or out too small.
 * The exchange is over after this call whatever the result. */
int scram_server_client_final(struct scram_server *s, const char *msg, size_t len, char *out,
                              size_t outlen);

#endif
