/* Per-user resources of IMAP sessions: one open mailbox index per user and
 * worker, shared by that user's sessions on the worker (an idle session must
 * not cost a SQLite connection of its own), and the per-user connection cap
 * and search budget across all workers. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <time.h>

#include "core/log.h"
#include "core/util.h"
#include "imap/imap_users.h"
#include "net/server.h"
#include "store/mbox.h"
#include "store/quota.h"
#include "store/store.h"

/* An index nobody uses any more stays open a while: opening one reads its
 * schema and prepares its statements, closing it checkpoints and syncs, and
 * a webmail logs in for every page it shows. A few per worker, briefly. */
#define IDLE_INDEXES_MAX 64
#define IDLE_INDEX_MS (2 * 60 * 1000)

struct user_store {
	struct user_store *next;
	char user[321];
	struct mbox_store *ms;
	int refs;
	uint64_t idle_since_ms;         /* refs 0: when the last session let go */
};

static void close_entry(struct user_store **pp)
{
	struct user_store *u = *pp;
	*pp = u->next;
	mbox_close(u->ms);
	free(u);
}

/* Closes the idle indexes kept too long, and the oldest past the cap; all
 * idle ones when ttl_ms is 0. */
static void close_idle(struct user_store **head, uint64_t now, uint64_t ttl_ms)
{
	size_t idle = 0;
	for (struct user_store **pp = head; *pp;) {
		struct user_store *u = *pp;
		if (u->refs == 0 && (ttl_ms == 0 || now - u->idle_since_ms >= ttl_ms)) {
			close_entry(pp);
			continue;
		}
		idle += u->refs == 0;
		pp = &u->next;
	}
	while (idle > IDLE_INDEXES_MAX) {
		struct user_store **oldest = NULL;
		for (struct user_store **pp = head; *pp; pp = &(*pp)->next)
			if ((*pp)->refs == 0 && (oldest == NULL || (*pp)->idle_since_ms < (*oldest)->idle_since_ms))
				oldest = pp;
		close_entry(oldest);
		idle--;
	}
}

static void close_all_idle(struct worker *w, void **slot)
{
	(void)w;
	close_idle((struct user_store **)slot, now_ms(), 0);
}

static struct user_store **find_store(struct user_store **head, const char *user)
{
	struct user_store **pp = head;
	while (*pp && strcmp((*pp)->user, user) != 0)
		pp = &(*pp)->next;
	return pp;
}

struct mbox_store *imap_store_acquire(struct worker *w, const char *user, const char *maildir,
                                      char *err, size_t errlen)
{
	struct user_store **head = (struct user_store **)worker_slot(w, WORKER_SLOT_IMAP);
	worker_slot_on_stop(w, WORKER_SLOT_IMAP, close_all_idle);
	close_idle(head, now_ms(), IDLE_INDEX_MS);
	struct user_store **pp = find_store(head, user);
	/* an idle index deleted meanwhile (for a rebuild) is opened again */
	if (*pp && (*pp)->refs == 0 && mbox_index_replaced((*pp)->ms))
		close_entry(pp);
	if (*pp) {
		/* the first session after none: the quota's usage row starts right, as
		 * at an opening (a user deleted and made again kept its Maildir) */
		if ((*pp)->refs++ == 0)
			mbox_usage_report((*pp)->ms);
		return (*pp)->ms;
	}
	struct mbox_store *ms = mbox_open(maildir, err, errlen);
	if (ms == NULL)
		return NULL;
	uint32_t mailboxes;
	uint64_t messages;
	if (mbox_index_rebuilt(ms, &mailboxes, &messages))
		log_event(LOG_WARN, "imap.index_rebuilt", "s", "user", user, "s", "maildir", maildir,
		          "i", "mailboxes", (long long)mailboxes, "i", "messages", (long long)messages,
		          NULL);
	/* the quota's usage row follows this index's totals (src/store/quota.h) */
	quota_follow_index(ms, worker_store(w), store_data_dir(worker_store(w)), user);
	struct user_store *u = xcalloc(1, sizeof(*u));
	str_copy(u->user, sizeof(u->user), user);
	u->ms = ms;
	u->refs = 1;
	u->next = *head;
	*head = u;
	return ms;
}

void imap_store_release(struct worker *w, struct mbox_store *ms)
{
	struct user_store **head = (struct user_store **)worker_slot(w, WORKER_SLOT_IMAP);
	for (struct user_store *u = *head; u; u = u->next) {
		if (u->ms != ms)
			continue;
		if (--u->refs == 0)
			u->idle_since_ms = now_ms();
		break;
	}
	close_idle(head, now_ms(), IDLE_INDEX_MS);
}

/* ---- connections and search budget per user, process-wide -------------------------- */

/* An entry lives while the user has a session, or while its search budget is
 * still refilling: logging out and in again must not reset the budget. */
struct user_count {
	struct user_count *next;
	char user[321];
	int n;
	double tokens;          /* searches that may still run now */
	uint64_t refilled_ms;   /* when tokens was last brought up to date */
	int per_min;            /* the budget's size, 0 before the first search */
};

static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;
static struct user_count *counts;

/* Token bucket: per_min tokens, refilled evenly over a minute. */
static void refill(struct user_count *c, uint64_t now)
{
	if (c->per_min == 0)
		return;
	c->tokens += (double)(now - c->refilled_ms) * c->per_min / 60000.0;
	if (c->tokens > c->per_min)
		c->tokens = c->per_min;
	c->refilled_ms = now;
}

static bool budget_full(struct user_count *c, uint64_t now)
{
	refill(c, now);
	return c->per_min == 0 || c->tokens >= c->per_min;
}

/* Drops entries nobody needs any more. Called with count_lock held. */
static void sweep(uint64_t now)
{
	struct user_count **pp = &counts;
	while (*pp) {
		struct user_count *c = *pp;
		if (c->n <= 0 && budget_full(c, now)) {
			*pp = c->next;
			free(c);
		} else {
			pp = &c->next;
		}
	}
}

static struct user_count *find(const char *user)
{
	struct user_count *c = counts;
	while (c && strcmp(c->user, user) != 0)
		c = c->next;
	return c;
}

bool imap_user_connect(const char *user, int max)
{
	bool ok = false;
	pthread_mutex_lock(&count_lock);
	struct user_count *c = find(user);
	if (c == NULL) {
		c = xcalloc(1, sizeof(*c));
		str_copy(c->user, sizeof(c->user), user);
		c->next = counts;
		counts = c;
	}
	if (c->n < max) {
		c->n++;
		ok = true;
	}
	sweep(now_ms());   /* also drops c when refused with nobody connected */
	pthread_mutex_unlock(&count_lock);
	return ok;
}

void imap_user_disconnect(const char *user)
{
	pthread_mutex_lock(&count_lock);
	struct user_count *c = find(user);
	if (c)
		c->n--;
	sweep(now_ms());
	pthread_mutex_unlock(&count_lock);
}

bool imap_user_search_allowed(const char *user, int per_min)
{
	if (per_min <= 0)
		return true;
	bool ok = false;
	pthread_mutex_lock(&count_lock);
	struct user_count *c = find(user);
	if (c) {
		uint64_t now = now_ms();
		if (c->per_min != per_min) {     /* first search, or the limit was reloaded */
			c->per_min = per_min;
			c->tokens = per_min;
			c->refilled_ms = now;
		}
		refill(c, now);
		if (c->tokens >= 1.0) {
			c->tokens -= 1.0;
			ok = true;
		}
	}
	pthread_mutex_unlock(&count_lock);
	return ok;
}
