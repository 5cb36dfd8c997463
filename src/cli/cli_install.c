/* postern install: the service account, directories and configuration file
 * of a real server, or the same tree staged under --prefix DIR. Safe to run
 * again: what exists is checked (directories get their owner and mode back),
 * an existing configuration file is never touched. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/util.h"

/* packaging/postern.conf, embedded at build time (scripts/embed_text.py) */
extern const char install_config_template[];

#define INSTALL_CONF_DIR "/etc/postern"
#define INSTALL_CONF_FILE INSTALL_CONF_DIR "/postern.conf"
#define INSTALL_DATA_DIR "/var/lib/postern"
#define INSTALL_LOG_DIR "/var/log/postern"
#define INSTALL_DEFAULT_USER "postern"

static const char usage[] = "postern install [--prefix DIR] [--user NAME]";

/* Who owns what: root:group for configuration, user:group for data and logs. */
enum owner { OWN_ROOT, OWN_USER };

static const struct install_dir {
	const char *path;
	mode_t mode;
	enum owner owner;
} install_dirs[] = {
	{ INSTALL_CONF_DIR, 0750, OWN_ROOT },
	/* setgid: files the CLI or an admin creates here stay in the group */
	{ INSTALL_DATA_DIR, 02770, OWN_USER },
	/* the subdirectories serve creates on first start, made now so that their
	 * owner and mode are right from the beginning */
	{ INSTALL_DATA_DIR "/mail", 02770, OWN_USER },
	{ INSTALL_DATA_DIR "/queue", 02770, OWN_USER },
	{ INSTALL_DATA_DIR "/spool", 02770, OWN_USER },
	{ INSTALL_DATA_DIR "/tls", 02770, OWN_USER },
	{ INSTALL_DATA_DIR "/dkim", 02770, OWN_USER },
	{ INSTALL_DATA_DIR "/backups", 02770, OWN_USER },
	{ INSTALL_LOG_DIR, 02750, OWN_USER },
};

struct install {
	const char *prefix;     /* "" for the real system */
	const char *user;
	char group[64];
	bool chown;             /* set owners (running as root and the user exists) */
	uid_t uid;
	gid_t gid;
	int problems;
};

/* A system account name useradd accepts on every distribution, and one that
 * is safe inside the configuration file's quotes. */
