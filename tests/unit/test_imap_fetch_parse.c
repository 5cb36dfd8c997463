/* Unit tests for src/imap/imap_fetch_parse.c: FETCH attributes (every item,
 * macros, sections, partials, HEADER.FIELDS with literal names, modifiers),
 * response names, flag lists and STORE arguments. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/util.h"
#include "imap/imap_fetch_parse.h"
#include "imap/imap_parse.h"

/* ---- helpers ---- */

struct harness {
	struct imap_reader r;
	struct imap_command cmd;
	struct imap_cursor c;
	struct imap_fetch f;
	struct imap_store st;
	bool ok;
};

/* Assembles "t <verb> 1 <args>" (literals answered) and parses the command;
 * the cursor is left after the sequence set. */
static void h_command(struct harness *h, const char *verb, const char *args)
{
	char line[16384];
	size_t off = 0, used, len;
	enum imap_read_result res = IMAP_READ_MORE;
	struct imap_raw_command raw;
	struct imap_seqset set;

	memset(h, 0, sizeof *h);
	len = (size_t)snprintf(line, sizeof line, "t %s 1 %s\r\n", verb, args);
	assert_true(len < sizeof line);
	imap_reader_init(&h->r, IMAP_LINE_MAX_DEFAULT, 1000, 1000);
	while (off < len && res != IMAP_READ_COMMAND) {
		res = imap_reader_feed(&h->r, line + off, len - off, &used);
		off += used;
	}
	assert_int_equal(res, IMAP_READ_COMMAND);
	imap_reader_command(&h->r, &raw);
	assert_int_equal(imap_command_parse(&h->cmd, &raw, 0), 0);
	imap_command_args(&h->cmd, &h->c);
	assert_true(imap_next_seqset(&h->c, &set, 0));
	imap_seqset_free(&set);
}

static void h_fetch(struct harness *h, const char *args, bool uid)
{
	h_command(h, "FETCH", args);
	h->ok = imap_fetch_parse(&h->f, &h->c, uid);
	assert_true(h->ok == (h->cmd.error == NULL));
}

static void h_store(struct harness *h, const char *args)
{
	h_command(h, "STORE", args);
	h->ok = imap_store_parse(&h->st, &h->c);
	assert_true(h->ok == (h->cmd.error == NULL));
}

static void h_free(struct harness *h)
{
	imap_fetch_free(&h->f);
	imap_store_free(&h->st);
	imap_command_free(&h->cmd);
	imap_reader_free(&h->r);
}

static void expect_fetch_bad(const char *args, bool uid, const char *error)
{
	struct harness h;

	h_fetch(&h, args, uid);
	if (h.ok)
		fail_msg("\"%s\" parsed", args);
	assert_string_equal(h.cmd.error, error);
	h_free(&h);
}

/* Parses a single attribute and checks its response name. */
static void expect_fetch_name(const char *args, const char *name)
{
	struct harness h;
	char buf[256];

	h_fetch(&h, args, false);
	if (!h.ok)
		fail_msg("\"%s\": %s", args, h.cmd.error);
	assert_int_equal(h.f.nitems, 1);
	assert_int_equal(imap_fetch_item_name(&h.f.items[0], buf, sizeof buf), (int)strlen(name));
	assert_string_equal(buf, name);
	h_free(&h);
}

static void expect_store_bad(const char *args, const char *error)
{
	struct harness h;

	h_store(&h, args);
	if (h.ok)
		fail_msg("\"%s\" parsed", args);
	assert_string_equal(h.cmd.error, error);
	h_free(&h);
}

/* ---- FETCH ---- */

