/* Argon2id hashing, verification, the thread-pool path used by servers, and
 * the imported schemes (bcrypt, SHA-crypt, Dovecot prefixes and {SSHA512}). */
#include <argon2.h>
#include <crypt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

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

/* A crypt(3) hash made now with libxcrypt, so no stored vector is needed. */
static void make_crypt_hash(const char *prefix, unsigned long count, const char *password,
                            char *out, size_t outlen)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	assert_non_null(cd);
	assert_non_null(crypt_gensalt_rn(prefix, count, NULL, 0, setting, sizeof(setting)));
	const char *h = crypt_r(password, setting, cd);
	assert_non_null(h);
	assert_true(h[0] == '$');
	assert_true(strlen(h) < outlen);
	strcpy(out, h);
	free(cd);
}

static void test_crypt_generated(void **state)
{
	(void)state;
	static const struct {
		const char *prefix;
		unsigned long count;
		const char *scheme;
		const char *dovecot;
	} cases[] = {
		{ "$2b$", 4, "bcrypt", "{BLF-CRYPT}" },
		{ "$2y$", 4, "bcrypt", "{BLF-CRYPT}" },
		{ "$2a$", 4, "bcrypt", "{blf-crypt}" },
		{ "$6$", 0, "sha512-crypt", "{SHA512-CRYPT}" },
		{ "$6$", 10000, "sha512-crypt", "{SHA512-CRYPT}" },
		{ "$5$", 0, "sha256-crypt", "{SHA256-CRYPT}" },
	};
	const char *pw = "T\xc3\xa4st pass 123";
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char h[PASSWORD_HASH_MAX], prefixed[PASSWORD_HASH_MAX + 32];
		make_crypt_hash(cases[i].prefix, cases[i].count, pw, h, sizeof(h));
		assert_int_equal(strncmp(h, cases[i].prefix, strlen(cases[i].prefix)), 0);
		assert_int_equal(password_verify(h, pw), 1);
		assert_int_equal(password_verify(h, "T\xc3\xa4st pass 124"), 0);
		assert_int_equal(password_verify(h, ""), 0);
		assert_string_equal(password_scheme_name(h), cases[i].scheme);
		assert_true(password_needs_upgrade(h));
		/* Dovecot's prefixes, and {CRYPT} in front of any of them */
		snprintf(prefixed, sizeof(prefixed), "%s%s", cases[i].dovecot, h);
		assert_int_equal(password_verify(prefixed, pw), 1);
		assert_int_equal(password_verify(prefixed, "wrong"), 0);
		assert_string_equal(password_scheme_name(prefixed), cases[i].scheme);
		assert_true(password_needs_upgrade(prefixed));
		snprintf(prefixed, sizeof(prefixed), "{CRYPT}%s", h);
		assert_int_equal(password_verify(prefixed, pw), 1);
		/* a prefix that disagrees with the hash is not guessed around */
		snprintf(prefixed, sizeof(prefixed), "{%s}%s",
		         cases[i].prefix[1] == '2' ? "SHA512-CRYPT" : "BLF-CRYPT", h);
		assert_int_equal(password_verify(prefixed, pw), -1);
		assert_string_equal(password_scheme_name(prefixed), "unknown");
		/* a changed hash character is a mismatch, a cut hash malformed */
		size_t n = strlen(h);
		h[n - 2] = h[n - 2] == 'a' ? 'b' : 'a';
		assert_int_equal(password_verify(h, pw), 0);
		h[n - 1] = '\0';
		assert_int_equal(password_verify(h, pw), -1);
	}
}

/* Published vectors, checked against a second implementation (OpenSSL's
 * `openssl passwd -5/-6`, PHP's documentation, Openwall's crypt_blowfish). */
static void test_crypt_known_vectors(void **state)
{
	(void)state;
	static const struct {
		const char *hash, *password;
	} v[] = {
		/* SHA512-CRYPT of "password", salt "saltsalt" (openssl passwd -6) */
		{ "$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc."
		  "eoxqOmSuNp2xS0ktL3nh/", "password" },
		/* Drepper's SHA-crypt specification, test vectors 1 */
		{ "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdc"
		  "bYEdFCoEOfaS35inz1", "Hello world!" },
		{ "$5$saltsalt$gOjOtoMpVhru2uyjeJSEc/JaLQWOXMNmlOnj6T4AtC.", "password" },
		{ "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5", "Hello world!" },
		{ "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA",
		  "Hello world!" },
		/* PHP's password_verify() example */
		{ "$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a", "rasmuslerdorf" },
		/* crypt_blowfish's wrapper.c tests */
		{ "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U" },
		{ "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U" },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char prefixed[PASSWORD_HASH_MAX];
		assert_int_equal(password_verify(v[i].hash, v[i].password), 1);
		assert_int_equal(password_verify(v[i].hash, "passwore"), 0);
		snprintf(prefixed, sizeof(prefixed), "{CRYPT}%s", v[i].hash);
		assert_int_equal(password_verify(prefixed, v[i].password), 1);
	}
}

