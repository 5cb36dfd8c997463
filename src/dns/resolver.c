/* libunbound behind a libevent loop; see resolver.h.
 *
 * A postern query (struct rquery) is one or two libunbound queries (struct
 * rsub): MX alone, or A and AAAA side by side. Each libunbound query gets the
 * rsub as its callback argument; when the last one is in, the rquery is
 * finished: unlinked, its callback run, freed.
 *
 * Two libunbound facts shape the code:
 *  - ub_process() keeps reading the context's pipe after each callback, so
 *    the context must outlive every callback it runs: resolver_free() from
 *    inside one only marks the resolver, and on_ub_readable() deletes it once
 *    ub_process() has returned.
 *  - in threaded mode ub_cancel() only flags the query; its answer still comes
 *    through the pipe and is dropped inside ub_process() without a callback,
 *    so freeing our side right after ub_cancel() is safe. */
#include "dns/resolver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include <event2/event.h>
#include <unbound.h>

#include "core/log.h"
#include "core/util.h"
#include "dns/ubctx.h"

/* RFC 1035 3.2.2 / RFC 3596 */
#define RR_TYPE_A 1
#define RR_TYPE_MX 15
#define RR_TYPE_AAAA 28
#define RR_CLASS_IN 1
#define RCODE_NOERROR 0
#define RCODE_NXDOMAIN 3

enum rquery_kind { RQ_MX, RQ_ADDRS, RQ_RAW };

/* A name of 253 octets, each escaped as \DDD, and a dot. */
#define QNAME_MAX (4 * MX_NAME_MAX + 2)

struct rquery;

/* One libunbound query. */
struct rsub {
	struct rquery *q;
	int ub_id;
	int rrtype;
	bool pending;
	enum dns_status st;
	bool secure;
	/* RQ_ADDRS: this family's addresses before they are interleaved */
	struct sockaddr_storage addr[RESOLVER_MAX_ADDRS];
	size_t naddr;
};

struct rquery {
	TAILQ_ENTRY(rquery) entry;
	struct resolver *r;
	int id;
	enum rquery_kind kind;
	resolver_mx_cb mx_cb;
	resolver_addr_cb addr_cb;
	resolver_rr_cb rr_cb;
	void *arg;
	struct ub_result *raw;      /* RQ_RAW: the answer, while the callback runs */
	char qname[QNAME_MAX + 1];  /* RQ_RAW: name in libunbound's escaped form */
	struct event *timer;
	struct rsub sub[2];
	size_t nsub;
	char name[MX_NAME_MAX + 1]; /* lower case, no trailing dot */
	enum dns_status st;         /* RQ_MX: the final status */
	union {
		struct mx_list mx;
		struct dns_addr_list addrs;
	} res;
};

TAILQ_HEAD(rquery_list, rquery);

struct resolver {
	struct event_base *base;
	struct ub_ctx *ctx;
	struct event *ev; /* persistent read event on ub_fd() */
	struct rquery_list queries;
	int next_id;
	bool started;      /* a query was sent: libunbound's config is frozen */
	bool broken;       /* the pipe to libunbound's thread failed */
	bool in_process;   /* inside ub_process(): the context must stay */
	bool free_pending; /* resolver_free() was called inside ub_process() */
};

const char *dns_status_str(enum dns_status st)
{
	switch (st) {
	case DNS_OK: return "ok";
	case DNS_NXDOMAIN: return "nxdomain";
	case DNS_NULL_MX: return "null_mx";
	case DNS_NO_ADDRESS: return "no_address";
	case DNS_TEMPFAIL: return "tempfail";
	case DNS_BOGUS: return "bogus";
	}
	return "unknown";
}

bool dns_status_permanent(enum dns_status st)
{
	return st == DNS_NXDOMAIN || st == DNS_NULL_MX || st == DNS_NO_ADDRESS;
}

static const char *rrtype_name(int rrtype)
{
	switch (rrtype) {
	case RR_TYPE_A: return "A";
	case RR_TYPE_AAAA: return "AAAA";
	case RR_TYPE_MX: return "MX";
	}
	return "?";
}