static void test_fetch_simple_items(void **state)
{
	static const struct {
		const char *name;
		enum imap_fetch_att att;
	} items[] = {
		{ "FLAGS", IMAP_FA_FLAGS }, { "INTERNALDATE", IMAP_FA_INTERNALDATE },
		{ "RFC822.SIZE", IMAP_FA_RFC822_SIZE }, { "ENVELOPE", IMAP_FA_ENVELOPE },
		{ "BODY", IMAP_FA_BODY }, { "BODYSTRUCTURE", IMAP_FA_BODYSTRUCTURE },
		{ "UID", IMAP_FA_UID }, { "MODSEQ", IMAP_FA_MODSEQ }, { "RFC822", IMAP_FA_RFC822 },
		{ "RFC822.HEADER", IMAP_FA_RFC822_HEADER }, { "RFC822.TEXT", IMAP_FA_RFC822_TEXT },
	};
	struct harness h;
	char buf[64];
	(void)state;

	for (size_t i = 0; i < ARRAY_LEN(items); i++) {
		h_fetch(&h, items[i].name, false);
		assert_true(h.ok);
		assert_int_equal(h.f.nitems, 1);
		assert_int_equal(h.f.items[0].att, items[i].att);
		assert_int_equal(imap_fetch_item_name(&h.f.items[0], buf, sizeof buf),
		                 (int)strlen(items[i].name));
		assert_string_equal(buf, items[i].name);
		assert_int_equal(h.f.sets_seen, items[i].att == IMAP_FA_RFC822 ||
		                                items[i].att == IMAP_FA_RFC822_TEXT);
		assert_int_equal(h.f.wants_modseq, items[i].att == IMAP_FA_MODSEQ);
		h_free(&h);
	}
	/* lower case, in a list */
	h_fetch(&h, "(uid flags rfc822.size body.peek[])", false);
	assert_true(h.ok);
	assert_int_equal(h.f.nitems, 4);
	assert_int_equal(h.f.items[3].att, IMAP_FA_BODY_SECTION);
	assert_true(h.f.items[3].peek);
	assert_false(h.f.sets_seen);
	h_free(&h);

	expect_fetch_bad("FOO", false, "Unknown FETCH attribute");
	expect_fetch_bad("(FLAGS FOO)", false, "Unknown FETCH attribute");
	expect_fetch_bad("\"FLAGS\"", false, "Unknown FETCH attribute");
	expect_fetch_bad("BODY.PEEK", false, "Unknown FETCH attribute");
	expect_fetch_bad("()", false, "Empty FETCH attribute list");
	expect_fetch_bad("", false, "Missing FETCH attributes");
	expect_fetch_bad("FLAGS UID", false, "Expected a parenthesised list");
	expect_fetch_bad("(FLAGS) (UID)", false, "Unknown FETCH modifier");
	expect_fetch_bad("(FLAGS (UID))", false, "Unknown FETCH attribute");
}

static void test_fetch_macros(void **state)
{
	static const struct {
		const char *name;
		size_t n;
	} macros[] = { { "FAST", 3 }, { "ALL", 4 }, { "full", 5 } };
	static const enum imap_fetch_att order[] = {
		IMAP_FA_FLAGS, IMAP_FA_INTERNALDATE, IMAP_FA_RFC822_SIZE, IMAP_FA_ENVELOPE,
		IMAP_FA_BODY,
	};
	struct harness h;
	(void)state;

	for (size_t i = 0; i < ARRAY_LEN(macros); i++) {
		h_fetch(&h, macros[i].name, false);
		assert_true(h.ok);
		assert_int_equal(h.f.nitems, macros[i].n);
		for (size_t k = 0; k < macros[i].n; k++)
			assert_int_equal(h.f.items[k].att, order[k]);
		h_free(&h);
	}
	/* macros are not attributes: not inside a list */
	expect_fetch_bad("(ALL)", false, "Unknown FETCH attribute");
	expect_fetch_bad("(FLAGS FAST)", false, "Unknown FETCH attribute");
	expect_fetch_bad("ALL FLAGS", false, "Expected a parenthesised list");
}

