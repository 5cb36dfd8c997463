/* dovecot-keywords: see maildir_keywords.h. */
#include "store/maildir_keywords.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/util.h"

bool maildir_keyword_valid(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len > MAILDIR_KEYWORD_MAX || name[0] == '\\')
		return false;
	/* RFC 9051 ATOM-CHAR: no atom-specials (and no ']', resp-specials) */
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f || strchr("(){%*\"\\]", *p) != NULL)
			return false;
	return true;
}

int maildir_keywords_parse_line(const char *line, unsigned *index, const char **name,
                                const char **why)
{
	unsigned idx = 0;
	const char *p = line;
	if (*p < '0' || *p > '9')
		return *why = "no index", -1;
	while (*p >= '0' && *p <= '9' && idx < 100)
		idx = idx * 10 + (unsigned)(*p++ - '0');
	if (*p != ' ')
		return *why = "no space after the index", -1;
	if (idx >= MAILDIR_KEYWORD_LETTERS)
		return *why = "index beyond 'z'", -1;
	if (!maildir_keyword_valid(p + 1))
		return *why = "not a keyword IMAP allows", -1;
	*index = idx;
	*name = p + 1;
	return 0;
}

static void read_line(struct maildir_keywords *kw, char *line)
{
	unsigned idx;
	const char *name, *why;
	line[strcspn(line, "\r\n")] = '\0';
	if (maildir_keywords_parse_line(line, &idx, &name, &why) < 0)
		return;
	free(kw->name[idx]);
	kw->name[idx] = xstrdup(name);
}

int maildir_keywords_read(const char *dir, struct maildir_keywords *kw)
{
	char path[4200], line[MAILDIR_KEYWORD_MAX + 16];
	memset(kw, 0, sizeof(*kw));
	snprintf(path, sizeof(path), "%s/" MAILDIR_KEYWORDS_FILE, dir);
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return errno == ENOENT ? 0 : -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strchr(line, '\n') == NULL && !feof(f)) {
			int c;   /* an over-long line: skip the rest of it */
			while ((c = fgetc(f)) != EOF && c != '\n')
				;
			continue;
		}
		read_line(kw, line);
	}
	fclose(f);
	return 0;
}

int maildir_keywords_write(const char *dir, const struct maildir_keywords *kw)
{
	char path[4200], tmp[4300];
	struct buf text;
	buf_init(&text);
	for (int i = 0; i < MAILDIR_KEYWORD_LETTERS; i++) {
		if (kw->name[i] == NULL)
			continue;
		char num[16];
		snprintf(num, sizeof(num), "%d ", i);
		buf_puts(&text, num);
		buf_puts(&text, kw->name[i]);
		buf_puts(&text, "\n");
	}
	snprintf(path, sizeof(path), "%s/" MAILDIR_KEYWORDS_FILE, dir);
	/* written in tmp/, as a delivery is: a crash leaves it to the sweeper */
	snprintf(tmp, sizeof(tmp), "%s/tmp/%s.%ld", dir, MAILDIR_KEYWORDS_FILE, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int rc = -1;
	if (fd >= 0) {
		rc = write_all(fd, text.data ? text.data : "", text.len) == 0 && fsync(fd) == 0 ? 0 : -1;
		close(fd);
		if (rc == 0)
			rc = rename(tmp, path);
		if (rc != 0)
			unlink(tmp);
	}
	buf_free(&text);
	return rc;
}

void maildir_keywords_free(struct maildir_keywords *kw)
{
	for (int i = 0; i < MAILDIR_KEYWORD_LETTERS; i++)
		free(kw->name[i]);
	memset(kw, 0, sizeof(*kw));
}

char maildir_keyword_letter(const struct maildir_keywords *kw, const char *name, size_t len)
{
	for (int i = 0; i < MAILDIR_KEYWORD_LETTERS; i++)
		if (kw->name[i] != NULL && strlen(kw->name[i]) == len &&
		    strncasecmp(kw->name[i], name, len) == 0)
			return (char)('a' + i);
	return 0;
}

char maildir_keyword_assign(struct maildir_keywords *kw, const char *name, size_t len, bool *added)
{
	char c = maildir_keyword_letter(kw, name, len);
	if (c != 0 || len == 0 || len > MAILDIR_KEYWORD_MAX)
		return c;
	for (int i = 0; i < MAILDIR_KEYWORD_LETTERS; i++) {
		if (kw->name[i] == NULL) {
			kw->name[i] = strndup(name, len);
			*added = true;
			return (char)('a' + i);
		}
	}
	return 0;
}
