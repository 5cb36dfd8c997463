#include "daemon/layout.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/privs.h"
#include "core/util.h"

/* the directories serve writes to, under data_dir */
static const char *const data_subdirs[] = { "", "/mail", "/spool", "/tls" };
/* what must belong to the service user: a file owned by another user is one
 * the server cannot write (SQLite's -wal and -shm: cannot even read) */
static const char *const owned_paths[] = {
	"", "/postern.db", "/postern.db-wal", "/postern.db-shm", "/mail", "/spool", "/tls",
	"/dkim", "/backups",
};

#define DATA_DIR_MODE 02750     /* setgid: files made inside keep the service group */

static int make_dir(const char *path, const struct service_identity *id, char *err, size_t errlen)
{
	if (mkdir(path, 0750) < 0) {
		if (errno == EEXIST)
			return 0;
		snprintf(err, errlen, "%s: cannot create: %s", path, strerror(errno));
		return -1;
	}
	/* new: ours to lay out (mkdir's mode cannot carry the setgid bit) */
	if (id->change && lchown(path, id->uid, id->gid) < 0) {
		snprintf(err, errlen, "%s: cannot set the owner: %s", path, strerror(errno));
		return -1;
	}
	struct stat sb;
	if (stat(path, &sb) == 0 && (sb.st_mode & 07777) == DATA_DIR_MODE)
		return 0;   /* inherited the setgid bit from its parent */
	/* systemd's RestrictSUIDSGID refuses the setgid bit: then plain 0750 */
	if (chmod(path, DATA_DIR_MODE) < 0 && (errno != EPERM || chmod(path, 0750) < 0)) {
		snprintf(err, errlen, "%s: cannot set the mode: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int layout_prepare(const struct config *cfg, const struct service_identity *id,
                   char *err, size_t errlen)
{
	char path[4096], parent[4096];
	snprintf(parent, sizeof(parent), "%s", cfg->data_dir);
	char *slash = strrchr(parent, '/');
	if (slash != NULL && slash != parent) {
		*slash = '\0';
		if (mkdir_p(parent, 0755) < 0) {
			snprintf(err, errlen, "%s: cannot create: %s", parent, strerror(errno));
			return -1;
		}
	}
	for (size_t i = 0; i < ARRAY_LEN(data_subdirs); i++) {
		if (bsnprintf(path, sizeof(path), "%s%s", cfg->data_dir, data_subdirs[i]) < 0) {
			snprintf(err, errlen, "%s: path too long", cfg->data_dir);
			return -1;
		}
		if (make_dir(path, id, err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* ---- checks -------------------------------------------------------------- */

struct checker {
	const struct config *cfg;
	const struct service_identity *id;
	layout_report_fn report;
	void *arg;
	int problems;
};

static void problem(struct checker *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(struct checker *c, const char *fmt, ...)
{
	char text[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	c->report(c->arg, text);
	c->problems++;
}

static void check_data_dir_mode(struct checker *c, const struct stat *sb)
{
	const char *d = c->cfg->data_dir;
	char g[64];
	/* readable is the admin's call: the files inside are the server's own
	 * (postern.db 0600, Maildirs 0700); writable would let anyone swap them */
	if (sb->st_mode & S_IWOTH)
		problem(c, "data_dir %s is writable by everyone: chmod o-w %s", d, d);
	if ((sb->st_mode & S_IWGRP) && sb->st_gid != c->id->gid)
		problem(c, "data_dir %s is writable by group %s, which postern does not run as: "
		        "chmod g-w %s", d, privs_group_name(sb->st_gid, g, sizeof(g)), d);
}

/* The first path under data_dir owned by someone else names the fix for all. */
static void check_owner(struct checker *c)
{
	char path[4096], found[64], need[64], group[64];
	struct stat sb;
	for (size_t i = 0; i < ARRAY_LEN(owned_paths); i++) {
		if (bsnprintf(path, sizeof(path), "%s%s", c->cfg->data_dir, owned_paths[i]) < 0 ||
		    lstat(path, &sb) < 0 || sb.st_uid == c->id->uid)
			continue;
		privs_user_name(sb.st_uid, found, sizeof(found));
		privs_user_name(c->id->uid, need, sizeof(need));
		privs_group_name(c->id->gid, group, sizeof(group));
		problem(c, "%s is owned by %s, but postern runs as %s: chown -R %s:%s %s", path, found,
		        need, need, group, c->cfg->data_dir);
		return;
	}
}

static void check_key_file(struct checker *c, const char *what, const char *path)
{
	struct stat sb;
	if (stat(path, &sb) < 0)
		return;   /* missing or unreadable: tls_check_files and the signer say so */
	if (sb.st_mode & (S_IROTH | S_IWOTH))
		problem(c, "%s %s is open to everyone: chmod o-rwx %s", what, path, path);
}

static void check_dkim_keys(struct checker *c)
{
	char dir[4096], path[4096];
	if (bsnprintf(dir, sizeof(dir), "%s/dkim", c->cfg->data_dir) < 0)
		return;
	DIR *top = opendir(dir);
	if (top == NULL)
		return;
	struct dirent *dom, *key;
	while ((dom = readdir(top)) != NULL) {
		if (dom->d_name[0] == '.' || bsnprintf(path, sizeof(path), "%s/%s", dir, dom->d_name) < 0)
			continue;
		DIR *keys = opendir(path);
		if (keys == NULL)
			continue;
		while ((key = readdir(keys)) != NULL) {
			char file[4096];
			if (key->d_name[0] != '.' &&
			    bsnprintf(file, sizeof(file), "%s/%s", path, key->d_name) >= 0)
				check_key_file(c, "DKIM private key", file);
		}
		closedir(keys);
	}
	closedir(top);
}

int layout_check(const struct config *cfg, const struct service_identity *id,
                 layout_report_fn report, void *arg)
{
	struct checker c = { cfg, id, report, arg, 0 };
	char selfsigned[4096];
	struct stat sb;
	if (stat(cfg->data_dir, &sb) == 0) {
		check_data_dir_mode(&c, &sb);
		/* root that stays root can write whatever it finds */
		if (id->uid != 0)
			check_owner(&c);
	}
	if (cfg->tls.key != NULL)
		check_key_file(&c, "tls.key", cfg->tls.key);
	else if (bsnprintf(selfsigned, sizeof(selfsigned), "%s/tls/selfsigned-key.pem",
	                   cfg->data_dir) >= 0)
		check_key_file(&c, "private key", selfsigned);
	check_dkim_keys(&c);
	return c.problems;
}
