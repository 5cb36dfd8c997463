/* Mailbox access rights (RFC 4314 2.1): the eleven letters "lrswipkxtea"
 * as bits, parsed and written in one canonical order. Pure functions: the
 * store checks grants with them, IMAP and the CLI parse with them. */
#ifndef POSTERN_ACL_RIGHTS_H
#define POSTERN_ACL_RIGHTS_H

#include <stdbool.h>
#include <stddef.h>

enum {
	ACL_LOOKUP = 1 << 0,    /* l: the mailbox is visible to LIST */
	ACL_READ = 1 << 1,      /* r: SELECT, EXAMINE, FETCH, SEARCH, STATUS, COPY from */
	ACL_SEEN = 1 << 2,      /* s: keep \Seen */
	ACL_WRITE = 1 << 3,     /* w: flags and keywords other than \Seen and \Deleted */
	ACL_INSERT = 1 << 4,    /* i: APPEND, COPY and MOVE into */
	ACL_POST = 1 << 5,      /* p: send mail to the mailbox's submission address */
	ACL_CREATE = 1 << 6,    /* k: CREATE below it */
	ACL_DELETE_MBOX = 1 << 7,  /* x: DELETE it */
	ACL_DELETE_MSG = 1 << 8,   /* t: set or clear \Deleted */
	ACL_EXPUNGE = 1 << 9,   /* e: EXPUNGE, and CLOSE's expunge */
	ACL_ADMIN = 1 << 10,    /* a: SETACL, DELETEACL, GETACL, LISTRIGHTS */
	ACL_ALL = (1 << 11) - 1,
};

/* "lrswipkxtea" plus a NUL (and room for the obsolete "cd"). */
#define ACL_RIGHTS_TEXT_MAX 16

/* Parses a rights string: letters of "lrswipkxtea" in any order, repeats
 * allowed, and the obsolete RFC 2086 "c" (= k and x) and "d" (= e and t)
 * as RFC 4314 2.1.1 defines them for servers that split them. Anything
 * else (upper case, digits, another letter, more than 64 characters) is
 * refused: -1. The empty string is 0 rights. */
int acl_rights_parse(const char *text, size_t len, unsigned *rights);
/* The canonical form ("lrswipkxtea" order); with rfc2086, "c" and "d" are
 * added after them when any of their members is there (RFC 4314 2.1.1: a
 * server answers them for old clients). out has ACL_RIGHTS_TEXT_MAX octets. */
void acl_rights_format(unsigned rights, bool rfc2086, char out[ACL_RIGHTS_TEXT_MAX]);

#endif
