/* Mailbox index: the totals of all mailboxes, and telling a usage sink
 * (the quota's) of their changes from inside the write transaction. */
#include <stdlib.h>
#include <string.h>

#include "store/mbox_int.h"

static const char usage_sql[] =
	"SELECT coalesce(sum(total_size), 0), coalesce(sum(n_messages), 0) FROM mailboxes";

int mbox_usage(struct mbox_store *ms, struct mbox_usage *out)
{
	sqlite3_stmt *s = mbox_stmt(ms, usage_sql);
	if (s == NULL)
		return MBOX_ERROR;
	int rc = mbox_row_result(sqlite3_step(s));
	if (rc == MBOX_OK) {
		out->storage = (uint64_t)sqlite3_column_int64(s, 0);
		out->messages = (uint64_t)sqlite3_column_int64(s, 1);
	}
	mbox_stmt_done(s);
	return rc;
}

void mbox_set_usage_sink(struct mbox_store *ms, const struct mbox_usage_sink *sink)
{
	if (ms->sink.free != NULL)
		ms->sink.free(ms->sink.arg);
	memset(&ms->sink, 0, sizeof(ms->sink));
	if (sink != NULL)
		ms->sink = *sink;
}

void mbox_usage_begin(struct mbox_store *ms)
{
	if (ms->sink.changed != NULL)
		ms->usage_known = mbox_usage(ms, &ms->usage_before) == MBOX_OK;
}

void mbox_usage_taking_new(struct mbox_store *ms)
{
	if (ms->sink.taking_new != NULL)
		ms->sink.taking_new(ms->sink.arg);
}

void mbox_usage_end(struct mbox_store *ms, bool took_new)
{
	struct mbox_usage now;
	if (ms->sink.changed == NULL || mbox_usage(ms, &now) != MBOX_OK)
		return;
	/* flag changes and cache writes leave the totals alone: nothing to say */
	if (took_new || !ms->usage_known || now.storage != ms->usage_before.storage ||
	    now.messages != ms->usage_before.messages)
		ms->sink.changed(ms->sink.arg, &now, took_new);
}

int mbox_usage_report(struct mbox_store *ms)
{
	struct mbox_usage now;
	if (ms->sink.changed == NULL)
		return MBOX_OK;
	if (sqlite3_exec(ms->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return MBOX_ERROR;
	int rc = mbox_usage(ms, &now);
	if (rc == MBOX_OK)
		ms->sink.changed(ms->sink.arg, &now, false);
	if (sqlite3_exec(ms->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_exec(ms->db, "ROLLBACK", NULL, NULL, NULL);
		return MBOX_ERROR;
	}
	return rc;
}
