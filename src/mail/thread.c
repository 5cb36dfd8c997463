/* RFC 5256 4: ORDEREDSUBJECT and REFERENCES threading; see thread.h. The
 * steps of REFERENCES carry the RFC's numbers. */
#include "mail/thread.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"

#define MSGID_MAX 1000          /* RFC 5322 2.1.1: a line holds at most 998 */
#define ROOT 0                  /* container 0: the root of step 2 */

struct container {
	int32_t msg;                /* index into the messages, -1 for a dummy */
	int32_t parent, child, next;
};

struct id_slot {
	char *id;
	int32_t c;
};

struct builder {
	const struct mail_thread_msg *msgs;
	struct container *c;
	size_t n, cap;
	struct id_slot *tab;        /* the id_table: Message-ID -> container */
	size_t tabcap, tabn;
	int32_t *order;             /* scratch: a walk over the tree */
	size_t norder;
};

/* ---- message ids ---- */

static bool is_white(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

size_t mail_msgid_next(const char **p, char *out, size_t outlen)
{
	const char *s = *p;
	while (s != NULL && *s != '\0') {
		const char *open = strchr(s, '<');
		if (open == NULL)
			break;
		const char *close = strchr(open + 1, '>');
		if (close == NULL)
			break;
		/* what stands between the brackets, white space left out */
		size_t n = 0;
		bool at = false;
		for (const char *q = open + 1; q < close; q++) {
			if (is_white(*q))
				continue;
			at |= *q == '@';
			if (n + 1 < outlen)
				out[n] = *q;
			n++;
		}
		s = close + 1;
		if (at && n > 0) {
			out[n < outlen ? n : outlen - 1] = '\0';
			*p = s;
			return n;
		}
	}
	*p = s != NULL ? s + strlen(s) : s;
	return 0;
}

/* ---- containers and the id table ---- */

static int32_t container_new(struct builder *b, int32_t msg)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 64;
		b->c = xrealloc(b->c, b->cap * sizeof(*b->c));
	}
	b->c[b->n] = (struct container){ msg, -1, -1, -1 };
	return (int32_t)b->n++;
}

static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u;   /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static struct id_slot *id_slot_of(struct builder *b, const char *id)
{
	size_t mask = b->tabcap - 1, i = hash_str(id) & mask;
	while (b->tab[i].id != NULL && strcmp(b->tab[i].id, id) != 0)
		i = (i + 1) & mask;
	return &b->tab[i];
}

static void id_table_grow(struct builder *b)
{
	struct id_slot *old = b->tab;
	size_t oldcap = b->tabcap;
	b->tabcap = oldcap ? oldcap * 2 : 256;
	b->tab = xcalloc(b->tabcap, sizeof(*b->tab));
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].id != NULL)
			*id_slot_of(b, old[i].id) = old[i];
	free(old);
}

/* The container of a message id: found, or made a dummy (step 1A). */
static int32_t container_of_id(struct builder *b, const char *id)
{
	if (2 * (b->tabn + 1) > b->tabcap)
		id_table_grow(b);
	struct id_slot *slot = id_slot_of(b, id);
	if (slot->id == NULL) {
		slot->id = xstrdup(id);
		slot->c = container_new(b, -1);
		b->tabn++;
	}
	return slot->c;
}

/* ---- links ---- */

static void link_child(struct builder *b, int32_t parent, int32_t child)
{
	b->c[child].parent = parent;
	b->c[child].next = b->c[parent].child;
	b->c[parent].child = child;
}

static void unlink_child(struct builder *b, int32_t child)
{
	int32_t parent = b->c[child].parent;
	int32_t *pp = &b->c[parent].child;
	while (*pp != child)
		pp = &b->c[*pp].next;
	*pp = b->c[child].next;
	b->c[child].parent = b->c[child].next = -1;
}

/* Whether making parent the parent of child would make a loop: parent is
 * child or one of its descendants. */
static bool would_loop(const struct builder *b, int32_t parent, int32_t child)
{
	if (parent == child)
		return true;
	if (b->c[child].child < 0)
		return false;       /* no descendants: the common case, at once */
	for (int32_t p = b->c[parent].parent; p >= 0; p = b->c[p].parent)
		if (p == child)
			return true;
	return false;
}

/* ---- step 1: the links of one message ---- */

