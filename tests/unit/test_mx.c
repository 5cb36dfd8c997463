/* Unit tests for src/dns/mx.c: MX rdata parsing (including hostile rdata),
 * the bounded deduplicated host list, null MX detection (RFC 7505), ordering
 * by preference with shuffling among equal preferences (RFC 5321 5.1), and
 * query name validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dns/mx.h"

/* ---- helpers ---- */

/* Builds MX rdata from a preference and dotted labels ("" = root) into buf;
 * returns its length. Labels are taken verbatim, so tests can put odd bytes
 * in them. */
static size_t make_rdata(unsigned char *buf, uint16_t pref, const char *name)
{
	size_t n = 0;
	buf[n++] = (unsigned char)(pref >> 8);
	buf[n++] = (unsigned char)(pref & 0xff);
	const char *p = name;
	while (*p != '\0') {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);
		buf[n++] = (unsigned char)len;
		memcpy(buf + n, p, len);
		n += len;
		p += len;
		if (*p == '.')
			p++;
	}
	buf[n++] = 0;
	return n;
}

static struct mx_host host(const char *name, uint16_t pref)
{
	struct mx_host h;
	memset(&h, 0, sizeof(h));
	snprintf(h.name, sizeof(h.name), "%s", name);
	h.pref = pref;
	return h;
}

/* xorshift32: deterministic, seedable */
static uint32_t xorshift(void *arg)
{
	uint32_t *s = arg;
	uint32_t x = *s;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*s = x;
	return x;
}

static uint32_t always_zero(void *arg)
{
	(void)arg;
	return 0;
}

/* ---- mx_parse_rdata ---- */

static void test_parse_valid(void **state)
{
	(void)state;
	unsigned char buf[300];
	struct mx_host h;

	size_t n = make_rdata(buf, 10, "MX1.Example.TEST");
	assert_int_equal(mx_parse_rdata(buf, n, &h), 0);
	assert_string_equal(h.name, "mx1.example.test");
	assert_int_equal(h.pref, 10);

	n = make_rdata(buf, 65535, "a-b_c.d0");
	assert_int_equal(mx_parse_rdata(buf, n, &h), 0);
	assert_string_equal(h.name, "a-b_c.d0");
	assert_int_equal(h.pref, 65535);

	/* the null MX target: the root name */
	n = make_rdata(buf, 0, "");
	assert_int_equal(n, 3);
	assert_int_equal(mx_parse_rdata(buf, n, &h), 0);
	assert_string_equal(h.name, ".");
	assert_int_equal(h.pref, 0);
}

static void test_parse_truncated(void **state)
{
	(void)state;
	unsigned char buf[300];
	struct mx_host h;
	size_t n = make_rdata(buf, 10, "mx1.example.test");

	assert_int_equal(mx_parse_rdata(NULL, 0, &h), -1);
	assert_int_equal(mx_parse_rdata(buf, 0, &h), -1);
	assert_int_equal(mx_parse_rdata(buf, 1, &h), -1);
	assert_int_equal(mx_parse_rdata(buf, 2, &h), -1); /* preference only */
	/* every proper prefix is malformed: the name never ends */
	for (size_t len = 3; len < n; len++)
		assert_int_equal(mx_parse_rdata(buf, len, &h), -1);
	assert_int_equal(mx_parse_rdata(buf, n, &h), 0);
}

static void test_parse_label_past_end(void **state)
{
	(void)state;
	struct mx_host h;
	/* label says 10 octets, 3 follow */
	const unsigned char a[] = { 0, 10, 10, 'a', 'b', 'c' };
	assert_int_equal(mx_parse_rdata(a, sizeof(a), &h), -1);
	/* label fits only when the terminating zero is counted as data */
	const unsigned char b[] = { 0, 10, 3, 'a', 'b', 0 };
	assert_int_equal(mx_parse_rdata(b, sizeof(b), &h), -1);
	/* 63 is the largest label: length byte 63 with 62 octets following */
	unsigned char c[2 + 1 + 62];
	memset(c, 'x', sizeof(c));
	c[0] = 0;
	c[1] = 1;
	c[2] = 63;
	assert_int_equal(mx_parse_rdata(c, sizeof(c), &h), -1);
}

