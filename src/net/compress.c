#include "net/compress.h"

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <event2/buffer.h>
#include <zlib.h>

/* Our deflate: 4 KiB window, memLevel 5 — about 38 KiB instead of zlib's
 * default 256 KiB, for text that compresses nearly as well. Raw deflate
 * (negative windowBits, no zlib header): RFC 4978 3. */
#define DEFLATE_WBITS 12
#define DEFLATE_MEMLEVEL 5
/* The client's deflate may use any window up to 32 KiB. */
#define INFLATE_WBITS 15
/* One zlib call works on at most this much output. */
#define COMPRESS_CHUNK (16 * 1024)
/* After the output reached its room, inflate calls with no new input finish
 * what zlib decoded already (a match it had begun, the codes in its bit
 * buffer: at most 64 of 258 octets), this much at a time. */
#define INFLATE_SLACK 512

struct compress {
	z_stream in, out;
	bool in_ready, out_ready;       /* inflateInit / deflateInit succeeded */
	bool inflate_full;              /* last inflate filled its output: more may wait inside */
	bool unflushed;
	size_t memory, limit;
	const char *error;
};

/* ---- counted allocation ----------------------------------------------------------- */

/* Each block carries its size in front, aligned for anything zlib stores. */
#define HDR (sizeof(max_align_t))

static voidpf counted_alloc(voidpf opaque, uInt items, uInt size)
{
	struct compress *c = opaque;
	if (size != 0 && items > (SIZE_MAX - HDR) / size)
		return Z_NULL;
	size_t n = (size_t)items * size + HDR;
	if (n > c->limit - c->memory)
		return Z_NULL;
	unsigned char *p = malloc(n);
	if (p == NULL)
		return Z_NULL;
	*(size_t *)(void *)p = n;
	c->memory += n;
	return p + HDR;
}

static void counted_free(voidpf opaque, voidpf addr)
{
	struct compress *c = opaque;
	if (addr == Z_NULL)
		return;
	unsigned char *p = (unsigned char *)addr - HDR;
	c->memory -= *(size_t *)(void *)p;
	free(p);
}

size_t compress_memory_needed(void)
{
	/* zlib.h ("memory footprint"): deflate (1 << (windowBits+2)) + (1 <<
	 * (memLevel+9)), inflate 1 << windowBits, each plus its state (under
	 * 8 KiB) and our headers */
	return ((size_t)1 << (DEFLATE_WBITS + 2)) + ((size_t)1 << (DEFLATE_MEMLEVEL + 9)) +
	       ((size_t)1 << INFLATE_WBITS) + 2 * 8192 + 16 * HDR;
}

struct compress *compress_new(size_t mem_limit)
{
	struct compress *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->limit = mem_limit;
	c->in.zalloc = c->out.zalloc = counted_alloc;
	c->in.zfree = c->out.zfree = counted_free;
	c->in.opaque = c->out.opaque = c;
	c->in_ready = inflateInit2(&c->in, -INFLATE_WBITS) == Z_OK;
	c->out_ready = c->in_ready &&
		deflateInit2(&c->out, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -DEFLATE_WBITS,
		             DEFLATE_MEMLEVEL, Z_DEFAULT_STRATEGY) == Z_OK;
	/* inflate takes its window only with its first output: see now that it
	 * fits, so that a session compressing never fails for memory later */
	void *window = c->out_ready ? counted_alloc(c, 1u << INFLATE_WBITS, 1) : NULL;
	if (window == NULL) {
		compress_free(c);
		return NULL;
	}
	counted_free(c, window);
	return c;
}

void compress_free(struct compress *c)
{
	if (c == NULL)
		return;
	if (c->in_ready)
		inflateEnd(&c->in);
	if (c->out_ready)
		deflateEnd(&c->out);
	free(c);
}

size_t compress_memory(const struct compress *c)
{
	return c->memory;
}

const char *compress_error(const struct compress *c)
{
	return c->error != NULL ? c->error : "no error";
}

static enum compress_rc fail(struct compress *c, z_stream *z, const char *fallback)
{
	c->error = z->msg != NULL ? z->msg : fallback;
	return COMPRESS_ERROR;
}

/* ---- one zlib call between two evbuffers ----------------------------------------------- */

typedef int (*zlib_step)(z_stream *z, int flush);

/* Runs step once on the first chunk of src (none when src is NULL or empty)
 * with up to `want` octets of room in dst; drains what it used and keeps what
 * it made. Returns zlib's code; *made gets the octets added to dst. */
