/* Unit tests for src/mail/subject.c (RFC 5256 2.1, the base subject) and
 * src/mail/thread.c (RFC 5256 4: ORDEREDSUBJECT and REFERENCES): the RFC's
 * rules one by one, then what a hostile or broken mailbox brings (loops,
 * duplicate ids, missing parents, a chain as long as the mailbox). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "mail/subject.h"
#include "mail/thread.h"

/* ---- base subject ---- */

static void check_base(const char *subject, const char *want, bool want_reply)
{
	struct buf out;
	bool reply = !want_reply;
	buf_init(&out);
	mail_base_subject(subject, strlen(subject), &out, &reply);
	if (strcmp(out.data, want) != 0 || reply != want_reply)
		fail_msg("base subject of \"%s\": \"%s\" (reply %d), want \"%s\" (reply %d)", subject,
		         out.data, reply, want, want_reply);
	buf_free(&out);
}

static void test_base_subject_leaders(void **state)
{
	(void)state;
	check_base("hello", "hello", false);
	check_base("Re: hello", "hello", true);
	check_base("RE: Re: re:hello", "hello", true);
	check_base("Fwd: hello", "hello", true);
	check_base("FW: hello", "hello", true);
	check_base("fw:hello", "hello", true);
	check_base("Fwd : hello", "hello", true);
	check_base("Re[2]: hello", "hello", true);
	check_base("Re [2]: hello", "hello", true);
	check_base("[list] Re: hello", "hello", true);
	check_base("Re: [list] hello", "hello", true);
	check_base("[a][b] Re: Fwd: [c] x", "x", true);
	check_base("Reply: hello", "Reply: hello", false);       /* not a subj-refwd */
	check_base("Re hello", "Re hello", false);               /* no colon */
	check_base("Re:", "", true);
	check_base("", "", false);
}

static void test_base_subject_blobs(void **state)
{
	(void)state;
	check_base("[list] hello", "hello", false);
	check_base("[list]", "[list]", false);          /* nothing would be left */
	check_base("[a] [b]", "[b]", false);
	check_base("[a] [b] ", "[b]", false);
	check_base("[unterminated hello", "[unterminated hello", false);
	check_base("[] hello", "hello", false);
}

static void test_base_subject_trailers_and_fwd(void **state)
{
	(void)state;
	check_base("hello (fwd)", "hello", true);
	check_base("hello (FWD) (fwd)  ", "hello", true);
	check_base("hello(fwd)", "hello", true);
	check_base("[fwd: hello]", "hello", true);
	check_base("[Fwd: Re: hello (fwd)]", "hello", true);
	check_base("Re: [fwd: [list] Re: hello]", "hello", true);
	check_base("[fwd: hello", "[fwd: hello", false);   /* no trailer: a blob that is all */
	check_base("[fwd:]", "", true);
}

static void test_base_subject_white_space(void **state)
{
	(void)state;
	check_base("  multiple   spaces\tand\ttabs ", "multiple spaces and tabs", false);
	check_base("Re:\t\tfolded\r\n line", "folded line", true);
	check_base("   ", "", false);
	check_base("Gr\xc3\xbc\xc3\x9f" "e", "Gr\xc3\xbc\xc3\x9f" "e", false);
}

/* ---- message ids ---- */

static void test_msgid_next(void **state)
{
	(void)state;
	char id[64];
	const char *p = " <a@b> junk <no-at> < c @ d >(comment) <x@y";
	assert_int_equal(mail_msgid_next(&p, id, sizeof(id)), 3);
	assert_string_equal(id, "a@b");
	assert_int_equal(mail_msgid_next(&p, id, sizeof(id)), 3);
	assert_string_equal(id, "c@d");
	assert_int_equal(mail_msgid_next(&p, id, sizeof(id)), 0);   /* unterminated */
	assert_int_equal(mail_msgid_next(&p, id, sizeof(id)), 0);
	p = "<0123456789@abcdef>";
	assert_int_equal(mail_msgid_next(&p, id, 8), 17);    /* cut, length told */
	assert_string_equal(id, "0123456");
	p = NULL;
	assert_int_equal(mail_msgid_next(&p, id, sizeof(id)), 0);
}

