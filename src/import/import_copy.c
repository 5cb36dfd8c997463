#include "import/import_copy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"

#define COPY_BLOCK 65536

int import_looks_like_message(const char *data, size_t len)
{
	if (len >= 5 && memcmp(data, "From ", 5) == 0)
		return 1;   /* an mbox separator some delivery agents leave in */
	size_t i = 0;
	/* RFC 5322 3.6.8: field-name = 1*ftext (printable ASCII but ':') */
	while (i < len && (unsigned char)data[i] > 32 && (unsigned char)data[i] < 127 && data[i] != ':')
		i++;
	size_t name_len = i;
	while (i < len && (data[i] == ' ' || data[i] == '\t'))
		i++;   /* RFC 5322 4.5.3: obsolete white space before the colon */
	if (name_len == 0 || i == len || data[i] != ':')
		return 0;
	/* the header ends at the first empty line */
	for (size_t j = 0; j < len; j++) {
		if (data[j] == '\0')
			return 0;
		if (data[j] == '\n' && j + 1 < len && (data[j + 1] == '\n' || data[j + 1] == '\r'))
			break;
	}
	return 1;
}

static int open_source(int srcdir, const char *name, struct stat *sb, enum import_skip *skip,
                       char *detail, size_t dlen)
{
	/* O_NONBLOCK: a FIFO put there must not hang the import */
	int fd = openat(srcdir, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == EACCES || errno == EPERM) {
			snprintf(detail, dlen, "%s: %s", name, strerror(errno));
			return -2;
		}
		*skip = errno == ELOOP ? IMPORT_SKIP_SYMLINK : IMPORT_SKIP_UNREADABLE;
		snprintf(detail, dlen, "%s", errno == ELOOP ? "a symbolic link" : strerror(errno));
		return -1;
	}
	if (fstat(fd, sb) < 0 || !S_ISREG(sb->st_mode)) {
		*skip = IMPORT_SKIP_NOT_FILE;
		snprintf(detail, dlen, "not a regular file");
	} else if (sb->st_size == 0) {
		*skip = IMPORT_SKIP_EMPTY;
		snprintf(detail, dlen, "empty");
	} else if ((uint64_t)sb->st_size > IMPORT_MESSAGE_MAX / 2) {
		*skip = IMPORT_SKIP_TOO_LARGE;   /* its RFC822.SIZE may reach twice the octets */
		snprintf(detail, dlen, "%lld octets", (long long)sb->st_size);
	} else {
		return fd;
	}
	close(fd);
	return -1;
}

static uint64_t crlf_extra(const char *buf, size_t n, bool *cr)
{
	uint64_t extra = 0;
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\n' && !*cr)
			extra++;
		*cr = buf[i] == '\r';
	}
	return extra;
}

/* Copies in to out; -1 with detail for a read error (a skip), -2 for a
 * write error (fatal). */
static int copy_data(int in, int out, struct import_copied *c, enum import_skip *skip,
                     char *detail, size_t dlen)
{
	char buf[COPY_BLOCK];
	bool cr = false, first = true;
	ssize_t n;
	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			*skip = IMPORT_SKIP_UNREADABLE;
			snprintf(detail, dlen, "read: %s", strerror(errno));
			return -1;
		}
		if (first && !import_looks_like_message(buf, (size_t)n)) {
			*skip = IMPORT_SKIP_NOT_MESSAGE;
			snprintf(detail, dlen, "does not start like an RFC 5322 message");
			return -1;
		}
		first = false;
		if (write_all(out, buf, (size_t)n) < 0) {
			snprintf(detail, dlen, "writing the copy: %s", strerror(errno));
			return -2;
		}
		c->octets += (uint64_t)n;
		c->vsize += (uint64_t)n + crlf_extra(buf, (size_t)n, &cr);
	}
	return 0;
}

int import_copy_message(int srcdir, const char *name, int tmpdir, const char *tmpname,
                        struct import_copied *out, enum import_skip *skip, char *detail,
                        size_t dlen)
{
	struct stat sb;
	memset(out, 0, sizeof(*out));
	int in = open_source(srcdir, name, &sb, skip, detail, dlen);
	if (in < 0)
		return in == -2 ? IMPORT_COPY_DENIED : IMPORT_COPY_SKIP;
	int fd = openat(tmpdir, tmpname, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(detail, dlen, "creating the copy: %s", strerror(errno));
		close(in);
		return IMPORT_COPY_FATAL;
	}
	int rc = copy_data(in, fd, out, skip, detail, dlen);
	out->mtime = (long long)sb.st_mtime;
	/* the message keeps its date as the file's mtime too, as Dovecot reads it */
	struct timespec times[2] = { sb.st_mtim, sb.st_mtim };
	if (rc == 0 && out->octets > 0 && futimens(fd, times) < 0) {
		snprintf(detail, dlen, "setting the date of the copy: %s", strerror(errno));
		rc = -2;
	}
	if (rc == 0 && out->octets == 0) {
		*skip = IMPORT_SKIP_EMPTY;   /* emptied since the fstat */
		snprintf(detail, dlen, "empty");
		rc = -1;
	}
	if (close(fd) < 0 && rc == 0) {
		snprintf(detail, dlen, "writing the copy: %s", strerror(errno));
		rc = -2;
	}
	close(in);
	if (rc < 0)
		unlinkat(tmpdir, tmpname, 0);
	return rc == 0 ? IMPORT_COPY_OK : rc == -1 ? IMPORT_COPY_SKIP : IMPORT_COPY_FATAL;
}
