/* SQLite implementation of store.h (the embedded default backend). */
#include "store/store.h"

#include <sqlite3.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"
#include "store/migrate.h"
#include "store/store_sqlite_int.h"

/* Append-only: never edit a released step, add a new one. */
static const struct migration schema_steps[] = {
	{ 1,
	  "CREATE TABLE domains ("
	  "  name TEXT PRIMARY KEY COLLATE NOCASE,"
	  "  created INTEGER NOT NULL);"
	  "CREATE TABLE users ("
	  "  local TEXT NOT NULL COLLATE NOCASE,"
	  "  domain TEXT NOT NULL COLLATE NOCASE REFERENCES domains(name),"
	  "  password TEXT NOT NULL,"
	  "  created INTEGER NOT NULL,"
	  "  PRIMARY KEY (local, domain));"
	  "CREATE TABLE aliases ("
	  "  local TEXT NOT NULL COLLATE NOCASE,"
	  "  domain TEXT NOT NULL COLLATE NOCASE REFERENCES domains(name),"
	  "  target TEXT NOT NULL COLLATE NOCASE,"
	  "  created INTEGER NOT NULL,"
	  "  PRIMARY KEY (local, domain, target));" },
	{ 2,
	  /* the outbound queue: one row per message, one per recipient */
	  "CREATE TABLE queue_messages ("
	  "  id TEXT PRIMARY KEY,"
	  "  sender TEXT NOT NULL,"
	  "  path TEXT NOT NULL,"
	  "  size INTEGER NOT NULL,"
	  "  smtputf8 INTEGER NOT NULL DEFAULT 0,"
	  "  created INTEGER NOT NULL,"
	  "  held INTEGER NOT NULL DEFAULT 0,"
	  "  warned INTEGER NOT NULL DEFAULT 0);"
	  "CREATE TABLE queue_rcpts ("
	  "  id INTEGER PRIMARY KEY,"
	  "  msg_id TEXT NOT NULL REFERENCES queue_messages(id) ON DELETE CASCADE,"
	  "  rcpt TEXT NOT NULL,"
	  "  domain TEXT NOT NULL COLLATE NOCASE,"
	  "  status TEXT NOT NULL DEFAULT 'pending',"
	  "  attempts INTEGER NOT NULL DEFAULT 0,"
	  "  next_attempt INTEGER NOT NULL,"
	  "  last_error TEXT,"
	  "  updated INTEGER NOT NULL);"
	  "CREATE INDEX queue_rcpts_due ON queue_rcpts(status, next_attempt);"
	  "CREATE INDEX queue_rcpts_msg ON queue_rcpts(msg_id);"
	  "CREATE TABLE dkim_keys ("
	  "  domain TEXT NOT NULL COLLATE NOCASE,"
	  "  selector TEXT NOT NULL,"
	  "  algorithm TEXT NOT NULL,"
	  "  path TEXT NOT NULL,"
	  "  created INTEGER NOT NULL,"
	  "  PRIMARY KEY (domain, selector));" },
	{ 3,
	  /* authentication: SCRAM keys kept beside the password hash (RFC 5803 form),
	   * a per-user switch for the sender check, and the auth rate limiter's state */
	  "ALTER TABLE users ADD COLUMN scram TEXT;"
	  "ALTER TABLE users ADD COLUMN any_sender INTEGER NOT NULL DEFAULT 0;"
	  "CREATE TABLE auth_failures ("
	  "  kind TEXT NOT NULL,"
	  "  key TEXT NOT NULL,"
	  "  ts INTEGER NOT NULL);"
	  "CREATE INDEX auth_failures_key ON auth_failures(kind, key, ts);"
	  "CREATE TABLE auth_blocks ("
	  "  kind TEXT NOT NULL,"
	  "  key TEXT NOT NULL,"
	  "  until INTEGER NOT NULL,"
	  "  reason TEXT NOT NULL,"
	  "  created INTEGER NOT NULL,"
	  "  PRIMARY KEY (kind, key));" },
	{ 4,
	  /* quotas: a user's own limits (NULL: the configured default; 0: none)
	   * and usage. Usage is the user's mailbox index's totals as it last
	   * reported them, plus what deliveries put in the Maildir since and the
	   * index has not taken in yet (src/store/quota.h explains the rows) */
	  "ALTER TABLE users ADD COLUMN quota_storage INTEGER;"
	  "ALTER TABLE users ADD COLUMN quota_messages INTEGER;"
	  "CREATE TABLE quota_usage ("
	  "  local TEXT NOT NULL COLLATE NOCASE,"
	  "  domain TEXT NOT NULL COLLATE NOCASE,"
	  "  storage INTEGER NOT NULL DEFAULT 0,"
	  "  messages INTEGER NOT NULL DEFAULT 0,"
	  "  pending_storage INTEGER NOT NULL DEFAULT 0,"
	  "  pending_messages INTEGER NOT NULL DEFAULT 0,"
	  "  warned INTEGER NOT NULL DEFAULT 0,"
	  "  PRIMARY KEY (local, domain),"
	  "  FOREIGN KEY (local, domain) REFERENCES users(local, domain) ON DELETE CASCADE);" },
	{ 5,
	  /* master users (auth/master.h): an administrator's name and Argon2id
	   * hash, apart from the users; they log in as any user when
	   * auth.master_login is on */
	  "CREATE TABLE master_users ("
	  "  name TEXT PRIMARY KEY COLLATE NOCASE,"
	  "  password TEXT NOT NULL,"
	  "  created INTEGER NOT NULL);" },
	{ 6,
	  /* shared mailboxes (RFC 4314 ACLs): a grant of rights ("lrs") on an
	   * owner's mailbox (its name in the owner's namespace) to another user.
	   * The grantee has no domain column: it is the owner's, so that a grant
	   * across domains cannot even be written. Grants go with either user. */
	  "CREATE TABLE mailbox_acl ("
	  "  owner_local TEXT NOT NULL COLLATE NOCASE,"
	  "  owner_domain TEXT NOT NULL COLLATE NOCASE,"
	  "  mailbox TEXT NOT NULL,"
	  "  grantee_local TEXT NOT NULL COLLATE NOCASE,"
	  "  rights TEXT NOT NULL,"
	  "  created INTEGER NOT NULL,"
	  "  PRIMARY KEY (owner_local, owner_domain, mailbox, grantee_local),"
	  "  FOREIGN KEY (owner_local, owner_domain) REFERENCES users(local, domain) ON DELETE CASCADE,"
	  "  FOREIGN KEY (grantee_local, owner_domain) REFERENCES users(local, domain) "
	  "    ON DELETE CASCADE);"
	  "CREATE INDEX mailbox_acl_grantee ON mailbox_acl(owner_domain, grantee_local);" },
	{ 7,
	  /* DMARC aggregate data (store_dmarc.h): messages counted per UTC day,
	   * policy domain and the facts a report row holds; per domain-day the
	   * policy published and whether any of its mail passed; per day the
	   * rows and the events dropped by the caps. An event is one INSERT
	   * into the view dmarc_events, whose trigger counts it or drops it */
	  "CREATE TABLE dmarc_days ("
	  "  day INTEGER PRIMARY KEY,"
	  "  nrows INTEGER NOT NULL DEFAULT 0,"
	  "  drops INTEGER NOT NULL DEFAULT 0);"
	  "CREATE TABLE dmarc_domains ("
	  "  day INTEGER NOT NULL,"
	  "  policy_domain TEXT NOT NULL,"
	  "  p TEXT NOT NULL DEFAULT 'none',"
	  "  sp TEXT NOT NULL DEFAULT '',"
	  "  pct INTEGER NOT NULL DEFAULT 100,"
	  "  adkim TEXT NOT NULL DEFAULT 'r',"
	  "  aspf TEXT NOT NULL DEFAULT 'r',"
	  "  rua TEXT NOT NULL DEFAULT '',"
	  "  passed INTEGER NOT NULL DEFAULT 0,"
	  "  nrows INTEGER NOT NULL DEFAULT 0,"
	  "  PRIMARY KEY (day, policy_domain));"
	  "CREATE TABLE dmarc_rows ("
	  "  day INTEGER NOT NULL,"
	  "  policy_domain TEXT NOT NULL,"
	  "  source_ip TEXT NOT NULL,"
	  "  header_from TEXT NOT NULL,"
	  "  disposition TEXT NOT NULL,"
	  "  dkim_aligned INTEGER NOT NULL,"
	  "  spf_aligned INTEGER NOT NULL,"
	  "  dkim_domain TEXT NOT NULL,"
	  "  dkim_result TEXT NOT NULL,"
	  "  spf_domain TEXT NOT NULL,"
	  "  spf_result TEXT NOT NULL,"
	  "  count INTEGER NOT NULL DEFAULT 1,"
	  "  PRIMARY KEY (day, policy_domain, source_ip, header_from, disposition, dkim_aligned,"
	  "    spf_aligned, dkim_domain, dkim_result, spf_domain, spf_result)) WITHOUT ROWID;"
	  "CREATE TRIGGER dmarc_row_added AFTER INSERT ON dmarc_rows BEGIN"
	  "  INSERT INTO dmarc_domains(day, policy_domain, nrows) VALUES (new.day, new.policy_domain, 1)"
	  "    ON CONFLICT(day, policy_domain) DO UPDATE SET nrows = nrows + 1;"
	  "  UPDATE dmarc_days SET nrows = nrows + 1 WHERE day = new.day;"
	  "END;"
	  "CREATE VIEW dmarc_events AS SELECT r.day, r.policy_domain, r.source_ip, r.header_from,"
	  "  r.disposition, r.dkim_aligned, r.spf_aligned, r.dkim_domain, r.dkim_result,"
	  "  r.spf_domain, r.spf_result, d.passed AS dmarc_pass, d.p, d.sp, d.pct, d.adkim, d.aspf,"
	  "  d.rua, 0 AS max_domain_rows, 0 AS max_day_rows"
	  "  FROM dmarc_rows r JOIN dmarc_domains d USING (day, policy_domain);"
	  /* a known row is counted; a new one is added while its domain-day and
	   * its day are under their caps, else the day's drops are counted */
	  "CREATE TRIGGER dmarc_event_recorded INSTEAD OF INSERT ON dmarc_events BEGIN"
	  "  INSERT INTO dmarc_days(day) VALUES (new.day) ON CONFLICT DO NOTHING;"
	  "  UPDATE dmarc_rows SET count = count + 1 WHERE day = new.day"
	  "    AND policy_domain = new.policy_domain AND source_ip = new.source_ip"
	  "    AND header_from = new.header_from AND disposition = new.disposition"
	  "    AND dkim_aligned = new.dkim_aligned AND spf_aligned = new.spf_aligned"
	  "    AND dkim_domain = new.dkim_domain AND dkim_result = new.dkim_result"
	  "    AND spf_domain = new.spf_domain AND spf_result = new.spf_result;"
	  "  INSERT INTO dmarc_rows(day, policy_domain, source_ip, header_from, disposition,"
	  "    dkim_aligned, spf_aligned, dkim_domain, dkim_result, spf_domain, spf_result)"
	  "    SELECT new.day, new.policy_domain, new.source_ip, new.header_from, new.disposition,"
	  "    new.dkim_aligned, new.spf_aligned, new.dkim_domain, new.dkim_result, new.spf_domain,"
	  "    new.spf_result WHERE changes() = 0"
	  "    AND coalesce((SELECT nrows FROM dmarc_domains WHERE day = new.day"
	  "      AND policy_domain = new.policy_domain), 0) < new.max_domain_rows"
	  "    AND (SELECT nrows FROM dmarc_days WHERE day = new.day) < new.max_day_rows;"
	  "  UPDATE dmarc_days SET drops = drops + 1 WHERE day = new.day AND changes() = 0"
	  "    AND NOT EXISTS (SELECT 1 FROM dmarc_rows WHERE day = new.day"
	  "    AND policy_domain = new.policy_domain AND source_ip = new.source_ip"
	  "    AND header_from = new.header_from AND disposition = new.disposition"
	  "    AND dkim_aligned = new.dkim_aligned AND spf_aligned = new.spf_aligned"
	  "    AND dkim_domain = new.dkim_domain AND dkim_result = new.dkim_result"
	  "    AND spf_domain = new.spf_domain AND spf_result = new.spf_result);"
	  "  UPDATE dmarc_domains SET p = new.p, sp = new.sp, pct = new.pct, adkim = new.adkim,"
	  "    aspf = new.aspf, rua = new.rua, passed = passed OR new.dmarc_pass"
	  "    WHERE day = new.day AND policy_domain = new.policy_domain;"
	  "END;"
	  /* what became of each domain-day's data (sent, or why not), and the
	   * report runs' schedule */
	  "CREATE TABLE dmarc_reports ("
	  "  day INTEGER NOT NULL,"
	  "  policy_domain TEXT NOT NULL,"
	  "  status TEXT NOT NULL,"
	  "  report_id TEXT NOT NULL DEFAULT '',"
	  "  rcpts TEXT NOT NULL DEFAULT '',"
	  "  detail TEXT NOT NULL DEFAULT '',"
	  "  created INTEGER NOT NULL,"
	  "  PRIMARY KEY (day, policy_domain));"
	  "CREATE INDEX dmarc_reports_created ON dmarc_reports(created);"
	  "CREATE TABLE dmarc_state ("
	  "  key TEXT PRIMARY KEY,"
	  "  value INTEGER NOT NULL);" },
	{ 8,
	  /* greylisting (store_greylist.h): one row per triplet of client
	   * network, envelope sender and recipient; passed is when it passed
	   * (0: not yet). greylist_size counts the rows (its triggers), so that
	   * the cap costs no count(*). A user may opt out (users.greylist = 0) */
	  "CREATE TABLE greylist ("
	  "  net TEXT NOT NULL,"
	  "  sender TEXT NOT NULL,"
	  "  rcpt TEXT NOT NULL,"
	  "  first_seen INTEGER NOT NULL,"
	  "  passed INTEGER NOT NULL DEFAULT 0,"
	  "  last_seen INTEGER NOT NULL,"
	  "  PRIMARY KEY (net, sender, rcpt));"
	  /* the cap drops pending rows first, oldest first; then the oldest passes */
	  "CREATE INDEX greylist_age ON greylist(passed, first_seen);"
	  "CREATE INDEX greylist_seen ON greylist(last_seen);"
	  "CREATE INDEX greylist_net_passed ON greylist(net, passed);"
	  "CREATE TABLE greylist_size (n INTEGER NOT NULL);"
	  "INSERT INTO greylist_size VALUES (0);"
	  "CREATE TRIGGER greylist_added AFTER INSERT ON greylist BEGIN"
	  "  UPDATE greylist_size SET n = n + 1;"
	  "END;"
	  "CREATE TRIGGER greylist_removed AFTER DELETE ON greylist BEGIN"
	  "  UPDATE greylist_size SET n = n - 1;"
	  "END;"
	  "ALTER TABLE users ADD COLUMN greylist INTEGER NOT NULL DEFAULT 1;" },
	/* where mail judged as junk goes (store_junk.h): 1 the Junk folder, 0 the inbox */
	{ 9, "ALTER TABLE users ADD COLUMN junk INTEGER NOT NULL DEFAULT 1;" },
	{ 10,
	  /* the networks (a /24, a /64) each username logged in from, and when
	   * last (store_auth.h): from those its password works while the
	   * username is blocked. A few rows per user, the oldest dropped */
	  "CREATE TABLE auth_known_networks ("
	  "  user TEXT NOT NULL,"
	  "  network TEXT NOT NULL,"
	  "  last_login INTEGER NOT NULL,"
	  "  PRIMARY KEY (user, network));"
	  "CREATE INDEX auth_known_networks_age ON auth_known_networks(last_login);" },
	/* a user's own send rate limits (store_sendlimit.h): NULL the
	 * configuration's, 0 none; gone with the user */
	{ 11,
	  "CREATE TABLE send_limits ("
	  "  local TEXT NOT NULL COLLATE NOCASE,"
	  "  domain TEXT NOT NULL COLLATE NOCASE,"
	  "  messages_per_minute INTEGER, messages_per_hour INTEGER, messages_per_day INTEGER,"
	  "  recipients_per_minute INTEGER, recipients_per_hour INTEGER, recipients_per_day INTEGER,"
	  "  PRIMARY KEY (local, domain),"
	  "  FOREIGN KEY (local, domain) REFERENCES users(local, domain) ON DELETE CASCADE);" },
	{ 12,
	  /* automatic and admin bans (store_ban.h): one row per client key or
	   * network; a row past its end is remembered for doubling until the
	   * server forgets it. ban_generation changes with every write (its
	   * triggers), so that a server sees the CLI's changes without reading
	   * every row each time */
	  "CREATE TABLE bans ("
	  "  key TEXT PRIMARY KEY,"
	  "  until_ms INTEGER NOT NULL,"
	  "  created_ms INTEGER NOT NULL,"
	  "  offences INTEGER NOT NULL,"
	  "  reason TEXT NOT NULL,"
	  "  source TEXT NOT NULL);"
	  "CREATE INDEX bans_until ON bans(until_ms);"
	  "CREATE TABLE ban_generation (n INTEGER NOT NULL);"
	  "INSERT INTO ban_generation VALUES (0);"
	  "CREATE TRIGGER bans_added AFTER INSERT ON bans BEGIN"
	  "  UPDATE ban_generation SET n = n + 1;"
	  "END;"
	  "CREATE TRIGGER bans_changed AFTER UPDATE ON bans BEGIN"
	  "  UPDATE ban_generation SET n = n + 1;"
	  "END;"
	  "CREATE TRIGGER bans_removed AFTER DELETE ON bans BEGIN"
	  "  UPDATE ban_generation SET n = n + 1;"
	  "END;" },
};

