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

struct config;
struct listen_list;
struct event_base;
struct store;
struct committer;
struct threadpool;
struct server;
struct worker;

struct conn {
	TAILQ_ENTRY(conn) entry;
	struct worker *worker;
	char ip[48];
	int port;
	/* asked to finish: close now if idle, else after the current transaction */
	void (*drain)(struct conn *c);
	/* the shutdown deadline has passed: close now unless durable work is in flight */
	void (*force_close)(struct conn *c);
};

struct service {
	const char *name;
	/* A new connection on w's loop. fd is non-blocking; the service owns it. */
	void (*accept)(struct worker *w, evutil_socket_t fd, const struct sockaddr *peer,
	               const char *ip);
	const char *busy_reply; /* sent before closing when a connection limit is hit */
};

struct server *server_new(struct config *cfg, char *err, size_t errlen);
struct committer *server_committer(struct server *srv);

/* A component with its own thread (the queue runner): started after the
 * workers, stopped after they have drained. */
struct background {
	int (*start)(void *arg, char *err, size_t errlen);
	void (*stop)(void *arg);
	void *arg;
};
void server_add_background(struct server *srv, const struct background *bg);
/* Binds the service's addresses (one socket per worker per address). 0 or -1. */
int server_add_service(struct server *srv, const struct service *svc,
                       const struct listen_list *addrs, char *err, size_t errlen);
/* Runs until SIGTERM/SIGINT and the drain that follows; SIGHUP reloads TLS. */
int server_run(struct server *srv);
void server_free(struct server *srv);

/* Worker accessors for protocol code (call on the worker's own thread). */
struct event_base *worker_base(struct worker *w);
struct store *worker_store(struct worker *w);
const struct config *worker_config(struct worker *w);
struct committer *worker_committer(struct worker *w);
struct threadpool *worker_threadpool(struct worker *w);
bool worker_draining(struct worker *w);

/* One pointer per protocol module, private to that module, on each worker
 * (e.g. IMAP's cache of open mailbox indexes, shared by the worker's sessions). */
enum worker_slot { WORKER_SLOT_IMAP = 0, WORKER_SLOTS };
void **worker_slot(struct worker *w, enum worker_slot slot);

/* Every connection registers after accept and unregisters once, when freed. */
void conn_register(struct worker *w, struct conn *c, const char *ip, int port);
void conn_unregister(struct conn *c);

#endif
