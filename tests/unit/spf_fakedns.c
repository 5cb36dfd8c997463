/* The in-memory DNS of the SPF tests; see spf_fakedns.h. */
#include "spf_fakedns.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/util.h"

#define CNAME_MAX 10

struct entry {
	char *name, *type, *value;
	size_t len;
};

struct query {
	int id;
	char *name;
	enum spf_rr type;
	spf_dns_cb cb;
	void *cbarg;
};

struct fakedns {
	struct entry *e;
	size_t n, cap;
	struct query *q;
	size_t nq, qcap;
	int next_id;
	size_t asked, max_pending;
	bool lifo;
	struct spf_dns iface;
};

static const char *type_name(enum spf_rr t)
{
	switch (t) {
	case SPF_RR_A: return "A";
	case SPF_RR_AAAA: return "AAAA";
	case SPF_RR_MX: return "MX";
	case SPF_RR_PTR: return "PTR";
	case SPF_RR_TXT: return "TXT";
	}
	return "?";
}

/* name without empty labels (a trailing dot); false for a label over 63. */
static bool normalise(const char *name, char *out, size_t outlen)
{
	size_t o = 0, label = 0;
	for (const char *p = name; *p != '\0'; p++) {
		if (*p == '.') {
			label = 0;
			continue;
		}
		if (label == 0 && o > 0) {
			if (o + 1 >= outlen)
				return false;
			out[o++] = '.';
		}
		if (++label > 63 || o + 1 >= outlen)
			return false;
		out[o++] = *p;
	}
	out[o] = '\0';
	return true;
}

static bool same_name(const char *a, const char *b)
{
	char na[1100], nb[1100];
	return normalise(a, na, sizeof(na)) && normalise(b, nb, sizeof(nb)) &&
	       strcasecmp(na, nb) == 0;
}

/* Answers name/type from the zone into rr (pointers into entries). */
static enum spf_dns_status lookup(struct fakedns *d, const char *name, const char *type,
                                  const char **rr, size_t *len, size_t *n, size_t max,
                                  int depth)
{
	char norm[1100];
	bool found = false, seen_type = false;
	const char *cname = NULL;
	*n = 0;
	if (!normalise(name, norm, sizeof(norm)))
		return SPF_DNS_TEMPFAIL;
	for (size_t i = 0; i < d->n; i++) {
		struct entry *e = &d->e[i];
		if (!same_name(e->name, norm))
			continue;
		found = true;
		if (strcmp(e->type, "TIMEOUT") == 0) {
			if (!seen_type)
				return SPF_DNS_TEMPFAIL;
			break;
		}
		if (strcmp(e->type, "CNAME") == 0 && cname == NULL)
			cname = e->value;
		if (strcmp(e->type, type) != 0)
			continue;
		seen_type = true;
		if (*n < max) {
			len[*n] = e->len;
			rr[(*n)++] = e->value;
		}
	}
	if (!found)
		return strncasecmp(norm, "error.", 6) == 0 ? SPF_DNS_TEMPFAIL : SPF_DNS_NXDOMAIN;
	if (*n == 0 && cname != NULL && depth < CNAME_MAX)
		return lookup(d, cname, type, rr, len, n, max, depth + 1);
	return SPF_DNS_OK;
}

static int fake_query(void *arg, const char *name, enum spf_rr t, spf_dns_cb cb, void *cbarg)
{
	struct fakedns *d = arg;
	if (d->nq == d->qcap) {
		d->qcap = d->qcap ? d->qcap * 2 : 16;
		d->q = xrealloc(d->q, d->qcap * sizeof(*d->q));
	}
	struct query *q = &d->q[d->nq++];
	*q = (struct query){ .id = d->next_id++, .name = xstrdup(name), .type = t, .cb = cb,
		             .cbarg = cbarg };
	d->asked++;
	if (d->nq > d->max_pending)
		d->max_pending = d->nq;
	return q->id;
}

static void fake_cancel(void *arg, int id)
{
	struct fakedns *d = arg;
	for (size_t i = 0; i < d->nq; i++) {
		if (d->q[i].id == id) {
			free(d->q[i].name);
			memmove(&d->q[i], &d->q[i + 1], (d->nq - i - 1) * sizeof(*d->q));
			d->nq--;
			return;
		}
	}
}

struct fakedns *fakedns_new(void)
{
	struct fakedns *d = xcalloc(1, sizeof(*d));
	d->iface = (struct spf_dns){ .query = fake_query, .cancel = fake_cancel, .arg = d };
	return d;
}

void fakedns_clear(struct fakedns *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->e[i].name);
		free(d->e[i].type);
		free(d->e[i].value);
	}
	d->n = 0;
}

void fakedns_free(struct fakedns *d)
{
	if (d == NULL)
		return;
	fakedns_clear(d);
	for (size_t i = 0; i < d->nq; i++)
		free(d->q[i].name);
	free(d->q);
	free(d->e);
	free(d);
}

void fakedns_add(struct fakedns *d, const char *name, const char *type, const char *value)
{
	fakedns_add_len(d, name, type, value, value != NULL ? strlen(value) : 0);
}

void fakedns_add_len(struct fakedns *d, const char *name, const char *type, const char *value,
                     size_t len)
{
	char *copy = xmalloc(len + 1);
	if (len > 0)
		memcpy(copy, value, len);
	copy[len] = '\0';
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 32;
		d->e = xrealloc(d->e, d->cap * sizeof(*d->e));
	}
	d->e[d->n++] = (struct entry){ xstrdup(name), xstrdup(type), copy, len };
}

void fakedns_set_lifo(struct fakedns *d, bool lifo)
{
	d->lifo = lifo;
}

const struct spf_dns *fakedns_iface(struct fakedns *d)
{
	return &d->iface;
}

size_t fakedns_run(struct fakedns *d)
{
	size_t answered = 0;
	while (d->nq > 0) {
		size_t at = d->lifo ? d->nq - 1 : 0;
		struct query q = d->q[at];
		memmove(&d->q[at], &d->q[at + 1], (d->nq - at - 1) * sizeof(*d->q));
		d->nq--;
		const char *rr[64];
		size_t len[64];
		struct spf_dns_answer a = { .rr = rr, .len = len };
		a.st = lookup(d, q.name, type_name(q.type), rr, len, &a.n, 64, 0);
		q.cb(q.cbarg, &a);
		free(q.name);
		answered++;
	}
	return answered;
}

size_t fakedns_asked(const struct fakedns *d)
{
	return d->asked;
}

size_t fakedns_pending(const struct fakedns *d)
{
	return d->nq;
}

size_t fakedns_max_pending(const struct fakedns *d)
{
	return d->max_pending;
}
