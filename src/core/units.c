#include "core/units.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Parses the leading decimal number; returns the rest of the string or NULL. */
static const char *parse_number(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (!isdigit((unsigned char)*s))
		return NULL;
	for (; isdigit((unsigned char)*s); s++) {
		uint64_t d = (uint64_t)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return NULL;
		v = v * 10 + d;
	}
	*out = v;
	return s;
}

static int scale(uint64_t v, uint64_t mult, uint64_t *out)
{
	if (mult != 0 && v > UINT64_MAX / mult)
		return -1;
	*out = v * mult;
	return 0;
}

int units_parse_size(const char *s, uint64_t *bytes)
{
	static const struct { const char *suffix; uint64_t mult; } table[] = {
		{ "", 1 }, { "b", 1 },
		{ "k", 1024ULL }, { "kb", 1024ULL }, { "kib", 1024ULL },
		{ "m", 1024ULL * 1024 }, { "mb", 1024ULL * 1024 }, { "mib", 1024ULL * 1024 },
		{ "g", 1024ULL * 1024 * 1024 }, { "gb", 1024ULL * 1024 * 1024 },
		{ "gib", 1024ULL * 1024 * 1024 },
	};
	uint64_t v;
	const char *rest = parse_number(s, &v);
	if (rest == NULL)
		return -1;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcasecmp(rest, table[i].suffix) == 0)
			return scale(v, table[i].mult, bytes);
	return -1;
}

int units_parse_duration(const char *s, uint64_t *ms)
{
	static const struct { const char *suffix; uint64_t mult; } table[] = {
		{ "", 1000 }, { "ms", 1 }, { "s", 1000 }, { "m", 60 * 1000 },
		{ "h", 3600 * 1000 }, { "d", 86400ULL * 1000 },
	};
	uint64_t v;
	const char *rest = parse_number(s, &v);
	if (rest == NULL)
		return -1;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(rest, table[i].suffix) == 0)
			return scale(v, table[i].mult, ms);
	return -1;
}

void units_format_duration(uint64_t ms, char *out, size_t len)
{
	static const struct { uint64_t ms; const char *suffix; } units[] = {
		{ 86400000, "d" }, { 3600000, "h" }, { 60000, "m" }, { 1000, "s" },
	};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (ms > 0 && ms % units[i].ms == 0) {
			snprintf(out, len, "%llu%s", (unsigned long long)(ms / units[i].ms), units[i].suffix);
			return;
		}
	}
	snprintf(out, len, "%llums", (unsigned long long)ms);
}

void units_format_size(uint64_t bytes, char *out, size_t len)
{
	static const struct { uint64_t n; const char *suffix; } units[] = {
		{ 1ULL << 30, "G" }, { 1ULL << 20, "M" }, { 1ULL << 10, "K" },
	};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (bytes > 0 && bytes % units[i].n == 0) {
			snprintf(out, len, "%llu%s", (unsigned long long)(bytes / units[i].n), units[i].suffix);
			return;
		}
	}
	snprintf(out, len, "%llu", (unsigned long long)bytes);
}