static void set_err(char *err, size_t errlen, const char *what, int ub_err)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s: %s", what, ub_strerror(ub_err));
}

/* ---- libunbound's own log lines ----
 *
 * libunbound prints errors ("[1700000000] libunbound[123:0] error: ...") to
 * stderr, which would break our one-JSON-object-per-line log. Its log
 * destination is process-global (ub_ctx_debugout() sets it for every
 * context, ub_ctx_delete() resets it), so one FILE that never closes turns
 * each line into a log event, and every resolver_new() points libunbound at
 * it again. Writes come from libunbound's threads too: glibc holds the
 * FILE's lock around the cookie call, which guards the line buffer. */

struct ub_log_sink {
	char line[1024];
	size_t len;
};

static void ub_log_emit(struct ub_log_sink *s)
{
	s->line[s->len] = '\0';
	s->len = 0;
	/* strip "[time] libunbound[pid:thread] " and split off the level */
	char *msg = s->line;
	char *p = strstr(msg, "] ");
	if (msg[0] == '[' && p != NULL && (p = strstr(p + 2, "] ")) != NULL)
		msg = p + 2;
	const char *level = "";
	if ((p = strstr(msg, ": ")) != NULL && p - msg < 16) {
		*p = '\0';
		level = msg;
		msg = p + 2;
	}
	enum log_level lv = (strcmp(level, "error") == 0 || strcmp(level, "warning") == 0)
	                            ? LOG_WARN
	                            : LOG_DEBUG;
	if (*msg != '\0')
		log_event(lv, "dns.unbound", "s", "unbound_level", level, "s", "msg", msg, NULL);
}

static ssize_t ub_log_write(void *cookie, const char *buf, size_t size)
{
	struct ub_log_sink *s = cookie;
	for (size_t i = 0; i < size; i++) {
		if (buf[i] == '\n' || buf[i] == '\r') {
			if (s->len > 0)
				ub_log_emit(s);
		} else if (s->len < sizeof(s->line) - 1) {
			s->line[s->len++] = buf[i];
		} /* else: cut an overlong line, keep reading to its end */
	}
	return (ssize_t)size;
}

static FILE *ub_log_file;

static void ub_log_init(void)
{
	static struct ub_log_sink sink;
	cookie_io_functions_t io = { .write = ub_log_write };
	ub_log_file = fopencookie(&sink, "w", io);
	if (ub_log_file != NULL)
		setvbuf(ub_log_file, NULL, _IOLBF, 0);
}

static void ub_log_attach(struct ub_ctx *ctx)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, ub_log_init);
	if (ub_log_file != NULL)
		ub_ctx_debugout(ctx, ub_log_file);
}

/* ---- libunbound's pipe ---- */

static void resolver_destroy(struct resolver *r)
{
	if (r->ev != NULL)
		event_free(r->ev);
	/* joins libunbound's thread; answers still in flight are discarded */
	ub_ctx_delete(r->ctx);
	free(r);
}

static void on_ub_readable(evutil_socket_t fd, short what, void *arg)
{
	struct resolver *r = arg;
	(void)fd;
	(void)what;

	r->in_process = true;
	int rc = ub_process(r->ctx);
	r->in_process = false;
	if (r->free_pending) {
		resolver_destroy(r);
		return;
	}
	if (rc != 0) {
		/* The thread is gone or the pipe is broken: stop watching a pipe
		 * that would stay readable forever. Pending queries end with
		 * DNS_TEMPFAIL at their deadline; new ones are refused. */
		log_event(LOG_ERROR, "dns.resolver_broken", "s", "error", ub_strerror(rc), NULL);
		event_del(r->ev);
		r->broken = true;
	}
}

/* ---- creation ---- */