/* ---- threading ---- */

/* "(1 2 (3)(4))(5)" as RFC 5256 writes it (the test's own renderer). */
static void render_node(const struct mail_thread *t, const struct mail_thread_msg *m, int32_t x,
                        struct buf *out)
{
	char num[16];
	const struct mail_thread_node *nd = &t->nodes[x];
	if (nd->msg >= 0) {
		snprintf(num, sizeof(num), "%u", m[nd->msg].id);
		buf_puts(out, num);
	}
	if (nd->child < 0)
		return;
	if (nd->msg >= 0)
		buf_puts(out, " ");
	if (t->nodes[nd->child].next < 0) {
		render_node(t, m, nd->child, out);
		return;
	}
	for (int32_t ch = nd->child; ch >= 0; ch = t->nodes[ch].next) {
		buf_puts(out, "(");
		render_node(t, m, ch, out);
		buf_puts(out, ")");
	}
}

static char *thread_text(enum mail_thread_algorithm alg, struct mail_thread_msg *m, size_t n)
{
	struct mail_thread t;
	struct buf out;
	buf_init(&out);
	for (size_t i = 0; i < n; i++)
		m[i].id = (uint32_t)i + 1;
	mail_thread_build(alg, m, n, &t);
	for (int32_t x = t.first; x >= 0; x = t.nodes[x].next) {
		buf_puts(&out, "(");
		render_node(&t, m, x, &out);
		buf_puts(&out, ")");
	}
	mail_thread_free(&t);
	return out.data;
}

#define MSG(mid, refs, subj, reply, date) \
	{ 0, (mid), (refs), NULL, (subj), (reply), (date) }

static void check_thread(enum mail_thread_algorithm alg, struct mail_thread_msg *m, size_t n,
                         const char *want)
{
	char *got = thread_text(alg, m, n);
	if (strcmp(got, want) != 0)
		fail_msg("thread: %s, want %s", got, want);
	free(got);
}

static void test_references_chains(void **state)
{
	(void)state;
	struct mail_thread_msg chain[] = {
		MSG("<a@x>", NULL, "A", false, 10),
		MSG("<b@x>", "<a@x>", "B", true, 20),
		MSG("<c@x>", "<a@x> <b@x>", "C", true, 30),
	};
	check_thread(MAIL_THREAD_REFERENCES, chain, 3, "(1 2 3)");
	struct mail_thread_msg replies[] = {
		MSG("<a@x>", NULL, "A", false, 10),
		MSG("<c@x>", "<a@x>", "C", true, 30),
		MSG("<b@x>", "<a@x>", "B", true, 20),
	};
	/* siblings by sent date, not by mailbox order */
	check_thread(MAIL_THREAD_REFERENCES, replies, 3, "(1 (3)(2))");
	/* In-Reply-To when there is no References */
	struct mail_thread_msg irt[] = {
		MSG("<a@x>", NULL, "A", false, 10),
		{ 0, "<b@x>", NULL, "<a@x> <other@x>", "B", true, 20 },
		{ 0, "<c@x>", "junk without ids", "<b@x>", "C", true, 30 },
	};
	check_thread(MAIL_THREAD_REFERENCES, irt, 3, "(1 2 3)");
}