/* {SSHA512}: base64(SHA512(password || salt) || salt), built here with OpenSSL. */
static void make_ssha512(const char *password, const unsigned char *salt, size_t saltlen,
                         char *out, size_t outlen)
{
	unsigned char raw[64 + 128];
	unsigned int dlen;
	assert_true(saltlen <= 128);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	assert_non_null(ctx);
	assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha512(), NULL), 1);
	assert_int_equal(EVP_DigestUpdate(ctx, password, strlen(password)), 1);
	assert_int_equal(EVP_DigestUpdate(ctx, salt, saltlen), 1);
	assert_int_equal(EVP_DigestFinal_ex(ctx, raw, &dlen), 1);
	EVP_MD_CTX_free(ctx);
	memcpy(raw + 64, salt, saltlen);
	assert_true(outlen > 9 + 4 * ((64 + saltlen + 2) / 3));
	memcpy(out, "{SSHA512}", 9);
	EVP_EncodeBlock((unsigned char *)out + 9, raw, (int)(64 + saltlen));
}

static void test_ssha512(void **state)
{
	(void)state;
	unsigned char salt[64];
	char h[256];
	assert_int_equal(RAND_bytes(salt, sizeof(salt)), 1);
	/* the salt lengths seen in the wild: Dovecot's 8, others 4..64 */
	static const size_t lens[] = { 1, 4, 8, 16, 32, 64 };
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		make_ssha512("hunter2", salt, lens[i], h, sizeof(h));
		assert_int_equal(password_verify(h, "hunter2"), 1);
		assert_int_equal(password_verify(h, "hunter3"), 0);
		assert_int_equal(password_verify(h, "hunter2 "), 0);
		assert_int_equal(password_verify(h, ""), 0);
		assert_string_equal(password_scheme_name(h), "ssha512");
		assert_true(password_needs_upgrade(h));
	}
	/* a fixed one (Python: base64(sha512(b"secret" + b"12345678").digest() + salt)) */
	const char *fixed = "{SSHA512}iWwx8naQWtJKIoYOgnIUnOjDVRc/KB/avnmg7rvibFhiLlylVmd8s/Tomzy"
	                    "GqQwBOpJzU5z2YBupYIJWW8egvDEyMzQ1Njc4";
	assert_int_equal(password_verify(fixed, "secret"), 1);
	assert_int_equal(password_verify(fixed, "Secret"), 0);
	assert_int_equal(password_verify(fixed + 1, "secret"), -1); /* no prefix: unknown */
	char lower[256];
	snprintf(lower, sizeof(lower), "{ssha512.b64}%s", fixed + 9);
	assert_int_equal(password_verify(lower, "secret"), 1);
	/* malformed: empty, not base64, digest without salt, too much salt */
	assert_int_equal(password_verify("{SSHA512}", "secret"), -1);
	assert_int_equal(password_verify("{SSHA512}!!!!", "secret"), -1);
	make_ssha512("secret", salt, 0, h, sizeof(h));
	assert_int_equal(password_verify(h, "secret"), -1);
	make_ssha512("x", salt, 64, h, sizeof(h));
	h[strlen(h) - 1] = '\0'; /* now not a multiple of 4 */
	assert_int_equal(password_verify(h, "x"), -1);
	char big[512];
	unsigned char bigsalt[65] = { 0 };
	make_ssha512("x", bigsalt, sizeof(bigsalt), big, sizeof(big));
	assert_int_equal(password_verify(big, "x"), -1);
}

