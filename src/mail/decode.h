/* Content-Transfer-Encoding decoders (RFC 2045 6): base64 and
 * quoted-printable, for FETCH BINARY (RFC 3516) and any reader of bodies. */
#ifndef POSTERN_MAIL_DECODE_H
#define POSTERN_MAIL_DECODE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

struct mime_part;

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
void mime_decode_base64(const char *in, size_t len, struct buf *out);
void mime_decode_qp(const char *in, size_t len, struct buf *out);
/* Decodes by cte (identity copies as it is); false, nothing appended, for
 * MIME_CTE_UNKNOWN. */
bool mime_decode(enum mime_cte cte, const char *in, size_t len, struct buf *out);

#endif
