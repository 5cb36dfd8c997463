/* One user's import: every folder of the tree, then Dovecot's
 * subscriptions. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/lines.h"
#include "core/util.h"
#include "import/dovecot_subs.h"
#include "import/import.h"
#include "import/import_names.h"
#include "store/mbox.h"

#define SUBS_LINE_MAX 1024

static int open_subscriptions(int rootfd, const char *root_path, struct import_report *r)
{
	char where[4200];
	struct stat sb;
	int fd = openat(rootfd, "subscriptions", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	snprintf(where, sizeof(where), "%s/subscriptions", root_path);
	if (fd < 0 && errno == ELOOP)
		import_report_skip(r, IMPORT_SKIP_SYMLINK, where, "a symbolic link");
	if (fd >= 0 && (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode))) {
		import_report_skip(r, IMPORT_SKIP_NOT_FILE, where, "not a regular file");
		close(fd);
		fd = -1;
	}
	return fd;
}

static void subscribe_line(struct mbox_store *ms, struct dovecot_subs *st, const char *line,
                           const char *where, struct import_report *r)
{
	char disk[MBOX_NAME_MAX * 2 + 1], name[MBOX_NAME_MAX + 1], why_buf[MBOX_NAME_MAX + 64];
	const char *why;
	int rc = dovecot_subs_line(st, line, disk, sizeof(disk), &why);
	if (rc == 0)
		return;
	if (rc < 0 || import_folder_name(disk, '/', name, sizeof(name), &why) < 0) {
		import_report_skip(r, IMPORT_SKIP_SUBSCRIPTION, where, why);
		return;
	}
	/* a subscription is a name: kept even when the folder is not there
	 * (RFC 9051 6.3.7), as Dovecot keeps it */
	rc = mbox_subscribe(ms, name, true);
	if (rc == MBOX_INVALID) {
		snprintf(why_buf, sizeof(why_buf), "%s: not a mailbox name", name);
		import_report_skip(r, IMPORT_SKIP_SUBSCRIPTION, where, why_buf);
	} else if (rc != MBOX_OK) {
		import_report_skip(r, IMPORT_SKIP_SUBSCRIPTION, where, "the mailbox index failed");
	}
}

/* The folders subscribed in the source, subscribed here (the imported ones
 * were unsubscribed first: Dovecot's list is the whole truth about them). */
static void apply_subscriptions(struct mbox_store *ms, int fd, const char *root_path,
                                struct import_report *r)
{
	char where[4200], *line;
	size_t len;
	int rc;
	struct lines lr;
	struct dovecot_subs st = { 0 };
	lines_init(&lr, fd, SUBS_LINE_MAX);
	while ((rc = lines_next(&lr, &line, &len)) != LINES_END && rc != LINES_ERROR) {
		snprintf(where, sizeof(where), "%s/subscriptions line %lu", root_path, lr.lineno);
		if (rc == LINES_TOO_LONG || strlen(line) != len)
			import_report_skip(r, IMPORT_SKIP_SUBSCRIPTION, where, "not a mailbox name");
		else
			subscribe_line(ms, &st, line, where, r);
	}
	lines_free(&lr);
}

/* Parents postern makes for a folder ("A" for "A/B") are not the source's
 * folders: with the source's subscriptions they start unsubscribed too. */
static void unsubscribe_new_parents(struct mbox_store *ms, const char *name)
{
	char parent[MBOX_NAME_MAX + 1];
	struct mbox_info mb;
	str_copy(parent, sizeof(parent), name);
	for (char *slash = strchr(parent, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
		*slash = '\0';   /* "A", then "A/B": the top first */
		if (mbox_find(ms, parent, &mb) == MBOX_NOT_FOUND && mbox_create(ms, parent, NULL) == MBOX_OK)
			mbox_subscribe(ms, parent, false);
		*slash = '/';
	}
}

int import_user(struct mbox_store *ms, int rootfd, const char *root_path, const char *user,
                const struct import_options *opt, struct import_report *r, char *err,
                size_t errlen)
{
	struct import_folder *folders = NULL;
	size_t n = 0;
	int rc = 0;
	if (import_list_folders(rootfd, root_path, opt->layout, r, &folders, &n, err, errlen) < 0)
		return -1;
	int subs = open_subscriptions(rootfd, root_path, r);
	for (size_t i = 0; rc >= 0 && i < n; i++) {
		if (subs >= 0)
			unsubscribe_new_parents(ms, folders[i].name);
		rc = import_folder(ms, rootfd, root_path, user, &folders[i], opt, r, err, errlen);
		/* without a subscriptions file every folder is subscribed, so
		 * that a client that lists only those sees them all (postern's
		 * CREATE does not subscribe); with one, it decides */
		if (rc == 0)
			mbox_subscribe(ms, folders[i].name, subs < 0);
	}
	if (rc >= 0 && subs >= 0)
		apply_subscriptions(ms, subs, root_path, r);
	if (subs >= 0)
		close(subs);
	free(folders);
	if (rc >= 0)
		r->users++;
	return rc < 0 ? -1 : 0;
}
