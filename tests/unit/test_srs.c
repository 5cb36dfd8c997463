/* Unit tests for src/mailauth/srs.c and srs_keys.c: SRS0 round trips, case
 * folded on the way, age limits (expired, future, the 1024-day wrap), forged
 * and truncated addresses, SRS1 over another forwarder's SRS0 and SRS1, key
 * rotation, the 64-octet local part, and the key file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "mailauth/srs.h"
#include "mailauth/srs_keys.h"

#define DAY 86400
/* a day whose number modulo 1024 is 500: no wrap near it */
#define NOW ((time_t)(1024 * 20 + 500) * DAY + 3600)

static struct srs make_srs(const char *domain, unsigned char seed)
{
	struct srs s = { .nkeys = 1, .max_age_days = 21 };
	memset(s.keys[0], seed, SRS_KEY_LEN);
	snprintf(s.domain, sizeof(s.domain), "%s", domain);
	return s;
}

static const char *local_of(const char *addr, size_t *len)
{
	*len = (size_t)(strrchr(addr, '@') - addr);
	return addr;
}

static enum srs_result reverse_addr(const struct srs *s, const char *addr, time_t now, char *out)
{
	size_t len;
	const char *local = local_of(addr, &len);
	return srs_reverse(s, local, len, now, out, SRS_ADDR_MAX);
}

static void test_round_trip(void **state)
{
	(void)state;
	struct srs s = make_srs("fwd.example", 1);
	char srs[SRS_ADDR_MAX], back[SRS_ADDR_MAX];
	assert_int_equal(srs_forward(&s, "alice@sender.test", NOW, srs, sizeof(srs)), SRS_OK);
	assert_true(strncmp(srs, "SRS0=", 5) == 0);
	assert_non_null(strstr(srs, "=sender.test=alice@fwd.example"));
	assert_int_equal(strlen(srs), strlen("SRS0=HHHHHH=TT=sender.test=alice@fwd.example"));
	assert_int_equal(reverse_addr(&s, srs, NOW, back), SRS_OK);
	assert_string_equal(back, "alice@sender.test");
	/* the same day, the same address: a sender's forwards look alike */
	char again[SRS_ADDR_MAX];
	assert_int_equal(srs_forward(&s, "alice@sender.test", NOW + 3600, again, sizeof(again)), SRS_OK);
	assert_string_equal(again, srs);
}

static void test_case_folded(void **state)
{
	(void)state;
	struct srs s = make_srs("fwd.example", 2);
	char srs[SRS_ADDR_MAX], back[SRS_ADDR_MAX];
	assert_int_equal(srs_forward(&s, "Alice.Smith@Sender.Test", NOW, srs, sizeof(srs)), SRS_OK);
	char lower[SRS_ADDR_MAX], upper[SRS_ADDR_MAX];
	for (size_t i = 0; i <= strlen(srs); i++) {
		lower[i] = (char)(srs[i] >= 'A' && srs[i] <= 'Z' ? srs[i] + 32 : srs[i]);
		upper[i] = (char)(srs[i] >= 'a' && srs[i] <= 'z' ? srs[i] - 32 : srs[i]);
	}
	assert_int_equal(reverse_addr(&s, srs, NOW, back), SRS_OK);
	assert_string_equal(back, "Alice.Smith@Sender.Test");
	assert_int_equal(reverse_addr(&s, lower, NOW, back), SRS_OK);
	assert_string_equal(back, "alice.smith@sender.test");
	assert_int_equal(reverse_addr(&s, upper, NOW, back), SRS_OK);
	assert_string_equal(back, "ALICE.SMITH@SENDER.TEST");
}