static void test_references_missing_parents(void **state)
{
	(void)state;
	/* two children of a message nobody has: a dummy at the top */
	struct mail_thread_msg two[] = {
		MSG("<b@x>", "<gone@x>", "B", true, 10),
		MSG("<c@x>", "<gone@x>", "C", true, 20),
		MSG("<d@x>", NULL, "D", false, 5),
	};
	check_thread(MAIL_THREAD_REFERENCES, two, 3, "(3)((1)(2))");
	/* one child: promoted to the top */
	struct mail_thread_msg one[] = { MSG("<b@x>", "<gone@x>", "B", true, 10) };
	check_thread(MAIL_THREAD_REFERENCES, one, 1, "(1)");
	/* a gap inside a chain: the dummy goes, its child moves up */
	struct mail_thread_msg gap[] = {
		MSG("<a@x>", NULL, "A", false, 10),
		MSG("<c@x>", "<a@x> <gone@x>", "C", true, 30),
		MSG("<d@x>", "<a@x> <gone@x>", "D", true, 40),
	};
	check_thread(MAIL_THREAD_REFERENCES, gap, 3, "(1 (2)(3))");
}

static void test_references_loops_and_duplicates(void **state)
{
	(void)state;
	/* A says B is its parent, B says A is: the link that would close the loop is not made */
	struct mail_thread_msg loop[] = {
		MSG("<a@x>", "<b@x>", "A", false, 10),
		MSG("<b@x>", "<a@x>", "B", false, 20),
	};
	check_thread(MAIL_THREAD_REFERENCES, loop, 2, "(2 1)");
	/* references that loop among themselves, and a message referring to itself */
	struct mail_thread_msg refs_loop[] = {
		MSG("<a@x>", "<p@x> <q@x> <p@x> <a@x>", "A", false, 10),
		MSG("<b@x>", "<b@x>", "B", false, 20),
	};
	check_thread(MAIL_THREAD_REFERENCES, refs_loop, 2, "(1)(2)");
	/* the second message with an id gets one of its own; replies go to the first */
	struct mail_thread_msg dup[] = {
		MSG("<a@x>", NULL, "A", false, 10),
		MSG("<a@x>", NULL, "A2", false, 20),
		MSG("<c@x>", "<a@x>", "C", true, 30),
		MSG(NULL, NULL, "D", false, 40),
		MSG("not an id", NULL, "E", false, 50),
	};
	check_thread(MAIL_THREAD_REFERENCES, dup, 5, "(1 3)(2)(4)(5)");
}

static void test_references_relinks_truncated(void **state)
{
	(void)state;
	/* C's References were cut: it names only A, so 1A puts it under A; D
	 * says C's parent is B; then C itself comes: its last reference wins (1B) */
	struct mail_thread_msg m[] = {
		MSG("<a@x>", NULL, "A", false, 10),
		MSG("<b@x>", "<a@x>", "B", true, 20),
		MSG("<d@x>", "<a@x> <b@x> <c@x>", "D", true, 40),
		MSG("<c@x>", "<a@x>", "C", true, 30),
	};
	check_thread(MAIL_THREAD_REFERENCES, m, 4, "(1 (2)(4 3))");
}

static void test_references_by_subject(void **state)
{
	(void)state;
	/* step 5: a reply without references joins the original */
	struct mail_thread_msg reply[] = {
		MSG("<a@x>", NULL, "HELLO", false, 10),
		MSG("<b@x>", NULL, "HELLO", true, 20),
	};
	check_thread(MAIL_THREAD_REFERENCES, reply, 2, "(1 2)");
	/* the original arrives after the reply: the table takes the original */
	struct mail_thread_msg late[] = {
		MSG("<b@x>", NULL, "HELLO", true, 10),
		MSG("<a@x>", NULL, "HELLO", false, 20),
	};
	check_thread(MAIL_THREAD_REFERENCES, late, 2, "(2 1)");
	/* two originals with one subject: siblings under a new dummy */
	struct mail_thread_msg two[] = {
		MSG("<a@x>", NULL, "HELLO", false, 10),
		MSG("<b@x>", NULL, "HELLO", false, 20),
		MSG("<c@x>", NULL, "OTHER", false, 15),
	};
	check_thread(MAIL_THREAD_REFERENCES, two, 3, "((1)(2))(3)");
	/* an empty subject gathers nothing */
	struct mail_thread_msg empty[] = {
		MSG("<a@x>", NULL, "", false, 10),
		MSG("<b@x>", NULL, "", false, 20),
	};
	check_thread(MAIL_THREAD_REFERENCES, empty, 2, "(1)(2)");
	/* a dummy in the table takes a message of its subject as a child */
	struct mail_thread_msg dummy[] = {
		MSG("<b@x>", "<gone@x>", "HELLO", true, 10),
		MSG("<c@x>", "<gone@x>", "HELLO", true, 20),
		MSG("<d@x>", NULL, "HELLO", false, 30),
	};
	check_thread(MAIL_THREAD_REFERENCES, dummy, 3, "((1)(2)(3))");
}

