/* Mailbox index: keeping it in step with the Maildir, and message operations. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"
#include "store/maildir.h"
#include "store/mbox_int.h"

/* ---- directory entries ------------------------------------------------------ */

struct entry {
	char *base;             /* the unique part of the name, before ":2," */
	char *info;             /* the flag letters after ":2," ("" if none) */
	char *name;             /* the full file name */
};

struct entries {
	struct entry *e;
	size_t n, cap;
};

static void entries_add(struct entries *es, const char *name)
{
	if (es->n == es->cap) {
		es->cap = es->cap ? es->cap * 2 : 256;
		es->e = xrealloc(es->e, es->cap * sizeof(struct entry));
	}
	struct entry *e = &es->e[es->n++];
	const char *colon = strstr(name, ":2,");
	e->name = xstrdup(name);
	e->base = colon ? strndup(name, (size_t)(colon - name)) : xstrdup(name);
	e->info = xstrdup(colon ? colon + 3 : "");
}

static void entries_free(struct entries *es)
{
	for (size_t i = 0; i < es->n; i++) {
		free(es->e[i].base);
		free(es->e[i].info);
		free(es->e[i].name);
	}
	free(es->e);
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->base, ((const struct entry *)b)->base);
}

void mbox_unlink_all(const char *dir)
{
	DIR *d = opendir(dir);
	char path[4400];
	if (d == NULL)
		return;
	for (struct dirent *de; (de = readdir(d)) != NULL;) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
}

/* new/ holds mail nobody has seen: move it to cur/ with an empty info part;
 * their names go to moved (sorted). */
static void move_new_to_cur(const char *dir, struct entries *moved)
{
	char newdir[4200], from[4500], to[4500];
	snprintf(newdir, sizeof(newdir), "%s/new", dir);
	DIR *d = opendir(newdir);
	if (d == NULL)
		return;
	for (struct dirent *de; (de = readdir(d)) != NULL;) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(from, sizeof(from), "%s/%s", newdir, de->d_name);
		snprintf(to, sizeof(to), "%s/cur/%s%s", dir, de->d_name,
		         strstr(de->d_name, ":2,") ? "" : ":2,");
		if (rename(from, to) == 0)
			entries_add(moved, de->d_name);
	}
	closedir(d);
	if (moved->n > 0)
		qsort(moved->e, moved->n, sizeof(struct entry), cmp_entry);
}

static bool in_entries(const struct entries *es, const struct entry *e)
{
	return es->n > 0 && bsearch(e, es->e, es->n, sizeof(struct entry), cmp_entry) != NULL;
}

static int read_cur(const char *dir, struct entries *es)
{
	char curdir[4200];
	snprintf(curdir, sizeof(curdir), "%s/cur", dir);
	DIR *d = opendir(curdir);
	if (d == NULL)
		return -1;
	for (struct dirent *de; (de = readdir(d)) != NULL;)
		if (de->d_name[0] != '.')
			entries_add(es, de->d_name);
	closedir(d);
	if (es->n > 0)
		qsort(es->e, es->n, sizeof(struct entry), cmp_entry);
	return 0;
}

long long mbox_mtime_ns(const char *dir, const char *sub)
{
	char path[4200];
	struct stat sb;
	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	if (stat(path, &sb) < 0)
		return -1;
	return (long long)sb.st_mtim.tv_sec * 1000000000LL + sb.st_mtim.tv_nsec;
}

/* ---- new messages ---------------------------------------------------------- */

/* RFC822.SIZE: the ",W=" of the name when there is one, else count the file. */
static uint64_t message_size(const char *path, const char *base)
{
	const char *w = strstr(base, ",W=");
	if (w != NULL)
		return strtoull(w + 3, NULL, 10);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	char buf[65536];
	uint64_t size = 0;
	ssize_t n;
	bool cr = false;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n' && !cr)
				size++;          /* a bare LF is sent as CRLF */
			cr = buf[i] == '\r';
		}
		size += (uint64_t)n;
	}
	close(fd);
	return size;
}

static long long message_date(const char *path, const char *base)
{
	struct stat sb;
	char *end;
	long long t = strtoll(base, &end, 10);
	/* deliveries name the file after their time; others: the file's mtime */
	if (end != base && *end == '.' && t > 0)
		return t;
	return stat(path, &sb) == 0 ? (long long)sb.st_mtime : 0;
}

