/* Raw deflate for a session's two directions (RFC 4978 COMPRESS=DEFLATE),
 * on evbuffers and without an event loop, so that it can be tested and
 * fuzzed alone. compress_bev.c stacks it on a session's bufferevent.
 *
 * Every allocation zlib makes for the two streams is counted against the
 * limit given to compress_new(): past it zlib is told there is no memory,
 * and the stream fails like any other error. */
#ifndef POSTERN_NET_COMPRESS_H
#define POSTERN_NET_COMPRESS_H

#include <stdbool.h>
#include <stddef.h>

struct evbuffer;
struct compress;

enum compress_rc {
	COMPRESS_OK,            /* output was produced */
	COMPRESS_MORE,          /* nothing produced: more input (or room) is needed */
	COMPRESS_ERROR,         /* the stream is broken: compress_error() says why */
};

/* The memory our deflate stream takes at most: its window and hash are
 * smaller than zlib's defaults (RFC 4978 4 lets the sender choose), while
 * inflate must accept the client's 32 KiB window. */
size_t compress_memory_needed(void);

/* Both streams, or NULL when their memory would exceed mem_limit (or there
 * is none). Free with compress_free(). */
struct compress *compress_new(size_t mem_limit);
void compress_free(struct compress *c);
/* Octets zlib holds for the two streams now. */
size_t compress_memory(const struct compress *c);
/* Why the last call failed ("invalid distance too far back", "stream ended"). */
const char *compress_error(const struct compress *c);

/* Inflates what src holds (drained as it is used) into dst, stopping once
 * `room` octets were added: a small input that inflates to much never
 * takes more than that, plus what zlib decoded already (the codes in its
 * bit buffer: under 17 KiB), so that nothing waits inside zlib for input
 * that may never come. */
enum compress_rc compress_inflate(struct compress *c, struct evbuffer *src, struct evbuffer *dst,
                                  size_t room);
/* Deflates src into dst until src is empty or `room` octets were added;
 * the output may stay inside zlib until compress_flush(). COMPRESS_OK when
 * input was taken or output made. */
enum compress_rc compress_deflate(struct compress *c, struct evbuffer *src, struct evbuffer *dst,
                                  size_t room);
/* True when input was deflated since the last flush. */
bool compress_unflushed(const struct compress *c);
/* Z_SYNC_FLUSH: everything deflated so far goes into dst, ending on a byte
 * boundary the peer can inflate completely. Nothing when nothing is pending. */
enum compress_rc compress_flush(struct compress *c, struct evbuffer *dst);

#endif
