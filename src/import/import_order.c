/* The order an import gives UIDs in: Dovecot's own (dovecot-uidlist, read
 * as a stream), then any file the list does not name; or, for a plain
 * Maildir, the order of the file names (their delivery times). Both orders
 * come out the same on every run over the same tree, which is what lets a
 * second run skip what the first one did. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "import/import_int.h"
#include "store/scratch.h"

/* UIDs are kept below this, leaving a mailbox room for 268 million more
 * messages: a list that claims more is broken, not big. */
#define IMPORT_UID_MAX 0xF0000000u
#define CHUNK 256

static int scratch_failed(struct folder_job *j)
{
	snprintf(j->err, j->errlen, "%s: the scratch file failed", j->path);
	return JOB_FATAL;
}

struct chunk {
	char key[CHUNK][DOVECOT_NAME_MAX + 1];
	char stored[CHUNK][DOVECOT_NAME_MAX + 2];
	size_t n;
};

static void collect(void *arg, const char *key, const char *stored)
{
	struct chunk *c = arg;
	str_copy(c->key[c->n], sizeof(c->key[0]), key);
	str_copy(c->stored[c->n], sizeof(c->stored[0]), stored);
	c->n++;
}

/* Walks the files still in the scratch map in name order, after `after`:
 * each gets `uid` onwards (a UID spent even on a file skipped, so that the
 * order never shifts), or with uid 0 the next UID of the mailbox and its
 * name as the resume point. */
static int walk_files(struct folder_job *j, const char *after, uint32_t uid)
{
	char cursor[DOVECOT_NAME_MAX + 1], where[sizeof(j->path) + 300];
	struct chunk *c = xmalloc(sizeof(*c));
	int rc = JOB_OK, n;
	str_copy(cursor, sizeof(cursor), after);
	while (rc == JOB_OK && (c->n = 0, n = scratch_map_next(j->files, cursor, CHUNK, collect, c)) > 0) {
		for (size_t i = 0; rc == JOB_OK && i < c->n; i++) {
			if (uid == 0) {
				rc = job_take(j, 0, c->stored[i], NULL, c->key[i]);
			} else if (uid >= IMPORT_UID_MAX) {
				snprintf(where, sizeof(where), "%s/%s", j->path, c->stored[i] + 1);
				import_report_skip(j->r, IMPORT_SKIP_UIDLIST_LINE, where, "no UID left for it");
			} else {
				rc = job_take(j, uid++, c->stored[i], NULL, NULL);
			}
		}
		str_copy(cursor, sizeof(cursor), c->key[c->n - 1]);
	}
	free(c);
	if (n < 0)
		return scratch_failed(j);
	if (rc == JOB_OK)
		rc = job_flush(j, uid == 0 ? cursor : NULL);
	if (uid != 0 && uid > j->final_uidnext)
		j->final_uidnext = uid;
	return rc;
}

int import_in_file_order(struct folder_job *j)
{
	int rc = walk_files(j, j->imp.position, 0);
	j->final_uidnext = j->next_uid;
	return rc;
}

/* One line of the list: the file it names is taken out of the scratch map
 * (it is not a leftover) and imported under its UID. *prev is the UID of
 * the line before; an entry must climb above it. */
static int take_entry(struct folder_job *j, const char *line, size_t len, uint32_t *prev)
{
	struct dovecot_uidlist_entry e;
	char where[sizeof(j->path) + 64], stored[DOVECOT_NAME_MAX + 2], why_buf[96];
	const char *why;
	snprintf(where, sizeof(where), "%s/dovecot-uidlist line %lu", j->path, j->uidlist.lineno);
	if (strlen(line) != len || dovecot_uidlist_parse_entry(line, j->hdr.version, &e, &why) < 0) {
		import_report_skip(j->r, IMPORT_SKIP_UIDLIST_LINE, where,
		                   strlen(line) != len ? "a NUL octet" : why);
		return JOB_OK;
	}
	if (e.uid <= *prev || e.uid >= IMPORT_UID_MAX) {
		snprintf(why_buf, sizeof(why_buf), e.uid <= *prev ? "UID %u not above the one before (%u)"
		         : "UID %u beyond what a mailbox can hold", e.uid, *prev);
		import_report_skip(j->r, IMPORT_SKIP_UIDLIST_LINE, where, why_buf);
		return JOB_OK;
	}
	*prev = e.uid;
	if (e.bad_pop3_uidl)
		import_report_skip(j->r, IMPORT_SKIP_POP3_UIDL, where, "a P field RFC 1939 does not allow");
	if (scratch_map_get(j->files, e.base, stored, sizeof(stored)) != 0)
		return JOB_OK;   /* expunged: Dovecot updates its list lazily */
	if (scratch_map_del(j->files, e.base) < 0)
		return scratch_failed(j);
	return job_take(j, e.uid, stored, e.pop3_uidl, NULL);
}

int import_in_uidlist_order(struct folder_job *j)
{
	char *line, where[sizeof(j->path) + 64];
	size_t len;
	uint32_t prev = 0;
	int rc = JOB_OK, lr;
	if (scratch_map_begin(j->files) < 0)
		return scratch_failed(j);
	while (rc == JOB_OK && (lr = lines_next(&j->uidlist, &line, &len)) != LINES_END) {
		snprintf(where, sizeof(where), "%s/dovecot-uidlist line %lu", j->path, j->uidlist.lineno);
		if (lr == LINES_ERROR) {
			import_report_error(j->r, "%s: a read error: folder stopped", where);
			rc = JOB_FOLDER_FAILED;
		} else if (lr == LINES_TOO_LONG) {
			import_report_skip(j->r, IMPORT_SKIP_UIDLIST_LINE, where, "longer than 8192 octets");
		} else if (len > 0) {
			rc = take_entry(j, line, len, &prev);
		}
	}
	if (scratch_map_commit(j->files) < 0 && rc == JOB_OK)
		rc = scratch_failed(j);
	if (rc == JOB_OK)
		rc = job_flush(j, NULL);
	/* files the list does not name yet: new UIDs after every listed one,
	 * as Dovecot would give them */
	uint32_t next = j->hdr.next_uid < IMPORT_UID_MAX ? j->hdr.next_uid : 0;
	if (next <= prev)
		next = prev + 1;
	j->final_uidnext = next;
	return rc == JOB_OK ? walk_files(j, "", next) : rc;
}

uint32_t import_final_uidnext(const struct folder_job *j)
{
	return j->final_uidnext;
}
