#include "net/server.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>

#include "core/cidr.h"
#include "core/config.h"
#include "core/ipaddr.h"
#include "core/log.h"
#include "core/util.h"
#include "net/ban.h"
#include "net/connlimit.h"
#include "net/listener.h"
#include "net/proxy_accept.h"
#include "net/sendlimit.h"
#include "net/session.h"
#include "tls/tls.h"

#define MAX_BINDINGS 64

struct binding {
	const struct service *svc;
	int *fds;               /* one per worker */
};

TAILQ_HEAD(conn_list, conn);

struct accept_ctx {
	struct worker *w;
	const struct service *svc;
};

/* Refusals of one kind are logged once per interval, with a count: a flood
 * must not turn into a flood of log lines. */
#define REFUSAL_LOG_INTERVAL_MS 10000
enum refusal_kind { REFUSED_TOTAL, REFUSED_PER_IP, REFUSED_SERVICE, REFUSED_SERVICE_PER_IP,
                    REFUSED_DRAINING, REFUSED_NO_FDS, REFUSED_PEER, REFUSED_UNTRUSTED_PROXY,
                    REFUSED_BANNED, REFUSED_KINDS };
struct refusal_log {
	uint64_t window_start;
	long suppressed;
	char last_ip[48];
	const char *service;
};

struct worker {
	struct server *srv;
	int id;
	pthread_t thread;
	struct event_base *base;
	struct store *store;
	struct evconnlistener *listeners[MAX_BINDINGS];
	struct accept_ctx *accept_ctx[MAX_BINDINGS];
	size_t nlisteners;
	struct conn_list conns;
	int nconns;
	struct event *drain_ev;
	struct event *deadline_ev;
	bool draining;
	/* out of descriptors: listeners paused, retried with backoff */
	struct event *accept_retry_ev;
	uint64_t accept_backoff_ms;
	int spare_fd;                   /* given up to accept-and-refuse when out of fds */
	struct refusal_log refusals[SVC_COUNT][REFUSED_KINDS];
	struct event *refusal_flush_ev;
	void *slots[WORKER_SLOTS];
	worker_slot_free_fn slot_free[WORKER_SLOTS];
};

struct server {
	struct config *cfg;
	int nworkers;
	struct worker *workers;
	struct binding bindings[MAX_BINDINGS];
	size_t nbindings;
	struct connlimit *limits;
	struct sendlimit *sendlimit;    /* send rate limits, for every worker */
	struct ban_table *bans;         /* shared by the workers (net/ban.h) */
	struct store *ban_store;        /* the main thread's: ban_table_sync */
	struct event *ban_sync_ev;
	bool ban_sync_failing;          /* logged once until it works again */
	struct server_resources res;    /* the daemon's: shared by the workers, never freed here */
	struct event_base *main_base;
	atomic_int workers_left;
	struct background bg[4];
	size_t nbg;
};


void server_add_background(struct server *srv, const struct background *bg)
{
	if (srv->nbg < ARRAY_LEN(srv->bg))
		srv->bg[srv->nbg++] = *bg;
}

/* ---- accessors ----------------------------------------------------------- */

struct event_base *worker_base(struct worker *w) { return w->base; }
struct store *worker_store(struct worker *w) { return w->store; }
const struct config *worker_config(struct worker *w) { return w->srv->cfg; }
struct committer *worker_committer(struct worker *w) { return w->srv->res.committer; }
struct threadpool *worker_threadpool(struct worker *w) { return w->srv->res.pool; }
const struct srs *worker_srs(struct worker *w) { return w->srv->res.srs; }
const struct orgdomain *worker_orgdomain(struct worker *w) { return w->srv->res.orgdomain; }
struct sendlimit *worker_sendlimit(struct worker *w) { return w->srv->sendlimit; }
bool worker_draining(struct worker *w) { return w->draining; }
struct ban_table *worker_bans(struct worker *w) { return w->srv->bans; }
void **worker_slot(struct worker *w, enum worker_slot slot) { return &w->slots[slot]; }

void worker_slot_on_stop(struct worker *w, enum worker_slot slot, worker_slot_free_fn fn)
{
	w->slot_free[slot] = fn;
}

/* ---- connections --------------------------------------------------------- */

