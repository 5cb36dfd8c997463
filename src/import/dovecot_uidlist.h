/* Dovecot's dovecot-uidlist, the UID <-> file name map of a Maildir folder
 * (Dovecot's MailboxFormat/Maildir documentation; Courier's courierimapuiddb
 * is version 1):
 *
 *   version 3:  3 V<uidvalidity> N<nextuid> G<guid> ...   (any order, more keys)
 *               <uid> [<key><value> ...] :<file name>
 *   version 1:  1 <uidvalidity> <nextuid>
 *               <uid> <file name>
 *
 * The file name is the one last known; flags after ':' may have changed since,
 * so files are matched on the part before ':' (the base). Extension keys are
 * capital letters: P the POP3 UIDL, W the virtual size, S the file size.
 * Lines are parsed one by one, so the file is read as a stream. Entries come
 * from another system: every number, name and length is checked. */
#ifndef POSTERN_DOVECOT_UIDLIST_H
#define POSTERN_DOVECOT_UIDLIST_H

#include <stdbool.h>
#include <stdint.h>

#define DOVECOT_UIDLIST_LINE_MAX 8192     /* longer lines are not Dovecot's */
#define DOVECOT_NAME_MAX 255              /* a file name (NAME_MAX) */

struct dovecot_uidlist_header {
	unsigned version;                 /* 1 or 3 */
	uint32_t uidvalidity;             /* never 0 */
	uint32_t next_uid;                /* may be stale: entries can reach past it */
	char guid[33];                    /* the mailbox GUID in hex, "" if none */
};

struct dovecot_uidlist_entry {
	uint32_t uid;                     /* 1 .. 2^32-2 */
	char base[DOVECOT_NAME_MAX + 1];  /* the file name up to ':' */
	char pop3_uidl[71];               /* P, as RFC 1939 allows it; "" if none */
	bool bad_pop3_uidl;               /* a P field RFC 1939 does not allow */
	bool has_vsize;
	uint64_t vsize;                   /* W */
};

/* 0, or -1 with *why (a static string). */
int dovecot_uidlist_parse_header(const char *line, struct dovecot_uidlist_header *h,
                                 const char **why);
/* One entry line of a file of the given version: 0, or -1 with *why. */
int dovecot_uidlist_parse_entry(const char *line, unsigned version,
                                struct dovecot_uidlist_entry *e, const char **why);

#endif
