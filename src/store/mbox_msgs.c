/* Mailbox index: reading and changing messages. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"
#include "store/mbox_int.h"

#define MSG_COLUMNS "uid, flags, keywords, internaldate, size, modseq, base, pop3_uidl"

/* The file of base in dir/cur by its name alone, whatever its info part
 * (another program renamed it: other flags). */
static int find_in_cur(const char *dir, const char *base, char *out, size_t outlen)
{
	char curdir[4200];
	snprintf(curdir, sizeof(curdir), "%s/cur", dir);
	DIR *d = opendir(curdir);
	size_t blen = strlen(base);
	int rc = -1;
	if (d == NULL)
		return -1;
	for (struct dirent *de; (de = readdir(d)) != NULL;) {
		if (strncmp(de->d_name, base, blen) == 0 && (de->d_name[blen] == ':' || de->d_name[blen] == '\0')) {
			rc = bsnprintf(out, outlen, "%s/%s", curdir, de->d_name) < 0 ? -1 : 0;
			break;
		}
	}
	closedir(d);
	return rc;
}

/* The file of a message: cur/<base>:2,<flags>, else found by its base name
 * (renamed since, or it has keyword letters too). */
int mbox_locate_file(const char *root, const char *mailbox, const char *base, uint32_t flags,
                     char *out, size_t outlen)
{
	char dir[4096], letters[8];
	if (mbox_dir_at(root, mailbox, dir, sizeof(dir)) < 0)
		return -1;
	mbox_flags_to_maildir(flags, letters, sizeof(letters));
	if (bsnprintf(out, outlen, "%s/cur/%s:2,%s", dir, base, letters) == 0 && access(out, F_OK) == 0)
		return 0;
	return find_in_cur(dir, base, out, outlen);
}

static void read_msg(sqlite3_stmt *s, struct mbox_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->uid = (uint32_t)sqlite3_column_int64(s, 0);
	m->flags = (uint32_t)sqlite3_column_int(s, 1);
	str_copy(m->keywords, sizeof(m->keywords), (const char *)sqlite3_column_text(s, 2));
	m->internaldate = sqlite3_column_int64(s, 3);
	m->size = (uint64_t)sqlite3_column_int64(s, 4);
	m->modseq = (uint64_t)sqlite3_column_int64(s, 5);
	str_copy(m->base, sizeof(m->base), (const char *)sqlite3_column_text(s, 6));
	if (sqlite3_column_type(s, 7) == SQLITE_TEXT)
		str_copy(m->pop3_uidl, sizeof(m->pop3_uidl), (const char *)sqlite3_column_text(s, 7));
}

bool mbox_pop3_uidl_valid(const char *uidl)
{
	size_t n = strlen(uidl);
	if (n == 0 || n > MBOX_POP3_UIDL_MAX)
		return false;
	for (const char *p = uidl; *p; p++)   /* RFC 1939 7: 0x21 to 0x7E */
		if (*p < 0x21 || *p > 0x7e)
			return false;
	return true;
}

