/* One folder of an import: its files listed, its messages copied into the
 * mailbox's tmp/ and handed to the index in batches. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"
#include "import/import_copy.h"
#include "import/import_int.h"
#include "import/pop3_uidl_format.h"
#include "store/maildir.h"
#include "store/scratch.h"

#define KEYWORDS_LINE_MAX 512

/* The run (or the folder) stops: err says where and why. */
static int fail(struct folder_job *j, int rc, const char *what)
{
	snprintf(j->err, j->errlen, "%s: %s", j->path, what);
	return rc;
}

static bool name_usable(const char *name)
{
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return name[0] != ':' && strlen(name) <= DOVECOT_NAME_MAX;
}

static void add_file(struct folder_job *j, const char *name, char kind)
{
	char key[DOVECOT_NAME_MAX + 1], stored[DOVECOT_NAME_MAX + 2], where[sizeof(j->path) + 300];
	snprintf(where, sizeof(where), "%s/%s/%s", j->path, kind == 'c' ? "cur" : "new", name);
	if (!name_usable(name)) {
		import_report_skip(j->r, IMPORT_SKIP_BAD_FILE_NAME, where, "a name no Maildir has");
		return;
	}
	size_t base = strcspn(name, ":");
	memcpy(key, name, base);
	key[base] = '\0';
	snprintf(stored, sizeof(stored), "%c%s", kind, name);
	int rc = scratch_map_put(j->files, key, stored);
	if (rc == 1)
		import_report_skip(j->r, IMPORT_SKIP_DUPLICATE, where,
		                   "another file of this folder has the same base name");
}

/* Every file of cur/ or new/ goes into the scratch map under its base. */
static int list_files(struct folder_job *j, int dirfd, char kind)
{
	char where[sizeof(j->path) + 300];
	if (dirfd < 0)
		return JOB_OK;
	DIR *d = fdopendir(dup(dirfd));
	if (d == NULL || scratch_map_begin(j->files) < 0) {
		if (d != NULL)
			closedir(d);
		return fail(j, JOB_FATAL, strerror(errno));
	}
	for (struct dirent *de; (de = readdir(d)) != NULL;) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(where, sizeof(where), "%s/%s/%s", j->path, kind == 'c' ? "cur" : "new", de->d_name);
		if (de->d_type == DT_LNK)
			import_report_skip(j->r, IMPORT_SKIP_SYMLINK, where, "a symbolic link");
		else if (de->d_type == DT_DIR)
			import_report_skip(j->r, IMPORT_SKIP_NOT_FILE, where, "a directory");
		else
			add_file(j, de->d_name, kind);
	}
	closedir(d);
	return scratch_map_commit(j->files) < 0 ? fail(j, JOB_FATAL, "the scratch file failed")
	                                          : JOB_OK;
}

/* A file of the folder itself (Dovecot's), never through a link. */
static int open_folder_file(struct folder_job *j, const char *name)
{
	struct stat sb;
	char where[sizeof(j->path) + 64];
	int fd = openat(j->srcfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	snprintf(where, sizeof(where), "%s/%s", j->path, name);
	if (fd < 0 && errno == ELOOP)
		import_report_skip(j->r, IMPORT_SKIP_SYMLINK, where, "a symbolic link");
	if (fd >= 0 && (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode))) {
		import_report_skip(j->r, IMPORT_SKIP_NOT_FILE, where, "not a regular file");
		close(fd);
		fd = -1;
	}
	return fd;
}

static void read_keywords(struct folder_job *j)
{
	char where[sizeof(j->path) + 64], *line;
	size_t len;
	const char *why;
	struct lines r;
	int rc, fd = open_folder_file(j, "dovecot-keywords");
	if (fd < 0)
		return;
	lines_init(&r, fd, KEYWORDS_LINE_MAX);
	while ((rc = lines_next(&r, &line, &len)) != LINES_END && rc != LINES_ERROR) {
		snprintf(where, sizeof(where), "%s/dovecot-keywords line %lu", j->path, r.lineno);
		if (rc == LINES_TOO_LONG)
			import_report_skip(j->r, IMPORT_SKIP_KEYWORD, where, "too long");
		else if (len > 0 && dovecot_keywords_parse_line(&j->kw, line, &why) < 0)
			import_report_skip(j->r, IMPORT_SKIP_KEYWORD, where, why);
	}
	lines_free(&r);
	close(fd);
}

/* dovecot-uidlist's header; without a usable one the folder is imported as
 * a plain Maildir (new UIDs, as Dovecot itself would give). */
