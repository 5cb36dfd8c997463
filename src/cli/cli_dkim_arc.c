/* postern dkim arc-verify FILE [--key NAME=FILE]...: a message's ARC chain
 * judged by the server's verifier, keys from files.
 * postern dkim arc-seal FILE --signing-key PEM --domain D --selector S
 * --authres "ID; results" [--cv none|pass|fail] [--key NAME=FILE]...: the
 * message with postern's ARC set on top (cv, when not given, is what the
 * verifier finds with the --key files). For checking by hand and for the
 * tests that compare postern with other ARC implementations. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_dkim.h"
#include "core/util.h"
#include "mailauth/arc_seal.h"
#include "mailauth/arc_verify.h"
#include "mailauth/dkim.h"

/* what arc-seal holds in memory to print it after the new set */
#define SEAL_MESSAGE_MAX (64 * 1024 * 1024)

/* ---- arc-verify ------------------------------------------------------ */

struct verify_run {
	struct arc_verify *v;
	struct arc_sealer *sealer;      /* arc-seal: fed the same stream */
	char err[256];
	int sealer_rc;
	char *msg;                      /* arc-seal: the message, for printing */
	size_t len, cap;
	bool too_large;
	/* the result, copied */
	bool done;
	enum arc_cv cv;
	bool temperror;
};

static void print_result(const struct arc_result *r)
{
	printf("arc=%s", arc_cv_name(r->cv));
	if (r->cv == ARC_CV_PASS)
		printf(" header.oldest-pass=%u", r->oldest_pass);
	printf(" (%s)%s\n", r->reason, r->temperror ? " temperror" : "");
	for (unsigned i = 0; i < r->nsets; i++) {
		const struct arc_set_result *s = &r->sets[i];
		printf("i=%u cv=%s seal=%s d=%s s=%s%s%s%s ams=%s d=%s s=%s%s%s%s\n", s->instance,
		       arc_cv_name(s->cv), s->seal_valid ? "pass" : "fail", s->seal_domain,
		       s->seal_selector, s->seal_reason[0] ? " (" : "", s->seal_reason,
		       s->seal_reason[0] ? ")" : "",
		       !s->ams_checked ? "unchecked" : s->ams_valid ? "pass" : "fail", s->ams_domain,
		       s->ams_selector, s->ams_reason[0] ? " (" : "", s->ams_reason,
		       s->ams_reason[0] ? ")" : "");
		printf("i=%u aar: %s\n", s->instance, s->aar);
	}
}

static void verify_done(void *arg, const struct arc_result *r)
{
	struct verify_run *run = arg;
	run->done = true;
	run->cv = r->cv;
	run->temperror = r->temperror;
	if (run->sealer == NULL)
		print_result(r);
}

static void keep(struct verify_run *run, const void *data, size_t len)
{
	if (run->msg == NULL || run->too_large)
		return;
	if (len > SEAL_MESSAGE_MAX - run->len) {
		run->too_large = true;
		return;
	}
	if (run->len + len > run->cap) {
		while (run->len + len > run->cap)
			run->cap *= 2;
		run->msg = xrealloc(run->msg, run->cap);
	}
	memcpy(run->msg + run->len, data, len);
	run->len += len;
}

static void run_header(void *arg, const char *hdr, size_t len, size_t body)
{
	struct verify_run *run = arg;
	arc_verify_header(run->v, hdr, len);
	if (run->sealer != NULL) {
		run->sealer_rc = arc_sealer_header(run->sealer, hdr, len, run->err, sizeof(run->err));
		keep(run, hdr, body);
	}
}

static void run_body(void *arg, const void *data, size_t len)
{
	struct verify_run *run = arg;
	arc_verify_body(run->v, data, len);
	if (run->sealer != NULL) {
		arc_sealer_body(run->sealer, data, len);
		keep(run, data, len);
	}
}

/* Reads the message through the verifier (and the sealer, when there is
 * one). 0, or -1 after saying why. */
