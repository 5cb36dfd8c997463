#include "store/migrate.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"

static int read_user_version(sqlite3 *db, int *version)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return -1;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

int migrate_read_version(const char *path, char *err, size_t errlen)
{
	struct stat sb;
	if (stat(path, &sb) < 0 || sb.st_size == 0)
		return 0;
	sqlite3 *db = NULL;
	int version = -1;
	/* read-only: a database we may refuse must not be modified by looking at it */
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(db, 5000) != SQLITE_OK ||   /* writers at work: wait, not fail */
	    read_user_version(db, &version) < 0) {
		snprintf(err, errlen, "%s: cannot read schema version: %s", path,
		         db ? sqlite3_errmsg(db) : "out of memory");
		version = -1;
	}
	sqlite3_close(db);
	return version;
}

static int backup_database(sqlite3 *db, const char *path, const char *backup_dir, int version,
                           char *err, size_t errlen)
{
	char dest[4096];
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (mkdir_p(backup_dir, 0700) < 0 ||
	    bsnprintf(dest, sizeof(dest), "%s/%s.v%d.%lld", backup_dir, base, version,
	              (long long)time(NULL)) < 0) {
		snprintf(err, errlen, "%s: cannot create backup directory: %m", backup_dir);
		return -1;
	}
	sqlite3 *out = NULL;
	int rc = sqlite3_open(dest, &out);
	if (rc == SQLITE_OK) {
		sqlite3_backup *b = sqlite3_backup_init(out, "main", db, "main");
		if (b != NULL) {
			sqlite3_backup_step(b, -1);
			sqlite3_backup_finish(b);
		}
		rc = sqlite3_errcode(out);
	}
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "backup of %s to %s failed: %s", path, dest,
		         out ? sqlite3_errmsg(out) : "out of memory");
		sqlite3_close(out);
		unlink(dest);
		return -1;
	}
	sqlite3_close(out);
	log_event(LOG_INFO, "store.backup", "s", "db", path, "s", "backup", dest,
	          "i", "version", (long long)version, NULL);
	return 0;
}

static int apply_steps(sqlite3 *db, int from, const struct migration *steps, size_t nsteps,
                       char *err, size_t errlen)
{
	char *msg = NULL;
	for (size_t i = 0; i < nsteps; i++) {
		if (steps[i].version <= from)
			continue;
		if (sqlite3_exec(db, steps[i].sql, NULL, NULL, &msg) != SQLITE_OK) {
			snprintf(err, errlen, "migration to schema version %d failed: %s",
			         steps[i].version, msg ? msg : "?");
			sqlite3_free(msg);
			return -1;
		}
	}
	char sql[64];
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", steps[nsteps - 1].version);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot set schema version: %s", sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

int migrate_run(sqlite3 *db, const char *path, const char *backup_dir,
                const struct migration *steps, size_t nsteps, char *err, size_t errlen)
{
	int latest = steps[nsteps - 1].version, version;

	if (read_user_version(db, &version) < 0) {
		snprintf(err, errlen, "%s: cannot read schema version: %s", path, sqlite3_errmsg(db));
		return -1;
	}
	if (version > latest) {
		snprintf(err, errlen, "%s: schema version %d is newer than this postern knows (%d); "
		         "run a newer postern or restore a backup; the database was not changed",
		         path, version, latest);
		return -1;
	}
	if (version == latest)
		return 0;
	if (version > 0 && backup_database(db, path, backup_dir, version, err, errlen) < 0)
		return -1;
	/* IMMEDIATE: take the write lock first, so two processes starting at
	 * once cannot both migrate; re-read the version under the lock. */
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot lock for migration: %s", path, sqlite3_errmsg(db));
		return -1;
	}
	version = -1;
	if (read_user_version(db, &version) < 0 ||
	    (version < latest && apply_steps(db, version, steps, nsteps, err, errlen) < 0)) {
		if (version < 0)
			snprintf(err, errlen, "%s: cannot read schema version", path);
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: migration commit failed: %s", path, sqlite3_errmsg(db));
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	log_event(LOG_INFO, "store.migrated", "s", "db", path, "i", "from", (long long)version,
	          "i", "to", (long long)latest, NULL);
	return 0;
}