struct resolver *resolver_new(struct event_base *base, const char *const *servers,
                              size_t nservers, char *err, size_t errlen)
{
	struct ub_ctx *ctx = dns_ub_ctx_new(servers, nservers, err, errlen);
	if (ctx == NULL)
		return NULL;
	ub_log_attach(ctx);
	int rc;
	if ((rc = ub_ctx_async(ctx, 1)) != 0) {
		set_err(err, errlen, "ub_ctx_async", rc);
		goto fail;
	}
	int fd = ub_fd(ctx);
	if (fd < 0) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "ub_fd failed");
		goto fail;
	}

	struct resolver *r = xcalloc(1, sizeof(*r));
	r->base = base;
	r->ctx = ctx;
	r->next_id = 1;
	TAILQ_INIT(&r->queries);
	r->ev = event_new(base, fd, EV_READ | EV_PERSIST, on_ub_readable, r);
	if (r->ev == NULL || event_add(r->ev, NULL) != 0) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "cannot watch the libunbound pipe");
		resolver_destroy(r);
		return NULL;
	}
	return r;

fail:
	ub_ctx_delete(ctx);
	return NULL;
}

int resolver_add_ta(struct resolver *r, const char *ta, char *err, size_t errlen)
{
	int rc = r->started ? UB_AFTERFINAL : ub_ctx_add_ta(r->ctx, ta);
	if (rc != 0) {
		set_err(err, errlen, "trust anchor", rc);
		return -1;
	}
	return 0;
}

int resolver_add_ta_file(struct resolver *r, const char *path, char *err, size_t errlen)
{
	/* libunbound reads the file only at the first query, and then fails
	 * every query: say so now */
	if (access(path, R_OK) != 0) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	int rc = r->started ? UB_AFTERFINAL : ub_ctx_add_ta_file(r->ctx, path);
	if (rc != 0) {
		set_err(err, errlen, path, rc);
		return -1;
	}
	return 0;
}

int resolver_allow_zone(struct resolver *r, const char *zone, char *err, size_t errlen)
{
	if (r->started) {
		set_err(err, errlen, "allow zone", UB_AFTERFINAL);
		return -1;
	}
	return dns_ub_allow_zone(r->ctx, zone, err, errlen);
}

/* ---- query lifetime ---- */

/* Stops q's libunbound queries and timer and unlinks it; does not free it. */
static void query_detach(struct rquery *q)
{
	for (size_t i = 0; i < q->nsub; i++) {
		if (q->sub[i].pending) {
			/* Threaded mode: only UB_NOID can fail, and then no
			 * callback is coming for this id either. */
			(void)ub_cancel(q->r->ctx, q->sub[i].ub_id);
			q->sub[i].pending = false;
		}
	}
	if (q->timer != NULL) {
		event_free(q->timer);
		q->timer = NULL;
	}
	TAILQ_REMOVE(&q->r->queries, q, entry);
}

static void addrs_combine(struct rquery *q);

/* Hands an RQ_RAW answer's rdata to the callback. */
static void raw_finish(struct rquery *q)
{
	struct ub_result *res = q->raw;
	size_t n = 0;
	if (q->st == DNS_OK && res != NULL && res->havedata) {
		while (res->data[n] != NULL)
			n++;
	}
	const unsigned char **data = xcalloc(n + 1, sizeof(*data));
	size_t *len = xcalloc(n + 1, sizeof(*len));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (res->len[i] < 0)
			continue;
		data[k] = (const unsigned char *)res->data[i];
		len[k++] = (size_t)res->len[i];
	}
	struct dns_rrset set = { .data = data, .len = len, .n = k,
		                 .secure = res != NULL && res->secure };
	q->rr_cb(q->arg, q->st, &set);
	free(data);
	free(len);
}

/* Runs q's callback and frees q. The resolver may be freed by the callback,
 * so nothing here touches q->r after it. */
static void query_finish(struct rquery *q)
{
	query_detach(q);
	if (q->kind == RQ_RAW) {
		raw_finish(q);
	} else if (q->kind == RQ_MX) {
		if (q->st != DNS_OK)
			q->res.mx.n = 0;
		q->mx_cb(q->arg, q->st, &q->res.mx);
	} else {
		addrs_combine(q);
		q->addr_cb(q->arg, q->st, &q->res.addrs);
	}
	free(q);
}