int mbox_set_pop3_uidl(struct mbox_store *ms, const struct mbox_info *mb, uint32_t uid,
                       const char *uidl)
{
	if (!mbox_pop3_uidl_valid(uidl))
		return MBOX_INVALID;
	sqlite3_stmt *s = mbox_stmt(ms, "UPDATE messages SET pop3_uidl = ?3 "
	                                "WHERE mailbox_id = ?1 AND uid = ?2");
	if (s == NULL)
		return MBOX_ERROR;
	sqlite3_bind_int64(s, 1, mb->id);
	sqlite3_bind_int64(s, 2, uid);
	sqlite3_bind_text(s, 3, uidl, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(s);
	int changed = sqlite3_changes(ms->db);
	mbox_stmt_done(s);
	if (rc != SQLITE_DONE)
		return MBOX_ERROR;
	return changed == 1 ? MBOX_OK : MBOX_NOT_FOUND;
}

int mbox_locate(struct mbox_store *ms, const struct mbox_info *mb, struct mbox_msg *m)
{
	char dir[4096], info[MBOX_INFO_MAX];
	/* the name its flags and keyword letters give it, else by base name */
	if (mbox_dir(ms, mb->name, dir, sizeof(dir)) < 0)
		return -1;
	if (mbox_maildir_info(ms, dir, m->flags, m->keywords, false, info, sizeof(info)) == 0 &&
	    bsnprintf(m->path, sizeof(m->path), "%s/cur/%s:2,%s", dir, m->base, info) == 0 &&
	    access(m->path, F_OK) == 0)
		return 0;
	return find_in_cur(dir, m->base, m->path, sizeof(m->path));
}

/* mbox_get and the path: what changing or removing a message needs. */
static int get_with_path(struct mbox_store *ms, const struct mbox_info *mb, uint32_t uid,
                         struct mbox_msg *m)
{
	int rc = mbox_get(ms, mb, uid, m);
	if (rc == MBOX_OK && mbox_locate(ms, mb, m) < 0)
		return MBOX_NOT_FOUND;
	return rc;
}

static int iterate(struct mbox_store *ms, const struct mbox_info *mb, const char *sql,
                   long long arg, mbox_msg_cb cb, void *cbarg)
{
	sqlite3_stmt *s = mbox_stmt(ms, sql);
	struct mbox_msg m;
	int rc;
	if (s == NULL)
		return MBOX_ERROR;
	sqlite3_bind_int64(s, 1, mb->id);
	sqlite3_bind_int64(s, 2, arg);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		read_msg(s, &m);
		cb(cbarg, &m);
	}
	mbox_stmt_done(s);
	return rc == SQLITE_DONE ? MBOX_OK : MBOX_ERROR;
}

int mbox_messages(struct mbox_store *ms, const struct mbox_info *mb, uint32_t from_uid,
                  mbox_msg_cb cb, void *arg)
{
	return iterate(ms, mb, "SELECT " MSG_COLUMNS " FROM messages WHERE mailbox_id = ?1 AND "
	               "uid >= ?2 ORDER BY uid", from_uid, cb, arg);
}

static const char uid_flags_sql[] =
	"SELECT uid, flags FROM messages WHERE mailbox_id = ?1 ORDER BY uid";