static bool valid_user_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 32 || !(islower((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (const char *p = s; *p; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '_' && *p != '-')
			return false;
	return true;
}

/* Runs a system tool with argv, never through a shell, with a fixed PATH.
 * Returns its exit status, or -1 when it could not run. */
static int run_tool(char *const argv[])
{
	static char *const env[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL };
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		execve(argv[0], argv, env);
		fprintf(stderr, "postern: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static const char *first_existing(const char *const *paths)
{
	for (; *paths; paths++)
		if (access(*paths, X_OK) == 0)
			return *paths;
	return NULL;
}

/* Creates the system group and user (no login shell, home = the data
 * directory, not created by useradd: the layout below makes it). */
static int create_account(struct install *in)
{
	static const char *const groupadd_paths[] = { "/usr/sbin/groupadd", "/sbin/groupadd", NULL };
	static const char *const useradd_paths[] = { "/usr/sbin/useradd", "/sbin/useradd", NULL };
	static const char *const nologin_paths[] = { "/usr/sbin/nologin", "/sbin/nologin", "/bin/false", NULL };
	const char *groupadd = first_existing(groupadd_paths), *useradd = first_existing(useradd_paths);
	const char *nologin = first_existing(nologin_paths);
	if (groupadd == NULL || useradd == NULL || nologin == NULL) {
		fprintf(stderr, "postern: cannot create user %s: groupadd, useradd or nologin not found "
		        "(install the passwd package)\n", in->user);
		return -1;
	}
	if (getgrnam(in->user) == NULL) {
		char *const argv[] = { (char *)groupadd, "--system", (char *)in->user, NULL };
		if (run_tool(argv) != 0) {
			fprintf(stderr, "postern: groupadd %s failed\n", in->user);
			return -1;
		}
		printf("created group %s\n", in->user);
	}
	char *const argv[] = { (char *)useradd, "--system", "--gid", (char *)in->user,
		"--home-dir", INSTALL_DATA_DIR, "--no-create-home", "--shell", (char *)nologin,
		"--comment", "postern mail server", (char *)in->user, NULL };
	if (run_tool(argv) != 0) {
		fprintf(stderr, "postern: useradd %s failed\n", in->user);
		return -1;
	}
	printf("created user %s (no login shell, home %s)\n", in->user, INSTALL_DATA_DIR);
	return 0;
}

/* Finds (or, on the real system, creates) the service account; decides
 * whether owners can be set. */
static int resolve_account(struct install *in)
{
	bool root = geteuid() == 0;
	struct passwd *pw = getpwnam(in->user);
	if (pw == NULL && root && *in->prefix == '\0') {
		if (create_account(in) < 0)
			return -1;
		pw = getpwnam(in->user);
		if (pw == NULL) {
			fprintf(stderr, "postern: user %s was created but cannot be found\n", in->user);
			return -1;
		}
	}
	if (pw == NULL) {
		/* a staged tree: the account belongs to the system it will run on */
		snprintf(in->group, sizeof(in->group), "%s", in->user);
		printf("note: no user %s here: owners are left as they are; 'postern install' "
		       "on the target system sets them\n", in->user);
		return 0;
	}
	in->uid = pw->pw_uid;
	in->gid = pw->pw_gid;
	struct group *gr = getgrgid(pw->pw_gid);
	if (gr == NULL || !valid_user_name(gr->gr_name)) {
		fprintf(stderr, "postern: user %s: primary group %u has no usable name\n", in->user,
		        (unsigned)pw->pw_gid);
		return -1;
	}
	snprintf(in->group, sizeof(in->group), "%s", gr->gr_name);
	in->chown = root;
	if (!root)
		printf("note: not root: owners are left as they are (yours)\n");
	return 0;
}

/* Makes one directory of the layout and gives it its owner and mode. A path
 * that exists as anything but a directory (a symlink too: nothing is changed
 * through one) is left alone. 0, or -1 and in->problems counted. */
static int install_dir(struct install *in, const struct install_dir *d)
{
	char path[4096];
	if (bsnprintf(path, sizeof(path), "%s%s", in->prefix, d->path) < 0) {
		fprintf(stderr, "postern: %s%s: name too long\n", in->prefix, d->path);
		in->problems++;
		return -1;
	}
	bool created = mkdir(path, 0700) == 0, changed = false;
	if (!created && errno != EEXIST) {
		fprintf(stderr, "postern: %s: %s\n", path, strerror(errno));
		in->problems++;
		return -1;
	}
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "postern: %s: %s\n", path, errno == ELOOP || errno == ENOTDIR
		        ? "exists and is not a directory (a symbolic link? use the real directory or "
		          "a bind mount); left alone" : strerror(errno));
		if (fd >= 0)
			close(fd);
		in->problems++;
		return -1;
	}
	uid_t uid = d->owner == OWN_ROOT ? 0 : in->uid;
	if (in->chown && (st.st_uid != uid || st.st_gid != in->gid)) {
		if (fchown(fd, uid, in->gid) < 0) {
			fprintf(stderr, "postern: %s: chown: %s\n", path, strerror(errno));
			in->problems++;
		}
		changed = true;
	}
	/* after chown, which may clear the setgid bit */
	if (fstat(fd, &st) == 0 && (st.st_mode & 07777) != d->mode) {
		if (fchmod(fd, d->mode) < 0) {
			fprintf(stderr, "postern: %s: chmod: %s\n", path, strerror(errno));
			in->problems++;
		}
		changed = true;
	}
	close(fd);
	printf("%-7s %s (%04o", created ? "created" : changed ? "fixed" : "ok", path, (unsigned)d->mode);
	if (in->chown)
		printf(" %s:%s", d->owner == OWN_ROOT ? "root" : in->user, in->group);
	printf(")\n");
	return in->problems > 0 ? -1 : 0;
}

/* The template with user and group set to this installation's. */
static int write_template(int fd, const struct install *in)
{
	static const char user_line[] = "user = \"" INSTALL_DEFAULT_USER "\";";
	static const char group_line[] = "group = \"" INSTALL_DEFAULT_USER "\";";
	const char *p = install_config_template;
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) + 1 : strlen(p);
		bool user = strncmp(p, user_line, sizeof(user_line) - 1) == 0;
		bool group = strncmp(p, group_line, sizeof(group_line) - 1) == 0;
		if (user || group) {
			size_t skip = user ? sizeof(user_line) - 1 : sizeof(group_line) - 1;
			char line[256];
			int n = snprintf(line, sizeof(line), "%s = \"%s\";%.*s", user ? "user" : "group",
			                 user ? in->user : in->group, (int)(len - skip), p + skip);
			if (n < 0 || (size_t)n >= sizeof(line) || write_all(fd, line, (size_t)n) < 0)
				return -1;
		} else if (write_all(fd, p, len) < 0) {
			return -1;
		}
		p += len;
	}
	return fsync(fd);
}

