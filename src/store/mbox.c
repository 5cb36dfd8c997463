/* Mailbox index: names, folders and the per-user SQLite schema. */
#include "store/mbox.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/utf8.h"
#include "core/util.h"
#include "store/maildir.h"
#include "store/mbox_int.h"
#include "store/store_sqlite_int.h"
#include "store/migrate.h"

static const struct migration index_steps[] = {
	{ 1,
	  "CREATE TABLE mailboxes ("
	  "  id INTEGER PRIMARY KEY,"
	  "  name TEXT NOT NULL UNIQUE,"
	  "  uidvalidity INTEGER NOT NULL,"
	  "  uidnext INTEGER NOT NULL DEFAULT 1,"
	  "  highestmodseq INTEGER NOT NULL DEFAULT 1,"
	  "  subscribed INTEGER NOT NULL DEFAULT 1,"   /* until 8: the subscriptions table */
	  "  special_use TEXT NOT NULL DEFAULT '',"
	  "  mtime_new INTEGER NOT NULL DEFAULT 0,"
	  "  mtime_cur INTEGER NOT NULL DEFAULT 0);"
	  "CREATE TABLE messages ("
	  "  mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,"
	  "  uid INTEGER NOT NULL,"
	  "  base TEXT NOT NULL,"
	  "  flags INTEGER NOT NULL,"
	  "  keywords TEXT NOT NULL DEFAULT '',"
	  "  internaldate INTEGER NOT NULL,"
	  "  size INTEGER NOT NULL,"
	  "  modseq INTEGER NOT NULL,"
	  "  envelope TEXT, bodystructure TEXT, body TEXT,"
	  "  PRIMARY KEY (mailbox_id, uid));"
	  "CREATE UNIQUE INDEX messages_base ON messages(mailbox_id, base);"
	  "CREATE INDEX messages_modseq ON messages(mailbox_id, modseq);"
	  "CREATE TABLE expunged ("
	  "  mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,"
	  "  uid INTEGER NOT NULL,"
	  "  modseq INTEGER NOT NULL);"
	  "CREATE INDEX expunged_modseq ON expunged(mailbox_id, modseq);" },
	{ 2,
	  /* the last UIDVALIDITY handed out: a new one must never repeat an old one */
	  "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);" },
	{ 3,
	  /* covers SELECT's UID list and STATUS's counts: neither reads the wide rows */
	  "CREATE INDEX messages_view ON messages(mailbox_id, uid, flags, size);" },
	{ 4,
	  /* STATUS counts kept up to date by triggers, in the same transaction as
	   * the change: STATUS and LIST-STATUS read one row, not every message's */
	  "ALTER TABLE mailboxes ADD COLUMN n_messages INTEGER NOT NULL DEFAULT 0;"
	  "ALTER TABLE mailboxes ADD COLUMN n_unseen INTEGER NOT NULL DEFAULT 0;"
	  "ALTER TABLE mailboxes ADD COLUMN total_size INTEGER NOT NULL DEFAULT 0;"
	  "UPDATE mailboxes SET"
	  "  n_messages = (SELECT count(*) FROM messages WHERE mailbox_id = mailboxes.id),"
	  "  n_unseen = (SELECT count(*) FROM messages WHERE mailbox_id = mailboxes.id"
	  "              AND flags & 1 = 0),"
	  "  total_size = (SELECT coalesce(sum(size), 0) FROM messages"
	  "                WHERE mailbox_id = mailboxes.id);"
	  "CREATE TRIGGER messages_count_insert AFTER INSERT ON messages BEGIN"
	  "  UPDATE mailboxes SET n_messages = n_messages + 1,"
	  "    n_unseen = n_unseen + (NEW.flags & 1 = 0), total_size = total_size + NEW.size"
	  "    WHERE id = NEW.mailbox_id;"
	  "END;"
	  "CREATE TRIGGER messages_count_delete AFTER DELETE ON messages BEGIN"
	  "  UPDATE mailboxes SET n_messages = n_messages - 1,"
	  "    n_unseen = n_unseen - (OLD.flags & 1 = 0), total_size = total_size - OLD.size"
	  "    WHERE id = OLD.mailbox_id;"
	  "END;"
	  "CREATE TRIGGER messages_count_update AFTER UPDATE OF mailbox_id, flags, size ON messages"
	  "  BEGIN"
	  "  UPDATE mailboxes SET n_messages = n_messages - 1,"
	  "    n_unseen = n_unseen - (OLD.flags & 1 = 0), total_size = total_size - OLD.size"
	  "    WHERE id = OLD.mailbox_id;"
	  "  UPDATE mailboxes SET n_messages = n_messages + 1,"
	  "    n_unseen = n_unseen + (NEW.flags & 1 = 0), total_size = total_size + NEW.size"
	  "    WHERE id = NEW.mailbox_id;"
	  "END;" },
	{ 5,
	  /* the POP3 UIDL a message had on the server it was imported from, so
	   * POP3 clients do not fetch it again; NULL: derived (mbox_pop3_uidl) */
	  "ALTER TABLE messages ADD COLUMN pop3_uidl TEXT;" },
	{ 6,
	  /* postern import: where a mailbox's mail came from and how far the
	   * import got (a second run resumes, never duplicates), and until when
	   * it holds new mail back so that imported UIDs stay in order */
	  "CREATE TABLE imports ("
	  "  mailbox_id INTEGER PRIMARY KEY REFERENCES mailboxes(id) ON DELETE CASCADE,"
	  "  source TEXT NOT NULL,"
	  "  next_uid INTEGER NOT NULL,"
	  "  position TEXT NOT NULL DEFAULT '',"
	  "  hold_until INTEGER NOT NULL DEFAULT 0);"
	  /* the files of a batch between being put in cur/ and being recorded:
	   * a sync leaves them alone; an interrupted batch's are removed */
	  "CREATE TABLE import_pending ("
	  "  mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,"
	  "  base TEXT NOT NULL,"
	  "  name TEXT NOT NULL,"
	  "  PRIMARY KEY (mailbox_id, base));" },
	{ 7,
	  /* the header cache (mbox_headers.c): what SEARCH, SORT and THREAD read
	   * of a message's header, so that they never open its file. key is
	   * mailbox_id * 2^32 + uid: a mailbox's rows lie together in UID order
	   * and one range of the table is the whole mailbox. arrival and size
	   * are copies (never changing), so SORT reads this table alone. A row
	   * goes with its message (trigger); n_headers counts them, so that a
	   * mailbox with rows missing is told from one without in one read. */
	  "CREATE TABLE headers ("
	  "  key INTEGER PRIMARY KEY,"
	  "  arrival INTEGER NOT NULL, size INTEGER NOT NULL,"
	  "  sort_date INTEGER NOT NULL,"       /* RFC 5256 2.2: sent date, else arrival */
	  "  sent_day INTEGER,"                 /* Date: in its own zone; NULL: none readable */
	  "  reply INTEGER NOT NULL,"           /* the subject had Re:, Fwd: ... */
	  "  complete INTEGER NOT NULL,"        /* no field cut: SEARCH may answer from it */
	  "  sort_subject TEXT NOT NULL, sort_from TEXT NOT NULL, sort_to TEXT NOT NULL,"
	  "  sort_cc TEXT NOT NULL, sort_display_from TEXT NOT NULL,"
	  "  sort_display_to TEXT NOT NULL,"
	  "  subject TEXT, from_ TEXT, to_ TEXT, cc TEXT, bcc TEXT,"
	  "  from_addrs TEXT, to_addrs TEXT, cc_addrs TEXT, bcc_addrs TEXT,"
	  "  message_id TEXT, in_reply_to TEXT, refs TEXT, date TEXT);"
	  "ALTER TABLE mailboxes ADD COLUMN n_headers INTEGER NOT NULL DEFAULT 0;"
	  "CREATE TRIGGER headers_count_insert AFTER INSERT ON headers BEGIN"
	  "  UPDATE mailboxes SET n_headers = n_headers + 1 WHERE id = NEW.key >> 32;"
	  "END;"
	  "CREATE TRIGGER headers_count_delete AFTER DELETE ON headers BEGIN"
	  "  UPDATE mailboxes SET n_headers = n_headers - 1 WHERE id = OLD.key >> 32;"
	  "END;"
	  "CREATE TRIGGER messages_headers_delete AFTER DELETE ON messages BEGIN"
	  "  DELETE FROM headers WHERE key = (OLD.mailbox_id << 32) + OLD.uid;"
	  "END;"
	  /* SORT by one key walks one of these, in the order it answers in,
	   * reading no row and sorting nothing (mbox_headers.c); CC, rarely
	   * asked for, and several keys at once take a sort of the rows */
	  "CREATE INDEX headers_arrival ON headers(key >> 32, arrival, key);"
	  "CREATE INDEX headers_date ON headers(key >> 32, sort_date, key);"
	  "CREATE INDEX headers_size ON headers(key >> 32, size, key);"
	  "CREATE INDEX headers_subject ON headers(key >> 32, sort_subject, key);"
	  "CREATE INDEX headers_from ON headers(key >> 32, sort_from, key);"
	  "CREATE INDEX headers_to ON headers(key >> 32, sort_to, key);"
	  "CREATE INDEX headers_display_from ON headers(key >> 32, sort_display_from, key);"
	  "CREATE INDEX headers_display_to ON headers(key >> 32, sort_display_to, key);" },
	{ 8,
	  /* subscriptions by name (RFC 9051 6.3.7): one outlives its mailbox,
	   * which LIST (SUBSCRIBED) then shows \NonExistent (RFC 5258 3.1) */
	  "CREATE TABLE subscriptions (name TEXT PRIMARY KEY);"
	  "INSERT INTO subscriptions(name) SELECT name FROM mailboxes WHERE subscribed;"
	  "ALTER TABLE mailboxes DROP COLUMN subscribed;"
	  /* \Recent (RFC 3501 2.3.2): the messages above it have not been seen
	   * by a session that SELECTed the mailbox; the first such session
	   * claims them (mbox_claim_recent). What is there now is old. */
	  "ALTER TABLE mailboxes ADD COLUMN recent_uid INTEGER NOT NULL DEFAULT 0;"
	  "UPDATE mailboxes SET recent_uid = uidnext - 1;"
	  /* every keyword a message of the mailbox has had, in the order they
	   * came: FLAGS announces them before a FETCH shows one (RFC 3501
	   * 7.2.6); compared as IMAP compares keywords */
	  "CREATE TABLE keywords ("
	  "  mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,"
	  "  name TEXT NOT NULL COLLATE NOCASE,"
	  "  PRIMARY KEY (mailbox_id, name));"
	  "WITH RECURSIVE split(mailbox_id, uid, pos, word, rest) AS ("
	  "  SELECT mailbox_id, uid, 0, '', keywords || ' ' FROM messages WHERE keywords <> ''"
	  "  UNION ALL SELECT mailbox_id, uid, pos + 1, substr(rest, 1, instr(rest, ' ') - 1),"
	  "    substr(rest, instr(rest, ' ') + 1) FROM split WHERE rest <> '')"
	  "INSERT OR IGNORE INTO keywords(mailbox_id, name)"
	  "  SELECT mailbox_id, word FROM split WHERE word <> '' ORDER BY mailbox_id, uid, pos;" },
};

