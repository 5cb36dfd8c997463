/* check_host() of RFC 7208 as a state machine; see spf_eval.h.
 *
 * The check holds a stack of frames, one per record being evaluated: the
 * identity's, then one more per include: (a redirect= replaces its frame).
 * step() does one piece of work on the top frame: fetch its record, evaluate
 * its next mechanism, or finish a mechanism whose DNS answers are all in.
 * Answers are stored as they come (several lookups of an mx or ptr term are
 * in flight together) and step() runs again when the last one is in. */
#include "mailauth/spf_eval.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/util.h"
#include "mailauth/spf_macro.h"
#include "mailauth/spf_parse.h"

/* RFC 7208 4.6.4 */
#define TERMS_MAX 10
#define VOIDS_MAX 2
#define MX_MAX 10
#define PTR_MAX 10
/* the identity's record plus one per include, which are counted terms */
#define FRAMES_MAX (TERMS_MAX + 1)
#define PENDING_MAX (MX_MAX > PTR_MAX ? MX_MAX : PTR_MAX)
/* RFC 5321 4.5.3.1.3: a path is at most 256 octets; some slack for odd senders */
#define SENDER_MAX 512

enum wait {
	W_NONE,       /* nothing pending: evaluate the next term */
	W_RECORD,     /* the TXT records of the top frame's domain */
	W_ADDRS,      /* a: or the addresses of the MX hosts */
	W_MX,         /* the MX names of an mx term */
	W_PTR,        /* the PTR names of the client address */
	W_PTR_ADDRS,  /* the addresses of those names (validation) */
	W_EXISTS,
	W_EXP,        /* the explanation's TXT record */
};

/* What waited for %{p}'s names. */
enum after_p {
	P_FOR_TERM,       /* the top frame's next term (or its redirect) */
	P_FOR_EXP_SPEC,   /* the exp= domain-spec */
	P_FOR_EXP_TEXT,   /* the explanation text */
};

struct frame {
	char domain[SPF_DOMAIN_MAX + 1];
	struct spf_record rec;
	size_t next;         /* the mechanism to evaluate next */
	bool via_redirect;   /* "none" is a permerror (RFC 7208 6.1) */
};

struct pending {
	struct spf_check *c;
	int id;
	bool busy;
	size_t idx;          /* which MX host or PTR name */
};

struct spf_check {
	struct spf_dns dns;
	spf_done_fn done;
	void *done_arg;

	int family;
	unsigned char ip[16];
	char ip_text[INET6_ADDRSTRLEN], ip_dots[80];
	char sender[SENDER_MAX + SPF_DOMAIN_MAX + 2], local[SENDER_MAX + 1];
	char sender_domain[SPF_DOMAIN_MAX + 1], helo[SPF_DOMAIN_MAX + 1];
	char receiver[SPF_DOMAIN_MAX + 1];
	const char *identity;
	long long now;

	struct frame frames[FRAMES_MAX];
	size_t depth;
	unsigned terms, voids;

	enum wait wait;
	struct pending q[PENDING_MAX];
	size_t outstanding;
	bool sending;        /* answers to queries that failed at once wait for the sender */
	bool finished;

	/* what the answers of the current wait told */
	bool tempfail, matched, too_many;
	char *record;        /* the one SPF record found (W_RECORD) */
	size_t record_len;   /* it may hold a NUL: a permerror */
	size_t nrecords;
	char names[PENDING_MAX][SPF_DOMAIN_MAX + 1]; /* MX hosts or PTR names */
	bool name_ok[PENDING_MAX];
	size_t nnames;
	/* %{p}: the validated names of the client, looked up once when needed */
	bool for_p, p_known;
	enum after_p after_p;
	char *exp_text;      /* the explanation's TXT record, before expansion */
	char p_names[PTR_MAX][SPF_DOMAIN_MAX + 1];
	size_t np;
	const struct spf_mechanism *cur; /* the mechanism being evaluated */

