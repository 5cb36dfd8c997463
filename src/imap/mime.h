/* MIME structure of a stored message, for the IMAP server: ENVELOPE,
 * BODYSTRUCTURE and BODY (RFC 3501 7.4.2, RFC 9051), BODY[section]
 * resolution, and header access for SEARCH and the index.
 *
 * The parser reads the message once, line by line, front to back, never
 * looking back at an earlier line and never modifying the input: the only
 * state carried from line to line is the open parts, the boundary stack and
 * the header field being unfolded (bounded by MIME_FIELD_MAX). It never
 * fails: malformed input (missing or unterminated boundaries, headers
 * without a blank line or without a colon, 8-bit junk) gives a best-effort
 * tree the way Dovecot does, and the limits below turn whatever lies beyond
 * them into an opaque leaf body.
 *
 * Offsets and sizes come in two forms: raw octets of the input (what the
 * caller streams from the Maildir file, with LF line ends) and CRLF octets
 * (what IMAP clients see and count: every LF not preceded by CR is 2). The
 * same message with LF or CRLF line ends gives the same renderings.
 *
 * Compared with Dovecot 2.3 (random messages run through both): the same
 * structure, sizes and line counts, except that (1) a boundary line must be
 * the boundary followed by nothing, white space or "--" (Dovecot takes any
 * line starting with it), and (2) when a boundary takes the line end that
 * ends an encapsulated message, the message/rfc822 part around it is one
 * line end shorter too, so its size always equals its message's header
 * plus body (Dovecot counts that line end in the outer part only). */
#ifndef POSTERN_MIME_H
#define POSTERN_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Nesting of multipart and message/rfc822 containers: a container deeper
 * than this is kept as an application/octet-stream leaf. */
#define MIME_MAX_DEPTH 20
/* Parts in one message, the root and every encapsulated message included:
 * past this no boundary is recognized any more, and the part open at that
 * point runs to the end of the message. */
#define MIME_MAX_PARTS 1000
/* Header fields looked at per part; the rest are only skipped over. */
#define MIME_MAX_FIELDS 2000
/* Parameters kept per Content-Type or Content-Disposition. */
#define MIME_MAX_PARAMS 64
/* Octets kept of one unfolded header field value. */
#define MIME_FIELD_MAX (64 * 1024)
/* Address structures (group starts and ends included) one ENVELOPE address
 * list holds; further addresses are dropped. Without it a 64 KiB field of
 * "a,a,a..." renders 32768 structures, about 1 MiB, into every ENVELOPE
 * and the index cache. Real lists stay far below: mail services refuse
 * more than a few hundred to a thousand recipients per message, and a
 * longer list still reaches the client whole through BODY[HEADER].
 * mime_parse_addresses() has no such cap: the SMTP From: check must see
 * every address. */
#define MIME_MAX_ADDRESSES 500
/* Octets of strings kept for a whole message tree; past it, further values
 * are stored truncated (only a hostile message gets there). */
#define MIME_STORE_MAX (1024 * 1024)

/* ---- output buffer ---- */

/* A growable byte buffer, always NUL-terminated (data may hold NULs only if
 * appended explicitly: only the transfer decoders below write one). */
struct mime_out {
	char *data;
	size_t len, cap;
};

void mime_out_init(struct mime_out *o);
void mime_out_free(struct mime_out *o);
void mime_out_reset(struct mime_out *o);   /* len = 0, memory kept */
void mime_out_append(struct mime_out *o, const void *p, size_t n);
void mime_out_puts(struct mime_out *o, const char *s);
/* Appends s as an IMAP nstring: NIL for NULL; a quoted string when it has no
 * CR, LF, NUL or 8-bit octet and at most 4 '"' or '\' (escaped); else a
 * literal {n}\r\n... (Dovecot's choice, see RFC 3501 4.3). */
void mime_out_nstring(struct mime_out *o, const char *s);
void mime_out_nstring_n(struct mime_out *o, const char *s, size_t n);

/* ---- the tree ---- */

struct mime_param {
	char *name;     /* lower case; RFC 2231 "*", "*N", "*N*" suffixes removed */
	char *value;    /* unquoted; RFC 2231 sections joined and %XX decoded,
	                 * converted to UTF-8 when the charset is known */
	/* RFC 2231 extended value ("name*="): charset and language as given,
	 * charset "utf-8" once converted; NULL for a plain parameter. An
	 * extended value still in a foreign charset keeps its raw octets. */
	char *charset, *lang;
};

/* The fields ENVELOPE is made of: unfolded values, outer white space
 * removed, encoded-words left as they are; NULL when the field is absent. */
struct mime_envelope {
	char *date, *subject, *from, *sender, *reply_to, *to, *cc, *bcc;
	char *in_reply_to, *message_id;
};