/* RFC 6154 special-use mailboxes every new user gets. */
static const struct { const char *name, *use; } default_folders[] = {
	{ "Sent", "\\Sent" }, { "Drafts", "\\Drafts" }, { "Trash", "\\Trash" },
	{ "Junk", "\\Junk" }, { "Archive", "\\Archive" },
};

/* ---- names and directories --------------------------------------------- */


bool mbox_name_valid(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len > MBOX_NAME_MAX || name[0] == '/' || name[len - 1] == '/' ||
	    strstr(name, "//") != NULL)
		return false;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		/* '.' is the Maildir++ level separator on disk; '%' '*' are LIST wildcards */
		if (*p < 0x20 || *p == 0x7f || *p == '.' || *p == '~' || *p == '%' || *p == '*' ||
		    *p == '\\' || *p == '"')
			return false;
	return utf8_valid(name, len);
}

static bool is_inbox(const char *name)
{
	return strcasecmp(name, "INBOX") == 0;
}

int mbox_dir_at(const char *root, const char *name, char *out, size_t outlen)
{
	char folder[MBOX_NAME_MAX + 2];
	if (is_inbox(name))
		return bsnprintf(out, outlen, "%s", root) < 0 ? -1 : 0;
	/* Maildir++: "Archive/2026" lives in Maildir/.Archive.2026 */
	snprintf(folder, sizeof(folder), ".%s", name);
	for (char *p = folder; *p; p++)
		if (*p == '/')
			*p = '.';
	return bsnprintf(out, outlen, "%s/%s", root, folder) < 0 ? -1 : 0;
}