static void test_parse_bad_label_types(void **state)
{
	(void)state;
	struct mx_host h;
	/* compression pointer: unbound hands us uncompressed rdata */
	const unsigned char ptr[] = { 0, 10, 0xc0, 0x0c };
	assert_int_equal(mx_parse_rdata(ptr, sizeof(ptr), &h), -1);
	const unsigned char ptr2[] = { 0, 10, 1, 'a', 0xc0, 0x02 };
	assert_int_equal(mx_parse_rdata(ptr2, sizeof(ptr2), &h), -1);
	/* 0x40 and 0x80 label types (and lengths 64..191) */
	unsigned char ext[2 + 1 + 64 + 1];
	memset(ext, 'a', sizeof(ext));
	ext[0] = 0;
	ext[1] = 1;
	ext[2] = 64;
	ext[sizeof(ext) - 1] = 0;
	assert_int_equal(mx_parse_rdata(ext, sizeof(ext), &h), -1);
	const unsigned char bits[] = { 0, 10, 0x41, 0 };
	assert_int_equal(mx_parse_rdata(bits, sizeof(bits), &h), -1);
	const unsigned char b80[] = { 0, 10, 0x80, 0 };
	assert_int_equal(mx_parse_rdata(b80, sizeof(b80), &h), -1);
}

static void test_parse_trailing_bytes(void **state)
{
	(void)state;
	unsigned char buf[300];
	struct mx_host h;
	size_t n = make_rdata(buf, 10, "mx.test");
	buf[n] = 'x';
	assert_int_equal(mx_parse_rdata(buf, n + 1, &h), -1);
	const unsigned char root_then_junk[] = { 0, 0, 0, 0 };
	assert_int_equal(mx_parse_rdata(root_then_junk, sizeof(root_then_junk), &h), -1);
}

static void test_parse_bad_characters(void **state)
{
	(void)state;
	static const char bad[] = { '.', ' ', '\\', '\0', '\n', '"', '/', '@', (char)0x80, (char)0xff };
	unsigned char buf[32];
	struct mx_host h;
	for (size_t i = 0; i < sizeof(bad); i++) {
		/* 0, 10, 3, 'a', X, 'b', 0 */
		size_t n = 0;
		buf[n++] = 0;
		buf[n++] = 10;
		buf[n++] = 3;
		buf[n++] = 'a';
		buf[n++] = (unsigned char)bad[i];
		buf[n++] = 'b';
		buf[n++] = 0;
		assert_int_equal(mx_parse_rdata(buf, n, &h), -1);
		buf[4] = 'z';
		assert_int_equal(mx_parse_rdata(buf, n, &h), 0);
		assert_string_equal(h.name, "azb");
	}
}

/* Wire names with the given label lengths (all 'a'); returns rdata length. */
static size_t make_long(unsigned char *buf, const size_t *labels, size_t nlabels)
{
	size_t n = 0;
	buf[n++] = 0;
	buf[n++] = 5;
	for (size_t i = 0; i < nlabels; i++) {
		buf[n++] = (unsigned char)labels[i];
		memset(buf + n, 'a', labels[i]);
		n += labels[i];
	}
	buf[n++] = 0;
	return n;
}

static void test_parse_name_length_limit(void **state)
{
	(void)state;
	unsigned char buf[600];
	struct mx_host h;

	/* 3 * 64 + 62 + 1 = 255 wire octets: the longest legal name, 253 chars */
	const size_t max[] = { 63, 63, 63, 61 };
	size_t n = make_long(buf, max, 4);
	assert_int_equal(n - 2, 255);
	assert_int_equal(mx_parse_rdata(buf, n, &h), 0);
	assert_int_equal(strlen(h.name), 253);

	/* one octet more */
	const size_t over[] = { 63, 63, 63, 62 };
	n = make_long(buf, over, 4);
	assert_int_equal(mx_parse_rdata(buf, n, &h), -1);

	/* many short labels add up too */
	size_t ones[200];
	for (size_t i = 0; i < 200; i++)
		ones[i] = 1;
	n = make_long(buf, ones, 127); /* 127 * 2 + 1 = 255: legal */
	assert_int_equal(mx_parse_rdata(buf, n, &h), 0);
	assert_int_equal(strlen(h.name), 253);
	n = make_long(buf, ones, 128); /* 257: too long */
	assert_int_equal(mx_parse_rdata(buf, n, &h), -1);
	n = make_long(buf, ones, 200);
	assert_int_equal(mx_parse_rdata(buf, n, &h), -1);
}

/* ---- mx_list_add, null MX ---- */

