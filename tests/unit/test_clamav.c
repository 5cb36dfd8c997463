/* Unit tests for src/filter/clamav_reply.c (clamd's replies, hostile ones
 * included) and src/filter/clamav.c against a fake clamd on a UNIX socket
 * driven by the same event loop: the INSTREAM framing, what a reply
 * does, clamav.on_error, max_size, the deadline, a reply too long, and
 * how far the client reads ahead of what clamd has taken. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "filter/clamav.h"
#include "store/msgbuf.h"

static enum clamav_reply_kind parse(const char *line, char *name)
{
	return clamav_parse_reply(line, strlen(line), name, CLAMAV_NAME_MAX + 1);
}

static void test_reply_kinds(void **state)
{
	char name[CLAMAV_NAME_MAX + 1];
	assert_int_equal(parse("stream: OK", name), CLAMAV_REPLY_OK);
	assert_string_equal(name, "");
	assert_int_equal(parse("stream: Win.Test.EICAR_HDB-1 FOUND", name), CLAMAV_REPLY_FOUND);
	assert_string_equal(name, "Win.Test.EICAR_HDB-1");
	assert_int_equal(parse("INSTREAM size limit exceeded. ERROR", name), CLAMAV_REPLY_ERROR);
	assert_string_equal(name, "INSTREAM size limit exceeded.");
	assert_int_equal(parse("stream: Can't allocate memory ERROR", name), CLAMAV_REPLY_ERROR);
	assert_string_equal(name, "Can't allocate memory");
	assert_int_equal(parse("PONG", name), CLAMAV_REPLY_PONG);
	/* found by fuzz_clamav_reply: the prefix and " ERROR" overlap */
	assert_int_equal(parse("stream: ERROR", name), CLAMAV_REPLY_ERROR);
	assert_string_equal(name, "stream:");
	assert_int_equal(parse(" ERROR", name), CLAMAV_REPLY_ERROR);
	assert_string_equal(name, "");
	assert_int_equal(parse("stream: OK\r", name), CLAMAV_REPLY_OK);
}

static void test_reply_hostile(void **state)
{
	char name[CLAMAV_NAME_MAX + 1];
	const char *bad[] = { "", "OK", "stream:", "stream: ", "stream: FOUND", "stream:  OK",
	                      "stream: OKAY", "STREAM: OK", "UNKNOWN COMMAND",
	                      "COMMAND READ TIMED OUT", "stream: X FOUNDX", "PONG ", "stream: OK OK" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], name) != CLAMAV_REPLY_BAD)
			fail_msg("\"%s\" taken for a reply", bad[i]);
		assert_string_equal(name, "");
	}
	/* a NUL inside: not a reply, whatever follows */
	assert_int_equal(clamav_parse_reply("stream: OK\0x", 12, name, sizeof(name)), CLAMAV_REPLY_BAD);
	assert_int_equal(clamav_parse_reply("stream: \0 FOUND", 15, name, sizeof(name)),
	                 CLAMAV_REPLY_BAD);
	/* the name: control octets, CR LF, quotes, 8-bit turned into '?' */
	assert_int_equal(parse("stream: a\r\n554 \"b\x01\xff<x> FOUND", name), CLAMAV_REPLY_FOUND);
	assert_string_equal(name, "a??554 ?b??" "?x?");
	assert_null(strpbrk(name, "\r\n\"\\<>"));
	/* a name of any length: the first CLAMAV_NAME_MAX octets */
	char line[5000] = "stream: ";
	memset(line + 8, 'A', 4000);
	strcpy(line + 4008, " FOUND");
	assert_int_equal(parse(line, name), CLAMAV_REPLY_FOUND);
	assert_int_equal(strlen(name), CLAMAV_NAME_MAX);
	/* a small buffer is respected */
	char small[8];
	assert_int_equal(clamav_parse_reply(line, strlen(line), small, sizeof(small)),
	                 CLAMAV_REPLY_FOUND);
	assert_string_equal(small, "AAAAAAA");
}

static void test_reply_end(void **state)
{
	assert_int_equal(clamav_reply_end("stream: OK", 10), -1);
	assert_int_equal(clamav_reply_end("stream: OK\0", 11), 10);
	assert_int_equal(clamav_reply_end("PONG\nx", 6), 4);
	assert_int_equal(clamav_reply_end("", 0), -1);
}

