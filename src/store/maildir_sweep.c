/* Removing what crashed deliveries left in Maildir tmp/ directories; see
 * maildir.h.
 *
 * A delivery writes tmp/<name>, fsyncs it and renames it into new/ (or cur/
 * for IMAP APPEND) within seconds; a kill -9 or power loss in between leaves
 * the tmp/ file behind for ever. Files still being written are fresh, so an
 * age of 36 hours (the Maildir convention) can only catch abandoned ones.
 *
 * The walk goes through directory descriptors (openat, fstatat, unlinkat)
 * with O_NOFOLLOW and AT_SYMLINK_NOFOLLOW: a symbolic link planted anywhere
 * below <data_dir>/mail is never followed, so nothing outside a real tmp/
 * can be removed. The message spool needs no sweeping: msgbuf.c spills to
 * unnamed O_TMPFILE files, which vanish with the process. */
#include "store/maildir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"

/* ---- the walk --------------------------------------------------------------------------------- */

struct sweep {
	time_t cutoff;                  /* files with an older mtime go */
	const atomic_bool *stop;        /* NULL, or set when the sweep should end early */
	long removed;
	/* where the walk is, for the log */
	const char *domain, *user, *folder;
};

static bool sweep_stopped(const struct sweep *sw)
{
	return sw->stop != NULL && atomic_load(sw->stop);
}

