#include "store/maildir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/util.h"

int maildir_name_safe(const char *name)
{
	if (name[0] == '\0' || name[0] == '.' || strlen(name) > 255)
		return 0;
	for (const char *p = name; *p; p++)
		if (*p == '/' || (unsigned char)*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

int maildir_path(const char *data_dir, const char *domain, const char *local,
                 char *out, size_t outlen)
{
	if (!maildir_name_safe(domain) || !maildir_name_safe(local))
		return -1;
	return bsnprintf(out, outlen, "%s/mail/%s/%s/Maildir", data_dir, domain, local) < 0 ? -1 : 0;
}

int maildir_ensure(const char *maildir)
{
	static const char *const subdirs[] = { "tmp", "new", "cur" };
	char path[4096];
	for (size_t i = 0; i < ARRAY_LEN(subdirs); i++) {
		if (bsnprintf(path, sizeof(path), "%s/%s", maildir, subdirs[i]) < 0) {
			errno = ENAMETOOLONG;
			return -1;
		}
		if (mkdir(path, 0700) == 0 || errno == EEXIST)
			continue;
		if (errno != ENOENT || mkdir_p(path, 0700) < 0)
			return -1;
	}
	return 0;
}

/* The host part must not contain '/' or ':' (Maildir uses ':' for flags). */
static void sanitize_host(const char *in, char *out, size_t outlen)
{
	size_t i = 0;
	for (; in[i] && i + 1 < outlen; i++) {
		out[i] = (in[i] == '/' || in[i] == ':') ? '_' : in[i];
	}
	out[i] = '\0';
}

int maildir_unique_name(char *out, size_t outlen, const char *hostname,
                        uint64_t size, uint64_t vsize)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return maildir_unique_name_at(out, outlen, tv.tv_sec, tv.tv_usec, hostname, size, vsize);
}

int maildir_unique_name_at(char *out, size_t outlen, long long sec, long usec,
                           const char *hostname, uint64_t size, uint64_t vsize)
{
	static atomic_ulong counter;
	char host[128], rnd[9];
	sanitize_host(hostname, host, sizeof(host));
	random_id(rnd, 8);
	return bsnprintf(out, outlen, "%lld.M%06ldP%dQ%luR%s.%s,S=%llu,W=%llu",
	                 sec, usec, (int)getpid(),
	                 atomic_fetch_add(&counter, 1) + 1, rnd, host,
	                 (unsigned long long)size, (unsigned long long)vsize) < 0 ? -1 : 0;
}

static int write_tmp_file(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	int rc = write_all(fd, text, len) == 0 && fdatasync(fd) == 0 ? 0 : -1;
	int saved = errno;
	if (close(fd) < 0 && rc == 0)
		return -1;
	errno = saved;
	return rc;
}

int maildir_deliver_text(const char *maildir, const char *hostname, const char *text, size_t len)
{
	char name[256], tmp[4400], dst[4400], newdir[4200];
	uint64_t lines = 0;
	for (size_t i = 0; i < len; i++)
		lines += text[i] == '\n';
	if (maildir_ensure(maildir) < 0)
		return -1;
	if (maildir_unique_name(name, sizeof(name), hostname, len, len + lines) < 0 ||
	    bsnprintf(tmp, sizeof(tmp), "%s/tmp/%s", maildir, name) < 0 ||
	    bsnprintf(dst, sizeof(dst), "%s/new/%s", maildir, name) < 0 ||
	    bsnprintf(newdir, sizeof(newdir), "%s/new", maildir) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (write_tmp_file(tmp, text, len) < 0 || rename(tmp, dst) < 0) {
		int saved = errno;
		unlink(tmp);
		errno = saved;
		return -1;
	}
	return fsync_dir(newdir);
}

int maildir_lock(const char *maildir, const char *name)
{
	char path[4200];
	if (bsnprintf(path, sizeof(path), "%s/postern-%s.lock", maildir, name) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* flock, not fcntl: fcntl locks belong to the process, so two sessions on
	 * the workers of one server would never see each other's */
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return fd;
	int err = errno;
	close(fd);
	if (err == EWOULDBLOCK)
		return MAILDIR_LOCK_BUSY;
	errno = err;
	return -1;
}

void maildir_unlock(int fd)
{
	if (fd >= 0)
		close(fd);   /* the lock goes with the last descriptor of the open file */
}
