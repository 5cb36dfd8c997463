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
#include "mail/header.h"
#include "queue/backoff.h"
#include "queue/bounce.h"
#include "queue/runner_int.h"
#include "store/commit.h"
#include "store/msgbuf.h"
#include "store/resolve.h"
#include "store/maildir.h"
#include "store/store.h"

#define DUE_BATCH 500
#define TICK_MS 1000
#define HEADER_COPY_MAX (64 * 1024)

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

/* ---- injecting reports (bounces, delay warnings) ---------------------------- */

struct inject {
	struct queue_runner *q;
	char remove_id[32];         /* the finished message to remove once this report is safe */
	struct commit_job job;
	struct msgbuf *body;
	char *header;
	char *maildirs[RESOLVE_MAX_TARGETS];
	char *remotes[RESOLVE_MAX_TARGETS];
};

static struct report_state *report_state(struct queue_runner *q, const char *msg_id)
{
	for (size_t i = 0; i < q->nreports; i++)
		if (strcmp(q->reports[i].msg_id, msg_id) == 0)
			return &q->reports[i];
	return NULL;
}

static void report_state_set(struct queue_runner *q, const char *msg_id, long long until)
{
	struct report_state *r = report_state(q, msg_id);
	if (r == NULL) {
		q->reports = xrealloc(q->reports, (q->nreports + 1) * sizeof(*q->reports));
		r = &q->reports[q->nreports++];
		str_copy(r->msg_id, sizeof(r->msg_id), msg_id);
	}
	r->until = until;
}

static void report_state_clear(struct queue_runner *q, const char *msg_id)
{
	struct report_state *r = report_state(q, msg_id);
	if (r != NULL)
		*r = q->reports[--q->nreports];
}

static void remove_message(struct queue_runner *q, const char *msg_id)
{
	char path[4096];
	if (store_queue_delete(q->store, msg_id, path, sizeof(path)) == STORE_OK)
		unlink(path);
	log_event(LOG_INFO, "queue.removed", "s", "id", msg_id, NULL);
}

static void inject_done(struct commit_job *job, void *arg)
{
	struct inject *in = arg;
	struct queue_runner *q = in->q;
	if (job->result != 0) {
		log_event(LOG_ERROR, "queue.report_failed", "s", "id", in->remove_id,
		          "s", "error", strerror(job->result), NULL);
		/* the message stays queued: its report is tried again after min_retry */
		if (in->remove_id[0])
			report_state_set(q, in->remove_id,
			                 now_s() + (long long)((q->cfg->queue.min_retry_ms + 999) / 1000));
	} else if (in->remove_id[0]) {
		report_state_clear(q, in->remove_id);
		remove_message(q, in->remove_id);
	}
	for (size_t i = 0; i < job->nmaildirs; i++)
		free(in->maildirs[i]);
	for (size_t i = 0; i < job->nremotes; i++)
		free(in->remotes[i]);
	msgbuf_free(in->body);
	free(in->header);
	free(in);
	q->pending_jobs--;
	if (q->stopping && q->nactive == 0 && q->pending_jobs == 0)
		event_base_loopexit(q->base, NULL);
}

/* Where a report to `to` goes: local mailboxes or the queue (with sender <>). */
static bool route_report(struct queue_runner *q, struct inject *in, const char *to)
{
	char local[65], domain[256];
	struct resolved r;
	if (resolve_split_address(to, local, sizeof(local), domain, sizeof(domain)) < 0)
		return false;
	struct resolve_admin admin = resolve_admin_of(q->cfg);
	enum resolve_result rr = resolve_recipient(q->store, &admin, local, domain, &r);
	if (rr == RESOLVE_NOT_LOCAL) {
		in->remotes[in->job.nremotes++] = xstrdup(to);
		return true;
	}
	if (rr != RESOLVE_OK)
		return false;
	for (size_t i = 0; i < r.nmailbox; i++) {
		char path[4096];
		if (maildir_path(q->cfg->data_dir, r.mailbox[i].domain, r.mailbox[i].local, path,
		                 sizeof(path)) == 0)
			in->maildirs[in->job.nmaildirs++] = xstrdup(path);
	}
	for (size_t i = 0; i < r.nremote; i++)
		in->remotes[in->job.nremotes++] = xstrdup(r.remote[i]);
	return in->job.nmaildirs + in->job.nremotes > 0;
}

/* Commits a report to `to`; when remove_id is given, that finished message is
 * removed only once the report is durable. */
static void inject_report(struct queue_runner *q, const char *to, const char *text, size_t len,
                          const char *remove_id)
{
	struct inject *in = xcalloc(1, sizeof(*in));
	char spool[4096], date[64];
	in->q = q;
	if (remove_id)
		str_copy(in->remove_id, sizeof(in->remove_id), remove_id);
	if (!route_report(q, in, to)) {
		/* nowhere to send it (the sender's mailbox is gone): drop it, say so */
		log_event(LOG_WARN, "queue.report_unroutable", "s", "id", remove_id, "s", "to", to, NULL);
		q->pending_jobs++;
		inject_done(&in->job, in); /* frees; removes the message */
		return;
	}
	if (remove_id)
		report_state_set(q, remove_id, -1);
	snprintf(spool, sizeof(spool), "%s/spool", q->cfg->data_dir);
	in->body = msgbuf_new(spool);
	msgbuf_append(in->body, text, len);
	msgbuf_finish(in->body);
	rfc5322_date(date, sizeof(date));
	size_t hcap = strlen(q->cfg->hostname) + 128;
	in->header = xmalloc(hcap);
	snprintf(in->header, hcap, "Received: by %s (postern) id report;\n\t%s\n", q->cfg->hostname, date);
	in->job.sender = "";     /* RFC 3464 / RFC 5321 4.5.5: reports use the null sender */
	in->job.header = in->header;
	in->job.header_len = strlen(in->header);
	in->job.body = in->body;
	in->job.maildirs = in->maildirs;
	in->job.remotes = in->remotes;
	in->job.base = q->base;
	in->job.done = inject_done;
	in->job.arg = in;
	q->pending_jobs++;
	committer_submit(q->committer, &in->job);
}