static bool dot_or_dotdot(const char *name)
{
	return name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

/* Opens the directory `name` in parentfd for reading, refusing a symbolic
 * link. NULL when it is not a real directory or cannot be opened. */
static DIR *open_subdir(int parentfd, const char *name)
{
	int fd = openat(parentfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	DIR *d = fdopendir(fd);
	if (d == NULL)
		close(fd);
	return d;
}

/* Removes the stale regular files of <parent>/tmp. */
static void sweep_tmp(struct sweep *sw, DIR *parent)
{
	DIR *d = open_subdir(dirfd(parent), "tmp");
	if (d == NULL)
		return;
	int fd = dirfd(d);
	for (struct dirent *de; (de = readdir(d)) != NULL;) {
		struct stat st;
		if (dot_or_dotdot(de->d_name))
			continue;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
		    st.st_mtime >= sw->cutoff)
			continue;
		if (unlinkat(fd, de->d_name, 0) == 0) {
			sw->removed++;
		} else if (errno != ENOENT) {
			log_event(LOG_WARN, "maildir.tmp_sweep_error", "s", "domain", sw->domain,
			          "s", "user", sw->user, "s", "folder", sw->folder, "s", "file", de->d_name,
			          "s", "error", strerror(errno), NULL);
		}
	}
	closedir(d);
}

/* A Maildir's own tmp/, then the tmp/ of each Maildir++ folder: they are all
 * ".Name" directories directly inside it (nested names are ".A.B"). */
static void sweep_user(struct sweep *sw, DIR *user)
{
	DIR *d = open_subdir(dirfd(user), "Maildir");
	if (d == NULL)
		return;
	sw->folder = NULL;
	sweep_tmp(sw, d);
	for (struct dirent *de; (de = readdir(d)) != NULL && !sweep_stopped(sw);) {
		/* .postern-backups and the like are ours, not folders (mbox_discover_folders) */
		if (de->d_name[0] != '.' || dot_or_dotdot(de->d_name) ||
		    strncmp(de->d_name, ".postern", 8) == 0)
			continue;
		DIR *folder = open_subdir(dirfd(d), de->d_name);
		if (folder != NULL) {
			sw->folder = de->d_name;
			sweep_tmp(sw, folder);
			closedir(folder);
		}
	}
	sw->folder = NULL;
	closedir(d);
}

/* Calls fn on every real subdirectory of d whose name could be a domain or a
 * local part (maildir_name_safe() refuses a leading dot); *name says which. */
static void each_subdir(struct sweep *sw, DIR *d, const char **name,
                        void (*fn)(struct sweep *, DIR *))
{
	for (struct dirent *de; (de = readdir(d)) != NULL && !sweep_stopped(sw);) {
		if (de->d_name[0] == '.')
			continue;
		DIR *sub = open_subdir(dirfd(d), de->d_name);
		if (sub != NULL) {
			*name = de->d_name;
			fn(sw, sub);
			closedir(sub);
		}
	}
	*name = NULL;
}

static void sweep_domain(struct sweep *sw, DIR *domain)
{
	each_subdir(sw, domain, &sw->user, sweep_user);
}

static long sweep_all(const char *data_dir, time_t max_age, const atomic_bool *stop)
{
	char path[4096];
	if (bsnprintf(path, sizeof(path), "%s/mail", data_dir) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* the configured root may be a link the administrator made; nothing below it is followed */
	DIR *mail = opendir(path);
	if (mail == NULL)
		return errno == ENOENT ? 0 : -1;
	struct sweep sw = { .cutoff = time(NULL) - max_age, .stop = stop };
	each_subdir(&sw, mail, &sw.domain, sweep_domain);
	closedir(mail);
	return sw.removed;
}

long maildir_sweep_tmp(const char *data_dir, time_t max_age)
{
	return sweep_all(data_dir, max_age, NULL);
}

/* ---- the thread ----------------------------------------------------------------------------- */

struct maildir_sweeper {
	char *data_dir;
	time_t max_age;
	unsigned interval;              /* seconds between sweeps */
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t wake;            /* on CLOCK_MONOTONIC: a clock change cannot skip a day */
	atomic_bool stopping;
};

struct maildir_sweeper *maildir_sweeper_new(const char *data_dir, time_t max_age,
                                            unsigned interval)
{
	struct maildir_sweeper *sw = xcalloc(1, sizeof(*sw));
	pthread_condattr_t attr;
	sw->data_dir = xstrdup(data_dir);
	sw->max_age = max_age;
	sw->interval = interval;
	pthread_mutex_init(&sw->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&sw->wake, &attr);
	pthread_condattr_destroy(&attr);
	atomic_init(&sw->stopping, false);
	return sw;
}

static void sweep_once(struct maildir_sweeper *sw)
{
	long n = sweep_all(sw->data_dir, sw->max_age, &sw->stopping);
	if (n < 0)
		log_event(LOG_ERROR, "maildir.tmp_sweep_error", "s", "error", strerror(errno), NULL);
	else
		log_event(LOG_INFO, "maildir.tmp_swept", "i", "removed", (long long)n, NULL);
}

/* Sleeps until the next sweep is due; false when asked to stop instead. */
static bool wait_interval(struct maildir_sweeper *sw)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += (time_t)sw->interval;
	pthread_mutex_lock(&sw->lock);
	int rc = 0;
	while (!atomic_load(&sw->stopping) && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&sw->wake, &sw->lock, &until);
	bool go_on = !atomic_load(&sw->stopping);
	pthread_mutex_unlock(&sw->lock);
	return go_on;
}

static void *sweeper_main(void *arg)
{
	struct maildir_sweeper *sw = arg;
	do
		sweep_once(sw);
	while (wait_interval(sw));
	return NULL;
}

int maildir_sweeper_start(struct maildir_sweeper *sw, char *err, size_t errlen)
{
	sigset_t all, old;
	/* signals belong to the main loop */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = pthread_create(&sw->thread, NULL, sweeper_main, sw);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the Maildir tmp/ sweeper thread: %s", strerror(rc));
		return -1;
	}
	sw->started = true;
	return 0;
}

void maildir_sweeper_stop(struct maildir_sweeper *sw)
{
	if (sw == NULL || !sw->started)
		return;
	pthread_mutex_lock(&sw->lock);
	atomic_store(&sw->stopping, true);
	pthread_cond_signal(&sw->wake);
	pthread_mutex_unlock(&sw->lock);
	pthread_join(sw->thread, NULL);
	sw->started = false;
}

void maildir_sweeper_free(struct maildir_sweeper *sw)
{
	if (sw == NULL)
		return;
	maildir_sweeper_stop(sw);
	pthread_cond_destroy(&sw->wake);
	pthread_mutex_destroy(&sw->lock);
	free(sw->data_dir);
	free(sw);
}
