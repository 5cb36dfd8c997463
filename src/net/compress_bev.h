/* Compression on a session's connection: the raw-deflate streams of
 * compress.c as a libevent filter stacked on the session's bufferevent
 * (above TLS when there is TLS). The session engine uses it for a protocol
 * that asks (IMAP COMPRESS=DEFLATE, RFC 4978).
 *
 * Input is inflated only while the session's input buffer is under its
 * high-water mark, so a small input that inflates to much waits in its
 * compressed form. Output is deflated as it is written and flushed
 * (Z_SYNC_FLUSH) once per pass of the event loop, so that every reply,
 * an IDLE update too, reaches the client without waiting for more. */
#ifndef POSTERN_NET_COMPRESS_BEV_H
#define POSTERN_NET_COMPRESS_BEV_H

#include <stddef.h>

struct bufferevent;
struct compress_bev;

struct compress_bev_params {
	size_t mem_limit;       /* zlib's memory for both streams */
	size_t read_max;        /* inflated input waiting to be read, at most */
	size_t write_max;       /* compressed output queued below before deflating pauses */
	/* The client's stream is broken (corrupt data, or it ended): called
	 * from the event loop, never from inside a buffer operation. */
	void (*failed)(void *arg, const char *why);
	void *arg;
};

/* The filter over `under`, which it owns from then on (freed with it), or
 * NULL when zlib's memory would exceed p->mem_limit (under is untouched).
 * *state gets the filter's state, which lives as long as the filter. */
struct bufferevent *compress_bev_new(struct bufferevent *under, const struct compress_bev_params *p,
                                     struct compress_bev **state);
/* Octets zlib holds for the two streams. */
size_t compress_bev_memory(const struct compress_bev *cb);
/* Writes out at once whatever deflate holds (before closing). */
void compress_bev_flush(struct compress_bev *cb);
/* The session is going: p->failed is never called again. */
void compress_bev_detach(struct compress_bev *cb);

#endif
