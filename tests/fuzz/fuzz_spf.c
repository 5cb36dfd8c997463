/* libFuzzer target for the SPF record and macro parsers
 * (src/mailauth/spf_parse.c, spf_macro.c) and the evaluator that runs them
 * (spf_eval.c) on the in-memory DNS of the unit tests.
 *
 * The input is lines: the first is parsed as a record and expanded as a
 * domain-spec and as an explanation; then it is example.org's TXT record,
 * the second is a.example.org's and the third the explanation text at
 * exp.example.org, beside fixed A/MX/PTR data, and a check of the sender
 * x@example.org runs to its end. Beyond the sanitizers it checks that an
 * expansion is a bounded name, that the check ends exactly once with a
 * known result, and that an explanation comes only with a fail. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mailauth/spf_eval.h"
#include "mailauth/spf_macro.h"
#include "mailauth/spf_parse.h"
#include "../unit/spf_fakedns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

static const struct spf_macro_vars vars = {
	.sender = "x@example.org", .local = "x", .sender_domain = "example.org",
	.domain = "example.org", .ip_dots = "192.0.2.1", .ip_text = "192.0.2.1",
	.helo = "h.example", .receiver = "r.example", .now = 1,
};

struct got {
	int calls;
	enum spf_result r;
	bool exp;
};

static void on_done(void *arg, const struct spf_outcome *o)
{
	struct got *g = arg;
	g->calls++;
	g->r = o->result;
	g->exp = o->explanation != NULL;
	check(o->reason != NULL && o->domain != NULL);
	check(o->explanation == NULL || strlen(o->explanation) < SPF_EXP_MAX);
}

static void parse_and_expand(const char *s, size_t n)
{
	struct spf_record rec;
	char err[128], out[SPF_EXP_MAX];
	if (spf_record_parse(s, n, &rec, err, sizeof(err)) == 0)
		check(rec.nmech <= n);
	spf_record_clear(&rec);
	if (spf_expand_domain(s, n, &vars, out, sizeof(out)) == 0)
		check(strlen(out) <= SPF_DOMAIN_MAX);
	(void)spf_expand_exp(s, n, &vars, out, sizeof(out));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	char *line[3] = { text, NULL, NULL };
	size_t len[3] = { size, 0, 0 };
	for (int i = 1; i < 3; i++) {
		char *nl = line[i - 1] != NULL ? memchr(line[i - 1], '\n', len[i - 1]) : NULL;
		if (nl == NULL)
			break;
		len[i] = len[i - 1] - (size_t)(nl + 1 - line[i - 1]);
		len[i - 1] = (size_t)(nl - line[i - 1]);
		line[i] = nl + 1;
	}
	parse_and_expand(line[0], len[0]);

	struct fakedns *d = fakedns_new();
	static const char *const names[] = { "example.org", "a.example.org", "exp.example.org" };
	for (int i = 0; i < 3; i++) {
		if (line[i] != NULL)
			fakedns_add_len(d, names[i], "TXT", line[i], len[i]);
	}
	fakedns_add(d, "example.org", "MX", "a.example.org");
	fakedns_add(d, "example.org", "A", "192.0.2.1");
	fakedns_add(d, "a.example.org", "A", "192.0.2.2");
	fakedns_add(d, "a.example.org", "AAAA", "2001:db8::1");
	fakedns_add(d, "1.2.0.192.in-addr.arpa", "PTR", "example.org");
	fakedns_add(d, "t.example.org", "TIMEOUT", "");
	struct got g = { 0 };
	struct spf_request req = { .ip = "192.0.2.1", .sender = "x@example.org", .helo = "h.example" };
	(void)spf_check_start(fakedns_iface(d), &req, on_done, &g);
	fakedns_run(d);
	check(g.calls == 1 && g.r <= SPF_PERMERROR && (!g.exp || g.r == SPF_FAIL));
	check(fakedns_asked(d) < 100);
	fakedns_free(d);
	free(text);
	return 0;
}