static void on_query_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct rquery *q = arg;
	(void)fd;
	(void)what;
	log_event(LOG_DEBUG, "dns.timeout", "s", "name", q->name, "i", "query", (long long)q->id,
	          NULL);
	for (size_t i = 0; i < q->nsub; i++) {
		if (q->sub[i].pending)
			q->sub[i].st = DNS_TEMPFAIL;
	}
	q->st = DNS_TEMPFAIL;
	query_finish(q);
}

static struct rquery *query_new(struct resolver *r, enum rquery_kind kind, const char *name)
{
	if (r->broken || name == NULL || !mx_name_valid(name))
		return NULL;
	struct rquery *q = xcalloc(1, sizeof(*q));
	q->r = r;
	q->kind = kind;
	size_t len = strlen(name);
	if (name[len - 1] == '.')
		len--;
	memcpy(q->name, name, len); /* mx_name_valid: len <= 253 */
	q->name[len] = '\0';
	ascii_lower(q->name);
	q->timer = evtimer_new(r->base, on_query_timeout, q);
	if (q->timer == NULL) {
		free(q);
		return NULL;
	}
	q->id = r->next_id;
	r->next_id = r->next_id == INT_MAX ? 1 : r->next_id + 1;
	return q;
}

static void on_ub_result(void *mydata, int err, struct ub_result *res);

/* Links q and starts its libunbound queries and timer. Returns q->id or -1
 * (q is then freed). */
static int query_start(struct rquery *q)
{
	struct resolver *r = q->r;
	TAILQ_INSERT_TAIL(&r->queries, q, entry);
	r->started = true;
	for (size_t i = 0; i < q->nsub; i++) {
		struct rsub *s = &q->sub[i];
		s->q = q;
		const char *name = q->kind == RQ_RAW ? q->qname : q->name;
		int rc = ub_resolve_async(r->ctx, name, s->rrtype, RR_CLASS_IN, s, on_ub_result,
		                          &s->ub_id);
		if (rc != 0) {
			log_event(LOG_ERROR, "dns.query_failed", "s", "name", q->name, "s", "type",
			          rrtype_name(s->rrtype), "s", "error", ub_strerror(rc), NULL);
			query_detach(q);
			free(q);
			return -1;
		}
		s->pending = true;
	}
	struct timeval tv = { .tv_sec = RESOLVER_TIMEOUT_MS / 1000,
		              .tv_usec = (RESOLVER_TIMEOUT_MS % 1000) * 1000 };
	evtimer_add(q->timer, &tv);
	return q->id;
}

/* ---- answers ---- */

/* The status of one libunbound answer, before looking at its data. */
static enum dns_status answer_status(const struct rquery *q, const struct rsub *s, int err,
                                     const struct ub_result *res)
{
	if (err != 0 || res == NULL) {
		log_event(LOG_DEBUG, "dns.tempfail", "s", "name", q->name, "s", "type",
		          rrtype_name(s->rrtype), "s", "error", ub_strerror(err), NULL);
		return DNS_TEMPFAIL;
	}
	if (res->bogus) {
		/* a DNSSEC failure is a security event: say why, once, here */
		log_event(LOG_WARN, "dns.bogus", "s", "name", q->name, "s", "type",
		          rrtype_name(s->rrtype), "s", "why", res->why_bogus, NULL);
		return DNS_BOGUS;
	}
	if (res->rcode == RCODE_NXDOMAIN || res->nxdomain)
		return DNS_NXDOMAIN;
	if (res->rcode != RCODE_NOERROR) {
		log_event(LOG_DEBUG, "dns.tempfail", "s", "name", q->name, "s", "type",
		          rrtype_name(s->rrtype), "i", "rcode", (long long)res->rcode, NULL);
		return DNS_TEMPFAIL;
	}
	return DNS_OK;
}