static void test_dedupe(void **state)
{
	(void)state;
	struct mx_list l = { .n = 0 };
	struct mx_host a = host("mx1.example.test", 20);
	struct mx_host a_upper = host("MX1.EXAMPLE.TEST", 10);
	struct mx_host b = host("mx2.example.test", 10);

	assert_int_equal(mx_list_add(&l, &a), 0);
	assert_int_equal(mx_list_add(&l, &b), 0);
	assert_int_equal(mx_list_add(&l, &a), 0);
	assert_int_equal(l.n, 2);
	/* the same host again with a lower preference keeps the lower one */
	assert_int_equal(mx_list_add(&l, &a_upper), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.host[0].name, "mx1.example.test");
	assert_int_equal(l.host[0].pref, 10);
	/* ...and a higher one does not raise it */
	assert_int_equal(mx_list_add(&l, &a), 0);
	assert_int_equal(l.host[0].pref, 10);
}

static void test_list_bound(void **state)
{
	(void)state;
	struct mx_list l = { .n = 0 };
	char name[32];
	for (int i = 0; i < MX_MAX_HOSTS; i++) {
		snprintf(name, sizeof(name), "mx%d.test", i);
		struct mx_host h = host(name, (uint16_t)(10 + (i == 7 ? 10 : 0)));
		assert_int_equal(mx_list_add(&l, &h), 0);
	}
	assert_int_equal(l.n, MX_MAX_HOSTS);

	/* full: a less or equally preferred newcomer is dropped */
	struct mx_host worse = host("worse.test", 30);
	assert_int_equal(mx_list_add(&l, &worse), -1);
	struct mx_host equal = host("equal.test", 20);
	assert_int_equal(mx_list_add(&l, &equal), -1);
	assert_int_equal(l.n, MX_MAX_HOSTS);

	/* a more preferred one replaces the worst entry (mx7, pref 20) */
	struct mx_host better = host("better.test", 5);
	assert_int_equal(mx_list_add(&l, &better), 0);
	assert_int_equal(l.n, MX_MAX_HOSTS);
	assert_string_equal(l.host[7].name, "better.test");
	/* a duplicate is merged even when full */
	struct mx_host dup = host("mx3.test", 1);
	assert_int_equal(mx_list_add(&l, &dup), 0);
	assert_int_equal(l.host[3].pref, 1);

	/* mx_sort copes with a list whose n was corrupted past the bound */
	l.n = MX_MAX_HOSTS + 5;
	mx_sort(&l, always_zero, NULL);
	assert_int_equal(l.n, MX_MAX_HOSTS);
}

static void test_null_mx(void **state)
{
	(void)state;
	unsigned char buf[16];
	struct mx_host h;
	struct mx_list l = { .n = 0 };

	assert_false(mx_list_is_null(&l)); /* empty: not a null MX */

	size_t n = make_rdata(buf, 0, "");
	assert_int_equal(mx_parse_rdata(buf, n, &h), 0);
	assert_int_equal(mx_list_add(&l, &h), 0);
	assert_true(mx_list_is_null(&l));

	/* "." twice (another preference) dedupes into one: still null */
	struct mx_host root10 = host(".", 10);
	assert_int_equal(mx_list_add(&l, &root10), 0);
	assert_int_equal(l.n, 1);
	assert_true(mx_list_is_null(&l));

	/* "." next to a real host (forbidden by RFC 7505): not null, and the
	 * undeliverable "." is removed */
	struct mx_host real = host("mx.test", 10);
	assert_int_equal(mx_list_add(&l, &real), 0);
	assert_false(mx_list_is_null(&l));
	mx_list_remove_null(&l);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.host[0].name, "mx.test");

	struct mx_list only_real = { .n = 0 };
	assert_int_equal(mx_list_add(&only_real, &real), 0);
	assert_false(mx_list_is_null(&only_real));
	mx_list_remove_null(&only_real);
	assert_int_equal(only_real.n, 1);
}

/* ---- mx_sort ---- */

