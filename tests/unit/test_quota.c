/* Quotas: the pure rules (what fits, the 90 % line, one warning per
 * crossing), the usage row in the store, and how the index and the
 * committer's deliveries keep it (each message counted once). */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/util.h"
#include "store/maildir.h"
#include "store/mbox.h"
#include "store/quota.h"
#include "store/store.h"

/* ---- the rules ------------------------------------------------------------------ */

static bool exceeds(uint64_t lstorage, uint64_t lmessages, uint64_t ustorage, uint64_t umessages,
                    uint64_t add_storage, uint64_t add_messages)
{
	struct quota_limits l = { lstorage, lmessages };
	struct quota_usage u = { ustorage, umessages };
	return quota_would_exceed(&l, &u, add_storage, add_messages);
}

static void test_would_exceed(void **state)
{
	(void)state;
	/* no limits: anything fits */
	assert_false(exceeds(0, 0, UINT64_MAX, UINT64_MAX, UINT64_MAX, 1));
	/* up to the limit exactly, not an octet or a message more */
	assert_false(exceeds(1000, 0, 400, 0, 600, 1));
	assert_true(exceeds(1000, 0, 400, 0, 601, 1));
	assert_false(exceeds(0, 10, 0, 9, 5000, 1));
	assert_true(exceeds(0, 10, 0, 10, 1, 1));
	/* either limit refuses */
	assert_true(exceeds(1000, 10, 0, 10, 1, 1));
	assert_true(exceeds(1000, 10, 1000, 0, 1, 1));
	/* full already: one octet is too many (RCPT without SIZE=) */
	assert_true(exceeds(1000, 0, 1000, 0, 1, 1));
	/* a limit lowered below the usage refuses everything new */
	assert_true(exceeds(1000, 2, 5000, 7, 1, 1));
	assert_true(exceeds(0, 2, 0, 7, 0, 1));
	/* no overflow near the top */
	assert_true(exceeds(UINT64_MAX - 1, 0, UINT64_MAX - 10, 0, UINT64_MAX, 1));
	assert_false(exceeds(UINT64_MAX, 0, UINT64_MAX - 10, 0, 10, 1));
}

static void test_near_full_line(void **state)
{
	(void)state;
	struct quota_limits l = { 1000, 0 };
	assert_false(quota_near_full(&l, &(struct quota_usage){ 899, 0 }));
	assert_true(quota_near_full(&l, &(struct quota_usage){ 900, 0 }));
	/* 90 % rounded up: 13.5 of 15 is 14 */
	l = (struct quota_limits){ 0, 15 };
	assert_false(quota_near_full(&l, &(struct quota_usage){ 0, 13 }));
	assert_true(quota_near_full(&l, &(struct quota_usage){ 0, 14 }));
	l = (struct quota_limits){ UINT64_MAX, 0 };
	assert_false(quota_near_full(&l, &(struct quota_usage){ UINT64_MAX / 10 * 8, 0 }));
	assert_true(quota_near_full(&l, &(struct quota_usage){ UINT64_MAX / 10 * 9 + 10, 0 }));
	l = (struct quota_limits){ 0, 0 };
	assert_false(quota_near_full(&l, &(struct quota_usage){ UINT64_MAX, UINT64_MAX }));
}

static enum quota_warning step(uint64_t before, uint64_t after, bool warned)
{
	struct quota_limits l = { 1000, 0 };
	return quota_warning_step(&l, &(struct quota_usage){ before, 0 },
	                          &(struct quota_usage){ after, 0 }, warned);
}