enum mime_part_flag {
	MIME_PART_MULTIPART = 1 << 0,  /* children are the body parts (maybe none) */
	MIME_PART_MESSAGE = 1 << 1,    /* message/rfc822: one child, the message */
	MIME_PART_TEXT = 1 << 2,       /* text/...: BODYSTRUCTURE gives lines */
	/* the limits cut it short: a container turned application/octet-stream
	 * leaf, or a multipart whose further parts were not split out */
	MIME_PART_LIMITED = 1 << 3,
	MIME_PART_NO_BLANK = 1 << 4,   /* header not ended by an empty line */
};

struct mime_part {
	struct mime_part *parent, *children, *next;
	unsigned int nchildren;
	unsigned int depth;             /* root 0; children of a container +1 */
	unsigned int flags;             /* enum mime_part_flag */

	/* Content-Type, lower case; text/plain when absent or invalid
	 * (message/rfc822 inside multipart/digest, RFC 2046 5.1.5). */
	char *type, *subtype;
	struct mime_param *params;
	unsigned int nparams;
	char *id, *description, *md5, *location;   /* raw values or NULL */
	char *encoding;                 /* upper case; NULL means 7BIT */
	char *disposition;              /* lower case token or NULL */
	struct mime_param *disp_params;
	unsigned int ndisp_params;
	char **languages;               /* Content-Language tags */
	unsigned int nlanguages;
	/* Set on the root and on the child of a message/rfc822 part: the
	 * header of a message, not just MIME fields. */
	struct mime_envelope *envelope;

	/* Where the part lies in the input. The header includes the empty
	 * line that ends it; inside a multipart, the line end before a
	 * boundary line belongs to the boundary (RFC 2046 5.1.1). */
	uint64_t hdr_offset, hdr_size, hdr_crlf_size;
	uint64_t body_offset, body_size, body_crlf_size;
	uint64_t body_lines;            /* LF count of the body */
};

/* Parses buf (LF or CRLF line ends). Never NULL; free with mime_free(). The
 * tree keeps no pointer into buf. */
struct mime_part *mime_parse(const char *buf, size_t len);
void mime_free(struct mime_part *root);
/* Parts in the tree, the root included (at most MIME_MAX_PARTS). */
unsigned int mime_count_parts(const struct mime_part *root);
/* First parameter called name (case-insensitive), or NULL. */
const char *mime_param_get(const struct mime_param *params, unsigned int n, const char *name);

/* ---- IMAP renderings ---- */

/* ENVELOPE of a message part (the root, or the child of a message/rfc822
 * part): "(date subject from sender reply-to to cc bcc in-reply-to
 * message-id)"; all NIL for a part that is not a message. */
void mime_write_envelope(const struct mime_part *msg, struct mime_out *out);
/* BODYSTRUCTURE (extended) or BODY (!extended) of the tree under part,
 * exactly per the RFC 3501 grammar. Type, subtype, parameter names,
 * disposition and encoding are written upper case; text parts without a
 * charset get ("CHARSET" "US-ASCII"); a multipart without parts gets one
 * empty text/plain, as Dovecot does. */
void mime_write_bodystructure(const struct mime_part *part, bool extended,
                              struct mime_out *out);

/* ---- addresses ---- */

/* One address as IMAP sees it (RFC 3501 7.4.2): a group start has host NULL
 * and the group name in mailbox, a group end has all four NULL. A missing
 * local part or domain is "MISSING_MAILBOX" / "MISSING_DOMAIN" (Dovecot's
 * spelling; host NIL would read as a group). */
struct mime_address {
	char *name, *adl, *mailbox, *host;
};

/* Parses an address-list header value (RFC 5322 3.4 with the obsolete
 * syntax and common breakage tolerated). Returns the count; *out is
 * allocated (NULL when 0), free with mime_addresses_free(). */
size_t mime_parse_addresses(const char *value, size_t len, struct mime_address **out);
void mime_addresses_free(struct mime_address *a, size_t n);

/* ---- header access ---- */

struct mime_field {
	const char *name;       /* as written, white space before ':' removed */
	size_t name_len;
	const char *value;      /* raw, from after ':' to the end of the field, */
	size_t value_len;       /* folds included, the last line end excluded */
	const char *raw;        /* the whole field with its last line end */
	size_t raw_len;
};

struct mime_header_iter {
	const char *p, *end;
};

/* Iterates the fields of a header block (e.g. buf + part->hdr_offset,
 * part->hdr_size). Stops at the empty line or the end; lines without a
 * colon are skipped. Pointers point into hdr. */
void mime_header_iter_init(struct mime_header_iter *it, const char *hdr, size_t len);
bool mime_header_next(struct mime_header_iter *it, struct mime_field *f);
/* First field called name (case-insensitive); false if none. */
bool mime_header_find(const char *hdr, size_t len, const char *name, struct mime_field *f);
/* Unfolds a raw value (line ends removed, the white space after them kept),
 * trims outer white space, and copies at most outlen - 1 octets plus NUL.
 * Returns the length of the whole unfolded value (> outlen - 1: truncated). */
size_t mime_unfold(const char *value, size_t len, char *out, size_t outlen);
/* The same, allocated. */
char *mime_unfold_dup(const char *value, size_t len);

