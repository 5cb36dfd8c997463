/* Greylisting: the decision over the store's triplets (greylist.h). */
#include "filter/greylist.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/cidr.h"
#include "core/config.h"
#include "core/util.h"
#include "store/store_greylist.h"

void greylist_policy_from_config(struct greylist_policy *p, const struct config *cfg)
{
	*p = (struct greylist_policy){
		.enabled = cfg->greylist.enabled,
		.delay_s = (long long)(cfg->greylist.delay_ms / 1000),
		.expire_s = (long long)(cfg->greylist.expire_ms / 1000),
		.remember_s = (long long)(cfg->greylist.remember_ms / 1000),
		.auto_allow = cfg->greylist.auto_allow,
		.max_entries = cfg->greylist.max_entries,
		.allow_nets = cfg->greylist.allow_nets,
		.nallow_nets = cfg->greylist.nallow_nets,
		.allow_domains = cfg->greylist.allow_domains,
		.nallow_domains = cfg->greylist.nallow_domains,
	};
}

int greylist_network(const char *ip, char *out, size_t outlen)
{
	unsigned char a[16];
	char text[INET6_ADDRSTRLEN];
	const unsigned char *v4;
	if (ip_octets(ip, a, &v4) < 0)
		return -1;
	int rc;
	if (v4 != NULL) {
		rc = bsnprintf(out, outlen, "%u.%u.%u.0/24", v4[0], v4[1], v4[2]);
	} else {
		memset(a + 8, 0, 8);
		rc = inet_ntop(AF_INET6, a, text, sizeof(text)) != NULL
		     ? bsnprintf(out, outlen, "%s/64", text) : -1;
	}
	return rc < 0 ? -1 : 0;
}

int greylist_sender_key(const char *sender, char *out, size_t outlen)
{
	const char *at = strrchr(sender, '@');
	/* BATV (draft-levine-smtp-batv): prvs=TAG=local@domain */
	if (at != NULL && strncasecmp(sender, "prvs=", 5) == 0) {
		const char *eq = memchr(sender + 5, '=', (size_t)(at - sender - 5));
		if (eq != NULL)
			sender = eq + 1;
	}
	size_t n = 0;
	bool in_local = at != NULL, digits = false;
	for (const char *p = sender; *p; p++) {
		if (p == at)
			in_local = false;
		bool digit = in_local && isdigit((unsigned char)*p);
		if (digit && digits)
			continue;
		digits = digit;
		if (n + 1 >= outlen)
			return -1;
		out[n++] = digit ? '#' : (char)tolower((unsigned char)*p);
	}
	if (n >= outlen)
		return -1;
	out[n] = '\0';
	return 0;
}

static bool domain_allowed(const struct greylist_policy *p, const char *sender)
{
	const char *at = strrchr(sender, '@');
	if (at == NULL)
		return false;
	const char *dom = at + 1;
	size_t dlen = strlen(dom);
	for (size_t i = 0; i < p->nallow_domains; i++) {
		const char *a = p->allow_domains[i];
		size_t alen = strlen(a);
		if (dlen == alen ? strcasecmp(dom, a) == 0
		                 : dlen > alen && dom[dlen - alen - 1] == '.' &&
		                   strcasecmp(dom + dlen - alen, a) == 0)
			return true;
	}
	return false;
}

static void skip(struct greylist_result *out, const char *reason)
{
	out->verdict = GREYLIST_SKIP;
	out->reason = reason;
}

/* The reasons greylisting does not apply to a message at all. */
static bool skipped(const struct greylist_policy *p, const struct greylist_request *rq,
                    struct greylist_result *out)
{
	if (!p->enabled)
		return skip(out, "off"), true;
	if (cidr_match_any(p->allow_nets, p->nallow_nets, rq->client_ip))
		return skip(out, "allowed network"), true;
	if (rq->spf_pass)
		return skip(out, "spf pass"), true;
	if (domain_allowed(p, rq->sender))
		return skip(out, "allowed sender domain"), true;
	return false;
}

enum triplet_state { T_PASSED, T_WAIT };

/* One triplet's next entry at now, and whether it has passed; *wait is the
 * seconds until a retry is accepted. */
static enum triplet_state judge(const struct greylist_policy *p, bool found,
                                struct store_greylist_entry *e, long long now, long long *wait)
{
	bool fresh = found && (e->passed > 0 ? now - e->last_seen <= p->remember_s
	                                     : now - e->first_seen <= p->expire_s);
	if (!fresh)
		*e = (struct store_greylist_entry){ .first_seen = now };
	e->last_seen = now;
	if (e->passed > 0)
		return T_PASSED;
	*wait = e->first_seen + p->delay_s - now;
	if (*wait > 0)
		return T_WAIT;
	e->passed = now;
	return T_PASSED;
}

