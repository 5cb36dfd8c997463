/* Password hashing: Argon2id (RFC 9106) with OWASP's recommended parameters.
 *
 * Hashing is deliberately slow, so the server never calls these on an event
 * loop: password_verify_async() runs on the thread pool. */
#ifndef POSTERN_PASSWORD_H
#define POSTERN_PASSWORD_H

#include <stddef.h>

struct event_base;
struct threadpool;

/* OWASP Password Storage Cheat Sheet: m=19 MiB, t=2, p=1. */
#define PASSWORD_ARGON2_M_KIB 19456
#define PASSWORD_ARGON2_T     2
#define PASSWORD_ARGON2_P     1
#define PASSWORD_HASH_MAX     256

/* Writes an encoded "$argon2id$v=19$m=...,t=...,p=...$salt$hash". 0 or -1. */
int password_hash(const char *password, char *out, size_t outlen);
/* 1 when it matches, 0 when not, -1 for an unknown or malformed hash.
 * Runs in time independent of where the password differs. */
int password_verify(const char *encoded, const char *password);

typedef void (*password_verify_cb)(int result, void *arg);
/* Verifies on the pool; cb(result, arg) runs on `base`. The password is
 * copied and wiped after use. 0, or -1 when the pool is saturated. */
int password_verify_async(struct threadpool *tp, struct event_base *base, const char *encoded,
                          const char *password, password_verify_cb cb, void *arg);

#endif
