/* Mailbox index: messages imported from another server with their UIDs. */
#include "store/mbox_import.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"
#include "store/mbox_int.h"

/* How long an import holds new mail back after its last sign of life: a
 * run killed for good must not hold a mailbox's mail forever. */
#define IMPORT_HOLD_SECS 300

struct import_row {
	char source[MBOX_IMPORT_SOURCE_MAX + 1];
	uint32_t next_uid;
	char position[MBOX_IMPORT_POSITION_MAX + 1];
};

static bool run(struct mbox_store *ms, const char *sql)
{
	return sqlite3_exec(ms->db, sql, NULL, NULL, NULL) == SQLITE_OK;
}

static int tx_end(struct mbox_store *ms, int rc)
{
	if (rc == MBOX_OK && run(ms, "COMMIT"))
		return MBOX_OK;
	run(ms, "ROLLBACK");
	return rc == MBOX_OK ? MBOX_ERROR : rc;
}

/* A statement binding the mailbox id, then up to two integers and a text. */
static int exec_mb(struct mbox_store *ms, const char *sql, long long id, long long a, long long b,
                   const char *text)
{
	sqlite3_stmt *s = mbox_stmt(ms, sql);
	if (s == NULL)
		return MBOX_ERROR;
	int nparams = sqlite3_bind_parameter_count(s);
	sqlite3_bind_int64(s, 1, id);
	if (nparams >= 2)
		sqlite3_bind_int64(s, 2, a);
	if (nparams >= 3)
		sqlite3_bind_int64(s, 3, b);
	if (nparams >= 4)
		sqlite3_bind_text(s, 4, text ? text : "", -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	mbox_stmt_done(s);
	return rc == SQLITE_DONE ? MBOX_OK : MBOX_ERROR;
}

static int read_row(struct mbox_store *ms, long long id, struct import_row *row)
{
	sqlite3_stmt *s = mbox_stmt(ms, "SELECT source, next_uid, position FROM imports "
	                                "WHERE mailbox_id = ?1");
	if (s == NULL)
		return MBOX_ERROR;
	sqlite3_bind_int64(s, 1, id);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		str_copy(row->source, sizeof(row->source), (const char *)sqlite3_column_text(s, 0));
		row->next_uid = (uint32_t)sqlite3_column_int64(s, 1);
		str_copy(row->position, sizeof(row->position), (const char *)sqlite3_column_text(s, 2));
	}
	mbox_stmt_done(s);
	return mbox_row_result(rc);
}

bool mbox_import_holds(struct mbox_store *ms, long long mailbox_id)
{
	sqlite3_stmt *s = mbox_stmt(ms, "SELECT 1 FROM imports WHERE mailbox_id = ?1 AND "
	                                "hold_until > ?2");
	if (s == NULL)
		return false;
	sqlite3_bind_int64(s, 1, mailbox_id);
	sqlite3_bind_int64(s, 2, (long long)time(NULL));
	bool held = sqlite3_step(s) == SQLITE_ROW;
	mbox_stmt_done(s);
	return held;
}

bool mbox_import_pending(struct mbox_store *ms, long long mailbox_id, const char *base)
{
	sqlite3_stmt *s = mbox_stmt(ms, "SELECT 1 FROM import_pending WHERE mailbox_id = ?1 AND "
	                                "base = ?2");
	if (s == NULL)
		return false;
	sqlite3_bind_int64(s, 1, mailbox_id);
	sqlite3_bind_text(s, 2, base, -1, SQLITE_STATIC);
	bool pending = sqlite3_step(s) == SQLITE_ROW;
	mbox_stmt_done(s);
	return pending;
}

/* A mailbox that never gave out a UID: no client can know any of its
 * messages, so it may take the source's UIDVALIDITY. */
