/* postern dkim keygen|show (verify: cli_dkim_verify.c) */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/cli_dkim.h"
#include "core/config.h"
#include "core/util.h"
#include "mailauth/dkim.h"
#include "mailauth/dkim_verify.h"
#include "mailauth/zone_records.h"
#include "store/store.h"

static const char usage[] =
	"postern dkim keygen DOMAIN [--selector S] [--algorithm rsa-2048|ed25519] | show DOMAIN"
	"  [-c FILE]\n"
	"       postern dkim verify FILE|- [--key SELECTOR._domainkey.DOMAIN=FILE]...\n"
	"       postern dkim arc-verify FILE|- [--key SELECTOR._domainkey.DOMAIN=FILE]...\n"
	"       postern dkim arc-seal FILE|- --signing-key PEM --domain D --selector S\n"
	"         --authres \"AUTHSERV-ID; RESULTS\" [--cv none|pass|fail] [--key NAME=FILE]...";

struct show_state {
	int shown;
};

/* store_dkim_list callback; cols: domain, selector, algorithm, path. */
static void show_key(void *arg, const char *const *cols)
{
	struct show_state *ss = arg;
	char err[256], record[DKIM_RECORD_MAX], line[DKIM_RECORD_MAX + 512];
	if (dkim_dns_record_of_file(cols[3], record, sizeof(record), err, sizeof(err)) < 0) {
		fprintf(stderr, "postern: %s/%s: %s\n", cols[0], cols[1], err);
		return;
	}
	struct zone_list l = { 0 };
	struct zone_dkim_key k = { .selector = cols[1], .algorithm = cols[2], .record = record };
	zone_records_add_dkim(&l, cols[0], &k);
	printf("; selector %s, %s, key %s\n", cols[1], cols[2], cols[3]);
	if (zone_record_line(&l.rec[0], line, sizeof(line)) == 0)
		printf("%s\n", line);
	zone_list_free(&l);
	ss->shown++;
}

static bool valid_selector(const char *s)
{
	if (*s == '\0' || strlen(s) > 63)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '-'))
			return false;
	return true;
}

static int keygen(struct store *st, const struct config *cfg, const struct cli_args *a,
                  const char *domain)
{
	char selector[64], dir[4096], path[4200], err[512];
	enum dkim_alg alg = DKIM_RSA_SHA256;
	if (a->algorithm != NULL && strcmp(a->algorithm, "ed25519") == 0)
		alg = DKIM_ED25519_SHA256;
	else if (a->algorithm != NULL && strcmp(a->algorithm, "rsa-2048") != 0)
		return cli_usage_error(usage, "unknown algorithm '%s'", a->algorithm);
	if (a->selector != NULL) {
		/* a DNS label is at most 63 octets (RFC 1035 2.3.4): refuse, never cut */
		if (strlen(a->selector) >= sizeof(selector))
			return cli_usage_error(usage, "selector longer than 63 characters");
		snprintf(selector, sizeof(selector), "%s", a->selector);
	} else {
		/* dated selectors make key rotation a matter of adding the next one */
		time_t t = time(NULL);
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(selector, sizeof(selector), alg == DKIM_RSA_SHA256 ? "%Y%m%d-rsa" : "%Y%m%d-ed",
		         &tm);
	}
	if (!valid_selector(selector))
		return cli_usage_error(usage, "selector must be letters, digits and '-'");
	/* srs.domain need not be a local domain: forwards leave with its senders,
	 * and are signed and ARC-sealed as it (src/mailauth/arc_forward.h) */
	bool srs_domain = cfg->srs.enabled && strcasecmp(domain, cfg->srs.domain) == 0;
	if (!srs_domain && store_domain_exists(st, domain) != 1) {
		fprintf(stderr, "postern: %s is not a local domain\n", domain);
		return CLI_FAIL;
	}
	if (bsnprintf(dir, sizeof(dir), "%s/dkim/%s", cfg->data_dir, domain) < 0 || mkdir_p(dir, 0700) < 0 ||
	    bsnprintf(path, sizeof(path), "%s/%s.pem", dir, selector) < 0) {
		fprintf(stderr, "postern: %s: cannot create\n", dir);
		return CLI_FAIL;
	}
	if (dkim_keygen(path, alg, err, sizeof(err)) < 0) {
		fprintf(stderr, "postern: %s\n", err);
		return CLI_FAIL;
	}
	int rc = store_dkim_add(st, domain, selector, dkim_alg_name(alg), path, err, sizeof(err));
	if (rc != STORE_OK) {
		fprintf(stderr, "postern: %s\n", rc == STORE_EXISTS ? "that selector exists already" : err);
		return CLI_FAIL;
	}
	printf("DKIM key for %s, selector %s (%s), written to %s\n"
	       "Outbound mail from %s is signed with it from now on%s. Publish this record:\n",
	       domain, selector, dkim_alg_name(alg), path, domain,
	       !srs_domain ? "" : alg == DKIM_RSA_SHA256 ? ", and forwarded mail (SRS) sealed with "
	       "it (ARC)" : "");
	struct show_state ss = { 0 };
	const char *cols[4] = { domain, selector, dkim_alg_name(alg), path };
	show_key(&ss, cols);
	return CLI_OK;
}