/* ---- the client against a fake clamd ------------------------------------ */

enum fake_mode {
	FAKE_CLAMD,             /* reads the stream, answers reply after the end */
	FAKE_SILENT,            /* reads everything, never answers */
	FAKE_AT_ONCE,           /* answers reply as soon as the command is in */
	FAKE_SLOW_READER,       /* reads nothing until the test lets it */
};

struct fake {
	struct event_base *base;
	struct evconnlistener *lis;
	struct bufferevent *conn;
	enum fake_mode mode;
	const char *reply;
	size_t reply_len;
	char path[108];
	/* what arrived, checked as it comes */
	bool command_seen, end_seen, framing_bad;
	uint64_t data_octets;
	uint32_t chunk_left;
	unsigned char *copy;            /* the data octets (the first copy_cap) */
	size_t copy_cap;
};

static void fake_reply(struct fake *f)
{
	bufferevent_write(f->conn, f->reply, f->reply_len);
}

static void fake_read(struct bufferevent *bev, void *arg)
{
	struct fake *f = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	if (!f->command_seen) {
		if (evbuffer_get_length(in) < 10)
			return;
		char cmd[10];
		evbuffer_remove(in, cmd, 10);
		f->framing_bad |= memcmp(cmd, "zINSTREAM", 10) != 0;
		f->command_seen = true;
		if (f->mode == FAKE_AT_ONCE)
			fake_reply(f);
	}
	while (!f->end_seen && evbuffer_get_length(in) > 0) {
		if (f->chunk_left == 0) {
			uint32_t len;
			if (evbuffer_get_length(in) < 4)
				return;
			evbuffer_remove(in, &len, 4);
			f->chunk_left = ntohl(len);
			f->framing_bad |= f->chunk_left > CLAMAV_CHUNK;
			if (f->chunk_left == 0) {
				f->end_seen = true;
				if (f->mode == FAKE_CLAMD)
					fake_reply(f);
			}
			continue;
		}
		size_t n = evbuffer_get_length(in);
		if (n > f->chunk_left)
			n = f->chunk_left;
		if (f->data_octets + n <= f->copy_cap)
			evbuffer_copyout(in, f->copy + f->data_octets, n);
		evbuffer_drain(in, n);
		f->chunk_left -= (uint32_t)n;
		f->data_octets += n;
	}
	f->framing_bad |= f->end_seen && evbuffer_get_length(in) > 0;
}

static void fake_event(struct bufferevent *bev, short what, void *arg)
{
}

