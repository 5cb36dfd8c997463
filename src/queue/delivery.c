/* One delivery: a queued message to the recipients it has in one domain.
 * MX lookup, then each MX host in order, each of its addresses, until one
 * server takes part in a transaction (RFC 5321 5.1). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "queue/runner_int.h"

static void next_mx(struct delivery *d);
static void try_address(struct delivery *d);

static void note_error(struct delivery *d, const char *status, const char *mta, const char *text)
{
	snprintf(d->last_status, sizeof(d->last_status), "%s", status);
	snprintf(d->last_mta, sizeof(d->last_mta), "%s", mta ? mta : "");
	snprintf(d->last_error, sizeof(d->last_error), "%s", text);
}

/* Every recipient gets the same outcome (DNS failure, no server reachable). */
static void fail_all(struct delivery *d, bool permanent)
{
	for (size_t i = 0; i < d->nrcpt; i++)
		runner_rcpt_failed(d->q, d, i, permanent, d->last_status, d->last_mta, d->last_error);
}

static void finish(struct delivery *d, bool circuit_failure)
{
	runner_delivery_done(d->q, d, circuit_failure);
}

/* ---- applying an SMTP transaction's result ------------------------------ */

static void reply_diagnostic(const struct client_reply *r, char *out, size_t len)
{
	snprintf(out, len, "smtp; %d %s%s%s", r->code, r->enh, r->enh[0] ? " " : "", r->text);
}

static void reply_status(const struct client_reply *r, char *out, size_t len)
{
	if (r->enh[0] != '\0')
		snprintf(out, len, "%s", r->enh);
	else
		snprintf(out, len, "%d.0.0", r->code / 100);
}

static void apply_reply(struct delivery *d, size_t i, const struct client_reply *r)
{
	char diag[400], status[16];
	reply_diagnostic(r, diag, sizeof(diag));
	reply_status(r, status, sizeof(status));
	runner_rcpt_failed(d->q, d, i, r->code / 100 == 5, status, d->current_mx, diag);
}

static void apply_result(struct delivery *d, const struct smtp_client_result *res)
{
	for (size_t i = 0; i < d->nrcpt; i++) {
		const struct client_reply *rr = &res->rcpt[i];
		if (rr->code / 100 == 2 && res->data_ok)
			/* marked done right after the 250, before anything else */
			runner_rcpt_delivered(d->q, d, i, d->current_mx);
		else if (rr->code / 100 == 2 || rr->code == 0)
			apply_reply(d, i, &res->session);   /* MAIL or DATA decided */
		else
			apply_reply(d, i, rr);               /* this RCPT was refused */
	}
}

static void log_attempt(struct delivery *d, const struct smtp_client_result *res, const char *ip)
{
	const char *outcome[] = { "done", "connect failed", "protocol failed", "tls failed",
	                          "tls unavailable" };
	log_event(LOG_INFO, "queue.attempt", "s", "id", d->msg_id, "s", "domain", d->domain,
	          "s", "mx", d->current_mx, "s", "ip", ip,
	          "s", "tls", res->tls ? res->tls_desc : "none",
	          "s", "policy", config_tls_policy_name(config_tls_policy(d->q->cfg, d->domain)),
	          "s", "outcome", outcome[res->outcome],
	          "s", "error", res->error[0] ? res->error : NULL, NULL);
}

/* ---- trying addresses --------------------------------------------------- */

static void address_text(const struct sockaddr_storage *ss, char *out, size_t len)
{
	if (ss->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, out, (socklen_t)len);
	else
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, out, (socklen_t)len);
}

static void on_client_done(void *arg, const struct smtp_client_result *res)
{
	struct delivery *d = arg;
	enum out_tls_policy policy = config_tls_policy(d->q->cfg, d->domain);
	char ip[64];
	d->client = NULL;
	address_text(&d->addrs.addr[d->addr_next], ip, sizeof(ip));
	log_attempt(d, res, ip);
	switch (res->outcome) {
	case CLIENT_DONE:
		apply_result(d, res);
		finish(d, false);
		return;
	case CLIENT_TLS_FAILED:
		d->connected_once = true;
		if (policy != OUT_TLS_REQUIRED && !d->plain_fallback) {
			/* opportunistic: the same server again, in plain text */
			d->plain_fallback = true;
			try_address(d);
			return;
		}
		note_error(d, "4.7.5", d->current_mx, res->error);
		break;
	case CLIENT_TLS_UNAVAILABLE:
		d->connected_once = true;
		note_error(d, "4.7.4", d->current_mx, res->error);
		break;
	case CLIENT_PROTOCOL_FAILED:
		d->connected_once = true;
		/* fall through */
	case CLIENT_CONNECT_FAILED:
		if (res->session.code != 0) {
			char diag[400], status[16];
			reply_diagnostic(&res->session, diag, sizeof(diag));
			reply_status(&res->session, status, sizeof(status));
			note_error(d, status[0] == '5' ? "4.4.1" : status, d->current_mx, diag);
		} else {
			note_error(d, "4.4.1", d->current_mx, res->error);
		}
		break;
	}
	d->plain_fallback = false;
	d->addr_next++;
	try_address(d);
}

static void set_port(struct sockaddr_storage *ss, int port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
}

