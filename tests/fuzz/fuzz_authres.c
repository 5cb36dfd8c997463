/* libFuzzer target for Authentication-Results (src/mailauth/authres.c):
 * reading the authserv-id of incoming fields, and writing ours with values
 * taken from the message and the session.
 *
 * The input's first line is a value to write (a reverse-path, a d=, a
 * comment, an authserv-id), the rest a field value as received. Beyond the
 * sanitizers it checks: the id read is NUL-terminated and non-empty; the
 * field written is one strict header field whatever the values, whose
 * authserv-id reads back as the one written, with no line over 998
 * octets (RFC 5322 2.1.1). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/header.h"
#include "mailauth/authres.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

static void check_lines(const char *h, size_t len)
{
	size_t line = 0;
	for (size_t i = 0; i < len; i++) {
		check(h[i] != '\0' && h[i] != '\r');
		line = h[i] == '\n' ? 0 : line + 1;
		check(line <= 998);
	}
	check(len > 0 && h[len - 1] == '\n');
}

static void write_and_read_back(const char *v)
{
	struct authres_entry e[4];
	struct mail_header hdr;
	char err[128], id[AUTHRES_VALUE_MAX + 1];
	size_t len;

	authres_spf(&e[0], "pass", v, v);
	authres_dkim(&e[1], "fail", v, v, v);
	authres_dmarc(&e[2], "fail", v, "reject", v);
	e[2].reason = v;
	authres_arc(&e[3], v);   /* a result that is no keyword is left out */
	const char *authserv_id = v[0] != '\0' ? v : "mx.example.org";
	char *h = authres_header_new(authserv_id, e, 4, &len);
	check(strlen(h) == len);
	check_lines(h, len);
	check(mail_header_parse(&hdr, h, len, MAIL_HEADER_STRICT, 0, err, sizeof(err)) == 0);
	check(hdr.nfields == 1);
	check(mail_field_is(&hdr.fields[0], "Authentication-Results"));
	/* the id as written reads back: whole, unless cleaning changed it */
	if (authres_read_id(hdr.fields[0].value, hdr.fields[0].value_len, id, sizeof(id)) == 0 &&
	    strlen(authserv_id) <= AUTHRES_VALUE_MAX && strpbrk(authserv_id, "\x01\x02\x03\x04"
	    "\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a"
	    "\x1b\x1c\x1d\x1e\x1f\x7f") == NULL) {
		bool ascii = true;
		for (const char *p = authserv_id; *p != '\0'; p++)
			ascii = ascii && (unsigned char)*p < 0x80;
		if (ascii)
			check(strcmp(id, authserv_id) == 0);
	}
	mail_header_free(&hdr);
	free(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	const char *nl = memchr(in, '\n', size);
	size_t first = nl != NULL ? (size_t)(nl - in) : size;
	char id[64];

	char *v = malloc(first + 1);
	memcpy(v, in, first);
	v[first] = '\0';   /* a NUL inside ends the value, as a C string would */
	write_and_read_back(v);
	free(v);

	const char *value = nl != NULL ? nl + 1 : in + size;
	size_t vlen = (size_t)(in + size - value);
	if (authres_read_id(value, vlen, id, sizeof(id)) == 0)
		check(id[0] != '\0' && strlen(id) < sizeof(id));
	authres_claims_id(value, vlen, "mx.example.org");
	return 0;
}
