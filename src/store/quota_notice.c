/* The warning a user gets when a delivery takes the mailbox across
 * QUOTA_WARN_PERCENT of a limit: a short text message from the postmaster
 * (replies reach the admin through the postmaster rule, resolve.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/util.h"
#include "store/quota.h"

#define NOTICE_MAX 4096

/* "812 bytes", "9.4 MiB": for people, not for parsing. */
static void human_size(uint64_t octets, char *out, size_t outlen)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
	if (octets < 1024) {
		snprintf(out, outlen, "%" PRIu64 " bytes", octets);
		return;
	}
	size_t u = 0;
	uint64_t scale = 1024;
	while (u + 1 < ARRAY_LEN(units) && octets / scale >= 1024) {
		scale *= 1024;
		u++;
	}
	uint64_t tenths = octets / (scale / 10) % 10;
	snprintf(out, outlen, "%" PRIu64 ".%" PRIu64 " %s", octets / scale, tenths, units[u]);
}

static unsigned percent_of(uint64_t used, uint64_t limit)
{
	if (limit == 0)
		return 0;
	uint64_t p = limit >= 100 ? used / (limit / 100) : used * 100 / limit;
	return p > 999 ? 999 : (unsigned)p;
}

/* The larger share of the two limits. */
static unsigned share_used(const struct quota_limits *l, const struct quota_usage *u)
{
	unsigned a = percent_of(u->storage, l->storage), b = percent_of(u->messages, l->messages);
	return a > b ? a : b;
}

static int usage_lines(char *out, size_t outlen, const struct quota_limits *l,
                       const struct quota_usage *u)
{
	char used[32], limit[32];
	int n = 0;
	if (l->storage > 0) {
		human_size(u->storage, used, sizeof(used));
		human_size(l->storage, limit, sizeof(limit));
		n += snprintf(out, outlen, "  storage:  %s of %s\n", used, limit);
	}
	if (l->messages > 0 && (size_t)n < outlen)
		n += snprintf(out + n, outlen - (size_t)n, "  messages: %" PRIu64 " of %" PRIu64 "\n",
		              u->messages, l->messages);
	return n;
}

char *quota_notice_build(const char *hostname, const char *user, const struct quota_limits *l,
                         const struct quota_usage *used, size_t *len)
{
	char date[64], id[17], lines[256];
	char *text = xmalloc(NOTICE_MAX);
	unsigned share = share_used(l, used);
	rfc5322_date(date, sizeof(date));
	random_id(id, 16);
	usage_lines(lines, sizeof(lines), l, used);
	/* RFC 3834: generated, not a reply; the null return path: nothing bounces back */
	int n = snprintf(text, NOTICE_MAX,
		"Return-Path: <>\n"
		"Received: by %s (postern) id quota-warning;\n\t%s\n"
		"From: Postmaster <postmaster@%s>\n"
		"To: <%s>\n"
		"Subject: Your mailbox is almost full (%u%% used)\n"
		"Date: %s\n"
		"Message-ID: <%s.quota@%s>\n"
		"Auto-Submitted: auto-generated\n"
		"MIME-Version: 1.0\n"
		"Content-Type: text/plain; charset=us-ascii\n"
		"\n"
		"Your mailbox <%s> has used %u%% of what it may hold:\n"
		"\n"
		"%s"
		"\n"
		"Once it is full, new mail is refused for the time being: senders get a\n"
		"temporary error and try again for a few days, but their mail is lost if\n"
		"the mailbox stays full. Delete messages you no longer need, and empty\n"
		"the Trash folder, to make room.\n"
		"\n"
		"This warning is sent each time the mailbox fills past %d%%.\n",
		hostname, date, hostname, user, share, date, id, hostname, user, share, lines,
		QUOTA_WARN_PERCENT);
	*len = n < 0 ? 0 : (size_t)n < NOTICE_MAX ? (size_t)n : NOTICE_MAX - 1;
	return text;
}
