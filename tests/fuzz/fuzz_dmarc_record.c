/* libFuzzer target for the DMARC record parser (src/mailauth/dmarc_record.c)
 * and policy discovery (dmarc_discover.c) over what DNS returns.
 *
 * The input, split at '\n', is the TXT records at _dmarc.<From domain>.
 * Beyond the sanitizers it checks what a caller relies on: a usable record
 * has a policy, pct <= 100, its URIs bounded and NUL-terminated and free of
 * ',' and white space; discovery ends exactly once, with a known status. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mailauth/dmarc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

static void check_uris(char uris[][DMARC_URI_MAX + 1], size_t n)
{
	check(n <= DMARC_URIS_MAX);
	for (size_t i = 0; i < n; i++) {
		size_t len = strnlen(uris[i], DMARC_URI_MAX + 1);
		check(len > 0 && len <= DMARC_URI_MAX);
		check(strpbrk(uris[i], ", \t\r\n;") == NULL);
	}
}

static void check_record(const char *txt, size_t len)
{
	struct dmarc_record rec;
	char err[128];
	enum dmarc_record_status st = dmarc_record_parse(txt, len, &rec, err, sizeof(err));
	check(st == DMARC_RECORD_OK || st == DMARC_RECORD_NOT_DMARC || st == DMARC_RECORD_INVALID);
	check(memchr(err, '\0', sizeof(err)) != NULL);
	check((st == DMARC_RECORD_NOT_DMARC) == !dmarc_is_record(txt, len));
	if (st != DMARC_RECORD_OK)
		return;
	check(rec.p >= DMARC_POLICY_NONE && rec.p <= DMARC_POLICY_REJECT);
	check(rec.sp <= DMARC_POLICY_REJECT && rec.np <= DMARC_POLICY_REJECT);
	check(rec.pct <= 100);
	check(rec.fo != 0 && rec.fo <= 0xf);
	check(!rec.p_defaulted || rec.nrua > 0);
	check_uris(rec.rua, rec.nrua);
	check_uris(rec.ruf, rec.nruf);
}

static struct dmarc_txt txts[64];
static size_t ntxts;
static unsigned calls;

static int fake_lookup_txt(void *ctx, const char *name, dmarc_txt_done_fn *done, void *arg)
{
	(void)ctx;
	check(strncmp(name, "_dmarc.", 7) == 0 && strlen(name) <= 253);
	/* the From domain's name gets the input; its organisation's nothing */
	if (strcmp(name, "_dmarc.a.example.co.uk") == 0)
		done(arg, DMARC_DNS_FOUND, txts, ntxts);
	else
		done(arg, DMARC_DNS_NONE, NULL, 0);
	return 0;
}

static void found_cb(void *arg, const struct dmarc_found *found)
{
	(void)arg;
	calls++;
	check(found->status <= DMARC_FOUND_PERMERROR);
	check(memchr(found->why, '\0', sizeof(found->why)) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct orgdomain *od;
	static const struct dmarc_dns dns = { fake_lookup_txt, NULL };
	char err[256];

	if (od == NULL) {
		od = orgdomain_open(NULL, err, sizeof(err));
		check(od != NULL);
	}
	const char *p = (const char *)data, *end = p + size;
	ntxts = 0;
	while (p <= end && ntxts < 64) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *stop = nl != NULL ? nl : end;
		txts[ntxts++] = (struct dmarc_txt){ p, (size_t)(stop - p) };
		check_record(p, (size_t)(stop - p));
		p = stop + 1;
	}
	calls = 0;
	check(dmarc_discover(&dns, od, "a.example.co.uk", found_cb, NULL) == NULL);
	check(calls == 1);
	return 0;
}
