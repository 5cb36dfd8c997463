/* Per-user resources of IMAP sessions: one open mailbox index per user and
 * worker, shared by that user's sessions on the worker (an idle session must
 * not cost a SQLite connection of its own), and the per-user connection cap
 * across all workers. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "imap/imap_users.h"
#include "net/server.h"
#include "store/mbox.h"

struct user_store {
	struct user_store *next;
	char user[321];
	struct mbox_store *ms;
	int refs;
};

struct mbox_store *imap_store_acquire(struct worker *w, const char *user, const char *maildir,
                                      char *err, size_t errlen)
{
	struct user_store **head = (struct user_store **)worker_slot(w, WORKER_SLOT_IMAP);
	for (struct user_store *u = *head; u; u = u->next) {
		if (strcmp(u->user, user) == 0) {
			u->refs++;
			return u->ms;
		}
	}
	struct mbox_store *ms = mbox_open(maildir, err, errlen);
	if (ms == NULL)
		return NULL;
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
	struct user_store **pp = (struct user_store **)worker_slot(w, WORKER_SLOT_IMAP);
	for (; *pp; pp = &(*pp)->next) {
		struct user_store *u = *pp;
		if (u->ms != ms)
			continue;
		if (--u->refs == 0) {
			*pp = u->next;
			mbox_close(u->ms);
			free(u);
		}
		return;
	}
}

/* ---- connections per user, process-wide ------------------------------------------- */

struct user_count {
	struct user_count *next;
	char user[321];
	int n;
};

static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;
static struct user_count *counts;

bool imap_user_connect(const char *user, int max)
{
	bool ok = false;
	pthread_mutex_lock(&count_lock);
	struct user_count *c = counts;
	while (c && strcmp(c->user, user) != 0)
		c = c->next;
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
	if (c->n == 0) {      /* refused with nobody connected: do not keep an empty entry */
		struct user_count **pp = &counts;
		while (*pp != c)
			pp = &(*pp)->next;
		*pp = c->next;
		free(c);
	}
	pthread_mutex_unlock(&count_lock);
	return ok;
}

void imap_user_disconnect(const char *user)
{
	pthread_mutex_lock(&count_lock);
	for (struct user_count **pp = &counts; *pp; pp = &(*pp)->next) {
		struct user_count *c = *pp;
		if (strcmp(c->user, user) != 0)
			continue;
		if (--c->n <= 0) {
			*pp = c->next;
			free(c);
		}
		break;
	}
	pthread_mutex_unlock(&count_lock);
}