/* Writes the configuration file from the template, only when there is none. */
static void install_config(struct install *in)
{
	char path[4096];
	if (bsnprintf(path, sizeof(path), "%s%s", in->prefix, INSTALL_CONF_FILE) < 0) {
		in->problems++;
		return;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (fd < 0 && errno == EEXIST) {
		printf("kept    %s (an existing configuration is never overwritten)\n", path);
		return;
	}
	if (fd < 0) {
		fprintf(stderr, "postern: %s: %s\n", path, strerror(errno));
		in->problems++;
		return;
	}
	if ((in->chown && fchown(fd, 0, in->gid) < 0) || fchmod(fd, 0640) < 0 ||
	    write_template(fd, in) < 0) {
		fprintf(stderr, "postern: %s: %s\n", path, strerror(errno));
		close(fd);
		unlink(path);
		in->problems++;
		return;
	}
	close(fd);
	printf("created %s (0640", path);
	if (in->chown)
		printf(" root:%s", in->group);
	printf(") from the template: edit it\n");
}

static void print_next_steps(const struct install *in)
{
	const char *c = " -c " INSTALL_CONF_FILE;
	printf("\nNext steps%s:\n"
	       "  1. Edit %s: set hostname (the template says mail.example.org) to the\n"
	       "     name your MX and PTR records will name; later tls.cert and tls.key.\n"
	       "  2. postern config check%s\n"
	       "  3. postern domain add example.org%s\n"
	       "     postern user add alice@example.org%s\n"
	       "     postern dkim keygen example.org%s   (prints the DKIM record)\n"
	       "  4. Publish DNS records: MX, SPF, DKIM, DMARC, and a PTR record for this\n"
	       "     host's addresses at your provider (docs/deploy.md).\n"
	       "  5. systemctl enable --now postern   (logs: journalctl -u postern and %s)\n"
	       "See postern(8) and docs/deploy.md.\n",
	       *in->prefix ? " (on the system this tree is for)" : "", INSTALL_CONF_FILE,
	       c, c, c, c, INSTALL_LOG_DIR);
}

int cli_install(struct cli_args *a)
{
	if (a->help) {
		printf("usage: %s\n\n"
		       "Sets up a real server, as root: creates the system group and user NAME\n"
		       "(default %s; no login shell, home %s) unless they exist, and\n"
		       "the directories with their owners and modes:\n"
		       "  %s              0750 root:GROUP\n"
		       "  %s          2770 NAME:GROUP (and mail, queue, spool, tls, dkim, backups)\n"
		       "  %s          2750 NAME:GROUP\n"
		       "then writes %s (0640 root:GROUP) from the commented\n"
		       "template, only when that file does not exist: it is never overwritten.\n"
		       "Running it again is safe: directories get their owner and mode back.\n"
		       "GROUP is NAME's primary group.\n\n"
		       "--prefix DIR  stage the same tree under DIR (for packages and tests): no\n"
		       "              account is created; owners are set only when run as root\n"
		       "              and NAME exists here. Paths inside the configuration are\n"
		       "              those of the target system (/var/lib/postern ...).\n"
		       "--user NAME   the service account (default %s).\n",
		       usage, INSTALL_DEFAULT_USER, INSTALL_DATA_DIR, INSTALL_CONF_DIR, INSTALL_DATA_DIR,
		       INSTALL_LOG_DIR, INSTALL_CONF_FILE, INSTALL_DEFAULT_USER);
		return CLI_OK;
	}
	if (a->npos != 0)
		return cli_usage_error(usage, "install takes no arguments");
	if (a->config_path != NULL)
		return cli_usage_error(usage, "install writes %s; -c is not used", INSTALL_CONF_FILE);
	struct install in = { .prefix = "", .user = a->user ? a->user : INSTALL_DEFAULT_USER };
	if (!valid_user_name(in.user))
		return cli_usage_error(usage, "'%s' is not a valid user name (a-z, 0-9, _ and -, "
		                       "starting with a letter or _, at most 32)", in.user);
	char prefix[4096];
	if (a->prefix != NULL) {
		if (*a->prefix == '\0')
			return cli_usage_error(usage, "--prefix needs a directory");
		snprintf(prefix, sizeof(prefix), "%s", a->prefix);
		size_t n = strlen(prefix);
		while (n > 1 && prefix[n - 1] == '/')
			prefix[--n] = '\0';
		in.prefix = strcmp(prefix, "/") == 0 ? "" : prefix;
	}
	if (*in.prefix == '\0' && geteuid() != 0) {
		fprintf(stderr, "postern: install sets up the system and must run as root "
		        "(or stage a tree with --prefix DIR)\n");
		return CLI_FAIL;
	}
	umask(022);
	if (*in.prefix != '\0') {
		/* the tree's own parents (DIR/etc, DIR/var/lib, DIR/var/log) */
		static const char *const parents[] = { "/etc", "/var/lib", "/var/log" };
		char path[4096];
		for (size_t i = 0; i < ARRAY_LEN(parents); i++)
			if (bsnprintf(path, sizeof(path), "%s%s", in.prefix, parents[i]) < 0 ||
			    mkdir_p(path, 0755) < 0) {
				fprintf(stderr, "postern: %s%s: %s\n", in.prefix, parents[i], strerror(errno));
				return CLI_FAIL;
			}
	}
	if (resolve_account(&in) < 0)
		return CLI_FAIL;
	/* parents first: stop at the first problem, so that nothing is made
	 * inside a directory that is not what it should be */
	for (size_t i = 0; i < ARRAY_LEN(install_dirs) && in.problems == 0; i++)
		install_dir(&in, &install_dirs[i]);
	if (in.problems == 0)
		install_config(&in);
	if (in.problems > 0) {
		fprintf(stderr, "postern: install: %d problem%s above\n", in.problems,
		        in.problems == 1 ? "" : "s");
		return CLI_FAIL;
	}
	print_next_steps(&in);
	return CLI_OK;
}