static const char *const stmt_sql[Q_COUNT] = {
	[Q_DOMAIN_EXISTS] = "SELECT 1 FROM domains WHERE name = ?1",
	[Q_USER_EXISTS] = "SELECT 1 FROM users WHERE local = ?1 AND domain = ?2",
	[Q_ALIAS_TARGETS] = "SELECT target FROM aliases WHERE local = ?1 AND domain = ?2 ORDER BY target",
	[Q_USER_PASSWORD] = "SELECT password FROM users WHERE local = ?1 AND domain = ?2",
	/* a user's limits and usage (store_quota_get); pending usage cannot go
	 * below 0 by design (claims are serialized), max() only guards */
	[Q_QUOTA_GET] = "SELECT u.quota_storage, u.quota_messages, "
	                "coalesce(q.storage, 0) + max(coalesce(q.pending_storage, 0), 0), "
	                "coalesce(q.messages, 0) + max(coalesce(q.pending_messages, 0), 0), "
	                "coalesce(q.warned, 0) FROM users u LEFT JOIN quota_usage q "
	                "ON q.local = u.local AND q.domain = u.domain "
	                "WHERE u.local = ?1 AND u.domain = ?2",
};

/* SQLite's own busy_timeout backs off to 100 ms sleeps: under steady
 * contention between the committers and the queue runner that idles the
 * writers. Short, even waits keep the lock moving; 5 s is still the limit. */
