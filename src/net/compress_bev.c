#include "net/compress_bev.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "net/compress.h"

struct compress_bev {
	struct compress *z;
	struct bufferevent *under;
	struct event *later;            /* the flush, or the failure, from the loop */
	struct compress_bev_params p;
	bool failed;
	bool detached;
};

static void report_failure(struct compress_bev *cb)
{
	cb->failed = true;
	event_active(cb->later, EV_READ, 0);
}

static enum bufferevent_filter_result filter_in(struct evbuffer *src, struct evbuffer *dst,
                                                ev_ssize_t limit, enum bufferevent_flush_mode mode,
                                                void *ctx)
{
	struct compress_bev *cb = ctx;
	(void)mode;
	if (cb->failed)
		return BEV_ERROR;
	/* libevent passes no limit at the end of input; ours holds all the same */
	size_t have = evbuffer_get_length(dst);
	size_t room = have < cb->p.read_max ? cb->p.read_max - have : 0;
	if (limit >= 0 && (size_t)limit < room)
		room = (size_t)limit;
	if (room == 0)
		return BEV_NEED_MORE;
	switch (compress_inflate(cb->z, src, dst, room)) {
	case COMPRESS_OK:
		return BEV_OK;
	case COMPRESS_MORE:
		return BEV_NEED_MORE;
	case COMPRESS_ERROR:
		break;
	}
	report_failure(cb);
	return BEV_ERROR;
}

static enum bufferevent_filter_result filter_out(struct evbuffer *src, struct evbuffer *dst,
                                                 ev_ssize_t limit, enum bufferevent_flush_mode mode,
                                                 void *ctx)
{
	struct compress_bev *cb = ctx;
	size_t room = limit >= 0 ? (size_t)limit : SIZE_MAX;
	enum compress_rc rc = room > 0 ? compress_deflate(cb->z, src, dst, room) : COMPRESS_MORE;
	if (rc == COMPRESS_ERROR) {
		report_failure(cb);
		return BEV_ERROR;
	}
	if (mode != BEV_NORMAL)
		compress_flush(cb->z, dst);
	else if (compress_unflushed(cb->z))
		/* one flush for all a pass of the loop writes, not one per write */
		event_active(cb->later, EV_WRITE, 0);
	return rc == COMPRESS_OK ? BEV_OK : BEV_NEED_MORE;
}

void compress_bev_flush(struct compress_bev *cb)
{
	/* straight below: what deflate holds comes before what waits above it */
	if (compress_flush(cb->z, bufferevent_get_output(cb->under)) == COMPRESS_ERROR)
		report_failure(cb);
}

static void on_later(evutil_socket_t fd, short what, void *arg)
{
	struct compress_bev *cb = arg;
	(void)fd;
	(void)what;
	if (cb->detached)
		return;
	if (cb->failed) {
		cb->detached = true;
		cb->p.failed(cb->p.arg, compress_error(cb->z));   /* frees the session, and us */
		return;
	}
	compress_bev_flush(cb);
}

static void free_state(void *ctx)
{
	struct compress_bev *cb = ctx;
	if (cb->later != NULL)
		event_free(cb->later);
	compress_free(cb->z);
	free(cb);
}

struct bufferevent *compress_bev_new(struct bufferevent *under, const struct compress_bev_params *p,
                                     struct compress_bev **state)
{
	struct compress_bev *cb = calloc(1, sizeof(*cb));
	if (cb == NULL)
		return NULL;
	cb->p = *p;
	cb->under = under;
	cb->z = compress_new(p->mem_limit);
	cb->later = event_new(bufferevent_get_base(under), -1, 0, on_later, cb);
	if (cb->z == NULL || cb->later == NULL) {
		free_state(cb);
		return NULL;
	}
	/* deferred callbacks: the filter runs inside every write and every drain
	 * of input, and the session must not be called back from there */
	struct bufferevent *bev = bufferevent_filter_new(under, filter_in, filter_out,
		BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS, free_state, cb);
	if (bev == NULL) {
		free_state(cb);
		return NULL;
	}
	/* the filter stops deflating while this much waits below it, so the
	 * session's flow control still sees a client that does not read */
	bufferevent_setwatermark(under, EV_WRITE, 0, p->write_max);
	*state = cb;
	return bev;
}

size_t compress_bev_memory(const struct compress_bev *cb)
{
	return compress_memory(cb->z);
}

void compress_bev_detach(struct compress_bev *cb)
{
	cb->detached = true;
	event_del(cb->later);
}
