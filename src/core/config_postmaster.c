/* The `postmaster` key: where mail for postmaster@ and abuse@ (RFC 5321
 * 4.5.1, RFC 2142) and the server's own notices to its admin go. One address
 * or a list of them, local or remote; left out, the first user created gets
 * that mail (src/store/resolve.c decides, the daemon warns). */
#include <stdlib.h>
#include <string.h>

#include "core/config_int.h"
#include "core/util.h"

/* RFC 5322 3.2.3 atext, what a dot-atom local part is made of */
static bool is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static bool is_ldh(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-';
}

static bool local_part_valid(const char *s, size_t len)
{
	if (len == 0 || len > 64 || s[0] == '.' || s[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.' ? s[i + 1] == '.' : !is_atext((unsigned char)s[i]))
			return false;
	}
	return true;
}

bool config_domain_valid(const char *d)
{
	size_t len = strlen(d), label = 0;
	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i <= len; i++) {
		if (d[i] == '.' || d[i] == '\0') {
			if (label == 0 || d[i - 1] == '-')
				return false;
			label = 0;
		} else if (!is_ldh((unsigned char)d[i]) || (label == 0 && d[i] == '-') || ++label > 63) {
			return false;
		}
	}
	return true;
}

bool config_address_valid(const char *addr)
{
	const char *at = strrchr(addr, '@');
	/* the address goes unquoted into RCPT TO: a quoted local part has no '@' to split at */
	return at != NULL && local_part_valid(addr, (size_t)(at - addr)) && config_domain_valid(at + 1);
}

static int add_address(struct loader *ld, const config_setting_t *s, struct config *cfg)
{
	const char *addr = config_setting_get_string(s);
	if (!config_address_valid(addr))
		return config_setting_error(ld, s, "'postmaster': \"%s\" is not an address "
		                            "(use \"local@domain\", e.g. \"admin@example.org\")", addr);
	char *copy = xstrdup(addr);
	cfg->postmaster[cfg->npostmaster++] = ascii_lower(copy);
	return 0;
}

int config_load_postmaster(struct loader *ld, const config_setting_t *s, struct config *cfg)
{
	if (s == NULL)
		return 0;
	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		cfg->postmaster = xcalloc(1, sizeof(char *));
		return add_address(ld, s, cfg);
	}
	int n = config_setting_length(s);
	if (n == 0)
		return config_setting_error(ld, s, "'postmaster' lists no address (leave the key out "
		                            "to send that mail to the first user)");
	cfg->postmaster = xcalloc((size_t)n, sizeof(char *));
	for (int i = 0; i < n; i++)
		if (add_address(ld, config_setting_get_elem(s, (unsigned)i), cfg) < 0)
			return -1;
	return 0;
}

void config_free_postmaster(struct config *cfg)
{
	for (size_t i = 0; i < cfg->npostmaster; i++)
		free(cfg->postmaster[i]);
	free(cfg->postmaster);
}
