/* How IMAP renders a message (RFC 3501 7.4.2, RFC 9051): strings,
 * ENVELOPE, BODYSTRUCTURE and BODY, BODY[section] resolution and
 * HEADER.FIELDS filtering. The message itself is read by src/mail. */
#ifndef POSTERN_IMAP_RENDER_H
#define POSTERN_IMAP_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

struct mime_part;
struct mail_address_view;

/* Address structures (group starts and ends included) one ENVELOPE address
 * list holds; further addresses are dropped. Without it a 64 KiB field of
 * "a,a,a..." renders 32768 structures, about 1 MiB, into every ENVELOPE
 * and the index cache. Real lists stay far below: mail services refuse
 * more than a few hundred to a thousand recipients per message, and a
 * longer list still reaches the client whole through BODY[HEADER].
 * mail_address_list_parse() has no such cap: the SMTP From: check must
 * see every address. */
#define IMAP_ENVELOPE_MAX_ADDRESSES 500

/* ---- strings (imap_envelope.c) ---- */

/* Appends s as an IMAP nstring: NIL for NULL; a quoted string when it has no
 * CR, LF, NUL or 8-bit octet and at most 4 '"' or '\' (escaped); else a
 * literal {n}\r\n... (Dovecot's choice, see RFC 3501 4.3). */
void imap_nstring(struct buf *o, const char *s);
void imap_nstring_n(struct buf *o, const char *s, size_t n);

/* ---- ENVELOPE (imap_envelope.c) ---- */

/* ENVELOPE of a message part (the root, or the child of a message/rfc822
 * part): "(date subject from sender reply-to to cc bcc in-reply-to
 * message-id)"; all NIL for a part that is not a message. */
void imap_write_envelope(const struct mime_part *msg, struct buf *out);
/* One address structure "(name adl mailbox host)" of an address list. */
void imap_write_address(struct buf *out, const struct mail_address_view *v);
/* env-from etc.: "(" 1*address ")" or NIL, at most
 * IMAP_ENVELOPE_MAX_ADDRESSES structures; an empty list takes fallback
 * (RFC 3501: sender and reply-to default to from). */
void imap_write_address_list(struct buf *out, const char *value, const char *fallback);

/* ---- BODYSTRUCTURE (imap_bodystructure.c) ---- */

/* BODYSTRUCTURE (extended) or BODY (!extended) of the tree under part,
 * exactly per the RFC 3501 grammar. Type, subtype, parameter names,
 * disposition and encoding are written upper case; text parts without a
 * charset get ("CHARSET" "US-ASCII"); a multipart without parts gets one
 * empty text/plain, as Dovecot does. */
void imap_write_bodystructure(const struct mime_part *part, bool extended,
                              struct buf *out);

/* ---- BODY[section] (imap_section.c) ---- */

enum imap_span_what {
	IMAP_SPAN_ALL,            /* ""                  the whole message */
	IMAP_SPAN_BODY,           /* "1.2"               the part's body */
	IMAP_SPAN_HEADER,         /* "HEADER", "1.HEADER" */
	IMAP_SPAN_HEADER_FIELDS,  /* the caller filters: imap_filter_headers() */
	IMAP_SPAN_HEADER_FIELDS_NOT,
	IMAP_SPAN_TEXT,           /* "TEXT", "1.TEXT"    a message's body */
	IMAP_SPAN_MIME,           /* "1.MIME"            the part's header */
};

struct imap_span {
	uint64_t offset, size;          /* raw octets of the input */
	uint64_t crlf_size;             /* the same region in CRLF form */
	const struct mime_part *part;   /* whose header or body it is */
	enum imap_span_what what;
};

#define IMAP_SPAN_OK 0
#define IMAP_SPAN_BAD (-1)        /* not a section-spec: BAD */
#define IMAP_SPAN_NONE 1          /* no such part: send an empty string */

/* Resolves an IMAP section-spec (RFC 3501 6.4.5) without the brackets,
 * keywords case-insensitive: "", "1.2", "HEADER", "TEXT", "1.MIME",
 * "1.HEADER" / "1.TEXT" (a message/rfc822 part), "HEADER.FIELDS (...)" and
 * "HEADER.FIELDS.NOT (...)" (the list is left to the caller). Part numbers
 * follow RFC 3501: a non-multipart message has a part 1, its body. */
int imap_section_span(const struct mime_part *root, const char *section, struct imap_span *out);

/* BODY[HEADER.FIELDS (names)] and BODY[HEADER.FIELDS.NOT (names)]: appends
 * to out the fields of hdr whose name is (not_ false) or is not (not_
 * true) one of names, in CRLF form, then the empty line "\r\n". */
void imap_filter_headers(const char *hdr, size_t len, const char *const *names, size_t n,
                         bool not_, struct buf *out);

#endif