static void test_malformed_and_refused(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"$1$saltsalt$qEvx6vT7A4zUtXbyN1Yp81",                   /* MD5-crypt */
		"abJnggxhB/yWI",                                        /* DES */
		"_J9..CCCCXBrJUJV154M",                                 /* BSDi */
		"$2x$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", /* buggy 2x */
		"$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOe",  /* short */
		"$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeWW",
		"$2y$5$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeWW",
		"$2y$03$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", /* cost < 4 */
		"$2y$31$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", /* cost > bound */
		"$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOe!",
		"$6$saltsalt$short",
		"$6$saltsalt$",
		"$6$",
		"$6$saltsaltsaltsaltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq"
		".qc.eoxqOmSuNp2xS0ktL3nh/",                            /* salt > 16 */
		"$6$rounds=999999999$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp"
		"8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/",                       /* rounds > bound */
		"$6$rounds=$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc."
		"eoxqOmSuNp2xS0ktL3nh/",
		"$5$saltsalt$gOjOtoMpVhru2uyjeJSEc/JaLQWOXMNmlOnj6T4AtC",
		"$5$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSu"
		"Np2xS0ktL3nh/",                                        /* a $6$ body */
		"{PLAIN}password",
		"{SHA512}sQnzu7wkTrgkQZF+0G1hi5AI3Qmzvv0bXgc5THBqi7mAsdd4Xll27ASbRt9fEyavWi6m0QP9B8lTh"
		"f+MpqNhag==",                                          /* unsalted */
		"{SSHA}",
		"{SHA512-CRYPT}$5$saltsalt$gOjOtoMpVhru2uyjeJSEc/JaLQWOXMNmlOnj6T4AtC.",
		"{ARGON2ID}$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
		"{SHA512-CRYPT",
		"{}",
		"{",
		"$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=16$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=4194304,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=19456,t=1000,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=19456,t=2,p=64$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=19456,t=2$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaA",
		"{CRYPT}$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaA",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (password_verify(bad[i], "password") != -1)
			fail_msg("not refused: %s", bad[i]);
		assert_true(password_needs_upgrade(bad[i]));
	}
	assert_string_equal(password_scheme_name("$1$saltsalt$qEvx6vT7A4zUtXbyN1Yp81"), "unknown");
	assert_string_equal(password_scheme_name("{PLAIN}x"), "unknown");
	assert_string_equal(password_scheme_name(""), "unknown");
}

static void test_needs_upgrade(void **state)
{
	(void)state;
	char h[PASSWORD_HASH_MAX], prefixed[PASSWORD_HASH_MAX + 16];
	unsigned char salt[16] = "0123456789abcdef";

	assert_int_equal(password_hash("pw", h, sizeof(h)), 0);
	assert_false(password_needs_upgrade(h));
	assert_string_equal(password_scheme_name(h), "argon2id");
	/* the Dovecot-prefixed form verifies, and is rewritten bare */
	snprintf(prefixed, sizeof(prefixed), "{ARGON2ID}%s", h);
	assert_int_equal(password_verify(prefixed, "pw"), 1);
	assert_int_equal(password_verify(prefixed, "px"), 0);
	assert_string_equal(password_scheme_name(prefixed), "argon2id");
	assert_true(password_needs_upgrade(prefixed));
	/* other Argon2id parameters verify but are upgraded to the current ones */
	assert_int_equal(argon2id_hash_encoded(3, 12288, 1, "pw", 2, salt, sizeof(salt), 32, h,
	                                       sizeof(h)), ARGON2_OK);
	assert_int_equal(password_verify(h, "pw"), 1);
	assert_true(password_needs_upgrade(h));
	assert_int_equal(argon2id_hash_encoded(2, 19456, 2, "pw", 2, salt, sizeof(salt), 32, h,
	                                       sizeof(h)), ARGON2_OK);
	assert_int_equal(password_verify(h, "pw"), 1);
	assert_true(password_needs_upgrade(h));
	/* Argon2i and Argon2d are not ours */
	assert_int_equal(argon2i_hash_encoded(2, 19456, 1, "pw", 2, salt, sizeof(salt), 32, h,
	                                      sizeof(h)), ARGON2_OK);
	assert_int_equal(password_verify(h, "pw"), -1);
	assert_true(password_needs_upgrade(h));
	assert_string_equal(password_scheme_name(h), "unknown");
	assert_true(password_needs_upgrade(""));
}

static void test_dummy_verify(void **state)
{
	(void)state;
	/* the dummy runs at exactly the current cost */
	assert_false(password_needs_upgrade(password_dummy_hash()));
	assert_non_null(strstr(password_dummy_hash(), "$argon2id$v=19$m=19456,t=2,p=1$"));
	assert_int_equal(password_dummy_verify("anything"), 0);
	assert_int_equal(password_dummy_verify(""), 0);
	/* and is a well-formed hash, so the work is really done */
	assert_int_equal(password_verify(password_dummy_hash(), "anything"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_and_verify),
		cmocka_unit_test(test_verify_async),
		cmocka_unit_test(test_crypt_generated),
		cmocka_unit_test(test_crypt_known_vectors),
		cmocka_unit_test(test_ssha512),
		cmocka_unit_test(test_malformed_and_refused),
		cmocka_unit_test(test_needs_upgrade),
		cmocka_unit_test(test_dummy_verify),
	};
	return cmocka_run_group_tests_name("password", tests, NULL, NULL);
}