static bool never_used(struct mbox_store *ms, const struct mbox_info *mb)
{
	sqlite3_stmt *s = mbox_stmt(ms, "SELECT (SELECT count(*) FROM messages WHERE mailbox_id = ?1)"
	                                " + (SELECT count(*) FROM expunged WHERE mailbox_id = ?1)");
	if (s == NULL)
		return false;
	sqlite3_bind_int64(s, 1, mb->id);
	bool empty = sqlite3_step(s) == SQLITE_ROW && sqlite3_column_int64(s, 0) == 0;
	mbox_stmt_done(s);
	return empty && mb->uidnext == 1;
}

/* An imported UIDVALIDITY is never handed out again by postern: the last
 * one given is raised to it (new_uidvalidity in mbox.c counts from there). */
static int take_uidvalidity(struct mbox_store *ms, struct mbox_info *mb, uint32_t uidvalidity)
{
	if (uidvalidity == 0 || uidvalidity == mb->uidvalidity)
		return MBOX_OK;
	if (exec_mb(ms, "UPDATE mailboxes SET uidvalidity = ?2 WHERE id = ?1", mb->id, uidvalidity,
	            0, NULL) != MBOX_OK ||
	    exec_mb(ms, "INSERT INTO meta(key, value) VALUES ('uidvalidity', ?2) ON CONFLICT(key) "
	            "DO UPDATE SET value = max(value, ?2)", 0, uidvalidity, 0, NULL) != MBOX_OK)
		return MBOX_ERROR;
	mb->uidvalidity = uidvalidity;
	return MBOX_OK;
}

/* The files of a batch that never committed: in cur/ without a row. */
static int remove_pending(struct mbox_store *ms, const struct mbox_info *mb)
{
	char dir[4096], path[4400];
	sqlite3_stmt *s = mbox_stmt(ms, "SELECT name FROM import_pending WHERE mailbox_id = ?1");
	if (s == NULL || mbox_dir(ms, mb->name, dir, sizeof(dir)) < 0)
		return MBOX_ERROR;
	sqlite3_bind_int64(s, 1, mb->id);
	while (sqlite3_step(s) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(s, 0);
		if (bsnprintf(path, sizeof(path), "%s/cur/%s", dir, name) >= 0 && unlink(path) < 0 &&
		    errno != ENOENT)
			log_event(LOG_WARN, "mbox.import_orphan", "s", "file", path, NULL);
	}
	mbox_stmt_done(s);
	return exec_mb(ms, "DELETE FROM import_pending WHERE mailbox_id = ?1", mb->id, 0, 0, NULL);
}

static int resume(struct mbox_store *ms, struct mbox_import *imp, const struct import_row *row,
                  const char *source, uint32_t uidvalidity, char *err, size_t errlen)
{
	const struct mbox_info *mb = &imp->mb;
	if (strcmp(row->source, source) != 0) {
		snprintf(err, errlen, "%s was filled by another import (%s)", mb->name, row->source);
		return MBOX_CONFLICT;
	}
	if (uidvalidity != 0 && uidvalidity != mb->uidvalidity) {
		snprintf(err, errlen, "%s: the source's UIDVALIDITY is %u, the import gave it %u",
		         mb->name, uidvalidity, mb->uidvalidity);
		return MBOX_CONFLICT;
	}
	if (mb->uidnext != row->next_uid) {
		snprintf(err, errlen, "%s received other mail after its import (UIDNEXT %u, the "
		         "import had reached %u): what is left cannot keep its UIDs", mb->name,
		         mb->uidnext, row->next_uid);
		return MBOX_CONFLICT;
	}
	imp->how = MBOX_IMPORT_RESUMED;
	str_copy(imp->position, sizeof(imp->position), row->position);
	if (remove_pending(ms, mb) != MBOX_OK)
		return MBOX_ERROR;
	return exec_mb(ms, "UPDATE imports SET hold_until = ?2 WHERE mailbox_id = ?1", mb->id,
	               (long long)time(NULL) + IMPORT_HOLD_SECS, 0, NULL);
}

