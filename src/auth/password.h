/* Password hashing: Argon2id (RFC 9106) with OWASP's recommended parameters.
 *
 * New hashes are always Argon2id. Verification also accepts hashes imported
 * from other servers (bcrypt, SHA512-CRYPT, SHA256-CRYPT, Dovecot's {SSHA512}
 * and scheme prefixes) so users can log in once and be re-hashed:
 * after a successful password_verify(), if password_needs_upgrade(), store
 * a fresh password_hash().
 *
 * Hashing is deliberately slow, so the server never calls these on an event
 * loop: password_verify_async() runs on the thread pool. */
#ifndef POSTERN_PASSWORD_H
#define POSTERN_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct threadpool;

/* OWASP Password Storage Cheat Sheet: m=19 MiB, t=2, p=1. */
#define PASSWORD_ARGON2_M_KIB 19456
#define PASSWORD_ARGON2_T     2
#define PASSWORD_ARGON2_P     1
#define PASSWORD_HASH_MAX     256

/* Stored hashes costlier than these are refused (-1) rather than run: one
 * bad imported line must not tie up the thread pool or its memory. */
#define PASSWORD_ARGON2_M_KIB_MAX    262144 /* 256 MiB */
#define PASSWORD_ARGON2_T_MAX        16
#define PASSWORD_ARGON2_P_MAX        16
#define PASSWORD_BCRYPT_COST_MAX     16
#define PASSWORD_SHACRYPT_ROUNDS_MAX 2000000

/* Writes an encoded "$argon2id$v=19$m=...,t=...,p=...$salt$hash". 0 or -1. */
int password_hash(const char *password, char *out, size_t outlen);

/* 1 when it matches, 0 when not, -1 for an unknown or malformed hash.
 * Accepted forms:
 *   $argon2id$...            $2y$ / $2b$ / $2a$ (bcrypt)
 *   $6$ (SHA512-CRYPT)       $5$ (SHA256-CRYPT)
 *   Dovecot prefixes: {ARGON2ID}$argon2id$..., {BLF-CRYPT}$2y$...,
 *   {SHA512-CRYPT}$6$..., {SHA256-CRYPT}$5$..., {CRYPT} followed by one of
 *   the crypt forms above, {SSHA512} (base64 of SHA512(password+salt)+salt).
 * Never DES/MD5 crypt or unsalted digests. The final comparison is constant
 * time in where the password differs. */
int password_verify(const char *encoded, const char *password);

/* True for anything but a bare "$argon2id$v=19$m=19456,t=2,p=1$..." with
 * exactly the parameters above: one cost for every user keeps the dummy
 * verification below indistinguishable from a real one. */
bool password_needs_upgrade(const char *encoded);

/* "argon2id", "bcrypt", "sha512-crypt", "sha256-crypt", "ssha512" or
 * "unknown" (a static string), looking through Dovecot prefixes. */
const char *password_scheme_name(const char *encoded);

/* Runs a full Argon2id verification with the current parameters against a
 * fixed hash no password matches, so that a login for an unknown user costs
 * what a known user's does. Always 0 (never a match), or -1 when Argon2
 * itself failed. As slow as password_verify(): not on the event loop. */
int password_dummy_verify(const char *password);
/* The hash password_dummy_verify() uses, for password_verify_async(). */
const char *password_dummy_hash(void);

typedef void (*password_verify_cb)(int result, void *arg);
/* Verifies on the pool; cb(result, arg) runs on `base`. The password is
 * copied and wiped after use. 0, or -1 when the pool is saturated. */
int password_verify_async(struct threadpool *tp, struct event_base *base, const char *encoded,
                          const char *password, password_verify_cb cb, void *arg);

/* Internal to src/auth (password.c calls password_legacy.c); callers use
 * password_verify(). Same results: 1 match, 0 mismatch, -1 malformed. */
int password_crypt_verify(const char *setting, const char *password);
int password_ssha512_verify(const char *b64, const char *password);

#endif
