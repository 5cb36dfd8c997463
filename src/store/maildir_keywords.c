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

/* Longer names are not read: IMAP keywords are atoms of a few dozen octets. */
#define KEYWORD_NAME_MAX 255

static void read_line(struct maildir_keywords *kw, char *line)
{
	char *end;
	long n = strtol(line, &end, 10);
	if (end == line || *end != ' ' || n < 0 || n >= MAILDIR_KEYWORD_LETTERS)
		return;
	char *name = end + 1;
	name[strcspn(name, "\r\n")] = '\0';
	/* a keyword is an atom: nothing a later line would misread */
	if (*name == '\0' || strlen(name) > KEYWORD_NAME_MAX || strpbrk(name, " \t") != NULL)
		return;
	free(kw->name[n]);
	kw->name[n] = xstrdup(name);
}

int maildir_keywords_read(const char *dir, struct maildir_keywords *kw)
{
	char path[4200], line[KEYWORD_NAME_MAX + 16];
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
	if (c != 0 || len == 0 || len > KEYWORD_NAME_MAX)
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