/* The message's own container: its id's, unless the id is missing,
 * invalid or taken by an earlier message (then a container of its own). */
static int32_t message_container(struct builder *b, int32_t i)
{
	char id[MSGID_MAX];
	const char *p = b->msgs[i].message_id;
	if (p != NULL && mail_msgid_next(&p, id, sizeof(id)) > 0) {
		int32_t c = container_of_id(b, id);
		if (b->c[c].msg < 0) {
			b->c[c].msg = i;
			return c;
		}
	}
	return container_new(b, i);
}

/* Step 1A over the References (In-Reply-To when they give none): each
 * reference the parent of the next, where nothing has a parent yet. The
 * last one's container, or -1 when there is none. */
static int32_t link_references(struct builder *b, const struct mail_thread_msg *m)
{
	char id[MSGID_MAX];
	const char *p = m->references;
	int32_t prev = -1;
	while (p != NULL && mail_msgid_next(&p, id, sizeof(id)) > 0) {
		int32_t c = container_of_id(b, id);
		if (prev >= 0 && b->c[c].parent < 0 && !would_loop(b, prev, c))
			link_child(b, prev, c);
		prev = c;
	}
	p = m->in_reply_to;
	if (prev < 0 && p != NULL && mail_msgid_next(&p, id, sizeof(id)) > 0)
		prev = container_of_id(b, id);
	return prev;
}

static void add_message(struct builder *b, int32_t i)
{
	int32_t self = message_container(b, i);
	int32_t parent = link_references(b, &b->msgs[i]);
	/* step 1B: the last reference is the parent, whatever was linked before */
	if (b->c[self].parent >= 0)
		unlink_child(b, self);
	if (parent >= 0 && !would_loop(b, parent, self))
		link_child(b, parent, self);
}

/* ---- walks ---- */

/* b->order = every container under the root, the root first, parents
 * before their children (a pre-order, with an explicit stack). Run
 * backwards it visits children before parents. */
static void walk_tree(struct builder *b)
{
	int32_t *stack = xmalloc((b->n + 1) * sizeof(int32_t));
	size_t top = 0;
	free(b->order);
	b->order = xmalloc((b->n + 1) * sizeof(int32_t));
	b->norder = 0;
	stack[top++] = ROOT;
	while (top > 0) {
		int32_t x = stack[--top];
		b->order[b->norder++] = x;
		for (int32_t ch = b->c[x].child; ch >= 0; ch = b->c[ch].next)
			stack[top++] = ch;
	}
	free(stack);
}

/* ---- step 3: pruning dummies ---- */

static int32_t count_children(const struct builder *b, int32_t x)
{
	int32_t n = 0;
	for (int32_t ch = b->c[x].child; ch >= 0; ch = b->c[ch].next)
		n++;
	return n;
}

/* Rebuilds x's children: dummies without children dropped, dummies with
 * children replaced by them, except at the top level where a dummy keeps
 * two or more. Their own children are done already (children first). */
static void prune_children(struct builder *b, int32_t x)
{
	int32_t ch = b->c[x].child;
	b->c[x].child = -1;
	while (ch >= 0) {
		int32_t next = b->c[ch].next;
		if (b->c[ch].msg >= 0 || (x == ROOT && count_children(b, ch) > 1)) {
			link_child(b, x, ch);
		} else {
			int32_t g = b->c[ch].child;
			while (g >= 0) {
				int32_t gnext = b->c[g].next;
				link_child(b, x, g);
				g = gnext;
			}
			b->c[ch].child = -1;
			b->c[ch].parent = -1;
		}
		ch = next;
	}
}

static void prune_dummies(struct builder *b)
{
	walk_tree(b);
	for (size_t k = b->norder; k-- > 0;)
		prune_children(b, b->order[k]);
}

/* ---- steps 4 and 6: sorting siblings by sent date ---- */

/* The message a container sorts as: itself, or a dummy's first child. */
static int32_t sort_message(const struct builder *b, int32_t x)
{
	while (b->c[x].msg < 0 && b->c[x].child >= 0)
		x = b->c[x].child;
	return b->c[x].msg;
}

static const struct builder *sort_builder;   /* qsort has no context argument */