static void test_age(void **state)
{
	(void)state;
	struct srs s = make_srs("fwd.example", 3);
	char srs[SRS_ADDR_MAX], back[SRS_ADDR_MAX];
	assert_int_equal(srs_forward(&s, "bob@sender.test", NOW, srs, sizeof(srs)), SRS_OK);
	assert_int_equal(reverse_addr(&s, srs, NOW + 21 * DAY, back), SRS_OK);
	assert_int_equal(reverse_addr(&s, srs, NOW + 22 * DAY, back), SRS_EXPIRED);
	/* dated tomorrow: refused like an expired one */
	assert_int_equal(reverse_addr(&s, srs, NOW - DAY, back), SRS_EXPIRED);
	/* far in the past, around the 1024-day wrap: still expired */
	assert_int_equal(reverse_addr(&s, srs, NOW + 1000 * DAY, back), SRS_EXPIRED);
	s.max_age_days = 2;
	assert_int_equal(reverse_addr(&s, srs, NOW + 3 * DAY, back), SRS_EXPIRED);
}

static void test_age_across_wrap(void **state)
{
	(void)state;
	struct srs s = make_srs("fwd.example", 4);
	char srs[SRS_ADDR_MAX], back[SRS_ADDR_MAX];
	time_t day1023 = (time_t)(1024 * 20 + 1023) * DAY;
	assert_int_equal(srs_forward(&s, "bob@sender.test", day1023, srs, sizeof(srs)), SRS_OK);
	assert_int_equal(reverse_addr(&s, srs, day1023 + 5 * DAY, back), SRS_OK);
	assert_string_equal(back, "bob@sender.test");
}

static void test_forged(void **state)
{
	(void)state;
	struct srs s = make_srs("fwd.example", 5), other = make_srs("fwd.example", 6);
	char srs[SRS_ADDR_MAX], back[SRS_ADDR_MAX], forged[SRS_ADDR_MAX];
	assert_int_equal(srs_forward(&s, "carol@sender.test", NOW, srs, sizeof(srs)), SRS_OK);
	/* another key's address */
	assert_int_equal(reverse_addr(&other, srs, NOW, back), SRS_BAD_HASH);
	/* every hash character changed, one at a time */
	for (size_t i = 5; i < 5 + SRS_HASH_CHARS; i++) {
		memcpy(forged, srs, sizeof(srs));
		forged[i] = forged[i] == 'A' ? 'B' : 'A';
		assert_int_equal(reverse_addr(&s, forged, NOW, back), SRS_BAD_HASH);
	}
	/* the hash kept, the destination changed */
	memcpy(forged, srs, sizeof(srs));
	char *dom = strstr(forged, "sender.test");
	memcpy(dom, "evilor.test", 11);
	assert_int_equal(reverse_addr(&s, forged, NOW, back), SRS_BAD_HASH);
	memcpy(forged, srs, sizeof(srs));
	forged[strcspn(forged, "@") - 1] = 'x';
	assert_int_equal(reverse_addr(&s, forged, NOW, back), SRS_BAD_HASH);
	/* a timestamp moved back to an unexpired day: the hash covers it */
	memcpy(forged, srs, sizeof(srs));
	forged[5 + SRS_HASH_CHARS + 2] = forged[5 + SRS_HASH_CHARS + 2] == 'A' ? 'B' : 'A';
	assert_int_not_equal(reverse_addr(&s, forged, NOW, back), SRS_OK);
	/* made up entirely */
	assert_int_equal(reverse_addr(&s, "SRS0=AAAAAA=AA=victim.test=x@fwd.example", NOW, back),
	                 SRS_BAD_HASH);
	s.nkeys = 0;
	assert_int_equal(reverse_addr(&s, srs, NOW, back), SRS_BAD_HASH);
}