static int busy_wait(void *arg, int count)
{
	(void)arg;
	if (count >= 5000 * 5)
		return 0;
	usleep(200);
	return 1;
}

/* SQLite's error log: every failed step, including ones whose caller only
 * reports "failed", leaves its reason in the server's log. Notices,
 * warnings, schema changes SQLite handles itself and constraint failures
 * go to debug. */
static void sqlite_log(void *arg, int code, const char *msg)
{
	(void)arg;
	int primary = code & 0xff;
	/* constraint failures are answers (a mailbox name taken), not faults */
	enum log_level level = primary == SQLITE_NOTICE || primary == SQLITE_WARNING ||
	                       primary == SQLITE_SCHEMA || primary == SQLITE_CONSTRAINT
	                       ? LOG_DEBUG : LOG_WARN;
	log_event(level, "sqlite.error", "i", "code", code, "s", "message", msg, NULL);
}

void store_sqlite_configure(void)
{
	sqlite3_config(SQLITE_CONFIG_LOG, sqlite_log, NULL);
	/* no up-front page cache per connection: Debian's SQLite gives each
	 * connection a 20-page bulk allocation (85 KiB) on first use, and a
	 * mailbox index is open per active user and worker; pages now come one
	 * by one, up to each connection's cache_size */
	sqlite3_config(SQLITE_CONFIG_PAGECACHE, NULL, 0, 0);
}