static int adopt(struct mbox_store *ms, struct mbox_import *imp, const char *source,
                 uint32_t uidvalidity, char *err, size_t errlen)
{
	struct mbox_info *mb = &imp->mb;
	if (!never_used(ms, mb)) {
		snprintf(err, errlen, "%s already holds mail (UIDNEXT %u): importing into it would mix "
		         "the UIDs of two servers", mb->name, mb->uidnext);
		return MBOX_CONFLICT;
	}
	if (take_uidvalidity(ms, mb, uidvalidity) != MBOX_OK)
		return MBOX_ERROR;
	sqlite3_stmt *s = mbox_stmt(ms, "INSERT INTO imports(mailbox_id, source, next_uid, hold_until) "
	                                "VALUES (?1, ?2, ?3, ?4)");
	if (s == NULL)
		return MBOX_ERROR;
	sqlite3_bind_int64(s, 1, mb->id);
	sqlite3_bind_text(s, 2, source, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, mb->uidnext);
	sqlite3_bind_int64(s, 4, (long long)time(NULL) + IMPORT_HOLD_SECS);
	int rc = sqlite3_step(s);
	mbox_stmt_done(s);
	return rc == SQLITE_DONE ? MBOX_OK : MBOX_ERROR;
}

/* The mailbox as it is now, created when missing. One that may be taken
 * over (no import yet, no UID given) is synced first: mail delivered but
 * not yet seen counts as mail it holds. Others are not: a sync reads a
 * whole mailbox into memory, and a resumed import needs no sync. */
static int find_or_create(struct mbox_store *ms, const char *name, struct mbox_info *mb,
                          bool *created)
{
	struct import_row row;
	int rc = mbox_find(ms, name, mb);
	*created = false;
	if (rc == MBOX_NOT_FOUND) {
		rc = mbox_create(ms, name, NULL);
		if (rc == MBOX_OK)
			rc = mbox_find(ms, name, mb);
		*created = rc == MBOX_OK;
	}
	if (rc != MBOX_OK || mb->uidnext != 1 || read_row(ms, mb->id, &row) != MBOX_NOT_FOUND)
		return rc;
	return mbox_sync(ms, mb);
}

int mbox_import_begin(struct mbox_store *ms, const char *name, const char *source,
                      uint32_t uidvalidity, struct mbox_import *imp, char *err, size_t errlen)
{
	struct import_row row;
	bool created;
	memset(imp, 0, sizeof(*imp));
	snprintf(err, errlen, "%s: the mailbox index failed", name);
	if (strlen(source) > MBOX_IMPORT_SOURCE_MAX ||
	    (strcasecmp(name, "INBOX") != 0 && !mbox_name_valid(name))) {
		snprintf(err, errlen, "'%s' is not a mailbox name postern can use", name);
		return MBOX_INVALID;
	}
	/* each batch durable before the next is read: a crash loses no batch
	 * whose files are already in cur/ */
	run(ms, "PRAGMA synchronous=FULL");
	int rc = find_or_create(ms, name, &imp->mb, &created);
	if (rc != MBOX_OK)
		return rc == MBOX_INVALID ? MBOX_INVALID : MBOX_ERROR;
	if (!run(ms, "BEGIN IMMEDIATE"))
		return MBOX_ERROR;
	rc = mbox_refresh(ms, &imp->mb);
	if (rc == MBOX_OK) {
		rc = read_row(ms, imp->mb.id, &row);
		if (rc == MBOX_OK)
			rc = resume(ms, imp, &row, source, uidvalidity, err, errlen);
		else if (rc == MBOX_NOT_FOUND)
			rc = adopt(ms, imp, source, uidvalidity, err, errlen);
		if (rc == MBOX_OK && imp->how != MBOX_IMPORT_RESUMED)
			imp->how = created ? MBOX_IMPORT_CREATED : MBOX_IMPORT_ADOPTED;
	}
	return tx_end(ms, rc);
}

