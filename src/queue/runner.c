/* The queue runner: scheduling, retries, circuit breaker, warnings, bounces. */
#include "queue/runner.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "filter/greylist.h"
#include "queue/backoff.h"
#include "queue/bounce.h"
#include "queue/runner_int.h"
#include "store/store.h"

#define DUE_BATCH 500
#define TICK_MS 1000

static long long now_s(void)
{
	return (long long)time(NULL);
}

/* ---- circuit breaker ------------------------------------------------------ */

static struct circuit *circuit_for(struct queue_runner *q, const char *domain, bool create)
{
	for (size_t i = 0; i < q->ncircuits; i++)
		if (strcmp(q->circuits[i].domain, domain) == 0)
			return &q->circuits[i];
	if (!create)
		return NULL;
	if (q->ncircuits == q->capcircuits) {
		q->capcircuits = q->capcircuits ? q->capcircuits * 2 : 16;
		q->circuits = xrealloc(q->circuits, q->capcircuits * sizeof(struct circuit));
	}
	struct circuit *c = &q->circuits[q->ncircuits++];
	memset(c, 0, sizeof(*c));
	snprintf(c->domain, sizeof(c->domain), "%s", domain);
	return c;
}

static void circuit_result(struct queue_runner *q, const char *domain, bool failed)
{
	struct circuit *c = circuit_for(q, domain, failed);
	if (c == NULL)
		return;
	if (!failed) {
		/* reachable again: forget it (entries must not pile up per domain) */
		*c = q->circuits[--q->ncircuits];
		return;
	}
	if (++c->failures >= q->cfg->queue.circuit_failures) {
		/* stop hammering an unreachable destination for a while */
		c->paused_until = now_s() + (long long)(q->cfg->queue.circuit_cooldown_ms / 1000);
		c->failures = 0;
		/* its recipients leave the due list until then: they would fill every
		 * batch and hold up the domains that can be reached */
		store_queue_defer_domain(q->store, domain, c->paused_until);
		log_event(LOG_WARN, "queue.circuit_open", "s", "domain", domain,
		          "i", "until", c->paused_until, NULL);
	}
}

static bool circuit_paused(struct queue_runner *q, const char *domain)
{
	struct circuit *c = circuit_for(q, domain, false);
	return c != NULL && c->paused_until > now_s();
}

/* Pauses that have ended with no failure since are forgotten. */
static void circuits_sweep(struct queue_runner *q)
{
	long long now = now_s();
	for (size_t i = 0; i < q->ncircuits;) {
		struct circuit *c = &q->circuits[i];
		if (c->failures == 0 && c->paused_until <= now)
			*c = q->circuits[--q->ncircuits];
		else
			i++;
	}
}

/* Greylisting's expired entries go once a minute, in batches, one a tick
 * while there are more: one long delete would hold the store's write lock
 * against the sessions. */
#define GREYLIST_SWEEP_BATCH 1000
#define GREYLIST_SWEEP_EVERY_S 60

static void greylist_sweep_tick(struct queue_runner *q)
{
	long long now = now_s();
	if (now < q->greylist_sweep_at)
		return;
	struct greylist_policy p;
	greylist_policy_from_config(&p, q->cfg);
	int n = greylist_sweep(q->store, &p, (time_t)now, GREYLIST_SWEEP_BATCH);
	if (n > 0)
		log_event(LOG_DEBUG, "greylist.swept", "i", "removed", (long long)n, NULL);
	else if (n < 0)
		log_event(LOG_WARN, "greylist.sweep_failed", NULL);
	q->greylist_sweep_at = now + (n == GREYLIST_SWEEP_BATCH ? 1 : GREYLIST_SWEEP_EVERY_S);
}

/* ---- recipient outcomes ---------------------------------------------------- */