static void test_references_ties_by_mailbox_order(void **state)
{
	(void)state;
	struct mail_thread_msg m[] = {
		MSG("<a@x>", NULL, "A", false, 10),
		MSG("<b@x>", NULL, "B", false, 10),
		MSG("<c@x>", "<a@x>", "C", true, 10),
		MSG("<d@x>", "<a@x>", "D", true, 10),
	};
	check_thread(MAIL_THREAD_REFERENCES, m, 4, "(1 (3)(4))(2)");
}

static void test_ordered_subject(void **state)
{
	(void)state;
	struct mail_thread_msg m[] = {
		MSG(NULL, NULL, "X", false, 30),
		MSG(NULL, NULL, "Y", false, 10),
		MSG(NULL, NULL, "X", true, 20),
		MSG(NULL, NULL, "X", false, 40),
		MSG(NULL, NULL, "Y", false, 50),
		MSG(NULL, NULL, "Z", false, 5),
	};
	/* the first (by date) of each subject, its others as children; threads by that date */
	check_thread(MAIL_THREAD_ORDEREDSUBJECT, m, 6, "(6)(2 5)(3 (1)(4))");
	check_thread(MAIL_THREAD_ORDEREDSUBJECT, m, 0, "");
}

static void test_long_chain(void **state)
{
	(void)state;
	/* every message answers the one before: no recursion may follow it */
	enum { N = 20000 };
	struct mail_thread_msg *m = calloc(N, sizeof(*m));
	char **ids = calloc(N, sizeof(char *));
	for (size_t i = 0; i < N; i++) {
		ids[i] = malloc(32);
		snprintf(ids[i], 32, "<%zu@x>", i);
		m[i] = (struct mail_thread_msg){ (uint32_t)i + 1, ids[i], i ? ids[i - 1] : NULL, NULL,
		                                 "S", i > 0, (int64_t)i };
	}
	struct mail_thread t;
	mail_thread_build(MAIL_THREAD_REFERENCES, m, N, &t);
	size_t depth = 0;
	for (int32_t x = t.first; x >= 0; x = t.nodes[x].child) {
		assert_int_equal(t.nodes[x].next, -1);
		depth++;
	}
	assert_int_equal(depth, N);
	mail_thread_free(&t);
	mail_thread_build(MAIL_THREAD_ORDEREDSUBJECT, m, N, &t);
	mail_thread_free(&t);
	for (size_t i = 0; i < N; i++)
		free(ids[i]);
	free(ids);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base_subject_leaders),
		cmocka_unit_test(test_base_subject_blobs),
		cmocka_unit_test(test_base_subject_trailers_and_fwd),
		cmocka_unit_test(test_base_subject_white_space),
		cmocka_unit_test(test_msgid_next),
		cmocka_unit_test(test_references_chains),
		cmocka_unit_test(test_references_missing_parents),
		cmocka_unit_test(test_references_loops_and_duplicates),
		cmocka_unit_test(test_references_relinks_truncated),
		cmocka_unit_test(test_references_by_subject),
		cmocka_unit_test(test_references_ties_by_mailbox_order),
		cmocka_unit_test(test_ordered_subject),
		cmocka_unit_test(test_long_chain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
