/* DNS blocklists and allowlists (dnsbl.h): every zone asked at once
 * through struct spf_dns, answers interpreted by return code, weights
 * summed. */
#include "filter/dnsbl.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "core/cidr.h"
#include "core/log.h"
#include "core/util.h"

void dnsbl_env_from_config(struct dnsbl_env *env, const struct config *cfg,
                           const struct spf_dns *dns, struct event_base *base)
{
	*env = (struct dnsbl_env){
		.dns = dns, .base = base, .zones = cfg->dnsbl.zones, .nzones = cfg->dnsbl.nzones,
		.threshold = cfg->dnsbl.threshold, .timeout_ms = (unsigned)cfg->dnsbl.timeout_ms,
		.allow = cfg->dnsbl.allow, .nallow = cfg->dnsbl.nallow,
	};
}

/* ---- the pure parts ---- */

int dnsbl_query_name(const char *ip, const char *zone, char *out, size_t outlen)
{
	unsigned char a[16];
	const unsigned char *v4;
	if (ip_octets(ip, a, &v4) < 0)
		return -1;
	char rev[80];
	size_t n = 0;
	if (v4 != NULL) {
		n = (size_t)snprintf(rev, sizeof(rev), "%u.%u.%u.%u", v4[3], v4[2], v4[1], v4[0]);
	} else {
		static const char hex[] = "0123456789abcdef";
		for (int i = 15; i >= 0; i--) {
			rev[n++] = hex[a[i] & 0xf];
			rev[n++] = '.';
			rev[n++] = hex[a[i] >> 4];
			rev[n++] = '.';
		}
		rev[--n] = '\0';
	}
	/* RFC 1035 2.3.4: 253 octets in text */
	if (n + 1 + strlen(zone) > 253)
		return -1;
	return bsnprintf(out, outlen, "%s.%s", rev, zone) < 0 ? -1 : 0;
}

static bool code_wanted(const struct dnsbl_zone *z, uint32_t addr)
{
	if (z->ncodes == 0)
		return true;
	for (size_t i = 0; i < z->ncodes; i++)
		if (addr >= z->code_lo[i] && addr <= z->code_hi[i])
			return true;
	return false;
}

enum dnsbl_outcome dnsbl_interpret(const struct dnsbl_zone *z, const struct spf_dns_answer *ans,
                                   char code[16])
{
	code[0] = '\0';
	if (ans->st == SPF_DNS_NXDOMAIN)
		return DNSBL_MISS;
	if (ans->st != SPF_DNS_OK)
		return DNSBL_ERROR;
	enum dnsbl_outcome out = DNSBL_MISS;
	for (size_t i = 0; i < ans->n && i < DNSBL_ANSWERS_MAX; i++) {
		struct in_addr in;
		if (ans->rr[i] == NULL || (ans->len != NULL && ans->len[i] != strlen(ans->rr[i])) ||
		    inet_pton(AF_INET, ans->rr[i], &in) != 1)
			return DNSBL_ERROR;
		uint32_t addr = ntohl(in.s_addr);
		if ((addr >> 8) == 0x7fffffu) {         /* 127.255.255.0/24 */
			str_copy(code, 16, ans->rr[i]);
			return DNSBL_REFUSED;
		}
		if ((addr >> 24) != 127)
			return DNSBL_ERROR;
		if (out == DNSBL_MISS && code_wanted(z, addr)) {
			out = DNSBL_LISTED;
			str_copy(code, 16, ans->rr[i]);
		}
	}
	return out;
}

/* ---- the refusal, logged once per zone and process ---- */

#define REFUSED_LOGGED_MAX 64
static pthread_mutex_t refused_lock = PTHREAD_MUTEX_INITIALIZER;
static char *refused_logged[REFUSED_LOGGED_MAX];

static bool first_refusal(const char *zone)
{
	bool first = true;
	pthread_mutex_lock(&refused_lock);
	size_t i = 0;
	for (; i < REFUSED_LOGGED_MAX && refused_logged[i] != NULL; i++)
		if (strcmp(refused_logged[i], zone) == 0)
			first = false;
	if (first && i < REFUSED_LOGGED_MAX)
		refused_logged[i] = xstrdup(zone);
	pthread_mutex_unlock(&refused_lock);
	return first;
}

static void log_refusal(const char *zone, const char *code)
{
	if (!first_refusal(zone))
		return;
	log_event(LOG_ERROR, "dnsbl.resolver_refused", "s", "zone", zone, "s", "answer", code,
	          "s", "fix", "the list refuses the resolver that asked (a public or shared "
	          "resolver, or too many queries): point dns.servers at a resolver of your own "
	          "(e.g. a local unbound), or use the operator's registered access; until "
	          "then the zone counts as unanswered, never as a listing", NULL);
}

/* ---- the check ---- */

struct zone_query {
	struct dnsbl_check *c;
	const struct dnsbl_zone *z;
	int id;                         /* -1: answered, or never asked */
	enum dnsbl_outcome outcome;
	char code[16];
	const char *error;              /* static, for DNSBL_ERROR/REFUSED */
};

struct dnsbl_check {
	struct dnsbl_env env;
	dnsbl_done_fn *done;
	void *arg;
	struct event *timer;            /* the timeout, or "at once" when nothing is asked */
	struct zone_query *q;
	size_t nq, pending;
	bool skipped, finished;
};

