/* Listening UNIX sockets (LMTP's "unix:/run/postern/lmtp.sock"): what may be
 * replaced at the path, and the file's owner, group and mode.
 *
 * A socket file outlives the server that made it (a crash, kill -9), and the
 * next start must take its place; but the path is configuration, and a typo
 * must never make postern delete a regular file or take a live socket from
 * another server. So only a socket nobody listens on is removed. */
#include "net/listener.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/config.h"
#include "core/util.h"

#define LISTEN_BACKLOG 4096

enum path_state {
	PATH_FREE,              /* nothing there */
	PATH_STALE,             /* a socket file nobody listens on */
	PATH_REFUSED,           /* anything else: err says what */
};

static void socket_address(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	str_copy(sun->sun_path, sizeof(sun->sun_path), path);
}

/* Whether a process accepts connections on the socket file at path. */
static enum path_state probe_socket(const struct listen_addr *la, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	socket_address(la->path, &sun);
	/* non-blocking: a live server with a full backlog says EAGAIN, not a hang */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "%s: socket: %s", la->text, strerror(errno));
		return PATH_REFUSED;
	}
	int rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun)), e = errno;
	close(fd);
	if (rc < 0 && e == ECONNREFUSED)
		return PATH_STALE;
	if (rc == 0 || e == EAGAIN || e == EINPROGRESS)
		snprintf(err, errlen, "%s: another process listens on it (is another postern "
		         "running?)", la->text);
	else
		snprintf(err, errlen, "%s: cannot tell whether another process listens on it: %s",
		         la->text, strerror(e));
	return PATH_REFUSED;
}

static enum path_state probe_path(const struct listen_addr *la, char *err, size_t errlen)
{
	struct stat st;
	if (lstat(la->path, &st) < 0) {
		if (errno == ENOENT)
			return PATH_FREE;
		snprintf(err, errlen, "%s: %s", la->text, strerror(errno));
		return PATH_REFUSED;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s: %s exists and is not a socket: refusing to remove it (move "
		         "it away, or choose another path)", la->text, la->path);
		return PATH_REFUSED;
	}
	return probe_socket(la, err, errlen);
}

/* The directory the socket goes in; made (0755, so that the client can
 * reach the socket, whose own mode guards it) when missing. */
static int ensure_directory(const struct listen_addr *la, bool create, char *err, size_t errlen)
{
	char dir[sizeof(la->path)];
	struct stat st;
	str_copy(dir, sizeof(dir), la->path);
	char *d = dirname(dir);
	if (stat(d, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		snprintf(err, errlen, "%s: %s is not a directory", la->text, d);
		return -1;
	}
	if (errno == ENOENT && create && mkdir_p(d, 0755) == 0)
		return 0;
	snprintf(err, errlen, "%s: directory %s: %s (under systemd, RuntimeDirectory=postern "
	         "makes /run/postern)", la->text, d, strerror(errno));
	return -1;
}

int listener_check_unix(const struct listen_addr *la, char *err, size_t errlen)
{
	struct stat st;
	char dir[sizeof(la->path)];
	str_copy(dir, sizeof(dir), la->path);
	/* a missing directory is made at start, when its parent allows */
	if (stat(dirname(dir), &st) < 0 && errno == ENOENT)
		return 0;
	if (ensure_directory(la, false, err, errlen) < 0)
		return -1;
	return probe_path(la, err, errlen) == PATH_REFUSED ? -1 : 0;
}

/* Owner, group and mode of the new socket file. */
static int set_ownership(const struct listen_addr *la, uid_t uid, gid_t gid, char *err,
                         size_t errlen)
{
	/* the directory is root's or the service user's: nobody else can swap
	 * the file for a link between bind() and these calls */
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    fchownat(AT_FDCWD, la->path, uid, gid, AT_SYMLINK_NOFOLLOW) < 0) {
		snprintf(err, errlen, "%s: cannot give the socket to %s:%s: %s (start postern as "
		         "root, or name a group it is in)", la->text,
		         la->owner[0] ? la->owner : "-", la->group[0] ? la->group : "-", strerror(errno));
		return -1;
	}
	if (chmod(la->path, la->mode) < 0) {
		snprintf(err, errlen, "%s: chmod %o: %s", la->text, la->mode, strerror(errno));
		return -1;
	}
	return 0;
}

static int bind_socket(const struct listen_addr *la, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	socket_address(la->path, &sun);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "%s: socket: %s", la->text, strerror(errno));
		return -1;
	}
	/* made 0600: no client connects before its owner and mode are set (the
	 * umask is the process's, but no other thread runs yet) */
	mode_t old = umask(0177);
	int rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	int e = errno;
	umask(old);
	if (rc < 0) {
		snprintf(err, errlen, "%s: cannot listen: %s", la->text, strerror(e));
		close(fd);
		return -1;
	}
	return fd;
}

int listener_bind_unix(const struct listen_addr *la, uid_t uid, gid_t gid, char *err,
                       size_t errlen)
{
	if (ensure_directory(la, true, err, errlen) < 0)
		return -1;
	switch (probe_path(la, err, errlen)) {
	case PATH_REFUSED:
		return -1;
	case PATH_STALE:
		/* left by a server that died; nobody listens on it */
		if (unlink(la->path) < 0 && errno != ENOENT) {
			snprintf(err, errlen, "%s: cannot remove the stale socket: %s", la->text,
			         strerror(errno));
			return -1;
		}
		break;
	case PATH_FREE:
		break;
	}
	int fd = bind_socket(la, err, errlen);
	if (fd < 0)
		return -1;
	if (set_ownership(la, uid, gid, err, errlen) < 0)
		goto fail;
	if (listen(fd, LISTEN_BACKLOG) < 0) {
		snprintf(err, errlen, "%s: listen: %s", la->text, strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	unlink(la->path);   /* the file this call made */
	return -1;
}
