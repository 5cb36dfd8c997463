/* Organisational domains (RFC 7489 3.2) from the Public Suffix List, read
 * with libpsl, and the one normal form of a domain name that alignment
 * compares (lower case, A-labels, no trailing dot). */
#ifndef POSTERN_ORGDOMAIN_H
#define POSTERN_ORGDOMAIN_H

#include <stddef.h>
#include <time.h>

/* 253 octets of name (RFC 1035 2.3.4 without the root's dot) and the NUL */
#define ORGDOMAIN_NAME_MAX 254

struct orgdomain;

/* Loads the list: psl_file (dmarc.psl_file; a .dat text list or a libpsl
 * DAFSA file), or with NULL/"" the newer of the system's list and the one
 * built into libpsl. NULL with err when it cannot be read. */
struct orgdomain *orgdomain_open(const char *psl_file, char *err, size_t errlen);
void orgdomain_close(struct orgdomain *od);

/* When the loaded list was made, as far as one can tell (its file's
 * modification time, or libpsl's built-in list's), and which file it is:
 * for the start-up log line, since an old list misjudges newer suffixes. */
time_t orgdomain_list_time(const struct orgdomain *od);
const char *orgdomain_list_source(const struct orgdomain *od);

/* Writes domain in the normal form: ASCII lower case, U-labels turned into
 * A-labels (IDNA2008), one trailing dot removed. -1 when it is not a domain
 * name (empty, an empty label, a label over 63 octets, the whole over 253,
 * octets a host name cannot hold, an IDN that does not convert). */
int orgdomain_normalize(const char *domain, char *out, size_t outlen);

/* The organisational domain of a normalised domain: the public suffix
 * plus one label; a domain that is itself a public suffix ("co.uk",
 * "localhost") is its own. 0, or -1 when out is too small. */
int orgdomain_find(const struct orgdomain *od, const char *domain, char *out, size_t outlen);

#endif
