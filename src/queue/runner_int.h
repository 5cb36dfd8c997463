/* Internals shared by runner.c and delivery.c. */
#ifndef POSTERN_RUNNER_INT_H
#define POSTERN_RUNNER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <pthread.h>
#include <sys/queue.h>

#include <openssl/ssl.h>

#include "dns/resolver.h"
#include "queue/runner.h"
#include "queue/smtp_client.h"

struct event_base;
struct store;
struct delivery;
struct dmarc_sender;

#define DELIVERY_MAX_RCPTS 100

struct delivery_rcpt {
	long long id;
	char addr[260];
	int attempts;
};

struct delivery {
	LIST_ENTRY(delivery) entry;
	struct queue_runner *q;
	char key[300];                  /* msg_id/domain: one delivery per pair at a time */
	char msg_id[32];
	char domain[256];
	char path[4096];
	char sender[260];
	unsigned long long size;
	bool smtputf8;
	long long created;
	struct delivery_rcpt rcpt[DELIVERY_MAX_RCPTS];
	size_t nrcpt;
	const char *rcpt_addrs[DELIVERY_MAX_RCPTS];  /* for the client: it keeps the pointer */
	/* progress */
	struct mx_list mx;
	size_t mx_next;
	struct dns_addr_list addrs;
	size_t addr_next;
	const char *current_mx;
	bool plain_fallback;            /* retrying this address without STARTTLS */
	bool connected_once;            /* some server answered: not a circuit failure */
	int dns_query;
	struct smtp_client *client;
	char last_status[16];
	char last_error[400];
	char last_mta[256];
};

LIST_HEAD(delivery_list, delivery);

struct circuit {
	char domain[256];
	int failures;
	long long paused_until;
};

/* A message whose report is being committed (until == -1), or failed to be
 * (retried after until). Its rows stay until the report is safe. */
struct report_state {
	char msg_id[32];
	long long until;
};

struct queue_runner {
	const struct config *cfg;
	struct committer *committer;
	pthread_t thread;
	bool started, stopping;
	struct event_base *base;
	struct event *tick_ev, *wake_ev, *stop_ev, *deadline_ev;
	struct store *store;
	struct resolver *resolver;
	SSL_CTX *ssl_ctx;
	struct delivery_list active;
	int nactive;
	int pending_jobs;               /* bounces handed to the committer */
	struct circuit *circuits;
	size_t ncircuits, capcircuits;
	struct report_state *reports;
	size_t nreports;
	const struct srs *srs;          /* NULL when srs.enabled is off */
	struct dmarc_sender *dmarc;     /* DMARC aggregate reports (dmarc_send.c) */
	long long greylist_sweep_at;    /* the next sweep of expired greylist entries */
};

/* delivery.c */
void delivery_start(struct delivery *d);
void delivery_abort(struct delivery *d);
/* runner.c: called by a delivery when it is over (d is freed by the runner) */
void runner_delivery_done(struct queue_runner *q, struct delivery *d, bool circuit_failure);
/* results for one recipient */
void runner_rcpt_delivered(struct queue_runner *q, struct delivery *d, size_t i, const char *mta);
void runner_rcpt_failed(struct queue_runner *q, struct delivery *d, size_t i, bool permanent,
                        const char *status, const char *mta, const char *diagnostic);

/* report.c: called on every run of the queue */
/* Finished messages: bounces (or notices to the postmaster), then removal. */
void report_finished_messages(struct queue_runner *q);
/* One delay notice per message pending longer than queue.warn_after. */
void report_delay_warnings(struct queue_runner *q);
/* Commits a message the queue makes itself (LF line ends) to `to`, with
 * the null sender and a Received: field carrying trace_id; false when there
 * is nowhere to put it (nothing was done). */
bool report_inject(struct queue_runner *q, const char *to, const char *trace_id, const char *text,
                   size_t len);

/* dmarc_send.c: called on every run of the queue; starts a run of DMARC
 * aggregate reports when one is due */
void dmarc_send_tick(struct queue_runner *q);
/* Drops a run in progress (its pending lookups too) and frees the state. */
void dmarc_send_free(struct queue_runner *q);

#endif