/* ---- batches ------------------------------------------------------------------- */

static bool safe_file_name(const char *name)
{
	return name != NULL && name[0] != '\0' && name[0] != '.' && strchr(name, '/') == NULL &&
	       strlen(name) < 240;
}

/* Ascending UIDs, the first at or above UIDNEXT, names that stay in their
 * directory. */
static bool batch_valid(const struct mbox_import *imp, const struct mbox_import_msg *msgs, size_t n)
{
	if (n == 0 || msgs[0].uid < imp->mb.uidnext)
		return false;
	for (size_t i = 0; i < n; i++) {
		const struct mbox_import_msg *m = &msgs[i];
		if ((i > 0 && m->uid <= msgs[i - 1].uid) || m->uid == UINT32_MAX ||
		    !safe_file_name(m->tmp_name) || !safe_file_name(m->base) ||
		    strlen(m->keywords ? m->keywords : "") > MBOX_KEYWORDS_MAX)
			return false;
	}
	return true;
}

/* The name in cur/: flag letters and keyword letters (dovecot-keywords,
 * given out under the caller's write lock), so that the keywords of
 * imported mail too survive an index rebuild. The same each time it is
 * asked for: a letter, once given, stays. 0 or -1. */
static int cur_name(struct mbox_store *ms, const char *dir, const struct mbox_import_msg *m,
                    char *out, size_t outlen)
{
	char info[MBOX_INFO_MAX];
	if (mbox_maildir_info(ms, dir, m->flags, m->keywords, true, info, sizeof(info)) < 0)
		return -1;
	return bsnprintf(out, outlen, "%s:2,%s", m->base, info) < 0 ? -1 : 0;
}

/* Under the lock: the mailbox still is where this import left it. */
static int check_unchanged(struct mbox_store *ms, struct mbox_import *imp)
{
	struct import_row row;
	int rc = mbox_refresh(ms, &imp->mb);
	if (rc == MBOX_OK)
		rc = read_row(ms, imp->mb.id, &row);
	if (rc == MBOX_OK && row.next_uid != imp->mb.uidnext)
		rc = MBOX_CONFLICT;
	return rc;
}

/* First transaction: the names go on record, durably, before any file
 * enters cur/: a sync leaves them alone, a later run can clean up. */
static int note_pending(struct mbox_store *ms, struct mbox_import *imp,
                        const struct mbox_import_msg *msgs, size_t n)
{
	char name[300], dir[4096];
	if (!run(ms, "BEGIN IMMEDIATE"))
		return MBOX_ERROR;
	int rc = check_unchanged(ms, imp);
	if (rc == MBOX_OK && !batch_valid(imp, msgs, n))
		rc = MBOX_CONFLICT;
	if (rc == MBOX_OK && mbox_dir(ms, imp->mb.name, dir, sizeof(dir)) < 0)
		rc = MBOX_ERROR;
	for (size_t i = 0; rc == MBOX_OK && i < n; i++) {
		sqlite3_stmt *s = mbox_stmt(ms, "INSERT INTO import_pending(mailbox_id, base, name) "
		                                "VALUES (?1, ?2, ?3)");
		if (s == NULL) {
			rc = MBOX_ERROR;
			break;
		}
		if (cur_name(ms, dir, &msgs[i], name, sizeof(name)) < 0) {
			mbox_stmt_done(s);
			rc = MBOX_ERROR;
			break;
		}
		sqlite3_bind_int64(s, 1, imp->mb.id);
		sqlite3_bind_text(s, 2, msgs[i].base, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, name, -1, SQLITE_STATIC);
		rc = sqlite3_step(s) == SQLITE_DONE ? MBOX_OK : MBOX_ERROR;
		mbox_stmt_done(s);
	}
	return tx_end(ms, rc);
}

