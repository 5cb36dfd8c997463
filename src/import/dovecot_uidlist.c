#include "import/dovecot_uidlist.h"

#include <string.h>

#include "core/util.h"
#include "store/mbox.h"

/* A decimal number of at most 10 digits that fits in 32 bits; *p moves past it. */
static bool parse_u32(const char **p, uint32_t *out)
{
	uint64_t v = 0;
	const char *s = *p;
	int digits = 0;
	while (*s >= '0' && *s <= '9') {
		if (++digits > 10)
			return false;
		v = v * 10 + (uint64_t)(*s++ - '0');
	}
	if (digits == 0 || v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	*p = s;
	return true;
}

static bool parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	if (len == 0 || len > 19)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return true;
}

static bool is_hex(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		      (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return true;
}

/* "3 V1275660208 N25022 G3085f01b7f11094c501100008c4a11c1" */
static int parse_v3_header(const char *p, struct dovecot_uidlist_header *h, const char **why)
{
	bool have_v = false, have_n = false;
	while (*p != '\0') {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		char key = *p++;
		const char *value = p;
		size_t len = strcspn(p, " ");
		p += len;
		if (key == 'V' || key == 'N') {
			uint32_t v;
			const char *q = value;
			if (!parse_u32(&q, &v) || q != p)
				return *why = key == 'V' ? "bad UIDVALIDITY" : "bad next UID", -1;
			if (key == 'V')
				h->uidvalidity = v, have_v = true;
			else
				h->next_uid = v, have_n = true;
		} else if (key == 'G') {
			if (len != 32 || !is_hex(value, len))
				return *why = "bad mailbox GUID", -1;
			memcpy(h->guid, value, 32);
			h->guid[32] = '\0';
		}   /* other keys are Dovecot's own business */
	}
	if (!have_v || !have_n)
		return *why = "no UIDVALIDITY or next UID", -1;
	return 0;
}

int dovecot_uidlist_parse_header(const char *line, struct dovecot_uidlist_header *h,
                                 const char **why)
{
	memset(h, 0, sizeof(*h));
	if (line[0] == '3' && (line[1] == ' ' || line[1] == '\0')) {
		h->version = 3;
		if (parse_v3_header(line + 1, h, why) < 0)
			return -1;
	} else if (line[0] == '1' && line[1] == ' ') {
		const char *p = line + 2;
		h->version = 1;
		if (!parse_u32(&p, &h->uidvalidity) || *p++ != ' ' || !parse_u32(&p, &h->next_uid) ||
		    *p != '\0')
			return *why = "bad version 1 header", -1;
	} else {
		return *why = "unknown version (not 1 or 3)", -1;
	}
	if (h->uidvalidity == 0)
		return *why = "UIDVALIDITY 0", -1;
	return 0;
}

/* One "<key><value>" extension field of a version 3 entry. */
static int parse_field(const char *f, size_t len, struct dovecot_uidlist_entry *e, const char **why)
{
	if (f[0] < 'A' || f[0] > 'Z')
		return *why = "bad extension field", -1;
	if (f[0] == 'P') {
		if (len - 1 >= sizeof(e->pop3_uidl)) {
			e->bad_pop3_uidl = true;
			return 0;
		}
		memcpy(e->pop3_uidl, f + 1, len - 1);
		e->pop3_uidl[len - 1] = '\0';
		if (!mbox_pop3_uidl_valid(e->pop3_uidl)) {
			e->pop3_uidl[0] = '\0';
			e->bad_pop3_uidl = true;
		}
	} else if (f[0] == 'W') {
		if (!parse_u64(f + 1, len - 1, &e->vsize))
			return *why = "bad W (virtual size) field", -1;
		e->has_vsize = true;
	}
	return 0;
}

/* The file name: no '/', nothing invisible, a base before any ':'. */
static int take_name(const char *name, struct dovecot_uidlist_entry *e, const char **why)
{
	size_t len = strlen(name), base = strcspn(name, ":");
	if (len == 0 || base == 0)
		return *why = "no file name", -1;
	if (len > DOVECOT_NAME_MAX)
		return *why = "file name too long", -1;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p == '/' || *p < 0x20 || *p == 0x7f)
			return *why = "bad character in the file name", -1;
	if (name[0] == '.')
		return *why = "file name starts with '.'", -1;
	memcpy(e->base, name, base);
	e->base[base] = '\0';
	return 0;
}

int dovecot_uidlist_parse_entry(const char *line, unsigned version,
                                struct dovecot_uidlist_entry *e, const char **why)
{
	const char *p = line;
	memset(e, 0, sizeof(*e));
	if (!parse_u32(&p, &e->uid) || e->uid == 0 || e->uid == UINT32_MAX)
		return *why = "bad UID", -1;
	if (*p != ' ')
		return *why = "no space after the UID", -1;
	while (*p == ' ')
		p++;
	if (version == 1)
		return take_name(p, e, why);
	while (*p != ':') {
		if (*p == '\0')
			return *why = "no ':' before the file name", -1;
		size_t len = strcspn(p, " ");
		if (parse_field(p, len, e, why) < 0)
			return -1;
		p += len;
		while (*p == ' ')
			p++;
	}
	return take_name(p + 1, e, why);
}