static void worker_maybe_exit(struct worker *w)
{
	if (w->draining && w->nconns == 0)
		event_base_loopexit(w->base, NULL);
}

const char *service_name(const struct service *svc)
{
	return config_service_names[svc->id];
}

void conn_register(struct worker *w, struct conn *c, enum service_id svc, const char *ip, int port)
{
	c->worker = w;
	c->svc = svc;
	snprintf(c->ip, sizeof(c->ip), "%s", ip);
	c->port = port;
	c->counted = true;
	TAILQ_INSERT_TAIL(&w->conns, c, entry);
	w->nconns++;
}

void conn_register_uncounted(struct worker *w, struct conn *c, enum service_id svc,
                             const char *ip, int port)
{
	conn_register(w, c, svc, ip, port);
	c->counted = false;
}

void conn_unregister(struct conn *c)
{
	struct worker *w = c->worker;
	TAILQ_REMOVE(&w->conns, c, entry);
	w->nconns--;
	if (c->counted)
		connlimit_release(w->srv->limits, c->svc, c->ip);
	worker_maybe_exit(w);
}

/* ---- refusals ------------------------------------------------------------ */

static const char *const refusal_reasons[REFUSED_KINDS] = {
	[REFUSED_TOTAL] = "connection limit",
	[REFUSED_PER_IP] = "connection limit",
	[REFUSED_SERVICE] = "service connection limit",
	[REFUSED_SERVICE_PER_IP] = "service connection limit per address",
	[REFUSED_DRAINING] = "shutting down",
	[REFUSED_NO_FDS] = "out of file descriptors",
	[REFUSED_PEER] = "address not allowed",
	[REFUSED_UNTRUSTED_PROXY] = "PROXY protocol from an untrusted address",
	[REFUSED_BANNED] = "banned",
};

static void log_refusal(const struct refusal_log *r, enum refusal_kind kind, long count)
{
	/* a client a service does not admit at all is a security event: the audit log too */
	if (kind == REFUSED_PEER || kind == REFUSED_UNTRUSTED_PROXY)
		log_security(LOG_WARN, "net.refused", "s", "service", r->service, "s", "ip", r->last_ip,
		             "s", "reason", refusal_reasons[kind], "i", "count", (long long)count, NULL);
	else
		log_event(LOG_WARN, "net.refused", "s", "service", r->service, "s", "ip", r->last_ip,
		          "s", "reason", refusal_reasons[kind], "i", "count", (long long)count, NULL);
}

/* Logs what was held back in intervals that have ended. */
static void flush_refusals(struct worker *w, bool all)
{
	uint64_t now = now_ms();
	bool pending = false;
	for (int s = 0; s < SVC_COUNT; s++) {
		for (int k = 0; k < REFUSED_KINDS; k++) {
			struct refusal_log *r = &w->refusals[s][k];
			if (r->suppressed == 0)
				continue;
			if (all || now - r->window_start >= REFUSAL_LOG_INTERVAL_MS) {
				log_refusal(r, (enum refusal_kind)k, r->suppressed);
				r->suppressed = 0;
				r->window_start = now;
			} else {
				pending = true;
			}
		}
	}
	if (pending && !evtimer_pending(w->refusal_flush_ev, NULL)) {
		struct timeval tv = { REFUSAL_LOG_INTERVAL_MS / 1000, 0 };
		evtimer_add(w->refusal_flush_ev, &tv);
	}
}

static void on_refusal_flush(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	flush_refusals(arg, false);
}

static void note_refusal(struct worker *w, const struct service *svc, enum refusal_kind kind,
                         const char *ip)
{
	struct refusal_log *r = &w->refusals[svc->id][kind];
	uint64_t now = now_ms();
	snprintf(r->last_ip, sizeof(r->last_ip), "%s", ip);
	r->service = service_name(svc);
	if (r->window_start == 0 || now - r->window_start >= REFUSAL_LOG_INTERVAL_MS) {
		if (r->suppressed > 0)
			log_refusal(r, kind, r->suppressed);
		log_refusal(r, kind, 1);
		r->window_start = now;
		r->suppressed = 0;
		return;
	}
	r->suppressed++;
	flush_refusals(w, false);   /* makes sure the count is logged when the interval ends */
}

