/* The store: schema migrations, directory, recipient resolution, message
 * buffering and durable Maildir commits. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <sqlite3.h>

#include "core/util.h"
#include "store/commit.h"
#include "store/migrate.h"
#include "store/msgbuf.h"
#include "store/resolve.h"
#include "store/store.h"

static char *make_tmpdir(void)
{
	char *dir = xstrdup("/tmp/postern-store-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return dir;
}

static void remove_tree(const char *dir)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = xmalloc((size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	if (d == NULL)
		return -1;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* ---- migrations ----------------------------------------------------------- */

static sqlite3 *open_db(const char *path)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	return db;
}

static int user_version(sqlite3 *db)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void test_migration_failure_rolls_back(void **state)
{
	(void)state;
	char *dir = make_tmpdir(), path[512], backups[512], err[512];
	snprintf(path, sizeof(path), "%s/t.db", dir);
	snprintf(backups, sizeof(backups), "%s/backups", dir);
	static const struct migration v1[] = {
		{ 1, "CREATE TABLE a(x INTEGER); INSERT INTO a VALUES (42);" },
	};
	/* step 2 succeeds, step 3 fails halfway through its statements */
	static const struct migration v3[] = {
		{ 1, "CREATE TABLE a(x INTEGER); INSERT INTO a VALUES (42);" },
		{ 2, "CREATE TABLE b(y INTEGER); UPDATE a SET x = 7;" },
		{ 3, "CREATE TABLE c(z INTEGER); INSERT INTO nosuchtable VALUES (1);" },
	};
	sqlite3 *db = open_db(path);
	assert_int_equal(migrate_run(db, path, backups, v1, 1, err, sizeof(err)), 0);
	assert_int_equal(user_version(db), 1);
	assert_int_equal(migrate_run(db, path, backups, v3, 3, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "schema version 3"));
	/* nothing of steps 2 and 3 survived */
	assert_int_equal(user_version(db), 1);
	assert_int_not_equal(sqlite3_exec(db, "SELECT * FROM b", NULL, NULL, NULL), SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "SELECT * FROM c", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT x FROM a", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 42);
	sqlite3_finalize(st);
	/* a backup of the v1 database was taken before trying */
	assert_int_equal(count_entries(backups), 1);
	sqlite3_close(db);
	remove_tree(dir);
	free(dir);
}

static void test_newer_database_refused_untouched(void **state)
{
	(void)state;
	char *dir = make_tmpdir(), path[512], err[512];
	snprintf(path, sizeof(path), "%s/postern.db", dir);
	sqlite3 *db = open_db(path);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE future(x); PRAGMA user_version = 999;",
	                              NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	size_t len1, len2;
	char *before = read_file(path, &len1);
	assert_null(store_open(dir, err, sizeof(err)));
	assert_non_null(strstr(err, "newer"));
	char *after = read_file(path, &len2);
	assert_int_equal(len1, len2);
	assert_memory_equal(before, after, len1);
	free(before);
	free(after);
	remove_tree(dir);
	free(dir);
}

/* ---- directory and resolution ---------------------------------------------- */

struct fixture {
	char *dir;
	struct store *st;
};

static int setup_store(void **state)
{
	struct fixture *fx = xcalloc(1, sizeof(*fx));
	char err[512];
	fx->dir = make_tmpdir();
	fx->st = store_open(fx->dir, err, sizeof(err));
	assert_non_null(fx->st);
	assert_int_equal(store_domain_add(fx->st, "Example.ORG", err, sizeof(err)), STORE_OK);
	assert_int_equal(store_domain_add(fx->st, "other.test", err, sizeof(err)), STORE_OK);
	assert_int_equal(store_user_add(fx->st, "alice", "example.org", "$argon2id$x", err, sizeof(err)),
	                 STORE_OK);
	assert_int_equal(store_user_add(fx->st, "bob", "example.org", "$argon2id$y", err, sizeof(err)),
	                 STORE_OK);
	*state = fx;
	return 0;
}

static int teardown_store(void **state)
{
	struct fixture *fx = *state;
	store_close(fx->st);
	remove_tree(fx->dir);
	free(fx->dir);
	free(fx);
	return 0;
}

static void test_directory_crud(void **state)
{
	struct fixture *fx = *state;
	char err[512], hash[64];
	assert_int_equal(store_domain_exists(fx->st, "EXAMPLE.org"), 1);
	assert_int_equal(store_domain_exists(fx->st, "nope.test"), 0);
	assert_int_equal(store_domain_add(fx->st, "example.org", err, sizeof(err)), STORE_EXISTS);
	assert_int_equal(store_user_add(fx->st, "ALICE", "example.org", "h", err, sizeof(err)), STORE_EXISTS);
	assert_int_equal(store_user_add(fx->st, "carol", "nope.test", "h", err, sizeof(err)), STORE_NOT_FOUND);
	assert_int_equal(store_user_exists(fx->st, "Alice", "Example.Org"), 1);
	assert_int_equal(store_user_password(fx->st, "alice", "example.org", hash, sizeof(hash)), STORE_OK);
	assert_string_equal(hash, "$argon2id$x");
	assert_int_equal(store_user_set_password(fx->st, "alice", "example.org", "$argon2id$z", err,
	                                         sizeof(err)), STORE_OK);
	assert_int_equal(store_user_password(fx->st, "alice", "example.org", hash, sizeof(hash)), STORE_OK);
	assert_string_equal(hash, "$argon2id$z");
	assert_int_equal(store_user_set_password(fx->st, "zed", "example.org", "h", err, sizeof(err)),
	                 STORE_NOT_FOUND);
	assert_int_equal(store_domain_del(fx->st, "example.org", err, sizeof(err)), STORE_IN_USE);
	assert_int_equal(store_domain_del(fx->st, "nope.test", err, sizeof(err)), STORE_NOT_FOUND);
	assert_int_equal(store_user_del(fx->st, "bob", "example.org", err, sizeof(err)), STORE_OK);
	assert_int_equal(store_user_del(fx->st, "bob", "example.org", err, sizeof(err)), STORE_NOT_FOUND);
	assert_int_equal(store_domain_del(fx->st, "other.test", err, sizeof(err)), STORE_OK);
}

static enum resolve_result resolve(struct fixture *fx, const char *l, const char *d,
                                   struct resolved *r)
{
	return resolve_recipient(fx->st, NULL, l, d, r);
}

static void test_resolve(void **state)
{
	struct fixture *fx = *state;
	struct resolved r;
	char err[512];
	assert_int_equal(resolve(fx, "alice", "example.org", &r), RESOLVE_OK);
	assert_int_equal(r.nmailbox, 1);
	assert_string_equal(r.mailbox[0].local, "alice");
	assert_int_equal(resolve(fx, "ALICE", "EXAMPLE.ORG", &r), RESOLVE_OK);
	assert_string_equal(r.mailbox[0].domain, "example.org");
	assert_int_equal(resolve(fx, "alice", "elsewhere.test", &r), RESOLVE_NOT_LOCAL);
	assert_int_equal(resolve(fx, "carol", "example.org", &r), RESOLVE_NO_SUCH_USER);
	/* subaddress */
	assert_int_equal(resolve(fx, "alice+lists", "example.org", &r), RESOLVE_OK);
	assert_string_equal(r.mailbox[0].local, "alice");
	assert_int_equal(resolve(fx, "+x", "example.org", &r), RESOLVE_NO_SUCH_USER);
	/* alias to two users, one remote, with a duplicate */
	store_alias_add(fx->st, "team", "example.org", "alice@example.org", err, sizeof(err));
	store_alias_add(fx->st, "team", "example.org", "bob@example.org", err, sizeof(err));
	store_alias_add(fx->st, "team", "example.org", "ALICE+x@example.org", err, sizeof(err));
	store_alias_add(fx->st, "team", "example.org", "friend@remote.test", err, sizeof(err));
	assert_int_equal(resolve(fx, "team", "example.org", &r), RESOLVE_OK);
	assert_int_equal(r.nmailbox, 2);
	assert_int_equal(r.nremote, 1);
	assert_string_equal(r.remote[0], "friend@remote.test");
	/* an alias that keeps a copy for the user itself */
	store_alias_add(fx->st, "bob", "example.org", "bob@example.org", err, sizeof(err));
	store_alias_add(fx->st, "bob", "example.org", "alice@example.org", err, sizeof(err));
	assert_int_equal(resolve(fx, "bob", "example.org", &r), RESOLVE_OK);
	assert_int_equal(r.nmailbox, 2);
	/* loops end with an error, never a hang */
	store_alias_add(fx->st, "loop1", "example.org", "loop2@example.org", err, sizeof(err));
	store_alias_add(fx->st, "loop2", "example.org", "loop1@example.org", err, sizeof(err));
	assert_int_equal(resolve(fx, "loop1", "example.org", &r), RESOLVE_TOO_MANY);
	/* catch-all */
	assert_int_equal(resolve(fx, "anyone", "example.org", &r), RESOLVE_NO_SUCH_USER);
	store_alias_add(fx->st, "", "example.org", "alice@example.org", err, sizeof(err));
	assert_int_equal(resolve(fx, "anyone", "example.org", &r), RESOLVE_OK);
	assert_string_equal(r.mailbox[0].local, "alice");
	assert_int_equal(store_alias_del(fx->st, "", "example.org", NULL, err, sizeof(err)), STORE_OK);
	assert_int_equal(resolve(fx, "anyone", "example.org", &r), RESOLVE_NO_SUCH_USER);
}

/* ---- postmaster@ and abuse@ (RFC 5321 4.5.1, RFC 2142) ------------------------- */

static void test_admin_match(void **state)
{
	(void)state;
	struct resolve_admin adm = { "MX.Example.ORG", NULL, 0 };
	assert_true(resolve_admin_match(&adm, "postmaster", "example.org", true));
	assert_true(resolve_admin_match(&adm, "PostMaster", "example.org", true));
	assert_true(resolve_admin_match(&adm, "ABUSE", "other.test", true));
	assert_true(resolve_admin_match(&adm, "postmaster", "mx.example.org", false));
	assert_true(resolve_admin_match(&adm, "abuse", "MX.EXAMPLE.ORG", false));
	assert_false(resolve_admin_match(&adm, "postmaster", "remote.test", false));
	assert_false(resolve_admin_match(&adm, "postmasters", "example.org", true));
	assert_false(resolve_admin_match(&adm, "post", "example.org", true));
	assert_false(resolve_admin_match(&adm, "", "example.org", true));
	assert_false(resolve_admin_match(&adm, "webmaster", "example.org", true));
	assert_false(resolve_admin_match(&adm, "postmaster", "example.org.mx.example.org", false));
	assert_false(resolve_admin_match(NULL, "postmaster", "example.org", true));
	adm.hostname = NULL;
	assert_false(resolve_admin_match(&adm, "postmaster", "mx.example.org", false));
}

static enum resolve_result resolve_admin(struct fixture *fx, const struct resolve_admin *adm,
                                         const char *l, const char *d, struct resolved *r)
{
	return resolve_recipient(fx->st, adm, l, d, r);
}

static void assert_only_mailbox(const struct resolved *r, const char *local)
{
	assert_int_equal(r->nmailbox, 1);
	assert_int_equal(r->nremote, 0);
	assert_string_equal(r->mailbox[0].local, local);
	assert_string_equal(r->mailbox[0].domain, "example.org");
}

static void test_admin_default_is_the_first_user(void **state)
{
	struct fixture *fx = *state;
	struct resolve_admin adm = { "mx.example.org", NULL, 0 };
	struct resolved r;
	char err[512];
	static const char *const forms[][2] = {
		{ "postmaster", "example.org" }, { "POSTMASTER", "Example.Org" }, { "abuse", "example.org" },
		{ "postmaster", "mx.example.org" }, { "Abuse", "MX.example.org" },
		{ "postmaster", "other.test" }, { "postmaster+tag", "example.org" },
	};
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		assert_int_equal(resolve_admin(fx, &adm, forms[i][0], forms[i][1], &r), RESOLVE_OK);
		assert_only_mailbox(&r, "alice");
	}
	/* the rule is for these two names, and the hostname only for them */
	assert_int_equal(resolve_admin(fx, &adm, "webmaster", "example.org", &r), RESOLVE_NO_SUCH_USER);
	assert_int_equal(resolve_admin(fx, &adm, "alice", "mx.example.org", &r), RESOLVE_NOT_LOCAL);
	assert_int_equal(resolve_admin(fx, &adm, "postmaster", "remote.test", &r), RESOLVE_NOT_LOCAL);
	/* without the rule (the caller passed no admin) nothing changes */
	assert_int_equal(resolve_admin(fx, NULL, "postmaster", "example.org", &r), RESOLVE_NO_SUCH_USER);
	/* the first user gone, the next one created takes over */
	assert_int_equal(store_user_del(fx->st, "alice", "example.org", err, sizeof(err)), STORE_OK);
	assert_int_equal(resolve_admin(fx, &adm, "abuse", "example.org", &r), RESOLVE_OK);
	assert_only_mailbox(&r, "bob");
	/* nobody at all: the caller must not accept it (451) */
	assert_int_equal(store_user_del(fx->st, "bob", "example.org", err, sizeof(err)), STORE_OK);
	assert_int_equal(resolve_admin(fx, &adm, "postmaster", "example.org", &r), RESOLVE_NO_ADMIN);
	assert_int_equal(resolve_admin(fx, &adm, "postmaster", "mx.example.org", &r), RESOLVE_NO_ADMIN);
}