static void try_address(struct delivery *d)
{
	const struct config *cfg = d->q->cfg;
	if (d->addr_next >= d->addrs.n) {
		next_mx(d);
		return;
	}
	struct smtp_client_params p = {
		.base = d->q->base, .ssl_ctx = d->q->ssl_ctx, .mx_name = d->current_mx,
		.helo = cfg->queue.helo ? cfg->queue.helo : cfg->hostname,
		.policy = config_tls_policy(cfg, d->domain), .try_tls = !d->plain_fallback,
		.sender = d->sender, .nrcpts = d->nrcpt, .path = d->path, .size = d->size,
		.smtputf8 = d->smtputf8, .timeout_ms = cfg->queue.timeout_ms,
	};
	for (size_t i = 0; i < d->nrcpt; i++)
		d->rcpt_addrs[i] = d->rcpt[i].addr;
	p.rcpts = d->rcpt_addrs;
	p.addr = d->addrs.addr[d->addr_next];
	p.addrlen = p.addr.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	set_port(&p.addr, cfg->queue.port);
	p.source_ip = p.addr.ss_family == AF_INET ? cfg->queue.source_ipv4 : cfg->queue.source_ipv6;
	d->client = smtp_client_start(&p, on_client_done, d);
	if (d->client == NULL) {
		note_error(d, "4.3.0", "", "cannot start an SMTP client");
		d->addr_next++;
		try_address(d);
	}
}

/* ---- DNS ------------------------------------------------------------------ */

/* An MX pointing at ourselves or nowhere would loop or go nowhere
 * (RFC 5321 5.1: such addresses are not usable destinations). */
static bool address_usable(const struct sockaddr_storage *ss, bool allow_loopback)
{
	if (ss->ss_family == AF_INET) {
		uint32_t a = ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr);
		if ((a >> 24) == 0 || (a >> 28) >= 0xe)         /* 0/8, multicast, reserved */
			return false;
		return allow_loopback || (a >> 24) != 127;
	}
	const struct in6_addr *a6 = &((const struct sockaddr_in6 *)ss)->sin6_addr;
	if (IN6_IS_ADDR_UNSPECIFIED(a6) || IN6_IS_ADDR_MULTICAST(a6) || IN6_IS_ADDR_V4MAPPED(a6))
		return false;
	return allow_loopback || !IN6_IS_ADDR_LOOPBACK(a6);
}

static void filter_addresses(struct dns_addr_list *l, bool allow_loopback)
{
	size_t kept = 0;
	for (size_t i = 0; i < l->n; i++)
		if (address_usable(&l->addr[i], allow_loopback))
			l->addr[kept++] = l->addr[i];
	l->n = kept;
}

static void on_addrs(void *arg, enum dns_status st, const struct dns_addr_list *addrs)
{
	struct delivery *d = arg;
	d->dns_query = 0;
	if (st == DNS_OK) {
		d->addrs = *addrs;
		filter_addresses(&d->addrs, d->q->cfg->queue.allow_loopback);
		if (d->addrs.n == 0) {
			char msg[400];
			snprintf(msg, sizeof(msg), "%s: no usable address (loopback or reserved)", d->current_mx);
			note_error(d, "4.4.4", "", msg);
			next_mx(d);
			return;
		}
		d->addr_next = 0;
		d->plain_fallback = false;
		try_address(d);
		return;
	}
	char msg[400];
	snprintf(msg, sizeof(msg), "%s: address lookup: %s", d->current_mx, dns_status_str(st));
	note_error(d, "4.4.3", "", msg);
	next_mx(d);
}

static void next_mx(struct delivery *d)
{
	if (d->mx_next >= d->mx.n) {
		/* every server failed: retry later (a 5xx here was only one server's view) */
		fail_all(d, false);
		finish(d, !d->connected_once);
		return;
	}
	d->current_mx = d->mx.host[d->mx_next++].name;
	d->dns_query = resolver_addrs(d->q->resolver, d->current_mx, on_addrs, d);
	if (d->dns_query < 0) {
		d->dns_query = 0;
		note_error(d, "4.4.3", "", "DNS query failed to start");
		next_mx(d);
	}
}

static void on_mx(void *arg, enum dns_status st, const struct mx_list *mx)
{
	struct delivery *d = arg;
	char msg[400];
	d->dns_query = 0;
	switch (st) {
	case DNS_OK:
		d->mx = *mx;
		d->mx_next = 0;
		next_mx(d);
		return;
	case DNS_NULL_MX:
		/* RFC 7505 3: the domain declares that it accepts no mail */
		snprintf(msg, sizeof(msg), "domain %s does not accept mail (null MX)", d->domain);
		note_error(d, "5.1.10", "", msg);
		fail_all(d, true);
		break;
	case DNS_NXDOMAIN:
		snprintf(msg, sizeof(msg), "domain %s does not exist", d->domain);
		note_error(d, "5.1.2", "", msg);
		fail_all(d, true);
		break;
	default:
		snprintf(msg, sizeof(msg), "MX lookup for %s: %s", d->domain, dns_status_str(st));
		note_error(d, "4.4.3", "", msg);
		fail_all(d, false);
		break;
	}
	finish(d, false);
}

void delivery_start(struct delivery *d)
{
	d->dns_query = resolver_mx(d->q->resolver, d->domain, on_mx, d);
	if (d->dns_query < 0) {
		d->dns_query = 0;
		note_error(d, "4.4.3", "", "DNS query failed to start");
		fail_all(d, false);
		finish(d, false);
	}
}

void delivery_abort(struct delivery *d)
{
	if (d->dns_query > 0)
		resolver_cancel(d->q->resolver, d->dns_query);
	d->dns_query = 0;
	if (d->client != NULL)
		smtp_client_abort(d->client);
	d->client = NULL;
}
