/* postern rspamd check FILE | learn spam|ham FILE: the rspamd client
 * (src/filter/rspamd.h) on a loop of its own against the configured
 * rspamd, as port 25 and the IMAP Junk moves use it. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "cli/cli.h"
#include "core/config.h"
#include "filter/rspamd.h"
#include "store/msgbuf.h"

static const char usage[] =
	"postern rspamd check FILE [--from ADDRESS] [--rcpt ADDRESS]... [--ip IP] [--helo NAME]\n"
	"                          [--user LOGIN] [--authres \"ID; results\"]\n"
	"       postern rspamd learn spam|ham FILE";

struct check_run {
	struct event_base *base;
	bool done;
};

static void print_result(void *arg, const struct rspamd_result *r)
{
	struct check_run *run = arg;
	printf("verdict: %s\n", rspamd_verdict_name(r->verdict));
	if (r->scanned)
		printf("action: %s\nscore: %.2f / %.2f\n", rspamd_action_name(r->action), r->score,
		       r->required);
	if (r->code != 0)
		printf("reply: %d %s %s\n", r->code, r->enh, r->text);
	if (r->subject[0])
		printf("subject: %s\n", r->subject);
	printf("log: %s\n", r->log);
	if (r->headers_len > 0)
		printf("headers:\n%s", r->headers);
	run->done = true;
	event_base_loopbreak(run->base);
}

/* The file as the spool would hold it (the message never whole in memory). */
static struct msgbuf *read_message(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "postern: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	const char *tmp = getenv("TMPDIR");
	struct msgbuf *mb = msgbuf_new(tmp && *tmp ? tmp : "/tmp");
	char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (msgbuf_append(mb, buf, (size_t)n) < 0)
			break;
	if (n != 0 || msgbuf_finish(mb) < 0) {
		fprintf(stderr, "postern: %s: %s\n", path, strerror(errno));
		msgbuf_free(mb);
		mb = NULL;
	}
	close(fd);
	return mb;
}

static int check_file(const struct config *cfg, const struct cli_args *a, const char *path)
{
	struct msgbuf *mb = read_message(path);
	if (mb == NULL)
		return CLI_FAIL;
	char prepend[2048] = "";
	if (a->authres != NULL)
		snprintf(prepend, sizeof(prepend), "Authentication-Results: %s\n", a->authres);
	struct rspamd_request req = {
		.queue_id = "cli", .client_ip = a->ip ? a->ip : "127.0.0.1", .helo = a->helo,
		.mail_from = a->from ? a->from : "", .rcpts = a->rcpts, .nrcpts = (size_t)a->nrcpts,
		.auth_user = a->user, .mta_name = cfg->hostname, .prepend = prepend,
		.prepend_len = strlen(prepend), .msg = mb,
	};
	struct check_run run = { .base = event_base_new() };
	struct rspamd_client *c = rspamd_client_new(run.base, &cfg->rspamd);
	rspamd_check_start(c, &req, print_result, &run);
	/* every check ends within rspamd.timeout */
	while (!run.done)
		event_base_dispatch(run.base);
	rspamd_client_free(c);
	event_base_free(run.base);
	msgbuf_free(mb);
	return CLI_OK;
}

static void learn_idle(void *arg)
{
	struct check_run *run = arg;
	run->done = true;
	event_base_loopbreak(run->base);
}

static int learn_file(const struct config *cfg, bool spam, const char *path)
{
	struct check_run run = { .base = event_base_new() };
	struct rspamd_learner *l = rspamd_learner_new(run.base, &cfg->rspamd);
	int rc = CLI_FAIL;
	if (!rspamd_learn(l, spam, path)) {
		fprintf(stderr, "postern: %s: not sent (rspamd.enabled and rspamd.learn must be on; "
		        "the file readable and within rspamd.max_size)\n", path);
		goto out;
	}
	rspamd_learner_on_idle(l, learn_idle, &run);
	while (!run.done)
		event_base_dispatch(run.base);
	struct rspamd_learn_stats st;
	rspamd_learner_stats(l, &st);
	if (st.learned || st.already) {
		printf("%s as %s\n", st.learned ? "learnt" : "already learnt", spam ? "spam" : "ham");
		rc = CLI_OK;
	} else {
		fprintf(stderr, "postern: rspamd did not learn it (see the log line above)\n");
	}
out:
	rspamd_learner_free(l);
	event_base_free(run.base);
	return rc;
}

int cli_rspamd(struct cli_args *a)
{
	if (a->help) {
		printf("usage: %s\n\n"
		       "check: sends FILE to rspamd's /checkv2 (rspamd.address) with the envelope given\n"
		       "(MAIL FROM, recipients, client IP, HELO, authenticated user, our\n"
		       "Authentication-Results), as port 25 does at the end of DATA, and prints what\n"
		       "postern would do: the verdict (accept, junk, defer, reject), rspamd's action\n"
		       "and score, the reply, a rewritten subject and the header fields added. When\n"
		       "rspamd cannot be asked, rspamd.on_error decides.\n"
		       "learn: sends FILE to the controller's /learnspam or /learnham\n"
		       "(rspamd.controller, rspamd.password), as moving mail into or out of Junk does.\n",
		       usage);
		return CLI_OK;
	}
	bool check = a->npos == 2 && strcmp(a->pos[0], "check") == 0;
	bool learn = a->npos == 3 && strcmp(a->pos[0], "learn") == 0 &&
	             (strcmp(a->pos[1], "spam") == 0 || strcmp(a->pos[1], "ham") == 0);
	if (!check && !learn)
		return cli_usage_error(usage, "expected 'rspamd check FILE' or 'rspamd learn spam|ham FILE'");
	struct config *cfg = cli_load_config(a);
	if (cfg == NULL)
		return CLI_FAIL;
	/* rspamd closing early must not kill us mid-write */
	signal(SIGPIPE, SIG_IGN);
	if (!cfg->rspamd.enabled)
		fprintf(stderr, "postern: note: rspamd.enabled is false in %s; asking rspamd anyway\n",
		        cfg->source);
	int rc = check ? check_file(cfg, a, a->pos[1])
	               : learn_file(cfg, strcmp(a->pos[1], "spam") == 0, a->pos[2]);
	config_free(cfg);
	return rc;
}
