/* RFC 5256 2.1, the base subject; see subject.h. The steps are the RFC's
 * and so are their numbers; the grammar:
 *   subj-refwd   = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"
 *   subj-blob    = "[" *BLOBCHAR "]" *WSP
 *   subj-leader  = (*subj-blob subj-refwd) / WSP
 *   subj-trailer = "(fwd)" / WSP
 *   subj-fwd     = "[fwd:" subject "]"
 * all case-insensitive. */
#include "mail/subject.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/util.h"

/* The text being worked on: s[start, end). */
struct span {
	const char *s;
	size_t start, end;
};

static size_t span_len(const struct span *p)
{
	return p->end - p->start;
}

static const char *span_at(const struct span *p)
{
	return p->s + p->start;
}

static bool starts_nocase(const char *s, size_t n, const char *word)
{
	size_t w = strlen(word);
	return n >= w && strncasecmp(s, word, w) == 0;
}

/* Length of the subj-blob at s, 0 when there is none. */
static size_t blob_len(const char *s, size_t n)
{
	size_t i = 1;
	if (n == 0 || s[0] != '[')
		return 0;
	while (i < n && s[i] != '[' && s[i] != ']')
		i++;
	if (i == n || s[i] != ']')
		return 0;
	for (i++; i < n && s[i] == ' '; i++)
		;
	return i;
}

/* Length of the subj-refwd at s, 0 when there is none. */
static size_t refwd_len(const char *s, size_t n)
{
	size_t i;
	if (starts_nocase(s, n, "re"))
		i = 2;
	else if (starts_nocase(s, n, "fwd"))
		i = 3;
	else if (starts_nocase(s, n, "fw"))
		i = 2;
	else
		return 0;
	while (i < n && s[i] == ' ')
		i++;
	i += blob_len(s + i, n - i);
	return i < n && s[i] == ':' ? i + 1 : 0;
}

/* Step 3: the subj-leader at the start, 0 when there is none; *refwd when
 * it was a reply or forward marker (not white space). */
static size_t leader_len(const char *s, size_t n, bool *refwd)
{
	size_t i = 0, b;
	if (n > 0 && s[0] == ' ')
		return 1;
	while ((b = blob_len(s + i, n - i)) > 0)
		i += b;
	size_t r = refwd_len(s + i, n - i);
	if (r == 0)
		return 0;
	*refwd = true;
	return i + r;
}

/* Step 2: subj-trailers off the end, as often as they come. */
static void strip_trailers(struct span *p, bool *fwd)
{
	for (;;) {
		size_t n = span_len(p);
		if (n > 0 && p->s[p->end - 1] == ' ') {
			p->end--;
		} else if (n >= 5 && strncasecmp(p->s + p->end - 5, "(fwd)", 5) == 0) {
			p->end -= 5;
			*fwd = true;
		} else {
			return;
		}
	}
}

/* Steps 3 to 5: leaders and blobs off the front until none is left. A blob
 * goes only when something other than white space remains after it. */
static void strip_leaders(struct span *p, bool *refwd)
{
	for (;;) {
		size_t n = leader_len(span_at(p), span_len(p), refwd);
		if (n > 0) {
			p->start += n;
			continue;
		}
		n = blob_len(span_at(p), span_len(p));
		if (n > 0 && n < span_len(p)) {
			p->start += n;
			continue;
		}
		return;
	}
}

/* Step 1: tabs and line ends become spaces, runs of spaces one space. */
static char *squeeze_white_space(const char *subject, size_t len, size_t *out_len)
{
	char *t = xmalloc(len + 1);
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		char c = subject[i];
		if (c == '\t' || c == '\r' || c == '\n')
			c = ' ';
		if (c == ' ' && n > 0 && t[n - 1] == ' ')
			continue;
		t[n++] = c;
	}
	t[n] = '\0';
	*out_len = n;
	return t;
}

void mail_base_subject(const char *subject, size_t len, struct buf *out, bool *reply_or_fwd)
{
	size_t n;
	bool marked = false;
	char *t = squeeze_white_space(subject, len, &n);
	struct span p = { t, 0, n };
	for (;;) {
		strip_trailers(&p, &marked);
		strip_leaders(&p, &marked);
		/* step 6: "[fwd: subject]" is the subject forwarded: unwrap, again from step 2 */
		if (span_len(&p) >= 6 && starts_nocase(span_at(&p), span_len(&p), "[fwd:") &&
		    p.s[p.end - 1] == ']') {
			p.start += 5;
			p.end--;
			marked = true;
			continue;
		}
		break;
	}
	buf_append(out, span_at(&p), span_len(&p));
	if (reply_or_fwd != NULL)
		*reply_or_fwd = marked;
	free(t);
}
