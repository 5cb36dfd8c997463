/* A growable byte buffer for the message library and its renderings. */
#ifndef POSTERN_MAIL_BUF_H
#define POSTERN_MAIL_BUF_H

#include <stddef.h>

/* Always NUL-terminated; data may hold NULs only if appended explicitly
 * (only the transfer decoders write one). Zero-initialised is empty. */
struct mail_buf {
	char *data;
	size_t len, cap;
};

void mail_buf_init(struct mail_buf *b);
void mail_buf_free(struct mail_buf *b);
void mail_buf_reset(struct mail_buf *b);   /* len = 0, memory kept */
void mail_buf_append(struct mail_buf *b, const void *p, size_t n);
void mail_buf_puts(struct mail_buf *b, const char *s);

#endif