void store_busy_wait(sqlite3 *db)
{
	sqlite3_busy_handler(db, busy_wait, NULL);
}

int store_db_error(struct store *st, char *err, size_t errlen, const char *what)
{
	if (err != NULL)
		snprintf(err, errlen, "%s: %s", what, sqlite3_errmsg(st->db));
	return STORE_ERROR;
}

static int open_db(struct store *st, const char *path, bool migrate, char *err, size_t errlen)
{
	int latest = schema_steps[ARRAY_LEN(schema_steps) - 1].version;
	int version = migrate_read_version(path, err, errlen);
	if (version < 0)
		return -1;
	if (version > latest) {
		snprintf(err, errlen, "%s: schema version %d is newer than this postern knows (%d); "
		         "run a newer postern or restore a backup; the database was not changed",
		         path, version, latest);
		return -1;
	}
	/* a server of the old version may be running on it: only serve (or an
	 * explicit `store migrate`) upgrades; a new database is simply created */
	if (!migrate && version > 0 && version < latest) {
		snprintf(err, errlen, "%s: schema version %d is older than this postern's (%d); "
		         "upgrade the server first (postern serve migrates it at start, after a "
		         "backup) or run `postern store migrate`; the database was not changed",
		         path, version, latest);
		return -1;
	}
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	                    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, st->db ? sqlite3_errmsg(st->db) : "out of memory");
		return -1;
	}
	/* WAL: readers (the server) never block on a writer (the CLI) and vice versa */
	store_busy_wait(st->db);
	if (sqlite3_exec(st->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
	                 "PRAGMA foreign_keys=ON;", NULL, NULL, NULL) != SQLITE_OK) {
		store_db_error(st, err, errlen, path);
		return -1;
	}
	char backups[4096];
	snprintf(backups, sizeof(backups), "%s/backups", st->data_dir);
	return migrate_run(st->db, path, backups, schema_steps, ARRAY_LEN(schema_steps), err, errlen);
}

