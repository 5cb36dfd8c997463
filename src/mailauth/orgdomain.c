/* Organisational domains with libpsl; see orgdomain.h. */
#include "mailauth/orgdomain.h"

#include <idn2.h>
#include <libpsl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/util.h"

struct orgdomain {
	psl_ctx_t *psl;
	time_t list_time;
	char source[256];
};

static time_t file_mtime(const char *path)
{
	struct stat sb;
	return path != NULL && stat(path, &sb) == 0 ? sb.st_mtime : 0;
}

struct orgdomain *orgdomain_open(const char *psl_file, char *err, size_t errlen)
{
	struct orgdomain *od = xcalloc(1, sizeof(*od));

	if (psl_file != NULL && psl_file[0] != '\0') {
		od->psl = psl_load_file(psl_file);
		od->list_time = file_mtime(psl_file);
		snprintf(od->source, sizeof(od->source), "%s", psl_file);
	} else {
		/* psl_latest() takes the newer of the distribution's file and the
		 * built-in list: report the same one */
		const char *dist = psl_dist_filename();
		time_t dist_time = file_mtime(dist), builtin_time = psl_builtin_file_time();
		od->psl = psl_latest(NULL);
		od->list_time = dist_time > builtin_time ? dist_time : builtin_time;
		snprintf(od->source, sizeof(od->source), "%s",
		         dist_time > builtin_time ? dist : "(built into libpsl)");
	}
	if (od->psl == NULL) {
		snprintf(err, errlen, "%s: cannot load the public suffix list",
		         psl_file != NULL && psl_file[0] != '\0' ? psl_file : "system list");
		free(od);
		return NULL;
	}
	return od;
}

void orgdomain_close(struct orgdomain *od)
{
	if (od == NULL)
		return;
	psl_free(od->psl);
	free(od);
}

time_t orgdomain_list_time(const struct orgdomain *od)
{
	return od->list_time;
}

const char *orgdomain_list_source(const struct orgdomain *od)
{
	return od->source;
}

/* LDH labels (and '_', which names under _dmarc and the like carry), each
 * 1..63 octets, the whole at most 253 */
static bool ascii_name_valid(const char *s, size_t n)
{
	size_t label = 0;

	if (n == 0 || n > ORGDOMAIN_NAME_MAX - 1)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0;
}

static bool has_non_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

int orgdomain_normalize(const char *domain, char *out, size_t outlen)
{
	char buf[1024];
	size_t n = strlen(domain);

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, domain, n + 1);
	if (buf[n - 1] == '.')
		buf[--n] = '\0';
	if (has_non_ascii(buf)) {
		char *ace = NULL;
		if (idn2_to_ascii_8z(buf, &ace, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL) != IDN2_OK) {
			free(ace);
			return -1;
		}
		n = strlen(ace);
		bool fits = n < sizeof(buf);
		if (fits)
			memcpy(buf, ace, n + 1);
		free(ace);
		if (!fits)
			return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (buf[i] >= 'A' && buf[i] <= 'Z')
			buf[i] = (char)(buf[i] - 'A' + 'a');
	if (!ascii_name_valid(buf, n) || n >= outlen)
		return -1;
	memcpy(out, buf, n + 1);
	return 0;
}

int orgdomain_find(const struct orgdomain *od, const char *domain, char *out, size_t outlen)
{
	/* RFC 7489 3.2: the public suffix plus one label; libpsl reads both
	 * sections of the list (ICANN and private: "github.io" names belong to
	 * different people, as "co.uk" ones do) */
	const char *reg = psl_registrable_domain(od->psl, domain);
	const char *org = reg != NULL ? reg : domain;
	size_t n = strlen(org);

	if (n >= outlen)
		return -1;
	memcpy(out, org, n + 1);
	return 0;
}