static int cmp_by_date(const void *pa, const void *pb)
{
	int32_t a = sort_message(sort_builder, *(const int32_t *)pa);
	int32_t b = sort_message(sort_builder, *(const int32_t *)pb);
	if (a < 0 || b < 0)
		return (a < 0) - (b < 0);
	int64_t da = sort_builder->msgs[a].sent, db = sort_builder->msgs[b].sent;
	if (da != db)
		return da < db ? -1 : 1;
	return a < b ? -1 : a > b;   /* RFC 5256 2.2: then mailbox order */
}

static void sort_children(struct builder *b, int32_t x, int32_t **scratch, size_t *cap)
{
	size_t n = 0;
	for (int32_t ch = b->c[x].child; ch >= 0; ch = b->c[ch].next) {
		if (n == *cap) {
			*cap = *cap ? *cap * 2 : 64;
			*scratch = xrealloc(*scratch, *cap * sizeof(int32_t));
		}
		(*scratch)[n++] = ch;
	}
	if (n < 2)
		return;
	sort_builder = b;
	qsort(*scratch, n, sizeof(int32_t), cmp_by_date);
	b->c[x].child = (*scratch)[0];
	for (size_t i = 0; i + 1 < n; i++)
		b->c[(*scratch)[i]].next = (*scratch)[i + 1];
	b->c[(*scratch)[n - 1]].next = -1;
}

/* Step 4 (top: the root's children and the dummies' among them) or step 6
 * (every sibling set, the deepest first). */
static void sort_siblings(struct builder *b, bool top_only)
{
	int32_t *scratch = NULL;
	size_t cap = 0;
	if (top_only) {
		for (int32_t ch = b->c[ROOT].child; ch >= 0; ch = b->c[ch].next)
			if (b->c[ch].msg < 0)
				sort_children(b, ch, &scratch, &cap);
		sort_children(b, ROOT, &scratch, &cap);
	} else {
		walk_tree(b);
		for (size_t k = b->norder; k-- > 0;)
			sort_children(b, b->order[k], &scratch, &cap);
	}
	free(scratch);
}

/* ---- step 5: gathering threads by base subject ---- */

struct subject_slot {
	const char *subject;
	int32_t c;
};

/* The subject a top-level container goes by (a dummy: its first child's),
 * NULL when it is empty. */
static const struct mail_thread_msg *subject_message(const struct builder *b, int32_t x)
{
	int32_t m = sort_message(b, x);
	if (m < 0 || b->msgs[m].base_subject == NULL || b->msgs[m].base_subject[0] == '\0')
		return NULL;
	return &b->msgs[m];
}

static struct subject_slot *subject_slot_of(struct subject_slot *tab, size_t cap, const char *s)
{
	size_t i = hash_str(s) & (cap - 1);
	while (tab[i].subject != NULL && strcmp(tab[i].subject, s) != 0)
		i = (i + 1) & (cap - 1);
	return &tab[i];
}

static bool is_dummy(const struct builder *b, int32_t x)
{
	return b->c[x].msg < 0;
}

static bool is_reply(const struct builder *b, int32_t x)
{
	return !is_dummy(b, x) && b->msgs[b->c[x].msg].reply_or_fwd;
}

/* 5B: which top-level container stands for a subject. */
static void fill_subject_table(struct builder *b, struct subject_slot *tab, size_t cap)
{
	for (int32_t x = b->c[ROOT].child; x >= 0; x = b->c[x].next) {
		const struct mail_thread_msg *m = subject_message(b, x);
		if (m == NULL)
			continue;
		struct subject_slot *slot = subject_slot_of(tab, cap, m->base_subject);
		if (slot->subject == NULL) {
			*slot = (struct subject_slot){ m->base_subject, x };
		} else if (!is_dummy(b, slot->c) &&
		           (is_dummy(b, x) || (is_reply(b, slot->c) && !is_reply(b, x)))) {
			slot->c = x;
		}
	}
}

/* 5C: cur joins the container the table holds for its subject. */
static void merge_by_subject(struct builder *b, struct subject_slot *slot, int32_t cur)
{
	int32_t held = slot->c;
	unlink_child(b, cur);
	if (is_dummy(b, held) && is_dummy(b, cur)) {
		int32_t g = b->c[cur].child;
		while (g >= 0) {
			int32_t next = b->c[g].next;
			link_child(b, held, g);
			g = next;
		}
		b->c[cur].child = -1;
	} else if (is_dummy(b, held) || (is_reply(b, cur) && !is_reply(b, held))) {
		link_child(b, held, cur);
	} else {
		int32_t dummy = container_new(b, -1);
		unlink_child(b, held);
		link_child(b, ROOT, dummy);
		link_child(b, dummy, held);
		link_child(b, dummy, cur);
		slot->c = dummy;
	}
}