/* The database holds password hashes: created 0600, and an existing one
 * loses any permission for others (SQLite gives its -wal and -shm files the
 * database's mode). No descriptor of an existing database is opened here:
 * closing one would drop the POSIX locks of this process's SQLite
 * connections to it (see SQLite's "How To Corrupt" page, 2.2.1). */
static int protect_db_file(const char *path, char *err, size_t errlen)
{
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0) {
		close(fd);   /* new and empty: no connection has it open yet */
		return 0;
	}
	if (errno != EEXIST || stat(path, &sb) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((sb.st_mode & 0007) != 0 && chmod(path, sb.st_mode & 0770) < 0) {
		snprintf(err, errlen, "%s: readable by others and cannot be changed: %s", path,
		         strerror(errno));
		return -1;
	}
	return 0;
}

int store_check_schema(const char *data_dir, int *version, int *latest, char *err, size_t errlen)
{
	char path[4096];
	*latest = schema_steps[ARRAY_LEN(schema_steps) - 1].version;
	if (bsnprintf(path, sizeof(path), "%s/postern.db", data_dir) < 0) {
		snprintf(err, errlen, "%s: path too long", data_dir);
		return -1;
	}
	if ((*version = migrate_read_version(path, err, errlen)) < 0)
		return -1;
	if (*version > *latest) {
		snprintf(err, errlen, "%s: schema version %d is newer than this postern knows (%d); "
		         "run a newer postern or restore a backup", path, *version, *latest);
		return -1;
	}
	return 0;
}

