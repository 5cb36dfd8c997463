/* Reports the queue makes: bounces and delay notices to senders (RFC 3464),
 * and notices to the postmaster for failures no sender can be told of. Each
 * is committed like received mail (Maildir or the queue, null sender); a
 * finished message is removed only once its report is durable. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "mail/header.h"
#include "mailauth/srs.h"
#include "queue/bounce.h"
#include "queue/runner_int.h"
#include "store/commit.h"
#include "store/maildir.h"
#include "store/msgbuf.h"
#include "store/resolve.h"
#include "store/store.h"

#define HEADER_COPY_MAX (64 * 1024)

static long long now_s(void)
{
	return (long long)time(NULL);
}

/* ---- the state of finished messages' reports ---------------------------------- */

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

/* The finished message keeps its rows; its report is tried again after min_retry. */
static void report_later(struct queue_runner *q, const char *msg_id)
{
	report_state_set(q, msg_id, now_s() + (long long)((q->cfg->queue.min_retry_ms + 999) / 1000));
}

static void remove_message(struct queue_runner *q, const char *msg_id)
{
	char path[4096];
	if (store_queue_delete(q->store, msg_id, path, sizeof(path)) == STORE_OK)
		unlink(path);
	log_event(LOG_INFO, "queue.removed", "s", "id", msg_id, NULL);
}

/* ---- injecting a report ------------------------------------------------------------ */

struct inject {
	struct queue_runner *q;
	char remove_id[32];         /* the finished message to remove once this report is safe */
	struct commit_job job;
	struct msgbuf *body;
	char *header;
	char *maildirs[RESOLVE_MAX_TARGETS];
	char *users[RESOLVE_MAX_TARGETS];       /* whose each maildir is (the quota) */
	char *remotes[RESOLVE_MAX_TARGETS];
};

static void inject_free(struct inject *in)
{
	for (size_t i = 0; i < in->job.nmaildirs; i++) {
		free(in->maildirs[i]);
		free(in->users[i]);
	}
	for (size_t i = 0; i < in->job.nremotes; i++)
		free(in->remotes[i]);
	msgbuf_free(in->body);
	free(in->header);
	free(in);
}

static void inject_done(struct commit_job *job, void *arg)
{
	struct inject *in = arg;
	struct queue_runner *q = in->q;
	if (job->result != 0) {
		log_event(LOG_ERROR, "queue.report_failed", "s", "id", in->remove_id,
		          "s", "error", strerror(job->result), NULL);
		if (in->remove_id[0])
			report_later(q, in->remove_id);
	} else if (in->remove_id[0]) {
		report_state_clear(q, in->remove_id);
		remove_message(q, in->remove_id);
	}
	inject_free(in);
	q->pending_jobs--;
	if (q->stopping && q->nactive == 0 && q->pending_jobs == 0)
		event_base_loopexit(q->base, NULL);
}

enum report_route {
	ROUTE_OK,           /* recipients found */
	ROUTE_NOBODY,       /* nobody by that address */
	ROUTE_LATER,        /* not now: the store failed, or no postmaster mailbox yet */
	ROUTE_DROP,         /* a forged or expired SRS address of ours: nobody to tell */
};

/* A report to one of our SRS addresses (the sender of a forward) goes
 * straight to the address it encodes, as a bounce to it from elsewhere
 * would (smtp_srs.c), instead of being queued to ourselves. Decoded once:
 * an SRS1 address gives another forwarder's SRS0, theirs to decode.
 * true with `to` rewritten, or left alone when it is no SRS address of
 * ours; false when it is forged or expired (logged). */
static bool decode_srs(struct queue_runner *q, char *to, size_t len)
{
	char orig[SRS_ADDR_MAX];
	const char *at = strrchr(to, '@');
	/* the local part as written: the original sender's keeps its case */
	size_t local_len = at != NULL ? (size_t)(at - to) : 0;
	if (q->srs == NULL || at == NULL || strcasecmp(at + 1, q->srs->domain) != 0 ||
	    !srs_is_srs_local(to, local_len))
		return true;
	enum srs_result r = srs_reverse(q->srs, to, local_len, time(NULL), orig, sizeof(orig));
	if (r != SRS_OK) {
		log_security(LOG_WARN, "queue.srs_report_dropped", "s", "to", to, "s", "reason",
		             srs_result_name(r), NULL);
		return false;
	}
	log_event(LOG_INFO, "queue.srs_report", "s", "to", to, "s", "decoded", orig, NULL);
	str_copy(to, len, orig);
	return true;
}