static void test_admin_store_entries_win(void **state)
{
	struct fixture *fx = *state;
	struct resolve_admin adm = { "mx.example.org", NULL, 0 };
	struct resolved r;
	char err[512];
	assert_int_equal(store_alias_add(fx->st, "postmaster", "example.org", "bob@example.org", err,
	                                 sizeof(err)), STORE_OK);
	assert_int_equal(resolve_admin(fx, &adm, "PostMaster", "example.org", &r), RESOLVE_OK);
	assert_only_mailbox(&r, "bob");
	assert_int_equal(store_user_add(fx->st, "abuse", "example.org", "h", err, sizeof(err)), STORE_OK);
	assert_int_equal(resolve_admin(fx, &adm, "abuse", "example.org", &r), RESOLVE_OK);
	assert_only_mailbox(&r, "abuse");
	/* a domain's catch-all does not swallow postmaster@ (it names nobody in particular) */
	assert_int_equal(store_alias_add(fx->st, "", "other.test", "bob@example.org", err, sizeof(err)),
	                 STORE_OK);
	assert_int_equal(resolve_admin(fx, &adm, "postmaster", "other.test", &r), RESOLVE_OK);
	assert_only_mailbox(&r, "alice");
	assert_int_equal(resolve_admin(fx, &adm, "anyone", "other.test", &r), RESOLVE_OK);
	assert_only_mailbox(&r, "bob");
	/* an alias leading to postmaster@ reaches the admin */
	assert_int_equal(store_alias_add(fx->st, "hostmaster", "other.test", "abuse@mx.example.org", err,
	                                 sizeof(err)), STORE_OK);
	assert_int_equal(resolve_admin(fx, &adm, "hostmaster", "other.test", &r), RESOLVE_OK);
	assert_only_mailbox(&r, "alice");
}

