/* libFuzzer target for rspamd's replies (src/filter/rspamd_reply.c and the
 * reply head of rspamd_http.c): the input is a reply head, or with an
 * empty line, a head and a JSON body. Beyond the sanitizers it checks what
 * a reply can put into a message: header fields that are only X- fields
 * and their folds, LF-ended, no CR or NUL; a subject and a reply text with
 * no control characters; a refusal's code matching its verdict. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "filter/rspamd.h"
#include "filter/rspamd_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

static void check_headers(const struct rspamd_result *r)
{
	check(strlen(r->headers) == r->headers_len);
	bool line_start = true;
	for (size_t i = 0; i < r->headers_len; i++) {
		char c = r->headers[i];
		check(c != '\r' && c != '\0');
		if (line_start)
			check(c == '\t' || strncmp(r->headers + i, "X-", 2) == 0);
		line_start = c == '\n';
	}
	check(r->headers_len == 0 || r->headers[r->headers_len - 1] == '\n');
}

static void check_result(const struct rspamd_result *r)
{
	check_headers(r);
	for (const char *p = r->subject; *p; p++)
		check((unsigned char)*p >= 0x20 && *p != 0x7f);
	for (const char *p = r->text; *p; p++)
		check((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
	switch (r->verdict) {
	case RSPAMD_ACCEPT:
	case RSPAMD_JUNK:
		check(r->code == 0);
		break;
	case RSPAMD_DEFER:
		check(r->code == 451 && strcmp(r->enh, "4.7.1") == 0 && r->headers_len == 0);
		break;
	case RSPAMD_REJECT_MSG:
		check(r->code == 550 && strcmp(r->enh, "5.7.1") == 0 && r->headers_len == 0);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	const char *sep = memmem(in, size, "\r\n\r\n", 4);
	size_t head_len = sep ? (size_t)(sep - in) : size;
	struct rspamd_http_head head;
	char err[128] = "";
	if (rspamd_http_parse_head(in, head_len, &head, err, sizeof(err)) == 0)
		check(head.status >= 100 && head.status <= 599 && head.content_length >= -1);

	const char *json = sep ? sep + 4 : in;
	size_t jlen = sep ? size - head_len - 4 : size;
	struct rspamd_reply rep;
	struct rspamd_result r;
	if (rspamd_reply_parse(json, jlen, &rep, err, sizeof(err)) == 0) {
		rspamd_result_from_reply(&rep, &r);
		check(r.scanned);
		check_result(&r);
	}
	rspamd_result_error(CONFIG_RSPAMD_TEMPFAIL, err, &r);
	check_result(&r);
	return 0;
}
