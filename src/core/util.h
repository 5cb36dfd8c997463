/* Small helpers shared by every module. */
#ifndef POSTERN_UTIL_H
#define POSTERN_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Aborts on allocation failure: a mail server out of memory cannot do
 * anything useful, and checking every small allocation hides real errors. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);     /* at most n octets of s, NUL-terminated */

/* Fills buf with len cryptographically random bytes (getrandom). */
void random_bytes(void *buf, size_t len);
/* Writes a random identifier of `len` characters from [0-9A-Za-z] plus NUL. */
void random_id(char *out, size_t len);

uint64_t now_ms(void);           /* CLOCK_MONOTONIC in ms */
long long wall_ms(void);         /* CLOCK_REALTIME in ms since the epoch */

/* RFC 5322 date-time for now, e.g. "Tue, 24 Nov 2026 10:11:12 +0000". */
void rfc5322_date(char *out, size_t outlen);

/* ASCII lower-casing in place; returns s. */
char *ascii_lower(char *s);

/* Creates dir and its parents with mode; 0 or -1 with errno. */
int mkdir_p(const char *path, mode_t mode);
/* fsync a directory by path (after rename/creat inside it). */
int fsync_dir(const char *path);
/* Writes all of buf to fd, retrying on EINTR and short writes. */
int write_all(int fd, const void *buf, size_t len);

/* Copies src into dst (size bytes), truncating; always NUL-terminates. */
void str_copy(char *dst, size_t size, const char *src);
/* The client an address stands for, as connection and login limits count
 * it: IPv4 as inet_ntop writes it (an IPv4-mapped IPv6 address too), IPv6
 * by its /64 ("2001:db8:1:2::/64"; ::1 as it is), anything else copied. */
void ip_client_key(const char *ip, char *out, size_t len);

/* snprintf that reports truncation as -1 instead of silently cutting. */
int bsnprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
