/* The ban table and the store (src/net/ban.h): the server's bans are
 * written, the CLI's changes are read. All of it on the server's main
 * thread, never on a worker's loop. */
#include "net/ban.h"

#include <stdlib.h>

#include "core/log.h"
#include "core/util.h"
#include "store/store_ban.h"

/* Rows remembered past max_duration are dropped this often. */
#define BAN_FORGET_EVERY_MS (60 * 1000)

static void to_row(const struct ban_entry *e, struct store_ban *r)
{
	*r = (struct store_ban){ .key = e->key, .until_ms = e->until_ms,
	                         .created_ms = e->created_ms, .offences = e->offences,
	                         .reason = e->reason, .source = e->source };
}

static void add_row(void *arg, const struct store_ban *r)
{
	struct ban_entry e = { .until_ms = r->until_ms, .created_ms = r->created_ms,
	                       .offences = r->offences };
	str_copy(e.key, sizeof(e.key), r->key);
	str_copy(e.reason, sizeof(e.reason), r->reason);
	str_copy(e.source, sizeof(e.source), r->source);
	if (!ban_map_put(arg, &e, false))
		log_event(LOG_WARN, "ban.bad_row", "s", "key", r->key, NULL);
}

static int reload(struct ban_table *t, struct store *st)
{
	struct ban_map *m = ban_map_new();
	long long g = 0;
	if (store_ban_list(st, add_row, m, &g) != STORE_OK) {
		ban_map_free(m);
		return -1;
	}
	ban_table_replace(t, m);
	ban_table_set_generation(t, g);
	return 0;
}

/* Writes what was banned here since the last sync. *others: another writer
 * changed the store meanwhile. */
static int write_unwritten(struct ban_table *t, struct store *st, bool *others)
{
	size_t n = 0;
	struct ban_entry *e = ban_table_unwritten(t, &n);
	long long g = 0;
	int rc = STORE_OK;
	if (n == 0) {
		rc = store_ban_generation(st, &g);
	} else {
		struct store_ban *rows = xcalloc(n, sizeof(*rows));
		for (size_t i = 0; i < n; i++)
			to_row(&e[i], &rows[i]);
		rc = store_ban_put(st, rows, n, &g);
		free(rows);
		if (rc == STORE_OK)
			ban_table_written(t, e, n);
	}
	free(e);
	if (rc != STORE_OK)
		return -1;
	/* each row written moves the generation by one: more is someone else's */
	*others = ban_table_generation(t) < 0 || g != ban_table_generation(t) + (long long)n;
	ban_table_set_generation(t, g);
	return 0;
}

static int forget_now_and_then(struct ban_table *t, struct store *st, int64_t now, bool *changed)
{
	if (!ban_table_forget_due(t, now, BAN_FORGET_EVERY_MS))
		return 0;
	int64_t before = now - (int64_t)ban_table_policy(t)->max_duration_ms;
	int n = store_ban_forget(st, before);
	if (n < 0)
		return -1;
	ban_table_forget(t, before);
	if (n > 0)
		*changed = true;   /* simplest: read the rows again */
	return 0;
}

int ban_table_sync(struct ban_table *t, struct store *st, int64_t now, bool *reloaded)
{
	bool others = false;
	*reloaded = false;
	if (write_unwritten(t, st, &others) < 0 || forget_now_and_then(t, st, now, &others) < 0)
		return -1;
	if (!others)
		return 0;
	if (reload(t, st) < 0)
		return -1;
	*reloaded = true;
	return 0;
}
