/* The index's side of a user's usage row (quota.h): a mailbox usage sink
 * that writes the index's totals, and claims the deliveries a sync of INBOX
 * takes in. Runs inside the index's write transaction (mbox_usage.c). */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"
#include "store/mbox.h"
#include "store/quota.h"
#include "store/resolve.h"
#include "store/store.h"

struct follower {
	struct store *st;               /* NULL until first needed when it is our own */
	bool own;
	char *data_dir;
	char local[65], domain[256];
	struct store_quota_delta claimed;   /* pending as taking_new read it */
	bool claim_read;
};

static struct store *follower_store(struct follower *f)
{
	char err[512];
	if (f->st == NULL && f->own) {
		f->st = store_open(f->data_dir, err, sizeof(err));
		if (f->st == NULL)
			log_event(LOG_WARN, "quota.store_unavailable", "s", "error", err, NULL);
	}
	return f->st;
}

/* Under the index's write lock, before new/ is read: every copy counted so
 * far is in new/ already (the committer counts after its rename), so the
 * sync takes in at least these, and claims exactly these. */
static void on_taking_new(void *arg)
{
	struct follower *f = arg;
	struct store *st = follower_store(f);
	f->claim_read = st != NULL &&
	                store_quota_pending(st, f->local, f->domain, &f->claimed) == STORE_OK;
}

static void on_changed(void *arg, const struct mbox_usage *totals, bool took_new)
{
	struct follower *f = arg;
	struct store *st = follower_store(f);
	bool claim = took_new && f->claim_read;
	f->claim_read = false;
	if (st == NULL)
		return;
	int rc = store_quota_set_indexed(st, f->local, f->domain, totals->storage, totals->messages,
	                                 claim ? &f->claimed : NULL);
	/* the next change writes the totals again; a claim missed stays pending
	 * and the next sync of INBOX claims it with the rest */
	if (rc == STORE_ERROR)
		log_event(LOG_WARN, "quota.usage_not_written", "s", "user", f->local,
		          "s", "domain", f->domain, NULL);
}

static void follower_free(void *arg)
{
	struct follower *f = arg;
	if (f->own)
		store_close(f->st);
	free(f->data_dir);
	free(f);
}

void quota_follow_index(struct mbox_store *ms, struct store *st, const char *data_dir,
                        const char *user)
{
	struct follower *f = xcalloc(1, sizeof(*f));
	if (resolve_split_address(user, f->local, sizeof(f->local), f->domain, sizeof(f->domain)) < 0) {
		free(f);
		return;
	}
	f->st = st;
	f->own = st == NULL;
	f->data_dir = xstrdup(data_dir);
	struct mbox_usage_sink sink = { on_taking_new, on_changed, follower_free, f };
	mbox_set_usage_sink(ms, &sink);
	/* once per opening of an index (a login): the row starts right */
	mbox_usage_report(ms);
}