static int insert_message(struct mbox_store *ms, struct mbox_info *mb, const char *dir,
                          const struct entry *e)
{
	char path[4500], keywords[MBOX_KEYWORDS_MAX + 1];
	sqlite3_stmt *s;
	snprintf(path, sizeof(path), "%s/cur/%s", dir, e->name);
	/* keywords come back from the letters (an index rebuilt, a Maildir
	 * written by Dovecot) */
	mbox_keywords_from_info(ms, dir, e->info, keywords, sizeof(keywords));
	if (sqlite3_prepare_v2(ms->db, "INSERT INTO messages(mailbox_id, uid, base, flags, "
	                       "internaldate, size, modseq, keywords) "
	                       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", -1, &s, NULL) != SQLITE_OK)
		return MBOX_ERROR;
	sqlite3_bind_int64(s, 1, mb->id);
	sqlite3_bind_int64(s, 2, mb->uidnext);
	sqlite3_bind_text(s, 3, e->base, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 4, (int)mbox_flags_from_maildir(e->info));
	sqlite3_bind_int64(s, 5, message_date(path, e->base));
	sqlite3_bind_int64(s, 6, (sqlite3_int64)message_size(path, e->base));
	sqlite3_bind_int64(s, 7, (sqlite3_int64)mb->highestmodseq);
	sqlite3_bind_text(s, 8, keywords, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE || mbox_note_keywords(ms, mb->id, keywords) != MBOX_OK)
		return MBOX_ERROR;
	mb->uidnext++;
	return MBOX_OK;
}

/* ---- the sync itself ---------------------------------------------------------- */

struct row {
	uint32_t uid;
	char *base;
	uint32_t flags;
};

static int load_rows(struct mbox_store *ms, long long id, struct row **rows, size_t *n)
{
	sqlite3_stmt *s;
	size_t cap = 0;
	*rows = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(ms->db, "SELECT uid, base, flags FROM messages WHERE mailbox_id = ?1 "
	                       "ORDER BY base", -1, &s, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	while (sqlite3_step(s) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 256;
			*rows = xrealloc(*rows, cap * sizeof(struct row));
		}
		(*rows)[*n].uid = (uint32_t)sqlite3_column_int64(s, 0);
		(*rows)[*n].base = xstrdup((const char *)sqlite3_column_text(s, 1));
		(*rows)[*n].flags = (uint32_t)sqlite3_column_int(s, 2);
		(*n)++;
	}
	sqlite3_finalize(s);
	return 0;
}

static int exec_uid(struct mbox_store *ms, const char *sql, long long id, uint32_t uid, long long v)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(ms->db, sql, -1, &s, NULL) != SQLITE_OK)
		return MBOX_ERROR;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, uid);
	sqlite3_bind_int64(s, 3, v);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? MBOX_OK : MBOX_ERROR;
}

/* Merges the sorted directory listing with the sorted index rows. The
 * first sync of a mailbox (an index rebuilt from the files) takes the
 * messages already in cur/ for old: \Recent are those still in new/
 * (from_new), as Dovecot decides. */
static int merge(struct mbox_store *ms, struct mbox_info *mb, const char *dir,
                 struct entries *es, struct row *rows, size_t nrows,
                 const struct entries *from_new, bool *changed)
{
	bool first_sync = mb->uidnext == 1;
	size_t i = 0, j = 0;
	uint64_t modseq = mb->highestmodseq + 1;
	struct entries fresh = { 0 };
	while (i < es->n || j < nrows) {
		int c = i == es->n ? 1 : j == nrows ? -1 : strcmp(es->e[i].base, rows[j].base);
		if (c < 0) {                    /* a file the index does not know */
			/* unless an import put it there and records it with its batch
			 * (or left it, killed, for its next run to remove) */
			if (!mbox_import_pending(ms, mb->id, es->e[i].base))
				entries_add(&fresh, es->e[i].name);
			i++;
		} else if (c > 0) {             /* a row whose file is gone */
			if (exec_uid(ms, "DELETE FROM messages WHERE mailbox_id = ?1 AND uid = ?2 AND ?3 = ?3",
			             mb->id, rows[j].uid, 0) != MBOX_OK ||
			    exec_uid(ms, "INSERT INTO expunged(mailbox_id, uid, modseq) VALUES (?1, ?2, ?3)",
			             mb->id, rows[j].uid, (long long)modseq) != MBOX_OK)
				goto fail;
			*changed = true;
			j++;
		} else {
			uint32_t f = mbox_flags_from_maildir(es->e[i].info);
			/* system flags changed on disk by someone else */
			if (f != rows[j].flags) {
				sqlite3_stmt *s;
				if (sqlite3_prepare_v2(ms->db, "UPDATE messages SET flags = ?3, modseq = ?4 "
				                       "WHERE mailbox_id = ?1 AND uid = ?2", -1, &s, NULL) != SQLITE_OK)
					goto fail;
				sqlite3_bind_int64(s, 1, mb->id);
				sqlite3_bind_int64(s, 2, rows[j].uid);
				sqlite3_bind_int(s, 3, (int)f);
				sqlite3_bind_int64(s, 4, (long long)modseq);
				int rc = sqlite3_step(s);
				sqlite3_finalize(s);
				if (rc != SQLITE_DONE)
					goto fail;
				*changed = true;
			}
			i++;
			j++;
		}
	}
	/* new files get UIDs in delivery order: their names start with the time */
	if (fresh.n > 0)
		qsort(fresh.e, fresh.n, sizeof(struct entry), cmp_entry);
	mb->highestmodseq = modseq;
	for (size_t k = 0; k < fresh.n; k++) {
		if (first_sync && !in_entries(from_new, &fresh.e[k]) && mb->recent_uid < mb->uidnext)
			mb->recent_uid = mb->uidnext;   /* the UID it gets: old */
		if (insert_message(ms, mb, dir, &fresh.e[k]) != MBOX_OK)
			goto fail;
		*changed = true;
	}
	if (!*changed)
		mb->highestmodseq = modseq - 1;
	entries_free(&fresh);
	return MBOX_OK;
fail:
	entries_free(&fresh);
	return MBOX_ERROR;
}