int mbox_uid_flags(struct mbox_store *ms, const struct mbox_info *mb,
                   void (*cb)(void *arg, uint32_t uid, uint32_t flags), void *arg)
{
	sqlite3_stmt *s = mbox_stmt(ms, uid_flags_sql);
	int rc;
	if (s == NULL)
		return MBOX_ERROR;
	sqlite3_bind_int64(s, 1, mb->id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		cb(arg, (uint32_t)sqlite3_column_int64(s, 0), (uint32_t)sqlite3_column_int64(s, 1));
	mbox_stmt_done(s);
	return rc == SQLITE_DONE ? MBOX_OK : MBOX_ERROR;
}

int mbox_changed_since(struct mbox_store *ms, const struct mbox_info *mb, uint64_t modseq,
                       mbox_msg_cb cb, void *arg)
{
	return iterate(ms, mb, "SELECT " MSG_COLUMNS " FROM messages WHERE mailbox_id = ?1 AND "
	               "modseq > ?2 ORDER BY uid", (long long)modseq, cb, arg);
}

int mbox_expunged_since(struct mbox_store *ms, const struct mbox_info *mb, uint64_t modseq,
                        void (*cb)(void *arg, uint32_t uid), void *arg)
{
	sqlite3_stmt *s = mbox_stmt(ms, "SELECT uid FROM expunged WHERE mailbox_id = ?1 AND "
	                                "modseq > ?2 ORDER BY uid");
	int rc;
	if (s == NULL)
		return MBOX_ERROR;
	sqlite3_bind_int64(s, 1, mb->id);
	sqlite3_bind_int64(s, 2, (long long)modseq);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		cb(arg, (uint32_t)sqlite3_column_int64(s, 0));
	mbox_stmt_done(s);
	return rc == SQLITE_DONE ? MBOX_OK : MBOX_ERROR;
}

int mbox_count_recent(struct mbox_store *ms, const struct mbox_info *mb, uint32_t *n)
{
	sqlite3_stmt *s = mbox_stmt(ms, "SELECT count(*) FROM messages WHERE mailbox_id = ?1 AND "
	                                "uid > ?2");
	if (s == NULL)
		return MBOX_ERROR;
	sqlite3_bind_int64(s, 1, mb->id);
	sqlite3_bind_int64(s, 2, mb->recent_uid);
	int rc = mbox_row_result(sqlite3_step(s));
	*n = rc == MBOX_OK ? (uint32_t)sqlite3_column_int64(s, 0) : 0;
	mbox_stmt_done(s);
	return rc;
}

int mbox_count_deleted(struct mbox_store *ms, const struct mbox_info *mb, uint32_t *n)
{
	sqlite3_stmt *s = mbox_stmt(ms, "SELECT count(*) FROM messages WHERE mailbox_id = ?1 AND "
	                                "flags & 8 != 0");
	if (s == NULL)
		return MBOX_ERROR;
	sqlite3_bind_int64(s, 1, mb->id);
	int rc = mbox_row_result(sqlite3_step(s));
	*n = rc == MBOX_OK ? (uint32_t)sqlite3_column_int64(s, 0) : 0;
	mbox_stmt_done(s);
	return rc;
}

int mbox_deleted_size(struct mbox_store *ms, const struct mbox_info *mb, uint64_t *octets)
{
	/* messages_view (mailbox_id, uid, flags, size) covers it: no wide rows read */
	sqlite3_stmt *s = mbox_stmt(ms, "SELECT coalesce(sum(size), 0) FROM messages "
	                                "WHERE mailbox_id = ?1 AND flags & 8 != 0");
	if (s == NULL)
		return MBOX_ERROR;
	sqlite3_bind_int64(s, 1, mb->id);
	int rc = mbox_row_result(sqlite3_step(s));
	*octets = rc == MBOX_OK ? (uint64_t)sqlite3_column_int64(s, 0) : 0;
	mbox_stmt_done(s);
	return rc;
}

static const char get_sql[] =
	"SELECT " MSG_COLUMNS " FROM messages WHERE mailbox_id = ?1 AND uid = ?2";

int mbox_get(struct mbox_store *ms, const struct mbox_info *mb, uint32_t uid, struct mbox_msg *out)
{
	sqlite3_stmt *s = mbox_stmt(ms, get_sql);
	if (s == NULL)
		return MBOX_ERROR;
	sqlite3_bind_int64(s, 1, mb->id);
	sqlite3_bind_int64(s, 2, uid);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		read_msg(s, out);
	mbox_stmt_done(s);
	return mbox_row_result(rc);
}

static long long cur_mtime(const struct mbox_store *ms, const struct mbox_info *mb)
{
	char dir[4096];
	return mbox_dir(ms, mb->name, dir, sizeof(dir)) < 0 ? -1 : mbox_mtime_ns(dir, "cur");
}

/* A change gets the mailbox's next modseq (RFC 7162 3.1). */
static uint64_t next_modseq(struct mbox_store *ms, struct mbox_info *mb)
{
	uint64_t v = mb->highestmodseq + 1;
	sqlite3_stmt *s = mbox_stmt(ms, "UPDATE mailboxes SET highestmodseq = highestmodseq + 1 "
	                                "WHERE id = ?1 RETURNING highestmodseq");
	if (s != NULL) {
		sqlite3_bind_int64(s, 1, mb->id);
		if (sqlite3_step(s) == SQLITE_ROW)
			v = (uint64_t)sqlite3_column_int64(s, 0);
		mbox_stmt_done(s);
	}
	mb->highestmodseq = v;
	return v;
}

static char *base_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *name = slash ? slash + 1 : path;
	const char *colon = strstr(name, ":2,");
	return colon ? strndup(name, (size_t)(colon - name)) : xstrdup(name);
}

/* A change and its new modseq commit together: a session on another worker
 * must never see the new HIGHESTMODSEQ without the change behind it. */
static bool run(struct mbox_store *ms, const char *sql)
{
	sqlite3_stmt *s = mbox_stmt(ms, sql);
	if (s == NULL)
		return false;
	int rc = sqlite3_step(s);
	mbox_stmt_done(s);
	return rc == SQLITE_DONE;
}

