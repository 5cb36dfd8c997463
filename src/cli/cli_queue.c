/* postern queue list|show|retry|delete|hold|release */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/config.h"
#include "store/store.h"

static const char usage[] =
	"postern queue list | show ID | retry ID | retry --all | delete ID | hold ID | release ID"
	"  [-c FILE]";

static void fmt_time(long long t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (t <= 0) {
		snprintf(out, len, "-");
		return;
	}
	gmtime_r(&tt, &tm);
	strftime(out, len, "%Y-%m-%d %H:%M:%SZ", &tm);
}

struct list_state {
	char last_id[32];
	int messages, rcpts;
};

static void print_list_row(void *arg, const struct queue_row *r)
{
	struct list_state *ls = arg;
	char created[32], next[32];
	if (strcmp(ls->last_id, r->msg_id) != 0) {
		fmt_time(r->created, created, sizeof(created));
		printf("%s  %8llu  %s  <%s>%s\n", r->msg_id, r->size, created, r->sender,
		       r->held ? "  (held)" : "");
		snprintf(ls->last_id, sizeof(ls->last_id), "%s", r->msg_id);
		ls->messages++;
	}
	fmt_time(r->next_attempt, next, sizeof(next));
	printf("    %-9s %s  attempts %d  next %s\n", r->status, r->rcpt, r->attempts,
	       strcmp(r->status, "pending") == 0 ? next : "-");
	ls->rcpts++;
}

static void print_show_row(void *arg, const struct queue_row *r)
{
	struct list_state *ls = arg;
	char created[32], next[32], err[1024];
	if (ls->rcpts++ == 0) {
		fmt_time(r->created, created, sizeof(created));
		printf("id:        %s\nsender:    <%s>\nsize:      %llu\ncreated:   %s\nfile:      %s\n"
		       "held:      %s\nsmtputf8:  %s\nrecipients:\n", r->msg_id, r->sender, r->size,
		       created, r->path, r->held ? "yes" : "no", r->smtputf8 ? "yes" : "no");
	}
	fmt_time(r->next_attempt, next, sizeof(next));
	snprintf(err, sizeof(err), "%s", r->last_error ? r->last_error : "");
	for (char *p = err; *p; p++)
		if (*p == '\t')
			*p = ' ';
	printf("  %s\n    status %s, attempts %d, next attempt %s\n%s%s%s", r->rcpt, r->status,
	       r->attempts, strcmp(r->status, "pending") == 0 ? next : "-",
	       err[0] ? "    last error: " : "", err, err[0] ? "\n" : "");
}

static int not_found(const char *id)
{
	fprintf(stderr, "postern: no queued message %s\n", id);
	return CLI_FAIL;
}

static int run(struct store *st, const struct config *cfg, struct cli_args *a)
{
	(void)cfg;
	struct list_state ls = { "", 0, 0 };
	const char *verb = a->pos[0], *id = a->npos > 1 ? a->pos[1] : NULL;
	if (strcmp(verb, "list") == 0 && a->npos == 1) {
		if (store_queue_list(st, NULL, print_list_row, &ls) < 0)
			return CLI_FAIL;
		printf("%d message%s, %d recipient%s\n", ls.messages, ls.messages == 1 ? "" : "s",
		       ls.rcpts, ls.rcpts == 1 ? "" : "s");
		return CLI_OK;
	}
	if (a->all) {
		if (strcmp(verb, "retry") != 0 || a->npos != 1)
			return cli_usage_error(usage, "--all goes with retry alone");
		if (store_queue_retry(st, NULL) != STORE_OK) {
			fprintf(stderr, "postern: the store could not be updated\n");
			return CLI_FAIL;
		}
		printf("all: retry\n");
		return CLI_OK;
	}
	if (a->npos != 2)
		return cli_usage_error(usage, "expected %s ID", verb);
	if (strcmp(verb, "show") == 0) {
		int n = store_queue_list(st, id, print_show_row, &ls);
		return n < 0 ? CLI_FAIL : n == 0 ? not_found(id) : CLI_OK;
	}
	int rc;
	if (strcmp(verb, "retry") == 0) {
		rc = store_queue_retry(st, id);
	} else if (strcmp(verb, "hold") == 0 || strcmp(verb, "release") == 0) {
		rc = store_queue_hold(st, id, strcmp(verb, "hold") == 0);
	} else if (strcmp(verb, "delete") == 0) {
		char path[4096];
		rc = store_queue_delete(st, id, path, sizeof(path));
		if (rc == STORE_OK)
			unlink(path);
	} else {
		return cli_usage_error(usage, "unknown subcommand '%s'", verb);
	}
	if (rc == STORE_NOT_FOUND)
		return not_found(id);
	if (rc != STORE_OK) {
		fprintf(stderr, "postern: the store could not be updated\n");
		return CLI_FAIL;
	}
	printf("%s: %s\n", id, verb);
	return CLI_OK;
}

int cli_queue(struct cli_args *a)
{
	if (a->help) {
		printf("usage: %s\n\nThe outbound queue. A running server picks changes up within a "
		       "second:\nretry makes recipients due now, hold keeps a message from being "
		       "tried,\ndelete drops it without a bounce.\n", usage);
		return CLI_OK;
	}
	return cli_run_with_store(a, usage, run);
}