static void fake_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                        int len, void *arg)
{
	struct fake *f = arg;
	f->conn = bufferevent_socket_new(f->base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(f->conn, fake_read, NULL, fake_event, f);
	/* a small receive buffer, so that the client's queue is what fills */
	int small = 4096;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	if (f->mode != FAKE_SLOW_READER)
		bufferevent_enable(f->conn, EV_READ);
}

static void fake_start(struct fake *f, struct event_base *base, enum fake_mode mode,
                       const char *reply, size_t reply_len)
{
	memset(f, 0, sizeof(*f));
	f->base = base;
	f->mode = mode;
	f->reply = reply;
	f->reply_len = reply_len;
	snprintf(f->path, sizeof(f->path), "/tmp/postern-test-clamav.%d.sock", (int)getpid());
	unlink(f->path);
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	snprintf(un.sun_path, sizeof(un.sun_path), "%s", f->path);
	f->lis = evconnlistener_new_bind(base, fake_accept, f, LEV_OPT_CLOSE_ON_FREE, 4,
	                                 (struct sockaddr *)&un, sizeof(un));
	assert_non_null(f->lis);
	static unsigned char copy[1 << 20];
	f->copy = copy;
	f->copy_cap = sizeof(copy);
}

static void fake_stop(struct fake *f)
{
	if (f->conn)
		bufferevent_free(f->conn);
	evconnlistener_free(f->lis);
	unlink(f->path);
}

/* The message: octet i is i * 7 mod 251; reads are counted. */
struct source {
	uint64_t size;
	uint64_t read_end;      /* the furthest octet read so far */
	struct fake *fake;
	uint64_t ahead_max;     /* the most read beyond what the fake has taken */
};

static ssize_t source_read(const void *arg, uint64_t off, void *buf, size_t len)
{
	struct source *s = (struct source *)arg;
	for (size_t i = 0; i < len; i++)
		((unsigned char *)buf)[i] = (unsigned char)((off + i) * 7 % 251);
	if (off + len > s->read_end)
		s->read_end = off + len;
	uint64_t ahead = s->read_end - s->fake->data_octets;
	if (ahead > s->ahead_max)
		s->ahead_max = ahead;
	return (ssize_t)len;
}

struct run {
	struct event_base *base;
	struct clamav_result res;
	int calls;
};

static void on_done(void *arg, const struct clamav_result *r)
{
	struct run *run = arg;
	run->res = *r;
	run->calls++;
	event_base_loopbreak(run->base);
}

static struct config_clamav settings(const struct fake *f, uint64_t timeout_ms, bool accept)
{
	struct config_clamav c = { .enabled = true, .timeout_ms = timeout_ms,
	                           .on_error_accept = accept, .max_size = 1ULL << 30 };
	char text[128];
	snprintf(text, sizeof(text), "unix:%s", f->path);
	assert_int_equal(config_parse_listen(text, &c.address), 0);
	return c;
}

/* Scans size octets against a fake; returns the result. */
static struct clamav_result scan(enum fake_mode mode, const char *reply, size_t reply_len,
                                 uint64_t size, struct config_clamav *override, struct fake *f,
                                 struct source *src)
{
	struct run run = { .base = event_base_new() };
	fake_start(f, run.base, mode, reply, reply_len);
	struct config_clamav set = override ? *override : settings(f, 5000, false);
	if (override)
		set.address = settings(f, 0, false).address;
	*src = (struct source){ .size = size, .fake = f };
	struct clamav *cv = clamav_new(run.base, &set);
	struct clamav_source cs = { .read_at = source_read, .arg = src, .size = size };
	clamav_scan_start(cv, &cs, on_done, &run);
	assert_int_equal(run.calls, 0);   /* never from inside start */
	event_base_dispatch(run.base);
	assert_int_equal(run.calls, 1);
	clamav_free(cv);
	fake_stop(f);
	event_base_free(run.base);
	return run.res;
}

#define REPLY(s) s, sizeof(s)   /* with its NUL */

static void test_scan_clean(void **state)
{
	struct fake f;
	struct source src;
	struct clamav_result r = scan(FAKE_CLAMD, REPLY("stream: OK"), 200000, NULL, &f, &src);
	assert_int_equal(r.status, CLAMAV_CLEAN);
	assert_int_equal(r.action, CLAMAV_ACCEPT);
	assert_false(f.framing_bad);
	assert_true(f.end_seen);
	assert_int_equal(f.data_octets, 200000);
	for (size_t i = 0; i < 200000; i++)
		if (f.copy[i] != (unsigned char)(i * 7 % 251))
			fail_msg("octet %zu differs", i);
}

static void test_scan_empty_message(void **state)
{
	struct fake f;
	struct source src;
	struct clamav_result r = scan(FAKE_CLAMD, REPLY("stream: OK"), 0, NULL, &f, &src);
	assert_int_equal(r.status, CLAMAV_CLEAN);
	assert_true(f.end_seen);
	assert_int_equal(f.data_octets, 0);
}

static void test_scan_virus(void **state)
{
	struct fake f;
	struct source src;
	struct clamav_result r = scan(FAKE_CLAMD, REPLY("stream: Eicar\r250\x01ok FOUND"), 1000,
	                              NULL, &f, &src);
	assert_int_equal(r.status, CLAMAV_VIRUS);
	assert_int_equal(r.action, CLAMAV_REJECT);
	assert_int_equal(r.code, 554);
	assert_string_equal(r.enh, "5.7.0");
	assert_string_equal(r.virus, "Eicar?250?ok");
	assert_string_equal(r.text, "Virus found: Eicar?250?ok");
}

static void test_scan_error_on_error(void **state)
{
	struct fake f;
	struct source src;
	struct clamav_result r = scan(FAKE_AT_ONCE, REPLY("INSTREAM size limit exceeded. ERROR"),
	                              300000, NULL, &f, &src);
	assert_int_equal(r.status, CLAMAV_FAILED);
	assert_int_equal(r.action, CLAMAV_DEFER);
	assert_int_equal(r.code, 451);
	assert_string_equal(r.enh, "4.7.1");
	assert_non_null(strstr(r.log, "size limit"));

	struct config_clamav accept = { .timeout_ms = 5000, .on_error_accept = true,
	                                .max_size = 1ULL << 30 };
	r = scan(FAKE_AT_ONCE, REPLY("UNKNOWN COMMAND"), 1000, &accept, &f, &src);
	assert_int_equal(r.status, CLAMAV_FAILED);
	assert_int_equal(r.action, CLAMAV_ACCEPT);
	assert_int_equal(r.code, 0);
	assert_non_null(strstr(r.log, "UNKNOWN COMMAND"));
	assert_non_null(strstr(r.log, "accepted"));
}

/* "OK" before the whole message went out is no verdict on it */
static void test_scan_ok_too_early(void **state)
{
	struct fake f;
	struct source src;
	struct clamav_result r = scan(FAKE_AT_ONCE, REPLY("stream: OK"), 5 << 20, NULL, &f, &src);
	assert_int_equal(r.status, CLAMAV_FAILED);
	assert_int_equal(r.action, CLAMAV_DEFER);
}

static void test_scan_timeout(void **state)
{
	struct fake f;
	struct source src;
	struct config_clamav quick = { .timeout_ms = 300, .max_size = 1ULL << 30 };
	struct clamav_result r = scan(FAKE_SILENT, NULL, 0, 1000, &quick, &f, &src);
	assert_int_equal(r.status, CLAMAV_FAILED);
	assert_int_equal(r.action, CLAMAV_DEFER);
	assert_non_null(strstr(r.log, "no answer within 300 ms"));
}

static void test_scan_reply_too_long(void **state)
{
	struct fake f;
	struct source src;
	char *reply = malloc(100000);
	memset(reply, 'x', 100000);
	struct clamav_result r = scan(FAKE_CLAMD, reply, 100000, 10, NULL, &f, &src);
	assert_int_equal(r.status, CLAMAV_FAILED);
	assert_non_null(strstr(r.log, "reply longer than"));
	/* just within the limit: read whole, then judged */
	memcpy(reply + CLAMAV_REPLY_MAX - 1, "\0", 1);
	r = scan(FAKE_CLAMD, reply, CLAMAV_REPLY_MAX, 10, NULL, &f, &src);
	assert_int_equal(r.status, CLAMAV_FAILED);
	assert_non_null(strstr(r.log, "unexpected reply"));
	free(reply);
}

static void test_scan_over_max_size(void **state)
{
	struct fake f;
	struct source src;
	struct config_clamav small = { .timeout_ms = 5000, .max_size = 1000 };
	struct clamav_result r = scan(FAKE_CLAMD, REPLY("stream: OK"), 1001, &small, &f, &src);
	assert_int_equal(r.status, CLAMAV_NOT_SCANNED);
	assert_int_equal(r.action, CLAMAV_ACCEPT);
	assert_false(f.command_seen);
	assert_int_equal(src.read_end, 0);
}

static void test_scan_unreachable(void **state)
{
	struct run run = { .base = event_base_new() };
	struct config_clamav set = { .timeout_ms = 5000, .max_size = 1ULL << 30 };
	assert_int_equal(config_parse_listen("unix:/nonexistent/clamd.ctl", &set.address), 0);
	struct clamav *cv = clamav_new(run.base, &set);
	struct source src = { 0 };
	struct clamav_source cs = { .read_at = source_read, .arg = &src, .size = 10 };
	clamav_scan_start(cv, &cs, on_done, &run);
	assert_int_equal(run.calls, 0);
	event_base_dispatch(run.base);
	assert_int_equal(run.calls, 1);
	assert_int_equal(run.res.action, CLAMAV_DEFER);
	assert_non_null(strstr(run.res.log, "connect: No such file or directory"));
	/* a scan cancelled calls nothing */
	run.calls = 0;
	struct clamav_scan *s = clamav_scan_start(cv, &cs, on_done, &run);
	clamav_scan_cancel(s);
	struct timeval t = { 0, 100000 };
	event_base_loopexit(run.base, &t);
	event_base_dispatch(run.base);
	assert_int_equal(run.calls, 0);
	clamav_free(cv);
	event_base_free(run.base);
}

/* A clamd that reads slowly: the client reads the message only about as
 * far as clamd has taken it, plus what the sockets hold. */
static void let_read(evutil_socket_t fd, short what, void *arg)
{
	struct fake *f = arg;
	if (f->conn != NULL)
		bufferevent_enable(f->conn, EV_READ);
}

static void test_scan_reads_ahead_bounded(void **state)
{
	struct run run = { .base = event_base_new() };
	struct fake f;
	fake_start(&f, run.base, FAKE_SLOW_READER, REPLY("stream: OK"));
	f.mode = FAKE_CLAMD;    /* once it reads */
	struct config_clamav set = settings(&f, 10000, false);
	struct source src = { .size = 64 << 20, .fake = &f };
	struct clamav *cv = clamav_new(run.base, &set);
	struct clamav_source cs = { .read_at = source_read, .arg = &src, .size = src.size };
	struct timeval later = { 0, 300000 };
	event_base_once(run.base, -1, EV_TIMEOUT, let_read, &f, &later);
	clamav_scan_start(cv, &cs, on_done, &run);
	event_base_dispatch(run.base);
	assert_int_equal(run.calls, 1);
	assert_int_equal(run.res.status, CLAMAV_CLEAN);
	assert_int_equal(f.data_octets, 64 << 20);
	/* the queue and one chunk, plus the two sockets' buffers (a few MiB at
	 * most on Linux): far from the 64 MiB message */
	if (src.ahead_max > 8 << 20)
		fail_msg("read %llu octets ahead of clamd", (unsigned long long)src.ahead_max);
	clamav_free(cv);
	fake_stop(&f);
	event_base_free(run.base);
}

/* The spooled message as SMTP leaves it (spilled to its temporary file, LF
 * line ends) is what clamd gets, octet for octet */
static void test_scan_msgbuf(void **state)
{
	struct run run = { .base = event_base_new() };
	struct fake f;
	fake_start(&f, run.base, FAKE_CLAMD, REPLY("stream: OK"));
	struct msgbuf *mb = msgbuf_new("/tmp");
	char line[80];
	for (int i = 0; i < 5000; i++) {
		int n = snprintf(line, sizeof(line), "line %d of the message, long enough\r\n", i);
		assert_int_equal(msgbuf_append(mb, line, (size_t)n), 0);
	}
	assert_int_equal(msgbuf_finish(mb), 0);
	assert_true(msgbuf_size(mb) > MSGBUF_MEM_MAX);
	struct config_clamav set = settings(&f, 5000, false);
	struct clamav *cv = clamav_new(run.base, &set);
	struct clamav_source cs = clamav_source_msgbuf(mb);
	clamav_scan_start(cv, &cs, on_done, &run);
	event_base_dispatch(run.base);
	assert_int_equal(run.res.status, CLAMAV_CLEAN);
	assert_int_equal(f.data_octets, msgbuf_size(mb));
	assert_memory_equal(f.copy, "line 0 of the message, long enough\nline 1 ", 42);
	assert_null(memchr(f.copy, '\r', f.data_octets));
	clamav_free(cv);
	msgbuf_free(mb);
	fake_stop(&f);
	event_base_free(run.base);
}

int main(void)
{
	/* as serve: a peer that closes while we write is an error, not a signal */
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_kinds),
		cmocka_unit_test(test_reply_hostile),
		cmocka_unit_test(test_reply_end),
		cmocka_unit_test(test_scan_clean),
		cmocka_unit_test(test_scan_empty_message),
		cmocka_unit_test(test_scan_virus),
		cmocka_unit_test(test_scan_error_on_error),
		cmocka_unit_test(test_scan_ok_too_early),
		cmocka_unit_test(test_scan_timeout),
		cmocka_unit_test(test_scan_reply_too_long),
		cmocka_unit_test(test_scan_over_max_size),
		cmocka_unit_test(test_scan_unreachable),
		cmocka_unit_test(test_scan_reads_ahead_bounded),
		cmocka_unit_test(test_scan_msgbuf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
