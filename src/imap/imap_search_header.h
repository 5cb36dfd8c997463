/* SEARCH's header keys (RFC 9051 6.4.4: FROM, TO, CC, BCC, SUBJECT,
 * HEADER): the one place they are evaluated, on a message's row of the
 * header cache or, when it has none or an incomplete one, on the header
 * read from its file through the same summary (mail/summary.h), so both
 * give the same answer. A key matches when its string, casemapped
 * (i;unicode-casemap, core/casemap.h), occurs in the decoded field value;
 * FROM, TO, CC and BCC also look in the addresses as "name <local@domain>"
 * (comments and quoting gone), as Dovecot does. Internal to src/imap. */
#ifndef POSTERN_IMAP_SEARCH_HEADER_H
#define POSTERN_IMAP_SEARCH_HEADER_H

#include <stddef.h>

#include "core/buf.h"

struct imap_search_node;
struct mail_summary;

/* The fields the header cache keeps, in the order of its columns: field i
 * is the store's bit 1 << i (MBOX_HF_*). */
enum imap_header_field {
	IMAP_HF_SUBJECT, IMAP_HF_FROM, IMAP_HF_TO, IMAP_HF_CC, IMAP_HF_BCC,
	IMAP_HF_FROM_ADDRS, IMAP_HF_TO_ADDRS, IMAP_HF_CC_ADDRS, IMAP_HF_BCC_ADDRS,
	IMAP_HF_MESSAGE_ID, IMAP_HF_IN_REPLY_TO, IMAP_HF_REFERENCES, IMAP_HF_DATE,
	IMAP_HF_COUNT
};

/* A message's header as the keys see it. */
struct imap_search_header {
	const char *field[IMAP_HF_COUNT];   /* NULL: the message has no such field */
	const char *raw;                    /* the header block, when read from the file: */
	size_t raw_len;                     /* HEADER keys on other fields look in it */
};

/* The view of a summary read from the message's header block raw. */
void imap_search_header_of_summary(struct imap_search_header *h, const struct mail_summary *s,
                                   const char *raw, size_t raw_len);
/* The fields (bits 1 << enum imap_header_field) the header keys in the
 * criteria under n look at. */
unsigned imap_search_header_fields(const struct imap_search_node *n);
/* 1 when the header key n matches, 0 when not, -1 when h cannot tell (a
 * HEADER key on a field the cache does not keep, and no raw header):
 * read the message then. scratch is working memory, reused. */
int imap_search_header_match(const struct imap_search_node *n, const struct imap_search_header *h,
                             struct buf *scratch);

#endif
