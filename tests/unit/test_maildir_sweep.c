/* Unit tests for src/store/maildir_sweep.c: which tmp/ files go (old regular
 * files in every Maildir and Maildir++ folder), which stay (fresh ones,
 * anything outside tmp/, anything behind a symbolic link), and the thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"
#include "store/maildir.h"

#define HOUR (60 * 60)

struct fixture {
	char root[256];         /* mkdtemp: data/ and outside/ */
	char data[300];
	char outside[300];
};

static void path_of(char *out, size_t len, const char *base, const char *rel)
{
	assert_true(bsnprintf(out, len, "%s/%s", base, rel) >= 0);
}

static void make_dir(const char *base, const char *rel)
{
	char p[1024];
	path_of(p, sizeof(p), base, rel);
	assert_int_equal(mkdir_p(p, 0700), 0);
}

/* A file whose mtime is age_s seconds in the past. */
static void make_file(const char *base, const char *rel, time_t age_s)
{
	char p[1024];
	path_of(p, sizeof(p), base, rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x\n", 2), 2);
	close(fd);
	struct timespec ts[2] = { { .tv_sec = time(NULL) - age_s }, { .tv_sec = time(NULL) - age_s } };
	assert_int_equal(utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW), 0);
}

static void make_link(const char *target, const char *base, const char *rel)
{
	char p[1024];
	path_of(p, sizeof(p), base, rel);
	assert_int_equal(symlink(target, p), 0);
}

