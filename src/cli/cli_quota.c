/* postern user quota [ADDRESS] [--storage SIZE|none|default] [--messages N|none|default]:
 * a user's own limits (the rules are src/store/quota.h's) and usage. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/units.h"
#include "store/quota.h"
#include "store/store.h"

/* "none" (or 0): no limit at all; "default": the configured one (*out NULL). */
static int parse_limit(const char *text, enum store_quota_resource res, uint64_t *value,
                       const uint64_t **out)
{
	*out = value;
	if (strcmp(text, "default") == 0) {
		*out = NULL;
		return 0;
	}
	if (strcmp(text, "none") == 0 || strcmp(text, "unlimited") == 0) {
		*value = 0;
		return 0;
	}
	if (res == STORE_QUOTA_STORAGE)
		return units_parse_size(text, value);
	char *end;
	unsigned long long n = strtoull(text, &end, 10);
	if (text[0] < '0' || text[0] > '9' || *end != '\0' || n > 1000000000ULL)
		return -1;
	*value = n;
	return 0;
}

static int set_limit(struct store *st, const char *local, const char *domain,
                     enum store_quota_resource res, const char *text)
{
	char err[512];
	uint64_t value;
	const uint64_t *limit;
	if (parse_limit(text, res, &value, &limit) < 0) {
		fprintf(stderr, "postern: '%s': expected %s, 'none' or 'default'\n", text,
		        res == STORE_QUOTA_STORAGE ? "a size such as 2G or 500M" : "a number of messages");
		return CLI_USAGE;
	}
	int rc = store_quota_set_limit(st, local, domain, res, limit, err, sizeof(err));
	if (rc == STORE_NOT_FOUND)
		fprintf(stderr, "postern: no such user %s@%s\n", local, domain);
	else if (rc != STORE_OK)
		fprintf(stderr, "postern: %s\n", err);
	return rc == STORE_OK ? CLI_OK : CLI_FAIL;
}

/* "2147483648 = 2G (its own)", "100 (the default)", "none (the default)". */
static void limit_text(uint64_t limit, bool own, bool octets, char *out, size_t outlen)
{
	char human[32];
	const char *whose = own ? "its own" : "the default";
	if (limit == 0) {
		snprintf(out, outlen, "none (%s)", whose);
	} else if (octets) {
		units_format_size(limit, human, sizeof(human));
		snprintf(out, outlen, "%" PRIu64 " = %s (%s)", limit, human, whose);
	} else {
		snprintf(out, outlen, "%" PRIu64 " (%s)", limit, whose);
	}
}

static int show(struct store *st, const struct config *cfg, const char *local, const char *domain)
{
	struct store_quota q;
	struct quota_limits defaults = quota_defaults_of(cfg);
	int rc = store_quota_get(st, local, domain, &q);
	if (rc != STORE_OK) {
		fprintf(stderr, "postern: %s %s@%s\n", rc == STORE_NOT_FOUND ? "no such user" :
		        "cannot read the quota of", local, domain);
		return CLI_FAIL;
	}
	struct quota_limits l = quota_limits_of(&q, &defaults);
	char storage[80], messages[80];
	limit_text(l.storage, q.own_storage_limit, true, storage, sizeof(storage));
	limit_text(l.messages, q.own_message_limit, false, messages, sizeof(messages));
	printf("%s@%s\n  storage:  %" PRIu64 " octets used, limit %s\n"
	       "  messages: %" PRIu64 " used, limit %s\n",
	       local, domain, q.storage, storage, q.messages, messages);
	return CLI_OK;
}

/* A list column: the user's own limit (the store's text, "" for none of its
 * own), else the default marked with '*'. */
static void list_limit(const char *own, uint64_t def, char *out, size_t outlen)
{
	if (own[0] != '\0')
		snprintf(out, outlen, "%s", strcmp(own, "0") != 0 ? own : "none");
	else if (def > 0)
		snprintf(out, outlen, "%" PRIu64 "*", def);
	else
		snprintf(out, outlen, "none*");
}

/* One line: address, octets used / limit, messages used / limit. */
static void print_row(void *arg, const char *const *cols)
{
	const struct quota_limits *defaults = arg;
	char storage[32], messages[32];
	list_limit(cols[2], defaults->storage, storage, sizeof(storage));
	list_limit(cols[4], defaults->messages, messages, sizeof(messages));
	printf("%-32s %14s / %-14s %9s / %s\n", cols[0], cols[1], storage, cols[3], messages);
}

static int list(struct store *st, const struct config *cfg)
{
	char err[512];
	struct quota_limits defaults = quota_defaults_of(cfg);
	printf("%-32s %14s / %-14s %9s / %s\n", "ADDRESS", "OCTETS", "LIMIT", "MESSAGES", "LIMIT");
	if (store_quota_list(st, NULL, print_row, &defaults, err, sizeof(err)) != STORE_OK) {
		fprintf(stderr, "postern: %s\n", err);
		return CLI_FAIL;
	}
	printf("(* the default of quota.storage / quota.messages in the configuration)\n");
	return CLI_OK;
}

int cli_user_quota(struct store *st, const struct config *cfg, const struct cli_args *a,
                   const char *local, const char *domain)
{
	int rc = CLI_OK;
	if (local == NULL)
		return list(st, cfg);
	if (a->storage != NULL)
		rc = set_limit(st, local, domain, STORE_QUOTA_STORAGE, a->storage);
	if (rc == CLI_OK && a->messages != NULL)
		rc = set_limit(st, local, domain, STORE_QUOTA_MESSAGES, a->messages);
	return rc == CLI_OK ? show(st, cfg, local, domain) : rc;
}
