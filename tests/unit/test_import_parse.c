/* Foreign formats an import reads: dovecot-uidlist, dovecot-keywords,
 * subscriptions, folder names; and the bounded line reader and scratch map
 * they are read with. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/lines.h"
#include "import/dovecot_keywords.h"
#include "import/dovecot_subs.h"
#include "import/dovecot_uidlist.h"
#include "import/import_copy.h"
#include "import/import_names.h"
#include "import/pop3_uidl_format.h"
#include "store/scratch.h"

/* ---- dovecot-uidlist ------------------------------------------------------------ */

static void test_uidlist_header(void **state)
{
	(void)state;
	struct dovecot_uidlist_header h;
	const char *why = NULL;
	assert_int_equal(dovecot_uidlist_parse_header("3 V1275660208 N25022 "
	                 "G3085f01b7f11094c501100008c4a11c1", &h, &why), 0);
	assert_int_equal(h.version, 3);
	assert_int_equal(h.uidvalidity, 1275660208);
	assert_int_equal(h.next_uid, 25022);
	assert_string_equal(h.guid, "3085f01b7f11094c501100008c4a11c1");
	/* any order, unknown keys ignored, no GUID */
	assert_int_equal(dovecot_uidlist_parse_header("3 N5 Xwhatever V7", &h, &why), 0);
	assert_int_equal(h.uidvalidity, 7);
	assert_int_equal(h.next_uid, 5);
	assert_string_equal(h.guid, "");
	assert_int_equal(dovecot_uidlist_parse_header("1 1000 42", &h, &why), 0);
	assert_int_equal(h.version, 1);
	assert_int_equal(h.next_uid, 42);
	static const char *const bad[] = {
		"", "2 1 2", "3", "3 V12", "3 N12", "3 V0 N1", "3 V4294967296 N1", "3 V-1 N1",
		"3 V12x N1", "3 V99999999999999999999 N1", "3 V1 N1 Gxyz", "1 5", "1 5 6 7", "V1 N2",
		"4 V1 N2", "1 0 5",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		assert_int_equal(dovecot_uidlist_parse_header(bad[i], &h, &why), -1);
		assert_non_null(why);
	}
}

static void test_uidlist_entries(void **state)
{
	(void)state;
	struct dovecot_uidlist_entry e;
	const char *why = NULL;
	assert_int_equal(dovecot_uidlist_parse_entry("25006 :1276528487.M364837P9451.kurkku,S=1355,"
	                 "W=1394:2,", 3, &e, &why), 0);
	assert_int_equal(e.uid, 25006);
	assert_string_equal(e.base, "1276528487.M364837P9451.kurkku,S=1355,W=1394");
	assert_string_equal(e.pop3_uidl, "");
	assert_false(e.has_vsize);
	assert_int_equal(dovecot_uidlist_parse_entry("25017 W2481 P000061b94f6b7f17 Gabc "
	                 ":1276533073.M242911P3632.kurkku:2,F", 3, &e, &why), 0);
	assert_int_equal(e.uid, 25017);
	assert_true(e.has_vsize);
	assert_int_equal(e.vsize, 2481);
	assert_string_equal(e.pop3_uidl, "000061b94f6b7f17");
	assert_string_equal(e.base, "1276533073.M242911P3632.kurkku");
	/* a P field RFC 1939 does not allow: the entry stays, the UIDL goes */
	char longp[200] = "7 P";
	memset(longp + 3, 'x', 100);
	strcpy(longp + 103, " :name");
	assert_int_equal(dovecot_uidlist_parse_entry(longp, 3, &e, &why), 0);
	assert_true(e.bad_pop3_uidl);
	assert_string_equal(e.pop3_uidl, "");
	assert_int_equal(dovecot_uidlist_parse_entry("8 P\001x :name", 3, &e, &why), 0);
	assert_true(e.bad_pop3_uidl);
	/* version 1: no fields */
	assert_int_equal(dovecot_uidlist_parse_entry("12 1035478339.27041_118.foo.org:2,S", 1, &e,
	                                             &why), 0);
	assert_string_equal(e.base, "1035478339.27041_118.foo.org");
	static const char *const bad[] = {
		"", "x :a", "0 :a", "4294967295 :a", "4294967296 :a", "-1 :a", "12", "12:a", "12 a",
		"12 :", "12 ::2,S", "12 :../../etc/passwd", "12 :a/b", "12 :.hidden", "12 W12x :a",
		"12 wlow :a", "12 W :a", "12 W99999999999999999999 :a", "12 :a\tb",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		assert_int_equal(dovecot_uidlist_parse_entry(bad[i], 3, &e, &why), -1);
		assert_non_null(why);
	}
	char name[400] = "5 :";
	memset(name + 3, 'n', 300);
	name[303] = '\0';
	assert_int_equal(dovecot_uidlist_parse_entry(name, 3, &e, &why), -1);
}