void mbox_read_begin(struct mbox_store *ms)
{
	ms->read_batch = run(ms, "BEGIN");
}

static int write_cache_row(struct mbox_store *ms, long long mailbox_id, uint32_t uid,
                           const char *envelope, const char *bodystructure, const char *body)
{
	sqlite3_stmt *s = mbox_stmt(ms, "UPDATE messages SET envelope = ?3, bodystructure = ?4, "
	                                "body = ?5 WHERE mailbox_id = ?1 AND uid = ?2");
	if (s == NULL)
		return MBOX_ERROR;
	sqlite3_bind_int64(s, 1, mailbox_id);
	sqlite3_bind_int64(s, 2, uid);
	sqlite3_bind_text(s, 3, envelope, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, bodystructure, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, body, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	mbox_stmt_done(s);
	return rc == SQLITE_DONE ? MBOX_OK : MBOX_ERROR;
}

/* The cache rows a read batch made, in one write transaction of their own. */
static void flush_pending(struct mbox_store *ms)
{
	if (ms->npending == 0)
		return;
	bool tx = run(ms, "BEGIN IMMEDIATE");
	for (size_t i = 0; i < ms->npending; i++) {
		struct mbox_pending_cache *p = &ms->pending[i];
		if (tx)
			write_cache_row(ms, p->mailbox_id, p->uid, p->envelope, p->bodystructure, p->body);
		free(p->envelope);
		free(p->bodystructure);
		free(p->body);
	}
	ms->npending = 0;
	if (tx && !run(ms, "COMMIT"))
		run(ms, "ROLLBACK");
}

void mbox_read_end(struct mbox_store *ms)
{
	if (!sqlite3_get_autocommit(ms->db) && !run(ms, "COMMIT"))
		run(ms, "ROLLBACK");   /* never leave a snapshot behind */
	ms->read_batch = false;
	flush_pending(ms);
}

static bool tx_begin(struct mbox_store *ms)
{
	if (!run(ms, "BEGIN IMMEDIATE"))
		return false;
	mbox_usage_begin(ms);
	return true;
}

static int tx_end(struct mbox_store *ms, int rc)
{
	if (rc == MBOX_OK)
		mbox_usage_end(ms, false);
	if (!run(ms, rc == MBOX_OK ? "COMMIT" : "ROLLBACK") && rc == MBOX_OK) {
		run(ms, "ROLLBACK");
		return MBOX_ERROR;
	}
	return rc;
}

/* Runs a (cached) statement binding mailbox id, uid and up to two
 * more values (text, then integer); MBOX_OK when it ran to the end. */
static int exec_msg(struct mbox_store *ms, const char *sql, const struct mbox_info *mb,
                    uint32_t uid, long long v3, const char *t4, long long v5)
{
	sqlite3_stmt *s = mbox_stmt(ms, sql);
	if (s == NULL)
		return MBOX_ERROR;
	sqlite3_bind_int64(s, 1, mb->id);
	sqlite3_bind_int64(s, 2, uid);
	if (sqlite3_bind_parameter_count(s) >= 3)
		sqlite3_bind_int64(s, 3, v3);
	if (sqlite3_bind_parameter_count(s) >= 4)
		sqlite3_bind_text(s, 4, t4 ? t4 : "", -1, SQLITE_STATIC);
	if (sqlite3_bind_parameter_count(s) >= 5)
		sqlite3_bind_int64(s, 5, v5);
	int rc = sqlite3_step(s);
	mbox_stmt_done(s);
	return rc == SQLITE_DONE ? MBOX_OK : MBOX_ERROR;
}

/* File operations in cur/ run under the index's write lock, like a sync's
 * reading of cur/: a sync on another worker must never list a directory
 * while a message is between two names (it would see the file twice, or
 * not at all and take it for expunged), nor find a file whose row is not
 * written yet. */
/* The write lock, and the mailbox as it is now: a session on another
 * worker may have renamed it (its files moved with it). */
static bool tx_begin_on(struct mbox_store *ms, struct mbox_info *mb)
{
	if (!tx_begin(ms))
		return false;
	if (mbox_refresh(ms, mb) == MBOX_OK)
		return true;
	tx_end(ms, MBOX_ERROR);
	return false;
}

int mbox_update_flags(struct mbox_store *ms, struct mbox_info *mb, uint32_t uid,
                      mbox_flags_fn decide, void *arg, struct mbox_msg *result)
{
	struct mbox_msg m;
	char dir[4096], info[MBOX_INFO_MAX], to[4500], keywords[MBOX_KEYWORDS_MAX + 1];
	if (!tx_begin_on(ms, mb))
		return MBOX_ERROR;
	int rc = get_with_path(ms, mb, uid, &m);
	if (rc != MBOX_OK)
		return tx_end(ms, rc);
	/* decided on the row as it is under the lock: two sessions adding
	 * different flags at once both keep theirs (RFC 7162 3.1.3 too) */
	uint32_t flags = m.flags;
	str_copy(keywords, sizeof(keywords), m.keywords);
	int verdict = decide(arg, &m, &flags, keywords);
	if (result)
		*result = m;
	if (verdict < 0 || (flags == m.flags && strcmp(keywords, m.keywords) == 0))
		return tx_end(ms, verdict < 0 ? MBOX_CONFLICT : MBOX_UNCHANGED);
	/* flags and keywords live in the file name too (the keywords as
	 * dovecot-keywords letters), so a rebuilt index keeps them */
	if (mbox_dir(ms, mb->name, dir, sizeof(dir)) < 0 ||
	    mbox_maildir_info(ms, dir, flags, keywords, true, info, sizeof(info)) < 0)
		return tx_end(ms, MBOX_ERROR);
	const char *now_info = strstr(strrchr(m.path, '/'), ":2,");
	bool renamed = false;
	if (now_info == NULL || strcmp(now_info + 3, info) != 0) {
		char *base = base_of(m.path);
		long long before = cur_mtime(ms, mb);
		if (bsnprintf(to, sizeof(to), "%s/cur/%s:2,%s", dir, base, info) < 0 ||
		    rename(m.path, to) < 0) {
			free(base);
			return tx_end(ms, MBOX_ERROR);
		}
		free(base);
		renamed = true;
		mbox_note_own_change(ms, mb, before);
	}
	uint64_t modseq = next_modseq(ms, mb);
	rc = exec_msg(ms, "UPDATE messages SET flags = ?3, keywords = ?4, modseq = ?5 "
	              "WHERE mailbox_id = ?1 AND uid = ?2", mb, uid, flags, keywords, (long long)modseq);
	if (rc == MBOX_OK)
		rc = mbox_note_keywords(ms, mb->id, keywords);
	rc = tx_end(ms, rc);
	if (rc != MBOX_OK && renamed && rename(to, m.path) < 0)
		log_event(LOG_WARN, "mbox.flags_mismatch", "s", "file", to, NULL);
	if (rc == MBOX_OK && result) {
		result->flags = flags;
		str_copy(result->keywords, sizeof(result->keywords), keywords);
		result->modseq = modseq;
	}
	return rc;
}

struct set_to { uint32_t flags; const char *keywords; };

static int set_flags_to(void *arg, const struct mbox_msg *now, uint32_t *flags, char *keywords)
{
	const struct set_to *t = arg;
	(void)now;
	*flags = t->flags;
	str_copy(keywords, MBOX_KEYWORDS_MAX + 1, t->keywords ? t->keywords : "");
	return 0;
}

int mbox_set_flags(struct mbox_store *ms, struct mbox_info *mb, uint32_t uid, uint32_t flags,
                   const char *keywords, uint64_t *new_modseq)
{
	struct set_to t = { flags, keywords };
	struct mbox_msg now;
	int rc = mbox_update_flags(ms, mb, uid, set_flags_to, &t, &now);
	if (new_modseq)
		*new_modseq = rc == MBOX_OK ? now.modseq : 0;
	return rc == MBOX_UNCHANGED ? MBOX_OK : rc;
}

int mbox_expunge(struct mbox_store *ms, struct mbox_info *mb, uint32_t uid, bool only_deleted)
{
	struct mbox_msg m;
	if (!tx_begin_on(ms, mb))
		return MBOX_ERROR;
	/* read inside the transaction: \Deleted may have been taken back since
	 * the caller looked, by a session on another worker */
	int rc = get_with_path(ms, mb, uid, &m);
	if (rc == MBOX_OK && only_deleted && !(m.flags & MBOX_F_DELETED))
		rc = MBOX_NOT_FOUND;
	if (rc != MBOX_OK)
		return tx_end(ms, rc);
	long long before = cur_mtime(ms, mb);
	if (unlink(m.path) < 0 && errno != ENOENT)
		return tx_end(ms, MBOX_ERROR);
	mbox_note_own_change(ms, mb, before);
	uint64_t modseq = next_modseq(ms, mb);
	rc = exec_msg(ms, "DELETE FROM messages WHERE mailbox_id = ?1 AND uid = ?2", mb, uid, 0, NULL, 0);
	if (rc == MBOX_OK)
		rc = exec_msg(ms, "INSERT INTO expunged(mailbox_id, uid, modseq) VALUES (?1, ?2, ?3)",
		              mb, uid, (long long)modseq, NULL, 0);
	return tx_end(ms, rc);
}

/* The UID a base name has in a mailbox: MBOX_NOT_FOUND when it has none. */
static int uid_of_base(struct mbox_store *ms, const struct mbox_info *mb, const char *base,
                       uint32_t *uid)
{
	sqlite3_stmt *s = mbox_stmt(ms, "SELECT uid FROM messages WHERE mailbox_id = ?1 AND base = ?2");
	if (s == NULL)
		return MBOX_ERROR;
	sqlite3_bind_int64(s, 1, mb->id);
	sqlite3_bind_text(s, 2, base, -1, SQLITE_STATIC);
	int rc = mbox_row_result(sqlite3_step(s));
	if (rc == MBOX_OK)
		*uid = (uint32_t)sqlite3_column_int64(s, 0);
	mbox_stmt_done(s);
	return rc;
}

/* One message of mbox_expunge_bases, under its write lock. */
static int expunge_locked(struct mbox_store *ms, struct mbox_info *mb, const char *base, bool *gone)
{
	struct mbox_msg m;
	uint32_t uid = 0;
	*gone = false;
	int rc = uid_of_base(ms, mb, base, &uid);
	if (rc == MBOX_OK)
		rc = get_with_path(ms, mb, uid, &m);
	if (rc == MBOX_NOT_FOUND)
		return MBOX_OK;   /* expunged meanwhile, or its file is gone: nothing to do */
	if (rc != MBOX_OK)
		return rc;
	if (unlink(m.path) < 0 && errno != ENOENT)
		return MBOX_ERROR;
	uint64_t modseq = next_modseq(ms, mb);
	rc = exec_msg(ms, "DELETE FROM messages WHERE mailbox_id = ?1 AND uid = ?2", mb, uid, 0, NULL, 0);
	if (rc == MBOX_OK)
		rc = exec_msg(ms, "INSERT INTO expunged(mailbox_id, uid, modseq) VALUES (?1, ?2, ?3)",
		              mb, uid, (long long)modseq, NULL, 0);
	*gone = rc == MBOX_OK;
	return rc;
}

int mbox_expunge_bases(struct mbox_store *ms, struct mbox_info *mb, const char *const *bases,
                       size_t n, size_t *removed)
{
	char dir[4096], cur[4200];
	size_t count = 0;
	if (removed)
		*removed = 0;
	if (n == 0)
		return MBOX_OK;
	if (mbox_dir(ms, mb->name, dir, sizeof(dir)) < 0 ||
	    bsnprintf(cur, sizeof(cur), "%s/cur", dir) < 0 || !tx_begin_on(ms, mb))
		return MBOX_ERROR;
	long long before = cur_mtime(ms, mb);
	int rc = MBOX_OK;
	for (size_t i = 0; i < n && rc == MBOX_OK; i++) {
		bool gone;
		rc = expunge_locked(ms, mb, bases[i], &gone);
		count += gone;
	}
	mbox_note_own_change(ms, mb, before);
	rc = tx_end(ms, rc);
	/* files unlinked before a failed commit stay unlinked: the next sync
	 * drops their rows, as it does for any file removed behind its back */
	if (fsync_dir(cur) < 0)
		rc = MBOX_ERROR;
	if (removed)
		*removed = count;
	return rc;
}

/* Records a file just put in cur/ under a new UID; inside the caller's
 * transaction (tx_begin_on), so mb's UIDNEXT is current. */
static int insert_row(struct mbox_store *ms, struct mbox_info *mb, const char *base, uint32_t flags,
                      const char *keywords, long long internaldate, uint64_t size, uint32_t *uid)
{
	sqlite3_stmt *s;
	uint64_t modseq = next_modseq(ms, mb);   /* mb is fresh: tx_begin_on */
	int rc;
	if (sqlite3_prepare_v2(ms->db, "INSERT INTO messages(mailbox_id, uid, base, flags, keywords, "
	                       "internaldate, size, modseq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	                       -1, &s, NULL) != SQLITE_OK)
		return MBOX_ERROR;
	sqlite3_bind_int64(s, 1, mb->id);
	sqlite3_bind_int64(s, 2, mb->uidnext);
	sqlite3_bind_text(s, 3, base, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 4, (int)flags);
	sqlite3_bind_text(s, 5, keywords ? keywords : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 6, internaldate);
	sqlite3_bind_int64(s, 7, (long long)size);
	sqlite3_bind_int64(s, 8, (long long)modseq);
	rc = sqlite3_step(s) == SQLITE_DONE ? MBOX_OK : MBOX_ERROR;
	sqlite3_finalize(s);
	if (rc == MBOX_OK)
		rc = mbox_note_keywords(ms, mb->id, keywords);
	if (rc != MBOX_OK)
		return rc;
	*uid = mb->uidnext++;
	return exec_msg(ms, "UPDATE mailboxes SET uidnext = ?3 WHERE id = ?1", mb, 0,
	                mb->uidnext, NULL, 0);
}

/* Puts a file into the mailbox's cur/ (rename, or a hard link for a copy)
 * and records it, under the write lock; undone when it cannot be recorded. */
/* Puts a file into the mailbox's cur/ (rename, or a hard link for a copy)
 * and records it; the caller holds the write lock. Undone when it cannot
 * be recorded. */
static int add_file_locked(struct mbox_store *ms, struct mbox_info *mb, const char *src,
                           bool link_it, const char *base, const struct mbox_msg *like,
                           uint32_t *uid)
{
	char dir[4096], info[MBOX_INFO_MAX], to[4500];
	if (mbox_import_holds(ms, mb->id))
		return MBOX_IN_USE;   /* an import is giving out the next UIDs */
	if (mbox_dir(ms, mb->name, dir, sizeof(dir)) < 0 ||
	    mbox_maildir_info(ms, dir, like->flags, like->keywords, true, info, sizeof(info)) < 0 ||
	    bsnprintf(to, sizeof(to), "%s/cur/%s:2,%s", dir, base, info) < 0)
		return MBOX_ERROR;
	long long before = cur_mtime(ms, mb);
	if ((link_it ? link(src, to) : rename(src, to)) < 0)
		return MBOX_ERROR;
	mbox_note_own_change(ms, mb, before);
	int rc = insert_row(ms, mb, base, like->flags, like->keywords, like->internaldate,
	                    like->size, uid);
	if (rc != MBOX_OK)
		unlink(to);
	return rc;
}

int mbox_append_file(struct mbox_store *ms, struct mbox_info *mb, const char *tmp_path,
                     uint32_t flags, const char *keywords, long long internaldate,
                     uint64_t size, uint32_t *uid)
{
	struct mbox_msg like = { .flags = flags, .internaldate = internaldate, .size = size };
	str_copy(like.keywords, sizeof(like.keywords), keywords ? keywords : "");
	if (!tx_begin_on(ms, mb))
		return MBOX_ERROR;
	char *base = base_of(tmp_path);
	int rc = add_file_locked(ms, mb, tmp_path, false, base, &like, uid);
	free(base);
	return tx_end(ms, rc);
}

int mbox_copy(struct mbox_store *ms, const struct mbox_info *from, uint32_t uid,
              struct mbox_info *to, uint32_t *new_uid)
{
	struct mbox_msg m;
	struct mbox_info src = *from;
	char base[300];
	/* the source read under the lock too: its file name changes with its flags */
	if (!tx_begin_on(ms, to))
		return MBOX_ERROR;
	int rc = mbox_refresh(ms, &src);
	if (rc == MBOX_OK)
		rc = get_with_path(ms, &src, uid, &m);
	if (rc != MBOX_OK)
		return tx_end(ms, rc);
	char *b = base_of(m.path);
	/* a new unique name in the target: copies must not share a base name */
	random_id(base, 8);
	snprintf(base + 8, sizeof(base) - 8, ".%.280s", b);
	free(b);
	rc = add_file_locked(ms, to, m.path, true, base, &m, new_uid);
	/* a cache: when it cannot be copied, the copy's row is made later */
	if (rc == MBOX_OK)
		mbox_headers_copy_locked(ms, src.id, uid, to->id, *new_uid);
	return tx_end(ms, rc);
}

int mbox_copy_across(struct mbox_store *src, const struct mbox_info *from, uint32_t uid,
                     struct mbox_store *dst, struct mbox_info *to, uint32_t *new_uid)
{
	struct mbox_msg m;
	char base[300];
	int rc = MBOX_ERROR;
	if (src == dst)
		return mbox_copy(src, from, uid, to, new_uid);
	/* the source is another index: its file is read outside the target's
	 * lock, and a flag change renaming it in between is tried once more */
	for (int attempt = 0; attempt < 2 && rc == MBOX_ERROR; attempt++) {
		struct mbox_info f = *from;
		rc = get_with_path(src, &f, uid, &m);
		if (rc != MBOX_OK)
			return rc;
		char *b = base_of(m.path);
		random_id(base, 8);
		snprintf(base + 8, sizeof(base) - 8, ".%.280s", b);
		free(b);
		if (!tx_begin_on(dst, to))
			return MBOX_ERROR;
		rc = tx_end(dst, add_file_locked(dst, to, m.path, true, base, &m, new_uid));
	}
	return rc;
}

static const char cache_get_sql[] =
	"SELECT coalesce(envelope, ''), coalesce(bodystructure, ''), coalesce(body, '') "
	"FROM messages WHERE mailbox_id = ?1 AND uid = ?2";

int mbox_cache_get(struct mbox_store *ms, const struct mbox_info *mb, uint32_t uid,
                   char **envelope, char **bodystructure, char **body)
{
	sqlite3_stmt *s = mbox_stmt(ms, cache_get_sql);
	if (s == NULL)
		return MBOX_ERROR;
	sqlite3_bind_int64(s, 1, mb->id);
	sqlite3_bind_int64(s, 2, uid);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*envelope = xstrdup((const char *)sqlite3_column_text(s, 0));
		*bodystructure = xstrdup((const char *)sqlite3_column_text(s, 1));
		*body = xstrdup((const char *)sqlite3_column_text(s, 2));
	}
	mbox_stmt_done(s);
	return mbox_row_result(rc);
}

int mbox_cache_set(struct mbox_store *ms, const struct mbox_info *mb, uint32_t uid,
                   const char *envelope, const char *bodystructure, const char *body)
{
	if (!ms->read_batch)
		return write_cache_row(ms, mb->id, uid, envelope, bodystructure, body);
	/* inside a read batch a write would turn its snapshot into the write
	 * lock, held while the batch reads and parses messages: later */
	if (ms->npending == MBOX_PENDING_MAX)
		return MBOX_OK;   /* cached another time */
	if (ms->pending == NULL)
		ms->pending = xcalloc(MBOX_PENDING_MAX, sizeof(*ms->pending));
	ms->pending[ms->npending++] = (struct mbox_pending_cache){
		mb->id, uid, xstrdup(envelope), xstrdup(bodystructure), xstrdup(body) };
	return MBOX_OK;
}
