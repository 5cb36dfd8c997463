/* The MIME tree of a message (RFC 2045, RFC 2046 5.1, RFC 5322 2.2): its
 * parts, their Content-* fields and the envelope fields of each message
 * header, with where every header and body lies. IMAP renders it
 * (imap/imap_render.h); the header reader is mail/header.h.
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
#ifndef POSTERN_MAIL_MIME_H
#define POSTERN_MAIL_MIME_H

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
/* Octets of strings kept for a whole message tree; past it, further values
 * are stored truncated (only a hostile message gets there). */
#define MIME_STORE_MAX (1024 * 1024)

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

#endif