static int run_message(struct verify_run *run, const struct cli_args *a)
{
	int fd = cli_open_message(a->pos[1]);
	if (fd < 0)
		return -1;
	struct cli_message_sink sink = { run_header, run_body, run };
	int rc = cli_read_message(fd, &sink);
	if (rc < 0)
		fprintf(stderr, "postern: reading %s: %s\n", a->pos[1], strerror(errno));
	if (fd != STDIN_FILENO)
		close(fd);
	if (rc == 0)
		arc_verify_finish(run->v, verify_done, run);
	return rc;
}

int cli_dkim_arc_verify(struct cli_args *a, const char *usage)
{
	if (a->npos != 2)
		return cli_usage_error(usage, "expected arc-verify FILE");
	struct dkim_dns dns;
	struct cli_file_dns *d = cli_file_dns_new(a, &dns);
	if (d == NULL)
		return CLI_FAIL;
	struct verify_run run = { .v = arc_verify_new(&dns, NULL, time(NULL)) };
	int rc = run_message(&run, a) == 0 && run.done && run.cv == ARC_CV_PASS ? CLI_OK : CLI_FAIL;
	arc_verify_free(run.v);
	cli_file_dns_free(d);
	return rc;
}

/* ---- arc-seal ---------------------------------------------------------- */

static int parse_cv(const char *s, enum arc_cv *cv)
{
	if (strcmp(s, "none") == 0)
		*cv = ARC_CV_NONE;
	else if (strcmp(s, "pass") == 0)
		*cv = ARC_CV_PASS;
	else if (strcmp(s, "fail") == 0)
		*cv = ARC_CV_FAIL;
	else
		return -1;
	return 0;
}

/* Prints the new set and the message; the status. */
static int seal_and_print(struct verify_run *run, const struct cli_args *a, enum arc_cv cv)
{
	if (run->too_large) {
		fprintf(stderr, "postern: the message is larger than %d octets\n", SEAL_MESSAGE_MAX);
		return CLI_FAIL;
	}
	if (run->sealer_rc < 0) {
		fprintf(stderr, "postern: %s\n", run->err);
		return CLI_FAIL;
	}
	char *set = arc_sealer_finish(run->sealer, a->authres, cv, run->err, sizeof(run->err));
	if (set == NULL) {
		fprintf(stderr, "postern: %s\n", run->err);
		return CLI_FAIL;
	}
	int rc = fwrite(set, 1, strlen(set), stdout) == strlen(set) &&
	         fwrite(run->msg, 1, run->len, stdout) == run->len && fflush(stdout) == 0
	         ? CLI_OK : CLI_FAIL;
	free(set);
	return rc;
}

int cli_dkim_arc_seal(struct cli_args *a, const char *usage)
{
	enum arc_cv cv = ARC_CV_NONE;
	if (a->npos != 2)
		return cli_usage_error(usage, "expected arc-seal FILE");
	if (a->signing_key == NULL || a->domain == NULL || a->selector == NULL || a->authres == NULL)
		return cli_usage_error(usage, "arc-seal needs --signing-key, --domain, --selector "
		                       "and --authres");
	if (a->cv != NULL && parse_cv(a->cv, &cv) < 0)
		return cli_usage_error(usage, "--cv is none, pass or fail");
	char err[512];
	struct dkim_key *key = dkim_key_load(a->signing_key, err, sizeof(err));
	if (key == NULL) {
		fprintf(stderr, "postern: %s\n", err);
		return CLI_FAIL;
	}
	struct dkim_dns dns;
	struct cli_file_dns *d = cli_file_dns_new(a, &dns);
	int rc = CLI_FAIL;
	if (d != NULL) {
		time_t now = time(NULL);
		struct verify_run run = { .v = arc_verify_new(&dns, NULL, now),
		                          .sealer = arc_sealer_new(key, a->domain, a->selector, now),
		                          .msg = xmalloc(64 * 1024), .cap = 64 * 1024 };
		if (run_message(&run, a) == 0 && run.done) {
			if (a->cv == NULL && run.temperror)
				fprintf(stderr, "postern: a key of the ARC chain could not be looked up\n");
			else
				rc = seal_and_print(&run, a, a->cv != NULL ? cv : run.cv);
		}
		arc_verify_free(run.v);
		arc_sealer_free(run.sealer);
		free(run.msg);
	}
	cli_file_dns_free(d);
	dkim_key_free(key);
	return rc;
}
