/* postern dkim verify FILE [--key NAME=FILE]...: checks a message's DKIM
 * signatures with the verifier the server uses, taking keys from files
 * instead of DNS (a name without --key has no key). For checking a message
 * by hand and for the tests that compare postern with other verifiers. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_dkim.h"
#include "core/util.h"
#include "mail/header.h"
#include "mailauth/dkim.h"
#include "mailauth/dkim_verify.h"

#define KEY_FILE_MAX (64 * 1024)
#define CHUNK (64 * 1024)

struct file_key {
	char name[DKIM_NAME_MAX + 2];
	char *txt;
	size_t len;
};

struct cli_file_dns {
	struct file_key key[CLI_KEYS_MAX];
	size_t n;
};

/* A key file holds the record's text, or a zone-file line as `postern dkim
 * show` prints it: then the quoted strings are joined (RFC 1035 3.3.14). */
static char *record_text(const char *buf, size_t len, size_t *outlen)
{
	char *out = xmalloc(len + 1);
	size_t o = 0;
	if (memchr(buf, '"', len) != NULL) {
		bool in = false;
		for (size_t i = 0; i < len; i++) {
			if (buf[i] == '"')
				in = !in;
			else if (in)
				out[o++] = buf[i];
		}
	} else {
		while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
			len--;
		memcpy(out, buf, len);
		o = len;
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

/* Reads up to cap octets: the count, or -1. */
static ssize_t read_up_to(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	while (n < cap) {
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	return (ssize_t)n;
}

static int load_key(struct file_key *k, const char *spec)
{
	const char *eq = strchr(spec, '=');
	size_t nlen = eq ? (size_t)(eq - spec) : 0;
	if (nlen == 0 || nlen > DKIM_NAME_MAX + 1) {
		fprintf(stderr, "postern: --key wants SELECTOR._domainkey.DOMAIN=FILE\n");
		return -1;
	}
	memcpy(k->name, spec, nlen);
	k->name[nlen] = '\0';
	if (k->name[nlen - 1] == '.')
		k->name[nlen - 1] = '\0';
	int fd = open(eq + 1, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "postern: %s: %s\n", eq + 1, strerror(errno));
		return -1;
	}
	char *buf = xmalloc(KEY_FILE_MAX);
	ssize_t n = read_up_to(fd, buf, KEY_FILE_MAX);
	close(fd);
	if (n < 0 || n == KEY_FILE_MAX) {
		fprintf(stderr, "postern: %s: unreadable or over %d octets\n", eq + 1, KEY_FILE_MAX);
		free(buf);
		return -1;
	}
	k->txt = record_text(buf, (size_t)n, &k->len);
	free(buf);
	return 0;
}

static int file_txt(void *ctx, const char *name, dkim_dns_txt_cb cb, void *arg)
{
	struct cli_file_dns *d = ctx;
	for (size_t i = 0; i < d->n; i++) {
		if (strcasecmp(d->key[i].name, name) == 0) {
			struct dkim_txt t = { d->key[i].txt, d->key[i].len };
			cb(arg, DKIM_DNS_OK, &t, 1);
			return 1;
		}
	}
	cb(arg, DKIM_DNS_NOTFOUND, NULL, 0);
	return 1;
}

static void file_cancel(void *ctx, int id)
{
	(void)ctx;
	(void)id; /* every answer is given at once: nothing is ever in flight */
}

struct report {
	int passed, shown;
};

/* One line per signature, in the words of Authentication-Results (RFC 8601,
 * header.b of RFC 6008), then the reason. */
static void print_results(void *arg, const struct dkim_result *r, size_t n)
{
	struct report *rep = arg;
	if (n == 0)
		printf("dkim=none (no DKIM signature)\n");
	for (size_t i = 0; i < n; i++) {
		printf("dkim=%s header.d=%s header.s=%s header.i=%s header.a=%s header.b=%s (%s)%s\n",
		       dkim_verdict_name(r[i].verdict), r[i].domain[0] ? r[i].domain : "-",
		       r[i].selector[0] ? r[i].selector : "-", r[i].identity[0] ? r[i].identity : "-",
		       r[i].algorithm[0] ? r[i].algorithm : "-", r[i].b_prefix[0] ? r[i].b_prefix : "-",
		       r[i].reason, r[i].testing ? " testing" : "");
		if (r[i].verdict == DKIM_PASS)
			rep->passed++;
	}
	rep->shown = 1;
}

int cli_read_message(int fd, const struct cli_message_sink *sink)
{
	size_t cap = DKIM_HEADER_MAX + 2, len = 0, scan = 0, hlen, body;
	char *buf = xmalloc(cap);
	bool header = false;
	for (;;) {
		size_t want = header ? CHUNK : cap - len < CHUNK ? cap - len : CHUNK;
		ssize_t n = read(fd, buf + (header ? 0 : len), want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return -1;
		}
		if (header) {
			if (n == 0)
				break;
			sink->body(sink->arg, buf, (size_t)n);
			continue;
		}
		len += (size_t)n;
		bool found = mail_header_block_end(buf, len, &scan, &hlen, &body);
		if (!found && n > 0 && len < cap)
			continue;
		if (!found)
			hlen = body = len; /* no body, or over the limit: the verifier says which */
		sink->header(sink->arg, buf, hlen, body);
		sink->body(sink->arg, buf + body, len - body);
		header = true;
		if (n == 0)
			break;
	}
	free(buf);
	return 0;
}

struct cli_file_dns *cli_file_dns_new(const struct cli_args *a, struct dkim_dns *dns)
{
	struct cli_file_dns *d = xcalloc(1, sizeof(*d));
	for (int i = 0; i < a->nkeys; i++) {
		if (load_key(&d->key[d->n], a->keys[i]) < 0) {
			cli_file_dns_free(d);
			return NULL;
		}
		d->n++;
	}
	*dns = (struct dkim_dns){ .txt = file_txt, .cancel = file_cancel, .ctx = d };
	return d;
}

void cli_file_dns_free(struct cli_file_dns *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->n; i++)
		free(d->key[i].txt);
	free(d);
}

int cli_open_message(const char *path)
{
	int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fprintf(stderr, "postern: %s: %s\n", path, strerror(errno));
	return fd;
}

static void verify_header(void *arg, const char *hdr, size_t len, size_t body)
{
	(void)body;
	dkim_verify_header(arg, hdr, len);
}

static void verify_body(void *arg, const void *data, size_t len)
{
	dkim_verify_body(arg, data, len);
}

int cli_dkim_verify(struct cli_args *a, const char *usage)
{
	if (a->npos != 2)
		return cli_usage_error(usage, "expected verify FILE");
	struct dkim_dns dns;
	struct cli_file_dns *d = cli_file_dns_new(a, &dns);
	if (d == NULL)
		return CLI_FAIL;
	int rc = CLI_FAIL;
	int fd = cli_open_message(a->pos[1]);
	if (fd < 0)
		goto out;
	struct dkim_verify *v = dkim_verify_new(&dns, NULL, time(NULL));
	struct report rep = { 0 };
	struct cli_message_sink sink = { verify_header, verify_body, v };
	if (cli_read_message(fd, &sink) < 0) {
		fprintf(stderr, "postern: reading %s: %s\n", a->pos[1], strerror(errno));
	} else {
		dkim_verify_finish(v, print_results, &rep);
		rc = rep.shown && rep.passed > 0 ? CLI_OK : CLI_FAIL;
	}
	dkim_verify_free(v);
	if (fd != STDIN_FILENO)
		close(fd);
out:
	cli_file_dns_free(d);
	return rc;
}
