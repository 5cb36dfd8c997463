/* libFuzzer target for the files an import reads from another server's
 * Maildir (src/import/): dovecot-uidlist (header, then entries of its
 * version), and the same lines as dovecot-keywords and subscriptions lines
 * and as folder names. The input goes through the bounded line reader (a
 * pipe), as a real file does.
 *
 * Beyond the sanitizers it checks what the import relies on: a parsed
 * entry's UID is usable (1 .. 2^32-2), its base is a file name that stays
 * in its directory, a kept UIDL is one RFC 1939 allows, every keyword kept
 * is a valid IMAP keyword, and a converted folder name is one postern
 * accepts. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/lines.h"
#include "import/dovecot_keywords.h"
#include "import/dovecot_subs.h"
#include "import/dovecot_uidlist.h"
#include "import/import_names.h"
#include "store/mbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

static void check_entry(const struct dovecot_uidlist_entry *e)
{
	check(e->uid != 0 && e->uid != UINT32_MAX);
	check(e->base[0] != '\0' && e->base[0] != '.' && strchr(e->base, '/') == NULL &&
	      strchr(e->base, ':') == NULL);
	check(e->pop3_uidl[0] == '\0' || mbox_pop3_uidl_valid(e->pop3_uidl));
}

static void check_keywords(const struct dovecot_keywords *kw)
{
	char out[MBOX_KEYWORDS_MAX + 1];
	unsigned unknown = 0;
	dovecot_keywords_of(kw, "abcdefghijklmnopqrstuvwxyzS", out, sizeof(out), &unknown);
	check(strlen(out) <= MBOX_KEYWORDS_MAX);
	for (int i = 0; i < DOVECOT_KEYWORDS; i++)
		check(kw->name[i][0] == '\0' || maildir_keyword_valid(kw->name[i]));
}

static void one_line(const char *line, struct dovecot_uidlist_header *h, bool *have_header,
                     struct dovecot_keywords *kw, struct dovecot_subs *subs)
{
	const char *why;
	struct dovecot_uidlist_entry e;
	char name[MBOX_NAME_MAX + 1], folder[MBOX_NAME_MAX + 1];
	if (!*have_header) {
		*have_header = dovecot_uidlist_parse_header(line, h, &why) == 0;
		if (*have_header)
			check(h->uidvalidity != 0 && (h->version == 1 || h->version == 3));
	} else if (dovecot_uidlist_parse_entry(line, h->version, &e, &why) == 0) {
		check_entry(&e);
	}
	dovecot_keywords_parse_line(kw, line, &why);
	if (dovecot_subs_line(subs, line, name, sizeof(name), &why) == 1 &&
	    import_folder_name(name, '/', folder, sizeof(folder), &why) == 0)
		check(strcmp(folder, "INBOX") == 0 || mbox_name_valid(folder));
	if (import_folder_name(line, '.', folder, sizeof(folder), &why) == 0)
		check(strcmp(folder, "INBOX") == 0 || mbox_name_valid(folder));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fds[2];
	if (size > 60000 || pipe(fds) < 0)
		return 0;
	if (write(fds[1], data, size) != (ssize_t)size) {
		close(fds[0]);
		close(fds[1]);
		return 0;
	}
	close(fds[1]);
	struct lines r;
	struct dovecot_uidlist_header h;
	struct dovecot_keywords kw;
	struct dovecot_subs subs = { 0 };
	bool have_header = false;
	char *line;
	size_t len;
	int rc;
	memset(&kw, 0, sizeof(kw));
	lines_init(&r, fds[0], DOVECOT_UIDLIST_LINE_MAX);
	while ((rc = lines_next(&r, &line, &len)) != LINES_END && rc != LINES_ERROR) {
		if (rc == LINES_OK && strlen(line) == len)   /* a NUL inside: not a line of text */
			one_line(line, &h, &have_header, &kw, &subs);
	}
	check_keywords(&kw);
	lines_free(&r);
	close(fds[0]);
	return 0;
}