static void test_sort_by_preference(void **state)
{
	(void)state;
	static const uint16_t prefs[] = { 30, 10, 65535, 0, 20, 10, 5, 30, 0 };
	struct mx_list l = { .n = 0 };
	char name[32];
	for (size_t i = 0; i < sizeof(prefs) / sizeof(prefs[0]); i++) {
		snprintf(name, sizeof(name), "h%zu.test", i);
		struct mx_host h = host(name, prefs[i]);
		assert_int_equal(mx_list_add(&l, &h), 0);
	}
	uint32_t seed = 12345;
	mx_sort(&l, xorshift, &seed);
	assert_int_equal(l.n, sizeof(prefs) / sizeof(prefs[0]));
	for (size_t i = 1; i < l.n; i++)
		assert_true(l.host[i - 1].pref <= l.host[i].pref);
	assert_int_equal(l.host[0].pref, 0);
	assert_int_equal(l.host[l.n - 1].pref, 65535);
	assert_string_equal(l.host[l.n - 1].name, "h2.test");

	/* nothing lost or duplicated */
	for (size_t i = 0; i < l.n; i++) {
		snprintf(name, sizeof(name), "h%zu.test", i);
		int found = 0;
		for (size_t j = 0; j < l.n; j++)
			found += strcmp(l.host[j].name, name) == 0;
		assert_int_equal(found, 1);
	}

	/* the default (CSPRNG) source sorts too; empty and single lists are fine */
	mx_sort(&l, NULL, NULL);
	for (size_t i = 1; i < l.n; i++)
		assert_true(l.host[i - 1].pref <= l.host[i].pref);
	struct mx_list empty = { .n = 0 };
	mx_sort(&empty, NULL, NULL);
	assert_int_equal(empty.n, 0);
}

/* Index of the permutation of "a","b","c" in l->host[from..from+2]. */
static int perm_index(const struct mx_list *l, size_t from)
{
	static const char *const perms[6][3] = {
		{ "a", "b", "c" }, { "a", "c", "b" }, { "b", "a", "c" },
		{ "b", "c", "a" }, { "c", "a", "b" }, { "c", "b", "a" },
	};
	for (int p = 0; p < 6; p++) {
		if (strcmp(l->host[from].name, perms[p][0]) == 0 &&
		    strcmp(l->host[from + 1].name, perms[p][1]) == 0 &&
		    strcmp(l->host[from + 2].name, perms[p][2]) == 0)
			return p;
	}
	return -1;
}

static void test_shuffle_equal_preferences(void **state)
{
	(void)state;
	enum { TRIALS = 6000 };
	int count[6] = { 0 };
	int pair[2] = { 0 };

	for (uint32_t seed = 1; seed <= TRIALS; seed++) {
		struct mx_list l = { .n = 0 };
		/* inserted out of order: z (pref 20) a b c (pref 10) y x (pref 30) first (5) */
		const struct mx_host in[] = {
			host("z", 20), host("a", 10), host("y", 30), host("b", 10),
			host("c", 10), host("x", 30), host("first", 5),
		};
		for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++)
			assert_int_equal(mx_list_add(&l, &in[i]), 0);

		/* a seed fed through a few rounds so that neighbouring seeds differ */
		uint32_t s = seed * 2654435761u;
		for (int i = 0; i < 4; i++)
			(void)xorshift(&s);
		mx_sort(&l, xorshift, &s);

		assert_string_equal(l.host[0].name, "first");
		int p = perm_index(&l, 1);
		assert_true(p >= 0);
		count[p]++;
		assert_string_equal(l.host[4].name, "z");
		assert_true((strcmp(l.host[5].name, "x") == 0 && strcmp(l.host[6].name, "y") == 0) ||
		            (strcmp(l.host[5].name, "y") == 0 && strcmp(l.host[6].name, "x") == 0));
		pair[strcmp(l.host[5].name, "x") == 0]++;
	}
	/* every permutation occurs, about equally often (expected 1000 each;
	 * the bounds are > 6 standard deviations wide) */
	for (int p = 0; p < 6; p++)
		assert_in_range(count[p], 800, 1200);
	assert_in_range(pair[0], 2700, 3300);
	assert_in_range(pair[1], 2700, 3300);
}

static void test_shuffle_deterministic(void **state)
{
	(void)state;
	struct mx_list l1 = { .n = 0 }, l2 = { .n = 0 };
	char name[16];
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "h%d", i);
		struct mx_host h = host(name, 10);
		assert_int_equal(mx_list_add(&l1, &h), 0);
		assert_int_equal(mx_list_add(&l2, &h), 0);
	}
	uint32_t s1 = 99, s2 = 99;
	mx_sort(&l1, xorshift, &s1);
	mx_sort(&l2, xorshift, &s2);
	for (size_t i = 0; i < l1.n; i++)
		assert_string_equal(l1.host[i].name, l2.host[i].name);

	/* a source that always says 0 still yields a permutation */
	mx_sort(&l1, always_zero, NULL);
	assert_int_equal(l1.n, 10);
}

