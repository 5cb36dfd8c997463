/* One HTTP/1.1 POST to rspamd (src/filter/rspamd.c, rspamd_learn.c): the
 * request head, then a body streamed from a reader as the socket takes it;
 * the reply's status and body read to a bound; one deadline over it all.
 * Internal to src/filter. */
#ifndef POSTERN_RSPAMD_HTTP_H
#define POSTERN_RSPAMD_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/config.h"

struct event_base;

/* The body: prefix, then size octets that read_at gives from offset 0. */
struct rspamd_body {
	const char *prefix;             /* may be NULL; copied */
	size_t prefix_len;
	ssize_t (*read_at)(void *arg, uint64_t off, void *buf, size_t len);
	void *arg;
	uint64_t size;
};

/* The reply's head: the status line and the fields that matter. */
#define RSPAMD_HTTP_HEAD_MAX (16 * 1024)
struct rspamd_http_head {
	int status;                     /* 100..599 */
	long long content_length;       /* -1: none (the body ends with the connection) */
};
/* Parses a reply head (the octets before the empty line, without it). 0, or
 * -1 with err: not HTTP/1.x, a bad status, chunked (rspamd does not send it),
 * a bad or repeated Content-Length. */
int rspamd_http_parse_head(const char *head, size_t len, struct rspamd_http_head *out,
                           char *err, size_t errlen);

/* status 0 and err set when no reply came (connect, timeout, reading the
 * body, a reply over the bound); body is NUL-terminated. */
typedef void rspamd_http_done_fn(void *arg, int status, const char *body, size_t len,
                                 const char *err);
struct rspamd_http;
/* head: the request line and fields, each ending in CRLF, without the
 * empty line (Content-Length is added). done runs once, never inside
 * this call; the caller frees the request after it (or instead of it). */
struct rspamd_http *rspamd_http_post(struct event_base *base, const struct listen_addr *to,
                                     const char *head, const struct rspamd_body *body,
                                     uint64_t timeout_ms, size_t max_reply,
                                     rspamd_http_done_fn *done, void *arg);
void rspamd_http_free(struct rspamd_http *h);

#endif
