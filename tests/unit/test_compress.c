/* Unit tests for src/net/compress.c, the raw-deflate core of COMPRESS=DEFLATE
 * (RFC 4978): round trips, flushing, the room an inflate may fill (a small
 * input that inflates to much), corrupt and ended streams, the memory limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <zlib.h>

#include "net/compress.h"

#define LIMIT (1024 * 1024)
/* zlib finishes what it has decoded already: the codes in its 64-bit bit
 * buffer, at most 258 octets each */
#define INFLATE_OVERSHOOT (64 * 258 + 512)

/* What a client's zlib sends: raw deflate, 32 KiB window, sync-flushed. */
static size_t client_deflate(const void *data, size_t len, unsigned char *out, size_t cap, bool finish)
{
	z_stream z = { 0 };
	assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (unsigned char *)(uintptr_t)data;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	int rc = deflate(&z, finish ? Z_FINISH : Z_SYNC_FLUSH);
	assert_true(rc == Z_OK || rc == Z_STREAM_END);
	assert_int_equal(z.avail_in, 0);
	size_t n = cap - z.avail_out;
	deflateEnd(&z);
	return n;
}

static void test_round_trip_with_flush(void **state)
{
	(void)state;
	struct compress *server = compress_new(LIMIT), *client = compress_new(LIMIT);
	assert_non_null(server);
	assert_non_null(client);
	struct evbuffer *plain = evbuffer_new(), *wire = evbuffer_new(), *back = evbuffer_new();
	for (int i = 0; i < 5000; i++)
		evbuffer_add_printf(plain, "* %d FETCH (FLAGS (\\Seen) UID %d)\r\n", i + 1, i + 100);
	size_t total = evbuffer_get_length(plain);
	char *expect = malloc(total);
	evbuffer_copyout(plain, expect, total);

	assert_int_equal(compress_deflate(server, plain, wire, SIZE_MAX), COMPRESS_OK);
	assert_int_equal(evbuffer_get_length(plain), 0);
	assert_true(compress_unflushed(server));
	/* without the flush the tail stays inside zlib */
	struct evbuffer *copy = evbuffer_new();
	evbuffer_add_buffer_reference(copy, wire);
	compress_inflate(client, copy, back, SIZE_MAX);
	assert_true(evbuffer_get_length(back) < total);
	evbuffer_free(copy);
	evbuffer_drain(back, evbuffer_get_length(back));
	compress_free(client);
	client = compress_new(LIMIT);

	assert_int_equal(compress_flush(server, wire), COMPRESS_OK);
	assert_false(compress_unflushed(server));
	assert_int_equal(compress_flush(server, wire), COMPRESS_MORE);   /* nothing pending */
	assert_true(evbuffer_get_length(wire) < total / 5);
	assert_int_equal(compress_inflate(client, wire, back, SIZE_MAX), COMPRESS_OK);
	assert_int_equal(evbuffer_get_length(back), total);
	assert_memory_equal(evbuffer_pullup(back, -1), expect, total);

	free(expect);
	evbuffer_free(plain);
	evbuffer_free(wire);
	evbuffer_free(back);
	compress_free(server);
	compress_free(client);
}

/* A bomb: 16 MiB of one octet in some 16 KiB. Each call adds at most its
 * room (and what zlib had decoded already); all of it comes out in the end,
 * however small the room, and nothing stays inside zlib once the input is
 * used up. */
static void inflate_in_rooms(size_t room)
{
	size_t size = 16u << 20;
	unsigned char *big = malloc(size), *z = malloc(1 << 20);
	memset(big, 'A', size);
	size_t zlen = client_deflate(big, size, z, 1 << 20, false);
	assert_true(zlen < 64 * 1024);
	struct compress *c = compress_new(LIMIT);
	struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();
	evbuffer_add(in, z, zlen);
	size_t got = 0;
	for (int calls = 0; got < size; calls++) {
		assert_true(calls < (int)(size / room) + 100);
		enum compress_rc rc = compress_inflate(c, in, out, room);
		assert_int_equal(rc, COMPRESS_OK);
		size_t n = evbuffer_get_length(out);
		assert_true(n <= room + INFLATE_OVERSHOOT);
		got += n;
		evbuffer_drain(out, n);
	}
	assert_int_equal(got, size);
	/* the flush's empty stored block is all that is left */
	assert_int_equal(compress_inflate(c, in, out, room), COMPRESS_MORE);
	assert_int_equal(evbuffer_get_length(in), 0);
	assert_int_equal(evbuffer_get_length(out), 0);
	assert_true(compress_memory(c) <= compress_memory_needed());
	compress_free(c);
	evbuffer_free(in);
	evbuffer_free(out);
	free(big);
	free(z);
}

static void test_bomb_bounded_by_room(void **state)
{
	(void)state;
	inflate_in_rooms(256 * 1024);
	inflate_in_rooms(4096);
	inflate_in_rooms(1);
}

static void test_corrupt_input(void **state)
{
	(void)state;
	struct compress *c = compress_new(LIMIT);
	struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();
	/* block type 3 does not exist */
	evbuffer_add(in, "\x07\xff\xff\xff", 4);
	assert_int_equal(compress_inflate(c, in, out, 4096), COMPRESS_ERROR);
	assert_string_equal(compress_error(c), "invalid block type");
	evbuffer_add(in, "more", 4);
	assert_int_equal(compress_inflate(c, in, out, 4096), COMPRESS_ERROR);   /* stays broken */
	compress_free(c);
	evbuffer_free(in);
	evbuffer_free(out);
}

static void test_stream_end_is_an_error(void **state)
{
	(void)state;
	unsigned char z[256];
	size_t n = client_deflate("a NOOP\r\n", 8, z, sizeof(z), true);
	struct compress *c = compress_new(LIMIT);
	struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();
	evbuffer_add(in, z, n);
	assert_int_equal(compress_inflate(c, in, out, 4096), COMPRESS_ERROR);
	assert_string_equal(compress_error(c), "deflate stream ended");
	compress_free(c);
	evbuffer_free(in);
	evbuffer_free(out);
}

static void test_memory_limit(void **state)
{
	(void)state;
	size_t need = compress_memory_needed();
	assert_true(need < 96 * 1024);      /* well under zlib's defaults (about 300 KiB) */
	assert_null(compress_new(0));
	assert_null(compress_new(need / 2));
	/* without room for the inflate window it is refused at once, not later */
	assert_null(compress_new(need - (32 * 1024)));
	struct compress *c = compress_new(need);
	assert_non_null(c);
	assert_true(compress_memory(c) > 0 && compress_memory(c) <= need);
	compress_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_with_flush),
		cmocka_unit_test(test_bomb_bounded_by_room),
		cmocka_unit_test(test_corrupt_input),
		cmocka_unit_test(test_stream_end_is_an_error),
		cmocka_unit_test(test_memory_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
