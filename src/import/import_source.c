#include "import/import_source.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"
#include "import/import_names.h"

#define FS_DEPTH_MAX 32

int import_open_dir(int rootfd, const char *rel)
{
	char part[IMPORT_REL_MAX];
	int fd = openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (const char *p = rel; fd >= 0 && *p != '\0';) {
		size_t len = strcspn(p, "/");
		if (len == 0 || len >= sizeof(part) || (len <= 2 && strncmp(p, "..", len) == 0)) {
			close(fd);
			errno = EINVAL;
			return -1;
		}
		memcpy(part, p, len);
		part[len] = '\0';
		int next = openat(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = next;
		p += len + (p[len] == '/');
	}
	return fd;
}

struct folder_list {
	struct import_folder *f;
	size_t n, cap;
	struct import_report *r;
	const char *root_path;
};

/* A directory entry that is a real directory (not a link to one). */
static int entry_kind(int dirfd, const char *name)
{
	struct stat sb;
	if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	return S_ISLNK(sb.st_mode) ? 'l' : S_ISDIR(sb.st_mode) ? 'd' : 'f';
}

static bool has_cur(int dirfd, const char *name)
{
	char path[IMPORT_REL_MAX + 8];
	struct stat sb;
	snprintf(path, sizeof(path), "%s/cur", name);
	return fstatat(dirfd, path, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(sb.st_mode);
}

static void add_folder(struct folder_list *l, const char *rel, const char *disk_name, char sep)
{
	char name[MBOX_NAME_MAX + 1], where[IMPORT_REL_MAX + 300];
	const char *why;
	snprintf(where, sizeof(where), "%s/%s", l->root_path, rel);
	if (import_folder_name(disk_name, sep, name, sizeof(name), &why) < 0) {
		import_report_skip(l->r, IMPORT_SKIP_FOLDER, where, why);
		return;
	}
	if (l->n == IMPORT_FOLDERS_MAX) {
		import_report_skip(l->r, IMPORT_SKIP_FOLDER, where, "more than 10000 folders");
		return;
	}
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 32;
		l->f = xrealloc(l->f, l->cap * sizeof(*l->f));
	}
	str_copy(l->f[l->n].rel, sizeof(l->f[l->n].rel), rel);
	str_copy(l->f[l->n].name, sizeof(l->f[l->n].name), name);
	l->n++;
}

/* Maildir++: ".A.B" directories in the root, each with a cur/. */
static void list_maildirpp(int rootfd, DIR *d, struct folder_list *l)
{
	char where[IMPORT_REL_MAX + 300];
	for (struct dirent *de; (de = readdir(d)) != NULL;) {
		const char *n = de->d_name;
		if (n[0] != '.' || strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
			continue;
		int kind = entry_kind(rootfd, n);
		snprintf(where, sizeof(where), "%s/%s", l->root_path, n);
		if (kind == 'l')
			import_report_skip(l->r, IMPORT_SKIP_SYMLINK, where, "a symbolic link");
		else if (kind == 'd' && has_cur(rootfd, n))
			add_folder(l, n, n + 1, '.');
	}
}

static bool maildir_part(const char *n)
{
	return strcmp(n, "cur") == 0 || strcmp(n, "new") == 0 || strcmp(n, "tmp") == 0;
}

/* fs: nested directories; those with a cur/ are folders, the others only
 * hold folders (Dovecot's \NoSelect ones, which postern does not have). */
static void list_fs(int dirfd, const char *rel, int depth, struct folder_list *l)
{
	char child[IMPORT_REL_MAX], where[IMPORT_REL_MAX + 300];
	DIR *d = fdopendir(dup(dirfd));
	if (d == NULL)
		return;
	for (struct dirent *de; (de = readdir(d)) != NULL;) {
		const char *n = de->d_name;
		if (n[0] == '.' || (depth == 0 && maildir_part(n)))
			continue;
		int kind = entry_kind(dirfd, n);
		if (bsnprintf(child, sizeof(child), "%s%s%s", rel, *rel ? "/" : "", n) < 0)
			continue;
		snprintf(where, sizeof(where), "%s/%s", l->root_path, child);
		if (kind == 'l') {
			import_report_skip(l->r, IMPORT_SKIP_SYMLINK, where, "a symbolic link");
			continue;
		}
		if (kind != 'd' || maildir_part(n))
			continue;
		if (has_cur(dirfd, n))
			add_folder(l, child, child, '/');
		int sub = openat(dirfd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			continue;
		if (depth + 1 < FS_DEPTH_MAX)
			list_fs(sub, child, depth + 1, l);
		else
			import_report_skip(l->r, IMPORT_SKIP_FOLDER, where, "nested too deep");
		close(sub);
	}
	closedir(d);
}

/* By name (a parent before its children); of two directories with one
 * name, the root (rel "") or the shorter comes first. */
static int cmp_folder(const void *a, const void *b)
{
	const struct import_folder *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c != 0 ? c : strcmp(x->rel, y->rel);
}

/* Two directories that come out as one name (".Foo" and ".&AEY-oo"-like
 * spellings, an "INBOX" folder beside the root): the first is kept. */
static void drop_collisions(struct folder_list *l)
{
	char where[IMPORT_REL_MAX + 300], why[IMPORT_REL_MAX + MBOX_NAME_MAX + 64];
	size_t out = 0;
	for (size_t i = 0; i < l->n; i++) {
		if (out > 0 && strcmp(l->f[out - 1].name, l->f[i].name) == 0) {
			snprintf(where, sizeof(where), "%s/%s", l->root_path, l->f[i].rel);
			snprintf(why, sizeof(why), "name collision: %s is imported from '%s'", l->f[i].name,
			         l->f[out - 1].rel);
			import_report_skip(l->r, IMPORT_SKIP_FOLDER, where, why);
			continue;
		}
		l->f[out++] = l->f[i];
	}
	l->n = out;
}

int import_list_folders(int rootfd, const char *root_path, enum import_layout layout,
                        struct import_report *r, struct import_folder **out, size_t *n,
                        char *err, size_t errlen)
{
	struct folder_list l = { .r = r, .root_path = root_path };
	DIR *d = fdopendir(dup(rootfd));
	if (d == NULL) {
		snprintf(err, errlen, "%s: %s", root_path, strerror(errno));
		return -1;
	}
	if (has_cur(rootfd, "."))
		add_folder(&l, "", "INBOX", '.');
	if (layout == IMPORT_LAYOUT_MAILDIRPP)
		list_maildirpp(rootfd, d, &l);
	else
		list_fs(rootfd, "", 0, &l);
	closedir(d);
	if (l.n > 1)
		qsort(l.f, l.n, sizeof(*l.f), cmp_folder);
	drop_collisions(&l);
	*out = l.f;
	*n = l.n;
	return 0;
}