void runner_rcpt_delivered(struct queue_runner *q, struct delivery *d, size_t i, const char *mta)
{
	struct delivery_rcpt *r = &d->rcpt[i];
	if (store_queue_update(q->store, r->id, QUEUE_DELIVERED, r->attempts + 1, 0, NULL) != STORE_OK)
		log_event(LOG_ERROR, "queue.update_failed", "s", "id", d->msg_id, "s", "rcpt", r->addr, NULL);
	log_event(LOG_INFO, "queue.delivered", "s", "id", d->msg_id, "s", "rcpt", r->addr,
	          "s", "mx", mta, "i", "attempts", (long long)(r->attempts + 1), NULL);
}

void runner_rcpt_failed(struct queue_runner *q, struct delivery *d, size_t i, bool permanent,
                        const char *status, const char *mta, const char *diagnostic)
{
	struct delivery_rcpt *r = &d->rcpt[i];
	char detail[700], diag_typed[520];
	int attempts = r->attempts + 1;
	/* RFC 3464 2.3.6: diagnostic-type; text. Ours are not SMTP replies. */
	if (strncmp(diagnostic, "smtp;", 5) != 0) {
		snprintf(diag_typed, sizeof(diag_typed), "X-Postern; %s", diagnostic);
		diagnostic = diag_typed;
	}
	long long next = 0;
	bool expired = !permanent &&
	               now_s() >= d->created + (long long)(q->cfg->queue.max_age_ms / 1000);
	if (expired) {
		char diag[640];
		snprintf(diag, sizeof(diag), "%s (gave up after %d attempts)", diagnostic, attempts);
		bounce_detail_format(detail, sizeof(detail), "4.4.7", mta, diag);
	} else {
		bounce_detail_format(detail, sizeof(detail), status, mta, diagnostic);
	}
	if (!permanent && !expired) {
		uint32_t rnd;
		random_bytes(&rnd, sizeof(rnd));
		next = now_s() + (long long)((queue_retry_delay_ms(attempts, q->cfg->queue.min_retry_ms,
		                                                   q->cfg->queue.max_retry_ms, rnd) + 999) / 1000);
	}
	store_queue_update(q->store, r->id, permanent || expired ? QUEUE_BOUNCED : QUEUE_PENDING,
	                   attempts, next, detail);
	log_event(permanent || expired ? LOG_WARN : LOG_INFO,
	          permanent || expired ? "queue.bounced" : "queue.deferred",
	          "s", "id", d->msg_id, "s", "rcpt", r->addr, "s", "status", expired ? "4.4.7" : status,
	          "s", "error", diagnostic, "i", "attempts", (long long)attempts,
	          "i", "next_attempt", next, NULL);
}

void runner_delivery_done(struct queue_runner *q, struct delivery *d, bool circuit_failure)
{
	circuit_result(q, d->domain, circuit_failure);
	LIST_REMOVE(d, entry);
	q->nactive--;
	free(d);
	if (!q->stopping)
		event_active(q->wake_ev, EV_READ, 0); /* capacity freed, and bounces may be due */
	else if (q->nactive == 0 && q->pending_jobs == 0)
		event_base_loopexit(q->base, NULL);
}

/* ---- scheduling ------------------------------------------------------------------ */

struct due_ctx {
	struct queue_runner *q;
	struct delivery *groups[DUE_BATCH];
	size_t ngroups;
};

static bool in_flight(struct queue_runner *q, const char *key)
{
	struct delivery *d;
	LIST_FOREACH(d, &q->active, entry)
		if (strcmp(d->key, key) == 0)
			return true;
	return false;
}

static int active_for_domain(struct queue_runner *q, struct due_ctx *ctx, const char *domain)
{
	int n = 0;
	struct delivery *d;
	LIST_FOREACH(d, &q->active, entry)
		n += strcmp(d->domain, domain) == 0;
	for (size_t i = 0; i < ctx->ngroups; i++)
		n += strcmp(ctx->groups[i]->domain, domain) == 0;
	return n;
}

