/* The flags of the selected mailbox as the client knows them: the FLAGS
 * and PERMANENTFLAGS responses, sent at SELECT and again whenever a
 * keyword the client has not been told of is about to show in a FETCH
 * (RFC 3501 7.2.6: a FLAGS response lists every flag the mailbox has). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/util.h"
#include "imap/imap_session.h"

#define SYSTEM_FLAGS "\\Answered \\Flagged \\Deleted \\Seen \\Draft"

static bool known(const struct imap_view *v, const char *kw, size_t len)
{
	for (size_t i = 0; i < v->nkeywords; i++)
		if (strlen(v->keywords[i]) == len && strncasecmp(v->keywords[i], kw, len) == 0)
			return true;
	return false;
}

static void add_keyword(struct imap_view *v, const char *kw, size_t len)
{
	if (known(v, kw, len))
		return;
	if (v->nkeywords == v->capkeywords) {
		v->capkeywords = v->capkeywords ? v->capkeywords * 2 : 16;
		v->keywords = xrealloc(v->keywords, v->capkeywords * sizeof(char *));
	}
	v->keywords[v->nkeywords++] = strndup(kw, len);
}

static void collect(void *arg, const char *kw)
{
	add_keyword(arg, kw, strlen(kw));
}

void imap_view_keywords_free(struct imap_view *v)
{
	for (size_t i = 0; i < v->nkeywords; i++)
		free(v->keywords[i]);
	free(v->keywords);
	v->keywords = NULL;
	v->nkeywords = v->capkeywords = 0;
}

bool imap_view_keyword_room(const struct imap_view *v, const char *const *kws, size_t n)
{
	size_t unknown = 0;
	for (size_t i = 0; i < n; i++)
		unknown += !known(v, kws[i], strlen(kws[i]));
	return unknown == 0 || v->nkeywords + unknown <= IMAP_MAILBOX_KEYWORDS_MAX;
}

void imap_view_write_flags(struct imap_session *s)
{
	struct imap_view *v = &s->view;
	struct buf kws;
	buf_init(&kws);
	for (size_t i = 0; i < v->nkeywords; i++) {
		buf_puts(&kws, " ");
		buf_puts(&kws, v->keywords[i]);
	}
	const char *list = kws.data ? kws.data : "";
	imap_untagged(s, "FLAGS (" SYSTEM_FLAGS "%s)", list);
	/* \* only while there is room for new keywords (RFC 3501 7.1) */
	if (v->readonly)
		imap_untagged(s, "OK [PERMANENTFLAGS ()] Read-only mailbox");
	else
		imap_untagged(s, "OK [PERMANENTFLAGS (" SYSTEM_FLAGS "%s%s)] Flags permitted", list,
		              v->nkeywords < IMAP_MAILBOX_KEYWORDS_MAX ? " \\*" : "");
	buf_free(&kws);
}

void imap_view_load_keywords(struct imap_session *s)
{
	imap_view_keywords_free(&s->view);
	mbox_keywords(s->view.ref.ms, &s->view.mb, collect, &s->view);
}

void imap_view_announce_keywords(struct imap_session *s, const char *keywords)
{
	struct imap_view *v = &s->view;
	bool news = false;
	for (const char *p = keywords; p != NULL && *p;) {
		size_t w = strcspn(p, " ");
		news |= w > 0 && !known(v, p, w);
		p += w;
		p += strspn(p, " ");
	}
	if (!news)
		return;
	/* the mailbox's list as it is now, others' new keywords too; and the
	 * words themselves, should the list not have them yet */
	mbox_keywords(s->view.ref.ms, &v->mb, collect, v);
	for (const char *p = keywords; *p;) {
		size_t w = strcspn(p, " ");
		if (w > 0)
			add_keyword(v, p, w);
		p += w;
		p += strspn(p, " ");
	}
	imap_view_write_flags(s);
}