static int run_step(z_stream *z, zlib_step step, int flush, struct evbuffer *src,
                    struct evbuffer *dst, size_t want, size_t *made)
{
	struct evbuffer_iovec in = { NULL, 0 }, out;
	*made = 0;
	if (src != NULL && evbuffer_get_length(src) > 0 && evbuffer_peek(src, -1, NULL, &in, 1) < 1)
		in.iov_len = 0;
	if (evbuffer_reserve_space(dst, (ev_ssize_t)want, &out, 1) != 1)
		return Z_MEM_ERROR;
	size_t in_len = in.iov_len < UINT_MAX ? in.iov_len : UINT_MAX;
	z->next_in = in.iov_base;
	z->avail_in = (uInt)in_len;
	z->next_out = out.iov_base;
	z->avail_out = (uInt)want;
	int rc = step(z, flush);
	size_t used = in_len - z->avail_in;
	*made = want - z->avail_out;
	z->next_in = z->next_out = NULL;
	if (used > 0)
		evbuffer_drain(src, used);
	if (*made > 0) {
		out.iov_len = *made;
		evbuffer_commit_space(dst, &out, 1);
	}
	return rc;
}

static size_t chunk_for(size_t room, size_t produced)
{
	return room - produced < COMPRESS_CHUNK ? room - produced : COMPRESS_CHUNK;
}

/* ---- inflate: the client's stream ----------------------------------------------------------- */

enum compress_rc compress_inflate(struct compress *c, struct evbuffer *src, struct evbuffer *dst,
                                  size_t room)
{
	size_t produced = 0, made;
	if (c->error != NULL)
		return COMPRESS_ERROR;
	for (;;) {
		bool more_input = evbuffer_get_length(src) > 0 && produced < room;
		/* with the room used up, only what zlib holds already may follow */
		if (!more_input && !c->inflate_full)
			break;
		size_t want = produced < room ? chunk_for(room, produced) : INFLATE_SLACK;
		int rc = run_step(&c->in, inflate, Z_SYNC_FLUSH, more_input ? src : NULL, dst, want,
		                  &made);
		produced += made;
		c->inflate_full = made == want;
		if (rc == Z_STREAM_END) {
			/* RFC 4978 4: compression lasts as long as the connection */
			c->error = "deflate stream ended";
			return COMPRESS_ERROR;
		}
		if (rc == Z_BUF_ERROR && made == 0)
			break;   /* no progress: it needs more input */
		if (rc != Z_OK && rc != Z_BUF_ERROR)
			return fail(c, &c->in, rc == Z_MEM_ERROR ? "out of memory" : "corrupt deflate data");
	}
	return produced > 0 ? COMPRESS_OK : COMPRESS_MORE;
}

/* ---- deflate: our stream ------------------------------------------------------------------- */

enum compress_rc compress_deflate(struct compress *c, struct evbuffer *src, struct evbuffer *dst,
                                  size_t room)
{
	size_t produced = 0, made;
	bool progress = false;
	if (c->error != NULL)
		return COMPRESS_ERROR;
	while (evbuffer_get_length(src) > 0 && produced < room) {
		size_t before = evbuffer_get_length(src);
		int rc = run_step(&c->out, deflate, Z_NO_FLUSH, src, dst, chunk_for(room, produced),
		                  &made);
		produced += made;
		if (evbuffer_get_length(src) < before)
			c->unflushed = progress = true;
		if (rc != Z_OK && rc != Z_BUF_ERROR)
			return fail(c, &c->out, "deflate failed");
		if (made == 0 && evbuffer_get_length(src) == before)
			break;
	}
	return progress || produced > 0 ? COMPRESS_OK : COMPRESS_MORE;
}

bool compress_unflushed(const struct compress *c)
{
	return c->unflushed;
}

enum compress_rc compress_flush(struct compress *c, struct evbuffer *dst)
{
	size_t made;
	if (c->error != NULL)
		return COMPRESS_ERROR;
	if (!c->unflushed)
		return COMPRESS_MORE;
	/* done when zlib leaves room unused: all it held is out */
	do {
		int rc = run_step(&c->out, deflate, Z_SYNC_FLUSH, NULL, dst, COMPRESS_CHUNK, &made);
		if (rc != Z_OK && rc != Z_BUF_ERROR)
			return fail(c, &c->out, "deflate failed");
	} while (made == COMPRESS_CHUNK);
	c->unflushed = false;
	return COMPRESS_OK;
}
