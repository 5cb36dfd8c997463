/* The daemon's skeleton: worker threads, each with its own event loop and
 * its own listening sockets; signal handling; graceful shutdown.
 *
 * Protocols plug in as a `struct service`; every live connection embeds a
 * `struct conn` so the server can count, limit and drain it without knowing
 * the protocol. */
#ifndef POSTERN_SERVER_H
#define POSTERN_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/util.h>

#include "core/config.h"

struct config;
struct listen_list;
struct event_base;
struct store;
struct committer;
struct threadpool;
struct srs;
struct orgdomain;
struct sendlimit;
struct server;
struct worker;

struct conn {
	TAILQ_ENTRY(conn) entry;
	struct worker *worker;
	enum service_id svc;            /* whose connection caps it counts against */
	char ip[48];
	int port;
	bool counted;                   /* holds a slot of the connection caps (connlimit) */
	/* asked to finish: close now if idle, else after the current transaction */
	void (*drain)(struct conn *c);
	/* the shutdown deadline has passed: close now unless durable work is in flight */
	void (*force_close)(struct conn *c);
};

enum service_tls {
	SERVICE_TLS_STARTTLS,   /* clear text first, STARTTLS offered */
	SERVICE_TLS_IMPLICIT,   /* TLS from the first byte (RFC 8314) */
	SERVICE_TLS_NONE,       /* clear text only: a service for this host (LMTP) */
};

struct session_ops;

/* One row per service: what to listen on, how to secure it, which protocol
 * runs on it. The rows live in src/daemon/services.c. */
struct service {
	enum service_id id;             /* config name, listen list and session policy */
	int default_port;               /* the port it has on a real host */
	enum service_tls tls;
	const char *summary;            /* for the start-up banner: "STARTTLS, AUTH" */
	const struct session_ops *ops;  /* the protocol (src/net/session.h) */
};
const char *service_name(const struct service *svc);

/* A listening socket made before the server: a UNIX socket is made while
 * still root, to be given to its owner (listener_bind_unix). The server
 * lends each worker a duplicate; its maker keeps fd and closes it. */
struct listener_fd {
	const struct listen_addr *addr; /* an entry of the config's listen lists */
	int fd;
};

/* What the daemon lends every worker; net opens and frees none of it (the
 * committer and pool must outlive the workers' loops: free them after
 * server_run returns, before server_free). */
struct server_resources {
	struct committer *committer;
	struct threadpool *pool;
	/* the SRS keys and domain (src/mailauth/srs.h); NULL when srs.enabled is off */
	const struct srs *srs;
	/* the public suffix list DMARC reads organisational domains from */
	const struct orgdomain *orgdomain;
	/* the config's "unix:" listen addresses, bound already */
	const struct listener_fd *prebound;
	size_t nprebound;
	/* a store handle for each worker, opened at start and closed at the end */
	struct store *(*open_store)(void *arg, char *err, size_t errlen);
	void (*close_store)(struct store *st);
	void *arg;
};
struct server *server_new(struct config *cfg, const struct server_resources *res,
                          char *err, size_t errlen);

/* A component with its own thread (the queue runner): started after the
 * workers, stopped after they have drained. */
struct background {
	int (*start)(void *arg, char *err, size_t errlen);
	void (*stop)(void *arg);
	void *arg;
};
void server_add_background(struct server *srv, const struct background *bg);
/* Binds the service's listen addresses (one socket per worker per address). 0 or -1. */
int server_add_service(struct server *srv, const struct service *svc, char *err, size_t errlen);
/* Runs until SIGTERM/SIGINT and the drain that follows; SIGHUP reloads TLS. */
int server_run(struct server *srv);
void server_free(struct server *srv);

/* Worker accessors for protocol code (call on the worker's own thread). */
struct event_base *worker_base(struct worker *w);
struct store *worker_store(struct worker *w);
const struct config *worker_config(struct worker *w);
struct committer *worker_committer(struct worker *w);
struct threadpool *worker_threadpool(struct worker *w);
const struct srs *worker_srs(struct worker *w);     /* NULL: no SRS */
const struct orgdomain *worker_orgdomain(struct worker *w);
struct sendlimit *worker_sendlimit(struct worker *w);   /* net/sendlimit.h */
bool worker_draining(struct worker *w);
/* The process's ban table (net/ban.h): protocol code reaches it only
 * through net_session_violation(). */
struct ban_table *worker_bans(struct worker *w);

/* One pointer per protocol module, private to that module, on each worker
 * (e.g. IMAP's cache of open mailbox indexes, shared by the worker's sessions). */
enum worker_slot { WORKER_SLOT_IMAP = 0, WORKER_SLOT_SMTP,
                   WORKER_SLOT_JUNK_LEARN,  /* daemon/junk_learn.c: the rspamd learner */
                   WORKER_SLOTS };
void **worker_slot(struct worker *w, enum worker_slot slot);
/* What the module keeps in its slot past its sessions is freed by fn when the
 * worker stops, after its last session and before its store closes. */
typedef void (*worker_slot_free_fn)(struct worker *w, void **slot);
void worker_slot_on_stop(struct worker *w, enum worker_slot slot, worker_slot_free_fn fn);

/* Every connection registers after accept and unregisters once, when freed. */
void conn_register(struct worker *w, struct conn *c, enum service_id svc, const char *ip, int port);
/* ... one that holds no slot of the caps (the wait for a PROXY header: the
 * client it names is counted, not the proxy). */
void conn_register_uncounted(struct worker *w, struct conn *c, enum service_id svc,
                             const char *ip, int port);
void conn_unregister(struct conn *c);

#endif
