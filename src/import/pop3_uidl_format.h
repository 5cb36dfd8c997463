/* Dovecot's pop3_uidl_format: how its POP3 server made a message's UIDL
 * when it had none saved (a P field in dovecot-uidlist). An import gives
 * INBOX messages the UIDL Dovecot showed, so POP3 clients (which remember
 * UIDLs to leave mail on the server) do not fetch everything again.
 *
 * Supported: %u UID, %v UIDVALIDITY, %f and %g the file's base name, %%;
 * long forms %{uid} %{uidvalidity} %{filename} %{guid}; Dovecot's modifiers
 * before the letter: a width (0 to pad with zeros), X for lowercase hex, L
 * and U for case. Dovecot's default is %08Xu%08Xv. */
#ifndef POSTERN_POP3_UIDL_FORMAT_H
#define POSTERN_POP3_UIDL_FORMAT_H

#include <stddef.h>
#include <stdint.h>

/* 0 when every variable of fmt is supported, else -1 with *why. */
int pop3_uidl_format_check(const char *fmt, const char **why);
/* 0 with the UIDL in out (at most 70 characters, RFC 1939 7), or -1. */
int pop3_uidl_format(const char *fmt, uint32_t uid, uint32_t uidvalidity, const char *base,
                     char *out, size_t outlen);

#endif
