/* The header reader: every part of postern that looks at a message's header
 * fields (SMTP checks, DKIM, IMAP, the queue) goes through this file, so
 * that they never disagree about which fields a message has.
 *
 * Two modes:
 *   strict  (RFC 5322 2.2): every line is "name:" (a name of printable
 *           ASCII but ':', obsolete white space before the colon allowed,
 *           RFC 5322 4.5) or a fold of the field above it; the first line
 *           that is neither, a NUL or a CR not followed by LF stops the
 *           reader with an error. For what postern signs or judges.
 *   lenient what IMAP renders from stored mail: lines without a colon and
 *           folds with no field before them are skipped, the name is what
 *           stands before the first colon; never an error.
 * Both take LF or CRLF line ends and end at the first empty line. Nothing
 * is copied: fields point into the caller's buffer. */
#ifndef POSTERN_MAIL_HEADER_H
#define POSTERN_MAIL_HEADER_H

#include <stdbool.h>
#include <stddef.h>

enum mail_header_mode {
	MAIL_HEADER_LENIENT = 0,
	MAIL_HEADER_STRICT,
};

enum mail_header_error {
	MAIL_HEADER_OK = 0,
	MAIL_HEADER_CONTINUATION_FIRST,   /* a folded line with no field before it */
	MAIL_HEADER_BAD_NAME,             /* a line that is not "name:" */
	MAIL_HEADER_NUL,                  /* a NUL octet in a field */
	MAIL_HEADER_BARE_CR,              /* a CR not followed by LF in a field */
};

struct mail_field {
	const char *name;       /* as written, white space before ':' removed */
	size_t name_len;
	const char *value;      /* raw, from after ':' to the end of the field, */
	size_t value_len;       /* folds included, the last line end excluded */
	const char *raw;        /* the whole field with its last line end */
	size_t raw_len;
};

/* The field from the first octet of its name through its last line, the
 * last line end excluded (what DKIM canonicalises). */
static inline size_t mail_field_len(const struct mail_field *f)
{
	return (size_t)(f->value + f->value_len - f->name);
}

struct mail_header_iter {
	const char *p, *end;
	enum mail_header_mode mode;
	size_t nfields;                 /* fields returned so far */
	enum mail_header_error error;   /* why a strict reader stopped early */
};

/* Iterates the fields of a header block (the empty line that ends it may
 * be included, or not). Pointers point into hdr. */
void mail_header_iter_init(struct mail_header_iter *it, const char *hdr, size_t len,
                           enum mail_header_mode mode);
/* The next field; false at the end of the header, or (strict) at the
 * first malformed line, it->error then saying why. */
bool mail_header_next(struct mail_header_iter *it, struct mail_field *f);
/* "malformed header: ..." for an error, the field count included. */
void mail_header_error_text(const struct mail_header_iter *it, char *out, size_t outlen);

/* Splits the first line of a field (n octets, line end excluded): on
 * success *name_len is the name without the white space before ':' and
 * *colon the offset of the colon. Strict: the name is 1*ftext (RFC 5322
 * 3.6.8); lenient: any octets before the first colon. false when the line
 * does not start a field. For line readers that cannot use the iterator
 * (the MIME tree stops at boundaries). */
bool mail_header_line_split(const char *line, size_t n, enum mail_header_mode mode,
                            size_t *name_len, size_t *colon);

/* Whether f is called name (case-insensitive). */
bool mail_field_is(const struct mail_field *f, const char *name);
/* First field called name (case-insensitive), lenient; false if none. */
bool mail_header_find(const char *hdr, size_t len, const char *name, struct mail_field *f);

/* A whole header block split into fields, read once and shared. */
struct mail_header {
	struct mail_field *fields;
	size_t nfields;
};

/* Splits hdr into h (free with mail_header_free(), also after an error).
 * More than max_fields fields (0: no limit) is an error, and so is a
 * malformed line in strict mode. 0, or -1 with err. */
int mail_header_parse(struct mail_header *h, const char *hdr, size_t len,
                      enum mail_header_mode mode, size_t max_fields, char *err, size_t errlen);
void mail_header_free(struct mail_header *h);
/* Fields called name (case-insensitive). */
size_t mail_header_count(const struct mail_header *h, const char *name);

/* Finds the empty line (LF or CRLF alone) that ends the header block in
 * buf[0, len), resuming at *scan (0 the first time; afterwards the first
 * line not yet seen whole, so a buffer that grows is never read twice).
 * true when found: *hdr_len is the header block without that line and
 * *body where the body starts. false: no empty line yet. */
bool mail_header_block_end(const char *buf, size_t len, size_t *scan, size_t *hdr_len,
                           size_t *body);

/* Unfolds a raw value (line ends removed, the white space after them kept),
 * trims outer white space, and copies at most outlen - 1 octets plus NUL.
 * Returns the length of the whole unfolded value (> outlen - 1: truncated). */
size_t mail_unfold(const char *value, size_t len, char *out, size_t outlen);
/* The same, allocated. */
char *mail_unfold_dup(const char *value, size_t len);

#endif
