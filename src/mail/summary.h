/* A message's header as clients search and sort it: the From, To, Cc, Bcc
 * and Subject fields decoded to UTF-8 (RFC 2047), the address lists in a
 * normalised form, the fields threading reads, the Date: parsed, and the
 * values the sort orders of RFC 5256 and RFC 5957 look at. Read once when
 * a message is indexed; the index keeps it (the mailbox's header cache).
 *
 * Nothing is casemapped or cut here: that is the cache's business. */
#ifndef POSTERN_MAIL_SUMMARY_H
#define POSTERN_MAIL_SUMMARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mail_summary {
	/* Every occurrence of the field, unfolded and decoded (RFC 2047), joined
	 * by "\n"; NULL when the message has no such field. */
	char *subject, *from, *to, *cc, *bcc;
	/* The same address lists as "name <local@domain>" per mailbox, ", "
	 * between them, "group:" and ";" around groups: comments, quoting and
	 * white space gone, names decoded (what SEARCH FROM looks in besides the
	 * text, as Dovecot does). NULL when the field is absent. */
	char *from_addrs, *to_addrs, *cc_addrs, *bcc_addrs;
	/* Unfolded, not decoded (RFC 2047 5 allows no encoded-words in them),
	 * every occurrence joined by "\n"; NULL when absent. */
	char *message_id, *in_reply_to, *references, *date;
	/* The first Date: field, when it reads as an RFC 5322 date. */
	bool has_date;
	int64_t sent_time;      /* the instant, seconds since the epoch */
	int32_t sent_day;       /* the date as written, in its own zone (SENTON) */
	/* RFC 5256 2.1: the base subject of the first Subject: field ("" when
	 * none), and whether a reply or forward marker was taken off it. */
	char *base_subject;
	bool reply_or_fwd;
	/* RFC 5256 3: the addr-mailbox of the first address of the first
	 * field ("" when none); a group's addr-mailbox is its name, a missing
	 * local part "MISSING_MAILBOX" (as ENVELOPE shows them). */
	char *first_from, *first_to, *first_cc;
	/* RFC 5957: the first address's display name, decoded, or when it has
	 * none its addr-spec ("local@domain", a missing part "MISSING_MAILBOX"
	 * or "MISSING_DOMAIN" as ENVELOPE shows it); a group's name; "" when
	 * there is no address. */
	char *display_from, *display_to;
};

/* Reads the header block hdr[0, len) (LF or CRLF, the empty line that ends
 * it optional), leniently: never fails. Free with mail_summary_free(). */
void mail_summary_read(struct mail_summary *s, const char *hdr, size_t len);
void mail_summary_free(struct mail_summary *s);

#endif