/* The original header block, bounded, for text/rfc822-headers: whole
 * lines up to HEADER_COPY_MAX octets. */
static char *read_headers(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	/* the empty line after a header of just HEADER_COPY_MAX octets, too */
	char *buf = xmalloc(HEADER_COPY_MAX + 3);
	size_t n = 0, scan = 0, hdr_len, body;
	if (f != NULL) {
		n = fread(buf, 1, HEADER_COPY_MAX + 2, f);
		fclose(f);
	}
	if (!mail_header_block_end(buf, n, &scan, &hdr_len, &body))
		hdr_len = n;
	if (hdr_len > HEADER_COPY_MAX) {
		const char *nl = memrchr(buf, '\n', HEADER_COPY_MAX);
		hdr_len = nl != NULL ? (size_t)(nl - buf) + 1 : 0;
	}
	buf[hdr_len] = '\0';
	*len = hdr_len;
	return buf;
}

/* ---- per-message report collection ---------------------------------------- */

struct report_rcpt {
	char addr[260];
	char detail[700];
};

struct report_batch {
	struct queue_runner *q;
	bool delayed;
	char msg_id[32], sender[260], path[4096];
	long long created;
	bool have_msg;
	struct report_rcpt *rcpts;
	size_t n, cap;
};

/* Sends the report of the message collected so far (if it needs one) and,
 * for a finished message, removes it: after the report is durable when there
 * is one, at once when there is none. */
static void flush_report(struct report_batch *b)
{
	if (!b->have_msg)
		return;
	struct report_state *st = b->delayed ? NULL : report_state(b->q, b->msg_id);
	if (st != NULL && (st->until < 0 || st->until > now_s())) {
		b->n = 0;   /* a report for it is being committed, or waits to be retried */
		return;
	}
	if (b->n > 0 && bounce_wanted(b->sender)) {
		size_t hlen, len;
		char *headers = read_headers(b->path, &hlen);
		struct bounce_rcpt *r = xcalloc(b->n, sizeof(*r));
		for (size_t i = 0; i < b->n; i++) {
			bounce_detail_parse(b->rcpts[i].detail, &r[i].status, &r[i].remote_mta, &r[i].diagnostic);
			r[i].rcpt = b->rcpts[i].addr;
		}
		struct bounce_info info = {
			.hostname = b->q->cfg->hostname, .queue_id = b->msg_id, .sender = b->sender,
			.arrival = b->created, .delayed = b->delayed, .rcpts = r, .nrcpts = b->n,
			.orig_headers = headers, .orig_len = hlen,
		};
		char *text = bounce_build(&info, &len);
		inject_report(b->q, b->sender, text, len, b->delayed ? NULL : b->msg_id);
		log_event(LOG_INFO, b->delayed ? "queue.delay_notice" : "queue.bounce_sent",
		          "s", "id", b->msg_id, "s", "to", b->sender, "i", "rcpts", (long long)b->n, NULL);
		free(text);
		free(headers);
		free(r);
	} else if (!b->delayed) {
		remove_message(b->q, b->msg_id);
	}
	b->n = 0;
}

static void collect_row(struct report_batch *b, const struct queue_row *row, bool include)
{
	if (!b->have_msg || strcmp(b->msg_id, row->msg_id) != 0) {
		flush_report(b);
		snprintf(b->msg_id, sizeof(b->msg_id), "%s", row->msg_id);
		snprintf(b->sender, sizeof(b->sender), "%s", row->sender);
		snprintf(b->path, sizeof(b->path), "%s", row->path);
		b->created = row->created;
		b->have_msg = true;
	}
	if (!include)
		return;
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 16;
		b->rcpts = xrealloc(b->rcpts, b->cap * sizeof(struct report_rcpt));
	}
	str_copy(b->rcpts[b->n].addr, sizeof(b->rcpts[0].addr), row->rcpt);
	str_copy(b->rcpts[b->n].detail, sizeof(b->rcpts[0].detail), row->last_error ? row->last_error : "");
	b->n++;
}

static void on_finished_row(void *arg, const struct queue_row *row)
{
	collect_row(arg, row, strcmp(row->status, "bounced") == 0);
}

static void finish_messages(struct queue_runner *q)
{
	struct report_batch b = { .q = q };
	if (store_queue_finished(q->store, on_finished_row, &b) > 0)
		flush_report(&b);
	free(b.rcpts);
}

static void on_warn_row(void *arg, const struct queue_row *row)
{
	struct report_batch *b = arg;
	if (!b->have_msg || strcmp(b->msg_id, row->msg_id) != 0)
		store_queue_set_warned(b->q->store, row->msg_id);
	collect_row(b, row, true);
}

static void send_warnings(struct queue_runner *q)
{
	struct report_batch b = { .q = q, .delayed = true };
	long long before = now_s() - (long long)(q->cfg->queue.warn_after_ms / 1000);
	if (store_queue_to_warn(q->store, before, on_warn_row, &b) > 0)
		flush_report(&b);
	free(b.rcpts);
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
	finish_messages(q);
	send_warnings(q);
	circuits_sweep(q);
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
	resolver_free(q->resolver);
	SSL_CTX_free(q->ssl_ctx);
	store_close(q->store);
	if (q->base)
		event_base_free(q->base);
	free(q->circuits);
	free(q->reports);
	free(q);
}