static void gather_by_subject(struct builder *b)
{
	size_t ntop = (size_t)count_children(b, ROOT), cap = 16;
	while (cap < 2 * ntop + 2)
		cap *= 2;
	struct subject_slot *tab = xcalloc(cap, sizeof(*tab));
	int32_t *top = xmalloc((ntop + 1) * sizeof(int32_t));
	size_t n = 0;
	for (int32_t x = b->c[ROOT].child; x >= 0; x = b->c[x].next)
		top[n++] = x;
	fill_subject_table(b, tab, cap);
	for (size_t k = 0; k < n; k++) {
		int32_t x = top[k];
		const struct mail_thread_msg *m = subject_message(b, x);
		/* merged into another thread already, or in the table itself */
		if (m == NULL || b->c[x].parent != ROOT)
			continue;
		struct subject_slot *slot = subject_slot_of(tab, cap, m->base_subject);
		if (slot->c != x)
			merge_by_subject(b, slot, x);
	}
	free(top);
	free(tab);
}

/* ---- the algorithms ---- */

static void thread_references(struct builder *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		add_message(b, (int32_t)i);
	/* step 2: every container without a parent under the root */
	for (size_t x = 1; x < b->n; x++)
		if (b->c[x].parent < 0)
			link_child(b, ROOT, (int32_t)x);
	prune_dummies(b);
	sort_siblings(b, true);
	gather_by_subject(b);
	sort_siblings(b, false);
}

static const char *subject_of(const struct mail_thread_msg *m)
{
	return m->base_subject != NULL ? m->base_subject : "";
}

static int cmp_by_subject(const void *pa, const void *pb)
{
	int32_t a = *(const int32_t *)pa, b = *(const int32_t *)pb;
	const struct mail_thread_msg *ma = &sort_builder->msgs[a], *mb = &sort_builder->msgs[b];
	int c = strcmp(subject_of(ma), subject_of(mb));
	if (c != 0)
		return c;
	if (ma->sent != mb->sent)
		return ma->sent < mb->sent ? -1 : 1;
	return a < b ? -1 : a > b;
}

/* RFC 5256 4 ORDEREDSUBJECT: by base subject, then sent date; the first of
 * each subject the root, the others its children; threads by the date of
 * their first message. */
static void thread_ordered_subject(struct builder *b, size_t n)
{
	int32_t *idx = xmalloc((n + 1) * sizeof(int32_t));
	for (size_t i = 0; i < n; i++) {
		idx[i] = (int32_t)i;
		container_new(b, (int32_t)i);      /* message i is container i + 1 */
	}
	sort_builder = b;
	qsort(idx, n, sizeof(int32_t), cmp_by_subject);
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		const char *subj = subject_of(&b->msgs[idx[i]]);
		link_child(b, ROOT, idx[i] + 1);
		for (; j < n && strcmp(subject_of(&b->msgs[idx[j]]), subj) == 0; j++)
			link_child(b, idx[i] + 1, idx[j] + 1);
		i = j;
	}
	free(idx);
	sort_siblings(b, false);
}

void mail_thread_build(enum mail_thread_algorithm alg, const struct mail_thread_msg *msgs,
                       size_t n, struct mail_thread *t)
{
	struct builder b = { .msgs = msgs };
	container_new(&b, -1);                  /* ROOT */
	if (alg == MAIL_THREAD_REFERENCES)
		thread_references(&b, n);
	else
		thread_ordered_subject(&b, n);
	for (size_t i = 0; i < b.tabcap; i++)
		free(b.tab[i].id);
	free(b.tab);
	free(b.order);
	/* the containers are the nodes: same fields, the root's child the first thread */
	t->n = b.n;
	t->nodes = xmalloc(b.n * sizeof(*t->nodes));
	for (size_t i = 0; i < b.n; i++)
		t->nodes[i] = (struct mail_thread_node){ b.c[i].msg, b.c[i].child, b.c[i].next };
	t->first = b.c[ROOT].child;
	free(b.c);
}

void mail_thread_free(struct mail_thread *t)
{
	free(t->nodes);
	memset(t, 0, sizeof(*t));
}