static void refuse_with(evutil_socket_t fd, const struct service *svc, const char *reply)
{
	/* nothing can be said in clear text on an implicit-TLS port: just close */
	if (svc->tls == SERVICE_TLS_IMPLICIT || reply == NULL)
		reply = "";
	/* best effort: the socket is fresh, so a short line fits the send buffer */
	if (*reply != '\0') {
		ssize_t n = send(fd, reply, strlen(reply), MSG_NOSIGNAL | MSG_DONTWAIT);
		(void)n;
	}
	evutil_closesocket(fd);
}

static void refuse(evutil_socket_t fd, const struct service *svc)
{
	refuse_with(fd, svc, svc->ops->busy_reply);
}

/* A service for the local mail system (LMTP) admits loopback, its UNIX
 * socket and the networks its policy names; any other service, anyone. */
static bool peer_admitted(const struct service_policy *p, const char *ip)
{
	if (!p->local_only || strcmp(ip, NET_PEER_LOCAL) == 0 || ip_is_loopback(ip))
		return true;
	return cidr_match_any(p->allow, p->nallow, ip);
}

static enum refusal_kind refusal_of(enum connlimit_verdict v)
{
	switch (v) {
	case CONNLIMIT_PER_IP: return REFUSED_PER_IP;
	case CONNLIMIT_SERVICE: return REFUSED_SERVICE;
	case CONNLIMIT_SERVICE_PER_IP: return REFUSED_SERVICE_PER_IP;
	default: return REFUSED_TOTAL;
	}
}

/* The client's checks, with its address: the peer's, or the one a PROXY
 * header named (then the session's every limit, ban and log line use it). */
static void accept_client(struct worker *w, const struct service *svc, evutil_socket_t fd,
                          const struct sockaddr *sa, const char *ip)
{
	/* not a word, not a handshake: the ban was the answer (the audit log has it) */
	if (ban_check(w->srv->bans, ip, ban_clock_ms())) {
		note_refusal(w, svc, REFUSED_BANNED, ip);
		evutil_closesocket(fd);
		return;
	}
	if (!peer_admitted(&w->srv->cfg->policy[svc->id], ip)) {
		note_refusal(w, svc, REFUSED_PEER, ip);
		refuse_with(fd, svc, svc->ops->denied_reply);
		return;
	}
	enum connlimit_verdict v = connlimit_acquire(w->srv->limits, svc->id, ip);
	if (v != CONNLIMIT_OK) {
		note_refusal(w, svc, refusal_of(v), ip);
		/* the caps for everyone are nobody's fault; those per address are the client's */
		if (v == CONNLIMIT_PER_IP || v == CONNLIMIT_SERVICE_PER_IP)
			ban_violation(w->srv->bans, ip, BAN_CONNECTION_LIMIT);
		refuse(fd, svc);
		return;
	}
	net_session_accept(w, svc, fd, sa, ip);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                      int socklen, void *arg)
{
	struct accept_ctx *ctx = arg;
	struct worker *w = ctx->w;
	const struct service_policy *p = &w->srv->cfg->policy[ctx->svc->id];
	char ip[48];
	(void)l;
	(void)socklen;
	sockaddr_ip(sa, ip, sizeof(ip));
	w->accept_backoff_ms = 0;
	if (w->draining) {
		note_refusal(w, ctx->svc, REFUSED_DRAINING, ip);
		refuse(fd, ctx->svc);
		return;
	}
	if (!p->proxy_protocol) {
		accept_client(w, ctx->svc, fd, sa, ip);
		return;
	}
	/* anyone else could claim any address: closed without a word */
	if (!cidr_match_any(p->trusted_proxies, p->ntrusted_proxies, ip)) {
		note_refusal(w, ctx->svc, REFUSED_UNTRUSTED_PROXY, ip);
		evutil_closesocket(fd);
		ban_violation(w->srv->bans, ip, BAN_UNTRUSTED_PROXY);
		return;
	}
	/* the trusted proxy is not asked about bans: its client is, once named */
	proxy_accept(w, ctx->svc, fd, sa, ip, accept_client);
}

/* ---- out of file descriptors ------------------------------------------------ */

#define ACCEPT_BACKOFF_MIN_MS 50
#define ACCEPT_BACKOFF_MAX_MS 1000

