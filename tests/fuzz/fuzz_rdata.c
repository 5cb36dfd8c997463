/* libFuzzer target for what `postern domain records --check` reads from DNS:
 * src/dns/rdata.c turns record data into text, then src/mailauth/spf_record.c
 * and src/mailauth/zone_check.c judge that text.
 *
 * The first input byte picks the record type, the rest is its rdata. Beyond
 * the sanitizers it checks that accepted text is printable ASCII (it goes to
 * a terminal) and that every verdict on it is one of the four. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/rdata.h"
#include "mailauth/spf_record.h"
#include "mailauth/zone_check.h"
#include "mailauth/zone_records.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const enum dns_rrtype types[] = { DNS_RR_A, DNS_RR_AAAA, DNS_RR_MX, DNS_RR_PTR,
	                                 DNS_RR_TXT };
static const char *const addrs[] = { "203.0.113.5", "2001:db8::25" };
static const struct zone_dkim_key key = { "sel", "rsa-sha256", "v=DKIM1; k=rsa; p=MIIB" };
static const struct zone_input input = { .domain = "example.org", .hostname = "mx.example.org",
	                                 .addrs = addrs, .naddrs = 2, .dkim = &key, .ndkim = 1 };

static void check(bool ok)
{
	if (!ok)
		abort();
}

static void judge_all(const char *text)
{
	struct zone_list l = { 0 };
	char detail[512];
	const char *found[] = { text };
	zone_records_build(&input, &l);
	for (size_t i = 0; i < l.n; i++) {
		enum zone_verdict v = zone_check(&l.rec[i], &input, DNS_OK, found, 1, detail,
		                                 sizeof(detail));
		check(v <= ZONE_CHECK_FAILED && memchr(detail, '\0', sizeof(detail)) != NULL);
	}
	zone_list_free(&l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[1024];
	if (size < 1)
		return 0;
	enum dns_rrtype t = types[data[0] % (sizeof(types) / sizeof(types[0]))];
	if (dns_rdata_text(t, data + 1, size - 1, text, sizeof(text)) < 0)
		return 0;
	for (const char *p = text; *p != '\0'; p++)
		check(*p >= 0x20 && *p < 0x7f);
	(void)spf_passes_all(text);
	(void)spf_authorises(text, "example.org", "mx.example.org", addrs, 2, NULL);
	judge_all(text);
	return 0;
}