static void test_admin_configured_addresses(void **state)
{
	struct fixture *fx = *state;
	char *list[] = { "ghost@example.org", "bob@example.org", "noc@remote.test" };
	struct resolve_admin adm = { "mx.example.org", list, 3 };
	struct resolved r;
	char err[512];
	/* local and remote; one that reaches nobody is skipped */
	assert_int_equal(resolve_admin(fx, &adm, "postmaster", "example.org", &r), RESOLVE_OK);
	assert_int_equal(r.nmailbox, 1);
	assert_string_equal(r.mailbox[0].local, "bob");
	assert_int_equal(r.nremote, 1);
	assert_string_equal(r.remote[0], "noc@remote.test");
	assert_int_equal(resolve_postmaster_address(fx->st, &adm, "ghost@example.org", &r),
	                 RESOLVE_NO_SUCH_USER);
	assert_int_equal(resolve_postmaster_address(fx->st, &adm, "noc@remote.test", &r), RESOLVE_OK);
	assert_int_equal(r.nremote, 1);
	/* only addresses that reach nobody: not accepted */
	char *nobody[] = { "ghost@example.org" };
	adm = (struct resolve_admin){ "mx.example.org", nobody, 1 };
	assert_int_equal(resolve_admin(fx, &adm, "abuse", "mx.example.org", &r), RESOLVE_NO_ADMIN);
	/* pointing at itself never goes round: postmaster@ of a local domain with
	 * no such entry, and postmaster@hostname (no local domain) are nobody,
	 * never sent out to come back */
	char *self[] = { "postmaster@example.org", "abuse@mx.example.org" };
	adm = (struct resolve_admin){ "mx.example.org", self, 2 };
	assert_int_equal(resolve_admin(fx, &adm, "postmaster", "example.org", &r), RESOLVE_NO_ADMIN);
	assert_int_equal(resolve_admin(fx, &adm, "postmaster", "mx.example.org", &r), RESOLVE_NO_ADMIN);
	/* ... unless the store says who that is */
	assert_int_equal(store_alias_add(fx->st, "postmaster", "example.org", "bob@example.org", err,
	                                 sizeof(err)), STORE_OK);
	assert_int_equal(resolve_admin(fx, &adm, "abuse", "example.org", &r), RESOLVE_OK);
	assert_only_mailbox(&r, "bob");
	/* a configured address that is an alias is expanded */
	char *team[] = { "team@other.test" };
	adm = (struct resolve_admin){ "mx.example.org", team, 1 };
	store_alias_add(fx->st, "team", "other.test", "alice@example.org", err, sizeof(err));
	store_alias_add(fx->st, "team", "other.test", "ops@remote.test", err, sizeof(err));
	assert_int_equal(resolve_admin(fx, &adm, "postmaster", "other.test", &r), RESOLVE_OK);
	assert_int_equal(r.nmailbox, 1);
	assert_int_equal(r.nremote, 1);
}

