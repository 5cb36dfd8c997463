/* The growable buffer of src/mail (see buf.h). */
#include "mail/buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

void mail_buf_init(struct mail_buf *b)
{
	b->cap = 64;
	b->len = 0;
	b->data = xmalloc(b->cap);
	b->data[0] = '\0';
}

void mail_buf_free(struct mail_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void mail_buf_reset(struct mail_buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void mail_buf_append(struct mail_buf *b, const void *p, size_t n)
{
	if (b->data == NULL)
		mail_buf_init(b);
	if (n >= b->cap - b->len) {
		size_t cap = b->cap;
		while (n >= cap - b->len) {
			if (cap > SIZE_MAX / 2)
				abort();
			cap *= 2;
		}
		b->data = xrealloc(b->data, cap);
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void mail_buf_puts(struct mail_buf *b, const char *s)
{
	mail_buf_append(b, s, strlen(s));
}
