#include "net/server.h"

#include <errno.h>
#include <malloc.h>
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

#include "core/config.h"
#include "core/log.h"
#include "core/threadpool.h"
#include "core/util.h"
#include "net/listener.h"
#include "store/commit.h"
#include "store/store.h"
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
	void *slots[WORKER_SLOTS];
};

struct server {
	struct config *cfg;
	int nworkers;
	struct worker *workers;
	struct binding bindings[MAX_BINDINGS];
	size_t nbindings;
	struct connlimit *limits;
	struct committer *committer;
	struct threadpool *pool;
	struct event_base *main_base;
	atomic_int workers_left;
	struct background bg[4];
	size_t nbg;
};

struct committer *server_committer(struct server *srv) { return srv->committer; }

void server_add_background(struct server *srv, const struct background *bg)
{
	if (srv->nbg < ARRAY_LEN(srv->bg))
		srv->bg[srv->nbg++] = *bg;
}

/* ---- accessors ----------------------------------------------------------- */

struct event_base *worker_base(struct worker *w) { return w->base; }
struct store *worker_store(struct worker *w) { return w->store; }
const struct config *worker_config(struct worker *w) { return w->srv->cfg; }
struct committer *worker_committer(struct worker *w) { return w->srv->committer; }
struct threadpool *worker_threadpool(struct worker *w) { return w->srv->pool; }
bool worker_draining(struct worker *w) { return w->draining; }
void **worker_slot(struct worker *w, enum worker_slot slot) { return &w->slots[slot]; }

/* ---- connections --------------------------------------------------------- */

static void worker_maybe_exit(struct worker *w)
{
	if (w->draining && w->nconns == 0)
		event_base_loopexit(w->base, NULL);
}

void conn_register(struct worker *w, struct conn *c, const char *ip, int port)
{
	c->worker = w;
	snprintf(c->ip, sizeof(c->ip), "%s", ip);
	c->port = port;
	TAILQ_INSERT_TAIL(&w->conns, c, entry);
	w->nconns++;
}

void conn_unregister(struct conn *c)
{
	struct worker *w = c->worker;
	TAILQ_REMOVE(&w->conns, c, entry);
	w->nconns--;
	connlimit_release(w->srv->limits, c->ip);
	worker_maybe_exit(w);
}

static void refuse_busy(evutil_socket_t fd, const struct service *svc)
{
	/* best effort: the socket is fresh, so a short line fits the send buffer */
	if (*svc->busy_reply != '\0') {
		ssize_t n = send(fd, svc->busy_reply, strlen(svc->busy_reply), MSG_NOSIGNAL | MSG_DONTWAIT);
		(void)n;
	}
	evutil_closesocket(fd);
}


static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                      int socklen, void *arg)
{
	struct accept_ctx *ctx = arg;
	struct worker *w = ctx->w;
	char ip[48];
	(void)l;
	(void)socklen;
	sockaddr_ip(sa, ip, sizeof(ip));
	if (w->draining || !connlimit_acquire(w->srv->limits, ip)) {
		log_event(LOG_WARN, "net.refused", "s", "service", ctx->svc->name, "s", "ip", ip,
		          "s", "reason", w->draining ? "shutting down" : "connection limit", NULL);
		refuse_busy(fd, ctx->svc);
		return;
	}
	ctx->svc->accept(w, fd, sa, ip);
}

static void on_accept_error(struct evconnlistener *l, void *arg)
{
	(void)arg;
	(void)l;
	/* EMFILE and friends: log and keep going; libevent retries on the next event */
	log_event(LOG_ERROR, "net.accept_error", "s", "error", strerror(errno), NULL);
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
	w->store = store_open(srv->cfg->data_dir, err, errlen);
	if (w->store == NULL)
		return -1;
	w->drain_ev = event_new(w->base, -1, 0, on_drain, w);
	w->deadline_ev = evtimer_new(w->base, on_deadline, w);
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
	store_close(w->store);
	if (w->base)
		event_base_free(w->base);
}

static void raise_fd_limit(void)
{
	struct rlimit rl;
	/* each connection is one fd; the default soft limit of 1024 is far too low */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

struct server *server_new(struct config *cfg, char *err, size_t errlen)
{
	/* Argon2id needs 19 MiB per check; glibc would raise its mmap threshold
	 * after the first one and keep those blocks in the pool threads' arenas
	 * for good. A fixed threshold gives them back to the system each time. */
	mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
	struct server *srv = xcalloc(1, sizeof(*srv));
	srv->cfg = cfg;
	evthread_use_pthreads();
	raise_fd_limit();
	signal(SIGPIPE, SIG_IGN);
	srv->nworkers = cfg->workers > 0 ? cfg->workers : (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (srv->nworkers < 1)
		srv->nworkers = 1;
	if (srv->nworkers > CONFIG_WORKERS_MAX)   /* one per CPU on a very big machine */
		srv->nworkers = CONFIG_WORKERS_MAX;
	srv->limits = connlimit_new(cfg->limits.connections, cfg->limits.connections_per_ip);
	/* several committers keep several fsyncs in flight: the journal batches them */
	srv->committer = committer_new(4, cfg->hostname, cfg->data_dir, err, errlen);
	srv->pool = threadpool_new(2);
	srv->main_base = event_base_new();
	srv->workers = xcalloc((size_t)srv->nworkers, sizeof(struct worker));
	if (srv->committer == NULL) {
		server_free(srv);
		return NULL;
	}
	if (srv->pool == NULL || srv->main_base == NULL) {
		snprintf(err, errlen, "cannot start threads or event loop");
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

int server_add_service(struct server *srv, const struct service *svc,
                       const struct listen_list *addrs, char *err, size_t errlen)
{
	for (size_t a = 0; a < addrs->n; a++) {
		if (srv->nbindings == MAX_BINDINGS) {
			snprintf(err, errlen, "too many listen addresses (max %d)", MAX_BINDINGS);
			return -1;
		}
		int fds[CONFIG_WORKERS_MAX];
		bool unavailable = false;
		int n = 0;
		for (; n < srv->nworkers; n++) {
			fds[n] = listener_bind(&addrs->addrs[a], n == 0, err, errlen, &unavailable);
			if (fds[n] < 0)
				break;
		}
		if (n < srv->nworkers) {
			while (n-- > 0)
				close(fds[n]);
			if (unavailable && a > 0) {
				/* e.g. [::1] on a host without IPv6: the other addresses still serve */
				log_event(LOG_WARN, "net.listen_skipped", "s", "service", svc->name,
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
		log_event(LOG_INFO, "net.listening", "s", "service", svc->name,
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
	/* the committer first: its completions target the worker loops */
	committer_free(srv->committer);
	threadpool_free(srv->pool);
	for (int i = 0; i < srv->nworkers; i++)
		worker_cleanup(&srv->workers[i]);
	free(srv->workers);
	connlimit_free(srv->limits);
	if (srv->main_base)
		event_base_free(srv->main_base);
	free(srv);
}