static struct store *open_store(const char *data_dir, bool migrate, char *err, size_t errlen)
{
	char path[4096];
	struct store *st = xcalloc(1, sizeof(*st));
	st->data_dir = xstrdup(data_dir);
	if (mkdir_p(data_dir, 0750) < 0) {
		snprintf(err, errlen, "%s: cannot create data directory: %m", data_dir);
		goto fail;
	}
	if (bsnprintf(path, sizeof(path), "%s/postern.db", data_dir) < 0) {
		snprintf(err, errlen, "%s: path too long", data_dir);
		goto fail;
	}
	if (protect_db_file(path, err, errlen) < 0 || open_db(st, path, migrate, err, errlen) < 0)
		goto fail;
	for (int i = 0; i < Q_COUNT; i++) {
		if (sqlite3_prepare_v3(st->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
		                       &st->stmt[i], NULL) != SQLITE_OK) {
			store_db_error(st, err, errlen, "prepare");
			goto fail;
		}
	}
	return st;
fail:
	store_close(st);
	return NULL;
}

struct store *store_open(const char *data_dir, char *err, size_t errlen)
{
	return open_store(data_dir, false, err, errlen);
}

int store_migrate(const char *data_dir, int *from, int *to, char *err, size_t errlen)
{
	int latest;
	if (store_check_schema(data_dir, from, &latest, err, errlen) < 0)
		return -1;
	struct store *st = open_store(data_dir, true, err, errlen);
	store_close(st);
	*to = latest;
	return st != NULL ? 0 : -1;
}

