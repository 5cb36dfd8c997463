/* IMAP sequence sets; see imap_parse.h.
 *
 * sequence-set = (seq-number / seq-range) ["," sequence-set] / "$"
 * seq-range = seq-number ":" seq-number; seq-number = nz-number / "*"
 * (RFC 9051 9, RFC 5182 for "$"). The number of elements is checked as
 * they are read, so a hostile set costs at most IMAP_SEQSET_RANGES_MAX
 * ranges; "*" is kept symbolic because its value (the number of messages or
 * the highest UID) changes while a session runs. */
#include "imap/imap_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/util.h"

static int range_cmp(const void *a, const void *b)
{
	const struct imap_seq_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sorts and merges overlapping or adjacent ranges in place. */
static size_t ranges_normalise(struct imap_seq_range *r, size_t n)
{
	size_t out = 0;

	if (n == 0)
		return 0;
	qsort(r, n, sizeof *r, range_cmp);
	for (size_t i = 1; i < n; i++) {
		if ((uint64_t)r[i].lo <= (uint64_t)r[out].hi + 1) {
			if (r[i].hi > r[out].hi)
				r[out].hi = r[i].hi;
		} else {
			r[++out] = r[i];
		}
	}
	return out + 1;
}

/* seq-number at *s: a number within 0/1..UINT32_MAX, or "*" (star). */
static const char *parse_seq_number(const char **s, const char *end, unsigned flags,
                                    uint32_t *n, bool *star)
{
	const char *p = *s;
	uint64_t v;

	*star = false;
	*n = 0;
	if (p < end && *p == '*') {
		if (flags & IMAP_SEQSET_NO_STAR)
			return "\"*\" is not allowed in this sequence set";
		*star = true;
		*s = p + 1;
		return NULL;
	}
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	if (p == *s)
		return "Invalid sequence set";
	if (!imap_parse_number(*s, (size_t)(p - *s), UINT32_MAX, &v))
		return "Sequence number out of range";
	if (v == 0 && !(flags & IMAP_SEQSET_ALLOW_ZERO))
		return "Sequence number 0 is not allowed";
	*n = (uint32_t)v;
	*s = p;
	return NULL;
}

static void set_add_star(struct imap_seqset *set, uint32_t n, bool bare)
{
	if (!set->has_star) {
		set->has_star = true;
		set->star_lo = UINT32_MAX;
		set->star_hi = 0;
	}
	if (bare)
		return;
	if (n < set->star_lo)
		set->star_lo = n;
	if (n > set->star_hi)
		set->star_hi = n;
}

static const char *seqset_parse(struct imap_seqset *set, const char *s, size_t len,
                                unsigned flags, size_t *cap)
{
	const char *end = s + len;
	size_t elements = 0;

	if (len == 1 && *s == '$') {
		if (!(flags & IMAP_SEQSET_ALLOW_SAVED))
			return "\"$\" is not allowed here";
		set->saved = true;
		return NULL;
	}
	if (len == 0)
		return "Empty sequence set";
	for (const char *p = s;;) {
		uint32_t a, b;
		bool astar, bstar;
		const char *err = parse_seq_number(&p, end, flags, &a, &astar);
		if (err != NULL)
			return err;
		b = a;
		bstar = astar;
		if (p < end && *p == ':') {
			p++;
			if ((err = parse_seq_number(&p, end, flags, &b, &bstar)) != NULL)
				return err;
		}
		if (++elements > IMAP_SEQSET_RANGES_MAX)
			return "Too many elements in sequence set";
		if (astar && bstar) {
			set_add_star(set, 0, true);
		} else if (astar || bstar) {
			set_add_star(set, astar ? b : a, false);
		} else {
			if (set->nranges == *cap) {
				*cap = *cap == 0 ? 8 : *cap * 2;
				set->ranges = xrealloc(set->ranges, *cap * sizeof *set->ranges);
			}
			set->ranges[set->nranges++] = (struct imap_seq_range){
				.lo = a < b ? a : b, .hi = a < b ? b : a,
			};
		}
		if (p == end)
			return NULL;
		if (*p != ',' || p + 1 == end)
			return "Invalid sequence set";
		p++;
	}
}

int imap_seqset_parse(struct imap_seqset *set, const char *s, size_t len, unsigned flags,
                      const char **err)
{
	size_t cap = 0;

	*set = (struct imap_seqset){ 0 };
	*err = seqset_parse(set, s, len, flags, &cap);
	if (*err != NULL) {
		imap_seqset_free(set);
		return -1;
	}
	set->nranges = ranges_normalise(set->ranges, set->nranges);
	return 0;
}

void imap_seqset_free(struct imap_seqset *set)
{
	free(set->ranges);
	*set = (struct imap_seqset){ 0 };
}

/* The interval "*" stands for against max; false when it is empty. */
static bool star_interval(const struct imap_seqset *set, uint32_t max, uint32_t *lo,
                          uint32_t *hi)
{
	if (!set->has_star || max == 0)
		return false;
	*lo = set->star_lo < max ? set->star_lo : max;
	*hi = set->star_hi > max ? set->star_hi : max;
	return true;
}

bool imap_seqset_contains(const struct imap_seqset *set, uint32_t n, uint32_t max)
{
	uint32_t lo, hi;
	size_t a = 0, b = set->nranges;

	if (star_interval(set, max, &lo, &hi) && n >= lo && n <= hi)
		return true;
	while (a < b) {
		size_t m = a + (b - a) / 2;
		if (n < set->ranges[m].lo)
			b = m;
		else if (n > set->ranges[m].hi)
			a = m + 1;
		else
			return true;
	}
	return false;
}

uint32_t imap_seqset_highest(const struct imap_seqset *set)
{
	uint32_t h = set->nranges > 0 ? set->ranges[set->nranges - 1].hi : 0;

	if (set->has_star && set->star_hi > h)
		h = set->star_hi;
	return h;
}

void imap_seqset_iter_init(struct imap_seqset_iter *it, const struct imap_seqset *set,
                           uint32_t max)
{
	*it = (struct imap_seqset_iter){ .set = set, .max = max };
	it->star_pending = star_interval(set, max, &it->star_lo, &it->star_hi);
}

bool imap_seqset_iter_next(struct imap_seqset_iter *it, uint32_t *lo, uint32_t *hi)
{
	const struct imap_seqset *set = it->set;

	for (;;) {
		uint64_t cur_lo, cur_hi;
		bool have_range = it->i < set->nranges;

		/* take whichever of the next range and the star interval starts first */
		if (have_range && (!it->star_pending || set->ranges[it->i].lo <= it->star_lo)) {
			cur_lo = set->ranges[it->i].lo;
			cur_hi = set->ranges[it->i].hi;
			it->i++;
		} else if (it->star_pending) {
			cur_lo = it->star_lo;
			cur_hi = it->star_hi;
			it->star_pending = false;
		} else {
			return false;
		}
		/* the star interval may bridge ranges: extend while anything touches */
		for (;;) {
			if (it->i < set->nranges && set->ranges[it->i].lo <= cur_hi + 1) {
				if (set->ranges[it->i].hi > cur_hi)
					cur_hi = set->ranges[it->i].hi;
				it->i++;
			} else if (it->star_pending && it->star_lo <= cur_hi + 1) {
				if (it->star_hi > cur_hi)
					cur_hi = it->star_hi;
				it->star_pending = false;
			} else {
				break;
			}
		}
		if (cur_lo < 1)
			cur_lo = 1;
		if (cur_hi > it->max)
			cur_hi = it->max;
		if (cur_lo > it->max) {
			it->i = set->nranges;       /* everything further is higher still */
			it->star_pending = false;
			return false;
		}
		if (cur_lo <= cur_hi) {
			*lo = (uint32_t)cur_lo;
			*hi = (uint32_t)cur_hi;
			return true;
		}
	}
}

uint64_t imap_seqset_count(const struct imap_seqset *set, uint32_t max)
{
	struct imap_seqset_iter it;
	uint32_t lo, hi;
	uint64_t n = 0;

	imap_seqset_iter_init(&it, set, max);
	while (imap_seqset_iter_next(&it, &lo, &hi))
		n += (uint64_t)hi - lo + 1;
	return n;
}

bool imap_next_seqset(struct imap_cursor *c, struct imap_seqset *set, unsigned flags)
{
	const struct imap_arg *a = imap_peek(c);
	const char *err;

	*set = (struct imap_seqset){ 0 };
	if (a == NULL)
		return imap_fail(c, "Missing sequence set");
	if (a->type != IMAP_ARG_ATOM || (a->flags & ~(unsigned)IMAP_ARGF_WILDCARD) != 0)
		return imap_fail(c, "Invalid sequence set");
	if (imap_seqset_parse(set, a->str, a->len, flags, &err) < 0)
		return imap_fail(c, err);
	c->arg = a->next;
	return true;
}

void imap_seqset_from_sorted(struct imap_seqset *set, const uint32_t *v, size_t n)
{
	memset(set, 0, sizeof(*set));
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j + 1 < n && v[j + 1] <= v[j] + 1)
			j++;
		set->ranges = xrealloc(set->ranges, (set->nranges + 1) * sizeof(*set->ranges));
		set->ranges[set->nranges++] = (struct imap_seq_range){ v[i], v[j] };
		i = j + 1;
	}
}

void imap_seqset_text_sorted(const uint32_t *uids, size_t n, struct buf *out)
{
	char tmp[32];
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j + 1 < n && uids[j + 1] == uids[j] + 1)
			j++;
		int len = j > i ? snprintf(tmp, sizeof(tmp), "%s%u:%u", i ? "," : "", uids[i], uids[j])
		                : snprintf(tmp, sizeof(tmp), "%s%u", i ? "," : "", uids[i]);
		buf_append(out, tmp, (size_t)len);
		i = j + 1;
	}
}