static void set_listeners(struct worker *w, bool on)
{
	for (size_t i = 0; i < w->nlisteners; i++) {
		if (on)
			evconnlistener_enable(w->listeners[i]);
		else
			evconnlistener_disable(w->listeners[i]);
	}
}

static void on_accept_retry(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	(void)fd;
	(void)what;
	if (!w->draining)
		set_listeners(w, true);
}

/* The spare descriptor lets us take the waiting client and tell it we are
 * busy, instead of leaving it in the backlog while the listener spins. */
static void refuse_with_spare(struct worker *w, struct evconnlistener *l,
                              const struct service *svc)
{
	if (w->spare_fd < 0)
		return;
	close(w->spare_fd);
	w->spare_fd = -1;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd = accept4(evconnlistener_get_fd(l), (struct sockaddr *)&ss, &len,
	                 SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd >= 0) {
		char ip[48];
		sockaddr_ip((struct sockaddr *)&ss, ip, sizeof(ip));
		note_refusal(w, svc, REFUSED_NO_FDS, ip);
		refuse(fd, svc);
	}
	w->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void on_accept_error(struct evconnlistener *l, void *arg)
{
	struct accept_ctx *ctx = arg;
	struct worker *w = ctx->w;
	int err = EVUTIL_SOCKET_ERROR();
	if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM) {
		log_event(LOG_ERROR, "net.accept_error", "s", "error", strerror(err), NULL);
		return;
	}
	/* a listener that stays armed would wake at once, fail again, and spin */
	refuse_with_spare(w, l, ctx->svc);
	set_listeners(w, false);
	w->accept_backoff_ms = w->accept_backoff_ms == 0 ? ACCEPT_BACKOFF_MIN_MS
	                       : w->accept_backoff_ms * 2 > ACCEPT_BACKOFF_MAX_MS ? ACCEPT_BACKOFF_MAX_MS
	                       : w->accept_backoff_ms * 2;
	struct timeval tv = { (time_t)(w->accept_backoff_ms / 1000),
	                      (suseconds_t)(w->accept_backoff_ms % 1000) * 1000 };
	evtimer_add(w->accept_retry_ev, &tv);
	if (w->spare_fd < 0)   /* could not even refuse: count it all the same */
		note_refusal(w, ctx->svc, REFUSED_NO_FDS, "?");
}

/* ---- draining ------------------------------------------------------------ */

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct conn *c, *next;
	(void)fd;
	(void)what;
	log_event(LOG_WARN, "server.drain_deadline", "i", "worker", (long long)w->id,
	          "i", "open", (long long)w->nconns, NULL);
	for (c = TAILQ_FIRST(&w->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		c->force_close(c);
	}
	worker_maybe_exit(w);
}

static void on_drain(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct conn *c, *next;
	struct timeval tv;
	(void)fd;
	(void)what;
	if (w->draining)
		return;
	w->draining = true;
	evtimer_del(w->accept_retry_ev);
	/* close the listening sockets: new clients are refused at once instead of
	 * waiting in a backlog nobody will read */
	for (size_t i = 0; i < w->nlisteners; i++) {
		evconnlistener_free(w->listeners[i]);
		free(w->accept_ctx[i]);
	}
	w->nlisteners = 0;
	for (c = TAILQ_FIRST(&w->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry); /* drain may free c */
		c->drain(c);
	}
	uint64_t ms = w->srv->cfg->timeouts.shutdown_ms;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(w->deadline_ev, &tv);
	worker_maybe_exit(w);
}

/* ---- workers ------------------------------------------------------------- */

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	event_base_dispatch(w->base);
	/* tell the main loop; it joins us */
	if (atomic_fetch_sub(&w->srv->workers_left, 1) == 1)
		event_base_loopexit(w->srv->main_base, NULL);
	return NULL;
}

static int worker_init(struct server *srv, struct worker *w, int id, char *err, size_t errlen)
{
	w->srv = srv;
	w->id = id;
	TAILQ_INIT(&w->conns);
	w->base = event_base_new();
	if (w->base == NULL) {
		snprintf(err, errlen, "event_base_new failed");
		return -1;
	}
	w->store = srv->res.open_store(srv->res.arg, err, errlen);
	if (w->store == NULL)
		return -1;
	w->drain_ev = event_new(w->base, -1, 0, on_drain, w);
	w->deadline_ev = evtimer_new(w->base, on_deadline, w);
	w->accept_retry_ev = evtimer_new(w->base, on_accept_retry, w);
	w->refusal_flush_ev = evtimer_new(w->base, on_refusal_flush, w);
	w->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return 0;
}

