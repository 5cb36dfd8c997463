/* Reporting moves into and out of Junk to the hook the daemon set
 * (imap_junk.h). */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_junk.h"
#include "imap/imap_junk_int.h"

static imap_junk_fn *hook;
static void *hook_arg;

void imap_junk_set_hook(imap_junk_fn *fn, void *arg)
{
	hook = fn;
	hook_arg = arg;
}

static bool is_junk(const struct mbox_info *mb)
{
	return strcasecmp(mb->special_use, "\\Junk") == 0;
}

enum imap_junk_kind imap_junk_copy_kind(const struct mbox_info *from, const struct mbox_info *to)
{
	if (hook == NULL || is_junk(from) == is_junk(to))
		return IMAP_JUNK_NONE;
	if (is_junk(to))
		return IMAP_JUNK_SPAM;
	/* out of Junk into Trash is spam thrown away, not a mistake undone */
	if (strcasecmp(to->special_use, "\\Trash") == 0)
		return IMAP_JUNK_NONE;
	return IMAP_JUNK_HAM;
}

static bool has_keyword(const char *list, const char *kw)
{
	size_t n = strlen(kw);
	for (const char *p = list; *p;) {
		size_t w = strcspn(p, " ");
		if (w == n && strncasecmp(p, kw, n) == 0)
			return true;
		p += w + (p[w] == ' ');
	}
	return false;
}

enum imap_junk_kind imap_junk_store_kind(const char *before, const char *after)
{
	if (hook == NULL)
		return IMAP_JUNK_NONE;
	if (has_keyword(after, "$Junk") && !has_keyword(before, "$Junk"))
		return IMAP_JUNK_SPAM;
	if (has_keyword(after, "$NotJunk") && !has_keyword(before, "$NotJunk"))
		return IMAP_JUNK_HAM;
	return IMAP_JUNK_NONE;
}

bool imap_junk_report(struct imap_session *s, struct mbox_store *ms, const struct mbox_info *mb,
                      uint32_t uid, enum imap_junk_kind kind)
{
	struct mbox_msg m;
	if (hook == NULL || kind == IMAP_JUNK_NONE)
		return false;
	if (mbox_get(ms, mb, uid, &m) != MBOX_OK || mbox_locate(ms, mb, &m) < 0)
		return true;    /* gone meanwhile: the next one may still be there */
	return hook(hook_arg, s->ns.worker, kind == IMAP_JUNK_SPAM, m.path);
}
