/* The growable byte buffer (see buf.h). */
#include "core/buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

void buf_init(struct buf *b)
{
	b->cap = 64;
	b->len = 0;
	b->data = xmalloc(b->cap);
	b->data[0] = '\0';
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void buf_reserve(struct buf *b, size_t n)
{
	if (b->data == NULL)
		buf_init(b);
	if (n < b->cap - b->len)
		return;
	size_t cap = b->cap;
	while (n >= cap - b->len) {
		if (cap > SIZE_MAX / 2)
			abort();
		cap *= 2;
	}
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

void buf_append(struct buf *b, const void *p, size_t n)
{
	buf_reserve(b, n);
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void buf_puts(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}