static void cancel_pending(struct dnsbl_check *c)
{
	for (size_t i = 0; i < c->nq; i++)
		if (c->q[i].id >= 0) {
			c->env.dns->cancel(c->env.dns->arg, c->q[i].id);
			c->q[i].id = -1;
			c->q[i].outcome = DNSBL_ERROR;
			c->q[i].error = "timeout";
		}
	c->pending = 0;
}

/* Appends "name=what" ("name" when what is NULL) to a ','-separated list,
 * "..." once it is full. */
static void list_add(char *list, const char *name, const char *what)
{
	size_t len = strlen(list);
	if (len >= DNSBL_LIST_MAX - 4 && strcmp(list + len - 3, "...") == 0)
		return;
	char item[320];
	snprintf(item, sizeof(item), "%s%s%s%s", len ? "," : "", name, what ? "=" : "",
	         what ? what : "");
	if (len + strlen(item) + 4 > DNSBL_LIST_MAX)
		str_copy(list + len, DNSBL_LIST_MAX - len, len ? ",..." : "...");
	else
		str_copy(list + len, DNSBL_LIST_MAX - len, item);
}

static void fill_result(const struct dnsbl_check *c, struct dnsbl_result *r)
{
	char names[DNSBL_LIST_MAX] = "";
	for (size_t i = 0; i < c->nq; i++) {
		const struct zone_query *q = &c->q[i];
		if (q->outcome == DNSBL_LISTED) {
			r->score += q->z->weight;
			list_add(r->listed, q->z->name, q->code);
			if (q->z->weight > 0)
				list_add(names, q->z->name, NULL);
		} else if (q->outcome != DNSBL_MISS) {
			list_add(r->errors, q->z->name, q->error);
		}
	}
	if (r->score >= c->env.threshold) {
		r->action = DNSBL_REJECT;
		r->code = 554;
		r->enh = "5.7.1";
		snprintf(r->text, sizeof(r->text), "Your address is listed at %s; see there how to "
		         "be removed", names);
	} else if (r->score > 0) {
		r->action = DNSBL_JUNK;
	}
	snprintf(r->header, sizeof(r->header), "X-Postern-DNSBL: score=%d; listed=%s; errors=%s\n",
	         r->score, r->listed[0] ? r->listed : "none", r->errors[0] ? r->errors : "none");
}

static void finish(struct dnsbl_check *c)
{
	if (c->finished)
		return;
	c->finished = true;
	evtimer_del(c->timer);
	struct dnsbl_result r;
	memset(&r, 0, sizeof(r));
	r.skipped = c->skipped;
	if (!c->skipped)
		fill_result(c, &r);
	c->done(c->arg, &r);     /* may free c */
}

static void on_answer(void *arg, const struct spf_dns_answer *ans)
{
	struct zone_query *q = arg;
	struct dnsbl_check *c = q->c;
	q->id = -1;
	q->outcome = dnsbl_interpret(q->z, ans, q->code);
	if (q->outcome == DNSBL_REFUSED) {
		q->error = "refused";
		log_refusal(q->z->name, q->code);
	} else if (q->outcome == DNSBL_ERROR) {
		q->error = ans->st == SPF_DNS_TEMPFAIL ? "tempfail" : "bad-answer";
	}
	if (--c->pending == 0)
		finish(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct dnsbl_check *c = arg;
	cancel_pending(c);
	finish(c);
}

static void ask(struct dnsbl_check *c, const char *ip)
{
	char name[256];
	for (size_t i = 0; i < c->nq; i++) {
		struct zone_query *q = &c->q[i];
		*q = (struct zone_query){ .c = c, .z = &c->env.zones[i], .id = -1 };
		if (dnsbl_query_name(ip, q->z->name, name, sizeof(name)) < 0) {
			q->outcome = DNSBL_ERROR;
			q->error = "name-too-long";
			continue;
		}
		c->pending++;      /* before query: an id only comes back after */
		q->id = c->env.dns->query(c->env.dns->arg, name, SPF_RR_A, on_answer, q);
		if (q->id < 0) {
			c->pending--;
			q->outcome = DNSBL_ERROR;
			q->error = "tempfail";
		}
	}
}

struct dnsbl_check *dnsbl_check_start(const struct dnsbl_env *env, const char *ip,
                                      dnsbl_done_fn *done, void *arg)
{
	struct dnsbl_check *c = xcalloc(1, sizeof(*c));
	c->env = *env;
	c->done = done;
	c->arg = arg;
	c->timer = evtimer_new(env->base, on_timer, c);
	if (c->timer == NULL) {
		free(c);
		return NULL;
	}
	struct in_addr a4;
	struct in6_addr a6;
	bool is_ip = inet_pton(AF_INET, ip, &a4) == 1 || inet_pton(AF_INET6, ip, &a6) == 1;
	c->skipped = env->nzones == 0 || !is_ip || cidr_match_any(env->allow, env->nallow, ip);
	if (!c->skipped) {
		c->nq = env->nzones;
		c->q = xcalloc(c->nq, sizeof(*c->q));
		ask(c, ip);
	}
	/* done never runs inside start: "at once" is a zero timer */
	struct timeval tv = { 0, 0 };
	if (c->pending > 0) {
		tv.tv_sec = env->timeout_ms / 1000;
		tv.tv_usec = (suseconds_t)(env->timeout_ms % 1000) * 1000;
	}
	evtimer_add(c->timer, &tv);
	return c;
}

void dnsbl_check_free(struct dnsbl_check *c)
{
	if (c == NULL)
		return;
	cancel_pending(c);
	event_free(c->timer);
	free(c->q);
	free(c);
}
