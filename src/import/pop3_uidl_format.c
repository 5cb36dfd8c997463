#include "import/pop3_uidl_format.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "store/mbox.h"

struct spec {
	bool zero, hex, lower, upper;
	unsigned width;
	char var;                /* u v f % */
};

static char long_var(const char *name, size_t len)
{
	static const struct { const char *name; char var; } names[] = {
		{ "uid", 'u' }, { "uidvalidity", 'v' }, { "filename", 'f' }, { "guid", 'f' },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i].name) == len && strncmp(names[i].name, name, len) == 0)
			return names[i].var;
	return 0;
}

/* The variable after a '%' at *p; *p moves past it. 0 or -1. */
static int parse_spec(const char **p, struct spec *s)
{
	const char *q = *p;
	memset(s, 0, sizeof(*s));
	if (*q == '0')
		s->zero = true;
	while (isdigit((unsigned char)*q) && s->width < 100)
		s->width = s->width * 10 + (unsigned)(*q++ - '0');
	for (;; q++) {
		if (*q == 'X')
			s->hex = true;
		else if (*q == 'L')
			s->lower = true;
		else if (*q == 'U')
			s->upper = true;
		else
			break;
	}
	if (*q == '{') {
		const char *end = strchr(q, '}');
		if (end == NULL || (s->var = long_var(q + 1, (size_t)(end - q - 1))) == 0)
			return -1;
		*p = end + 1;
		return 0;
	}
	if (*q == 'g')
		s->var = 'f';    /* a Maildir message's GUID is its base name */
	else if (*q == 'u' || *q == 'v' || *q == 'f' || *q == '%')
		s->var = *q;
	else
		return -1;
	*p = q + 1;
	return 0;
}

int pop3_uidl_format_check(const char *fmt, const char **why)
{
	struct spec s;
	for (const char *p = fmt; *p;) {
		if (*p++ != '%')
			continue;
		if (parse_spec(&p, &s) < 0)
			return *why = "a variable other than %u, %v, %f, %g (%m, the header MD5, is "
			              "mbox only)", -1;
	}
	return 0;
}

static int expand(const struct spec *s, uint32_t uid, uint32_t uidvalidity, const char *base,
                  char *out, size_t outlen)
{
	char text[300];
	if (s->var == '%')
		snprintf(text, sizeof(text), "%%");
	else if (s->var == 'f')
		snprintf(text, sizeof(text), "%s", base);
	else
		snprintf(text, sizeof(text), s->hex ? "%x" : "%u", s->var == 'u' ? uid : uidvalidity);
	for (char *c = text; *c; c++)
		*c = (char)(s->lower ? tolower((unsigned char)*c) : s->upper ? toupper((unsigned char)*c) : *c);
	size_t len = strlen(text), pad = s->width > len ? s->width - len : 0;
	if (len + pad >= outlen)
		return -1;
	memset(out, s->zero ? '0' : ' ', pad);
	memcpy(out + pad, text, len + 1);
	return (int)(len + pad);
}

int pop3_uidl_format(const char *fmt, uint32_t uid, uint32_t uidvalidity, const char *base,
                     char *out, size_t outlen)
{
	size_t n = 0;
	struct spec s;
	char uidl[MBOX_POP3_UIDL_MAX + 1];
	for (const char *p = fmt; *p;) {
		if (*p != '%') {
			if (n + 1 >= sizeof(uidl))
				return -1;
			uidl[n++] = *p++;
			continue;
		}
		p++;
		int len;
		if (parse_spec(&p, &s) < 0 ||
		    (len = expand(&s, uid, uidvalidity, base, uidl + n, sizeof(uidl) - n)) < 0)
			return -1;
		n += (size_t)len;
	}
	uidl[n] = '\0';
	if (!mbox_pop3_uidl_valid(uidl) || n >= outlen)
		return -1;
	memcpy(out, uidl, n + 1);
	return 0;
}