static void worker_cleanup(struct worker *w)
{
	for (size_t i = 0; i < w->nlisteners; i++) {
		evconnlistener_free(w->listeners[i]);
		free(w->accept_ctx[i]);
	}
	if (w->drain_ev)
		event_free(w->drain_ev);
	if (w->deadline_ev)
		event_free(w->deadline_ev);
	if (w->accept_retry_ev)
		event_free(w->accept_retry_ev);
	if (w->refusal_flush_ev) {
		flush_refusals(w, true);
		event_free(w->refusal_flush_ev);
	}
	if (w->spare_fd >= 0)
		close(w->spare_fd);
	for (int i = 0; i < WORKER_SLOTS; i++)
		if (w->slot_free[i] != NULL)
			w->slot_free[i](w, &w->slots[i]);
	if (w->store != NULL)
		w->srv->res.close_store(w->store);
	if (w->base)
		event_base_free(w->base);
}

/* ---- bans ------------------------------------------------------------------ */

/* On the main thread: the workers' bans written, the CLI's read (net/ban.h). */
static void sync_bans(struct server *srv)
{
	bool reloaded = false;
	if (ban_table_sync(srv->bans, srv->ban_store, ban_clock_ms(), &reloaded) < 0) {
		if (!srv->ban_sync_failing)
			log_event(LOG_ERROR, "ban.sync_failed", "s", "msg",
			          "cannot read or write the bans in the store; retrying", NULL);
		srv->ban_sync_failing = true;
		return;
	}
	srv->ban_sync_failing = false;
	if (reloaded)
		log_event(LOG_INFO, "ban.reloaded", "i", "entries",
		          (long long)ban_table_entries(srv->bans), NULL);
}

static void on_ban_sync(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sync_bans(arg);
}

/* The table, with the bans of the store and every service's trusted proxies
 * (never counted for what their clients do). */
static int bans_start(struct server *srv, char *err, size_t errlen)
{
	const struct config *cfg = srv->cfg;
	srv->bans = ban_table_new(&cfg->ban);
	for (int i = 0; i < SVC_COUNT; i++)
		ban_table_exempt(srv->bans, cfg->policy[i].trusted_proxies,
		                 cfg->policy[i].ntrusted_proxies);
	srv->ban_store = srv->res.open_store(srv->res.arg, err, errlen);
	if (srv->ban_store == NULL)
		return -1;
	bool reloaded;
	if (ban_table_sync(srv->bans, srv->ban_store, ban_clock_ms(), &reloaded) < 0) {
		snprintf(err, errlen, "cannot read the bans from the store");
		return -1;
	}
	srv->ban_sync_ev = event_new(srv->main_base, -1, EV_PERSIST, on_ban_sync, srv);
	struct timeval tv = { BAN_SYNC_INTERVAL_MS / 1000, (BAN_SYNC_INTERVAL_MS % 1000) * 1000 };
	if (srv->ban_sync_ev == NULL || event_add(srv->ban_sync_ev, &tv) < 0) {
		snprintf(err, errlen, "cannot start the ban timer");
		return -1;
	}
	return 0;
}

/* Descriptors beyond one per connection: listeners, the store's database and
 * journal per worker, spool files of messages being received, logs. */
#define FD_RESERVE(workers) (64 + 16 * (workers))

static void raise_fd_limit(const struct config *cfg, int workers)
{
	struct rlimit rl;
	/* each connection is one fd; the default soft limit of 1024 is far too low */
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	/* a receiving SMTP session holds its socket and a spool file */
	unsigned long long need = 2ULL * (unsigned long long)cfg->limits.connections +
	                          FD_RESERVE(workers);
	if (rl.rlim_cur != RLIM_INFINITY && need > rl.rlim_cur)
		log_event(LOG_WARN, "server.fd_limit", "i", "limit", (long long)rl.rlim_cur,
		          "i", "connections", (long long)cfg->limits.connections,
		          "i", "needed", (long long)need,
		          "s", "msg", "the open-files limit is too low for limits.connections: "
		          "raise it (ulimit -n, LimitNOFILE=) or lower limits.connections", NULL);
}

