/* MX rdata parsing, host list building and ordering; see mx.h. */
#include "dns/mx.h"

#include <string.h>
#include <strings.h>

#include "core/util.h"

/* RFC 1035 2.3.4 */
#define DNS_LABEL_MAX 63
#define DNS_WIRE_NAME_MAX 255

/* Hostname characters. '_' is not LDH, but it shows up in real MX targets
 * and is harmless: what matters is that no byte can change how the name is
 * read back ('.', '\\', spaces, NUL, non-ASCII). */
static bool is_host_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

static char lower(unsigned char c)
{
	return (char)((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
}

int mx_parse_name(const unsigned char *wire, size_t len, char out[MX_NAME_MAX + 1])
{
	size_t pos = 0, total = 0, o = 0;
	for (;;) {
		if (pos >= len)
			return -1; /* the name runs past the rdata */
		unsigned char lab = wire[pos++];
		total++;
		if (lab == 0)
			break;
		/* 0xC0 is a compression pointer, 0x40/0x80 are obsolete label types;
		 * none may appear in the uncompressed rdata libunbound hands us. */
		if ((lab & 0xC0) != 0)
			return -1;
		if (lab > len - pos)
			return -1; /* label length past the end of the rdata */
		total += lab;
		if (total + 1 > DNS_WIRE_NAME_MAX)
			return -1; /* no room left for the root label */
		if (o > 0)
			out[o++] = '.';
		for (size_t i = 0; i < lab; i++) {
			unsigned char c = wire[pos + i];
			if (!is_host_char(c))
				return -1;
			out[o++] = lower(c);
		}
		pos += lab;
	}
	if (pos != len)
		return -1; /* trailing bytes */
	if (o == 0)
		out[o++] = '.'; /* the root */
	out[o] = '\0';
	return 0;
}

int mx_parse_rdata(const unsigned char *rdata, size_t len, struct mx_host *out)
{
	/* 2 octets of preference and at least the root label (RFC 7505: the
	 * root is the null MX target) */
	if (rdata == NULL || len < 3)
		return -1;
	out->pref = (uint16_t)((rdata[0] << 8) | rdata[1]);
	return mx_parse_name(rdata + 2, len - 2, out->name);
}

int mx_list_add(struct mx_list *l, const struct mx_host *h)
{
	for (size_t i = 0; i < l->n; i++) {
		if (strcasecmp(l->host[i].name, h->name) == 0) {
			if (h->pref < l->host[i].pref)
				l->host[i].pref = h->pref;
			return 0;
		}
	}
	if (l->n < MX_MAX_HOSTS) {
		l->host[l->n++] = *h;
		return 0;
	}
	/* full: keep the most preferred hosts, they are the ones we will try */
	size_t worst = 0;
	for (size_t i = 1; i < l->n; i++) {
		if (l->host[i].pref > l->host[worst].pref)
			worst = i;
	}
	if (h->pref >= l->host[worst].pref)
		return -1;
	l->host[worst] = *h;
	return 0;
}

static bool is_null_target(const struct mx_host *h)
{
	return strcmp(h->name, ".") == 0;
}

bool mx_list_is_null(const struct mx_list *l)
{
	if (l->n == 0)
		return false;
	for (size_t i = 0; i < l->n; i++) {
		if (!is_null_target(&l->host[i]))
			return false;
	}
	return true;
}

void mx_list_remove_null(struct mx_list *l)
{
	size_t o = 0;
	for (size_t i = 0; i < l->n; i++) {
		if (!is_null_target(&l->host[i]))
			l->host[o++] = l->host[i];
	}
	l->n = o;
}

static uint32_t default_rand(void *arg)
{
	(void)arg;
	uint32_t v;
	random_bytes(&v, sizeof(v));
	return v;
}

static void swap_hosts(struct mx_host *a, struct mx_host *b)
{
	struct mx_host t = *a;
	*a = *b;
	*b = t;
}

void mx_sort(struct mx_list *l, uint32_t (*rand_fn)(void *), void *rand_arg)
{
	if (rand_fn == NULL)
		rand_fn = default_rand;
	if (l->n > MX_MAX_HOSTS)
		l->n = MX_MAX_HOSTS;

	/* insertion sort: n <= 32 */
	for (size_t i = 1; i < l->n; i++) {
		for (size_t j = i; j > 0 && l->host[j - 1].pref > l->host[j].pref; j--)
			swap_hosts(&l->host[j - 1], &l->host[j]);
	}

	/* Fisher-Yates within each run of equal preference. The modulo bias is at
	 * most 32 / 2^32, irrelevant for spreading load over MX hosts. */
	size_t start = 0;
	while (start < l->n) {
		size_t end = start + 1;
		while (end < l->n && l->host[end].pref == l->host[start].pref)
			end++;
		for (size_t k = end - 1; k > start; k--) {
			size_t span = k - start + 1;
			size_t pick = start + (size_t)(rand_fn(rand_arg) % span);
			if (pick != k)
				swap_hosts(&l->host[pick], &l->host[k]);
		}
		start = end;
	}
}

bool mx_name_valid(const char *name)
{
	size_t len = strlen(name);
	if (len > 0 && name[len - 1] == '.')
		len--; /* one trailing dot: fully qualified */
	if (len == 0 || len > DNS_WIRE_NAME_MAX - 2)
		return false;

	size_t label = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c == '.') {
			if (label == 0)
				return false; /* empty label */
			label = 0;
		} else if (is_host_char(c)) {
			if (++label > DNS_LABEL_MAX)
				return false;
		} else {
			return false;
		}
	}
	return label > 0;
}