/* ---- dovecot-keywords -------------------------------------------------------------- */

static void test_keywords(void **state)
{
	(void)state;
	struct dovecot_keywords kw;
	const char *why;
	char out[1024];
	unsigned unknown = 0;
	memset(&kw, 0, sizeof(kw));
	assert_int_equal(dovecot_keywords_parse_line(&kw, "0 $Junk", &why), 0);
	assert_int_equal(dovecot_keywords_parse_line(&kw, "1 $NonJunk", &why), 0);
	assert_int_equal(dovecot_keywords_parse_line(&kw, "25 Last", &why), 0);
	static const char *const bad[] = {
		"", "x $a", "0", "0 ", "26 beyond", "999999999999 big", "2 \\Seen", "2 has space",
		"2 paren(", "2 brace{", "2 quote\"", "2 back\\slash", "2 bracket]", "2 star*",
		"2 pct%", "2 ctl\001", "2 $Junk", "2 \xc3\xa4rger",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(dovecot_keywords_parse_line(&kw, bad[i], &why), -1);
	/* IMAP's own bound on a keyword, 255 octets: longer is refused */
	char longkw[300] = "3 ";
	memset(longkw + 2, 'k', 256);
	longkw[258] = '\0';
	assert_int_equal(dovecot_keywords_parse_line(&kw, longkw, &why), -1);
	longkw[257] = '\0';
	assert_int_equal(dovecot_keywords_parse_line(&kw, longkw, &why), 0);
	memset(kw.name[3], 0, sizeof(kw.name[3]));

	dovecot_keywords_of(&kw, "FSab", out, sizeof(out), &unknown);
	assert_string_equal(out, "$Junk $NonJunk");
	assert_int_equal(unknown, 0);
	dovecot_keywords_of(&kw, "aazc,S=12", out, sizeof(out), &unknown);
	assert_string_equal(out, "$Junk Last");
	assert_int_equal(unknown, 1);   /* c has no name */
	unknown = 0;
	dovecot_keywords_of(&kw, "ab", out, 10, &unknown);   /* what does not fit is counted */
	assert_string_equal(out, "$Junk");
	assert_int_equal(unknown, 1);
}

/* ---- subscriptions --------------------------------------------------------------- */

static void test_subscriptions_v2(void **state)
{
	(void)state;
	struct dovecot_subs st = { 0 };
	char name[300];
	const char *why;
	assert_int_equal(dovecot_subs_line(&st, "V\t2", name, sizeof(name), &why), 0);
	assert_int_equal(dovecot_subs_line(&st, "", name, sizeof(name), &why), 0);
	assert_int_equal(dovecot_subs_line(&st, "Archiv\t2026 &AMQ-rger", name, sizeof(name), &why), 1);
	assert_string_equal(name, "Archiv/2026 &AMQ-rger");
	assert_int_equal(dovecot_subs_line(&st, "INBOX", name, sizeof(name), &why), 1);
	assert_string_equal(name, "INBOX");
	assert_int_equal(dovecot_subs_line(&st, "a\0011b", name, sizeof(name), &why), -1);
	assert_int_equal(dovecot_subs_line(&st, "a\001tb", name, sizeof(name), &why), -1);
	assert_int_equal(dovecot_subs_line(&st, "a\001", name, sizeof(name), &why), -1);
	assert_int_equal(dovecot_subs_line(&st, "a\001q", name, sizeof(name), &why), -1);
	assert_int_equal(dovecot_subs_line(&st, "\tlead", name, sizeof(name), &why), -1);
	assert_int_equal(dovecot_subs_line(&st, "trail\t", name, sizeof(name), &why), -1);
	assert_int_equal(dovecot_subs_line(&st, "a\t\tb", name, sizeof(name), &why), -1);
	assert_int_equal(dovecot_subs_line(&st, "a.b", name, sizeof(name), &why), 1);
	assert_string_equal(name, "a.b");   /* a '.' in a level: the name check refuses it later */
	char longname[400];
	memset(longname, 'x', 399);
	longname[399] = '\0';
	assert_int_equal(dovecot_subs_line(&st, longname, name, sizeof(name), &why), -1);
}

static void test_subscriptions_old_format(void **state)
{
	(void)state;
	struct dovecot_subs st = { 0 };
	char name[300];
	const char *why;
	assert_int_equal(dovecot_subs_line(&st, "INBOX", name, sizeof(name), &why), 1);
	assert_string_equal(name, "INBOX");
	assert_int_equal(dovecot_subs_line(&st, "Archive.2026", name, sizeof(name), &why), 1);
	assert_string_equal(name, "Archive/2026");
	assert_int_equal(dovecot_subs_line(&st, "Lists/postern", name, sizeof(name), &why), 1);
	assert_string_equal(name, "Lists/postern");
	assert_int_equal(dovecot_subs_line(&st, "", name, sizeof(name), &why), 0);
	assert_int_equal(dovecot_subs_line(&st, "a..b", name, sizeof(name), &why), -1);
	assert_int_equal(dovecot_subs_line(&st, ".a", name, sizeof(name), &why), -1);
}

/* ---- folder names ---------------------------------------------------------------- */

static void test_folder_names(void **state)
{
	(void)state;
	char out[300];
	const char *why;
	assert_int_equal(import_folder_name("Archiv.2026 &AMQ-rger", '.', out, sizeof(out), &why), 0);
	assert_string_equal(out, "Archiv/2026 Ärger");
	assert_int_equal(import_folder_name("Archiv/2026 &AMQ-rger", '/', out, sizeof(out), &why), 0);
	assert_string_equal(out, "Archiv/2026 Ärger");
	assert_int_equal(import_folder_name("inbox", '.', out, sizeof(out), &why), 0);
	assert_string_equal(out, "INBOX");
	assert_int_equal(import_folder_name("Caf\xc3\xa9", '.', out, sizeof(out), &why), 0);
	assert_string_equal(out, "Caf\xc3\xa9");   /* already UTF-8 */
	assert_int_equal(import_folder_name("Tom &- Jerry", '.', out, sizeof(out), &why), 0);
	assert_string_equal(out, "Tom & Jerry");
	static const char *const bad[] = {
		"", "a..b", ".a", "a.", "we~ird", "100%", "star*", "back\\slash", "quo\"te",
		"ctl\001x", "bad\xff", "Folder.v2",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(import_folder_name(bad[i], '/', out, sizeof(out), &why), -1);
	assert_int_equal(import_folder_name("a..b", '.', out, sizeof(out), &why), -1);
	char longname[400];
	memset(longname, 'x', 300);
	longname[300] = '\0';
	assert_int_equal(import_folder_name(longname, '.', out, sizeof(out), &why), -1);
}

/* ---- POP3 UIDLs as Dovecot made them --------------------------------------------------- */

static void test_pop3_uidl_format(void **state)
{
	(void)state;
	char out[80];
	const char *why;
	/* Dovecot's default, as its POP3 showed it: lowercase hex */
	assert_int_equal(pop3_uidl_format("%08Xu%08Xv", 1, 1796669968, "b", out, sizeof(out)), 0);
	assert_string_equal(out, "000000016b170210");
	assert_int_equal(pop3_uidl_format("%u.%v", 42, 7, "b", out, sizeof(out)), 0);
	assert_string_equal(out, "42.7");
	assert_int_equal(pop3_uidl_format("%{uidvalidity}-%{uid}", 42, 7, "b", out, sizeof(out)), 0);
	assert_string_equal(out, "7-42");
	assert_int_equal(pop3_uidl_format("%f", 1, 1, "1276528487.M364837P9451.kurkku,S=1355", out,
	                                  sizeof(out)), 0);
	assert_string_equal(out, "1276528487.M364837P9451.kurkku,S=1355");
	assert_int_equal(pop3_uidl_format("%UXu%%", 255, 1, "b", out, sizeof(out)), 0);
	assert_string_equal(out, "FF%");
	assert_int_equal(pop3_uidl_format_check("%08Xu%08Xv", &why), 0);
	assert_int_equal(pop3_uidl_format_check("%m", &why), -1);
	assert_int_equal(pop3_uidl_format_check("%{md5}", &why), -1);
	assert_int_equal(pop3_uidl_format_check("%", &why), -1);
	assert_int_equal(pop3_uidl_format_check("%{uid", &why), -1);
	/* what RFC 1939 does not allow as a UIDL is not made */
	assert_int_equal(pop3_uidl_format("%u %v", 1, 2, "b", out, sizeof(out)), -1);
	assert_int_equal(pop3_uidl_format("%80u", 1, 2, "b", out, sizeof(out)), -1);
	assert_int_equal(pop3_uidl_format("", 1, 2, "b", out, sizeof(out)), -1);
}

static void test_looks_like_message(void **state)
{
	(void)state;
	static const char *const good[] = {
		"Return-Path: <a@b>\nSubject: x\n\nbody", "From someone@example Mon Jan 1\nX: y\n",
		"Subject : obsolete space\n\nx",
	};
	static const char *const bad[] = {
		"", "\nSubject: no header first", ": empty name", "no colon at all\n",
		"Sub ject: space inside\n", "\x01\x02binary",
	};
	static const char nul_in_body[] = "X-Name_1.2: v\r\n\r\n\0binary body is fine";
	static const char nul_in_header[] = "Subject: x\nX: \0nul in header\n";
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(import_looks_like_message(good[i], strlen(good[i])));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(import_looks_like_message(bad[i], strlen(bad[i])));
	assert_true(import_looks_like_message(nul_in_body, sizeof(nul_in_body) - 1));
	assert_false(import_looks_like_message(nul_in_header, sizeof(nul_in_header) - 1));
}

/* ---- lines --------------------------------------------------------------------------- */

static int file_with(const char *content, size_t len)
{
	char path[] = "/tmp/postern-lines-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, content, len), (ssize_t)len);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static void test_lines(void **state)
{
	(void)state;
	static const char text[] = "one\r\ntwo\n\n0123456789ABCDEF too long\nlast";
	int fd = file_with(text, sizeof(text) - 1);
	struct lines r;
	char *line;
	size_t len;
	lines_init(&r, fd, 10);
	assert_int_equal(lines_next(&r, &line, &len), LINES_OK);
	assert_string_equal(line, "one");
	assert_int_equal(lines_next(&r, &line, &len), LINES_OK);
	assert_string_equal(line, "two");
	assert_int_equal(lines_next(&r, &line, &len), LINES_OK);
	assert_int_equal(len, 0);
	assert_int_equal(lines_next(&r, &line, &len), LINES_TOO_LONG);
	assert_int_equal(lines_next(&r, &line, &len), LINES_OK);
	assert_string_equal(line, "last");
	assert_int_equal(r.lineno, 5);
	assert_int_equal(lines_next(&r, &line, &len), LINES_END);
	lines_free(&r);
	close(fd);
	/* a huge last line without LF: skipped, memory stays at the limit */
	char *huge = malloc(1 << 20);
	memset(huge, 'h', 1 << 20);
	fd = file_with(huge, 1 << 20);
	lines_init(&r, fd, 100);
	assert_int_equal(lines_next(&r, &line, &len), LINES_TOO_LONG);
	assert_int_equal(lines_next(&r, &line, &len), LINES_END);
	lines_free(&r);
	close(fd);
	free(huge);
}

/* ---- scratch map ------------------------------------------------------------------- */

struct seen {
	char keys[8][32];
	int n;
};

static void collect(void *arg, const char *key, const char *value)
{
	struct seen *s = arg;
	(void)value;
	snprintf(s->keys[s->n++], sizeof(s->keys[0]), "%s", key);
}

static void test_scratch_map(void **state)
{
	(void)state;
	char err[256], value[64];
	struct scratch_map *m = scratch_map_new(NULL, err, sizeof(err));
	assert_non_null(m);
	assert_int_equal(scratch_map_begin(m), 0);
	assert_int_equal(scratch_map_put(m, "b", "2"), 0);
	assert_int_equal(scratch_map_put(m, "a", "1"), 0);
	assert_int_equal(scratch_map_put(m, "c", "3"), 0);
	assert_int_equal(scratch_map_put(m, "b", "other"), 1);
	assert_int_equal(scratch_map_commit(m), 0);
	assert_int_equal(scratch_map_count(m), 3);
	assert_int_equal(scratch_map_get(m, "b", value, sizeof(value)), 0);
	assert_string_equal(value, "2");
	assert_int_equal(scratch_map_get(m, "z", value, sizeof(value)), 1);
	assert_int_equal(scratch_map_del(m, "b"), 0);
	struct seen s = { .n = 0 };
	assert_int_equal(scratch_map_next(m, "", 8, collect, &s), 2);
	assert_string_equal(s.keys[0], "a");
	assert_string_equal(s.keys[1], "c");
	s.n = 0;
	assert_int_equal(scratch_map_next(m, "a", 1, collect, &s), 1);
	assert_string_equal(s.keys[0], "c");
	scratch_map_free(m);
	/* in a file of our choosing, gone afterwards */
	char path[] = "/tmp/postern-scratch-XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	m = scratch_map_new(path, err, sizeof(err));
	assert_non_null(m);
	assert_int_equal(scratch_map_put(m, "k", "v"), 0);
	assert_int_equal(access(path, F_OK), 0);
	scratch_map_free(m);
	assert_int_equal(access(path, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uidlist_header),
		cmocka_unit_test(test_uidlist_entries),
		cmocka_unit_test(test_keywords),
		cmocka_unit_test(test_subscriptions_v2),
		cmocka_unit_test(test_subscriptions_old_format),
		cmocka_unit_test(test_folder_names),
		cmocka_unit_test(test_pop3_uidl_format),
		cmocka_unit_test(test_looks_like_message),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_scratch_map),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