void store_close(struct store *st)
{
	if (st == NULL)
		return;
	for (int i = 0; i < Q_COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	stmt_cache_free(&st->stmts);
	sqlite3_close(st->db);
	free(st->data_dir);
	free(st);
}

const char *store_data_dir(const struct store *st)
{
	return st->data_dir;
}

/* ---- small statement helpers ------------------------------------------ */

int store_read_int64(struct store *st, const char *sql, long long *out)
{
	sqlite3_stmt *s = stmt_cache_get(&st->stmts, st->db, sql);
	if (s == NULL)
		return STORE_ERROR;
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(s, 0);
	stmt_cache_done(s);
	return rc == SQLITE_ROW ? STORE_OK : STORE_ERROR;
}

/* Runs a write statement with up to 4 text arguments (NULL = skip binding).
 * Returns STORE_OK, STORE_EXISTS on a uniqueness violation, or STORE_ERROR;
 * *changes gets the number of rows changed. */
int store_exec_write(struct store *st, const char *sql, const char *const args[4],
                      int *changes, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_db_error(st, err, errlen, "prepare");
	for (int i = 0; i < 4; i++)
		if (args[i] != NULL)
			sqlite3_bind_text(s, i + 1, args[i], -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc == SQLITE_DONE) {
		if (changes)
			*changes = sqlite3_changes(st->db);
		return STORE_OK;
	}
	if (rc == SQLITE_CONSTRAINT && sqlite3_extended_errcode(st->db) != SQLITE_CONSTRAINT_FOREIGNKEY)
		return STORE_EXISTS;
	if (rc == SQLITE_CONSTRAINT)
		return STORE_NOT_FOUND; /* the referenced domain does not exist */
	return store_db_error(st, err, errlen, "write");
}

/* Runs a cached single-row lookup; returns 1 when a row exists, 0 when not. */
static int lookup_exists(struct store *st, enum stmt_id id, const char *a, const char *b)
{
	sqlite3_stmt *s = st->stmt[id];
	sqlite3_bind_text(s, 1, a, -1, SQLITE_STATIC);
	if (b != NULL)
		sqlite3_bind_text(s, 2, b, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : STORE_ERROR;
}

int store_list_rows(struct store *st, const char *sql, const char *arg, store_row_cb cb,
                     void *cbarg, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	const char *cols[8];
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_db_error(st, err, errlen, "prepare");
	if (arg != NULL)
		sqlite3_bind_text(s, 1, arg, -1, SQLITE_STATIC);
	int rc, n = sqlite3_column_count(s);
	if (n > 8)
		n = 8;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		for (int i = 0; i < n; i++)
			cols[i] = (const char *)sqlite3_column_text(s, i);
		cb(cbarg, cols);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? STORE_OK : store_db_error(st, err, errlen, "read");
}

const char *store_now_text(char buf[24])
{
	snprintf(buf, 24, "%lld", (long long)time(NULL));
	return buf;
}

/* ---- domains ----------------------------------------------------------- */

int store_domain_add(struct store *st, const char *domain, char *err, size_t errlen)
{
	char now[24];
	const char *args[4] = { domain, store_now_text(now), NULL, NULL };
	return store_exec_write(st, "INSERT INTO domains(name, created) VALUES (lower(?1), ?2)", args,
	                  NULL, err, errlen);
}

int store_domain_del(struct store *st, const char *domain, char *err, size_t errlen)
{
	int changes = 0;
	const char *args[4] = { domain, NULL, NULL, NULL };
	/* a domain with users or aliases is refused rather than orphaning them */
	if (store_exec_write(st, "DELETE FROM domains WHERE name = ?1 AND NOT EXISTS "
	               "(SELECT 1 FROM users WHERE domain = ?1) AND NOT EXISTS "
	               "(SELECT 1 FROM aliases WHERE domain = ?1)", args, &changes, err, errlen) < 0)
		return STORE_ERROR;
	if (changes > 0)
		return STORE_OK;
	return store_domain_exists(st, domain) == 1 ? STORE_IN_USE : STORE_NOT_FOUND;
}

int store_domain_exists(struct store *st, const char *domain)
{
	return lookup_exists(st, Q_DOMAIN_EXISTS, domain, NULL);
}

int store_domain_list(struct store *st, store_row_cb cb, void *arg, char *err, size_t errlen)
{
	return store_list_rows(st, "SELECT name, created FROM domains ORDER BY name", NULL, cb, arg,
	                 err, errlen);
}

/* ---- users ------------------------------------------------------------- */

int store_user_add(struct store *st, const char *local, const char *domain,
                   const char *password_hash, char *err, size_t errlen)
{
	char now[24];
	const char *args[4] = { local, domain, password_hash, store_now_text(now) };
	return store_exec_write(st, "INSERT INTO users(local, domain, password, created) "
	                  "VALUES (lower(?1), lower(?2), ?3, ?4)", args, NULL, err, errlen);
}

int store_user_del(struct store *st, const char *local, const char *domain, char *err, size_t errlen)
{
	int changes = 0;
	const char *args[4] = { local, domain, NULL, NULL };
	int rc = store_exec_write(st, "DELETE FROM users WHERE local = ?1 AND domain = ?2", args,
	                    &changes, err, errlen);
	return rc == STORE_OK && changes == 0 ? STORE_NOT_FOUND : rc;
}

int store_user_set_password(struct store *st, const char *local, const char *domain,
                            const char *password_hash, char *err, size_t errlen)
{
	int changes = 0;
	const char *args[4] = { password_hash, local, domain, NULL };
	int rc = store_exec_write(st, "UPDATE users SET password = ?1 WHERE local = ?2 AND domain = ?3",
	                    args, &changes, err, errlen);
	return rc == STORE_OK && changes == 0 ? STORE_NOT_FOUND : rc;
}

int store_user_exists(struct store *st, const char *local, const char *domain)
{
	return lookup_exists(st, Q_USER_EXISTS, local, domain);
}

int store_user_row(sqlite3_stmt *s, const char *local, const char *domain,
                   store_row_reader read, void *arg)
{
	int result = STORE_NOT_FOUND;
	sqlite3_bind_text(s, 1, local, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, domain, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		read(s, arg);
		result = STORE_OK;
	} else if (rc != SQLITE_DONE) {
		result = STORE_ERROR;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return result;
}

struct text_out {
	char *buf;
	size_t len;
};

static void read_first_text(sqlite3_stmt *s, void *arg)
{
	struct text_out *o = arg;
	snprintf(o->buf, o->len, "%s", (const char *)sqlite3_column_text(s, 0));
}

int store_user_password(struct store *st, const char *local, const char *domain,
                        char *out, size_t outlen)
{
	struct text_out dst = { out, outlen };
	return store_user_row(st->stmt[Q_USER_PASSWORD], local, domain, read_first_text, &dst);
}

int store_user_auth_info(struct store *st, const char *local, const char *domain,
                         struct store_user_auth *out)
{
	sqlite3_stmt *s;
	int result = STORE_NOT_FOUND;
	memset(out, 0, sizeof(*out));
	if (sqlite3_prepare_v2(st->db, "SELECT password, scram, any_sender FROM users "
	                       "WHERE local = ?1 AND domain = ?2", -1, &s, NULL) != SQLITE_OK)
		return STORE_ERROR;
	sqlite3_bind_text(s, 1, local, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, domain, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const char *h = (const char *)sqlite3_column_text(s, 0);
		const char *sc = (const char *)sqlite3_column_text(s, 1);
		str_copy(out->hash, sizeof(out->hash), h ? h : "");
		str_copy(out->scram, sizeof(out->scram), sc ? sc : "");
		out->any_sender = sqlite3_column_int(s, 2) != 0;
		result = STORE_OK;
	} else if (rc != SQLITE_DONE) {
		result = STORE_ERROR;
	}
	sqlite3_finalize(s);
	return result;
}

int store_user_set_credentials(struct store *st, const char *local, const char *domain,
                               const char *hash, const char *scram, char *err, size_t errlen)
{
	int changes = 0;
	const char *args[4] = { hash, scram, local, domain };
	int rc = store_exec_write(st, "UPDATE users SET password = ?1, scram = ?2 "
	                          "WHERE local = ?3 AND domain = ?4", args, &changes, err, errlen);
	return rc == STORE_OK && changes == 0 ? STORE_NOT_FOUND : rc;
}

int store_user_set_any_sender(struct store *st, const char *local, const char *domain, bool on,
                              char *err, size_t errlen)
{
	int changes = 0;
	const char *args[4] = { on ? "1" : "0", local, domain, NULL };
	int rc = store_exec_write(st, "UPDATE users SET any_sender = ?1 WHERE local = ?2 AND "
	                          "domain = ?3", args, &changes, err, errlen);
	return rc == STORE_OK && changes == 0 ? STORE_NOT_FOUND : rc;
}

int store_user_list(struct store *st, const char *domain, store_row_cb cb, void *arg,
                    char *err, size_t errlen)
{
	if (domain != NULL)
		return store_list_rows(st, "SELECT local || '@' || domain, created FROM users "
		                 "WHERE domain = ?1 ORDER BY domain, local", domain, cb, arg, err, errlen);
	return store_list_rows(st, "SELECT local || '@' || domain, created FROM users "
	                 "ORDER BY domain, local", NULL, cb, arg, err, errlen);
}

/* The first user created: who gets postmaster mail when no `postmaster` is
 * configured. rowid breaks ties between users created in the same second. */
static int first_user(sqlite3 *db, char *out, size_t outlen)
{
	sqlite3_stmt *s;
	int result = STORE_NOT_FOUND;
	if (sqlite3_prepare_v2(db, "SELECT local || '@' || domain FROM users "
	                       "ORDER BY created, rowid LIMIT 1", -1, &s, NULL) != SQLITE_OK)
		return STORE_ERROR;
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		str_copy(out, outlen, (const char *)sqlite3_column_text(s, 0));
		result = STORE_OK;
	} else if (rc != SQLITE_DONE) {
		result = STORE_ERROR;
	}
	sqlite3_finalize(s);
	return result;
}

int store_user_first(struct store *st, char *out, size_t outlen)
{
	return first_user(st->db, out, outlen);
}

int store_user_first_readonly(const char *data_dir, char *out, size_t outlen, char *err,
                              size_t errlen)
{
	char path[4096];
	struct stat sb;
	sqlite3 *db = NULL;
	if (bsnprintf(path, sizeof(path), "%s/postern.db", data_dir) < 0 || stat(path, &sb) < 0 ||
	    sb.st_size == 0)
		return STORE_NOT_FOUND;
	int rc = STORE_ERROR;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_busy_timeout(db, 5000) == SQLITE_OK)
		rc = first_user(db, out, outlen);
	if (rc == STORE_ERROR)
		snprintf(err, errlen, "%s: cannot read users: %s", path,
		         db ? sqlite3_errmsg(db) : "out of memory");
	sqlite3_close(db);
	return rc;
}

/* ---- aliases ----------------------------------------------------------- */

int store_alias_add(struct store *st, const char *local, const char *domain, const char *target,
                    char *err, size_t errlen)
{
	char now[24];
	const char *args[4] = { local, domain, target, store_now_text(now) };
	return store_exec_write(st, "INSERT INTO aliases(local, domain, target, created) "
	                  "VALUES (lower(?1), lower(?2), lower(?3), ?4)", args, NULL, err, errlen);
}

int store_alias_del(struct store *st, const char *local, const char *domain, const char *target,
                    char *err, size_t errlen)
{
	int changes = 0, rc;
	const char *args[4] = { local, domain, target, NULL };
	if (target != NULL)
		rc = store_exec_write(st, "DELETE FROM aliases WHERE local = ?1 AND domain = ?2 AND target = ?3",
		                args, &changes, err, errlen);
	else
		rc = store_exec_write(st, "DELETE FROM aliases WHERE local = ?1 AND domain = ?2", args,
		                &changes, err, errlen);
	return rc == STORE_OK && changes == 0 ? STORE_NOT_FOUND : rc;
}

int store_alias_list(struct store *st, store_row_cb cb, void *arg, char *err, size_t errlen)
{
	return store_list_rows(st, "SELECT local || '@' || domain, target FROM aliases "
	                 "ORDER BY domain, local, target", NULL, cb, arg, err, errlen);
}

int store_alias_targets(struct store *st, const char *local, const char *domain,
                        store_row_cb cb, void *arg)
{
	sqlite3_stmt *s = st->stmt[Q_ALIAS_TARGETS];
	int rc, count = 0;
	sqlite3_bind_text(s, 1, local, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, domain, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *cols[1] = { (const char *)sqlite3_column_text(s, 0) };
		cb(arg, cols);
		count++;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc == SQLITE_DONE ? count : STORE_ERROR;
}
