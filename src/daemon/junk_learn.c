/* IMAP's Junk moves to rspamd's learner, one learner per worker, kept in
 * the worker's slot and freed with it (before its loop is). */
#include <stddef.h>

#include "core/config.h"
#include "daemon/junk_learn.h"
#include "filter/rspamd.h"
#include "imap/imap_junk.h"
#include "net/server.h"

static void learner_free(struct worker *w, void **slot)
{
	rspamd_learner_free(*slot);
	*slot = NULL;
}

static bool learn(void *arg, struct worker *w, bool spam, const char *path)
{
	void **slot = worker_slot(w, WORKER_SLOT_JUNK_LEARN);
	if (*slot == NULL) {
		*slot = rspamd_learner_new(worker_base(w), &worker_config(w)->rspamd);
		worker_slot_on_stop(w, WORKER_SLOT_JUNK_LEARN, learner_free);
	}
	rspamd_learn(*slot, spam, path);
	return rspamd_learn_has_room(*slot);
}

void junk_learn_install(const struct config *cfg)
{
	imap_junk_set_hook(cfg->rspamd.enabled && cfg->rspamd.learn ? learn : NULL, NULL);
}