static void test_warning_once_per_crossing(void **state)
{
	(void)state;
	assert_int_equal(step(100, 500, false), QUOTA_WARN_NONE);
	assert_int_equal(step(850, 900, false), QUOTA_WARN_SEND);     /* the crossing */
	assert_int_equal(step(900, 950, true), QUOTA_WARN_NONE);      /* not per message */
	assert_int_equal(step(950, 1200, true), QUOTA_WARN_NONE);     /* over: still none */
	assert_int_equal(step(300, 400, true), QUOTA_WARN_REARM);     /* below again */
	assert_int_equal(step(400, 910, false), QUOTA_WARN_SEND);     /* the next crossing */
	/* above the line, never warned (filled by APPEND, or a limit lowered) */
	assert_int_equal(step(950, 960, false), QUOTA_WARN_SEND);
	/* a crossing whose dip below the line no delivery saw warns again */
	assert_int_equal(step(800, 920, true), QUOTA_WARN_SEND);
	/* no limit, no warning */
	struct quota_limits none = { 0, 0 };
	assert_int_equal(quota_warning_step(&none, &(struct quota_usage){ 0, 0 },
	                                    &(struct quota_usage){ 1 << 30, 1 << 20 }, false),
	                 QUOTA_WARN_NONE);
}

static void test_kib_and_limits_of(void **state)
{
	(void)state;
	assert_int_equal(quota_kib(0), 0);
	assert_int_equal(quota_kib(1), 1);
	assert_int_equal(quota_kib(1024), 1);
	assert_int_equal(quota_kib(1025), 2);
	struct quota_limits defaults = { 5000, 50 };
	struct store_quota q = { .own_storage_limit = true, .storage_limit = 0 };
	struct quota_limits l = quota_limits_of(&q, &defaults);
	assert_int_equal(l.storage, 0);      /* its own "none" wins */
	assert_int_equal(l.messages, 50);
	assert_true(quota_has_limit(&l));
	l = (struct quota_limits){ 0, 0 };
	assert_false(quota_has_limit(&l));
}

static void test_notice_text(void **state)
{
	(void)state;
	size_t len;
	struct quota_limits l = { 10 * 1024 * 1024, 100 };
	char *text = quota_notice_build("mx.example.org", "alice@example.org", &l,
	                                &(struct quota_usage){ 9 * 1024 * 1024 + 512 * 1024, 20 },
	                                &len);
	assert_int_equal(strlen(text), len);
	assert_non_null(strstr(text, "Return-Path: <>\n"));
	assert_non_null(strstr(text, "\nFrom: Postmaster <postmaster@mx.example.org>\n"));
	assert_non_null(strstr(text, "\nTo: <alice@example.org>\n"));
	assert_non_null(strstr(text, "\nSubject: Your mailbox is almost full (95% used)\n"));
	assert_non_null(strstr(text, "\nAuto-Submitted: auto-generated\n"));
	assert_non_null(strstr(text, "storage:  9.5 MiB of 10.0 MiB"));
	assert_non_null(strstr(text, "messages: 20 of 100"));
	assert_null(strchr(text, '\r'));
	free(text);
}

/* ---- the store and the index ------------------------------------------------------ */

struct fx {
	char dir[64];
	char maildir[256];
	struct store *st;
};

