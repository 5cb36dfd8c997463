/* libFuzzer target for clamd's replies (src/filter/clamav_reply.c): the
 * input is what arrives on clamd's socket. Beyond the sanitizers it
 * checks: the reply's end is the first NUL or LF; the name or error text
 * given is NUL-terminated, at most CLAMAV_NAME_MAX octets, and holds only
 * octets safe in an SMTP reply, a log line and JSON; OK and PONG only for
 * exactly those replies, a name only with FOUND or ERROR. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "filter/clamav.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

static void check_safe(const char *name)
{
	size_t n = strlen(name);
	check(n <= CLAMAV_NAME_MAX);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		check(c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '<' && c != '>');
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	char name[CLAMAV_NAME_MAX + 1], small[5];
	ssize_t end = clamav_reply_end(in, size);
	size_t len = end < 0 ? size : (size_t)end;
	if (end >= 0)
		check(in[end] == '\0' || in[end] == '\n');
	for (size_t i = 0; i < len; i++)
		check(in[i] != '\0' && in[i] != '\n');

	enum clamav_reply_kind k = clamav_parse_reply(in, len, name, sizeof(name));
	check_safe(name);
	size_t body = len > 0 && in[len - 1] == '\r' ? len - 1 : len;
	if (k == CLAMAV_REPLY_OK)
		check(body == 10 && memcmp(in, "stream: OK", 10) == 0);
	if (k == CLAMAV_REPLY_PONG)
		check(body == 4 && memcmp(in, "PONG", 4) == 0);
	if (k != CLAMAV_REPLY_FOUND && k != CLAMAV_REPLY_ERROR)
		check(name[0] == '\0');
	if (k == CLAMAV_REPLY_FOUND)
		check(name[0] != '\0');
	/* the same verdict into a small buffer, cut short */
	check(clamav_parse_reply(in, len, small, sizeof(small)) == k);
	check(strlen(small) < sizeof(small));
	return 0;
}