/* Where a report to `to` goes: local mailboxes or the queue (with sender <>). */
static enum report_route route_report(struct queue_runner *q, struct inject *in, const char *addr)
{
	char local[65], domain[256], to[SRS_ADDR_MAX];
	struct resolved r;
	str_copy(to, sizeof(to), addr);
	if (!decode_srs(q, to, sizeof(to)))
		return ROUTE_DROP;
	if (resolve_split_address(to, local, sizeof(local), domain, sizeof(domain)) < 0)
		return ROUTE_NOBODY;
	struct resolve_admin admin = resolve_admin_of(q->cfg);
	enum resolve_result rr = resolve_recipient(q->store, &admin, local, domain, &r);
	if (rr == RESOLVE_NOT_LOCAL) {
		in->remotes[in->job.nremotes++] = xstrdup(to);
		return ROUTE_OK;
	}
	if (rr == RESOLVE_TEMPFAIL || rr == RESOLVE_NO_ADMIN)
		return ROUTE_LATER;
	if (rr != RESOLVE_OK)
		return ROUTE_NOBODY;
	for (size_t i = 0; i < r.nmailbox; i++) {
		char path[4096], user[sizeof(r.mailbox[i].local) + sizeof(r.mailbox[i].domain) + 1];
		if (maildir_path(q->cfg->data_dir, r.mailbox[i].domain, r.mailbox[i].local, path,
		                 sizeof(path)) < 0)
			continue;
		snprintf(user, sizeof(user), "%s@%s", r.mailbox[i].local, r.mailbox[i].domain);
		in->users[in->job.nmaildirs] = xstrdup(user);
		in->maildirs[in->job.nmaildirs++] = xstrdup(path);
	}
	for (size_t i = 0; i < r.nremote; i++)
		in->remotes[in->job.nremotes++] = xstrdup(r.remote[i]);
	return in->job.nmaildirs + in->job.nremotes > 0 ? ROUTE_OK : ROUTE_NOBODY;
}

/* Commits a report to `to`, its Received: field carrying trace_id; when
 * remove_id is given, that finished message is removed once the report is
 * durable. Anything but ROUTE_OK: nothing was done. */
static enum report_route inject_report(struct queue_runner *q, const char *to, const char *trace_id,
                                       const char *text, size_t len, const char *remove_id)
{
	struct inject *in = xcalloc(1, sizeof(*in));
	char spool[4096], date[64];
	in->q = q;
	enum report_route route = route_report(q, in, to);
	if (route != ROUTE_OK) {
		inject_free(in);
		return route;
	}
	if (remove_id) {
		str_copy(in->remove_id, sizeof(in->remove_id), remove_id);
		report_state_set(q, remove_id, -1);
	}
	snprintf(spool, sizeof(spool), "%s/spool", q->cfg->data_dir);
	in->body = msgbuf_new(spool);
	msgbuf_append(in->body, text, len);
	msgbuf_finish(in->body);
	rfc5322_date(date, sizeof(date));
	size_t hcap = strlen(q->cfg->hostname) + 160;
	in->header = xmalloc(hcap);
	snprintf(in->header, hcap, "Received: by %s (postern) id %s;\n\t%s\n", q->cfg->hostname,
	         trace_id, date);
	in->job.sender = "";     /* RFC 3464 / RFC 5321 4.5.5: reports use the null sender */
	in->job.header = in->header;
	in->job.header_len = strlen(in->header);
	in->job.body = in->body;
	in->job.maildirs = in->maildirs;
	in->job.users = in->users;
	in->job.remotes = in->remotes;
	in->job.base = q->base;
	in->job.done = inject_done;
	in->job.arg = in;
	q->pending_jobs++;
	committer_submit(q->committer, &in->job);
	return ROUTE_OK;
}

