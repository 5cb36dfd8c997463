/* The delivery's side of a user's usage row (quota.h): copies the
 * committer made durable are counted, and a copy that takes the mailbox
 * across the line brings the user the warning, once per crossing. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"
#include "store/maildir.h"
#include "store/quota.h"
#include "store/resolve.h"
#include "store/store.h"

struct warn_run {
	const struct quota_limits *defaults;
	const struct store_quota_delivery *rows;
	/* per row: whether its user gets the warning, and the state it tells of */
	bool *send;
	struct quota_limits *limits;
	struct quota_usage *used;
};

static uint64_t minus(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/* Inside the transaction that counted delivery i: what it did to the line. */
static int decide_warning(void *arg, size_t i, const struct store_quota *after)
{
	struct warn_run *w = arg;
	struct quota_limits l = quota_limits_of(after, w->defaults);
	struct quota_usage now = { after->storage, after->messages };
	struct quota_usage before = { minus(now.storage, w->rows[i].size), minus(now.messages, 1) };
	switch (quota_warning_step(&l, &before, &now, after->warned)) {
	case QUOTA_WARN_SEND:
		w->send[i] = true;
		w->limits[i] = l;
		w->used[i] = now;
		return 1;
	case QUOTA_WARN_REARM:
		return -1;
	default:
		return 0;
	}
}

/* Delivers the warning into the Maildir the copy went to, and counts it too. */
static void send_warning(struct store *st, const char *hostname, const struct quota_delivery *d,
                         const struct store_quota_delivery *row, const struct quota_limits *l,
                         const struct quota_usage *used)
{
	size_t len;
	char *text = quota_notice_build(hostname, d->user, l, used, &len);
	if (maildir_deliver_text(d->maildir, hostname, text, len) < 0) {
		log_event(LOG_ERROR, "quota.warning_failed", "s", "user", d->user, "s", "error",
		          strerror(errno), NULL);
	} else {
		uint64_t lines = 0;
		for (size_t i = 0; i < len; i++)
			lines += text[i] == '\n';
		struct store_quota_delivery notice = { row->local, row->domain, len + lines };
		store_quota_add_deliveries(st, &notice, 1, NULL, NULL);
		log_event(LOG_INFO, "quota.warning_sent", "s", "user", d->user,
		          "i", "storage", (long long)used->storage, "i", "storage_limit",
		          (long long)l->storage, "i", "messages", (long long)used->messages,
		          "i", "message_limit", (long long)l->messages, NULL);
	}
	free(text);
}

void quota_count_deliveries(struct store *st, const struct quota_limits *defaults,
                            const char *hostname, const struct quota_delivery *d, size_t n)
{
	if (n == 0)
		return;
	struct store_quota_delivery *rows = xcalloc(n, sizeof(*rows));
	size_t *from = xcalloc(n, sizeof(*from));      /* the delivery each row counts */
	char (*locals)[65] = xcalloc(n, sizeof(*locals));
	char (*domains)[256] = xcalloc(n, sizeof(*domains));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (resolve_split_address(d[i].user, locals[k], sizeof(locals[k]), domains[k],
		                          sizeof(domains[k])) < 0)
			continue;   /* never: users come from the resolver */
		rows[k] = (struct store_quota_delivery){ locals[k], domains[k], d[i].size };
		from[k++] = i;
	}
	struct warn_run w = { defaults, rows, xcalloc(n, sizeof(bool)), xcalloc(n, sizeof(*w.limits)),
	                      xcalloc(n, sizeof(*w.used)) };
	if (store_quota_add_deliveries(st, rows, k, decide_warning, &w) == STORE_OK) {
		for (size_t i = 0; i < k; i++)
			if (w.send[i])
				send_warning(st, hostname, &d[from[i]], &rows[i], &w.limits[i], &w.used[i]);
	} else {
		/* the index's next sync of INBOX puts them in its totals all the same */
		log_event(LOG_WARN, "quota.deliveries_not_counted", "i", "copies", (long long)k, NULL);
	}
	free(rows);
	free(from);
	free(locals);
	free(domains);
	free(w.send);
	free(w.limits);
	free(w.used);
}
