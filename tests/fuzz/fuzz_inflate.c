/* libFuzzer target for src/net/compress.c, the inflate side of COMPRESS=DEFLATE:
 * what a hostile client sends after COMPRESS DEFLATE.
 *
 * The first octet chooses the room per call (64 octets to 8 KiB) and how the
 * input is cut into arrivals; the rest is the deflate stream. Beyond the
 * sanitizers it checks what must hold for any input and abort()s when it does
 * not: no call adds more than its room plus zlib's bounded overshoot, an error
 * stays an error, the memory stays under the limit, and the octets inflated
 * do not depend on how the input was cut or on the room. Then a round trip:
 * the input deflated by our own side inflates back to itself. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "net/compress.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* the codes in zlib's 64-bit bit buffer, 258 octets each, and a match begun */
#define OVERSHOOT (64 * 258 + 512)
#define OUT_MAX (1u << 20)

static void check(bool ok)
{
	if (!ok)
		abort();
}

/* Inflates in[0..len) arriving in pieces of `piece`, with `room` per call;
 * returns the output (at most OUT_MAX, malloc'd) and whether it failed. */
static uint8_t *inflate_all(const uint8_t *in, size_t len, size_t piece, size_t room,
                            size_t *out_len, bool *failed)
{
	struct compress *c = compress_new(compress_memory_needed());
	check(c != NULL);
	struct evbuffer *src = evbuffer_new(), *dst = evbuffer_new();
	uint8_t *out = malloc(OUT_MAX + room + OVERSHOOT);
	size_t n = 0, fed = 0;
	*failed = false;
	while (n < OUT_MAX) {
		if (fed < len && evbuffer_get_length(src) == 0) {
			size_t k = len - fed < piece ? len - fed : piece;
			evbuffer_add(src, in + fed, k);
			fed += k;
		}
		enum compress_rc rc = compress_inflate(c, src, dst, room);
		size_t got = evbuffer_get_length(dst);
		check(got <= room + OVERSHOOT);
		check(compress_memory(c) <= compress_memory_needed());
		evbuffer_remove(dst, out + n, got);
		n += got;
		if (rc == COMPRESS_ERROR) {
			*failed = true;
			check(compress_inflate(c, src, dst, room) == COMPRESS_ERROR);
			break;
		}
		/* no output: zlib took all it was given and needs more */
		if (rc == COMPRESS_MORE) {
			check(evbuffer_get_length(src) == 0);
			if (fed == len)
				break;
		}
	}
	*out_len = n < OUT_MAX ? n : OUT_MAX;
	compress_free(c);
	evbuffer_free(src);
	evbuffer_free(dst);
	return out;
}

static void round_trip(const uint8_t *data, size_t size)
{
	struct compress *ours = compress_new(compress_memory_needed());
	struct compress *theirs = compress_new(compress_memory_needed());
	check(ours != NULL && theirs != NULL);
	struct evbuffer *plain = evbuffer_new(), *wire = evbuffer_new(), *back = evbuffer_new();
	evbuffer_add(plain, data, size);
	while (evbuffer_get_length(plain) > 0)
		check(compress_deflate(ours, plain, wire, 4096) != COMPRESS_ERROR);
	check(compress_flush(ours, wire) != COMPRESS_ERROR);
	check(compress_inflate(theirs, wire, back, SIZE_MAX) != COMPRESS_ERROR);
	check(evbuffer_get_length(back) == size);
	check(size == 0 || memcmp(evbuffer_pullup(back, -1), data, size) == 0);
	compress_free(ours);
	compress_free(theirs);
	evbuffer_free(plain);
	evbuffer_free(wire);
	evbuffer_free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t room = (size_t)64 << (data[0] & 7);          /* 64 octets .. 8 KiB */
	size_t piece = 1 + (size_t)(data[0] >> 4) * 97;
	data++;
	size--;
	size_t a_len, b_len;
	bool a_failed, b_failed;
	uint8_t *a = inflate_all(data, size, piece, room, &a_len, &a_failed);
	uint8_t *b = inflate_all(data, size, size ? size : 1, 65536, &b_len, &b_failed);
	/* the same stream gives the same octets up to where either stopped */
	size_t common = a_len < b_len ? a_len : b_len;
	check(memcmp(a, b, common) == 0);
	if (!a_failed && !b_failed && a_len < OUT_MAX && b_len < OUT_MAX)
		check(a_len == b_len);
	free(a);
	free(b);
	round_trip(data, size);
	return 0;
}