static int save_state(struct mbox_store *ms, struct mbox_info *mb, long long mt_new, long long mt_cur)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(ms->db, "UPDATE mailboxes SET uidnext = ?2, highestmodseq = ?3, "
	                       "mtime_new = ?4, mtime_cur = ?5, recent_uid = max(recent_uid, ?6) "
	                       "WHERE id = ?1", -1, &s, NULL) != SQLITE_OK)
		return MBOX_ERROR;
	sqlite3_bind_int64(s, 1, mb->id);
	sqlite3_bind_int64(s, 2, mb->uidnext);
	sqlite3_bind_int64(s, 3, (long long)mb->highestmodseq);
	sqlite3_bind_int64(s, 4, mt_new);
	sqlite3_bind_int64(s, 5, mt_cur);
	sqlite3_bind_int64(s, 6, mb->recent_uid);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? MBOX_OK : MBOX_ERROR;
}

static const char unchanged_sql[] =
	"SELECT mtime_new, mtime_cur, uidvalidity, uidnext, highestmodseq, " MBOX_SUBSCRIBED_SQL ", "
	"name, recent_uid FROM mailboxes WHERE id = ?1";

/* The common case in one query: nothing on disk moved since the last sync.
 * Then mb is refreshed from the same row (what mbox_refresh would read). */
static bool refresh_if_unchanged(struct mbox_store *ms, struct mbox_info *mb,
                                 long long mt_new, long long mt_cur)
{
	sqlite3_stmt *s = mbox_stmt(ms, unchanged_sql);
	bool same = false;
	if (s == NULL)
		return false;
	sqlite3_bind_int64(s, 1, mb->id);
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_int64(s, 0) == mt_new &&
	    sqlite3_column_int64(s, 1) == mt_cur) {
		same = true;
		mb->uidvalidity = (uint32_t)sqlite3_column_int64(s, 2);
		mb->uidnext = (uint32_t)sqlite3_column_int64(s, 3);
		mb->highestmodseq = (uint64_t)sqlite3_column_int64(s, 4);
		mb->subscribed = sqlite3_column_int(s, 5) != 0;
		str_copy(mb->name, sizeof(mb->name), (const char *)sqlite3_column_text(s, 6));
		mb->recent_uid = (uint32_t)sqlite3_column_int64(s, 7);
	}
	mbox_stmt_done(s);
	return same;
}

