/* libFuzzer target for the ARC header field parsers (src/mailauth/
 * arc_parse.c on dkim_sig_parse_kind()): every input goes through the AAR,
 * AMS and ARC-Seal parsers. Beyond the sanitizers it checks what the
 * verifier relies on: an instance in 1..50, a payload inside the input, a
 * seal without h= or bh=, an AMS with From and without ARC-Seal in h=. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mailauth/arc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

static void check_sig(const struct dkim_sig *s, const char *value, size_t len)
{
	check(s->domain[0] != '\0' && s->selector[0] != '\0');
	check(s->b_off + s->b_len_raw <= len && s->b_len > 0 && s->b_len <= DKIM_SIG_B_MAX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *value = malloc(size ? size : 1);
	memcpy(value, data, size);
	char err[128];
	unsigned i;
	const char *p;
	size_t plen;
	if (arc_aar_parse(value, size, &i, &p, &plen, err, sizeof(err)) == 0)
		check(i >= 1 && i <= ARC_MAX_INSTANCE && plen > 0 && p > value && p + plen <= value + size);

	struct arc_ams_sig *ams = malloc(sizeof(*ams));
	if (arc_ams_parse(ams, value, size, err, sizeof(err)) == 0) {
		check(ams->instance >= 1 && ams->instance <= ARC_MAX_INSTANCE);
		check_sig(&ams->sig, value, size);
		check(ams->sig.h >= value && ams->sig.h + ams->sig.h_len <= value + size);
		size_t pos = 0, nl;
		const char *name;
		bool from = false;
		while (dkim_sig_h_next(&ams->sig, &pos, &name, &nl)) {
			check(!(nl == 8 && strncasecmp(name, "arc-seal", 8) == 0));
			from = from || (nl == 4 && strncasecmp(name, "from", 4) == 0);
		}
		check(from && ams->sig.bh_len > 0);
	}
	struct arc_seal_sig *as = malloc(sizeof(*as));
	if (arc_seal_parse(as, value, size, err, sizeof(err)) == 0) {
		check(as->instance >= 1 && as->instance <= ARC_MAX_INSTANCE);
		check(as->cv <= ARC_CV_FAIL);
		check_sig(&as->sig, value, size);
		check(as->sig.h == NULL && as->sig.bh_len == 0 && !as->sig.has_length);
		check(as->sig.hcanon == DKIM_CANON_RELAXED);
	}
	free(as);
	free(ams);
	free(value);
	return 0;
}