static void read_uidlist_header(struct folder_job *j)
{
	char where[sizeof(j->path) + 64], *line;
	size_t len;
	const char *why = "empty";
	j->uidlist_fd = open_folder_file(j, "dovecot-uidlist");
	if (j->uidlist_fd < 0)
		return;
	lines_init(&j->uidlist, j->uidlist_fd, DOVECOT_UIDLIST_LINE_MAX);
	int rc = lines_next(&j->uidlist, &line, &len);
	if (rc == LINES_OK && dovecot_uidlist_parse_header(line, &j->hdr, &why) == 0) {
		j->have_uidlist = true;
		return;
	}
	snprintf(where, sizeof(where), "%s/dovecot-uidlist", j->path);
	import_report_skip(j->r, IMPORT_SKIP_UIDLIST_LINE, where,
	                   rc == LINES_OK ? why : "no header line");
	lines_free(&j->uidlist);
	close(j->uidlist_fd);
	j->uidlist_fd = -1;
}

static int open_source(struct folder_job *j, int rootfd)
{
	j->srcfd = import_open_dir(rootfd, j->f->rel);
	int e = errno;
	if (j->srcfd >= 0) {
		j->curfd = openat(j->srcfd, "cur", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		e = errno;
		j->newfd = openat(j->srcfd, "new", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (j->srcfd < 0 || j->curfd < 0) {
		if (e == EACCES) {   /* the whole tree is likely so: the caller explains */
			j->r->access_denied = true;
			return fail(j, JOB_FATAL, strerror(e));
		}
		import_report_error(j->r, "%s: not imported: %s", j->path,
		                    e == ELOOP || e == ENOTDIR ? "a symbolic link" : strerror(e));
		return JOB_FOLDER_FAILED;
	}
	read_keywords(j);
	read_uidlist_header(j);
	return JOB_OK;
}

/* The folder's files into a scratch map beside the copies (on the data's
 * disk, not in a /tmp that may be memory; a killed run's is removed with
 * its copies). */
static int list_source(struct folder_job *j)
{
	char err[256], path[4400];
	snprintf(path, sizeof(path), "%s/import.%d.scratch", j->tmpdir, (int)getpid());
	j->files = scratch_map_new(path, err, sizeof(err));
	if (j->files == NULL)
		return fail(j, JOB_FATAL, err);
	int rc = list_files(j, j->curfd, 'c');
	return rc == JOB_OK ? list_files(j, j->newfd, 'n') : rc;
}

/* Copies an earlier run left in tmp/ when it was killed: "import.<pid>.*"
 * of a process that is gone. */
static void remove_stale_copies(int tmpfd)
{
	DIR *d = fdopendir(dup(tmpfd));
	if (d == NULL)
		return;
	for (struct dirent *de; (de = readdir(d)) != NULL;) {
		char *end;
		if (strncmp(de->d_name, "import.", 7) != 0)
			continue;
		long pid = strtol(de->d_name + 7, &end, 10);
		if (*end == '.' && pid > 0 && pid != getpid() && kill((pid_t)pid, 0) < 0 && errno == ESRCH)
			unlinkat(tmpfd, de->d_name, 0);
	}
	closedir(d);
}

/* The mailbox ready for this source, and its tmp/ open. */
static int open_target(struct folder_job *j)
{
	char source[MBOX_IMPORT_SOURCE_MAX + 1], err[1024], dir[4096];
	if (j->have_uidlist)
		snprintf(source, sizeof(source), "dovecot:%u:%.900s", j->hdr.uidvalidity, j->f->rel);
	else
		snprintf(source, sizeof(source), "maildir:%.900s", j->f->rel);
	int rc = mbox_import_begin(j->ms, j->f->name, source, j->have_uidlist ? j->hdr.uidvalidity : 0,
	                           &j->imp, err, sizeof(err));
	if (rc == MBOX_CONFLICT || rc == MBOX_INVALID) {
		import_report_error(j->r, "%s: not imported: %s", j->path, err);
		return JOB_FOLDER_FAILED;
	}
	if (rc != MBOX_OK)
		return fail(j, JOB_FATAL, err);
	j->begun = true;
	if (mbox_dir(j->ms, j->imp.mb.name, dir, sizeof(dir)) < 0)
		return fail(j, JOB_FATAL, "no directory for the mailbox");
	strcat(dir, "/tmp");
	str_copy(j->tmpdir, sizeof(j->tmpdir), dir);
	j->tmpfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (j->tmpfd < 0)
		return fail(j, JOB_FATAL, "cannot open the mailbox's tmp/");
	remove_stale_copies(j->tmpfd);
	j->next_uid = j->imp.mb.uidnext;
	return JOB_OK;
}

/* The batch's copies are not wanted (an error): out of tmp/. */
static void drop_staged(struct folder_job *j)
{
	for (size_t i = 0; i < j->n; i++)
		unlinkat(j->tmpfd, j->batch[i].tmp_name, 0);
	j->n = 0;
	j->batch_octets = 0;
}

int job_flush(struct folder_job *j, const char *position)
{
	uint64_t octets = 0;
	if (j->n == 0)
		return JOB_OK;
	/* the data of every copy durable before the index names them: one
	 * syncfs for the batch (an fsync per file costs ~50 times as much) */
	if (syncfs(j->tmpfd) < 0) {
		drop_staged(j);
		return fail(j, JOB_FATAL, "syncing the copies failed");
	}
	for (size_t i = 0; i < j->n; i++) {
		const struct staged *s = &j->batch[i];
		j->msgs[i] = (struct mbox_import_msg){ s->tmp_name, s->base, s->uid, s->flags,
		                                       s->keywords, s->date, s->size, s->uidl };
		octets += s->octets;
	}
	int rc = mbox_import_add(j->ms, &j->imp, j->msgs, j->n, position);
	if (rc != MBOX_OK) {
		drop_staged(j);
		if (rc != MBOX_CONFLICT)
			return fail(j, JOB_FATAL, "the mailbox index failed");
		import_report_error(j->r, "%s: stopped: %s changed while it was imported (another "
		                    "import of it, or mail added)", j->path, j->f->name);
		return JOB_FOLDER_FAILED;
	}
	j->r->messages += j->n;
	j->r->bytes += octets;
	j->n = 0;
	j->batch_octets = 0;
	if (j->opt->batch_delay_ms > 0)
		nanosleep(&(struct timespec){ j->opt->batch_delay_ms / 1000,
		                              (long)(j->opt->batch_delay_ms % 1000) * 1000000 }, NULL);
	return JOB_OK;
}

/* Flags and keywords from the file name's info part (cur/ only). */
static void take_flags(struct folder_job *j, const char *stored, struct staged *s)
{
	const char *info = stored[0] == 'c' ? strstr(stored, ":2,") : NULL;
	char letters[64];
	unsigned unknown = 0;
	s->flags = 0;
	s->keywords[0] = '\0';
	if (info == NULL)
		return;
	info += 3;
	str_copy(letters, sizeof(letters), info);
	letters[strcspn(letters, ",")] = '\0';   /* Dovecot: other fields after a ',' */
	s->flags = mbox_flags_from_maildir(letters);
	dovecot_keywords_of(&j->kw, letters, s->keywords, sizeof(s->keywords), &unknown);
	j->r->skipped[IMPORT_SKIP_KEYWORD] += unknown;
}

/* The UIDL Dovecot's POP3 showed: the one it saved (a P field), else for
 * INBOX the one its pop3_uidl_format made (%f: the source's base name). */
static void take_uidl(struct folder_job *j, struct staged *s, const char *saved,
                      const char *stored)
{
	char base[DOVECOT_NAME_MAX + 1];
	s->uidl[0] = '\0';
	if (saved != NULL && saved[0] != '\0') {
		str_copy(s->uidl, sizeof(s->uidl), saved);
		return;
	}
	if (!j->is_inbox || !j->have_uidlist || j->opt->pop3_uidl_format == NULL)
		return;
	str_copy(base, sizeof(base), stored + 1);
	base[strcspn(base, ":")] = '\0';
	if (pop3_uidl_format(j->opt->pop3_uidl_format, s->uid, j->imp.mb.uidvalidity, base, s->uidl,
	                     sizeof(s->uidl)) < 0)
		s->uidl[0] = '\0';
}

static int copy_one(struct folder_job *j, const char *stored, struct staged *s)
{
	struct import_copied c;
	enum import_skip why;
	char detail[512], where[sizeof(j->path) + 300];
	int dirfd = stored[0] == 'c' ? j->curfd : j->newfd;
	snprintf(s->tmp_name, sizeof(s->tmp_name), "import.%d.%lu", (int)getpid(), ++j->counter);
	int rc = import_copy_message(dirfd, stored + 1, j->tmpfd, s->tmp_name, &c, &why, detail,
	                             sizeof(detail));
	snprintf(where, sizeof(where), "%s/%s/%s", j->path, stored[0] == 'c' ? "cur" : "new", stored + 1);
	if (rc == IMPORT_COPY_SKIP) {
		import_report_skip(j->r, why, where, detail);
		return JOB_FOLDER_FAILED;   /* (this message only) */
	}
	if (rc == IMPORT_COPY_FATAL || rc == IMPORT_COPY_DENIED) {
		j->r->access_denied = rc == IMPORT_COPY_DENIED;
		return fail(j, JOB_FATAL, detail);
	}
	s->octets = c.octets;
	s->size = c.vsize;
	s->date = c.mtime;
	if (c.octets > j->opt->message_size_limit)
		j->r->over_limit++;
	/* named after its internal date, which a rebuilt index reads back */
	if (maildir_unique_name_at(s->base, sizeof(s->base), c.mtime, (long)(j->counter % 1000000),
	                           j->opt->hostname, c.octets, c.vsize) < 0) {
		unlinkat(j->tmpfd, s->tmp_name, 0);
		return fail(j, JOB_FATAL, "file name too long (hostname)");
	}
	return JOB_OK;
}

int job_take(struct folder_job *j, uint32_t uid, const char *stored, const char *saved_uidl,
             const char *position)
{
	struct staged *s = &j->batch[j->n];
	import_report_progress(j->r, ++j->handled);
	if (uid != 0 && uid < j->imp.mb.uidnext) {
		j->r->already++;   /* an earlier run's */
		return JOB_OK;
	}
	int rc = copy_one(j, stored, s);
	if (rc != JOB_OK)
		return rc == JOB_FOLDER_FAILED ? JOB_OK : rc;
	s->uid = uid != 0 ? uid : j->next_uid++;
	take_flags(j, stored, s);
	take_uidl(j, s, saved_uidl, stored);
	j->batch_octets += s->octets;
	/* a batch is also bounded in octets: tmp/ space, one syncfs, and the
	 * time the import goes without renewing its hold on the mailbox */
	if (++j->n == j->opt->batch || j->batch_octets >= IMPORT_BATCH_OCTETS)
		return job_flush(j, position);
	return JOB_OK;
}

static void job_close(struct folder_job *j)
{
	if (j->tmpfd >= 0)
		drop_staged(j);
	if (j->uidlist_fd >= 0) {
		lines_free(&j->uidlist);
		close(j->uidlist_fd);
	}
	int fds[] = { j->srcfd, j->curfd, j->newfd, j->tmpfd };
	for (size_t i = 0; i < ARRAY_LEN(fds); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	scratch_map_free(j->files);
	free(j->batch);
	free(j->msgs);
}

static const char *how_text(const struct folder_job *j)
{
	switch (j->imp.how) {
	case MBOX_IMPORT_CREATED: return "new";
	case MBOX_IMPORT_ADOPTED: return "was empty";
	default: return "resumed";
	}
}

int import_folder(struct mbox_store *ms, int rootfd, const char *root_path, const char *user,
                  const struct import_folder *f, const struct import_options *opt,
                  struct import_report *r, char *err, size_t errlen)
{
	struct folder_job j = { .ms = ms, .opt = opt, .r = r, .f = f, .srcfd = -1, .curfd = -1,
	                        .newfd = -1, .tmpfd = -1, .uidlist_fd = -1, .err = err,
	                        .errlen = errlen, .is_inbox = strcmp(f->name, "INBOX") == 0 };
	unsigned long long before = r->messages;
	snprintf(j.path, sizeof(j.path), "%s%s%s", root_path, f->rel[0] ? "/" : "", f->rel);
	j.batch = xcalloc(opt->batch, sizeof(*j.batch));
	j.msgs = xcalloc(opt->batch, sizeof(*j.msgs));
	int rc = open_source(&j, rootfd);
	if (rc == JOB_OK)
		rc = open_target(&j);
	if (rc == JOB_OK)
		rc = list_source(&j);
	if (rc == JOB_OK) {
		import_report_folder(r, user, f->name, (unsigned long long)scratch_map_count(j.files));
		rc = j.have_uidlist ? import_in_uidlist_order(&j) : import_in_file_order(&j);
	}
	if (rc == JOB_OK && mbox_import_finish(ms, &j.imp, import_final_uidnext(&j)) != MBOX_OK)
		rc = fail(&j, JOB_FATAL, "the mailbox index failed");
	else if (rc != JOB_OK && j.begun)
		mbox_import_abandon(ms, &j.imp);
	if (rc == JOB_OK) {
		r->folders++;
		import_report_say(r, "%s: %s: %llu message%s imported (%s; UIDVALIDITY %u, UIDNEXT %u)",
		                  user, f->name, r->messages - before,
		                  r->messages - before == 1 ? "" : "s", how_text(&j),
		                  j.imp.mb.uidvalidity, j.imp.mb.uidnext);
	} else if (rc == JOB_FOLDER_FAILED) {
		r->folders_failed++;
	}
	job_close(&j);
	return rc;
}