int mbox_sync(struct mbox_store *ms, struct mbox_info *mb)
{
	char dir[4096];
	struct entries es = { 0 }, from_new = { 0 };
	struct row *rows = NULL;
	size_t nrows = 0;
	bool changed = false, took_new = false;
	int rc = MBOX_ERROR;
	if (mbox_dir(ms, mb->name, dir, sizeof(dir)) < 0)
		return MBOX_ERROR;
	long long mt_new = mbox_mtime_ns(dir, "new"), mt_cur = mbox_mtime_ns(dir, "cur");
	if (mt_new < 0 || mt_cur < 0) {
		/* gone from where we knew it: renamed or deleted by another session? */
		int rc_refresh = mbox_refresh(ms, mb);
		if (rc_refresh != MBOX_OK)
			return rc_refresh;
		if (mbox_dir(ms, mb->name, dir, sizeof(dir)) < 0)
			return MBOX_ERROR;
		mt_new = mbox_mtime_ns(dir, "new");
		mt_cur = mbox_mtime_ns(dir, "cur");
	}
	/* the common case, checked without the write lock: nothing on disk moved
	 * (other sessions' flag changes still show in the refreshed modseq) */
	if (mt_new >= 0 && mt_cur >= 0 && refresh_if_unchanged(ms, mb, mt_new, mt_cur))
		return MBOX_OK;
	/* an import is giving out UIDs: what changed on disk (new mail above
	 * all) waits until it ends; the stored times stay old, so the first
	 * sync after it looks */
	if (mbox_import_holds(ms, mb->id))
		return mbox_refresh(ms, mb);
	/* the write lock first: two sessions syncing at once would both assign UIDs */
	if (sqlite3_exec(ms->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return MBOX_ERROR;
	mbox_usage_begin(ms);
	if (mbox_refresh(ms, mb) != MBOX_OK || mbox_dir(ms, mb->name, dir, sizeof(dir)) < 0)
		goto out;   /* (the name again: it may have been renamed while we waited) */
	if (mbox_import_holds(ms, mb->id)) {
		rc = MBOX_OK;   /* (one began while we waited for the lock) */
		goto out;
	}
	mt_new = mbox_mtime_ns(dir, "new");
	mt_cur = mbox_mtime_ns(dir, "cur");
	if (mt_new >= 0 && mt_cur >= 0 && refresh_if_unchanged(ms, mb, mt_new, mt_cur)) {
		rc = MBOX_OK;   /* someone synced it while we waited for the lock */
		goto out;
	}
	/* deliveries go to INBOX's new/: the quota's count of those made so far
	 * is read now, under the lock and before new/ is (src/store/quota.h) */
	took_new = strcmp(mb->name, "INBOX") == 0;
	if (took_new)
		mbox_usage_taking_new(ms);
	move_new_to_cur(dir, &from_new);
	/* read the times after moving: our own renames must not look like news */
	mt_new = mbox_mtime_ns(dir, "new");
	mt_cur = mbox_mtime_ns(dir, "cur");
	if (read_cur(dir, &es) < 0 || load_rows(ms, mb->id, &rows, &nrows) < 0)
		goto out;
	if (merge(ms, mb, dir, &es, rows, nrows, &from_new, &changed) != MBOX_OK ||
	    save_state(ms, mb, mt_new, mt_cur) != MBOX_OK)
		goto out;
	rc = MBOX_OK;
out:
	if (rc == MBOX_OK)
		mbox_usage_end(ms, took_new);
	sqlite3_exec(ms->db, rc == MBOX_OK ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
	entries_free(&es);
	entries_free(&from_new);
	for (size_t i = 0; i < nrows; i++)
		free(rows[i].base);
	free(rows);
	if (rc == MBOX_OK)
		mbox_refresh(ms, mb);
	return rc;
}

void mbox_note_own_change(struct mbox_store *ms, const struct mbox_info *mb, long long before)
{
	char dir[4096];
	if (before < 0 || mbox_dir(ms, mb->name, dir, sizeof(dir)) < 0)
		return;
	long long after = mbox_mtime_ns(dir, "cur");
	sqlite3_stmt *s = mbox_stmt(ms, "UPDATE mailboxes SET mtime_cur = ?3 WHERE id = ?1 AND "
	                                "mtime_cur = ?2");
	if (s == NULL)
		return;
	sqlite3_bind_int64(s, 1, mb->id);
	sqlite3_bind_int64(s, 2, before);
	sqlite3_bind_int64(s, 3, after);
	sqlite3_step(s);
	mbox_stmt_done(s);
}

int mbox_discover_folders(struct mbox_store *ms)
{
	DIR *d = opendir(ms->root);
	if (d == NULL)
		return MBOX_ERROR;
	for (struct dirent *de; (de = readdir(d)) != NULL;) {
		char name[MBOX_NAME_MAX + 1];
		struct mbox_info mb;
		/* Maildir++ folders are ".Name" directories; "." and ".." are not */
		if (de->d_name[0] != '.' || de->d_name[1] == '\0' || strcmp(de->d_name, "..") == 0 ||
		    strncmp(de->d_name, ".postern", 8) == 0 ||
		    (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
			continue;
		str_copy(name, sizeof(name), de->d_name + 1);
		for (char *p = name; *p; p++)
			if (*p == '.')
				*p = '/';
		if (mbox_name_valid(name) && mbox_find(ms, name, &mb) == MBOX_NOT_FOUND &&
		    mbox_create(ms, name, NULL) == MBOX_OK)
			mbox_subscribe(ms, name, true);
	}
	closedir(d);
	return MBOX_OK;
}
