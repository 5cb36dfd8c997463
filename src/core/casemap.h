/* Case-insensitive comparison of UTF-8 text the way IMAP asks for it:
 * i;unicode-casemap (RFC 5051), each character titlecased and then
 * canonically decomposed, so "café", "CAFÉ" and "Cafe\u0301" come out the
 * same and "cafe" is found in all three. SEARCH (RFC 9051 6.4.4) and SORT
 * (RFC 5256 3, with i;ascii-casemap the same on ASCII) both go through it.
 *
 * The tables cover ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic,
 * where mail is written with case; other characters are kept as they are
 * (most scripts have no case). Octets that are not UTF-8 are copied. */
#ifndef POSTERN_CORE_CASEMAP_H
#define POSTERN_CORE_CASEMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

/* Appends the casemapped form of s[0, n) to out. ASCII comes out upper case,
 * as i;ascii-casemap (RFC 4790 9.2) maps it. */
void casemap_append(struct buf *out, const char *s, size_t n);

/* Whether needle, already casemapped, occurs in hay once hay is casemapped;
 * scratch holds hay's mapping (reused from call to call). An empty needle
 * is found everywhere. */
bool casemap_contains(const char *hay, size_t hlen, const char *needle, size_t nlen,
                      struct buf *scratch);

#endif