static void on_due_row(void *arg, const struct queue_row *row)
{
	struct due_ctx *ctx = arg;
	struct queue_runner *q = ctx->q;
	char key[300];
	snprintf(key, sizeof(key), "%s/%s", row->msg_id, row->domain);
	if (in_flight(q, key))
		return;
	for (size_t i = 0; i < ctx->ngroups; i++) {
		struct delivery *d = ctx->groups[i];
		if (strcmp(d->key, key) == 0) {
			if (d->nrcpt < DELIVERY_MAX_RCPTS) {
				d->rcpt[d->nrcpt].id = row->rcpt_id;
				snprintf(d->rcpt[d->nrcpt].addr, sizeof(d->rcpt[0].addr), "%s", row->rcpt);
				d->rcpt[d->nrcpt++].attempts = row->attempts;
			}
			return;
		}
	}
	if (q->nactive + (int)ctx->ngroups >= q->cfg->queue.concurrency ||
	    ctx->ngroups == DUE_BATCH || circuit_paused(q, row->domain) ||
	    active_for_domain(q, ctx, row->domain) >= q->cfg->queue.per_domain)
		return;
	struct delivery *d = xcalloc(1, sizeof(*d));
	d->q = q;
	snprintf(d->key, sizeof(d->key), "%s", key);
	snprintf(d->msg_id, sizeof(d->msg_id), "%s", row->msg_id);
	snprintf(d->domain, sizeof(d->domain), "%s", row->domain);
	snprintf(d->path, sizeof(d->path), "%s", row->path);
	snprintf(d->sender, sizeof(d->sender), "%s", row->sender);
	d->size = row->size;
	d->smtputf8 = row->smtputf8;
	d->created = row->created;
	d->rcpt[0].id = row->rcpt_id;
	snprintf(d->rcpt[0].addr, sizeof(d->rcpt[0].addr), "%s", row->rcpt);
	d->rcpt[0].attempts = row->attempts;
	d->nrcpt = 1;
	ctx->groups[ctx->ngroups++] = d;
}

static void schedule(struct queue_runner *q)
{
	struct due_ctx *ctx = xcalloc(1, sizeof(*ctx));
	ctx->q = q;
	store_queue_due(q->store, now_s(), DUE_BATCH, DELIVERY_MAX_RCPTS, on_due_row, ctx);
	for (size_t i = 0; i < ctx->ngroups; i++) {
		struct delivery *d = ctx->groups[i];
		LIST_INSERT_HEAD(&q->active, d, entry);
		q->nactive++;
		delivery_start(d); /* may finish (and free d) at once */
	}
	free(ctx);
}

static void run_queue(struct queue_runner *q)
{
	if (q->stopping)
		return;
	report_finished_messages(q);
	report_delay_warnings(q);
	dmarc_send_tick(q);
	circuits_sweep(q);
	greylist_sweep_tick(q);
	schedule(q);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	run_queue(arg);
}

void queue_runner_wake(void *arg)
{
	struct queue_runner *q = arg;
	/* event_active is thread-safe once evthread locking is on */
	event_active(q->wake_ev, EV_READ, 0);
}

/* ---- start-up: files that never made it into the queue ----------------------------- */

static void remove_orphans(struct queue_runner *q)
{
	char dir[4096], path[4400];
	snprintf(dir, sizeof(dir), "%s/queue", q->cfg->data_dir);
	DIR *dp = opendir(dir);
	if (dp == NULL)
		return;
	for (struct dirent *e; (e = readdir(dp)) != NULL;) {
		struct stat sb;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		/* an unrecorded file was never acknowledged to the client, or was left
		 * between removing a finished message's rows and its file: drop it.
		 * This runs before the listeners accept anything, so no commit can be
		 * writing one right now. */
		if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
		    store_queue_has_path(q->store, path) == 0) {
			unlink(path);
			log_event(LOG_WARN, "queue.orphan_removed", "s", "file", path, NULL);
		}
	}
	closedir(dp);
}

