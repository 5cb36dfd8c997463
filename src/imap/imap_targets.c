/* What the message commands share: a sequence set resolved against the
 * view, and a message file read whole (FETCH, SEARCH). */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"
#include "imap/imap_session.h"
#include "imap/imap_targets.h"

/* ---- targets: a sequence set resolved against the view --------------------------- */

/* Adds the view's messages whose UIDs are in lo..hi (missing UIDs skipped). */
static void add_uid_range(struct imap_targets *t, const struct imap_view *v, uint32_t lo, uint32_t hi)
{
	for (size_t i = imap_view_lower_bound(v, lo); i < v->n && v->uids[i] <= hi; i++)
		imap_targets_add(t, (uint32_t)i + 1, v->uids[i]);
}

int imap_targets(struct imap_session *s, struct imap_cursor *c, bool uid, struct imap_targets *t)
{
	struct imap_seqset given;
	struct imap_seqset_iter it;
	uint32_t lo, hi;
	const struct imap_view *v = &s->view;
	memset(t, 0, sizeof(*t));
	if (!imap_next_seqset(c, &given, IMAP_SEQSET_ALLOW_SAVED))
		return -1;
	/* RFC 5182 2.1: "$" names the saved messages, by UID whatever the command */
	const struct imap_seqset *set = given.saved ? &v->saved : &given;
	uid = uid || given.saved;
	uint32_t max = uid ? (v->n ? v->uids[v->n - 1] : 0) : (uint32_t)v->n;
	/* RFC 9051 6.4.5: a message sequence number past EXISTS is an error
	 * (the iterator below clips to the maximum, so look at the set itself) */
	if (!uid && (imap_seqset_highest(set) > v->n || (set->has_star && v->n == 0))) {
		imap_seqset_free(&given);
		imap_fail(c, "Invalid message sequence number");
		return -1;
	}
	imap_seqset_iter_init(&it, set, max);
	while (imap_seqset_iter_next(&it, &lo, &hi)) {
		if (uid) {
			add_uid_range(t, v, lo, hi);
		} else {
			for (uint64_t q = lo; q <= hi; q++)
				imap_targets_add(t, (uint32_t)q, v->uids[q - 1]);
		}
	}
	imap_seqset_free(&given);
	return 0;
}

void imap_targets_add(struct imap_targets *t, uint32_t seq, uint32_t uid)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->seq = xrealloc(t->seq, t->cap * sizeof(uint32_t));
		t->uid = xrealloc(t->uid, t->cap * sizeof(uint32_t));
	}
	t->seq[t->n] = seq;
	t->uid[t->n++] = uid;
}

void imap_targets_free(struct imap_targets *t)
{
	free(t->seq);
	free(t->uid);
	memset(t, 0, sizeof(*t));
}

/* ---- reading a message ------------------------------------------------------------- */

char *imap_read_message(const char *path, uint64_t limit, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	if (fd < 0)
		return NULL;
	if (fstat(fd, &sb) < 0 || (uint64_t)sb.st_size > limit) {
		close(fd);
		return NULL;
	}
	char *buf = xmalloc((size_t)sb.st_size + 1);
	size_t got = 0;
	while (got < (size_t)sb.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)sb.st_size - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	*len = got;
	return buf;
}
