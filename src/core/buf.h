/* A growable byte buffer: renderings, decoded text, response pieces. */
#ifndef POSTERN_CORE_BUF_H
#define POSTERN_CORE_BUF_H

#include <stddef.h>

/* Always NUL-terminated once anything was put in; data may hold NULs only if
 * appended explicitly (the transfer decoders write one). Zero-initialised is
 * empty. The owner releases it with buf_free(). */
struct buf {
	char *data;
	size_t len, cap;
};

void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);   /* len = 0, memory kept */
/* Room for at least n octets of data besides the NUL; for writers that fill
 * data directly (then set len and the NUL themselves). */
void buf_reserve(struct buf *b, size_t n);
void buf_append(struct buf *b, const void *p, size_t n);
void buf_puts(struct buf *b, const char *s);

#endif