/* Moves the batch's files from tmp/ into cur/; *moved counts those done. */
static int place_files(struct mbox_store *ms, const char *dir, const struct mbox_import_msg *msgs,
                       size_t n, size_t *moved)
{
	char from[4400], to[4400], name[300];
	for (*moved = 0; *moved < n; (*moved)++) {
		const struct mbox_import_msg *m = &msgs[*moved];
		if (cur_name(ms, dir, m, name, sizeof(name)) < 0 ||
		    bsnprintf(from, sizeof(from), "%s/tmp/%s", dir, m->tmp_name) < 0 ||
		    bsnprintf(to, sizeof(to), "%s/cur/%s", dir, name) < 0 || rename(from, to) < 0)
			return MBOX_ERROR;
	}
	snprintf(to, sizeof(to), "%s/cur", dir);
	return fsync_dir(to) == 0 ? MBOX_OK : MBOX_ERROR;
}

static void unplace_files(struct mbox_store *ms, const char *dir, const struct mbox_import_msg *msgs,
                          size_t moved)
{
	char from[4400], to[4400], name[300];
	for (size_t i = 0; i < moved; i++) {
		if (cur_name(ms, dir, &msgs[i], name, sizeof(name)) < 0)
			continue;
		snprintf(from, sizeof(from), "%s/cur/%s", dir, name);
		snprintf(to, sizeof(to), "%s/tmp/%s", dir, msgs[i].tmp_name);
		rename(from, to);
	}
}

