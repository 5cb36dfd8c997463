/* APPEND (RFC 9051 6.3.12): the message written to the mailbox's Maildir
 * and added to its index, answered with APPENDUID (RFC 4315). */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/util.h"
#include "imap/imap_cmds.h"
#include "imap/imap_fetch_parse.h"
#include "imap/imap_hdrcache.h"
#include "imap/imap_search_parse.h"
#include "imap/imap_session.h"
#include "mail/encode.h"
#include "store/acl_rights.h"
#include "store/maildir.h"

/* Stores the client's CRLF message the Maildir way (LF), fsync'd, in tmp/. */
static int write_appended(const char *dir, const char *hostname, const char *data, size_t len,
                          char *path, size_t pathlen, uint64_t *vsize)
{
	char name[256];
	size_t lines = 0, out = 0;
	char *lf = xmalloc(len + 1);
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\r' && i + 1 < len && data[i + 1] == '\n')
			continue;
		if (data[i] == '\n')
			lines++;
		lf[out++] = data[i];
	}
	*vsize = out + lines;
	int rc = -1;
	if (maildir_unique_name(name, sizeof(name), hostname, out, *vsize) == 0 &&
	    bsnprintf(path, pathlen, "%s/tmp/%s", dir, name) >= 0) {
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0) {
			rc = write_all(fd, lf, out) == 0 && fdatasync(fd) == 0 ? 0 : -1;
			close(fd);
			if (rc < 0)
				unlink(path);
		}
	}
	free(lf);
	return rc;
}

static void count_keyword(void *arg, const char *kw)
{
	(void)kw;
	(*(size_t *)arg)++;
}

/* IMAP_MAILBOX_KEYWORDS_MAX for the target (counting the new ones as new:
 * an APPEND with keywords is rare enough not to look closer). */
static bool keyword_room(struct mbox_store *ms, const struct mbox_info *mb,
                         const struct imap_flags *flags)
{
	size_t have = 0;
	if (flags->nkeywords == 0)
		return true;
	mbox_keywords(ms, mb, count_keyword, &have);
	return have + flags->nkeywords <= IMAP_MAILBOX_KEYWORDS_MAX;
}

/* RFC 4314 4: APPEND sets only the flags the user has the rights for
 * (\Seen s, \Deleted t, the others and keywords w); the rest are dropped. */
static uint32_t appended_flags(uint32_t flags, unsigned rights)
{
	uint32_t allowed = (rights & ACL_SEEN ? MBOX_F_SEEN : 0) |
	                   (rights & ACL_DELETE_MSG ? MBOX_F_DELETED : 0) |
	                   (rights & ACL_WRITE ? MBOX_F_ANSWERED | MBOX_F_FLAGGED | MBOX_F_DRAFT : 0);
	return flags & allowed;
}

void imap_cmd_append(struct imap_session *s, struct imap_command *cmd)
{
	struct imap_cursor c;
	const char *data;
	size_t len;
	bool binary;
	char mbname[MBOX_NAME_MAX + 1], dir[4096], path[4400];
	struct imap_flags flags = { 0 };
	struct mbox_info mb;
	int64_t when = (int64_t)time(NULL);
	imap_command_args(cmd, &c);
	if (!imap_expect_mailbox(s, cmd, &c, mbname, sizeof(mbname)))
		return;
	if (imap_peek(&c) && imap_peek(&c)->type == IMAP_ARG_LIST && !imap_next_flag_list(&c, &flags)) {
		imap_tagged(s, cmd->tag, "BAD", "%s", cmd->error ? cmd->error : "Bad flag list");
		return;
	}
	if (imap_peek(&c) && imap_peek(&c)->type == IMAP_ARG_QUOTED) {
		const char *d;
		size_t dl;
		int zone;
		if (!imap_next_string(&c, &d, &dl) || !imap_date_time_parse(d, dl, &when, &zone)) {
			imap_flags_free(&flags);
			imap_tagged(s, cmd->tag, "BAD", "Bad date-time");
			return;
		}
	}
	if (!imap_next_literal(&c, &data, &len, &binary) || !imap_expect_end(&c)) {
		imap_flags_free(&flags);
		imap_tagged(s, cmd->tag, "BAD", "%s", cmd->error ? cmd->error : "Message literal expected");
		return;
	}
	/* RFC 3516 4.4: a literal8 may hold binary parts; stored as text lines
	 * (LF) their bare CRs and LFs would change: kept in base64, they come
	 * back octet for octet through BINARY[] */
	struct buf conv;
	buf_init(&conv);
	if (binary && mime_binary_parts_to_base64(data, len, &conv)) {
		data = conv.data;
		len = conv.len;
	}
	struct buf kw;
	buf_init(&kw);
	for (size_t i = 0; i < flags.nkeywords; i++) {
		if (i)
			buf_append(&kw, " ", 1);
		buf_puts(&kw, flags.keywords[i]);
	}
	uint64_t vsize;
	uint32_t uid;
	struct imap_mailbox_ref to;
	int rc = imap_ref_open(s, mbname, &to);
	if (rc == MBOX_OK && !imap_ref_allows(s, cmd->tag, &to, ACL_INSERT)) {
		rc = MBOX_NOT_FOUND;   /* answered */
	} else if (rc != MBOX_OK || (rc = mbox_find(to.ms, to.name, &mb)) != MBOX_OK) {
		imap_tagged(s, cmd->tag, "NO", "[TRYCREATE] No such mailbox");
	} else if (!keyword_room(to.ms, &mb, &flags)) {
		imap_tagged(s, cmd->tag, "NO", "[LIMIT] Too many keywords in this mailbox");
	} else if (!imap_quota_allows_for(s, to.shared ? to.owner : s->user, len, 1)) {
		/* nothing is written; a {N+} literal gets here unchecked
		 * (imap_session.c checks the others before they are sent) */
		imap_tagged(s, cmd->tag, "NO", "[OVERQUOTA] Quota exceeded");
	} else if (mbox_dir(to.ms, mb.name, dir, sizeof(dir)) < 0 ||
	           write_appended(dir, s->ns.cfg->hostname, data, len, path, sizeof(path), &vsize) < 0 ||
	           (rc = mbox_append_file(to.ms, &mb, path, appended_flags(flags.system, to.rights),
	                                  to.rights & ACL_WRITE ? kw.data : "", when, vsize,
	                                  &uid)) != MBOX_OK) {
		/* an import is giving this mailbox its UIDs: try again later (RFC 5530) */
		imap_tagged(s, cmd->tag, "NO", rc == MBOX_IN_USE
		            ? "[INUSE] The mailbox is being imported; try again later"
		            : "[SERVERBUG] Cannot store the message");
	} else {
		imap_hdrcache_put_message(to.ms, &mb, uid, data, len);
		if (s->state == IMAP_SELECTED && to.ms == s->view.ref.ms && mb.id == s->view.mb.id)
			imap_view_update(s, true);
		imap_tagged(s, cmd->tag, "OK", "[APPENDUID %u %u] APPEND completed", mb.uidvalidity, uid);
	}
	imap_ref_release(s, &to);
	buf_free(&kw);
	buf_free(&conv);
	imap_flags_free(&flags);
}
