/* Argon2id hashing, verification, and the thread-pool path used by servers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "auth/password.h"
#include "core/threadpool.h"

static void test_hash_and_verify(void **state)
{
	(void)state;
	char h1[PASSWORD_HASH_MAX], h2[PASSWORD_HASH_MAX];
	assert_int_equal(password_hash("s3cret pass", h1, sizeof(h1)), 0);
	assert_int_equal(password_hash("s3cret pass", h2, sizeof(h2)), 0);
	/* OWASP parameters are encoded in the hash, and salts differ */
	assert_non_null(strstr(h1, "$argon2id$v=19$m=19456,t=2,p=1$"));
	assert_string_not_equal(h1, h2);
	assert_int_equal(password_verify(h1, "s3cret pass"), 1);
	assert_int_equal(password_verify(h1, "s3cret pasS"), 0);
	assert_int_equal(password_verify(h1, ""), 0);
	/* unknown schemes and garbage are errors, never a match */
	assert_int_equal(password_verify("$1$abc$def", "x"), -1);
	assert_int_equal(password_verify("$argon2id$garbage", "x"), -1);
	assert_int_equal(password_verify("", ""), -1);
	/* a too-small output buffer fails cleanly */
	char tiny[16];
	assert_int_equal(password_hash("x", tiny, sizeof(tiny)), -1);
}

struct async_result {
	int results[2];
	int done;
	struct event_base *base;
};

static void on_verified(int result, void *arg)
{
	struct async_result *r = arg;
	r->results[r->done++] = result;
	if (r->done == 2)
		event_base_loopexit(r->base, NULL);
}

static void on_guard(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopexit(arg, NULL);
}

static void test_verify_async(void **state)
{
	(void)state;
	char h[PASSWORD_HASH_MAX];
	struct async_result r = { { -2, -2 }, 0, NULL };
	evthread_use_pthreads();
	r.base = event_base_new();
	struct threadpool *tp = threadpool_new(2);
	struct timeval ten = { 10, 0 };
	struct event *guard = evtimer_new(r.base, on_guard, r.base);
	evtimer_add(guard, &ten);
	assert_int_equal(password_hash("pw", h, sizeof(h)), 0);
	assert_int_equal(password_verify_async(tp, r.base, h, "pw", on_verified, &r), 0);
	assert_int_equal(password_verify_async(tp, r.base, h, "wrong", on_verified, &r), 0);
	event_base_dispatch(r.base);
	assert_int_equal(r.done, 2);
	/* both ran; the order may vary between the two pool threads */
	assert_int_equal(r.results[0] + r.results[1], 1);
	threadpool_free(tp);
	event_free(guard);
	event_base_free(r.base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_and_verify),
		cmocka_unit_test(test_verify_async),
	};
	return cmocka_run_group_tests_name("password", tests, NULL, NULL);
}