	char explanation[SPF_EXP_MAX];
	char reason[SPF_DOMAIN_MAX + 160];
};

static const char *const result_names[] = {
	[SPF_NONE] = "none", [SPF_NEUTRAL] = "neutral", [SPF_PASS] = "pass",
	[SPF_FAIL] = "fail", [SPF_SOFTFAIL] = "softfail", [SPF_TEMPERROR] = "temperror",
	[SPF_PERMERROR] = "permerror",
};

const char *spf_result_name(enum spf_result r)
{
	return (size_t)r < sizeof(result_names) / sizeof(result_names[0]) ? result_names[r] : "?";
}

static enum spf_result qual_result(char q)
{
	switch (q) {
	case '-': return SPF_FAIL;
	case '~': return SPF_SOFTFAIL;
	case '?': return SPF_NEUTRAL;
	default: return SPF_PASS;
	}
}

static struct frame *top(struct spf_check *c)
{
	return &c->frames[c->depth - 1];
}

/* ---- ending ---- */

static void finish(struct spf_check *c, enum spf_result r, const char *exp, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void finish(struct spf_check *c, enum spf_result r, const char *exp, const char *fmt, ...)
{
	char reason[sizeof(c->reason)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	str_copy(c->reason, sizeof(c->reason), reason);
	struct spf_outcome o = { .result = r, .domain = c->frames[0].domain,
		                 .identity = c->identity, .explanation = exp,
		                 .reason = c->reason };
	c->finished = true;
	c->done(c->done_arg, &o);
}

static void free_check(struct spf_check *c)
{
	for (size_t i = 0; i < FRAMES_MAX; i++)
		spf_record_clear(&c->frames[i].rec);
	free(c->record);
	free(c->exp_text);
	free(c);
}

/* ---- DNS ---- */

static void on_answer(void *arg, const struct spf_dns_answer *ans);

static bool is_void(const struct spf_dns_answer *a)
{
	return a->st == SPF_DNS_NXDOMAIN || (a->st == SPF_DNS_OK && a->n == 0);
}

/* Sends one query of the current wait; idx tells the answer's slot. */
static void send_query(struct spf_check *c, const char *name, enum spf_rr t, size_t idx)
{
	struct pending *p = NULL;
	for (size_t i = 0; i < PENDING_MAX && p == NULL; i++) {
		if (!c->q[i].busy)
			p = &c->q[i];
	}
	if (p == NULL)
		return; /* cannot happen: waits never send more than PENDING_MAX */
	*p = (struct pending){ .c = c, .busy = true, .idx = idx, .id = -1 };
	c->outstanding++;
	int id = c->dns.query(c->dns.arg, name, t, on_answer, p);
	if (id < 0) {
		static const struct spf_dns_answer fail = { .st = SPF_DNS_TEMPFAIL };
		on_answer(p, &fail);
		return;
	}
	p->id = id;
}

static void start_wait(struct spf_check *c, enum wait w)
{
	c->wait = w;
	c->tempfail = c->matched = c->too_many = false;
	c->sending = true;
}

static void end_sending(struct spf_check *c)
{
	c->sending = false;
}

static bool addr_in(const struct spf_check *c, const char *text, int bits4, int bits6)
{
	unsigned char a[16];
	int fam = strchr(text, ':') != NULL ? AF_INET6 : AF_INET;
	if (fam != c->family || inet_pton(fam, text, a) != 1)
		return false;
	int bits = fam == AF_INET ? bits4 : bits6;
	int whole = bits / 8, rest = bits % 8;
	if (memcmp(a, c->ip, (size_t)whole) != 0)
		return false;
	if (rest == 0)
		return true;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (a[whole] & mask) == (c->ip[whole] & mask);
}

static size_t rr_len(const struct spf_dns_answer *a, size_t i)
{
	return a->len != NULL ? a->len[i] : strlen(a->rr[i]);
}

static void store_record(struct spf_check *c, const struct spf_dns_answer *a)
{
	for (size_t i = 0; a->st == SPF_DNS_OK && i < a->n; i++) {
		size_t len = rr_len(a, i);
		if (!spf_record_is_spf1(a->rr[i], len))
			continue;
		if (c->nrecords++ == 0) {
			c->record = xmalloc(len + 1);
			memcpy(c->record, a->rr[i], len + 1);
			c->record_len = len;
		}
	}
}

static void store_names(struct spf_check *c, const struct spf_dns_answer *a, size_t max)
{
	if (a->st != SPF_DNS_OK)
		return;
	if (a->n > max)
		c->too_many = true;
	for (size_t i = 0; i < a->n && c->nnames < max; i++) {
		if (strlen(a->rr[i]) <= SPF_DOMAIN_MAX)
			str_copy(c->names[c->nnames++], sizeof(c->names[0]), a->rr[i]);
	}
}

static void store_answer(struct spf_check *c, size_t idx, const struct spf_dns_answer *a)
{
	if (a->st == SPF_DNS_TEMPFAIL)
		c->tempfail = true;
	/* the explanation's lookup never counts (RFC 7208 6.2); the record
	 * fetches have their own rule (none/permerror) */
	if (c->wait != W_RECORD && c->wait != W_EXP && is_void(a))
		c->voids++;
	const struct spf_mechanism *m = c->cur;
	switch (c->wait) {
	case W_RECORD:
		store_record(c, a);
		break;
	case W_EXP:
		/* RFC 7208 6.2: exactly one TXT record, whatever it holds */
		if (a->st == SPF_DNS_OK && a->n == 1 && rr_len(a, 0) == strlen(a->rr[0]))
			c->exp_text = xstrdup(a->rr[0]);
		break;
	case W_ADDRS:
		for (size_t i = 0; a->st == SPF_DNS_OK && i < a->n; i++)
			c->matched |= addr_in(c, a->rr[i], m->cidr4, m->cidr6);
		break;
	case W_EXISTS:
		c->matched |= a->st == SPF_DNS_OK && a->n > 0;
		break;
	case W_MX:
		store_names(c, a, MX_MAX);
		break;
	case W_PTR:
		store_names(c, a, PTR_MAX);
		break;
	case W_PTR_ADDRS:
		for (size_t i = 0; a->st == SPF_DNS_OK && i < a->n && idx < PENDING_MAX; i++)
			c->name_ok[idx] |= addr_in(c, a->rr[i], 32, 128);
		break;
	case W_NONE:
		break;
	}
}

static void advance(struct spf_check *c);

static void on_answer(void *arg, const struct spf_dns_answer *ans)
{
	struct pending *p = arg;
	struct spf_check *c = p->c;
	p->busy = false;
	store_answer(c, p->idx, ans);
	c->outstanding--;
	if (c->outstanding > 0 || c->sending)
		return;
	advance(c);
	if (c->finished)
		free_check(c);
}

/* ---- macros ---- */

static void macro_vars(const struct spf_check *c, const char *domain, const char *p,
                       struct spf_macro_vars *v)
{
	*v = (struct spf_macro_vars){
		.sender = c->sender, .local = c->local, .sender_domain = c->sender_domain,
		.domain = domain, .ip_dots = c->ip_dots, .ip_text = c->ip_text,
		.ipv6 = c->family == AF_INET6, .validated = p, .helo = c->helo,
		.receiver = c->receiver, .now = c->now,
	};
}

static bool ends_with_domain(const char *name, const char *domain)
{
	size_t n = strlen(name), d = strlen(domain);
	if (n > 0 && name[n - 1] == '.')
		n--;
	if (d > 0 && domain[d - 1] == '.')
		d--;
	if (d == 0 || n < d || strncasecmp(name + n - d, domain, d) != 0)
		return false;
	return n == d || name[n - d - 1] == '.';
}

/* RFC 7208 7.3: %{p} is a validated name equal to the domain, else one
 * under it, else any; "unknown" when there is none. */
static const char *p_value(const struct spf_check *c, const char *domain)
{
	for (int pass = 0; pass < 3; pass++) {
		for (size_t i = 0; i < c->np; i++) {
			const char *n = c->p_names[i];
			bool same = ends_with_domain(n, domain) && ends_with_domain(domain, n);
			if ((pass == 0 && same) || (pass == 1 && ends_with_domain(n, domain)) || pass == 2)
				return n;
		}
	}
	return "unknown";
}

/* Expands a domain-spec for the top frame; NULL spec is the frame's domain.
 * False when the result is no usable name (RFC 7208 4.8: no match). */
static bool expand_target(struct spf_check *c, const char *spec, size_t len, char *out)
{
	struct frame *f = top(c);
	struct spf_macro_vars v;
	if (spec == NULL) {
		str_copy(out, SPF_DOMAIN_MAX + 1, f->domain);
		return true;
	}
	macro_vars(c, f->domain, p_value(c, f->domain), &v);
	return spf_expand_domain(spec, len, &v, out, SPF_DOMAIN_MAX + 1) == 0 &&
	       spf_name_valid(out);
}

/* ---- the steps ---- */

static void fetch_record(struct spf_check *c)
{
	free(c->record);
	c->record = NULL;
	c->nrecords = 0;
	start_wait(c, W_RECORD);
	send_query(c, top(c)->domain, SPF_RR_TXT, 0);
	end_sending(c);
}

static void push_frame(struct spf_check *c, const char *domain, bool via_redirect)
{
	struct frame *f = &c->frames[c->depth++];
	spf_record_clear(&f->rec);
	str_copy(f->domain, sizeof(f->domain), domain);
	f->next = 0;
	f->via_redirect = via_redirect;
	fetch_record(c);
}

/* Counts a DNS-querying term; false (with the check finished) past the limit. */
static bool count_term(struct spf_check *c, const char *what)
{
	if (++c->terms <= TERMS_MAX)
		return true;
	finish(c, SPF_PERMERROR, NULL, "more than %d DNS-querying terms (at %s in %s)", TERMS_MAX,
	       what, top(c)->domain);
	return false;
}

static bool voids_ok(struct spf_check *c)
{
	if (c->voids <= VOIDS_MAX)
		return true;
	finish(c, SPF_PERMERROR, NULL, "more than %d void lookups (in %s)", VOIDS_MAX,
	       top(c)->domain);
	return false;
}

static void frame_result(struct spf_check *c, enum spf_result r, const char *why);

/* The top frame's record has arrived. */
static void record_arrived(struct spf_check *c)
{
	struct frame *f = top(c);
	char err[128];
	c->wait = W_NONE;
	if (c->tempfail) {
		finish(c, SPF_TEMPERROR, NULL, "DNS error looking up the TXT records of %s", f->domain);
		return;
	}
	if (c->nrecords == 0) {
		frame_result(c, SPF_NONE, "no SPF record");
		return;
	}
	if (c->nrecords > 1) {
		finish(c, SPF_PERMERROR, NULL, "%zu SPF records at %s", c->nrecords, f->domain);
		return;
	}
	if (spf_record_parse(c->record, c->record_len, &f->rec, err, sizeof(err)) < 0) {
		finish(c, SPF_PERMERROR, NULL, "%s: %s", f->domain, err);
		return;
	}
}

/* "4.3.2.1.in-addr.arpa", or the nibbles in reverse under "ip6.arpa". */
static void reverse_name(const struct spf_check *c, char *out, size_t outlen)
{
	size_t o = 0, n = strlen(c->ip_dots);
	/* reverse the dot-separated parts of ip_dots */
	for (size_t end = n; end > 0;) {
		size_t start = end;
		while (start > 0 && c->ip_dots[start - 1] != '.')
			start--;
		if (o + (end - start) + 2 >= outlen)
			break;
		memcpy(out + o, c->ip_dots + start, end - start);
		o += end - start;
		out[o++] = '.';
		end = start > 0 ? start - 1 : 0;
	}
	snprintf(out + o, outlen - o, "%s.arpa", c->family == AF_INET6 ? "ip6" : "in-addr");
}

/* Looks up the client's PTR names and validates them (RFC 7208 5.5), for a
 * ptr term or for %{p}. */
static void start_ptr(struct spf_check *c, bool for_p, enum after_p after)
{
	char rev[sizeof(c->ip_dots) + 16];
	c->for_p = for_p;
	c->after_p = after;
	c->nnames = 0;
	memset(c->name_ok, 0, sizeof(c->name_ok));
	reverse_name(c, rev, sizeof(rev));
	start_wait(c, W_PTR);
	send_query(c, rev, SPF_RR_PTR, 0);
	end_sending(c);
}

static void ptr_names_arrived(struct spf_check *c)
{
	/* RFC 7208 5.5: a DNS error on the PTR lookup is no match; more than 10
	 * names: the first 10 are used */
	start_wait(c, W_PTR_ADDRS);
	for (size_t i = 0; i < c->nnames; i++) {
		if (spf_name_valid(c->names[i]))
			send_query(c, c->names[i], c->family == AF_INET6 ? SPF_RR_AAAA : SPF_RR_A, i);
	}
	end_sending(c);
}

static void ptr_validated(struct spf_check *c)
{
	c->wait = W_NONE;
	if (c->for_p) {
		c->p_known = true;
		c->np = 0;
		for (size_t i = 0; i < c->nnames; i++) {
			if (c->name_ok[i])
				str_copy(c->p_names[c->np++], sizeof(c->p_names[0]), c->names[i]);
		}
		return; /* the term that wanted %{p} is evaluated again */
	}
	char target[SPF_DOMAIN_MAX + 1];
	if (!voids_ok(c))
		return;
	struct frame *f = top(c);
	const struct spf_mechanism *m = c->cur;
	bool match = false;
	if (expand_target(c, m->spec, m->speclen, target)) {
		for (size_t i = 0; i < c->nnames && !match; i++)
			match = c->name_ok[i] && ends_with_domain(c->names[i], target);
	}
	f->next++;
	if (match)
		frame_result(c, qual_result(m->qual), "matched ptr");
}

static void mx_names_arrived(struct spf_check *c)
{
	if (c->tempfail) {
		finish(c, SPF_TEMPERROR, NULL, "DNS error on mx in %s", top(c)->domain);
		return;
	}
	if (c->too_many) {
		finish(c, SPF_PERMERROR, NULL, "more than %d MX names (mx in %s)", MX_MAX,
		       top(c)->domain);
		return;
	}
	if (!voids_ok(c))
		return;
	size_t n = c->nnames;
	start_wait(c, W_ADDRS);
	for (size_t i = 0; i < n; i++) {
		if (spf_name_valid(c->names[i]))
			send_query(c, c->names[i], c->family == AF_INET6 ? SPF_RR_AAAA : SPF_RR_A, i);
	}
	end_sending(c);
}

/* An a, mx (addresses) or exists term's answers are all in. */
static void addrs_arrived(struct spf_check *c)
{
	struct frame *f = top(c);
	const struct spf_mechanism *m = c->cur;
	c->wait = W_NONE;
	if (c->tempfail) {
		finish(c, SPF_TEMPERROR, NULL, "DNS error on %s in %s", spf_mech_name(m->mech),
		       f->domain);
		return;
	}
	if (!voids_ok(c))
		return;
	f->next++;
	if (c->matched) {
		char why[32];
		snprintf(why, sizeof(why), "matched %s", spf_mech_name(m->mech));
		frame_result(c, qual_result(m->qual), why);
	}
}

static bool ip_matches(const struct spf_check *c, const struct spf_mechanism *m)
{
	int fam = m->mech == SPF_MECH_IP4 ? AF_INET : AF_INET6;
	char text[INET6_ADDRSTRLEN];
	if (fam != c->family || inet_ntop(fam, m->addr, text, sizeof(text)) == NULL)
		return false;
	return addr_in(c, text, m->cidr4, m->cidr6);
}

/* Starts the DNS part of a querying mechanism (the term is already counted). */
static void query_mechanism(struct spf_check *c, const struct spf_mechanism *m)
{
	char target[SPF_DOMAIN_MAX + 1];
	struct frame *f = top(c);
	if (m->mech == SPF_MECH_PTR) {
		start_ptr(c, false, P_FOR_TERM);
		return;
	}
	if (!expand_target(c, m->spec, m->speclen, target)) {
		/* an unusable name (empty or long label, RFC 7208 4.8 leaves it
		 * open): nothing matches it, and there is no record to include */
		if (m->mech == SPF_MECH_INCLUDE)
			finish(c, SPF_PERMERROR, NULL, "include of an unusable name in %s", f->domain);
		else
			f->next++;
		return;
	}
	switch (m->mech) {
	case SPF_MECH_INCLUDE:
		if (c->depth == FRAMES_MAX) {
			finish(c, SPF_PERMERROR, NULL, "includes nested too deep");
			return;
		}
		push_frame(c, target, false);
		return;
	case SPF_MECH_A:
		start_wait(c, W_ADDRS);
		send_query(c, target, c->family == AF_INET6 ? SPF_RR_AAAA : SPF_RR_A, 0);
		break;
	case SPF_MECH_MX:
		c->nnames = 0;
		start_wait(c, W_MX);
		send_query(c, target, SPF_RR_MX, 0);
		break;
	case SPF_MECH_EXISTS:
		/* RFC 7208 5.7: always an A query, whatever the client's family */
		start_wait(c, W_EXISTS);
		send_query(c, target, SPF_RR_A, 0);
		break;
	default:
		break;
	}
	end_sending(c);
}

static bool needs_p(const struct spf_check *c, bool uses_p)
{
	return uses_p && !c->p_known;
}

/* Evaluates the top frame's next mechanism, or its end. */
static void next_term(struct spf_check *c)
{
	struct frame *f = top(c);
	if (f->next == f->rec.nmech) {
		if (f->rec.redirect == NULL) {
			frame_result(c, SPF_NEUTRAL, "no mechanism matched");
			return;
		}
		if (needs_p(c, f->rec.redirect_uses_p)) {
			start_ptr(c, true, P_FOR_TERM);
			return;
		}
		char target[SPF_DOMAIN_MAX + 1];
		if (!count_term(c, "redirect"))
			return;
		if (!expand_target(c, f->rec.redirect, f->rec.redirect_len, target)) {
			finish(c, SPF_PERMERROR, NULL, "redirect to an unusable name in %s", f->domain);
			return;
		}
		c->depth--; /* RFC 7208 6.1: the target's result is this record's */
		push_frame(c, target, true);
		return;
	}
	const struct spf_mechanism *m = &f->rec.mech[f->next];
	c->cur = m;
	switch (m->mech) {
	case SPF_MECH_ALL:
		frame_result(c, qual_result(m->qual), "matched all");
		return;
	case SPF_MECH_IP4:
	case SPF_MECH_IP6:
		f->next++;
		if (ip_matches(c, m))
			frame_result(c, qual_result(m->qual), m->mech == SPF_MECH_IP4 ? "matched ip4" : "matched ip6");
		return;
	default:
		break;
	}
	if (needs_p(c, m->spec_uses_p)) {
		start_ptr(c, true, P_FOR_TERM);
		return;
	}
	if (count_term(c, spf_mech_name(m->mech)))
		query_mechanism(c, m);
}

static void fetch_explanation(struct spf_check *c);

/* The top frame ended with r: hand it to the including frame, or end. */
static void frame_result(struct spf_check *c, enum spf_result r, const char *why)
{
	struct frame *f = top(c);
	if (r == SPF_NONE && (c->depth > 1 || f->via_redirect)) {
		finish(c, SPF_PERMERROR, NULL, "%s has no SPF record (%s)", f->domain,
		       f->via_redirect ? "redirect" : "include");
		return;
	}
	if (c->depth == 1) {
		if (r == SPF_FAIL && f->rec.exp != NULL) {
			snprintf(c->reason, sizeof(c->reason), "%s in %s", why, f->domain);
			fetch_explanation(c);
			return;
		}
		finish(c, r, NULL, "%s in %s", why, f->domain);
		return;
	}
	/* RFC 7208 5.2: include's pass is a match, the other results are not */
	c->depth--;
	struct frame *parent = top(c);
	const struct spf_mechanism *m = &parent->rec.mech[parent->next];
	parent->next++;
	if (r == SPF_PASS)
		frame_result(c, qual_result(m->qual), "matched include");
}

static void fetch_explanation(struct spf_check *c)
{
	struct frame *f = top(c);
	char target[SPF_DOMAIN_MAX + 1];
	if (needs_p(c, f->rec.exp_uses_p)) {
		start_ptr(c, true, P_FOR_EXP_SPEC);
		return;
	}
	if (!expand_target(c, f->rec.exp, f->rec.exp_len, target)) {
		finish(c, SPF_FAIL, NULL, "%s", c->reason);
		return;
	}
	free(c->exp_text);
	c->exp_text = NULL;
	start_wait(c, W_EXP);
	send_query(c, target, SPF_RR_TXT, 0);
	end_sending(c);
}

/* RFC 7208 6.2: a DNS error, no record, several, or a bad text: no explanation. */
static void explanation_arrived(struct spf_check *c)
{
	struct frame *f = top(c);
	struct spf_macro_vars v;
	const char *exp = NULL;
	bool uses_p = false;
	c->wait = W_NONE;
	if (c->exp_text != NULL &&
	    spf_macro_valid(c->exp_text, strlen(c->exp_text), SPF_MACRO_EXP, &uses_p)) {
		if (needs_p(c, uses_p)) {
			start_ptr(c, true, P_FOR_EXP_TEXT);
			return;
		}
		macro_vars(c, f->domain, p_value(c, f->domain), &v);
		if (spf_expand_exp(c->exp_text, strlen(c->exp_text), &v, c->explanation,
		                   sizeof(c->explanation)) == 0)
			exp = c->explanation;
	}
	finish(c, SPF_FAIL, exp, "%s", c->reason);
}

/* One piece of work; called while nothing is outstanding. */
static void step(struct spf_check *c)
{
	switch (c->wait) {
	case W_RECORD:
		record_arrived(c);
		return;
	case W_ADDRS:
	case W_EXISTS:
		addrs_arrived(c);
		return;
	case W_MX:
		mx_names_arrived(c);
		return;
	case W_PTR:
		ptr_names_arrived(c);
		return;
	case W_PTR_ADDRS:
		ptr_validated(c);
		if (c->finished || !c->for_p)
			return;
		if (c->after_p == P_FOR_EXP_SPEC)
			fetch_explanation(c);
		else if (c->after_p == P_FOR_EXP_TEXT)
			explanation_arrived(c);
		return;
	case W_EXP:
		explanation_arrived(c);
		return;
	case W_NONE:
		next_term(c);
		return;
	}
}

static void advance(struct spf_check *c)
{
	while (!c->finished && c->outstanding == 0)
		step(c);
}

/* ---- starting ---- */

static int parse_ip(struct spf_check *c, const char *ip)
{
	unsigned char a[16];
	if (ip == NULL)
		return -1;
	if (inet_pton(AF_INET, ip, a) == 1) {
		c->family = AF_INET;
		memcpy(c->ip, a, 4);
	} else if (inet_pton(AF_INET6, ip, a) == 1) {
		static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		/* RFC 7208 5: an IPv4-mapped address is the IPv4 client it maps */
		c->family = memcmp(a, mapped, 12) == 0 ? AF_INET : AF_INET6;
		memcpy(c->ip, c->family == AF_INET ? a + 12 : a, c->family == AF_INET ? 4 : 16);
	} else {
		return -1;
	}
	inet_ntop(c->family, c->ip, c->ip_text, sizeof(c->ip_text));
	if (c->family == AF_INET) {
		str_copy(c->ip_dots, sizeof(c->ip_dots), c->ip_text);
	} else {
		/* upper case, as pyspf and the RFC 7208 suite write %{i} */
		static const char hex[] = "0123456789ABCDEF";
		char *p = c->ip_dots;
		for (int i = 0; i < 16; i++) {
			*p++ = hex[c->ip[i] >> 4];
			*p++ = '.';
			*p++ = hex[c->ip[i] & 15];
			*p++ = i < 15 ? '.' : '\0';
		}
	}
	return 0;
}

/* RFC 7208 4.3: a domain that is no FQDN (a literal, one label, a bad label)
 * gives "none" without a lookup. */
static bool identity_domain_ok(const char *d)
{
	return d[0] != '[' && spf_name_valid(d) && strchr(d, '.') != NULL &&
	       strchr(d, '.')[1] != '\0';
}

/* Fills the identity (RFC 7208 2.4, 4.3); false with the reason when it is unusable. */
static bool set_identity(struct spf_check *c, const struct spf_request *req, const char **why)
{
	const char *sender = req->sender != NULL ? req->sender : "";
	const char *helo = req->helo != NULL ? req->helo : "";
	str_copy(c->helo, sizeof(c->helo), helo);
	str_copy(c->receiver, sizeof(c->receiver), req->receiver != NULL ? req->receiver : "");
	const char *domain;
	size_t llen;
	if (sender[0] == '\0') {
		c->identity = "helo";
		domain = helo;
		llen = 0;
	} else {
		c->identity = "mailfrom";
		const char *at = strrchr(sender, '@');
		domain = at != NULL ? at + 1 : sender;
		llen = at != NULL ? (size_t)(at - sender) : 0;
	}
	if (llen > SENDER_MAX || strlen(domain) > SPF_DOMAIN_MAX + 1 || strlen(helo) > SPF_DOMAIN_MAX) {
		*why = "identity too long";
		return false;
	}
	if (llen == 0)
		str_copy(c->local, sizeof(c->local), "postmaster");
	else
		snprintf(c->local, sizeof(c->local), "%.*s", (int)llen, sender);
	str_copy(c->sender_domain, sizeof(c->sender_domain), domain);
	snprintf(c->sender, sizeof(c->sender), "%s@%s", c->local, c->sender_domain);
	if (!identity_domain_ok(domain)) {
		*why = "not a usable domain name";
		return false;
	}
	return true;
}

struct spf_check *spf_check_start(const struct spf_dns *dns, const struct spf_request *req,
                                  spf_done_fn done, void *arg)
{
	struct spf_check *c = xcalloc(1, sizeof(*c));
	c->dns = *dns;
	c->done = done;
	c->done_arg = arg;
	c->now = req->now != 0 ? req->now : (long long)time(NULL);
	const char *why = NULL;
	if (!set_identity(c, req, &why)) {
		str_copy(c->frames[0].domain, sizeof(c->frames[0].domain), c->sender_domain);
		finish(c, SPF_NONE, NULL, "%s", why);
	} else if (parse_ip(c, req->ip) < 0) {
		str_copy(c->frames[0].domain, sizeof(c->frames[0].domain), c->sender_domain);
		finish(c, SPF_PERMERROR, NULL, "not an IP address");
	} else {
		c->sending = true;
		push_frame(c, c->sender_domain, false);
		c->sending = false;
		advance(c);
	}
	if (c->finished) {
		free_check(c);
		return NULL;
	}
	return c;
}

void spf_check_cancel(struct spf_check *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < PENDING_MAX; i++) {
		if (c->q[i].busy && c->q[i].id >= 0)
			c->dns.cancel(c->dns.arg, c->q[i].id);
	}
	free_check(c);
}