/* ---- lifecycle ------------------------------------------------------------------------- */

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
	struct queue_runner *q = arg;
	struct timeval grace = { (time_t)(q->cfg->timeouts.shutdown_ms / 1000),
	                         (suseconds_t)(q->cfg->timeouts.shutdown_ms % 1000) * 1000 };
	(void)fd;
	(void)what;
	q->stopping = true;
	evtimer_del(q->tick_ev);
	if (q->nactive == 0 && q->pending_jobs == 0)
		event_base_loopexit(q->base, NULL);
	else
		evtimer_add(q->deadline_ev, &grace);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct queue_runner *q = arg;
	(void)fd;
	(void)what;
	/* what is still in flight stays pending and is retried after restart */
	while (!LIST_EMPTY(&q->active)) {
		struct delivery *d = LIST_FIRST(&q->active);
		delivery_abort(d);
		LIST_REMOVE(d, entry);
		q->nactive--;
		free(d);
	}
	if (q->pending_jobs == 0)
		event_base_loopexit(q->base, NULL);
}

static void *runner_main(void *arg)
{
	struct queue_runner *q = arg;
	struct timeval tick = { TICK_MS / 1000, 0 };
	event_add(q->tick_ev, &tick);
	run_queue(q);
	event_base_dispatch(q->base);
	smtp_client_free_lingering();   /* clients still waiting for a QUIT reply */
	return NULL;
}

void queue_runner_set_srs(struct queue_runner *q, const struct srs *srs)
{
	q->srs = srs;
}

struct queue_runner *queue_runner_new(const struct config *cfg, struct committer *committer,
                                      char *err, size_t errlen)
{
	struct queue_runner *q = xcalloc(1, sizeof(*q));
	q->cfg = cfg;
	q->committer = committer;
	LIST_INIT(&q->active);
	q->base = event_base_new();
	q->store = store_open(cfg->data_dir, err, errlen);
	if (q->base == NULL || q->store == NULL)
		goto fail;
	store_set_durable(q->store); /* "delivered" must be on disk before anything else */
	q->resolver = resolver_new(q->base, (const char *const *)cfg->dns.servers, cfg->dns.nservers,
	                           err, errlen);
	if (q->resolver == NULL)
		goto fail;
	for (size_t i = 0; i < cfg->dns.nallow_zones; i++)
		if (resolver_allow_zone(q->resolver, cfg->dns.allow_zones[i], err, errlen) < 0)
			goto fail;
	q->ssl_ctx = smtp_client_ssl_ctx(cfg->queue.tls_ca_file, err, errlen);
	if (q->ssl_ctx == NULL)
		goto fail;
	remove_orphans(q);
	q->tick_ev = event_new(q->base, -1, EV_PERSIST, on_tick, q);
	q->wake_ev = event_new(q->base, -1, 0, on_tick, q);
	q->stop_ev = event_new(q->base, -1, 0, on_stop, q);
	q->deadline_ev = evtimer_new(q->base, on_deadline, q);
	return q;
fail:
	queue_runner_free(q);
	return NULL;
}

int queue_runner_start(struct queue_runner *q, char *err, size_t errlen)
{
	if (pthread_create(&q->thread, NULL, runner_main, q) != 0) {
		snprintf(err, errlen, "cannot start the queue runner thread");
		return -1;
	}
	q->started = true;
	return 0;
}

void queue_runner_stop(struct queue_runner *q)
{
	if (q == NULL || !q->started)
		return;
	event_active(q->stop_ev, EV_READ, 0);
	pthread_join(q->thread, NULL);
	q->started = false;
}

void queue_runner_free(struct queue_runner *q)
{
	if (q == NULL)
		return;
	queue_runner_stop(q);
	while (!LIST_EMPTY(&q->active)) {
		struct delivery *d = LIST_FIRST(&q->active);
		delivery_abort(d);
		LIST_REMOVE(d, entry);
		free(d);
	}
	if (q->tick_ev)
		event_free(q->tick_ev);
	if (q->wake_ev)
		event_free(q->wake_ev);
	if (q->stop_ev)
		event_free(q->stop_ev);
	if (q->deadline_ev)
		event_free(q->deadline_ev);
	dmarc_send_free(q);             /* before its resolver */
	resolver_free(q->resolver);
	SSL_CTX_free(q->ssl_ctx);
	store_close(q->store);
	if (q->base)
		event_base_free(q->base);
	free(q->circuits);
	free(q->reports);
	free(q);
}