struct server *server_new(struct config *cfg, const struct server_resources *res,
                          char *err, size_t errlen)
{
	struct server *srv = xcalloc(1, sizeof(*srv));
	srv->cfg = cfg;
	srv->res = *res;
	evthread_use_pthreads();
	signal(SIGPIPE, SIG_IGN);
	srv->nworkers = cfg->workers > 0 ? cfg->workers : (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (srv->nworkers < 1)
		srv->nworkers = 1;
	if (srv->nworkers > CONFIG_WORKERS_MAX)   /* one per CPU on a very big machine */
		srv->nworkers = CONFIG_WORKERS_MAX;
	raise_fd_limit(cfg, srv->nworkers);
	srv->limits = connlimit_new(cfg);
	srv->sendlimit = sendlimit_new(cfg);
	srv->main_base = event_base_new();
	srv->workers = xcalloc((size_t)srv->nworkers, sizeof(struct worker));
	if (srv->main_base == NULL) {
		snprintf(err, errlen, "cannot start the main event loop");
		server_free(srv);
		return NULL;
	}
	if (bans_start(srv, err, errlen) < 0) {
		server_free(srv);
		return NULL;
	}
	for (int i = 0; i < srv->nworkers; i++) {
		if (worker_init(srv, &srv->workers[i], i, err, errlen) < 0) {
			server_free(srv);
			return NULL;
		}
	}
	return srv;
}

/* A worker's copy of a socket the daemon bound before the server existed. */
static int dup_prebound(const struct server *srv, const struct listen_addr *la, char *err,
                        size_t errlen)
{
	for (size_t i = 0; i < srv->res.nprebound; i++) {
		if (srv->res.prebound[i].addr != la)
			continue;
		int fd = fcntl(srv->res.prebound[i].fd, F_DUPFD_CLOEXEC, 0);
		if (fd < 0)
			snprintf(err, errlen, "%s: %s", la->text, strerror(errno));
		return fd;
	}
	snprintf(err, errlen, "%s: the socket was not made before the server started", la->text);
	return -1;
}

/* A listening socket for worker n: its own TCP socket (SO_REUSEPORT spreads
 * the connections), or a copy of the one UNIX socket, which the workers'
 * loops accept from in turn. */
static int listen_fd_for_worker(const struct server *srv, const struct listen_addr *la, int n,
                                char *err, size_t errlen, bool *unavailable)
{
	*unavailable = false;
	if (la->path[0] != '\0')
		return dup_prebound(srv, la, err, errlen);
	return listener_bind(la, n == 0, err, errlen, unavailable);
}

int server_add_service(struct server *srv, const struct service *svc, char *err, size_t errlen)
{
	const struct listen_list *addrs = config_listen(srv->cfg, svc->id);
	for (size_t a = 0; a < addrs->n; a++) {
		if (srv->nbindings == MAX_BINDINGS) {
			snprintf(err, errlen, "too many listen addresses (max %d)", MAX_BINDINGS);
			return -1;
		}
		int fds[CONFIG_WORKERS_MAX];
		bool unavailable = false;
		int n = 0;
		for (; n < srv->nworkers; n++) {
			fds[n] = listen_fd_for_worker(srv, &addrs->addrs[a], n, err, errlen, &unavailable);
			if (fds[n] < 0)
				break;
		}
		if (n < srv->nworkers) {
			while (n-- > 0)
				close(fds[n]);
			if (unavailable && a > 0) {
				/* e.g. [::1] on a host without IPv6: the other addresses still serve */
				log_event(LOG_WARN, "net.listen_skipped", "s", "service", service_name(svc),
				          "s", "error", err, NULL);
				continue;
			}
			return -1;
		}
		for (int i = 0; i < srv->nworkers; i++) {
			struct worker *w = &srv->workers[i];
			struct accept_ctx *ctx = xcalloc(1, sizeof(*ctx));
			ctx->w = w;
			ctx->svc = svc;
			w->listeners[w->nlisteners] = evconnlistener_new(w->base, on_accept, ctx,
				LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fds[i]);
			if (w->listeners[w->nlisteners] == NULL) {
				free(ctx);
				snprintf(err, errlen, "%s: evconnlistener_new failed", addrs->addrs[a].text);
				return -1;
			}
			evconnlistener_set_error_cb(w->listeners[w->nlisteners], on_accept_error);
			w->accept_ctx[w->nlisteners] = ctx;
			w->nlisteners++;
		}
		srv->nbindings++;
		log_event(LOG_INFO, "net.listening", "s", "service", service_name(svc),
		          "s", "address", addrs->addrs[a].text, "i", "workers", (long long)srv->nworkers, NULL);
	}
	return 0;
}

static void on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;
	(void)what;
	log_event(LOG_INFO, "server.stopping", "i", "signal", (long long)sig,
	          "i", "grace_ms", (long long)srv->cfg->timeouts.shutdown_ms, NULL);
	for (int i = 0; i < srv->nworkers; i++)
		event_active(srv->workers[i].drain_ev, EV_READ, 0);
}

