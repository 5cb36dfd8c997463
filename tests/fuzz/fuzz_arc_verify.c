/* libFuzzer target for the ARC verifier (src/mailauth/arc_verify.c) end to
 * end: the input's first line is the key record every lookup gets, the rest
 * a message. Checks that done runs exactly once with a consistent result:
 * sets only when the structure held, oldest-pass only on a pass, a reason. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/header.h"
#include "mailauth/arc_verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

static const char *record;
static size_t record_len;
static unsigned lookups;

static int fuzz_txt(void *ctx, const char *name, dkim_dns_txt_cb cb, void *arg)
{
	(void)ctx;
	check(strlen(name) <= DKIM_NAME_MAX);
	lookups++;
	struct dkim_txt t = { record, record_len };
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

static void done(void *arg, const struct arc_result *r)
{
	(void)arg;
	calls++;
	check(r->cv <= ARC_CV_FAIL && r->reason[0] != '\0');
	check(r->nsets <= ARC_MAX_INSTANCE);
	check(r->cv == ARC_CV_PASS || r->oldest_pass == 0);
	check(r->oldest_pass <= r->nsets && r->oldest_pass != 1);
	check(r->cv != ARC_CV_NONE || r->nsets == 0);
	for (unsigned i = 0; i < r->nsets; i++)
		check(r->sets[i].instance == i + 1 && r->sets[i].aar != NULL);
	if (r->cv == ARC_CV_PASS)
		for (unsigned i = 0; i < r->nsets; i++)
			check(r->sets[i].seal_valid);
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
	struct arc_verify_limits lim = { .max_lookups = 4 };
	struct arc_verify *v = arc_verify_new(&dns, &lim, 1900000000);
	lookups = 0;
	arc_verify_header(v, msg, hlen);
	check(lookups <= 4);
	size_t half = body + (len - body) / 2;
	arc_verify_body(v, msg + body, half - body);
	arc_verify_body(v, msg + half, len - half);
	calls = 0;
	arc_verify_finish(v, done, NULL);
	check(calls == 1);
	arc_verify_free(v);
	free(in);
	return 0;
}
