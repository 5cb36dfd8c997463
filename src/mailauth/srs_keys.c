/* data_dir/srs.key: made on first use, read at start, rotated by the CLI. */
#include "mailauth/srs_keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "core/util.h"

#define KEYS_FILE_MAX (SRS_KEYS_MAX * SRS_KEY_LEN)

static int key_path(const char *data_dir, const char *name, char *out, size_t outlen, char *err,
                    size_t errlen)
{
	if (bsnprintf(out, outlen, "%s/%s", data_dir, name) < 0) {
		snprintf(err, errlen, "%s/%s: path too long", data_dir, name);
		return -1;
	}
	return 0;
}

/* Reads the whole key file into buf: its size is checked before reading.
 * Returns the octets read, 0 when it does not exist, -1 on error. */
static ssize_t read_keys(const char *path, unsigned char buf[KEYS_FILE_MAX], char *err,
                         size_t errlen)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	struct stat sb;
	ssize_t n = -1;
	if (fstat(fd, &sb) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	} else if (!S_ISREG(sb.st_mode) || sb.st_size == 0 || sb.st_size % SRS_KEY_LEN != 0 ||
	           sb.st_size > KEYS_FILE_MAX) {
		snprintf(err, errlen, "%s: not 1 to %d keys of %d octets (postern srs rotate makes one)",
		         path, SRS_KEYS_MAX, SRS_KEY_LEN);
	} else {
		size_t got = 0;
		while (got < (size_t)sb.st_size) {
			ssize_t r = read(fd, buf + got, (size_t)sb.st_size - got);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			got += (size_t)r;
		}
		if (got == (size_t)sb.st_size)
			n = (ssize_t)got;
		else
			snprintf(err, errlen, "%s: short read", path);
	}
	close(fd);
	return n;
}

/* Writes keys to a fresh 0600 file next to path and returns its name in tmp. */
static int write_temp(const char *path, const unsigned char *keys, size_t len, char *tmp,
                      size_t tmplen, char *err, size_t errlen)
{
	if (bsnprintf(tmp, tmplen, "%s.tmp.XXXXXX", path) < 0) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	int fd = mkstemp(tmp);   /* 0600, O_EXCL */
	if (fd < 0) {
		snprintf(err, errlen, "creating %s: %s", tmp, strerror(errno));
		return -1;
	}
	int rc = write_all(fd, keys, len) < 0 || fsync(fd) < 0 ? -1 : 0;
	if (close(fd) < 0)
		rc = -1;
	if (rc < 0) {
		snprintf(err, errlen, "writing %s: %s", tmp, strerror(errno));
		unlink(tmp);
	}
	return rc;
}

static int sync_data_dir(const char *data_dir, char *err, size_t errlen)
{
	if (fsync_dir(data_dir) < 0) {
		snprintf(err, errlen, "syncing %s: %s", data_dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* A new file of one key; link() fails when another process made one first,
 * and then that one is used. */
static int create_key_file(const char *data_dir, const char *path, char *err, size_t errlen)
{
	unsigned char key[SRS_KEY_LEN];
	char tmp[4096];
	random_bytes(key, sizeof(key));
	int rc = write_temp(path, key, sizeof(key), tmp, sizeof(tmp), err, errlen);
	OPENSSL_cleanse(key, sizeof(key));
	if (rc < 0)
		return -1;
	if (link(tmp, path) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "creating %s: %s", path, strerror(errno));
		rc = -1;
	}
	unlink(tmp);
	return rc < 0 ? -1 : sync_data_dir(data_dir, err, errlen);
}

int srs_keys_load(struct srs *srs, const char *data_dir, bool create, char *err, size_t errlen)
{
	unsigned char buf[KEYS_FILE_MAX];
	char path[4096];
	if (key_path(data_dir, SRS_KEY_FILE, path, sizeof(path), err, errlen) < 0)
		return -1;
	ssize_t n = read_keys(path, buf, err, errlen);
	if (n == 0 && create) {
		if (create_key_file(data_dir, path, err, errlen) < 0)
			return -1;
		n = read_keys(path, buf, err, errlen);
	}
	if (n == 0)
		snprintf(err, errlen, "%s: no such file (postern srs rotate makes one)", path);
	if (n <= 0)
		return -1;
	srs->nkeys = (size_t)n / SRS_KEY_LEN;
	memcpy(srs->keys, buf, (size_t)n);
	OPENSSL_cleanse(buf, sizeof(buf));
	return 0;
}

int srs_keys_rotate(const char *data_dir, size_t *nkeys, char *err, size_t errlen)
{
	unsigned char buf[2 * SRS_KEY_LEN], old[KEYS_FILE_MAX];
	char path[4096], tmp[4096];
	if (key_path(data_dir, SRS_KEY_FILE, path, sizeof(path), err, errlen) < 0)
		return -1;
	ssize_t n = read_keys(path, old, err, errlen);
	if (n < 0)
		return -1;
	random_bytes(buf, SRS_KEY_LEN);
	/* the key that signed until now keeps verifying what it signed */
	size_t len = SRS_KEY_LEN;
	if (n > 0) {
		memcpy(buf + SRS_KEY_LEN, old, SRS_KEY_LEN);
		len += SRS_KEY_LEN;
	}
	OPENSSL_cleanse(old, sizeof(old));
	int rc = write_temp(path, buf, len, tmp, sizeof(tmp), err, errlen);
	OPENSSL_cleanse(buf, sizeof(buf));
	if (rc < 0)
		return -1;
	if (rename(tmp, path) < 0) {
		snprintf(err, errlen, "replacing %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	*nkeys = len / SRS_KEY_LEN;
	return sync_data_dir(data_dir, err, errlen);
}
