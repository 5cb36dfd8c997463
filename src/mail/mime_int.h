/* Internal to the MIME tree (src/mail/mime*.c): the string budget of a
 * tree, and the field parsers the line parser calls. */
#ifndef POSTERN_MAIL_MIME_INT_H
#define POSTERN_MAIL_MIME_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "mail/lex.h"
#include "mail/mime.h"

/* The strings of one tree share MIME_STORE_MAX octets. */
struct mime_store {
	size_t used;
};

/* Copies n octets of s plus NUL, cut to what is left of the budget. */
char *mime_store_dup(struct mime_store *st, const char *s, size_t n);

/* mime_param.c: fill the part from one unfolded field value. */
void mime_parse_content_type(struct mime_store *st, struct mime_part *p, const char *v, size_t n);
void mime_parse_disposition(struct mime_store *st, struct mime_part *p, const char *v, size_t n);
void mime_parse_language(struct mime_store *st, struct mime_part *p, const char *v, size_t n);
/* Content-Transfer-Encoding: the token, upper case, or NULL if none. */
char *mime_parse_encoding(struct mime_store *st, const char *v, size_t n);
void mime_params_free(struct mime_param *params, unsigned int n);

#endif
