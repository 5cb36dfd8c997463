/* libFuzzer target for the DKIM verifier (src/mailauth/dkim_verify.c) end to
 * end: the input's first line is the key record every lookup gets, the rest
 * a message whose header and body go through dkim_verify_header() and
 * dkim_verify_body(). Checks that done runs exactly once, with at most the
 * configured number of results, each with a known verdict and a reason. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/header.h"
#include "mailauth/dkim_verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

static const char *record;
static size_t record_len;

static int fuzz_txt(void *ctx, const char *name, dkim_dns_txt_cb cb, void *arg)
{
	(void)ctx;
	check(strlen(name) <= DKIM_NAME_MAX);
	struct dkim_txt t = { record, record_len };
	/* an empty record line stands for "no such name" */
	cb(arg, record_len ? DKIM_DNS_OK : DKIM_DNS_NOTFOUND, &t, record_len ? 1 : 0);
	return 1;
}

static void fuzz_cancel(void *ctx, int id)
{
	(void)ctx;
	(void)id;
	abort(); /* every lookup has answered before free */
}

static int calls;

static void done(void *arg, const struct dkim_result *r, size_t n)
{
	(void)arg;
	calls++;
	check(n <= 3);
	for (size_t i = 0; i < n; i++) {
		check(r[i].verdict <= DKIM_PERMERROR && r[i].reason[0] != '\0');
		check(!r[i].body_partial || r[i].verdict == DKIM_PASS);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size ? size : 1);
	memcpy(in, data, size);
	const char *nl = memchr(in, '\n', size);
	record = in;
	record_len = nl ? (size_t)(nl - in) : size;
	const char *msg = nl ? nl + 1 : in + size;
	size_t len = (size_t)(in + size - msg), scan = 0, hlen, body;
	if (!mail_header_block_end(msg, len, &scan, &hlen, &body))
		hlen = body = len;

	static const struct dkim_dns dns = { fuzz_txt, fuzz_cancel, NULL, NULL };
	struct dkim_verify_limits lim = { .max_signatures = 3, .clock_skew = 300 };
	struct dkim_verify *v = dkim_verify_new(&dns, &lim, 1900000000);
	dkim_verify_header(v, msg, hlen);
	/* the body in two pieces, cut in its middle */
	size_t half = body + (len - body) / 2;
	dkim_verify_body(v, msg + body, half - body);
	dkim_verify_body(v, msg + half, len - half);
	calls = 0;
	dkim_verify_finish(v, done, NULL);
	check(calls == 1);
	dkim_verify_free(v);
	free(in);
	return 0;
}
