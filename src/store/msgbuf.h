/* A message being received: kept in memory while small, spilled to an
 * unlinked temporary file (O_TMPFILE) when it grows, so that a session's
 * memory stays bounded whatever the message size. Line endings are stored
 * the Maildir way: CRLF becomes LF. */
#ifndef POSTERN_MSGBUF_H
#define POSTERN_MSGBUF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Above this many bytes the message moves to disk. */
#define MSGBUF_MEM_MAX (128 * 1024)

struct msgbuf;

struct msgbuf *msgbuf_new(const char *spool_dir);
void msgbuf_free(struct msgbuf *mb);
/* Appends wire octets (CRLF line ends). 0, or -1 on a disk error (errno). */
int msgbuf_append(struct msgbuf *mb, const char *data, size_t len);
/* Flushes a CR held back at the end of the last append. */
int msgbuf_finish(struct msgbuf *mb);
uint64_t msgbuf_size(const struct msgbuf *mb);    /* stored octets (LF line ends) */
uint64_t msgbuf_lines(const struct msgbuf *mb);   /* LF count: wire size = size + lines */
/* Copies up to len stored octets starting at offset into buf: the count, 0 at
 * the end, -1 on error. Safe from another thread once appending is over. */
ssize_t msgbuf_read_at(const struct msgbuf *mb, uint64_t offset, void *buf, size_t len);
/* Writes the stored octets to fd. 0 or -1 (errno). Safe from another thread
 * once appending is over. */
int msgbuf_write_to(const struct msgbuf *mb, int fd);

#endif