int mbox_dir(const struct mbox_store *ms, const char *name, char *out, size_t outlen)
{
	return mbox_dir_at(ms->root, name, out, outlen);
}

void mbox_flags_to_maildir(uint32_t flags, char *out, size_t outlen)
{
	/* Maildir info letters in ASCII order */
	static const struct { uint32_t bit; char c; } map[] = {
		{ MBOX_F_DRAFT, 'D' }, { MBOX_F_FLAGGED, 'F' }, { MBOX_F_ANSWERED, 'R' },
		{ MBOX_F_SEEN, 'S' }, { MBOX_F_DELETED, 'T' },
	};
	size_t n = 0;
	for (size_t i = 0; i < ARRAY_LEN(map) && n + 1 < outlen; i++)
		if (flags & map[i].bit)
			out[n++] = map[i].c;
	out[n] = '\0';
}

uint32_t mbox_flags_from_maildir(const char *info)
{
	uint32_t f = 0;
	for (; *info; info++) {
		switch (*info) {
		case 'D': f |= MBOX_F_DRAFT; break;
		case 'F': f |= MBOX_F_FLAGGED; break;
		case 'R': f |= MBOX_F_ANSWERED; break;
		case 'S': f |= MBOX_F_SEEN; break;
		case 'T': f |= MBOX_F_DELETED; break;
		default: break; /* P (passed) and keyword letters are not ours */
		}
	}
	return f;
}

/* ---- open --------------------------------------------------------------------- */

/* Time-based, so a rebuilt index never reuses an old value, and above the
 * last one given, so a mailbox deleted and created again within a second
 * still gets a new one (RFC 9051 2.3.1.1). */
/* The last UIDVALIDITY is also kept beside the index, in the Maildir: an
 * index deleted and rebuilt within the same second must not hand out the
 * same value again (RFC 9051 2.3.1.1: new UIDs, new UIDVALIDITY). */
