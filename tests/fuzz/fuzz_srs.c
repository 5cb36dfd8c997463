/* libFuzzer target for the SRS decoder (src/mailauth/srs.c): the local part
 * of an RCPT TO address at the SRS domain is the attacker's. Beyond the
 * sanitizers it checks that a decoded address is NUL-terminated within
 * SRS_ADDR_MAX and has one '@' past a non-empty local part; and that
 * whatever srs_forward makes of input shaped like a sender decodes back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mailauth/srs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

#define NOW ((time_t)1700000000)

static struct srs fuzz_srs(void)
{
	struct srs s = { .nkeys = 2, .max_age_days = 21 };
	memset(s.keys[0], 0x5a, SRS_KEY_LEN);
	memset(s.keys[1], 0xa5, SRS_KEY_LEN);
	strcpy(s.domain, "fwd.example");
	return s;
}

static void check_address(const char *out)
{
	size_t len = strnlen(out, SRS_ADDR_MAX);
	check(len < SRS_ADDR_MAX);
	const char *at = strrchr(out, '@');
	check(at != NULL && at > out && at[1] != '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct srs s = fuzz_srs();
	char out[SRS_ADDR_MAX], back[SRS_ADDR_MAX];
	if (srs_reverse(&s, (const char *)data, size, NOW, out, sizeof(out)) == SRS_OK)
		check_address(out);
	/* the same bytes as a sender: a rewritten address must decode to it */
	char sender[512];
	if (size >= sizeof(sender) || memchr(data, '\0', size) != NULL)
		return 0;
	memcpy(sender, data, size);
	sender[size] = '\0';
	if (srs_forward(&s, sender, NOW, out, sizeof(out)) != SRS_OK)
		return 0;
	check_address(out);
	if (strcmp(out, sender) == 0)
		return 0;   /* a sender at our domain stays as it is */
	const char *at = strrchr(out, '@');
	check(strcmp(at + 1, s.domain) == 0);
	check((size_t)(at - out) <= SRS_LOCAL_MAX);
	check(srs_reverse(&s, out, (size_t)(at - out), NOW, back, sizeof(back)) == SRS_OK);
	/* an SRS0 decodes to the sender; an SRS1 to the first forwarder's SRS0 */
	if (strncmp(out, "SRS0=", 5) == 0)
		check(strcmp(back, sender) == 0);
	else
		check(strncmp(back, "SRS0", 4) == 0);
	return 0;
}