static void test_truncated(void **state)
{
	(void)state;
	struct srs s = make_srs("fwd.example", 7);
	char srs[SRS_ADDR_MAX], back[SRS_ADDR_MAX];
	assert_int_equal(srs_forward(&s, "dave@sender.test", NOW, srs, sizeof(srs)), SRS_OK);
	size_t len = strcspn(srs, "@");
	for (size_t n = 0; n < len; n++) {
		enum srs_result r = srs_reverse(&s, srs, n, NOW, back, sizeof(back));
		assert_true(r == SRS_NOT_SRS || r == SRS_MALFORMED || r == SRS_BAD_HASH);
	}
	const char *bad[] = {
		"SRS0=", "SRS0==", "SRS0====", "SRS0=AAAAAA", "SRS0=AAAAAA=AA", "SRS0=AAAAAA=AA=d.test",
		"SRS0=AAAAAA=AA=d.test=", "SRS0=AAAAAA==d.test=x", "SRS0=AAAAAA=A1=d.test=x",
		"SRS0=AAAAA=AA=d.test=x", "SRS0=AAAAAAA=AA=d.test=x", "SRS0=AAAAAA=AA==x",
		"SRS0=AAAAAA=AA=[1.2.3.4]=x", "SRS1=", "SRS1=AAAAAA", "SRS1=AAAAAA=a.test",
		"SRS1=AAAAAA=a.test=", "SRS1=AAAAAA==rest", "SRS0=AAAAAA=AAA=d.test=x",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(srs_reverse(&s, bad[i], strlen(bad[i]), NOW, back, sizeof(back)),
		                 SRS_MALFORMED);
	assert_int_equal(srs_reverse(&s, "alice", 5, NOW, back, sizeof(back)), SRS_NOT_SRS);
	assert_int_equal(srs_reverse(&s, "SRS2=x", 6, NOW, back, sizeof(back)), SRS_NOT_SRS);
	/* a NUL inside the given length */
	assert_int_equal(srs_reverse(&s, "SRS0=A\0AAAAA=AA=d.test=x", 24, NOW, back, sizeof(back)),
	                 SRS_MALFORMED);
}

static void test_srs1(void **state)
{
	(void)state;
	struct srs a = make_srs("a.test", 8), b = make_srs("b.test", 9), c = make_srs("c.test", 10);
	char s0[SRS_ADDR_MAX], s1[SRS_ADDR_MAX], s1c[SRS_ADDR_MAX], back[SRS_ADDR_MAX];
	assert_int_equal(srs_forward(&a, "erin@origin.test", NOW, s0, sizeof(s0)), SRS_OK);
	/* b forwards a's forward: SRS1 naming a */
	assert_int_equal(srs_forward(&b, s0, NOW, s1, sizeof(s1)), SRS_OK);
	assert_true(strncmp(s1, "SRS1=", 5) == 0);
	assert_non_null(strstr(s1, "=a.test=="));
	assert_non_null(strstr(s1, "@b.test"));
	/* a bounce to b's address goes back to a's SRS0, which a decodes */
	assert_int_equal(reverse_addr(&b, s1, NOW, back), SRS_OK);
	assert_string_equal(back, s0);
	assert_int_equal(reverse_addr(&a, back, NOW, back), SRS_OK);
	assert_string_equal(back, "erin@origin.test");
	/* c forwards b's SRS1: the bounce still skips b */
	assert_int_equal(srs_forward(&c, s1, NOW, s1c, sizeof(s1c)), SRS_OK);
	assert_true(strncmp(s1c, "SRS1=", 5) == 0);
	assert_int_equal(reverse_addr(&c, s1c, NOW, back), SRS_OK);
	assert_string_equal(back, s0);
	/* b's key does not vouch for c's address, and the first forwarder is covered */
	assert_int_equal(reverse_addr(&b, s1c, NOW, back), SRS_BAD_HASH);
	char forged[SRS_ADDR_MAX];
	memcpy(forged, s1, sizeof(s1));
	memcpy(strstr(forged, "=a.test=") + 1, "x", 1);
	assert_int_equal(reverse_addr(&b, forged, NOW, back), SRS_BAD_HASH);
}

static void test_rotation(void **state)
{
	(void)state;
	struct srs old = make_srs("fwd.example", 11), rotated = make_srs("fwd.example", 12);
	char srs[SRS_ADDR_MAX], fresh[SRS_ADDR_MAX], back[SRS_ADDR_MAX];
	assert_int_equal(srs_forward(&old, "frank@sender.test", NOW, srs, sizeof(srs)), SRS_OK);
	assert_int_equal(reverse_addr(&rotated, srs, NOW, back), SRS_BAD_HASH);
	memcpy(rotated.keys[1], old.keys[0], SRS_KEY_LEN);
	rotated.nkeys = 2;
	assert_int_equal(reverse_addr(&rotated, srs, NOW, back), SRS_OK);
	assert_string_equal(back, "frank@sender.test");
	/* the new key signs */
	assert_int_equal(srs_forward(&rotated, "frank@sender.test", NOW, fresh, sizeof(fresh)), SRS_OK);
	assert_string_not_equal(fresh, srs);
	assert_int_equal(reverse_addr(&old, fresh, NOW, back), SRS_BAD_HASH);
}

static void test_length_bounds(void **state)
{
	(void)state;
	struct srs s = make_srs("fwd.example", 13);
	char srs[SRS_ADDR_MAX], back[SRS_ADDR_MAX], sender[300];
	/* "SRS0=" + 6 + "=TT=" + domain + "=" + local: 64 with 12 + 38 */
	const char *domain = "sender.test.example";   /* 19 */
	size_t overhead = 5 + SRS_HASH_CHARS + 4 + strlen(domain) + 1;
	size_t fits = SRS_LOCAL_MAX - overhead;
	snprintf(sender, sizeof(sender), "%.*s@%s", (int)fits,
	         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", domain);
	assert_int_equal(srs_forward(&s, sender, NOW, srs, sizeof(srs)), SRS_OK);
	assert_int_equal(strcspn(srs, "@"), SRS_LOCAL_MAX);
	assert_int_equal(reverse_addr(&s, srs, NOW, back), SRS_OK);
	assert_string_equal(back, sender);
	snprintf(sender, sizeof(sender), "%.*s@%s", (int)fits + 1,
	         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", domain);
	assert_int_equal(srs_forward(&s, sender, NOW, srs, sizeof(srs)), SRS_TOO_LONG);
	/* an SRS1 that would pass 64 octets */
	assert_int_equal(srs_forward(&s, "SRS0=AAAAAA=AA=orig.test=somebody@a-rather-long-forwarder.test",
	                             NOW, srs, sizeof(srs)), SRS_TOO_LONG);
	/* a local part past 64 octets is no SRS address of ours */
	char longlocal[80];
	memset(longlocal, 'a', sizeof(longlocal));
	memcpy(longlocal, "SRS0=", 5);
	assert_int_equal(srs_reverse(&s, longlocal, sizeof(longlocal), NOW, back, sizeof(back)),
	                 SRS_MALFORMED);
	/* an output buffer too small is an error, not a cut address */
	assert_int_equal(srs_forward(&s, "a@sender.test", NOW, srs, 20), SRS_MALFORMED);
}

static void test_senders_not_rewritten(void **state)
{
	(void)state;
	struct srs s = make_srs("fwd.example", 14);
	char out[SRS_ADDR_MAX];
	assert_int_equal(srs_forward(&s, "me@FWD.example", NOW, out, sizeof(out)), SRS_OK);
	assert_string_equal(out, "me@FWD.example");
	const char *bad[] = { "nodomain", "@sender.test", "a@", "a@b=c.test", "a@[192.0.2.1]",
	                      "\"a b\"@sender.test", "a b@sender.test" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(srs_forward(&s, bad[i], NOW, out, sizeof(out)), SRS_MALFORMED);
	s.nkeys = 0;
	assert_int_equal(srs_forward(&s, "a@sender.test", NOW, out, sizeof(out)), SRS_MALFORMED);
}

/* ---- the key file --------------------------------------------------------- */

static char *temp_dir(void)
{
	char tmpl[] = "/tmp/postern-srs-XXXXXX";
	char *dir = mkdtemp(tmpl);
	assert_non_null(dir);
	return strdup(dir);
}

static void remove_dir(char *dir)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/srs.key", dir);
	unlink(path);
	rmdir(dir);
	free(dir);
}

static off_t file_size(const char *dir, mode_t *mode)
{
	char path[512];
	struct stat sb;
	snprintf(path, sizeof(path), "%s/srs.key", dir);
	if (stat(path, &sb) < 0)
		return -1;
	*mode = sb.st_mode & 07777;
	return sb.st_size;
}

static void test_key_file(void **state)
{
	(void)state;
	char *dir = temp_dir(), err[512];
	struct srs a = { .max_age_days = 21 }, b = { .max_age_days = 21 };
	mode_t mode;
	assert_int_equal(srs_keys_load(&a, dir, false, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no such file"));
	assert_int_equal(srs_keys_load(&a, dir, true, err, sizeof(err)), 0);
	assert_int_equal(a.nkeys, 1);
	assert_int_equal(file_size(dir, &mode), SRS_KEY_LEN);
	assert_int_equal(mode, 0600);
	/* made once: a second load reads the same key */
	assert_int_equal(srs_keys_load(&b, dir, true, err, sizeof(err)), 0);
	assert_memory_equal(a.keys[0], b.keys[0], SRS_KEY_LEN);

	size_t n = 0;
	assert_int_equal(srs_keys_rotate(dir, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(srs_keys_load(&b, dir, false, err, sizeof(err)), 0);
	assert_int_equal(b.nkeys, 2);
	assert_memory_not_equal(b.keys[0], a.keys[0], SRS_KEY_LEN);
	assert_memory_equal(b.keys[1], a.keys[0], SRS_KEY_LEN);
	assert_int_equal(file_size(dir, &mode), 2 * SRS_KEY_LEN);
	assert_int_equal(mode, 0600);
	/* again: the key before last is dropped */
	unsigned char second[SRS_KEY_LEN];
	memcpy(second, b.keys[0], SRS_KEY_LEN);
	assert_int_equal(srs_keys_rotate(dir, &n, err, sizeof(err)), 0);
	assert_int_equal(srs_keys_load(&b, dir, false, err, sizeof(err)), 0);
	assert_int_equal(b.nkeys, 2);
	assert_memory_equal(b.keys[1], second, SRS_KEY_LEN);

	/* a file of the wrong size is refused */
	char path[512];
	snprintf(path, sizeof(path), "%s/srs.key", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("short", f);
	fclose(f);
	assert_int_equal(srs_keys_load(&b, dir, true, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "keys of 32 octets"));
	assert_int_equal(truncate(path, 0), 0);
	assert_int_equal(srs_keys_load(&b, dir, true, err, sizeof(err)), -1);
	assert_int_equal(truncate(path, (SRS_KEYS_MAX + 1) * SRS_KEY_LEN), 0);
	assert_int_equal(srs_keys_load(&b, dir, true, err, sizeof(err)), -1);
	remove_dir(dir);
}

static void test_rotate_makes_file(void **state)
{
	(void)state;
	char *dir = temp_dir(), err[512];
	size_t n = 0;
	mode_t mode;
	assert_int_equal(srs_keys_rotate(dir, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_int_equal(file_size(dir, &mode), SRS_KEY_LEN);
	assert_int_equal(mode, 0600);
	remove_dir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_case_folded),
		cmocka_unit_test(test_age),
		cmocka_unit_test(test_age_across_wrap),
		cmocka_unit_test(test_forged),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_srs1),
		cmocka_unit_test(test_rotation),
		cmocka_unit_test(test_length_bounds),
		cmocka_unit_test(test_senders_not_rewritten),
		cmocka_unit_test(test_key_file),
		cmocka_unit_test(test_rotate_makes_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