static void on_reload_signal(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;
	char err[512];
	(void)sig;
	(void)what;
	log_reopen();
	sync_bans(srv);   /* a ban the CLI just added, at once */
	if (tls_reload(srv->cfg, err, sizeof(err)) < 0)
		log_event(LOG_ERROR, "tls.reload_failed", "s", "error", err,
		          "s", "msg", "keeping the previous certificate", NULL);
	else
		log_event(LOG_INFO, "tls.reloaded", NULL);
}

int server_run(struct server *srv)
{
	sigset_t all, old;
	struct event *sigs[3];
	/* workers never see signals: the main loop handles them */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	atomic_store(&srv->workers_left, srv->nworkers);
	int started = 0;
	for (; started < srv->nworkers; started++)
		if (pthread_create(&srv->workers[started].thread, NULL, worker_main,
		                   &srv->workers[started]) != 0)
			break;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (started < srv->nworkers) {
		log_event(LOG_ERROR, "server.thread_failed", NULL);
		atomic_fetch_sub(&srv->workers_left, srv->nworkers - started);
		on_stop_signal(SIGTERM, 0, srv);
	}
	sigs[0] = evsignal_new(srv->main_base, SIGTERM, on_stop_signal, srv);
	sigs[1] = evsignal_new(srv->main_base, SIGINT, on_stop_signal, srv);
	sigs[2] = evsignal_new(srv->main_base, SIGHUP, on_reload_signal, srv);
	for (int i = 0; i < 3; i++)
		evsignal_add(sigs[i], NULL);
	size_t bg_started = 0;
	for (; started == srv->nworkers && bg_started < srv->nbg; bg_started++) {
		char err[512];
		if (srv->bg[bg_started].start(srv->bg[bg_started].arg, err, sizeof(err)) < 0) {
			log_event(LOG_ERROR, "server.background_failed", "s", "error", err, NULL);
			on_stop_signal(SIGTERM, 0, srv);
			break;
		}
	}
	log_event(LOG_INFO, "server.started", "i", "pid", (long long)getpid(),
	          "i", "workers", (long long)srv->nworkers, NULL);
	if (started > 0)
		event_base_dispatch(srv->main_base);
	for (int i = 0; i < started; i++)
		pthread_join(srv->workers[i].thread, NULL);
	sync_bans(srv);   /* the last bans the workers made */
	/* after the workers: nothing can enqueue any more */
	for (size_t i = 0; i < bg_started; i++)
		srv->bg[i].stop(srv->bg[i].arg);
	for (int i = 0; i < 3; i++)
		event_free(sigs[i]);
	log_event(LOG_INFO, "server.stopped", NULL);
	return started == srv->nworkers ? 0 : -1;
}

void server_free(struct server *srv)
{
	if (srv == NULL)
		return;
	for (int i = 0; i < srv->nworkers; i++)
		worker_cleanup(&srv->workers[i]);
	free(srv->workers);
	connlimit_free(srv->limits);
	sendlimit_free(srv->sendlimit);
	if (srv->ban_sync_ev != NULL)
		event_free(srv->ban_sync_ev);
	if (srv->ban_store != NULL)
		srv->res.close_store(srv->ban_store);
	ban_table_free(srv->bans);
	if (srv->main_base)
		event_base_free(srv->main_base);
	free(srv);
}
