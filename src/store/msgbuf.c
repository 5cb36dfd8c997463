#include "store/msgbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"

struct msgbuf {
	char *spool_dir;
	char *mem;
	size_t mem_len, mem_cap;
	int fd;                 /* -1 while in memory */
	uint64_t size, lines;
	bool held_cr;           /* CR at the end of the last chunk, LF may follow */
};

struct msgbuf *msgbuf_new(const char *spool_dir)
{
	struct msgbuf *mb = xcalloc(1, sizeof(*mb));
	mb->spool_dir = xstrdup(spool_dir);
	mb->fd = -1;
	return mb;
}

void msgbuf_free(struct msgbuf *mb)
{
	if (mb == NULL)
		return;
	if (mb->fd >= 0)
		close(mb->fd);
	free(mb->mem);
	free(mb->spool_dir);
	free(mb);
}

static int spill_to_disk(struct msgbuf *mb)
{
	/* O_TMPFILE: the file has no name, so a crash leaves nothing behind */
	mb->fd = open(mb->spool_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (mb->fd < 0)
		return -1;
	if (write_all(mb->fd, mb->mem, mb->mem_len) < 0)
		return -1;
	free(mb->mem);
	mb->mem = NULL;
	mb->mem_len = mb->mem_cap = 0;
	return 0;
}

static int store_bytes(struct msgbuf *mb, const char *data, size_t len)
{
	if (len == 0)
		return 0;
	mb->size += len;
	if (mb->fd < 0 && mb->mem_len + len > MSGBUF_MEM_MAX && spill_to_disk(mb) < 0)
		return -1;
	if (mb->fd >= 0)
		return write_all(mb->fd, data, len);
	if (mb->mem_len + len > mb->mem_cap) {
		size_t cap = mb->mem_cap ? mb->mem_cap : 4096;
		while (cap < mb->mem_len + len)
			cap *= 2;
		mb->mem = xrealloc(mb->mem, cap);
		mb->mem_cap = cap;
	}
	memcpy(mb->mem + mb->mem_len, data, len);
	mb->mem_len += len;
	return 0;
}

int msgbuf_append(struct msgbuf *mb, const char *data, size_t len)
{
	char out[4096];
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		char c = data[i];
		if (n + 2 > sizeof(out)) {
			if (store_bytes(mb, out, n) < 0)
				return -1;
			n = 0;
		}
		if (mb->held_cr) {
			mb->held_cr = false;
			if (c != '\n')
				out[n++] = '\r'; /* a bare CR stays as it was */
		}
		if (c == '\r') {
			mb->held_cr = true;
			continue;
		}
		if (c == '\n')
			mb->lines++;
		out[n++] = c;
	}
	return store_bytes(mb, out, n);
}

int msgbuf_finish(struct msgbuf *mb)
{
	if (!mb->held_cr)
		return 0;
	mb->held_cr = false;
	return store_bytes(mb, "\r", 1);
}

uint64_t msgbuf_size(const struct msgbuf *mb)
{
	return mb->size;
}

uint64_t msgbuf_lines(const struct msgbuf *mb)
{
	return mb->lines;
}

ssize_t msgbuf_read_at(const struct msgbuf *mb, uint64_t offset, void *buf, size_t len)
{
	if (mb->fd >= 0) {
		ssize_t n;
		do
			n = pread(mb->fd, buf, len, (off_t)offset);
		while (n < 0 && errno == EINTR);
		return n;
	}
	if (offset >= mb->mem_len)
		return 0;
	size_t n = mb->mem_len - (size_t)offset < len ? mb->mem_len - (size_t)offset : len;
	memcpy(buf, mb->mem + offset, n);
	return (ssize_t)n;
}

int msgbuf_write_to(const struct msgbuf *mb, int fd)
{
	if (mb->fd < 0)
		return write_all(fd, mb->mem, mb->mem_len);
	char buf[65536];
	off_t off = 0;
	for (;;) {
		ssize_t n = pread(mb->fd, buf, sizeof(buf), off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		if (write_all(fd, buf, (size_t)n) < 0)
			return -1;
		off += n;
	}
}
