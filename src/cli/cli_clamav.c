/* postern clamav scan FILE: scans a message with clamd as port 25 would
 * (src/filter/clamav.h, the clamav group's address, timeout, on_error and
 * max_size), streaming the file, and prints the verdict. Also the check
 * of `config check --connect`. */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/config.h"
#include "filter/clamav.h"

static const char usage[] = "postern clamav scan FILE";

struct clamav_cli {
	struct event_base *base;
	struct clamav_result res;
	bool done;
};

static void on_done(void *arg, const struct clamav_result *r)
{
	struct clamav_cli *c = arg;
	c->res = *r;
	c->done = true;
	event_base_loopbreak(c->base);
}

static ssize_t read_file(const void *arg, uint64_t offset, void *buf, size_t len)
{
	return pread(*(const int *)arg, buf, len, (off_t)offset);
}

/* Runs one scan (src) or PING (src NULL) to its end on a loop of its own:
 * the scan's deadline ends it. */
static int run(const struct config *cfg, const struct clamav_source *src,
               struct clamav_result *out)
{
	struct clamav_cli c = { .base = event_base_new() };
	if (c.base == NULL)
		return -1;
	/* clamd may close while we write (StreamMaxLength): an error, not a signal */
	signal(SIGPIPE, SIG_IGN);
	struct clamav *cv = clamav_new(c.base, &cfg->clamav);
	struct clamav_scan *scan = src ? clamav_scan_start(cv, src, on_done, &c)
	                               : clamav_ping_start(cv, on_done, &c);
	event_base_dispatch(c.base);
	if (!c.done)
		clamav_scan_cancel(scan);
	clamav_free(cv);
	event_base_free(c.base);
	*out = c.res;
	return c.done ? 0 : -1;
}

int cli_clamav_ping(const struct config *cfg, char *detail, size_t len)
{
	struct clamav_result r;
	if (run(cfg, NULL, &r) < 0) {
		snprintf(detail, len, "clamd %s: the check did not finish", cfg->clamav.address.text);
		return -1;
	}
	snprintf(detail, len, "%s", r.log);
	return r.status == CLAMAV_CLEAN ? 0 : -1;
}

static const char *status_name(enum clamav_status s)
{
	switch (s) {
	case CLAMAV_CLEAN: return "clean";
	case CLAMAV_VIRUS: return "virus";
	case CLAMAV_NOT_SCANNED: return "not-scanned";
	default: return "failed";
	}
}

static void print_result(const struct clamav_result *r)
{
	printf("result: %s\n", status_name(r->status));
	if (r->status == CLAMAV_VIRUS)
		printf("virus: %s\n", r->virus);
	if (r->action == CLAMAV_ACCEPT)
		printf("action: accept\n");
	else
		printf("action: %s %d %s %s\n", r->action == CLAMAV_REJECT ? "reject" : "defer",
		       r->code, r->enh, r->text);
	printf("log: %s\n", r->log);
}

static int scan_file(const struct config *cfg, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "postern: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return CLI_FAIL;
	}
	if (!cfg->clamav.enabled)
		fprintf(stderr, "postern: note: clamav is not enabled in %s; serve does not scan\n",
		        cfg->source);
	struct clamav_source src = { .read_at = read_file, .arg = &fd, .size = (uint64_t)st.st_size };
	struct clamav_result r;
	int rc = run(cfg, &src, &r);
	close(fd);
	if (rc < 0) {
		fprintf(stderr, "postern: the scan did not finish\n");
		return CLI_FAIL;
	}
	print_result(&r);
	return r.action == CLAMAV_ACCEPT ? CLI_OK : CLI_FAIL;
}

int cli_clamav(struct cli_args *a)
{
	if (a->help) {
		printf("usage: %s\n"
		       "Sends FILE (a message) to clamd as port 25 would (the clamav group:\n"
		       "address, timeout, on_error, max_size) and prints the result (clean,\n"
		       "virus, not-scanned, failed), the signature found, the action (accept,\n"
		       "reject 554 5.7.0, defer 451 4.7.1) and the log line. Exit code 0 when the\n"
		       "message would be accepted, 1 when refused or on failure.\n", usage);
		return CLI_OK;
	}
	if (a->npos != 2 || strcmp(a->pos[0], "scan") != 0)
		return cli_usage_error(usage, "expected 'clamav scan FILE'");
	struct config *cfg = cli_load_config(a);
	if (cfg == NULL)
		return CLI_FAIL;
	int rc = scan_file(cfg, a->pos[1]);
	config_free(cfg);
	return rc;
}