static int run(struct store *st, const struct config *cfg, struct cli_args *a)
{
	char domain[256], err[512];
	if (a->npos != 2)
		return cli_usage_error(usage, "expected keygen DOMAIN or show DOMAIN");
	snprintf(domain, sizeof(domain), "%s", a->pos[1]);
	if (!cli_valid_domain(domain))
		return cli_usage_error(usage, "'%s' is not a valid domain", a->pos[1]);
	if (strcmp(a->pos[0], "keygen") == 0)
		return keygen(st, cfg, a, domain);
	if (strcmp(a->pos[0], "show") == 0) {
		struct show_state ss = { 0 };
		if (store_dkim_list(st, domain, show_key, &ss, err, sizeof(err)) != STORE_OK) {
			fprintf(stderr, "postern: %s\n", err);
			return CLI_FAIL;
		}
		if (ss.shown == 0) {
			fprintf(stderr, "postern: no DKIM key for %s (postern dkim keygen %s)\n", domain, domain);
			return CLI_FAIL;
		}
		return CLI_OK;
	}
	return cli_usage_error(usage, "unknown subcommand '%s'", a->pos[0]);
}

int cli_dkim(struct cli_args *a)
{
	if (a->help) {
		printf("usage: %s\n\nkeygen makes a key (RSA 2048 by default, or Ed25519 per RFC 8463), "
		       "stores it 0600\nunder data_dir/dkim and prints the DNS TXT record to publish; "
		       "show prints it again.\nA domain may have several keys (e.g. one of each "
		       "algorithm): mail is signed with all.\n"
		       "\nverify checks every DKIM signature of a message (up to %d) as the server\n"
		       "does, printing one Authentication-Results style line each. Keys come from\n"
		       "files, not DNS: --key names a key record and the file holding its text (or\n"
		       "the zone-file line 'dkim show' prints); a signature whose key is not given\n"
		       "has none. Exit status 0 when at least one signature passes, else 1.\n"
		       "\narc-verify judges the message's ARC chain (RFC 8617) the same way, keys\n"
		       "from --key files: arc=pass|fail|none, then each set's seal, AMS and\n"
		       "ARC-Authentication-Results. Exit status 0 when the chain passes.\n"
		       "\narc-seal prints the message with a new ARC set on top, signed with the\n"
		       "PEM key (as keygen makes) for d=DOMAIN s=SELECTOR; --authres is the\n"
		       "Authentication-Results payload the set records. cv= is --cv, or else what\n"
		       "arc-verify finds with the --key files.\n",
		       usage, DKIM_VERIFY_MAX_SIGNATURES);
		return CLI_OK;
	}
	if (a->npos >= 1 && strcmp(a->pos[0], "verify") == 0)
		return cli_dkim_verify(a, usage);
	if (a->npos >= 1 && strcmp(a->pos[0], "arc-verify") == 0)
		return cli_dkim_arc_verify(a, usage);
	if (a->npos >= 1 && strcmp(a->pos[0], "arc-seal") == 0)
		return cli_dkim_arc_seal(a, usage);
	return cli_run_with_store(a, usage, run);
}