static void mx_answer(struct rquery *q, struct rsub *s, int err, const struct ub_result *res)
{
	struct mx_list *l = &q->res.mx;
	q->st = answer_status(q, s, err, res);
	l->secure = res != NULL && res->secure;
	if (q->st != DNS_OK)
		return;

	if (!res->havedata) {
		/* RFC 5321 5.1: no MX records, the domain itself is the implicit MX */
		snprintf(l->host[0].name, sizeof(l->host[0].name), "%s", q->name);
		l->host[0].pref = 0;
		l->n = 1;
		return;
	}
	size_t bad = 0;
	for (size_t i = 0; res->data[i] != NULL; i++) {
		struct mx_host h;
		if (res->len[i] < 0 ||
		    mx_parse_rdata((const unsigned char *)res->data[i], (size_t)res->len[i], &h) != 0) {
			bad++;
			continue;
		}
		(void)mx_list_add(l, &h); /* beyond MX_MAX_HOSTS the least preferred go */
	}
	if (bad > 0)
		log_event(LOG_WARN, "dns.mx_malformed", "s", "name", q->name, "i", "records",
		          (long long)bad, NULL);
	if (mx_list_is_null(l)) {
		/* RFC 7505 */
		q->st = DNS_NULL_MX;
		return;
	}
	mx_list_remove_null(l);
	if (l->n == 0) {
		/* records, none usable: the zone is broken, perhaps only for now */
		q->st = DNS_TEMPFAIL;
		return;
	}
	mx_sort(l, NULL, NULL);
}

static void addr_answer(struct rquery *q, struct rsub *s, int err, const struct ub_result *res)
{
	s->st = answer_status(q, s, err, res);
	s->secure = res != NULL && res->secure;
	if (s->st != DNS_OK || !res->havedata)
		return;
	for (size_t i = 0; res->data[i] != NULL && s->naddr < RESOLVER_MAX_ADDRS; i++) {
		struct sockaddr_storage *ss = &s->addr[s->naddr];
		memset(ss, 0, sizeof(*ss));
		if (s->rrtype == RR_TYPE_A && res->len[i] == 4) {
			struct sockaddr_in *sin = (struct sockaddr_in *)ss;
			sin->sin_family = AF_INET;
			memcpy(&sin->sin_addr, res->data[i], 4);
		} else if (s->rrtype == RR_TYPE_AAAA && res->len[i] == 16) {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
			sin6->sin6_family = AF_INET6;
			memcpy(&sin6->sin6_addr, res->data[i], 16);
		} else {
			continue; /* wrong length: malformed, skip */
		}
		s->naddr++;
	}
}

/* Both answers are in (or the deadline passed): build the list and status. */
static void addrs_combine(struct rquery *q)
{
	struct rsub *v6 = &q->sub[0], *v4 = &q->sub[1];
	struct dns_addr_list *l = &q->res.addrs;

	l->n = 0;
	for (size_t i = 0; l->n < RESOLVER_MAX_ADDRS && (i < v6->naddr || i < v4->naddr); i++) {
		if (i < v6->naddr)
			l->addr[l->n++] = v6->addr[i];
		if (i < v4->naddr && l->n < RESOLVER_MAX_ADDRS)
			l->addr[l->n++] = v4->addr[i];
	}
	l->secure = v6->secure && v4->secure;

	if (l->n > 0)
		q->st = DNS_OK; /* one family failing does not stop delivery */
	else if (v6->st == DNS_NXDOMAIN && v4->st == DNS_NXDOMAIN)
		q->st = DNS_NXDOMAIN;
	else if (v6->st == DNS_BOGUS || v4->st == DNS_BOGUS)
		q->st = DNS_BOGUS;
	else if (v6->st == DNS_TEMPFAIL || v4->st == DNS_TEMPFAIL)
		q->st = DNS_TEMPFAIL;
	else
		q->st = DNS_NO_ADDRESS;
}

