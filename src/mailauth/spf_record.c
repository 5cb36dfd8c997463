/* Reading an SPF record without DNS; see spf_record.h. */
#include "mailauth/spf_record.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "core/cidr.h"

/* One term of a record: qualifier, name, and what follows ':' or '/'. */
struct spf_term {
	char qual;          /* '+', '-', '~', '?' */
	char name[16];      /* lower case; "" for a malformed or overlong one */
	bool modifier;      /* name=value (redirect=, exp=, unknown ones) */
	char arg[256];      /* after "name:" or "name/": "example.org/24", "/24", "192.0.2.0/24" */
};

/* Reads the term at *p (no leading spaces) and moves *p past it. */
static void next_term(const char **p, struct spf_term *t)
{
	const char *s = *p, *end = s + strcspn(s, " ");
	memset(t, 0, sizeof(*t));
	t->qual = '+';
	if (s < end && strchr("+-~?", *s) != NULL)
		t->qual = *s++;
	size_t n = strcspn(s, ":/= ");
	if (n > (size_t)(end - s))
		n = (size_t)(end - s);
	if (n < sizeof(t->name)) {
		for (size_t i = 0; i < n; i++)
			t->name[i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] - 'A' + 'a' : s[i]);
	}
	s += n;
	t->modifier = s < end && *s == '=';
	if (s < end && *s == ':')
		s++;
	size_t alen = (size_t)(end - s);
	if (alen < sizeof(t->arg))
		memcpy(t->arg, s, alen);
	*p = end;
}

/* Calls fn on each term after "v=spf1" until it returns true; returns that. */
typedef bool (*term_fn)(const struct spf_term *t, void *arg);

static bool each_term(const char *record, term_fn fn, void *arg)
{
	if (!spf_is_record(record))
		return false;
	const char *p = record + 6;
	struct spf_term t;
	for (;;) {
		p += strspn(p, " ");
		if (*p == '\0')
			return false;
		next_term(&p, &t);
		if (fn(&t, arg))
			return true;
	}
}

bool spf_is_record(const char *txt)
{
	return txt != NULL && strncasecmp(txt, "v=spf1", 6) == 0 && (txt[6] == ' ' || txt[6] == '\0');
}

/* True when the domain part of an a: or mx: argument ("host/24") is want. */
static bool names(const char *arg, const char *want)
{
	size_t n = strcspn(arg, "/");
	size_t wn = want != NULL ? strlen(want) : 0;
	/* a trailing dot is the same name */
	if (n > 0 && arg[n - 1] == '.')
		n--;
	return wn > 0 && n == wn && strncasecmp(arg, want, n) == 0;
}

struct cover {
	const char *domain, *hostname, *addr; /* addr NULL: not known */
	bool unknown;   /* a term we cannot evaluate came first */
	bool pass;      /* the deciding term's qualifier was '+' */
};

static bool net_holds(const char *arg, int family, const char *addr)
{
	struct cidr net;
	return addr != NULL && cidr_parse(arg, &net) == 0 && net.family == family &&
	       cidr_match(&net, addr);
}

/* True when t decides for c->addr (and sets c->pass). */
static bool decides(const struct spf_term *t, void *arg)
{
	struct cover *c = arg;
	bool match = false;
	if (t->modifier)
		return false;
	if (strcmp(t->name, "all") == 0)
		match = true;
	else if (strcmp(t->name, "mx") == 0)
		match = t->arg[0] == '\0' || t->arg[0] == '/' || names(t->arg, c->domain);
	else if (strcmp(t->name, "a") == 0)
		match = t->arg[0] == '\0' || t->arg[0] == '/' || names(t->arg, c->domain) ||
		        names(t->arg, c->hostname);
	else if (strcmp(t->name, "ip4") == 0)
		match = net_holds(t->arg, AF_INET, c->addr);
	else if (strcmp(t->name, "ip6") == 0)
		match = net_holds(t->arg, AF_INET6, c->addr);
	else
		c->unknown = true; /* include, exists, ptr, a:/mx: of other hosts */
	if (match)
		c->pass = t->qual == '+';
	return match;
}

bool spf_authorises(const char *record, const char *domain, const char *hostname,
                    const char *const *addrs, size_t naddrs, bool *unknown)
{
	struct cover c = { .domain = domain, .hostname = hostname };
	bool ok = true;
	for (size_t i = 0; i == 0 || i < naddrs; i++) {
		c.addr = naddrs > 0 ? addrs[i] : NULL;
		c.pass = false;
		if (!each_term(record, decides, &c) || !c.pass)
			ok = false;
	}
	if (unknown != NULL)
		*unknown = c.unknown;
	return ok;
}

static bool is_all(const struct spf_term *t, void *arg)
{
	bool *pass = arg;
	if (t->modifier || strcmp(t->name, "all") != 0)
		return false;
	*pass = t->qual == '+';
	return true;
}

bool spf_passes_all(const char *record)
{
	bool pass = false;
	return each_term(record, is_all, &pass) && pass;
}