bool report_inject(struct queue_runner *q, const char *to, const char *trace_id, const char *text,
                   size_t len)
{
	return inject_report(q, to, trace_id, text, len, NULL) == ROUTE_OK;
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

/* One report being made: the batch's message and its parsed recipients. */
struct report_job {
	struct report_batch *b;
	struct bounce_rcpt *rcpts;
	char *headers;
	size_t hlen;
};

/* Builds the report and commits it: to the sender, or (to_postmaster) to
 * postmaster@hostname, which the resolver's admin rule takes to the
 * configured postmaster. */
static enum report_route send_report(struct report_job *j, bool to_postmaster)
{
	struct report_batch *b = j->b;
	char to[300];
	size_t len;
	struct bounce_info info = {
		.hostname = b->q->cfg->hostname, .queue_id = b->msg_id, .sender = b->sender,
		.arrival = b->created, .delayed = b->delayed, .to_postmaster = to_postmaster,
		.rcpts = j->rcpts, .nrcpts = b->n, .orig_headers = j->headers, .orig_len = j->hlen,
	};
	if (to_postmaster)
		snprintf(to, sizeof(to), "postmaster@%s", b->q->cfg->hostname);
	else
		str_copy(to, sizeof(to), b->sender);
	char *text = bounce_build(&info, &len);
	enum report_route route = inject_report(b->q, to, to_postmaster ? BOUNCE_TRACE_NOTICE
	                                        : BOUNCE_TRACE_REPORT, text, len,
	                                        b->delayed ? NULL : b->msg_id);
	free(text);
	if (route == ROUTE_OK && !to_postmaster)
		log_event(LOG_INFO, b->delayed ? "queue.delay_notice" : "queue.bounce_sent",
		          "s", "id", b->msg_id, "s", "to", to, "i", "rcpts", (long long)b->n, NULL);
	return route;
}

/* A delay notice is a courtesy: one the sender cannot get is not sent at all. */
static void send_delay_notice(struct report_job *j)
{
	struct report_batch *b = j->b;
	if (!bounce_wanted(b->sender))
		return;
	if (send_report(j, false) != ROUTE_OK)
		log_event(LOG_WARN, "queue.report_unroutable", "s", "id", b->msg_id, "s", "to", b->sender,
		          NULL);
}

/* The admin hears of what no sender can: RFC 5321 6.1 makes an accepted
 * message the server's responsibility, so a failure is never dropped unseen.
 * Kept queued (and retried) while there is nowhere to put the notice. */
static void notify_postmaster(struct report_job *j, const char *reason)
{
	struct report_batch *b = j->b;
	if (bounce_is_postmaster_notice(j->headers, j->hlen, b->q->cfg->hostname)) {
		/* a notice to the postmaster failed in turn: reporting it would go round */
		log_event(LOG_ERROR, "queue.postmaster_notice_failed", "s", "id", b->msg_id,
		          "s", "rcpt", b->rcpts[0].addr, "s", "error", j->rcpts[0].diagnostic, NULL);
		report_state_clear(b->q, b->msg_id);
		remove_message(b->q, b->msg_id);
		return;
	}
	if (send_report(j, true) == ROUTE_OK) {
		log_event(LOG_WARN, "queue.postmaster_notice", "s", "id", b->msg_id,
		          "s", "sender", b->sender, "s", "reason", reason, "i", "rcpts", (long long)b->n,
		          NULL);
		return;
	}
	log_event(LOG_WARN, "queue.postmaster_unreachable", "s", "id", b->msg_id,
	          "s", "hint", "no mailbox for postmaster yet: create a user or set 'postmaster'; "
	          "the message stays queued until then", NULL);
	report_later(b->q, b->msg_id);
}

/* A finished message with failures: the bounce to its sender, or to the
 * postmaster when the sender cannot have it. */
static void send_bounce(struct report_job *j)
{
	struct report_batch *b = j->b;
	if (!bounce_wanted(b->sender)) {
		notify_postmaster(j, *b->sender ? "sender is the mail system" : "null sender");
		return;
	}
	enum report_route route = send_report(j, false);
	if (route == ROUTE_DROP) {
		report_state_clear(b->q, b->msg_id);
		remove_message(b->q, b->msg_id);
	} else if (route == ROUTE_NOBODY)
		notify_postmaster(j, "sender has no mailbox here");
	else if (route == ROUTE_LATER) {
		log_event(LOG_WARN, "queue.report_deferred", "s", "id", b->msg_id, "s", "to", b->sender,
		          NULL);
		report_later(b->q, b->msg_id);
	}
}

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
	if (b->n == 0) {
		if (!b->delayed)
			remove_message(b->q, b->msg_id);
		return;
	}
	struct report_job j = { b, xcalloc(b->n, sizeof(struct bounce_rcpt)), NULL, 0 };
	j.headers = read_headers(b->path, &j.hlen);
	for (size_t i = 0; i < b->n; i++) {
		bounce_detail_parse(b->rcpts[i].detail, &j.rcpts[i].status, &j.rcpts[i].remote_mta,
		                    &j.rcpts[i].diagnostic);
		j.rcpts[i].rcpt = b->rcpts[i].addr;
	}
	if (b->delayed)
		send_delay_notice(&j);
	else
		send_bounce(&j);
	free(j.headers);
	free(j.rcpts);
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

void report_finished_messages(struct queue_runner *q)
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

void report_delay_warnings(struct queue_runner *q)
{
	struct report_batch b = { .q = q, .delayed = true };
	long long before = now_s() - (long long)(q->cfg->queue.warn_after_ms / 1000);
	if (store_queue_to_warn(q->store, before, on_warn_row, &b) > 0)
		flush_report(&b);
	free(b.rcpts);
}
