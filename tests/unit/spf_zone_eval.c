/* Runs SPF checks over zones given as text (tests/spf/zone_cases.py's
 * format) with the in-memory DNS, and prints one line per case:
 *     ID <tab> RESULT <tab> EXPLANATION-or-empty <tab> REASON
 * Cases with expected results are checked: the exit status is 1 when any
 * differs (the RFC 7208 suite), 0 otherwise; tests/spf/crosscheck.py reads
 * the lines to compare them with pyspf.
 *
 *     usage: spf_zone_eval [--lifo] FILE
 * --lifo answers the newest pending query first, so the answers of an mx or
 * ptr term's parallel lookups arrive in the other order. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailauth/spf_eval.h"
#include "spf_fakedns.h"

#define FIELDS_MAX 8

struct outcome {
	bool done;
	enum spf_result result;
	char explanation[600];
	bool has_exp;
	char reason[600];
};

static void on_done(void *arg, const struct spf_outcome *o)
{
	struct outcome *out = arg;
	out->done = true;
	out->result = o->result;
	out->has_exp = o->explanation != NULL;
	snprintf(out->explanation, sizeof(out->explanation), "%s",
	         o->explanation != NULL ? o->explanation : "");
	snprintf(out->reason, sizeof(out->reason), "%s", o->reason);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Undoes the escaping in place; returns the length (NULs may be inside). */
static size_t unescape(char *s)
{
	char *o = s;
	for (char *p = s; *p != '\0'; p++) {
		if (p[0] == '\\' && p[1] == '\\') {
			*o++ = '\\';
			p++;
		} else if (p[0] == '\\' && p[1] == 'x' && hexval(p[2]) >= 0 && hexval(p[3]) >= 0) {
			*o++ = (char)(hexval(p[2]) * 16 + hexval(p[3]));
			p += 3;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return (size_t)(o - s);
}

static size_t split(char *line, char **f, size_t *len)
{
	size_t n = 0;
	line[strcspn(line, "\r\n")] = '\0';
	for (char *p = line; n < FIELDS_MAX;) {
		f[n++] = p;
		char *tab = strchr(p, '\t');
		if (tab == NULL)
			break;
		*tab = '\0';
		p = tab + 1;
	}
	for (size_t i = 0; i < n; i++)
		len[i] = unescape(f[i]);
	return n;
}

static bool result_listed(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; *p != '\0';) {
		size_t len = strcspn(p, ",");
		if (len == n && strncmp(p, name, n) == 0)
			return true;
		p += len + (p[len] == ',');
	}
	return false;
}

/* f: case ID IP MAILFROM HELO RESULTS EXPLANATION. 1 when as expected. */
static int run_case(struct fakedns *dns, char **f)
{
	struct outcome out = { 0 };
	struct spf_request req = { .ip = f[2], .sender = f[3], .helo = f[4],
		                   .receiver = "receiver.test", .now = 1700000000 };
	struct spf_check *c = spf_check_start(fakedns_iface(dns), &req, on_done, &out);
	fakedns_run(dns);
	if (!out.done) {
		printf("%s\tno result (%zu queries pending)\n", f[1], fakedns_pending(dns));
		spf_check_cancel(c);
		return 0;
	}
	const char *name = spf_result_name(out.result);
	printf("%s\t%s\t%s\t%s\n", f[1], name, out.explanation, out.reason);
	if (f[5][0] == '\0')
		return 1;
	bool ok = result_listed(f[5], name);
	/* an explanation is checked on fails; pyspf's driver calls a missing one "DEFAULT" */
	if (strcmp(f[6], "-") != 0 && out.result == SPF_FAIL)
		ok = ok && strcmp(out.has_exp ? out.explanation : "DEFAULT", f[6]) == 0;
	if (!ok)
		printf("MISMATCH %s: want %s (explanation %s)\n", f[1], f[5], f[6]);
	return ok;
}

int main(int argc, char **argv)
{
	bool lifo = argc > 2 && strcmp(argv[1], "--lifo") == 0;
	const char *path = argv[argc - 1];
	FILE *fp = argc > 1 ? fopen(path, "r") : NULL;
	if (fp == NULL) {
		fprintf(stderr, "usage: spf_zone_eval [--lifo] FILE\n");
		return 2;
	}
	struct fakedns *dns = fakedns_new();
	fakedns_set_lifo(dns, lifo);
	char *line = NULL;
	size_t cap = 0;
	int passed = 0, failed = 0;
	while (getline(&line, &cap, fp) > 0) {
		char *f[FIELDS_MAX];
		size_t len[FIELDS_MAX];
		size_t n = split(line, f, len);
		if (strcmp(f[0], "scenario") == 0)
			fakedns_clear(dns);
		else if (strcmp(f[0], "zone") == 0 && n >= 3)
			fakedns_add_len(dns, f[1], f[2], n > 3 ? f[3] : "", n > 3 ? len[3] : 0);
		else if (strcmp(f[0], "case") == 0 && n >= 7)
			run_case(dns, f) ? passed++ : failed++;
	}
	free(line);
	fclose(fp);
	fakedns_free(dns);
	fprintf(stderr, "spf_zone_eval: %d cases as expected, %d not\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