static int insert_messages(struct mbox_store *ms, const struct mbox_info *mb,
                           const struct mbox_import_msg *msgs, size_t n, uint64_t modseq)
{
	for (size_t i = 0; i < n; i++) {
		const struct mbox_import_msg *m = &msgs[i];
		sqlite3_stmt *s = mbox_stmt(ms, "INSERT INTO messages(mailbox_id, uid, base, flags, "
		                                "keywords, internaldate, size, modseq, pop3_uidl) "
		                                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
		if (s == NULL)
			return MBOX_ERROR;
		sqlite3_bind_int64(s, 1, mb->id);
		sqlite3_bind_int64(s, 2, m->uid);
		sqlite3_bind_text(s, 3, m->base, -1, SQLITE_STATIC);
		sqlite3_bind_int(s, 4, (int)m->flags);
		sqlite3_bind_text(s, 5, m->keywords ? m->keywords : "", -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 6, m->internaldate);
		sqlite3_bind_int64(s, 7, (long long)m->size);
		sqlite3_bind_int64(s, 8, (long long)modseq);
		if (m->pop3_uidl != NULL && mbox_pop3_uidl_valid(m->pop3_uidl))
			sqlite3_bind_text(s, 9, m->pop3_uidl, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(s, 9);
		int rc = sqlite3_step(s);
		mbox_stmt_done(s);
		if (rc != SQLITE_DONE || mbox_note_keywords(ms, mb->id, m->keywords) != MBOX_OK)
			return MBOX_ERROR;
	}
	return MBOX_OK;
}

/* The rows, the new UIDNEXT and HIGHESTMODSEQ and the import's progress:
 * one transaction, so a session sees the whole batch or none of it. */
static int record_batch(struct mbox_store *ms, struct mbox_import *imp,
                        const struct mbox_import_msg *msgs, size_t n, const char *position)
{
	struct mbox_info *mb = &imp->mb;
	uint32_t next = msgs[n - 1].uid + 1;
	uint64_t modseq = mb->highestmodseq + 1;   /* one for the batch, as a sync gives */
	int rc = insert_messages(ms, mb, msgs, n, modseq);
	if (rc == MBOX_OK)
		rc = exec_mb(ms, "UPDATE mailboxes SET uidnext = ?2, highestmodseq = ?3 WHERE id = ?1",
		             mb->id, next, (long long)modseq, NULL);
	if (rc == MBOX_OK)
		rc = exec_mb(ms, "UPDATE imports SET next_uid = ?2, hold_until = ?3, "
		             "position = coalesce(nullif(?4, ''), position) WHERE mailbox_id = ?1",
		             mb->id, next, (long long)time(NULL) + IMPORT_HOLD_SECS, position);
	if (rc == MBOX_OK)
		rc = exec_mb(ms, "DELETE FROM import_pending WHERE mailbox_id = ?1", mb->id, 0, 0, NULL);
	if (rc == MBOX_OK) {
		mb->uidnext = next;
		mb->highestmodseq = modseq;
		if (position != NULL && position[0] != '\0')
			str_copy(imp->position, sizeof(imp->position), position);
	}
	return rc;
}

/* Second transaction: files into cur/ and rows in, under one write lock
 * (a sync on another worker never lists cur/ half-way through). */
static int commit_batch(struct mbox_store *ms, struct mbox_import *imp,
                        const struct mbox_import_msg *msgs, size_t n, const char *position)
{
	char dir[4096];
	size_t moved = 0;
	if (!run(ms, "BEGIN IMMEDIATE"))
		return MBOX_ERROR;
	mbox_usage_begin(ms);
	int rc = check_unchanged(ms, imp);
	if (rc == MBOX_OK && mbox_dir(ms, imp->mb.name, dir, sizeof(dir)) < 0)
		rc = MBOX_ERROR;
	long long before = rc == MBOX_OK ? mbox_mtime_ns(dir, "cur") : -1;
	if (rc == MBOX_OK)
		rc = place_files(ms, dir, msgs, n, &moved);
	if (rc == MBOX_OK)
		rc = record_batch(ms, imp, msgs, n, position);
	if (rc == MBOX_OK) {
		mbox_note_own_change(ms, &imp->mb, before);
		mbox_usage_end(ms, false);   /* the batch counts towards the user's quota */
	}
	rc = tx_end(ms, rc);
	if (rc != MBOX_OK && moved > 0)
		unplace_files(ms, dir, msgs, moved);
	return rc;
}

int mbox_import_add(struct mbox_store *ms, struct mbox_import *imp,
                    const struct mbox_import_msg *msgs, size_t n, const char *position)
{
	if (position != NULL && strlen(position) > MBOX_IMPORT_POSITION_MAX)
		return MBOX_INVALID;
	int rc = note_pending(ms, imp, msgs, n);
	if (rc != MBOX_OK)
		return rc;
	rc = commit_batch(ms, imp, msgs, n, position);
	if (rc != MBOX_OK && run(ms, "BEGIN IMMEDIATE"))   /* the files went back to tmp/ */
		tx_end(ms, exec_mb(ms, "DELETE FROM import_pending WHERE mailbox_id = ?1", imp->mb.id,
		                   0, 0, NULL));
	return rc;
}

int mbox_import_finish(struct mbox_store *ms, struct mbox_import *imp, uint32_t uidnext)
{
	if (!run(ms, "BEGIN IMMEDIATE"))
		return MBOX_ERROR;
	int rc = check_unchanged(ms, imp);
	uint32_t next = imp->mb.uidnext > uidnext ? imp->mb.uidnext : uidnext;
	if (rc == MBOX_OK)
		rc = exec_mb(ms, "UPDATE mailboxes SET uidnext = ?2 WHERE id = ?1", imp->mb.id, next, 0,
		             NULL);
	if (rc == MBOX_OK)
		rc = exec_mb(ms, "UPDATE imports SET next_uid = ?2, hold_until = 0 WHERE mailbox_id = ?1",
		             imp->mb.id, next, 0, NULL);
	rc = tx_end(ms, rc);
	if (rc == MBOX_OK)
		imp->mb.uidnext = next;
	return rc;
}

int mbox_import_abandon(struct mbox_store *ms, struct mbox_import *imp)
{
	return exec_mb(ms, "UPDATE imports SET hold_until = 0 WHERE mailbox_id = ?1", imp->mb.id, 0,
	               0, NULL);
}