static void on_ub_result(void *mydata, int err, struct ub_result *res)
{
	struct rsub *s = mydata;
	struct rquery *q = s->q;

	s->pending = false;
	if (q->kind == RQ_RAW) {
		q->st = answer_status(q, s, err, res);
		q->raw = res;
		query_finish(q); /* frees q */
		ub_resolve_free(res);
		return;
	}
	if (q->kind == RQ_MX)
		mx_answer(q, s, err, res);
	else
		addr_answer(q, s, err, res);
	ub_resolve_free(res);

	for (size_t i = 0; i < q->nsub; i++) {
		if (q->sub[i].pending)
			return;
	}
	query_finish(q);
}

/* ---- public queries ---- */

int resolver_mx(struct resolver *r, const char *domain, resolver_mx_cb cb, void *arg)
{
	struct rquery *q = query_new(r, RQ_MX, domain);
	if (q == NULL)
		return -1;
	q->mx_cb = cb;
	q->arg = arg;
	q->nsub = 1;
	q->sub[0].rrtype = RR_TYPE_MX;
	q->st = DNS_TEMPFAIL;
	return query_start(q);
}

int resolver_addrs(struct resolver *r, const char *host, resolver_addr_cb cb, void *arg)
{
	struct rquery *q = query_new(r, RQ_ADDRS, host);
	if (q == NULL)
		return -1;
	q->addr_cb = cb;
	q->arg = arg;
	q->nsub = 2;
	q->sub[0].rrtype = RR_TYPE_AAAA;
	q->sub[1].rrtype = RR_TYPE_A;
	q->sub[0].st = q->sub[1].st = DNS_TEMPFAIL;
	return query_start(q);
}

/* Writes name in libunbound's presentation form: octets other than letters,
 * digits, '-' and '_' escaped as \DDD. False when a label is empty or over
 * 63 octets, the name over 253, or an octet not printable ASCII. */
static bool escape_qname(const char *name, char *out, size_t outlen)
{
	size_t n = strlen(name), o = 0, label = 0;
	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n == 0 || n > MX_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			out[o++] = '.';
			continue;
		}
		if (c < 0x20 || c > 0x7e || ++label > 63 || o + 5 > outlen)
			return false;
		bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		             (c >= '0' && c <= '9') || c == '-' || c == '_';
		if (plain)
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, outlen - o, "\\%03u", c);
	}
	if (label == 0 || o + 1 >= outlen)
		return false;
	out[o] = '\0';
	return true;
}

int resolver_query(struct resolver *r, const char *name, int rrtype, resolver_rr_cb cb,
                   void *arg)
{
	char qname[QNAME_MAX + 1];
	if (r->broken || name == NULL || !escape_qname(name, qname, sizeof(qname)))
		return -1;
	/* query_new wants a host name for q->name (logs); the escaped form is
	 * one when nothing needed escaping, else a placeholder is logged */
	struct rquery *q = query_new(r, RQ_RAW, mx_name_valid(qname) ? qname : "escaped.invalid");
	if (q == NULL)
		return -1;
	memcpy(q->qname, qname, sizeof(qname));
	q->rr_cb = cb;
	q->arg = arg;
	q->nsub = 1;
	q->sub[0].rrtype = rrtype;
	q->st = DNS_TEMPFAIL;
	return query_start(q);
}

int resolver_cancel(struct resolver *r, int id)
{
	struct rquery *q;
	TAILQ_FOREACH(q, &r->queries, entry) {
		if (q->id == id) {
			query_detach(q);
			free(q);
			return 0;
		}
	}
	return -1;
}

void resolver_free(struct resolver *r)
{
	if (r == NULL || r->free_pending)
		return;
	struct rquery *q;
	while ((q = TAILQ_FIRST(&r->queries)) != NULL) {
		query_detach(q);
		free(q);
	}
	if (r->in_process) {
		/* called from a callback inside ub_process(): see the top of file */
		r->free_pending = true;
		return;
	}
	resolver_destroy(r);
}