static int setup(void **state)
{
	struct fx *fx = xcalloc(1, sizeof(*fx));
	char err[512];
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/postern-quota-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	fx->st = store_open(fx->dir, err, sizeof(err));
	assert_non_null(fx->st);
	assert_int_equal(store_domain_add(fx->st, "example.org", err, sizeof(err)), STORE_OK);
	assert_int_equal(store_user_add(fx->st, "alice", "example.org", "$x", err, sizeof(err)),
	                 STORE_OK);
	assert_int_equal(maildir_path(fx->dir, "example.org", "alice", fx->maildir,
	                              sizeof(fx->maildir)), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	char cmd[128];
	store_close(fx->st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

static struct store_quota get(struct fx *fx)
{
	struct store_quota q;
	assert_int_equal(store_quota_get(fx->st, "alice", "example.org", &q), STORE_OK);
	return q;
}

static void test_limits_in_the_store(void **state)
{
	struct fx *fx = *state;
	char err[256];
	uint64_t two_g = 2ULL << 30, none = 0;
	struct store_quota q = get(fx);
	assert_false(q.own_storage_limit);
	assert_false(q.own_message_limit);
	assert_int_equal(q.storage + q.messages, 0);
	assert_int_equal(store_quota_set_limit(fx->st, "alice", "example.org", STORE_QUOTA_STORAGE,
	                                       &two_g, err, sizeof(err)), STORE_OK);
	assert_int_equal(store_quota_set_limit(fx->st, "alice", "example.org", STORE_QUOTA_MESSAGES,
	                                       &none, err, sizeof(err)), STORE_OK);
	q = get(fx);
	assert_true(q.own_storage_limit && q.own_message_limit);
	assert_int_equal(q.storage_limit, two_g);
	assert_int_equal(q.message_limit, 0);
	assert_int_equal(store_quota_set_limit(fx->st, "alice", "example.org", STORE_QUOTA_STORAGE,
	                                       NULL, err, sizeof(err)), STORE_OK);
	assert_false(get(fx).own_storage_limit);
	assert_int_equal(store_quota_set_limit(fx->st, "nobody", "example.org", STORE_QUOTA_STORAGE,
	                                       &two_g, err, sizeof(err)), STORE_NOT_FOUND);
	assert_int_equal(store_quota_get(fx->st, "nobody", "example.org", &q), STORE_NOT_FOUND);
	struct quota_limits defaults = { 0, 0 };
	assert_int_equal(quota_check(fx->st, &defaults, "nobody@example.org", 1, 1), QUOTA_FITS);
}

static void test_pending_and_claims(void **state)
{
	struct fx *fx = *state;
	struct store_quota_delivery d[] = { { "alice", "example.org", 1000 },
	                                    { "alice", "example.org", 500 },
	                                    { "gone", "example.org", 1 } };
	assert_int_equal(store_quota_add_deliveries(fx->st, d, 3, NULL, NULL), STORE_OK);
	struct store_quota q = get(fx);
	assert_int_equal(q.storage, 1500);
	assert_int_equal(q.messages, 2);
	/* the index took both in: its totals, the claim subtracted */
	struct store_quota_delta claimed;
	assert_int_equal(store_quota_pending(fx->st, "alice", "example.org", &claimed), STORE_OK);
	assert_int_equal(store_quota_add_deliveries(fx->st, d, 1, NULL, NULL), STORE_OK);
	assert_int_equal(store_quota_set_indexed(fx->st, "alice", "example.org", 1500, 2, &claimed),
	                 STORE_OK);
	/* the one counted after the claim was read stays pending */
	q = get(fx);
	assert_int_equal(q.storage, 2500);
	assert_int_equal(q.messages, 3);
	/* totals written without a claim leave pending alone */
	assert_int_equal(store_quota_set_indexed(fx->st, "alice", "example.org", 0, 0, NULL), STORE_OK);
	q = get(fx);
	assert_int_equal(q.storage, 1000);
	assert_int_equal(q.messages, 1);
	/* a user deleted takes the row along */
	char err[256];
	assert_int_equal(store_user_del(fx->st, "alice", "example.org", err, sizeof(err)), STORE_OK);
	assert_int_equal(store_quota_set_indexed(fx->st, "alice", "example.org", 1, 1, NULL),
	                 STORE_NOT_FOUND);
}

static int count_dir(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	assert_non_null(d);
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* A delivery as the committer makes it: the file in new/, then its count. */
static uint64_t deliver(struct fx *fx, size_t body, bool count, const struct quota_limits *l)
{
	char *text = xmalloc(body + 1);
	memset(text, 'x', body);
	for (size_t i = 60; i < body; i += 61)
		text[i] = '\n';
	text[body - 1] = '\n';
	uint64_t lines = 0;
	for (size_t i = 0; i < body; i++)
		lines += text[i] == '\n';
	assert_int_equal(maildir_deliver_text(fx->maildir, "test", text, body), 0);
	free(text);
	struct quota_delivery d = { fx->maildir, "alice@example.org", body + lines };
	if (count)
		quota_count_deliveries(fx->st, l, "mx.example.org", &d, 1);
	return body + lines;
}

static void test_index_and_deliveries_count_each_message_once(void **state)
{
	struct fx *fx = *state;
	char err[256], newdir[300];
	struct quota_limits none = { 0, 0 };
	struct mbox_info inbox;
	uint64_t a = deliver(fx, 3000, true, &none), b = deliver(fx, 2000, true, &none);
	assert_int_equal(get(fx).storage, a + b);
	struct mbox_store *ms = mbox_open(fx->maildir, err, sizeof(err));
	assert_non_null(ms);
	quota_follow_index(ms, fx->st, fx->dir, "alice@example.org");
	assert_int_equal(mbox_find(ms, "INBOX", &inbox), MBOX_OK);
	assert_int_equal(mbox_sync(ms, &inbox), MBOX_OK);
	struct store_quota q = get(fx);
	assert_int_equal(q.storage, a + b);
	assert_int_equal(q.messages, 2);
	/* in flight: renamed into new/, not counted yet when the sync takes it */
	uint64_t c = deliver(fx, 1000, false, &none);
	assert_int_equal(mbox_sync(ms, &inbox), MBOX_OK);
	assert_int_equal(get(fx).storage, a + b + c);
	struct quota_delivery late = { fx->maildir, "alice@example.org", c };
	quota_count_deliveries(fx->st, &none, "mx.example.org", &late, 1);
	assert_int_equal(get(fx).storage, a + b + 2 * c);    /* counted twice, for now */
	/* the next sync of INBOX claims it: right again */
	uint64_t d = deliver(fx, 500, true, &none);
	assert_int_equal(mbox_sync(ms, &inbox), MBOX_OK);
	q = get(fx);
	assert_int_equal(q.storage, a + b + c + d);
	assert_int_equal(q.messages, 4);
	/* an expunge, an append in another mailbox, a mailbox deleted */
	assert_int_equal(mbox_expunge(ms, &inbox, 1, false), MBOX_OK);
	assert_int_equal(get(fx).storage, b + c + d);
	assert_int_equal(mbox_create(ms, "Old", NULL), MBOX_OK);
	struct mbox_info old;
	uint32_t uid;
	assert_int_equal(mbox_find(ms, "Old", &old), MBOX_OK);
	assert_int_equal(mbox_copy(ms, &inbox, 2, &old, &uid), MBOX_OK);
	assert_int_equal(get(fx).messages, 4);
	assert_int_equal(mbox_delete(ms, "Old"), MBOX_OK);
	assert_int_equal(get(fx).messages, 3);
	mbox_close(ms);
	snprintf(newdir, sizeof(newdir), "%s/new", fx->maildir);
	assert_int_equal(count_dir(newdir), 0);
}

static void test_warning_delivered_once(void **state)
{
	struct fx *fx = *state;
	char newdir[300];
	struct quota_limits l = { 10000, 0 };
	snprintf(newdir, sizeof(newdir), "%s/new", fx->maildir);
	deliver(fx, 4000, true, &l);
	deliver(fx, 4000, true, &l);           /* ~8.1K: below 9000 */
	assert_int_equal(count_dir(newdir), 2);
	assert_false(get(fx).warned);
	deliver(fx, 1000, true, &l);           /* across: the warning comes in as well */
	assert_int_equal(count_dir(newdir), 4);
	assert_true(get(fx).warned);
	uint64_t with_notice = get(fx).storage;
	assert_true(with_notice > 10000 - 1000);
	deliver(fx, 100, true, &l);            /* still above: no second one */
	assert_int_equal(count_dir(newdir), 5);
	/* the index says usage went down (an expunge): the next delivery re-arms */
	assert_int_equal(store_quota_set_indexed(fx->st, "alice", "example.org", 0, 0, NULL), STORE_OK);
	struct store_quota_delta pending;
	assert_int_equal(store_quota_pending(fx->st, "alice", "example.org", &pending), STORE_OK);
	assert_int_equal(store_quota_set_indexed(fx->st, "alice", "example.org", 0, 0, &pending),
	                 STORE_OK);
	deliver(fx, 100, true, &l);
	assert_false(get(fx).warned);
	deliver(fx, 9000, true, &l);           /* the second crossing */
	assert_int_equal(count_dir(newdir), 8);
	assert_true(get(fx).warned);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_would_exceed),
		cmocka_unit_test(test_near_full_line),
		cmocka_unit_test(test_warning_once_per_crossing),
		cmocka_unit_test(test_kib_and_limits_of),
		cmocka_unit_test(test_notice_text),
		cmocka_unit_test_setup_teardown(test_limits_in_the_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_and_claims, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_and_deliveries_count_each_message_once, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_warning_delivered_once, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