/* ---- message buffer ------------------------------------------------------------ */

static char *msgbuf_contents(struct msgbuf *mb, size_t *len)
{
	FILE *f = tmpfile();
	assert_int_equal(msgbuf_write_to(mb, fileno(f)), 0);
	long n = ftell(f);
	if (n <= 0)
		n = lseek(fileno(f), 0, SEEK_CUR);
	char *buf = xmalloc((size_t)n + 1);
	assert_int_equal(pread(fileno(f), buf, (size_t)n, 0), n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void test_msgbuf_crlf_and_spill(void **state)
{
	(void)state;
	char *dir = make_tmpdir();
	struct msgbuf *mb = msgbuf_new(dir);
	/* CRLF split across appends, a bare CR kept */
	assert_int_equal(msgbuf_append(mb, "a\r", 2), 0);
	assert_int_equal(msgbuf_append(mb, "\nb\rc\r\n", 6), 0);
	assert_int_equal(msgbuf_finish(mb), 0);
	size_t len;
	char *got = msgbuf_contents(mb, &len);
	assert_int_equal(len, 6);
	assert_memory_equal(got, "a\nb\rc\n", 6);
	assert_int_equal(msgbuf_size(mb), 6);
	assert_int_equal(msgbuf_lines(mb), 2);
	free(got);
	msgbuf_free(mb);

	/* large message: spills to disk, content identical */
	mb = msgbuf_new(dir);
	size_t total = 0;
	char line[80];
	for (int i = 0; total < MSGBUF_MEM_MAX * 3; i++) {
		int n = snprintf(line, sizeof(line), "line %06d abcdefghijklmnopqrstuvwxyz\r\n", i);
		assert_int_equal(msgbuf_append(mb, line, (size_t)n), 0);
		total += (size_t)n - 1;
	}
	assert_int_equal(msgbuf_finish(mb), 0);
	assert_int_equal(msgbuf_size(mb), total);
	got = msgbuf_contents(mb, &len);
	assert_int_equal(len, total);
	assert_memory_equal(got, "line 000000 abc", 15);
	assert_null(memchr(got, '\r', len));
	free(got);
	msgbuf_free(mb);
	assert_int_equal(count_entries(dir), 0); /* O_TMPFILE leaves no name behind */
	remove_tree(dir);
	free(dir);
}

/* ---- durable commit ----------------------------------------------------------------- */

static int commits_done;

static void on_done(struct commit_job *job, void *arg)
{
	(void)job;
	commits_done++;
	if (commits_done == 2)
		event_base_loopexit(arg, NULL);
}

static void on_guard(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopexit(arg, NULL);
}

static void test_commit_to_maildirs(void **state)
{
	(void)state;
	char *dir = make_tmpdir(), md1[512], md2[512], bad[512], path[1024];
	evthread_use_pthreads();
	struct event_base *base = event_base_new();
	char err[256];
	struct committer *c = committer_new(2, "host/with:odd", dir, err, sizeof(err));
	assert_non_null(c);
	snprintf(md1, sizeof(md1), "%s/mail/d/a/Maildir", dir);
	snprintf(md2, sizeof(md2), "%s/mail/d/b/Maildir", dir);
	snprintf(bad, sizeof(bad), "%s/file-not-dir/Maildir", dir);
	/* a Maildir that cannot be created: its parent is a regular file */
	snprintf(path, sizeof(path), "%s/file-not-dir", dir);
	FILE *f = fopen(path, "w");
	fclose(f);
	struct msgbuf *mb = msgbuf_new(dir);
	msgbuf_append(mb, "Subject: hi\r\n\r\nbody\r\n", 21);
	msgbuf_finish(mb);
	char *ok_dirs[] = { md1, md2 };
	char *bad_dirs[] = { md1, bad };
	struct commit_job ok = { .sender = "s@x.test", .header = "Received: x\n", .header_len = 12, .body = mb,
	                         .maildirs = ok_dirs, .nmaildirs = 2, .base = base,
	                         .done = on_done, .arg = base };
	struct commit_job fail = ok;
	fail.maildirs = bad_dirs;
	/* keeps the loop alive until the completions arrive (bounded: 10 s) */
	struct timeval ten = { 10, 0 };
	struct event *guard = evtimer_new(base, on_guard, base);
	evtimer_add(guard, &ten);
	committer_submit(c, &ok);
	committer_submit(c, &fail);
	event_base_dispatch(base);
	event_free(guard);
	assert_int_equal(commits_done, 2);
	assert_int_equal(ok.result, 0);
	assert_int_not_equal(fail.result, 0);
	/* the good job: one file in each new/, none in tmp/ */
	snprintf(path, sizeof(path), "%s/new", md1);
	assert_int_equal(count_entries(path), 1);
	snprintf(path, sizeof(path), "%s/new", md2);
	assert_int_equal(count_entries(path), 1);
	snprintf(path, sizeof(path), "%s/tmp", md1);
	assert_int_equal(count_entries(path), 0);
	snprintf(path, sizeof(path), "%s/new/%s", md2, ok.filename);
	size_t len;
	char *content = read_file(path, &len);
	assert_string_equal(content, "Return-Path: <s@x.test>\nReceived: x\nSubject: hi\n\nbody\n");
	/* Dovecot-style sizes: S= octets on disk, W= with CRLF line ends */
	assert_non_null(strstr(ok.filename, ",S=54,W=59"));
	assert_null(strchr(ok.filename, '/'));
	free(content);
	committer_free(c);
	msgbuf_free(mb);
	event_base_free(base);
	remove_tree(dir);
	free(dir);
}

/* Groups commit on their own: a group whose Maildir cannot take the file
 * fails alone and leaves nothing behind; the others are published. */
static void test_commit_groups(void **state)
{
	(void)state;
	char *dir = make_tmpdir(), md[3][512], path[2048];
	evthread_use_pthreads();
	struct event_base *base = event_base_new();
	char err[256];
	struct committer *c = committer_new(1, "host", dir, err, sizeof(err));
	assert_non_null(c);
	/* b's tmp/ is a regular file: nothing can be written or linked there */
	for (int i = 0; i < 3; i++)
		snprintf(md[i], sizeof(md[i]), "%s/mail/d/%c/Maildir", dir, 'a' + i);
	snprintf(path, sizeof(path), "%s/mail/d/b/Maildir", dir);
	assert_int_equal(mkdir_p(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/mail/d/b/Maildir/tmp", dir);
	fclose(fopen(path, "w"));
	struct msgbuf *mb = msgbuf_new(dir);
	msgbuf_append(mb, "Subject: hi\r\n\r\nbody\r\n", 21);
	msgbuf_finish(mb);
	/* the failing group first: the next one cannot link to its copy */
	char *dirs[] = { md[1], md[0], md[2] };
	struct commit_group groups[] = {
		{ .maildirs_end = 1 },          /* b */
		{ .maildirs_end = 3 },          /* a and c */
		{ .maildirs_end = 3 },          /* nothing new: commits trivially */
	};
	struct commit_job job = { .sender = "s@x.test", .header = "Received: x\n", .header_len = 12,
	                          .body = mb, .maildirs = dirs, .nmaildirs = 3, .groups = groups,
	                          .ngroups = 3, .base = base, .done = on_done, .arg = base };
	commits_done = 1;   /* on_done stops the loop at the second completion */
	struct timeval ten = { 10, 0 };
	struct event *guard = evtimer_new(base, on_guard, base);
	evtimer_add(guard, &ten);
	committer_submit(c, &job);
	event_base_dispatch(base);
	event_free(guard);
	assert_int_equal(commits_done, 2);
	assert_int_equal(groups[0].result, ENOTDIR);
	assert_int_equal(groups[1].result, 0);
	assert_int_equal(groups[2].result, 0);
	assert_int_equal(job.result, ENOTDIR);
	for (int i = 0; i < 3; i += 2) {
		assert_true(bsnprintf(path, sizeof(path), "%s/new", md[i]) >= 0);
		assert_int_equal(count_entries(path), 1);
		assert_true(bsnprintf(path, sizeof(path), "%s/tmp", md[i]) >= 0);
		assert_int_equal(count_entries(path), 0);
	}
	/* one file, two names: the second copy is a hard link */
	struct stat st;
	snprintf(path, sizeof(path), "%s/new/%s", md[0], job.filename);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_nlink, 2);
	committer_free(c);
	msgbuf_free(mb);
	event_base_free(base);
	remove_tree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_migration_failure_rolls_back),
		cmocka_unit_test(test_newer_database_refused_untouched),
		cmocka_unit_test_setup_teardown(test_directory_crud, setup_store, teardown_store),
		cmocka_unit_test_setup_teardown(test_resolve, setup_store, teardown_store),
		cmocka_unit_test(test_admin_match),
		cmocka_unit_test_setup_teardown(test_admin_default_is_the_first_user, setup_store,
		                                teardown_store),
		cmocka_unit_test_setup_teardown(test_admin_store_entries_win, setup_store, teardown_store),
		cmocka_unit_test_setup_teardown(test_admin_configured_addresses, setup_store,
		                                teardown_store),
		cmocka_unit_test(test_msgbuf_crlf_and_spill),
		cmocka_unit_test(test_commit_to_maildirs),
		cmocka_unit_test(test_commit_groups),
	};
	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
