#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 8192

static int log_fd = 2;
static int audit_fd = -1;
static char *log_path;
static char *audit_path;
static int open_audit_file(const char *path);
static enum log_level log_min = LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

int log_level_parse(const char *name, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

bool log_enabled(enum log_level level)
{
	return level >= log_min;
}

static int open_log_file(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

int log_open(const char *path, enum log_level level)
{
	log_min = level;
	if (path == NULL || *path == '\0' || strcmp(path, "-") == 0)
		return 0;
	int fd = open_log_file(path);
	if (fd < 0)
		return -1;
	pthread_mutex_lock(&log_lock);
	if (log_fd != 2)
		close(log_fd);
	log_fd = fd;
	free(log_path);
	log_path = strdup(path);
	pthread_mutex_unlock(&log_lock);
	return 0;
}

/* Swaps *fd for a fresh open of path (after logrotate moved the old file). */
static int reopen_one(int *fd, const char *path, int (*opener)(const char *))
{
	if (path == NULL)
		return 0;
	int nfd = opener(path);
	if (nfd < 0)
		return -1;
	close(*fd);
	*fd = nfd;
	return 0;
}

int log_reopen(void)
{
	pthread_mutex_lock(&log_lock);
	int rc = reopen_one(&log_fd, log_path, open_log_file);
	if (audit_fd >= 0 && reopen_one(&audit_fd, audit_path, open_audit_file) < 0)
		rc = -1;
	pthread_mutex_unlock(&log_lock);
	return rc;
}

static int open_audit_file(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
}

int log_open_audit(const char *path)
{
	if (path == NULL || *path == '\0')
		return 0;
	int fd = open_audit_file(path);
	if (fd < 0)
		return -1;
	pthread_mutex_lock(&log_lock);
	if (audit_fd >= 0)
		close(audit_fd);
	audit_fd = fd;
	free(audit_path);
	audit_path = strdup(path);
	pthread_mutex_unlock(&log_lock);
	return 0;
}

/* Only the files we opened by name; standard error is not ours to give away. */
int log_chown(uid_t uid, gid_t gid)
{
	int rc = 0;
	pthread_mutex_lock(&log_lock);
	if (log_path != NULL && fchown(log_fd, uid, gid) < 0)
		rc = -1;
	if (audit_path != NULL && audit_fd >= 0 && fchown(audit_fd, uid, gid) < 0)
		rc = -1;
	pthread_mutex_unlock(&log_lock);
	return rc;
}

void log_close(void)
{
	pthread_mutex_lock(&log_lock);
	if (audit_fd >= 0)
		close(audit_fd);
	audit_fd = -1;
	if (log_fd != 2)
		close(log_fd);
	log_fd = 2;
	free(log_path);
	log_path = NULL;
	free(audit_path);
	audit_path = NULL;
	pthread_mutex_unlock(&log_lock);
}

size_t json_quote(char *buf, size_t len, size_t cap, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	/* room for the closing quote and the NUL is reserved at every step */
	if (len + 3 > cap)
		return len;
	buf[len++] = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		char esc[7];
		size_t n = 0;
		switch (*p) {
		case '"': esc[n++] = '\\'; esc[n++] = '"'; break;
		case '\\': esc[n++] = '\\'; esc[n++] = '\\'; break;
		case '\n': esc[n++] = '\\'; esc[n++] = 'n'; break;
		case '\r': esc[n++] = '\\'; esc[n++] = 'r'; break;
		case '\t': esc[n++] = '\\'; esc[n++] = 't'; break;
		default:
			if (*p < 0x20 || *p == 0x7f) {
				memcpy(esc, "\\u00", 4);
				esc[4] = hex[*p >> 4];
				esc[5] = hex[*p & 15];
				n = 6;
			} else {
				esc[n++] = (char)*p;
			}
		}
		if (len + n + 2 > cap)
			break;
		memcpy(buf + len, esc, n);
		len += n;
	}
	buf[len++] = '"';
	buf[len] = '\0';
	return len;
}

static size_t append_raw(char *buf, size_t len, size_t cap, const char *s)
{
	size_t n = strlen(s);
	if (len + 1 >= cap)
		return len; /* full: the line is cut, never overrun */
	if (len + n + 1 > cap)
		n = cap - len - 1;
	memcpy(buf + len, s, n);
	len += n;
	buf[len] = '\0';
	return len;
}

static size_t append_timestamp(char *buf, size_t len, size_t cap)
{
	struct timespec ts;
	struct tm tm;
	char tmp[64];
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(tmp, sizeof(tmp), "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\"",
	         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	         tm.tm_sec, ts.tv_nsec / 1000000);
	return append_raw(buf, len, cap, tmp);
}

static size_t append_field(char *buf, size_t len, size_t cap, const char *type,
                           const char *key, va_list *ap)
{
	char num[32];
	len = append_raw(buf, len, cap, ",");
	len = json_quote(buf, len, cap, key);
	len = append_raw(buf, len, cap, ":");
	switch (type[0]) {
	case 's': {
		const char *v = va_arg(*ap, const char *);
		len = v ? json_quote(buf, len, cap, v) : append_raw(buf, len, cap, "null");
		break;
	}
	case 'i':
		snprintf(num, sizeof(num), "%lld", va_arg(*ap, long long));
		len = append_raw(buf, len, cap, num);
		break;
	case 'b':
		len = append_raw(buf, len, cap, va_arg(*ap, int) ? "true" : "false");
		break;
	case 'j':
		len = append_raw(buf, len, cap, va_arg(*ap, const char *));
		break;
	default:
		abort(); /* programming error: unknown field type */
	}
	return len;
}

static void write_line(enum log_level level, const char *event, va_list ap, bool audit);

void log_eventv(enum log_level level, const char *event, va_list ap)
{
	write_line(level, event, ap, false);
}

void log_security(enum log_level level, const char *event, ...)
{
	va_list ap;
	va_start(ap, event);
	write_line(level, event, ap, true);
	va_end(ap);
}

static void write_line(enum log_level level, const char *event, va_list ap, bool audit)
{
	static const char cut[] = ",\"truncated\":true";
	char buf[LOG_LINE_MAX];
	/* keep room for "}\n" and for the mark of a line that did not fit */
	size_t cap = sizeof(buf) - 2 - (sizeof(cut) - 1);
	size_t len;
	const char *type;
	va_list aq;

	if (!log_enabled(level) && !(audit && audit_fd >= 0))
		return;
	va_copy(aq, ap);
	len = append_timestamp(buf, 0, cap);
	len = append_raw(buf, len, cap, ",\"level\":");
	len = json_quote(buf, len, cap, level_names[level]);
	len = append_raw(buf, len, cap, ",\"event\":");
	len = json_quote(buf, len, cap, event);
	while ((type = va_arg(aq, const char *)) != NULL) {
		const char *key = va_arg(aq, const char *);
		size_t mark = len;
		len = append_field(buf, len, cap, type, key, &aq);
		if (len + 1 >= cap) {
			/* a field cut in the middle would break the JSON: drop it and
			 * the rest, and say so */
			memcpy(buf + mark, cut, sizeof(cut) - 1);
			len = mark + sizeof(cut) - 1;
			break;
		}
	}
	va_end(aq);
	buf[len++] = '}';
	buf[len++] = '\n';
	pthread_mutex_lock(&log_lock);
	/* one write per line keeps lines whole between threads and processes */
	ssize_t w = log_enabled(level) ? write(log_fd, buf, len) : 0;
	if (audit && audit_fd >= 0)
		w = write(audit_fd, buf, len);
	pthread_mutex_unlock(&log_lock);
	(void)w;
}

void log_event(enum log_level level, const char *event, ...)
{
	va_list ap;
	va_start(ap, event);
	log_eventv(level, event, ap);
	va_end(ap);
}