/* The resolver's path: parse every record, add, drop nulls, sort. */
static void test_rdata_to_sorted_list(void **state)
{
	(void)state;
	static const struct {
		uint16_t pref;
		const char *name;
	} recs[] = {
		{ 20, "backup.example.test" }, { 10, "MX1.example.test" },
		{ 10, "mx2.example.test" }, { 10, "mx1.EXAMPLE.test" }, { 0, "" },
	};
	struct mx_list l = { .n = 0 };
	unsigned char buf[300];
	for (size_t i = 0; i < sizeof(recs) / sizeof(recs[0]); i++) {
		struct mx_host h;
		size_t n = make_rdata(buf, recs[i].pref, recs[i].name);
		assert_int_equal(mx_parse_rdata(buf, n, &h), 0);
		assert_int_equal(mx_list_add(&l, &h), 0);
	}
	/* a malformed record among them is skipped by the caller */
	struct mx_host junk;
	const unsigned char bad[] = { 0, 1, 9, 'x' };
	assert_int_equal(mx_parse_rdata(bad, sizeof(bad), &junk), -1);

	assert_false(mx_list_is_null(&l));
	mx_list_remove_null(&l);
	uint32_t seed = 7;
	mx_sort(&l, xorshift, &seed);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.host[0].pref, 10);
	assert_int_equal(l.host[1].pref, 10);
	assert_string_equal(l.host[2].name, "backup.example.test");
	assert_true(strcmp(l.host[0].name, "mx1.example.test") == 0 ||
	            strcmp(l.host[1].name, "mx1.example.test") == 0);
}

/* ---- mx_name_valid ---- */

static void test_name_valid(void **state)
{
	(void)state;
	char buf[300];

	assert_true(mx_name_valid("example.test"));
	assert_true(mx_name_valid("example.test."));
	assert_true(mx_name_valid("localhost"));
	assert_true(mx_name_valid("xn--bcher-kva.example"));
	assert_true(mx_name_valid("_dmarc.example.test"));
	assert_true(mx_name_valid("1.2.3.4"));

	assert_false(mx_name_valid(""));
	assert_false(mx_name_valid("."));
	assert_false(mx_name_valid(".example.test"));
	assert_false(mx_name_valid("example..test"));
	assert_false(mx_name_valid("example.test.."));
	assert_false(mx_name_valid("exa mple.test"));
	assert_false(mx_name_valid("example\\.test"));
	assert_false(mx_name_valid("example.test\\000"));
	assert_false(mx_name_valid("b\xc3\xbc" "cher.example"));
	assert_false(mx_name_valid("[127.0.0.1]"));
	assert_false(mx_name_valid("user@example.test"));

	/* 63-octet labels are fine, 64 are not */
	memset(buf, 'a', 63);
	strcpy(buf + 63, ".test");
	assert_true(mx_name_valid(buf));
	memset(buf, 'a', 64);
	strcpy(buf + 64, ".test");
	assert_false(mx_name_valid(buf));

	/* 253 characters (255 wire octets) is the limit, trailing dot or not */
	memset(buf, 'a', sizeof(buf));
	for (size_t i = 63; i < 253; i += 64)
		buf[i] = '.';
	buf[253] = '\0';
	assert_true(mx_name_valid(buf));
	buf[253] = '.';
	buf[254] = '\0';
	assert_true(mx_name_valid(buf));
	buf[253] = 'a';
	assert_false(mx_name_valid(buf)); /* 254 characters */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_truncated),
		cmocka_unit_test(test_parse_label_past_end),
		cmocka_unit_test(test_parse_bad_label_types),
		cmocka_unit_test(test_parse_trailing_bytes),
		cmocka_unit_test(test_parse_bad_characters),
		cmocka_unit_test(test_parse_name_length_limit),
		cmocka_unit_test(test_dedupe),
		cmocka_unit_test(test_list_bound),
		cmocka_unit_test(test_null_mx),
		cmocka_unit_test(test_sort_by_preference),
		cmocka_unit_test(test_shuffle_equal_preferences),
		cmocka_unit_test(test_shuffle_deterministic),
		cmocka_unit_test(test_rdata_to_sorted_list),
		cmocka_unit_test(test_name_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