static void test_fetch_sections(void **state)
{
	struct harness h;
	const struct imap_fetch_item *it;
	(void)state;

	expect_fetch_name("BODY[]", "BODY[]");
	expect_fetch_name("BODY[1.2.3]", "BODY[1.2.3]");
	expect_fetch_name("body[header]", "BODY[HEADER]");
	expect_fetch_name("BODY[1.HEADER]", "BODY[1.HEADER]");
	expect_fetch_name("BODY[2.MIME]", "BODY[2.MIME]");
	expect_fetch_name("BODY[TEXT]", "BODY[TEXT]");
	expect_fetch_name("BODY[4.2.TEXT]", "BODY[4.2.TEXT]");
	expect_fetch_name("BODY.PEEK[HEADER.FIELDS (From To)]", "BODY[HEADER.FIELDS (From To)]");
	expect_fetch_name("BODY[1.HEADER.FIELDS.NOT (Received)]<10.20>",
	                  "BODY[1.HEADER.FIELDS.NOT (Received)]<10>");
	expect_fetch_name("BINARY[1.2]<0.10>", "BINARY[1.2]<0>");
	expect_fetch_name("BINARY.PEEK[]", "BINARY[]");
	expect_fetch_name("BINARY.SIZE[3]", "BINARY.SIZE[3]");
	expect_fetch_name("BODY[HEADER.FIELDS (\"a(b\" \"c\\\\d\" {3}\r\ne\"f)]",
	                  "BODY[HEADER.FIELDS (\"a(b\" \"c\\\\d\" \"e\\\"f\")]");

	h_fetch(&h, "(BODY.PEEK[1.2.HEADER.FIELDS ({7}\r\nSubject {4+}\r\nDATE)]<0.1024> "
	            "BINARY[4]<9223372036854775807.9223372036854775807>)", false);
	assert_true(h.ok);
	it = &h.f.items[0];
	assert_int_equal(it->att, IMAP_FA_BODY_SECTION);
	assert_true(it->peek);
	assert_int_equal(it->section.nparts, 2);
	assert_int_equal(it->section.part[1], 2);
	assert_int_equal(it->section.text, IMAP_SECTION_HEADER_FIELDS);
	assert_int_equal(it->section.nfields, 2);
	assert_string_equal(it->section.fields[0], "Subject");
	assert_string_equal(it->section.fields[1], "DATE");
	assert_true(it->partial);
	assert_int_equal(it->partial_start, 0);
	assert_int_equal(it->partial_count, 1024);
	it = &h.f.items[1];
	assert_int_equal(it->att, IMAP_FA_BINARY);
	assert_false(it->peek);
	assert_int_equal(it->partial_start, INT64_MAX);
	assert_true(h.f.sets_seen);
	h_free(&h);

	/* 32 part levels, not 33 */
	char buf[512] = "BODY[";
	for (int i = 0; i < IMAP_SECTION_PARTS_MAX; i++)
		strcat(buf, i ? ".1" : "1");
	strcat(buf, "]");
	h_fetch(&h, buf, false);
	assert_true(h.ok);
	h_free(&h);
	strcpy(strrchr(buf, ']'), ".1]");
	expect_fetch_bad(buf, false, "Section part numbers nested too deeply");

	expect_fetch_bad("BODY[MIME]", false, "MIME needs a part number");
	expect_fetch_bad("BODY[0]", false, "Invalid section part number");
	expect_fetch_bad("BODY[1.0]", false, "Invalid section part number");
	expect_fetch_bad("BODY[4294967296]", false, "Invalid section part number");
	expect_fetch_bad("BODY[1.]", false, "Invalid section");
	expect_fetch_bad("BODY[1..2]", false, "Invalid section");
	expect_fetch_bad("BODY[1.2x]", false, "Invalid section");
	expect_fetch_bad("BODY[HEADERX]", false, "Invalid section");
	expect_fetch_bad("BODY[.HEADER]", false, "Invalid section");
	expect_fetch_bad("BODY[TEXT.1]", false, "Invalid section");
	expect_fetch_bad("BODY[TEXT x]", false, "Invalid section");
	expect_fetch_bad("BODY[\"TEXT\"]", false, "Invalid section");
	expect_fetch_bad("BODY[(TEXT)]", false, "Invalid section");
	expect_fetch_bad("BODY[HEADER.FIELDS]", false, "HEADER.FIELDS needs a list of field names");
	expect_fetch_bad("BODY[HEADER.FIELDS ()]", false, "HEADER.FIELDS needs a list of field names");
	expect_fetch_bad("BODY[HEADER.FIELDS From]", false,
	                 "HEADER.FIELDS needs a list of field names");
	expect_fetch_bad("BODY[HEADER (From)]", false, "Invalid section");
	expect_fetch_bad("BODY[HEADER.FIELDS (Subj:ect)]", false, "Invalid header field name");
	expect_fetch_bad("BODY[HEADER.FIELDS (\"a b\")]", false, "Invalid header field name");
	expect_fetch_bad("BODY[HEADER.FIELDS (\"\")]", false, "Invalid header field name");
	expect_fetch_bad("BODY[HEADER.FIELDS ((a))]", false, "Expected a string");
	expect_fetch_bad("BINARY[HEADER]", false, "BINARY takes part numbers only");
	expect_fetch_bad("BINARY[1.TEXT]", false, "BINARY takes part numbers only");
	expect_fetch_bad("BINARY.SIZE[1]<0.1>", false, "BINARY.SIZE takes no partial range");
	expect_fetch_bad("BODY[]<0>", false, "Invalid partial range (expected <start.count>)");
	expect_fetch_bad("BODY[]<0.0>", false, "Invalid partial range (expected <start.count>)");
	expect_fetch_bad("BODY[]<9223372036854775808.1>", false,
	                 "Invalid partial range (expected <start.count>)");

	/* header name limits */
	char name[IMAP_HEADER_NAME_MAX + 2];
	memset(name, 'x', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	snprintf(buf, sizeof buf, "BODY[HEADER.FIELDS (%s)]", name + 1);
	h_fetch(&h, buf, false);
	assert_true(h.ok);
	h_free(&h);
	snprintf(buf, sizeof buf, "BODY[HEADER.FIELDS (%s)]", name);
	expect_fetch_bad(buf, false, "Invalid header field name");

	char *many = malloc(8 * IMAP_HEADER_FIELDS_MAX + 64);
	strcpy(many, "BODY[HEADER.FIELDS (");
	for (int i = 0; i <= IMAP_HEADER_FIELDS_MAX; i++)
		strcat(many, i ? " X" : "X");
	strcat(many, ")]");
	expect_fetch_bad(many, false, "Too many header field names");
	free(many);
}

static void test_fetch_modifiers(void **state)
{
	struct harness h;
	(void)state;

	h_fetch(&h, "(FLAGS) (CHANGEDSINCE 12345)", false);
	assert_true(h.ok);
	assert_true(h.f.changedsince);
	assert_int_equal(h.f.changedsince_modseq, 12345);
	assert_true(h.f.wants_modseq);
	assert_false(h.f.vanished);
	h_free(&h);
	h_fetch(&h, "FLAGS (changedsince 1 vanished)", true);
	assert_true(h.ok);
	assert_true(h.f.vanished);
	h_free(&h);

	expect_fetch_bad("FLAGS (CHANGEDSINCE 0)", false, "CHANGEDSINCE needs a positive mod-sequence");
	expect_fetch_bad("FLAGS (CHANGEDSINCE)", false, "Missing argument");
	expect_fetch_bad("FLAGS (CHANGEDSINCE x)", false, "Invalid number");
	expect_fetch_bad("FLAGS (CHANGEDSINCE \"1\")", false, "Expected a number");
	expect_fetch_bad("FLAGS (CHANGEDSINCE 9223372036854775808)", false, "Invalid number");
	expect_fetch_bad("FLAGS (VANISHED)", true, "VANISHED needs CHANGEDSINCE");
	expect_fetch_bad("FLAGS (CHANGEDSINCE 1 VANISHED)", false, "VANISHED needs UID FETCH");
	expect_fetch_bad("FLAGS (FOO)", false, "Unknown FETCH modifier");
	expect_fetch_bad("FLAGS ()", false, "Empty FETCH modifier list");
	expect_fetch_bad("FLAGS (CHANGEDSINCE 1) x", false, "Unexpected extra arguments");
	expect_fetch_bad("FLAGS x", false, "Expected a parenthesised list");
}

static void test_fetch_limits_and_names(void **state)
{
	struct harness h;
	char buf[64];
	(void)state;

	/* IMAP_FETCH_ITEMS_MAX attributes, then one more */
	char *list = malloc(6 * (IMAP_FETCH_ITEMS_MAX + 1) + 4);
	strcpy(list, "(");
	for (int i = 0; i < IMAP_FETCH_ITEMS_MAX; i++)
		strcat(list, i ? " UID" : "UID");
	strcat(list, ")");
	h_fetch(&h, list, false);
	assert_true(h.ok);
	assert_int_equal(h.f.nitems, IMAP_FETCH_ITEMS_MAX);
	h_free(&h);
	strcpy(strrchr(list, ')'), " UID)");
	expect_fetch_bad(list, false, "Too many FETCH attributes");
	free(list);

	/* names that do not fit are refused whole */
	h_fetch(&h, "BODY[HEADER.FIELDS (From To)]<100.5>", false);
	assert_true(h.ok);
	assert_int_equal(imap_fetch_item_name(&h.f.items[0], buf, sizeof buf), 34);
	assert_string_equal(buf, "BODY[HEADER.FIELDS (From To)]<100>");
	assert_int_equal(imap_fetch_item_name(&h.f.items[0], buf, 35), 34);
	assert_int_equal(imap_fetch_item_name(&h.f.items[0], buf, 34), -1);
	assert_string_equal(buf, "");
	assert_int_equal(imap_fetch_item_name(&h.f.items[0], buf, 0), -1);
	struct imap_fetch_item bogus = { .att = (enum imap_fetch_att)99 };
	assert_int_equal(imap_fetch_item_name(&bogus, buf, sizeof buf), -1);
	h_free(&h);
}

/* ---- flags and STORE ---- */

/* "att[HEADER.FIELDS (...)]partial" with 200 names, padded so that the
 * response name "BODY[HEADER.FIELDS (...)]" is name_len octets long. */
static char *long_fields_fetch(const char *att, size_t name_len, const char *partial)
{
	const size_t k = 200, fixed = strlen("BODY[HEADER.FIELDS ()]") + k - 1;
	char *args = malloc(16384);
	size_t len = (size_t)sprintf(args, "%s[HEADER.FIELDS (", att), names = name_len - fixed;

	for (size_t i = 0; i < k; i++) {
		size_t n = i + 1 < k ? names / k : names - (k - 1) * (names / k);
		len += (size_t)sprintf(args + len, "%sN%03zu", i ? " " : "", i);
		memset(args + len, 'x', n - 4);
		len += n - 4;
	}
	sprintf(args + len, ")]%s", partial);
	return args;
}

static void test_fetch_long_names(void **state)
{
	struct harness h;
	char *args, *name = malloc(IMAP_FETCH_NAME_MAX);
	(void)state;

	/* the longest name that fits is rendered whole */
	args = long_fields_fetch("BODY.PEEK", IMAP_FETCH_NAME_MAX - 1, "");
	h_fetch(&h, args, false);
	assert_true(h.ok);
	assert_int_equal(imap_fetch_item_name(&h.f.items[0], name, IMAP_FETCH_NAME_MAX),
	                 IMAP_FETCH_NAME_MAX - 1);
	assert_memory_equal(name, "BODY[HEADER.FIELDS (N000", 24);
	assert_string_equal(name + IMAP_FETCH_NAME_MAX - 9, "xxxxxx)]");
	h_free(&h);
	free(args);

	/* one octet more, here the partial's origin, is refused when parsed:
	 * the response could not carry it */
	args = long_fields_fetch("BODY", IMAP_FETCH_NAME_MAX - 3, "<0.10>");
	expect_fetch_bad(args, false, "FETCH item name too long");
	free(args);
	args = long_fields_fetch("BODY", IMAP_FETCH_NAME_MAX - 4, "<0.10>");
	h_fetch(&h, args, false);
	assert_true(h.ok);
	h_free(&h);
	free(args);
	args = long_fields_fetch("BODY.PEEK", IMAP_FETCH_NAME_MAX, "");
	expect_fetch_bad(args, false, "FETCH item name too long");
	free(args);

	/* names quoted in the response count with their escapes: 40 digits and
	 * 4 '"' are 50 octets ("0...0\"\"\"\""); 160 fit, 170 do not */
	for (int k = 160; k <= 170; k += 10) {
		size_t len = (size_t)sprintf(args = malloc(16384), "(UID BODY[HEADER.FIELDS.NOT (");
		for (int i = 0; i < k; i++)
			len += (size_t)sprintf(args + len, "%s\"%040d\\\"\\\"\\\"\\\"\"", i ? " " : "", i);
		sprintf(args + len, ")])");
		h_fetch(&h, args, false);
		if (k == 160) {
			assert_true(h.ok);
			assert_int_equal(imap_fetch_item_name(&h.f.items[1], name, IMAP_FETCH_NAME_MAX),
			                 (int)strlen("BODY[HEADER.FIELDS.NOT ()]") + (k - 1) + k * 50);
		} else {
			assert_false(h.ok);
			assert_string_equal(h.cmd.error, "FETCH item name too long");
		}
		h_free(&h);
		free(args);
	}
	free(name);
}

static void test_store(void **state)
{
	struct harness h;
	(void)state;

	h_store(&h, "+FLAGS (\\Seen \\deleted)");
	assert_true(h.ok);
	assert_int_equal(h.st.op, IMAP_STORE_ADD);
	assert_false(h.st.silent);
	assert_int_equal(h.st.flags.system, IMAP_FLAG_SEEN | IMAP_FLAG_DELETED);
	assert_int_equal(h.st.flags.nkeywords, 0);
	h_free(&h);

	h_store(&h, "-flags.silent \\Answered $Forwarded \\Flagged \\Draft work WORK");
	assert_true(h.ok);
	assert_int_equal(h.st.op, IMAP_STORE_REMOVE);
	assert_true(h.st.silent);
	assert_int_equal(h.st.flags.system,
	                 IMAP_FLAG_ANSWERED | IMAP_FLAG_FLAGGED | IMAP_FLAG_DRAFT);
	assert_int_equal(h.st.flags.nkeywords, 2);
	assert_string_equal(h.st.flags.keywords[0], "$Forwarded");
	assert_string_equal(h.st.flags.keywords[1], "work");
	h_free(&h);

	h_store(&h, "FLAGS ()");
	assert_true(h.ok);
	assert_int_equal(h.st.op, IMAP_STORE_REPLACE);
	assert_int_equal(h.st.flags.system, 0);
	h_free(&h);

	h_store(&h, "(UNCHANGEDSINCE 0) +FLAGS.SILENT (\\Deleted)");
	assert_true(h.ok);
	assert_true(h.st.unchangedsince);
	assert_int_equal(h.st.unchangedsince_modseq, 0);
	assert_true(h.st.silent);
	h_free(&h);

	expect_store_bad("+FLAGS", "Missing flags");
	expect_store_bad("XFLAGS (\\Seen)", "Invalid STORE data item (expected [+|-]FLAGS[.SILENT])");
	expect_store_bad("+FLAGS.LOUD (\\Seen)", "Invalid STORE data item (expected [+|-]FLAGS[.SILENT])");
	expect_store_bad("+-FLAGS (\\Seen)", "Invalid STORE data item (expected [+|-]FLAGS[.SILENT])");
	expect_store_bad(".SILENT (\\Seen)", "Invalid STORE data item (expected [+|-]FLAGS[.SILENT])");
	expect_store_bad("\"FLAGS\" (\\Seen)", "Expected an atom");
	expect_store_bad("FLAGS (\\Recent)", "\\Recent cannot be set");
	expect_store_bad("FLAGS (\\Foo)", "Unknown system flag");
	expect_store_bad("FLAGS (\\*)", "Invalid flag");
	expect_store_bad("FLAGS (\"x\")", "Invalid flag");
	expect_store_bad("FLAGS (a*)", "Invalid flag");
	expect_store_bad("FLAGS (a])", "Invalid flag");
	expect_store_bad("FLAGS (\\Seen) \\Deleted", "Unexpected extra arguments");
	expect_store_bad("FLAGS \\Seen (\\Deleted)", "Invalid flag");
	expect_store_bad("(UNCHANGEDSINCE) FLAGS ()", "Missing argument");
	expect_store_bad("(UNCHANGEDSINCE -1) FLAGS ()", "Invalid number");
	expect_store_bad("(FOO 1) FLAGS ()", "Unknown STORE modifier");
	expect_store_bad("() FLAGS ()", "Empty STORE modifier list");
	expect_store_bad("", "Missing argument");

	/* keyword limits */
	char *buf = malloc(8 * (IMAP_KEYWORDS_MAX + 1) + 300);
	strcpy(buf, "FLAGS (");
	for (int i = 0; i < IMAP_KEYWORDS_MAX; i++)
		sprintf(buf + strlen(buf), "%sk%d", i ? " " : "", i);
	strcat(buf, ")");
	h_store(&h, buf);
	assert_true(h.ok);
	assert_int_equal(h.st.flags.nkeywords, IMAP_KEYWORDS_MAX);
	h_free(&h);
	strcpy(strrchr(buf, ')'), " one-more)");
	expect_store_bad(buf, "Too many keywords");
	strcpy(buf, "FLAGS ");
	memset(buf + 6, 'k', IMAP_KEYWORD_MAX + 1);
	buf[6 + IMAP_KEYWORD_MAX + 1] = '\0';
	expect_store_bad(buf, "Keyword too long");
	buf[6 + IMAP_KEYWORD_MAX] = '\0';
	h_store(&h, buf);
	assert_true(h.ok);
	h_free(&h);
	free(buf);
}

static void test_flag_list(void **state)
{
	struct harness h;
	struct imap_flags fl;
	(void)state;

	/* APPEND's flag list */
	h_command(&h, "APPEND", "(\\Seen $Forwarded NIL) {3}\r\nabc");
	assert_true(imap_next_flag_list(&h.c, &fl));
	assert_int_equal(fl.system, IMAP_FLAG_SEEN);
	assert_int_equal(fl.nkeywords, 2);
	assert_string_equal(fl.keywords[1], "NIL");
	imap_flags_free(&fl);
	assert_false(imap_next_flag_list(&h.c, &fl));
	assert_string_equal(h.cmd.error, "Expected a parenthesised list");
	assert_int_equal(fl.nkeywords, 0);
	h_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fetch_simple_items),
		cmocka_unit_test(test_fetch_macros),
		cmocka_unit_test(test_fetch_sections),
		cmocka_unit_test(test_fetch_modifiers),
		cmocka_unit_test(test_fetch_limits_and_names),
		cmocka_unit_test(test_fetch_long_names),
		cmocka_unit_test(test_store),
		cmocka_unit_test(test_flag_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