static uint32_t read_uidvalidity_mark(const struct mbox_store *ms)
{
	char path[4096];
	unsigned long v = 0;
	if (bsnprintf(path, sizeof(path), "%s/postern-uidvalidity", ms->root) < 0)
		return 0;
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return 0;
	if (fscanf(f, "%lu", &v) != 1 || v > UINT32_MAX)
		v = 0;
	fclose(f);
	return (uint32_t)v;
}

static void write_uidvalidity_mark(const struct mbox_store *ms, uint32_t v)
{
	char path[4096];
	if (bsnprintf(path, sizeof(path), "%s/postern-uidvalidity", ms->root) < 0)
		return;
	FILE *f = fopen(path, "w");
	if (f != NULL) {
		fprintf(f, "%lu\n", (unsigned long)v);
		fclose(f);
	}
}

static uint32_t new_uidvalidity(struct mbox_store *ms)
{
	sqlite3_stmt *s;
	uint32_t v = (uint32_t)time(NULL), last = read_uidvalidity_mark(ms);
	if (sqlite3_prepare_v2(ms->db, "SELECT value FROM meta WHERE key = 'uidvalidity'", -1, &s,
	                       NULL) == SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW && (uint32_t)sqlite3_column_int64(s, 0) > last)
			last = (uint32_t)sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
	}
	/* (an imported UIDVALIDITY may have raised the last one to the top) */
	if (v <= last && last < UINT32_MAX)
		v = last + 1;
	if (sqlite3_prepare_v2(ms->db, "INSERT INTO meta(key, value) VALUES ('uidvalidity', ?1) "
	                       "ON CONFLICT(key) DO UPDATE SET value = ?1", -1, &s, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(s, 1, v);
		sqlite3_step(s);
		sqlite3_finalize(s);
	}
	write_uidvalidity_mark(ms, v);
	return v;
}

static int subscribe_row(struct mbox_store *ms, const char *name, bool on)
{
	sqlite3_stmt *s = mbox_stmt(ms, on ? "INSERT OR IGNORE INTO subscriptions(name) VALUES (?1)"
	                                   : "DELETE FROM subscriptions WHERE name = ?1");
	if (s == NULL)
		return MBOX_ERROR;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	mbox_stmt_done(s);
	return rc == SQLITE_DONE ? MBOX_OK : MBOX_ERROR;
}

static int insert_mailbox(struct mbox_store *ms, const char *name, const char *special_use)
{
	char dir[4096];
	sqlite3_stmt *s;
	if (mbox_dir(ms, name, dir, sizeof(dir)) < 0 || maildir_ensure(dir) < 0)
		return MBOX_ERROR;
	uint32_t validity = new_uidvalidity(ms);
	if (sqlite3_prepare_v2(ms->db, "INSERT INTO mailboxes(name, uidvalidity, special_use) "
	                       "VALUES (?1, ?2, ?3)", -1, &s, NULL) != SQLITE_OK)
		return MBOX_ERROR;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, validity);
	sqlite3_bind_text(s, 3, special_use ? special_use : "", -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc == SQLITE_CONSTRAINT)
		return MBOX_EXISTS;
	return rc == SQLITE_DONE ? MBOX_OK : MBOX_ERROR;
}

/* A new index: INBOX, the special-use folders, and any Maildir++ folders
 * already on disk (an index deleted by hand is rebuilt from the files). */
static int populate_new_index(struct mbox_store *ms)
{
	if (insert_mailbox(ms, "INBOX", "") != MBOX_OK || subscribe_row(ms, "INBOX", true) != MBOX_OK)
		return MBOX_ERROR;
	for (size_t i = 0; i < ARRAY_LEN(default_folders); i++)
		if (insert_mailbox(ms, default_folders[i].name, default_folders[i].use) == MBOX_ERROR ||
		    subscribe_row(ms, default_folders[i].name, true) != MBOX_OK)
			return MBOX_ERROR;
	return mbox_discover_folders(ms);
}

struct file_count {
	struct mbox_store *ms;
	uint64_t cur, new;
};