static bool exists(const char *base, const char *rel)
{
	char p[1024];
	struct stat st;
	path_of(p, sizeof(p), base, rel);
	return lstat(p, &st) == 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");
	snprintf(f->root, sizeof(f->root), "%s/postern-sweep-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(f->root) == NULL)
		return -1;
	snprintf(f->data, sizeof(f->data), "%s/data", f->root);
	snprintf(f->outside, sizeof(f->outside), "%s/outside", f->root);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

#define OLD (37 * HOUR)
#define YOUNG (35 * HOUR)
#define AM "mail/example.org/alice/Maildir"

static void test_removes_only_old_tmp_files(void **state)
{
	struct fixture *f = *state;
	const char *d = f->data;

	make_dir(d, AM "/tmp");
	make_dir(d, AM "/new");
	make_dir(d, AM "/cur");
	make_dir(d, AM "/.Archive/tmp");
	make_dir(d, AM "/.Archive.2026/tmp");
	make_dir(d, AM "/.postern-backups/tmp");
	make_dir(d, "mail/example.org/bob/Maildir/tmp");
	make_dir(d, "mail/other.test/carol/Maildir/tmp");

	/* these go */
	make_file(d, AM "/tmp/old1", OLD);
	make_file(d, AM "/tmp/old2", 400 * 24 * HOUR);
	make_file(d, AM "/.Archive/tmp/old", OLD);
	make_file(d, AM "/.Archive.2026/tmp/old", OLD);
	make_file(d, "mail/example.org/bob/Maildir/tmp/old", OLD);
	make_file(d, "mail/other.test/carol/Maildir/tmp/old", OLD);
	/* these stay: too young */
	make_file(d, AM "/tmp/young", YOUNG);
	make_file(d, AM "/tmp/now", 0);
	make_file(d, AM "/.Archive/tmp/young", YOUNG);
	/* outside tmp/ */
	make_file(d, AM "/new/old", OLD);
	make_file(d, AM "/cur/old:2,S", OLD);
	make_file(d, AM "/postern-index.db", OLD);
	make_file(d, AM "/.Archive/old", OLD);
	make_file(d, AM "/.postern-backups/tmp/old", OLD);   /* not a folder */
	make_file(d, "mail/example.org/bob/old", OLD);
	make_file(d, "mail/old", OLD);
	/* not a regular file: a directory in tmp/, and what is inside it */
	make_dir(d, AM "/tmp/subdir");
	make_file(d, AM "/tmp/subdir/old", OLD);

	assert_int_equal(maildir_sweep_tmp(d, MAILDIR_TMP_MAX_AGE), 6);

	assert_false(exists(d, AM "/tmp/old1"));
	assert_false(exists(d, AM "/tmp/old2"));
	assert_false(exists(d, AM "/.Archive/tmp/old"));
	assert_false(exists(d, AM "/.Archive.2026/tmp/old"));
	assert_false(exists(d, "mail/example.org/bob/Maildir/tmp/old"));
	assert_false(exists(d, "mail/other.test/carol/Maildir/tmp/old"));

	assert_true(exists(d, AM "/tmp/young"));
	assert_true(exists(d, AM "/tmp/now"));
	assert_true(exists(d, AM "/.Archive/tmp/young"));
	assert_true(exists(d, AM "/new/old"));
	assert_true(exists(d, AM "/cur/old:2,S"));
	assert_true(exists(d, AM "/postern-index.db"));
	assert_true(exists(d, AM "/.Archive/old"));
	assert_true(exists(d, AM "/.postern-backups/tmp/old"));
	assert_true(exists(d, "mail/example.org/bob/old"));
	assert_true(exists(d, "mail/old"));
	assert_true(exists(d, AM "/tmp/subdir/old"));
	/* the directories themselves stay */
	assert_true(exists(d, AM "/tmp"));
	assert_true(exists(d, AM "/.Archive/tmp"));

	/* nothing left to do */
	assert_int_equal(maildir_sweep_tmp(d, MAILDIR_TMP_MAX_AGE), 0);
	/* a smaller age reaches the younger files */
	assert_int_equal(maildir_sweep_tmp(d, 30 * HOUR), 2);
	assert_true(exists(d, AM "/tmp/now"));
}

/* A symbolic link anywhere below mail/ is never followed: not in tmp/, not
 * as tmp/ itself, not as a Maildir, a folder, a user or a domain. */
static void test_never_follows_symlinks(void **state)
{
	struct fixture *f = *state;
	const char *d = f->data, *o = f->outside;
	char target[1024];

	make_dir(o, "dir");
	make_file(o, "dir/old", OLD);
	make_dir(o, "maildir/tmp");
	make_file(o, "maildir/tmp/old", OLD);
	make_dir(o, "user/Maildir/tmp");
	make_file(o, "user/Maildir/tmp/old", OLD);
	make_dir(o, "domain/user/Maildir/tmp");
	make_file(o, "domain/user/Maildir/tmp/old", OLD);

	make_dir(d, AM "/tmp");
	make_file(d, AM "/tmp/old", OLD);
	/* a link in tmp/ to an old file elsewhere: neither goes */
	path_of(target, sizeof(target), o, "dir/old");
	make_link(target, d, AM "/tmp/link-to-old");
	/* a dangling link */
	make_link("/nonexistent/postern-sweep", d, AM "/tmp/dangling");
	/* tmp/ of a folder is a link */
	make_dir(d, AM "/.Linked");
	path_of(target, sizeof(target), o, "dir");
	make_link(target, d, AM "/.Linked/tmp");
	/* a folder is a link */
	path_of(target, sizeof(target), o, "maildir");
	make_link(target, d, AM "/.Folder");
	/* a Maildir is a link */
	make_dir(d, "mail/example.org/bob");
	path_of(target, sizeof(target), o, "maildir");
	make_link(target, d, "mail/example.org/bob/Maildir");
	/* a user is a link */
	path_of(target, sizeof(target), o, "user");
	make_link(target, d, "mail/example.org/carol");
	/* a domain is a link */
	path_of(target, sizeof(target), o, "domain");
	make_link(target, d, "mail/evil.test");

	assert_int_equal(maildir_sweep_tmp(d, MAILDIR_TMP_MAX_AGE), 1);
	assert_false(exists(d, AM "/tmp/old"));
	assert_true(exists(d, AM "/tmp/link-to-old"));
	assert_true(exists(d, AM "/tmp/dangling"));
	assert_true(exists(o, "dir/old"));
	assert_true(exists(o, "maildir/tmp/old"));
	assert_true(exists(o, "user/Maildir/tmp/old"));
	assert_true(exists(o, "domain/user/Maildir/tmp/old"));
}

static void test_no_mail_dir(void **state)
{
	struct fixture *f = *state;
	char missing[400];

	snprintf(missing, sizeof(missing), "%s/none", f->root);
	assert_int_equal(maildir_sweep_tmp(missing, MAILDIR_TMP_MAX_AGE), 0);
	/* mail/ that is not a directory cannot be read */
	make_dir(f->data, "");
	make_file(f->data, "mail", 0);
	errno = 0;
	assert_int_equal(maildir_sweep_tmp(f->data, MAILDIR_TMP_MAX_AGE), -1);
	assert_int_equal(errno, ENOTDIR);
}

/* Waits up to 10 s for a path to disappear. */
static bool gone_within(const char *base, const char *rel)
{
	for (int i = 0; i < 1000; i++) {
		if (!exists(base, rel))
			return true;
		usleep(10 * 1000);
	}
	return false;
}

static double monotonic_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The thread sweeps when started, then every interval. */
static void test_sweeper_thread_repeats(void **state)
{
	struct fixture *f = *state;
	const char *d = f->data;
	char err[256];

	make_dir(d, AM "/tmp");
	make_file(d, AM "/tmp/first", OLD);
	make_file(d, AM "/tmp/young", YOUNG);
	struct maildir_sweeper *sw = maildir_sweeper_new(d, MAILDIR_TMP_MAX_AGE, 1);
	assert_int_equal(maildir_sweeper_start(sw, err, sizeof(err)), 0);
	assert_true(gone_within(d, AM "/tmp/first"));
	make_file(d, AM "/tmp/second", OLD);
	assert_true(gone_within(d, AM "/tmp/second"));
	maildir_sweeper_stop(sw);
	assert_true(exists(d, AM "/tmp/young"));
	/* stopped: nothing is swept any more */
	make_file(d, AM "/tmp/third", OLD);
	usleep(1500 * 1000);
	assert_true(exists(d, AM "/tmp/third"));
	maildir_sweeper_free(sw);
}

/* A stop does not wait for the next sweep. */
static void test_sweeper_stops_promptly(void **state)
{
	struct fixture *f = *state;
	char err[256];

	make_dir(f->data, AM "/tmp");
	make_file(f->data, AM "/tmp/old", OLD);
	struct maildir_sweeper *sw = maildir_sweeper_new(f->data, MAILDIR_TMP_MAX_AGE,
	                                                 MAILDIR_SWEEP_INTERVAL);
	assert_int_equal(maildir_sweeper_start(sw, err, sizeof(err)), 0);
	assert_true(gone_within(f->data, AM "/tmp/old"));
	double t0 = monotonic_s();
	maildir_sweeper_stop(sw);
	assert_true(monotonic_s() - t0 < 2.0);
	maildir_sweeper_stop(sw);       /* twice is harmless */
	maildir_sweeper_free(sw);

	/* never started */
	maildir_sweeper_free(maildir_sweeper_new(f->data, 1, 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_removes_only_old_tmp_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_never_follows_symlinks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_mail_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sweeper_thread_repeats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sweeper_stops_promptly, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
