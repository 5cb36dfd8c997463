/* Schema versioning for SQLite databases (PRAGMA user_version).
 *
 * Upgrades never break a server: a database newer than the binary is refused
 * untouched; pending migrations run after a backup, in one transaction, so a
 * failure leaves the database exactly as it was. */
#ifndef POSTERN_MIGRATE_H
#define POSTERN_MIGRATE_H

#include <stddef.h>
#include <sqlite3.h>

struct migration {
	int version;            /* the user_version after this step: 1, 2, 3 ... */
	const char *sql;        /* one or more statements */
};

/* Reads user_version of the database file at `path` without writing to it.
 * Returns the version (0 for a new or empty file), or -1 with err. */
int migrate_read_version(const char *path, char *err, size_t errlen);

/* Brings `db` (opened on `path`) up to the last version in `steps`.
 * Refuses a database newer than that. Backs the file up into backup_dir
 * before changing a non-empty database. 0 or -1 with err. */
int migrate_run(sqlite3 *db, const char *path, const char *backup_dir,
                const struct migration *steps, size_t nsteps, char *err, size_t errlen);

#endif