static uint64_t files_in(const char *dir, const char *sub)
{
	char path[4200];
	uint64_t n = 0;
	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	DIR *d = opendir(path);
	if (d == NULL)
		return 0;
	for (struct dirent *de; (de = readdir(d)) != NULL;)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static void count_files(void *arg, const struct mbox_info *mb)
{
	struct file_count *fc = arg;
	char dir[4096];
	if (mbox_dir(fc->ms, mb->name, dir, sizeof(dir)) < 0)
		return;
	fc->cur += files_in(dir, "cur");
	fc->new += files_in(dir, "new");
}

/* A new index over a Maildir that already holds mail in cur/ (mail an
 * index once knew, or a Maildir from elsewhere) or folders of its own was
 * rebuilt from the files: say what it found. Mail only in new/ is a new
 * user's first deliveries. */
static void note_rebuild(struct mbox_store *ms)
{
	struct file_count fc = { ms, 0, 0 };
	mbox_count(ms, &ms->rebuilt_mailboxes);
	mbox_list(ms, count_files, &fc);
	ms->rebuilt_messages = fc.cur + fc.new;
	ms->rebuilt = fc.cur > 0 || ms->rebuilt_mailboxes > 1 + ARRAY_LEN(default_folders);
}

bool mbox_index_rebuilt(const struct mbox_store *ms, uint32_t *mailboxes, uint64_t *messages)
{
	*mailboxes = ms->rebuilt_mailboxes;
	*messages = ms->rebuilt_messages;
	return ms->rebuilt;
}

struct mbox_store *mbox_open(const char *maildir_root, char *err, size_t errlen)
{
	char path[4096];
	struct mbox_store *ms = xcalloc(1, sizeof(*ms));
	ms->root = xstrdup(maildir_root);
	if (maildir_ensure(maildir_root) < 0 ||
	    bsnprintf(path, sizeof(path), "%s/%s", maildir_root, MBOX_INDEX_FILE) < 0) {
		snprintf(err, errlen, "%s: cannot use Maildir: %s", maildir_root, strerror(errno));
		goto fail;
	}
	int version = migrate_read_version(path, err, errlen);
	if (version < 0)
		goto fail;
	if (sqlite3_open_v2(path, &ms->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	                    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, ms->db ? sqlite3_errmsg(ms->db) : "out of memory");
		goto fail;
	}
	store_busy_wait(ms->db);   /* short even waits: sessions on two workers share it */
	/* one of these is open per active user and worker: no 120 KiB lookaside each */
	sqlite3_db_config(ms->db, SQLITE_DBCONFIG_LOOKASIDE, NULL, 0, 0);
	/* a small page cache: one of these is open per active user and worker
	 * (mbox_headers_put raises it for a while: keep the two in step) */
	sqlite3_exec(ms->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
	             "PRAGMA foreign_keys=ON; PRAGMA cache_size=-32;", NULL, NULL, NULL);
	char backups[4200];
	snprintf(backups, sizeof(backups), "%s/.postern-backups", maildir_root);
	if (migrate_run(ms->db, path, backups, index_steps, ARRAY_LEN(index_steps), err, errlen) < 0)
		goto fail;
	/* A session on another worker may have created the schema while this
	 * connection waited for its lock: the connection still holds the empty
	 * one it read at open, and would prepare against it ("no such table").
	 * Running a statement makes it see the schema cookie move and reload. */
	sqlite3_exec(ms->db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
	if (version == 0) {
		sqlite3_exec(ms->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		struct mbox_info inbox;
		bool made = mbox_find(ms, "INBOX", &inbox) == MBOX_NOT_FOUND;
		if (made && populate_new_index(ms) != MBOX_OK) {
			sqlite3_exec(ms->db, "ROLLBACK", NULL, NULL, NULL);
			snprintf(err, errlen, "%s: cannot create the mailboxes", path);
			goto fail;
		}
		sqlite3_exec(ms->db, "COMMIT", NULL, NULL, NULL);
		if (made)
			note_rebuild(ms);
	}
	if (stat(path, &ms->index_file) < 0)
		memset(&ms->index_file, 0, sizeof(ms->index_file));
	return ms;
fail:
	mbox_close(ms);
	return NULL;
}

sqlite3_stmt *mbox_stmt(struct mbox_store *ms, const char *sql)
{
	return stmt_cache_get(&ms->stmts, ms->db, sql);
}

void mbox_stmt_done(sqlite3_stmt *st)
{
	stmt_cache_done(st);
}

bool mbox_index_replaced(const struct mbox_store *ms)
{
	char path[4096];
	struct stat now;
	return bsnprintf(path, sizeof(path), "%s/%s", ms->root, MBOX_INDEX_FILE) < 0 ||
	       stat(path, &now) < 0 || now.st_ino != ms->index_file.st_ino ||
	       now.st_dev != ms->index_file.st_dev;
}

void mbox_close(struct mbox_store *ms)
{
	if (ms == NULL)
		return;
	mbox_set_usage_sink(ms, NULL);
	stmt_cache_free(&ms->stmts);
	for (size_t i = 0; i < ms->npending; i++) {
		free(ms->pending[i].envelope);
		free(ms->pending[i].bodystructure);
		free(ms->pending[i].body);
	}
	free(ms->pending);
	maildir_keywords_free(&ms->kw);
	sqlite3_close(ms->db);
	free(ms->root);
	free(ms);
}

/* ---- mailboxes ------------------------------------------------------------------- */

/* the counts are kept by the messages_count_* triggers */
#define MBOX_COLUMNS "id, name, uidvalidity, uidnext, highestmodseq, " MBOX_SUBSCRIBED_SQL ", " \
	"special_use, n_messages, n_unseen, total_size, recent_uid"

static void read_info(sqlite3_stmt *s, struct mbox_info *mb)
{
	memset(mb, 0, sizeof(*mb));
	mb->id = sqlite3_column_int64(s, 0);
	str_copy(mb->name, sizeof(mb->name), (const char *)sqlite3_column_text(s, 1));
	mb->uidvalidity = (uint32_t)sqlite3_column_int64(s, 2);
	mb->uidnext = (uint32_t)sqlite3_column_int64(s, 3);
	mb->highestmodseq = (uint64_t)sqlite3_column_int64(s, 4);
	mb->subscribed = sqlite3_column_int(s, 5) != 0;
	str_copy(mb->special_use, sizeof(mb->special_use), (const char *)sqlite3_column_text(s, 6));
	mb->messages = (uint32_t)sqlite3_column_int64(s, 7);
	mb->unseen = (uint32_t)sqlite3_column_int64(s, 8);
	mb->size = (uint64_t)sqlite3_column_int64(s, 9);
	mb->recent_uid = (uint32_t)sqlite3_column_int64(s, 10);
}

int mbox_list(struct mbox_store *ms, mbox_info_cb cb, void *arg)
{
	sqlite3_stmt *s;
	struct mbox_info mb;
	int rc;
	if (sqlite3_prepare_v2(ms->db, "SELECT " MBOX_COLUMNS " FROM mailboxes ORDER BY "
	                       "name <> 'INBOX', name", -1, &s, NULL) != SQLITE_OK)
		return MBOX_ERROR;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		read_info(s, &mb);
		cb(arg, &mb);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? MBOX_OK : MBOX_ERROR;
}

static const char find_sql[] = "SELECT " MBOX_COLUMNS " FROM mailboxes WHERE name = ?1";

int mbox_find(struct mbox_store *ms, const char *name, struct mbox_info *out)
{
	sqlite3_stmt *s = mbox_stmt(ms, find_sql);
	if (s == NULL)
		return MBOX_ERROR;
	sqlite3_bind_text(s, 1, is_inbox(name) ? "INBOX" : name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		read_info(s, out);
	mbox_stmt_done(s);
	return mbox_row_result(rc);
}

static const char refresh_sql[] =
	"SELECT uidvalidity, uidnext, highestmodseq, " MBOX_SUBSCRIBED_SQL ", name, recent_uid "
	"FROM mailboxes WHERE id = ?1";

int mbox_refresh(struct mbox_store *ms, struct mbox_info *mb)
{
	sqlite3_stmt *s = mbox_stmt(ms, refresh_sql);
	if (s == NULL)
		return MBOX_ERROR;
	sqlite3_bind_int64(s, 1, mb->id);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		mb->uidvalidity = (uint32_t)sqlite3_column_int64(s, 0);
		mb->uidnext = (uint32_t)sqlite3_column_int64(s, 1);
		mb->highestmodseq = (uint64_t)sqlite3_column_int64(s, 2);
		mb->subscribed = sqlite3_column_int(s, 3) != 0;
		/* a session may have renamed it meanwhile (RFC 9051 6.3.6) */
		str_copy(mb->name, sizeof(mb->name), (const char *)sqlite3_column_text(s, 4));
		mb->recent_uid = (uint32_t)sqlite3_column_int64(s, 5);
	}
	mbox_stmt_done(s);
	return mbox_row_result(rc);
}

int mbox_claim_recent(struct mbox_store *ms, struct mbox_info *mb, uint32_t up_to, uint32_t *was)
{
	*was = up_to;
	/* recent_uid only grows: a stale copy at or above up_to is right too */
	if (mb->recent_uid >= up_to)
		return MBOX_OK;
	/* read and raise it under the write lock: of two sessions claiming at
	 * once, on two workers or in two processes, one gets each message */
	if (sqlite3_exec(ms->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return MBOX_ERROR;
	int rc = mbox_refresh(ms, mb);
	if (rc == MBOX_OK) {
		*was = mb->recent_uid;
		if (mb->recent_uid < up_to) {
			sqlite3_stmt *s = mbox_stmt(ms, "UPDATE mailboxes SET recent_uid = ?2 WHERE id = ?1");
			rc = MBOX_ERROR;
			if (s != NULL) {
				sqlite3_bind_int64(s, 1, mb->id);
				sqlite3_bind_int64(s, 2, up_to);
				rc = sqlite3_step(s) == SQLITE_DONE ? MBOX_OK : MBOX_ERROR;
				mbox_stmt_done(s);
			}
		}
	}
	if (sqlite3_exec(ms->db, rc == MBOX_OK ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK &&
	    rc == MBOX_OK) {
		sqlite3_exec(ms->db, "ROLLBACK", NULL, NULL, NULL);
		rc = MBOX_ERROR;
	}
	if (rc == MBOX_OK && mb->recent_uid < up_to)
		mb->recent_uid = up_to;
	if (rc != MBOX_OK)
		*was = up_to;   /* nothing claimed */
	return rc;
}

int mbox_count(struct mbox_store *ms, uint32_t *n)
{
	sqlite3_stmt *s = mbox_stmt(ms, "SELECT count(*) FROM mailboxes");
	if (s == NULL)
		return MBOX_ERROR;
	int rc = mbox_row_result(sqlite3_step(s));
	*n = rc == MBOX_OK ? (uint32_t)sqlite3_column_int64(s, 0) : 0;
	mbox_stmt_done(s);
	return rc;
}

int mbox_create(struct mbox_store *ms, const char *name, const char *special_use)
{
	char parent[MBOX_NAME_MAX + 1];
	struct mbox_info mb;
	if (!mbox_name_valid(name) || is_inbox(name))
		return is_inbox(name) ? MBOX_EXISTS : MBOX_INVALID;
	/* RFC 9051 6.3.4: creating "a/b" creates "a" too when it is missing */
	str_copy(parent, sizeof(parent), name);
	for (char *slash = strchr(parent, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mbox_find(ms, parent, &mb) == MBOX_NOT_FOUND &&
		    insert_mailbox(ms, parent, NULL) == MBOX_ERROR)
			return MBOX_ERROR;
		*slash = '/';
	}
	return insert_mailbox(ms, name, special_use);
}

static bool has_children(struct mbox_store *ms, const char *name)
{
	sqlite3_stmt *s;
	char prefix[MBOX_NAME_MAX + 3];
	snprintf(prefix, sizeof(prefix), "%s/", name);
	if (sqlite3_prepare_v2(ms->db, "SELECT 1 FROM mailboxes WHERE substr(name, 1, ?2) = ?1",
	                       -1, &s, NULL) != SQLITE_OK)
		return true;
	sqlite3_bind_text(s, 1, prefix, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, (int)strlen(prefix));
	bool found = sqlite3_step(s) == SQLITE_ROW;
	sqlite3_finalize(s);
	return found;
}

static int remove_tree(const char *dir)
{
	static const char *const subdirs[] = { "new", "cur", "tmp" };
	char path[4200];
	for (size_t i = 0; i < ARRAY_LEN(subdirs); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, subdirs[i]);
		mbox_unlink_all(path);
		rmdir(path);
	}
	mbox_unlink_all(dir);
	return rmdir(dir) == 0 || errno == ENOENT ? 0 : -1;
}

/* The mailbox's row, its messages' with it (ON DELETE CASCADE): they leave
 * the totals, so it is a write transaction the usage sink hears of. */
static int delete_row(struct mbox_store *ms, long long id)
{
	sqlite3_stmt *s;
	if (sqlite3_exec(ms->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return MBOX_ERROR;
	mbox_usage_begin(ms);
	int rc = MBOX_ERROR;
	if (sqlite3_prepare_v2(ms->db, "DELETE FROM mailboxes WHERE id = ?1", -1, &s, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(s, 1, id);
		rc = sqlite3_step(s) == SQLITE_DONE ? MBOX_OK : MBOX_ERROR;
		sqlite3_finalize(s);
	}
	if (rc == MBOX_OK)
		mbox_usage_end(ms, false);
	if (sqlite3_exec(ms->db, rc == MBOX_OK ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL) == SQLITE_OK)
		return rc;
	sqlite3_exec(ms->db, "ROLLBACK", NULL, NULL, NULL);
	return MBOX_ERROR;
}

int mbox_delete(struct mbox_store *ms, const char *name)
{
	struct mbox_info mb;
	char dir[4096];
	if (is_inbox(name))
		return MBOX_INVALID;
	int rc = mbox_find(ms, name, &mb);
	if (rc != MBOX_OK)
		return rc;
	if (has_children(ms, name))
		return MBOX_IN_USE;
	if (mbox_dir(ms, name, dir, sizeof(dir)) < 0)
		return MBOX_ERROR;
	rc = delete_row(ms, mb.id);
	if (rc == MBOX_OK)
		remove_tree(dir);
	return rc;
}

static int rename_one(struct mbox_store *ms, long long id, const char *from, const char *to)
{
	char from_dir[4096], to_dir[4096];
	sqlite3_stmt *s;
	if (mbox_dir(ms, from, from_dir, sizeof(from_dir)) < 0 ||
	    mbox_dir(ms, to, to_dir, sizeof(to_dir)) < 0 || rename(from_dir, to_dir) < 0)
		return MBOX_ERROR;
	if (sqlite3_prepare_v2(ms->db, "UPDATE mailboxes SET name = ?1 WHERE id = ?2", -1, &s,
	                       NULL) != SQLITE_OK) {
		rename(to_dir, from_dir);
		return MBOX_ERROR;
	}
	sqlite3_bind_text(s, 1, to, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, id);
	int rc = sqlite3_step(s) == SQLITE_DONE ? MBOX_OK : MBOX_ERROR;
	sqlite3_finalize(s);
	/* the subscription follows the mailbox, as it did when it was a column */
	if (rc == MBOX_OK && sqlite3_prepare_v2(ms->db, "UPDATE OR REPLACE subscriptions SET name = ?1 "
	                                        "WHERE name = ?2", -1, &s, NULL) == SQLITE_OK) {
		sqlite3_bind_text(s, 1, to, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, from, -1, SQLITE_STATIC);
		rc = sqlite3_step(s) == SQLITE_DONE ? MBOX_OK : MBOX_ERROR;
		sqlite3_finalize(s);
	}
	if (rc != MBOX_OK)
		rename(to_dir, from_dir);
	return rc;
}

struct rename_set {
	const char *prefix;
	size_t plen;
	struct mbox_info *kids;
	size_t n, cap;
};

static void collect_child(void *arg, const struct mbox_info *mb)
{
	struct rename_set *rs = arg;
	if (strncmp(mb->name, rs->prefix, rs->plen) != 0 || mb->name[rs->plen] != '/')
		return;
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 8;
		rs->kids = xrealloc(rs->kids, rs->cap * sizeof(struct mbox_info));
	}
	rs->kids[rs->n++] = *mb;
}

/* RFC 9051 6.3.6: the mailbox and everything below it move together. */
int mbox_rename(struct mbox_store *ms, const char *from, const char *to)
{
	struct mbox_info mb, other;
	if (is_inbox(from) || !mbox_name_valid(to) || is_inbox(to))
		return MBOX_INVALID;   /* renaming INBOX (moving its mail) is not offered */
	int rc = mbox_find(ms, from, &mb);
	if (rc != MBOX_OK)
		return rc;
	if (mbox_find(ms, to, &other) == MBOX_OK)
		return MBOX_EXISTS;
	size_t flen = strlen(from);
	if (strncmp(to, from, flen) == 0 && to[flen] == '/')
		return MBOX_INVALID;   /* into itself */
	struct rename_set rs = { from, flen, NULL, 0, 0 };
	mbox_list(ms, collect_child, &rs);
	for (size_t i = 0; i < rs.n; i++) {
		char newname[2 * MBOX_NAME_MAX + 2];
		snprintf(newname, sizeof(newname), "%s%s", to, rs.kids[i].name + flen);
		if (!mbox_name_valid(newname) || mbox_find(ms, newname, &other) == MBOX_OK) {
			free(rs.kids);
			return mbox_name_valid(newname) ? MBOX_EXISTS : MBOX_INVALID;
		}
	}
	sqlite3_exec(ms->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	rc = rename_one(ms, mb.id, from, to);
	/* children after the parent: their directories are siblings on disk (Maildir++) */
	for (size_t i = 0; rc == MBOX_OK && i < rs.n; i++) {
		char newname[2 * MBOX_NAME_MAX + 2];
		snprintf(newname, sizeof(newname), "%s%s", to, rs.kids[i].name + flen);
		rc = rename_one(ms, rs.kids[i].id, rs.kids[i].name, newname);
	}
	sqlite3_exec(ms->db, rc == MBOX_OK ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
	free(rs.kids);
	return rc;
}

int mbox_subscribe(struct mbox_store *ms, const char *name, bool on)
{
	struct mbox_info mb;
	const char *canon = is_inbox(name) ? "INBOX" : name;
	if (on && !is_inbox(name) && !mbox_name_valid(name))
		return MBOX_INVALID;
	int rc = subscribe_row(ms, canon, on);
	if (rc != MBOX_OK || on || sqlite3_changes(ms->db) > 0)
		return rc;
	/* unsubscribing what was not subscribed: fine for a mailbox that exists */
	return mbox_find(ms, canon, &mb);
}

int mbox_subscribe_other(struct mbox_store *ms, const char *name, bool on)
{
	size_t len = strlen(name);
	if (on && (len == 0 || len > MBOX_NAME_MAX || !utf8_valid(name, len)))
		return MBOX_INVALID;
	int rc = subscribe_row(ms, name, on);
	return rc == MBOX_OK && !on && sqlite3_changes(ms->db) == 0 ? MBOX_NOT_FOUND : rc;
}

int mbox_subscriptions(struct mbox_store *ms, void (*cb)(void *arg, const char *name), void *arg)
{
	sqlite3_stmt *s = mbox_stmt(ms, "SELECT name FROM subscriptions ORDER BY name");
	int rc;
	if (s == NULL)
		return MBOX_ERROR;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		cb(arg, (const char *)sqlite3_column_text(s, 0));
	mbox_stmt_done(s);
	return rc == SQLITE_DONE ? MBOX_OK : MBOX_ERROR;
}

int mbox_subscription_count(struct mbox_store *ms, uint32_t *n)
{
	sqlite3_stmt *s = mbox_stmt(ms, "SELECT count(*) FROM subscriptions");
	if (s == NULL)
		return MBOX_ERROR;
	int rc = mbox_row_result(sqlite3_step(s));
	*n = rc == MBOX_OK ? (uint32_t)sqlite3_column_int64(s, 0) : 0;
	mbox_stmt_done(s);
	return rc;
}