/* BODY[HEADER.FIELDS (names)] and BODY[HEADER.FIELDS.NOT (names)]: appends
 * to out the fields of hdr whose name is (not_ false) or is not (not_
 * true) one of names, in CRLF form, then the empty line "\r\n". */
void mime_filter_headers(const char *hdr, size_t len, const char *const *names, size_t n,
                         bool not_, struct mime_out *out);

/* RFC 2047: decodes the encoded-words of a raw header value into UTF-8 (Q
 * and B; UTF-8, US-ASCII, ISO-8859-1 and Windows-1252, invalid octets in
 * them becoming U+FFFD; words in other charsets stay as they are), drops
 * the white space between adjacent encoded-words and the line ends of
 * folds; other octets are copied as they are. Writes at most outlen - 1
 * octets, cut at a character boundary, plus NUL; returns the length
 * written (a decoded NUL may make strlen() shorter). */
size_t mime_decode_header(const char *raw, char *out, size_t outlen);

/* ---- BODY[section] ---- */

enum mime_section_what {
	MIME_SECTION_ALL,               /* ""                  the whole message */
	MIME_SECTION_BODY,              /* "1.2"               the part's body */
	MIME_SECTION_HEADER,            /* "HEADER", "1.HEADER" */
	MIME_SECTION_HEADER_FIELDS,     /* the caller filters: mime_filter_headers() */
	MIME_SECTION_HEADER_FIELDS_NOT,
	MIME_SECTION_TEXT,              /* "TEXT", "1.TEXT"    a message's body */
	MIME_SECTION_MIME,              /* "1.MIME"            the part's header */
};

struct mime_span {
	uint64_t offset, size;          /* raw octets of the input */
	uint64_t crlf_size;             /* the same region in CRLF form */
	const struct mime_part *part;   /* whose header or body it is */
	enum mime_section_what what;
};

#define MIME_SECTION_OK 0
#define MIME_SECTION_BAD (-1)           /* not a section-spec: BAD */
#define MIME_SECTION_NONE 1             /* no such part: send an empty string */

/* Resolves an IMAP section-spec (RFC 3501 6.4.5) without the brackets,
 * keywords case-insensitive: "", "1.2", "HEADER", "TEXT", "1.MIME",
 * "1.HEADER" / "1.TEXT" (a message/rfc822 part), "HEADER.FIELDS (...)" and
 * "HEADER.FIELDS.NOT (...)" (the list is left to the caller). Part numbers
 * follow RFC 3501: a non-multipart message has a part 1, its body. */
int mime_section(const struct mime_part *root, const char *section, struct mime_span *out);

/* ---- LF -> CRLF ---- */

/* Octets of buf once every LF not preceded by CR (in buf) is CRLF. */
uint64_t mime_crlf_size(const char *buf, size_t len);

/* Converts a stream piece by piece; a CR at the end of one piece is seen
 * by the next. */
struct mime_crlf {
	bool last_cr;
};

void mime_crlf_init(struct mime_crlf *c);
/* Converts from in while it fits in out (an LF becoming CRLF is never
 * split); *consumed gets the input octets used. Returns octets written. */
size_t mime_crlf_convert(struct mime_crlf *c, const char *in, size_t inlen, size_t *consumed,
                         char *out, size_t outcap);

/* ---- Content-Transfer-Encoding (RFC 2045 6), for BINARY (RFC 3516) ---- */

enum mime_cte {
	MIME_CTE_IDENTITY,              /* 7BIT, 8BIT, BINARY or none */
	MIME_CTE_BASE64,
	MIME_CTE_QUOTED_PRINTABLE,
	MIME_CTE_UNKNOWN,               /* any other ("X-UUENCODE"): not decodable */
};

/* The decoder for a Content-Transfer-Encoding value as struct mime_part
 * keeps it (NULL: 7BIT); case-insensitive. */
enum mime_cte mime_cte_of(const char *encoding);
/* The same for a part's body: identity for multipart and message/rfc822
 * parts, whose bodies are never encoded (RFC 2045 6.4). */
enum mime_cte mime_part_cte(const struct mime_part *p);

/* Append the decoded octets (NULs included) to out; neither fails.
 * base64 skips characters outside its alphabet (line ends, junk) and
 * stops at the first '='; a last group without padding still gives its
 * octets. Quoted-printable removes soft line breaks ("=" then CRLF or LF,
 * also with white space between), decodes "=XX" in upper or lower case,
 * keeps any other '=' as it is, deletes white space at line ends (RFC 2045
 * 6.7 rule 3) and writes every hard line break as CRLF. The output is at
 * most len octets for base64 and 2 * len for quoted-printable (LF ->
 * CRLF). */
void mime_decode_base64(const char *in, size_t len, struct mime_out *out);
void mime_decode_qp(const char *in, size_t len, struct mime_out *out);
/* Decodes by cte (identity copies as it is); false, nothing appended, for
 * MIME_CTE_UNKNOWN. */
bool mime_decode(enum mime_cte cte, const char *in, size_t len, struct mime_out *out);

#endif