struct triplets {
	char sender[STORE_GREYLIST_ADDR_MAX + 1];
	struct store_greylist_key keys[GREYLIST_RCPTS_MAX];
	struct store_greylist_entry entries[GREYLIST_RCPTS_MAX];
	size_t n;
};

/* The recipients who have not opted out (and fit a triplet). -1: store error. */
static int collect(struct store *st, const struct greylist_request *rq, const char *net,
                   struct triplets *t)
{
	for (size_t i = 0; i < rq->nrcpts && t->n < GREYLIST_RCPTS_MAX; i++) {
		const char *rcpt = rq->rcpts[i];
		if (strlen(rcpt) > STORE_GREYLIST_ADDR_MAX)
			continue;
		int out = store_greylist_opted_out(st, rcpt);
		if (out < 0)
			return -1;
		if (!out)
			t->keys[t->n++] = (struct store_greylist_key){ net, t->sender, rcpt };
	}
	return 0;
}

static void defer(struct greylist_result *out, long long wait)
{
	out->verdict = GREYLIST_DEFER;
	out->retry_after_s = (int)wait;
	out->code = 451;
	out->enh = "4.7.1";
	snprintf(out->text, sizeof(out->text), "Greylisted: a first attempt from your network for "
	         "this sender and recipient; please retry in %lld seconds", wait);
}

static void fail(struct greylist_result *out, const char *reason)
{
	out->verdict = GREYLIST_ERROR;
	out->reason = reason;
}

/* Judges and records every triplet of t. */
static void judge_all(struct store *st, const struct greylist_policy *p, long long now,
                      bool network_allowed, struct triplets *t, struct greylist_result *out)
{
	long long wait_max = 0;
	bool any_new = false;
	for (size_t i = 0; i < t->n; i++) {
		struct store_greylist_entry *e = &t->entries[i];
		int rc = store_greylist_get(st, &t->keys[i], e);
		if (rc == STORE_ERROR)
			return fail(out, "store error");
		if (rc != STORE_OK)
			any_new = true;
		long long wait = 0;
		if (judge(p, rc == STORE_OK, e, now, &wait) == T_PASSED)
			continue;
		if (network_allowed)
			e->passed = now;        /* remembered as passed: keeps the network's count */
		else if (wait > wait_max)
			wait_max = wait;
	}
	if (store_greylist_put(st, t->keys, t->entries, t->n, p->max_entries) != STORE_OK)
		return fail(out, "store error");
	if (network_allowed) {
		out->verdict = GREYLIST_PASS;
		out->reason = "network allowed after passes";
	} else if (wait_max > 0) {
		out->reason = any_new ? "new triplet" : "retry too early";
		defer(out, wait_max);
	} else {
		out->verdict = GREYLIST_PASS;
		out->reason = "passed";
	}
}

void greylist_check(struct store *st, const struct greylist_policy *p,
                    const struct greylist_request *rq, struct greylist_result *out)
{
	memset(out, 0, sizeof(*out));
	if (skipped(p, rq, out))
		return;
	if (greylist_network(rq->client_ip, out->net, sizeof(out->net)) < 0)
		return skip(out, "no client address");
	struct triplets *t = xcalloc(1, sizeof(*t));
	int passes = 0;
	if (greylist_sender_key(rq->sender, t->sender, sizeof(t->sender)) < 0)
		skip(out, "sender too long");
	else if (collect(st, rq, out->net, t) < 0)
		fail(out, "store error");
	else if (t->n == 0)
		skip(out, "recipients opted out");
	else if (p->auto_allow > 0 &&
	         store_greylist_net_passes(st, out->net, (long long)rq->now - p->remember_s,
	                                   p->auto_allow, &passes) != STORE_OK)
		fail(out, "store error");
	else
		judge_all(st, p, (long long)rq->now, p->auto_allow > 0 && passes >= p->auto_allow, t,
		          out);
	free(t);
}

int greylist_sweep(struct store *st, const struct greylist_policy *p, time_t now, int batch)
{
	int rc = store_greylist_expire(st, (long long)now - p->expire_s,
	                               (long long)now - p->remember_s, batch);
	return rc < 0 ? -1 : rc;
}
